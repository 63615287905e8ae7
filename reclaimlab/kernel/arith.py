"""Bindings to the C arithmetic of do_shrink_slab() (``_scan.c``).

The loop lives in C because it is the inner loop of sweeps, simulations and
trace replays, and it must follow C's integer rules to the letter: wrap-around
of signed longs (``-fwrapv``, as the kernel's ``-fno-strict-overflow``),
``unsigned long long`` delta, ``do_div()`` with a 32-bit divisor and Rik van
Riel's ``int small_scan``. The extension is built when the package is
installed; it is called through ctypes on raw array pointers.
"""
from __future__ import annotations

import ctypes

import numpy as np

from . import _scan  # the compiled extension; imported for its file path

SHRINK_BATCH = 128
DEF_PRIORITY = 12
INT_MAX = 2**31 - 1

# Error codes returned by the C loop (0 = fine); they mirror _scan.c.
(ERR_FREEABLE, ERR_PRIORITY, ERR_SEEKS_NEGATIVE, ERR_SEEKS_ZERO, ERR_SEEKS_TOO_BIG,
 ERR_BATCH, ERR_NR_DEFERRED, ERR_SMALL_SCAN, ERR_LRU_SCANNED, ERR_LRU_ELIGIBLE,
 ERR_LRU_DIVISOR) = range(1, 12)

_lib = ctypes.CDLL(_scan.__file__)
_rl_scan = _lib.rl_scan
_rl_scan.restype = ctypes.c_int64
_I, _P = ctypes.c_int64, ctypes.c_void_p
_rl_scan.argtypes = [_I] * 7 + [_P, _I] * 10 + [_P] * 4 + [_P, _I, _P, _I]

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
    """
    n = out_delta.size
    args = []
    for key in INPUT_ORDER:
        a = flat[key]
        assert a.dtype == np.int64 and a.flags.c_contiguous and a.size in (1, n) or n == 0
        args += [a.ctypes.data, a.size]
    if n == 0:
        return 0, -1
    code = _rl_scan(*rules, calls, n, *args,
                    out_delta.ctypes.data, out_total.ctypes.data, out_scanned.ctypes.data,
                    out_next.ctypes.data, out_small.ctypes.data, out_small.size,
                    out_sum.ctypes.data, out_sum.size)
    return (int(code), int(out_sum[0])) if code else (0, -1)
