"""gbm_objectives: training objectives, LambdaMART and ranking evaluators for LightGBM and XGBoost.

One math core (:mod:`gbm_objectives.objectives`) gives every objective ``grad_hess``, ``loss``, ``init_score`` and
``transform``; :mod:`gbm_objectives.metrics` evaluates; thin adapters (:mod:`gbm_objectives.adapters`) plug both
into the engines; one training loop (:func:`train`) serves every front end (estimators, ``LambdaMART``,
:mod:`gbm_objectives.dask`, :mod:`gbm_objectives.cli`). Data lives in :mod:`gbm_objectives.datasets`.

Importing the package imports neither engine, nor matplotlib or pandas: the top-level names are loaded on first
use (PEP 562).

>>> import gbm_objectives as go
>>> go.get_objective("huber", delta=2.0)
HuberLoss(delta=2.0)
>>> X, y, qid = go.datasets.make_ranking(n_queries=2, seed=0)   # sub-packages load on first use too
"""

from __future__ import annotations

from importlib import import_module

from ._core.version import __version__  # one source of truth: pyproject.toml

#: the public names by topic (docs/api.md is generated from this table): name -> module that defines it
_EXPORT_GROUPS = {
    "Objectives": {
        "Objective": "objectives",
        "FocalLoss": "objectives",
        "WeightedCrossEntropy": "objectives",
        "HuberLoss": "objectives",
        "QuantileLoss": "objectives",
        "MultiQuantileLoss": "objectives",
        "LogLoss": "objectives",
        "SquaredError": "objectives",
        "SoftmaxCrossEntropy": "objectives",
        "SoftmaxFocalLoss": "objectives",
        "LambdaRankObjective": "objectives",
        "PairwiseLogistic": "objectives",
        "XENDCGObjective": "objectives",
        "SoftmaxRankObjective": "objectives",
        "ListMLEObjective": "objectives",
        "ApproxNDCGObjective": "objectives",
        "LambdaLossObjective": "objectives",
        "YetiRankObjective": "objectives",
        "StochasticRankObjective": "objectives",
        "OBJECTIVES": "objectives",
        "get_objective": "objectives",
    },
    "Training and models": {
        "train": "training",
        "TrainResult": "training",
        "NativeObjective": "training",
        "save_model": "model_io",
        "load_model": "model_io",
        "export": "serving",
        "ExportReport": "serving",
        "ExportVerificationError": "serving",
        "GBMClassifier": "estimators",
        "GBMRegressor": "estimators",
        "LambdaMART": "lambdamart",
    },
    "Model selection: query-grouped cross-validation and tuning": {
        "cv": "selection",
        "CVResult": "selection",
        "tune": "selection",
        "TuneResult": "selection",
    },
    "Engine adapters": {
        "lightgbm_objective": "adapters.lightgbm",
        "lightgbm_sklearn_objective": "adapters.lightgbm",
        "xgboost_objective": "adapters.xgboost",
        "xgboost_sklearn_objective": "adapters.xgboost",
        "lightgbm_metric": "adapters.eval_metrics",
        "xgboost_metric": "adapters.eval_metrics",
        "quantile_leaf_renewal": "adapters.lightgbm_renewal",
        "QuantileLeafRenewal": "adapters.lightgbm_renewal",
        "xgboost_quantile_leaf_renewal": "adapters.xgboost_renewal",
        "XGBoostQuantileLeafRenewal": "adapters.xgboost_renewal",
    },
    "Metrics": {
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
        "quantile_pinball_score": "metrics.quantiles",
        "quantile_coverage_score": "metrics.quantiles",
        "crossing_rate_score": "metrics.quantiles",
        "interval_width_score": "metrics.quantiles",
        "interval_coverage_score": "metrics.quantiles",
        "crps_score": "metrics.quantiles",
    },
    "Relevance experiments: TREC runs and qrels, significance tests, fusion, the report": {
        "read_qrels": "datasets.trec",
        "read_run": "datasets.trec",
        "evaluate_run": "metrics.runs",
        "RunEvaluation": "metrics.runs",
        "compare_runs": "metrics.significance",
        "compare_all_pairs": "metrics.significance",
        "worst_queries": "metrics.significance",
        "fuse": "metrics.fusion",
        "optimize_fusion": "metrics.fusion",
        "FusionSearch": "metrics.fusion",
        "report": "experiment",
        "evaluate": "metrics",
        "ips_dcg_score": "metrics.clicks",
        "ranking_scorer": "metrics.scorers",
    },
    "Learning from clicks": {
        "IPSPointwiseLoss": "objectives.clicks",
        "estimate_propensity": "clicks",
        "PropensityEstimate": "clicks",
        "click_report": "clicks",
        "ClickReport": "clicks",
        "weak_logger": "clicks",
    },
    "Calibration and quantiles": {
        "calibrate": "calibration",
        "calibrate_scores": "calibration",
        "CalibratedModel": "calibration",
        "expected_calibration_error": "calibration",
        "brier_score": "calibration",
        "log_loss_score": "calibration",
        "reliability_diagram": "calibration",
        "leaf_quantiles": "objectives.quantile",
        "renewed_leaf_values": "objectives.quantile",
        "cumulative_softplus": "objectives.multi_quantile",
    },
}
_EXPORTS = {name: module for group in _EXPORT_GROUPS.values() for name, module in group.items()}

#: sub-packages and modules reachable as attributes after a bare ``import gbm_objectives as go`` (``go.datasets``...)
_SUBMODULES = ("objectives", "metrics", "datasets", "adapters", "training", "estimators", "lambdamart", "model_io",
               "serving", "calibration", "selection", "dask", "cli")

__all__ = sorted(_EXPORTS)


#: old module names, kept for one release (importing them warns)
_DEPRECATED_MODULES = ("losses", "ranking", "runs", "scoring")


def __getattr__(name):
    if name in _SUBMODULES or name in _DEPRECATED_MODULES:
        return import_module(f"{__name__}.{name}")  # the import binds it in this namespace
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
