"""TREC runs against qrels, as trec_eval evaluates them: :func:`read_qrels`, :func:`read_run`, :func:`evaluate_run`.

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
  document for bpref, and has gain 0.

The per-query values come from the same compiled kernels as :func:`gbm_objectives.metrics.evaluate`, fed with the
qrels-side counts (:func:`gbm_objectives.metrics.ndcg_score`'s ``ideal_labels``, :func:`~gbm_objectives.metrics.
map_score`'s ``n_relevant``). Files are tokenized by a compiled scanner over the raw bytes (plain or gzipped);
strings become pyarrow-backed pandas columns without a Python loop over the lines.

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

import gzip
import numbers
import warnings
from pathlib import Path

import numpy as np
from numba import njit, prange

from . import _dcg
from . import metrics as _m
from ._validation import fmt

__all__ = ["read_qrels", "read_run", "evaluate_run", "RunEvaluation", "TREC_MEASURE_NAMES"]

_MISSING = ("skip", "zero")


# ----------------------------------------------------------------------------------------------------------------
# compiled scanning of whitespace-separated files


@njit(inline="always", cache=True)
def _is_space(c):
    return c == 32 or c == 9 or c == 13 or c == 11 or c == 12


@njit(cache=True)
def _tokenize(buf, n_fields, want):
    """Split ``buf`` into lines of exactly ``n_fields`` whitespace-separated fields; record the byte ranges of the
    fields ``want``. Blank lines are skipped. Returns ``(n_rows, starts, ends, line_of_row, bad_line, bad_count)``;
    ``bad_line`` > 0 is the first (1-based) line with another number of fields (``bad_count`` of them)."""
    n = buf.shape[0]
    n_lines = 1
    for i in range(n):
        if buf[i] == 10:
            n_lines += 1
    nw = want.shape[0]
    starts = np.empty((n_lines, nw), dtype=np.int64)
    ends = np.empty((n_lines, nw), dtype=np.int64)
    line_of = np.empty(n_lines, dtype=np.int64)
    tok_s = np.empty(n_fields, dtype=np.int64)
    tok_e = np.empty(n_fields, dtype=np.int64)
    row = 0
    line = 0
    i = 0
    while i < n:
        line += 1
        count = 0
        while i < n and buf[i] != 10:
            while i < n and _is_space(buf[i]):
                i += 1
            if i >= n or buf[i] == 10:
                break
            s = i
            while i < n and buf[i] != 10 and not _is_space(buf[i]):
                i += 1
            if count < n_fields:
                tok_s[count] = s
                tok_e[count] = i
            count += 1
        i += 1  # the newline
        if count == 0:
            continue
        if count != n_fields:
            return row, starts, ends, line_of, line, count
        for j in range(nw):
            starts[row, j] = tok_s[want[j]]
            ends[row, j] = tok_e[want[j]]
        line_of[row] = line
        row += 1
    return row, starts, ends, line_of, 0, 0


_POW10 = np.array([10.0**i for i in range(23)])


@njit(cache=True, parallel=True)
def _parse_floats(buf, starts, ends, pow10):
    """Decimal numbers of the byte ranges; ``ok[i]`` False where the fast exact path does not apply (more than 15
    significant digits, a large exponent, or not a plain number): those are parsed by Python's ``float``.

    The fast path is exact (correctly rounded, as ``strtod``): a mantissa below 2**53 and a power of ten up to
    1e22 are both exact doubles, and one multiplication or division rounds once (Clinger 1990)."""
    n = starts.shape[0]
    out = np.empty(n)
    ok = np.zeros(n, dtype=np.bool_)
    for r in prange(n):
        i, e = starts[r], ends[r]
        neg = False
        if i < e and (buf[i] == 45 or buf[i] == 43):
            neg = buf[i] == 45
            i += 1
        mant = 0
        digits = 0
        frac = 0
        seen_dot = False
        good = i < e
        while i < e:
            c = buf[i]
            if 48 <= c <= 57:
                if mant > 0 or c != 48:
                    digits += 1
                mant = mant * 10 + (c - 48) if digits <= 15 else mant
                if seen_dot:
                    frac += 1
                if digits > 15:
                    good = False
                    break
            elif c == 46 and not seen_dot:
                seen_dot = True
            else:
                break
            i += 1
        exp = 0
        if good and i < e and (buf[i] == 101 or buf[i] == 69):
            i += 1
            eneg = False
            if i < e and (buf[i] == 45 or buf[i] == 43):
                eneg = buf[i] == 45
                i += 1
            nd = 0
            while i < e and 48 <= buf[i] <= 57 and nd < 6:
                exp = exp * 10 + (buf[i] - 48)
                i += 1
                nd += 1
            good = nd > 0
            if eneg:
                exp = -exp
        if not good or i != e:
            continue
        p = exp - frac
        if p > 22 or p < -22:
            continue
        v = float(mant)
        v = v * pow10[p] if p >= 0 else v / pow10[-p]
        out[r] = -v if neg else v
        ok[r] = True
    return out, ok


@njit(cache=True)
def _gather(buf, starts, ends):
    """Concatenate the byte ranges: ``(data, offsets)`` of an Arrow string array."""
    n = starts.shape[0]
    offsets = np.empty(n + 1, dtype=np.int64)
    offsets[0] = 0
    for r in range(n):
        offsets[r + 1] = offsets[r] + ends[r] - starts[r]
    data = np.empty(offsets[n], dtype=np.uint8)
    for r in range(n):
        o = offsets[r]
        for j in range(starts[r], ends[r]):
            data[o + j - starts[r]] = buf[j]
    return data, offsets


def _read_bytes(path, name):
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{name}: no such file {str(path)!r}")
    raw = p.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return np.frombuffer(raw, dtype=np.uint8)


def _token_text(buf, s, e):
    return bytes(buf[s:e]).decode("utf-8", errors="replace")


def _string_column(buf, starts, ends):
    """A pandas string column (pyarrow-backed) of the byte ranges."""
    import pandas as pd

    data, offsets = _gather(buf, starts, ends)
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pandas without pyarrow: object strings
        raw = data.tobytes()
        return pd.Series([raw[a:b].decode() for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())],
                         dtype=object)
    arr = pa.LargeStringArray.from_buffers(len(starts), pa.py_buffer(offsets), pa.py_buffer(data))
    arr.validate(full=True)  # UTF-8
    return pd.Series(arr.to_pandas(types_mapper=None), copy=False)


def _numbers(buf, starts, ends, line_of, path, what):
    values, ok = _parse_floats(buf, starts, ends, _POW10)
    slow = np.flatnonzero(~ok)
    if len(slow) > 16:  # e.g. 17-digit reprs: Arrow's correctly rounded parser (fast_float), vectorised
        import pyarrow as pa
        import pyarrow.compute as pc

        data, offsets = _gather(buf, starts[slow], ends[slow])
        arr = pa.LargeStringArray.from_buffers(len(slow), pa.py_buffer(offsets), pa.py_buffer(data))
        try:
            values[slow] = pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
            slow = slow[~np.isfinite(values[slow])]
        except (pa.ArrowInvalid, UnicodeDecodeError):
            pass  # a token that is not a number (or spelled as only Python reads it): found below, with its line
    for r in slow.tolist():  # rare: long mantissas, big exponents, nan/inf, garbage
        text = _token_text(buf, starts[r], ends[r])
        try:
            values[r] = float(text)
        except ValueError:
            raise ValueError(f"{path}, line {line_of[r]}: {what} must be a number; got {text!r}") from None
    bad = ~np.isfinite(values)
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{path}, line {line_of[r]}: {what} must be finite; got "
                         f"{_token_text(buf, starts[r], ends[r])!r}")
    return values


def _scan(path, n_fields, want, layout, name):
    buf = _read_bytes(path, name)
    n, starts, ends, line_of, bad_line, bad_count = _tokenize(buf, n_fields, np.asarray(want, dtype=np.int64))
    if bad_line:
        raise ValueError(f"{path}, line {bad_line}: expected {n_fields} fields ({layout}); got {bad_count}")
    if n == 0:
        raise ValueError(f"{path}: no lines (expected {layout})")
    return buf, starts[:n], ends[:n], line_of[:n]


def read_qrels(path):
    """Read TREC relevance judgments ``qid 0 docno relevance`` (whitespace-separated, plain or gzipped).

    Returns
    -------
    pandas.DataFrame
        Columns ``qid`` and ``docno`` (strings) and ``relevance`` (int64), one row per line, in file order.

    Raises
    ------
    FileNotFoundError
    ValueError
        A line without exactly 4 fields, a relevance that is not an integer (the message gives file and line).
    """
    import pandas as pd

    buf, starts, ends, line_of = _scan(path, 4, (0, 2, 3), "qid 0 docno relevance", "qrels")
    rel = _numbers(buf, starts[:, 2], ends[:, 2], line_of, path, "the relevance (4th field)")
    reli = rel.astype(np.int64)
    if (reli != rel).any():
        r = int(np.flatnonzero(reli != rel)[0])
        raise ValueError(f"{path}, line {line_of[r]}: the relevance (4th field) must be an integer; got "
                         f"{_token_text(buf, starts[r, 2], ends[r, 2])!r}")
    return pd.DataFrame({"qid": _string_column(buf, starts[:, 0], ends[:, 0]),
                         "docno": _string_column(buf, starts[:, 1], ends[:, 1]), "relevance": reli})


def read_run(path):
    """Read a TREC run ``qid Q0 docno rank score tag`` (whitespace-separated, plain or gzipped).

    Returns
    -------
    pandas.DataFrame
        Columns ``qid`` and ``docno`` (strings) and ``score`` (float64), one row per line, in file order (the rank
        and tag columns are not kept: trec_eval ranks by score).

    Raises
    ------
    FileNotFoundError
    ValueError
        A line without exactly 6 fields, a score that is not a finite number (file and line in the message).
    """
    import pandas as pd

    buf, starts, ends, line_of = _scan(path, 6, (0, 2, 4), "qid Q0 docno rank score tag", "run")
    score = _numbers(buf, starts[:, 2], ends[:, 2], line_of, path, "the score (5th field)")
    return pd.DataFrame({"qid": _string_column(buf, starts[:, 0], ends[:, 0]),
                         "docno": _string_column(buf, starts[:, 1], ends[:, 1]), "score": score})


# ----------------------------------------------------------------------------------------------------------------
# evaluation


def _arrow_strings(col, what):
    """``(data, offsets)`` (uint8, int64) of a string column, through pyarrow (zero-copy for Arrow-backed ones)."""
    import pyarrow as pa

    try:
        arr = pa.array(col, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        arr = pa.array(col.astype(str) if hasattr(col, "astype") else [str(x) for x in col])
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.null_count:
        i = int(np.flatnonzero(arr.is_null().to_numpy(zero_copy_only=False))[0])
        raise ValueError(f"{what} has a missing value at row {i}")
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.string())
    if pa.types.is_string(arr.type):
        arr = arr.cast(pa.large_string())
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64)[arr.offset: arr.offset + len(arr) + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, dtype=np.uint8)
    return data, offsets


@njit(cache=True)
def _segments(data, offsets):
    """Starts of the runs of equal consecutive strings (the rows where the qid changes)."""
    n = offsets.shape[0] - 1
    out = np.empty(n + 1, dtype=np.int64)
    c = 0
    for r in range(n):
        new = r == 0
        if not new:
            a0, a1, b0, b1 = offsets[r - 1], offsets[r], offsets[r], offsets[r + 1]
            if a1 - a0 != b1 - b0:
                new = True
            else:
                for j in range(a1 - a0):
                    if data[a0 + j] != data[b0 + j]:
                        new = True
                        break
        if new:
            out[c] = r
            c += 1
    out[c] = n
    return out[: c + 1]


@njit(inline="always", cache=True)
def _cmp(data, offsets, i, j):
    """Byte-wise comparison of strings ``i`` and ``j`` (C ``strcmp`` order): -1, 0 or 1."""
    a0, a1, b0, b1 = offsets[i], offsets[i + 1], offsets[j], offsets[j + 1]
    la, lb = a1 - a0, b1 - b0
    for t in range(min(la, lb)):
        x, y = data[a0 + t], data[b0 + t]
        if x != y:
            return -1 if x < y else 1
    if la == lb:
        return 0
    return -1 if la < lb else 1


@njit(cache=True, parallel=True)
def _hashes(data, offsets):
    """FNV-1a 64-bit hash of each string (a join key; equal hashes are confirmed byte by byte)."""
    n = offsets.shape[0] - 1
    out = np.empty(n, dtype=np.uint64)
    for r in prange(n):
        h = np.uint64(14695981039346656037)
        for j in range(offsets[r], offsets[r + 1]):
            h = (h ^ np.uint64(data[j])) * np.uint64(1099511628211)
        out[r] = h
    return out


@njit(inline="always", cache=True)
def _same(da, oa, i, db, ob, j):
    a0, a1, b0, b1 = oa[i], oa[i + 1], ob[j], ob[j + 1]
    if a1 - a0 != b1 - b0:
        return False
    for t in range(a1 - a0):
        if da[a0 + t] != db[b0 + t]:
            return False
    return True


@njit(cache=True, parallel=True)
def _join(run_rows, run_bounds, r_data, r_off, r_hash, q_rows, q_bounds, q_data, q_off, q_hash, q_rel, trec_order,
          scores, out_rows, out_rel, out_found, dup):
    """Per query: match the run's documents with the qrels' (by hash, confirmed byte by byte), find duplicated
    docnos, and write the rows in the order the metric kernel reads them: with ``trec_order``, trec_eval's ranking
    (score descending, ties by docno descending, byte-wise), otherwise the file order.

    ``dup[q]``: -1, or the run row of a docno seen twice in query ``q`` (``-2 - row`` for the qrels)."""
    nq = run_bounds.shape[0] - 1
    for q in prange(nq):
        a, b = run_bounds[q], run_bounds[q + 1]
        c, d = q_bounds[q], q_bounds[q + 1]
        m = b - a
        rows = run_rows[a:b]
        qq = q_rows[c:d]
        nj = d - c
        dup[q] = -1
        # one open-addressing table per query: the judged documents, then the retrieved ones (duplicates found
        # on insertion); slot value t < nj: qrels row qq[t], else run row rows[t - nj]
        cap = 2
        while cap < 2 * (m + nj):
            cap *= 2
        mask = np.uint64(cap - 1)
        slot = np.full(cap, -1, dtype=np.int64)
        for t in range(nj):
            row = qq[t]
            h = q_hash[row]
            sl = np.int64((h ^ (h >> np.uint64(29))) & mask)
            fresh = True
            while slot[sl] != -1:
                o = qq[slot[sl]]
                if q_hash[o] == h and _same(q_data, q_off, o, q_data, q_off, row):
                    dup[q] = -2 - row
                    fresh = False
                    break
                sl = (sl + 1) & (cap - 1)
            if fresh:
                slot[sl] = t
        rel_t = np.zeros(m, dtype=np.int64)
        found_t = np.zeros(m, dtype=np.bool_)
        for t in range(m):
            row = rows[t]
            h = r_hash[row]
            sl = np.int64((h ^ (h >> np.uint64(29))) & mask)
            fresh = True
            while slot[sl] != -1:
                o = slot[sl]
                if o < nj:
                    o = qq[o]
                    if q_hash[o] == h and _same(q_data, q_off, o, r_data, r_off, row):
                        rel_t[t] = q_rel[o]
                        found_t[t] = True
                else:
                    o = rows[o - nj]
                    if r_hash[o] == h and _same(r_data, r_off, o, r_data, r_off, row):
                        dup[q] = row
                        fresh = False
                        break
                sl = (sl + 1) & (cap - 1)
            if fresh:
                slot[sl] = nj + t
        order = np.arange(m)
        if trec_order:
            key = np.empty(m)
            for t in range(m):
                key[t] = scores[rows[t]]
            order = np.empty(m, dtype=np.int64)
            _dcg._rank_query(key, order, np.empty(m, dtype=np.int64), False)  # the metrics' ranking: descending
            t = 0
            while t < m:  # blocks of tied scores: docno descending (insertion sort, blocks are short)
                e = t + 1
                while e < m and key[order[e]] == key[order[t]]:
                    e += 1
                for i in range(t + 1, e):
                    v = order[i]
                    j = i - 1
                    while j >= t and _cmp(r_data, r_off, rows[order[j]], rows[v]) < 0:
                        order[j + 1] = order[j]
                        j -= 1
                    order[j + 1] = v
                t = e
        for t in range(m):
            i = order[t]
            out_rows[a + t] = rows[i]
            out_rel[a + t] = rel_t[i]
            out_found[a + t] = found_t[i]


def _grouped_rows(seg, seg_code, row_code, evaluated):
    """Rows of the evaluated queries, grouped by query code (file order inside a query)."""
    sizes = np.diff(seg)
    if len(np.unique(seg_code)) == len(seg_code):  # each query one block of the file: order the blocks
        o = np.argsort(seg_code, kind="stable")
        o = o[evaluated[seg_code[o]]]
        lens = sizes[o]
        return (np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens) + np.repeat(seg[:-1][o], lens))
    rows = np.flatnonzero(evaluated[row_code])
    return rows[np.argsort(row_code[rows], kind="stable")]


def _query_codes(data, offsets):
    """Per-row query codes: the distinct qids (sorted strings) and each row's index into them."""
    seg = _segments(data, offsets)
    raw = data.tobytes()
    names = np.array([raw[offsets[s]:offsets[s + 1]].decode("utf-8", errors="replace") for s in seg[:-1].tolist()],
                     dtype=object)
    return names, seg


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
        One row per evaluated query (index ``qid``, sorted), one column per metric (the names as asked).
    mean : dict
        Metric name -> mean over the rows of ``per_query``.
    metrics : tuple of str
    skipped_queries : list of str
        Queries of the run without qrels (left out).
    """

    def __init__(self, per_query, metrics, skipped_queries=()):
        self.per_query = per_query
        self.metrics = tuple(metrics)
        self.skipped_queries = list(skipped_queries)
        self.mean = {m: float(per_query[m].mean()) if len(per_query) else float("nan") for m in self.metrics}

    def trec_name(self, metric):
        """trec_eval's name of ``metric`` (``ndcg@10`` -> ``ndcg_cut_10``), or the name itself."""
        base, k = _m.parse_metric(metric)
        key = base if k is None else f"{base}@"
        key = "p@" if key == "precision@" else key
        return TREC_MEASURE_NAMES.get(key, metric).format(k=k)

    def to_trec(self, per_query=True):
        """trec_eval's output lines ``measure<TAB>qid<TAB>value`` (``-q``: every query, then ``all``) as a string."""
        lines = []
        for m in self.metrics:
            name = self.trec_name(m)
            if per_query:
                lines += [f"{name:<22}\t{q}\t{v:.4f}" for q, v in zip(self.per_query.index, self.per_query[m])]
            lines.append(f"{name:<22}\tall\t{self.mean[m]:.4f}")
        return "\n".join(lines) + "\n"

    def __repr__(self):
        means = ", ".join(f"{m}={v:.4f}" for m, v in self.mean.items())
        return f"RunEvaluation({len(self.per_query)} queries: {means})"


def evaluate_run(qrels, run, metrics=("ndcg@10", "map", "recall@100", "mrr"), convention="trec",
                 relevance_threshold=1, judged_only=False, missing_queries="skip"):
    """Evaluate a TREC run against qrels, as trec_eval does (module docstring).

    Parameters
    ----------
    qrels : path or pandas.DataFrame
        A qrels file, or a DataFrame with columns ``qid``, ``docno`` (strings), ``relevance`` (integers).
    run : path or pandas.DataFrame
        A run file, or a DataFrame with columns ``qid``, ``docno`` (strings), ``score`` (numbers).
    metrics : str or sequence of str
        Names of :func:`gbm_objectives.metrics.parse_metric` (``ndcg@10``, ``map``, ``recall@100``, ``mrr``,
        ``p@10``, ``success@1``, ``rprec``, ``bpref``, ``dcg@10``, ``err@20``) or trec_eval's (``ndcg_cut_10``,
        ``recip_rank``, ``P_10``, ``Rprec``, ``recall_100``, ``success_10``, ``map_cut_10``).
    convention : {"trec", "lightgbm", "sklearn"}, default "trec"
        Gains, ties and the value of a query without relevant documents (:mod:`gbm_objectives.metrics`); "trec"
        breaks ties by docno descending, the others use the run's row order ("stable") or average them.
    relevance_threshold : int, default 1
        A judged document is relevant when its relevance is ``>=`` this (trec_eval ``-l``); NDCG's gains are the
        relevance values whatever the threshold.
    judged_only : bool, default False
        Drop the unjudged documents of the run before ranking (trec_eval ``-J``).
    missing_queries : {"skip", "zero"}, default "skip"
        Queries of the qrels for which the run retrieved nothing: left out, or scored 0 (trec_eval ``-c``).

    Returns
    -------
    RunEvaluation
        ``.per_query`` (DataFrame), ``.mean`` (dict), ``.to_trec()``.

    Raises
    ------
    ValueError
        A (qid, docno) pair twice in the run or in the qrels, a non-finite score, an unknown metric (the known
        names are listed), no query in common.

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
    gain, ties, empty = _m._resolve_knobs(convention)
    if isinstance(metrics, str):
        metrics = (metrics,)
    metrics = tuple(metrics)
    if not metrics:
        raise ValueError("metrics is empty; name at least one metric, e.g. metrics=('ndcg@10',)")
    parsed = []
    for name in metrics:
        base, k = _m.parse_metric(name)
        base = "p" if base == "precision" else base
        if base == "auc":
            raise ValueError(f"metric {name!r}: auc is not a run metric; choose a ranking metric")
        k = (10 if base == "p" else 0) if k is None else k
        if base == "map":
            _m._check_ap_ties(ties, k)
        if base in ("success", "bpref", "err"):
            _m._no_average_ties(ties, name)
        parsed.append((name, base, k))
    if isinstance(relevance_threshold, (bool, np.bool_)) or not isinstance(relevance_threshold, numbers.Real):
        raise TypeError(f"relevance_threshold must be a number; got {fmt(relevance_threshold)}")
    qrels = _as_frame(qrels, "qrels")
    run = _as_frame(run, "run")

    # ---- qids: distinct consecutive values, then one sorted code space for run and qrels
    r_qd, r_qo = _arrow_strings(run["qid"], "run qid")
    q_qd, q_qo = _arrow_strings(qrels["qid"], "qrels qid")
    r_names, r_seg = _query_codes(r_qd, r_qo)
    q_names, q_seg = _query_codes(q_qd, q_qo)
    names, inv = np.unique(np.concatenate((r_names, q_names)), return_inverse=True)
    inv = inv.reshape(-1)
    r_code = np.repeat(inv[: len(r_names)], np.diff(r_seg))
    q_code = np.repeat(inv[len(r_names):], np.diff(q_seg))
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
    rel_all = rel_all.astype(np.int64)

    in_qrels = np.zeros(len(names), dtype=bool)
    in_qrels[q_code] = True
    in_run = np.zeros(len(names), dtype=bool)
    in_run[r_code] = True
    orphan = in_run & ~in_qrels
    if orphan.any():
        shown = ", ".join(repr(x) for x in names[orphan][:5]) + (" ..." if orphan.sum() > 5 else "")
        warnings.warn(f"{int(orphan.sum())} queries of the run have no qrels ({shown}); they are left out of "
                      "every value, as trec_eval does", UserWarning, stacklevel=2)
    evaluated = in_run & in_qrels
    if not evaluated.any():
        raise ValueError("the run and the qrels have no query in common")

    # ---- rows of the evaluated queries, grouped by query code (stable: file order inside a query)
    run_rows = _grouped_rows(r_seg, inv[: len(r_names)], r_code, evaluated)
    q_rows = _grouped_rows(q_seg, inv[len(r_names):], q_code, evaluated)
    codes = np.flatnonzero(evaluated)
    run_bounds = np.searchsorted(r_code[run_rows], codes, side="left").astype(np.int64)
    run_bounds = np.append(run_bounds, len(run_rows))
    q_bounds = np.append(np.searchsorted(q_code[q_rows], codes, side="left"), len(q_rows)).astype(np.int64)

    r_dd, r_do = _arrow_strings(run["docno"], "run docno")
    q_dd, q_do = _arrow_strings(qrels["docno"], "qrels docno")
    n = len(run_rows)
    out_rows = np.empty(n, dtype=np.int64)
    out_rel = np.empty(n, dtype=np.int64)
    out_found = np.empty(n, dtype=np.bool_)
    dup = np.empty(len(codes), dtype=np.int64)
    _join(run_rows, run_bounds, r_dd, r_do, _hashes(r_dd, r_do), q_rows, q_bounds, q_dd, q_do, _hashes(q_dd, q_do),
          rel_all, ties == "trec", score, out_rows, out_rel, out_found, dup)
    if (dup != -1).any():
        d = int(dup[dup != -1][0])
        if d >= 0:
            raise ValueError(f"run has the document {run['docno'].iloc[d]!r} twice for query {run['qid'].iloc[d]!r} "
                             f"(row {d}); trec_eval refuses duplicate (qid, docno) pairs")
        d = -2 - d
        raise ValueError(f"qrels have the document {qrels['docno'].iloc[d]!r} twice for query "
                         f"{qrels['qid'].iloc[d]!r} (row {d})")
    if judged_only:
        kept = out_found
        sizes = np.add.reduceat(kept.astype(np.int64), run_bounds[:-1]) if n else np.zeros(0, dtype=np.int64)
        out_rows, out_rel, out_found = out_rows[kept], out_rel[kept], out_found[kept]
        run_bounds = np.append(0, np.cumsum(sizes)).astype(np.int64)

    # ---- per-query qrels side
    q_rel = rel_all[q_rows]
    relevant = (q_rel >= relevance_threshold).astype(np.int64)
    nonrel = ((q_rel >= 0) & (q_rel < relevance_threshold)).astype(np.int64)
    nq = len(codes)
    n_rel = np.add.reduceat(relevant, q_bounds[:-1]) if len(q_rows) else np.zeros(nq, dtype=np.int64)
    n_nonrel = np.add.reduceat(nonrel, q_bounds[:-1]) if len(q_rows) else np.zeros(nq, dtype=np.int64)
    sizes = np.diff(run_bounds)
    has_rows = sizes > 0
    y_row = np.clip(out_rel, 0, None).astype(np.float64)  # gains from the relevance values (negative: 0)
    values = np.zeros((len(parsed), nq))
    empty_q = np.zeros((len(parsed), nq), dtype=bool)
    if has_rows.any() and len(out_rows):
        sel = np.flatnonzero(has_rows)
        # queries with rows are contiguous once the empty ones (judged_only) are dropped
        bounds = np.append(0, np.cumsum(sizes[sel])).astype(np.int64)
        r = _m._Ranking(y_row, score[out_rows], None, bounds, None)
        items = list(dict.fromkeys((base, k) for _, base, k in parsed))
        ideal_src = np.clip(q_rel, 0, None).astype(np.float64)
        lens = np.diff(q_bounds)[sel]
        # the judged rows of the selected queries, contiguous: q_bounds[sel[i]] + 0 .. lens[i] - 1
        idx = np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens) + np.repeat(q_bounds[sel], lens)
        ideal_y = ideal_src[idx]
        ideal_bounds = np.append(0, np.cumsum(lens)).astype(np.int64)
        need_gain = any(base in ("ndcg", "dcg") for base, _ in items)
        g = _m._gains(y_row, gain, bounds) if need_gain else None
        ig = _m._gains(ideal_y, gain, ideal_bounds) if need_gain and len(ideal_y) else np.zeros(0)
        p_stop = None
        if any(base == "err" for base, _ in items):
            p_stop = _m._stop_probabilities(y_row, float(max(rel_all.max(), 0)))
        rel = (out_rel >= relevance_threshold).astype(np.int8)
        judged = (out_found & (out_rel >= 0)).astype(np.int8)
        vals, no_rel, no_gain = _m._run(
            r, items, gains=g, rel=rel, ties="stable" if ties == "trec" else ties, ap_min_den=convention == "lightgbm",
            ideal_gains=ig, ideal_bounds=ideal_bounds, n_rel=n_rel[sel], n_nonrel=n_nonrel[sel], judged=judged,
            p_stop=p_stop)
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
    qnames = names[codes]
    per_query = pd.DataFrame(values.T, columns=list(metrics), index=pd.Index(qnames, name="qid"))
    if missing_queries == "skip":
        per_query = per_query[has_rows]
    else:
        per_query.loc[~has_rows] = 0.0
        absent = in_qrels & ~in_run
        if absent.any():
            extra = pd.DataFrame(0.0, columns=list(metrics), index=pd.Index(names[absent], name="qid"))
            per_query = pd.concat([per_query, extra])
    per_query = per_query.sort_index(kind="stable")
    if empty == "skip":
        per_query = per_query.dropna(how="all")
    return RunEvaluation(per_query, metrics, skipped_queries=list(names[orphan]))
