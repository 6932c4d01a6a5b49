"""Quantile metrics (gbm_objectives.metrics.quantiles) against scikit-learn's pinball loss and the definitions of
coverage, crossing, interval and CRPS; their names in the task-metric registry."""

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import mean_pinball_loss

import gbm_objectives as go
from gbm_objectives.metrics import quantiles as Q
from gbm_objectives.metrics.by_task import get_task_metric

ALPHAS = (0.1, 0.25, 0.5, 0.75, 0.9)


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n)
    q = np.sort(rng.normal(size=(n, len(ALPHAS))), axis=1)
    return y, q, rng.uniform(0.1, 2.0, n)


def test_pinball_is_sklearns_mean_pinball_loss_per_level():
    y, q, w = _data()
    per = Q.quantile_pinball_score(y, q, ALPHAS, sample_weight=w, per_level=True)
    expected = [mean_pinball_loss(y, q[:, k], alpha=a, sample_weight=w) for k, a in enumerate(ALPHAS)]
    np.testing.assert_allclose(per, expected, rtol=1e-13)
    assert Q.quantile_pinball_score(y, q, ALPHAS, sample_weight=w) == pytest.approx(np.mean(expected), rel=1e-13)


def test_coverage_crossing_and_interval_follow_their_definitions():
    y, q, w = _data()
    np.testing.assert_allclose(Q.quantile_coverage_score(y, q, sample_weight=w),
                               [np.average(y <= q[:, k], weights=w) for k in range(len(ALPHAS))], rtol=1e-14)
    crossed = q.copy()
    crossed[::4, 2] = crossed[::4, 1] - 1.0  # every 4th row crosses once
    assert Q.crossing_rate_score(q) == 0.0
    assert Q.crossing_rate_score(crossed) == pytest.approx(np.mean(np.arange(len(y)) % 4 == 0))
    lo, hi = Q.interval_bounds(q, ALPHAS, 0.8)  # levels 0.1 and 0.9 are the model's
    np.testing.assert_array_equal(lo, q[:, 0])
    np.testing.assert_array_equal(hi, q[:, 4])
    lo, hi = Q.interval_bounds(q, ALPHAS, 0.6)  # 0.2 and 0.8: linear between the neighbouring levels
    np.testing.assert_allclose(lo, q[:, 0] + (0.2 - 0.1) / (0.25 - 0.1) * (q[:, 1] - q[:, 0]), rtol=1e-12)
    np.testing.assert_allclose(hi, q[:, 3] + (0.8 - 0.75) / (0.9 - 0.75) * (q[:, 4] - q[:, 3]), rtol=1e-12)
    assert Q.interval_width_score(q, ALPHAS, coverage=0.6) == pytest.approx(np.mean(hi - lo))
    assert Q.interval_coverage_score(y, q, ALPHAS, coverage=0.6) == pytest.approx(np.mean((lo <= y) & (y <= hi)))
    with pytest.raises(ValueError, match="coverage=0.9"):
        Q.interval_bounds(q, ALPHAS, 0.9)


def test_crps_of_a_point_forecast_is_the_absolute_error():
    # 2 sum_k w_k rho_{a_k}(u) = 2 |u| sum_k w_k (a_k or 1 - a_k), which is |u| for levels symmetric about 0.5
    y, _, w = _data()
    point = np.tile(np.linspace(-1, 1, len(y))[:, None], (1, len(ALPHAS)))
    assert Q.crps_score(y, point, ALPHAS, sample_weight=w) == pytest.approx(
        np.average(np.abs(y - point[:, 0]), weights=w), rel=1e-13)


def test_crps_approaches_the_gaussian_closed_form_as_levels_get_finer():
    # CRPS of N(0, 1) at y: y (2 Phi(y) - 1) + 2 phi(y) - 1 / sqrt(pi) (Gneiting and Raftery 2007, eq. 21)
    y = np.linspace(-2.5, 2.5, 41)
    exact = np.mean(y * (2 * stats.norm.cdf(y) - 1) + 2 * stats.norm.pdf(y) - 1 / np.sqrt(np.pi))
    errors = []
    for K in (9, 99, 999):
        alphas = np.arange(1, K + 1) / (K + 1)
        q = np.tile(stats.norm.ppf(alphas), (len(y), 1))
        errors.append(abs(Q.crps_score(y, q, alphas) - exact))
    assert errors[0] > errors[1] > errors[2]


def test_bad_shapes_and_levels_raise():
    y, q, _ = _data(10)
    with pytest.raises(ValueError, match="columns"):
        Q.quantile_pinball_score(y, q[:, :3], ALPHAS)
    with pytest.raises(ValueError, match="alphas"):
        Q.crps_score(y, q, ALPHAS[::-1])
    with pytest.raises(ValueError, match="not one of the model's levels"):
        Q.level_index(ALPHAS, 0.3)


@pytest.mark.parametrize("name, higher", [
    ("pinball", False), ("pinball@0.9", False), ("coverage@0.1", True), ("coverage", True), ("crps", False),
    ("crossing_rate", False), ("interval_width", False), ("interval_width@0.8", False),
    ("interval_coverage@0.5", True)])
def test_registry_metrics_on_raw_outputs(name, higher):
    y, q, w = _data()
    obj = go.MultiQuantileLoss(alphas=ALPHAS, scale=1e-3)
    raw = q  # the quantiles read back through the link: qq below
    metric = get_task_metric(name, obj)
    assert metric.name == name and metric.higher_is_better is higher
    qq = obj.transform(raw)
    base, _, level = name.partition("@")
    expected = {
        "pinball": lambda: (Q.quantile_pinball_score(y, qq, ALPHAS, sample_weight=w, per_level=True)[4] if level
                            else Q.quantile_pinball_score(y, qq, ALPHAS, sample_weight=w)),
        "coverage": lambda: (Q.quantile_coverage_score(y, qq, sample_weight=w)[0] if level
                             else Q.interval_coverage_score(y, qq, ALPHAS, sample_weight=w)),
        "crps": lambda: Q.crps_score(y, qq, ALPHAS, sample_weight=w),
        "crossing_rate": lambda: 0.0,
        "interval_width": lambda: Q.interval_width_score(qq, ALPHAS, coverage=float(level) if level else None,
                                                         sample_weight=w),
        "interval_coverage": lambda: Q.interval_coverage_score(y, qq, ALPHAS, coverage=0.5, sample_weight=w),
    }[base]()
    assert metric(y, raw, sample_weight=w) == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize("name, needle", [("pinball@0.3", "not one of the model's levels"),
                                          ("interval_width@0.95", "coverage=0.95"),
                                          ("pinball@x", "must be a number")])
def test_registry_rejects_levels_the_model_lacks(name, needle):
    with pytest.raises(ValueError, match=needle):
        get_task_metric(name, go.MultiQuantileLoss(alphas=ALPHAS))


def test_quantile_set_metrics_need_the_multi_quantile_objective():
    with pytest.raises(ValueError, match="needs the multi_quantile objective"):
        get_task_metric("crps", go.SquaredError())
