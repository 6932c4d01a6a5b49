"""Learning to rank from clicks: position debiasing ("additive", "ipw"), the click simulator and the IPS metric."""

import json

import numpy as np
import pytest

import gbm_objectives as go
from gbm_objectives.datasets.clicks import LIGHTGBM_CLICK_PROB, pbm_click_prob
from gbm_objectives.datasets import simulate_clicks
from gbm_objectives.objectives import LambdaRankObjective

from conftest import shared_dataset

lgb = pytest.importorskip("lightgbm")


def _queries(rng, n_queries=8, max_size=12, n_labels=3):
    sizes = rng.integers(2, max_size + 1, n_queries)
    n = int(sizes.sum())
    y = rng.integers(0, n_labels, n).astype(np.float64)
    s = np.round(rng.normal(size=n), 3)
    position = np.concatenate([rng.permutation(m) for m in sizes])
    return y, s, sizes, position


# ---------------------------------------------------------------------------------------------------------------
# Gradients with the debiasing state frozen are the exact derivatives of the weighted pairwise loss
# ---------------------------------------------------------------------------------------------------------------
def _frozen_state(obj, rng, prepared):
    c = prepared.cache
    if obj.position_debias == "additive":
        return rng.normal(scale=0.5, size=len(c["position_bias"]))
    k = len(c["t_plus"])
    t_plus = rng.uniform(0.2, 1.5, k)
    t_minus = rng.uniform(0.2, 1.5, k)
    t_plus[0] = t_minus[0] = 1.0
    return {"t_plus": t_plus, "t_minus": t_minus}


@pytest.mark.parametrize("debias", ["additive", "ipw"])
@pytest.mark.parametrize("norm", [True, False])
def test_lambdas_with_frozen_state_match_finite_differences(debias, norm, rng):
    y, s, sizes, position = _queries(rng)
    obj = LambdaRankObjective(position_debias=debias, norm=norm, truncation_level=5, sigmoid=1.3)
    prepared = obj.prepare(y, group=sizes, position=position)
    state = _frozen_state(obj, rng, prepared)
    obj._set_state(prepared.cache, state)
    prepared.cache["update_position_bias"] = False
    grad, hess = obj.grad_hess_prepared(prepared, s)
    assert obj.position_bias(prepared) is not None  # frozen: unchanged below
    hi, lo, wt = obj.pairs(y, s, group=sizes, position=position, position_bias=state)
    assert len(hi) > 0 and (wt > 0).all()
    shift = state[position] if debias == "additive" else 0.0

    def frozen_loss(z):
        z = z + shift
        return float(np.sum(wt * np.logaddexp(0.0, -obj.sigmoid * (z[hi] - z[lo]))))

    def frozen_grad(z):
        z = z + shift
        p = 1.0 / (1.0 + np.exp(obj.sigmoid * (z[hi] - z[lo])))
        g = np.zeros(len(z))
        np.add.at(g, hi, -obj.sigmoid * p * wt)
        np.add.at(g, lo, obj.sigmoid * p * wt)
        return g

    eps = 1e-5
    fd_g, fd_h = np.empty(len(s)), np.empty(len(s))
    for r in range(len(s)):
        e = np.zeros(len(s))
        e[r] = eps
        fd_g[r] = (frozen_loss(s + e) - frozen_loss(s - e)) / (2 * eps)
        fd_h[r] = (frozen_grad(s + e)[r] - frozen_grad(s - e)[r]) / (2 * eps)
    np.testing.assert_allclose(grad, fd_g, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(hess, fd_h, rtol=1e-6, atol=1e-9)
    # and the frozen state did not move
    after = obj.position_bias(prepared)
    if debias == "additive":
        np.testing.assert_array_equal(after, state)
    else:
        np.testing.assert_array_equal(after["t_plus"], state["t_plus"][: len(after["t_plus"])])


def test_ipw_with_unit_propensities_is_plain_lambdarank_and_additive_with_zero_bias_too(rng):
    y, s, sizes, position = _queries(rng)
    plain = LambdaRankObjective().grad_hess(y, s, group=sizes)
    for debias in ("additive", "ipw"):
        got = LambdaRankObjective(position_debias=debias).grad_hess(y, s, group=sizes, position=position)
        np.testing.assert_allclose(got[0], plain[0], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(got[1], plain[1], rtol=1e-12, atol=1e-15)


def test_additive_update_is_lightgbms_newton_step(rng):
    """b_p += lr (-sum grad - reg b n_p) / (|-sum hess - reg n_p| + 0.001), from the round's own gradients."""
    y, s, sizes, position = _queries(rng)
    obj = LambdaRankObjective(position_debias="additive", position_bias_regularization=0.3)
    prepared = obj.prepare(y, group=sizes, position=position)
    prepared.cache["bias_learning_rate"] = 0.2
    b0 = rng.normal(size=len(prepared.cache["position_bias"]))
    prepared.cache["position_bias"] = b0.copy()
    grad, hess = obj.grad_hess_prepared(prepared, s)
    expected = b0.copy()
    for p in range(len(b0)):
        rows = position == p
        first = -grad[rows].sum() - b0[p] * 0.3 * rows.sum()
        second = -hess[rows].sum() - 0.3 * rows.sum()
        expected[p] += 0.2 * first / (abs(second) + 0.001)
    np.testing.assert_allclose(obj.position_bias(prepared), expected, rtol=1e-12, atol=1e-14)


def test_ipw_update_follows_xgboost(rng):
    """t+ and t- from the pair costs, normalised at position 0, to the power 1 / (1 + bias_norm); written here
    pair by pair from the definition (XGBoost's lambdarank_obj.cc), against the kernel."""
    y, s, sizes, position = _queries(rng, n_queries=6, max_size=9)
    obj = LambdaRankObjective(position_debias="ipw", truncation_level=4, bias_norm=0.5, norm=True)
    prepared = obj.prepare(y, group=sizes, position=position)
    k = len(prepared.cache["t_plus"])
    t_plus0 = np.linspace(1.0, 0.5, k)
    t_minus0 = np.linspace(1.0, 0.7, k)
    obj._set_state(prepared.cache, {"t_plus": t_plus0, "t_minus": t_minus0})
    obj.grad_hess_prepared(prepared, s)
    L_plus, L_minus = np.zeros(k), np.zeros(k)
    gains = 2.0 ** y - 1
    a = 0
    for n in sizes:
        q = slice(a, a + n)
        order = np.argsort(-s[q], kind="stable")
        yy, ss, pp, gg = y[q][order], s[q][order], position[q][order], gains[q][order]
        max_dcg = np.sum(np.sort(gg)[::-1][: obj.truncation_level] / np.log2(np.arange(min(n, 4)) + 2))
        spread = ss[0] != ss[-1]
        for i in range(min(n - 1, obj.truncation_level)):
            for j in range(i + 1, n):
                if yy[i] == yy[j]:
                    continue
                h, l_ = (i, j) if yy[i] > yy[j] else (j, i)
                dz = abs(gg[i] - gg[j]) * abs(1 / np.log2(i + 2) - 1 / np.log2(j + 2)) / max_dcg
                if spread:
                    dz /= np.float32(0.01) + abs(ss[i] - ss[j])
                cost = np.logaddexp(0.0, ss[h] - ss[l_]) * dz
                if pp[h] < k and pp[l_] < k:
                    L_plus[pp[h]] += cost / t_minus0[pp[l_]]
                    L_minus[pp[l_]] += cost / t_plus0[pp[h]]
        a += n
    got = obj.position_bias(prepared)
    np.testing.assert_allclose(got["t_plus"], (L_plus / L_plus[0]) ** (1 / 1.5), rtol=1e-10)
    np.testing.assert_allclose(got["t_minus"], (L_minus / L_minus[0]) ** (1 / 1.5), rtol=1e-10)


# ---------------------------------------------------------------------------------------------------------------
# Exactness against LightGBM's Dataset(position=...) on its own example and positions
# ---------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rank_example_positions():
    from sklearn.datasets import load_svmlight_file

    d = shared_dataset("lightgbm_lambdarank")
    X, y = load_svmlight_file(str(d / "rank.train"))
    group = np.loadtxt(d / "rank.train.query").astype(np.int64)
    position = np.array([int(line.strip().split("_")[-1]) for line in open(d / "rank.train.position")])
    Xt, yt = load_svmlight_file(str(d / "rank.test"), n_features=X.shape[1])
    gt = np.loadtxt(d / "rank.test.query").astype(np.int64)
    return X.toarray(), y, group, position, Xt.toarray(), yt, gt


_PARITY_PARAMS = dict(learning_rate=0.1, deterministic=True, num_threads=1, seed=0, verbosity=-1)


@pytest.mark.slow
def test_additive_emulated_equals_lightgbm_position_bitwise(rank_example_positions):
    X, y, group, position, *_ = rank_example_positions
    obj = LambdaRankObjective(position_debias="additive", emulate_lightgbm=True)
    scratch = go.train(obj, X, y, group=group, position=position, params=_PARITY_PARAMS, num_boost_round=50)
    native = lgb.train({**_PARITY_PARAMS, "objective": "lambdarank"},
                       lgb.Dataset(X, y, group=group, position=position), 50)
    plain = lgb.train({**_PARITY_PARAMS, "objective": "lambdarank"}, lgb.Dataset(X, y, group=group), 50)
    ps, pn = scratch.predict_raw(X), native.predict(X, raw_score=True)
    assert np.abs(ps - pn).max() == 0.0  # same biases (float32, as LightGBM keeps them), same trees
    assert np.abs(pn - plain.predict(X, raw_score=True)).max() > 0.1  # the positions did change the model
    bias = scratch.position_bias
    assert bias.shape == (position.max() + 1,) and np.abs(bias[np.unique(position)]).max() > 0.05
    # the native path of go.train is LightGBM's Dataset(position=...)
    via_train = go.train(go.NativeObjective(LambdaRankObjective(position_debias="additive")), X, y, group=group,
                         position=position, params=_PARITY_PARAMS, num_boost_round=50)
    assert np.abs(via_train.predict_raw(X) - pn).max() == 0.0 and via_train.position_bias is None


@pytest.mark.slow
def test_additive_exact_sigmoid_ndcg_close_to_lightgbm(rank_example_positions):
    """Exact sigmoid vs LightGBM's table: after 50 rounds NDCG@3 on the example (rank.train with its positions)
    within 0.005 (measured 0.9945 vs 0.9958). The trees are identical for the first 20 rounds (equal NDCG@3 on
    both files at 10 and 20 rounds), then a near-tie split flips (the ~1e-5 table error, amplified by the
    score-distance division); on the 50 queries of rank.test the two models then differ by 0.006 (0.5993 vs
    0.6053), within the noise of a 50-query NDCG."""
    X, y, group, position, Xt, yt, gt = rank_example_positions
    obj = LambdaRankObjective(position_debias="additive")
    for rounds in (20, 50):
        scratch = go.train(obj, X, y, group=group, position=position, params=_PARITY_PARAMS, num_boost_round=rounds)
        native = go.train(go.NativeObjective(obj), X, y, group=group, position=position, params=_PARITY_PARAMS,
                          num_boost_round=rounds)
        a = go.ndcg_score(y, scratch.predict_raw(X), group=group, k=3)
        b = go.ndcg_score(y, native.predict_raw(X), group=group, k=3)
        assert abs(a - b) <= 0.005, (a, b)
        if rounds == 20:  # before the first flipped split: the same ranking on held-out data too
            a = go.ndcg_score(yt, scratch.predict_raw(Xt), group=gt, k=3)
            b = go.ndcg_score(yt, native.predict_raw(Xt), group=gt, k=3)
            assert abs(a - b) <= 1e-4, (a, b)


# ---------------------------------------------------------------------------------------------------------------
# XGBoost's native lambdarank_unbiased and the scratch "ipw"
# ---------------------------------------------------------------------------------------------------------------
def test_ipw_first_update_matches_xgboost_native(rng):
    """Round 1 (all scores equal, rows already in position order, so both sort alike): the propensities after
    the first update agree with XGBoost's saved ti+/tj- (float32 scores there: 1e-6)."""
    xgb = pytest.importorskip("xgboost")  # noqa: F841
    sizes = rng.integers(4, 12, 40)
    n = int(sizes.sum())
    X = rng.normal(size=(n, 5))
    y = (rng.random(n) < 0.3).astype(np.float64)
    position = np.concatenate([np.arange(m) for m in sizes])
    obj = LambdaRankObjective(position_debias="ipw", truncation_level=8, normalize="off")
    native = go.train(go.NativeObjective(obj), X, y, group=sizes, position=position, backend="xgboost",
                      num_boost_round=1, init_score=None, params={"base_score": 0.0})
    scratch = go.train(obj, X, y, group=sizes, position=position, backend="xgboost", num_boost_round=1,
                       init_score=None)
    for key in ("t_plus", "t_minus"):
        np.testing.assert_allclose(scratch.position_bias[key], native.position_bias[key], rtol=1e-6)


def test_xgboost_native_ipw_needs_permutation_positions(rng):
    pytest.importorskip("xgboost")
    X = rng.normal(size=(6, 2))
    y = np.array([1.0, 0, 0, 1, 0, 0])
    native = go.NativeObjective(LambdaRankObjective(position_debias="ipw", normalize="off"))
    with pytest.raises(ValueError, match=r"positions of query 1 must be 0..2.*row 5 has position 5"):
        go.train(native, X, y, group=[3, 3], position=[2, 1, 0, 0, 1, 5], backend="xgboost", num_boost_round=1)


def test_native_combinations_the_engines_lack_point_to_scratch():
    with pytest.raises(ValueError, match="objective='scratch'"):
        go.LambdaMART(objective="native", backend="xgboost", position_debias="additive")._check_params()
    with pytest.raises(ValueError, match="objective='scratch'"):
        go.LambdaMART(objective="native", backend="lightgbm", position_debias="ipw")._check_params()
    with pytest.raises(ValueError, match="emulate_lightgbm"):
        LambdaRankObjective(position_debias="ipw", emulate_lightgbm=True)


@pytest.mark.parametrize("backend", ["lightgbm", "xgboost"])
@pytest.mark.parametrize("debias", ["additive", "ipw"])
def test_lambdamart_fit_with_positions_exposes_position_bias(backend, debias, rng):
    X, y, qid = go.datasets.make_ranking(n_queries=30, docs_per_query=(5, 10), n_features=5, seed=0)
    clicks, position = simulate_clicks(y, qid=qid, ranking_score=X[:, 0], seed=1)
    model = go.LambdaMART(objective="scratch", backend=backend, position_debias=debias, n_estimators=3, n_jobs=1)
    model.fit(X, clicks, qid=qid, position=position)
    if debias == "additive":
        assert model.position_bias_.shape == (position.max() + 1,)
    else:
        assert set(model.position_bias_) == {"t_plus", "t_minus"} and model.position_bias_["t_plus"][0] == 1.0


# ---------------------------------------------------------------------------------------------------------------
# LightGBM's position-bias test protocol (test_engine.py, simulate_position_bias), through the scratch objective
# ---------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cascade_protocol():
    from sklearn.datasets import load_svmlight_file

    d = shared_dataset("lightgbm_lambdarank")
    # zero_based=True keeps the file's feature ids as column numbers: column 34 is LightGBM's baseline feature 34
    X, y = load_svmlight_file(str(d / "rank.train"), zero_based=True)
    Xt, yt = load_svmlight_file(str(d / "rank.test"), zero_based=True, n_features=X.shape[1])
    group = np.loadtxt(d / "rank.train.query").astype(np.int64)
    gt = np.loadtxt(d / "rank.test.query").astype(np.int64)
    X, Xt = X.toarray(), Xt.toarray()
    clicks, position = simulate_clicks(y, group=group, ranking_score=X[:, 34], model="cascade",
                                       click_prob=LIGHTGBM_CLICK_PROB, stop_prob=0.2, seed=10)
    return X, clicks, group, position, Xt, yt, gt


_PROTOCOL = {"lightgbm": dict(min_data_in_leaf=50, min_sum_hessian_in_leaf=5.0, bagging_freq=1, bagging_fraction=0.9),
             "xgboost": dict(min_child_weight=5.0, subsample=0.9)}


def _best_ndcg3(backend, debias, data):
    X, clicks, group, position, Xt, yt, gt = data
    obj = LambdaRankObjective(position_debias=debias)
    res = go.train(obj, X, clicks, group=group, position=None if debias is None else position, backend=backend,
                   params=_PROTOCOL[backend], num_boost_round=50, eval_set=[(Xt, yt)], eval_group=[gt],
                   metric="ndcg@3", n_jobs=1)
    return max(res.evals_result["valid_0"]["ndcg@3"])


# "ipw" with XGBoost's defaults (normalisation after the propensity weighting, bias_norm=1) missed the +0.03 target
# here (LightGBM / XGBoost scratch 0.4421 / 0.4391, native lambdarank_unbiased 0.4405, from biased 0.4318 / 0.4382):
# the normalisation flattened the inverse propensity weights. The defaults now normalise before the weighting with
# bias_norm=0 (measured over 5 logs per cell in BENCHMARKS "clicks"); on this log 0.4638 / 0.4883, and "cascade"
# (rows below the last click dropped) 0.5446 / 0.5000.
@pytest.mark.slow
@pytest.mark.parametrize("backend, debias", [
    ("lightgbm", "additive"), ("xgboost", "additive"), ("lightgbm", "cascade"), ("xgboost", "cascade"),
    ("lightgbm", "ipw"), ("xgboost", "ipw"),
])
def test_lightgbm_position_bias_protocol(backend, debias, cascade_protocol):
    """Debiased best NDCG@3 on rank.test's true labels >= biased + 0.03 (LightGBM's own threshold), 50 rounds,
    LightGBM's test parameters (bagging 0.9, min_data_in_leaf 50, min_sum_hessian_in_leaf 5; XGBoost: subsample
    0.9, min_child_weight 5). Measured additive: LightGBM 0.4318 -> 0.4778 (native LightGBM: 0.4778), XGBoost
    0.4382 -> 0.5284; ipw (defaults: normalize="before", bias_norm=0) 0.4638 / 0.4883; cascade 0.5446 / 0.5000."""
    biased = _best_ndcg3(backend, None, cascade_protocol)
    debiased = _best_ndcg3(backend, debias, cascade_protocol)
    assert debiased >= biased + 0.03, (backend, debias, biased, debiased)


# ---------------------------------------------------------------------------------------------------------------
# The click simulator
# ---------------------------------------------------------------------------------------------------------------
def test_pbm_click_rates_match_examination_times_relevance():
    """Many rows at every (position, label): the empirical click rate is theta_p * click_prob[label] within
    4 binomial standard errors."""
    n_q, m = 4000, 6
    y = np.tile(np.arange(m) % 3, n_q).astype(float)
    clicks, position = simulate_clicks(y, group=[m] * n_q, eta=1.5, seed=3)
    np.testing.assert_array_equal(position, np.tile(np.arange(m), n_q))
    table = pbm_click_prob(2)
    for p in range(m):
        rows = position == p
        expected = (1 / (p + 1)) ** 1.5 * table[int(y[rows][0])]
        se = np.sqrt(expected * (1 - expected) / rows.sum())
        assert abs(clicks[rows].mean() - expected) <= 4 * se


def test_cascade_follows_the_displayed_order_and_stops():
    y = np.full(50, 4.0)
    clicks, position = simulate_clicks(y, group=[50], ranking_score=-np.arange(50.0), model="cascade",
                                       click_prob=[1.0], stop_prob=1.0, seed=0)
    assert clicks.tolist() == [1.0] + [0.0] * 49 and position.tolist() == list(range(50))
    clicks, _ = simulate_clicks(y, group=[50], model="cascade", click_prob=[1.0], stop_prob=0.0)
    assert clicks.sum() == 50


# ---------------------------------------------------------------------------------------------------------------
# IPS DCG: unbiased under the PBM (Monte Carlo)
# ---------------------------------------------------------------------------------------------------------------
def test_ips_dcg_is_unbiased_under_pbm(rng):
    """Logs under a logging ranker; the IPS estimate of another ranking's DCG@5, averaged over M logs, equals
    its DCG@5 with gain P(click | examined, label). Tolerance: 4 standard errors of the Monte Carlo mean (the
    spread of the M estimates / sqrt(M)); the naive estimate (propensities 1) must miss by more than that."""
    n_q, m, k, M = 100, 8, 5, 400
    y = rng.integers(0, 3, n_q * m).astype(float)
    group = [m] * n_q
    logging_score = rng.normal(size=len(y))
    new_score = y + rng.normal(scale=1.0, size=len(y))
    theta = (1.0 / np.arange(1, m + 1)) ** 1.0
    gains = pbm_click_prob(2)[y.astype(int)]
    truth = float(np.mean([  # DCG@k of the new ranking with those gains, per query (stable descending order)
        np.sum(gains[a:a + m][np.argsort(-new_score[a:a + m], kind="stable")][:k] / np.log2(np.arange(k) + 2))
        for a in range(0, n_q * m, m)]))
    ips, naive = np.empty(M), np.empty(M)
    for t in range(M):
        clicks, position = simulate_clicks(y, group=group, ranking_score=logging_score, eta=1.0, seed=t)
        ips[t] = go.ips_dcg_score(clicks, new_score, position, theta, group=group, k=k)
        naive[t] = go.ips_dcg_score(clicks, new_score, position, np.ones(m), group=group, k=k)
    se = ips.std(ddof=1) / np.sqrt(M)
    assert abs(ips.mean() - truth) <= 4 * se, (ips.mean(), truth, se)
    assert abs(naive.mean() - truth) > 4 * naive.std(ddof=1) / np.sqrt(M)


# ---------------------------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("position, match", [
    ([0, 1], r"position has 2 rows but y_true has 4"),
    ([0, -1, 0, 1], r"non-negative .* got -1 at index 1"),
    ([0, 1.5, 0, 1], r"integer positions; got 1.5 at index 1"),
    ([0, 1, np.nan, 1], r"non-finite value nan at index 2"),
    (["a", "b", "c", "d"], r"position must be a numeric array"),
])
def test_bad_positions_raise(position, match):
    obj = LambdaRankObjective(position_debias="additive")
    with pytest.raises((ValueError, TypeError), match=match):
        obj.grad_hess([1.0, 0, 1, 0], np.zeros(4), group=[2, 2], position=position)
    with pytest.raises((ValueError, TypeError), match=match):
        go.ips_dcg_score([1.0, 0, 1, 0], np.zeros(4), position, [1.0, 0.5], group=[2, 2])


def test_position_without_debias_is_an_error_and_debias_without_position_too(rng):
    X = rng.normal(size=(4, 2))
    with pytest.raises(ValueError, match="position_debias is None"):
        LambdaRankObjective().grad_hess([1.0, 0, 1, 0], np.zeros(4), group=[2, 2], position=[0, 1, 0, 1])
    with pytest.raises(ValueError, match="would learn the click bias"):
        go.train("lambdarank", X, [1.0, 0, 1, 0], group=[2, 2], position=[0, 1, 0, 1], num_boost_round=1)
    with pytest.raises(ValueError, match="needs position="):
        go.train(LambdaRankObjective(position_debias="ipw"), X, [1.0, 0, 1, 0], group=[2, 2], num_boost_round=1)
    with pytest.raises(ValueError, match="position_debias must be one of"):
        LambdaRankObjective(position_debias="multiplicative")


def test_non_binary_clicks_refused_where_binary_is_required():
    with pytest.raises(ValueError, match=r"clicks must be 0 or 1.*got 2 at index 1"):
        go.ips_dcg_score([1.0, 2.0], [0.0, 1.0], [0, 1], [1.0, 0.5], group=[2])
    with pytest.raises(ValueError, match=r"y_true must contain non-negative integer relevance labels; got 0.5"):
        simulate_clicks([0.5, 1.0], group=[2])
    with pytest.raises(ValueError, match=r"click_prob must hold probabilities in \[0, 1\]; got 1.5 at index 1"):
        simulate_clicks([0.0, 1.0], group=[2], click_prob=[0.1, 1.5])
    with pytest.raises(ValueError, match=r"propensity must be > 0 where a click was logged"):
        go.ips_dcg_score([1.0, 0.0], [0.0, 1.0], [1, 0], [1.0, 0.0], group=[2])


def test_cli_simulate_clicks_writes_letor_copy_and_position_file(tmp_path):
    from gbm_objectives.cli import main
    from gbm_objectives.datasets import load_letor

    src = tmp_path / "train.txt"
    src.write_text("2 qid:1 1:0.5 2:0.1\n0 qid:1 1:0.9 2:0.2\n1 qid:2 1:0.1 2:0.3\n0 qid:2 1:0.2 2:0.4\n")
    out = tmp_path / "clicks.txt"
    assert main(["simulate-clicks", "--data", str(src), "--out", str(out), "--ranking-feature", "0", "-q"]) == 0
    X, clicks, qid = load_letor(str(out))
    assert set(np.unique(clicks)) <= {0.0, 1.0} and X.shape == (4, 2) and list(qid) == [1, 1, 2, 2]
    assert (tmp_path / "clicks.txt.position").read_text().split() == ["1", "0", "1", "0"]
    assert main(["simulate-clicks", "--data", str(tmp_path / "nope.txt"), "--out", str(out)]) == 2


def test_position_bias_is_saved_with_the_model(tmp_path):
    """go.save_model keeps the learned position biases; go.load_model gives them back."""
    from gbm_objectives.datasets import make_ranking, simulate_clicks

    X, y, qid = make_ranking(n_queries=40, docs_per_query=(5, 10), n_features=4, seed=0)
    clicks, position = simulate_clicks(y, qid=qid, seed=0)
    obj = go.LambdaRankObjective(position_debias="additive")
    res = go.train(obj, X, clicks, qid=qid, position=position, num_boost_round=5, n_jobs=1)
    assert res.position_bias is not None
    go.save_model(tmp_path / "m", res)
    back = go.load_model(tmp_path / "m")
    assert np.array_equal(np.asarray(back.position_bias), np.asarray(res.position_bias, dtype=np.float64))
    assert np.array_equal(back.predict_raw(X), res.predict_raw(X))


def test_cli_position_column_and_position_sibling(tmp_path, capsys):
    """train --position COL (CSV/Parquet) and a LETOR file's .position sibling feed position_debias; a missing
    position is an input error naming the option; the learned biases are saved with the model."""
    import pandas as pd

    from gbm_objectives.cli import main
    from gbm_objectives.datasets import make_ranking, simulate_clicks

    X, y, qid = make_ranking(n_queries=40, docs_per_query=(5, 10), n_features=4, seed=0)
    clicks, position = simulate_clicks(y, qid=qid, seed=0)
    frame = pd.DataFrame(X, columns=list("abcd")).assign(click=clicks, q=qid, pos=position)
    csv = tmp_path / "clicks.csv"
    frame.to_csv(csv, index=False)
    base = ["train", "--train", str(csv), "--label", "click", "--group", "q", "--objective", "lambdarank",
            "--param", "position_debias=additive", "--rounds", "4", "--threads", "1", "-q"]
    assert main([*base, "--position", "pos", "--out", str(tmp_path / "a")]) == 0
    meta = json.loads((tmp_path / "a" / "model" / "meta.json").read_text())
    assert meta["feature_names"] == list("abcd") and len(meta["position_bias"]) == int(position.max()) + 1
    assert main([*base, "--out", str(tmp_path / "b")]) == 2
    assert "position_debias needs the displayed positions (--position COL" in capsys.readouterr().err
    letor = tmp_path / "clicks.txt"
    letor.write_text("".join(f"{int(c)} qid:{q} " + " ".join(f"{j + 1}:{v:.5g}" for j, v in enumerate(row)) + "\n"
                             for c, q, row in zip(clicks, qid, X)))
    (tmp_path / "clicks.txt.position").write_text("".join(f"{p}\n" for p in position))
    assert main(["train", "--train", str(letor), "--objective", "lambdarank", "--param", "position_debias=additive",
                 "--rounds", "4", "--threads", "1", "-q", "--out", str(tmp_path / "c")]) == 0
    meta_c = json.loads((tmp_path / "c" / "model" / "meta.json").read_text())
    assert np.allclose(meta_c["position_bias"], meta["position_bias"], atol=1e-6)


# ---------------------------------------------------------------------------------------------------------------
# Sessions, logging policies and the sequential click models (issue 26)
# ---------------------------------------------------------------------------------------------------------------
def test_session_log_layout_and_deterministic_policy():
    """One row per (session, document), sessions contiguous and of their query's size; the deterministic policy
    shows the logger's order in every session; the per-query array sets the sessions of each query."""
    y = np.array([2.0, 0, 1, 0, 1])
    score = np.array([0.1, 0.9, 0.5, 0.0, 1.0])
    log = simulate_clicks(y, group=[3, 2], ranking_score=score, sessions=[2, 3], seed=0)
    assert log.group.tolist() == [3, 3, 2, 2, 2] and len(log) == 12
    assert log.row.tolist() == [0, 1, 2, 0, 1, 2, 3, 4, 3, 4, 3, 4]
    assert log.query.tolist() == [0] * 6 + [1] * 6
    once, position = simulate_clicks(y, group=[3, 2], ranking_score=score, seed=0)
    np.testing.assert_array_equal(log.position, position[log.row])
    assert set(np.unique(log.clicks)) <= {0.0, 1.0}
    assert len(simulate_clicks(y, group=[3, 2], sessions=[0, 1])) == 2


@pytest.mark.parametrize("policy", ["plackett_luce", "randpair", "randtopk", "uniform"])
def test_every_policy_shows_a_permutation_per_session(policy):
    y = np.tile([0.0, 1, 2, 0, 1, 0, 0], 3)
    log = simulate_clicks(y, group=[7, 7, 7], ranking_score=-np.arange(21.0), sessions=50, policy=policy, top_k=3,
                          seed=1)
    for s in range(150):
        rows = log.session == s
        assert sorted(log.position[rows].tolist()) == list(range(7))
    base = np.tile(np.arange(7), 3)[log.row]  # the logger's order: row order
    moved = log.position != base
    if policy == "randtopk":
        assert not moved[base >= 3].any() and moved[base < 3].any()
    if policy == "randpair":  # only the top document and the one it swapped with
        per_session = np.bincount(log.session, weights=moved)
        assert set(per_session.tolist()) <= {0.0, 2.0} and (per_session == 2).any()


def test_uniform_policy_and_temperature_extremes():
    """Uniform: each row at each position with probability 1/4 (4 binomial s.e.); Plackett-Luce at temperature
    1e-6 is the logger's order, at 1e6 close to uniform."""
    y = np.zeros(4)
    n = 4000
    log = simulate_clicks(y, group=[4], ranking_score=[3.0, 2, 1, 0], sessions=n, policy="uniform", seed=2)
    freq = np.array([[np.mean(log.position[log.row == r] == p) for p in range(4)] for r in range(4)])
    assert np.abs(freq - 0.25).max() <= 4 * np.sqrt(0.25 * 0.75 / n)
    cold = simulate_clicks(y, group=[4], ranking_score=[3.0, 2, 1, 0], sessions=20, policy="plackett_luce",
                           temperature=1e-6, seed=3)
    assert cold.position.tolist() == [0, 1, 2, 3] * 20
    hot = simulate_clicks(y, group=[4], ranking_score=[3.0, 2, 1, 0], sessions=n, policy="plackett_luce",
                          temperature=1e6, seed=4)
    assert abs(np.mean(hot.position[hot.row == 0] == 0) - 0.25) <= 4 * np.sqrt(0.25 * 0.75 / n)


@pytest.mark.parametrize("model", ["pbm", "cascade", "dcm", "ubm"])
def test_click_models_examination(model):
    """The examination the simulator reports is each model's: PBM 1/(p+1); cascade (1 - stop)^p on average; DCM
    stops only after a click (no clicks: every row examined); UBM (1/(p - last click))^eta. Clicks need
    examination, and their rate given examination is click_noise + (1 - click_noise) click_prob."""
    n_q, m = 3000, 5
    y = np.zeros(n_q * m)
    kw = dict(group=[m] * n_q, sessions=1, model=model, click_prob=[0.5], stop_prob=0.3, click_noise=0.2, seed=5)
    log = simulate_clicks(y, **kw)
    assert (log.clicks <= (log.examination > 0)).all()
    p = log.position
    if model == "pbm":
        np.testing.assert_allclose(log.examination, 1.0 / (p + 1))
    elif model == "cascade":
        for k in range(m):
            rate = log.examination[p == k].mean()
            assert abs(rate - 0.7**k) <= 4 * np.sqrt(0.7**k * (1 - 0.7**k) / n_q) + 1e-12
    elif model == "ubm":
        for s in range(50):
            rows = np.flatnonzero(log.session == s)[np.argsort(p[log.session == s])]
            last = -1
            for k, r in enumerate(rows):
                assert log.examination[r] == pytest.approx(1.0 / (k - last))
                last = k if log.clicks[r] else last
    examined = log.examination == 1.0
    rate = log.clicks[examined].mean()
    assert abs(rate - 0.6) <= 4 * np.sqrt(0.24 / examined.sum())
    if model == "dcm":
        silent = simulate_clicks(y, **{**kw, "click_prob": [0.0], "click_noise": 0.0})
        assert silent.clicks.sum() == 0 and (silent.examination == 1).all()


def test_aggregate_clicks_counts_every_triple():
    from gbm_objectives.datasets import aggregate_clicks

    rng = np.random.default_rng(0)
    q = rng.integers(0, 3, 200)
    d = rng.integers(0, 4, 200)
    p = rng.integers(0, 3, 200)
    c = (rng.random(200) < 0.3).astype(float)
    agg = aggregate_clicks(c, p, q, d)
    assert agg["impressions"].sum() == 200 and agg["clicks"].sum() == c.sum()
    for i in range(len(agg["qid"])):
        rows = (q == agg["qid"][i]) & (d == agg["docno"][i]) & (p == agg["position"][i])
        assert agg["impressions"][i] == rows.sum() and agg["clicks"][i] == c[rows].sum()


@pytest.mark.parametrize("kwargs, match", [
    (dict(sessions=[1]), r"sessions has 1 entries but there are 2 queries"),
    (dict(sessions=-1), r"sessions must be >= 0; got -1"),
    (dict(sessions=[1, 1.5]), r"sessions must hold non-negative integers; got 1.5 at index 1"),
    (dict(sessions=1, policy="random"), r"policy must be one of"),
    (dict(policy="uniform"), r"policy='uniform' draws a ranking per session: pass sessions="),
    (dict(model="dcm"), r"model='dcm' is simulated per session: pass sessions="),
    (dict(sessions=1, temperature=0.0), r"temperature"),
    (dict(sessions=1, click_noise=1.5), r"click_noise"),
])
def test_bad_session_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        simulate_clicks([1.0, 0, 1, 0], group=[2, 2], **kwargs)


# ---------------------------------------------------------------------------------------------------------------
# ipw normalisation placement, fixed propensities, the cascade method (issue 26)
# ---------------------------------------------------------------------------------------------------------------
def _ipw_grad(normalize, state, y, s, sizes, position):
    obj = LambdaRankObjective(position_debias="ipw", normalize=normalize, truncation_level=5)
    prepared = obj.prepare(y, group=sizes, position=position)
    obj._set_state(prepared.cache, state)
    prepared.cache["update_position_bias"] = False
    return obj.grad_hess_prepared(prepared, s)[0]


def test_ipw_normalize_before_uses_the_unweighted_factor(rng):
    """normalize="off" leaves the propensity-weighted lambdas unscaled; "before" scales them per query by the
    factor plain LambdaRank uses (from the unweighted lambdas); "after" (XGBoost's) by the factor of the
    weighted ones. With unit propensities the three placements of the factor are LambdaRank's own."""
    y, s, sizes, position = _queries(rng, n_queries=10)
    k = 5
    unit = {"t_plus": np.ones(k), "t_minus": np.ones(k)}
    state = {"t_plus": np.r_[1.0, rng.uniform(0.2, 0.9, k - 1)], "t_minus": np.r_[1.0, rng.uniform(0.3, 1.2, k - 1)]}
    plain_norm = _ipw_grad("after", unit, y, s, sizes, position)
    plain_off = _ipw_grad("off", unit, y, s, sizes, position)
    np.testing.assert_allclose(_ipw_grad("before", unit, y, s, sizes, position), plain_norm, rtol=1e-12)
    off = _ipw_grad("off", state, y, s, sizes, position)
    before = _ipw_grad("before", state, y, s, sizes, position)
    after = _ipw_grad("after", state, y, s, sizes, position)
    bounds = np.r_[0, np.cumsum(sizes)]
    for a, b in zip(bounds[:-1], bounds[1:]):
        nz = np.abs(off[a:b]) > 1e-12
        if nz.sum() < 2:
            continue
        factor = plain_norm[a:b][nz] / plain_off[a:b][nz]
        np.testing.assert_allclose(before[a:b][nz] / off[a:b][nz], factor, rtol=1e-9)
        ratio_after = after[a:b][nz] / off[a:b][nz]
        np.testing.assert_allclose(ratio_after, ratio_after[0], rtol=1e-9)  # one factor per query
    assert not np.allclose(after, before)


@pytest.mark.parametrize("normalize", ["after", "before", "off"])
def test_ipw_lambdas_are_the_derivatives_for_every_normalize(normalize, rng):
    y, s, sizes, position = _queries(rng)
    obj = LambdaRankObjective(position_debias="ipw", normalize=normalize, truncation_level=5)
    prepared = obj.prepare(y, group=sizes, position=position)
    state = _frozen_state(obj, rng, prepared)
    obj._set_state(prepared.cache, state)
    prepared.cache["update_position_bias"] = False
    grad, _ = obj.grad_hess_prepared(prepared, s)
    hi, lo, wt = obj.pairs(y, s, group=sizes, position=position, position_bias=state)
    expected = np.zeros(len(s))
    p = 1.0 / (1.0 + np.exp(s[hi] - s[lo]))
    np.add.at(expected, hi, -p * wt)
    np.add.at(expected, lo, p * wt)
    np.testing.assert_allclose(grad, expected, rtol=1e-10, atol=1e-13)


def test_fixed_propensity_is_used_as_given_and_never_updated(rng):
    y, s, sizes, position = _queries(rng)
    top = int(position.max()) + 1
    prop = 1.0 / (np.arange(top) + 1.0) * 0.8
    obj = LambdaRankObjective(position_debias="ipw", propensity=prop, normalize="off")
    prepared = obj.prepare(y, group=sizes, position=position)
    grad, _ = obj.grad_hess_prepared(prepared, s)
    state = obj.position_bias(prepared)
    np.testing.assert_allclose(state["t_plus"], prop / prop[0])
    np.testing.assert_array_equal(state["t_minus"], np.ones(top))
    free = LambdaRankObjective(position_debias="ipw", normalize="off", truncation_level=top)
    ref = free.prepare(y, group=sizes, position=position)
    free._set_state(ref.cache, state)
    ref.cache["update_position_bias"] = False
    np.testing.assert_allclose(grad, free.grad_hess_prepared(ref, s)[0], rtol=1e-12)


@pytest.mark.parametrize("propensity, match", [
    ([1.0, 0.5], r"propensity has 2 entries but .*position (is )?2"),
    ([1.0, 0.0, 0.5], r"propensity must be finite and > 0; got 0 at position 1"),
    ([1.0, np.nan, 0.5], r"propensity .*nan at (index|position) 1"),
    ([], r"propensity must have one entry per position"),
])
def test_bad_fixed_propensity(propensity, match):
    with pytest.raises(ValueError, match=match):
        LambdaRankObjective(position_debias="ipw", propensity=propensity).grad_hess(
            [1.0, 0, 0], np.zeros(3), group=[3], position=[0, 1, 2])
    with pytest.raises(ValueError, match=match):
        go.IPSPointwiseLoss(propensity).grad_hess([1.0, 0, 0], np.zeros(3), group=[3], position=[0, 1, 2])


def test_propensity_needs_ipw_and_native_refusals():
    with pytest.raises(ValueError, match=r"propensity= fixes the propensities of position_debias='ipw'"):
        LambdaRankObjective(propensity=[1.0])
    with pytest.raises(ValueError, match=r"normalize must be one of"):
        LambdaRankObjective(position_debias="ipw", normalize=True)
    from gbm_objectives.adapters.native import lightgbm_lambdarank_params, xgboost_rank_params

    assert xgboost_rank_params(LambdaRankObjective(position_debias="ipw", normalize="off"))[
        "lambdarank_normalization"] is False
    assert xgboost_rank_params(LambdaRankObjective(position_debias="ipw", normalize="after"))[
        "lambdarank_normalization"] is True
    for obj, match in ((LambdaRankObjective(position_debias="ipw", normalize="before"), "normalize='before'"),
                       (LambdaRankObjective(position_debias="cascade"), "no position_debias='cascade'"),
                       (LambdaRankObjective(position_debias="ipw", propensity=[1.0]), "fixed propensity=")):
        with pytest.raises(ValueError, match=match):
            xgboost_rank_params(obj)
    with pytest.raises(ValueError, match="no position_debias='cascade'"):
        lightgbm_lambdarank_params(LambdaRankObjective(position_debias="cascade"))


def test_cascade_drops_rows_below_the_last_click(rng):
    """Rows below their query's last click get zero gradient and hessian; the others get plain LambdaRank's
    lambdas on the kept rows only; a query without clicks contributes nothing."""
    y, s, sizes, position = _queries(rng, n_queries=12)
    y = (y > 0).astype(float)
    y[: sizes[0]] = 0.0  # query 0: no click
    obj = LambdaRankObjective(position_debias="cascade")
    grad, hess = obj.grad_hess(y, s, group=sizes, position=position)
    bounds = np.r_[0, np.cumsum(sizes)]
    keep = np.zeros(len(y), dtype=bool)
    for a, b in zip(bounds[:-1], bounds[1:]):
        clicked = y[a:b] > 0
        if clicked.any():
            keep[a:b] = position[a:b] <= position[a:b][clicked].max()
    assert not keep[: sizes[0]].any() and (~keep).any()
    assert (grad[~keep] == 0).all() and (hess[~keep] == 0).all()
    kept_sizes = np.array([keep[a:b].sum() for a, b in zip(bounds[:-1], bounds[1:])])
    g2, h2 = LambdaRankObjective().grad_hess(y[keep], s[keep], group=kept_sizes[kept_sizes > 0])
    np.testing.assert_allclose(grad[keep], g2, rtol=1e-12)
    np.testing.assert_allclose(hess[keep], h2, rtol=1e-12)
    hi, lo, wt = obj.pairs(y, s, group=sizes, position=position)
    assert keep[hi].all() and keep[lo].all() and len(hi)


@pytest.mark.parametrize("backend", ["lightgbm", "xgboost"])
def test_cascade_and_ips_pointwise_train_on_both_engines(backend):
    X, y, qid = go.datasets.make_ranking(n_queries=30, docs_per_query=(5, 10), n_features=4, seed=0)
    log = simulate_clicks(y, qid=qid, ranking_score=X[:, 0], model="cascade", sessions=2, seed=1)
    for obj in (LambdaRankObjective(position_debias="cascade"), go.IPSPointwiseLoss(0.8 ** np.arange(10))):
        res = go.train(obj, X[log.row], log.clicks, group=log.group, position=log.position, backend=backend,
                       num_boost_round=3, n_jobs=1)
        assert np.isfinite(res.predict_raw(X)).all() and np.ptp(res.predict_raw(X)) > 0


def test_cli_simulate_clicks_prints_the_click_report(tmp_path, capsys):
    from gbm_objectives.cli import main

    src = tmp_path / "train.txt"
    src.write_text("2 qid:1 1:0.5\n0 qid:1 1:0.9\n1 qid:2 1:0.1\n0 qid:2 1:0.2\n")
    assert main(["simulate-clicks", "--data", str(src), "--out", str(tmp_path / "c.txt")]) == 0
    out = capsys.readouterr().out
    assert "2 queries, 2 sessions" in out and "pairs seen at >= 2 positions: 0.0 %" in out
    assert "WARNING: propensities are not identifiable" in out
