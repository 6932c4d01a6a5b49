"""The numba policy of the whole package: compilation flags, serial/parallel twins, and the one table of
parallel thresholds.

Every compiled kernel of the package takes its flags from here (``JIT``, ``POINTWISE_JIT``, ``PAIR_FASTMATH``) and
its parallel threshold from :data:`PARALLEL_MIN`, so the decisions that make results machine-independent are
written once.

Fastmath policy (every numba kernel of the package). Results must not depend on how a kernel was compiled: a
process that compiles it and one that loads it from numba's cache must give the same numbers, bit for bit, and no
flag may turn finite input into NaN or inf.

* ``nnan`` and ``ninf`` are never used anywhere: the kernels receive infinities by design (``exp`` overflow in the
  logistic forms, ``+inf`` sentinels) and must propagate them as IEEE does.
* ``nsz`` is never used either: together with ``reassoc`` it makes a kernel's rounding depend on which compilation
  of it runs (below).
* ``contract`` (a * b + c fused into one FMA, one rounding instead of two) is used by the pointwise kernels and
  ``vmath``: it cannot create NaN/inf from finite operands. But LLVM may fuse a vectorised loop and its scalar
  remainder differently, so a row's value can depend on its position in the array (measured: the softmax focal
  hessian, 1 ulp, for about one call in five on random inputs). Kernels where that happened are compiled without it
  (``exact_serial_and_parallel``); ``tests/objectives/test_objective_properties.py`` checks that permuting the rows
  of every pointwise objective permutes its output bit for bit.
* ``reassoc`` and ``arcp`` (reordering sums and products, reciprocal division) are used only in the pair loops that
  need them to vectorise their sums (LLVM's loop vectoriser splits a floating-point sum into partial sums only under
  ``reassoc``): LambdaRank's ``lambdarank._lambdarank_query`` and ApproxNDCG's and LambdaLoss's pair loops in
  ``objectives.listwise`` (``_approx_pass*``, ``_approx_tiles*``, ``_lambdaloss_rows``, ``_lambdaloss_tiles``,
  ``_lambdaloss_groups``; the query functions that call them carry no flag: nothing in them needs one). There every
  product is written with factors bounded in [0, 1] (or by the validated gains, weights and 1/maxDCG, or 1/e_i <=
  e^600; the batched inversions of the listwise tiles multiply factors in [1/16, 2]), so no reordering can overflow
  or underflow into 0 * inf. (An earlier form, ``(e_i u)(e_j u)``, was reassociated into ``(e_i e_j)(u u)`` = 0 *
  inf = NaN for distant scores in a fresh compilation.)
* Kernels that reproduce an engine bit for bit (LightGBM emulation, XGBoost's convention) and the metrics use no
  fastmath flag at all: their operation order is the specification.

Why not ``nsz`` (found when ApproxNDCG differed by 1-3 ulp, up to ~2000 ulp on small values, between a process that
compiled it and one that loaded it from the cache). numba compiles each jitted function into a library of its own
and links a copy of that library's code into every jitted caller, whose module LLVM then optimises again; a process
can hold both machine codes, and a call binds to the definition of the symbol that was loaded first. A process that
compiles runs the callee's own library (it is compiled, hence loaded, before its caller); a process that loads the
entry kernel from the cache has only the copies inside it (and a twin loaded after the other may bind to the other's
copies). Under ``reassoc`` *and* ``nsz`` LLVM's Reassociate pass and InstCombine's associative folds (they act only
on operations that carry both flags) reorder products and sums by operand ranks that depend on where the values sit
in the function, and the second optimisation ranked them differently: ApproxNDCG's coefficient denominator
``(1 + pi) * LN2 * lg * lg`` (its query function was flagged then) was ``((lg lg) LN2)(1 + pi)`` in
``_approx_ndcg_query``'s own library and ``(lg lg)((1 + pi) LN2)`` in the copy inside ``_listwise_block``, one ulp
apart, and the differences a_j - a_k of those coefficients cancel. With ``reassoc``, ``arcp`` and ``contract`` but
no ``nsz`` the two copies agree (so do each flag alone and ``reassoc`` with ``arcp`` or ``contract``; ``reassoc``
with ``nsz`` alone differs, tried on that function): the loop vectoriser, the one pass here that needs ``reassoc``,
runs once, when the function's own library is optimised, and marks the loops it vectorised so that a re-optimised
copy keeps them as they are. Not involved: the CPU features (numba keys its cache on them), the serial/parallel twin
selection, the ``inline="always"`` helpers (inlined into callers with the same flags) and the scratch buffers
(ApproxNDCG reads only elements it wrote). ``tests/core/test_numba_cache.py`` runs every ranking objective (all four
listwise ones, LambdaRank in each convention, BPR, XE-NDCG) and the metric kernels in a process with an empty cache
and again with the warm one, and requires identical bytes.

* Serial and parallel twins. A kernel run in parallel over queries or rows is compiled twice from one source
  (:func:`copy_function` gives the copy its own qualified name, so numba's on-disk cache keeps the two apart); a call
  takes the parallel twin only from the size in :data:`PARALLEL_MIN` up. Below it, waking a thread pool costs more
  than the work, and on a busy machine a parallel loop waits for a descheduled thread (tens of ms on 16k rows,
  measured); inside training, numba's threads also compete with the engine's OpenMP threads.
* Compile budget. A first call compiles what it reaches, so a kernel that dispatches on a runtime code compiles
  every branch: one ListMLE call compiled all four listwise losses, every LambdaRank call LightGBM's float32
  emulation too. Such kernels are templates specialised per variant (:func:`specialise`: the variant's code is a
  module constant, numba prunes the other branches before typing). Also avoided in kernels, each a second or more
  of compilation for a few lines: slice assignment between arrays (``a[:] = b`` compiles numba's shape-mismatch
  error path with its string formatting), ``np.sort``/``np.argsort`` (the package's own orders in ``_core.dcg``),
  and ``inline="always"`` on large helpers called from one driver (numba re-types every inlined body; the metric
  formulas are plain calls). ``scripts/bench_compile.py`` measures the budget per kernel and per first call.
* ``gbm-objectives warmup`` compiles the parallel twins by setting every entry of :data:`PARALLEL_MIN` to 0 for
  the duration of its parallel step.

numba's cache keys each kernel on its own source file: after editing a helper that other modules inline (``_dcg``,
``_vmath``), clear ``__pycache__`` (or touch the callers) before measuring, or stale machine code runs. An installed
release is unaffected (all files are new).
"""

from __future__ import annotations

import types

import numpy as np
from numba import njit

__all__ = ["JIT", "POINTWISE_JIT", "INLINE", "PAIR_FASTMATH", "PARALLEL_MIN", "copy_function", "Kernel",
           "serial_and_parallel", "cheap_serial_and_parallel", "exact_serial_and_parallel", "Specialised",
           "specialise"]

#: error_model="numpy": no ZeroDivisionError branch on each division, so loops vectorise (every divisor is
#: positive by construction). No fastmath flag: the flags of the kernels that need one are added to these.
JIT = dict(cache=True, nogil=True, error_model="numpy")
#: the pointwise kernels: fastmath "contract" only (FMA; cannot create NaN/inf from finite operands)
POINTWISE_JIT = dict(JIT, fastmath={"contract"})
#: inline helpers (``vmath``) compiled into their callers
INLINE = dict(POINTWISE_JIT, inline="always")
#: the pair loops that need reordered sums to vectorise (LambdaRank, ApproxNDCG, LambdaLoss); no ``nsz``: see the
#: policy above
PAIR_FASTMATH = {"reassoc", "contract", "arcp"}

#: The one table of parallel thresholds: a call runs its kernel's parallel twin from this size up.
#: ``pointwise``/``pointwise_cheap``: elements of the raw score (the cheap, memory-bound kernels: logistic, squared
#: error, Huber, quantile); ``lambdarank``: pair evaluations of a call (about 1 ms of work on one core);
#: ``listwise``/``xendcg``/``metrics``: rows.
PARALLEL_MIN = {
    "pointwise": 200_000,
    "pointwise_cheap": 4_000_000,
    "lambdarank": 2_000_000,
    "listwise": 50_000,
    "xendcg": 200_000,
    "metrics": 20_000,
}


def copy_function(fn, suffix, **replace):
    """A copy of ``fn`` with its own qualified name, so numba's on-disk cache keeps the two compilations apart.

    ``replace``: module globals that the copy sees with other values. A compile-time constant (numba reads a
    global as a constant and prunes the branches it decides) or the specialised callee of that constant: one source
    then compiles into kernels that each hold only the code their constant selects, so the first call of one
    objective compiles that objective's code and not its siblings' (see :func:`specialise`).
    """
    namespace = fn.__globals__ if not replace else {**fn.__globals__, **replace}
    copy = types.FunctionType(fn.__code__, namespace, fn.__name__ + suffix, fn.__defaults__, fn.__closure__)
    copy.__qualname__ = fn.__qualname__ + suffix
    copy.__doc__ = fn.__doc__
    return copy


class Kernel:
    """A kernel ``f(y, z, ...)`` compiled serial and parallel; calls pick by the number of elements of ``z``
    against ``PARALLEL_MIN["pointwise"]`` (``["pointwise_cheap"]`` for a cheap kernel)."""

    def __init__(self, fn, cheap=False, flags=None):
        flags = POINTWISE_JIT if flags is None else flags
        self.serial = njit(**flags)(copy_function(fn, "_serial"))
        self.parallel = njit(parallel=True, **flags)(copy_function(fn, "_parallel"))
        self.cheap = cheap
        self.__doc__ = fn.__doc__

    def __call__(self, y, z, *args):
        threshold = PARALLEL_MIN["pointwise_cheap" if self.cheap else "pointwise"]
        kernel = self.parallel if z.size >= threshold else self.serial
        return kernel(y, z, *args)


def serial_and_parallel(fn):
    """Decorator: ``fn`` as a :class:`Kernel`."""
    return Kernel(fn)


def cheap_serial_and_parallel(fn):
    """Decorator: ``fn`` as a cheap (memory-bound) :class:`Kernel`."""
    return Kernel(fn, cheap=True)


def exact_serial_and_parallel(fn):
    """Decorator: ``fn`` as a :class:`Kernel` compiled without any fastmath flag (not even ``contract``), for the
    kernels whose vectorised loop and scalar remainder would otherwise round differently (see the policy)."""
    return Kernel(fn, flags=JIT)


class Specialised:
    """A blocked kernel: ``block(b, *args)`` computes the queries of block ``b`` of the partition ``args[blocks_at]``
    (an int64 array of query offsets, blocks of about equal work), and ``parallel(*args)`` runs every block in a
    ``prange``. Called with ``parallel=False``, the block function runs once over all queries (a one-block
    partition replaces the caller's): there is no serial loop to compile, and the block function's own compilation
    is all a small call costs. (A serial twin of the loop compiled the block's code a second time: numba links a
    copy of each callee into its caller and LLVM optimises it again, several seconds per kernel, measured in the
    BENCHMARKS "compile" section.) The results do not depend on the partition: each query's values are computed
    from its own rows, with scratch buffers it writes before reading. ``gbm_objectives._warmup.package_dispatchers``
    finds ``block`` and ``parallel``."""

    def __init__(self, block, parallel, blocks_at):
        self.block = block
        self.parallel = parallel
        self.blocks_at = blocks_at

    def __call__(self, parallel, *args):
        """Run the kernel over every query: the parallel loop over the blocks, or the block function once."""
        if parallel:
            return self.parallel(*args)
        args = list(args)
        blocks = args[self.blocks_at]
        args[self.blocks_at] = np.array([0, blocks[-1]], dtype=np.int64)
        return self.block(0, *args)


def specialise(block, loop, name, blocks_at, flags=JIT, **constants):
    """A :class:`Specialised` kernel: ``block`` compiled with the module globals ``constants`` replaced
    (compile-time constants: numba prunes the branches they decide, so a variant compiles only its own code), and
    the parallel loop ``loop`` calling that block (``loop`` refers to it by ``block.__name__``); each under its own
    qualified name (``name`` is the variant's suffix) so numba's cache keeps the variants apart. ``blocks_at``: the
    position of the block partition among ``loop``'s arguments.

    Why: a fused kernel that dispatches on a runtime code compiles every branch on its first call (all four
    listwise losses for one ListMLE call; LightGBM's emulation for every LambdaRank call). Measured in the
    BENCHMARKS "compile" section.
    """
    if loop.__code__.co_varnames[blocks_at] != "blocks":
        raise AssertionError(f"{loop.__name__}'s argument {blocks_at} is not 'blocks'; this is a bug in gbm_objectives")
    compiled_block = njit(**flags)(copy_function(block, "_" + name, **constants))
    parallel = njit(parallel=True, **flags)(copy_function(loop, f"_{name}_parallel",
                                                          **{block.__name__: compiled_block}))
    return Specialised(compiled_block, parallel, blocks_at)
