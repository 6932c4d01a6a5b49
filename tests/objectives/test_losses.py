"""The objective core, tested over the registry (one test per property, parametrized over every objective)."""

import numpy as np
import pytest
from scipy import special

import gbm_objectives as go
from gbm_objectives.objectives import OBJECTIVES

LOSS_INSTANCES = [
    go.FocalLoss(alpha=0.25, gamma=2.0, hessian="exact"),
    go.FocalLoss(alpha=None, gamma=0.5, hessian="exact"),
    go.FocalLoss(alpha=0.75, gamma=1.0, hessian="exact"),
    go.FocalLoss(alpha=0.25, gamma=3.7, hessian="exact"),
    go.FocalLoss(),
    go.WeightedCrossEntropy(pos_weight=1.0),
    go.WeightedCrossEntropy(pos_weight=7.5),
    go.HuberLoss(delta=1.0),
    go.HuberLoss(delta=0.3),
    go.QuantileLoss(alpha=0.5),
    go.QuantileLoss(alpha=0.9),
    go.LogLoss(),
    go.SquaredError(),
    go.SoftmaxCrossEntropy(n_classes=3),
    go.SoftmaxCrossEntropy(n_classes=4, hessian_scale="lightgbm"),
    go.SoftmaxFocalLoss(n_classes=3, gamma=2.0, hessian="exact"),
    go.SoftmaxFocalLoss(n_classes=4, gamma=0.5, alpha=[0.5, 1.0, 2.0, 0.25], hessian="exact"),
    go.SoftmaxFocalLoss(n_classes=3),
    go.MultiQuantileLoss(alphas=(0.1, 0.5, 0.9), scale=0.05),
    go.MultiQuantileLoss(alphas=(0.05, 0.3, 0.35, 0.99), scale=0.005),
    go.MultiQuantileLoss(alphas=(0.7,)),
]


def loss_instance_name(obj):
    return repr(obj).replace(" ", "")


def random_y_true_raw_score(obj, n, seed=0):
    """Labels and raw scores inside each objective's domain."""
    rng = np.random.default_rng(seed)
    if obj.task == "binary":
        return rng.integers(0, 2, n).astype(float), rng.uniform(-5, 5, n)
    if obj.task == "multiclass":
        return rng.integers(0, obj.n_classes, n).astype(float), rng.normal(0, 2, (n, obj.n_classes))
    if obj.n_classes:  # multi_quantile: K raw outputs, in random order (crossing) but at least 0.05 apart (the
        # link sorts them: its kinks are at ties, which a finite-difference stencil must not straddle)
        steps = rng.uniform(0.05, 2.0, (n, obj.n_classes))
        raw = rng.normal(0, 3, (n, 1)) + np.cumsum(steps, axis=1) - steps.sum(axis=1, keepdims=True) / 2
        return rng.normal(0, 3, n), rng.permuted(raw, axis=1)
    return rng.normal(0, 3, n), rng.normal(0, 3, n)


def _row_loss(obj, y, raw, i, j=None, shift=0.0):
    r = raw[i : i + 1].copy()
    if j is None:
        r[0] += shift
    else:
        r[0, j] += shift
    return obj.loss(y[i : i + 1], r)


def _fd4(f, eps):
    """4th-order central difference of f at 0."""
    return (-f(2 * eps) + 8 * f(eps) - 8 * f(-eps) + f(-2 * eps)) / (12 * eps)


def test_registry_is_covered():
    covered = {type(o).name for o in LOSS_INSTANCES}
    pointwise = {name for name, cls in OBJECTIVES.items() if cls.task != "ranking"}
    assert pointwise <= covered, f"add instances for {pointwise - covered} to LOSS_INSTANCES"


@pytest.mark.parametrize("obj", LOSS_INSTANCES, ids=loss_instance_name)
def test_gradient_matches_finite_differences(obj):
    y, raw = random_y_true_raw_score(obj, 30)
    grad, hess = obj.grad_hess(y, raw)
    assert grad.dtype == np.float64 and grad.shape == raw.shape and hess.shape == raw.shape
    eps = 1e-3
    cols = [None] if raw.ndim == 1 else range(raw.shape[1])
    for i in range(len(y)):
        for j in cols:
            fd = _fd4(lambda h: _row_loss(obj, y, raw, i, j, h), eps)
            g = grad[i] if j is None else grad[i, j]
            np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9, err_msg=f"row {i} col {j}")


@pytest.mark.parametrize("obj", [o for o in LOSS_INSTANCES if not o.approx_hessian], ids=loss_instance_name)
def test_hessian_matches_finite_differences(obj):
    y, raw = random_y_true_raw_score(obj, 30, seed=1)
    _, hess = obj.grad_hess(y, raw)
    eps = 1e-3
    for i in range(len(y)):
        for j in [None] if raw.ndim == 1 else range(raw.shape[1]):

            def g(h):
                r = raw.copy()
                if j is None:
                    r[i] += h
                    return obj.grad_hess(y, r)[0][i]
                r[i, j] += h
                return obj.grad_hess(y, r)[0][i, j]

            expected = _fd4(g, eps)
            got = hess[i] if j is None else hess[i, j]
            np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9, err_msg=f"row {i} col {j}")


@pytest.mark.parametrize("obj", LOSS_INSTANCES, ids=loss_instance_name)
def test_sample_weight_multiplies_grad_and_hess(obj):
    y, raw = random_y_true_raw_score(obj, 50, seed=2)
    w = np.random.default_rng(3).uniform(0, 3, 50)
    g0, h0 = obj.grad_hess(y, raw)
    g1, h1 = obj.grad_hess(y, raw, sample_weight=w)
    ww = w if raw.ndim == 1 else w[:, None]
    np.testing.assert_allclose(g1, g0 * ww, rtol=1e-14, atol=0)
    np.testing.assert_allclose(h1, h0 * ww, rtol=1e-14, atol=0)
    per_row = np.array([obj.loss(y[i : i + 1], raw[i : i + 1]) for i in range(50)])
    assert obj.loss(y, raw, sample_weight=w) == pytest.approx(np.average(per_row, weights=w), rel=1e-12)


@pytest.mark.parametrize("obj", LOSS_INSTANCES, ids=loss_instance_name)
def test_init_score_is_argmin(obj):
    y, _ = random_y_true_raw_score(obj, 200, seed=4)
    w = np.random.default_rng(5).uniform(0.1, 2, 200)
    c = np.asarray(obj.init_score(y, sample_weight=w), dtype=float)

    def loss_at(const):
        raw = np.broadcast_to(const, (len(y),) + const.shape).copy()
        return obj.loss(y, raw, sample_weight=w)

    base = loss_at(c)
    for direction in np.eye(c.size).reshape((c.size,) + c.shape) if c.ndim else [np.array(1.0)]:
        for step in (1e-3, -1e-3, 0.1, -0.1):
            assert loss_at(c + step * direction) >= base - 1e-12
    if not isinstance(obj, (go.QuantileLoss, go.MultiQuantileLoss)):  # smooth (or Huber) losses: the total
        # gradient vanishes there
        raw = np.broadcast_to(c, (len(y),) + c.shape).copy()
        g, _ = obj.grad_hess(y, raw, sample_weight=w)
        np.testing.assert_allclose(g.sum(axis=0), 0.0, atol=1e-8 * w.sum())


@pytest.mark.parametrize("obj", LOSS_INSTANCES, ids=loss_instance_name)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_raw_scores_are_finite(obj, dtype):
    y, raw = random_y_true_raw_score(obj, 40, seed=6)
    raw = (np.sign(raw) * 1e4).astype(dtype)
    raw[::3] = 0
    grad, hess = obj.grad_hess(y, raw)
    assert np.isfinite(grad).all() and np.isfinite(hess).all()
    assert np.isfinite(obj.loss(y, raw))
    if not obj.approx_hessian or obj.task != "regression":
        assert (hess >= 0).all() or getattr(obj, "hessian", "positive") == "exact"


# ---- limit identities ---------------------------------------------------------------------------------------
def test_focal_gamma0_no_alpha_equals_logloss_exactly():
    y, raw = random_y_true_raw_score(go.LogLoss(), 500)
    raw = np.concatenate([raw, [-1e4, 1e4, -40, 40, 0.0]])
    y = np.concatenate([y, [1, 0, 1, 0, 1]])
    w = np.random.default_rng(1).uniform(0, 2, len(y))
    g0, h0 = go.LogLoss().grad_hess(y, raw, sample_weight=w)
    g1, h1 = go.FocalLoss(alpha=None, gamma=0.0).grad_hess(y, raw, sample_weight=w)
    assert np.array_equal(g0, g1) and np.array_equal(h0, h1)
    assert go.FocalLoss(alpha=None, gamma=0.0).loss(y, raw) == pytest.approx(go.LogLoss().loss(y, raw), rel=1e-14)


def test_focal_gamma0_with_alpha_is_scaled_weighted_ce():
    alpha = 0.3
    y, raw = random_y_true_raw_score(go.LogLoss(), 200)
    g0, h0 = go.FocalLoss(alpha=alpha, gamma=0.0).grad_hess(y, raw)
    g1, h1 = go.WeightedCrossEntropy(pos_weight=alpha / (1 - alpha)).grad_hess(y, raw)
    np.testing.assert_allclose(g0, (1 - alpha) * g1, rtol=1e-13)
    np.testing.assert_allclose(h0, (1 - alpha) * h1, rtol=1e-13)


def test_huber_with_large_delta_is_squared_error():
    y, raw = random_y_true_raw_score(go.SquaredError(), 200)
    for a, b in zip(go.HuberLoss(delta=1e6).grad_hess(y, raw), go.SquaredError().grad_hess(y, raw)):
        np.testing.assert_array_equal(a, b)
    assert go.HuberLoss(delta=1e6).loss(y, raw) == pytest.approx(go.SquaredError().loss(y, raw), rel=1e-14)


def test_pinball_at_half_is_half_absolute_error():
    y, raw = random_y_true_raw_score(go.SquaredError(), 200)
    assert go.QuantileLoss(0.5).loss(y, raw) == pytest.approx(0.5 * np.mean(np.abs(y - raw)), rel=1e-14)


def test_softmax_focal_gamma0_is_softmax():
    obj = go.SoftmaxCrossEntropy(4)
    y, raw = random_y_true_raw_score(obj, 200)
    for a, b in zip(go.SoftmaxFocalLoss(4, gamma=0.0).grad_hess(y, raw), obj.grad_hess(y, raw)):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def test_softmax_two_classes_matches_logloss_on_margin_difference():
    y, raw = random_y_true_raw_score(go.SoftmaxCrossEntropy(2), 100)
    g2, h2 = go.SoftmaxCrossEntropy(2).grad_hess(y, raw)
    g1, h1 = go.LogLoss().grad_hess(y, raw[:, 1] - raw[:, 0])
    np.testing.assert_allclose(g2[:, 1], g1, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(h2[:, 1], h1, rtol=1e-12, atol=1e-15)


def test_softmax_hessian_scale_presets():
    y, raw = random_y_true_raw_score(go.SoftmaxCrossEntropy(5), 50)
    _, h1 = go.SoftmaxCrossEntropy(5).grad_hess(y, raw)
    _, hl = go.SoftmaxCrossEntropy(5, hessian_scale="lightgbm").grad_hess(y, raw)
    _, hx = go.SoftmaxCrossEntropy(5, hessian_scale="xgboost").grad_hess(y, raw)
    np.testing.assert_allclose(hl, h1 * 5 / 4, rtol=1e-14)
    np.testing.assert_allclose(hx, h1 * 2, rtol=1e-14)


# ---- approximate hessians: what exactly is returned -----------------------------------------------------------
@pytest.mark.parametrize("obj", [go.HuberLoss(0.5), go.QuantileLoss(0.2)], ids=loss_instance_name)
def test_constant_hessian_equals_sample_weight(obj):
    y, raw = random_y_true_raw_score(obj, 100)
    w = np.random.default_rng(0).uniform(0, 2, 100)
    grad, hess = obj.grad_hess(y, raw, sample_weight=w)
    np.testing.assert_array_equal(hess, w)


def test_huber_and_quantile_gradients_are_lightgbm_definitions():
    y = np.array([0.0, 0.0, 0.0, 0.0, 0.0])
    raw = np.array([-3.0, -0.5, 0.0, 0.5, 3.0])
    np.testing.assert_array_equal(go.HuberLoss(1.0).grad_hess(y, raw)[0], [-1.0, -0.5, 0.0, 0.5, 1.0])
    # LightGBM quantile: delta = score - label; grad = 1 - alpha if delta >= 0 else -alpha
    np.testing.assert_allclose(go.QuantileLoss(0.9).grad_hess(y, raw)[0], [-0.9, -0.9, 0.1, 0.1, 0.1])


@pytest.mark.parametrize("gamma", [0.5, 2.0, 4.0])
@pytest.mark.parametrize("alpha", [None, 0.25])
def test_focal_positive_hessian(gamma, alpha):
    z = np.linspace(-50, 50, 2001)
    for label in (0.0, 1.0):
        y = np.full_like(z, label)
        exact = go.FocalLoss(alpha, gamma, hessian="exact").grad_hess(y, z)[1]
        pos = go.FocalLoss(alpha, gamma).grad_hess(y, z)[1]
        zt = z if label else -z
        q = special.expit(zt)
        a = 1.0 if alpha is None else (alpha if label else 1 - alpha)
        gauss_newton = a * (1 - q) ** gamma * q * (1 - q)
        assert (pos > 0).all()
        np.testing.assert_allclose(pos, np.maximum(np.maximum(exact, gauss_newton), a * 1e-16), rtol=1e-10, atol=0)
        # the exact hessian really is negative for confidently wrong rows, which is why the default differs
        assert exact[zt < -10].max() < 0
        # leaf values stay on the log-loss scale: |grad| / hess is bounded like log loss's 1 / q
        grad = go.FocalLoss(alpha, gamma).grad_hess(y, z)[0]
        mask = (zt > -30) & (zt < 0)
        assert np.all(np.abs(grad[mask]) / pos[mask] <= (1 + gamma * 60) / q[mask])


def test_softmax_focal_positive_hessian_floor():
    obj_exact = go.SoftmaxFocalLoss(3, gamma=2.0, hessian="exact")
    obj = go.SoftmaxFocalLoss(3, gamma=2.0)
    y, raw = random_y_true_raw_score(obj, 400)
    raw = raw * 4
    exact = obj_exact.grad_hess(y, raw)[1]
    pos = obj.grad_hess(y, raw)[1]
    p = special.softmax(raw, axis=1)
    q = p[np.arange(len(y)), y.astype(int)]
    gauss_newton = (1 - q)[:, None] ** 2 * p * (1 - p)
    assert (pos > 0).all() and (exact < 0).any()
    np.testing.assert_allclose(pos, np.maximum(np.maximum(exact, gauss_newton), 1e-16), rtol=1e-10)


# ---- specific values (derived by hand) -----------------------------------------------------------------------
def test_specific_values():
    # LogLoss at z = 0: p = 1/2, grad = p - y, hess = 1/4, loss = log 2
    assert go.LogLoss().loss([1.0], [0.0]) == pytest.approx(np.log(2))
    # Focal, y = 1, z = 0, gamma = 2, alpha = 0.25: q = 1/2; loss = 0.25 * 0.25 * log 2
    assert go.FocalLoss().loss([1.0], [0.0]) == pytest.approx(0.0625 * np.log(2))
    # grad = s * alpha * (1-q)^2 * (gamma q log q - (1 - q)) = 0.25 * 0.25 * (log(1/2) - 1/2)
    assert go.FocalLoss().grad_hess([1.0], [0.0])[0][0] == pytest.approx(0.0625 * (np.log(0.5) - 0.5))
    # Weighted CE, y = 1, pos_weight 3, z = 0: grad = 3 (1/2 - 1)
    assert go.WeightedCrossEntropy(3.0).grad_hess([1.0], [0.0])[0][0] == pytest.approx(-1.5)
    # Huber, d = 2.5, delta = 1: loss = 1 * (2.5 - 0.5)
    assert go.HuberLoss(1.0).loss([0.0], [2.5]) == pytest.approx(2.0)
    # Quantile 0.9, u = y - z = 2: loss 1.8; u = -2: loss 0.2
    assert go.QuantileLoss(0.9).loss([2.0, 0.0], [0.0, 2.0]) == pytest.approx(1.0)
    # Softmax on equal logits: p = 1/3 each, loss = log 3
    assert go.SoftmaxCrossEntropy(3).loss([2], [[0.0, 0.0, 0.0]]) == pytest.approx(np.log(3))
    # init scores: logit of the weighted mean, WCE's weighted odds, weighted median
    assert go.LogLoss().init_score([0, 1, 1, 1]) == pytest.approx(np.log(3))
    assert go.WeightedCrossEntropy(2.0).init_score([0, 0, 0, 0, 1, 1]) == pytest.approx(np.log(4 / 4))
    assert go.QuantileLoss(0.5).init_score([5.0, 1.0, 3.0]) == 3.0
    np.testing.assert_allclose(go.SoftmaxCrossEntropy(2).init_score([0, 1, 1, 1]), np.array([-1, 1]) * np.log(3) / 2)


# ---- bad input ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make, kwargs, match",
    [
        (go.FocalLoss, {"alpha": 1.5}, r"alpha must be in \(0, 1\); got 1.5"),
        (go.FocalLoss, {"gamma": -1}, r"gamma must be in \[0, inf\); got -1"),
        (go.FocalLoss, {"hessian": "abs"}, "hessian must be"),
        (go.WeightedCrossEntropy, {"pos_weight": 0}, r"pos_weight must be in \(0, inf\); got 0"),
        (go.HuberLoss, {"delta": float("nan")}, "delta must be"),
        (go.QuantileLoss, {"alpha": 1.0}, r"alpha must be in \(0, 1\); got 1.0"),
        (go.SoftmaxCrossEntropy, {"n_classes": 1}, "n_classes must be >= 2; got 1"),
        (go.SoftmaxFocalLoss, {"n_classes": 3, "alpha": [1, 2]}, r"alpha must have shape \(3,\)"),
        (go.SoftmaxCrossEntropy, {"n_classes": 3, "hessian_scale": -2}, "hessian_scale must be"),
    ],
)
def test_bad_constructor_parameters(make, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make(**kwargs)


def test_bad_parameter_type():
    with pytest.raises(TypeError, match="gamma must be a real number"):
        go.FocalLoss(gamma="2")
    with pytest.raises(TypeError, match="n_classes must be an integer"):
        go.SoftmaxCrossEntropy(2.5)


@pytest.mark.parametrize(
    "obj, y, raw, kwargs, exc, match",
    [
        (go.LogLoss(), [0, 1, 1], [0.0, 0.0], {}, ValueError, "raw_score has 2 rows but y_true has 3"),
        (go.LogLoss(), [0, 2, 1], [0.0, 0.0, 0.0], {}, ValueError, "only 0 and 1.*got 2.0 at index 1"),
        (go.LogLoss(), [0, np.nan, 1], [0.0, 0.0, 0.0], {}, ValueError, "y_true contains a non-finite value nan at index 1"),
        (go.HuberLoss(), [0.0, 1.0], [0.0, np.inf], {}, ValueError, "raw_score contains a non-finite value inf at index 1"),
        (go.HuberLoss(), [0.0, 1.0], [0.0, 1.0], {"sample_weight": [1.0, -1.0]}, ValueError,
         "sample_weight must be non-negative; got -1.0 at index 1"),
        (go.HuberLoss(), [0.0, 1.0], [0.0, 1.0], {"sample_weight": [1.0, np.nan]}, ValueError,
         "sample_weight contains a non-finite value nan at index 1"),
        (go.HuberLoss(), [0.0, 1.0], [0.0, 1.0], {"sample_weight": [1.0]}, ValueError, "sample_weight has 1 rows"),
        (go.SoftmaxCrossEntropy(3), [0, -1], np.zeros((2, 3)), {}, ValueError, r"class ids in \[0, 3\); got -1.0 at index 1"),
        (go.SoftmaxCrossEntropy(3), [0, 1], np.zeros(2), {}, ValueError, r"raw_score must have shape \(2, 3\)"),
        (go.SoftmaxCrossEntropy(4), [0, 1], np.zeros((2, 3)), {}, ValueError, r"shape \(2, 4\).*got shape \(2, 3\)"),
        (go.SquaredError(), [[0.0], [1.0]], [0.0, 1.0], {}, ValueError, "y_true must be 1-D"),
        (go.SquaredError(), ["a", "b"], [0.0, 1.0], {}, TypeError, "y_true must be a numeric array"),
    ],
)
def test_bad_arrays(obj, y, raw, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        obj.grad_hess(y, raw, **kwargs)


def test_get_objective():
    assert go.get_objective("focal", gamma=1.0) == go.FocalLoss(gamma=1.0)
    obj = go.HuberLoss()
    assert go.get_objective(obj) is obj
    with pytest.raises(ValueError, match="unknown objective 'nope'"):
        go.get_objective("nope")
    with pytest.raises(TypeError):
        go.get_objective(3)
