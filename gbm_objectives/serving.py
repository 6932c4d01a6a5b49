"""Verified export: a model trained here leaves the package as a file that predicts the same, or not at all.

:func:`export` writes a model (a :class:`~gbm_objectives.TrainResult` or a model folder of
:func:`~gbm_objectives.save_model`, any format version) for a consumer outside this package:

============  ====================================  =====================================================
format        file                                  consumer that verifies it
============  ====================================  =====================================================
onnx          ONNX model (onnxmltools)              ``onnxruntime.InferenceSession``
treelite      Treelite checkpoint                   ``treelite.gtil.predict`` (reference predictor)
lightgbm      LightGBM text model                   a fresh ``lightgbm.Booster`` in a subprocess
xgboost-json  XGBoost JSON model                    a fresh ``xgboost.Booster`` in a subprocess
json-dump     the engine's JSON tree dump           a NumPy evaluator of the dumped trees
============  ====================================  =====================================================

The file alone predicts :meth:`~gbm_objectives.TrainResult.predict_raw`: the init score is folded into the trees
(LightGBM: added to the leaves of each class's first tree; XGBoost: a first round of one-leaf trees on a zero
``base_score`` margin, see :mod:`gbm_objectives.adapters.xgboost_export`) and the objective is the engine's
built-in with the same link (``binary sigmoid:1`` / ``binary:logistic``, ``regression`` / ``reg:squarederror``,
``lambdarank`` / ``rank:ndcg``, ``multiclass num_class:K`` / ``multi:softprob``). ``output="transformed"`` makes
the ONNX and Treelite files return :meth:`~gbm_objectives.TrainResult.predict` (probabilities, class
probabilities, values); the engine files give both (``raw_score=True`` / ``output_margin=True`` for raw); a
``json-dump`` holds trees only and always gives raw scores (the report says so), as does an objective whose link
has no built-in twin, in every format (the report's note says what a consumer applies; an engine file's own
``predict`` is then its identity twin's, the raw scores, and is not compared with ``predict``).

A model of ``K`` raw outputs that is no classifier (``multi_quantile``: ``num_class=K``, ``K`` trees per round, the
engines' multiclass layout) exports its ``K`` raw outputs, init score included (shape ``(n, K)``; engine files under
``regression`` / ``reg:squarederror``). Its link sorts the outputs and has no twin in any format: the quantiles are
``go.cumulative_softplus(raw, scale=S)`` with the model's ``S = result.objective.scale``, which the report's note
prints as a number. onnxmltools (both engines) and Treelite's LightGBM loader take that layout only from a
multiclass model: they read a copy labelled ``multiclass num_class:K`` / ``multi:softprob`` (zero base score) and
are asked for its raw margins (ONNX ``post_transform="NONE"``, Treelite ``identity_multiclass``); the XGBoost copy
converts as an ``XGBClassifier`` (onnxmltools takes a Booster with whole-number covers, unit hessians, for a
one-target regressor). A two-class ONNX classifier gets its ``base_values`` folded into the leaves (onnxruntime
reads two base values as a binary model).

Every export is verified before it is written: the file is read back by its consumer and its predictions on the
``verify`` rows are compared with ``predict_raw`` (and ``predict`` for transformed output). A difference above the
tolerance (:data:`TOLERANCE`, ``|a - b| <= tol * (1 + |b|)``: 1e-12 for float64 consumers, 1e-5 for float32 ones)
raises :class:`ExportVerificationError` and nothing is written; a passing file is written atomically.

>>> import tempfile, numpy as np, gbm_objectives as go
>>> X = np.random.default_rng(0).normal(size=(200, 3)); y = (X[:, 0] > 0).astype(float)
>>> res = go.train("focal", X, y, num_boost_round=5, n_jobs=1)
>>> with tempfile.TemporaryDirectory() as d:
...     report = go.export(res, d + "/model.txt", format="lightgbm", verify=X)
>>> report.passed, report.max_diff["raw"] <= 1e-12
(True, True)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import special

from ._core.files import atomic_write_bytes
from .adapters import EXPORT_BACKENDS, get_backend
from .model_io import load_model
from .objectives import MultiQuantileLoss
from .training import NativeObjective, TrainResult

__all__ = ["export", "ExportReport", "ExportVerificationError", "FORMATS", "OUTPUTS", "TOLERANCE"]

#: format -> (consumer, float precision of its predictions, backend it needs or None for both)
FORMATS = {
    "onnx": ("onnxruntime", "float32", None),
    "treelite": ("treelite.gtil", "float32", None),
    "lightgbm": ("lightgbm.Booster (subprocess)", "float64", "lightgbm"),
    "xgboost-json": ("xgboost.Booster (subprocess)", "float32", "xgboost"),
    "json-dump": ("tree evaluator of the dump", None, None),
}
OUTPUTS = ("raw", "transformed")
#: relative tolerance of a consumer's predictions by their float precision: |a - b| <= tol * (1 + |b|)
TOLERANCE = {"float64": 1e-12, "float32": 1e-5}
#: rows drawn across the model's split points when no ``verify`` rows are given
SYNTHETIC_ROWS = 512


class ExportVerificationError(ValueError):
    """The exported file does not predict what the model predicts (its :class:`ExportReport` is ``report``);
    nothing was written."""

    def __init__(self, message, report):
        super().__init__(message)
        self.report = report


class ExportReport:
    """What :func:`export` wrote and how it was verified.

    Attributes
    ----------
    path : str
    format, output : str
        ``output`` is what the file returns ("raw" or "transformed"); ``requested`` what was asked.
    backend, objective, engine_objective : str
        ``engine_objective`` is the built-in objective written into the file.
    consumer : str
        What read the file back.
    n_rows : int
        Rows compared; ``rows`` says where they came from ("verify" or "synthetic": drawn across the split points).
    max_diff : dict
        ``{"raw": ..., "transformed": ...}``: the largest ``|exported - predict_raw|`` / ``|exported - predict|``
        over the rows (the entries that were checked).
    tolerance : dict
        The tolerance of each checked entry (relative: ``|a - b| <= tol * (1 + |b|)``).
    passed : bool
    notes : list of str
    export_seconds, verify_seconds : float
    """

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def to_dict(self):
        """The report as a JSON-able dict."""
        return dict(self.__dict__)

    def lines(self):
        """The report as lines of text (what the CLI prints)."""
        out = [f"export {self.format} ({self.output} scores) -> {self.path}",
               f"  model: {self.backend} {self.objective}; file objective {self.engine_objective}",
               f"  verified by {self.consumer} on {self.n_rows} {self.rows} rows: "
               + ", ".join(f"max |diff| {key} {value:.3g} (tolerance {self.tolerance[key]:g})"
                           for key, value in self.max_diff.items()),
               f"  {'passed' if self.passed else 'FAILED'}; export {self.export_seconds:.2f} s, "
               f"verification {self.verify_seconds:.2f} s"]
        out += [f"  note: {note}" for note in self.notes]
        return out

    def __repr__(self):
        return "\n".join(self.lines())


def _twin_transform(task):
    if task == "binary":
        return special.expit
    if task == "multiclass":
        return lambda raw: special.softmax(raw, axis=1)
    return lambda raw: np.asarray(raw, dtype=np.float64)


def _has_twin(objective, n_classes):
    """Whether the objective's link is the built-in twin's (sigmoid, softmax or identity), checked on a probe (of
    ``n_classes`` columns for a model of several outputs, a classifier or not)."""
    probe = np.linspace(-30.0, 30.0, 61)
    if n_classes > 1:
        probe = np.stack([np.roll(probe, k) for k in range(n_classes)], axis=1)
    ours = np.asarray(objective.transform(probe), dtype=np.float64)
    twin = _twin_transform(objective.task)(probe)
    return ours.shape == twin.shape and bool(np.allclose(ours, twin, rtol=1e-13, atol=0.0))


def _consumer_link(objective):
    """What a consumer of the raw scores of ``objective`` (a link with no built-in twin) applies to them."""
    if isinstance(objective, MultiQuantileLoss):
        if len(objective.alphas) == 1:
            return f"the raw score is the quantile of level {objective.alphas[0]!r}"
        scale = repr(objective.scale if objective.scale == "auto" else float(objective.scale))
        return (f"the quantiles (levels {', '.join(repr(a) for a in objective.alphas)}) are "
                f"go.cumulative_softplus(raw, scale={scale}), raw of shape (n_samples, {len(objective.alphas)})")
    return f"apply the objective's transform ({type(objective).__name__}.transform) to them"


def _synthetic_rows(result, exporter, n_features):
    """Rows whose features are drawn around every split point of the model (each side of each threshold)."""
    rng = np.random.default_rng(0)
    points = exporter.split_points(result.booster, n_features)
    X = np.zeros((SYNTHETIC_ROWS, n_features))
    for j, values in enumerate(points):
        if len(values) == 0:
            continue
        values = np.unique(values)
        gaps = np.diff(values)
        width = max(float(np.max(gaps)) if len(gaps) else 0.0, 1.0)
        edges = np.concatenate(([values[0] - width], values, [values[-1] + width]))
        cell = rng.integers(0, len(edges) - 1, SYNTHETIC_ROWS)
        X[:, j] = edges[cell] + rng.uniform(0.05, 0.95, SYNTHETIC_ROWS) * (edges[cell + 1] - edges[cell])
    return X


def _close(a, b, tol):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return np.inf, False
    diff = np.abs(a - b)
    worst = float(np.max(diff)) if diff.size else 0.0
    return worst, bool(np.all(diff <= tol * (1.0 + np.abs(b))))


def _run_onnx(path, X):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # onnxmltools' classifiers declare a label shape ORT warns about
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return {o.name: v for o, v in zip(session.get_outputs(),
                                      session.run(None, {session.get_inputs()[0].name: X.astype(np.float32)}))}


def _run_treelite(path, X):
    import treelite

    model = treelite.Model.deserialize(str(path))
    return treelite.gtil.predict(model, X.astype(np.float32), nthread=1)


def _run_engine(exporter, path, X, folder):
    rows, out = Path(folder) / "rows.npy", Path(folder) / "predictions.npz"
    np.save(rows, X)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", exporter.RELOAD_SCRIPT, str(path), str(rows), str(out)],
                          capture_output=True, text=True, env=env, timeout=600)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise RuntimeError(f"the fresh engine process could not read the exported file: {tail}")
    with np.load(out) as saved:
        return {"raw": saved["raw"], "transformed": saved["transformed"]}


def _scores(values, task, n_rows, transformed):
    """A consumer's output as (n,) or (n, K): probabilities of the positive class for a binary classifier."""
    values = np.asarray(values, dtype=np.float64).reshape(n_rows, -1)
    if task == "binary" and transformed and values.shape[1] == 2:
        return values[:, 1]
    return values[:, 0] if values.shape[1] == 1 else values


def _check_arguments(result_or_model_dir, path, format, output, verify):
    if format not in FORMATS:
        raise ValueError(f"format must be one of {sorted(FORMATS)}; got {format!r}")
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {list(OUTPUTS)}; got {output!r}")
    if isinstance(result_or_model_dir, TrainResult):
        result = result_or_model_dir
    elif isinstance(result_or_model_dir, (str, os.PathLike)):
        result = load_model(result_or_model_dir)
    else:
        raise TypeError(f"result_or_model_dir must be a TrainResult or a model folder; got "
                        f"{type(result_or_model_dir).__name__}")
    needs = FORMATS[format][2]
    if needs is not None and needs != result.backend:
        raise ValueError(f"format {format!r} is a {needs} model file; this model was trained with {result.backend} "
                         f"(use format 'onnx', 'treelite', 'json-dump' or "
                         f"{'lightgbm' if result.backend == 'lightgbm' else 'xgboost-json'!r})")
    if Path(path).is_dir():
        raise ValueError(f"path: {str(path)!r} is a folder; export writes one file")
    if verify is not None:
        verify = np.asarray(verify, dtype=np.float64)
        if verify.ndim != 2 or verify.shape[0] == 0:
            raise ValueError(f"verify must be a non-empty 2-d array of rows; got shape {verify.shape}")
        n_features = get_backend(result.backend).num_features(result.booster)
        if verify.shape[1] != n_features:
            raise ValueError(f"verify has {verify.shape[1]} columns but the model has {n_features} features")
    return result, verify


def export(result_or_model_dir, path, format="onnx", output="raw", verify=None):
    """Write the model for ``format``'s consumer, verified by that consumer; returns an :class:`ExportReport`.

    Parameters
    ----------
    result_or_model_dir : TrainResult or str or Path
        A trained model, or a folder written by :func:`~gbm_objectives.save_model` / ``gbm-objectives train``
        (format 1, 2 or 3).
    path : str or Path
        The file to write (replaced atomically; nothing is written when verification fails).
    format : {"onnx", "treelite", "lightgbm", "xgboost-json", "json-dump"}
        See the module docstring; "lightgbm" and "xgboost-json" need a model of that engine.
    output : {"raw", "transformed"}
        What the ONNX / Treelite file returns: raw scores (``predict_raw``) or the objective's transform
        (``predict``) through the built-in twin's link. An engine file gives both; a json-dump, and a model whose
        link has no built-in twin, raw scores only (the report's ``notes`` say so and name the transform: for
        ``multi_quantile``, ``go.cumulative_softplus(raw, scale=<the model's scale>)`` of the ``(n, K)`` raw
        outputs).
    verify : array of shape (n_rows, n_features), optional
        Rows to compare the exported file's predictions on. Default: 512 rows drawn on each side of every split
        threshold of the model.

    Raises
    ------
    ExportVerificationError
        The consumer's predictions differ from the model's by more than the tolerance; nothing was written.
    ValueError, TypeError
        A bad argument (the message names it); a format of the other engine.
    ImportError
        onnxmltools / onnxruntime / treelite missing for "onnx" / "treelite" (``pip install gbm_objectives[export]``).
    """
    result, verify = _check_arguments(result_or_model_dir, path, format, output, verify)
    exporter = EXPORT_BACKENDS[result.backend]
    objective = result.objective
    native = isinstance(objective, NativeObjective)
    reference = objective.reference if native else objective
    task, n_classes = reference.task, int(reference.n_classes or 1)
    n_features = get_backend(result.backend).num_features(result.booster)
    notes = []
    written = output
    twin = _has_twin(reference, n_classes)
    if not twin:
        written = "raw"
        notes.append(f"objective {reference.name!r} has a link with no built-in twin: raw scores exported; "
                     + _consumer_link(reference))
    elif format == "json-dump" and output == "transformed":
        written = "raw"
        notes.append("a json-dump holds the trees only: it gives raw scores; apply the objective's link "
                     f"({exporter.twin_objective(task, n_classes)}) yourself")
    if n_classes > 1 and task != "multiclass" and format in exporter.MULTICLASS_VIEW:
        notes.append(f"the converter read a copy of the model labelled multiclass ({n_classes} outputs, the engine's "
                     "multiclass layout) and gives its raw margins (no softmax)")
    start = time.perf_counter()
    engine_native = native and format in ("lightgbm", "xgboost-json")
    data = exporter.engine_file(result.booster, result.init_score, task, n_classes, result.best_iteration,
                                native=native, objective=None if engine_native or not native
                                else exporter.twin_objective(task, n_classes))
    engine_objective = exporter.file_objective(data)
    score_output = None
    if format == "onnx":
        data, score_output = exporter.to_onnx(data, written, task, n_classes, n_features)
    elif format == "treelite":
        data = exporter.to_treelite(data, written, task, n_classes)
    elif format == "json-dump":
        data = exporter.json_dump(data)
    export_seconds = time.perf_counter() - start

    X = verify if verify is not None else _synthetic_rows(result, exporter, n_features)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gbm-objectives-export-") as folder:
        staged = Path(folder) / Path(path).name
        staged.write_bytes(data)
        got = _consume(format, exporter, staged, X, folder, task, n_classes, written, score_output)
    if not twin:
        # an engine file's predict() applies the identity-link twin of its header, not this objective's link
        got.pop("transformed", None)
    verify_seconds = time.perf_counter() - start
    precision = FORMATS[format][1] or ("float64" if result.backend == "lightgbm" else "float32")
    expected = {"raw": result.predict_raw(X), "transformed": result.predict(X)}
    max_diff, tolerance, passed = {}, {}, True
    for key, values in got.items():
        tol = TOLERANCE[precision]
        if format == "xgboost-json" and key == "raw":
            tol = TOLERANCE["float64"]  # the same float32 sums as predict_raw: exact
            # (XGBoost's own link is evaluated in float32: transformed output is compared at float32 precision)
        max_diff[key], ok = _close(values, expected[key], tol)
        tolerance[key] = tol
        passed &= ok
    report = ExportReport(path=str(path), format=format, requested=output, output=written, backend=result.backend,
                          objective=objective.name, engine_objective=engine_objective, consumer=FORMATS[format][0],
                          n_rows=int(X.shape[0]), rows="verify" if verify is not None else "synthetic",
                          max_diff=max_diff, tolerance=tolerance, passed=passed, notes=notes,
                          export_seconds=export_seconds, verify_seconds=verify_seconds)
    if not passed:
        worst = max(max_diff, key=lambda k: max_diff[k] / tolerance[k])
        raise ExportVerificationError(
            f"export to {format} refused: {FORMATS[format][0]} predicts {worst} scores that differ from the "
            f"model's by up to {max_diff[worst]:.3g} (tolerance {tolerance[worst]:g}); nothing was written to "
            f"{str(path)!r}", report)
    atomic_write_bytes(path, data)
    return report


def _consume(format, exporter, staged, X, folder, task, n_classes, written, score_output):
    """The predictions of ``format``'s consumer reading ``staged``: ``{"raw": ..., "transformed": ...}``, the
    entries that file gives."""
    n = X.shape[0]
    if format == "onnx":
        return {written: _scores(_run_onnx(staged, X)[score_output], task, n, written == "transformed")}
    if format == "treelite":
        return {written: _scores(_run_treelite(staged, X), task, n, written == "transformed")}
    if format == "json-dump":
        return {"raw": _scores(exporter.predict_dump(staged.read_bytes(), X, n_classes), task, n, False)}
    got = _run_engine(exporter, staged, X, folder)
    return {key: _scores(values, task, n, False) for key, values in got.items()}
