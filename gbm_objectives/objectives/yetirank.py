r"""YetiRank (Gulin, Kuralenok & Pavlov 2011), CatBoost's default ranking loss (:class:`YetiRankObjective`,
registry name ``yetirank``).

>>> import numpy as np
>>> import gbm_objectives as go
>>> obj = go.YetiRankObjective(seed=0)
>>> g, h = obj.grad_hess(np.array([2.0, 0.0, 1.0, 1.0, 1.0]), np.zeros(5), group=[3, 2])
>>> bool(g[0] < 0 < g[1]), g[3:].tolist()   # the best doc is pushed up; an all-equal-label query gets 0
(True, [0.0, 0.0])
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .._core.jit import JIT, PARALLEL_MIN, copy_function
from .._core.validation import check_interval, check_positive_int, check_raw_score
from ._ranking_base import (
    check_relevance_labels,
    MAX_EXP_SPAN,
    PAIR_HESS_FLOOR,
    RankingObjective,
    advance,
    call_in_float64,
    check_seed,
    cost_blocks,
    labels_all_equal,
    query_streams,
    ranking_boundaries,
    ranking_weights,
    uniform_at,
)
from .base import Prepared

__all__ = ["YetiRankObjective"]

# CatBoost's pair weight factor ("magicConst = 0.15; // Like in GPU" in yetirank_helpers.cpp): it scales gradient and
# hessian alike, so it matters only against the engines' absolute regularisers (L2, min_sum_hessian_in_leaf)
_PAIR_SCALE = 0.15


_SIGN_OFF = np.int64(0x7FFFFFFFFFFFFFFF)


@njit(**JIT)
def _bucket_order(key, lo, hi, n, cnt, bucket, order, skey):
    """Ascending order of the int64 keys ``key[:n]`` into ``order`` (ties by index; ``skey`` gets the sorted keys):
    a counting sort into buckets of ``2^shift`` consecutive keys (``shift`` the smallest that leaves at most ``4 n``
    buckets between the smallest key ``lo`` and the largest ``hi``; a bucket is a subtraction and a shift), then an
    insertion sort on the exact keys, moved along with the documents, that only moves documents within their bucket.
    The noisy keys are spread smoothly, so this is O(n) on average, several times faster than a comparison sort
    here. The order is the stable sort of the keys whatever the buckets, so it does not depend on them."""
    nb = 4 * n  # 2n to 4n buckets used: few collisions for the insertion pass; measured ~4 % faster than 2n
    base = np.uint64(lo)
    span = np.uint64(hi) - base  # the keys' span as uint64: no overflow for keys of both signs
    shift = 0  # the smallest with span >> shift < nb (<= 63: nb >= 4)
    while shift < 56 and (span >> np.uint64(shift + 8)) >= np.uint64(nb):
        shift += 8
    while (span >> np.uint64(shift)) >= np.uint64(nb):
        shift += 1
    sh = np.uint64(shift)
    used = np.int64(span >> sh) + 1
    for b in range(used + 1):
        cnt[b] = 0
    for i in range(n):
        b = np.int64((np.uint64(key[i]) - base) >> sh)
        bucket[i] = b
        cnt[b + 1] += 1
    for b in range(used):
        cnt[b + 1] += cnt[b]
    for i in range(n):
        b = bucket[i]
        c = cnt[b]
        order[c] = i
        skey[c] = key[i]
        cnt[b] = c + 1
    for t in range(1, n):
        kv = skey[t]
        if skey[t - 1] <= kv:  # already in place (most documents: their bucket holds no larger key before them)
            continue
        v = order[t]
        u = t
        while u > 0 and skey[u - 1] > kv:
            skey[u] = skey[u - 1]
            order[u] = order[u - 1]
            u -= 1
        skey[u] = kv
        order[u] = v


@njit(**JIT)
def _yetirank_query(a, n, y, raw, n_perm, decay, state, e, noisy, dcs, skey, cnt, bucket, order, lam, hes,
                    want_loss):
    """Gradient/hessian of one query into ``lam``/``hes`` (row order); returns (new stream state, loss)."""
    smax = raw[a]
    smin = raw[a]
    for i in range(1, n):
        smax = max(smax, raw[a + i])
        smin = min(smin, raw[a + i])
    fast = smax - smin < MAX_EXP_SPAN
    for i in range(n):
        lam[i] = 0.0
        hes[i] = 0.0
        e[i] = math.exp(raw[a + i] - smax) if fast else 0.0  # in (e^-600, 1]
    key = noisy.view(np.int64)  # the noisy scores' bit patterns, in place
    dc = 1.0
    for k in range(n - 1):  # decay^k by the same chain of products in every permutation
        dcs[k] = dc
        dc *= decay
    loss = 0.0
    for _ in range(n_perm):
        # a noisy permutation: scores plus standard logistic noise log(u / (1 - u)). In the exp domain (CatBoost's
        # own form, exp(s) u / (1 - u), positive and finite here) no logarithm is needed. Doubles are ordered as
        # their bit patterns read as integers (negative ones with the non-sign bits flipped), exactly; the positive
        # noisy scores of the exp domain need no flip.
        lo = _SIGN_OFF
        hi = -_SIGN_OFF
        if fast:
            for i in range(n):
                u = uniform_at(state, i)
                noisy[i] = e[i] * (u / (1.0 - u))
                k = key[i]
                lo = min(lo, k)
                hi = max(hi, k)
        else:
            for i in range(n):
                u = uniform_at(state, i)
                noisy[i] = raw[a + i] + math.log(u / (1.0 - u))
                k = key[i]
                k = k if k >= 0 else k ^ _SIGN_OFF
                key[i] = k
                lo = min(lo, k)
                hi = max(hi, k)
        state = advance(state, n)
        _bucket_order(key, lo, hi, n, cnt, bucket, order, skey)
        # the pair at noisy ranks (t, t - 1), t = n - 1 .. 1, from the top down. A document's two pairs come one
        # after the other: its sums are updated once, (lam - g_above) + g_below in the order of the plain loop (which
        # added the pair above first), with the pair above carried in registers (0 for the top document: x - 0 = x,
        # and the sums are never -0)
        g_up = 0.0
        h_up = 0.0
        j = order[n - 1]
        yj = y[a + j]
        ej = e[j]
        for t in range(n - 1, 0, -1):
            i = j  # the lower document of the pair above (carried, not loaded again)
            yi = yj
            ei = ej
            j = order[t - 1]
            yj = y[a + j]
            ej = e[j]
            # branch-free (the label comparisons are unpredictable): equal labels get weight 0. p = P(lo above hi)
            # = sigmoid(s_lo - s_hi) with hi the higher label; grad[hi] -= W p, grad[lo] += W p
            wgt = dcs[n - 1 - t] * abs(yi - yj)
            i_wins = yi > yj
            if fast:
                p = (ej if i_wins else ei) / (ei + ej)
            else:
                d = raw[a + i] - raw[a + j]
                d = d if i_wins else -d  # s_hi - s_lo
                z = math.exp(-abs(d))
                p = z / (1.0 + z) if d >= 0 else 1.0 / (1.0 + z)
            g = wgt * p
            g = -g if i_wins else g
            h = wgt * max(p * (1.0 - p), PAIR_HESS_FLOOR)
            lam[i] = (lam[i] - g_up) + g
            hes[i] = (hes[i] + h_up) + h
            g_up = g
            h_up = h
            if want_loss:  # log(1 + exp(-(s_hi - s_lo)))
                d = raw[a + i] - raw[a + j]
                d = d if i_wins else -d
                loss += wgt * (max(-d, 0.0) + math.log1p(math.exp(-abs(d))))
        lam[order[0]] -= g_up
        hes[order[0]] += h_up
    return state, loss


def _yetirank_queries(y, raw, w, boundaries, blocks, state, n_perm, decay, want_loss, losses, grad_out, hess_out):
    scale = _PAIR_SCALE / n_perm
    for bi in prange(blocks.shape[0] - 1):  # blocks of queries of about equal cost; scratch allocated per block
        q0 = blocks[bi]
        q1 = blocks[bi + 1]
        m = 2
        for q in range(q0, q1):
            m = max(m, boundaries[q + 1] - boundaries[q])
        f64 = np.empty(5 * m)  # the scratch of the block's largest query: floats, then integers
        i64 = np.empty(8 * m + 1, dtype=np.int64)
        e = f64[:m]
        noisy = f64[m : 2 * m]
        lam = f64[2 * m : 3 * m]
        hes = f64[3 * m : 4 * m]
        dcs = f64[4 * m :]
        skey = i64[:m]
        bucket = i64[m : 2 * m]
        order = i64[2 * m : 3 * m]
        cnt = i64[3 * m :]
        for q in range(q0, q1):
            a = boundaries[q]
            n = boundaries[q + 1] - a
            losses[q] = 0.0
            if labels_all_equal(y, a, n):  # one document, or all labels equal: no pair (the stream is not advanced)
                for r in range(a, a + n):
                    grad_out[r] = 0.0
                    hess_out[r] = 0.0
                continue
            state[q], loss = _yetirank_query(a, n, y, raw, n_perm, decay, state[q], e, noisy, dcs, skey, cnt, bucket,
                                             order, lam, hes, want_loss)
            losses[q] = loss * scale
            for i in range(n):
                wr = w[a + i] if w.shape[0] else 1.0
                grad_out[a + i] = lam[i] * scale * wr
                hess_out[a + i] = hes[i] * scale * wr


_yetirank_parallel = njit(parallel=True, **JIT)(copy_function(_yetirank_queries, "_parallel"))
_yetirank_serial = njit(**JIT)(copy_function(_yetirank_queries, "_serial"))


class YetiRankObjective(RankingObjective):
    r"""YetiRank: pairwise logistic loss on the neighbouring pairs of random noisy permutations (CatBoost's
    ``YetiRank``, its CPU rule).

    At every boosting round, for each query of :math:`n \ge 2` documents and each of ``n_permutations``
    permutations, the scores are perturbed with standard logistic noise and sorted (descending)::

        z_i = s_i + log(u_i / (1 - u_i)),   u_i ~ U(0, 1)           (CatBoost: exp(s_i) u_i / (1 - u_i))
        for the documents at noisy ranks t - 1 and t (t = 1 .. n - 1) with different labels:
            W[hi, lo] += 0.15 * decay^(t - 1) * |y_hi - y_lo| / n_permutations

    (``hi`` is the one with the higher label). The loss of the round is the pairwise logistic loss with those
    weights, and ``grad``/``hess`` are its exact first and (diagonal) second derivatives at the current scores::

        loss = sum_{hi, lo} W[hi, lo] log(1 + exp(-(s_hi - s_lo)))
        p = 1 / (1 + exp(s_hi - s_lo)):  grad[hi] -= W p,  grad[lo] += W p,  hess[hi], hess[lo] += W p (1 - p)

    (:math:`p (1 - p)` floored at 1e-16, as LambdaRank's pairs). The weights are locally constant in the scores
    (the permutations change only where two noisy scores cross), so for fixed draws ``grad`` is the exact gradient
    of :meth:`loss`. Averaged over the noise, a pair's weight is its probability of being neighbours near the
    top of a noisy ranking, decayed by rank: the expected weights concentrate on the pairs the current model
    nearly confuses near the top, which is YetiRank's approximation of the NDCG change of a swap. Row weights
    multiply both at the end (CatBoost multiplies the pair weights by the query weight). Queries of one document or
    of equal labels get 0 and draw nothing.

    Randomness. Each query has its own stream (SplitMix64, seeded by ``seed`` and the query's index) that every
    call advances: :meth:`grad_hess` and :meth:`loss` use the first round's draws, a training through the adapters
    new ones every round, as CatBoost does. Results depend only on ``seed`` and the call count, not on the thread
    count. (CatBoost's own generator and block seeding are not reproduced: the loss is the same in distribution,
    not draw for draw.)

    Parameters
    ----------
    n_permutations : int, default 10
        Noisy permutations per query and round (CatBoost's ``permutations``, default 10).
    decay : float in [0, 1], default 0.85
        Factor per rank of the pair weights (CatBoost's ``decay``, default 0.85).
    seed : int, default 0
        Seed of the per-query streams.

    References
    ----------
    A. Gulin, I. Kuralenok, D. Pavlov, "Winning the Transfer Learning Track of Yahoo!'s Learning To Rank Challenge
    with YetiRank", JMLR W&CP 14 (2011) 63-76. CatBoost, ``catboost/private/libs/algo/yetirank_helpers.cpp``
    (pairs) and ``TPairLogitError`` (derivatives).
    """

    name = "yetirank"
    # the permutation decay is the quality knob (n_permutations trades noise for time: CatBoost's 10 is kept)
    search_space = {"decay": ("float", 0.5, 1.0, False)}

    def __init__(self, n_permutations=10, decay=0.85, seed=0):
        self.n_permutations = check_positive_int(n_permutations, "n_permutations")
        self.decay = check_interval(decay, "decay", 0.0, 1.0, closed="both")
        self.seed = check_seed(seed)

    def _check_y(self, y_true):
        return check_relevance_labels(y_true)

    def prepare(self, y_true, *, sample_weight=None, group=None, qid=None):
        """Validate once; the cache holds each query's random stream, advanced by every gradient call."""
        y = self._check_y(y_true)
        b = ranking_boundaries(len(y), group, qid)
        w = ranking_weights(sample_weight, len(y), b)
        return Prepared(y, w, b, {"state": query_streams(self.seed, len(b) - 1), "blocks": cost_blocks(b, 1)})

    def _run(self, prepared, raw, w, grad_out, hess_out, want_loss=False):
        if prepared.boundaries is None:
            raise ValueError("a ranking objective needs group (query sizes) or qid (per-row query ids)")
        raw = np.ascontiguousarray(raw, dtype=np.float64)  # one compiled signature: float64 throughout
        losses = np.empty(len(prepared.boundaries) - 1)
        kernel = _yetirank_parallel if prepared.n_samples >= PARALLEL_MIN["listwise"] else _yetirank_serial
        call_in_float64(kernel, grad_out, hess_out, prepared.y, raw, np.ascontiguousarray(w, dtype=np.float64),
                        prepared.boundaries, prepared.cache["blocks"], prepared.cache["state"], self.n_permutations,
                        self.decay, want_loss, losses)
        return losses

    def _kernel(self, prepared, raw, w, grad_out, hess_out):
        self._run(prepared, raw, w, grad_out, hess_out)

    def loss(self, y_true, raw_score, *, sample_weight=None, group=None, qid=None):
        """The first round's weighted pairwise logistic loss (the draws of :meth:`grad_hess`), summed over pairs
        and divided by the number of queries."""
        if sample_weight is not None:
            raise ValueError("YetiRankObjective.loss is a pairwise loss; sample_weight must be None")
        prepared = self.prepare(y_true, group=group, qid=qid)
        raw = check_raw_score(raw_score, prepared.n_samples).astype(np.float64, copy=False)
        n = prepared.n_samples
        losses = self._run(prepared, raw, np.empty(0), np.empty(n), np.empty(n), want_loss=True)
        return float(losses.sum()) / max(len(losses), 1)
