"""Deprecated module name, kept for one release: use the objectives (gbm_objectives.objectives: base, pointwise).

Importing it warns (``DeprecationWarning``); the names below are the new modules' own objects.
"""

import warnings

warnings.warn(
    "gbm_objectives.losses is deprecated and will be removed in the next release; use the objectives (gbm_objectives.objectives: base, pointwise)",
    DeprecationWarning,
    stacklevel=2,
)

from .objectives import Objective, Prepared, LogLoss, WeightedCrossEntropy, FocalLoss, SquaredError, HuberLoss, QuantileLoss, SoftmaxCrossEntropy, SoftmaxFocalLoss  # noqa: E402

__all__ = ["Objective", "Prepared", "LogLoss", "WeightedCrossEntropy", "FocalLoss", "SquaredError", "HuberLoss", "QuantileLoss", "SoftmaxCrossEntropy", "SoftmaxFocalLoss"]
