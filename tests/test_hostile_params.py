"""Hostile engine parameters and feature widths in the one training loop (``go.train`` / ``training.plan``).

Every spelling an engine reads as one parameter is tested, the spellings taken from the engine's own alias table
(LightGBM: ``lightgbm.basic._ConfigAliases``; XGBoost: the adapter's table, which
``tests/adapters/test_hostile_param_aliases.py`` checks against the installed library). A parameter the loop
accepts is checked in the trained model's own record of its configuration (LightGBM's model text, XGBoost's
``save_config``), and the learning rate in the model's predictions too; a parameter that duplicates an argument of
``go.train`` is refused naming both.
"""

import json

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

import gbm_objectives as go
from gbm_objectives.adapters import ParameterError
from gbm_objectives.adapters import xgboost as XG
from gbm_objectives.datasets import make_imbalanced
from gbm_objectives.training import plan

BACKENDS = ("lightgbm", "xgboost")


def spellings(backend, lightgbm_name, xgboost_name):
    """Every spelling of one parameter on ``backend``: LightGBM's table, or XGBoost's (adapter) table."""
    if backend == "lightgbm":
        return lgb.basic._ConfigAliases.get_sorted(lightgbm_name)
    return list(XG.aliases_of(xgboost_name))


def cases(lightgbm_name, xgboost_name, extra_xgboost=()):
    return [(b, s) for b in BACKENDS for s in spellings(b, lightgbm_name, xgboost_name)] + \
        [("xgboost", s) for s in extra_xgboost]


@pytest.fixture(scope="module")
def data():
    X, y = make_imbalanced(n_samples=400, positive_rate=0.3, n_features=5, seed=0)
    return X.astype(np.float64), y


def fit(data, backend, params=None, rounds=1, **kwargs):
    X, y = data
    return go.train("logloss", X, y, backend=backend, params=params, num_boost_round=rounds, **kwargs)


def engine_setting(result, name):
    """The value the trained booster records for parameter ``name`` (LightGBM's canonical name in its model text,
    XGBoost's in its configuration), as text."""
    if result.backend == "lightgbm":
        text = result.booster.model_to_string()
        for line in text[text.index("\nparameters:"):].splitlines():
            if line.startswith(f"[{name}: "):
                return line[len(name) + 3:-1]
        raise KeyError(name)
    found = []

    def walk(node):
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value)
            elif key == name:
                found.append(value)

    walk(json.loads(result.booster.save_config()))
    return found[0]


def leaves_per_tree(result):
    if result.backend == "lightgbm":
        return [tree["num_leaves"] for tree in result.booster.dump_model()["tree_info"]]
    return [dump.count("leaf=") for dump in result.booster.get_dump()]


# ---- aliases the loop accepts: renamed, so they override the defaults (checked in the trained model) -----------
def leaf_values(result):
    """The leaf values of every tree, in the engine's node order."""
    if result.backend == "lightgbm":
        out = []

        def walk(node):
            if "leaf_value" in node:
                out.append(node["leaf_value"])
            else:
                walk(node["left_child"])
                walk(node["right_child"])

        for tree in result.booster.dump_model()["tree_info"]:
            walk(tree["tree_structure"])
        return np.array(out)
    trees = json.loads(result.booster.save_raw("json"))["learner"]["gradient_booster"]["model"]["trees"]
    return np.array([v for t in trees for v, left in zip(t["split_conditions"], t["left_children"]) if left == -1])


@pytest.mark.parametrize("backend, key", cases("learning_rate", "learning_rate"))
def test_every_learning_rate_spelling_is_the_rate_trained_with(data, backend, key):
    """One round from the same start grows the same tree (split gains do not depend on the rate) with leaf values
    ``-rate * sum(g) / (sum(h) + lambda)``: they scale by 0.9 / 0.1 = 9 against the default rate 0.1. LightGBM
    keeps leaves and rate in double; XGBoost stores both in float32, so its ratio is 9 within
    (1 + 2**-24)**4 - 1 < 1e-6."""
    fast, default = fit(data, backend, {key: 0.9}), fit(data, backend)
    assert float(engine_setting(fast, "learning_rate")) == pytest.approx(0.9, rel=2**-23)  # XGBoost: float32
    assert fast.params["learning_rate"] == 0.9 and (key == "learning_rate" or key not in fast.params)
    leaves_fast, leaves_default = leaf_values(fast), leaf_values(default)
    assert len(leaves_default) > 1 and leaves_fast.shape == leaves_default.shape
    np.testing.assert_allclose(leaves_fast, 9 * leaves_default, rtol=1e-6)


@pytest.mark.parametrize("backend, key", cases("num_leaves", "max_leaves", extra_xgboost=("num_leaves",)))
def test_every_leaf_count_spelling_shapes_the_trees(data, backend, key):
    """4 leaves per tree, where the defaults (LightGBM 31 leaves, XGBoost depth 6) grow more on these 400 rows."""
    limited, default = fit(data, backend, {key: 4}, rounds=3), fit(data, backend, rounds=3)
    assert max(leaves_per_tree(default)) > 4
    assert max(leaves_per_tree(limited)) == 4
    assert engine_setting(limited, "num_leaves" if backend == "lightgbm" else "max_leaves") == "4"


@pytest.mark.parametrize("backend, key", cases("seed", "seed"))
def test_every_seed_spelling_is_the_seed_trained_with(data, backend, key):
    assert engine_setting(fit(data, backend, {key: 7}), "seed") == "7"


@pytest.mark.parametrize("backend, key", cases("num_threads", "nthread"))
def test_every_thread_spelling_is_the_thread_count_trained_with(data, backend, key):
    """Without ``n_jobs=``, ``params`` sets the engine threads (the engines' default, 0, means all cores)."""
    result = fit(data, backend, {key: 1})
    assert engine_setting(result, "num_threads" if backend == "lightgbm" else "nthread") == "1"


@pytest.mark.parametrize("backend, key", cases("num_threads", "nthread"))
def test_threads_in_params_and_n_jobs_raise_naming_both(data, backend, key):
    with pytest.raises(ParameterError, match=rf"params\['{key}'\]=1 would set the engine threads, which is the "
                                             r"argument n_jobs="):
        fit(data, backend, {key: 1}, n_jobs=2)


# ---- parameters that duplicate an argument of go.train: refused, naming both ------------------------------------
#: go.train argument, its parameter in LightGBM's table and in XGBoost's, a value, what the refusal says
OWNED_ARGUMENTS = [
    ("num_boost_round", "num_iterations", "num_boost_round", 50,
     r"would set the number of boosting rounds, which is the argument num_boost_round=; pass num_boost_round=50 "
     r"instead"),
    ("early_stopping_rounds", "early_stopping_round", "early_stopping_rounds", 1,
     r"would run the engine's own early stopping, which is the argument early_stopping_rounds=; pass "
     r"early_stopping_rounds=1 instead"),
    ("metric", "metric", "eval_metric", "auc",
     r"would set the engine's evaluation metric, which is the argument metric=; pass metric='auc'"),
]


def both_tables(lightgbm_name, xgboost_name):
    """Every spelling of one parameter in either engine's table (a LightGBM spelling on XGBoost is refused too)."""
    return sorted(set(spellings("lightgbm", lightgbm_name, None)) | set(spellings("xgboost", None, xgboost_name)))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("value, message, key", [
    (value, message, key) for _, lgb_name, xgb_name, value, message in OWNED_ARGUMENTS
    for key in both_tables(lgb_name, xgb_name)
], ids=lambda v: v if isinstance(v, str) and " " not in v else None)
def test_a_parameter_duplicating_an_argument_raises_naming_both(data, backend, value, message, key):
    """Every spelling of either engine (LightGBM's num_iterations table holds n_estimators, num_round,
    num_boost_round...; XGBoost's eval_metric): the engine would otherwise follow it silently (LightGBM trains
    num_iterations rounds, runs its own early stopping leaving best_iteration None) or log it beside ours."""
    with pytest.raises(ParameterError, match=rf"params\['{key}'\]={value!r} {message}"):
        fit(data, backend, {key: value}, rounds=3)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("key", both_tables("objective", "objective"))
def test_every_objective_spelling_clashes_with_the_objective_argument(data, backend, key):
    spelled = "" if key == "objective" else rf" \(as params\['{key}'\]\)"
    with pytest.raises(ParameterError, match=rf"params sets objective='binary'{spelled}, but the objective is "
                                             r"'logloss'; pass the engine's built-in as objective='NAME:native'"):
        fit(data, backend, {key: "binary"})


@pytest.mark.parametrize("backend", BACKENDS)
def test_objective_in_params_beside_a_native_objective_raises(data, backend):
    X, y = data
    with pytest.raises(ParameterError, match=r"params sets objective='binary', but the objective is "
                                             r"'logloss:native' .*give the objective once, as the argument objective="):
        go.train("logloss:native", X, y, backend=backend, params={"objective": "binary"}, num_boost_round=1)


@pytest.mark.parametrize("backend, key", [("lightgbm", "metric"), ("xgboost", "eval_metric")])
def test_a_metric_parameter_that_is_not_ours_points_to_our_names(data, backend, key):
    with pytest.raises(ParameterError, match=r"the argument metric=; pass metric= with this package's "
                                             r"engine-neutral names"):
        fit(data, backend, {key: "binary_error"})


@pytest.mark.parametrize("backend, key", [("lightgbm", "alpha"), ("xgboost", "huber_slope")])
def test_a_parameter_a_native_objective_sets_itself_raises(data, backend, key):
    """``huber:native`` sets the engine's delta from HuberLoss(delta=...): a second value in params would be lost."""
    X, y = data
    with pytest.raises(ParameterError, match=rf"params\['{key}'\] is what huber:native sets from huber's own "
                                             r"options"):
        go.train("huber:native", X, y, backend=backend, params={key: 3.0}, num_boost_round=1)


@pytest.mark.parametrize("backend, first, second", [
    ("lightgbm", "eta", "shrinkage_rate"), ("lightgbm", "max_leaves", "num_leaf"), ("lightgbm", "seed", "random_state"),
    ("lightgbm", "n_jobs", "nthread"), ("lightgbm", "lambda", "reg_lambda"),
    ("xgboost", "learning_rate", "eta"), ("xgboost", "random_state", "seed"), ("xgboost", "nthread", "n_jobs"),
    ("xgboost", "lambda", "reg_lambda"), ("xgboost", "num_leaves", "max_leaves"),
])
def test_two_spellings_of_one_parameter_raise_naming_both(data, backend, first, second):
    with pytest.raises(ParameterError, match=rf"params\['{first}'\] and params\['{second}'\]"):
        fit(data, backend, {first: 1, second: 2})


@pytest.mark.parametrize("backend, key", cases("learning_rate", "learning_rate"))
@pytest.mark.parametrize("value", [float("inf"), float("nan")])
def test_a_non_finite_learning_rate_is_a_parameter_error_naming_its_spelling(data, backend, key, value):
    """Not "raw_score contains inf" after a round: refused before training, under the name the caller used."""
    with pytest.raises(ParameterError, match=rf"params\['{key}'\].* must be a finite number > 0; got {value}"):
        fit(data, backend, {key: value})


# ---- the Dask executor plans the same way -------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_plan_for_dask_renames_and_refuses_the_same(backend):
    pytest.importorskip("distributed")
    p = plan("logloss", backend=backend, params={"eta": 0.9, "random_state": 3}, dask=True)
    assert p.engine_params["learning_rate"] == 0.9 and p.engine_params["seed"] == 3
    assert "eta" not in p.engine_params and "random_state" not in p.engine_params
    with pytest.raises(ParameterError, match=r"params\['n_estimators'\]=5 .* num_boost_round="):
        plan("logloss", backend=backend, params={"n_estimators": 5}, dask=True)
    with pytest.raises(ParameterError, match=r"params\['eta'\] \(the learning rate\) must be a finite number"):
        plan("logloss", backend=backend, params={"eta": float("inf")}, dask=True)


# ---- feature widths ----------------------------------------------------------------------------------------------
def _frame(X, names):
    return pd.DataFrame(X, columns=names)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("frame", [False, True], ids=["numpy", "DataFrame"])
@pytest.mark.parametrize("width", [3, 7])
def test_an_eval_set_of_another_width_is_refused_before_training(data, backend, frame, width):
    X, y = data
    wide = np.hstack([X, X])[:, :width]
    names = [f"c{j}" for j in range(10)]
    Xt, Xv = (_frame(X, names[:5]), _frame(wide, names[:width])) if frame else (X, wide)
    with pytest.raises(ValueError, match=rf"eval_set\[1\] X has {width} features \(columns\) but the training X "
                                         r"has 5"):
        go.train("logloss", Xt, y, backend=backend, num_boost_round=2, eval_set=[(Xt, y), (Xv, y)], metric="auc")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("frame", [False, True], ids=["numpy", "DataFrame"])
def test_predicting_another_width_is_refused_by_the_model_and_its_saved_copy(data, backend, frame, tmp_path):
    X, y = data
    names = [f"c{j}" for j in range(10)]
    Xt = _frame(X, names[:5]) if frame else X
    result = go.train("logloss", Xt, y, backend=backend, num_boost_round=2)
    go.save_model(tmp_path / "m", result)
    loaded = go.load_model(tmp_path / "m")
    for model in (result, loaded):
        np.testing.assert_array_equal(model.predict_raw(Xt), result.predict_raw(Xt))  # the right width still works
        for width in (3, 7):
            wide = np.hstack([X, X])[:, :width]
            Xp = _frame(wide, names[:width]) if frame else wide
            for method in (model.predict_raw, model.predict):
                with pytest.raises(ValueError, match=rf"X has {width} features \(columns\) but the model was "
                                                     r"trained on 5"):
                    method(Xp)
            with pytest.raises(ValueError, match=rf"X has {width} features"):
                next(go.adapters.get_backend(backend).staged_predict_raw(model.booster, Xp, model.init_score))


# ---- go.train's errors name the argument -------------------------------------------------------------------------
def _ranking(n_queries=3, size=20, seed=0):
    rng = np.random.default_rng(seed)
    n = n_queries * size
    return rng.normal(size=(n, 3)), rng.integers(0, 3, n).astype(np.float64), [size] * n_queries


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kwargs, match", [
    ({"eval_group": [None, [20, 20]]}, r"eval_set\[1\]: eval_group\[1\]: group sizes sum to 40 but there are 60 rows"),
    ({"eval_group": [None, [30, -10, 40]]}, r"eval_set\[1\]: eval_group\[1\]: group sizes must be positive"),
    ({"eval_group": [None, None], "eval_qid": [None, np.zeros(10)]},
     r"eval_set\[1\]: eval_qid\[1\]: qid has 10 rows but there are 60 rows"),
    ({"eval_group": [None, None]}, r"eval_set\[1\]: eval_group\[1\] or eval_qid\[1\]: a ranking objective"),
], ids=["group-sum", "group-negative", "qid-length", "no-queries"])
def test_eval_query_errors_name_the_set(backend, kwargs, match):
    X, y, group = _ranking()
    kwargs = dict(kwargs)
    kwargs["eval_group"] = [group if g is None and i == 0 else g for i, g in enumerate(kwargs["eval_group"])]
    with pytest.raises(ValueError, match=match):
        go.train("lambdarank", X, y, group=group, backend=backend, num_boost_round=1, eval_set=[(X, y), (X, y)],
                 **kwargs)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_bare_pair_as_eval_set_says_so(data, backend):
    X, y = data
    with pytest.raises(TypeError, match=r"eval_set must be a list of \(X, y\) pairs; got one \(X, y\) pair itself"):
        fit(data, backend, eval_set=(X, y))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("bad", [3, "print", None], ids=["int", "str", "None"])
def test_a_callback_the_engine_cannot_call_raises_naming_its_index(data, backend, bad):
    good = go.adapters.get_backend(backend).progress_callback(lambda n: None)
    kind = "a callable f\\(env\\)" if backend == "lightgbm" else "an xgboost.callback.TrainingCallback instance"
    with pytest.raises(TypeError, match=rf"callbacks\[1\] must be {kind}"):
        fit(data, backend, callbacks=[good, bad])


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_plain_function_is_not_an_xgboost_callback_and_one_callback_is_not_a_list(data, backend):
    if backend == "xgboost":
        with pytest.raises(TypeError, match=r"callbacks\[0\] must be an xgboost.callback.TrainingCallback"):
            fit(data, backend, callbacks=[lambda env: None])
    with pytest.raises(TypeError, match=r"callbacks must be a list of engine callbacks"):
        fit(data, backend, callbacks=go.adapters.get_backend(backend).progress_callback(lambda n: None))


@pytest.mark.parametrize("backend, key", [("lightgbm", "num_threads"), ("xgboost", "nthread")])
def test_the_same_thread_count_in_params_and_n_jobs_is_accepted(data, backend, key):
    """One count given twice is not ambiguous (existing callers pass both)."""
    fit(data, backend, {key: 1}, n_jobs=1)


# ---- engine parameters naming features: checked against X before training ----------------------------------------
class File:
    """A parameter value that is a JSON file with ``content`` (``None``: a path that does not exist)."""

    def __init__(self, content):
        self.content = content

    def path(self, tmp_path):
        path = tmp_path / "features.json"
        if self.content is not None:
            path.write_text(json.dumps(self.content))
        return str(path)


INDEX = r" is feature index {} but X has 5 features \(indices 0 to 4\)"
COUNT = r" has {} values \(one per feature\) but X has 5 features \(columns\)"
NO_NAMES = r" names the feature '{}' but X reaches the engine without feature names"
NOT_A_COLUMN = r" names the feature '{}', which is not a column of X \(5 columns: 'c0', 'c1', 'c2', 'c3', 'c4'\)"

#: (backend, key, value, X a DataFrame of columns c0..c4, what the refusal says after "params['KEY']"). What the
#: engine does without the check (found on these 5 features; see check_feature_params of each adapter): LightGBM
#: fails once training starts for the per-feature lists and forced files, ignores out-of-range indices and a
#: missing file silently; XGBoost pads a short monotone_constraints with 0 and ignores out-of-range indices
#: silently, fails at training for a long one and for names it lacks.
MISFITS = [
    ("lightgbm", "monotone_constraints", [1, 0, 0], False, COUNT.format(3)),
    ("lightgbm", "monotone_constraints", "1,0,0,0,0,0,0", False, COUNT.format(7)),
    ("lightgbm", "monotone_constraints", np.array([1, 0, 0, 0]), True, COUNT.format(4)),
    ("lightgbm", "feature_contri", [1.0] * 3, False, COUNT.format(3)),
    ("lightgbm", "max_bin_by_feature", [16] * 7, False, COUNT.format(7)),
    ("lightgbm", "cegb_penalty_feature_lazy", [1.0] * 4, False, COUNT.format(4)),
    ("lightgbm", "cegb_penalty_feature_coupled", [1.0] * 6, False, COUNT.format(6)),
    ("lightgbm", "monotone_constraints", {"c0": 1}, True,
     r" is a dict, but LightGBM takes one value per feature, in column order"),
    ("lightgbm", "interaction_constraints", [[0, 1], [7]], False, r"\[1\]\[0\]" + INDEX.format(7)),
    ("lightgbm", "interaction_constraints", "[0,1],[-1]", False, r"\[1\]\[0\]" + INDEX.format(-1)),
    ("lightgbm", "interaction_constraints", [(0, 1), (2, 5)], False, r"\[1\]\[1\]" + INDEX.format(5)),
    ("lightgbm", "interaction_constraints", [[0, 1.5]], False,
     r"\[0\]\[1\] is 1.5, not a feature index \(LightGBM takes 0-based column indices here\)"),
    ("lightgbm", "interaction_constraints", [["c0", "c1"]], True, r"\[0\]\[0\] is 'c0', not a feature index"),
    ("lightgbm", "interaction_constraints", [0, 1], False, r" must be a list of lists of feature indices"),
    ("lightgbm", "categorical_feature", [2, 7], False, r"\[1\]" + INDEX.format(7)),
    ("lightgbm", "categorical_feature", "name:c2", True,
     r"='name:c2' names features, which LightGBM reads only from a data file's header line"),
    ("lightgbm", "forcedsplits_filename", File({"feature": 2, "threshold": 0.0, "left": {"feature": 8, "threshold": 0}}),
     False, r" \(in '.*features.json' at \['left'\]\['feature'\]\)" + INDEX.format(8)),
    ("lightgbm", "forcedbins_filename", File([{"feature": 9, "bin_upper_bound": [0.1]}]), False,
     r" \(in '.*features.json' at \[0\]\['feature'\]\)" + INDEX.format(9)),
    ("lightgbm", "forcedsplits_filename", File(None), False,
     r": cannot read '.*features.json' as JSON .*LightGBM would train without it, silently"),
    ("xgboost", "monotone_constraints", (1, 0, 0), False, COUNT.format(3)),
    ("xgboost", "monotone_constraints", "(1,0,0,0,0,0,0)", False, COUNT.format(7)),
    ("xgboost", "monotone_constraints", [1, 0, 0], True, COUNT.format(3)),
    ("xgboost", "monotone_constraints", np.array([1, 0, 0, 0]), False, COUNT.format(4)),
    ("xgboost", "monotone_constraints", {"c0": 1}, False, NO_NAMES.format("c0")),
    ("xgboost", "monotone_constraints", {"c0": 1, "zz": -1}, True, NOT_A_COLUMN.format("zz")),
    ("xgboost", "interaction_constraints", "[[0, 1], [7]]", False, r"\[1\]\[0\]" + INDEX.format(7)),
    ("xgboost", "interaction_constraints", "[[0, -1]]", True, r"\[0\]\[1\]" + INDEX.format(-1)),
    ("xgboost", "interaction_constraints", [[0, 1], [5]], False, r"\[1\]\[0\]" + INDEX.format(5)),
    ("xgboost", "interaction_constraints", [["c0", "c1"], ["zz"]], True, r"\[1\]\[0\]" + NOT_A_COLUMN.format("zz")),
    ("xgboost", "interaction_constraints", [["c0"]], False, r"\[0\]\[0\]" + NO_NAMES.format("c0")),
    ("xgboost", "interaction_constraints", [[0, "c1"]], True, r"\[0\]\[0\] is 0: give every group as feature indices"),
]


def _columns(X, frame):
    return pd.DataFrame(X, columns=[f"c{j}" for j in range(X.shape[1])]) if frame else X


@pytest.mark.parametrize("backend, key, value, frame, message", MISFITS,
                         ids=[f"{b}-{k}-{i}" for i, (b, k, *_) in enumerate(MISFITS)])
def test_a_parameter_naming_features_that_x_lacks_is_refused_before_training(data, backend, key, value, frame,
                                                                             message, monkeypatch, tmp_path):
    """Refused by go.train before the engine trains (the engine's train is replaced by a failure), naming the
    parameter, its length or offending index, and X's number of features."""
    X, y = data
    if isinstance(value, File):
        value = value.path(tmp_path)
    engine = go.adapters.get_backend(backend)

    def trained(*args, **kwargs):
        raise AssertionError("the engine was asked to train")

    monkeypatch.setattr(engine, "train", trained)
    with pytest.raises(ParameterError, match=rf"^params\['{key}'\]{message}"):
        go.train("logloss", _columns(X, frame), y, backend=backend, params={key: value}, num_boost_round=1)


@pytest.mark.parametrize("backend, key", [("lightgbm", "mc"), ("lightgbm", "monotone_constraint"),
                                          ("lightgbm", "feature_contrib"), ("lightgbm", "fs")])
def test_an_alias_of_a_parameter_naming_features_is_checked_too(data, backend, key, tmp_path):
    """Under the canonical name the engine parameters are renamed to."""
    X, y = data
    value = File({"feature": 6, "threshold": 0.0}).path(tmp_path) if key == "fs" else [1, 0]
    canonical = go.adapters.get_backend(backend).canonical_name(key)
    with pytest.raises(ParameterError, match=rf"^params\['{canonical}'\]"):
        fit(data, backend, {key: value})


#: (backend, key, the value in its spellings, what the trained model records for it): the exact width passes, as a
#: list, tuple, numpy array or the engine's text, on numpy and DataFrame X; the value reaches the engine.
FITS = [
    ("lightgbm", "monotone_constraints", [[1, 0, 0, 0, -1], (1, 0, 0, 0, -1), np.array([1, 0, 0, 0, -1]),
                                          "1,0,0,0,-1"], "1,0,0,0,-1"),
    ("lightgbm", "feature_contri", [[1.0, 1.0, 0.5, 1.0, 1.0], np.array([1.0, 1.0, 0.5, 1.0, 1.0])],
     "1,1,0.5,1,1"),
    ("lightgbm", "interaction_constraints", [[[0, 1], [2]], [(0, 1), (2,)], [np.array([0, 1]), np.array([2])],
                                             "[0,1],[2]"], "[0,1],[2]"),
    ("lightgbm", "categorical_feature", [[2], np.array([2]), "2", 2], "2"),
    ("xgboost", "monotone_constraints", [(1, 0, 0, 0, -1), [1, 0, 0, 0, -1], np.array([1, 0, 0, 0, -1]),
                                         [1.0, 0.0, 0.0, 0.0, -1.0], "(1,0,0,0,-1)"], "(1,0,0,0,-1)"),
    ("xgboost", "interaction_constraints", [[[0, 1], [2]], [(0, 1), (2,)], [np.array([0, 1]), np.array([2])],
                                            "[[0, 1], [2]]"], "[[0, 1], [2]]"),
]


@pytest.mark.filterwarnings("ignore:categorical_feature keyword has been found")  # LightGBM uses it nonetheless
@pytest.mark.parametrize("backend, key, values, recorded", FITS, ids=[f"{b}-{k}" for b, k, *_ in FITS])
def test_a_parameter_naming_features_that_fits_x_trains_with_it(data, backend, key, values, recorded):
    """Every spelling on a numpy X, the first on a DataFrame too."""
    X, y = data
    for value, frame in [(v, False) for v in values] + [(values[0], True)]:
        result = go.train("logloss", _columns(X, frame), y, backend=backend, params={key: value}, num_boost_round=1)
        assert engine_setting(result, key) == recorded, (value, frame)


@pytest.mark.parametrize("backend, key, value", [("lightgbm", "interaction_constraints", [[0, 1.0], [2]]),
                                                  ("xgboost", "interaction_constraints", "[[0.0, 1.0], [2]]")])
def test_whole_number_indices_are_read_as_the_engines_read_them(data, backend, key, value):
    """The engines train with 1.0 as feature index 1; so does the check."""
    X, y = data
    go.train("logloss", X, y, backend=backend, params={key: value}, num_boost_round=1)


def test_xgboost_monotone_text_with_decimals_is_refused_before_training(data):
    X, y = data  # XGBoost's own parser refuses "1.0" in the text form (the tuple form takes it)
    with pytest.raises(ParameterError, match=r"monotone_constraints"):
        go.train("logloss", X, y, backend="xgboost", params={"monotone_constraints": "(1.0,0,-1)"},
                 num_boost_round=1)


@pytest.mark.parametrize("key, value", [("monotone_constraints", {"c0": 1, "c4": -1}),
                                        ("interaction_constraints", [["c0", "c1"], ["c2"]])])
def test_xgboost_constraints_by_name_fit_a_dataframe(data, key, value):
    """By the DataFrame's column names, what XGBoost records is the by-index form."""
    X, y = data
    result = go.train("logloss", _columns(X, True), y, backend="xgboost", params={key: value}, num_boost_round=1)
    assert engine_setting(result, key) == {"monotone_constraints": "(1,0,0,0,-1)",
                                           "interaction_constraints": "[[0, 1], [2]]"}[key]


def test_a_lightgbm_forced_split_on_a_feature_of_x_is_the_first_split(data, tmp_path):
    """Feature 3 of 5: the probe of validate_params (one feature wide here) used to refuse the file."""
    path = File({"feature": 3, "threshold": 0.25}).path(tmp_path)
    roots = [result.booster.dump_model()["tree_info"][0]["tree_structure"]["split_feature"]
             for result in (fit(data, "lightgbm", {"forcedsplits_filename": path}), fit(data, "lightgbm"))]
    assert roots[0] == 3 != roots[1]


@pytest.mark.parametrize("backend", BACKENDS)
def test_cv_refuses_a_parameter_that_does_not_fit_x_before_the_first_fold(data, backend):
    X, y = data
    with pytest.raises(ParameterError, match=rf"params\['monotone_constraints'\]{COUNT.format(2)}"):
        go.cv("logloss", X, y, backend=backend, params={"monotone_constraints": (1, 0)}, num_boost_round=1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_estimator_refuses_backend_params_that_do_not_fit_x_before_training(data, backend, monkeypatch):
    X, y = data

    def trained(*args, **kwargs):
        raise AssertionError("the engine was asked to train")

    monkeypatch.setattr(go.adapters.get_backend(backend), "train", trained)
    model = go.GBMClassifier("logloss", backend=backend, n_estimators=1,
                             backend_params={"monotone_constraints": [1, 0, 0, 0, 0, 0]})
    with pytest.raises(ParameterError, match=rf"^params\['monotone_constraints'\]{COUNT.format(6)}"):
        model.fit(X, y)
