"""Shared helpers for the ``scripts/bench_*.py`` benchmarks: machine facts, A/B alternating timing, and writing
one named section of ``BENCHMARKS.md`` without touching the others."""

from __future__ import annotations

import os
import platform
import re
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "BENCHMARKS.md"
SHARED_DATASETS = ROOT.parent / "shared" / "datasets"


def machine_info(threads=None):
    """One line naming the machine, thread count and library versions (quoted with every ratio)."""
    import lightgbm
    import numba
    import numpy
    import xgboost

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, threads={threads}, Python {platform.python_version()}, "
        f"numpy {numpy.__version__}, numba {numba.__version__}, LightGBM {lightgbm.__version__}, "
        f"XGBoost {xgboost.__version__}"
    )


def alternate(fns, repeats=5, warmup=1):
    """Time each callable in ``fns`` (a dict name -> fn), alternating A B A B; returns name -> list of seconds.

    ``warmup`` untimed rounds first (JIT compilation, caches). Report the median, and ratios of medians.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def median(xs):
    return statistics.median(xs)


def write_section(name, markdown):
    """Replace (or append) the section between ``<!-- BEGIN name -->`` and ``<!-- END name -->``."""
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    block = f"{begin}\n{markdown.strip()}\n{end}"
    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else "# Benchmarks\n\nWritten by `scripts/bench_*.py`.\n"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    BENCHMARKS.write_text(text)
