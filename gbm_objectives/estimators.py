"""scikit-learn estimators that train LightGBM or XGBoost with an objective of this package.

They hide the usual custom-objective traps: the init score (custom objectives get no ``boost_from_average``) is
set on training and added back at prediction, raw scores are transformed into probabilities, early stopping
monitors the objective's own loss on ``eval_set`` (the engines' built-in metrics would read raw scores as
probabilities), and multiclass labels are encoded.

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
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .adapters import get_backend
from ._validation import check_sample_weight
from .losses import OBJECTIVES, Objective, get_objective

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
        if isinstance(self.random_state, (int, np.integer)):
            seed = int(self.random_state)
        else:  # None or a RandomState: draw one seed
            seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        if self.backend == "lightgbm":
            # feature_pre_filter=False: tiny data sets keep their features (LightGBM's pre-filter drops every
            # feature when n_samples < min_data_in_leaf, and then refuses a custom objective)
            params = {"learning_rate": self.learning_rate, "seed": seed, "deterministic": True, "verbosity": -1,
                      "feature_pre_filter": False}
            if self.n_jobs is not None:
                params["num_threads"] = self.n_jobs
        else:
            params = {"learning_rate": self.learning_rate, "seed": seed, "tree_method": "hist", "verbosity": 0}
            if self.n_jobs is not None:
                params["nthread"] = self.n_jobs
        params.update(self.backend_params or {})
        return params

    def _check_params(self):
        if not isinstance(self.n_estimators, (int, np.integer)) or self.n_estimators < 1:
            raise ValueError(f"n_estimators must be a positive integer; got {self.n_estimators!r}")
        if not (isinstance(self.learning_rate, (int, float)) and self.learning_rate > 0):
            raise ValueError(f"learning_rate must be > 0; got {self.learning_rate!r}")
        get_backend(self.backend)

    def _fit(self, X, y, sample_weight, eval_set, early_stopping_rounds, objective):
        backend = get_backend(self.backend)
        sample_weight = check_sample_weight(sample_weight, len(y))
        self.objective_ = objective
        self.init_score_ = objective.init_score(y, sample_weight=sample_weight)
        valid_sets = []
        for i, (Xv, yv) in enumerate(eval_set or ()):
            Xv = validate_data(self, Xv, reset=False, ensure_all_finite="allow-nan")
            valid_sets.append((f"valid_{i}", Xv, self._encode_eval_y(yv), None, None))
        if early_stopping_rounds and not valid_sets:
            raise ValueError("early_stopping_rounds needs an eval_set")
        train_objective, callbacks = self._training_hooks(objective, X, valid_sets)
        metric_factory = backend.objective_loss_metric(objective)
        kwargs = {"feval": metric_factory} if self.backend == "lightgbm" else {"custom_metric": metric_factory}
        self.booster_, self.evals_result_ = backend.train(
            train_objective,
            X,
            y,
            params=self._engine_params(),
            num_boost_round=int(self.n_estimators),
            sample_weight=sample_weight,
            init_score=self.init_score_,
            valid_sets=valid_sets,
            early_stopping_rounds=early_stopping_rounds,
            callbacks=callbacks,
            **(kwargs if valid_sets else {}),
        )
        best = getattr(self.booster_, "best_iteration", None)
        self.best_iteration_ = int(best) + (1 if self.backend == "xgboost" else 0) if early_stopping_rounds else None
        return self

    def _training_hooks(self, objective, X, valid_sets):
        """The objective handed to the engine and extra engine callbacks (none by default)."""
        return objective, []

    def _encode_eval_y(self, y):
        return np.asarray(y, dtype=np.float64)

    def _raw_predict(self, X):
        check_is_fitted(self, "booster_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        return get_backend(self.backend).predict_raw(self.booster_, X, self.init_score_, self.best_iteration_)

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
    regression objective ("huber", "quantile", ...).

    leaf_renewal : bool, default True
        With ``objective="quantile"`` on the LightGBM backend, re-fit every new leaf to the alpha-quantile of the
        residuals of its training rows, as LightGBM's built-in ``quantile`` does
        (:func:`gbm_objectives.quantile_leaf_renewal`). Ignored for other objectives and for XGBoost.
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

    def _training_hooks(self, objective, X, valid_sets):
        if not (self.leaf_renewal and self.backend == "lightgbm" and objective.name == "quantile"):
            return objective, []
        from .adapters.lightgbm_renewal import quantile_leaf_renewal

        valid_X = {name: Xv for name, Xv, *_ in valid_sets if Xv is not X}
        renewal = quantile_leaf_renewal(objective, X, valid_X=valid_X)
        return renewal.objective, [renewal]

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
        """Predictions: the objective's transform of the raw score (identity for regression losses)."""
        raw = self._raw_predict(X)
        return self.objective_.transform(raw)
