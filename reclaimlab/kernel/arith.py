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
