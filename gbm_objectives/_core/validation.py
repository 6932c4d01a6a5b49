"""Input validation: the one place that raises on user arrays and parameters.

Every public function validates its arrays here, once, at the boundary. Messages name the argument and the
offending value or index, so a user can find the bad row. ``assert`` is never used for user input.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "check_1d",
    "check_propensity",
    "check_finite",
    "check_consistent_length",
    "check_sample_weight",
    "check_raw_score",
    "check_binary_labels",
    "check_class_labels",
    "check_interval",
    "check_positive_int",
    "as_numpy",
    "check_position",
    "writable",
]


def as_numpy(x, name):
    """Convert array-likes (lists, pandas objects) to a NumPy array; TypeError for non-numeric data."""
    if hasattr(x, "to_numpy"):
        x = x.to_numpy()
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be a numeric array; got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must be a real numeric array; got dtype {arr.dtype}")
    return arr


def writable(arr):
    """``arr``, or a copy of it when it is read-only (pandas >= 3 hands out read-only views, ``np.memmap`` in mode
    "r" is one): numba compiles a kernel once per argument type, and a read-only array is another type, so the
    kernels would be compiled a second time for such input (seconds each, and not by ``gbm-objectives warmup``)."""
    return arr if arr.flags.writeable else arr.copy(order="K")


def fmt(value):
    """repr of a value without NumPy's ``np.float64(...)`` wrapper, for error messages."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _first_bad(mask):
    return int(np.flatnonzero(mask.ravel())[0])


def check_finite(arr, name):
    """Raise ValueError naming the first non-finite entry of ``arr``."""
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        bad = ~np.isfinite(arr)
        flat = _first_bad(bad)
        index = np.unravel_index(flat, arr.shape) if arr.ndim > 1 else flat
        raise ValueError(f"{name} contains a non-finite value {fmt(arr.ravel()[flat])} at index {index}")
    return arr


def check_1d(x, name, *, dtype=np.float64, finite=True):
    """Return ``x`` as a 1-D array of ``dtype``; raise on 2-D input, non-numeric data or NaN/inf."""
    arr = as_numpy(x, name)
    if arr.ndim == 2 and arr.shape[1] == 1:
        raise ValueError(f"{name} must be 1-D; got shape {arr.shape} (use .ravel() for a column vector)")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D; got shape {arr.shape}")
    arr = writable(np.ascontiguousarray(arr, dtype=dtype))
    if finite:
        check_finite(arr, name)
    return arr


def check_consistent_length(n, **arrays):
    """Raise ValueError if any named array's first dimension differs from ``n``."""
    for name, arr in arrays.items():
        if arr is not None and len(arr) != n:
            raise ValueError(f"{name} has {len(arr)} rows but y_true has {n}")


def check_sample_weight(sample_weight, n):
    """Validate sample weights: None, or a finite, non-negative 1-D array of length ``n`` with a positive sum."""
    if sample_weight is None:
        return None
    w = check_1d(sample_weight, "sample_weight")
    check_consistent_length(n, sample_weight=w)
    if (w < 0).any():
        i = _first_bad(w < 0)
        raise ValueError(f"sample_weight must be non-negative; got {fmt(w[i])} at index {i}")
    if n and not w.sum() > 0:
        raise ValueError("sample_weight must have a positive sum; got all zeros")
    return w


def check_raw_score(raw_score, n, n_classes=None, name="raw_score"):
    """Validate raw scores: shape (n,) for single-output objectives, (n, n_classes) for multiclass."""
    arr = as_numpy(raw_score, name)
    if n_classes is None:
        if arr.ndim != 1:
            raise ValueError(f"{name} must have shape ({n},); got shape {arr.shape}")
    elif arr.shape != (n, n_classes):
        raise ValueError(f"{name} must have shape ({n}, {n_classes}) for {n_classes} classes; got shape {arr.shape}")
    if len(arr) != n:
        raise ValueError(f"{name} has {len(arr)} rows but y_true has {n}")
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    return check_finite(writable(arr), name)


def check_binary_labels(y_true, name="y_true"):
    """Labels must be 0 or 1 (or in [0, 1] when ``soft``); returns float64."""
    y = check_1d(y_true, name)
    bad = (y != 0) & (y != 1)
    if bad.any():
        i = _first_bad(bad)
        raise ValueError(f"{name} must contain only 0 and 1 for a binary objective; got {fmt(y[i])} at index {i}")
    return y


def check_class_labels(y_true, n_classes, name="y_true"):
    """Labels must be integers in [0, n_classes); returns int64."""
    y = check_1d(y_true, name)
    bad = (y < 0) | (y >= n_classes) | (y != np.floor(y))
    if bad.any():
        i = _first_bad(bad)
        raise ValueError(
            f"{name} must contain integer class ids in [0, {n_classes}); got {fmt(y[i])} at index {i}"
        )
    return y.astype(np.int64)


def check_interval(value, name, low=None, high=None, *, closed="neither", allow_none=False):
    """Validate a scalar parameter; ``closed`` in {"neither", "left", "right", "both"}."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {value!r}")
    value = float(value)
    left_ok = low is None or (value >= low if closed in ("left", "both") else value > low)
    right_ok = high is None or (value <= high if closed in ("right", "both") else value < high)
    if not (np.isfinite(value) and left_ok and right_ok):
        lb = "[" if closed in ("left", "both") else "("
        rb = "]" if closed in ("right", "both") else ")"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ValueError(f"{name} must be in {lb}{lo}, {hi}{rb}; got {value!r}")
    return value


def check_positive_int(value, name, minimum=1):
    """Validate an integer parameter >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value!r}")
    return int(value)


def check_estimator_params(n_estimators, learning_rate):
    """The boosting options every estimator shares: a positive integer and a finite positive real number
    (NumPy scalars accepted, booleans refused)."""
    if isinstance(n_estimators, (bool, np.bool_)) or not isinstance(n_estimators, numbers.Integral) or n_estimators < 1:
        raise ValueError(f"n_estimators must be a positive integer; got {fmt(n_estimators)}")
    if (isinstance(learning_rate, (bool, np.bool_)) or not isinstance(learning_rate, numbers.Real)
            or not (np.isfinite(learning_rate) and learning_rate > 0)):
        raise ValueError(f"learning_rate must be a finite number > 0; got {fmt(learning_rate)}")


def check_output_buffer(out, name, shape):
    """An output array a kernel writes into: exactly ``shape``, float32 or float64, writeable."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array; got {type(out).__name__}")
    if out.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)} (that of raw_score); got shape {out.shape}")
    if out.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be float32 or float64; got dtype {out.dtype}")
    if not out.flags.writeable:
        raise ValueError(f"{name} is read-only")
    return out


def frozen_copy(values, dtype=np.float64):
    """A read-only copy of a validated parameter array, so that the caller's later edits cannot reach it."""
    arr = np.array(values, dtype=dtype, copy=True)
    arr.setflags(write=False)
    return arr


def check_position(position, n, name="position"):
    """Displayed positions (0-based ranks or position ids) as int64: 1-D, length ``n``, finite, non-negative
    integers; ValueError/TypeError naming the first offending index and value."""
    if isinstance(position, (str, bytes)) or np.isscalar(position):
        raise TypeError(f"{name} must be an array of integer positions, one per row; got {position!r}")
    arr = as_numpy(position, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D; got shape {arr.shape}")
    if len(arr) != n:
        raise ValueError(f"{name} has {len(arr)} rows but y_true has {n}")
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            i = _first_bad(bad)
            raise ValueError(f"{name} contains a non-finite value {fmt(arr[i])} at index {i}")
        bad = arr != np.floor(arr)
        if bad.any():
            i = _first_bad(bad)
            raise ValueError(f"{name} must contain integer positions; got {fmt(arr[i])} at index {i}")
    if len(arr) and (arr < 0).any():
        i = _first_bad(arr < 0)
        raise ValueError(f"{name} must be non-negative (0 = the top of the displayed list); got {fmt(arr[i])} at "
                         f"index {i}")
    if len(arr) and arr.max() > 2**31 - 1:
        i = int(np.argmax(arr))
        raise ValueError(f"{name} {fmt(arr[i])} at index {i} is too large (at most {2**31 - 1})")
    return np.ascontiguousarray(arr, dtype=np.int64)


def check_propensity(propensity, name="propensity"):
    """Examination propensities per position as a read-only float64 array: non-empty, finite, > 0 (ValueError
    naming ``name``, the position and the value otherwise)."""
    prop = check_1d(propensity, name)
    if len(prop) == 0:
        raise ValueError(f"{name} must have one entry per position; got an empty array")
    bad = ~np.isfinite(prop) | (prop <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must be finite and > 0; got {prop[i]:g} at position {i}")
    return frozen_copy(prop)
