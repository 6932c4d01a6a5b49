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

import json
from pathlib import Path

import numpy as np

from ._core.files import atomic_directory, atomic_write_json, jsonable
from .adapters import get_backend
from .objectives import get_objective
from .training import NativeObjective, TrainResult

__all__ = ["save_model", "load_model", "MODEL_FORMAT_VERSION", "objective_meta"]

MODEL_FORMAT_VERSION = 2
_READABLE_VERSIONS = (1, 2)
_MODEL_FILES = {"lightgbm": "model.txt", "xgboost": "model.json"}


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
