"""trec_eval's measures (version 9.0.8, the one pytrec_eval wraps, and trec_eval 10's ``unj``), one per-query
function each, and the one compiled driver that runs the measures asked for over every query.

Each function reads trec_eval's ``RES_RELS`` of one query: ``r``, the relevance of the retrieved documents in
trec_eval's ranking (score descending as float32, ties by docno descending; after ``-M`` and ``-J``) with
:data:`NONPOOL` (-1) for a document missing from the qrels and :data:`UNJUDGED` (-2) for one judged negative;
``lv[i]``, the number of the query's judged documents with relevance ``i >= 0`` (retrieved or not); ``thr``, the
relevance level (``-l``); ``num_rel = sum(lv[thr:])``. They follow trec_eval's ``m_<measure>.c`` step by step (the
loops, the truncations ``(long) (p * R + 0.9)``, the values left at 0), so their values agree to the last bit or
nearly (sums in the same order). Package-internal: :mod:`.runs` and :mod:`.names` use it.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numba import types as _nt

from .._core.jit import JIT

# Explicit signatures (compiled once, at import, or loaded from numba's cache): the driver calls the measures with
# counts that are sometimes the constant 0, and numba compiled a second copy of each measure for that literal (and
# one ndcg_trec per constant ``kind``): 38 compilations where 17 do (issue 21's compile budget).
_I, _F = _nt.int64, _nt.float64
_I8, _F8, _I8_2D = _nt.int64[::1], _nt.float64[::1], _nt.int64[:, ::1]

__all__ = ["NONPOOL", "UNJUDGED", "MEASURE_CODES", "trec_measures_kernel"]

NONPOOL = -1
UNJUDGED = -2
MIN_GEO_MEAN = 0.00001
INFAP_EPSILON = 0.00001

#: trec_eval's measures in trec_eval's order (its output order) -> the driver's code
MEASURE_CODES = {name: i for i, name in enumerate((
    "runid", "num_q", "num_ret", "num_rel", "num_rel_ret", "map", "gm_map", "Rprec", "bpref", "recip_rank",
    "iprec_at_recall", "P", "relstring", "recall", "infAP", "gm_bpref", "Rprec_mult", "utility", "11pt_avg", "binG",
    "G", "ndcg", "ndcg_rel", "Rndcg", "ndcg_cut", "map_cut", "relative_P", "success", "set_P", "set_relative_P",
    "set_recall", "set_map", "set_F", "num_nonrel_judged_ret", "unj"))}
# the codes as globals (numba reads module-level ints as constants)
_K_PT11_AVG = MEASURE_CODES["11pt_avg"]
_K_G = MEASURE_CODES["G"]
_K_P = MEASURE_CODES["P"]
_K_RNDCG = MEASURE_CODES["Rndcg"]
_K_RPREC = MEASURE_CODES["Rprec"]
_K_RPREC_MULT = MEASURE_CODES["Rprec_mult"]
_K_BING = MEASURE_CODES["binG"]
_K_BPREF = MEASURE_CODES["bpref"]
_K_GM_BPREF = MEASURE_CODES["gm_bpref"]
_K_GM_MAP = MEASURE_CODES["gm_map"]
_K_INFAP = MEASURE_CODES["infAP"]
_K_IPREC_AT_RECALL = MEASURE_CODES["iprec_at_recall"]
_K_MAP = MEASURE_CODES["map"]
_K_MAP_CUT = MEASURE_CODES["map_cut"]
_K_NDCG = MEASURE_CODES["ndcg"]
_K_NDCG_CUT = MEASURE_CODES["ndcg_cut"]
_K_NDCG_REL = MEASURE_CODES["ndcg_rel"]
_K_NUM_NONREL_JUDGED_RET = MEASURE_CODES["num_nonrel_judged_ret"]
_K_NUM_Q = MEASURE_CODES["num_q"]
_K_NUM_REL = MEASURE_CODES["num_rel"]
_K_NUM_REL_RET = MEASURE_CODES["num_rel_ret"]
_K_NUM_RET = MEASURE_CODES["num_ret"]
_K_RECALL = MEASURE_CODES["recall"]
_K_RECIP_RANK = MEASURE_CODES["recip_rank"]
_K_RELATIVE_P = MEASURE_CODES["relative_P"]
_K_SET_F = MEASURE_CODES["set_F"]
_K_SET_P = MEASURE_CODES["set_P"]
_K_SET_MAP = MEASURE_CODES["set_map"]
_K_SET_RECALL = MEASURE_CODES["set_recall"]
_K_SET_RELATIVE_P = MEASURE_CODES["set_relative_P"]
_K_SUCCESS = MEASURE_CODES["success"]
_K_UTILITY = MEASURE_CODES["utility"]
_K_UNJ = MEASURE_CODES["unj"]
_P, _RECALL, _SUCCESS, _MAP_CUT, _REL_P = _K_P, _K_RECALL, _K_SUCCESS, _K_MAP_CUT, _K_RELATIVE_P


@njit([(_I8, _I, _I)], **JIT)
def _rel_count(r, thr, k):
    """Relevant documents among the first ``min(k, len(r))``."""
    c = 0
    for i in range(min(k, r.shape[0])):
        if r[i] >= thr:
            c += 1
    return c


@njit([(_I8, _I, _I, _I)], **JIT)
def ap_trec(r, thr, num_rel, k):
    """``map`` (``k < 0``) and ``map_cut_k``: sum of precision at each relevant rank (``<= k``) over ``num_rel``."""
    rel_so_far = 0
    s = 0.0
    n = r.shape[0] if k < 0 else min(k, r.shape[0])
    for i in range(n):
        if r[i] >= thr:
            rel_so_far += 1
            s += rel_so_far / (i + 1.0)
    if rel_so_far and num_rel:
        return s / num_rel
    return 0.0


@njit([(_I8, _I, _I)], **JIT)
def rprec_trec(r, thr, num_rel):
    n = min(r.shape[0], num_rel)
    if n == 0:
        return 0.0
    return _rel_count(r, thr, n) / num_rel


@njit([(_I8, _I, _I, _I8)], **JIT)
def bpref_trec(r, thr, num_rel, lv):
    """bpref: 1 - min(nonrel above, R) / min(N, R) per relevant retrieved document, over R; NONPOOL and UNJUDGED
    documents skipped."""
    num_nonrel = 0
    for j in range(min(max(thr, 0), lv.shape[0])):
        num_nonrel += lv[j]
    nonrel_so_far = 0
    b = 0.0
    for j in range(r.shape[0]):
        v = r[j]
        if v == NONPOOL or v == UNJUDGED:
            continue
        if 0 <= v < thr:
            nonrel_so_far += 1
        elif nonrel_so_far > 0:
            b += 1.0 - min(nonrel_so_far, num_rel) / min(num_nonrel, num_rel)
        else:
            b += 1.0
    if num_rel:
        b /= num_rel
    return b


@njit([(_I8, _I)], **JIT)
def recip_rank_trec(r, thr):
    for i in range(r.shape[0]):
        if r[i] >= thr:
            return 1.0 / (i + 1.0)
    return 0.0


@njit([(_I8, _I, _I, _I, _F8, _F8)], **JIT)
def iprec_trec(r, thr, num_rel, num_rel_ret, p, out):
    """Interpolated precision at the recall levels ``p`` (``iprec_at_recall``) into ``out``; returns their mean
    (``11pt_avg``). A level ``p`` is reached after ``(long) (p * R + 0.9)`` relevant documents."""
    n = p.shape[0]
    cut = np.empty(n, dtype=np.int64)
    for i in range(n):
        cut[i] = int(p[i] * num_rel + 0.9)
    cur = n - 1
    while cur >= 0 and cut[cur] > num_rel_ret:
        out[cur] = 0.0
        cur -= 1
    num_ret = r.shape[0]
    int_precis = num_rel_ret / num_ret if num_ret else math.nan  # trec_eval's 0/0 when nothing is retrieved
    rel_so_far = num_rel_ret
    s = 0.0
    i = num_ret
    while i > 0 and rel_so_far > 0:
        precis = rel_so_far / i
        if int_precis < precis:
            int_precis = precis
        if r[i - 1] >= thr:
            while cur >= 0 and rel_so_far == cut[cur]:
                out[cur] = int_precis
                s += int_precis
                cur -= 1
            rel_so_far -= 1
        i -= 1
    while cur >= 0:
        out[cur] = int_precis
        s += int_precis
        cur -= 1
    return s / n


@njit([(_I8, _I, _I, _I, _F8, _F8)], **JIT)
def rprec_mult_trec(r, thr, num_rel, num_rel_ret, p, out):
    """Precision at ``(long) (p * R + 0.9)`` documents for each multiple ``p`` of R (``Rprec_mult``)."""
    num_ret = r.shape[0]
    for j in range(p.shape[0]):
        c = int(p[j] * num_rel + 0.9)
        if c > num_ret:
            out[j] = num_rel_ret / c
        elif c <= 0 or num_rel_ret == 0:
            out[j] = 0.0
        else:
            out[j] = _rel_count(r, thr, c) / c


@njit([(_I8, _I, _I)], **JIT)
def infap_trec(r, thr, num_rel):
    """infAP (Yilmaz and Aslam): precision at each relevant document estimated from the judged documents above it;
    NONPOOL documents count as non-relevant, UNJUDGED (in the pool, unjudged) ones are skipped."""
    nonrel_so_far = 0
    rel_so_far = 0
    pool_unjudged_so_far = 0
    ap = 0.0
    for j in range(r.shape[0]):
        v = r[j]
        if v == NONPOOL:
            continue
        if v == UNJUDGED:
            pool_unjudged_so_far += 1
            continue
        if 0 <= v < thr:
            nonrel_so_far += 1
        else:
            rel_so_far += 1
            if j == 0:
                ap += 1.0
            else:
                fj = float(j)
                ap += 1.0 / (fj + 1.0) + (fj / (fj + 1.0)) * (
                    (rel_so_far - 1 + nonrel_so_far + pool_unjudged_so_far) / fj) * (
                    (rel_so_far - 1 + INFAP_EPSILON) / (rel_so_far - 1 + nonrel_so_far + 2 * INFAP_EPSILON))
    if num_rel:
        ap /= num_rel
    return ap


@njit([(_I8, _I, _I)], **JIT)
def bin_g_trec(r, thr, num_rel):
    """binG: sum over relevant retrieved documents of 1 / log2(2 + non-relevant documents above), over R."""
    rel_so_far = 0
    s = 0.0
    for i in range(r.shape[0]):
        if r[i] >= thr:
            rel_so_far += 1
            s += 1.0 / math.log2(3 + i - rel_so_far)
    if rel_so_far:
        return s / num_rel
    return 0.0


@njit([(_I8, _F8)], **JIT)
def gains_trec(lv, pairs):
    """trec_eval's ``setup_gains``: ``(level, gain, count)`` of each relevance level (gain = the level, or the
    ``level=gain`` pairs given), sorted by gain ascending (stable)."""
    npairs = pairs.shape[0] // 2
    nl = lv.shape[0]
    level = np.empty(npairs + nl, dtype=np.int64)
    gain = np.empty(npairs + nl)
    num = np.zeros(npairs + nl, dtype=np.int64)
    m = 0
    for i in range(npairs):
        level[m] = int(pairs[2 * i])
        gain[m] = pairs[2 * i + 1]
        m += 1
    for i in range(nl):
        j = 0
        while j < npairs and level[j] != i:
            j += 1
        if j < npairs:
            num[j] = lv[i]
        else:
            level[m] = i
            gain[m] = i
            num[m] = lv[i]
            m += 1
    for i in range(1, m):  # insertion sort by gain (stable; a handful of levels)
        j = i
        while j > 0 and gain[j - 1] > gain[j]:
            level[j - 1], level[j] = level[j], level[j - 1]
            gain[j - 1], gain[j] = gain[j], gain[j - 1]
            num[j - 1], num[j] = num[j], num[j - 1]
            j -= 1
    return level[:m], gain[:m], num[:m]


@njit([(_I, _I8, _F8)], **JIT)
def _gain_of(v, level, gain):
    for i in range(level.shape[0]):
        if level[i] == v:
            return gain[i]
    return 0.0


@njit([(_I, _I, _I8, _F8)], **JIT)
def _ideal_step(cur, num_at, num, gain):
    """The ideal ranking's next position: its level ``cur`` (from the highest gain down, each level ``num[cur]``
    times), the count at that level, and its gain (0 past the last level)."""
    num_at += 1
    while cur >= 0 and num_at > num[cur]:
        num_at = 1
        cur -= 1
    return cur, num_at, (gain[cur] if cur >= 0 else 0.0)


@njit([(_F, _I, _F, _F, _F)], **JIT)
def _rndcg_point(s, n_changed, ideal_gain, results_dcg, ideal_dcg):
    """Rndcg at a change of the ideal gain: add ndcg there (if the ideal DCG is positive)."""
    if ideal_dcg > 0.0:
        return s + results_dcg / ideal_dcg, n_changed + 1, ideal_gain
    return s, n_changed, ideal_gain


@njit([(_I8, _I8, _F8, _I)], **JIT)
def ndcg_trec(r, lv, pairs, kind):
    """``ndcg`` (kind 0), ``ndcg_rel`` (1), ``Rndcg`` (2) and ``G`` (3) with trec_eval's gain table: the ideal
    ranking walks the levels from the highest gain down while the gain is > 0."""
    level, gain, num = gains_trec(lv, pairs)
    cur = level.shape[0] - 1
    ideal_gain = gain[cur] if cur >= 0 else 0.0
    old_ideal = ideal_gain
    num_at = 0
    results_dcg = 0.0
    ideal_dcg = 0.0
    s = 0.0  # ndcg_rel / Rndcg sums
    num_rel = 0
    num_rel_ret = 0
    n_changed = 0
    sum_results = 0.0  # G
    sum_ideal = 0.0
    sum_cost = 0.0
    results_g = 0.0
    num_ret = r.shape[0]
    # Rndcg returns before anything when num_rel (at the relevance level) is 0: the caller handles that case
    i = 0
    while i < num_ret and ideal_gain > 0.0:
        rg = _gain_of(r[i], level, gain)
        if kind == 3:
            sum_results += rg
        elif kind != 2 and rg != 0:
            results_dcg += rg / math.log2(i + 2.0)
        cur, num_at, ideal_gain = _ideal_step(cur, num_at, num, gain)
        if kind == 2 and old_ideal != ideal_gain:  # Rndcg: the ideal gain changes here, take ndcg
            s, n_changed, old_ideal = _rndcg_point(s, n_changed, ideal_gain, results_dcg, ideal_dcg)
        if kind == 2 and rg != 0:
            results_dcg += rg / math.log2(i + 2.0)
        if kind == 3:
            if ideal_gain > 0.0:
                sum_ideal += ideal_gain
            sum_cost += ideal_gain if ideal_gain >= 1.0 else 1.0
            if rg != 0:
                results_g += rg / math.log2(2 + sum_cost - sum_results)
        elif ideal_gain > 0.0:
            num_rel += 1
            ideal_dcg += ideal_gain / math.log2(i + 2.0)
        if kind == 1 and rg > 0:
            s += results_dcg / ideal_dcg
            num_rel_ret += 1
        i += 1
    tail = i < num_ret
    while i < num_ret:
        rg = _gain_of(r[i], level, gain)
        if kind == 3:
            sum_results += rg
            sum_cost += 1.0
            if rg != 0:
                results_g += rg / math.log2(2 + sum_cost - sum_results)
        elif rg != 0:
            results_dcg += rg / math.log2(i + 2.0)
        if kind == 1 and rg > 0:
            s += results_dcg / ideal_dcg
            num_rel_ret += 1
        i += 1
    if kind == 2 and tail and ideal_dcg > 0.0:
        s += results_dcg / ideal_dcg
        n_changed += 1
    while ideal_gain > 0.0:
        cur, num_at, ideal_gain = _ideal_step(cur, num_at, num, gain)
        if kind == 2 and old_ideal != ideal_gain:  # Rndcg: the ideal gain changes here, take ndcg
            s, n_changed, old_ideal = _rndcg_point(s, n_changed, ideal_gain, results_dcg, ideal_dcg)
        if ideal_gain > 0.0:
            if kind == 3:
                sum_ideal += ideal_gain
            else:
                num_rel += 1
                ideal_dcg += ideal_gain / math.log2(i + 2.0)
        i += 1
    if kind == 0:
        return results_dcg / ideal_dcg if ideal_dcg > 0.0 else 0.0
    if kind == 1:
        s += (num_rel - num_rel_ret) * results_dcg / ideal_dcg
        return s / num_rel if s > 0.0 else 0.0
    if kind == 2:
        return s / n_changed  # 0/0 -> nan, as trec_eval
    return results_g / sum_ideal if sum_ideal > 0.0 else 0.0


@njit([(_I8, _I8, _F8, _F8)], **JIT)
def ndcg_cut_trec(r, lv, cuts, out):
    """``ndcg_cut_k``: DCG of the relevance values (> 0) in the top k over the ideal DCG of the levels >= 1 in the
    top k (gains are the levels; no gain table)."""
    for j in range(cuts.shape[0]):
        k = int(cuts[j])
        dcg = 0.0
        for i in range(min(k, r.shape[0])):
            if r[i] > 0:
                dcg += r[i] / math.log2(i + 2.0)
        ideal = 0.0
        cur = lv.shape[0] - 1
        cnt = 0
        for i in range(k):
            cnt += 1
            while cur > 0 and cnt > lv[cur]:
                cur -= 1
                cnt = 1
            if cur <= 0:
                break
            ideal += cur / math.log2(i + 2.0)
        out[j] = dcg / ideal if ideal > 0.0 else dcg


@njit([(_I8, _I, _I, _F8, _I, _F8)], **JIT)
def cut_trec(r, thr, num_rel, cuts, code, out):
    """The cut-off measures counting relevant documents in the top k (k past the end: non-relevant filler):
    ``P_k`` (over k), ``recall_k`` (over R), ``relative_P_k`` (over min(k, R)), ``success_k``, ``map_cut_k``."""
    c = 0  # relevant documents among the first i, carried from one cut-off to the next (they ascend)
    i = 0
    for j in range(cuts.shape[0]):
        k = int(cuts[j])
        if code == _MAP_CUT:
            out[j] = ap_trec(r, thr, num_rel, k)
            continue
        if j and k < int(cuts[j - 1]):  # cut-offs not in ascending order: count again
            c = i = 0
        while i < min(k, r.shape[0]):
            if r[i] >= thr:
                c += 1
            i += 1
        if code == _P:
            out[j] = c / k
        elif code == _SUCCESS:
            out[j] = 1.0 if c else 0.0
        elif num_rel == 0:
            out[j] = 0.0
        elif code == _RECALL:
            out[j] = c / num_rel
        else:
            out[j] = c / min(k, num_rel)



@njit([(_I8, _I8, _I8_2D, _I, _I, _I8, _I8, _I8, _F8, _I8, _I)], **JIT)
def trec_measures_kernel(rl, off, levels, thr, n_coll, codes, pstart, plen, params, cols, n_cols):
    """Every query (``rl[off[q]:off[q + 1]]``, ``levels[q]``) times every measure asked (``codes[j]`` with its
    parameters ``params[pstart[j]:pstart[j] + plen[j]]``, written from column ``cols[j]``): an ``(nq, n_cols)``
    array. ``gm_*`` are written as trec_eval keeps them, ``log(max(value, 1e-5))``."""
    nq = off.shape[0] - 1
    out = np.zeros((nq, n_cols))
    for q in range(nq):
        r = rl[off[q]:off[q + 1]]
        lv = levels[q]
        num_ret = r.shape[0]
        num_rel = 0
        for i in range(lv.shape[0]):
            if i >= thr:
                num_rel += lv[i]
        num_rel_ret = 0
        judged = 0
        for i in range(num_ret):
            if r[i] >= 0:
                judged += 1
                if r[i] >= thr:
                    num_rel_ret += 1
        for j in range(codes.shape[0]):
            code = codes[j]
            p = params[pstart[j]:pstart[j] + plen[j]]
            o = out[q, cols[j]:]
            if code == _K_NUM_Q:
                o[0] = 1.0
            elif code == _K_NUM_RET:
                o[0] = num_ret
            elif code == _K_NUM_REL:
                o[0] = num_rel
            elif code == _K_NUM_REL_RET:
                o[0] = num_rel_ret
            elif code == _K_MAP:
                o[0] = ap_trec(r, thr, num_rel, -1)
            elif code == _K_GM_MAP:
                o[0] = math.log(max(ap_trec(r, thr, num_rel, -1), MIN_GEO_MEAN))
            elif code == _K_RPREC:
                o[0] = rprec_trec(r, thr, num_rel)
            elif code == _K_BPREF:
                o[0] = bpref_trec(r, thr, num_rel, lv)
            elif code == _K_GM_BPREF:
                o[0] = math.log(max(bpref_trec(r, thr, num_rel, lv), MIN_GEO_MEAN))
            elif code == _K_RECIP_RANK:
                o[0] = recip_rank_trec(r, thr)
            elif code == _K_IPREC_AT_RECALL:
                iprec_trec(r, thr, num_rel, num_rel_ret, p, o)
            elif code == _K_PT11_AVG:
                o[0] = iprec_trec(r, thr, num_rel, num_rel_ret, p, np.empty(p.shape[0]))
            elif code == _K_RPREC_MULT:
                rprec_mult_trec(r, thr, num_rel, num_rel_ret, p, o)
            elif code == _K_INFAP:
                o[0] = infap_trec(r, thr, num_rel)
            elif code == _K_UTILITY:
                o[0] = (p[0] * num_rel_ret + p[1] * (num_ret - num_rel_ret) + p[2] * (num_rel - num_rel_ret)
                        + p[3] * (n_coll + num_rel_ret - num_ret - num_rel))
            elif code == _K_BING:
                o[0] = bin_g_trec(r, thr, num_rel)
            elif code == _K_NDCG:
                o[0] = ndcg_trec(r, lv, p, 0)
            elif code == _K_NDCG_REL:
                o[0] = ndcg_trec(r, lv, p, 1)
            elif code == _K_RNDCG:
                o[0] = ndcg_trec(r, lv, p, 2) if num_rel else 0.0
            elif code == _K_G:
                o[0] = ndcg_trec(r, lv, p, 3)
            elif code == _K_NDCG_CUT:
                ndcg_cut_trec(r, lv, p, o)
            elif code == _P or code == _RECALL or code == _SUCCESS or code == _MAP_CUT or code == _REL_P:
                cut_trec(r, thr, num_rel, p, code, o)
            elif code == _K_SET_P:
                o[0] = num_rel_ret / num_ret if num_ret else 0.0
            elif code == _K_SET_RELATIVE_P:
                o[0] = num_rel_ret / min(num_ret, num_rel) if num_ret and num_rel else 0.0
            elif code == _K_SET_RECALL:
                o[0] = num_rel_ret / num_rel if num_rel else 0.0
            elif code == _K_SET_MAP:
                o[0] = (num_rel_ret * float(num_rel_ret)) / (num_ret * float(num_rel)) if num_ret and num_rel else 0.0
            elif code == _K_SET_F:
                if num_rel_ret:
                    pp = num_rel_ret / num_ret
                    rr = num_rel_ret / num_rel
                    o[0] = (p[0] + 1.0) * pp * rr / (p[0] * pp + rr)
            elif code == _K_NUM_NONREL_JUDGED_RET:
                o[0] = judged - num_rel_ret
            elif code == _K_UNJ:  # trec_eval 10's unj_k (m_unjudged.c): the top k's documents not judged (NONPOOL,
                # or UNJUDGED: judged negative) over k; a ranking shorter than k is filled with judged documents
                for j in range(p.shape[0]):
                    k = int(p[j])
                    c = 0
                    for i in range(min(k, num_ret)):
                        if r[i] < 0:
                            c += 1
                    o[j] = c / k
    return out


# ----------------------------------------------------------------------------------------------------------------
# measure specifications: trec_eval's names, parameters, output names and summaries

_CUTS = (5, 10, 15, 20, 30, 100, 200, 500, 1000)
_RECALL_LEVELS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
#: name -> (kind, default parameters). Kinds: "count" (an integer per query; the summary is the sum), "float"
#: (the summary is the mean), "gm" (log(max(v, 1e-5)) per query, as trec_eval keeps it; the summary is exp(mean)),
#: "cut" (integer cut-offs, ``name_k``), "fcut" (fractions, ``name_%3.2f``), "fparams" (one value, float
#: parameters), "gains" (``level=gain`` pairs), "str" (runid, relstring: text, no number)
TREC_MEASURES = {
    "runid": ("str", ()), "num_q": ("count", ()), "num_ret": ("count", ()), "num_rel": ("count", ()),
    "num_rel_ret": ("count", ()), "map": ("float", ()), "gm_map": ("gm", ()), "Rprec": ("float", ()),
    "bpref": ("float", ()), "recip_rank": ("float", ()), "iprec_at_recall": ("fcut", _RECALL_LEVELS),
    "P": ("cut", _CUTS), "relstring": ("str", ()), "recall": ("cut", _CUTS), "infAP": ("float", ()),
    "gm_bpref": ("gm", ()), "Rprec_mult": ("fcut", (0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0)),
    "utility": ("fparams", (1.0, -1.0, 0.0, 0.0)), "11pt_avg": ("fparams", _RECALL_LEVELS), "binG": ("float", ()),
    "G": ("gains", ()), "ndcg": ("gains", ()), "ndcg_rel": ("gains", ()), "Rndcg": ("gains", ()),
    "ndcg_cut": ("cut", _CUTS), "map_cut": ("cut", _CUTS), "relative_P": ("cut", _CUTS),
    "success": ("cut", (1, 5, 10)), "set_P": ("float", ()), "set_relative_P": ("float", ()),
    "set_recall": ("float", ()), "set_map": ("float", ()), "set_F": ("fparams", (1.0,)),
    "num_nonrel_judged_ret": ("count", ()), "unj": ("cut", (5, 10, 20)),
}
#: trec_eval's named sets (``-m official``, ``-m all_trec``, ``-m set``), as in trec_eval 9.0.8 and pytrec_eval
#: (trec_eval 10's ``unj``, not in 9.0.8, is asked for by name)
TREC_NICKNAMES = {
    "official": ("runid", "num_q", "num_ret", "num_rel", "num_rel_ret", "map", "gm_map", "Rprec", "bpref",
                 "recip_rank", "iprec_at_recall", "P"),
    "all_trec": tuple(m for m in TREC_MEASURES if m != "unj"),
    "set": ("runid", "num_q", "num_ret", "num_rel", "num_rel_ret", "utility", "set_P", "set_recall",
            "set_relative_P", "set_map", "set_F"),
}
_BY_LENGTH = sorted(TREC_MEASURES, key=len, reverse=True)


class TrecMeasure:
    """One trec_eval measure with its parameters: ``name``, ``params`` (tuple), ``columns`` (the output names,
    trec_eval's), ``kind``, ``code``."""

    __slots__ = ("name", "params", "kind", "code", "columns")

    def __init__(self, name, params):
        self.name = name
        self.kind = TREC_MEASURES[name][0]
        self.params = tuple(params)
        self.code = MEASURE_CODES[name]
        if self.kind == "cut":
            self.columns = tuple(f"{name}_{int(k)}" for k in self.params)
        elif self.kind == "fcut":
            self.columns = tuple(f"{name}_{p:3.2f}" for p in self.params)
        elif self.kind == "str":
            self.columns = ()
        else:
            self.columns = (name,)

    def __eq__(self, other):
        return isinstance(other, TrecMeasure) and (self.name, self.params) == (other.name, other.params)

    def __hash__(self):
        return hash((self.name, self.params))

    def __repr__(self):
        return f"TrecMeasure({self.name!r}, {self.params!r})"


def _params(name, kind, text, spec):
    """trec_eval's parameter text (after ``name.`` or ``name_``) -> the parameter tuple."""
    items = [t for t in text.split(",")]
    try:
        if kind == "cut":
            vals = sorted(int(t) for t in items)
            if any(v <= 0 for v in vals):
                raise ValueError
        elif kind == "gains":
            vals = []
            for t in items:
                lev, eq, g = t.partition("=")
                if not eq:
                    raise ValueError
                vals += [float(int(lev)), float(g)]
        elif kind == "fcut":
            vals = sorted(float(t) for t in items)
        elif kind == "fparams":
            vals = [float(t) for t in items]
        else:
            raise ValueError
    except ValueError:
        raise ValueError(f"metric {spec!r}: bad parameters {text!r} for trec_eval's {name!r} ("
                         + {"cut": "positive integer cut-offs, e.g. P.5,10", "gains": "level=gain pairs, e.g. "
                            "ndcg.1=3,2=9", "fcut": "numbers, e.g. iprec_at_recall.0.5,1.0",
                            "fparams": "numbers, e.g. set_F.0.5"}.get(kind, "it takes none") + ")") from None
    if kind in ("cut", "fcut") and len(set(vals)) != len(vals):
        raise ValueError(f"metric {spec!r}: duplicate cut-offs in {text!r}")
    if name == "utility" and len(vals) != 4:
        raise ValueError(f"metric {spec!r}: utility takes 4 coefficients (e.g. utility.1,-1,0,0); got {len(vals)}")
    if name == "set_F" and len(vals) != 1:
        raise ValueError(f"metric {spec!r}: set_F takes one parameter (e.g. set_F.0.5); got {len(vals)}")
    return tuple(vals)


def parse_trec_measure(spec):
    """``"P.5,10"``, ``"P_5"``, ``"ndcg_cut_10"``, ``"ndcg.1=3,2=9"``, ``"iprec_at_recall_0.20"``, ``"map"`` ->
    a :class:`TrecMeasure`; a named set (``"official"``, ``"all_trec"``, ``"set"``) -> a tuple of them; ``None``
    when ``spec`` is no trec_eval measure (case-sensitive, as trec_eval)."""
    if spec in TREC_NICKNAMES:
        return tuple(parse_trec_measure(m) for m in TREC_NICKNAMES[spec])
    for name in _BY_LENGTH:
        if spec == name:
            kind, default = TREC_MEASURES[name]
            return TrecMeasure(name, default)
        if spec.startswith(name) and len(spec) > len(name) + 1 and spec[len(name)] in "._":
            kind = TREC_MEASURES[name][0]
            if kind in ("count", "float", "gm", "str"):
                continue  # "map_cut_5" is not "map" with parameters
            return TrecMeasure(name, _params(name, kind, spec[len(name) + 1:], spec))
    return None


def summarize(kind, values):
    """trec_eval's summary (the ``all`` line) of per-query values: sum (counts), exp(mean) (gm), mean."""
    if len(values) == 0:
        return float("nan")
    if kind == "count":
        return float(np.sum(values))
    if kind == "gm":
        return float(np.exp(np.sum(values) / len(values)))
    return float(np.mean(values))
