"""The engines' built-in objectives, configured from one of this package's objectives (``"NAME:native"``).

``go.train("huber:native", ...)`` or ``go.train(go.NativeObjective(go.HuberLoss(delta=2.0)), ...)`` trains the
engine's own objective with the parameters of our reference objective, mapped to the engine's names:
:func:`native_params` is the one table, used by :func:`gbm_objectives.train` and hence by every front end (the
estimators, ``LambdaMART(objective="native")`` and the CLI). An option an engine cannot express raises instead of
being dropped. Pure mapping: no math, no engine import.

>>> import gbm_objectives as go
>>> native_params(go.HuberLoss(delta=2.0), "lightgbm")
{'objective': 'huber', 'alpha': 2.0}
>>> lightgbm_lambdarank_params(go.LambdaRankObjective(truncation_level=10))
{'objective': 'lambdarank', 'lambdarank_truncation_level': 10, 'lambdarank_norm': True, 'sigmoid': 1.0}
>>> xgboost_rank_params(go.LambdaRankObjective(truncation_level=10))["lambdarank_num_pair_per_sample"]
10
"""

from __future__ import annotations

import numpy as np

__all__ = ["NATIVE", "native_params", "lightgbm_lambdarank_params", "xgboost_rank_params"]

#: ``NAME`` -> engine objective per backend and the parameter mapping ours -> the engine's. ``lambdarank`` maps
#: every option of LambdaRankObjective through :func:`lightgbm_lambdarank_params` / :func:`xgboost_rank_params`.
NATIVE = {
    "lambdarank": {"lightgbm": "lambdarank", "xgboost": "rank:ndcg"},
    # XGBoost has no XE-NDCG; LightGBM's draws its targets from objective_seed (reproduced by XENDCGObjective)
    "xendcg": {
        "lightgbm": "rank_xendcg",
        "xgboost": None,
        "params": {"lightgbm": {"seed": "objective_seed"}},
        "ignored": ("emulate_lightgbm",),
    },
    "logloss": {"lightgbm": "binary", "xgboost": "binary:logistic", "params": {}},
    "weighted_ce": {
        "lightgbm": "binary",
        "xgboost": "binary:logistic",
        "params": {"lightgbm": {"pos_weight": "scale_pos_weight"}, "xgboost": {"pos_weight": "scale_pos_weight"}},
    },
    "squared_error": {"lightgbm": "regression", "xgboost": "reg:squarederror", "params": {}},
    "huber": {
        "lightgbm": "huber",
        "xgboost": "reg:pseudohubererror",
        "params": {"lightgbm": {"delta": "alpha"}, "xgboost": {"delta": "huber_slope"}},
    },
    "quantile": {
        "lightgbm": "quantile",
        "xgboost": "reg:quantileerror",
        "params": {"lightgbm": {"alpha": "alpha"}, "xgboost": {"alpha": "quantile_alpha"}},
    },
    "softmax": {
        "lightgbm": "multiclass",
        "xgboost": "multi:softprob",
        "params": {"lightgbm": {"n_classes": "num_class"}, "xgboost": {"n_classes": "num_class"}},
        "ignored": ("hessian_scale",),  # the built-ins use their own hessian scale, which is what it selects
    },
}


def native_params(objective, backend):
    """Engine parameters (``objective`` included) of the built-in equivalent of ``objective`` on ``backend``.

    Parameters
    ----------
    objective : Objective
        One of this package's objectives whose registry name is in :data:`NATIVE`.
    backend : {"lightgbm", "xgboost"}

    Raises
    ------
    ValueError
        When the engine has no built-in for this objective, or cannot express one of its parameter values.
    """
    name = objective.name
    if name not in NATIVE:
        raise ValueError(
            f"{backend} has no built-in equivalent of {name!r}; native objectives: "
            f"{', '.join(n + ':native' for n in sorted(NATIVE))}"
        )
    if name == "lambdarank":
        convert = lightgbm_lambdarank_params if backend == "lightgbm" else xgboost_rank_params
        return convert(objective)
    table = NATIVE[name]
    if table[backend] is None:
        engines = [b for b in ("lightgbm", "xgboost") if table.get(b)]
        raise ValueError(
            f"{backend} has no built-in equivalent of {name!r} (only {', '.join(engines)} has one); train "
            f"{name!r} from scratch (objective={name!r}) on {backend}"
        )
    params = {"objective": table[backend]}
    mapping = table["params"].get(backend, {})
    for key, value in objective.get_params().items():
        if key in table.get("ignored", ()):
            continue
        if key not in mapping:
            raise ValueError(f"{name}:native on {backend} has no equivalent of the parameter {key}={value!r}")
        if value is not None:
            params[mapping[key]] = value.item() if isinstance(value, np.generic) else value
    return params

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
    debias = getattr(obj, "position_debias", None)
    if debias in ("ipw", "cascade"):
        raise ValueError(f"LightGBM's lambdarank has no position_debias={debias!r} (its position bias is additive); "
                         f"use position_debias='additive', or objective='scratch' for {debias!r} on LightGBM")
    params = {
        "objective": "lambdarank",
        "lambdarank_truncation_level": obj.truncation_level,
        "lambdarank_norm": obj.norm,
        "sigmoid": obj.sigmoid,
    }
    if debias == "additive":  # active when the Dataset has a position column (go.train(position=...))
        params["lambdarank_position_bias_regularization"] = float(obj.position_bias_regularization)
    if obj.label_gain is not None:
        params["label_gain"] = [float(g) for g in np.asarray(obj.label_gain, dtype=np.float64)]
    return params


def xgboost_rank_params(obj):
    """XGBoost ``rank:ndcg`` / ``rank:map`` / ``rank:pairwise`` parameters closest to ``obj``.

    Pairs are chosen as in LightGBM, from the model's top ``truncation_level`` (``lambdarank_pair_method="topk"``,
    ``lambdarank_num_pair_per_sample=truncation_level``; ``obj.pair_method="mean"``: ``truncation_level`` random
    partners per document), with ``lambdarank_normalization=norm``. XGBoost has only
    two gains (``2**l - 1`` or ``l``, ``ndcg_exp_gain``) and no sigmoid parameter (its sigmoid is 1); other
    values raise. ``LambdaRankObjective(convention="xgboost")`` reproduces these objectives' gradients exactly
    (with the default convention, "lightgbm", the definitions differ, e.g. a factor 2 in the hessian).
    """
    if obj.metric not in _XGBOOST_OBJECTIVES:
        raise ValueError(f"XGBoost has no built-in objective for metric={obj.metric!r}; use objective='scratch'")
    if obj.sigmoid != 1.0:
        raise ValueError(f"XGBoost's rank objectives have a fixed sigmoid of 1; got sigmoid={obj.sigmoid!r}")
    debias = getattr(obj, "position_debias", None)
    if debias == "additive":
        raise ValueError("XGBoost has no position_debias='additive' (its lambdarank_unbiased is 'ipw'); use "
                         "position_debias='ipw', or objective='scratch' for 'additive' on XGBoost")
    params = {
        "objective": _XGBOOST_OBJECTIVES[obj.metric],
        "lambdarank_pair_method": getattr(obj, "pair_method", "topk"),
        "lambdarank_num_pair_per_sample": obj.truncation_level,
        "lambdarank_normalization": obj.norm,
    }
    if debias == "cascade":
        raise ValueError("XGBoost has no position_debias='cascade'; use objective='scratch' for it")
    if debias == "ipw":  # positions = row order inside a query (the XGBoost adapter orders the rows)
        if getattr(obj, "propensity", None) is not None:
            raise ValueError("XGBoost's lambdarank_unbiased learns its propensities; fixed propensity= needs "
                             "objective='scratch'")
        if obj.normalize == "before":
            raise ValueError("XGBoost normalises the lambdas after the propensity weighting or not at all; "
                             "normalize='before' needs objective='scratch' (or use normalize='after' / 'off')")
        params["lambdarank_unbiased"] = True
        params["lambdarank_bias_norm"] = float(obj.bias_norm)
        params["lambdarank_normalization"] = obj.norm and obj.normalize == "after"
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
