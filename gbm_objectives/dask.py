"""Our objectives and metrics on a Dask cluster, every query kept whole on one worker (extra ``dask``).

``import gbm_objectives.dask as god``. This is one more front end of :func:`gbm_objectives.train`: the same
objective resolution (:func:`~gbm_objectives.training.resolve_objective`, ``"NAME:native"``), the same engine
defaults (the adapters' ``engine_params``), the same metrics (:mod:`gbm_objectives.scoring`) and the objectives'
own ``prepare`` / ``init_score`` math, computed from per-partition sums (:mod:`gbm_objectives._partitioned`).
The engines' Dask code lives in :mod:`gbm_objectives.adapters.lightgbm_dask` (``lightgbm.dask``) and
:mod:`gbm_objectives.adapters.xgboost_dask` (``xgboost.dask.train``).

**The partitioning rule:** every query's rows sit in one partition, contiguous; :func:`partition_by_query` makes
it so, and :func:`train` checks it (a query split across partitions is a ``ValueError`` naming the query and the
partitions, raised before any training).

**What runs where.** Labels, weights and query ids stay on the workers. The client receives, per partition: the
row count, the query sizes (one integer per query), a label table or a few gradient sums for the init score, and
metric sums. The engines train data-parallel: each worker builds histograms on its own rows and the engine
all-reduces them, while our objective computes gradients on the worker's rows, which are whole queries.

**Early stopping** (``early_stopping_rounds``): neither Dask engine can stop on a metric of ours computed over the
whole evaluation set (``lightgbm.dask`` has no early stopping; XGBoost evaluates custom metrics per worker). So
:func:`train` trains ``num_boost_round`` rounds, then scores every round on the cluster (staged prediction per
partition, metric sums reduced), applies go.train's rule (stop once the first metric on the first evaluation set
has not improved for ``early_stopping_rounds`` rounds; keep the best round) and truncates the model after the stop
round. The result (``best_iteration``, ``evals_result``, the model) is what go.train would give with the same
trees; the price is training the rounds after the stop.

>>> import gbm_objectives.dask as god   # doctest: +SKIP
>>> from distributed import Client, LocalCluster   # doctest: +SKIP
>>> client = Client(LocalCluster(n_workers=2, threads_per_worker=1))   # doctest: +SKIP
>>> ddf = god.partition_by_query(ddf, qid="qid")   # doctest: +SKIP
>>> res = god.train(client, "lambdarank", ddf[features], ddf["label"], qid=ddf["qid"])   # doctest: +SKIP
>>> res.predict_raw(ddf[features]).compute()   # doctest: +SKIP
"""

from __future__ import annotations

import contextlib

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
from dask import delayed

from . import _partitioned as P
from .adapters import get_backend
from .training import (
    NativeObjective,
    TrainResult,
    _check_int,
    numba_threads,
    resolve_init_score,
    resolve_metrics,
    resolve_objective,
)

__all__ = ["partition_by_query", "train", "DaskTrainResult", "evaluate", "DaskGBMClassifier", "DaskGBMRegressor",
           "DaskLambdaMART", "GLOBAL_AUC", "connect", "read_files", "train_files", "FilesResult"]

_DASK_BACKENDS = {"lightgbm": "gbm_objectives.adapters.lightgbm_dask",
                  "xgboost": "gbm_objectives.adapters.xgboost_dask"}


def _dask_backend(name):
    if not isinstance(name, str) or name not in _DASK_BACKENDS:
        raise ValueError(f"backend must be one of {sorted(_DASK_BACKENDS)}; got {name!r}")
    from importlib import import_module

    return import_module(_DASK_BACKENDS[name])


def _is_dask(x):
    return dask.is_dask_collection(x)


# ---- partitions ------------------------------------------------------------------------------------------------
def _blocks(x, name):
    """The row partitions of a Dask DataFrame/Series/Array as a list of delayed objects."""
    if isinstance(x, (dd.DataFrame, dd.Series)):
        return list(x.to_delayed())
    if isinstance(x, da.Array):
        if x.ndim == 2 and x.numblocks[1] != 1:
            x = x.rechunk({1: -1})
        blocks = x.to_delayed()
        return list(blocks[:, 0]) if x.ndim == 2 else list(blocks)
    raise TypeError(f"{name} must be a Dask DataFrame, Series or Array; got {type(x).__name__}")


def _joint_blocks(lead, others):
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


def _np1(part):
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
    y = _np1(y)
    n = len(y)
    ids = sizes = None
    if q is not None:
        q = _np1(q)
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
    if objective is not None:
        try:
            objective.prepare(y, sample_weight=_np1(w), group=sizes)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"partition {i}: {exc}") from None
    return n, ids, sizes


def _np_part(X, y, w, dtype):
    return _np2(X, dtype), _np1(y).astype(np.float64), None if w is None else _np1(w).astype(np.float64)


def _get(t, i):
    return t[i]


def _identity(x):
    return x


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


def _check_queries(layouts, where):
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


class _Data:
    """A data set as row-aligned Dask arrays with known chunks, validated per partition, persisted."""

    def __init__(self, client, X, y, *, sample_weight=None, group=None, qid=None, objective=None, where="training set",
                 ranking=False):
        if _is_dask(X) is False:
            raise TypeError(f"{where}: X must be a Dask DataFrame or Array (local data: use gbm_objectives.train); "
                            f"got {type(X).__name__}")
        if isinstance(X, (dd.DataFrame, da.Array)) is False or getattr(X, "ndim", 2) != 2:
            raise TypeError(f"{where}: X must be a 2-D Dask DataFrame or Array; got {type(X).__name__}")
        joint = _joint_blocks(X, {"y": y, "sample_weight": sample_weight, "qid": qid})
        if joint is not None:
            xb, split = joint
            yb = split["y"]
            wb = split["sample_weight"] or [None] * len(xb)
            qb = split["qid"] or [None] * len(xb)
        else:
            xb = _blocks(X, "X")
            yb = _blocks(y, "y")
            wb = _blocks(sample_weight, "sample_weight") if sample_weight is not None else [None] * len(xb)
            qb = _blocks(qid, "qid") if qid is not None else [None] * len(xb)
        if group is not None and qid is not None:
            raise ValueError(f"{where}: give group or qid, not both")
        if group is not None:
            gb = _blocks(group, "group") if _is_dask(group) else [np.asarray(g) for g in group]
        else:
            gb = [None] * len(xb)
        for name, blocks in (("y", yb), ("sample_weight", wb), ("qid", qb), ("group", gb)):
            if len(blocks) != len(xb):
                raise ValueError(f"{where}: {name} has {len(blocks)} partitions but X has {len(xb)}")
        if ranking and qid is None and group is None:
            raise ValueError(f"{where}: a ranking objective needs qid or group")
        layouts = dask.compute(*[delayed(_part_layout)(i, yb[i], qb[i], gb[i], wb[i], objective)
                                 for i in range(len(xb))])
        _check_queries(layouts, where)
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
        npartitions = _check_int(npartitions, "npartitions", 1)
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
    _check_queries(layouts, "partition_by_query")
    return out


# ---- training ----------------------------------------------------------------------------------------------------
class DaskTrainResult(TrainResult):
    """:class:`~gbm_objectives.TrainResult` of a Dask training: predicts Dask collections on the cluster."""

    def predict_raw(self, X):
        """Raw scores including the init score at ``best_iteration``: a Dask array for a Dask Array, a Dask
        Series (DataFrame for multiclass) for a Dask DataFrame, a NumPy array for local data."""
        if not _is_dask(X):
            return super().predict_raw(X)
        model = delayed(self.booster, pure=True)
        args = (model, self.backend, self.init_score, self.best_iteration)
        k = self.objective.n_classes
        if isinstance(X, dd.DataFrame):
            if k:
                meta = pd.DataFrame({j: np.zeros(0) for j in range(k)})
            else:
                meta = pd.Series(np.zeros(0), dtype=np.float64)
            return X.map_partitions(_predict_frame, *args, meta=meta)
        if isinstance(X, da.Array):
            if X.ndim != 2:
                raise ValueError(f"X must be 2-D; got shape {X.shape}")
            X = X.rechunk({1: -1})
            if k:
                return X.map_blocks(_predict_block, *args, dtype=np.float64, chunks=(X.chunks[0], (k,)))
            return X.map_blocks(_predict_block, *args, dtype=np.float64, drop_axis=1)
        raise TypeError(f"X must be a Dask DataFrame or Array, or local data; got {type(X).__name__}")

    def predict(self, X):
        """Predictions in the task's units (``transform`` of the raw score), on the cluster for Dask input."""
        if not _is_dask(X):
            return super().predict(X)
        raw = self.predict_raw(X)
        fn = self.objective.transform
        if isinstance(raw, da.Array):
            return raw.map_blocks(lambda r: np.asarray(fn(r), dtype=np.float64), dtype=np.float64)
        return raw.map_partitions(lambda r: type(r)(np.asarray(fn(r.to_numpy()), dtype=np.float64), index=r.index,
                                                    **({"columns": r.columns} if hasattr(r, "columns") else {})),
                                  meta=raw._meta)

    def to_local(self):
        """The same model as the :class:`~gbm_objectives.TrainResult` that :func:`gbm_objectives.train` returns."""
        res = TrainResult(self.booster, self.backend, self.objective, self.init_score, self.best_iteration,
                          self.evals_result, self.params)
        res.metrics = list(self.metrics)
        return res


def _predict_local(booster, backend, init, best, X):
    with numba_threads(1):
        return np.asarray(get_backend(backend).predict_raw(booster, X, init, best), dtype=np.float64)


def _predict_block(block, booster, backend, init, best):
    return _predict_local(booster, backend, init, best, block)


def _predict_frame(part, booster, backend, init, best):
    raw = _predict_local(booster, backend, init, best, part.to_numpy(dtype=np.float64))
    if raw.ndim == 2:
        return pd.DataFrame(raw, index=part.index)
    return pd.Series(raw, index=part.index, dtype=np.float64)


def _part_staged_sums(X, y, w, sizes, booster, backend, init, rounds, metrics, reference):
    """``(rounds, n_metrics, 2)`` metric sums of one partition after every round (staged prediction)."""
    engine = get_backend(backend)
    y = np.asarray(y, dtype=np.float64)
    out = np.zeros((rounds, len(metrics), 2))
    if len(y) == 0:
        return out
    with numba_threads(1):
        for i, raw in engine.staged_predict_raw(booster, X, init, range(1, rounds + 1)):
            raw = np.asarray(raw, dtype=np.float64)
            for j, m in enumerate(metrics):
                out[i - 1, j] = P.part_metric_sums(m, reference, y, raw, group=sizes, sample_weight=w)
    return out


def _early_stop(values, rounds, higher_is_better):
    """go.train's rule on a finished log: (best round 1-based, last round kept)."""
    sign = 1.0 if higher_is_better else -1.0
    best, best_i = None, 0
    for i, v in enumerate(values):
        v = sign * v
        if best is None or v > best:
            best, best_i = v, i
        elif i - best_i >= rounds:
            return best_i + 1, i + 1
    return best_i + 1, len(values)


def train(client, objective, X, y, *, backend="lightgbm", group=None, qid=None, sample_weight=None, params=None,
          num_boost_round=100, init_score="auto", eval_set=(), eval_qid=(), metric=None, early_stopping_rounds=None):
    """Train on a Dask cluster with an objective of this package (or ``"NAME:native"``), queries kept whole.

    Parameters
    ----------
    client : distributed.Client
    objective : Objective, str or NativeObjective
        As in :func:`gbm_objectives.train` (multiclass names need ``n_classes``: pass an instance, e.g.
        ``go.SoftmaxCrossEntropy(n_classes=3)``, so the labels need not be scanned for it).
    X : Dask DataFrame or Array of shape (n_samples, n_features)
    y, sample_weight, qid : Dask Series or Arrays partitioned like ``X``
        ``qid``: one query id per row, every query inside one partition with its rows contiguous
        (:func:`partition_by_query`).
    group : Dask array or sequence, optional
        Query sizes per partition (one chunk, or one array, per partition of ``X``), instead of ``qid``.
    backend : {"lightgbm", "xgboost"}
    params : dict, optional
        Engine parameters over go.train's defaults (``engine_params`` of the backend).
    num_boost_round : int, default 100
    init_score : "auto", float, array of shape (n_classes,) or None
        "auto": ``objective.init_score`` of all the labels, from per-partition sums
        (:func:`gbm_objectives._partitioned.init_score`), equal to the single-machine value.
    eval_set : sequence of (X, y) Dask pairs; eval_qid : their query ids
    metric : str or list of str, optional
        Names of :mod:`gbm_objectives.scoring` that are means over rows or queries (the ranking family, ``loss``
        of pointwise objectives, ``logloss``, ``rmse``...). Default: go.train's, except ``ndcg@10`` for ranking
        objectives.
    early_stopping_rounds : int, optional
        See the module docstring (scored on the cluster after training; the model is cut after the stop round).

    Returns
    -------
    DaskTrainResult
    """
    engine = _dask_backend(backend)
    obj = resolve_objective(objective, None)
    native = isinstance(obj, NativeObjective)
    reference = obj.reference if native else obj
    if reference.task == "multiclass" and reference.n_classes is None:  # pragma: no cover - registry always sets it
        raise ValueError("a multiclass objective needs n_classes")
    num_boost_round = _check_int(num_boost_round, "num_boost_round", 1)
    early_stopping_rounds = _check_int(early_stopping_rounds, "early_stopping_rounds", 1, allow_none=True)
    if params is not None and not isinstance(params, dict):
        raise TypeError(f"params must be a dict of engine parameters; got {type(params).__name__}")
    ranking = reference.task == "ranking"
    if not ranking and (qid is not None or group is not None):
        raise ValueError(f"qid/group are for ranking objectives; {reference.name} is a {reference.task} objective")
    if ranking and backend == "xgboost" and sample_weight is not None:
        raise ValueError("sample_weight with a ranking objective is not supported on the XGBoost Dask backend "
                         "(XGBoost weighs whole queries); use backend='lightgbm'")
    train_data = _Data(client, X, y, sample_weight=sample_weight, group=group, qid=qid, objective=reference,
                       ranking=ranking)
    eval_set = list(eval_set or ())
    eval_qid = list(eval_qid or ()) + [None] * (len(eval_set) - len(eval_qid or ()))
    if len(eval_qid) != len(eval_set):
        raise ValueError(f"eval_qid has {len(eval_qid)} entries but eval_set has {len(eval_set)}")
    valid = []
    for i, entry in enumerate(eval_set):
        if not isinstance(entry, (tuple, list)) or len(entry) != 2:
            raise TypeError(f"eval_set[{i}] must be an (X, y) pair")
        valid.append(_Data(client, entry[0], entry[1], qid=eval_qid[i], objective=reference,
                           where=f"eval_set[{i}]", ranking=ranking))
    if early_stopping_rounds and not valid:
        raise ValueError("early_stopping_rounds needs an eval_set")
    metrics = resolve_metrics(metric, reference, native, default="ndcg@10" if ranking and metric is None else None)
    if valid:  # a metric that is not a mean over rows or queries fails here, before training
        for m in metrics:
            P.check_summable(m, reference)

    init = resolve_init_score(init_score, reference, native, lambda: P.init_score(reference, train_data.reduce))

    engine_params = engine.engine_params(params)
    if native:
        native_engine = obj.engine_params(backend)
        engine_params.update({k: v for k, v in native_engine.items() if k != "objective"})
        train_objective = native_engine["objective"]
    else:
        train_objective = reference
        engine_params.pop("objective", None)
    init_arr = None if init is None else train_data.constant(init)
    kwargs = {}
    if ranking:
        kwargs = {"group": train_data.group_array()} if backend == "lightgbm" else {"qid": train_data.qid_codes()}
    booster = engine.train(client, train_objective, train_data.X, train_data.y, params=engine_params,
                           num_boost_round=num_boost_round, sample_weight=train_data.w, init_score=init_arr, **kwargs)

    evals_result, best = {}, None
    if valid:
        rounds = engine.num_rounds(booster)
        model = client.scatter(booster, broadcast=True)
        for i, data in enumerate(valid):
            sums = data.map_parts(_part_staged_sums, model, backend, init, rounds, metrics, reference)
            total = np.sum(sums, axis=0)
            log = {}
            for j, m in enumerate(metrics):
                log[m.name] = [P.reduce_metric_sums(m.name, [total[r, j]]) for r in range(rounds)]
            evals_result[f"valid_{i}"] = log
        if early_stopping_rounds:
            first = metrics[0]
            best, stop = _early_stop(evals_result["valid_0"][first.name], early_stopping_rounds,
                                     first.higher_is_better)
            booster = engine.truncate(booster, stop)
            evals_result = {k: {m: v[:stop] for m, v in log.items()} for k, log in evals_result.items()}
    return DaskTrainResult(booster, backend, obj, init, best, evals_result, engine_params, metrics)


# ---- evaluation --------------------------------------------------------------------------------------------------
def _part_eval(y, s, q, names, opts, w):
    from . import metrics as ranking

    y = _np1(y).astype(np.float64)
    s = _np1(s).astype(np.float64)
    q = _np1(q)
    w = None if w is None else _np1(w).astype(np.float64)
    if len(y) == 0:
        return {name: (0.0, 0.0) for name in names}
    order = np.argsort(q, kind="stable")
    q, y, s = q[order], y[order], s[order]
    w = None if w is None else w[order]
    starts = np.flatnonzero(np.concatenate(([True], q[1:] != q[:-1])))
    sizes = np.diff(np.concatenate((starts, [len(q)])))
    values = ranking.evaluate(y, s, group=sizes, sample_weight=w, metrics=names, reduce=None, **opts)
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
        ``qid`` may be omitted when ``metrics`` is only ``"global_auc"``.
    metrics, convention, **options : as :func:`gbm_objectives.evaluate` (``gain``, ``ties``, ``empty``,
        ``relevance_threshold``), plus ``"global_auc"``

    Returns
    -------
    dict
        metric name -> value.
    """
    from .metrics import parse_metric

    names = [metrics] if isinstance(metrics, str) else list(metrics)
    per_query = [name for name in names if name != GLOBAL_AUC]
    for name in per_query:
        parse_metric(name)
    joint = _joint_blocks(y_true, {"y_score": y_score, "qid": qid, "sample_weight": sample_weight})
    if joint is not None:
        yb, split = joint
        sb, qb, wb = split["y_score"], split["qid"], split["sample_weight"] or [None] * len(yb)
    else:
        yb, sb = _blocks(y_true, "y_true"), _blocks(y_score, "y_score")
        qb = _blocks(qid, "qid") if qid is not None else None
        wb = _blocks(sample_weight, "sample_weight") if sample_weight is not None else [None] * len(yb)
    if qb is None and per_query:
        raise ValueError(f"qid is required for the per-query metrics {per_query} (only {GLOBAL_AUC!r} takes none)")
    for label, blocks in (("y_score", sb), ("qid", qb), ("sample_weight", wb)):
        if blocks is not None and len(blocks) != len(yb):
            raise ValueError(f"{label} has {len(blocks)} partitions but y_true has {len(yb)}")
    out = {}
    if per_query:
        layouts = dask.compute(*[delayed(_part_ids)(q) for q in qb])
        _check_queries([(0, ids, None) for ids in layouts], "evaluate")
        opts = {"convention": convention, **options}
        parts = dask.compute(*[delayed(_part_eval)(y, s, q, per_query, opts, w)
                               for y, s, q, w in zip(yb, sb, qb, wb)])
        out = {name: P.reduce_metric_sums(name, [p[name] for p in parts]) for name in per_query}
    if GLOBAL_AUC in names:
        out[GLOBAL_AUC] = _global_auc(yb, sb, wb, options.get("relevance_threshold", 1))
    return {name: out[name] for name in names}


def _part_ids(q):
    return np.unique(_np1(q))


# ---- exact global AUC on the cluster -------------------------------------------------------------------------------
#: The metric name of :func:`evaluate` for the global (not per-query) ROC AUC.
GLOBAL_AUC = "global_auc"


def _auc_rows(i, y, s, w, threshold):
    """One partition as ``(scores, positive 0/1, weights)``, validated (the row index named is within partition i)."""
    from ._validation import fmt
    from .metrics import _auc_positive

    y = _np1(y).astype(np.float64)
    s = _np1(s).astype(np.float64)
    if len(s) != len(y):
        raise ValueError(f"partition {i}: y_score has {len(s)} rows but y_true has {len(y)}")
    bad = ~np.isfinite(s)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise ValueError(f"partition {i}: y_score must be finite; got {fmt(s[j])} at row {j}")
    try:
        pos = _auc_positive(y, threshold).astype(np.float64)
    except ValueError as exc:
        raise ValueError(f"partition {i}: {exc}") from None
    if w is None:
        w = np.ones(len(y))
    else:
        w = _np1(w).astype(np.float64)
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


def _global_auc(yb, sb, wb, threshold, n_buckets=None, points=64):
    """The exact global ROC AUC of row-aligned partitions, computed on the cluster (see :func:`evaluate`)."""
    rows = dask.persist(*[delayed(_auc_rows)(i, y, s, w, threshold) for i, (y, s, w) in enumerate(zip(yb, sb, wb))])
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




# ---- files: the CLI's front end (gbm-objectives train --dask) ------------------------------------------------------
_LABEL_CANDIDATES = ("label", "y", "target", "relevance")  # as gbm_objectives.datasets.load_table


@contextlib.contextmanager
def connect(address):
    """A ``distributed.Client`` for ``address``: ``"local:N"`` starts a ``LocalCluster(n_workers=N,
    threads_per_worker=1)`` that is closed on exit; anything else is a scheduler address (the cluster is left
    running, only the client is closed)."""
    from distributed import Client, LocalCluster

    n = parse_local(address)
    if n is None:
        with Client(address) as client:
            yield client
        return
    import logging

    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        yield client


def parse_local(address):
    """``N`` for ``"local:N"`` (N >= 1), None for a scheduler address; ValueError naming a bad value."""
    if not isinstance(address, str) or not address.strip():
        raise ValueError(f"--dask: expected a scheduler address or local:N; got {address!r}")
    if not address.startswith("local:"):
        return None
    n = address[len("local:"):]
    if not n.isdigit() or int(n) < 1:
        raise ValueError(f"--dask: local:N needs a positive number of workers; got {address!r}")
    return int(n)


def read_files(path, *, label=None, group=None, blocksize="64MB"):
    """A Dask DataFrame over ``path``: a Parquet folder, a Parquet/CSV/TSV file, or a glob of such files (one or
    more partitions per file). Returns ``(ddf, label, feature_columns)``; features are every other numeric column
    but ``group``, read as float32 as :func:`gbm_objectives.datasets.load_table` does."""
    import glob
    import os

    path = str(path)
    if os.path.isdir(path):
        files, fmt = [path], "parquet"
    else:
        files = sorted(glob.glob(path)) if glob.has_magic(path) else ([path] if os.path.isfile(path) else [])
        if not files:
            raise ValueError(f"no such file, folder or matching files: {path!r}")
        kinds = {_file_format(f) for f in files}
        if len(kinds) != 1:
            raise ValueError(f"{path!r} matches files of several formats ({', '.join(sorted(kinds))}); use one")
        fmt = kinds.pop()
    try:
        if fmt == "parquet":
            ddf = dd.read_parquet(files if len(files) > 1 else files[0])
        else:
            sep = "\t" if files[0].lower().removesuffix(".gz").endswith(".tsv") else ","
            ddf = dd.read_csv(files, sep=sep, blocksize=None if files[0].endswith(".gz") else blocksize)
    except (ValueError, OSError) as exc:
        raise ValueError(f"{path}: cannot read as {fmt}: {str(exc).splitlines()[0]}") from None
    columns = [str(c) for c in ddf.columns]
    if label is None:
        label = next((c for c in _LABEL_CANDIDATES if c in columns), None)
        if label is None:
            raise ValueError(f"{path}: no label column (looked for {', '.join(_LABEL_CANDIDATES)}); columns are "
                             f"{columns}")
    for what, col in (("label", label), ("group", group)):
        if col is not None and col not in columns:
            raise ValueError(f"{path}: missing {what} column {col!r}; columns are {columns}")
    features = [c for c in columns if c not in (label, group)]
    if not features:
        raise ValueError(f"{path}: no feature columns (columns are {columns})")
    for col in features + [label]:
        if not (pd.api.types.is_numeric_dtype(ddf[col].dtype) or pd.api.types.is_bool_dtype(ddf[col].dtype)):
            raise ValueError(f"{path}: column {col!r} is not numeric (dtype {ddf[col].dtype})")
    return ddf, label, features


def _file_format(name):
    low = name.lower().removesuffix(".gz")
    if low.endswith((".parquet", ".pq")):
        return "parquet"
    if low.endswith((".csv", ".tsv")):
        return "csv"
    raise ValueError(f"{name}: --dask reads Parquet (.parquet) or CSV/TSV (.csv, .tsv) files; got {name!r}")


def _part_row_sums(metric, reference, y, raw):
    y = _np1(y).astype(np.float64)
    raw = np.asarray(raw.to_numpy() if hasattr(raw, "to_numpy") else raw, dtype=np.float64)
    return P.part_metric_sums(metric, reference, y, raw)


def _frame_layout(q):
    q = _np1(q)
    return len(q), len(np.unique(q)) if len(q) else 0


class FilesResult:
    """What :func:`train_files` returns: ``result`` (a :class:`DaskTrainResult`), ``feature_names``, ``data``
    (rows, features, queries, partitions, path), ``final`` (the training split's metrics, computed on the cluster;
    None where a metric does not decompose over partitions) and ``computed`` (metric -> where and how)."""

    def __init__(self, result, feature_names, data, final, computed):
        self.result, self.feature_names, self.data, self.final, self.computed = (result, feature_names, data, final,
                                                                                 computed)


def train_files(client, objective, path, *, label=None, group=None, backend="lightgbm", params=None,
                num_boost_round=100, metrics=(), eval_set=(), early_stopping_rounds=None):
    """Train on files read as partitions (:func:`read_files`), then score the training data on the cluster.

    Ranking objectives get query-aligned partitions (:func:`partition_by_query` on ``group``). Training goes
    through :func:`train`. ``metrics`` (:class:`gbm_objectives.scoring.Metric`) are computed on the training data
    on the cluster where they decompose over partitions: the ranking family with :func:`evaluate` (per-query sums),
    ``auc`` of a binary objective as :func:`evaluate`'s exact ``"global_auc"``, means over rows (logloss, rmse...)
    from per-partition sums; the others (``pr_auc``...) are None.

    Parameters
    ----------
    eval_set : sequence of (X, y, group_sizes) local arrays
        Small evaluation sets (one partition each), for ``early_stopping_rounds`` on the first metric.
    Other parameters : as :func:`train`; ``label``/``group`` name the columns.

    Returns
    -------
    FilesResult
    """
    obj = resolve_objective(objective, None)
    reference = obj.reference if isinstance(obj, NativeObjective) else obj
    ranking = reference.task == "ranking"
    ddf, label, features = read_files(path, label=label, group=group)
    if ranking and group is None:
        raise ValueError(f"ranking objective {reference.name!r} needs query ids: name the query column (group)")
    metrics = list(metrics)
    if early_stopping_rounds:
        P.check_summable(metrics[0], reference)
    if ranking:  # persisted: one shuffle, whose partitions every column below shares
        ddf = client.persist(partition_by_query(ddf, qid=group))
    X = ddf[features].astype(np.float32)
    y = ddf[label].astype(np.float64)
    evals, eval_qid = [], []
    for Xv, yv, gv in eval_set:
        evals.append((da.from_array(np.asarray(Xv, dtype=np.float64), chunks=(len(yv), -1)),
                      da.from_array(np.asarray(yv, dtype=np.float64), chunks=len(yv))))
        eval_qid.append(None if gv is None else
                        da.from_array(np.repeat(np.arange(len(gv)), np.asarray(gv, dtype=np.int64)), chunks=len(yv)))
    result = train(client, obj, X, y, backend=backend, qid=ddf[group] if ranking else None, params=params,
                   num_boost_round=num_boost_round, eval_set=evals, eval_qid=eval_qid if ranking else (),
                   metric=metrics[:1] if early_stopping_rounds else None, early_stopping_rounds=early_stopping_rounds)
    scores = result.predict_raw(X)
    counts = dask.compute(*[delayed(_frame_layout)(q) for q in (ddf[group] if ranking else y).to_delayed()])
    data = {"path": str(path), "rows": int(sum(c[0] for c in counts)), "features": len(features),
            "partitions": int(ddf.npartitions)}
    if ranking:
        data["queries"] = int(sum(c[1] for c in counts))
    final, computed = {}, {}
    for m in metrics:
        if m.ranking_name is not None:
            final[m.name] = evaluate(y, scores, qid=ddf[group], metrics=[m.ranking_name], **m.options)[m.ranking_name]
            computed[m.name] = "cluster: god.evaluate, per-partition sums over whole queries"
        elif m.name == "auc" and reference.task == "binary":
            final[m.name] = evaluate(y, scores, metrics=[GLOBAL_AUC])[GLOBAL_AUC]
            computed[m.name] = "cluster: god.evaluate global_auc, exact (score buckets shuffled across partitions)"
        else:
            try:
                P.check_summable(m, reference)
            except ValueError:
                final[m.name] = None
                computed[m.name] = "not computed: does not decompose over partitions"
                continue
            sums = dask.compute(*[delayed(_part_row_sums)(m, reference, yp, sp)
                                  for yp, sp in zip(y.to_delayed(), scores.to_delayed())])
            final[m.name] = P.reduce_metric_sums(m.name, sums)
            computed[m.name] = "cluster: per-partition sums over rows"
    return FilesResult(result, features, data, final, computed)


# ---- estimators --------------------------------------------------------------------------------------------------
def _client():
    from distributed import get_client

    try:
        return get_client()
    except ValueError:
        raise ValueError("no Dask client: create one first (distributed.Client(...)); the Dask estimators train on "
                         "the current client") from None


class _DaskMixin:
    """Fit on Dask collections through :func:`train` (the current ``distributed`` client); predict on the cluster;
    ``to_local()`` gives the scikit-learn estimator of :mod:`gbm_objectives` holding the same model."""

    _local = None

    def _dask_fit(self, X, y, objective, sample_weight=None, eval_set=None, early_stopping_rounds=None, **kw):
        self._check_params()
        result = train(_client(), objective, X, y, backend=self.backend, params=self._engine_params(),
                       num_boost_round=int(self.n_estimators), sample_weight=sample_weight,
                       eval_set=list(eval_set or ()), early_stopping_rounds=early_stopping_rounds, **kw)
        self.objective_ = result.objective
        self.result_ = result
        self.booster_ = result.booster
        self.init_score_ = result.init_score
        self.evals_result_ = result.evals_result
        self.best_iteration_ = result.best_iteration
        self.n_features_in_ = int(X.shape[1]) if not isinstance(X, dd.DataFrame) else len(X.columns)
        return self

    def _raw_predict(self, X):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "booster_")
        return self.result_.predict_raw(X)

    def to_local(self):
        """The fitted local estimator (:class:`gbm_objectives.GBMClassifier` ...), same model, NumPy in and out."""
        local = self._local(**self.get_params())
        for name, value in vars(self).items():
            if name.endswith("_") and not name.startswith("__"):
                setattr(local, name, value)
        local.result_ = self.result_.to_local()
        return local


def _estimators():
    from .estimators import GBMClassifier, GBMRegressor
    from .lambdamart import LambdaMART

    class DaskGBMRegressor(_DaskMixin, GBMRegressor):
        """:class:`gbm_objectives.GBMRegressor` on Dask: ``fit(X, y)`` with Dask collections; ``predict`` returns
        Dask collections. (``leaf_renewal`` is not available on Dask: quantile leaves keep the engine's values.)"""

        _local = GBMRegressor

        def fit(self, X, y, sample_weight=None, eval_set=None, early_stopping_rounds=None):
            obj = get_objective_named(self.objective, self.objective_params)
            if obj.task != "regression":
                raise ValueError(f"objective {obj.name!r} is a {obj.task} objective; DaskGBMRegressor needs a "
                                 "regression one")
            return self._dask_fit(X, y, obj, sample_weight, eval_set, early_stopping_rounds)

        def predict(self, X):
            return self.result_.predict(X) if _is_dask(X) else self.objective_.transform(self._raw_predict(X))

    class DaskGBMClassifier(_DaskMixin, GBMClassifier):
        """:class:`gbm_objectives.GBMClassifier` on Dask. Labels must be the class indices 0..k-1 (the classes are
        read with one ``unique`` on the cluster); ``predict_proba``/``predict`` return Dask arrays."""

        _local = GBMClassifier

        def fit(self, X, y, sample_weight=None, eval_set=None, early_stopping_rounds=None):
            yv = y.to_dask_array(lengths=False) if isinstance(y, dd.Series) else y
            classes = np.sort(np.asarray(da.unique(yv).compute()))
            if len(classes) < 2 or not np.array_equal(classes, np.arange(len(classes))):
                raise ValueError(f"y must hold the class indices 0..k-1 with k >= 2; got classes {classes.tolist()}")
            self.classes_ = classes
            from sklearn.preprocessing import LabelEncoder

            self._le = LabelEncoder().fit(classes)
            obj = self._resolve_objective(len(classes))
            return self._dask_fit(X, y, obj, sample_weight, eval_set, early_stopping_rounds)

        def decision_function(self, X):
            return self._raw_predict(X)

        def predict_proba(self, X):
            if not _is_dask(X):
                return self.to_local().predict_proba(X)
            raw = self._raw_predict(X)
            if isinstance(raw, (dd.Series, dd.DataFrame)):
                raw = raw.to_dask_array(lengths=True)
            fn = self.objective_.transform
            if raw.ndim == 1:
                return raw.map_blocks(lambda r: np.column_stack([1 - fn(r), fn(r)]), new_axis=1,
                                      chunks=(raw.chunks[0], (2,)), dtype=np.float64)
            return raw.map_blocks(lambda r: np.asarray(fn(r)), dtype=np.float64)

        def predict(self, X):
            if not _is_dask(X):
                return self.to_local().predict(X)
            proba = self.predict_proba(X)
            return proba.map_blocks(lambda p: np.argmax(p, axis=1), drop_axis=1, dtype=np.int64)

    class DaskLambdaMART(_DaskMixin, LambdaMART):
        """:class:`gbm_objectives.LambdaMART` on Dask: ``fit(X, y, qid=...)`` with Dask collections partitioned by
        query (:func:`partition_by_query`); ``predict`` returns Dask collections."""

        _local = LambdaMART

        def _engine_params(self):
            return LambdaMART._engine_params(self)

        def _check_params(self):
            return LambdaMART._check_params(self)

        def fit(self, X, y, qid=None, group=None, sample_weight=None, eval_set=None, eval_qid=None,
                early_stopping_rounds=None):
            objective, eval_at = LambdaMART._check_params(self)
            reference = objective.reference if isinstance(objective, NativeObjective) else objective
            metric = self._metrics(reference, eval_at)
            self._dask_fit(X, y, objective, sample_weight, eval_set, early_stopping_rounds, qid=qid, group=group,
                           eval_qid=list(eval_qid or ()), metric=metric)
            self.objective_ = reference
            return self

        def predict(self, X):
            return self._raw_predict(X)

    return DaskGBMClassifier, DaskGBMRegressor, DaskLambdaMART


def get_objective_named(spec, params):
    from .objectives import get_objective

    return get_objective(spec, **dict(params or {}))


DaskGBMClassifier, DaskGBMRegressor, DaskLambdaMART = _estimators()
