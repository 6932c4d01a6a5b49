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

import contextlib
import json
import os
import sys
import tempfile

import lightgbm as lgb
import numpy as np

from . import ParameterError, lightgbm_quantiles
from ._common import (CachedObjective, alias_lookup, bracket_groups, check_feature_count, check_feature_index,
                      check_learning_rate, check_width, constant_score_array, empty_to_none, is_index,
                      plain_scalar, rename_params)

__all__ = [
    "LightGBMObjective",
    "LightGBMSklearnObjective",
    "lightgbm_objective",
    "lightgbm_sklearn_objective",
    "train",
    "predict_raw",
    "best_iteration",
    "validate_params",
    "check_feature_params",
    "check_groups",
    "init_score_array",
    "PARAMETER_ALIASES",
    "OPTION_PARAMETERS",
    "canonical_name",
    "aliases_of",
    "canonical_params",
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


#: The default tree shape and settings of :func:`gbm_objectives.train` on LightGBM (LightGBM's own defaults for the
#: tree: 31 leaves, leaf-wise growth, min_data_in_leaf 20), made reproducible.
DEFAULT_PARAMS = {
    "learning_rate": 0.1,
    "num_leaves": 31,
    "seed": 0,
    "deterministic": True,
    # tiny data sets keep their features (LightGBM's pre-filter drops every feature when n_samples <
    # min_data_in_leaf, and then refuses a custom objective)
    "feature_pre_filter": False,
    "verbosity": -1,
}

#: LightGBM's own parameter alias table, ``{canonical name: (canonical name, *aliases)}``, read from the installed
#: library (``LGBM_DumpParamAliases`` of its C API, through ``lightgbm.basic._ConfigAliases``), never copied by
#: hand: ``eta`` and ``shrinkage_rate`` are ``learning_rate``, ``max_leaves`` is ``num_leaves``, ``n_estimators``
#: is ``num_iterations``...
PARAMETER_ALIASES = {name: tuple(dict.fromkeys(aliases))
                     for name, aliases in lgb.basic._ConfigAliases._get_all_param_aliases().items()}
_CANONICAL = alias_lookup(PARAMETER_ALIASES)

#: The canonical LightGBM parameter behind each option the front ends set themselves (the keys of
#: :data:`gbm_objectives.adapters.OWNED_PARAMETERS`).
OPTION_PARAMETERS = {"objective": "objective", "learning_rate": "learning_rate", "num_boost_round": "num_iterations",
                     "seed": "seed", "n_jobs": "num_threads", "metric": "metric",
                     "early_stopping_rounds": "early_stopping_round"}


#: :func:`gbm_objectives.tune`'s default search space on LightGBM: ``{parameter: (kind, low, high, log)}`` with
#: ``kind`` "float" or "int" (the tuner makes Optuna distributions of them; the rounds come from early stopping).
#: Leaf-wise trees: ``num_leaves`` is the shape, ``min_data_in_leaf`` the smallest leaf; L1/L2 on leaf values;
#: column (``feature_fraction``) and row (``bagging_fraction``, drawn every round: :data:`SEARCH_FIXED`) sampling.
SEARCH_SPACE = {
    "learning_rate": ("float", 0.01, 0.3, True),
    "num_leaves": ("int", 7, 255, True),
    "min_data_in_leaf": ("int", 5, 100, True),
    "lambda_l1": ("float", 1e-8, 10.0, True),
    "lambda_l2": ("float", 1e-8, 10.0, True),
    "feature_fraction": ("float", 0.4, 1.0, False),
    "bagging_fraction": ("float", 0.4, 1.0, False),
}
#: Engine parameters every tuning trial sets beside :data:`SEARCH_SPACE` (bagging needs a frequency to apply).
SEARCH_FIXED = {"bagging_freq": 1}


def canonical_name(key):
    """LightGBM's canonical name of parameter ``key`` (an alias or the name itself), None for a name it does not
    know."""
    return _CANONICAL.get(key)


def aliases_of(name):
    """Every spelling LightGBM reads as the parameter ``name`` (any of its spellings), canonical name first."""
    return PARAMETER_ALIASES.get(_CANONICAL.get(name, name), (name,))


def canonical_params(params):
    """``params`` with every alias renamed to LightGBM's canonical name (:data:`PARAMETER_ALIASES`); two spellings
    of one parameter raise :class:`~gbm_objectives.adapters.ParameterError` naming both."""
    return rename_params(params, _CANONICAL, "LightGBM")[0]


def _plain(params):
    return {k: v for k, v in params.items()
            if isinstance(v, (str, int, float, bool, list, tuple, np.generic, np.ndarray)) or v is None}


#: LightGBM parameters with one value per feature: LightGBM refuses a length other than the number of features
#: (``max_bin_by_feature`` too, in its own words), but only once training starts (:func:`check_feature_params`).
_PER_FEATURE_PARAMS = ("monotone_constraints", "feature_contri", "max_bin_by_feature", "cegb_penalty_feature_lazy",
                      "cegb_penalty_feature_coupled")

#: LightGBM parameters that name features by 0-based column index: lists of indices (``interaction_constraints``,
#: ``categorical_feature``) or a JSON file of ``{"feature": index, ...}`` nodes (a tree of them for
#: ``forcedsplits_filename``, a list for ``forcedbins_filename``).
_FEATURE_INDEX_PARAMS = ("interaction_constraints", "categorical_feature")
_FEATURE_FILE_PARAMS = ("forcedsplits_filename", "forcedbins_filename")


def _value_count(value):
    """The number of values of a per-feature parameter: LightGBM's comma-separated text, a list, tuple or 1-D array,
    or one number (0 for an empty one: not set)."""
    if isinstance(value, str):
        return len(value.split(",")) if value.strip() else 0
    if isinstance(value, (list, tuple, np.ndarray)):
        return len(value)
    return 0 if value is None else 1


def _probe_width(params):
    """Features of the data set :func:`validate_params` tries ``params`` on: the length of the longest per-feature
    parameter (:data:`_PER_FEATURE_PARAMS`; a string is LightGBM's comma-separated form), 1 without one. Lists of
    different lengths are then refused by LightGBM, as they would be on any data."""
    return max([1] + [_value_count(v) for k, v in params.items() if _CANONICAL.get(k) in _PER_FEATURE_PARAMS])


def _file_indices(key, path):
    """``[(where, index)]``: every ``"feature"`` of the forced-splits or forced-bins JSON file ``path`` (nodes
    nested under ``"left"``/``"right"``, or listed). A file that cannot be read as JSON is a ParameterError:
    LightGBM trains without it, silently."""
    try:
        with open(path, encoding="utf-8") as f:
            content = json.load(f)
    except (OSError, ValueError) as exc:
        raise ParameterError(f"params[{key!r}]: cannot read {str(path)!r} as JSON ({exc}); LightGBM would train "
                             "without it, silently") from None
    found = []

    def walk(node, at):
        if isinstance(node, dict):
            if "feature" in node:
                found.append((f" (in {str(path)!r} at {at}['feature'])", node["feature"]))
            for side in ("left", "right"):
                walk(node.get(side), f"{at}[{side!r}]")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{at}[{i}]")

    walk(content, "")
    return found


def _index_entries(key, value):
    """``[(where, entry)]``: every feature index ``params[key]`` holds (:data:`_FEATURE_INDEX_PARAMS`,
    :data:`_FEATURE_FILE_PARAMS`), ``where`` locating it for an error message; a structure LightGBM would not read
    as indices is a ParameterError."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return []
    name = _CANONICAL.get(key, key)
    if name in _FEATURE_FILE_PARAMS:
        return _file_indices(key, value)
    if name == "categorical_feature":
        if isinstance(value, str):
            if value.strip().startswith("name:"):
                raise ParameterError(f"params[{key!r}]={value!r} names features, which LightGBM reads only from a "
                                     "data file's header line; give 0-based column indices")
            value = value.split(",")
        elif not isinstance(value, (list, tuple, np.ndarray)):
            value = [value]
        return [(f"[{i}]", entry) for i, entry in enumerate(value)]
    groups = bracket_groups(value) if isinstance(value, str) else value  # interaction_constraints
    if not isinstance(groups, (list, tuple)) or not all(isinstance(g, (list, tuple, np.ndarray)) for g in groups):
        raise ParameterError(f"params[{key!r}] must be a list of lists of feature indices ([[0, 1], [2]]) or "
                             f"LightGBM's text '[0,1],[2]'; got {value!r:.80}")
    return [(f"[{g}][{i}]", entry) for g, group in enumerate(groups) for i, entry in enumerate(group)]


def check_feature_params(params, n_features, feature_names=None):
    """Check the parameters that name features against the training data, before training: a
    :class:`~gbm_objectives.adapters.ParameterError` naming the parameter, its length or offending index and the
    data's number of features.

    :func:`validate_params` cannot (it knows no data). What LightGBM 4.7 itself does with a mismatch, found by
    training on 5 features:

    * one value per feature (:data:`_PER_FEATURE_PARAMS`: ``monotone_constraints``, ``feature_contri``,
      ``max_bin_by_feature``, ``cegb_penalty_feature_lazy``, ``cegb_penalty_feature_coupled``, as lists, arrays or
      comma-separated text): 3 or 7 values fail once training starts, with "Check failed:
      (...num_total_features()) == (config->monotone_constraints.size())" or "... should be the same size as
      feature number";
    * ``interaction_constraints`` ``[[0, 1], [7]]`` (or a negative index) trains silently as if the group
      ``[7]`` were not there; inner tuples or arrays (``[(0, 1), (2,)]``) are dropped silently (the adapter's
      :func:`engine_params` makes them lists), names (``[["a", "b"]]``) and ``1.5`` are read as numbers;
    * ``categorical_feature`` ``[7]`` or ``[-1]`` trains silently with every feature numerical; ``"name:c"`` fails
      at training (names are read only from a data file's header);
    * ``forcedsplits_filename`` naming feature 9 fails at training ("Forced splits file includes feature index
      9, but maximum feature index in dataset is 4"), ``forcedbins_filename`` with a "Check failed"; a file
      that does not exist is ignored silently, both.

    Each of these is an error here: the per-feature parameters must have exactly ``n_features`` values (an empty
    one is not set), every index must be an integer in ``[0, n_features)``, the two files must be readable JSON.

    Parameters
    ----------
    params : dict
        LightGBM parameters (any spelling LightGBM knows).
    n_features : int
        Columns of the training data.
    feature_names : list of str, optional
        Its column names; LightGBM's parameters name features by index only, so they are not needed here (the
        keyword is the XGBoost adapter's).

    Examples
    --------
    >>> check_feature_params({"monotone_constraints": [1, 0, -1]}, 3)
    >>> check_feature_params({"monotone_constraints": [1, 0, -1]}, 5)
    Traceback (most recent call last):
    ...
    gbm_objectives.adapters.ParameterError: params['monotone_constraints'] has 3 values (one per feature) but X has 5 features (columns)
    >>> check_feature_params({"interaction_constraints": [[0, 1], [7]]}, 5)
    Traceback (most recent call last):
    ...
    gbm_objectives.adapters.ParameterError: params['interaction_constraints'][1][0] is feature index 7 but X has 5 features (indices 0 to 4)
    """
    n_features = int(n_features)
    for key, value in params.items():
        name = _CANONICAL.get(key, key)
        if name in _PER_FEATURE_PARAMS:
            if isinstance(value, dict):  # XGBoost's constraints by name: LightGBM would fail at training
                raise ParameterError(f"params[{key!r}] is a dict, but LightGBM takes one value per feature, in column "
                                     "order (a list such as [1, 0, -1])")
            check_feature_count(key, _value_count(value), n_features)
        elif name in _FEATURE_INDEX_PARAMS or name in _FEATURE_FILE_PARAMS:
            for where, entry in _index_entries(key, value):
                check_feature_index(key, where, entry, n_features, "LightGBM")


def _cache_key(value):
    """A hashable key of a parameter value that tells apart what LightGBM may read differently: the type's name
    with the value, element by element (``[1, 0]``, ``[1.0, 0.0]`` and ``[True, False]`` compare equal, but are
    three keys). TypeError for a value with no such key (then not cached)."""
    if isinstance(value, (list, tuple)):
        return type(value).__name__, tuple(_cache_key(v) for v in value)
    if isinstance(value, dict):
        return "dict", tuple(sorted((repr(k), _cache_key(v)) for k, v in value.items()))
    if isinstance(value, np.ndarray):
        return "ndarray", value.dtype.str, value.shape, value.tobytes()
    hash(value)
    return f"{type(value).__module__}.{type(value).__qualname__}", value


class _Collect:
    """A LightGBM logger that appends every message to a list."""

    def __init__(self, messages):
        self.messages = messages

    def info(self, msg):
        self.messages.append(str(msg))

    warning = info


@contextlib.contextmanager
def _captured_log(messages):
    """Route LightGBM's log (warnings and the ``[Fatal]`` line it prints before raising) into ``messages``."""
    saved = (lgb.basic._LOGGER, lgb.basic._INFO_METHOD_NAME, lgb.basic._WARNING_METHOD_NAME)
    lgb.register_logger(_Collect(messages))
    # the [Fatal] line is written by the C++ library straight to file descriptor 2: point it at a file meanwhile
    sys.stderr.flush()
    saved_fd = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
            lgb.basic._LOGGER, lgb.basic._INFO_METHOD_NAME, lgb.basic._WARNING_METHOD_NAME = saved


_ACCEPTED = set()  # parameter sets validate_params found good (at most 256 kept)


#: Dataset parameters naming columns (by index, or ``name:`` for a data file's header): left out of
#: :func:`validate_params`'s probe Dataset
_COLUMN_PARAMS = ("categorical_feature", "ignore_column", "label_column", "weight_column", "group_column")


def validate_params(params):
    """Check engine parameters before training: ValueError for a name LightGBM does not know (its aliases
    included) or a value it rejects, tried on a 100-row data set (row sampling such as ``bagging_fraction=0.4``
    keeps rows of it: on 2 rows LightGBM refuses to bag) with LightGBM's log silenced. The data set has as many
    features as the longest per-feature parameter (``monotone_constraints``, ``feature_contri``,
    ``max_bin_by_feature``, ``cegb_penalty_feature_lazy``, ``cegb_penalty_feature_coupled``) has values: the
    training data's number of features is not known here (:func:`check_feature_params` checks them against it);
    a forced-splits or forced-bins file is read (ParameterError if it cannot be: LightGBM would ignore it) and left
    out of the probe when it names a feature beyond it."""
    params = _plain(params)
    unknown = sorted(k for k in params if k not in _CANONICAL)
    if unknown:
        raise ParameterError(f"unknown LightGBM parameter(s) {unknown}")
    try:  # a parameter set LightGBM accepted once is not tried again (a Booster costs ~10 ms a fit)
        key = tuple(sorted((k, _cache_key(v)) for k, v in params.items()))
        hash(key)
    except TypeError:
        key = None
    if key is not None and key in _ACCEPTED:
        return
    width = _probe_width(params)
    for name in [k for k in params if _CANONICAL.get(k) in _FEATURE_FILE_PARAMS]:
        # a file that cannot be read is refused here; one naming features beyond the probe is left to
        # check_feature_params, which knows the data (LightGBM would refuse it on the probe)
        if any(not is_index(e) or not 0 <= e < width for _, e in _index_entries(name, params[name])):
            del params[name]
    messages = []
    x = np.tile(np.arange(100, dtype=np.float64).reshape(-1, 1) % 2, (1, width))
    # the Dataset gets the parameters too: some shape it (a Booster with linear_tree=True on a Dataset binned
    # without it crashes the process); not those naming columns, which check_feature_params checks against X
    shaping = {k: v for k, v in params.items() if _CANONICAL.get(k) not in _COLUMN_PARAMS}
    data = lgb.Dataset(x, label=x[:, 0], group=[100], params={**shaping, "verbosity": -1})
    try:
        with _captured_log(messages):
            lgb.Booster({**params, "verbosity": -1}, data)
    except lgb.basic.LightGBMError as exc:
        text = str(exc).strip().splitlines()[0]
        text = text.split(" at /")[0].split(" at C:")[0].strip(" .")
        raise ParameterError(f"LightGBM rejects the parameters: {text}") from None
    if key is not None:
        if len(_ACCEPTED) >= 256:
            _ACCEPTED.clear()
        _ACCEPTED.add(key)


#: LightGBM's built-in ranking objectives refuse longer queries (``kMaxPosition`` in rank_objective.hpp).
MAX_QUERY_SIZE = 10_000


def check_groups(objective, group):
    """ValueError before training when a built-in ranking objective would refuse a query as too long."""
    if isinstance(objective, str) and objective in ("lambdarank", "rank_xendcg") and group is not None and len(group):
        q = int(np.argmax(group))
        if group[q] > MAX_QUERY_SIZE:
            raise ValueError(
                f"LightGBM's {objective} accepts at most {MAX_QUERY_SIZE:,} documents per query; query {q} has "
                f"{int(group[q]):,} (this package's from-scratch objective has no such limit: objective='lambdarank')"
            )


def learning_rate(params):
    """The boosting learning rate ``params`` set (``learning_rate`` or any of LightGBM's aliases), else LightGBM's
    default 0.1."""
    for key in aliases_of("learning_rate"):
        if key in params:
            return float(params[key])
    return 0.1


def engine_params(params=None, *, n_jobs=None):
    """LightGBM parameters: :data:`DEFAULT_PARAMS`, then ``params``, then ``n_jobs`` threads.

    Every key of ``params`` is first renamed to LightGBM's canonical name (:data:`PARAMETER_ALIASES`), so that an
    alias overrides the default instead of sitting beside it (LightGBM would keep the canonical default:
    ``eta=0.9`` would train at 0.1, ``max_leaves=4`` grow 31-leaf trees). The groups of ``interaction_constraints``
    become lists (LightGBM silently drops a group given as a tuple or an array).

    Raises
    ------
    ParameterError
        Two spellings of one parameter (``eta`` and ``learning_rate``), naming both; a learning rate (any
        spelling) that is not a finite number > 0.
    """
    user, spelled = rename_params(params, _CANONICAL, "LightGBM")
    check_learning_rate(user, spelled)
    groups = user.get("interaction_constraints")
    if isinstance(groups, (list, tuple)):  # LightGBM writes only inner lists as groups: a tuple's would be dropped
        user["interaction_constraints"] = [[plain_scalar(i) for i in g] if isinstance(g, (list, tuple, np.ndarray))
                                           else g for g in groups]
    out = {**DEFAULT_PARAMS, **user}
    if n_jobs is not None:
        out["num_threads"] = int(n_jobs)
    return out


def quantile_renewal(objective, X, valid_sets, init_score=None, evaluate=None, params=None):
    """``(objective to train with, callback)`` renewing quantile leaves (:mod:`.lightgbm_renewal`); ``valid_sets``
    maps an evaluation-set name to ``(X, y, sample_weight)`` (LightGBM's callback reads the rest from the booster);
    ``evaluate(set_name, raw_score)`` recomputes the evaluation log on the renewed model; ``params``: the engine
    parameters (ParameterError for ``linear_tree``, whose leaves this renewal cannot re-fit, and for ``reg_sqrt``
    with ``K`` levels).

    A :class:`~gbm_objectives.MultiQuantileLoss` of ``K > 1`` levels trains as ``K`` built-in ``quantile``
    boosters on one Dataset, merged into one ``K``-output model (:mod:`.lightgbm_quantiles`): LightGBM renews every
    leaf itself, and there is no callback (None)."""
    user = canonical_params(_plain(params or {}))
    if getattr(objective, "n_classes", None):  # MultiQuantileLoss, K > 1
        if _is_true(user.get("reg_sqrt")):  # the built-ins would fit sqrt(y) from starts in units of y
            raise ParameterError("reg_sqrt=True cannot be used with multi_quantile: its levels are quantiles of y "
                                 "(a quantile of sqrt(y) squared is the quantile of y: fit y instead)")
        return lightgbm_quantiles.BuiltinQuantiles(objective), None
    if _is_true(user.get("linear_tree")):
        raise ParameterError("leaf renewal cannot renew linear-tree leaves (linear_tree=True: each leaf is a linear "
                             "model, the renewal would re-fit its constant only); pass leaf_renewal=False, or train "
                             "the built-in 'quantile:native'")
    from .lightgbm_renewal import quantile_leaf_renewal

    renewal = quantile_leaf_renewal(objective, X, valid_X={name: v[0] for name, v in valid_sets.items()},
                                    evaluate=evaluate)
    return renewal.objective, renewal


def _is_true(value):
    """Whether a parameter value reads as true to LightGBM (``True``, ``"true"``, ``"+"``)."""
    return str(value).lower() in ("true", "+")


def _dataset(X, y, weight, group, init, reference=None, position=None, params=None):
    return lgb.Dataset(
        X,
        label=y,
        weight=weight,
        group=group,
        init_score=None if init is None else init_score_array(init, len(y)),
        reference=reference,
        position=position,
        params=params,
    )


class _FirstMetricEarlyStopping:
    """Stop when the first metric on the first validation set has not improved for ``rounds`` rounds.

    (``lgb.early_stopping`` watches every validation set; the other engine and :func:`gbm_objectives.train` watch
    the first one only.) Raises LightGBM's ``EarlyStopException``, so ``booster.best_iteration`` is set (1-based).
    """

    def __init__(self, rounds, set_name, metric_name, higher_is_better):
        # instance attributes: lgb.train gives every callback without an *instance* "order" a negative one
        self.order = 30  # after record_evaluation (20), as LightGBM's own early stopping
        self.before_iteration = False
        self.rounds, self.set_name, self.metric_name = int(rounds), set_name, metric_name
        self.sign = 1.0 if higher_is_better else -1.0
        self.best, self.best_iter, self.best_list = None, 0, []

    def __call__(self, env):
        for entry in env.evaluation_result_list:
            if entry[0] == self.set_name and entry[1] == self.metric_name:
                value = self.sign * float(entry[2])
                if self.best is None or value > self.best:
                    self.best, self.best_iter, self.best_list = value, env.iteration, list(env.evaluation_result_list)
                elif env.iteration - self.best_iter >= self.rounds:
                    raise lgb.callback.EarlyStopException(self.best_iter, self.best_list)
                if env.iteration == env.end_iteration - 1:
                    raise lgb.callback.EarlyStopException(self.best_iter, self.best_list)
                return


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
    """Train a LightGBM booster: the engine side of :func:`gbm_objectives.train` (which most callers want).

    Parameters
    ----------
    objective : Objective or str
        An objective of this package (wrapped with :func:`lightgbm_objective`), or a LightGBM objective name
        (``params`` carries its options).
    params : dict
        LightGBM parameters, used as given.
    init_score : float or ndarray (n_classes,), optional
        The constant starting raw score, also applied to every validation set.
    valid_sets : sequence of (name, X, y, sample_weight, group)
    metrics : callable, optional
        ``metrics(set_name, preds) -> [(metric_name, value, higher_is_better), ...]``, evaluated on every
        validation set after every round; ``preds`` are what LightGBM hands a ``feval``, shaped (n,) or (n, k).
    early_stopping : (rounds, set_name, metric_name, higher_is_better), optional
    callbacks : sequence
        LightGBM callbacks.
    position : ndarray of int, optional
        Displayed position of every training row: the Dataset's ``position`` (LightGBM's built-in ``lambdarank``
        then learns an additive bias per position id; the biases are not readable from the booster).
    prepared : Prepared, optional
        The training set prepared ahead by the caller (a custom objective's learned state lives there).

    Returns
    -------
    booster : lightgbm.Booster
    evals_result : dict
        ``{set name: {metric name: [value per round]}}``.
    """
    params = dict(params or {})
    # K built-in quantile boosters on one Dataset, binned once with the boosters' parameters; each booster sets
    # its own init score and objective
    several_boosters = isinstance(objective, lightgbm_quantiles.BuiltinQuantiles)
    data_init, data_params = (None, dict(params)) if several_boosters else (init_score, None)
    if isinstance(objective, str):
        params["objective"] = objective
    elif not several_boosters:
        params["objective"] = LightGBMObjective(objective, prepared)
        if getattr(objective, "n_classes", None):
            params["num_class"] = objective.n_classes
    # only the built-in reads positions; a custom objective has them in its prepared training set
    train_set = _dataset(X, y, sample_weight, group, data_init,
                         position=position if isinstance(objective, str) else None, params=data_params)
    sets, names = [], []
    for name, Xv, yv, wv, gv in valid_sets:
        sets.append(_dataset(Xv, yv, wv, gv, data_init, reference=train_set, params=data_params))
        names.append(name)
    feval = None
    if metrics is not None and sets:
        set_names = {id(ds): name for ds, name in zip(sets, names)}

        def feval(preds, eval_data):
            preds = np.asarray(preds)
            n = eval_data.num_data()
            if preds.ndim == 1 and preds.size != n:  # multiclass, class-major
                preds = preds.reshape(n, -1, order="F")
            return metrics(set_names[id(eval_data)], preds)

        params["metric"] = "None"  # only ours: one layout of evals_result on both engines
    evals_result = {}
    cbs = [lgb.record_evaluation(evals_result), *callbacks]
    if early_stopping:
        cbs.append(_FirstMetricEarlyStopping(*early_stopping))
    if several_boosters:  # (the evaluation recorder only where there is evaluation: without callbacks the boosters
        # grow one by one)
        booster = lightgbm_quantiles.train(objective.alphas, params, train_set, init_score, sets, names,
                                           metrics=metrics if sets else None, num_boost_round=num_boost_round,
                                           callbacks=cbs if feval is not None else cbs[1:])
        return booster, evals_result
    try:
        booster = lgb.train(
            params, train_set, num_boost_round=num_boost_round, valid_sets=sets, valid_names=names, feval=feval,
            callbacks=cbs,
        )
    except lgb.basic.LightGBMError as exc:
        # LightGBM cannot switch a Booster to a custom objective when no feature is usable (all constant):
        # nothing can be split, so the best model is the constant init score, i.e. a Booster with no trees.
        if isinstance(objective, str) or "num_features()) > (0)" not in str(exc):
            raise
        booster = lgb.Booster({**params, "objective": "none"}, train_set)
    return booster, evals_result


def native_position_bias(booster):
    """None: LightGBM learns its position biases inside the objective and neither saves nor exposes them."""
    return None


def best_iteration(booster):
    """The 1-based best round early stopping kept, or None."""
    best = int(getattr(booster, "best_iteration", 0) or 0)
    return best if best > 0 else None


def num_features(booster):
    """The number of features (columns) the booster was trained on."""
    return int(booster.num_feature())


def predict_raw(booster, X, init_score=None, num_iteration=None):
    """Raw scores (margin) including the constant ``init_score`` that LightGBM does not add back itself.

    ``X`` with another number of columns than the model was trained on is a ValueError naming both widths.
    """
    check_width(num_features(booster), X)
    raw = booster.predict(X, raw_score=True, num_iteration=num_iteration)
    if init_score is not None:
        raw = raw + np.asarray(init_score, dtype=np.float64)
    return raw


def objective_loss_metric(objective, name=None):
    """A LightGBM ``feval`` reporting the objective's own weighted mean loss (lower is better).

    With a custom objective, LightGBM's built-in metrics see raw scores as if they were predictions; this is
    the feval for ``lgb.train`` users (:func:`gbm_objectives.train` uses the ``"loss"`` metric of
    :mod:`gbm_objectives.metrics.by_task`).
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
    """Read a booster written by :func:`save_booster` (a corrupted file raises LightGBMError, silently)."""
    with _captured_log([]):
        return lgb.Booster(model_file=str(path))


def model_bytes(booster, num_iteration=None):
    """The bytes :func:`save_booster` writes (LightGBM's text model format), keeping the first ``num_iteration``
    rounds."""
    return booster.model_to_string(num_iteration=num_iteration).encode("utf-8")


def booster_from_bytes(data):
    """A booster from the bytes of a LightGBM text model (check them first: LightGBM trusts its ``tree_sizes``
    header, and a truncated file can crash the interpreter instead of raising)."""
    with _captured_log([]):
        return lgb.Booster(model_str=bytes(data).decode("utf-8"))


_PANDAS_LINE = b"pandas_categorical:"


def check_model_bytes(data):
    """Check that ``data`` is a whole LightGBM text model before LightGBM reads it; raise ValueError saying what
    is wrong.

    What is checked is what the format itself records: the ``tree`` header with its ``version``, ``num_class``,
    ``num_tree_per_iteration``, ``max_feature_idx`` and ``tree_sizes``; each tree ``Tree=k`` exactly where
    ``tree_sizes`` puts it (LightGBM reads the trees at those offsets without checking them: a model cut short
    there makes it read past the end and crash), ``end of trees`` right after the last one, a whole number of
    rounds, ``end of parameters`` when a parameters section starts, and the closing ``pandas_categorical:`` line
    (the last thing written, so its presence shows the file was not cut). A changed byte inside a tree can pass:
    only a checksum finds that.
    """
    data = bytes(data)
    if not data.startswith(b"tree\n"):
        raise ValueError("it does not start with LightGBM's 'tree' header line")
    end = data.find(b"\n\n")
    if end < 0:
        raise ValueError("its header is cut short (no blank line after it)")
    header = dict(line.split(b"=", 1) for line in data[:end].split(b"\n")[1:] if b"=" in line)
    for key in (b"version", b"num_class", b"num_tree_per_iteration", b"max_feature_idx", b"tree_sizes"):
        if key not in header:
            raise ValueError(f"its header has no {key.decode()}= line")
    try:
        sizes = [int(x) for x in header[b"tree_sizes"].split()]
        per_round = int(header[b"num_tree_per_iteration"])
    except ValueError:
        raise ValueError("its tree_sizes or num_tree_per_iteration line is not integers") from None
    if per_round < 1 or len(sizes) % per_round:
        raise ValueError(f"its {len(sizes)} trees are not whole rounds of {per_round} trees")
    pos = end + 2
    for k, size in enumerate(sizes):
        if size <= 0 or not data.startswith(b"Tree=%d\n" % k, pos):
            raise ValueError(f"tree {k} of the {len(sizes)} in tree_sizes is not at byte {pos} (the file is cut "
                             f"short or altered)")
        pos += size
    if not data.startswith(b"end of trees\n", pos):
        raise ValueError(f"'end of trees' does not follow the {len(sizes)} trees of tree_sizes")
    rest = data[pos:]
    if b"\nparameters:\n" in rest and b"\nend of parameters\n" not in rest:
        raise ValueError("its parameters section has no 'end of parameters' (the file is cut short)")
    last = rest.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    if not data.endswith(b"\n") or not last.startswith(_PANDAS_LINE):
        raise ValueError("it does not end with its pandas_categorical line (the file is cut short)")
    try:
        json.loads(last[len(_PANDAS_LINE):])
    except ValueError:
        raise ValueError("its pandas_categorical line is not JSON (the file is cut short or altered)") from None


def feature_names(booster):
    """The feature names the booster was trained with."""
    return list(booster.feature_name())


def num_rounds(booster):
    """Number of boosting rounds the booster holds."""
    return int(booster.current_iteration())


def staged_predict_raw(booster, X, init_score=None, iterations=None):
    """Yield ``(i, raw)``: raw scores after the first ``i`` rounds, for each ``i`` in increasing ``iterations``.

    Each step adds only the new trees (``start_iteration``), so all stages together cost one full prediction.
    """
    check_width(num_features(booster), X)
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


#: What ``callbacks`` holds for this engine (:func:`is_callback`), for error messages.
CALLBACK_KIND = "a callable f(env), as lgb.train calls its callbacks"


def is_callback(obj):
    """Whether ``obj`` can be one of ``lgb.train``'s callbacks: a callable."""
    return callable(obj)


def progress_callback(fn):
    """A training callback calling ``fn(rounds_done)`` after every boosting round (the CLI's progress bar)."""

    def callback(env):
        fn(env.iteration - env.begin_iteration + 1)

    callback.order = 5
    return callback
