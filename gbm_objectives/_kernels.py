"""Compiled elementwise kernels for the pointwise objectives (numba).

Each kernel is compiled twice from one source: a serial version and one parallel over rows. The parallel one is
used only from ``PARALLEL_MIN_ELEMENTS`` elements up (``CHEAP_PARALLEL_MIN_ELEMENTS`` for the cheap kernels): below
that, waking a thread pool costs more than the work, and on a busy machine a parallel loop waits for a descheduled
thread (tens of ms on 16k rows, measured). Inside training, numba's threads also compete with the engine's OpenMP
threads: on 1M rows, 2 cores, the memory-bound kernels (squared error, Huber, quantile) made training as fast or
faster serial, while kernels with transcendental calls per row (logistic, focal, softmax) still gain from two
threads.

Each kernel writes ``grad_out``/``hess_out`` in place; the output arrays may be float32 (what the engines consume)
or float64 (what the public ``grad_hess`` returns), C- or Fortran-ordered. Sample weights are multiplied in here,
once. An empty ``w`` means unit weights. The math is documented on the objective classes in ``losses.py``.
"""

from __future__ import annotations

import math
import types

import numpy as np
from numba import njit, prange

_JIT = dict(cache=True, nogil=True)
_PJIT = dict(cache=True, nogil=True, parallel=True)
PARALLEL_MIN_ELEMENTS = 200_000
CHEAP_PARALLEL_MIN_ELEMENTS = 4_000_000
HESS_FLOOR = 1e-16  # same floor XGBoost applies to p(1 - p); keeps Newton steps finite at |margin| > 36


def _copy_function(fn, suffix):
    """A copy of ``fn`` with its own qualified name, so numba's on-disk cache keeps the two compilations apart."""
    copy = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + suffix, fn.__defaults__, fn.__closure__)
    copy.__qualname__ = fn.__qualname__ + suffix
    copy.__doc__ = fn.__doc__
    return copy


class _Kernel:
    """A kernel ``f(y, z, ...)`` compiled serial and parallel; calls pick by the number of elements of ``z``."""

    def __init__(self, fn, cheap=False):
        self.serial = njit(**_JIT)(_copy_function(fn, "_serial"))
        self.parallel = njit(**_PJIT)(_copy_function(fn, "_parallel"))
        self.cheap = cheap
        self.__doc__ = fn.__doc__

    def __call__(self, y, z, *args):
        threshold = CHEAP_PARALLEL_MIN_ELEMENTS if self.cheap else PARALLEL_MIN_ELEMENTS
        kernel = self.parallel if z.size >= threshold else self.serial
        return kernel(y, z, *args)


def _serial_and_parallel(fn):
    return _Kernel(fn)


def _cheap_serial_and_parallel(fn):
    return _Kernel(fn, cheap=True)


@njit(inline="always", **_JIT)
def _logistic_parts(zt):
    """For zt: q = sigmoid(zt), 1 - q, log q, log(1 - q), all from a single exp(-|zt|)."""
    e = math.exp(-abs(zt))
    inv = 1.0 / (1.0 + e)
    l1p = math.log1p(e)
    if zt >= 0:
        q = inv
        omq = e * inv
        log_q = -l1p
        log_omq = -zt - l1p
    else:
        q = e * inv
        omq = inv
        log_q = zt - l1p
        log_omq = -l1p
    return q, omq, log_q, log_omq


@njit(inline="always", **_JIT)
def _weight(w, i):
    return 1.0 if w.shape[0] == 0 else w[i]


@_serial_and_parallel
def weighted_logistic_kernel(y, z, w, pos_weight, grad_out, hess_out):
    """grad = c (p - y), hess = c p (1 - p) with c = pos_weight for positives (LogLoss when pos_weight = 1)."""
    n = z.shape[0]
    for i in prange(n):
        s = 2.0 * y[i] - 1.0
        e = math.exp(-abs(s * z[i]))
        inv = 1.0 / (1.0 + e)
        if s * z[i] >= 0:
            q = inv
            omq = e * inv
        else:
            q = e * inv
            omq = inv
        c = _weight(w, i) * (pos_weight if y[i] > 0.5 else 1.0)
        h = q * omq
        if h < HESS_FLOOR:
            h = HESS_FLOOR
        grad_out[i] = -s * omq * c
        hess_out[i] = h * c


@_serial_and_parallel
def focal_kernel(y, z, w, alpha_pos, alpha_neg, gamma, positive_hessian, grad_out, hess_out):
    """Binary focal loss; see FocalLoss for the formulas."""
    n = z.shape[0]
    for i in prange(n):
        s = 2.0 * y[i] - 1.0
        zt = s * z[i]
        q, omq, log_q, log_omq = _logistic_parts(zt)
        if gamma == 0.0:
            mod = 1.0
        elif gamma == 2.0:
            mod = omq * omq
        else:
            mod = math.exp(gamma * log_omq)
        h = gamma * q * log_q - omq
        a = (alpha_pos if y[i] > 0.5 else alpha_neg) * _weight(w, i)
        grad_out[i] = s * a * mod * h
        hess = mod * (q * omq * (gamma * log_q + gamma + 1.0) - gamma * q * h)
        if positive_hessian:
            gn = mod * q * omq
            if hess < gn:
                hess = gn
            if hess < HESS_FLOOR:
                hess = HESS_FLOOR
        hess_out[i] = a * hess


@_cheap_serial_and_parallel
def squared_error_kernel(y, z, w, grad_out, hess_out):
    for i in prange(z.shape[0]):
        wi = _weight(w, i)
        grad_out[i] = (z[i] - y[i]) * wi
        hess_out[i] = wi


@_cheap_serial_and_parallel
def huber_kernel(y, z, w, delta, grad_out, hess_out):
    for i in prange(z.shape[0]):
        wi = _weight(w, i)
        d = z[i] - y[i]
        if d > delta:
            d = delta
        elif d < -delta:
            d = -delta
        grad_out[i] = d * wi
        hess_out[i] = wi


@_cheap_serial_and_parallel
def quantile_kernel(y, z, w, alpha, grad_out, hess_out):
    for i in prange(z.shape[0]):
        wi = _weight(w, i)
        if z[i] - y[i] >= 0:
            grad_out[i] = (1.0 - alpha) * wi
        else:
            grad_out[i] = -alpha * wi
        hess_out[i] = wi


@njit(inline="always", **_JIT)
def _softmax_row(z, i, p):
    k = z.shape[1]
    m = z[i, 0]
    for j in range(1, k):
        if z[i, j] > m:
            m = z[i, j]
    s = 0.0
    for j in range(k):
        p[j] = math.exp(z[i, j] - m)
        s += p[j]
    for j in range(k):
        p[j] /= s
    return m + math.log(s)


@_serial_and_parallel
def softmax_kernel(y, z, w, hessian_scale, grad_out, hess_out):
    """grad_j = p_j - [y = j], hess_j = scale p_j (1 - p_j)."""
    n, k = z.shape
    for i in prange(n):
        p = np.empty(k)
        _softmax_row(z, i, p)
        wi = _weight(w, i)
        for j in range(k):
            g = p[j] - (1.0 if y[i] == j else 0.0)
            h = hessian_scale * p[j] * (1.0 - p[j])
            if h < HESS_FLOOR:
                h = HESS_FLOOR
            grad_out[i, j] = g * wi
            hess_out[i, j] = h * wi


@_serial_and_parallel
def softmax_focal_kernel(y, z, w, alpha, gamma, hessian_scale, positive_hessian, grad_out, hess_out):
    """Multiclass focal loss; see SoftmaxFocalLoss for the formulas."""
    n, k = z.shape
    for i in prange(n):
        p = np.empty(k)
        lse = _softmax_row(z, i, p)
        c = y[i]
        q = p[c]
        log_q = z[i, c] - lse
        u = 0.0  # 1 - q, summed from the other classes for precision
        for j in range(k):
            if j != c:
                u += p[j]
        if u > 1e-8:
            r = log_q / u
        else:
            r = -1.0 - 0.5 * u  # log(1 - u) / u as u -> 0
        if gamma == 0.0:
            mod = 1.0
        else:
            mod = math.exp(gamma * math.log(u)) if u > 0 else 0.0
        a = (1.0 if alpha.shape[0] == 0 else alpha[c]) * _weight(w, i)
        big_a = mod * (gamma * q * r - 1.0)
        # q A'(q) (1 - q): the (1 - q)^(gamma - 2) factor is folded in so nothing divides by zero
        qa_prime = gamma * q * mod * (log_q + 2.0 - (gamma - 1.0) * q * r)
        for j in range(k):
            dp = (1.0 if j == c else 0.0) - p[j]
            g = big_a * dp
            h = -big_a * p[j] * (1.0 - p[j])
            if u > 0.0:
                h += qa_prime * dp * dp / u
            if positive_hessian:
                gn = mod * p[j] * (1.0 - p[j])
                if h < gn:
                    h = gn
                if h < HESS_FLOOR:
                    h = HESS_FLOOR
            grad_out[i, j] = a * g
            hess_out[i, j] = a * hessian_scale * h
