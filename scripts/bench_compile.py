"""Compile budget: what numba compilation costs a user, measured in new processes on an empty cache.

* ``gbm-objectives warmup`` on an empty ``NUMBA_CACHE_DIR`` (every kernel a public call can reach), seconds per step;
* ``gbm-objectives warmup`` again in a new process on the cache the first one wrote (it must load, not compile:
  the number of numba cache misses is counted and reported);
* the first call of each public entry point in its own new process, each on its own empty cache (what the first
  use of one function costs: its kernels' compilation and nothing else).

Each figure is one process (compilation is deterministic work; the machine's load is printed beside it). Targets
of issue 21 on the 2-core machine: warmup <= 3 minutes, a second warmup <= 15 s with no cache miss, the first call
of any one public function <= 10 s.

* the CPU seconds of each kernel's own compilation during one ``warmup`` (numba's compile events).

    python scripts/bench_compile.py [--only warmup|kernels|first] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench  # noqa: E402

ROOT = _bench.ROOT

#: name -> setup code and the timed call (the setup's imports and data are not timed)
FIRST_CALLS = {
    "`LambdaRankObjective().grad_hess`": (
        "X, y, qid = go.datasets.make_ranking(n_queries=50, seed=0); s = X[:, 0].astype(float)",
        "go.LambdaRankObjective().grad_hess(y, s, qid=qid)"),
    "`go.evaluate` (ndcg@10, mrr, map, auc)": (
        "X, y, qid = go.datasets.make_ranking(n_queries=50, seed=0); s = X[:, 0].astype(float)",
        "go.evaluate(y, s, qid=qid, metrics=('ndcg@10', 'mrr', 'map', 'auc'))"),
    "`go.ndcg_score`": (
        "X, y, qid = go.datasets.make_ranking(n_queries=50, seed=0); s = X[:, 0].astype(float)",
        "go.ndcg_score(y, s, qid=qid, k=10)"),
    "`FocalLoss().grad_hess`": (
        "X, y = go.datasets.make_imbalanced(n_samples=1000, seed=0); s = X[:, 0].astype(float)",
        "go.FocalLoss().grad_hess(y, s)"),
    "`SoftmaxCrossEntropy(3).grad_hess`": (
        "import numpy as np; y = np.arange(300) % 3.0; s = np.zeros((300, 3))",
        "go.SoftmaxCrossEntropy(n_classes=3).grad_hess(y, s)"),
    "`XENDCGObjective().grad_hess`": (
        "X, y, qid = go.datasets.make_ranking(n_queries=50, seed=0); s = X[:, 0].astype(float)",
        "go.XENDCGObjective().grad_hess(y, s, qid=qid)"),
    "`ListMLEObjective().grad_hess`": (
        "X, y, qid = go.datasets.make_ranking(n_queries=50, seed=0); s = X[:, 0].astype(float)",
        "go.ListMLEObjective().grad_hess(y, s, qid=qid)"),
    "`ApproxNDCGObjective().grad_hess`": (
        "X, y, qid = go.datasets.make_ranking(n_queries=50, seed=0); s = X[:, 0].astype(float)",
        "go.ApproxNDCGObjective().grad_hess(y, s, qid=qid)"),
    "`LambdaLossObjective().grad_hess`": (
        "X, y, qid = go.datasets.make_ranking(n_queries=50, seed=0); s = X[:, 0].astype(float)",
        "go.LambdaLossObjective().grad_hess(y, s, qid=qid)"),
    "`go.read_run` + `go.evaluate_run`": (
        "import os, tempfile; d = tempfile.mkdtemp(); q = os.path.join(d, 'q'); r = os.path.join(d, 'r'); "
        "open(q, 'w').write('1 0 a 1\\n1 0 b 0\\n'); open(r, 'w').write('1 Q0 a 1 0.5 t\\n1 Q0 b 2 0.7 t\\n')",
        "go.evaluate_run(go.read_qrels(q), go.read_run(r), metrics=('ndcg_cut_10', 'map'))"),
    "`go.datasets.load_letor`": (
        "import os, tempfile; d = tempfile.mkdtemp(); p = os.path.join(d, 'x.txt'); "
        "open(p, 'w').write('1 qid:1 1:0.5 2:1\\n0 qid:1 1:1.5\\n')",
        "go.datasets.load_letor(p)"),
    "`go.train('lambdarank')`, 5 rounds (LightGBM)": (
        "X, y, qid = go.datasets.make_ranking(n_queries=50, seed=0)",
        "go.train('lambdarank', X, y, qid=qid, num_boost_round=5, n_jobs=1)"),
}

CHILD = r"""
import json, time
import gbm_objectives as go
{setup}
t0, c0 = time.perf_counter(), time.process_time()
{call}
seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
print("RESULT " + json.dumps({{"seconds": seconds, "cpu": cpu}}))
"""

# warmup with numba's compile events recorded: the CPU seconds of each compilation less those of the compilations
# nested in it (numba compiles a callee inside its caller's compilation)
PER_KERNEL = r"""
import json, time
from collections import defaultdict
from numba.core import event

stack, own = [], defaultdict(float)


class Listener(event.Listener):
    def on_start(self, ev):
        stack.append([time.process_time(), 0.0])

    def on_end(self, ev):
        t0, inner = stack.pop()
        spent = time.process_time() - t0
        if stack:
            stack[-1][1] += spent
        fn = getattr(ev.data.get("dispatcher"), "py_func", None)
        module = getattr(fn, "__module__", "") or ""
        name = (module + "." + fn.__qualname__) if module.startswith("gbm_objectives") else "numba/numpy internals"
        own[name] += spent - inner


event.register("numba:compile", Listener())
from gbm_objectives._warmup import warmup
warmup()
print("RESULT " + json.dumps(own))
"""


def _load():
    return os.getloadavg()[0]


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(args, cache, extra_env=None):
    """Run ``args`` on the numba cache ``cache``: (completed process, wall seconds, CPU seconds of the child)."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache, **(extra_env or {}))
    t0, c0 = time.perf_counter(), _children_cpu()
    out = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - c0
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return out, wall, cpu


def _warmup_table(stdout):
    return "\n".join(line for line in stdout.splitlines() if not line.startswith("["))


def warmup_section():
    cli = [sys.executable, "-m", "gbm_objectives", "warmup", "--quiet"]
    with tempfile.TemporaryDirectory() as cache:
        load0 = _load()
        cold, cold_wall, cold_cpu = _run(cli, cache)
        load1 = _load()
        warm, warm_wall, warm_cpu = _run(cli, cache, {"NUMBA_DEBUG_CACHE": "1"})
        misses = sum(1 for line in warm.stdout.splitlines() if "index saved to" in line or "data saved to" in line)
        loads = sum(1 for line in warm.stdout.splitlines() if "data loaded from" in line)
    table_lines = [line for line in warm.stdout.splitlines() if not line.startswith("[") and
                   not line.startswith("[cache") and "cache" not in line.lower()]
    return "\n".join([
        f"`gbm-objectives warmup` on an empty numba cache: **{cold_wall:.1f} s** wall, **{cold_cpu:.1f} s** CPU "
        f"(user + system of the process; compilation is single-threaded, so on an idle machine wall ~ CPU; load "
        f"average {load0:.1f} before, {load1:.1f} after); wall seconds per step:", "", "```",
        _warmup_table(cold.stdout).strip(), "```", "",
        f"Again in a new process on the cache it wrote: **{warm_wall:.1f} s** wall, {warm_cpu:.1f} s CPU; kernels "
        f"loaded from the cache: {loads}, written (cache misses): {misses}.", "", "```",
        "\n".join(table_lines).strip(), "```", ""])


def per_kernel_section(top=25):
    with tempfile.TemporaryDirectory() as cache:
        out, _, cpu = _run([sys.executable, "-c", PER_KERNEL], cache)
    own = json.loads(next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))[len("RESULT "):])
    ranked = sorted(own.items(), key=lambda kv: -kv[1])
    rows = [f"| `{name}` | {sec:.1f} |" for name, sec in ranked[:top]]
    rest = sum(sec for _, sec in ranked[top:])
    return "\n".join([
        f"Compilation per kernel during one `warmup` on an empty cache (CPU seconds of each function's own "
        f"compilation, nested compilations of its callees excluded; {len(own)} functions, {sum(own.values()):.1f} s "
        f"of the process's {cpu:.1f} s CPU; the {top} largest):", "", "| function | CPU seconds |", "|---|---|",
        *rows, f"| the other {max(len(ranked) - top, 0)} | {rest:.1f} |", ""])


def first_call_section():
    rows = []
    for name, (setup, call) in FIRST_CALLS.items():
        with tempfile.TemporaryDirectory() as cache:
            load = _load()
            out, _, _ = _run([sys.executable, "-c", CHILD.format(setup=setup, call=call)], cache)
            line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))
            result = json.loads(line[len("RESULT "):])
        rows.append(f"| {name} | {result['seconds']:.1f} | {result['cpu']:.1f} | {load:.1f} |")
        print(rows[-1], flush=True)
    return "\n".join(["First call of one public function in a new process on an empty numba cache (its kernels' "
                      "compilation; imports and data set-up not timed), one process each:", "",
                      "| call | wall seconds | CPU seconds | load average |", "|---|---|---|---|", *rows, ""])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("warmup", "kernels", "first"))
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    parts = ["## Compile budget: numba compilation on an empty cache (`scripts/bench_compile.py`)", "",
             f"Machine: {_bench.machine_info()}", ""]
    if args.only in (None, "warmup"):
        parts.append(warmup_section())
    if args.only in (None, "kernels"):
        parts.append(per_kernel_section())
    if args.only in (None, "first"):
        parts.append(first_call_section())
    _bench.publish("compile", "\n".join(parts), write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
