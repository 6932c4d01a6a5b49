r"""Click logs: what they can teach (:func:`click_report`), the examination propensities they imply
(:func:`estimate_propensity`) and a weak logging ranker to collect them with (:func:`weak_logger`).

Under the position-based model (PBM) a row shown at 0-based position ``p`` is clicked with probability
:math:`\theta_p \gamma_{q,d}` (examination times relevance). :math:`\theta` can only be separated from
:math:`\gamma` where the same (query, document) pair was shown at more than one position: a deterministic logger
with one session per query never does that, and then no method can identify the propensities.

>>> import numpy as np
>>> import gbm_objectives as go
>>> from gbm_objectives.datasets import simulate_clicks
>>> y = np.tile([2, 1, 0, 0, 1, 0], 1000).astype(float)
>>> log = simulate_clicks(y, group=[6] * 1000, sessions=20, policy="uniform", seed=0)   # PBM, 1 / (p + 1)
>>> for method in ("harvest", "em"):
...     est = go.estimate_propensity(log.clicks, log.position, log.query, log.row, session=log.session,
...                                  method=method, n_bootstrap=0)
...     print(method, np.round(est.propensity * np.arange(1, 7), 2).tolist())      # 1.0 where exact
harvest [1.0, 1.03, 0.99, 1.04, 1.04, 0.98]
em [1.0, 1.04, 1.0, 1.04, 1.02, 0.99]
"""

from __future__ import annotations

import warnings

import numpy as np

from ._core.validation import check_1d, check_position, check_positive_int
from .datasets.clicks import aggregate_clicks

__all__ = ["estimate_propensity", "PropensityEstimate", "click_report", "ClickReport", "weak_logger",
           "PROPENSITY_METHODS"]

PROPENSITY_METHODS = ("em", "harvest")
#: below this share of (query, document) pairs shown at two or more positions the propensities are not identified
_MIN_MULTI_SHARE = 0.01
_EPS = 1e-12


def _check_log(clicks, position, qid, docno, session):
    c = check_1d(clicks, "clicks")
    bad = (c != 0) & (c != 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"clicks must be 0 or 1; got {c[i]:g} at index {i}")
    n = len(c)
    if position is None:
        raise ValueError("position= is required: the displayed 0-based rank of every row (session= without "
                         "positions says nothing about examination)")
    pos = check_position(position, n)
    arrays = []
    for name, arr in (("qid", qid), ("docno", docno), ("session", session)):
        if arr is None:
            arrays.append(None)
            continue
        a = np.asarray(arr)
        if a.ndim != 1 or len(a) != n:
            raise ValueError(f"{name} must be 1-D with one entry per click ({n}); got shape {a.shape}")
        arrays.append(a)
    return c, pos, *arrays


class PropensityEstimate:
    """Per-position examination propensities relative to position 0, with bootstrap intervals.

    Attributes
    ----------
    propensity : ndarray of float64, shape (n_positions,)
        :math:`\\theta_p / \\theta_0`; positions the log cannot identify carry the last identified value (see
        ``identified``), so the array can be passed as ``propensity=`` as it is.
    lower, upper : ndarray or None
        The 2.5 % and 97.5 % bootstrap percentiles (resampling queries with all their sessions).
    identified : ndarray of bool
        Whether position ``p`` had the data to be estimated.
    impressions, clicks : ndarray
        Per position, in the log.
    method : str
    """

    def __init__(self, propensity, lower, upper, identified, impressions, clicks, method):
        self.propensity, self.lower, self.upper = propensity, lower, upper
        self.identified, self.impressions, self.clicks, self.method = identified, impressions, clicks, method

    def __repr__(self):
        head = ", ".join(f"{v:.3f}" for v in self.propensity[:5])
        return f"PropensityEstimate(method={self.method!r}, propensity=[{head}{', ...' if len(self.propensity) > 5 else ''}])"


def _em_table(idx_qd, idx_p, n_imp, n_clk, n_pos, relevance, max_iter=500, tol=1e-9):
    """The theta step of the regression EM: PBM EM over examination with the relevance of every (query, document)
    pair fixed at ``relevance``; returns theta."""
    theta = np.full(n_pos, 0.5)
    g = relevance[idx_qd]
    imp_p = np.bincount(idx_p, weights=n_imp, minlength=n_pos)
    skip = n_imp - n_clk
    for _ in range(max_iter):
        t = theta[idx_p]
        exam = n_clk + skip * t * (1.0 - g) / np.maximum(1.0 - t * g, _EPS)  # E[examined] per aggregated entry
        new_theta = np.clip(np.bincount(idx_p, weights=exam, minlength=n_pos) / np.maximum(imp_p, _EPS), _EPS, 1.0)
        change = np.max(np.abs(new_theta - theta)) if n_pos else 0.0
        theta = new_theta
        if change < tol:
            break
    return theta


def _dense(idx_qd, idx_p, n_imp, n_clk, n_qd, n_pos):
    """Impressions and clicks as (pair, position) matrices."""
    imp = np.zeros((n_qd, n_pos))
    clicked = np.zeros((n_qd, n_pos))
    imp[idx_qd, idx_p] = n_imp
    clicked[idx_qd, idx_p] = n_clk
    return imp, clicked


def _connected_to_first(edges, n_pos):
    """Positions linked to position 0 through the given (k, l) pairs."""
    adj = {k: set() for k in range(n_pos)}
    for k, m in edges:
        adj[k].add(m)
        adj[m].add(k)
    stack, seen = [0], {0}
    while stack:
        for m in adj[stack.pop()]:
            if m not in seen:
                seen.add(m)
                stack.append(m)
    identified = np.zeros(n_pos, dtype=bool)
    identified[list(seen)] = True
    return identified


def _harvest(idx_qd, idx_p, n_imp, n_clk, n_pos, pair_weight=None):
    """Intervention harvesting with the AllPairs extremum estimator (Agarwal et al. 2019, sections 4-5).

    The intervention set of positions (k, l) holds the (query, document) pairs shown at both; over it
    ``c[k, l]`` = the sum of their click rates at k and ``n[k, l]`` = their number (every pair weighted once, the
    paper's weighting: E c[k, l] = theta_k r_kl with r_kl = r_lk the set's summed relevance). The estimate maximises
    the Bernoulli likelihood sum over k != l of c log(theta_k r_kl) + (n - c) log(1 - theta_k r_kl), started from the
    weighted least-squares fit of the log ratios log(c[k, l] / c[l, k]) (closed form). ``pair_weight`` (one per
    pair id, default 1): how many copies of the pair the log holds (a query drawn twice by the bootstrap counts
    twice), so a pair of weight 2 is exactly two pairs with its counts."""
    from scipy.optimize import minimize

    n_qd = int(idx_qd.max()) + 1 if len(idx_qd) else 0
    imp, clicked = _dense(idx_qd, idx_p, n_imp, n_clk, n_qd, n_pos)
    copies = np.ones((n_qd, 1)) if pair_weight is None else np.asarray(pair_weight, dtype=np.float64)[:n_qd, None]
    shown = (imp > 0).astype(np.float64)
    rate = clicked / np.maximum(imp, _EPS)
    c_hat = (rate * copies).T @ shown  # c_hat[k, l] = sum over pairs shown at k and l of the click rate at k
    n_hat = (shown * copies).T @ shown
    k_idx, l_idx = np.triu_indices(n_pos, 1)
    both = (c_hat[k_idx, l_idx] > 0) & (c_hat[l_idx, k_idx] > 0)
    identified = _connected_to_first(zip(k_idx[both], l_idx[both]), n_pos)
    if not both.any():
        return np.ones(n_pos), identified
    # start: weighted least squares of the log ratios (log theta_0 = 0; weights ~ inverse variances)
    kk, ll = k_idx[both], l_idx[both]
    keep = identified[kk] & identified[ll]
    kk, ll = kk[keep], ll[keep]
    free = np.flatnonzero(identified[1:]) + 1
    col = np.full(n_pos, -1)
    col[free] = np.arange(len(free))
    log_theta = np.zeros(n_pos)
    if len(free):
        A = np.zeros((len(kk), len(free)))
        rows = np.arange(len(kk))
        A[rows[col[kk] >= 0], col[kk][col[kk] >= 0]] = 1.0
        A[rows[col[ll] >= 0], col[ll][col[ll] >= 0]] = -1.0
        clicks_k = (clicked * copies).T @ shown  # clicks at k of the pairs shown at k and l
        w = np.sqrt(1.0 / (1.0 / np.maximum(clicks_k[kk, ll], _EPS) + 1.0 / np.maximum(clicks_k[ll, kk], _EPS)))
        rhs = np.log(c_hat[kk, ll] / c_hat[ll, kk])
        log_theta[free] = np.linalg.lstsq(A * w[:, None], rhs * w, rcond=None)[0]
    # the extremum estimator over the identified positions and the pairs with data at both ends
    pos = np.flatnonzero(identified)
    sub = np.full(n_pos, -1)
    sub[pos] = np.arange(len(pos))
    pk, pl = k_idx[(n_hat[k_idx, l_idx] > 0)], l_idx[(n_hat[k_idx, l_idx] > 0)]
    inside = identified[pk] & identified[pl]
    pk, pl = sub[pk[inside]], sub[pl[inside]]
    C = c_hat[np.ix_(pos, pos)]
    N = n_hat[np.ix_(pos, pos)]
    m = len(pos)
    start_theta = log_theta[pos] - log_theta[pos].max()  # all propensities <= 1
    start_r = 0.5 * (C[pk, pl] / N[pk, pl] / np.exp(start_theta[pk]) + C[pl, pk] / N[pl, pk] / np.exp(start_theta[pl]))
    x0 = np.r_[start_theta, np.log(np.clip(start_r, 1e-6, 0.999))]

    def objective(x):
        lt, lr = x[:m], x[m:]
        val, g_t, g_r = 0.0, np.zeros(m), np.zeros(len(lr))
        for a, b in ((pk, pl), (pl, pk)):  # the click rate at a of the pairs shown at a and b
            z = lt[a] + lr
            mu = np.minimum(np.exp(z), 1.0 - 1e-12)
            c, n = C[a, b], N[a, b]
            val -= np.sum(c * z + (n - c) * np.log1p(-mu))
            d = -(c - (n - c) * mu / (1.0 - mu))
            g_t += np.bincount(a, weights=d, minlength=m)
            g_r += d
        return val, np.r_[g_t, g_r]

    bounds = [(-30.0, 0.0)] * len(x0)
    res = minimize(objective, np.minimum(x0, 0.0), jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"maxiter": 2000, "ftol": 1e-10, "gtol": 1e-7})
    if not res.success:
        warnings.warn(f"harvest: the likelihood maximisation did not converge ({res.message}); the propensities are "
                      "its last iterate", RuntimeWarning, stacklevel=3)
    theta = np.ones(n_pos)
    theta[pos] = np.exp(res.x[:m] - res.x[sub[0]])
    return theta, identified


#: latent relevance grid and position strata of the EM without features (:func:`_em_latent`)
_EM_GRID = 30
_EM_STRATA = 8


def _em_latent(imp, clicked, stratum, n_strata, max_iter, tol, pair_weight=None):
    """PBM EM with the relevance of every (query, document) pair latent: one of ``_EM_GRID`` values in (0, 1] with
    probabilities estimated per stratum of the pair's mean displayed position (a nonparametric maximum-likelihood
    prior, Kiefer & Wolfowitz 1956). E-step: the posterior of every pair's relevance given all of its impressions;
    M-step: the prior of a stratum = the mean posterior of its pairs, and per position theta_p maximises the
    expected log-likelihood C_p log theta + sum_j A_pj log(1 - theta g_j) (C_p clicks, A_pj = skips weighted by the
    posterior of grid value g_j; concave, Newton steps). Accelerated by SQUAREM (Varadhan & Roland 2008), a step
    kept only when the log-likelihood does not fall. ``pair_weight`` (one per pair, default 1): how many copies of
    the pair the log holds (its sums count each copy, as if the copies were pairs of their own). Returns theta."""
    n_pos = imp.shape[1]
    grid = np.arange(1, _EM_GRID + 1) / _EM_GRID
    log_grid = np.log(grid)
    copies = np.ones(len(imp)) if pair_weight is None else np.asarray(pair_weight, dtype=np.float64)
    skips = imp - clicked
    clicks_pair = clicked.sum(axis=1)
    clicks_pos = copies @ clicked
    onehot = np.zeros((n_strata, len(stratum)))
    onehot[stratum, np.arange(len(stratum))] = copies
    size = np.maximum(onehot.sum(axis=1, keepdims=True), 1.0)
    ceiling = 1.0 - 1e-9  # theta g < 1 on the whole grid (g <= 1)

    def e_step(theta, prior):
        loglik = (clicked @ np.log(theta))[:, None] + clicks_pair[:, None] * log_grid[None, :] \
            + skips @ np.log1p(-theta[:, None] * grid[None, :]) + np.log(np.maximum(prior[stratum], 1e-300))
        top = loglik.max(axis=1, keepdims=True)
        post = np.exp(loglik - top)
        total = post.sum(axis=1, keepdims=True)
        return post / total, float(copies @ (top + np.log(total)).ravel())

    def m_step(theta, post):
        weighted = skips.T @ (post * copies[:, None])  # A[p, j]
        new = theta.copy()
        for _ in range(20):  # Newton on each position's concave 1-D problem, kept inside (0, 1)
            den = 1.0 - new[:, None] * grid[None, :]
            d1 = clicks_pos / new - np.sum(weighted * grid / den, axis=1)
            d2 = -clicks_pos / new**2 - np.sum(weighted * grid**2 / den**2, axis=1)
            step = np.where(d2 < 0, -d1 / np.minimum(d2, -_EPS), 0.0)
            new = np.clip(new + step, 0.5 * new, 0.5 * (new + ceiling))
            if np.max(np.abs(step)) < 1e-12:
                break
        return np.maximum(new, _EPS), onehot @ post / size

    def valid(theta, prior):
        return bool(np.all(theta > 0) and np.all(theta < ceiling) and np.all(prior >= 0))

    theta, prior = np.full(n_pos, 0.5), np.full((n_strata, _EM_GRID), 1.0 / _EM_GRID)
    post = e_step(theta, prior)[0]
    for _ in range(max_iter):
        t1, p1 = m_step(theta, post)
        t2, p2 = m_step(t1, e_step(t1, p1)[0])
        post2, ll2 = e_step(t2, p2)
        best = (t2, p2, post2)
        x0, x1, x2 = np.r_[theta, prior.ravel()], np.r_[t1, p1.ravel()], np.r_[t2, p2.ravel()]
        r, v = x1 - x0, x2 - 2 * x1 + x0
        alpha = -np.sqrt(np.sum(r * r) / max(np.sum(v * v), 1e-300))
        if alpha < -1:  # the SQUAREM extrapolation, kept when it is a valid point that raises the likelihood
            x = x0 - 2 * alpha * r + alpha * alpha * v
            t3, p3 = x[:n_pos], x[n_pos:].reshape(prior.shape)
            if valid(t3, p3):
                p3 = p3 / p3.sum(axis=1, keepdims=True)
                t3, p3 = m_step(t3, e_step(t3, p3)[0])
                if valid(t3, p3):
                    post3, ll3 = e_step(t3, p3)
                    if ll3 >= ll2:
                        best = (t3, p3, post3)
        change = np.max(np.abs(best[0] - theta))
        theta, prior, post = best
        if change < tol:
            break
    return theta


def _fill_forward(values, identified):
    out = values.copy()
    last = 1.0
    for p in range(len(out)):
        if identified[p] and np.isfinite(out[p]) and out[p] > 0:
            last = out[p]
        else:
            out[p] = last
    return out


def estimate_propensity(clicks, position, qid, docno, *, session=None, method="em", X=None, n_positions=None,
                        n_bootstrap=None, seed=0, max_iter=200, tol=1e-4, em_iterations=8, em_rounds=20,
                        backend="lightgbm"):
    r"""Examination propensities per position from a click log, relative to position 0, with bootstrap intervals.

    Parameters
    ----------
    clicks : array-like of {0, 1}, shape (n,)
        One row per shown document per session.
    position : array-like of int >= 0, shape (n,)
        0-based displayed rank of every row.
    qid, docno : array-like, shape (n,)
        Query and document of every row: a (query, document) pair shown at several positions is what separates
        examination from relevance.
    session : array-like, shape (n,), optional
        Session of every row (checked for its length). The bootstrap resamples whole queries, not sessions: the
        sessions of a query share its documents' relevance, and resampling them one by one duplicates that
        evidence (it moved the EM's replicates away from its estimate).
    method : {"em", "harvest"}, default "em"
        ``"em"``: the PBM's expectation-maximisation (Wang et al. 2018). Without ``X`` the relevance of every
        (query, document) pair is a latent variable on a grid of 30 values in (0, 1] whose distribution is estimated
        per stratum (8 quantile bins) of the pair's mean displayed position (a nonparametric maximum-likelihood
        prior; the stratum absorbs how the logger placed relevant documents): the paper's free relevance per pair is
        inconsistent when each pair has only a few impressions (Neyman and Scott's incidental parameters: at 10
        sessions per query it flattened theta by up to 60 % on MQ2008), the latent one is not. With ``X`` the
        regression EM of that paper, whose M-step fits the relevance :math:`\gamma(x)` as a GBDT (binary log loss,
        trained through :func:`gbm_objectives.train` on the posterior relevance, ``em_iterations`` EM steps of
        ``em_rounds`` rounds); it assumes the displayed position independent of relevance given ``x`` (uniform
        randomisation), and is biased otherwise (BENCHMARKS "clicks"). ``"harvest"``: intervention harvesting with
        the AllPairs extremum estimator (Agarwal et al. 2019): the pairs shown at both positions ``k`` and ``l``
        form an intervention set; the sums of their click rates at ``k`` and at ``l`` estimate
        :math:`\theta_k r_{kl}` and :math:`\theta_l r_{kl}`, and theta maximises the Bernoulli likelihood of all
        of them over every pair of positions (started from the weighted least-squares fit of the log ratios).
    X : array-like of shape (n, n_features), optional
        Features of every row (``"em"`` only).
    n_positions : int, optional
        Positions to estimate (default: the largest position + 1).
    n_bootstrap : int >= 0, optional
        Bootstrap replicates for the intervals (default 100 for ``"harvest"``, 20 for ``"em"``, 0 with ``X``: each
        replicate retrains the GBDT).
    seed : int, default 0
    max_iter, tol : EM iterations and convergence threshold on the largest change of theta (EM without ``X``);
        with ``tol=1e-4`` instead of ``1e-7``, a 1,500-query uniformly logged PBM log (S = 10) took 3.9 s instead
        of 17.1 s and its relative propensities moved by at most 5e-4 (0.1 %), far below the 10 % that matters.
    em_iterations, em_rounds, backend : the regression EM (with ``X``).

    Returns
    -------
    PropensityEstimate
        A :class:`UserWarning` is issued when fewer than 1 % of the (query, document) pairs were shown at two or
        more positions: the propensities are then not identifiable from this log (:func:`click_report`).

    References
    ----------
    X. Wang, N. Golbandi, M. Bendersky, D. Metzler, M. Najork, "Position Bias Estimation for Unbiased Learning to
    Rank in Personal Search", WSDM 2018. A. Agarwal, I. Zaitsev, X. Wang, C. Li, M. Najork, T. Joachims,
    "Estimating Position Bias without Intrusive Interventions", WSDM 2019. J. Kiefer, J. Wolfowitz, "Consistency of
    the Maximum Likelihood Estimator in the Presence of Infinitely Many Incidental Parameters", Ann. Math. Statist.
    1956. R. Varadhan, C. Roland, "Simple and Globally Convergent Methods for Accelerating the Convergence of Any EM
    Algorithm", Scand. J. Statist. 2008.
    """
    c, pos, q, d, s = _check_log(clicks, position, qid, docno, session)
    if q is None or d is None:
        raise ValueError("qid and docno are required (one per row)")
    if method not in PROPENSITY_METHODS:
        raise ValueError(f"method must be one of {list(PROPENSITY_METHODS)}; got {method!r}")
    if X is not None and method != "em":
        raise ValueError("X= is the feature matrix of the regression EM; method='harvest' takes none")
    n_pos = (int(pos.max()) + 1 if len(pos) else 1) if n_positions is None else check_positive_int(
        n_positions, "n_positions")
    if n_bootstrap is None:
        n_bootstrap = 0 if X is not None else 20 if method == "em" else 100
    elif not isinstance(n_bootstrap, (int, np.integer)) or isinstance(n_bootstrap, bool) or n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be an int >= 0; got {n_bootstrap!r}")
    keep = pos < n_pos
    c, pos, q, d = c[keep], pos[keep], q[keep], d[keep]
    s = None if s is None else s[keep]
    _, qi = np.unique(q, return_inverse=True)
    _, di = np.unique(d, return_inverse=True)
    pair = np.unique(np.stack([qi.ravel(), di.ravel()]), axis=1, return_inverse=True)[1].ravel()
    key = pair * n_pos + pos
    entries, inv = np.unique(key, return_inverse=True)
    inv = inv.ravel()
    idx_qd, idx_p = entries // n_pos, entries % n_pos
    n_qd = int(pair.max()) + 1 if len(pair) else 0
    if _multi_share(idx_qd, n_qd) < _MIN_MULTI_SHARE:
        warnings.warn("fewer than 1 % of the (query, document) pairs were shown at two or more positions: the "
                      "propensities are not identifiable from this log (randomise the logger or log more sessions)",
                      UserWarning, stacklevel=2)
    # strata of the EM without features: quantiles of each pair's mean displayed position (how the logger placed it)
    imp_pair = np.bincount(pair, minlength=n_qd).astype(np.float64)
    mean_pos = np.bincount(pair, weights=pos, minlength=n_qd) / np.maximum(imp_pair, 1.0)
    edges = np.unique(np.quantile(mean_pos, np.linspace(0, 1, _EM_STRATA + 1)[1:-1])) if n_qd else np.zeros(0)
    stratum = np.searchsorted(edges, mean_pos, side="right")
    n_strata = len(edges) + 1
    Xagg = None
    if X is not None:
        Xa = np.asarray(X, dtype=np.float64)
        if Xa.ndim != 2 or len(Xa) != len(keep):
            raise ValueError(f"X must be 2-D with one row per click ({len(keep)}); got shape {Xa.shape}")
        first = np.full(n_qd, -1, dtype=np.int64)
        first[pair[::-1]] = np.arange(len(pair))[::-1]
        Xagg = Xa[keep][first]

    n_imp_all = np.bincount(inv, minlength=len(entries)).astype(np.float64)
    n_clk_all = np.bincount(inv, weights=c, minlength=len(entries))

    def estimate(copies):
        """The estimate from the log with every pair ``copies[pair]`` times (a bootstrap draw: a query drawn twice
        is two queries; 0 leaves it out)."""
        seen = copies[idx_qd] > 0
        n_imp, n_clk = n_imp_all[seen], n_clk_all[seen]
        if method == "harvest":
            return _harvest(idx_qd[seen], idx_p[seen], n_imp, n_clk, n_pos, copies)
        ident = np.bincount(idx_p[seen], minlength=n_pos) > 0
        if Xagg is None:
            imp, clicked = _dense(idx_qd[seen], idx_p[seen], n_imp, n_clk, n_qd, n_pos)
            theta = _em_latent(imp, clicked, stratum, n_strata, max_iter, tol, copies)
        else:  # the GBDT's pairs carry their copies as counts (features tie the copies' relevance anyway)
            m = copies[idx_qd[seen]]
            theta = _regression_em(Xagg, idx_qd[seen], idx_p[seen], n_imp * m, n_clk * m, n_qd, n_pos,
                                   em_iterations, em_rounds, backend, seed)
        return theta / max(theta[0], _EPS), ident

    theta, identified = estimate(np.ones(n_qd))
    lower = upper = None
    if n_bootstrap:
        rng = np.random.default_rng(seed)
        # the cluster: a query with all its sessions; a pair belongs to the query of its rows
        ui = qi.ravel()
        n_units = int(ui.max()) + 1 if len(ui) else 0
        pair_unit = np.zeros(n_qd, dtype=np.int64)
        pair_unit[pair] = ui
        reps = np.empty((n_bootstrap, n_pos))
        for b in range(n_bootstrap):
            count = np.bincount(rng.integers(0, n_units, n_units), minlength=n_units).astype(np.float64)
            t, ident = estimate(count[pair_unit])
            reps[b] = np.where(ident, t, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lower = np.nanpercentile(reps, 2.5, axis=0)
            upper = np.nanpercentile(reps, 97.5, axis=0)
    impressions = np.bincount(pos, minlength=n_pos)
    clicks_at = np.bincount(pos, weights=c, minlength=n_pos)
    return PropensityEstimate(_fill_forward(theta, identified), lower, upper, identified, impressions, clicks_at,
                              method)


def _regression_em(Xagg, idx_qd, idx_p, n_imp, n_clk, n_qd, n_pos, iterations, rounds, backend, seed):
    """Regression EM: gamma = sigmoid(GBDT(features)), refitted on the posterior relevance at every M-step."""
    from .training import train

    gamma = np.full(n_qd, 0.5)
    theta = np.full(n_pos, 0.5)
    imp_qd = np.bincount(idx_qd, weights=n_imp, minlength=n_qd)
    rows = imp_qd > 0
    for _ in range(iterations):
        theta = _em_table(idx_qd, idx_p, n_imp, n_clk, n_pos, gamma)
        t = theta[idx_p]
        g = gamma[idx_qd]
        denom = np.maximum(1.0 - t * g, _EPS)
        rel = n_clk + (n_imp - n_clk) * (1.0 - t) * g / denom
        p_rel = np.bincount(idx_qd, weights=rel, minlength=n_qd)[rows] / imp_qd[rows]
        # the binary log loss with soft labels, as two weighted rows per pair (label 1: weight N p, label 0: N (1-p))
        Xr = Xagg[rows]
        res = train("logloss", np.vstack([Xr, Xr]), np.r_[np.ones(len(Xr)), np.zeros(len(Xr))],
                    sample_weight=np.r_[imp_qd[rows] * p_rel, imp_qd[rows] * (1 - p_rel)] + 1e-9,
                    num_boost_round=rounds, backend=backend, n_jobs=1, params={"seed": seed, "verbosity": -1}
                    if backend == "lightgbm" else {"seed": seed})
        gamma = np.full(n_qd, 0.5)
        gamma[rows] = 1.0 / (1.0 + np.exp(-res.predict_raw(Xr)))
    theta = _em_table(idx_qd, idx_p, n_imp, n_clk, n_pos, gamma)
    return theta


def _multi_share(idx_qd, n_qd):
    """Share of (query, document) pairs with entries at two or more positions."""
    if n_qd == 0:
        return 0.0
    per_pair = np.bincount(idx_qd, minlength=n_qd)
    return float(np.mean(per_pair >= 2))


class ClickReport:
    """What a click log holds (:func:`click_report`); ``str(report)`` is the printed table."""

    def __init__(self, n_rows, n_queries, n_sessions, sessions_per_query, impressions, clicks, multi_position_share,
                 identifiable):
        self.n_rows, self.n_queries, self.n_sessions = n_rows, n_queries, n_sessions
        self.sessions_per_query = sessions_per_query
        self.impressions, self.clicks = impressions, clicks
        self.multi_position_share, self.identifiable = multi_position_share, identifiable

    def __str__(self):
        spq = self.sessions_per_query
        lines = [f"click log: {self.n_rows} rows, {self.n_queries} queries, {self.n_sessions} sessions "
                 f"(per query: mean {spq.mean():.1f}, min {int(spq.min())}, max {int(spq.max())}), "
                 f"{int(self.clicks.sum())} clicks",
                 f"(query, document) pairs seen at >= 2 positions: {100 * self.multi_position_share:.1f} %",
                 "position  impressions  clicks  CTR"]
        for p in range(min(len(self.clicks), 20)):
            ctr = self.clicks[p] / self.impressions[p] if self.impressions[p] else 0.0
            lines.append(f"{p:8d}  {int(self.impressions[p]):11d}  {int(self.clicks[p]):6d}  {ctr:.3f}")
        if len(self.clicks) > 20:
            lines.append(f"... {len(self.clicks) - 20} more positions")
        if not self.identifiable:
            lines.append("WARNING: propensities are not identifiable from this log (each (query, document) pair was "
                         "shown at one position only): randomise the logger or log more sessions")
        return "\n".join(lines)

    def __repr__(self):
        return (f"ClickReport(sessions={self.n_sessions}, clicks={int(self.clicks.sum())}, "
                f"multi_position_share={self.multi_position_share:.3f}, identifiable={self.identifiable})")


def click_report(clicks, position, qid, docno=None, *, session=None):
    """Summarise a click log: sessions per query, clicks per position, and whether propensities are identifiable.

    Parameters
    ----------
    clicks : array-like of {0, 1}, shape (n,)
    position : array-like of int >= 0, shape (n,)
        Required (``session`` without positions is refused).
    qid : array-like, shape (n,)
    docno : array-like, shape (n,), optional
        Document ids; default: the row's index within its session is not a document id, so without ``docno``
        every row counts as its own document.
    session : array-like, shape (n,), optional
        Default: one session per query.

    Returns
    -------
    ClickReport
        With ``sessions_per_query``, per-position ``impressions`` and ``clicks``, ``multi_position_share`` (share
        of (query, document) pairs seen at two or more positions) and ``identifiable``
        (``multi_position_share >= 0.01``); a :class:`UserWarning` when not identifiable.

    >>> import numpy as np
    >>> r = click_report([1, 0, 0, 1], [0, 1, 1, 0], qid=[1, 1, 1, 1], docno=[5, 6, 5, 6], session=[0, 0, 1, 1])
    >>> r.multi_position_share, r.clicks.tolist()
    (1.0, [2.0, 0.0])
    """
    c, pos, q, d, s = _check_log(clicks, position, qid, docno, session)
    if q is None:
        raise ValueError("qid is required (one per row)")
    if d is None:
        d = np.arange(len(c))
    _, qi = np.unique(q, return_inverse=True)
    qi = qi.ravel()
    n_q = int(qi.max()) + 1 if len(qi) else 0
    if s is None:
        spq = np.ones(n_q, dtype=np.int64)
        n_sessions = n_q
    else:
        pairs = np.unique(np.stack([qi, np.unique(s, return_inverse=True)[1].ravel()]), axis=1)
        spq = np.bincount(pairs[0], minlength=n_q)
        n_sessions = int(len(np.unique(s)))
    agg = aggregate_clicks(c, pos, qi, d)
    _, pair_idx = np.unique(np.stack([np.unique(agg["qid"], return_inverse=True)[1].ravel(),
                                      np.unique(agg["docno"], return_inverse=True)[1].ravel()]), axis=1,
                            return_inverse=True)
    pair_idx = pair_idx.ravel()
    share = _multi_share(pair_idx, int(pair_idx.max()) + 1 if len(pair_idx) else 0)
    n_pos = int(pos.max()) + 1 if len(pos) else 0
    report = ClickReport(len(c), n_q, n_sessions, spq, np.bincount(pos, minlength=n_pos),
                         np.bincount(pos, weights=c, minlength=n_pos), share, share >= _MIN_MULTI_SHARE)
    if not report.identifiable:
        warnings.warn("propensities are not identifiable from this click log: fewer than 1 % of the (query, "
                      "document) pairs were shown at two or more positions", UserWarning, stacklevel=2)
    return report


def weak_logger(X, y, *, group=None, qid=None, share=0.05, num_boost_round=30, seed=0, backend="lightgbm"):
    """Scores of a weak logging ranker: LambdaRank trained on the labels of a random ``share`` of the queries.

    Parameters
    ----------
    X : array-like of shape (n, n_features)
    y : array-like of shape (n,)
        True relevance labels.
    group, qid : query sizes or per-row ids (exactly one).
    share : float in (0, 1], default 0.05
        Share of the queries (at least one) whose labels the logger sees.
    num_boost_round, seed, backend : its training.

    Returns
    -------
    ndarray of float64, shape (n,)
        Raw scores for every row (to pass as ``ranking_score`` to :func:`~gbm_objectives.datasets.simulate_clicks`).
    """
    from ._core.segments import resolve_boundaries
    from ._core.validation import check_interval
    from .training import train

    share = check_interval(share, "share", 0, 1, closed="right")
    Xa = X
    n = Xa.shape[0]
    bounds = resolve_boundaries(n, group=group, qid=qid)
    n_q = len(bounds) - 1
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(n_q, size=max(1, int(round(share * n_q))), replace=False))
    rows = np.concatenate([np.arange(bounds[i], bounds[i + 1]) for i in pick])
    yy = np.asarray(y, dtype=np.float64)
    res = train("lambdarank", Xa[rows], yy[rows], group=np.diff(bounds)[pick], num_boost_round=num_boost_round,
                backend=backend, n_jobs=1)
    return res.predict_raw(Xa)
