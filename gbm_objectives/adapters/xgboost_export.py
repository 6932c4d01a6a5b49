"""XGBoost model files for serving: the init score as a first round of one-leaf trees, the built-in twin objective.

A model trained with a custom objective on a ``base_margin`` (the init score) predicts ``predict_raw`` only when the
caller passes that margin again; the JSON file holds neither the margin nor the objective. :func:`engine_file`
rewrites the JSON model so that the file alone predicts ``predict_raw``, bit for bit:

* the init score becomes a first round of one-leaf trees (one per class) whose leaf is ``float32(init_score[k])``,
  and ``base_score`` is set to the value whose margin is 0 (0.5 for ``binary:logistic``, 0 otherwise). XGBoost
  starts each row at that margin and adds the trees in order in float32, so the sum is the same float32 sequence
  as ``base_margin + trees`` (``0 + x == x`` exactly). Folding the init score into the leaves of the first tree
  instead would round each ``leaf + init`` to float32, and a ``base_score`` of ``sigmoid(init)`` is turned back
  into a margin in float32: both miss ``predict_raw`` by float32 rounding.
* the objective is the built-in twin with the same link (:data:`TWINS`): XGBoost's ``predict`` applies it;
* ``best_iteration`` / ``best_score`` attributes are dropped (the file is cut at the kept round already).

XGBoost 3 writes ``base_score`` as a vector string (``"[5E-1]"``, one entry per class); the file keeps the form it
had, one entry per output. A model of ``K`` raw outputs that is no classifier (``multi_quantile``: ``num_class=K``)
keeps that layout under ``reg:squarederror``; onnxmltools reads a ``multi:softprob`` copy of it
(:data:`MULTICLASS_VIEW`, :func:`to_onnx`). The converters (:func:`to_onnx`, :func:`to_treelite`) and
:func:`json_dump` read that file; :func:`predict_dump` evaluates a ``get_dump`` JSON with NumPy.
"""

from __future__ import annotations

import json

import numpy as np

from ._common import check_raw_only, finish_onnx, k_outputs
from .xgboost import booster_from_bytes

__all__ = ["TWINS", "twin_objective", "file_objective", "split_points", "engine_file", "to_onnx", "to_treelite", "json_dump", "predict_dump",
           "RELOAD_SCRIPT", "MODEL_SUFFIX", "MULTICLASS_VIEW"]

#: task -> XGBoost built-in objective with the same link as this package's objectives of that task
TWINS = {"binary": "binary:logistic", "regression": "reg:squarederror", "ranking": "rank:ndcg",
         "multiclass": "multi:softprob"}
#: formats whose converter reads a model of K raw outputs that is no classifier (``multi_quantile``) from a copy
#: labelled multiclass, asked for raw margins (onnxmltools knows the K-output layout only under a multiclass objective)
MULTICLASS_VIEW = ("onnx",)
#: file name suffix of the engine's own model file
MODEL_SUFFIX = ".json"
#: the objective section XGBoost writes for each twin (its parameters at their defaults)
_OBJECTIVE_PARAMS = {
    "binary:logistic": {"reg_loss_param": {"scale_pos_weight": "1"}},
    "reg:squarederror": {"reg_loss_param": {"scale_pos_weight": "1"}},
    "rank:ndcg": {"lambdarank_param": {"lambdarank_num_pair_per_sample": "32", "lambdarank_pair_method": "topk",
                                       "lambdarank_unbiased": "0", "lambdarank_bias_norm": "1",
                                       "ndcg_exp_gain": "1", "lambdarank_score_normalization": "1"}},
}


def twin_objective(task, n_classes):
    """The name of the built-in twin objective of ``task``."""
    return TWINS[task]


def _number(value):
    """XGBoost's spelling of a float32 value in ``learner_model_param``."""
    return repr(float(np.float32(value))).upper().replace("E+", "E")


def _base_score(old, value, n):
    """``base_score`` of ``value`` in the form ``old`` had (a vector string in XGBoost 3, a number before)."""
    if old.startswith("["):
        return "[" + ",".join([_number(value)] * n) + "]"
    return _number(value)


def _stump(tree_id, value, n_features):
    return {"base_weights": [value], "categories": [], "categories_nodes": [], "categories_segments": [],
            "categories_sizes": [], "default_left": [0], "id": tree_id, "left_children": [-1],
            "loss_changes": [0.0], "parents": [2147483647], "right_children": [-1], "split_conditions": [value],
            "split_indices": [0], "split_type": [0], "sum_hessian": [0.0],
            "tree_param": {"num_deleted": "0", "num_feature": str(n_features), "num_nodes": "1",
                           "size_leaf_vector": "1"}}


def _set_objective(learner, name, n_classes):
    if name == "multi:softprob":
        learner["objective"] = {"name": name, "softmax_multiclass_param": {"num_class": str(n_classes)}}
    else:
        learner["objective"] = {"name": name, **_OBJECTIVE_PARAMS[name]}
    param = learner["learner_model_param"]
    zero_margin = 0.5 if name == "binary:logistic" else 0.0
    param["base_score"] = _base_score(param["base_score"], zero_margin, max(int(n_classes or 1), 1))


#: built-in objectives whose ``base_score`` is a probability (margin = logit) or a mean (margin = log)
_LOGIT_BASE = ("binary:logistic", "reg:logistic")
_LOG_BASE = ("count:poisson", "reg:gamma", "reg:tweedie", "survival:cox")


def _base_margin(learner):
    """The margin of a built-in objective's ``base_score`` (float64 from its float32 value), one per class."""
    text = learner["learner_model_param"]["base_score"]
    values = np.array([float(v) for v in text.strip("[]").split(",")], dtype=np.float64)
    name = learner["objective"]["name"]
    if name in _LOGIT_BASE:
        return np.log(values / (1.0 - values))
    if name in _LOG_BASE:
        return np.log(values)
    return values


def engine_file(booster, init_score, task, n_classes, num_iteration=None, native=False, objective=None):
    """The bytes of an XGBoost JSON model predicting ``predict_raw`` by itself (see the module docstring).

    Parameters
    ----------
    booster : xgboost.Booster
    init_score : float, ndarray of shape (n_classes,) or None
        The start (``base_margin``) to put into the file as a first round of one-leaf trees (None: nothing to
        fold, e.g. a built-in objective, whose file is kept as it is apart from the cut).
    task : {"binary", "regression", "ranking", "multiclass"}
    n_classes : int
    num_iteration : int, optional
        Rounds kept (the best iteration).
    native : bool
        The model was trained with the engine's built-in objective: its file is kept as it is when its objective
        is the twin (and ``objective`` is not given); otherwise the margin of its ``base_score`` is folded like an
        init score (exact for identity-link objectives, float64 ``logit``/``log`` of the float32 base score
        otherwise).
    objective : str, optional
        The objective to write instead of the twin of ``task`` (``reg:squarederror``: the converters' regression
        view of a raw export).
    """
    if num_iteration is not None and num_iteration < booster.num_boosted_rounds():
        booster = booster[: int(num_iteration)]
    model = json.loads(bytes(booster.save_raw(raw_format="json")))
    learner = model["learner"]
    for key in ("best_iteration", "best_score", "best_ntree_limit"):
        learner.get("attributes", {}).pop(key, None)
    if native:
        if objective is None and learner["objective"]["name"] == twin_objective(task, n_classes):
            return json.dumps(model).encode()
        init_score = _base_margin(learner)
    _set_objective(learner, objective or twin_objective(task, n_classes), n_classes)
    if init_score is not None and np.any(np.asarray(init_score) != 0):  # (ranking objectives start from 0)
        gbtree = learner["gradient_booster"]
        gbtree = gbtree["gbtree"] if gbtree.get("name") == "dart" else gbtree
        trees_model = gbtree["model"]
        init = np.atleast_1d(np.asarray(init_score, dtype=np.float64)).astype(np.float32)
        n_features = int(learner["learner_model_param"]["num_feature"])
        stumps = [_stump(k, float(v), n_features) for k, v in enumerate(init)]
        trees = stumps + trees_model["trees"]
        for k, tree in enumerate(trees):
            tree["id"] = k
        k0 = len(stumps)
        trees_model["trees"] = trees
        trees_model["tree_info"] = list(range(k0)) + [int(c) for c in trees_model["tree_info"]]
        trees_model["iteration_indptr"] = [0] + [int(i) + k0 for i in trees_model["iteration_indptr"]]
        trees_model["gbtree_model_param"]["num_trees"] = str(len(trees))
        if gbtree is not learner["gradient_booster"]:  # dart: one weight per tree
            learner["gradient_booster"]["weight_drop"] = [1.0] * k0 + learner["gradient_booster"]["weight_drop"]
    return json.dumps(model).encode()


def file_objective(data):
    """The objective named in the XGBoost JSON model ``data``."""
    return json.loads(bytes(data))["learner"]["objective"]["name"]


def split_points(booster, n_features):
    """The split conditions of each feature over all trees of ``booster``: a list of ``n_features`` arrays."""
    points = [[] for _ in range(n_features)]
    gbtree = json.loads(bytes(booster.save_raw(raw_format="json")))["learner"]["gradient_booster"]
    gbtree = gbtree["gbtree"] if gbtree.get("name") == "dart" else gbtree
    for tree in gbtree["model"]["trees"]:
        for left, feature, value in zip(tree["left_children"], tree["split_indices"], tree["split_conditions"]):
            if left != -1:
                points[int(feature)].append(float(value))
    return [np.asarray(p, dtype=np.float64) for p in points]


def _with_objective(data, name):
    model = json.loads(bytes(data))
    n_classes = int(model["learner"]["learner_model_param"].get("num_class", "0") or 0)
    _set_objective(model["learner"], name, n_classes)
    return json.dumps(model).encode()


def to_onnx(data, output, task, n_classes, n_features):
    """ONNX bytes of the XGBoost JSON model ``data`` (from :func:`engine_file`) by onnxmltools, and the name of the
    ONNX output holding the scores.

    onnxmltools reads a Booster's objective to choose classifier or regressor and reads ``base_score`` in its own
    way; a ranking objective (``rank:*``) is taken for a classifier, whose outputs are unrelated to the scores.
    Every single-score model of raw scores (and every ranking or regression model) is therefore converted
    through its ``reg:squarederror`` view with a zero ``base_score`` (the scores are the trees' sum); binary
    probabilities through ``binary:logistic``; multiclass through ``multi:softprob``, with the softmax removed
    (``post_transform="NONE"``) for raw scores. A model of ``K`` raw outputs that is no classifier
    (``multi_quantile``) converts, raw only, through its ``multi:softprob`` view (zero ``base_score``, K entries) as
    an ``XGBClassifier`` (:func:`_classifier_onnx`), softmax removed: its regressor view would sum every tree into
    one output.
    """
    import onnxmltools
    from onnxmltools.convert.common.data_types import FloatTensorType

    if k_outputs(task, n_classes):
        check_raw_only(output, n_classes)
        return finish_onnx(_classifier_onnx(_with_objective(data, "multi:softprob"), n_features), output,
                           "multiclass")
    if task != "multiclass" and (output == "raw" or task in ("regression", "ranking")):
        data = _with_objective(data, "reg:squarederror")
    booster = booster_from_bytes(data)
    booster.feature_names = None  # onnxmltools addresses features as f0, f1, ...
    model = onnxmltools.convert_xgboost(booster, initial_types=[("input", FloatTensorType([None, n_features]))])
    return finish_onnx(model, output, task)


def _classifier_onnx(data, n_features):
    """onnxmltools' classifier conversion of the ``multi:softprob`` model ``data`` (K trees per round): a
    ``TreeEnsembleClassifier`` giving tree ``t`` to class ``t % K``, with ``base_values`` the K entries of the
    file's ``base_score`` (zeros: :func:`engine_file` folds the start into stumps).

    Given a plain Booster, onnxmltools guesses classifier or regressor from the trees' covers and takes integer
    covers (unit hessians, e.g. ``multi_quantile``'s per-output pinball gradients) for a regressor of one target,
    with K base values onnxruntime refuses and every tree summed into one output; an ``XGBClassifier`` holding the
    model is converted as the classifier it is."""
    import onnxmltools
    import xgboost as xgb
    from onnxmltools.convert.common.data_types import FloatTensorType

    classifier = xgb.XGBClassifier(objective="multi:softprob")
    classifier.load_model(bytearray(data))
    classifier.get_booster().feature_names = None  # onnxmltools addresses features as f0, f1, ...
    return onnxmltools.convert_xgboost(classifier, initial_types=[("input", FloatTensorType([None, n_features]))])


def to_treelite(data, output, task, n_classes):
    """Treelite checkpoint bytes of the XGBoost JSON model ``data``; ``output="raw"`` sets the identity
    postprocessor, so ``treelite.gtil.predict`` returns raw scores. (Treelite's XGBoost loader reads a model of
    ``K`` raw outputs under ``reg:squarederror``, ``multi_quantile``'s file, as ``K`` targets: raw only.)"""
    import treelite

    if k_outputs(task, n_classes):
        check_raw_only(output, n_classes)
    model = treelite.frontend.from_xgboost_json(bytes(data).decode())
    if output == "raw":
        model.get_header_accessor().set_field("postprocessor", "identity")
    return model.serialize_bytes()


def json_dump(data):
    """The ``get_dump(dump_format="json")`` trees (bytes of one JSON list) of the XGBoost model file ``data``, the
    form learning-to-rank plugins read. The dump holds no ``base_score``: :func:`engine_file`'s margin is 0, so the
    trees' sum is the raw score."""
    booster = booster_from_bytes(data)
    booster.feature_names = None
    return ("[" + ",".join(booster.get_dump(dump_format="json")) + "]").encode()


def _tree_arrays(node, arrays):
    """Index nodes by ``nodeid``: (feature, threshold, yes, no, missing, leaf value, is leaf)."""
    feature, threshold, yes, no, missing, leaf, is_leaf = arrays
    i = int(node["nodeid"])
    for array in arrays:
        while len(array) <= i:
            array.append(0)
    if "leaf" in node:
        leaf[i], is_leaf[i] = float(node["leaf"]), True
        return
    feature[i] = int(str(node["split"]).lstrip("f"))
    threshold[i] = float(node["split_condition"])
    yes[i], no[i], missing[i] = int(node["yes"]), int(node["no"]), int(node["missing"])
    for child in node["children"]:
        _tree_arrays(child, arrays)


def predict_dump(dump, X, n_classes=1):
    """Raw scores of ``X`` from a ``get_dump`` JSON list (bytes or list), evaluated with NumPy as XGBoost does: in
    float32, ``x < split_condition`` goes to ``yes``, a missing value to ``missing``; tree ``t`` adds to class
    ``t % n_classes``. Shape (n,) or (n, n_classes)."""
    trees = json.loads(dump) if isinstance(dump, (bytes, str)) else dump
    X = np.asarray(X, dtype=np.float32)
    out = np.zeros((X.shape[0], n_classes), dtype=np.float32)
    rows = np.arange(X.shape[0])
    for t, tree in enumerate(trees):
        arrays = ([], [], [], [], [], [], [])
        _tree_arrays(tree, arrays)
        feature, yes, no, missing = (np.asarray(arrays[i], dtype=np.int64) for i in (0, 2, 3, 4))
        threshold, leaf = np.asarray(arrays[1], dtype=np.float32), np.asarray(arrays[5], dtype=np.float32)
        is_leaf = np.asarray(arrays[6], dtype=bool)
        node = np.zeros(X.shape[0], dtype=np.int64)
        while not is_leaf[node].all():
            at = ~is_leaf[node]
            k = node[at]
            x = X[rows[at], feature[k]]
            node[at] = np.where(np.isnan(x), missing[k], np.where(x < threshold[k], yes[k], no[k]))
        out[:, t % n_classes] += leaf[node]
    return out[:, 0] if n_classes == 1 else out


#: A script run by ``python -c`` that reads the model file with a fresh XGBoost Booster and never imports
#: gbm_objectives: ``argv = [model file, X.npy, output.npz]``; writes ``raw`` and ``transformed`` predictions.
RELOAD_SCRIPT = """
import sys
import numpy as np
import xgboost as xgb
model, rows, out = sys.argv[1:4]
booster = xgb.Booster(model_file=model)
data = xgb.DMatrix(np.load(rows))
raw = booster.predict(data, output_margin=True)
transformed = booster.predict(data)
assert "gbm_objectives" not in sys.modules
np.savez(out, raw=raw, transformed=transformed, version=xgb.__version__)
"""
