"""TREC runs vs qrels (trec_eval semantics) and the paired significance tests."""

import itertools
import json
import math
import os
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

import gbm_objectives as go
from gbm_objectives.metrics.significance import holm, paired_test

TREC_METRICS = ["ndcg", "ndcg_cut_5", "ndcg_cut_10", "map", "map_cut_5", "recip_rank", "P_5", "P_10", "recall_5",
                "recall_100", "Rprec", "bpref", "success_1", "success_5"]
PYTREC = {"ndcg", "ndcg_cut.5,10", "map", "map_cut.5", "recip_rank", "P.5,10", "recall.5,100", "Rprec", "bpref",
          "success.1,5"}


def _write(path, lines):
    path.write_text("".join(lines))
    return path


@pytest.fixture
def trec_files(tmp_path):
    """Graded qrels with -1 labels, runs leaving relevant documents out, unjudged documents, many tied scores, a
    query with no retrieved document and a run query without qrels."""
    rng = np.random.default_rng(1)
    qr, rn = [], []
    for q in range(30):
        docs = [f"d{i:03d}" for i in rng.choice(200, 40, replace=False)]
        for d in docs[:25]:
            qr.append((f"q{q}", d, int(rng.integers(-1, 4) if q % 5 else rng.integers(0, 2))))
        if q % 7 == 3:
            continue
        for d in (docs[10:35] if q % 4 else docs[:40]):
            rn.append((f"q{q}", d, float(rng.integers(0, 6))))
    rn.append(("qX", "d001", 1.0))
    qrels = _write(tmp_path / "qrels.txt", [f"{q} 0 {d} {r}\n" for q, d, r in qr])
    run = _write(tmp_path / "run.txt", [f"{q} Q0 {d} {i} {s} tag\n" for i, (q, d, s) in enumerate(rn)])
    return qrels, run, qr, rn


@pytest.mark.parametrize("threshold", [1, 2])
def test_matches_pytrec_eval(trec_files, threshold):
    pytrec_eval = pytest.importorskip("pytrec_eval")
    qrels_path, run_path, qr, rn = trec_files
    with pytest.warns(UserWarning, match="1 queries of the run have no qrels.*left out"):
        res = go.evaluate_run(qrels_path, run_path, metrics=TREC_METRICS, relevance_threshold=threshold)
    q = {}
    for a, d, r in qr:
        q.setdefault(a, {})[d] = r
    r = {}
    for a, d, s in rn:
        r.setdefault(a, {})[d] = s
    ref = pytrec_eval.RelevanceEvaluator(q, PYTREC, relevance_level=threshold).evaluate(r)
    assert sorted(ref) == sorted(res.per_query.index)
    for m in TREC_METRICS:
        expected = pd.Series({qid: v[m] for qid, v in ref.items()}).reindex(res.per_query.index)
        np.testing.assert_allclose(res.per_query[m].to_numpy(), expected.to_numpy(), rtol=0, atol=1e-9, err_msg=m)


def test_hand_derived_values():
    # qrels: a=2, b=0, c=1, z=1 (z never retrieved), u=-1; run: x (unjudged) and c tie at 0.5, docno descending
    # puts x first; ranking: a (0.9), x (0.5), c (0.5), b (0.1), u (0.05)
    qrels = pd.DataFrame({"qid": ["1"] * 5, "docno": ["a", "b", "c", "z", "u"], "relevance": [2, 0, 1, 1, -1]})
    run = pd.DataFrame({"qid": ["1"] * 5, "docno": ["a", "c", "x", "b", "u"], "score": [0.9, 0.5, 0.5, 0.1, 0.05]})
    names = ["ndcg", "ndcg@2", "map", "mrr", "P_2", "recall@3", "Rprec", "bpref", "success@1", "dcg@3"]
    got = go.evaluate_run(qrels, run, metrics=names).mean
    l2 = math.log2
    idcg = 2 + 1 / l2(3) + 1 / l2(4)  # gains 2, 1, 1
    assert got["ndcg"] == pytest.approx((2 + 1 / l2(4)) / idcg, abs=1e-12)  # a at rank 1, c at rank 3
    assert got["ndcg@2"] == pytest.approx(2 / (2 + 1 / l2(3)), abs=1e-12)
    assert got["map"] == pytest.approx((1 + 2 / 3) / 3, abs=1e-12)  # R = 3 (a, c, z)
    assert got["mrr"] == 1.0
    assert got["P_2"] == 0.5
    assert got["recall@3"] == pytest.approx(2 / 3, abs=1e-12)
    assert got["Rprec"] == pytest.approx(2 / 3, abs=1e-12)  # top 3: a, x, c
    assert got["bpref"] == pytest.approx((1 + 1) / 3, abs=1e-12)  # x unjudged, b after both: no penalty
    assert got["success@1"] == 1.0
    assert got["dcg@3"] == pytest.approx(2 + 1 / l2(4), abs=1e-12)


def test_missing_queries_zero_and_judged_only():
    qrels = pd.DataFrame({"qid": ["1", "1", "2"], "docno": ["a", "b", "a"], "relevance": [1, 0, 1]})
    run = pd.DataFrame({"qid": ["1", "1"], "docno": ["x", "a"], "score": [2.0, 1.0]})
    skip = go.evaluate_run(qrels, run, metrics=["mrr", "P_1"])
    assert list(skip.per_query.index) == ["1"] and skip.mean["mrr"] == 0.5
    zero = go.evaluate_run(qrels, run, metrics=["mrr"], missing_queries="zero")
    assert zero.per_query["mrr"].to_dict() == {"1": 0.5, "2": 0.0}
    judged = go.evaluate_run(qrels, run, metrics=["mrr", "P_1"], judged_only=True)  # x dropped
    assert judged.mean == {"mrr": 1.0, "P_1": 1.0}
    text = skip.to_trec()
    assert "recip_rank" in text and "\tall\t0.5000" in text and "P_1" in text


def test_err_matches_derivation():
    # grades in rank order (3, 0, 2, 1), g_max = 3: R = (7/8, 0, 3/8, 1/8)
    y = np.array([3, 0, 2, 1])
    s = np.array([4.0, 3.0, 2.0, 1.0])
    r = [7 / 8, 0.0, 3 / 8, 1 / 8]
    expected, keep = 0.0, 1.0
    for i, ri in enumerate(r):
        expected += keep * ri / (i + 1)
        keep *= 1 - ri
    assert go.err_score(y, s, group=[4]) == pytest.approx(expected, abs=1e-15)
    assert go.err_score(y, s, group=[4], k=1) == pytest.approx(7 / 8, abs=1e-15)
    assert go.err_score(y, s, group=[4], max_grade=4) == pytest.approx(
        sum(np.prod([1 - (2.0 ** y[j] - 1) / 16 for j in range(i)]) * (2.0 ** y[i] - 1) / 16 / (i + 1)
            for i in range(4)), abs=1e-15)


def test_array_functions_take_qrels_side_information(trec_files):
    qrels_path, run_path, qr, rn = trec_files
    qrels, run = go.read_qrels(qrels_path), go.read_run(run_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = go.evaluate_run(qrels, run, metrics=["ndcg_cut_10", "map", "recall_100"])
    run = run[run.qid.isin(res.per_query.index)]
    # the arrays functions with trec ties need docno-ascending rows (ties: reverse row order)
    run = run.sort_values(["qid", "docno"]).reset_index(drop=True)
    lab = run.merge(qrels, how="left", on=["qid", "docno"])["relevance"].fillna(0).clip(lower=0).to_numpy()
    q = qrels[qrels.qid.isin(res.per_query.index)]
    ndcg = go.ndcg_score(lab, run.score, qid=run.qid, k=10, convention="trec", reduce=None,
                         ideal_labels=q.relevance.clip(lower=0), ideal_qid=q.qid)
    np.testing.assert_allclose(ndcg, res.per_query["ndcg_cut_10"], atol=1e-12)
    n_rel = q[q.relevance >= 1].groupby("qid").size().reindex(res.per_query.index, fill_value=0)
    ap = go.map_score(lab, run.score, qid=run.qid, convention="trec", reduce=None, n_relevant=n_rel.to_numpy())
    np.testing.assert_allclose(ap, res.per_query["map"], atol=1e-12)
    rec = go.recall_score_at_k(lab, run.score, qid=run.qid, k=100, convention="trec", reduce=None,
                               n_relevant=n_rel.to_numpy())
    np.testing.assert_allclose(rec, res.per_query["recall_100"], atol=1e-12)


# ---------------------------------------------------------------------------------------------------------------
# bad input


def test_bad_files(tmp_path):
    q = _write(tmp_path / "q.txt", ["1 0 a 1\n", "1 0 b\n"])
    with pytest.raises(ValueError, match=r"q.txt, line 2: expected 4 fields"):
        go.read_qrels(q)
    r = _write(tmp_path / "r.txt", ["1 Q0 a 1 0.5 t\n", "\n", "1 Q0 b 2 high t\n"])
    with pytest.raises(ValueError, match=r"r.txt, line 3: the score .* must be a number; got 'high'"):
        go.read_run(r)
    r = _write(tmp_path / "n.txt", ["1 Q0 a 1 nan t\n"])
    with pytest.raises(ValueError, match=r"n.txt, line 1: .* must be finite; got 'nan'"):
        go.read_run(r)
    q = _write(tmp_path / "f.txt", ["1 0 a 1.5\n"])
    with pytest.raises(ValueError, match=r"line 1: the relevance .* must be an integer"):
        go.read_qrels(q)
    with pytest.raises(FileNotFoundError, match="no such file"):
        go.read_run(tmp_path / "missing.txt")


def test_bad_runs():
    qrels = pd.DataFrame({"qid": ["1"], "docno": ["a"], "relevance": [1]})
    dup = pd.DataFrame({"qid": ["1", "1"], "docno": ["a", "a"], "score": [1.0, 0.5]})
    with pytest.raises(ValueError, match=r"run has the document 'a' twice for query '1'"):
        go.evaluate_run(qrels, dup)
    nan = pd.DataFrame({"qid": ["1"], "docno": ["a"], "score": [np.nan]})
    with pytest.raises(ValueError, match="score must be finite"):
        go.evaluate_run(qrels, nan)
    run = pd.DataFrame({"qid": ["1"], "docno": ["a"], "score": [1.0]})
    with pytest.raises(ValueError, match=r"unknown metric 'ndgc@10'; known: .*'ndcg'"):
        go.evaluate_run(qrels, run, metrics=["ndgc@10"])
    with pytest.raises(ValueError, match="missing_queries"):
        go.evaluate_run(qrels, run, missing_queries="drop")
    with pytest.raises(ValueError, match="no query in common"), pytest.warns(UserWarning):
        go.evaluate_run(qrels, run.assign(qid=["2"]))


def test_parse_trec_aliases():
    from gbm_objectives.metrics import parse_metric

    assert parse_metric("ndcg_cut_10") == ("ndcg", 10)
    assert parse_metric("recip_rank") == ("mrr", None)
    assert parse_metric("P_10") == ("p", 10)
    assert parse_metric("Rprec") == ("rprec", None)
    assert parse_metric("bpref") == ("bpref", None)
    assert parse_metric("recall_100") == ("recall", 100)
    assert parse_metric("success_10") == ("success", 10)
    assert parse_metric("map_cut_5") == ("map", 5)


# ---------------------------------------------------------------------------------------------------------------
# significance


def test_t_test_equals_scipy():
    from scipy import stats

    rng = np.random.default_rng(3)
    b = rng.uniform(size=50)
    x = b + rng.normal(0.02, 0.1, size=50)
    diff, p, lo, hi = paired_test(x, b, test="t-test")
    ref = stats.ttest_rel(x, b)
    assert abs(p - ref.pvalue) < 1e-12
    ci = ref.confidence_interval(0.95)
    assert abs(lo - ci.low) < 1e-12 and abs(hi - ci.high) < 1e-12


def test_randomization_close_to_exact_enumeration():
    d = np.array([0.3, -0.1, 0.25, 0.05, -0.02, 0.4, 0.1, -0.15, 0.2, 0.12])
    obs = abs(d.mean())
    flips = np.array(list(itertools.product([-1, 1], repeat=len(d))))
    exact = float((np.abs((flips * d).mean(axis=1)) >= obs - 1e-12).mean())
    n = 20000
    _, p, _, _ = paired_test(d, np.zeros_like(d), test="randomization", n_resamples=n, seed=0)
    # Monte Carlo: |p - exact| <= 4 standard errors + the 1/(n+1) of the (1 + count)/(1 + n) estimator
    bound = 4 * math.sqrt(exact * (1 - exact) / n) + 1 / (n + 1)
    assert abs(p - exact) <= bound, (p, exact, bound)


def test_bootstrap_interval_coverage():
    rng = np.random.default_rng(7)
    true_diff, trials, covered = 0.05, 200, 0
    for t in range(trials):
        b = rng.uniform(size=60)
        x = b + true_diff + rng.normal(0, 0.1, size=60)
        _, _, lo, hi = paired_test(x, b, test="bootstrap", n_resamples=1000, seed=t)
        covered += lo <= true_diff <= hi
    # nominal 95%; with 200 trials the binomial sd is 1.5 points and the percentile bootstrap is a little
    # liberal at n = 60: accept 4 sd below the nominal rate
    assert covered / trials >= 0.95 - 4 * math.sqrt(0.95 * 0.05 / trials)


def test_holm_hand_computation():
    p = [0.01, 0.04, 0.03, 0.2]
    # sorted: 0.01*4 = 0.04, 0.03*3 = 0.09, 0.04*2 = 0.08 -> 0.09 (monotone), 0.2*1 = 0.2
    np.testing.assert_allclose(holm(p), [0.04, 0.09, 0.09, 0.2], atol=1e-15)


def _systems(seed=0, nq=40):
    rng = np.random.default_rng(seed)
    qrels, runs = [], {"A": [], "B": [], "C": []}
    for q in range(nq):
        for d in range(20):
            qrels.append((f"q{q:02d}", f"d{d:02d}", int(rng.integers(0, 3))))
        for name, shift in (("A", 0.0), ("B", 0.3), ("C", 0.05)):
            s = rng.normal(size=20) + shift * np.array([r for _, _, r in qrels[-20:]])
            runs[name] += [(f"q{q:02d}", f"d{d:02d}", float(v)) for d, v in enumerate(s)]
    return qrels, runs


#: ranx.compare in a child process with ``NUMBA_DISABLE_JIT=1``: the same ranx code, interpreted (compiled, its
#: typed-dict builders and metric kernels would be compiled on CI's empty cache for functions used once, the bulk
#: of this test's time); the child prints each system's means and its p-values against "A"
_RANX_COMPARE_CHILD = """
import json, sys
import ranx
qrels, runs = json.load(sys.stdin)
report = ranx.compare(ranx.Qrels(qrels), [ranx.Run(r, name=k) for k, r in runs.items()], metrics=["ndcg@10", "map"],
                      stat_test="student", max_p=0.05)
print(json.dumps({k: {m: [report.results[k][m], report.comparisons[("A", k)][m]["p_value"]]
                      for m in ("ndcg@10", "map")} for k in ("B", "C")}))
"""


def test_compare_runs_table_and_ranx():
    pytest.importorskip("ranx")
    qr, runs = _systems()
    qrels = pd.DataFrame(qr, columns=["qid", "docno", "relevance"])
    res = {k: go.evaluate_run(qrels, pd.DataFrame(v, columns=["qid", "docno", "score"]), metrics=["ndcg@10", "map"])
           for k, v in runs.items()}
    table = go.compare_runs(res, baseline="A", test="t-test", correction=None)
    assert list(table.columns)[:8] == ["system", "metric", "mean", "diff", "p_value", "p_value_corrected", "ci_low",
                                   "ci_high"]
    assert list(table.system) == ["A", "A", "B", "B", "C", "C"]
    qd = {}
    for q, d, r in qr:
        qd.setdefault(q, {})[d] = r
    rd = {}
    for k, v in runs.items():
        for q, d, s in v:
            rd.setdefault(k, {}).setdefault(q, {})[d] = s
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    done = subprocess.run([sys.executable, "-c", _RANX_COMPARE_CHILD], input=json.dumps([qd, rd]), env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    theirs = json.loads(done.stdout.splitlines()[-1])
    for k in ("B", "C"):
        for m in ("ndcg@10", "map"):
            mine = table[(table.system == k) & (table.metric == m)]
            mean, p_value = theirs[k][m]
            assert abs(float(mine.p_value.iloc[0]) - p_value) < 1e-9
            assert abs(float(mine["mean"].iloc[0]) - mean) < 1e-9
    holm_table = go.compare_runs(res, baseline="A", test="randomization", n_resamples=2000)
    for m in ("ndcg@10", "map"):
        sub = holm_table[(holm_table.metric == m) & (holm_table.system != "A")]
        np.testing.assert_allclose(sub.p_value_corrected, holm(sub.p_value), atol=1e-15)


def test_cli_evaluate_runs(trec_files, tmp_path, capsys):
    from gbm_objectives.cli import main

    qrels_path, run_path, _, _ = trec_files
    other = tmp_path / "run2.txt"
    other.write_text(run_path.read_text().replace(" 1.0 tag", " 4.5 tag"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["evaluate", "--qrels", str(qrels_path), "--run", str(run_path), "--run", str(other),
                     "--metric", "ndcg_cut_10", "--metric", "map", "--test", "t-test", "--quiet"]) == 0
        out = capsys.readouterr().out
        assert "(baseline)" in out and "p=" in out
        assert main(["evaluate", "--qrels", str(qrels_path), "--run", str(run_path), "--metric", "P_5",
                     "--format", "trec", "--quiet"]) == 0
        assert "P_5" in capsys.readouterr().out
    assert main(["evaluate", "--run", str(run_path), "--quiet"]) == 2


@pytest.mark.parametrize("n", [10, 3000])  # below and above the vectorised slow-path threshold
def test_read_run_scores_bit_exact_with_float(tmp_path, n):
    """Every score spelling (15/16/17-digit reprs, exponents, subnormals, signs, '1.', '.5') is parsed to the
    double Python's float() gives (correct rounding), bit for bit."""
    rng = np.random.default_rng(n)
    x = np.concatenate([rng.random(n), rng.standard_normal(n) * 10.0 ** rng.integers(-40, 40, n),
                        rng.random(n) * 1e-310, -rng.random(n) * 1e300, np.round(rng.random(n), 6)])
    spell = [repr, lambda v: "%.17g" % v, lambda v: "%.19e" % v, lambda v: "%.15g" % v, lambda v: "%.25f" % v]
    texts = [spell[i % len(spell)](v) for i, v in enumerate(x.tolist())]
    texts += ["1.", ".5", "+2.5", "-0", "00012", "1E5", "123456789012345678901234567890", "9007199254740993",
              "0.30000000000000004", "2.2250738585072011e-308", "4.9406564584124654e-324"]
    texts = [t for t in texts if math.isfinite(float(t))]
    path = tmp_path / "run.txt"
    path.write_text("".join(f"q{i % 7} Q0 d{i} 1 {t} tag\n" for i, t in enumerate(texts)))
    got = go.read_run(path)["score"].to_numpy()
    want = np.array([float(t) for t in texts])
    assert (got.view(np.int64) == want.view(np.int64)).all()


def test_duplicates_found_by_the_hash_join():
    """The per-query hash table of the join finds a docno twice in the qrels, and in the run among many queries."""
    qrels = pd.DataFrame({"qid": ["1", "1", "2"], "docno": ["a", "a", "b"], "relevance": [1, 0, 1]})
    run = pd.DataFrame({"qid": ["1", "2"], "docno": ["a", "b"], "score": [1.0, 2.0]})
    with pytest.raises(ValueError, match=r"qrels have the document 'a' twice for query '1' \(row 1\)"):
        go.evaluate_run(qrels, run)
    qid = np.repeat(np.arange(50), 30).astype(str)
    doc = np.tile(np.arange(30), 50).astype(str)
    doc[40 * 30 + 17] = "3"  # query 40: "3" twice (rows 1203 and 1217)
    run = pd.DataFrame({"qid": qid, "docno": doc, "score": np.arange(1500.0)})
    qrels = pd.DataFrame({"qid": qid, "docno": np.tile(np.arange(30), 50).astype(str), "relevance": 1})
    with pytest.raises(ValueError, match=r"run has the document '3' twice for query '40' \(row 1217\)"):
        go.evaluate_run(qrels, run)


# ---------------------------------------------------------------------------------------------------------------
# the compiled reader: tokenizer edge cases, chunks, dtypes


def _python_read(text):
    """The reference: the same file read by Python, fields split on the whitespace the reader knows."""
    rows = []
    for line in text.split("\n"):
        fields = line.replace("\t", " ").replace("\r", " ").replace("\v", " ").replace("\f", " ").split(" ")
        fields = [f for f in fields if f]
        if fields:
            rows.append(fields)
    return rows


@pytest.mark.parametrize("chunk_min", [None, 64])  # one chunk, and many (the file cut at newlines)
@pytest.mark.parametrize("spaces_only", [False, True])  # True: the bitmap path reads most lines
def test_reader_matches_python_split(tmp_path, monkeypatch, chunk_min, spaces_only):
    from gbm_objectives.datasets import trec as runs

    if chunk_min:
        monkeypatch.setattr(runs, "_CHUNK_MIN", chunk_min)
        monkeypatch.setattr(runs.numba, "get_num_threads", lambda: 7)
    rng = np.random.default_rng(5)
    lines = []
    blank, tail = (" ", " ") if spaces_only else ("\t", "\r")
    for i in range(400):
        sep = ([" ", "  "] if spaces_only else [" ", "\t", "  ", " \t ", "\r"])[i % 5 % (2 if spaces_only else 5)] \
            if i % 3 else " "
        q = f"q{rng.integers(0, 30)}" + ("\x01x" if i == 7 and not spaces_only else "")  # a control byte is kept
        d = "d" + "é" * (i % 4) + "x" * rng.integers(0, 12) + ("y" * 70 if i % 23 == 0 else "")  # lines > 64 bytes
        fields = [q, "Q0", d, str(i), repr(float(rng.normal())), "tag"] + (["more", "fields"] if i % 19 == 0 else [])
        lines.append(("  " if i % 11 == 0 else "") + sep.join(fields) + (" " + tail if i % 13 == 0 else "") + "\n")
        if i % 17 == 0:
            lines.append("\n" if i % 2 else "   " + blank + "\n")  # blank lines
    text = "".join(lines).rstrip("\n")  # no newline at the end
    path = tmp_path / "run.txt"
    path.write_bytes(text.encode())
    raw = np.frombuffer(text.encode(), dtype=np.uint8)
    words = np.zeros(8 * (len(raw) // 64 + 2), dtype=np.uint8)
    assert runs._bitmaps(raw, 0, len(raw), words, words.copy()) == spaces_only  # the path the lines take
    got = go.read_run(path)
    want = _python_read(text)
    assert len(got) == len(want)
    assert got["qid"].astype(str).tolist() == [r[0] for r in want]
    assert got["docno"].astype(str).tolist() == [r[2] for r in want]
    assert got["score"].tolist() == [float(r[4]) for r in want]
    # categories: the distinct strings, sorted (sorting the column sorts the strings)
    assert list(got["docno"].cat.categories) == sorted({r[2] for r in want})
    assert got.sort_values("docno")["docno"].astype(str).tolist() == sorted(r[2] for r in want)


@pytest.mark.parametrize("chunk_min", [None, 64])
def test_reader_errors_name_the_line_in_any_chunk(tmp_path, monkeypatch, chunk_min):
    from gbm_objectives.datasets import trec as runs

    if chunk_min:
        monkeypatch.setattr(runs, "_CHUNK_MIN", chunk_min)
        monkeypatch.setattr(runs.numba, "get_num_threads", lambda: 4)
    good = [f"q{i % 3} Q0 d{i} {i} {i / 7!r} t\n" for i in range(60)]
    bad = good[:41] + ["q1 Q0 dx 1 0.5\n"] + good[41:]
    with pytest.raises(ValueError, match=r"run.txt, line 42: expected 6 fields .*; got 5"):
        go.read_run(_write(tmp_path / "run.txt", bad))
    word = good[:50] + ["q1 Q0 dx 1 1e5x t\n"] + good[50:]
    with pytest.raises(ValueError, match=r"run.txt, line 51: the score .* must be a number; got '1e5x'"):
        go.read_run(_write(tmp_path / "run.txt", word))
    short = _write(tmp_path / "s.txt", ["1 0 a 2"])  # shorter than a word, no newline
    assert go.read_qrels(short)["relevance"].tolist() == [2]


def test_read_run_scores_million_reprs_bit_exact(tmp_path):
    """Random doubles of every magnitude (subnormals and huge exponents included), written by repr, parse to
    the same bits as Python's float (the compiled Clinger / Eisel-Lemire paths, and the fallbacks)."""
    rng = np.random.default_rng(11)
    n = 200_000
    bits = rng.integers(0, 2**63, size=n, dtype=np.int64) | (rng.integers(0, 2, n).astype(np.int64) << 63)
    x = bits.view(np.float64)
    x = np.concatenate([x[np.isfinite(x)], rng.random(n)])
    texts = [repr(v) for v in x.tolist()]
    path = tmp_path / "run.txt"
    path.write_text("".join(f"q Q0 d{i} 1 {t} t\n" for i, t in enumerate(texts)))
    got = go.read_run(path)["score"].to_numpy()
    assert (got.view(np.int64) == x.view(np.int64)).all()


def test_categories_sorted_in_byte_order(tmp_path):
    """Short ids are sorted as words (length breaks prefix ties, a zero byte inside an id included), long ones by
    Arrow: both give Python's (code point) order, which trec_eval's docno tie order relies on."""
    from gbm_objectives.datasets.trec import _sort_order
    import pyarrow as pa

    rng = np.random.default_rng(2)
    alphabet = ["a", "b", "z", "0", "9", "\x00", "é", "€", "~"]
    for longest in (8, 12):
        words = sorted({"".join(rng.choice(alphabet, size=rng.integers(1, longest + 1)))
                        for _ in range(3000)} | {"a", "a\x00", "ab"})
        words = [w for w in words if len(w.encode()) <= longest]
        shuffled = [words[i] for i in rng.permutation(len(words))]
        order = _sort_order(pa.array(shuffled, type=pa.large_string()))
        assert [shuffled[i] for i in order] == sorted(shuffled)
