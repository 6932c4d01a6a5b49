"""TREC runs against qrels, as trec_eval evaluates them: :func:`evaluate_run` (files are read by
:func:`gbm_objectives.datasets.read_run` / :func:`~gbm_objectives.datasets.read_qrels`).

A *run* lists, per query, the documents a system retrieved with their scores (``qid Q0 docno rank score tag``);
*qrels* list the judged documents of each query (``qid 0 docno relevance``). trec_eval's semantics, which
:func:`evaluate_run` follows with ``convention="trec"``:

* documents are ranked by score descending, ties by docno descending (byte-wise string comparison); the rank
  column of the file is ignored;
* a retrieved document missing from the qrels is unjudged: not relevant (bpref skips it);
* relevant documents the run never retrieved still count: in the ideal DCG of ``ndcg``/``ndcg_cut_k`` (gain =
  relevance value), and in ``R`` (trec_eval's ``num_rel``, the judged documents with relevance ``>=
  relevance_threshold``) of ``map``, ``recall_k``, ``Rprec`` and ``bpref``;
* queries of the run without qrels are left out (with a warning); queries of the qrels the run does not retrieve
  anything for are left out (``missing_queries="skip"``, trec_eval's default) or score 0 (``"zero"``, ``-c``);
* a negative relevance in the qrels (e.g. -1, "judged unusable") is neither relevant nor a judged non-relevant
  document for bpref, and has gain 0;
* ``judged_only=True`` (``-J``) drops the retrieved documents that are unjudged or judged negative, and keeps a
  query left with none (at 0), as ``pytrec_eval.RelevanceEvaluator(..., judged_docs_only_flag=True)`` does.

The per-query values come from the same compiled kernels as :func:`gbm_objectives.metrics.evaluate`, fed with the
qrels-side counts (:func:`gbm_objectives.metrics.ndcg_score`'s ``ideal_labels``, :func:`~gbm_objectives.metrics.
map_score`'s ``n_relevant``). Strings are compared as codes of
pandas Categoricals.

>>> import pandas as pd
>>> import gbm_objectives as go
>>> qrels = pd.DataFrame({"qid": ["1", "1", "1"], "docno": ["a", "b", "z"], "relevance": [2, 0, 1]})
>>> run = pd.DataFrame({"qid": ["1", "1"], "docno": ["a", "c"], "score": [0.5, 0.9]})
>>> res = go.evaluate_run(qrels, run, metrics=("ndcg", "map", "P_1", "recip_rank"))
>>> # ranked c (unjudged), a (2); "z" (1) not retrieved still counts: ndcg = (2/log2(3)) / (2 + 1/log2(3)),
>>> # map = (1/2) / 2 relevant
>>> {m: round(v, 4) for m, v in res.mean.items()}
{'ndcg': 0.4796, 'map': 0.25, 'P_1': 0.0, 'recip_rank': 0.5}
"""

from __future__ import annotations

import math
import numbers
import warnings
from pathlib import Path

import numba
import numpy as np
from numba import njit, prange

from ..datasets.trec import read_qrels, read_run
from .._core import dcg as _dcg
from .._core.jit import specialise
from .._core.validation import fmt
from . import _engine
from ._trec_eval import MEASURE_CODES, parse_trec_measure, summarize, trec_measures_kernel
from .names import parse_metric, parse_run_metric

__all__ = ["evaluate_run", "RunEvaluation", "TREC_MEASURE_NAMES"]

_MISSING = ("skip", "zero")


def _string_codes(col, what):
    """``(codes, names)`` of a column of strings: per-row int64 codes into ``names``, a pandas Index of the distinct
    strings. Categoricals (as :func:`read_run` gives them) cost nothing; other columns are factorised; values that
    are not strings (numbers) are compared as their text."""
    import pandas as pd

    if isinstance(getattr(col, "dtype", None), pd.CategoricalDtype):
        codes = col.cat.codes.to_numpy()  # int8/16/32 as pandas keeps them (the kernels take any integer type)
        names = col.cat.categories
    else:
        codes, names = pd.factorize(col if isinstance(col, pd.Series) else pd.Series(col, copy=False))
        codes = np.asarray(codes, dtype=np.int64)
        names = pd.Index(names)
    if len(codes) and codes.min() < 0:
        raise ValueError(f"{what} has a missing value at row {int(np.flatnonzero(codes < 0)[0])}")
    if names.inferred_type not in ("string", "empty"):  # numbers, bytes, a mix: their text (Arrow's cast)
        values = np.asarray(names, dtype=object)
        try:
            import pyarrow as pa

            text = pa.array(values, from_pandas=True).cast(pa.string()).to_pylist()
        except Exception:  # noqa: BLE001 - any value Arrow cannot cast: Python's str
            text = [str(x) for x in values]
        inv, names = pd.factorize(pd.Series(text, dtype=object))
        codes, names = inv[codes].astype(np.int64), pd.Index(names, dtype=object)
    return codes, names


def _byte_rank(names):
    """The rank of each distinct string in byte order (= code point order): trec_eval's docno tie order."""
    if len(names) < 2 or names.is_monotonic_increasing:  # read_run's categories are sorted
        return np.arange(len(names), dtype=np.int64)
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        order = pc.sort_indices(pa.array(np.asarray(names, dtype=object), type=pa.large_string())).to_numpy()
    except ImportError:  # pragma: no cover
        order = np.argsort(np.asarray(names, dtype=object), kind="stable")
    rank = np.empty(len(names), dtype=np.int64)
    rank[order] = np.arange(len(names))
    return rank


@njit(cache=True)
def _group(codes, code_map, n_codes):
    """Rows grouped by ``code_map[codes]``, stable (counting sort): ``(order, starts)``, the rows of code ``c`` are
    ``order[starts[c]:starts[c + 1]]`` in row order."""
    starts = np.zeros(n_codes + 1, dtype=np.int64)
    for r in range(codes.shape[0]):
        starts[code_map[codes[r]] + 1] += 1
    for c in range(n_codes):
        starts[c + 1] += starts[c]
    pos = starts[:-1].copy()
    order = np.empty(codes.shape[0], dtype=np.int64)
    for r in range(codes.shape[0]):
        c = code_map[codes[r]]
        order[pos[c]] = r
        pos[c] += 1
    return order, starts


@njit(cache=True)
def _trec_permutation(score, docs, a, m, key, perm, perm2, tmp, tmp2):
    """Into ``perm[:m]``: the rows ``a .. a + m - 1`` of ``score`` (``docs[:m]`` their docno ranks, distinct) in
    trec_eval's order, score descending and ties by docno descending. Two passes of the package's ranking (counting
    or merging, :func:`gbm_objectives._core.dcg.rank_query`), no numpy sort: docnos descending, then scores
    descending with ties in that order. The same total order as numpy's sorts gave, which cost about 3 s of
    compilation."""
    for r in range(m):
        key[r] = docs[r]  # docno ranks are below 2**53: exact as float64
    _dcg.rank_query(key[:m], perm2[:m], tmp[:m], tmp2[:m], False)
    for r in range(m):
        key[r] = score[a + perm2[r]]
    _dcg.rank_query(key[:m], perm[:m], tmp[:m], tmp2[:m], False)
    for r in range(m):
        perm[r] = perm2[perm[r]]


@njit(inline="always", cache=True)
def _permute(v, a, m, perm, tmp):
    """``v[a:a + m] = v[a:a + m][perm[:m]]`` with loops (no fancy indexing, no slice assignment); ``tmp`` a work
    buffer that holds ``v``'s values (float64 for float arrays, int64 for integer ones)."""
    for r in range(m):
        tmp[r] = v[a + perm[r]]
    for r in range(m):
        v[a + r] = tmp[r]


def _join_block(bk, blocks, eval_codes, r_order, r_starts, r_doc, r_rank, score, q_order, q_starts, q_own, q_map, rel,
                threshold, trec, judged_only, longest, out_off, ideal_off, o_y, o_rel, o_judged,
                o_score, o_code, ideal, count, n_rel, n_nonrel, dup):
    """The queries ``blocks[bk] .. blocks[bk + 1] - 1`` of :func:`_join`, with stamp arrays of their own."""
    n_rdocs, n_qdocs = r_rank.shape[0], q_map.shape[0]
    q_stamp = np.zeros(n_qdocs, dtype=np.int32)
    j_stamp = np.zeros(n_rdocs, dtype=np.int32)
    r_stamp = np.zeros(n_rdocs, dtype=np.int32)
    j_rel = np.zeros(n_rdocs, dtype=np.int64)
    docs = np.empty(longest, dtype=np.int64)
    key = np.empty(longest)  # trec_eval's order of a query: work buffers of _trec_permutation
    perm = np.empty(longest, dtype=np.int64)
    perm2 = np.empty(longest, dtype=np.int64)
    itmp = np.empty(longest, dtype=np.int64)
    itmp2 = np.empty(longest, dtype=np.int64)
    ftmp = np.empty(longest)
    for i in range(blocks[bk], blocks[bk + 1]):
        c = eval_codes[i]
        mark = i + 1
        t = ideal_off[i]
        for k in range(q_starts[c], q_starts[c + 1]):
            row = q_order[k]
            d = q_own[row]
            if q_stamp[d] == mark:
                dup[i] = -2 - row
            q_stamp[d] = mark
            v = rel[row]
            dd = q_map[d]
            if dd >= 0:
                j_stamp[dd] = mark
                j_rel[dd] = v
            ideal[t] = max(v, 0)
            t += 1
            if v >= threshold:
                n_rel[i] += 1
            elif v >= 0:
                n_nonrel[i] += 1
        a = out_off[i]
        o = a
        for k in range(r_starts[c], r_starts[c + 1]):
            row = r_order[k]
            d = r_rank[r_doc[row]]
            if r_stamp[d] == mark:
                dup[i] = row
            r_stamp[d] = mark
            found = j_stamp[d] == mark
            v = j_rel[d] if found else 0
            if judged_only and not (found and v >= 0):  # trec_eval -J: unjudged and negative both go
                continue
            o_y[o] = max(v, 0)
            o_rel[o] = v >= threshold
            o_judged[o] = found and v >= 0
            o_code[o] = (v if v >= 0 else -2) if found else -1
            # trec_eval keeps the scores as C floats: scores equal as float32 are ties
            o_score[o] = np.float32(score[row]) if trec else score[row]
            docs[o - a] = d
            o += 1
        m = o - a
        count[i] = m
        if trec and m > 1:
            ranked = True
            for k in range(a + 1, o):
                if not o_score[k] < o_score[k - 1]:
                    ranked = False
                    break
            if not ranked:  # score descending, ties by docno descending
                _trec_permutation(o_score, docs, a, m, key, perm, perm2, itmp, itmp2)
                _permute(o_y, a, m, perm, ftmp)
                _permute(o_score, a, m, perm, ftmp)
                _permute(o_rel, a, m, perm, itmp)
                _permute(o_judged, a, m, perm, itmp)
                _permute(o_code, a, m, perm, itmp)


def _join_blocks(blocks, eval_codes, r_order, r_starts, r_doc, r_rank, score, q_order, q_starts, q_own, q_map, rel,
                 threshold, trec, judged_only, longest, out_off, ideal_off, o_y, o_rel, o_judged,
                 o_score, o_code, ideal, count, n_rel, n_nonrel, dup):
    for bk in prange(blocks.shape[0] - 1):
        _join_block(bk, blocks, eval_codes, r_order, r_starts, r_doc, r_rank, score, q_order, q_starts, q_own, q_map, rel,
                    threshold, trec, judged_only, longest, out_off, ideal_off, o_y, o_rel, o_judged,
                    o_score, o_code, ideal, count, n_rel, n_nonrel, dup)


# parallel over blocks of queries, or the block function once over all of them (``_core.jit.specialise``): no
# parallel kernel to compile for a small run's first call
_JOIN = specialise(_join_block, _join_blocks, "join", 0, flags=dict(cache=True))


def _join(eval_codes, r_order, r_starts, r_doc, r_rank, score, q_order, q_starts, q_own, q_map, rel, threshold, trec,
          judged_only, n_blocks):
    """Per evaluated query (``eval_codes``, in order): the run's documents with their qrels relevance, written
    contiguously (``out_*`` at ``out_off``), and the qrels side (``ideal``: relevance clipped at 0, at
    ``ideal_off``; counts of relevant and of judged non-relevant documents).

    Codes, not strings: ``r_rank[r_doc]`` and ``q_map[q_own]`` index the run's docnos (-1: a qrels docno the run
    never retrieved), ``q_own`` the qrels' own docnos (for their duplicates); stamp arrays (the query's index + 1) mark
    what the current query has seen, so a lookup is one load. With ``trec`` the rows of each query are put in
    trec_eval's ranking (score descending, ties by docno descending: ``r_doc`` are ranks in byte order); a query
    whose scores already decrease strictly in file order (the usual run) is not sorted. ``judged_only`` keeps the
    rows judged >= 0 only (at the start of the query's slot; ``count`` says how many). ``dup[i]``: -1, the run row of
    a docno seen twice in query ``i``, or ``-2 - row`` for the qrels. The queries are cut into ``n_blocks`` blocks
    of about equal rows, run in parallel, each with its own stamp arrays."""
    nq = eval_codes.shape[0]
    lengths = r_starts[eval_codes + 1] - r_starts[eval_codes]
    out_off = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    ideal_off = np.concatenate(([0], np.cumsum(q_starts[eval_codes + 1] - q_starts[eval_codes]))).astype(np.int64)
    longest = int(lengths.max()) if nq else 0
    n_out = int(out_off[nq])
    o_y = np.empty(n_out)  # the gain source: relevance clipped at 0
    o_rel = np.empty(n_out, dtype=np.int8)  # relevant (>= threshold)
    o_judged = np.empty(n_out, dtype=np.int8)  # in the qrels with a relevance >= 0 (bpref)
    o_score = np.empty(n_out)
    o_code = np.empty(n_out, dtype=np.int64)  # trec_eval's relevance code: the value, NONPOOL (-1), UNJUDGED (-2)
    ideal = np.empty(int(ideal_off[nq]))
    count = np.zeros(nq, dtype=np.int64)
    n_rel = np.zeros(nq, dtype=np.int64)
    n_nonrel = np.zeros(nq, dtype=np.int64)
    dup = np.full(nq, -1, dtype=np.int64)
    cuts = np.searchsorted(out_off, np.arange(n_blocks + 1) * (n_out / n_blocks)).astype(np.int64)
    cuts[0], cuts[n_blocks] = 0, nq
    _JOIN(n_blocks > 1, cuts, eval_codes, r_order, r_starts, r_doc, r_rank, score, q_order, q_starts, q_own, q_map, rel,
          threshold, trec, judged_only, longest, out_off, ideal_off, o_y, o_rel, o_judged, o_score,
          o_code, ideal, count, n_rel, n_nonrel, dup)
    return out_off, count, o_y, o_rel, o_judged, o_score, o_code, ideal, ideal_off, n_rel, n_nonrel, dup


def _as_frame(obj, kind):
    import pandas as pd

    if isinstance(obj, (str, Path)):
        return read_qrels(obj) if kind == "qrels" else read_run(obj)
    if not isinstance(obj, pd.DataFrame):
        raise TypeError(f"{kind} must be a path or a pandas DataFrame (from read_{kind}); got {type(obj).__name__}")
    need = ("qid", "docno", "relevance") if kind == "qrels" else ("qid", "docno", "score")
    missing = [c for c in need if c not in obj.columns]
    if missing:
        raise ValueError(f"{kind} DataFrame lacks the column(s) {missing}; it needs {list(need)}")
    return obj


#: our metric names -> trec_eval's (for :meth:`RunEvaluation.to_trec`), ``{k}`` the cut-off
TREC_MEASURE_NAMES = {"ndcg": "ndcg", "ndcg@": "ndcg_cut_{k}", "map": "map", "map@": "map_cut_{k}", "mrr": "recip_rank",
                      "p@": "P_{k}", "recall@": "recall_{k}", "success@": "success_{k}", "rprec": "Rprec",
                      "bpref": "bpref"}


class RunEvaluation:
    """What :func:`evaluate_run` returns.

    Attributes
    ----------
    per_query : pandas.DataFrame
        One row per evaluated query (index ``qid``, sorted), one column per metric (the names as asked; a
        trec_eval name with parameters or a named set gives trec_eval's columns: ``P.5,10`` -> ``P_5``, ``P_10``).
        ``gm_map`` and ``gm_bpref`` hold ``log(max(value, 1e-5))`` per query, as trec_eval and pytrec_eval keep them.
    mean : dict
        Metric name -> trec_eval's summary over the rows of ``per_query`` (the ``all`` line): the mean; the sum for
        the counts (``num_ret``, ``num_rel``, ``num_rel_ret``, ``num_q``, ``num_nonrel_judged_ret``); exp of the
        mean for ``gm_map``/``gm_bpref``.
    metrics : tuple of str
        The columns.
    skipped_queries : list of str
        Queries of the run without qrels (left out).
    runid : str or None
        The run's tag (trec_eval's ``runid``: the sixth field of the run file's last line).
    """

    def __init__(self, per_query, metrics, skipped_queries=(), kinds=None, runid=None, trec_order=None,
                 relstrings=None):
        self.per_query = per_query
        self.metrics = tuple(metrics)
        self.skipped_queries = list(skipped_queries)
        self.kinds = dict(kinds or {})
        self.runid = runid
        self._trec_order = dict(trec_order or {})
        self.relstrings = relstrings
        values = per_query[list(self.metrics)].to_numpy(dtype=np.float64)
        self.mean = {m: summarize(self.kinds.get(m, "float"), values[:, j]) for j, m in enumerate(self.metrics)}

    def trec_name(self, metric):
        """trec_eval's name of ``metric`` (``ndcg@10`` -> ``ndcg_cut_10``), or the name itself."""
        if metric in self._trec_order:
            return self._trec_order[metric][2]
        if parse_trec_measure(metric) is not None:
            return metric
        try:
            base, k = parse_metric(metric)
        except ValueError:
            return metric
        key = base if k is None else f"{base}@"
        key = "p@" if key == "precision@" else key
        return TREC_MEASURE_NAMES.get(key, metric).format(k=k)

    def to_trec(self, per_query=True):
        """trec_eval's text output: lines ``measure<TAB>qid<TAB>value``, the measure name left-justified in 22
        columns, values with 4 decimals (counts as integers); with ``per_query`` (``-q``) every query's lines
        first (queries sorted, measures in trec_eval's order), then ``runid`` and the ``all`` lines. ``gm_map``,
        ``gm_bpref`` and ``num_q`` are summary lines only, as in trec_eval. With ``missing_queries="zero"`` (``-c``)
        the queries the run lacks have their lines too (as trec_eval 10 prints them; 9 prints only the summary)."""
        entries = list(self.metrics) + (["relstring"] if self.relstrings is not None else [])
        order = sorted(range(len(entries)), key=lambda i: (self._trec_order.get(entries[i], (1 << 30, 0))[:2], i))
        cols = [entries[i] for i in order]
        kinds = [self.kinds.get(m, "str" if m == "relstring" else "float") for m in cols]
        names = [self.trec_name(m) for m in cols]

        def text(v, kind):
            return f"{int(round(v))}" if kind == "count" else f"{v:6.4f}"

        lines = []
        if per_query:
            num = [m for m in cols if m != "relstring"]
            values = self.per_query[num].to_numpy()
            at = {m: j for j, m in enumerate(num)}
            shown = [j for j, (m, kd) in enumerate(zip(names, kinds)) if kd != "gm" and m != "num_q"]
            for q, row in zip(self.per_query.index, values):
                for j in shown:
                    v = f"'{self.relstrings.get(q, '')}'" if kinds[j] == "str" else text(row[at[cols[j]]], kinds[j])
                    lines.append(f"{names[j]:<22}\t{q}\t{v}")
        if self.runid is not None and "runid" in self._trec_order:
            lines.append(f"{'runid':<22}\tall\t{self.runid}")
        lines += [f"{n:<22}\tall\t{text(self.mean[m], kd)}" for n, m, kd in zip(names, cols, kinds) if kd != "str"]
        return "\n".join(lines) + "\n"

    def __repr__(self):
        means = ", ".join(f"{m}={v:.4f}" for m, v in self.mean.items())
        return f"RunEvaluation({len(self.per_query)} queries: {means})"


def evaluate_run(qrels, run, metrics=("ndcg@10", "map", "recall@100", "mrr"), convention="trec",
                 relevance_threshold=1, judged_only=False, missing_queries="skip", ap_denominator=None,
                 max_docs=None, n_docs_collection=0):
    """Evaluate a TREC run against qrels, as trec_eval does (module docstring).

    Parameters
    ----------
    qrels : path or pandas.DataFrame
        A qrels file, or a DataFrame with columns ``qid``, ``docno`` (strings), ``relevance`` (integers).
    run : path or pandas.DataFrame
        A run file, or a DataFrame with columns ``qid``, ``docno`` (strings), ``score`` (numbers).
    metrics : str or sequence of str
        Any of (:func:`gbm_objectives.metrics.names.parse_run_metric`): trec_eval's measures with their
        parameters, case-sensitive (``P.5,10``, ``P_5``, ``ndcg_cut.10``, ``map``, ``gm_map``, ``Rprec_mult``,
        ``iprec_at_recall.0.5``, ``11pt_avg``, ``infAP``, ``bpref``, ``set_F.0.5``, ``utility.1,-1,0,0``,
        ``ndcg.1=3,2=9`` (a gain per level), ``G``, ``binG``, ``Rndcg``, ``ndcg_rel``, ``relative_P``,
        ``success``, ``num_ret``, ``relstring``, ``runid``... every measure of trec_eval 9.0.8, the one pytrec_eval
        wraps, and trec_eval 10's ``unj`` (``unj.5,10,20``: the share of the top k not judged)) and its named sets
        ``official``, ``all_trec``, ``set`` (trec_eval 9.0.8's; a measure with several parameters gives one
        column each, named as trec_eval prints them: ``P_5``, ``P_10``); ir_measures' names (``nDCG@10``,
        ``AP(rel=2)``, ``P(rel=2)@5``, ``R@1000``, ``RR``, ``Judged@10``, ``SetF(beta=0.5)``, ``IPrec@0.5``,
        ``ERR@20``, ``RBP(p=0.8)``, ``RBP(p=0.9,rel=2)@100``: rank-biased precision, Moffat and Zobel 2008,
        ``(1 - p) sum_i g_i p^(i - 1)``, gains graded or 0/1 at ``rel``, ties averaged as trectools does); ours
        (:func:`gbm_objectives.metrics.parse_metric`: ``ndcg@10``, ``map``, ``mrr``, ``p@10``, ``dcg@10``,
        ``err@20``...). With ``convention="trec"`` every name trec_eval defines is computed by
        trec_eval's formula (:mod:`gbm_objectives.metrics._trec_eval`); the other conventions take our names
        only. A name given twice is evaluated once (one column).
    convention : {"trec", "lightgbm", "sklearn"}, default "trec"
        Gains, ties and the value of a query without relevant documents (:mod:`gbm_objectives.metrics`); "trec"
        breaks ties by docno descending, the others use the run's row order ("stable") or average them.
    relevance_threshold : int, default 1
        A judged document is relevant when its relevance is ``>=`` this (trec_eval ``-l``); NDCG's gains are the
        relevance values whatever the threshold. NaN and infinities are refused.
    judged_only : bool, default False
        trec_eval ``-J``: keep only the retrieved documents judged with a relevance ``>= 0`` (unjudged ones and
        those judged negative, e.g. -1, are dropped) after ranking; the qrels side (ideal DCG, ``R``, bpref's
        non-relevant count) is unchanged. A query of the run left with no document stays, with value 0 (or the
        convention's value for a query without relevant documents), as in trec_eval: dropping it would inflate
        every mean.
    missing_queries : {"skip", "zero"}, default "skip"
        Queries of the qrels for which the run retrieved nothing: left out, or scored 0 (trec_eval ``-c``; for
        trec_eval's measures they are evaluated on an empty ranking: 0, but ``num_rel`` is the query's R,
        ``num_q`` 1 and ``gm_*`` log(1e-5), which makes the means trec_eval 9's ``-c`` averages).
    ap_denominator : {"relevant", "min_relevant_k"}, optional
        MAP@k's denominator (:func:`gbm_objectives.metrics.map_score`); by default the convention's (trec_eval: R).
    max_docs : int, optional
        trec_eval ``-M``: evaluate only the first ``max_docs`` documents of each query's ranking (before
        ``judged_only``).
    n_docs_collection : int, default 0
        trec_eval ``-N``: the number of documents in the collection (``utility``'s fourth coefficient).

    Returns
    -------
    RunEvaluation
        ``.per_query`` (DataFrame), ``.mean`` (dict: trec_eval's summaries), ``.to_trec()`` (trec_eval's text).

    Notes
    -----
    With ``convention="trec"`` the scores are compared as C floats (float32), as trec_eval stores them: two scores
    equal in float32 are a tie, broken by docno descending.

    Raises
    ------
    ValueError
        A (qid, docno) pair twice in the run or in the qrels, a non-finite score, a non-finite
        ``relevance_threshold``, an unknown metric (the known names are listed), no query in common; a file that
        cannot be read (a folder, a truncated gzip; :func:`~gbm_objectives.datasets.read_run`).

    Warns
    -----
    UserWarning
        When the run has queries without qrels: they are left out of every value (as trec_eval does).
    """
    import pandas as pd

    if missing_queries not in _MISSING:
        raise ValueError(f"missing_queries must be 'skip' or 'zero'; got {fmt(missing_queries)}")
    if not isinstance(judged_only, (bool, np.bool_)):
        raise TypeError(f"judged_only must be True or False; got {fmt(judged_only)}")
    gain, ties, empty = _engine.resolve_knobs(convention)
    ap_min_den = _engine.resolve_ap_denominator(convention, ap_denominator)
    if isinstance(metrics, str):
        metrics = (metrics,)
    metrics = tuple(dict.fromkeys(metrics))  # a name asked twice is one column
    if not metrics:
        raise ValueError("metrics is empty; name at least one metric, e.g. metrics=('ndcg@10',)")
    parsed, trec_items, judged_items, gdeval_items, rbp_items = [], [], [], [], []
    columns = []  # the output columns in the order asked (a named set: its measures in trec_eval's order)
    for name in metrics:
        how = parse_run_metric(name, convention)
        if how[0] == "trec" and ap_min_den and getattr(how[1], "name", None) == "map_cut" \
                and parse_trec_measure(name) is None:  # our map@k with min(R, k): not trec_eval's map_cut
            how = ("engine",) + parse_metric(name)
        if how[0] == "trec":
            measures = how[1] if isinstance(how[1], tuple) else (how[1],)
            rel_level = how[2]
            single = not isinstance(how[1], tuple) and len(measures[0].columns) == 1
            # a name of ours or ir_measures' is its own column; trec_eval's names give trec_eval's columns
            own = single and parse_trec_measure(name) is None
            for ms in measures:
                trec_items.append((ms, rel_level, (name,) if own else ms.columns))
                columns += (name,) if own else ms.columns
            continue
        columns.append(name)
        if how[0] == "judged":
            judged_items.append((name, how[1]))
            continue
        if how[0] == "rbp":
            rbp_items.append((name,) + how[1:])
            continue
        if how[0] == "gdeval_err":
            gdeval_items.append((name, "err", how[1]))
            continue
        _, base, k = how
        base = "p" if base == "precision" else base
        if base == "auc":
            raise ValueError(f"metric {name!r}: auc is not a run metric; choose a ranking metric")
        k = (10 if base == "p" else 0) if k is None else k
        if base == "map":
            _engine.check_ap_ties(ties, k)
        if base in ("success", "bpref", "err"):
            _engine.no_average_ties(ties, name)
        parsed.append((name, base, k))
    if isinstance(relevance_threshold, (bool, np.bool_)) or not isinstance(relevance_threshold, numbers.Real):
        raise TypeError(f"relevance_threshold must be a number; got {fmt(relevance_threshold)}")
    if not isinstance(relevance_threshold, numbers.Integral) and not math.isfinite(relevance_threshold):
        # NaN would make every document non-relevant without a word
        raise ValueError(f"relevance_threshold must be finite; got {fmt(relevance_threshold)}")
    if max_docs is not None and (isinstance(max_docs, (bool, np.bool_)) or not isinstance(max_docs, numbers.Integral)
                                 or max_docs < 1):
        raise ValueError(f"max_docs (trec_eval -M) must be a positive integer or None; got {fmt(max_docs)}")
    if isinstance(n_docs_collection, (bool, np.bool_)) or not isinstance(n_docs_collection, numbers.Integral) \
            or n_docs_collection < 0:
        raise ValueError(f"n_docs_collection (trec_eval -N) must be an integer >= 0; got {fmt(n_docs_collection)}")
    qrels = _as_frame(qrels, "qrels")
    run = _as_frame(run, "run")
    runid = _runid(run)

    # ---- one sorted code space for the qids of run and qrels; the docnos of the qrels in the run's code space
    r_q, r_qnames = _string_codes(run["qid"], "run qid")
    q_q, q_qnames = _string_codes(qrels["qid"], "qrels qid")
    names = r_qnames.union(q_qnames) if not r_qnames.equals(q_qnames) else r_qnames  # sorted
    r_map = names.get_indexer(r_qnames)
    q_map = names.get_indexer(q_qnames)
    score = np.ascontiguousarray(run["score"].to_numpy(dtype=np.float64))
    if not np.isfinite(score).all():
        i = int(np.flatnonzero(~np.isfinite(score))[0])
        raise ValueError(f"run score must be finite; got {score[i]!r} at row {i} (qid {run['qid'].iloc[i]!r}, "
                         f"docno {run['docno'].iloc[i]!r})")
    rel_all = qrels["relevance"].to_numpy()
    if rel_all.dtype.kind not in "iu":
        rf = rel_all.astype(np.float64)
        if not np.isfinite(rf).all() or (rf != np.floor(rf)).any():
            i = int(np.flatnonzero(~np.isfinite(rf) | (rf != np.floor(rf)))[0])
            raise ValueError(f"qrels relevance must be integers; got {rel_all[i]!r} at row {i}")
    rel_all = np.ascontiguousarray(rel_all, dtype=np.int64)

    # ---- rows grouped by query (counting sort over the codes; file order inside a query)
    r_order, r_starts = _group(r_q, r_map, len(names))
    q_order, q_starts = _group(q_q, q_map, len(names))
    in_run = np.diff(r_starts) > 0
    in_qrels = np.diff(q_starts) > 0
    orphan = in_run & ~in_qrels
    if orphan.any():
        shown = ", ".join(repr(x) for x in names[orphan][:5]) + (" ..." if orphan.sum() > 5 else "")
        warnings.warn(f"{int(orphan.sum())} queries of the run have no qrels ({shown}); they are left out of "
                      "every value, as trec_eval does", UserWarning, stacklevel=2)
    evaluated = in_run & in_qrels
    if not evaluated.any():
        raise ValueError("the run and the qrels have no query in common")
    codes = np.flatnonzero(evaluated)

    r_d, r_dnames = _string_codes(run["docno"], "run docno")
    q_d, q_dnames = _string_codes(qrels["docno"], "qrels docno")
    trec = ties == "trec"
    # docno codes that compare as the strings do (byte order; trec ties), and the qrels' docnos among them
    rank = _byte_rank(r_dnames) if trec else np.arange(len(r_dnames), dtype=np.int64)
    in_run_docs = r_dnames.get_indexer(q_dnames)
    q_dmap = np.where(in_run_docs >= 0, rank[np.maximum(in_run_docs, 0)], -1)

    # ---- per query: the join (codes, stamp arrays) and trec_eval's ranking, in one compiled pass
    n_blocks = int(max(1, min(numba.get_num_threads(), 8, len(score) // 100_000)))
    (out_off, count, y_row, rel, judged, out_score, code_row, ideal_src, ideal_bounds, n_rel, n_nonrel,
     dup) = _join(codes, r_order, r_starts, r_d, rank, score, q_order, q_starts, q_d, q_dmap, rel_all,
                  float(relevance_threshold), trec, False, n_blocks)
    if (dup != -1).any():
        d = int(dup[dup != -1][0])
        if d >= 0:
            raise ValueError(f"run has the document {run['docno'].iloc[d]!r} twice for query {run['qid'].iloc[d]!r} "
                             f"(row {d}); trec_eval refuses duplicate (qid, docno) pairs")
        d = -2 - d
        raise ValueError(f"qrels have the document {qrels['docno'].iloc[d]!r} twice for query "
                         f"{qrels['qid'].iloc[d]!r} (row {d})")
    sizes = count
    if max_docs is not None or judged_only:  # trec_eval: the first max_docs of the ranking (-M), then -J
        slot = np.diff(out_off)
        keep = np.ones(out_off[-1], dtype=bool)
        if max_docs is not None:
            keep &= (np.arange(out_off[-1]) - np.repeat(out_off[:-1], slot)) < max_docs
        if judged_only:
            keep &= judged.astype(bool)
        sizes = np.add.reduceat(keep, out_off[:-1]) if len(keep) else np.zeros(len(codes), dtype=np.int64)
        sizes[slot == 0] = 0
        y_row, rel, judged, out_score, code_row = (a[keep] for a in (y_row, rel, judged, out_score, code_row))
    nq = len(codes)
    qnames = names[codes]
    frames = []

    # ---- trec_eval's measures: one compiled pass per relevance level
    kinds, trec_order, relstrings = {}, {}, None
    if trec_items:
        absent = in_qrels & ~in_run if missing_queries == "zero" else np.zeros(len(names), dtype=bool)
        # -c: a query of the qrels the run has nothing for is evaluated on an empty ranking (trec_eval 10)
        t_codes = np.flatnonzero(evaluated | absent)
        t_sizes = np.zeros(len(names), dtype=np.int64)
        t_sizes[codes] = sizes
        t_off = np.concatenate(([0], np.cumsum(t_sizes[t_codes]))).astype(np.int64)
        # the rows of the evaluated queries are in code order already; the absent ones add none
        levels = _levels(q_q, q_map, rel_all, len(names))[t_codes]
        frame = {}
        by_level = {}
        for ms, lev, cols in trec_items:
            by_level.setdefault(relevance_threshold if lev is None else lev, {}).setdefault(ms, []).append(cols)
        for lev, group in by_level.items():
            thr = int(math.ceil(lev))
            if any(ms.name == "runid" for ms in group):
                trec_order["runid"] = (MEASURE_CODES["runid"], 0, "runid")
            if any(ms.name == "relstring" for ms in group):
                relstrings = _relstrings(code_row, t_off, names[t_codes], int(_first_param(group, "relstring")))
                trec_order["relstring"] = (MEASURE_CODES["relstring"], 0, "relstring")
            todo = [ms for ms in group if ms.kind != "str"]
            if not todo:
                continue
            widths = [len(ms.columns) for ms in todo]
            cols_at = np.concatenate(([0], np.cumsum(widths)))[:-1].astype(np.int64)
            plen = np.array([len(ms.params) for ms in todo], dtype=np.int64)
            pstart = np.concatenate(([0], np.cumsum(plen)))[:-1].astype(np.int64)
            params = np.array([float(x) for ms in todo for x in ms.params], dtype=np.float64)
            out = _trec_measures(np.ascontiguousarray(code_row), t_off, levels, thr, int(n_docs_collection),
                                 np.array([ms.code for ms in todo], dtype=np.int64), pstart, plen, params, cols_at,
                                 int(sum(widths)))
            if absent.any():  # an empty ranking's 0/0 (iprec_at_recall) is 0, as trec_eval 9's -c averages count it
                gone = absent[t_codes]
                out[gone] = np.nan_to_num(out[gone], nan=0.0)
            for ms, at in zip(todo, cols_at):
                for colset in group[ms]:
                    for i, col in enumerate(colset):
                        frame[col] = out[:, at + i]
                        kinds[col] = {"count": "count", "gm": "gm"}.get(ms.kind, "float")
        if frame:
            frames.append(pd.DataFrame(frame, index=pd.Index(names[t_codes], name="qid")))
        trec_order.update({col: (ms.code, i, ms.columns[i] if len(ms.columns) > i else col)
                           for ms, _, cols in trec_items for i, col in enumerate(cols)})

    # ---- ir_measures' Judged@k: the share of the top k (at most the ranking) that is in the qrels
    if judged_items:
        bounds = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
        pos = np.arange(bounds[-1]) - np.repeat(bounds[:-1], sizes)
        in_qrels_row = code_row != -1
        frame = {}
        for name, k in judged_items:
            top = pos < k if k else np.ones(len(pos), dtype=bool)
            num = np.bincount(np.repeat(np.arange(nq), sizes)[top], weights=in_qrels_row[top], minlength=nq)
            den = np.minimum(sizes, k) if k else sizes
            frame[name] = np.divide(num, den, out=np.zeros(nq), where=den > 0)
        frame = pd.DataFrame(frame, index=pd.Index(qnames, name="qid"))
        if missing_queries == "zero":  # -c: the queries the run lacks judged nothing
            frame = frame.reindex(names[evaluated | (in_qrels & ~in_run)], fill_value=0.0)
        frames.append(frame)

    # ---- ir_measures' RBP(p=.., rel=..)@k (trectools' formula, ties averaged)
    if rbp_items:
        frame = pd.DataFrame({name: _rbp_values(code_row, out_score, sizes, p, rel, k)
                              for name, p, rel, k in rbp_items}, index=pd.Index(qnames, name="qid"))
        if missing_queries == "zero":  # -c: an empty ranking gains nothing
            frame = frame.reindex(names[evaluated | (in_qrels & ~in_run)], fill_value=0.0)
        frames.append(frame)

    # ---- our metrics (engine); ir_measures' ERR@k with gdeval's maximum grade, 4
    absent = in_qrels & ~in_run if missing_queries == "zero" else None
    for items, max_grade in ((parsed, None), (gdeval_items, 4.0)):
        if items:
            frames.append(_engine_metrics(items, nq, sizes, y_row, rel, judged, out_score, ideal_src, ideal_bounds,
                                          n_rel, n_nonrel, rel_all, gain, ties, trec, empty, ap_min_den, qnames,
                                          names, absent, max_grade))
    per_query = frames[0] if len(frames) == 1 else pd.concat(frames, axis=1)
    if not per_query.index.is_monotonic_increasing:  # (sorting a sorted frame copies it)
        per_query = per_query.sort_index(kind="stable")
    if empty == "skip":
        per_query = per_query.dropna(how="all")
    columns = list(dict.fromkeys(columns))
    if list(per_query.columns) != columns:
        per_query = per_query[columns]
    return RunEvaluation(per_query, columns, skipped_queries=list(names[orphan]), kinds=kinds, runid=runid,
                         trec_order=trec_order, relstrings=relstrings)


def _rbp_values(code, score, sizes, p, rel=None, k=0):
    """Rank-biased precision (Moffat and Zobel 2008) of each query, as ir_measures' ``RBP(p=p,rel=rel)@k``
    computes it (through trectools' ``get_rbp``, with tied scores averaged).

    .. math:: \\mathrm{RBP} = (1 - p) \\sum_{i=1}^{n} g_i \\, p^{i-1}

    over the first ``n = min(k, len)`` documents of the ranking (``k = 0``: all of them). The gain ``g_i`` is the
    document's relevance where it is > 0 (graded, ``rel=None``, ir_measures' default), or 1 where its relevance
    is ``>= rel`` (binary); unjudged and negatively judged documents gain 0. Tied scores (equal as trec_eval
    compares them, C floats) share their positions: each document of a group of ``g`` ties starting at 0-based
    position ``s`` weighs the mean of the group's weights, ``p^s (1 - p^g) / g`` instead of ``(1 - p) p^i``
    (trectools' ``average_ties``); at the cut-off a group counts the tied documents the ranking keeps (trec_eval's
    order: ties by docno descending). trectools groups equal scores across the boundary of two queries too (a
    quirk not reproduced) and compares doubles where trec_eval's ties are C floats. Without the residual (the
    weight ``p^n`` beyond the ranking plus that of its unjudged documents, an upper bound's slack).

    Parameters
    ----------
    code : ndarray of int64, shape (n_rows,)
        Each ranked document's relevance (-1 not in the qrels, -2 judged negative), queries one after another.
    score : ndarray of float64, shape (n_rows,)
        Their scores, descending within each query.
    sizes : ndarray of int64, shape (n_queries,)
        The documents of each query.
    p : float
        Persistence, in (0, 1).
    rel : int, optional
        Binary gains at this relevance level; ``None``: the relevance values are the gains.
    k : int, default 0
        Cut-off (0: none).

    Returns
    -------
    ndarray of float64, shape (n_queries,)

    References
    ----------
    A. Moffat and J. Zobel, "Rank-biased precision for measurement of retrieval effectiveness", ACM TOIS 27(1),
    2008.

    >>> import numpy as np
    >>> _rbp_values(np.array([1, 0, 2]), np.array([3.0, 2.0, 1.0]), np.array([3]), 0.5).tolist()  # .5 * (1 + 2/4)
    [0.75]
    >>> _rbp_values(np.array([1, 0]), np.array([1.0, 1.0]), np.array([2]), 0.5).tolist()  # a tie: (.5 + .25) / 2
    [0.375]
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    nq = len(sizes)
    start = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    query = np.repeat(np.arange(nq), sizes)
    pos = np.arange(len(query)) - start[query]
    keep = pos < k if k else np.ones(len(query), dtype=bool)
    query, pos, code, score = query[keep], pos[keep], np.asarray(code)[keep], np.asarray(score)[keep]
    gain = ((code >= rel) & (code >= 0)).astype(np.float64) if rel is not None else np.maximum(code, 0).astype(np.float64)
    # groups of ties: a new group where the query or the score changes
    new = np.ones(len(pos), dtype=bool)
    new[1:] = (query[1:] != query[:-1]) | (score[1:] != score[:-1])
    group = np.cumsum(new) - 1
    first = pos[new]
    size = np.bincount(group, minlength=len(first)) if len(pos) else np.zeros(0, dtype=np.int64)
    weight = p ** first * (1.0 - p ** size) / np.maximum(size, 1)
    return np.bincount(query, weights=gain * weight[group], minlength=nq)


#: documents per thread of trec_eval's measures, at least
_BLOCK_DOCS = 200_000


def _trec_measures(rl, off, levels, thr, n_coll, codes, pstart, plen, params, cols, n_cols):
    """:func:`~._trec_eval.trec_measures_kernel` over the queries, cut into one block of about equal documents per
    thread when there are many (the kernel releases the GIL: threads, no parallel variant to compile)."""
    nq = off.shape[0] - 1
    n_blocks = int(max(1, min(numba.get_num_threads(), 8, off[-1] // _BLOCK_DOCS)))
    if n_blocks == 1:
        return trec_measures_kernel(rl, off, levels, thr, n_coll, codes, pstart, plen, params, cols, n_cols)
    from concurrent.futures import ThreadPoolExecutor

    cuts = np.searchsorted(off, np.arange(n_blocks + 1) * (off[-1] / n_blocks))
    cuts[0], cuts[-1] = 0, nq

    def block(b):
        a, e = int(cuts[b]), int(cuts[b + 1])
        return trec_measures_kernel(rl, np.ascontiguousarray(off[a:e + 1]), np.ascontiguousarray(levels[a:e]), thr,
                                    n_coll, codes, pstart, plen, params, cols, n_cols)

    with ThreadPoolExecutor(n_blocks) as ex:
        return np.concatenate(list(ex.map(block, range(n_blocks))))


def _first_param(group, name):
    """The first parameter of measure ``name`` in ``group`` (relstring's length; trec_eval's default 10)."""
    ms = next(m for m in group if m.name == name)
    return ms.params[0] if ms.params else 10


def _relstrings(code_row, off, qnames, length):
    """trec_eval's ``relstring``: the relevance of the first ``length`` documents, one character each (0-9, '>'
    above 9, '-' not in the qrels, '.' judged negative)."""
    import pandas as pd

    table = np.array(list(".-0123456789"))  # -2 (judged negative), -1 (not in the qrels), 0-9
    out = []
    for q in range(len(off) - 1):
        c = code_row[off[q]:min(off[q + 1], off[q] + length)]
        out.append("".join(np.where(c > 9, ">", table[np.clip(c, -2, 9) + 2])))
    return pd.Series(out, index=qnames, dtype=object)


def _levels(q_q, q_map, rel_all, n_names):
    """Per query (code space), the number of judged documents at each relevance level ``>= 0`` (trec_eval's
    ``rel_levels``), an ``(n_names, max_level + 1)`` int64 array."""
    top = int(max(rel_all.max(initial=0), 0))
    out = np.zeros((n_names, top + 1), dtype=np.int64)
    _count_levels(q_q.astype(np.int64, copy=False), q_map.astype(np.int64, copy=False), rel_all, out)
    return out


@njit(cache=True)
def _count_levels(q_q, q_map, rel, out):
    """``out[q_map[q_q[r]], rel[r]] += 1`` for every row with ``rel[r] >= 0`` (one pass; numpy's bincount took
    five)."""
    for r in range(q_q.shape[0]):
        if rel[r] >= 0:
            out[q_map[q_q[r]], rel[r]] += 1


def _runid(run):
    """The run's tag as trec_eval reports it (``runid``): :func:`read_run` keeps the sixth field of the file's last
    line (``attrs["runid"]``); a DataFrame's ``tag``/``run``/``runid`` column's last value; ``None`` if unknown."""
    tag = run.attrs.get("runid")
    if tag is not None:
        return tag
    for col in ("tag", "run", "runid"):
        if col in run.columns and len(run):
            return str(run[col].iloc[-1])
    return None


def _engine_metrics(parsed, nq, sizes, y_row, rel, judged, out_score, ideal_src, ideal_bounds, n_rel, n_nonrel,
                    rel_all, gain, ties, trec, empty, ap_min_den, qnames, names, absent, max_grade=None):
    """Our metrics (:mod:`._engine`) of the joined rows: a per-query DataFrame."""
    import pandas as pd

    has_rows = sizes > 0
    values = np.zeros((len(parsed), nq))
    empty_q = np.zeros((len(parsed), nq), dtype=bool)
    if not has_rows.all():  # judged_only left a query of the run no document: it stays, at 0 (trec_eval -J)
        none = np.flatnonzero(~has_rows)
        ideal_max = np.zeros(nq)
        has_ideal = np.diff(ideal_bounds) > 0
        ideal_max[has_ideal] = np.maximum.reduceat(ideal_src, ideal_bounds[:-1][has_ideal]) if len(ideal_src) else 0
        for j, (_, base, _) in enumerate(parsed):
            if base == "ndcg":
                empty_q[j, none] = ideal_max[none] <= 0  # no positive gain: the ideal DCG is 0
            elif base not in ("dcg", "err"):
                empty_q[j, none] = n_rel[none] == 0
    if has_rows.any() and len(y_row):
        sel = np.flatnonzero(has_rows)
        # queries with rows are contiguous once the empty ones (judged_only) are dropped
        bounds = np.append(0, np.cumsum(sizes[sel])).astype(np.int64)
        r = _engine.Ranking(y_row, out_score, None, bounds, None)
        items = list(dict.fromkeys((base, k) for _, base, k in parsed))
        if len(sel) < nq:  # the judged rows of the selected queries, contiguous
            lens = np.diff(ideal_bounds)[sel]
            idx = (np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens)
                   + np.repeat(ideal_bounds[:-1][sel], lens))
            ideal_y = ideal_src[idx]
            ideal_bounds = np.append(0, np.cumsum(lens)).astype(np.int64)
        else:
            ideal_y = ideal_src
        need_gain = any(base in ("ndcg", "dcg") for base, _ in items)
        g = _engine.compute_gains(y_row, gain, bounds) if need_gain else None
        ig = _engine.compute_gains(ideal_y, gain, ideal_bounds) if need_gain and len(ideal_y) else np.zeros(0)
        p_stop = None
        if any(base == "err" for base, _ in items):
            top = float(max(rel_all.max(), 0)) if max_grade is None else max_grade
            p_stop = _engine.stop_probabilities(y_row, top)
        vals, no_rel, no_gain = _engine.run(
            r, items, gains=g, rel=rel, ties="stable" if trec else ties, ap_min_den=ap_min_den,
            ideal_gains=ig, ideal_bounds=ideal_bounds, n_rel=n_rel[sel], n_nonrel=n_nonrel[sel], judged=judged,
            p_stop=p_stop, ranked=trec)
        for j, (_, base, k) in enumerate(parsed):
            v = vals[items.index((base, k))]
            values[j, sel] = v
            if base == "ndcg":
                empty_q[j, sel] = no_gain
            elif base not in ("dcg", "err"):
                empty_q[j, sel] = no_rel
    # a query without relevant documents takes ``empty`` (trec: 0), or is left out ("skip")
    for j in range(len(parsed)):
        if parsed[j][1] in ("dcg", "err"):
            continue
        values[j, empty_q[j]] = np.nan if empty == "skip" else empty
    cols = list(dict.fromkeys(name for name, _, _ in parsed))
    per_query = pd.DataFrame(values.T, columns=[name for name, _, _ in parsed], index=pd.Index(qnames, name="qid"))
    per_query = per_query.loc[:, ~per_query.columns.duplicated()][cols]
    if absent is not None and absent.any():
        extra = pd.DataFrame(0.0, columns=cols, index=pd.Index(names[absent], name="qid"))
        per_query = pd.concat([per_query, extra])
    return per_query
