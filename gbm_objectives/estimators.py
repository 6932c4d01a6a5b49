"""scikit-learn estimators that train LightGBM or XGBoost with an objective of this package.

They translate scikit-learn's conventions (class labels, ``eval_set`` pairs, ``n_estimators``) and train through
:func:`gbm_objectives.train`, which hides the custom-objective traps: the init score (custom objectives get no
``boost_from_average``) is set on training and added back at prediction, early stopping monitors the objective's
own loss on ``eval_set`` (the engines' built-in metrics would read raw scores as probabilities), and the engines'
default tree shapes are the ones documented there.

>>> from sklearn.datasets import load_breast_cancer
>>> import gbm_objectives as go
>>> X, y = load_breast_cancer(return_X_y=True)
>>> clf = go.GBMClassifier(objective="focal", n_estimators=20).fit(X, y)
>>> clf.predict_proba(X[:2]).shape
(2, 2)
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ._core.validation import check_estimator_params
from .adapters import get_backend
from .metrics.quantiles import interval_bounds
from .objectives import OBJECTIVES, MultiQuantileLoss, Objective, get_objective
from .training import estimator_params, train

__all__ = ["GBMClassifier", "GBMRegressor"]

# A binary objective named for a multiclass problem is swapped for its softmax twin.
MULTICLASS_TWINS = {"focal": "softmax_focal", "logloss": "softmax"}


class _GBMBase(BaseEstimator):
    _task = None

    def __init__(
        self,
        objective=None,
        backend="lightgbm",
        n_estimators=100,
        learning_rate=0.1,
        objective_params=None,
        backend_params=None,
        random_state=0,
        n_jobs=None,
    ):
        self.objective = objective
        self.backend = backend
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.objective_params = objective_params
        self.backend_params = backend_params
        self.random_state = random_state
        self.n_jobs = n_jobs

    # ---- plumbing shared by both estimators ------------------------------------------------------------
    def _engine_params(self):
        return estimator_params(self.learning_rate, self.random_state, self.backend_params, self.n_jobs)

    def _check_params(self):
        check_estimator_params(self.n_estimators, self.learning_rate)
        get_backend(self.backend)

    def _fit(self, X, y, sample_weight, eval_set, early_stopping_rounds, objective):
        self.objective_ = objective
        eval_set = list(eval_set or ())
        evals = []
        for Xv, yv in eval_set:
            Xv = validate_data(self, Xv, reset=False, ensure_all_finite="allow-nan")
            evals.append((Xv, self._encode_eval_y(yv)))
        result = train(
            objective, X, y, backend=self.backend, params=self._engine_params(),
            num_boost_round=int(self.n_estimators), sample_weight=sample_weight, eval_set=evals,
            early_stopping_rounds=early_stopping_rounds, n_jobs=self.n_jobs, leaf_renewal=self._leaf_renewal(),
        )
        self.result_ = result
        self.objective_ = result.objective  # with what training resolved (MultiQuantileLoss's scale)
        self.booster_ = result.booster
        self.init_score_ = result.init_score
        self.evals_result_ = result.evals_result
        self.best_iteration_ = result.best_iteration
        return self

    def _leaf_renewal(self):
        return False

    def _encode_eval_y(self, y):
        return np.asarray(y, dtype=np.float64)

    def _raw_predict(self, X):
        check_is_fitted(self, "booster_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        return self.result_.predict_raw(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class GBMClassifier(ClassifierMixin, _GBMBase):
    """Gradient-boosted classifier trained with an objective of this package.

    Parameters
    ----------
    objective : str or Objective, default "focal"
        Registry name (``go.OBJECTIVES``) or an objective instance. For more than two classes, "focal" and
        "logloss" become "softmax_focal" and "softmax".
    backend : {"lightgbm", "xgboost"}, default "lightgbm"
    n_estimators : int, default 100
    learning_rate : float, default 0.1
    objective_params : dict, optional
        Keyword arguments for the objective when it is given by name.
    backend_params : dict, optional
        Extra engine parameters (``num_leaves``, ``max_depth``, ``min_child_samples``...).
    random_state : int, default 0
    n_jobs : int, optional
        Engine threads.

    Attributes
    ----------
    classes_, n_features_in_, objective_ (the fitted Objective), init_score_, booster_, best_iteration_,
    evals_result_
    """

    def __init__(
        self,
        objective="focal",
        backend="lightgbm",
        n_estimators=100,
        learning_rate=0.1,
        objective_params=None,
        backend_params=None,
        random_state=0,
        n_jobs=None,
    ):
        super().__init__(
            objective, backend, n_estimators, learning_rate, objective_params, backend_params, random_state, n_jobs
        )

    def _resolve_objective(self, n_classes):
        spec = self.objective
        params = dict(self.objective_params or {})
        if isinstance(spec, Objective):
            obj = spec
        else:
            if n_classes > 2:
                spec = MULTICLASS_TWINS.get(spec, spec)
            cls = OBJECTIVES.get(spec) if isinstance(spec, str) else None
            if cls is not None and cls.task == "multiclass":
                params.setdefault("n_classes", n_classes)
            obj = get_objective(spec, **params)
        if obj.task == "binary" and n_classes != 2:
            raise ValueError(f"objective {obj.name!r} is binary but y has {n_classes} classes")
        if obj.task == "multiclass" and obj.n_classes != n_classes:
            raise ValueError(f"objective has n_classes={obj.n_classes} but y has {n_classes} classes")
        if obj.task not in ("binary", "multiclass"):
            raise ValueError(f"objective {obj.name!r} is a {obj.task} objective; GBMClassifier needs a classifier one")
        return obj

    def fit(self, X, y, sample_weight=None, eval_set=None, early_stopping_rounds=None):
        """Fit on X (array or DataFrame) and class labels y; ``eval_set`` is a list of (X, y) pairs."""
        self._check_params()
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan")
        check_classification_targets(y)
        self._le = LabelEncoder().fit(y)
        self.classes_ = self._le.classes_
        if len(self.classes_) < 2:
            raise ValueError(f"y has only one class ({self.classes_[0]!r}); a classifier needs at least 2")
        y_enc = self._le.transform(y).astype(np.float64)
        obj = self._resolve_objective(len(self.classes_))
        return self._fit(X, y_enc, sample_weight, eval_set, early_stopping_rounds, obj)

    def _encode_eval_y(self, y):
        return self._le.transform(np.asarray(y)).astype(np.float64)

    def decision_function(self, X):
        """Raw scores (margin), init score included: shape (n_samples,) for binary, (n_samples, n_classes) else."""
        return self._raw_predict(X)

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes)."""
        raw = self._raw_predict(X)
        proba = self.objective_.transform(raw)
        if proba.ndim == 1:
            return np.column_stack([1.0 - proba, proba])
        return proba

    def predict(self, X):
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class GBMRegressor(RegressorMixin, _GBMBase):
    """Gradient-boosted regressor trained with an objective of this package.

    Parameters are those of :class:`GBMClassifier`; ``objective`` defaults to "squared_error" and must be a
    regression objective ("huber", "quantile", "multi_quantile", ...). With ``"multi_quantile"``
    (``objective_params={"alphas": (0.1, 0.5, 0.9)}``), :meth:`predict` returns the ``K`` quantiles, shape
    (n_samples, K), which never cross, and :meth:`predict_interval` a central interval.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 2)); y = X[:, 0] + rng.normal(size=300)
    >>> reg = GBMRegressor("multi_quantile", objective_params={"alphas": (0.1, 0.5, 0.9)}, n_estimators=20,
    ...                    n_jobs=1).fit(X, y)
    >>> q = reg.predict(X[:4]); q.shape, bool((np.diff(q, axis=1) >= 0).all())
    ((4, 3), True)
    >>> lower, upper = reg.predict_interval(X[:4], coverage=0.8)       # the levels 0.1 and 0.9
    >>> bool(np.array_equal(lower, q[:, 0]) and np.array_equal(upper, q[:, 2]))
    True

    leaf_renewal : bool, default True
        With ``objective="quantile"`` (or ``"multi_quantile"`` with ``renewal=True``), re-fit every new leaf to the
        alpha-quantile of the residuals of its training rows, as the engines' built-in quantile objectives do (:func:`gbm_objectives.quantile_leaf_renewal`,
        :func:`gbm_objectives.xgboost_quantile_leaf_renewal`). Ignored for other objectives.
    """

    def __init__(
        self,
        objective="squared_error",
        backend="lightgbm",
        n_estimators=100,
        learning_rate=0.1,
        objective_params=None,
        backend_params=None,
        random_state=0,
        n_jobs=None,
        leaf_renewal=True,
    ):
        super().__init__(
            objective, backend, n_estimators, learning_rate, objective_params, backend_params, random_state, n_jobs
        )
        self.leaf_renewal = leaf_renewal

    def _leaf_renewal(self):
        return bool(self.leaf_renewal)

    def fit(self, X, y, sample_weight=None, eval_set=None, early_stopping_rounds=None):
        """Fit on X (array or DataFrame) and real targets y; ``eval_set`` is a list of (X, y) pairs."""
        self._check_params()
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", y_numeric=True)
        if len(y) < 2:
            raise ValueError(f"GBMRegressor needs at least 2 samples; got n_samples = {len(y)}")
        obj = get_objective(self.objective, **dict(self.objective_params or {}))
        if obj.task != "regression":
            raise ValueError(f"objective {obj.name!r} is a {obj.task} objective; GBMRegressor needs a regression one")
        return self._fit(X, np.asarray(y, dtype=np.float64), sample_weight, eval_set, early_stopping_rounds, obj)

    def predict(self, X):
        """Predictions: the objective's transform of the raw score (identity for regression losses); with
        ``objective="multi_quantile"`` the quantiles, shape (n_samples, K), non-decreasing along each row."""
        raw = self._raw_predict(X)
        return self.objective_.transform(raw)

    def predict_interval(self, X, coverage=0.8):
        """The central ``coverage`` prediction interval of a ``multi_quantile`` model: ``(lower, upper)``.

        The levels ``(1 - coverage) / 2`` and ``(1 + coverage) / 2``, interpolated linearly between the model's
        neighbouring levels when they are not among its ``alphas``
        (:func:`gbm_objectives.metrics.quantiles.interval_bounds`).

        Returns
        -------
        lower, upper : ndarray of shape (n_samples,)
            ``lower <= upper`` on every row.

        Raises
        ------
        ValueError
            For another objective, or a ``coverage`` whose levels lie outside the model's.
        """
        check_is_fitted(self, "booster_")
        if not isinstance(self.objective_, MultiQuantileLoss):
            raise ValueError(f"predict_interval needs objective='multi_quantile'; this model was trained with "
                             f"{self.objective_.name!r}")
        return interval_bounds(self.predict(X), self.objective_.alphas, coverage)
