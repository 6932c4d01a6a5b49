"""Engine-independent plumbing shared by the adapters: the per-training-set cache, float32 buffers, kernel threads,
parameter spellings, feature widths and the parameters that name features."""

from __future__ import annotations

import contextlib
import numbers
import re
import weakref

import numpy as np

from ..objectives import get_objective
from . import ParameterError


@contextlib.contextmanager
def numba_threads(n_jobs):
    """Run this package's kernels on ``n_jobs`` threads (restored afterwards); ``None``: numba's default."""
    if n_jobs is None or int(n_jobs) < 1:
        yield
        return
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(n_jobs), numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(before)


class CachedObjective:
    """Holds an objective, the validated training set it was last called on, and reusable output buffers.

    Labels, weights and groups are validated once per training-set object (held by weak reference), not on
    every boosting round. Gradients are written straight into float32 buffers, the type both engines consume.
    """

    def __init__(self, objective, prepared=None):
        self.objective = get_objective(objective)
        self._ref = None
        self._extra = ()
        self._prepared = None
        self._buffers = None
        # a training set prepared ahead (gbm_objectives.train with position=): used for every call, never re-read
        self._fixed = prepared

    def _prepared_for(self, key, read, extra=()):
        """``read()`` returns (y, weight, group); it is called only when ``key`` (with the identities in ``extra``)
        is a new training set."""
        if self._fixed is not None:
            return self._fixed
        extra = tuple(id(x) for x in extra)
        if self._ref is None or self._ref() is not key or self._extra != extra:
            y, weight, group = read()
            self._prepared = self.objective.prepare(y, sample_weight=weight, group=group)
            try:
                self._ref = weakref.ref(key)
            except TypeError:  # not weak-referenceable (e.g. a list): validate on every call
                self._ref = None
            self._buffers = None
            self._extra = extra
        return self._prepared

    def compute(self, key, read, raw_score, extra=()):
        prepared = self._prepared_for(key, read, extra)
        raw = np.asarray(raw_score)
        if self._buffers is None or self._buffers[0].shape != raw.shape:
            # (n, k) buffers are Fortran-ordered (one contiguous column a class): what LightGBM reads, what the
            # multiclass kernels write fastest; XGBoost reads any strides through the array interface
            self._buffers = (np.empty(raw.shape, np.float32, order="F"), np.empty(raw.shape, np.float32, order="F"))
        return self.objective.grad_hess_prepared(prepared, raw, grad_out=self._buffers[0], hess_out=self._buffers[1])

    def __repr__(self):
        return f"{type(self).__name__}({self.objective!r})"

    def __getstate__(self):
        return {"objective": self.objective}

    def __setstate__(self, state):
        self.__init__(state["objective"])

    def __deepcopy__(self, memo):
        # lgb.train deep-copies its params: the copy shares a training set prepared ahead, whose learned state
        # (position biases) the caller reads after training
        import copy

        return type(self)(copy.deepcopy(self.objective, memo), self._fixed)


class RenewedObjective:
    """Mixin before a quantile objective class: its gradients use the exact (renewed) training score a leaf-renewal
    callback keeps (``self._renewal._training_score(prepared, raw_score)``), not the engine's stale one."""

    _renewal = None

    def grad_hess_prepared(self, prepared, raw_score, *, grad_out=None, hess_out=None):
        score = raw_score if self._renewal is None else self._renewal._training_score(prepared, raw_score)
        return super().grad_hess_prepared(prepared, score, grad_out=grad_out, hess_out=hess_out)

    def __deepcopy__(self, memo):  # the engines deep-copy their params: keep the link to the live renewal
        return self

    def __reduce__(self):  # pickles as the plain objective (the renewal state belongs to one training run)
        base = type(self).__mro__[2]  # the objective class after this mixin
        return (base, tuple(self.get_params().values()))


def constant_score_array(init, n_rows):
    """A constant start (scalar, or per-class vector of shape (k,)) repeated for ``n_rows`` rows: the shape of
    LightGBM's Dataset ``init_score`` and of XGBoost's DMatrix ``base_margin``."""
    init = np.asarray(init, dtype=np.float64)
    if init.ndim == 0:
        return np.full(n_rows, float(init))
    return np.tile(init, (n_rows, 1))


def empty_to_none(a):
    return None if a is None or len(a) == 0 else a


# ---- engine parameter names: one canonical spelling per parameter ---------------------------------------------
def alias_lookup(table):
    """``{spelling: canonical name}`` of every spelling in an alias table ``{canonical: (canonical, *aliases)}``."""
    lookup = {}
    for canonical, aliases in table.items():
        for name in (canonical, *aliases):
            lookup.setdefault(name, canonical)
    return lookup


def rename_params(params, lookup, engine):
    """``(renamed, spelled)``: ``params`` with every alias renamed to its canonical name (``lookup``, from
    :func:`alias_lookup`; a name the engine does not know is kept as it is, for the engine's own check), and
    ``{canonical: the key the caller used}``.

    Two spellings of one parameter are a :class:`~gbm_objectives.adapters.ParameterError` naming both: the engine
    would silently keep one of them (LightGBM the canonical name, XGBoost the field over its alias).
    """
    renamed, spelled = {}, {}
    for key, value in (params or {}).items():
        if not isinstance(key, str):
            raise TypeError(f"params keys must be {engine} parameter names (str); got {key!r}")
        name = lookup.get(key, key)
        if name in spelled:
            raise ParameterError(f"params[{spelled[name]!r}] and params[{key!r}] are two spellings of the {engine} "
                                 f"parameter {name!r}; give it once")
        renamed[name], spelled[name] = value, key
    return renamed, spelled


def check_learning_rate(params, spelled):
    """A :class:`~gbm_objectives.adapters.ParameterError` naming the key the caller used unless
    ``params["learning_rate"]`` (if set) is a finite number > 0: the engines accept ``inf`` (and XGBoost ``nan`` and
    0), then train a model of infinite or not-a-number scores, or one that never moves."""
    if "learning_rate" not in params:
        return
    value = params["learning_rate"]
    key = spelled.get("learning_rate", "learning_rate")
    rate = None
    if not isinstance(value, (bool, np.bool_)) and isinstance(value, (numbers.Real, str)):
        try:
            rate = float(value)
        except ValueError:
            rate = None
    if rate is None or not np.isfinite(rate) or rate <= 0:
        alias = "" if key == "learning_rate" else " (the learning rate)"
        raise ParameterError(f"params[{key!r}]{alias} must be a finite number > 0; got {value!r}")


def check_width(n_features, X, name="X"):
    """ValueError unless ``X`` has ``n_features`` columns: the engines would predict (XGBoost) or train an
    evaluation set (both) on the wrong columns, or fail in their own words."""
    shape = getattr(X, "shape", None)
    if shape is None:
        shape = np.shape(X)
    if len(shape) == 2 and int(shape[1]) != int(n_features):
        raise ValueError(f"{name} has {int(shape[1])} features (columns) but the model was trained on "
                         f"{int(n_features)}")


def k_outputs(task, n_classes):
    """Whether a model of ``task`` with ``n_classes`` outputs has ``K > 1`` raw outputs per row but is no
    classifier (``multi_quantile``: the engines' multiclass layout, ``K`` trees per round, without a softmax).
    The converters that know the multiclass layout only under a multiclass objective are given a copy labelled
    multiclass and asked for its raw margins."""
    return task != "multiclass" and int(n_classes or 1) > 1


def check_raw_only(output, n_classes):
    """ValueError unless ``output`` is ``"raw"``: a converter's multiclass view of a model of ``K`` raw outputs
    that is no classifier has no built-in link to give (its only transform would be a softmax)."""
    if output != "raw":
        raise ValueError(f"output must be 'raw' for a model of {n_classes} raw outputs that is no classifier; got "
                         f"{output!r}")


def finish_onnx(model, output, task):
    """An onnxmltools model as bytes and the name of its score output; for raw scores of a multiclass classifier,
    its softmax removed (``post_transform="NONE"``); the ``base_values`` of a two-class multiclass classifier
    folded into its leaves (:func:`fold_two_class_base`). Binary and multiclass classifiers give their
    probabilities (last output), regressors their ``variable`` (first output)."""
    for node in model.graph.node:
        if node.op_type == "TreeEnsembleClassifier" and task == "multiclass":
            fold_two_class_base(node)
        if node.op_type == "TreeEnsembleClassifier" and output == "raw":
            for attribute in node.attribute:
                if attribute.name == "post_transform":
                    attribute.s = b"NONE"
    names = [o.name for o in model.graph.output]
    score = names[-1] if task in ("binary", "multiclass") and (output == "transformed" or task == "multiclass") \
        else names[0]
    return model.SerializeToString(), score


def fold_two_class_base(node):
    """Move the ``base_values`` of a ``TreeEnsembleClassifier`` of two classes with trees of both (the multiclass
    layout, K = 2) into the leaves of each class's first tree, and remove them.

    The ONNX specification adds ``base_values[k]`` to class ``k``'s score, but onnxruntime reads two base values
    with both classes scored as a binary model: class 1 becomes ``base_values[1] + score_0`` and class 0 its
    negation, whatever the trees of class 1 say (its ``TreeAggregatorClassifier``). onnxmltools writes the K entries
    of XGBoost 3's vector ``base_score`` there. Without base values onnxruntime keeps both sums as they are (the
    "binary as multiclass" case), so each base value is added to the leaf weights of the first tree of its class,
    in float32 as the weights are stored (within float32 rounding of adding it to the sum)."""
    attributes = {a.name: a for a in node.attribute}
    if "base_values" not in attributes or "class_ids" not in attributes:
        return
    base = list(attributes["base_values"].floats)
    class_ids, tree_ids = list(attributes["class_ids"].ints), list(attributes["class_treeids"].ints)
    if len(base) != 2 or set(class_ids) != {0, 1}:
        return
    weights = attributes["class_weights"].floats
    for k, value in enumerate(base):
        first = min(t for t, c in zip(tree_ids, class_ids) if c == k)
        for i, (t, c) in enumerate(zip(tree_ids, class_ids)):
            if t == first and c == k:
                weights[i] = float(np.float32(weights[i]) + np.float32(value))
    node.attribute.remove(attributes["base_values"])


# ---- engine parameters that name features: checked against the training data ---------------------------------
def plain_scalar(value):
    """A numpy scalar as the Python number it holds (an engine writes ``np.int64(1)`` as text in numpy 2's repr);
    anything else as it is."""
    return value.item() if isinstance(value, np.generic) else value


def is_index(value):
    """Whether ``value`` is an integer (a Python or numpy int, not a bool): a feature index as the engines read it."""
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_))


def bracket_groups(text):
    """The comma-separated items of every innermost ``[...]`` of ``text`` (the text form of interaction
    constraints, ``"[0,1],[2]"`` or ``"[[0, 1], [2]]"``), each stripped: ``[["0", "1"], ["2"]]``."""
    return [[item.strip() for item in group.split(",") if item.strip()]
            for group in re.findall(r"\[([^\[\]]*)\]", text)]


def check_feature_count(key, count, n_features):
    """ParameterError unless the per-feature parameter ``params[key]``, holding ``count`` values, has one value per
    feature of data with ``n_features`` columns (a parameter with no values is not set)."""
    if count and count != n_features:
        raise ParameterError(f"params[{key!r}] has {count} value{'s' if count > 1 else ''} (one per feature) but X "
                             f"has {n_features} features (columns)")


def check_feature_index(key, where, entry, n_features, engine):
    """ParameterError unless ``entry`` (found at ``params[key]{where}``; an int or the text of one) is a 0-based
    column index of data with ``n_features`` columns."""
    if isinstance(entry, str) and re.fullmatch(r"[+-]?\d+(\.0*)?", entry.strip()):
        entry = int(float(entry))
    if isinstance(entry, (float, np.floating)) and np.isfinite(entry) and float(entry).is_integer():
        entry = int(entry)  # 1.0: the engines read a whole number as that index
    if not is_index(entry):
        raise ParameterError(f"params[{key!r}]{where} is {plain_scalar(entry)!r}, not a feature index ({engine} "
                             f"takes 0-based column indices here)")
    if not 0 <= int(entry) < n_features:
        raise ParameterError(f"params[{key!r}]{where} is feature index {int(entry)} but X has {n_features} features "
                             f"(indices 0 to {n_features - 1})")


def check_feature_name(key, where, name, feature_names, instead):
    """ParameterError unless ``name`` (found at ``params[key]{where}``) is one of ``feature_names`` (None: the
    training data has no feature names; the message then proposes ``instead``)."""
    if feature_names is None:
        raise ParameterError(f"params[{key!r}]{where} names the feature {name!r} but X reaches the engine without "
                             f"feature names (a pandas DataFrame given to gbm_objectives.train has them); {instead}")
    if name not in feature_names:
        shown = ", ".join(map(repr, feature_names[:10])) + (", ..." if len(feature_names) > 10 else "")
        raise ParameterError(f"params[{key!r}]{where} names the feature {name!r}, which is not a column of X "
                             f"({len(feature_names)} columns: {shown})")
