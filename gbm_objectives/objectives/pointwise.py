"""The pointwise objectives: binary (log loss, weighted cross-entropy, focal), regression (squared error, Huber,
quantile) and multiclass (softmax cross-entropy, softmax focal), each a small :class:`~.base.Objective` whose
closed-form gradient and hessian run in the compiled kernels of :mod:`._pointwise_kernels`.

>>> import numpy as np
>>> import gbm_objectives as go
>>> obj = go.FocalLoss(alpha=None, gamma=0.0)          # gamma = 0 and no alpha: plain log loss
>>> grad, hess = obj.grad_hess(np.array([0.0, 1.0]), np.array([0.0, 0.0]))
>>> grad, hess
(array([ 0.5, -0.5]), array([0.25, 0.25]))
>>> float(go.LogLoss().init_score(np.array([0, 0, 0, 1])))   # logit(1/4)
-1.0986122886681098
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special

from .._core.validation import (
    check_1d,
    check_binary_labels,
    check_class_labels,
    check_interval,
    check_positive_int,
    frozen_copy,
)
from . import _pointwise_kernels as K
from .base import NO_WEIGHT, Objective, Prepared
from .quantile import weighted_quantile

__all__ = [
    "LogLoss",
    "WeightedCrossEntropy",
    "FocalLoss",
    "SquaredError",
    "HuberLoss",
    "QuantileLoss",
    "SoftmaxCrossEntropy",
    "SoftmaxFocalLoss",
]

_P_EPS = 1e-15  # LightGBM's kEpsilon: probabilities of the constant fit are kept in [eps, 1 - eps]


# =====================================================================================================
# Binary classification
# =====================================================================================================
class _Binary(Objective):
    task = "binary"

    def _check_y(self, y_true):
        return check_binary_labels(y_true)

    def transform(self, raw_score):
        """Probability of the positive class, ``sigmoid(raw_score)``."""
        return special.expit(np.asarray(raw_score, dtype=np.float64))

    def inverse_transform(self, prediction):
        """log(p / (1 - p)), with p clipped to [1e-15, 1 - 1e-15]."""
        p = np.clip(np.asarray(prediction, dtype=np.float64), _P_EPS, 1.0 - _P_EPS)
        return np.log(p) - np.log1p(-p)


def _log_sigmoid(z):
    return -np.logaddexp(0.0, -z)


class LogLoss(_Binary):
    r"""Binary cross-entropy on the logit; the engines' ``binary`` / ``binary:logistic``.

    For a label :math:`y \in \{0, 1\}` and raw score :math:`z`, with :math:`p = \sigma(z)`::

        loss = log(1 + exp(z)) - y z
        grad = p - y
        hess = p (1 - p)              (floored at 1e-16, as XGBoost does)

    The best constant is :math:`\operatorname{logit}(\bar y_w)`, the weighted mean label (LightGBM's
    ``boost_from_average``).
    """

    name = "logloss"

    def __init__(self):
        pass

    def _kernel(self, prepared, raw, w, grad_out, hess_out):
        K.weighted_logistic_kernel(prepared.y, raw, w, 1.0, grad_out, hess_out)

    def _pointwise_loss(self, y, raw):
        return np.logaddexp(0.0, raw) - y * raw

    def _init_score(self, y, w):
        p = np.clip(np.average(y, weights=w), _P_EPS, 1 - _P_EPS)
        return float(np.log(p / (1 - p)))


class WeightedCrossEntropy(_Binary):
    r"""Cross-entropy with positives weighted by ``pos_weight``; the engines' ``scale_pos_weight``.

    Parameters
    ----------
    pos_weight : float > 0, default 1.0
        Weight of the positive class; ``n_negative / n_positive`` balances the classes.

    Notes
    -----
    With :math:`c = w_+` for :math:`y = 1` and :math:`c = 1` for :math:`y = 0`::

        loss = -(w_+ y log p + (1 - y) log(1 - p))
        grad = c (p - y)
        hess = c p (1 - p)

    The best constant is :math:`\operatorname{logit}(w_+ S_1 / (w_+ S_1 + S_0))` with :math:`S_c` the weight of
    class c. (LightGBM's ``boost_from_average`` ignores ``scale_pos_weight`` and uses the plain mean; pass that
    value as init score to reproduce it.)
    """

    name = "weighted_ce"

    def __init__(self, pos_weight=1.0):
        self.pos_weight = check_interval(pos_weight, "pos_weight", 0, None)

    def _kernel(self, prepared, raw, w, grad_out, hess_out):
        K.weighted_logistic_kernel(prepared.y, raw, w, self.pos_weight, grad_out, hess_out)

    def _pointwise_loss(self, y, raw):
        return self.pos_weight * y * np.logaddexp(0.0, -raw) + (1 - y) * np.logaddexp(0.0, raw)

    def _init_score(self, y, w):
        s1 = self.pos_weight * np.sum(y if w is None else y * w)
        s0 = np.sum((1 - y) if w is None else (1 - y) * w)
        p = np.clip(s1 / (s1 + s0), _P_EPS, 1 - _P_EPS)
        return float(np.log(p / (1 - p)))


class FocalLoss(_Binary):
    r"""Binary focal loss (Lin et al., 2017) on the logit.

    Parameters
    ----------
    alpha : float in (0, 1) or None, default 0.25
        Weight of the positive class; negatives get ``1 - alpha``. ``None`` means no class weighting.
    gamma : float >= 0, default 2.0
        Focusing parameter; ``gamma = 0`` with ``alpha=None`` is :class:`LogLoss` exactly.
    hessian : {"positive", "exact"}, default "positive"
        ``"exact"`` returns the true second derivative, which is negative for confidently wrong rows
        (:math:`z_t \lesssim -2.4` at ``gamma=2``). ``"positive"`` (the default, for training) returns
        ``max(exact, alpha_t (1 - q)^gamma q (1 - q), 1e-16)``: never below the Gauss-Newton term of the
        modulated cross-entropy, so leaf values stay on the log-loss scale instead of exploding.

    Notes
    -----
    With :math:`s = 2y - 1`, :math:`z_t = s z`, :math:`q = \sigma(z_t)` (the probability of the true class),
    :math:`\alpha_t = \alpha` for positives and :math:`1 - \alpha` for negatives::

        loss = -alpha_t (1 - q)^gamma log q
        h    = gamma q log q - (1 - q)
        grad = s alpha_t (1 - q)^gamma h
        hess = alpha_t (1 - q)^gamma [q (1 - q)(gamma log q + gamma + 1) - gamma q h]

    ``log q`` and ``log(1 - q)`` come from one ``exp(-|z|)`` (log-sigmoid form), so raw scores up to
    :math:`|z| = 10^4` give finite values. The best constant has no closed form and is solved numerically.

    References
    ----------
    T.-Y. Lin, P. Goyal, R. Girshick, K. He, P. Dollár, "Focal Loss for Dense Object Detection", ICCV 2017.
    """

    name = "focal"
    search_space = {"alpha": ("float", 0.05, 0.95, False), "gamma": ("float", 0.0, 5.0, False)}

    def __init__(self, alpha=0.25, gamma=2.0, hessian="positive"):
        self.alpha = check_interval(alpha, "alpha", 0, 1, allow_none=True)
        self.gamma = check_interval(gamma, "gamma", 0, None, closed="left")
        if hessian not in ("positive", "exact"):
            raise ValueError(f"hessian must be 'positive' or 'exact'; got {hessian!r}")
        self.hessian = hessian
        self.approx_hessian = hessian == "positive" and self.gamma > 0

    def _alphas(self):
        return (1.0, 1.0) if self.alpha is None else (self.alpha, 1.0 - self.alpha)

    def _kernel(self, prepared, raw, w, grad_out, hess_out):
        a_pos, a_neg = self._alphas()
        kernel = K.focal_square_kernel if self.gamma == 2.0 else K.focal_kernel
        kernel(prepared.y, raw, w, a_pos, a_neg, self.gamma, self.hessian == "positive", grad_out, hess_out)

    def _pointwise_loss(self, y, raw):
        a_pos, a_neg = self._alphas()
        zt = np.where(y > 0.5, raw, -raw)
        log_q = _log_sigmoid(zt)
        log_omq = _log_sigmoid(-zt)
        alpha_t = np.where(y > 0.5, a_pos, a_neg)
        return -alpha_t * np.exp(self.gamma * log_omq) * log_q


# =====================================================================================================
# Regression
# =====================================================================================================
class _Regression(Objective):
    task = "regression"


class SquaredError(_Regression):
    r"""Half squared error; the engines' ``regression`` / ``reg:squarederror``.

    ::

        loss = (z - y)^2 / 2,   grad = z - y,   hess = 1

    The best constant is the weighted mean of ``y``.
    """

    name = "squared_error"
    constant_hessian = True

    def __init__(self):
        pass

    def _kernel(self, prepared, raw, w, grad_out, hess_out):
        K.squared_error_kernel(prepared.y, raw, w, grad_out, hess_out)

    def _pointwise_loss(self, y, raw):
        return 0.5 * (raw - y) ** 2

    def _init_score(self, y, w):
        return float(np.average(y, weights=w))


class HuberLoss(_Regression):
    r"""Huber loss; LightGBM's ``huber`` with ``alpha=delta``.

    Parameters
    ----------
    delta : float > 0, default 1.0
        Residuals beyond ``delta`` are penalised linearly.

    Notes
    -----
    With :math:`d = z - y`::

        loss = d^2 / 2                  if |d| <= delta
               delta (|d| - delta / 2)  otherwise
        grad = clip(d, -delta, delta)
        hess = 1                        (approximation, as LightGBM: the exact value is 0 for |d| > delta)

    The best constant is the Huber M-estimate of location (solved numerically); LightGBM's built-in starts from
    the mean instead, so pass the mean as init score to reproduce it exactly.
    """

    name = "huber"
    search_space = {"delta": ("float", 0.05, 20.0, True)}
    approx_hessian = True
    constant_hessian = True

    def __init__(self, delta=1.0):
        self.delta = check_interval(delta, "delta", 0, None)

    def _kernel(self, prepared, raw, w, grad_out, hess_out):
        K.huber_kernel(prepared.y, raw, w, self.delta, grad_out, hess_out)

    def _pointwise_loss(self, y, raw):
        d = np.abs(raw - y)
        return np.where(d <= self.delta, 0.5 * d * d, self.delta * (d - 0.5 * self.delta))


class QuantileLoss(_Regression):
    r"""Pinball (quantile) loss; LightGBM's ``quantile`` gradient with the same ``alpha``.

    Parameters
    ----------
    alpha : float in (0, 1), default 0.5
        The quantile level.

    Notes
    -----
    With :math:`u = y - z`::

        loss = alpha u          if u >= 0
               (alpha - 1) u    otherwise
        grad = 1 - alpha if z - y >= 0 else -alpha     (LightGBM's convention at the kink)
        hess = 1                                       (approximation: the exact value is 0)

    The best constant is the weighted ``alpha``-quantile of ``y`` (the smallest ``y`` whose cumulative weight
    reaches ``alpha``). A plain (grad, hess) callback cannot re-fit leaf values to residual quantiles as
    LightGBM's built-in does; see ``quantile_leaf_renewal`` for that.
    """

    name = "quantile"
    approx_hessian = True
    constant_hessian = True

    def __init__(self, alpha=0.5):
        self.alpha = check_interval(alpha, "alpha", 0, 1)

    def _kernel(self, prepared, raw, w, grad_out, hess_out):
        K.quantile_kernel(prepared.y, raw, w, self.alpha, grad_out, hess_out)

    def _pointwise_loss(self, y, raw):
        u = y - raw
        return np.where(u >= 0, self.alpha * u, (self.alpha - 1) * u)

    def _init_score(self, y, w):
        return weighted_quantile(y, self.alpha, sample_weight=w, method="lower")


# =====================================================================================================
# Multiclass
# =====================================================================================================
class _Multiclass(Objective):
    task = "multiclass"

    def _check_y(self, y_true):
        return check_class_labels(y_true, self.n_classes)

    def _check_hessian_scale(self, hessian_scale):
        if hessian_scale == "lightgbm":
            return self.n_classes / (self.n_classes - 1.0)
        if hessian_scale == "xgboost":
            return 2.0
        return check_interval(hessian_scale, "hessian_scale", 0, None)

    def transform(self, raw_score):
        """Class probabilities, ``softmax(raw_score, axis=1)``."""
        return special.softmax(np.asarray(raw_score, dtype=np.float64), axis=1)

    def inverse_transform(self, prediction):
        """log p per class (softmax logits up to a per-row constant), with p floored at 1e-300."""
        return np.log(np.clip(np.asarray(prediction, dtype=np.float64), 1e-300, None))

    def _log_proba_true(self, y, raw):
        return raw[np.arange(len(y)), y] - special.logsumexp(raw, axis=1)

    def _init_score(self, y, w):
        counts = np.bincount(y, weights=w, minlength=self.n_classes).astype(np.float64)
        log_prior = np.log(np.maximum(counts / counts.sum(), _P_EPS))
        return log_prior - log_prior.mean()


class SoftmaxCrossEntropy(_Multiclass):
    r"""Multiclass cross-entropy on softmax logits; the engines' ``multiclass`` / ``multi:softprob``.

    Parameters
    ----------
    n_classes : int >= 2
    hessian_scale : float > 0 or {"lightgbm", "xgboost"}, default 1.0
        Multiplies the diagonal hessian. The exact diagonal is :math:`p_j(1 - p_j)` (1.0). LightGBM uses
        ``n_classes / (n_classes - 1)`` ("lightgbm") and XGBoost 2 ("xgboost"); set it to reproduce them.

    Notes
    -----
    For class label :math:`y` and logits :math:`z \in R^k`, :math:`p = \operatorname{softmax}(z)`::

        loss   = -log p_y
        grad_j = p_j - [y = j]
        hess_j = hessian_scale * p_j (1 - p_j)     (diagonal of the Hessian)

    Returns arrays of shape (n_samples, n_classes). The best constant is the centred log of the weighted class
    frequencies.
    """

    name = "softmax"

    def __init__(self, n_classes, hessian_scale=1.0):
        self.n_classes = check_positive_int(n_classes, "n_classes", minimum=2)
        self.hessian_scale = hessian_scale
        self._scale = self._check_hessian_scale(hessian_scale)
        self.approx_hessian = self._scale != 1.0

    def _kernel(self, prepared, raw, w, grad_out, hess_out):
        K.softmax_kernel(prepared.y, raw, w, self._scale, grad_out, hess_out)

    def _pointwise_loss(self, y, raw):
        return -self._log_proba_true(y, raw)


class SoftmaxFocalLoss(_Multiclass):
    r"""Multiclass focal loss on softmax logits.

    Parameters
    ----------
    n_classes : int >= 2
    gamma : float >= 0, default 2.0
    alpha : array-like of shape (n_classes,) or None, default None
        Per-class weights; None means no class weighting.
    hessian : {"positive", "exact"}, default "positive"
        As in :class:`FocalLoss`: "positive" floors the diagonal at the Gauss-Newton term
        :math:`\alpha_y (1 - q)^\gamma p_j (1 - p_j)`.
    hessian_scale : float > 0 or {"lightgbm", "xgboost"}, default 1.0

    Notes
    -----
    With :math:`q = p_y`, :math:`A(q) = \alpha_y (1 - q)^\gamma (\gamma q \log q / (1 - q) - 1)`::

        loss   = -alpha_y (1 - q)^gamma log q
        grad_j = A(q) ([y = j] - p_j)
        hess_j = q A'(q) ([y = j] - p_j)^2 - A(q) p_j (1 - p_j)

    ``gamma = 0`` and ``alpha=None`` is :class:`SoftmaxCrossEntropy`.
    """

    name = "softmax_focal"

    def __init__(self, n_classes, gamma=2.0, alpha=None, hessian="positive", hessian_scale=1.0):
        self.n_classes = check_positive_int(n_classes, "n_classes", minimum=2)
        self.gamma = check_interval(gamma, "gamma", 0, None, closed="left")
        if alpha is not None:
            a = frozen_copy(check_1d(alpha, "alpha") if np.ndim(alpha) == 1 else np.asarray(alpha, dtype=np.float64))
            if a.shape != (self.n_classes,):
                raise ValueError(f"alpha must have shape ({self.n_classes},); got shape {a.shape}")
            if not (np.isfinite(a).all() and (a > 0).all()):
                raise ValueError(f"alpha must be finite and positive; got {a.tolist()!r}")
        if hessian not in ("positive", "exact"):
            raise ValueError(f"hessian must be 'positive' or 'exact'; got {hessian!r}")
        self.alpha = None if alpha is None else a  # a read-only copy: later edits of the caller's array cannot reach it
        self._alpha = NO_WEIGHT if alpha is None else a
        self.hessian = hessian
        self.hessian_scale = hessian_scale
        self._scale = self._check_hessian_scale(hessian_scale)
        self.approx_hessian = (hessian == "positive" and self.gamma > 0) or self._scale != 1.0

    def _kernel(self, prepared, raw, w, grad_out, hess_out):
        K.softmax_focal_kernel(
            prepared.y, raw, w, self._alpha, self.gamma, self._scale, self.hessian == "positive", grad_out, hess_out
        )

    def _pointwise_loss(self, y, raw):
        rows = np.arange(len(y))
        lse = special.logsumexp(raw, axis=1)
        log_q = raw[rows, y] - lse
        others = raw.copy()
        others[rows, y] = -np.inf
        log_omq = special.logsumexp(others, axis=1) - lse  # log(1 - q), precise when q -> 1
        a = 1.0 if self.alpha is None else self._alpha[y]
        return -a * np.exp(self.gamma * log_omq) * log_q

    def _init_score(self, y, w):
        counts = np.bincount(y, weights=w, minlength=self.n_classes).astype(np.float64)
        classes = np.flatnonzero(counts > 0)
        prepared = Prepared(classes.astype(np.int64), counts[classes])
        start = SoftmaxCrossEntropy._init_score(self, y, w)

        def fun(c):
            raw = np.broadcast_to(c, (len(classes), self.n_classes))
            g, _ = self.grad_hess_prepared(prepared, np.ascontiguousarray(raw))
            return float(np.dot(counts[classes], self._pointwise_loss(classes, raw))), g.sum(axis=0)

        res = optimize.minimize(fun, start, jac=True, method="BFGS", options={"gtol": 1e-10, "maxiter": 1000})
        return res.x - res.x.mean()

