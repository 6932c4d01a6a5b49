"""Each ranking metric's formula, written once: a compiled function of one query's values in ranked order (ranx's
layout). The driver in :mod:`._engine` ranks each query once and calls the ones asked for.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .._core import dcg as _dcg

__all__ = ["tie_block_end", "ndcg_query", "rr_query", "ap_query", "precision_query", "recall_query", "success_query", "rprec_query", "bpref_query", "err_query", "auc_query"]


# ----------------------------------------------------------------------------------------------------------------
# per-query metric kernels: each formula written once, on one query's values in ranked order (ranx's layout).
# ``rel``/``gains``/``scores``/``weights`` below are the query's documents in rank order; ``m`` is the number of
# documents of the query and ``k <= 0`` means all of them. The non-tie-averaged formulas read only the first
# ``min(k, m)`` ranked entries, which is what lets a top-k selection stand in for a full sort.


@njit(cache=True)
def tie_block_end(scores, r, m):
    """End (exclusive) of the block of tied scores that starts at rank ``r``."""
    v = scores[r]
    e = r + 1
    while e < m and scores[e] == v:
        e += 1
    return e


@njit(cache=True)
def ndcg_query(gains, scores, m, k, ideal, tie_avg, disc):
    """NDCG@k = DCG@k / IDCG@k (0 when IDCG@k = 0: the caller applies ``empty``); DCG from
    :func:`gbm_objectives._core.dcg.dcg_query`, ``ideal`` from :func:`gbm_objectives._core.dcg.ideal_dcg_query`."""
    if not ideal > 0.0:
        return 0.0
    mk = m if k <= 0 or k > m else k
    return _dcg.dcg_query(gains, scores, m, mk, tie_avg, disc) * (1.0 / ideal)  # LightGBM: times the inverse


@njit(cache=True)
def rr_query(rel, scores, m, k, tie_avg):
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
        e = tie_block_end(scores, r, m)
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


@njit(cache=True)
def ap_query(rel, scores, m, k, n_rel, min_denominator, tie_avg):
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
            e = tie_block_end(scores, r, m)
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


@njit(cache=True)
def precision_query(rel, scores, m, k, tie_avg):
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
            e = tie_block_end(scores, r, m)
            nb = 0.0
            for j in range(r, e):
                nb += rel[j]
            c += nb * (min(e, mk) - r) / (e - r)
            r = e
    return c / k


@njit(cache=True)
def recall_query(rel, scores, m, k, n_rel, tie_avg):
    """Recall@k: relevant documents in the top ``k`` over ``R`` (all the query's relevant documents, retrieved or
    not: trec_eval's ``num_rel``); 0 when ``R = 0`` (the caller applies ``empty``). It is ``P@k * k / R``, so it
    reads the precision kernel (``k <= 0``: the whole query)."""
    if n_rel == 0:
        return 0.0
    kk = m if k <= 0 else k
    return precision_query(rel, scores, m, kk, tie_avg) * kk / n_rel


@njit(cache=True)
def success_query(rel, m, k):
    """Success@k (hit rate): 1 if a relevant document is in the top ``k``, else 0 (``k <= 0``: the whole query)."""
    mk = m if k <= 0 or k > m else k
    for r in range(mk):
        if rel[r]:
            return 1.0
    return 0.0


@njit(cache=True)
def rprec_query(rel, scores, m, n_rel, tie_avg):
    """R-precision: precision at rank ``R`` (``R`` the query's relevant documents, retrieved or not), 0 if ``R = 0``
    (trec_eval ``Rprec``: relevant in the top ``R`` over ``R``, also when fewer than ``R`` are retrieved)."""
    if n_rel == 0:
        return 0.0
    return precision_query(rel, scores, m, n_rel, tie_avg)


@njit(cache=True)
def bpref_query(rel, judged, m, n_rel, n_nonrel):
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


@njit(cache=True)
def err_query(p_stop, m, k):
    """ERR@k (Chapelle et al. 2009): ``sum_{r=1}^{k} (1/r) R_r prod_{i<r} (1 - R_i)`` with the stopping
    probabilities ``R_i = (2^g_i - 1) / 2^g_max`` given in rank order (``k <= 0``: the whole query)."""
    mk = m if k <= 0 or k > m else k
    s = 0.0
    keep = 1.0
    for r in range(mk):
        s += keep * p_stop[r] / (r + 1.0)
        keep *= 1.0 - p_stop[r]
    return s


@njit(cache=True)
def auc_query(pos, weights, scores, m, weighted):
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
