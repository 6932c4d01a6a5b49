"""The metrics' engine: conventions and their knobs, validation of a ranking evaluation, gains, and the one driver
(:func:`run`) that ranks each query once and computes every metric asked for with the per-query functions of
:mod:`._per_query`.

Package-internal, with plain names: the public metric functions (:mod:`.ranking`), :func:`.names.evaluate`, the
TREC-run evaluator (:mod:`.runs`) and the Dask evaluator (:mod:`gbm_objectives.dask`) all call it.
"""

from __future__ import annotations

import numbers

import numpy as np
from numba import njit, prange

from .._core import dcg as _dcg
from .._core.jit import PARALLEL_MIN, specialise
from .._core.segments import boundaries_from_qid, check_qid, qid_order, resolve_boundaries
from .._core.validation import as_numpy, check_1d, check_consistent_length, check_positive_int, check_sample_weight, fmt
from ._per_query import (
    ndcg_query,
    rr_query,
    ap_query,
    precision_query,
    recall_query,
    success_query,
    rprec_query,
    bpref_query,
    err_query,
    auc_query,
)

__all__ = ["CONVENTIONS", "AP_DENOMINATORS", "MAX_EXP2_LABEL", "TIES", "GAINS", "REDUCE", "resolve_knobs", "check_k", "check_reduce", "Ranking", "qid_codes", "prepare_ranking", "compute_gains", "exp2_gains", "finish", "apply_empty", "relevance_flags", "run", "auc_finish", "check_ap_ties", "stop_probabilities", "no_average_ties", "auc_positive"]

#: Named presets over the knobs ``gain``, ``ties`` and ``empty``.
CONVENTIONS = {
    "lightgbm": {"gain": "exp2", "ties": "stable", "empty": 1.0, "ap_denominator": "min_relevant_k"},
    "trec": {"gain": "linear", "ties": "trec", "empty": 0.0, "ap_denominator": "relevant"},
    "sklearn": {"gain": "linear", "ties": "average", "empty": 0.0, "ap_denominator": "relevant"},
}
#: AP@k's denominator: ``"relevant"`` = R, the relevant documents of the query (trec_eval, scikit-learn);
#: ``"min_relevant_k"`` = min(R, k) (LightGBM's ``map@k``)
AP_DENOMINATORS = ("relevant", "min_relevant_k")
TIES = ("stable", "trec", "average")
GAINS = ("exp2", "linear")
REDUCE = ("mean", None)


# ----------------------------------------------------------------------------------------------------------------
# argument handling


def resolve_knobs(convention, gain=None, ties=None, empty=None):
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {sorted(CONVENTIONS)}; got {fmt(convention)}")
    preset = CONVENTIONS[convention]
    gain = preset["gain"] if gain is None else gain
    ties = preset["ties"] if ties is None else ties
    empty = preset["empty"] if empty is None else empty
    if isinstance(gain, str):
        if gain not in GAINS:
            raise ValueError(f"gain must be one of {list(GAINS)} or an array of per-label gains; got {gain!r}")
    else:
        gain = check_1d(gain, "gain")
        if (gain < 0).any():
            i = int(np.flatnonzero(gain < 0)[0])
            raise ValueError(f"gain (a per-label gain table) must be non-negative; got {fmt(gain[i])} at index {i}")
    if ties not in TIES:
        raise ValueError(f"ties must be one of {list(TIES)}; got {fmt(ties)}")
    if isinstance(empty, str):
        if empty != "skip":
            raise ValueError(f"empty must be a number or 'skip'; got {empty!r}")
    elif isinstance(empty, (bool, np.bool_)) or not isinstance(empty, numbers.Real) or not np.isfinite(empty):
        raise ValueError(f"empty must be a finite number or 'skip'; got {fmt(empty)}")
    else:
        empty = float(empty)
    return gain, ties, empty


def resolve_ap_denominator(convention, ap_denominator=None):
    """The ``ap_denominator`` knob: the convention's unless given; True when it is ``min(R, k)``."""
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {sorted(CONVENTIONS)}; got {fmt(convention)}")
    value = CONVENTIONS[convention]["ap_denominator"] if ap_denominator is None else ap_denominator
    if value not in AP_DENOMINATORS:
        raise ValueError(f"ap_denominator must be one of {list(AP_DENOMINATORS)}; got {fmt(ap_denominator)}")
    return value == "min_relevant_k"


def check_k(k, allow_none=True):
    if k is None and allow_none:
        return 0  # kernels read k <= 0 as "the whole query"
    return check_positive_int(k, "k")


def check_reduce(reduce):
    if reduce not in REDUCE:
        raise ValueError(f"reduce must be 'mean' or None; got {fmt(reduce)}")
    return reduce


class Ranking:
    """Validated arrays of a ranking evaluation, rows grouped by query (contiguous)."""

    __slots__ = ("y", "s", "w", "boundaries", "qw", "longest", "perm")

    def __init__(self, y, s, w, boundaries, qw, perm=None):
        self.y, self.s, self.w, self.boundaries, self.qw = y, s, w, boundaries, qw
        self.perm = perm  # the row permutation that made the queries contiguous (None: rows as given)
        self.longest = int(np.diff(boundaries).max())  # rows of the largest query


def qid_codes(qid):
    """Per-row query ids as numbers: numeric ids as they are, strings (or other sortable objects) factorised into
    their rank in sorted order, so that ``reduce=None`` still lists queries in increasing ``qid`` order."""
    q = qid.to_numpy() if hasattr(qid, "to_numpy") else np.asarray(qid)
    if q.dtype.kind in "biuf":
        return check_qid(q)  # integer values: 1.5 is refused
    if q.dtype.kind not in "USO":
        raise TypeError(f"qid must hold numbers or strings; got dtype {q.dtype}")
    if q.ndim != 1:
        raise ValueError(f"qid must be 1-D (one id per row); got shape {q.shape}")
    try:
        return np.unique(q, return_inverse=True)[1].reshape(-1)
    except TypeError:
        raise TypeError(
            "qid must hold numbers or strings of one type (they are sorted to order the queries); got a mix"
        ) from None


def prepare_ranking(y_true, y_score, group, qid, sample_weight, *, required=True):
    y = check_1d(y_true, "y_true")
    n = len(y)
    if n == 0:
        raise ValueError("y_true is empty: a metric needs at least one row")
    s = check_1d(y_score, "y_score")
    check_consistent_length(n, y_score=s)
    if (y < 0).any():
        i = int(np.flatnonzero(y < 0)[0])
        raise ValueError(f"y_true must be non-negative relevance labels; got {fmt(y[i])} at index {i}")
    w = check_sample_weight(sample_weight, n)
    perm = None
    if qid is not None and group is None:
        q = qid_codes(qid)
        if q.ndim != 1:
            raise ValueError(f"qid must be 1-D (one id per row); got shape {q.shape}")
        check_consistent_length(n, qid=q)
        if n > 1 and (q[1:] < q[:-1]).any():  # make the queries contiguous (stable: rows keep their order)
            perm = qid_order(q)
            q, y, s = q[perm], y[perm], s[perm]
            w = None if w is None else w[perm]
        boundaries = boundaries_from_qid(q, n)
    else:
        boundaries = resolve_boundaries(n, group=group, qid=qid, required=required)
        if boundaries is None:
            boundaries = np.array([0, n], dtype=np.int64)
    qw = None
    if w is not None:  # LightGBM's query weight: mean of the row weights of the query
        sums = np.add.reduceat(w, boundaries[:-1])
        qw = sums / np.diff(boundaries)
    return Ranking(y, s, w, boundaries, qw, perm)


_EXP2_TABLE = _dcg.default_label_gain()
#: ``2**y - 1`` is finite (float64) for every label below this; larger labels are refused with ``gain="exp2"``.
MAX_EXP2_LABEL = 1024


def compute_gains(y, gain, boundaries):
    """Per-row gains; ValueError when a gain, or the sum of a query's gains (which bounds its DCG), overflows."""
    if isinstance(gain, str):
        y_max = y.max()
        if gain == "linear":
            g, g_max = y, y_max
        else:
            if y_max >= MAX_EXP2_LABEL:
                i = int(np.argmax(y))
                raise ValueError(
                    f"y_true label {fmt(y[i])} at index {i} is too large for gain='exp2': 2**y - 1 overflows "
                    f"float64 for labels >= {MAX_EXP2_LABEL} (use gain='linear' or a gain table)"
                )
            g, g_max = exp2_gains(y, _EXP2_TABLE), 2.0**y_max - 1.0
    else:
        yi = y.astype(np.int64)
        if (yi != y).any():
            i = int(np.flatnonzero(yi != y)[0])
            raise ValueError(
                f"y_true must be integer labels to index a gain table; got {fmt(y[i])} at index {i}"
            )
        g = _dcg.row_gains(yi, gain)
        g_max = g.max()
    longest = int(np.diff(boundaries).max())
    if not float(g_max) * longest < np.inf:  # cheap test first (Python floats: no warning); exact one if it fails
        with np.errstate(over="ignore"):
            sums = np.add.reduceat(g, boundaries[:-1])
        if not np.isfinite(sums).all():
            q = int(np.flatnonzero(~np.isfinite(sums))[0])
            i = int(boundaries[q] + np.argmax(g[boundaries[q] : boundaries[q + 1]]))
            raise ValueError(
                f"the gains of query {q} overflow float64 when summed into a DCG (largest: label {fmt(y[i])} at "
                f"index {i}, gain {fmt(g[i])}); use smaller labels or gain='linear'"
            )
    return g


@njit(cache=True, parallel=True)
def exp2_gains(y, table):
    """``2**y - 1``; integer labels read LightGBM's ``label_gain`` table (the same values, exactly)."""
    out = np.empty(y.shape[0])
    for i in prange(y.shape[0]):
        v = y[i]
        if v == np.floor(v) and v < table.shape[0]:
            out[i] = table[int(v)]
        else:
            out[i] = 2.0**v - 1.0
    return out


def finish(values, skip, qw, reduce):
    """Reduce per-query values to a (weighted) mean, leaving out exactly the queries marked in ``skip``.

    Any other ``nan`` (there should be none) propagates into the mean: a per-query value never vanishes silently.
    """
    if reduce is None:
        return values
    keep = ~skip
    if not keep.any():
        return np.nan
    # sequential sums (cumsum), in query order, as LightGBM's single-threaded eval: equal values stay bit-equal
    if qw is None:
        return float(np.cumsum(values[keep])[-1] / keep.sum())
    wk = qw[keep]
    total = np.cumsum(wk)[-1]
    return float(np.cumsum(values[keep] * wk)[-1] / total) if total > 0 else np.nan


def apply_empty(values, is_empty, empty):
    """The ``empty`` convention: the value of a query without relevant documents, or ``nan`` and skipped."""
    skip = is_empty if empty == "skip" else np.zeros(len(values), dtype=bool)
    if is_empty.any():
        values = values.copy()
        values[is_empty] = np.nan if empty == "skip" else empty
    return values, skip


def relevance_flags(y, relevance_threshold):
    if isinstance(relevance_threshold, (bool, np.bool_)) or not isinstance(relevance_threshold, numbers.Real):
        raise TypeError(f"relevance_threshold must be a real number; got {fmt(relevance_threshold)}")
    if not relevance_threshold > 0:
        raise ValueError(f"relevance_threshold must be > 0; got {fmt(relevance_threshold)}")
    return (y >= relevance_threshold).astype(np.int8)


# ----------------------------------------------------------------------------------------------------------------
# the one driver: rank each query once, gather its values in rank order, call the per-query kernels it was asked for

_NDCG, _RR, _AP, _P, _AUC, _DCG, _RECALL, _SUCCESS, _RPREC, _BPREF, _ERR = range(11)
_CODES = {"ndcg": _NDCG, "mrr": _RR, "map": _AP, "p": _P, "precision": _P, "auc": _AUC, "dcg": _DCG,
          "recall": _RECALL, "success": _SUCCESS, "rprec": _RPREC, "bpref": _BPREF, "err": _ERR}
# options, one int64 array: reverse ties (trec), tie averaging, min(R, k) AP denominator, row weights given,
# full ranking needed (else the top ``k_top`` by selection), k_top, gains needed for the first ``k_gain`` ranks,
# rows already in rank order inside each query (no sort)
_REVERSE, _TIE_AVG, _AP_MIN_DEN, _WEIGHTED, _FULL, _K_TOP, _K_GAIN, _RANKED = range(8)
_N_BLOCKS = 64  # parallel work units: blocks of queries with about equal rows, each with its own work buffers


def _block_metrics(bk, blocks, gains, rel, w, scores, boundaries, spec, opts, disc, out, n_rel, no_gain, ext):
    """Every metric of ``spec`` (rows ``(code, k)``) for the queries of block ``bk``, into ``out[j, q]``; the
    relevant documents of each query into ``n_rel`` and, with an NDCG asked, whether its ideal DCG is 0 into
    ``no_gain``.

    ``ext`` holds what the rows alone cannot tell (the judgments of documents the ranking did not retrieve), each
    array empty when not given: ``(ideal_gains, ideal_bounds, n_rel_ext, n_nonrel_ext, judged, p_stop)``: the gains
    of all judged documents of query ``q`` are ``ideal_gains[ideal_bounds[q]:ideal_bounds[q + 1]]`` (the ideal DCG
    is taken from them instead of the rows); ``n_rel_ext[q]`` / ``n_nonrel_ext[q]`` its relevant / judged
    non-relevant documents; ``judged`` per row (bpref; all judged when empty); ``p_stop`` per row (ERR)."""
    ideal_gains, ideal_bounds, n_rel_ext, n_nonrel_ext, judged, p_stop = ext
    ext_ideal = ideal_bounds.shape[0] > 0
    q0, q1 = blocks[bk], blocks[bk + 1]
    longest = 0
    longest_ideal = 0
    for q in range(q0, q1):
        longest = max(longest, boundaries[q + 1] - boundaries[q])
        if ext_ideal:
            longest_ideal = max(longest_ideal, ideal_bounds[q + 1] - ideal_bounds[q])
    idx = np.empty(longest, dtype=np.int64)
    tmp = np.empty(longest, dtype=np.int64)
    tmp2 = np.empty(longest, dtype=np.int64)
    r_rel = np.empty(longest, dtype=np.int8)
    r_gain = np.empty(longest)
    r_score = np.empty(longest)
    r_w = np.empty(longest if opts[_WEIGHTED] else 0)
    top = np.empty(max(longest, longest_ideal))
    reverse, tie_avg, weighted = opts[_REVERSE] != 0, opts[_TIE_AVG] != 0, opts[_WEIGHTED] != 0
    need_scores = tie_avg
    need_judged = False
    need_stop = False
    for j in range(spec.shape[0]):
        need_scores = need_scores or spec[j, 0] == _AUC
        need_judged = need_judged or spec[j, 0] == _BPREF
        need_stop = need_stop or spec[j, 0] == _ERR
    r_judged = np.ones(longest if need_judged else 0, dtype=np.int8)
    r_stop = np.empty(longest if need_stop else 0)
    has_judged = judged.shape[0] > 0
    for q in range(q0, q1):
        a, b = boundaries[q], boundaries[q + 1]
        m = b - a
        key = scores[a:b]
        if opts[_RANKED]:
            nr = m if opts[_FULL] or opts[_K_TOP] >= m else opts[_K_TOP]
            for r in range(nr):
                idx[r] = r
        elif opts[_FULL] or opts[_K_TOP] >= m:
            _dcg.rank_query(key, idx[:m], tmp[:m], tmp2[:m], reverse)
            nr = m
        else:
            nr = _dcg.top_order_into(key, idx, opts[_K_TOP], reverse)
        c = 0
        for i in range(a, b):
            c += rel[i]
        if n_rel_ext.shape[0] > 0:
            c = n_rel_ext[q]
        n_rel[q] = c
        for r in range(nr):  # one gather pass (the tests on flags are loop-invariant: the compiler unswitches them)
            i = idx[r]
            r_rel[r] = rel[a + i]
            if need_scores:
                r_score[r] = key[i]
            if weighted:
                r_w[r] = w[a + i]
            if need_judged and has_judged:
                r_judged[r] = judged[a + i]
            if need_stop:
                r_stop[r] = p_stop[a + i]
        for r in range(min(nr, opts[_K_GAIN])):
            r_gain[r] = gains[a + idx[r]]
        for j in range(spec.shape[0]):
            code, k = spec[j, 0], spec[j, 1]
            if code == _NDCG:
                if ext_ideal:
                    ideal = _dcg.ideal_dcg_query(ideal_gains, ideal_bounds[q], ideal_bounds[q + 1], k, top, disc)
                else:
                    ideal = _dcg.ideal_dcg_query(gains, a, b, k, top, disc)
                no_gain[q] = not ideal > 0.0
                out[j, q] = ndcg_query(r_gain, r_score, m, k, ideal, tie_avg, disc)
            elif code == _DCG:
                out[j, q] = _dcg.dcg_query(r_gain, r_score, m, m if k <= 0 or k > m else k, tie_avg, disc)
            elif code == _RECALL:
                out[j, q] = recall_query(r_rel, r_score, m, k, c, tie_avg)
            elif code == _SUCCESS:
                out[j, q] = success_query(r_rel, m, k)
            elif code == _RPREC:
                out[j, q] = rprec_query(r_rel, r_score, m, c, tie_avg)
            elif code == _BPREF:
                if n_nonrel_ext.shape[0] > 0:
                    nn = n_nonrel_ext[q]
                else:
                    nn = 0
                    for r in range(m):
                        nn += r_judged[r] * (1 - r_rel[r])
                out[j, q] = bpref_query(r_rel, r_judged, m, c, nn)
            elif code == _ERR:
                out[j, q] = err_query(r_stop, m, k)
            elif code == _RR:
                out[j, q] = rr_query(r_rel, r_score, m, k, tie_avg)
            elif code == _AP:
                out[j, q] = ap_query(r_rel, r_score, m, k, c, opts[_AP_MIN_DEN] != 0, tie_avg)
            elif code == _P:
                out[j, q] = precision_query(r_rel, r_score, m, k, tie_avg)
            else:
                out[j, q] = auc_query(r_rel, r_w, r_score, m, weighted)


def _blocks_loop(blocks, gains, rel, w, scores, boundaries, spec, opts, disc, out, n_rel, no_gain, ext):
    for bk in prange(blocks.shape[0] - 1):
        _block_metrics(bk, blocks, gains, rel, w, scores, boundaries, spec, opts, disc, out, n_rel, no_gain, ext)


# parallel over query blocks, or the block function once over all queries for small inputs (``_core.jit.specialise``)
_METRIC_KERNEL = specialise(_block_metrics, _blocks_loop, "metrics", 0, flags=dict(cache=True, nogil=True))


def _row_blocks(boundaries, n_blocks=_N_BLOCKS):
    """Cut the queries into at most ``n_blocks`` contiguous blocks of about equal rows."""
    nq = len(boundaries) - 1
    targets = boundaries[-1] * np.arange(1, n_blocks) / n_blocks
    cuts = np.searchsorted(boundaries, targets, side="left")
    return np.unique(np.concatenate(([0], np.clip(cuts, 0, nq), [nq]))).astype(np.int64)


def run(r, items, *, gains=None, rel=None, ties="stable", ap_min_den=False, ideal_gains=None, ideal_bounds=None,
         n_rel=None, n_nonrel=None, judged=None, p_stop=None, ranked=False):
    """Per-query values of the metrics ``items`` (a list of ``(base, k)``, ``k <= 0`` the whole query) on the
    prepared ranking ``r``: one compiled pass, each query ranked once. Returns ``(values, no_rel, no_gain)``:
    ``values[j]`` the per-query values of ``items[j]``; whether each query has no relevant document; whether its
    ideal DCG is 0 (with gains non-negative, the same for every ``k``; all False without an NDCG).

    The optional arrays carry the judgments the rows do not (see :func:`_block_metrics`): ``ideal_gains`` grouped
    by ``ideal_bounds`` (one range per query of ``r``), per-query ``n_rel`` and ``n_nonrel``, per-row ``judged``
    (bpref) and ``p_stop`` (ERR). ``ranked``: the rows of each query are already in rank order (ties resolved
    by the caller; ``ties`` must not be "average"), so they are not sorted again."""
    assert not (ranked and ties == "average"), "ranked rows cannot average ties; this is a bug in gbm_objectives"
    spec = np.array([(_CODES[base], k) for base, k in items], dtype=np.int64).reshape(-1, 2)
    codes = spec[:, 0]
    tie_avg = ties == "average"
    whole = (codes == _AP) | (codes == _AUC) | (codes == _RPREC) | (codes == _BPREF)
    needs_all = whole | ((spec[:, 1] <= 0) & (codes != _P))
    full = tie_avg or bool(needs_all.any())
    gk = spec[(codes == _NDCG) | (codes == _DCG), 1]
    k_gain = 0 if len(gk) == 0 else (np.iinfo(np.int64).max if tie_avg or (gk <= 0).any() else gk.max())
    opts = np.array([ties == "trec", tie_avg, ap_min_den, r.w is not None, full,
                     0 if full else spec[:, 1].max(), k_gain, ranked], dtype=np.int64)
    boundaries = r.boundaries
    n = boundaries[-1]
    nq = len(boundaries) - 1
    longest = r.longest
    empty_f, empty_i = np.zeros(0), np.zeros(0, dtype=np.int64)
    if ideal_bounds is not None:
        longest = max(longest, int(np.diff(ideal_bounds).max(initial=0)))
    ext = (
        empty_f if ideal_gains is None else np.ascontiguousarray(ideal_gains, dtype=np.float64),
        empty_i if ideal_bounds is None else np.ascontiguousarray(ideal_bounds, dtype=np.int64),
        empty_i if n_rel is None else np.ascontiguousarray(n_rel, dtype=np.int64),
        empty_i if n_nonrel is None else np.ascontiguousarray(n_nonrel, dtype=np.int64),
        np.zeros(0, dtype=np.int8) if judged is None else np.ascontiguousarray(judged, dtype=np.int8),
        empty_f if p_stop is None else np.ascontiguousarray(p_stop, dtype=np.float64),
    )
    disc = _dcg.discount_table(max(longest, 1))
    out = np.zeros((len(spec), nq))
    n_rel_out = np.zeros(nq, dtype=np.int64)
    no_gain = np.zeros(nq, dtype=np.bool_)
    gains = np.zeros(0) if gains is None else gains
    rel = np.zeros(n, dtype=np.int8) if rel is None else rel
    w = np.zeros(0) if r.w is None else r.w
    # float64 scores: one compiled signature (widening float32 is exact and keeps every order and tie, and the
    # kernels copy the scores into float64 buffers anyway)
    scores = np.ascontiguousarray(r.s, dtype=np.float64)
    _METRIC_KERNEL(n >= PARALLEL_MIN["metrics"], _row_blocks(boundaries), gains, rel, w, scores, boundaries, spec,
                   opts, disc, out, n_rel_out, no_gain, ext)
    return out, n_rel_out == 0, no_gain


def auc_finish(values, qw, reduce):
    """Per-query AUCs: one-class queries (``nan``) are left out of the mean; ValueError if no query is left."""
    one_class = np.isnan(values)
    if one_class.all():
        raise ValueError("AUC is undefined: no query has both a positive and a negative row")
    return finish(values, one_class, qw, reduce)


def check_ap_ties(ties, k):
    if ties == "average" and k > 0:
        raise ValueError(
            f"map_score with ties='average' is scikit-learn's average_precision_score, defined on the whole query; "
            f"got k={k} (use k=None or ties='stable'/'trec')"
        )


def stop_probabilities(y, max_grade):
    """ERR's ``R_i = (2^g_i - 1) / 2^g_max`` per row."""
    g_max = float(y.max()) if max_grade is None else max_grade
    if isinstance(g_max, (bool, np.bool_)) or not isinstance(g_max, numbers.Real) or not np.isfinite(g_max):
        raise ValueError(f"max_grade must be a finite number; got {fmt(max_grade)}")
    if y.max() > g_max:
        i = int(np.argmax(y))
        raise ValueError(f"y_true label {fmt(y[i])} at index {i} exceeds max_grade={fmt(max_grade)}")
    if g_max >= MAX_EXP2_LABEL:
        raise ValueError(f"max_grade must be below {MAX_EXP2_LABEL} (2**g overflows); got {fmt(g_max)}")
    return _dcg.err_stop_probabilities(y, g_max)


def no_average_ties(ties, name):
    if ties == "average":
        raise ValueError(f"{name} has no tie-averaged form; got ties='average' (use 'stable' or 'trec')")


def auc_positive(y, relevance_threshold):
    if relevance_threshold is None:
        bad = (y != 0) & (y != 1)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"y_true must contain only 0 and 1 for AUC (or pass relevance_threshold to binarize graded labels); "
                f"got {fmt(y[i])} at index {i}"
            )
        return (y == 1).astype(np.int8)
    return relevance_flags(y, relevance_threshold)
