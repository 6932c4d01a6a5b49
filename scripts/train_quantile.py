"""Quantile bands with gradient boosting: coverage, width and pinball loss of a 90 % prediction interval.

Trains one model per quantile level (default 0.05, 0.5, 0.95) three ways on LightGBM, with the same trees settings:

* ``quantile``: :class:`gbm_objectives.QuantileLoss` through the grad/hess callback (hessian 1: plain gradient steps);
* ``quantile+renewal``: the same objective plus :func:`gbm_objectives.quantile_leaf_renewal`, which re-fits every leaf
  to the alpha-quantile of its residuals, as LightGBM's built-in does;
* ``quantile:native``: LightGBM's built-in ``quantile`` objective.

Reports on the test split: the coverage of the band [q_lo, q_hi] (target: hi - lo), its mean width, the fraction of
rows where the quantiles cross, and the pinball loss of every level.

Usage::

    python scripts/train_quantile.py                      # heteroscedastic synthetic data (10,000 rows)
    python scripts/train_quantile.py --dataset autoclaims  # insurance claims with a heavy right tail (local copy)
    python scripts/train_quantile.py --levels 0.1 0.5 0.9 --rounds 300 --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

import gbm_objectives as go
from gbm_objectives import datasets
from gbm_objectives.cli import format_table


def synthetic(n, seed):
    """y = 3 sin(x0) + x1 + (0.5 + |x2|) * t_3 noise: the spread depends on x2, the noise has heavy tails."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-3, 3, size=(n, 5)).astype(np.float32)
    y = 3 * np.sin(X[:, 0]) + X[:, 1] + (0.5 + np.abs(X[:, 2])) * rng.standard_t(3, size=n)
    return X, y.astype(np.float64)


def load_data(args):
    if args.dataset:
        if datasets.DATASETS[args.dataset].task != "regression":
            sys.exit(f"error: --dataset {args.dataset} is not a regression set")
        X, y, _ = datasets.load(args.dataset, "train")
        Xt, yt, _ = datasets.load(args.dataset, "test")
        X = X.toarray() if hasattr(X, "toarray") else X
        Xt = Xt.toarray() if hasattr(Xt, "toarray") else Xt
        return (X, y), (Xt, yt), args.dataset
    X, y = synthetic(args.samples, args.seed)
    cut = int(0.75 * len(y))
    return (X[:cut], y[:cut]), (X[cut:], y[cut:]), f"synthetic heteroscedastic ({args.samples:,} rows)"


def pinball(y, q, alpha):
    d = y - q
    return float(np.mean(np.maximum(alpha * d, (alpha - 1) * d)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--dataset", choices=sorted(datasets.DATASETS), help="a named regression dataset instead")
    parser.add_argument("--levels", type=float, nargs="+", default=[0.05, 0.5, 0.95])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--num-leaves", type=int, default=15)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    levels = sorted(args.levels)
    if not all(0 < a < 1 for a in levels):
        parser.error(f"--levels must be in (0, 1); got {levels}")

    (X, y), (Xt, yt), source = load_data(args)
    print(f"{source}: train {len(y):,} rows, test {len(yt):,} rows; levels {levels}")
    params = {"num_leaves": args.num_leaves, "seed": args.seed}
    preds = {}
    seconds = {}
    for method in ("quantile", "quantile+renewal", "quantile:native"):
        preds[method], seconds[method] = {}, 0.0
        for alpha in levels:
            obj = go.QuantileLoss(alpha=alpha)
            t0 = time.perf_counter()
            res = go.train(go.NativeObjective(obj) if method == "quantile:native" else obj, X, y,
                           params={**params, "learning_rate": args.learning_rate}, num_boost_round=args.rounds,
                           n_jobs=args.threads, leaf_renewal=method == "quantile+renewal")
            raw = res.predict_raw(Xt)
            seconds[method] += time.perf_counter() - t0
            preds[method][alpha] = np.asarray(raw, dtype=np.float64)
        print(f"  {method}: {seconds[method]:.1f} s", file=sys.stderr)

    lo, hi = levels[0], levels[-1]
    header = ["method", f"coverage [{lo:g}, {hi:g}]", "mean width", "crossing", *[f"pinball@{a:g}" for a in levels],
              "seconds"]
    rows, results = [], []
    for method, by_level in preds.items():
        stacked = np.stack([by_level[a] for a in levels])
        coverage = float(np.mean((yt >= by_level[lo]) & (yt <= by_level[hi])))
        width = float(np.mean(by_level[hi] - by_level[lo]))
        crossing = float(np.mean(np.any(np.diff(stacked, axis=0) < 0, axis=0)))
        losses = [pinball(yt, by_level[a], a) for a in levels]
        rows.append([method, coverage, width, crossing, *losses, round(seconds[method], 2)])
        results.append({"method": method, "coverage": coverage, "target_coverage": hi - lo, "mean_width": width,
                        "crossing": crossing, "pinball": dict(zip(map(str, levels), losses)),
                        "seconds": seconds[method]})
    print(f"\ntest split; target coverage {hi - lo:.2f}")
    print(format_table(header, rows))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"source": source, "levels": levels, "results": results}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
