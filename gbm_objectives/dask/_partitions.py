"""How a data set sits in Dask partitions: row blocks, query layout checks, and the persisted training data.

The bottom layer of :mod:`gbm_objectives.dask` (no engine, no objective math): :func:`partition_by_query` (public,
re-exported by the package), the per-partition validation of labels and query ids (every query whole and
contiguous in one partition), and :class:`Data`, a data set as row-aligned Dask arrays pinned to workers. Used by
:mod:`gbm_objectives.dask.training` (``Data``), :mod:`gbm_objectives.dask.evaluation` (the block helpers and the
query check), :mod:`gbm_objectives.dask.files` and :mod:`gbm_objectives.dask.estimators`.
"""

from __future__ import annotations

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
from dask import delayed

from ..training import check_int

__all__ = ["is_dask", "row_blocks", "joint_blocks", "np1", "check_queries", "Data", "partition_by_query"]


def is_dask(x):
    """True for a Dask collection (DataFrame, Series, Array...), False for local data."""
    return dask.is_dask_collection(x)


def row_blocks(x, name):
    """The row partitions of a Dask DataFrame/Series/Array as a list of delayed objects."""
    if isinstance(x, (dd.DataFrame, dd.Series)):
        return list(x.to_delayed())
    if isinstance(x, da.Array):
        if x.ndim == 2 and x.numblocks[1] != 1:
            x = x.rechunk({1: -1})
        blocks = x.to_delayed()
        return list(blocks[:, 0]) if x.ndim == 2 else list(blocks)
    raise TypeError(f"{name} must be a Dask DataFrame, Series or Array; got {type(x).__name__}")


def joint_blocks(lead, others):
    """Row blocks of ``lead`` (a Dask DataFrame or Series) and of ``others`` (name -> Series or None), taken from
    ONE frame; ``None`` when they are not all Dask DataFrame/Series (arrays keep their own chunks).

    Columns selected from the same ``dd.read_parquet`` frame are optimised one collection at a time by Dask, which
    fuses the files of a narrow selection (a label column) into fewer partitions than a wide one (the features): the
    blocks of ``X`` and ``y`` would no longer line up. Assigned to one frame, they are read together and split per
    partition. Returns ``(lead_blocks, {name: blocks or None})``.
    """
    given = {k: v for k, v in others.items() if v is not None}
    if not isinstance(lead, (dd.DataFrame, dd.Series)) or not all(isinstance(v, dd.Series) for v in given.values()):
        return None
    tmp = {k: f"__gbm_objectives_{k}" for k in given}
    if isinstance(lead, dd.Series):
        key = "__gbm_objectives_lead"
        frame = lead.to_frame(name=key)
    else:
        key, frame = list(lead.columns), lead
    try:
        frame = frame.assign(**{tmp[k]: v for k, v in given.items()})
    except (ValueError, NotImplementedError, TypeError):  # not co-partitioned: each keeps its own blocks
        return None
    blocks = list(frame.to_delayed())
    split = {k: [delayed(_columns)(b, tmp[k]) for b in blocks] if k in tmp else None for k in others}
    return [delayed(_columns)(b, key) for b in blocks], split


def _columns(part, key):
    return part[key]


def np1(part):
    """One partition (pandas or NumPy) as a flat NumPy array; None stays None."""
    if part is None:
        return None
    return np.asarray(part.to_numpy() if hasattr(part, "to_numpy") else part).reshape(-1)


def _feature_dtype(X):
    """float32 features stay float32 (the engines bin them as they are, in half the memory); others become float64."""
    dtypes = list(X.dtypes) if isinstance(X, dd.DataFrame) else [X.dtype]
    return np.float32 if all(np.dtype(d) == np.float32 for d in dtypes) else np.float64


def _np2(part, dtype=np.float64):
    a = part.to_numpy(dtype=dtype) if hasattr(part, "to_numpy") else np.asarray(part, dtype=dtype)
    return a if a.ndim == 2 else a.reshape(len(a), -1)


def _part_layout(i, y, q, g, w, objective):
    """Validate one partition on its worker: rows, query ids and sizes (runs of equal ids), labels/weights."""
    y = np1(y)
    n = len(y)
    ids = sizes = None
    if q is not None:
        q = np1(q)
        if len(q) != n:
            raise ValueError(f"partition {i}: qid has {len(q)} rows but y has {n}")
        if n:
            starts = np.flatnonzero(np.concatenate(([True], q[1:] != q[:-1])))
            ids = q[starts]
            sizes = np.diff(np.concatenate((starts, [n]))).astype(np.int64)
            uniq, counts = np.unique(ids, return_counts=True)
            if (counts > 1).any():
                bad = uniq[np.argmax(counts > 1)]
                bad = bad.item() if hasattr(bad, "item") else bad
                raise ValueError(f"partition {i}: the rows of query {bad!r} are not contiguous; sort every partition "
                                 f"by qid (god.partition_by_query does)")
        else:
            ids, sizes = q[:0], np.zeros(0, dtype=np.int64)
    elif g is not None:
        sizes = np.asarray(g, dtype=np.int64).reshape(-1)
        if int(sizes.sum()) != n:
            raise ValueError(f"partition {i}: group sizes sum to {int(sizes.sum())} rows but the partition has {n}")
    if objective is not None and n:  # an empty partition has nothing to check (and is dropped, see Data)
        try:
            objective.prepare(y, sample_weight=np1(w), group=sizes)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"partition {i}: {exc}") from None
    return n, ids, sizes


def _np_part(X, y, w, dtype):
    return _np2(X, dtype), np1(y).astype(np.float64), None if w is None else np1(w).astype(np.float64)


def _get(t, i):
    return t[i]


def _codes(offset, sizes):
    return np.repeat(np.arange(offset, offset + len(sizes), dtype=np.int64), sizes)


def _constant(init, n):
    return np.full(n, float(init)) if init.ndim == 0 else np.tile(init, (n, 1))


def _workers(client, timeout=60):
    """The cluster's worker addresses, sorted; waits for a just-started cluster's first worker."""
    def listed():
        try:  # recent distributed lists only a few workers unless asked for all
            info = client.scheduler_info(n_workers=-1)
        except TypeError:
            info = client.scheduler_info()
        return sorted(info["workers"])

    workers = listed()
    if not workers:
        client.wait_for_workers(1, timeout=timeout)
        workers = listed()
    if not workers:
        raise RuntimeError("the Dask cluster has no workers")
    return workers


def check_queries(layouts, where):
    """Every query id in exactly one partition, else a ValueError naming the id and the partitions."""
    ids = [(p, lay[1]) for p, lay in enumerate(layouts) if lay[1] is not None and len(lay[1])]
    if not ids:
        return
    all_ids = np.concatenate([i for _, i in ids])
    parts = np.concatenate([np.full(len(i), p) for p, i in ids])
    order = np.argsort(all_ids, kind="stable")
    sorted_ids = all_ids[order]
    dup = np.flatnonzero(sorted_ids[1:] == sorted_ids[:-1])
    if len(dup):
        bad = sorted_ids[dup[0]]
        bad = bad.item() if hasattr(bad, "item") else bad
        where_parts = sorted(set(parts[order][sorted_ids == bad].tolist()))
        raise ValueError(f"{where}: query {bad!r} spans partitions {where_parts}; every query must sit in one "
                         f"partition (use god.partition_by_query)")


class Data:
    """A data set as row-aligned Dask arrays with known chunks, validated per partition, persisted.

    Empty partitions (zero-length chunks, a filtered DataFrame, an empty Parquet file) are legal in Dask and are
    dropped here, after validation: the engines, the init score and the metrics see the non-empty partitions
    only, in their order, placed on the workers as if the empty ones had never been there, so the result is the
    one of the same data without them. (``lightgbm.dask`` fails on them inside the workers, with a mismatch
    between query counts and rows.) When every partition is empty, a ``ValueError`` naming ``where`` and the
    partition count, raised before anything is sent to the engine.

    Attributes
    ----------
    n_rows : list of int
        Rows of each kept (non-empty) partition.
    """

    def __init__(self, client, X, y, *, sample_weight=None, group=None, qid=None, objective=None, where="training set",
                 ranking=False):
        if is_dask(X) is False:
            raise TypeError(f"{where}: X must be a Dask DataFrame or Array (local data: use gbm_objectives.train); "
                            f"got {type(X).__name__}")
        if isinstance(X, (dd.DataFrame, da.Array)) is False or getattr(X, "ndim", 2) != 2:
            raise TypeError(f"{where}: X must be a 2-D Dask DataFrame or Array; got {type(X).__name__}")
        joint = joint_blocks(X, {"y": y, "sample_weight": sample_weight, "qid": qid})
        if joint is not None:
            xb, split = joint
            yb = split["y"]
            wb = split["sample_weight"] or [None] * len(xb)
            qb = split["qid"] or [None] * len(xb)
        else:
            xb = row_blocks(X, "X")
            yb = row_blocks(y, "y")
            wb = row_blocks(sample_weight, "sample_weight") if sample_weight is not None else [None] * len(xb)
            qb = row_blocks(qid, "qid") if qid is not None else [None] * len(xb)
        if group is not None and qid is not None:
            raise ValueError(f"{where}: give group or qid, not both")
        if group is not None:
            gb = row_blocks(group, "group") if is_dask(group) else [np.asarray(g) for g in group]
        else:
            gb = [None] * len(xb)
        for name, blocks in (("y", yb), ("sample_weight", wb), ("qid", qb), ("group", gb)):
            if len(blocks) != len(xb):
                raise ValueError(f"{where}: {name} has {len(blocks)} partitions but X has {len(xb)}")
        if ranking and qid is None and group is None:
            raise ValueError(f"{where}: a ranking objective needs qid or group")
        layouts = dask.compute(*[delayed(_part_layout)(i, yb[i], qb[i], gb[i], wb[i], objective)
                                 for i in range(len(xb))])
        check_queries(layouts, where)
        keep = [p for p, lay in enumerate(layouts) if int(lay[0]) > 0]
        if not keep:
            raise ValueError(f"{where}: no rows (every one of its {len(layouts)} partition(s) is empty)")
        xb, yb, wb = [xb[p] for p in keep], [yb[p] for p in keep], [wb[p] for p in keep]
        layouts = [layouts[p] for p in keep]
        self.n_rows = [int(lay[0]) for lay in layouts]
        self.sizes = [lay[2] for lay in layouts] if (qid is not None or group is not None) else None
        self.columns = list(X.columns) if isinstance(X, dd.DataFrame) else None
        n_features = len(X.columns) if isinstance(X, dd.DataFrame) else int(X.shape[1])
        # partition p lives on worker (p * n_workers) // n_partitions, the workers sorted by address: blocks of
        # consecutive partitions per worker, the same placement (hence the same engine ranks and the same trees)
        # every time the same data is trained on
        workers = _workers(client)
        self.client = client
        self.worker_of = [workers[(p * len(workers)) // len(xb)] for p in range(len(xb))]
        dtype = _feature_dtype(X)
        futures = [client.compute(delayed(_np_part)(xb[p], yb[p], wb[p], dtype), workers=[self.worker_of[p]],
                                  allow_other_workers=False) for p in range(len(xb))]
        self.X_parts = [self._submit(p, _get, f, 0) for p, f in enumerate(futures)]
        self.y_parts = [self._submit(p, _get, f, 1) for p, f in enumerate(futures)]
        self.w_parts = ([self._submit(p, _get, f, 2) for p, f in enumerate(futures)] if sample_weight is not None
                        else [None] * len(xb))
        del futures
        self.X = self._array(lambda p: self.X_parts[p], (n_features,), dtype=dtype)
        self.y = self._array(lambda p: self.y_parts[p], ())
        self.w = None if sample_weight is None else self._array(lambda p: self.w_parts[p], ())

    def _submit(self, p, fn, *args):
        return self.client.submit(fn, *args, workers=[self.worker_of[p]], allow_other_workers=False, pure=False)

    def _array(self, block, tail, dtype=np.float64):
        return da.concatenate([da.from_delayed(block(p), shape=(n, *tail), dtype=dtype)
                               for p, n in enumerate(self.n_rows)])

    @property
    def npartitions(self):
        return len(self.n_rows)

    def group_array(self):
        """Query sizes as a Dask array with one chunk per partition (lightgbm.dask's ``group``)."""
        sizes = [np.asarray(s, dtype=np.int64) for s in self.sizes]
        return da.from_array(np.concatenate(sizes), chunks=(tuple(len(s) for s in sizes),))

    def qid_codes(self):
        """Per-row query codes increasing over the partitions (whole queries, sorted on every worker)."""
        offsets = np.concatenate(([0], np.cumsum([len(s) for s in self.sizes])))
        futs = [self._submit(p, _codes, offsets[p], s) for p, s in enumerate(self.sizes)]
        return self._array(lambda p: futs[p], (), dtype=np.int64)

    def queries(self, form):
        """The queries in the form an engine's Dask adapter takes (its ``QUERY_INPUT``): ``"group"``
        (:meth:`group_array`) or ``"qid"`` (:meth:`qid_codes`)."""
        if form == "group":
            return self.group_array()
        if form == "qid":
            return self.qid_codes()
        raise ValueError(f"form must be 'group' or 'qid'; got {form!r}")

    def constant(self, init):
        """The init score as a Dask array partitioned like X: (n,) or (n, k)."""
        init = np.asarray(init, dtype=np.float64)
        futs = [self._submit(p, _constant, init, n) for p, n in enumerate(self.n_rows)]
        return self._array(lambda p: futs[p], init.shape)

    def reduce(self, fn):
        """``[fn(y_p, w_p) for every partition p]``, run on the worker of each partition."""
        futs = [self._submit(p, fn, self.y_parts[p], self.w_parts[p]) for p in range(self.npartitions)]
        return self.client.gather(futs)

    def map_parts(self, fn, *args):
        """``[fn(X_p, y_p, w_p, sizes_p, *args) for every partition p]``, run on the worker of each partition."""
        sizes = self.sizes if self.sizes is not None else [None] * self.npartitions
        futs = [self._submit(p, fn, self.X_parts[p], self.y_parts[p], self.w_parts[p], sizes[p], *args)
                for p in range(self.npartitions)]
        return self.client.gather(futs)


def partition_by_query(ddf, qid="qid", npartitions=None):
    """Every query's rows in one partition, contiguous, partitions in increasing ``qid``.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame, or dask.array.Array / tuple of Dask arrays
        A DataFrame holding the query column ``qid``; or Dask arrays (features, labels...) row-aligned with a
        Dask array ``qid``.
    qid : str or dask array, default "qid"
        The query column of ``ddf``, or (with arrays) the per-row query ids.
    npartitions : int, optional
        Number of output partitions (default: as many as the input).

    Returns
    -------
    The DataFrame sorted by ``qid`` (a stable sort: rows of a query keep their order), range-partitioned so equal
    ids share a partition; for arrays, ``(arrays..., qid)`` with matching chunks.

    Raises
    ------
    ValueError
        When the result still has a query in two partitions (named, with the partitions).
    """
    if npartitions is not None:
        npartitions = check_int(npartitions, "npartitions", 1)
    if isinstance(ddf, (da.Array, tuple, list)):
        arrays = [ddf] if isinstance(ddf, da.Array) else list(ddf)
        if not isinstance(qid, da.Array):
            raise TypeError(f"with Dask arrays, qid must be a Dask array of query ids; got {type(qid).__name__}")
        frames = [dd.from_dask_array(qid.rechunk(arrays[0].chunks[0]), columns="__qid__")]
        names = []
        for j, a in enumerate(arrays):
            a = a.rechunk({0: arrays[0].chunks[0], **({1: -1} if a.ndim == 2 else {})})
            cols = [f"__a{j}_{c}" for c in range(a.shape[1])] if a.ndim == 2 else [f"__a{j}"]
            names.append(cols if a.ndim == 2 else cols[0])
            frames.append(dd.from_dask_array(a, columns=cols if a.ndim == 2 else cols[0]))
        frame = dd.concat(frames, axis=1)
        out = partition_by_query(frame, "__qid__", npartitions)
        lengths = tuple(int(n) for n in out.map_partitions(len).compute())
        result = []
        for cols in names:
            part = out[cols]
            result.append(part.to_dask_array(lengths=lengths))
        return (*result, out["__qid__"].to_dask_array(lengths=lengths))
    if not isinstance(ddf, dd.DataFrame):
        raise TypeError(f"ddf must be a Dask DataFrame (or Dask arrays with a qid array); got {type(ddf).__name__}")
    if not isinstance(qid, str) or qid not in ddf.columns:
        raise ValueError(f"qid must name a column of ddf; got {qid!r} (columns: {list(ddf.columns)})")
    out = ddf.sort_values(qid, npartitions=npartitions or ddf.npartitions,
                          sort_function_kwargs={"kind": "mergesort"})
    layouts = dask.compute(*[delayed(_part_layout)(i, b, b, None, None, None)
                             for i, b in enumerate(out[qid].to_delayed())])
    check_queries(layouts, "partition_by_query")
    return out
