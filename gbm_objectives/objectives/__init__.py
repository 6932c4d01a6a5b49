"""The objectives, one module per family, and their registry: every objective of the package by name, built in
this one place.

Modules: :mod:`.base` (``Objective``, ``Prepared``), :mod:`.pointwise` (binary, regression, multiclass losses and
their compiled kernels in :mod:`._pointwise_kernels`), :mod:`.quantile` (weighted and per-leaf quantiles),
:mod:`.lambdarank`, :mod:`.bpr`, :mod:`.listwise`, :mod:`.xendcg`, :mod:`.yetirank` and :mod:`.stochasticrank`
(the ranking objectives, on
:mod:`._ranking_base`), :mod:`._xgboost_lambdas` (XGBoost's LambdaMART arithmetic).

The registry imports every objective module (pointwise losses, ranking objectives) explicitly; no module
registers itself as a side effect of being imported. The CLI, the estimators, :func:`gbm_objectives.train` and
the tests all read it.

>>> get_objective("focal", gamma=1.0)
FocalLoss(alpha=0.25, gamma=1.0, hessian='positive')
>>> sorted(OBJECTIVES)[:3]
['approx_ndcg', 'bpr', 'focal']
"""

from __future__ import annotations

from .base import Objective, Prepared
from .bpr import PairwiseLogistic
from .clicks import IPSPointwiseLoss
from .lambdarank import LambdaRankObjective
from .listwise import ApproxNDCGObjective, LambdaLossObjective, ListMLEObjective, SoftmaxRankObjective
from .multi_quantile import MultiQuantileLoss
from .pointwise import (
    FocalLoss,
    HuberLoss,
    LogLoss,
    QuantileLoss,
    SoftmaxCrossEntropy,
    SoftmaxFocalLoss,
    SquaredError,
    WeightedCrossEntropy,
)
from .stochasticrank import StochasticRankObjective
from .xendcg import XENDCGObjective
from .yetirank import YetiRankObjective

__all__ = [
    "OBJECTIVES",
    "get_objective",
    "Objective",
    "Prepared",
    "FocalLoss",
    "WeightedCrossEntropy",
    "HuberLoss",
    "QuantileLoss",
    "MultiQuantileLoss",
    "LogLoss",
    "SquaredError",
    "SoftmaxCrossEntropy",
    "SoftmaxFocalLoss",
    "LambdaRankObjective",
    "PairwiseLogistic",
    "XENDCGObjective",
    "SoftmaxRankObjective",
    "ListMLEObjective",
    "ApproxNDCGObjective",
    "LambdaLossObjective",
    "YetiRankObjective",
    "StochasticRankObjective",
    "IPSPointwiseLoss",
]

#: Registry name -> objective class.
OBJECTIVES = {
    cls.name: cls
    for cls in (
        FocalLoss,
        WeightedCrossEntropy,
        HuberLoss,
        QuantileLoss,
        MultiQuantileLoss,
        LogLoss,
        SquaredError,
        SoftmaxCrossEntropy,
        SoftmaxFocalLoss,
        LambdaRankObjective,
        PairwiseLogistic,
        XENDCGObjective,
        SoftmaxRankObjective,
        ListMLEObjective,
        ApproxNDCGObjective,
        LambdaLossObjective,
        YetiRankObjective,
        StochasticRankObjective,
        IPSPointwiseLoss,
    )
}


def get_objective(name, **params):
    """Build an objective from its registry name (an :class:`Objective` instance is returned as it is).

    Raises
    ------
    ValueError
        For an unknown name (the message lists the registered ones).
    TypeError
        For something that is neither a name nor an objective, or parameters given with an instance.
    """
    if isinstance(name, Objective):
        if params:
            raise TypeError("params cannot be given together with an objective instance")
        return name
    if not isinstance(name, str):
        raise TypeError(f"objective must be a registry name or an Objective; got {type(name).__name__}")
    if name not in OBJECTIVES:
        raise ValueError(f"unknown objective {name!r}; choose one of {sorted(OBJECTIVES)}")
    return OBJECTIVES[name](**params)
