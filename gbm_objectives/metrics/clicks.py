r"""Offline evaluation from logged clicks: the inverse-propensity (IPS) estimate of a new ranking's DCG.

Clicks logged while an old ranker showed the lists are biased towards what it showed first. Under the
position-based model (a click needs an examination, with probability ``propensity[p]`` at position ``p``, and
then happens with the document's relevance probability), dividing each click by the propensity of the position
where it was *logged* removes that bias (Joachims et al. 2017; Agarwal et al. 2019)::

    IPS-DCG@k(q) = sum over clicked docs d of q ranked r_d < k by y_score:  discount(r_d) / propensity[logged p_d]
    E[IPS-DCG@k(q)] = sum over docs d ranked r_d < k:  P(click | examined, d) discount(r_d)

i.e. the DCG@k of the new ranking with gain P(click | examined, label). Discounts are those of
:mod:`gbm_objectives._core.dcg` (``1 / log2(r + 2)``, 0-based rank), ties broken by row order.

>>> import numpy as np
>>> import gbm_objectives as go
>>> clicks = np.array([1.0, 0.0, 1.0, 0.0])
>>> position = np.array([0, 1, 1, 0])
>>> round(go.ips_dcg_score(clicks, [0.9, 0.1, 0.8, 0.2], position, [1.0, 0.5], group=[2, 2]), 4)
1.5
"""

from __future__ import annotations

import numpy as np

from .._core.segments import resolve_boundaries
from .._core.validation import check_1d, check_position, check_positive_int
from .ranking import dcg_score

__all__ = ["ips_dcg_score"]


def ips_dcg_score(clicks, y_score, position, propensity, *, group=None, qid=None, k=10, average=True):
    """Inverse-propensity-scored DCG@k of the ranking ``y_score`` from clicks logged at ``position``.

    Parameters
    ----------
    clicks : array-like of {0, 1}, shape (n_samples,)
        Logged clicks (binary: the estimator divides a click, not a count, by its propensity).
    y_score : array-like of shape (n_samples,)
        Scores of the ranking to evaluate (descending; ties in row order).
    position : array-like of int, shape (n_samples,)
        0-based position at which each row was displayed when the clicks were logged.
    propensity : array-like of float > 0, indexed by position
        Examination probability of each logged position (``propensity[p]``); it must cover every clicked row's
        position. Relative propensities (normalised to 1 at position 0) scale the estimate by 1/theta_0.
    group, qid : array-like
        Query sizes or per-row query ids (exactly one).
    k : int >= 1, default 10
    average : bool, default True
        Mean over queries; False returns the per-query array.

    Returns
    -------
    float or ndarray of shape (n_queries,)
    """
    c = check_1d(clicks, "clicks")
    bad = (c != 0) & (c != 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"clicks must be 0 or 1 (the IPS estimator weighs single clicks); got {c[i]:g} at index {i}")
    s = check_1d(y_score, "y_score")
    if len(s) != len(c):
        raise ValueError(f"y_score has {len(s)} rows but clicks has {len(c)}")
    pos = check_position(position, len(c))
    prop = check_1d(propensity, "propensity")
    k = check_positive_int(k, "k")
    clicked = c > 0
    if clicked.any():
        top = int(pos[clicked].max())
        if top >= len(prop):
            i = int(np.flatnonzero(clicked & (pos >= len(prop)))[0])
            raise ValueError(f"propensity has {len(prop)} entries but the clicked row {i} was logged at position "
                             f"{int(pos[i])}")
        p_used = prop[pos[clicked]]
        if (p_used <= 0).any():
            i = int(np.flatnonzero(clicked)[np.flatnonzero(p_used <= 0)[0]])
            raise ValueError(f"propensity must be > 0 where a click was logged; got {prop[pos[i]]:g} at position "
                             f"{int(pos[i])} (row {i})")
    boundaries = resolve_boundaries(len(c), group=group, qid=qid)
    gains = np.zeros(len(c))
    gains[clicked] = 1.0 / prop[pos[clicked]]
    # the DCG of the metrics module with the inverse-propensity weighted clicks as linear gains, ties in input order
    per_query = dcg_score(gains, s, group=np.diff(boundaries), k=k, gain="linear", ties="stable", reduce=None)
    if not average:
        return per_query
    return float(per_query.mean()) if len(per_query) else 0.0
