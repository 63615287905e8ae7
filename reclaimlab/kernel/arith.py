"""Bindings to the C arithmetic of do_shrink_slab() (``reclaimlab/native/scan.c``).

The loop lives in C because it is the inner loop of sweeps, simulations and
trace replays, and it must follow C's integer rules to the letter: wrap-around
of signed longs (``-fwrapv``, as the kernel's ``-fno-strict-overflow``),
``unsigned long long`` delta, ``do_div()`` with a 32-bit divisor and Rik van
Riel's ``int small_scan``. It is part of the extension module
:mod:`reclaimlab._native`, built when the package is installed; the arrays are
handed over through the buffer protocol and the loop runs without the GIL.
"""
from __future__ import annotations

import numpy as np

from .._native import block as _block   # pooled output memory (reclaimlab/native/outbuf.c)
from .._native import scan as _scan   # the C loop of reclaimlab/native/scan.c

SHRINK_BATCH = 128
DEF_PRIORITY = 12
INT_MAX = 2**31 - 1

# Error codes returned by the C loop (0 = fine); they mirror scan.c.
(ERR_FREEABLE, ERR_PRIORITY, ERR_SEEKS_NEGATIVE, ERR_SEEKS_ZERO, ERR_SEEKS_TOO_BIG,
 ERR_BATCH, ERR_NR_DEFERRED, ERR_SMALL_SCAN, ERR_LRU_SCANNED, ERR_LRU_ELIGIBLE,
 ERR_LRU_DIVISOR) = range(1, 12)

INPUT_ORDER = ("freeable", "priority", "seeks", "batch", "nr_deferred", "small_scan",
               "lru_scanned", "lru_eligible", "custom", "stop")


# Outputs at least this large come from the extension's pool of freed blocks:
# fresh mmap()ed pages would cost a page fault and the kernel's zeroing each.
POOLED_BYTES = 1 << 20


def empty(shape: tuple[int, ...], dtype) -> np.ndarray:
    """An uninitialised output array; large ones reuse memory of freed outputs.

    Parameters
    ----------
    shape : tuple of int
        Shape of the array.
    dtype : numpy dtype
        An 8-byte integer dtype (the C loop's outputs).

    Returns
    -------
    numpy.ndarray
        Writable, C-contiguous. Its contents are undefined until the loop writes them.

    Examples
    --------
    >>> a = empty((1000, 1000), np.int64)
    >>> a.shape, a.dtype, a.flags.writeable
    ((1000, 1000), dtype('int64'), True)
    """
    dtype = np.dtype(dtype)
    n = 1
    for d in shape:
        n *= int(d)
    nbytes = n * dtype.itemsize
    if nbytes < POOLED_BYTES:
        return np.empty(shape, dtype)
    return np.frombuffer(_block(nbytes), dtype, count=n).reshape(shape)


def run(rules: tuple[int, int, int, bool, bool], calls: int, flat: dict[str, np.ndarray],
        out_delta: np.ndarray, out_total: np.ndarray, out_scanned: np.ndarray,
        out_next: np.ndarray, out_small: np.ndarray, out_sum: np.ndarray) -> tuple[int, int]:
    """Evaluate ``calls`` successive calls at every point.

    Parameters
    ----------
    rules : tuple
        ``(delta_rule, zero_seek, deferral, floor, accumulator)`` codes of
        :mod:`reclaimlab.kernel.spec`.
    calls : int
        Successive calls per point; ``nr_deferred`` and ``small_scan`` carry over.
    flat : dict of str to numpy.ndarray
        Contiguous int64 arrays named as :data:`INPUT_ORDER`, each of the
        output length n or of length 1 (broadcast).
    out_delta, out_total, out_scanned, out_next : numpy.ndarray
        Contiguous outputs of length n (uint64 for delta, int64 otherwise).
    out_small, out_sum : numpy.ndarray
        int64, of length n, or of length 1 when the caller does not need them.

    Returns
    -------
    tuple of int
        ``(error_code, flat_index)``: 0 and -1 when every input was valid.

    Examples
    --------
    >>> import numpy as np
    >>> one = lambda v: np.array([v], np.int64)
    >>> flat = dict(zip(INPUT_ORDER, map(one, (1000, 12, 2, 128, 0, 0, 0, 0, 0, 0))))
    >>> outs = [np.empty(1, np.uint64)] + [np.empty(1, np.int64) for _ in range(5)]
    >>> run((1, 1, 1, False, False), 1, flat, *outs), int(outs[0][0])
    ((0, -1), 0)
    """
    # The extension checks every buffer (contiguous, 8-byte integers, length n or 1).
    return _scan((int(rules[0]), int(rules[1]), int(rules[2]), int(rules[3]), int(rules[4])), calls,
                 [flat[key] for key in INPUT_ORDER],
                 (out_delta, out_total, out_scanned, out_next, out_small, out_sum))
