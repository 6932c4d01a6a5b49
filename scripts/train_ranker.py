"""Train LambdaMART on LETOR data: the engines' built-in lambdarank vs this package's from-scratch objective.

For each backend (LightGBM, XGBoost) and each objective path (``native``: LightGBM ``lambdarank`` / XGBoost
``rank:ndcg``; ``scratch``: :class:`gbm_objectives.LambdaRankObjective` through the grad/hess callback), trains
:class:`gbm_objectives.LambdaMART` with the same options and reports NDCG@1/3/5/10, MRR and MAP on the test set
(LightGBM's metric convention: a query without any relevant document scores 1 for NDCG).

Usage::

    python scripts/train_ranker.py                                # LETOR 4.0 MQ2008 Fold1 (local copy or fetch cache)
    python scripts/train_ranker.py --fold 3 --rounds 300 --early-stopping 30
    python scripts/train_ranker.py --train T.txt --valid V.txt --test S.txt   # any LETOR/SVMlight files (.gz too)
    python scripts/train_ranker.py --synthetic                    # make_ranking data, no download needed
    python scripts/train_ranker.py --backend lightgbm --json results.json

Get MQ2008 with ``python datasets/fetch.py mq2008``.
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

METRICS = ("ndcg@1", "ndcg@3", "ndcg@5", "ndcg@10", "mrr", "map")


def load_data(args):
    if args.synthetic:
        X, y, qid = datasets.make_ranking(n_queries=args.synthetic_queries, docs_per_query=(10, 80), n_features=40,
                                          seed=args.seed)
        q = np.unique(qid)
        a, b = q[int(0.6 * len(q))], q[int(0.8 * len(q))]
        parts = {"train": qid < a, "valid": (qid >= a) & (qid < b), "test": qid >= b}
        return {name: (X[m], y[m], qid[m]) for name, m in parts.items()}, "make_ranking (synthetic)"
    if args.train:
        out = {"train": datasets.load_letor(args.train)}
        width = out["train"][0].shape[1]
        for name in ("valid", "test"):
            path = getattr(args, name)
            if path:
                out[name] = datasets.load_letor(path, n_features=width)
        return out, args.train
    try:
        out = {name: datasets.load("mq2008", split=split, fold=args.fold)
               for name, split in (("train", "train"), ("valid", "vali"), ("test", "test"))}
    except FileNotFoundError as exc:
        sys.exit(f"error: {exc} (or run with --synthetic)")
    return out, f"LETOR 4.0 MQ2008 Fold{args.fold}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", help="LETOR/SVMlight training file (qid: column or .query file)")
    parser.add_argument("--valid", help="validation file (early stopping)")
    parser.add_argument("--test", help="test file (the report)")
    parser.add_argument("--fold", type=int, default=1, choices=range(1, 6), help="MQ2008 fold (default 1)")
    parser.add_argument("--synthetic", action="store_true", help="use make_ranking data instead of MQ2008")
    parser.add_argument("--synthetic-queries", type=int, default=400)
    parser.add_argument("--backend", choices=("lightgbm", "xgboost", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--num-leaves", type=int, default=31)
    parser.add_argument("--truncation-level", type=int, default=30)
    parser.add_argument("--early-stopping", type=int, default=None, metavar="N",
                        help="stop when valid NDCG@10 has not improved for N rounds")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)

    data, source = load_data(args)
    X, y, qid = data["train"]
    test_name = "test" if "test" in data else ("valid" if "valid" in data else "train")
    Xt, yt, qt = data[test_name]
    print(f"{source}: train {len(y):,} rows / {len(np.unique(qid)):,} queries; "
          f"{test_name} {len(yt):,} rows / {len(np.unique(qt)):,} queries; {X.shape[1]} features")
    backends = ("lightgbm", "xgboost") if args.backend == "both" else (args.backend,)
    rows, results = [], []
    for backend in backends:
        for path in ("native", "scratch"):
            params = {"num_leaves": args.num_leaves} if backend == "lightgbm" else {
                "max_leaves": args.num_leaves, "grow_policy": "lossguide", "max_depth": 0}
            model = go.LambdaMART(
                backend=backend, objective=path, truncation_level=args.truncation_level, n_estimators=args.rounds,
                learning_rate=args.learning_rate, backend_params=params, eval_at=(10,), random_state=args.seed,
                n_jobs=args.threads,
            )
            fit_kwargs = {}
            if "valid" in data and args.early_stopping:
                Xv, yv, qv = data["valid"]
                fit_kwargs = {"eval_set": [(Xv, yv)], "eval_qid": [qv], "early_stopping_rounds": args.early_stopping}
            t0 = time.perf_counter()
            model.fit(X, y, qid=qid, **fit_kwargs)
            seconds = time.perf_counter() - t0
            scores = go.evaluate(yt, model.predict(Xt), qid=qt, metrics=METRICS)
            rounds = model.best_iteration_ or args.rounds
            rows.append([backend, path, *[scores[m] for m in METRICS], rounds, round(seconds, 2)])
            results.append({"backend": backend, "objective": path, "rounds": rounds, "seconds": seconds,
                            **{m: float(scores[m]) for m in METRICS}})
            print(f"  {backend}/{path}: {seconds:.1f} s", file=sys.stderr)
    print(f"\nmetrics on {test_name} (LightGBM convention)")
    print(format_table(["backend", "objective", *METRICS, "rounds", "seconds"], rows))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"source": source, "split": test_name, "results": results}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
