"""Objective and metric math on data split into partitions: per-partition sums, reduced. No engine, and no Dask in
this module (it was ``gbm_objectives.dask._sums``).

Used by :mod:`gbm_objectives.dask.training` (the init score, the staged metric sums of early stopping),
:mod:`gbm_objectives.dask.evaluation` (per-query sums), :mod:`gbm_objectives.dask.files` (the training split's
metrics) and the CLI's ``--dask`` checks: they run these functions on the workers (``part_*``) and combine their
small results on the client (``reduce_*``, ``solve_*``); any other map/reduce runner could do the same.
``reduce`` below is a callable ``reduce(fn) -> list`` that applies ``fn(y, sample_weight)`` to every partition
and returns the list of results (small arrays), in partition order.

The init score
--------------
The best constant :math:`c^* = \\arg\\min_c \\sum_i w_i \\ell(y_i, c)` depends on the labels only through the
*label table* (each distinct label with its summed weight), which is what :meth:`Objective._init_score` itself
reduces the labels to. So:

1. every partition returns its label table when it has at most :data:`TABLE_CAP` distinct labels (classification,
   graded relevance, rounded targets); the tables are merged (same labels: weights summed) and the objective's own
   ``_init_score`` runs on the merged table: the single-machine computation, to the rounding of the weight sums;
2. continuous labels (a table per partition would be the labels themselves) are solved on the summed gradient:
   :func:`solve_root` is the single-machine bracket-and-Brent solve of :math:`\\sum_p \\sum_{i \\in p} w_i
   \\partial_c \\ell(y_i, c) = 0` with the sum evaluated per partition; the quantile loss, whose gradient is a
   step function, uses :func:`solve_quantile`: a search on the weighted count :math:`F(t) = \\sum_p \\sum_{i \\in p,
   y_i \\le t} w_i` for the smallest label with :math:`F(t) \\ge \\alpha F(\\infty)`
   (:func:`gbm_objectives.objectives.quantile.weighted_quantile`'s definition).

>>> import numpy as np
>>> import gbm_objectives as go
>>> parts = [(np.array([0.0, 1.0, 1.0]), None), (np.array([0.0, 0.0]), None)]
>>> runner = lambda fn: [fn(y, w) for y, w in parts]
>>> init_score(go.LogLoss(), runner) == go.LogLoss().init_score([0, 1, 1, 0, 0])
True
"""

from __future__ import annotations

import numpy as np

from .._core.validation import check_sample_weight
from ..metrics import evaluate
from ..objectives import MultiQuantileLoss, Prepared, QuantileLoss
from ..objectives.base import compress_labels, constant_root

__all__ = ["TABLE_CAP", "init_score", "part_label_table", "solve_root", "solve_quantile", "part_metric_sums",
           "reduce_metric_sums"]

#: Most distinct labels a partition sends back as a table (beyond it the labels count as continuous).
TABLE_CAP = 4096


def part_label_table(objective, y, w, cap=TABLE_CAP):
    """``(values, weights)``, the partition's distinct labels with their summed weights, or None past ``cap``."""
    y = objective._check_y(y)
    w = check_sample_weight(w, len(y))
    if len(y) == 0:
        return np.zeros(0, dtype=y.dtype), np.zeros(0)
    values, weights = compress_labels(y, w)
    if len(values) > max(cap, objective.n_classes or 0):
        return None
    return values, weights


def merge_tables(tables):
    """One label table from several (equal labels: weights summed, in partition order)."""
    values = np.concatenate([v for v, _ in tables])
    weights = np.concatenate([w for _, w in tables])
    merged, inverse = np.unique(values, return_inverse=True)
    return merged, np.bincount(inverse, weights=weights, minlength=len(merged)).astype(np.float64)


def _part_grad_sum(objective, y, w, cs):
    """``[sum_i w_i d/dc loss(y_i, c) for c in cs]`` on one partition (the constant model's summed gradient)."""
    y = objective._check_y(y)
    prepared = Prepared(y, check_sample_weight(w, len(y)))
    out = np.empty(len(cs))
    for j, c in enumerate(cs):
        g, _ = objective.grad_hess_prepared(prepared, np.full(len(y), float(c)))
        out[j] = float(g.sum())
    return out


def solve_root(objective, reduce):
    """The root of the summed gradient of the constant model, bracketed by doubling then Brent's method, as
    :meth:`gbm_objectives.objectives.base.constant_root` (same bracket, same tolerances)."""
    cache = {}

    def total_grad(c):
        if c not in cache:
            cache[c] = float(np.sum(reduce(lambda y, w: _part_grad_sum(objective, y, w, [c])), axis=0)[0])
        return cache[c]

    return constant_root(total_grad, objective.name)


def _part_weight_below(y, w, thresholds):
    """``[sum of w_i over y_i <= t for t in thresholds]`` and the partition's labels just at/after each ``t``."""
    y = np.asarray(y, dtype=np.float64)
    order = np.argsort(y, kind="stable")
    ys = y[order]
    cum = np.concatenate(([0.0], np.cumsum(np.ones(len(y)) if w is None else np.asarray(w, np.float64)[order])))
    idx = np.searchsorted(ys, thresholds, side="right")
    return cum[idx]


def solve_quantile(objective, reduce, points=64):
    """The weighted ``alpha``-quantile of the labels of every partition (``losses.weighted_quantile``'s
    definition: the smallest label whose cumulative weight reaches ``alpha`` of the total).

    A ``points``-ary search on the order of doubles (their int64 bit patterns, monotone for finite values) over
    ``F(t) = sum_p sum_{y_i <= t} w_i``: each step asks every partition for ``F`` at ``points`` thresholds, so
    about ``64 / log2(points)`` round trips. ``F`` only jumps at labels, so the smallest ``t`` with ``F(t) >=
    target`` is a label.
    """
    stats = np.array(reduce(lambda y, w: _part_range(objective, y, w)))
    total = float(stats[:, 2].sum())
    lo_v, hi_v = float(stats[:, 0].min()), float(stats[:, 1].max())
    target = objective.alpha * total

    def key(v):  # doubles -> int64 in increasing order
        b = np.float64(v).view(np.int64)
        return int(b) if b >= 0 else int(-(b & 0x7FFFFFFFFFFFFFFF))

    def value(k):
        k = int(k)
        return float(np.int64(k).view(np.float64)) if k >= 0 else float(np.int64(-k | -0x8000000000000000).view(np.float64))

    lo, hi = key(lo_v) - 1, key(hi_v)  # F(value(lo)) < target <= F(value(hi))
    while hi - lo > 1:
        ks = np.unique(np.linspace(lo, hi, points + 2)[1:-1].astype(np.int64))
        ks = ks[(ks > lo) & (ks < hi)]
        if len(ks) == 0:
            ks = np.array([(lo + hi) // 2])
        ts = np.array([value(k) for k in ks])
        F = np.sum(reduce(lambda y, w, ts=ts: _part_weight_below(y, w, ts)), axis=0)
        reached = F >= target
        if reached.any():
            j = int(np.argmax(reached))
            hi = int(ks[j])
            if j > 0:
                lo = int(ks[j - 1])
        else:
            lo = int(ks[-1])
    return value(hi)


def _part_range(objective, y, w):
    y = objective._check_y(y)
    w = check_sample_weight(w, len(y))
    if len(y) == 0:
        return np.array([np.inf, -np.inf, 0.0])
    return np.array([y.min(), y.max(), float(len(y) if w is None else w.sum())])


def init_score(objective, reduce, cap=TABLE_CAP):
    """``objective.init_score`` of the concatenated labels of every partition, from per-partition results.

    Parameters
    ----------
    objective : Objective
    reduce : callable
        ``reduce(fn) -> [fn(y_p, w_p) for every partition p]`` (run where the partitions live).

    Returns
    -------
    float or ndarray of shape (n_classes,)
    """
    if objective.task == "ranking":  # pairwise objectives: 0 (labels still validated on every partition)
        reduce(lambda y, w: objective.init_score(y, sample_weight=w))
        return objective.init_score(np.zeros(1))
    tables = reduce(lambda y, w: part_label_table(objective, y, w, cap))
    if all(t is not None for t in tables):
        values, weights = merge_tables(tables)
        if len(values) == 0:
            raise ValueError("y_true is empty; init_score needs at least one row")
        if len(values) <= max(cap, objective.n_classes or 0):
            return objective._init_score(values, weights)
    if isinstance(objective, QuantileLoss):
        return solve_quantile(objective, reduce)
    if isinstance(objective, MultiQuantileLoss):  # one weighted quantile per level
        levels = np.array([solve_quantile(QuantileLoss(a), reduce) for a in objective.alphas])
        return levels if len(levels) > 1 else float(levels[0])
    return solve_root(objective, reduce)


# ---- metrics -----------------------------------------------------------------------------------------------------
#: Metrics of :mod:`gbm_objectives.metrics.by_task` that are weighted means over rows (value * weight sums reduce).
_ROW_MEANS = {"logloss", "brier", "mae", "pinball", "coverage", "mlogloss", "accuracy"}


def part_metric_sums(metric, objective, y, raw, group=None, sample_weight=None):
    """``(numerator, denominator)`` of ``metric`` on one partition of whole queries (or rows).

    The metric over all partitions is ``sum(numerators) / sum(denominators)`` (:func:`reduce_metric_sums`):
    ranking metrics are (query-weighted) means over queries, :mod:`gbm_objectives.metrics` ``reduce=None`` giving
    the per-query values; row metrics are weighted means over rows (``rmse`` squared, then the root taken).
    """
    name = metric.name
    if metric.ranking_name is not None:
        y = np.asarray(y, dtype=np.float64)
        opts = dict(metric.options)
        values = evaluate(y, raw, group=group, sample_weight=sample_weight, metrics=[metric.ranking_name],
                                  reduce=None, **opts)[metric.ranking_name]
        return query_sums(values, group, sample_weight)
    check_summable(metric, objective)
    n = len(y)
    w_total = float(n if sample_weight is None else np.sum(np.asarray(sample_weight, dtype=np.float64)))
    if n == 0:
        return 0.0, 0.0
    value = metric(y, raw, group=group, sample_weight=sample_weight)
    if name == "rmse":
        return value * value * w_total, w_total
    return value * w_total, w_total


def check_summable(metric, objective):
    """Raise ValueError unless ``metric`` is a mean over rows or queries (so partitions' sums reduce exactly)."""
    name = metric.name
    if metric.ranking_name is not None or name in _ROW_MEANS or name == "rmse":
        return
    if name.endswith("_loss") and objective.task != "ranking":
        return
    raise ValueError(f"metric {name!r} is not a mean over rows or queries, so it cannot be summed per partition; "
                     f"on Dask use one of {sorted(_ROW_MEANS | {'rmse', 'loss'})} or the ranking family "
                     f"(ndcg@k, mrr, map, p@k, auc per query)")


def query_sums(values, group, sample_weight):
    """``(sum of kept per-query values [times query weight], number [total weight] of kept queries)``: the
    reduction of :func:`gbm_objectives.metrics.evaluate` (queries skipped by the ``empty`` convention are NaN)."""
    values = np.asarray(values, dtype=np.float64)
    keep = ~np.isnan(values)
    if sample_weight is None:
        return float(values[keep].sum()), float(keep.sum())
    w = np.asarray(sample_weight, dtype=np.float64)
    sizes = np.asarray(group, dtype=np.int64)
    if len(w) != len(sizes):
        bounds = np.concatenate(([0], np.cumsum(sizes)))
        w = np.add.reduceat(w, bounds[:-1]) / sizes if len(sizes) else np.zeros(0)
    return float((values[keep] * w[keep]).sum()), float(w[keep].sum())


def reduce_metric_sums(name, sums):
    """The metric from per-partition ``(numerator, denominator)`` pairs (NaN when no row or query counts)."""
    num = float(sum(s[0] for s in sums))
    den = float(sum(s[1] for s in sums))
    if den == 0:
        return float("nan")
    value = num / den
    return float(np.sqrt(value)) if name == "rmse" else value
