"""Deprecated module name, kept for one release: use gbm_objectives.metrics.runs (evaluate_run) and gbm_objectives.datasets.trec (read_run, read_qrels).

Importing it warns (``DeprecationWarning``); the names below are the new modules' own objects.
"""

import warnings

warnings.warn(
    "gbm_objectives.runs is deprecated and will be removed in the next release; use gbm_objectives.metrics.runs (evaluate_run) and gbm_objectives.datasets.trec (read_run, read_qrels)",
    DeprecationWarning,
    stacklevel=2,
)

from .metrics.runs import evaluate_run, RunEvaluation, TREC_MEASURE_NAMES  # noqa: E402
from .datasets.trec import read_qrels, read_run  # noqa: E402,F401

__all__ = ["evaluate_run", "RunEvaluation", "TREC_MEASURE_NAMES", "read_qrels", "read_run"]
