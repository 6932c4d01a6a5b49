"""Metric names: the one registry of ranking metrics (``METRICS``), name parsing (``"ndcg@10"``, trec_eval's
``ndcg_cut_10``), :func:`get_metric` and :func:`evaluate`, which computes several metrics in one pass.

>>> import gbm_objectives as go
>>> go.metrics.parse_metric("ndcg_cut_10")
('ndcg', 10)
"""

from __future__ import annotations

import numpy as np

from .._core.validation import fmt
from ._engine import (
    apply_empty,
    auc_finish,
    check_ap_ties,
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
from .ranking import (
    auc_score,
    bpref_score,
    dcg_score,
    err_score,
    map_score,
    mrr_score,
    ndcg_score,
    precision_score_at_k,
    r_precision_score,
    recall_score_at_k,
    success_score_at_k,
)

__all__ = ["METRICS", "TREC_NAMES", "parse_metric", "parse_run_metric", "get_metric", "evaluate"]


#: name -> metric function; ``name@k`` sets ``k``.
METRICS = {
    "ndcg": ndcg_score,
    "dcg": dcg_score,
    "mrr": mrr_score,
    "map": map_score,
    "p": precision_score_at_k,
    "precision": precision_score_at_k,
    "recall": recall_score_at_k,
    "success": success_score_at_k,
    "rprec": r_precision_score,
    "bpref": bpref_score,
    "err": err_score,
    "auc": auc_score,
}
_NO_CUTOFF = ("auc", "rprec", "bpref")

#: ir_measures' names of our metrics (``parse_metric`` reads them too: ``nDCG@10``, ``AP``, ``R@100``, ``RR``)
_IR_TO_OURS = {"nDCG": "ndcg", "AP": "map", "P": "p", "R": "recall", "RR": "mrr", "Rprec": "rprec", "Bpref": "bpref",
               "Success": "success", "ERR": "err"}

#: trec_eval's measure names (lower-cased) -> ours: ``ndcg_cut_10`` is ``ndcg@10``, ``P_10`` is ``p@10``...
TREC_NAMES = {"ndcg_cut": "ndcg", "map_cut": "map", "p": "p", "recall": "recall", "success": "success",
              "recip_rank": "mrr", "rprec": "rprec", "bpref": "bpref", "ndcg": "ndcg", "map": "map"}


def parse_metric(name):
    """Split ``"ndcg@10"`` into ``("ndcg", 10)``; ``k`` is ``None`` without ``@``.

    trec_eval's names are aliases (case-insensitive): ``ndcg_cut_10``, ``map_cut_10``, ``P_10``, ``recall_100``,
    ``success_10`` (``name_k``), ``recip_rank``, ``Rprec``, ``bpref``; so are ir_measures' names of these metrics
    (``nDCG@10``, ``AP``, ``AP@10``, ``P@5``, ``R@100``, ``RR``, ``RR@10``, ``Rprec``, ``Bpref``, ``Success@1``,
    ``ERR@20``), without parameters (``AP(rel=2)`` is :func:`parse_run_metric`'s).

    >>> parse_metric("ndcg@10")
    ('ndcg', 10)
    >>> parse_metric("ndcg_cut_10"), parse_metric("recip_rank"), parse_metric("P_5"), parse_metric("Rprec")
    (('ndcg', 10), ('mrr', None), ('p', 5), ('rprec', None))
    >>> parse_metric("nDCG@10"), parse_metric("AP"), parse_metric("R@100"), parse_metric("RR")  # ir_measures'
    (('ndcg', 10), ('map', None), ('recall', 100), ('mrr', None))
    """
    if not isinstance(name, str):
        raise TypeError(f"metric must be a string such as 'ndcg@10'; got {fmt(name)}")
    name = str(name)  # np.str_ -> str, for the messages
    ir = _ir_measure(name.strip())
    if ir is not None and ir[0] in _IR_TO_OURS:  # ir_measures' spelling of one of ours: nDCG@10, AP, R@100, RR
        if ir[1]:
            raise ValueError(f"metric {name!r}: parameters ({', '.join(ir[1])}) are taken by evaluate_run only; "
                             "here pass relevance_threshold=")
        name = _IR_TO_OURS[ir[0]] + (f"@{ir[2]}" if ir[2] else "")
    base, _, at = name.strip().lower().partition("@")
    if base not in METRICS and not at:
        head, _, tail = base.rpartition("_")
        if base in TREC_NAMES:
            base = TREC_NAMES[base]
        elif head in TREC_NAMES and tail.isdigit():
            base, at = TREC_NAMES[head], tail
    if base not in METRICS:
        raise ValueError(
            f"unknown metric {name!r}; known: {sorted(METRICS)} (optionally '@k', e.g. 'ndcg@10'), or trec_eval's "
            f"names ndcg_cut_k, map_cut_k, P_k, recall_k, success_k, recip_rank, Rprec, bpref"
        )
    k = None
    if at:
        try:
            k = int(at)
        except ValueError:
            raise ValueError(f"metric {name!r}: the cut-off after '@' must be an integer; got {at!r}") from None
        if k <= 0:
            raise ValueError(f"metric {name!r}: k must be >= 1; got {k}")
        if base in _NO_CUTOFF:
            raise ValueError(f"metric {name!r}: {base} takes no cut-off")
    return base, k


def get_metric(name, **kwargs):
    """A function ``f(y_true, y_score, *, group=None, qid=None, sample_weight=None) -> float`` for a metric name.

    ``kwargs`` (``convention``, ``empty``, ``relevance_threshold``, ...) are passed on. ``"auc"`` is the per-query
    AUC (``average="query"``) when a ``group``/``qid`` is given and the global AUC otherwise; graded labels are
    binarized at ``relevance_threshold`` (default 1).
    """
    base, k = parse_metric(name)
    fn = METRICS[base]
    if base == "auc":
        kw = {"relevance_threshold": 1, **kwargs}

        def metric(y_true, y_score, *, group=None, qid=None, sample_weight=None):
            average = "global" if group is None and qid is None else "query"
            return fn(y_true, y_score, group=group, qid=qid, average=average, sample_weight=sample_weight, **kw)

    else:
        kw = dict(kwargs)
        if k is not None:
            kw["k"] = k
        elif base in ("p", "precision"):
            kw.setdefault("k", 10)
        elif base in ("recall", "success"):
            kw.setdefault("k", None)  # no cut-off: the whole ranking
        if base in ("dcg", "err"):
            kw.pop("relevance_threshold", None)
            kw.pop("empty", None)

        def metric(y_true, y_score, *, group=None, qid=None, sample_weight=None):
            return fn(y_true, y_score, group=group, qid=qid, sample_weight=sample_weight, **kw)

    metric.__name__ = name
    return metric


def evaluate(
    y_true,
    y_score,
    *,
    group=None,
    qid=None,
    metrics=("ndcg@10", "mrr", "map", "auc"),
    convention="lightgbm",
    gain=None,
    ties=None,
    empty=None,
    relevance_threshold=1,
    sample_weight=None,
    reduce="mean",
    ap_denominator=None,
):
    """Several metrics at once, ranking each query only once.

    Parameters
    ----------
    metrics : str or sequence of str
        One name or several: ``"ndcg[@k]"``, ``"mrr[@k]"``, ``"map[@k]"``, ``"p@k"`` and ``"auc"`` (per-query AUC of
        ``y_true >= relevance_threshold``; one-class queries excluded, see :func:`auc_score`).
    convention : str, default "lightgbm"
        Applied to every ranking metric (see the module docstring); ``gain``, ``ties``, ``empty`` and
        ``ap_denominator`` override its knobs one by one, as in :func:`ndcg_score` and :func:`map_score`.
    Other parameters as in :func:`ndcg_score`.

    Returns
    -------
    dict
        metric name -> mean (or per-query array with ``reduce=None``).

    Raises
    ------
    ValueError
        As the single-metric functions; ``"auc"`` when no query has both classes (as :func:`auc_score`).

    Notes
    -----
    Each query is ranked once (a top-``k`` selection instead of a full sort when every metric asked is cut at
    some ``k`` and ties are not averaged); the values are those of the single-metric functions, bit for bit:
    both run the same per-query kernels.

    Examples
    --------
    >>> import gbm_objectives as go
    >>> res = go.evaluate([2, 0, 1, 0], [0.9, 0.8, 0.1, 0.3], group=[2, 2], metrics=("ndcg@1", "mrr", "auc"))
    >>> {name: round(v, 4) for name, v in res.items()}
    {'ndcg@1': 0.5, 'mrr': 0.75, 'auc': 0.5}
    """
    gain, ties, empty = resolve_knobs(convention, gain, ties, empty)
    reduce = check_reduce(reduce)
    if isinstance(metrics, str):
        metrics = (metrics,)
    parsed = []
    for name in metrics:
        base, k = parse_metric(name)
        base = "p" if base == "precision" else base
        k = (10 if base == "p" else 0) if k is None else k  # 0: the whole query
        if base == "map":
            check_ap_ties(ties, k)
        if base in ("success", "bpref", "err"):
            no_average_ties(ties, name)
        parsed.append((name, base, k))
    if not parsed:
        raise ValueError("metrics is empty; name at least one metric, e.g. metrics=('ndcg@10',)")
    r = prepare_ranking(y_true, y_score, group, qid, sample_weight)
    items = list(dict.fromkeys((base, k) for _, base, k in parsed))  # each distinct (metric, k) computed once
    g = compute_gains(r.y, gain, r.boundaries) if any(base in ("ndcg", "dcg") for base, _ in items) else None
    p_stop = stop_probabilities(r.y, None) if any(base == "err" for base, _ in items) else None
    rel = relevance_flags(r.y, relevance_threshold)
    values, no_rel, no_gain = run(r, items, gains=g, rel=rel, ties=ties,
                                  ap_min_den=resolve_ap_denominator(convention, ap_denominator), p_stop=p_stop)
    out = {}
    for name, base, k in parsed:
        v = values[items.index((base, k))]
        if base == "auc":
            out[name] = auc_finish(v, r.qw, reduce)
        elif base in ("dcg", "err"):  # defined (0) without relevant documents: no ``empty``
            out[name] = finish(v, np.zeros(len(v), dtype=bool), r.qw, reduce)
        else:
            is_empty = no_gain if base == "ndcg" else no_rel
            out[name] = finish(*apply_empty(v, is_empty, empty), r.qw, reduce)
    return out


# ----------------------------------------------------------------------------------------------------------------
# the names a run evaluation accepts: trec_eval's (with parameters, named sets), ir_measures', ours

#: ir_measures' measure names -> trec_eval's (``None``: ours); a cut-off ``@k`` selects the cut-off form
_IR_MEASURES = {"nDCG": ("ndcg", "ndcg_cut"), "AP": ("map", "map_cut"), "P": (None, "P"), "R": (None, "recall"),
                "RR": ("recip_rank", None), "Rprec": ("Rprec", None), "Bpref": ("bpref", None),
                "infAP": ("infAP", None), "NumRet": ("num_ret", None), "NumRel": ("num_rel", None),
                "NumQ": ("num_q", None), "SetP": ("set_P", None), "SetR": ("set_recall", None),
                "SetF": ("set_F", None), "IPrec": (None, "iprec_at_recall"), "Success": (None, "success"),
                "Judged": ("judged", "judged"), "ERR": (None, "err"), "RBP": ("rbp", "rbp")}
_OURS_TO_TREC = {"ndcg": ("ndcg", "ndcg_cut"), "map": ("map", "map_cut"), "p": (None, "P"),
                 "precision": (None, "P"), "recall": (None, "recall"), "success": (None, "success"),
                 "mrr": ("recip_rank", None), "rprec": ("Rprec", None), "bpref": ("bpref", None)}


def _ir_measure(name):
    """ir_measures' syntax ``Name(param=value,...)@cutoff`` -> ``(name, params, cutoff)`` or ``None``."""
    import re

    m = re.fullmatch(r"([A-Za-z]+)(?:\(([^()]*)\))?(?:@([0-9.]+))?", name)
    if m is None or m.group(1) not in _IR_MEASURES:
        return None
    params = {}
    for item in filter(None, (m.group(2) or "").split(",")):
        key, eq, value = item.partition("=")
        if not eq:
            raise ValueError(f"metric {name!r}: parameters are key=value (e.g. AP(rel=2)); got {item!r}")
        params[key.strip()] = value.strip()
    return m.group(1), params, m.group(3)


def _rbp(name, params, rel, cut):
    """``("rbp", p, rel, k)`` of ir_measures' ``RBP(p=..., rel=...)@k``."""
    unknown = sorted(set(params) - {"p"})
    if unknown:
        raise ValueError(f"metric {name!r}: unsupported parameter(s) {unknown} for RBP (p, rel)")
    try:
        p = float(params.get("p", 0.8))
    except ValueError:
        raise ValueError(f"metric {name!r}: p must be a number in (0, 1); got {params['p']!r}") from None
    if not 0.0 < p < 1.0:
        raise ValueError(f"metric {name!r}: p must be a number in (0, 1); got {params['p']!r}")
    try:
        k = int(cut) if cut else 0
    except ValueError:
        raise ValueError(f"metric {name!r}: the cut-off must be a positive integer; got {cut!r}") from None
    if cut and k <= 0:
        raise ValueError(f"metric {name!r}: the cut-off must be a positive integer; got {cut!r}")
    return "rbp", p, rel, k


def parse_run_metric(name, convention="trec"):
    """One metric name of :func:`gbm_objectives.metrics.evaluate_run` -> how it is computed.

    Returns ``("trec", measures, rel)``: trec_eval measures (a :class:`~._trec_eval.TrecMeasure` or a named set's
    tuple) at relevance level ``rel`` (``None``: the call's); ``("judged", k)``: ir_measures' ``Judged@k``;
    ``("gdeval_err", k)``: ir_measures' ``ERR@k`` (gdeval's: relevance grades up to 4, stop probability
    ``(2^rel - 1) / 16``); ``("rbp", p, rel, k)``: ir_measures' ``RBP(p=0.8,rel=2)@k`` (persistence ``p``,
    default 0.8; ``rel`` None: graded gains; ``k`` 0: no cut-off); or
    ``("engine", base, k)``: one of :data:`METRICS` (:func:`parse_metric`). trec_eval's names are case-sensitive
    (``P.5,10``, ``ndcg_cut_10``, ``ndcg.1=3,2=9``, ``official``); ir_measures' too (``nDCG@10``, ``AP(rel=2)``,
    ``P(rel=2)@5``, ``R@1000``, ``RR``, ``Judged@10``); ours are not (``ndcg@10``, ``p@5``). With
    ``convention="trec"`` our names that trec_eval also defines are computed as trec_eval's measures.

    >>> parse_run_metric("P.5,10")
    ('trec', TrecMeasure('P', (5, 10)), None)
    >>> parse_run_metric("AP(rel=2)")
    ('trec', TrecMeasure('map', ()), 2)
    >>> parse_run_metric("ndcg@10")
    ('trec', TrecMeasure('ndcg_cut', (10,)), None)
    """
    from ._trec_eval import TrecMeasure, parse_trec_measure

    if not isinstance(name, str):
        raise TypeError(f"metric must be a string such as 'ndcg@10'; got {fmt(name)}")
    trec = convention == "trec"
    if not trec:  # our names only (trec_eval's and ir_measures' follow trec_eval's convention)
        try:
            return ("engine",) + parse_metric(name)
        except ValueError:
            if parse_trec_measure(name) is None and _ir_measure(name) is None:
                raise
            raise ValueError(f"metric {name!r}: trec_eval's and ir_measures' measures need convention='trec'; "
                             f"got {convention!r}") from None
    found = parse_trec_measure(name)
    if found is not None:
        return "trec", found, None
    ir = _ir_measure(name)
    if ir is not None:
        base, params, cut = ir
        rel = params.pop("rel", None)
        if rel is not None:
            try:
                rel = int(rel)
            except ValueError:
                raise ValueError(f"metric {name!r}: rel must be an integer; got {rel!r}") from None
        if base == "RBP":
            return _rbp(name, params, rel, cut)
        if params and not (base == "SetF" and set(params) == {"beta"}):
            raise ValueError(f"metric {name!r}: unsupported parameter(s) {sorted(params)} for {base}")
        plain, with_cut = _IR_MEASURES[base]
        if base == "Judged":
            return "judged", (int(cut) if cut else 0)
        if base == "ERR":  # ir_measures' ERR is gdeval's: stop probability (2^rel - 1) / 2^4
            if cut is None:
                raise ValueError(f"metric {name!r}: ERR needs a cut-off, e.g. ERR@20")
            return "gdeval_err", int(cut)
        if base == "NumRet" and rel is not None:
            return "trec", TrecMeasure("num_rel_ret", ()), rel
        if base == "SetF":
            return "trec", TrecMeasure("set_F", (float(params.get("beta", 1.0)),)), rel
        if cut is None:
            if plain is None:
                raise ValueError(f"metric {name!r}: {base} needs a cut-off, e.g. {base}@10")
            return "trec", parse_trec_measure(plain), rel
        if with_cut is None:
            if base == "RR" and rel is None:
                return "engine", "mrr", int(cut)
            raise ValueError(f"metric {name!r}: {base} takes no cut-off here")
        return "trec", parse_trec_measure(f"{with_cut}.{cut}"), rel
    base, k = parse_metric(name)
    if trec and base in _OURS_TO_TREC:
        plain, with_cut = _OURS_TO_TREC[base]
        if base in ("p", "precision") and k is None:
            k = 10
        if k is None and plain is not None:
            return "trec", parse_trec_measure(plain), None
        if k is not None and with_cut is not None:
            return "trec", parse_trec_measure(f"{with_cut}.{k}"), None
    return "engine", base, k
