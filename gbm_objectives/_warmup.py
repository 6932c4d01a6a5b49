"""Compile every numba kernel of the package once, so that later processes load them from numba's cache.

Numba compiles a kernel on its first call for each combination of argument types (tens of seconds for the whole
package on a small machine) and, with ``cache=True``, stores the machine code in ``__pycache__`` beside the source
(or under ``$NUMBA_CACHE_DIR``). :func:`warmup` calls every public kernel path on tiny inputs with the argument types
the package and the engine adapters use, so that a fresh process (a CLI run, a test, a worker) loads instead of
compiling:

* every objective of :data:`gbm_objectives.OBJECTIVES` (the ranking ones included), with float64 and float32
  raw scores (LightGBM hands over float64, XGBoost float32; both reach the kernels as float64) and float64 and
  float32 outputs (direct calls; the adapters' buffers), with and without sample weights; both the serial kernels and the parallel ones (which the
  package picks only above a size threshold: the thresholds are set to 0 for the duration of that step);
* :func:`gbm_objectives.metrics.evaluate` with every metric and every convention, and each metric function;
* the LETOR/SVMlight parser (dense and sparse output);
* the TREC run and qrels readers (plain and gzipped) and :func:`gbm_objectives.metrics.evaluate_run` in each of its
  modes (missing queries skipped or zero, judged-only or not), serial and parallel;
* quantile leaf renewal's per-leaf quantiles, a round's renewal, LightGBM's tree walk and its leaves read from
  the training score, XGBoost's tree walk (within the objectives steps).

>>> from gbm_objectives._warmup import warmup
>>> seconds = warmup()                        # doctest: +SKIP
>>> sorted(seconds)                           # doctest: +SKIP
['letor', 'metrics', 'metrics (parallel)', 'objectives (parallel)', 'objectives (serial)', 'total', 'trec runs', 'trec runs (parallel)']
"""

from __future__ import annotations

import contextlib
import inspect
import os
import sys
import tempfile
import time

import numpy as np

__all__ = ["warmup", "package_dispatchers"]

_N = 8
_GROUP = np.array([4, 4])


def _labels(task):
    if task == "binary":
        return np.array([0, 1, 0, 1, 1, 0, 0, 1], dtype=np.float64)
    if task == "multiclass":
        return np.arange(_N, dtype=np.float64) % 3
    if task == "ranking":
        return np.array([0, 1, 2, 0, 1, 0, 3, 2], dtype=np.float64)
    return np.linspace(-1.0, 2.5, _N)


#: registered objectives written in NumPy alone (no kernel to compile; the IPS loss also needs clicks, positions and
#: propensities to be called)
_NOTHING_TO_COMPILE = ("ips_pointwise",)


def _objectives():
    """One instance per registered objective plus the parameter values that select another compiled kernel."""
    from . import objectives
    from .objectives import OBJECTIVES, lambdarank

    out = []
    for cls in OBJECTIVES.values():
        if cls.name in _NOTHING_TO_COMPILE:
            continue
        out.append(cls(n_classes=3) if cls.task == "multiclass" else cls())
    # gamma != 2 takes the general focal kernel (gamma == 2 has its own); every LambdaRank pair weighting, and
    # LightGBM's bitwise emulation
    out.append(objectives.FocalLoss(gamma=1.5))
    out.append(objectives.SoftmaxFocalLoss(n_classes=3, gamma=1.5))
    out += [lambdarank.LambdaRankObjective(metric=m) for m in lambdarank.RANKING_METRICS]
    out += [lambdarank.LambdaRankObjective(metric=m, convention="xgboost") for m in ("ndcg", "none")]  # one kernel
    out.append(lambdarank.LambdaRankObjective(emulate_lightgbm=True))
    out.append(objectives.StochasticRankObjective(metric="err"))  # the cascade kernel (ERR, MRR, pFound)
    return out


def _run_objectives(progress=None):
    for obj in _objectives():
        if progress is not None:
            progress(repr(obj))
        y = _labels(obj.task)
        group = _GROUP if obj.task == "ranking" else None
        shape = (_N,) if obj.n_classes is None else (_N, obj.n_classes)  # multiclass, or several outputs
        for w in (None, np.linspace(0.5, 1.5, _N)):
            prepared = obj.prepare(y, sample_weight=w, group=group)
            for raw_dtype in (np.float64, np.float32):
                raw = np.asfortranarray(np.linspace(-1.0, 1.0, _N * int(np.prod(shape[1:]))).reshape(shape),
                                        dtype=raw_dtype)
                for out_dtype in (np.float64, np.float32):
                    grad = np.empty(shape, dtype=out_dtype, order="F")
                    hess = np.empty(shape, dtype=out_dtype, order="F")
                    obj.grad_hess_prepared(prepared, raw, grad_out=grad, hess_out=hess)
        # the loss too: LambdaRank's is built on its compiled pair enumeration (``pairs``); StochasticRank has none
        raw = np.linspace(-1.0, 1.0, int(np.prod(shape))).reshape(shape)
        try:
            obj.loss(y, raw, group=group) if obj.task == "ranking" else obj.loss(y, raw)
        except NotImplementedError:
            pass
    if progress is not None:
        progress("quantile leaf renewal")
    _run_renewal()


def _run_renewal():
    """The quantile leaf renewal's kernels: per-leaf order statistics and LightGBM's and XGBoost's tree walks
    (these adapter modules import no engine)."""
    from .adapters import lightgbm_renewal as lgb_renewal
    from .objectives import multi_quantile, quantile

    leaf = np.arange(_N) % 3
    for method in ("lightgbm", "lower"):
        quantile.leaf_quantiles(np.linspace(-1.0, 1.0, _N), leaf, 0.3, n_leaves=3, method=method)
    from .adapters import xgboost_trees  # XGBoost's walk of a round's trees (a split and its two leaves)

    xgb_stump = (np.array([1, -1, -1]), np.array([2, -1, -1]), np.zeros(3), np.zeros(3, dtype=np.float32), np.ones(3))
    xgboost_trees.tree_leaves(np.zeros((_N, 1), dtype=np.float32), xgboost_trees.pack_trees([xgb_stump]),
                              np.empty((1, _N), dtype=np.int64))
    one = np.array([-1], dtype=np.int32)  # a stump: both children are leaves
    stump = (one, np.array([-2], dtype=np.int32), np.zeros(1, dtype=np.int32), np.zeros(1),
             np.array([2], dtype=np.int8))
    X, out = np.zeros((_N, 1)), np.full(_N, -1, dtype=np.int64)
    # a round's renewal (LightGBM's walk of a validation set's rows on its own; reading leaves in renew_outputs)
    lgb_renewal.tree_leaves(X, *stump, out)
    quantile.renew_round(np.linspace(-1.0, 1.0, _N), np.zeros((_N, 2)), np.stack([leaf, leaf]), (0.25, 0.75),
                         learning_rate=0.1, leaf_values=np.zeros((2, 3)), method="lower")
    # LightGBM's round pass (both rules, leaves read and walked) and the renewal's gradients (float32 and float64)
    y = np.linspace(-1.0, 1.0, _N)
    nodes = tuple(np.concatenate([a, a]) for a in stump)
    for read, lower in ((True, False), (False, True)):
        lgb_renewal.renew_outputs(0, 2, X, y, np.zeros((2, _N)), np.zeros((2, _N)), np.ones((2, _N)), read,
                                  np.array([[0.0, 1.0], [0.0, 1.0]]), np.array([2, 2]), np.array([0, 1, 2]), *nodes,
                                  np.array([0.25, 0.75]), lower, 0.1, np.zeros((2, 2), dtype=np.uint8),
                                  np.zeros(2, dtype=np.int64))
    raw = np.zeros((_N, 2), order="F")
    for dtype in (np.float64, np.float32):
        grad, hess = np.empty((_N, 2), dtype=dtype, order="F"), np.empty((_N, 2), dtype=dtype, order="F")
        multi_quantile.per_output_pinball_gradients(raw, y, np.array([0.25, 0.75]), grad, hess)


@contextlib.contextmanager
def _parallel_everywhere():
    """Set every parallel threshold of the package (the one table ``_core.jit.PARALLEL_MIN``) to 0, restored on
    exit."""
    from ._core.jit import PARALLEL_MIN

    saved = dict(PARALLEL_MIN)
    PARALLEL_MIN.update(dict.fromkeys(PARALLEL_MIN, 0))
    try:
        yield
    finally:
        PARALLEL_MIN.update(saved)


def _allowed(fn, *args, **kwargs):
    """Call ``fn``; a ValueError means the metric refuses this combination of options, which is not compiled."""
    try:
        fn(*args, **kwargs)
    except ValueError:
        pass


def _run_metrics(progress=None):
    from . import metrics
    from ._core import dcg

    dcg.ideal_dcg(np.array([0.0, 1.0, 3.0]), np.array([0, 3], dtype=np.int64), 3)  # LambdaRank's prepare

    y = _labels("ranking")
    for score_dtype in (np.float64, np.float32):
        if progress is not None:
            progress(f"every metric, {np.dtype(score_dtype).name} scores")
        s = np.array([0.3, 0.1, 0.3, -1.0, 2.0, 0.5, 0.5, 1.0], dtype=score_dtype)
        names = ["ndcg", "ndcg@3", "mrr", "mrr@3", "map", "map@3", "p@3", "auc"]
        for convention in metrics.CONVENTIONS:
            for w in (None, np.repeat([1.0, 2.0], 4)):
                try:
                    metrics.evaluate(y, s, group=_GROUP, metrics=names, convention=convention, sample_weight=w)
                except ValueError:  # a combination the convention refuses (e.g. map@k with tie averaging)
                    for name in names:
                        _allowed(metrics.evaluate, y, s, group=_GROUP, metrics=[name], convention=convention,
                                 sample_weight=w)
                for fn in dict.fromkeys(metrics.METRICS.values()):
                    params = inspect.signature(fn).parameters
                    kwargs = {"group": _GROUP}
                    if "k" in params:
                        kwargs["k"] = 3
                    if "convention" in params:
                        kwargs["convention"] = convention
                    if "sample_weight" in params:
                        kwargs["sample_weight"] = w
                    labels = y
                    if "average" in params:  # auc_score: 0/1 labels, over all rows (no groups) or per query
                        labels = (y >= 1).astype(np.float64)
                        _allowed(fn, labels, s, average="global", **{k: v for k, v in kwargs.items() if k != "group"})
                        kwargs["average"] = "query"
                    _allowed(fn, labels, s, **kwargs)
                    if "k" in params and params["k"].default is None:
                        kwargs.pop("k")
                        _allowed(fn, labels, s, **kwargs)


def _run_letor(progress=None):
    from . import datasets

    text = "2 qid:1 1:0.5 3:1.5 # a\n0 qid:1 2:0.25\n1 qid:7 1:1 2:2 3:3\n"
    fd, path = tempfile.mkstemp(suffix=".txt", prefix="gbm_objectives_warmup_")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        datasets.load_letor(path, dense=True, n_jobs=1)
        datasets.load_letor(path, dense=False, n_jobs=1)
    finally:
        os.unlink(path)


def _run_trec(progress=None):
    """TREC runs and qrels: the byte scanner (plain and gzipped files), the join of a run with its qrels and
    :func:`gbm_objectives.metrics.evaluate_run` with the measures and options the CLI's ``evaluate --qrels`` uses."""
    import gzip

    from .datasets import read_qrels, read_run
    from .metrics import evaluate_run

    qrels_text = "1 0 a 2\n1 0 b 0\n1 0 z 1\n2 0 a 1\n2 0 c -1\n"
    run_text = "1 Q0 a 1 0.5 t\n1 Q0 c 2 0.9 t\n2 Q0 c 1 0.8 t\n2 Q0 a 2 1e-3 t\n3 Q0 a 1 1 t\n"
    folder = tempfile.mkdtemp(prefix="gbm_objectives_warmup_")
    try:
        paths = {}
        for name, text in (("qrels", qrels_text), ("run", run_text)):
            paths[name] = os.path.join(folder, f"{name}.txt")
            with open(paths[name], "w") as fh:
                fh.write(text)
            with gzip.open(paths[name] + ".gz", "wt") as fh:
                fh.write(text)
        for suffix in ("", ".gz"):
            if progress is not None:
                progress(f"read_qrels / read_run{' (gzip)' if suffix else ''}")
            qrels, run = read_qrels(paths["qrels"] + suffix), read_run(paths["run"] + suffix)
        many = os.path.join(folder, "many.txt")  # over 2**15 distinct docnos: int32 codes (else int16)
        with open(many, "w") as fh:
            fh.writelines(f"1 0 d{i} 1\n" for i in range(2**15 + 1))
        read_qrels(many)
        measures = ("ndcg", "ndcg_cut_10", "map", "map_cut_10", "recip_rank", "P_5", "recall_100", "Rprec", "bpref",
                    "success_1", "all_trec", "Judged@10")  # all_trec: trec_eval's measures (one compiled driver)
        for missing in ("skip", "zero"):
            for judged_only in (False, True):
                if progress is not None:
                    progress(f"evaluate_run (missing_queries={missing!r}, judged_only={judged_only})")
                with warnings_ignored():
                    evaluate_run(qrels, run, metrics=measures, missing_queries=missing, judged_only=judged_only)
    finally:
        for name in os.listdir(folder):
            os.unlink(os.path.join(folder, name))
        os.rmdir(folder)


@contextlib.contextmanager
def warnings_ignored():
    """The warm-up data leaves a run query without qrels on purpose (a warning path): not a user's warning."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


_STEPS = (
    ("objectives (serial)", _run_objectives, False),
    ("objectives (parallel)", _run_objectives, True),
    ("metrics", _run_metrics, False),
    ("metrics (parallel)", _run_metrics, True),
    ("letor", _run_letor, False),
    ("trec runs", _run_trec, False),
    ("trec runs (parallel)", _run_trec, True),
)


def warmup(progress=None):
    """Compile (or load from numba's cache) every kernel of the package; returns the seconds per step.

    Parameters
    ----------
    progress : callable, optional
        Called as ``progress(message)`` before each step and before each kernel family inside it (an objective,
        a score dtype of the metrics, a TREC reading or evaluation mode), e.g. a CLI's log line.

    Returns
    -------
    dict of str to float
        Seconds spent in each step (``"objectives (serial)"``, ``"objectives (parallel)"``, ``"metrics"``,
        ``"metrics (parallel)"``, ``"letor"``, ``"trec runs"``, ``"trec runs (parallel)"``) and ``"total"``. With a warm cache every step takes well under a second (loading only).

    Notes
    -----
    The parallel step lowers the package's size thresholds (``_core.jit.PARALLEL_MIN``) to 0 while
    it runs, so do not train in other threads of the same process meanwhile.
    """
    seconds = {}
    t_all = time.perf_counter()
    for name, fn, parallel in _STEPS:
        if progress is not None:
            progress(name)
        t0 = time.perf_counter()
        inner = None if progress is None else (lambda message, step=name: progress(f"{step}: {message}"))
        with _parallel_everywhere() if parallel else contextlib.nullcontext():
            fn(inner)
        seconds[name] = time.perf_counter() - t0
    seconds["total"] = time.perf_counter() - t_all
    return seconds


def package_dispatchers():
    """Every numba dispatcher defined in the imported ``gbm_objectives`` modules: ``{"module.name": dispatcher}``.

    Serial/parallel kernel pairs appear as ``name.serial`` and ``name.parallel``; the variants of a table built by
    ``_core.jit.specialise`` as ``name[variant].block`` / ``.serial`` / ``.parallel``. Functions compiled with
    ``inline="always"`` are left out (they are compiled into their callers only).
    """
    from numba.core.dispatcher import Dispatcher

    found = {}
    for mod_name, module in sorted(sys.modules.items()):
        if module is None or not mod_name.startswith("gbm_objectives"):
            continue
        for attr, value in vars(module).items():
            candidates = [(attr, value)]
            if isinstance(value, dict):  # a table of kernel variants (``_core.jit.specialise``)
                candidates = [(f"{attr}[{key!r}].{part}", getattr(v, part, None)) for key, v in value.items()
                              for part in ("block", "serial", "parallel")]
            elif not isinstance(value, Dispatcher) and not isinstance(value, type):
                candidates = [(f"{attr}.{part}", getattr(value, part, None))
                              for part in ("block", "serial", "parallel")]
            for key, d in candidates:
                if not isinstance(d, Dispatcher) or getattr(d, "__module__", mod_name) != mod_name:
                    continue
                if d.targetoptions.get("inline", "never") == "always":
                    continue
                found[f"{mod_name}.{key}"] = d
    return found
