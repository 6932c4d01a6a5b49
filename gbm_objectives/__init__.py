"""gbm_objectives: training objectives, LambdaMART and ranking evaluators for LightGBM and XGBoost.

One math core (:mod:`gbm_objectives.losses`) gives every objective ``grad_hess``, ``loss``, ``init_score`` and
``transform``; thin adapters (:mod:`gbm_objectives.adapters`) plug them into both engines.

>>> import gbm_objectives as go
>>> go.get_objective("huber", delta=2.0)
HuberLoss(delta=2.0)
"""

from .adapters.lightgbm import lightgbm_objective, lightgbm_sklearn_objective
from .adapters.xgboost import xgboost_objective, xgboost_sklearn_objective
from .estimators import GBMClassifier, GBMRegressor
from .losses import (
    OBJECTIVES,
    FocalLoss,
    HuberLoss,
    LogLoss,
    Objective,
    QuantileLoss,
    SoftmaxCrossEntropy,
    SoftmaxFocalLoss,
    SquaredError,
    WeightedCrossEntropy,
    get_objective,
)

__version__ = "0.1.0"

__all__ = [
    "OBJECTIVES",
    "Objective",
    "FocalLoss",
    "WeightedCrossEntropy",
    "HuberLoss",
    "QuantileLoss",
    "LogLoss",
    "SquaredError",
    "SoftmaxCrossEntropy",
    "SoftmaxFocalLoss",
    "get_objective",
    "lightgbm_objective",
    "lightgbm_sklearn_objective",
    "xgboost_objective",
    "xgboost_sklearn_objective",
    "GBMClassifier",
    "GBMRegressor",
]

# --- ranking (issue: LambdaRankObjective, PairwiseLogistic, LambdaMART) ---
from .lambdamart import LambdaMART  # noqa: E402
from .ranking import LambdaRankObjective, PairwiseLogistic  # noqa: E402

__all__ += ["LambdaRankObjective", "PairwiseLogistic", "LambdaMART"]
# --- metrics (issue: ndcg_score, mrr_score, map_score, auc_score, evaluate, scorers) ---
from .metrics import CONVENTIONS, auc_score, evaluate, map_score, mrr_score, ndcg_score, precision_score_at_k

from .adapters.metrics import lightgbm_metric, xgboost_metric
from .scorers import ranking_scorer

__all__ += ["CONVENTIONS", "ndcg_score", "mrr_score", "map_score", "precision_score_at_k", "auc_score", "evaluate"]
__all__ += ["ranking_scorer", "lightgbm_metric", "xgboost_metric"]
# --- calibration and quantile renewal ---
from .calibration import (
    CalibratedModel,
    brier_score,
    calibrate,
    calibrate_scores,
    expected_calibration_error,
    log_loss_score,
    reliability_diagram,
)
from .adapters.lightgbm_renewal import QuantileLeafRenewal, quantile_leaf_renewal
from .quantile import leaf_quantiles, renewed_leaf_values
from .adapters.xgboost_renewal import XGBoostQuantileLeafRenewal, xgboost_quantile_leaf_renewal

__all__ += ["quantile_leaf_renewal", "QuantileLeafRenewal", "leaf_quantiles", "renewed_leaf_values"]
__all__ += ["xgboost_quantile_leaf_renewal", "XGBoostQuantileLeafRenewal"]
__all__ += [
    "calibrate",
    "calibrate_scores",
    "CalibratedModel",
    "expected_calibration_error",
    "brier_score",
    "log_loss_score",
    "reliability_diagram",
]
