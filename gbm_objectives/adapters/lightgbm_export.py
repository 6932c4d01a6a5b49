"""LightGBM model files for serving: the init score folded into the trees, the objective header of the built-in twin.

A model trained with a custom objective is written by LightGBM with ``objective=custom`` in its parameters and no
``objective=`` header line, and its raw score lacks the constant init score (added back by
:meth:`~gbm_objectives.TrainResult.predict_raw`). :func:`engine_file` rewrites the text model so that the file alone
predicts ``predict_raw``:

* ``init_score[k]`` is added to every leaf value of tree ``k`` (the first tree of class ``k``; LightGBM's leaf
  values are float64 in the file and in prediction, so the sum differs from ``predict_raw`` only by the order of
  float64 additions);
* the header gets the built-in objective with the same link (:data:`TWINS`), so LightGBM's own ``predict`` applies
  the transform and converters (onnxmltools, treelite) accept the file;
* ``tree_sizes`` is recomputed for the edited trees.

A model of ``K`` raw outputs that is no classifier (``multi_quantile``: ``num_class=K``) keeps that layout under
the identity twin ``regression``; its converters read a ``multiclass num_class:K`` copy (:data:`MULTICLASS_VIEW`).
The converters (:func:`to_onnx`, :func:`to_treelite`) and :func:`json_dump` read that file; :func:`predict_dump`
evaluates a ``dump_model`` JSON with NumPy (the package's check of a ``json-dump`` export). Engine-independent
orchestration and verification: :mod:`gbm_objectives.serving`.
"""

from __future__ import annotations

import json

import numpy as np

from ._common import check_raw_only, finish_onnx, k_outputs
from .lightgbm import booster_from_bytes

__all__ = ["TWINS", "twin_objective", "file_objective", "split_points", "engine_file", "to_onnx", "to_treelite", "json_dump", "predict_dump",
           "RELOAD_SCRIPT", "MODEL_SUFFIX", "MULTICLASS_VIEW"]

#: task -> LightGBM built-in objective with the same link as this package's objectives of that task
TWINS = {"binary": "binary sigmoid:1", "regression": "regression", "ranking": "lambdarank",
         "multiclass": "multiclass num_class:{n_classes}"}
#: formats whose converter reads a model of K raw outputs that is no classifier (``multi_quantile``) from a copy
#: labelled multiclass, asked for raw margins (onnxmltools and Treelite know the K-output layout only under a multiclass objective)
MULTICLASS_VIEW = ("onnx", "treelite")
#: file name suffix of the engine's own model file
MODEL_SUFFIX = ".txt"


def twin_objective(task, n_classes):
    """The ``objective=`` header of the built-in twin of ``task`` (``multiclass num_class:K`` for K classes)."""
    return TWINS[task].format(n_classes=n_classes)


def _split_trees(text):
    """``(header, [tree blocks], rest)`` of a LightGBM text model, each block exactly as ``tree_sizes`` counts it."""
    head_end = text.index("\n\n") + 2
    header = text[:head_end]
    sizes = [int(s) for s in next(line for line in header.split("\n") if line.startswith("tree_sizes="))
             .split("=", 1)[1].split()]
    blocks, pos = [], head_end
    for size in sizes:
        blocks.append(text[pos:pos + size])
        pos += size
    return header, blocks, text[pos:]


def _fold(block, value):
    """Tree ``block`` with ``value`` added to each of its leaf values."""
    lines = block.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("leaf_value="):
            leaves = np.array(line.split("=", 1)[1].split(), dtype=np.float64) + value
            lines[i] = "leaf_value=" + " ".join(repr(float(v)) for v in leaves)
    return "\n".join(lines)


def _set_header(header, blocks, objective):
    lines = header.rstrip("\n").split("\n")
    lines = [line for line in lines if not line.startswith("objective=")]
    at = next(i for i, line in enumerate(lines) if line.startswith("feature_names="))
    lines.insert(at, f"objective={objective}")
    lines = [f"tree_sizes={' '.join(str(len(b.encode())) for b in blocks)}" if line.startswith("tree_sizes=")
             else line for line in lines]
    return "\n".join(lines) + "\n\n"


def engine_file(booster, init_score, task, n_classes, num_iteration=None, native=False, objective=None):
    """The bytes of a LightGBM text model predicting ``predict_raw`` by itself (see the module docstring).

    Parameters
    ----------
    booster : lightgbm.Booster
    init_score : float, ndarray of shape (n_classes,) or None
        Added to the leaves of the first tree of each class (None: nothing to fold, e.g. a built-in objective).
    task : {"binary", "regression", "ranking", "multiclass"}
    n_classes : int
    num_iteration : int, optional
        Rounds kept (the best iteration).
    native : bool
        The model was trained with the engine's built-in objective: its header is kept.
    objective : str, optional
        The header to write instead of the twin of ``task`` (the converters' regression view of a raw export).
    """
    header, blocks, rest = _split_trees(booster.model_to_string(num_iteration=num_iteration))
    if init_score is not None:
        init = np.atleast_1d(np.asarray(init_score, dtype=np.float64))
        blocks = [_fold(b, init[k]) if k < len(init) else b for k, b in enumerate(blocks)]
    if objective is None:
        objective = _header_objective(header) if native else twin_objective(task, n_classes)
    return _assemble(header, blocks, rest, objective)


def _assemble(header, blocks, rest, objective):
    """The model text with ``objective`` in the header and the parameters section, ``tree_sizes`` recomputed."""
    name = objective.split()[0]
    rest = "\n".join(f"[objective: {name}]" if line.startswith("[objective: ") else line
                     for line in rest.split("\n"))
    return (_set_header(header, blocks, objective) + "".join(blocks) + rest).encode()


def _header_objective(header):
    for line in header.split("\n"):
        if line.startswith("objective="):
            return line.split("=", 1)[1]
    raise ValueError("the LightGBM model file names no objective")


def file_objective(data):
    """The objective named in the header of the LightGBM model file ``data``."""
    return _header_objective(_split_trees(bytes(data).decode())[0])


def split_points(booster, n_features):
    """The split thresholds of each feature over all trees of ``booster``: a list of ``n_features`` arrays."""
    points = [[] for _ in range(n_features)]

    def walk(node):
        if "split_feature" in node:
            if node.get("decision_type", "<=") == "<=":
                points[int(node["split_feature"])].append(float(node["threshold"]))
            walk(node["left_child"])
            walk(node["right_child"])

    for info in booster.dump_model()["tree_info"]:
        walk(info["tree_structure"])
    return [np.asarray(p, dtype=np.float64) for p in points]


def to_onnx(data, output, task, n_classes, n_features):
    """ONNX bytes of the LightGBM model file ``data`` (from :func:`engine_file`) by onnxmltools, and the name of
    the ONNX output holding the scores. ``output="raw"`` converts a single-score model through its ``regression``
    view (no link) and a multiclass one with the classifier's softmax removed (``post_transform="NONE"``).

    A model of ``K > 1`` raw outputs that is no classifier (``multi_quantile``: ``num_class=K`` trees per round
    under a ``regression`` header) is converted through its ``multiclass num_class:K`` view, raw only: onnxmltools
    reads every non-classifier header as one output (all trees summed into it) and gives tree ``t`` to output
    ``t % K`` only for a multiclass one, whose softmax is then removed."""
    import onnxmltools
    from onnxmltools.convert.common.data_types import FloatTensorType

    if k_outputs(task, n_classes):
        check_raw_only(output, n_classes)
        data, task = _with_objective(data, f"multiclass num_class:{n_classes}"), "multiclass"
    elif output == "raw" and task != "multiclass":
        data = _with_objective(data, "regression")
    booster = booster_from_bytes(data)
    model = onnxmltools.convert_lightgbm(booster, initial_types=[("input", FloatTensorType([None, n_features]))],
                                         zipmap=False)
    return finish_onnx(model, output, task)


def _with_objective(data, objective):
    return _assemble(*_split_trees(bytes(data).decode()), objective)


def to_treelite(data, output, task, n_classes):
    """Treelite checkpoint bytes of the LightGBM model file ``data``; ``output="raw"`` sets the identity
    postprocessor, so ``treelite.gtil.predict`` returns raw scores.

    Treelite's LightGBM loader refuses ``num_class > 1`` unless the objective is ``multiclass`` or
    ``multiclassova``: a model of ``K`` raw outputs that is no classifier (``multi_quantile``) is loaded from its
    ``multiclass num_class:K`` view, raw only (postprocessor ``identity_multiclass``: no softmax)."""
    import treelite

    multi = k_outputs(task, n_classes)
    if multi:
        check_raw_only(output, n_classes)
        data = _with_objective(data, f"multiclass num_class:{n_classes}")
    model = treelite.frontend.from_lightgbm(booster_from_bytes(data))
    if output == "raw":
        model.get_header_accessor().set_field("postprocessor", "identity_multiclass" if multi else "identity")
    return model.serialize_bytes()


def json_dump(data):
    """The ``dump_model`` JSON (bytes) of the LightGBM model file ``data``: every tree as nested nodes."""
    return json.dumps(booster_from_bytes(data).dump_model(), allow_nan=False).encode()


def _node_arrays(tree, features, thresholds, defaults, missing, lefts, rights, values):
    """Flatten a ``tree_structure`` into arrays; returns the node's index (leaves: ``-1 - index``)."""
    if "leaf_value" in tree or "split_feature" not in tree:
        values.append(float(tree.get("leaf_value", 0.0)))
        return -len(values)
    if tree.get("decision_type", "<=") != "<=":
        raise ValueError("the dump has a categorical split; predict_dump evaluates numerical splits only")
    k = len(features)
    features.append(int(tree["split_feature"]))
    thresholds.append(float(tree["threshold"]))
    defaults.append(bool(tree["default_left"]))
    missing.append(tree.get("missing_type", "None"))
    lefts.append(0)
    rights.append(0)
    lefts[k] = _node_arrays(tree["left_child"], features, thresholds, defaults, missing, lefts, rights, values)
    rights[k] = _node_arrays(tree["right_child"], features, thresholds, defaults, missing, lefts, rights, values)
    return k


def predict_dump(dump, X, n_classes=1):
    """Raw scores of ``X`` from a LightGBM ``dump_model`` JSON (bytes or dict), evaluated with NumPy in float64 as
    LightGBM does (``x <= threshold`` goes left; a missing value, and a zero where ``missing_type`` is ``Zero``,
    takes the default side). Shape (n,) or (n, num_class); ``n_classes`` is read from the dump itself."""
    model = json.loads(dump) if isinstance(dump, (bytes, str)) else dump
    X = np.asarray(X, dtype=np.float64)
    per_round = int(model["num_tree_per_iteration"])
    out = np.zeros((X.shape[0], per_round))
    rows = np.arange(X.shape[0])
    for info in model["tree_info"]:
        arrays = ([], [], [], [], [], [], [])
        root = _node_arrays(info["tree_structure"], *arrays)
        features, thresholds, defaults, missing, lefts, rights, values = arrays
        node = np.full(X.shape[0], root)
        while (node >= 0).any():
            at = node >= 0
            k = node[at]
            x = X[rows[at], np.asarray(features)[k]]
            kind = np.asarray(missing, dtype=object)[k]
            is_missing = np.where(kind == "NaN", np.isnan(x), np.where(kind == "Zero", np.isnan(x) | (x == 0), False))
            x = np.where(np.isnan(x) & ~is_missing, 0.0, x)
            go_left = np.where(is_missing, np.asarray(defaults)[k], x <= np.asarray(thresholds)[k])
            node[at] = np.where(go_left, np.asarray(lefts)[k], np.asarray(rights)[k])
        out[:, info["tree_index"] % per_round] += np.asarray(values)[-1 - node]
    return out[:, 0] if per_round == 1 else out


#: A script run by ``python -c`` that reads the model file with a fresh LightGBM Booster and never imports
#: gbm_objectives: ``argv = [model file, X.npy, output.npz]``; writes ``raw`` and ``transformed`` predictions.
RELOAD_SCRIPT = """
import sys
import numpy as np
import lightgbm as lgb
model, rows, out = sys.argv[1:4]
booster = lgb.Booster(model_file=model)
X = np.load(rows)
raw = booster.predict(X, raw_score=True)
transformed = booster.predict(X)
assert "gbm_objectives" not in sys.modules
np.savez(out, raw=raw, transformed=transformed, version=lgb.__version__)
"""
