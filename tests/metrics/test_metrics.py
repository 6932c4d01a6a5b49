"""Evaluators: each convention reproduces its reference tool exactly; hand-computed cases; bad input.

References (dev/test dependencies only): LightGBM's own ``ndcg@k`` (read from ``evals_result``), pytrec_eval
(trec_eval) ``ndcg_cut_k`` / ``recip_rank`` / ``map_cut_k`` / ``P_k``, :func:`sklearn.metrics.ndcg_score`,
:func:`sklearn.metrics.average_precision_score` and :func:`sklearn.metrics.roc_auc_score`.

trec_eval docnos: trec_eval breaks score ties by docno descending (string comparison). We name row ``i`` of the
arrays ``f"d{i:09d}"`` (zero-padded, so string order = row order), which makes trec_eval's tie order "reverse row
order", i.e. our ``ties="trec"``.
"""

import math

import numpy as np
import pytest

import gbm_objectives as go
from gbm_objectives._core.segments import boundaries_from_group

from conftest import group_sizes_of, shared_dataset

LOG2 = math.log2

# ------------------------------------------------------------------------------------------------------------------
# helpers


def random_run(rng, n_queries=40, max_docs=12, n_levels=4, n_score_values=5, empty_every=5):
    """Random graded labels (some queries all zero) and scores drawn from few values, so ties are frequent."""
    sizes = rng.integers(1, max_docs + 1, size=n_queries)
    n = int(sizes.sum())
    y = rng.integers(0, n_levels, size=n).astype(float)
    b = boundaries_from_group(sizes)
    for q in range(0, n_queries, empty_every):
        y[b[q] : b[q + 1]] = 0.0
    s = rng.integers(0, n_score_values, size=n) / n_score_values
    return y, s, sizes


def trec_eval(y, s, sizes, measures):
    """pytrec_eval per-query values (in group order) for the measures; docnos are zero-padded row indices."""
    pytrec_eval = pytest.importorskip("pytrec_eval")
    b = boundaries_from_group(sizes)
    qrels, run = {}, {}
    for q in range(len(sizes)):
        rows = range(b[q], b[q + 1])
        qrels[f"q{q}"] = {f"d{i:09d}": int(y[i]) for i in rows}
        run[f"q{q}"] = {f"d{i:09d}": float(s[i]) for i in rows}
    res = pytrec_eval.RelevanceEvaluator(qrels, set(measures)).evaluate(run)
    return {m: np.array([res[f"q{q}"][m] for q in range(len(sizes))]) for m in measures}


def sklearn_per_query(fn, y, s, sizes, **kw):
    b = boundaries_from_group(sizes)
    return np.array([fn([y[b[q] : b[q + 1]]], [s[b[q] : b[q + 1]]], **kw) for q in range(len(sizes))])


@pytest.fixture(scope="module")
def mq2008():
    """LETOR 4.0 MQ2008 Fold1 train and vali (many queries without a relevant document)."""
    from gbm_objectives.datasets import load_letor

    X, y, qid = load_letor(shared_dataset("letor4_mq2008", "Fold1", "train.txt.gz"))
    Xv, yv, qv = load_letor(shared_dataset("letor4_mq2008", "Fold1", "vali.txt.gz"))
    return X, y, group_sizes_of(qid), Xv, yv, group_sizes_of(qv)


@pytest.fixture(scope="module")
def mq2008_lightgbm(mq2008):
    """A LightGBM lambdarank run on MQ2008 Fold1 with its own ndcg@1,3,5,10 log on train and vali."""
    lgb = pytest.importorskip("lightgbm")
    X, y, g, Xv, yv, gv = mq2008
    train = lgb.Dataset(X, y, group=g)
    valid = lgb.Dataset(Xv, yv, group=gv, reference=train)
    log = {}
    params = {"objective": "lambdarank", "metric": "ndcg", "eval_at": [1, 3, 5, 10], "num_leaves": 15,
              "learning_rate": 0.1, "verbose": -1, "num_threads": 2, "seed": 0}
    booster = lgb.train(params, train, 30, valid_sets=[train, valid], valid_names=["train", "valid"],
                        callbacks=[lgb.record_evaluation(log)])
    return booster, log


# ------------------------------------------------------------------------------------------------------------------
# NDCG: each convention equals its reference


@pytest.mark.parametrize("iteration", [1, 10, 30])
@pytest.mark.parametrize("split", ["train", "valid"])
def test_ndcg_lightgbm_equals_lightgbm_eval_log(mq2008, mq2008_lightgbm, iteration, split):
    X, y, g, Xv, yv, gv = mq2008
    booster, log = mq2008_lightgbm
    XX, yy, gg = (X, y, g) if split == "train" else (Xv, yv, gv)
    score = booster.predict(XX, num_iteration=iteration)  # iteration 1 has many tied scores
    assert len(np.unique(score)) < len(score)
    for k in (1, 3, 5, 10):
        ours = go.ndcg_score(yy, score, group=gg, k=k)  # convention="lightgbm" is the default
        np.testing.assert_allclose(ours, log[split][f"ndcg@{k}"][iteration - 1], rtol=0, atol=1e-9)


def test_ndcg_lightgbm_empty_query_counts_one(mq2008):
    _, y, g, _, yv, gv = mq2008
    b = boundaries_from_group(gv)
    empty = np.array([yv[b[q] : b[q + 1]].max() == 0 for q in range(len(gv))])
    assert empty.sum() == 37  # PROVENANCE.md: 37/157 vali queries of Fold1 have no relevant document
    s = np.zeros(len(yv))
    per_query = go.ndcg_score(yv, s, group=gv, k=5, reduce=None)
    np.testing.assert_array_equal(per_query[empty], 1.0)
    skipped = go.ndcg_score(yv, s, group=gv, k=5, empty="skip")
    assert skipped == pytest.approx(per_query[~empty].mean(), abs=1e-15)


@pytest.mark.parametrize("k", [1, 3, 5, 10, None])
def test_ndcg_trec_equals_pytrec_eval_random(rng, k):
    y, s, sizes = random_run(rng)
    kk = 1000 if k is None else k  # trec_eval ndcg_cut_1000 covers whole queries here
    ref = trec_eval(y, s, sizes, [f"ndcg_cut_{kk}"])[f"ndcg_cut_{kk}"]
    ours = go.ndcg_score(y, s, group=sizes, k=k, convention="trec", reduce=None)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-9)
    assert go.ndcg_score(y, s, group=sizes, k=k, convention="trec") == pytest.approx(ref.mean(), abs=1e-12)


def test_ndcg_trec_tie_order_matters(rng):
    """The trec tie order differs from the stable one on this run, and only ties="trec" matches trec_eval."""
    y, s, sizes = random_run(rng)
    ref = trec_eval(y, s, sizes, ["ndcg_cut_3"])["ndcg_cut_3"]
    stable = go.ndcg_score(y, s, group=sizes, k=3, convention="trec", ties="stable", reduce=None)
    assert np.abs(stable - ref).max() > 1e-3


def test_ndcg_trec_equals_pytrec_eval_mq2008(mq2008, mq2008_lightgbm):
    _, _, _, Xv, yv, gv = mq2008
    booster, _ = mq2008_lightgbm
    s = booster.predict(Xv, num_iteration=3)
    ref = trec_eval(yv, s, gv, ["ndcg_cut_10"])["ndcg_cut_10"]
    np.testing.assert_allclose(go.ndcg_score(yv, s, group=gv, k=10, convention="trec", reduce=None), ref, atol=1e-9)


@pytest.mark.parametrize("k", [1, 3, 7, None])
def test_ndcg_sklearn_equals_sklearn(rng, k):
    from sklearn.metrics import ndcg_score as sk_ndcg

    n_queries, docs = 30, 7  # sklearn needs equal-length queries
    y = rng.integers(0, 4, size=(n_queries, docs)).astype(float)
    y[::6] = 0  # empty queries: sklearn scores them 0
    s = rng.integers(0, 4, size=(n_queries, docs)) / 4.0
    sizes = np.full(n_queries, docs)
    ours = go.ndcg_score(y.ravel(), s.ravel(), group=sizes, k=k, convention="sklearn")
    assert ours == pytest.approx(sk_ndcg(y, s, k=k), abs=1e-12)
    per_query = go.ndcg_score(y.ravel(), s.ravel(), group=sizes, k=k, convention="sklearn", reduce=None)
    ref = np.array([sk_ndcg(y[[q]], s[[q]], k=k) for q in range(n_queries)])
    np.testing.assert_allclose(per_query, ref, rtol=0, atol=1e-12)


def test_qid_rows_need_not_be_contiguous(rng):
    """Shuffled rows with qid give the group result (per query, in increasing qid order); on tie-free scores, since
    a shuffle changes the input order of tied rows."""
    y, s, sizes = random_run(rng)
    qid = np.repeat(np.arange(len(sizes)) * 3 + 1, sizes)
    perm = rng.permutation(len(y))
    s = rng.permutation(len(y)).astype(float)
    for convention in ("lightgbm", "trec", "sklearn"):
        a = go.ndcg_score(y, s, group=sizes, k=5, convention=convention, reduce=None)
        b = go.ndcg_score(y[perm], s[perm], qid=qid[perm], k=5, convention=convention, reduce=None)
        np.testing.assert_array_equal(a, b)
    a = go.evaluate(y, s, group=sizes, reduce=None)
    b = go.evaluate(y[perm], s[perm], qid=qid[perm], reduce=None)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


def test_empty_skip_gives_nan_per_query_and_drops_from_mean(rng):
    y, s, sizes = random_run(rng)
    per_query = go.map_score(y, s, group=sizes, empty="skip", reduce=None)
    b = boundaries_from_group(sizes)
    empty = np.array([y[b[q] : b[q + 1]].max() == 0 for q in range(len(sizes))])
    assert empty.any() and np.isnan(per_query[empty]).all() and not np.isnan(per_query[~empty]).any()
    assert go.map_score(y, s, group=sizes, empty="skip") == pytest.approx(per_query[~empty].mean(), abs=1e-15)
    zero = go.map_score(y, s, group=sizes, empty=0.0)
    assert zero == pytest.approx(per_query[~empty].sum() / len(sizes), abs=1e-15)


# ------------------------------------------------------------------------------------------------------------------
# NDCG: hand-computed


def test_ndcg_hand_computed_ties_and_k_larger_than_query():
    # labels (2, 0, 1, 1), scores (0.5, 0.9, 0.5, 0.1): rank by score, tie between rows 0 and 2.
    y = [2, 0, 1, 1]
    s = [0.5, 0.9, 0.5, 0.1]
    ideal_lgb = 3 + 1 / LOG2(3) + 1 / LOG2(4)  # gains 2^l-1 = (3, 0, 1, 1) sorted: 3, 1, 1, 0
    # stable: rows 1, 0, 2, 3 -> gains 0, 3, 1, 1
    dcg_stable = 0 + 3 / LOG2(3) + 1 / LOG2(4) + 1 / LOG2(5)
    assert go.ndcg_score(y, s, group=[4], k=10) == pytest.approx(dcg_stable / ideal_lgb, abs=1e-15)
    # trec (linear gain, reverse row order in ties): rows 1, 2, 0, 3 -> gains 0, 1, 2, 1
    ideal_lin = 2 + 1 / LOG2(3) + 1 / LOG2(4)
    dcg_trec = 0 + 1 / LOG2(3) + 2 / LOG2(4) + 1 / LOG2(5)
    assert go.ndcg_score(y, s, group=[4], k=10, convention="trec") == pytest.approx(dcg_trec / ideal_lin, abs=1e-15)
    # sklearn: the tied block at ranks 1-2 gets its mean gain 1.5 at both
    dcg_avg = 0 + 1.5 / LOG2(3) + 1.5 / LOG2(4) + 1 / LOG2(5)
    assert go.ndcg_score(y, s, group=[4], k=10, convention="sklearn") == pytest.approx(dcg_avg / ideal_lin, abs=1e-15)
    # k = 2 cuts the tie block in half: only its first rank counts
    dcg2 = 1.5 / LOG2(3)
    ideal2 = 2 + 1 / LOG2(3)
    assert go.ndcg_score(y, s, group=[4], k=2, convention="sklearn") == pytest.approx(dcg2 / ideal2, abs=1e-15)


def test_ndcg_gain_table_and_knobs():
    y = [0, 1, 2]
    s = [0.3, 0.2, 0.1]
    table = [0.0, 1.0, 10.0]
    expected = (1 / LOG2(3) + 10 / LOG2(4)) / (10 + 1 / LOG2(3))
    assert go.ndcg_score(y, s, group=[3], gain=table) == pytest.approx(expected, abs=1e-15)
    # the gain table with 2^l - 1 entries is the default
    assert go.ndcg_score(y, s, group=[3], gain=[0, 1, 3]) == go.ndcg_score(y, s, group=[3])


def test_ndcg_sample_weight_is_lightgbm_query_weight():
    y = np.array([1, 0, 0, 1, 0])
    s = np.array([0.1, 0.9, 0.5, 0.2, 0.1])
    per_query = go.ndcg_score(y, s, group=[2, 3], reduce=None)
    w = np.array([2.0, 2.0, 1.0, 1.0, 4.0])  # query weights: mean row weight = 2 and 2
    assert go.ndcg_score(y, s, group=[2, 3], sample_weight=w) == pytest.approx(per_query.mean(), abs=1e-15)
    w = np.array([3.0, 3.0, 1.0, 1.0, 1.0])  # query weights 3 and 1
    expected = (3 * per_query[0] + per_query[1]) / 4
    assert go.ndcg_score(y, s, group=[2, 3], sample_weight=w) == pytest.approx(expected, abs=1e-15)


# ------------------------------------------------------------------------------------------------------------------
# shared kernels: the fast paths equal the reference kernels the objective uses


def test_ranked_order_and_topk_ideal_equal_reference_kernels(rng):
    from gbm_objectives._core import dcg as _dcg

    for size in (1, 2, 5, 16, 17, 33, 100, 129, 300, 512, 513, 700):  # counting rank up to 512 rows, merge above
        n_q = 20
        s = rng.integers(0, 6, size * n_q) / 6.0
        g = rng.integers(0, 5, size * n_q).astype(float)
        b = np.arange(0, size * n_q + 1, size)
        stable = _dcg.ranked_order(s, b, False)
        reverse = _dcg.ranked_order(s, b, True)
        for q in range(n_q):
            sq = s[b[q] : b[q + 1]]
            np.testing.assert_array_equal(stable[b[q] : b[q + 1]], _dcg.stable_desc_order(sq))
            np.testing.assert_array_equal(reverse[b[q] : b[q + 1]], size - 1 - _dcg.stable_desc_order(sq[::-1]))
            into, tmp, tmp2 = (np.empty(size, dtype=np.int64) for _ in range(3))
            _dcg.stable_desc_order_into(sq, into, tmp, tmp2)  # LambdaRank's and LambdaLoss's: counting up to 512 rows
            np.testing.assert_array_equal(into, _dcg.stable_desc_order(sq))
        disc = _dcg.discount_table(size)
        for k in (0, 1, 3, 10, 1000):
            # reference: NumPy sorts, summed in rank order (the one ideal-DCG routine must give the same bits for a
            # short prefix, found by insertion, and a long one, found by sorting)
            kk = size if k == 0 or k > size else k
            ref_ideal = [sum(v * disc[r] for r, v in enumerate(np.sort(g[b[q] : b[q + 1]])[::-1][:kk]))
                         for q in range(n_q)]
            np.testing.assert_array_equal(_dcg.ideal_dcg(g, b, k), ref_ideal)
            for q in range(n_q):
                o = b[q] + _dcg.stable_desc_order(s[b[q] : b[q + 1]])
                ref_dcg = sum(v * disc[r] for r, v in enumerate(g[o][:kk]))
                assert _dcg.dcg_query(g[o], s[o], size, kk, False, disc) == ref_dcg
                top = np.empty(size, dtype=np.int64)
                got = _dcg.top_order_into(s[b[q] : b[q + 1]], top, kk, False)
                np.testing.assert_array_equal(top[:got], stable[b[q] : b[q + 1]][:kk])
                got = _dcg.top_order_into(s[b[q] : b[q + 1]], top, kk, True)
                np.testing.assert_array_equal(top[:got], reverse[b[q] : b[q + 1]][:kk])


# ------------------------------------------------------------------------------------------------------------------
# MRR, MAP, precision: trec convention equals pytrec_eval; sklearn AP; LightGBM map@k


@pytest.mark.parametrize("k", [1, 3, 5, None])
def test_mrr_map_precision_trec_equal_pytrec_eval(rng, k):
    y, s, sizes = random_run(rng, n_queries=60)
    kk = 1000 if k is None else k
    ref = trec_eval(y, s, sizes, ["recip_rank", f"map_cut_{kk}", f"P_{kk}"])
    if k is None:  # recip_rank has no cut-off
        ours = go.mrr_score(y, s, group=sizes, convention="trec", reduce=None)
        np.testing.assert_allclose(ours, ref["recip_rank"], rtol=0, atol=1e-9)
    ours = go.map_score(y, s, group=sizes, k=k, convention="trec", reduce=None)
    np.testing.assert_allclose(ours, ref[f"map_cut_{kk}"], rtol=0, atol=1e-9)
    ours = go.precision_score_at_k(y, s, group=sizes, k=kk, convention="trec", reduce=None)
    np.testing.assert_allclose(ours, ref[f"P_{kk}"], rtol=0, atol=1e-9)


def test_mrr_at_k_is_recip_rank_cut_at_k(rng):
    """trec_eval has no recip_rank@k; RR@k is recip_rank where the first relevant rank is <= k, else 0."""
    y, s, sizes = random_run(rng, n_queries=60)
    rr = trec_eval(y, s, sizes, ["recip_rank"])["recip_rank"]
    for k in (1, 2, 4):
        expected = np.where(rr >= 1.0 / k, rr, 0.0)
        ours = go.mrr_score(y, s, group=sizes, k=k, convention="trec", reduce=None)
        np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-12)


def test_trec_metrics_on_mq2008(mq2008, mq2008_lightgbm):
    _, _, _, Xv, yv, gv = mq2008
    booster, _ = mq2008_lightgbm
    s = booster.predict(Xv, num_iteration=2)  # few distinct scores: many ties
    ref = trec_eval(yv, s, gv, ["recip_rank", "map_cut_10", "map", "P_5"])
    kw = dict(group=gv, convention="trec", reduce=None)
    np.testing.assert_allclose(go.mrr_score(yv, s, **kw), ref["recip_rank"], atol=1e-9)
    np.testing.assert_allclose(go.map_score(yv, s, k=10, **kw), ref["map_cut_10"], atol=1e-9)
    np.testing.assert_allclose(go.map_score(yv, s, **kw), ref["map"], atol=1e-9)
    np.testing.assert_allclose(go.precision_score_at_k(yv, s, k=5, **kw), ref["P_5"], atol=1e-9)


def test_map_sklearn_equals_average_precision_score(rng):
    from sklearn.metrics import average_precision_score

    y, s, sizes = random_run(rng, n_queries=50)
    b = boundaries_from_group(sizes)
    ours = go.map_score(y, s, group=sizes, convention="sklearn", reduce=None)
    for q in range(len(sizes)):
        yq = (y[b[q] : b[q + 1]] >= 1).astype(int)
        if yq.sum() == 0:
            assert ours[q] == 0.0  # empty = 0 under "sklearn"
            continue
        assert ours[q] == pytest.approx(average_precision_score(yq, s[b[q] : b[q + 1]]), abs=1e-12)
    with pytest.raises(ValueError, match="k=3"):
        go.map_score(y, s, group=sizes, k=3, convention="sklearn")


def test_map_lightgbm_equals_lightgbm_map_metric(mq2008):
    """LightGBM's map@k divides by min(R, k) and scores an empty query 1 (it sorts with an unstable sort, so the
    scores here are tie-free)."""
    lgb = pytest.importorskip("lightgbm")
    _, _, _, Xv, yv, gv = mq2008
    score = np.random.default_rng(1).permutation(len(yv)).astype(float)
    data = lgb.Dataset(Xv, yv, group=gv, init_score=score, params={"verbose": -1})
    log = {}
    lgb.train({"objective": "lambdarank", "metric": "map", "eval_at": [1, 3, 10], "verbose": -1,
               "learning_rate": 1e-10, "num_threads": 1}, data, 1, valid_sets=[data], valid_names=["v"],
              callbacks=[lgb.record_evaluation(log)])
    for k in (1, 3, 10):
        ours = go.map_score(yv, score, group=gv, k=k)  # convention="lightgbm"
        np.testing.assert_allclose(ours, log["v"][f"map@{k}"][0], rtol=0, atol=1e-9)


# ------------------------------------------------------------------------------------------------------------------
# hand-computed MRR / MAP / precision / AUC (3-5 documents, ties, k larger than the query)


def test_mrr_hand_computed():
    y = [0, 1, 0, 2]
    s = [0.9, 0.5, 0.5, 0.5]  # rank 1: row 0; tie block ranks 2-4: rows 1, 2, 3 (2 of 3 relevant)
    assert go.mrr_score(y, s, group=[4]) == 1 / 2  # stable: row 1 at rank 2
    assert go.mrr_score(y, s, group=[4], ties="trec") == 1 / 2  # reverse: row 3 at rank 2
    # average: first relevant of the block at offset 0 w.p. 2/3, offset 1 w.p. 1/3 (C(1,1)/C(3,2))
    assert go.mrr_score(y, s, group=[4], ties="average") == pytest.approx(2 / 3 / 2 + 1 / 3 / 3, abs=1e-15)
    assert go.mrr_score(y, s, group=[4], k=1) == 0.0  # first relevant below the cut-off
    assert go.mrr_score(y, s, group=[4], relevance_threshold=2) == 1 / 4  # only row 3 relevant; stable: rank 4
    assert go.mrr_score(y, s, group=[4], relevance_threshold=2, ties="trec") == 1 / 2  # reverse: rank 2
    assert go.mrr_score(y, s, group=[4], k=10, relevance_threshold=2) == 1 / 4  # k > query size: whole query


def test_map_hand_computed():
    y = [1, 0, 1, 1]
    s = [0.9, 0.8, 0.8, 0.1]  # tie between rows 1 and 2
    # stable: rows 0, 1, 2, 3 -> relevant at ranks 1, 3, 4: precisions 1, 2/3, 3/4
    assert go.map_score(y, s, group=[4], convention="trec", ties="stable") == pytest.approx((1 + 2 / 3 + 3 / 4) / 3)
    # trec: rows 0, 2, 1, 3 -> relevant at 1, 2, 4: precisions 1, 1, 3/4
    assert go.map_score(y, s, group=[4], convention="trec") == pytest.approx((1 + 1 + 3 / 4) / 3)
    # @2, trec: (1 + 1) / R with R = 3; LightGBM divides by min(R, k) = 2 (stable: ranks 1, 3 -> only 1 in top 2)
    assert go.map_score(y, s, group=[4], k=2, convention="trec") == pytest.approx(2 / 3)
    assert go.map_score(y, s, group=[4], k=2) == pytest.approx(1 / 2)
    # k larger than the query: the whole query
    assert go.map_score(y, s, group=[4], k=10, convention="trec") == go.map_score(y, s, group=[4], convention="trec")
    # sklearn AP: thresholds 0.9 (1/1, recall 1/3), 0.8 (2/3, recall 2/3), 0.1 (3/4, recall 1)
    assert go.map_score(y, s, group=[4], convention="sklearn") == pytest.approx((1 + 2 / 3 + 3 / 4) / 3)
    y2 = [0, 1, 0]
    s2 = [0.5, 0.5, 0.1]  # sklearn: threshold 0.5 holds 1 relevant of 2 -> precision 1/2 at recall 1
    assert go.map_score(y2, s2, group=[3], convention="sklearn") == pytest.approx(1 / 2)


def test_precision_hand_computed():
    y = [1, 0, 1]
    s = [0.2, 0.5, 0.5]  # stable: rows 1, 2, 0; trec: rows 2, 1, 0
    assert go.precision_score_at_k(y, s, group=[3], k=1) == 0.0
    assert go.precision_score_at_k(y, s, group=[3], k=1, ties="trec") == 1.0
    assert go.precision_score_at_k(y, s, group=[3], k=1, ties="average") == 0.5  # half of the tied block
    assert go.precision_score_at_k(y, s, group=[3], k=5) == 2 / 5  # always over k (trec_eval P_k)


def test_auc_hand_computed_with_ties():
    y = [1, 0, 1, 0, 1]
    s = [0.8, 0.8, 0.3, 0.1, 0.9]
    # pairs (pos, neg): (0,1) tie 1/2, (0,3) 1, (2,1) 0, (2,3) 1, (4,1) 1, (4,3) 1 -> 4.5 / 6
    assert go.auc_score(y, s) == pytest.approx(4.5 / 6, abs=1e-15)
    w = [1, 2, 1, 1, 1]  # the pairs with row 1 count twice: (1 + 2*0.5 + 0 + 2*1 + 1 + 1) / (3 * 3)... see below
    # W_pos = 3, W_neg = 3; sum w_i w_j score: (0,1) 2*.5 + (0,3) 1 + (2,1) 0 + (2,3) 1 + (4,1) 2 + (4,3) 1 = 6
    assert go.auc_score(y, s, sample_weight=w) == pytest.approx(6 / 9, abs=1e-15)


def test_auc_equals_roc_auc_score(rng):
    from sklearn.metrics import roc_auc_score

    y = rng.integers(0, 2, 500).astype(float)
    s = rng.integers(0, 20, 500) / 20.0
    w = rng.random(500)
    assert go.auc_score(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert go.auc_score(y, s, sample_weight=w) == pytest.approx(roc_auc_score(y, s, sample_weight=w), abs=1e-12)
    sizes = np.full(25, 20)
    per_query = go.auc_score(y, s, group=sizes, average="query", reduce=None)
    ref = np.array([roc_auc_score(y[i : i + 20], s[i : i + 20]) for i in range(0, 500, 20)])
    np.testing.assert_allclose(per_query, ref, rtol=0, atol=1e-12)
    assert go.auc_score(y, s, group=sizes, average="query") == pytest.approx(ref.mean(), abs=1e-12)


def test_auc_one_class_is_documented_not_averaged_in():
    y = [1, 0, 1, 1, 0, 0]
    s = [0.9, 0.1, 0.2, 0.3, 0.4, 0.5]
    per_query = go.auc_score(y, s, group=[2, 2, 2], average="query", reduce=None)
    np.testing.assert_array_equal(per_query, [1.0, np.nan, np.nan])  # 2nd query all positive, 3rd all negative
    assert go.auc_score(y, s, group=[2, 2, 2], average="query") == 1.0  # mean over the defined queries only
    with pytest.raises(ValueError, match="one class"):
        go.auc_score([1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="no query has both"):
        go.auc_score([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4], group=[2, 2], average="query")
    # graded labels: binarized only on request
    with pytest.raises(ValueError, match=r"y_true must contain only 0 and 1.*2\.0 at index 1"):
        go.auc_score([0, 2, 1], [0.1, 0.2, 0.3])
    assert go.auc_score([0, 2, 1], [0.1, 0.2, 0.3], relevance_threshold=1) == 1.0  # positives: rows 1, 2
    assert go.auc_score([0, 2, 1], [0.1, 0.2, 0.3], relevance_threshold=2) == 0.5  # positive: row 1 only


# ------------------------------------------------------------------------------------------------------------------
# evaluate: one ranking, same values as the single metrics


@pytest.mark.parametrize("convention", ["lightgbm", "trec", "sklearn"])
def test_evaluate_equals_single_metrics(rng, convention):
    y, s, sizes = random_run(rng, n_queries=50)
    metrics = ("ndcg@10", "ndcg", "mrr", "mrr@3", "map", "p@5", "auc")
    if convention != "sklearn":
        metrics += ("map@5",)
    res = go.evaluate(y, s, group=sizes, metrics=metrics, convention=convention)
    kw = dict(group=sizes, convention=convention)
    assert res["ndcg@10"] == go.ndcg_score(y, s, k=10, **kw)
    assert res["ndcg"] == go.ndcg_score(y, s, **kw)
    assert res["mrr"] == go.mrr_score(y, s, **kw)
    assert res["mrr@3"] == go.mrr_score(y, s, k=3, **kw)
    assert res["map"] == go.map_score(y, s, **kw)
    assert res["p@5"] == go.precision_score_at_k(y, s, k=5, **kw)
    assert res["auc"] == go.auc_score(y, s, group=sizes, average="query", relevance_threshold=1)
    if "map@5" in res:
        assert res["map@5"] == go.map_score(y, s, k=5, **kw)
    per_query = go.evaluate(y, s, group=sizes, metrics=("ndcg@10",), convention=convention, reduce=None)
    np.testing.assert_array_equal(per_query["ndcg@10"], go.ndcg_score(y, s, k=10, reduce=None, **kw))


# ------------------------------------------------------------------------------------------------------------------
# bad input: ValueError naming the argument and the value


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: go.ndcg_score([1, 0, 1], [0.1, 0.2], group=[3]), "y_score has 2 rows but y_true has 3"),
        (lambda: go.ndcg_score([1, 0, 1], [0.1, 0.2, 0.3], group=[2, 2]), "group sizes sum to 4 but there are 3"),
        (lambda: go.ndcg_score([1, 0, 1], [0.1, 0.2, 0.3], group=[3], k=0), "k must be >= 1; got 0"),
        (lambda: go.map_score([1, 0, 1], [0.1, 0.2, 0.3], group=[3], k=-2), "k must be >= 1; got -2"),
        (lambda: go.ndcg_score([1, 0, 1], [0.1, np.nan, 0.3], group=[3]), "y_score contains a non-finite value nan at index 1"),
        (lambda: go.mrr_score([1, -1, 1], [0.1, 0.2, 0.3], group=[3]), r"y_true must be non-negative.*-1\.0 at index 1"),
        (lambda: go.auc_score([0, 1, 0.5], [0.1, 0.2, 0.3]), r"only 0 and 1.*0\.5 at index 2"),
        (lambda: go.ndcg_score([1, 0, 1], [0.1, 0.2, 0.3]), "needs group .* or qid"),
        (lambda: go.ndcg_score([1, 0, 1], [0.1, 0.2, 0.3], group=[3], qid=[1, 1, 1]), "exactly one of group"),
        (lambda: go.ndcg_score([1, 0, 1], [0.1, 0.2, 0.3], qid=[1, 1]), "qid has 2 rows but y_true has 3"),
        (lambda: go.ndcg_score([1, 0], [0.1, 0.2], group=[2], convention="ranx"), "convention must be one of .*'ranx'"),
        (lambda: go.ndcg_score([1, 0], [0.1, 0.2], group=[2], ties="random"), "ties must be one of .*'random'"),
        (lambda: go.ndcg_score([1, 0], [0.1, 0.2], group=[2], empty="nan"), "empty must be .*'nan'"),
        (lambda: go.ndcg_score([1, 0], [0.1, 0.2], group=[2], reduce="sum"), "reduce must be .*'sum'"),
        (lambda: go.ndcg_score([1, 5], [0.1, 0.2], group=[2], gain=[0, 1, 3]), "label 5 at index 1 has no gain"),
        (lambda: go.auc_score([0, 1], [0.1, 0.2], average="micro"), "average must be .*'micro'"),
        (lambda: go.evaluate([0, 1], [0.1, 0.2], group=[2], metrics=("ndcg@x",)), "after '@' must be an integer"),
        (lambda: go.evaluate([0, 1], [0.1, 0.2], group=[2], metrics=("rmse",)), "unknown metric 'rmse'"),
    ],
    ids=["length", "group-sum", "k-zero", "k-negative", "nan-score", "negative-label", "auc-nonbinary",
         "no-group", "group-and-qid", "qid-length", "convention", "ties", "empty", "reduce", "gain-table",
         "auc-average", "metric-k", "metric-name"],
)
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_large_queries_with_ties_equal_pytrec_eval(rng):
    """Queries above 512 rows are ranked by the merge sort instead of counting; same results as trec_eval."""
    sizes = np.array([129, 200, 300, 3, 513, 700])
    y = rng.integers(0, 3, sizes.sum()).astype(float)
    s = rng.integers(0, 20, sizes.sum()) / 20.0
    ref = trec_eval(y, s, sizes, ["ndcg_cut_10", "recip_rank", "map"])
    res = go.evaluate(y, s, group=sizes, metrics=("ndcg@10", "mrr", "map"), convention="trec", reduce=None)
    np.testing.assert_allclose(res["ndcg@10"], ref["ndcg_cut_10"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(res["mrr"], ref["recip_rank"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(res["map"], ref["map"], rtol=0, atol=1e-9)


def test_evaluate_knobs_override_the_convention():
    rng = np.random.default_rng(7)
    y = rng.integers(0, 3, 60).astype(float)
    s = np.round(rng.normal(size=60), 1)
    group = [10, 20, 30]
    for knobs in ({"gain": "linear"}, {"empty": 0.0}, {"ties": "trec"}, {"gain": "linear", "ties": "average"}):
        got = go.evaluate(y, s, group=group, metrics=("ndcg@5",), **knobs)["ndcg@5"]
        assert got == pytest.approx(go.ndcg_score(y, s, group=group, k=5, **knobs), abs=1e-12)


# ------------------------------------------------------------------------------------------------------------------
# hostile input (issue 11): each reproducer, and what it does now


def test_huge_label_exp2_gain_overflow_is_refused():
    """2**2000 - 1 overflows: that query's NDCG was nan and the mean silently skipped it (returned 1.0)."""
    y, s = [0, 2000, 1, 0, 0, 1], [0.3, 0.1, 0.2, 0.5, 0.5, 0.9]
    with pytest.raises(ValueError, match=r"label 2000\.0 at index 1 .*labels >= 1024"):
        go.ndcg_score(y, s, group=[3, 3])
    with pytest.raises(ValueError, match=r"label 2000\.0 at index 1 .*labels >= 1024"):
        go.evaluate(y, s, group=[3, 3], metrics=("ndcg@2", "mrr"))
    # the largest label with a finite gain still works, and so does a huge label with linear gain
    assert 0.0 < go.ndcg_score([0, 1023, 1], [0.3, 0.1, 0.2], group=[3]) < 1.0
    assert go.ndcg_score(y, s, group=[3, 3], gain="linear") == pytest.approx(
        np.mean(go.ndcg_score(y, s, group=[3, 3], gain="linear", reduce=None))
    )
    # gains that are finite one by one but overflow when summed into a DCG
    with pytest.raises(ValueError, match="gains of query 1 overflow float64"):
        go.ndcg_score([1, 0, 1023, 1023], [0.1, 0.2, 0.3, 0.4], group=[2, 2])
    # labels other metrics only compare with the threshold are fine
    assert go.mrr_score(y, s, group=[3, 3]) == (1 / 2 + 1) / 2  # 1st relevant at rank 2, then rank 1


def test_nan_per_query_value_never_vanishes_from_the_mean():
    from gbm_objectives.metrics._engine import finish as _finish

    values = np.array([1.0, np.nan, 0.5])
    assert np.isnan(_finish(values, np.zeros(3, dtype=bool), None, "mean"))
    assert _finish(values, np.array([False, True, False]), None, "mean") == 0.75  # skipped on purpose only


def test_metrics_given_as_one_string():
    y, s, g = [2, 0, 1, 0], [0.9, 0.8, 0.1, 0.3], [2, 2]
    assert go.evaluate(y, s, group=g, metrics="ndcg@1") == go.evaluate(y, s, group=g, metrics=("ndcg@1",))
    assert list(go.evaluate(y, s, group=g, metrics="mrr")) == ["mrr"]
    with pytest.raises(ValueError, match="metrics is empty"):
        go.evaluate(y, s, group=g, metrics=())


def test_string_qids_are_factorised_in_sorted_order():
    y = np.array([1, 0, 0, 1, 1, 0])
    s = np.array([0.9, 0.1, 0.5, 0.7, 0.2, 0.3])
    q_str = np.array(["b", "a", "b", "a", "c", "c"])
    q_int = np.array([1, 0, 1, 0, 2, 2])
    for fn in (go.ndcg_score, go.mrr_score, go.map_score):
        np.testing.assert_array_equal(fn(y, s, qid=q_str, reduce=None), fn(y, s, qid=q_int, reduce=None))
        np.testing.assert_array_equal(fn(y, s, qid=list(q_str), reduce=None), fn(y, s, qid=q_int, reduce=None))
    assert go.evaluate(y, s, qid=q_str) == go.evaluate(y, s, qid=q_int)
    with pytest.raises(TypeError, match="numbers or strings of one type"):
        go.ndcg_score(y, s, qid=np.array(["a", 1, "b", 2, "c", 3], dtype=object))


def test_evaluate_auc_raises_where_auc_score_raises():
    y, s, g = [1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4], [2, 2]
    with pytest.raises(ValueError, match="no query has both"):
        go.auc_score(y, s, group=g, average="query")
    with pytest.raises(ValueError, match="no query has both"):
        go.evaluate(y, s, group=g, metrics=["auc"])


@pytest.mark.parametrize("fn", [go.ndcg_score, go.mrr_score, go.map_score, go.precision_score_at_k, go.evaluate])
def test_empty_input_raises(fn):
    with pytest.raises(ValueError, match="y_true is empty"):
        fn([], [], group=[])
    with pytest.raises(ValueError, match="y_true is empty"):
        fn(np.zeros(0), np.zeros(0), qid=np.zeros(0))


def test_empty_input_raises_auc():
    with pytest.raises(ValueError, match="y_true is empty"):
        go.auc_score([], [])


def test_messages_have_no_numpy_reprs():
    y, s, g = [1, 0], [0.2, 0.1], [2]
    cases = [
        lambda: go.mrr_score(y, s, group=g, relevance_threshold=np.float64(0.0)),
        lambda: go.ndcg_score(y, s, group=g, empty=np.float64(np.inf)),
        lambda: go.ndcg_score([1, -2.5], s, group=g),
        lambda: go.ndcg_score([1, 2000], s, group=g),
        lambda: go.ndcg_score([1, 0.5], s, group=g, gain=[0.0, 1.0]),
        lambda: go.ndcg_score(y, s, group=g, gain=np.array([0.0, -1.0])),
        lambda: go.auc_score([0, 2], s),
        lambda: go.evaluate(y, s, group=g, metrics=[np.str_("rmse")]),
        lambda: go.evaluate(y, s, group=g, metrics=[np.int64(3)]),
    ]
    for call in cases:
        with pytest.raises((ValueError, TypeError)) as info:
            call()
        assert "np." not in str(info.value), str(info.value)


@pytest.mark.parametrize(
    "fn", [go.ndcg_score, go.mrr_score, go.map_score, go.precision_score_at_k, go.evaluate,
           lambda y, s, group: go.auc_score(y, s, group=group, average="query", relevance_threshold=1)],
    ids=["ndcg", "mrr", "map", "precision", "evaluate", "auc"],
)
def test_negative_labels_are_refused(fn):
    """Relevance labels are non-negative (a gain 2**-1 - 1 < 0 would make an ideal DCG meaningless)."""
    with pytest.raises(ValueError, match=r"y_true must be non-negative relevance labels; got -1\.0 at index 2"):
        fn([1, 0, -1, 2], [0.4, 0.3, 0.2, 0.1], group=[4])


def test_negative_zero_score_ties_with_zero():
    """-0.0 == 0.0, so the two are one tie block (ranked by row), in every metric."""
    y = [1, 0, 1, 0]
    a = go.evaluate(y, [0.0, -0.0, 0.0, -0.0], group=[4], reduce=None)
    b = go.evaluate(y, [0.0, 0.0, 0.0, 0.0], group=[4], reduce=None)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


# ------------------------------------------------------------------------------------------------------------------
# properties (hypothesis): random shapes, groups, ties, labels and extreme scores

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_EXTREME = [0.0, -0.0, 1.0, -1.0, 1e-300, -1e-300, 1e300, -1e300, 5e-324, np.finfo(float).max, -np.finfo(float).max]


@st.composite
def runs(draw):
    sizes = draw(st.lists(st.integers(1, 9), min_size=1, max_size=6))
    n = sum(sizes)
    y = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    score = st.one_of(st.sampled_from(_EXTREME), st.integers(-3, 3).map(float),
                      st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))
    s = draw(st.lists(score, min_size=n, max_size=n))
    return np.array(y, dtype=float), np.array(s), np.array(sizes)


_CONVENTIONS = st.sampled_from(["lightgbm", "trec", "sklearn"])
_K = st.one_of(st.none(), st.integers(1, 12))


def _single(name, y, s, group, convention, k, reduce="mean"):
    kw = dict(group=group, convention=convention, reduce=reduce)
    if name == "ndcg":
        return go.ndcg_score(y, s, k=k, **kw)
    if name == "mrr":
        return go.mrr_score(y, s, k=k, **kw)
    if name == "map":
        return go.map_score(y, s, k=None if convention == "sklearn" else k, **kw)
    return go.precision_score_at_k(y, s, k=k or 10, **kw)


@settings(max_examples=50, deadline=None)
@given(runs(), _CONVENTIONS, _K, st.sampled_from(["ndcg", "mrr", "map", "p"]))
def test_property_grouped_equals_per_query_loop_and_in_unit_interval(run, convention, k, name):
    y, s, sizes = run
    per_query = _single(name, y, s, sizes, convention, k, reduce=None)
    assert per_query.shape == (len(sizes),)
    assert np.all((per_query >= 0.0) & (per_query <= 1.0 + 1e-12)), per_query
    b = boundaries_from_group(sizes)
    alone = [_single(name, y[b[q] : b[q + 1]], s[b[q] : b[q + 1]], [sizes[q]], convention, k)
             for q in range(len(sizes))]
    np.testing.assert_array_equal(per_query, alone)


@settings(max_examples=50, deadline=None)
@given(runs(), _CONVENTIONS, _K, st.randoms(use_true_random=False))
def test_property_permuting_queries_changes_nothing(run, convention, k, random):
    y, s, sizes = run
    b = boundaries_from_group(sizes)
    perm = list(range(len(sizes)))
    random.shuffle(perm)
    rows = np.concatenate([np.arange(b[q], b[q + 1]) for q in perm])
    metrics = ("ndcg" if k is None else f"ndcg@{k}", "mrr", "map", f"p@{k or 10}")
    a = go.evaluate(y, s, group=sizes, metrics=metrics, convention=convention)
    p = go.evaluate(y[rows], s[rows], group=sizes[perm], metrics=metrics, convention=convention)
    for name in metrics:
        assert p[name] == pytest.approx(a[name], rel=1e-12, abs=1e-15)


@settings(max_examples=50, deadline=None)
@given(runs(), _CONVENTIONS, _K)
def test_property_evaluate_equals_single_metrics(run, convention, k):
    y, s, sizes = run
    names = {"ndcg": "ndcg" if k is None else f"ndcg@{k}", "mrr": "mrr" if k is None else f"mrr@{k}",
             "map": "map" if k is None or convention == "sklearn" else f"map@{k}", "p": f"p@{k or 10}"}
    for reduce in ("mean", None):
        res = go.evaluate(y, s, group=sizes, metrics=tuple(names.values()), convention=convention, reduce=reduce)
        for base, name in names.items():
            np.testing.assert_array_equal(res[name], _single(base, y, s, sizes, convention, k, reduce=reduce))


@settings(max_examples=50, deadline=None)
@given(runs())
def test_property_auc(run):
    y, s, sizes = run
    pos = (y >= 1).astype(float)
    b = boundaries_from_group(sizes)
    two_class = [0 < pos[b[q] : b[q + 1]].sum() < sizes[q] for q in range(len(sizes))]
    if not any(two_class):
        with pytest.raises(ValueError, match="no query has both"):
            go.evaluate(y, s, group=sizes, metrics="auc")
        return
    per_query = go.auc_score(y, s, group=sizes, average="query", relevance_threshold=1, reduce=None)
    np.testing.assert_array_equal(np.isnan(per_query), ~np.array(two_class))
    ok = per_query[~np.isnan(per_query)]
    assert np.all((ok >= 0.0) & (ok <= 1.0))
    for q in np.flatnonzero(two_class):  # per query: the global AUC of that query alone
        assert per_query[q] == go.auc_score(pos[b[q] : b[q + 1]], s[b[q] : b[q + 1]])
    mean = go.auc_score(y, s, group=sizes, average="query", relevance_threshold=1)
    assert go.evaluate(y, s, group=sizes, metrics="auc")["auc"] == mean
    assert mean == pytest.approx(ok.mean(), rel=1e-12)
