"""Our objectives and metrics on a Dask cluster, every query kept whole on one worker (extra ``dask``).

``import gbm_objectives.dask as god``. This is one more front end of :func:`gbm_objectives.train`: the same
objective resolution (:func:`~gbm_objectives.training.resolve_objective`, ``"NAME:native"``), the same engine
defaults (the adapters' ``engine_params``), the same metrics (:mod:`gbm_objectives.metrics.by_task`) and the objectives'
own ``prepare`` / ``init_score`` math, computed from per-partition sums (:mod:`gbm_objectives.dask._sums`).
The engines' Dask code lives in :mod:`gbm_objectives.adapters.lightgbm_dask` (``lightgbm.dask``) and
:mod:`gbm_objectives.adapters.xgboost_dask` (``xgboost.dask.train``).

**The partitioning rule:** every query's rows sit in one partition, contiguous; :func:`partition_by_query` makes
it so, and :func:`train` checks it (a query split across partitions is a ``ValueError`` naming the query and the
partitions, raised before any training).

**What runs where.** Labels, weights and query ids stay on the workers. The client receives, per partition: the
row count, the query sizes (one integer per query), a label table or a few gradient sums for the init score, and
metric sums. The engines train data-parallel: each worker builds histograms on its own rows and the engine
all-reduces them, while our objective computes gradients on the worker's rows, which are whole queries.

**Early stopping** (``early_stopping_rounds``): neither Dask engine can stop on a metric of ours computed over the
whole evaluation set (``lightgbm.dask`` has no early stopping; XGBoost evaluates custom metrics per worker). So
:func:`train` trains ``num_boost_round`` rounds, then scores every round on the cluster (staged prediction per
partition, metric sums reduced), applies go.train's rule (stop once the first metric on the first evaluation set
has not improved for ``early_stopping_rounds`` rounds; keep the best round) and truncates the model after the stop
round. The result (``best_iteration``, ``evals_result``, the model) is what go.train would give with the same
trees; the price is training the rounds after the stop.

**Layout.** This package re-exports the public names of its modules: :mod:`~gbm_objectives.dask.training`
(:func:`train`, :class:`DaskTrainResult`), :mod:`~gbm_objectives.dask.evaluation` (:func:`evaluate`,
:data:`GLOBAL_AUC`), :mod:`~gbm_objectives.dask.files` (:func:`connect`, :func:`read_files`, :func:`train_files`,
:class:`FilesResult`: the CLI's ``--dask``), :mod:`~gbm_objectives.dask.estimators` (the scikit-learn estimators),
over ``_partitions`` (:func:`partition_by_query`, the partition layout) and ``_sums`` (per-partition sums).

>>> import gbm_objectives.dask as god   # doctest: +SKIP
>>> from distributed import Client, LocalCluster   # doctest: +SKIP
>>> client = Client(LocalCluster(n_workers=2, threads_per_worker=1))   # doctest: +SKIP
>>> ddf = god.partition_by_query(ddf, qid="qid")   # doctest: +SKIP
>>> res = god.train(client, "lambdarank", ddf[features], ddf["label"], qid=ddf["qid"])   # doctest: +SKIP
>>> res.predict_raw(ddf[features]).compute()   # doctest: +SKIP
"""

from __future__ import annotations

from ._partitions import Data as _Data  # noqa: F401  (kept as god._Data, which tests/dask/test_dask.py uses)
from ._partitions import partition_by_query
from .estimators import DaskGBMClassifier, DaskGBMRegressor, DaskLambdaMART
from .evaluation import GLOBAL_AUC, evaluate
from .files import FilesResult, connect, parse_local, read_files, train_files  # noqa: F401 (parse_local)
from .training import DaskTrainResult, train

__all__ = ["partition_by_query", "train", "DaskTrainResult", "evaluate", "DaskGBMClassifier", "DaskGBMRegressor",
           "DaskLambdaMART", "GLOBAL_AUC", "connect", "read_files", "train_files", "FilesResult"]
