"""Evaluation: ranking and classification metrics with explicit conventions, TREC runs, significance tests.

One engine (:mod:`._engine`) ranks each query once and calls each metric's per-query formula (:mod:`._per_query`);
everything else is a front of it:

* :mod:`.ranking`: the documented metric functions (``ndcg_score``, ``map_score``, ... ``auc_score``);
* :mod:`.names`: the one registry of metric names (``METRICS``, ``parse_metric``, ``get_metric``, ``evaluate``,
  trec_eval's names);
* :mod:`.by_task`: metrics bound to an objective's task (``TASK_METRICS``), for training and early stopping;
* :mod:`.runs`: TREC runs against qrels (``evaluate_run``); :mod:`.significance`: paired tests (``compare_runs``,
  ``compare_all_pairs``, ``worst_queries``); :mod:`.fusion`: rank fusion of runs (``fuse``, ``optimize_fusion``);
* :mod:`.clicks`: IPS-weighted DCG of click logs; :mod:`.scorers`: scikit-learn scorers;
* :mod:`.quantiles`: metrics of predicted quantiles (pinball, coverage, crossing rate, intervals, CRPS).

>>> import numpy as np
>>> import gbm_objectives as go
>>> y = np.array([0, 2, 1, 0, 0])
>>> s = np.array([0.3, 0.1, 0.2, 0.5, 0.5])
>>> go.metrics.ndcg_score(y, s, group=[3, 2], reduce=None)
array([0.58688267, 1.        ])
"""

from __future__ import annotations

from importlib import import_module

from .names import METRICS, TREC_NAMES, evaluate, get_metric, parse_metric
from .ranking import (
    CONVENTIONS,
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

#: names loaded on first use (they pull in pandas, scikit-learn or the TREC scanner)
_LAZY = {
    "evaluate_run": "runs",
    "RunEvaluation": "runs",
    "TREC_MEASURE_NAMES": "runs",
    "compare_runs": "significance",
    "paired_test": "significance",
    "compare_all_pairs": "significance",
    "worst_queries": "significance",
    "fuse": "fusion",
    "optimize_fusion": "fusion",
    "ips_dcg_score": "clicks",
    "ranking_scorer": "scorers",
    "TASK_METRICS": "by_task",
    "get_task_metric": "by_task",
}

__all__ = [
    "CONVENTIONS",
    "METRICS",
    "TREC_NAMES",
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
    "evaluate",
    "parse_metric",
    "get_metric",
] + list(_LAZY)


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
