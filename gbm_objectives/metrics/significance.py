"""Paired significance tests between systems evaluated on the same queries: :func:`compare_runs`.

Every test works on the per-query differences ``d_q = x_q - b_q`` of a system ``x`` and the baseline ``b``:

* ``"t-test"``: Student's paired t-test, ``t = mean(d) / (sd(d) / sqrt(n))`` with ``n - 1`` degrees of freedom,
  two-sided (:func:`scipy.stats.ttest_rel`); interval ``mean(d) +- t_{0.975, n-1} sd(d) / sqrt(n)``;
* ``"randomization"``: Fisher's paired randomization (sign-flip) test: under the null each ``d_q`` is as likely
  ``-d_q``; ``p = (1 + #{|mean(s * d)| >= |mean(d)|}) / (1 + n_resamples)`` over random signs ``s`` (a valid
  p-value, Phipson & Smyth 2010); interval from the paired bootstrap below;
* ``"bootstrap"``: paired bootstrap of the queries; percentile interval of ``mean(d*)``, and
  ``p = (1 + #{|mean(d*) - mean(d)| >= |mean(d)|}) / (1 + n_resamples)`` (the shifted-null bootstrap).

The p-values of the systems compared with the baseline on one metric form one family, corrected by Holm's step-down
method (``correction="holm"``), Bonferroni, or not at all (``None``).

>>> import pandas as pd
>>> a = pd.DataFrame({"map": [0.1, 0.2, 0.3, 0.4]}, index=["q1", "q2", "q3", "q4"])
>>> b = a + 0.1
>>> t = compare_runs({"A": a, "B": b}, baseline="A", test="t-test")
>>> t[["system", "metric", "diff"]].round(3).values.tolist()
[['A', 'map', 0.0], ['B', 'map', 0.1]]
"""

from __future__ import annotations

import numbers

import numpy as np

from .._core.validation import check_finite, fmt

__all__ = ["compare_runs", "holm", "paired_test", "TESTS", "CORRECTIONS"]

TESTS = ("randomization", "t-test", "bootstrap")
CORRECTIONS = ("holm", "bonferroni", None)
_CHUNK = 1 << 22  # sign/bootstrap draws per batch (entries), to bound memory


def holm(p_values):
    """Holm's step-down adjusted p-values: ``p_(i) * (m - i + 1)`` in increasing order, made monotone, capped at 1.

    >>> holm([0.01, 0.04, 0.03]).round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=np.float64)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adj = np.maximum.accumulate(p[order] * (m - np.arange(m)))
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out


def _resampled_means(d, n_resamples, draw):
    """``n_resamples`` means of rows ``draw(rows)`` (arrays of shape (rows, len(d))), drawn in chunks of at most
    ``_CHUNK`` values so memory stays bounded."""
    n = len(d)
    out = np.empty(n_resamples)
    step = max(1, _CHUNK // max(n, 1))
    for s in range(0, n_resamples, step):
        e = min(s + step, n_resamples)
        out[s:e] = draw(e - s).mean(axis=1)
    return out


def _bootstrap_means(d, n_resamples, rng):
    """Means of resamples of ``d`` with replacement."""
    return _resampled_means(d, n_resamples, lambda rows: d[rng.integers(0, len(d), size=(rows, len(d)))])


def _sign_flip_means(d, n_resamples, rng):
    """Means of ``d`` with random signs (the randomization test's null distribution)."""
    return _resampled_means(
        d, n_resamples, lambda rows: (rng.integers(0, 2, size=(rows, len(d)), dtype=np.int8) * 2 - 1) * d)


def paired_test(x, baseline, *, test="randomization", n_resamples=10000, seed=0, confidence=0.95):
    """``(diff, p_value, ci_low, ci_high)`` of ``mean(x - baseline)`` over paired per-query values (module doc).

    Raises
    ------
    ValueError
        Shapes that differ or are not 1-D, fewer than 2 pairs, an unknown ``test``, and a NaN or infinite value
        (its argument and index are named): a NaN difference never compares as extreme, so the resampling tests
        would report the smallest possible p-value and a NaN interval, and the t-test a NaN.
    """
    x = np.asarray(x, dtype=np.float64)
    b = np.asarray(baseline, dtype=np.float64)
    if x.shape != b.shape or x.ndim != 1:
        raise ValueError(f"paired values need equal 1-D shapes; got {x.shape} and {b.shape}")
    check_finite(x, "x")
    check_finite(b, "baseline")
    if test not in TESTS:
        raise ValueError(f"test must be one of {list(TESTS)}; got {fmt(test)}")
    d = x - b
    n = len(d)
    if n < 2:
        raise ValueError(f"a paired test needs at least 2 queries; got {n}")
    diff = float(d.mean())
    alpha = 1.0 - confidence
    rng = np.random.default_rng(seed)
    if test == "t-test":
        from scipy import stats

        sd = float(d.std(ddof=1))
        se = sd / np.sqrt(n)
        if se == 0.0:
            p = np.nan if diff == 0.0 else 0.0
            return diff, p, diff, diff
        t = diff / se
        p = float(2.0 * stats.t.sf(abs(t), n - 1))
        h = float(stats.t.ppf(1.0 - alpha / 2, n - 1)) * se
        return diff, p, diff - h, diff + h
    boot = _bootstrap_means(d, n_resamples, rng)
    lo, hi = np.quantile(boot, [alpha / 2, 1.0 - alpha / 2])
    tol = 1e-12 * max(1.0, abs(diff))  # equal means up to rounding count as "as extreme"
    if test == "randomization":
        null = _sign_flip_means(d, n_resamples, rng)
        count = int((np.abs(null) >= abs(diff) - tol).sum())
    else:
        count = int((np.abs(boot - diff) >= abs(diff) - tol).sum())
    p = (1.0 + count) / (1.0 + n_resamples)
    return diff, p, float(lo), float(hi)


def _per_query(value, name):
    import pandas as pd

    per = getattr(value, "per_query", value)
    if not isinstance(per, pd.DataFrame):
        raise TypeError(f"runs[{name!r}] must be an evaluate_run result or a per-query DataFrame; got "
                        f"{type(value).__name__}")
    return per


def compare_runs(runs, baseline=None, metrics=None, test="randomization", n_resamples=10000, correction="holm",
                 seed=0):
    """Paired significance of each system against a baseline, per metric.

    Parameters
    ----------
    runs : dict
        System name -> :func:`gbm_objectives.evaluate_run` result (or a per-query DataFrame: one row per query,
        one column per metric). All must cover the same queries.
    baseline : str, optional
        The system the others are compared with; default the first.
    metrics : sequence of str, optional
        Default: every metric all systems share (in the baseline's column order).
    test : {"randomization", "t-test", "bootstrap"}, default "randomization"
    n_resamples : int, default 10000
        Random sign flips or bootstrap samples.
    correction : {"holm", "bonferroni", None}, default "holm"
        Multiple-comparison correction over the systems compared on one metric.
    seed : int, default 0

    Returns
    -------
    pandas.DataFrame
        One row per (system, metric), the baseline first: ``system``, ``metric``, ``mean``, ``diff`` (mean of
        system minus baseline), ``p_value``, ``p_value_corrected``, ``ci_low``, ``ci_high`` (95% interval of the
        difference); ``nan`` p-values and a zero interval for the baseline itself.

    Raises
    ------
    ValueError
        Unknown baseline/test/correction, systems on different queries, no shared metric; a query listed twice
        in one system's values; a NaN or infinite per-query value (the system, metric and query are named: a NaN
        difference would make the resampling tests report their smallest p-value, ``1 / (n_resamples + 1)``,
        with a NaN interval).
    """
    import pandas as pd

    if not isinstance(runs, dict) or len(runs) < 2:
        raise ValueError(f"runs must be a dict of at least 2 systems; got {type(runs).__name__} of "
                         f"{len(runs) if hasattr(runs, '__len__') else '?'}")
    if test not in TESTS:
        raise ValueError(f"test must be one of {list(TESTS)}; got {fmt(test)}")
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {list(CORRECTIONS)}; got {fmt(correction)}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, numbers.Integral) or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer; got {fmt(n_resamples)}")
    names = list(runs)
    baseline = names[0] if baseline is None else baseline
    if baseline not in runs:
        raise ValueError(f"baseline {baseline!r} is not one of the systems {names}")
    per = {k: _per_query(v, k) for k, v in runs.items()}
    base = per[baseline]
    if metrics is None:
        metrics = [m for m in base.columns if all(m in p.columns for p in per.values())]
        if not metrics:
            raise ValueError("the systems share no metric")
    elif isinstance(metrics, str):
        metrics = [metrics]
    for k, p in per.items():
        missing = [m for m in metrics if m not in p.columns]
        if missing:
            raise ValueError(f"system {k!r} has no metric {missing[0]!r}; it has {list(p.columns)}")
        twice = p.index.duplicated()
        if twice.any():
            raise ValueError(f"system {k!r} has the query {p.index[twice][0]!r} twice in its per-query values; "
                             "each query must appear once")
        for m in metrics:
            v = p[m].to_numpy(dtype=np.float64)
            bad = ~np.isfinite(v)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(f"system {k!r}, metric {m!r}: the value of query {p.index[i]!r} is {fmt(v[i])}; "
                                 "every per-query value must be finite (drop that query from every system, "
                                 "or fix its value)")
        if len(p.index) != len(base.index) or not p.index.sort_values().equals(base.index.sort_values()):
            diff = p.index.symmetric_difference(base.index)
            raise ValueError(f"system {k!r} and the baseline {baseline!r} are not evaluated on the same queries "
                             f"({len(diff)} differ, e.g. {list(diff[:3])}); evaluate both with "
                             f"missing_queries='zero' or on the same qrels")
    others = [k for k in names if k != baseline]
    rows = []
    for m in metrics:
        b = base[m].to_numpy(dtype=np.float64)
        rows.append({"system": baseline, "metric": m, "mean": float(b.mean()), "diff": 0.0, "p_value": np.nan,
                     "p_value_corrected": np.nan, "ci_low": 0.0, "ci_high": 0.0})
        family = []
        for k in others:
            x = per[k][m].reindex(base.index).to_numpy(dtype=np.float64)
            diff, p, lo, hi = paired_test(x, b, test=test, n_resamples=n_resamples, seed=seed)
            family.append({"system": k, "metric": m, "mean": float(x.mean()), "diff": diff, "p_value": p,
                           "p_value_corrected": p, "ci_low": lo, "ci_high": hi})
        ps = np.array([r["p_value"] for r in family])
        if correction is not None and len(ps):
            ok = ~np.isnan(ps)
            adj = ps.copy()
            adj[ok] = holm(ps[ok]) if correction == "holm" else np.minimum(ps[ok] * ok.sum(), 1.0)
            for r, a in zip(family, adj):
                r["p_value_corrected"] = float(a)
        rows += family
    order = {k: i for i, k in enumerate([baseline, *others])}
    table = pd.DataFrame(rows, columns=["system", "metric", "mean", "diff", "p_value", "p_value_corrected",
                                        "ci_low", "ci_high"])
    table["_o"] = table["system"].map(order)
    return table.sort_values(["_o"], kind="stable").drop(columns="_o").reset_index(drop=True)
