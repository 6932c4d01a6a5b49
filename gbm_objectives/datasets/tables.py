"""CSV and Parquet tables: :func:`load_table` (label, group and position columns by name), and
:func:`data_format`, which tells a LETOR file from a table by its name.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np


__all__ = ["data_format", "load_table", "Table", "LABEL_CANDIDATES"]

#: the columns tried, in order, when no label column is named (the one list: the CLI and the Dask reader use it)
LABEL_CANDIDATES = ("label", "y", "target", "relevance")
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
        label = next((c for c in LABEL_CANDIDATES if c in columns), None)
        if label is None:
            raise ValueError(
                f"{header}: no label column (looked for {', '.join(LABEL_CANDIDATES)}); columns are {columns}"
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
