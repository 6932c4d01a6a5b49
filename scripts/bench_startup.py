"""Start-up cost: ``import gbm_objectives`` (``python -X importtime``) and the first call in a fresh process with
the numba cache really warm, plus ``gbm-objectives warmup``.

Each figure is a new Python process. Import time is the ``-X importtime`` cumulative total of the top-level
``gbm_objectives`` entry, median of alternated runs; ``--compare-with DIR`` (a checkout of an older commit) measures
that tree's import side by side in the same run. First calls: the call is run once in a process to fill the cache,
then timed in new processes (``NUMBA_DEBUG_CACHE`` is not needed: the warm runs must report no compilation, which
the script checks through numba's dispatcher statistics).

    python scripts/bench_startup.py [--compare-with /path/to/old/checkout] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench  # noqa: E402

ROOT = _bench.ROOT

FIRST_CALL = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
import gbm_objectives as go
from gbm_objectives.datasets import make_ranking
t_import = time.perf_counter() - t0
X, y, qid = make_ranking(n_queries={n_queries}, docs_per_query=(20, 200), n_features=4, seed=0)
s = X[:, 0].astype(np.float64)
t1 = time.perf_counter()
go.evaluate(y, s, qid=qid, metrics=("ndcg@10", "mrr", "map", "auc"))
t_eval = time.perf_counter() - t1
t2 = time.perf_counter()
go.LambdaRankObjective().grad_hess(y, s, qid=qid)
t_obj = time.perf_counter() - t2
t3 = time.perf_counter()
go.evaluate(y, s, qid=qid, metrics=("ndcg@10", "mrr", "map", "auc"))
t_eval2 = time.perf_counter() - t3
from gbm_objectives._warmup import package_dispatchers
misses = sum(sum(d.stats.cache_misses.values()) for d in package_dispatchers().values())
print("RESULT " + json.dumps({{"import": t_import, "evaluate": t_eval, "lambdarank": t_obj, "evaluate_again": t_eval2,
                              "rows": len(y), "cache_misses": misses}}))
"""


def _run(code, env=None, cwd=ROOT):
    out = subprocess.run([sys.executable, *code], capture_output=True, text=True, env=env, cwd=cwd)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return out


def import_time(tree):
    """Cumulative microseconds of ``import gbm_objectives`` from ``python -X importtime`` (with ``tree`` first on
    the path), and the engine modules it pulled in."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = _run(["-X", "importtime", "-c", "import sys, gbm_objectives; print([m for m in ('lightgbm', 'xgboost', "
                "'matplotlib', 'pandas', 'sklearn') if m in sys.modules])"], env=env, cwd=tree)
    total = None
    for line in out.stderr.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] == "gbm_objectives":
            total = int(parts[1])
    return total / 1e6, out.stdout.strip()


def first_calls(n_queries, repeats):
    code = FIRST_CALL.format(n_queries=n_queries)
    _run(["-c", code])  # fill the cache
    results = []
    for _ in range(repeats):
        line = next(x for x in _run(["-c", code]).stdout.splitlines() if x.startswith("RESULT "))
        results.append(json.loads(line[len("RESULT "):]))
    return results


def warmup_times():
    out = _run(["-m", "gbm_objectives", "warmup", "-q"])
    return out.stdout.strip()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compare-with", metavar="DIR", help="an older checkout to time `import` against")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--queries", type=int, default=10_000, help="queries of the first-call data (default 10k)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)

    trees = {"this tree": ROOT}
    if args.compare_with:
        old = Path(args.compare_with).resolve()
        rev = subprocess.run(["git", "-C", str(old), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True).stdout.strip() or old.name
        trees = {f"before (commit {rev})": old, **trees}
    times = {name: [] for name in trees}
    pulled = {}
    for _ in range(args.repeats):  # alternate A B A B
        for name, tree in trees.items():
            seconds, modules = import_time(tree)
            times[name].append(seconds)
            pulled[name] = modules
    lines = [f"Machine: {_bench.machine_info()}", "",
             f"`import gbm_objectives` (`python -X importtime`, cumulative, median of {args.repeats} alternated "
             "new processes):", "", "| tree | seconds | heavy modules imported |", "|---|---|---|"]
    for name in trees:
        lines.append(f"| {name} | {statistics.median(times[name]):.3f} | {pulled[name]} |")
    calls = first_calls(args.queries, max(3, args.repeats // 2))
    med = {k: statistics.median(r[k] for r in calls) for k in ("import", "evaluate", "lambdarank", "evaluate_again")}
    misses = max(r["cache_misses"] for r in calls)
    lines += ["", f"First calls in a fresh process with the numba cache warm (filled by an earlier process; "
              f"{calls[0]['rows']:,} rows, {args.queries:,} queries; median of {len(calls)} processes; numba cache "
              f"misses in the timed processes: {misses}):", "",
              "| step | seconds |", "|---|---|",
              f"| `import gbm_objectives` + `make_ranking` import | {med['import']:.3f} |",
              f"| first `go.evaluate` (ndcg@10, mrr, map, auc) | {med['evaluate']:.3f} |",
              f"| first `LambdaRankObjective().grad_hess` | {med['lambdarank']:.3f} |",
              f"| second `go.evaluate` (same process) | {med['evaluate_again']:.3f} |"]
    t0 = time.perf_counter()
    table = warmup_times()
    lines += ["", f"`gbm-objectives warmup` with the cache already warm ({time.perf_counter() - t0:.1f} s wall, "
              "including interpreter start); an empty cache costs several minutes on this 2-core machine "
              "(compilation of every kernel, once per install):", "", "```", table, "```"]
    markdown = "## Start-up: import and first calls (`scripts/bench_startup.py`)\n\n" + "\n".join(lines) + "\n"
    _bench.publish("startup", markdown, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
