"""Quantile leaf renewal for XGBoost, in O(rounds): what ``reg:quantileerror`` does, for our custom objective.

XGBoost's built-in ``reg:quantileerror`` (and ``reg:absoluteerror``) grows each tree on the pinball gradients, then
replaces every leaf value by ``eta * quantile(y - margin)`` of the training rows in the leaf (``UpdateTreeLeaf`` in
C++, which custom objectives cannot reach; XGBoost 3.2's ``TreeObjective`` only changes the gradients the leaf
Newton steps are computed from, and a residual quantile is not a function of per-row gradient sums). XGBoost has no
``set_leaf_output`` either. :func:`xgboost_quantile_leaf_renewal` therefore keeps the renewal *outside* the
booster during training and writes it into the model once at the end::

    from gbm_objectives.adapters.xgboost import objective_loss_metric

    obj = go.QuantileLoss(alpha=0.9)
    init = obj.init_score(y)
    dtrain = xgb.DMatrix(X, y, base_margin=np.full(len(y), init))
    dvalid = xgb.DMatrix(X_val, y_val, base_margin=np.full(len(y_val), init))
    renewal = go.xgboost_quantile_leaf_renewal(obj, dtrain, valid_X={"valid": dvalid})   # or (obj, X)
    booster = xgb.train({"eta": 0.1, "disable_default_eval_metric": 1}, dtrain, 200,
                        obj=go.xgboost_objective(renewal.objective), callbacks=[renewal],
                        evals=[(dvalid, "valid")], custom_metric=objective_loss_metric(obj),
                        early_stopping_rounds=20)
    pred = booster.predict(xgb.DMatrix(X_test, base_margin=np.full(len(X_test), init)), output_margin=True)

How it works. After each round the callback takes the *new trees only* (``booster[t:t + 1]``, the round's ``K``
trees, their node arrays read from its binary UBJSON form by :mod:`.xgboost_trees`), finds the leaf of every
training row in each by walking the trees over the dense float32 features as XGBoost's predictor does (missing
values go the default way, ``x < threshold`` goes left; for a tree with a categorical split, or features too large
to hold densely, XGBoost's ``pred_leaf`` on the one-round slice; XGBoost 3.2 refuses ``pred_leaf`` with an
``iteration_range`` that does not start at tree 0 and points to model slicing), computes
``eta * quantile(y - previous margin)`` per leaf with :func:`gbm_objectives.objectives.quantile.renewed_leaf_values`
(without sample weights, a round's ``K`` trees by one compiled pass per output,
:func:`gbm_objectives.objectives.quantile.renew_round`, the same values) (``method="lower"`` by default: the exact
weighted pinball argmin; XGBoost's built-in interpolates) and adds the
renewed leaf values, rounded to float32 as the model will store them, to the float64 margins it keeps for the
training rows (and for the validation sets given as ``valid_X``). XGBoost's booster keeps its own un-renewed leaves
and stale cached margins until training ends, so:

* ``renewal.objective`` is a :class:`~gbm_objectives.QuantileLoss` whose gradients use the renewal's margins, not
  the stale ones XGBoost hands it (train with it, or the trees are grown on the wrong residuals; the callback raises
  if its objective was not called in a round);
* the pinball-loss entries of the evaluation log (this package's ``quantile_loss`` metric,
  :func:`gbm_objectives.adapters.xgboost.objective_loss_metric`, and XGBoost's built-in ``quantile`` metric at its
  own ``quantile_alpha``) of the sets named in ``valid_X`` are overwritten with the renewed model's values before
  the callbacks after this one read them: ``EarlyStopping`` (which ``early_stopping_rounds`` appends *after* the
  user's callbacks) and ``EvaluationMonitor`` see the renewed losses;
* ``after_training`` writes every renewed leaf into the model with one edit of its UBJSON form and a reload (the
  training configuration is restored with ``load_config``, which ``load_model`` resets). With
  ``EarlyStopping(save_best=True)`` list the renewal first: the slice it takes then holds renewed leaves. Until then
  the booster, as seen by other callbacks, still holds the un-renewed leaves.

``eta`` is read from the training configuration after each round, so list the renewal before a
``LearningRateScheduler`` (which sets the next round's rate in its own ``after_iteration``).

Each round costs a one-round slice, a walk of its trees per data set (or one ``pred_leaf``) and the residual
quantile of each leaf (a selection, O(n) expected, without sample weights; a sort of the training residuals with
them); the end, one UBJSON round trip of the model: ``O(rounds)`` in all (``scripts/bench_quantile.py`` reports
the time against ``reg:quantileerror``). (The JSON form of the model, its edit and reload, cost the former
version of this callback a quarter of a small fit.)

Differences from the built-in that remain: the quantile definition (``method``), the start (``base_margin``, e.g.
``QuantileLoss.init_score``, instead of XGBoost's estimated intercept), and with row subsampling
(``subsample < 1``) XGBoost renews a leaf from the rows sampled for the tree, this callback from all training
rows. As the
built-in does, a tree with a single leaf is renewed too (with a constant target it stays at the start).
"""

from __future__ import annotations

import json

import numpy as np
import xgboost as xgb

from ..objectives import MultiQuantileLoss, QuantileLoss, get_objective
from ..objectives.quantile import check_method, renew_round, renewed_leaf_values
from ._common import RenewedObjective
from .xgboost_trees import pack_trees, tree_arrays, tree_leaves, write_leaf_values

__all__ = ["XGBoostQuantileLeafRenewal", "xgboost_quantile_leaf_renewal"]

_BUILTIN_METRIC = "quantile"  # XGBoost's pinball-loss metric (eval_metric="quantile", at quantile_alpha)


class _RenewedQuantileLoss(RenewedObjective, QuantileLoss):
    """A :class:`QuantileLoss` whose gradients use the renewal's exact training margins, not XGBoost's stale ones."""


class _RenewedMultiQuantileLoss(RenewedObjective, MultiQuantileLoss):
    """A :class:`MultiQuantileLoss` renewed by the callback (trees grown on per-output gradients)."""

    per_output_gradients = True


def _alphas(text):
    """XGBoost's config writes ``quantile_alpha`` as a vector, e.g. ``"[9E-1]"``."""
    text = str(text).strip().strip("[]")
    return [float(a) for a in text.split(",") if a.strip()]


_MAX_DENSE_VALUES = 1 << 26  # 256 MB of float32: above it, leaves come from XGBoost's pred_leaf


def _dense_features(dmatrix, n_features=0):
    """The DMatrix's features as a dense float32 array with NaN where XGBoost sees a missing value (an entry
    absent from ``get_data()``), or None when that would take more than ``_MAX_DENSE_VALUES`` values.

    ``n_features``: the model's number of features (``Booster.num_features()``). XGBoost accepts data with fewer
    columns than the model and reads an absent column as missing: such data is padded with NaN columns up to
    ``n_features``, so that the walk never reads past the data (:func:`.xgboost_trees.tree_leaves` checks it)."""
    n, m = dmatrix.num_row(), max(dmatrix.num_col(), int(n_features))
    if n * m > _MAX_DENSE_VALUES:
        return None
    csr = dmatrix.get_data()
    dense = np.full((n, m), np.nan, dtype=np.float32)
    rows = np.repeat(np.arange(n), np.diff(csr.indptr))
    dense[rows, csr.indices] = csr.data
    return dense


class _EvalSet:
    """A data set whose renewed margins the callback keeps: its DMatrix, dense features (for leaves), labels,
    weights, margins."""

    def __init__(self, name, dmatrix):
        self.name = name
        self.dmatrix = dmatrix
        self.features = None
        self.y = None
        self.w = None
        self.score = None


class XGBoostQuantileLeafRenewal(xgb.callback.TrainingCallback):
    """XGBoost training callback re-fitting each new tree's leaves to the residual alpha-quantile (module docs).

    Parameters
    ----------
    objective : QuantileLoss, MultiQuantileLoss, "quantile" or "multi_quantile"
        Gives ``alpha`` (or ``alphas``: with ``K`` levels the model has ``K`` trees per round, ``num_class=K``,
        each renewed by :meth:`MultiQuantileLoss.renewed_leaf_values
        <gbm_objectives.MultiQuantileLoss.renewed_leaf_values>`).
    dtrain_or_X : xgboost.DMatrix, or array-like / DataFrame of shape (n_samples, n_features)
        The training DMatrix, or the raw training features it was built from (a DMatrix is then built once for
        the leaf predictions; build it as the training one, e.g. the same ``missing``). Labels, weights and the
        start margin are taken from what XGBoost hands the objective.
    valid_X : dict of name -> DMatrix or tuple, optional
        Data sets (names as in ``evals``) whose renewed margins are kept and whose pinball-loss entries in the
        evaluation log are overwritten with the renewed model's values. Give the DMatrix passed in ``evals``
        (labels, weights and ``base_margin`` are read from it; the training DMatrix itself is recognised and costs
        nothing), or ``(X, y)``, ``(X, y, sample_weight)`` or ``(X, y, sample_weight, base_margin)`` to build one.
    method : {"lower", "lightgbm"}, default "lower"
        Quantile definition (:mod:`gbm_objectives.objectives.quantile`).
    evaluate : callable, optional
        ``evaluate(set_name, raw_score) -> [(metric name, value, higher_is_better), ...]``: every entry of the
        evaluation log of a set in ``valid_X`` that it names is recomputed on the renewed model.

    Attributes
    ----------
    objective : QuantileLoss
        Train with ``obj=go.xgboost_objective(renewal.objective)``; its gradients use the renewed margins.
    n_renewed_ : int
        Number of trees renewed in the last training run.
    """

    def __init__(self, objective, dtrain_or_X, *, valid_X=None, method="lower", evaluate=None):
        base = get_objective(objective)
        if not isinstance(base, (QuantileLoss, MultiQuantileLoss)):
            raise TypeError(f"objective must be a QuantileLoss or MultiQuantileLoss (or 'quantile', "
                            f"'multi_quantile'); got {base!r}")
        if dtrain_or_X is None:
            raise TypeError("dtrain_or_X must be the training DMatrix or the training features; got None")
        self.alpha = getattr(base, "alpha", None)
        self.n_outputs = base.n_classes or 1
        self.evaluate = evaluate
        self.method = check_method(method)
        self.dtrain_or_X = dtrain_or_X
        if valid_X is not None and not isinstance(valid_X, dict):
            raise TypeError(f"valid_X must be a dict of name -> DMatrix or (X, y, ...); got {type(valid_X).__name__}")
        self.valid_X = dict(valid_X or {})
        self._valid_dmatrices = {name: self._as_dmatrix(name, v) for name, v in self.valid_X.items()}
        self._dtrain = dtrain_or_X if isinstance(dtrain_or_X, xgb.DMatrix) else None
        self._train_features = None  # (DMatrix, model's number of features, dense features or None)
        if isinstance(base, MultiQuantileLoss):
            self.objective = _RenewedMultiQuantileLoss(*base.get_params().values())
        else:
            self.objective = _RenewedQuantileLoss(self.alpha)
        self.objective._renewal = self
        self._reset()
        super().__init__()

    @staticmethod
    def _as_dmatrix(name, value):
        if isinstance(value, xgb.DMatrix):
            return value
        if isinstance(value, tuple) and 2 <= len(value) <= 4:
            X, y, w, margin = (*value, None, None)[:4]
            return xgb.DMatrix(X, y, weight=w, base_margin=margin, enable_categorical=True)
        raise TypeError(
            f"valid_X[{name!r}] must be a DMatrix (with labels) or a tuple (X, y[, sample_weight[, base_margin]]); "
            f"got {type(value).__name__}"
        )

    def _reset(self):
        self._score = None  # exact renewed margins of the training rows (float64)
        self._y = self._w = None
        self._valid = {}
        self._renewed = {}  # tree index -> (leaf node ids, float32 values)
        self._round = None  # (the round's one-round booster, {id(DMatrix): its pred_leaf}) during after_iteration
        self._called = False
        self._n_start = 0
        self._metric_alphas = None
        self.n_renewed_ = 0

    # ---- called by the objective ----------------------------------------------------------------------
    def _training_score(self, prepared, raw_score):
        if self._called:
            raise ValueError(
                "renewal.objective was called twice without the renewal callback running in between: "
                "pass callbacks=[renewal] to xgb.train (one XGBoostQuantileLeafRenewal per training run)"
            )
        self._called = True
        if self._score is None:  # first round: XGBoost's margins are exact (no tree of this run yet)
            self._score = np.asarray(raw_score, dtype=np.float64).reshape(len(prepared.y), -1).copy()
            if self.n_outputs == 1:
                self._score = self._score.reshape(-1)
            self._y, self._w = prepared.y, prepared.w
        elif len(raw_score) != len(self._score):
            raise ValueError(
                f"the renewal tracks {len(self._score)} training rows but the objective got {len(raw_score)}; "
                "use one XGBoostQuantileLeafRenewal per training run"
            )
        return self._score

    # ---- the callback ----------------------------------------------------------------------------------
    def before_training(self, model):
        self._reset()
        learner = json.loads(model.save_config())["learner"]
        booster = learner["gradient_booster"]
        if booster.get("name") != "gbtree":
            raise ValueError(f"quantile leaf renewal needs booster='gbtree'; got booster={booster.get('name')!r}")
        n_parallel = int(booster["gbtree_model_param"].get("num_parallel_tree", 1) or 1)
        if n_parallel != 1:
            raise ValueError(f"quantile leaf renewal supports one tree per round; got num_parallel_tree={n_parallel}")
        n_targets = max(int(learner["learner_model_param"].get(k, 0) or 0) for k in ("num_class", "num_target"))
        if max(n_targets, 1) != self.n_outputs:
            raise ValueError(f"quantile leaf renewal of {self.n_outputs} output(s) (num_class); the model has "
                             f"{n_targets}")
        strategy = booster.get("gbtree_train_param", {}).get("multi_strategy", "one_output_per_tree")
        if self.n_outputs > 1 and strategy != "one_output_per_tree":
            raise ValueError(f"quantile leaf renewal needs one tree per output; got multi_strategy={strategy!r}")
        self._metric_alphas = [
            _alphas(m.get("quantile_loss_param", {}).get("quantile_alpha", "[]"))
            for m in learner.get("metrics", [])
            if m.get("name") == _BUILTIN_METRIC
        ]
        if self._dtrain is None:
            self._dtrain = xgb.DMatrix(self.dtrain_or_X, enable_categorical=True)
        n_features = model.num_features()
        if (self._train_features is None or self._train_features[0] is not self._dtrain
                or self._train_features[1] != n_features):
            self._train_features = (self._dtrain, n_features, _dense_features(self._dtrain, n_features))
        self._n_start = model.num_boosted_rounds()  # trees of an earlier run (xgb_model=...) are kept as they are
        for name, dm in self._valid_dmatrices.items():
            ev = _EvalSet(name, dm)
            if dm is not self._dtrain:
                ev.y = dm.get_label().astype(np.float64)
                w = dm.get_weight()
                ev.w = None if len(w) == 0 else w.astype(np.float64)
                ev.score = np.asarray(model.predict(dm, output_margin=True), dtype=np.float64)
                ev.score = ev.score.reshape(-1) if self.n_outputs == 1 else ev.score.reshape(len(ev.y), -1)
                ev.features = _dense_features(dm, n_features)
            self._valid[name] = ev
        return model

    def after_iteration(self, model, epoch, evals_log):
        if not self._called:
            raise ValueError(
                "the renewal's objective was not called in this round: train with "
                "obj=go.xgboost_objective(renewal.objective), or the trees are grown on un-renewed margins"
            )
        self._called = False
        t = model.num_boosted_rounds() - 1  # the new tree (epoch restarts at 0 when training continues)
        if t != self._n_start + self.n_renewed_:
            raise ValueError(
                f"expected tree {self._n_start + self.n_renewed_} to be the new one, the model has {t + 1} trees; "
                "use one XGBoostQuantileLeafRenewal per training run"
            )
        eta = float(json.loads(model.save_config())["learner"]["gradient_booster"]["tree_train_param"]["eta"])
        tree = model[t : t + 1]  # the round's trees: one per output
        trees = tree_arrays(tree.save_raw(raw_format="ubj"), self.n_outputs)  # their node arrays, or None
        if trees is None:  # a model document laid out otherwise: the JSON route
            trees = json.loads(tree.save_raw(raw_format="json"))["learner"]["gradient_booster"]["model"]["trees"]
        walks = [self._walker(nodes) for nodes in trees]
        self._round = (tree, {})  # XGBoost's pred_leaf of the round, by data set, where the walk is not taken
        if self._w is None and self._train_features[2] is not None and all(w is not None for w in walks):
            self._renew_round(t, trees, walks, tree, eta)
        else:
            for k, nodes in enumerate(trees):
                self._renew_tree(t * self.n_outputs + k, k, tree, nodes, eta)
        self._round = None
        self.n_renewed_ += 1
        self._patch_evaluations(evals_log)
        return False

    def _renew_tree(self, tree_id, k, tree, nodes, eta):
        """Renew output ``k``'s tree (``tree_id`` in the whole model; ``tree`` the round's one-round slice)."""
        walk = self._walker(nodes)
        leaf = self._leaves(walk, tree, self._dtrain, self._train_features[2], k, self._round_pred_leaf)
        valid_leaves = {
            name: self._leaves(walk, tree, ev.dmatrix, ev.features, k, self._round_pred_leaf)
            for name, ev in self._valid.items()
            if ev.score is not None
        }
        engine = np.asarray(nodes["split_conditions"], dtype=np.float32).astype(np.float64)  # float32 as stored
        if self.alpha is not None:
            new = renewed_leaf_values(self._y, self._score, leaf, self.alpha, learning_rate=eta,
                                      sample_weight=self._w, n_leaves=len(engine), method=self.method)
        else:
            new = self.objective.renewed_leaf_values(self._y, self._score, k, leaf, learning_rate=eta,
                                                     sample_weight=self._w, n_leaves=len(engine), method=self.method)
        ids = np.flatnonzero(~np.isnan(new))  # the leaves training rows reach
        values = engine.copy()  # a leaf no training row reaches keeps XGBoost's value
        values[ids] = np.float32(new[ids])  # what the model will store
        self._renewed[tree_id] = (ids, values[ids])
        if self._score.ndim == 1:
            self._score += values[leaf]
        else:
            self._score[:, k] += values[leaf]
        for name, vleaf in valid_leaves.items():
            score = self._valid[name].score
            if score.ndim == 1:
                score += values[vleaf]
            else:
                score[:, k] += values[vleaf]

    def _renew_round(self, t, trees, walks, tree, eta):
        """The round's ``K`` numerical trees (unweighted rows) renewed at once: walked here, renewed and added to
        the kept margins by one compiled pass per output (:func:`gbm_objectives.objectives.quantile.renew_round`,
        the values of :meth:`_renew_tree`).

        Serial on purpose, whatever XGBoost's ``nthread``: XGBoost's OpenMP worker threads busy-wait after each of
        its parallel regions (measured: 4.4 ms of CPU per round by the worker of a 2-thread booster while the
        caller slept), i.e. through most of this callback, so threads of ours would share the cores with them
        (measured on the shared 2-core machine: a thread per group of outputs made the callback 15-26 % slower on
        autoclaims and the 10,000-row synthetic set).
        """
        features = self._train_features[2]
        K, n = len(trees), len(features)
        packed = pack_trees(walks)
        leaves = self._walk(features, packed)
        values = packed[2].astype(np.float64)  # split_conditions as float32: a leaf's value as stored (0 padding)
        alphas = self.objective.alphas if self.alpha is None else (self.alpha,)
        score = self._score if self._score.ndim == 2 else self._score.reshape(n, 1)
        reached = renew_round(self._y, score, leaves, alphas, learning_rate=eta, leaf_values=values,
                              method=self.method, float32_leaves=True)
        for k in range(K):
            ids = np.flatnonzero(reached[k])
            self._renewed[t * K + k] = (ids, values[k, ids])
        for ev in self._valid.values():
            if ev.score is None:
                continue
            vscore = ev.score if ev.score.ndim == 2 else ev.score.reshape(-1, 1)
            if ev.features is not None:
                vleaves = self._walk(ev.features, packed)
            else:  # one pred_leaf for the round's K trees
                vleaves = self._round_pred_leaf(ev.dmatrix).T
            for k in range(K):
                vscore[:, k] += values[k][vleaves[k]]

    def after_training(self, model):
        if not self._renewed:
            return model
        config = model.save_config()
        raw = model.save_raw(raw_format="ubj")
        if write_leaf_values(raw, model.num_boosted_rounds() * self.n_outputs, self._renewed):
            model.load_model(raw)
        else:  # a model document laid out otherwise: the JSON route
            model_json = json.loads(model.save_raw(raw_format="json"))
            trees = model_json["learner"]["gradient_booster"]["model"]["trees"]
            for t, (ids, vals) in self._renewed.items():
                split_conditions = trees[t]["split_conditions"]
                for j, v in zip(ids.tolist(), vals.tolist()):
                    split_conditions[j] = v  # a float32 value, written exactly (shortest repr of the float64)
            model.load_model(bytearray(json.dumps(model_json), "utf-8"))
        model.load_config(config)  # load_model resets the training parameters (eta, max_depth, ...)
        return model

    def _walk(self, features, packed):
        """The leaves of every row of ``features`` in each of the round's trees ``packed``, shape ``(K, n)``."""
        out = np.empty((len(packed[1]), len(features)), dtype=np.int64)
        return tree_leaves(features, packed, out)

    @staticmethod
    def _walker(nodes):
        """The tree's walk arrays for :func:`.xgboost_trees.pack_trees`, or None when it has a categorical
        split."""
        if np.any(np.asarray(nodes.get("split_type", ()))):
            return None
        return (
            np.asarray(nodes["left_children"], dtype=np.int32),
            np.asarray(nodes["right_children"], dtype=np.int32),
            np.asarray(nodes["split_indices"], dtype=np.int32),
            np.asarray(nodes["split_conditions"], dtype=np.float32),
            np.asarray(nodes["default_left"], dtype=np.uint8),
        )

    @staticmethod
    def _pred_leaf(tree, dmatrix):
        """XGBoost's ``pred_leaf`` of the one-round booster ``tree`` on ``dmatrix``: shape ``(n_rows, K)``."""
        leaves = np.asarray(tree.predict(dmatrix, pred_leaf=True))
        return leaves.reshape(len(leaves), -1).astype(np.int64)

    def _round_pred_leaf(self, dmatrix):
        """:meth:`_pred_leaf` of this round's trees, computed once per data set and round (not once per tree)."""
        tree, done = self._round
        if id(dmatrix) not in done:
            done[id(dmatrix)] = self._pred_leaf(tree, dmatrix)
        return done[id(dmatrix)]

    @staticmethod
    def _leaves(walk, tree, dmatrix, features, k=0, pred_leaf=None):
        """Leaf node id of every row in output ``k``'s tree of the one-round booster ``tree``: walked here on the
        dense features (the fast path), else XGBoost's ``pred_leaf`` (``pred_leaf(dmatrix)`` when given, e.g.
        :meth:`_round_pred_leaf`), whose per-call set-up costs about as much as the walk saves."""
        if walk is None or features is None:
            leaves = (pred_leaf or (lambda dm: XGBoostQuantileLeafRenewal._pred_leaf(tree, dm)))(dmatrix)
            return leaves[:, k]
        return tree_leaves(features, pack_trees([walk]), np.empty((1, len(features)), dtype=np.int64))[0]

    def _set_data(self, ev):
        if ev.dmatrix is self._dtrain:
            return self._y, self._score, self._w
        return ev.y, ev.score, ev.w

    def _patch_evaluations(self, evals_log):
        for name, ev in self._valid.items():
            log = evals_log.get(name)
            if not log:
                continue
            y, score, w = self._set_data(ev)
            recomputed = {} if self.evaluate is None else {m: v for m, v, _ in self.evaluate(name, score)}
            for metric, history in log.items():
                if not history or not isinstance(history[-1], (float, int, np.floating)):
                    continue  # (mean, std) pairs of xgb.cv: not a run this callback follows
                if metric in recomputed:
                    history[-1] = float(recomputed[metric])
                    continue
                if self.evaluate is not None:
                    continue
                if metric == f"{self.objective.name}_loss":  # objective_loss_metric(objective)
                    history[-1] = float(self.objective.loss(y, score, sample_weight=w))
                elif (metric == _BUILTIN_METRIC and self.alpha is not None and len(self._metric_alphas) == 1
                      and len(self._metric_alphas[0]) == 1):
                    history[-1] = float(QuantileLoss(self._metric_alphas[0][0]).loss(y, score, sample_weight=w))


def xgboost_quantile_leaf_renewal(objective, dtrain_or_X, *, valid_X=None, method="lower", evaluate=None):
    """An XGBoost callback that renews quantile-objective leaves like ``reg:quantileerror``, in O(rounds).

    Returns a :class:`XGBoostQuantileLeafRenewal`; train with ``obj=go.xgboost_objective(renewal.objective)`` and
    ``callbacks=[renewal]`` (see the module docstring for a full example).
    """
    return XGBoostQuantileLeafRenewal(objective, dtrain_or_X, valid_X=valid_X, method=method, evaluate=evaluate)
