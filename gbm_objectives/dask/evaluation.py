"""Metrics of Dask collections computed on the cluster: :func:`evaluate` (the ranking family from per-partition
sums over whole queries) and the exact global ROC AUC (:data:`GLOBAL_AUC`, score buckets shuffled across
partitions).

Re-exported by :mod:`gbm_objectives.dask`; :mod:`gbm_objectives.dask.files` scores the training split of
``gbm-objectives train --dask`` with it.
"""

from __future__ import annotations

import dask
import numpy as np
from dask import delayed

from .._core.validation import fmt
from ..metrics import evaluate as evaluate_local
from ..metrics import parse_metric
from ..metrics._engine import auc_positive
from . import _sums as P
from ._partitions import check_queries, joint_blocks, np1, row_blocks

__all__ = ["evaluate", "GLOBAL_AUC"]


def _part_eval(y, s, q, names, opts, w):
    y = np1(y).astype(np.float64)
    s = np1(s).astype(np.float64)
    q = np1(q)
    w = None if w is None else np1(w).astype(np.float64)
    if len(y) == 0:
        return {name: (0.0, 0.0) for name in names}
    order = np.argsort(q, kind="stable")
    q, y, s = q[order], y[order], s[order]
    w = None if w is None else w[order]
    starts = np.flatnonzero(np.concatenate(([True], q[1:] != q[:-1])))
    sizes = np.diff(np.concatenate((starts, [len(q)])))
    values = evaluate_local(y, s, group=sizes, sample_weight=w, metrics=names, reduce=None, **opts)
    return {name: P.query_sums(values[name], sizes, w) for name in names}


def evaluate(y_true, y_score, *, qid=None, metrics=("ndcg@10", "mrr", "map", "auc"), convention="lightgbm",
             sample_weight=None, **options):
    """:func:`gbm_objectives.evaluate` on Dask collections partitioned by query, from per-partition sums; and the
    exact global ROC AUC (``"global_auc"``), computed on the cluster.

    Each partition computes the per-query values of its (whole) queries and returns their sum and count (or query
    weight); the client adds them up. ``"auc"`` is the per-query AUC averaged over queries with both classes,
    exactly as :func:`gbm_objectives.evaluate`. Equal to ``go.evaluate`` on the concatenated arrays up to the
    order of the final sums.

    ``"global_auc"`` is the ROC AUC over all rows, ignoring queries (:func:`gbm_objectives.auc_score` with
    ``average="global"``, equal to :func:`sklearn.metrics.roc_auc_score`), exact (Mann-Whitney, ties counted 1/2,
    row weights):

    .. math:: \\mathrm{AUC} = \\frac{\\sum_{i \\in P} \\sum_{j \\in N} w_i w_j ([s_i > s_j] + \\tfrac12 [s_i = s_j])}
              {W_P W_N}

    with positives ``y_true >= relevance_threshold`` (default 1, as ``"auc"``). It does not need query-aligned
    partitions (nor ``qid``) and never collects the scores on the client: every partition cuts its rows into score
    buckets at edges chosen from a few score quantiles per partition (a bucket is a function of the score alone,
    so tied scores never straddle two buckets), the buckets are shuffled so that bucket ``b`` gathers its rows
    from every partition, and each bucket returns three numbers, ``(sum over its positives of w_i (W_N(s < s_i) +
    W_N(s = s_i) / 2), W_P, W_N)``; the client adds ``W_P(b) * (negative weight of the buckets below b)`` to each.

    Parameters
    ----------
    y_true, y_score, qid, sample_weight : Dask Series or Arrays with the same partitions
        ``qid`` may be omitted when ``metrics`` is only ``"global_auc"``. Empty partitions (zero-length chunks, a
        filtered DataFrame) are skipped: the values are those of the same data without them.
    metrics, convention, **options : as :func:`gbm_objectives.evaluate` (``gain``, ``ties``, ``empty``,
        ``relevance_threshold``), plus ``"global_auc"``

    Returns
    -------
    dict
        metric name -> value.

    Raises
    ------
    ValueError
        When every partition is empty (as :func:`gbm_objectives.evaluate` refuses an empty ``y_true``), when a
        query spans two partitions, and for the bad values :func:`gbm_objectives.evaluate` refuses.
    """

    names = [metrics] if isinstance(metrics, str) else list(metrics)
    per_query = [name for name in names if name != GLOBAL_AUC]
    for name in per_query:
        parse_metric(name)
    joint = joint_blocks(y_true, {"y_score": y_score, "qid": qid, "sample_weight": sample_weight})
    if joint is not None:
        yb, split = joint
        sb, qb, wb = split["y_score"], split["qid"], split["sample_weight"] or [None] * len(yb)
    else:
        yb, sb = row_blocks(y_true, "y_true"), row_blocks(y_score, "y_score")
        qb = row_blocks(qid, "qid") if qid is not None else None
        wb = row_blocks(sample_weight, "sample_weight") if sample_weight is not None else [None] * len(yb)
    if qb is None and per_query:
        raise ValueError(f"qid is required for the per-query metrics {per_query} (only {GLOBAL_AUC!r} takes none)")
    for label, blocks in (("y_score", sb), ("qid", qb), ("sample_weight", wb)):
        if blocks is not None and len(blocks) != len(yb):
            raise ValueError(f"{label} has {len(blocks)} partitions but y_true has {len(yb)}")
    # one pass over the partitions: their rows (empty ones are dropped, so the result is that of the same data
    # without them) and, for the per-query metrics, their query ids (every query in one partition)
    layouts = dask.compute(*[delayed(_part_ids)(y, None if qb is None or not per_query else qb[i])
                             for i, y in enumerate(yb)])
    keep = [i for i, (n, _) in enumerate(layouts) if n > 0]
    if not keep:
        raise ValueError(f"evaluate: y_true is empty (all {len(yb)} partitions have 0 rows): a metric needs at "
                         f"least one row")
    if per_query:
        check_queries([(0, layouts[i][1], None) for i in keep], "evaluate")
    yb, sb, wb = [yb[i] for i in keep], [sb[i] for i in keep], [wb[i] for i in keep]
    qb = None if qb is None else [qb[i] for i in keep]
    out = {}
    if per_query:
        opts = {"convention": convention, **options}
        parts = dask.compute(*[delayed(_part_eval)(y, s, q, per_query, opts, w)
                               for y, s, q, w in zip(yb, sb, qb, wb)])
        out = {name: P.reduce_metric_sums(name, [p[name] for p in parts]) for name in per_query}
    if GLOBAL_AUC in names:
        out[GLOBAL_AUC] = _global_auc(yb, sb, wb, options.get("relevance_threshold", 1), index=keep)
    return {name: out[name] for name in names}


def _part_ids(y, q):
    """``(rows, distinct query ids or None)`` of one partition."""
    return len(np1(y)), None if q is None else np.unique(np1(q))


# ---- exact global AUC on the cluster -------------------------------------------------------------------------------
#: The metric name of :func:`evaluate` for the global (not per-query) ROC AUC.
GLOBAL_AUC = "global_auc"


def _auc_rows(i, y, s, w, threshold):
    """One partition as ``(scores, positive 0/1, weights)``, validated (the row index named is within partition i)."""

    y = np1(y).astype(np.float64)
    s = np1(s).astype(np.float64)
    if len(s) != len(y):
        raise ValueError(f"partition {i}: y_score has {len(s)} rows but y_true has {len(y)}")
    bad = ~np.isfinite(s)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise ValueError(f"partition {i}: y_score must be finite; got {fmt(s[j])} at row {j}")
    try:
        pos = auc_positive(y, threshold).astype(np.float64)
    except ValueError as exc:
        raise ValueError(f"partition {i}: {exc}") from None
    if w is None:
        w = np.ones(len(y))
    else:
        w = np1(w).astype(np.float64)
        if len(w) != len(y):
            raise ValueError(f"partition {i}: sample_weight has {len(w)} rows but y_true has {len(y)}")
        bad = ~(np.isfinite(w) & (w >= 0))
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise ValueError(f"partition {i}: sample_weight must be finite and non-negative; got {fmt(w[j])} at "
                             f"row {j}")
    return s + 0.0, pos, w  # + 0.0: -0.0 -> 0.0 (equal anyway for searchsorted and sort)


def _auc_sample(rows, points):
    """``points`` score quantiles of one partition (the only scores the client sees: to place bucket edges)."""
    s = rows[0]
    return np.quantile(s, np.linspace(0, 1, points)) if len(s) else np.zeros(0)


def _auc_split(rows, edges):
    """The partition's rows cut into score buckets ``searchsorted(edges, s, "right")``: a bucket is a function of
    the score value alone, so equal scores always land in the same bucket."""
    s, pos, w = rows
    b = np.searchsorted(edges, s, side="right")
    order = np.argsort(b, kind="stable")
    cuts = np.searchsorted(b[order], np.arange(len(edges) + 1), side="left")
    cuts = np.append(cuts, len(s))
    return tuple((s[order[a:c]], pos[order[a:c]], w[order[a:c]]) for a, c in zip(cuts[:-1], cuts[1:]))


def _auc_bucket(pieces):
    """``(sum over positives i of w_i (W_neg(s < s_i) + W_neg(s = s_i) / 2), W_pos, W_neg)`` inside one bucket
    (``pieces``: its rows from every partition)."""
    s = np.concatenate([p[0] for p in pieces])
    pos = np.concatenate([p[1] for p in pieces])
    w = np.concatenate([p[2] for p in pieces])
    if len(s) == 0:
        return 0.0, 0.0, 0.0
    order = np.argsort(s, kind="stable")
    s, wp, wn = s[order], (w * pos)[order], (w * (1.0 - pos))[order]
    starts = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1])))
    wp_u, wn_u = np.add.reduceat(wp, starts), np.add.reduceat(wn, starts)
    below = np.cumsum(wn_u) - wn_u
    return float(np.sum(wp_u * (below + 0.5 * wn_u))), float(wp_u.sum()), float(wn_u.sum())


def _global_auc(yb, sb, wb, threshold, n_buckets=None, points=64, index=None):
    """The exact global ROC AUC of row-aligned partitions, computed on the cluster (see :func:`evaluate`);
    ``index``: the partitions' numbers in the user's collection (for the error messages)."""
    index = range(len(yb)) if index is None else index
    rows = dask.persist(*[delayed(_auc_rows)(i, y, s, w, threshold) for i, y, s, w in zip(index, yb, sb, wb)])
    samples = dask.compute(*[delayed(_auc_sample)(r, points) for r in rows])
    sample = np.concatenate([np.asarray(x, dtype=np.float64) for x in samples])
    n_buckets = n_buckets or max(1, len(rows))
    if len(sample) == 0:
        raise ValueError(f"{GLOBAL_AUC}: y_true is empty")
    edges = np.unique(np.quantile(sample, np.linspace(0, 1, n_buckets + 1)[1:-1]))
    pieces = [delayed(_auc_split, nout=len(edges) + 1)(r, edges) for r in rows]  # the shuffle: bucket j gets
    buckets = dask.compute(*[delayed(_auc_bucket)([p[j] for p in pieces]) for j in range(len(edges) + 1)])  # its rows
    numerator, w_pos, w_neg = 0.0, 0.0, 0.0
    for inner, wp, wn in buckets:  # bucket j's positives beat every negative of the buckets before it
        numerator += inner + wp * w_neg
        w_pos += wp
        w_neg += wn
    if not (w_pos > 0 and w_neg > 0):
        raise ValueError(f"{GLOBAL_AUC} is undefined when y_true has one class only (or one class has zero weight); "
                         f"got positive weight {w_pos:g} and negative weight {w_neg:g}")
    return numerator / (w_pos * w_neg)
