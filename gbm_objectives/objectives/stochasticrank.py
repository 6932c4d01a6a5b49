r"""StochasticRank (Ustimenko & Prokhorenkova, ICML 2020): Monte Carlo gradients of a stochastically smoothed
ranking metric, as CatBoost's ``StochasticRank`` computes them (:class:`StochasticRankObjective`, registry name
``stochasticrank``).

>>> import numpy as np
>>> import gbm_objectives as go
>>> obj = go.StochasticRankObjective(num_estimations=200, seed=0)
>>> g, h = obj.grad_hess(np.array([2.0, 0.0, 1.0, 1.0, 1.0]), np.zeros(5), group=[3, 2])
>>> bool(g[0] < g[2] < g[1]), g[3:].tolist(), h.tolist()   # best doc pushed up most; equal labels get 0
(True, [0.0, 0.0], [1.0, 1.0, 1.0, 1.0, 1.0])
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .._core.dcg import err_stop_probabilities
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

STOCHASTICRANK_METRICS = ("ndcg", "dcg", "err", "mrr", "pfound")
_CASCADE = ("err", "mrr", "pfound")  # metrics where a user stops at a document (the others' contributions depend on it)
_INV_SQRT_2PI = 0.3989422804014327
_TWO_PI = 2.0 * math.pi
_IDEAL_EPS = np.finfo(np.float64).eps  # CatBoost normalises by the ideal DCG only above DBL_EPSILON


@njit(**JIT)
def _density(x, mean, sigma):
    z = (x - mean) / sigma
    return math.exp(-0.5 * z * z) * _INV_SQRT_2PI / sigma


@njit(**JIT)
def _noisy_order(n, shifted, sigma, state, noise, scores):
    """One draw: ``scores = shifted + sigma eps`` (Box-Muller, two normals per pair of uniforms) and their descending
    order; returns (new state, sum of eps, order)."""
    noise_sum = 0.0
    for i in range(0, n, 2):
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
    return state, noise_sum, order


@njit(**JIT)
def _density_change(pos, new, n, n_new, top, scores, order, mean, sd):
    """d P(the document at noisy rank ``pos`` lands at rank ``new``) / d its score, from the normal density of its
    score (given the others') at the neighbours' scores; rank ``n_new - 1`` stands for every rank from there down."""
    if new == 0:
        return _density(scores[order[0]], mean, sd)
    if new + 1 == n_new:
        if new < pos:
            return -_density(scores[order[top - 1]], mean, sd)
        return -_density(scores[order[min(top, n - 1)]], mean, sd)
    if new < pos:
        return _density(scores[order[new]], mean, sd) - _density(scores[order[new - 1]], mean, sd)
    return _density(scores[order[new + 1]], mean, sd) - _density(scores[order[new]], mean, sd)


@njit(**JIT)
def _dcg_changes(a, n, top, gains, stops, pw, scores, order, noise_sum, shifted, sd, n_est, c0, c1, c2, c3, der):
    """Adds one draw's estimate for (N)DCG to ``der``: the change of the metric when the document at rank ``pos``
    moves to ``new`` (the others shift by one) from cumulative gains at the current, one-up and one-down position
    weights (CatBoost's form). ``noise_sum``: ``sigma * sum(eps)``, the draw's noise on the scores' scale."""
    csum, cup, clow = c0, c1, c2
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
    n_new = min(n, top + 1)
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
            acc += diff * _density_change(pos, new, n, n_new, top, scores, order, mean, sd)
        der[doc] += acc / n_est


@njit(**JIT)
def _cascade_changes(a, n, top, gains, stops, pw, scores, order, noise_sum, shifted, sd, n_est, gp, sp, surv, contrib,
                     der):
    """Adds one draw's estimate for a cascade metric ``sum_p pw[p] G_p prod_{j<p} (1 - S_j)`` (ERR, MRR, PFound) to
    ``der``. The change when the document at rank ``pos`` moves to ``new`` is accumulated as ``new`` walks away
    from ``pos``: moving up, the documents it passes go one rank down behind one more stop ``1 - S``; moving down,
    they go one rank up without its stop (a running product, no division)."""
    s = 1.0
    for p in range(n):
        gp[p] = gains[a + order[p]]
        sp[p] = stops[a + order[p]]
        surv[p] = s  # prod_{j<p} (1 - S_j)
        contrib[p] = pw[p] * gp[p] * s
        s *= 1.0 - sp[p]
    n_new = min(n, top + 1)
    for pos in range(n):
        doc = order[pos]
        gx = gp[pos]
        kx = 1.0 - sp[pos]
        mean = shifted[doc] + (noise_sum - (scores[doc] - shifted[doc])) / (n - 1.0)
        acc = 0.0
        passed = 0.0  # sum over the passed documents k of pw[k + 1] G_k surv_k (up) ...
        before = 0.0  # ... and of their contributions now
        for new in range(min(pos, top) - 1, -1, -1):  # up (ranks from top on contribute nothing)
            passed += pw[new + 1] * gp[new] * surv[new]
            before += contrib[new]
            diff = pw[new] * gx * surv[new] + kx * passed - before - contrib[pos]
            acc += diff * _density_change(pos, new, n, n_new, top, scores, order, mean, sd)
        if pos < top:
            q = 1.0  # prod over the documents between pos and k of (1 - S)
            passed = 0.0
            before = 0.0
            for new in range(pos + 1, n_new):  # down
                passed += pw[new - 1] * gp[new] * q
                q *= 1.0 - sp[new]
                before += contrib[new]
                diff = surv[pos] * (passed + pw[new] * gx * q) - (contrib[pos] + before)
                acc += diff * _density_change(pos, new, n, n_new, top, scores, order, mean, sd)
        der[doc] += acc / n_est


_changes = _dcg_changes  # replaced in each compiled copy (see _twins)


def _stochasticrank_query(a, n, y, raw, top, gains, stops, pw, sigma, n_est, mu, nu, lam_sfa, state, shifted, noise,
                          scores, c0, c1, c2, c3, der):
    """CatBoost's derivative (of the smoothed metric, ascent direction) of one query into ``der``; returns the
    stream's new state. ``_changes`` (the metric's) is a module constant of each compiled copy."""
    # stage 1: shift by -sigma mu y (ties resolved towards the better label), centre
    m = 0.0
    for i in range(n):
        shifted[i] = raw[a + i] - sigma * mu * y[a + i]
        m += shifted[i]
    m /= n
    for i in range(n):
        shifted[i] -= m
        der[i] = 0.0
    sd = math.sqrt(n / (n - 1.0)) * sigma  # the deviation of a score given the others'
    # stage 2: Monte Carlo over Gaussian noise
    for _ in range(n_est):
        state, noise_sum, order = _noisy_order(n, shifted, sigma, state, noise, scores)
        # the others' noise on the scores' scale: sigma times the sum of eps (CatBoost passes the sum of eps itself,
        # which equals it only at sigma = 1 and biases the estimate at any other sigma)
        _changes(a, n, top, gains, stops, pw, scores, order, sigma * noise_sum, shifted, sd, n_est, c0, c1, c2, c3,
                 der)
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


_query = None  # replaced in each compiled copy (see _twins)


def _stochasticrank_queries(y, raw, w, boundaries, gains, stops, pw_all, pw_start, top, sigma, n_est, mu, nu, lam_sfa,
                            state, grad_out, hess_out):
    nq = boundaries.shape[0] - 1
    for q in prange(nq):
        a = boundaries[q]
        n = boundaries[q + 1] - a
        if labels_all_equal(gains, a, n) and labels_all_equal(stops, a, n):
            # one document, or all alike: the metric cannot change (no draw is made). The hessian is the weight for
            # every row: CatBoost's gradient step divides a leaf's sum of derivatives by its sum of weights
            for r in range(a, a + n):
                grad_out[r] = 0.0
                hess_out[r] = w[r] if w.shape[0] else 1.0
            continue
        f64 = np.empty(8 * n + 4)
        k = min(top, n)
        state[q] = _query(a, n, y, raw, k, gains, stops, pw_all[pw_start[q] : pw_start[q] + n], sigma, n_est, mu, nu,
                          lam_sfa, state[q], f64[:n], f64[n : 2 * n], f64[2 * n : 3 * n], f64[3 * n : 4 * n + 1],
                          f64[4 * n + 1 : 5 * n + 2], f64[5 * n + 2 : 6 * n + 3], f64[6 * n + 3 : 7 * n + 4],
                          f64[7 * n + 4 :])
        der = f64[7 * n + 4 :]
        for i in range(n):
            wr = w[a + i] if w.shape[0] else 1.0
            grad_out[a + i] = -der[i] * wr
            hess_out[a + i] = wr


def _twins(changes, name):
    """The query function and its serial/parallel drivers compiled for one metric family."""
    query = njit(**JIT)(copy_function(_stochasticrank_query, "_" + name, _changes=changes))
    serial = njit(**JIT)(copy_function(_stochasticrank_queries, f"_{name}_serial", _query=query))
    parallel = njit(parallel=True, **JIT)(copy_function(_stochasticrank_queries, f"_{name}_parallel", _query=query))
    return serial, parallel


_KERNELS = {"dcg": _twins(_dcg_changes, "dcg"), "cascade": _twins(_cascade_changes, "cascade")}


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
       ``a_i + sigma (sum(eps) - eps_i) / (n - 1)``, deviation ``sigma sqrt(n / (n - 1))``: the document's score
       given the others' noise about their mean, CatBoost's conditioning) is summed: the derivative of the
       probability of landing at each rank. CatBoost writes the mean as ``a_i + (sum(eps) - sigma eps_i) / (n - 1)``,
       the same at its default ``sigma = 1`` and biased at any other (up to 40 % of the gradient at ``sigma = 0.3``
       on three documents, measured against finite differences of the smoothed metric); this is the unbiased form;
    3. the estimate is centred and, scale-free, ``lambda <d, c> / (||c|| + nu)^2 c`` is removed, with ``c`` the
       centred scores (the metric is invariant to the scale of the scores; the component along ``c`` is noise).

    ``grad`` is minus that ascent direction (the objectives minimise) times the row weight; ``hess`` is the row
    weight (1 without weights) for every row, those of queries that cannot change included: CatBoost computes no
    second derivative for StochasticRank and takes gradient leaf steps, a leaf's sum of derivatives divided by its
    sum of weights (``leaf_estimation_method=Gradient``, its default here), which is the engines' Newton step with
    these hessians. Queries of one document, or whose documents all have the same gain (and stop probability), get
    grad 0 and draw nothing.

    Step size: the gradients scale as ``1 / sigma`` and a gradient step moves the scores by the learning rate times
    a leaf's mean gradient, so a training follows ``learning_rate / sigma**2`` (up to ``nu`` and an engine's fixed
    L2 term or minimum split gain): doubling ``sigma`` acts as a quarter of the learning rate. The defaults are
    CatBoost's, which runs this loss at learning rate 0.03; ``go.train``'s default 0.1 is a 3.3 times larger step.
    Which step is best depends on the data: on LETOR 4.0 MQ2008 smaller steps score higher (for LambdaRank too), on
    data with a stronger signal they underfit in a fixed number of rounds (BENCHMARKS.md, "StochasticRank:
    smoothing, step size and seeds"). Tune the learning rate or ``sigma``, not both.

    Metrics, each ``sum_p w_p G_p prod_{j<p} (1 - S_j)`` over the noisy ranking (0-based ranks ``p < top``):

    * ``"dcg"``: ``w_p = 1 / log2(2 + p)``, ``S = 0``, gains ``G = y`` (``gain="linear"``, CatBoost's ``type=Base``,
      its default) or ``2^y - 1`` (``"exponential"``); ``"ndcg"`` divides by the query's ideal DCG (CatBoost's DCG and
      NDCG);
    * ``"err"``: expected reciprocal rank (Chapelle et al. 2009), ``w_p = 1 / (p + 1)``, ``G = S = (2^y - 1) /
      2^max_grade`` (as :func:`gbm_objectives.err_score`);
    * ``"mrr"``: reciprocal rank of the first relevant document, ``w_p = 1 / (p + 1)``, ``G = S = [y >=
      relevance_threshold]`` (as :func:`gbm_objectives.mrr_score`, a query without relevant document scoring 0);
    * ``"pfound"``: Yandex's pFound (CatBoost's ``PFound``), ``w_p = decay^p``, ``G = S = y`` with labels in [0, 1].

    For the last three (cascades: a user stops at a document with probability ``S``), the change of a move is
    accumulated as the target rank walks away from the document's rank (``O(n top)`` per draw, as for DCG).
    CatBoost's StochasticRank offers DCG, NDCG and PFound, and since 1.2.1 ERR and MRR (ERR with the targets, in
    [0, 1], as stop probabilities). Its NDCG derivatives are reproduced (``tests/objectives``, the engine twin); on
    ERR and pFound, CatBoost 1.2.10's estimates differ from central differences of the smoothed metric by up to
    13 % and 14 % of the largest derivative (measured on queries of 8 and 6 documents), these match them.

    Randomness as :class:`~gbm_objectives.objectives.YetiRankObjective`: a stream per query (seeded by ``seed`` and
    the query's index), advanced by every call; results depend on the seed and the call count only, not on the
    thread count. CatBoost's generator is not reproduced (the same estimator, other draws).

    Parameters
    ----------
    metric : {"ndcg", "dcg", "err", "mrr", "pfound"}, default "ndcg"
    top : int or None, default None
        Cut-off of the metric (CatBoost's ``top``, default all documents).
    gain : {"linear", "exponential"}, default "linear"
        Gains of ``"ndcg"``/``"dcg"``.
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
    max_grade : float or None, default None
        ``"err"``: the top grade of the scale; by default the largest label passed to :meth:`prepare`.
    relevance_threshold : float, default 1
        ``"mrr"``: the smallest relevant label.
    decay : float in [0, 1], default 0.85
        ``"pfound"``: the probability of looking further (CatBoost's ``decay``).

    References
    ----------
    A. Ustimenko, L. Prokhorenkova, "StochasticRank: Global Optimization of Scale-Free Discrete Functions",
    ICML 2020 (arXiv:2003.02122). CatBoost, ``catboost/private/libs/algo_helpers/error_functions.cpp``.
    O. Chapelle, D. Metzler, Y. Zhang, P. Grinspan, "Expected reciprocal rank for graded relevance", CIKM 2009.
    """

    name = "stochasticrank"
    # the estimator's published parameters (Ustimenko & Prokhorenkova, 2020): noise scale, tie-breaking shift and
    # the norm offset of the scale-free projection (num_estimations trades noise for time and stays at 1)
    search_space = {"sigma": ("float", 0.1, 10.0, True), "mu": ("float", 0.0, 1.0, False),
                    "nu": ("float", 1e-3, 1.0, True)}

    def __init__(self, metric="ndcg", top=None, gain="linear", sigma=1.0, num_estimations=1, mu=0.0, nu=0.01,
                 lambda_=1.0, seed=0, max_grade=None, relevance_threshold=1.0, decay=0.85):
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
        self.max_grade = check_interval(max_grade, "max_grade", 0.0, None, closed="left", allow_none=True)
        self.relevance_threshold = check_interval(relevance_threshold, "relevance_threshold")
        self.decay = check_interval(decay, "decay", 0.0, 1.0, closed="both")

    def loss(self, y_true, raw_score, *, sample_weight=None, group=None, qid=None):
        """Not available: the gradients are those of a Monte Carlo smoothing of the metric, whose value this
        objective does not estimate. Evaluate the metric itself (e.g. :func:`gbm_objectives.ndcg_score`)."""
        raise NotImplementedError(
            "StochasticRankObjective has no loss value (its gradients follow a Monte Carlo smoothed ranking metric); "
            "evaluate the metric itself, e.g. gbm_objectives.ndcg_score"
        )

    def _check_y(self, y_true):
        if self.metric == "pfound":
            return check_relevance_labels(y_true, max_label=1)
        if self.metric == "err":
            return check_relevance_labels(y_true, max_label=self.max_grade)
        return check_relevance_labels(y_true, max_label=30 if self.gain == "exponential" else None)

    def _gains_stops(self, y):
        """Per-row gain ``G`` and stop probability ``S`` of the metric."""
        if self.metric in ("ndcg", "dcg"):
            return (y.copy() if self.gain == "linear" else 2.0**y - 1.0), np.zeros(len(y))
        if self.metric == "err":
            top_grade = (float(y.max()) if len(y) else 0.0) if self.max_grade is None else self.max_grade
            r = err_stop_probabilities(y, top_grade)
        elif self.metric == "mrr":
            r = (y >= self.relevance_threshold).astype(np.float64)
        else:  # pfound
            r = y.copy()
        return r, r

    def _position_weights(self, k):
        p = np.arange(k)
        if self.metric in ("ndcg", "dcg"):
            return 1.0 / np.log2(2.0 + p)
        if self.metric == "pfound":
            return self.decay**p
        return 1.0 / (1.0 + p)

    def prepare(self, y_true, *, sample_weight=None, group=None, qid=None):
        """Validate once; caches gains, stop probabilities, each query's position weights (1/ideal DCG folded in
        for NDCG) and its stream."""
        y = self._check_y(y_true)
        b = ranking_boundaries(len(y), group, qid)
        w = ranking_weights(sample_weight, len(y), b)
        gains, stops = self._gains_stops(y)
        sizes = np.diff(b)
        pw = np.zeros(len(y))
        for q in range(len(sizes)):
            n = int(sizes[q])
            k = n if self.top is None else min(self.top, n)
            weights = self._position_weights(k)
            if self.metric == "ndcg":
                ideal = float(np.dot(np.sort(gains[b[q] : b[q + 1]])[::-1][:k], weights))
                if ideal > _IDEAL_EPS:
                    weights = weights / ideal
            pw[b[q] : b[q] + k] = weights
        cache = {"gains": gains, "stops": stops, "position_weights": pw, "state": query_streams(self.seed, len(sizes))}
        return Prepared(y, w, b, cache)

    def _kernel(self, prepared, raw, w, grad_out, hess_out):
        if prepared.boundaries is None:
            raise ValueError("a ranking objective needs group (query sizes) or qid (per-row query ids)")
        raw = np.ascontiguousarray(raw, dtype=np.float64)  # one compiled signature: float64 throughout
        c = prepared.cache
        b = prepared.boundaries
        top = np.iinfo(np.int64).max if self.top is None else self.top
        serial, parallel = _KERNELS["cascade" if self.metric in _CASCADE else "dcg"]
        kernel = parallel if len(raw) >= PARALLEL_MIN["listwise"] else serial
        call_in_float64(kernel, grad_out, hess_out, prepared.y, raw, np.ascontiguousarray(w, dtype=np.float64), b,
                        c["gains"], c["stops"], c["position_weights"], b[:-1], np.int64(top), self.sigma,
                        self.num_estimations, self.mu, self.nu, self.lambda_, c["state"])

    def smoothed_metric(self, y_true, raw_score, *, group=None, qid=None, n_samples=10000, seed=0):
        r"""Monte Carlo estimate of the mean over queries of :math:`E[M(\text{sort}(s - \sigma\mu y + \sigma
        \varepsilon))]` (the function whose gradient the objective estimates; a NumPy reference)."""
        y = self._check_y(y_true)
        b = ranking_boundaries(len(y), group, qid)
        raw = check_raw_score(raw_score, len(y)).astype(np.float64, copy=False)
        c = self.prepare(y, group=np.diff(b)).cache
        rng = np.random.default_rng(seed)
        total = 0.0
        for q in range(len(b) - 1):
            a, e = b[q], b[q + 1]
            s = raw[a:e] - self.sigma * self.mu * y[a:e]
            z = s[None, :] + self.sigma * rng.standard_normal((n_samples, e - a))
            order = np.argsort(-z, axis=1, kind="stable")
            stops = c["stops"][a:e][order]
            reach = np.cumprod(np.hstack([np.ones((n_samples, 1)), 1.0 - stops[:, :-1]]), axis=1)
            total += float((c["gains"][a:e][order] * reach * c["position_weights"][a:e][None, :]).sum(1).mean())
        return total / max(len(b) - 1, 1)
