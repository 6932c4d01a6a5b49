"""Deprecated module name, kept for one release: use gbm_objectives.metrics.by_task (TASK_METRICS, get_task_metric).

Importing it warns (``DeprecationWarning``); the names below are the new modules' own objects.
"""

import warnings

warnings.warn(
    "gbm_objectives.scoring is deprecated and will be removed in the next release; use gbm_objectives.metrics.by_task (TASK_METRICS, get_task_metric)",
    DeprecationWarning,
    stacklevel=2,
)

from .metrics.by_task import Metric, metric_names, default_metrics, evaluate_metrics, DEFAULT_METRICS  # noqa: E402
from .metrics.by_task import TASK_METRICS as METRICS  # noqa: E402,F401
from .metrics.by_task import get_task_metric as get_metric  # noqa: E402,F401

__all__ = ["Metric", "metric_names", "default_metrics", "evaluate_metrics", "DEFAULT_METRICS", "METRICS", "get_metric"]
