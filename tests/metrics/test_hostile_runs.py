"""Hostile inputs to the relevance-experiment path: non-finite and duplicated per-query values in the significance
tests, trec_eval's -J (judged_only) against pytrec_eval, duplicated metric names, a NaN relevance threshold."""

import math
import re

import numpy as np
import pandas as pd
import pytest

import gbm_objectives as go
from conftest import pytrec_evaluate
from gbm_objectives.metrics.significance import paired_test

# every measure evaluate_run supports that trec_eval (pytrec_eval) also computes: ours -> pytrec_eval's key
TREC_METRICS = ["ndcg", "ndcg_cut_5", "ndcg_cut_10", "map", "map_cut_5", "map_cut_20", "recip_rank", "P_1", "P_5",
                "P_10", "recall_5", "recall_100", "Rprec", "bpref", "success_1", "success_5"]
PYTREC = {"ndcg", "ndcg_cut.5,10", "map", "map_cut.5,20", "recip_rank", "P.1,5,10", "recall.5,100", "Rprec",
          "bpref", "success.1,5"}


# ---------------------------------------------------------------------------------------------------------------
# significance: a NaN or inf per-query value, a query twice


def _systems():
    """Two systems on 30 queries whose difference is not significant (clean p well above 0.05)."""
    rng = np.random.default_rng(0)
    idx = pd.Index([f"q{i:03d}" for i in range(30)], name="qid")
    a = pd.DataFrame({"map": rng.uniform(size=30), "ndcg": rng.uniform(size=30)}, index=idx)
    b = a + rng.normal(0.0, 0.1, size=(30, 2)) + 0.02
    return a, b


@pytest.mark.parametrize("test", ["randomization", "bootstrap", "t-test"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_compare_runs_refuses_a_non_finite_per_query_value(test, bad):
    a, b = _systems()
    clean = go.compare_runs({"A": a, "B": b}, test=test, n_resamples=2000)
    row = clean[(clean.system == "B") & (clean.metric == "map")].iloc[0]
    assert 0.05 < row.p_value < 1 and np.isfinite([row.ci_low, row.ci_high]).all()
    # before: one NaN in B gave p = 1 / (n_resamples + 1) (a NaN difference never counts as "as extreme") and
    # a NaN interval
    b.loc["q007", "map"] = bad
    with pytest.raises(ValueError, match=r"system 'B', metric 'map': the value of query 'q007' is "
                                         rf"{re.escape(repr(float(bad)))}"):
        go.compare_runs({"A": a, "B": b}, test=test, n_resamples=2000)
    # the baseline's values are checked too, and only the metrics compared
    a.loc["q003", "ndcg"] = bad
    with pytest.raises(ValueError, match=r"system 'A', metric 'ndcg': the value of query 'q003'"):
        go.compare_runs({"A": a, "B": b.fillna(0.0).replace([np.inf, -np.inf], 0.0)}, test=test, n_resamples=20)
    table = go.compare_runs({"A": a.drop(columns="ndcg"), "B": b.replace([np.inf, -np.inf], 0.0).fillna(0.0)},
                            metrics=["map"], test=test, n_resamples=20)
    assert list(table.metric) == ["map", "map"]


def test_compare_runs_refuses_a_query_twice():
    a, b = _systems()
    twice = pd.concat([b, b.iloc[[4]]])  # q004 twice: its value would count double in every mean
    with pytest.raises(ValueError, match=r"system 'B' has the query 'q004' twice"):
        go.compare_runs({"A": a, "B": twice})
    with pytest.raises(ValueError, match=r"system 'A' has the query 'q004' twice"):
        go.compare_runs({"A": pd.concat([a, a.iloc[[4]]]), "B": b})


@pytest.mark.parametrize("test", ["randomization", "bootstrap", "t-test"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("which", ["x", "baseline"])
def test_paired_test_refuses_non_finite_values_naming_the_index(test, bad, which):
    x = np.linspace(0.1, 0.9, 9)
    b = x[::-1].copy()
    (x if which == "x" else b)[3] = bad
    with pytest.raises(ValueError, match=rf"{which} contains a non-finite value {bad!r} at index 3"):
        paired_test(x, b, test=test, n_resamples=100)


# ---------------------------------------------------------------------------------------------------------------
# judged_only (trec_eval -J) against pytrec_eval


def _hostile_trec(seed):
    """Graded qrels with -1 judgments; runs with unjudged documents, tied scores, relevant documents left out; a
    query whose retrieved documents are all unjudged, one whose are all judged -1, one without relevant documents,
    one whose only relevant document is not retrieved."""
    rng = np.random.default_rng(seed)
    qr, rn = [], []
    for q in range(40):
        qid = f"q{q:02d}"
        docs = [f"d{i:03d}" for i in rng.choice(300, 50, replace=False)]
        rels = rng.integers(-1, 4, size=25)
        if q == 3:
            rels[:] = rng.integers(-1, 1, size=25)  # no relevant document
        if q == 4:
            rels[:] = -1
            rels[24] = 2  # its only relevant document is never retrieved (below)
        qr += [(qid, d, int(r)) for d, r in zip(docs[:25], rels)]
        if q == 1:
            retrieved = [f"u{q}-{i}" for i in range(12)]  # all unjudged
        elif q == 2:
            retrieved = [d for d, r in zip(docs[:25], rels) if r == -1] or [docs[0]]
            qr = [(a, d, -1 if a == qid else r) for a, d, r in qr]  # all judged -1
        elif q == 4:
            retrieved = docs[:20] + [f"u{i}" for i in range(5)]
        else:
            retrieved = list(rng.choice(docs, 30, replace=False)) + [f"u{q}-{i}" for i in range(int(rng.integers(0, 15)))]
        scores = rng.integers(0, 8, size=len(retrieved)).astype(float)  # many ties: docno descending breaks them
        rn += [(qid, d, s) for d, s in zip(retrieved, scores)]
    return (pd.DataFrame(qr, columns=["qid", "docno", "relevance"]),
            pd.DataFrame(rn, columns=["qid", "docno", "score"]))


def _pytrec(qrels, run, threshold, judged_only):
    return pytrec_evaluate(qrels, run, PYTREC, threshold, judged_only)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("threshold", [1, 2])
@pytest.mark.parametrize("judged_only", [True, False])
def test_judged_only_matches_pytrec_eval_value_for_value(seed, threshold, judged_only):
    qrels, run = _hostile_trec(seed)
    res = go.evaluate_run(qrels, run, metrics=TREC_METRICS, relevance_threshold=threshold, judged_only=judged_only)
    ref = _pytrec(qrels, run, threshold, judged_only)
    # every query of the run stays, the all-unjudged and all-(-1) ones included (dropping them inflates the means)
    assert sorted(ref) == list(res.per_query.index) == sorted(run.qid.unique())
    for m in TREC_METRICS:
        expected = np.array([ref[q][m] for q in res.per_query.index])
        np.testing.assert_allclose(res.per_query[m].to_numpy(), expected, rtol=0, atol=1e-12, err_msg=m)
        assert res.mean[m] == pytest.approx(float(np.mean(expected)), abs=1e-12)


def test_judged_only_hand_derived():
    # qrels: a=2, b=0, c=1, n=-1, z=1 (never retrieved). Ranked: x (unjudged, 9), n (-1, 8), c (7), b (6), a (5).
    # -J keeps c, b, a (x unjudged, n judged -1): c rel at 1, a rel at 3; R = 3 (a, c, z)
    qrels = pd.DataFrame({"qid": ["1"] * 5 + ["2"], "docno": ["a", "b", "c", "n", "z", "a"],
                          "relevance": [2, 0, 1, -1, 1, 1]})
    run = pd.DataFrame({"qid": ["1"] * 5 + ["2", "2"], "docno": ["x", "n", "c", "b", "a", "y", "w"],
                        "score": [9.0, 8.0, 7.0, 6.0, 5.0, 2.0, 1.0]})
    res = go.evaluate_run(qrels, run, metrics=["map", "mrr", "P_2", "ndcg", "bpref"], judged_only=True)
    l2 = math.log2
    q1 = res.per_query.loc["1"]
    assert q1["map"] == pytest.approx((1 + 2 / 3) / 3, abs=1e-15)
    assert q1["mrr"] == 1.0 and q1["P_2"] == 0.5
    assert q1["ndcg"] == pytest.approx((1 + 2 / l2(4)) / (2 + 1 / l2(3) + 1 / l2(4)), abs=1e-15)
    # bpref: b (judged non-relevant) is above a: a scores 1 - 1/min(R=3, N=1); c scores 1 -> (1 + 0) / 3
    assert q1["bpref"] == pytest.approx(1 / 3, abs=1e-15)
    # query 2 retrieved only unjudged documents: it stays, at 0, and halves the means (trec_eval -J)
    assert res.per_query.loc["2"].tolist() == [0.0] * 5
    assert res.mean["map"] == pytest.approx(q1["map"] / 2, abs=1e-15)


@pytest.mark.parametrize("convention", ["lightgbm", "sklearn"])
def test_judged_only_is_evaluating_the_judged_run(convention):
    """Whatever the convention, judged_only equals evaluating the run with the unjudged and negatively judged
    documents removed beforehand (dcg and err included, which trec_eval lacks); a query left empty stays, with the
    convention's value for its case (0 with relevant documents, ``empty`` without)."""
    qrels, run = _hostile_trec(5)
    metrics = ["ndcg@10", "map", "mrr", "p@5", "recall@10", "rprec", "dcg@5", "err@10"]
    if convention == "sklearn":
        metrics = [m for m in metrics if not m.startswith("err")]
    got = go.evaluate_run(qrels, run, metrics=metrics, judged_only=True, convention=convention)
    judged = run.merge(qrels, on=["qid", "docno"], how="inner")
    judged = judged[judged.relevance >= 0][["qid", "docno", "score"]]
    want = go.evaluate_run(qrels, judged, metrics=metrics, convention=convention)
    left_empty = sorted(set(run.qid) - set(judged.qid))
    assert {"q01", "q02"} <= set(left_empty)
    pd.testing.assert_frame_equal(got.per_query.drop(index=left_empty), want.per_query, rtol=0, atol=1e-12)
    empty = 1.0 if convention == "lightgbm" else 0.0  # the conventions' value of a query without relevant documents
    for q in left_empty:
        has_rel = bool((qrels[qrels.qid == q].relevance >= 1).any())
        for m in metrics:
            expected = 0.0 if has_rel or m.startswith(("dcg", "err")) else empty
            assert got.per_query.loc[q, m] == expected, (q, m)


def test_judged_only_with_missing_queries_zero():
    qrels = pd.DataFrame({"qid": ["1", "2", "3"], "docno": ["a", "a", "a"], "relevance": [1, 1, 1]})
    run = pd.DataFrame({"qid": ["1", "2"], "docno": ["a", "u"], "score": [1.0, 1.0]})
    for missing, rows in (("skip", {"1": 1.0, "2": 0.0}), ("zero", {"1": 1.0, "2": 0.0, "3": 0.0})):
        res = go.evaluate_run(qrels, run, metrics=["map"], judged_only=True, missing_queries=missing)
        assert res.per_query["map"].to_dict() == rows


# ---------------------------------------------------------------------------------------------------------------
# smaller ones


def test_metric_named_twice_is_one_column():
    qrels = pd.DataFrame({"qid": ["1", "1"], "docno": ["a", "b"], "relevance": [1, 0]})
    run = pd.DataFrame({"qid": ["1", "1"], "docno": ["b", "a"], "score": [2.0, 1.0]})
    res = go.evaluate_run(qrels, run, metrics=["map", "map", "mrr", "map"])
    assert res.metrics == ("map", "mrr") and list(res.per_query.columns) == ["map", "mrr"]
    assert res.mean == {"map": 0.5, "mrr": 0.5}
    assert res.to_trec(per_query=False).count("map") == 1


@pytest.mark.parametrize("threshold", [np.nan, float("inf"), -np.inf])
def test_relevance_threshold_must_be_finite(threshold):
    qrels = pd.DataFrame({"qid": ["1"], "docno": ["a"], "relevance": [1]})
    run = pd.DataFrame({"qid": ["1"], "docno": ["a"], "score": [1.0]})
    with pytest.raises(ValueError, match=rf"relevance_threshold must be finite; got {threshold!r}"):
        go.evaluate_run(qrels, run, relevance_threshold=threshold)

