"""``gbm-objectives demo``: focal vs weighted cross-entropy vs log loss on both engines, then LambdaMART from
scratch vs the engines' built-ins, on data that ships with scikit-learn or is generated (no download)."""

from __future__ import annotations

import time

import numpy as np

from .. import datasets as _datasets
from .._core.progress import Reporter
from .._core.files import atomic_write_json
from ._common import EXIT_OK, Split, build_objective, check_out, format_table, train_one

__all__ = ["run_demo"]


def _demo_splits(name, data):
    return {split: Split(split, f"{name}:{split}", X, y, qid, [f"f{j}" for j in range(X.shape[1])])
            for split, (X, y, qid) in data.items()}


def _demo_run(title, splits, specs, metric_names, args, reporter):
    print(f"\n{title}")
    header = ["objective", "backend", *metric_names, "seconds"]
    rows = []
    for backend, spec, params in specs:
        objective, engine_params, _ = build_objective(spec, backend, dict(params))
        _, summary = train_one(objective, splits, label=spec, backend=backend, engine_params=engine_params,
                               rounds=args.rounds, learning_rate=0.1, num_leaves=15, threads=args.threads,
                               metric_names=metric_names, staged=False)
        shown = spec if not params else f"{spec}({', '.join(f'{k}={v:g}' for k, v in params.items())})"
        rows.append([shown, backend, *[summary["final"]["test"][m] for m in metric_names], summary["train_seconds"]])
        reporter.log(f"  trained {shown} on {backend}")
    print(format_table(header, rows))
    return {"title": title, "metrics": list(metric_names), "table": [dict(zip(header, r)) for r in rows]}


def run_demo(args):
    """Focal vs weighted cross-entropy vs log loss on both engines; then LambdaMART scratch vs native."""
    reporter = Reporter(args.quiet)
    if args.out:
        check_out(args.out)
    t0 = time.perf_counter()
    sections = []
    print(f"gbm-objectives demo: {args.rounds} rounds, learning rate 0.1, 15 leaves; metrics on the held-out test split")

    data = {s: _datasets.load("breast_cancer", s)[:2] + (None,) for s in ("train", "test")}
    splits = _demo_splits("breast_cancer", data)
    y = splits["train"].y
    pos_weight = float((y == 0).sum() / (y == 1).sum())
    objectives = [("logloss:native", {}), ("logloss", {}), ("weighted_ce", {"pos_weight": pos_weight}),
                  ("focal", {"alpha": 0.25, "gamma": 2.0})]
    specs = [(b, o, p) for b in ("lightgbm", "xgboost") for o, p in objectives]
    sections.append(_demo_run(
        f"1. breast cancer (scikit-learn; {len(y)} train / {len(splits['test'].y)} test rows, "
        f"{y.mean():.0%} positive)", splits, specs, ("auc", "pr_auc", "logloss"), args, reporter))

    X, y = _datasets.make_imbalanced(n_samples=20000, positive_rate=0.01, seed=0)
    data = {"train": (X[:15000], y[:15000], None), "test": (X[15000:], y[15000:], None)}
    splits = _demo_splits("make_imbalanced", data)
    pos_weight = float((y[:15000] == 0).sum() / (y[:15000] == 1).sum())
    objectives = [("logloss", {}), ("weighted_ce", {"pos_weight": pos_weight}), ("focal", {"alpha": 0.25, "gamma": 2.0})]
    specs = [("lightgbm", o, p) for o, p in objectives]
    sections.append(_demo_run(
        "2. make_imbalanced (15,000 train / 5,000 test rows, 1% positive): logloss is computed on the focal/weighted "
        "models' own probabilities, which they shift on purpose; compare them on pr_auc", splits, specs,
        ("auc", "pr_auc", "logloss"), args, reporter))

    if not args.ranking:
        print("\n3. ranking (LambdaMART from scratch vs the engines' built-ins): gbm-objectives demo --ranking "
              "(its first run compiles the ranking kernels, about a minute; cached afterwards)")
    else:
        X, y, qid = _datasets.make_ranking(n_queries=300, docs_per_query=(10, 60), n_features=40, seed=0)
        cut = int(np.searchsorted(qid, 225))
        data = {"train": (X[:cut], y[:cut], qid[:cut]), "test": (X[cut:], y[cut:], qid[cut:])}
        splits = _demo_splits("make_ranking", data)
        specs = [(b, o, {}) for b in ("lightgbm", "xgboost") for o in ("lambdarank", "lambdarank:native")]
        sections.append(_demo_run(
            f"3. make_ranking (225 train / 75 test queries, {len(y)} documents): LambdaMART from scratch vs the "
            f"engines' built-ins", splits, specs, ("ndcg@10", "map", "mrr"), args, reporter))
    seconds = time.perf_counter() - t0
    print(f"\ndone in {seconds:.1f} s")
    if args.out:
        atomic_write_json(args.out, {"rounds": args.rounds, "seconds": round(seconds, 2), "sections": sections})
        reporter.log(f"wrote {args.out}")
    return EXIT_OK
