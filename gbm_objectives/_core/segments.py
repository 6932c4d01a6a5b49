"""One representation of query groups: int64 offsets (``boundaries``).

``boundaries`` has length ``n_queries + 1``; query ``q`` owns rows ``boundaries[q]:boundaries[q + 1]``. This is
LightGBM's ``query_boundaries_`` and XGBoost's ``group_ptr``. Group sizes (``group``, LightGBM's convention) and
per-row query ids (``qid``, XGBoost's) are both turned into it here, and the ranking objective and the metrics
consume only boundaries, so they cannot disagree on what a query is.

>>> from gbm_objectives._core.segments import boundaries_from_group, boundaries_from_qid
>>> boundaries_from_group([2, 3])
array([0, 2, 5])
>>> boundaries_from_qid([7, 7, 3, 3, 3])
array([0, 2, 5])
"""

from __future__ import annotations

import numpy as np

from .validation import as_numpy, fmt

__all__ = ["check_qid", "boundaries_from_group", "boundaries_from_qid", "resolve_boundaries", "qid_order"]


def boundaries_from_group(group, n_samples=None):
    """Offsets from contiguous group sizes.

    Parameters
    ----------
    group : array-like of int, shape (n_queries,)
        Number of rows in each query, in row order.
    n_samples : int, optional
        When given, the sizes must sum to it.

    Returns
    -------
    boundaries : ndarray of int64, shape (n_queries + 1,)
    """
    g = as_numpy(group, "group")
    if g.ndim != 1:
        raise ValueError(f"group must be 1-D (one size per query); got shape {g.shape}")
    if g.dtype.kind == "f":
        if not np.isfinite(g).all() or (g != np.floor(g)).any():
            i = int(np.flatnonzero(~np.isfinite(g) | (g != np.floor(g)))[0])
            raise ValueError(f"group sizes must be integers; got {fmt(g[i])} at index {i}")
    g = g.astype(np.int64)
    if (g <= 0).any():
        i = int(np.flatnonzero(g <= 0)[0])
        raise ValueError(f"group sizes must be positive; got {g[i]} at index {i}")
    boundaries = np.zeros(len(g) + 1, dtype=np.int64)
    np.cumsum(g, out=boundaries[1:])
    if n_samples is not None and boundaries[-1] != n_samples:
        raise ValueError(f"group sizes sum to {boundaries[-1]} but there are {n_samples} rows")
    return boundaries


def check_qid(qid):
    """Per-row query ids as a 1-D NumPy array: numbers with integer values, or strings (``"q007"``).

    Raises
    ------
    TypeError
        Ids that are neither numbers nor strings (or a mix of strings and other objects, e.g. a missing value).
    ValueError
        Not 1-D; a NaN or infinite id; a number with a fractional part such as ``1.5``: query ids are integers
        (XGBoost's ``qid``, LETOR's ``qid:``), and a fractional id is most often a wrong column, so it is refused
        rather than taken as a label (the row is named).
    """
    q = np.asarray(qid.to_numpy() if hasattr(qid, "to_numpy") else qid)
    if q.ndim != 1:
        raise ValueError(f"qid must be 1-D (one id per row); got shape {q.shape}")
    if q.dtype.kind in "US":
        return q
    if q.dtype == object:
        is_str = np.fromiter((isinstance(v, str) for v in q), dtype=bool, count=len(q))
        if not is_str.all():
            i = int(np.flatnonzero(~is_str)[0])
            raise TypeError(f"qid must hold numbers or strings; got {fmt(q[i])} ({type(q[i]).__name__}) at row {i} "
                            "among strings")
        return q
    q = as_numpy(q, "qid")
    if q.dtype.kind == "f":
        bad = ~np.isfinite(q)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"qid must be finite; got {fmt(q[i])} at row {i}")
        bad = q != np.floor(q)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"qid must hold integer query ids (or strings); got {fmt(q[i])} at row {i}")
    return q


def boundaries_from_qid(qid, n_samples=None):
    """Offsets from per-row query ids (integers or strings, :func:`check_qid`) whose rows are contiguous.

    Raises ValueError naming the row where a query id reappears after another query started.
    """
    q = check_qid(qid)
    if n_samples is not None and len(q) != n_samples:
        raise ValueError(f"qid has {len(q)} rows but there are {n_samples} rows")
    if len(q) == 0:
        return np.zeros(1, dtype=np.int64)
    change = np.flatnonzero(q[1:] != q[:-1]) + 1
    starts = np.concatenate(([0], change))
    ids = q[starts]
    if len(np.unique(ids)) != len(ids):
        _, first = np.unique(ids, return_index=True)
        seen = np.zeros(len(ids), dtype=bool)
        seen[first] = True
        j = int(np.flatnonzero(~seen)[0])
        raise ValueError(
            f"qid must be contiguous (all rows of a query together); query {fmt(ids[j])} reappears at row {starts[j]}"
        )
    return np.concatenate((starts, [len(q)])).astype(np.int64)


def qid_order(qid):
    """A stable permutation that makes ``qid`` contiguous (for metrics, where rows need not be grouped)."""
    q = check_qid(qid)
    return np.argsort(q, kind="stable")


def resolve_boundaries(n_samples, group=None, qid=None, *, required=True):
    """Boundaries from exactly one of ``group`` or ``qid`` (``None`` if neither and not ``required``)."""
    if group is not None and qid is not None:
        raise ValueError("pass exactly one of group (sizes) or qid (per-row ids), not both")
    if group is not None:
        return boundaries_from_group(group, n_samples)
    if qid is not None:
        return boundaries_from_qid(qid, n_samples)
    if required:
        raise ValueError("a ranking objective or metric needs group (query sizes) or qid (per-row query ids)")
    return None
