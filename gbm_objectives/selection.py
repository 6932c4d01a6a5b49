"""Model selection that keeps queries whole: :func:`cv` (query-grouped cross-validation) and :func:`tune`
(metric-aware hyper-parameter search on Optuna).

Both are thin loops over :func:`gbm_objectives.train`: every fold and every trial is one ``go.train`` call, so the
objective (custom or ``"NAME:native"``), the engine defaults, the metrics and early stopping are those of
``go.train`` on both engines.

* :func:`cv` splits by query (a query is never split across folds), trains one model per fold, and returns the
  per-round mean and standard deviation of the validation metrics (as ``lgb.cv``), the out-of-fold raw scores and
  one row of metrics per validation query, ready for :func:`gbm_objectives.compare_runs`.
* :func:`tune` searches engine parameters (and the objective's own, :attr:`Objective.search_space`) with Optuna
  (the optional extra ``gbm_objectives[tune]``), selecting on an ``eval_set`` or on inner query-grouped CV of the
  training rows, in the metric's direction as its registry records it (never guessed from the name), with
  per-round pruning and resumable storage.

>>> import gbm_objectives as go
>>> X, y, qid = go.datasets.make_ranking(n_queries=40, docs_per_query=(5, 15), n_features=8, seed=0)
>>> res = go.cv("lambdarank", X, y, qid=qid, folds=3, num_boost_round=5, metric="ndcg@5", n_jobs=1)
>>> len(res.folds), sorted(res.evals_result["ndcg@5"]), len(res.evals_result["ndcg@5"]["mean"])
(3, ['mean', 'std'], 5)
>>> res.per_query.columns.tolist(), len(res.per_query) == len(set(qid))
(['qid', 'fold', 'ndcg@5'], True)
"""

from __future__ import annotations

import numbers

import numpy as np

from ._core.files import atomic_write_json, jsonable
from ._core.validation import fmt
from .metrics.by_task import evaluate_metrics
from .metrics.names import evaluate
from .training import NativeObjective, check_int, plan, resolve_objective, train

__all__ = ["cv", "CVResult", "fold_rows", "tune", "TuneResult", "default_search_space", "stack_folds",
           "CV_JSON_VERSION",
           "HEARTBEAT_SECONDS"]

#: Version of the layout :meth:`CVResult.to_dict` writes (``cv.json``); bumped when a key changes meaning.
CV_JSON_VERSION = 1


# ---- folds -------------------------------------------------------------------------------------------------------

def _query_codes(n, qid, group):
    """``(codes, ids)``: a query code per row (0..n_queries-1, in order of first appearance) and the id of each
    query (``qid`` values, or the query's index when ``group`` sizes were given; each row its own "query" without
    either)."""
    if qid is not None and group is not None:
        raise ValueError("pass exactly one of group (sizes) or qid (per-row ids), not both")
    if group is not None:
        sizes = np.asarray(group)
        if sizes.ndim != 1 or sizes.dtype.kind not in "iu" or (sizes < 0).any() or int(sizes.sum()) != n:
            raise ValueError(f"group must be non-negative integer query sizes summing to the {n} rows; got "
                             f"{fmt(group)}")
        ids = np.arange(len(sizes))
        return np.repeat(ids, sizes), ids
    if qid is None:
        return np.arange(n), np.arange(n)
    q = np.asarray(qid.to_numpy() if hasattr(qid, "to_numpy") else qid)
    if q.ndim != 1 or len(q) != n:
        raise ValueError(f"qid must hold one query id per row ({n}); got shape {q.shape}")
    ids, first, codes = np.unique(q, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # codes in order of first appearance
    rank = np.empty(len(ids), dtype=np.int64)
    rank[order] = np.arange(len(ids))
    return rank[codes.reshape(-1)], ids[order]


def _as_rows(rows, n, where):
    a = np.asarray(rows)
    if a.dtype == bool:
        if a.shape != (n,):
            raise ValueError(f"{where}: a boolean mask must have one entry per row ({n}); got shape {a.shape}")
        return np.flatnonzero(a)
    if a.ndim != 1 or (a.size and a.dtype.kind not in "iu"):
        raise TypeError(f"{where} must be a 1-D array of row indices (or a boolean mask); got {fmt(rows)}")
    a = a.astype(np.int64)
    if a.size and (a.min() < 0 or a.max() >= n):
        bad = a[(a < 0) | (a >= n)][0]
        raise ValueError(f"{where}: row index {int(bad)} is outside 0..{n - 1}")
    if len(np.unique(a)) != len(a):
        raise ValueError(f"{where}: a row index is listed twice")
    return a


def fold_rows(folds, n, *, qid=None, group=None, seed=0, X=None, y=None):
    """The ``(train_rows, valid_rows)`` pairs of :func:`cv`'s ``folds`` argument, every query kept whole.

    Parameters
    ----------
    folds : int, splitter or sequence of (train_rows, valid_rows)
        An int K >= 2: the queries shuffled with ``seed`` and dealt into K folds of (nearly) equal query counts;
        a scikit-learn splitter with ``split(X, y, groups)`` (``GroupKFold``, ``GroupShuffleSplit``...), given the
        query of every row as ``groups``; or explicit pairs of row indices (or boolean masks).
    n : int
        Number of rows.
    qid, group : array-like, optional
        Per-row query ids or query sizes (rows are the units without either).
    seed : int

    Returns
    -------
    list of (ndarray, ndarray)
        Sorted row indices of K-fold and splitter folds (rows keep their order, so contiguous queries stay
        contiguous); explicit folds as given.

    Raises
    ------
    ValueError
        A query split across the two sides of a fold, or only partly in a side (the query id is named); fewer
        than 2 folds or more folds than queries; a fold with an empty side.

    >>> fold_rows(2, 6, qid=[1, 1, 2, 2, 3, 3], seed=0)[0]
    (array([0, 1]), array([2, 3, 4, 5]))
    >>> fold_rows([([0, 1, 2], [3, 4, 5])], 6, qid=[1, 1, 2, 2, 3, 3])
    Traceback (most recent call last):
    ...
    ValueError: folds[0]: query 2 is split: 1 of its 2 rows in the training rows, 1 in the validation rows
    """
    codes, ids = _query_codes(n, qid, group)
    n_queries = len(ids)
    if isinstance(folds, (numbers.Integral, np.integer)) and not isinstance(folds, bool):
        k = int(folds)
        if k < 2 or k > n_queries:
            raise ValueError(f"folds must be between 2 and the number of queries ({n_queries}); got {k}")
        perm = np.random.RandomState(seed).permutation(n_queries)
        fold_of_query = np.empty(n_queries, dtype=np.int64)
        for i, part in enumerate(np.array_split(perm, k)):
            fold_of_query[part] = i
        fold_of_row = fold_of_query[codes]
        pairs = [(np.flatnonzero(fold_of_row != i), np.flatnonzero(fold_of_row == i)) for i in range(k)]
    elif hasattr(folds, "split") and callable(folds.split):
        Xs = np.zeros((n, 1)) if X is None else X
        pairs = [(np.sort(np.asarray(tr)), np.sort(np.asarray(va))) for tr, va in folds.split(Xs, y, groups=codes)]
    elif isinstance(folds, (list, tuple)):
        pairs = []
        for i, entry in enumerate(folds):
            if not isinstance(entry, (list, tuple)) or len(entry) != 2:
                raise TypeError(f"folds[{i}] must be a (train_rows, valid_rows) pair; got {type(entry).__name__}")
            pairs.append((_as_rows(entry[0], n, f"folds[{i}] train_rows"),
                          _as_rows(entry[1], n, f"folds[{i}] valid_rows")))
    else:
        raise TypeError(f"folds must be an int, a scikit-learn splitter taking groups, or a list of (train_rows, "
                        f"valid_rows) pairs; got {type(folds).__name__}")
    if not pairs:
        raise ValueError("folds gave no fold")
    size = np.bincount(codes, minlength=n_queries)
    for i, (tr, va) in enumerate(pairs):
        if len(tr) == 0 or len(va) == 0:
            raise ValueError(f"folds[{i}] has no {'training' if len(tr) == 0 else 'validation'} rows")
        in_tr = np.bincount(codes[tr], minlength=n_queries)
        in_va = np.bincount(codes[va], minlength=n_queries)
        bad = np.flatnonzero(((in_tr > 0) & (in_va > 0)) | ((in_tr > 0) & (in_tr < size))
                             | ((in_va > 0) & (in_va < size)))
        if bad.size:
            j = int(bad[0])
            raise ValueError(f"folds[{i}]: query {fmt(ids[j])} is split: {int(in_tr[j])} of its {int(size[j])} rows "
                             f"in the training rows, {int(in_va[j])} in the validation rows")
    return pairs


def stack_folds(parts):
    """Predefined folds stored as files (LETOR's ``Fold1/`` ... ``Fold5/``) as one data set and :func:`cv` folds.

    Parameters
    ----------
    parts : sequence of ((X_train, y_train, qid_train), (X_valid, y_valid, qid_valid))
        Each fold's training and validation rows as loaded (dense arrays). Every query must be in exactly one
        validation part (the validation parts partition the data, as LETOR's test files do), and a query of a
        training part must hold the same rows, in the same order, as in the validation part that holds it.

    Returns
    -------
    X, y, qid : ndarrays
        The validation parts stacked in fold order.
    folds : list of (ndarray, ndarray)
        Row indices into them: each training part in its own row order (so training on ``X[train_rows]`` sees
        the file's rows in the file's order), each validation part as stacked.

    Raises
    ------
    ValueError
        A query in two validation parts, a training query in no validation part, or one whose rows differ
        (named with its fold).
    """
    Xs, ys, qs, starts = [], [], [], [0]
    for _, (Xv, yv, qv) in parts:
        Xs.append(np.asarray(Xv))
        ys.append(np.asarray(yv, dtype=np.float64))
        qs.append(np.asarray(qv))
        starts.append(starts[-1] + len(yv))
    X, y, qid = np.concatenate(Xs), np.concatenate(ys), np.concatenate(qs)
    codes, ids = _query_codes(len(y), qid, None)
    first = np.full(len(ids), -1, dtype=np.int64)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(ids) + 1))
    lookup = {key: j for j, key in enumerate(ids.tolist())}
    for i in range(len(parts)):
        for j in np.unique(codes[starts[i]:starts[i + 1]]):
            if first[j] >= 0:
                raise ValueError(f"query {fmt(ids[j])} is in the validation parts of folds {first[j] + 1} and {i + 1}")
            first[j] = i
    folds = []
    for i, ((Xt, yt, qt), _) in enumerate(parts):
        Xt, yt, qt = np.asarray(Xt), np.asarray(yt, dtype=np.float64), np.asarray(qt)
        change = np.concatenate(([0], np.flatnonzero(qt[1:] != qt[:-1]) + 1, [len(qt)]))
        rows = []
        for a, b in zip(change[:-1], change[1:]):
            j = lookup.get(qt[a].item())
            if j is None:
                raise ValueError(f"fold {i + 1}: training query {fmt(qt[a])} is in no validation part")
            mine = order[bounds[j]:bounds[j + 1]]
            if len(mine) != b - a or not (np.array_equal(X[mine], Xt[a:b]) and np.array_equal(y[mine], yt[a:b])):
                raise ValueError(f"fold {i + 1}: the training rows of query {fmt(qt[a])} differ from its rows in "
                                 f"the validation part of fold {first[j] + 1}")
            rows.append(mine)
        folds.append((np.concatenate(rows) if rows else np.zeros(0, np.int64),
                      np.arange(starts[i], starts[i + 1])))
    return X, y, qid, folds


def _take(a, rows):
    if a is None:
        return None
    if hasattr(a, "iloc"):
        return a.iloc[rows]
    return np.asarray(a)[rows] if not hasattr(a, "tocsr") else a[rows]


def _take_X(X, rows):
    return X.iloc[rows] if hasattr(X, "iloc") else X[rows]


# ---- cv ----------------------------------------------------------------------------------------------------------

class CVResult:
    """What :func:`cv` returns.

    Attributes
    ----------
    folds : list of TrainResult
        One per fold; each fold's own best round in ``folds[i].best_iteration``.
    evals_result : dict
        ``{metric: {"mean": [...], "std": [...]}}``: per round, the mean and (population) standard deviation over
        folds of the validation metric, as ``lgb.cv``; with early stopping the curves run to the shortest fold's.
    best_iteration : int
        1-based round of the best mean (first metric, its own direction); the last round without early stopping.
    oof_score : ndarray of shape (n_samples,) or (n_samples, n_classes)
        Out-of-fold raw score of every validation row (NaN for a row in no validation part), each fold's model at
        its own best round.
    per_query : pandas.DataFrame or None
        One row per validation query: ``qid``, ``fold`` (0-based) and one column per ranking metric, from the
        out-of-fold scores (:func:`gbm_objectives.compare_runs` reads it); None for objectives other than ranking.
    mean, std : dict
        ``{metric: mean (std) over folds}`` of each fold's score at its best round (its last without early
        stopping).
    scores : dict
        ``{metric: [score of each fold]}``, computed from the fold's out-of-fold scores in full precision (XGBoost
        logs metric curves to 6 decimals, so ``evals_result`` may differ from them in the 7th).
    metrics : list of str
        Metric names; the first drives early stopping and ``best_iteration``.
    higher_is_better : dict
        ``{metric: direction}``, from the metric registry.
    fold_rows : list of (ndarray, ndarray)
    """

    def __init__(self, folds, fold_rows, metrics, higher_is_better, oof_score, per_query, scores):
        self.folds = folds
        self.fold_rows = fold_rows
        self.metrics = list(metrics)
        self.higher_is_better = dict(higher_is_better)
        self.oof_score = oof_score
        self.per_query = per_query
        self.scores = {m: [float(s[m]) for s in scores] for m in self.metrics}
        curves = {m: [res.evals_result["valid_0"][m] for res in folds] for m in self.metrics}
        length = min(len(c) for c in curves[self.metrics[0]])
        self.evals_result = {}
        for m in self.metrics:
            a = np.asarray([c[:length] for c in curves[m]], dtype=np.float64)
            self.evals_result[m] = {"mean": a.mean(axis=0).tolist(), "std": a.std(axis=0).tolist()}
        first = np.asarray(self.evals_result[self.metrics[0]]["mean"])
        sign = 1.0 if self.higher_is_better[self.metrics[0]] else -1.0
        self.best_iteration = int(np.argmax(sign * first)) + 1
        self.mean = {m: float(np.mean(v)) for m, v in self.scores.items()}
        self.std = {m: float(np.std(v)) for m, v in self.scores.items()}

    def best_score(self, metric=None):
        """The mean curve of ``metric`` (default the first) at :attr:`best_iteration`."""
        metric = self.metrics[0] if metric is None else metric
        return self.evals_result[metric]["mean"][self.best_iteration - 1]

    def table(self):
        """The per-fold table as text (what ``gbm-objectives cv`` prints): one line per fold (its rows, its own best
        round, its scores), then ``mean ± std`` over folds with :attr:`best_iteration`, the mean curve's best round."""
        head = ["fold", "train rows", "valid rows", "best round"] + self.metrics
        rows = []
        for i, (res, (tr, va)) in enumerate(zip(self.folds, self.fold_rows)):
            rows.append([str(i + 1), str(len(tr)), str(len(va)), str(res.best_iteration or "-")]
                        + [f"{self.scores[m][i]:.4f}" for m in self.metrics])
        rows.append(["mean ± std", "", "", str(self.best_iteration)]
                    + [f"{self.mean[m]:.4f} ± {self.std[m]:.4f}" for m in self.metrics])
        widths = [max(len(r[j]) for r in [head] + rows) for j in range(len(head))]
        return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in [head] + rows)

    def to_dict(self):
        """The JSON layout of ``cv.json`` (version :data:`CV_JSON_VERSION`)::

            {"version": 1, "backend": str, "objective": str, "metrics": [str, ...],
             "higher_is_better": {metric: bool},
             "best_iteration": int,                       # 1-based, of the mean curve of metrics[0]
             "mean": {metric: float}, "std": {metric: float},   # over folds, each fold at its best round
             "evals_result": {metric: {"mean": [float per round], "std": [float per round]}},
             "folds": [{"fold": int (1-based), "train_rows": int, "valid_rows": int, "valid_queries": int,
                        "best_iteration": int or null, "num_rounds": int, "scores": {metric: float}}, ...]}
        """
        folds = []
        for i, (res, (tr, va)) in enumerate(zip(self.folds, self.fold_rows)):
            n_q = None if self.per_query is None else int((self.per_query["fold"] == i).sum())
            folds.append({"fold": i + 1, "train_rows": int(len(tr)), "valid_rows": int(len(va)),
                          "valid_queries": n_q, "best_iteration": res.best_iteration,
                          "num_rounds": len(res.evals_result["valid_0"][self.metrics[0]]),
                          "scores": {m: self.scores[m][i] for m in self.metrics}})
        first = self.folds[0]
        return jsonable({"version": CV_JSON_VERSION, "backend": first.backend, "objective": first.objective.name,
                         "metrics": self.metrics, "higher_is_better": self.higher_is_better,
                         "best_iteration": self.best_iteration, "mean": self.mean, "std": self.std,
                         "evals_result": self.evals_result, "folds": folds})

    def save_json(self, path):
        """Write :meth:`to_dict` to ``path`` atomically."""
        atomic_write_json(path, self.to_dict())

    def __repr__(self):
        means = ", ".join(f"{m}={self.mean[m]:.4f}±{self.std[m]:.4f}" for m in self.metrics)
        return f"CVResult({len(self.folds)} folds, {means}, best_iteration={self.best_iteration})"


def _per_row_weight(sample_weight, n, codes, n_queries):
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.ndim == 1 and len(w) == n_queries != n:  # one weight per query
        return w[codes]
    if w.shape != (n,):
        raise ValueError(f"sample_weight must have one weight per row ({n}) or per query ({n_queries}); got shape "
                         f"{w.shape}")
    return w


def cv(objective, X, y, *, qid=None, group=None, folds=5, backend="lightgbm", params=None, num_boost_round=100,
       metric=None, early_stopping_rounds=None, sample_weight=None, seed=0, n_jobs=None, progress=False,
       on_round=None):
    """Cross-validate a training configuration with folds that keep every query whole.

    Each fold is one :func:`gbm_objectives.train` call on the fold's training rows with its validation rows as the
    ``eval_set``; nothing else trains.

    Parameters
    ----------
    objective : Objective, str or NativeObjective
        As in :func:`gbm_objectives.train` (``"NAME:native"`` included); resolved once on all labels.
    X : array-like or DataFrame of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    qid, group : array-like, optional
        Per-row query ids or query sizes (required by ranking objectives). Rows of a query need not be
        contiguous in ``X`` for the split, but must be within each fold for the engines (K-fold and splitter
        folds keep the rows' order).
    folds : int, scikit-learn splitter or sequence of (train_rows, valid_rows), default 5
        See :func:`fold_rows`: query-grouped K-fold shuffled with ``seed``; a splitter taking ``groups``
        (``GroupKFold``, ``GroupShuffleSplit``); or explicit row indices. A query split by explicit folds is a
        ValueError naming it.
    backend, params, num_boost_round, metric, early_stopping_rounds, n_jobs
        As in :func:`gbm_objectives.train`, for every fold; early stopping watches each fold's validation rows.
    sample_weight : array-like, optional
        One weight per row (or per query for ranking objectives).
    seed : int, default 0
        Shuffles the queries of an int ``folds``.
    progress : bool, default False
        A progress bar over folds on stderr.
    on_round : callable, optional
        ``on_round(fold, round, scores)`` after every round of every fold (0-based fold, 1-based round, that
        round's validation metrics ``{metric: value}``); an exception raised there stops the run.

    Returns
    -------
    CVResult

    Notes
    -----
    The mean curve of :attr:`CVResult.evals_result` at round :math:`t` is
    :math:`\\bar m_t = \\frac{1}{K}\\sum_{k=1}^K m_{k,t}` with standard deviation
    :math:`\\sqrt{\\frac{1}{K}\\sum_k (m_{k,t} - \\bar m_t)^2}` (``numpy.std``, as ``lgb.cv``).
    """
    n = int(X.shape[0])
    codes, ids = _query_codes(n, qid, group)
    pairs = fold_rows(folds, n, qid=qid, group=group, seed=seed, X=X, y=y)
    obj = resolve_objective(objective, y)
    p = plan(obj, backend=backend, params=params, metric=metric, num_boost_round=num_boost_round,
             early_stopping_rounds=early_stopping_rounds, n_jobs=n_jobs)  # every refusal before the first fold
    p.check_features(X)
    if on_round is not None and not callable(on_round):
        raise TypeError(f"on_round must be a callable f(fold, round, scores); got {on_round!r:.80}")
    ranking = p.reference.task == "ranking"
    w = _per_row_weight(sample_weight, n, codes, len(ids))
    q_rows = None if qid is None and group is None else (np.asarray(ids)[codes] if qid is None else
                                                         np.asarray(qid.to_numpy() if hasattr(qid, "to_numpy")
                                                                    else qid))
    y_all = np.asarray(y)
    results, oof, scores = [], None, []
    per_query = []
    bar = None
    if progress:
        from ._core.progress import Progress

        bar = Progress(len(pairs), f"{obj.name} folds")
        bar.__enter__()
    try:
        for i, (tr, va) in enumerate(pairs):
            hook = None if on_round is None else (lambda r, s, i=i: on_round(i, r, s.get("valid_0", {})))
            res = train(obj, _take_X(X, tr), y_all[tr], backend=backend, params=params,
                        num_boost_round=num_boost_round, sample_weight=_take(w, tr), qid=_take(q_rows, tr),
                        eval_set=[(_take_X(X, va), y_all[va])], eval_qid=[_take(q_rows, va)],
                        eval_sample_weight=[_take(w, va)], metric=metric,
                        early_stopping_rounds=early_stopping_rounds, n_jobs=n_jobs, on_round=hook)
            results.append(res)
            raw = res.predict_raw(_take_X(X, va))
            if oof is None:
                oof = np.full((n,) + raw.shape[1:], np.nan)
            oof[va] = raw
            scores.append(_fold_scores(p.metrics, y_all[va], raw, codes[va] if ranking else None, _take(w, va)))
            if ranking:
                per_query.append(_query_metrics(p.metrics, y_all[va], raw, codes[va], ids, _take(w, va), i))
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    table = None
    if ranking:
        import pandas as pd

        table = pd.concat(per_query, ignore_index=True)
    return CVResult(results, pairs, [m.name for m in p.metrics], {m.name: m.higher_is_better for m in p.metrics},
                    oof, table, scores)


def _sizes(codes):
    starts = np.concatenate(([0], np.flatnonzero(codes[1:] != codes[:-1]) + 1))
    return starts, np.diff(np.concatenate((starts, [len(codes)])))


def _fold_scores(metrics, y, raw, codes, w):
    """``{metric: value}`` of one validation part, as ``go.train`` evaluates it, in full precision."""
    return evaluate_metrics(metrics, y, raw, group=None if codes is None else _sizes(codes)[1], sample_weight=w)


def _query_metrics(metrics, y, raw, codes, ids, w, fold):
    """One row per query of a validation part: ``qid``, ``fold`` and the ranking metrics (per query, the same
    values whose mean ``go.train`` logged)."""
    import pandas as pd

    starts, sizes = _sizes(codes)
    out = {"qid": ids[codes[starts]], "fold": np.full(len(starts), fold, dtype=np.int64)}
    for m in metrics:
        if m.ranking_name is None:
            continue
        values = evaluate(y, raw, group=sizes, sample_weight=w, metrics=[m.ranking_name], reduce=None, **m.options)
        out[m.name] = np.asarray(values[m.ranking_name], dtype=np.float64)
    return pd.DataFrame(out)


#: :func:`cv` under another name, for :func:`tune`, whose argument ``cv`` (the folds) hides it
_cross_validate = cv


# ---- tune --------------------------------------------------------------------------------------------------------

def _optuna():
    try:
        import optuna
    except ImportError:  # pragma: no cover - the extra is installed in CI
        raise ImportError("gbm_objectives.tune needs Optuna: pip install 'gbm_objectives[tune]'") from None
    return optuna


def default_search_space(objective, backend="lightgbm"):
    """The search space :func:`tune` uses by default, as Optuna distributions: the engine's
    (``SEARCH_SPACE`` of its adapter: learning rate, tree shape, smallest leaf, L1/L2, column and row sampling)
    and the objective's own parameters (:attr:`Objective.search_space`, keys ``"objective.<name>"``).

    Only the parameters this configuration accepts across their range are kept: XGBoost's rank objectives have a
    fixed sigmoid, so ``objective.sigmoid`` is left out of ``"lambdarank:native"`` on XGBoost and of
    ``LambdaRankObjective(convention="xgboost")``.
    """
    optuna = _optuna()
    from .adapters import get_backend

    engine = get_backend(backend)
    obj = resolve_objective(objective)
    native = isinstance(obj, NativeObjective)
    reference = obj.reference if native else obj
    space = {name: _distribution(optuna, spec) for name, spec in engine.SEARCH_SPACE.items()}
    for name, spec in type(reference).search_space.items():
        try:  # this configuration must accept the parameter across its range (and the built-in map it)
            for value in spec[1:3]:
                tried = type(reference)(**{**reference.get_params(), name: value})
                if native:
                    NativeObjective(tried).engine_params(backend)
        except (TypeError, ValueError):
            continue
        space[f"objective.{name}"] = _distribution(optuna, spec)
    return space


def _distribution(optuna, spec):
    kind, low, high, log = spec
    if kind == "int":
        return optuna.distributions.IntDistribution(int(low), int(high), log=bool(log))
    return optuna.distributions.FloatDistribution(float(low), float(high), log=bool(log))


def _suggest(trial, name, dist, optuna):
    d = optuna.distributions
    if isinstance(dist, d.FloatDistribution):
        return trial.suggest_float(name, dist.low, dist.high, log=dist.log, step=dist.step)
    if isinstance(dist, d.IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, log=dist.log, step=dist.step)
    if isinstance(dist, d.CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    raise TypeError(f"search_space[{name!r}] must be an Optuna distribution (FloatDistribution, IntDistribution, "
                    f"CategoricalDistribution); got {type(dist).__name__}")


class TuneResult:
    """What :func:`tune` returns: the best trial's configuration and the study.

    Attributes
    ----------
    params : dict
        Engine parameters of the best trial (``params`` given to :func:`tune`, the sampled ones and the fixed
        companions such as LightGBM's ``bagging_freq``): pass them to :func:`gbm_objectives.train` as ``params``.
    num_boost_round : int
        Rounds of the best trial (its early-stopping best round; of the mean curve under CV).
    objective : Objective or NativeObjective
        The objective with the best trial's own parameters; ``objective_params`` holds them.
    value : float
        The best trial's selection score (``metric`` on ``eval_set``, or the mean inner-CV curve at its best).
    metric : str
    direction : {"maximize", "minimize"}
    study : optuna.Study
    trials_ : pandas.DataFrame
        ``study.trials_dataframe()``: one row per trial.
    backend : str
    """

    def __init__(self, study, backend, metric, base_objective):
        trial = study.best_trial
        self.study = study
        self.backend = backend
        self.metric = metric
        self.direction = study.direction.name.lower()
        self.value = float(trial.value)
        self.params = dict(trial.user_attrs["engine_params"])
        self.num_boost_round = int(trial.user_attrs["num_boost_round"])
        self.objective_params = dict(trial.user_attrs["objective_params"])
        self.objective = _with_params(base_objective, self.objective_params)

    @property
    def trials_(self):
        return self.study.trials_dataframe()

    def train(self, X, y, **kwargs):
        """:func:`gbm_objectives.train` with the best configuration (``kwargs``: ``qid``, ``group``,
        ``sample_weight``, ``eval_set``..., ``n_jobs``)."""
        return train(self.objective, X, y, backend=self.backend, params=self.params,
                     num_boost_round=self.num_boost_round, **kwargs)

    def to_dict(self):
        """JSON layout of ``tune.json``: ``{"backend", "objective", "metric", "direction", "value", "params",
        "objective_params", "num_boost_round", "n_trials", "trials": [{"number", "state", "value",
        "num_boost_round", "params"}, ...]}`` (trials in order; ``params`` as Optuna sampled them)."""
        trials = [{"number": t.number, "state": t.state.name, "value": t.value,
                   "num_boost_round": t.user_attrs.get("num_boost_round"), "params": t.params}
                  for t in self.study.trials]
        return jsonable({"backend": self.backend, "objective": self.objective.name, "metric": self.metric,
                         "direction": self.direction, "value": self.value, "params": self.params,
                         "objective_params": self.objective_params, "num_boost_round": self.num_boost_round,
                         "n_trials": len(trials), "trials": trials})

    def __repr__(self):
        return (f"TuneResult({self.metric}={self.value:.4f} ({self.direction}), num_boost_round={self.num_boost_round}, "
                f"params={self.params}, objective={self.objective!r})")


def _with_params(objective, objective_params):
    if not objective_params:
        return objective
    native = isinstance(objective, NativeObjective)
    reference = objective.reference if native else objective
    tuned = type(reference)(**{**reference.get_params(), **objective_params})
    return NativeObjective(tuned) if native else tuned


def _one_eval_set(eval_set, eval_qid):
    if isinstance(eval_set, list):
        if len(eval_set) != 1:
            raise ValueError(f"eval_set must be one (X, y) pair (or a list of one); got a list of {len(eval_set)}")
        eval_set = eval_set[0]
    if not isinstance(eval_set, tuple) or len(eval_set) != 2:
        raise TypeError(f"eval_set must be an (X, y) pair; got {type(eval_set).__name__}")
    if isinstance(eval_qid, list) and len(eval_qid) == 1 and hasattr(eval_qid[0], "__len__"):
        eval_qid = eval_qid[0]
    return eval_set, eval_qid


#: Heartbeat of a string ``storage`` (seconds): a trial whose process died is failed (and re-run with the same
#: parameters) once its heartbeat is older than twice this.
HEARTBEAT_SECONDS = 10


def _storage(optuna, storage):
    if not isinstance(storage, str):
        return storage
    import warnings

    with warnings.catch_warnings():  # Optuna marks heartbeats (and the retry callback's new name) experimental
        warnings.simplefilter("ignore")
        retry = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None)  # Optuna >= 4.9
        if retry is None:
            callback = {"failed_trial_callback": optuna.storages.RetryFailedTrialCallback(max_retry=1)}
        else:
            callback = {"heartbeat_stale_trial_callback": retry(max_retry=1)}
        return optuna.storages.RDBStorage(storage, heartbeat_interval=HEARTBEAT_SECONDS,
                                          grace_period=2 * HEARTBEAT_SECONDS, **callback)


def tune(objective, X, y, *, qid=None, group=None, eval_set=None, eval_qid=None, cv=5, backend="lightgbm",
         metric="ndcg@10", n_trials=40, timeout=None, search_space=None, params=None, storage=None, study_name=None,
         pruning=True, seed=0, n_jobs=None, progress=True, sample_weight=None, max_rounds=1000,
         early_stopping_rounds=50):
    """Tune engine and objective parameters with Optuna, selecting on ``eval_set`` or inner query-grouped CV.

    Every trial is one :func:`gbm_objectives.train` call on ``(X, y)`` with ``eval_set`` (or one :func:`cv` run on
    ``(X, y)`` when ``eval_set`` is None) with up to ``max_rounds`` rounds and early stopping: the number of
    rounds is tuned by early stopping, the rest by the sampler. No other data takes part: keep the test set out.

    Parameters
    ----------
    objective : Objective, str or NativeObjective
        As in :func:`gbm_objectives.train`; its own parameters in the search space start from this instance.
    X, y, qid, group, sample_weight
        The training rows (and their queries).
    eval_set : (X, y), optional
        The selection rows, with ``eval_qid``; without it, inner CV on the training rows (``cv``).
    eval_qid : array-like, optional
    cv : int, splitter or folds, default 5
        The inner CV of :func:`cv` (``folds``), used when ``eval_set`` is None.
    backend : {"lightgbm", "xgboost"}
    metric : str, default "ndcg@10"
        A name of :mod:`gbm_objectives.metrics.by_task`; the study's direction is that metric's
        ``higher_is_better`` in the registry.
    n_trials : int, default 40
        Finished trials (complete or pruned) the study should hold, resumed ones included.
    timeout : float, optional
        Seconds, passed to ``study.optimize``.
    search_space : dict, optional
        ``{name: optuna distribution}``, replacing :func:`default_search_space`; engine parameter names, and
        ``"objective.<param>"`` for the objective's own parameters. To extend the default, pass
        ``{**default_search_space(objective, backend), "objective.<param>": distribution}``. The engine's fixed
        companions of its sampled parameters (LightGBM's ``bagging_freq=1``, without which ``bagging_fraction``
        does nothing) are set whenever the space samples a parameter of the engine's default space.
    params : dict, optional
        Engine parameters every trial starts from (they override the fixed companions; the search space overrides
        them).
    storage : str or optuna storage, optional
        E.g. ``"sqlite:///study.db"``: the study is created or loaded (``study_name``) and resumed; a string gets a
        heartbeat (:data:`HEARTBEAT_SECONDS`), so a trial whose process was killed is marked failed and re-run
        with its parameters once its heartbeat is stale (twice the heartbeat), and no trial counts twice; the
        sampler of a resumed study is seeded with ``seed`` plus the trials already there (no replayed draws).
    study_name : str, optional
    pruning : bool or optuna pruner, default True
        True: ``MedianPruner(n_startup_trials=5, n_warmup_steps=10)`` on the per-round validation metric
        (:func:`gbm_objectives.train`'s ``on_round``); under inner CV the step of round ``t`` of fold ``k`` is
        ``k * max_rounds + t``, so each fold is compared with the same fold of earlier trials.
    seed : int, default 0
        Seeds the TPE sampler and the inner folds.
    n_jobs : int, optional
        Engine threads of every trial (trials run one after the other).
    progress : bool, default True
        A progress bar over trials on stderr.
    max_rounds : int, default 1000
        The round budget of a trial.
    early_stopping_rounds : int or None, default 50
        Early stopping of a trial: its rounds are the best round of the validation curve (of the mean curve under
        inner CV). None: no early stopping, every trial runs ``max_rounds`` rounds and is scored at its last round
        (the rounds fixed, the learning rate tuned), so the round count is not the argmax of a noisy curve: the
        choice for a small selection set, where the best round of a curve is mostly noise.

    Returns
    -------
    TuneResult

    Examples
    --------
    >>> import gbm_objectives as go
    >>> X, y, qid = go.datasets.make_ranking(n_queries=60, docs_per_query=(5, 15), n_features=8, seed=0)
    >>> best = go.tune("lambdarank", X[qid < 40], y[qid < 40], qid=qid[qid < 40],
    ...                eval_set=(X[qid >= 40], y[qid >= 40]), eval_qid=qid[qid >= 40], n_trials=2,
    ...                max_rounds=10, early_stopping_rounds=3, n_jobs=1, progress=False)
    >>> best.direction, len(best.trials_), 1 <= best.num_boost_round <= 10
    ('maximize', 2, True)
    """
    optuna = _optuna()
    n_trials = check_int(n_trials, "n_trials", 1)
    max_rounds = check_int(max_rounds, "max_rounds", 1)
    if early_stopping_rounds is not None:
        early_stopping_rounds = check_int(early_stopping_rounds, "early_stopping_rounds", 1)
    base = resolve_objective(objective, y)
    p = plan(base, backend=backend, params=params, metric=metric, num_boost_round=max_rounds,
             early_stopping_rounds=early_stopping_rounds, n_jobs=n_jobs)  # refusals before any trial
    p.check_features(X)
    first = p.metrics[0]
    direction = "maximize" if first.higher_is_better else "minimize"
    if search_space is None:
        space = default_search_space(base, backend)
        fixed = dict(p.local.SEARCH_FIXED)
    else:
        if not isinstance(search_space, dict) or not search_space:
            raise TypeError(f"search_space must be a non-empty dict of Optuna distributions; got {fmt(search_space)}")
        space = dict(search_space)
        # the companions serve the engine's own sampled parameters (bagging_fraction needs a bagging_freq): kept
        # whenever a given space samples one of them, e.g. default_search_space(...) plus an objective parameter
        fixed = dict(p.local.SEARCH_FIXED) if set(space) & set(p.local.SEARCH_SPACE) else {}
    reference = base.reference if isinstance(base, NativeObjective) else base
    own = reference.get_params()
    for name in space:
        if name.startswith("objective.") and name[len("objective."):] not in own:
            raise ValueError(f"search_space[{name!r}]: {type(reference).__name__} has no parameter "
                             f"{name[len('objective.'):]!r}; its parameters are {sorted(own)}")
    if eval_set is not None:
        (Xv, yv), eval_qid = _one_eval_set(eval_set, eval_qid)
        yv = np.asarray(yv)
        eval_codes = _query_codes(len(yv), eval_qid, None)[0] if p.reference.task == "ranking" else None
    if pruning is True:
        pruner = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=10)
    elif pruning is False or pruning is None:
        pruner = optuna.pruners.NopPruner()
    else:
        pruner = pruning

    def run_trial(trial):
        values = {name: _suggest(trial, name, dist, optuna) for name, dist in space.items()}
        obj_params = {k[len("objective."):]: v for k, v in values.items() if k.startswith("objective.")}
        engine = {**fixed, **(params or {}), **{k: v for k, v in values.items() if not k.startswith("objective.")}}
        obj = _with_params(base, obj_params)

        def report(step, value):
            trial.report(value, step)
            if trial.should_prune():
                raise optuna.TrialPruned()

        if eval_set is not None:
            res = train(obj, X, y, qid=qid, group=group, sample_weight=sample_weight, backend=backend,
                        params=engine, num_boost_round=max_rounds, eval_set=[(Xv, yv)], eval_qid=[eval_qid],
                        metric=metric, early_stopping_rounds=early_stopping_rounds, n_jobs=n_jobs,
                        on_round=lambda r, s: report(r, s["valid_0"][first.name]))
            rounds = res.best_iteration or max_rounds
            value = _fold_scores([first], yv, res.predict_raw(Xv), eval_codes, None)[first.name]
        else:
            res = _cross_validate(obj, X, y, qid=qid, group=group, folds=cv, backend=backend, params=engine,
                                  num_boost_round=max_rounds, metric=metric,
                                  early_stopping_rounds=early_stopping_rounds, sample_weight=sample_weight,
                                  seed=seed, n_jobs=n_jobs,
                                  on_round=lambda k, r, s: report(k * max_rounds + r, s[first.name]))
            if early_stopping_rounds is None:  # fixed rounds: the mean curve at its last round
                rounds, value = max_rounds, res.evals_result[first.name]["mean"][-1]
            else:
                rounds, value = res.best_iteration, res.best_score()
        trial.set_user_attr("num_boost_round", int(rounds))
        trial.set_user_attr("engine_params", jsonable(engine))
        trial.set_user_attr("objective_params", jsonable(obj_params))
        return float(value)

    store = _storage(optuna, storage)
    sampler = optuna.samplers.TPESampler(seed=seed)
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(storage=store, study_name=study_name, direction=direction, sampler=sampler,
                                    pruner=pruner, load_if_exists=store is not None)
        if study.direction.name.lower() != direction:
            raise ValueError(f"study {study_name!r} in the storage is set to {study.direction.name.lower()}, but "
                             f"{first.name} is to {direction}")
        if study.trials:  # resumed: a fresh draw sequence, else the seeded sampler would replay the first trials
            study.sampler = optuna.samplers.TPESampler(seed=seed + len(study.trials))
        finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
        done = len(study.get_trials(deepcopy=False, states=finished))
        remaining = max(0, n_trials - done)
        callbacks = [optuna.study.MaxTrialsCallback(n_trials, states=finished)]
        if remaining:
            bar = None
            if progress:
                from ._core.progress import Progress

                bar = Progress(n_trials, f"tuning {base.name} ({first.name})")
                bar.__enter__()
                bar.update(done)
                callbacks.append(lambda study, trial: bar.update(1) if trial.state in finished else None)
            try:
                study.optimize(run_trial, n_trials=remaining, timeout=timeout, callbacks=callbacks,
                               catch=())
            finally:
                if bar is not None:
                    bar.__exit__(None, None, None)
    finally:
        optuna.logging.set_verbosity(verbosity)
    if not any(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials):
        raise RuntimeError("no trial completed (all pruned or failed); raise n_trials or set pruning=False")
    return TuneResult(study, backend, first.name, base)

