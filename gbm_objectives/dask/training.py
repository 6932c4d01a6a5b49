"""Training on a Dask cluster: :func:`train`, its result :class:`DaskTrainResult` and the early stopping scored on
the cluster after training (staged prediction per partition, metric sums reduced).

The core of :mod:`gbm_objectives.dask` (see the package docstring for the partitioning rule and what runs where):
:mod:`gbm_objectives.dask.files` (the CLI's ``train --dask``) and :mod:`gbm_objectives.dask.estimators` train
through :func:`train`. It reads data through :class:`~gbm_objectives.dask._partitions.Data`, computes the init
score and the metrics from :mod:`gbm_objectives.dask._sums` and trains with the Dask adapter of the backend
(``gbm_objectives.adapters.get_backend(name, dask=True)``).
"""

from __future__ import annotations

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
from dask import delayed

from ..adapters import get_backend
from ..adapters._common import numba_threads
from ..training import TrainResult, early_stop_point, plan
from . import _sums as P
from ._partitions import Data, is_dask

__all__ = ["train", "DaskTrainResult"]


class DaskTrainResult(TrainResult):
    """:class:`~gbm_objectives.TrainResult` of a Dask training: predicts Dask collections on the cluster."""

    def predict_raw(self, X):
        """Raw scores including the init score at ``best_iteration``: a Dask array for a Dask Array, a Dask
        Series (DataFrame for multiclass) for a Dask DataFrame, a NumPy array for local data."""
        if not is_dask(X):
            return super().predict_raw(X)
        model = delayed(self.booster, pure=True)
        k = self.objective.n_classes
        args = (model, self.backend, self.init_score, self.best_iteration, k)
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
        if not is_dask(X):
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


def _predict_local(booster, backend, init, best, X, n_classes=None):
    if len(X) == 0:  # an empty partition: no engine call (XGBoost warns on an empty DMatrix)
        return np.zeros((0, n_classes) if n_classes else 0, dtype=np.float64)
    with numba_threads(1):
        return np.asarray(get_backend(backend).predict_raw(booster, X, init, best), dtype=np.float64)


def _predict_block(block, booster, backend, init, best, n_classes=None):
    return _predict_local(booster, backend, init, best, block, n_classes)


def _predict_frame(part, booster, backend, init, best, n_classes=None):
    raw = _predict_local(booster, backend, init, best, part.to_numpy(dtype=np.float64), n_classes)
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
        Empty partitions (zero-length chunks, a filtered DataFrame, empty files) are dropped before training: the
        model is the one of the same data without them. All partitions empty: a ``ValueError`` before training.
    y, sample_weight, qid : Dask Series or Arrays partitioned like ``X``
        ``qid``: one query id per row, every query inside one partition with its rows contiguous
        (:func:`partition_by_query`).
    group : Dask array or sequence, optional
        Query sizes per partition (one chunk, or one array, per partition of ``X``), instead of ``qid``.
    backend : {"lightgbm", "xgboost"}
    params : dict, optional
        Engine parameters over go.train's defaults (``engine_params`` of the backend); those naming features are
        checked against ``X``'s columns before training, as in go.train (:meth:`~gbm_objectives.training.Plan.
        check_features`; the engine gets no column names here, so a constraint naming features by name is refused).
    num_boost_round : int, default 100
    init_score : "auto", float, array of shape (n_classes,) or None
        "auto": ``objective.init_score`` of all the labels, from per-partition sums
        (:func:`gbm_objectives.dask._sums.init_score`), equal to the single-machine value.
    eval_set : sequence of (X, y) Dask pairs; eval_qid : their query ids
    metric : str or list of str, optional
        Names of :mod:`gbm_objectives.metrics.by_task` that are means over rows or queries (the ranking family, ``loss``
        of pointwise objectives, ``logloss``, ``rmse``...). Default: go.train's, except ``ndcg@10`` for ranking
        objectives.
    early_stopping_rounds : int, optional
        See the module docstring (scored on the cluster after training; the model is cut after the stop round).

    Returns
    -------
    DaskTrainResult
    """
    # the ranking objectives' own losses are sums over pairs, not means over rows or queries: NDCG@10 by default
    p = plan(objective, backend=backend, params=params, metric=metric, num_boost_round=num_boost_round,
             early_stopping_rounds=early_stopping_rounds, default_metric={"ranking": "ndcg@10"}, dask=True)
    engine, obj, reference = p.engine, p.objective, p.reference
    if getattr(reference, "scale", None) == "auto":  # MultiQuantileLoss: one scale for every partition
        raise ValueError("multi_quantile on Dask needs a numeric scale: MultiQuantileLoss(alphas, scale=...) "
                         "(e.g. MultiQuantileLoss(alphas).fitted_scale(y_sample).scale); scale='auto' would differ "
                         "between partitions")
    metrics, engine_params, train_objective = p.metrics, p.engine_params, p.train_objective
    num_boost_round, early_stopping_rounds = p.num_boost_round, p.early_stopping_rounds
    if reference.task == "multiclass" and reference.n_classes is None:  # pragma: no cover - registry always sets it
        raise ValueError("a multiclass objective needs n_classes")
    ranking = reference.task == "ranking"
    if not ranking and (qid is not None or group is not None):
        raise ValueError(f"qid/group are for ranking objectives; {reference.name} is a {reference.task} objective")
    if ranking and sample_weight is not None and not engine.RANKING_ROW_WEIGHTS:
        raise ValueError(f"sample_weight with a ranking objective is not supported on the {backend} Dask backend "
                         f"(it weighs whole queries); use backend='lightgbm'")
    train_data = Data(client, X, y, sample_weight=sample_weight, group=group, qid=qid, objective=reference,
                       ranking=ranking)
    p.check_features(train_data.X)  # the engine trains on this unnamed array: constraints by name are refused
    eval_set = list(eval_set or ())
    eval_qid = list(eval_qid or ()) + [None] * (len(eval_set) - len(eval_qid or ()))
    if len(eval_qid) != len(eval_set):
        raise ValueError(f"eval_qid has {len(eval_qid)} entries but eval_set has {len(eval_set)}")
    valid = []
    for i, entry in enumerate(eval_set):
        if not isinstance(entry, (tuple, list)) or len(entry) != 2:
            raise TypeError(f"eval_set[{i}] must be an (X, y) pair")
        valid.append(Data(client, entry[0], entry[1], qid=eval_qid[i], objective=reference,
                           where=f"eval_set[{i}]", ranking=ranking))
        if valid[-1].X.shape[1] != train_data.X.shape[1]:
            raise ValueError(f"eval_set[{i}] X has {valid[-1].X.shape[1]} features (columns) but the training X has "
                             f"{train_data.X.shape[1]}")
    if early_stopping_rounds and not valid:
        raise ValueError("early_stopping_rounds needs an eval_set")
    if ranking:  # the engine's limits on query sizes, from the sizes the partitions reported
        p.check_groups(np.concatenate([np.asarray(sz, dtype=np.int64) for sz in train_data.sizes]))
        for data in valid:
            p.check_groups(np.concatenate([np.asarray(sz, dtype=np.int64) for sz in data.sizes]))
    if valid:  # a metric that is not a mean over rows or queries fails here, before training
        for m in metrics:
            P.check_summable(m, reference)

    init = p.init_score(init_score, lambda: P.init_score(reference, train_data.reduce))
    init_arr = None if init is None else train_data.constant(init)
    queries = {}
    if ranking:  # the one form of the queries the engine trains on: sizes per partition or per-row codes
        queries[engine.QUERY_INPUT] = train_data.queries(engine.QUERY_INPUT)
    booster = engine.train(client, train_objective, train_data.X, train_data.y, params=engine_params,
                           num_boost_round=num_boost_round, sample_weight=train_data.w, init_score=init_arr, **queries)

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
            best, stop = early_stop_point(evals_result["valid_0"][first.name], early_stopping_rounds,
                                          first.higher_is_better)
            booster = engine.truncate(booster, stop)
            evals_result = {k: {m: v[:stop] for m, v in log.items()} for k, log in evals_result.items()}
    return DaskTrainResult(booster, backend, obj, init, best, evals_result, engine_params, metrics)
