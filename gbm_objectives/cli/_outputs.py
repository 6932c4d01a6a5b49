"""Where the command line may write: output folders and files checked before any work (:func:`check_out`,
:func:`check_out_file`). Light (no engine, no kernel): the commands on runs and reports import it without the rest
of :mod:`._common`."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ._errors import UsageError

__all__ = ["check_out", "check_out_file", "REPORT_MARKS"]


def _check_writable_parent(path, option):
    """The nearest existing folder above ``path`` must be writable (the output is created there)."""
    existing = path.parent if str(path.parent) else Path(".")
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{option}: cannot write in {str(existing)!r}")


def check_out(out, option="--out"):
    """Before any work: ``out`` must be a folder (or not exist) in a writable parent."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{option}: {str(out)!r} exists and is not a folder")
    _check_writable_parent(out, option)
    return out


def check_out_file(path, option, kind):
    """Before any work: ``path`` may be written by ``evaluate --out`` (``kind="evaluate-json"``), ``--predictions``
    (``kind="predictions"``), ``fuse --out`` (``kind="run"``) or ``report --out`` (``kind="report"``).

    The rule of the output folders (:func:`gbm_objectives._core.files.output_directory`) for one file: the
    command's own earlier output is replaced (atomically, when the new one is written), anything else is the
    user's and is never overwritten. An existing file counts as the command's own when it reads as that output:
    the JSON object ``evaluate --out`` writes (``model``, ``data``, ``metrics``; or one ``{"mean": {...}}`` per run
    with ``--qrels``), predictions (lines of numbers), a TREC run (lines of 6 fields, the fifth a number), a report
    (it starts with the report's generator mark); an empty file holds nothing to lose.

    Raises
    ------
    UsageError
        When ``path`` is a folder, its folder cannot be written, or it holds something else.
    """
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{option}: {str(path)!r} is a folder")
    _check_writable_parent(path, option)
    if path.exists() and not _own_output(path, kind):
        what = {"evaluate-json": "evaluate --out", "predictions": "evaluate --predictions", "run": "fuse --out",
                "report": "report --out"}[kind]
        raise UsageError(f"{option}: {str(path)!r} exists and is not an earlier output of {what}; it is left as "
                         "it is (remove it or choose another name)")
    return path


_OWN_CHECK_BYTES = 1 << 20
#: the first bytes of a file ``report --out`` writes (HTML, LaTeX)
REPORT_MARKS = (b"<!DOCTYPE html>\n<!-- gbm-objectives report -->", b"% gbm-objectives report")


def _own_output(path, kind):
    """Whether the existing file ``path`` reads as an earlier output of ``kind`` (see :func:`check_out_file`)."""
    try:
        if not path.is_file() or path.is_symlink():
            return False
        size = path.stat().st_size
        if size == 0:
            return True
        with open(path, "rb") as fh:
            head = fh.read(_OWN_CHECK_BYTES)
    except OSError:
        return False
    if kind == "predictions":  # every whole line read: numbers separated by spaces
        lines = head.split(b"\n")
        if len(head) == _OWN_CHECK_BYTES:
            lines = lines[:-1]  # the last one may be cut
        try:
            for line in lines:
                [float(v) for v in line.split()]
        except ValueError:
            return False
        return True
    if kind == "run":  # every whole line read: qid Q0 docno rank score tag
        lines = head.split(b"\n")
        if len(head) == _OWN_CHECK_BYTES:
            lines = lines[:-1]
        rows = [line.split() for line in lines if line.strip()]
        if any(len(f) != 6 for f in rows):
            return False
        try:
            [float(f[4]) for f in rows]
        except ValueError:
            return False
        return True
    if kind == "report":
        return any(head.startswith(mark) for mark in REPORT_MARKS)
    if size > _OWN_CHECK_BYTES:  # evaluate's JSON is a few hundred bytes
        return False
    try:
        data = json.loads(head)
    except (ValueError, UnicodeDecodeError):
        return False
    if not isinstance(data, dict):
        return False
    if {"model", "data", "metrics"} <= set(data):
        return True
    return bool(data) and all(isinstance(v, dict) and set(v) == {"mean"} for v in data.values())
