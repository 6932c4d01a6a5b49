"""The scikit-learn estimators on Dask: :class:`DaskGBMRegressor`, :class:`DaskGBMClassifier`,
:class:`DaskLambdaMART`.

Module-level subclasses of the local estimators (:class:`gbm_objectives.GBMRegressor`,
:class:`gbm_objectives.GBMClassifier`, :class:`gbm_objectives.LambdaMART`), as ``lightgbm.dask`` does, so a fitted
one pickles like its local parent. ``fit`` trains through :func:`gbm_objectives.dask.train` on the current
``distributed`` client; ``predict`` returns Dask collections for Dask input. Re-exported by
:mod:`gbm_objectives.dask`.
"""

from __future__ import annotations

import dask.array as da
import dask.dataframe as dd
import numpy as np

from ..estimators import GBMClassifier, GBMRegressor
from ..lambdamart import LambdaMART
from ..training import NativeObjective
from ._partitions import is_dask
from .training import train

__all__ = ["DaskGBMRegressor", "DaskGBMClassifier", "DaskLambdaMART"]


def _client():
    """The current ``distributed`` client; ValueError when there is none."""
    from ..adapters._dask_common import current_client

    client = current_client()
    if client is None:
        raise ValueError("no Dask client: create one first (distributed.Client(...)); the Dask estimators train on "
                         "the current client")
    return client


class _DaskMixin:
    """Fit on Dask collections through :func:`train` (the current ``distributed`` client); predict on the cluster;
    ``to_local()`` gives the scikit-learn estimator of :mod:`gbm_objectives` holding the same model."""

    _local = None

    def _dask_fit(self, X, y, objective, sample_weight=None, eval_set=None, early_stopping_rounds=None, **kw):
        self._check_params()
        result = train(_client(), objective, X, y, backend=self.backend, params=self._engine_params(),
                       num_boost_round=int(self.n_estimators), sample_weight=sample_weight,
                       eval_set=list(eval_set or ()), early_stopping_rounds=early_stopping_rounds, **kw)
        self.objective_ = result.objective
        self.result_ = result
        self.booster_ = result.booster
        self.init_score_ = result.init_score
        self.evals_result_ = result.evals_result
        self.best_iteration_ = result.best_iteration
        self.n_features_in_ = int(X.shape[1]) if not isinstance(X, dd.DataFrame) else len(X.columns)
        return self

    def _raw_predict(self, X):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "booster_")
        return self.result_.predict_raw(X)

    def to_local(self):
        """The fitted local estimator (:class:`gbm_objectives.GBMClassifier` ...), same model, NumPy in and out."""
        local = self._local(**self.get_params())
        for name, value in vars(self).items():
            if name.endswith("_") and not name.startswith("__"):
                setattr(local, name, value)
        local.result_ = self.result_.to_local()
        return local


class DaskGBMRegressor(_DaskMixin, GBMRegressor):
    """:class:`gbm_objectives.GBMRegressor` on Dask: ``fit(X, y)`` with Dask collections; ``predict`` returns
    Dask collections. (``leaf_renewal`` is not available on Dask: quantile leaves keep the engine's values.)"""

    _local = GBMRegressor

    def fit(self, X, y, sample_weight=None, eval_set=None, early_stopping_rounds=None):
        obj = get_objective_named(self.objective, self.objective_params)
        if obj.task != "regression":
            raise ValueError(f"objective {obj.name!r} is a {obj.task} objective; DaskGBMRegressor needs a "
                             "regression one")
        return self._dask_fit(X, y, obj, sample_weight, eval_set, early_stopping_rounds)

    def predict(self, X):
        return self.result_.predict(X) if is_dask(X) else self.objective_.transform(self._raw_predict(X))


class DaskGBMClassifier(_DaskMixin, GBMClassifier):
    """:class:`gbm_objectives.GBMClassifier` on Dask. Labels must be the class indices 0..k-1 (the classes are
    read with one ``unique`` on the cluster); ``predict_proba``/``predict`` return Dask arrays."""

    _local = GBMClassifier

    def fit(self, X, y, sample_weight=None, eval_set=None, early_stopping_rounds=None):
        yv = y.to_dask_array(lengths=False) if isinstance(y, dd.Series) else y
        classes = np.sort(np.asarray(da.unique(yv).compute()))
        if len(classes) < 2 or not np.array_equal(classes, np.arange(len(classes))):
            raise ValueError(f"y must hold the class indices 0..k-1 with k >= 2; got classes {classes.tolist()}")
        self.classes_ = classes
        from sklearn.preprocessing import LabelEncoder

        self._le = LabelEncoder().fit(classes)
        obj = self._resolve_objective(len(classes))
        return self._dask_fit(X, y, obj, sample_weight, eval_set, early_stopping_rounds)

    def decision_function(self, X):
        return self._raw_predict(X)

    def predict_proba(self, X):
        if not is_dask(X):
            return self.to_local().predict_proba(X)
        raw = self._raw_predict(X)
        if isinstance(raw, (dd.Series, dd.DataFrame)):
            raw = raw.to_dask_array(lengths=True)
        fn = self.objective_.transform
        if raw.ndim == 1:
            return raw.map_blocks(lambda r: np.column_stack([1 - fn(r), fn(r)]), new_axis=1,
                                  chunks=(raw.chunks[0], (2,)), dtype=np.float64)
        return raw.map_blocks(lambda r: np.asarray(fn(r)), dtype=np.float64)

    def predict(self, X):
        if not is_dask(X):
            return self.to_local().predict(X)
        proba = self.predict_proba(X)
        return proba.map_blocks(lambda p: np.argmax(p, axis=1), drop_axis=1, dtype=np.int64)


class DaskLambdaMART(_DaskMixin, LambdaMART):
    """:class:`gbm_objectives.LambdaMART` on Dask: ``fit(X, y, qid=...)`` with Dask collections partitioned by
    query (:func:`gbm_objectives.dask.partition_by_query`); ``predict`` returns Dask collections."""

    _local = LambdaMART

    def _engine_params(self):
        return LambdaMART._engine_params(self)

    def _check_params(self):
        return LambdaMART._check_params(self)

    def fit(self, X, y, qid=None, group=None, sample_weight=None, eval_set=None, eval_qid=None,
            early_stopping_rounds=None):
        objective, eval_at = LambdaMART._check_params(self)
        reference = objective.reference if isinstance(objective, NativeObjective) else objective
        metric = self._metrics(reference, eval_at)
        self._dask_fit(X, y, objective, sample_weight, eval_set, early_stopping_rounds, qid=qid, group=group,
                       eval_qid=list(eval_qid or ()), metric=metric)
        self.objective_ = reference
        return self

    def predict(self, X):
        return self._raw_predict(X)


def get_objective_named(spec, params):
    """The objective named ``spec`` with the options ``params`` (:func:`gbm_objectives.objectives.get_objective`)."""
    from ..objectives import get_objective

    return get_objective(spec, **dict(params or {}))
