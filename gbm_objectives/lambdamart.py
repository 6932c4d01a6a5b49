"""LambdaMART: one scikit-learn estimator for LightGBM's and XGBoost's built-in lambda objectives and our own.

``objective="native"`` trains LightGBM ``lambdarank`` / XGBoost ``rank:ndcg`` configured from the estimator's
options (:mod:`gbm_objectives.adapters.native`); ``objective="scratch"`` trains
:class:`~gbm_objectives.LambdaRankObjective` as a custom objective. Both go through :func:`gbm_objectives.train`;
switching backend or path changes nothing else: same options, same ``fit``/``predict``/``score``, the same
``evals_result_`` (NDCG@k of :mod:`gbm_objectives.metrics`, equal to the engines' built-in ``ndcg@k``).

>>> import numpy as np
>>> import gbm_objectives as go
>>> from gbm_objectives.datasets import make_ranking
>>> X, y, qid = make_ranking(n_queries=30, docs_per_query=(5, 15), n_features=8, seed=0)
>>> model = go.LambdaMART(objective="scratch", n_estimators=5, n_jobs=1).fit(X, y, qid=qid)
>>> model.predict(X).shape == y.shape, 0.0 <= model.score(X, y, qid=qid) <= 1.0
(True, True)
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from ._core.segments import resolve_boundaries
from ._core.validation import check_estimator_params
from .adapters import get_backend
from .metrics import ndcg_score
from .metrics.by_task import get_task_metric
from .objectives import OBJECTIVES, LambdaRankObjective, Objective, get_objective
from .training import NativeObjective, estimator_params, train

__all__ = ["LambdaMART"]


class LambdaMART(BaseEstimator):
    """Gradient-boosted ranking with lambda gradients, on LightGBM or XGBoost, native or from scratch.

    Parameters
    ----------
    backend : {"lightgbm", "xgboost"}, default "lightgbm"
    objective : {"native", "scratch"}, a ranking registry name, or a ranking Objective; default "native"
        "native": the engine's built-in objective (LightGBM ``lambdarank``; XGBoost ``rank:ndcg``, ``rank:map``
        or ``rank:pairwise``) configured from the options below. "scratch": :class:`LambdaRankObjective`.
        A registry name of the ranking family (``"xendcg"``, ``"softmax_rank"``, ``"listmle"``, ``"approx_ndcg"``,
        ``"lambdaloss"``, ...) or an instance of one trains that objective from scratch; the LambdaRank options
        below are then unused.
    metric, truncation_level, sigmoid, norm, label_gain
        Options of :class:`LambdaRankObjective`, mapped to the engine's names on the native path.
    n_estimators : int, default 100
    learning_rate : float, default 0.1
    backend_params : dict, optional
        Extra engine parameters (``num_leaves``, ``max_depth``, ``min_child_samples``...), applied last.
    eval_at : sequence of int, default (1, 3, 5, 10)
        NDCG cut-offs logged on ``eval_set``; early stopping watches NDCG at ``eval_at[0]``.
    random_state : int, default 0
    n_jobs : int, optional
        Engine threads, and the scratch objective's (numba) threads during ``fit``.
    emulate_lightgbm : bool, default False
        Scratch path only: read the sigmoid from LightGBM's lookup table and sum in LightGBM's float32 order
        (:class:`LambdaRankObjective`), so the scratch trees equal native LightGBM's bit for bit. With the exact
        sigmoid and ``norm=True`` the ~1e-5 table difference can flip near-tie splits after a few rounds.
    position_debias : {None, "additive", "ipw", "cascade"}, default None
        Learn from position-biased clicks (``fit(..., position=...)``), see :class:`LambdaRankObjective`.
        ``objective="native"``: ``"additive"`` is LightGBM's ``Dataset(position=...)``, ``"ipw"`` XGBoost's
        ``lambdarank_unbiased`` (rows ordered by position inside each query for it); the other combinations
        raise a ValueError pointing to ``objective="scratch"``, which has both on both engines.
    position_bias_regularization, bias_norm, normalize, propensity :
        Options of the methods (:class:`LambdaRankObjective`).

    Attributes
    ----------
    objective_ : LambdaRankObjective
    booster_ : lightgbm.Booster or xgboost.Booster
    evals_result_ : dict
        ``{"valid_0": {"ndcg@1": [...], ...}, ...}``
    best_iteration_ : int or None
        Number of boosting rounds kept (1-based) when early stopping ran.
    best_score_ : dict
        Metric values of each eval set at ``best_iteration_`` (or the last round).
    position_bias_ : ndarray, dict or None
        With ``position_debias``: the learned bias per position (``"additive"``) or the propensity tables
        ``{"t_plus", "t_minus"}`` (``"ipw"``; XGBoost's native ones too); None for LightGBM's native path, which
        does not expose its biases.
    n_features_in_, feature_names_in_
    """

    def __init__(
        self,
        backend="lightgbm",
        objective="native",
        metric="ndcg",
        truncation_level=30,
        sigmoid=1.0,
        norm=True,
        label_gain=None,
        n_estimators=100,
        learning_rate=0.1,
        backend_params=None,
        eval_at=(1, 3, 5, 10),
        random_state=0,
        n_jobs=None,
        emulate_lightgbm=False,
        position_debias=None,
        position_bias_regularization=0.0,
        bias_norm=0.0,
        normalize="before",
        propensity=None,
    ):
        self.backend = backend
        self.objective = objective
        self.metric = metric
        self.truncation_level = truncation_level
        self.sigmoid = sigmoid
        self.norm = norm
        self.label_gain = label_gain
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.backend_params = backend_params
        self.eval_at = eval_at
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.emulate_lightgbm = emulate_lightgbm
        self.position_debias = position_debias
        self.position_bias_regularization = position_bias_regularization
        self.bias_norm = bias_norm
        self.normalize = normalize
        self.propensity = propensity

    # ---- configuration --------------------------------------------------------------------------------
    def _check_params(self):
        get_backend(self.backend)
        custom = self._custom_objective()
        check_estimator_params(self.n_estimators, self.learning_rate)
        eval_at = list(self.eval_at)
        if not eval_at or any(isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1 for k in eval_at):
            raise ValueError(f"eval_at must be a non-empty sequence of positive integers; got {self.eval_at!r}")
        if custom is not None:
            return custom, [int(k) for k in eval_at]
        obj = LambdaRankObjective(
            metric=self.metric, truncation_level=self.truncation_level, sigmoid=self.sigmoid, norm=self.norm,
            label_gain=self.label_gain, emulate_lightgbm=self.emulate_lightgbm,
            position_debias=self.position_debias, position_bias_regularization=self.position_bias_regularization,
            bias_norm=self.bias_norm, normalize=self.normalize, propensity=self.propensity,
        )
        objective = NativeObjective(obj) if self.objective == "native" else obj
        if self.objective == "native":
            objective.engine_params(self.backend)  # an option the engine cannot express fails before any data work
        return objective, [int(k) for k in eval_at]

    def _custom_objective(self):
        """The ranking objective named or given by ``objective`` (None for "native"/"scratch")."""
        if isinstance(self.objective, str) and self.objective in ("native", "scratch"):
            return None
        if isinstance(self.objective, Objective):
            obj = self.objective
        elif isinstance(self.objective, str) and self.objective in OBJECTIVES:
            obj = get_objective(self.objective)
        else:
            ranking = sorted(n for n, c in OBJECTIVES.items() if c.task == "ranking")
            raise ValueError(
                f"objective must be 'native' or 'scratch', a ranking objective name ({', '.join(ranking)}) or a "
                f"ranking Objective; got {self.objective!r}"
            )
        if obj.task != "ranking":
            raise ValueError(f"objective must be a ranking objective; got {obj.name!r} (task {obj.task!r})")
        return obj

    def _engine_params(self):
        return estimator_params(self.learning_rate, self.random_state, self.backend_params, self.n_jobs)

    def _metrics(self, obj, eval_at):
        """NDCG@k for each ``eval_at`` (LightGBM's convention, the engines' built-in ndcg@k) with the objective's
        gains."""
        label_gain = getattr(obj, "label_gain", None)
        options = {} if label_gain is None else {"gain": np.asarray(label_gain, dtype=np.float64)}
        return [get_task_metric(f"ndcg@{k}", obj, **options) for k in eval_at]

    # ---- fit / predict --------------------------------------------------------------------------------
    def fit(
        self,
        X,
        y,
        group=None,
        qid=None,
        sample_weight=None,
        eval_set=None,
        eval_group=None,
        eval_qid=None,
        early_stopping_rounds=None,
        callbacks=None,
        position=None,
    ):
        """Fit on ``X`` with relevance labels ``y`` and query groups (``group`` sizes or per-row ``qid``).

        Parameters
        ----------
        sample_weight : array-like, optional
            One weight per row, or one per query (XGBoost weighs whole queries: per-row weights must then be
            constant within each query).
        eval_set : list of (X, y), optional
            Validation sets, named ``valid_0``, ``valid_1``... in ``evals_result_``.
        eval_group, eval_qid : list of array-like, optional
            Query sizes (or per-row ids) of each validation set.
        early_stopping_rounds : int, optional
            Stop when NDCG@``eval_at[0]`` on the first validation set has not improved for this many rounds.
        callbacks : list, optional
            Engine callbacks (e.g. ``lightgbm.reset_parameter``, ``xgboost.callback.LearningRateScheduler``).
        position : array-like of int, optional
            Displayed 0-based rank of every row when ``y`` are clicks; required with ``position_debias`` and
            refused without it.
        """
        objective, eval_at = self._check_params()
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", y_numeric=True)
        y = np.asarray(y, dtype=np.float64)
        eval_set = list(eval_set or ())
        for name, given in (("eval_group", eval_group), ("eval_qid", eval_qid)):
            if given is not None and len(given) != len(eval_set):
                raise ValueError(f"{name} has {len(given)} entries but eval_set has {len(eval_set)}")
        evals = []
        for Xv, yv in eval_set:
            Xv = validate_data(self, Xv, reset=False, ensure_all_finite="allow-nan")
            evals.append((Xv, np.asarray(yv, dtype=np.float64)))
        if early_stopping_rounds and not evals:
            raise ValueError("early_stopping_rounds needs an eval_set (with eval_group or eval_qid)")
        reference = objective.reference if isinstance(objective, NativeObjective) else objective
        result = train(
            objective, X, y, backend=self.backend, params=self._engine_params(),
            num_boost_round=int(self.n_estimators), sample_weight=sample_weight, group=group, qid=qid,
            eval_set=evals, eval_group=eval_group or (), eval_qid=eval_qid or (),
            metric=self._metrics(reference, eval_at), early_stopping_rounds=early_stopping_rounds,
            callbacks=list(callbacks or ()), n_jobs=self.n_jobs, position=position,
        )
        self.result_ = result
        self.objective_ = reference
        self.booster_ = result.booster
        self.init_score_ = result.init_score
        self.evals_result_ = result.evals_result
        self.position_bias_ = result.position_bias
        self.best_iteration_ = result.best_iteration
        self.best_score_ = {}
        for name, metrics in self.evals_result_.items():
            self.best_score_[name] = {
                m: float(v[(self.best_iteration_ or len(v)) - 1]) for m, v in metrics.items() if len(v)
            }
        return self

    def decision_function(self, X):
        """Ranking scores (raw scores; higher ranks first)."""
        check_is_fitted(self, "booster_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        return self.result_.predict_raw(X)

    def predict(self, X):
        """Ranking scores, shape (n_samples,): sort each query's documents by them, descending."""
        return self.decision_function(X)

    def score(self, X, y, group=None, qid=None, sample_weight=None):
        """Mean NDCG@10 over queries (LightGBM's convention: a query with no relevant document scores 1)."""
        if sample_weight is not None:
            raise ValueError("LambdaMART.score averages NDCG@10 over queries; sample_weight is not supported")
        y = np.asarray(y, dtype=np.float64)
        boundaries = resolve_boundaries(len(y), group=group, qid=qid)
        return float(ndcg_score(y, self.predict(X), group=np.diff(boundaries), k=10, convention="lightgbm"))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.target_tags.required = True
        return tags
