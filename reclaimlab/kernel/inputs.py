"""Input coercion and the error messages of the formula layer.

Inputs must be integers (Python ints or integer numpy arrays); they are
broadcast against each other and handed to the C loop as flat int64
arrays. Range checks happen inside the loop (:mod:`.arith`); this module turns
its error codes into messages that name the parameter, the value and what is
allowed.
"""
from __future__ import annotations

import numbers

import numpy as np

from . import arith

INT64_MAX = np.iinfo(np.int64).max

# code -> (parameter, what is allowed)
_ALLOWED = {
    arith.ERR_FREEABLE: ("freeable", "a non-negative object count (0 is valid and scans nothing)"),
    arith.ERR_PRIORITY: ("priority", "an integer from 0 (most pressure) to 12 (DEF_PRIORITY)"),
    arith.ERR_SEEKS_NEGATIVE: ("seeks", "a non-negative C int (0 to 2147483647)"),
    arith.ERR_SEEKS_TOO_BIG: ("seeks", "a non-negative C int (0 to 2147483647)"),
    arith.ERR_BATCH: ("batch", "a non-negative batch size (0 means SHRINK_BATCH = 128)"),
    arith.ERR_NR_DEFERRED: ("nr_deferred", "a non-negative deferred object count"),
    arith.ERR_SMALL_SCAN: ("small_scan", "a non-negative C int (0 to 2147483647; the accumulator never goes below 0)"),
    arith.ERR_LRU_SCANNED: ("lru_scanned", "a non-negative page count"),
    arith.ERR_LRU_ELIGIBLE: ("lru_eligible", "a non-negative page count"),
    arith.ERR_LRU_DIVISOR: (
        "lru_eligible",
        "a value whose lru_eligible + 1 is not a multiple of 2**32 (do_div() "
        "truncates its divisor to 32 bits, so the kernel would divide by zero)",
    ),
}


def as_int_array(name: str, value) -> np.ndarray:
    """Return ``value`` as an int64 numpy array, or raise a clear error.

    Parameters
    ----------
    name : str
        Parameter name used in error messages.
    value : int or array_like of int
        Python ints, numpy integer scalars or arrays. Booleans and floats are
        refused: a fractional object count is a bug upstream, not something to
        round silently.

    Examples
    --------
    >>> as_int_array("freeable", [1, 2]).dtype
    dtype('int64')
    """
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}={value!r} is a bool; {name} must be an integer or an integer array")
    if isinstance(value, numbers.Integral) and not isinstance(value, np.integer):
        if not -(2**63) <= value <= INT64_MAX:
            raise ValueError(
                f"{name}={value} does not fit a 64-bit kernel long; "
                f"allowed: integers from {-(2**63)} to {INT64_MAX}"
            )
        return np.asarray(value, dtype=np.int64)
    arr = np.asarray(value)
    if arr.dtype.kind == "i":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "u":
        if arr.size and arr.max() > INT64_MAX:
            bad = arr.max()
            raise ValueError(
                f"{name} contains {bad}, which does not fit a 64-bit kernel long; "
                f"allowed: integers up to {INT64_MAX}"
            )
        return arr.astype(np.int64)
    if arr.dtype == object and arr.size and all(isinstance(v, numbers.Integral) for v in arr.flat):
        # Python ints too big for int64 (2**64, 10**30) keep numpy at dtype=object:
        # check the range here, or converting would give an object array again.
        values = [int(v) for v in arr.flat]
        bad = next((v for v in values if not -(2**63) <= v <= INT64_MAX), None)
        if bad is not None:
            raise ValueError(
                f"{name} contains {bad}, which does not fit a 64-bit kernel long; "
                f"allowed: integers from {-(2**63)} to {INT64_MAX}"
            )
        return np.array(values, dtype=np.int64).reshape(arr.shape)
    shown = value if arr.ndim == 0 else f"an array of dtype {arr.dtype}"
    raise TypeError(
        f"{name}={shown!s} is not an integer; {name} must be an integer or an "
        f"integer numpy array (kernel integer semantics, no floats)"
    )


def as_flag_array(name: str, value) -> np.ndarray:
    """Return a boolean flag (or array of flags) as int64 0/1.

    Examples
    --------
    >>> as_flag_array("shrink_stop", [True, False]).tolist()
    [1, 0]
    """
    arr = np.asarray(value)
    if arr.dtype.kind == "b":
        return arr.astype(np.int64)
    if arr.dtype.kind in "iu" and arr.size and np.isin(arr, (0, 1)).all():
        return arr.astype(np.int64)
    shown = value if arr.ndim == 0 else f"an array of dtype {arr.dtype}"
    raise TypeError(f"{name}={shown!s} is not a flag; {name} must be True/False (or 0/1), or an array of them")


def flatten_broadcast(arrays: dict[str, np.ndarray]) -> tuple[tuple[int, ...], dict[str, np.ndarray]]:
    """Broadcast named arrays; return the shape and flat views for the loop.

    Arrays of one element stay one element long (the loop broadcasts them with
    an index mask), full-size arrays are raveled without copying when already
    contiguous, and anything else is materialised.
    """
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{k}{a.shape}" for k, a in arrays.items())
        raise ValueError(f"inputs cannot be broadcast together: {shapes}") from None
    size = int(np.prod(shape, dtype=np.int64))
    flat = {}
    for key, a in arrays.items():
        if a.size == 1:
            flat[key] = a.reshape(1)
        elif a.shape == shape:
            flat[key] = np.ascontiguousarray(a).reshape(-1)
        else:
            flat[key] = np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1)
        if size == 0:
            flat[key] = np.zeros(0, dtype=np.int64) if a.size != 1 else flat[key]
    return shape, flat


def raise_for(code: int, index: int, flat: dict[str, np.ndarray], formula: str) -> None:
    """Raise the error the loop reported for element ``index``."""
    if code == 0:
        return
    if code == arith.ERR_SEEKS_ZERO:
        raise ValueError(
            f"seeks=0 is not allowed for formula {formula!r}: it has no zero-seek "
            f"branch (the kernel would divide by zero); allowed: seeks >= 1, or a "
            f"formula with a zero-seek branch (v4.20 and later)"
        )
    name, allowed = _ALLOWED[code]
    arr = flat[name]
    value = int(arr[index if arr.size > 1 else 0])
    where = f" (at flat index {index})" if arr.size > 1 else ""
    raise ValueError(f"{name}={value}{where} is not allowed; {name} must be {allowed}")
