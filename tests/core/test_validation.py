"""gbm_objectives._core.validation: read-only input (pandas >= 3 columns, read-only memmaps) reaches the kernels as
the writable arrays they were compiled for."""

import numpy as np
import pandas as pd

import gbm_objectives as go
from gbm_objectives._core.validation import writable
from gbm_objectives._warmup import package_dispatchers


def _signatures():
    return sum(len(d.signatures) for d in package_dispatchers().values())


def test_read_only_input_compiles_no_second_kernel_and_gives_the_same_values():
    """A read-only array is another numba type: without the copy, each kernel was compiled a second time for it
    (not by ``gbm-objectives warmup``), e.g. for every pandas column."""
    rng = np.random.default_rng(0)
    y, raw = rng.normal(size=50), rng.normal(size=50)
    objective = go.SquaredError()
    expected = objective.grad_hess(y, raw)
    before = _signatures()
    frame = pd.DataFrame({"y": y, "raw": raw})
    assert not frame["y"].to_numpy().flags.writeable  # what pandas hands out
    ro_y, ro_raw = y.copy(), raw.copy()
    ro_y.flags.writeable = ro_raw.flags.writeable = False
    for args in ((frame["y"], frame["raw"]), (ro_y, ro_raw)):
        got = objective.grad_hess(*args)
        assert all(np.array_equal(a, b) for a, b in zip(got, expected))
    assert _signatures() == before


def test_writable_copies_only_read_only_arrays_and_keeps_their_layout():
    a = np.asfortranarray(np.arange(6.0).reshape(3, 2))
    assert writable(a) is a
    a.flags.writeable = False
    b = writable(a)
    assert b.flags.writeable and b.flags.f_contiguous and np.array_equal(a, b) and not np.shares_memory(a, b)
