"""gbm_objectives: training objectives, LambdaMART and ranking evaluators for LightGBM and XGBoost.

One math core (:mod:`gbm_objectives.losses`, :mod:`gbm_objectives.ranking`) gives every objective ``grad_hess``,
``loss``, ``init_score`` and ``transform``; thin adapters (:mod:`gbm_objectives.adapters`) plug them into both
engines; one training loop (:func:`train`) serves every front end.

Importing the package imports neither engine, nor matplotlib or pandas: the top-level names are loaded on first
use (PEP 562).

>>> import gbm_objectives as go
>>> go.get_objective("huber", delta=2.0)
HuberLoss(delta=2.0)
"""

from __future__ import annotations

from importlib import import_module

__version__ = "0.2.0"

#: public name -> module that defines it
_EXPORTS = {
    # objectives
    "Objective": "losses",
    "FocalLoss": "losses",
    "WeightedCrossEntropy": "losses",
    "HuberLoss": "losses",
    "QuantileLoss": "losses",
    "LogLoss": "losses",
    "SquaredError": "losses",
    "SoftmaxCrossEntropy": "losses",
    "SoftmaxFocalLoss": "losses",
    "LambdaRankObjective": "ranking",
    "PairwiseLogistic": "ranking",
    "XENDCGObjective": "ranking_xendcg",
    "SoftmaxRankObjective": "ranking_listwise",
    "ListMLEObjective": "ranking_listwise",
    "ApproxNDCGObjective": "ranking_listwise",
    "LambdaLossObjective": "ranking_listwise",
    "OBJECTIVES": "objectives",
    "get_objective": "objectives",
    # training
    "train": "training",
    "TrainResult": "training",
    "NativeObjective": "training",
    "save_model": "model_io",
    "load_model": "model_io",
    "GBMClassifier": "estimators",
    "GBMRegressor": "estimators",
    "LambdaMART": "lambdamart",
    # adapters
    "lightgbm_objective": "adapters.lightgbm",
    "lightgbm_sklearn_objective": "adapters.lightgbm",
    "xgboost_objective": "adapters.xgboost",
    "xgboost_sklearn_objective": "adapters.xgboost",
    "lightgbm_metric": "adapters.metrics",
    "xgboost_metric": "adapters.metrics",
    "quantile_leaf_renewal": "adapters.lightgbm_renewal",
    "QuantileLeafRenewal": "adapters.lightgbm_renewal",
    "xgboost_quantile_leaf_renewal": "adapters.xgboost_renewal",
    "XGBoostQuantileLeafRenewal": "adapters.xgboost_renewal",
    # metrics
    "CONVENTIONS": "metrics",
    "ndcg_score": "metrics",
    "mrr_score": "metrics",
    "map_score": "metrics",
    "precision_score_at_k": "metrics",
    "auc_score": "metrics",
    "recall_score_at_k": "metrics",
    "success_score_at_k": "metrics",
    "r_precision_score": "metrics",
    "bpref_score": "metrics",
    "dcg_score": "metrics",
    "err_score": "metrics",
    # relevance experiments: TREC runs and qrels, significance tests
    "read_qrels": "runs",
    "read_run": "runs",
    "evaluate_run": "runs",
    "RunEvaluation": "runs",
    "compare_runs": "significance",
    "evaluate": "metrics",
    "ips_dcg_score": "metrics_clicks",
    "ranking_scorer": "scorers",
    # calibration and quantiles
    "calibrate": "calibration",
    "calibrate_scores": "calibration",
    "CalibratedModel": "calibration",
    "expected_calibration_error": "calibration",
    "brier_score": "calibration",
    "log_loss_score": "calibration",
    "reliability_diagram": "calibration",
    "leaf_quantiles": "quantile",
    "renewed_leaf_values": "quantile",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
