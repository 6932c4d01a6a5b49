"""Deprecated module name, kept for one release: use the ranking objectives (gbm_objectives.objectives: lambdarank, bpr).

Importing it warns (``DeprecationWarning``); the names below are the new modules' own objects.
"""

import warnings

warnings.warn(
    "gbm_objectives.ranking is deprecated and will be removed in the next release; use the ranking objectives (gbm_objectives.objectives: lambdarank, bpr)",
    DeprecationWarning,
    stacklevel=2,
)

from .objectives import LambdaRankObjective, PairwiseLogistic  # noqa: E402
from .objectives.lambdarank import MAX_QUERY_SIZE, RANKING_METRICS, lightgbm_sigmoid_table  # noqa: E402,F401

__all__ = ["LambdaRankObjective", "PairwiseLogistic", "MAX_QUERY_SIZE", "RANKING_METRICS", "lightgbm_sigmoid_table"]
