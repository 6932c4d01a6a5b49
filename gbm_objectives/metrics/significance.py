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
method (``correction="holm"``), Bonferroni, Benjamini–Hochberg's false discovery rate (``"bh"``), or not at all
(``None``); the values equal ``statsmodels.stats.multitest.multipletests`` (``"holm"``, ``"bonferroni"``,
``"fdr_bh"``).

Beside the tests, each row counts the queries the system wins, loses and ties against the baseline (``d_q > 0``,
``< 0``, ``== 0``; the query ids behind each count are kept) and gives the risk-sensitive measures of Dinçer, Macdonald
& Ounis (2014): with ``d'_q = d_q`` for a win and ``(1 + alpha) d_q`` for a loss, ``URisk = mean(d')`` and
``TRisk = URisk / (sd(d') / sqrt(n))`` (a t-statistic: ``|TRisk| > 2`` is a significant gain or loss).

:func:`compare_all_pairs` compares every pair of systems at once: Tukey's HSD (one-way, equal to
:func:`scipy.stats.tukey_hsd` on the per-query values) or the randomised Tukey test (Carterette 2012: the
per-query values are permuted across systems, and a pair's p-value is the share of permutations whose largest
mean minus smallest mean reaches the pair's difference). :func:`worst_queries` lists the queries a system does
worst on (or loses most on against the baseline) with the relevance labels of its ranking.

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

__all__ = ["compare_runs", "compare_all_pairs", "worst_queries", "holm", "benjamini_hochberg", "correct",
           "paired_test", "risk", "TESTS", "CORRECTIONS", "ALL_PAIRS_TESTS"]

TESTS = ("randomization", "t-test", "bootstrap")
CORRECTIONS = ("holm", "bonferroni", "bh", None)
ALL_PAIRS_TESTS = ("tukey-hsd", "randomized-tukey")
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


def benjamini_hochberg(p_values):
    """Benjamini–Hochberg adjusted p-values (false discovery rate): ``min_{j >= i} p_(j) m / j`` in increasing
    order, capped at 1.

    >>> benjamini_hochberg([0.01, 0.04, 0.03]).round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    p = np.asarray(p_values, dtype=np.float64)
    m = len(p)
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out


def correct(p_values, correction):
    """``p_values`` adjusted by ``correction`` (:data:`CORRECTIONS`); NaN values stay NaN and are not counted."""
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {list(CORRECTIONS)}; got {fmt(correction)}")
    p = np.asarray(p_values, dtype=np.float64)
    out = p.copy()
    ok = ~np.isnan(p)
    if correction is None or not ok.any():
        return out
    if correction == "holm":
        out[ok] = holm(p[ok])
    elif correction == "bh":
        out[ok] = benjamini_hochberg(p[ok])
    else:
        out[ok] = np.minimum(p[ok] * ok.sum(), 1.0)
    return out


def risk(x, baseline, alpha=1.0):
    """``(urisk, trisk)`` of paired per-query values against the baseline (module doc; Dinçer et al. 2014).

    >>> risk([0.5, 0.1], [0.3, 0.2], alpha=1.0)[0]     # (0.2 + 2 * -0.1) / 2
    0.0
    """
    d = np.asarray(x, dtype=np.float64) - np.asarray(baseline, dtype=np.float64)
    dd = np.where(d < 0, (1.0 + alpha) * d, d)
    u = float(dd.mean())
    se = float(dd.std(ddof=1)) / np.sqrt(len(dd)) if len(dd) > 1 else 0.0
    t = u / se if se > 0 else (0.0 if u == 0 else float(np.sign(u)) * np.inf)
    return u, t


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
        # Student's t by the special functions scipy.stats.t itself calls (sf(x) = stdtr(df, -x), ppf = stdtrit):
        # the same numbers, without importing scipy.stats (half a second of a command line's start)
        from scipy.special import stdtr, stdtrit

        sd = float(d.std(ddof=1))
        se = sd / np.sqrt(n)
        if se == 0.0:
            p = np.nan if diff == 0.0 else 0.0
            return diff, p, diff, diff
        t = diff / se
        p = float(2.0 * stdtr(n - 1, -abs(t)))
        h = float(stdtrit(n - 1, 1.0 - alpha / 2)) * se
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
                 seed=0, risk_alpha=1.0):
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
    correction : {"holm", "bonferroni", "bh", None}, default "holm"
        Multiple-comparison correction over the systems compared on one metric (``"bh"``: Benjamini–Hochberg).
    seed : int, default 0
    risk_alpha : float, default 1.0
        The weight of losses in URisk/TRisk (``alpha >= 0``; 0 is the plain mean difference).

    Returns
    -------
    pandas.DataFrame
        One row per (system, metric), the baseline first: ``system``, ``metric``, ``mean``, ``diff`` (mean of
        system minus baseline), ``p_value``, ``p_value_corrected``, ``ci_low``, ``ci_high`` (95% interval of the
        difference), ``wins``, ``losses``, ``ties`` (query counts against the baseline), ``urisk``, ``trisk``,
        and ``win_queries``, ``loss_queries``, ``tie_queries`` (tuples of query ids); ``nan`` p-values, a zero
        interval and 0/0/n counts for the baseline itself.

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
    if (isinstance(risk_alpha, bool) or not isinstance(risk_alpha, numbers.Real) or not np.isfinite(risk_alpha)
            or risk_alpha < 0):
        raise ValueError(f"risk_alpha must be a finite number >= 0; got {fmt(risk_alpha)}")
    per, baseline, metrics = _checked(runs, baseline, metrics)
    names = list(runs)
    base = per[baseline]
    others = [k for k in names if k != baseline]
    rows = []
    qids = np.asarray(base.index)
    empty = ()
    for m in metrics:
        b = base[m].to_numpy(dtype=np.float64)
        rows.append({"system": baseline, "metric": m, "mean": float(b.mean()), "diff": 0.0, "p_value": np.nan,
                     "p_value_corrected": np.nan, "ci_low": 0.0, "ci_high": 0.0, "wins": 0, "losses": 0,
                     "ties": len(b), "urisk": 0.0, "trisk": 0.0, "win_queries": empty, "loss_queries": empty,
                     "tie_queries": tuple(qids.tolist())})
        family = []
        for k in others:
            x = per[k][m].reindex(base.index).to_numpy(dtype=np.float64)
            diff, p, lo, hi = paired_test(x, b, test=test, n_resamples=n_resamples, seed=seed)
            d = x - b
            u, t = risk(x, b, risk_alpha)
            family.append({"system": k, "metric": m, "mean": float(x.mean()), "diff": diff, "p_value": p,
                           "p_value_corrected": p, "ci_low": lo, "ci_high": hi, "wins": int((d > 0).sum()),
                           "losses": int((d < 0).sum()), "ties": int((d == 0).sum()), "urisk": u, "trisk": t,
                           "win_queries": tuple(qids[d > 0].tolist()), "loss_queries": tuple(qids[d < 0].tolist()),
                           "tie_queries": tuple(qids[d == 0].tolist())})
        adj = correct([r["p_value"] for r in family], correction)
        for r, a in zip(family, adj):
            r["p_value_corrected"] = float(a)
        rows += family
    order = {k: i for i, k in enumerate([baseline, *others])}
    table = pd.DataFrame(rows, columns=list(rows[0]))
    table["_o"] = table["system"].map(order)
    return table.sort_values(["_o"], kind="stable").drop(columns="_o").reset_index(drop=True)


def _checked(runs, baseline, metrics):
    """``(per-query DataFrames by system, baseline, metrics)`` after :func:`compare_runs`' checks."""
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
    return per, baseline, list(metrics)


def _tukey_hsd(values, confidence):
    """Tukey's HSD over the columns of ``values`` (queries x systems) taken as independent groups of equal size, as
    :func:`scipy.stats.tukey_hsd` computes it: ``(diff, p, low, high)`` matrices, ``diff[i, j] = mean_i - mean_j``."""
    from scipy import stats

    n, k = values.shape
    means = values.mean(axis=0)
    mse = np.sum(values.var(axis=0, ddof=1) * (n - 1)) / (n * k - k)
    se = np.sqrt(2 / n * mse / 2)
    diff = means[None].T - means
    p = stats.studentized_range.sf(np.abs(diff) / se, k, n * k - k)
    radius = stats.studentized_range.ppf(confidence, k, n * k - k) * se
    return diff, p, diff - radius, diff + radius


def _randomized_tukey(values, n_resamples, rng):
    """p-value matrix of the randomised Tukey test: each permutation shuffles every query's values across the
    systems; ``p[i, j] = (1 + #{max mean - min mean >= |mean_i - mean_j|}) / (1 + n_resamples)``."""
    means = values.mean(axis=0)
    diff = means[None].T - means
    ranges = np.empty(n_resamples)
    step = max(1, _CHUNK // max(values.size, 1))
    for s in range(0, n_resamples, step):
        e = min(s + step, n_resamples)
        for b in range(s, e):
            m = rng.permuted(values, axis=1).mean(axis=0)
            ranges[b] = m.max() - m.min()
    tol = 1e-12 * np.maximum(1.0, np.abs(diff))
    count = (ranges[None, None, :] >= (np.abs(diff) - tol)[:, :, None]).sum(axis=2)
    return diff, (1.0 + count) / (1.0 + n_resamples)


def compare_all_pairs(runs, metrics=None, test="tukey-hsd", n_resamples=10000, seed=0, confidence=0.95):
    """Every pair of systems, per metric, with a multiple-comparison test over all pairs at once (module doc).

    Parameters
    ----------
    runs : dict
        System name -> :func:`gbm_objectives.evaluate_run` result or per-query DataFrame (as :func:`compare_runs`).
    metrics : sequence of str, optional
    test : {"tukey-hsd", "randomized-tukey"}, default "tukey-hsd"
        ``"tukey-hsd"``: Tukey's honestly significant difference, the systems as independent groups (one-way
        ANOVA's mean square error; :func:`scipy.stats.tukey_hsd`). ``"randomized-tukey"``: Carterette's
        randomised Tukey test (paired by query; ``n_resamples`` permutations).
    n_resamples : int, default 10000
    seed : int, default 0
    confidence : float, default 0.95
        Of Tukey HSD's simultaneous intervals (none for the randomised test: NaN).

    Returns
    -------
    pandas.DataFrame
        One row per metric and pair ``(system_a, system_b)`` (``a`` before ``b`` in ``runs``' order): ``metric``,
        ``system_a``, ``system_b``, ``diff`` (mean of a minus mean of b), ``p_value`` (already adjusted for all
        pairs), ``ci_low``, ``ci_high``.

    >>> import pandas as pd
    >>> a = pd.DataFrame({"map": [0.1, 0.2, 0.3, 0.4]})
    >>> t = compare_all_pairs({"A": a, "B": a + 0.05, "C": a + 0.5})
    >>> t[["system_a", "system_b"]].values.tolist()
    [['A', 'B'], ['A', 'C'], ['B', 'C']]
    """
    import pandas as pd

    if test not in ALL_PAIRS_TESTS:
        raise ValueError(f"test must be one of {list(ALL_PAIRS_TESTS)}; got {fmt(test)}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, numbers.Integral) or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer; got {fmt(n_resamples)}")
    if isinstance(confidence, bool) or not isinstance(confidence, numbers.Real) or not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1); got {fmt(confidence)}")
    if not isinstance(runs, dict) or len(runs) < 2:
        raise ValueError(f"runs must be a dict of at least 2 systems; got {type(runs).__name__}")
    per, _, metrics = _checked(runs, None, metrics)
    names = list(runs)
    index = per[names[0]].index
    n = len(index)
    if n < 2:
        raise ValueError(f"all-pairs tests need at least 2 queries; got {n}")
    rows = []
    rng = np.random.default_rng(seed)
    for m in metrics:
        values = np.column_stack([per[k][m].reindex(index).to_numpy(dtype=np.float64) for k in names])
        if test == "tukey-hsd":
            diff, p, lo, hi = _tukey_hsd(values, confidence)
        else:
            diff, p = _randomized_tukey(values, n_resamples, rng)
            lo = hi = np.full_like(diff, np.nan)
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                rows.append({"metric": m, "system_a": names[i], "system_b": names[j], "diff": float(diff[i, j]),
                             "p_value": float(p[i, j]), "ci_low": float(lo[i, j]), "ci_high": float(hi[i, j])})
    return pd.DataFrame(rows, columns=["metric", "system_a", "system_b", "diff", "p_value", "ci_low", "ci_high"])


def worst_queries(runs, metric, k=10, baseline=None, qrels=None, ranked=None, depth=10):
    """The ``k`` worst queries of each system on ``metric``: its lowest values, or, against a ``baseline``, its
    largest losses (most negative ``system - baseline``); ties by query id.

    Parameters
    ----------
    runs : dict
        System name -> :func:`gbm_objectives.evaluate_run` result or per-query DataFrame.
    metric : str
    k : int, default 10
    baseline : str, optional
        When given, the other systems' rows rank their losses against it (the baseline itself is left out).
    qrels, ranked : optional
        The qrels (DataFrame or path) and ``ranked``, a dict system name -> its run (DataFrame or path): then each
        row lists the relevance labels of the system's ``depth`` best-ranked documents for that query
        (trec_eval's order; ``None`` for an unjudged document).
    depth : int, default 10

    Returns
    -------
    pandas.DataFrame
        ``system``, ``qid``, ``value``, ``baseline_value`` and ``diff`` (NaN without a baseline), ``labels``
        (a tuple, or ``None`` without runs), sorted by system (``runs``' order) then badness.

    >>> import pandas as pd
    >>> a = pd.DataFrame({"map": [0.1, 0.5, 0.3]}, index=pd.Index(["q1", "q2", "q3"], name="qid"))
    >>> worst_queries({"A": a}, "map", k=2)[["qid", "value"]].values.tolist()
    [['q1', 0.1], ['q3', 0.3]]
    """
    import pandas as pd

    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k must be a positive integer; got {fmt(k)}")
    if isinstance(depth, bool) or not isinstance(depth, numbers.Integral) or depth < 1:
        raise ValueError(f"depth must be a positive integer; got {fmt(depth)}")
    if not isinstance(runs, dict) or not runs:
        raise ValueError("runs must be a non-empty dict of systems")
    per = {name: _per_query(v, name) for name, v in runs.items()}
    for name, p in per.items():
        if metric not in p.columns:
            raise ValueError(f"system {name!r} has no metric {metric!r}; it has {list(p.columns)}")
    if baseline is not None and baseline not in per:
        raise ValueError(f"baseline {baseline!r} is not one of the systems {list(per)}")
    labels = _ranked_labels(qrels, ranked, depth) if ranked is not None else {}
    rows = []
    for name, p in per.items():
        if name == baseline:
            continue
        v = p[metric].astype(np.float64)
        frame = pd.DataFrame({"qid": v.index.astype(str), "value": v.to_numpy()})
        if baseline is not None:
            b = per[baseline][metric].astype(np.float64).reindex(v.index)
            frame["baseline_value"] = b.to_numpy()
            frame["diff"] = frame["value"] - frame["baseline_value"]
            frame = frame.sort_values(["diff", "qid"], kind="stable")
        else:
            frame["baseline_value"] = np.nan
            frame["diff"] = np.nan
            frame = frame.sort_values(["value", "qid"], kind="stable")
        frame = frame.head(k)
        lab = labels.get(name, {})
        frame["labels"] = [lab.get(q) for q in frame["qid"]] if name in labels else None
        frame.insert(0, "system", name)
        rows.append(frame)
    return pd.concat(rows, ignore_index=True)[["system", "qid", "value", "baseline_value", "diff", "labels"]]


def _ranked_labels(qrels, ranked, depth):
    """System name -> {qid: tuple of the labels of its ``depth`` best documents (None: unjudged)}."""
    from ..datasets.trec import read_qrels, read_run

    if qrels is None:
        raise ValueError("ranked runs need qrels (the labels come from them)")
    if not isinstance(ranked, dict):
        raise TypeError(f"ranked must be a dict of system name -> run; got {type(ranked).__name__}")
    qrels = read_qrels(qrels) if not hasattr(qrels, "columns") else qrels
    judged = {(str(q), str(d)): int(r) for q, d, r in zip(qrels["qid"], qrels["docno"], qrels["relevance"])}
    out = {}
    for name, run in ranked.items():
        run = read_run(run) if not hasattr(run, "columns") else run
        r = run.assign(qid=run["qid"].astype(str), docno=run["docno"].astype(str))
        r = r.sort_values("docno", ascending=False, kind="stable").sort_values(
            ["qid", "score"], ascending=[True, False], kind="stable")
        r = r[r.groupby("qid", sort=False).cumcount() < depth]
        out[name] = {q: tuple(judged.get((q, d)) for d in g["docno"]) for q, g in r.groupby("qid", sort=False)}
    return out
