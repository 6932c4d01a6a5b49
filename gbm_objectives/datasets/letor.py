"""LETOR/SVMlight files: :func:`load_letor` (``label qid:Q 1:v 2:v ...`` lines, plain or gzipped, read in
parallel chunks by the compiled scanner of :mod:`._letor_scanner`), their sibling ``.query``/``.group`` and
``.position`` files.

Returns ``(X, y, qid)``: ``X`` float32 (or a SciPy CSR matrix), ``y`` float64 labels, ``qid`` int64 per-row query
ids whose rows are contiguous, or ``None``. Bad files raise ``ValueError`` naming the file and the line.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .._core.validation import check_positive_int
from . import _letor_scanner

__all__ = ["read_position_file", "load_letor", "LetorData", "MAX_FEATURES"]

_CHUNK_BYTES = 16 << 20

#: The widest matrix :func:`load_letor` builds: 2**24 = 16,777,216 columns (see its docstring, "Width limit").
MAX_FEATURES = 1 << 24


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
    rows_ub, pairs_ub = _letor_scanner.upper_bounds(buf)
    labels = np.empty(rows_ub, dtype=np.float64)
    qids = np.zeros(rows_ub, dtype=np.int64)
    indptr = np.empty(rows_ub + 1, dtype=np.int64)
    indices = np.empty(pairs_ub, dtype=np.int32)
    values = np.empty(pairs_ub, dtype=np.float32)
    row_line = np.empty(rows_ub, dtype=np.int64)
    status, line, rows, nnz, n_lines, n_with_qid, first_with, first_without = _letor_scanner.parse(
        buf, labels, qids, indptr, indices, values, row_line, _letor_scanner.POW10
    )
    part = {"status": status, "line": line, "n_lines": n_lines}
    if status != _letor_scanner.OK:
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
    if part["status"] != _letor_scanner.OK:
        raise ValueError(f"{path}:{part['line'] + line_offset}: {_letor_scanner.MESSAGES[part['status']]}: {part['text']!r}")
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


#: the UTF-8 byte order mark some editors write at the start of a text file; the readers skip it
UTF8_BOM = b"\xef\xbb\xbf"


def _iter_chunks(fh, chunk_bytes):
    """Yield byte chunks that end on a line boundary (a UTF-8 byte order mark opening the file is dropped)."""
    rest = b""
    first = True
    while True:
        block = fh.read(chunk_bytes)
        if first:
            first = False
            while len(block) < len(UTF8_BOM) and block and UTF8_BOM.startswith(block):
                more = fh.read(chunk_bytes)
                if not more:
                    break
                block += more
            if block.startswith(UTF8_BOM):
                block = block[len(UTF8_BOM) :] or fh.read(chunk_bytes)
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
        width when loading its validation or test file. At most :data:`MAX_FEATURES` (see "Width limit").
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

    Notes
    -----
    **Width limit.** ``X`` has at most :data:`MAX_FEATURES` = 2**24 = 16,777,216 columns; a feature index that
    would make it wider is refused (``ValueError`` naming the file, the line and the index) once the file is
    parsed, before anything of that width is allocated. The width is one past the largest index, whatever the
    number of non-zeros, and every column costs memory even when the data is sparse: a dense float32 ``X`` takes
    ``4 * width`` bytes per row (8 GiB per row for the index 2,147,483,646, the largest a 32-bit index allows);
    both engines keep state per column before training starts (LightGBM a name and a bin mapper, XGBoost cut
    pointers); the command line's feature names alone (``"f1"``, ``"f2"``, ..., saved with the model) take about
    70 bytes per column, 1.1 GB at 2**24 columns and 150 GB at 2**31, where the run ended in a ``MemoryError``
    after minutes. LETOR data sets have hundreds of features (MSLR-WEB 136, Istella 220, Yahoo 700) and the
    widest public SVMlight sets about 16.6 million (webspam trigrams): an index past the limit is a mistyped or
    corrupt line.

    Raises
    ------
    ValueError
        Naming the file and line: a line that does not parse, a NaN or infinite label, unsorted feature indices,
        ``qid:`` on some lines only, a qid that goes back to an earlier query, group sizes that do not add up to
        the number of rows, a feature index beyond ``n_features``, a feature index that makes ``X`` wider than
        :data:`MAX_FEATURES`, a feature index 0 with ``zero_based=False``, a file without any ``index:value``
        pair, a truncated or corrupt gzip stream. A UTF-8 byte order mark at the start of the file is skipped.
        Also ``n_features`` above :data:`MAX_FEATURES` (before the file is read).
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
        if n_features > MAX_FEATURES:
            raise ValueError(f"n_features must be at most MAX_FEATURES={MAX_FEATURES} (see load_letor's width limit); "
                             f"got {n_features}")
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
        raise ValueError(f"{path}:{firsts_without[0]}: {_letor_scanner.MESSAGES[_letor_scanner.MIXED_QID]}")
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
    if n_features is None and width > MAX_FEATURES:  # (a given n_features is at most MAX_FEATURES: refused below)
        k = int(np.flatnonzero(indices.astype(np.int64) - shift >= MAX_FEATURES)[0])
        row = int(np.searchsorted(indptr, k, side="right")) - 1
        raise ValueError(
            f"{path}:{int(row_line[row])}: feature index {int(indices[k])} would make X {width} columns wide, above "
            f"the limit of {MAX_FEATURES} (gbm_objectives.datasets.letor.MAX_FEATURES: wider matrices cost memory "
            f"per column before any training); is the index mistyped?"
        )
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
        _letor_scanner.fill_dense(X, indptr, indices, values, shift)
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
