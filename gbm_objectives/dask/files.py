"""Training from files on a Dask cluster: the front end of ``gbm-objectives train --dask`` (:mod:`gbm_objectives.cli`).

:func:`connect` opens the client (``local:N`` or a scheduler address), :func:`read_files` reads Parquet/CSV files
as partitions, :func:`train_files` trains through :func:`gbm_objectives.dask.train` and scores the training split
on the cluster (:class:`FilesResult`). The CLI calls them as ``gbm_objectives.dask.connect`` etc. (re-exported by
the package).
"""

from __future__ import annotations

import contextlib

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
from dask import delayed

from ..datasets import LABEL_CANDIDATES
from ..training import NativeObjective, resolve_objective
from . import _sums as P
from ._partitions import joint_blocks, np1, partition_by_query
from .evaluation import GLOBAL_AUC, evaluate
from .training import train

__all__ = ["connect", "parse_local", "read_files", "train_files", "FilesResult"]




@contextlib.contextmanager
def connect(address, verbose=False):
    """A ``distributed.Client`` for ``address``: ``"local:N"`` starts a ``LocalCluster(n_workers=N,
    threads_per_worker=1)`` that is closed on exit; anything else is a scheduler address (the cluster is left
    running, only the client is closed).

    Quiet unless ``verbose`` (``gbm-objectives train --dask ... --verbose``): ``distributed``'s log records and
    the engines' progress lines are dropped in this process while the client is open and, for ``local:N``, in the
    worker processes (:func:`gbm_objectives.adapters._dask_common.local_client`); errors still arrive as
    exceptions. A remote cluster's workers log where they run, not here.
    """
    from ..adapters._dask_common import client_logs, local_client, remote_client

    n = parse_local(address)
    with client_logs(verbose), (remote_client(address) if n is None else local_client(n, verbose)) as client:
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
    but ``group``, read as float32 as :func:`gbm_objectives.datasets.load_table` does.

    Empty files are allowed (their partitions are dropped by :func:`gbm_objectives.dask.train`); Parquet files
    that are all empty are a ``ValueError`` here, from their footers, before any data is read (CSV files: from
    :func:`gbm_objectives.dask.train`, which refuses a training set without rows)."""
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
    if fmt == "parquet" and _parquet_rows(files if len(files) > 1 else files[0]) == 0:
        raise ValueError(f"{path}: no rows (every Parquet file is empty); nothing to train on")
    columns = [str(c) for c in ddf.columns]
    if label is None:
        label = next((c for c in LABEL_CANDIDATES if c in columns), None)
        if label is None:
            raise ValueError(f"{path}: no label column (looked for {', '.join(LABEL_CANDIDATES)}); columns are "
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


def _parquet_rows(source):
    """The row count of Parquet files from their footers (no data read); None when pyarrow cannot tell."""
    try:
        import pyarrow.dataset as pads

        return int(pads.dataset(source, format="parquet").count_rows())
    except (ImportError, ValueError, OSError):
        return None


def _file_format(name):
    low = name.lower().removesuffix(".gz")
    if low.endswith((".parquet", ".pq")):
        return "parquet"
    if low.endswith((".csv", ".tsv")):
        return "csv"
    raise ValueError(f"{name}: --dask reads Parquet (.parquet) or CSV/TSV (.csv, .tsv) files; got {name!r}")


def _part_row_sums(metric, reference, y, raw):
    y = np1(y).astype(np.float64)
    raw = np.asarray(raw.to_numpy() if hasattr(raw, "to_numpy") else raw, dtype=np.float64)
    return P.part_metric_sums(metric, reference, y, raw)


def _frame_layout(q):
    q = np1(q)
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
    through :func:`train`. ``metrics`` (:class:`gbm_objectives.metrics.by_task.Metric`) are computed on the training data
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
    # labels and scores split from ONE frame: read lazily, the label column alone is fused into fewer partitions
    # than the features the scores come from (see _partitions.joint_blocks)
    joint = joint_blocks(y, {"scores": scores})
    yb, sb = (joint[0], joint[1]["scores"]) if joint is not None else (y.to_delayed(), scores.to_delayed())
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
            sums = dask.compute(*[delayed(_part_row_sums)(m, reference, yp, sp) for yp, sp in zip(yb, sb)])
            final[m.name] = P.reduce_metric_sums(m.name, sums)
            computed[m.name] = "cluster: per-partition sums over rows"
    return FilesResult(result, features, data, final, computed)
