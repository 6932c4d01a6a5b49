"""Benchmark of LETOR/SVMlight loading: ``gbm_objectives.datasets.load_letor`` vs scikit-learn's parser.

Writes the ``loading`` section of BENCHMARKS.md: rows per second for a generated LETOR file of 1M rows shaped like
LETOR 4.0 MQ2008 (label, ``qid:``, 46 dense features with 6 decimals, a ``#docid = ... inc = ... prob = ...``
comment; queries of 5-120 rows), read by

* ``gbm_objectives.datasets.load_letor(path)`` (compiled two-pass parser; returns dense float32 X, float64 y,
  int64 qid, and checks the query ids), and
* ``sklearn.datasets.load_svmlight_file(path, dtype=np.float32, query_id=True)`` (Cython parser; returns a CSR
  matrix, y, qid).

Both run alternately (A B A B) and the medians are quoted. Before timing, both are checked to return identical X
values, y and qid on a 100k-row file from the same generator, and ``load_letor`` loads the full file once (JIT
compilation, page cache). The gzipped file is
timed for ``load_letor`` alone (scikit-learn reads it only through a Python file object).

Usage::

    python scripts/bench_loading.py                 # 1M rows, 2 repeats: writes BENCHMARKS.md; dominated by
                                                    # scikit-learn (12-15 min per load on 2 busy cores)
    python scripts/bench_loading.py --rows 200000   # a few minutes
    python scripts/bench_loading.py --quick         # 100k rows, 1 repeat, does not write BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench import alternate, machine_info, median, publish  # noqa: E402

N_FEATURES = 46


def write_letor_file(path, n_rows, seed=0, block=20000):
    """A MQ2008-shaped file of ``n_rows`` rows; returns the number of queries.

    Feature text is formatted for one block of ``block`` distinct rows and reused with fresh labels and query ids
    (formatting a million rows one float at a time in Python would take longer than the benchmark).
    """
    rng = np.random.default_rng(seed)
    values = rng.random((block, N_FEATURES))
    values[rng.random((block, N_FEATURES)) < 0.2] = 0.0  # LETOR's query-level normalisation gives many exact 0s
    feats = [" ".join(f"{j + 1}:{v:.6f}" for j, v in enumerate(row)) for row in values]
    sizes = []
    total = 0
    while total < n_rows:
        size = int(min(rng.integers(5, 121), n_rows - total))
        sizes.append(size)
        total += size
    qid = np.repeat(np.arange(10000, 10000 + len(sizes)), sizes)
    labels = rng.choice(3, size=n_rows, p=[0.81, 0.13, 0.06])
    with open(path, "w") as fh:
        for start in range(0, n_rows, block):
            stop = min(start + block, n_rows)
            lines = [
                f"{labels[i]} qid:{qid[i]} {feats[i - start]} #docid = GX{i:06d}-00-0000000 inc = 1 prob = 0.{i % 97:04d}\n"
                for i in range(start, stop)
            ]
            fh.write("".join(lines))
    return len(sizes)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=2, help="timed runs of each loader (default 2)")
    parser.add_argument("--quick", action="store_true", help="100k rows, 1 repeat, no BENCHMARKS.md update")
    parser.add_argument("--tmp", default=None, help="folder for the generated file (default: system temp)")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.repeats = 100_000, 1

    from sklearn.datasets import load_svmlight_file

    import sklearn

    from gbm_objectives import datasets

    tmp = Path(tempfile.mkdtemp(prefix="bench_loading_", dir=args.tmp))
    try:
        path = tmp / "letor.txt"
        t0 = time.perf_counter()
        n_queries = write_letor_file(path, args.rows)
        size = path.stat().st_size
        print(f"wrote {path} ({args.rows:,} rows, {n_queries:,} queries, {size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
        gz = tmp / "letor.txt.gz"
        with open(path, "rb") as src, gzip.open(gz, "wb", compresslevel=1) as out:
            shutil.copyfileobj(src, out, 1 << 20)

        def ours():
            return datasets.load_letor(path)

        def theirs():
            return load_svmlight_file(str(path), dtype=np.float32, query_id=True)

        # identical results first, on a 100k-row file from the same generator (this also compiles the parser;
        # scikit-learn needs minutes for the full file, so it is loaded there only for the timed runs)
        small = tmp / "small.txt"
        write_letor_file(small, min(args.rows, 100_000), seed=1)
        X, y, qid = datasets.load_letor(small)
        Xs, ys, qs = load_svmlight_file(str(small), dtype=np.float32, query_id=True)
        assert isinstance(X, np.ndarray) and X.dtype == np.float32 and X.shape[1] == N_FEATURES
        np.testing.assert_array_equal(X, Xs.toarray())
        np.testing.assert_array_equal(y, ys)
        np.testing.assert_array_equal(qid, qs)
        X, y, qid = ours()
        assert X.shape == (args.rows, N_FEATURES) and len(np.unique(qid)) == n_queries
        del X, y, qid, Xs, ys, qs
        print("outputs identical on the 100k-row check file (X, y, qid)", flush=True)

        times = alternate({"load_letor": ours, "sklearn": theirs}, repeats=args.repeats, warmup=0)
        gz_times = alternate({"load_letor_gz": lambda: datasets.load_letor(gz)}, repeats=args.repeats, warmup=0)
        ours_s, theirs_s, gz_s = median(times["load_letor"]), median(times["sklearn"]), median(gz_times["load_letor_gz"])
        rows = [
            ("`gbm_objectives.datasets.load_letor` (plain)", ours_s, times["load_letor"]),
            ("`sklearn.datasets.load_svmlight_file` (plain)", theirs_s, times["sklearn"]),
            ("`gbm_objectives.datasets.load_letor` (gzip)", gz_s, gz_times["load_letor_gz"]),
        ]
        for name, s, all_s in rows:
            print(f"{name}: median {s:.2f} s ({args.rows / s:,.0f} rows/s; runs {', '.join(f'{t:.2f}' for t in all_s)})")
        print(f"ratio sklearn / load_letor: {theirs_s / ours_s:.2f}x")
        table = "\n".join(
            f"| {name} | {s:.2f} | {args.rows / s / 1e3:,.0f}k | {size / s / 1e6:,.0f} | "
            f"{', '.join(f'{t:.2f}' for t in all_s)} |"
            for name, s, all_s in rows
        )
        md = f"""## Loading LETOR / SVMlight files (`scripts/bench_loading.py`)

Generated MQ2008-shaped file: {args.rows:,} rows, {n_queries:,} queries, `qid:` column, {N_FEATURES} dense features
with 6 decimals (20 % exact zeros), a `#docid` comment per line; {size / 1e6:,.0f} MB plain ({gz.stat().st_size / 1e6:,.0f} MB
gzipped). Wall time of one full load, median of {args.repeats} runs alternating A B A B, after a check that both return
identical X values, y and qid (on a 100k-row file from the same generator). `load_letor` returns dense float32 X (it
checks that the qids are contiguous) and parses chunks on {os.cpu_count()} threads; scikit-learn returns a float32 CSR
matrix and parses on one thread.

| loader | median s | rows/s | MB/s (plain text) | runs (s) |
|---|---|---|---|---|
{table}

**`load_letor` is {theirs_s / ours_s:.1f}x faster than scikit-learn's parser** on this file (ratio of medians).
Machine: {machine_info(threads=os.cpu_count())}, scikit-learn {sklearn.__version__}; 1-minute load average
{os.getloadavg()[0]:.1f} at the end of the run.
"""
        publish("loading", md, write=not args.quick)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
