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
>>> est = go.estimate_propensity(log.clicks, log.position, log.query, log.row, session=log.session,
...                              method="harvest", n_bootstrap=0)
>>> np.round(est.propensity * np.arange(1, 7), 2).tolist()          # 1.0 where exact
[1.0, 1.03, 0.99, 1.04, 1.02, 0.97]
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
        The 2.5 % and 97.5 % bootstrap percentiles (resampling sessions, or queries without ``session``).
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


def _em_table(idx_qd, idx_p, n_imp, n_clk, n_qd, n_pos, max_iter, tol, relevance=None):
    """PBM EM (Wang et al. 2018) on aggregated impressions; returns (theta, gamma)."""
    theta = np.full(n_pos, 0.5)
    gamma = np.full(n_qd, 0.5) if relevance is None else relevance
    imp_p = np.bincount(idx_p, weights=n_imp, minlength=n_pos)
    imp_qd = np.bincount(idx_qd, weights=n_imp, minlength=n_qd)
    for _ in range(max_iter):
        t = theta[idx_p]
        g = gamma[idx_qd]
        denom = np.maximum(1.0 - t * g, _EPS)
        skip = n_imp - n_clk
        exam = n_clk + skip * t * (1.0 - g) / denom  # E[examined] per aggregated entry
        new_theta = np.bincount(idx_p, weights=exam, minlength=n_pos) / np.maximum(imp_p, _EPS)
        if relevance is None:
            rel = n_clk + skip * (1.0 - t) * g / denom
            gamma = np.clip(np.bincount(idx_qd, weights=rel, minlength=n_qd) / np.maximum(imp_qd, _EPS), 0, 1)
        change = np.max(np.abs(new_theta - theta)) if n_pos else 0.0
        theta = np.clip(new_theta, _EPS, 1.0)
        if change < tol:
            break
    return theta, gamma


def _harvest(idx_qd, idx_p, n_imp, n_clk, n_pos):
    """Intervention harvesting (Agarwal et al. 2019): click-rate ratios of the same (query, document) pair at two
    positions, combined by weighted least squares on the log scale with log theta_0 = 0."""
    n_qd = int(idx_qd.max()) + 1 if len(idx_qd) else 0
    imp = np.zeros((n_qd, n_pos))
    clicked = np.zeros((n_qd, n_pos))
    imp[idx_qd, idx_p] = n_imp
    clicked[idx_qd, idx_p] = n_clk
    rate = clicked / np.maximum(imp, _EPS)
    # num[k, l] = sum over pairs seen at k and l of w CTR at k, w = the smaller impression count (a weight that does
    # not depend on the clicks keeps each ratio unbiased); clk[k, l] = the clicks at k of those pairs
    num = np.zeros((n_pos, n_pos))
    clk = np.zeros((n_pos, n_pos))
    step = max(1, 2_000_000 // max(n_pos * n_pos, 1))
    for a in range(0, n_qd, step):
        N, R, C = imp[a : a + step], rate[a : a + step], clicked[a : a + step]
        W = np.minimum(N[:, :, None], N[:, None, :])
        num += np.einsum("bkl,bk->kl", W, R)
        clk += np.einsum("bkl,bk->kl", (W > 0).astype(np.float64), C)
    rows, rhs, wts = [], [], []
    for k in range(n_pos):
        for m in range(k + 1, n_pos):
            if num[k, m] > 0 and num[m, k] > 0:
                rows.append((k, m))
                rhs.append(np.log(num[k, m] / num[m, k]))
                wts.append(1.0 / (1.0 / clk[k, m] + 1.0 / clk[m, k]))
    identified = np.zeros(n_pos, dtype=bool)
    log_theta = np.zeros(n_pos)
    if not rows:
        return np.ones(n_pos), identified
    # connected to position 0 through observed pairs
    adj = {k: set() for k in range(n_pos)}
    for k, m in rows:
        adj[k].add(m)
        adj[m].add(k)
    stack, seen = [0], {0}
    while stack:
        for m in adj[stack.pop()]:
            if m not in seen:
                seen.add(m)
                stack.append(m)
    identified[list(seen)] = True
    free = [k for k in range(1, n_pos) if identified[k]]
    col = {k: i for i, k in enumerate(free)}
    A = np.zeros((len(rows), len(free)))
    for r, (k, m) in enumerate(rows):
        if k in col:
            A[r, col[k]] = 1.0
        if m in col:
            A[r, col[m]] = -1.0
    sw = np.sqrt(np.asarray(wts))
    keep = np.array([identified[k] and identified[m] for k, m in rows])
    if free:
        sol = np.linalg.lstsq(A[keep] * sw[keep, None], np.asarray(rhs)[keep] * sw[keep], rcond=None)[0]
        log_theta[free] = sol
    return np.exp(log_theta), identified


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
                        n_bootstrap=None, seed=0, max_iter=200, tol=1e-7, em_iterations=8, em_rounds=20,
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
        Session of every row: the unit the bootstrap resamples (queries without it).
    method : {"em", "harvest"}, default "em"
        ``"em"``: the PBM's expectation-maximisation (Wang et al. 2018); with ``X`` the regression EM of that
        paper, whose M-step fits the relevance :math:`\gamma` as a GBDT (binary log loss, trained through
        :func:`gbm_objectives.train` on the posterior relevance, ``em_iterations`` EM steps of ``em_rounds``
        rounds), else one :math:`\gamma` per (query, document). ``"harvest"``: intervention harvesting (Agarwal et
        al. 2019): for positions ``k, l``, the (query, document) pairs shown at both give
        :math:`\hat\theta_k / \hat\theta_l = \sum_d w_d \mathrm{CTR}_{d,k} / \sum_d w_d \mathrm{CTR}_{d,l}`
        (``w_d`` = the smaller impression count), combined over all pairs of positions by weighted least squares
        on the log scale.
    X : array-like of shape (n, n_features), optional
        Features of every row (``"em"`` only).
    n_positions : int, optional
        Positions to estimate (default: the largest position + 1).
    n_bootstrap : int >= 0, optional
        Bootstrap replicates for the intervals (default 100, or 0 with ``X``: each replicate retrains the GBDT).
    seed : int, default 0
    max_iter, tol : EM iterations and convergence threshold on theta (table EM).
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
    "Estimating Position Bias without Intrusive Interventions", WSDM 2019.
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
        n_bootstrap = 0 if X is not None else 100
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
    Xagg = None
    if X is not None:
        Xa = np.asarray(X, dtype=np.float64)
        if Xa.ndim != 2 or len(Xa) != len(keep):
            raise ValueError(f"X must be 2-D with one row per click ({len(keep)}); got shape {Xa.shape}")
        first = np.full(n_qd, -1, dtype=np.int64)
        first[pair[::-1]] = np.arange(len(pair))[::-1]
        Xagg = Xa[keep][first]

    def estimate(weights):
        n_imp = np.bincount(inv, weights=weights, minlength=len(entries))
        n_clk = np.bincount(inv, weights=c * weights, minlength=len(entries))
        seen = n_imp > 0
        if method == "harvest":
            theta, ident = _harvest(idx_qd[seen], idx_p[seen], n_imp[seen], n_clk[seen], n_pos)
            return theta, ident
        ident = np.bincount(idx_p[seen], weights=n_imp[seen], minlength=n_pos) > 0
        if Xagg is None:
            theta, _ = _em_table(idx_qd[seen], idx_p[seen], n_imp[seen], n_clk[seen], n_qd, n_pos, max_iter, tol)
        else:
            theta = _regression_em(Xagg, idx_qd[seen], idx_p[seen], n_imp[seen], n_clk[seen], n_qd, n_pos,
                                   em_iterations, em_rounds, backend, seed)
        return theta / max(theta[0], _EPS), ident

    theta, identified = estimate(np.ones(len(c)))
    lower = upper = None
    if n_bootstrap:
        rng = np.random.default_rng(seed)
        unit = s if s is not None else q
        _, ui = np.unique(unit, return_inverse=True)
        ui = ui.ravel()
        n_units = int(ui.max()) + 1 if len(ui) else 0
        reps = np.empty((n_bootstrap, n_pos))
        for b in range(n_bootstrap):
            count = np.bincount(rng.integers(0, n_units, n_units), minlength=n_units).astype(np.float64)
            t, ident = estimate(count[ui])
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
        theta, _ = _em_table(idx_qd, idx_p, n_imp, n_clk, n_qd, n_pos, 500, 1e-9, relevance=gamma)
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
    theta, _ = _em_table(idx_qd, idx_p, n_imp, n_clk, n_qd, n_pos, 500, 1e-9, relevance=gamma)
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
