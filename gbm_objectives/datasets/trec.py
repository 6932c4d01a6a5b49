"""TREC files: :func:`read_qrels` and :func:`read_run`, read as trec_eval reads them.

A *run* lists, per query, the documents a system retrieved with their scores (``qid Q0 docno rank score tag``);
*qrels* list the judged documents of each query (``qid 0 docno relevance``). Files are tokenized by a compiled
scanner over the raw bytes (plain or gzipped); strings become pandas Categoricals (the distinct strings only become
Python objects). :func:`gbm_objectives.metrics.evaluate_run` evaluates what these return.

>>> import gbm_objectives as go, tempfile, os
>>> d = tempfile.mkdtemp(); path = os.path.join(d, "run.txt")
>>> _ = open(path, "w").write("1 Q0 a 1 0.5 sys\\n1 Q0 c 2 0.9 sys\\n")
>>> go.read_run(path)[["qid", "docno", "score"]].to_dict("list")
{'qid': ['1', '1'], 'docno': ['a', 'c'], 'score': [0.5, 0.9]}
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numba
import numpy as np
from llvmlite import ir as llvm_ir
from numba import njit
from numba.core import cgutils, types
from numba.extending import intrinsic

from ._letor_scanner import POW10
from .letor import UTF8_BOM

__all__ = ["read_qrels", "read_run"]


# ----------------------------------------------------------------------------------------------------------------
# compiled reading: one pass over the bytes of a whitespace-separated file


def _pow10_128():
    """128-bit mantissas of ``10**e``, e = -348 .. 347, rounded down (the table of Go's ``strconv`` and of wuffs):
    the top bit of each is set and ``10**e`` is ``m * 2**x`` (plus less than one unit of ``m``) for an integer
    ``x``. Returns the low and high 64-bit halves."""
    lo, hi = [], []
    for e in range(_EL_MIN, _EL_MAX + 1):
        if e >= 0:
            v = 10**e
            b = v.bit_length()
            v = v >> (b - 128) if b > 128 else v << (128 - b)
        else:
            d = 10**-e
            v = (1 << (d.bit_length() + 127)) // d  # in (2**127, 2**128): d is not a power of two
        lo.append(v & (2**64 - 1))
        hi.append(v >> 64)
    return np.array(lo, dtype=np.uint64), np.array(hi, dtype=np.uint64)


_EL_MIN, _EL_MAX = -348, 347
_POW10_LO, _POW10_HI = _pow10_128()
_U0, _U1, _U10 = np.uint64(0), np.uint64(1), np.uint64(10)
_M32, _S32 = np.uint64(0xFFFFFFFF), np.uint64(32)
_LOW9 = np.uint64(0x1FF)
_TWO53 = np.uint64(2**53)
_MANT52 = np.uint64(2**52 - 1)
_E8, _E11 = np.uint64(10**8), np.uint64(10**11)
_F0, _SIX, _THREES = np.uint64(0xF0F0F0F0F0F0F0F0), np.uint64(0x0606060606060606), np.uint64(0x3333333333333333)
_ZEROS, _M8 = np.uint64(0x3030303030303030), np.uint64(0x000000FF000000FF)
_MUL1, _MUL2 = np.uint64(100 + (1000000 << 32)), np.uint64(1 + (10000 << 32))
_E18 = np.uint64(10**18)
_FNV_PRIME = np.uint64(1099511628211)
_MIX = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio: a multiplicative hash
_HIGH, _LOW7 = np.uint64(0x8080808080808080), np.uint64(0x7F7F7F7F7F7F7F7F)
_ADD5F = np.uint64(0x5F5F5F5F5F5F5F5F)  # 0x80 - 0x21: (b & 0x7F) + 0x5F has its high bit set iff (b & 0x7F) > 0x20
_NLS = np.uint64(0x0A0A0A0A0A0A0A0A)  # "\n" * 8
_SPACES = np.uint64(0x2020202020202020)
_GATHER = np.uint64(0x0102040810204080)  # (high bits >> 7) * _GATHER >> 56: bit t = byte t's high bit
_S7, _S56, _S63 = np.uint64(7), np.uint64(56), np.uint64(63)


@intrinsic
def _load_u64(typingctx, arr, idx):
    """The 8 bytes of a uint8 array from ``idx`` as one little-endian uint64 (an unaligned load; the caller keeps
    ``idx + 8`` within the array)."""
    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        ptr = builder.gep(ary.data, [args[1]])
        return builder.load(builder.bitcast(ptr, llvm_ir.IntType(64).as_pointer()), align=1)

    return types.uint64(arr, types.intp), codegen


@intrinsic
def _cttz(typingctx, x):
    """Trailing zero bits of a non-zero uint64 (LLVM's ``cttz``)."""
    def codegen(context, builder, sig, args):
        fnty = llvm_ir.FunctionType(llvm_ir.IntType(64), [llvm_ir.IntType(64), llvm_ir.IntType(1)])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.cttz.i64")
        return builder.call(fn, [args[0], llvm_ir.Constant(llvm_ir.IntType(1), 1)])

    return types.uint64(types.uint64), codegen


@intrinsic
def _popcount(typingctx, x):
    """Set bits of a uint64 (LLVM's ``ctpop``)."""
    def codegen(context, builder, sig, args):
        fnty = llvm_ir.FunctionType(llvm_ir.IntType(64), [llvm_ir.IntType(64)])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.ctpop.i64")
        return builder.call(fn, [args[0]])

    return types.uint64(types.uint64), codegen


@njit(cache=True, nogil=True)
def _bitmaps(buf, start, end, seps, nls):
    """Bit ``t`` of the bytes ``seps`` is set where byte ``start + t`` of ``buf`` is below 0x21 (a separator
    candidate), of ``nls`` where it is a newline, for the whole words of ``buf[start:end]`` (8 bytes give a byte
    of bits: their high bits gathered by one multiplication). Returns whether the bytes below 0x21 are all spaces
    and newlines: only then is a flagged byte a separator for sure (else tabs, carriage returns or control
    characters: the caller takes the byte by byte path)."""
    nw = (end - start) // 8
    other = _U0
    for k in range(nw):
        w = _load_u64(buf, start + 8 * k)
        low = ~(((w & _LOW7) + _ADD5F) | w) & _HIGH  # the high bit of each byte < 0x21
        x = w ^ _NLS
        nl = ~(((x & _LOW7) + _LOW7) | x) & _HIGH  # ... of each newline
        y = w ^ _SPACES
        sp = ~(((y & _LOW7) + _LOW7) | y) & _HIGH  # ... of each space
        other |= low & ~(nl | sp)
        seps[k] = np.uint8(((low >> _S7) * _GATHER) >> _S56)
        nls[k] = np.uint8(((nl >> _S7) * _GATHER) >> _S56)
    for k in range(nw, seps.shape[0]):  # the bytes past the last whole word
        seps[k] = nls[k] = 0
    return other == _U0


@intrinsic
def _as_double(typingctx, x):
    """The float64 whose bits are the uint64 ``x``."""
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], llvm_ir.DoubleType())

    return types.float64(types.uint64), codegen


@njit(cache=True)
def _eisel_lemire(man, exp10, p_lo, p_hi):
    """``man * 10**exp10`` correctly rounded (``man`` a non-zero uint64; ``p_lo``, ``p_hi`` the entry of
    ``10**exp10`` in :data:`_POW10_LO`/:data:`_POW10_HI`, scalars: array arguments would cost reference counting
    on every call), or ``nan`` where the algorithm does not decide: rare near-halfway cases, subnormal or infinite
    results.

    Eisel-Lemire (Lemire 2021, "Number parsing at a gigabyte per second"), step by step as Go's
    ``strconv.eiselLemire64``; the 64x64 -> 128-bit products from 32-bit halves."""
    clz = 0
    for width in (32, 16, 8, 4, 2, 1):  # leading zeros, by halving
        if man >> np.uint64(64 - width) == _U0:
            clz += width
            man = man << np.uint64(width)
    ret_exp2 = ((217706 * exp10) >> 16) + 64 + 1023 - clz
    a0, a1 = man & _M32, man >> _S32
    b0, b1 = p_hi & _M32, p_hi >> _S32
    p00, p01, p10, p11 = a0 * b0, a0 * b1, a1 * b0, a1 * b1
    mid = (p00 >> _S32) + (p01 & _M32) + (p10 & _M32)
    x_hi = p11 + (p01 >> _S32) + (p10 >> _S32) + (mid >> _S32)
    x_lo = (p00 & _M32) | (mid << _S32)
    if (x_hi & _LOW9) == _LOW9 and x_lo + man < man:  # the wider approximation
        b0, b1 = p_lo & _M32, p_lo >> _S32
        p00, p01, p10, p11 = a0 * b0, a0 * b1, a1 * b0, a1 * b1
        mid = (p00 >> _S32) + (p01 & _M32) + (p10 & _M32)
        y_hi = p11 + (p01 >> _S32) + (p10 >> _S32) + (mid >> _S32)
        y_lo = (p00 & _M32) | (mid << _S32)
        merged_hi, merged_lo = x_hi, x_lo + y_hi
        if merged_lo < x_lo:
            merged_hi += _U1
        if (merged_hi & _LOW9) == _LOW9 and merged_lo + _U1 == _U0 and y_lo + man < man:
            return np.nan
        x_hi, x_lo = merged_hi, merged_lo
    msb = x_hi >> _S63
    ret_mant = x_hi >> (msb + np.uint64(9))
    ret_exp2 -= 1 - np.int64(msb)
    if x_lo == _U0 and (x_hi & _LOW9) == _U0 and (ret_mant & np.uint64(3)) == _U1:  # halfway: undecided
        return np.nan
    ret_mant = (ret_mant + (ret_mant & _U1)) >> _U1
    if ret_mant >> np.uint64(53) > _U0:
        ret_mant = ret_mant >> _U1
        ret_exp2 += 1
    if ret_exp2 <= 0 or ret_exp2 >= 0x7FF:  # subnormal or infinite: left to float()
        return np.nan
    # the double's bits: the biased exponent over the 52 stored bits of the 53-bit mantissa (ldexp, a library call)
    return _as_double((np.uint64(ret_exp2) << np.uint64(52)) | (ret_mant & _MANT52))


@njit(cache=True)
def _rehash(hashes, count, cap):
    table = np.full(cap, -1, dtype=np.int64)
    mask = np.uint64(cap - 1)
    for u in range(count):
        sl = np.int64(hashes[u] & mask)
        while table[sl] != -1:
            sl = (sl + 1) & (cap - 1)
        table[sl] = u
    return table


# the state of a scan between calls of _scan_rows: byte position, line, rows, distinct strings, codes of each
# field, the previous row's first string (start, end, code), the size of the pool used, status
_I, _LINE, _ROW, _NU, _NC0, _NC1, _PS, _PE, _PC, _POOL, _STATUS = range(11)
_DONE, _GROW, _BAD = 0, 1, 2


@njit(cache=True, nogil=True)
def _scan_rows(buf, n, n_fields, f_a, f_b, f_num, st, code_a, code_b, value, num_s, table, uo, uh, uk, uf, uc, pool,
               pow10, tlo, thi, seps, nls, base, fast):
    """The loop of :func:`_scan`, from the state ``st`` until byte ``n``, a bad line, or until a table is full (then
    ``st[_STATUS]`` is ``_GROW`` and the row is left for the next call). The usual line (``fast``: the chunk's
    bytes below 0x21 are spaces and newlines; ``n_fields`` fields separated by one space, at most 64 bytes) takes
    its field ends from the bitmaps of :func:`_bitmaps` (``seps``, ``nls``, bit ``t`` for byte ``base + t``): the
    64 bits from the line's start, checked and counted by bit arithmetic, visited by counting trailing zeros, no
    byte read: 0.4 times the time of the byte path. Any other line takes the byte path: a field at a time, its end
    found 8 bytes at a time (a word's bytes below 0x21 flagged by carry-free arithmetic). No array is reassigned
    in the loop: that made it 2.5 times slower (numba then reloads the arrays and counts their references on every
    row)."""
    i, line, row, nu = st[_I], st[_LINE], st[_ROW], st[_NU]
    prev_s, prev_e, prev_code, used = st[_PS], st[_PE], st[_PC], st[_POOL]
    prev_k0 = _U0
    if prev_e >= prev_s:
        for t in range(min(8, prev_e - prev_s)):
            prev_k0 |= np.uint64(buf[prev_s + t]) << np.uint64(8 * t)
    nbuf = buf.shape[0]
    cap = table.shape[0]
    mask = np.uint64(cap - 1)
    st[_STATUS] = _DONE
    line_start = i
    a0 = a1 = b0 = b1 = v0 = v1 = 0
    while i < n:
        line_start = i
        count = 0
        # ---- the usual line, from the bitmaps: its 64 bytes from i as one word of each, fields separated by one
        # space, n_fields of them before a newline; their ends by counting trailing zeros (no byte visited)
        quick = False
        sep = _U0
        if fast and i + 72 <= n:
            j = ((i - base) >> 6) << 3  # the byte of the bitmaps where the word holding i's bit starts
            r = np.uint64((i - base) & 63)
            sep = (_load_u64(seps, j) >> r) | ((_load_u64(seps, j + 8) << _U1) << (_S63 - r))
            nlw = (_load_u64(nls, j) >> r) | ((_load_u64(nls, j + 8) << _U1) << (_S63 - r))
            nl_bit = nlw & (~nlw + _U1)  # the first newline
            sep = (sep & (nl_bit - _U1)) | nl_bit  # the separators of the line and its newline
            quick = nl_bit != _U0 and (sep & _U1) == _U0 and (sep & (sep << _U1)) == _U0 and \
                _popcount(sep) == np.uint64(n_fields)
        e = i - 1
        while True:  # the line's fields: [s0, e)
            if quick:
                if count == n_fields:
                    i = e  # the newline
                    break
                s0 = e + 1
                e = i + np.int64(_cttz(sep))
                sep &= sep - _U1
            else:  # any other line: each field from its first byte to the next whitespace byte (8 bytes at a time)
                while i < n:  # the blanks before a field (a newline ends the line)
                    ch = buf[i]
                    if ch == 32 or (9 <= ch <= 13 and ch != 10):
                        i += 1
                    else:
                        break
                if i >= n or buf[i] == 10:
                    break
                s0 = i
                i += 1
                while True:
                    if i + 8 <= n:
                        w = _load_u64(buf, i)
                        m = ~(((w & _LOW7) + _ADD5F) | w) & _HIGH  # the high bit of each byte < 0x21
                        if m == _U0:
                            i += 8
                            continue
                        i += np.int64(_cttz(m) >> np.uint64(3))
                    else:
                        while i < n and buf[i] > 32:
                            i += 1
                        if i >= n:
                            break
                    ch = buf[i]
                    if ch == 32 or 9 <= ch <= 13:
                        break
                    i += 1  # another control character: part of the field
                e = i
            if count == f_a:
                a0, a1 = s0, e
            elif count == f_b:
                b0, b1 = s0, e
            elif count == f_num:
                v0, v1 = s0, e
            count += 1
        line += 1
        if count == 0:  # a blank line
            i += 1
            continue
        if count < n_fields or (count > n_fields and n_fields != _RUN_FIELDS):  # a run's extra fields: ignored
            st[_STATUS] = _BAD
            st[_LINE] = line
            st[_ROW] = count  # the number of fields found
            return
        if nu + 2 >= uh.shape[0] or used + (a1 - a0) + (b1 - b0) > pool.shape[0]:
            st[_STATUS] = _GROW  # room for two new strings first; this line again
            line -= 1
            break
        num_s[row] = v0

        # ---- the number (see _scan), written out here: a call with array arguments would count references per
        # row. Its variables (j, ee, pe ...) are not the tokenizer's
        j, ee = v0, v1
        neg = False
        if j < ee and (buf[j] == 45 or buf[j] == 43):
            neg = buf[j] == 45
            j += 1
        man = _U0
        big = False
        d0 = j
        while j + 8 <= ee and man < _E11:  # 8 digits at a time while the mantissa stays below 10**19
            w = _load_u64(buf, j)
            if ((w & _F0) | (((w + _SIX) & _F0) >> np.uint64(4))) != _THREES:
                break
            man = man * _E8 + _eight_digits(w)
            j += 8
        while j < ee:
            c = np.int64(buf[j]) - 48
            if c < 0 or c > 9:
                break
            big |= man >= _E18  # a 20th significant digit could overflow
            man = man * _U10 + np.uint64(c)
            j += 1
        nd = j - d0
        frac = 0
        if j < ee and buf[j] == 46:
            j += 1
            f0 = j
            while j + 8 <= ee and man < _E11:
                w = _load_u64(buf, j)
                if ((w & _F0) | (((w + _SIX) & _F0) >> np.uint64(4))) != _THREES:
                    break
                man = man * _E8 + _eight_digits(w)
                j += 8
            while j < ee:
                c = np.int64(buf[j]) - 48
                if c < 0 or c > 9:
                    break
                big |= man >= _E18
                man = man * _U10 + np.uint64(c)
                j += 1
            frac = j - f0
            nd += frac
        good = nd > 0 and not big
        exp = 0
        if j < ee and (buf[j] == 101 or buf[j] == 69):
            j += 1
            eneg = False
            if j < ee and (buf[j] == 45 or buf[j] == 43):
                eneg = buf[j] == 45
                j += 1
            e0 = j
            while j < ee:
                c = np.int64(buf[j]) - 48
                if c < 0 or c > 9:
                    break
                if exp < 100_000:
                    exp = exp * 10 + c
                j += 1
            good = good and j > e0
            if eneg:
                exp = -exp
        v = np.nan
        if good and j == ee:
            pe = exp - frac
            if man == _U0:
                v = 0.0
            elif man <= _TWO53 and -22 <= pe <= 22:  # Clinger
                v = np.float64(man)
                v = v * pow10[pe] if pe >= 0 else v / pow10[-pe]
            elif _EL_MIN <= pe <= _EL_MAX:
                v = _eisel_lemire(man, pe, tlo[pe - _EL_MIN], thi[pe - _EL_MIN])
            if neg:
                v = -v
        value[row] = v

        # ---- the two strings: dictionary codes. A string's first 8 bytes are one word (``k0``, zero-padded):
        # hashed and compared as such, the rest byte by byte (rare: most ids are short)
        for f in range(2):
            s, e = (a0, a1) if f == 0 else (b0, b1)
            ln = e - s
            if s + 8 <= nbuf:
                k0 = _load_u64(buf, s)
            else:
                k0 = _U0
                for t in range(min(8, nbuf - s)):
                    k0 |= np.uint64(buf[s + t]) << np.uint64(8 * t)
            if ln < 8:
                k0 &= (_U1 << np.uint64(8 * ln)) - _U1
            if f == 0 and ln == prev_e - prev_s and k0 == prev_k0:  # the same query as the line before?
                same = True
                for t in range(8, ln):
                    if buf[s + t] != buf[prev_s + t]:
                        same = False
                        break
                if same:
                    code_a[row] = prev_code
                    continue
            h = (k0 ^ (np.uint64(ln) << np.uint64(56)) ^ np.uint64(f)) * _MIX
            for j in range(s + 8, e):
                h = (h ^ np.uint64(buf[j])) * _FNV_PRIME
            h ^= h >> _S32
            slot = np.int64(h & mask)
            code = -1
            while True:
                u = table[slot]
                if u < 0:
                    break
                if uk[u] == k0 and uh[u] == h and uf[u] == f and uo[u + 1] - uo[u] == ln:
                    same = True
                    o = uo[u]
                    for t in range(8, ln):
                        if buf[s + t] != pool[o + t]:
                            same = False
                            break
                    if same:
                        code = uc[u]
                        break
                slot = (slot + 1) & (cap - 1)
            if code < 0:  # a new string: into the pool and the table
                for t in range(ln):
                    pool[used + t] = buf[s + t]
                used += ln
                uo[nu + 1] = used
                code = st[_NC0 + f]
                st[_NC0 + f] += 1
                uh[nu], uk[nu], uf[nu], uc[nu] = h, k0, f, code
                table[slot] = nu
                nu += 1
            if f == 0:
                code_a[row] = code
                prev_s, prev_e, prev_code, prev_k0 = s, e, code, k0
            else:
                code_b[row] = code
        row += 1
        i += 1
        line_start = i
    st[_I], st[_LINE], st[_ROW], st[_NU] = min(line_start, n), line, row, nu
    st[_PS], st[_PE], st[_PC], st[_POOL] = prev_s, prev_e, prev_code, used


def _scan(buf, start, end, n_fields, f_a, f_b, f_num, code_a, code_b, value, num_s):
    """Lines of exactly ``n_fields`` whitespace-separated fields in ``buf[start:end]`` (blank lines skipped), in one
    pass over the bytes: per row, the dictionary codes of the strings in fields ``f_a`` and ``f_b`` (codes in order
    of first occurrence; one open-addressing table for both, its strings copied into a compact pool so that a
    lookup does not reach back into the file), the number in field ``f_num`` and where it starts.

    The number is parsed as Python's ``float`` parses it, correctly rounded: ``[+-]digits[.digits][(e|E)[+-]
    digits]`` with at most 19 significant digits (8 digits at a time), by Clinger's fast path (mantissa <= 2**53
    and power of ten <= 22: two exact doubles, one IEEE multiplication or division, one rounding) or
    :func:`_eisel_lemire`. Anything else (nan, inf, ``1_0``, longer mantissas, subnormal or overflowing results,
    words) is ``nan`` here, left to Python.

    The per-row arrays (``code_a`` ...) are filled from 0 and must hold one row per line. Returns ``(n_rows, pool,
    u_off, u_field, n_u, bad_line, bad_count)``: the distinct strings are ``pool[u_off[u]:u_off[u + 1]]``, ``u <
    n_u``, in order of first occurrence (``u_field`` 0 for ``f_a``, 1 for ``f_b``); ``bad_line`` > 0 is the first
    (1-based, counted from ``start``) line with another number of fields (``bad_count`` of them).

    Python around the compiled loop :func:`_scan_rows` (which releases the GIL): the tables grow here, with numpy,
    so that the first call of a reader compiles no growth code (:func:`_rehash` compiles when a file first has
    more than about 500 distinct strings in a chunk)."""
    size = 1024
    table = np.full(2 * size, -1, dtype=np.int64)
    uo = np.zeros(size + 1, dtype=np.int64)
    uh, uk = np.empty(size, dtype=np.uint64), np.empty(size, dtype=np.uint64)
    uf, uc = np.empty(size, dtype=np.int64), np.empty(size, dtype=np.int64)
    pool = np.empty(16 * size, dtype=np.uint8)
    st = np.zeros(11, dtype=np.int64)
    st[_I] = start
    st[_PE] = -1
    size8 = 8 * ((end - start) // 64 + 2)  # whole words, and one more: a line's 64 bits span two
    seps, nls = np.empty(size8, dtype=np.uint8), np.empty(size8, dtype=np.uint8)
    fast = bool(_bitmaps(buf, start, end, seps, nls))
    while True:
        _scan_rows(buf, end, n_fields, f_a, f_b, f_num, st, code_a, code_b, value, num_s, table, uo, uh, uk, uf, uc,
                   pool, POW10, _POW10_LO, _POW10_HI, seps, nls, start, fast)
        if st[_STATUS] == _BAD:
            return 0, pool, uo, uf, 0, int(st[_LINE]), int(st[_ROW])
        if st[_STATUS] == _DONE:
            return int(st[_ROW]), pool, uo, uf, int(st[_NU]), 0, 0
        nu = int(st[_NU])  # grow: the string tables while half full, the pool to hold this line's strings
        if nu + 2 >= uh.shape[0]:
            size *= 2
            uo, uh, uk, uf, uc = (_grown(a, size + (a is uo)) for a in (uo, uh, uk, uf, uc))
            table = _rehash(uh, nu, 2 * size)
        nl = _next_newline(buf, int(st[_I]))
        need = int(st[_POOL]) + (end if nl < 0 or nl > end else nl) - int(st[_I])
        if need > pool.shape[0]:
            pool = _grown(pool, max(2 * pool.shape[0], need))


def _grown(a, size):
    """A copy of ``a`` in a larger array of ``size`` elements (the rest uninitialised)."""
    out = np.empty(size, dtype=a.dtype)
    out[: len(a)] = a
    return out


@njit(inline="always", cache=True)
def _eight_digits(w):
    """The value of 8 ASCII digits in a little-endian word (first digit in the low byte), by 3 multiplications
    (Lemire's ``parse_eight_digits_unrolled``)."""
    v = w - _ZEROS
    v = v * _U10 + (v >> np.uint64(8))
    v = (((v & _M8) * _MUL1) + (((v >> np.uint64(16)) & _M8) * _MUL2)) >> _S32
    return v & _M32


@njit(cache=True)
def _token_ends(buf, starts):
    """Where each field starting at ``starts`` ends (the next whitespace byte, or the end)."""
    out = np.empty(starts.shape[0], dtype=np.int64)
    n = buf.shape[0]
    for r in range(starts.shape[0]):
        i = starts[r]
        while i < n and not (buf[i] == 32 or 9 <= buf[i] <= 13):
            i += 1
        out[r] = i
    return out


@njit(cache=True)
def _locate(buf, n_fields, row, field):
    """The 1-based line of data row ``row`` (blank lines skipped) and the byte range of its field ``field`` (a second
    pass, only for error messages)."""
    n = buf.shape[0]
    i = 0
    line = 0
    r = -1
    while i < n:
        line += 1
        count = 0
        s0 = e0 = 0
        while True:
            while i < n and (buf[i] == 32 or (9 <= buf[i] <= 13 and buf[i] != 10)):
                i += 1
            if i >= n or buf[i] == 10:
                break
            s = i
            while i < n and not (buf[i] == 32 or 9 <= buf[i] <= 13):
                i += 1
            if count == field:
                s0, e0 = s, i
            count += 1
        i += 1
        if count:
            r += 1
            if r == row:
                return line, s0, e0
    return -1, 0, 0


@njit(cache=True)
def _gather(buf, starts, ends):
    """Concatenate the byte ranges: ``(data, offsets)`` of an Arrow string array."""
    n = starts.shape[0]
    offsets = np.empty(n + 1, dtype=np.int64)
    offsets[0] = 0
    for r in range(n):
        offsets[r + 1] = offsets[r] + ends[r] - starts[r]
    data = np.empty(offsets[n], dtype=np.uint8)
    for r in range(n):
        o = offsets[r] - starts[r]
        for j in range(starts[r], ends[r]):
            data[o + j] = buf[j]
    return data, offsets


def _read_bytes(path, name):
    """``(buf, start)``: the bytes of a file (gzip: decompressed) as a uint8 array, and where its text starts (after
    a UTF-8 byte order mark, which would otherwise become part of the first qid).

    A plain file is read into memory (one buffer, no copy after the read), not memory-mapped: a mapped file that
    shrinks while it is scanned kills the process with SIGBUS. A file whose size changes during the read is
    refused (ValueError), as are a folder and a gzip file that is truncated or corrupt (the path is named)."""
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"{name}: {str(path)!r} is a folder, not a {name} file")
    if not p.is_file():
        raise FileNotFoundError(f"{name}: no such file {str(path)!r}")
    with open(p, "rb", buffering=0) as fh:
        size = os.fstat(fh.fileno()).st_size
        buf = np.empty(size, dtype=np.uint8)
        view = memoryview(buf)
        got = 0
        while got < size:  # one read, except where the OS caps a read (about 2 GiB on Linux)
            k = fh.readinto(view[got:])
            if not k:
                break
            got += k
        if got != size or os.fstat(fh.fileno()).st_size != size:
            raise ValueError(f"{path}: the file changed size while it was read ({size} bytes, then "
                             f"{os.fstat(fh.fileno()).st_size}); read it again once it is complete")
    if size >= 2 and buf[0] == 0x1F and buf[1] == 0x8B:
        try:
            buf = np.frombuffer(gzip.decompress(buf), dtype=np.uint8)
        except (EOFError, OSError, zlib.error) as exc:  # truncated (EOFError), not gzip (BadGzipFile), corrupt
            raise ValueError(f"{path}: not a complete gzip file ({exc})") from None
    start = len(UTF8_BOM) if buf[: len(UTF8_BOM)].tobytes() == UTF8_BOM else 0
    return buf, start


def _next_newline(buf, pos):
    """The index of the first newline at or after ``pos`` in ``buf`` (a uint8 array), or -1."""
    step = 1 << 16
    while pos < len(buf):
        hit = np.flatnonzero(buf[pos: pos + step] == 10)
        if len(hit):
            return pos + int(hit[0])
        pos += step
    return -1


def _token_text(buf, s, e):
    return bytes(buf[s:e]).decode("utf-8", errors="replace")


def _sort_order(arr):
    """Indices that sort an Arrow string array (byte order). Strings of at most 8 bytes (most ids) are sorted as
    big-endian words with their length as the tie-break (a prefix first): a numpy lexsort, 3 times faster than
    Arrow's string sort."""
    import pyarrow.compute as pc

    n = len(arr)
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64)[arr.offset: arr.offset + n + 1]
    lens = np.diff(offsets)
    if n == 0 or lens.max() > 8:
        return pc.sort_indices(arr).to_numpy()
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, dtype=np.uint8)
    keys = _big_endian_keys(data, offsets)
    return np.lexsort((lens, keys))


@njit(cache=True)
def _big_endian_keys(data, offsets):
    """Each string (at most 8 bytes) as a uint64 whose big-endian bytes are the string, zero-padded: the words
    compare as the strings do, up to a prefix padded with zero bytes (the length breaks that tie)."""
    n = offsets.shape[0] - 1
    out = np.zeros(n, dtype=np.uint64)
    for r in range(n):
        k = _U0
        for t in range(8):
            k = k << np.uint64(8)
            if offsets[r] + t < offsets[r + 1]:
                k |= np.uint64(data[offsets[r] + t])
        out[r] = k
    return out


def _merge_strings(parts, codes, offs, rows, field, path):
    """The pandas Categorical of one field from the chunks' dictionaries: the categories are the distinct strings of
    all chunks, sorted (byte order, which is code point order: sorting the column sorts the strings), and its codes:
    ``codes`` (each chunk's rows at ``offs[k]``, local codes) rewritten into the sorted categories, the chunks one
    after another (int16 codes where they fit, as pandas keeps them)."""
    import pandas as pd

    datas, offsets, counts = [], [], []
    for pool, u_off, u_field, n_u in parts:
        sel = np.flatnonzero(u_field[:n_u] == field)  # in local code order: codes follow first occurrence
        data, off = _gather(pool, u_off[sel], u_off[sel + 1])
        datas.append(data)
        offsets.append(off)
        counts.append(len(sel))
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:  # pragma: no cover - pandas without pyarrow: Python strings
        strings = []
        for data, off in zip(datas, offsets):
            raw = data.tobytes()
            try:
                strings += [raw[a:b].decode() for a, b in zip(off[:-1].tolist(), off[1:].tolist())]
            except UnicodeDecodeError as exc:
                raise ValueError(f"{path}: not UTF-8 text ({exc})") from None
        uniq = sorted(set(strings))
        where = {x: i for i, x in enumerate(uniq)}
        glob = np.array([where[x] for x in strings], dtype=np.int64)
        cats = pd.Index(np.array(uniq, dtype=object))
    else:
        arrays = [pa.LargeStringArray.from_buffers(c, pa.py_buffer(o), pa.py_buffer(d))
                  for c, o, d in zip(counts, offsets, datas)]
        for arr in arrays:
            try:
                arr.validate(full=True)
            except pa.ArrowInvalid as exc:
                raise ValueError(f"{path}: not UTF-8 text ({exc})") from None
        if len(arrays) == 1:
            uniq, index = arrays[0], None
        else:  # the same string in several chunks: one category
            enc = pc.dictionary_encode(pa.concat_arrays(arrays))
            uniq, index = enc.dictionary, enc.indices.to_numpy()
        order = _sort_order(uniq)
        rank = np.empty(len(uniq), dtype=np.int64)
        rank[order] = np.arange(len(uniq), dtype=np.int64)
        glob = rank if index is None else rank[index]
        cats = pd.Index(uniq.take(order).to_pandas())
    out = np.empty(sum(rows), dtype=np.int16 if len(cats) <= 2**15 else np.int32)
    start = at = 0
    for k, c in enumerate(counts):
        _recode(codes[offs[k]: offs[k] + rows[k]], glob[start: start + c], out[at: at + rows[k]])
        start += c
        at += rows[k]
    return pd.Categorical.from_codes(out, dtype=pd.CategoricalDtype(cats), validate=False)


@njit(cache=True, nogil=True)
def _recode(local, glob, out):
    """``out[r] = glob[local[r]]``: a chunk's codes in the sorted categories, in one pass."""
    for r in range(local.shape[0]):
        out[r] = glob[local[r]]


#: the fields of a run's line (trec_eval ignores any after the sixth)
_RUN_FIELDS = 6
#: bytes of a file per thread, at least: smaller files are read by one thread
_CHUNK_MIN = 1 << 22


def _read_table(path, n_fields, fields, layout, name, what):
    """Read a whitespace-separated file: ``(buf, qid, docno, values)``: two Categoricals and the numbers of the
    third field. Large files are cut at newlines into one chunk per thread, scanned concurrently (the scanner
    releases the GIL), and their dictionaries merged."""
    buf, start = _read_bytes(path, name)
    n = len(buf)
    f_a, f_b, f_num = fields
    n_chunks = int(max(1, min(numba.get_num_threads(), n // _CHUNK_MIN)))
    bounds = [start]
    for k in range(1, n_chunks):
        nl = _next_newline(buf, max(n * k // n_chunks, bounds[-1]))
        bounds.append(n if nl < 0 else nl + 1)
    bounds = np.array(bounds + [n], dtype=np.int64)
    # rows a chunk can hold at most: each field takes a byte and a separator. np.empty only reserves the memory:
    # the pages that stay unwritten cost nothing (cheaper than counting the lines first)
    cap = np.diff(bounds) // (2 * n_fields) + 1
    offs = np.concatenate(([0], np.cumsum(cap)))
    code_a = np.empty(offs[-1], dtype=np.int32)
    code_b = np.empty(offs[-1], dtype=np.int32)
    value = np.empty(offs[-1])
    num_s = np.empty(offs[-1], dtype=np.int64)

    def work(k):
        a, b = offs[k], offs[k + 1]
        return _scan(buf, bounds[k], bounds[k + 1], n_fields, f_a, f_b, f_num, code_a[a:b], code_b[a:b], value[a:b],
                     num_s[a:b])

    if n_chunks == 1:
        results = [work(0)]
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(n_chunks) as ex:
            results = list(ex.map(work, range(n_chunks)))
    for k, (_, _, _, _, _, bad_line, bad_count) in enumerate(results):
        if bad_line:
            before = int(np.count_nonzero(buf[: bounds[k]] == 10))
            raise ValueError(f"{path}, line {before + bad_line}: expected {n_fields} fields ({layout}); got "
                             f"{bad_count}")
    rows = [int(res[0]) for res in results]
    if sum(rows) == 0:
        raise ValueError(f"{path}: no lines (expected {layout})")
    parts = [res[1:5] for res in results]
    qid = _merge_strings(parts, code_a, offs, rows, 0, path)
    docno = _merge_strings(parts, code_b, offs, rows, 1, path)
    at = rows[0]
    for k in range(1, n_chunks):  # the chunks' numbers moved down into one prefix
        for a in (value, num_s):
            a[at: at + rows[k]] = a[offs[k]: offs[k] + rows[k]]
        at += rows[k]
    values = _numbers(buf, value[:at], num_s[:at], n_fields, f_num, path, what)
    return buf, qid, docno, values


def _numbers(buf, values, num_s, n_fields, field, path, what):
    """Complete the numbers :func:`_scan` left as ``nan``: by Arrow's correctly rounded parser, then Python's
    ``float``; ValueError naming file and line for one that is not a finite number."""
    slow = np.flatnonzero(np.isnan(values))
    num_e = np.zeros(len(values), dtype=np.int64)
    num_e[slow] = _token_ends(buf, num_s[slow])
    pa = None
    if len(slow) > 16:  # e.g. long mantissas: Arrow's parser (fast_float, correctly rounded), vectorised
        try:
            import pyarrow as pa
            import pyarrow.compute as pc
        except ImportError:  # pragma: no cover - without the parquet extra: Python's float for each, below
            pa = None
    if pa is not None:
        data, offsets = _gather(buf, num_s[slow], num_e[slow])
        arr = pa.LargeStringArray.from_buffers(len(slow), pa.py_buffer(offsets), pa.py_buffer(data))
        try:
            values[slow] = pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
            slow = slow[~np.isfinite(values[slow])]
        except (pa.ArrowInvalid, UnicodeDecodeError):
            pass  # a token that is not a number (or spelled as only Python reads it): found below, with its line
    for r in slow.tolist():  # rare: subnormals, 20+ digits, nan/inf, garbage
        text = _token_text(buf, num_s[r], num_e[r])
        try:
            values[r] = float(text)
        except ValueError:
            line = _locate(buf, n_fields, r, field)[0]
            raise ValueError(f"{path}, line {line}: {what} must be a number; got {text!r}") from None
        if not math.isfinite(values[r]):
            line = _locate(buf, n_fields, r, field)[0]
            raise ValueError(f"{path}, line {line}: {what} must be finite; got {text!r}")
    return values


def read_qrels(path):
    """Read TREC relevance judgments ``qid 0 docno relevance`` (whitespace-separated, plain or gzipped).

    Returns
    -------
    pandas.DataFrame
        Columns ``qid`` and ``docno`` (strings, as pandas Categoricals: the categories are the distinct strings,
        sorted) and ``relevance`` (int64), one row per line, in file order.

    Raises
    ------
    FileNotFoundError
    ValueError
        A line without exactly 4 fields, a relevance that is not an integer (the message gives file and line).
    """
    import pandas as pd

    what = "the relevance (4th field)"
    buf, qid, docno, rel = _read_table(path, 4, (0, 2, 3), "qid 0 docno relevance", "qrels", what)
    reli = rel.astype(np.int64)
    if (reli != rel).any():
        r = int(np.flatnonzero(reli != rel)[0])
        line, s, e = _locate(buf, 4, r, 3)
        raise ValueError(f"{path}, line {line}: {what} must be an integer; got {_token_text(buf, s, e)!r}")
    return pd.DataFrame({"qid": qid, "docno": docno, "relevance": reli}, copy=False)  # fresh arrays: no copy


def read_run(path):
    """Read a TREC run ``qid Q0 docno rank score tag`` (whitespace-separated, plain or gzipped).

    The scores are parsed correctly rounded, bit for bit the doubles Python's ``float`` gives.

    Returns
    -------
    pandas.DataFrame
        Columns ``qid`` and ``docno`` (strings, as pandas Categoricals: the categories are the distinct strings,
        sorted) and ``score`` (float64), one row per line, in file order (the rank and tag columns are not kept:
        trec_eval ranks by score).

    Raises
    ------
    FileNotFoundError
    ValueError
        A line with fewer than 6 fields (fields after the sixth are ignored, as trec_eval does), a score that is not a finite number (file and line in the message).
    """
    import pandas as pd

    buf, qid, docno, score = _read_table(path, _RUN_FIELDS, (0, 2, 4), "qid Q0 docno rank score tag", "run",
                                         "the score (5th field)")
    frame = pd.DataFrame({"qid": qid, "docno": docno, "score": score}, copy=False)  # fresh arrays: no copy
    frame.attrs["runid"] = _last_tag(buf)
    return frame


def _last_tag(buf):
    """The sixth field of the last line that has one: trec_eval's ``runid`` (it keeps the last line's)."""
    end = len(buf)
    while end > 0:
        start = end - 1
        while start > 0 and buf[start - 1] != 10:
            start -= 1
        fields = bytes(buf[start:end]).split()
        if len(fields) >= _RUN_FIELDS:
            return fields[_RUN_FIELDS - 1].decode("utf-8", "replace")
        end = start - 1 if start > 0 else 0
    return None
