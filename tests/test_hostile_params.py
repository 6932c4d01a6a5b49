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
