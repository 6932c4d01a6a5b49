"""Fusion against ranx: every method and normalisation gives ranx's fused scores and its rankings on a generated
5-run, 1,000-query case; optimize_fusion finds the best grid point; bad input is refused by name."""

import numpy as np
import pandas as pd
import pytest

import gbm_objectives as go
from gbm_objectives.metrics.fusion import FUSION_METHODS

ranx = pytest.importorskip("ranx", reason="ranx is in the dev extra")

#: our method names -> ranx.fuse's, and the parameters both are given
RANX_NAMES = {"combsum": "sum", "combmnz": "mnz", "combgmnz": "gmnz", "combanz": "anz", "combmax": "max",
              "combmin": "min", "combmed": "med", "wsum": "wsum", "wmnz": "wmnz", "rrf": "rrf", "isr": "isr",
              "log_isr": "log_isr", "logn_isr": "logn_isr", "rbc": "rbc", "bordafuse": "bordafuse"}
WEIGHTS = [0.1, 0.4, 0.2, 0.25, 0.05]
PARAMS = {"combgmnz": {"gamma": 0.7}, "wsum": {"weights": WEIGHTS}, "wmnz": {"weights": WEIGHTS},
          "rrf": {"k": 60}, "logn_isr": {"sigma": 0.01}, "rbc": {"phi": 0.8}}
SCORE_BASED = [m for m in FUSION_METHODS if m not in ("rrf", "isr", "log_isr", "logn_isr", "rbc", "bordafuse")]


@pytest.fixture(scope="module")
def five_runs():
    """5 runs over 1,000 queries: each retrieves 5-20 documents of a 40-document pool per query (overlapping),
    with continuous scores on different scales (no ties inside a run)."""
    rng = np.random.default_rng(7)
    runs = []
    for r in range(5):
        rows = []
        for q in range(1000):
            n = int(rng.integers(5, 21))
            docs = rng.choice(40, size=n, replace=False)
            rows.append(pd.DataFrame({"qid": f"q{q}", "docno": [f"d{d}" for d in docs],
                                      "score": rng.normal(r, 1 + r, size=n)}))
        runs.append(pd.concat(rows, ignore_index=True))
    ranx_runs = [ranx.Run.from_dict({q: dict(zip(g.docno, g.score)) for q, g in f.groupby("qid", sort=False)})
                 for f in runs]
    return runs, ranx_runs


def _check_same(ours, theirs):
    """Same documents per query, scores equal within 1e-12 (relative), and the same ranking: ours is ranx's
    fused run ordered as trec_eval orders (query, score descending, docno descending)."""
    t = theirs.to_dataframe().rename(columns={"q_id": "qid", "doc_id": "docno"})
    t = t.sort_values("docno", ascending=False, kind="stable").sort_values(["qid", "score"], ascending=[True, False],
                                                                           kind="stable")
    o = ours.astype({"qid": str, "docno": str})
    assert len(o) == len(t)
    assert o.qid.tolist() == t.qid.tolist() and o.docno.tolist() == t.docno.tolist()
    np.testing.assert_allclose(o.score.to_numpy(), t.score.to_numpy(), rtol=1e-12, atol=1e-300)


@pytest.mark.slow  # ranx compiles its kernels on first use (cached afterwards)
@pytest.mark.parametrize("norm", ["min-max", "sum", "zmuv", None])
def test_score_methods_equal_ranx(five_runs, norm):
    runs, ranx_runs = five_runs
    for method in SCORE_BASED:
        ours = go.fuse(runs, method=method, norm=norm, **PARAMS.get(method, {}))
        theirs = ranx.fuse(ranx_runs, norm=norm, method=RANX_NAMES[method], params=PARAMS.get(method))
        _check_same(ours, theirs)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["rrf", "isr", "log_isr", "logn_isr", "rbc", "bordafuse"])
def test_rank_methods_equal_ranx(five_runs, method):
    runs, ranx_runs = five_runs
    ours = go.fuse(runs, method=method, norm="min-max", **PARAMS.get(method, {}))
    theirs = ranx.fuse(ranx_runs, norm="min-max", method=RANX_NAMES[method], params=PARAMS.get(method))
    _check_same(ours, theirs)


@pytest.mark.slow
def test_max_and_rank_norms_equal_ranx(five_runs):
    runs, ranx_runs = five_runs
    for norm in ("max", "rank"):
        _check_same(go.fuse(runs, method="combsum", norm=norm), ranx.fuse(ranx_runs, norm=norm, method="sum"))


def test_fused_run_is_a_run(tmp_path):
    """Same columns as read_run, ranked per query; a run without a query contributes nothing to it; depth cuts."""
    a = pd.DataFrame({"qid": ["1", "1", "2"], "docno": ["x", "y", "x"], "score": [2.0, 1.0, 5.0]})
    b = pd.DataFrame({"qid": ["1", "1"], "docno": ["y", "z"], "score": [3.0, 1.0]})
    f = go.fuse({"a": a, "b": b}, method="combsum", norm=None)
    path = tmp_path / "a.txt"
    path.write_text("1 Q0 x 1 2.0 t\n")
    assert list(f.columns) == list(go.read_run(path).columns)
    assert f[["qid", "docno"]].astype(str).values.tolist() == [["1", "y"], ["1", "x"], ["1", "z"], ["2", "x"]]
    assert f.score.tolist() == [4.0, 2.0, 1.0, 5.0]
    assert go.fuse([a, b], method="combsum", norm=None, depth=1).docno.astype(str).tolist() == ["y", "x"]


def test_optimize_fusion_finds_the_best_grid_point():
    """The grid search returns the weight vector whose fused run scores best, checked by evaluating every
    vector of the grid directly."""
    rng = np.random.default_rng(3)
    qids = np.repeat([f"q{i}" for i in range(30)], 10)
    docs = np.tile([f"d{j}" for j in range(10)], 30)
    rel = rng.integers(0, 3, size=300)
    qrels = pd.DataFrame({"qid": qids, "docno": docs, "relevance": rel})
    runs = [pd.DataFrame({"qid": qids, "docno": docs, "score": rel * s + rng.normal(0, 1, 300)})
            for s in (0.2, 1.0, 0.0)]
    best = go.optimize_fusion(runs, qrels, metric="ndcg@5", step=0.25)
    assert len(best.trials) == 15  # C(4 + 2, 2)
    direct = [go.evaluate_run(qrels, go.fuse(runs, method="wsum", weights=w), metrics="ndcg@5").mean["ndcg@5"]
              for w in best.trials[["0", "1", "2"]].to_numpy()]
    assert best.value == max(direct) == best.trials["ndcg@5"].iloc[0]
    np.testing.assert_allclose(best.weights.sum(), 1.0)
    assert best.trials["ndcg@5"].tolist() == direct


@pytest.mark.parametrize("kwargs, match", [
    ({"method": "nope"}, "method must be one of"),
    ({"norm": "l2"}, "norm must be one of"),
    ({"method": "wsum", "weights": [1.0]}, "one value per run"),
    ({"method": "wsum", "weights": [1.0, np.nan]}, "finite"),
    ({"method": "rrf", "weights": [1.0, 1.0]}, "takes none"),
    ({"method": "rrf", "k": 0}, "k must be in"),
    ({"method": "rbc", "phi": 1.0}, "phi must be in"),
    ({"depth": 0}, "depth must be"),
])
def test_bad_arguments_are_named(kwargs, match):
    a = pd.DataFrame({"qid": ["1"], "docno": ["x"], "score": [1.0]})
    with pytest.raises(ValueError, match=match):
        go.fuse([a, a.copy()], **kwargs)


def test_bad_runs_are_named():
    a = pd.DataFrame({"qid": ["1", "1"], "docno": ["x", "x"], "score": [1.0, 2.0]})
    ok = pd.DataFrame({"qid": ["1"], "docno": ["x"], "score": [1.0]})
    with pytest.raises(ValueError, match=r"runs\[1\] has the document 'x' twice for query '1'"):
        go.fuse([ok, a])
    with pytest.raises(ValueError, match="at least 2 runs"):
        go.fuse([ok])
    with pytest.raises(ValueError, match=r"runs\[0\]: score must be finite"):
        go.fuse([ok.assign(score=np.inf), ok])
    with pytest.raises(TypeError, match="runs\\['b'\\] must be a run DataFrame"):
        go.fuse({"a": ok, "b": 3})
