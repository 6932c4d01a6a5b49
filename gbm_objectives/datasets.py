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
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from . import _svmlight
from ._validation import check_interval, check_positive_int

__all__ = [
    "load_letor",
    "load_table",
    "load_file",
    "data_format",
    "make_ranking",
    "make_imbalanced",
    "list_datasets",
    "load",
    "DATASETS",
    "DatasetInfo",
    "data_roots",
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


def _iter_chunks(fh, chunk_bytes):
    """Yield byte chunks that end on a line boundary."""
    rest = b""
    while True:
        block = fh.read(chunk_bytes)
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
        Whether feature indices start at 0. ``"auto"`` (as scikit-learn): one-based unless an index 0 occurs.
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
    X : ndarray of float32, shape (n_samples, n_features), or scipy.sparse.csr_matrix
    y : ndarray of float64, shape (n_samples,)
    qid : ndarray of int64, shape (n_samples,), or None
        Query ids; rows of a query are contiguous.

    Raises
    ------
    ValueError
        Naming the file and line: a line that does not parse, unsorted feature indices, ``qid:`` on some lines
        only, a qid that goes back to an earlier query, group sizes that do not add up to the number of rows, a
        feature index beyond ``n_features``.
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
    with _Source(path) as fh, ThreadPoolExecutor(max_workers=n_jobs) as pool:
        pending = deque()
        for chunk in _iter_chunks(fh, chunk_bytes):
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


def _assemble(parts, path, *, n_features, dense, zero_based, query_file):
    n_with_qid = sum(p["n_with_qid"] for p in parts)
    labels = np.concatenate([p["labels"] for p in parts])
    n_rows = len(labels)
    if n_rows == 0:
        raise ValueError(f"{path}: the file has no data rows")
    if 0 < n_with_qid < n_rows:
        firsts_without = [p["first_without"] for p in parts if p["first_without"] >= 0]
        raise ValueError(f"{path}:{firsts_without[0]}: {_svmlight.MESSAGES[_svmlight.MIXED_QID]}")
    row_line = np.concatenate([p["row_line"] for p in parts])
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
    min_index = int(indices.min()) if len(indices) else 1
    max_index = int(indices.max()) if len(indices) else 0
    shift = 0 if zero_based is True or (zero_based == "auto" and min_index == 0) else 1
    if shift and min_index == 0:
        row = int(np.searchsorted(indptr, int(np.flatnonzero(indices == 0)[0]), side="right")) - 1
        raise ValueError(f"{path}:{int(row_line[row])}: feature index 0 in a file read with zero_based=False")
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
    return X, labels, qid


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


def load_table(path, label=None, group=None, *, features=None, dtype=np.float32):
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
        Naming the file (and line, for CSV) for a missing label/group/feature column, a non-numeric column, a
        missing or non-numeric label, or a group whose rows are not contiguous.
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
    except (ValueError, OSError, pd.errors.ParserError) as exc:
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
    for what, col in (("label", label), ("group", group)):
        if col is not None and col not in columns:
            raise ValueError(f"{header}: missing {what} column {col!r}; columns are {columns}")
    if features is None:
        features = [c for c in columns if c not in (label, group)]
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
    for col in features:
        if not (pd.api.types.is_numeric_dtype(frame[col].dtype) or pd.api.types.is_bool_dtype(frame[col].dtype)):
            raise ValueError(
                f"{header}: feature column {col!r} is not numeric (dtype {frame[col].dtype}); encode it or leave it "
                f"out with features=[...]"
            )
    X = frame[features].to_numpy(dtype=dtype, na_value=np.nan) if features else np.empty((len(frame), 0), dtype)
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
    return Table(X, y, qid, features)


class Table(tuple):
    """``(X, y, qid)`` with the feature column names as ``.feature_names``."""

    def __new__(cls, X, y, qid, feature_names):
        self = super().__new__(cls, (X, y, qid))
        self.feature_names = list(feature_names)
        return self


def load_file(path, *, label=None, group=None, n_features=None, progress=None):
    """Load any supported file by its extension: ``(X, y, qid, feature_names)``.

    LETOR/SVMlight files get feature names ``f1 ... fd`` (``fj`` is file index ``j`` in a one-based file).
    """
    fmt = data_format(path)
    if fmt == "letor":
        X, y, qid = load_letor(path, n_features=n_features, progress=progress)
        return X, y, qid, [f"f{j + 1}" for j in range(X.shape[1])]
    table = load_table(path, label=label, group=group)
    return table[0], table[1], table[2], table.feature_names


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
# Named datasets
# --------------------------------------------------------------------------------------------------------------


class DatasetInfo(tuple):
    """A named dataset: ``(name, task, source, splits, description)`` plus ``available`` and ``location``."""

    __slots__ = ()
    _fields = ("name", "task", "source", "splits", "description")

    def __new__(cls, name, task, source, splits, description, loader, files=()):
        self = super().__new__(cls, (name, task, source, tuple(splits), description))
        return self

    name = property(lambda self: self[0])
    task = property(lambda self: self[1])
    source = property(lambda self: self[2])
    splits = property(lambda self: self[3])
    description = property(lambda self: self[4])

    @property
    def location(self):
        """Folder holding a local dataset's files (``None`` when not found or not a local dataset)."""
        spec = _REGISTRY[self.name]
        if not spec["files"]:
            return None
        for root in data_roots():
            if _find(root, spec["files"][0]) is not None:
                return root
        return None

    @property
    def available(self):
        return self.source != "local" or self.location is not None

    def __repr__(self):
        state = "available" if self.available else "not found"
        return f"DatasetInfo(name={self.name!r}, task={self.task!r}, source={self.source!r}, {state})"


def data_roots():
    """Folders searched for local copies of public datasets, in order.

    ``$GBM_OBJECTIVES_DATA`` (``os.pathsep``-separated), the download cache of ``datasets/fetch.py``
    (``$GBM_OBJECTIVES_CACHE`` or ``~/.cache/gbm_objectives``), and ``../shared/datasets`` next to a source
    checkout.
    """
    roots = []
    env = os.environ.get("GBM_OBJECTIVES_DATA")
    if env:
        roots += [Path(p) for p in env.split(os.pathsep) if p]
    roots.append(cache_dir())
    roots.append(Path(__file__).resolve().parent.parent.parent / "shared" / "datasets")
    return roots


def cache_dir():
    """The download cache: ``$GBM_OBJECTIVES_CACHE``, else ``$XDG_CACHE_HOME/gbm_objectives``, else ``~/.cache/...``."""
    env = os.environ.get("GBM_OBJECTIVES_CACHE")
    if env:
        return Path(env)
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


def _local_letor(pattern):
    def loader(split, fold=1, **kwargs):
        rel = pattern.format(split=split, fold=int(fold))
        for root in data_roots():
            path = _find(root, rel)
            if path is not None:
                return load_letor(path, **kwargs)
        raise FileNotFoundError(_not_found_message(rel))

    return loader


def _local_csv(rel, label_col, drop=()):
    def loader(split, **kwargs):
        import pandas as pd

        for root in data_roots():
            path = _find(root, rel)
            if path is not None:
                frame = pd.read_csv(path, header=None)
                y = frame.pop(frame.columns[label_col]).to_numpy(dtype=np.float64)
                frame = frame.drop(columns=[frame.columns[i] for i in drop])
                X = np.ascontiguousarray(frame.to_numpy(dtype=np.float32))
                rows = _split_rows(len(y), split)
                return X[rows], y[rows], None
        raise FileNotFoundError(_not_found_message(rel))

    return loader


def _not_found_message(rel):
    roots = ", ".join(str(r) for r in data_roots())
    return (
        f"local dataset file {rel!r} not found under any data root ({roots}); download it with "
        f"`python datasets/fetch.py NAME` or set GBM_OBJECTIVES_DATA"
    )


_SPLITS3 = ("train", "vali", "test", "all")
_REGISTRY = {
    "synthetic-ranking": dict(
        task="ranking",
        source="generator",
        splits=_SPLITS3,
        description="make_ranking(n_queries=500): MSLR-shaped, 136 features, labels 0-4; split by query 60/20/20",
        loader=_synthetic_ranking,
        files=(),
    ),
    "synthetic-imbalanced": dict(
        task="binary",
        source="generator",
        splits=_SPLITS3,
        description="make_imbalanced(n_samples=50000, positive_rate=0.01): 20 features; rows split 60/20/20",
        loader=_synthetic_imbalanced,
        files=(),
    ),
    "breast_cancer": dict(
        task="binary",
        source="scikit-learn",
        splits=_SPLITS3,
        description="Wisconsin breast cancer (569 rows, 30 features, 37% positive); rows split 60/20/20",
        loader=_sklearn_loader("load_breast_cancer"),
        files=(),
    ),
    "diabetes": dict(
        task="regression",
        source="scikit-learn",
        splits=_SPLITS3,
        description="diabetes progression (442 rows, 10 features); rows split 60/20/20",
        loader=_sklearn_loader("load_diabetes"),
        files=(),
    ),
    "wine": dict(
        task="multiclass",
        source="scikit-learn",
        splits=_SPLITS3,
        description="UCI wine recognition (178 rows, 13 features, 3 classes); rows split 60/20/20",
        loader=_sklearn_loader("load_wine"),
        files=(),
    ),
    "mq2008": dict(
        task="ranking",
        source="local",
        splits=("train", "vali", "test"),
        description="LETOR 4.0 MQ2008 (Qin & Liu 2013): 46 features, labels 0-2, 5 folds (fold=1..5)",
        loader=_local_letor("letor4_mq2008/Fold{fold}/{split}.txt"),
        files=("letor4_mq2008/Fold1/train.txt",),
    ),
    "lightgbm-lambdarank": dict(
        task="ranking",
        source="local",
        splits=("train", "test"),
        description="LightGBM's examples/lambdarank data (sparse, 300 features, labels 0-4, .query files)",
        loader=_local_letor("lightgbm_lambdarank/rank.{split}"),
        files=("lightgbm_lambdarank/rank.train",),
    ),
    "agaricus": dict(
        task="binary",
        source="local",
        splits=("train", "test"),
        description="UCI mushroom, one-hot (XGBoost's demo data: 126 sparse binary features)",
        loader=_local_letor("xgboost_agaricus/agaricus.txt.{split}"),
        files=("xgboost_agaricus/agaricus.txt.train",),
    ),
    "autoclaims": dict(
        task="regression",
        source="local",
        splits=("train", "test"),
        description="insurance claim amounts (heavy right tail; Frees 2010), 33 features, SVMlight",
        loader=_local_letor("autoclaims/autoclaims.{split}"),
        files=("autoclaims/autoclaims.train",),
    ),
    "oil-spill": dict(
        task="binary",
        source="local",
        splits=_SPLITS3,
        description="oil spill detection (Kubat et al. 1998): 937 rows, 48 features, 4.4% positive; rows 60/20/20",
        loader=_local_csv("oil_spill/oil-spill.csv", label_col=-1, drop=(0,)),
        files=("oil_spill/oil-spill.csv",),
    ),
    "phoneme": dict(
        task="binary",
        source="local",
        splits=_SPLITS3,
        description="ELENA phoneme: 5,404 rows, 5 features, 29% positive; rows split 60/20/20",
        loader=_local_csv("phoneme/phoneme.csv", label_col=-1),
        files=("phoneme/phoneme.csv",),
    ),
}

DATASETS = {
    name: DatasetInfo(name, s["task"], s["source"], s["splits"], s["description"], s["loader"], s["files"])
    for name, s in _REGISTRY.items()
}


def list_datasets():
    """The named datasets, as :class:`DatasetInfo` tuples (``.available`` tells whether a local one is present).

    >>> [d.name for d in list_datasets()][:3]
    ['synthetic-ranking', 'synthetic-imbalanced', 'breast_cancer']
    """
    return list(DATASETS.values())


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
        Passed to the loader: ``fold=`` for ``mq2008``; generator arguments (``n_queries``, ``seed``, ...) for
        the synthetic sets.

    >>> X, y, qid = load("breast_cancer", split="test")
    >>> X.shape, qid is None
    ((114, 30), True)
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}")
    info = DATASETS[name]
    if split not in info.splits:
        raise ValueError(f"dataset {name!r} has splits {list(info.splits)}; got split={split!r}")
    return _REGISTRY[name]["loader"](split, **kwargs)
