"""What the Dask adapters and :mod:`gbm_objectives.dask` share: the thread count of the worker a task runs on, and
the ``distributed`` clients (a new local cluster, a scheduler address, the current client). No math.

The only place that imports ``distributed`` for :mod:`gbm_objectives.dask` (its ``connect`` and its estimators
call the functions below).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings

from distributed import Client, LocalCluster, get_client, get_worker
from distributed.diagnostics.plugin import WorkerPlugin


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
def local_client(n_workers, verbose=False):
    """A ``Client`` of a new ``LocalCluster(n_workers=n_workers, threads_per_worker=1)`` (worker processes, no
    dashboard); the cluster and the client are closed on exit.

    Quiet unless ``verbose``: the workers log ``distributed`` records at CRITICAL only (``silence_logs``) and their
    engines print nothing (:func:`quiet_worker`: LightGBM's ``[LightGBM] [Info]`` network lines, XGBoost's ``Task
    ... got rank`` lines and its empty-worker warnings). Errors still reach the client as exceptions. With
    ``verbose``, ``distributed``'s own configuration (INFO) and the engines' output are left as they are.
    """
    # no dashboard; the scheduler's own HTTP server (metrics) on a free local port: its default, 8787, is taken
    # whenever another cluster runs, and distributed then warns on every start
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                      silence_logs=False if verbose else logging.CRITICAL) as cluster, Client(cluster) as client:
        if not verbose:  # a plugin: a worker the nanny restarts (after running out of memory) is quiet too
            client.register_plugin(QuietWorker())
        yield client


class QuietWorker(WorkerPlugin):
    """The worker plugin of a quiet local cluster: :func:`quiet_worker` on every worker process it starts."""

    name = "gbm-objectives-quiet-worker"

    def setup(self, worker):
        quiet_worker()


class _SilentLogger:
    """A logger for ``lightgbm.register_logger``: info lines dropped, warnings kept (as Python warnings)."""

    def info(self, msg):
        pass

    def warning(self, msg):
        warnings.warn(msg, UserWarning, stacklevel=3)


def quiet_worker():
    """Run on every worker process of a quiet local cluster (:class:`QuietWorker`): its standard output and error go to
    ``os.devnull``, at the file-descriptor level.

    The engines write from their own C++ code on the threads that train, where their Python log callbacks are not
    installed (both keep them per thread): LightGBM's ``[LightGBM] [Info]`` network lines to the standard output,
    XGBoost's ``Task ... got rank`` lines to the standard error; no logger setting reaches them. What a failing
    task raises still reaches the client as an exception. The worker processes end with the cluster.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)


@contextlib.contextmanager
def client_logs(verbose=False):
    """In this (the client's) process, for the duration: ``distributed``'s loggers at CRITICAL and LightGBM's
    client-side info lines (``Finding random open ports for workers``) dropped; both restored on exit. With
    ``verbose``, nothing is changed."""
    if verbose:
        yield
        return
    names = ["distributed"] + sorted(n for n in logging.root.manager.loggerDict if n.startswith("distributed."))
    levels = {n: logging.getLogger(n).level for n in names}
    restore_lgb = None
    try:
        import lightgbm
        from lightgbm import basic

        previous = (basic._LOGGER, basic._INFO_METHOD_NAME, basic._WARNING_METHOD_NAME)
        restore_lgb = lambda: lightgbm.register_logger(*previous)  # noqa: E731
        lightgbm.register_logger(_SilentLogger())
    except (ImportError, AttributeError):  # pragma: no cover - lightgbm is a dependency; its private names moved
        pass
    for n in names:
        logging.getLogger(n).setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for n, level in levels.items():
            logging.getLogger(n).setLevel(level)
        if restore_lgb is not None:
            restore_lgb()


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
