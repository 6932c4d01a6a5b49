"""Imbalanced binary classification: focal loss vs weighted cross-entropy vs plain log loss, ranked by PR-AUC.

Trains :class:`gbm_objectives.GBMClassifier` with each objective on the same split, early-stopping on the objective's
own validation loss, and reports on the test split: PR-AUC (average precision, the metric that matters when positives
are rare), ROC AUC, log loss and Brier score of the predicted probabilities, and the positive rate the model predicts
on average. Focal loss and weighted cross-entropy deliberately distort probabilities (they reweight the classes), so
compare them on the ranking metrics, or recalibrate (``gbm_objectives.calibrate``) before reading probabilities.

Usage::

    python scripts/train_imbalanced.py                              # make_imbalanced: 50,000 rows, 1% positive
    python scripts/train_imbalanced.py --positive-rate 0.002 --samples 200000
    python scripts/train_imbalanced.py --dataset oil-spill          # a named dataset (gbm-objectives datasets)
    python scripts/train_imbalanced.py --csv data.csv --label is_fraud
    python scripts/train_imbalanced.py --backend xgboost --gamma 1 --gamma 2 --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

import gbm_objectives as go
from gbm_objectives import datasets
from gbm_objectives.cli import format_table


def split_rows(X, y, seed):
    """Stratified 60/20/20 split."""
    rng = np.random.default_rng(seed)
    parts = {"train": [], "valid": [], "test": []}
    for label in (0, 1):
        idx = rng.permutation(np.flatnonzero(y == label))
        a, b = int(0.6 * len(idx)), int(0.8 * len(idx))
        parts["train"].append(idx[:a])
        parts["valid"].append(idx[a:b])
        parts["test"].append(idx[b:])
    return {name: (X[np.sort(np.concatenate(p))], y[np.sort(np.concatenate(p))]) for name, p in parts.items()}


def load_data(args):
    if args.csv:
        X, y, _ = datasets.load_table(args.csv, label=args.label)
        return split_rows(X, y, args.seed), args.csv
    if args.dataset:
        if datasets.DATASETS[args.dataset].task != "binary":
            sys.exit(f"error: --dataset {args.dataset} is not a binary classification set")
        splits = datasets.DATASETS[args.dataset].splits
        if "vali" in splits:
            return {n: datasets.load(args.dataset, s)[:2] for n, s in (("train", "train"), ("valid", "vali"),
                                                                      ("test", "test"))}, args.dataset
        X, y, _ = datasets.load(args.dataset, "train")
        Xt, yt, _ = datasets.load(args.dataset, "test")
        inner = split_rows(X, y, args.seed)
        return {"train": inner["train"], "valid": inner["valid"], "test": (Xt, yt)}, args.dataset
    X, y = datasets.make_imbalanced(n_samples=args.samples, positive_rate=args.positive_rate, seed=args.seed)
    return split_rows(X, y, args.seed), f"make_imbalanced(n_samples={args.samples}, positive_rate={args.positive_rate})"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=50_000)
    parser.add_argument("--positive-rate", type=float, default=0.01)
    parser.add_argument("--dataset", choices=sorted(datasets.DATASETS), help="a named binary dataset instead")
    parser.add_argument("--csv", help="a CSV/Parquet file instead (with --label)")
    parser.add_argument("--label", default=None)
    parser.add_argument("--backend", choices=("lightgbm", "xgboost"), default="lightgbm")
    parser.add_argument("--gamma", type=float, action="append", help="focal gamma values (default 2)")
    parser.add_argument("--alpha", type=float, default=0.25, help="focal alpha (weight of the positive class)")
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--learning-rate", type=float, default=0.05)
    parser.add_argument("--early-stopping", type=int, default=50)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)

    data, source = load_data(args)
    X, y = data["train"]
    Xv, yv = data["valid"]
    Xt, yt = data["test"]
    ratio = float((y == 0).sum() / max((y == 1).sum(), 1))
    print(f"{source}: train {len(y):,} rows ({y.mean():.2%} positive), valid {len(yv):,}, test {len(yt):,} "
          f"({int(yt.sum())} positives)")
    candidates = [("logloss", {}), ("weighted_ce", {"pos_weight": ratio}),
                  ("weighted_ce", {"pos_weight": float(np.sqrt(ratio))})]
    for gamma in args.gamma or [2.0]:
        candidates.append(("focal", {"alpha": args.alpha, "gamma": gamma}))
    rows, results = [], []
    for name, params in candidates:
        clf = go.GBMClassifier(objective=name, objective_params=params, backend=args.backend,
                               n_estimators=args.rounds, learning_rate=args.learning_rate, random_state=args.seed,
                               n_jobs=args.threads)
        t0 = time.perf_counter()
        clf.fit(X, y, eval_set=[(Xv, yv)], early_stopping_rounds=args.early_stopping)
        seconds = time.perf_counter() - t0
        p = clf.predict_proba(Xt)[:, 1]
        res = {
            "pr_auc": average_precision_score(yt, p),
            "roc_auc": roc_auc_score(yt, p),
            "logloss": log_loss(yt, np.clip(p, 1e-15, 1 - 1e-15)),
            "brier": brier_score_loss(yt, p),
            "mean_p": float(p.mean()),
        }
        label = name + ("" if not params else "(" + ", ".join(f"{k}={v:.3g}" for k, v in params.items()) + ")")
        rows.append([label, *res.values(), clf.best_iteration_ or args.rounds, round(seconds, 2)])
        results.append({"objective": name, "params": params, "rounds": clf.best_iteration_, "seconds": seconds, **res})
        print(f"  {label}: {seconds:.1f} s", file=sys.stderr)
    print(f"\ntest split, {args.backend}; the true positive rate is {yt.mean():.4f}")
    print(format_table(["objective", "pr_auc", "roc_auc", "logloss", "brier", "mean_p", "rounds", "seconds"], rows))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"source": source, "backend": args.backend, "results": results}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
