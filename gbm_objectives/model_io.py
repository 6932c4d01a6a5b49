"""Models on disk: :func:`save_model` and :func:`load_model`, without pickle.

A model folder holds the engine's own model file (LightGBM text ``model.txt`` or XGBoost JSON ``model.json``,
truncated to the kept iteration) and ``meta.json``: format version, the marker ``"package": "gbm_objectives"``,
backend, objective (name, parameters, built-in or not), task, init score, best iteration, feature names, learned
position biases, plus whatever the caller adds (the CLI records its label and group columns, metrics, convention
and how LETOR features were read). :func:`load_model` returns a :class:`~gbm_objectives.TrainResult`, so a
reloaded model predicts exactly as the trained one (``predict_raw``, ``predict``).

Format 3 (written since this version)::

    DIR/meta.json                 the description of the current save (replaced atomically, ``os.replace``)
    DIR/model.txt | model.json    the current save's engine model file, for the engine and for you
    DIR/v-<32 hex digits>/        one folder per save: its own link to (or copy of) the model file, and its large
                                  arrays (*.npy)
    DIR/.lock                     serialises concurrent writers (``fcntl.flock``)

``meta.json`` records the model file's size and SHA-256 (``model_size``, ``model_sha256``) and the save's folder
(``version``); :func:`load_model` checks both before the engine sees a byte, so a truncated or altered file is a
ValueError naming it, not a crash inside the engine. An array of more than :data:`ARRAY_INLINE_MAX` entries (a
position-bias table) is not written into ``meta.json`` but as a ``.npy`` file in the save's folder, referenced as
``{"npy_file": "v-.../position_bias.npy", "size": ..., "sha256": ...}`` and checksummed too.

Saving writes the new ``v-*`` folder completely, then replaces the top-level model file (a hard link to the save's
own) and then ``meta.json``, each with ``os.replace``; saves at the same time take turns (the lock). A reader reads
``meta.json`` once: when the top-level model file does not match it and is the model file of another save in the
folder, a save is switching (or was killed between its two replacements), and the reader reads the model file of
its own save folder instead, or starts again when ``meta.json`` has moved on. The previous save's folder is kept
for such readers; older ones are removed. A failed save puts the previous model file back.

Format history: version 1 (gbm_objectives 0.1, written by ``gbm-objectives train``) stored the kept round as
``iteration_kept``; version 2 adds ``best_iteration`` and writes the objective's non-default parameters. Both have
``meta.json`` and the model file side by side at the top of the folder, and no checksum: for them
:func:`load_model` checks what the engine's format itself records (LightGBM: the header, each tree where
``tree_sizes`` puts it, ``end of trees``, ``end of parameters``, the closing ``pandas_categorical`` line; XGBoost:
the JSON parses and holds the trees it declares). Versions 1, 2 and 3 load; saving over a version 1 or 2 folder
is allowed and writes version 3.

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
import hashlib
import io
import json
import numbers
import os
import re
import shutil
import uuid
from pathlib import Path, PurePosixPath

import numpy as np

from ._core.files import atomic_write_bytes, atomic_write_json, jsonable
from .adapters import BACKENDS, get_backend
from .objectives import get_objective
from .training import NativeObjective, TrainResult, resolve_init_score

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: writers are not serialised
    fcntl = None

__all__ = ["save_model", "load_model", "MODEL_FORMAT_VERSION", "ARRAY_INLINE_MAX", "objective_meta",
           "model_folder_owns"]

MODEL_FORMAT_VERSION = 3
_READABLE_VERSIONS = (1, 2, 3)
_MODEL_FILES = {"lightgbm": "model.txt", "xgboost": "model.json"}
#: arrays with more entries than this are written as .npy files beside meta.json, not into it
ARRAY_INLINE_MAX = 4096
_META = "meta.json"
_LOCK = ".lock"
_VERSION_DIR = re.compile(r"v-[0-9a-f]{32}\Z")
#: temporary files of a save (atomic writes, the backup of the replaced model file), left behind only if killed
_TEMPORARY = re.compile(r"\.(meta\.json|model\.txt|model\.json)\..+\.(tmp|old)\Z")
_SHA256 = re.compile(r"[0-9a-f]{64}\Z")
_RELOADS = 50  # load_model: how often to start again when saves keep replacing meta.json while it reads


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


def model_folder_owns(relative_path):
    """Whether ``relative_path`` (a path inside a model folder, ``/``-separated) is one :func:`save_model` writes:
    ``meta.json``, ``.lock``, the model file, the files of a ``v-*`` save folder, or a temporary file of an
    interrupted save. Everything else in a model folder is the user's (the CLI carries such files over when it
    rewrites its output folder)."""
    parts = PurePosixPath(relative_path).parts
    if not parts:
        return False
    if len(parts) == 1:
        name = parts[0]
        return name in (_META, _LOCK, *_MODEL_FILES.values()) or bool(_VERSION_DIR.match(name) or
                                                                       _TEMPORARY.match(name))
    return bool(_VERSION_DIR.match(parts[0]))


def _our_meta(meta_path):
    """The dict in ``meta_path`` if it is a model description of this package (the marker), else None."""
    try:
        meta = json.loads(Path(meta_path).read_bytes())
    except (OSError, ValueError):
        return None
    if (isinstance(meta, dict) and meta.get("package") == "gbm_objectives"
            and isinstance(meta.get("format_version"), int) and not isinstance(meta.get("format_version"), bool)):
        return meta
    return None


def _copy_in_a_save(directory, name):
    """Whether the top-level file ``name`` has the same bytes as the file of that name in one of the ``v-*``
    folders (then it is a model file a save published)."""
    path = directory / name
    try:
        size = path.stat().st_size
        data = None
        for entry in directory.iterdir():
            twin = entry / name
            if _VERSION_DIR.match(entry.name) and twin.is_file() and twin.stat().st_size == size:
                data = path.read_bytes() if data is None else data
                if twin.read_bytes() == data:
                    return True
    except OSError:
        return False
    return False


def _existing_model(directory):
    """The ``meta.json`` of the model folder ``directory`` (None if it is absent, empty or holds only what an
    interrupted save left); ValueError for a file or a folder of the user's."""
    shown = str(directory)
    if directory.is_symlink() and not directory.exists():
        raise ValueError(f"directory: {shown!r} is a broken symbolic link; save_model does not write through it")
    if not directory.exists():
        return None
    if not directory.is_dir():
        raise ValueError(f"directory: {shown!r} exists and is not a folder; save_model writes a model folder and "
                         f"never replaces a file")
    meta = _our_meta(directory / _META)
    if meta is not None:
        return meta
    others = sorted(entry.name for entry in directory.iterdir()
                    if not (entry.name == _LOCK or _VERSION_DIR.match(entry.name) or _TEMPORARY.match(entry.name)
                            or (entry.name in _MODEL_FILES.values() and _copy_in_a_save(directory, entry.name))))
    if others:
        listed = ", ".join(repr(name) for name in others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3
                                                                else "")
        raise ValueError(f"directory: {shown!r} is not empty and is not a model folder (no meta.json of "
                         f"gbm_objectives; it holds {listed}); save_model only writes into a new or empty folder or "
                         f"over a previous model, so nothing of yours is replaced")
    return None


@contextlib.contextmanager
def _writer_lock(directory):
    """Hold an exclusive ``flock`` on ``directory/.lock`` (created if needed, never removed)."""
    fd = os.open(directory / _LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _digest(data):
    return hashlib.sha256(data).hexdigest()


def _synced_bytes(path):
    """The bytes of ``path``, flushed to disk first (the engine wrote it)."""
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())
        return fh.read()


def _link_or_copy(source, target):
    """``target`` as a hard link to ``source`` (a copy where the file system has no hard links)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
        with open(target, "rb+") as fh:
            os.fsync(fh.fileno())


def _store_arrays(value, folder, version, name):
    """``value`` for meta.json: arrays of more than ARRAY_INLINE_MAX entries written as ``name.npy`` files into
    the save's folder and replaced by their reference; dicts of arrays entry by entry."""
    if isinstance(value, dict):
        return {str(k): _store_arrays(v, folder, version, f"{name}.{k}") for k, v in value.items()}
    if value is None or np.ndim(value) == 0 or np.size(value) <= ARRAY_INLINE_MAX:
        return jsonable(value)
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(value, dtype=np.float64), allow_pickle=False)
    data = buffer.getvalue()
    atomic_write_bytes(folder / f"{name}.npy", data)
    return {"npy_file": f"{version}/{name}.npy", "size": len(data), "sha256": _digest(data)}


def _remove_superseded(directory, meta, previous):
    """Remove the save folders that are neither ``meta``'s nor ``previous``'s (the replaced meta.json), temporary
    files of killed saves, and the top-level model file of the other engine that ``previous`` named."""
    keep = {meta["version"]}
    if previous and isinstance(previous.get("version"), str) and _VERSION_DIR.match(previous["version"]):
        keep.add(previous["version"])
    for entry in directory.iterdir():
        if _VERSION_DIR.match(entry.name) and entry.name not in keep and entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        elif _TEMPORARY.match(entry.name) and entry.is_file():
            with contextlib.suppress(OSError):
                entry.unlink()
    old_file = previous.get("model_file") if previous else None
    if old_file in _MODEL_FILES.values() and old_file != meta["model_file"]:
        with contextlib.suppress(OSError):
            (directory / old_file).unlink()


def _switch(directory, folder, filename, meta):
    """Publish the save in ``folder``: the top-level model file, then meta.json; on failure the previous model
    file is put back."""
    top = directory / filename
    token = uuid.uuid4().hex
    backup = directory / f".{filename}.{token}.old"
    staged = directory / f".{filename}.{token}.tmp"
    had_file = top.is_file()
    published = False
    try:
        if had_file:
            _link_or_copy(top, backup)
        _link_or_copy(folder / filename, staged)
        os.replace(staged, top)
        published = True
        atomic_write_json(directory / _META, meta)
    except BaseException:
        with contextlib.suppress(OSError):
            if published and had_file:
                os.replace(backup, top)
            elif published:
                top.unlink()
        raise
    finally:
        for path in (backup, staged):
            with contextlib.suppress(OSError):
                path.unlink()


def save_model(directory, result, *, feature_names=None, metadata=None):
    """Write ``result`` (a :class:`~gbm_objectives.TrainResult`) to the model folder ``directory``; returns the
    meta dict (what ``meta.json`` holds).

    Parameters
    ----------
    directory : str or Path
        A new or empty folder, or a model folder written before (by any format version), whose model is then
        replaced: the new save is written completely beside it and then takes over (see the module docstring),
        so a concurrent :func:`load_model` reads either model whole; saves running at the same time take turns
        (a lock file). Only what :func:`save_model` itself wrote is ever removed; files of yours inside a model
        folder stay.
    result : TrainResult
    feature_names : sequence of str, optional
        Recorded in ``meta.json`` (default: the booster's own); one per feature of the model.
    metadata : dict, optional
        Extra JSON-able entries stored in ``meta.json`` beside the model's own (which they may not replace).

    Raises
    ------
    TypeError
        ``result`` is not a TrainResult.
    ValueError
        ``directory`` is an existing file, or a non-empty folder that is not a model folder (it has no
        ``meta.json`` with this package's marker): refused rather than replaced, since its contents are the
        user's. ``feature_names`` of the wrong length (the model could not be loaded back), ``metadata`` that
        would replace one of the model's own entries.
    """
    if not isinstance(result, TrainResult):
        raise TypeError(f"result must be what gbm_objectives.train returns; got {type(result).__name__}")
    directory = Path(directory)
    _existing_model(directory)  # refuse before creating anything
    backend = get_backend(result.backend)
    filename = _MODEL_FILES[result.backend]
    kept = result.best_iteration or result.num_rounds
    engine_names = backend.feature_names(result.booster)
    feature_names = list(engine_names if feature_names is None else feature_names)
    if len(feature_names) != len(engine_names):
        raise ValueError(f"feature_names has {len(feature_names)} names but the model has {len(engine_names)} "
                         f"features")
    meta = {
        "format_version": MODEL_FORMAT_VERSION,
        "package": "gbm_objectives",
        "backend": result.backend,
        "model_file": filename,
        "model_size": None,  # set below, from the written file
        "model_sha256": None,
        "version": None,  # the save's folder, set below
        "objective": objective_meta(result.objective, result.backend),
        "task": result.objective.task,
        "engine_params": jsonable({k: v for k, v in result.params.items() if not callable(v)}),
        "init_score": jsonable(result.init_score),
        "best_iteration": result.best_iteration,
        "iteration_kept": kept,
        "feature_names": [str(name) for name in feature_names],
        "n_features": len(feature_names),
        # learning from clicks: the learned position biases / propensity tables (None otherwise)
        "position_bias": None,
    }
    for key, value in (metadata or {}).items():
        if key in meta:
            raise ValueError(f"metadata may not replace the model's own entry {key!r}")
        meta[key] = jsonable(value)
    directory.mkdir(parents=True, exist_ok=True)
    with _writer_lock(directory):
        previous = _existing_model(directory)  # again, now that no other save is under way
        version = f"v-{uuid.uuid4().hex}"
        folder = directory / version
        folder.mkdir()
        try:
            backend.save_booster(result.booster, folder / filename, num_iteration=kept)
            data = _synced_bytes(folder / filename)
            meta.update(model_size=len(data), model_sha256=_digest(data), version=version)
            meta["position_bias"] = _store_arrays(getattr(result, "position_bias", None), folder, version,
                                                  "position_bias")
            _switch(directory, folder, filename, meta)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        _remove_superseded(directory, meta, previous)
    return meta


# ---- loading ----------------------------------------------------------------------------------------------
def _locate(path):
    path = Path(path)
    if (path / "model" / _META).is_file():  # the --out folder of `gbm-objectives train`
        path = path / "model"
    meta_path = path / _META
    if not meta_path.is_file():
        raise FileNotFoundError(f"no model at {str(path)!r} (expected {str(meta_path)!r})")
    return path, meta_path


def _read_meta(meta_path):
    """The bytes of ``meta_path`` and the description they hold, its version and required entries checked."""
    raw = meta_path.read_bytes()
    try:
        meta = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{meta_path}: not a model description (invalid JSON: {exc})") from None
    if not isinstance(meta, dict) or meta.get("format_version") not in _READABLE_VERSIONS:
        version = meta.get("format_version") if isinstance(meta, dict) else None
        raise ValueError(f"{meta_path}: unsupported model format version {version!r} (readable: "
                         f"{list(_READABLE_VERSIONS)})")
    required = ["backend", "model_file", "objective", "init_score", "feature_names"]
    if meta["format_version"] >= 3:
        required += ["model_size", "model_sha256", "version", "task"]
    missing = [k for k in required if k not in meta]
    if missing:
        raise ValueError(f"{meta_path}: incomplete model description, missing {missing}")
    if meta["format_version"] == 1:  # 0.1: the CLI's format
        meta = dict(meta)
        meta["best_iteration"] = None
    return raw, meta


def _short(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _field_error(meta_path, field, message, value):
    return ValueError(f"{meta_path}: field {field!r} {message}; got {_short(value)}")


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _inside(folder, meta_path, field, value):
    """``folder / value`` for a path entry of meta.json, which must stay inside the model folder."""
    if not isinstance(value, str) or not value:
        raise _field_error(meta_path, field, "must be a file name inside the model folder", value)
    relative = PurePosixPath(value)
    if relative.is_absolute() or os.path.isabs(value) or ".." in relative.parts or "\\" in value:
        raise _field_error(meta_path, field, "must be a path inside the model folder (no absolute path, no '..')",
                           value)
    target = folder / relative
    resolved, root = target.resolve(), folder.resolve()
    if resolved != root and root not in resolved.parents:
        raise _field_error(meta_path, field, "must stay inside the model folder (it leads out through a "
                           "symbolic link)", value)
    return target


def _read_file(target):
    """The bytes of ``target``; FileNotFoundError (also for a folder) when it is not there."""
    try:
        return target.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise FileNotFoundError(f"no model file {str(target)!r}") from None


def _check_sum(target, data, size, sha256, what):
    if len(data) != size or _digest(data) != sha256:
        raise ValueError(f"{target}: the {what} is damaged: it has {len(data)} bytes with SHA-256 "
                         f"{_digest(data)[:16]}..., meta.json recorded {size} bytes with SHA-256 {sha256[:16]}... "
                         f"(truncated or altered); it is not read")


def _is_reference(value):
    return isinstance(value, dict) and "npy_file" in value


def _check_reference(meta_path, field, value):
    if not (_is_int(value.get("size")) and value["size"] >= 0 and isinstance(value.get("sha256"), str)
            and _SHA256.match(value["sha256"])):
        raise _field_error(meta_path, field, "must reference a .npy file with its 'size' and 'sha256'", value)


def _check_array_field(meta_path, field, value):
    """A position-bias entry: a list of numbers (null for a non-finite one) or a .npy reference."""
    if _is_reference(value):
        _check_reference(meta_path, field, value)
    elif not (isinstance(value, list) and all(v is None or _is_number(v) for v in value)):
        raise _field_error(meta_path, field, "must be a list of numbers or a .npy file reference", value)


def _load_array(folder, meta_path, field, value):
    if not _is_reference(value):
        return np.asarray(value, dtype=np.float64)
    target = _inside(folder, meta_path, f"{field}.npy_file", value["npy_file"])
    data = _read_file(target)
    _check_sum(target, data, value["size"], value["sha256"], f"array file of {field!r}")
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:
        raise ValueError(f"{target}: not a .npy array ({exc})") from None
    if array.dtype != np.float64 or array.ndim != 1:
        raise ValueError(f"{target}: expected a 1-d float64 array for {field!r}; got {array.dtype} of shape "
                         f"{array.shape}")
    return array


def _check_fields(folder, meta_path, meta):
    """Check the entries of ``meta`` that need no engine; returns (objective, init score)."""
    if "package" in meta and meta["package"] != "gbm_objectives":
        raise _field_error(meta_path, "package", "must be 'gbm_objectives'", meta["package"])
    if meta["backend"] not in BACKENDS:
        raise _field_error(meta_path, "backend", f"must be one of {sorted(BACKENDS)}", meta["backend"])
    _inside(folder, meta_path, "model_file", meta["model_file"])
    if meta["format_version"] >= 3:
        if not _is_int(meta["model_size"]) or meta["model_size"] < 0:
            raise _field_error(meta_path, "model_size", "must be the model file's size in bytes", meta["model_size"])
        if not isinstance(meta["model_sha256"], str) or not _SHA256.match(meta["model_sha256"]):
            raise _field_error(meta_path, "model_sha256", "must be 64 lowercase hex digits", meta["model_sha256"])
        if not isinstance(meta["version"], str) or not _VERSION_DIR.match(meta["version"]):
            raise _field_error(meta_path, "version", "must name the save's folder 'v-<32 hex digits>'",
                               meta["version"])
    spec = meta["objective"]
    if not isinstance(spec, dict):
        raise _field_error(meta_path, "objective", "must be a mapping with 'name' and 'params'", spec)
    if not isinstance(spec.get("name"), str):
        raise _field_error(meta_path, "objective.name", "must be an objective's name", spec.get("name"))
    if "params" not in spec:
        raise ValueError(f"{meta_path}: field 'objective.params' is missing (the objective's parameters)")
    if not isinstance(spec["params"], dict):
        raise _field_error(meta_path, "objective.params", "must be a mapping", spec["params"])
    if not isinstance(spec.get("native", False), bool):
        raise _field_error(meta_path, "objective.native", "must be true or false", spec.get("native"))
    try:
        reference = get_objective(spec["name"], **spec["params"])
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{meta_path}: field 'objective' does not make an objective: {exc}") from None
    objective = NativeObjective(reference) if spec.get("native") else reference
    if "task" in meta and meta["task"] != reference.task:
        raise _field_error(meta_path, "task", f"must be the task of objective {spec['name']!r} "
                           f"({reference.task!r})", meta["task"])
    if not isinstance(meta.get("engine_params", {}), dict):
        raise _field_error(meta_path, "engine_params", "must be a mapping", meta.get("engine_params"))
    init = meta["init_score"]
    if init is not None:
        if not (_is_number(init) or (isinstance(init, list) and all(_is_number(v) for v in init))):
            raise _field_error(meta_path, "init_score", "must be null, a number or a list of numbers", init)
        try:
            init = resolve_init_score(init, reference, objective is not reference, None)
        except ValueError as exc:
            raise ValueError(f"{meta_path}: field 'init_score' does not fit objective {spec['name']!r}: "
                             f"{exc}") from None
    best = meta.get("best_iteration")
    if best is not None and not (_is_int(best) and best >= 1):
        raise _field_error(meta_path, "best_iteration", "must be null or a round number >= 1", best)
    kept = meta.get("iteration_kept")
    if kept is not None and not (_is_int(kept) and kept >= 0):
        raise _field_error(meta_path, "iteration_kept", "must be a number of rounds >= 0", kept)
    names = meta["feature_names"]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise _field_error(meta_path, "feature_names", "must be a list of strings", names)
    if "n_features" in meta and meta["n_features"] != len(names):
        raise _field_error(meta_path, "n_features", f"must be the number of feature_names ({len(names)})",
                           meta["n_features"])
    bias = meta.get("position_bias")
    if isinstance(bias, dict) and not _is_reference(bias):
        if set(bias) != {"t_plus", "t_minus"}:
            raise _field_error(meta_path, "position_bias", "must be a list, a .npy reference or the mapping "
                               "{'t_plus', 't_minus'}", bias)
        for key, value in bias.items():
            _check_array_field(meta_path, f"position_bias.{key}", value)
    elif bias is not None:
        _check_array_field(meta_path, "position_bias", bias)
    return objective, init


class _Replaced(Exception):
    """meta.json was replaced by a save while :func:`load_model` read the files it names: start again."""


def _matches(data, meta):
    return len(data) == meta["model_size"] and _digest(data) == meta["model_sha256"]


def _model_bytes_v3(folder, meta_path, raw, meta, model_path):
    """The model file's bytes that ``meta`` (format 3) describes; ValueError when the model file is damaged."""
    data = _read_file(model_path)
    if _matches(data, meta):
        return data
    # Not what meta.json recorded. If it is the model file of another save in this folder, that save is switching
    # the folder over (or was killed between its two replacements): read our own save's copy, or start again
    # when meta.json has moved on. Anything else is damage.
    if not any(entry.name != meta["version"] and _VERSION_DIR.match(entry.name)
               and (entry / model_path.name).is_file() and (entry / model_path.name).stat().st_size == len(data)
               and (entry / model_path.name).read_bytes() == data
               for entry in folder.iterdir()):
        _check_sum(model_path, data, meta["model_size"], meta["model_sha256"], f"{meta['backend']} model file")
    if meta_path.read_bytes() != raw:
        raise _Replaced
    own = folder / meta["version"] / model_path.name
    data = _read_file(own)
    _check_sum(own, data, meta["model_size"], meta["model_sha256"], f"{meta['backend']} model file")
    return data


def _load(folder, meta_path, raw, meta):
    objective, init = _check_fields(folder, meta_path, meta)
    backend_name = meta["backend"]
    backend = get_backend(backend_name)
    model_path = _inside(folder, meta_path, "model_file", meta["model_file"])
    if meta["format_version"] >= 3:
        data = _model_bytes_v3(folder, meta_path, raw, meta, model_path)
    else:  # no checksum: what the engine's format records about itself
        data = _read_file(model_path)
        try:
            backend.check_model_bytes(data)
        except ValueError as exc:
            raise ValueError(f"{model_path}: not a whole {backend_name} model: {exc}; it is not read") from None
    bias = meta.get("position_bias")
    if isinstance(bias, dict) and not _is_reference(bias):
        bias = {k: _load_array(folder, meta_path, f"position_bias.{k}", v) for k, v in bias.items()}
    elif bias is not None:
        bias = _load_array(folder, meta_path, "position_bias", bias)
    try:
        booster = backend.booster_from_bytes(data)
    except Exception as exc:  # noqa: BLE001 - each engine raises its own error type for a corrupted file
        raise ValueError(f"{model_path}: cannot read the {backend_name} model: {str(exc).strip().splitlines()[0]}") \
            from None
    n_features = len(backend.feature_names(booster))
    if len(meta["feature_names"]) != n_features:
        raise ValueError(f"{meta_path}: field 'feature_names' has {len(meta['feature_names'])} names but the model "
                         f"file {model_path.name} has {n_features} features")
    best, rounds = meta.get("best_iteration"), backend.num_rounds(booster)
    if best is not None and best > rounds:
        raise _field_error(meta_path, "best_iteration", f"must be at most the {rounds} rounds of the model file",
                           best)
    result = TrainResult(booster, backend_name, objective, init, best, {}, meta.get("engine_params", {}))
    result.position_bias = bias
    result.meta = meta
    return result


def load_model(path):
    """Load a model written by :func:`save_model` or ``gbm-objectives train`` (the ``--out`` folder or its
    ``model/``); returns a :class:`~gbm_objectives.TrainResult` whose ``meta`` attribute holds ``meta.json``.

    Everything is checked before the engine reads the model file, since a damaged file can crash the engine (and
    the interpreter with it) rather than raise: format 3's recorded size and SHA-256 of the model file and of each
    ``.npy`` array, format 1/2's engine header and tree count (see the module docstring), each ``meta.json`` entry
    (type, paths inside the folder, task and init score consistent with the objective), then the feature count and
    the best iteration against the model the engine read. A save running at the same time is no error: the model
    is read whole, as it was before or after that save.

    Raises
    ------
    FileNotFoundError
        No ``meta.json`` or no model file.
    ValueError
        An unreadable, incomplete or newer-format description, an entry of it that is wrong (the message names
        the field), a model or array file that is truncated or altered (the message names the file).
    """
    folder, meta_path = _locate(path)
    for _ in range(_RELOADS):
        raw, meta = _read_meta(meta_path)
        try:
            return _load(folder, meta_path, raw, meta)
        except _Replaced:
            continue
        except FileNotFoundError:
            # a save that replaced meta.json since we read it may have removed the files we were sent to: read the
            # new meta.json and start again; a missing file that meta.json still names is an error
            try:
                replaced = meta_path.read_bytes() != raw
            except OSError:
                replaced = False
            if not replaced:
                raise
    raise ValueError(f"{meta_path}: replaced by another save each of the {_RELOADS} times it was read; "
                     f"load it when the saves are done")
