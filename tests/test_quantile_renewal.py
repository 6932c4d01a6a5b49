"""Quantile leaf renewal: the per-leaf quantile math, and the LightGBM callback against the built-in objective."""

import numpy as np
import pytest

import gbm_objectives as go
from gbm_objectives.quantile import leaf_quantiles, renewed_leaf_values, weighted_quantile

lgb = pytest.importorskip("lightgbm")
from gbm_objectives.adapters.lightgbm import objective_loss_metric  # noqa: E402
from gbm_objectives.adapters.lightgbm_renewal import quantile_leaf_renewal  # noqa: E402

ALPHAS = [0.1, 0.25, 0.5, 0.9]


# ---------------------------------------------------------------------------------------------------------
# the quantile definitions
# ---------------------------------------------------------------------------------------------------------
def test_hand_computed_quantiles():
    y = np.array([5.0, 1.0, 4.0, 2.0, 3.0])
    # unweighted "lightgbm": sorted 1..5, position 0.3 * 4 = 1.2 -> 2 + 0.2 * (3 - 2)
    assert weighted_quantile(y, 0.3) == pytest.approx(2.2, abs=1e-6)
    # "lower": smallest value with cumulative count >= 0.3 * 5 = 1.5 -> the 2nd value
    assert weighted_quantile(y, 0.3, method="lower") == 2.0
    # weighted "lightgbm": weights 1,1,1,1,2 on 1..5; t = 0.3 * 6 = 1.8; cumulative 1,2,3,4,6 -> pos 1 (C=2 > 1.8);
    # w_pos = 1 >= 1 -> 1 + (1.8 - 1) / 1 * (2 - 1) = 1.8
    w = np.array([2.0, 1.0, 1.0, 1.0, 1.0])  # weight 2 on the value 5
    assert weighted_quantile(y, 0.3, sample_weight=w) == pytest.approx(1.8, abs=1e-6)
    # weighted "lower": cumulative 1,2,3,4,6 reaches 1.8 at the 2nd value
    assert weighted_quantile(y, 0.3, sample_weight=w, method="lower") == 2.0
    assert weighted_quantile([7.0], 0.9) == 7.0


@pytest.mark.parametrize("alpha", ALPHAS)
def test_unweighted_lightgbm_rule_is_numpy_linear_at_float32_alpha(rng, alpha):
    for n in (1, 2, 3, 10, 101):
        v = rng.normal(size=n)
        assert weighted_quantile(v, alpha) == pytest.approx(np.quantile(v, float(np.float32(alpha))), rel=1e-12)


@pytest.mark.parametrize("alpha", ALPHAS)
def test_lower_rule_is_the_losses_quantile_and_a_pinball_argmin(rng, alpha):
    v = rng.normal(size=40)
    w = rng.uniform(0.1, 3.0, size=40)
    q = weighted_quantile(v, alpha, sample_weight=w, method="lower")
    assert q == go.QuantileLoss(alpha).init_score(v, sample_weight=w)  # the lower rule is the loss's best constant
    obj = go.QuantileLoss(alpha)
    best = obj.loss(v, np.full(40, q), sample_weight=w)
    for other in np.linspace(v.min() - 1, v.max() + 1, 301):
        assert best <= obj.loss(v, np.full(40, other), sample_weight=w) + 1e-12


@pytest.mark.parametrize("method", ["lightgbm", "lower"])
@pytest.mark.parametrize("weighted", [False, True])
def test_leaf_quantiles_equal_one_leaf_at_a_time(rng, method, weighted):
    n, n_leaves = 300, 7
    r = rng.normal(size=n).round(1)  # ties on purpose
    leaf = rng.integers(0, n_leaves - 1, size=n)  # the last leaf stays empty
    w = rng.uniform(0.2, 3.0, size=n) if weighted else None
    got = leaf_quantiles(r, leaf, 0.7, sample_weight=w, n_leaves=n_leaves, method=method)
    for j in range(n_leaves - 1):
        m = leaf == j
        want = weighted_quantile(r[m], 0.7, sample_weight=None if w is None else w[m], method=method)
        assert got[j] == pytest.approx(want, rel=1e-12, abs=1e-12)
    assert np.isnan(got[-1])


def test_renewed_leaf_values_hand_computed():
    y = np.array([1.0, 2.0, 3.0, 10.0, 20.0, 40.0])
    score = np.array([0.0, 0.0, 0.0, 5.0, 5.0, 5.0])
    leaf = np.array([0, 0, 0, 1, 1, 1])
    # medians of residuals: {1, 2, 3} -> 2 and {5, 15, 35} -> 15, times the learning rate 0.5
    np.testing.assert_allclose(renewed_leaf_values(y, score, leaf, 0.5, learning_rate=0.5), [1.0, 7.5])


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: weighted_quantile([1.0, 2.0], 1.0), "alpha"),
        (lambda: weighted_quantile([1.0, 2.0], 0.0), "alpha"),
        (lambda: weighted_quantile([1.0, 2.0], 0.5, method="nearest"), "method"),
        (lambda: weighted_quantile([], 0.5), "values"),
        (lambda: leaf_quantiles([1.0, 2.0], [0, -1], 0.5), "leaf_index"),
        (lambda: leaf_quantiles([1.0, 2.0], [0, 1, 1], 0.5), "leaf_index"),
        (lambda: renewed_leaf_values([1.0], [0.0], [0], 0.5, learning_rate=0.0), "learning_rate"),
        (lambda: quantile_leaf_renewal(go.QuantileLoss(0.5), method="x"), "method"),
    ],
)
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_renewal_refuses_other_objectives():
    with pytest.raises(TypeError, match="QuantileLoss"):
        quantile_leaf_renewal(go.HuberLoss())


# ---------------------------------------------------------------------------------------------------------
# the LightGBM callback
# ---------------------------------------------------------------------------------------------------------
PARAMS = dict(verbosity=-1, deterministic=True, num_threads=1, seed=0, force_col_wise=True)


def _lightgbm_init(y, alpha, w=None):
    """LightGBM's BoostFromScore for quantile: the "lightgbm" quantile of the float32 labels, as float32."""
    return float(np.float32(weighted_quantile(np.float32(y), alpha, sample_weight=w)))


def test_tiny_case_matches_hand_computed_quantiles():
    X = np.r_[np.zeros(5), np.ones(5)].reshape(-1, 1)
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 10.0, 20.0, 30.0, 40.0, 50.0])
    obj = go.QuantileLoss(0.5)
    init = 5.0
    renewal = quantile_leaf_renewal(obj, X)
    params = dict(PARAMS, num_leaves=2, min_data_in_leaf=1, min_data_in_bin=1, learning_rate=0.5)
    train = lgb.Dataset(X, y, init_score=np.full(10, init))
    booster = lgb.train(
        {**params, "objective": go.lightgbm_objective(renewal.objective)}, train, num_boost_round=1, callbacks=[renewal]
    )
    # residuals y - 5: left {-4, -3, -2, -1, 0} has median -2, right {5, 15, 25, 35, 45} has median 25;
    # leaf = learning_rate * median
    pred = booster.predict(np.array([[0.0], [1.0]]), raw_score=True) + init
    np.testing.assert_allclose(pred, [5.0 + 0.5 * -2.0, 5.0 + 0.5 * 25.0])
    np.testing.assert_allclose(renewal._score, np.r_[np.full(5, 4.0), np.full(5, 17.5)])
    assert renewal.n_renewed_ == 1
    # without renewal the Newton leaf is a rescaled count of gradient signs, not the quantile
    plain = lgb.train({**params, "objective": go.lightgbm_objective(obj)}, lgb.Dataset(X, y, init_score=np.full(10, init)),
                      num_boost_round=1)
    assert not np.allclose(plain.predict(np.array([[0.0], [1.0]]), raw_score=True) + init, pred)


def _synthetic(rng, n):
    X = rng.uniform(-2, 2, size=(n, 4))
    y = X[:, 0] + np.exp(0.5 * X[:, 1]) * rng.standard_t(3, size=n)
    return X, y


@pytest.mark.parametrize("alpha", [0.25, 0.5])
@pytest.mark.parametrize("weighted", [False, True])
def test_renewal_reproduces_the_builtin_objective(rng, alpha, weighted):
    # With 1 - alpha exact in float32 the custom gradients equal LightGBM's bit for bit, so the trees and the
    # renewed leaves must be the same: predictions agree to rounding.
    X, y = _synthetic(rng, 600)
    w = rng.choice([0.5, 1.0, 2.0, 3.0], size=len(y)) if weighted else None
    params = dict(PARAMS, num_leaves=15, learning_rate=0.1)
    builtin = lgb.train({**params, "objective": "quantile", "alpha": alpha}, lgb.Dataset(X, y, weight=w), 40)
    init = _lightgbm_init(y, alpha, w)
    renewal = quantile_leaf_renewal(go.QuantileLoss(alpha), X)
    ours = lgb.train(
        {**params, "objective": go.lightgbm_objective(renewal.objective)},
        lgb.Dataset(X, y, weight=w, init_score=np.full(len(y), init)),
        40,
        callbacks=[renewal],
    )
    np.testing.assert_allclose(ours.predict(X, raw_score=True) + init, builtin.predict(X), rtol=0, atol=1e-9)


def test_renewal_close_to_builtin_on_held_out_data(rng):
    # alpha = 0.9: LightGBM's float32 gradient 1 - 0.9f differs from ours in the last bit, which can flip tied
    # splits; the model is not identical, but held-out pinball loss stays within 1 % of the built-in's.
    X, y = _synthetic(rng, 1500)
    Xt, yt = _synthetic(rng, 1500)
    alpha = 0.9
    obj = go.QuantileLoss(alpha)
    params = dict(PARAMS, num_leaves=15, learning_rate=0.1)
    builtin = lgb.train({**params, "objective": "quantile", "alpha": alpha}, lgb.Dataset(X, y), 60)
    reg = go.GBMRegressor(
        objective="quantile", objective_params={"alpha": alpha}, n_estimators=60, n_jobs=1,
        backend_params={"num_leaves": 15, "force_col_wise": True},
    ).fit(X, y)
    plain = go.GBMRegressor(
        objective="quantile", objective_params={"alpha": alpha}, n_estimators=60, n_jobs=1, leaf_renewal=False,
        backend_params={"num_leaves": 15, "force_col_wise": True},
    ).fit(X, y)
    loss_builtin = obj.loss(yt, builtin.predict(Xt))
    loss_renewed = obj.loss(yt, reg.predict(Xt))
    loss_plain = obj.loss(yt, plain.predict(Xt))
    assert abs(loss_renewed / loss_builtin - 1) < 0.01
    assert loss_plain > loss_renewed  # the gap the renewal closes


def test_validation_metrics_are_those_of_the_renewed_model(rng):
    X, y = _synthetic(rng, 500)
    Xv, yv = _synthetic(rng, 300)
    obj = go.QuantileLoss(0.8)
    init = obj.init_score(y)
    renewal = quantile_leaf_renewal(obj, X, valid_X={"valid": Xv})
    train = lgb.Dataset(X, y, init_score=np.full(len(y), init))
    valid = lgb.Dataset(Xv, yv, init_score=np.full(len(yv), init), reference=train)
    record = {}
    booster = lgb.train(
        {**PARAMS, "objective": go.lightgbm_objective(renewal.objective), "num_leaves": 7},
        train,
        25,
        valid_sets=[valid],
        valid_names=["valid"],
        feval=objective_loss_metric(obj),
        callbacks=[renewal, lgb.record_evaluation(record)],
    )
    history = record["valid"]["quantile_loss"]
    for k in (1, 10, 25):
        assert history[k - 1] == pytest.approx(obj.loss(yv, booster.predict(Xv, raw_score=True, num_iteration=k) + init))


def test_renewal_needs_the_training_features(rng):
    X, y = _synthetic(rng, 100)
    renewal = quantile_leaf_renewal(go.QuantileLoss(0.5))
    with pytest.raises(ValueError, match="free_raw_data"):
        lgb.train({**PARAMS, "objective": go.lightgbm_objective(renewal.objective)}, lgb.Dataset(X, y), 2,
                  callbacks=[renewal])
    renewal = quantile_leaf_renewal(go.QuantileLoss(0.5))  # the Dataset's raw data works when kept
    lgb.train({**PARAMS, "objective": go.lightgbm_objective(renewal.objective)},
              lgb.Dataset(X, y, free_raw_data=False), 2, callbacks=[renewal])
    assert renewal.n_renewed_ == 2


def test_estimator_eval_set_reports_the_renewed_model(rng):
    X, y = _synthetic(rng, 400)
    Xv, yv = _synthetic(rng, 200)
    reg = go.GBMRegressor(objective="quantile", objective_params={"alpha": 0.7}, n_estimators=30, n_jobs=1)
    reg.fit(X, y, eval_set=[(Xv, yv)], early_stopping_rounds=5)
    history = reg.evals_result_["valid_0"]["quantile_loss"]
    best = reg.best_iteration_
    assert history[best - 1] == pytest.approx(reg.objective_.loss(yv, reg.predict(Xv)))
    assert isinstance(reg.objective_, go.QuantileLoss) and reg.objective_.alpha == 0.7


# ---------------------------------------------------------------------------------------------------------
# XGBoost: renewal by editing the JSON model
# ---------------------------------------------------------------------------------------------------------
def test_xgboost_tiny_case_matches_hand_computed_quantiles():
    xgb = pytest.importorskip("xgboost")
    from gbm_objectives.adapters.xgboost_renewal import xgboost_quantile_leaf_renewal

    X = np.r_[np.zeros(5), np.ones(5)].reshape(-1, 1)
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 10.0, 20.0, 30.0, 40.0, 50.0])
    dtrain = xgb.DMatrix(X, y, base_margin=np.full(10, 5.0))
    renewal = xgboost_quantile_leaf_renewal(go.QuantileLoss(0.5), dtrain)
    params = {"eta": 0.5, "max_depth": 1, "min_child_weight": 0, "lambda": 0, "nthread": 1}
    booster = xgb.train(params, dtrain, 1, obj=go.xgboost_objective(go.QuantileLoss(0.5)), callbacks=[renewal])
    # residuals y - 5: left {-4, ..., 0}, right {5, ..., 45}; "lower" median = the 3rd value: -2 and 25; times eta
    pred = booster.predict(xgb.DMatrix(np.array([[0.0], [1.0]]), base_margin=np.full(2, 5.0)), output_margin=True)
    np.testing.assert_allclose(pred, [5.0 + 0.5 * -2.0, 5.0 + 0.5 * 25.0], rtol=1e-6)
    assert renewal.n_renewed_ == 1


def test_xgboost_renewal_keeps_the_training_configuration_and_helps(rng):
    xgb = pytest.importorskip("xgboost")
    import json

    from gbm_objectives.adapters.xgboost_renewal import xgboost_quantile_leaf_renewal

    X, y = _synthetic(rng, 800)
    Xt, yt = _synthetic(rng, 800)
    obj = go.QuantileLoss(0.9)
    init = obj.init_score(y)
    params = {"eta": 0.1, "max_depth": 3, "nthread": 1}
    dtrain = xgb.DMatrix(X, y, base_margin=np.full(len(y), init))
    renewal = xgboost_quantile_leaf_renewal(obj, dtrain)
    renewed = xgb.train(params, dtrain, 25, obj=go.xgboost_objective(obj), callbacks=[renewal])
    tree_param = json.loads(renewed.save_config())["learner"]["gradient_booster"]["tree_train_param"]
    assert float(tree_param["eta"]) == pytest.approx(0.1) and int(tree_param["max_depth"]) == 3  # not reset by reload
    plain = xgb.train(params, xgb.DMatrix(X, y, base_margin=np.full(len(y), init)), 25, obj=go.xgboost_objective(obj))
    dtest = xgb.DMatrix(Xt, base_margin=np.full(len(yt), init))
    assert obj.loss(yt, renewed.predict(dtest, output_margin=True)) < obj.loss(yt, plain.predict(dtest, output_margin=True))
