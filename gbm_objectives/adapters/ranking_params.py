"""Native ranking parameters of both engines, from one :class:`~gbm_objectives.LambdaRankObjective`.

The ``objective="native"`` path of :class:`~gbm_objectives.LambdaMART` trains LightGBM's ``lambdarank`` or
XGBoost's ``rank:*`` objectives; these functions translate the options of the from-scratch objective into each
engine's parameter names, and refuse options an engine cannot express instead of dropping them. Pure mapping:
no math, no engine import.

>>> import gbm_objectives as go
>>> lightgbm_lambdarank_params(go.LambdaRankObjective(truncation_level=10))
{'objective': 'lambdarank', 'lambdarank_truncation_level': 10, 'lambdarank_norm': True, 'sigmoid': 1.0}
>>> xgboost_rank_params(go.LambdaRankObjective(truncation_level=10))["lambdarank_num_pair_per_sample"]
10
"""

from __future__ import annotations

import numpy as np

__all__ = ["lightgbm_lambdarank_params", "xgboost_rank_params"]

_XGBOOST_OBJECTIVES = {"ndcg": "rank:ndcg", "map": "rank:map", "none": "rank:pairwise"}


def lightgbm_lambdarank_params(obj):
    """LightGBM ``lambdarank`` parameters equivalent to ``obj`` (a LambdaRankObjective with ``metric="ndcg"``).

    ``lambdarank_truncation_level``, ``lambdarank_norm``, ``sigmoid`` and ``label_gain`` (when not the default)
    are set; position-bias correction stays off (LightGBM's default without a ``position`` column).
    """
    if obj.metric != "ndcg":
        raise ValueError(
            f"LightGBM's built-in lambdarank optimises NDCG only; metric={obj.metric!r} needs objective='scratch'"
        )
    params = {
        "objective": "lambdarank",
        "lambdarank_truncation_level": obj.truncation_level,
        "lambdarank_norm": obj.norm,
        "sigmoid": obj.sigmoid,
    }
    if obj.label_gain is not None:
        params["label_gain"] = [float(g) for g in np.asarray(obj.label_gain, dtype=np.float64)]
    return params


def xgboost_rank_params(obj):
    """XGBoost ``rank:ndcg`` / ``rank:map`` / ``rank:pairwise`` parameters closest to ``obj``.

    Pairs are chosen as in LightGBM, from the model's top ``truncation_level`` (``lambdarank_pair_method="topk"``,
    ``lambdarank_num_pair_per_sample=truncation_level``), with ``lambdarank_normalization=norm``. XGBoost has only
    two gains (``2**l - 1`` or ``l``, ``ndcg_exp_gain``) and no sigmoid parameter (its sigmoid is 1); other
    values raise. Its definitions still differ (e.g. a factor 2 in the hessian), so trees are not identical.
    """
    if obj.metric not in _XGBOOST_OBJECTIVES:
        raise ValueError(f"XGBoost has no built-in objective for metric={obj.metric!r}; use objective='scratch'")
    if obj.sigmoid != 1.0:
        raise ValueError(f"XGBoost's rank objectives have a fixed sigmoid of 1; got sigmoid={obj.sigmoid!r}")
    params = {
        "objective": _XGBOOST_OBJECTIVES[obj.metric],
        "lambdarank_pair_method": "topk",
        "lambdarank_num_pair_per_sample": obj.truncation_level,
        "lambdarank_normalization": obj.norm,
    }
    if obj.metric == "ndcg":
        params["ndcg_exp_gain"] = _xgboost_exp_gain(obj.label_gain)
    return params


def _xgboost_exp_gain(label_gain):
    if label_gain is None:
        return True
    g = np.asarray(label_gain, dtype=np.float64)
    if np.array_equal(g, 2.0 ** np.arange(len(g)) - 1):
        return True
    if np.array_equal(g, np.arange(len(g), dtype=np.float64)):
        return False
    raise ValueError(
        "XGBoost's NDCG supports only the gains 2**l - 1 (ndcg_exp_gain=True) or l (False); "
        f"got label_gain={g.tolist()!r}"
    )
