"""LightGBM on Dask (``lightgbm.dask``): the engine side of :func:`gbm_objectives.dask.train`. No math.

``lightgbm.dask`` facts this adapter relies on (checked by ``tests/dask/test_dask.py``):

* ``DaskLGBMRegressor`` / ``DaskLGBMRanker`` accept a callable objective and run it on every worker over that
  worker's rows (its partitions concatenated); a 4-parameter callable ``(y_true, y_pred, weight, group)``
  (:class:`~gbm_objectives.adapters.lightgbm.LightGBMSklearnObjective`) receives the worker's query sizes, so a
  ranking objective sees whole queries as long as no query spans two partitions. Its kernels run on the worker's
  thread count, LightGBM's ``num_threads`` there.
* ``init_score`` is a Dask collection partitioned like ``X``, ``group`` a Dask array with one chunk of query sizes
  per partition of ``X``.
* The Dask estimators have no early stopping (a callback would stop each worker on its own data and hang the
  others); :func:`gbm_objectives.dask.train` scores every round on the cluster after training instead and
  :func:`truncate` keeps the rounds up to the stop.
* The trained model is a plain ``lightgbm.Booster`` (``booster_``): prediction, saving and the rest of
  :mod:`gbm_objectives.adapters.lightgbm` apply unchanged.
"""

from __future__ import annotations

import warnings

import lightgbm as lgb
from lightgbm.dask import DaskLGBMRanker, DaskLGBMRegressor

from ._common import numba_threads
from ._dask_common import worker_threads
from .lightgbm import (  # noqa: F401  (the backend module's names, re-exported for the Dask front end)
    LightGBMSklearnObjective,
    best_iteration,
    engine_params,
    num_rounds,
    predict_raw,
    staged_predict_raw,
)

__all__ = ["train", "truncate", "engine_params", "predict_raw", "staged_predict_raw", "num_rounds", "QUERY_INPUT",
           "RANKING_ROW_WEIGHTS"]

#: The form of the queries ``lightgbm.dask`` trains on: ``group``, query sizes (``train(..., group=...)``).
QUERY_INPUT = "group"
#: row weights beside query groups: lightgbm.dask takes them per row
RANKING_ROW_WEIGHTS = True


class DaskLightGBMObjective(LightGBMSklearnObjective):
    """:class:`LightGBMSklearnObjective` whose kernels run on the worker's threads (:func:`worker_threads`)."""

    def __call__(self, y_true, y_pred, weight, group):
        with numba_threads(worker_threads()):
            return super().__call__(y_true, y_pred, weight, group)


def train(client, objective, X, y, *, params, num_boost_round=100, sample_weight=None, group=None, qid=None,
          init_score=None):
    """Train on the cluster; returns the ``lightgbm.Booster``.

    The same keywords as :func:`gbm_objectives.adapters.xgboost_dask.train`; LightGBM ranks on ``group``
    (:data:`QUERY_INPUT`).

    Parameters
    ----------
    client : distributed.Client
    objective : Objective or str
        One of this package's objectives (wrapped as a 4-argument sklearn objective), or a LightGBM objective
        name (``params`` carries its options).
    X, y, sample_weight, init_score : Dask arrays with the same row chunks
    params : dict
        LightGBM parameters (:func:`engine_params`), passed to the Dask estimator as they are.
    group : Dask array, optional
        Query sizes, one chunk per row chunk of ``X``; selects ``DaskLGBMRanker``.
    qid : Dask array, optional
        Per-row query codes: not read by this engine (``group`` is); given alone, a ValueError.
    """
    if qid is not None and group is None:
        raise ValueError("lightgbm.dask ranks on group (query sizes, one chunk per partition), not qid")
    params = dict(params)
    if isinstance(objective, str):
        params["objective"] = objective
    else:
        params["objective"] = DaskLightGBMObjective(objective)
        if getattr(objective, "n_classes", None):
            params["num_class"] = objective.n_classes
    params.setdefault("metric", "None")  # metrics are ours (scored on the cluster by gbm_objectives.dask)
    cls = DaskLGBMRanker if group is not None else DaskLGBMRegressor
    model = cls(client=client, n_estimators=int(num_boost_round), **params)
    fit = {"sample_weight": sample_weight, "init_score": init_score}
    if group is not None:
        fit["group"] = group
    with warnings.catch_warnings():
        # the Dask estimators always carry n_jobs, which lightgbm.dask drops (each worker trains on its own thread
        # count) with a warning on every call: nothing the caller set or can change
        warnings.filterwarnings("ignore", message=r"Parameter (n_jobs|num_threads) will be ignored",
                                category=UserWarning)
        model.fit(X, y, **fit)
    return model.booster_


def truncate(booster, rounds):
    """A booster holding the first ``rounds`` rounds."""
    if rounds >= num_rounds(booster):
        return booster
    return lgb.Booster(model_str=booster.model_to_string(num_iteration=int(rounds)))
