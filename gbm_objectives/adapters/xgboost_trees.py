"""XGBoost's trees read from its UBJSON model bytes and walked over dense features (no engine import here).

The quantile leaf renewal (:mod:`.xgboost_renewal`) needs, after every round, the structure of the round's new
trees, and after training, to write its renewed leaf values into the model. Both go through XGBoost's binary
model format (``Booster.save_raw("ubj")``, Universal Binary JSON), which holds each tree's node arrays as typed
arrays (``[$<type>#<count>`` and ``count`` big-endian values after the key): :func:`typed_arrays` finds the
arrays stored under one key, in the order of the document (the trees in model order), without decoding the rest;
:func:`tree_arrays` reads the arrays the walk needs; :func:`write_leaf_values` overwrites leaf values in place.
(The JSON form of the same model costs about ten times as much to write, parse and reload.) A document that is
not laid out as expected (a key found a number of times other than the number of trees, an untyped array) makes
them return ``None``: the caller then takes the JSON route.

:func:`tree_leaves` walks a round's trees over the rows as XGBoost's predictor does: a missing value (NaN) goes
the default way, otherwise ``x < threshold`` goes left (float32 against float32).
"""

from __future__ import annotations

import struct

import numpy as np
from numba import njit

from .._core.jit import JIT

__all__ = ["WALK_KEYS", "typed_arrays", "tree_arrays", "write_leaf_values", "pack_trees", "tree_leaves"]

#: the node arrays the walk needs, by their key in XGBoost's model document
WALK_KEYS = ("left_children", "right_children", "split_indices", "split_conditions", "default_left", "split_type")
#: UBJSON value types of a typed array -> numpy dtype (UBJSON is big-endian)
_TYPES = {ord(code): np.dtype(dtype) for code, dtype in
          (("d", ">f4"), ("D", ">f8"), ("l", ">i4"), ("L", ">i8"), ("I", ">i2"), ("i", "i1"), ("U", "u1"))}
#: UBJSON integer types (of a count) -> their struct
_INTS = {ord(code): struct.Struct(fmt) for code, fmt in (("i", ">b"), ("U", ">B"), ("I", ">h"), ("l", ">i"),
                                                          ("L", ">q"))}
_FLOAT32 = np.dtype(">f4")


def typed_arrays(raw, key):
    """``[(offset, dtype, count), ...]``: every typed array stored under ``key`` in the UBJSON bytes ``raw``, in
    document order, or ``None`` when a value under ``key`` is not a typed array of a known type.

    A key is found where its bytes, preceded by their length, are followed by a typed array's ``[$``. After a hit
    the search resumes past that array's values, so the value bytes of an array found under ``key`` are never
    read as a key; the values of arrays under other keys are searched like the rest (the typed-array pattern
    is what makes a false hit in them unlikely, and a count of arrays other than the number of trees makes the
    callers refuse the document).
    """
    name = key.encode()
    pattern = bytes([len(name)]) + name + b"[$"
    out, at = [], 0
    while True:
        hit = raw.find(pattern, at)
        if hit < 0:
            return out
        p = hit + len(pattern)
        dtype, count_type = _TYPES.get(raw[p]), _INTS.get(raw[p + 2])
        if dtype is None or raw[p + 1] != ord("#") or count_type is None:
            return None
        (count,) = count_type.unpack_from(raw, p + 3)
        start = p + 3 + count_type.size
        out.append((start, dtype, count))
        at = start + count * dtype.itemsize


def tree_arrays(raw, n_trees, keys=WALK_KEYS):
    """The node arrays ``keys`` of each of the ``n_trees`` trees of the UBJSON model ``raw``: a list of dicts
    ``{key: ndarray (native byte order)}``, or ``None`` when some key is not found exactly once per tree."""
    found = {}
    for key in keys:
        arrays = typed_arrays(raw, key)
        if arrays is None or len(arrays) != n_trees:
            return None
        found[key] = arrays
    return [{key: _native(raw, *found[key][t]) for key in keys} for t in range(n_trees)]


def _native(raw, offset, dtype, count):
    return np.frombuffer(raw, dtype, count, offset).astype(dtype.newbyteorder("="))


def write_leaf_values(raw, n_trees, renewed):
    """Overwrite leaf values in the UBJSON model ``raw`` (a ``bytearray``, edited in place): ``renewed`` maps a
    tree index to ``(node ids, values)``, the values float32-exact (they are stored as float32). Returns False,
    leaving ``raw`` as it was, when the trees' ``split_conditions`` are not ``n_trees`` float32 arrays."""
    arrays = typed_arrays(raw, "split_conditions")
    if arrays is None or len(arrays) != n_trees or any(dtype != _FLOAT32 for _, dtype, _ in arrays):
        return False
    for t, (ids, values) in renewed.items():
        offset, dtype, count = arrays[t]
        np.frombuffer(raw, dtype, count, offset)[ids] = values
    return True


def pack_trees(walks):
    """The walk arrays of ``K`` trees (``(left, right, feature, threshold, default_left)`` each, a leaf's children
    -1) packed for :func:`tree_leaves`: ``children`` (int32, shape ``(K, max nodes, 2)``: left, right),
    ``feature`` (int32), ``threshold`` (float32: a leaf's value at a leaf) and ``default_left`` (uint8), each of
    shape ``(K, max nodes)``. A leaf is its own left and right child and splits on feature 0 (a walk step leaves a
    row at its leaf); the padding of a smaller tree is never reached."""
    K, width = len(walks), max(len(w[0]) for w in walks)
    children = np.zeros((K, width, 2), dtype=np.int32)
    feature, default_left = np.zeros((K, width), dtype=np.int32), np.zeros((K, width), dtype=np.uint8)
    threshold = np.zeros((K, width), dtype=np.float32)
    for k, (left, right, split_feature, split_threshold, split_default_left) in enumerate(walks):
        m = len(left)
        leaf = left == -1
        node = np.arange(m, dtype=np.int32)
        children[k, :m, 0] = np.where(leaf, node, left)
        children[k, :m, 1] = np.where(leaf, node, right)
        feature[k, :m] = np.where(leaf, 0, split_feature)
        threshold[k, :m] = split_threshold
        default_left[k, :m] = split_default_left
    return children, feature, threshold, default_left


#: rows walked together, a level of a tree at a time (their features stay in the cache)
_BLOCK = 256


@njit("void(float32[:, ::1], int32[:, :, ::1], int32[:, ::1], float32[:, ::1], uint8[:, ::1], int64, int64, "
      "int64[:, ::1])", **JIT)
def _walk_rows(X, children, feature, threshold, default_left, start, stop, out):  # pragma: no cover (compiled)
    """``out[k, i]``: the leaf of row ``i`` of ``X`` in tree ``k`` (:func:`pack_trees`), for ``start <= i <
    stop``. Rows are taken in blocks, one tree level at a time for all the rows of a block: the steps of different
    rows do not wait on each other and have no branch to mispredict (a row at a leaf stays there), about 2.5 times
    faster than walking each row to its leaf where the paths are hard to predict."""
    K, width = feature.shape
    depth = np.zeros(K, dtype=np.int64)  # the deepest leaf of each tree
    level = np.empty(width, dtype=np.int64)
    stack = np.empty(width, dtype=np.int64)
    for k in range(K):
        level[0], stack[0], top = 0, 0, 1
        while top > 0:
            top -= 1
            node = stack[top]
            if children[k, node, 0] != node:
                for child in (children[k, node, 0], children[k, node, 1]):
                    level[child] = level[node] + 1
                    depth[k] = max(depth[k], level[child])
                    stack[top] = child
                    top += 1
    nodes = np.empty(_BLOCK, dtype=np.int32)
    for b0 in range(start, stop, _BLOCK):
        m = min(_BLOCK, stop - b0)
        for k in range(K):
            for i in range(m):
                nodes[i] = 0
            for _ in range(depth[k]):
                for i in range(m):
                    node = nodes[i]
                    x = X[b0 + i, feature[k, node]]
                    right = not ((x < threshold[k, node]) | ((x != x) & (default_left[k, node] != 0)))
                    nodes[i] = children[k, node, np.int64(right)]
            for i in range(m):
                out[k, b0 + i] = nodes[i]


def tree_leaves(X, packed, out):
    """The leaf of every row of ``X`` in each of the ``K`` trees ``packed`` (:func:`pack_trees`), written into
    ``out`` and returned.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features), float32, C-contiguous
        Dense features, NaN = missing. A feature the model has but the data lacks is a column of NaN (XGBoost
        reads an absent column as missing): ``n_features`` must exceed every split's feature index.
    packed : tuple
        ``(children, feature, threshold, default_left)`` of :func:`pack_trees`.
    out : ndarray of shape (K, n_rows), int64, C-contiguous
        Receives the leaf node ids.

    Raises
    ------
    TypeError
        ``X``, ``out`` or an array of ``packed`` not an ndarray of its dtype.
    ValueError
        A shape that does not fit, an array not C-contiguous, ``out`` read-only, a split on a feature ``X`` does
        not have, or a child index outside its tree.

    Examples
    --------
    >>> import numpy as np
    >>> split = (np.array([1, -1, -1]), np.array([2, -1, -1]), np.array([1, 0, 0]),
    ...          np.array([0.5, -1.0, 1.0], dtype=np.float32), np.array([1, 0, 0]))
    >>> X = np.array([[0.0, 0.25], [0.0, 0.75], [0.0, np.nan]], dtype=np.float32)
    >>> tree_leaves(X, pack_trees([split]), np.empty((1, 3), dtype=np.int64))
    array([[1, 2, 1]])
    >>> tree_leaves(X[:, :1].copy(), pack_trees([split]), np.empty((1, 3), dtype=np.int64))
    Traceback (most recent call last):
    ...
    ValueError: X has 1 feature column(s) but tree 0 splits on feature 1 (pad absent features with NaN columns)
    """
    if not isinstance(packed, tuple) or len(packed) != 4:
        raise TypeError(f"packed must be the 4-tuple of pack_trees; got {type(packed).__name__}")
    children, feature, threshold, default_left = packed
    _check_array("X", X, np.float32, 2)
    _check_array("out", out, np.int64, 2)
    for name, array, dtype, ndim in (("children", children, np.int32, 3), ("feature", feature, np.int32, 2),
                                     ("threshold", threshold, np.float32, 2),
                                     ("default_left", default_left, np.uint8, 2)):
        _check_array(f"packed {name}", array, dtype, ndim)
    K, width = feature.shape
    if children.shape != (K, width, 2) or threshold.shape != (K, width) or default_left.shape != (K, width):
        raise ValueError(f"packed arrays of mismatched shapes: children {children.shape}, feature {feature.shape}, "
                         f"threshold {threshold.shape}, default_left {default_left.shape}")
    if out.shape != (K, X.shape[0]):
        raise ValueError(f"out must have shape (K, n_rows) = {(K, X.shape[0])}; got {out.shape}")
    if K and width:
        bad = np.flatnonzero((children < 0).any(axis=(1, 2)) | (children >= width).any(axis=(1, 2)))
        if len(bad):
            raise ValueError(f"packed children of tree {bad[0]} point outside its {width} nodes")
        bad = np.flatnonzero((feature < 0).any(axis=1) | (feature >= X.shape[1]).any(axis=1))
        if len(bad):
            k = bad[0]
            f = feature[k][(feature[k] < 0) | (feature[k] >= X.shape[1])][0]
            raise ValueError(f"X has {X.shape[1]} feature column(s) but tree {k} splits on feature {f} "
                             "(pad absent features with NaN columns)")
    if not out.flags.writeable:
        raise ValueError("out is read-only")
    if not X.flags.writeable:  # the compiled walk is typed for writeable arrays (it only reads X)
        X = X.copy()
    _walk_rows(X, children, feature, threshold, default_left, 0, X.shape[0], out)
    return out


def _check_array(name, array, dtype, ndim):
    if not isinstance(array, np.ndarray) or array.dtype != dtype:
        got = array.dtype if isinstance(array, np.ndarray) else type(array).__name__
        raise TypeError(f"{name} must be a {np.dtype(dtype).name} ndarray; got {got}")
    if array.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions; got shape {array.shape}")
    if not array.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous (np.ascontiguousarray)")
