"""The vectorisable exp/log of gbm_objectives._core.vmath against numpy (libm), in units in the last place."""

import numpy as np
import pytest
from numba import njit

from gbm_objectives._core.vmath import vexp, vlog, vlog1p_unit


@njit
def _apply_exp(x, out):
    for i in range(x.shape[0]):
        out[i] = vexp(x[i])


@njit
def _apply_log(x, out):
    for i in range(x.shape[0]):
        out[i] = vlog(x[i])


@njit
def _apply_log1p(x, out):
    for i in range(x.shape[0]):
        out[i] = vlog1p_unit(x[i])


def _max_ulp(got, ref):
    return float(np.max(np.abs(got - ref) / np.spacing(np.abs(ref))))


def _run(kernel, x):
    out = np.empty_like(x)
    kernel(x, out)
    return out


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def test_vexp_within_one_ulp(rng):
    # the whole range it is used on (exp of non-positive arguments) and beyond, plus values near 0
    x = np.concatenate([rng.uniform(-708, 709, 200_000), rng.uniform(-1, 1, 100_000), rng.uniform(-1e-9, 1e-9, 1000)])
    assert _max_ulp(_run(_apply_exp, x), np.exp(x)) <= 1.0


def test_vexp_special_values():
    x = np.array([0.0, -0.0, -708.0, -708.5, -745.0, -1e4, -1e300, 709.0])
    got = _run(_apply_exp, x)
    assert got[0] == 1.0 and got[1] == 1.0  # exactly 1: FocalLoss(gamma=0) relies on it
    assert got[2] == pytest.approx(np.exp(-708.0), rel=1e-15)
    assert np.all(got[3:7] == 0.0)  # below the normal range: 0, never a subnormal or a NaN
    assert got[7] == pytest.approx(np.exp(709.0), rel=1e-15)


def test_vlog_within_two_ulp(rng):
    x = np.concatenate([10.0 ** rng.uniform(-307, 308, 200_000), rng.uniform(0.5, 2.0, 100_000),
                        1.0 + rng.uniform(-1e-9, 1e-9, 1000)])
    ref = np.log(x)
    keep = ref != 0
    assert _max_ulp(_run(_apply_log, x)[keep], ref[keep]) <= 2.0
    assert _run(_apply_log, np.array([1.0]))[0] == 0.0


def test_vlog1p_unit_within_two_ulp(rng):
    x = np.concatenate([rng.uniform(0, 1, 200_000), 10.0 ** rng.uniform(-300, 0, 100_000), [1.0]])
    assert _max_ulp(_run(_apply_log1p, x), np.log1p(x)) <= 2.0
    assert _run(_apply_log1p, np.array([0.0]))[0] == 0.0
