"""Vectorisable double-precision ``exp`` and ``log`` for the numba kernels.

A loop that calls libm's ``exp``/``log`` cannot be vectorised by LLVM (without Intel SVML, which the PyPI
llvmlite does not use), so a logistic or softmax kernel runs one element per libm call. These inline versions use
only multiplications, additions, one division, selects and integer bit operations, so a kernel loop built from them
compiles to AVX2/AVX-512 code (4 to 8 rows per instruction). They are accurate to about one unit in the last place
(``tests/core/test_vmath.py`` checks them against numpy over the full range they are used on).

Methods (textbook, e.g. Muller, *Elementary Functions*, 3rd ed., ch. 11; Cody & Waite 1980):

* ``vexp(x)``: argument reduction x = k ln 2 + r, |r| <= ln(2)/2, with k = round(x / ln 2) and ln 2 split into a
  high part (exact products k * LN2_HI for |k| < 2^11) and a low part; exp(r) by its Taylor polynomial of degree 13
  (truncation error below r^14 / 14! < 5e-18); the result is scaled by 2^k built from the exponent bits.
* ``vlog(x)``: x = m 2^e with m in [sqrt(1/2), sqrt(2)), log x = e ln 2 + 2 atanh(u), u = (m - 1) / (m + 1).
* ``vlog1p_unit(x)``: log(1 + x) = 2 atanh(x / (2 + x)) for x in [0, 1], exact for tiny x (no 1 + x rounding).
* ``atanh(u) = u (1 + u^2/3 + u^4/5 + ...)``, summed to u^34/35: below 2^-53 relative for |u| <= 1/3.
"""

from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from .jit import INLINE

__all__ = ["vexp", "vlog", "vlog1p_unit"]

_INLINE = INLINE

LOG2E = 1.4426950408889634
LN2_HI = 6.93147180369123816490e-01  # ln 2 rounded to 32 significant bits: k * LN2_HI is exact
LN2_LO = 1.90821492927058770002e-10  # ln 2 - LN2_HI
_ROUND_SHIFT = 6755399441055744.0  # 1.5 * 2**52: adding it rounds a double to an integer held in the low bits
EXP_MIN_ARG = -708.0  # below this exp(x) < 3.3e-308 is returned as 0 (no subnormal results)
SQRT2 = 1.4142135623730951
_EXP_MASK = 0x7FF0000000000000
_MANTISSA_MASK = 0x000FFFFFFFFFFFFF
_ONE_BITS = 0x3FF0000000000000  # bit pattern of 1.0

# 1 / n! for n = 0..13 and 1 / (2n + 1) for n = 0..17, written out so numba folds them as constants
_E0, _E1, _E2, _E3 = 1.0, 1.0, 1.0 / 2, 1.0 / 6
_E4, _E5, _E6, _E7 = 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040
_E8, _E9, _E10 = 1.0 / 40320, 1.0 / 362880, 1.0 / 3628800
_E11, _E12, _E13 = 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800


@intrinsic
def _f64_bits(typingctx, x):
    """Reinterpret a float64 as int64 (a plain bitcast; LLVM vectorises it)."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _bits_f64(typingctx, x):
    """Reinterpret an int64 as float64."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@njit(**_INLINE)
def vexp(x):
    """exp(x) for x <= 709 (finite); 0 for x < -708. Not for NaN (kernels receive validated, finite scores)."""
    xc = x if x > EXP_MIN_ARG else EXP_MIN_ARG
    shifted = xc * LOG2E + _ROUND_SHIFT
    k_int = _f64_bits(shifted) - _f64_bits(_ROUND_SHIFT)  # round(xc / ln 2) as an integer
    k = shifted - _ROUND_SHIFT
    r = (xc - k * LN2_HI) - k * LN2_LO
    p = _E13
    p = p * r + _E12
    p = p * r + _E11
    p = p * r + _E10
    p = p * r + _E9
    p = p * r + _E8
    p = p * r + _E7
    p = p * r + _E6
    p = p * r + _E5
    p = p * r + _E4
    p = p * r + _E3
    p = p * r + _E2
    p = p * r + _E1
    p = p * r + _E0
    result = p * _bits_f64((k_int + 1023) << 52)
    return result if x > EXP_MIN_ARG else 0.0


@njit(**_INLINE)
def _two_atanh(u):
    """2 atanh(u) for |u| <= 1/3 (odd series in u, Horner in u^2)."""
    v = u * u
    s = 1.0 / 35
    s = s * v + 1.0 / 33
    s = s * v + 1.0 / 31
    s = s * v + 1.0 / 29
    s = s * v + 1.0 / 27
    s = s * v + 1.0 / 25
    s = s * v + 1.0 / 23
    s = s * v + 1.0 / 21
    s = s * v + 1.0 / 19
    s = s * v + 1.0 / 17
    s = s * v + 1.0 / 15
    s = s * v + 1.0 / 13
    s = s * v + 1.0 / 11
    s = s * v + 1.0 / 9
    s = s * v + 1.0 / 7
    s = s * v + 1.0 / 5
    s = s * v + 1.0 / 3
    return 2.0 * u + 2.0 * u * (s * v)


@njit(**_INLINE)
def vlog1p_unit(x):
    """log(1 + x) for x in [0, 1] (the log-sigmoid's log1p(exp(-|z|)))."""
    return _two_atanh(x / (2.0 + x))


@njit(**_INLINE)
def vlog(x):
    """log(x) for normal positive x (x >= 2.2e-308; smaller x is treated as 2.2e-308)."""
    bits = _f64_bits(x if x > 2.2250738585072014e-308 else 2.2250738585072014e-308)
    e = ((bits & _EXP_MASK) >> 52) - 1023
    m = _bits_f64((bits & _MANTISSA_MASK) | _ONE_BITS)  # in [1, 2)
    big = m > SQRT2
    m = 0.5 * m if big else m
    ef = float(e + 1) if big else float(e)
    return ef * LN2_HI + (_two_atanh((m - 1.0) / (m + 1.0)) + ef * LN2_LO)
