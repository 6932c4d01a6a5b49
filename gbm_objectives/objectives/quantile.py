"""Engine-free math for quantile leaf renewal: the weighted alpha-quantile of residuals in every leaf.

A (grad, hess) callback for the pinball loss hands the engine gradients in ``{-alpha, 1 - alpha}`` and a constant
hessian, so a Newton leaf value is a rescaled *count* of rows above and below the current score, not a quantile.
LightGBM's built-in ``quantile`` objective fixes this after the tree is grown: every leaf value is replaced by the
alpha-quantile of the residuals ``y - score`` of the training rows in that leaf, then shrunk by the learning rate.
This module computes those values; :mod:`gbm_objectives.adapters.lightgbm_renewal` writes them into a LightGBM
booster.

Two quantile definitions are offered (``method=``):

``"lightgbm"`` (default)
    What LightGBM 4.x computes, so that renewal reproduces the built-in objective. Without sample weights: the
    linear interpolation of the sorted values at 0-based position ``alpha * (n - 1)`` (numpy's default
    ``np.quantile(..., method="linear")``). With sample weights: with cumulative weights ``C_j`` of the sorted values
    and ``t = alpha * C_{n-1}``, ``pos`` is the first index with ``C_pos > t`` (at most ``n - 1``); the result is
    ``v_pos`` when ``pos`` is 0 or ``n - 1``, ``v_{pos-1} + (t - C_{pos-1}) / w_pos * (v_pos - v_{pos-1})`` when the
    weight ``w_pos >= 1``, and ``v_{pos-1}`` otherwise. (The weighted rule depends on the scale of the weights
    and, for unit weights, differs from the unweighted one; both are LightGBM's, reproduced as measured.) As in
    LightGBM, ``alpha`` is first rounded to float32, and LightGBM's labels are float32, so feed residuals of
    float32 labels to reproduce its leaf values bit for bit.
``"lower"``
    The smallest value whose cumulative weight reaches ``alpha`` of the total: an exact argmin of the weighted
    pinball loss; ``QuantileLoss.init_score`` is this rule.

>>> import numpy as np
>>> y = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
>>> round(weighted_quantile(y, 0.3), 6), weighted_quantile(y, 0.3, method="lower")   # 2 + 0.2 * (3 - 2)
(2.2, 2.0)
>>> leaf_quantiles(y, np.array([0, 0, 1, 1, 1]), 0.5)      # per leaf: median of {1, 2} and of {3, 4, 5}
array([1.5, 4. ])
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .._core.sort import heapsort
from .._core.validation import check_1d, check_consistent_length, check_interval, check_sample_weight

__all__ = ["QUANTILE_METHODS", "check_method", "weighted_quantile", "leaf_quantiles", "renewed_leaf_values",
           "renew_round", "renew_tree", "kernel_alphas"]

QUANTILE_METHODS = ("lightgbm", "lower")


def check_method(method):
    if method not in QUANTILE_METHODS:
        raise ValueError(f"method must be one of {QUANTILE_METHODS}; got {method!r}")
    return method


def _lightgbm_alpha(alpha):
    """LightGBM keeps ``alpha`` as a float32 (``score_t``); the quantile position uses that rounded value."""
    return float(np.float32(alpha))


def _sorted_quantile(v, w, alpha, method):
    """Quantile of already sorted values ``v`` (weights ``w`` in the same order, or None)."""
    n = len(v)
    if n == 1:
        return float(v[0])
    if method == "lower":
        cum = np.cumsum(w) if w is not None else np.arange(1.0, n + 1.0)
        i = int(np.searchsorted(cum, alpha * cum[-1], side="left"))
        return float(v[min(i, n - 1)])
    alpha = _lightgbm_alpha(alpha)
    if w is None:
        position = alpha * (n - 1)
        lo = min(int(np.floor(position)), n - 1)
        hi = min(lo + 1, n - 1)
        return float(v[lo] + (position - lo) * (v[hi] - v[lo]))
    cum = np.cumsum(w)
    t = cum[-1] * alpha
    pos = min(int(np.searchsorted(cum, t, side="right")), n - 1)
    if pos == 0 or pos == n - 1:
        return float(v[pos])
    w_pos = cum[pos] - cum[pos - 1]
    if w_pos >= 1.0:
        return float((t - cum[pos - 1]) / w_pos * (v[pos] - v[pos - 1]) + v[pos - 1])
    return float(v[pos - 1])


def weighted_quantile(values, alpha, sample_weight=None, *, method="lightgbm"):
    """The (weighted) ``alpha``-quantile of ``values``.

    Parameters
    ----------
    values : array-like of shape (n_samples,)
    alpha : float in (0, 1)
    sample_weight : array-like of shape (n_samples,), optional
    method : {"lightgbm", "lower"}, default "lightgbm"
        See the module docstring; ``"lower"`` (an exact argmin of the weighted pinball loss) is what
        ``QuantileLoss.init_score`` uses.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``alpha`` is outside (0, 1), ``values`` is empty or not finite, or ``method`` is unknown.

    Examples
    --------
    >>> float(weighted_quantile([3.0, 1.0, 2.0], 0.5, sample_weight=[1.0, 1.0, 4.0], method="lower"))
    2.0
    """
    alpha = check_interval(alpha, "alpha", 0, 1)
    check_method(method)
    v = check_1d(values, "values")
    if len(v) == 0:
        raise ValueError("values is empty; a quantile needs at least one value")
    w = check_sample_weight(sample_weight, len(v))
    order = np.argsort(v, kind="stable")
    return _sorted_quantile(v[order], None if w is None else w[order], alpha, method)


@njit(cache=True, nogil=True)
def _partition_below(a, lo, hi, pivot, inclusive):  # pragma: no cover (compiled)
    """Move the values of ``a[lo:hi]`` below ``pivot`` (``<= pivot`` when ``inclusive``) to its front, without a
    data-dependent branch (Lomuto's scheme: every element is swapped with the first of the others); returns where
    the others start."""
    j = lo
    for i in range(lo, hi):
        x = a[i]
        a[i] = a[j]
        a[j] = x
        j += (x <= pivot) if inclusive else (x < pivot)
    return j


@njit(cache=True, nogil=True)
def _select(a, k, budget):  # pragma: no cover (compiled)
    """The values of rank ``k`` and ``k + 1`` (0-based; rank ``k`` twice when ``k`` is the last) of ``a``, by
    quickselect in place (``a`` is scratch), and the number of elements its passes scanned (the work, for tests).
    The values (not where they came from) are the ranks', whatever the algorithm.

    Invariant: every value before ``lo`` is <= every value in ``[lo, hi)`` <= every value from ``hi`` on, and ``k``
    lies in ``[lo, hi)``; ``above`` is the smallest value from ``hi`` on (the last pivot that cut the range from
    above: it lies there and is <= the rest), so rank ``k + 1`` needs no scan once ``[lo, hi)`` is ``k`` alone.
    Each step cuts the range at a pivot by a branch-free pass (values below it first); when that leaves ``k`` in a
    range less than a quarter smaller, a second pass splits off the values equal to the pivot, so repeated values
    cannot make it quadratic. The pivot is the median of the range's first, middle and last values until a step
    keeps more than 3/4 of the range (median-of-three meets its worst case on V- and Λ-shaped inputs); from then on
    it is a value at a pseudo-random position (a fixed-seed 64-bit LCG, so runs repeat): O(n) expected for every
    input. Once the passes have scanned ``budget`` elements (callers: ``16 n``, far above what they scan on any
    input met so far), the range left is heapsorted (introselect): O(n log n) in the worst case.
    """
    n = a.shape[0]
    lo, hi = 0, n
    above = np.nan
    work = 0
    random = False
    state = np.int64(0x2545F4914F6CDD1D)
    while hi - lo > 1:
        size = hi - lo
        if work >= budget:
            heapsort(a, lo, hi)
            return a[k], (a[k + 1] if k + 1 < hi else (above if hi < n else a[k])), work + size
        if random:
            state = state * np.int64(6364136223846793005) + np.int64(1442695040888963407)  # wraps: mod 2**64
            pivot = a[lo + ((state >> 33) & 0x7FFFFFFF) % size]
        else:
            x, y, z = a[lo], a[lo + size // 2], a[hi - 1]
            pivot = max(min(x, y), min(max(x, y), z))
        if pivot != pivot:  # NaN: no order (renewal residuals are finite: labels and scores are checked)
            return np.nan, np.nan, work
        below = _partition_below(a, lo, hi, pivot, False)
        work += size
        if k < below:
            hi = below
            above = pivot
        elif 4 * (below - lo) >= size:
            lo = below
        else:
            upto = _partition_below(a, below, hi, pivot, True)
            work += hi - below
            if k >= upto:
                lo = upto
            else:
                # a[below:upto] all equal the pivot, so does rank k; rank k + 1 is the pivot again or the smallest
                # value after the block
                if k + 1 < upto:
                    return pivot, pivot, work
                if upto < hi:
                    nxt = a[upto]
                    for t in range(upto + 1, hi):
                        if a[t] < nxt:
                            nxt = a[t]
                    return pivot, nxt, work + hi - upto
                return pivot, (above if hi < n else pivot), work
        random = random or 4 * (hi - lo) > 3 * size
    return a[k], (above if hi < n else a[k]), work


@njit(cache=True, nogil=True)
def _unweighted_leaf_quantiles(r, leaf, n_leaves, alpha, lower, out):  # pragma: no cover (compiled)
    """Per leaf, the order statistics of :func:`leaf_quantiles` without weights, by selection (O(n) expected,
    O(n log n) worst case: :func:`_select`).

    Rows are grouped by leaf (a counting sort); in each leaf of ``n`` rows, ``lower``: the value of rank
    ``ceil(alpha n) - 1`` (clipped to 0 .. n - 1), by ``np.partition``; otherwise (``alpha`` already float32-rounded)
    position ``alpha (n - 1)`` interpolated between the ranks ``lo = floor`` and ``lo + 1`` (both from
    :func:`_select`; rank ``lo`` twice when it is the last). The arithmetic is that
    of the sorted form (same operations, no fastmath): the values are identical, and a zero result is +0.0 whichever
    zeros the ranks hold (``-0.0 + x * (v - -0.0)`` is +0.0 for a zero ``v``). ``out`` starts as NaN (empty leaves).
    """
    counts = np.zeros(n_leaves + 1, dtype=np.int64)
    for i in range(r.shape[0]):
        counts[leaf[i] + 1] += 1
    for j in range(n_leaves):
        counts[j + 1] += counts[j]
    grouped = np.empty(r.shape[0])
    fill = counts[:n_leaves].copy()
    for i in range(r.shape[0]):
        grouped[fill[leaf[i]]] = r[i]
        fill[leaf[i]] += 1
    for j in range(n_leaves):
        n = counts[j + 1] - counts[j]
        if n == 0:
            continue
        seg = grouped[counts[j] : counts[j + 1]]
        if lower:
            k = min(max(int(math.ceil(alpha * n)) - 1, 0), n - 1)
            out[j] = np.partition(seg, k)[k]
            continue
        position = alpha * (n - 1)
        lo = min(int(math.floor(position)), n - 1)
        v_lo, v_hi, _ = _select(seg, lo, 16 * n)
        out[j] = v_lo + (position - lo) * (v_hi - v_lo)


def leaf_quantiles(residual, leaf_index, alpha, *, sample_weight=None, n_leaves=None, method="lightgbm"):
    """The ``alpha``-quantile of ``residual`` within each leaf.

    Parameters
    ----------
    residual : array-like of shape (n_samples,)
        Typically ``y_true - raw_score`` before the new tree.
    leaf_index : array-like of int, shape (n_samples,)
        The leaf of the new tree each row falls into (LightGBM ``pred_leaf``), in ``[0, n_leaves)``.
    alpha : float in (0, 1)
    sample_weight : array-like of shape (n_samples,), optional
    n_leaves : int, optional
        Number of leaves; defaults to ``max(leaf_index) + 1``.
    method : {"lightgbm", "lower"}, default "lightgbm"

    Returns
    -------
    ndarray of float64, shape (n_leaves,)
        The quantile per leaf; NaN for a leaf that no row reaches.

    Notes
    -----
    Without weights a quantile is one or two order statistics of the leaf's residuals (``"lower"``: the
    ``ceil(alpha * n)``-th smallest of the ``n`` residuals, which is where the cumulative count first reaches
    ``alpha * n``), found by selection in each leaf (:func:`_unweighted_leaf_quantiles`, O(n) expected, O(n log n)
    worst case).
    With weights, rows are sorted once by residual (stable: ties keep the input order, which the weighted rule can
    depend on), then by leaf with a stable (radix) sort, and each leaf is evaluated on its own.
    """
    alpha = check_interval(alpha, "alpha", 0, 1)
    check_method(method)
    r = check_1d(residual, "residual")
    leaf = check_1d(leaf_index, "leaf_index", dtype=np.int64)
    check_consistent_length(len(r), leaf_index=leaf)
    w = check_sample_weight(sample_weight, len(r))
    if len(r) and leaf.min() < 0:
        raise ValueError(f"leaf_index must be >= 0; got {leaf.min()} at index {int(np.argmin(leaf))}")
    n_leaves = int(leaf.max()) + 1 if n_leaves is None else int(n_leaves)
    if len(r) and leaf.max() >= n_leaves:
        raise ValueError(f"leaf_index must be < n_leaves={n_leaves}; got {leaf.max()}")
    out = np.full(n_leaves, np.nan)
    if w is None:
        lower = method == "lower"
        _unweighted_leaf_quantiles(r, leaf, n_leaves, alpha if lower else _lightgbm_alpha(alpha), lower, out)
        return out
    first = np.argsort(r, kind="stable")
    key = leaf[first].astype(np.int16) if n_leaves <= np.iinfo(np.int16).max else leaf[first]  # radix-sorted
    order = first[np.argsort(key, kind="stable")]
    v, w_sorted = r[order], w[order]
    counts = np.bincount(leaf[order], minlength=n_leaves)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    for j in np.flatnonzero(counts):
        sl = slice(starts[j], starts[j] + counts[j])
        out[j] = _sorted_quantile(v[sl], w_sorted[sl], alpha, method)
    return out


def renewed_leaf_values(y_true, raw_score, leaf_index, alpha, *, learning_rate, sample_weight=None,
                        n_leaves=None, method="lightgbm"):
    """Leaf values of a new tree after renewal: ``learning_rate * quantile(y - raw_score)`` per leaf.

    This is what LightGBM's built-in quantile objective stores: the leaf is re-fitted to the residual quantile of
    its rows *before* shrinkage, then multiplied by the learning rate like any other leaf.

    Parameters
    ----------
    y_true, raw_score : array-like of shape (n_samples,)
        Labels and the raw score of the model *before* the new tree.
    leaf_index : array-like of int, shape (n_samples,)
    alpha : float in (0, 1)
    learning_rate : float > 0
    sample_weight, n_leaves, method
        As in :func:`leaf_quantiles`.

    Returns
    -------
    ndarray of float64, shape (n_leaves,)
        NaN for a leaf that no row reaches (keep the engine's value there).

    Examples
    --------
    >>> y = np.array([1.0, 2.0, 10.0, 20.0]); score = np.zeros(4)
    >>> renewed_leaf_values(y, score, np.array([0, 0, 1, 1]), 0.5, learning_rate=0.1)
    array([0.15, 1.5 ])
    """
    lr = check_interval(learning_rate, "learning_rate", 0, None)
    y = check_1d(y_true, "y_true")
    s = check_1d(raw_score, "raw_score")
    check_consistent_length(len(y), raw_score=s)
    q = leaf_quantiles(y - s, leaf_index, alpha, sample_weight=sample_weight, n_leaves=n_leaves, method=method)
    return lr * q


def kernel_alphas(alphas, method):
    """The levels as the compiled renewal kernels take them (:func:`renew_round`, :func:`renew_tree`).

    Parameters
    ----------
    alphas : sequence of float in (0, 1)
    method : {"lightgbm", "lower"}

    Returns
    -------
    ndarray of float64, shape (len(alphas),)
        Each level, rounded to float32 first for ``"lightgbm"`` (as LightGBM keeps it).

    Examples
    --------
    >>> kernel_alphas([0.1, 0.5], "lightgbm")[0] == np.float32(0.1), kernel_alphas([0.1], "lower")[0] == 0.1
    (np.True_, np.True_)
    """
    lower = check_method(method) == "lower"
    a = [check_interval(a, "alphas", 0, 1) for a in alphas]
    return np.array(a if lower else [_lightgbm_alpha(v) for v in a], dtype=np.float64)


@njit(cache=True, nogil=True)
def _renew_tree(y, score, leaf, n_leaves, alpha, lower, learning_rate, to_float32, values,  # pragma: no cover
                reached):
    """:func:`renew_tree` without its checks (the caller's): the residuals ``y - score``, their per-leaf quantiles
    (:func:`_unweighted_leaf_quantiles`), the renewed values at the leaves a row reaches, ``score += values[leaf]``.
    """
    n = y.shape[0]
    r = np.empty(n)
    for i in range(n):
        r[i] = y[i] - score[i]
    q = np.full(n_leaves, np.nan)
    _unweighted_leaf_quantiles(r, leaf, n_leaves, alpha, lower, q)
    for j in range(n_leaves):
        if q[j] == q[j]:
            v = learning_rate * q[j]
            values[j] = np.float64(np.float32(v)) if to_float32 else v
            reached[j] = 1
    for i in range(n):
        score[i] += values[leaf[i]]


@njit(cache=True, nogil=True)
def renew_tree(y, score, leaf, n_leaves, alpha, lower, learning_rate, to_float32, values,  # pragma: no cover
               reached):
    """One new tree renewed (unweighted rows) and added to the score, in place; compiled, for compiled callers
    (an engine adapter's round pass): :func:`renew_round` is the form for Python.

    The residuals ``y - score``, their per-leaf quantiles (the values of :func:`renewed_leaf_values` bit for bit),
    ``values[j] = learning_rate * quantile`` (rounded to float32 when ``to_float32``) at every leaf a row reaches
    (``reached[j] = 1``), then ``score += values[leaf]``.

    Parameters
    ----------
    y : ndarray of float64, shape (n_samples,)
    score : ndarray of float64, shape (n_samples,)
        The raw score before the tree; updated in place.
    leaf : ndarray of int64, shape (n_samples,)
        The leaf of every row, in ``[0, n_leaves)``.
    n_leaves : int
    alpha : float
        As :func:`kernel_alphas` gives it (float32-rounded for ``"lightgbm"``).
    lower : bool
        The ``"lower"`` rule (else ``"lightgbm"``).
    learning_rate : float
    to_float32 : bool
    values : ndarray of float64, shape (>= n_leaves,)
        The engine's leaf values in, the renewed ones out (at the leaves a row reaches).
    reached : ndarray of uint8, shape (>= n_leaves,)
        Set to 1 at the leaves a row reaches.

    Returns
    -------
    None

    Raises
    ------
    ValueError
        If the lengths disagree or a leaf lies outside ``[0, n_leaves)`` (the row and its leaf in the message):
        checked before anything is written.
    """
    n = y.shape[0]
    if score.shape[0] != n or leaf.shape[0] != n:
        raise ValueError("renew_tree: y, score and leaf must have one length; got", n, score.shape[0], leaf.shape[0])
    if values.shape[0] < n_leaves or reached.shape[0] < n_leaves:
        raise ValueError("renew_tree: values and reached need n_leaves entries; got", values.shape[0],
                         reached.shape[0], n_leaves)
    for i in range(n):
        if leaf[i] < 0 or leaf[i] >= n_leaves:
            raise ValueError("renew_tree: leaf must lie in [0, n_leaves); got (row, leaf, n_leaves)", i, leaf[i],
                             n_leaves)
    _renew_tree(y, score, leaf, n_leaves, alpha, lower, learning_rate, to_float32, values, reached)


@njit(cache=True, nogil=True)
def _renew_round(y, score, leaves, alphas, lower, learning_rate, renew, to_float32, values,  # pragma: no cover
                 reached):
    """One boosting round's ``K`` trees renewed and added to the score, one output after the other
    (:func:`renew_round`): output ``k``'s column of ``score`` through :func:`_renew_tree` (a tree not renewed is
    only added, ``score[:, k] += values[k, leaves[k]]``).

    Serial on purpose: inside training numba's OpenMP threads would take turns with the engine's (measured: a
    parallel twin made a 2-thread LightGBM fit of california_housing 9x slower on the loaded 2-core machine).
    """
    n, K = score.shape
    column = np.empty(n)
    for k in range(K):
        for i in range(n):
            column[i] = score[i, k]
        if renew[k]:
            _renew_tree(y, column, leaves[k], values.shape[1], alphas[k], lower, learning_rate, to_float32,
                        values[k], reached[k])
        else:
            for i in range(n):
                column[i] += values[k, leaves[k, i]]
        for i in range(n):
            score[i, k] = column[i]


def renew_round(y_true, raw_score, leaf_index, alphas, *, learning_rate, leaf_values, renew=None, method="lightgbm",
                float32_leaves=False):
    """Renew the ``K`` new trees of a boosting round (one per raw output, unweighted rows) and add them to the score.

    The fast form of :func:`renewed_leaf_values` applied to each output in turn, followed by ``raw_score[:, k] +=
    leaf_values[k, leaf_index[k]]``: one compiled pass per output (that of :func:`renew_tree`), no per-tree Python
    work. The values are those of :func:`renewed_leaf_values` bit for bit (the same selection kernel and arithmetic).

    Parameters
    ----------
    y_true : ndarray of float64, shape (n_samples,)
    raw_score : ndarray of float64, shape (n_samples, K), C-contiguous
        The exact score before the round's trees; updated in place.
    leaf_index : ndarray of int64, shape (K, n_samples), C-contiguous
        The leaf of every row in each output's new tree, in ``[0, n_leaves)``.
    alphas : sequence of float, length K
    learning_rate : float > 0
    leaf_values : ndarray of float64, shape (K, n_leaves)
        The engine's leaf values in; the renewed values out at the leaves a row reaches (a tree with fewer leaves
        pads its row: no row reaches the padding).
    renew : array-like of bool, shape (K,), optional
        Which trees to renew (default: all); the others are only added.
    method : {"lightgbm", "lower"}
    float32_leaves : bool
        Round the renewed values to float32, as an engine that stores float32 leaves (XGBoost) will hold them.

    Returns
    -------
    ndarray of bool, shape (K, n_leaves)
        The leaves a row reaches (renewed).
    """
    lower = check_method(method) == "lower"
    lr = check_interval(learning_rate, "learning_rate", 0, None)
    # the compiled pass writes in place without bounds checks: every array is checked here (cheap next to the pass)
    arrays = (("y_true", y_true, np.float64, 1), ("raw_score", raw_score, np.float64, 2),
              ("leaf_index", leaf_index, np.int64, 2), ("leaf_values", leaf_values, np.float64, 2))
    for name, arr, dtype, ndim in arrays:
        if not (isinstance(arr, np.ndarray) and arr.dtype == dtype and arr.ndim == ndim and arr.flags.c_contiguous
                and arr.flags.writeable):
            raise TypeError(f"{name} must be a writeable C-contiguous {ndim}-D {np.dtype(dtype).name} ndarray; got "
                            f"{type(arr).__name__} {getattr(arr, 'dtype', '')} of shape {np.shape(arr)}")
    n, K = raw_score.shape
    if len(y_true) != n or leaf_index.shape != (K, n) or len(leaf_values) != K or len(alphas) != K:
        raise ValueError(f"shapes disagree: y_true {y_true.shape}, raw_score {raw_score.shape} (n, K), leaf_index "
                         f"{leaf_index.shape} (K, n), leaf_values {leaf_values.shape} (K, n_leaves), {len(alphas)} "
                         "alphas (K)")
    if leaf_index.size and (leaf_index.min() < 0 or leaf_index.max() >= leaf_values.shape[1]):
        raise ValueError(f"leaf_index must lie in [0, {leaf_values.shape[1]}) (leaf_values' columns); got "
                         f"[{leaf_index.min()}, {leaf_index.max()}]")
    a = kernel_alphas(alphas, method)
    mask = np.ones(K, dtype=np.bool_) if renew is None else np.asarray(renew, dtype=np.bool_)
    if mask.shape != (K,):
        raise ValueError(f"renew must have shape ({K},); got {mask.shape}")
    reached = np.zeros(leaf_values.shape, dtype=np.uint8)
    _renew_round(y_true, raw_score, leaf_index, a, lower, lr, mask, bool(float32_leaves),
                 leaf_values, reached)
    return reached.view(np.bool_)
