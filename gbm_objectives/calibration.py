"""Probability calibration for binary models, and the metrics that show whether it is needed.

Focal loss and class weights move predicted probabilities away from observed frequencies (focal loss pushes them
towards 0.5, ``pos_weight`` inflates them); ranking metrics do not notice, anything that uses the probability as a
probability does. :func:`calibrate` fits a monotone map from the model's score to a calibrated probability on
held-out data:

* ``method="platt"``: a logistic regression on the **raw score** (the logit the trees add up),
  ``p = sigmoid(a * raw_score + b)``, fitted as in Platt (1999) and scikit-learn's ``method="sigmoid"``;
* ``method="isotonic"``: an isotonic (non-decreasing, piecewise-constant) regression of the label on the
  **probability** ``sigmoid(raw_score)``, interpolated linearly and clipped outside the calibration range.

The model can be a :class:`gbm_objectives.GBMClassifier` (anything with ``decision_function``), any binary classifier
with only ``predict_proba``, or a plain callable returning raw scores, e.g. for a LightGBM or XGBoost booster trained
with an objective of this package (remember the init score the engine does not add back)::

    cal = go.calibrate(lambda X: booster.predict(X, raw_score=True) + init, X_cal, y_cal, method="platt")
    cal.predict_proba(X_test)[:, 1]

Or fit on scores you already have with :func:`calibrate_scores`.

>>> import numpy as np
>>> y = np.array([0, 0, 1, 1]); p = np.array([0.1, 0.4, 0.35, 0.8])
>>> round(brier_score(y, p), 12)                  # (0.01 + 0.16 + 0.4225 + 0.04) / 4
0.158125
>>> round(expected_calibration_error(y, p, n_bins=2), 6)   # [0, .5]: |1/3 - 0.85/3| * 3/4; (.5, 1]: |1 - .8| / 4
0.0875
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy import special

from ._core.validation import (
    check_1d,
    check_binary_labels,
    check_consistent_length,
    check_positive_int,
    check_sample_weight,
)

__all__ = [
    "calibrate",
    "calibrate_scores",
    "CalibratedModel",
    "PlattCalibrator",
    "IsotonicCalibrator",
    "CALIBRATION_METHODS",
    "expected_calibration_error",
    "brier_score",
    "log_loss_score",
    "reliability_diagram",
]

_LOG_EPS = 1e-15


# =====================================================================================================
# Validation helpers
# =====================================================================================================
def _check_labels(y_true, name="y_true", *, two_classes=False):
    y = check_binary_labels(y_true, name)
    if two_classes and (y.min() == y.max() if len(y) else True):
        only = "no rows" if len(y) == 0 else f"only class {int(y[0])}"
        raise ValueError(f"{name} must contain both classes 0 and 1 to calibrate; got {only}")
    return y


def _check_proba(proba, n, name="proba"):
    p = check_1d(proba, name)
    check_consistent_length(n, **{name: p})
    bad = (p < 0) | (p > 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must be probabilities in [0, 1]; got {p[i]!r} at index {i}")
    return p


# =====================================================================================================
# Metrics
# =====================================================================================================
def _bin_edges(p, n_bins, strategy):
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, n_bins + 1)
    if strategy == "quantile":
        return np.percentile(p, np.linspace(0.0, 1.0, n_bins + 1) * 100)  # as calibration_curve, to the last bit
    raise ValueError(f"strategy must be 'uniform' or 'quantile'; got {strategy!r}")


def _bins(y_true, proba, n_bins, strategy, sample_weight):
    if isinstance(n_bins, bool) or not isinstance(n_bins, numbers.Integral):
        raise TypeError(f"n_bins must be an integer; got {n_bins!r}")
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1; got {n_bins!r}")
    y = _check_labels(y_true)
    p = _check_proba(proba, len(y))
    w = check_sample_weight(sample_weight, len(y))
    w = np.ones(len(y)) if w is None else w
    edges = _bin_edges(p, int(n_bins), strategy)
    ids = np.searchsorted(edges[1:-1], p, side="left")  # a probability on an edge goes to the lower bin
    weight = np.bincount(ids, weights=w, minlength=n_bins)
    sum_p = np.bincount(ids, weights=w * p, minlength=n_bins)
    sum_y = np.bincount(ids, weights=w * y, minlength=n_bins)
    return weight, sum_p, sum_y


def expected_calibration_error(y_true, proba, n_bins=15, strategy="uniform", *, sample_weight=None):
    r"""Expected calibration error: the bin-weighted gap between mean prediction and observed frequency.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0/1 labels.
    proba : array-like of shape (n_samples,)
        Predicted probability of class 1, in [0, 1].
    n_bins : int >= 1, default 15
    strategy : {"uniform", "quantile"}, default "uniform"
        "uniform": equal-width bins on [0, 1]; "quantile": edges at the quantiles of ``proba`` (equal counts).
        A probability equal to an inner edge falls in the lower bin (as ``sklearn.calibration.calibration_curve``).
    sample_weight : array-like of shape (n_samples,), optional

    Returns
    -------
    float

    Notes
    -----
    With bins :math:`B_b`, :math:`W_b` their weight and :math:`W` the total::

        ECE = sum_b (W_b / W) |mean_{B_b}(y) - mean_{B_b}(p)|

    Empty bins contribute nothing.

    Raises
    ------
    ValueError
        If ``n_bins < 1``, ``proba`` is outside [0, 1], labels are not 0/1, or the lengths differ.
    """
    weight, sum_p, sum_y = _bins(y_true, proba, n_bins, strategy, sample_weight)
    total = weight.sum()
    return float(np.sum(np.abs(sum_y - sum_p)) / total) if total > 0 else 0.0


def brier_score(y_true, proba, *, sample_weight=None):
    """Brier score, the (weighted) mean of ``(proba - y_true)^2``; lower is better.

    >>> round(brier_score([0, 1], [0.2, 0.6]), 12)   # (0.04 + 0.16) / 2
    0.1
    """
    y = _check_labels(y_true)
    p = _check_proba(proba, len(y))
    w = check_sample_weight(sample_weight, len(y))
    return float(np.average((p - y) ** 2, weights=w))


def log_loss_score(y_true, proba, *, sample_weight=None, eps=_LOG_EPS):
    """Binary log loss ``-mean(y log p + (1 - y) log(1 - p))``, with ``p`` clipped to ``[eps, 1 - eps]``.

    Lower is better (the name follows the package's ``*_score`` convention for metric functions).

    >>> round(log_loss_score([0, 1], [0.5, 0.5]), 6)   # log 2
    0.693147
    """
    y = _check_labels(y_true)
    p = np.clip(_check_proba(proba, len(y)), eps, 1 - eps)
    w = check_sample_weight(sample_weight, len(y))
    return float(np.average(-(y * np.log(p) + (1 - y) * np.log1p(-p)), weights=w))


def reliability_diagram(y_true, proba, ax=None, *, n_bins=10, strategy="uniform", label=None):
    """Plot observed frequency against mean predicted probability per bin (needs the "plot" extra, matplotlib).

    Returns the matplotlib ``Axes``; the diagonal is perfect calibration. The legend label carries the ECE.
    """
    weight, sum_p, sum_y = _bins(y_true, proba, n_bins, strategy, None)
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("reliability_diagram needs matplotlib: pip install 'gbm_objectives[plot]'") from exc
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    filled = weight > 0
    ece = float(np.sum(np.abs(sum_y - sum_p)) / weight.sum())
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    ax.plot(sum_p[filled] / weight[filled], sum_y[filled] / weight[filled], marker="o",
            label=f"{label + ', ' if label else ''}ECE={ece:.3f}")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed frequency")
    ax.legend(loc="upper left")
    return ax


# =====================================================================================================
# Calibrators (act on raw scores)
# =====================================================================================================
class PlattCalibrator:
    r"""Platt scaling on the raw score: ``p = sigmoid(a * raw_score + b)``.

    Notes
    -----
    Fitted by Newton's method on the weighted log loss with Platt's regularised targets (as scikit-learn's
    ``method="sigmoid"``): with :math:`N_+`, :math:`N_-` the (weighted) class counts, the target is
    :math:`(N_+ + 1)/(N_+ + 2)` for positives and :math:`1/(N_- + 2)` for negatives, which keeps ``a`` and ``b``
    finite on separable data.

    References
    ----------
    J. Platt, "Probabilistic outputs for support vector machines and comparisons to regularized likelihood
    methods", Advances in Large Margin Classifiers, 1999.
    """

    method = "platt"

    def fit(self, raw_score, y_true, sample_weight=None):
        y = _check_labels(y_true, two_classes=True)
        f = check_1d(raw_score, "raw_score")
        check_consistent_length(len(y), raw_score=f)
        w = check_sample_weight(sample_weight, len(y))
        w = np.ones(len(y)) if w is None else w
        n_pos, n_neg = float(np.sum(w * y)), float(np.sum(w * (1 - y)))
        t = np.where(y > 0, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))
        scale = max(1.0, float(np.max(np.abs(f))))  # conditioning only; undone below
        fs = f / scale
        ab = np.array([0.0, np.log((n_pos + 1.0) / (n_neg + 1.0))])
        design = np.column_stack([fs, np.ones_like(fs)])

        def objective(v):
            z = design @ v
            return float(np.sum(w * (np.logaddexp(0.0, z) - t * z)))

        for _ in range(100):
            z = design @ ab
            p = special.expit(z)
            grad = design.T @ (w * (p - t))
            hess = (design * (w * p * (1 - p))[:, None]).T @ design + 1e-12 * np.eye(2)
            step = np.linalg.solve(hess, grad)
            current, k = objective(ab), 0
            while objective(ab - step) > current + 1e-12 * abs(current) and k < 50:  # backtracking
                step *= 0.5
                k += 1
            ab = ab - step
            if np.max(np.abs(step)) < 1e-12 * (1 + np.max(np.abs(ab))):
                break
        self.a_, self.b_ = float(ab[0] / scale), float(ab[1])
        return self

    def transform(self, raw_score):
        """Calibrated probability of class 1."""
        return special.expit(self.a_ * check_1d(raw_score, "raw_score") + self.b_)

    def __repr__(self):
        fitted = f"a={self.a_:.6g}, b={self.b_:.6g}" if hasattr(self, "a_") else ""
        return f"PlattCalibrator({fitted})"


class IsotonicCalibrator:
    """Isotonic regression of the label on the probability ``sigmoid(raw_score)``.

    Uses scikit-learn's ``IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1)``: non-decreasing,
    interpolated linearly between calibration points and constant beyond them.
    """

    method = "isotonic"

    def fit(self, raw_score, y_true, sample_weight=None):
        from sklearn.isotonic import IsotonicRegression

        y = _check_labels(y_true, two_classes=True)
        f = check_1d(raw_score, "raw_score")
        check_consistent_length(len(y), raw_score=f)
        w = check_sample_weight(sample_weight, len(y))
        self.isotonic_ = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        self.isotonic_.fit(special.expit(f), y, sample_weight=w)
        return self

    def transform(self, raw_score):
        """Calibrated probability of class 1."""
        return np.clip(self.isotonic_.predict(special.expit(check_1d(raw_score, "raw_score"))), 0.0, 1.0)

    def __repr__(self):
        return "IsotonicCalibrator()"


CALIBRATION_METHODS = {"platt": PlattCalibrator, "isotonic": IsotonicCalibrator}


def calibrate_scores(raw_score, y_true, method="platt", *, sample_weight=None):
    """Fit a calibrator on held-out raw scores (logits) and labels; ``cal.transform(raw_score)`` gives probabilities.

    >>> cal = calibrate_scores(np.array([-2.0, -1.0, 1.0, 2.0, 0.5, -0.5]), np.array([0, 0, 1, 1, 0, 1]))
    >>> bool(cal.transform(np.array([3.0]))[0] > 0.5)
    True
    """
    if method not in CALIBRATION_METHODS:
        raise ValueError(f"method must be one of {sorted(CALIBRATION_METHODS)}; got {method!r}")
    return CALIBRATION_METHODS[method]().fit(raw_score, y_true, sample_weight=sample_weight)


# =====================================================================================================
# Calibrated model
# =====================================================================================================
class _DecisionScore:
    """``X -> model.decision_function(X)``, 1-D (a module-level class, so a calibrated model pickles)."""

    def __init__(self, model):
        self.model = model

    def __call__(self, X):
        s = np.asarray(self.model.decision_function(X), dtype=np.float64)
        if s.ndim != 1:
            raise ValueError(f"calibrate supports binary models only; decision_function gave shape {s.shape}")
        return s


class _ProbaLogit:
    """``X -> logit(model.predict_proba(X)[:, 1])``, the probability clipped to [1e-15, 1 - 1e-15]."""

    def __init__(self, model):
        self.model = model

    def __call__(self, X):
        p = np.asarray(self.model.predict_proba(X), dtype=np.float64)
        if p.ndim != 2 or p.shape[1] != 2:
            raise ValueError(f"calibrate supports binary models only; predict_proba gave shape {p.shape}")
        p1 = np.clip(p[:, 1], _LOG_EPS, 1 - _LOG_EPS)
        return np.log(p1) - np.log1p(-p1)


class _CallableScore:
    """``X -> model(X)`` as a 1-D float64 array."""

    def __init__(self, model):
        self.model = model

    def __call__(self, X):
        return np.asarray(self.model(X), dtype=np.float64).reshape(-1)


def _raw_score_function(model):
    """A function ``X -> raw score`` of the positive class for the supported model kinds."""
    if hasattr(model, "decision_function"):
        return _DecisionScore(model)
    if hasattr(model, "predict_proba"):
        return _ProbaLogit(model)
    if callable(model):
        return _CallableScore(model)
    raise TypeError(
        "model must have decision_function or predict_proba, or be a callable X -> raw score; "
        f"got {type(model).__name__}"
    )


class CalibratedModel:
    """A binary model followed by a fitted calibrator; made by :func:`calibrate`.

    Attributes
    ----------
    model : the wrapped model (estimator or callable)
    calibrator_ : PlattCalibrator or IsotonicCalibrator
    classes_ : ndarray of shape (2,)
        The model's ``classes_`` when it has them, else ``[0, 1]``.
    """

    def __init__(self, model, calibrator, classes):
        self.model = model
        self.calibrator_ = calibrator
        self.classes_ = classes
        self._raw = _raw_score_function(model)

    def decision_function(self, X):
        """The wrapped model's raw score (uncalibrated)."""
        return self._raw(X)

    def predict_proba(self, X):
        """Calibrated probabilities, shape (n_samples, 2)."""
        p = self.calibrator_.transform(self._raw(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X):
        return self.classes_[(self.predict_proba(X)[:, 1] > 0.5).astype(int)]

    def __repr__(self):
        return f"CalibratedModel({self.model!r}, {self.calibrator_!r})"


def calibrate(model, X_cal, y_cal, method="platt", *, sample_weight=None):
    """Calibrate a fitted binary model on held-out data.

    Parameters
    ----------
    model : GBMClassifier, binary classifier, or callable
        Anything with ``decision_function`` (raw score; preferred), else ``predict_proba`` (its logit is used), or a
        callable ``X -> raw score`` (e.g. ``lambda X: booster.predict(X, raw_score=True) + init``).
    X_cal : array-like
        Calibration features; must not have been used to train ``model``.
    y_cal : array-like of shape (n_samples,)
        Labels: the model's ``classes_`` if it has them, else 0/1.
    method : {"platt", "isotonic"}, default "platt"
        Platt scaling on the raw score, or isotonic regression on the probability.
    sample_weight : array-like, optional

    Returns
    -------
    CalibratedModel
        With ``predict_proba``, ``predict`` and ``decision_function``.

    Raises
    ------
    ValueError
        If ``y_cal`` holds a single class, a label outside the model's classes, or ``method`` is unknown.
    """
    if method not in CALIBRATION_METHODS:
        raise ValueError(f"method must be one of {sorted(CALIBRATION_METHODS)}; got {method!r}")
    raw_fn = _raw_score_function(model)
    classes = getattr(model, "classes_", None)
    y_arr = np.asarray(y_cal.to_numpy() if hasattr(y_cal, "to_numpy") else y_cal)
    if classes is not None:
        classes = np.asarray(classes)
        if len(classes) != 2:
            raise ValueError(f"calibrate supports binary models only; model has {len(classes)} classes")
        known = np.isin(y_arr, classes)
        if not known.all():
            i = int(np.flatnonzero(~known)[0])
            raise ValueError(f"y_cal has label {y_arr[i]!r} at index {i}, not one of the model's classes {classes}")
        y01 = (y_arr == classes[1]).astype(np.float64)
    else:
        classes = np.array([0, 1])
        y01 = y_arr
    try:
        y01 = _check_labels(y01, "y_cal", two_classes=True)
    except TypeError as exc:
        raise TypeError(f"y_cal must be numeric 0/1 labels for a model without classes_; {exc}") from None
    raw = raw_fn(X_cal)
    check_consistent_length(len(y01), raw_score=raw)
    calibrator = calibrate_scores(raw, y01, method, sample_weight=sample_weight)
    return CalibratedModel(model, calibrator, classes)
