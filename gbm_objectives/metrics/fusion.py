"""Rank fusion of TREC runs: :func:`fuse` combines the runs of several systems into one run, and
:func:`optimize_fusion` grid-searches the weights of a weighted fusion on training queries.

Each run's scores are first normalised per query (``norm``); then each document's fused score combines what every
run gave it (``s_r`` the normalised score in run ``r``, ``rank_r`` its 1-based rank there, ``n`` the number of runs
that retrieved it, the sums over those runs only, ``w_r`` the weights):

=============  =============================================================================================
method         fused score
=============  =============================================================================================
``combsum``    ``sum s_r``  (Fox & Shaw 1993)
``combmnz``    ``n * sum s_r``
``combgmnz``   ``n**gamma * sum s_r``  (Lee 1997)
``combanz``    ``sum s_r / n``
``combmax``    ``max s_r``
``combmin``    ``min s_r``
``combmed``    ``median s_r``
``wsum``       ``sum w_r s_r``
``wmnz``       ``(sum w_r) * sum s_r``  (Wu & Crestani 2002)
``rrf``        ``sum 1 / (k + rank_r)``  (Cormack et al. 2009, ``k=60``)
``isr``        ``n * sum 1 / rank_r**2``  (Mourão et al. 2015)
``log_isr``    ``log(n) * sum 1 / rank_r**2``
``logn_isr``   ``log(n + sigma) * sum 1 / rank_r**2``  (``sigma=0.01``)
``rbc``        ``sum (1 - phi) * phi**(rank_r - 1)``  (Bailey et al. 2017, ``phi=0.8``)
``bordafuse``  ``sum_r points_r``: ``C - rank_r + 1`` when retrieved, else ``(C - len_r + 1) / 2``, with ``C``
               the documents any run retrieved for the query and ``len_r`` those run ``r`` did (Aslam &
               Montague 2001)
=============  =============================================================================================

Normalisations (per run and query, over the documents it retrieved): ``"min-max"`` ``(s - min) / (max - min)``,
``"max"`` ``s / max``, ``"sum"`` ``(s - min) / (sum s - n min)``, ``"zmuv"`` ``(s - mean) / std`` (population
std), ``"rank"`` ``1 - (rank - 1) / len``, or ``None``; a denominator below ``1e-9`` is taken as ``1e-9``. These
are ranx's definitions (``ranx.fuse(runs, norm=..., method=...)``, whose method names drop the ``comb``
prefix): the fused scores equal ranx's, and so do the rankings (tests/metrics/test_fusion.py). Ranks inside a run
follow trec_eval's order (score descending, ties by docno descending), as :func:`~gbm_objectives.evaluate_run`
ranks; the fused run is ranked the same way.

Unlike ranx, runs need not cover the same queries: a run without a query contributes nothing to it.

>>> import pandas as pd
>>> a = pd.DataFrame({"qid": ["1", "1", "1"], "docno": ["x", "y", "z"], "score": [3.0, 2.0, 1.0]})
>>> b = pd.DataFrame({"qid": ["1", "1"], "docno": ["z", "y"], "score": [9.0, 8.0]})
>>> f = fuse([a, b], method="rrf")
>>> f.docno.tolist(), f.score.round(5).tolist()     # z: 1/63 + 1/61; y: 1/62 + 1/62; x: 1/61
(['z', 'y', 'x'], [0.03227, 0.03226, 0.01639])
"""

from __future__ import annotations

import itertools
import numbers
from pathlib import Path

import numpy as np

from .._core.validation import fmt
from ..datasets.trec import read_run

__all__ = ["fuse", "optimize_fusion", "FusionSearch", "FUSION_METHODS", "NORMALIZATIONS"]

#: method name -> the parameters it takes (beyond ``weights``)
FUSION_METHODS = {
    "combsum": (), "combmnz": (), "combgmnz": ("gamma",), "combanz": (), "combmax": (), "combmin": (),
    "combmed": (), "wsum": ("weights",), "wmnz": ("weights",), "rrf": ("k",), "isr": (), "log_isr": (),
    "logn_isr": ("sigma",), "rbc": ("phi",), "bordafuse": (),
}
NORMALIZATIONS = ("min-max", "max", "sum", "zmuv", "rank", None)
_FLOOR = 1e-9  # ranx's smallest denominator


class _Stacked:
    """All runs' rows in one code space: per row its run, query and (query, docno) pair; rows sorted by run,
    query, then trec_eval's order (score descending, docno descending)."""

    def __init__(self, frames):
        import pandas as pd
        from pandas.api.types import union_categoricals

        qid = union_categoricals([_as_category(f["qid"]) for f in frames], sort_categories=True, ignore_order=True)
        doc = union_categoricals([_as_category(f["docno"]) for f in frames], sort_categories=True,
                                 ignore_order=True)
        self.qnames = qid.categories
        self.dnames = doc.categories  # sorted: code order is string order (code points = UTF-8 byte order)
        q = qid.codes.astype(np.int64)
        d = doc.codes.astype(np.int64)
        run = np.repeat(np.arange(len(frames), dtype=np.int64), [len(f) for f in frames])
        score = np.concatenate([f["score"].to_numpy(dtype=np.float64) for f in frames])
        if not np.isfinite(score).all():
            i = int(np.flatnonzero(~np.isfinite(score))[0])
            r = int(run[i])
            raise ValueError(f"runs[{r}]: score must be finite; got {score[i]!r} (qid {self.qnames[q[i]]!r}, "
                             f"docno {self.dnames[d[i]]!r})")
        order = np.lexsort((-d, -score, q, run))
        self.run, self.q, self.d, self.score = run[order], q[order], d[order], score[order]
        n_docs = max(len(self.dnames), 1)
        key = self.q * n_docs + self.d
        # (run, query, doc) twice: refused, as trec_eval and evaluate_run refuse it
        rk = self.run * (len(self.qnames) * n_docs) + key
        srt = np.sort(rk)
        dup = np.flatnonzero(srt[1:] == srt[:-1])
        if len(dup):
            v = int(srt[dup[0]])
            r, rest = divmod(v, len(self.qnames) * n_docs)
            qq, dd = divmod(rest, n_docs)
            raise ValueError(f"runs[{r}] has the document {self.dnames[dd]!r} twice for query "
                             f"{self.qnames[qq]!r}; each (qid, docno) pair must appear once")
        self.pairs, self.pair = np.unique(key, return_inverse=True)  # pairs sorted by query then docno
        self.n_runs = len(frames)
        # groups: one per (run, query) present, contiguous after the sort
        g = self.run * len(self.qnames) + self.q
        start = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
        self.group_start = start
        self.group_len = np.diff(np.r_[start, len(g)])
        self.row_group = np.repeat(np.arange(len(start)), self.group_len)
        self.rank = np.arange(len(g)) - start[self.row_group] + 1  # 1-based rank inside the run's query
        self.pair_q = self.pairs // n_docs
        self.pandas = pd

    def normalised(self, norm):
        s, g, n = self.score, self.row_group, self.group_len
        if norm is None:
            return s.copy()
        if norm == "rank":
            return 1.0 - (self.rank - 1) / n[g]
        first = self.group_start
        last = first + n - 1
        mx, mn = s[first], s[last]
        if norm == "min-max":
            return (s - mn[g]) / np.maximum(mx - mn, _FLOOR)[g]
        if norm == "max":
            return s / np.maximum(mx, _FLOOR)[g]
        total = np.bincount(g, weights=s, minlength=len(first))
        if norm == "sum":
            return (s - mn[g]) / np.maximum(total - mn * n, _FLOOR)[g]
        mean = total / n
        std = np.sqrt(np.bincount(g, weights=(s - mean[g]) ** 2, minlength=len(first)) / n)
        return (s - mean[g]) / np.maximum(std, _FLOOR)[g]

    def matrix(self, values):
        """``(n_runs, n_pairs)`` of ``values`` per row, NaN where a run did not retrieve the pair."""
        out = np.full((self.n_runs, len(self.pairs)), np.nan)
        out[self.run, self.pair] = values
        return out


def _as_category(col):
    import pandas as pd

    if isinstance(col.dtype, pd.CategoricalDtype):
        return col.cat.remove_unused_categories() if len(col) else col
    return col.astype(str).astype("category")


def _frames(runs):
    import pandas as pd

    if isinstance(runs, dict):
        names, items = [str(k) for k in runs], list(runs.values())
    elif isinstance(runs, (list, tuple)):
        names, items = [str(i) for i in range(len(runs))], list(runs)
    else:
        raise TypeError(f"runs must be a list or dict of run DataFrames or paths; got {type(runs).__name__}")
    if len(items) < 2:
        raise ValueError(f"fusion needs at least 2 runs; got {len(items)}")
    frames = []
    for name, r in zip(names, items):
        if isinstance(r, (str, Path)):
            r = read_run(r)
        if not isinstance(r, pd.DataFrame):
            raise TypeError(f"runs[{name!r}] must be a run DataFrame (read_run) or a path; got {type(r).__name__}")
        missing = [c for c in ("qid", "docno", "score") if c not in r.columns]
        if missing:
            raise ValueError(f"runs[{name!r}] lacks the column(s) {missing}; a run needs qid, docno, score")
        frames.append(r)
    return names, frames


def _check_weights(weights, n_runs):
    if weights is None:
        return np.ones(n_runs)
    if isinstance(weights, dict):
        raise TypeError("weights must be a sequence, one number per run in the runs' order; got a dict")
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or len(w) != n_runs:
        raise ValueError(f"weights must have one value per run ({n_runs}); got {fmt(weights)}")
    bad = ~np.isfinite(w)
    if bad.any():
        raise ValueError(f"weights must be finite; got {w[bad][0]!r} at index {int(np.flatnonzero(bad)[0])}")
    return w


def _check_param(name, value, low, high, closed_low=True):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number; got {fmt(value)}")
    if value < low or value > high or (not closed_low and value == low):
        raise ValueError(f"{name} must be in {'[' if closed_low else '('}{low}, {high}]; got {fmt(value)}")
    return float(value)


def _combine(st, method, norm, w, k, gamma, phi, sigma):
    """Fused score per (query, docno) pair of ``st`` (module table); sums run over the runs in order, as ranx
    adds them, so equal inputs give bit-equal sums."""
    if method in ("rrf", "isr", "log_isr", "logn_isr", "rbc", "bordafuse"):
        rank = st.rank.astype(np.float64)
        if method == "rrf":
            v = 1.0 / (k + rank)
        elif method == "rbc":
            v = (1.0 - phi) * _int_power(phi, st.rank - 1)
        elif method == "bordafuse":
            cand = np.bincount(st.pair_q, minlength=len(st.qnames)).astype(np.float64)  # C per query
            v = cand[st.q] - (rank - 1)
        else:
            v = 1.0 / rank ** 2
    else:
        v = st.normalised(norm)
    m = st.matrix(v)
    present = ~np.isnan(m)
    count = present.sum(axis=0)
    if method == "bordafuse":
        cand = np.bincount(st.pair_q, minlength=len(st.qnames)).astype(np.float64)
        run_len = np.zeros((st.n_runs, len(st.qnames)))
        np.add.at(run_len, (st.run, st.q), 1.0)
        unranked = (cand[None, :] - run_len + 1) / 2  # (runs, queries)
        m = np.where(present, m, unranked[:, st.pair_q])
        present = np.ones_like(present)
    if method in ("combmax", "combmin", "combmed"):
        f = {"combmax": np.nanmax, "combmin": np.nanmin, "combmed": np.nanmedian}[method]
        return f(m, axis=0)
    acc = np.zeros(m.shape[1])
    weights = w if method == "wsum" else np.ones(st.n_runs)
    for r in range(st.n_runs):  # sequential, in run order
        acc = np.where(present[r], acc + weights[r] * np.where(present[r], m[r], 0.0), acc)
    if method in ("combsum", "wsum", "rrf", "rbc", "bordafuse"):
        return acc
    if method in ("combmnz", "isr"):
        return acc * count
    if method == "combgmnz":
        return acc * count.astype(np.float64) ** gamma
    if method == "combanz":
        return acc / count
    if method == "wmnz":
        return acc * (present * w[:, None]).sum(axis=0)
    if method == "log_isr":
        return acc * np.log(count)
    return acc * np.log(count + sigma)  # logn_isr


def _int_power(a, exponent):
    """``a ** exponent`` for non-negative integer exponents by repeated squaring (the rounding of ranx's compiled
    ``phi ** i``, so equal ranks give bit-equal RBC weights)."""
    e = np.asarray(exponent, dtype=np.int64).copy()
    r = np.ones(len(e))
    base = float(a)
    while e.any():
        r = np.where(e & 1, r * base, r)
        e >>= 1
        base *= base
    return r


def _ranked_run(st, fused):
    """The fused run as :func:`~gbm_objectives.read_run` gives one: qid and docno Categoricals (sorted categories),
    score; rows by query, then score descending, ties by docno descending."""
    pd = st.pandas
    n_docs = max(len(st.dnames), 1)
    q, d = st.pairs // n_docs, st.pairs % n_docs
    order = np.lexsort((-d, -fused, q))
    return pd.DataFrame({
        "qid": pd.Categorical.from_codes(q[order], categories=st.qnames),
        "docno": pd.Categorical.from_codes(d[order], categories=st.dnames),
        "score": fused[order],
    })


def fuse(runs, method="rrf", norm="min-max", weights=None, *, k=60, gamma=1.0, phi=0.8, sigma=0.01, depth=None):
    """Fuse TREC runs into one run (module docstring: the methods and normalisations).

    Parameters
    ----------
    runs : list or dict of pandas.DataFrame or path
        Runs as :func:`~gbm_objectives.read_run` returns them (columns ``qid``, ``docno``, ``score``), or files.
    method : str, default "rrf"
        One of :data:`FUSION_METHODS`.
    norm : {"min-max", "max", "sum", "zmuv", "rank", None}, default "min-max"
        Per-query score normalisation before score-based methods (rank-based ones ignore it: it keeps the order).
    weights : sequence of float, optional
        One per run (``wsum``, ``wmnz``); default all 1.
    k, gamma, phi, sigma : float
        ``rrf``'s ``k`` (``> 0``), ``combgmnz``'s exponent, ``rbc``'s persistence (``[0, 1)``), ``logn_isr``'s
        offset (``[0, 1]``).
    depth : int, optional
        Keep the ``depth`` best documents of each query.

    Returns
    -------
    pandas.DataFrame
        Columns ``qid``, ``docno`` (Categoricals) and ``score``; per query ranked best first.

    Raises
    ------
    ValueError
        Fewer than 2 runs, an unknown method or normalisation, a weight per run missing or not finite, a parameter
        out of range, a non-finite score, a (qid, docno) pair twice in one run.
    TypeError
        A run that is neither a DataFrame nor a path.
    """
    if method not in FUSION_METHODS:
        raise ValueError(f"method must be one of {list(FUSION_METHODS)}; got {fmt(method)}")
    if norm not in NORMALIZATIONS:
        raise ValueError(f"norm must be one of {list(NORMALIZATIONS)}; got {fmt(norm)}")
    if weights is not None and "weights" not in FUSION_METHODS[method]:
        raise ValueError(f"weights are used by 'wsum' and 'wmnz' only; method {method!r} takes none")
    k = _check_param("k", k, 0.0, np.inf, closed_low=False)
    gamma = _check_param("gamma", gamma, -np.inf, np.inf)
    phi = _check_param("phi", phi, 0.0, 1.0)
    if phi == 1.0:
        raise ValueError("phi must be in [0, 1); got 1.0")
    sigma = _check_param("sigma", sigma, 0.0, 1.0)
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, numbers.Integral) or depth < 1):
        raise ValueError(f"depth must be a positive integer or None; got {fmt(depth)}")
    names, frames = _frames(runs)
    w = _check_weights(weights, len(frames))
    st = _Stacked(frames)
    out = _ranked_run(st, _combine(st, method, norm, w, k, gamma, phi, sigma))
    if depth is not None:
        out = out[out.groupby("qid", observed=True).cumcount() < depth].reset_index(drop=True)
    return out


class FusionSearch:
    """What :func:`optimize_fusion` returns.

    Attributes
    ----------
    weights : numpy.ndarray
        The best weights (one per run, summing to 1).
    value : float
        Their mean ``metric`` on the training queries.
    trials : pandas.DataFrame
        Every weight vector tried (one column per run) and its ``metric`` value, best first.
    metric : str
    """

    def __init__(self, weights, value, trials, metric):
        self.weights, self.value, self.trials, self.metric = weights, value, trials, metric

    def __repr__(self):
        w = ", ".join(f"{x:.3g}" for x in self.weights)
        return f"FusionSearch(weights=[{w}], {self.metric}={self.value:.4f}, {len(self.trials)} trials)"


def optimize_fusion(runs, qrels, metric="ndcg@10", method="wsum", norm="min-max", *, step=0.1, queries=None,
                    convention="trec"):
    """Grid-search the weights of ``wsum``/``wmnz`` fusion on training queries.

    Every weight vector on the simplex grid ``{w : w_r in {0, step, 2 step, ..., 1}, sum w_r = 1}`` is tried
    (``C(1/step + R - 1, R - 1)`` vectors for ``R`` runs: 286 for 4 runs at ``step=0.1``); the fused run is
    evaluated with :func:`~gbm_objectives.evaluate_run` on the queries of ``qrels`` (or ``queries``); the best
    mean wins, ties to the first vector in the grid's order. As ``ranx.optimize_fusion``.

    Parameters
    ----------
    runs : list or dict of run DataFrames or paths
    qrels : path or pandas.DataFrame
        The training judgments.
    metric : str, default "ndcg@10"
    method : {"wsum", "wmnz"}, default "wsum"
    norm : str or None, default "min-max"
    step : float, default 0.1
        Grid step; ``1 / step`` must be a whole number.
    queries : sequence of str, optional
        Training query ids (a subset of the qrels' queries); default all of them.
    convention : str, default "trec"

    Returns
    -------
    FusionSearch
        ``.weights``, ``.value``, ``.trials``.

    >>> import pandas as pd
    >>> qrels = pd.DataFrame({"qid": ["1", "1"], "docno": ["a", "b"], "relevance": [1, 0]})
    >>> good = pd.DataFrame({"qid": ["1", "1"], "docno": ["a", "b"], "score": [2.0, 1.0]})
    >>> bad = pd.DataFrame({"qid": ["1", "1"], "docno": ["a", "b"], "score": [1.0, 2.0]})
    >>> optimize_fusion([good, bad], qrels, metric="mrr", step=0.5).weights.tolist()
    [1.0, 0.0]
    """
    import pandas as pd

    from .runs import evaluate_run

    if method not in ("wsum", "wmnz"):
        raise ValueError(f"method must be 'wsum' or 'wmnz' (the weighted methods); got {fmt(method)}")
    if norm not in NORMALIZATIONS:
        raise ValueError(f"norm must be one of {list(NORMALIZATIONS)}; got {fmt(norm)}")
    if isinstance(step, bool) or not isinstance(step, numbers.Real) or not 0 < step <= 1:
        raise ValueError(f"step must be in (0, 1]; got {fmt(step)}")
    n_steps = round(1 / step)
    if abs(n_steps * step - 1) > 1e-9:
        raise ValueError(f"1 / step must be a whole number; got step={fmt(step)}")
    names, frames = _frames(runs)
    if isinstance(qrels, (str, Path)):
        from ..datasets.trec import read_qrels

        qrels = read_qrels(qrels)
    if queries is not None:
        keep = pd.Index([str(x) for x in queries])
        known = pd.Index(qrels["qid"].astype(str).unique())
        unknown = keep.difference(known)
        if len(unknown):
            raise ValueError(f"queries: {list(unknown[:3])} have no qrels")
        qrels = qrels[qrels["qid"].astype(str).isin(keep)]
        frames = [f[f["qid"].astype(str).isin(keep)] for f in frames]
    st = _Stacked(frames)
    grid = [np.array(c, dtype=np.float64) / n_steps
            for c in itertools.product(range(n_steps + 1), repeat=len(frames)) if sum(c) == n_steps]
    values = []
    for w in grid:
        run = _ranked_run(st, _combine(st, method, norm, w, 60.0, 1.0, 0.8, 0.01))
        res = evaluate_run(qrels, run, metrics=(metric,), convention=convention, missing_queries="zero")
        values.append(res.mean[metric])
    trials = pd.DataFrame(np.array(grid), columns=names)
    trials[metric] = values
    trials = trials.sort_values(metric, ascending=False, kind="stable").reset_index(drop=True)
    best = trials.iloc[0]
    return FusionSearch(best[names].to_numpy(dtype=np.float64), float(best[metric]), trials, metric)
