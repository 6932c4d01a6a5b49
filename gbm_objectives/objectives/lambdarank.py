r"""A from-scratch LambdaRank (LightGBM's ``lambdarank``, exactly; XGBoost's ``rank:*`` with
``convention="xgboost"``), with position debiasing.

:class:`LambdaRankObjective` is a :class:`~gbm_objectives.objectives._ranking_base.RankingObjective`: it takes
query groups as ``group`` (sizes of contiguous queries, LightGBM's convention) or ``qid`` (per-row query ids,
XGBoost's), turned once into the single group representation of :mod:`gbm_objectives._core.segments`. Gains, discounts, the ideal DCG and the stable descending
sort all come from :mod:`gbm_objectives._core.dcg`, the module the NDCG metric uses too. The kernels are compiled
(numba) and run in parallel over blocks of queries of about equal cost.

>>> import numpy as np
>>> import gbm_objectives as go
>>> obj = go.LambdaRankObjective()
>>> y = np.array([0.0, 1.0, 2.0, 0.0])
>>> grad, hess = obj.grad_hess(y, np.zeros(4), group=[3, 1])
>>> bool(grad[2] < grad[1] < 0 < grad[0]), float(grad[3])   # best doc pushed up most; a 1-doc query gets 0
(True, 0.0)
>>> np.allclose(grad, obj.grad_hess(y, np.zeros(4), qid=[5, 5, 5, 9])[0])
True
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from numba import njit, prange

from .._core import dcg as _dcg
from .._core.jit import JIT, PAIR_FASTMATH, PARALLEL_MIN, specialise
from .._core.segments import resolve_boundaries
from .._core.validation import (
    check_1d,
    check_interval,
    check_position,
    check_positive_int,
    check_propensity,
    check_raw_score,
    frozen_copy,
)
from . import _xgboost_lambdas as xgboost_lambdas
from ._ranking_base import (
    MAX_EXP_SPAN,
    MAX_QUERY_SIZE,
    PAIR_HESS_FLOOR,
    RankingObjective,
    cost_blocks,
    pair_cost,
    ranking_boundaries,
    ranking_weights,
)
from .base import Prepared

__all__ = ["LambdaRankObjective", "RANKING_METRICS", "MAX_QUERY_SIZE", "POSITION_DEBIAS", "IPW_NORMALIZE",
           "lightgbm_sigmoid_table", "cascade_rows"]

RANKING_METRICS = ("ndcg", "mrr", "map", "none")
_METRIC_CODE = {name: i for i, name in enumerate(RANKING_METRICS)}
# LightGBM divides by (0.01f + |s_i - s_j|): the float literal 0.01f, promoted to double.
_SCORE_DIST_EPS = float(np.float32(0.01))
_MAX_SIGMOID = 1e6
# fastmath: PAIR_FASTMATH in the pair loop (policy in gbm_objectives._core.jit): every product there has factors
# bounded in [0, 1] or by the (validated) gains and sigmoid, so no reordering can overflow.
# XGBoost's Eps64: a propensity below it is not divided by (the pair keeps its plain weight), as in lambdarank_obj.cc
_IPW_EPS = 1e-16
POSITION_DEBIAS = (None, "additive", "ipw", "cascade")
#: where "ipw" applies the per-query normalisation: after the propensity weighting (XGBoost's), before it, or not
IPW_NORMALIZE = ("after", "before", "off")
# LightGBM's Newton step for the position biases divides by |second derivative| + 0.001
_BIAS_HESS_EPS = 0.001
_EMPTY = np.empty(0)


# =====================================================================================================
# Per-pair weights (the metric change when two documents swap), shared by the kernel and the pair listing
# =====================================================================================================
@njit(inline="always", **JIT)
def _swap_delta(metric, i, j, li, lj, gi, gj, di, dj, inv_max, rel, cum_rel, cum_prec, first, second, n_rel):
    """|change of the query's metric| when the documents at sorted ranks ``i < j`` swap (labels differ).

    ndcg: |G_i - G_j| |D_i - D_j| / maxDCG; mrr: change of 1/(first relevant rank); map: change of average
    precision; none: 1. ``rel``/``cum_rel``/``cum_prec``/``first``/``second``/``n_rel`` describe the relevant
    documents (label >= 1) in the current order and are only read for mrr and map.
    """
    if metric == 0:
        return abs(gi - gj) * (di - dj) * inv_max
    if metric == 3:
        return 1.0
    if rel[i] == rel[j]:  # both relevant or both not: neither MRR nor AP moves
        return 0.0
    if metric == 1:
        if rel[i]:  # a relevant document moves down from i to j
            if i != first:
                return 0.0
            new = j if j < second else second
            return 1.0 / (i + 1.0) - 1.0 / (new + 1.0)
        if i < first:  # the relevant document at j moves up to i, above the first relevant one
            return 1.0 / (i + 1.0) - 1.0 / (first + 1.0)
        return 0.0
    # map: precision terms of the relevant documents between i and j shift by one
    if rel[i]:  # relevant from i down to j
        d = cum_rel[j] / (j + 1.0) - cum_rel[i] / (i + 1.0) - (cum_prec[j] - cum_prec[i])
    else:  # relevant from j up to i
        d = (cum_rel[i] + 1.0) / (i + 1.0) + (cum_prec[j] - 1.0 / (j + 1.0) - cum_prec[i]) - cum_rel[j] / (j + 1.0)
    return abs(d) / n_rel


@njit(**JIT)
def _relevance_prefix(ll, n, rel, cum_rel, cum_prec):
    """Fill the relevance arrays of one sorted query; returns (first, second, n_rel) relevant ranks/count."""
    c = 0.0
    h = 0.0
    first = n
    second = n
    for r in range(n):
        rel[r] = ll[r] >= 1.0
        if rel[r]:
            c += 1.0
            h += 1.0 / (r + 1.0)
            if first == n:
                first = r
            elif second == n:
                second = r
        cum_rel[r] = c
        cum_prec[r] = h
    return first, second, c


# =====================================================================================================
# The LambdaRank kernel
# =====================================================================================================
@njit(fastmath=PAIR_FASTMATH, **JIT)
def _lambdarank_query(
    a, n, y, gains, raw, inv_max, k, sigmoid, norm, metric, disc, ss, ll, gg, ee, dd, lam, hes, rel, cum_rel, cum_prec,
    tp_row, tm_row, tps, tms, lis, ljs, order, otmp, otmp2, ipw_norm,
):
    """Lambdas and hessians of one query into ``lam``/``hes`` (sorted order); returns (order, norm factor).

    With ``tp_row``/``tm_row`` non-empty (inverse propensity weighting), every pair weight is divided by
    t+[pos_high] t-[pos_low] and the pair costs are accumulated into ``lis``/``ljs`` (sorted order), see
    :class:`LambdaRankObjective`; ``ipw_norm`` places the per-query normalisation (0: from the weighted lambdas,
    XGBoost's; 1: from the unweighted ones, before the weighting; 2: none).
    """
    ipw = tp_row.shape[0] > 0
    order = order[:n]
    _dcg.stable_desc_order_into(raw[a : a + n], order, otmp, otmp2)
    for r in range(n):
        o = a + order[r]
        ss[r] = raw[o]
        ll[r] = y[o]
        gg[r] = gains[o]
        dd[r] = disc[r]
        lam[r] = 0.0
        hes[r] = 0.0
    if ipw:
        for r in range(n):
            o = a + order[r]
            tps[r] = tp_row[o]
            tms[r] = tm_row[o]
            lis[r] = 0.0
            ljs[r] = 0.0
    best = ss[0]
    worst = ss[n - 1]
    dist_norm = norm and best != worst
    fast = sigmoid * (best - worst) < MAX_EXP_SPAN
    if fast:
        for r in range(n):
            ee[r] = math.exp(sigmoid * (ss[r] - best))  # in (0, 1]: p of a pair is a ratio of two of these
    first = n
    second = n
    n_rel = 0.0
    if metric == 1 or metric == 2:
        first, second, n_rel = _relevance_prefix(ll, n, rel, cum_rel, cum_prec)
    s2 = sigmoid * sigmoid
    total = 0.0
    i_end = min(n - 1, k)
    for i in range(i_end):
        li = ll[i]
        gi = gg[i]
        di = dd[i]
        si = ss[i]
        ei = ee[i]
        acc_l = 0.0
        acc_h = 0.0
        if metric == 0 and fast and not ipw:
            # the hot loop: branch-free so that it vectorises; equal-label pairs get weight 0. Views starting
            # at i + 1 give a loop index known to be >= 0 (no negative-index wraparound, which blocks SIMD).
            l_ = ll[i + 1 : n]
            s_ = ss[i + 1 : n]
            g_ = gg[i + 1 : n]
            d_ = dd[i + 1 : n]
            e_ = ee[i + 1 : n]
            lam_ = lam[i + 1 : n]
            hes_ = hes[i + 1 : n]
            for t in range(n - i - 1):
                lj = l_[t]
                ds = si - s_[t]  # >= 0 (sorted)
                dw = abs(gi - g_[t]) * (di - d_[t]) * inv_max
                if dist_norm:
                    dw = dw / (_SCORE_DIST_EPS + ds)
                dw = dw if li != lj else 0.0
                # r = e_j / e_i = exp(-sigmoid (s_i - s_j)) in (0, 1] (sorted), v = 1 / (1 + r) in [1/2, 1]:
                # p(i above j) = v, p(j above i) = r v, p (1 - p) = r v^2. Every factor lies in [0, 1], so no
                # reassociation the fastmath flags allow can overflow (the older (e_i u)(e_j u) form became
                # (e_i e_j)(u u) = 0 * inf = NaN for distant scores in a fresh compilation).
                r = e_[t] / ei
                v = 1.0 / (1.0 + r)
                # p = 1 / (1 + exp(sigmoid (s_high - s_low))): r v when i is the high document, v otherwise
                p = r * v if li > lj else v
                lp = sigmoid * p * dw
                hp = s2 * max(r * v * v, PAIR_HESS_FLOOR) * dw
                sl = lp if li > lj else -lp  # +: i is the high document
                acc_l -= sl
                lam_[t] += sl
                acc_h += hp
                hes_[t] += hp
                total += lp
        else:
            for j in range(i + 1, n):
                lj = ll[j]
                if li == lj:
                    continue
                dw = _swap_delta(
                    metric, i, j, li, lj, gi, gg[j], di, dd[j], inv_max, rel, cum_rel, cum_prec, first, second, n_rel
                )
                if dw == 0.0:
                    continue
                ds = si - ss[j]
                if dist_norm:
                    dw = dw / (_SCORE_DIST_EPS + ds)
                delta = ds if li > lj else -ds  # s_high - s_low
                dw0 = dw
                if ipw:
                    h = i if li > lj else j
                    lo = j if li > lj else i
                    th = tps[h]
                    tl = tms[lo]
                    if th >= 0.0 and tl >= 0.0:  # both positions tracked (< truncation_level); -1 marks untracked
                        # XGBoost's pair cost: log(1 / (1 - sigmoid(s_high - s_low))) |dZ|, overflow-free softplus
                        x = sigmoid * delta
                        cost = (x + math.log1p(math.exp(-x)) if x > 0.0 else math.log1p(math.exp(x))) * dw
                        if tl >= _IPW_EPS:
                            lis[h] += cost / tl
                        if th >= _IPW_EPS:
                            ljs[lo] += cost / th
                        if th >= _IPW_EPS and tl >= _IPW_EPS:
                            dw = dw / (th * tl)
                p = 1.0 / (1.0 + math.exp(sigmoid * delta))
                lp = sigmoid * p * dw
                hp = s2 * max(p * (1.0 - p), PAIR_HESS_FLOOR) * dw
                sl = lp if li > lj else -lp
                acc_l -= sl
                lam[j] += sl
                acc_h += hp
                hes[j] += hp
                total += lp if ipw_norm == 0 else sigmoid * p * dw0
        lam[i] += acc_l
        hes[i] += acc_h
    total *= 2.0  # LightGBM sums 2 |lambda| over pairs
    factor = 1.0
    if norm and total > 0.0 and not (ipw and ipw_norm == 2):
        factor = math.log2(1.0 + total) / total
    return order, factor


@njit(cache=True, nogil=True)  # no fastmath: every operation in LightGBM's order, for bitwise agreement
def _lambdarank_query_lightgbm(a, n, y, gains, raw, inv_max, k, sigmoid, norm, disc, table, lam32, hes32, order, otmp,
                               otmp2):
    """LightGBM's exact arithmetic: p from its lookup table, lambdas accumulated in float32 pair by pair."""
    order = order[:n]
    _dcg.stable_desc_order_into(raw[a : a + n], order, otmp, otmp2)
    for r in range(n):
        lam32[r] = 0.0
        hes32[r] = 0.0
    bins = table.shape[0]
    t_min = -50.0 / sigmoid / 2.0
    t_max = -t_min
    t_factor = bins / (t_max - t_min)
    dist_norm = norm and raw[a + order[0]] != raw[a + order[n - 1]]
    total = 0.0
    for i in range(min(n - 1, k)):
        for j in range(i + 1, n):
            li = y[a + order[i]]
            lj = y[a + order[j]]
            if li == lj:
                continue
            hr, lr = (i, j) if li > lj else (j, i)
            high = a + order[hr]
            low = a + order[lr]
            ds = raw[high] - raw[low]
            dw = (gains[high] - gains[low]) * abs(disc[hr] - disc[lr]) * inv_max
            if dist_norm:
                dw /= _SCORE_DIST_EPS + abs(ds)
            if ds <= t_min:
                p = table[0]
            elif ds >= t_max:
                p = table[bins - 1]
            else:
                p = table[int((ds - t_min) * t_factor)]
            ph = p * (1.0 - p)
            pl = p * (-sigmoid * dw)
            ph = ph * (sigmoid * sigmoid * dw)
            lam32[lr] -= np.float32(pl)
            hes32[lr] += np.float32(ph)
            lam32[hr] += np.float32(pl)
            hes32[hr] += np.float32(ph)
            total -= 2.0 * pl
    factor = 1.0
    if norm and total > 0.0:
        factor = math.log2(1.0 + total) / total
    return order, factor


def lightgbm_sigmoid_table(sigmoid):
    """LightGBM's lambdarank lookup table of ``1 / (1 + exp(sigmoid x))``: 2^20 bins over ``|x| < 25 / sigmoid``."""
    bins = 1024 * 1024
    t_min = -50.0 / sigmoid / 2.0
    factor = bins / (-t_min - t_min)
    x = np.arange(bins) / factor + t_min
    return 1.0 / (1.0 + np.exp(x * sigmoid))


def _lambdarank_block(
    b, y, gains, raw, w, boundaries, inv_max_dcg, blocks, disc, table, k, sigmoid, norm, metric, grad_out, hess_out,
    tp_row, tm_row, li_row, lj_row, ipw_norm,
):
    """Lambdas of the queries of block ``b``, with scratch buffers shared by the block's queries.

    A template: :data:`_LAMBDARANK` compiles it with the module constant ``_EMULATE`` False (this package's kernel)
    and True (LightGBM's float32 emulation, which reads the sigmoid ``table``); numba prunes the other branch, so a
    first call compiles one of the two query kernels.
    """
    emulate = _EMULATE
    ipw = tp_row.shape[0] > 0
    q0 = blocks[b]
    q1 = blocks[b + 1]
    m = 1
    for q in range(q0, q1):
        m = max(m, boundaries[q + 1] - boundaries[q])
    ss = np.empty(m)
    ll = np.empty(m)
    gg = np.empty(m)
    ee = np.ones(m)
    dd = np.empty(m)
    lam = np.empty(m)
    hes = np.empty(m)
    rel = np.zeros(m, dtype=np.bool_)
    cum_rel = np.empty(m)
    cum_prec = np.empty(m)
    lam32 = np.empty(m if emulate else 0, dtype=np.float32)
    hes32 = np.empty(m if emulate else 0, dtype=np.float32)
    tps = np.empty(m if ipw else 0)
    tms = np.empty(m if ipw else 0)
    lis = np.empty(m if ipw else 0)
    ljs = np.empty(m if ipw else 0)
    obuf = np.empty(m, dtype=np.int64)  # the ranking and its work buffers
    otmp = np.empty(m, dtype=np.int64)
    otmp2 = np.empty(m, dtype=np.int64)
    for q in range(q0, q1):
        a = boundaries[q]
        n = boundaries[q + 1] - a
        if n < 2 or (metric == 0 and inv_max_dcg[q] == 0.0):
            for r in range(a, a + n):
                grad_out[r] = 0.0
                hess_out[r] = 0.0
            continue
        if _EMULATE:
            order, factor = _lambdarank_query_lightgbm(
                a, n, y, gains, raw, inv_max_dcg[q], k, sigmoid, norm, disc, table, lam32, hes32, obuf, otmp, otmp2
            )
            for r in range(n):
                lam[r] = np.float32(lam32[r] * factor)
                hes[r] = np.float32(hes32[r] * factor)
            factor = 1.0
        else:
            order, factor = _lambdarank_query(
                a, n, y, gains, raw, inv_max_dcg[q], k, sigmoid, norm, metric, disc,
                ss, ll, gg, ee, dd, lam, hes, rel, cum_rel, cum_prec, tp_row, tm_row, tps, tms, lis, ljs, obuf, otmp,
                otmp2, ipw_norm,
            )
            if ipw:
                for r in range(n):
                    li_row[a + order[r]] = lis[r]
                    lj_row[a + order[r]] = ljs[r]
        for r in range(n):
            o = a + order[r]
            wo = factor if w.shape[0] == 0 else factor * w[o]
            grad_out[o] = lam[r] * wo
            hess_out[o] = hes[r] * wo


def _lambdarank_blocks(
    y, gains, raw, w, boundaries, inv_max_dcg, blocks, disc, table, k, sigmoid, norm, metric, grad_out, hess_out,
    tp_row, tm_row, li_row, lj_row, ipw_norm,
):
    for b in prange(blocks.shape[0] - 1):
        _lambdarank_block(
            b, y, gains, raw, w, boundaries, inv_max_dcg, blocks, disc, table, k, sigmoid, norm, metric,
            grad_out, hess_out, tp_row, tm_row, li_row, lj_row, ipw_norm,
        )


_EMULATE = False  # LightGBM's emulation in a specialised copy of _lambdarank_block (this value is never compiled)
#: ``emulate_lightgbm`` -> the kernels (``block``, ``parallel``): each variant compiled from the two templates
#: above, parallel over query blocks, or the block function once over all queries for small work
_LAMBDARANK = {False: specialise(_lambdarank_block, _lambdarank_blocks, "scratch", 6, _EMULATE=False),
               True: specialise(_lambdarank_block, _lambdarank_blocks, "lightgbm", 6, _EMULATE=True)}


@njit(**JIT)
def _lambdarank_pairs(y, gains, raw, boundaries, inv_max_dcg, k, sigmoid, norm, metric, tp_row, tm_row, ipw_norm):
    """Every weighted pair, written plainly (exp per pair, no vectorisation): (high rows, low rows, weights).

    The weight is everything LambdaRank holds fixed within one gradient step (metric change, score-distance and
    per-query normalisation), so the lambdas are the gradient of sum w log(1 + exp(-sigmoid (s_high - s_low))).
    """
    cap = 0
    nq = boundaries.shape[0] - 1
    for q in range(nq):
        n = boundaries[q + 1] - boundaries[q]
        cap += min(n - 1, k) * n if n > 1 else 0
    hi = np.empty(cap, dtype=np.int64)
    lo = np.empty(cap, dtype=np.int64)
    wt = np.empty(cap)
    c = 0
    for q in range(nq):
        a = boundaries[q]
        n = boundaries[q + 1] - a
        if n < 2 or (metric == 0 and inv_max_dcg[q] == 0.0):
            continue
        order = _dcg.stable_desc_order(raw[a : a + n])
        ll = y[a + order]
        ss = raw[a + order]
        gg = gains[a + order]
        dd = np.empty(n)
        for r in range(n):
            dd[r] = _dcg.discount(r)
        rel = np.zeros(n, dtype=np.bool_)
        cum_rel = np.empty(n)
        cum_prec = np.empty(n)
        first, second, n_rel = _relevance_prefix(ll, n, rel, cum_rel, cum_prec)
        dist_norm = norm and ss[0] != ss[n - 1]
        start = c
        total = 0.0
        for i in range(min(n - 1, k)):
            for j in range(i + 1, n):
                if ll[i] == ll[j]:
                    continue
                dw = _swap_delta(
                    metric, i, j, ll[i], ll[j], gg[i], gg[j], dd[i], dd[j], inv_max_dcg[q], rel, cum_rel, cum_prec,
                    first, second, n_rel,
                )
                if dw == 0.0:
                    continue
                if dist_norm:
                    dw /= _SCORE_DIST_EPS + (ss[i] - ss[j])
                h, l_ = (i, j) if ll[i] > ll[j] else (j, i)
                dw0 = dw
                if tp_row.shape[0] > 0:
                    th = tp_row[a + order[h]]
                    tl = tm_row[a + order[l_]]
                    if th >= _IPW_EPS and tl >= _IPW_EPS:
                        dw /= th * tl
                p = 1.0 / (1.0 + math.exp(sigmoid * (ss[h] - ss[l_])))
                total += 2.0 * sigmoid * p * (dw if ipw_norm == 0 or tp_row.shape[0] == 0 else dw0)
                hi[c] = a + order[h]
                lo[c] = a + order[l_]
                wt[c] = dw
                c += 1
        if norm and total > 0.0 and not (tp_row.shape[0] > 0 and ipw_norm == 2):
            f = math.log2(1.0 + total) / total
            for t in range(start, c):
                wt[t] *= f
    return hi[:c], lo[:c], wt[:c]


class LambdaRankObjective(RankingObjective):
    r"""LambdaRank gradients (LambdaMART when boosted): LightGBM's ``lambdarank``, reimplemented.

    Parameters
    ----------
    metric : {"ndcg", "mrr", "map", "none"}, default "ndcg"
        The metric whose change on swapping two documents weights a pair. ``"none"`` weights every pair 1
        (RankNet). MRR and MAP count a document as relevant when its label is >= 1.
    truncation_level : int >= 1, default 30
        Pairs need their upper document among the model's top ``truncation_level`` positions (LightGBM's
        ``lambdarank_truncation_level``); the ideal DCG of NDCG is taken at this depth too.
    sigmoid : float > 0, default 1.0
        Steepness :math:`\sigma` of the pairwise logistic.
    norm : bool, default True
        LightGBM's ``lambdarank_norm``: divide pair weights by the score distance and rescale each query.
    label_gain : array-like of float or None, default None
        Gain of label ``l`` (``label_gain[l]``); default :math:`2^l - 1` for labels 0..30. Must not decrease.
    emulate_lightgbm : bool, default False
        Reproduce LightGBM's arithmetic bit for bit (``metric="ndcg"`` only): :math:`p` read from its
        :func:`lookup table <lightgbm_sigmoid_table>` and lambdas accumulated pair by pair in float32. Slower
        (scalar loop); meant for parity checks, where a near-tie split otherwise lets tiny differences grow.
    convention : {"lightgbm", "xgboost"}, default "lightgbm"
        ``"xgboost"`` computes XGBoost's lambdas instead (:mod:`gbm_objectives.ranking_xgboost`): ``metric="ndcg"``
        is ``rank:ndcg``, ``"map"`` is ``rank:map`` (binary labels), ``"none"`` is ``rank:pairwise``, with
        ``lambdarank_pair_method="topk"``, ``lambdarank_num_pair_per_sample=truncation_level`` and
        ``lambdarank_normalization=norm``; float32 scores, hessian factor 2 and floor 1e-16 as XGBoost.
        :meth:`pairs` and :meth:`loss` describe the LightGBM convention.
    pair_method : {"topk", "mean"}, default "topk"
        ``convention="xgboost"`` only: XGBoost's ``lambdarank_pair_method``. ``"topk"`` takes the pairs above;
        ``"mean"`` gives every document ``truncation_level`` (``lambdarank_num_pair_per_sample``) partners drawn
        at random among the documents of other labels, with XGBoost 3.2's generator (``std::minstd_rand`` seeded
        ``(round + 1) * n_queries + q``, libstdc++'s ``uniform_int_distribution``), normalises by
        ``1 / truncation_level`` and takes the ideal DCG over the whole query. The round is the number of gradient
        calls made on the prepared training set, so a training through the adapters draws the pairs XGBoost draws
        (XGBoost's development branch seeds from a session generator instead: this reproduces 3.2).

    position_debias : {None, "additive", "ipw", "cascade"}, default None
        Learning from clicks logged under position bias; needs ``position=`` (each row's displayed 0-based rank,
        or a position id) wherever labels go in (:meth:`prepare`, :meth:`grad_hess`, :func:`gbm_objectives.train`).
        ``"additive"``: LightGBM's method (``Dataset(position=...)``), a bias per position added to the scores.
        ``"ipw"``: XGBoost's Unbiased LambdaMART (``lambdarank_unbiased``), inverse propensity weights per
        position learned from the pair costs (or fixed, ``propensity=``). ``"cascade"``: rows displayed below the
        last click of their query group (a session) were not examined by a cascade-type user and contribute
        nothing (zero gradient and hessian); the rest get plain LambdaRank (:func:`cascade_rows`). Scratch only,
        both engines. See Notes.
    position_bias_regularization : float >= 0, default 0.0
        ``"additive"`` only: L2 penalty on the position biases (LightGBM's
        ``lambdarank_position_bias_regularization``).
    bias_norm : float >= 0, default 0.0
        ``"ipw"`` only: the propensities are raised to ``1 / (1 + bias_norm)`` (XGBoost's
        ``lambdarank_bias_norm``). XGBoost's parameter documentation states a default of 2.0, its code
        (``ranking_utils.h``, ``set_default(1.0)``) uses 1.0, Hu et al.'s reference code 0.5, the tables of their
        paper 0 (no regularisation). The default 0 is measured (BENCHMARKS "clicks", LightGBM's cascade protocol,
        5 click logs): with ``normalize="off"`` at S = 10 sessions per query, +0.087 / +0.091 best NDCG@3 over the
        biased model (LightGBM / XGBoost) against +0.039 / +0.031 with 1; XGBoost's own combination
        (``"after"``, 1) gains +0.015 / +0.009. Pass ``bias_norm=1.0, normalize="after"`` for XGBoost's defaults.
    normalize : {"before", "after", "off"}, default "before"
        ``"ipw"`` only: where the per-query factor :math:`\log_2(1 + S)/S` of ``norm=True`` is taken. ``"after"``
        (XGBoost's and the engines' order): :math:`S` sums the propensity-weighted lambdas, which flattens the
        weights between queries; ``"before"``: :math:`S` sums the unweighted lambdas (plain LambdaRank's factor),
        so the inverse propensity weights survive; ``"off"``: no factor (Hu et al.'s reference code; XGBoost's
        ``lambdarank_normalization=False``). The score-distance division of ``norm`` is kept in all three.
        The default is the measured best (BENCHMARKS "clicks", ``bias_norm=0``, 5 logs): at S = 1 session per
        query +0.054 / +0.046 best NDCG@3 over biased (LightGBM / XGBoost; ``"off"`` +0.016 / +0.036), at S = 10
        +0.111 / +0.122 (``"off"`` +0.087 / +0.091; XGBoost's native ``lambdarank_unbiased`` with normalisation
        off +0.103). XGBoost has no ``"before"``: its native path takes ``"after"`` or ``"off"``.
    propensity : array-like of float > 0, optional
        ``"ipw"`` only: fixed examination propensities per position (e.g. :func:`gbm_objectives.estimate_propensity`),
        one per position up to the largest one in the data: :math:`t^+ = \theta / \theta_0`, :math:`t^- = 1`,
        never updated.

    Notes
    -----
    Per query, documents are sorted by score, descending, with a stable sort; ranks :math:`r` start at 0. Pairs
    are :math:`(i, j)` with :math:`r_i < \min(k, n - 1)`, :math:`r_j > r_i` and different labels; "high" is
    the document with the larger label. For ``metric="ndcg"``::

        w     = (G[l_high] - G[l_low]) |1/log2(2 + r_high) - 1/log2(2 + r_low)| / maxDCG@k
        w    /= 0.01 + |s_high - s_low|                   (norm=True and the query's scores not all equal)
        p     = 1 / (1 + exp(sigma (s_high - s_low)))
        grad[high] -= sigma p w,   grad[low] += sigma p w
        hess[high] += sigma^2 p (1 - p) w,   hess[low] += sigma^2 p (1 - p) w

    With ``norm=True`` a query's gradients and hessians are then scaled by :math:`\log_2(1 + S)/S`,
    :math:`S = \sum 2 \sigma p w` over its pairs, and finally by the row weights. A query of one document, with
    all labels equal, or with maxDCG = 0 gets zero gradient. With the weights ``w`` (and the per-query factor)
    held fixed, the lambdas and hessians are the exact first and diagonal second derivatives of
    :math:`\sum w \log(1 + e^{-\sigma (s_{high} - s_{low})})` (:meth:`pairs` lists them; :meth:`loss` sums them).

    LightGBM reads :math:`p` from a 2^20-entry lookup table (absolute error up to about 1.2e-5 at
    :math:`\sigma = 1`); here it is exact, the only difference unless ``emulate_lightgbm=True``. Gradient
    boosting is chaotic at near-tie splits, so that error can change a split after some rounds.
    The initial score is 0, as for LightGBM's built-in objective.

    **Position debiasing.** State that is learned (biases, propensities) lives in the :class:`Prepared`
    training set (``cache``), is updated once per gradient call (one boosting round) after the gradients are
    computed, and is read back with :meth:`position_bias`. With ``"additive"`` (position ``p`` of row ``i``,
    bias ``b``; ``eta`` is the engine's learning rate, which :func:`gbm_objectives.train` hands over)::

        lambdas, hessians = LambdaRank at s_i + b[p_i]           (sort, weights and p all on adjusted scores)
        G_p = -sum_{p_i = p} grad_i - reg b_p n_p,   H_p = -sum_{p_i = p} hess_i - reg n_p
        b_p <- b_p + eta G_p / (|H_p| + 0.001)                    (LightGBM's UpdatePositionBiasFactors)

    With ``emulate_lightgbm=True`` the biases are kept in float32 as LightGBM keeps them, so the trees equal
    native LightGBM's bit for bit. With ``"ipw"`` (k = ``truncation_level`` tracked positions; pairs with a
    position >= k keep their plain weight and are not counted)::

        w_pair /= t+[p_high] t-[p_low]                            (both >= 1e-16; else unchanged)
        cost    = |dZ| log(1 + exp(sigma (s_high - s_low)))       (|dZ| after the score-distance division)
        L+[p_high] += cost / t-[p_low],   L-[p_low] += cost / t+[p_high]
        t+ = (L+ / L+[0]) ** (1 / (1 + bias_norm)),   t- = (L- / L-[0]) ** (1 / (1 + bias_norm))

    following XGBoost's ``lambdarank_obj.cc`` (normalised at position 0; t+ and t- start at 1). The cost is
    what XGBoost's code accumulates, ``log(1 / (1 - sigmoid(s_high - s_low))) = log(1 + exp(s_high - s_low))``.
    Hu et al.'s paper and their reference code (``acbull/Unbiased_LambdaMart``, a LightGBM fork, writes
    ``log(2 / (2 - p))`` with that LightGBM's ``p = 2 / (1 + exp(2 (s_high - s_low)))`` at sigmoid 1) accumulate
    the pair's logistic loss, ``log(1 + exp(-2 (s_high - s_low)))``: XGBoost's port flips the sign of the score
    difference. We follow XGBoost; the logistic cost does no better on LightGBM's position-bias protocol
    (``tests/datasets/test_clicks.py``). The costs are summed over documents, so with queries of different lengths
    ``L+[p]``/``L-[p]`` also count how many queries reach position ``p``, and t- falls at the deep positions few
    queries fill (LightGBM's example with cascade clicks: 1.39 at position 8, 0.10 at position 25; XGBoost learns
    the same); Hu et al. show every query at the same number of positions, where sums and per-position means
    agree (means measured no better on that protocol either). The per-query normalisation (``norm=True``) takes its
    factor from the unweighted lambdas by default (``normalize="before"``); XGBoost takes it from the debiased
    ones (``"after"``). With biases and propensities frozen (``cache["update_position_bias"] = False``)
    the lambdas stay the exact derivatives of the weighted pairwise loss
    at the adjusted scores (:meth:`pairs` with ``position``).

    References
    ----------
    C. J. C. Burges, "From RankNet to LambdaRank to LambdaMART: An Overview", Microsoft Research TR-2010-82.
    Z. Hu, Y. Wang, Q. Peng, H. Li, "Unbiased LambdaMART: An Unbiased Pairwise Learning-to-Rank Algorithm",
    WWW 2019.
    """

    name = "lambdarank"
    # the sigmoid scale of the pair probability and the number of top positions that pair with the rest
    search_space = {"sigmoid": ("float", 0.5, 2.0, True), "truncation_level": ("int", 5, 40, False)}

    @property
    def float64_scores(self):
        """LightGBM's emulation keeps float32 scores' float32 arithmetic (:attr:`Objective.float64_scores`)."""
        return not self.emulate_lightgbm

    def __init__(
        self, metric="ndcg", truncation_level=30, sigmoid=1.0, norm=True, label_gain=None, emulate_lightgbm=False,
        convention="lightgbm", position_debias=None, position_bias_regularization=0.0, bias_norm=0.0,
        normalize="before", propensity=None, pair_method="topk",
    ):
        if metric not in RANKING_METRICS:
            raise ValueError(f"metric must be one of {list(RANKING_METRICS)}; got {metric!r}")
        self.metric = metric
        self.truncation_level = check_positive_int(truncation_level, "truncation_level")
        # bounded so that sigmoid^2 and sigmoid * (score gap) stay finite in the kernels (LightGBM's default is 1)
        self.sigmoid = check_interval(sigmoid, "sigmoid", 0, _MAX_SIGMOID, closed="right")
        if not isinstance(norm, (bool, np.bool_)):
            raise TypeError(f"norm must be True or False; got {norm!r}")
        self.norm = bool(norm)
        self._gain = _check_label_gain(label_gain)  # a read-only copy
        self.label_gain = None if label_gain is None else self._gain
        if not isinstance(emulate_lightgbm, (bool, np.bool_)):
            raise TypeError(f"emulate_lightgbm must be True or False; got {emulate_lightgbm!r}")
        if emulate_lightgbm and metric != "ndcg":
            raise ValueError(f"emulate_lightgbm=True reproduces LightGBM's lambdarank, metric='ndcg'; got {metric!r}")
        self.emulate_lightgbm = bool(emulate_lightgbm)
        self._table = lightgbm_sigmoid_table(self.sigmoid) if self.emulate_lightgbm else np.empty(0)
        if convention not in ("lightgbm", "xgboost"):
            raise ValueError(f"convention must be 'lightgbm' or 'xgboost'; got {convention!r}")
        self.convention = convention
        if pair_method not in ("topk", "mean"):
            raise ValueError(f"pair_method must be 'topk' or 'mean'; got {pair_method!r}")
        if pair_method == "mean" and convention != "xgboost":
            raise ValueError("pair_method='mean' is XGBoost's lambdarank_pair_method; it needs convention='xgboost'")
        self.pair_method = pair_method
        if convention == "xgboost":
            xgboost_lambdas.check_xgboost_convention(self)

        if position_debias not in POSITION_DEBIAS:
            raise ValueError(f"position_debias must be one of {list(POSITION_DEBIAS)}; got {position_debias!r}")
        if position_debias == "ipw" and self.emulate_lightgbm:
            raise ValueError("emulate_lightgbm=True reproduces LightGBM, which has no position_debias='ipw' "
                             "(XGBoost's method); use position_debias='additive' or emulate_lightgbm=False")
        self.position_debias = position_debias
        self.position_bias_regularization = check_interval(
            position_bias_regularization, "position_bias_regularization", 0, None, closed="left")
        self.bias_norm = check_interval(bias_norm, "bias_norm", 0, None, closed="left")
        if normalize not in IPW_NORMALIZE:
            raise ValueError(f"normalize must be one of {list(IPW_NORMALIZE)}; got {normalize!r}")
        self.normalize = normalize
        self._ipw_norm = IPW_NORMALIZE.index(normalize)
        if propensity is not None:
            if position_debias != "ipw":
                raise ValueError(f"propensity= fixes the propensities of position_debias='ipw'; got "
                                 f"position_debias={position_debias!r}")
            propensity = check_propensity(propensity)
        self.propensity = propensity
        if position_debias is not None and convention != "lightgbm":
            raise ValueError(f"position_debias={position_debias!r} is implemented for convention='lightgbm'; got "
                             f"convention={convention!r}")

    # ---- preparation (once per training set) --------------------------------------------------------------
    def prepare(self, y_true, *, sample_weight=None, group=None, qid=None, position=None, bias_learning_rate=None):
        """Validate labels, weights, query groups (and positions) once; caches gains and each query's 1 / maxDCG@k.

        With ``position_debias`` set, ``position`` (non-negative integers, one per row) is required and becomes
        :attr:`Prepared.position`; the cache holds the learned state: ``position_bias`` (additive) or
        ``t_plus``/``t_minus`` (ipw), the learning rate of the additive update (``bias_learning_rate``: the
        boosting learning rate, which :func:`gbm_objectives.train` passes; 0.1 when None) and
        ``update_position_bias`` (True: update once per gradient call).
        """
        y = self._check_y(y_true)
        self.check_position_pairing(position is not None)
        boundaries = ranking_boundaries(len(y), group, qid)
        w = ranking_weights(sample_weight, len(y), boundaries)
        if self.metric == "ndcg":
            gains = _dcg.row_gains(y.astype(np.int64), self._gain)
            # the ideal DCG routine of the metrics too (_dcg.ideal_dcg_query): ΔNDCG and reported NDCG share it
            # (XGBoost's mean pair method has no truncation: its ideal DCG takes the whole query, k = 0)
            max_dcg = _dcg.ideal_dcg(gains, boundaries, 0 if self.pair_method == "mean" else self.truncation_level)
            inv_max = np.zeros_like(max_dcg)
            np.divide(1.0, max_dcg, out=inv_max, where=max_dcg > 0)
        else:
            gains = np.zeros(len(y))
            inv_max = np.ones(len(boundaries) - 1)
        longest = int(np.diff(boundaries).max()) if len(boundaries) > 1 else 0
        cache = {
            "gains": gains,
            "inverse_max_dcg": inv_max,
            "blocks": cost_blocks(boundaries, self.truncation_level),
            "discount": _dcg.discount_table(longest),
            "pair_cost": pair_cost(boundaries, self.truncation_level),
        }
        pos = None
        if self.position_debias is not None:
            pos = check_position(position, len(y))
            cache["update_position_bias"] = True
            if self.position_debias == "additive":
                cache["position_bias"] = np.zeros(int(pos.max()) + 1 if len(pos) else 0)
                cache["bias_learning_rate"] = 0.1 if bias_learning_rate is None else check_interval(
                    bias_learning_rate, "bias_learning_rate", 0, None, closed="neither")
            elif self.position_debias == "ipw" and self.propensity is not None:
                top = int(pos.max()) + 1 if len(pos) else 0
                if len(self.propensity) < top:
                    raise ValueError(f"propensity has {len(self.propensity)} entries but the largest position is "
                                     f"{top - 1}: give one propensity per position 0..{top - 1}")
                cache["t_plus"] = self.propensity[:top] / self.propensity[0]
                cache["t_minus"] = np.ones(top)
                cache["update_position_bias"] = False
            elif self.position_debias == "ipw":
                k = self.truncation_level if len(pos) == 0 else min(self.truncation_level, int(pos.max()) + 1)
                cache["t_plus"] = np.ones(k)
                cache["t_minus"] = np.ones(k)
            else:  # cascade: the rows at or above each query's last click, as a plain LambdaRank training set
                rows = cascade_rows(y, pos, boundaries)
                twin = self.evaluation_twin()
                kept = np.bincount(np.searchsorted(boundaries, rows, side="right") - 1,
                                   minlength=len(boundaries) - 1)
                cache["cascade_rows"] = rows
                cache["cascade_twin"] = twin
                cache["cascade"] = twin.prepare(y[rows], sample_weight=None if w is None else w[rows],
                                                group=kept[kept > 0])
        return Prepared(y, w, boundaries, cache, position=pos)

    def evaluation_twin(self):
        """This objective without position debiasing: validation sets carry true labels, no positions."""
        if self.position_debias is None:
            return self
        params = self.get_params()
        params["position_debias"] = None
        params["propensity"] = None
        return type(self)(**params)

    def position_bias(self, prepared):
        """What debiasing learned on ``prepared``: the bias per position (additive; ndarray indexed by position)
        or the propensity tables ``{"t_plus": ..., "t_minus": ...}`` (ipw; one entry per tracked position);
        None without ``position_debias``. Copies."""
        c = prepared.cache
        if "position_bias" in c:
            return c["position_bias"].copy()
        if "t_plus" in c:
            return {"t_plus": c["t_plus"].copy(), "t_minus": c["t_minus"].copy()}
        return None  # cascade: nothing learned

    def _ipw_rows(self, c, pos):
        """Per-row t+ and t- at each row's position; -1 for rows beyond the tracked positions."""
        k = len(c["t_plus"])
        tracked = pos < k
        idx = np.minimum(pos, max(k - 1, 0))
        tp = np.where(tracked, c["t_plus"][idx] if k else -1.0, -1.0)
        tm = np.where(tracked, c["t_minus"][idx] if k else -1.0, -1.0)
        return np.ascontiguousarray(tp), np.ascontiguousarray(tm)

    def _check_y(self, y_true):
        y = check_1d(y_true, "y_true")
        if self.metric == "ndcg":
            bad = (y < 0) | (y != np.floor(y))
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(
                    f"y_true must contain non-negative integer relevance labels for metric='ndcg' (they index "
                    f"label_gain); got {y[i]:g} at index {i}"
                )
            if len(y) and y.max() >= len(self._gain):
                i = int(np.argmax(y))
                raise ValueError(
                    f"y_true label {y[i]:g} at index {i} has no gain: label_gain has {len(self._gain)} entries "
                    f"(labels 0..{len(self._gain) - 1})"
                )
        elif (y < 0).any():
            i = int(np.flatnonzero(y < 0)[0])
            raise ValueError(f"y_true must contain non-negative relevance labels; got {y[i]:g} at index {i}")
        return y

    def _kernel(self, prepared, raw, w, grad_out, hess_out):
        if prepared.boundaries is None:
            raise ValueError("a ranking objective needs group (query sizes) or qid (per-row query ids)")
        c = prepared.cache
        if self.convention == "xgboost":  # XGBoost's rank:ndcg / rank:map / rank:pairwise (ranking_xgboost.py)
            return xgboost_lambdas.xgboost_lambdarank_kernel(
                prepared, raw, w, self.truncation_level, _METRIC_CODE[self.metric], self.norm, grad_out, hess_out,
                c["pair_cost"] >= PARALLEL_MIN["lambdarank"], self.pair_method,
            )

        pos = prepared.position
        debias = self.position_debias if pos is not None else None
        if debias == "cascade":  # rows below their query's last click contribute nothing
            rows, sub = c["cascade_rows"], c["cascade"]
            g = np.zeros(len(rows))
            h = np.zeros(len(rows))
            if len(rows):
                c["cascade_twin"]._kernel(sub, np.ascontiguousarray(raw[rows]), w[rows] if w.shape[0] else w, g, h)
            grad_out[:] = 0.0
            hess_out[:] = 0.0
            grad_out[rows] = g
            hess_out[rows] = h
            return
        tp = tm = li = lj = _EMPTY
        if debias == "additive":
            raw = raw + c["position_bias"][pos]  # float64, as LightGBM's score_adjusted
        elif debias == "ipw":
            tp, tm = self._ipw_rows(c, pos)
            li = np.zeros(prepared.n_samples)
            lj = np.zeros(prepared.n_samples)
        _LAMBDARANK[self._table.shape[0] > 0](
            c["pair_cost"] >= PARALLEL_MIN["lambdarank"], prepared.y, c["gains"], raw, w, prepared.boundaries,
            c["inverse_max_dcg"], c["blocks"], c["discount"],
            self._table, self.truncation_level, self.sigmoid, self.norm, _METRIC_CODE[self.metric], grad_out, hess_out,
            tp, tm, li, lj, self._ipw_norm,
        )
        if debias is not None and c.get("update_position_bias", True):
            if debias == "additive":
                self._update_additive(c, pos, grad_out, hess_out)
            else:
                self._update_ipw(c, pos, li, lj)

    def _update_additive(self, c, pos, grad, hess):
        """LightGBM's Newton step per position (rank_objective.hpp, UpdatePositionBiasFactors)."""
        bias = c["position_bias"]
        m = len(bias)
        # sums in row order in float64 over the (float32, when the engine's) gradients, as LightGBM on one thread
        g = np.bincount(pos, weights=np.asarray(grad, dtype=np.float64).ravel(), minlength=m)
        h = np.bincount(pos, weights=np.asarray(hess, dtype=np.float64).ravel(), minlength=m)
        count = np.bincount(pos, minlength=m).astype(np.float64)
        reg = self.position_bias_regularization
        first = -g - bias * reg * count
        second = -h - reg * count
        bias += c["bias_learning_rate"] * first / (np.abs(second) + _BIAS_HESS_EPS)
        if self.emulate_lightgbm:
            bias[:] = bias.astype(np.float32)  # LightGBM stores pos_biases_ as float (label_t)

    def _update_ipw(self, c, pos, li, lj):
        """XGBoost's propensity update (lambdarank_obj.cc, LambdaRankUpdatePositionBias)."""
        k = len(c["t_plus"])
        tracked = pos < k
        lp = np.bincount(pos[tracked], weights=li[tracked], minlength=k)
        lm = np.bincount(pos[tracked], weights=lj[tracked], minlength=k)
        power = 1.0 / (1.0 + self.bias_norm)
        if k and lp[0] >= _IPW_EPS:
            c["t_plus"][:] = (lp / lp[0]) ** power
        if k and lm[0] >= _IPW_EPS:
            c["t_minus"][:] = (lm / lm[0]) ** power

    # ---- the pairs and their loss (for inspection and gradient checks) -------------------------------------
    def pairs(self, y_true, raw_score, *, group=None, qid=None, position=None, position_bias=None):
        """The weighted pairs behind the lambdas at ``raw_score``.

        With ``position_debias``, pass ``position`` and the frozen state ``position_bias`` (additive: bias per
        position; ipw: ``{"t_plus": ..., "t_minus": ...}``; default: the initial state, zeros or ones). The pairs
        are then those at the adjusted scores (additive) or carry the inverse propensity weights (ipw).

        Returns
        -------
        high, low : ndarray of int64
            Row indices of the document with the larger and the smaller label of each pair.
        weight : ndarray of float64
            Pair weight with every factor that LambdaRank holds fixed (metric change, score distance and the
            per-query normalisation); row weights excluded.
        """
        prepared = self.prepare(y_true, group=group, qid=qid, position=position)
        raw = check_raw_score(raw_score, prepared.n_samples).astype(np.float64, copy=False)
        c = prepared.cache
        tp = tm = _EMPTY
        if position_bias is not None:
            self._set_state(c, position_bias)
        if self.position_debias == "additive":
            raw = raw + c["position_bias"][prepared.position]
        elif self.position_debias == "ipw":
            tp, tm = self._ipw_rows(c, prepared.position)
        if self.position_debias == "cascade":
            rows = c["cascade_rows"]
            sub = c["cascade"]
            hi, lo, wt = _lambdarank_pairs(
                sub.y, sub.cache["gains"], np.ascontiguousarray(raw[rows]), sub.boundaries,
                sub.cache["inverse_max_dcg"], self.truncation_level, self.sigmoid, self.norm,
                _METRIC_CODE[self.metric], _EMPTY, _EMPTY, 0,
            )
            return rows[hi], rows[lo], wt
        return _lambdarank_pairs(
            prepared.y, c["gains"], raw, prepared.boundaries, c["inverse_max_dcg"], self.truncation_level,
            self.sigmoid, self.norm, _METRIC_CODE[self.metric], tp, tm, self._ipw_norm,
        )

    def _set_state(self, c, position_bias):
        """Copy a given (frozen) debiasing state into a prepared cache."""
        if self.position_debias == "additive":
            b = check_1d(position_bias, "position_bias")
            if len(b) < len(c["position_bias"]):
                raise ValueError(f"position_bias has {len(b)} entries but the largest position is "
                                 f"{len(c['position_bias']) - 1}")
            c["position_bias"] = b.copy()
        elif self.position_debias == "ipw":
            if not isinstance(position_bias, dict) or set(position_bias) != {"t_plus", "t_minus"}:
                raise TypeError("position_bias for position_debias='ipw' must be {'t_plus': ..., 't_minus': ...}")
            k = len(c["t_plus"])
            for key in ("t_plus", "t_minus"):
                t = check_1d(position_bias[key], f"position_bias[{key!r}]")
                if len(t) < k:
                    raise ValueError(f"position_bias[{key!r}] has {len(t)} entries; {k} positions are tracked")
                c[key] = t[:k].copy()

    def loss(self, y_true, raw_score, *, sample_weight=None, group=None, qid=None, position=None,
             position_bias=None):
        r"""Pair-weighted logistic loss per query, :math:`\frac{1}{n_q}\sum w \log(1 + e^{-\sigma(s_h - s_l)})`.

        The weights are those of :meth:`pairs`, evaluated at ``raw_score`` (``position``/``position_bias`` as
        there; with ``"additive"`` the scores are the adjusted ones); row weights are not defined for a
        pairwise loss, so ``sample_weight`` must be None.
        """
        if sample_weight is not None:
            raise ValueError("LambdaRankObjective.loss is a pairwise loss; sample_weight must be None")
        hi, lo, wt = self.pairs(y_true, raw_score, group=group, qid=qid, position=position,
                                position_bias=position_bias)
        raw = np.asarray(raw_score, dtype=np.float64)
        if self.position_debias == "additive":
            bias = (np.zeros(int(np.max(position)) + 1) if position_bias is None
                    else np.asarray(position_bias, dtype=np.float64))
            raw = raw + bias[np.asarray(position, dtype=np.int64)]
        n_queries = len(resolve_boundaries(len(raw), group=group, qid=qid)) - 1
        return float(np.sum(wt * np.logaddexp(0.0, -self.sigmoid * (raw[hi] - raw[lo])))) / max(n_queries, 1)


def cascade_rows(clicks, position, boundaries):
    """Rows displayed at or above the last click of their query (session), in row order (int64).

    Under a cascade-type user (the scan stops somewhere below the last click), these are the rows known to have
    been examined; a query without a click keeps none.

    >>> cascade_rows(np.array([0.0, 1, 0, 0, 0]), np.array([0, 1, 2, 0, 1]), np.array([0, 3, 5])).tolist()
    [0, 1]
    """
    n_q = len(boundaries) - 1
    query = np.repeat(np.arange(n_q), np.diff(boundaries))
    last = np.full(n_q, -1, dtype=np.int64)
    clicked = clicks > 0
    np.maximum.at(last, query[clicked], position[clicked])
    return np.flatnonzero(position <= last[query]).astype(np.int64)


def _check_label_gain(label_gain):
    if label_gain is None:
        return _dcg.default_label_gain()
    if isinstance(label_gain, (str, bytes)) or isinstance(label_gain, numbers.Number):
        raise TypeError(f"label_gain must be a sequence of numbers; got {label_gain!r}")
    g = frozen_copy(check_1d(label_gain, "label_gain"))
    if len(g) == 0:
        raise ValueError("label_gain must have at least one entry")
    if (g < 0).any():
        i = int(np.flatnonzero(g < 0)[0])
        raise ValueError(f"label_gain must be non-negative; got {g[i]!r} at index {i}")
    if (np.diff(g) < 0).any():
        i = int(np.flatnonzero(np.diff(g) < 0)[0]) + 1
        raise ValueError(f"label_gain must not decrease with the label; got {g[i]!r} at index {i} after {g[i - 1]!r}")
    return g
