"""An in-place heap sort for the numba kernels.

numpy's ``sort`` inside a kernel costs about a second of compilation per signature; a heap sort is a small kernel,
allocates nothing and is O(m log m) for every input (Williams 1964; Knuth, *TAOCP* vol. 3, 5.2.3). Values only:
any correct sort of the same values gives the same array, so callers' results do not depend on which sort it is.
"""

from __future__ import annotations

from numba import njit

__all__ = ["heapsort"]


@njit(cache=True, nogil=True)
def heapsort(a, lo, hi):  # pragma: no cover (compiled)
    """Sort ``a[lo:hi]`` increasingly, in place (a max-heap; its largest value moved to the back, the heap shrunk).

    >>> import numpy as np
    >>> a = np.array([9.0, 3.0, 7.0, 1.0, 5.0])
    >>> heapsort(a, 1, 4)
    >>> a.tolist()
    [9.0, 1.0, 3.0, 7.0, 5.0]
    """
    m = hi - lo
    for start in range(m // 2 - 1, -1, -1):
        _sift_down(a, lo, start, m)
    for end in range(m - 1, 0, -1):
        x = a[lo]
        a[lo] = a[lo + end]
        a[lo + end] = x
        _sift_down(a, lo, 0, end)


@njit(cache=True, nogil=True)
def _sift_down(a, lo, i, end):  # pragma: no cover (compiled)
    """Restore the max-heap ``a[lo:lo + end]`` below its node ``i``."""
    while 2 * i + 1 < end:
        c = 2 * i + 1
        if c + 1 < end and a[lo + c + 1] > a[lo + c]:
            c += 1
        if not a[lo + c] > a[lo + i]:
            return
        x = a[lo + i]
        a[lo + i] = a[lo + c]
        a[lo + c] = x
        i = c
