"""Verified export: the full matrix of registry objectives x engines x formats, and each consumer's speed.

1. Verification matrix: every registry objective of issue 24 (focal, weighted CE, log loss, squared error, Huber,
   quantile with and without leaf renewal, softmax, softmax focal, LambdaRank and the listwise family) and
   multi_quantile (9 levels; its 9 raw outputs) on both engines, exported to every format (``onnx`` and
   ``treelite`` raw and transformed, the engine's own file, ``json-dump``) by ``go.export``, which reads each file
   back with its consumer; the table gives the largest difference to ``predict_raw`` / ``predict`` on the check
   rows: MQ2008 Fold1 test (ranking; trained on Fold1 train), ``make_imbalanced`` (1 % positives; binary) and
   synthetic regression / 3-class sets built on its features. XGBoost rankers: the share of MQ2008 test queries
   whose ONNX / Treelite scores order the documents exactly as ``predict_raw`` (Spearman 1.0).
2. Speed: export time per format, and prediction time on 1M rows of each consumer against the engine's own
   ``predict`` (raw scores; 1 thread each; medians of alternated runs) for a focal model of 100 rounds x 31 leaves
   per engine.

Writes the ``export`` section of BENCHMARKS.md.

    GBM_OBJECTIVES_DATA=/path/to/shared/datasets .venv/bin/python scripts/bench_export.py [--no-write]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench  # noqa: E402

import gbm_objectives as go  # noqa: E402

DATA = Path(os.environ.get("GBM_OBJECTIVES_DATA", str(_bench.SHARED_DATASETS)).split(os.pathsep)[0])
OBJECTIVES = [("focal", "binary"), ("weighted_ce", "binary"), ("logloss", "binary"),
              ("squared_error", "regression"), ("huber", "regression"), ("quantile", "regression"),
              ("quantile (no renewal)", "regression"), ("multi_quantile", "regression"), ("softmax", "multiclass"),
              ("softmax_focal", "multiclass"),
              ("lambdarank", "ranking"), ("xendcg", "ranking"), ("softmax_rank", "ranking"), ("listmle", "ranking"),
              ("approx_ndcg", "ranking"), ("lambdaloss", "ranking")]
ROUNDS, LEAVES = 50, 15


def sizes(qid):
    return np.diff(np.flatnonzero(np.r_[True, qid[1:] != qid[:-1], True]))


def task_data():
    X, y = go.datasets.make_imbalanced(n_samples=20000, positive_rate=0.01, n_features=20, seed=0)
    rng = np.random.default_rng(1)
    signal = X[:, :5] @ rng.normal(size=5)
    yr = signal + rng.normal(size=len(X))
    ym = np.digitize(signal + rng.normal(size=len(X)) * 0.5, np.quantile(signal, [1 / 3, 2 / 3]))
    split = 16000
    out = {"binary": (X[:split], y[:split], {}, X[split:], None),
           "regression": (X[:split], yr[:split], {}, X[split:], None),
           "multiclass": (X[:split], ym[:split], {}, X[split:], None)}
    root = DATA / "letor4_mq2008" / "Fold1"
    if root.exists():
        Xq, yq, qid = go.datasets.load_letor(root / "train.txt.gz")
        Xt, _, qt = go.datasets.load_letor(root / "test.txt.gz")
        out["ranking"] = (Xq, yq, {"group": sizes(qid)}, Xt, qt)
    return out


def verification(data, threads):
    rows, ranks = [], []
    with tempfile.TemporaryDirectory() as folder:
        for name, task in OBJECTIVES:
            if task not in data:
                continue
            X, y, kw, Xc, qt = data[task]
            for backend in ("lightgbm", "xgboost"):
                extra = {"leaf_renewal": False} if "no renewal" in name else {}
                res = go.train(name.split(" ")[0], X, y, backend=backend, num_boost_round=ROUNDS, n_jobs=threads,
                               params={"num_leaves": LEAVES}, **kw, **extra)
                cells = []
                engine = "lightgbm" if backend == "lightgbm" else "xgboost-json"
                for fmt, output in (("onnx", "raw"), ("onnx", "transformed"), ("treelite", "raw"),
                                    ("treelite", "transformed"), (engine, "raw"), ("json-dump", "raw")):
                    report = go.export(res, Path(folder) / f"m.{fmt}", format=fmt, output=output, verify=Xc)
                    cell = " / ".join(f"{v:.1e}" for v in report.max_diff.values())
                    # a link with no built-in twin (multi_quantile's) is exported raw whatever was asked
                    cells.append(cell + (" (raw)" if report.output != output else ""))
                    if backend == "xgboost" and task == "ranking" and fmt in ("onnx", "treelite") and output == "raw":
                        ranks.append((name, fmt, rank_identity(res, Path(folder) / f"m.{fmt}", fmt, Xc, qt)))
                rows.append(f"| {name} | {backend} | " + " | ".join(cells) + " |")
                print(rows[-1], flush=True)
    return rows, ranks


def consumer_scores(path, fmt, X):
    if fmt == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return session.run(None, {session.get_inputs()[0].name: X.astype(np.float32)})[0].reshape(len(X))
    import treelite

    return treelite.gtil.predict(treelite.Model.deserialize(str(path)), X.astype(np.float32)).reshape(len(X))


def rank_identity(res, path, fmt, X, qid):
    """(queries whose documents the consumer ranks exactly as predict_raw, ties included; queries; the smallest
    Spearman correlation over the queries whose scores are not all tied)."""
    raw, scores = res.predict_raw(X), consumer_scores(path, fmt, X)
    same, low = 0, 1.0
    queries = np.unique(qid)
    for q in queries:
        rows = qid == q
        same += bool(np.array_equal(stats.rankdata(scores[rows]), stats.rankdata(raw[rows])))
        if np.ptp(raw[rows]) > 0:
            low = min(low, float(stats.spearmanr(scores[rows], raw[rows]).statistic))
    return same, len(queries), low


def speed(threads, n_rows=1_000_000):
    import lightgbm as lgb
    import onnxruntime
    import treelite
    import xgboost as xgb

    X, y = go.datasets.make_imbalanced(n_samples=50000, positive_rate=0.01, n_features=20, seed=0)
    big = np.random.default_rng(2).normal(size=(n_rows, 20))
    big32 = big.astype(np.float32)
    lines = []
    with tempfile.TemporaryDirectory() as folder:
        for backend in ("lightgbm", "xgboost"):
            res = go.train("focal", X, y, backend=backend, num_boost_round=100, n_jobs=threads,
                           params={"num_leaves": 31})
            engine = "lightgbm" if backend == "lightgbm" else "xgboost-json"
            export_s = {}
            for fmt in ("onnx", "treelite", engine, "json-dump"):
                report = go.export(res, Path(folder) / f"m.{fmt}", format=fmt, verify=X[:2000])
                export_s[fmt] = (report.export_seconds, report.verify_seconds)
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            session = onnxruntime.InferenceSession(str(Path(folder) / "m.onnx"), options,
                                                   providers=["CPUExecutionProvider"])
            model = treelite.Model.deserialize(str(Path(folder) / "m.treelite"))
            if backend == "lightgbm":
                booster = lgb.Booster(model_file=str(Path(folder) / f"m.{engine}"))

                def own():
                    return booster.predict(big, raw_score=True, num_threads=threads)
            else:
                booster = xgb.Booster(model_file=str(Path(folder) / f"m.{engine}"))
                booster.set_param({"nthread": threads})

                def own():
                    return booster.inplace_predict(big, predict_type="margin")
            fns = {"engine predict": own,
                   "onnxruntime": lambda: session.run(None, {"input": big32}),
                   "treelite.gtil": lambda: treelite.gtil.predict(model, big32, nthread=threads, pred_margin=True)}
            times = _bench.alternate(fns, repeats=3, warmup=1)
            med = {k: _bench.median(v) for k, v in times.items()}
            base = med["engine predict"]
            for fmt, (e, v) in export_s.items():
                consumer = {"onnx": "onnxruntime", "treelite": "treelite.gtil", engine: "engine predict"}.get(fmt)
                predict = f"{med[consumer]:.2f} s ({med[consumer] / base:.2f}x)" if consumer else "-"
                lines.append(f"| {backend} | {fmt} | {e:.2f} | {v:.2f} | {predict} |")
                print(lines[-1], flush=True)
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    t0 = time.perf_counter()
    data = task_data()
    rows, ranks = verification(data, args.threads)
    speed_lines = speed(args.threads)
    total = time.perf_counter() - t0
    load = os.getloadavg()[0]
    md = "\n".join([
        "## Verified export (`go.export`)",
        "",
        f"`scripts/bench_export.py`. Machine: {_bench.machine_info(args.threads)}; onnxmltools "
        f"{_version('onnxmltools')}, onnxruntime {_version('onnxruntime')}, treelite {_version('treelite')}. "
        f"Total {total:.0f} s. The machine is shared with other jobs (1-minute load {load:.1f} at the end): times "
        "are indicative, ratios come from alternated runs.",
        "",
        f"**Verification** ({ROUNDS} rounds x {LEAVES} leaves; check rows: MQ2008 Fold1 test, "
        f"{len(data['ranking'][3]) if 'ranking' in data else 0:,} rows, for "
        "ranking, trained on Fold1 train; the last 4,000 rows of `make_imbalanced(20000, 1 % positives)` and "
        "synthetic regression / 3-class targets on its features otherwise). Each cell: the largest |exported - "
        "predict_raw| (raw) or |exported - predict| (transformed), as measured by `go.export` reading the file "
        "with its consumer; the engine file column gives raw / transformed (fresh Booster in a subprocess; raw "
        "only for multi_quantile, whose link the engine has no twin of). "
        "Tolerance: 1e-5 x (1 + |value|) for float32 consumers, 1e-12 for the engines' raw scores; every export "
        "below passed (a failure would have stopped the script). \"(raw)\": transformed output was asked for an "
        "objective whose link has no built-in twin (`multi_quantile`'s sorted cumulative softplus): the file holds "
        "the raw outputs, and `go.export`'s report names the link a consumer applies "
        "(`go.cumulative_softplus(raw, scale=...)`).",
        "",
        "| objective | engine | onnx raw | onnx transformed | treelite raw | treelite transformed | engine file "
        "raw / transformed | json-dump raw |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "XGBoost rankers, MQ2008 Fold1 test queries whose documents the consumer ranks exactly as `predict_raw` "
        "(`scipy.stats.rankdata` equal, ties included), and the smallest per-query Spearman correlation: " +
        "; ".join(f"{name} {fmt} {same}/{total} (min {low:.12f})" for name, fmt, (same, total, low) in ranks) + ".",
        "",
        f"**Speed** (focal, 100 rounds x 31 leaves, trained on 50,000 rows; prediction of raw scores on 1M rows x "
        f"20 features, {args.threads} thread(s) each, medians of 3 alternated runs; ratio to the engine's own "
        "predict on the exported file). Export = building the file; verify = reading it back and comparing on "
        "2,000 rows (the engine files: a fresh interpreter importing the engine).",
        "",
        "| engine | format | export s | verify s | predict 1M rows (vs engine) |",
        "|---|---|---|---|---|",
        *speed_lines,
        "",
    ])
    _bench.publish("export", md, write=not args.no_write, detail=f" ({total:.0f} s)")
    return 0


def _version(name):
    from importlib.metadata import version

    return version(name)


if __name__ == "__main__":
    sys.exit(main())
