"""Ranking and classification evaluators with explicit, switchable conventions.

Libraries disagree on the definition of NDCG, MRR and MAP, so the same run scores differently in LightGBM's log,
scikit-learn, trec_eval and ranx. Every ranking metric here takes a ``convention`` that names a preset over three
knobs, each also settable on its own:

============  ==========  ==========================================  ==========================
convention    ``gain``    ``ties`` (equal scores)                     ``empty`` (no relevant doc)
============  ==========  ==========================================  ==========================
"lightgbm"    2^rel - 1   "stable": input order                       1
"trec"        rel         "trec": reverse input order (see below)     0
"sklearn"     rel         "average": averaged over the tied ranks     0
============  ==========  ==========================================  ==========================

* ``"lightgbm"`` (the default) reproduces the ``ndcg@k`` in LightGBM's and XGBoost's evaluation logs (and
  LightGBM's ``map@k``; XGBoost's ``ndcg`` without a cut-off equals our ``k=32`` with ``rank:ndcg``, as measured
  with XGBoost 3.2);
* ``"trec"`` reproduces trec_eval (pytrec_eval) ``ndcg_cut_k``, ``recip_rank``, ``map_cut_k`` and ``P_k``, and
  ranx's ``ndcg@k``, ``mrr``, ``map`` on runs without tied scores (ranx orders ties with an unstable quicksort).
  trec_eval ranks by score descending and breaks ties by *docno descending* (string comparison). When calling
  trec_eval on arrays, name the documents by their zero-padded row index (``f"d{i:09d}"``, ``i`` the row in the
  arrays passed here); then docno-descending is reverse row order, which is what ``ties="trec"`` does;
* ``"sklearn"`` reproduces :func:`sklearn.metrics.ndcg_score` (``ignore_ties=False``): a block of tied scores
  contributes its mean gain at each of its ranks, which is the expected value over all orders of the tie; for
  :func:`map_score` it is :func:`sklearn.metrics.average_precision_score` of each query.
* ``empty`` is the value of a query without any relevant document (ideal DCG 0 for NDCG, no label ``>=
  relevance_threshold`` for MRR, MAP and precision), or ``"skip"`` to leave such queries out of the mean (their
  per-query value is then ``nan``).

Queries are given by exactly one of ``group`` (sizes of contiguous queries, LightGBM) or ``qid`` (one id per row,
XGBoost; the rows of a query need not be contiguous). Both go through :mod:`gbm_objectives.segments`, and the DCG
code is the one in :mod:`gbm_objectives._dcg` that the LambdaRank objective uses (one ideal-DCG routine,
``_dcg.ideal_dcg_query``), so the ΔNDCG used in training and the NDCG reported here cannot drift apart. Each
formula is written once, as a compiled function of one query's values in ranked order (ranx's layout); one driver
ranks each query once and calls the functions asked for, for a single metric as for :func:`evaluate`.
``reduce=None`` returns the per-query values (in ``group`` order, or in increasing ``qid`` order); the default
``"mean"`` returns their mean, weighted by the query weights when ``sample_weight`` is given (LightGBM's query
weight: the mean of the query's row weights).

>>> import numpy as np
>>> import gbm_objectives as go
>>> y = np.array([0, 2, 1, 0, 0])
>>> s = np.array([0.3, 0.1, 0.2, 0.5, 0.5])
>>> # query 1 ranks gains (0, 1, 3): (1/log2(3) + 3/2) / (3 + 1/log2(3)); query 2 has no relevant doc: 1
>>> go.ndcg_score(y, s, group=[3, 2], reduce=None)
array([0.58688267, 1.        ])
>>> go.ndcg_score(y, s, group=[3, 2], convention="trec", reduce=None)   # gains = labels; empty query: 0
array([0.61990623, 0.        ])
>>> float(go.mrr_score(y, s, group=[3, 2], empty="skip"))   # 1st relevant doc at rank 2
0.5
"""

from __future__ import annotations

import numbers

import numpy as np
from numba import njit, prange

from . import _dcg
from ._kernels import _copy_function
from ._validation import as_numpy, check_1d, check_consistent_length, check_positive_int, check_sample_weight, fmt
from .segments import boundaries_from_qid, qid_order, resolve_boundaries

__all__ = [
    "CONVENTIONS",
    "METRICS",
    "ndcg_score",
    "mrr_score",
    "map_score",
    "precision_score_at_k",
    "auc_score",
    "recall_score_at_k",
    "success_score_at_k",
    "r_precision_score",
    "bpref_score",
    "dcg_score",
    "err_score",
    "TREC_NAMES",
    "evaluate",
    "parse_metric",
    "get_metric",
]

#: Named presets over the knobs ``gain``, ``ties`` and ``empty``.
CONVENTIONS = {
    "lightgbm": {"gain": "exp2", "ties": "stable", "empty": 1.0},
    "trec": {"gain": "linear", "ties": "trec", "empty": 0.0},
    "sklearn": {"gain": "linear", "ties": "average", "empty": 0.0},
}
_TIES = ("stable", "trec", "average")
_GAINS = ("exp2", "linear")
_REDUCE = ("mean", None)


# ----------------------------------------------------------------------------------------------------------------
# argument handling


def _resolve_knobs(convention, gain=None, ties=None, empty=None):
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {sorted(CONVENTIONS)}; got {fmt(convention)}")
    preset = CONVENTIONS[convention]
    gain = preset["gain"] if gain is None else gain
    ties = preset["ties"] if ties is None else ties
    empty = preset["empty"] if empty is None else empty
    if isinstance(gain, str):
        if gain not in _GAINS:
            raise ValueError(f"gain must be one of {list(_GAINS)} or an array of per-label gains; got {gain!r}")
    else:
        gain = check_1d(gain, "gain")
        if (gain < 0).any():
            i = int(np.flatnonzero(gain < 0)[0])
            raise ValueError(f"gain (a per-label gain table) must be non-negative; got {fmt(gain[i])} at index {i}")
    if ties not in _TIES:
        raise ValueError(f"ties must be one of {list(_TIES)}; got {fmt(ties)}")
    if isinstance(empty, str):
        if empty != "skip":
            raise ValueError(f"empty must be a number or 'skip'; got {empty!r}")
    elif isinstance(empty, (bool, np.bool_)) or not isinstance(empty, numbers.Real) or not np.isfinite(empty):
        raise ValueError(f"empty must be a finite number or 'skip'; got {fmt(empty)}")
    else:
        empty = float(empty)
    return gain, ties, empty


def _check_k(k, allow_none=True):
    if k is None and allow_none:
        return 0  # kernels read k <= 0 as "the whole query"
    return check_positive_int(k, "k")


def _check_reduce(reduce):
    if reduce not in _REDUCE:
        raise ValueError(f"reduce must be 'mean' or None; got {fmt(reduce)}")
    return reduce


class _Ranking:
    """Validated arrays of a ranking evaluation, rows grouped by query (contiguous)."""

    __slots__ = ("y", "s", "w", "boundaries", "qw", "longest", "perm")

    def __init__(self, y, s, w, boundaries, qw, perm=None):
        self.y, self.s, self.w, self.boundaries, self.qw = y, s, w, boundaries, qw
        self.perm = perm  # the row permutation that made the queries contiguous (None: rows as given)
        self.longest = int(np.diff(boundaries).max())  # rows of the largest query


def _qid_codes(qid):
    """Per-row query ids as numbers: numeric ids as they are, strings (or other sortable objects) factorised into
    their rank in sorted order, so that ``reduce=None`` still lists queries in increasing ``qid`` order."""
    q = qid.to_numpy() if hasattr(qid, "to_numpy") else np.asarray(qid)
    if q.dtype.kind in "biuf":
        return as_numpy(q, "qid")
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


def _prepare(y_true, y_score, group, qid, sample_weight, *, required=True):
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
        q = _qid_codes(qid)
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
    return _Ranking(y, s, w, boundaries, qw, perm)


_EXP2_TABLE = _dcg.default_label_gain()
#: ``2**y - 1`` is finite (float64) for every label below this; larger labels are refused with ``gain="exp2"``.
MAX_EXP2_LABEL = 1024


def _gains(y, gain, boundaries):
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
            g, g_max = _exp2_gains(y, _EXP2_TABLE), 2.0**y_max - 1.0
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
def _exp2_gains(y, table):
    """``2**y - 1``; integer labels read LightGBM's ``label_gain`` table (the same values, exactly)."""
    out = np.empty(y.shape[0])
    for i in prange(y.shape[0]):
        v = y[i]
        if v == np.floor(v) and v < table.shape[0]:
            out[i] = table[int(v)]
        else:
            out[i] = 2.0**v - 1.0
    return out


def _finish(values, skip, qw, reduce):
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


def _apply_empty(values, is_empty, empty):
    """The ``empty`` convention: the value of a query without relevant documents, or ``nan`` and skipped."""
    skip = is_empty if empty == "skip" else np.zeros(len(values), dtype=bool)
    if is_empty.any():
        values = values.copy()
        values[is_empty] = np.nan if empty == "skip" else empty
    return values, skip


def _relevant(y, relevance_threshold):
    if isinstance(relevance_threshold, (bool, np.bool_)) or not isinstance(relevance_threshold, numbers.Real):
        raise TypeError(f"relevance_threshold must be a real number; got {fmt(relevance_threshold)}")
    if not relevance_threshold > 0:
        raise ValueError(f"relevance_threshold must be > 0; got {fmt(relevance_threshold)}")
    return (y >= relevance_threshold).astype(np.int8)


# ----------------------------------------------------------------------------------------------------------------
# per-query metric kernels: each formula written once, on one query's values in ranked order (ranx's layout).
# ``rel``/``gains``/``scores``/``weights`` below are the query's documents in rank order; ``m`` is the number of
# documents of the query and ``k <= 0`` means all of them. The non-tie-averaged formulas read only the first
# ``min(k, m)`` ranked entries, which is what lets a top-k selection stand in for a full sort.


@njit(inline="always", cache=True)
def _tie_block_end(scores, r, m):
    """End (exclusive) of the block of tied scores that starts at rank ``r``."""
    v = scores[r]
    e = r + 1
    while e < m and scores[e] == v:
        e += 1
    return e


@njit(inline="always", cache=True)
def _ndcg_query(gains, scores, m, k, ideal, tie_avg, disc):
    """NDCG@k = DCG@k / IDCG@k (0 when IDCG@k = 0: the caller applies ``empty``); DCG from
    :func:`gbm_objectives._dcg.dcg_query`, ``ideal`` from :func:`gbm_objectives._dcg.ideal_dcg_query`."""
    if not ideal > 0.0:
        return 0.0
    mk = m if k <= 0 or k > m else k
    return _dcg.dcg_query(gains, scores, m, mk, tie_avg, disc) * (1.0 / ideal)  # LightGBM: times the inverse


@njit(inline="always", cache=True)
def _rr_query(rel, scores, m, k, tie_avg):
    """Reciprocal rank of the first relevant document within the top ``k`` (0 if none).

    ``tie_avg``: if the first tied block holding relevant documents starts at rank ``p``, has ``size`` documents and
    ``c`` of them relevant, ``E[RR] = sum_j C(size-1-j, c-1) / C(size, c) / (p + j + 1)`` over ``p + j < k``.
    """
    mk = m if k <= 0 or k > m else k
    if not tie_avg:
        for r in range(mk):
            if rel[r]:
                return 1.0 / (r + 1.0)
        return 0.0
    r = 0
    while r < mk:
        e = _tie_block_end(scores, r, m)
        c = 0.0
        for j in range(r, e):
            c += rel[j]
        if c > 0:
            size = e - r
            p = c / size
            acc = 0.0
            for j in range(size - int(c) + 1):
                if r + j >= mk:
                    break
                acc += p / (r + j + 1.0)
                p *= (size - j - c) / (size - 1.0 - j) if size - 1 - j > 0 else 0.0
            return acc
        r = e
    return 0.0


@njit(inline="always", cache=True)
def _ap_query(rel, scores, m, k, n_rel, min_denominator, tie_avg):
    """AP@k = (sum of precision@r over the relevant ranks r <= k) / D, D = R or min(R, k) (``min_denominator``).

    ``tie_avg``: scikit-learn's ``average_precision_score``, one step per distinct score, whole query.
    0 when the query has no relevant document (the caller applies ``empty``).
    """
    if n_rel == 0:
        return 0.0
    mk = m if k <= 0 or k > m else k
    s = 0.0
    hits = 0
    if not tie_avg:
        for r in range(mk):  # branch-free: adds exactly 0.0 for a non-relevant rank
            x = rel[r]
            hits += x
            s += x * (hits / (r + 1.0))
    else:
        r = 0
        while r < m:
            e = _tie_block_end(scores, r, m)
            nb = 0
            for j in range(r, e):
                nb += rel[j]
            hits += nb
            s += nb * (hits / e)
            r = e
    den = n_rel
    if min_denominator and mk < n_rel:
        den = mk
    return s / den


@njit(inline="always", cache=True)
def _precision_query(rel, scores, m, k, tie_avg):
    """Relevant documents in the top ``k`` over ``k`` (always over ``k``, trec_eval ``P_k``); ``tie_avg`` counts a
    tied block straddling rank ``k`` by the fraction of it inside."""
    mk = m if k > m else k
    c = 0.0
    if not tie_avg:
        for r in range(mk):
            c += rel[r]
    else:
        r = 0
        while r < mk:
            e = _tie_block_end(scores, r, m)
            nb = 0.0
            for j in range(r, e):
                nb += rel[j]
            c += nb * (min(e, mk) - r) / (e - r)
            r = e
    return c / k


@njit(inline="always", cache=True)
def _recall_query(rel, scores, m, k, n_rel, tie_avg):
    """Recall@k: relevant documents in the top ``k`` over ``R`` (all the query's relevant documents, retrieved or
    not: trec_eval's ``num_rel``); 0 when ``R = 0`` (the caller applies ``empty``). It is ``P@k * k / R``, so it
    reads the precision kernel (``k <= 0``: the whole query)."""
    if n_rel == 0:
        return 0.0
    kk = m if k <= 0 else k
    return _precision_query(rel, scores, m, kk, tie_avg) * kk / n_rel


@njit(inline="always", cache=True)
def _success_query(rel, m, k):
    """Success@k (hit rate): 1 if a relevant document is in the top ``k``, else 0 (``k <= 0``: the whole query)."""
    mk = m if k <= 0 or k > m else k
    for r in range(mk):
        if rel[r]:
            return 1.0
    return 0.0


@njit(inline="always", cache=True)
def _rprec_query(rel, scores, m, n_rel, tie_avg):
    """R-precision: precision at rank ``R`` (``R`` the query's relevant documents, retrieved or not), 0 if ``R = 0``
    (trec_eval ``Rprec``: relevant in the top ``R`` over ``R``, also when fewer than ``R`` are retrieved)."""
    if n_rel == 0:
        return 0.0
    return _precision_query(rel, scores, m, n_rel, tie_avg)


@njit(inline="always", cache=True)
def _bpref_query(rel, judged, m, n_rel, n_nonrel):
    """bpref (Buckley & Voorhees 2004, trec_eval's formula): unjudged documents are skipped; each retrieved relevant
    document adds ``1 - min(N_above, R) / min(N, R)`` (1 if ``N_above = 0``), ``N_above`` the judged non-relevant
    documents ranked above it, ``N`` the query's judged non-relevant documents; the sum is divided by ``R``.
    0 when ``R = 0``."""
    if n_rel == 0:
        return 0.0
    den = min(n_nonrel, n_rel)
    above = 0
    s = 0.0
    for r in range(m):
        if not judged[r]:
            continue
        if rel[r]:
            if above > 0:
                s += 1.0 - min(above, n_rel) / den
            else:
                s += 1.0
        else:
            above += 1
    return s / n_rel


@njit(inline="always", cache=True)
def _err_query(p_stop, m, k):
    """ERR@k (Chapelle et al. 2009): ``sum_{r=1}^{k} (1/r) R_r prod_{i<r} (1 - R_i)`` with the stopping
    probabilities ``R_i = (2^g_i - 1) / 2^g_max`` given in rank order (``k <= 0``: the whole query)."""
    mk = m if k <= 0 or k > m else k
    s = 0.0
    keep = 1.0
    for r in range(mk):
        s += keep * p_stop[r] / (r + 1.0)
        keep *= 1.0 - p_stop[r]
    return s


@njit(inline="always", cache=True)
def _auc_query(pos, weights, scores, m, weighted):
    """Weighted Mann-Whitney AUC: P(score of a positive > score of a negative), ties counting 1/2; ``nan`` with
    one class. One pass in ranked order; a block of tied scores is flushed when the score changes."""
    w_pos = 0.0
    w_neg = 0.0
    num = 0.0
    bp = 0.0
    bn = 0.0
    prev = scores[0] if m > 0 else 0.0
    for r in range(m):
        v = scores[r]
        if v != prev:
            num += bp * (w_neg + 0.5 * bn)
            w_pos += bp
            w_neg += bn
            bp = 0.0
            bn = 0.0
            prev = v
        wi = weights[r] if weighted else 1.0
        x = pos[r]  # branch-free: adds exactly 0.0 to the other class
        bp += x * wi
        bn += (1.0 - x) * wi
    num += bp * (w_neg + 0.5 * bn)
    w_pos += bp
    w_neg += bn
    if w_pos > 0.0 and w_neg > 0.0:
        return 1.0 - num / (w_pos * w_neg)
    return np.nan


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
_PARALLEL_MIN_ROWS = 20_000  # below this, the serial copy (waking the thread pool costs more than it saves)


@njit(cache=True, nogil=True)
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
            _dcg._rank_query(key, idx[:m], tmp[:m], tmp2[:m], reverse)
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
                out[j, q] = _ndcg_query(r_gain, r_score, m, k, ideal, tie_avg, disc)
            elif code == _DCG:
                out[j, q] = _dcg.dcg_query(r_gain, r_score, m, m if k <= 0 or k > m else k, tie_avg, disc)
            elif code == _RECALL:
                out[j, q] = _recall_query(r_rel, r_score, m, k, c, tie_avg)
            elif code == _SUCCESS:
                out[j, q] = _success_query(r_rel, m, k)
            elif code == _RPREC:
                out[j, q] = _rprec_query(r_rel, r_score, m, c, tie_avg)
            elif code == _BPREF:
                if n_nonrel_ext.shape[0] > 0:
                    nn = n_nonrel_ext[q]
                else:
                    nn = 0
                    for r in range(m):
                        nn += r_judged[r] * (1 - r_rel[r])
                out[j, q] = _bpref_query(r_rel, r_judged, m, c, nn)
            elif code == _ERR:
                out[j, q] = _err_query(r_stop, m, k)
            elif code == _RR:
                out[j, q] = _rr_query(r_rel, r_score, m, k, tie_avg)
            elif code == _AP:
                out[j, q] = _ap_query(r_rel, r_score, m, k, c, opts[_AP_MIN_DEN] != 0, tie_avg)
            elif code == _P:
                out[j, q] = _precision_query(r_rel, r_score, m, k, tie_avg)
            else:
                out[j, q] = _auc_query(r_rel, r_w, r_score, m, weighted)


def _blocks_loop(blocks, gains, rel, w, scores, boundaries, spec, opts, disc, out, n_rel, no_gain, ext):
    for bk in prange(blocks.shape[0] - 1):
        _block_metrics(bk, blocks, gains, rel, w, scores, boundaries, spec, opts, disc, out, n_rel, no_gain, ext)


# one source compiled twice (as the objectives' kernels): parallel over query blocks, and serial for small inputs
_metrics_parallel = njit(cache=True, nogil=True, parallel=True)(_copy_function(_blocks_loop, "_parallel"))
_metrics_serial = njit(cache=True, nogil=True)(_copy_function(_blocks_loop, "_serial"))


def _row_blocks(boundaries, n_blocks=_N_BLOCKS):
    """Cut the queries into at most ``n_blocks`` contiguous blocks of about equal rows."""
    nq = len(boundaries) - 1
    targets = boundaries[-1] * np.arange(1, n_blocks) / n_blocks
    cuts = np.searchsorted(boundaries, targets, side="left")
    return np.unique(np.concatenate(([0], np.clip(cuts, 0, nq), [nq]))).astype(np.int64)


def _run(r, items, *, gains=None, rel=None, ties="stable", ap_min_den=False, ideal_gains=None, ideal_bounds=None,
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
    kernel = _metrics_parallel if n >= _PARALLEL_MIN_ROWS else _metrics_serial
    kernel(_row_blocks(boundaries), gains, rel, w, r.s, boundaries, spec, opts, disc, out, n_rel_out, no_gain, ext)
    return out, n_rel_out == 0, no_gain


def _auc_finish(values, qw, reduce):
    """Per-query AUCs: one-class queries (``nan``) are left out of the mean; ValueError if no query is left."""
    one_class = np.isnan(values)
    if one_class.all():
        raise ValueError("AUC is undefined: no query has both a positive and a negative row")
    return _finish(values, one_class, qw, reduce)


def _check_ap_ties(ties, k):
    if ties == "average" and k > 0:
        raise ValueError(
            f"map_score with ties='average' is scikit-learn's average_precision_score, defined on the whole query; "
            f"got k={k} (use k=None or ties='stable'/'trec')"
        )


# ----------------------------------------------------------------------------------------------------------------
# public metrics


def ndcg_score(
    y_true,
    y_score,
    *,
    group=None,
    qid=None,
    k=None,
    convention="lightgbm",
    gain=None,
    ties=None,
    empty=None,
    sample_weight=None,
    reduce="mean",
    ideal_labels=None,
    ideal_qid=None,
):
    """Normalized discounted cumulative gain at ``k``, per query, then averaged.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Non-negative relevance labels (integers for a gain table).
    y_score : array-like of shape (n_samples,)
        Predicted scores; higher ranks first. NaN is rejected.
    group : array-like of int, shape (n_queries,), optional
        Sizes of contiguous queries. Exactly one of ``group`` and ``qid``.
    qid : array-like of shape (n_samples,), optional
        Query id of each row (numbers, or strings, which are sorted); the rows of a query need not be contiguous.
    k : int, optional
        Cut-off; ``None`` means the whole query. A query shorter than ``k`` is scored on all its rows (the ideal DCG
        is truncated the same way).
    convention : {"lightgbm", "trec", "sklearn"}, default "lightgbm"
        Preset for ``gain``, ``ties`` and ``empty`` (module docstring).
    gain : {"exp2", "linear"} or array-like, optional
        ``"exp2"``: ``2**rel - 1``; ``"linear"``: ``rel``; an array: ``gain[rel]`` (LightGBM's ``label_gain``).
    ties : {"stable", "trec", "average"}, optional
        Order of equal scores: input order, reverse input order (trec_eval with row-index docnos) or averaged.
    empty : float or "skip", optional
        NDCG of a query whose ideal DCG is 0 (no document with positive gain), or ``"skip"`` to drop it.
    sample_weight : array-like of shape (n_samples,), optional
        Row weights; a query's weight is the mean of its rows' weights (LightGBM).
    reduce : {"mean", None}, default "mean"
        ``None`` returns the per-query values (``nan`` for skipped queries).
    ideal_labels, ideal_qid : array-like of shape (n_judged,), optional
        All judged labels of the queries and their query ids (the qrels side, trec_eval's semantics): the ideal DCG
        is then taken from them, so relevant documents the ranking did not retrieve count. ``ideal_qid`` holds
        the ids of ``qid`` (with ``group=``: 0-based query positions); judged rows of queries not ranked are
        ignored, and a ranked query without judged rows has ideal DCG 0 (``empty``).

    Returns
    -------
    float or ndarray of shape (n_queries,)

    Raises
    ------
    ValueError
        Empty input, length mismatch, group sizes not summing to ``n_samples``, ``k <= 0``, NaN scores, negative
        labels, a label whose gain overflows float64 (``gain="exp2"``: labels must be below 1024), an unknown
        convention/knob.

    Notes
    -----
    For a query with documents ranked by descending score (ties per ``ties``)::

        DCG@k  = sum_{r=0}^{min(k, n)-1} gain(rel_(r)) / log2(r + 2)
        IDCG@k = the same with documents sorted by descending gain
        NDCG@k = DCG@k / IDCG@k            (``empty`` when IDCG@k = 0)

    With ``ties="average"`` a block of tied scores at ranks ``p..p+m-1`` contributes
    ``mean(gain over the block) * sum_{r=p}^{p+m-1, r<k} 1 / log2(r + 2)``.

    References
    ----------
    K. Järvelin and J. Kekäläinen, "Cumulated gain-based evaluation of IR techniques", ACM TOIS 20(4), 2002.

    Examples
    --------
    >>> import gbm_objectives as go
    >>> # ranked labels (0, 2, 1): (0 + 2/log2(3)) / (3 + 2/log2(3))
    >>> round(go.ndcg_score([3, 2, 0], [0.1, 0.2, 0.3], group=[3], k=2, convention="trec"), 12)
    0.296081910966
    """
    gain, ties, empty = _resolve_knobs(convention, gain, ties, empty)
    k = _check_k(k)
    reduce = _check_reduce(reduce)
    qid, ideal_qid = _joint_qid(qid, group, ideal_labels, ideal_qid)
    r = _prepare(y_true, y_score, group, qid, sample_weight)
    ideal = {} if ideal_labels is None else _ideal_judgments(r, qid, ideal_labels, ideal_qid, gain)
    values, _, no_gain = _run(r, [("ndcg", k)], gains=_gains(r.y, gain, r.boundaries), ties=ties, **ideal)
    return _finish(*_apply_empty(values[0], no_gain, empty), r.qw, reduce)


def mrr_score(
    y_true,
    y_score,
    *,
    group=None,
    qid=None,
    k=None,
    relevance_threshold=1,
    convention="lightgbm",
    ties=None,
    empty=None,
    sample_weight=None,
    reduce="mean",
):
    """Mean reciprocal rank of the first relevant document (``y_true >= relevance_threshold``) within the top ``k``.

    Parameters are those of :func:`ndcg_score` (``gain`` does not apply). ``ties="average"`` gives the expected
    reciprocal rank over all orders of tied documents.

    Notes
    -----
    ``RR@k = 1 / r*`` with ``r*`` the 1-based rank of the first relevant document if ``r* <= k``, else 0; ``empty``
    for a query without any relevant document. ``convention="trec"`` with ``k=None`` is trec_eval's
    ``recip_rank``. With ``ties="average"``, if the first block of tied scores holding relevant documents starts at
    rank ``p`` (0-based), has ``m`` documents and ``c`` of them relevant,
    ``E[RR] = sum_j C(m-1-j, c-1) / C(m, c) / (p + j + 1)`` over the offsets ``j`` with ``p + j < k``.

    Examples
    --------
    >>> import gbm_objectives as go
    >>> go.mrr_score([0, 1, 0, 1], [0.9, 0.5, 0.5, 0.1], group=[4], ties="average")   # rank 2 or 3: (1/2 + 1/3) / 2
    0.41666666666666663
    """
    _, ties, empty = _resolve_knobs(convention, None, ties, empty)
    k = _check_k(k)
    reduce = _check_reduce(reduce)
    r = _prepare(y_true, y_score, group, qid, sample_weight)
    values, no_rel, _ = _run(r, [("mrr", k)], rel=_relevant(r.y, relevance_threshold), ties=ties)
    return _finish(*_apply_empty(values[0], no_rel, empty), r.qw, reduce)


def map_score(
    y_true,
    y_score,
    *,
    group=None,
    qid=None,
    k=None,
    relevance_threshold=1,
    convention="lightgbm",
    ties=None,
    empty=None,
    sample_weight=None,
    reduce="mean",
    n_relevant=None,
):
    """Mean average precision at ``k`` over queries (relevant: ``y_true >= relevance_threshold``).

    Parameters are those of :func:`ndcg_score` (``gain`` does not apply), and

    n_relevant : array-like of int, shape (n_queries,), optional
        The number of relevant documents of each query (in query order: ``group`` order or increasing ``qid``),
        retrieved or not (trec_eval's ``num_rel``); by default the relevant rows of the query.

    Notes
    -----
    ``AP@k = (1 / D) * sum_{r <= k, doc at r relevant} precision@r`` with ``precision@r`` = relevant documents in
    the top ``r`` over ``r``. The denominator depends on the convention:

    * ``"lightgbm"``: ``D = min(R, k)`` with ``R`` the number of relevant documents of the query (LightGBM's
      ``map@k``; LightGBM itself breaks ties with an unstable sort, ours is stable);
    * ``"trec"``: ``D = R`` (trec_eval ``map_cut_k``; ``k=None`` gives trec_eval ``map``);
    * ``"sklearn"`` (``ties="average"``): :func:`sklearn.metrics.average_precision_score` of each query, one step per
      distinct score: ``sum_t (c_t / R) * (relevant above or at t) / (documents above or at t)``, ``c_t`` the number of
      relevant documents scored ``t``; defined on the whole query (``k`` must be ``None``).

    Examples
    --------
    >>> import gbm_objectives as go
    >>> go.map_score([1, 0, 1], [0.9, 0.8, 0.7], group=[3], convention="trec")   # (1/1 + 2/3) / 2
    0.8333333333333333
    """
    _, ties, empty = _resolve_knobs(convention, None, ties, empty)
    k = _check_k(k)
    reduce = _check_reduce(reduce)
    _check_ap_ties(ties, k)
    r = _prepare(y_true, y_score, group, qid, sample_weight)
    rel = _relevant(r.y, relevance_threshold)
    values, no_rel, _ = _run(r, [("map", k)], rel=rel, ties=ties, ap_min_den=convention == "lightgbm",
                             n_rel=_check_n_relevant(n_relevant, r, rel))
    return _finish(*_apply_empty(values[0], no_rel, empty), r.qw, reduce)


def precision_score_at_k(
    y_true,
    y_score,
    *,
    group=None,
    qid=None,
    k=10,
    relevance_threshold=1,
    convention="lightgbm",
    ties=None,
    empty=None,
    sample_weight=None,
    reduce="mean",
):
    """Mean precision at ``k``: relevant documents (``y_true >= relevance_threshold``) among the top ``k``, over ``k``.

    The denominator is always ``k``, also for a query with fewer than ``k`` documents (trec_eval ``P_k``, ranx).
    Other parameters are those of :func:`ndcg_score`; ``ties="average"`` counts a tied block straddling rank ``k``
    by the fraction of it that falls inside.

    Examples
    --------
    >>> import gbm_objectives as go
    >>> go.precision_score_at_k([1, 0, 1, 1], [0.4, 0.3, 0.2, 0.1], group=[4], k=2)
    0.5
    """
    _, ties, empty = _resolve_knobs(convention, None, ties, empty)
    k = _check_k(k, allow_none=False)
    reduce = _check_reduce(reduce)
    r = _prepare(y_true, y_score, group, qid, sample_weight)
    values, no_rel, _ = _run(r, [("p", k)], rel=_relevant(r.y, relevance_threshold), ties=ties)
    return _finish(*_apply_empty(values[0], no_rel, empty), r.qw, reduce)


def _joint_qid(qid, group, ideal_labels, ideal_qid):
    """Query ids of the rows and of the judged labels as codes of one space (so that they can be matched)."""
    if (ideal_labels is None) != (ideal_qid is None):
        raise ValueError("ideal_labels and ideal_qid go together (all judged labels and their query ids); "
                         f"got ideal_labels={'None' if ideal_labels is None else '...'} and "
                         f"ideal_qid={'None' if ideal_qid is None else '...'}")
    if ideal_labels is None or qid is None:
        return qid, ideal_qid
    q = qid.to_numpy() if hasattr(qid, "to_numpy") else np.asarray(qid)
    iq = ideal_qid.to_numpy() if hasattr(ideal_qid, "to_numpy") else np.asarray(ideal_qid)
    if q.ndim != 1 or iq.ndim != 1:
        raise ValueError(f"qid and ideal_qid must be 1-D; got shapes {q.shape} and {iq.shape}")
    try:
        codes = np.unique(np.concatenate((q, iq)), return_inverse=True)[1].reshape(-1)
    except TypeError:
        raise TypeError("qid and ideal_qid must hold ids of one type (numbers or strings); got a mix") from None
    return codes[: len(q)], codes[len(q):]


def _ideal_judgments(r, qid, ideal_labels, ideal_qid, gain):
    """``ideal_gains``/``ideal_bounds`` for :func:`_run`: the judged gains of each query of ``r``, in its order."""
    y = check_1d(ideal_labels, "ideal_labels")
    iq = as_numpy(ideal_qid, "ideal_qid")
    check_consistent_length(len(y), ideal_qid=iq)
    if (y < 0).any():
        i = int(np.flatnonzero(y < 0)[0])
        raise ValueError(f"ideal_labels must be non-negative relevance labels; got {fmt(y[i])} at index {i}")
    nq = len(r.boundaries) - 1
    if qid is None:  # group=: ideal_qid are query positions
        if iq.dtype.kind not in "iu" or (len(iq) and (iq.min() < 0 or iq.max() >= nq)):
            bad = np.flatnonzero((iq < 0) | (iq >= nq) | (iq != np.floor(iq)))
            i = int(bad[0]) if len(bad) else 0
            raise ValueError(f"with group=, ideal_qid holds 0-based query positions (0..{nq - 1}); got "
                             f"{fmt(iq[i]) if len(iq) else 'nothing'} at index {i}")
        qcodes = np.arange(nq)
    else:  # the codes of the ranked queries, in the order _prepare put them (increasing)
        qcodes = np.unique(as_numpy(qid, "qid"))
    keep = np.isin(iq, qcodes)
    iq, y = iq[keep], y[keep]
    order = np.argsort(iq, kind="stable")
    iq, y = iq[order], y[order]
    bounds = np.append(np.searchsorted(iq, qcodes, side="left"), len(iq)).astype(np.int64)
    g = _gains(y, gain, bounds) if len(y) else np.zeros(0)
    return {"ideal_gains": g, "ideal_bounds": bounds}


def _check_n_relevant(n_relevant, r, rel, name="n_relevant"):
    """Per-query counts of relevant documents (``None``: counted in the rows)."""
    if n_relevant is None:
        return None
    c = as_numpy(n_relevant, name)
    nq = len(r.boundaries) - 1
    if c.ndim != 1 or len(c) != nq:
        raise ValueError(f"{name} must have one count per query ({nq} queries); got shape {c.shape}")
    ci = c.astype(np.int64)
    if (ci != c).any() or (ci < 0).any():
        i = int(np.flatnonzero((ci != c) | (ci < 0))[0])
        raise ValueError(f"{name} must be non-negative integers; got {fmt(c[i])} at index {i}")
    if rel is not None and name == "n_relevant":
        seen = np.add.reduceat(rel.astype(np.int64), r.boundaries[:-1])
        if (ci < seen).any():
            i = int(np.flatnonzero(ci < seen)[0])
            raise ValueError(f"{name}[{i}] = {ci[i]} is smaller than the {seen[i]} relevant rows of query {i}")
    return ci


def _stop_probabilities(y, max_grade):
    """ERR's ``R_i = (2^g_i - 1) / 2^g_max`` per row."""
    g_max = float(y.max()) if max_grade is None else max_grade
    if isinstance(g_max, (bool, np.bool_)) or not isinstance(g_max, numbers.Real) or not np.isfinite(g_max):
        raise ValueError(f"max_grade must be a finite number; got {fmt(max_grade)}")
    if y.max() > g_max:
        i = int(np.argmax(y))
        raise ValueError(f"y_true label {fmt(y[i])} at index {i} exceeds max_grade={fmt(max_grade)}")
    if g_max >= MAX_EXP2_LABEL:
        raise ValueError(f"max_grade must be below {MAX_EXP2_LABEL} (2**g overflows); got {fmt(g_max)}")
    return (np.exp2(y) - 1.0) / np.exp2(g_max)


def _no_average_ties(ties, name):
    if ties == "average":
        raise ValueError(f"{name} has no tie-averaged form; got ties='average' (use 'stable' or 'trec')")


def _binary_metric(base, y_true, y_score, group, qid, k, relevance_threshold, convention, ties, empty,
                   sample_weight, reduce, n_relevant=None, judged=None, n_nonrelevant=None):
    """The metrics of relevant/non-relevant labels that need the count of relevant documents (recall, success,
    R-precision, bpref): validation, one kernel pass, ``empty``."""
    _, ties, empty = _resolve_knobs(convention, None, ties, empty)
    if base in ("success", "bpref"):
        _no_average_ties(ties, {"success": "success_score_at_k", "bpref": "bpref_score"}[base])
    k = 0 if base in ("rprec", "bpref") else _check_k(k)
    reduce = _check_reduce(reduce)
    r = _prepare(y_true, y_score, group, qid, sample_weight)
    rel = _relevant(r.y, relevance_threshold)
    extra = {"n_rel": _check_n_relevant(n_relevant, r, rel)}
    if base == "bpref":
        if judged is not None:
            j = check_1d(judged, "judged")
            check_consistent_length(len(r.y), judged=j)
            if r.perm is not None:
                j = j[r.perm]
            extra["judged"] = (j != 0).astype(np.int8)
        extra["n_nonrel"] = _check_n_relevant(n_nonrelevant, r, None, "n_nonrelevant")
    values, no_rel, _ = _run(r, [(base, k)], rel=rel, ties=ties, **extra)
    return _finish(*_apply_empty(values[0], no_rel, empty), r.qw, reduce)


def recall_score_at_k(y_true, y_score, *, group=None, qid=None, k=10, relevance_threshold=1, n_relevant=None,
                      convention="lightgbm", ties=None, empty=None, sample_weight=None, reduce="mean"):
    """Mean recall at ``k``: relevant documents in the top ``k`` over all relevant documents of the query.

    Parameters are those of :func:`map_score`; ``k=None`` means the whole query.

    Notes
    -----
    ``recall@k = |relevant in the top k| / R``, ``R = n_relevant`` (trec_eval ``recall_k``'s ``num_rel``: retrieved
    or not) or, by default, the relevant rows; ``empty`` when ``R = 0``. With ``ties="average"`` a tied block
    straddling rank ``k`` counts by the fraction of it inside (as :func:`precision_score_at_k`).

    Examples
    --------
    >>> import gbm_objectives as go
    >>> go.recall_score_at_k([1, 0, 1], [0.9, 0.8, 0.7], group=[3], k=2)                  # 1 of 2
    0.5
    >>> go.recall_score_at_k([1, 0, 1], [0.9, 0.8, 0.7], group=[3], k=2, n_relevant=[4])  # 4 judged relevant
    0.25
    """
    return _binary_metric("recall", y_true, y_score, group, qid, k, relevance_threshold, convention, ties, empty,
                          sample_weight, reduce, n_relevant)


def success_score_at_k(y_true, y_score, *, group=None, qid=None, k=10, relevance_threshold=1,
                       convention="lightgbm", ties=None, empty=None, sample_weight=None, reduce="mean"):
    """Mean success at ``k`` (hit rate): the share of queries with a relevant document in the top ``k``.

    ``success@k = 1`` if some document ranked ``<= k`` has ``y_true >= relevance_threshold``, else 0 (trec_eval
    ``success_k``); ``empty`` for a query without relevant documents. ``ties="average"`` is refused.

    Examples
    --------
    >>> import gbm_objectives as go
    >>> go.success_score_at_k([0, 0, 1, 1, 0], [0.9, 0.8, 0.7, 0.9, 0.1], group=[3, 2], k=2, reduce=None)
    array([0., 1.])
    """
    return _binary_metric("success", y_true, y_score, group, qid, k, relevance_threshold, convention, ties, empty,
                          sample_weight, reduce)


def r_precision_score(y_true, y_score, *, group=None, qid=None, relevance_threshold=1, n_relevant=None,
                      convention="lightgbm", ties=None, empty=None, sample_weight=None, reduce="mean"):
    """Mean R-precision: precision at rank ``R``, ``R`` the number of relevant documents of the query.

    ``R-prec = |relevant in the top R| / R`` (trec_eval ``Rprec``; ``R = n_relevant``, retrieved or not, or the
    relevant rows); ``empty`` when ``R = 0``.

    Examples
    --------
    >>> import gbm_objectives as go
    >>> go.r_precision_score([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.6], group=[4])          # R = 2: 1 of the top 2
    0.5
    >>> go.r_precision_score([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.6], group=[4], n_relevant=[5])   # 2 of the top 5
    0.4
    """
    return _binary_metric("rprec", y_true, y_score, group, qid, None, relevance_threshold, convention, ties, empty,
                          sample_weight, reduce, n_relevant)


def bpref_score(y_true, y_score, *, group=None, qid=None, judged=None, relevance_threshold=1, n_relevant=None,
                n_nonrelevant=None, convention="lightgbm", ties=None, empty=None, sample_weight=None, reduce="mean"):
    """Mean bpref (binary preference, Buckley & Voorhees 2004), as trec_eval computes it.

    Parameters
    ----------
    judged : array-like of bool, shape (n_samples,), optional
        Whether each row was judged; unjudged rows are skipped (default: all judged).
    n_relevant, n_nonrelevant : array-like of int, shape (n_queries,), optional
        The query's judged relevant (``R``) and judged non-relevant (``N``) documents, retrieved or not; by default
        counted in the (judged) rows.
    Other parameters as :func:`map_score`; ``ties="average"`` is refused.

    Notes
    -----
    ``bpref = (1 / R) * sum_{r relevant, retrieved} (1 - min(n_r, R) / min(N, R))``, ``n_r`` the judged
    non-relevant documents ranked above ``r`` (a term is 1 when ``n_r = 0``); ``empty`` when ``R = 0``.

    References
    ----------
    C. Buckley and E. M. Voorhees, "Retrieval evaluation with incomplete information", SIGIR 2004.

    Examples
    --------
    >>> import gbm_objectives as go
    >>> # ranked: rel, nonrel, unjudged, rel; R = 2, N = 1: (1 + (1 - 1/1)) / 2
    >>> go.bpref_score([1, 0, 0, 1], [0.9, 0.8, 0.7, 0.6], group=[4], judged=[1, 1, 0, 1])
    0.5
    """
    return _binary_metric("bpref", y_true, y_score, group, qid, None, relevance_threshold, convention, ties, empty,
                          sample_weight, reduce, n_relevant, judged, n_nonrelevant)


def dcg_score(y_true, y_score, *, group=None, qid=None, k=None, convention="lightgbm", gain=None, ties=None,
              sample_weight=None, reduce="mean"):
    """Mean (unnormalised) discounted cumulative gain at ``k``.

    ``DCG@k = sum_{r=0}^{min(k, n)-1} gain(rel_(r)) / log2(r + 2)``, gains and ties per ``convention`` (as
    :func:`ndcg_score`, which divides this by the ideal DCG); a query without relevant documents scores 0.

    Examples
    --------
    >>> import gbm_objectives as go
    >>> round(go.dcg_score([3, 2, 0], [0.1, 0.2, 0.3], group=[3], k=2, convention="trec"), 12)   # 0 + 2/log2(3)
    1.261859507143
    """
    gain, ties, _ = _resolve_knobs(convention, gain, ties, None)
    k = _check_k(k)
    reduce = _check_reduce(reduce)
    r = _prepare(y_true, y_score, group, qid, sample_weight)
    values, _, _ = _run(r, [("dcg", k)], gains=_gains(r.y, gain, r.boundaries), ties=ties)
    return _finish(values[0], np.zeros(values.shape[1], dtype=bool), r.qw, reduce)


def err_score(y_true, y_score, *, group=None, qid=None, k=None, max_grade=None, convention="lightgbm", ties=None,
              sample_weight=None, reduce="mean"):
    """Mean expected reciprocal rank at ``k`` (Chapelle et al. 2009).

    Parameters
    ----------
    max_grade : float, optional
        ``g_max``, the top grade of the relevance scale; by default the largest label in ``y_true``.
    Other parameters as :func:`ndcg_score`; ``ties="average"`` is refused.

    Notes
    -----
    A user scanning down the ranking stops at rank ``r`` with probability ``R_r = (2^{g_r} - 1) / 2^{g_max}``::

        ERR@k = sum_{r=1}^{k} (1 / r) * R_r * prod_{i=1}^{r-1} (1 - R_i)

    A query without relevant documents scores 0.

    References
    ----------
    O. Chapelle, D. Metzler, Y. Zhang and P. Grinspan, "Expected reciprocal rank for graded relevance", CIKM 2009.

    Examples
    --------
    >>> import gbm_objectives as go
    >>> # ranked grades (2, 0, 1), g_max = 2: 3/4 + (1/4) * 0 / 2 + (1/4) * 1 * (1/4) / 3
    >>> go.err_score([2, 0, 1], [0.9, 0.8, 0.7], group=[3])
    0.7708333333333334
    """
    _, ties, _ = _resolve_knobs(convention, None, ties, None)
    _no_average_ties(ties, "err_score")
    k = _check_k(k)
    reduce = _check_reduce(reduce)
    r = _prepare(y_true, y_score, group, qid, sample_weight)
    values, _, _ = _run(r, [("err", k)], ties=ties, p_stop=_stop_probabilities(r.y, max_grade))
    return _finish(values[0], np.zeros(values.shape[1], dtype=bool), r.qw, reduce)


def _auc_positive(y, relevance_threshold):
    if relevance_threshold is None:
        bad = (y != 0) & (y != 1)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"y_true must contain only 0 and 1 for AUC (or pass relevance_threshold to binarize graded labels); "
                f"got {fmt(y[i])} at index {i}"
            )
        return (y == 1).astype(np.int8)
    return _relevant(y, relevance_threshold)


def auc_score(
    y_true,
    y_score,
    *,
    group=None,
    qid=None,
    average="global",
    relevance_threshold=None,
    sample_weight=None,
    reduce="mean",
):
    """Area under the ROC curve, over all rows (``average="global"``) or per query then averaged (``"query"``).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels 0/1, or graded labels binarized as ``y_true >= relevance_threshold`` when that is given.
    y_score : array-like of shape (n_samples,)
    group, qid : optional
        Queries, for ``average="query"`` (exactly one of them); ``"global"`` takes neither.
    average : {"global", "query"}, default "global"
    relevance_threshold : float, optional
        Binarize graded labels; ``None`` requires labels in {0, 1}.
    sample_weight : array-like of shape (n_samples,), optional
        Row weights: each positive/negative pair counts ``w_i * w_j``; with ``"query"`` the queries are averaged with
        the mean row weight of each query.
    reduce : {"mean", None}, default "mean"
        With ``average="query"``, ``None`` returns the per-query AUCs.

    Returns
    -------
    float or ndarray of shape (n_queries,)

    Notes
    -----
    ``AUC = sum_{i pos, j neg} w_i w_j ([s_i > s_j] + [s_i = s_j] / 2) / (W_pos * W_neg)``, which equals
    :func:`sklearn.metrics.roc_auc_score`.

    **One class.** The AUC of a query (or data set) with only positives or only negatives is undefined. Per-query
    values are ``nan`` for such queries, and the ``"query"`` mean is taken over the queries that have both classes
    only (they are *excluded*, not averaged in as ``nan`` or as 0.5). ``average="global"`` with one class, or
    ``"query"`` when no query has both classes, raises ``ValueError``.

    Examples
    --------
    >>> import gbm_objectives as go
    >>> go.auc_score([0, 1, 1, 0], [0.1, 0.4, 0.35, 0.8])     # pairs won: 2 of 4
    0.5
    >>> go.auc_score([0, 1, 1, 1], [0.1, 0.4, 0.5, 0.6], group=[2, 2], average="query", reduce=None)
    array([ 1., nan])
    """
    reduce = _check_reduce(reduce)
    if average == "global":
        if group is not None or qid is not None:
            raise ValueError("auc_score(average='global') takes neither group nor qid; use average='query'")
        r = _prepare(y_true, y_score, None, None, sample_weight, required=False)
    elif average == "query":
        r = _prepare(y_true, y_score, group, qid, sample_weight)
    else:
        raise ValueError(f"average must be 'global' or 'query'; got {fmt(average)}")
    pos = _auc_positive(r.y, relevance_threshold)
    values = _run(r, [("auc", 0)], rel=pos)[0][0]
    if average == "global":
        if np.isnan(values[0]):
            raise ValueError(
                f"AUC is undefined when y_true has one class only; got {int(pos.sum())} positives in {len(pos)} rows"
            )
        return float(values[0])
    return _auc_finish(values, r.qw, reduce)


# ----------------------------------------------------------------------------------------------------------------
# metric names: "ndcg@10", "mrr", "map@5", "p@10", "auc"

#: name -> metric function; ``name@k`` sets ``k``.
METRICS = {
    "ndcg": ndcg_score,
    "dcg": dcg_score,
    "mrr": mrr_score,
    "map": map_score,
    "p": precision_score_at_k,
    "precision": precision_score_at_k,
    "recall": recall_score_at_k,
    "success": success_score_at_k,
    "rprec": r_precision_score,
    "bpref": bpref_score,
    "err": err_score,
    "auc": auc_score,
}
_NO_CUTOFF = ("auc", "rprec", "bpref")

#: trec_eval's measure names (lower-cased) -> ours: ``ndcg_cut_10`` is ``ndcg@10``, ``P_10`` is ``p@10``...
TREC_NAMES = {"ndcg_cut": "ndcg", "map_cut": "map", "p": "p", "recall": "recall", "success": "success",
              "recip_rank": "mrr", "rprec": "rprec", "bpref": "bpref", "ndcg": "ndcg", "map": "map"}


def parse_metric(name):
    """Split ``"ndcg@10"`` into ``("ndcg", 10)``; ``k`` is ``None`` without ``@``.

    trec_eval's names are aliases (case-insensitive): ``ndcg_cut_10``, ``map_cut_10``, ``P_10``, ``recall_100``,
    ``success_10`` (``name_k``), ``recip_rank``, ``Rprec``, ``bpref``.

    >>> parse_metric("ndcg@10")
    ('ndcg', 10)
    >>> parse_metric("ndcg_cut_10"), parse_metric("recip_rank"), parse_metric("P_5"), parse_metric("Rprec")
    (('ndcg', 10), ('mrr', None), ('p', 5), ('rprec', None))
    """
    if not isinstance(name, str):
        raise TypeError(f"metric must be a string such as 'ndcg@10'; got {fmt(name)}")
    name = str(name)  # np.str_ -> str, for the messages
    base, _, at = name.strip().lower().partition("@")
    if base not in METRICS and not at:
        head, _, tail = base.rpartition("_")
        if base in TREC_NAMES:
            base = TREC_NAMES[base]
        elif head in TREC_NAMES and tail.isdigit():
            base, at = TREC_NAMES[head], tail
    if base not in METRICS:
        raise ValueError(
            f"unknown metric {name!r}; known: {sorted(METRICS)} (optionally '@k', e.g. 'ndcg@10'), or trec_eval's "
            f"names ndcg_cut_k, map_cut_k, P_k, recall_k, success_k, recip_rank, Rprec, bpref"
        )
    k = None
    if at:
        try:
            k = int(at)
        except ValueError:
            raise ValueError(f"metric {name!r}: the cut-off after '@' must be an integer; got {at!r}") from None
        if k <= 0:
            raise ValueError(f"metric {name!r}: k must be >= 1; got {k}")
        if base in _NO_CUTOFF:
            raise ValueError(f"metric {name!r}: {base} takes no cut-off")
    return base, k


def get_metric(name, **kwargs):
    """A function ``f(y_true, y_score, *, group=None, qid=None, sample_weight=None) -> float`` for a metric name.

    ``kwargs`` (``convention``, ``empty``, ``relevance_threshold``, ...) are passed on. ``"auc"`` is the per-query
    AUC (``average="query"``) when a ``group``/``qid`` is given and the global AUC otherwise; graded labels are
    binarized at ``relevance_threshold`` (default 1).
    """
    base, k = parse_metric(name)
    fn = METRICS[base]
    if base == "auc":
        kw = {"relevance_threshold": 1, **kwargs}

        def metric(y_true, y_score, *, group=None, qid=None, sample_weight=None):
            average = "global" if group is None and qid is None else "query"
            return fn(y_true, y_score, group=group, qid=qid, average=average, sample_weight=sample_weight, **kw)

    else:
        kw = dict(kwargs)
        if k is not None:
            kw["k"] = k
        elif base in ("p", "precision"):
            kw.setdefault("k", 10)
        elif base in ("recall", "success"):
            kw.setdefault("k", None)  # no cut-off: the whole ranking
        if base in ("dcg", "err"):
            kw.pop("relevance_threshold", None)
            kw.pop("empty", None)

        def metric(y_true, y_score, *, group=None, qid=None, sample_weight=None):
            return fn(y_true, y_score, group=group, qid=qid, sample_weight=sample_weight, **kw)

    metric.__name__ = name
    return metric


def evaluate(
    y_true,
    y_score,
    *,
    group=None,
    qid=None,
    metrics=("ndcg@10", "mrr", "map", "auc"),
    convention="lightgbm",
    gain=None,
    ties=None,
    empty=None,
    relevance_threshold=1,
    sample_weight=None,
    reduce="mean",
):
    """Several metrics at once, ranking each query only once.

    Parameters
    ----------
    metrics : str or sequence of str
        One name or several: ``"ndcg[@k]"``, ``"mrr[@k]"``, ``"map[@k]"``, ``"p@k"`` and ``"auc"`` (per-query AUC of
        ``y_true >= relevance_threshold``; one-class queries excluded, see :func:`auc_score`).
    convention : str, default "lightgbm"
        Applied to every ranking metric (see the module docstring); ``gain``, ``ties`` and ``empty`` override
        its knobs one by one, as in :func:`ndcg_score`.
    Other parameters as in :func:`ndcg_score`.

    Returns
    -------
    dict
        metric name -> mean (or per-query array with ``reduce=None``).

    Raises
    ------
    ValueError
        As the single-metric functions; ``"auc"`` when no query has both classes (as :func:`auc_score`).

    Notes
    -----
    Each query is ranked once (a top-``k`` selection instead of a full sort when every metric asked is cut at
    some ``k`` and ties are not averaged); the values are those of the single-metric functions, bit for bit:
    both run the same per-query kernels.

    Examples
    --------
    >>> import gbm_objectives as go
    >>> res = go.evaluate([2, 0, 1, 0], [0.9, 0.8, 0.1, 0.3], group=[2, 2], metrics=("ndcg@1", "mrr", "auc"))
    >>> {name: round(v, 4) for name, v in res.items()}
    {'ndcg@1': 0.5, 'mrr': 0.75, 'auc': 0.5}
    """
    gain, ties, empty = _resolve_knobs(convention, gain, ties, empty)
    reduce = _check_reduce(reduce)
    if isinstance(metrics, str):
        metrics = (metrics,)
    parsed = []
    for name in metrics:
        base, k = parse_metric(name)
        base = "p" if base == "precision" else base
        k = (10 if base == "p" else 0) if k is None else k  # 0: the whole query
        if base == "map":
            _check_ap_ties(ties, k)
        if base in ("success", "bpref", "err"):
            _no_average_ties(ties, name)
        parsed.append((name, base, k))
    if not parsed:
        raise ValueError("metrics is empty; name at least one metric, e.g. metrics=('ndcg@10',)")
    r = _prepare(y_true, y_score, group, qid, sample_weight)
    items = list(dict.fromkeys((base, k) for _, base, k in parsed))  # each distinct (metric, k) computed once
    g = _gains(r.y, gain, r.boundaries) if any(base in ("ndcg", "dcg") for base, _ in items) else None
    p_stop = _stop_probabilities(r.y, None) if any(base == "err" for base, _ in items) else None
    rel = _relevant(r.y, relevance_threshold)
    values, no_rel, no_gain = _run(r, items, gains=g, rel=rel, ties=ties, ap_min_den=convention == "lightgbm",
                                   p_stop=p_stop)
    out = {}
    for name, base, k in parsed:
        v = values[items.index((base, k))]
        if base == "auc":
            out[name] = _auc_finish(v, r.qw, reduce)
        elif base in ("dcg", "err"):  # defined (0) without relevant documents: no ``empty``
            out[name] = _finish(v, np.zeros(len(v), dtype=bool), r.qw, reduce)
        else:
            is_empty = no_gain if base == "ndcg" else no_rel
            out[name] = _finish(*_apply_empty(v, is_empty, empty), r.qw, reduce)
    return out
