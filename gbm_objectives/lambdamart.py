"""LambdaMART: one scikit-learn estimator for LightGBM's and XGBoost's built-in lambda objectives and our own.

``objective="native"`` trains LightGBM ``lambdarank`` / XGBoost ``rank:ndcg`` configured from the estimator's
options (:mod:`gbm_objectives.adapters.ranking_params`); ``objective="scratch"`` trains
:class:`~gbm_objectives.LambdaRankObjective` through the engine adapters. Switching backend or path changes
nothing else: same options, same ``fit``/``predict``/``score``.

>>> import numpy as np
>>> import gbm_objectives as go
>>> from gbm_objectives.datasets import make_ranking
>>> X, y, qid = make_ranking(n_queries=30, docs_per_query=(5, 15), n_features=8, seed=0)
>>> model = go.LambdaMART(objective="scratch", n_estimators=5, n_jobs=1).fit(X, y, qid=qid)
>>> model.predict(X).shape == y.shape, 0.0 <= model.score(X, y, qid=qid) <= 1.0
(True, True)
"""

from __future__ import annotations

import contextlib
import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .adapters import get_backend
from .adapters.ranking_params import lightgbm_lambdarank_params, xgboost_rank_params
from .ranking import LambdaRankObjective
from .segments import resolve_boundaries

__all__ = ["LambdaMART"]


@contextlib.contextmanager
def _numba_threads(n_jobs):
    """Run the scratch objective's kernel on ``n_jobs`` threads too (restored afterwards)."""
    if n_jobs is None or int(n_jobs) < 1:  # engine default / all cores: numba's default (all cores) too
        yield
        return
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(n_jobs), numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(before)


def _ndcg_at(y_true, y_score, boundaries, k):
    """Mean NDCG@k over queries, LightGBM's convention (a query without relevant documents scores 1)."""
    from .metrics import ndcg_score

    return float(ndcg_score(y_true, y_score, group=np.diff(boundaries), k=k, convention="lightgbm"))


class LambdaMART(BaseEstimator):
    """Gradient-boosted ranking with lambda gradients, on LightGBM or XGBoost, native or from scratch.

    Parameters
    ----------
    backend : {"lightgbm", "xgboost"}, default "lightgbm"
    objective : {"native", "scratch"}, default "native"
        "native": the engine's built-in objective (LightGBM ``lambdarank``; XGBoost ``rank:ndcg``, ``rank:map``
        or ``rank:pairwise``) configured from the options below. "scratch": :class:`LambdaRankObjective`.
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

    # ---- configuration --------------------------------------------------------------------------------
    def _check_params(self):
        get_backend(self.backend)
        if self.objective not in ("native", "scratch"):
            raise ValueError(f"objective must be 'native' or 'scratch'; got {self.objective!r}")
        if isinstance(self.n_estimators, bool) or not isinstance(self.n_estimators, numbers.Integral) or self.n_estimators < 1:
            raise ValueError(f"n_estimators must be a positive integer; got {self.n_estimators!r}")
        if isinstance(self.learning_rate, bool) or not isinstance(self.learning_rate, numbers.Real) or not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0; got {self.learning_rate!r}")
        eval_at = list(self.eval_at)
        if not eval_at or any(isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1 for k in eval_at):
            raise ValueError(f"eval_at must be a non-empty sequence of positive integers; got {self.eval_at!r}")
        obj = LambdaRankObjective(
            metric=self.metric, truncation_level=self.truncation_level, sigmoid=self.sigmoid, norm=self.norm,
            label_gain=self.label_gain, emulate_lightgbm=self.emulate_lightgbm,
        )
        native = None
        if self.objective == "native":
            native = lightgbm_lambdarank_params(obj) if self.backend == "lightgbm" else xgboost_rank_params(obj)
        return obj, native, [int(k) for k in eval_at]

    def _engine_params(self, obj, native, eval_at):
        if isinstance(self.random_state, (numbers.Integral, np.integer)):
            seed = int(self.random_state)
        else:
            seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        if self.backend == "lightgbm":
            params = {"learning_rate": self.learning_rate, "seed": seed, "deterministic": True, "verbosity": -1}
            params.update(metric="ndcg", eval_at=eval_at)
            if obj.label_gain is not None:  # the ndcg metric reads label_gain too
                params["label_gain"] = lightgbm_lambdarank_params(LambdaRankObjective(label_gain=obj.label_gain))[
                    "label_gain"
                ]
            if self.n_jobs is not None:
                params["num_threads"] = self.n_jobs
        else:
            params = {"learning_rate": self.learning_rate, "seed": seed, "tree_method": "hist", "verbosity": 0}
            # XGBoost early-stops on the last metric: put eval_at[0] last
            params["eval_metric"] = [f"ndcg@{k}" for k in reversed(eval_at)]
            params["ndcg_exp_gain"] = obj.label_gain is None or not np.array_equal(
                np.asarray(obj.label_gain, dtype=float), np.arange(len(obj.label_gain), dtype=float)
            )
            if self.n_jobs is not None:
                params["nthread"] = self.n_jobs
        if native is not None:
            params.update({k: v for k, v in native.items() if k != "objective"})
        params.update(self.backend_params or {})
        return params

    def _groups(self, n, group, qid, y_name="X"):
        try:
            return resolve_boundaries(n, group=group, qid=qid)
        except ValueError as e:
            raise ValueError(f"{e} (for {y_name})") from None

    def _engine_weight(self, sample_weight, boundaries):
        """Per-row weights for LightGBM; XGBoost ranking takes one weight per query (constant within it)."""
        if sample_weight is None:
            return None
        w = np.asarray(sample_weight, dtype=np.float64)
        if self.backend == "lightgbm" or len(w) != boundaries[-1]:
            return w
        starts = boundaries[:-1]
        per_query = w[starts]
        if not np.array_equal(np.repeat(per_query, np.diff(boundaries)), w):
            q = int(np.flatnonzero(np.repeat(per_query, np.diff(boundaries)) != w)[0])
            raise ValueError(
                f"XGBoost weights whole queries: sample_weight must be constant within each query; row {q} differs "
                "from the first row of its query"
            )
        return per_query

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
    ):
        """Fit on ``X`` with relevance labels ``y`` and query groups (``group`` sizes or per-row ``qid``).

        Parameters
        ----------
        eval_set : list of (X, y), optional
            Validation sets, named ``valid_0``, ``valid_1``... in ``evals_result_``.
        eval_group, eval_qid : list of array-like, optional
            Query sizes (or per-row ids) of each validation set.
        early_stopping_rounds : int, optional
            Stop when NDCG@``eval_at[0]`` on the first validation set has not improved for this many rounds.
        callbacks : list, optional
            Engine callbacks (e.g. ``lightgbm.reset_parameter``, ``xgboost.callback.LearningRateScheduler``).
        """
        obj, native, eval_at = self._check_params()
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", y_numeric=True)
        y = np.asarray(y, dtype=np.float64)
        boundaries = self._groups(len(y), group, qid)
        obj._check_y(y)  # labels valid for the gains, on both paths
        if sample_weight is not None:
            from ._validation import check_sample_weight

            sample_weight = check_sample_weight(sample_weight, len(y))
        valid_sets = []
        eval_set = list(eval_set or ())
        for name, given in (("eval_group", eval_group), ("eval_qid", eval_qid)):
            if given is not None and len(given) != len(eval_set):
                raise ValueError(f"{name} has {len(given)} entries but eval_set has {len(eval_set)}")
        for i, (Xv, yv) in enumerate(eval_set):
            Xv = validate_data(self, Xv, reset=False, ensure_all_finite="allow-nan")
            yv = np.asarray(yv, dtype=np.float64)
            bv = self._groups(
                len(yv),
                None if eval_group is None else eval_group[i],
                None if eval_qid is None else eval_qid[i],
                y_name=f"eval_set[{i}]",
            )
            valid_sets.append((f"valid_{i}", Xv, yv, None, np.diff(bv)))
        if early_stopping_rounds and not valid_sets:
            raise ValueError("early_stopping_rounds needs an eval_set (with eval_group or eval_qid)")

        backend = get_backend(self.backend)
        params = self._engine_params(obj, native, eval_at)
        self.objective_ = obj
        self.init_score_ = None if native is not None else obj.init_score(y)
        with _numba_threads(self.n_jobs if native is None else None):
            self.booster_, self.evals_result_ = self._train(
                backend, native, obj, X, y, params, sample_weight, boundaries, valid_sets, early_stopping_rounds,
                callbacks,
            )
        self.best_iteration_ = None
        if early_stopping_rounds:
            best = int(self.booster_.best_iteration)
            self.best_iteration_ = best + 1 if self.backend == "xgboost" else best
        self.best_score_ = {}
        for name, metrics in self.evals_result_.items():
            self.best_score_[name] = {
                m: float(v[(self.best_iteration_ or len(v)) - 1]) for m, v in metrics.items() if len(v)
            }
        return self

    def _train(
        self, backend, native, obj, X, y, params, sample_weight, boundaries, valid_sets, early_stopping_rounds, callbacks
    ):
        return backend.train(
            native["objective"] if native is not None else obj,
            X,
            y,
            params=params,
            num_boost_round=int(self.n_estimators),
            sample_weight=self._engine_weight(sample_weight, boundaries),
            group=np.diff(boundaries),
            init_score=self.init_score_,
            valid_sets=valid_sets,
            early_stopping_rounds=early_stopping_rounds,
            callbacks=list(callbacks or ()),
        )

    def decision_function(self, X):
        """Ranking scores (raw scores; higher ranks first)."""
        check_is_fitted(self, "booster_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        return get_backend(self.backend).predict_raw(self.booster_, X, self.init_score_, self.best_iteration_)

    def predict(self, X):
        """Ranking scores, shape (n_samples,): sort each query's documents by them, descending."""
        return self.decision_function(X)

    def score(self, X, y, group=None, qid=None, sample_weight=None):
        """Mean NDCG@10 over queries (LightGBM's convention: a query with no relevant document scores 1)."""
        y = np.asarray(y, dtype=np.float64)
        boundaries = self._groups(len(y), group, qid)
        if sample_weight is not None:
            raise ValueError("LambdaMART.score averages NDCG@10 over queries; sample_weight is not supported")
        return _ndcg_at(y, self.predict(X), boundaries, 10)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.target_tags.required = True
        return tags
