"""What the Dask adapters and :mod:`gbm_objectives.dask` share: the thread count of the worker a task runs on, and
the ``distributed`` clients (a new local cluster, a scheduler address, the current client). No math.

The only place that imports ``distributed`` for :mod:`gbm_objectives.dask` (its ``connect`` and its estimators
call the functions below).
"""

from __future__ import annotations

import contextlib

from distributed import Client, LocalCluster, get_client, get_worker


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


@contextlib.contextmanager
def local_client(n_workers):
    """A ``Client`` of a new ``LocalCluster(n_workers=n_workers, threads_per_worker=1)`` (worker processes, no
    dashboard, quiet logs); the cluster and the client are closed on exit."""
    import logging

    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        yield client


@contextlib.contextmanager
def remote_client(address):
    """A ``Client`` of the scheduler at ``address``; only the client is closed on exit (the cluster keeps running)."""
    with Client(address) as client:
        yield client


def current_client():
    """The current ``distributed`` client (``distributed.get_client()``), or ``None`` when there is none."""
    try:
        return get_client()
    except ValueError:
        return None
