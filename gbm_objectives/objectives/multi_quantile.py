"""Many quantiles in one boosted model that never cross: :class:`MultiQuantileLoss`.

The model has ``K`` raw outputs per row (``K`` trees per round, the multiclass layout of both engines). They map to
the quantiles by a monotone parametrisation, the lowest quantile plus non-negative (softplus) increments, of the
raw outputs sorted along the row (:func:`cumulative_softplus`)::

    r_(1) <= ... <= r_(K)   the raw outputs sorted (the rearrangement of Chernozhukov, Fernandez-Val and Galichon)
    q_1 = r_(1),     q_k = q_{k-1} + scale * softplus((r_(k) - q_{k-1}) / scale)   (k = 2 .. K)

with ``softplus(x) = log(1 + e^x)`` and ``scale > 0`` in the units of ``y``. Every increment is positive, so
``q_1 < q_2 < ... < q_K`` holds for every row by construction, whatever the trees predict. Where the sorted outputs
lie apart by many ``scale``, ``q_k = r_(k)`` (to ``scale * e^{-gap/scale}``): where no output crosses another, each
raw output is its own level's quantile; where some do, the levels take the sorted values. Sorting (a crossing
pair swaps) brings the curve no farther from the true quantile curve in any L^p norm over the levels (Chernozhukov
et al. 2010); lifting the upper output of a crossing pair to the lower one instead would raise every level above
a crossing (the coverage of the upper levels). A consumer of the raw outputs (the engine's
``booster.predict(..., raw_score=True)`` plus the init score, or any file of :func:`gbm_objectives.export`, whose
``K`` outputs hold the init score) must apply :func:`cumulative_softplus` with the model's ``scale`` to get the
quantiles: no export format has this link built in, and the export report's note prints the scale as a number.

>>> import numpy as np
>>> cumulative_softplus(np.array([[1.0, 3.0, 2.0]]), scale=0.01)     # r_3 = 2.0 would cross r_2 = 3.0: sorted
array([[1., 2., 3.]])
>>> obj = MultiQuantileLoss(alphas=(0.1, 0.5, 0.9)).fitted_scale(np.arange(11.0))
>>> obj.scale                                     # SCALE_FRACTION of the mean gap between the start quantiles
4e-06
"""

from __future__ import annotations

import numbers

import numpy as np
from numba import njit

from .._core.jit import JIT
from .._core.validation import check_1d, check_raw_score, check_sample_weight, fmt
from .base import Objective
from .quantile import check_method, renewed_leaf_values, weighted_quantile

__all__ = ["MultiQuantileLoss", "check_alphas", "check_scale", "cumulative_softplus", "pinball_matrix", "SCALE_FRACTION"]

#: ``scale="auto"``: this fraction of the mean gap between the weighted quantiles of the training labels (the
#: smallest normal double above ``1e-12 |y|`` when every quantile ties, e.g. a constant ``y``). Small on purpose:
#: the outputs are sorted before the link, so every increment's argument is >= 0 and the gradients stay defined
#: at any softness, while a soft link lifts each level by up to ``scale * log(2)`` above its sorted output. Labels
#: with repeated values (California's rounded and capped prices) sit exactly at many renewed outputs, so even
#: that lift moves coverage: ``1e-3`` of the gap moved the 0.8 and 0.9 levels' coverage by a point on
#: california_housing (LightGBM: largest gap to the nine built-ins 2.5 points, 1.55 with the plain sort that
#: ``1e-6`` reproduces; scripts/bench_quantile.py --multi).
SCALE_FRACTION = 1e-6


def _sigmoid(x):
    return np.exp(-np.logaddexp(0.0, -x))


def check_scale(scale):
    """A finite ``scale > 0`` (float), or ``"auto"``."""
    if isinstance(scale, str) and scale == "auto":
        return scale
    if isinstance(scale, (bool, np.bool_)) or not isinstance(scale, numbers.Real) or not (0 < scale < np.inf):
        raise ValueError(f"scale must be a finite number > 0 or 'auto'; got {scale!r}")
    return float(scale)


def cumulative_softplus(raw_score, scale):
    """Quantiles from the ``K`` raw outputs: sorted along each row to ``r_(1) <= ... <= r_(K)``, then ``q_1 =
    r_(1)``, ``q_k = q_{k-1} + scale * softplus((r_(k) - q_{k-1}) / scale)``.

    This is the transform a consumer of the raw model outputs must apply (``multi_quantile`` models store and
    export the raw outputs; the model's ``scale`` is ``TrainResult.objective.scale``). Consecutive quantiles
    increase (up to the float spacing): by at least ``scale * log(2)`` where the sorted output is at or above the
    level below it (always from the first level to the second), by less where that level was lifted above it.

    Parameters
    ----------
    raw_score : array-like of shape (n_samples, K)
        Raw outputs, init score included.
    scale : float > 0

    Returns
    -------
    ndarray of shape (n_samples, K)
        Increasing along each row (non-decreasing once increments fall below the float spacing).
    """
    scale = check_scale(scale)
    if scale == "auto":
        raise ValueError("scale='auto' is set from the training labels: use the trained model's objective "
                         "(TrainResult.objective) or MultiQuantileLoss.fitted_scale(y)")
    raw = np.asarray(raw_score, dtype=np.float64)
    if raw.ndim != 2:
        raise ValueError(f"raw_score must have shape (n_samples, K); got shape {raw.shape}")
    return _softplus_chain(np.sort(raw, axis=1), scale)


def _softplus_chain(ordered, scale):
    """The cumulative softplus of raw outputs already sorted along each row."""
    q = np.empty_like(ordered)
    if ordered.shape[1]:
        q[:, 0] = ordered[:, 0]
    with np.errstate(over="ignore", divide="ignore"):  # |d| / scale overflows to inf for a tiny scale: exact
        for k in range(1, ordered.shape[1]):
            d = ordered[:, k] - q[:, k - 1]  # scale * softplus(d / scale), without overflow:
            q[:, k] = q[:, k - 1] + (np.maximum(d, 0.0) + scale * np.log1p(np.exp(-np.abs(d) / scale)))
    return q


def check_alphas(alphas):
    """``alphas`` as a float64 array: at least one level, each in (0, 1), strictly increasing.

    Raises
    ------
    ValueError
        Naming ``alphas`` and the offending index and value (unsorted, duplicated, outside (0, 1), not finite).
    TypeError
        For something that is not a sequence of numbers.
    """
    if isinstance(alphas, (str, bytes, numbers.Number)):
        raise TypeError(f"alphas must be a sequence of quantile levels such as (0.1, 0.5, 0.9); got {alphas!r}")
    try:
        a = np.asarray(alphas, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"alphas must be a sequence of numbers; got {alphas!r}") from None
    if a.ndim != 1 or len(a) == 0:
        raise ValueError(f"alphas must be a non-empty 1-D sequence of levels; got {alphas!r}")
    for i, v in enumerate(a):
        if not (0.0 < v < 1.0):
            raise ValueError(f"alphas must lie strictly inside (0, 1); got alphas[{i}] = {fmt(v)}")
    steps = np.diff(a)
    if (steps == 0).any():
        i = int(np.flatnonzero(steps == 0)[0]) + 1
        raise ValueError(f"alphas must not repeat a level; alphas[{i}] = {fmt(a[i])} duplicates alphas[{i - 1}]")
    if (steps < 0).any():
        i = int(np.flatnonzero(steps < 0)[0]) + 1
        raise ValueError(f"alphas must be sorted increasingly; alphas[{i}] = {fmt(a[i])} < alphas[{i - 1}] = "
                         f"{fmt(a[i - 1])}")
    return a


def pinball_matrix(y_true, quantiles, alphas):
    """Per row and level, the pinball loss ``rho_a(y - q)`` (``a u`` for ``u >= 0``, ``(a - 1) u`` otherwise):
    shape (n_samples, K)."""
    a = np.asarray(alphas, dtype=np.float64)
    u = np.asarray(y_true, dtype=np.float64)[:, None] - quantiles
    return np.where(u >= 0, a * u, (a - 1.0) * u)


@njit(**JIT)
def per_output_pinball_gradients(raw, y, alphas, grad_out, hess_out):  # pragma: no cover (compiled)
    """The per-output pinball gradients (renewal form): ``grad[i, k] = 1 - alphas[k]`` if ``raw[i, k] - y[i] >= 0``
    else ``-alphas[k]``, computed in float64 and stored in the output's dtype; ``hess = 1``. Columns in turn (the
    arrays are Fortran-ordered): the values of ``np.where(raw - y[:, None] >= 0, 1 - alphas, -alphas)``."""
    n, K = raw.shape
    for k in range(K):
        up = 1.0 - alphas[k]
        down = -alphas[k]
        for i in range(n):
            grad_out[i, k] = up if raw[i, k] - y[i] >= 0 else down
            hess_out[i, k] = 1.0


def _warmed_up_gradient_types(raw, y, grad_out, hess_out):
    """Whether the arrays have the types ``gbm-objectives warmup`` compiles :func:`per_output_pinball_gradients`
    for (else the caller takes the NumPy form, the same values): ``raw`` float64, ``grad_out`` and ``hess_out``
    both float32 or both float64, the three 2-D Fortran-ordered and not C-ordered (numba types an array that is
    both, e.g. one of a single column, as C-ordered: another compiled variant), ``y`` float64 C-contiguous, all
    writeable and aligned (numba types a read-only array apart)."""
    return (raw.dtype == np.float64 and y.dtype == np.float64 and y.ndim == 1 and y.flags.c_contiguous
            and grad_out.dtype == hess_out.dtype and grad_out.dtype in (np.float32, np.float64)
            and all(v.ndim == 2 and v.flags.f_contiguous and not v.flags.c_contiguous
                    for v in (raw, grad_out, hess_out))
            and all(v.flags.writeable and v.flags.aligned for v in (raw, y, grad_out, hess_out)))


class MultiQuantileLoss(Objective):
    r"""Mean pinball loss of ``K`` quantiles predicted by one model, in an order-preserving parametrisation.

    Parameters
    ----------
    alphas : sequence of float, default (0.1, 0.2, ..., 0.9)
        Quantile levels in (0, 1), strictly increasing.
    renewal : bool, default True
        Grow every output's tree on its own level's pinball gradient and re-fit its leaves to the residual
        quantile, as :class:`~gbm_objectives.QuantileLoss`'s leaf renewal does (:meth:`renewed_leaf_values`); the
        estimators and :func:`gbm_objectives.train` apply it.
    scale : float > 0 or "auto", default "auto"
        The softness of the increments, in the units of ``y`` (module docstring). ``"auto"``: ``SCALE_FRACTION``
        of the mean gap between the weighted ``alphas``-quantiles of the training labels, set by
        :func:`gbm_objectives.train` (:meth:`fitted_scale`); the trained model's objective holds the number.

    Notes
    -----
    Raw outputs ``r`` (shape ``(n, K)``) map to quantiles ``q`` by :func:`cumulative_softplus`. With ``rho_a(u) =
    a u`` for ``u >= 0`` and ``(a - 1) u`` otherwise (``u = y - q``), ``r_(k)`` the outputs sorted along the row
    (``r_(k) = r_{pi(k)}``) and ``s_k = sigmoid((r_(k) - q_{k-1}) / scale)`` (``s_1 = 1``)::

        loss   = (1/K) sum_j rho_{a_j}(y - q_j)
        g_j    = (1/K) (1 - a_j if q_j - y >= 0 else -a_j)       (d loss / d q_j; LightGBM's kink convention)
        A_K    = g_K,    A_j = g_j + (1 - s_{j+1}) A_{j+1}         (d loss / d q_j through the quantiles above)
        grad_{pi(k)} = s_k A_k,    hess = 1/K                     (dq_k/dr_(k) = s_k, dq_k/dq_{k-1} = 1 - s_k)

    (the sort is locally a permutation: each output takes the gradient of the level it sorts to).

    The hessian is an approximation (the pinball loss has none): unit curvature per level, the chain factors
    dropped. With ``renewal=True`` the objective the engines train with grows output ``k``'s tree on the gradient of
    ``rho_{a_k}`` in ``r_k`` alone (``grad_k = 1 - a_k if r_k - y >= 0 else -a_k``, ``hess_k = 1``) and renews its
    leaves to ``learning_rate * quantile_{a_k}(y - r_k)`` (:meth:`renewed_leaf_values`): each raw output is boosted
    exactly as a :class:`~gbm_objectives.QuantileLoss` model of its level would be, and the link puts them in order.
    (On LightGBM, :func:`gbm_objectives.train` has LightGBM's built-in ``quantile`` objective grow each output's
    trees, which renews in C++ with float32 labels and gradients: :mod:`gbm_objectives.adapters.lightgbm_quantiles`.)
    With ``K = 1`` everything equals :class:`~gbm_objectives.QuantileLoss`.

    The best constant start (:meth:`init_score`) is the weighted ``alpha_k``-quantile of ``y`` for every ``k``
    (``method="lower"``, the exact argmin for each level).

    Serving: :func:`gbm_objectives.export` writes the ``K`` raw outputs (init score included) in every format, and
    the consumer computes the quantiles as ``cumulative_softplus(raw, scale=S)``, ``S`` the trained model's
    ``scale`` (``TrainResult.objective.scale``; the export report's note prints it as a number).

    References
    ----------
    Koenker and Bassett, "Regression quantiles", Econometrica 46 (1978). Chernozhukov, Fernandez-Val and
    Galichon, "Quantile and probability curves without crossing", Econometrica 78 (2010).

    Examples
    --------
    >>> import numpy as np
    >>> obj = MultiQuantileLoss(alphas=(0.1, 0.5, 0.9), scale=0.01)
    >>> y = np.arange(11.0)
    >>> obj.init_score(y)
    array([1., 5., 9.])
    >>> np.round(obj.transform(obj.init_score(y)[None, :]), 6)
    array([[1., 5., 9.]])
    """

    name = "multi_quantile"
    task = "regression"
    approx_hessian = True
    constant_hessian = False
    #: True in the objective a leaf-renewal callback trains with: every output's tree is grown on its own level's
    #: pinball gradient (see the Notes)
    per_output_gradients = False

    def __init__(self, alphas=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9), renewal=True, scale="auto"):
        self.alphas = tuple(float(a) for a in check_alphas(alphas))
        if not isinstance(renewal, (bool, np.bool_)):
            raise TypeError(f"renewal must be True or False; got {renewal!r}")
        self.renewal = bool(renewal)
        self.scale = check_scale(scale)

    @property
    def n_classes(self):
        """The number of raw outputs ``K`` (the engines' ``num_class``); None for one level (a single output,
        raw scores of shape (n_samples,), as :class:`~gbm_objectives.QuantileLoss`)."""
        return len(self.alphas) if len(self.alphas) > 1 else None

    def get_params(self):
        return {"alphas": self.alphas, "renewal": self.renewal, "scale": self.scale}

    def fitted_scale(self, y_true, sample_weight=None):
        """This objective with ``scale="auto"`` resolved from the labels (itself when the scale is a number)."""
        if self.scale != "auto":
            return self
        y = self._check_y(y_true)
        if len(y) == 0:
            raise ValueError("y_true is empty; scale='auto' needs labels")
        w = check_sample_weight(sample_weight, len(y))
        return type(self)(self.alphas, self.renewal, self._auto_scale(y, w))

    def _auto_scale(self, y, w):
        q = [weighted_quantile(y, a, sample_weight=w, method="lower") for a in (self.alphas[0], self.alphas[-1])]
        gap = (q[1] - q[0]) / max(len(self.alphas) - 1, 1)
        return float(SCALE_FRACTION * gap if gap > 0 else max(1e-12 * float(np.abs(y).max()), np.finfo(float).tiny))

    def _scale_for(self, y, w=None):
        """The scale, or with ``scale="auto"`` the one the labels ``y`` give (gradients and losses computed on
        labels directly, outside :func:`gbm_objectives.train`, which resolves it once from the training labels)."""
        return self.scale if self.scale != "auto" else self._auto_scale(y, w)

    def _quantiles(self, raw, scale):
        return cumulative_softplus(self._as_2d(raw), 1.0 if len(self.alphas) == 1 else scale)

    def _sorted(self, raw):
        """The raw outputs sorted along each row and the sorting permutation (``sorted = raw[i, order[i]]``)."""
        order = np.argsort(raw, axis=1, kind="stable")
        return np.take_along_axis(raw, order, axis=1), order

    # ---- the objective --------------------------------------------------------------------------------------
    @staticmethod
    def _as_2d(raw):
        raw = np.asarray(raw, dtype=np.float64)
        return raw.reshape(-1, 1) if raw.ndim == 1 else raw

    def transform(self, raw_score):
        """The quantiles, :func:`cumulative_softplus` of the raw outputs: shape (n_samples, K), also for ``K = 1``
        (whose raw score has shape (n_samples,))."""
        return self._quantiles(raw_score, self.scale)

    def inverse_transform(self, prediction):
        """Raw outputs of increasing quantiles (shape (n_samples, K)), sorted, the inverse of :meth:`transform`:
        ``r_1 = q_1``, ``r_k = q_{k-1} + scale * log(expm1((q_k - q_{k-1}) / scale))``.

        The link reaches exactly the quantiles whose reconstructed outputs do not decrease (sorted outputs); other
        quantiles (e.g. a first gap below ``scale * log(2)``) raise ValueError. A decrease of a few float spacings,
        the rounding of tied outputs, is forgiven."""
        q = np.asarray(prediction, dtype=np.float64)
        if q.ndim != 2 or q.shape[1] != len(self.alphas):
            raise ValueError(f"prediction must have shape (n_samples, {len(self.alphas)}); got shape {q.shape}")
        if len(self.alphas) == 1:
            return q[:, 0].copy()
        scale = check_scale(self.scale)
        if scale == "auto":
            raise ValueError("scale='auto': use the trained model's objective (TrainResult.objective)")
        gap = np.diff(q, axis=1) / scale
        if (gap < 0).any():
            i, k = np.argwhere(gap < 0)[0]
            raise ValueError(f"prediction must be non-decreasing along each row; row {i} decreases at column {k + 1}")
        with np.errstate(divide="ignore"):
            raw_gap = gap + np.log(-np.expm1(-gap))  # log(expm1(gap)), no overflow for a large gap
        raw = np.column_stack([q[:, 0], q[:, :-1] + scale * raw_gap])
        slack = 8 * np.finfo(float).eps * np.maximum(np.abs(q[:, 1:]), scale)  # rounding of tied outputs
        bad = np.diff(raw, axis=1) < -slack
        if bad.any():
            i, k = np.argwhere(bad)[0]
            raise ValueError(f"prediction row {i}: columns {k} and {k + 1} are closer than the link puts any sorted "
                             f"outputs with scale={scale:.6g} (the reconstructed outputs decrease)")
        return np.maximum.accumulate(raw, axis=1)

    def _kernel(self, prepared, raw, w, grad_out, hess_out):
        raw, grad_out, hess_out = self._as_2d(raw), grad_out.reshape(len(raw), -1), hess_out.reshape(len(raw), -1)
        K = raw.shape[1]
        a = np.asarray(self.alphas)
        if self.per_output_gradients:
            if _warmed_up_gradient_types(raw, prepared.y, grad_out, hess_out):
                per_output_pinball_gradients(raw, prepared.y, a.astype(np.float64), grad_out, hess_out)
            else:
                grad_out[...] = np.where(raw - prepared.y[:, None] >= 0, 1.0 - a, -a)
                hess_out[...] = 1.0
        else:
            scale = prepared.cache.get("scale")
            if scale is None:
                scale = prepared.cache["scale"] = self._scale_for(prepared.y, prepared.w)
            ordered, order = self._sorted(raw)
            q = _softplus_chain(ordered, 1.0 if K == 1 else scale)
            g = np.where(q - prepared.y[:, None] >= 0, 1.0 - a, -a) / K
            s = np.ones_like(raw)
            if K > 1:
                with np.errstate(over="ignore", divide="ignore"):
                    s[:, 1:] = _sigmoid((ordered[:, 1:] - q[:, :-1]) / scale)
            grad = np.empty_like(raw)  # by sorted position, then back to the outputs
            acc = g[:, K - 1].copy()
            grad[:, K - 1] = s[:, K - 1] * acc
            for k in range(K - 2, -1, -1):
                acc = g[:, k] + (1.0 - s[:, k + 1]) * acc
                grad[:, k] = s[:, k] * acc
            np.put_along_axis(grad_out, order, grad, axis=1)
            hess_out[...] = 1.0 / K
        if len(w):
            grad_out *= w[:, None]
            hess_out *= w[:, None]

    def _pointwise_loss(self, y, raw):
        return pinball_matrix(y, self._quantiles(raw, self._scale_for(y)), self.alphas).mean(axis=1)

    def _init_score(self, y, w):
        raw = np.array([weighted_quantile(y, a, sample_weight=w, method="lower") for a in self.alphas])
        return raw if len(raw) > 1 else float(raw[0])

    # ---- leaf renewal -------------------------------------------------------------------------------------------
    def renewed_leaf_values(self, y_true, raw_score, output, leaf_index, *, learning_rate, sample_weight=None,
                            n_leaves=None, method="lightgbm"):
        """Renewed leaf values of the new tree of raw output ``output`` (0-based).

        ``learning_rate * quantile_{alphas[output]}(y - r_output)`` per leaf, the renewal of
        :class:`~gbm_objectives.QuantileLoss` (:func:`gbm_objectives.objectives.quantile.renewed_leaf_values`) on
        that raw output. Whatever the values, the link keeps the quantiles in order.

        Returns
        -------
        ndarray of shape (n_leaves,)
            NaN for a leaf no row reaches.
        """
        y = check_1d(y_true, "y_true")
        raw = self._as_2d(check_raw_score(raw_score, len(y), self.n_classes))
        return renewed_leaf_values(y, raw[:, output], leaf_index, self.alphas[output], learning_rate=learning_rate,
                                   sample_weight=sample_weight, n_leaves=n_leaves, method=check_method(method))
