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
from gbm_objectives.segments import boundaries_from_group

from conftest import shared_dataset

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


def group_sizes_of(qid):
    return np.diff(np.flatnonzero(np.r_[True, qid[1:] != qid[:-1], True]))


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


def test_ndcg_qid_rows_need_not_be_contiguous(rng):
    y, s, sizes = random_run(rng)
    qid = np.repeat(np.arange(len(sizes)) * 3 + 1, sizes)
    perm = rng.permutation(len(y))
    for convention in ("lightgbm", "sklearn"):
        a = go.ndcg_score(y, s, group=sizes, k=5, convention=convention, reduce=None)
        b = go.ndcg_score(y[perm], s[perm], qid=qid[perm], k=5, convention=convention, reduce=None)
        # a shuffle changes the input order of ties, so compare on tie-free ranks (lightgbm) / averaged ties (sklearn)
        if convention == "sklearn":
            np.testing.assert_allclose(a, b, atol=1e-12)
    s_unique = rng.permutation(len(y)).astype(float)
    a = go.ndcg_score(y, s_unique, group=sizes, k=5, reduce=None)
    b = go.ndcg_score(y[perm], s_unique[perm], qid=qid[perm], k=5, reduce=None)
    np.testing.assert_allclose(a, b, atol=1e-12)


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
