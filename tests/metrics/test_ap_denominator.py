"""MAP's denominator is a knob (``ap_denominator``) like ``gain``/``ties``/``empty``: the convention picks it unless
it is given, and it means the same in ``map_score`` and ``evaluate``."""

import numpy as np
import pytest

import gbm_objectives as go

Y = np.array([1, 0, 1, 0, 1, 1, 0])
S = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3])
GROUP = [4, 3]


def _ap(y, s, k, denominator):
    """AP@k written out: the sum of precision@r over the relevant ranks r <= k, over D."""
    order = np.argsort(-s, kind="stable")
    rel = y[order]
    hits = np.cumsum(rel)
    top = sum(hits[r] / (r + 1) for r in range(min(k, len(rel))) if rel[r])
    R = rel.sum()
    return top / (min(R, k) if denominator == "min_relevant_k" else R)


@pytest.mark.parametrize("convention, default", [("lightgbm", "min_relevant_k"), ("trec", "relevant")])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_the_convention_sets_the_denominator_unless_given(convention, default, k):
    for denominator in (None, "relevant", "min_relevant_k"):
        used = default if denominator is None else denominator
        expected = np.mean([_ap(Y[:4], S[:4], k, used), _ap(Y[4:], S[4:], k, used)])
        got = go.map_score(Y, S, group=GROUP, k=k, convention=convention, ap_denominator=denominator)
        assert got == pytest.approx(expected, rel=1e-15)
        both = go.evaluate(Y, S, group=GROUP, metrics=[f"map@{k}"], convention=convention, ap_denominator=denominator)
        assert both[f"map@{k}"] == got


def test_bad_ap_denominator_is_named():
    with pytest.raises(ValueError, match=r"ap_denominator must be one of \['relevant', 'min_relevant_k'\]; got 'R'"):
        go.map_score(Y, S, group=GROUP, k=2, ap_denominator="R")


def test_evaluate_run_takes_the_knob_too():
    import pandas as pd

    qrels = pd.DataFrame({"qid": ["1"] * 3, "docno": ["a", "b", "c"], "relevance": [1, 0, 1]})
    run = pd.DataFrame({"qid": ["1"] * 3, "docno": ["a", "b", "c"], "score": [0.9, 0.8, 0.7]})
    trec = go.evaluate_run(qrels, run, metrics=["map@1"]).mean["map@1"]
    assert trec == 0.5  # (1/1) / R, R = 2: trec_eval's map_cut_1
    assert go.evaluate_run(qrels, run, metrics=["map@1"], ap_denominator="min_relevant_k").mean["map@1"] == 1.0
