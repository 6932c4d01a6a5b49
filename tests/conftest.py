"""Shared fixtures: seeded RNG and the real public data (tests skip if it is absent).

The shared data root is ``$GBM_OBJECTIVES_DATA``; when unset, it defaults here (at import, so every test and every
subprocess a test starts sees it) to ``../shared/datasets`` beside this checkout, where the project keeps verified
copies (``PROVENANCE.md``). The library itself never looks there on its own.
"""

import os
from pathlib import Path

# With pytest-xdist (``-n 2``, the README's test command) each worker compiles numba kernels into a cache folder of
# its own: two processes never write one cache at once, and ``tests/core/test_numba_cache.py`` (run first on its
# worker) compares kernels this worker compiled itself with the same kernels loaded by a new process. Set before
# anything imports numba (numba reads NUMBA_CACHE_DIR when imported).
if os.environ.get("PYTEST_XDIST_WORKER") and os.environ.get("NUMBA_CACHE_DIR"):
    os.environ["NUMBA_CACHE_DIR"] = os.path.join(os.environ["NUMBA_CACHE_DIR"], os.environ["PYTEST_XDIST_WORKER"])
# OpenMP threads that wait sleep instead of spinning (LightGBM, XGBoost and numba's parallel loops each bring an
# OpenMP team). With two workers on two cores, a spinning team burns the core the other worker (or a descheduled
# member of its own team) needs, and the suite slows down (files that train with the engines most of all). Only
# how idle threads wait changes: thread counts and every result are the same. Set before anything loads an OpenMP
# runtime (read at load); subprocesses (CLI runs, README blocks, Dask workers) inherit it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

os.environ.setdefault(
    "GBM_OBJECTIVES_DATA", str(Path(__file__).resolve().parent.parent.parent / "shared" / "datasets")
)
SHARED_DATASETS = Path(os.environ["GBM_OBJECTIVES_DATA"].split(os.pathsep)[0])


def shared_dataset(*parts):
    """Path to a file or folder under the shared data root, or skip the test with the reason."""
    path = SHARED_DATASETS.joinpath(*parts)
    if not path.exists():
        pytest.skip(
            f"real data not available: {path} is absent (set GBM_OBJECTIVES_DATA to a folder of the public data sets; "
            f"see ../shared/datasets/PROVENANCE.md)"
        )
    return path


def group_sizes_of(qid):
    """Sizes of the runs of equal consecutive ``qid`` values (the ``group`` of contiguous queries)."""
    return np.diff(np.flatnonzero(np.r_[True, qid[1:] != qid[:-1], True]))


def pytrec_evaluate(qrels, run, measures, threshold=1, judged_only=False):
    """pytrec_eval's per-query values (``{qid: {measure: value}}``) of DataFrames ``qrels`` (qid, docno, relevance)
    and ``run`` (qid, docno, score); skips without pytrec_eval."""
    pytrec_eval = pytest.importorskip("pytrec_eval")
    q, r = {}, {}
    for a, d, x in qrels[["qid", "docno", "relevance"]].itertuples(index=False):
        q.setdefault(a, {})[d] = int(x)
    for a, d, s in run[["qid", "docno", "score"]].itertuples(index=False):
        r.setdefault(a, {})[d] = float(s)
    return pytrec_eval.RelevanceEvaluator(q, measures, relevance_level=threshold,
                                          judged_docs_only_flag=judged_only).evaluate(r)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="module")
def client():
    """A real ``distributed.LocalCluster(n_workers=2, threads_per_worker=1)`` and its client, started once per test
    module that asks for it (the Dask tests) and closed after it; skips without the ``dask`` extra."""
    distributed = pytest.importorskip("distributed", reason="dask[distributed] is not installed (extra 'dask')")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def pytest_collection_modifyitems(config, items):
    """The order of the run. Tests marked ``first`` run before all others: the fresh-versus-cached comparison of
    ``tests/core/test_numba_cache.py`` needs its process to compile its kernels itself, before any other test's
    subprocess writes them to that process's numba cache. Then the files with the most tests, as pytest-xdist's
    own reordering would put them (the README's command turns that reordering off, ``--no-loadscope-reorder``, so
    that this order, the first file included, is the one the workers get). Tests keep their order inside a file."""
    from collections import Counter

    def file_of(item):
        return item.nodeid.split("::")[0]

    counts = Counter(file_of(item) for item in items)
    first_files = {file_of(item) for item in items if item.get_closest_marker("first")}
    items.sort(key=lambda item: (item.get_closest_marker("first") is None, file_of(item) not in first_files,
                                 -counts[file_of(item)]))
