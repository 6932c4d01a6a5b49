"""The vectorised ApproxNDCG and LambdaLoss kernels against direct NumPy versions of their formulas (one exp a pair).

The kernels take a pair's sigmoid as r = e_j / e_i, e = exp((s - s_max) / T), instead of one exp a pair, and sum in
an order the compiler chooses (fastmath reassoc). Error budget, eps = 2**-53:

* e's argument (s - s_max) / T carries a rounding error of up to 2 eps |s - s_max| / T, exp adds one ulp, so r
  (and v = 1 / (1 + r), r v, r v^2, whose sensitivity to r is at most 1) is off by a relative
  delta_pair <= (4 span / T + 8) eps, with span the query's score range.
* A sum of n - 1 terms in any order is off by at most (n - 1) eps times the sum of their absolute values.
* ApproxNDCG: pi_i (positive terms) is then off by a relative delta_pair + n eps, the coefficient
  a_i = G_i / (M ln2 (1 + pi_i) log2(1 + pi_i)^2) by at most 4 times that (its relative sensitivity to pi is
  1 + 2 / ln(1 + pi) <= 3.9 for pi >= 1), and a_j - a_k by that much of |a_j| + |a_k|.

The direct versions form sigma (1 - sigma) as a product of the two sigmoids (as the kernels do): ``sigma * (1 -
sigma)`` loses eps / (1 - sigma) of relative accuracy to cancellation (the kernels before the vectorised form did
that; they agree with these to about 1e-10 relative where a sigmoid is within 1e-6 of 1).

Hence (with TINY for underflow, below) the tolerance ``tol = 10 (4 span / T + 8 + n) eps`` (a factor 2 of margin
over the sum of the budgets) on each document, relative to the sum of the absolute values of its pair terms: for
ApproxNDCG ``sum_j w_kj (|a_j| + |a_k|) / T`` (gradient) and that over T (hessian); for LambdaLoss
``sum_j w_kj p_kj`` (gradient) and the hessian itself.
"""

import math

import numpy as np
import pytest

import gbm_objectives as go

EPS = 2.0**-53
# A product whose intermediate falls below the normal range (2.2e-308) in one order of its factors and not in another
# loses relative precision there: differences below TINY (values of ~1e-300 and less) are not reassociation errors.
TINY = 1e-300


def _queries(rng, spread):
    sizes = rng.integers(2, 80, 40)
    y = rng.integers(0, 5, sizes.sum()).astype(float)
    s = rng.normal(size=sizes.sum()) * spread
    return y, s, sizes


def _ideal(gain):
    return sum(v / math.log2(2 + r) for r, v in enumerate(np.sort(gain)[::-1]))


@pytest.mark.parametrize("temp", [0.1, 1.0])
@pytest.mark.parametrize("spread", [0.05, 1.0, 40.0])  # 40 / 0.1: spans beyond 600 T take the exp-per-pair path
def test_approx_ndcg_equals_direct_formula(temp, spread):
    rng = np.random.default_rng(11)
    y, s, sizes = _queries(rng, spread)
    _check_approx_ndcg(y, s, sizes, temp)


def test_approx_ndcg_tied_scores_equal_direct_formula():
    # the fast path keeps the documents in input order: tied and equal exp-scores take either branch of the ratio
    rng = np.random.default_rng(12)
    y, s, sizes = _queries(rng, 1.0)
    _check_approx_ndcg(y, np.round(s * 2) / 2, sizes, 0.1)
    _check_approx_ndcg(y, np.zeros_like(s), sizes, 1.0)


@pytest.mark.parametrize("p_zero", [0.0, 0.9, 0.99])
def test_approx_ndcg_label_mixes_equal_direct_formula(p_zero):
    # the fast path skips the pairs of two documents of gain 0: none, most, or all but one or two of a query's
    rng = np.random.default_rng(14)
    y, s, sizes = _queries(rng, 1.0)
    y = np.where(rng.random(len(y)) < p_zero, 0.0, np.maximum(y, 1.0))
    _check_approx_ndcg(y, s, sizes, 0.1)


def test_approx_ndcg_long_query_equals_direct_formula():
    # beyond _STORE_MAX_ROWS documents pass 2 computes the pair weights again instead of reading them back
    from gbm_objectives.objectives.listwise import _STORE_MAX_ROWS

    rng = np.random.default_rng(13)
    n = _STORE_MAX_ROWS + 52
    sizes = np.array([n, 30])
    y = rng.integers(0, 5, n + 30).astype(float)
    _check_approx_ndcg(y, rng.normal(size=n + 30), sizes, 0.1)


def _check_approx_ndcg(y, s, sizes, temp):
    g, h = go.ApproxNDCGObjective(temperature=temp).grad_hess(y, s, group=sizes)
    assert np.isfinite(g).all() and np.isfinite(h).all()
    a0 = 0
    for n in sizes:
        yy, ss = y[a0 : a0 + n], s[a0 : a0 + n]
        sl = slice(a0, a0 + n)
        a0 += n
        if len(set(yy)) < 2:
            assert not g[sl].any() and not h[sl].any()
            continue
        gain = 2.0**yy - 1
        with np.errstate(over="ignore"):
            sig = 1 / (1 + np.exp(-(ss[None, :] - ss[:, None]) / temp))  # sigma((s_j - s_i)/T)
            w = sig / (1 + np.exp((ss[None, :] - ss[:, None]) / temp))  # sigma (1 - sigma), no cancellation
        np.fill_diagonal(sig, 0.0)
        np.fill_diagonal(w, 0.0)
        pi = 1 + sig.sum(axis=1)
        a = gain / (_ideal(gain) * math.log(2) * (1 + pi) * np.log2(1 + pi) ** 2)
        tol = 10 * (4 * np.ptp(ss) / temp + 8 + n) * EPS
        scale = (w * (np.abs(a)[None, :] + np.abs(a)[:, None])).sum(1)
        assert (np.abs(g[sl] - (w * (a[None, :] - a[:, None])).sum(1) / temp) <= tol * scale / temp + TINY).all()
        assert (np.abs(h[sl] - (w * np.abs(a[None, :] - a[:, None])).sum(1) / temp**2)
                <= tol * scale / temp**2 + TINY).all()


@pytest.mark.parametrize("weighting", ["ndcg2pp", "ndcg2", "lambdarank"])
@pytest.mark.parametrize("k", [None, 5])
@pytest.mark.parametrize("spread", [0.05, 1.0, 400.0])  # 400: spans beyond 600 take the exp-per-pair path
def test_lambdaloss_equals_direct_formula(weighting, k, spread):
    rng = np.random.default_rng(12)
    y, s, sizes = _queries(rng, spread)
    _check_lambdaloss(y, s, sizes, weighting, k)


# Without truncation (or k >= n - 1) the fast path visits the pairs grouped by label, each unordered pair of different
# labels once, with ranks in either order inside a pair; with k < n - 1 or a span of 600 and more, the rank-ordered
# loops. Ties of scores (a pair's ranks by input order) and of labels, 2 to 31 labels, groups of fewer than four
# documents (the rows left over after the tiles of four), one document, all labels equal, a query beyond 512 documents
# (ranked by merge sort, not by counting) and spans close to 600 (e_r down to exp(-599)).
@pytest.mark.parametrize("weighting", ["ndcg2pp", "ndcg2", "lambdarank"])
@pytest.mark.parametrize("k", [None, 3, 40])
@pytest.mark.parametrize("labels", [(0, 1), (0, 1, 2), (0, 1, 2, 3, 4, 5), (0, 7, 30), tuple(range(31))])
def test_lambdaloss_ties_and_label_counts(weighting, k, labels):
    rng = np.random.default_rng(21)
    sizes = np.array([1, 2, 3, 5, 7, 9, 16, 33, 64, 130, 6, 1, 600])
    y = rng.choice(np.asarray(labels, dtype=float), sizes.sum())
    y[sizes[:2].sum() : sizes[:3].sum()] = labels[-1]  # all labels equal: zero
    s = np.round(rng.normal(size=sizes.sum()) * 2) / 2  # few distinct scores: many ties
    _check_lambdaloss(y, s, sizes, weighting, k)


@pytest.mark.parametrize("k", [None, 3])
@pytest.mark.parametrize("span", [599.0, 601.0])  # just inside and beyond the fast path's bound
def test_lambdaloss_extreme_spans(k, span):
    rng = np.random.default_rng(22)
    sizes = np.array([40, 17, 90])
    y = rng.integers(0, 4, sizes.sum()).astype(float)
    s = np.round(rng.uniform(0, span, sizes.sum()))
    a = 0
    for n in sizes:  # the full span in every query, with ties at both ends
        s[a : a + 3] = 0.0
        s[a + 3 : a + 6] = span
        a += n
    _check_lambdaloss(y, s, sizes, "ndcg2pp", k)


def _check_lambdaloss(y, s, sizes, weighting, k, mu=10.0):
    g, h = go.LambdaLossObjective(weighting=weighting, mu=mu, truncation_level=k).grad_hess(y, s, group=sizes)
    assert np.isfinite(g).all() and np.isfinite(h).all()
    a0 = 0
    for n in sizes:
        yy, ss = y[a0 : a0 + n], s[a0 : a0 + n]
        sl = slice(a0, a0 + n)
        a0 += n
        gain = 2.0**yy - 1
        order = np.argsort(-ss, kind="mergesort")
        rank = np.empty(n, int)
        rank[order] = np.arange(n)
        top = n if k is None else k
        m = sum(v / math.log2(2 + r) for r, v in enumerate(np.sort(gain)[::-1][:top]))
        if len(set(yy)) < 2 or m == 0:
            assert not g[sl].any() and not h[sl].any()
            continue
        ri, rj = rank[:, None], rank[None, :]
        rho = np.abs(1 / np.log2(2.0 + ri) - 1 / np.log2(2.0 + rj))
        dist = np.maximum(np.abs(ri - rj), 1)
        delta = np.abs(1 / np.log2(1.0 + dist) - 1 / np.log2(2.0 + dist))
        wt = {"ndcg2pp": mu * delta + rho, "ndcg2": delta, "lambdarank": rho}[weighting]
        dg = gain[:, None] - gain[None, :]
        keep = (dg != 0) & (np.minimum(ri, rj) < top)
        wt = np.where(keep, wt * np.abs(dg) / m / math.log(2), 0.0)
        hi_minus_lo = np.sign(dg) * (ss[:, None] - ss[None, :])  # s_high - s_low for pair (k, j)
        with np.errstate(over="ignore"):
            p = 1 / (1 + np.exp(hi_minus_lo))
            pq = p / (1 + np.exp(-hi_minus_lo))  # p (1 - p) without cancellation
        gref = (-np.sign(dg) * wt * p).sum(1)
        href = (wt * np.maximum(pq, 1e-16)).sum(1)
        tol = 10 * (4 * np.ptp(ss) + 8 + n) * EPS
        assert (np.abs(g[sl] - gref) <= tol * (wt * p).sum(1) + TINY).all()
        assert (np.abs(h[sl] - href) <= tol * href + TINY).all()
