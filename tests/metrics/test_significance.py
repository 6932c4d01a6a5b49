"""compare_runs' counts, t-test p-values and corrections against scipy/statsmodels on the same per-query inputs;
Tukey HSD against scipy.stats.tukey_hsd; the randomised Tukey test, URisk/TRisk and worst queries by hand."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import gbm_objectives as go
from gbm_objectives.metrics.significance import benjamini_hochberg, correct, holm, risk

multitest = pytest.importorskip("statsmodels.stats.multitest", reason="statsmodels is in the dev extra")

METRICS = ["ndcg@10", "map"]


@pytest.fixture(scope="module")
def systems():
    """5 systems x 300 queries x 2 metrics; values on a 0.05 grid so some queries tie with the baseline."""
    rng = np.random.default_rng(11)
    index = pd.Index([f"q{i:03d}" for i in range(300)], name="qid")
    base = rng.integers(0, 21, size=(300, 2)) / 20
    out = {}
    for s, shift in enumerate([0.0, 0.01, -0.02, 0.04, 0.0]):
        noise = 0 if s == 0 else rng.integers(-4, 5, size=(300, 2)) / 20
        out[f"S{s}"] = pd.DataFrame(np.clip(base + noise + shift, 0, 1), index=index, columns=METRICS)
    # shuffle one system's rows: compare_runs pairs by query id, not by position
    out["S2"] = out["S2"].sample(frac=1.0, random_state=0)
    return out


@pytest.mark.parametrize("correction, sm_name", [("holm", "holm"), ("bonferroni", "bonferroni"), ("bh", "fdr_bh")])
def test_counts_ttest_and_corrections_equal_scipy_statsmodels(systems, correction, sm_name):
    table = go.compare_runs(systems, baseline="S0", test="t-test", correction=correction)
    base = systems["S0"]
    for m in METRICS:
        rows = table[(table.metric == m) & (table.system != "S0")]
        for r in rows.itertuples():
            x = systems[r.system][m].reindex(base.index).to_numpy()
            b = base[m].to_numpy()
            d = x - b
            assert (r.wins, r.losses, r.ties) == ((d > 0).sum(), (d < 0).sum(), (d == 0).sum())
            assert set(r.win_queries) == set(base.index[d > 0]) and set(r.tie_queries) == set(base.index[d == 0])
            assert set(r.loss_queries) == set(base.index[d < 0])
            assert abs(r.p_value - stats.ttest_rel(x, b).pvalue) <= 1e-12
        expected = multitest.multipletests(rows.p_value.to_numpy(), method=sm_name)[1]
        np.testing.assert_allclose(rows.p_value_corrected.to_numpy(), expected, rtol=0, atol=1e-12)
    baseline_rows = table[table.system == "S0"]
    assert (baseline_rows.ties == 300).all() and (baseline_rows.wins == 0).all()


def test_corrections_equal_statsmodels_on_many_p_values():
    p = np.random.default_rng(0).uniform(0, 0.2, size=50)
    p[[3, 7]] = p[5]  # ties
    for ours, name in ((holm(p), "holm"), (benjamini_hochberg(p), "fdr_bh"), (correct(p, "bonferroni"), "bonferroni")):
        np.testing.assert_allclose(ours, multitest.multipletests(p, method=name)[1], rtol=0, atol=1e-12)
    with_nan = correct(np.r_[p[:3], np.nan], "bh")
    assert np.isnan(with_nan[3])
    np.testing.assert_allclose(with_nan[:3], multitest.multipletests(p[:3], method="fdr_bh")[1], atol=1e-12)


def test_tukey_hsd_equals_scipy(systems):
    table = go.compare_all_pairs(systems, test="tukey-hsd")
    names = list(systems)
    base = systems["S0"].index
    for m in METRICS:
        groups = [systems[k][m].reindex(base).to_numpy() for k in names]
        ref = stats.tukey_hsd(*groups)
        ci = ref.confidence_interval(0.95)
        sub = table[table.metric == m]
        assert len(sub) == 10
        for r in sub.itertuples():
            i, j = names.index(r.system_a), names.index(r.system_b)
            assert abs(r.p_value - ref.pvalue[i, j]) <= 1e-12
            assert abs(r.diff - ref.statistic[i, j]) <= 1e-12
            assert abs(r.ci_low - ci.low[i, j]) <= 1e-12 and abs(r.ci_high - ci.high[i, j]) <= 1e-12


def test_randomized_tukey_by_hand():
    """Two queries, three systems: every permutation of each row is equally likely; the exact p-value is the share
    of the 36 row-permutation pairs whose range of means reaches the observed difference (the random test
    approaches it)."""
    import itertools

    v = np.array([[0.0, 0.5, 1.0], [0.2, 0.4, 0.9]])
    runs = {k: pd.DataFrame({"m": v[:, i]}) for i, k in enumerate("ABC")}
    means = v.mean(axis=0)
    perms = list(itertools.permutations(range(3)))
    ranges = [np.ptp((v[0, list(a)] + v[1, list(b)]) / 2) for a in perms for b in perms]
    t = go.compare_all_pairs(runs, test="randomized-tukey", n_resamples=20000, seed=1)
    for r in t.itertuples():
        d = abs(means["ABC".index(r.system_a)] - means["ABC".index(r.system_b)])
        exact = np.mean([x >= d - 1e-12 for x in ranges])
        assert abs(r.p_value - exact) < 0.015, (r, exact)
        assert np.isnan(r.ci_low)


def test_urisk_trisk_by_hand():
    x, b = np.array([0.5, 0.2, 0.4, 0.1]), np.array([0.3, 0.3, 0.4, 0.3])
    u, t = risk(x, b, alpha=2.0)
    dd = np.array([0.2, 3 * -0.1, 0.0, 3 * -0.2])
    assert u == pytest.approx(dd.mean(), abs=1e-15)
    assert t == pytest.approx(dd.mean() / (dd.std(ddof=1) / 2), abs=1e-12)
    table = go.compare_runs({"b": pd.DataFrame({"m": b}), "x": pd.DataFrame({"m": x})}, test="t-test",
                            risk_alpha=2.0)
    assert table.urisk.iloc[1] == pytest.approx(u, abs=1e-15) and table.trisk.iloc[1] == pytest.approx(t, abs=1e-12)
    # alpha = 0: URisk is the mean difference, TRisk the paired t statistic
    assert risk(x, b, alpha=0.0)[1] == pytest.approx(stats.ttest_rel(x, b).statistic, abs=1e-12)


def test_worst_queries_with_ranked_labels():
    qrels = pd.DataFrame({"qid": ["1", "1", "2", "2"], "docno": ["a", "b", "a", "c"], "relevance": [2, 0, 1, 1]})
    run_a = pd.DataFrame({"qid": ["1", "1", "1", "2", "2"], "docno": ["a", "b", "z", "a", "c"],
                          "score": [1.0, 3.0, 2.0, 1.0, 1.0]})
    run_b = run_a.assign(score=[3.0, 1.0, 2.0, 2.0, 1.0])
    ev = {k: go.evaluate_run(qrels, r, metrics=["ndcg@10"]) for k, r in (("A", run_a), ("B", run_b))}
    w = go.worst_queries(ev, "ndcg@10", k=1, qrels=qrels, ranked={"A": run_a, "B": run_b}, depth=3)
    assert w.system.tolist() == ["A", "B"]
    # A ranks q1 b (0), z (unjudged), a (2): its worst; B has NDCG 1 on both queries: the tie goes to query "1"
    assert w.qid.tolist() == ["1", "1"] and w.value.iloc[1] == 1.0
    assert w.labels.tolist() == [(0, None, 2), (2, None, 0)]
    vs = go.worst_queries(ev, "ndcg@10", k=2, baseline="B", qrels=qrels, ranked={"A": run_a, "B": run_b})
    assert vs.system.unique().tolist() == ["A"] and vs["diff"].iloc[0] < 0 and vs.qid.iloc[0] == "1"
    with pytest.raises(ValueError, match="k must be a positive integer"):
        go.worst_queries(ev, "ndcg@10", k=0)
    with pytest.raises(ValueError, match="no metric 'map'"):
        go.worst_queries(ev, "map")


def test_bad_arguments_are_named(systems):
    with pytest.raises(ValueError, match="correction must be one of"):
        go.compare_runs(systems, correction="fdr")
    with pytest.raises(ValueError, match="risk_alpha must be"):
        go.compare_runs(systems, risk_alpha=-1)
    with pytest.raises(ValueError, match="test must be one of"):
        go.compare_all_pairs(systems, test="t-test")
    with pytest.raises(ValueError, match="confidence must be"):
        go.compare_all_pairs(systems, confidence=1.0)
