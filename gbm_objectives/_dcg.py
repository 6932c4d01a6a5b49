"""DCG building blocks shared by the LambdaRank objective and the ranking metrics.

Both the ΔNDCG used in training and the NDCG we report are computed from these few kernels, over the one group
representation of :mod:`gbm_objectives.segments` (int64 ``boundaries``), so the two cannot drift apart.

Conventions (LightGBM's, in ``rank_objective.hpp`` / ``dcg_calculator.cpp``):

* gain of a document with integer label ``l``: ``label_gain[l]``, by default ``2**l - 1``;
* discount at 0-based rank ``r``: ``1 / log2(r + 2)``;
* ranking: scores sorted descending with a *stable* sort (ties keep input order);
* ``DCG@k = sum_{r < k} gain(doc at r) * discount(r)``, ideal DCG from gains sorted descending.

>>> import numpy as np
>>> from gbm_objectives._dcg import default_label_gain, row_gains, ideal_dcg, dcg
>>> g = row_gains(np.array([0, 2, 1]), default_label_gain())      # gains 0, 3, 1
>>> b = np.array([0, 3])
>>> float(ideal_dcg(g, b, 3)[0])                                   # 3/log2(2) + 1/log2(3)
3.6309297535714578
>>> float(dcg(g, np.array([0.3, 0.1, 0.2]), b, 3)[0])             # order 0, 2, 1: 0 + 1/log2(3) + 3/log2(4)
2.1309297535714578
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = [
    "default_label_gain",
    "row_gains",
    "discount",
    "discount_table",
    "top_gains_into",
    "stable_desc_order",
    "ideal_dcg",
    "dcg",
    "ranked_order",
    "dcg_from_order",
    "tie_averaged_dcg",
    "ideal_dcg_topk",
    "MAX_DEFAULT_LABEL",
]

MAX_DEFAULT_LABEL = 31  # LightGBM's default label_gain has entries for labels 0..30


def default_label_gain(n=MAX_DEFAULT_LABEL):
    """LightGBM's default gains ``2**l - 1`` for labels ``l = 0 .. n - 1``."""
    return (2.0 ** np.arange(n)) - 1.0


def row_gains(y_int, label_gain):
    """Per-row gains ``label_gain[y]``; labels must be non-negative integers below ``len(label_gain)``."""
    y_int = np.asarray(y_int)
    label_gain = np.asarray(label_gain, dtype=np.float64)
    if len(y_int) and (y_int.min() < 0 or y_int.max() >= len(label_gain)):
        bad = int(np.flatnonzero((y_int < 0) | (y_int >= len(label_gain)))[0])
        raise ValueError(
            f"y_true label {y_int[bad]} at index {bad} has no gain: label_gain has {len(label_gain)} entries "
            f"(labels 0..{len(label_gain) - 1})"
        )
    return label_gain[y_int]


@njit(inline="always", cache=True)
def discount(rank):
    """``1 / log2(rank + 2)`` for a 0-based rank."""
    return 1.0 / math.log2(rank + 2.0)


@njit(inline="always", cache=True)
def top_gains_into(gains, a, b, top, kk):
    """Write the ``kk`` largest of ``gains[a:b]`` into ``top[:kk]``, descending (insertion into a bounded buffer,
    O(n k), no sort of the whole query). Returns how many were written (``min(kk, b - a)``)."""
    cnt = 0
    for i in range(a, b):
        g = gains[i]
        if cnt == kk:
            if not g > top[kk - 1]:
                continue
            j = kk - 1
        else:
            j = cnt
            cnt += 1
        while j > 0 and top[j - 1] < g:
            top[j] = top[j - 1]
            j -= 1
        top[j] = g
    return cnt


@njit(cache=True)
def discount_table(n):
    """``discount(r)`` for ranks ``r = 0 .. n - 1``, as an array (computed once, looked up in the kernels)."""
    out = np.empty(n)
    for r in range(n):
        out[r] = discount(r)
    return out


@njit(cache=True)
def stable_desc_order(scores):
    """Indices that sort ``scores`` descending, ties in input order (``std::stable_sort`` with ``>``)."""
    return np.argsort(-scores, kind="mergesort")


@njit(cache=True, parallel=True)
def ideal_dcg(gains, boundaries, k):
    """Ideal DCG@k of each query: gains sorted descending. ``k <= 0`` means the whole query."""
    nq = boundaries.shape[0] - 1
    out = np.zeros(nq)
    for q in prange(nq):
        g = np.sort(gains[boundaries[q] : boundaries[q + 1]])[::-1]
        m = g.shape[0] if k <= 0 or k > g.shape[0] else k
        s = 0.0
        for r in range(m):
            s += g[r] * discount(r)
        out[q] = s
    return out


@njit(cache=True, parallel=True)
def dcg(gains, scores, boundaries, k):
    """DCG@k of each query under the stable descending order of ``scores``."""
    nq = boundaries.shape[0] - 1
    out = np.zeros(nq)
    for q in prange(nq):
        a, b = boundaries[q], boundaries[q + 1]
        order = stable_desc_order(scores[a:b])
        m = b - a if k <= 0 or k > b - a else k
        s = 0.0
        for r in range(m):
            s += gains[a + order[r]] * discount(r)
        out[q] = s
    return out


@njit(cache=True)
def _before(key, i, j, reverse_ties):
    """Whether local row ``i`` ranks before ``j``: larger key first; equal keys by row (reversed if asked)."""
    ki = key[i]
    kj = key[j]
    if ki != kj:
        return ki > kj
    return i > j if reverse_ties else i < j


@njit(cache=True)
def _sort_desc(key, idx, tmp, reverse_ties):
    """Sort the local indices ``idx`` (in place) by :func:`_before`; ``tmp`` is a work buffer of the same length.

    A total order, so the result does not depend on the algorithm: insertion sort on runs of 16, then bottom-up
    merges. No allocation, so it can run inside a parallel loop over queries.
    """
    n = idx.shape[0]
    run = 16
    for start in range(0, n, run):
        end = min(start + run, n)
        for i in range(start + 1, end):
            v = idx[i]
            j = i - 1
            while j >= start and _before(key, v, idx[j], reverse_ties):
                idx[j + 1] = idx[j]
                j -= 1
            idx[j + 1] = v
    width = run
    in_idx = True
    while width < n:
        src = idx if in_idx else tmp
        dst = tmp if in_idx else idx
        for left in range(0, n, 2 * width):
            mid = min(left + width, n)
            right = min(left + 2 * width, n)
            i, j, o = left, mid, left
            while i < mid and j < right:
                if _before(key, src[j], src[i], reverse_ties):
                    dst[o] = src[j]
                    j += 1
                else:
                    dst[o] = src[i]
                    i += 1
                o += 1
            while i < mid:
                dst[o] = src[i]
                i += 1
                o += 1
            while j < right:
                dst[o] = src[j]
                j += 1
                o += 1
        in_idx = not in_idx
        width *= 2
    if not in_idx:
        idx[:] = tmp


_COUNTING_MAX = 128  # below this query size, ranking by counting (vectorized O(n^2)) beats a merge sort


@njit(cache=True)
def _rank_query(key, idx, tmp, reverse_ties):
    """Write into ``idx`` the local indices of one query in :func:`_before` order.

    Small queries: the number of rows with a larger key (a branch-free loop the compiler vectorizes) is the first
    rank of a row's tie block; the rows of a block then take its ranks in row order (reversed with
    ``reverse_ties``). Larger queries: :func:`_sort_desc`. Both give the same total order.
    """
    m = key.shape[0]
    if m > _COUNTING_MAX:
        for r in range(m):
            idx[r] = r
        _sort_desc(key, idx, tmp, reverse_ties)
        return
    greater = np.empty(m, dtype=np.int64)
    for i in range(m):
        ki = key[i]
        c = 0
        for j in range(m):
            c += key[j] > ki
        greater[i] = c
    # rows with the same key share the slots greater .. greater + (ties - 1); fill them in row order (reversed for
    # reverse_ties), each taking the first free slot
    for r in range(m):
        idx[r] = -1
    for t in range(m):
        i = m - 1 - t if reverse_ties else t
        pos = greater[i]
        while idx[pos] >= 0:
            pos += 1
        idx[pos] = i


def ranked_order(scores, boundaries, reverse_ties):
    """Per-query ranking, as local indices in one int64 array of ``len(scores)``.

    ``order[boundaries[q] + r]`` is the 0-based position inside query ``q`` of the document ranked ``r``: scores
    descending, ties in input order (``reverse_ties=False``: the order of :func:`stable_desc_order`, LightGBM's
    ``stable_sort``) or in reverse input order (``reverse_ties=True``: trec_eval's score-then-docno-descending order
    when docnos increase with the row).
    """
    n = scores.shape[0]
    max_m = int(np.diff(boundaries).max()) if len(boundaries) > 1 else 0
    order = np.empty(n, dtype=np.int64)
    tmp = np.empty(n if max_m > _COUNTING_MAX else 0, dtype=np.int64)  # merge-sort buffer, large queries only
    _ranked_order_into(scores, boundaries, bool(reverse_ties), order, tmp)
    return order


@njit(cache=True, parallel=True)
def _ranked_order_into(scores, boundaries, reverse_ties, order, tmp):
    for q in prange(boundaries.shape[0] - 1):
        a, b = boundaries[q], boundaries[q + 1]
        _rank_query(scores[a:b], order[a:b], tmp[a:b], reverse_ties)


@njit(cache=True, parallel=True)
def ideal_dcg_topk(gains, boundaries, k):
    """:func:`ideal_dcg` (same values, same summation order), faster for a small ``k``.

    Keeps the ``k`` largest gains of a query in a small sorted buffer instead of sorting the whole query.
    """
    nq = boundaries.shape[0] - 1
    out = np.zeros(nq)
    for q in prange(nq):
        a, b = boundaries[q], boundaries[q + 1]
        m = b - a if k <= 0 or k > b - a else k
        top = np.empty(m)
        top_gains_into(gains, a, b, top, m)
        s = 0.0
        for r in range(m):
            s += top[r] * discount(r)
        out[q] = s
    return out


@njit(cache=True, parallel=True)
def dcg_from_order(gains, order, boundaries, k):
    """DCG@k of each query for a given ranking (see :func:`ranked_order`); ``k <= 0`` means the whole query.

    With the ``reverse_ties=False`` order this equals :func:`dcg`.
    """
    nq = boundaries.shape[0] - 1
    out = np.zeros(nq)
    for q in prange(nq):
        a, b = boundaries[q], boundaries[q + 1]
        m = b - a if k <= 0 or k > b - a else k
        s = 0.0
        for r in range(m):
            s += gains[a + order[a + r]] * discount(r)
        out[q] = s
    return out


@njit(cache=True, parallel=True)
def tie_averaged_dcg(gains, scores, order, boundaries, k):
    """DCG@k with the gains of tied scores averaged over their ranks (scikit-learn's ``ignore_ties=False``).

    For a block of tied documents at ranks ``p .. p + m - 1`` the block adds
    ``mean(gains of the block) * sum_{r = p}^{min(p + m, k) - 1} discount(r)``: the expected DCG@k over all orders
    of the tied documents. ``order`` is any ranking by descending score (:func:`ranked_order`).
    """
    nq = boundaries.shape[0] - 1
    out = np.zeros(nq)
    for q in prange(nq):
        a, b = boundaries[q], boundaries[q + 1]
        m = b - a if k <= 0 or k > b - a else k
        s = 0.0
        r = 0
        while r < m:
            v = scores[a + order[a + r]]
            e = r + 1
            g = gains[a + order[a + r]]
            while e < b - a and scores[a + order[a + e]] == v:
                g += gains[a + order[a + e]]
                e += 1
            d = 0.0
            for j in range(r, min(e, m)):
                d += discount(j)
            s += g / (e - r) * d
            r = e
        out[q] = s
    return out
