"""The ``gbm-objectives`` command line: train, evaluate, compare, demo, datasets.

::

    gbm-objectives demo
    gbm-objectives train --train PATH [--valid PATH] [--test PATH] --objective NAME [--param key=value ...]
                         [--backend lightgbm|xgboost] [--rounds N] [--learning-rate X] [--early-stopping N]
                         [--metric ndcg@10 ...] [--label COL --group COL] --out DIR
    gbm-objectives evaluate --model DIR --data PATH [--metric ndcg@10 --metric mrr ...]
    gbm-objectives compare --train PATH --valid PATH [--test PATH] --objective lambdarank
                           --objective lambdarank:native ... --out DIR
    gbm-objectives datasets

Objectives are registry names (:data:`gbm_objectives.OBJECTIVES`: ``focal``, ``weighted_ce``, ``huber``,
``quantile``, ``lambdarank``, ...), trained through this package's grad/hess callbacks, or ``NAME:native`` for the
engine's own built-in (``lambdarank:native`` is LightGBM's ``lambdarank`` / XGBoost's ``rank:ndcg``), configured
from the same parameters (see :data:`NATIVE`). ``--param key=value`` goes to the objective when it is one of its
parameters and to the engine otherwise.

Files are read by extension: ``.txt/.svm/.letor/...`` (SVMlight/LETOR, also gzipped), ``.csv/.tsv`` and
``.parquet`` (with ``--label`` and ``--group`` naming the columns).

``train --out DIR`` writes, each atomically (a temporary file renamed into place):

* ``DIR/model/``: ``model.txt`` (LightGBM text model) or ``model.json`` (XGBoost JSON model), and ``meta.json``
  (objective name and parameters, engine parameters, init score, feature names, the iteration kept), read back
  by :func:`load_model` without pickle;
* ``DIR/metrics.json``: every metric on every split, at the kept iteration (``final``) and per round
  (``per_round``);
* ``DIR/learning_curve.png``: each metric per round, train vs valid (and test).

Exit status: 0 on success, 2 for usage and input errors (bad option, missing or malformed file), 1 for failures.
Errors are one line on stderr (``error: --train: no such file 'x.txt'``); ``--debug`` shows the traceback.
A progress bar runs on a terminal, plain log lines otherwise; ``--quiet`` silences both.

>>> main(["datasets", "--quiet"]) == 0   # doctest: +ELLIPSIS
name ...
True
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from . import datasets as _datasets
from ._progress import Reporter
from .adapters import get_backend
from .calibration import brier_score
from .losses import OBJECTIVES, LogLoss, QuantileLoss, get_objective
from .segments import boundaries_from_qid

__all__ = ["main", "load_model", "TrainedModel", "NATIVE", "METRIC_NAMES"]

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
MODEL_FORMAT_VERSION = 1


class UsageError(Exception):
    """A bad command line or input file: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


# ==============================================================================================================
# Objectives: ours (custom grad/hess) or the engines' built-ins (NAME:native)
# ==============================================================================================================

#: ``NAME:native`` -> engine objective per backend, and how our parameters map onto the engine's.
NATIVE = {
    # every option of LambdaRankObjective, through adapters.ranking_params (the mapping LambdaMART uses too)
    "lambdarank": {"lightgbm": "lambdarank", "xgboost": "rank:ndcg", "mapped_by": "ranking_params"},
    "logloss": {"lightgbm": "binary", "xgboost": "binary:logistic", "params": {}},
    "weighted_ce": {
        "lightgbm": "binary",
        "xgboost": "binary:logistic",
        "params": {"lightgbm": {"pos_weight": "scale_pos_weight"}, "xgboost": {"pos_weight": "scale_pos_weight"}},
    },
    "squared_error": {"lightgbm": "regression", "xgboost": "reg:squarederror", "params": {}},
    "huber": {
        "lightgbm": "huber",
        "xgboost": "reg:pseudohubererror",
        "params": {"lightgbm": {"delta": "alpha"}, "xgboost": {"delta": "huber_slope"}},
    },
    "quantile": {
        "lightgbm": "quantile",
        "xgboost": "reg:quantileerror",
        "params": {"lightgbm": {"alpha": "alpha"}, "xgboost": {"alpha": "quantile_alpha"}},
    },
    "softmax": {"lightgbm": "multiclass", "xgboost": "multi:softprob", "params": {}},
}


def _ensure_registry():
    """Import the optional objective modules so that their names are registered."""
    for module in ("ranking", "quantile"):
        with contextlib.suppress(ImportError):
            __import__(f"{__package__}.{module}")


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
        params[key.strip()] = _parse_value(value.strip())
    return params


class ObjectiveSpec:
    """One objective as the CLI trains it: ours through callbacks, or an engine built-in (``native``).

    ``objective`` is always one of our :class:`~gbm_objectives.losses.Objective` instances: for a native spec
    it is the reference that gives the task, the link (``transform``) and the quantile level.
    """

    def __init__(self, spec, backend, params, n_classes=None):
        _ensure_registry()
        name, _, mode = spec.partition(":")
        if mode not in ("", "native"):
            raise UsageError(f"--objective: {spec!r}: the only suffix is ':native' (the engine's built-in)")
        if name not in OBJECTIVES:
            raise UsageError(f"--objective: unknown objective {name!r}; choose one of {sorted(OBJECTIVES)}")
        self.label = spec
        self.name = name
        self.native = mode == "native"
        self.backend = backend
        cls = OBJECTIVES[name]
        accepted = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
        obj_params = {k: v for k, v in params.items() if k in accepted}
        self.engine_params = {k: v for k, v in params.items() if k not in accepted}
        if "n_classes" in accepted and "n_classes" not in obj_params:
            if n_classes is None:
                raise UsageError(f"--objective {name}: needs n_classes (--param n_classes=K)")
            obj_params["n_classes"] = n_classes
        try:
            self.objective = get_objective(name, **obj_params)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"--objective {name}: {exc}") from None
        self.objective_params = obj_params
        if self.native:
            if name not in NATIVE:
                raise UsageError(
                    f"--objective: {spec!r}: {backend} has no built-in equivalent of {name!r}; native objectives: "
                    f"{', '.join(n + ':native' for n in sorted(NATIVE))}"
                )
            table = NATIVE[name]
            self.engine_objective = table[backend]
            if table.get("mapped_by") == "ranking_params":
                from .adapters import ranking_params

                convert = (ranking_params.lightgbm_lambdarank_params if backend == "lightgbm"
                           else ranking_params.xgboost_rank_params)
                try:
                    native = convert(self.objective)
                except ValueError as exc:
                    raise UsageError(f"--objective {spec}: {exc}") from None
                self.engine_objective = native.pop("objective")
                self.engine_params.update(native)
                return
            mapping = table["params"].get(backend, {})
            for key, value in obj_params.items():
                if key == "n_classes":
                    self.engine_params["num_class"] = value
                    continue
                if key not in mapping:
                    raise UsageError(
                        f"--param {key}: {name}:native on {backend} has no equivalent of this parameter"
                    )
                if value is not None:
                    self.engine_params[mapping[key]] = value

    @property
    def task(self):
        return self.objective.task

    def init_score(self, y):
        """The constant start (``None`` for a built-in: the engine boosts from its own average)."""
        if self.native:
            return None
        return self.objective.init_score(y)

    def to_meta(self):
        params = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self.objective_params.items()}
        return {"name": self.name, "native": self.native, "params": params,
                "engine_objective": self.engine_objective if self.native else None}


# ==============================================================================================================
# Metrics
# ==============================================================================================================

def _sigmoid(raw):
    return 0.5 * (1.0 + np.tanh(0.5 * raw))


class Metric:
    """A named metric of ``(y_true, raw_score, qid, spec)``; ``higher_is_better`` decides early stopping."""

    def __init__(self, name, fn, higher_is_better, tasks):
        self.name = name
        self.fn = fn
        self.higher_is_better = higher_is_better
        self.tasks = tasks

    def __call__(self, y, raw, qid, spec):
        return float(self.fn(y, raw, qid, spec))


def _pinball(y, raw, qid, spec):
    """Pinball loss of the predictions at the model's quantile level (0.5, i.e. half the MAE, for other losses)."""
    alpha = spec.objective.alpha if isinstance(spec.objective, QuantileLoss) else 0.5
    return QuantileLoss(alpha).loss(y, spec.objective.transform(raw))


def _objective_loss(y, raw, qid, spec):
    kwargs = {}
    if spec.task == "ranking":
        kwargs["qid"] = qid
    return spec.objective.loss(y, raw, **kwargs)


def _simple_metrics():
    from sklearn import metrics as skm

    return {
        "pr_auc": Metric("pr_auc", lambda y, r, q, s: skm.average_precision_score(y, r), True, ("binary",)),
        # log loss from the raw score (log-sigmoid form, no clipped probability)
        "logloss": Metric("logloss", lambda y, r, q, s: LogLoss().loss(y, r), False, ("binary",)),
        "brier": Metric("brier", lambda y, r, q, s: brier_score(y, s.objective.transform(r)), False, ("binary",)),
        "rmse": Metric("rmse", lambda y, r, q, s: math.sqrt(np.mean((s.objective.transform(r) - y) ** 2)), False,
                       ("regression",)),
        "mae": Metric("mae", lambda y, r, q, s: np.mean(np.abs(s.objective.transform(r) - y)), False,
                      ("regression",)),
        "pinball": Metric("pinball", _pinball, False, ("regression",)),
        "coverage": Metric("coverage", lambda y, r, q, s: np.mean(y <= s.objective.transform(r)), True,
                           ("regression",)),
        "mlogloss": Metric("mlogloss", lambda y, r, q, s: skm.log_loss(
            y, np.clip(s.objective.transform(r), 1e-15, 1), labels=np.arange(r.shape[1])), False, ("multiclass",)),
        "accuracy": Metric("accuracy", lambda y, r, q, s: np.mean(np.argmax(r, axis=1) == y), True,
                           ("multiclass",)),
        "loss": Metric("loss", _objective_loss, False, ("binary", "regression", "multiclass", "ranking")),
    }


#: Metric names the CLI knows besides the ranking family (``ndcg[@k]``, ``mrr[@k]``, ``map[@k]``, ``p@k``, ``auc``).
METRIC_NAMES = ("pr_auc", "logloss", "brier", "rmse", "mae", "pinball", "coverage", "mlogloss", "accuracy", "loss")

DEFAULT_METRICS = {
    "ranking": ("ndcg@10", "ndcg@5", "map", "mrr"),
    "binary": ("auc", "pr_auc", "logloss"),
    "regression": ("rmse", "mae"),
    "quantile": ("pinball", "coverage"),
    "multiclass": ("mlogloss", "accuracy"),
}


def _metrics_module():
    try:
        from . import metrics
    except ImportError as exc:  # pragma: no cover - the metrics module ships with the package
        raise UsageError(f"ranking metrics are unavailable: {exc}") from None
    return metrics


def get_cli_metric(name, task, convention="lightgbm"):
    """Resolve a metric name for a task; ``UsageError`` naming the choices when it does not apply."""
    simple = _simple_metrics()
    if name in simple:
        metric = simple[name]
        if task not in metric.tasks:
            raise UsageError(f"--metric {name}: not defined for a {task} objective")
        return metric
    if name == "auc" and task in ("binary", "regression"):
        # the global AUC of one split: scikit-learn's (equal to gbm_objectives.auc_score without groups, and no
        # JIT compilation on a first run)
        from sklearn.metrics import roc_auc_score

        return Metric("auc", lambda y, r, q, s: roc_auc_score(y, r), True, (task,))
    m = _metrics_module()
    try:
        base, _ = m.parse_metric(name)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"--metric: {exc}; or one of {', '.join(METRIC_NAMES)}") from None
    if task != "ranking" and base != "auc":
        raise UsageError(f"--metric {name}: a ranking metric needs a ranking objective (the task is {task})")
    if task == "multiclass":
        raise UsageError(f"--metric {name}: not defined for a multiclass objective")
    kwargs = {"convention": convention} if base != "auc" else {}
    fn = m.get_metric(name, **kwargs)

    def ranking(y, raw, qid, spec):
        if task == "ranking":
            return fn(y, raw, qid=qid)
        return fn(y, raw)

    metric = Metric(name, ranking, True, ("ranking", "binary", "regression"))
    metric.per_query = task == "ranking"
    metric.convention = convention
    return metric


def evaluate_metrics(metrics, y, raw, qid, spec, group=None):
    """Every metric of ``metrics`` on one split: ``{name: value}``.

    Per-query metrics share one call of :func:`gbm_objectives.metrics.evaluate`, which ranks each query once.
    """
    out = {}
    per_query = [m for m in metrics if getattr(m, "per_query", False)]
    if per_query:
        m = _metrics_module()
        kw = {"group": group} if group is not None else {"qid": qid}
        values = m.evaluate(y, raw, metrics=[x.name for x in per_query], convention=per_query[0].convention, **kw)
        out.update({name: float(v) for name, v in values.items()})
    for metric in metrics:
        if metric.name not in out:
            out[metric.name] = metric(y, raw, qid, spec)
    return {metric.name: out[metric.name] for metric in metrics}


def _default_metric_names(spec):
    if spec.name == "quantile":
        return DEFAULT_METRICS["quantile"]
    return DEFAULT_METRICS[spec.task]


# ==============================================================================================================
# Data
# ==============================================================================================================

class Split:
    """One loaded data set: features, labels, query ids and where they came from."""

    def __init__(self, name, path, X, y, qid, feature_names):
        self.name, self.path, self.X, self.y, self.qid, self.feature_names = name, path, X, y, qid, feature_names
        self.group = None if qid is None else np.diff(boundaries_from_qid(qid))

    def summary(self):
        out = {"path": str(self.path), "rows": int(len(self.y)), "features": int(self.X.shape[1])}
        if self.qid is not None:
            out["queries"] = int(len(self.group))
        return out


def _load_split(name, option, path, args, reporter, *, n_features=None, features=None, label=None, group=None):
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{option}: no such file {str(path)!r}")
    try:
        fmt = _datasets.data_format(path)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None
    try:
        if fmt == "letor":
            size = path.stat().st_size
            with reporter.progress(size, f"loading {path.name}", unit="B", unit_scale=True, every=1) as bar:
                X, y, qid = _datasets.load_letor(path, n_features=n_features, progress=bar.set_to)
            names = [f"f{j + 1}" for j in range(X.shape[1])]
        else:
            table = _datasets.load_table(path, label=label, group=group, features=features)
            X, y, qid = table
            names = table.feature_names
    except (ValueError, OSError) as exc:
        raise UsageError(f"{option}: {exc}") from None
    split = Split(name, path, X, y, qid, names)
    extra = "" if qid is None else f", {len(split.group)} queries"
    reporter.log(f"{name}: {path} ({len(y)} rows, {X.shape[1]} features{extra})")
    return split


def _load_splits(args, reporter, need=("train",)):
    splits = {}
    train = _load_split("train", "--train", args.train, args, reporter, label=args.label, group=args.group)
    splits["train"] = train
    for name, option in (("valid", "--valid"), ("test", "--test")):
        path = getattr(args, name, None)
        if path:
            splits[name] = _load_split(
                name, option, path, args, reporter, n_features=train.X.shape[1],
                features=train.feature_names, label=args.label, group=args.group,
            )
    return splits


def _check_task(spec, splits):
    for split in splits.values():
        option = "--" + split.name
        if spec.task == "ranking" and split.qid is None:
            raise UsageError(
                f"{option}: ranking objective {spec.label!r} needs query ids, and {split.path} has none (a qid: "
                f"column or a sibling .query/.group file for LETOR files; --group COL for tables)"
            )
        if spec.task == "binary":
            bad = (split.y != 0) & (split.y != 1)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise UsageError(f"{option}: {spec.label!r} needs 0/1 labels; got {split.y[i]:g} in row {i}")


def _n_classes(y):
    if len(y) and np.all(y == np.floor(y)) and y.min() >= 0:
        return int(y.max()) + 1
    return None


# ==============================================================================================================
# Training
# ==============================================================================================================

def _engine_params(args, spec):
    if spec.backend == "lightgbm":
        params = {"learning_rate": args.learning_rate, "num_leaves": args.num_leaves, "seed": args.seed,
                  "deterministic": True, "verbosity": -1, "metric": "None"}
        if args.threads:
            params["num_threads"] = args.threads
    else:
        params = {"eta": args.learning_rate, "max_leaves": args.num_leaves, "grow_policy": "lossguide",
                  "max_depth": 0, "seed": args.seed, "tree_method": "hist", "verbosity": 0,
                  "disable_default_eval_metric": 1}
        if args.threads:
            params["nthread"] = args.threads
    params.update(spec.engine_params)
    return params


def _engine_output_to_raw(spec, preds):
    """What the engine hands an evaluation callback, as raw scores (built-ins pass probabilities)."""
    preds = np.asarray(preds, dtype=np.float64)
    if not spec.native:
        return preds
    if spec.task == "binary":
        p = np.clip(preds, 1e-15, 1 - 1e-15)
        return np.log(p) - np.log1p(-p)
    if spec.task == "multiclass":
        return np.log(np.clip(preds, 1e-300, None))
    return preds


def _early_stopping_eval(spec, metric, split):
    """An engine evaluation callback for ``metric`` on ``split`` (the one early stopping watches)."""
    name = metric.name

    def value(preds):
        raw = _engine_output_to_raw(spec, preds)
        if raw.ndim == 1 and spec.task == "multiclass":
            raw = raw.reshape(len(split.y), -1, order="F")
        return metric(split.y, raw, split.qid, spec)

    if spec.backend == "lightgbm":
        def feval(preds, eval_data):
            return name, value(preds), metric.higher_is_better

        return {"feval": feval}

    sign = -1.0 if metric.higher_is_better else 1.0  # XGBoost's early stopping minimises this name

    def custom_metric(predt, dmatrix):
        return (f"neg_{name}" if sign < 0 else name), sign * value(predt)

    return {"custom_metric": custom_metric}


def _checkpoints(n_rounds, limit=500):
    if n_rounds <= limit:
        return list(range(1, n_rounds + 1))
    return sorted(set(np.linspace(1, n_rounds, limit).round().astype(int).tolist()))


def train_one(spec, splits, args, reporter, metric_names, *, staged=True):
    """Train one objective; returns (booster, result dict)."""
    backend = get_backend(spec.backend)
    _check_task(spec, splits)
    train = splits["train"]
    metrics = [get_cli_metric(m, spec.task, args.convention) for m in metric_names]
    init = spec.init_score(train.y)
    params = _engine_params(args, spec)
    objective = spec.engine_objective if spec.native else spec.objective
    kwargs = {}
    if args.early_stopping:
        if "valid" not in splits:
            raise UsageError("--early-stopping: needs --valid")
        valid = splits["valid"]
        kwargs.update(valid_sets=[("valid", valid.X, valid.y, None, valid.group)],
                      early_stopping_rounds=args.early_stopping, **_early_stopping_eval(spec, metrics[0], valid))
    reporter.log(f"training {spec.label} on {spec.backend}: {args.rounds} rounds, learning rate {args.learning_rate}")
    bar = reporter.progress(args.rounds, f"{spec.label} rounds", every=max(1, args.rounds // 10))
    callbacks = [backend.progress_callback(bar.set_to)]
    t0 = time.perf_counter()
    with bar:
        booster, evals_result = backend.train(
            objective, train.X, train.y, params=params, num_boost_round=args.rounds, group=train.group,
            init_score=init, callbacks=callbacks, **kwargs,
        )
    seconds = time.perf_counter() - t0
    trained = backend.num_rounds(booster)
    best = None
    history = None
    if args.early_stopping:
        # the engine's record of the watched metric, one value per round trained (XGBoost's is negated when
        # higher is better, see _early_stopping_eval); LightGBM truncates the returned model to the best round
        (values,) = evals_result["valid"].values()
        history = [float(v) * (-1.0 if spec.backend == "xgboost" and metrics[0].higher_is_better else 1.0)
                   for v in values]
        trained = len(history)
        raw_best = getattr(booster, "best_iteration", None)
        if raw_best is not None:
            # LightGBM's best_iteration counts rounds (1-based); XGBoost's is a 0-based index
            best = int(raw_best) + (1 if spec.backend == "xgboost" else 0)
            best = best if best > 0 else None
    kept = best or trained
    result = {
        "objective": spec.to_meta(),
        "label": spec.label,
        "backend": spec.backend,
        "task": spec.task,
        "engine_params": _jsonable(params),
        "rounds_requested": args.rounds,
        "rounds_trained": trained,
        "best_iteration": best,
        "iteration_kept": kept,
        "early_stopping": None if not args.early_stopping else
        {"metric": metrics[0].name, "split": "valid", "patience": args.early_stopping, "history": history},
        "train_seconds": round(seconds, 4),
        "init_score": _jsonable(init),
        "convention": args.convention,
        "metrics": [m.name for m in metrics],
        "data": {name: s.summary() for name, s in splits.items()},
    }
    iterations = _checkpoints(kept) if staged else [kept]
    if kept not in iterations:
        iterations = sorted(set(iterations) | {kept})
    per_round = {"iterations": iterations}
    final = {}
    for name, split in splits.items():
        curves = {m.name: [] for m in metrics}
        group = split.group
        for it, raw in backend.staged_predict_raw(booster, split.X, init, iterations):
            values = evaluate_metrics(metrics, split.y, np.asarray(raw, dtype=np.float64), split.qid, spec, group)
            for metric_name, value in values.items():
                curves[metric_name].append(value)
            if it == kept:
                final[name] = values
        per_round[name] = curves
    result["final"] = final
    if staged:
        result["per_round"] = per_round
    return booster, result


def _jsonable(x):
    if x is None:
        return None
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (np.floating, np.integer, np.bool_)):
        return x.item()
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


# ==============================================================================================================
# Atomic output
# ==============================================================================================================

def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path, data):
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; give it a normal file's mode
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_json(path, obj):
    atomic_write_bytes(path, (json.dumps(_jsonable(obj), indent=2, allow_nan=False) + "\n").encode())


@contextlib.contextmanager
def atomic_directory(path):
    """Yield a temporary folder; on success it replaces ``path`` (the old one is removed only afterwards)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if path.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
        os.replace(path, old / "x")
    os.replace(tmp, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _save_png(fig, path):
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    atomic_write_bytes(path, buf.getvalue())


def _pyplot(reporter, what):
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError:
        reporter.log(f"matplotlib is not installed: skipping {what} (pip install 'gbm_objectives[plot]')")
        return None
    return plt


def plot_learning_curve(result, path, reporter):
    plt = _pyplot(reporter, Path(path).name)
    if plt is None:
        return False
    per_round = result["per_round"]
    names = result["metrics"]
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.4), squeeze=False)
    for ax, metric in zip(axes[0], names):
        for split in ("train", "valid", "test"):
            if split in per_round:
                ax.plot(per_round["iterations"], per_round[split][metric], label=split)
        if result.get("best_iteration"):
            ax.axvline(result["best_iteration"], color="grey", linestyle=":", label="best")
        ax.set_xlabel("round")
        ax.set_title(metric)
        ax.grid(alpha=0.3)
    axes[0][0].legend()
    fig.suptitle(f"{result['label']} ({result['backend']})")
    _save_png(fig, path)
    plt.close(fig)
    return True


# ==============================================================================================================
# Models on disk
# ==============================================================================================================

class TrainedModel:
    """A model written by ``gbm-objectives train``: the engine booster plus what is needed to score with it.

    Attributes
    ----------
    meta : dict
        The contents of ``meta.json``.
    booster : lightgbm.Booster or xgboost.Booster
    """

    def __init__(self, booster, meta):
        self.booster = booster
        self.meta = meta
        _ensure_registry()
        obj = meta["objective"]
        self.objective = get_objective(obj["name"], **obj["params"])

    @property
    def backend(self):
        return self.meta["backend"]

    @property
    def feature_names(self):
        return self.meta["feature_names"]

    def predict_raw(self, X):
        """Raw scores (margin) including the init score, at the kept iteration."""
        backend = get_backend(self.backend)
        init = self.meta["init_score"]
        init = None if init is None else np.asarray(init, dtype=np.float64)
        return np.asarray(backend.predict_raw(self.booster, X, init, self.meta["iteration_kept"]), dtype=np.float64)

    def predict(self, X):
        """Predictions: probabilities, values or ranking scores (the objective's ``transform`` of the raw score)."""
        return self.objective.transform(self.predict_raw(X))


def save_model(directory, booster, result, feature_names, label_column=None, group_column=None):
    backend = get_backend(result["backend"])
    filename = "model.txt" if result["backend"] == "lightgbm" else "model.json"
    meta = {
        "format_version": MODEL_FORMAT_VERSION,
        "package": "gbm_objectives",
        "backend": result["backend"],
        "model_file": filename,
        "objective": result["objective"],
        "task": result["task"],
        "engine_params": result["engine_params"],
        "init_score": result["init_score"],
        "iteration_kept": result["iteration_kept"],
        "feature_names": list(feature_names),
        "n_features": len(feature_names),
        "label_column": label_column,
        "group_column": group_column,
        "metrics": result["metrics"],
        "convention": result["convention"],
    }
    with atomic_directory(directory) as tmp:
        backend.save_booster(booster, tmp / filename, num_iteration=result["iteration_kept"])
        atomic_write_json(tmp / "meta.json", meta)
    return meta


def load_model(path):
    """Load a model written by ``gbm-objectives train`` (``path`` is the ``--out`` folder or its ``model/``)."""
    path = Path(path)
    if (path / "model" / "meta.json").is_file():
        path = path / "model"
    meta_path = path / "meta.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"no model at {str(path)!r} (expected {str(meta_path)!r})")
    meta = json.loads(meta_path.read_text())
    if meta.get("format_version") != MODEL_FORMAT_VERSION:
        raise ValueError(f"{meta_path}: unsupported model format version {meta.get('format_version')!r}")
    booster = get_backend(meta["backend"]).load_booster(path / meta["model_file"])
    return TrainedModel(booster, meta)


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


def _final_table(result):
    rows = []
    for split, values in result["final"].items():
        rows.append([split, *[values[m] for m in result["metrics"]]])
    return format_table(["split", *result["metrics"]], rows)


# ==============================================================================================================
# Subcommands
# ==============================================================================================================

def _spec_for(objective, args, train):
    params = _parse_params(args.param)
    return ObjectiveSpec(objective, args.backend, params, n_classes=_n_classes(train.y))


def _check_objective_names(names):
    _ensure_registry()
    for spec in names:
        name, _, mode = spec.partition(":")
        if name not in OBJECTIVES:
            raise UsageError(f"--objective: unknown objective {name!r}; choose one of {sorted(OBJECTIVES)}")
        if mode not in ("", "native"):
            raise UsageError(f"--objective: {spec!r}: the only suffix is ':native' (the engine's built-in)")


def cmd_train(args):
    reporter = Reporter(args.quiet)
    out = Path(args.out)
    _check_objective_names([args.objective])
    _parse_params(args.param)
    splits = _load_splits(args, reporter)
    spec = _spec_for(args.objective, args, splits["train"])
    metric_names = args.metric or _default_metric_names(spec)
    booster, result = train_one(spec, splits, args, reporter, metric_names)
    save_model(out / "model", booster, result, splits["train"].feature_names, args.label, args.group)
    atomic_write_json(out / "metrics.json", result)
    plotted = plot_learning_curve(result, out / "learning_curve.png", reporter)
    print(_final_table(result))
    kept = result["iteration_kept"]
    note = f" (best iteration {kept} of {result['rounds_trained']})" if result["best_iteration"] else ""
    reporter.log(f"trained {spec.label} on {spec.backend} in {result['train_seconds']:.2f} s{note}")
    reporter.log(f"wrote {out / 'model'}/, {out / 'metrics.json'}" + (f", {out / 'learning_curve.png'}" if plotted else ""))
    return EXIT_OK


def cmd_evaluate(args):
    reporter = Reporter(args.quiet)
    try:
        model = load_model(args.model)
    except FileNotFoundError as exc:
        raise UsageError(f"--model: {exc}") from None
    except (ValueError, KeyError) as exc:
        raise UsageError(f"--model: cannot read the model: {exc}") from None
    meta = model.meta
    label = args.label or meta.get("label_column")
    group = args.group or meta.get("group_column")
    try:
        fmt_letor = _datasets.data_format(args.data) == "letor" if Path(args.data).is_file() else False
    except ValueError as exc:
        raise UsageError(f"--data: {exc}") from None
    split = _load_split(
        "data", "--data", args.data, args, reporter,
        n_features=meta["n_features"] if fmt_letor else None,
        features=None if fmt_letor else meta["feature_names"], label=label, group=group,
    )
    if split.X.shape[1] != meta["n_features"]:
        raise UsageError(f"--data: has {split.X.shape[1]} features but the model expects {meta['n_features']}")
    spec = ObjectiveSpec(meta["objective"]["name"] + (":native" if meta["objective"]["native"] else ""),
                         meta["backend"], dict(meta["objective"]["params"]))
    _check_task(spec, {"data": split})
    convention = args.convention or meta.get("convention", "lightgbm")
    metric_names = args.metric or meta.get("metrics") or _default_metric_names(spec)
    metrics = [get_cli_metric(m, spec.task, convention) for m in metric_names]
    raw = model.predict_raw(split.X)
    values = evaluate_metrics(metrics, split.y, raw, split.qid, spec, split.group)
    print(format_table(["data", *values], [[str(split.path), *values.values()]]))
    if args.out:
        atomic_write_json(args.out, {"model": str(args.model), "data": split.summary(), "convention": convention,
                                     "iteration": meta["iteration_kept"], "metrics": values})
        reporter.log(f"wrote {args.out}")
    if args.predictions:
        text = "".join(f"{v!r}\n" for v in np.asarray(model.objective.transform(raw)).ravel().tolist())
        atomic_write_bytes(args.predictions, text.encode())
        reporter.log(f"wrote {args.predictions}")
    return EXIT_OK


def cmd_compare(args):
    reporter = Reporter(args.quiet)
    out = Path(args.out)
    _check_objective_names(args.objective)
    _parse_params(args.param)
    splits = _load_splits(args, reporter)
    specs = [_spec_for(o, args, splits["train"]) for o in args.objective]
    tasks = {s.task for s in specs}
    if len(tasks) > 1:
        raise UsageError(f"--objective: the objectives mix tasks ({', '.join(sorted(tasks))}); compare like with like")
    metric_names = args.metric or _default_metric_names(specs[0])
    results = []
    for spec in specs:
        _, result = train_one(spec, splits, args, reporter, metric_names)
        results.append(result)
    eval_split = "test" if "test" in splits else ("valid" if "valid" in splits else "train")
    header = ["objective", "backend", *[f"{m}" for m in metric_names], "rounds", "seconds"]
    rows = [[r["label"], r["backend"], *[r["final"][eval_split][m] for m in metric_names], r["iteration_kept"],
             r["train_seconds"]] for r in results]
    print(f"metrics on {eval_split} ({splits[eval_split].path})")
    print(format_table(header, rows))
    summary = {
        "split": eval_split,
        "metrics": list(metric_names),
        "table": [dict(zip(header, row)) for row in rows],
        "results": results,
    }
    atomic_write_json(out / "compare.json", summary)
    plotted = plot_compare(results, metric_names, eval_split, out / "compare.png", reporter)
    reporter.log(f"wrote {out / 'compare.json'}" + (f", {out / 'compare.png'}" if plotted else ""))
    return EXIT_OK


def plot_compare(results, metric_names, eval_split, path, reporter):
    plt = _pyplot(reporter, Path(path).name)
    if plt is None:
        return False
    first = metric_names[0]
    fig, (bar_ax, curve_ax) = plt.subplots(1, 2, figsize=(10, 3.8))
    labels = [r["label"] for r in results]
    values = [r["final"][eval_split][first] for r in results]
    bars = bar_ax.bar(range(len(labels)), values, color=[f"C{i}" for i in range(len(labels))])
    bar_ax.set_xticks(range(len(labels)), labels, rotation=20, ha="right")
    bar_ax.set_title(f"{first} on {eval_split}")
    for b, v in zip(bars, values):
        bar_ax.annotate(f"{v:.4f}", (b.get_x() + b.get_width() / 2, b.get_height()), ha="center", va="bottom",
                        fontsize=8)
    low = min(values)
    bar_ax.set_ylim(bottom=max(0.0, low - 0.1 * (abs(low) + 1e-12)) if low > 0 else None)
    curve_split = "valid" if all("valid" in r["per_round"] for r in results) else eval_split
    styles = ("-", "--", ":", "-.")
    for i, r in enumerate(results):
        curve_ax.plot(r["per_round"]["iterations"], r["per_round"][curve_split][first], label=r["label"],
                      color=f"C{i}", linestyle=styles[i % len(styles)])
    curve_ax.set_xlabel("round")
    curve_ax.set_title(f"{first} on {curve_split} per round")
    curve_ax.grid(alpha=0.3)
    curve_ax.legend(fontsize=8)
    _save_png(fig, path)
    plt.close(fig)
    return True


def cmd_datasets(args):
    rows = []
    infos = _datasets.list_datasets()
    for info in infos:
        rows.append([info.name, info.task, info.source, "yes" if info.available else "no", "/".join(info.splits),
                     info.description])
    if args.json:
        print(json.dumps([{"name": i.name, "task": i.task, "source": i.source, "available": i.available,
                           "splits": list(i.splits), "description": i.description,
                           "location": None if i.location is None else str(i.location)} for i in infos], indent=2))
    else:
        print(format_table(["name", "task", "source", "available", "splits", "description"], rows))
    return EXIT_OK


def _demo_splits(name, X_by_split):
    return {split: Split(split, f"{name}:{split}", X, y, qid, [f"f{j}" for j in range(X.shape[1])])
            for split, (X, y, qid) in X_by_split.items()}


def _demo_run(title, splits, specs, metric_names, args, reporter):
    print(f"\n{title}")
    header = ["objective", "backend", *metric_names, "seconds"]
    rows, results = [], []
    for backend, spec_text, params in specs:
        spec = ObjectiveSpec(spec_text, backend, dict(params))
        train_args = argparse.Namespace(
            learning_rate=0.1, num_leaves=15, seed=0, threads=args.threads, rounds=args.rounds, early_stopping=None,
            convention="lightgbm",
        )
        _, result = train_one(spec, splits, train_args, Reporter(True), metric_names, staged=False)
        shown = spec_text if not params else f"{spec_text}({', '.join(f'{k}={v:g}' for k, v in params.items())})"
        rows.append([shown, backend, *[result["final"]["test"][m] for m in metric_names], result["train_seconds"]])
        result["shown"] = shown
        results.append(result)
        reporter.log(f"  trained {shown} on {backend}")
    print(format_table(header, rows))
    return {"title": title, "metrics": list(metric_names), "table": [dict(zip(header, r)) for r in rows]}


def cmd_demo(args):
    """Focal vs weighted cross-entropy vs log loss on both engines; then LambdaMART scratch vs native."""
    reporter = Reporter(args.quiet)
    t0 = time.perf_counter()
    sections = []
    print(f"gbm-objectives demo: {args.rounds} rounds, learning rate 0.1, 15 leaves; metrics on the held-out test split")

    data = {s: _datasets.load("breast_cancer", s)[:2] + (None,) for s in ("train", "test")}
    splits = _demo_splits("breast_cancer", data)
    y = splits["train"].y
    pos_weight = float((y == 0).sum() / (y == 1).sum())
    objectives = [("logloss:native", {}), ("logloss", {}), ("weighted_ce", {"pos_weight": pos_weight}),
                  ("focal", {"alpha": 0.25, "gamma": 2.0})]
    specs = [(b, o, p) for b in ("lightgbm", "xgboost") for o, p in objectives]
    sections.append(_demo_run(
        f"1. breast cancer (scikit-learn; {len(y)} train / {len(splits['test'].y)} test rows, "
        f"{y.mean():.0%} positive)", splits, specs, ("auc", "pr_auc", "logloss"), args, reporter))

    X, y = _datasets.make_imbalanced(n_samples=20000, positive_rate=0.01, seed=0)
    data = {"train": (X[:15000], y[:15000], None), "test": (X[15000:], y[15000:], None)}
    splits = _demo_splits("make_imbalanced", data)
    pos_weight = float((y[:15000] == 0).sum() / (y[:15000] == 1).sum())
    objectives = [("logloss", {}), ("weighted_ce", {"pos_weight": pos_weight}), ("focal", {"alpha": 0.25, "gamma": 2.0})]
    specs = [("lightgbm", o, p) for o, p in objectives]
    sections.append(_demo_run(
        "2. make_imbalanced (15,000 train / 5,000 test rows, 1% positive): logloss is computed on the focal/weighted "
        "models' own probabilities, which they shift on purpose; compare them on pr_auc", splits, specs,
        ("auc", "pr_auc", "logloss"), args, reporter))

    _ensure_registry()
    if not args.ranking:
        print("\n3. ranking (LambdaMART from scratch vs the engines' built-ins): gbm-objectives demo --ranking "
              "(its first run compiles the ranking kernels, about a minute; cached afterwards)")
    elif "lambdarank" in OBJECTIVES:
        X, y, qid = _datasets.make_ranking(n_queries=300, docs_per_query=(10, 60), n_features=40, seed=0)
        cut = int(np.searchsorted(qid, 225))
        data = {"train": (X[:cut], y[:cut], qid[:cut]), "test": (X[cut:], y[cut:], qid[cut:])}
        splits = _demo_splits("make_ranking", data)
        specs = [(b, o, {}) for b in ("lightgbm", "xgboost") for o in ("lambdarank", "lambdarank:native")]
        sections.append(_demo_run(
            f"3. make_ranking (225 train / 75 test queries, {len(y)} documents): LambdaMART from scratch vs the "
            f"engines' built-ins", splits, specs, ("ndcg@10", "map", "mrr"), args, reporter))
    else:
        print("\n3. (ranking objectives not available in this build: skipped)")
    seconds = time.perf_counter() - t0
    print(f"\ndone in {seconds:.1f} s")
    if args.out:
        atomic_write_json(args.out, {"rounds": args.rounds, "seconds": round(seconds, 2), "sections": sections})
        reporter.log(f"wrote {args.out}")
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
                   help="objective parameter (e.g. gamma=2) or engine parameter (e.g. num_leaves=63); repeatable")
    p.add_argument("--backend", choices=("lightgbm", "xgboost"), default="lightgbm")
    p.add_argument("--rounds", type=_positive_int, default=100, metavar="N", help="boosting rounds (default 100)")
    p.add_argument("--learning-rate", type=_positive_float, default=0.1, metavar="X", help="default 0.1")
    p.add_argument("--num-leaves", type=_positive_int, default=31, metavar="N", help="leaves per tree (default 31)")
    p.add_argument("--early-stopping", type=_positive_int, metavar="N",
                   help="stop when the first --metric on --valid has not improved for N rounds")
    p.add_argument("--metric", action="append", metavar="NAME",
                   help="ndcg@10, mrr, map@5, p@10, auc, pr_auc, logloss, rmse, mae, pinball, coverage, loss ... "
                        "(repeatable; the first drives early stopping)")
    p.add_argument("--convention", choices=("lightgbm", "trec", "sklearn"), default="lightgbm",
                   help="ranking-metric convention (gain, ties, queries without relevant documents)")
    p.add_argument("--label", metavar="COL", help="label column of a CSV/Parquet file")
    p.add_argument("--group", metavar="COL", help="query column of a CSV/Parquet file")
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
    _common(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="score a trained model on a data file")
    p.add_argument("--model", required=True, metavar="DIR", help="the --out folder of train (or its model/)")
    p.add_argument("--data", required=True, metavar="PATH")
    p.add_argument("--metric", action="append", metavar="NAME", help="default: the metrics used in training")
    p.add_argument("--convention", choices=("lightgbm", "trec", "sklearn"), default=None)
    p.add_argument("--label", metavar="COL")
    p.add_argument("--group", metavar="COL")
    p.add_argument("--out", metavar="FILE.json", help="also write the metrics as JSON")
    p.add_argument("--predictions", metavar="FILE", help="write one prediction per line")
    _common(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("compare", help="train several objectives on the same data; table, compare.json, compare.png")
    _training_options(p, multi_objective=True)
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

    p = sub.add_parser("datasets", help="list the named datasets (generators, scikit-learn sets, local copies)")
    p.add_argument("--json", action="store_true")
    _common(p)
    p.set_defaults(func=cmd_datasets)
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
    except UsageError as exc:
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
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
