"""Fusion against ranx: every method and normalisation gives ranx's fused scores and its rankings on a generated
5-run, 1,000-query case; optimize_fusion finds the best grid point; bad input is refused by name.

ranx runs in a child process with ``NUMBA_DISABLE_JIT=1``: the same ranx code, interpreted (its compiled form would
cost CI minutes of numba compilation on an empty cache, for ~45 functions used once); the child writes every fused
run, the comparisons run here."""

import os
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import gbm_objectives as go
from gbm_objectives.metrics.fusion import FUSION_METHODS

pytest.importorskip("ranx", reason="ranx is in the dev extra")

#: our method names -> ranx.fuse's, and the parameters both are given
RANX_NAMES = {"combsum": "sum", "combmnz": "mnz", "combgmnz": "gmnz", "combanz": "anz", "combmax": "max",
              "combmin": "min", "combmed": "med", "wsum": "wsum", "wmnz": "wmnz", "rrf": "rrf", "isr": "isr",
              "log_isr": "log_isr", "logn_isr": "logn_isr", "rbc": "rbc", "bordafuse": "bordafuse"}
WEIGHTS = [0.1, 0.4, 0.2, 0.25, 0.05]
PARAMS = {"combgmnz": {"gamma": 0.7}, "wsum": {"weights": WEIGHTS}, "wmnz": {"weights": WEIGHTS},
          "rrf": {"k": 60}, "logn_isr": {"sigma": 0.01}, "rbc": {"phi": 0.8}}
RANK_BASED = ("rrf", "isr", "log_isr", "logn_isr", "rbc", "bordafuse")
SCORE_BASED = [m for m in FUSION_METHODS if m not in RANK_BASED]
#: (method, norm) cases: every score-based method under every normalisation the issue names, every rank-based
#: method (they read ranks: the normalisation cannot change them), and ranx's two other normalisations
CASES = ([(m, n) for n in ("min-max", "sum", "zmuv", None) for m in SCORE_BASED]
         + [(m, "min-max") for m in RANK_BASED] + [("combsum", "max"), ("combsum", "rank")])

_RANX_CHILD = """
import pickle, sys
import ranx
runs, cases = pickle.load(open(sys.argv[1], "rb"))
runs = [ranx.Run.from_dict(r) for r in runs]
out = {}
for (ours, norm), (name, params) in cases.items():
    out[ours, norm] = ranx.fuse(runs, norm=norm, method=name, params=params).to_dict()
pickle.dump({k: {q: dict(v) for q, v in d.items()} for k, d in out.items()}, open(sys.argv[2], "wb"))
"""


def _five_runs():
    """5 runs over 1,000 queries: each retrieves 5-20 documents of a 40-document pool per query (overlapping),
    with continuous scores on different scales (no ties inside a run)."""
    rng = np.random.default_rng(7)
    runs = []
    for r in range(5):
        qids, docnos, scores = [], [], []
        for q in range(1000):
            n = int(rng.integers(5, 21))
            docs = rng.choice(40, size=n, replace=False)
            qids += [f"q{q}"] * n
            docnos += [f"d{d}" for d in docs]
            scores.append(rng.normal(r, 1 + r, size=n))
        runs.append(pd.DataFrame({"qid": qids, "docno": docnos, "score": np.concatenate(scores)}))
    return runs


@pytest.fixture(scope="module")
def fused_by_ranx(tmp_path_factory):
    runs = _five_runs()
    folder = tmp_path_factory.mktemp("ranx")
    as_dicts = [{q: dict(zip(g.docno, g.score)) for q, g in f.groupby("qid", sort=False)} for f in runs]
    cases = {(m, n): (RANX_NAMES[m], PARAMS.get(m)) for m, n in CASES}
    with open(folder / "in.pkl", "wb") as fh:
        pickle.dump((as_dicts, cases), fh)
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    subprocess.run([sys.executable, "-c", _RANX_CHILD, str(folder / "in.pkl"), str(folder / "out.pkl")], env=env,
                   check=True, timeout=600)
    with open(folder / "out.pkl", "rb") as fh:
        return runs, pickle.load(fh)


def _check_same(ours, theirs):
    """Same documents per query, scores equal to ranx's within 1e-12 (relative, or absolute for normalised scores
    near 0, where ranx's pairwise mean and our sequential one differ in the last bit), and the same ranking: our
    order sorts ranx's scores descending, documents with equal ranx scores follow docno descending (trec_eval's
    tie order), and only scores within 1e-12 of each other may trade places (equal in exact arithmetic, e.g. RRF
    terms of the same ranks added in another order, they differ by float rounding: interpreted ranx computes
    ``phi ** i`` and means with other roundings than its compiled form, which ours matches bit for bit)."""
    t = pd.DataFrame([(q, d, v) for q, docs in theirs.items() for d, v in docs.items()],
                     columns=["qid", "docno", "theirs"])
    o = ours.astype({"qid": str, "docno": str}).reset_index(drop=True)
    m = o.merge(t, on=["qid", "docno"], how="outer", indicator=True)
    assert (m["_merge"] == "both").all(), m[m["_merge"] != "both"].head()
    m = o.merge(t, on=["qid", "docno"], how="left")  # our order
    np.testing.assert_allclose(m.score.to_numpy(), m.theirs.to_numpy(), rtol=1e-12, atol=1e-12)
    x = m.theirs.to_numpy()
    same_q = m.qid.to_numpy()[1:] == m.qid.to_numpy()[:-1]
    tol = 1e-12 * np.maximum(1.0, np.abs(x[1:]))
    assert (~same_q | (x[:-1] >= x[1:] - tol)).all()  # descending, up to 1e-12
    tied = same_q & (x[:-1] == x[1:])
    assert (~tied | (m.docno.to_numpy()[:-1] > m.docno.to_numpy()[1:])).all()  # equal scores: docno descending
    swapped = same_q & (x[:-1] < x[1:])
    assert swapped.sum() <= 0.001 * len(x)  # near-ties only: a handful


@pytest.mark.slow  # ranx interpreted in a child process: ~10 s
@pytest.mark.parametrize("method, norm", CASES)
def test_fusion_equals_ranx(fused_by_ranx, method, norm):
    runs, theirs = fused_by_ranx
    _check_same(go.fuse(runs, method=method, norm=norm, **PARAMS.get(method, {})), theirs[method, norm])


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
