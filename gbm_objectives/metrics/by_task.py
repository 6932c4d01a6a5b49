"""Metrics bound to an objective's task (``TASK_METRICS``, :func:`get_task_metric`), used by :func:`gbm_objectives.train`, the estimators and the CLI.

Every metric is a function of the **raw score** (the margin, init score included) and the labels, so it reads the
same on both engines and for custom and built-in objectives alike; ``higher_is_better`` sets the direction of
early stopping.

==================  ===========================  =====================================================================
name                tasks                        definition
==================  ===========================  =====================================================================
``loss``            all                          the objective's own weighted mean loss, reported as ``<name>_loss``
``ndcg[@k]``,       ranking                      :mod:`gbm_objectives.metrics` (per query, mean over queries, with the
``mrr[@k]``,                                     chosen ``convention``; one ranking pass for all of them)
``map[@k]``, ``p@k``
``auc``             ranking, binary, regression  per-query AUC for ranking, global ROC AUC otherwise
``pr_auc``          binary                       average precision (:func:`sklearn.metrics.average_precision_score`)
``logloss``         binary                       :math:`-\\frac{1}{n}\\sum_i y_i \\log\\sigma(z_i) + (1-y_i)\\log(1-\\sigma(z_i))`
``brier``           binary                       :math:`\\frac{1}{n}\\sum_i (\\sigma(z_i) - y_i)^2`
``rmse``, ``mae``   regression                   root mean squared / mean absolute error of the prediction
``pinball``         regression                   pinball loss at the objective's quantile level (0.5 otherwise);
                                                 for ``multi_quantile``, the mean over its levels
``coverage``        regression                   share of rows with :math:`y_i \\le \\hat y_i`; for ``multi_quantile``,
                                                 the share inside the outermost levels
``pinball@a``,      multi_quantile               at the model's level ``a`` (``pinball@0.9``); the coverage is the
``coverage@a``                                   share of rows with :math:`y_i \\le q_a` (ideal: ``a``)
``crossing_rate``   multi_quantile               share of rows whose quantiles cross (0 by construction)
``interval_width``  multi_quantile               mean width between the outermost levels; ``@c``: of the central
                                                 ``c`` interval (levels :math:`(1 \\mp c)/2`, interpolated);
                                                 ``interval_coverage[@c]``: the share of rows inside it
``crps``            multi_quantile               the CRPS approximated from the quantiles
                                                 (:func:`gbm_objectives.metrics.quantiles.crps_score`)
``mlogloss``        multiclass                   multiclass cross-entropy of the softmax probabilities
``accuracy``        multiclass                   share of rows whose arg-max class is the label
==================  ===========================  =====================================================================

>>> import gbm_objectives as go
>>> m = get_task_metric("logloss", go.LogLoss())
>>> m.name, m.higher_is_better
('logloss', False)
>>> round(m([0.0, 1.0], [0.0, 0.0]), 6)   # log 2
0.693147
>>> get_task_metric("loss", go.FocalLoss()).name
'focal_loss'
"""

from __future__ import annotations

import numpy as np

from ..objectives.multi_quantile import MultiQuantileLoss
from ..objectives.pointwise import LogLoss, QuantileLoss
from . import quantiles as Q
from .names import METRICS as RANKING_METRICS
from .names import evaluate, get_metric, parse_metric

__all__ = ["TASK_METRICS", "DEFAULT_METRICS", "Metric", "get_task_metric", "metric_names", "default_metrics",
           "evaluate_metrics"]


class Metric:
    """A metric bound to an objective: ``metric(y_true, raw_score, group=None, sample_weight=None) -> float``.

    Attributes
    ----------
    name : str
        The name reported in ``evals_result`` and tables.
    higher_is_better : bool
    ranking_name : str or None
        For the ranking family, the name understood by :func:`gbm_objectives.metrics.evaluate` (several such
        metrics of one split are computed in one ranking pass by :func:`evaluate_metrics`).
    """

    def __init__(self, name, fn, higher_is_better, *, ranking_name=None, options=None):
        self.name = name
        self.fn = fn
        self.higher_is_better = bool(higher_is_better)
        self.ranking_name = ranking_name
        self.options = dict(options or {})

    def __call__(self, y_true, raw_score, group=None, sample_weight=None):
        return float(self.fn(np.asarray(y_true, dtype=np.float64), np.asarray(raw_score, dtype=np.float64),
                             group, sample_weight))

    def __repr__(self):
        return f"Metric({self.name!r}, higher_is_better={self.higher_is_better})"


def _average(values, sample_weight):
    return float(np.average(values, weights=sample_weight))


def _transform(objective, raw):
    return np.asarray(objective.transform(raw), dtype=np.float64)


def _sk(name):
    from sklearn import metrics as skm

    return getattr(skm, name)


def _auc_global(y, raw, group, w):
    return _sk("roc_auc_score")(y, raw, sample_weight=w)


def _pr_auc(y, raw, group, w):
    return _sk("average_precision_score")(y, raw, sample_weight=w)


def _pinball_for(objective):
    if isinstance(objective, MultiQuantileLoss):
        return _multi_for("pinball", objective)
    alpha = objective.alpha if isinstance(objective, QuantileLoss) else 0.5
    level = QuantileLoss(alpha)
    return lambda y, raw, group, w: level.loss(y, _transform(objective, raw), sample_weight=w)


def _mlogloss_for(objective):
    def fn(y, raw, group, w):
        proba = _transform(objective, raw)
        picked = proba[np.arange(len(y)), y.astype(np.int64)]
        return _average(-np.log(np.clip(picked, 1e-300, None)), w)

    return fn


def _coverage_for(objective):
    if isinstance(objective, MultiQuantileLoss):
        return _multi_for("interval_coverage", objective)
    return lambda y, raw, group, w: _average((y <= _transform(objective, raw)).astype(np.float64), w)


def _multi_for(name, objective, level=None):
    """``fn(y, raw, group, w)`` of a metric of the quantiles of a ``multi_quantile`` objective
    (:mod:`gbm_objectives.metrics.quantiles`); ``level``: the ``@`` argument."""
    if not isinstance(objective, MultiQuantileLoss):
        raise ValueError(f"metric {name!r} needs the multi_quantile objective (several quantiles); got "
                         f"{objective.name!r}")
    a = objective.alphas
    if name in ("pinball", "coverage") and level is not None:
        k = Q.level_index(a, level, f"{name}@")
        if name == "pinball":
            return lambda y, raw, group, w: Q.quantile_pinball_score(
                y, _transform(objective, raw), a, sample_weight=w, per_level=True)[k]
        return lambda y, raw, group, w: Q.quantile_coverage_score(y, _transform(objective, raw), sample_weight=w)[k]
    if level is not None:  # interval metrics: check the levels now, not in the first round
        Q.interval_bounds(np.tile(np.arange(len(a), dtype=np.float64), (1, 1)), a, level)
    functions = {
        "pinball": lambda y, q, w: Q.quantile_pinball_score(y, q, a, sample_weight=w),
        "crps": lambda y, q, w: Q.crps_score(y, q, a, sample_weight=w),
        "crossing_rate": lambda y, q, w: Q.crossing_rate_score(q, sample_weight=w),
        "interval_width": lambda y, q, w: Q.interval_width_score(q, a, coverage=level, sample_weight=w),
        "interval_coverage": lambda y, q, w: Q.interval_coverage_score(y, q, a, coverage=level, sample_weight=w),
    }
    fn = functions[name]
    return lambda y, raw, group, w: fn(y, _transform(objective, raw), w)


#: the metrics of :mod:`gbm_objectives.metrics.quantiles` that take an ``@`` level: name -> higher_is_better
LEVEL_METRICS = {"pinball": False, "coverage": True, "interval_width": False, "interval_coverage": True}


#: name -> (tasks, higher_is_better, factory(objective) -> fn(y, raw, group, sample_weight)).
TASK_METRICS = {
    "loss": (("binary", "regression", "multiclass", "ranking"), False,
             lambda o: lambda y, raw, group, w: o.loss(y, raw, sample_weight=w, group=group)),
    "auc": (("binary", "regression"), True, lambda o: _auc_global),
    "pr_auc": (("binary",), True, lambda o: _pr_auc),
    "logloss": (("binary",), False, lambda o: lambda y, raw, group, w: LogLoss().loss(y, raw, sample_weight=w)),
    "brier": (("binary",), False, lambda o: lambda y, raw, group, w: _average((_transform(o, raw) - y) ** 2, w)),
    "rmse": (("regression",), False,
             lambda o: lambda y, raw, group, w: float(np.sqrt(_average((_transform(o, raw) - y) ** 2, w)))),
    "mae": (("regression",), False, lambda o: lambda y, raw, group, w: _average(np.abs(_transform(o, raw) - y), w)),
    "pinball": (("regression",), False, _pinball_for),
    "coverage": (("regression",), True, _coverage_for),
    "crossing_rate": (("regression",), False, lambda o: _multi_for("crossing_rate", o)),
    "interval_width": (("regression",), False, lambda o: _multi_for("interval_width", o)),
    "interval_coverage": (("regression",), True, lambda o: _multi_for("interval_coverage", o)),
    "crps": (("regression",), False, lambda o: _multi_for("crps", o)),
    "mlogloss": (("multiclass",), False, _mlogloss_for),
    "accuracy": (("multiclass",), True,
                 lambda o: lambda y, raw, group, w: _average((np.argmax(raw, axis=1) == y).astype(np.float64), w)),
}

#: Default metrics per task, the first drives early stopping when none is named.
DEFAULT_METRICS = {
    "ranking": ("ndcg@10", "ndcg@5", "map", "mrr"),
    "binary": ("auc", "pr_auc", "logloss"),
    "regression": ("rmse", "mae"),
    "quantile": ("pinball", "coverage"),
    "multi_quantile": ("pinball", "crps", "crossing_rate"),
    "multiclass": ("mlogloss", "accuracy"),
}


def metric_names():
    """Every metric name this registry knows (the ranking family takes an optional ``@k``)."""

    return sorted(set(TASK_METRICS) | {f"{base}[@k]" for base in RANKING_METRICS if base not in ("auc", "precision")}
                  | {f"{base}@a" for base in LEVEL_METRICS})


def default_metrics(objective):
    """The default metric names for ``objective``'s task (quantile losses get pinball and coverage)."""
    if isinstance(objective, QuantileLoss):
        return DEFAULT_METRICS["quantile"]
    if isinstance(objective, MultiQuantileLoss):
        return DEFAULT_METRICS["multi_quantile"]
    return DEFAULT_METRICS[objective.task]


def get_task_metric(name, objective, *, convention="lightgbm", **options):
    """The metric ``name`` for ``objective`` (which gives the task, the link and the quantile level).

    Parameters
    ----------
    name : str or Metric
        A registry name (see the module docstring); a :class:`Metric` is returned as it is.
    objective : Objective
    convention : {"lightgbm", "trec", "sklearn"}, default "lightgbm"
        For the ranking family (see :mod:`gbm_objectives.metrics`).
    **options
        Further options of the ranking metrics (``gain``, ``empty``, ``relevance_threshold``...).

    Raises
    ------
    ValueError
        For an unknown name, or a metric the objective's task does not define (the message lists the choices).
    """
    if isinstance(name, Metric):
        return name
    if not isinstance(name, str):
        raise TypeError(f"metric must be a name such as 'ndcg@10' or 'logloss'; got {name!r}")
    task = objective.task
    key = name.strip().lower()
    base, at, level = key.partition("@")
    if at and base in LEVEL_METRICS:
        try:
            value = float(level)
        except ValueError:
            raise ValueError(f"metric {name!r}: the level after '@' must be a number such as 0.9") from None
        return Metric(f"{base}@{level}", _multi_for(base, objective, value), LEVEL_METRICS[base])
    if key in TASK_METRICS and not (key == "auc" and task == "ranking"):
        tasks, higher, factory = TASK_METRICS[key]
        if task not in tasks:
            valid = [n for n, (t, _, _) in TASK_METRICS.items() if task in t]
            raise ValueError(f"metric {name!r} is not defined for a {task} objective; choose from {valid}"
                             + (" or the ranking family (ndcg@k, mrr, map, p@k)" if task == "ranking" else ""))
        shown = f"{objective.name}_loss" if key == "loss" else key
        return Metric(shown, factory(objective), higher)
    try:
        base, _ = parse_metric(key)
    except ValueError as exc:
        if "unknown metric" in str(exc):
            raise ValueError(f"unknown metric {name!r}; choose from {metric_names()}") from None
        raise
    if task != "ranking":
        valid = [n for n, (t, _, _) in TASK_METRICS.items() if task in t]
        raise ValueError(f"metric {name!r} needs a ranking objective (query groups); for a {task} objective "
                         f"choose from {valid}")
    opts = dict(options)
    if base != "auc":
        opts["convention"] = convention
    fn = get_metric(key, **opts)

    def value(y, raw, group, w):
        return fn(y, raw, group=group, sample_weight=w)

    return Metric(key, value, True, ranking_name=key, options=opts)


def evaluate_metrics(metrics, y_true, raw_score, *, group=None, sample_weight=None):
    """Every metric of ``metrics`` on one split, ``{name: value}``; the ranking family shares one ranking pass."""
    y = np.asarray(y_true, dtype=np.float64)
    raw = np.asarray(raw_score, dtype=np.float64)
    out = {}
    batch = [m for m in metrics if m.ranking_name is not None and m.ranking_name != "auc"]
    if len(batch) > 1 and group is not None:
        by_options = {}
        for m in batch:
            by_options.setdefault(tuple(sorted(m.options.items(), key=lambda kv: kv[0])), []).append(m)
        for options, group_metrics in by_options.items():
            opts = dict(options)
            if any(not isinstance(v, (str, int, float, type(None))) for v in opts.values()):
                continue  # array-valued options (custom gains): computed one by one below
            values = evaluate(y, raw, group=group, sample_weight=sample_weight,
                              metrics=[m.ranking_name for m in group_metrics], **opts)
            out.update({m.name: float(values[m.ranking_name]) for m in group_metrics})
    for m in metrics:
        if m.name not in out:
            out[m.name] = m(y, raw, group=group, sample_weight=sample_weight)
    return {m.name: out[m.name] for m in metrics}
