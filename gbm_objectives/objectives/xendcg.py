r"""XE-NDCG (Bruch et al. 2019): LightGBM's ``rank_xendcg``, its random targets reproduced.

>>> import numpy as np
>>> import gbm_objectives as go
>>> obj = go.XENDCGObjective(seed=5)
>>> g, h = obj.grad_hess(np.array([2.0, 0.0, 1.0, 1.0, 1.0]), np.zeros(5), group=[3, 2])
>>> bool(g[0] < 0 < g[1]), g[3:].tolist()   # the best doc is pushed up; an all-equal-label query gets 0
(True, [0.0, 0.0])
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .._core.jit import PARALLEL_MIN, copy_function
from .._core.validation import check_raw_score
from ._ranking_base import (RankingObjective, check_relevance_labels, labels_all_equal, ranking_boundaries,
                            ranking_weights)
from .base import Prepared

__all__ = ["XENDCGObjective", "lightgbm_random_floats"]

_K_EPSILON = float(np.float32(1e-15))  # LightGBM's kEpsilon = 1e-15f, promoted to double
_HESS_FLOOR = 1e-16  # LambdaRank's per-pair floor: a positive hessian wherever the gradient is not 0 (float64 mode)
_COMPLEMENT_MIN = 2.0**-26  # below it 1 - rho has lost half its digits to cancellation (float64 mode)


@njit(cache=True, nogil=True)
def _next_float(state):
    """LightGBM's ``Random::NextFloat``: ``x = 214013 x + 2531011 (mod 2^32)``, ``((x >> 16) & 0x7FFF) / 32768``."""
    x = (214013 * state + 2531011) & 0xFFFFFFFF
    return x, ((x >> 16) & 0x7FFF) / 32768.0


def lightgbm_random_floats(seed, n):
    """The first ``n`` values of LightGBM's ``Random(seed).NextFloat()`` (exact: multiples of 1/32768)."""
    x = int(seed) & 0xFFFFFFFF
    out = np.empty(n)
    for i in range(n):
        x, out[i] = _next_float(x)
    return out


@njit(cache=True, nogil=True)
def _xendcg_query(a, n, y, raw, gam, rho, par, emulate, grad_out, hess_out):
    wmax = raw[a]
    top = 0
    for i in range(1, n):
        if raw[a + i] > wmax:
            top = i
        wmax = max(raw[a + i], wmax)
    wsum = 0.0
    for i in range(n):
        rho[i] = math.exp(raw[a + i] - wmax)
        wsum += rho[i]
    for i in range(n):
        rho[i] /= wsum
    den = 0.0
    for i in range(n):
        par[i] = 2.0 ** int(y[a + i]) - gam[i]
        den += par[i]
    inv = 1.0 / max(_K_EPSILON, den)
    # Only the top document can have 1 - rho near 0 (any other has 1 - rho_i >= rho_top >= 1/n). LightGBM divides
    # by 1 - rho_top as it is; where that is 0 (emulate) or has lost half its digits (float64), the stable form.
    om_top = 1.0 - rho[top]
    if om_top == 0.0 or (not emulate and om_top < _COMPLEMENT_MIN):
        _xendcg_query_saturated(a, n, raw, rho, par, inv, top, wmax, wsum, emulate, grad_out, hess_out)
        return
    s1 = 0.0
    for i in range(n):
        t = -par[i] * inv + rho[i]
        grad_out[a + i] = np.float32(t) if emulate else t
        par[i] = t / (1.0 - rho[i])
        s1 += par[i]
    s2 = 0.0
    for i in range(n):
        t = rho[i] * (s1 - par[i])
        if emulate:
            grad_out[a + i] = np.float32(np.float32(grad_out[a + i]) + np.float32(t))
        else:
            grad_out[a + i] += t
        par[i] = t / (1.0 - rho[i])
        s2 += par[i]
    for i in range(n):
        t = rho[i] * (s2 - par[i])
        if emulate:
            grad_out[a + i] = np.float32(np.float32(grad_out[a + i]) + np.float32(t))
            hess_out[a + i] = np.float32(rho[i] * (1.0 - rho[i]))
        else:
            grad_out[a + i] += t
            h = rho[i] * (1.0 - rho[i])
            hess_out[a + i] = max(h, _HESS_FLOOR) if grad_out[a + i] != 0.0 else h


@njit(cache=True, nogil=True)
def _xendcg_query_saturated(a, n, raw, rho, par, inv, top, wmax, wsum, emulate, grad_out, hess_out):
    """The same three terms where the top document's softmax is saturated (``1 - rho_top`` is ~0).

    Every product ``rho_j c_top = rho_j l_top / (1 - rho_top)`` is formed as ``q_j l_top`` with
    ``q_j = exp(s_j) / sum_{k != top} exp(s_k)`` (shifted by the runner-up's score), and ``1 - rho_top`` as
    ``sum_{k != top} rho_k`` in log space, so nothing divides by 0 and no 0 * inf appears.
    """
    m2 = -np.inf
    for j in range(n):
        if j != top:
            m2 = max(m2, raw[a + j])
    q = np.empty(n)
    e2 = 0.0
    for j in range(n):
        q[j] = 0.0 if j == top else math.exp(raw[a + j] - m2)
        e2 += q[j]
    for j in range(n):
        q[j] /= e2
    om_top = math.exp(m2 - wmax + math.log(e2) - math.log(wsum))
    l1 = np.empty(n)
    for i in range(n):
        l1[i] = -par[i] * inv + rho[i]
        grad_out[a + i] = np.float32(l1[i]) if emulate else l1[i]
    lt = l1[top]
    for it in range(2):  # the second- and third-order terms, each from the previous one
        s1 = 0.0
        for i in range(n):
            if i != top:
                par[i] = l1[i] / (1.0 - rho[i])
                s1 += par[i]
        for i in range(n):
            if i == top:
                t = rho[i] * s1
            else:
                t = rho[i] * (s1 - par[i]) + q[i] * lt
            if emulate:
                grad_out[a + i] = np.float32(np.float32(grad_out[a + i]) + np.float32(t))
            else:
                grad_out[a + i] += t
            l1[i] = t
        lt = l1[top]
    for i in range(n):
        h = rho[i] * (om_top if i == top else 1.0 - rho[i])
        if emulate:
            hess_out[a + i] = np.float32(h)
        else:
            hess_out[a + i] = max(h, _HESS_FLOOR) if grad_out[a + i] != 0.0 else h


def _xendcg_queries(y, raw, w, boundaries, state, emulate, grad_out, hess_out):
    nq = boundaries.shape[0] - 1
    for q in prange(nq):
        a = boundaries[q]
        n = boundaries[q + 1] - a
        if n < 2:
            for r in range(a, a + n):
                grad_out[r] = 0.0
                hess_out[r] = 0.0
            continue
        gam = np.empty(n)
        x = state[q]
        for i in range(n):
            x, gam[i] = _next_float(x)
        state[q] = x
        if not emulate and labels_all_equal(y, a, n):
            for r in range(a, a + n):
                grad_out[r] = 0.0
                hess_out[r] = 0.0
            continue
        rho = np.empty(n)
        par = np.empty(n)
        _xendcg_query(a, n, y, raw, gam, rho, par, emulate, grad_out, hess_out)
        if w.shape[0]:
            for r in range(a, a + n):
                if emulate:
                    grad_out[r] = np.float32(grad_out[r] * w[r])
                    hess_out[r] = np.float32(hess_out[r] * w[r])
                else:
                    grad_out[r] *= w[r]
                    hess_out[r] *= w[r]


_xendcg_parallel = njit(parallel=True, cache=True, nogil=True)(copy_function(_xendcg_queries, "_parallel"))
_xendcg_serial = njit(cache=True, nogil=True)(copy_function(_xendcg_queries, "_serial"))


class XENDCGObjective(RankingObjective):
    r"""XE-NDCG, the cross entropy between a softmax of the scores and randomised NDCG-gain targets.

    Per query of :math:`n \ge 2` documents, with fresh :math:`\gamma_i \sim U[0, 1)` at every boosting round::

        rho_i = exp(s_i) / sum_j exp(s_j)                       (softmax of the scores)
        phi_i = 2^{y_i} - gamma_i,   t_i = phi_i / sum_j phi_j  (randomised targets)
        loss  = -sum_i t_i log rho_i
        l1_i  = rho_i - t_i,          c1_i = l1_i / (1 - rho_i)
        l2_i  = rho_i (sum c1 - c1_i), c2_i = l2_i / (1 - rho_i)
        grad_i = l1_i + l2_i + rho_i (sum c2 - c2_i),   hess_i = rho_i (1 - rho_i)

    ``l1`` is the exact gradient of the loss (:meth:`cross_entropy_gradient`); LightGBM adds the second- and
    third-order terms of its inverse-hessian expansion, and so does this class (its ``grad`` is LightGBM's
    lambda). ``hess`` is the exact diagonal of the loss's hessian. Row weights multiply both at the end.

    Saturated softmax. Only the top document's :math:`1 - \rho` can vanish (any other has
    :math:`1 - \rho_i \ge \rho_{top} \ge 1/n`); LightGBM divides by it as it is, which gives inf/NaN once a
    score leads the query by :math:`\gtrsim 37`. Where it is 0 (``emulate_lightgbm=True``) or below
    :math:`2^{-26}` (float64), the terms are formed without that division: :math:`\rho_j c_{top}` as
    :math:`l_{top} \exp(s_j) / \sum_{k \ne top} \exp(s_k)` and :math:`1 - \rho_{top}` as
    :math:`\sum_{k \ne top} \rho_k` in log space. Everywhere else both modes do exactly LightGBM's (resp.
    float64) arithmetic. In float64 mode ``hess`` is floored at ``1e-16`` (LambdaRank's per-pair floor) wherever
    ``grad`` is non-zero, since :math:`\rho (1 - \rho)` underflows to 0 at saturation while the gradient does
    not; with ``emulate_lightgbm=True`` the hessian is LightGBM's float32 :math:`\rho (1 - \rho)`, unfloored.

    The :math:`\gamma` come from LightGBM's generator (:func:`lightgbm_random_floats`), one stream per query
    seeded ``seed + q`` (``objective_seed``), advanced by :math:`n` draws per round for each query of
    :math:`n \ge 2` rows. :meth:`grad_hess` (and :meth:`loss`) use the first round's draws; a training through the
    adapters advances the streams once per round, as LightGBM does.

    Parameters
    ----------
    seed : int, default 5
        LightGBM's ``objective_seed`` (its default is 5).
    emulate_lightgbm : bool, default False
        LightGBM's arithmetic: lambdas accumulated in float32 and queries whose labels are all equal trained on
        their random targets (LightGBM fits that noise). With False, float64 throughout and such queries, which
        carry no ranking information, get zero gradient (their streams still advance).

    References
    ----------
    S. Bruch, M. Zoghi, M. Bendersky, M. Najork, "An Alternative Cross Entropy Loss for Learning-to-Rank",
    WWW 2020 (arXiv:1911.09798).
    """

    float64_scores = False  # float32 scores give float32 arithmetic here (Objective.float64_scores)

    name = "xendcg"

    def __init__(self, seed=5, emulate_lightgbm=False):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an integer; got {seed!r}")
        if not -(2**31) <= int(seed) < 2**31:
            raise ValueError(f"seed must fit LightGBM's int objective_seed; got {seed!r}")
        self.seed = int(seed)
        if not isinstance(emulate_lightgbm, (bool, np.bool_)):
            raise TypeError(f"emulate_lightgbm must be True or False; got {emulate_lightgbm!r}")
        self.emulate_lightgbm = bool(emulate_lightgbm)

    def _check_y(self, y_true):
        return check_relevance_labels(y_true, integer=True, max_label=30)

    def prepare(self, y_true, *, sample_weight=None, group=None, qid=None):
        """Validate once; the cache holds each query's generator state, advanced by every gradient call."""
        y = self._check_y(y_true)
        b = ranking_boundaries(len(y), group, qid)
        w = ranking_weights(sample_weight, len(y), b)
        state = (self.seed + np.arange(len(b) - 1, dtype=np.int64)) & 0xFFFFFFFF
        return Prepared(y, w, b, {"state": state})

    def _kernel(self, prepared, raw, w, grad_out, hess_out):
        if prepared.boundaries is None:
            raise ValueError("a ranking objective needs group (query sizes) or qid (per-row query ids)")
        kernel = _xendcg_parallel if prepared.n_samples >= PARALLEL_MIN["xendcg"] else _xendcg_serial
        kernel(prepared.y, raw, w, prepared.boundaries, prepared.cache["state"], self.emulate_lightgbm, grad_out,
               hess_out)

    def _targets(self, y, b):
        t = np.zeros(len(y))
        for q in range(len(b) - 1):
            a, e = b[q], b[q + 1]
            if e - a < 2:
                continue
            phi = 2.0 ** y[a:e].astype(np.int64) - lightgbm_random_floats(self.seed + q, e - a)
            t[a:e] = phi / phi.sum()
        return t

    def loss(self, y_true, raw_score, *, sample_weight=None, group=None, qid=None):
        r"""Mean over queries of :math:`-\sum_i t_i \log \rho_i` with the first round's targets."""
        if sample_weight is not None:
            raise ValueError("XENDCGObjective.loss is a per-query loss; sample_weight must be None")
        y = self._check_y(y_true)
        b = ranking_boundaries(len(y), group, qid)
        raw = check_raw_score(raw_score, len(y)).astype(np.float64, copy=False)
        t = self._targets(y, b)
        total = 0.0
        for q in range(len(b) - 1):
            a, e = b[q], b[q + 1]
            if e - a < 2 or (not self.emulate_lightgbm and np.all(y[a:e] == y[a])):
                continue
            s = raw[a:e]
            m = s.max()
            log_rho = s - m - math.log(np.exp(s - m).sum())
            total -= float(np.dot(t[a:e], log_rho))
        return total / max(len(b) - 1, 1)

    def cross_entropy_gradient(self, y_true, raw_score, *, group=None, qid=None):
        r"""The exact gradient :math:`\rho_i - t_i` of the summed per-query loss (the first-order term ``l1``)."""
        y = self._check_y(y_true)
        b = ranking_boundaries(len(y), group, qid)
        raw = check_raw_score(raw_score, len(y)).astype(np.float64, copy=False)
        t = self._targets(y, b)
        g = np.zeros(len(y))
        for q in range(len(b) - 1):
            a, e = b[q], b[q + 1]
            if e - a < 2 or (not self.emulate_lightgbm and np.all(y[a:e] == y[a])):
                continue
            s = np.exp(raw[a:e] - raw[a:e].max())
            g[a:e] = s / s.sum() - t[a:e]
        return g
