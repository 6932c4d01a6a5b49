"""The ranking metric functions (``*_score``), each a documented wrapper over the one engine (:mod:`._engine`),
with explicit, switchable conventions.

Libraries disagree on the definition of NDCG, MRR and MAP, so the same run scores differently in LightGBM's log,
scikit-learn, trec_eval and ranx. Every ranking metric here takes a ``convention`` that names a preset over three
knobs, each also settable on its own:

============  ==========  ==========================================  ==========================
convention    ``gain``    ``ties`` (equal scores)                     ``empty`` (no relevant doc)
============  ==========  ==========================================  ==========================
"lightgbm"    2^rel - 1   "stable": input order                       1
"trec"        rel         "trec": reverse input order (see below)     0
"sklearn"     rel         "average": averaged over the tied ranks     0
============  ==========  ==========================================  ==========================

* ``"lightgbm"`` (the default) reproduces the ``ndcg@k`` in LightGBM's and XGBoost's evaluation logs (and
  LightGBM's ``map@k``; XGBoost's ``ndcg`` without a cut-off equals our ``k=32`` with ``rank:ndcg``, as measured
  with XGBoost 3.2);
* ``"trec"`` reproduces trec_eval (pytrec_eval) ``ndcg_cut_k``, ``recip_rank``, ``map_cut_k`` and ``P_k``, and
  ranx's ``ndcg@k``, ``mrr``, ``map`` on runs without tied scores (ranx orders ties with an unstable quicksort).
  trec_eval ranks by score descending and breaks ties by *docno descending* (string comparison). When calling
  trec_eval on arrays, name the documents by their zero-padded row index (``f"d{i:09d}"``, ``i`` the row in the
  arrays passed here); then docno-descending is reverse row order, which is what ``ties="trec"`` does;
* ``"sklearn"`` reproduces :func:`sklearn.metrics.ndcg_score` (``ignore_ties=False``): a block of tied scores
  contributes its mean gain at each of its ranks, which is the expected value over all orders of the tie; for
  :func:`map_score` it is :func:`sklearn.metrics.average_precision_score` of each query.
* ``empty`` is the value of a query without any relevant document (ideal DCG 0 for NDCG, no label ``>=
  relevance_threshold`` for MRR, MAP and precision), or ``"skip"`` to leave such queries out of the mean (their
  per-query value is then ``nan``).

Queries are given by exactly one of ``group`` (sizes of contiguous queries, LightGBM) or ``qid`` (one id per row,
XGBoost; the rows of a query need not be contiguous). Both go through :mod:`gbm_objectives._core.segments`, and the DCG
code is the one in :mod:`gbm_objectives._core.dcg` that the LambdaRank objective uses (one ideal-DCG routine,
``dcg.ideal_dcg_query``), so the ΔNDCG used in training and the NDCG reported here cannot drift apart. Each
formula is written once, as a compiled function of one query's values in ranked order (ranx's layout); one driver
ranks each query once and calls the functions asked for, for a single metric as for :func:`evaluate`.
``reduce=None`` returns the per-query values (in ``group`` order, or in increasing ``qid`` order); the default
``"mean"`` returns their mean, weighted by the query weights when ``sample_weight`` is given (LightGBM's query
weight: the mean of the query's row weights).

>>> import numpy as np
>>> import gbm_objectives as go
>>> y = np.array([0, 2, 1, 0, 0])
>>> s = np.array([0.3, 0.1, 0.2, 0.5, 0.5])
>>> # query 1 ranks gains (0, 1, 3): (1/log2(3) + 3/2) / (3 + 1/log2(3)); query 2 has no relevant doc: 1
>>> go.ndcg_score(y, s, group=[3, 2], reduce=None)
array([0.58688267, 1.        ])
>>> go.ndcg_score(y, s, group=[3, 2], convention="trec", reduce=None)   # gains = labels; empty query: 0
array([0.61990623, 0.        ])
>>> float(go.mrr_score(y, s, group=[3, 2], empty="skip"))   # 1st relevant doc at rank 2
0.5
"""

from __future__ import annotations

import numpy as np

from .._core.validation import as_numpy, check_1d, check_consistent_length, fmt
from ._engine import (
    CONVENTIONS,
    apply_empty,
    auc_finish,
    auc_positive,
    check_ap_ties,
    check_k,
    check_reduce,
    compute_gains,
    finish,
    no_average_ties,
    prepare_ranking,
    relevance_flags,
    resolve_ap_denominator,
    resolve_knobs,
    run,
    stop_probabilities,
)

__all__ = [
    "CONVENTIONS",
    "ndcg_score",
    "mrr_score",
    "map_score",
    "precision_score_at_k",
    "auc_score",
    "recall_score_at_k",
    "success_score_at_k",
    "r_precision_score",
    "bpref_score",
    "dcg_score",
    "err_score",
]


def ndcg_score(
    y_true,
    y_score,
    *,
    group=None,
    qid=None,
    k=None,
    convention="lightgbm",
    gain=None,
    ties=None,
    empty=None,
    sample_weight=None,
    reduce="mean",
    ideal_labels=None,
    ideal_qid=None,
):
    """Normalized discounted cumulative gain at ``k``, per query, then averaged.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Non-negative relevance labels (integers for a gain table).
    y_score : array-like of shape (n_samples,)
        Predicted scores; higher ranks first. NaN is rejected.
    group : array-like of int, shape (n_queries,), optional
        Sizes of contiguous queries. Exactly one of ``group`` and ``qid``.
    qid : array-like of shape (n_samples,), optional
        Query id of each row (numbers, or strings, which are sorted); the rows of a query need not be contiguous.
    k : int, optional
        Cut-off; ``None`` means the whole query. A query shorter than ``k`` is scored on all its rows (the ideal DCG
        is truncated the same way).
    convention : {"lightgbm", "trec", "sklearn"}, default "lightgbm"
        Preset for ``gain``, ``ties`` and ``empty`` (module docstring).
    gain : {"exp2", "linear"} or array-like, optional
        ``"exp2"``: ``2**rel - 1``; ``"linear"``: ``rel``; an array: ``gain[rel]`` (LightGBM's ``label_gain``).
    ties : {"stable", "trec", "average"}, optional
        Order of equal scores: input order, reverse input order (trec_eval with row-index docnos) or averaged.
    empty : float or "skip", optional
        NDCG of a query whose ideal DCG is 0 (no document with positive gain), or ``"skip"`` to drop it.
    sample_weight : array-like of shape (n_samples,), optional
        Row weights; a query's weight is the mean of its rows' weights (LightGBM).
    reduce : {"mean", None}, default "mean"
        ``None`` returns the per-query values (``nan`` for skipped queries).
    ideal_labels, ideal_qid : array-like of shape (n_judged,), optional
        All judged labels of the queries and their query ids (the qrels side, trec_eval's semantics): the ideal DCG
        is then taken from them, so relevant documents the ranking did not retrieve count. ``ideal_qid`` holds
        the ids of ``qid`` (with ``group=``: 0-based query positions); judged rows of queries not ranked are
        ignored, and a ranked query without judged rows has ideal DCG 0 (``empty``).

    Returns
    -------
    float or ndarray of shape (n_queries,)

    Raises
    ------
    ValueError
        Empty input, length mismatch, group sizes not summing to ``n_samples``, ``k <= 0``, NaN scores, negative
        labels, a label whose gain overflows float64 (``gain="exp2"``: labels must be below 1024), an unknown
        convention/knob.

    Notes
    -----
    For a query with documents ranked by descending score (ties per ``ties``)::

        DCG@k  = sum_{r=0}^{min(k, n)-1} gain(rel_(r)) / log2(r + 2)
        IDCG@k = the same with documents sorted by descending gain
        NDCG@k = DCG@k / IDCG@k            (``empty`` when IDCG@k = 0)

    With ``ties="average"`` a block of tied scores at ranks ``p..p+m-1`` contributes
    ``mean(gain over the block) * sum_{r=p}^{p+m-1, r<k} 1 / log2(r + 2)``.

    References
    ----------
    K. Järvelin and J. Kekäläinen, "Cumulated gain-based evaluation of IR techniques", ACM TOIS 20(4), 2002.

    Examples
    --------
    >>> import gbm_objectives as go
    >>> # ranked labels (0, 2, 1): (0 + 2/log2(3)) / (3 + 2/log2(3))
    >>> round(go.ndcg_score([3, 2, 0], [0.1, 0.2, 0.3], group=[3], k=2, convention="trec"), 12)
    0.296081910966
    """
    gain, ties, empty = resolve_knobs(convention, gain, ties, empty)
    k = check_k(k)
    reduce = check_reduce(reduce)
    qid, ideal_qid = _joint_qid(qid, group, ideal_labels, ideal_qid)
    r = prepare_ranking(y_true, y_score, group, qid, sample_weight)
    ideal = {} if ideal_labels is None else _ideal_judgments(r, qid, ideal_labels, ideal_qid, gain)
    values, _, no_gain = run(r, [("ndcg", k)], gains=compute_gains(r.y, gain, r.boundaries), ties=ties, **ideal)
    return finish(*apply_empty(values[0], no_gain, empty), r.qw, reduce)


def mrr_score(
    y_true,
    y_score,
    *,
    group=None,
    qid=None,
    k=None,
    relevance_threshold=1,
    convention="lightgbm",
    ties=None,
    empty=None,
    sample_weight=None,
    reduce="mean",
):
    """Mean reciprocal rank of the first relevant document (``y_true >= relevance_threshold``) within the top ``k``.

    Parameters are those of :func:`ndcg_score` (``gain`` does not apply). ``ties="average"`` gives the expected
    reciprocal rank over all orders of tied documents.

    Notes
    -----
    ``RR@k = 1 / r*`` with ``r*`` the 1-based rank of the first relevant document if ``r* <= k``, else 0; ``empty``
    for a query without any relevant document. ``convention="trec"`` with ``k=None`` is trec_eval's
    ``recip_rank``. With ``ties="average"``, if the first block of tied scores holding relevant documents starts at
    rank ``p`` (0-based), has ``m`` documents and ``c`` of them relevant,
    ``E[RR] = sum_j C(m-1-j, c-1) / C(m, c) / (p + j + 1)`` over the offsets ``j`` with ``p + j < k``.

    Examples
    --------
    >>> import gbm_objectives as go
    >>> go.mrr_score([0, 1, 0, 1], [0.9, 0.5, 0.5, 0.1], group=[4], ties="average")   # rank 2 or 3: (1/2 + 1/3) / 2
    0.41666666666666663
    """
    _, ties, empty = resolve_knobs(convention, None, ties, empty)
    k = check_k(k)
    reduce = check_reduce(reduce)
    r = prepare_ranking(y_true, y_score, group, qid, sample_weight)
    values, no_rel, _ = run(r, [("mrr", k)], rel=relevance_flags(r.y, relevance_threshold), ties=ties)
    return finish(*apply_empty(values[0], no_rel, empty), r.qw, reduce)


def map_score(
    y_true,
    y_score,
    *,
    group=None,
    qid=None,
    k=None,
    relevance_threshold=1,
    convention="lightgbm",
    ties=None,
    empty=None,
    sample_weight=None,
    reduce="mean",
    n_relevant=None,
    ap_denominator=None,
):
    """Mean average precision at ``k`` over queries (relevant: ``y_true >= relevance_threshold``).

    Parameters are those of :func:`ndcg_score` (``gain`` does not apply), and

    ap_denominator : {"relevant", "min_relevant_k"}, optional
        The denominator ``D`` below, a knob like ``gain``/``ties``/``empty``: by default the convention's
        (``"min_relevant_k"`` for "lightgbm", ``"relevant"`` otherwise).
    n_relevant : array-like of int, shape (n_queries,), optional
        The number of relevant documents of each query (in query order: ``group`` order or increasing ``qid``),
        retrieved or not (trec_eval's ``num_rel``); by default the relevant rows of the query.

    Notes
    -----
    ``AP@k = (1 / D) * sum_{r <= k, doc at r relevant} precision@r`` with ``precision@r`` = relevant documents in
    the top ``r`` over ``r``. The denominator depends on the convention:

    * ``"lightgbm"``: ``D = min(R, k)`` with ``R`` the number of relevant documents of the query (LightGBM's
      ``map@k``; LightGBM itself breaks ties with an unstable sort, ours is stable);
    * ``"trec"``: ``D = R`` (trec_eval ``map_cut_k``; ``k=None`` gives trec_eval ``map``);
    * ``"sklearn"`` (``ties="average"``): :func:`sklearn.metrics.average_precision_score` of each query, one step per
      distinct score: ``sum_t (c_t / R) * (relevant above or at t) / (documents above or at t)``, ``c_t`` the number of
      relevant documents scored ``t``; defined on the whole query (``k`` must be ``None``).

    Examples
    --------
    >>> import gbm_objectives as go
    >>> go.map_score([1, 0, 1], [0.9, 0.8, 0.7], group=[3], convention="trec")   # (1/1 + 2/3) / 2
    0.8333333333333333
    >>> go.map_score([1, 0, 1], [0.9, 0.8, 0.7], group=[3], k=1, convention="trec")   # (1/1) / R, R = 2
    0.5
    >>> go.map_score([1, 0, 1], [0.9, 0.8, 0.7], group=[3], k=1, convention="trec", ap_denominator="min_relevant_k")
    1.0
    """
    _, ties, empty = resolve_knobs(convention, None, ties, empty)
    k = check_k(k)
    reduce = check_reduce(reduce)
    check_ap_ties(ties, k)
    r = prepare_ranking(y_true, y_score, group, qid, sample_weight)
    rel = relevance_flags(r.y, relevance_threshold)
    values, no_rel, _ = run(r, [("map", k)], rel=rel, ties=ties,
                            ap_min_den=resolve_ap_denominator(convention, ap_denominator),
                            n_rel=_check_n_relevant(n_relevant, r, rel))
    return finish(*apply_empty(values[0], no_rel, empty), r.qw, reduce)


def precision_score_at_k(
    y_true,
    y_score,
    *,
    group=None,
    qid=None,
    k=10,
    relevance_threshold=1,
    convention="lightgbm",
    ties=None,
    empty=None,
    sample_weight=None,
    reduce="mean",
):
    """Mean precision at ``k``: relevant documents (``y_true >= relevance_threshold``) among the top ``k``, over ``k``.

    The denominator is always ``k``, also for a query with fewer than ``k`` documents (trec_eval ``P_k``, ranx).
    Other parameters are those of :func:`ndcg_score`; ``ties="average"`` counts a tied block straddling rank ``k``
    by the fraction of it that falls inside.

    Examples
    --------
    >>> import gbm_objectives as go
    >>> go.precision_score_at_k([1, 0, 1, 1], [0.4, 0.3, 0.2, 0.1], group=[4], k=2)
    0.5
    """
    _, ties, empty = resolve_knobs(convention, None, ties, empty)
    k = check_k(k, allow_none=False)
    reduce = check_reduce(reduce)
    r = prepare_ranking(y_true, y_score, group, qid, sample_weight)
    values, no_rel, _ = run(r, [("p", k)], rel=relevance_flags(r.y, relevance_threshold), ties=ties)
    return finish(*apply_empty(values[0], no_rel, empty), r.qw, reduce)


def _joint_qid(qid, group, ideal_labels, ideal_qid):
    """Query ids of the rows and of the judged labels as codes of one space (so that they can be matched)."""
    if (ideal_labels is None) != (ideal_qid is None):
        raise ValueError("ideal_labels and ideal_qid go together (all judged labels and their query ids); "
                         f"got ideal_labels={'None' if ideal_labels is None else '...'} and "
                         f"ideal_qid={'None' if ideal_qid is None else '...'}")
    if ideal_labels is None or qid is None:
        return qid, ideal_qid
    q = qid.to_numpy() if hasattr(qid, "to_numpy") else np.asarray(qid)
    iq = ideal_qid.to_numpy() if hasattr(ideal_qid, "to_numpy") else np.asarray(ideal_qid)
    if q.ndim != 1 or iq.ndim != 1:
        raise ValueError(f"qid and ideal_qid must be 1-D; got shapes {q.shape} and {iq.shape}")
    try:
        codes = np.unique(np.concatenate((q, iq)), return_inverse=True)[1].reshape(-1)
    except TypeError:
        raise TypeError("qid and ideal_qid must hold ids of one type (numbers or strings); got a mix") from None
    return codes[: len(q)], codes[len(q):]


def _ideal_judgments(r, qid, ideal_labels, ideal_qid, gain):
    """``ideal_gains``/``ideal_bounds`` for :func:`run`: the judged gains of each query of ``r``, in its order."""
    y = check_1d(ideal_labels, "ideal_labels")
    iq = as_numpy(ideal_qid, "ideal_qid")
    check_consistent_length(len(y), ideal_qid=iq)
    if (y < 0).any():
        i = int(np.flatnonzero(y < 0)[0])
        raise ValueError(f"ideal_labels must be non-negative relevance labels; got {fmt(y[i])} at index {i}")
    nq = len(r.boundaries) - 1
    if qid is None:  # group=: ideal_qid are query positions
        if iq.dtype.kind not in "iu" or (len(iq) and (iq.min() < 0 or iq.max() >= nq)):
            bad = np.flatnonzero((iq < 0) | (iq >= nq) | (iq != np.floor(iq)))
            i = int(bad[0]) if len(bad) else 0
            raise ValueError(f"with group=, ideal_qid holds 0-based query positions (0..{nq - 1}); got "
                             f"{fmt(iq[i]) if len(iq) else 'nothing'} at index {i}")
        qcodes = np.arange(nq)
    else:  # the codes of the ranked queries, in the order prepare_ranking put them (increasing)
        qcodes = np.unique(as_numpy(qid, "qid"))
    keep = np.isin(iq, qcodes)
    iq, y = iq[keep], y[keep]
    order = np.argsort(iq, kind="stable")
    iq, y = iq[order], y[order]
    bounds = np.append(np.searchsorted(iq, qcodes, side="left"), len(iq)).astype(np.int64)
    g = compute_gains(y, gain, bounds) if len(y) else np.zeros(0)
    return {"ideal_gains": g, "ideal_bounds": bounds}


def _check_n_relevant(n_relevant, r, rel, name="n_relevant"):
    """Per-query counts of relevant documents (``None``: counted in the rows)."""
    if n_relevant is None:
        return None
    c = as_numpy(n_relevant, name)
    nq = len(r.boundaries) - 1
    if c.ndim != 1 or len(c) != nq:
        raise ValueError(f"{name} must have one count per query ({nq} queries); got shape {c.shape}")
    ci = c.astype(np.int64)
    if (ci != c).any() or (ci < 0).any():
        i = int(np.flatnonzero((ci != c) | (ci < 0))[0])
        raise ValueError(f"{name} must be non-negative integers; got {fmt(c[i])} at index {i}")
    if rel is not None and name == "n_relevant":
        seen = np.add.reduceat(rel.astype(np.int64), r.boundaries[:-1])
        if (ci < seen).any():
            i = int(np.flatnonzero(ci < seen)[0])
            raise ValueError(f"{name}[{i}] = {ci[i]} is smaller than the {seen[i]} relevant rows of query {i}")
    return ci


def _binary_metric(base, y_true, y_score, group, qid, k, relevance_threshold, convention, ties, empty,
                   sample_weight, reduce, n_relevant=None, judged=None, n_nonrelevant=None):
    """The metrics of relevant/non-relevant labels that need the count of relevant documents (recall, success,
    R-precision, bpref): validation, one kernel pass, ``empty``."""
    _, ties, empty = resolve_knobs(convention, None, ties, empty)
    if base in ("success", "bpref"):
        no_average_ties(ties, {"success": "success_score_at_k", "bpref": "bpref_score"}[base])
    k = 0 if base in ("rprec", "bpref") else check_k(k)
    reduce = check_reduce(reduce)
    r = prepare_ranking(y_true, y_score, group, qid, sample_weight)
    rel = relevance_flags(r.y, relevance_threshold)
    extra = {"n_rel": _check_n_relevant(n_relevant, r, rel)}
    if base == "bpref":
        if judged is not None:
            j = check_1d(judged, "judged")
            check_consistent_length(len(r.y), judged=j)
            if r.perm is not None:
                j = j[r.perm]
            extra["judged"] = (j != 0).astype(np.int8)
        extra["n_nonrel"] = _check_n_relevant(n_nonrelevant, r, None, "n_nonrelevant")
    values, no_rel, _ = run(r, [(base, k)], rel=rel, ties=ties, **extra)
    return finish(*apply_empty(values[0], no_rel, empty), r.qw, reduce)


def recall_score_at_k(y_true, y_score, *, group=None, qid=None, k=10, relevance_threshold=1, n_relevant=None,
                      convention="lightgbm", ties=None, empty=None, sample_weight=None, reduce="mean"):
    """Mean recall at ``k``: relevant documents in the top ``k`` over all relevant documents of the query.

    Parameters are those of :func:`map_score`; ``k=None`` means the whole query.

    Notes
    -----
    ``recall@k = |relevant in the top k| / R``, ``R = n_relevant`` (trec_eval ``recall_k``'s ``num_rel``: retrieved
    or not) or, by default, the relevant rows; ``empty`` when ``R = 0``. With ``ties="average"`` a tied block
    straddling rank ``k`` counts by the fraction of it inside (as :func:`precision_score_at_k`).

    Examples
    --------
    >>> import gbm_objectives as go
    >>> go.recall_score_at_k([1, 0, 1], [0.9, 0.8, 0.7], group=[3], k=2)                  # 1 of 2
    0.5
    >>> go.recall_score_at_k([1, 0, 1], [0.9, 0.8, 0.7], group=[3], k=2, n_relevant=[4])  # 4 judged relevant
    0.25
    """
    return _binary_metric("recall", y_true, y_score, group, qid, k, relevance_threshold, convention, ties, empty,
                          sample_weight, reduce, n_relevant)


def success_score_at_k(y_true, y_score, *, group=None, qid=None, k=10, relevance_threshold=1,
                       convention="lightgbm", ties=None, empty=None, sample_weight=None, reduce="mean"):
    """Mean success at ``k`` (hit rate): the share of queries with a relevant document in the top ``k``.

    ``success@k = 1`` if some document ranked ``<= k`` has ``y_true >= relevance_threshold``, else 0 (trec_eval
    ``success_k``); ``empty`` for a query without relevant documents. ``ties="average"`` is refused.

    Examples
    --------
    >>> import gbm_objectives as go
    >>> go.success_score_at_k([0, 0, 1, 1, 0], [0.9, 0.8, 0.7, 0.9, 0.1], group=[3, 2], k=2, reduce=None)
    array([0., 1.])
    """
    return _binary_metric("success", y_true, y_score, group, qid, k, relevance_threshold, convention, ties, empty,
                          sample_weight, reduce)


def r_precision_score(y_true, y_score, *, group=None, qid=None, relevance_threshold=1, n_relevant=None,
                      convention="lightgbm", ties=None, empty=None, sample_weight=None, reduce="mean"):
    """Mean R-precision: precision at rank ``R``, ``R`` the number of relevant documents of the query.

    ``R-prec = |relevant in the top R| / R`` (trec_eval ``Rprec``; ``R = n_relevant``, retrieved or not, or the
    relevant rows); ``empty`` when ``R = 0``.

    Examples
    --------
    >>> import gbm_objectives as go
    >>> go.r_precision_score([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.6], group=[4])          # R = 2: 1 of the top 2
    0.5
    >>> go.r_precision_score([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.6], group=[4], n_relevant=[5])   # 2 of the top 5
    0.4
    """
    return _binary_metric("rprec", y_true, y_score, group, qid, None, relevance_threshold, convention, ties, empty,
                          sample_weight, reduce, n_relevant)


def bpref_score(y_true, y_score, *, group=None, qid=None, judged=None, relevance_threshold=1, n_relevant=None,
                n_nonrelevant=None, convention="lightgbm", ties=None, empty=None, sample_weight=None, reduce="mean"):
    """Mean bpref (binary preference, Buckley & Voorhees 2004), as trec_eval computes it.

    Parameters
    ----------
    judged : array-like of bool, shape (n_samples,), optional
        Whether each row was judged; unjudged rows are skipped (default: all judged).
    n_relevant, n_nonrelevant : array-like of int, shape (n_queries,), optional
        The query's judged relevant (``R``) and judged non-relevant (``N``) documents, retrieved or not; by default
        counted in the (judged) rows.
    Other parameters as :func:`map_score`; ``ties="average"`` is refused.

    Notes
    -----
    ``bpref = (1 / R) * sum_{r relevant, retrieved} (1 - min(n_r, R) / min(N, R))``, ``n_r`` the judged
    non-relevant documents ranked above ``r`` (a term is 1 when ``n_r = 0``); ``empty`` when ``R = 0``.

    References
    ----------
    C. Buckley and E. M. Voorhees, "Retrieval evaluation with incomplete information", SIGIR 2004.

    Examples
    --------
    >>> import gbm_objectives as go
    >>> # ranked: rel, nonrel, unjudged, rel; R = 2, N = 1: (1 + (1 - 1/1)) / 2
    >>> go.bpref_score([1, 0, 0, 1], [0.9, 0.8, 0.7, 0.6], group=[4], judged=[1, 1, 0, 1])
    0.5
    """
    return _binary_metric("bpref", y_true, y_score, group, qid, None, relevance_threshold, convention, ties, empty,
                          sample_weight, reduce, n_relevant, judged, n_nonrelevant)


def dcg_score(y_true, y_score, *, group=None, qid=None, k=None, convention="lightgbm", gain=None, ties=None,
              sample_weight=None, reduce="mean"):
    """Mean (unnormalised) discounted cumulative gain at ``k``.

    ``DCG@k = sum_{r=0}^{min(k, n)-1} gain(rel_(r)) / log2(r + 2)``, gains and ties per ``convention`` (as
    :func:`ndcg_score`, which divides this by the ideal DCG); a query without relevant documents scores 0.

    Examples
    --------
    >>> import gbm_objectives as go
    >>> round(go.dcg_score([3, 2, 0], [0.1, 0.2, 0.3], group=[3], k=2, convention="trec"), 12)   # 0 + 2/log2(3)
    1.261859507143
    """
    gain, ties, _ = resolve_knobs(convention, gain, ties, None)
    k = check_k(k)
    reduce = check_reduce(reduce)
    r = prepare_ranking(y_true, y_score, group, qid, sample_weight)
    values, _, _ = run(r, [("dcg", k)], gains=compute_gains(r.y, gain, r.boundaries), ties=ties)
    return finish(values[0], np.zeros(values.shape[1], dtype=bool), r.qw, reduce)


def err_score(y_true, y_score, *, group=None, qid=None, k=None, max_grade=None, convention="lightgbm", ties=None,
              sample_weight=None, reduce="mean"):
    """Mean expected reciprocal rank at ``k`` (Chapelle et al. 2009).

    Parameters
    ----------
    max_grade : float, optional
        ``g_max``, the top grade of the relevance scale; by default the largest label in ``y_true``.
    Other parameters as :func:`ndcg_score`; ``ties="average"`` is refused.

    Notes
    -----
    A user scanning down the ranking stops at rank ``r`` with probability ``R_r = (2^{g_r} - 1) / 2^{g_max}``::

        ERR@k = sum_{r=1}^{k} (1 / r) * R_r * prod_{i=1}^{r-1} (1 - R_i)

    A query without relevant documents scores 0.

    References
    ----------
    O. Chapelle, D. Metzler, Y. Zhang and P. Grinspan, "Expected reciprocal rank for graded relevance", CIKM 2009.

    Examples
    --------
    >>> import gbm_objectives as go
    >>> # ranked grades (2, 0, 1), g_max = 2: 3/4 + (1/4) * 0 / 2 + (1/4) * 1 * (1/4) / 3
    >>> go.err_score([2, 0, 1], [0.9, 0.8, 0.7], group=[3])
    0.7708333333333334
    """
    _, ties, _ = resolve_knobs(convention, None, ties, None)
    no_average_ties(ties, "err_score")
    k = check_k(k)
    reduce = check_reduce(reduce)
    r = prepare_ranking(y_true, y_score, group, qid, sample_weight)
    values, _, _ = run(r, [("err", k)], ties=ties, p_stop=stop_probabilities(r.y, max_grade))
    return finish(values[0], np.zeros(values.shape[1], dtype=bool), r.qw, reduce)


def auc_score(
    y_true,
    y_score,
    *,
    group=None,
    qid=None,
    average="global",
    relevance_threshold=None,
    sample_weight=None,
    reduce="mean",
):
    """Area under the ROC curve, over all rows (``average="global"``) or per query then averaged (``"query"``).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels 0/1, or graded labels binarized as ``y_true >= relevance_threshold`` when that is given.
    y_score : array-like of shape (n_samples,)
    group, qid : optional
        Queries, for ``average="query"`` (exactly one of them); ``"global"`` takes neither.
    average : {"global", "query"}, default "global"
    relevance_threshold : float, optional
        Binarize graded labels; ``None`` requires labels in {0, 1}.
    sample_weight : array-like of shape (n_samples,), optional
        Row weights: each positive/negative pair counts ``w_i * w_j``; with ``"query"`` the queries are averaged with
        the mean row weight of each query.
    reduce : {"mean", None}, default "mean"
        With ``average="query"``, ``None`` returns the per-query AUCs.

    Returns
    -------
    float or ndarray of shape (n_queries,)

    Notes
    -----
    ``AUC = sum_{i pos, j neg} w_i w_j ([s_i > s_j] + [s_i = s_j] / 2) / (W_pos * W_neg)``, which equals
    :func:`sklearn.metrics.roc_auc_score`.

    **One class.** The AUC of a query (or data set) with only positives or only negatives is undefined. Per-query
    values are ``nan`` for such queries, and the ``"query"`` mean is taken over the queries that have both classes
    only (they are *excluded*, not averaged in as ``nan`` or as 0.5). ``average="global"`` with one class, or
    ``"query"`` when no query has both classes, raises ``ValueError``.

    Examples
    --------
    >>> import gbm_objectives as go
    >>> go.auc_score([0, 1, 1, 0], [0.1, 0.4, 0.35, 0.8])     # pairs won: 2 of 4
    0.5
    >>> go.auc_score([0, 1, 1, 1], [0.1, 0.4, 0.5, 0.6], group=[2, 2], average="query", reduce=None)
    array([ 1., nan])
    """
    reduce = check_reduce(reduce)
    if average == "global":
        if group is not None or qid is not None:
            raise ValueError("auc_score(average='global') takes neither group nor qid; use average='query'")
        r = prepare_ranking(y_true, y_score, None, None, sample_weight, required=False)
    elif average == "query":
        r = prepare_ranking(y_true, y_score, group, qid, sample_weight)
    else:
        raise ValueError(f"average must be 'global' or 'query'; got {fmt(average)}")
    pos = auc_positive(r.y, relevance_threshold)
    values = run(r, [("auc", 0)], rel=pos)[0][0]
    if average == "global":
        if np.isnan(values[0]):
            raise ValueError(
                f"AUC is undefined when y_true has one class only; got {int(pos.sum())} positives in {len(pos)} rows"
            )
        return float(values[0])
    return auc_finish(values, r.qw, reduce)
