"""Adapters: the custom objectives reproduce the engines' built-ins (the strongest proof that the core and the
adapters are right), the callbacks are really called, and the engine-API traps are handled."""

import inspect

import lightgbm as lgb
import numpy as np
import pytest
import xgboost as xgb

import gbm_objectives as go
from gbm_objectives.adapters import lightgbm as L
from gbm_objectives.adapters import xgboost as XG

from conftest import shared_dataset

ROUNDS = 30
LGB_PARAMS = {"num_leaves": 15, "learning_rate": 0.1, "verbosity": -1, "deterministic": True,
              "force_row_wise": True, "num_threads": 2, "seed": 0}
XGB_PARAMS = {"max_depth": 4, "eta": 0.1, "tree_method": "hist", "nthread": 2, "seed": 0}


@pytest.fixture(scope="module")
def binary_data():
    d = shared_dataset("lightgbm_binary")
    train, test = np.loadtxt(d / "binary.train"), np.loadtxt(d / "binary.test")
    w = np.loadtxt(d / "binary.train.weight")
    return train[:, 1:], train[:, 0], w, test[:, 1:]


@pytest.fixture(scope="module")
def multiclass_data():
    d = shared_dataset("lightgbm_multiclass")
    train, test = np.loadtxt(d / "multiclass.train"), np.loadtxt(d / "multiclass.test")
    return train[:, 1:], train[:, 0], test[:, 1:]


def synthetic_binary(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8))
    y = (X[:, 0] + 0.5 * X[:, 1] ** 2 + rng.normal(size=n) > 1.2).astype(float)
    return X, y, rng.uniform(0.5, 1.5, n), rng.normal(size=(500, 8))


def _datasets(request, name):
    return request.getfixturevalue(name) if name != "synthetic" else synthetic_binary()


# ---- LightGBM ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("data", ["binary_data", "synthetic"])
def test_lightgbm_logloss_with_init_score_reproduces_binary(request, data):
    X, y, w, Xt = _datasets(request, data)
    builtin = lgb.train({**LGB_PARAMS, "objective": "binary"}, lgb.Dataset(X, y, weight=w), ROUNDS)  # boost_from_average
    obj = go.LogLoss()
    init = obj.init_score(y, sample_weight=w)
    custom, _ = L.train(obj, X, y, params=LGB_PARAMS, num_boost_round=ROUNDS, sample_weight=w, init_score=init)
    diff = np.abs(builtin.predict(Xt, raw_score=True) - L.predict_raw(custom, Xt, init)).max()
    assert diff <= 1e-6


@pytest.mark.parametrize(
    "obj, builtin, label",
    [
        (go.WeightedCrossEntropy(pos_weight=3.0), {"objective": "binary", "scale_pos_weight": 3.0}, "binary"),
        (go.SquaredError(), {"objective": "regression"}, "continuous"),
        (go.HuberLoss(delta=0.5), {"objective": "huber", "alpha": 0.5}, "continuous"),
    ],
    ids=["weighted_ce", "squared_error", "huber"],
)
@pytest.mark.parametrize("data", ["binary_data", "synthetic"])
def test_lightgbm_reproduces_builtin(request, data, obj, builtin, label):
    X, y, w, Xt = _datasets(request, data)
    if label == "continuous":
        y = 3 * y + X[:, 0]
        init = float(np.average(y, weights=w))  # LightGBM's regression/huber start: the weighted mean
    else:
        init = go.LogLoss().init_score(y, sample_weight=w)  # LightGBM's binary start ignores scale_pos_weight
    ds = lgb.Dataset(X, y, weight=w, init_score=np.full(len(y), init))
    reference = lgb.train({**LGB_PARAMS, **builtin}, ds, ROUNDS)
    custom, _ = L.train(obj, X, y, params=LGB_PARAMS, num_boost_round=ROUNDS, sample_weight=w, init_score=init)
    assert np.abs(reference.predict(Xt, raw_score=True) - custom.predict(Xt, raw_score=True)).max() <= 1e-6


def test_lightgbm_softmax_reproduces_multiclass(multiclass_data):
    X, y, Xt = multiclass_data
    obj = go.SoftmaxCrossEntropy(5, hessian_scale="lightgbm")
    init = obj.init_score(y)
    ds = lgb.Dataset(X, y, init_score=np.tile(init, (len(y), 1)))
    reference = lgb.train({**LGB_PARAMS, "objective": "multiclass", "num_class": 5}, ds, ROUNDS)
    custom, _ = L.train(obj, X, y, params=LGB_PARAMS, num_boost_round=ROUNDS, init_score=init)
    assert np.abs(reference.predict(Xt, raw_score=True) - custom.predict(Xt, raw_score=True)).max() <= 1e-5


# ---- XGBoost -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "obj, builtin, label",
    [
        (go.LogLoss(), {"objective": "binary:logistic"}, "binary"),
        (go.WeightedCrossEntropy(pos_weight=3.0), {"objective": "binary:logistic", "scale_pos_weight": 3.0}, "binary"),
        (go.SquaredError(), {"objective": "reg:squarederror"}, "continuous"),
    ],
    ids=["logloss", "weighted_ce", "squared_error"],
)
@pytest.mark.parametrize("data", ["binary_data", "synthetic"])
def test_xgboost_reproduces_builtin(request, data, obj, builtin, label):
    X, y, w, Xt = _datasets(request, data)
    if label == "continuous":
        y = 3 * y + X[:, 0]
    init = obj.init_score(y, sample_weight=w)
    # both start from the same margin; XGBoost's predictions are float32, so 1e-6 is a few ulps at |margin| ~ 3
    dtrain = xgb.DMatrix(X, y, weight=w, base_margin=np.full(len(y), init))
    reference = xgb.train({**XGB_PARAMS, **builtin}, dtrain, ROUNDS)
    custom, _ = XG.train(obj, X, y, params=XGB_PARAMS, num_boost_round=ROUNDS, sample_weight=w, init_score=init)
    expected = XG.predict_raw(reference, Xt, init)
    assert np.abs(expected - XG.predict_raw(custom, Xt, init)).max() <= 1e-6


def test_xgboost_softmax_reproduces_softprob(multiclass_data):
    X, y, Xt = multiclass_data
    obj = go.SoftmaxCrossEntropy(5, hessian_scale="xgboost")
    init = obj.init_score(y)
    dtrain = xgb.DMatrix(X, y, base_margin=np.tile(init, (len(y), 1)))
    reference = xgb.train({**XGB_PARAMS, "objective": "multi:softprob", "num_class": 5}, dtrain, ROUNDS)
    custom, _ = XG.train(obj, X, y, params=XGB_PARAMS, num_boost_round=ROUNDS, init_score=init)
    diff = np.abs(XG.predict_raw(reference, Xt, init) - XG.predict_raw(custom, Xt, init)).max()
    assert diff <= 1e-5


# ---- the callbacks are really called (sentinel) ------------------------------------------------------------------
class Sentinel(Exception):
    pass


class SentinelLoss(go.SquaredError):
    def _kernel(self, prepared, raw, w, grad_out, hess_out):
        raise Sentinel(prepared.n_samples)


def test_callbacks_are_called():
    X, y, _, _ = synthetic_binary(200)
    with pytest.raises(Sentinel):
        lgb.train({"objective": go.lightgbm_objective(SentinelLoss()), "verbosity": -1}, lgb.Dataset(X, y), 2)
    with pytest.raises(Sentinel):
        lgb.LGBMRegressor(objective=go.lightgbm_sklearn_objective(SentinelLoss()), verbosity=-1).fit(X, y)
    with pytest.raises(Sentinel):
        xgb.train({}, xgb.DMatrix(X, y), 2, obj=go.xgboost_objective(SentinelLoss()))
    with pytest.raises(Sentinel):
        xgb.XGBRegressor(objective=go.xgboost_sklearn_objective(SentinelLoss()), n_estimators=2).fit(X, y)


# ---- engine-API traps ----------------------------------------------------------------------------------------------
class SpyLoss(go.SquaredError):
    """Records what the adapters hand to ``prepare`` (in a shared list: LightGBM's sklearn API deep-copies params)."""

    def __init__(self):
        self.seen = []

    def __deepcopy__(self, memo):
        return self

    def prepare(self, y_true, *, sample_weight=None, group=None, qid=None):
        self.seen.append({"n": len(y_true), "weight": sample_weight, "group": group})
        return super().prepare(y_true, sample_weight=sample_weight)

    def get_params(self):
        return {}


def test_lightgbm_sklearn_adapter_has_four_parameters_and_receives_group():
    spy = SpyLoss()
    f = go.lightgbm_sklearn_objective(spy)
    assert list(inspect.signature(f).parameters) == ["y_true", "y_pred", "weight", "group"]
    X, y, _, _ = synthetic_binary(300)
    y = np.round(np.clip(y + X[:, 0], 0, 3))
    lgb.LGBMRanker(objective=f, n_estimators=3, verbosity=-1).fit(X, y, group=[100, 120, 80])
    assert spy.seen and np.array_equal(spy.seen[0]["group"], [100, 120, 80])
    assert len(spy.seen) == 1, "labels/groups are validated once per training set, not every round"


def test_xgboost_adapter_reads_weights_and_groups():
    spy = SpyLoss()
    X, y, w, _ = synthetic_binary(300)
    xgb.train({}, xgb.DMatrix(X, y, group=[100, 200]), 3, obj=go.xgboost_objective(spy))
    assert np.array_equal(spy.seen[0]["group"], [100, 200])
    xgb.train({}, xgb.DMatrix(X, y, weight=w), 3, obj=go.xgboost_objective(spy))
    np.testing.assert_allclose(spy.seen[1]["weight"], w.astype(np.float32))
    spy2 = SpyLoss()
    xgb.XGBRegressor(objective=go.xgboost_sklearn_objective(spy2), n_estimators=2).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(spy2.seen[0]["weight"], w.astype(np.float32))
    assert "sample_weight" in inspect.signature(go.xgboost_sklearn_objective(spy2)).parameters


def test_lightgbm_multiclass_grad_is_fortran_float32():
    X, y, _, _ = synthetic_binary(300)
    y = (y + (X[:, 1] > 0)).astype(float)
    f = go.lightgbm_objective(go.SoftmaxCrossEntropy(3))
    ds = lgb.Dataset(X, y).construct()
    preds = np.asfortranarray(np.random.default_rng(0).normal(size=(300, 3)))
    grad, hess = f(preds, ds)
    assert grad.shape == (300, 3) and grad.dtype == np.float32 and grad.flags.f_contiguous
    g64, h64 = go.SoftmaxCrossEntropy(3).grad_hess(y, preds)
    np.testing.assert_allclose(grad, g64, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(hess, h64, rtol=1e-6, atol=1e-7)


def test_adapter_errors_are_clear():
    X, y, _, _ = synthetic_binary(100)
    y_bad = y.copy()
    y_bad[7] = 2
    with pytest.raises(ValueError, match="got 2.0 at index 7"):
        lgb.train({"objective": go.lightgbm_objective(go.LogLoss()), "verbosity": -1}, lgb.Dataset(X, y_bad), 2)
    with pytest.raises(ValueError, match="got 2.0 at index 7"):
        xgb.train({}, xgb.DMatrix(X, y_bad), 2, obj=go.xgboost_objective("logloss"))


def test_lightgbm_per_feature_parameters_are_checked_on_as_many_features():
    # validate_params tries the parameters on a probe data set as wide as the longest per-feature list: a
    # monotone_constraints list of length 3 on 3 features trains (and the model is monotone in feature 0), and a
    # value LightGBM rejects is still rejected (two per-feature lists of different lengths, a bad num_leaves).
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X[:, 0] + np.sin(3 * X[:, 0]) + X[:, 1] + 0.1 * rng.normal(size=200)
    res = go.train("squared_error", X, y, num_boost_round=10, n_jobs=1,
                   params={"monotone_constraints": [1, 0, 0], "min_data_in_leaf": 5})
    grid = np.repeat(X[:20], 50, axis=0)
    grid[:, 0] = np.tile(np.linspace(-3, 3, 50), 20)
    assert (np.diff(res.predict_raw(grid).reshape(20, 50), axis=1) >= 0).all()
    for bad in ({"monotone_constraints": [1, 0, 0], "feature_contri": [1.0, 1.0]},
                {"monotone_constraints": "1,0,0", "num_leaves": 1}):
        with pytest.raises(go.adapters.ParameterError, match="LightGBM rejects"):
            L.validate_params(bad)


@pytest.mark.parametrize("constraints", ["(1,0,0)", (1, 0, 0), [1, 0, 0]])
def test_xgboost_per_feature_parameters_are_checked_on_as_many_features(constraints):
    # XGBoost's probe is as wide as monotone_constraints (and interaction_constraints' largest index): a constraint
    # of length 3 on 3 features trains, in XGBoost's string and tuple spellings and LightGBM's list (made a tuple),
    # and the model is monotone in feature 0; the probe was 1 feature wide and refused all three.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X[:, 0] + np.sin(3 * X[:, 0]) + X[:, 1] + 0.1 * rng.normal(size=200)
    res = go.train("squared_error", X, y, backend="xgboost", num_boost_round=10, n_jobs=1,
                   params={"monotone_constraints": constraints, "interaction_constraints": "[[0, 1], [2]]"})
    grid = np.repeat(X[:20], 50, axis=0)
    grid[:, 0] = np.tile(np.linspace(-3, 3, 50), 20)
    assert (np.diff(res.predict_raw(grid).reshape(20, 50), axis=1) >= 0).all()
    with pytest.raises(go.adapters.ParameterError, match="XGBoost rejects"):
        go.train("squared_error", X, y, backend="xgboost", num_boost_round=2,
                 params={"monotone_constraints": "(1,0,0)", "max_depth": -3})


def test_lightgbm_validated_parameter_sets_are_keyed_by_type_and_value(monkeypatch):
    # [1], [1.0] and [True] are equal lists but not the same parameters: each is tried, not taken from the cache
    # of accepted sets; numpy scalars and dicts are keyed by type too, without crashing.
    monkeypatch.setattr(L, "_ACCEPTED", set())
    for value in ([1], [1.0], [True], [np.int64(1)], (1,)):
        L.validate_params({"monotone_constraints": value})
    L.validate_params({"num_leaves": 5})
    L.validate_params({"num_leaves": np.int64(5)})
    assert len(L._ACCEPTED) == 7
    keys = {L._cache_key(v) for v in ({"a": 1}, {"a": 1.0}, {"a": True}, np.float64(1.0), 1.0, np.arange(2))}
    assert len(keys) == 6
