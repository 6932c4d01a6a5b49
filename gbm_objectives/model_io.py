"""Models on disk: :func:`save_model` and :func:`load_model`, without pickle.

A model directory holds the engine's own model file (LightGBM text ``model.txt`` or XGBoost JSON ``model.json``,
truncated to the kept iteration) and ``meta.json``: format version, backend, objective (name, parameters,
built-in or not), init score, best iteration, feature names, plus whatever the caller adds (the CLI records its
label and group columns, metrics, convention and how LETOR features were read). :func:`load_model` returns a
:class:`~gbm_objectives.TrainResult`, so a reloaded model predicts exactly as the trained one
(``predict_raw``, ``predict``).

Format history: version 1 (gbm_objectives 0.1, written by ``gbm-objectives train``) stored the kept round as
``iteration_kept``; version 2 adds ``best_iteration`` and writes the objective's non-default parameters. Both
load.

Files are written to a temporary folder next to ``directory``, which then replaces it as a whole: a failure leaves
the previous model intact, and nothing else in the parent folder is touched.

>>> import tempfile, numpy as np, gbm_objectives as go
>>> X = np.random.default_rng(0).normal(size=(200, 3)); y = (X[:, 0] > 0).astype(float)
>>> res = go.train("logloss", X, y, num_boost_round=5, n_jobs=1)
>>> with tempfile.TemporaryDirectory() as d:
...     _ = go.save_model(d + "/m", res)
...     bool(np.array_equal(go.load_model(d + "/m").predict_raw(X), res.predict_raw(X)))
True
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .adapters import get_backend
from .objectives import get_objective
from .training import NativeObjective, TrainResult

__all__ = ["save_model", "load_model", "MODEL_FORMAT_VERSION", "atomic_write_bytes", "atomic_write_json",
           "atomic_directory", "output_directory", "jsonable", "objective_meta"]

MODEL_FORMAT_VERSION = 2
_READABLE_VERSIONS = (1, 2)
_MODEL_FILES = {"lightgbm": "model.txt", "xgboost": "model.json"}


# ---- atomic output ----------------------------------------------------------------------------------------
def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def jsonable(x):
    """``x`` with NumPy scalars/arrays as Python values and non-finite floats as None (strict JSON)."""
    if x is None:
        return None
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, (np.floating, np.integer, np.bool_)):
        return jsonable(x.item())
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x


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
    """:func:`atomic_write_bytes` of ``obj`` as indented strict JSON."""
    atomic_write_bytes(path, (json.dumps(jsonable(obj), indent=2, allow_nan=False) + "\n").encode())


@contextlib.contextmanager
def atomic_directory(path):
    """Yield a temporary folder beside ``path``; on success it replaces ``path`` as a whole.

    The old folder is moved aside first and removed only once the new one is in place; on failure the temporary
    folder is removed and ``path`` is left as it was.
    """
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


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_stale(out, log):
    """Remove temporary folders that a killed run left beside ``out`` (their process no longer exists)."""
    for stale in out.parent.glob(f".{out.name}.tmp-*"):
        try:
            pid = int(stale.name.rsplit(".tmp-", 1)[1].split("-")[0])
        except (IndexError, ValueError):
            continue
        if not _pid_alive(pid):
            shutil.rmtree(stale, ignore_errors=True)
            log(f"removed {stale}, left by an interrupted run")


@contextlib.contextmanager
def output_directory(out, own_outputs=(), log=print):
    """Yield a temporary folder beside ``out``; on success it replaces ``out`` whole; on failure ``out`` is left
    untouched. Files of an existing ``out`` that are not among ``own_outputs`` (paths relative to ``out``, the
    files the caller writes) are the user's: they are carried over (hard links), never deleted. Temporary folders
    of killed runs (``.NAME.tmp-PID-*`` whose process is gone) are removed first."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale(out, log)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=out.parent))
    try:
        yield tmp
        if out.is_dir():
            for path in sorted(out.rglob("*")):
                rel = path.relative_to(out)
                if rel.as_posix() in own_outputs or (tmp / rel).exists() or not (path.is_file() or path.is_symlink()):
                    continue
                (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                os.link(path, tmp / rel) if path.is_file() and not path.is_symlink() else shutil.copy2(
                    path, tmp / rel, follow_symlinks=False)
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-{os.getpid()}-", dir=out.parent))
            os.replace(out, old / "x")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


# ---- models -----------------------------------------------------------------------------------------------
def objective_meta(objective, backend):
    """The ``objective`` entry of ``meta.json``: name, built-in or not, non-default parameters, engine objective."""
    native = isinstance(objective, NativeObjective)
    reference = objective.reference if native else objective
    return {"name": reference.name, "native": native, "params": jsonable(non_default_params(reference)),
            "engine_objective": objective.engine_params(backend)["objective"] if native else None}


def non_default_params(objective):
    """The constructor parameters of ``objective`` that differ from their defaults (``n_classes`` always)."""
    import inspect

    signature = inspect.signature(type(objective).__init__).parameters
    out = {}
    for key, value in objective.get_params().items():
        default = signature[key].default
        same = default is not inspect.Parameter.empty and (
            value is default if value is None or default is None
            else bool(np.array_equal(np.asarray(value), np.asarray(default))))
        if key == "n_classes" or not same:
            out[key] = value
    return out


def save_model(directory, result, *, feature_names=None, metadata=None):
    """Write ``result`` (a :class:`~gbm_objectives.TrainResult`) to ``directory``; returns the meta dict.

    Parameters
    ----------
    directory : str or Path
        Replaced as a whole (atomically) if it exists.
    result : TrainResult
    feature_names : sequence of str, optional
        Recorded in ``meta.json`` (default: the booster's own).
    metadata : dict, optional
        Extra JSON-able entries stored in ``meta.json`` beside the model's own (which they may not replace).
    """
    if not isinstance(result, TrainResult):
        raise TypeError(f"result must be what gbm_objectives.train returns; got {type(result).__name__}")
    backend = get_backend(result.backend)
    filename = _MODEL_FILES[result.backend]
    kept = result.best_iteration or result.num_rounds
    if feature_names is None:
        feature_names = backend.feature_names(result.booster)
    meta = {
        "format_version": MODEL_FORMAT_VERSION,
        "package": "gbm_objectives",
        "backend": result.backend,
        "model_file": filename,
        "objective": objective_meta(result.objective, result.backend),
        "task": result.objective.task,
        "engine_params": jsonable({k: v for k, v in result.params.items() if not callable(v)}),
        "init_score": jsonable(result.init_score),
        "best_iteration": result.best_iteration,
        "iteration_kept": kept,
        "feature_names": list(feature_names),
        "n_features": len(feature_names),
        # learning from clicks: the learned position biases / propensity tables (None otherwise)
        "position_bias": jsonable(getattr(result, "position_bias", None)),
    }
    for key, value in (metadata or {}).items():
        if key in meta:
            raise ValueError(f"metadata may not replace the model's own entry {key!r}")
        meta[key] = jsonable(value)
    with atomic_directory(directory) as tmp:
        backend.save_booster(result.booster, tmp / filename, num_iteration=kept)
        atomic_write_json(tmp / "meta.json", meta)
    return meta


def _read_meta(path):
    path = Path(path)
    if (path / "model" / "meta.json").is_file():  # the --out folder of `gbm-objectives train`
        path = path / "model"
    meta_path = path / "meta.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"no model at {str(path)!r} (expected {str(meta_path)!r})")
    try:
        meta = json.loads(meta_path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{meta_path}: not a model description (invalid JSON: {exc})") from None
    if not isinstance(meta, dict) or meta.get("format_version") not in _READABLE_VERSIONS:
        version = meta.get("format_version") if isinstance(meta, dict) else None
        raise ValueError(f"{meta_path}: unsupported model format version {version!r} (readable: "
                         f"{list(_READABLE_VERSIONS)})")
    missing = [k for k in ("backend", "model_file", "objective", "init_score", "feature_names") if k not in meta]
    if missing:
        raise ValueError(f"{meta_path}: incomplete model description, missing {missing}")
    if meta["format_version"] == 1:  # 0.1: the CLI's format
        meta = dict(meta)
        meta["best_iteration"] = None
    return path, meta


def load_model(path):
    """Load a model written by :func:`save_model` or ``gbm-objectives train`` (the ``--out`` folder or its
    ``model/``); returns a :class:`~gbm_objectives.TrainResult` whose ``meta`` attribute holds ``meta.json``.

    Raises
    ------
    FileNotFoundError
        No ``meta.json`` or no model file.
    ValueError
        An unreadable, incomplete or newer-format description, or a corrupted model file.
    """
    path, meta = _read_meta(path)
    backend_name = meta["backend"]
    backend = get_backend(backend_name)
    model_path = path / meta["model_file"]
    if not model_path.is_file():
        raise FileNotFoundError(f"no model file {str(model_path)!r}")
    try:
        booster = backend.load_booster(model_path)
    except Exception as exc:  # noqa: BLE001 - each engine raises its own error type for a corrupted file
        raise ValueError(f"{model_path}: cannot read the {backend_name} model: {str(exc).strip().splitlines()[0]}") \
            from None
    spec = meta["objective"]
    reference = get_objective(spec["name"], **spec["params"])
    objective = NativeObjective(reference) if spec.get("native") else reference
    init = meta["init_score"]
    init = None if init is None else (float(init) if np.ndim(init) == 0 else np.asarray(init, dtype=np.float64))
    result = TrainResult(booster, backend_name, objective, init, meta.get("best_iteration"), {}, meta.get("engine_params", {}))
    bias = meta.get("position_bias")
    result.position_bias = (None if bias is None else {k: np.asarray(v, dtype=np.float64) for k, v in bias.items()}
                            if isinstance(bias, dict) else np.asarray(bias, dtype=np.float64))
    result.meta = meta
    return result
