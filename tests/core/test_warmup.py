"""Tests for gbm_objectives._warmup: it runs, restores the parallel thresholds, and leaves numba's cache warm."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gbm_objectives._core.jit import PARALLEL_MIN
from gbm_objectives._warmup import _parallel_everywhere

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import json, sys
from gbm_objectives._warmup import package_dispatchers, warmup
seconds = warmup()
ds = package_dispatchers()
print("RESULT " + json.dumps({
    "seconds": seconds,
    "uncompiled": sorted(k for k, d in ds.items() if not d.signatures),
    "misses": sum(sum(d.stats.cache_misses.values()) for d in ds.values()),
    "hits": sum(sum(d.stats.cache_hits.values()) for d in ds.values()),
}))
"""


def run_child(debug):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if debug:
        env["NUMBA_DEBUG_CACHE"] = "1"
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    line = next(l for l in out.stdout.splitlines() if l.startswith("RESULT "))
    return json.loads(line[len("RESULT "):]), out.stdout


def test_parallel_thresholds_are_lowered_then_restored():
    before = dict(PARALLEL_MIN)
    assert before["pointwise"] > 0 and before["pointwise_cheap"] > 0 and before["lambdarank"] > 0
    with _parallel_everywhere():
        assert PARALLEL_MIN == dict.fromkeys(before, 0)
    assert PARALLEL_MIN == before


@pytest.mark.slow
def test_warmup_compiles_every_kernel_and_a_new_process_loads_them_from_the_cache():
    """First process: warmup compiles every kernel of the package, or loads those this suite already compiled (the
    cache is the suite's own, so the test costs no second cold compilation). Second, new process: warmup again
    compiles nothing (no cache miss, nothing saved) and loads its kernels from the cache."""
    first, _ = run_child(debug=False)
    # (which dispatchers report a compiled signature is not checked: a kernel loaded from the cache compiles none
    # of its callees, so callees of cached kernels look "uncompiled" although the callers need nothing more)
    assert set(first["seconds"]) == {"objectives (serial)", "objectives (parallel)", "metrics", "metrics (parallel)", "letor",
                                     "trec runs", "trec runs (parallel)", "total"}
    warm, stdout = run_child(debug=True)
    assert warm["misses"] == 0 and warm["hits"] > 0
    assert "data saved to" not in stdout and "index saved to" not in stdout and "data loaded from" in stdout
    print(f"\nwarmup seconds, first process: {first['seconds']}\nwarmup seconds, warm cache: {warm['seconds']}")
