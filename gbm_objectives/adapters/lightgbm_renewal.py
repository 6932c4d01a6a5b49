"""Quantile leaf renewal for LightGBM: what the built-in ``quantile`` objective does, for our custom objective.

LightGBM's built-in quantile (and L1) objective grows each tree on the pinball gradients, then replaces every leaf
value by the alpha-quantile of the residuals ``y - score`` of the training rows in the leaf (``RenewTreeOutput``),
and only then shrinks the tree by the learning rate. A custom (grad, hess) objective gets no such step, so its
leaves are Newton steps on a constant hessian and training converges more slowly. :func:`quantile_leaf_renewal`
adds the step back from Python::

    obj = go.QuantileLoss(alpha=0.9)
    renewal = go.quantile_leaf_renewal(obj, X)              # X: the training features (raw, as given to Dataset)
    init = obj.init_score(y)
    train = lgb.Dataset(X, y, init_score=np.full(len(y), init))
    booster = lgb.train({"objective": go.lightgbm_objective(renewal.objective), "learning_rate": 0.05},
                        train, num_boost_round=200, callbacks=[renewal])
    pred = booster.predict(X_test, raw_score=True) + init

How it works. After each boosting round the callback finds the leaf of every training row in the new tree, computes
``learning_rate * quantile(y - previous score)`` per leaf
(:func:`gbm_objectives.objectives.quantile.renewed_leaf_values`, the math lives there) and writes it with
``Booster.set_leaf_output``. The leaves: LightGBM has just added the un-renewed tree to its own cached training
score, one double addition per row, so a row's leaf is the leaf value that turns the score LightGBM handed the
objective into the score it holds now, exactly (:func:`leaves_from_scores`); the rows that this does not tell
(leaves that share a value) are walked over the features as LightGBM's predictor walks the tree, from its text in
``Booster.model_to_string`` (:func:`tree_leaves`), and a tree with categorical splits or features that are not a
numeric array goes through ``Booster.predict(X, pred_leaf=True)``. Without sample weights a round's trees (``K`` for
:class:`~gbm_objectives.MultiQuantileLoss`) are read from one ``model_to_string`` text and renewed by one compiled
call (:func:`renew_outputs`: each output's leaves read or walked, renewed by
:func:`gbm_objectives.objectives.quantile.renew_tree` and added to the kept score), the outputs split over threads
on cores LightGBM's own threads leave free, up to its thread count (the results do not depend on the split).
LightGBM does not update its cached training/validation scores when a leaf is rewritten, so the next round's
gradients would be computed from stale scores: ``renewal.objective`` is therefore a
:class:`~gbm_objectives.QuantileLoss` that computes its gradients from the renewed score the callback keeps (exact,
float64), not from the score LightGBM passes in. For the same reason LightGBM's evaluation log would report the
un-renewed model; give the validation features as ``valid_X={name: X}`` and the callback rewrites the pinball-loss
entries (``quantile`` metric or this package's ``quantile_loss`` feval) of ``env.evaluation_result_list`` with the
renewed model's values before ``record_evaluation`` and ``early_stopping`` read them.

Differences from the built-in that remain: with bagging (``bagging_fraction < 1``) or GOSS, LightGBM renews a leaf
from the in-bag rows only, this callback from all training rows (the bag is not exposed to Python); a tree with a
single leaf is left as it is (as the built-in does).
"""

from __future__ import annotations

import ctypes
import os
import threading

import lightgbm as lgb
import numpy as np
from numba import njit

from ..objectives import MultiQuantileLoss, QuantileLoss, get_objective
from ..objectives.quantile import check_method, kernel_alphas, renew_tree, renewed_leaf_values
from ._common import RenewedObjective

__all__ = ["QuantileLeafRenewal", "quantile_leaf_renewal", "tree_leaves", "leaves_from_scores"]

# every spelling LightGBM reads as these parameters, from its own alias table (LGBM_DumpParamAliases)
_LR_ALIASES = tuple(lgb.basic._ConfigAliases.get_sorted("learning_rate"))
_THREAD_ALIASES = tuple(lgb.basic._ConfigAliases.get_sorted("num_threads"))
_MAX_DENSE_VALUES = 1 << 26  # 512 MB of float64: above it (for a copy), leaves come from LightGBM's pred_leaf
_ZERO = float(np.float32(1e-35))  # LightGBM's kZeroThreshold (a float widened to double)


@njit(cache=True, nogil=True)
def _leaf_of(X, i, left, right, feature, threshold, decision_type):  # pragma: no cover (compiled)
    """The leaf of row ``i`` of ``X`` (see :func:`tree_leaves`)."""
    node = 0
    while node >= 0:
        x = X[i, feature[node]]
        dt = decision_type[node]
        missing = (dt >> 2) & 3
        if x != x:
            if missing != 2:
                x = 0.0
        elif -_ZERO <= x <= _ZERO:
            x = 0.0
        if (missing == 1 and x == 0.0) or (missing == 2 and x != x):
            node = left[node] if dt & 2 else right[node]
        elif x <= threshold[node]:
            node = left[node]
        else:
            node = right[node]
    return ~node


@njit(cache=True, nogil=True)
def tree_leaves(X, left, right, feature, threshold, decision_type, out):  # pragma: no cover (compiled)
    """The leaf of every row of ``X`` (float64) in one numerical LightGBM tree, as its predictor finds it.

    A dense row drops values with |x| <= kZeroThreshold (they read as 0); per node, missing type ``(decision_type >>
    2) & 3`` (0 none, 1 zero, 2 NaN): NaN reads as 0 unless the type is NaN; a missing value (zero for type 1, NaN for
    type 2) goes the default way (``decision_type & 2``: left); otherwise ``x <= threshold`` goes left. Children
    below 0 are leaves ``~child`` (``Tree::NumericalDecision`` and ``Tree::GetLeaf``).
    """
    for i in range(X.shape[0]):
        out[i] = _leaf_of(X, i, left, right, feature, threshold, decision_type)


@njit(cache=True, nogil=True)
def _walk_unknown(X, left, right, feature, threshold, decision_type, out):  # pragma: no cover (compiled)
    """:func:`tree_leaves` for the rows whose ``out`` is -1 (those :func:`leaves_from_scores` left)."""
    for i in range(X.shape[0]):
        if out[i] < 0:
            out[i] = _leaf_of(X, i, left, right, feature, threshold, decision_type)


@njit(cache=True, nogil=True)
def leaves_from_scores(before, after, values, ids, out):  # pragma: no cover (compiled)
    """The leaf of every training row in one new tree, read from LightGBM's own training score; -1 for a row it
    cannot tell (walk those rows). Returns the number of such rows.

    LightGBM adds a new tree to its cached training score with one double addition per row, ``after = before +
    leaf_value[leaf]`` (``SerialTreeLearner::AddPredictionToScore``). ``values``: the tree's distinct leaf values,
    sorted increasingly; ``ids``: the leaf of each, or -1 when several leaves share it. A row's leaf is the value
    nearest to ``after - before`` when that value, added to ``before``, gives ``after`` exactly, no neighbouring
    value does (``before + v`` rounds monotonically in ``v``, so then no other value does) and no other leaf has
    the same value; otherwise the row is left to the walk.
    """
    m = values.shape[0]
    # where to look: the value range cut into B equal cells by a monotone map; a value in a cell below d's is <= d,
    # one in a cell above it > d, so the last value <= d is the last one of d's cell (hint[cell], the last value
    # whose cell is <= it) or one of the others in that cell (at most ``most`` before it, found by binary search: a
    # cell can hold almost every value, e.g. beside one outlier): exact
    B = 8 * m
    v0 = values[0]
    scale = B / (values[m - 1] - v0) if m > 1 else 0.0
    hint = np.full(B + 1, -1, dtype=np.int64)
    size = np.zeros(B + 1, dtype=np.int64)
    for j in range(m):
        t = (values[j] - v0) * scale
        c = B if not t < B else (0 if not t >= 0 else int(t))
        hint[c] = j
        size[c] += 1
    most = size.max()
    for c in range(1, B + 1):
        hint[c] = max(hint[c], hint[c - 1])
    unknown = 0
    for i in range(before.shape[0]):
        b = before[i]
        a = after[i]
        d = a - b
        t = (d - v0) * scale
        lo = max(hint[B if not t < B else (0 if not t >= 0 else int(t))], 0)  # a NaN d: cell B
        if values[lo] > d:  # the last value <= d is in [lo - most, lo) (none: the bottom one): binary search
            bottom = max(lo - most, 0)
            if values[bottom] > d:
                lo = bottom
            else:  # values[bottom] <= d < values[lo]
                while lo - bottom > 1:
                    mid = (bottom + lo) // 2
                    if values[mid] > d:
                        lo = mid
                    else:
                        bottom = mid
                lo = bottom
        c = lo
        if lo + 1 < m and values[lo + 1] - d < d - values[lo]:
            c = lo + 1
        leaf = ids[c]
        if b + values[c] != a or (c > 0 and b + values[c - 1] == a) or (c + 1 < m and b + values[c + 1] == a):
            leaf = -1
        out[i] = leaf
        unknown += leaf < 0
    return unknown


@njit(cache=True, nogil=True)
def _distinct_into(leaf_value, n_leaves, values, ids):  # pragma: no cover (compiled)
    """The distinct values of ``leaf_value[:n_leaves]``, sorted, into ``values`` and the leaf of each into ``ids``
    (-1 where several leaves share it), for :func:`leaves_from_scores`; returns their number."""
    order = np.empty(n_leaves, dtype=np.int64)
    for i in range(n_leaves):  # a stable insertion sort (a tree has few leaves)
        v = leaf_value[i]
        j = i
        while j > 0 and leaf_value[order[j - 1]] > v:
            order[j] = order[j - 1]
            j -= 1
        order[j] = i
    m = 0
    i = 0
    while i < n_leaves:
        v = leaf_value[order[i]]
        j = i + 1
        while j < n_leaves and leaf_value[order[j]] == v:
            j += 1
        values[m] = v
        ids[m] = order[i] if j - i == 1 else -1
        m += 1
        i = j
    return m


@njit(cache=True, nogil=True)
def renew_outputs(k0, k1, X, y, score, before, after, read, leaf_value, n_leaves, node_start, left, right, feature,
                  threshold, decision_type, alphas, lower, learning_rate, reached, walked):  # pragma: no cover
    """Outputs ``k0 .. k1 - 1`` of one round renewed (unweighted rows, numerical trees), in one compiled pass each:
    every training row's leaf in the output's new tree (read from LightGBM's score when ``read``:
    :func:`leaves_from_scores`, the rest walked: :func:`tree_leaves`), then
    :func:`gbm_objectives.objectives.quantile.renew_tree` (renewed values into ``leaf_value[k]``, ``reached[k]``,
    ``score[k] += leaf_value[k, leaf]``; it checks the leaves); a single-leaf tree is only added.
    ``walked[k]``: the rows walked. The round's trees: ``n_leaves[k]`` leaves, nodes ``node_start[k] ..
    node_start[k + 1] - 1`` of the concatenated node arrays. Shapes: ``X`` (n, F), ``y`` (n,), ``score``,
    ``before``, ``after`` (K, n) (the last two unread without ``read``), ``leaf_value``, ``reached`` (K, L).
    Each output reads and writes only its own rows of the arrays: disjoint ranges of outputs can run in threads.
    """
    n = y.shape[0]
    L = leaf_value.shape[1]
    leaf = np.empty(n, dtype=np.int64)
    values = np.empty(L)
    ids = np.empty(L, dtype=np.int64)
    for k in range(k0, k1):
        nl = n_leaves[k]
        if nl < 2:  # a single-leaf tree is left as it is, as the built-in does
            walked[k] = 0
            v = leaf_value[k, 0]
            for i in range(n):
                score[k, i] += v
            continue
        s, e = node_start[k], node_start[k + 1]
        tree = (left[s:e], right[s:e], feature[s:e], threshold[s:e], decision_type[s:e])
        if read:
            m = _distinct_into(leaf_value[k], nl, values, ids)
            unknown = leaves_from_scores(before[k], after[k], values[:m], ids[:m], leaf)
            if unknown:
                _walk_unknown(X, tree[0], tree[1], tree[2], tree[3], tree[4], leaf)
            walked[k] = unknown
        else:
            tree_leaves(X, tree[0], tree[1], tree[2], tree[3], tree[4], leaf)
            walked[k] = n
        renew_tree(y, score[k], leaf, nl, alphas[k], lower, learning_rate, False, leaf_value[k], reached[k])


def _check_features(name, X, n_rows, n_features):
    """Raise ValueError unless ``X`` (training or validation features) has ``n_rows`` rows (its Dataset's) and
    ``n_features`` columns (the booster's): the tree walk reads ``X[i, feature]`` and writes one leaf per row
    without bounds checks."""
    shape = getattr(X, "shape", None)
    if shape is None or len(shape) != 2:
        return  # not an array: LightGBM's pred_leaf reads it, with its own checks
    if shape[0] != n_rows:
        raise ValueError(f"{name} has {shape[0]} rows but its Dataset has {n_rows}; give the features of the rows "
                         "LightGBM trains (or evaluates) on")
    if shape[1] != n_features:
        raise ValueError(f"{name} has {shape[1]} columns but the booster has {n_features} features")


def _numeric_features(X):
    """``X`` as a float64 array for :func:`tree_leaves` (a copy only where it is not one already), or None when
    LightGBM would convert it otherwise (sparse, categorical or object columns) or it is too large to copy."""
    if hasattr(X, "dtypes") and hasattr(X, "to_numpy"):  # a DataFrame: numeric columns only
        if not all(getattr(dt, "kind", "O") in "fiub" for dt in X.dtypes) or X.size > _MAX_DENSE_VALUES:
            return None
        X = X.to_numpy()
    if not isinstance(X, np.ndarray) or X.ndim != 2 or X.dtype.kind not in "fiub":
        return None
    if not (X.dtype == np.float64 and X.flags.c_contiguous) and X.size > _MAX_DENSE_VALUES:
        return None  # a copy would be needed, and it is too large
    return np.ascontiguousarray(X, dtype=np.float64)


def _tree_arrays(model_text):
    """(left, right, feature, threshold, decision_type) of the first tree in ``Booster.model_to_string`` text."""
    return _all_tree_arrays(model_text)[0]


def _all_tree_arrays(model_text):
    """:func:`_one_tree_arrays` of every tree in ``Booster.model_to_string`` text, in order."""
    return [arrays for arrays, _ in _all_trees(model_text)]


def _all_trees(model_text):
    """``(arrays, leaf values)`` of every tree in ``Booster.model_to_string`` text, in order (:func:`_parse_tree`)."""
    out, start = [], model_text.find("\nTree=")
    while start >= 0:
        end = model_text.index("\n\n", start + 1)
        out.append(_parse_tree(model_text[start + 1 : end]))
        start = model_text.find("\nTree=", end)
    return out


def _one_tree_arrays(block):
    """(left, right, feature, threshold, decision_type) of one tree's text block, None for a tree with categorical
    splits; a single-leaf tree has no nodes (every row is in leaf 0)."""
    return _parse_tree(block)[0]


def _parse_tree(block):
    """:func:`_one_tree_arrays` of the block and its leaf values (float64; written with 17 digits: exact)."""
    fields = dict(line.split("=", 1) for line in block.splitlines())
    leaf_value = np.array(fields["leaf_value"].split(), dtype=np.float64)
    if int(fields["num_cat"]) > 0:
        return None, leaf_value
    if int(fields["num_leaves"]) < 2:
        return (), leaf_value
    ints = [np.array(fields[k].split(), dtype=np.int32) for k in ("left_child", "right_child", "split_feature")]
    threshold = np.array(fields["threshold"].split(), dtype=np.float64)  # written with 17 digits: exact
    return (*ints, threshold, np.array(fields["decision_type"].split(), dtype=np.int8)), leaf_value


#: the fields of a tree's text block the renewal reads
_NODE_FIELDS = ("left_child", "right_child", "split_feature", "threshold", "decision_type")
_NODE_TYPES = (np.int32, np.int32, np.int32, np.float64, np.int8)


def _field(block, name):
    """The text after ``name=`` on its line of a tree's text block."""
    start = block.index("\n" + name + "=") + len(name) + 2
    return block[start : block.index("\n", start)]


def _numbers(text, dtype):
    """The space-separated numbers of ``text`` as a ``dtype`` array, parsed in C (doubles correctly rounded)."""
    return np.fromstring(text, dtype=dtype, sep=" ") if text else np.empty(0, dtype=dtype)


def _round_forest(model_text):
    """The trees of ``Booster.model_to_string`` text (one round's) as :func:`renew_outputs` takes them:
    ``(n_leaves, leaf_value, node_start, nodes)``, nodes the five arrays of :func:`_one_tree_arrays` concatenated
    over the trees (tree ``k``'s nodes at ``node_start[k] .. node_start[k + 1] - 1``), ``leaf_value`` (K, most
    leaves), zero-padded; None when a tree has categorical splits. Each field is parsed once for all trees (the
    numbers are written with 17 digits: exact)."""
    blocks = model_text.split("\nTree=")[1:]
    if not blocks or any(int(_field(b, "num_cat")) > 0 for b in blocks):
        return None
    n_leaves = np.array([int(_field(b, "num_leaves")) for b in blocks], dtype=np.int64)
    grown = [b for b, nl in zip(blocks, n_leaves) if nl > 1]
    nodes = tuple(_numbers(" ".join(_field(b, f) for b in grown), t) for f, t in zip(_NODE_FIELDS, _NODE_TYPES))
    node_start = np.zeros(len(blocks) + 1, dtype=np.int64)
    np.cumsum(np.maximum(n_leaves - 1, 0), out=node_start[1:])
    flat = _numbers(" ".join(_field(b, "leaf_value") for b in blocks), np.float64)
    leaf_value = np.zeros((len(blocks), int(n_leaves.max())))
    leaf_value[np.arange(leaf_value.shape[1]) < n_leaves[:, None]] = flat
    return n_leaves, leaf_value, node_start, nodes


class _LightGBMCalls:
    """The two LightGBM C API calls the renewal makes every round, through ctypes prototypes made once:
    ``set_leaf`` (``Booster.set_leaf_output``, whose wrapper builds three ctypes objects a call; a round writes up to
    ``K * num_leaves`` leaves) and ``round_text`` (``Booster.model_to_string(start_iteration=it, num_iteration=1)``,
    whose wrapper zero-fills a new 1 MB buffer every call; here one buffer is kept and grown). Through the
    wrappers if this LightGBM does not expose its library (``lightgbm.basic._LIB``, private; tested with 4.7.0)."""

    def __init__(self):
        lib = getattr(lgb.basic, "_LIB", None)
        self._lib = lib if all(hasattr(lib, f) for f in ("LGBM_BoosterSetLeafValue", "LGBM_BoosterSaveModelToString",
                                                            "LGBM_GetLastError")) else None
        if self._lib is not None:
            c = ctypes
            self._set = c.CFUNCTYPE(c.c_int, c.c_void_p, c.c_int, c.c_int, c.c_double)(
                ("LGBM_BoosterSetLeafValue", lib))
            self._save = c.CFUNCTYPE(c.c_int, c.c_void_p, c.c_int, c.c_int, c.c_int, c.c_int64,
                                     c.POINTER(c.c_int64), c.c_char_p)(("LGBM_BoosterSaveModelToString", lib))
            self._buffer = ctypes.create_string_buffer(1 << 16)
            self._length = ctypes.c_int64(0)

    def _check(self, rc):
        if rc != 0:
            raise lgb.basic.LightGBMError(self._lib.LGBM_GetLastError().decode("utf-8"))

    def set_leaf(self, booster, tree_id, leaf_id, value):
        if self._lib is None:
            booster.set_leaf_output(tree_id, leaf_id, value)
        else:
            self._check(self._set(booster._handle, tree_id, leaf_id, value))

    def round_text(self, booster, it):
        if self._lib is None:
            return booster.model_to_string(start_iteration=it, num_iteration=1)
        for _ in range(2):
            size = len(self._buffer)
            self._check(self._save(booster._handle, it, 1, 0, size, ctypes.byref(self._length), self._buffer))
            if self._length.value <= size:
                return ctypes.string_at(self._buffer, self._length.value - 1).decode("utf-8")  # less the NUL
            self._buffer = ctypes.create_string_buffer(2 * self._length.value)
        raise AssertionError("LightGBM's model text kept growing; this is a bug in gbm_objectives")  # pragma: no cover


_POOL = {}  # pid -> the worker threads of _renew_in_threads, started on first use (a forked child starts its own)
_POOL_LOCK = threading.Lock()


def _renew_in_threads(K, threads, args):
    """:func:`renew_outputs` over the ``K`` outputs, split into ``min(K, threads)`` ranges run at once on as many
    threads (this one and pool workers: the compiled pass releases the GIL). Each output reads and writes only its
    own rows, so the results do not depend on the split; one thread runs everything here. Pool workers wait on a
    queue (they do not spin), so between rounds the engine's threads have the cores to themselves. Every part has
    finished when this returns or raises; the error raised is the first in output order (this thread's part first).
    """
    parts = min(K, threads)
    if parts <= 1:
        renew_outputs(0, K, *args)
        return
    with _POOL_LOCK:
        pool = _POOL.get(os.getpid())
        if pool is None:
            from concurrent.futures import ThreadPoolExecutor

            _POOL.clear()
            pool = _POOL[os.getpid()] = ThreadPoolExecutor(max_workers=max(1, (os.cpu_count() or 2) - 1),
                                                           thread_name_prefix="gbm_objectives-renewal")
    bounds = [K * p // parts for p in range(parts + 1)]
    futures = [pool.submit(renew_outputs, bounds[p], bounds[p + 1], *args) for p in range(1, parts)]
    try:
        renew_outputs(bounds[0], bounds[1], *args)
    except BaseException:
        for future in futures:  # the workers write into the same arrays: wait for them, then this part's error
            future.exception()
        raise
    for future in futures:  # the first worker's error, in output order
        future.result()


class _RenewedQuantileLoss(RenewedObjective, QuantileLoss):
    """A :class:`QuantileLoss` renewed by :class:`QuantileLeafRenewal`."""


class _RenewedMultiQuantileLoss(RenewedObjective, MultiQuantileLoss):
    """A :class:`MultiQuantileLoss` renewed by :class:`QuantileLeafRenewal` (trees grown on per-output gradients)."""

    per_output_gradients = True


class QuantileLeafRenewal:
    """LightGBM callback re-fitting each new tree's leaves to the residual alpha-quantile (see the module docs).

    Parameters
    ----------
    objective : QuantileLoss, MultiQuantileLoss, "quantile" or "multi_quantile"
        Gives ``alpha`` (or ``alphas``: with ``K`` levels, each round's ``K`` trees are renewed in output order by
        :meth:`MultiQuantileLoss.renewed_leaf_values <gbm_objectives.MultiQuantileLoss.renewed_leaf_values>`).
    X : array-like or DataFrame of shape (n_samples, n_features), optional
        The training features exactly as given to the training ``Dataset``. Default: the Dataset's raw data,
        which LightGBM keeps only with ``free_raw_data=False``.
    valid_X : dict of name -> array-like, optional
        Features of validation sets (names as in ``lgb.train(valid_names=...)``); their pinball-loss metric
        entries are recomputed on the renewed model.
    method : {"lightgbm", "lower"}, default "lightgbm"
        Quantile definition (:mod:`gbm_objectives.objectives.quantile`); "lightgbm" reproduces the built-in.
    evaluate : callable, optional
        ``evaluate(set_name, raw_score) -> [(metric name, value, higher_is_better), ...]``: every entry of the
        evaluation log of a set in ``valid_X`` that it names is recomputed on the renewed model (what
        :func:`gbm_objectives.train` passes, so that every metric, not only the pinball loss, reads the renewed
        model).

    Attributes
    ----------
    objective : QuantileLoss or MultiQuantileLoss
        Pass ``lightgbm_objective(renewal.objective)`` as LightGBM's objective (or this objective to
        :func:`gbm_objectives.adapters.lightgbm.train`); its gradients use the renewed training score.
    n_renewed_ : int
        Number of rounds renewed so far.
    n_walked_ : int
        Rows whose leaf was found by walking a tree (the others were read from LightGBM's training score), over
        the rounds renewed without sample weights.
    """


    def __init__(self, objective, X=None, *, valid_X=None, method="lightgbm", evaluate=None):
        base = get_objective(objective)
        if not isinstance(base, (QuantileLoss, MultiQuantileLoss)):
            raise TypeError(f"objective must be a QuantileLoss or MultiQuantileLoss (or 'quantile', "
                            f"'multi_quantile'); got {base!r}")
        # instance attributes: lgb.train gives every callback without an *instance* "order" a negative one
        self.order = 0  # before log_evaluation (10), record_evaluation (20) and early_stopping (30)
        self.before_iteration = False
        self.alpha = getattr(base, "alpha", None)
        self.n_outputs = base.n_classes or 1
        self.method = check_method(method)
        self.X = X
        self.valid_X = dict(valid_X or {})
        self.evaluate = evaluate
        if isinstance(base, MultiQuantileLoss):
            self.objective = _RenewedMultiQuantileLoss(*base.get_params().values())
        else:
            self.objective = _RenewedQuantileLoss(self.alpha)
        self.objective._renewal = self
        self._kernel_alphas = kernel_alphas(self.objective.alphas if self.alpha is None else (self.alpha,), method)
        self._calls = _LightGBMCalls()
        self._engine_before = None  # LightGBM's training score before the round, (K, n), set by the objective
        self._reset()

    def _reset(self):
        self._booster = None
        self._features = {}  # id(X) -> (X, float64 features or None)
        self._score = None  # exact renewed raw score of the training rows
        self._valid_scores = {}
        self.n_renewed_ = 0
        self.n_walked_ = 0

    # ---- called by the objective ----------------------------------------------------------------------
    def _training_score(self, prepared, raw_score):
        # LightGBM's own (un-renewed) training score before this round's trees: with the score after them it gives
        # each row's leaf (leaves_from_scores); a copy, LightGBM reuses the buffer
        engine = np.asarray(raw_score)
        self._engine_before = engine.T.copy() if engine.ndim == 2 else engine.reshape(1, -1).copy()
        if self._score is None:
            return raw_score
        if len(raw_score) != len(self._score):
            raise ValueError(
                f"the renewal tracks {len(self._score)} training rows but the objective got {len(raw_score)}; "
                "use one QuantileLeafRenewal per training run"
            )
        return self._score

    # ---- the callback ----------------------------------------------------------------------------------
    def __call__(self, env):
        booster = env.model
        if self._booster is not booster:
            self._reset()
            self._booster = booster
        it = env.iteration
        if it < self.n_renewed_:
            return
        if booster.current_iteration() <= it:
            # no tree was added this round (LightGBM found no split, e.g. fewer than 2 * min_data_in_leaf rows or a
            # constant target): nothing to renew, the score is unchanged
            self._patch_evaluations(booster, env.evaluation_result_list)
            return
        train_set = booster.train_set
        X = self.X if self.X is not None else getattr(train_set, "data", None)
        if X is None:
            raise ValueError(
                "quantile_leaf_renewal needs the training features: pass X=... or build the Dataset with "
                "free_raw_data=False"
            )
        y = np.asarray(train_set.get_label(), dtype=np.float64)
        w = train_set.get_weight()
        lr = self._learning_rate(booster, env.params)
        # predict() sets LightGBM's process-wide OpenMP thread count: keep the training's, or later rounds slow down
        kw = self._predict_kwargs(booster, env.params)
        if self._score is None:
            # once, before the first compiled pass: it walks X's rows into arrays of len(y) rows, unchecked
            _check_features("X", X, len(y), booster.num_feature())
            for name, Xv in self.valid_X.items():
                _check_features(f"valid_X[{name!r}]", Xv, self._valid_dataset(booster, name).num_data(),
                                booster.num_feature())
            # (n, K) Fortran-ordered: the objective's kernels read columns, the renewal rows of its transpose
            self._score = np.asfortranarray(self._start_score(booster, X, train_set.get_init_score(), len(y), it, **kw))
            for name, Xv in self.valid_X.items():
                dv = self._valid_dataset(booster, name)
                self._valid_scores[name] = self._start_score(booster, Xv, dv.get_init_score(), dv.num_data(), it, **kw)
        text = self._calls.round_text(booster, it)
        features = self._numeric(X)
        forest = _round_forest(text) if w is None and features is not None else None
        if forest is not None:
            self._renew_round(booster, it, forest, features, y, lr, kw)
        else:
            for k, (tree, _) in enumerate(_all_trees(text)):  # K trees a round for MultiQuantileLoss, in output order
                self._renew_tree(booster, it, k, tree, X, y, w, lr, kw)
        self.n_renewed_ = it + 1
        self._patch_evaluations(booster, env.evaluation_result_list)

    def _renew_tree(self, booster, it, k, tree, X, y, w, lr, kw):
        """Renew tree ``k`` of round ``it`` (output ``k``) and add it to the kept scores."""
        K = self.n_outputs
        tree_id = it * K + k
        leaf = self._leaves(booster, tree, X, it, kw, k)
        valid_leaves = {name: self._leaves(booster, tree, Xv, it, kw, k) for name, Xv in self.valid_X.items()}
        n_leaves = 1 + max([int(leaf.max())] + [int(v.max()) for v in valid_leaves.values() if len(v)])
        values = np.array([booster.get_leaf_output(tree_id, j) for j in range(n_leaves)], dtype=np.float64)
        if n_leaves > 1:  # a single-leaf tree is left as it is, as the built-in does
            if K == 1 and self.alpha is not None:
                new = renewed_leaf_values(y, self._score, leaf, self.alpha, learning_rate=lr, sample_weight=w,
                                          n_leaves=n_leaves, method=self.method)
            else:
                new = self.objective.renewed_leaf_values(y, self._score, k, leaf, learning_rate=lr, sample_weight=w,
                                                         n_leaves=n_leaves, method=self.method)
            reached = ~np.isnan(new)
            values[reached] = new[reached]
            for j in np.flatnonzero(reached):
                booster.set_leaf_output(tree_id, int(j), float(values[j]))
        if self._score.ndim == 1:
            self._score = self._score + values[leaf]
        else:
            self._score[:, k] += values[leaf]
        for name, vleaf in valid_leaves.items():
            score = self._valid_scores[name]
            if score.ndim == 1:
                self._valid_scores[name] = score + values[vleaf]
            else:
                score[:, k] += values[vleaf]

    def _renew_round(self, booster, it, forest, features, y, lr, kw):
        """The round's ``K`` trees (numerical, unweighted rows) renewed at once: each training row's leaf read from
        LightGBM's score or walked, the leaves renewed and added to the kept score by one compiled call
        (:func:`renew_outputs`; the values of :meth:`_renew_tree`), the renewed leaves written into the booster."""
        n_leaves, leaf_value, node_start, nodes = forest
        K, n = len(n_leaves), len(features)
        before, after = self._engine_before, self._engine_after(booster, K, n)
        self._engine_before = None
        read = after is not None
        if not read:  # every row walked
            before = after = np.empty((K, 0))
        score = self._score.T if self._score.ndim == 2 else self._score.reshape(1, n)  # (K, n), C-contiguous
        reached = np.zeros(leaf_value.shape, dtype=np.uint8)
        walked = np.zeros(K, dtype=np.int64)
        _renew_in_threads(K, self._threads(kw), (features, y, score, before, after, read, leaf_value, n_leaves,
                                                 node_start, *nodes, self._kernel_alphas, self.method == "lower", lr,
                                                 reached, walked))
        self.n_walked_ += int(walked.sum())
        ks, js = np.nonzero(reached)
        set_leaf = self._calls.set_leaf
        for k, j, v in zip((ks + it * K).tolist(), js.tolist(), leaf_value[ks, js].tolist()):
            set_leaf(booster, k, j, v)
        for name, Xv in self.valid_X.items():
            vscore = self._valid_scores[name]
            vscore = vscore if vscore.ndim == 2 else vscore.reshape(-1, 1)
            for k in range(K):
                s, e = node_start[k], node_start[k + 1]
                tree = tuple(a[s:e] for a in nodes) if n_leaves[k] > 1 else ()
                vscore[:, k] += leaf_value[k][self._leaves(booster, tree, Xv, it, kw, k)]

    def _engine_after(self, booster, K, n):
        """LightGBM's training score after the round's trees, (K, n) (a view of its buffer), or None when the
        score before them is unknown (the objective was not called) or the booster does not expose it."""
        if self._engine_before is None or self._engine_before.shape != (K, n):
            return None
        # the score LightGBM hands a custom objective: Booster.__inner_predict, private (name-mangled; tested
        # with LightGBM 4.7.0); if a release renames or changes it, every row's leaf is walked instead
        inner = getattr(booster, "_Booster__inner_predict", None)
        if inner is None:
            return None
        after = np.asarray(inner(data_idx=0))
        after = after.T if after.ndim == 2 else after.reshape(1, -1)
        return after if after.shape == (K, n) and after.dtype == np.float64 and after.flags.c_contiguous else None

    def _numeric(self, X):
        """:func:`_numeric_features` of ``X``, made once per data set."""
        cached = self._features.get(id(X))
        if cached is None or cached[0] is not X:
            cached = self._features[id(X)] = (X, _numeric_features(X))
        return cached[1]

    def _leaves(self, booster, tree, X, it, kw, k=0):
        """Leaf index of every row of ``X`` in tree ``k`` of round ``it``: walked here when the tree is numerical and
        ``X`` a numeric array (the float64 copy made once per data set), else LightGBM's ``pred_leaf``."""
        if tree is not None:
            features = self._numeric(X)
            if features is not None:
                out = np.zeros(len(features), dtype=np.int64)
                if tree:
                    tree_leaves(features, *tree, out)
                return out
        leaves = np.asarray(booster.predict(X, pred_leaf=True, start_iteration=it, num_iteration=1, **kw))
        return leaves.reshape(len(leaves), -1)[:, k]

    @staticmethod
    def _learning_rate(booster, params):
        for source in (getattr(booster, "params", None) or {}, params or {}):
            for key in _LR_ALIASES:
                if key in source:
                    return float(source[key])
        return 0.1  # LightGBM's default

    @staticmethod
    def _threads(kw):
        """The threads the round's renewal may use: at most as many as LightGBM trains with (``num_threads``; 0 or
        unset: OpenMP's default, every core), and only on cores LightGBM's team leaves free. Its OpenMP workers spin
        for milliseconds after each parallel region, into our renewal: a renewal thread sharing a core with one ran
        2 to 4 times slower than the serial renewal (california_housing and autoclaims, 2 threads on 2 cores)."""
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        threads = kw.get("num_threads", 0)
        threads = threads if threads > 0 else cores
        return max(1, min(threads, cores - threads + 1))

    @staticmethod
    def _predict_kwargs(booster, params):
        for source in (getattr(booster, "params", None) or {}, params or {}):
            for key in _THREAD_ALIASES:
                if key in source:
                    return {"num_threads": int(source[key])}
        return {}

    def _start_score(self, booster, X, init_score, n, iteration, **kw):
        K = self.n_outputs
        shape = (n,) if K == 1 else (n, K)
        if init_score is None:
            score = np.zeros(shape)
        else:  # a multi-output init score is (n, K) as given, or flat and output-major as LightGBM keeps it
            score = np.asarray(init_score, dtype=np.float64)
            score = (score if score.shape == shape else score.reshape(K, n).T.reshape(shape)).copy()
        if iteration > 0:  # continued training: the trees before this call are taken as they are
            score += booster.predict(X, raw_score=True, start_iteration=0, num_iteration=iteration, **kw)
        return score

    @staticmethod
    def _valid_dataset(booster, name):
        names = list(getattr(booster, "name_valid_sets", []))
        if name not in names:
            raise ValueError(f"valid_X names {name!r}, which is not a validation set of the booster; have {names}")
        return booster.valid_sets[names.index(name)]

    def _patch_evaluations(self, booster, results):
        if not results or self._score is None:  # no tree renewed yet: LightGBM's values are the model's
            return
        metric_names = {"quantile", f"{self.objective.name}_loss"}
        recomputed = {}
        for i, entry in enumerate(results):
            data_name, metric_name = entry[0], entry[1]
            if self.evaluate is not None and data_name in self._valid_scores:
                if data_name not in recomputed:
                    entries = self.evaluate(data_name, self._valid_scores[data_name])
                    recomputed[data_name] = {m: v for m, v, _ in entries}
                if metric_name not in recomputed[data_name]:
                    continue
                value = recomputed[data_name][metric_name]
            elif metric_name not in metric_names:
                continue
            elif data_name == "training":
                ds, score = booster.train_set, self._score
                value = self.objective.loss(ds.get_label(), score, sample_weight=ds.get_weight())
            elif data_name in self._valid_scores:
                ds, score = self._valid_dataset(booster, data_name), self._valid_scores[data_name]
                value = self.objective.loss(ds.get_label(), score, sample_weight=ds.get_weight())
            else:
                continue
            fields = list(entry)
            fields[2] = value
            results[i] = type(entry)(*fields) if hasattr(entry, "_fields") else tuple(fields)


def quantile_leaf_renewal(objective, X=None, *, valid_X=None, method="lightgbm", evaluate=None):
    """A LightGBM callback that renews quantile-objective leaves like the built-in ``quantile`` objective.

    Returns a :class:`QuantileLeafRenewal`; train with ``renewal.objective`` and ``callbacks=[renewal]`` (see the
    module docstring for a full example).
    """
    return QuantileLeafRenewal(objective, X, valid_X=valid_X, method=method, evaluate=evaluate)
