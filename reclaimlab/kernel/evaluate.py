"""Evaluate a formula on integer arrays: coercion, the C loop, user delta rules."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import arith, inputs
from .registry import delta_fn_takes_state
from .spec import DELTA_CUSTOM, FormulaSpec

INPUT_NAMES = ("freeable", "priority", "seeks", "batch", "nr_deferred", "small_scan",
               "lru_scanned", "lru_eligible", "shrink_stop")


@dataclass(frozen=True)
class ScanResult:
    """The outcome of do_shrink_slab() calls, as numpy arrays broadcast over the inputs.

    Attributes
    ----------
    delta : numpy.ndarray of uint64
        The delta step (the start tracepoint's ``delta``).
    total_scan : numpy.ndarray of int64
        The scan target after the caps (the start tracepoint's ``total_scan``).
    scanned : numpy.ndarray of int64
        Objects scanned by the loop, every batch fully scanned.
    next_deferred : numpy.ndarray of int64
        What the ``nr_deferred`` slot holds after the call.
    small_scan : numpy.ndarray of int64
        The accumulator after the call (unchanged for formulas without one).
    """

    delta: np.ndarray
    total_scan: np.ndarray
    scanned: np.ndarray
    next_deferred: np.ndarray
    small_scan: np.ndarray


def evaluate(spec: FormulaSpec, values: dict, calls: int = 1) -> tuple[ScanResult, np.ndarray]:
    """Run ``calls`` successive calls of ``spec``; return the last call and the total scanned.

    ``values`` maps every name of :data:`INPUT_NAMES` to an int or array.
    ``nr_deferred`` and ``small_scan`` are carried from one call to the next.
    """
    if not isinstance(calls, (int, np.integer)) or isinstance(calls, bool) or calls < 1:
        raise ValueError(f"calls={calls!r} is not allowed; calls must be an integer >= 1")
    arrays = {k: inputs.as_int_array(k, values[k]) for k in INPUT_NAMES if k != "shrink_stop"}
    arrays["shrink_stop"] = inputs.as_flag_array("shrink_stop", values.get("shrink_stop", False))
    shape, flat = inputs.flatten_broadcast(arrays)
    if spec.delta_rule != DELTA_CUSTOM:
        return _run(spec, shape, flat, int(calls), np.zeros(1, np.int64))
    arrays, flat = dict(arrays), dict(flat)
    if not delta_fn_takes_state(spec.delta_fn):
        # Without state the rule sees the same inputs on every call, so it gives the
        # same delta each time: evaluate it once and let the C loop run the calls.
        custom, state = _user_delta(spec, shape, arrays)
        flat["small_scan"] = state.reshape(-1)
        return _run(spec, shape, flat, int(calls), custom.reshape(-1))
    # A stateful rule is numpy code: run it once per call, carrying its state.
    total = np.zeros(shape, np.int64)
    for _ in range(int(calls)):
        custom, state = _user_delta(spec, shape, arrays)
        flat["small_scan"] = state.reshape(-1)
        result, scanned = _run(spec, shape, flat, 1, custom.reshape(-1))
        total += scanned
        arrays["nr_deferred"], arrays["small_scan"] = result.next_deferred, result.small_scan
        flat["nr_deferred"] = result.next_deferred.reshape(-1)
    return result, total


def _user_delta(spec: FormulaSpec, shape, arrays) -> tuple[np.ndarray, np.ndarray]:
    """Call the registered delta_fn and check what it returned."""
    fn = spec.delta_fn
    batch = np.where(arrays["batch"] == 0, arith.SHRINK_BATCH, arrays["batch"])
    args = (arrays["freeable"], arrays["priority"], arrays["seeks"], batch)
    state = np.broadcast_to(arrays["small_scan"], shape)
    out = fn(*args, state) if delta_fn_takes_state(fn) else fn(*args)
    new_state = state
    if isinstance(out, tuple):
        if len(out) != 2:
            raise TypeError(f"delta_fn of formula {spec.name!r} returned a tuple of {len(out)}; "
                            f"allowed: delta or (delta, state)")
        out, new_state = out
        new_state = inputs.as_int_array(f"state returned by delta_fn of {spec.name!r}", new_state)
    delta = np.asarray(out)
    if delta.dtype.kind == "u":
        delta = delta.astype(np.uint64).view(np.int64)
    else:
        delta = inputs.as_int_array(f"delta returned by delta_fn of {spec.name!r}", delta)
        if delta.size and delta.min() < 0:
            raise ValueError(
                f"delta returned by delta_fn of {spec.name!r} contains {int(delta.min())}; "
                f"allowed: non-negative integers (delta is an unsigned 64-bit count)"
            )
    try:
        delta = np.broadcast_to(delta, shape)
        new_state = np.broadcast_to(new_state, shape)
    except ValueError:
        raise ValueError(f"delta_fn of formula {spec.name!r} returned shape {delta.shape}; "
                         f"allowed: shapes that broadcast to {shape}") from None
    # The kernel returns before the delta step when freeable == 0: the state stays.
    new_state = np.where(np.broadcast_to(arrays["freeable"], shape) == 0, state, new_state)
    return np.ascontiguousarray(delta), np.ascontiguousarray(new_state, dtype=np.int64)


def _run(spec: FormulaSpec, shape, flat, calls: int, custom: np.ndarray) -> tuple[ScanResult, np.ndarray]:
    """Allocate outputs and call the C loop."""
    n = int(np.prod(shape, dtype=np.int64))
    delta = arith.empty(shape, np.uint64)
    total_scan, scanned, next_deferred = (arith.empty(shape, np.int64) for _ in range(3))
    # small_scan changes only under an accumulator or a user's rule; otherwise
    # the input is passed through as a broadcast view instead of being copied.
    carries_state = spec.accumulator or spec.delta_rule == DELTA_CUSTOM or n <= 1
    small = arith.empty(shape, np.int64) if carries_state else np.empty(1, np.int64)
    scanned_total = arith.empty(shape, np.int64) if calls > 1 or n <= 1 else np.empty(1, np.int64)
    code, index = arith.run(
        (spec.delta_rule, spec.zero_seek, spec.deferral, spec.floor, spec.accumulator), calls,
        dict(flat, custom=custom, stop=flat["shrink_stop"]),
        delta.reshape(-1), total_scan.reshape(-1), scanned.reshape(-1), next_deferred.reshape(-1),
        small.reshape(-1), scanned_total.reshape(-1),
    )
    inputs.raise_for(code, index, flat, spec.name)
    if not carries_state:
        src = flat["small_scan"]
        small = np.broadcast_to(src.reshape(shape) if src.size == n else src[0], shape)
    if scanned_total.shape != shape:
        scanned_total = scanned
    return ScanResult(delta, total_scan, scanned, next_deferred, small), scanned_total
