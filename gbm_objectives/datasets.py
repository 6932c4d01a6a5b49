"""Data loading and synthetic data: LETOR/SVMlight files, CSV/Parquet tables, generators and named datasets.

Every loader returns ``(X, y, qid)``: ``X`` is a float32 array (or a SciPy CSR matrix when the data is sparse),
``y`` a float64 array of labels and ``qid`` an int64 array of per-row query ids whose rows are contiguous, or
``None`` for data without queries. Bad files raise ``ValueError`` naming the file and the line.

>>> from gbm_objectives import datasets
>>> X, y, qid = datasets.make_ranking(n_queries=3, docs_per_query=(4, 6), n_features=8, seed=0)
>>> X.dtype, X.shape[1], sorted(set(qid.tolist()))
(dtype('float32'), 8, [0, 1, 2])
>>> X, y = datasets.make_imbalanced(n_samples=1000, positive_rate=0.05, seed=0)
>>> int(y.sum())
50
"""

from __future__ import annotations

import gzip
import os
import shutil
import zlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import scipy.sparse as sp

from . import _fetch, _svmlight
from ._fetch import ChecksumError, FetchError
from .clicks import simulate_clicks
from ._validation import check_interval, check_positive_int

__all__ = [
    "simulate_clicks",
    "load_letor",
    "LetorData",
    "load_table",
    "data_format",
    "make_ranking",
    "make_imbalanced",
    "list_datasets",
    "load",
    "DATASETS",
    "DatasetInfo",
    "DownloadFile",
    "data_roots",
    "cache_dir",
    "fetch",
    "install_archive",
    "FetchError",
    "ChecksumError",
]

_CHUNK_BYTES = 16 << 20


# --------------------------------------------------------------------------------------------------------------
# LETOR / SVMlight
# --------------------------------------------------------------------------------------------------------------


class _Source:
    """A data file opened for reading, plain or gzip (detected from the magic bytes); ``position()`` counts the
    bytes consumed from disk, so progress is measured against the file size either way."""

    def __init__(self, path):
        self.raw = open(path, "rb")
        magic = self.raw.read(2)
        self.raw.seek(0)
        self.stream = gzip.GzipFile(fileobj=self.raw, mode="rb") if magic == b"\x1f\x8b" else self.raw

    def read(self, n):
        return self.stream.read(n)

    def position(self):
        return self.raw.tell()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.stream is not self.raw:
            self.stream.close()
        self.raw.close()
        return False


def _sibling_group_file(path):
    """The ``.query`` or ``.group`` file next to ``path`` (``rank.train.query``; ``x.txt.gz`` also tries ``x.txt.query``)."""
    path = Path(path)
    stems = [str(path)]
    if path.suffix == ".gz":
        stems.append(str(path)[: -len(".gz")])
    for stem in stems:
        for ext in (".query", ".group"):
            candidate = Path(stem + ext)
            if candidate.is_file():
                return candidate
    return None


def _read_group_file(path, n_rows, data_path):
    """Group sizes from a one-size-per-line file; ValueError naming the file and line on any mismatch."""
    sizes = []
    total = 0
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            text = raw.strip()
            if not text:
                continue
            try:
                size = int(text)
            except ValueError:
                raise ValueError(f"{path}:{lineno}: expected one positive integer group size per line; got {text.decode(errors='replace')!r}") from None
            if size <= 0:
                raise ValueError(f"{path}:{lineno}: group sizes must be positive; got {size}")
            total += size
            if total > n_rows:
                raise ValueError(
                    f"{path}:{lineno}: group sizes reach {total} rows at this line but {data_path} has only {n_rows} rows"
                )
            sizes.append(size)
    if total != n_rows:
        raise ValueError(f"{path}: group sizes sum to {total} but {data_path} has {n_rows} rows")
    return np.asarray(sizes, dtype=np.int64)


def read_position_file(path, n_rows):
    """Displayed 0-based positions, one non-negative integer per line (LightGBM's ``FILE.position`` sibling of a
    LETOR file); ValueError naming the file and line on a bad value or a row-count mismatch."""
    values = []
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            text = raw.strip()
            if not text:
                continue
            try:
                value = int(text)
            except ValueError:
                raise ValueError(f"{path}:{lineno}: expected one non-negative integer position per line; got "
                                 f"{text.decode(errors='replace')!r}") from None
            if value < 0:
                raise ValueError(f"{path}:{lineno}: positions must be non-negative; got {value}")
            values.append(value)
    if len(values) != n_rows:
        raise ValueError(f"{path}: {len(values)} positions but the data file has {n_rows} rows")
    return np.asarray(values, dtype=np.int64)


def _check_contiguous_qid(qid, row_line, path):
    if len(qid) == 0:
        return
    starts = np.concatenate(([0], np.flatnonzero(qid[1:] != qid[:-1]) + 1))
    ids = qid[starts]
    _, first = np.unique(ids, return_index=True)
    if len(first) == len(ids):
        return
    seen = np.zeros(len(ids), dtype=bool)
    seen[first] = True
    j = int(np.flatnonzero(~seen)[0])
    earlier = int(np.flatnonzero(ids[:j] == ids[j])[0])
    raise ValueError(
        f"{path}:{int(row_line[starts[j]])}: qid {int(ids[j])} goes back to an earlier query (its rows started at "
        f"line {int(row_line[starts[earlier]])}); the rows of each query must be contiguous"
    )


def _parse_piece(buf):
    """Parse one block of whole lines (runs on a worker thread: the compiled parser releases the GIL)."""
    rows_ub, pairs_ub = _svmlight.upper_bounds(buf)
    labels = np.empty(rows_ub, dtype=np.float64)
    qids = np.zeros(rows_ub, dtype=np.int64)
    indptr = np.empty(rows_ub + 1, dtype=np.int64)
    indices = np.empty(pairs_ub, dtype=np.int32)
    values = np.empty(pairs_ub, dtype=np.float32)
    row_line = np.empty(rows_ub, dtype=np.int64)
    status, line, rows, nnz, n_lines, n_with_qid, first_with, first_without = _svmlight.parse(
        buf, labels, qids, indptr, indices, values, row_line, _svmlight._POW10
    )
    part = {"status": status, "line": line, "n_lines": n_lines}
    if status != _svmlight.OK:
        part["text"] = bytes(buf[_line_start(buf, line) :]).split(b"\n", 1)[0][:80].decode(errors="replace")
        return part
    indptr[rows] = nnz
    part.update(
        labels=labels[:rows],
        qids=qids[:rows],
        indptr=indptr[: rows + 1],
        indices=indices[:nnz],
        values=values[:nnz],
        row_line=row_line[:rows],
        n_with_qid=n_with_qid,
        first_with=first_with,
        first_without=first_without,
    )
    return part


def _offset_part(part, path, line_offset):
    """Raise for a failed piece (with the file's line number), else shift the piece's line numbers."""
    if part["status"] != _svmlight.OK:
        raise ValueError(f"{path}:{part['line'] + line_offset}: {_svmlight.MESSAGES[part['status']]}: {part['text']!r}")
    part["row_line"] += line_offset
    for key in ("first_with", "first_without"):
        if part[key] >= 0:
            part[key] += line_offset
    return part


def _line_start(buf, line):
    if line <= 1:
        return 0
    newlines = np.flatnonzero(buf == 10)
    return int(newlines[line - 2]) + 1


_BOM = b"\xef\xbb\xbf"


def _iter_chunks(fh, chunk_bytes):
    """Yield byte chunks that end on a line boundary (a UTF-8 byte order mark opening the file is dropped)."""
    rest = b""
    first = True
    while True:
        block = fh.read(chunk_bytes)
        if first:
            first = False
            while len(block) < len(_BOM) and block and _BOM.startswith(block):
                more = fh.read(chunk_bytes)
                if not more:
                    break
                block += more
            if block.startswith(_BOM):
                block = block[len(_BOM) :] or fh.read(chunk_bytes)
        if not block:
            if rest:
                yield rest
            return
        data = rest + block if rest else block
        cut = data.rfind(b"\n")
        if cut < 0:
            rest = data
            continue
        rest = data[cut + 1 :]
        yield data[: cut + 1]


def load_letor(
    path,
    *,
    n_features=None,
    dense=None,
    zero_based="auto",
    query_file=None,
    progress=None,
    chunk_bytes=_CHUNK_BYTES,
    n_jobs=None,
):
    """Load an SVMlight / LETOR ranking file (plain or gzip).

    Lines read ``<label> [qid:<id>] <index>:<value> ... [# comment]``. Query ids come from the ``qid:`` column;
    without one, from ``query_file`` or a sibling ``PATH.query`` / ``PATH.group`` file of group sizes (one per
    line, LightGBM's format); without either, ``qid`` is ``None``.

    The file is read in chunks of ``chunk_bytes`` (whole lines), which a compiled one-pass parser turns into
    arrays on ``n_jobs`` threads while the next chunks are read; memory stays bounded by the output plus a few
    chunks.

    Parameters
    ----------
    path : str or path-like
        The data file. Gzip is detected from the content, not the name.
    n_features : int, optional
        Number of columns of ``X``; by default one past the largest feature index. Use the training file's
        width when loading its validation or test file.
    dense : bool, optional
        ``True``: a dense float32 array; ``False``: a ``scipy.sparse.csr_matrix``; ``None`` (default): dense when
        at least half the entries are present (then dense float32 takes no more memory than CSR).
    zero_based : bool or "auto"
        Whether feature indices start at 0. ``"auto"`` (as scikit-learn): one-based unless an index 0 occurs in
        this file. Detect it on the training file only and pass the result (``.zero_based`` of that file's
        result) for its validation and test files: a zero-based test file in which feature 0 happens never to
        occur would otherwise be read one-based, its columns shifted by one.
    query_file : path-like, optional
        Group sizes file to use instead of the sibling lookup.
    progress : callable, optional
        Called as ``progress(bytes_read)`` after each chunk, with the bytes consumed from the file on disk
        (compressed bytes for a gzip file), so it ends at the file size (the CLI drives a progress bar with it).
    chunk_bytes : int
        Bytes parsed per chunk.
    n_jobs : int, optional
        Parser threads (default: the number of CPUs, at most 8).

    Returns
    -------
    LetorData
        The tuple ``(X, y, qid)`` with attributes ``zero_based`` (how the indices were read) and ``n_features``:

        X : ndarray of float32, shape (n_samples, n_features), or scipy.sparse.csr_matrix
        y : ndarray of float64, shape (n_samples,)
        qid : ndarray of int64, shape (n_samples,), or None
            Query ids; rows of a query are contiguous.

    Raises
    ------
    ValueError
        Naming the file and line: a line that does not parse, a NaN or infinite label, unsorted feature indices,
        ``qid:`` on some lines only, a qid that goes back to an earlier query, group sizes that do not add up to
        the number of rows, a feature index beyond ``n_features``, a feature index 0 with ``zero_based=False``, a
        file without any ``index:value`` pair, a truncated or corrupt gzip stream. A UTF-8 byte order mark at the
        start of the file is skipped.
    FileNotFoundError
        When ``path`` does not exist.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> p = os.path.join(d, "tiny.txt")
    >>> _ = open(p, "w").write("2 qid:1 1:0.5 2:1.5 # doc a\\n0 qid:1 1:0.25 2:3\\n1 qid:7 1:1 2:2\\n")
    >>> X, y, qid = load_letor(p)
    >>> X
    array([[0.5 , 1.5 ],
           [0.25, 3.  ],
           [1.  , 2.  ]], dtype=float32)
    >>> y, qid
    (array([2., 0., 1.]), array([1, 1, 7]))

    Read the later files of the same data the way the first one was read:

    >>> train = load_letor(p)
    >>> train.zero_based, train.n_features
    (False, 2)
    >>> X_test, y_test, qid_test = load_letor(p, zero_based=train.zero_based, n_features=train.n_features)
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {str(path)!r}")
    if zero_based not in (True, False, "auto"):
        raise ValueError(f"zero_based must be True, False or 'auto'; got {zero_based!r}")
    if n_features is not None:
        n_features = check_positive_int(n_features, "n_features")
    chunk_bytes = check_positive_int(chunk_bytes, "chunk_bytes")
    n_jobs = min(os.cpu_count() or 1, 8) if n_jobs is None else check_positive_int(n_jobs, "n_jobs")
    parts = []
    line_offset = 0
    lines_read = 0
    with _Source(path) as fh, ThreadPoolExecutor(max_workers=n_jobs) as pool:
        pending = deque()
        chunks = _iter_chunks(fh, chunk_bytes)
        while True:
            try:
                chunk = next(chunks, None)
            except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
                raise ValueError(
                    f"{path}:{lines_read + 1}: the gzip stream is truncated or corrupt after line {lines_read} "
                    f"({exc})"
                ) from None
            if chunk is None:
                break
            lines_read += chunk.count(b"\n")
            pending.append(pool.submit(_parse_piece, np.frombuffer(chunk, dtype=np.uint8)))
            if progress is not None:
                progress(fh.position())
            while len(pending) > 2 * n_jobs or (pending and pending[0].done()):
                part = _offset_part(pending.popleft().result(), path, line_offset)
                line_offset += part["n_lines"]
                parts.append(part)
        while pending:
            part = _offset_part(pending.popleft().result(), path, line_offset)
            line_offset += part["n_lines"]
            parts.append(part)
    if not parts:
        raise ValueError(f"{path}: the file has no data rows")
    return _assemble(parts, path, n_features=n_features, dense=dense, zero_based=zero_based, query_file=query_file)


class LetorData(tuple):
    """``(X, y, qid)`` as returned by :func:`load_letor`, with how the file was read.

    Attributes
    ----------
    zero_based : bool
        Whether feature index ``j`` of the file went to column ``j`` (True) or ``j - 1`` (False). Pass it as
        ``zero_based=`` when loading the validation and test files of the same data, so every file is read the
        same way (and record it with a saved model).
    n_features : int
        ``X.shape[1]``; pass it as ``n_features=`` for the later files.
    """

    def __new__(cls, X, y, qid, *, zero_based):
        self = super().__new__(cls, (X, y, qid))
        self.zero_based = bool(zero_based)
        self.n_features = int(X.shape[1])
        return self


def _assemble(parts, path, *, n_features, dense, zero_based, query_file):
    n_with_qid = sum(p["n_with_qid"] for p in parts)
    labels = np.concatenate([p["labels"] for p in parts])
    n_rows = len(labels)
    if n_rows == 0:
        raise ValueError(f"{path}: the file has no data rows")
    row_line = np.concatenate([p["row_line"] for p in parts])
    finite = np.isfinite(labels)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        raise ValueError(f"{path}:{int(row_line[row])}: the label must be a finite number; got {float(labels[row])!r}")
    if 0 < n_with_qid < n_rows:
        firsts_without = [p["first_without"] for p in parts if p["first_without"] >= 0]
        raise ValueError(f"{path}:{firsts_without[0]}: {_svmlight.MESSAGES[_svmlight.MIXED_QID]}")
    indices = np.concatenate([p["indices"] for p in parts]) if len(parts) > 1 else parts[0]["indices"]
    values = np.concatenate([p["values"] for p in parts]) if len(parts) > 1 else parts[0]["values"]
    indptr = np.empty(n_rows + 1, dtype=np.int64)
    indptr[0] = 0
    pos, offset = 0, 0
    for p in parts:
        k = len(p["labels"])
        indptr[pos + 1 : pos + k + 1] = p["indptr"][1:] + offset
        pos += k
        offset += p["indptr"][-1]
    if len(indices) == 0:
        raise ValueError(
            f"{path}:{int(row_line[0])}: no feature on any line (expected <label> [qid:<id>] <index>:<value> ...); "
            f"is this an SVMlight/LETOR file?"
        )
    min_index = int(indices.min())
    max_index = int(indices.max()) if len(indices) else 0
    shift = 0 if zero_based is True or (zero_based == "auto" and min_index == 0) else 1
    if shift and min_index == 0:
        row = int(np.searchsorted(indptr, int(np.flatnonzero(indices == 0)[0]), side="right")) - 1
        raise ValueError(
            f"{path}:{int(row_line[row])}: feature index 0 in a file read with zero_based=False (one-based, as the "
            f"first file of this data was read); its columns would not line up with that file's"
        )
    width = max_index - shift + 1
    if n_features is None:
        n_features = max(width, 0)
    elif width > n_features:
        k = int(np.flatnonzero(indices - shift >= n_features)[0])
        row = int(np.searchsorted(indptr, k, side="right")) - 1
        raise ValueError(
            f"{path}:{int(row_line[row])}: feature index {int(indices[k])} is beyond n_features={n_features}"
        )
    nnz = len(values)
    if dense is None:
        dense = n_features > 0 and nnz * 2 >= n_rows * n_features
    if dense:
        X = np.zeros((n_rows, n_features), dtype=np.float32)
        _svmlight.fill_dense(X, indptr, indices, values, shift)
    else:
        if shift:
            indices = indices - np.int32(shift)
        X = sp.csr_matrix((values, indices, indptr), shape=(n_rows, n_features))
    if n_with_qid:
        qid = np.concatenate([p["qids"] for p in parts])
        _check_contiguous_qid(qid, row_line, path)
    else:
        group_path = Path(query_file) if query_file is not None else _sibling_group_file(path)
        if group_path is None:
            qid = None
        else:
            if not group_path.is_file():
                raise FileNotFoundError(f"no such file: {str(group_path)!r}")
            sizes = _read_group_file(group_path, n_rows, path)
            qid = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
    return LetorData(X, labels, qid, zero_based=shift == 0)


# --------------------------------------------------------------------------------------------------------------
# CSV / Parquet
# --------------------------------------------------------------------------------------------------------------

_LABEL_CANDIDATES = ("label", "y", "target", "relevance")
_LETOR_SUFFIXES = (".txt", ".svm", ".svmlight", ".libsvm", ".letor", ".train", ".test", ".vali", ".dat")
_CSV_SUFFIXES = (".csv", ".tsv")
_PARQUET_SUFFIXES = (".parquet", ".pq")


def data_format(path):
    """``"letor"``, ``"csv"`` or ``"parquet"`` from the file name (a trailing ``.gz`` is looked through).

    >>> data_format("Fold1/train.txt.gz"), data_format("x.csv"), data_format("x.parquet")
    ('letor', 'csv', 'parquet')
    """
    name = Path(path).name.lower()
    if name.endswith(".gz"):
        name = name[: -len(".gz")]
    suffix = Path(name).suffix
    if suffix in _CSV_SUFFIXES:
        return "csv"
    if suffix in _PARQUET_SUFFIXES:
        return "parquet"
    if suffix in _LETOR_SUFFIXES:
        return "letor"
    raise ValueError(
        f"cannot tell the format of {str(path)!r} from its extension; use .txt/.svm/.letor (SVMlight/LETOR, "
        f"optionally .gz), .csv/.tsv or .parquet"
    )


def load_table(path, label=None, group=None, *, features=None, dtype=np.float32, position=None):
    """Load a CSV/TSV (plain or gzip) or Parquet table with pandas.

    Parameters
    ----------
    path : str or path-like
    label : str, optional
        Label column. By default the first of ``label``, ``y``, ``target``, ``relevance`` that exists.
    group : str, optional
        Query column (any type; rows of a query must be contiguous). Query ids are numbered in order of first
        appearance.
    features : list of str, optional
        Feature columns; by default every other column. All must be numeric (missing values become NaN).
    position : str, optional
        Column of displayed 0-based positions (learning from clicks), returned as ``.position`` (int64).

    Returns
    -------
    X : ndarray of float32, shape (n_samples, n_features)
    y : ndarray of float64, shape (n_samples,)
    qid : ndarray of int64 or None
    feature_names : list of str
        (Only the first three are unpacked by ``X, y, qid = load_table(...)``: the result is a
        :class:`Table`, a tuple of three whose ``feature_names`` attribute holds the column names.)

    Raises
    ------
    ValueError
        Naming the file (and line, for CSV) for a missing label/group/feature column, no feature column at all, a
        non-numeric column, a missing, non-numeric or infinite label, or a group whose rows are not contiguous.
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {str(path)!r}")
    fmt = data_format(path)
    if fmt == "letor":
        raise ValueError(f"{path}: this is an SVMlight/LETOR file; use load_letor")
    try:
        if fmt == "parquet":
            frame = pd.read_parquet(path)
        else:
            sep = "\t" if path.name.lower().removesuffix(".gz").endswith(".tsv") else ","
            frame = pd.read_csv(path, sep=sep)
    except (ValueError, OSError, EOFError, zlib.error, pd.errors.ParserError) as exc:
        raise ValueError(f"{path}: cannot read as {fmt}: {str(exc).splitlines()[0]}") from None
    row_name = (lambda i: f"{path}:{i + 2}") if fmt == "csv" else (lambda i: f"{path}: row {i}")
    header = f"{path}:1" if fmt == "csv" else str(path)
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    if label is None:
        label = next((c for c in _LABEL_CANDIDATES if c in columns), None)
        if label is None:
            raise ValueError(
                f"{header}: no label column (looked for {', '.join(_LABEL_CANDIDATES)}); columns are {columns}"
            )
    for what, col in (("label", label), ("group", group), ("position", position)):
        if col is not None and col not in columns:
            raise ValueError(f"{header}: missing {what} column {col!r}; columns are {columns}")
    if features is None:
        features = [c for c in columns if c not in (label, group, position)]
    else:
        features = [str(c) for c in features]
        missing = [c for c in features if c not in columns]
        if missing:
            raise ValueError(f"{header}: missing feature column {missing[0]!r}; columns are {columns}")
    y_col = frame[label]
    if not pd.api.types.is_numeric_dtype(y_col.dtype) or pd.api.types.is_bool_dtype(y_col.dtype):
        y_num = pd.to_numeric(y_col, errors="coerce")
        bad = np.flatnonzero(y_num.isna().to_numpy() & y_col.notna().to_numpy())
        if len(bad):
            raise ValueError(f"{row_name(int(bad[0]))}: label {label!r} is not a number: {y_col.iloc[bad[0]]!r}")
        y_col = y_num
    y = y_col.to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isnan(y).any():
        raise ValueError(f"{row_name(int(np.flatnonzero(np.isnan(y))[0]))}: label {label!r} is missing")
    if np.isinf(y).any():
        i = int(np.flatnonzero(np.isinf(y))[0])
        raise ValueError(f"{row_name(i)}: label {label!r} must be a finite number; got {float(y[i])!r}")
    if not features:
        raise ValueError(f"{header}: no feature columns (columns are {columns}; label {label!r}, group {group!r})")
    for col in features:
        if not (pd.api.types.is_numeric_dtype(frame[col].dtype) or pd.api.types.is_bool_dtype(frame[col].dtype)):
            raise ValueError(
                f"{header}: feature column {col!r} is not numeric (dtype {frame[col].dtype}); encode it or leave it "
                f"out with features=[...]"
            )
    X = frame[features].to_numpy(dtype=dtype, na_value=np.nan)
    X = np.ascontiguousarray(X)
    qid = None
    if group is not None:
        g = frame[group]
        if g.isna().any():
            raise ValueError(f"{row_name(int(np.flatnonzero(g.isna().to_numpy())[0]))}: group {group!r} is missing")
        codes, _ = pd.factorize(g, sort=False)
        qid = codes.astype(np.int64)
        change = np.flatnonzero(qid[1:] != qid[:-1]) + 1
        starts = np.concatenate(([0], change)) if len(qid) else change
        if len(starts) != (qid.max() + 1 if len(qid) else 0):
            ids = qid[starts]
            seen = np.zeros(len(ids), dtype=bool)
            seen[np.unique(ids, return_index=True)[1]] = True
            j = int(np.flatnonzero(~seen)[0])
            raise ValueError(
                f"{row_name(int(starts[j]))}: group {g.iloc[starts[j]]!r} goes back to an earlier query; the rows of "
                f"each query must be contiguous"
            )
    table = Table(X, y, qid, features)
    if position is not None:
        pos = pd.to_numeric(frame[position], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.flatnonzero(~np.isfinite(pos) | (pos < 0) | (pos != np.floor(pos)))
        if len(bad):
            raise ValueError(f"{row_name(int(bad[0]))}: position {position!r} must be a non-negative integer; got "
                             f"{frame[position].iloc[bad[0]]!r}")
        table.position = pos.astype(np.int64)
    return table


class Table(tuple):
    """``(X, y, qid)`` with the feature column names as ``.feature_names``."""

    def __new__(cls, X, y, qid, feature_names):
        self = super().__new__(cls, (X, y, qid))
        self.feature_names = list(feature_names)
        self.position = None  # the displayed positions, when load_table(position=COL) names their column
        return self


# --------------------------------------------------------------------------------------------------------------
# Generators
# --------------------------------------------------------------------------------------------------------------

# Label histogram of the MSLR-WEB datasets, roughly (about half 0s, a third 1s, 13 % 2s, 2 % 3s, 1 % 4s).
_MSLR_LABEL_SHARES = np.array([0.52, 0.32, 0.13, 0.02, 0.01])


def make_ranking(
    n_queries=1000,
    docs_per_query=(20, 250),
    n_features=136,
    n_labels=5,
    *,
    n_informative=10,
    noise=1.0,
    seed=0,
):
    """An MSLR-shaped synthetic learning-to-rank set with a learnable relevance signal.

    Each query gets a size drawn uniformly from ``docs_per_query`` (inclusive). Features are i.i.d. standard
    normal float32. A latent relevance score is built from ``n_informative`` randomly placed columns::

        s = X[:, J] @ w + 0.5 * x_a * x_b + 0.5 * |x_c| + u_q + noise * e,    e ~ N(0, 1),  u_q ~ N(0, 0.5^2)

    (``w`` is a random unit vector, ``a, b, c`` are informative columns, ``u_q`` a per-query offset so queries
    differ in how many relevant documents they have). Labels ``0 .. n_labels-1`` are cut from ``s`` at global
    quantiles, so their histogram follows MSLR-WEB's (about 52/32/13/2/1 % for 5 labels; shares halving per
    grade otherwise). Everything is vectorized: a million rows take a few seconds.

    Parameters
    ----------
    n_queries : int
    docs_per_query : int or (int, int)
        Fixed size, or the inclusive (min, max) range of query sizes.
    n_features : int
    n_labels : int
        Number of relevance grades (>= 2).
    n_informative : int
        Columns that carry the signal (capped at ``n_features``).
    noise : float
        Standard deviation of the label noise (0 gives a deterministic ranking signal).
    seed : int

    Returns
    -------
    X : ndarray of float32, shape (n_samples, n_features)
    y : ndarray of float64, shape (n_samples,)
        Integer relevance grades.
    qid : ndarray of int64, shape (n_samples,)
        ``0 .. n_queries-1``, contiguous and sorted.
    """
    n_queries = check_positive_int(n_queries, "n_queries")
    n_features = check_positive_int(n_features, "n_features")
    n_labels = check_positive_int(n_labels, "n_labels", minimum=2)
    n_informative = min(check_positive_int(n_informative, "n_informative"), n_features)
    noise = check_interval(noise, "noise", 0, None, closed="left")
    if np.ndim(docs_per_query) == 0:
        lo = hi = check_positive_int(docs_per_query, "docs_per_query")
    else:
        if len(docs_per_query) != 2:
            raise ValueError(f"docs_per_query must be an int or a (min, max) pair; got {docs_per_query!r}")
        lo = check_positive_int(docs_per_query[0], "docs_per_query[0]")
        hi = check_positive_int(docs_per_query[1], "docs_per_query[1]")
        if hi < lo:
            raise ValueError(f"docs_per_query must have min <= max; got {docs_per_query!r}")
    rng = np.random.default_rng(seed)
    sizes = rng.integers(lo, hi + 1, size=n_queries)
    n = int(sizes.sum())
    qid = np.repeat(np.arange(n_queries, dtype=np.int64), sizes)
    X = rng.standard_normal((n, n_features), dtype=np.float32)
    cols = rng.choice(n_features, size=n_informative, replace=False)
    w = rng.standard_normal(n_informative)
    w /= np.linalg.norm(w)
    score = X[:, cols] @ w.astype(np.float32)
    score = score.astype(np.float64)
    if n_informative >= 3:
        a, b, c = cols[:3]
        score += 0.5 * X[:, a] * X[:, b] + 0.5 * np.abs(X[:, c])
    score += rng.normal(0.0, 0.5, size=n_queries)[qid]
    if noise > 0:
        score += noise * rng.standard_normal(n)
    if n_labels == len(_MSLR_LABEL_SHARES):
        shares = _MSLR_LABEL_SHARES
    else:
        shares = 0.5 ** np.arange(n_labels)
        shares /= shares.sum()
    cuts = np.quantile(score, np.cumsum(shares)[:-1])
    y = np.searchsorted(cuts, score, side="right").astype(np.float64)
    return X, y, qid


def make_imbalanced(n_samples=10000, positive_rate=0.01, *, n_features=20, n_informative=5, seed=0):
    """A binary classification set with exactly ``round(n_samples * positive_rate)`` positives.

    Features are i.i.d. standard normal float32. With informative columns ``J`` and a random unit vector ``w``,
    a latent logit is::

        z = 2 * X[:, J] @ w + (x_a^2 - 1) + l,    l ~ Logistic(0, 1)

    and the ``round(n_samples * positive_rate)`` rows with the largest ``z`` are the positives (a logistic
    latent-variable model thresholded to hit the rate exactly). The signal is real but noisy, so PR-AUC is well
    below 1 and objectives for imbalance (focal, weighted cross-entropy) have something to improve.

    Parameters
    ----------
    n_samples : int
    positive_rate : float in (0, 1)
    n_features, n_informative : int
    seed : int

    Returns
    -------
    X : ndarray of float32, shape (n_samples, n_features)
    y : ndarray of float64, shape (n_samples,)
        0/1 labels.
    """
    n_samples = check_positive_int(n_samples, "n_samples", minimum=2)
    positive_rate = check_interval(positive_rate, "positive_rate", 0, 1)
    n_features = check_positive_int(n_features, "n_features")
    n_informative = min(check_positive_int(n_informative, "n_informative"), n_features)
    n_pos = int(round(n_samples * positive_rate))
    if not 0 < n_pos < n_samples:
        raise ValueError(
            f"positive_rate={positive_rate!r} gives {n_pos} positives out of n_samples={n_samples}; need at least one of each class"
        )
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features), dtype=np.float32)
    cols = rng.choice(n_features, size=n_informative, replace=False)
    w = rng.standard_normal(n_informative)
    w /= np.linalg.norm(w)
    z = 2.0 * (X[:, cols] @ w.astype(np.float32)).astype(np.float64)
    z += X[:, cols[0]].astype(np.float64) ** 2 - 1.0
    z += rng.logistic(0.0, 1.0, size=n_samples)
    y = np.zeros(n_samples, dtype=np.float64)
    y[np.argpartition(-z, n_pos - 1)[:n_pos]] = 1.0
    return X, y


# --------------------------------------------------------------------------------------------------------------
# Named datasets: one catalogue of how to load each set and, where it is public, where to download it
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DownloadFile:
    """One file of a downloadable data set: a pinned ``url``, its ``path`` under the cache and its SHA-256."""

    url: str
    path: str
    sha256: str
    size: int | None = None
    unpack: bool = False


@dataclass(frozen=True)
class DatasetInfo:
    """A named data set of the catalogue :data:`DATASETS`.

    Attributes
    ----------
    name, task, source, description : str
        ``task`` is ``"ranking"``, ``"binary"``, ``"regression"`` or ``"multiclass"``; ``source`` is
        ``"generator"``, ``"scikit-learn"``, ``"local"`` (files under a data root, downloadable with :func:`fetch`)
        or ``"manual"`` (licence-gated: download by hand, then :func:`install_archive`).
    splits : tuple of str
        What :func:`load` accepts as ``split`` (empty when the set has no loader: read its files directly).
    licence : str
    files : tuple of str
        Paths, relative to a data root, that the loader reads; the first marks the set as present.
    downloads : tuple of DownloadFile
        Pinned URLs and SHA-256s (empty unless ``source == "local"``).
    manual : str or None
        Where to get a licence-gated set by hand.
    location : Path or None
        The data root holding the files (``None`` when absent or not file-based).
    available : bool
        Whether :func:`load` can run without a download.
    """

    name: str
    task: str
    source: str
    splits: tuple
    description: str
    licence: str = ""
    files: tuple = ()
    downloads: tuple = field(default=(), repr=False)
    manual: str | None = field(default=None, repr=False)
    loader: Callable | None = field(default=None, repr=False, compare=False)

    @property
    def location(self):
        if not self.files:
            return None
        for root in data_roots():
            if _find(root, self.files[0]) is not None:
                return root
        return None

    @property
    def available(self):
        if self.loader is None:
            return False
        return self.source not in ("local", "manual") or self.location is not None


def data_roots():
    """Folders searched for local copies of public data sets, in order.

    ``$GBM_OBJECTIVES_DATA`` (``os.pathsep``-separated), then the download cache :func:`cache_dir`.
    """
    roots = []
    env = os.environ.get("GBM_OBJECTIVES_DATA")
    if env:
        roots += [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    roots.append(cache_dir())
    return roots


def cache_dir():
    """The download cache: ``$GBM_OBJECTIVES_CACHE``, else ``$XDG_CACHE_HOME/gbm_objectives``, else ``~/.cache/...``."""
    env = os.environ.get("GBM_OBJECTIVES_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gbm_objectives"


def _find(root, rel):
    for candidate in (Path(root) / rel, Path(root) / (rel + ".gz")):
        if candidate.is_file():
            return candidate
    return None


def _split_rows(n, split, seed=0):
    """Deterministic 60/20/20 train/vali/test row split (``all``: every row, in order)."""
    if split == "all":
        return np.arange(n)
    perm = np.random.default_rng(seed).permutation(n)
    a, b = int(0.6 * n), int(0.8 * n)
    return np.sort({"train": perm[:a], "vali": perm[a:b], "test": perm[b:]}[split])


def _split_queries(qid, split):
    if split == "all":
        return np.arange(len(qid))
    n_q = int(qid.max()) + 1
    a, b = int(0.6 * n_q), int(0.8 * n_q)
    lo, hi = {"train": (0, a), "vali": (a, b), "test": (b, n_q)}[split]
    return np.flatnonzero((qid >= lo) & (qid < hi))


def _sklearn_loader(fn_name):
    def loader(split, **kwargs):
        import sklearn.datasets

        X, y = getattr(sklearn.datasets, fn_name)(return_X_y=True)
        rows = _split_rows(len(y), split)
        return np.ascontiguousarray(X[rows], dtype=np.float32), y[rows].astype(np.float64), None

    return loader


def _synthetic_ranking(split, n_queries=500, seed=0, **kwargs):
    X, y, qid = make_ranking(n_queries=n_queries, seed=seed, **kwargs)
    rows = _split_queries(qid, split)
    return X[rows], y[rows], qid[rows]


def _synthetic_imbalanced(split, n_samples=50000, positive_rate=0.01, seed=0, **kwargs):
    X, y = make_imbalanced(n_samples=n_samples, positive_rate=positive_rate, seed=seed, **kwargs)
    rows = _split_rows(n_samples, split)
    return X[rows], y[rows], None


def _locate(*patterns, **fmt):
    rels = [p.format(**fmt) for p in patterns]
    for root in data_roots():
        for rel in rels:
            path = _find(root, rel)
            if path is not None:
                return path
    raise FileNotFoundError(_not_found_message(rels[0]))


def _local_letor(*patterns):
    def loader(split, fold=1, **kwargs):
        return load_letor(_locate(*patterns, split=split, fold=int(fold)), **kwargs)

    return loader


def _local_csv(rel, label_col, drop=(), header=None):
    def loader(split, **kwargs):
        import pandas as pd

        path = _locate(rel)
        frame = pd.read_csv(path, header=header)
        col = frame.columns[label_col] if isinstance(label_col, int) else label_col
        y = frame.pop(col).to_numpy(dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(y))
        if len(bad):
            line = int(bad[0]) + (2 if header == 0 else 1)
            raise ValueError(f"{path}:{line}: label is not a finite number: {y[bad[0]]!r}")
        frame = frame.drop(columns=[frame.columns[i] for i in drop])
        X = np.ascontiguousarray(frame.to_numpy(dtype=np.float32))
        rows = _split_rows(len(y), split)
        return X[rows], y[rows], None

    return loader


def _not_found_message(rel):
    roots = ", ".join(str(r) for r in data_roots())
    return (
        f"local data set file {rel!r} not found under any data root ({roots}); download it with "
        f"gbm_objectives.datasets.fetch(NAME) (`gbm-objectives datasets --fetch NAME`) or point GBM_OBJECTIVES_DATA at a "
        f"folder that holds it"
    )


_LIGHTGBM = "https://raw.githubusercontent.com/microsoft/LightGBM/bae0b7ba953341a32b2a9c5c5c437a1b976f576f"
_XGBOOST_DEMO = "https://raw.githubusercontent.com/dmlc/xgboost/379b29f0836b9dbc313b993d8e5743bd452d4117/demo/data"
_XGBOOST_CLAIMS = "https://raw.githubusercontent.com/dmlc/xgboost/c91e91f3e8953dc34174a3b55a2304fa941a08dc/demo/data"
_META = "https://raw.githubusercontent.com/meta-toolkit/meta/ca344dfe6a7bace9b818a6ad4f764c1ad581cf99/data/MQ2008"
_BROWNLEE = "https://raw.githubusercontent.com/jbrownlee/Datasets/master"
_MSR_LETOR = "https://www.microsoft.com/en-us/research/project/letor-learning-rank-information-retrieval/"
_MSR_MSLR = "https://www.microsoft.com/en-us/research/project/mslr/"

# SHA-256 and size of the MQ2008 fold files (each fold's test file is S(k+4 mod 5), its vali file S(k+3 mod 5)).
_MQ2008 = {
    (1, "train"): ("9b98c14e9536f2a18c59670714c99defc63e74359c56cba219a61db248f27123", 5917377),
    (1, "vali"): ("a239850bc6fe960ad08c2b7b0d99db90fe976dd93a15358e98036591b4e7a2ac", 1663264),
    (1, "test"): ("c68c52feb1ecae7f17b64c8e2fda2098302681bbd4ea5fad8c73a1d32a1cf2b2", 1765771),
    (2, "train"): ("96528d299fc07c54d8a6c7a539142be5cde1b75b15b7da875508b874e73bce91", 5778393),
    (2, "vali"): ("c68c52feb1ecae7f17b64c8e2fda2098302681bbd4ea5fad8c73a1d32a1cf2b2", 1765771),
    (2, "test"): ("cbd42504549a2388f6c0aefdb506f22074225b574c7a5df10194174c9b00e4e0", 1802248),
    (3, "train"): ("3886fb46484c2f55f78ce992886614dd65974f89897db18cf1127d0af259685b", 5310453),
    (3, "vali"): ("cbd42504549a2388f6c0aefdb506f22074225b574c7a5df10194174c9b00e4e0", 1802248),
    (3, "test"): ("055ac792cb8f7d5a029090b8acbfb6c57323339d1371251bf2465ac182aa8605", 2233711),
    (4, "train"): ("46bf4d68615328ec7933b28881129df08b8a23a4b12cb0c0a1652b48eab08b50", 5231283),
    (4, "vali"): ("055ac792cb8f7d5a029090b8acbfb6c57323339d1371251bf2465ac182aa8605", 2233711),
    (4, "test"): ("a03fe2b6e76479de60fecdb37d560a40a4e899b0cd685553d2da31ea205af1ab", 1881418),
    (5, "train"): ("d672fe2403743defa8642b44fa88a1d389ed9ada5a93aaece412ac563da22834", 5801730),
    (5, "vali"): ("a03fe2b6e76479de60fecdb37d560a40a4e899b0cd685553d2da31ea205af1ab", 1881418),
    (5, "test"): ("a239850bc6fe960ad08c2b7b0d99db90fe976dd93a15358e98036591b4e7a2ac", 1663264),
}

_SPLITS3 = ("train", "vali", "test", "all")
_FOLD_SPLITS = ("train", "vali", "test")
_MSR_LICENCE = "Microsoft Research, research use; cite arXiv:1306.2597"

_CATALOGUE = [
    DatasetInfo(
        "synthetic-ranking", "ranking", "generator", _SPLITS3,
        "make_ranking(n_queries=500): MSLR-shaped, 136 features, labels 0-4; split by query 60/20/20",
        loader=_synthetic_ranking,
    ),
    DatasetInfo(
        "synthetic-imbalanced", "binary", "generator", _SPLITS3,
        "make_imbalanced(n_samples=50000, positive_rate=0.01): 20 features; rows split 60/20/20",
        loader=_synthetic_imbalanced,
    ),
    DatasetInfo(
        "breast_cancer", "binary", "scikit-learn", _SPLITS3,
        "Wisconsin breast cancer (569 rows, 30 features, 37% positive); rows split 60/20/20",
        licence="shipped with scikit-learn (UCI, CC BY 4.0)", loader=_sklearn_loader("load_breast_cancer"),
    ),
    DatasetInfo(
        "diabetes", "regression", "scikit-learn", _SPLITS3,
        "diabetes progression (442 rows, 10 features); rows split 60/20/20",
        licence="shipped with scikit-learn", loader=_sklearn_loader("load_diabetes"),
    ),
    DatasetInfo(
        "wine", "multiclass", "scikit-learn", _SPLITS3,
        "UCI wine recognition (178 rows, 13 features, 3 classes); rows split 60/20/20",
        licence="shipped with scikit-learn (UCI, CC BY 4.0)", loader=_sklearn_loader("load_wine"),
    ),
    DatasetInfo(
        "mq2008", "ranking", "local", _FOLD_SPLITS,
        "LETOR 4.0 MQ2008 (Qin & Liu 2013): 15,211 rows, 784 queries, 46 features, labels 0-2, 5 folds (fold=1..5)",
        licence=_MSR_LICENCE,
        files=("letor4_mq2008/Fold1/train.txt",),
        downloads=tuple(
            DownloadFile(f"{_META}/Fold{k}/{split}.txt", f"letor4_mq2008/Fold{k}/{split}.txt", *_MQ2008[(k, split)])
            for k in range(1, 6)
            for split in _FOLD_SPLITS
        ),
        loader=_local_letor("letor4_mq2008/Fold{fold}/{split}.txt"),
    ),
    DatasetInfo(
        "lightgbm-lambdarank", "ranking", "local", ("train", "test"),
        "LightGBM's examples/lambdarank data: 3,005 + 768 rows, 300 sparse features, labels 0-4, .query files",
        licence="shipped in the MIT-licensed LightGBM repository (origin of the data undocumented)",
        files=("lightgbm_lambdarank/rank.train",),
        downloads=(
            DownloadFile(f"{_LIGHTGBM}/examples/lambdarank/rank.train", "lightgbm_lambdarank/rank.train",
                         "a0c7201c89120879c14a5059e091f441cbf2a29b8aaef363885ccb1a530448df", 2479271),
            DownloadFile(f"{_LIGHTGBM}/examples/lambdarank/rank.train.query", "lightgbm_lambdarank/rank.train.query",
                         "40cb5fef637229311cd30fab13cb7fb633b023e86a87ff04ec55db420143d6af", 580),
            DownloadFile(f"{_LIGHTGBM}/examples/lambdarank/rank.test", "lightgbm_lambdarank/rank.test",
                         "3b1219ce117a0a36d2f76c02de7e7831c1d79af0d40f5195c03178bbe26c824b", 649930),
            DownloadFile(f"{_LIGHTGBM}/examples/lambdarank/rank.test.query", "lightgbm_lambdarank/rank.test.query",
                         "36dca82ba3bf99201bac3987b00a8fbf6fe5f563e9fa6d0da90e783710a32df4", 146),
        ),
        loader=_local_letor("lightgbm_lambdarank/rank.{split}"),
    ),
    DatasetInfo(
        "agaricus", "binary", "local", ("train", "test"),
        "UCI mushroom, one-hot (XGBoost's demo data): 6,513 + 1,611 rows, 126 sparse binary features",
        licence="UCI Machine Learning Repository (CC BY 4.0)",
        files=("xgboost_agaricus/agaricus.txt.train",),
        downloads=(
            DownloadFile(f"{_XGBOOST_DEMO}/agaricus.txt.train", "xgboost_agaricus/agaricus.txt.train",
                         "915c2def06e9b44a306ad097fe8b6652c7c477d9c1e605bd2130ad20a70a8ad6", 742257),
            DownloadFile(f"{_XGBOOST_DEMO}/agaricus.txt.test", "xgboost_agaricus/agaricus.txt.test",
                         "765db79391141953d890ce197fe828a621d6487fbba4de5e4d2217bd140371c0", 183611),
        ),
        loader=_local_letor("xgboost_agaricus/agaricus.txt.{split}"),
    ),
    DatasetInfo(
        "autoclaims", "regression", "local", ("train", "test"),
        "insurance claim amounts (R insuranceData, Frees 2010): heavy right tail; 5,445 + 1,328 rows, 33 features",
        licence="from the R package insuranceData (GPL-2); research and teaching use",
        files=("autoclaims/autoclaims.train",),
        downloads=(
            DownloadFile(f"{_XGBOOST_CLAIMS}/autoclaims.train", "autoclaims/autoclaims.train",
                         "9df9264bea8656cf632aca13cf8aa0823b4c3d39026aca0b21e5cc4d11bba591", 149472),
            DownloadFile(f"{_XGBOOST_CLAIMS}/autoclaims.test", "autoclaims/autoclaims.test",
                         "be34ce3d2fb063bec6e3d002cec05741242972dd3148f975569f1df545e3225d", 36449),
        ),
        loader=_local_letor("autoclaims/autoclaims.{split}"),
    ),
    DatasetInfo(
        "oil-spill", "binary", "local", _SPLITS3,
        "oil spill detection (Kubat et al. 1998): 937 rows, 48 features, 4.4% positive; rows 60/20/20",
        licence="research use; cite Kubat, Holte & Matwin, Machine Learning 30 (1998)",
        files=("oil_spill/oil-spill.csv",),
        downloads=(DownloadFile(f"{_BROWNLEE}/oil-spill.csv", "oil_spill/oil-spill.csv",
                                "acd090bfa475d6247183c53683a344235136e4e9133d99259ae7fe692870c0f0", 230924),),
        loader=_local_csv("oil_spill/oil-spill.csv", label_col=-1, drop=(0,)),
    ),
    DatasetInfo(
        "phoneme", "binary", "local", _SPLITS3,
        "ELENA phoneme: 5,404 rows, 5 features, 29% positive; rows split 60/20/20",
        licence="ELENA project (ESPRIT 6891), research use",
        files=("phoneme/phoneme.csv",),
        downloads=(DownloadFile(f"{_BROWNLEE}/phoneme.csv", "phoneme/phoneme.csv",
                                "eacbb9f7a2b2135d067bff28ed7b9adb760f61f5e91f375f91e22e7e42ace24d", 174717),),
        loader=_local_csv("phoneme/phoneme.csv", label_col=-1),
    ),
    DatasetInfo(
        "mq2007", "ranking", "manual", _FOLD_SPLITS,
        "LETOR 4.0 MQ2007: 69,623 rows, 1,692 queries, 46 features, 5 folds (about 60 MB unpacked)",
        licence=_MSR_LICENCE,
        files=("letor4_mq2007/Fold1/train.txt",),
        manual=f"download MQ2007.rar from {_MSR_LETOR} and unpack it (unrar or 7z) so that its Fold1..Fold5 folders "
               f"land in CACHE/letor4_mq2007/",
        loader=_local_letor("letor4_mq2007/Fold{fold}/{split}.txt", "letor4_mq2007/MQ2007/Fold{fold}/{split}.txt"),
    ),
    DatasetInfo(
        "mslr-web10k", "ranking", "manual", _FOLD_SPLITS,
        "MSLR-WEB10K: 1.2M rows, 10,000 queries, 136 features, labels 0-4, 5 folds (about 1.2 GB unpacked)",
        licence="Microsoft Research data licence (research use); cite arXiv:1306.2597",
        files=("mslr-web10k/Fold1/train.txt",),
        manual=f"download MSLR-WEB10K.zip from {_MSR_MSLR}",
        loader=_local_letor("mslr-web10k/Fold{fold}/{split}.txt", "mslr-web10k/MSLR-WEB10K/Fold{fold}/{split}.txt"),
    ),
    DatasetInfo(
        "mslr-web30k", "ranking", "manual", _FOLD_SPLITS,
        "MSLR-WEB30K: 3.8M rows, 31,531 queries, 136 features, labels 0-4, 5 folds (about 3.8 GB unpacked)",
        licence="Microsoft Research data licence (research use); cite arXiv:1306.2597",
        files=("mslr-web30k/Fold1/train.txt",),
        manual=f"download MSLR-WEB30K.zip from {_MSR_MSLR}",
        loader=_local_letor("mslr-web30k/Fold{fold}/{split}.txt", "mslr-web30k/MSLR-WEB30K/Fold{fold}/{split}.txt"),
    ),
    DatasetInfo(
        "yahoo-ltr", "ranking", "manual", (),
        "Yahoo! Learning to Rank Challenge C14 (set 1 train: 473k rows, 19,944 queries, 700 features); "
        "no loader: read its files with load_letor",
        licence="Yahoo Webscope licence: registration required, no redistribution",
        manual="request 'C14 - Yahoo! Learning to Rank Challenge' at https://webscope.sandbox.yahoo.com/",
    ),
    DatasetInfo(
        "istella", "ranking", "manual", (),
        "Istella LETOR (33,018 queries, 10.4M rows, 220 features); also Istella-S (3.4M rows); "
        "no loader: read its files with load_letor",
        licence="Istella licence: research use, registration required, no redistribution",
        manual="request it at https://istella.ai/datasets/letor-dataset/",
    ),
    DatasetInfo(
        "creditcard-fraud", "binary", "manual", _SPLITS3,
        "credit-card fraud (ULB, Dal Pozzolo et al. 2015): 284,807 rows, 30 features, 492 frauds (0.17%); "
        "rows split 60/20/20",
        licence="Open Database License (ODbL) 1.0, via Kaggle (login required)",
        files=("creditcard-fraud/creditcard.csv",),
        manual="download creditcard.csv from https://www.kaggle.com/datasets/mlg-ulb/creditcardfraud",
        loader=_local_csv("creditcard-fraud/creditcard.csv", label_col="Class", header=0),
    ),
]

#: The catalogue: name -> :class:`DatasetInfo` (how to load each set and, where public, where to download it).
DATASETS = {info.name: info for info in _CATALOGUE}


def list_datasets():
    """The named data sets, as :class:`DatasetInfo` (``.available`` tells whether a file-based one is present).

    >>> [d.name for d in list_datasets()][:3]
    ['synthetic-ranking', 'synthetic-imbalanced', 'breast_cancer']
    """
    return list(DATASETS.values())


def _info(name):
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}")
    return DATASETS[name]


def load(name, split="train", **kwargs):
    """Load a named dataset split as ``(X, y, qid)`` (``qid`` is ``None`` unless it is a ranking set).

    Parameters
    ----------
    name : str
        One of :func:`list_datasets`.
    split : str
        One of the dataset's splits (``"train"``, ``"vali"``, ``"test"``; ``"all"`` for generated and
        scikit-learn sets, whose 60/20/20 splits are deterministic).
    **kwargs
        Passed to the loader: ``fold=`` for the LETOR/MSLR folds; generator arguments (``n_queries``, ``seed``,
        ...) for the synthetic sets; :func:`load_letor` arguments for LETOR files.

    >>> X, y, qid = load("breast_cancer", split="test")
    >>> X.shape, qid is None
    ((114, 30), True)
    """
    info = _info(name)
    if info.loader is None:
        raise ValueError(f"dataset {name!r} has no loader ({info.description}); read its files with load_letor")
    if split not in info.splits:
        raise ValueError(f"dataset {name!r} has splits {list(info.splits)}; got split={split!r}")
    return info.loader(split, **kwargs)


def fetch(name, cache_dir=None, *, force=False, progress=True, log=print):
    """Download (or reuse) every file of a catalogue data set into the cache, verifying each SHA-256.

    A file already in the cache is kept when its checksum matches (downloaded again with ``force``). Bytes go to
    ``FILE.part`` and are renamed into place only once verified.

    Parameters
    ----------
    name : str
        A :data:`DATASETS` name with ``source == "local"``.
    cache_dir : path-like, optional
        Default :func:`cache_dir` (which :func:`data_roots` searches, so :func:`load` then finds the files).
    force : bool
    progress : bool
        Show a progress bar (or log lines when not on a terminal) on stderr.
    log : callable
        Called with one line per file.

    Returns
    -------
    list of Path
        The files in the cache (empty for generated and scikit-learn sets, which need no download).

    Raises
    ------
    FetchError (a ValueError)
        For an unknown name, a set that must be downloaded by hand (the message says where) and a checksum
        mismatch (:class:`ChecksumError`, naming the file and both digests).
    OSError
        For network and file-system failures.
    """
    if name not in DATASETS:
        raise FetchError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}")
    info = DATASETS[name]
    cache = Path(cache_dir) if cache_dir is not None else _default_cache()
    if info.manual:
        raise FetchError(
            f"{name} must be downloaded by hand ({info.licence}): {info.manual.replace('CACHE', str(cache))}; then "
            f"install the file with gbm_objectives.datasets.install_archive({name!r}, FILE) "
            f"(`python datasets/fetch.py {name} --archive FILE`)"
        )
    if not info.downloads:
        log(f"{name}: nothing to download ({info.source} data set)")
        return []
    paths = []
    for spec in info.downloads:
        dest = cache / spec.path
        if dest.is_file() and not force:
            try:
                _fetch.verify(dest, spec.sha256)
                log(f"{dest}: already present, checksum ok")
                paths.append(dest)
                continue
            except ChecksumError:
                log(f"{dest}: checksum mismatch, downloading again")
        _fetch.download(spec.url, dest, sha256=spec.sha256, progress=progress)
        log(f"{dest}: downloaded, checksum ok")
        if spec.unpack:
            _fetch.unpack(dest, dest.parent)
        paths.append(dest)
    return paths


def install_archive(name, archive, cache_dir=None, *, sha256=None, log=print):
    """Verify a hand-downloaded archive (when ``sha256`` is given) and unpack it into ``CACHE/<name>/``.

    A ``.csv``/``.txt`` file that is no archive is copied there as it is. Returns the written paths.
    """
    if name not in DATASETS:
        raise FetchError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}")
    archive = Path(archive)
    if not archive.is_file():
        raise FetchError(f"archive: no such file {str(archive)!r}")
    if sha256 is not None:
        _fetch.verify(archive, sha256)
        log(f"{archive}: checksum ok")
    else:
        log(f"{archive}: sha256 {_fetch.sha256_file(archive)} (not verified: pass sha256 to check it)")
    info = DATASETS[name]
    folder = Path(info.files[0]).parts[0] if info.files else name
    target = (Path(cache_dir) if cache_dir is not None else _default_cache()) / folder
    try:
        written = _fetch.unpack(archive, target)
    except FetchError:
        if archive.suffix.lower() in (".csv", ".txt"):
            target.mkdir(parents=True, exist_ok=True)
            written = [Path(shutil.copy2(archive, target / archive.name))]
        else:
            raise
    log(f"unpacked {len(written)} file(s) into {target}")
    return written


_default_cache = cache_dir  # fetch() and install_archive() take a parameter named cache_dir
