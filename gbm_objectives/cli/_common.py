"""What every command of the ``gbm-objectives`` command line (and the demo) shares: the exit codes and
:class:`UsageError`, ``--objective``/``--param`` parsing (:func:`build_objective`), loading data files into
:class:`Split` objects (:func:`load_split`, :func:`load_splits`), the task checks, one training run with its report
(:func:`train_one`), the output-folder check (:func:`check_out`) and the text tables (:func:`format_table`).

This module is the bottom of :mod:`gbm_objectives.cli`: it imports no other module of the sub-package except the
leaf :mod:`gbm_objectives.cli.report` (which imports none).
"""

from __future__ import annotations

import inspect
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from .. import datasets as _datasets
from .._core.progress import Reporter
from ..adapters import ParameterError, owned_parameter
from ..objectives import OBJECTIVES, get_objective
from ..metrics.by_task import default_metrics, get_task_metric
from ..model_io import model_folder_owns
from .._core.segments import boundaries_from_qid
from ..training import NativeObjective, resolve_objective, train
from ._errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError
from ._outputs import check_out, check_out_file
from .report import training_report

__all__ = ["EXIT_OK", "EXIT_FAILURE", "EXIT_USAGE", "UsageError", "parse_params", "check_objective_names",
           "build_objective", "reference_of", "Split", "load_split", "load_splits", "check_task", "infer_n_classes",
           "resolve_metrics", "train_one", "training_params", "OWN_OUTPUTS", "check_out", "check_out_file",
           "format_table", "final_table"]


#: The CLI option behind each engine option the CLI owns (:data:`gbm_objectives.adapters.OWNED_PARAMETERS`).
_OPTION_OF = {"objective": "--objective", "learning_rate": "--learning-rate", "num_boost_round": "--rounds",
              "seed": "--seed", "n_jobs": "--threads", "metric": "--metric", "early_stopping_rounds": "--early-stopping"}


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
        pass
    parts = text.split(",")
    if len(parts) > 1:  # a comma-separated list of numbers: alphas=0.1,0.5,0.9
        try:
            return [float(p) for p in parts]
        except ValueError:
            pass
    return text


def parse_params(items, option="--param"):
    """``{key: value}`` from ``key=value`` strings (values read as JSON, ``true``/``false``/``none`` or text).

    Parameters
    ----------
    items : list of str or None
        The ``--param`` values.
    option : str
        The option named in error messages.

    Raises
    ------
    UsageError
        For an item without ``=`` or a key the command line sets itself (``learning_rate``: use ``--learning-rate``).
    """
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


def check_objective_names(names):
    """Raise :class:`UsageError` unless every ``--objective`` value is a registry name, optionally ``NAME:native``."""
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
    check_objective_names([spec])
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


def reference_of(objective):
    """The registry objective behind ``objective`` (the reference of a :class:`~gbm_objectives.NativeObjective`)."""
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


def load_split(name, option, path, reporter, *, n_features=None, features=None, label=None, group=None,
               zero_based="auto", position=None):
    """Load one data file (LETOR/SVMlight, CSV/TSV or Parquet, by extension) into a :class:`Split`.

    Parameters
    ----------
    name : str
        The split's name (``train``, ``valid``, ``test``, ``data``).
    option : str
        The option that named the file, for error messages (``--train``).
    path : str or Path
    reporter : gbm_objectives._core.progress.Reporter
        Progress bar and log lines.
    n_features, zero_based
        LETOR files: the width and index base to read with (those of the training file for the other splits).
    features, label, group, position
        Tables: the feature columns to keep (those of the training file) and the label, query and position columns.

    Raises
    ------
    UsageError
        For a missing, unreadable or malformed file (one line naming ``option``).
    """
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


def load_splits(args, reporter):
    """``{"train": Split, "valid": ..., "test": ...}`` from ``--train``/``--valid``/``--test`` (the latter two read
    with the training file's features and index base)."""
    splits = {}
    train_split = load_split("train", "--train", args.train, reporter, label=args.label, group=args.group,
                             position=getattr(args, "position", None))
    splits["train"] = train_split
    for name, option in (("valid", "--valid"), ("test", "--test")):
        path = getattr(args, name, None)
        if path:
            splits[name] = load_split(
                name, option, path, reporter, n_features=train_split.X.shape[1],
                features=train_split.feature_names, label=args.label, group=args.group,
                zero_based="auto" if train_split.zero_based is None else train_split.zero_based,
            )
    return splits


def check_task(objective, label, splits):
    """Raise :class:`UsageError` when a split does not fit the objective's task (query ids for ranking, 0/1 labels
    for binary, classes ``0..n_classes-1`` for multiclass)."""
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


def infer_n_classes(y):
    """``max(y) + 1`` for non-negative integer labels, else None (the default ``n_classes`` of multiclass)."""
    if len(y) and np.all(y == np.floor(y)) and y.min() >= 0:
        return int(y.max()) + 1
    return None


# ==============================================================================================================
# Training
# ==============================================================================================================

def resolve_metrics(names, objective, convention):
    """The :class:`gbm_objectives.metrics.by_task.Metric` objects for ``--metric`` names; :class:`UsageError` if unknown."""
    try:
        return [get_task_metric(m, reference_of(objective), convention=convention) for m in names]
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
    objective = resolve_objective(objective, splits["train"].y)  # what needs the labels (multi_quantile's scale)
    reference = reference_of(objective)
    check_task(objective, label, splits)
    metric_names = list(metric_names or default_metrics(reference))
    metrics = resolve_metrics(metric_names, objective, convention)
    if early_stopping and "valid" not in splits:
        raise UsageError("--early-stopping: needs --valid")
    train_split = splits["train"]
    if len(train_split.y) < 2:
        raise UsageError(f"--train: {train_split.path} has {len(train_split.y)} row(s); training needs at least 2")
    params = training_params(learning_rate, seed, num_leaves, engine_params)
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
    elif train_split.position is not None:  # the library refuses position= without debiasing: say it, once
        print(f"warning: {_position_source(train_split)}: the displayed positions are ignored by {label} (no "
              "position debiasing); --param position_debias=additive or ipw learns from them", file=sys.stderr)
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


def _position_source(split):
    """Where a split's positions came from: a LETOR file's ``.position`` sibling or the table's --position column."""
    if split.zero_based is not None:  # a LETOR file
        return f"{split.path}.position"
    return f"{split.path} (--position column)"


def training_params(learning_rate, seed, num_leaves, engine_params):
    """The engine parameters of a run: the CLI's options, then the ``--param`` engine parameters over them."""
    params = {"learning_rate": learning_rate, "seed": seed}
    if num_leaves is not None:
        params["num_leaves"] = num_leaves
    params.update(engine_params or {})
    return params


# ==============================================================================================================
# Output folders
# ==============================================================================================================

class _OwnOutputs:
    """The paths (relative to an output folder) the CLI writes: its files, and what
    :func:`gbm_objectives.save_model` writes in ``model/`` (``meta.json``, the ``v-*`` save folders, ``.lock``,
    format 1/2's top-level model file). ``path in OWN_OUTPUTS`` is what :func:`output_directory` asks."""

    def __init__(self, files, model_folder):
        self.files, self.model_folder = tuple(files), model_folder

    def __contains__(self, path):
        prefix = self.model_folder + "/"
        return path in self.files or (isinstance(path, str) and path.startswith(prefix)
                                      and model_folder_owns(path[len(prefix):]))

    def __iter__(self):
        return iter(self.files)


#: Files the CLI writes in an output folder; anything else found there is the user's and is carried over.
OWN_OUTPUTS = _OwnOutputs(("metrics.json", "learning_curve.png", "compare.json", "compare.png", "fan_chart.png",
                           "cv.json", "cv.png", "tune.json", "tune_history.png", "tune_importance.png"), "model")


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


def final_table(summary):
    """The table of a training report's ``final`` values: one row per split, one column per metric."""
    rows = [[split, *[values[m] for m in summary["metrics"]]] for split, values in summary["final"].items()]
    return format_table(["split", *summary["metrics"]], rows)
