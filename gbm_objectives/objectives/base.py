"""The objective core: the one vocabulary every objective of the package speaks (:class:`Objective`) and the
validated training set it works on (:class:`Prepared`).

An objective maps labels ``y_true`` and raw scores ``raw_score`` (the margin the trees add up) to a loss, its
first and second derivatives with respect to the raw score, the best constant raw score, and the link from raw
score to prediction::

    obj.grad_hess(y_true, raw_score, *, sample_weight=None, group=None) -> (grad, hess)
    obj.loss(y_true, raw_score, *, sample_weight=None, group=None) -> float       # weighted mean
    obj.init_score(y_true, *, sample_weight=None) -> float | ndarray (n_classes,)
    obj.transform(raw_score) -> prediction

Sample weights multiply both gradient and hessian, once, in the kernels. The engine adapters (``adapters/``)
contain no math: they read labels, weights and groups from the engine's data object and call these methods.

>>> import numpy as np
>>> import gbm_objectives as go
>>> obj = go.SquaredError()
>>> prepared = obj.prepare(np.array([1.0, 3.0]))          # validated once, reused every round
>>> obj.grad_hess_prepared(prepared, np.zeros(2))[0]      # raw_score - y
array([-1., -3.])
>>> constant_root(lambda c: 2 * c - 4.0)                  # where the summed gradient crosses 0
2.0
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

from .._core.validation import check_1d, check_output_buffer, check_raw_score, check_sample_weight

__all__ = ["Objective", "Prepared", "NO_WEIGHT", "constant_root", "compress_labels"]

#: unit weights as the kernels take them (an empty array)
NO_WEIGHT = np.empty(0, dtype=np.float64)


class Prepared:
    """Validated labels, weights and groups of one training set, computed once and reused every iteration.

    Attributes
    ----------
    y : ndarray, shape (n_samples,)
        Labels (float64, or int64 class ids for multiclass objectives).
    w : ndarray or None
        Sample weights, or None for unit weights.
    boundaries : ndarray of int64 or None
        Query offsets for ranking objectives (see :mod:`gbm_objectives._core.segments`).
    cache : dict
        Objective-specific precomputations (e.g. the inverse max DCG of each query).
    position : ndarray of int64 or None
        The displayed 0-based position of every row, for an objective that debiases positions (validated once by
        its ``prepare``); None otherwise.
    """

    __slots__ = ("y", "w", "boundaries", "cache", "position", "__weakref__")

    def __init__(self, y, w=None, boundaries=None, cache=None, position=None):
        self.y = y
        self.w = w
        self.boundaries = boundaries
        self.cache = {} if cache is None else cache
        self.position = position

    @property
    def n_samples(self):
        return len(self.y)


class Objective:
    """Base class of every objective.

    Subclasses set the class attributes and implement ``_check_y``, ``_kernel``, ``_pointwise_loss`` and, where a
    closed form exists, ``_init_score``. Everything else (validation, weights, buffers) lives here.

    Class attributes
    ----------------
    name : str
        Registry name.
    task : {"binary", "regression", "multiclass", "ranking"}
    approx_hessian : bool
        True where ``hess`` is not the exact second derivative (documented on the class).
    constant_hessian : bool
        True where ``hess`` equals the sample weight everywhere.
    float64_scores : bool
        True where the kernels compute in float64 whatever the scores' dtype, so float32 scores are widened before
        the call (one compiled signature, the same bytes). False for the kernels whose arithmetic on float32 scores
        is float32 (XE-NDCG, BPR, LambdaRank's LightGBM emulation): they keep the scores' dtype, and their results.
    search_space : dict
        The objective's own parameters :func:`gbm_objectives.tune` searches by default, ``{parameter: (kind, low,
        high, log)}`` with ``kind`` "float" or "int" (empty: none).
    """

    name = None
    task = None
    approx_hessian = False
    constant_hessian = False
    float64_scores = True
    n_classes = None
    search_space = {}

    # ---- public API -------------------------------------------------------------------------------------
    def check_position_pairing(self, position_given):
        """The one check that positions go with position debiasing and only with it (every front end calls it:
        :meth:`prepare`, :func:`gbm_objectives.training.plan`, the CLI).

        Raises
        ------
        ValueError
            ``position_given`` without ``position_debias`` (the positions would be silently ignored and the model
            would learn the click bias), or ``position_debias`` without positions.
        """
        debias = getattr(self, "position_debias", None)
        if position_given and debias is None:
            raise ValueError(
                f"position= was given but position_debias is None for the objective {self.name!r}: the positions "
                f"would be ignored and the model would learn the click bias; use "
                f"LambdaRankObjective(position_debias='additive' or 'ipw') (or drop position=)"
            )
        if debias is not None and not position_given:
            raise ValueError(f"position_debias={debias!r} needs position= (each training row's displayed 0-based "
                             f"rank) with the labels")

    def prepare(self, y_true, *, sample_weight=None, group=None, qid=None):
        """Validate labels, weights (and groups) once; the result feeds :meth:`grad_hess_prepared`."""
        y = self._check_y(y_true)
        w = check_sample_weight(sample_weight, len(y))
        return Prepared(y, w)

    def grad_hess(self, y_true, raw_score, *, sample_weight=None, group=None):
        """Gradient and hessian of the per-row loss with respect to ``raw_score``.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
        raw_score : array-like of shape (n_samples,) or (n_samples, n_classes)
        sample_weight : array-like of shape (n_samples,), optional
            Multiplies both gradient and hessian.
        group : ignored by pointwise objectives (accepted so one call serves every objective).

        Returns
        -------
        grad, hess : ndarray of float64, same shape as ``raw_score``
        """
        return self.grad_hess_prepared(self.prepare(y_true, sample_weight=sample_weight, group=group), raw_score)

    def grad_hess_prepared(self, prepared, raw_score, *, grad_out=None, hess_out=None):
        """:meth:`grad_hess` on a :class:`Prepared` training set, optionally into given (e.g. float32) buffers."""
        raw = check_raw_score(raw_score, prepared.n_samples, self.n_classes)
        # One dtype and layout reach the kernels, so each compiles one signature for its scores (float32 scores,
        # e.g. XGBoost's, compiled a second set: issue 21's compile budget). Widening float32 to float64 is exact,
        # and these kernels widen the score at its first use anyway (combined with float64 labels, maxima or
        # buffers), so the results are the same bytes (``float64_scores``; checked byte for byte on every
        # objective against the previous code). The multiclass kernels run class by class over all rows:
        # contiguous columns are 2 to 4 times faster than strided ones (a copy of C-ordered scores costs ~1 ms per
        # million values).
        dtype = np.float64 if self.float64_scores else raw.dtype
        if raw.ndim == 2:
            raw = np.asfortranarray(raw, dtype=dtype)
        else:
            raw = np.ascontiguousarray(raw, dtype=dtype)
        if grad_out is None:
            grad_out = np.empty(raw.shape, dtype=np.float64, order="F")
        else:
            check_output_buffer(grad_out, "grad_out", raw.shape)
        if hess_out is None:
            hess_out = np.empty(raw.shape, dtype=np.float64, order="F")
        else:
            check_output_buffer(hess_out, "hess_out", raw.shape)
        w = NO_WEIGHT if prepared.w is None else prepared.w
        self._kernel(prepared, raw, w, grad_out, hess_out)
        return grad_out, hess_out

    def loss(self, y_true, raw_score, *, sample_weight=None, group=None):
        """Weighted mean of the per-row loss."""
        prepared = self.prepare(y_true, sample_weight=sample_weight, group=group)
        if prepared.n_samples == 0:
            raise ValueError("y_true is empty; the loss needs at least one row")
        raw = check_raw_score(raw_score, prepared.n_samples, self.n_classes).astype(np.float64, copy=False)
        per_row = self._pointwise_loss(prepared.y, raw)
        return float(np.average(per_row, weights=prepared.w))

    def init_score(self, y_true, *, sample_weight=None):
        """The best constant raw score: argmin over c of ``loss(y_true, c)``.

        Custom objectives get no ``boost_from_average``, so pass this as LightGBM's ``init_score`` or XGBoost's
        ``base_margin`` (the estimators do it for you).
        """
        y = self._check_y(y_true)
        w = check_sample_weight(sample_weight, len(y))
        if len(y) == 0:
            raise ValueError("y_true is empty; init_score needs at least one row")
        return self._init_score(y, w)

    def transform(self, raw_score):
        """Raw score to prediction (identity for regression)."""
        return np.asarray(raw_score, dtype=np.float64)

    def inverse_transform(self, prediction):
        """Prediction to raw score, the inverse of :meth:`transform` (identity for regression and ranking).

        Used to read the predictions an engine's built-in objective hands its evaluation callbacks (probabilities
        for classification) as raw scores.
        """
        return np.asarray(prediction, dtype=np.float64)

    # ---- scikit-learn-like parameter access --------------------------------------------------------------
    def get_params(self):
        import inspect

        sig = inspect.signature(type(self).__init__)
        return {k: getattr(self, k) for k in sig.parameters if k != "self"}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        return type(self) is type(other) and _params_equal(self.get_params(), other.get_params())

    def __hash__(self):
        return hash((type(self).__name__, repr(self)))

    # ---- hooks ---------------------------------------------------------------------------------------------
    def _check_y(self, y_true):
        return check_1d(y_true, "y_true")

    def _kernel(self, prepared, raw, w, grad_out, hess_out):  # pragma: no cover - abstract
        raise NotImplementedError

    def _pointwise_loss(self, y, raw):  # pragma: no cover - abstract
        raise NotImplementedError

    def _init_score(self, y, w):
        """Generic 1-D solve of sum_i w_i grad_i(c) = 0 (the loss is convex in the constant)."""
        values, weights = compress_labels(y, w)
        prepared = Prepared(values, weights)

        def total_grad(c):
            g, _ = self.grad_hess_prepared(prepared, np.full(len(values), c))
            return float(g.sum())

        return constant_root(total_grad, self.name)


def constant_root(total_grad, name="objective"):
    """The constant ``c`` where the summed gradient ``total_grad(c)`` of a convex loss crosses 0 (the best constant
    raw score): a bracket doubled out from [-1, 1] (it reaches every finite double), then Brent's method.

    Used by :meth:`Objective.init_score` and by the partitioned (Dask) init score, which sums the gradient over
    partitions: one search, one set of tolerances.
    """
    lo, hi = -1.0, 1.0
    for _ in range(1100):
        if total_grad(lo) <= 0 or not np.isfinite(lo * 2):
            break
        lo *= 2
    for _ in range(1100):
        if total_grad(hi) >= 0 or not np.isfinite(hi * 2):
            break
        hi *= 2
    if not (total_grad(lo) <= 0 <= total_grad(hi)):
        raise ValueError(f"{name}: no finite constant minimises the loss for these labels (searched "
                         f"[{lo:g}, {hi:g}])")
    if total_grad(lo) == 0:
        return lo
    if total_grad(hi) == 0:
        return hi
    return float(optimize.brentq(total_grad, lo, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=500))


def _params_equal(a, b):
    if a.keys() != b.keys():
        return False
    return all(np.array_equal(np.asarray(a[k]), np.asarray(b[k])) if a[k] is not None else b[k] is None for k in a)


def compress_labels(y, w):
    """Unique labels with their summed weights: constant-score problems only depend on these (used by
    :meth:`Objective.init_score` and the partitioned init score of the Dask front end)."""
    values, inverse = np.unique(y, return_inverse=True)
    weights = np.bincount(inverse, weights=w, minlength=len(values)).astype(np.float64)
    return values, weights
