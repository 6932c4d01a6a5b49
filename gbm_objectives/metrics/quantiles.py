r"""Metrics of predicted quantiles (``K`` levels per row): pinball loss, coverage, crossing rate, interval width and
coverage, and the CRPS approximated from the quantiles.

``y_quantiles`` has shape (n_samples, K), column ``k`` the prediction at level ``alphas[k]`` (increasing levels).
Every function takes ``sample_weight`` (a weighted mean over rows).

==========================  ================================================================================
``quantile_pinball_score``  :math:`\frac{1}{K}\sum_k \rho_{\alpha_k}(y - q_k)`, or per level; the convention of
                            :func:`sklearn.metrics.mean_pinball_loss`
``quantile_coverage_score`` per level, the share of rows with :math:`y \le q_k` (ideal: :math:`\alpha_k`)
``crossing_rate_score``     the share of rows with some :math:`q_{k+1} < q_k`
``interval_bounds``         the central ``coverage`` interval, levels :math:`(1 \mp c)/2`, interpolated linearly
                            between the neighbouring levels
``interval_width_score``    mean width of that interval; ``interval_coverage_score`` the share of rows inside it
``crps_score``              :math:`2 \sum_k w_k \rho_{\alpha_k}(y - q_k)`, the quantile decomposition of the
                            CRPS :math:`\int_0^1 2\rho_\tau(y - q_\tau)\,d\tau` with midpoint weights
                            :math:`w_k` (the levels' Voronoi cells in [0, 1])
==========================  ================================================================================

>>> import numpy as np
>>> y = np.array([1.0, 2.0, 3.0]); q = np.array([[0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [2.0, 2.5, 4.0]])
>>> quantile_pinball_score(y, q, (0.1, 0.5, 0.9), per_level=True)    # (0.1 + 0.1 + 0.1) / 3, (0 + 0 + 0.25) / 3, ...
array([0.1       , 0.08333333, 0.1       ])
>>> quantile_coverage_score(y, q)                # share of rows with y <= q_k, per level
array([0.        , 0.66666667, 1.        ])
>>> float(crossing_rate_score(q)), float(interval_width_score(q, (0.1, 0.5, 0.9), coverage=0.8))
(0.0, 2.0)

References
----------
Gneiting and Raftery, "Strictly proper scoring rules, prediction, and estimation", JASA 102 (2007), section 4.2
(CRPS as integrated quantile loss); Laio and Tamea, "Verification tools for probabilistic forecasts of continuous
hydrological variables", HESS 11 (2007) (its quantile approximation).
"""

from __future__ import annotations

import numpy as np

from .._core.validation import check_1d, check_consistent_length, check_interval, check_sample_weight, fmt
from ..objectives.multi_quantile import check_alphas, pinball_matrix

__all__ = ["quantile_pinball_score", "quantile_coverage_score", "crossing_rate_score", "interval_bounds",
           "interval_width_score", "interval_coverage_score", "crps_score", "crps_weights", "level_index"]


def _quantiles(y_quantiles, n=None, alphas=None):
    q = np.asarray(y_quantiles, dtype=np.float64)
    if q.ndim != 2:
        raise ValueError(f"y_quantiles must have shape (n_samples, K); got shape {q.shape}")
    if n is not None:
        check_consistent_length(n, y_quantiles=q)
    if alphas is not None and q.shape[1] != len(alphas):
        raise ValueError(f"y_quantiles has {q.shape[1]} columns but alphas has {len(alphas)} levels")
    if not np.isfinite(q).all():
        i, k = np.argwhere(~np.isfinite(q))[0]
        raise ValueError(f"y_quantiles contains a non-finite value {fmt(q[i, k])} at index ({i}, {k})")
    return q


def _mean(values, sample_weight):
    return np.average(values, axis=0, weights=sample_weight)


def quantile_pinball_score(y_true, y_quantiles, alphas, *, sample_weight=None, per_level=False):
    """Mean pinball loss over rows, averaged over the levels (``per_level=True``: one value per level).

    Equals ``sklearn.metrics.mean_pinball_loss(y_true, y_quantiles[:, k], alpha=alphas[k])`` for each level.
    """
    y = check_1d(y_true, "y_true")
    a = check_alphas(alphas)
    q = _quantiles(y_quantiles, len(y), a)
    per = _mean(pinball_matrix(y, q, a), check_sample_weight(sample_weight, len(y)))
    return per if per_level else float(per.mean())


def quantile_coverage_score(y_true, y_quantiles, *, sample_weight=None):
    """Per level, the (weighted) share of rows with ``y_true <= y_quantiles[:, k]``: shape (K,)."""
    y = check_1d(y_true, "y_true")
    q = _quantiles(y_quantiles, len(y))
    return _mean((y[:, None] <= q).astype(np.float64), check_sample_weight(sample_weight, len(y)))


def crossing_rate_score(y_quantiles, *, sample_weight=None):
    """The (weighted) share of rows whose quantiles cross somewhere (``q_{k+1} < q_k`` for some ``k``)."""
    q = _quantiles(y_quantiles)
    crossed = (np.diff(q, axis=1) < 0).any(axis=1).astype(np.float64)
    return float(_mean(crossed, check_sample_weight(sample_weight, len(q)))) if len(q) else 0.0


def level_index(alphas, alpha, name="alpha"):
    """The index of level ``alpha`` in ``alphas`` (to 1e-9), or a ValueError listing the levels."""
    a = check_alphas(alphas)
    i = _find_level(a, alpha)
    if i is None:
        raise ValueError(f"{name}={alpha!r} is not one of the model's levels {tuple(float(v) for v in a)}")
    return i


def _find_level(a, level):
    hit = np.flatnonzero(np.abs(a - level) <= 1e-9)
    return int(hit[0]) if len(hit) else None


def interval_bounds(y_quantiles, alphas, coverage):
    """``(lower, upper)``, each of shape (n_samples,): the central ``coverage`` interval, levels
    ``(1 - coverage) / 2`` and ``(1 + coverage) / 2``, interpolated linearly between neighbouring levels (exact
    when they are levels of the model).

    Raises
    ------
    ValueError
        When ``coverage`` is outside (0, 1) or its levels lie outside ``[alphas[0], alphas[-1]]``.
    """
    c = check_interval(coverage, "coverage", 0, 1)
    a = check_alphas(alphas)
    q = _quantiles(y_quantiles, alphas=a)
    lo, hi = (1.0 - c) / 2.0, (1.0 + c) / 2.0
    if lo < a[0] - 1e-9 or hi > a[-1] + 1e-9:
        raise ValueError(f"coverage={c!r} needs the levels {lo:g} and {hi:g}, outside the model's "
                         f"[{a[0]:g}, {a[-1]:g}]; choose coverage <= {a[-1] - a[0]:g} for symmetric levels or "
                         f"train wider alphas")
    return _at_level(q, a, lo), _at_level(q, a, hi)


def _at_level(q, a, level):
    i = _find_level(a, level)
    if i is not None:
        return q[:, i].copy()
    j = int(np.searchsorted(a, level))  # a[j - 1] < level < a[j]
    t = (level - a[j - 1]) / (a[j] - a[j - 1])
    return q[:, j - 1] + t * (q[:, j] - q[:, j - 1])


def interval_width_score(y_quantiles, alphas, *, coverage=None, sample_weight=None):
    """Mean width of the central ``coverage`` interval (:func:`interval_bounds`); ``coverage=None``: the outermost
    levels, ``q_K - q_1``."""
    lo, hi = _bounds(y_quantiles, alphas, coverage)
    return float(_mean(hi - lo, check_sample_weight(sample_weight, len(lo))))


def interval_coverage_score(y_true, y_quantiles, alphas, *, coverage=None, sample_weight=None):
    """The (weighted) share of rows with ``lower <= y_true <= upper`` for the central ``coverage`` interval
    (``None``: between the outermost levels)."""
    y = check_1d(y_true, "y_true")
    _quantiles(y_quantiles, len(y))
    lo, hi = _bounds(y_quantiles, alphas, coverage)
    inside = ((lo <= y) & (y <= hi)).astype(np.float64)
    return float(_mean(inside, check_sample_weight(sample_weight, len(y))))


def _bounds(y_quantiles, alphas, coverage):
    if coverage is None:
        q = _quantiles(y_quantiles, alphas=check_alphas(alphas))
        return q[:, 0], q[:, -1]
    return interval_bounds(y_quantiles, alphas, coverage)


def crps_weights(alphas):
    """Midpoint quadrature weights of the levels on [0, 1]: ``w_k = (a_{k+1} - a_{k-1}) / 2`` with ``a_0 = -a_1``
    and ``a_{K+1} = 2 - a_K`` (each level's Voronoi cell), summing to 1.

    >>> crps_weights((0.1, 0.5, 0.9))
    array([0.3, 0.4, 0.3])
    """
    a = check_alphas(alphas)
    edges = np.concatenate(([0.0], (a[1:] + a[:-1]) / 2.0, [1.0]))
    return np.diff(edges)


def crps_score(y_true, y_quantiles, alphas, *, sample_weight=None):
    """The CRPS approximated from the quantiles: ``2 sum_k w_k rho_{a_k}(y - q_k)`` (:func:`crps_weights`), mean
    over rows. For a point forecast at every level it is the absolute error; finer levels approach the CRPS."""
    y = check_1d(y_true, "y_true")
    a = check_alphas(alphas)
    q = _quantiles(y_quantiles, len(y), a)
    per_row = 2.0 * pinball_matrix(y, q, a) @ crps_weights(a)
    return float(_mean(per_row, check_sample_weight(sample_weight, len(y))))
