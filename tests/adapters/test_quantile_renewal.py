"""Quantile leaf renewal: the per-leaf quantile math, and the LightGBM callback against the built-in objective."""

import json
import pickle
import re

import numpy as np
import pytest

import gbm_objectives as go
from gbm_objectives.objectives.quantile import leaf_quantiles, renewed_leaf_values, weighted_quantile

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
@pytest.mark.parametrize("alpha", [0.001, 0.7, 0.999])
def test_leaf_quantiles_equal_one_leaf_at_a_time(rng, method, weighted, alpha):
    # without weights the per-leaf order statistics come from selection (np.partition), not a sort
    n, n_leaves = 300, 7
    r = rng.normal(size=n).round(1)  # ties on purpose
    leaf = rng.integers(0, n_leaves - 1, size=n)  # the last leaf stays empty
    w = rng.uniform(0.2, 3.0, size=n) if weighted else None
    got = leaf_quantiles(r, leaf, alpha, sample_weight=w, n_leaves=n_leaves, method=method)
    for j in range(n_leaves - 1):
        m = leaf == j
        want = weighted_quantile(r[m], alpha, sample_weight=None if w is None else w[m], method=method)
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


@pytest.mark.parametrize("spelling", [{"linear_tree": True}, {"linear_trees": "true"}])
def test_linear_tree_leaves_are_refused_before_training_and_trained_without_renewal(rng, spelling):
    # a linear-tree leaf is a linear model: re-fitting its constant to the residual quantile would be wrong, so
    # the renewal refuses it before training; without renewal (and the data set built with the parameter: a
    # LightGBM Booster with linear_tree on a Dataset binned without it crashes the process) it trains
    X, y = _synthetic(rng, 300)
    with pytest.raises(ValueError, match="linear_tree=True"):
        go.train(go.QuantileLoss(0.3), X, y, num_boost_round=2, n_jobs=1, params=spelling)
    res = go.train(go.QuantileLoss(0.3), X, y, num_boost_round=2, n_jobs=1, params=spelling, leaf_renewal=False)
    assert "is_linear=1" in res.booster.model_to_string()


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


@pytest.mark.parametrize("objective", [go.QuantileLoss(0.5), go.MultiQuantileLoss((0.1, 0.5, 0.9))])
@pytest.mark.parametrize("where, bad", [("X", "rows"), ("X", "columns"), ("valid_X['v']", "rows"),
                                        ("valid_X['v']", "columns")])
def test_renewal_features_of_the_wrong_shape_raise(rng, objective, where, bad):
    # the tree walk writes one leaf per row of X and reads X[i, feature] unchecked: a mismatch must raise before it
    # (X with a third of the training rows crashed the process)
    X, y = _synthetic(rng, 300)
    Xv, yv = _synthetic(rng, 60)
    wrong = {"rows": lambda A: A[: len(A) // 3], "columns": lambda A: A[:, :3]}[bad]
    given = (wrong(X), {"v": Xv}) if where == "X" else (X, {"v": wrong(Xv)})
    renewal = quantile_leaf_renewal(objective, given[0], valid_X=given[1])
    train = lgb.Dataset(X, y)
    params = {**PARAMS, "objective": go.lightgbm_objective(renewal.objective), "num_class": objective.n_classes or 1}
    message = {"rows": r"(100 rows but its Dataset has 300|20 rows but its Dataset has 60)",
               "columns": "3 columns but the booster has 4"}[bad]
    with pytest.raises(ValueError, match=re.escape(where) + " has " + message):
        lgb.train(params, train, 2, valid_sets=[lgb.Dataset(Xv, yv, reference=train)], valid_names=["v"],
                  callbacks=[renewal])
    assert renewal.n_renewed_ == 0


def test_estimator_eval_set_reports_the_renewed_model(rng):
    X, y = _synthetic(rng, 400)
    Xv, yv = _synthetic(rng, 200)
    reg = go.GBMRegressor(objective="quantile", objective_params={"alpha": 0.7}, n_estimators=30, n_jobs=1)
    reg.fit(X, y, eval_set=[(Xv, yv)], early_stopping_rounds=5)
    history = reg.evals_result_["valid_0"]["quantile_loss"]
    best = reg.best_iteration_
    assert history[best - 1] == pytest.approx(reg.objective_.loss(yv, reg.predict(Xv)))
    assert isinstance(reg.objective_, go.QuantileLoss) and reg.objective_.alpha == 0.7


def test_no_tree_grown_does_not_crash(rng):
    # 30 rows < 2 * min_data_in_leaf (20): LightGBM grows no split at all (issue 11 item 5: the renewal used to fail
    # with "zero-size array to reduction operation maximum" on the round where LightGBM adds no tree)
    X30 = rng.normal(size=(30, 3))
    reg = go.GBMRegressor(objective="quantile", n_estimators=5, n_jobs=1).fit(X30, X30[:, 0])
    np.testing.assert_allclose(reg.predict(X30), np.full(30, reg.objective_.init_score(X30[:, 0])), rtol=0, atol=1e-12)
    Xv = rng.normal(size=(30, 3))
    reg = go.GBMRegressor(objective="quantile", n_estimators=5, n_jobs=1)
    reg.fit(X30, X30[:, 0], eval_set=[(Xv, Xv[:, 0])], early_stopping_rounds=2)
    history = reg.evals_result_["valid_0"]["quantile_loss"]
    assert history[-1] == pytest.approx(reg.objective_.loss(Xv[:, 0], reg.predict(Xv)))
    # a constant target: the renewed model stays at the constant
    y = np.full(200, 2.0)
    X = rng.normal(size=(200, 3))
    np.testing.assert_array_equal(go.GBMRegressor(objective="quantile", n_estimators=5, n_jobs=1).fit(X, y).predict(X), y)


@pytest.mark.parametrize(
    "data", ["nan", "zero_as_missing", "use_missing_false", "tiny_values", "float32", "dataframe", "categorical"]
)
def test_lightgbm_leaf_walk_equals_pred_leaf(rng, data):
    # The renewal walks each new tree itself (from Booster.model_to_string) on float64 features; LightGBM's
    # pred_leaf is the reference: NaN under each missing type, zeros as missing, values at and around LightGBM's
    # zero threshold 1e-35 (a dense row reads |x| <= 1e-35f as 0), split thresholds hit exactly (rounded features),
    # float32 arrays, a numeric DataFrame, and a categorical split (such trees fall back to pred_leaf)
    from gbm_objectives.adapters.lightgbm_renewal import _tree_arrays

    X = rng.normal(size=(600, 5)).round(1)
    y = X[:, 0] + 0.5 * X[:, 1] + rng.normal(size=600)
    params = dict(PARAMS, objective="regression", num_leaves=15, min_data_in_leaf=5, learning_rate=0.3)
    if data in ("nan", "use_missing_false"):
        X[rng.random(X.shape) < 0.2] = np.nan
        if data == "use_missing_false":
            params["use_missing"] = False
    elif data == "zero_as_missing":
        X[rng.random(X.shape) < 0.3] = 0.0
        params["zero_as_missing"] = True
    elif data == "tiny_values":
        z = float(np.float32(1e-35))
        X[rng.random(X.shape) < 0.3] = 0.0
        tiny = rng.choice([z, -z, 2 * z, -2 * z, 1e-36, -1e-36, np.nextafter(z, 1)], size=(600, 2))
        X[:, :2] = np.where(rng.random((600, 2)) < 0.3, tiny, X[:, :2])
    elif data == "float32":
        X = X.astype(np.float32) + np.float32(0.03)
    frame = X
    if data in ("dataframe", "categorical"):
        pd = pytest.importorskip("pandas")
        frame = pd.DataFrame(X, columns=list("abcde"))
        if data == "categorical":
            frame["c"] = pd.Categorical(rng.integers(0, 4, size=600))
            y = y + 2.0 * (frame["c"].cat.codes.to_numpy() == 2)
    booster = lgb.train(params, lgb.Dataset(frame, y), 10)
    renewal = quantile_leaf_renewal("quantile", frame)
    walked = 0
    for t in range(10):
        tree = _tree_arrays(booster.model_to_string(start_iteration=t, num_iteration=1))
        walked += tree is not None
        got = renewal._leaves(booster, tree, frame, t, {})
        want = booster.predict(frame, pred_leaf=True, start_iteration=t, num_iteration=1).reshape(-1)
        np.testing.assert_array_equal(got, want)
    assert (walked < 10) if data == "categorical" else (walked == 10)


def _leaves_by_binary_search(before, after, values, ids):
    """The rule of lightgbm_renewal.leaves_from_scores, written plainly (the reference for its compiled form)."""
    out = np.empty(len(before), dtype=np.int64)
    m = len(values)
    for i, (b, a) in enumerate(zip(before, after)):
        with np.errstate(invalid="ignore"):
            d = a - b
        lo = max(int(np.searchsorted(values, d, side="right")) - 1, 0) if d == d else 0
        c = lo + 1 if lo + 1 < m and values[lo + 1] - d < d - values[lo] else lo
        bad = b + values[c] != a or (c > 0 and b + values[c - 1] == a) or (c + 1 < m and b + values[c + 1] == a)
        out[i] = -1 if bad else ids[c]
    return out


@pytest.mark.parametrize("values", [
    np.array([-0.3, -0.1, 0.0, 0.2, 0.25]),
    np.concatenate([[-1.0], 1e-9 * np.arange(12), [1.0]]),  # a cluster: many values in one cell of the hint map
    np.concatenate([np.linspace(-0.5, 0.5, 254), [1e6]]),  # one outlier: every other value in the first cell
    np.array([0.5]),
    np.array([-1e300, 0.0, 1e300]),
])
def test_leaves_read_from_scores_follow_their_rule(rng, values):
    # leaves_from_scores starts each row's search at a hint cell: the same leaves as the plain rule, on scores that
    # add a leaf value, scores at and between values, huge and tiny scores (several values give the same sum),
    # infinities and NaN
    from gbm_objectives.adapters.lightgbm_renewal import leaves_from_scores

    n = 3000
    ids = np.arange(len(values))
    ids[len(values) // 2] = -1  # a value several leaves share
    before = rng.normal(size=n) * rng.choice([1e-3, 1.0, 1e6, 1e17], size=n)
    after = before + values[rng.integers(0, len(values), n)]
    odd = rng.random(n) < 0.1
    after[odd] = before[odd] + rng.uniform(-2, 2, odd.sum())
    before[:6] = [np.inf, -np.inf, np.nan, 0.0, np.inf, 1.0]
    after[:6] = [np.inf, -np.inf, 1.0, np.nan, 1.0, np.inf]
    out = np.empty(n, dtype=np.int64)
    unknown = leaves_from_scores(before, after, values, ids, out)
    want = _leaves_by_binary_search(before, after, values, ids)
    np.testing.assert_array_equal(out, want)
    assert unknown == (want < 0).sum()


def test_lightgbm_round_pass_equals_the_per_tree_renewal_in_any_split(rng):
    # one round of a 4-output model: the compiled pass (leaves read from the engine's scores, the rest walked) run on
    # 1 or 3 threads gives the values of pred_leaf + renewed_leaf_values per tree, bit for bit; the round's text is
    # model_to_string's (read through a buffer that has to grow) and its one parse is the per-tree one
    from gbm_objectives.adapters import lightgbm_renewal as lr

    X = rng.normal(size=(500, 4)).round(1)
    y = X[:, 0] + rng.normal(size=500)
    alphas = (0.1, 0.4, 0.6, 0.9)
    labels = np.digitize(y, np.quantile(y, [0.25, 0.5, 0.75])).astype(float)
    params = dict(PARAMS, objective="multiclass", num_class=4, num_leaves=7, min_data_in_leaf=5)
    booster = lgb.train(params, lgb.Dataset(X, labels), 3)
    calls = lr._LightGBMCalls()
    calls._buffer = lr.ctypes.create_string_buffer(64)
    text = calls.round_text(booster, 2)
    full = booster.model_to_string(start_iteration=2, num_iteration=1)  # + the wrapper's pandas_categorical line
    assert full.startswith(text) and full[len(text):].strip() == "pandas_categorical:null"
    n_leaves, leaf_value, node_start, nodes = lr._round_forest(text)
    for k, (tree, values) in enumerate(lr._all_trees(text)):
        np.testing.assert_array_equal(leaf_value[k, : n_leaves[k]], values)
        for got, want in zip((a[node_start[k] : node_start[k + 1]] for a in nodes), tree):
            assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
    before = np.ascontiguousarray(booster.predict(X, raw_score=True, num_iteration=2).T)
    after = np.ascontiguousarray(booster.predict(X, raw_score=True, num_iteration=3).T)
    score = rng.normal(size=(4, 500))
    a = lr.kernel_alphas(alphas, "lightgbm")
    leaves = booster.predict(X, pred_leaf=True, start_iteration=2, num_iteration=1)
    want_values = leaf_value.copy()
    for k, alpha in enumerate(alphas):
        new = renewed_leaf_values(y, score[k], leaves[:, k], alpha, learning_rate=0.1, n_leaves=leaf_value.shape[1])
        want_values[k, ~np.isnan(new)] = new[~np.isnan(new)]
    want_score = score + np.take_along_axis(want_values, leaves.T, axis=1)
    for threads in (1, 3):
        got_score, got_values = score.copy(), leaf_value.copy()
        reached, walked = np.zeros(leaf_value.shape, dtype=np.uint8), np.zeros(4, dtype=np.int64)
        lr._renew_in_threads(4, threads, (X.astype(np.float64), y, got_score, before, after, True, got_values,
                                          n_leaves, node_start, *nodes, a, False, 0.1, reached, walked))
        assert got_values.tobytes() == want_values.tobytes() and got_score.tobytes() == want_score.tobytes()
        assert walked.sum() < 4 * 500


def test_threaded_round_raises_the_first_error_after_every_part(monkeypatch):
    # every part fails: the error raised is this thread's part's (the first outputs), not a worker's, and only once
    # every worker has finished (they write into the same arrays)
    import time

    from gbm_objectives.adapters import lightgbm_renewal as lr

    finished = []

    def failing(k0, k1):
        if k0 > 0:
            time.sleep(0.05)
        finished.append(k0)
        raise ValueError(f"part from {k0}")

    monkeypatch.setattr(lr, "renew_outputs", failing)
    with pytest.raises(ValueError, match="part from 0"):
        lr._renew_in_threads(6, 3, ())
    assert sorted(finished) == [0, 2, 4]


# ---------------------------------------------------------------------------------------------------------
# XGBoost: renewal kept outside the booster, written into the model once
# ---------------------------------------------------------------------------------------------------------
xgb = pytest.importorskip("xgboost")
from gbm_objectives.adapters.xgboost import objective_loss_metric as xgb_loss_metric  # noqa: E402
from gbm_objectives.adapters.xgboost_renewal import (  # noqa: E402
    XGBoostQuantileLeafRenewal,
    xgboost_quantile_leaf_renewal,
)

U32 = 2.0**-24  # unit roundoff of float32


def _trees(booster):
    return json.loads(booster.save_raw(raw_format="json"))["learner"]["gradient_booster"]["model"]["trees"]


class _JSONRewriteRenewal(xgb.callback.TrainingCallback):
    """The former O(rounds^2) method, as a reference: after every round, renew the new tree's leaves from the
    previous margin, write them into the JSON model and reload it (XGBoost then recomputes every margin from the
    renewed float32 leaves).

    ``previous="subtract"`` is the former code: previous margin = float32 prediction with the new tree minus its
    un-renewed leaf value. ``previous="predict"`` predicts the first t (renewed) trees instead (exact whenever the
    float32 sums are). XGBoost evaluates before the callbacks run, i.e. without this round's renewal; for the sets
    in ``valid`` the ``quantile_loss`` entry is recomputed from the rewritten model's own predictions.
    """

    def __init__(self, alpha, dtrain, previous="subtract", method="lower", valid=None):
        super().__init__()
        self.alpha, self.dtrain, self.previous, self.method = alpha, dtrain, previous, method
        self.valid = valid or {}

    def after_iteration(self, model, epoch, evals_log):
        d = self.dtrain
        y = d.get_label().astype(np.float64)
        w = d.get_weight()
        w = None if len(w) == 0 else w
        config_text = model.save_config()
        eta = float(json.loads(config_text)["learner"]["gradient_booster"]["tree_train_param"]["eta"])
        model_json = json.loads(model.save_raw(raw_format="json"))
        tree = model_json["learner"]["gradient_booster"]["model"]["trees"][epoch]
        values = np.asarray(tree["split_conditions"], dtype=np.float64)
        is_leaf = np.asarray(tree["left_children"]) == -1
        leaf = np.asarray(model.predict(d, pred_leaf=True, iteration_range=(0, epoch + 1)))
        leaf = leaf.reshape(len(leaf), -1)[:, -1].astype(np.int64)
        if self.previous == "subtract":
            previous = model.predict(d, output_margin=True, iteration_range=(0, epoch + 1)) - values[leaf]
        elif epoch == 0:
            previous = d.get_base_margin().astype(np.float64)
        else:
            previous = model.predict(d, output_margin=True, iteration_range=(0, epoch)).astype(np.float64)
        new = renewed_leaf_values(y, previous, leaf, self.alpha, learning_rate=eta, sample_weight=w,
                                  n_leaves=len(values), method=self.method)
        update = is_leaf & ~np.isnan(new)
        values[update] = new[update]
        tree["split_conditions"] = values.tolist()
        model.load_model(bytearray(json.dumps(model_json), "utf-8"))
        model.load_config(config_text)
        for name, dv in self.valid.items():
            pred = model.predict(dv, output_margin=True)
            evals_log[name]["quantile_loss"][-1] = go.QuantileLoss(self.alpha).loss(dv.get_label(), pred)
        return False


XGB_PARAMS = {"nthread": 1, "disable_default_eval_metric": 1}


def _integer_data(rng, n):
    """Integer labels in [-60, 60]: with eta = 0.5 and the "lower" quantile every leaf value and margin below is a
    dyadic rational with fewer than 24 significant bits, so float32 storage and summation are exact."""
    X = rng.uniform(-2, 2, size=(n, 4))
    y = np.clip(np.round(4 * X[:, 0] + 3 * rng.standard_t(3, size=n)), -60, 60)
    return X, y


def _train_both(X, y, w, alpha, rounds, params, reference):
    obj = go.QuantileLoss(alpha)
    init = obj.init_score(y, sample_weight=w)
    d_ref = xgb.DMatrix(X, y, weight=w, base_margin=np.full(len(y), init))
    ref = xgb.train(params, d_ref, rounds, obj=go.xgboost_objective(obj), callbacks=[reference(alpha, d_ref)])
    d_new = xgb.DMatrix(X, y, weight=w, base_margin=np.full(len(y), init))
    renewal = xgboost_quantile_leaf_renewal(obj, X)  # raw features: labels and weights come from the objective
    new = xgb.train(params, d_new, rounds, obj=go.xgboost_objective(renewal.objective), callbacks=[renewal])
    return ref, new, renewal, xgb.DMatrix(X, base_margin=np.full(len(y), init))


@pytest.mark.parametrize("alpha", [0.25, 0.9])
@pytest.mark.parametrize("weighted", [False, True])
def test_xgboost_renewal_equals_the_json_rewrite_bit_for_bit_when_float32_is_exact(rng, alpha, weighted):
    X, y = _integer_data(rng, 400)
    w = rng.choice([0.5, 1.0, 2.0], size=len(y)) if weighted else None
    params = {**XGB_PARAMS, "eta": 0.5, "max_depth": 3}
    ref, new, renewal, d = _train_both(
        X, y, w, alpha, 12, params, lambda a, dm: _JSONRewriteRenewal(a, dm, previous="predict")
    )
    np.testing.assert_array_equal(new.predict(d, pred_leaf=True), ref.predict(d, pred_leaf=True))
    np.testing.assert_array_equal(new.predict(d, output_margin=True), ref.predict(d, output_margin=True))
    np.testing.assert_array_equal(renewal._score, new.predict(d, output_margin=True))  # the kept margins are exact
    assert renewal.n_renewed_ == 12


@pytest.mark.parametrize("weighted", [False, True])
def test_xgboost_renewal_equals_the_former_method_to_float32_rounding(rng, weighted):
    # Continuous labels: the former method reconstructs the previous margin as fl32(prediction) - fl32(leaf) and
    # stores float32 leaves every round; this one sums the same float32 leaves in float64. With the same trees
    # (checked), the leaf values differ only by rounding, bounded round by round:
    #   the former previous margin is off by <= (t + 2) u M (float32 sum of t + 1 terms, one subtraction), plus the
    #   leaf differences so far; a residual quantile moves by at most the largest perturbation of its residuals
    #   (order statistics are 1-Lipschitz in the max norm), the leaf by eta times that, plus u |leaf| per float32
    #   rounding of each method:  L_t <= eta (sum_{s<t} L_s + (t + 2) u M) + 2 u max|leaf|;
    #   the final float32 predictions differ by <= sum_t L_t + 2 T u M.
    # u = 2^-24, M = the largest |margin| any stage reaches.
    X, y = _synthetic(rng, 600)
    w = rng.choice([0.5, 1.0, 2.0], size=len(y)) if weighted else None
    rounds, eta, alpha = 20, 0.3, 0.8
    ref, new, renewal, d = _train_both(X, y, w, alpha, rounds, {**XGB_PARAMS, "eta": eta, "max_depth": 4},
                                       lambda a, dm: _JSONRewriteRenewal(a, dm, previous="subtract"))
    np.testing.assert_array_equal(new.predict(d, pred_leaf=True), ref.predict(d, pred_leaf=True))
    M = max(np.abs(b.predict(d, output_margin=True, iteration_range=(0, k))).max()
            for b in (ref, new) for k in range(1, rounds + 1))
    max_leaf = max(np.abs(t["split_conditions"]).max() for t in _trees(new))
    total = 0.0
    for t in range(rounds):
        total += eta * (total + (t + 2) * U32 * M) + 2 * U32 * max_leaf
    bound = total + 2 * rounds * U32 * M
    diff = np.abs(new.predict(d, output_margin=True) - ref.predict(d, output_margin=True)).max()
    assert 0 < diff <= bound


def test_xgboost_tiny_case_matches_hand_computed_quantiles():
    X = np.r_[np.zeros(5), np.ones(5)].reshape(-1, 1)
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 10.0, 20.0, 30.0, 40.0, 50.0])
    params = {"eta": 0.5, "max_depth": 1, "min_child_weight": 0, "lambda": 0, "nthread": 1}
    dtest = xgb.DMatrix(np.array([[0.0], [1.0]]), base_margin=np.full(2, 5.0))
    for source in ("dmatrix", "X"):
        dtrain = xgb.DMatrix(X, y, base_margin=np.full(10, 5.0))
        renewal = xgboost_quantile_leaf_renewal(go.QuantileLoss(0.5), dtrain if source == "dmatrix" else X)
        booster = xgb.train(params, dtrain, 1, obj=go.xgboost_objective(renewal.objective), callbacks=[renewal])
        # residuals y - 5: left {-4, ..., 0}, right {5, ..., 45}; "lower" median = the 3rd value: -2 and 25; times eta
        np.testing.assert_allclose(booster.predict(dtest, output_margin=True), [5.0 + 0.5 * -2.0, 5.0 + 0.5 * 25.0])
        assert renewal.n_renewed_ == 1
    # weights 1, 1, 1, 1, 10 on the left residuals -4..0: the lower weighted median is 0
    w = np.r_[1.0, 1.0, 1.0, 1.0, 10.0, np.ones(5)]
    dtrain = xgb.DMatrix(X, y, weight=w, base_margin=np.full(10, 5.0))
    renewal = xgboost_quantile_leaf_renewal(go.QuantileLoss(0.5), dtrain)
    booster = xgb.train(params, dtrain, 1, obj=go.xgboost_objective(renewal.objective), callbacks=[renewal])
    np.testing.assert_allclose(booster.predict(dtest, output_margin=True), [5.0, 5.0 + 0.5 * 25.0])


def test_xgboost_renewal_keeps_the_training_configuration_and_helps(rng):
    X, y = _synthetic(rng, 800)
    Xt, yt = _synthetic(rng, 800)
    obj = go.QuantileLoss(0.9)
    init = obj.init_score(y)
    params = {"eta": 0.1, "max_depth": 3, "nthread": 1}
    dtrain = xgb.DMatrix(X, y, base_margin=np.full(len(y), init))
    renewal = xgboost_quantile_leaf_renewal(obj, dtrain)
    renewed = xgb.train(params, dtrain, 25, obj=go.xgboost_objective(renewal.objective), callbacks=[renewal])
    tree_param = json.loads(renewed.save_config())["learner"]["gradient_booster"]["tree_train_param"]
    assert float(tree_param["eta"]) == pytest.approx(0.1) and int(tree_param["max_depth"]) == 3  # not reset by reload
    plain = xgb.train(params, xgb.DMatrix(X, y, base_margin=np.full(len(y), init)), 25, obj=go.xgboost_objective(obj))
    dtest = xgb.DMatrix(Xt, base_margin=np.full(len(yt), init))
    assert obj.loss(yt, renewed.predict(dtest, output_margin=True)) < obj.loss(yt, plain.predict(dtest, output_margin=True))


def _sum_bound(booster, k, init):
    """|XGBoost's float32 margin - the exact sum of the same float32 terms| <= (k + 1) u sum|terms| (recursive
    summation of k + 1 terms, first order), with sum|terms| <= |init| + k * max|leaf| over the first k trees."""
    max_leaf = max(np.abs(t["split_conditions"]).max() for t in _trees(booster)[:k])
    return (k + 1) * U32 * (abs(init) + k * max_leaf)


def _loss_bound(booster, k, alpha, init):
    """The pinball loss is max(alpha, 1 - alpha)-Lipschitz in the margin."""
    return max(alpha, 1 - alpha) * _sum_bound(booster, k, init)


@pytest.mark.parametrize("metric", ["own", "builtin"])
def test_xgboost_evaluation_log_is_that_of_the_renewed_model(rng, metric):
    X, y = _synthetic(rng, 500)
    Xv, yv = _synthetic(rng, 300)
    wv = rng.uniform(0.5, 2.0, size=len(yv))
    alpha = 0.8
    obj = go.QuantileLoss(alpha)
    init = obj.init_score(y)
    dtrain = xgb.DMatrix(X, y, base_margin=np.full(len(y), init))
    dvalid = xgb.DMatrix(Xv, yv, weight=wv, base_margin=np.full(len(yv), init))
    renewal = xgboost_quantile_leaf_renewal(obj, dtrain, valid_X={"train": dtrain, "valid": dvalid})
    params = {**XGB_PARAMS, "eta": 0.3, "max_depth": 3}
    kw = {"custom_metric": xgb_loss_metric(obj)}
    if metric == "builtin":
        params, kw = {**params, "eval_metric": "quantile", "quantile_alpha": alpha}, {}
    name = "quantile_loss" if metric == "own" else "quantile"
    record = {}
    booster = xgb.train(params, dtrain, 15, obj=go.xgboost_objective(renewal.objective), callbacks=[renewal],
                        evals=[(dtrain, "train"), (dvalid, "valid")], evals_result=record, verbose_eval=False, **kw)
    for data, yy, ww in ((dtrain, y, None), (dvalid, yv, wv)):
        history = record["train" if data is dtrain else "valid"][name]
        assert len(history) == 15
        for k in (1, 7, 15):
            pred = booster.predict(data, output_margin=True, iteration_range=(0, k))
            assert abs(history[k - 1] - obj.loss(yy, pred, sample_weight=ww)) <= _loss_bound(booster, k, alpha, init)
    np.testing.assert_allclose(renewal._valid["valid"].score, booster.predict(dvalid, output_margin=True),
                               rtol=0, atol=_sum_bound(booster, 15, init))


def test_xgboost_early_stopping_keeps_renewed_leaves(rng):
    # Stopping decisions are taken on the renewed losses: on exact (integer) data, early stopping with this
    # renewal stops where the JSON rewrite stops when its evaluations are recomputed from the rewritten model,
    # with the same model. (XGBoost's own log is stale: computed before the callbacks, and for this renewal from
    # un-renewed leaves.)
    X, y = _integer_data(rng, 300)
    Xv, yv = _integer_data(rng, 200)
    alpha = 0.3
    obj = go.QuantileLoss(alpha)
    init = obj.init_score(y)
    params = {**XGB_PARAMS, "eta": 0.5, "max_depth": 4}

    def fit(make_callback, save_best):
        dtrain = xgb.DMatrix(X, y, base_margin=np.full(len(y), init))
        dvalid = xgb.DMatrix(Xv, yv, base_margin=np.full(len(yv), init))
        callback, objective = make_callback(dtrain, dvalid)
        record = {}
        stop = xgb.callback.EarlyStopping(rounds=3, save_best=save_best)
        booster = xgb.train(params, dtrain, 60, obj=go.xgboost_objective(objective), callbacks=[callback, stop],
                            evals=[(dvalid, "valid")], custom_metric=xgb_loss_metric(obj), evals_result=record,
                            verbose_eval=False)
        return booster, record["valid"]["quantile_loss"], dvalid

    def renewal(dtrain, dvalid):
        r = xgboost_quantile_leaf_renewal(obj, dtrain, valid_X={"valid": dvalid})
        return r, r.objective

    ref, ref_history, _ = fit(
        lambda dt, dv: (_JSONRewriteRenewal(alpha, dt, previous="predict", valid={"valid": dv}), obj), False
    )
    for save_best in (False, True):
        new, history, dvalid = fit(renewal, save_best)
        assert len(history) < 60  # it stopped early
        assert history == ref_history and new.best_iteration == ref.best_iteration
        assert new.best_iteration == int(np.argmin(history))
        best = new.best_iteration + 1
        pred = new.predict(dvalid, output_margin=True, iteration_range=(0, best))
        np.testing.assert_array_equal(pred, ref.predict(dvalid, output_margin=True, iteration_range=(0, best)))
        assert obj.loss(yv, pred) == history[best - 1]
        assert new.num_boosted_rounds() == (best if save_best else len(history))


def test_xgboost_constant_target_and_single_leaf_trees_stay_at_the_start(rng):
    # No split (constant target, or min_child_weight above the row count): every tree is a single leaf. As
    # reg:quantileerror does, the leaf is renewed: the residual quantile is 0, so the model stays at the start
    # (a plain Newton leaf would move it by -eta (1 - alpha) n / (n + lambda) every round).
    X = rng.normal(size=(30, 3))
    for y, extra in ((np.full(30, 2.0), {}), (X[:, 0], {"min_child_weight": 100})):
        obj = go.QuantileLoss(0.7)
        init = obj.init_score(y)
        dtrain = xgb.DMatrix(X, y, base_margin=np.full(30, init))
        renewal = xgboost_quantile_leaf_renewal(obj, X)
        booster = xgb.train({**XGB_PARAMS, **extra}, dtrain, 5, obj=go.xgboost_objective(renewal.objective),
                            callbacks=[renewal])
        assert all(len(t["split_conditions"]) == 1 for t in _trees(booster))
        np.testing.assert_array_equal(booster.predict(dtrain, output_margin=True), np.float32(init))


def test_xgboost_continued_training_equals_one_run(rng):
    X, y = _integer_data(rng, 300)
    obj = go.QuantileLoss(0.6)
    init = obj.init_score(y)
    params = {**XGB_PARAMS, "eta": 0.5, "max_depth": 3}

    def fit(rounds, xgb_model=None):
        dtrain = xgb.DMatrix(X, y, base_margin=np.full(len(y), init))
        r = xgboost_quantile_leaf_renewal(obj, dtrain)
        b = xgb.train(params, dtrain, rounds, obj=go.xgboost_objective(r.objective), callbacks=[r], xgb_model=xgb_model)
        return b, r

    one, _ = fit(10)
    first, _ = fit(4)
    second, r = fit(6, xgb_model=first)
    assert r.n_renewed_ == 6 and second.num_boosted_rounds() == 10
    d = xgb.DMatrix(X, base_margin=np.full(len(y), init))
    np.testing.assert_array_equal(second.predict(d, output_margin=True), one.predict(d, output_margin=True))


def test_xgboost_renewal_misuse_raises(rng):
    X, y = _synthetic(rng, 100)
    obj = go.QuantileLoss(0.5)
    dtrain = xgb.DMatrix(X, y)
    renewal = xgboost_quantile_leaf_renewal(obj, dtrain)
    with pytest.raises(ValueError, match="renewal.objective"):  # trained with another objective
        xgb.train(XGB_PARAMS, dtrain, 2, obj=go.xgboost_objective(obj), callbacks=[renewal])
    with pytest.raises(ValueError, match="callbacks=\\[renewal\\]"):  # the objective without its callback
        xgb.train(XGB_PARAMS, dtrain, 2, obj=go.xgboost_objective(renewal.objective))
    renewal = xgboost_quantile_leaf_renewal(obj, dtrain)
    with pytest.raises(ValueError, match="num_parallel_tree"):
        xgb.train({**XGB_PARAMS, "num_parallel_tree": 2}, dtrain, 2, obj=go.xgboost_objective(renewal.objective),
                  callbacks=[renewal])
    with pytest.raises(ValueError, match="gbtree"):
        xgb.train({**XGB_PARAMS, "booster": "dart"}, dtrain, 2, obj=go.xgboost_objective(renewal.objective),
                  callbacks=[renewal])
    with pytest.raises(TypeError, match="QuantileLoss"):
        xgboost_quantile_leaf_renewal(go.HuberLoss(), dtrain)
    with pytest.raises(TypeError, match="dtrain_or_X"):
        XGBoostQuantileLeafRenewal(obj, None)
    with pytest.raises(TypeError, match="valid_X\\['v'\\]"):
        xgboost_quantile_leaf_renewal(obj, dtrain, valid_X={"v": X})
    with pytest.raises(ValueError, match="method"):
        xgboost_quantile_leaf_renewal(obj, dtrain, method="x")
    # the objective pickles as a plain QuantileLoss
    back = pickle.loads(pickle.dumps(renewal.objective))
    assert type(back) is go.QuantileLoss and back.alpha == 0.5


def test_xgboost_leaf_without_training_rows_keeps_xgboost_value(rng, monkeypatch):
    # Every XGBoost leaf normally holds training rows; should one not (renewed value NaN), the leaf keeps XGBoost's
    # value in the model *and* in the kept margins. Simulated by hiding the last leaf of every tree from the renewal.
    import gbm_objectives.adapters.xgboost_renewal as module

    def hide_last_leaf(y, score, leaf, alpha, **kw):
        out = renewed_leaf_values(y, score, leaf, alpha, **kw)
        out[leaf.max()] = np.nan
        return out

    monkeypatch.setattr(module, "renewed_leaf_values", hide_last_leaf)
    X, y = _synthetic(rng, 300)
    Xv, yv = _synthetic(rng, 200)
    obj = go.QuantileLoss(0.6)
    init = obj.init_score(y)
    dtrain = xgb.DMatrix(X, y, base_margin=np.full(len(y), init))
    dvalid = xgb.DMatrix(Xv, yv, base_margin=np.full(len(yv), init))
    renewal = xgboost_quantile_leaf_renewal(obj, dtrain, valid_X={"valid": dvalid})
    booster = xgb.train({**XGB_PARAMS, "eta": 0.3, "max_depth": 3}, dtrain, 8,
                        obj=go.xgboost_objective(renewal.objective), callbacks=[renewal])
    for data, score in ((dtrain, renewal._score), (dvalid, renewal._valid["valid"].score)):
        pred = booster.predict(data, output_margin=True)
        np.testing.assert_allclose(score, pred, rtol=0, atol=_sum_bound(booster, 8, init))


@pytest.mark.parametrize("data", ["nan", "sparse_missing_zero", "categorical"])
def test_xgboost_leaf_walk_equals_pred_leaf(rng, data):
    # The renewal walks each new tree itself on dense float32 features (NaN = missing); XGBoost's pred_leaf is the
    # reference, with missing values (NaN, or absent entries of a DMatrix built with missing=0), and with a
    # categorical split (such trees fall back to pred_leaf)
    from gbm_objectives.adapters.xgboost_renewal import _dense_features

    X = rng.normal(size=(400, 5)).round(1)  # ties with split thresholds on purpose
    y = X[:, 0] + rng.normal(size=400)
    if data == "nan":
        X[rng.random(X.shape) < 0.2] = np.nan
        d = xgb.DMatrix(X, y)
    elif data == "sparse_missing_zero":
        X[rng.random(X.shape) < 0.3] = 0.0
        d = xgb.DMatrix(X, y, missing=0.0)
    else:
        pd = pytest.importorskip("pandas")
        frame = pd.DataFrame(X, columns=list("abcde"))
        frame["c"] = pd.Categorical(rng.integers(0, 4, size=400))
        y = y + 2.0 * (frame["c"].cat.codes.to_numpy() == 2)
        d = xgb.DMatrix(frame, y, enable_categorical=True)
    booster = xgb.train({**XGB_PARAMS, "max_depth": 4, "eta": 0.3}, d, 10)
    features = _dense_features(d)
    walked = 0
    for t in range(10):
        tree = booster[t : t + 1]
        nodes = _trees(tree)[0]
        walk = XGBoostQuantileLeafRenewal._walker(nodes)
        walked += walk is not None
        got = XGBoostQuantileLeafRenewal._leaves(walk, tree, d, features)
        np.testing.assert_array_equal(got, tree.predict(d, pred_leaf=True).astype(np.int64))
    assert (walked < 10) if data == "categorical" else (walked == 10)


def test_xgboost_renewal_follows_a_learning_rate_schedule(rng):
    # eta is read after every round: with a LearningRateScheduler listed after the renewal, the model equals the
    # JSON rewrite's bit for bit (integer labels, dyadic rates: exact in float32)
    X, y = _integer_data(rng, 300)
    obj = go.QuantileLoss(0.4)
    init = obj.init_score(y)

    def schedule():
        return xgb.callback.LearningRateScheduler(lambda i: 0.5 if i < 3 else 0.25)  # sets round i + 1

    d_ref = xgb.DMatrix(X, y, base_margin=np.full(len(y), init))
    ref = xgb.train({**XGB_PARAMS, "eta": 0.5, "max_depth": 3}, d_ref, 8, obj=go.xgboost_objective(obj),
                    callbacks=[_JSONRewriteRenewal(0.4, d_ref, previous="predict"), schedule()])
    d_new = xgb.DMatrix(X, y, base_margin=np.full(len(y), init))
    renewal = xgboost_quantile_leaf_renewal(obj, d_new)
    new = xgb.train({**XGB_PARAMS, "eta": 0.5, "max_depth": 3}, d_new, 8, obj=go.xgboost_objective(renewal.objective),
                    callbacks=[renewal, schedule()])
    d = xgb.DMatrix(X, base_margin=np.full(len(y), init))
    np.testing.assert_array_equal(new.predict(d, output_margin=True), ref.predict(d, output_margin=True))


def test_xgboost_renewal_through_json_is_the_ubjson_one(rng, monkeypatch):
    # A model document the UBJSON reader does not recognise goes through JSON (the round's trees, the final edit):
    # the same model, bit for bit, for one output and several, with missing values.
    import gbm_objectives.adapters.xgboost_renewal as module

    X, y = _synthetic(rng, 600)
    X[rng.random(X.shape) < 0.1] = np.nan

    def fit(objective):
        res = go.train(objective, X, y, num_boost_round=6, n_jobs=1, backend="xgboost", params={"max_depth": 3})
        return res.predict_raw(X), res.booster.predict(xgb.DMatrix(X), pred_leaf=True)

    for objective in (go.MultiQuantileLoss((0.1, 0.5, 0.9)), go.QuantileLoss(0.7)):
        ubjson = fit(objective)
        with monkeypatch.context() as m:
            m.setattr(module, "tree_arrays", lambda raw, n_trees: None)
            m.setattr(module, "write_leaf_values", lambda raw, n_trees, renewed: False)
            through_json = fit(objective)
        for got, expected in zip(ubjson, through_json):
            np.testing.assert_array_equal(got, expected)


def test_xgboost_validation_set_with_fewer_columns_than_the_model_is_padded_with_missing(rng):
    # XGBoost accepts an evaluation set with fewer columns than the model (an absent column is missing): the kept
    # margins of such a set are XGBoost's own predictions (the walk must not read past its columns).
    X, y = _synthetic(rng, 400)
    Xv, yv = _synthetic(rng, 300)
    y = y + 3.0 * (X[:, 3] > 0)  # splits on the last features, those the narrow set lacks
    obj = go.QuantileLoss(0.7)
    init = obj.init_score(y)
    dtrain = xgb.DMatrix(X, y, base_margin=np.full(len(y), init))
    dvalid = xgb.DMatrix(Xv[:, :2], yv, base_margin=np.full(len(yv), init))
    renewal = xgboost_quantile_leaf_renewal(obj, dtrain, valid_X={"valid": dvalid})
    booster = xgb.train({**XGB_PARAMS, "eta": 0.3, "max_depth": 3}, dtrain, 6,
                        obj=go.xgboost_objective(renewal.objective), callbacks=[renewal])
    assert booster.num_features() == 4 and dvalid.num_col() == 2
    assert {t["split_indices"][0] for t in _trees(booster)} & {2, 3}  # trees split on the absent features
    np.testing.assert_allclose(renewal._valid["valid"].score, booster.predict(dvalid, output_margin=True), rtol=0,
                               atol=_sum_bound(booster, 6, init))


@pytest.mark.parametrize("dense", ["valid", "none"])
def test_xgboost_pred_leaf_runs_once_per_data_set_and_round(rng, monkeypatch, dense):
    # Without dense features (too large, simulated) the leaves come from XGBoost's pred_leaf: one call per data set
    # and round for the round's K trees, not one per tree; the kept margins are still XGBoost's predictions.
    import gbm_objectives.adapters.xgboost_renewal as module

    X, y = _synthetic(rng, 300)
    Xv, yv = _synthetic(rng, 200)
    obj = go.MultiQuantileLoss((0.2, 0.5, 0.8))
    init = obj.init_score(y)
    dtrain = xgb.DMatrix(X, y, base_margin=np.tile(init, (len(y), 1)))
    dvalid = xgb.DMatrix(Xv, yv, base_margin=np.tile(init, (len(yv), 1)))
    dense_features = module._dense_features
    monkeypatch.setattr(module, "_dense_features",
                        lambda dm, n=0: dense_features(dm, n) if dense == "valid" and dm is dtrain else None)
    calls = []
    predict = xgb.Booster.predict

    def counting_predict(self, data, *args, **kw):
        calls.append(kw.get("pred_leaf", False))
        return predict(self, data, *args, **kw)

    monkeypatch.setattr(xgb.Booster, "predict", counting_predict)
    renewal = xgboost_quantile_leaf_renewal(obj, dtrain, valid_X={"valid": dvalid})
    booster = xgb.train({**XGB_PARAMS, "eta": 0.3, "max_depth": 3, "num_class": 3}, dtrain, 4,
                        obj=go.xgboost_objective(renewal.objective), callbacks=[renewal])
    assert sum(calls) == 4 * (1 if dense == "valid" else 2)
    monkeypatch.setattr(xgb.Booster, "predict", predict)
    for data, score in ((dtrain, renewal._score), (dvalid, renewal._valid["valid"].score)):
        np.testing.assert_allclose(score, booster.predict(data, output_margin=True).reshape(score.shape), rtol=0,
                                   atol=_sum_bound(booster, 4, np.abs(init).max()))
