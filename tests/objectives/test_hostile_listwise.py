"""The listwise objectives (SoftmaxRank, ListMLE, ApproxNDCG, LambdaLoss) under hostile scores and parameters.

* Every objective and variant, float32 and float64 scores, query score spans from 0 to 800: finite gradients and
  hessians, hessians >= 0 and > 0 wherever the gradient is not 0 (each objective documents both). Issue: LambdaLoss
  gave NaN for float32 scores at spans of about 200 to 600, because numba compiled its exp(s - s_max) in single
  precision (0 below exp(-104), and 1 / 0 = inf, 0 * inf = NaN in the pair products).
* float32 scores give the bytes of the same values as float64 (the kernels compute in double precision).
* The temperature of ApproxNDCG and SoftmaxRank is refused below 1e-100 (their hessians carry 1 / T^2, which
  overflows below 7.5e-155: ApproxNDCG gave NaN hessians at 1e-300); at the bound the hessians stay finite and below
  the bound derived in the docstrings.

Whether a freshly compiled kernel and one loaded from numba's cache agree bit for bit is
``tests/core/test_numba_cache.py`` (every ranking objective there, these included).
"""

import math

import numpy as np
import pytest

import gbm_objectives as go

SPANS = [0.0, 1.0, 100.0, 380.0, 500.0, 540.0, 800.0]
OBJECTIVES = {
    "softmax_rank": lambda: go.SoftmaxRankObjective(),
    "listmle": lambda: go.ListMLEObjective(),
    "approx_ndcg": lambda: go.ApproxNDCGObjective(),
    "lambdaloss": lambda: go.LambdaLossObjective(),
    "lambdaloss_k3": lambda: go.LambdaLossObjective(truncation_level=3),
    "lambdaloss_mu0": lambda: go.LambdaLossObjective(mu=0.0),
    "lambdaloss_ndcg2": lambda: go.LambdaLossObjective(weighting="ndcg2"),
    "lambdaloss_lambdarank": lambda: go.LambdaLossObjective(weighting="lambdarank"),
}
MIN_TEMPERATURE = 1e-100  # the documented bound


def _queries(span):
    """Labels, float64 scores and group sizes: five queries whose scores spread over ``span``.

    The issue's two 3-document queries ([span, 0, span/2] gave [0, nan, nan]); 20 documents evenly over the span;
    40 documents in two tied clusters at 0 and span (every pair across them saturates at wide spans; 40 documents
    also run the four-row tiles); 13 documents of which only the last has a positive gain, at the low end.
    """
    rng = np.random.default_rng(5)
    y = [np.array([2.0, 0.0, 1.0]), np.array([2.0, 0.0, 1.0])]
    s = [np.array([span, 0.0, span / 2]), np.array([0.0, span, span / 2])]
    y.append(rng.integers(0, 5, 20).astype(float))
    s.append(rng.permutation(np.linspace(0.0, span, 20)))
    y.append(rng.integers(0, 5, 40).astype(float))
    s.append(np.where(rng.random(40) < 0.5, 0.0, span))
    y.append(np.r_[np.zeros(12), 3.0])
    s.append(np.r_[np.linspace(span, span / 2, 12), 0.0])
    return np.concatenate(y), np.concatenate(s), [len(v) for v in y]


def _check_derivatives(g, h):
    assert np.isfinite(g).all() and np.isfinite(h).all()
    assert (h >= 0).all()
    assert not ((g != 0) & (h <= 0)).any()  # a document with a gradient gets a positive hessian


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("span", SPANS)
@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_finite_derivatives_at_every_span(name, span, dtype):
    y, s, group = _queries(span)
    g, h = OBJECTIVES[name]().grad_hess(y, s.astype(dtype), group=group)
    _check_derivatives(g, h)


@pytest.mark.parametrize("span", SPANS)
@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_float32_scores_give_the_bytes_of_their_float64_values(name, span):
    y, s, group = _queries(span)
    s32 = s.astype(np.float32)
    obj = OBJECTIVES[name]()
    g32, h32 = obj.grad_hess(y, s32, group=group)
    g64, h64 = obj.grad_hess(y, s32.astype(np.float64), group=group)
    assert g32.tobytes() == g64.tobytes() and h32.tobytes() == h64.tobytes()


@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_finite_derivatives_when_the_span_overflows(name):
    # s_max - s_min = 2e308 is inf in double precision: every objective takes its exp-per-pair (or log-space) path
    y = np.array([2.0, 0.0, 1.0, 3.0, 0.0])
    s = np.array([1e308, -1e308, 0.0, -1e308, 1e308])
    g, h = OBJECTIVES[name]().grad_hess(y, s, group=[5])
    _check_derivatives(g, h)


@pytest.mark.parametrize("temperature", [1e-300, 5e-155, 1e-101, 0.99e-100])
@pytest.mark.parametrize("cls", [go.ApproxNDCGObjective, go.SoftmaxRankObjective])
def test_temperature_below_the_bound_is_refused_with_the_reason(cls, temperature):
    with pytest.raises(ValueError, match=r"temperature must be >= 1e-100: the hessian is scaled by 1/temperature\^2"):
        cls(temperature=temperature)


@pytest.mark.parametrize("cls", [go.ApproxNDCGObjective, go.SoftmaxRankObjective])
def test_temperature_zero_and_negative_keep_the_interval_error(cls):
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match=r"temperature must be in \(0, 1e\+06\]"):
            cls(temperature=bad)


@pytest.mark.parametrize("gap", [0.0, 1e-100, 1e-99, 1.0, 1e300])
def test_approx_ndcg_at_the_temperature_bound_stays_below_the_derived_hessian_bound(gap):
    """hess_k = (1/T^2) sum_j w_kj |a_j - a_k| with w = sigma (1 - sigma) <= 1/4 and 0 <= a <= 1/(2 ln 2) (pi >= 1,
    G_k <= maxDCG), so hess_k <= (n - 1) / (8 ln 2 T^2); |grad_k| <= T hess_k. The factor 1 + 1e-12 covers the
    roundings (a few ulp in each of the n - 1 <= 39 positive terms and in the product)."""
    rng = np.random.default_rng(3)
    n = 40
    y = rng.integers(0, 5, n).astype(float)
    s = rng.permutation(np.arange(n)) * gap  # gaps of 1e-100 and 1e-99: sigmoids of 1 and 10 units, not saturated
    g, h = go.ApproxNDCGObjective(temperature=MIN_TEMPERATURE).grad_hess(y, s, group=[n])
    _check_derivatives(g, h)
    bound = (n - 1) / (8 * math.log(2)) / MIN_TEMPERATURE**2
    assert h.max() <= bound * (1 + 1e-12)
    assert (np.abs(g) <= MIN_TEMPERATURE * h * (1 + 1e-12)).all()


@pytest.mark.parametrize("gap", [0.0, 1e-100, 1e-99, 1.0, 1e300])
def test_softmax_at_the_temperature_bound_stays_below_the_derived_hessian_bound(gap):
    """hess_i = rho_i (1 - rho_i) / T^2 <= 1 / (4 T^2) (the floor 1e-16 is far below); 1 + 1e-12 for the roundings."""
    rng = np.random.default_rng(4)
    n = 30
    y = rng.integers(0, 5, n).astype(float)
    s = rng.permutation(np.arange(n)) * gap
    g, h = go.SoftmaxRankObjective(temperature=MIN_TEMPERATURE).grad_hess(y, s, group=[n])
    _check_derivatives(g, h)
    assert h.max() <= 1 / (4 * MIN_TEMPERATURE**2) * (1 + 1e-12)


def test_softmax_loss_of_an_irrelevant_document_at_an_infinite_scaled_gap_is_zero():
    # y = [1, 0]: targets t = [1, 0]; s_1 - s_max = -2e308 = -inf, so log rho_1 = -inf and rho_0 = 1, log rho_0 = 0.
    # loss = -(1 * 0) - (0 * -inf): the target-0 term is 0 by definition (it was computed as 0 * -inf = NaN)
    assert go.SoftmaxRankObjective().loss([1.0, 0.0], [1e308, -1e308], group=[2]) == 0.0
