"""Compiled SVMlight/LETOR text parser (numba), used by :func:`gbm_objectives.datasets.load_letor`.

The parser works on raw bytes: :func:`upper_bounds` counts newlines and colons (vectorized) to size the output
arrays, then :func:`parse` fills them in one pass over the bytes; it releases the GIL, so chunks of a file are
parsed on several threads. A line has the form::

    <label> [qid:<int>] <index>:<value> <index>:<value> ... [# comment]

Decimal numbers are parsed with the Clinger fast path: up to 15 significant digits and a decimal exponent within
+-22 give the correctly rounded float64 (one IEEE multiplication or division of two exact operands), which covers
every LETOR/MSLR/SVMlight file we know of. Longer mantissas keep their first 19 digits (error below 1 ulp of
float64, far below float32's resolution).

Status codes returned by :func:`parse` (the caller turns them into a ``ValueError`` naming the file and line):
"""

from __future__ import annotations

import numba
import numpy as np

OK = 0
BAD_LABEL = 1
BAD_FEATURE = 2
BAD_QID = 3
MIXED_QID = 4
UNSORTED = 5

MESSAGES = {
    BAD_LABEL: "cannot parse the label (expected a number first on the line)",
    BAD_FEATURE: "cannot parse a feature (expected index:value with an integer index >= 0 and a numeric value)",
    BAD_QID: "cannot parse qid (expected qid:<integer>)",
    MIXED_QID: "some lines have qid: and this one does not",
    UNSORTED: "feature indices must be strictly increasing within a line (sorted, no duplicates)",
}

POW10 = np.array([10.0**k for k in range(23)])


@numba.njit(cache=True, nogil=True)
def _is_ws(c):
    return c == 32 or c == 9 or c == 13 or c == 11 or c == 12


@numba.njit(cache=True, nogil=True)
def _lower(c):
    if 65 <= c <= 90:
        return c + 32
    return c


@numba.njit(cache=True, nogil=True)
def _parse_float(buf, i, end, pow10):
    """Parse a decimal number starting at ``buf[i]``; returns (value, next index, ok)."""
    neg = False
    if i < end and (buf[i] == 45 or buf[i] == 43):  # - +
        neg = buf[i] == 45
        i += 1
    if i < end and (_lower(buf[i]) == 110 or _lower(buf[i]) == 105):  # nan / inf
        j = i
        while j < end and not _is_ws(buf[j]) and buf[j] != 58 and buf[j] != 10 and buf[j] != 35:
            j += 1
        n = j - i
        if n == 3 and _lower(buf[i]) == 110 and _lower(buf[i + 1]) == 97 and _lower(buf[i + 2]) == 110:
            return np.nan, j, True
        if (n == 3 or n == 8) and _lower(buf[i]) == 105 and _lower(buf[i + 1]) == 110 and _lower(buf[i + 2]) == 102:
            return (-np.inf if neg else np.inf), j, True
        return 0.0, i, False
    mant = np.int64(0)
    ndig = 0
    exp10 = 0
    any_digit = False
    while i < end and 48 <= buf[i] <= 57:
        any_digit = True
        if ndig < 19:
            mant = mant * 10 + (buf[i] - 48)
            if mant > 0:
                ndig += 1
        else:
            exp10 += 1
        i += 1
    if i < end and buf[i] == 46:  # .
        i += 1
        while i < end and 48 <= buf[i] <= 57:
            any_digit = True
            if ndig < 19:
                mant = mant * 10 + (buf[i] - 48)
                if mant > 0:
                    ndig += 1
                exp10 -= 1
            i += 1
    if not any_digit:
        return 0.0, i, False
    if i < end and (buf[i] == 101 or buf[i] == 69):  # e E
        i += 1
        eneg = False
        if i < end and (buf[i] == 45 or buf[i] == 43):
            eneg = buf[i] == 45
            i += 1
        if i >= end or not (48 <= buf[i] <= 57):
            return 0.0, i, False
        e = 0
        while i < end and 48 <= buf[i] <= 57:
            if e < 100000:
                e = e * 10 + (buf[i] - 48)
            i += 1
        exp10 += -e if eneg else e
    m = float(mant)
    if mant == 0:
        v = 0.0
    elif mant < 9007199254740992 and 0 <= exp10 <= 22:
        v = m * pow10[exp10]
    elif mant < 9007199254740992 and -22 <= exp10 < 0:
        v = m / pow10[-exp10]
    elif exp10 > 0:
        v = m * 10.0**exp10
    else:
        v = m / 10.0 ** (-exp10)
    return (-v if neg else v), i, True


def upper_bounds(buf):
    """Upper bounds on the rows (newlines + 1) and ``index:value`` pairs (colons) in ``buf``; vectorized."""
    return int(np.count_nonzero(buf == 10)) + 1, int(np.count_nonzero(buf == 58))


@numba.njit(cache=True, nogil=True, inline="always")
def _is_end(c):
    """Whitespace, newline or the start of a comment: what may follow a number."""
    return c == 32 or c == 9 or c == 13 or c == 10 or c == 35 or c == 11 or c == 12


@numba.njit(cache=True, nogil=True)
def parse(buf, labels, qids, indptr, indices, values, row_line, pow10):
    """Fill the preallocated arrays from ``buf`` in one pass.

    Returns ``(status, line, n_rows, nnz, n_lines, n_with_qid, first_line_with_qid, first_line_without_qid)``;
    ``line`` is the 1-based line (within ``buf``) of the error when ``status != 0``.
    """
    n = buf.size
    i = 0
    row = 0
    nnz = 0
    line = 0
    n_with_qid = 0
    first_with = -1
    first_without = -1
    while i < n:
        line += 1
        while i < n and (buf[i] == 32 or buf[i] == 9 or buf[i] == 13 or buf[i] == 11 or buf[i] == 12):
            i += 1
        if i >= n:
            break
        if buf[i] == 10:
            i += 1
            continue
        if buf[i] == 35:
            while i < n and buf[i] != 10:
                i += 1
            i += 1
            continue
        v, i, ok = _parse_float(buf, i, n, pow10)
        if not ok or (i < n and not _is_end(buf[i])):
            return BAD_LABEL, line, row, nnz, line, n_with_qid, first_with, first_without
        labels[row] = v
        indptr[row] = nnz
        row_line[row] = line
        while i < n and (buf[i] == 32 or buf[i] == 9 or buf[i] == 13):
            i += 1
        if i + 3 < n and buf[i] == 113 and buf[i + 1] == 105 and buf[i + 2] == 100 and buf[i + 3] == 58:  # qid:
            i += 4
            qneg = False
            if i < n and buf[i] == 45:
                qneg = True
                i += 1
            if i >= n or not (48 <= buf[i] <= 57):
                return BAD_QID, line, row, nnz, line, n_with_qid, first_with, first_without
            q = np.int64(0)
            while i < n and 48 <= buf[i] <= 57:
                q = q * 10 + (buf[i] - 48)
                i += 1
            if i < n and not _is_end(buf[i]):
                return BAD_QID, line, row, nnz, line, n_with_qid, first_with, first_without
            qids[row] = -q if qneg else q
            n_with_qid += 1
            if first_with < 0:
                first_with = line
        elif first_without < 0:
            first_without = line
        last = np.int64(-1)
        while True:
            while i < n and (buf[i] == 32 or buf[i] == 9 or buf[i] == 13 or buf[i] == 11 or buf[i] == 12):
                i += 1
            if i >= n or buf[i] == 10:
                break
            if buf[i] == 35:
                while i < n and buf[i] != 10:
                    i += 1
                break
            if not (48 <= buf[i] <= 57):
                return BAD_FEATURE, line, row, nnz, line, n_with_qid, first_with, first_without
            idx = np.int64(0)
            while i < n and 48 <= buf[i] <= 57:
                if idx < 10000000000:
                    idx = idx * 10 + (buf[i] - 48)
                i += 1
            if i >= n or buf[i] != 58 or idx > 2147483646:
                return BAD_FEATURE, line, row, nnz, line, n_with_qid, first_with, first_without
            i += 1
            v, i, ok = _parse_float(buf, i, n, pow10)
            if not ok or (i < n and not _is_end(buf[i])):
                return BAD_FEATURE, line, row, nnz, line, n_with_qid, first_with, first_without
            if idx <= last:
                return UNSORTED, line, row, nnz, line, n_with_qid, first_with, first_without
            last = idx
            indices[nnz] = idx
            values[nnz] = v
            nnz += 1
        row += 1
        i += 1  # past the newline
    return OK, 0, row, nnz, line, n_with_qid, first_with, first_without


@numba.njit(cache=True, nogil=True)
def fill_dense(out, indptr, indices, values, shift):
    """Scatter CSR rows into the zero-initialised dense ``out`` (column = index - shift)."""
    for r in range(indptr.size - 1):
        for k in range(indptr[r], indptr[r + 1]):
            out[r, indices[k] - shift] = values[k]
