"""Dask scale-out benchmark: ``gbm_objectives.dask`` on a LocalCluster vs ``go.train`` on one process.

* wall time of scratch ``lambdarank`` (LightGBM) on make_ranking data: LocalCluster of 2 single-thread worker
  processes vs one process with 2 threads, the same rounds, alternated A/B (median);
* peak resident memory of each worker (VmHWM);
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
    """Peak resident memory of this process, MiB: Linux's VmHWM (per address space, so a worker started by fork +
    exec reports its own peak; ru_maxrss is kept across exec and would report the client's peak at the fork)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _frame(X, y, qid, npartitions):
    import dask.dataframe as dd
    import pandas as pd

    df = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    df["label"], df["qid"] = y, qid
    return dd.from_pandas(df, npartitions=npartitions, sort=False), [f"f{j}" for j in range(X.shape[1])]


def _write_parts(X, y, qid, folder, nparts):
    """Query-aligned Parquet files, one per partition (what a user's data directory looks like)."""
    import pandas as pd

    bounds = np.flatnonzero(np.r_[True, qid[1:] != qid[:-1]])
    cuts = [0] + [int(bounds[np.searchsorted(bounds, len(qid) * i // nparts)]) for i in range(1, nparts)] + [len(qid)]
    cols = [f"f{j}" for j in range(X.shape[1])]
    for i in range(nparts):
        a, b = cuts[i], cuts[i + 1]
        df = pd.DataFrame(X[a:b], columns=cols)
        df["label"], df["qid"] = y[a:b], qid[a:b]
        df.to_parquet(Path(folder) / f"part-{i:03d}.parquet", index=False)
    return cols


def _dask_train(client, folder, cols, rounds, persist):
    import dask.dataframe as dd

    import gbm_objectives.dask as god

    ddf = dd.read_parquet(str(folder))
    if persist:
        ddf = ddf.persist()
    return lambda: god.train(client, "lambdarank", ddf[cols], ddf["label"], qid=ddf["qid"],
                             params={"num_leaves": 31}, num_boost_round=rounds)


def _timing(args):
    """Wall time and memory: LocalCluster of 2 one-thread workers vs one process on 2 threads."""
    import tempfile

    from distributed import Client, LocalCluster

    import gbm_objectives as go
    from gbm_objectives.datasets import make_ranking

    X, y, qid = make_ranking(n_queries=args.queries, docs_per_query=(20, 250), n_features=136, seed=0)
    n, data_mb = len(y), X.nbytes / 2**20
    lines = []
    with tempfile.TemporaryDirectory() as folder:
        cols = _write_parts(X, y, qid, folder, 8)
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            dask_run = _dask_train(client, folder, cols, args.rounds, persist=True)

            def local_run():
                return go.train("lambdarank", X, y, qid=qid, params={"num_leaves": 31},
                                num_boost_round=args.rounds, n_jobs=2)

            times = {"dask": [], "local": []}
            for rep in range(args.repeats + 1):  # the first pair warms both (numba's cache, worker imports)
                for name, fn in (("dask", dask_run), ("local", local_run)):
                    t = time.perf_counter()
                    fn()
                    if rep:
                        times[name].append(time.perf_counter() - t)
                print({k: [round(v, 2) for v in t] for k, t in times.items()}, flush=True)
            rss = client.run(_maxrss_mb)
        ratio = _bench.median(times["dask"]) / _bench.median(times["local"])
        lines += [
            f"make_ranking: {n:,} rows, 136 float32 features ({data_mb:.0f} MiB), read from 8 query-aligned Parquet "
            f"files (`dd.read_parquet`, persisted on the workers), scratch lambdarank, LightGBM, {args.rounds} "
            f"rounds, 31 leaves; after one warm-up pair, the median of {args.repeats} alternated runs "
            f"({', '.join(f'{t:.1f}' for t in times['dask'])} s on Dask; "
            f"{', '.join(f'{t:.1f}' for t in times['local'])} s in one process).",
            "",
            "| setup | wall (s) | ratio |",
            "|---|---:|---:|",
            f"| go.train, 1 process, 2 threads | {_bench.median(times['local']):.1f} | 1.00 |",
            f"| god.train, LocalCluster 2 workers x 1 thread | {_bench.median(times['dask']):.1f} | {ratio:.2f} |",
            "",
            "Peak resident memory per worker (VmHWM, MiB, the persisted Parquet partitions included): "
            + ", ".join(f"{v:.0f}" for v in rss.values()) + f"; client process {_maxrss_mb():.0f}.",
        ]
        per_round, share = _bench.median(times["dask"]) / args.rounds, data_mb / 2
        peak = max(rss.values())
        lines += [
            "",
            "On a real cluster the same code runs unchanged with the client of a `dask_kubernetes.KubeCluster` or a "
            "`dask_jobqueue.SLURMCluster` in place of `LocalCluster` (`god.train(client, ...)`, or `gbm-objectives "
            "train --dask tcp://scheduler:8786` on a Parquet directory). An estimate for 16 workers from the figures "
            f"above (an extrapolation, not a measurement): the Dask run spent {per_round:.2f} s per round with "
            f"{n // 2:,} rows ({share:.0f} MiB of features) per one-thread worker; 16 such workers hold "
            f"{8 * n:,} rows at the same per-worker work per round, and what grows is LightGBM's histogram "
            "all-reduce (about log2(16) = 4 exchange steps of features x bins x 3 values per split, independent of the "
            f"rows): expect about {per_round:.1f} s per round plus network latency, and about {peak:.0f} MiB per "
            f"worker ({peak / share:.1f}x its share of the features here, the worker's fixed ~0.7 GiB of Python, "
            "numba and the engines included), i.e. 16 x that for the cluster.",
        ]
        print("\n".join(lines), flush=True)
    return lines


def _over_memory(args):
    """A data set larger than each worker's memory_limit, read from Parquet files on the workers, trained on."""
    import tempfile

    import dask
    from distributed import Client, LocalCluster

    from gbm_objectives.datasets import make_ranking

    X, y, qid = make_ranking(n_queries=args.over_queries, docs_per_query=(20, 250), n_features=136, seed=1)
    n, nbytes = len(y), X.nbytes
    limit = int(nbytes * args.over_limit)
    with tempfile.TemporaryDirectory() as folder:
        cols = _write_parts(X, y, qid, folder, 2 * args.over_workers)
        del X, y, qid
        # the training task holds every partition of its worker, so spilling frees nothing (and fails on
        # lightgbm.dask's sockets), and pausing a worker at 80 % of its limit would hold back the training task
        # lightgbm.dask starts on every worker (the others then wait in LightGBM's network set-up): both off; the
        # nanny's terminate threshold (95 % of memory_limit) stays
        memory = {f"distributed.worker.memory.{k}": False for k in ("target", "spill", "pause")}
        with dask.config.set(memory), \
                LocalCluster(n_workers=args.over_workers, threads_per_worker=1, processes=True,
                             dashboard_address=None, memory_limit=limit) as cluster, Client(cluster) as client:
            t = time.perf_counter()
            res = _dask_train(client, folder, cols, args.over_rounds, persist=False)()
            wall = time.perf_counter() - t
            rss = client.run(_maxrss_mb)
    line = (f"Data larger than one worker's memory: make_ranking {n:,} rows x 136 float32 features "
            f"({nbytes / 2**20:.0f} MiB) in {2 * args.over_workers} Parquet files, read on {args.over_workers} "
            f"workers x 1 thread with memory_limit={limit / 2**20:.0f} MiB each ({args.over_limit:.0%} of the "
            f"features; spilling and pausing turned off, terminating at 95 % kept): completed {res.num_rounds} rounds in "
            f"{wall:.1f} s; peak RSS per worker " + ", ".join(f"{v:.0f}" for v in rss.values()) + " MiB.")
    print(line, flush=True)
    return ["", line]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=15000, help="make_ranking queries (15000 ~ 2M rows)")
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--mq2008", type=int, default=5, metavar="FOLDS")
    ap.add_argument("--over-workers", type=int, default=6, help="workers of the over-memory run (0: skip it)")
    ap.add_argument("--over-rounds", type=int, default=10)
    ap.add_argument("--over-queries", type=int, default=60000, help="make_ranking queries of the over-memory run")
    ap.add_argument("--over-limit", type=float, default=0.9,
                    help="memory_limit per worker of the over-memory run, as a fraction of the features' size")
    ap.add_argument("--skip-timing", action="store_true", help="only the MQ2008 quality part (section dask_quality)")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)

    import dask
    from distributed import Client, LocalCluster

    import gbm_objectives as go
    import gbm_objectives.dask as god
    from gbm_objectives.datasets import load

    lines = []
    if not args.skip_timing:
        lines += _timing(args)  # its data are freed before the over-memory run makes its own
        if args.over_workers:
            lines += _over_memory(args)
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
