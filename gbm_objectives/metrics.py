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
code is the one in :mod:`gbm_objectives._dcg` that the LambdaRank objective uses, so the ΔNDCG used in training and
the NDCG reported here cannot drift apart. ``reduce=None`` returns the per-query values (in ``group`` order, or in
increasing ``qid`` order); the default ``"mean"`` returns their mean, weighted by the query weights when
``sample_weight`` is given (LightGBM's query weight: the mean of the query's row weights).

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
from ._validation import as_numpy, check_1d, check_consistent_length, check_positive_int, check_sample_weight
from .segments import boundaries_from_qid, qid_order, resolve_boundaries

__all__ = [
    "CONVENTIONS",
    "METRICS",
    "ndcg_score",
    "mrr_score",
    "map_score",
    "precision_score_at_k",
    "auc_score",
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
        raise ValueError(f"convention must be one of {sorted(CONVENTIONS)}; got {convention!r}")
    preset = CONVENTIONS[convention]
    gain = preset["gain"] if gain is None else gain
    ties = preset["ties"] if ties is None else ties
    empty = preset["empty"] if empty is None else empty
    if isinstance(gain, str):
        if gain not in _GAINS:
            raise ValueError(f"gain must be one of {list(_GAINS)} or an array of per-label gains; got {gain!r}")
    else:
        gain = check_1d(gain, "gain")
    if ties not in _TIES:
        raise ValueError(f"ties must be one of {list(_TIES)}; got {ties!r}")
    if isinstance(empty, str):
        if empty != "skip":
            raise ValueError(f"empty must be a number or 'skip'; got {empty!r}")
    elif isinstance(empty, bool) or not isinstance(empty, numbers.Real) or not np.isfinite(empty):
        raise ValueError(f"empty must be a finite number or 'skip'; got {empty!r}")
    else:
        empty = float(empty)
    return gain, ties, empty


def _check_k(k, allow_none=True):
    if k is None and allow_none:
        return 0  # kernels read k <= 0 as "the whole query"
    return check_positive_int(k, "k")


def _check_reduce(reduce):
    if reduce not in _REDUCE:
        raise ValueError(f"reduce must be 'mean' or None; got {reduce!r}")
    return reduce


class _Ranking:
    """Validated arrays of a ranking evaluation, rows grouped by query (contiguous)."""

    __slots__ = ("y", "s", "w", "boundaries", "qw")

    def __init__(self, y, s, w, boundaries, qw):
        self.y, self.s, self.w, self.boundaries, self.qw = y, s, w, boundaries, qw


def _prepare(y_true, y_score, group, qid, sample_weight, *, required=True):
    y = check_1d(y_true, "y_true")
    n = len(y)
    s = check_1d(y_score, "y_score")
    check_consistent_length(n, y_score=s)
    if (y < 0).any():
        i = int(np.flatnonzero(y < 0)[0])
        raise ValueError(f"y_true must be non-negative relevance labels; got {float(y[i])!r} at index {i}")
    w = check_sample_weight(sample_weight, n)
    if qid is not None and group is None:
        q = as_numpy(qid, "qid")
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
        sums = np.add.reduceat(w, boundaries[:-1]) if n else np.zeros(0)
        qw = sums / np.diff(boundaries)
    return _Ranking(y, s, w, boundaries, qw)


_EXP2_TABLE = _dcg.default_label_gain()


def _gains(y, gain):
    if isinstance(gain, str):
        if gain == "linear":
            return y
        return _exp2_gains(y, _EXP2_TABLE)
    yi = y.astype(np.int64)
    if (yi != y).any():
        i = int(np.flatnonzero(yi != y)[0])
        raise ValueError(f"y_true must be integer labels to index a gain table; got {float(y[i])!r} at index {i}")
    return _dcg.row_gains(yi, gain)


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


def _finish(values, is_empty, empty, qw, reduce):
    """Apply the empty-query convention, then reduce to a (weighted) mean or return per-query values."""
    if is_empty.any():
        values = values.copy()
        values[is_empty] = np.nan if empty == "skip" else empty
    if reduce is None:
        return values
    keep = ~np.isnan(values)
    if not keep.any():
        return np.nan
    # sequential sums (cumsum), in query order, as LightGBM's single-threaded eval: equal values stay bit-equal
    if qw is None:
        return float(np.cumsum(values[keep])[-1] / keep.sum())
    wk = qw[keep]
    total = np.cumsum(wk)[-1]
    return float(np.cumsum(values[keep] * wk)[-1] / total) if total > 0 else np.nan


def _order(r, ties):
    return _dcg.ranked_order(r.s, r.boundaries, ties == "trec")


# ----------------------------------------------------------------------------------------------------------------
# kernels (one compiled loop per metric, parallel over queries; rows of query q are boundaries[q]:boundaries[q+1])


@njit(cache=True, parallel=True)
def _count_relevant(rel, boundaries):
    nq = boundaries.shape[0] - 1
    out = np.zeros(nq, dtype=np.int64)
    for q in prange(nq):
        c = 0
        for i in range(boundaries[q], boundaries[q + 1]):
            c += rel[i]
        out[q] = c
    return out


@njit(cache=True)
def _tie_block_end(scores, order, a, r, n_q):
    v = scores[a + order[a + r]]
    e = r + 1
    while e < n_q and scores[a + order[a + e]] == v:
        e += 1
    return e


@njit(cache=True, parallel=True)
def _rr_kernel(rel, scores, order, boundaries, k, tie_avg):
    """Reciprocal rank of the first relevant document within the top ``k`` (0 if none)."""
    nq = boundaries.shape[0] - 1
    out = np.zeros(nq)
    for q in prange(nq):
        a, b = boundaries[q], boundaries[q + 1]
        n_q = b - a
        m = n_q if k <= 0 or k > n_q else k
        if not tie_avg:
            for r in range(m):
                if rel[a + order[a + r]]:
                    out[q] = 1.0 / (r + 1.0)
                    break
        else:
            r = 0
            while r < m:
                e = _tie_block_end(scores, order, a, r, n_q)
                nrel = 0
                for j in range(r, e):
                    nrel += rel[a + order[a + j]]
                if nrel > 0:
                    # first relevant of the block at offset j with prob C(size-1-j, nrel-1) / C(size, nrel)
                    size = e - r
                    p = nrel / size
                    acc = 0.0
                    for j in range(size - nrel + 1):
                        if r + j >= m:
                            break
                        acc += p / (r + j + 1.0)
                        p *= (size - j - nrel) / (size - 1.0 - j) if size - 1 - j > 0 else 0.0
                    out[q] = acc
                    break
                r = e
    return out


@njit(cache=True, parallel=True)
def _ap_kernel(rel, scores, order, boundaries, k, min_denominator, tie_avg):
    """Average precision @k: sum of precision@r over relevant ranks r <= k, over R (or min(R, k)).

    ``tie_avg``: scikit-learn's ``average_precision_score`` (one step per distinct score), whole query only.
    """
    nq = boundaries.shape[0] - 1
    out = np.zeros(nq)
    for q in prange(nq):
        a, b = boundaries[q], boundaries[q + 1]
        n_q = b - a
        n_rel = 0
        for i in range(a, b):
            n_rel += rel[i]
        if n_rel == 0:
            continue
        m = n_q if k <= 0 or k > n_q else k
        s = 0.0
        hits = 0
        if not tie_avg:
            for r in range(m):
                if rel[a + order[a + r]]:
                    hits += 1
                    s += hits / (r + 1.0)
        else:
            r = 0
            while r < n_q:
                e = _tie_block_end(scores, order, a, r, n_q)
                nb = 0
                for j in range(r, e):
                    nb += rel[a + order[a + j]]
                hits += nb
                s += nb * (hits / e)
                r = e
        den = n_rel
        if min_denominator and m < n_rel:
            den = m
        out[q] = s / den
    return out


@njit(cache=True, parallel=True)
def _precision_kernel(rel, scores, order, boundaries, k, tie_avg):
    """Number of relevant documents in the top ``k``, over ``k`` (trec_eval ``P_k``: always over ``k``)."""
    nq = boundaries.shape[0] - 1
    out = np.zeros(nq)
    for q in prange(nq):
        a, b = boundaries[q], boundaries[q + 1]
        n_q = b - a
        m = n_q if k > n_q else k
        c = 0.0
        if not tie_avg:
            for r in range(m):
                c += rel[a + order[a + r]]
        else:
            r = 0
            while r < m:
                e = _tie_block_end(scores, order, a, r, n_q)
                nb = 0
                for j in range(r, e):
                    nb += rel[a + order[a + j]]
                c += nb * (min(e, m) - r) / (e - r)
                r = e
        out[q] = c / k
    return out


@njit(cache=True, parallel=True)
def _auc_kernel(pos, w, scores, order, boundaries):
    """Weighted Mann-Whitney AUC per query: P(score of a positive > score of a negative), ties count 1/2.

    ``nan`` for a query with only one class.
    """
    nq = boundaries.shape[0] - 1
    out = np.empty(nq)
    for q in prange(nq):
        a, b = boundaries[q], boundaries[q + 1]
        n_q = b - a
        w_pos = 0.0
        w_neg = 0.0
        num = 0.0
        r = 0
        while r < n_q:  # descending: negatives seen so far are above every positive of this block
            e = _tie_block_end(scores, order, a, r, n_q)
            bp = 0.0
            bn = 0.0
            for j in range(r, e):
                i = a + order[a + j]
                if pos[i]:
                    bp += w[i]
                else:
                    bn += w[i]
            num += bp * (w_neg + 0.5 * bn)
            w_pos += bp
            w_neg += bn
            r = e
        if w_pos > 0.0 and w_neg > 0.0:
            out[q] = 1.0 - num / (w_pos * w_neg)
        else:
            out[q] = np.nan
    return out


@njit(cache=True)
def _fused_query(q, gains, rel, w, weighted, scores, boundaries, reverse_ties, ndcg_ks, rr_ks, ap_ks, ap_min_den,
                 p_ks, do_auc, k_ideal, disc, order, tmp, topbuf, ndcg, rr, ap, prec, auc, n_rel, no_gain):
    """The body of :func:`_fused_kernel` for query ``q`` (a plain function: the parallel loop stays small, which
    keeps numba's compile time down)."""
    a, b = boundaries[q], boundaries[q + 1]
    m = b - a
    idx = order[a:b]
    _dcg._rank_query(scores[a:b], idx, tmp[a:b], reverse_ties)
    c = 0
    for i in range(a, b):
        c += rel[i]
    n_rel[q] = c
    if ndcg_ks.shape[0] > 0:
        # ideal: the K largest gains, descending (K = largest k asked, or the whole query)
        kk = m if k_ideal < 0 or k_ideal > m else k_ideal
        top = topbuf[a : a + kk] if k_ideal < 0 else topbuf[q * k_ideal : q * k_ideal + kk]
        _dcg.top_gains_into(gains, a, b, top, kk)
        no_gain[q] = kk == 0 or not top[0] > 0.0
        for j in range(ndcg_ks.shape[0]):
            k = ndcg_ks[j]
            mk = m if k <= 0 or k > m else k
            ideal = 0.0
            d = 0.0
            for r in range(mk):
                ideal += top[r] * disc[r]
                d += gains[a + idx[r]] * disc[r]
            if ideal > 0.0:
                ndcg[j, q] = d * (1.0 / ideal)
    for j in range(rr_ks.shape[0]):
        k = rr_ks[j]
        mk = m if k <= 0 or k > m else k
        for r in range(mk):
            if rel[a + idx[r]]:
                rr[j, q] = 1.0 / (r + 1.0)
                break
    if c > 0:
        for j in range(ap_ks.shape[0]):
            k = ap_ks[j]
            mk = m if k <= 0 or k > m else k
            s = 0.0
            hits = 0
            for r in range(mk):  # branch-free: adds exactly 0.0 for a non-relevant rank
                x = rel[a + idx[r]]
                hits += x
                s += x * (hits / (r + 1.0))
            den = c
            if ap_min_den and mk < c:
                den = mk
            ap[j, q] = s / den
    for j in range(p_ks.shape[0]):
        k = p_ks[j]
        mk = m if k > m else k
        cc = 0.0
        for r in range(mk):
            cc += rel[a + idx[r]]
        prec[j, q] = cc / k
    if do_auc:
        # one pass in ranked order; a block of tied scores is flushed when the score changes (the same sums,
        # in the same order, as _auc_kernel)
        w_pos = 0.0
        w_neg = 0.0
        num = 0.0
        bp = 0.0
        bn = 0.0
        prev = scores[a + idx[0]] if m > 0 else 0.0
        for r in range(m):
            i = a + idx[r]
            v = scores[i]
            if v != prev:
                num += bp * (w_neg + 0.5 * bn)
                w_pos += bp
                w_neg += bn
                bp = 0.0
                bn = 0.0
                prev = v
            wi = w[i] if weighted else 1.0
            x = rel[i]  # branch-free: adds exactly 0.0 to the other class
            bp += x * wi
            bn += (1 - x) * wi
        num += bp * (w_neg + 0.5 * bn)
        w_pos += bp
        w_neg += bn
        if w_pos > 0.0 and w_neg > 0.0:
            auc[q] = 1.0 - num / (w_pos * w_neg)


def _fused_kernel(gains, rel, w, weighted, scores, boundaries, reverse_ties, ndcg_ks, rr_ks, ap_ks, ap_min_den, p_ks,
                  do_auc):
    """All requested metrics of each query from one ranking of the query (``ties`` "stable" or "trec").

    The same formulas as :func:`gbm_objectives._dcg.dcg_from_order`, :func:`gbm_objectives._dcg.ideal_dcg_topk`,
    :func:`_rr_kernel`, :func:`_ap_kernel`, :func:`_precision_kernel` and :func:`_auc_kernel`, summed in the same
    order, computed while the query is in cache. A ``k <= 0`` means the whole query. Buffers are allocated here,
    so that the compiled parallel loop (:func:`_fused_parallel`) stays small and quick to compile.
    """
    n = scores.shape[0]
    nq = boundaries.shape[0] - 1
    max_m = int(np.diff(boundaries).max()) if nq else 0
    order = np.empty(n, dtype=np.int64)
    tmp = np.empty(n if max_m > _dcg._COUNTING_MAX else 0, dtype=np.int64)  # merge-sort buffer, large queries only
    ndcg = np.zeros((ndcg_ks.shape[0], nq))
    rr = np.zeros((rr_ks.shape[0], nq))
    ap = np.zeros((ap_ks.shape[0], nq))
    prec = np.zeros((p_ks.shape[0], nq))
    auc = np.full(nq if do_auc else 0, np.nan)
    n_rel = np.zeros(nq, dtype=np.int64)
    no_gain = np.zeros(nq, dtype=np.bool_)
    k_ideal = -1 if (ndcg_ks <= 0).any() else int(ndcg_ks.max(initial=0))
    n_disc = max_m if k_ideal < 0 or k_ideal > max_m else k_ideal
    disc = _dcg.discount_table(n_disc)
    # buffer for the largest gains of each query: k_ideal per query, or the whole query
    topbuf = np.empty(0 if ndcg_ks.shape[0] == 0 else (n if k_ideal < 0 else nq * k_ideal))
    _fused_parallel(gains, rel, w, weighted, scores, boundaries, reverse_ties, ndcg_ks, rr_ks, ap_ks, ap_min_den,
                    p_ks, do_auc, k_ideal, disc, order, tmp, topbuf, ndcg, rr, ap, prec, auc, n_rel, no_gain)
    return ndcg, rr, ap, prec, auc, n_rel == 0, no_gain



@njit(cache=True, parallel=True)
def _fused_parallel(gains, rel, w, weighted, scores, boundaries, reverse_ties, ndcg_ks, rr_ks, ap_ks, ap_min_den,
                    p_ks, do_auc, k_ideal, disc, order, tmp, topbuf, ndcg, rr, ap, prec, auc, n_rel, no_gain):
    for q in prange(boundaries.shape[0] - 1):
        _fused_query(q, gains, rel, w, weighted, scores, boundaries, reverse_ties, ndcg_ks, rr_ks, ap_ks, ap_min_den,
                     p_ks, do_auc, k_ideal, disc, order, tmp, topbuf, ndcg, rr, ap, prec, auc, n_rel, no_gain)


# ----------------------------------------------------------------------------------------------------------------
# per-query values on prepared arrays (shared by the public functions and evaluate)


def _ndcg_values(r, order, k, gain, ties):
    g = _gains(r.y, gain)
    idcg = _dcg.ideal_dcg_topk(g, r.boundaries, k)
    if ties == "average":
        d = _dcg.tie_averaged_dcg(g, r.s, order, r.boundaries, k)
    else:
        d = _dcg.dcg_from_order(g, order, r.boundaries, k)
    is_empty = idcg <= 0.0
    values = d * (1.0 / np.where(is_empty, 1.0, idcg))  # LightGBM multiplies by the cached inverse ideal DCG
    values[is_empty] = 0.0
    return values, is_empty


def _relevant(y, relevance_threshold):
    if isinstance(relevance_threshold, bool) or not isinstance(relevance_threshold, numbers.Real):
        raise TypeError(f"relevance_threshold must be a real number; got {relevance_threshold!r}")
    if not relevance_threshold > 0:
        raise ValueError(f"relevance_threshold must be > 0; got {relevance_threshold!r}")
    return (y >= relevance_threshold).astype(np.int8)


def _rr_values(r, order, k, ties, rel):
    values = _rr_kernel(rel, r.s, order, r.boundaries, k, ties == "average")
    return values, _count_relevant(rel, r.boundaries) == 0


def _ap_values(r, order, k, ties, rel, min_denominator):
    if ties == "average" and k > 0:
        raise ValueError(
            f"map_score with ties='average' is scikit-learn's average_precision_score, defined on the whole query; "
            f"got k={k} (use k=None or ties='stable'/'trec')"
        )
    values = _ap_kernel(rel, r.s, order, r.boundaries, k, min_denominator, ties == "average")
    return values, _count_relevant(rel, r.boundaries) == 0


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
        Query id of each row; the rows of a query need not be contiguous.
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

    Returns
    -------
    float or ndarray of shape (n_queries,)

    Raises
    ------
    ValueError
        Length mismatch, group sizes not summing to ``n_samples``, ``k <= 0``, NaN scores, negative labels, an
        unknown convention/knob.

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
    r = _prepare(y_true, y_score, group, qid, sample_weight)
    values, is_empty = _ndcg_values(r, _order(r, ties), k, gain, ties)
    return _finish(values, is_empty, empty, r.qw, reduce)


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
    values, is_empty = _rr_values(r, _order(r, ties), k, ties, _relevant(r.y, relevance_threshold))
    return _finish(values, is_empty, empty, r.qw, reduce)


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
):
    """Mean average precision at ``k`` over queries (relevant: ``y_true >= relevance_threshold``).

    Parameters are those of :func:`ndcg_score` (``gain`` does not apply).

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
    r = _prepare(y_true, y_score, group, qid, sample_weight)
    rel = _relevant(r.y, relevance_threshold)
    values, is_empty = _ap_values(r, _order(r, ties), k, ties, rel, convention == "lightgbm")
    return _finish(values, is_empty, empty, r.qw, reduce)


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
    rel = _relevant(r.y, relevance_threshold)
    values = _precision_kernel(rel, r.s, _order(r, ties), r.boundaries, k, ties == "average")
    return _finish(values, _count_relevant(rel, r.boundaries) == 0, empty, r.qw, reduce)


def _auc_positive(y, relevance_threshold):
    if relevance_threshold is None:
        bad = (y != 0) & (y != 1)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"y_true must contain only 0 and 1 for AUC (or pass relevance_threshold to binarize graded labels); "
                f"got {float(y[i])!r} at index {i}"
            )
        return (y == 1).astype(np.int8)
    return _relevant(y, relevance_threshold)


def _auc_from(r, order, pos):
    w = np.ones(len(r.y)) if r.w is None else r.w
    return _auc_kernel(pos, w, r.s, order, r.boundaries)


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
        raise ValueError(f"average must be 'global' or 'query'; got {average!r}")
    pos = _auc_positive(r.y, relevance_threshold)
    values = _auc_from(r, _dcg.ranked_order(r.s, r.boundaries, False), pos)
    if average == "global":
        if np.isnan(values[0]):
            raise ValueError(
                f"AUC is undefined when y_true has one class only; got {int(pos.sum())} positives in {len(pos)} rows"
            )
        return float(values[0])
    if np.isnan(values).all():
        raise ValueError("AUC is undefined: no query has both a positive and a negative row")
    return _finish(values, np.zeros(len(values), dtype=bool), 0.0, r.qw, reduce)


# ----------------------------------------------------------------------------------------------------------------
# metric names: "ndcg@10", "mrr", "map@5", "p@10", "auc"

#: name -> (function, higher is better); ``name@k`` sets ``k``.
METRICS = {
    "ndcg": ndcg_score,
    "mrr": mrr_score,
    "map": map_score,
    "p": precision_score_at_k,
    "precision": precision_score_at_k,
    "auc": auc_score,
}


def parse_metric(name):
    """Split ``"ndcg@10"`` into ``("ndcg", 10)``; ``k`` is ``None`` without ``@``.

    >>> parse_metric("ndcg@10")
    ('ndcg', 10)
    """
    if not isinstance(name, str):
        raise TypeError(f"metric must be a string such as 'ndcg@10'; got {name!r}")
    base, _, at = name.strip().lower().partition("@")
    if base not in METRICS:
        raise ValueError(f"unknown metric {name!r}; known: {sorted(METRICS)} (optionally '@k', e.g. 'ndcg@10')")
    k = None
    if at:
        try:
            k = int(at)
        except ValueError:
            raise ValueError(f"metric {name!r}: the cut-off after '@' must be an integer; got {at!r}") from None
        if k <= 0:
            raise ValueError(f"metric {name!r}: k must be >= 1; got {k}")
        if base == "auc":
            raise ValueError(f"metric {name!r}: auc takes no cut-off")
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
    metrics : sequence of str
        Names ``"ndcg[@k]"``, ``"mrr[@k]"``, ``"map[@k]"``, ``"p@k"`` and ``"auc"`` (per-query AUC of
        ``y_true >= relevance_threshold``; one-class queries excluded, see :func:`auc_score`).
    convention : str, default "lightgbm"
        Applied to every ranking metric (see the module docstring); ``gain``, ``ties`` and ``empty`` override
        its knobs one by one, as in :func:`ndcg_score`.
    Other parameters as in :func:`ndcg_score`.

    Returns
    -------
    dict
        metric name -> mean (or per-query array with ``reduce=None``).

    Examples
    --------
    >>> import gbm_objectives as go
    >>> res = go.evaluate([2, 0, 1, 0], [0.9, 0.8, 0.1, 0.3], group=[2, 2], metrics=("ndcg@1", "mrr", "auc"))
    >>> {name: round(v, 4) for name, v in res.items()}
    {'ndcg@1': 0.5, 'mrr': 0.75, 'auc': 0.5}
    """
    gain, ties, empty = _resolve_knobs(convention, gain, ties, empty)
    reduce = _check_reduce(reduce)
    parsed = [(name, *parse_metric(name)) for name in metrics]
    r = _prepare(y_true, y_score, group, qid, sample_weight)
    if ties != "average":
        return _evaluate_fused(r, parsed, gain, ties, empty, convention, relevance_threshold, reduce)
    order = _order(r, ties)
    rel = None
    out = {}
    for name, base, k in parsed:
        kk = 0 if k is None else k
        if base != "ndcg" and rel is None:
            rel = _relevant(r.y, relevance_threshold)
        if base == "ndcg":
            values, is_empty = _ndcg_values(r, order, kk, gain, ties)
        elif base == "mrr":
            values, is_empty = _rr_values(r, order, kk, ties, rel)
        elif base == "map":
            values, is_empty = _ap_values(r, order, kk, ties, rel, convention == "lightgbm")
        elif base in ("p", "precision"):
            kk = 10 if k is None else k
            values = _precision_kernel(rel, r.s, order, r.boundaries, kk, ties == "average")
            is_empty = _count_relevant(rel, r.boundaries) == 0
        else:  # auc: tie handling is inherent (ties count 1/2), so any descending order will do
            values = _auc_from(r, order, rel)
            out[name] = _finish(values, np.zeros(len(values), dtype=bool), 0.0, r.qw, reduce)
            continue
        out[name] = _finish(values, is_empty, empty, r.qw, reduce)
    return out


def _evaluate_fused(r, parsed, gain, ties, empty, convention, relevance_threshold, reduce):
    """:func:`evaluate` with one compiled pass per query (:func:`_fused_kernel`)."""
    wanted = {"ndcg": [], "mrr": [], "map": [], "p": []}
    for _, base, k in parsed:
        if base == "auc":
            continue
        base = "p" if base == "precision" else base
        kk = (10 if base == "p" else 0) if k is None else k
        if kk not in wanted[base]:
            wanted[base].append(kk)
    do_auc = any(base == "auc" for _, base, _ in parsed)
    as_ks = {base: np.array(ks, dtype=np.int64) for base, ks in wanted.items()}
    g = _gains(r.y, gain) if wanted["ndcg"] else np.zeros(0)
    rel = _relevant(r.y, relevance_threshold)
    w = np.zeros(0) if r.w is None else r.w
    ndcg, rr, ap, prec, auc, no_rel, no_gain = _fused_kernel(
        g, rel, w, r.w is not None, r.s, r.boundaries, ties == "trec", as_ks["ndcg"], as_ks["mrr"], as_ks["map"],
        convention == "lightgbm", as_ks["p"], do_auc,
    )
    tables = {"ndcg": ndcg, "mrr": rr, "map": ap, "p": prec}
    out = {}
    for name, base, k in parsed:
        if base == "auc":
            out[name] = _finish(auc, np.zeros(len(auc), dtype=bool), 0.0, r.qw, reduce)
            continue
        base = "p" if base == "precision" else base
        kk = (10 if base == "p" else 0) if k is None else k
        values = tables[base][wanted[base].index(kk)]
        out[name] = _finish(values, no_gain if base == "ndcg" else no_rel, empty, r.qw, reduce)
    return out
