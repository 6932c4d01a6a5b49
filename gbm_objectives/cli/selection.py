"""``gbm-objectives cv`` and ``gbm-objectives tune``: :func:`gbm_objectives.cv` and :func:`gbm_objectives.tune`
on files.

``cv --out DIR`` writes ``DIR/cv.json`` (layout: :meth:`gbm_objectives.CVResult.to_dict`) and ``DIR/cv.png`` (the
mean ± std learning curve); ``tune --out DIR`` writes ``DIR/tune.json`` (:meth:`gbm_objectives.TuneResult.to_dict`),
``DIR/tune_history.png`` and ``DIR/tune_importance.png`` (Optuna's matplotlib visualisation).
"""

from __future__ import annotations

import glob
from pathlib import Path

import numpy as np

from .._core.files import atomic_write_json, output_directory
from .._core.progress import Reporter
from ..adapters import ParameterError
from ..selection import cv, stack_folds, tune
from ._common import (
    EXIT_OK,
    OWN_OUTPUTS,
    UsageError,
    build_objective,
    check_out,
    check_task,
    format_table,
    infer_n_classes,
    load_split,
    load_splits,
    parse_params,
    reference_of,
    resolve_metrics,
    training_params,
)
from .plots import plot_cv_curve, plot_tuning

__all__ = ["cmd_cv", "cmd_tune", "fold_files"]


def fold_files(pattern):
    """``[(train file, test file)]`` of the folders matching ``pattern`` (``"Fold*/"``), in name order: each folder
    holds a ``train.*`` and a ``test.*`` file (LETOR's layout; ``vali.*`` is not used by cv)."""
    folders = sorted(Path(p) for p in glob.glob(pattern) if Path(p).is_dir())
    if len(folders) < 2:
        raise UsageError(f"--fold-files: {pattern!r} matches {len(folders)} folder(s); cv needs 2 or more")
    pairs = []
    for folder in folders:
        found = []
        for stem in ("train", "test"):
            files = sorted(f for f in folder.glob(f"{stem}.*") if f.is_file())
            if not files:
                raise UsageError(f"--fold-files: {folder} has no {stem}.* file")
            found.append(files[0])
        pairs.append(tuple(found))
    return pairs


def _query_ids(split, group):
    """The query ids of a loaded split as written in its file: a table's ``--group`` column is renumbered per file
    by the loader, so it is read again here (fold files are matched by query id across files)."""
    if split.zero_based is not None or group is None:  # LETOR: the qid: column as written
        return split.qid
    import pandas as pd

    path = split.path
    if path.name.lower().endswith(".parquet"):
        ids = pd.read_parquet(path, columns=[group])[group]
    else:
        sep = "\t" if path.name.lower().removesuffix(".gz").endswith(".tsv") else ","
        ids = pd.read_csv(path, sep=sep, usecols=[group])[group]
    return ids.to_numpy()


def _dense(X):
    return X.toarray() if hasattr(X, "toarray") else np.asarray(X)


def _load_cv_data(args, reporter):
    """``(X, y, qid, folds, feature width)``: ``--train`` with ``--folds K``, or the ``--fold-files`` folders."""
    if args.fold_files:
        if args.train:
            raise UsageError("--fold-files: give either --train (with --folds) or --fold-files, not both")
        parts = []
        first = None
        for i, (train_path, test_path) in enumerate(fold_files(args.fold_files)):
            kw = {} if first is None else dict(n_features=first.X.shape[1], features=first.feature_names,
                                               zero_based="auto" if first.zero_based is None else first.zero_based)
            tr = load_split("train", f"--fold-files (fold {i + 1})", train_path, reporter, label=args.label,
                            group=args.group, **kw)
            first = first or tr
            te = load_split("valid", f"--fold-files (fold {i + 1})", test_path, reporter,
                            n_features=first.X.shape[1], features=first.feature_names, label=args.label,
                            group=args.group, zero_based="auto" if first.zero_based is None else first.zero_based)
            if tr.qid is None or te.qid is None:
                raise UsageError(f"--fold-files: {train_path if tr.qid is None else test_path} has no query ids; "
                                 f"predefined fold files need them")
            parts.append(((_dense(tr.X), tr.y, _query_ids(tr, args.group)),
                          (_dense(te.X), te.y, _query_ids(te, args.group))))
        try:
            X, y, qid, folds = stack_folds(parts)
        except ValueError as exc:
            raise UsageError(f"--fold-files: {exc}") from None
        return X, y, qid, folds, first
    if not args.train:
        raise UsageError("--train: required (or --fold-files)")
    split = load_split("train", "--train", args.train, reporter, label=args.label, group=args.group)
    return split.X, split.y, split.qid, args.folds, split


def cmd_cv(args):
    """``cv``: query-grouped cross-validation; prints the per-fold table with mean ± std, writes ``cv.json`` and
    ``cv.png``."""
    reporter = Reporter(args.quiet)
    params = parse_params(args.param)
    out = check_out(args.out)
    X, y, qid, folds, first = _load_cv_data(args, reporter)
    objective, engine_params, _ = build_objective(args.objective, args.backend, params, n_classes=infer_n_classes(y))
    first.y, first.qid = y, qid  # the stacked data, for the task check
    check_task(reference_of(objective), args.objective, {"train": first})
    names = args.metric or None
    metrics = None if names is None else resolve_metrics(names, objective, args.convention)
    try:
        res = cv(objective, X, y, qid=qid, folds=folds, backend=args.backend,
                 params=training_params(args.learning_rate, args.seed, args.num_leaves, engine_params),
                 num_boost_round=args.rounds, metric=metrics, early_stopping_rounds=args.early_stopping,
                 seed=args.seed, n_jobs=args.threads, progress=not args.quiet)
    except ParameterError as exc:
        raise UsageError(f"--param: {exc}") from None
    print(res.table())
    summary = res.to_dict()
    with output_directory(out, OWN_OUTPUTS, reporter.log) as tmp:
        atomic_write_json(tmp / "cv.json", summary)
        plotted = plot_cv_curve(summary, tmp / "cv.png", reporter)
    reporter.log(f"wrote {out / 'cv.json'}" + (f", {out / 'cv.png'}" if plotted else ""))
    return EXIT_OK


def cmd_tune(args):
    """``tune``: Optuna search selecting on ``--valid`` (or inner CV of ``--train``); prints the best trials, writes
    ``tune.json``, ``tune_history.png`` and ``tune_importance.png``."""
    reporter = Reporter(args.quiet)
    params = parse_params(args.param)
    out = check_out(args.out)
    try:
        import optuna  # noqa: F401
    except ImportError:
        raise UsageError("tune needs Optuna: pip install 'gbm_objectives[tune]'") from None
    splits = load_splits(args, reporter)
    train_split = splits["train"]
    objective, engine_params, _ = build_objective(args.objective, args.backend, params,
                                                  n_classes=infer_n_classes(train_split.y))
    check_task(reference_of(objective), args.objective, splits)
    resolve_metrics([args.metric], objective, "lightgbm")
    valid = splits.get("valid")
    try:
        best = tune(objective, train_split.X, train_split.y, qid=train_split.qid,
                    eval_set=None if valid is None else (valid.X, valid.y),
                    eval_qid=None if valid is None else valid.qid, cv=args.cv, backend=args.backend,
                    metric=args.metric, n_trials=args.trials, timeout=args.timeout,
                    params={"seed": args.seed, **engine_params}, storage=args.storage, study_name=args.study_name,
                    pruning=not args.no_pruning, seed=args.seed, n_jobs=args.threads, progress=not args.quiet,
                    max_rounds=args.max_rounds, early_stopping_rounds=args.early_stopping)
    except ParameterError as exc:
        raise UsageError(f"--param: {exc}") from None
    summary = best.to_dict()
    complete = [t for t in summary["trials"] if t["state"] == "COMPLETE"]
    complete.sort(key=lambda t: t["value"], reverse=best.direction == "maximize")
    keys = sorted({k for t in complete for k in t["params"]})
    rows = [[t["number"], t["value"], t["num_boost_round"], *[t["params"].get(k, "") for k in keys]]
            for t in complete[:args.show]]
    print(f"{len(summary['trials'])} trials, selection on {'--valid' if valid is not None else f'{args.cv}-fold CV of --train'} "
          f"({best.metric}, {best.direction})")
    print(format_table(["trial", best.metric, "rounds", *keys], rows))
    with output_directory(out, OWN_OUTPUTS, reporter.log) as tmp:
        atomic_write_json(tmp / "tune.json", summary)
        plots = plot_tuning(best.study, tmp / "tune_history.png", tmp / "tune_importance.png", reporter)
    reporter.log(f"wrote {out / 'tune.json'}" + "".join(f", {out / Path(p).name}" for p in plots))
    return EXIT_OK
