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
SHARED_DATASETS = Path(os.environ.get("GBM_OBJECTIVES_DATA", ROOT.parent / "shared" / "datasets"))


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


def alternate(fns, repeats=5, warmup=1, cpu=None):
    """Time each callable in ``fns`` (a dict name -> fn), alternating; returns name -> list of seconds.

    ``warmup`` untimed rounds first (JIT compilation, caches). The order flips every repeat (A B, B A, A B, ...):
    on a shared machine the second of a back-to-back pair was measured up to 15 % slower or faster than the first,
    and a fixed order would put that bias into the ratio. Report the median, and ratios of medians. ``cpu``: a dict
    that receives name -> list of the process's CPU seconds per call (all its threads; not inflated by waiting for
    a core on a loaded machine, as wall time is).
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {name: [] for name in fns}
    if cpu is not None:
        cpu.update({name: [] for name in fns})
    items = list(fns.items())
    for r in range(repeats):
        for name, fn in items if r % 2 == 0 else items[::-1]:
            c0 = time.process_time()
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
            if cpu is not None:
                cpu[name].append(time.process_time() - c0)
    return times


def lockstep(trainers, rounds, repeats=3, warmup=1):
    """Train several models round by round in lockstep; returns name -> list of seconds (one total per repeat).

    ``trainers`` maps a name to ``(start, step)``: ``start()`` builds a fresh model (not timed), ``step(model, i)``
    runs boosting round ``i`` (timed). Round ``i`` of every model runs before round ``i + 1`` of any, in an order
    flipped every round, so that a slow spell of a shared machine (seconds long, up to +-15 % measured) falls on
    all of them alike instead of on whichever happened to be running. ``warmup`` untimed repeats first.
    """
    names = list(trainers)
    times = {name: [] for name in names}
    for rep in range(warmup + repeats):
        models = {name: trainers[name][0]() for name in names}
        total = dict.fromkeys(names, 0.0)
        for i in range(rounds):
            for name in names if i % 2 == 0 else names[::-1]:
                t0 = time.perf_counter()
                trainers[name][1](models[name], i)
                total[name] += time.perf_counter() - t0
        if rep >= warmup:
            for name in names:
                times[name].append(total[name])
        del models
    return times


def median(xs):
    return statistics.median(xs)


def publish(name, markdown, write=True, detail=""):
    """Write ``markdown`` as section ``name`` of BENCHMARKS.md (and say so), or only print it when not ``write``."""
    if write:
        write_section(name, markdown)
        print(f"wrote the '{name}' section of {BENCHMARKS}{detail}")
    else:
        print(markdown)


def write_section(name, markdown):
    """Replace (or append) the section between ``<!-- BEGIN name -->`` and ``<!-- END name -->``."""
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    block = f"{begin}\n{markdown.strip()}\n{end}"
    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else "# Benchmarks\n\nWritten by `scripts/bench_*.py`.\n"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    BENCHMARKS.write_text(text)
