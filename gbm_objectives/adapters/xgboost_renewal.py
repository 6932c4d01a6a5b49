"""Quantile leaf renewal for XGBoost: the closest its Python API allows.

XGBoost has no ``set_leaf_output``. Its experimental ``xgboost.objective.TreeObjective`` (3.2) separates the
gradient used to *find splits* from the gradient used for *leaf values*, but leaf values are still Newton steps
``-sum(grad) / (sum(hess) + lambda)`` on per-row statistics, and a residual quantile is not a function of per-row
gradient sums; so it cannot express renewal. (XGBoost's own ``reg:quantileerror`` and ``reg:absoluteerror``
renew leaves in C++ via ``UpdateTreeLeaf``, which custom objectives cannot reach.)

What does work is editing the model: after each round this callback reads the leaf of every training row
(``predict(pred_leaf=True)``), computes ``eta * quantile(y - previous margin)`` per leaf with
:func:`gbm_objectives.quantile.renewed_leaf_values` (``method="lower"`` by default, the exact pinball argmin; XGBoost's
built-in uses its own interpolated quantile), writes the values into the JSON model and reloads it. Reloading drops
XGBoost's prediction cache, so the next round's margins (and the evaluation sets') are recomputed from the renewed
trees (the training configuration is restored with ``load_config`` after each reload, since ``load_model`` resets
it): no stale scores, but each round costs a full model serialisation and re-prediction, ``O(rounds^2)`` over a
run. ``scripts/bench_quantile.py`` reports the time and the remaining gap.

    obj = go.QuantileLoss(alpha=0.9)
    init = obj.init_score(y)
    dtrain = xgb.DMatrix(X, y, base_margin=np.full(len(y), init))
    renewal = xgboost_quantile_leaf_renewal(obj, dtrain)
    booster = xgb.train({"eta": 0.1}, dtrain, 200, obj=go.xgboost_objective(obj), callbacks=[renewal])
"""

from __future__ import annotations

import json

import numpy as np
import xgboost as xgb

from ..losses import QuantileLoss
from ..objectives import get_objective
from ..quantile import _check_method, renewed_leaf_values

__all__ = ["XGBoostQuantileLeafRenewal", "xgboost_quantile_leaf_renewal"]


class XGBoostQuantileLeafRenewal(xgb.callback.TrainingCallback):
    """XGBoost training callback re-fitting each new tree's leaves to the residual alpha-quantile.

    Parameters
    ----------
    objective : QuantileLoss or "quantile"
    dtrain : xgboost.DMatrix
        The training DMatrix (with the same ``base_margin`` as in training).
    method : {"lower", "lightgbm"}, default "lower"
    """

    def __init__(self, objective, dtrain, *, method="lower"):
        base = get_objective(objective)
        if not isinstance(base, QuantileLoss):
            raise TypeError(f"objective must be a QuantileLoss (or 'quantile'); got {base!r}")
        if not isinstance(dtrain, xgb.DMatrix):
            raise TypeError(f"dtrain must be an xgboost.DMatrix; got {type(dtrain).__name__}")
        self.alpha = base.alpha
        self.method = _check_method(method)
        self.dtrain = dtrain
        self.n_renewed_ = 0
        super().__init__()

    def after_iteration(self, model, epoch, evals_log):
        dtrain = self.dtrain
        y = dtrain.get_label().astype(np.float64)
        w = dtrain.get_weight()
        w = None if len(w) == 0 else w
        config_text = model.save_config()
        config = json.loads(config_text)
        eta = float(config["learner"]["gradient_booster"]["tree_train_param"]["eta"])
        n_groups = int(config["learner"]["gradient_booster"]["gbtree_model_param"].get("num_parallel_tree", 1) or 1)
        if n_groups != 1:
            raise ValueError(f"quantile leaf renewal supports one tree per round; got num_parallel_tree={n_groups}")
        model_json = json.loads(model.save_raw(raw_format="json"))
        trees = model_json["learner"]["gradient_booster"]["model"]["trees"]
        tree = trees[epoch]
        values = np.asarray(tree["split_conditions"], dtype=np.float64)
        is_leaf = np.asarray(tree["left_children"]) == -1
        leaves = np.asarray(model.predict(dtrain, pred_leaf=True, iteration_range=(0, epoch + 1)))
        leaf = leaves.reshape(len(leaves), -1)[:, -1].astype(np.int64)  # leaf prediction cannot start past tree 0
        margin = model.predict(dtrain, output_margin=True, iteration_range=(0, epoch + 1))
        previous = margin - values[leaf]
        new = renewed_leaf_values(
            y, previous, leaf, self.alpha, learning_rate=eta, sample_weight=w, n_leaves=len(values), method=self.method
        )
        update = is_leaf & ~np.isnan(new)
        if update.any() and is_leaf.sum() > 1:
            values[update] = new[update]
            tree["split_conditions"] = values.tolist()
            base_weights = np.asarray(tree["base_weights"], dtype=np.float64)
            base_weights[update] = new[update]
            tree["base_weights"] = base_weights.tolist()
            model.load_model(bytearray(json.dumps(model_json), "utf-8"))
            model.load_config(config_text)  # load_model resets the training parameters (eta, max_depth, ...)
        self.n_renewed_ = epoch + 1
        return False


def xgboost_quantile_leaf_renewal(objective, dtrain, *, method="lower"):
    """An XGBoost callback that renews quantile-objective leaves (see the module docstring)."""
    return XGBoostQuantileLeafRenewal(objective, dtrain, method=method)
