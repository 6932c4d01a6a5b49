"""XGBoost on Dask (``xgboost.dask.train``): the engine side of :func:`gbm_objectives.dask.train`. No math.

``xgboost.dask`` facts this adapter relies on (checked by ``tests/dask/test_dask.py``):

* ``xgboost.dask.train(client, params, dtrain, obj=f)`` calls ``f(predt, dmatrix)`` on every worker with that
  worker's local DMatrix, so :class:`~gbm_objectives.adapters.xgboost.XGBoostObjective` reads the worker's labels,
  weights and ``group_ptr``; ``DaskXGBRanker`` refuses callables, hence ``train``. Its kernels run on the
  worker's thread count, XGBoost's ``nthread`` there.
* Ranking data carry a per-row ``qid``; XGBoost needs the rows of a query contiguous and the ids sorted on each
  worker. :func:`gbm_objectives.dask.train` passes query codes that increase across partitions (and never a raw
  user id), so any assignment of partitions to workers keeps every query whole and sorted.
* The model is a plain ``xgboost.Booster``; the ``base_margin`` (our init score) is not stored in it and is added
  back at prediction, as on one machine.
"""

from __future__ import annotations

from xgboost import dask as dxgb

from ._common import numba_threads
from ._dask_common import worker_threads
from .xgboost import (  # noqa: F401  (the backend module's names, re-exported for the Dask front end)
    XGBoostObjective,
    best_iteration,
    engine_params,
    num_rounds,
    predict_raw,
    staged_predict_raw,
)

__all__ = ["train", "truncate", "engine_params", "predict_raw", "staged_predict_raw", "num_rounds", "QUERY_INPUT",
           "RANKING_ROW_WEIGHTS"]

#: The form of the queries ``xgboost.dask`` trains on: ``qid``, per-row query codes (``train(..., qid=...)``).
QUERY_INPUT = "qid"
#: row weights beside query groups: XGBoost weighs whole queries (one weight per group), so per-row weights of a
#: ranking objective cannot be handed over
RANKING_ROW_WEIGHTS = False


class DaskXGBoostObjective(XGBoostObjective):
    """:class:`XGBoostObjective` whose kernels run on the worker's threads (:func:`worker_threads`)."""

    def __call__(self, predt, dtrain):
        with numba_threads(worker_threads()):
            return super().__call__(predt, dtrain)


def train(client, objective, X, y, *, params, num_boost_round=100, sample_weight=None, group=None, qid=None,
          init_score=None):
    """Train on the cluster; returns the ``xgboost.Booster``.

    The same keywords as :func:`gbm_objectives.adapters.lightgbm_dask.train`; XGBoost ranks on ``qid``
    (:data:`QUERY_INPUT`). ``X, y, sample_weight, qid, init_score`` are Dask arrays with the same row chunks;
    ``qid`` holds query codes non-decreasing over the whole array. ``sample_weight`` with ``qid`` is one weight per
    row, constant within a query (XGBoost weighs whole queries). ``group`` (query sizes) is not read by this
    engine; given alone, a ValueError.
    """
    if group is not None and qid is None:
        raise ValueError("xgboost.dask ranks on qid (per-row query codes), not group")
    params = dict(params)
    obj = None
    if isinstance(objective, str):
        params["objective"] = objective
    else:
        obj = DaskXGBoostObjective(objective)
        if getattr(objective, "n_classes", None):
            params["num_class"] = objective.n_classes
    params.setdefault("disable_default_eval_metric", 1)
    dtrain = dxgb.DaskDMatrix(client, X, y, weight=sample_weight, qid=qid, base_margin=init_score)
    out = dxgb.train(client, params, dtrain, num_boost_round=int(num_boost_round), obj=obj, verbose_eval=False)
    return out["booster"]


def truncate(booster, rounds):
    """A booster holding the first ``rounds`` rounds."""
    if rounds >= num_rounds(booster):
        return booster
    return booster[: int(rounds)]
