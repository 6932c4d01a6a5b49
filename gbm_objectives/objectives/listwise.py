r"""Listwise ranking losses of the neural ranking libraries, for gradient boosting: softmax cross entropy
(ListNet), ListMLE, ApproxNDCG and LambdaLoss (NDCG-Loss2++).

Each is a :class:`~gbm_objectives.objectives.base.Objective` over the one group representation of
:mod:`gbm_objectives._core.segments`; ``grad_hess`` returns the derivatives of the *sum* over queries of the per-query
loss, :meth:`loss` its mean over queries. Queries of one document, or whose labels are all equal, carry no ranking
information: every objective here gives them zero loss, gradient and hessian. Row weights multiply gradient and
hessian at the end. The kernels are compiled (numba), parallel over queries for large inputs, and compute in double
precision whatever the scores' dtype (float32 scores are converted first).

>>> import numpy as np
>>> import gbm_objectives as go
>>> y, s = np.array([2.0, 0.0, 1.0, 1.0]), np.zeros(4)
>>> for obj in (go.SoftmaxRankObjective(), go.ListMLEObjective(), go.ApproxNDCGObjective(), go.LambdaLossObjective()):
...     g, h = obj.grad_hess(y, s, group=[3, 1])
...     print(obj.name, bool(g[0] < g[2] < g[1]), float(g[3]), bool((h >= 0).all()))
softmax_rank True 0.0 True
listmle True 0.0 True
approx_ndcg True 0.0 True
lambdaloss True 0.0 True
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .._core import dcg as _dcg
from .._core.jit import JIT, PAIR_FASTMATH, PARALLEL_MIN, specialise
from .._core.validation import check_interval, check_positive_int, check_raw_score
from ._ranking_base import (MAX_EXP_SPAN, RankingObjective, check_relevance_labels, cost_blocks, labels_all_equal,
                            ranking_boundaries, ranking_weights)
from .base import Prepared

__all__ = ["SoftmaxRankObjective", "ListMLEObjective", "ApproxNDCGObjective", "LambdaLossObjective"]

# ApproxNDCG keeps each pair's sigma (1 - sigma) from pass 1 for pass 2 in the query blocks whose longest query has
# at most this many documents (a buffer of n (n - 1) / 2 doubles per block: 8 MB at this bound; the benchmark's 250
# documents need 250 kB); other blocks compute them again in pass 2
_STORE_MAX_ROWS = 1448
_LN2 = math.log(2.0)
_PAIR_HESS_FLOOR = 1e-16  # as LambdaRank's: a positive hessian wherever the gradient is not 0
_COMPLEMENT_MIN = 2.0**-26  # below it 1 - rho has lost half its digits to cancellation; sum the others instead
_KINDS = {"softmax_rank": 0, "listmle": 1, "approx_ndcg": 2, "lambdaloss": 3}
_WEIGHTINGS = ("ndcg2pp", "ndcg2", "lambdarank")
# Smallest temperature of SoftmaxRank and ApproxNDCG. Their hessians carry the factor 1 / T^2, which overflows to inf
# below T = DBL_MAX^-1/2 = 7.5e-155, and inf times a saturated (0) pair term is NaN; the sums it multiplies are at
# most 1/4 (softmax) and (n - 1) / (8 ln 2) < 4e8 (ApproxNDCG, any query below 2^31 rows), so 1e-100 keeps every
# hessian below 1e209 and leaves a factor above 1e99 for the sample weights. (The scaled score differences
# (s_j - s_i) / T of distant scores may overflow whatever the bound; harmless: the kernels exponentiate only
# non-positive ones, exp(-inf) = 0, and ApproxNDCG takes its exp-per-pair path for a span of 600 T or more, an
# infinite one included.)
# A temperature this small leaves no smoothing to speak of: every sigmoid is a step beyond a score gap of ~1e-97.
_MIN_TEMPERATURE = 1e-100


def _check_temperature(temperature):
    """``temperature`` in [_MIN_TEMPERATURE, 1e6], with the reason for the lower bound in the error."""
    t = check_interval(temperature, "temperature", 0, 1e6, closed="right")
    if t < _MIN_TEMPERATURE:
        raise ValueError(
            f"temperature must be >= {_MIN_TEMPERATURE:g}: the hessian is scaled by 1/temperature^2, which overflows "
            f"to inf below about 7.5e-155 (and inf times a saturated pair's 0 is NaN); got {t!r}"
        )
    return t


def _delta_table(n):
    """LambdaLoss's delta by rank distance ``d = 0 .. n - 1``: ``|1/log2(1 + d) - 1/log2(2 + d)|`` (0 at d = 0)."""
    d = np.arange(1, n, dtype=np.float64)
    return np.concatenate(([0.0], np.abs(1.0 / np.log2(1.0 + d) - 1.0 / np.log2(2.0 + d))))


# The same table as a module constant for :func:`_lambdaloss_groups`, queries up to _DELTA_ROWS documents: numba
# compiles a global array in as constant data, which no store can modify, so the compiler vectorises its lookup by
# rank distance (a gather) beside the loop's stores. Passed as an argument (read-only or not) the table kept that loop
# entirely scalar (no run-time alias check can cover an index that is not affine), and copying each tile's values into
# scratch first cost about as much as skipping the equal-gain pairs saved (measured).
_DELTA_ROWS = 4096
_DELTA = _delta_table(_DELTA_ROWS)


# =====================================================================================================
# Per-query kernels: each writes grad/hess of rows a..a+n-1 and returns the query's loss
# =====================================================================================================
@njit(**JIT)
def _softmax_query(a, n, t, raw, inv_temp, grad_out, hess_out):
    m = raw[a]
    for i in range(1, n):
        m = max(m, raw[a + i])
    z = 0.0
    for i in range(n):
        z += math.exp((raw[a + i] - m) * inv_temp)
    logz = math.log(z)
    loss = 0.0
    for i in range(n):
        lr = (raw[a + i] - m) * inv_temp - logz
        rho = math.exp(lr)
        if t[a + i] != 0.0:  # a target of 0 adds 0, also where lr is -inf ((s - m) / T overflowed): not 0 * inf
            loss -= t[a + i] * lr
        g = (rho - t[a + i]) * inv_temp
        om = 1.0 - rho
        if om < _COMPLEMENT_MIN:  # rho rounds to ~1: 1 - rho = sum_{j != i} rho_j, summed without cancellation
            om = 0.0
            for j in range(n):
                if j != i:
                    om += math.exp((raw[a + j] - m) * inv_temp - logz)
        h = rho * om * inv_temp * inv_temp
        grad_out[a + i] = g
        hess_out[a + i] = max(h, _PAIR_HESS_FLOOR) if g != 0.0 else h
    return loss


@njit(**JIT)
def _listmle_query(a, n, y, raw, grad_out, hess_out):
    # Log space throughout: log Z_L by a log-sum-exp with a running max, and every product e_j / Z_L formed as
    # p_jL = exp(s_j - log Z_L) <= 1, so no finite score overflows or underflows into inf/inf or 0 * inf.
    # labels ascending, ties in row order (a stable sort): the package's ranking of the keys -y (descending, ties in
    # row order; the same total order as numpy's stable argsort, without compiling numpy's merge sort)
    key = np.empty(n)
    for i in range(n):
        key[i] = -y[a + i]
    order = np.empty(n, dtype=np.int64)
    _dcg.rank_query(key, order, np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64), False)
    # levels ascending: log Z (over labels <= level), count; level of each position in `order`
    lvl_lz = np.empty(n)
    lvl_c = np.empty(n)
    lvl_of = np.empty(n, dtype=np.int64)
    nl = 0
    mx = -np.inf  # running max of the scores added so far
    z = 0.0  # sum of exp(s - mx) over them
    r = 0
    while r < n:
        s = r
        lab = y[a + order[r]]
        while r < n and y[a + order[r]] == lab:
            v = raw[a + order[r]]
            if v > mx:
                z = z * math.exp(mx - v) + 1.0
                mx = v
            else:
                z += math.exp(v - mx)
            lvl_of[r] = nl
            r += 1
        lvl_lz[nl] = mx + math.log(z)
        lvl_c[nl] = r - s
        nl += 1
    # suffix sums over the scored levels L' >= L > lowest, rescaled by Z_L so each term is <= c_L':
    #   A_L = sum c_L' Z_L / Z_L',  B_L = sum c_L' (Z_L / Z_L')^2;  e_j sum c/Z = p A,  e_j^2 sum c/Z^2 = p^2 B
    sa = np.zeros(nl + 1)
    sb = np.zeros(nl + 1)
    loss = 0.0
    for L in range(nl - 1, 0, -1):
        if L == nl - 1:
            sa[L] = lvl_c[L]
            sb[L] = lvl_c[L]
        else:
            ratio = math.exp(lvl_lz[L] - lvl_lz[L + 1])
            sa[L] = lvl_c[L] + sa[L + 1] * ratio
            sb[L] = lvl_c[L] + sb[L + 1] * (ratio * ratio)
        loss += lvl_c[L] * lvl_lz[L]
    for r in range(n):
        i = order[r]
        L = lvl_of[r]
        if L == 0:  # lowest block: competes in every scored level above it
            if nl < 2:
                grad_out[a + i] = 0.0
                hess_out[a + i] = 0.0
                continue
            Ls = 1
        else:
            Ls = L
            loss -= raw[a + i]
        p = math.exp(raw[a + i] - lvl_lz[Ls])
        g = p * sa[Ls]
        h = max(p * (sa[Ls] - p * sb[Ls]), 0.0)
        if L > 0:
            g -= 1.0
        grad_out[a + i] = g
        hess_out[a + i] = max(h, _PAIR_HESS_FLOOR) if g != 0.0 else h
    return loss


# ApproxNDCG and LambdaLoss sort the query once by score (descending, stable) and take each pair's sigmoid as a
# ratio of per-document exponentials e_r = exp((s_r - s_max) / T) in (0, 1], as LambdaRank's pair loop does: for
# ranks i < j, r = e_j / e_i = exp(-(s_i - s_j) / T) in (0, 1] and v = 1 / (1 + r) in [1/2, 1] give
# sigma((s_j - s_i) / T) = r v, sigma((s_i - s_j) / T) = v and sigma (1 - sigma) = r v^2, one division a pair and no
# exp. Where the query's span / T reaches MAX_EXP_SPAN (e would underflow) r is exp(-(s_i - s_j) / T) per pair,
# which cannot overflow either. The inner loops are branch-free over views starting at i + 1, so they vectorise
# with the PAIR_FASTMATH flags; every product in them has factors in [0, 1], bounded by the gains, weights and 1 / maxDCG,
# or 1 / e_i <= exp(600) (the temperature is applied once per document, after the sums), or a ratio e_j / e_i <=
# exp(600) of two documents not in rank order, so whatever order the flags allow, no product exceeds about 1e275:
# no inf, hence no 0 * inf = NaN.
#
# Speed (the pair loops are most of the cost; measured on the ~1M-row set of bench_ranking_family.py, where the
# division's throughput and per-row loop overhead dominated): each pair loop is a compiled function of its own (inside
# the query function, ApproxNDCG's pass 2 ran about 2x slower), ApproxNDCG's pass 1 stores each pair's
# sigma (1 - sigma) for pass 2 (per-block scratch, queries up to _STORE_MAX_ROWS documents), and the fast paths take
# the rows four at a time (*_tiles*): each column is loaded and its accumulators updated once per four pairs, and the
# four sigmoids share one division (:func:`_inverse4`).
# LambdaLoss without truncation (the fast path, up to _DELTA_ROWS documents) visits only the pairs of different
# labels, in an order grouped by label (:func:`_lambdaloss_groups`: 41 % of the benchmark set's pairs have equal
# labels and weigh 0), and ranks its queries by counting (:func:`_dcg.stable_desc_order_into`: the merge sort of
# :func:`_dcg.stable_desc_order` took about a third of the whole call on the benchmark's scores, which have many
# ties). ApproxNDCG's fast path ranks nothing (it is permutation-equivariant) and skips the pairs of two documents of
# gain 0 (27 % of the benchmark set's pairs; see :func:`_approx_ndcg_query`).
@njit(inline="always", fastmath=PAIR_FASTMATH, **JIT)
def _inverse4(r0, r1, r2, r3):
    """(1 / (1 + r_u) for u = 0..3) with one division, for ratios r_u in (0, 1] (batched inversion).

    x_u = 1 + r_u in (1, 2], q = 1 / (x_0 x_1 x_2 x_3) in [1/16, 1), 1 / x_0 = x_1 (x_2 x_3 q), ...: every factor
    bounded, a few ulp from the extra roundings. The four-row tiles of the pair loops share it.
    """
    x0 = 1.0 + r0
    x1 = 1.0 + r1
    x2 = 1.0 + r2
    x3 = 1.0 + r3
    p01 = x0 * x1
    p23 = x2 * x3
    q = 1.0 / (p01 * p23)
    q01 = p23 * q
    q23 = p01 * q
    return x1 * q01, x0 * q01, x3 * q23, x2 * q23


@njit(inline="always", fastmath=PAIR_FASTMATH, **JIT)
def _approx_rank_pair(r):
    """Pass 1 of ApproxNDCG for ranks i < j: sigma((s_j - s_i)/T), sigma((s_i - s_j)/T) and w = sigma (1 - sigma)."""
    v = 1.0 / (1.0 + r)
    rv = r * v
    return rv, v, rv * v


@njit(inline="always", fastmath=PAIR_FASTMATH, **JIT)
def _approx_grad_pair(w, d):
    """Pass 2 of ApproxNDCG: (w d, w |d|), w = sigma (1 - sigma) of the pair, d = a_j - a_i."""
    return w * d, w * abs(d)


@njit(fastmath=PAIR_FASTMATH, **JIT)
def _approx_tiles1(n, rows, ee, ie, pi, ww):
    """Pass 1 (fast path, stored weights) for rows i .. i + 3 at once, over every full tile; returns the first row left.

    As :func:`_lambdaloss_tiles`: each column is loaded and its pi updated once per four pairs, and the four
    sigmoids share one division. The documents are in input order (ApproxNDCG needs no ranking), so a pair's ratio
    is taken as q = min(e_j (1 / e_i), e_i (1 / e_j)) in (0, 1] (``ie`` = 1 / ``ee``; both products finite, at
    most exp(600)): x_u = 1 + q_u in (1, 2] and q = 1 / (x_0 x_1 x_2 x_3) in [1/16, 1) as for ranked rows, and the
    row receives q v or v as the column ranks below or above it.
    """
    i = 0
    while i + 4 <= rows and n - i - 4 >= 8:
        for u in range(i, i + 3):  # pairs inside the tile (r = e_j / e_u in [exp(-600), exp(600)]: no batching)
            inv_eu = ie[u]
            ou = u * (n - 1) - u * (u - 1) // 2 - u - 1
            for j in range(u + 1, i + 4):
                up, down, w = _approx_rank_pair(ee[j] * inv_eu)
                pi[u] += up
                pi[j] += down
                ww[ou + j] = w
        j0 = i + 4
        m = n - j0
        o0 = i * (n - 1) - i * (i - 1) // 2 + 3  # row i's pairs from column j0 = i + 4
        o1 = o0 + (n - i - 1) - 1  # row i + 1 starts n - i - 1 later, its column j0 is 2 in
        o2 = o1 + (n - i - 2) - 1
        o3 = o2 + (n - i - 3) - 1
        w0 = ww[o0 : o0 + m]
        w1 = ww[o1 : o1 + m]
        w2 = ww[o2 : o2 + m]
        w3 = ww[o3 : o3 + m]
        e0, e1, e2, e3 = ee[i], ee[i + 1], ee[i + 2], ee[i + 3]
        i0, i1, i2, i3 = ie[i], ie[i + 1], ie[i + 2], ie[i + 3]
        e_ = ee[j0:n]
        ie_ = ie[j0:n]
        pi_ = pi[j0:n]
        a0 = a1 = a2 = a3 = 0.0
        for t in range(m):
            e = e_[t]
            f = ie_[t]
            r0 = e * i0  # e_j / e_u
            r1 = e * i1
            r2 = e * i2
            r3 = e * i3
            b0 = e0 * f  # e_u / e_j
            b1 = e1 * f
            b2 = e2 * f
            b3 = e3 * f
            lo0 = r0 <= b0  # column j ranks below row u
            lo1 = r1 <= b1
            lo2 = r2 <= b2
            lo3 = r3 <= b3
            q0 = min(r0, b0)
            q1 = min(r1, b1)
            q2 = min(r2, b2)
            q3 = min(r3, b3)
            v0, v1, v2, v3 = _inverse4(q0, q1, q2, q3)
            u0 = q0 * v0
            u1 = q1 * v1
            u2 = q2 * v2
            u3 = q3 * v3
            a0 += u0 if lo0 else v0
            a1 += u1 if lo1 else v1
            a2 += u2 if lo2 else v2
            a3 += u3 if lo3 else v3
            pi_[t] += ((v0 if lo0 else u0) + (v1 if lo1 else u1)) + ((v2 if lo2 else u2) + (v3 if lo3 else u3))
            w0[t] = u0 * v0
            w1[t] = u1 * v1
            w2[t] = u2 * v2
            w3[t] = u3 * v3
        pi[i] += a0
        pi[i + 1] += a1
        pi[i + 2] += a2
        pi[i + 3] += a3
        i += 4
    return i


@njit(fastmath=PAIR_FASTMATH, **JIT)
def _approx_tiles2(n, rows, coef, ww, gr, he):
    """Pass 2 from the stored weights for rows i .. i + 3 at once (as :func:`_approx_tiles1`); returns the row left."""
    i = 0
    while i + 4 <= rows and n - i - 4 >= 8:
        for u in range(i, i + 3):
            ou = u * (n - 1) - u * (u - 1) // 2 - u - 1
            cu = coef[u]
            for j in range(u + 1, i + 4):
                gv, hv = _approx_grad_pair(ww[ou + j], coef[j] - cu)
                gr[u] += gv
                he[u] += hv
                gr[j] -= gv
                he[j] += hv
        j0 = i + 4
        m = n - j0
        o0 = i * (n - 1) - i * (i - 1) // 2 + 3
        o1 = o0 + (n - i - 1) - 1
        o2 = o1 + (n - i - 2) - 1
        o3 = o2 + (n - i - 3) - 1
        w0 = ww[o0 : o0 + m]
        w1 = ww[o1 : o1 + m]
        w2 = ww[o2 : o2 + m]
        w3 = ww[o3 : o3 + m]
        c0, c1, c2, c3 = coef[i], coef[i + 1], coef[i + 2], coef[i + 3]
        c_ = coef[j0:n]
        gr_ = gr[j0:n]
        he_ = he[j0:n]
        g0 = g1 = g2 = g3 = 0.0
        h0 = h1 = h2 = h3 = 0.0
        for t in range(m):
            cj = c_[t]
            gv0, hv0 = _approx_grad_pair(w0[t], cj - c0)
            gv1, hv1 = _approx_grad_pair(w1[t], cj - c1)
            gv2, hv2 = _approx_grad_pair(w2[t], cj - c2)
            gv3, hv3 = _approx_grad_pair(w3[t], cj - c3)
            g0 += gv0
            g1 += gv1
            g2 += gv2
            g3 += gv3
            h0 += hv0
            h1 += hv1
            h2 += hv2
            h3 += hv3
            gr_[t] -= (gv0 + gv1) + (gv2 + gv3)
            he_[t] += (hv0 + hv1) + (hv2 + hv3)
        gr[i] += g0
        gr[i + 1] += g1
        gr[i + 2] += g2
        gr[i + 3] += g3
        he[i] += h0
        he[i + 1] += h1
        he[i + 2] += h2
        he[i + 3] += h3
        i += 4
    return i


@njit(fastmath=PAIR_FASTMATH, **JIT)
def _approx_pass1(n, i0, rows, ss, ee, inv_temp, fast, pi, ww):
    """Approximate ranks ``pi`` (pairs i < j, rows ``i0 .. rows - 1``); with ``ww`` non-empty, each pair's
    w = sigma (1 - sigma) into it."""
    store = ww.shape[0] > 0
    off = i0 * (n - 1) - i0 * (i0 - 1) // 2  # row i's pairs (i, i + 1 .. n - 1) at ww[off : off + n - i - 1]
    for i in range(i0, rows):
        m = n - i - 1
        si = ss[i]
        inv_ei = 1.0 / ee[i]  # ee in [exp(-600), 1]: finite, r = e_j / e_i in [exp(-600), exp(600)]
        pi_ = pi[i + 1 : n]
        acc = 0.0
        if store:
            w_ = ww[off : off + m]
            if fast:
                e_ = ee[i + 1 : n]
                for t in range(m):
                    up, down, w = _approx_rank_pair(e_[t] * inv_ei)
                    acc += up
                    pi_[t] += down
                    w_[t] = w
            else:
                s_ = ss[i + 1 : n]
                for t in range(m):
                    up, down, w = _approx_rank_pair(math.exp((s_[t] - si) * inv_temp))
                    acc += up
                    pi_[t] += down
                    w_[t] = w
        elif fast:
            e_ = ee[i + 1 : n]
            for t in range(m):
                up, down, _w = _approx_rank_pair(e_[t] * inv_ei)
                acc += up
                pi_[t] += down
        else:
            s_ = ss[i + 1 : n]
            for t in range(m):
                up, down, _w = _approx_rank_pair(math.exp((s_[t] - si) * inv_temp))
                acc += up
                pi_[t] += down
        pi[i] += acc
        off += m


@njit(fastmath=PAIR_FASTMATH, **JIT)
def _approx_pass2(n, i0, rows, ss, ee, inv_temp, fast, coef, ww, gr, he):
    """Sums of w (a_j - a_k) and w |a_j - a_k| into ``gr``/``he`` (rows ``i0 .. rows - 1``); w read from ``ww``
    if filled, else recomputed."""
    store = ww.shape[0] > 0
    off = i0 * (n - 1) - i0 * (i0 - 1) // 2
    for i in range(i0, rows):
        m = n - i - 1
        si = ss[i]
        ci = coef[i]
        c_ = coef[i + 1 : n]
        gr_ = gr[i + 1 : n]
        he_ = he[i + 1 : n]
        ag = 0.0
        ah = 0.0
        if store:
            w_ = ww[off : off + m]
            for t in range(m):
                gv, hv = _approx_grad_pair(w_[t], c_[t] - ci)
                ag += gv
                ah += hv
                gr_[t] -= gv
                he_[t] += hv
        elif fast:
            inv_ei = 1.0 / ee[i]
            e_ = ee[i + 1 : n]
            for t in range(m):
                gv, hv = _approx_grad_pair(_approx_rank_pair(e_[t] * inv_ei)[2], c_[t] - ci)
                ag += gv
                ah += hv
                gr_[t] -= gv
                he_[t] += hv
        else:
            s_ = ss[i + 1 : n]
            for t in range(m):
                gv, hv = _approx_grad_pair(_approx_rank_pair(math.exp((s_[t] - si) * inv_temp))[2], c_[t] - ci)
                ag += gv
                ah += hv
                gr_[t] -= gv
                he_[t] += hv
        gr[i] += ag
        he[i] += ah
        off += m


@njit(**JIT)  # no fastmath flag: the pair loops it calls carry them (policy in _core.jit)
def _approx_ndcg_query(a, n, gains, raw, inv_max, inv_temp, ss, gg, ee, ie, pi, coef, gr, he, ww, order, rk, tmp,
                       grad_out, hess_out):
    # Scratch (length >= n): ss, gg, ee, ie, pi, coef, gr, he; order, rk, tmp (int64). Pass 1 stores each pair's
    # w = sigma (1 - sigma) in ww for pass 2 when ww has room for all n (n - 1) / 2 (queries up to _STORE_MAX_ROWS
    # documents); otherwise pass 2 computes them again. The passes are separate functions: compiled inside this one,
    # pass 2 ran ~2x slower. pi, loss, grad and hess are equivariant under any permutation of the documents, so the
    # fast path needs no ranking (it took a fifth of the call): it puts the documents of positive gain first, each
    # part in input order, and the pair loops take rows 0 .. rows - 1 only, skipping the pairs of two documents of
    # gain 0, which change nothing (such a document's pi is multiplied by its gain, 0, and the pair's w by
    # a_j - a_k = 0): 27 % of the benchmark set's pairs. The exp-per-pair path ranks them (descending), which bounds
    # every exp(s_j - s_i) of its pairs i < j by 1, and takes every pair.
    lo = raw[a]
    hi = raw[a]
    for r in range(a + 1, a + n):
        lo = min(lo, raw[r])
        hi = max(hi, raw[r])
    fast = (hi - lo) * inv_temp < MAX_EXP_SPAN
    order = order[:n]
    rows = n - 1
    if fast:
        p = 0
        for r in range(n):
            if gains[a + r] > 0.0:
                order[p] = r
                p += 1
        rows = min(p, n - 1)
        for r in range(n):
            if gains[a + r] == 0.0:
                order[p] = r
                p += 1
    else:
        _dcg.stable_desc_order_into(raw[a : a + n], order, rk, tmp)
    for r in range(n):
        o = a + order[r]
        ss[r] = raw[o]
        gg[r] = gains[o]
        ee[r] = 1.0  # stays 1 (unused) when the span takes the exp-per-pair path
        pi[r] = 1.0
        gr[r] = 0.0
        he[r] = 0.0
    npairs = n * (n - 1) // 2
    w_ = ww[:npairs] if ww.shape[0] >= npairs else ww[:0]
    if fast:
        for r in range(n):
            ee[r] = math.exp((ss[r] - hi) * inv_temp)  # in [exp(-600), 1]
            ie[r] = 1.0 / ee[r]
    tiled = fast and w_.shape[0] > 0
    _approx_pass1(n, _approx_tiles1(n, rows, ee, ie, pi, w_) if tiled else 0, rows, ss, ee, inv_temp, fast, pi, w_)
    approx = 0.0
    for i in range(n):
        lg = math.log2(1.0 + pi[i])
        approx += gg[i] / lg
        coef[i] = gg[i] * inv_max / ((1.0 + pi[i]) * _LN2 * lg * lg)
    i0 = _approx_tiles2(n, rows, coef, w_, gr, he) if tiled else 0
    _approx_pass2(n, i0, rows, ss, ee, inv_temp, fast, coef, w_, gr, he)
    t2 = inv_temp * inv_temp
    for r in range(n):
        grad_out[a + order[r]] = gr[r] * inv_temp
        hess_out[a + order[r]] = he[r] * t2
    return 1.0 - approx * inv_max


@njit(inline="always", fastmath=PAIR_FASTMATH, **JIT)
def _lambdaloss_pair(r, dg, wt):
    """One pair of LambdaLoss: (signed lambda added to the lower rank, hessian); wt is 0 for equal gains."""
    return _lambdaloss_pair_v(r, 1.0 / (1.0 + r), dg, wt)


@njit(inline="always", fastmath=PAIR_FASTMATH, **JIT)
def _lambdaloss_pair_v(r, v, dg, wt):
    """:func:`_lambdaloss_pair` given v = 1 / (1 + r)."""
    p = r * v if dg > 0.0 else v  # sigma(s_low - s_high): r v when the upper rank i is the high document
    gp = wt * p
    hh = wt * max(r * v * v, _PAIR_HESS_FLOOR)
    return (gp if dg > 0.0 else -gp), hh


@njit(fastmath=PAIR_FASTMATH, **JIT)
def _lambdaloss_rows(n, k, i0, ss, gg, ee, fast, disc, dtab, m1, m2, c, lam, hes):
    """The vectorised pair loop of LambdaLoss (rows i < min(n - 1, k), all j > i) into ``lam``/``hes``.

    A function of its own: compiled inside the query function, such a loop ran about 2x slower (ApproxNDCG's pass 2,
    measured). Rows from ``i0`` (those before are done by :func:`_lambdaloss_tiles`).
    """
    for i in range(i0, min(n - 1, k)):
        si = ss[i]
        gi = gg[i]
        di = disc[i]
        al = 0.0
        ah = 0.0
        g_ = gg[i + 1 : n]
        d_ = disc[i + 1 : n]
        t_ = dtab[1 : n - i]
        lam_ = lam[i + 1 : n]
        hes_ = hes[i + 1 : n]
        if fast:
            inv_ei = 1.0 / ee[i]  # ee in [exp(-600), 1]: finite
            e_ = ee[i + 1 : n]
            for t in range(n - i - 1):
                dg = gi - g_[t]
                wt = (m1 * t_[t] + m2 * (di - d_[t])) * (abs(dg) * c)
                sl, hh = _lambdaloss_pair(e_[t] * inv_ei, dg, wt)
                al -= sl
                lam_[t] += sl
                ah += hh
                hes_[t] += hh
        else:
            s_ = ss[i + 1 : n]
            for t in range(n - i - 1):
                dg = gi - g_[t]
                wt = (m1 * t_[t] + m2 * (di - d_[t])) * (abs(dg) * c)
                sl, hh = _lambdaloss_pair(math.exp(s_[t] - si), dg, wt)
                al -= sl
                lam_[t] += sl
                ah += hh
                hes_[t] += hh
        lam[i] += al
        hes[i] += ah


@njit(fastmath=PAIR_FASTMATH, **JIT)
def _lambdaloss_tiles(n, k, ss, gg, ee, disc, dtab, m1, m2, c, lam, hes):
    """Rows i .. i + 3 of the fast path at once, for every full tile below min(n - 1, k); returns the first row left.

    Each column j > i + 3 is loaded and its lam/hes updated once for four pairs, and the four sigmoids share one
    division (:func:`_inverse4`; every factor bounded: no reordering can overflow).
    """
    kk = min(n - 1, k)
    # the weight's factors pre-scaled once per query: wt = (T[j - u] + (D_u - D_j)) |G_u - G_j|
    gs = gg[:n] * c
    ds = disc[:n] * m2  # m2 is 0 or 1: exact
    ts = dtab[:n] * m1
    i = 0
    while i + 4 <= kk and n - i - 4 >= 8:
        # pairs inside the tile: columns i + 1 .. i + 3, one at a time
        for u in range(i, i + 3):
            inv_eu = 1.0 / ee[u]
            for j in range(u + 1, i + 4):
                dg = gs[u] - gs[j]
                wt = (ts[j - u] + (ds[u] - ds[j])) * abs(dg)
                sl, hh = _lambdaloss_pair(ee[j] * inv_eu, dg, wt)
                lam[u] -= sl
                lam[j] += sl
                hes[u] += hh
                hes[j] += hh
        j0 = i + 4
        m = n - j0
        g0, g1, g2, g3 = gs[i], gs[i + 1], gs[i + 2], gs[i + 3]
        d0, d1, d2, d3 = ds[i], ds[i + 1], ds[i + 2], ds[i + 3]
        v0_, v1_, v2_, v3_ = 1.0 / ee[i], 1.0 / ee[i + 1], 1.0 / ee[i + 2], 1.0 / ee[i + 3]
        g_ = gs[j0:n]
        d_ = ds[j0:n]
        e_ = ee[j0:n]
        t0 = ts[4 : 4 + m]
        t1 = ts[3 : 3 + m]
        t2 = ts[2 : 2 + m]
        t3 = ts[1 : 1 + m]
        lam_ = lam[j0:n]
        hes_ = hes[j0:n]
        al0 = al1 = al2 = al3 = 0.0
        ah0 = ah1 = ah2 = ah3 = 0.0
        for t in range(m):
            gj = g_[t]
            dj = d_[t]
            e = e_[t]
            dg0 = g0 - gj
            dg1 = g1 - gj
            dg2 = g2 - gj
            dg3 = g3 - gj
            w0 = (t0[t] + (d0 - dj)) * abs(dg0)
            w1 = (t1[t] + (d1 - dj)) * abs(dg1)
            w2 = (t2[t] + (d2 - dj)) * abs(dg2)
            w3 = (t3[t] + (d3 - dj)) * abs(dg3)
            r0 = e * v0_
            r1 = e * v1_
            r2 = e * v2_
            r3 = e * v3_
            v0, v1, v2, v3 = _inverse4(r0, r1, r2, r3)
            sl0, hh0 = _lambdaloss_pair_v(r0, v0, dg0, w0)
            sl1, hh1 = _lambdaloss_pair_v(r1, v1, dg1, w1)
            sl2, hh2 = _lambdaloss_pair_v(r2, v2, dg2, w2)
            sl3, hh3 = _lambdaloss_pair_v(r3, v3, dg3, w3)
            al0 -= sl0
            al1 -= sl1
            al2 -= sl2
            al3 -= sl3
            ah0 += hh0
            ah1 += hh1
            ah2 += hh2
            ah3 += hh3
            lam_[t] += (sl0 + sl1) + (sl2 + sl3)
            hes_[t] += (hh0 + hh1) + (hh2 + hh3)
        lam[i] += al0
        lam[i + 1] += al1
        lam[i + 2] += al2
        lam[i + 3] += al3
        hes[i] += ah0
        hes[i + 1] += ah1
        hes[i + 2] += ah2
        hes[i + 3] += ah3
        i += 4
    return i


@njit(inline="always", **JIT)
def _distance(r, rj):
    """|r - rj| as an unsigned index: no negative-index wraparound to compute in the vectorised gather."""
    return np.uint64(r - rj) if r > rj else np.uint64(rj - r)


@njit(**JIT)
def _group_by_label(a, n, y, gains, raw, order, c, disc, m2, rk, src, gs, ds, ee, ie, lam, hes, cnt):
    """Query ``a .. a + n - 1`` in the order of :func:`_lambdaloss_groups`, read straight from its ranking ``order``.

    Labels (integers 0..30) descending, each label's documents in rank order: a counting sort (``cnt``: int64 scratch
    of 31) of the ranks, O(n), no allocation. Position ``p`` gets its rank ``rk[p]``, local row ``src[p]``,
    ``gs`` = gain c, ``ds`` = discount m2, ``ee`` = exp(s - s_max), ``ie`` = 1 / ee, and zeroed ``lam``/``hes``.
    """
    cnt[:] = 0
    for i in range(n):
        cnt[int(y[a + i])] += 1
    p = 0
    for lab in range(30, -1, -1):
        k = cnt[lab]
        cnt[lab] = p
        p += k
    s0 = raw[a + order[0]]
    for r in range(n):
        o = order[r]
        lab = int(y[a + o])
        p = cnt[lab]
        cnt[lab] = p + 1
        rk[p] = r
        src[p] = o
        gs[p] = gains[a + o] * c
        ds[p] = disc[r] * m2  # m2 is 0 or 1: exact
        e = math.exp(raw[a + o] - s0)
        ee[p] = e
        ie[p] = 1.0 / e  # e in (exp(-600), 1]: finite
        lam[p] = 0.0
        hes[p] = 0.0


@njit(fastmath=PAIR_FASTMATH, **JIT)
def _lambdaloss_groups(n, gs, ds, ee, ie, rk, m1, lam, hes):
    """LambdaLoss's pair loop without truncation (fast path) over the documents grouped by label, into ``lam``/``hes``.

    Documents ``0 .. n - 1`` are in :func:`_group_by_label` order (labels descending, each label's documents in rank
    order): ``rk`` their ranks, ``gs`` gain / (maxDCG ln2), ``ds`` discount (times m2), ``ee`` = e_r, ``ie`` = 1 / e_r;
    the groups are the runs of equal ``gs`` (distinct labels have distinct gains) and ``m1`` scales delta.

    Pairs of equal labels weigh 0 (41 % of the pairs on the benchmark set), so each other pair is visited exactly once:
    a row ``u`` of one group against a column ``j`` of every lower group (the documents after its group). The row is
    then always the high document: lambda -w p to the row, +w p to the column, p = sigma(s_j - s_u), and
    |G_u - G_j| = gs_u - gs_j > 0 is one subtraction shared by the rows of a tile. The ranks of a pair come in either
    order, so r = min(e_j (1 / e_u), e_u (1 / e_j)) is the lower rank's e over the upper's, as in
    :func:`_lambdaloss_tiles` (both products are finite, at most exp(600); the min is in (0, 1]), p = r v where the
    row ranks above and v otherwise, rho = |D_u - D_j|, and delta is looked up by rank distance in the constant
    :data:`_DELTA` (see there for why a constant).

    Rows go four at a time against each column (loaded and updated once per four pairs, the four sigmoids sharing one
    division, as in :func:`_lambdaloss_tiles`); the rows of a group left over, fewer than four, one at a time. On the
    benchmark set this loop took 0.66 the time of the rank-ordered tiles over all pairs, of which about a quarter was
    the delta lookups (measured against a variant without them); indexed by an unsigned rank distance
    (:func:`_distance`: no negative-index wraparound arithmetic, 123 instead of 148 instructions per sixteen pairs)
    they are about a tenth of it, the loop 64 ms per million rows instead of 76 (one thread).
    """
    s = 0
    while s < n:
        e = s + 1
        while e < n and gs[e] == gs[s]:
            e += 1
        if e == n:  # the lowest gain: its pairs were all visited as columns
            break
        m = n - e
        ga = gs[s]
        g_ = gs[e:n]
        d_ = ds[e:n]
        e_ = ee[e:n]
        ie_ = ie[e:n]
        r_ = rk[e:n]
        lam_ = lam[e:n]
        hes_ = hes[e:n]
        i = s
        while i + 4 <= e:
            r0, r1, r2, r3 = rk[i], rk[i + 1], rk[i + 2], rk[i + 3]
            d0, d1, d2, d3 = ds[i], ds[i + 1], ds[i + 2], ds[i + 3]
            e0, e1, e2, e3 = ee[i], ee[i + 1], ee[i + 2], ee[i + 3]
            f0, f1, f2, f3 = ie[i], ie[i + 1], ie[i + 2], ie[i + 3]
            al0 = al1 = al2 = al3 = 0.0
            ah0 = ah1 = ah2 = ah3 = 0.0
            for t in range(m):
                rj = r_[t]
                dj = d_[t]
                ej = e_[t]
                fj = ie_[t]
                dg = ga - g_[t]
                up0 = r0 < rj
                up1 = r1 < rj
                up2 = r2 < rj
                up3 = r3 < rj
                w0 = (m1 * _DELTA[_distance(r0, rj)] + abs(d0 - dj)) * dg
                w1 = (m1 * _DELTA[_distance(r1, rj)] + abs(d1 - dj)) * dg
                w2 = (m1 * _DELTA[_distance(r2, rj)] + abs(d2 - dj)) * dg
                w3 = (m1 * _DELTA[_distance(r3, rj)] + abs(d3 - dj)) * dg
                q0 = min(ej * f0, e0 * fj)
                q1 = min(ej * f1, e1 * fj)
                q2 = min(ej * f2, e2 * fj)
                q3 = min(ej * f3, e3 * fj)
                v0, v1, v2, v3 = _inverse4(q0, q1, q2, q3)
                u0 = q0 * v0
                u1 = q1 * v1
                u2 = q2 * v2
                u3 = q3 * v3
                sl0 = w0 * (u0 if up0 else v0)
                sl1 = w1 * (u1 if up1 else v1)
                sl2 = w2 * (u2 if up2 else v2)
                sl3 = w3 * (u3 if up3 else v3)
                hh0 = w0 * max(u0 * v0, _PAIR_HESS_FLOOR)
                hh1 = w1 * max(u1 * v1, _PAIR_HESS_FLOOR)
                hh2 = w2 * max(u2 * v2, _PAIR_HESS_FLOOR)
                hh3 = w3 * max(u3 * v3, _PAIR_HESS_FLOOR)
                al0 += sl0
                al1 += sl1
                al2 += sl2
                al3 += sl3
                ah0 += hh0
                ah1 += hh1
                ah2 += hh2
                ah3 += hh3
                lam_[t] += (sl0 + sl1) + (sl2 + sl3)
                hes_[t] += (hh0 + hh1) + (hh2 + hh3)
            lam[i] -= al0
            lam[i + 1] -= al1
            lam[i + 2] -= al2
            lam[i + 3] -= al3
            hes[i] += ah0
            hes[i + 1] += ah1
            hes[i + 2] += ah2
            hes[i + 3] += ah3
            i += 4
        for u in range(i, e):
            ru = rk[u]
            du = ds[u]
            eu = ee[u]
            fu = ie[u]
            al = 0.0
            ah = 0.0
            for t in range(m):
                rj = r_[t]
                w = (m1 * _DELTA[_distance(ru, rj)] + abs(du - d_[t])) * (ga - g_[t])
                q = min(e_[t] * fu, eu * ie_[t])
                v = 1.0 / (1.0 + q)
                uv = q * v
                sl = w * (uv if ru < rj else v)
                hh = w * max(uv * v, _PAIR_HESS_FLOOR)
                al += sl
                ah += hh
                lam_[t] += sl
                hes_[t] += hh
            lam[u] -= al
            hes[u] += ah
        s = e


@njit(**JIT)  # no fastmath flag: the pair loops it calls carry them (policy in _core.jit)
def _lambdaloss_query(a, n, y, gains, raw, inv_max, k, weighting, mu, disc, dtab, want_loss, ss, gg, ee, lam, hes,
                      g_g, d_g, e_g, ie_g, order, rk, tmp, cnt, grad_out, hess_out):
    # Scratch (length >= n): ss, gg, ee, lam, hes in rank order, or g_g, d_g, e_g, ie_g, lam, hes in the order of the
    # grouped pair loop (rk: their ranks, tmp: their rows); order, rk, tmp (int64, length >= n); cnt (int64, 31)
    order = order[:n]
    _dcg.stable_desc_order_into(raw[a : a + n], order, rk, tmp)
    c = inv_max / _LN2
    # weight = m1 delta + m2 rho: (mu, 1) ndcg2pp, (1, 0) ndcg2, (0, 1) lambdarank (x 1 and 0 x finite are exact)
    m1 = mu if weighting == 0 else (1.0 if weighting == 1 else 0.0)
    m2 = 0.0 if weighting == 1 else 1.0
    fast = raw[a + order[0]] - raw[a + order[n - 1]] < MAX_EXP_SPAN
    if not want_loss and fast and k >= n - 1 and n <= _DELTA_ROWS:
        # every pair counts: the grouped loop skips equal gains, its inputs gathered from the ranking directly
        _group_by_label(a, n, y, gains, raw, order, c, disc, m2, rk, tmp, g_g, d_g, e_g, ie_g, lam, hes, cnt)
        _lambdaloss_groups(n, g_g, d_g, e_g, ie_g, rk, m1, lam, hes)
        for p in range(n):
            o = a + tmp[p]
            grad_out[o] = lam[p]
            hess_out[o] = hes[p]
        return 0.0
    for r in range(n):
        o = a + order[r]
        ss[r] = raw[o]
        gg[r] = gains[o]
        ee[r] = 1.0  # stays 1 (unused) when the span takes the exp-per-pair path
        lam[r] = 0.0
        hes[r] = 0.0
    loss = 0.0
    if fast:
        for r in range(n):
            ee[r] = math.exp(ss[r] - ss[0])
    if want_loss:  # loss() only: a log1p(exp) a pair, not vectorised
        for i in range(min(n - 1, k)):
            si = ss[i]
            gi = gg[i]
            di = disc[i]
            al = 0.0
            ah = 0.0
            for j in range(i + 1, n):
                dg = gi - gg[j]
                if dg == 0.0:
                    continue
                wt = (m1 * dtab[j - i] + m2 * (di - disc[j])) * (abs(dg) * c)
                x = si - ss[j] if dg > 0.0 else ss[j] - si  # s_high - s_low
                loss += wt * (max(-x, 0.0) + math.log1p(math.exp(-abs(x))))
                sl, hh = _lambdaloss_pair(math.exp(ss[j] - si), dg, wt)
                al -= sl
                lam[j] += sl
                ah += hh
                hes[j] += hh
            lam[i] += al
            hes[i] += ah
    else:  # truncated, or exp per pair
        i0 = _lambdaloss_tiles(n, k, ss, gg, ee, disc, dtab, m1, m2, c, lam, hes) if fast else 0
        _lambdaloss_rows(n, k, i0, ss, gg, ee, fast, disc, dtab, m1, m2, c, lam, hes)
    for r in range(n):
        grad_out[a + order[r]] = lam[r]
        hess_out[a + order[r]] = hes[r]
    return loss


def _listwise_block(b, y, gains, raw, w, boundaries, blocks, inv_max, p0, k, weighting, disc, dtab, want_loss,
                    grad_out, hess_out, losses):
    """The queries of block ``b``, with scratch buffers allocated once for the block's longest query.

    A template: :data:`_LISTWISE` compiles it once per loss with the module constant ``_KIND`` set to the loss's code,
    so the branches of the other losses are pruned before typing (a first call compiles one loss, not four).
    """
    q0 = blocks[b]
    q1 = blocks[b + 1]
    mx = 1
    for q in range(q0, q1):
        mx = max(mx, boundaries[q + 1] - boundaries[q])
    quad = _KIND >= 2  # the pair kernels use the scratch arrays; softmax and ListMLE need none
    ms = mx if quad else 0
    ss = np.empty(ms)
    gg = np.empty(ms)
    ee = np.empty(ms)
    pi = np.empty(ms)
    coef = np.empty(ms)
    gr = np.empty(ms)
    he = np.empty(ms)
    ww = np.empty(mx * (mx - 1) // 2 if _KIND == 2 and mx <= _STORE_MAX_ROWS else 0)
    order = np.empty(ms, dtype=np.int64)  # the ranking's integer buffers (and the grouping's, LambdaLoss)
    rk = np.empty(ms, dtype=np.int64)
    tmp = np.empty(ms, dtype=np.int64)
    ie_g = np.empty(ms)  # inverse exp-scores (ApproxNDCG; LambdaLoss in its grouped order)
    e_g = np.empty(ms if _KIND == 3 else 0)  # LambdaLoss only: the grouped loop's exp-scores
    cnt = np.empty(31 if _KIND == 3 else 0, dtype=np.int64)
    for q in range(q0, q1):
        a = boundaries[q]
        n = boundaries[q + 1] - a
        if labels_all_equal(y, a, n) or inv_max[q] == 0.0:  # (one document: all equal)
            for r in range(a, a + n):
                grad_out[r] = 0.0
                hess_out[r] = 0.0
            losses[q] = 0.0
            continue
        if _KIND == 0:
            losses[q] = _softmax_query(a, n, gains, raw, p0, grad_out, hess_out)
        elif _KIND == 1:
            losses[q] = _listmle_query(a, n, y, raw, grad_out, hess_out)
        elif _KIND == 2:
            losses[q] = _approx_ndcg_query(
                a, n, gains, raw, inv_max[q], p0, ss, gg, ee, ie_g, pi, coef, gr, he, ww, order, rk, tmp, grad_out,
                hess_out,
            )
        else:
            losses[q] = _lambdaloss_query(
                a, n, y, gains, raw, inv_max[q], k, weighting, p0, disc, dtab, want_loss, ss, gg, ee, pi, gr,
                coef, he, e_g, ie_g, order, rk, tmp, cnt, grad_out, hess_out,
            )
        if w.shape[0]:
            for r in range(a, a + n):
                grad_out[r] *= w[r]
                hess_out[r] *= w[r]


def _listwise_queries(y, gains, raw, w, boundaries, blocks, inv_max, p0, k, weighting, disc, dtab, want_loss,
                      grad_out, hess_out, losses):
    for b in prange(blocks.shape[0] - 1):
        _listwise_block(
            b, y, gains, raw, w, boundaries, blocks, inv_max, p0, k, weighting, disc, dtab, want_loss,
            grad_out, hess_out, losses,
        )


_KIND = -1  # the loss code of a specialised copy of _listwise_block (this module-level value is never compiled)
#: loss name -> its kernels (``block``, ``parallel``), compiled from the two templates above
_LISTWISE = {name: specialise(_listwise_block, _listwise_queries, name, 5, _KIND=code) for name, code in _KINDS.items()}


# =====================================================================================================
# The classes
# =====================================================================================================
class _ListwiseObjective(RankingObjective):
    """Shared preparation, kernel call and loss of the listwise objectives."""

    _integer_labels = True

    def _check_y(self, y_true):
        if self._integer_labels:
            return check_relevance_labels(y_true, integer=True, max_label=30)
        return check_relevance_labels(y_true)

    def _row_values(self, y, b):
        """Per-row gains (or targets) and per-query normaliser 1/maxDCG (0 marks a query to skip)."""
        gains = 2.0 ** y - 1.0
        max_dcg = _dcg.ideal_dcg(gains, b, self._depth())
        inv = np.zeros_like(max_dcg)
        np.divide(1.0, max_dcg, out=inv, where=max_dcg > 0)
        return gains, inv

    def _depth(self):
        return 0

    def _pair_depth(self):
        """Pairs per document of the kernel (for the parallel blocks of about equal cost): 1 for O(n) losses."""
        return 1

    def prepare(self, y_true, *, sample_weight=None, group=None, qid=None):
        """Validate labels, weights and groups once; caches gains (or targets) and 1/maxDCG per query."""
        y = self._check_y(y_true)
        b = ranking_boundaries(len(y), group, qid)
        w = ranking_weights(sample_weight, len(y), b)
        gains, inv = self._row_values(y, b)
        longest = int(np.diff(b).max()) if len(b) > 1 else 0
        cache = {
            "gains": gains, "inverse_max_dcg": inv, "discount": _dcg.discount_table(longest),
            "delta": _delta_table(longest),
            "blocks": cost_blocks(b, self._pair_depth()),
        }
        return Prepared(y, w, b, cache)

    def _args(self):
        return 0.0, 0, 0

    def _run(self, prepared, raw, w, grad_out, hess_out, want_loss=False):
        if prepared.boundaries is None:
            raise ValueError("a ranking objective needs group (query sizes) or qid (per-row query ids)")
        c = prepared.cache
        p0, k, weighting = self._args()
        # float64, contiguous: the kernels compute in double precision throughout, and one compiled signature serves
        # every input. (Given float32 scores, numba compiled LambdaLoss's exp(s - s_max) in single precision: it lost
        # accuracy below exp(-87) and was 0 below exp(-104), and 1 / 0 = inf made the pair products 0 * inf = NaN.)
        raw = np.ascontiguousarray(raw, dtype=np.float64)
        losses = np.empty(len(prepared.boundaries) - 1)
        _LISTWISE[self.name](
            prepared.n_samples >= PARALLEL_MIN["listwise"], prepared.y, c["gains"], raw, w, prepared.boundaries, c["blocks"], c["inverse_max_dcg"],
            p0, k,
            weighting, c["discount"], c["delta"], want_loss, grad_out, hess_out, losses,
        )
        return losses

    def _kernel(self, prepared, raw, w, grad_out, hess_out):
        self._run(prepared, raw, w, grad_out, hess_out)

    def loss(self, y_true, raw_score, *, sample_weight=None, group=None, qid=None):
        """Mean over queries of the per-query loss (queries skipped as documented count as 0)."""
        if sample_weight is not None:
            raise ValueError(f"{type(self).__name__}.loss is a per-query loss; sample_weight must be None")
        prepared = self.prepare(y_true, group=group, qid=qid)
        raw = check_raw_score(raw_score, prepared.n_samples).astype(np.float64, copy=False)
        g = np.empty(prepared.n_samples)
        h = np.empty(prepared.n_samples)
        losses = self._run(prepared, raw, np.empty(0), g, h, want_loss=True)
        return float(losses.sum()) / max(len(losses), 1)


class SoftmaxRankObjective(_ListwiseObjective):
    r"""Softmax cross entropy over each query (ListNet top-1; CatBoost ``QuerySoftMax``; rax ``softmax_loss``).

    Per query, with :math:`T(y) = 2^y - 1` (``label_transform="exp2"``) or :math:`T(y) = y` (``"linear"``)::

        t_i = T(y_i) / sum_j T(y_j),   rho_i = exp(s_i / tau) / sum_j exp(s_j / tau)
        loss = -sum_i t_i log rho_i
        grad_i = (rho_i - t_i) / tau,   hess_i = rho_i (1 - rho_i) / tau^2    (exact diagonal)

    A query whose transformed labels sum to 0 (no relevant document) or are all equal is skipped. The softmax is
    taken in log space (shifted by the query's max), and :math:`1 - \rho_i` is summed as
    :math:`\sum_{j \ne i} \rho_j` where :math:`\rho_i` is within :math:`2^{-26}` of 1, so every finite score gives
    finite values. Where ``grad`` is non-zero, ``hess`` is floored at ``1e-16`` (LambdaRank's per-pair floor): a
    saturated softmax (:math:`\rho_i` underflowing to 0 or rounding to 1) would otherwise give a zero hessian
    beside a gradient of up to :math:`1/\tau`.

    Parameters
    ----------
    temperature : float in [1e-100, 1e6], default 1.0
        Smaller temperatures are refused: ``hess`` carries the factor :math:`1/\tau^2`, which overflows to inf
        below :math:`\tau \approx 7.5 \cdot 10^{-155}`; at :math:`10^{-100}` it is at most :math:`2.5 \cdot
        10^{199}`, far from overflow even after sample weights.
    label_transform : {"exp2", "linear"}, default "exp2"

    References
    ----------
    Z. Cao et al., "Learning to Rank: From Pairwise Approach to Listwise Approach", ICML 2007.
    """

    name = "softmax_rank"

    def __init__(self, temperature=1.0, label_transform="exp2"):
        self.temperature = _check_temperature(temperature)
        if label_transform not in ("exp2", "linear"):
            raise ValueError(f"label_transform must be 'exp2' or 'linear'; got {label_transform!r}")
        self.label_transform = label_transform
        self._integer_labels = label_transform == "exp2"

    def _row_values(self, y, b):
        tr = 2.0 ** y - 1.0 if self.label_transform == "exp2" else y.copy()
        sums = np.add.reduceat(tr, b[:-1]) if len(b) > 1 and len(y) else np.zeros(len(b) - 1)
        inv = np.zeros(len(b) - 1)
        np.divide(1.0, sums, out=inv, where=sums > 0)
        t = tr * np.repeat(inv, np.diff(b))
        return t, inv

    def _args(self):
        return 1.0 / self.temperature, 0, 0


class ListMLEObjective(_ListwiseObjective):
    r"""ListMLE: the Plackett–Luce negative log-likelihood of the label order.

    Ties use Breslow's convention: each document of a block of equal labels competes with its whole block and
    every document with a lower label; the lowest block is not scored (its internal order is unknown and its
    choice is the last one). Per query::

        Z_L  = sum_{k: y_k <= L} exp(s_k)
        loss = sum_{i: y_i > min y} (log Z_{y_i} - s_i)
        grad_j = exp(s_j) sum_{L >= y_j, L > min y} c_L / Z_L - [y_j > min y]
        hess_j = sum_{L >= y_j, L > min y} c_L p_{jL} (1 - p_{jL}),   p_{jL} = exp(s_j) / Z_L     (exact diagonal)

    with :math:`c_L` the number of documents of label :math:`L`. Without ties it is the Plackett–Luce likelihood of
    the permutation sorted by label. O(n log n) per query. Labels: any non-negative numbers (only their order
    matters).

    Computed in log space (:math:`\log Z_L` by a log-sum-exp with a running max, :math:`p_{jL} = \exp(s_j - \log
    Z_L)`), so every finite score gives finite values. Where ``grad`` is non-zero, ``hess`` is floored at
    ``1e-16`` (LambdaRank's per-pair floor): :math:`p (1 - p)` underflows to 0 for a document :math:`\gtrsim 37`
    below its competitors while its gradient is still :math:`-1`, and a Newton step needs a positive hessian.

    References
    ----------
    F. Xia et al., "Listwise Approach to Learning to Rank: Theory and Algorithm", ICML 2008.
    """

    name = "listmle"
    _integer_labels = False

    def __init__(self):
        pass

    def _row_values(self, y, b):
        return np.zeros(len(y)), np.ones(len(b) - 1)


class ApproxNDCGObjective(_ListwiseObjective):
    r"""ApproxNDCG: one minus NDCG with each rank replaced by a smooth (sigmoid) approximation.

    Per query, with gains :math:`G = 2^y - 1`, :math:`M` the ideal DCG and temperature :math:`\tau`::

        pi_i  = 1 + sum_{j != i} sigma((s_j - s_i) / tau)              (approximate rank)
        loss  = 1 - sum_i G_i / log2(1 + pi_i) / M
        a_i   = G_i / (M ln2 (1 + pi_i) log2(1 + pi_i)^2)              (= -d loss / d pi_i >= 0)
        grad_k = (1/tau) sum_{j != k} w_kj (a_j - a_k),   w_kj = sigma_kj (1 - sigma_kj)
        hess_k = (1/tau^2) sum_{j != k} w_kj |a_j - a_k|               (approximation, below)

    The loss is not convex, so its exact diagonal can be negative. ``hess`` is instead the pairwise bound on the
    sigmoid-curvature term of that diagonal (each pair's :math:`|\partial^2 / \partial s_k^2|` with the
    :math:`a` held fixed is :math:`w_{kj} |1 - 2\sigma_{kj}| |a_j - a_k| / \tau^2 \le` its term here): positive,
    and :math:`|grad_k| \le \tau\, hess_k`, so a Newton step moves a score by at most about :math:`\tau`.
    O(n²) per query.

    Parameters
    ----------
    temperature : float in [1e-100, 1e6], default 0.1
        Smaller temperatures are refused: ``hess`` carries the factor :math:`1/\tau^2`, which overflows to inf
        below :math:`\tau \approx 7.5 \cdot 10^{-155}` (and inf times a document whose pairs all saturate, 0, is
        NaN). With :math:`w \le 1/4` and :math:`0 \le a \le 1/(2 \ln 2)` (as :math:`\pi \ge 1` and
        :math:`G_i \le M`), :math:`hess_k \le (n - 1) / (8 \ln 2\, \tau^2)`, so at :math:`10^{-100}` every
        hessian of a query below :math:`2^{31}` rows stays below :math:`10^{209}`. Such a temperature already
        makes every sigmoid a step beyond a score gap of about :math:`10^{-97}`.

    References
    ----------
    T. Qin, T.-Y. Liu, H. Li, "A General Approximation Framework for Direct Optimization of Information Retrieval
    Measures", Information Retrieval 13 (2010).
    """

    name = "approx_ndcg"
    approx_hessian = True

    def __init__(self, temperature=0.1):
        self.temperature = _check_temperature(temperature)

    def _args(self):
        return 1.0 / self.temperature, 0, 0

    def _pair_depth(self):
        return 2**62


class LambdaLossObjective(_ListwiseObjective):
    r"""LambdaLoss (Wang et al. 2018), by default its NDCG-Loss2++ weighting (allRank, rax ``dcg2_lambdaweight``).

    Per query, documents ranked by the current scores (stable, descending; ranks :math:`r` from 0), for pairs
    with different labels and :math:`\min(r_i, r_j) < k`::

        rho_ij   = |1/log2(2 + r_i) - 1/log2(2 + r_j)|
        delta_ij = |1/log2(1 + |r_i - r_j|) - 1/log2(2 + |r_i - r_j|)|
        w_ij     = (mu delta_ij + rho_ij | delta_ij | rho_ij) |G_i - G_j| / maxDCG@k    (ndcg2pp | ndcg2 | lambdarank)
        loss     = sum w_ij log2(1 + exp(-(s_high - s_low)))
        grad     = -+ w_ij p / ln2,   hess = w_ij max(p (1 - p), 1e-16) / ln2,   p = sigma(s_low - s_high)

    The weights depend on the ranks only, so they are constant between rank changes and ``grad``/``hess`` are the
    exact derivatives of the loss there (the floor acts only beyond a score gap of ~37). The loss is Wang et
    al.'s bound: with ``weighting="ndcg2"`` and no truncation a query's loss is at least its 1 - NDCG, and with
    ``"ndcg2pp"`` at least ``mu`` times it. Gains :math:`G = 2^y - 1`. O(n min(n, k)) per query.

    Parameters
    ----------
    weighting : {"ndcg2pp", "ndcg2", "lambdarank"}, default "ndcg2pp"
    mu : float >= 0, default 10.0
        Weight of the NDCG-Loss2 term in NDCG-Loss2++.
    truncation_level : int >= 1 or None, default None
        ``k``; None uses every pair and the full ideal DCG.

    References
    ----------
    X. Wang, C. Li, N. Golbandi, M. Bendersky, M. Najork, "The LambdaLoss Framework for Ranking Metric
    Optimization", CIKM 2018.
    """

    name = "lambdaloss"

    def __init__(self, weighting="ndcg2pp", mu=10.0, truncation_level=None):
        if weighting not in _WEIGHTINGS:
            raise ValueError(f"weighting must be one of {list(_WEIGHTINGS)}; got {weighting!r}")
        self.weighting = weighting
        self.mu = check_interval(mu, "mu", 0, 1e12, closed="both")
        self.truncation_level = None if truncation_level is None else check_positive_int(
            truncation_level, "truncation_level"
        )

    def _depth(self):
        return 0 if self.truncation_level is None else self.truncation_level

    def _args(self):
        k = 2**62 if self.truncation_level is None else self.truncation_level
        return self.mu, k, _WEIGHTINGS.index(self.weighting)

    def _pair_depth(self):
        return self._args()[1]
