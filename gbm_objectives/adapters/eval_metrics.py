"""Evaluation metrics of :mod:`gbm_objectives.metrics` as LightGBM ``feval`` / ``eval_metric`` and XGBoost
``custom_metric`` callables, for logging and early stopping. No math here: labels, weights and query groups are
read from the engine's data object and handed to the metric function.

* LightGBM: ``lgb.train(..., feval=go.lightgbm_metric("ndcg@10"))`` calls ``f(preds, eval_data)``; the scikit-learn
  API (``LGBMRanker(...).fit(..., eval_metric=f)``) inspects the *number of parameters* and calls
  ``f(y_true, y_pred, weight, group)`` for a 4-parameter function. :class:`LightGBMMetric` has exactly four
  parameters and tells the two calls apart by the type of the second argument (a ``lightgbm.Dataset`` or not).
  It returns ``(name, value, is_higher_better=True)``.
* XGBoost: ``xgb.train(..., custom_metric=go.xgboost_metric("ndcg@10"))`` calls ``f(predt, dmatrix)`` and gets
  ``(name, value)``. XGBoost decides the direction of early stopping from the metric *name*: names starting with
  ``ndcg``, ``map``, ``auc`` or ``pre`` are maximized, every other name (``mrr``, ``p@k``) is minimized unless you
  pass ``xgb.callback.EarlyStopping(rounds, maximize=True)``. :attr:`XGBoostMetric.maximize` is always ``True``.
  For ranking, XGBoost stores one weight per *query*; it is used as the query weight.

The default ``convention="lightgbm"`` makes ``"ndcg@k"`` equal the engines' built-in ``ndcg@k`` (tested on both),
so early stopping on either stops at the same iteration.

>>> import gbm_objectives as go
>>> go.lightgbm_metric("ndcg@10")
LightGBMMetric('ndcg@10')
"""

from __future__ import annotations

import numpy as np

from ..metrics import get_metric, parse_metric
from ._common import empty_to_none

__all__ = ["LightGBMMetric", "XGBoostMetric", "lightgbm_metric", "xgboost_metric"]


class _EngineMetric:
    """Shared part: the metric name, its options and the function from :func:`gbm_objectives.metrics.get_metric`."""

    def __init__(self, metric, *, name=None, **kwargs):
        parse_metric(metric)  # validate early, with the metric's own message
        self.metric = metric
        self.name = metric if name is None else str(name)
        self.kwargs = kwargs
        self._fn = get_metric(metric, **kwargs)

    def _value(self, y_true, y_score, sample_weight, group):
        return float(self._fn(y_true, y_score, group=group, sample_weight=sample_weight))

    def __repr__(self):
        extra = "".join(f", {k}={v!r}" for k, v in self.kwargs.items())
        name = "" if self.name == self.metric else f", name={self.name!r}"
        return f"{type(self).__name__}({self.metric!r}{name}{extra})"


class LightGBMMetric(_EngineMetric):
    """``f(preds, eval_data)`` for ``lgb.train(feval=...)`` and ``f(y_true, y_pred, weight, group)`` for the
    scikit-learn API; returns ``(name, value, True)``."""

    def __call__(self, y_true, y_pred, weight=None, group=None):
        if hasattr(y_pred, "get_label") and hasattr(y_pred, "get_group"):  # lgb.train: (preds, eval_data)
            preds, data = y_true, y_pred
            y_true = data.get_label()
            weight = empty_to_none(data.get_weight())
            group = empty_to_none(data.get_group())
            y_pred = preds
        else:
            weight, group = empty_to_none(weight), empty_to_none(group)
        return self.name, self._value(y_true, np.asarray(y_pred), weight, group), True


class XGBoostMetric(_EngineMetric):
    """``f(predt, dmatrix)`` for ``xgb.train(custom_metric=...)``; returns ``(name, value)``."""

    maximize = True

    def __call__(self, predt, dmatrix):
        y_true = dmatrix.get_label()
        ptr = dmatrix.get_uint_info("group_ptr")
        group = np.diff(ptr.astype(np.int64)) if len(ptr) else None
        weight = empty_to_none(dmatrix.get_weight())
        if weight is not None and group is not None and len(weight) == len(group) != len(y_true):
            weight = np.repeat(weight, group)  # XGBoost ranking weights are per query
        return self.name, self._value(y_true, np.asarray(predt).ravel(), weight, group)


def lightgbm_metric(metric, *, name=None, **kwargs):
    """A LightGBM ``feval`` / ``eval_metric`` for a metric name such as ``"ndcg@10"``, ``"map@5"``, ``"mrr"``,
    ``"p@10"`` or ``"auc"``; ``kwargs`` (``convention``, ``empty``, ``relevance_threshold``...) go to the metric."""
    return LightGBMMetric(metric, name=name, **kwargs)


def xgboost_metric(metric, *, name=None, **kwargs):
    """An XGBoost ``custom_metric`` for a metric name such as ``"ndcg@10"`` (see :func:`lightgbm_metric`)."""
    return XGBoostMetric(metric, name=name, **kwargs)
