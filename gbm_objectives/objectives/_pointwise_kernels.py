"""Compiled elementwise kernels for the pointwise objectives (numba).

Each kernel is compiled twice from one source: a serial version and one parallel over rows. The parallel one is
used only from ``PARALLEL_MIN["pointwise"]`` elements up (``PARALLEL_MIN["pointwise_cheap"]`` for the cheap kernels;
:mod:`gbm_objectives._core.jit`): below
that, waking a thread pool costs more than the work, and on a busy machine a parallel loop waits for a descheduled
thread (tens of ms on 16k rows, measured). Inside training, numba's threads also compete with the engine's OpenMP
threads (XGBoost ships its own OpenMP runtime, whose threads and numba's spin-wait on the same cores after each
parallel region). On 1M rows, 2 cores, measured in lockstep (custom / built-in training time): the vectorised
logistic kernel (4.4 ms serial) trained faster serial (XGBoost 1.028 serial vs 1.062 parallel), so it counts as
"cheap" with the memory-bound ones (squared error, Huber, quantile); the focal kernel (13 ms serial, 7 ms on two
threads) did better parallel (LightGBM 1.024 vs 1.096; XGBoost 1.09 to 1.14 either way), as do the softmax
kernels (k exponentials a row).

The loops are written to vectorise (4 rows per AVX2 instruction): exp and log come from ``_core.vmath`` (inline
polynomials; libm calls cannot be vectorised), conditions are conditional expressions rather than branches, and
the softmax kernels run class by class over all rows. Per call on 1M rows, 1 thread, timed side by side with
the previous libm-based kernels on this 2-core machine: logloss 9.1 -> 4.4 ms, focal 30 -> 13 ms (9 ms for
gamma = 2), softmax with 3 classes 45 -> 21 ms. Whole-training ratios against the built-ins are in
BENCHMARKS.md ("objectives").

Each kernel writes ``grad_out``/``hess_out`` in place; the output arrays may be float32 (what the engines consume)
or float64 (what the public ``grad_hess`` returns), C- or Fortran-ordered. Sample weights are multiplied in here,
once. An empty ``w`` means unit weights. The math is documented on the objective classes in ``pointwise.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._core.jit import POINTWISE_JIT, cheap_serial_and_parallel, exact_serial_and_parallel, serial_and_parallel
from .._core.vmath import vexp, vlog, vlog1p_unit

HESS_FLOOR = 1e-16  # same floor XGBoost applies to p(1 - p); keeps Newton steps finite at |margin| > 36


@njit(inline="always", **POINTWISE_JIT)
def _logistic_parts(zt):
    """For zt: q = sigmoid(zt), 1 - q, log q, log(1 - q), all from a single exp(-|zt|).

    Written with conditional expressions (selects), not branches, so loops using it vectorise.
    """
    e = vexp(-abs(zt))
    inv = 1.0 / (1.0 + e)
    e_inv = e * inv
    l1p = vlog1p_unit(e)
    pos = zt >= 0
    q = inv if pos else e_inv
    omq = e_inv if pos else inv
    log_q = -l1p if pos else zt - l1p
    log_omq = -zt - l1p if pos else -l1p
    return q, omq, log_q, log_omq


@njit(inline="always", **POINTWISE_JIT)
def _weight(w, i):
    return 1.0 if w.shape[0] == 0 else w[i]


@cheap_serial_and_parallel
def weighted_logistic_kernel(y, z, w, pos_weight, grad_out, hess_out):
    """grad = c (p - y), hess = c p (1 - p) with c = pos_weight for positives (LogLoss when pos_weight = 1)."""
    n = z.shape[0]
    for i in prange(n):
        s = 2.0 * y[i] - 1.0
        zt = s * z[i]
        e = vexp(-abs(zt))
        inv = 1.0 / (1.0 + e)
        e_inv = e * inv
        q = inv if zt >= 0 else e_inv
        omq = e_inv if zt >= 0 else inv
        c = _weight(w, i) * (pos_weight if y[i] > 0.5 else 1.0)
        grad_out[i] = -s * omq * c
        hess_out[i] = max(q * omq, HESS_FLOOR) * c


@njit(inline="always", **POINTWISE_JIT)
def _focal_row(y_i, z_i, a_i, gamma, positive_hessian, gamma_is_two):
    """Binary focal loss gradient and hessian of one row (see FocalLoss); ``gamma_is_two`` is a constant in each
    kernel below, so the compiled loop keeps only one way of computing (1 - q)^gamma. Branch-free (selects only)."""
    s = 2.0 * y_i - 1.0
    zt = s * z_i
    q, omq, log_q, log_omq = _logistic_parts(zt)
    mod = omq * omq if gamma_is_two else vexp(gamma * log_omq)  # (1 - q)^gamma; exactly 1 for gamma = 0
    h = gamma * q * log_q - omq
    hess = mod * (q * omq * (gamma * log_q + gamma + 1.0) - gamma * q * h)
    floor = max(mod * q * omq, HESS_FLOOR)  # the Gauss-Newton term (positive_hessian)
    return s * a_i * mod * h, a_i * (max(hess, floor) if positive_hessian else hess)


@serial_and_parallel
def focal_kernel(y, z, w, alpha_pos, alpha_neg, gamma, positive_hessian, grad_out, hess_out):
    """Binary focal loss, any gamma."""
    for i in prange(z.shape[0]):
        a_i = (alpha_pos if y[i] > 0.5 else alpha_neg) * _weight(w, i)
        grad_out[i], hess_out[i] = _focal_row(y[i], z[i], a_i, gamma, positive_hessian, False)


@serial_and_parallel
def focal_square_kernel(y, z, w, alpha_pos, alpha_neg, gamma, positive_hessian, grad_out, hess_out):
    """Binary focal loss for gamma = 2 (the default): (1 - q)^2 as a product, no exponential (30 % faster)."""
    for i in prange(z.shape[0]):
        a_i = (alpha_pos if y[i] > 0.5 else alpha_neg) * _weight(w, i)
        grad_out[i], hess_out[i] = _focal_row(y[i], z[i], a_i, gamma, positive_hessian, True)


@cheap_serial_and_parallel
def squared_error_kernel(y, z, w, grad_out, hess_out):
    for i in prange(z.shape[0]):
        wi = _weight(w, i)
        grad_out[i] = (z[i] - y[i]) * wi
        hess_out[i] = wi


@cheap_serial_and_parallel
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


@cheap_serial_and_parallel
def quantile_kernel(y, z, w, alpha, grad_out, hess_out):
    for i in prange(z.shape[0]):
        wi = _weight(w, i)
        if z[i] - y[i] >= 0:
            grad_out[i] = (1.0 - alpha) * wi
        else:
            grad_out[i] = -alpha * wi
        hess_out[i] = wi


@njit(inline="always", **POINTWISE_JIT)
def _softmax_columns(z, m, s):
    """m[i] = max_j z[i, j] and s[i] = sum_j exp(z[i, j] - m[i]) for every row.

    Each loop runs over all rows for one class, so it vectorises over rows and reads the columns of
    Fortran-ordered scores (the engines' layout) contiguously. (Row-by-row code cannot vectorise over the few
    classes of a row, and blocks of rows indexed from an offset defeated LLVM's vectoriser, measured.)
    """
    n, k = z.shape
    for i in prange(n):
        m[i] = z[i, 0]
        s[i] = 0.0
    for j in range(1, k):
        for i in prange(n):
            m[i] = max(m[i], z[i, j])
    for j in range(k):
        for i in prange(n):
            s[i] += vexp(z[i, j] - m[i])


@serial_and_parallel
def softmax_kernel(y, z, w, hessian_scale, grad_out, hess_out):
    """grad_j = p_j - [y = j], hess_j = scale p_j (1 - p_j), p_j = exp(z_j - max z) / sum_l exp(z_l - max z).

    Column passes with two per-row temporaries; the exponentials are recomputed in the output pass.
    """
    n, k = z.shape
    scratch = np.empty((2, n))
    m, s = scratch[0], scratch[1]
    _softmax_columns(z, m, s)
    for j in range(k):
        for i in prange(n):
            p = vexp(z[i, j] - m[i]) / s[i]
            wi = _weight(w, i)
            grad_out[i, j] = (p - (1.0 if y[i] == j else 0.0)) * wi
            hess_out[i, j] = max(hessian_scale * p * (1.0 - p), HESS_FLOOR) * wi


def softmax_focal_kernel(y, z, w, alpha, gamma, hessian_scale, positive_hessian, grad_out, hess_out):
    """Multiclass focal loss; see SoftmaxFocalLoss for the formulas.

    Two compiled functions over per-row temporaries (64 bytes a row): the per-row factors, then the outputs. All
    of it in one function compiled to slower code (1M rows x 3 classes, 1 thread: 113 ms against 44 ms for the
    two apart, measured once side by side), presumably as LLVM's vectoriser gives up on some of its loops.
    """
    scratch = np.empty((8, z.shape[0]))
    _softmax_focal_rows(y, z, w, alpha, gamma, scratch)
    _softmax_focal_output(y, z, hessian_scale, positive_hessian, scratch, grad_out, hess_out)


@serial_and_parallel
def _softmax_focal_rows(y, z, w, alpha, gamma, scratch):
    """Per row: max, sum of exponentials, 1 - q, the focal factors A, q A'(q)(1 - q), (1 - q)^gamma and weight."""
    n, k = z.shape
    m, s, u, z_label = scratch[0], scratch[1], scratch[2], scratch[3]
    big_a, qa_prime, mod, a = scratch[4], scratch[5], scratch[6], scratch[7]
    _softmax_columns(z, m, s)
    for i in prange(n):  # the gathers (label's score, alpha, weight) apart, so the loops below vectorise
        u[i] = 0.0
        z_label[i] = z[i, y[i]]
        a[i] = (1.0 if alpha.shape[0] == 0 else alpha[y[i]]) * _weight(w, i)
    # 1 - q as the other classes' exponentials summed apart (keeps its precision when q is near 1)
    for j in range(k):
        for i in prange(n):
            u[i] += vexp(z[i, j] - m[i]) if y[i] != j else 0.0
    for i in prange(n):
        q = vexp(z_label[i] - m[i]) / s[i]
        log_q = z_label[i] - (m[i] + vlog(s[i]))
        ui = u[i] / s[i]
        u[i] = ui
        r = log_q / ui if ui > 1e-8 else -1.0 - 0.5 * ui  # log(1 - u) / u, its limit as u -> 0
        # (1 - q)^gamma: exactly 1 for gamma = 0, 0 when q rounds to 1
        mod_i = vexp(gamma * vlog(ui)) if ui > 0 else (1.0 if gamma == 0.0 else 0.0)
        mod[i] = mod_i
        big_a[i] = mod_i * (gamma * q * r - 1.0)
        # q A'(q) (1 - q): the (1 - q)^(gamma - 2) factor is folded in so nothing divides by zero
        qa_prime[i] = gamma * q * mod_i * (log_q + 2.0 - (gamma - 1.0) * q * r)


# compiled without ``contract``: with it, LLVM fused the vectorised loop and its scalar remainder differently, so a
# row's hessian depended on its position (1 ulp in about one call in five on random inputs; 0 in 1,500 calls of
# every pointwise objective without it; tests/objectives/test_objective_properties.py permutes rows). The same speed
# as with it (1M rows x 3 classes, 1 thread, alternated processes: 39.7 / 35.6 ms against 36.3 / 37.8 ms).
@exact_serial_and_parallel
def _softmax_focal_output(y, z, hessian_scale, positive_hessian, scratch, grad_out, hess_out):
    n, k = z.shape
    m, s, u = scratch[0], scratch[1], scratch[2]
    big_a, qa_prime, mod, a = scratch[4], scratch[5], scratch[6], scratch[7]
    for j in range(k):
        for i in prange(n):
            p = vexp(z[i, j] - m[i]) / s[i]
            dp = (1.0 if y[i] == j else 0.0) - p
            h = -big_a[i] * p * (1.0 - p) + (qa_prime[i] * dp * dp / u[i] if u[i] > 0.0 else 0.0)
            gn = max(mod[i] * p * (1.0 - p), HESS_FLOOR)  # the Gauss-Newton term (positive_hessian)
            grad_out[i, j] = a[i] * big_a[i] * dp
            hess_out[i, j] = a[i] * hessian_scale * (max(h, gn) if positive_hessian else h)
