"""Dask scale-out benchmark: ``gbm_objectives.dask`` on a LocalCluster vs ``go.train`` on one process.

* wall time of scratch ``lambdarank`` (LightGBM) on make_ranking data: LocalCluster of 2 single-thread worker
  processes vs one process with 2 threads, the same rounds, alternated A/B (median);
* peak resident memory of each worker (``ru_maxrss``);
* a run on data larger than one worker's ``memory_limit`` (so it only fits spread over the workers);
* MQ2008 (``--mq2008 FOLDS``): Dask scratch lambdarank vs single-machine scratch vs Dask native lambdarank, mean
  NDCG@10 on the test split of each fold.

Usage: ``python scripts/bench_dask.py [--queries 15000] [--rounds 50] [--mq2008 5] [--no-write]``
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _bench  # noqa: E402


def _maxrss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _frame(X, y, qid, npartitions):
    import dask.dataframe as dd
    import pandas as pd

    df = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    df["label"], df["qid"] = y, qid
    return dd.from_pandas(df, npartitions=npartitions, sort=False), [f"f{j}" for j in range(X.shape[1])]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=15000, help="make_ranking queries (15000 ~ 2M rows)")
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--mq2008", type=int, default=5, metavar="FOLDS")
    ap.add_argument("--skip-timing", action="store_true", help="only the MQ2008 quality part (section dask_quality)")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)

    import dask
    from distributed import Client, LocalCluster

    import gbm_objectives as go
    import gbm_objectives.dask as god
    from gbm_objectives.datasets import load, make_ranking

    lines = []
    if not args.skip_timing:
        X, y, qid = make_ranking(n_queries=args.queries, docs_per_query=(20, 250), n_features=136, seed=0)
        X = np.asarray(X, dtype=np.float64)
        n, data_mb = len(y), X.nbytes / 2**20
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
        ddf, features = _frame(X, y, qid, 8)
        ddf = god.partition_by_query(ddf, qid="qid").persist()
        params = {"num_leaves": 31}

        def dask_run():
            return god.train(client, "lambdarank", ddf[features], ddf["label"], qid=ddf["qid"], params=params,
                             num_boost_round=args.rounds)

        def local_run():
            return go.train("lambdarank", X, y, qid=qid, params=params, num_boost_round=args.rounds, n_jobs=2)

        times = {"dask": [], "local": []}
        for _ in range(args.repeats):
            for name, fn in (("dask", dask_run), ("local", local_run)):
                t = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t)
        rss = client.run(_maxrss_mb)
        ratio = _bench.median(times["dask"]) / _bench.median(times["local"])
        lines += [
            f"make_ranking: {n:,} rows, 136 features ({data_mb:.0f} MiB float64), scratch lambdarank, LightGBM, "
            f"{args.rounds} rounds, 31 leaves; median of {args.repeats} alternated runs.",
            "",
            "| setup | wall (s) | ratio |",
            "|---|---:|---:|",
            f"| go.train, 1 process, 2 threads | {_bench.median(times['local']):.1f} | 1.00 |",
            f"| god.train, LocalCluster 2 workers x 1 thread | {_bench.median(times['dask']):.1f} | {ratio:.2f} |",
            "",
            "Peak resident memory per worker (ru_maxrss, MiB): "
            + ", ".join(f"{v:.0f}" for v in rss.values()) + f"; client process {_maxrss_mb():.0f}.",
        ]
        print("\n".join(lines), flush=True)
        client.close()
        cluster.close()

        # data larger than one worker's memory_limit: meaningful only when the features dwarf a worker's baseline
        # (~150 MiB of Python + libraries), i.e. at the default size (~2 GiB); below that the workers pause
        limit = int(X.nbytes * 0.9)
        if limit < 1 << 30:
            print(f"skipping the over-memory run: {X.nbytes / 2**20:.0f} MiB of features is too small", flush=True)
            args_skip = True
        else:
            args_skip = False
        if args_skip:
            limit = None
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                               memory_limit=limit or "auto")
        client = Client(cluster)
        ddf, features = _frame(X, y, qid, 8)
        ddf = god.partition_by_query(ddf, qid="qid")
        t = time.perf_counter()
        res = god.train(client, "lambdarank", ddf[features], ddf["label"], qid=ddf["qid"], params=params,
                        num_boost_round=args.rounds)
        wall = time.perf_counter() - t
        rss = client.run(_maxrss_mb)
        if not args_skip:
            lines += ["", f"Over one worker's memory: memory_limit={limit / 2**20:.0f} MiB per worker < the features "
                  f"({data_mb:.0f} MiB): completed {res.num_rounds} rounds in {wall:.1f} s, peak RSS per worker "
                  + ", ".join(f"{v:.0f}" for v in rss.values()) + " MiB."]
        client.close()
        cluster.close()

        lines += ["", _bench.machine_info(threads=2) + f", dask {dask.__version__}"]
        _bench.publish("dask", "## Dask: speed and memory (scripts/bench_dask.py)\n\n" + "\n".join(lines),
                       write=not args.no_write)
        lines = []
    if args.mq2008:
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
        rows = []
        for fold in range(1, args.mq2008 + 1):
            Xtr, ytr, qtr = load("mq2008", split="train", fold=fold)
            Xte, yte, qte = load("mq2008", split="test", fold=fold)
            Xtr, Xte = np.asarray(Xtr, np.float64), np.asarray(Xte, np.float64)
            ddf, feats = _frame(Xtr, ytr, qtr, 4)
            ddf = god.partition_by_query(ddf, qid="qid")
            out = {}
            for backend, native in (("lightgbm", "lambdarank:native"), ("xgboost", "lambdarank:native")):
                for key, obj in (("dask scratch", "lambdarank"), ("dask native", native)):
                    r = god.train(client, obj, ddf[feats], ddf["label"], qid=ddf["qid"], backend=backend,
                                  num_boost_round=100)
                    out[(backend, key)] = go.evaluate(yte, r.predict_raw(Xte), qid=qte, metrics=["ndcg@10"])["ndcg@10"]
                r = go.train("lambdarank", Xtr, ytr, qid=qtr, backend=backend, num_boost_round=100, n_jobs=2)
                out[(backend, "local scratch")] = go.evaluate(yte, r.predict_raw(Xte), qid=qte,
                                                              metrics=["ndcg@10"])["ndcg@10"]
            rows.append(out)
            print(fold, out, flush=True)
        client.close()
        cluster.close()
        lines += ["", f"MQ2008, {args.mq2008} folds, 100 rounds, train split in 4 query-aligned partitions on 2 "
                  "workers; mean test NDCG@10 (LightGBM convention):", "",
                  "| engine | dask scratch | local scratch | dask native | scratch: dask - local | dask scratch - native |",
                  "|---|---:|---:|---:|---:|---:|"]
        for backend in ("lightgbm", "xgboost"):
            m = {k: float(np.mean([r[(backend, k)] for r in rows])) for k in ("dask scratch", "local scratch",
                                                                              "dask native")}
            lines.append(f"| {backend} | {m['dask scratch']:.4f} | {m['local scratch']:.4f} | {m['dask native']:.4f} "
                         f"| {m['dask scratch'] - m['local scratch']:+.4f} | {m['dask scratch'] - m['dask native']:+.4f} |")
    if args.mq2008:
        lines += ["", _bench.machine_info(threads=2) + f", dask {dask.__version__}"]
        _bench.publish("dask_quality", "## Dask: ranking quality on MQ2008 (scripts/bench_dask.py)\n\n"
                       + "\n".join(lines), write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
