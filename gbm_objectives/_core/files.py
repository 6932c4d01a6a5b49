"""Files written so that nothing a user had is lost: atomic writes of one file, atomic replacement of a folder,
and the output folder of a command that keeps the user's own files.

Used by the model format (:mod:`gbm_objectives.model_io`), the click simulator's output
(:mod:`gbm_objectives.datasets.clicks`) and the command line. Every file and folder gets the mode the user's umask
gives (temporary files are created private, then opened up before they take their final name).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["jsonable", "atomic_write_bytes", "atomic_write_json", "atomic_directory", "output_directory"]


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
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private (0700); the results get the user's umask
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
