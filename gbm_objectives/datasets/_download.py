"""Checksum-verified downloads and archive unpacking for :func:`gbm_objectives.datasets.fetch`.

The data set catalogue (names, loaders, pinned URLs and SHA-256s) is :data:`gbm_objectives.datasets.DATASETS`; this
module only moves bytes. A download goes to ``FILE.part`` and is renamed into place only after its checksum matches,
so the cache never holds a partial or unverified file. Archives (``.zip``, ``.tar.gz``, ``.tgz``, ``.tar``,
single-file ``.gz``) are unpacked into the data set's folder; members that would land outside it are refused.

The command line of ``datasets/fetch.py`` is :func:`gbm_objectives.cli.fetch.main`.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tarfile
import urllib.request
import zipfile
from pathlib import Path

__all__ = ["FetchError", "ChecksumError", "sha256_file", "verify", "download", "unpack"]


class FetchError(ValueError):
    """A usage problem, a checksum mismatch or a data set that must be downloaded by hand."""


class ChecksumError(FetchError):
    """A file whose SHA-256 is not the pinned one (the message names the file and both digests)."""


def _progress(total, desc, enabled):
    from .._core.progress import Progress

    return Progress(total, desc, enabled=enabled, unit="B", unit_scale=True, min_interval=1.0,
                    every=max(1, (total or 0) // 10) if total else 1 << 20)


def sha256_file(path, chunk=1 << 20):
    """Hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def verify(path, sha256):
    """Raise :class:`ChecksumError` naming the file and both digests unless ``path`` has the expected SHA-256."""
    actual = sha256_file(path)
    if actual != sha256.lower():
        raise ChecksumError(f"checksum mismatch for {path}: expected sha256 {sha256.lower()}, got {actual}")
    return actual


def download(url, dest, *, sha256=None, progress=True, chunk=1 << 16):
    """Stream ``url`` (``https://``, ``http://`` or ``file://``) to ``dest``, verified before it is renamed in place.

    The bytes go to ``dest.part``; on a checksum mismatch or any error the part file is removed and ``dest`` is left
    as it was.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(url) as response, open(part, "wb") as out:
            length = response.headers.get("Content-Length") if hasattr(response, "headers") else None
            total = int(length) if length and str(length).isdigit() else None
            with _progress(total, f"downloading {dest.name}", progress) as bar:
                for block in iter(lambda: response.read(chunk), b""):
                    out.write(block)
                    h.update(block)
                    bar.update(len(block))
        if sha256 is not None and h.hexdigest() != sha256.lower():
            raise ChecksumError(
                f"checksum mismatch for {url}: expected sha256 {sha256.lower()}, got {h.hexdigest()}; the file was "
                f"not kept"
            )
        os.replace(part, dest)
    except BaseException:
        if part.exists():
            part.unlink()
        raise
    return dest


def _safe_target(root, name):
    root = Path(root).resolve()
    target = (root / name).resolve()
    if target != root and root not in target.parents:
        raise FetchError(f"refusing to unpack {name!r}: it would be written outside {root}")
    return target


def unpack(archive, dest_dir):
    """Unpack a ``.zip``, ``.tar``, ``.tar.gz``/``.tgz`` or single-file ``.gz`` into ``dest_dir``; returns the paths.

    Member names that would escape ``dest_dir`` (absolute paths, ``..``) and links raise :class:`FetchError`.
    """
    archive, dest_dir = Path(archive), Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    name = archive.name.lower()
    written = []
    if name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            members = [m for m in zf.infolist() if not m.is_dir()]
            for m in members:
                _safe_target(dest_dir, m.filename)
            for m in members:
                target = _safe_target(dest_dir, m.filename)
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(m) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
                written.append(target)
    elif name.endswith((".tar", ".tar.gz", ".tgz")):
        with tarfile.open(archive) as tf:
            members = tf.getmembers()
            for m in members:
                _safe_target(dest_dir, m.name)
                if m.issym() or m.islnk():
                    raise FetchError(f"refusing to unpack link {m.name!r} from {archive}")
            for m in members:
                if m.isfile():
                    target = _safe_target(dest_dir, m.name)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with tf.extractfile(m) as src, open(target, "wb") as out:
                        shutil.copyfileobj(src, out)
                    written.append(target)
    elif name.endswith(".gz"):
        target = _safe_target(dest_dir, archive.name[: -len(".gz")])
        with gzip.open(archive, "rb") as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out)
        written.append(target)
    elif name.endswith(".rar"):
        raise FetchError(f"{archive}: .rar archives need an external tool (unrar x or 7z x) to unpack")
    else:
        raise FetchError(f"{archive}: not an archive this script unpacks (.zip, .tar, .tar.gz, .tgz, .gz)")
    return written
