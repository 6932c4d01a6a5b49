"""The ``gbm-objectives`` command line: train, evaluate, compare, demo, datasets, warmup.

::

    gbm-objectives demo
    gbm-objectives train --train PATH [--valid PATH] [--test PATH] --objective NAME [--param key=value ...]
                         [--backend lightgbm|xgboost] [--rounds N] [--learning-rate X] [--early-stopping N]
                         [--metric ndcg@10 ...] [--label COL --group COL] --out DIR
    gbm-objectives evaluate --model DIR --data PATH [--metric ndcg@10 --metric mrr ...]
    gbm-objectives evaluate --qrels FILE --run FILE [--run FILE ...] [--metric ndcg_cut_10 ...] [--per-query]
                            [--test randomization] [--format trec]
    gbm-objectives compare --train PATH --valid PATH [--test PATH] --objective lambdarank
                           --objective lambdarank:native ... --out DIR
    gbm-objectives datasets [--fetch NAME]
    gbm-objectives warmup                     # compile every kernel once (container images, CI caches)

The CLI only talks to the user: it parses options, loads files, trains through :func:`gbm_objectives.train`,
saves with :func:`gbm_objectives.save_model`, scores with :mod:`gbm_objectives.scoring` and prints tables.
Objectives are registry names (:data:`gbm_objectives.OBJECTIVES`) or ``NAME:native`` for the engine's own
built-in configured from the same parameters (:mod:`gbm_objectives.adapters.native`). ``--param key=value`` goes
to the objective when it is one of its parameters and to the engine otherwise.

Files are read by extension: ``.txt/.svm/.letor/...`` (SVMlight/LETOR, also gzipped), ``.csv/.tsv`` and
``.parquet`` (with ``--label`` and ``--group`` naming the columns).

``train --out DIR`` writes ``DIR/model/`` (the engine's model file and ``meta.json``, see
:mod:`gbm_objectives.model_io`), ``DIR/metrics.json`` (every metric on every split, at the kept iteration and per
round) and ``DIR/learning_curve.png``. The outputs are built in a temporary folder beside ``DIR`` that replaces it
at the end; files of yours inside an existing ``DIR`` are carried over, never deleted.

Exit status: 0 on success, 2 for usage and input errors (bad option, missing or malformed file, found before any
training), 1 for failures. Errors are one line on stderr (``error: --train: no such file 'x.txt'``); ``--debug``
shows the traceback. A progress bar runs on a terminal, plain log lines otherwise; ``--quiet`` silences both.

>>> main(["datasets", "--quiet"]) == 0   # doctest: +ELLIPSIS
name ...
True
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

from . import datasets as _datasets
from ._plots import plot_compare, plot_learning_curve
from ._progress import Reporter
from .adapters import ParameterError, owned_parameter
from .model_io import atomic_write_bytes, atomic_write_json, output_directory, save_model
from .model_io import load_model as _load_model
from .objectives import OBJECTIVES, get_objective
from .report import training_report
from .scoring import default_metrics, evaluate_metrics, get_metric, metric_names
from .segments import boundaries_from_qid
from .training import NativeObjective, TrainResult, train

__all__ = ["main", "load_model", "TrainedModel", "train_one"]

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

#: A reloaded model: what :func:`gbm_objectives.load_model` returns (``predict``, ``predict_raw``).
TrainedModel = TrainResult

#: The CLI option behind each engine option the CLI owns (:data:`gbm_objectives.adapters.OWNED_PARAMETERS`).
_OPTION_OF = {"objective": "--objective", "learning_rate": "--learning-rate", "num_boost_round": "--rounds",
              "seed": "--seed", "n_jobs": "--threads", "metric": "--metric", "early_stopping_rounds": "--early-stopping"}


class UsageError(Exception):
    """A bad command line or input file: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def load_model(path):
    """Load a model written by ``gbm-objectives train`` or :func:`gbm_objectives.save_model` (the ``--out``
    folder or its ``model/``); see :func:`gbm_objectives.load_model`."""
    return _load_model(path)


# ==============================================================================================================
# Objectives and parameters
# ==============================================================================================================

def _parse_value(text):
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _parse_params(items, option="--param"):
    params = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{option}: expected key=value; got {item!r}")
        key = key.strip()
        owned = owned_parameter(key)
        if owned is not None:
            raise UsageError(f"{option} {key}: set by the command line itself; use {_OPTION_OF[owned]}")
        params[key] = _parse_value(value.strip())
    return params


def _constructor_params(cls):
    return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]


def _check_objective_names(names):
    for spec in names:
        name, sep, mode = spec.partition(":")
        if name not in OBJECTIVES:
            raise UsageError(f"--objective: unknown objective {name!r}; choose one of {sorted(OBJECTIVES)}")
        if sep and mode != "native":
            raise UsageError(f"--objective: {spec!r}: the only suffix is ':native' (the engine's built-in)")


def build_objective(spec, backend, params, n_classes=None):
    """``(objective, engine params, objective params)`` for ``--objective spec`` and its ``--param`` values.

    A parameter of another objective (``gamma`` given to ``huber``) is an error listing this one's parameters.
    """
    _check_objective_names([spec])
    name, _, mode = spec.partition(":")
    cls = OBJECTIVES[name]
    accepted = _constructor_params(cls)
    obj_params = {k: v for k, v in params.items() if k in accepted}
    engine_params = {k: v for k, v in params.items() if k not in accepted}
    foreign = {k for other in OBJECTIVES.values() if other is not cls for k in _constructor_params(other)}
    for key in engine_params:
        if key in foreign:
            raise UsageError(f"--param {key}: not a parameter of {name!r} (its parameters: {accepted or 'none'})")
    if "n_classes" in accepted and "n_classes" not in obj_params:
        if n_classes is None:
            raise UsageError(f"--objective {name}: needs n_classes (--param n_classes=K)")
        obj_params["n_classes"] = n_classes
    try:
        objective = get_objective(name, **obj_params)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"--objective {name}: {exc}") from None
    if mode == "native":
        objective = NativeObjective(objective)
        try:
            objective.engine_params(backend)
        except ValueError as exc:
            raise UsageError(f"--objective {spec}: {exc}") from None
    return objective, engine_params, obj_params


def _reference(objective):
    return objective.reference if isinstance(objective, NativeObjective) else objective


# ==============================================================================================================
# Data
# ==============================================================================================================

class Split:
    """One loaded data set: features, labels, query ids and where they came from."""

    def __init__(self, name, path, X, y, qid, feature_names, zero_based=None, position=None):
        self.name, self.path, self.X, self.y, self.qid, self.feature_names = name, path, X, y, qid, feature_names
        self.position = position  # displayed positions (--position COL, or a LETOR file's .position sibling)
        self.group = None if qid is None else np.diff(boundaries_from_qid(qid))
        self.zero_based = zero_based  # LETOR files: how feature indices were read (None for tables)

    def summary(self):
        out = {"path": str(self.path), "rows": int(len(self.y)), "features": int(self.X.shape[1])}
        if self.qid is not None:
            out["queries"] = int(len(self.group))
        return out


def _load_split(name, option, path, reporter, *, n_features=None, features=None, label=None, group=None,
                zero_based="auto", position=None):
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{option}: no such file {str(path)!r}")
    try:
        fmt = _datasets.data_format(path)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None
    try:
        if fmt == "letor":
            if label is not None:
                raise UsageError(f"{option}: --label names a column of a CSV/Parquet table; {path.name} is a "
                                 "LETOR/SVMlight file (its label is the first field)")
            size = path.stat().st_size
            with reporter.progress(size, f"loading {path.name}", unit="B", unit_scale=True, every=1) as bar:
                data = _datasets.load_letor(path, n_features=n_features, zero_based=zero_based,
                                            progress=bar.set_to)
            X, y, qid = data
            zero_based = data.zero_based
            names = [f"f{j + 1}" for j in range(X.shape[1])]
            if position is not None:
                raise UsageError(f"{option}: --position names a column of a CSV/Parquet table; for {path.name} "
                                 f"put the positions in {path.name}.position (one per line)")
            sibling = Path(str(path) + ".position")
            if sibling.is_file():
                position = _datasets.read_position_file(sibling, len(y))
        else:
            table = _datasets.load_table(path, label=label, group=group, features=features, position=position)
            X, y, qid = table
            names = table.feature_names
            position = table.position
    except (ValueError, OSError, EOFError) as exc:
        raise UsageError(f"{option}: {exc}") from None
    if X.shape[1] == 0:
        raise UsageError(f"{option}: {path} has no feature columns")
    if len(y) and not np.isfinite(y).all():
        i = int(np.flatnonzero(~np.isfinite(y))[0])
        raise UsageError(f"{option}: {path}: label of row {i} is {y[i]!r}; labels must be finite")
    split = Split(name, path, X, y, qid, names, zero_based if fmt == "letor" else None, position)
    extra = "" if qid is None else f", {len(split.group)} queries"
    reporter.log(f"{name}: {path} ({len(y)} rows, {X.shape[1]} features{extra})")
    return split


def _load_splits(args, reporter):
    splits = {}
    train_split = _load_split("train", "--train", args.train, reporter, label=args.label, group=args.group,
                              position=getattr(args, "position", None))
    splits["train"] = train_split
    for name, option in (("valid", "--valid"), ("test", "--test")):
        path = getattr(args, name, None)
        if path:
            splits[name] = _load_split(
                name, option, path, reporter, n_features=train_split.X.shape[1],
                features=train_split.feature_names, label=args.label, group=args.group,
                zero_based="auto" if train_split.zero_based is None else train_split.zero_based,
            )
    return splits


def _check_task(objective, label, splits):
    task = objective.task
    for split in splits.values():
        option = "--" + split.name
        if task == "ranking" and split.qid is None:
            raise UsageError(
                f"{option}: ranking objective {label!r} needs query ids, and {split.path} has none (a qid: "
                f"column or a sibling .query/.group file for LETOR files; --group COL for tables)"
            )
        if task == "binary":
            bad = (split.y != 0) & (split.y != 1)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise UsageError(f"{option}: {label!r} needs 0/1 labels; got {split.y[i]:g} in row {i}")
        if task == "multiclass":
            k = objective.n_classes
            bad = (split.y < 0) | (split.y >= k) | (split.y != np.floor(split.y))
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise UsageError(f"{option}: {label!r} has n_classes={k}; got class {split.y[i]:g} in row {i}")


def _n_classes(y):
    if len(y) and np.all(y == np.floor(y)) and y.min() >= 0:
        return int(y.max()) + 1
    return None


# ==============================================================================================================
# Training
# ==============================================================================================================

def _resolve_metrics(names, objective, convention):
    try:
        return [get_metric(m, _reference(objective), convention=convention) for m in names]
    except (TypeError, ValueError) as exc:
        raise UsageError(f"--metric: {exc}") from None


def train_one(objective, splits, *, label, backend="lightgbm", engine_params=None, rounds=100, learning_rate=0.1,
              num_leaves=None, seed=0, threads=None, early_stopping=None, metric_names=None, convention="lightgbm",
              reporter=None, staged=True):
    """Train one objective on the loaded ``splits`` through :func:`gbm_objectives.train`.

    Returns ``(result, summary)``: the :class:`~gbm_objectives.TrainResult` and the dict written to
    ``metrics.json`` (every metric on every split at the kept iteration, ``final``, and per round, ``per_round``).
    """
    reporter = reporter or Reporter(True)
    reference = _reference(objective)
    _check_task(objective, label, splits)
    metric_names = list(metric_names or default_metrics(reference))
    metrics = _resolve_metrics(metric_names, objective, convention)
    if early_stopping and "valid" not in splits:
        raise UsageError("--early-stopping: needs --valid")
    train_split = splits["train"]
    if len(train_split.y) < 2:
        raise UsageError(f"--train: {train_split.path} has {len(train_split.y)} row(s); training needs at least 2")
    params = _training_params(learning_rate, seed, num_leaves, engine_params)
    eval_kw = {}
    if early_stopping:
        valid = splits["valid"]
        eval_kw = dict(eval_set=[(valid.X, valid.y)], eval_group=[valid.group], metric=metrics[:1],
                       early_stopping_rounds=early_stopping)
    reporter.log(f"training {label} on {backend}: {rounds} rounds, learning rate {learning_rate}")
    bar = reporter.progress(rounds, f"{label} rounds", every=max(1, rounds // 10))
    t0 = time.perf_counter()
    if getattr(reference, "position_debias", None) is not None:
        if train_split.position is None:
            raise UsageError(f"--objective {label}: position_debias needs the displayed positions (--position COL, "
                             f"or a {Path(str(train_split.path)).name}.position file)")
        eval_kw["position"] = train_split.position
    elif train_split.position is not None:
        reporter.log(f"note: {train_split.path} has positions; they are used with --param position_debias=additive "
                     "or ipw (learning from clicks)")
    try:
        with bar:
            result = train(objective, train_split.X, train_split.y, backend=backend, params=params,
                           num_boost_round=rounds, group=train_split.group, n_jobs=threads, progress=bar.set_to,
                           **eval_kw)
    except ParameterError as exc:
        raise UsageError(f"--param: {exc}") from None
    seconds = time.perf_counter() - t0
    if len(train_split.y) and np.ptp(result.predict_raw(train_split.X[:1000])) == 0 and rounds > 0:
        print(f"warning: no tree found a split ({len(train_split.y)} training rows, {train_split.X.shape[1]} "
              "features): the model predicts one constant; the engines need more rows than min_data_in_leaf "
              "(LightGBM) / min_child_weight (XGBoost) in every leaf", file=sys.stderr)
    summary = training_report(objective, result, splits, metrics, label=label, backend=backend, rounds=rounds,
                         seconds=seconds, early_stopping=early_stopping, convention=convention, staged=staged)
    return result, summary


def _training_params(learning_rate, seed, num_leaves, engine_params):
    params = {"learning_rate": learning_rate, "seed": seed}
    if num_leaves is not None:
        params["num_leaves"] = num_leaves
    params.update(engine_params or {})
    return params


# ==============================================================================================================
# Output folders
# ==============================================================================================================

#: Files the CLI writes in an output folder; anything else found there is the user's and is carried over.
_OWN_OUTPUTS = ("model/model.txt", "model/model.json", "model/meta.json", "metrics.json", "learning_curve.png",
                "compare.json", "compare.png")


def _check_out(out, option="--out"):
    """Before any work: ``out`` must be a folder (or not exist) in a writable parent."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{option}: {str(out)!r} exists and is not a folder")
    parent = out.parent if str(out.parent) else Path(".")
    existing = parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{option}: cannot write in {str(existing)!r}")
    return out


# ==============================================================================================================
# Output formatting
# ==============================================================================================================

def format_table(header, rows):
    """Fixed-width text table; floats with 4 decimals."""
    cells = [[_cell(c) for c in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in cells)) if cells else len(str(h)) for i, h in enumerate(header)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths))]
    lines.append("  ".join("-" * w for w in widths))
    for r in cells:
        lines.append("  ".join(c.rjust(w) if _numeric(c) else c.ljust(w) for c, w in zip(r, widths)))
    return "\n".join(lines)


def _cell(x):
    if isinstance(x, float):
        return "nan" if math.isnan(x) else f"{x:.4f}"
    return "-" if x is None else str(x)


def _numeric(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def _final_table(summary):
    rows = [[split, *[values[m] for m in summary["metrics"]]] for split, values in summary["final"].items()]
    return format_table(["split", *summary["metrics"]], rows)


# ==============================================================================================================
# Subcommands
# ==============================================================================================================

def _training_kwargs(args, reporter):
    return dict(backend=args.backend, rounds=args.rounds, learning_rate=args.learning_rate,
                num_leaves=args.num_leaves, seed=args.seed, threads=args.threads, early_stopping=args.early_stopping,
                convention=args.convention, reporter=reporter)


def _prepare_training(args, objectives):
    """Everything that can be checked before loading data: names, parameters, metrics, the output folder."""
    _check_objective_names(objectives)
    params = _parse_params(args.param)
    out = _check_out(args.out)
    if args.early_stopping and not args.valid:
        raise UsageError("--early-stopping: needs --valid")
    return params, out


def _metric_names_for(args, objective):
    names = args.metric or list(default_metrics(_reference(objective)))
    _resolve_metrics(names, objective, args.convention)
    return names


def cmd_train(args):
    reporter = Reporter(args.quiet)
    params, out = _prepare_training(args, [args.objective])
    if args.dask:
        result, summary, splits, feature_names = _train_dask(args, params, reporter)
    else:
        splits = _load_splits(args, reporter)
        objective, engine_params, _ = build_objective(args.objective, args.backend, params,
                                                      n_classes=_n_classes(splits["train"].y))
        names = _metric_names_for(args, objective)
        result, summary = train_one(objective, splits, label=args.objective, engine_params=engine_params,
                                    metric_names=names, **_training_kwargs(args, reporter))
        feature_names = splits["train"].feature_names
    _write_training(args, out, result, summary, splits, feature_names, reporter)
    return EXIT_OK


def _train_dask(args, params, reporter):
    """``train --dask``: the training files are read as partitions on the cluster (:func:`gbm_objectives.dask.
    train_files`); ``--valid``/``--test`` are read here and scored here, as in a local run."""
    try:
        import gbm_objectives.dask as god
    except ImportError as exc:
        raise UsageError(f"--dask: needs dask[distributed] (pip install 'gbm-objectives[dask]'): {exc}") from None
    try:
        god.parse_local(args.dask)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    objective, engine_params, _ = build_objective(args.objective, args.backend, params)
    reference = _reference(objective)
    if reference.task == "ranking" and not args.group:
        raise UsageError(f"--group: ranking objective {args.objective!r} needs the query column of --train (--group COL)")
    try:  # the columns, before any cluster starts (Parquet: metadata only)
        _, label_column, features = god.read_files(args.train, label=args.label, group=args.group)
    except (ValueError, OSError) as exc:
        raise UsageError(f"--train: {exc}") from None
    splits = {}
    for name, option in (("valid", "--valid"), ("test", "--test")):
        path = getattr(args, name, None)
        if path:
            splits[name] = _load_split(name, option, path, reporter, features=features, label=label_column,
                                       group=args.group)
    _check_task(objective, args.objective, splits)
    names = _metric_names_for(args, objective)
    metrics = _resolve_metrics(names, objective, args.convention)
    if args.early_stopping:
        from .dask._sums import check_summable

        try:
            check_summable(metrics[0], reference)
        except ValueError as exc:
            raise UsageError(f"--early-stopping with --dask: {exc}") from None
    rounds = args.rounds
    params = _training_params(args.learning_rate, args.seed, args.num_leaves, engine_params)
    eval_set = [(splits["valid"].X, splits["valid"].y, splits["valid"].group)] if args.early_stopping else []
    reporter.log(f"training {args.objective} on {args.backend} over Dask ({args.dask}): {rounds} rounds, "
                 f"learning rate {args.learning_rate}")
    t0 = time.perf_counter()
    try:
        with god.connect(args.dask) as client:
            trained = god.train_files(client, objective, args.train, label=label_column, group=args.group,
                                      backend=args.backend, params=params, num_boost_round=rounds, metrics=metrics,
                                      eval_set=eval_set, early_stopping_rounds=args.early_stopping)
    except ParameterError as exc:
        raise UsageError(f"--param: {exc}") from None
    seconds = time.perf_counter() - t0  # training and the training split's metrics on the cluster
    result = trained.result.to_local()
    summary = training_report(objective, result, splits, metrics, label=args.objective, backend=args.backend,
                         rounds=rounds, seconds=seconds, early_stopping=args.early_stopping,
                         convention=args.convention, staged=True)
    summary["dask"] = {"scheduler": args.dask, "train_partitions": trained.data["partitions"]}
    summary["data"] = {"train": trained.data, **summary["data"]}
    summary["final"] = {"train": trained.final, **summary["final"]}
    summary["computed"] = {"train": trained.computed,
                           **{name: "client: read and scored locally" for name in splits}}
    if "per_round" in summary:
        summary["computed"]["per_round"] = "valid/test only (the training split is scored once, at the kept round)"
    return result, summary, {"train": _SplitInfo(trained.data), **splits}, trained.feature_names


class _SplitInfo:
    """The training split of a --dask run: only what the output writer needs (it stays on the cluster)."""

    def __init__(self, data):
        self.data, self.zero_based = data, None


def _write_training(args, out, result, summary, splits, feature_names, reporter):
    meta = {"label_column": args.label, "group_column": args.group, "metrics": summary["metrics"],
            "convention": args.convention, "letor_zero_based": splits["train"].zero_based}
    with output_directory(out, _OWN_OUTPUTS, reporter.log) as tmp:
        save_model(tmp / "model", result, feature_names=feature_names, metadata=meta)
        atomic_write_json(tmp / "metrics.json", summary)
        plotted = plot_learning_curve(summary, tmp / "learning_curve.png", reporter)
    print(_final_table(summary))
    note = (f" (best iteration {summary['iteration_kept']} of {summary['rounds_trained']})"
            if summary["best_iteration"] else "")
    reporter.log(f"trained {args.objective} on {args.backend} in {summary['train_seconds']:.2f} s{note}")
    reporter.log(f"wrote {out / 'model'}/, {out / 'metrics.json'}"
                 + (f", {out / 'learning_curve.png'}" if plotted else ""))


def _evaluate_runs(args):
    from .runs import evaluate_run, read_qrels, read_run
    from .significance import compare_runs

    if not args.run:
        raise UsageError("--qrels needs at least one --run FILE")
    try:
        qrels = read_qrels(args.qrels)
    except FileNotFoundError as exc:
        raise UsageError(f"--qrels: {exc}") from None
    metrics = args.metric or ["ndcg@10", "map", "recall@100", "mrr"]
    results = {}
    for path in args.run:
        try:
            run = read_run(path)
        except FileNotFoundError as exc:
            raise UsageError(f"--run: {exc}") from None
        results[path] = evaluate_run(qrels, run, metrics=metrics, convention=args.convention or "trec",
                                     relevance_threshold=args.relevance_threshold)
    if args.format == "trec":
        for res in results.values():
            print(res.to_trec(per_query=args.per_query), end="")
    else:
        header = ["run", *metrics]
        if args.test and len(results) > 1:
            table = compare_runs(results, test=args.test)
            rows = []
            for name, res in results.items():
                cells = []
                for m in metrics:
                    row = table[(table.system == name) & (table.metric == m)].iloc[0]
                    p = row.p_value_corrected
                    cells.append(f"{res.mean[m]:.4f}" + ("" if np.isnan(p) else f" (p={p:.3g})"))
                rows.append([name + (" (baseline)" if name == args.run[0] else ""), *cells])
        else:
            rows = [[name, *res.mean.values()] for name, res in results.items()]
        print(format_table(header, rows))
        if args.per_query:
            for name, res in results.items():
                print(f"\n{name}")
                print(format_table(["qid", *metrics], [[q, *vals] for q, vals in zip(
                    res.per_query.index, res.per_query.to_numpy().tolist())]))
    if args.out:
        atomic_write_json(args.out, {name: {"mean": res.mean} for name, res in results.items()})
    return EXIT_OK


def cmd_evaluate(args):
    if args.qrels or args.run:
        if args.model or args.data:
            raise UsageError("evaluate takes either --model/--data or --qrels/--run, not both")
        if not args.qrels:
            raise UsageError("--run needs --qrels FILE")
        return _evaluate_runs(args)
    if not args.model or not args.data:
        raise UsageError("evaluate needs --model DIR and --data PATH (or --qrels FILE --run FILE)")
    reporter = Reporter(args.quiet)
    for option in ("out", "predictions"):
        target = getattr(args, option)
        if target:
            target = Path(target)
            if target.is_dir():
                raise UsageError(f"--{option}: {str(target)!r} is a folder")
            _check_out(target, f"--{option}")
    try:
        model = load_model(args.model)
    except FileNotFoundError as exc:
        raise UsageError(f"--model: {exc}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"--model: cannot read the model: {exc}") from None
    meta = model.meta
    label = args.label or meta.get("label_column")
    group = args.group or meta.get("group_column")
    try:
        fmt_letor = _datasets.data_format(args.data) == "letor" if Path(args.data).is_file() else False
    except ValueError as exc:
        raise UsageError(f"--data: {exc}") from None
    zero_based = meta.get("letor_zero_based")
    split = _load_split(
        "data", "--data", args.data, reporter,
        n_features=meta["n_features"] if fmt_letor else None,
        features=None if fmt_letor else meta["feature_names"], label=None if fmt_letor else label, group=group,
        zero_based="auto" if zero_based is None else zero_based,
    )
    if split.X.shape[1] != meta["n_features"]:
        raise UsageError(f"--data: has {split.X.shape[1]} features but the model expects {meta['n_features']}")
    _check_task(model.objective, meta["objective"]["name"], {"data": split})
    convention = args.convention or meta.get("convention", "lightgbm")
    names = args.metric or meta.get("metrics") or list(default_metrics(_reference(model.objective)))
    metrics = _resolve_metrics(names, model.objective, convention)
    raw = model.predict_raw(split.X)
    values = evaluate_metrics(metrics, split.y, raw, group=split.group)
    print(format_table(["data", *values], [[str(split.path), *values.values()]]))
    if args.out:
        atomic_write_json(args.out, {"model": str(args.model), "data": split.summary(), "convention": convention,
                                     "iteration": meta.get("iteration_kept"), "metrics": values})
        reporter.log(f"wrote {args.out}")
    if args.predictions:
        pred = np.asarray(model.objective.transform(raw), dtype=np.float64)
        rows = pred.reshape(len(split.y), -1)
        text = "".join(" ".join(repr(v) for v in row) + "\n" for row in rows.tolist())
        atomic_write_bytes(args.predictions, text.encode())
        reporter.log(f"wrote {args.predictions}")
    return EXIT_OK


def cmd_compare(args):
    reporter = Reporter(args.quiet)
    params, out = _prepare_training(args, args.objective)
    splits = _load_splits(args, reporter)
    n_classes = _n_classes(splits["train"].y)
    built = [(spec, *build_objective(spec, args.backend, params, n_classes=n_classes)[:2]) for spec in args.objective]
    tasks = {o.task for _, o, _ in built}
    if len(tasks) > 1:
        raise UsageError(f"--objective: the objectives mix tasks ({', '.join(sorted(tasks))}); compare like with like")
    metric_names = _metric_names_for(args, built[0][1])
    for _, objective, _ in built[1:]:
        _resolve_metrics(metric_names, objective, args.convention)
    results, raws = [], []
    eval_split = "test" if "test" in splits else ("valid" if "valid" in splits else "train")
    for spec, objective, engine_params in built:
        result, summary = train_one(objective, splits, label=spec, engine_params=engine_params,
                                    metric_names=metric_names, **_training_kwargs(args, reporter))
        results.append(summary)
        raws.append(result.predict_raw(splits[eval_split].X))
    header = ["objective", "backend", *metric_names, "rounds", "seconds"]
    rows = [[r["label"], r["backend"], *[r["final"][eval_split][m] for m in r["metrics"]], r["iteration_kept"],
             r["train_seconds"]] for r in results]
    significance = _compare_significance(args, results, raws, splits[eval_split])
    shown = [list(row) for row in rows]
    if significance:
        for row, r in zip(shown, results):
            row[0] += " (baseline)" if r is results[0] else ""
            for c, m in enumerate(r["metrics"], start=2):
                p = significance["p_values"].get(r["label"], {}).get(m)
                row[c] = f"{row[c]:.4f}" + ("" if p is None else f" (p={p:.3g})")
    print(f"metrics on {eval_split} ({splits[eval_split].path})"
          + (f"; p-values: {significance['test']} test over queries against {results[0]['label']}, "
             f"{significance['correction']} correction" if significance else ""))
    print(format_table(header, shown))
    summary = {"split": eval_split, "metrics": list(results[0]["metrics"]),
               "table": [dict(zip(header, row)) for row in rows], "significance": significance, "results": results}
    with output_directory(out, _OWN_OUTPUTS, reporter.log) as tmp:
        atomic_write_json(tmp / "compare.json", summary)
        plotted = plot_compare(results, results[0]["metrics"], eval_split, tmp / "compare.png", reporter)
    reporter.log(f"wrote {out / 'compare.json'}" + (f", {out / 'compare.png'}" if plotted else ""))
    return EXIT_OK


def _compare_significance(args, results, raws, split):
    """Paired tests over the evaluation split's queries of each objective against the first one (ranking metrics
    only: they have a value per query), or None."""
    names = [m for m in results[0]["metrics"] if not m.endswith("_loss")]
    if args.significance == "none" or split.group is None or not names or len(results) < 2:
        return None
    import pandas as pd

    from .metrics import evaluate
    from .significance import compare_runs

    per_query = {}
    for r, raw in zip(results, raws):
        values = evaluate(split.y, raw, group=split.group, metrics=names, convention=args.convention, reduce=None)
        per_query[r["label"]] = pd.DataFrame({m: values[m] for m in names})
    table = compare_runs(per_query, baseline=results[0]["label"], test=args.significance, seed=args.seed)
    p_values = {}
    for row in table.itertuples():
        if row.system != results[0]["label"]:
            p_values.setdefault(row.system, {})[row.metric] = float(row.p_value_corrected)
    return {"test": args.significance, "correction": "holm", "baseline": results[0]["label"], "p_values": p_values,
            "table": table.to_dict(orient="records")}


def cmd_datasets(args):
    if args.fetch:
        reporter = Reporter(args.quiet)
        if args.fetch not in _datasets.DATASETS:
            raise UsageError(f"--fetch: unknown data set {args.fetch!r}; choose one of {sorted(_datasets.DATASETS)}")
        try:
            location = _datasets.fetch(args.fetch, args.cache_dir, force=args.force, progress=not args.quiet,
                                       log=reporter.log)
        except ValueError as exc:  # FetchError / ChecksumError
            raise UsageError(f"--fetch {args.fetch}: {exc}") from None
        print(location)
        return EXIT_OK
    infos = _datasets.list_datasets()
    if args.json:
        print(json.dumps([{"name": i.name, "task": i.task, "source": i.source, "available": i.available,
                           "splits": list(i.splits), "description": i.description,
                           "location": None if i.location is None else str(i.location)} for i in infos], indent=2))
        return EXIT_OK
    rows = [[i.name, i.task, i.source, "yes" if i.available else "no", "/".join(i.splits), i.description]
            for i in infos]
    print(format_table(["name", "task", "source", "available", "splits", "description"], rows))
    return EXIT_OK


def cmd_demo(args):
    from ._demo import run_demo

    return run_demo(args)


def cmd_simulate_clicks(args):
    """Write a click-labelled copy of a LETOR file and its ``.position`` sibling (LightGBM's convention)."""
    from .clicks import write_click_file
    from .datasets import load_letor, simulate_clicks

    src = Path(args.data)
    if not src.exists():
        raise UsageError(f"--data: no such file '{args.data}'")
    X, y, qid = load_letor(str(src))
    score = None
    if args.ranking_feature is not None:
        if not 0 <= args.ranking_feature < X.shape[1]:
            raise UsageError(f"--ranking-feature {args.ranking_feature} is not a column of {args.data} "
                             f"(0..{X.shape[1] - 1})")
        col = X[:, args.ranking_feature]
        score = np.asarray(col.toarray() if hasattr(col, "toarray") else col, dtype=np.float64).ravel()
    clicks, position = simulate_clicks(y, qid=qid, ranking_score=score, model=args.model, eta=args.eta,
                                       stop_prob=args.stop_prob, seed=args.seed)
    out = Path(args.out)
    write_click_file(src, out, clicks, position)
    print(f"wrote {out} ({int(clicks.sum())} clicks in {len(clicks)} rows) and {out}.position")
    return EXIT_OK


def cmd_warmup(args):
    """Compile every numba kernel once (for container images and CI caches); prints seconds per step."""
    from ._warmup import warmup

    reporter = Reporter(args.quiet)
    seconds = warmup(progress=reporter.log)
    print(format_table(["step", "seconds"], [[k, float(v)] for k, v in seconds.items()]))
    return EXIT_OK


# ==============================================================================================================
# Parser and entry point
# ==============================================================================================================

def _common(parser):
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar or log lines")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")


def _training_options(p, *, multi_objective):
    p.add_argument("--train", required=True, metavar="PATH", help="training data (.txt/.svm/.letor[.gz], .csv, .parquet)")
    p.add_argument("--valid", metavar="PATH", help="validation data (early stopping, learning curve)")
    p.add_argument("--test", metavar="PATH", help="test data (reported, never used for choices)")
    if multi_objective:
        p.add_argument("--objective", action="append", required=True, metavar="NAME",
                       help="objective to compare (repeat): a registry name or NAME:native")
    else:
        p.add_argument("--objective", required=True, metavar="NAME",
                       help="registry name (focal, weighted_ce, huber, quantile, lambdarank, ...) or NAME:native")
    p.add_argument("--param", action="append", metavar="KEY=VALUE",
                   help="objective parameter (e.g. gamma=2) or engine parameter (e.g. min_data_in_leaf=50); repeatable")
    p.add_argument("--backend", choices=("lightgbm", "xgboost"), default="lightgbm")
    p.add_argument("--rounds", type=_positive_int, default=100, metavar="N", help="boosting rounds (default 100)")
    p.add_argument("--learning-rate", type=_positive_float, default=0.1, metavar="X", help="default 0.1")
    p.add_argument("--num-leaves", type=_positive_int, default=None, metavar="N",
                   help="leaves per tree, leaf-wise growth (default: the engine's default shape, see go.train)")
    p.add_argument("--early-stopping", type=_positive_int, metavar="N",
                   help="stop when the first --metric on --valid has not improved for N rounds")
    p.add_argument("--metric", action="append", metavar="NAME",
                   help=f"one of {', '.join(metric_names())} (repeatable; the first drives early stopping)")
    p.add_argument("--convention", choices=("lightgbm", "trec", "sklearn"), default="lightgbm",
                   help="ranking-metric convention (gain, ties, queries without relevant documents)")
    p.add_argument("--label", metavar="COL", help="label column of a CSV/Parquet file")
    p.add_argument("--group", metavar="COL", help="query column of a CSV/Parquet file")
    p.add_argument("--position", metavar="COL", help="displayed-position column of a CSV/Parquet training file "
                                                      "(LETOR: a FILE.position sibling); with --param position_debias")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=_positive_int, metavar="N", help="engine threads (default: all cores)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number; got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive number; got {text!r}")
    return value


def build_parser():
    from . import __version__

    parser = _Parser(prog="gbm-objectives", description="Train and compare GBM objectives (LightGBM, XGBoost).")
    parser.add_argument("--version", action="version", version=f"gbm-objectives {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("train", help="train one objective; write the model, metrics.json and learning_curve.png")
    _training_options(p, multi_objective=False)
    p.add_argument("--dask", metavar="ADDRESS",
                   help="train on a Dask cluster: a scheduler address (tcp://host:8786) or local:N (a LocalCluster of "
                        "N single-thread workers, closed at the end); --train is then a Parquet folder, a "
                        "Parquet/CSV file or a glob of them, read as partitions (ranking: query-aligned by --group)")
    _common(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="score a trained model on a data file, or TREC runs against qrels")
    p.add_argument("--model", metavar="DIR", help="the --out folder of train (or its model/)")
    p.add_argument("--data", metavar="PATH")
    p.add_argument("--qrels", metavar="FILE", help="TREC qrels (with --run: evaluate runs as trec_eval does)")
    p.add_argument("--run", action="append", metavar="FILE", help="TREC run file (repeat to compare runs)")
    p.add_argument("--per-query", action="store_true", help="also print the per-query values")
    p.add_argument("--test", choices=("randomization", "t-test", "bootstrap"),
                   help="paired test of each run against the first (Holm-corrected p-values)")
    p.add_argument("--format", choices=("table", "trec"), default="table", help="trec: trec_eval's line format")
    p.add_argument("--relevance-threshold", type=int, default=1, metavar="N")
    p.add_argument("--metric", action="append", metavar="NAME", help="default: the metrics used in training")
    p.add_argument("--convention", choices=("lightgbm", "trec", "sklearn"), default=None)
    p.add_argument("--label", metavar="COL")
    p.add_argument("--group", metavar="COL")
    p.add_argument("--out", metavar="FILE.json", help="also write the metrics as JSON")
    p.add_argument("--predictions", metavar="FILE",
                   help="write the predictions, one line per row (multiclass: the k class probabilities)")
    _common(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("compare", help="train several objectives on the same data; table, compare.json, compare.png")
    _training_options(p, multi_objective=True)
    p.add_argument("--significance", choices=("randomization", "t-test", "bootstrap", "none"), default="randomization",
                   help="paired test over the evaluation split's queries of each objective against the first "
                        "(ranking metrics; Holm-corrected; default randomization)")
    _common(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("demo", help="focal vs weighted CE vs log loss on both engines (--ranking: LambdaMART)")
    p.add_argument("--rounds", type=_positive_int, default=100, metavar="N")
    p.add_argument("--threads", type=_positive_int, default=1, metavar="N",
                   help="engine threads (default 1: the demo's data sets are small)")
    p.add_argument("--ranking", action="store_true",
                   help="also train LambdaMART (scratch and native, both engines) on make_ranking data")
    p.add_argument("--out", metavar="FILE.json", help="also write the results as JSON")
    _common(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("datasets", help="list the named datasets (generators, scikit-learn sets, local copies); "
                                        "--fetch NAME downloads a public one")
    p.add_argument("--json", action="store_true")
    p.add_argument("--fetch", metavar="NAME", help="download NAME into the cache (checksums verified) and print where")
    p.add_argument("--cache-dir", metavar="DIR", help="download cache (default $GBM_OBJECTIVES_CACHE or ~/.cache)")
    p.add_argument("--force", action="store_true", help="download again even if cached")
    _common(p)
    p.set_defaults(func=cmd_datasets)

    p = sub.add_parser("simulate-clicks", help="write a click-labelled copy of a LETOR file and its .position file")
    _common(p)
    p.add_argument("--data", required=True, metavar="PATH", help="LETOR file with true labels (.txt[.gz])")
    p.add_argument("--out", required=True, metavar="PATH", help="click-labelled copy (PATH.position beside it)")
    p.add_argument("--model", choices=("pbm", "cascade"), default="pbm")
    p.add_argument("--eta", type=float, default=1.0, help="PBM: examination (1/(p+1))**eta (default 1)")
    p.add_argument("--stop-prob", type=float, default=0.2, help="cascade: stop probability (default 0.2)")
    p.add_argument("--ranking-feature", type=int, metavar="COL",
                   help="display each query by this feature column, descending (default: file order)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_simulate_clicks)

    p = sub.add_parser("warmup", help="compile every numba kernel once (for container images and CI caches)")
    _common(p)
    p.set_defaults(func=cmd_warmup)
    return parser


def main(argv=None):
    """Run the command line; returns the exit status (0 ok, 1 failure, 2 usage or input error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    try:
        return int(args.func(args) or EXIT_OK)
    except (UsageError, ValueError, TypeError) as exc:  # the library's input errors, raised before any training
        if debug:
            raise
        print(f"error: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}",
              file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place that turns a failure into a clean message
        if debug:
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"error: {type(exc).__name__}: {message}" if message else f"error: {type(exc).__name__}",
              file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
