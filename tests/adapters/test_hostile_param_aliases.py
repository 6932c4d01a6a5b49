"""The adapters' parameter tables against the engines themselves: one canonical name per parameter.

LightGBM's table is its own (``LGBM_DumpParamAliases`` through ``lightgbm.basic._ConfigAliases``); XGBoost's is
written from its C++ ``DMLC_DECLARE_ALIAS`` lines and checked here both ways against the installed library, whose
``Booster.save_config()`` shows an alias as a twin key that moves with its field.
"""

import json

import lightgbm as lgb
import numpy as np
import pytest
import xgboost as xgb

from gbm_objectives.adapters import OWNED_PARAMETERS, ParameterError, owned_parameter
from gbm_objectives.adapters import lightgbm as L
from gbm_objectives.adapters import xgboost as XG

LGB_TABLE = lgb.basic._ConfigAliases._get_all_param_aliases()
LGB_SPELLINGS = sorted((alias, name) for name, aliases in LGB_TABLE.items() for alias in aliases)
#: XGBoost's booster parameters of PARAMETER_ALIASES with an alias (the rest are training-loop arguments)
XGB_BOOSTER_PAIRS = sorted((alias, name) for name, aliases in XG.PARAMETER_ALIASES.items() for alias in aliases
                           if alias != name and name not in ("num_boost_round",))
XGB_SPELLINGS = sorted((alias, name) for name, aliases in XG.PARAMETER_ALIASES.items() for alias in aliases)


def test_lightgbm_table_is_the_library_table():
    """Read from the installed library, not copied: every parameter and every alias the library lists."""
    assert L.PARAMETER_ALIASES == {k: tuple(dict.fromkeys(v)) for k, v in LGB_TABLE.items()}


@pytest.mark.parametrize("alias, name", LGB_SPELLINGS, ids=[a for a, _ in LGB_SPELLINGS])
def test_every_lightgbm_spelling_is_renamed_to_its_canonical_name(alias, name):
    assert L.canonical_name(alias) == name
    assert L.canonical_params({alias: 7}) == {name: 7}
    assert alias in L.aliases_of(name) and L.aliases_of(alias)[0] == name


@pytest.mark.parametrize("alias, name", XGB_SPELLINGS, ids=[a for a, _ in XGB_SPELLINGS])
def test_every_xgboost_spelling_is_renamed_to_its_canonical_name(alias, name):
    assert XG.canonical_name(alias) == name
    assert XG.canonical_params({alias: 7}) == {name: 7}


def _xgboost_config(params):
    """``{(section path, key): value}`` of the string leaves of a fresh booster's configuration."""
    data = xgb.DMatrix(np.array([[0.0], [1.0]]), label=np.array([0.0, 1.0]))
    booster = xgb.Booster({**params, "verbosity": 0}, [data])
    out = {}

    def walk(node, path):
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, path + (key,))
            elif isinstance(value, str):
                out[(path, key)] = value

    walk(json.loads(booster.save_config()), ())
    return out


def _xgboost_twins():
    """Pairs of configuration keys of one section that move together whichever of the two is set: aliases, as the
    installed XGBoost declares them (numeric parameters of the default configuration)."""
    base = _xgboost_config({})
    moves = {}
    for (path, key), value in base.items():
        try:
            number = float(value)
        except ValueError:
            continue
        new = int(number) + 3 if value.lstrip("-").isdigit() else number + 0.375
        try:
            config = _xgboost_config({key: new})
        except xgb.core.XGBoostError:
            continue
        moves[key] = {k for (p, k), v in config.items() if p == path and v != base.get((p, k))}
    return {frozenset((a, b)) for a, moved in moves.items() for b in moved if b != a and a in moves.get(b, ())}


def test_xgboost_table_matches_the_library_both_ways():
    """Every pair of the table is a twin in the installed library, and the library has no twin missing here."""
    ours = {frozenset(pair) for pair in XGB_BOOSTER_PAIRS}
    assert _xgboost_twins() == ours


@pytest.mark.parametrize("alias, name", XGB_BOOSTER_PAIRS, ids=[a for a, _ in XGB_BOOSTER_PAIRS])
def test_xgboost_keeps_its_field_over_its_alias_which_is_why_we_rename(alias, name):
    """The C++ field wins whatever the order: a default under the canonical name would silently beat the user's
    alias, hence the renaming before the defaults are merged."""
    default = next(v for (p, k), v in _xgboost_config({}).items() if k == name)
    integer = default.lstrip("-").isdigit()
    old, new = (int(default), int(default) + 3) if integer else (float(default), float(default) + 0.375)
    for params in ({alias: new, name: old}, {name: old, alias: new}):
        config = _xgboost_config(params)
        assert next(v for (p, k), v in config.items() if k == name) == default


@pytest.mark.parametrize("adapter", [L, XG], ids=["lightgbm", "xgboost"])
def test_an_alias_overrides_the_default_instead_of_sitting_beside_it(adapter):
    out = adapter.engine_params({"eta": 0.9, "random_state": 5})
    assert out["learning_rate"] == 0.9 and out["seed"] == 5 and "eta" not in out and "random_state" not in out
    assert adapter.learning_rate(out) == 0.9


@pytest.mark.parametrize("adapter, first, second", [
    *[(L, a, b) for name, aliases in sorted(LGB_TABLE.items()) if len(aliases) > 1 for a, b in [aliases[-2:]]],
    *[(XG, a, b) for name, aliases in sorted(XG.PARAMETER_ALIASES.items()) if len(aliases) > 1
      for a, b in [aliases[-2:]]],
    (XG, "num_leaves", "max_leaves"),
])
def test_two_spellings_of_one_parameter_raise_naming_both(adapter, first, second):
    with pytest.raises(ParameterError, match=rf"params\['{first}'\] and params\['{second}'\]"):
        adapter.engine_params({first: 1, second: 2})


@pytest.mark.parametrize("adapter, key", [
    *[(L, a) for a in LGB_TABLE["learning_rate"]], *[(XG, a) for a in XG.PARAMETER_ALIASES["learning_rate"]],
])
@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"), 0, -0.1, True, "fast", None, [0.1]])
def test_a_learning_rate_that_is_not_finite_and_positive_is_a_parameter_error(adapter, key, value):
    with pytest.raises(ParameterError, match=rf"params\['{key}'\].* must be a finite number > 0; got"):
        adapter.engine_params({key: value})


def test_a_parameter_name_must_be_a_string():
    with pytest.raises(TypeError, match="params keys must be LightGBM parameter names"):
        L.engine_params({1: 2})


@pytest.mark.parametrize("option", sorted(L.OPTION_PARAMETERS))
def test_owned_parameters_are_both_engines_alias_tables(option):
    """Every spelling either engine reads as an option the front ends own, and nothing else."""
    expected = set(LGB_TABLE[L.OPTION_PARAMETERS[option]]) | set(XG.aliases_of(XG.OPTION_PARAMETERS[option]))
    assert set(OWNED_PARAMETERS[option]) == expected
    assert all(owned_parameter(name) == option for name in expected)


def test_non_owned_parameters_are_not_owned():
    assert owned_parameter("num_leaves") is None and owned_parameter("max_leaves") is None
    assert owned_parameter("lambda_l2") is None and owned_parameter("reg_lambda") is None


@pytest.mark.parametrize("adapter", [L, XG], ids=["lightgbm", "xgboost"])
def test_callback_kinds(adapter):
    assert not adapter.is_callback(3) and not adapter.is_callback("print")
    assert adapter.is_callback(adapter.progress_callback(lambda n: None))


# ---- parameters naming features: every spelling checked against the data's width ---------------------------------
#: LightGBM's parameters with one value per feature, and those naming features by index: a value that does not fit
#: 5 features, what the refusal says after "params['SPELLING']", and a value that fits
LGB_FEATURE_PARAMS = {
    "monotone_constraints": ([1, 0, 0], r" has 3 values \(one per feature\) but X has 5 features", [1, 0, 0, 0, -1]),
    "feature_contri": ("1,1", r" has 2 values \(one per feature\) but X has 5 features", "1,1,1,1,0.5"),
    "max_bin_by_feature": (np.full(6, 16), r" has 6 values \(one per feature\) but X has 5 features", np.full(5, 16)),
    "cegb_penalty_feature_lazy": ([1.0], r" has 1 value \(one per feature\) but X has 5 features", [1.0] * 5),
    "cegb_penalty_feature_coupled": ([1.0] * 9, r" has 9 values \(one per feature\) but X has 5 features",
                                     (1.0,) * 5),
    "interaction_constraints": ([[0], [5]], r"\[1\]\[0\] is feature index 5 but X has 5 features", [[0], [4]]),
    "categorical_feature": ("0,-2", r"\[1\] is feature index -2 but X has 5 features", "0,4"),
}
LGB_FEATURE_SPELLINGS = [(alias, name) for name in LGB_FEATURE_PARAMS for alias in LGB_TABLE[name]]


@pytest.mark.parametrize("alias, name", LGB_FEATURE_SPELLINGS, ids=[a for a, _ in LGB_FEATURE_SPELLINGS])
def test_every_lightgbm_spelling_of_a_parameter_naming_features_is_checked(alias, name):
    misfit, message, fit = LGB_FEATURE_PARAMS[name]
    with pytest.raises(ParameterError, match=rf"^params\['{alias}'\]{message}"):
        L.check_feature_params({alias: misfit}, 5)
    L.check_feature_params({alias: fit}, 5)


@pytest.mark.parametrize("adapter, n_features, params", [
    (L, 3, {"monotone_constraints": np.array([1, 0, -1]), "feature_contri": "1,1,0.5", "max_bin_by_feature": []}),
    (L, 3, {"interaction_constraints": "[0,1],[2]", "categorical_feature": np.array([0, 2]),
            "forcedsplits_filename": "", "monotone_constraints": ""}),
    (XG, 3, {"monotone_constraints": "(1,0,-1)", "interaction_constraints": "[[0, 1], [2]]"}),
    (XG, 3, {"monotone_constraints": (), "interaction_constraints": [["a"], ["b", "c"]]}),
], ids=["lightgbm-lists", "lightgbm-indices", "xgboost-text", "xgboost-names"])
def test_parameters_that_fit_the_data_pass(adapter, n_features, params):
    """The exact width, indices inside it, names of its columns; an empty per-feature value is no value."""
    adapter.check_feature_params(params, n_features, ["a", "b", "c"])


def test_engine_params_give_each_engine_its_spelling_of_feature_constraints():
    """LightGBM writes only inner lists as groups (a tuple's group it drops silently); XGBoost reads a tuple of ints
    (a list or an array fails at training, numpy 2's np.int64(1) and 1.0 are refused) and reads lists of interaction
    constraints as feature names (indices go as its text)."""
    groups = [(0, np.int64(1)), np.array([2])]
    lgb_groups = L.engine_params({"interaction_constraints": groups})["interaction_constraints"]
    assert lgb_groups == [[0, 1], [2]] and all(type(i) is int for g in lgb_groups for i in g)
    mono = XG.engine_params({"monotone_constraints": np.array([1.0, 0.0, -1.0])})["monotone_constraints"]
    assert mono == (1, 0, -1) and all(type(v) is int for v in mono)
    assert XG.engine_params({"monotone_constraints": [np.int64(1), 0]})["monotone_constraints"] == (1, 0)
    assert XG.engine_params({"interaction_constraints": groups})["interaction_constraints"] == "[[0, 1], [2]]"
    names = [["a", "b"], ["c"]]
    assert XG.engine_params({"interaction_constraints": names})["interaction_constraints"] == names


def test_validate_params_leaves_features_beyond_its_probe_to_the_data_check(tmp_path):
    """A forced split on feature 3 was refused on LightGBM's one-feature probe ("maximum feature index in dataset
    is 0"), XGBoost constraints by name on its unnamed probe ("not a subset of training data feature names"); a
    forced-splits file that does not exist, which LightGBM ignores silently, is refused."""
    path = tmp_path / "split.json"
    path.write_text(json.dumps({"feature": 3, "threshold": 0.5}))
    L.validate_params({"forcedsplits_filename": str(path)})
    XG.validate_params({"interaction_constraints": [["a", "b"]], "monotone_constraints": {"a": 1}})
    with pytest.raises(ParameterError, match=r"params\['forcedsplits_filename'\]: cannot read '.*nothing.json' as JSON"):
        L.validate_params({"forcedsplits_filename": str(tmp_path / "nothing.json")})
