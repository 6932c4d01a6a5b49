"""Engine-independent plumbing shared by the adapters: the per-training-set cache, float32 buffers, kernel threads."""

from __future__ import annotations

import contextlib
import weakref

import numpy as np

from ..objectives import get_objective


@contextlib.contextmanager
def numba_threads(n_jobs):
    """Run this package's kernels on ``n_jobs`` threads (restored afterwards); ``None``: numba's default."""
    if n_jobs is None or int(n_jobs) < 1:
        yield
        return
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(n_jobs), numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(before)


class CachedObjective:
    """Holds an objective, the validated training set it was last called on, and reusable output buffers.

    Labels, weights and groups are validated once per training-set object (held by weak reference), not on
    every boosting round. Gradients are written straight into float32 buffers, the type both engines consume.
    """

    def __init__(self, objective, prepared=None):
        self.objective = get_objective(objective)
        self._ref = None
        self._extra = ()
        self._prepared = None
        self._buffers = None
        # a training set prepared ahead (gbm_objectives.train with position=): used for every call, never re-read
        self._fixed = prepared

    def _prepared_for(self, key, read, extra=()):
        """``read()`` returns (y, weight, group); it is called only when ``key`` (with the identities in ``extra``)
        is a new training set."""
        if self._fixed is not None:
            return self._fixed
        extra = tuple(id(x) for x in extra)
        if self._ref is None or self._ref() is not key or self._extra != extra:
            y, weight, group = read()
            self._prepared = self.objective.prepare(y, sample_weight=weight, group=group)
            try:
                self._ref = weakref.ref(key)
            except TypeError:  # not weak-referenceable (e.g. a list): validate on every call
                self._ref = None
            self._buffers = None
            self._extra = extra
        return self._prepared

    def compute(self, key, read, raw_score, extra=()):
        prepared = self._prepared_for(key, read, extra)
        raw = np.asarray(raw_score)
        if self._buffers is None or self._buffers[0].shape != raw.shape:
            # (n, k) buffers are Fortran-ordered (one contiguous column a class): what LightGBM reads, what the
            # multiclass kernels write fastest; XGBoost reads any strides through the array interface
            self._buffers = (np.empty(raw.shape, np.float32, order="F"), np.empty(raw.shape, np.float32, order="F"))
        return self.objective.grad_hess_prepared(prepared, raw, grad_out=self._buffers[0], hess_out=self._buffers[1])

    def __repr__(self):
        return f"{type(self).__name__}({self.objective!r})"

    def __getstate__(self):
        return {"objective": self.objective}

    def __setstate__(self, state):
        self.__init__(state["objective"])

    def __deepcopy__(self, memo):
        # lgb.train deep-copies its params: the copy shares a training set prepared ahead, whose learned state
        # (position biases) the caller reads after training
        import copy

        return type(self)(copy.deepcopy(self.objective, memo), self._fixed)


def constant_score_array(init, n_rows):
    """A constant start (scalar, or per-class vector of shape (k,)) repeated for ``n_rows`` rows: the shape of
    LightGBM's Dataset ``init_score`` and of XGBoost's DMatrix ``base_margin``."""
    init = np.asarray(init, dtype=np.float64)
    if init.ndim == 0:
        return np.full(n_rows, float(init))
    return np.tile(init, (n_rows, 1))


def empty_to_none(a):
    return None if a is None or len(a) == 0 else a
