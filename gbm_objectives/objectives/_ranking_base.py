"""What every ranking objective shares: the query-group checks, per-query weights, cost-balanced query blocks
for the parallel kernels, and the :class:`RankingObjective` base class.

Used by :mod:`.lambdarank`, :mod:`.bpr`, :mod:`.listwise` and :mod:`.xendcg`. Query groups come in as ``group``
(sizes of contiguous queries, LightGBM's convention) or ``qid`` (per-row query ids, XGBoost's) and are turned once
into the single group representation of :mod:`gbm_objectives._core.segments` (int64 offsets).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .._core.jit import JIT
from .._core.segments import resolve_boundaries
from .._core.validation import check_1d, check_sample_weight
from .base import Objective

__all__ = ["RankingObjective", "ranking_boundaries", "ranking_weights", "cost_blocks", "pair_cost", "MAX_QUERY_SIZE",
           "MAX_EXP_SPAN", "PAIR_HESS_FLOOR", "N_BLOCKS", "query_streams", "next_uniform", "uniform_at", "advance",
           "check_seed", "labels_all_equal", "call_in_float64", "check_relevance_labels"]

MAX_QUERY_SIZE = 2**31 - 1  # LightGBM's data_size_t (int32) and XGBoost's group pointers bound a query likewise
# exp(sigmoid * (s - max_score)) underflows below about -745; beyond this span a query uses exp per pair.
MAX_EXP_SPAN = 600.0
N_BLOCKS = 256  # parallel work units: blocks of queries of about equal pair cost
# p (1 - p) of a pair is floored here, so a pair with a non-zero lambda never has a zero hessian (LightGBM's sigmoid
# table achieves the same by clamping |s_i - s_j| at 25 / sigmoid; the floor only acts beyond a gap of ~37 / sigmoid).
PAIR_HESS_FLOOR = 1e-16


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _mix64(z):
    """SplitMix64's output function on Python ints (the kernels do the same in uint64)."""
    m = 2**64 - 1
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
    return z ^ (z >> 31)


def check_seed(seed):
    """``seed`` as a Python int in [0, 2**63)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer; got {seed!r}")
    if not 0 <= int(seed) < 2**63:
        raise ValueError(f"seed must be in [0, 2**63); got {seed!r}")
    return int(seed)


def query_streams(seed, n_queries):
    """One random stream per query (uint64 SplitMix64 states), a function of ``(seed, query index)`` only.

    The stochastic ranking objectives (YetiRank, StochasticRank) draw a query's noise from its own stream and
    advance it in place, so their results depend on the seed and on the number of calls made, never on the thread
    count or on how the queries are split into parallel blocks.
    """
    base = _mix64((check_seed(seed) * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & (2**64 - 1))
    return np.array([_mix64((base + q * 0xD1B54A32D192ED03) & (2**64 - 1)) for q in range(n_queries)],
                    dtype=np.uint64)


@njit(**JIT)
def uniform_at(state, i):
    """The ``i``-th (0-based) uniform after ``state`` of a SplitMix64 stream (Steele, Lea & Flood 2014), a double in
    the open interval (0, 1). SplitMix64's state is a counter (``+ golden`` per draw), so draws can be made in any
    order: ``uniform_at(state, 0 .. m - 1)`` then ``state + m * golden`` equals ``m`` calls of :func:`next_uniform`."""
    z = state + (np.uint64(i) + np.uint64(1)) * _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    z = z ^ (z >> np.uint64(31))
    # the top 53 bits as an int64 (exact; converting int64 to double is one instruction, uint64 is not)
    return (np.float64(np.int64(z >> np.uint64(11))) + 0.5) * 1.1102230246251565e-16  # (k + 1/2) / 2^53


@njit(**JIT)
def advance(state, m):
    """``state`` after ``m`` draws."""
    return state + np.uint64(m) * _GOLDEN


@njit(**JIT)
def next_uniform(state):
    """The next state of a SplitMix64 stream and its uniform draw in (0, 1)."""
    return advance(state, 1), uniform_at(state, 0)


@njit(**JIT)
def labels_all_equal(y, a, n):
    """True when the ``n`` labels from ``y[a]`` are all equal (a query without ranking information)."""
    for i in range(1, n):
        if y[a + i] != y[a]:
            return False
    return True


def call_in_float64(kernel, grad_out, hess_out, *args):
    """``kernel(*args, grad, hess)`` for a kernel compiled for float64 outputs only: ``grad_out``/``hess_out``
    themselves where they are contiguous float64, else float64 buffers copied into them afterwards (one compiled
    signature serves the float32 buffers of the adapters too). Returns what the kernel returns."""
    def f64(out):
        return out if out.dtype == np.float64 and out.flags.c_contiguous else np.empty(out.shape)
    g, h = f64(grad_out), f64(hess_out)
    result = kernel(*args, g, h)
    if g is not grad_out:
        grad_out[...] = g
    if h is not hess_out:
        hess_out[...] = h
    return result


def pair_cost(boundaries, k):
    """Work of one call: pair evaluations plus a per-document term for the sort and the gathers."""
    sizes = np.diff(boundaries).astype(np.float64)
    return float(np.sum(sizes * np.minimum(sizes, k) + 8.0 * sizes))


def cost_blocks(boundaries, k, n_blocks=N_BLOCKS):
    """Split the queries into at most ``n_blocks`` contiguous blocks of about equal pair-loop cost."""
    sizes = np.diff(boundaries)
    nq = len(sizes)
    if nq == 0:
        return np.zeros(1, dtype=np.int64)
    cost = sizes * np.minimum(sizes, k).astype(np.float64) + sizes * 8.0  # pairs, plus the sort and the gathers
    cum = np.cumsum(cost)
    targets = cum[-1] * np.arange(1, n_blocks) / n_blocks
    cuts = np.searchsorted(cum, targets, side="left") + 1
    blocks = np.unique(np.concatenate(([0], cuts, [nq]))).astype(np.int64)
    return blocks[(blocks >= 0) & (blocks <= nq)]


def check_relevance_labels(y_true, *, integer=False, max_label=None):
    """``y_true`` as float64 relevance labels: non-negative, integers if ``integer``, at most ``max_label`` if given;
    ValueError naming the first offending value and its index."""
    y = check_1d(y_true, "y_true")
    bad = y < 0
    what = "non-negative relevance labels"
    if integer:
        bad |= y != np.floor(y)
        what = "integer relevance labels"
    if max_label is not None:
        bad |= y > max_label
        what = f"{what} in 0..{max_label:g}" if integer else f"relevance labels in [0, {max_label:g}]"
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"y_true must contain {what}; got {y[i]:g} at index {i}")
    return y


def ranking_boundaries(n, group, qid):
    boundaries = resolve_boundaries(n, group=group, qid=qid)
    sizes = np.diff(boundaries)
    if len(sizes) and sizes.max() > MAX_QUERY_SIZE:
        q = int(np.argmax(sizes))
        raise ValueError(
            f"query {q} has {int(sizes[q])} rows; the ranking kernel supports at most {MAX_QUERY_SIZE} rows per query"
        )
    return boundaries


def ranking_weights(sample_weight, n, boundaries):
    """Per-row weights; a vector with one weight per query (XGBoost's ranking convention) is expanded to rows."""
    if sample_weight is None:
        return None
    n_queries = len(boundaries) - 1
    w = np.asarray(sample_weight.to_numpy() if hasattr(sample_weight, "to_numpy") else sample_weight)
    if w.ndim == 1 and len(w) != n and len(w) == n_queries:
        w = np.repeat(check_sample_weight(w, n_queries), np.diff(boundaries))
    return check_sample_weight(w, n)


class RankingObjective(Objective):
    """Base of the ranking objectives: ``grad_hess`` through ``prepare`` with query groups, init score 0, identity
    transform."""

    task = "ranking"

    def grad_hess(self, y_true, raw_score, *, sample_weight=None, group=None, qid=None, position=None):
        """Lambdas (gradients) and hessians for every row.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Relevance labels.
        raw_score : array-like of shape (n_samples,)
            Current model scores.
        sample_weight : array-like of shape (n_samples,) or (n_queries,), optional
            Multiplies both outputs row by row at the end (one weight per query is spread over its rows).
        group : array-like of int, shape (n_queries,)
            Sizes of contiguous queries (LightGBM's convention).
        qid : array-like of shape (n_samples,)
            Per-row query ids, rows of a query contiguous (XGBoost's convention). Pass exactly one of the two.
        position : array-like of int, shape (n_samples,), optional
            Displayed 0-based rank of every row, for ``LambdaRankObjective(position_debias=...)``; the debiasing
            state is the initial one (zero biases, unit propensities) in a one-off call.

        Returns
        -------
        grad, hess : ndarray of float64, shape (n_samples,)
        """
        extra = {} if position is None else {"position": position}
        prepared = self.prepare(y_true, sample_weight=sample_weight, group=group, qid=qid, **extra)
        return self.grad_hess_prepared(prepared, raw_score)

    def init_score(self, y_true, *, sample_weight=None):
        """0.0: pairwise objectives are invariant to a constant shift (LightGBM's lambdarank also starts at 0)."""
        self._check_y(y_true)
        return 0.0

    def transform(self, raw_score):
        """Identity: ranking scores are used as they are."""
        return np.asarray(raw_score, dtype=np.float64)
