"""XGBoost adapters: objectives as XGBoost callbacks, plus the training helper the estimators use.

XGBoost facts these adapters handle (and the tests check):

* ``xgb.train(params, dtrain, obj=f)`` calls ``f(predt, dtrain)``; query groups come from the DMatrix
  (``group_ptr``). ``XGBRanker`` refuses callables, so ranking objectives go through ``xgb.train``.
* The scikit-learn API calls ``f(y_true, y_pred, sample_weight=...)`` only if ``f`` has a ``sample_weight``
  parameter; :class:`XGBoostSklearnObjective` has it.
* Multiclass predt and grad/hess are (n, k) (XGBoost >= 2.1).
* A custom objective starts from the margin ``base_score``, not from the argmin of the loss. Set the DMatrix's
  ``base_margin`` to ``obj.init_score(y)`` for training *and* prediction (or use the estimators)::

      init = obj.init_score(y)
      dtrain = xgb.DMatrix(X, y, base_margin=np.full(len(y), init))
      booster = xgb.train(params, dtrain, num_boost_round=100, obj=go.xgboost_objective(obj))
      dtest = xgb.DMatrix(X_test, base_margin=np.full(len(X_test), init))
      proba = obj.transform(booster.predict(dtest, output_margin=True))
"""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import xgboost as xgb

from . import ParameterError
from ._common import (CachedObjective, alias_lookup, bracket_groups, check_feature_count, check_feature_index,
                      check_feature_name, check_learning_rate, check_width, constant_score_array, empty_to_none,
                      is_index, plain_scalar, rename_params)

__all__ = [
    "XGBoostObjective",
    "XGBoostSklearnObjective",
    "xgboost_objective",
    "xgboost_sklearn_objective",
    "train",
    "predict_raw",
    "best_iteration",
    "validate_params",
    "check_feature_params",
    "check_groups",
    "query_weights",
    "base_margin_array",
    "PARAMETER_ALIASES",
    "OPTION_PARAMETERS",
    "canonical_name",
    "aliases_of",
    "canonical_params",
]


def _group_sizes(dmatrix):
    ptr = dmatrix.get_uint_info("group_ptr")
    return None if len(ptr) == 0 else np.diff(ptr.astype(np.int64))


class XGBoostObjective(CachedObjective):
    """``f(predt, dtrain) -> (grad, hess)`` for ``xgb.train(params, dtrain, obj=f)``."""

    def __call__(self, predt, dtrain):
        def read():
            return dtrain.get_label(), empty_to_none(dtrain.get_weight()), _group_sizes(dtrain)

        return self.compute(dtrain, read, predt)


class XGBoostSklearnObjective(CachedObjective):
    """``f(y_true, y_pred, *, sample_weight=None)`` for ``XGBClassifier/XGBRegressor(objective=f)``."""

    def __call__(self, y_true, y_pred, *, sample_weight=None):
        return self.compute(y_true, lambda: (y_true, empty_to_none(sample_weight), None), y_pred, extra=(sample_weight,))


def xgboost_objective(obj):
    """Wrap an objective (instance or registry name) for ``xgb.train(..., obj=...)``."""
    return XGBoostObjective(obj)


def xgboost_sklearn_objective(obj):
    """Wrap an objective (instance or registry name) for XGBoost's scikit-learn estimators."""
    return XGBoostSklearnObjective(obj)


base_margin_array = constant_score_array  # a constant init score as a DMatrix ``base_margin``


#: The default tree shape and settings of :func:`gbm_objectives.train` on XGBoost (XGBoost's own default tree:
#: depth-wise growth to depth 6, histogram method) with the learning rate of LightGBM's default (0.1, not 0.3).
DEFAULT_PARAMS = {"learning_rate": 0.1, "max_depth": 6, "tree_method": "hist", "seed": 0, "verbosity": 0}

#: XGBoost's parameter aliases, ``{canonical name: (canonical name, *aliases)}``. XGBoost's Python package has no
#: alias table (``learning_rate``/``eta`` are only spelled out in its docs), so this one is written from its C++
#: parameter declarations (``DMLC_DECLARE_ALIAS``): ``include/xgboost/context.h`` (``seed``/``random_state``,
#: ``nthread``/``n_jobs``) and ``src/tree/param.h`` (``learning_rate``/``eta``, ``min_split_loss``/``gamma``,
#: ``reg_lambda``/``lambda``, ``reg_alpha``/``alpha``). The installed library shows every such pair as twin keys of
#: ``Booster.save_config()``; ``tests/adapters/test_hostile_param_aliases.py`` checks each pair there and that the
#: configuration has no twin pair missing here. The C++ field wins over its alias whatever the order
#: (``{"learning_rate": 0.1, "eta": 0.9}`` trains at 0.1), hence the renaming of :func:`engine_params`.
#: Added: the training-loop arguments that are not booster parameters, as ``xgb.train``, the scikit-learn wrapper
#: (``XGBModel``) and the XGBoost command line spell them: ``num_boost_round`` (``n_estimators``, ``num_round``)
#: and ``early_stopping_rounds``; and the metric parameter ``eval_metric``.
PARAMETER_ALIASES = {
    "learning_rate": ("learning_rate", "eta"),
    "min_split_loss": ("min_split_loss", "gamma"),
    "reg_lambda": ("reg_lambda", "lambda"),
    "reg_alpha": ("reg_alpha", "alpha"),
    "seed": ("seed", "random_state"),
    "nthread": ("nthread", "n_jobs"),
    "num_boost_round": ("num_boost_round", "n_estimators", "num_round"),
    "early_stopping_rounds": ("early_stopping_rounds",),
    "eval_metric": ("eval_metric",),
    "objective": ("objective",),
}
_CANONICAL = alias_lookup(PARAMETER_ALIASES)

#: The canonical XGBoost parameter behind each option the front ends set themselves (the keys of
#: :data:`gbm_objectives.adapters.OWNED_PARAMETERS`).
OPTION_PARAMETERS = {"objective": "objective", "learning_rate": "learning_rate", "num_boost_round": "num_boost_round",
                     "seed": "seed", "n_jobs": "nthread", "metric": "eval_metric",
                     "early_stopping_rounds": "early_stopping_rounds"}


#: :func:`gbm_objectives.tune`'s default search space on XGBoost: ``{parameter: (kind, low, high, log)}`` (see the
#: LightGBM adapter's). Depth-wise trees: ``max_depth`` is the shape, ``min_child_weight`` (hessian sum) the
#: smallest leaf; L1/L2 (``reg_alpha``, ``reg_lambda``) on leaf values; column and row sampling per tree.
SEARCH_SPACE = {
    "learning_rate": ("float", 0.01, 0.3, True),
    "max_depth": ("int", 3, 10, False),
    "min_child_weight": ("float", 1e-3, 10.0, True),
    "reg_alpha": ("float", 1e-8, 10.0, True),
    "reg_lambda": ("float", 1e-8, 10.0, True),
    "colsample_bytree": ("float", 0.4, 1.0, False),
    "subsample": ("float", 0.4, 1.0, False),
}
#: Engine parameters every tuning trial sets beside :data:`SEARCH_SPACE` (none on XGBoost).
SEARCH_FIXED = {}


def canonical_name(key):
    """XGBoost's canonical name of ``key`` (:data:`PARAMETER_ALIASES`), None for a name outside that table (XGBoost
    itself tells whether it uses it: :func:`validate_params`)."""
    return _CANONICAL.get(key)


def aliases_of(name):
    """Every spelling XGBoost reads as the parameter ``name`` (any of its spellings), canonical name first."""
    return PARAMETER_ALIASES.get(_CANONICAL.get(name, name), (name,))


def canonical_params(params):
    """``params`` with every alias renamed to XGBoost's canonical name (:data:`PARAMETER_ALIASES`); two spellings
    of one parameter raise :class:`~gbm_objectives.adapters.ParameterError` naming both."""
    return rename_params(params, _CANONICAL, "XGBoost")[0]


def validate_params(params):
    """Check engine parameters before training: ValueError for a value XGBoost rejects or a name it does not use
    (XGBoost's "Parameters: { ... } are not used" warning), tried for one round on a 2-row data set. Constraints
    that name features (a ``monotone_constraints`` dict, ``interaction_constraints`` lists of names) are left to
    :func:`check_feature_params`: the probe has no feature names."""
    params = {k: v for k, v in params.items() if isinstance(v, (str, int, float, bool, list, tuple)) or v is None}
    if not isinstance(params.get("interaction_constraints", ""), str):
        del params["interaction_constraints"]
    # as many probe features as the per-feature parameters index (XGBoost refuses longer constraints than features)
    width = _feature_width(params)
    data = xgb.DMatrix(np.tile(np.array([[0.0], [1.0]]), (1, width)), label=np.array([0.0, 1.0]))
    if str(params.get("objective", "")).startswith("rank:"):
        data.set_group([2])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            booster = xgb.Booster({**params, "verbosity": 1}, [data])
            booster.update(data, 0)
        except xgb.core.XGBoostError as exc:
            text = str(exc).strip().splitlines()[0]
            text = text.split(": ", 1)[-1] if text.startswith("[") else text
            raise ParameterError(f"XGBoost rejects the parameters: {text}") from None
    for warning in caught:
        match = re.search(r"Parameters: \{(.*?)\} are not used", str(warning.message), re.S)
        if match:
            unused = sorted(name.strip().strip('"') for name in match.group(1).split(",") if name.strip())
            raise ParameterError(f"unknown XGBoost parameter(s) {unused} (XGBoost does not use them)")


def _feature_width(params):
    """The number of features the per-feature parameters need: ``monotone_constraints`` (one value per feature:
    ``"(1,0,-1)"`` or a tuple) and ``interaction_constraints`` (feature indices: the largest plus one); at least 1."""
    width = 1
    mono = params.get("monotone_constraints")
    if isinstance(mono, str):
        width = max(width, len(re.findall(r"-?\d+", mono)))
    elif isinstance(mono, (list, tuple)):
        width = max(width, len(mono))
    inter = params.get("interaction_constraints")
    indices = [int(i) for i in re.findall(r"\d+", inter)] if isinstance(inter, str) else [
        i for group in (inter if isinstance(inter, (list, tuple)) else ()) if isinstance(group, (list, tuple))
        for i in group if isinstance(i, int)]
    return max([width] + [i + 1 for i in indices])


def _monotone_count(value):
    """The number of values of ``monotone_constraints`` as XGBoost reads it: its text ``"(1,0,-1)"`` or a tuple."""
    if isinstance(value, str):
        return len([v for v in value.strip().strip("()[]").split(",") if v.strip()])
    return len(value) if isinstance(value, (list, tuple, np.ndarray)) else 1


def check_feature_params(params, n_features, feature_names=None):
    """Check the constraints that name features against the training data, before training: a
    :class:`~gbm_objectives.adapters.ParameterError` naming the parameter, its length, offending index or name, and
    the data's number of features.

    :func:`validate_params` cannot (it knows no data). What XGBoost 3.2 itself does, found by training on 5
    features:

    * ``monotone_constraints`` with 3 values (``(1,0,0)`` or ``"(1,0,0)"``) trains silently, the missing values
      padded with 0 (features 3 and 4 unconstrained); 7 values fail once training starts ("Check failed:
      p.monotone_constraints.size() <= n_features (7 vs. 5)"). A dict names features: XGBoost maps it onto the
      training data's feature names (a pandas DataFrame's columns) and fails at training with "Constrained features
      are not a subset of training data feature names" for a name not there, or for any name on a numpy array.
      (A list or an array failed with "'list' object has no attribute 'keys'", numpy integers with "Invalid
      Parameter format": :func:`engine_params` makes them a tuple of ints.)
    * ``interaction_constraints`` as text, ``"[[0, 1], [7]]"`` or with ``-1``, trains silently as if the index
      were not there. As lists, XGBoost reads feature names, failing at training with the message above for a name
      not in the data (and for indices: :func:`engine_params` makes lists of indices XGBoost's text).

    Each of these is an error here: ``monotone_constraints`` must have exactly ``n_features`` values (an empty one,
    ``()``, is not set) or name columns of the data, every index must be an integer in ``[0, n_features)``, every
    name a column of the data.

    Parameters
    ----------
    params : dict
        XGBoost parameters (as :func:`engine_params` made them).
    n_features : int
        Columns of the training data.
    feature_names : list of str, optional
        Its column names (a DataFrame's columns, as XGBoost names them: ``str`` of each); None when it has none.

    Examples
    --------
    >>> check_feature_params({"monotone_constraints": "(1,0,-1)"}, 3)
    >>> check_feature_params({"monotone_constraints": "(1,0,-1)"}, 5)
    Traceback (most recent call last):
    ...
    gbm_objectives.adapters.ParameterError: params['monotone_constraints'] has 3 values (one per feature) but X has 5 features (columns)
    >>> check_feature_params({"interaction_constraints": [["a", "b"], ["z"]]}, 3, ["a", "b", "c"])
    Traceback (most recent call last):
    ...
    gbm_objectives.adapters.ParameterError: params['interaction_constraints'][1][0] names the feature 'z', which is not a column of X (3 columns: 'a', 'b', 'c')
    """
    n_features = int(n_features)
    names = None if feature_names is None else [str(name) for name in feature_names]
    mono = params.get("monotone_constraints")
    if isinstance(mono, dict):
        for name in mono:
            check_feature_name("monotone_constraints", "", name, names,
                               "give one value per feature instead, '(1,0,-1)'")
    elif mono is not None:
        check_feature_count("monotone_constraints", _monotone_count(mono), n_features)
    key, inter = "interaction_constraints", params.get("interaction_constraints")
    if isinstance(inter, str):
        for g, group in enumerate(bracket_groups(inter)):
            for i, entry in enumerate(group):
                check_feature_index(key, f"[{g}][{i}]", entry, n_features, "XGBoost")
    elif inter is not None:  # lists of feature names (engine_params made lists of indices XGBoost's text)
        if not isinstance(inter, (list, tuple)) or not all(isinstance(g, (list, tuple, np.ndarray)) for g in inter):
            raise ParameterError(f"params[{key!r}] must be a list of lists of feature names or indices ([[0, 1], "
                                 f"[2]]) or XGBoost's text '[[0, 1], [2]]'; got {inter!r:.80}")
        for g, group in enumerate(inter):
            for i, entry in enumerate(group):
                if not isinstance(entry, str):
                    raise ParameterError(f"params[{key!r}][{g}][{i}] is {plain_scalar(entry)!r}: give every group "
                                         "as feature indices ([[0, 1], [2]]) or every group as feature names")
                check_feature_name(key, f"[{g}][{i}]", entry, names,
                                   "give the features by index instead, [[0, 1], [2]]")


def check_groups(objective, group):
    """XGBoost's ranking objectives take queries of any length: nothing to check."""


def learning_rate(params):
    """The boosting learning rate ``params`` set (``learning_rate`` or its alias ``eta``), else XGBoost's default
    0.3."""
    for key in aliases_of("learning_rate"):
        if key in params:
            return float(params[key])
    return 0.3


def engine_params(params=None, *, n_jobs=None):
    """XGBoost parameters: :data:`DEFAULT_PARAMS`, then ``params``, then ``n_jobs`` threads.

    Every key of ``params`` is first renamed to its canonical name (:data:`PARAMETER_ALIASES`: ``eta`` is
    ``learning_rate``, ``random_state`` is ``seed``...), so that an alias overrides the default instead of losing to
    it. ``num_leaves`` as in LightGBM means leaf-wise growth: ``max_leaves``, ``grow_policy="lossguide"``, no depth
    limit unless ``max_depth`` is given. ``monotone_constraints`` as a list or array (LightGBM's spelling) becomes
    the tuple of ints XGBoost reads (``1.0`` as ``1``: the command line reads ``1,0,-1`` as numbers);
    ``interaction_constraints`` as lists of indices (LightGBM's spelling) becomes XGBoost's text
    ``"[[0, 1], [2]]"`` (XGBoost reads lists as feature names).

    Raises
    ------
    ParameterError
        Two spellings of one parameter (``eta`` and ``learning_rate``; ``num_leaves`` and ``max_leaves``), naming
        both; a learning rate (any spelling) that is not a finite number > 0.
    """
    user, spelled = rename_params(params, _CANONICAL, "XGBoost")
    check_learning_rate(user, spelled)
    out = dict(DEFAULT_PARAMS)
    if "num_leaves" in user:
        if "max_leaves" in user:
            raise ParameterError(f"params['num_leaves'] and params[{spelled['max_leaves']!r}] both set XGBoost's "
                                 "max_leaves; give one")
        out.update(max_leaves=user.pop("num_leaves"), grow_policy="lossguide", max_depth=0)
    mono = user.get("monotone_constraints")
    if isinstance(mono, (list, tuple, np.ndarray)):  # LightGBM's list, an array: XGBoost reads a tuple of ints
        user["monotone_constraints"] = tuple(_integral(v) for v in mono)
    groups = user.get("interaction_constraints")
    if (isinstance(groups, (list, tuple)) and groups and all(isinstance(g, (list, tuple, np.ndarray)) for g in groups)
            and all(is_index(i) for g in groups for i in g)):  # indices: XGBoost's lists hold names, its text indices
        user["interaction_constraints"] = json.dumps([[int(i) for i in g] for g in groups])
    out.update(user)
    if n_jobs is not None:
        out["nthread"] = int(n_jobs)
    return out


def _integral(value):
    """A value of ``monotone_constraints`` as XGBoost reads it: a whole number as an int (not ``np.int64(1)`` nor
    ``1.0``), anything else as it is (XGBoost refuses it)."""
    value = plain_scalar(value)
    return int(value) if isinstance(value, float) and value.is_integer() else value


def quantile_renewal(objective, X, valid_sets, init_score=None, evaluate=None, params=None):
    """``(objective to train with, callback)`` renewing quantile leaves (:mod:`.xgboost_renewal`); ``valid_sets``
    maps an evaluation-set name to ``(X, y, sample_weight)`` (an XGBoost callback cannot reach labels itself);
    ``evaluate(set_name, raw_score)`` recomputes the evaluation log on the renewed model (``params``: the engine
    parameters, the same keyword as LightGBM's; every tree XGBoost grows here has constant leaves)."""
    from .xgboost_renewal import xgboost_quantile_leaf_renewal

    valid = {}
    for name, (Xv, yv, wv) in valid_sets.items():
        margin = None if init_score is None else base_margin_array(init_score, Xv.shape[0])
        valid[name] = (Xv, yv, wv, margin)
    renewal = xgboost_quantile_leaf_renewal(objective, X, valid_X=valid, evaluate=evaluate)
    return renewal.objective, renewal


def _dmatrix(X, y=None, weight=None, group=None, init=None):
    return xgb.DMatrix(
        X,
        label=y,
        weight=query_weights(weight, group),
        group=group,
        base_margin=None if init is None else base_margin_array(init, X.shape[0]),
    )


def query_weights(sample_weight, group):
    """XGBoost weighs whole queries: one weight per query from per-row weights that are constant within each.

    Per-row weights for non-ranking data are returned as they are; a per-query vector (one weight per group) too.
    """
    if sample_weight is None or group is None:
        return sample_weight
    w = np.asarray(sample_weight, dtype=np.float64)
    sizes = np.asarray(group, dtype=np.int64)
    if len(w) == len(sizes) and len(w) != sizes.sum():
        return w
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    per_query = w[starts]
    differs = np.repeat(per_query, sizes) != w
    if differs.any():
        q = int(np.flatnonzero(differs)[0])
        raise ValueError(
            "XGBoost weights whole queries: sample_weight must be constant within each query (or give one weight "
            f"per query); row {q} differs from the first row of its query"
        )
    return per_query


def order_by_position(position, group):
    """Row order that sorts every query's rows by displayed position (stable), for ``lambdarank_unbiased``.

    XGBoost takes a row's index inside its query as its position, so the positions of each query must be
    exactly 0, 1, ..., n_q - 1 in some order; anything else (gaps, repeats) is a ValueError, since XGBoost could
    not represent it (the scratch objective takes any non-negative position).
    """
    position = np.asarray(position, dtype=np.int64)
    if group is None:
        raise ValueError("position= needs query groups")
    bounds = np.concatenate(([0], np.cumsum(np.asarray(group, dtype=np.int64))))
    qid = np.repeat(np.arange(len(group)), np.diff(bounds))
    perm = np.lexsort((position, qid))
    expected = np.arange(len(position)) - bounds[qid]
    bad = position[perm] != expected
    if bad.any():
        r = int(perm[np.flatnonzero(bad)[0]])
        q = int(qid[r])
        raise ValueError(
            f"XGBoost's lambdarank_unbiased reads positions as the row order inside a query: the positions of query "
            f"{q} must be 0..{int(group[q]) - 1} without gaps or repeats; row {r} has position {int(position[r])} "
            f"(objective='scratch' takes any non-negative positions)"
        )
    return perm


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
    metrics=None,
    early_stopping=None,
    callbacks=(),
    position=None,
    prepared=None,
):
    """Train an XGBoost booster: the engine side of :func:`gbm_objectives.train`.

    Parameters and return value as :func:`gbm_objectives.adapters.lightgbm.train`: ``objective`` is one of this
    package's objectives or an XGBoost objective name, ``valid_sets`` a sequence of ``(name, X, y,
    sample_weight, group)``, ``metrics(set_name, preds)`` returns ``[(metric_name, value, higher_is_better)]``
    (``preds``: what XGBoost hands a ``custom_metric``, (n,) or (n, k)), ``early_stopping`` is ``(rounds,
    set_name, metric_name, higher_is_better)``. Ranking weights are per query (see :func:`query_weights`).

    ``position`` (displayed position of every training row) is for the built-in ``lambdarank_unbiased``, which
    reads a row's position as its index inside its query: the training rows are reordered by position within
    each query (:func:`order_by_position`). ``prepared`` is the training set a custom objective was prepared on.
    """
    params = dict(params or {})
    obj = None
    if isinstance(objective, str):
        params["objective"] = objective
        if position is not None:
            perm = order_by_position(position, group)
            X = X.iloc[perm] if hasattr(X, "iloc") else X[perm]
            y = np.asarray(y)[perm]
            if sample_weight is not None and len(sample_weight) == len(perm):
                sample_weight = np.asarray(sample_weight)[perm]
    else:
        obj = XGBoostObjective(objective, prepared)
        if getattr(objective, "n_classes", None):
            params["num_class"] = objective.n_classes
    params.setdefault("disable_default_eval_metric", 1)  # only ours: one layout of evals_result on both engines
    dtrain = _dmatrix(X, y, sample_weight, group, init_score)
    evals = [(_dmatrix(Xv, yv, wv, gv, init_score), name) for name, Xv, yv, wv, gv in valid_sets]
    custom_metric = None
    if metrics is not None and evals:
        set_names = {id(dm): name for dm, name in evals}

        def custom_metric(predt, dmatrix):
            return [(name, value) for name, value, _ in metrics(set_names[id(dmatrix)], np.asarray(predt))]

    cbs = list(callbacks)
    if early_stopping:
        rounds, set_name, metric_name, higher = early_stopping
        cbs.append(xgb.callback.EarlyStopping(rounds=int(rounds), metric_name=metric_name, data_name=set_name,
                                              maximize=bool(higher), save_best=False))
    evals_result = {}
    booster = xgb.train(
        params,
        dtrain,
        num_boost_round=num_boost_round,
        evals=evals,
        obj=obj,
        custom_metric=custom_metric,
        evals_result=evals_result,
        verbose_eval=False,
        callbacks=cbs,
    )
    return booster, evals_result


def native_position_bias(booster):
    """The propensities ``{"t_plus", "t_minus"}`` that ``lambdarank_unbiased`` saved with the model, or None."""
    import json

    objective = json.loads(booster.save_config()).get("learner", {}).get("objective", {})
    if "ti+" not in objective:
        return None
    return {"t_plus": np.asarray(objective["ti+"], dtype=np.float64),
            "t_minus": np.asarray(objective["tj-"], dtype=np.float64)}


def best_iteration(booster):
    """The 1-based best round early stopping kept (XGBoost stores it 0-based), or None."""
    best = booster.attr("best_iteration")
    return None if best is None else int(best) + 1


def num_features(booster):
    """The number of features (columns) the booster was trained on."""
    return int(booster.num_features())


def predict_raw(booster, X, init_score=None, num_iteration=None):
    """Raw scores (margin), starting from ``init_score`` when given (as the training DMatrix did).

    ``X`` with another number of columns than the model was trained on is a ValueError naming both widths (XGBoost
    itself predicts from fewer columns, reading the missing ones as missing values).
    """
    check_width(num_features(booster), X)
    dm = _dmatrix(X, init=init_score)
    iteration_range = (0, 0) if num_iteration is None else (0, int(num_iteration))
    return booster.predict(dm, output_margin=True, iteration_range=iteration_range)


def objective_loss_metric(objective, name=None):
    """An XGBoost ``custom_metric`` reporting the objective's own weighted mean loss (lower is better)."""
    label = name or f"{objective.name}_loss"

    def metric(predt, dmatrix):
        value = objective.loss(
            dmatrix.get_label(), predt, sample_weight=empty_to_none(dmatrix.get_weight()), group=_group_sizes(dmatrix)
        )
        return label, value

    return metric


# ---- model files and staged prediction (used by the CLI) -------------------------------------------------------
def save_booster(booster, path, num_iteration=None):
    """Write the booster as XGBoost JSON, keeping the first ``num_iteration`` rounds."""
    if num_iteration is not None and num_iteration < booster.num_boosted_rounds():
        booster = booster[: int(num_iteration)]
    booster.save_model(str(path))


def load_booster(path):
    """Read a booster written by :func:`save_booster`."""
    booster = xgb.Booster()
    booster.load_model(str(path))
    return booster


def model_bytes(booster, num_iteration=None):
    """The bytes :func:`save_booster` writes (XGBoost JSON), keeping the first ``num_iteration`` rounds."""
    if num_iteration is not None and num_iteration < booster.num_boosted_rounds():
        booster = booster[: int(num_iteration)]
    return bytes(booster.save_raw(raw_format="json"))


def booster_from_bytes(data):
    """A booster from the bytes of an XGBoost JSON model."""
    booster = xgb.Booster()
    booster.load_model(bytearray(data))
    return booster


_NODE_ARRAYS = ("left_children", "right_children", "parents", "split_indices", "split_conditions", "default_left",
                "base_weights")


def check_model_bytes(data):
    """Check that ``data`` is a whole XGBoost JSON model before XGBoost reads it; raise ValueError saying what is
    wrong.

    What is checked is what the format itself records: the bytes parse as JSON, the tree booster holds the
    ``num_trees`` its ``gbtree_model_param`` declares, and each tree's node arrays have its ``num_nodes`` entries
    with children inside the tree. A changed digit that keeps all of that can pass: only a checksum finds it.
    """
    try:
        model = json.loads(bytes(data))
    except ValueError as exc:
        raise ValueError(f"it is not JSON ({exc})") from None
    try:
        booster = model["learner"]["gradient_booster"]
        if booster.get("name") == "dart":
            booster = booster["gbtree"]
        if booster.get("name") != "gbtree":
            return
        trees = booster["model"]["trees"]
        declared = int(booster["model"]["gbtree_model_param"]["num_trees"])
        if declared != len(trees):
            raise ValueError(f"it declares {declared} trees but holds {len(trees)}")
        for k, tree in enumerate(trees):
            n = int(tree["tree_param"]["num_nodes"])
            for key in _NODE_ARRAYS:
                if key in tree and len(tree[key]) != n:
                    raise ValueError(f"tree {k}: {key} has {len(tree[key])} entries for {n} nodes")
            for key in ("left_children", "right_children"):
                if any(not isinstance(c, int) or not (c == -1 or 0 < c < n) for c in tree[key]):
                    raise ValueError(f"tree {k}: {key} points outside the tree's {n} nodes")
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"it lacks XGBoost's model structure (at {exc})") from None


def feature_names(booster):
    """The feature names the booster was trained with (``f0, f1, ...`` when it has none)."""
    names = booster.feature_names
    return list(names) if names is not None else [f"f{j}" for j in range(booster.num_features())]


def num_rounds(booster):
    """Number of boosting rounds the booster holds."""
    return int(booster.num_boosted_rounds())


def staged_predict_raw(booster, X, init_score=None, iterations=None):
    """Yield ``(i, raw)``: raw scores after the first ``i`` rounds, for each ``i`` in increasing ``iterations``.

    Each step predicts only the new trees (``iteration_range``) on a zero ``base_margin``, so all stages together
    cost one full prediction; the start (``init_score``, or the model's own ``base_score``) is added once.
    """
    check_width(num_features(booster), X)
    total = num_rounds(booster)
    iterations = range(1, total + 1) if iterations is None else iterations
    n = X.shape[0]
    if init_score is not None:
        start = base_margin_array(init_score, n)
        zero = xgb.DMatrix(X, base_margin=np.zeros_like(start))
    else:  # a native objective starts from base_score: the full margin minus the trees' sum
        full = booster.predict(xgb.DMatrix(X), output_margin=True)
        zero = xgb.DMatrix(X, base_margin=np.zeros(full.shape))
        start = full - booster.predict(zero, output_margin=True, iteration_range=(0, total))
    raw, done = start.astype(np.float64), 0
    for i in iterations:
        i = min(int(i), total)
        if i > done:
            raw = raw + booster.predict(zero, output_margin=True, iteration_range=(done, i))
            done = i
        yield i, raw


#: What ``callbacks`` holds for this engine (:func:`is_callback`), for error messages.
CALLBACK_KIND = "an xgboost.callback.TrainingCallback instance (xgb.train takes no plain function)"


def is_callback(obj):
    """Whether ``obj`` can be one of ``xgb.train``'s callbacks: a ``TrainingCallback`` (a plain function cannot)."""
    return isinstance(obj, xgb.callback.TrainingCallback)


class _RoundCallback(xgb.callback.TrainingCallback):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def after_iteration(self, model, epoch, evals_log):
        self.fn(epoch + 1)
        return False


def progress_callback(fn):
    """A training callback calling ``fn(rounds_done)`` after every boosting round (the CLI's progress bar)."""
    return _RoundCallback(fn)
