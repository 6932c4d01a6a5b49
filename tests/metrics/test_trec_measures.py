"""Every trec_eval measure of ``evaluate_run`` (the named sets ``official`` and ``all_trec`` and their parameters)
against pytrec_eval, query by query, with trec_eval's options -M, -J, -l and -c; trec_eval's ``-q`` text output;
ir_measures' names against ``ir_measures.calc_aggregate``; the reader's extra fields and separators."""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gbm_objectives as go
from conftest import pytrec_evaluate
from gbm_objectives.metrics.names import parse_run_metric


def _hostile(seed, nq=40, nd=60):
    """Ties (integer scores; scores equal only as float32), unjudged documents, queries without a relevant
    document (only -1 and 0 judgments), negative judgments, queries of the qrels the run lacks, a run query without
    qrels."""
    rng = np.random.default_rng(seed)
    qr, rn = [], []
    docs = [f"d{i}" for i in range(nd)]
    for q in range(nq):
        qid = f"q{q}"
        kind = q % 7
        for d in rng.choice(docs, int(rng.integers(1, 40)), replace=False):
            qr.append((qid, d, int(rng.choice([-1, 0] if kind == 1 else [-1, 0, 0, 1, 2, 3]))))
        if kind == 2:  # in the qrels only
            continue
        n = int(rng.integers(1, 150))
        ret = list(rng.choice(docs + [f"u{i}" for i in range(100)], n, replace=False))
        if kind == 3:
            sc = rng.integers(0, 4, size=n).astype(float)
        elif kind == 4:  # distinct doubles, equal as C floats: trec_eval's ties
            sc = 1.0 + rng.integers(0, 3, size=n) * 1e-9
        else:
            sc = rng.normal(size=n)
        rn += [(qid, d, float(s)) for d, s in zip(ret, sc)]
    rn.append(("orphan", "d1", 1.0))
    return (pd.DataFrame(qr, columns=["qid", "docno", "relevance"]),
            pd.DataFrame(rn, columns=["qid", "docno", "score"]))


def _moderate(nq=200, seed=7):
    """A generated run: 200 queries, 50 documents each, graded qrels over a pool of 80."""
    rng = np.random.default_rng(seed)
    qr, rn = [], []
    for q in range(nq):
        qid = str(1000 + q)
        pool = [f"D{q}-{i}" for i in range(80)]
        for d in rng.choice(pool, 40, replace=False):
            qr.append((qid, d, int(rng.choice([0, 0, 0, 1, 1, 2, 3]))))
        for d, s in zip(rng.choice(pool, 50, replace=False), rng.normal(size=50)):
            rn.append((qid, d, float(s)))
    return (pd.DataFrame(qr, columns=["qid", "docno", "relevance"]),
            pd.DataFrame(rn, columns=["qid", "docno", "score"]))


DATA = {"hostile": lambda: _hostile(0), "moderate": _moderate}


def _top(run, max_docs):
    """The first ``max_docs`` documents of each query in trec_eval's ranking (what -M keeps): pytrec_eval has no
    -M."""
    r = run.assign(s32=run.score.astype(np.float32))
    r = r.sort_values(["qid", "s32", "docno"], ascending=[True, False, False], kind="stable")
    return r.groupby("qid", sort=False).head(max_docs)[["qid", "docno", "score"]]


_pytrec = pytrec_evaluate


def _evaluate(qrels, run, metrics, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the orphan query
        return go.evaluate_run(qrels, run, metrics=metrics, **kw)


OPTIONS = {"plain": {}, "-M 100": {"max_docs": 100}, "-J": {"judged_only": True},
           "-l 2": {"relevance_threshold": 2}, "-M 20 -J -l 2": {"max_docs": 20, "judged_only": True,
                                                                 "relevance_threshold": 2}}


# all_trec holds official: official once per data set, all_trec under every option
CASES = [("official", d, "plain") for d in DATA] + [("all_trec", d, o) for d in DATA for o in OPTIONS]


@pytest.mark.parametrize(("nickname", "data", "option"), CASES)
def test_named_sets_equal_pytrec_eval_per_query_and_on_the_mean(nickname, data, option):
    qrels, run = DATA[data]()
    kw = OPTIONS[option]
    res = _evaluate(qrels, run, (nickname,), **kw)
    ref = _pytrec(qrels, _top(run, kw["max_docs"]) if "max_docs" in kw else run, {nickname},
                  kw.get("relevance_threshold", 1), kw.get("judged_only", False))
    assert list(res.per_query.index) == sorted(ref)
    # every measure pytrec_eval computes (runid and relstring are text: 0.0 there)
    assert set(ref[next(iter(ref))]) - {"runid", "relstring"} == set(res.per_query.columns)
    for m in res.per_query.columns:
        expected = np.array([ref[q][m] for q in res.per_query.index])
        got = res.per_query[m].to_numpy()
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12, equal_nan=True, err_msg=m)
        if m.startswith("num_"):
            assert res.mean[m] == expected.sum()
        elif m.startswith("gm_"):
            assert res.mean[m] == pytest.approx(np.exp(expected.mean()), rel=0, abs=1e-12)
        else:
            assert res.mean[m] == pytest.approx(np.mean(expected), rel=0, abs=1e-12, nan_ok=True), m


def test_measures_in_blocks_of_queries_equal_one_block(monkeypatch):
    """trec_eval's measures computed in blocks of queries on threads (large runs) equal the one-block values."""
    from gbm_objectives.metrics import runs

    qrels, run = _hostile(4)
    one = _evaluate(qrels, run, ("all_trec",), missing_queries="zero")
    monkeypatch.setattr(runs, "_BLOCK_DOCS", 50)
    monkeypatch.setattr(runs.numba, "get_num_threads", lambda: 5)
    pd.testing.assert_frame_equal(_evaluate(qrels, run, ("all_trec",), missing_queries="zero").per_query,
                                  one.per_query)


def test_complete_c_counts_the_queries_the_run_lacks():
    """-c: a query of the qrels the run lacks is evaluated on an empty ranking: 0 everywhere but num_rel (its R),
    num_q and gm_* (log 1e-5), so the means are trec_eval 9's -c averages (sums over every qrels query)."""
    qrels, run = _hostile(2)
    plain = _evaluate(qrels, run, ("all_trec",))
    full = _evaluate(qrels, run, ("all_trec",), missing_queries="zero")
    lacking = sorted(set(qrels.qid) - set(run.qid))
    assert lacking and list(full.per_query.index) == sorted(set(qrels.qid))
    pd.testing.assert_frame_equal(full.per_query.loc[plain.per_query.index], plain.per_query)
    absent = full.per_query.loc[lacking]
    n_rel = qrels[qrels.relevance >= 1].groupby("qid").size().reindex(lacking, fill_value=0)
    np.testing.assert_array_equal(absent["num_rel"], n_rel.to_numpy())
    np.testing.assert_array_equal(absent["num_q"], 1.0)
    np.testing.assert_array_equal(absent[["gm_map", "gm_bpref"]], np.log(1e-5))
    rest = absent.drop(columns=["num_rel", "num_q", "gm_map", "gm_bpref"])
    assert (rest.to_numpy() == 0).all()
    n = len(full.per_query)
    assert full.mean["map"] == pytest.approx(plain.per_query["map"].sum() / n, abs=1e-15)


def test_parameters_and_columns():
    qrels, run = _moderate(30)
    res = _evaluate(qrels, run, ("P.5,10", "ndcg_cut_10", "iprec_at_recall.0.25", "Rprec_mult_0.5",
                                 "utility.2,-1,0,0", "set_F.0.5", "success.2"))
    assert list(res.per_query.columns) == ["P_5", "P_10", "ndcg_cut_10", "iprec_at_recall_0.25",
                                           "Rprec_mult_0.50", "utility", "set_F", "success_2"]
    ref = _pytrec(qrels, run, {"P.5,10", "ndcg_cut.10", "iprec_at_recall.0.25", "Rprec_mult.0.5", "set_F.0.5",
                               "success.2"})
    for m in ("P_5", "P_10", "ndcg_cut_10", "iprec_at_recall_0.25", "Rprec_mult_0.50", "set_F", "success_2"):
        np.testing.assert_allclose(res.per_query[m], [ref[q][m] for q in res.per_query.index], rtol=0, atol=1e-12)
    # utility.2,-1,0,0 = 2 relevant retrieved - non-relevant retrieved (pytrec_eval cannot pass 4 coefficients)
    counts = _evaluate(qrels, run, ("num_rel_ret", "num_ret"))
    np.testing.assert_array_equal(res.per_query["utility"],
                                  3 * counts.per_query["num_rel_ret"] - counts.per_query["num_ret"])
    for bad in ("P.0", "P.5,5", "ndcg.1", "utility.1,2", "map_cut.x"):
        with pytest.raises(ValueError, match="metric"):
            _evaluate(qrels, run, (bad,))


@pytest.mark.parametrize("measure", ["ndcg", "ndcg_rel", "Rndcg", "G"])
def test_gain_table_equals_relabelled_qrels(measure):
    """``ndcg.1=3,2=9``: trec_eval's gains per level; the same as the default gains (= the level) on qrels whose
    levels 1, 2 were relabelled 3, 9 (pytrec_eval cannot pass a gain table)."""
    qrels, run = _hostile(3)
    res = _evaluate(qrels, run, (f"{measure}.1=3,2=9",))
    relabelled = qrels.assign(relevance=qrels.relevance.replace({1: 3, 2: 9, 3: 4}))
    table = _evaluate(qrels, run, (f"{measure}.1=3,2=9,3=4",))
    ref = _pytrec(relabelled, run, {measure})
    np.testing.assert_allclose(table.per_query[measure], [ref[q][measure] for q in table.per_query.index],
                               rtol=0, atol=1e-12, equal_nan=True)
    assert not np.allclose(res.per_query[measure], table.per_query[measure])  # level 3 keeps gain 3 there


# trec_eval 9.0.8's own output for these files and measures
# (``trec_eval -q -m num_ret -m map -m gm_map -m P.2,5 -m relstring -m iprec_at_recall.0.5 -m utility q r``)
QRELS = "1 0 a 2\n1 0 b 0\n1 0 c 1\n1 0 d -1\n2 0 x 1\n3 0 y 1\n"
RUN = "1 Q0 a 1 1.0 sysA\n1 Q0 c 2 1.0000000001 sysA\n1 Q0 e 3 0.5 sysA extra\n1\tQ0  d 4 0.7 sysB\n2 Q0 y 1 1.0 sysB\n"
TREC_EVAL_Q = """\
num_ret               \t1\t4
map                   \t1\t1.0000
iprec_at_recall_0.50  \t1\t1.0000
P_2                   \t1\t1.0000
P_5                   \t1\t0.4000
relstring             \t1\t'12.-'
utility               \t1\t0.0000
num_ret               \t2\t1
map                   \t2\t0.0000
iprec_at_recall_0.50  \t2\t0.0000
P_2                   \t2\t0.0000
P_5                   \t2\t0.0000
relstring             \t2\t'-'
utility               \t2\t-1.0000
num_ret               \tall\t5
map                   \tall\t0.5000
gm_map                \tall\t0.0032
iprec_at_recall_0.50  \tall\t0.5000
P_2                   \tall\t0.5000
P_5                   \tall\t0.2000
utility               \tall\t-0.5000
"""


def test_q_output_is_trec_evals(tmp_path):
    (tmp_path / "q").write_text(QRELS)
    (tmp_path / "r").write_text(RUN)
    metrics = ("num_ret", "map", "gm_map", "P.2,5", "relstring", "iprec_at_recall.0.5", "utility")
    res = _evaluate(str(tmp_path / "q"), str(tmp_path / "r"), metrics)
    assert res.to_trec() == TREC_EVAL_Q
    assert res.to_trec(per_query=False) == "".join(ln + "\n" for ln in TREC_EVAL_Q.splitlines() if "\tall\t" in ln)
    # runid (the last line's tag) comes first when asked, as in trec_eval -m official
    text = _evaluate(str(tmp_path / "q"), str(tmp_path / "r"), ("official",)).to_trec()
    assert text.splitlines()[-30] == "runid                 \tall\tsysB"
    assert "num_q                 \tall\t2" in text and "\t1\t" not in text.split("runid")[1]


def test_cli_q_prints_trec_evals_format(tmp_path, capsys):
    from gbm_objectives.cli import main

    (tmp_path / "q").write_text(QRELS)
    (tmp_path / "r").write_text(RUN)
    args = ["evaluate", "--qrels", str(tmp_path / "q"), "--run", str(tmp_path / "r"), "-m", "num_ret", "-m", "map",
            "-m", "gm_map", "-m", "P.2,5", "-m", "relstring", "-m", "iprec_at_recall.0.5", "-m", "utility", "-q"]
    assert main(args) == 0
    assert capsys.readouterr().out == TREC_EVAL_Q
    assert main(args[:-1] + ["-M", "1", "-J", "-l", "2", "-c", "-N", "10"]) == 0
    assert "P_2" in capsys.readouterr().out
    assert main(args[:-1] + ["-m", "P.0"]) == 2


def test_reader_ignores_fields_after_the_sixth_and_any_whitespace(tmp_path):
    clean = tmp_path / "clean"
    messy = tmp_path / "messy"
    clean.write_text("1 Q0 a 1 0.5 t\n1 Q0 b 2 0.25 t\n")
    messy.write_text("1\tQ0   a 1 0.5 t extra fields\n  1 \t Q0 b\t\t2 0.25 u x\n")
    a, b = go.read_run(clean), go.read_run(messy)
    pd.testing.assert_frame_equal(a, b, check_categorical=False)
    assert a.attrs["runid"] == "t" and b.attrs["runid"] == "u"
    with pytest.raises(ValueError, match="line 1: expected 6 fields"):
        (tmp_path / "short").write_text("1 Q0 a 1 0.5\n")
        go.read_run(tmp_path / "short")


IR_MEASURES = ["nDCG@10", "nDCG", "AP", "AP(rel=2)", "AP@10", "P@5", "P(rel=2)@5", "R@1000", "R@10", "RR",
               "RR(rel=2)", "Rprec", "Bpref", "infAP", "Judged@10", "Judged@100", "NumRet", "NumRet(rel=1)", "NumRel",
               "SetP", "SetR", "SetF", "Success@5", "IPrec@0.5"]


def test_ir_measures_names_equal_calc_aggregate():
    ir_measures = pytest.importorskip("ir_measures")
    qrels, run = _moderate(60)
    run = run.sort_values(["qid", "score"], ascending=[True, False])
    assert not run.duplicated(["qid", "score"]).any()  # ir_measures' Judged breaks ties by docno ascending
    res = _evaluate(qrels, run, IR_MEASURES)
    q = qrels.rename(columns={"qid": "query_id", "docno": "doc_id"})
    r = run.rename(columns={"qid": "query_id", "docno": "doc_id"})
    ref = ir_measures.calc_aggregate([ir_measures.parse_measure(m) for m in IR_MEASURES], q, r)
    ref = {str(k): v for k, v in ref.items()}
    for m in IR_MEASURES:
        key = str(ir_measures.parse_measure(m))
        assert res.mean[m] == pytest.approx(ref[key], rel=0, abs=1e-12), m
    # ERR@k is gdeval's, which prints 5 decimals per query: equal within that rounding
    gdeval = ir_measures.calc_aggregate([ir_measures.parse_measure("ERR@20")], q, r)
    assert _evaluate(qrels, run, ("ERR@20",)).mean["ERR@20"] == pytest.approx(
        gdeval[ir_measures.parse_measure("ERR@20")], rel=0, abs=5e-6)


def test_parse_run_metric_routes_every_spelling():
    assert parse_run_metric("P(rel=2)@5")[0::2] == ("trec", 2)
    assert parse_run_metric("Judged@10") == ("judged", 10)
    assert parse_run_metric("ERR@20") == ("gdeval_err", 20)
    assert parse_run_metric("ndcg@10", convention="lightgbm") == ("engine", "ndcg", 10)
    with pytest.raises(ValueError, match="need convention='trec'"):
        parse_run_metric("P.5,10", convention="lightgbm")
    assert len(parse_run_metric("all_trec")[1]) == 34
    # ir_measures' spellings of our metrics wherever a metric name is (array metrics, training metrics)
    y, s, group = [2, 0, 1, 0], [0.9, 0.8, 0.1, 0.3], [2, 2]
    ir = go.evaluate(y, s, group=group, metrics=("nDCG@1", "RR", "AP", "R@1"), convention="trec")
    ours = go.evaluate(y, s, group=group, metrics=("ndcg@1", "mrr", "map", "recall@1"), convention="trec")
    assert list(ir.values()) == list(ours.values())
    with pytest.raises(ValueError, match="relevance_threshold"):
        go.metrics.parse_metric("AP(rel=2)")


TREC_EVAL10 = Path(__file__).parent / "data" / "trec_eval10"


def _trec_eval10_blocks():
    """``{(measure, option): text}`` of trec_eval 10's output (scripts/make_trec_eval10_fixture.py wrote it)."""
    blocks, key = {}, None
    for line in (TREC_EVAL10 / "unj.txt").read_text().splitlines(keepends=True):
        if line.startswith("## "):
            measure, _, option = line[3:].strip().partition(" ")
            key = (measure, option)
            blocks[key] = ""
        elif key is not None:
            blocks[key] += line
    return blocks


UNJ_OPTIONS = {"plain": {}, "-M 7": {"max_docs": 7}, "-J": {"judged_only": True},
               "-c": {"missing_queries": "zero"}, "-l 2": {"relevance_threshold": 2}}


@pytest.mark.parametrize("option", list(UNJ_OPTIONS))
def test_unj_prints_what_trec_eval_10_prints(option):
    """trec_eval 10's ``unj`` (pytrec_eval wraps 9.0.8, which lacks it): our ``-q`` text is the binary's, line for
    line, on hostile files (ties, unjudged and negatively judged documents, rankings shorter than the cut-offs,
    queries in the qrels only, a run query without qrels)."""
    blocks = _trec_eval10_blocks()
    assert len(blocks) == 2 * len(UNJ_OPTIONS)
    for measure in ("unj", "unj.1,3,50"):
        res = _evaluate(str(TREC_EVAL10 / "qrels.txt"), str(TREC_EVAL10 / "run.txt"), (measure,),
                        **UNJ_OPTIONS[option])
        assert res.to_trec() == blocks[(measure, option)], (measure, option)


def _trectools_rbp(qrels, run, p, depth, binary):
    """trectools' ``get_rbp`` per query (what ir_measures' trectools provider calls; average_ties on), run in
    trectools' frame: sorted by qid, then score descending (stable)."""
    trectools = pytest.importorskip("trectools")
    tq, tr = trectools.TrecQrel(), trectools.TrecRun()
    tq.qrels_data = qrels.rename(columns={"docno": "docid", "relevance": "rel", "qid": "query"})
    tr.run_data = run.rename(columns={"qid": "query", "docno": "docid"}).sort_values(
        ["query", "score"], ascending=[True, False], kind="stable")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas' FutureWarnings inside trectools
        got = trectools.TrecEval(tr, tq).get_rbp(p=p, depth=depth, per_query=True, binary_topical_relevance=binary,
                                                 average_ties=True)[0]
    return got.iloc[:, 0].to_dict()


RBP_CASES = [("RBP", 0.8, None, 0), ("RBP(p=0.5)@10", 0.5, None, 10), ("RBP(p=0.95)@3", 0.95, None, 3),
             ("RBP(p=0.9,rel=2)", 0.9, 2, 0), ("RBP(rel=1)@20", 0.8, 1, 20)]


@pytest.mark.parametrize("data", list(DATA))
def test_rbp_equals_trectools_per_query(data):
    """ir_measures' ``RBP(p=..)@k`` (graded gains: ir_measures computes it through trectools) and ``RBP(rel=..)``
    (binary: trectools on the qrels made 0/1 at ``rel``), query by query, ties averaged. The run is given in
    trec_eval's order with scores rounded to C floats, so that both rank and tie alike (module docstring of
    ``_rbp_values``). trectools also averages the ties that cross from one query's last documents to the next
    query's first: those queries are checked alone."""
    qrels, run = DATA[data]()
    run = run[run.qid != "orphan"].assign(score=run.score.astype(np.float32).astype(np.float64))
    run = run.sort_values(["qid", "score", "docno"], ascending=[True, False, False])
    res = _evaluate(qrels, run, [c[0] for c in RBP_CASES], missing_queries="zero")
    crossed = set()
    for name, p, rel, k in RBP_CASES:
        top = run.groupby("qid").head(k) if k else run  # trectools cuts first, then groups the ties
        first, last = top.groupby("qid").score.first(), top.groupby("qid").score.last()
        crossing = set(first.index[1:][first.to_numpy()[1:] == last.to_numpy()[:-1]])
        crossed |= crossing
        q = qrels if rel is None else qrels.assign(relevance=(qrels.relevance >= rel).astype(int))
        ref = _trectools_rbp(q, run, p, k or 10**6, rel is not None)
        for x in crossing:
            ref.update(_trectools_rbp(q[q.qid == x], run[run.qid == x], p, k or 10**6, rel is not None))
        expected = np.array([ref.get(x, 0.0) for x in res.per_query.index])  # trectools: no row, no gain
        np.testing.assert_allclose(res.per_query[name], expected, rtol=0, atol=1e-12, err_msg=name)
        # ir_measures' mean (its trectools provider) over every qrels query, as -c counts them
        if rel is None:
            ir_measures = pytest.importorskip("ir_measures")
            measure = ir_measures.parse_measure(name)
            ev = ir_measures.providers.registry["trectools"].evaluator(
                [measure], qrels.rename(columns={"qid": "query_id", "docno": "doc_id"}))
            if not crossing:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # pandas' deprecations inside ir_measures
                    mean = ev.calc_aggregate(run.rename(columns={"qid": "query_id", "docno": "doc_id"}))[measure]
                assert res.mean[name] == pytest.approx(mean, rel=0, abs=1e-12)
    assert data == "moderate" or crossed  # the hostile run has such queries


def test_rbp_hand_derived_and_refused_parameters():
    """RBP = (1 - p) * sum_i g_i p^(i-1) (Moffat and Zobel 2008) on a ranking small enough to add by hand."""
    qrels = pd.DataFrame({"qid": ["1"] * 4, "docno": list("abcd"), "relevance": [3, 0, 1, -1]})
    run = pd.DataFrame({"qid": ["1"] * 5, "docno": list("abcde"), "score": [5.0, 4.0, 3.0, 2.0, 1.0]})
    res = _evaluate(qrels, run, ("RBP(p=0.5)", "RBP(p=0.5,rel=1)", "RBP(p=0.5)@1"))
    assert res.mean["RBP(p=0.5)"] == 0.5 * (3 + 1 * 0.25)
    assert res.mean["RBP(p=0.5,rel=1)"] == 0.5 * (1 + 0.25)
    assert res.mean["RBP(p=0.5)@1"] == 0.5 * 3
    tied = run.assign(score=[5.0, 5.0, 3.0, 2.0, 1.0])  # a and b share positions 1 and 2: weights averaged
    assert _evaluate(qrels, tied, ("RBP(p=0.5)",)).mean["RBP(p=0.5)"] == 3 * (0.5 + 0.25) / 2 + 1 * 0.125
    for bad, msg in (("RBP(p=1)", "p must be"), ("RBP(p=x)", "p must be"), ("RBP(q=1)", "unsupported"),
                     ("RBP(rel=x)", "rel must be")):
        with pytest.raises(ValueError, match=msg):
            _evaluate(qrels, run, (bad,))
