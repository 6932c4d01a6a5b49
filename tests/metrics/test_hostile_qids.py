"""Query ids: strings ("q007") are accepted wherever qids are; a numeric id with a fractional part (1.5) is refused."""

import numpy as np
import pandas as pd
import pytest

import gbm_objectives as go
from gbm_objectives._core.segments import boundaries_from_qid
from gbm_objectives.datasets import make_ranking, simulate_clicks


@pytest.fixture(scope="module")
def data():
    X, y, qid = make_ranking(n_queries=8, docs_per_query=(4, 7), n_features=3, seed=0)
    return X, y, qid


def _spellings(qid):
    text = [f"q{int(v):03d}" for v in qid]  # zero-padded: sorted as strings as the integers sort
    return {"int": qid, "float": qid.astype(np.float64), "object": np.array(text, dtype=object),
            "unicode": np.array(text), "list": text, "series": pd.Series(text)}


@pytest.mark.parametrize("metric", ["ndcg_score", "map_score", "mrr_score"])
def test_metrics_take_string_qids(data, metric):
    X, y, qid = data
    want = getattr(go, metric)(y, X[:, 0], qid=qid, reduce=None)
    for name, q in _spellings(qid).items():
        np.testing.assert_array_equal(getattr(go, metric)(y, X[:, 0], qid=q, reduce=None), want, err_msg=name)


def test_training_and_lambdamart_take_string_qids(data):
    X, y, qid = data
    want = go.train(go.LambdaRankObjective(), X, y, qid=qid, num_boost_round=3, n_jobs=1).predict_raw(X)
    want_model = go.LambdaMART(n_estimators=3, n_jobs=1).fit(X, y, qid=qid)
    for name, q in _spellings(qid).items():
        got = go.train(go.LambdaRankObjective(), X, y, qid=q, num_boost_round=3, n_jobs=1).predict_raw(X)
        np.testing.assert_array_equal(got, want, err_msg=name)  # before: TypeError "qid must be a numeric array"
        model = go.LambdaMART(n_estimators=3, n_jobs=1).fit(X, y, qid=q)
        np.testing.assert_array_equal(model.predict(X), want_model.predict(X), err_msg=name)
        assert model.score(X, y, qid=q) == want_model.score(X, y, qid=qid)
    c1, p1 = simulate_clicks(y, qid=qid, ranking_score=X[:, 0], seed=0)
    c2, p2 = simulate_clicks(y, qid=_spellings(qid)["object"], ranking_score=X[:, 0], seed=0)
    assert np.array_equal(c1, c2) and np.array_equal(p1, p2)


def _fractional(qid):
    q = qid.astype(np.float64)
    q[q == q[-1]] = 1.5  # the last query's id: rows still contiguous, the id is 1.5
    return q


def test_fractional_qid_is_refused(data):
    X, y, qid = data
    q = _fractional(qid)
    row = int(np.flatnonzero(q == 1.5)[0])
    msg = rf"qid must hold integer query ids \(or strings\); got 1.5 at row {row}"
    with pytest.raises(ValueError, match=msg):  # before: accepted as a label
        go.ndcg_score(y, X[:, 0], qid=q)
    with pytest.raises(ValueError, match=msg):
        go.train(go.LambdaRankObjective(), X, y, qid=q, num_boost_round=2, n_jobs=1)
    with pytest.raises(ValueError, match=msg):
        go.LambdaMART(n_estimators=2, n_jobs=1).fit(X, y, qid=q)
    with pytest.raises(ValueError, match=msg):
        boundaries_from_qid(q)


@pytest.mark.parametrize("bad, error, match", [
    (["q1", "q1", None], TypeError, r"qid must hold numbers or strings; got None \(NoneType\) at row 2"),
    (np.array(["q1", "q1", 3], dtype=object), TypeError, r"got 3 \(int\) at row 2"),
    ([1.0, 1.0, np.nan], ValueError, r"qid must be finite; got nan at row 2"),
    ([[1, 1, 2]], ValueError, r"qid must be 1-D"),
])
def test_other_bad_qids(bad, error, match):
    with pytest.raises(error, match=match):
        boundaries_from_qid(bad)
