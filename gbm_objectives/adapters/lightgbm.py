"""LightGBM adapters: objectives as LightGBM callbacks, plus the training helper the estimators use.

LightGBM facts these adapters handle (and the tests check):

* ``lgb.train(params={"objective": f})`` calls ``f(preds, train_data)``; group sizes come from the Dataset.
* The scikit-learn API (``LGBMClassifier(objective=f)``) dispatches on the *number of parameters* of ``f``; only a
  4-parameter function receives ``group``. :class:`LightGBMSklearnObjective` has exactly
  ``(y_true, y_pred, weight, group)``; a ``*args`` or ``functools.partial`` wrapper would silently lose it.
* Multiclass grad/hess are (n, k); LightGBM ravels them column-major (class-major). The adapter returns
  Fortran-ordered float32 arrays so that ravel is free.
* A custom objective starts from raw score 0 (no ``boost_from_average``) and LightGBM does not add a Dataset's
  ``init_score`` back at predict time. Pass ``obj.init_score(y)`` as the Dataset's ``init_score`` and add it to
  ``booster.predict(X, raw_score=True)`` yourself, or use :class:`gbm_objectives.GBMClassifier`, which does both::

      init = obj.init_score(y)
      train = lgb.Dataset(X, y, init_score=np.full(len(y), init))
      booster = lgb.train({"objective": go.lightgbm_objective(obj)}, train)
      proba = obj.transform(booster.predict(X_test, raw_score=True) + init)
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np

from ._common import CachedObjective, constant_score_array, empty_to_none

__all__ = [
    "LightGBMObjective",
    "LightGBMSklearnObjective",
    "lightgbm_objective",
    "lightgbm_sklearn_objective",
    "train",
    "predict_raw",
    "init_score_array",
]


class LightGBMObjective(CachedObjective):
    """``f(preds, train_data) -> (grad, hess)`` for ``lgb.train(params={"objective": f})``."""

    def __call__(self, preds, train_data):
        def read():
            return train_data.get_label(), train_data.get_weight(), empty_to_none(train_data.get_group())

        return self.compute(train_data, read, preds)


class LightGBMSklearnObjective(CachedObjective):
    """``f(y_true, y_pred, weight, group)`` for ``LGBMClassifier/LGBMRegressor/LGBMRanker(objective=f)``.

    Exactly four parameters, so LightGBM's scikit-learn wrapper passes ``group``.
    """

    def __call__(self, y_true, y_pred, weight, group):
        return self.compute(y_true, lambda: (y_true, weight, empty_to_none(group)), y_pred, extra=(weight, group))


def lightgbm_objective(obj):
    """Wrap an objective (instance or registry name) for ``lgb.train(params={"objective": ...})``."""
    return LightGBMObjective(obj)


def lightgbm_sklearn_objective(obj):
    """Wrap an objective (instance or registry name) for LightGBM's scikit-learn estimators."""
    return LightGBMSklearnObjective(obj)


init_score_array = constant_score_array  # a constant init score as LightGBM's Dataset ``init_score``


def _dataset(X, y, weight, group, init, reference=None, free_raw_data=True, feature_name="auto"):
    return lgb.Dataset(
        X,
        label=y,
        weight=weight,
        group=group,
        init_score=None if init is None else init_score_array(init, len(y)),
        reference=reference,
        free_raw_data=free_raw_data,
        feature_name=feature_name,
    )


def train(
    objective,
    X,
    y,
    *,
    params=None,
    num_boost_round=100,
    sample_weight=None,
    group=None,
    init_score=None,
    valid_sets=(),
    early_stopping_rounds=None,
    feval=None,
    callbacks=(),
    feature_name="auto",
):
    """Train a LightGBM booster with a custom objective (an ``Objective``) or a native one (a string).

    Parameters
    ----------
    objective : Objective or str
        An objective of this package (wrapped with :func:`lightgbm_objective`), or a LightGBM objective name.
    init_score : float or ndarray (n_classes,), optional
        The constant starting raw score, also applied to every validation set.
    valid_sets : sequence of (name, X, y, sample_weight, group)
    feval : callable or list, optional
        LightGBM ``feval`` functions, evaluated on ``valid_sets``.

    Returns
    -------
    booster : lightgbm.Booster
        ``booster.best_iteration`` is set when early stopping ran.
    evals_result : dict
        Metric values per round, by validation-set name.
    """
    params = dict(params or {})
    params.setdefault("verbosity", -1)
    if isinstance(objective, str):
        params["objective"] = objective
    else:
        params["objective"] = lightgbm_objective(objective)
        if getattr(objective, "n_classes", None):
            params["num_class"] = objective.n_classes
    train_set = _dataset(X, y, sample_weight, group, init_score, feature_name=feature_name)
    sets, names = [], []
    for name, Xv, yv, wv, gv in valid_sets:
        sets.append(train_set if Xv is X else _dataset(Xv, yv, wv, gv, init_score, reference=train_set))
        names.append(name)
    evals_result = {}
    cbs = [lgb.record_evaluation(evals_result), *callbacks]
    if early_stopping_rounds:
        cbs.append(lgb.early_stopping(early_stopping_rounds, first_metric_only=True, verbose=False))
    try:
        booster = lgb.train(
            params,
            train_set,
            num_boost_round=num_boost_round,
            valid_sets=sets,
            valid_names=names,
            feval=feval,
            callbacks=cbs,
        )
    except lgb.basic.LightGBMError as exc:
        # LightGBM cannot switch a Booster to a custom objective when no feature is usable (all constant):
        # nothing can be split, so the best model is the constant init score, i.e. a Booster with no trees.
        if isinstance(objective, str) or "num_features()) > (0)" not in str(exc):
            raise
        booster = lgb.Booster({**params, "objective": "none"}, train_set)
    return booster, evals_result


def predict_raw(booster, X, init_score=None, num_iteration=None):
    """Raw scores (margin) including the constant ``init_score`` that LightGBM does not add back itself."""
    raw = booster.predict(X, raw_score=True, num_iteration=num_iteration)
    if init_score is not None:
        raw = raw + np.asarray(init_score, dtype=np.float64)
    return raw


def objective_loss_metric(objective, name=None):
    """A LightGBM ``feval`` reporting the objective's own weighted mean loss (lower is better).

    With a custom objective, LightGBM's built-in metrics see raw scores as if they were predictions; this metric
    is the one the estimators early-stop on.
    """
    label = name or f"{objective.name}_loss"

    def feval(preds, eval_data):
        value = objective.loss(
            eval_data.get_label(), preds, sample_weight=eval_data.get_weight(), group=empty_to_none(eval_data.get_group())
        )
        return label, value, False

    return feval


# ---- model files and staged prediction (used by the CLI) -------------------------------------------------------
def save_booster(booster, path, num_iteration=None):
    """Write the booster in LightGBM's text model format, keeping the first ``num_iteration`` rounds."""
    booster.save_model(str(path), num_iteration=num_iteration)


def load_booster(path):
    """Read a booster written by :func:`save_booster`."""
    return lgb.Booster(model_file=str(path))


def num_rounds(booster):
    """Number of boosting rounds the booster holds."""
    return int(booster.current_iteration())


def staged_predict_raw(booster, X, init_score=None, iterations=None):
    """Yield ``(i, raw)``: raw scores after the first ``i`` rounds, for each ``i`` in increasing ``iterations``.

    Each step adds only the new trees (``start_iteration``), so all stages together cost one full prediction.
    """
    total = num_rounds(booster)
    iterations = range(1, total + 1) if iterations is None else iterations
    n = X.shape[0]
    raw = None if init_score is None else init_score_array(init_score, n)
    done = 0
    for i in iterations:
        i = min(int(i), total)
        if i > done:
            step = booster.predict(X, raw_score=True, start_iteration=done, num_iteration=i - done)
            raw = step if raw is None else raw + step
            done = i
        yield i, (np.zeros(n) if raw is None else raw)


def progress_callback(fn):
    """A training callback calling ``fn(rounds_done)`` after every boosting round (the CLI's progress bar)."""

    def callback(env):
        fn(env.iteration - env.begin_iteration + 1)

    callback.order = 5
    return callback
