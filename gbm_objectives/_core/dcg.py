"""DCG building blocks (and ERR's stop probabilities) shared by the ranking objectives and the ranking metrics.

Both the ΔNDCG used in training and the NDCG we report are computed from these few kernels, over the one group
representation of :mod:`gbm_objectives._core.segments` (int64 ``boundaries``), so the two cannot drift apart.

Conventions (LightGBM's, in ``rank_objective.hpp`` / ``dcg_calculator.cpp``):

* gain of a document with integer label ``l``: ``label_gain[l]``, by default ``2**l - 1``;
* discount at 0-based rank ``r``: ``1 / log2(r + 2)``;
* ranking: scores sorted descending with a *stable* sort (ties keep input order);
* ``DCG@k = sum_{r < k} gain(doc at r) * discount(r)``, ideal DCG from gains sorted descending.

>>> import numpy as np
>>> from gbm_objectives._core.dcg import default_label_gain, row_gains, ideal_dcg, ranked_order, dcg_query, discount_table
>>> g = row_gains(np.array([0, 2, 1]), default_label_gain())      # gains 0, 3, 1
>>> b = np.array([0, 3])
>>> float(ideal_dcg(g, b, 3)[0])                                   # 3/log2(2) + 1/log2(3)
3.6309297535714578
>>> s = np.array([0.3, 0.1, 0.2])
>>> order = ranked_order(s, b, False)                              # rows 0, 2, 1
>>> float(dcg_query(g[order], s[order], 3, 3, False, discount_table(3)))   # 0 + 1/log2(3) + 3/log2(4)
2.1309297535714578
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .sort import heapsort

__all__ = [
    "default_label_gain",
    "row_gains",
    "discount",
    "discount_table",
    "top_gains_into",
    "top_order_into",
    "stable_desc_order",
    "stable_desc_order_into",
    "ideal_dcg_query",
    "ideal_dcg",
    "dcg_query",
    "ranked_order",
    "rank_query",
    "err_stop_probabilities",
    "MAX_DEFAULT_LABEL",
]

MAX_DEFAULT_LABEL = 31  # LightGBM's default label_gain has entries for labels 0..30


def default_label_gain(n=MAX_DEFAULT_LABEL):
    """LightGBM's default gains ``2**l - 1`` for labels ``l = 0 .. n - 1``."""
    return (2.0 ** np.arange(n)) - 1.0


def err_stop_probabilities(y, max_grade):
    """ERR's stop probability ``R = (2^y - 1) / 2^max_grade`` of every label (Chapelle et al. 2009), computed as
    ``2^(y - max_grade) - 2^-max_grade``: no intermediate ``2^y``, so no overflow whatever the grade (``2^y`` alone
    overflows above 1023); for integer labels and grades both forms are exact, hence equal.

    **The** stop probability of the package: :func:`gbm_objectives.err_score` and
    ``StochasticRankObjective(metric="err")`` both call it. No validation (``y <= max_grade`` is the callers').

    >>> err_stop_probabilities(np.array([0.0, 1.0, 2.0]), 2.0).tolist()
    [0.0, 0.25, 0.75]
    """
    return np.exp2(np.asarray(y, dtype=np.float64) - max_grade) - np.exp2(-float(max_grade))


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


@njit(inline="always", cache=True)
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
        for i in range(n):  # a loop, not ``idx[:] = tmp``: a slice assignment compiles numba's shape-error path
            idx[i] = tmp[i]


# up to this query size, ranking by counting (vectorized O(n^2)) beats the merge sort: per 1M rows, measured on the
# project's machine (numba 0.68), counting 12 / 39 / 90 ms against merging 56 / 73 / 82 ms for queries of 128 / 512
# / 1024 rows
_COUNTING_MAX = 512


@njit(inline="always", cache=True)
def rank_query(key, idx, tmp, tmp2, reverse_ties):
    """Write into ``idx`` the local indices of one query in :func:`_before` order (keys without NaN).

    Small queries by counting: ``tmp[i]`` = the number of rows with a larger key (a branch-free loop the compiler
    vectorizes) is the first position of row ``i``'s tie block, and one pass in row order (reversed with
    ``reverse_ties``) hands each block's positions out in turn (``tmp2``: taken so far per block), O(n) whatever the
    ties. On the scores of a 5-round LightGBM model (many ties) this took 25 ms per million rows in queries of
    20..250, against 80 for :func:`stable_desc_order` and 45 for a search of the first free slot per row, which costs
    the square of each tie block (measured). Larger queries: :func:`_sort_desc`. Both give the same total order.
    ``tmp`` and ``tmp2`` are int64 work buffers of at least ``len(key)`` entries (no allocation, so it can run inside
    a parallel loop).
    """
    m = key.shape[0]
    if m > _COUNTING_MAX:
        for r in range(m):
            idx[r] = r
        _sort_desc(key, idx, tmp, reverse_ties)
        return
    for i in range(m):
        ki = key[i]
        c = 0
        for j in range(m):
            c += key[j] > ki
        tmp[i] = c
        tmp2[i] = 0
    for t in range(m):
        i = m - 1 - t if reverse_ties else t
        p = tmp[i]
        idx[p + tmp2[p]] = i
        tmp2[p] += 1


@njit(cache=True)
def stable_desc_order_into(scores, order, tmp, tmp2):
    """:func:`stable_desc_order` of scores without NaN, written into ``order`` (int64, ``len(scores)`` entries) without
    allocation (:func:`rank_query`; ``tmp`` and ``tmp2``: int64 work buffers of as many entries). Used by the
    LambdaRank and LambdaLoss kernels (block scratch)."""
    rank_query(scores, order, tmp, tmp2, False)


def ranked_order(scores, boundaries, reverse_ties):
    """Per-query ranking, as local indices in one int64 array of ``len(scores)``.

    ``order[boundaries[q] + r]`` is the 0-based position inside query ``q`` of the document ranked ``r``: scores
    descending, ties in input order (``reverse_ties=False``: the order of :func:`stable_desc_order`, LightGBM's
    ``stable_sort``) or in reverse input order (``reverse_ties=True``: trec_eval's score-then-docno-descending order
    when docnos increase with the row).
    """
    n = scores.shape[0]
    order = np.empty(n, dtype=np.int64)
    tmp = np.empty(n, dtype=np.int64)
    tmp2 = np.empty(n, dtype=np.int64)
    _ranked_order_into(scores, boundaries, bool(reverse_ties), order, tmp, tmp2)
    return order


@njit(cache=True, parallel=True)
def _ranked_order_into(scores, boundaries, reverse_ties, order, tmp, tmp2):
    for q in prange(boundaries.shape[0] - 1):
        a, b = boundaries[q], boundaries[q + 1]
        rank_query(scores[a:b], order[a:b], tmp[a:b], tmp2[a:b], reverse_ties)




@njit(inline="always", cache=True)
def top_order_into(key, idx, kk, reverse_ties):
    """Write into ``idx[:kk]`` the first ``kk`` local indices of :func:`rank_query`'s order (a selection: one pass
    with insertion into a bounded sorted buffer, O(n) comparisons plus O(k) per insertion, no sort of the query).
    Returns how many were written (``min(kk, len(key))``)."""
    cnt = 0
    if kk <= 0:
        return 0
    for i in range(key.shape[0]):
        if cnt == kk:
            if not _before(key, i, idx[kk - 1], reverse_ties):
                continue
            j = kk - 1
        else:
            j = cnt
            cnt += 1
        while j > 0 and _before(key, i, idx[j - 1], reverse_ties):
            idx[j] = idx[j - 1]
            j -= 1
        idx[j] = i
    return cnt


_TOP_INSERTION_MAX = 64  # ideal DCG of a longer prefix: sort the query's gains instead of the bounded insertion


@njit(cache=True)
def _heapsort_desc(v, m):
    """Sort ``v[:m]`` descending, in place (:func:`gbm_objectives._core.sort.heapsort`, then reversed: no
    allocation, and a small kernel to compile; numpy's ``sort`` costs about a second of compilation). Values only,
    so any correct sort gives the same array."""
    heapsort(v, 0, m)
    for i in range(m // 2):
        t = v[i]
        v[i] = v[m - 1 - i]
        v[m - 1 - i] = t


@njit(inline="always", cache=True)
def ideal_dcg_query(gains, a, b, k, top, disc):
    """Ideal DCG@k of the query ``gains[a:b]``: its ``k`` largest gains, descending, times ``disc[r]``.

    **The** ideal DCG of the package: the LambdaRank objective (through :func:`ideal_dcg`) and every NDCG of
    :mod:`gbm_objectives.metrics` call this function, so the ΔNDCG used in training and the NDCG reported are
    normalised by the same number. ``k <= 0`` means the whole query; ``top`` is a work buffer of at least
    ``b - a`` entries; ``disc`` the discount table (:func:`discount_table`) of at least ``min(k, b - a)`` entries.
    The gains are summed in rank order, so the value does not depend on how the top gains were found (a bounded
    insertion for a short prefix, a sort otherwise).
    """
    m = b - a
    kk = m if k <= 0 or k > m else k
    if kk <= _TOP_INSERTION_MAX:
        top_gains_into(gains, a, b, top, kk)
    else:
        for i in range(m):
            top[i] = gains[a + i]
        _heapsort_desc(top, m)
    s = 0.0
    for r in range(kk):
        s += top[r] * disc[r]
    return s


@njit(cache=True)
def ideal_dcg(gains, boundaries, k):
    """Ideal DCG@k of each query (:func:`ideal_dcg_query`). ``k <= 0``: the whole query. Serial: it runs once per
    prepared data set (objectives' ``prepare``), linear in the rows, and a parallel twin would cost a second of
    compilation for nothing."""
    nq = boundaries.shape[0] - 1
    out = np.zeros(nq)
    longest = 0
    for q in range(nq):
        longest = max(longest, boundaries[q + 1] - boundaries[q])
    disc = discount_table(longest if k <= 0 or k > longest else k)
    top = np.empty(longest)
    for q in range(nq):
        out[q] = ideal_dcg_query(gains, boundaries[q], boundaries[q + 1], k, top, disc)
    return out


@njit(inline="always", cache=True)
def dcg_query(ranked_gains, ranked_scores, m, mk, tie_avg, disc):
    """DCG@mk of one query of ``m`` documents, given its gains (and scores) in ranked order.

    ``tie_avg=False``: ``sum_{r < mk} gain[r] * disc[r]`` (``ranked_gains`` needs ``mk`` entries, ``ranked_scores``
    is not read). ``tie_avg=True`` (scikit-learn's ``ignore_ties=False``): a block of tied scores at ranks
    ``p .. p + c - 1`` adds ``mean(gains of the block) * sum_{r = p}^{min(p + c, mk) - 1} disc[r]``, the expected
    DCG@mk over all orders of the tie (both arrays need all ``m`` entries).
    """
    s = 0.0
    if not tie_avg:
        for r in range(mk):
            s += ranked_gains[r] * disc[r]
        return s
    r = 0
    while r < mk:
        v = ranked_scores[r]
        e = r + 1
        g = ranked_gains[r]
        while e < m and ranked_scores[e] == v:
            g += ranked_gains[e]
            e += 1
        d = 0.0
        for j in range(r, min(e, mk)):
            d += disc[j]
        s += g / (e - r) * d
        r = e
    return s
