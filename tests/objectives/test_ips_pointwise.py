"""IPSPointwiseLoss: derivatives, unbiasedness of the clipped target, bad input."""

import numpy as np
import pytest

import gbm_objectives as go
from gbm_objectives.datasets import simulate_clicks


@pytest.mark.parametrize("loss", ["logistic", "squared"])
def test_grad_hess_are_the_derivatives_of_the_loss(loss, rng):
    n = 40
    position = rng.integers(0, 8, n)
    clicks = (rng.random(n) < 0.4).astype(float)
    z = rng.normal(size=n)
    obj = go.IPSPointwiseLoss(1.0 / (np.arange(8) + 1.0), clip=0.2, loss=loss)
    grad, hess = obj.grad_hess(clicks, z, group=[n], position=position)
    eps = 1e-6
    for r in range(n):
        e = np.zeros(n)
        e[r] = eps
        fd = (obj.loss(clicks, z + e, group=[n], position=position)
              - obj.loss(clicks, z - e, group=[n], position=position)) / (2 * eps) * n
        assert grad[r] == pytest.approx(fd, rel=1e-6, abs=1e-8)
        g_plus = obj.grad_hess(clicks, z + e, group=[n], position=position)[0][r]
        g_minus = obj.grad_hess(clicks, z - e, group=[n], position=position)[0][r]
        assert hess[r] == pytest.approx((g_plus - g_minus) / (2 * eps), rel=1e-6, abs=1e-8)


def test_clipped_target_is_unbiased_where_the_propensity_exceeds_the_clip():
    """Mean IPS target over many PBM sessions = P(click | examined, label) at positions with theta >= clip, and
    theta / clip times it below (the clipping bias), within 4 standard errors."""
    y = np.tile([2.0, 1, 0, 0, 1, 0, 2, 0], 1)
    theta = 1.0 / (np.arange(8) + 1.0)
    log = simulate_clicks(y, group=[8], sessions=40000, policy="uniform", seed=0)
    obj = go.IPSPointwiseLoss(theta, clip=0.2)
    target = obj.prepare(log.clicks, group=log.group, position=log.position).cache["target"]
    relevance = go.datasets.clicks.pbm_click_prob(2)
    for p in range(8):
        rows = log.position == p
        want = relevance[y[log.row[rows]].astype(int)].mean() * min(1.0, theta[p] / 0.2)
        se = target[rows].std() / np.sqrt(rows.sum())
        assert abs(target[rows].mean() - want) <= 4 * se, (p, target[rows].mean(), want)


@pytest.mark.parametrize("kwargs, call, match", [
    (dict(propensity=[1.0, 0.5]), dict(y=[1.0, 0, 0], position=[0, 1, 2]), r"propensity has 2 entries but row 2"),
    (dict(propensity=[1.0, -0.5]), None, r"propensity must be finite and > 0; got -0.5 at position 1"),
    (dict(propensity=[1.0], clip=0.0), None, r"clip"),
    (dict(propensity=[1.0], loss="hinge"), None, r"loss must be one of"),
    (dict(propensity=[1.0, 1, 1]), dict(y=[2.0, 0, 0], position=[0, 1, 2]), r"y_true must be clicks, 0 or 1"),
    (dict(propensity=[1.0, 1, 1]), dict(y=[1.0, 0, 0], position=None), r"needs position="),
])
def test_bad_input(kwargs, call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        obj = go.IPSPointwiseLoss(**kwargs)
        extra = {} if call["position"] is None else {"position": call["position"]}
        obj.grad_hess(call["y"], np.zeros(3), group=[3], **extra)


def test_registry_name_builds_the_loss_and_training_without_propensities_is_refused():
    obj = go.get_objective("ips_pointwise", propensity=[1.0, 0.5], clip=0.5)
    assert type(obj) is go.IPSPointwiseLoss and obj.get_params()["clip"] == 0.5
    bare = go.get_objective("ips_pointwise")  # builds (the registry's contract) but never assumes propensities
    with pytest.raises(ValueError, match="needs propensity="):
        bare.grad_hess([1.0, 0.0], [0.0, 0.0], group=[2], position=[0, 1])
