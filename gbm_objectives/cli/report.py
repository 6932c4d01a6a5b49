"""Training reports: every metric on every split, at the kept iteration and per round (the CLI's ``metrics.json``).

Per-round values cost one prediction of each split in all (``staged_predict_raw`` adds only the new trees at each
checkpoint) plus one metric evaluation per checkpoint.
"""

from __future__ import annotations

import numpy as np

from ..adapters import get_backend
from .._core.files import jsonable
from ..model_io import objective_meta
from ..metrics.by_task import evaluate_metrics
from ..training import NativeObjective

__all__ = ["training_report", "checkpoints"]


def checkpoints(n_rounds, limit=500):
    """Rounds at which the per-round curves are evaluated: every round up to ``limit``, else ``limit`` spread."""
    if n_rounds <= limit:
        return list(range(1, n_rounds + 1))
    return sorted(set(np.linspace(1, n_rounds, limit).round().astype(int).tolist()))


def training_report(objective, result, splits, metrics, *, label, backend, rounds, seconds, early_stopping,
                    convention, staged=True):
    """The report of one training run (the CLI's ``metrics.json``): every metric on every split, at the kept
    iteration (``final``) and per round (``per_round``, at most 500 checkpoints), with the run's settings.

    Parameters
    ----------
    objective : Objective or NativeObjective
    result : TrainResult
    splits : dict of name -> split
        Each split has ``X``, ``y``, ``group`` (query sizes or None) and ``summary()`` (a dict describing it).
    metrics : list of :class:`gbm_objectives.metrics.by_task.Metric`
    early_stopping : int or None
        The patience used; the history of the first metric on ``valid_0`` is then reported.
    """
    reference = objective.reference if isinstance(objective, NativeObjective) else objective
    engine = get_backend(backend)
    trained = engine.num_rounds(result.booster)
    history = None
    if early_stopping:
        history = result.evals_result["valid_0"][metrics[0].name]
        trained = len(history)
    best = result.best_iteration
    kept = best or trained
    summary = {
        "objective": objective_meta(objective, backend),
        "label": label,
        "backend": backend,
        "task": reference.task,
        "engine_params": jsonable({k: v for k, v in result.params.items() if not callable(v)}),
        "rounds_requested": rounds,
        "rounds_trained": trained,
        "best_iteration": best,
        "iteration_kept": kept,
        "early_stopping": None if not early_stopping else
        {"metric": metrics[0].name, "split": "valid", "patience": early_stopping, "history": history},
        "train_seconds": round(seconds, 4),
        "init_score": jsonable(result.init_score),
        "convention": convention,
        "metrics": [m.name for m in metrics],
        "data": {name: s.summary() for name, s in splits.items()},
    }
    iterations = checkpoints(kept) if staged else [kept]
    if kept not in iterations:
        iterations = sorted(set(iterations) | {kept})
    per_round = {"iterations": iterations}
    final = {}
    for name, split in splits.items():
        curves = {m.name: [] for m in metrics}
        for it, raw in engine.staged_predict_raw(result.booster, split.X, result.init_score, iterations):
            values = evaluate_metrics(metrics, split.y, np.asarray(raw, dtype=np.float64), group=split.group)
            for metric_name, value in values.items():
                curves[metric_name].append(value)
            if it == kept:
                final[name] = values
        per_round[name] = curves
    summary["final"] = final
    if staged:
        summary["per_round"] = per_round
    return summary
