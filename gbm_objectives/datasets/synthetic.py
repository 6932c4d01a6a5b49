"""Synthetic data for tests and speed benchmarks: :func:`make_ranking` (MSLR-like label shares) and
:func:`make_imbalanced`.

>>> from gbm_objectives import datasets
>>> X, y, qid = datasets.make_ranking(n_queries=3, docs_per_query=(4, 6), n_features=8, seed=0)
>>> X.dtype, X.shape[1], sorted(set(qid.tolist()))
(dtype('float32'), 8, [0, 1, 2])
>>> X, y = datasets.make_imbalanced(n_samples=1000, positive_rate=0.05, seed=0)
>>> int(y.sum())
50
"""

from __future__ import annotations


import numpy as np

from .._core.validation import check_interval, check_positive_int

__all__ = ["make_ranking", "make_imbalanced"]

# Label histogram of the MSLR-WEB datasets, roughly (about half 0s, a third 1s, 13 % 2s, 2 % 3s, 1 % 4s).
_MSLR_LABEL_SHARES = np.array([0.52, 0.32, 0.13, 0.02, 0.01])


def make_ranking(
    n_queries=1000,
    docs_per_query=(20, 250),
    n_features=136,
    n_labels=5,
    *,
    n_informative=10,
    noise=1.0,
    seed=0,
):
    """An MSLR-shaped synthetic learning-to-rank set with a learnable relevance signal.

    Each query gets a size drawn uniformly from ``docs_per_query`` (inclusive). Features are i.i.d. standard
    normal float32. A latent relevance score is built from ``n_informative`` randomly placed columns::

        s = X[:, J] @ w + 0.5 * x_a * x_b + 0.5 * |x_c| + u_q + noise * e,    e ~ N(0, 1),  u_q ~ N(0, 0.5^2)

    (``w`` is a random unit vector, ``a, b, c`` are informative columns, ``u_q`` a per-query offset so queries
    differ in how many relevant documents they have). Labels ``0 .. n_labels-1`` are cut from ``s`` at global
    quantiles, so their histogram follows MSLR-WEB's (about 52/32/13/2/1 % for 5 labels; shares halving per
    grade otherwise). Everything is vectorized: a million rows take a few seconds.

    Parameters
    ----------
    n_queries : int
    docs_per_query : int or (int, int)
        Fixed size, or the inclusive (min, max) range of query sizes.
    n_features : int
    n_labels : int
        Number of relevance grades (>= 2).
    n_informative : int
        Columns that carry the signal (capped at ``n_features``).
    noise : float
        Standard deviation of the label noise (0 gives a deterministic ranking signal).
    seed : int

    Returns
    -------
    X : ndarray of float32, shape (n_samples, n_features)
    y : ndarray of float64, shape (n_samples,)
        Integer relevance grades.
    qid : ndarray of int64, shape (n_samples,)
        ``0 .. n_queries-1``, contiguous and sorted.
    """
    n_queries = check_positive_int(n_queries, "n_queries")
    n_features = check_positive_int(n_features, "n_features")
    n_labels = check_positive_int(n_labels, "n_labels", minimum=2)
    n_informative = min(check_positive_int(n_informative, "n_informative"), n_features)
    noise = check_interval(noise, "noise", 0, None, closed="left")
    if np.ndim(docs_per_query) == 0:
        lo = hi = check_positive_int(docs_per_query, "docs_per_query")
    else:
        if len(docs_per_query) != 2:
            raise ValueError(f"docs_per_query must be an int or a (min, max) pair; got {docs_per_query!r}")
        lo = check_positive_int(docs_per_query[0], "docs_per_query[0]")
        hi = check_positive_int(docs_per_query[1], "docs_per_query[1]")
        if hi < lo:
            raise ValueError(f"docs_per_query must have min <= max; got {docs_per_query!r}")
    rng = np.random.default_rng(seed)
    sizes = rng.integers(lo, hi + 1, size=n_queries)
    n = int(sizes.sum())
    qid = np.repeat(np.arange(n_queries, dtype=np.int64), sizes)
    X = rng.standard_normal((n, n_features), dtype=np.float32)
    cols = rng.choice(n_features, size=n_informative, replace=False)
    w = rng.standard_normal(n_informative)
    w /= np.linalg.norm(w)
    score = X[:, cols] @ w.astype(np.float32)
    score = score.astype(np.float64)
    if n_informative >= 3:
        a, b, c = cols[:3]
        score += 0.5 * X[:, a] * X[:, b] + 0.5 * np.abs(X[:, c])
    score += rng.normal(0.0, 0.5, size=n_queries)[qid]
    if noise > 0:
        score += noise * rng.standard_normal(n)
    if n_labels == len(_MSLR_LABEL_SHARES):
        shares = _MSLR_LABEL_SHARES
    else:
        shares = 0.5 ** np.arange(n_labels)
        shares /= shares.sum()
    cuts = np.quantile(score, np.cumsum(shares)[:-1])
    y = np.searchsorted(cuts, score, side="right").astype(np.float64)
    return X, y, qid


def make_imbalanced(n_samples=10000, positive_rate=0.01, *, n_features=20, n_informative=5, seed=0):
    """A binary classification set with exactly ``round(n_samples * positive_rate)`` positives.

    Features are i.i.d. standard normal float32. With informative columns ``J`` and a random unit vector ``w``,
    a latent logit is::

        z = 2 * X[:, J] @ w + (x_a^2 - 1) + l,    l ~ Logistic(0, 1)

    and the ``round(n_samples * positive_rate)`` rows with the largest ``z`` are the positives (a logistic
    latent-variable model thresholded to hit the rate exactly). The signal is real but noisy, so PR-AUC is well
    below 1 and objectives for imbalance (focal, weighted cross-entropy) have something to improve.

    Parameters
    ----------
    n_samples : int
    positive_rate : float in (0, 1)
    n_features, n_informative : int
    seed : int

    Returns
    -------
    X : ndarray of float32, shape (n_samples, n_features)
    y : ndarray of float64, shape (n_samples,)
        0/1 labels.
    """
    n_samples = check_positive_int(n_samples, "n_samples", minimum=2)
    positive_rate = check_interval(positive_rate, "positive_rate", 0, 1)
    n_features = check_positive_int(n_features, "n_features")
    n_informative = min(check_positive_int(n_informative, "n_informative"), n_features)
    n_pos = int(round(n_samples * positive_rate))
    if not 0 < n_pos < n_samples:
        raise ValueError(
            f"positive_rate={positive_rate!r} gives {n_pos} positives out of n_samples={n_samples}; need at least one of each class"
        )
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features), dtype=np.float32)
    cols = rng.choice(n_features, size=n_informative, replace=False)
    w = rng.standard_normal(n_informative)
    w /= np.linalg.norm(w)
    z = 2.0 * (X[:, cols] @ w.astype(np.float32)).astype(np.float64)
    z += X[:, cols[0]].astype(np.float64) ** 2 - 1.0
    z += rng.logistic(0.0, 1.0, size=n_samples)
    y = np.zeros(n_samples, dtype=np.float64)
    y[np.argpartition(-z, n_pos - 1)[:n_pos]] = 1.0
    return X, y
