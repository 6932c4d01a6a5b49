"""What the Dask adapters share: the thread count of the worker a task runs on. No math."""

from __future__ import annotations

from distributed import get_worker


def worker_threads():
    """The thread count of the Dask worker running this task (``None`` outside a worker).

    ``lightgbm.dask`` and ``xgboost.dask`` give each worker's engine that many threads; the objective's kernels,
    called by the engine inside the same task, get the same number (numba's default, every core of the machine,
    would oversubscribe it when several workers share one machine).
    """
    try:
        return get_worker().state.nthreads
    except ValueError:  # not running on a worker
        return None
