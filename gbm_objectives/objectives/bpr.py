"""BPR / RankNet on the (relevant, non-relevant) pairs of each query, for implicit feedback
(:class:`PairwiseLogistic`, registry name ``bpr``)."""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._core.jit import PARALLEL_MIN, specialise
from .._core.validation import check_1d, check_raw_score
from ._ranking_base import PAIR_HESS_FLOOR, RankingObjective, cost_blocks, pair_cost, ranking_boundaries, ranking_weights
from .base import Prepared

__all__ = ["PairwiseLogistic"]


def _bpr_block(b, y, raw, w, boundaries, blocks, grad_out, hess_out):
    for q in range(blocks[b], blocks[b + 1]):
        a = boundaries[q]
        e = boundaries[q + 1]
        for r in range(a, e):
            grad_out[r] = 0.0
            hess_out[r] = 0.0
        for i in range(a, e):
            if not y[i] > 0.0:
                continue
            gi = 0.0
            hi = 0.0
            for j in range(a, e):
                if y[j] > 0.0:
                    continue
                # p = P(wrong order) = 1 / (1 + exp(s_i - s_j)), computed without overflow
                d = raw[i] - raw[j]
                if d >= 0:
                    t = math.exp(-d)
                    p = t / (1.0 + t)
                else:
                    p = 1.0 / (1.0 + math.exp(d))
                h = max(p * (1.0 - p), PAIR_HESS_FLOOR)  # positive beside a non-zero gradient, as LambdaRank
                gi -= p
                hi += h
                grad_out[j] += p
                hess_out[j] += h
            grad_out[i] += gi
            hess_out[i] += hi
        if w.shape[0]:
            for r in range(a, e):
                grad_out[r] *= w[r]
                hess_out[r] *= w[r]


def _bpr_blocks(y, raw, w, boundaries, blocks, grad_out, hess_out):
    for b in prange(blocks.shape[0] - 1):
        _bpr_block(b, y, raw, w, boundaries, blocks, grad_out, hess_out)


# as LambdaRank's: parallel over query blocks, or the block function once over all queries for small work
_BPR = specialise(_bpr_block, _bpr_blocks, "bpr", 4)


class PairwiseLogistic(RankingObjective):
    r"""BPR / RankNet on the (relevant, non-relevant) pairs of each query, for implicit feedback.

    A row is relevant (an observed interaction) when ``y_true > 0``. For every relevant ``i`` and non-relevant
    ``j`` of the same query::

        loss = sum log(1 + exp(-(s_i - s_j))),   p = 1 / (1 + exp(s_i - s_j))
        grad[i] -= p,   grad[j] += p,   hess[i] += p (1 - p),   hess[j] += p (1 - p)

    Row weights multiply both at the end. :meth:`loss` returns the sum divided by the number of queries.

    References
    ----------
    S. Rendle et al., "BPR: Bayesian Personalized Ranking from Implicit Feedback", UAI 2009.
    """

    float64_scores = False  # float32 scores give float32 arithmetic here (Objective.float64_scores)

    name = "bpr"

    def __init__(self):
        pass

    def prepare(self, y_true, *, sample_weight=None, group=None, qid=None, position=None):
        if position is not None:
            raise ValueError("position= is for LambdaRankObjective(position_debias='additive' or 'ipw'); BPR has "
                             "no position debiasing")
        y = self._check_y(y_true)
        boundaries = ranking_boundaries(len(y), group, qid)
        w = ranking_weights(sample_weight, len(y), boundaries)
        sizes = np.diff(boundaries)
        # cost of a query ~ n^2; reuse the block splitter with k = n
        k = int(sizes.max()) if len(sizes) else 1
        return Prepared(y, w, boundaries, {"blocks": cost_blocks(boundaries, k), "pair_cost": pair_cost(boundaries, k)})

    def _check_y(self, y_true):
        y = check_1d(y_true, "y_true")
        if (y < 0).any():
            i = int(np.flatnonzero(y < 0)[0])
            raise ValueError(f"y_true must be non-negative (0 = no interaction); got {y[i]!r} at index {i}")
        return y

    def _kernel(self, prepared, raw, w, grad_out, hess_out):
        if prepared.boundaries is None:
            raise ValueError("a ranking objective needs group (query sizes) or qid (per-row query ids)")
        _BPR(prepared.cache["pair_cost"] >= PARALLEL_MIN["lambdarank"], prepared.y, raw, w, prepared.boundaries, prepared.cache["blocks"], grad_out, hess_out)

    def loss(self, y_true, raw_score, *, sample_weight=None, group=None, qid=None):
        """Sum over (relevant, non-relevant) pairs of ``log(1 + exp(-(s_i - s_j)))``, divided by the query count."""
        if sample_weight is not None:
            raise ValueError("PairwiseLogistic.loss is a pairwise loss; sample_weight must be None")
        prepared = self.prepare(y_true, group=group, qid=qid)
        raw = check_raw_score(raw_score, prepared.n_samples).astype(np.float64, copy=False)
        b = prepared.boundaries
        total = 0.0
        for q in range(len(b) - 1):
            yq, sq = prepared.y[b[q] : b[q + 1]], raw[b[q] : b[q + 1]]
            pos, neg = sq[yq > 0], sq[~(yq > 0)]
            total += float(np.logaddexp(0.0, -(pos[:, None] - neg[None, :])).sum())
        return total / max(len(b) - 1, 1)
