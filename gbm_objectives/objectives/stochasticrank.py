r"""StochasticRank (Ustimenko & Prokhorenkova, ICML 2020): Monte Carlo gradients of a stochastically smoothed
ranking metric, as CatBoost's ``StochasticRank`` computes them (:class:`StochasticRankObjective`, registry name
``stochasticrank``).

>>> import numpy as np
>>> import gbm_objectives as go
>>> obj = go.StochasticRankObjective(num_estimations=200, seed=0)
>>> g, h = obj.grad_hess(np.array([2.0, 0.0, 1.0, 1.0, 1.0]), np.zeros(5), group=[3, 2])
>>> bool(g[0] < g[2] < g[1]), g[3:].tolist(), h.tolist()   # best doc pushed up most; equal labels get 0
(True, [0.0, 0.0], [1.0, 1.0, 1.0, 0.0, 0.0])
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .._core.jit import JIT, PARALLEL_MIN, copy_function
from .._core.validation import check_interval, check_positive_int, check_raw_score
from ._ranking_base import (
    check_relevance_labels,
    RankingObjective,
    call_in_float64,
    check_seed,
    labels_all_equal,
    next_uniform,
    query_streams,
    ranking_boundaries,
    ranking_weights,
)
from .base import Prepared

__all__ = ["StochasticRankObjective", "STOCHASTICRANK_METRICS"]

STOCHASTICRANK_METRICS = ("ndcg", "dcg")
_INV_SQRT_2PI = 0.3989422804014327
_TWO_PI = 2.0 * math.pi
_IDEAL_EPS = np.finfo(np.float64).eps  # CatBoost normalises by the ideal DCG only above DBL_EPSILON


@njit(**JIT)
def _density(x, mean, sigma):
    z = (x - mean) / sigma
    return math.exp(-0.5 * z * z) * _INV_SQRT_2PI / sigma


@njit(**JIT)
def _stochasticrank_query(a, n, y, raw, top, gains, pw, sigma, n_est, mu, nu, lam_sfa, state, shifted, noise, scores,
                          csum, cup, clow, der):
    """CatBoost's derivative (of the smoothed metric, ascent direction) of one query into ``der``; returns the
    stream's new state."""
    # stage 1: shift by -sigma mu y (ties resolved towards the better label), centre
    m = 0.0
    for i in range(n):
        shifted[i] = raw[a + i] - sigma * mu * y[a + i]
        m += shifted[i]
    m /= n
    for i in range(n):
        shifted[i] -= m
        der[i] = 0.0
    sigma_pos = math.sqrt(n / (n - 1.0)) * sigma
    n_new = min(n, top + 1)
    # stage 2: Monte Carlo over Gaussian noise
    for _ in range(n_est):
        noise_sum = 0.0
        for i in range(0, n, 2):  # Box-Muller, two normals per pair of uniforms
            state, u1 = next_uniform(state)
            state, u2 = next_uniform(state)
            rad = math.sqrt(-2.0 * math.log(u1))
            noise[i] = rad * math.cos(_TWO_PI * u2)
            if i + 1 < n:
                noise[i + 1] = rad * math.sin(_TWO_PI * u2)
        for i in range(n):
            noise_sum += noise[i]
            scores[i] = -(shifted[i] + sigma * noise[i])
        order = np.argsort(scores, kind="mergesort")  # descending noisy scores
        for i in range(n):
            scores[i] = -scores[i]
        # cumulative gains at the current, one-up and one-down position weights
        csum[0] = 0.0
        cup[0] = 0.0
        cup[1] = 0.0
        clow[0] = 0.0
        for p in range(n):
            g = gains[a + order[p]]
            csum[p + 1] = csum[p] + g * pw[p]
            if p + 1 < n:
                clow[p + 1] = clow[p] + g * pw[p + 1]
            if p > 0:
                cup[p + 1] = cup[p] + g * pw[p - 1]
        clow[n] = clow[n - 1]
        for pos in range(n):
            doc = order[pos]
            mean = shifted[doc] + (noise_sum - (scores[doc] - shifted[doc])) / (n - 1.0)
            acc = 0.0
            for new in range(n_new):
                if new == pos or min(pos, new) >= top:
                    continue
                diff = gains[a + doc] * (pw[new] - pw[pos])
                if new < pos:
                    diff += (clow[pos] - clow[new]) - (csum[pos] - csum[new])
                else:
                    diff += (cup[new + 1] - cup[pos + 1]) - (csum[new + 1] - csum[pos + 1])
                if new == 0:
                    dens = _density(scores[order[0]], mean, sigma_pos)
                elif new + 1 == n_new:
                    if new < pos:
                        dens = -_density(scores[order[top - 1]], mean, sigma_pos)
                    else:
                        dens = -_density(scores[order[min(top, n - 1)]], mean, sigma_pos)
                elif new < pos:
                    dens = _density(scores[order[new]], mean, sigma_pos) - _density(scores[order[new - 1]], mean,
                                                                                      sigma_pos)
                else:
                    dens = _density(scores[order[new + 1]], mean, sigma_pos) - _density(scores[order[new]], mean,
                                                                                          sigma_pos)
                acc += diff * dens
            der[doc] += acc / n_est
    # stage 3: centre, and take out lam_sfa times the component along the centred scores (scale-free ascent)
    m = 0.0
    for i in range(n):
        m += der[i]
    m /= n
    for i in range(n):
        der[i] -= m
    if n > 2:
        ma = 0.0
        for i in range(n):
            ma += raw[a + i]
        ma /= n
        nrm = 0.0
        dot = 0.0
        for i in range(n):
            z = raw[a + i] - ma
            nrm += z * z
            dot += der[i] * z
        nrm = (math.sqrt(nrm) + nu) ** 2
        k = lam_sfa * dot / nrm
        for i in range(n):
            der[i] -= k * (raw[a + i] - ma)
    return state


def _stochasticrank_queries(y, raw, w, boundaries, gains, pw_all, pw_start, top, sigma, n_est, mu, nu, lam_sfa, state,
                            grad_out, hess_out):
    nq = boundaries.shape[0] - 1
    for q in prange(nq):
        a = boundaries[q]
        n = boundaries[q + 1] - a
        if labels_all_equal(y, a, n):  # one document, or equal labels: the metric cannot change (no draw is made)
            for r in range(a, a + n):
                grad_out[r] = 0.0
                hess_out[r] = 0.0
            continue
        shifted = np.empty(n)
        noise = np.empty(n)
        scores = np.empty(n)
        csum = np.empty(n + 1)
        cup = np.empty(n + 1)
        clow = np.empty(n + 1)
        der = np.empty(n)
        k = min(top, n)
        state[q] = _stochasticrank_query(a, n, y, raw, k, gains, pw_all[pw_start[q] : pw_start[q] + n], sigma, n_est,
                                         mu, nu, lam_sfa, state[q], shifted, noise, scores, csum, cup, clow, der)
        for i in range(n):
            wr = w[a + i] if w.shape[0] else 1.0
            grad_out[a + i] = -der[i] * wr
            hess_out[a + i] = wr


_stochasticrank_parallel = njit(parallel=True, **JIT)(copy_function(_stochasticrank_queries, "_parallel"))
_stochasticrank_serial = njit(**JIT)(copy_function(_stochasticrank_queries, "_serial"))


class StochasticRankObjective(RankingObjective):
    r"""StochasticRank: stochastic gradient ascent on a ranking metric smoothed by Gaussian score noise, with
    CatBoost's estimator.

    The smoothed metric of a query is :math:`\bar M(s) = E_\varepsilon[M(\text{sort}(s + \sigma \varepsilon))]`,
    :math:`\varepsilon \sim N(0, I)`, a smooth function of the scores whose gradient is estimated by Monte Carlo
    (Ustimenko & Prokhorenkova 2020, CatBoost's ``TStochasticRankError``), per query of :math:`n \ge 2`:

    1. ``a = s - sigma mu y``, centred (``mu > 0`` breaks ties in favour of the better label);
    2. for each of ``num_estimations`` draws, ``z = a + sigma eps`` is sorted; for the document at noisy rank ``p``
       and every rank ``p'`` it could move to (``p' <= top``), the change of the metric ``M(p -> p')`` (the others
       shift by one) times the change of the normal density of its score at the neighbours' scores (mean
       ``a_i + (sum(eps) - sigma eps_i) / (n - 1)``, deviation ``sigma sqrt(n / (n - 1))``: the document's score
       given the others', CatBoost's conditioning) is summed: the derivative of the probability of landing at each
       rank;
    3. the estimate is centred and, scale-free, ``lambda <d, c> / (||c|| + nu)^2 c`` is removed, with ``c`` the
       centred scores (the metric is invariant to the scale of the scores; the component along ``c`` is noise).

    ``grad`` is minus that ascent direction (the objectives minimise), ``hess`` is 1 (CatBoost computes no second
    derivative for StochasticRank and estimates leaves by gradient steps; here the engines' Newton step with unit
    hessian is the same mean-gradient step). Both are multiplied by the row weights (CatBoost ignores weights
    here). Queries of one document or of equal labels get 0 for both and draw nothing.

    Metrics: ``ndcg`` (positions weights ``1 / log2(2 + p)`` for ``p < top``, divided by the ideal DCG) and ``dcg``;
    gains ``y`` (``gain="linear"``, CatBoost's ``type=Base``, its default) or ``2^y - 1`` (``"exponential"``).

    Randomness as :class:`~gbm_objectives.objectives.YetiRankObjective`: a stream per query (seeded by ``seed`` and
    the query's index), advanced by every call; results depend on the seed and the call count only, not on the
    thread count. CatBoost's generator is not reproduced (the same estimator, other draws).

    Parameters
    ----------
    metric : {"ndcg", "dcg"}, default "ndcg"
    top : int or None, default None
        Cut-off of the metric (CatBoost's ``top``, default all documents).
    gain : {"linear", "exponential"}, default "linear"
    sigma : float > 0, default 1.0
        Noise scale.
    num_estimations : int, default 1
        Monte Carlo draws per query and round.
    mu : float >= 0, default 0.0
        Tie-breaking shift.
    nu : float > 0, default 0.01
        Added to the norm of the scores in the scale-free projection.
    lambda_ : float >= 0, default 1.0
        Fraction of the component along the scores removed (CatBoost's ``lambda``).
    seed : int, default 0

    References
    ----------
    A. Ustimenko, L. Prokhorenkova, "StochasticRank: Global Optimization of Scale-Free Discrete Functions",
    ICML 2020 (arXiv:1909.02768). CatBoost, ``catboost/private/libs/algo_helpers/error_functions.cpp``.
    """

    name = "stochasticrank"

    def __init__(self, metric="ndcg", top=None, gain="linear", sigma=1.0, num_estimations=1, mu=0.0, nu=0.01,
                 lambda_=1.0, seed=0):
        if metric not in STOCHASTICRANK_METRICS:
            raise ValueError(f"metric must be one of {STOCHASTICRANK_METRICS}; got {metric!r}")
        self.metric = metric
        self.top = None if top is None else check_positive_int(top, "top")
        if gain not in ("linear", "exponential"):
            raise ValueError(f"gain must be 'linear' or 'exponential'; got {gain!r}")
        self.gain = gain
        self.sigma = check_interval(sigma, "sigma", 0.0, 1e6, closed="right")
        self.num_estimations = check_positive_int(num_estimations, "num_estimations")
        self.mu = check_interval(mu, "mu", 0.0, None, closed="left")
        self.nu = check_interval(nu, "nu", 0.0, None)
        self.lambda_ = check_interval(lambda_, "lambda_", 0.0, None, closed="left")
        self.seed = check_seed(seed)

    def loss(self, y_true, raw_score, *, sample_weight=None, group=None, qid=None):
        """Not available: the gradients are those of a Monte Carlo smoothing of NDCG/DCG, whose value this objective
        does not estimate. Evaluate the metric itself (:func:`gbm_objectives.ndcg_score`)."""
        raise NotImplementedError(
            "StochasticRankObjective has no loss value (its gradients follow a Monte Carlo smoothed NDCG/DCG); "
            "evaluate the metric itself, e.g. gbm_objectives.ndcg_score"
        )

    def _check_y(self, y_true):
        return check_relevance_labels(y_true, max_label=30 if self.gain == "exponential" else None)

    def prepare(self, y_true, *, sample_weight=None, group=None, qid=None):
        """Validate once; caches gains, each query's position weights (1/ideal DCG folded in) and its stream."""
        y = self._check_y(y_true)
        b = ranking_boundaries(len(y), group, qid)
        w = ranking_weights(sample_weight, len(y), b)
        gains = y.copy() if self.gain == "linear" else 2.0**y - 1.0
        sizes = np.diff(b)
        pw = np.zeros(len(y))
        for q in range(len(sizes)):
            n = int(sizes[q])
            k = n if self.top is None else min(self.top, n)
            weights = 1.0 / np.log2(2.0 + np.arange(k))
            if self.metric == "ndcg":
                ideal = float(np.dot(np.sort(gains[b[q] : b[q + 1]])[::-1][:k], weights))
                if ideal > _IDEAL_EPS:
                    weights = weights / ideal
            pw[b[q] : b[q] + k] = weights
        cache = {"gains": gains, "position_weights": pw, "state": query_streams(self.seed, len(sizes))}
        return Prepared(y, w, b, cache)

    def _kernel(self, prepared, raw, w, grad_out, hess_out):
        if prepared.boundaries is None:
            raise ValueError("a ranking objective needs group (query sizes) or qid (per-row query ids)")
        raw = np.ascontiguousarray(raw, dtype=np.float64)  # one compiled signature: float64 throughout
        c = prepared.cache
        b = prepared.boundaries
        top = np.iinfo(np.int64).max if self.top is None else self.top
        kernel = _stochasticrank_parallel if len(raw) >= PARALLEL_MIN["listwise"] else _stochasticrank_serial
        call_in_float64(kernel, grad_out, hess_out, prepared.y, raw, np.ascontiguousarray(w, dtype=np.float64), b,
                        c["gains"], c["position_weights"], b[:-1], np.int64(top), self.sigma, self.num_estimations,
                        self.mu, self.nu, self.lambda_, c["state"])

    def smoothed_metric(self, y_true, raw_score, *, group=None, qid=None, n_samples=10000, seed=0):
        r"""Monte Carlo estimate of the mean over queries of :math:`E[M(\text{sort}(s - \sigma\mu y + \sigma
        \varepsilon))]` (the function whose gradient the objective estimates; a NumPy reference)."""
        y = self._check_y(y_true)
        b = ranking_boundaries(len(y), group, qid)
        raw = check_raw_score(raw_score, len(y)).astype(np.float64, copy=False)
        p = self.prepare(y, group=np.diff(b))
        rng = np.random.default_rng(seed)
        total = 0.0
        for q in range(len(b) - 1):
            a, e = b[q], b[q + 1]
            s = raw[a:e] - self.sigma * self.mu * y[a:e]
            z = s[None, :] + self.sigma * rng.standard_normal((n_samples, e - a))
            order = np.argsort(-z, axis=1, kind="stable")
            total += float((p.cache["gains"][a:e][order] * p.cache["position_weights"][a:e][None, :]).sum(1).mean())
        return total / max(len(b) - 1, 1)
