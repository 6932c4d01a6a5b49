r"""XGBoost's LambdaRank (``rank:ndcg``, ``rank:map``, ``rank:pairwise``), reimplemented for
``LambdaRankObjective(convention="xgboost")``.

XGBoost (``src/objective/lambdarank_obj.{h,cc}``, top-k pair method) differs from LightGBM's lambdarank in these
points, all reproduced here:

* scores are float32 (XGBoost's prediction type); ``s_high - s_low`` is a float32 difference and the pair
  probability is its float32 sigmoid ``1 / (1 + expf(min(-x, 88.7)))``;
* pairs: every ``(i, j)`` with ``i < min(n, k)`` (``k = lambdarank_num_pair_per_sample``) and ``j > i`` in the
  model's stable descending order, labels different (``topk``); or, for ``lambdarank_pair_method="mean"``, ``k``
  random partners of other labels per document (``MakePairs``: ``std::minstd_rand`` seeded
  ``(round + 1) * n_queries + q`` in XGBoost 3.2, libstdc++'s ``uniform_int_distribution``), the ideal DCG over the
  whole query and the query's lambdas scaled by ``1 / k`` instead of ``log2(1 + S) / S``;
* metric change: ``|(G_h D_h + G_l D_l) - (G_l D_h + G_h D_l)| / IDCG@k`` for NDCG (evaluated in that order),
  XGBoost's closed-form change of average precision for MAP (binary labels), 1 for ``rank:pairwise``;
  divided by ``0.01 + |s_high - s_low|`` unless the query's scores are all equal (XGBoost's
  ``lambdarank_score_normalization``, left at its default True whatever ``norm``);
* ``lambda = (p - 1) * delta``, ``hess = 2 * max(p (1 - p), 1e-16) * delta`` with ``p = sigmoid(s_high - s_low)``,
  each rounded to float32 and accumulated pair by pair in float32;
* per query, ``S = sum -2 lambda`` (in double) and, when ``S > 0`` and ``norm`` (``lambdarank_normalization``), gradients and hessians scaled by the float32
  ``log2(1 + S) / S``; then by the query weight and ``n_queries / sum(query weights)`` (float32 products).

A read-only user of :mod:`gbm_objectives._core.dcg` (discounts) and of the LambdaRank preparation (gains, 1/IDCG@k).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .._core import dcg as _dcg
from .._core.jit import copy_function

__all__ = ["xgboost_lambdarank_kernel", "check_xgboost_convention"]

_F32_EXP_CAP = np.float32(88.7)
_F32_ONE = np.float32(1.0)
_F32_EPS = np.float32(1e-16)
_EPS64 = 1e-16
_METRIC_NDCG, _METRIC_MAP, _METRIC_NONE = 0, 2, 3  # codes of ranking.RANKING_METRICS


@njit(cache=True, nogil=True)
def _sigmoid32(x):
    """XGBoost's ``common::Sigmoid(float)``: ``1 / (expf(min(-x, 88.7)) + 1 + 1e-16)`` in float32."""
    t = -x
    if t > _F32_EXP_CAP:
        t = _F32_EXP_CAP
    denom = np.float32(np.exp(t)) + _F32_ONE + _F32_EPS
    return _F32_ONE / denom


_MINSTD_M = 2147483647  # std::minstd_rand: x <- 48271 x mod (2^31 - 1), outputs in [1, 2^31 - 2]
_MINSTD_A = 48271
_MINSTD_RANGE = 2147483645  # max - min of its outputs


@njit(cache=True, nogil=True)
def _uniform_index(x, m):
    """libstdc++'s ``std::uniform_int_distribution<std::size_t>(0, m - 1)`` on ``std::minstd_rand`` (state ``x``):
    draws ``u - 1`` until it is below ``m * floor(range / m)`` and divides by ``floor(range / m)``. Returns (new state,
    index)."""
    scaling = _MINSTD_RANGE // m
    past = m * scaling
    while True:
        x = (x * _MINSTD_A) % _MINSTD_M
        r = x - 1
        if r < past:
            return x, r // scaling


@njit(cache=True, nogil=True)
def _xgb_pair(i, j, order, a, y, gains, raw32, inv_idcg, disc, metric, n_rel, acc, n, by_diff, g32, h32):
    """XGBoost's ``LambdaGrad`` for the documents at model ranks ``i`` and ``j`` (labels differ): accumulates into
    ``g32``/``h32`` in float32 and returns the pair's ``-2 lambda`` (for the query's normalisation)."""
    yi = y[a + order[i]]
    yj = y[a + order[j]]
    rh, rl = (i, j) if yi > yj else (j, i)
    ih = order[rh]
    il = order[rl]
    d32 = raw32[a + ih] - raw32[a + il]  # float32 difference
    p = np.float64(_sigmoid32(d32))
    if metric == _METRIC_NDCG:
        gh = gains[a + ih]
        gl = gains[a + il]
        dh = disc[rh]
        dl = disc[rl]
        delta = ((gh * dh + gl * dl) - (gl * dh + gh * dl)) * inv_idcg
    elif metric == _METRIC_MAP:
        # XGBoost's DeltaMAP on the two ranks in list order (top first), y_high the label at the top one
        top = min(i, j)
        bot = max(i, j)
        r_h = top + 1.0
        r_l = bot + 1.0
        m = n_rel[bot]
        nn = n_rel[top]
        b = acc[bot - 1] - acc[top]
        if y[a + order[top]] < y[a + order[bot]]:
            delta = ((m / r_l - (nn + 1.0) / r_h) - b) / n_rel[n - 1]
        else:
            delta = ((nn / r_h - m / r_l) + b) / n_rel[n - 1]
    else:
        delta = 1.0
    delta = abs(delta)
    if by_diff:
        delta /= abs(np.float64(d32)) + 0.01
    lam = np.float32((p - 1.0) * delta)
    hes = np.float32(max(p * (1.0 - p), _EPS64) * delta * 2.0)
    g32[ih] += lam
    h32[ih] += hes
    g32[il] += -lam
    h32[il] += hes
    return -2.0 * np.float64(lam)


@njit(cache=True, nogil=True)
def _xgb_query(a, n, y, gains, raw32, inv_idcg, disc, k, metric, norm, w_q, w_norm, grad_out, hess_out, g32, h32,
               n_rel, acc, mean, seed, by_label):
    order = _dcg.stable_desc_order(raw32[a : a + n])
    for r in range(n):
        g32[r] = 0.0
        h32[r] = 0.0
    if metric == _METRIC_MAP:
        c = 0.0
        s = 0.0
        for r in range(n):
            lab = y[a + order[r]]
            c += lab
            s += lab / (r + 1.0)
            n_rel[r] = c
            acc[r] = s
    best = raw32[a + order[0]]
    worst = raw32[a + order[n - 1]]
    by_diff = best != worst  # lambdarank_score_normalization: XGBoost's default (on), not switched by norm
    total = 0.0
    if not mean:  # lambdarank_pair_method="topk"
        for i in range(min(n, k)):
            for j in range(i + 1, n):
                if y[a + order[i]] != y[a + order[j]]:
                    total += _xgb_pair(i, j, order, a, y, gains, raw32, inv_idcg, disc, metric, n_rel, acc, n,
                                       by_diff, g32, h32)
    else:
        # lambdarank_pair_method="mean" (MakePairs): the model ranks sorted by label, descending (stable); for each
        # bucket of equal labels, k rounds of one random partner per document, drawn uniformly among the documents
        # outside the bucket, from std::minstd_rand seeded with this query's seed
        x = seed % _MINSTD_M
        if x == 0:
            x = 1
        for r in range(n):
            by_label[r] = y[a + order[r]]
        ys = np.argsort(-by_label[:n], kind="mergesort")
        i = 0
        while i < n:
            j = i + 1
            while j < n and by_label[ys[i]] == by_label[ys[j]]:
                j += 1
            outside = i + (n - j)
            if outside > 0:
                for _ in range(k):
                    for t in range(i, j):
                        x, r = _uniform_index(x, outside)
                        if r >= i:
                            r += j - i  # past the bucket
                        total += _xgb_pair(ys[t], ys[r], order, a, y, gains, raw32, inv_idcg, disc, metric, n_rel,
                                           acc, n, by_diff, g32, h32)
            i = j
    f = _F32_ONE
    if norm:
        if mean:
            f = np.float32(1.0 / k)  # XGBoost normalises the mean method by the number of pairs per document
        elif total > 0.0:
            f = np.float32(math.log2(1.0 + total) / total)
    for r in range(n):
        gv = g32[r]
        hv = h32[r]
        if f != _F32_ONE:
            gv = gv * f
            hv = hv * f
        gv = gv * w_q * w_norm
        hv = hv * w_q * w_norm
        grad_out[a + r] = gv
        hess_out[a + r] = hv


def _xgb_queries(y, gains, raw32, inv_idcg, disc, boundaries, w, w_norm, k, metric, norm, mean, seeds, grad_out,
                 hess_out):
    nq = boundaries.shape[0] - 1
    for q in prange(nq):
        a = boundaries[q]
        n = boundaries[q + 1] - a
        if n < 2:
            for r in range(a, a + n):
                grad_out[r] = 0.0
                hess_out[r] = 0.0
            continue
        w_q = np.float32(1.0) if w.shape[0] == 0 else np.float32(w[a])
        g32 = np.empty(n, dtype=np.float32)
        h32 = np.empty(n, dtype=np.float32)
        n_rel = np.empty(n if metric == 2 else 0)
        acc = np.empty(n if metric == 2 else 0)
        by_label = np.empty(n if mean else 0)
        _xgb_query(a, n, y, gains, raw32, inv_idcg[q], disc, k, metric, norm, w_q, w_norm, grad_out, hess_out, g32,
                   h32, n_rel, acc, mean, seeds[q] if mean else 0, by_label)


_xgb_parallel = njit(parallel=True, cache=True, nogil=True)(copy_function(_xgb_queries, "_parallel"))
_xgb_serial = njit(cache=True, nogil=True)(copy_function(_xgb_queries, "_serial"))


def xgboost_lambdarank_kernel(prepared, raw, w, k, metric_code, norm, grad_out, hess_out, parallel, pair_method="topk"):
    """XGBoost's lambdas for a :class:`~gbm_objectives.objectives.base.Prepared` LambdaRank training set.

    ``w`` are row weights (empty for none); XGBoost's ranking weights are per query, so the weight of a query's
    first row is used for the whole query, and the weights are normalised to mean 1 over queries as XGBoost does.
    """
    c = prepared.cache
    b = prepared.boundaries
    if metric_code == _METRIC_MAP and "xgboost_binary" not in c:
        bad = (prepared.y != 0.0) & (prepared.y != 1.0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"convention='xgboost' with metric='map' (rank:map) needs binary labels 0/1; got {prepared.y[i]:g} "
                f"at index {i}"
            )
        c["xgboost_binary"] = True
    raw32 = np.ascontiguousarray(raw, dtype=np.float32)
    if w.shape[0]:
        wq = w[b[:-1][np.diff(b) > 0]].astype(np.float32)
        total = float(np.sum(wq.astype(np.float64)))
        w_norm = np.float32((len(b) - 1) / total) if total > 0 else np.float32(1.0)  # XGBoost's WeightNorm
    else:
        w_norm = np.float32(1.0)
    mean = pair_method == "mean"
    n_groups = len(b) - 1
    if mean:
        # XGBoost 3.2 (lambdarank_obj.h, MakePairs): query g of round `iter` seeds its generator with
        # (iter + 1) * n_groups + g (uint32 arithmetic); the round is the number of calls made on this training set
        it = c.get("xgboost_iteration", 0)
        c["xgboost_iteration"] = it + 1
        seeds = ((it + 1) * n_groups + np.arange(n_groups, dtype=np.int64)) & 0xFFFFFFFF
    else:
        seeds = np.empty(0, dtype=np.int64)
    kernel = _xgb_parallel if parallel else _xgb_serial
    kernel(
        prepared.y, c["gains"], raw32, c["inverse_max_dcg"], c["discount"], b, w, w_norm, int(k), int(metric_code),
        bool(norm), mean, seeds, grad_out, hess_out,
    )


def check_xgboost_convention(obj):
    """Refuse the options of ``LambdaRankObjective`` that XGBoost's rank objectives cannot express."""
    if obj.metric not in ("ndcg", "map", "none"):
        raise ValueError(f"convention='xgboost' has no rank objective for metric={obj.metric!r}; use 'ndcg', 'map' or 'none'")
    if obj.sigmoid != 1.0:
        raise ValueError(f"convention='xgboost': XGBoost's sigmoid is fixed at 1; got sigmoid={obj.sigmoid!r}")
    if obj.emulate_lightgbm:
        raise ValueError("emulate_lightgbm=True reproduces LightGBM; it cannot be combined with convention='xgboost'")
    if obj.label_gain is not None:
        g = np.asarray(obj.label_gain, dtype=np.float64)
        if not (np.array_equal(g, 2.0 ** np.arange(len(g)) - 1) or np.array_equal(g, np.arange(len(g), dtype=float))):
            raise ValueError(
                "convention='xgboost' supports only the gains 2**l - 1 or l (XGBoost's ndcg_exp_gain); "
                f"got label_gain={g.tolist()!r}"
            )
