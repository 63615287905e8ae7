"""``rl.sweep``: scan-count formulas over grids of inputs, as an xarray Dataset."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from ._version import __version__
from .kernel.formulas import REGISTRY
from .kernel import evaluate
from .model.schema import SWEEP_COORDS, SWEEP_VARS

_SWEPT = ("freeable", "priority", "batch", "seeks")


def _as_input(name: str, value):
    """A scalar stays a scalar; a 1-D sequence becomes a DataArray along dim ``name``."""
    if isinstance(value, xr.DataArray):
        return value
    arr = np.asarray(value)
    if arr.ndim == 0:
        return value
    if arr.ndim != 1:
        raise ValueError(f"{name} has shape {arr.shape}; allowed: a scalar, a 1-D sequence, or an xarray.DataArray")
    return xr.DataArray(arr, dims=[name], coords={name: arr}, name=name)


#: Most ``calls x points`` one :func:`sweep` evaluates (points summed over
#: formulas): 10**10, minutes of CPU at tens of millions per second. Larger
#: requests are refused before any work with a ValueError naming the limit.
MAX_CALL_POINTS = 10**10

#: Work per C call when ``calls`` is split into chunks: a few tens of
#: milliseconds, so Ctrl-C (KeyboardInterrupt) is seen between chunks.
CHUNK_CALL_POINTS = 2_000_000


def _kernel(freeable, priority, batch, seeks, nr_deferred, small_scan, *, spec, calls):
    """apply_ufunc core: plain arrays in, tuple of arrays out.

    Long runs are split into chunks of calls, carrying ``nr_deferred`` and
    ``small_scan`` from one chunk to the next exactly as the loop carries them
    from one call to the next; Python checks for KeyboardInterrupt in between.
    """
    values = dict(freeable=freeable, priority=priority, seeks=seeks, batch=batch,
                  nr_deferred=nr_deferred, small_scan=small_scan, lru_scanned=0, lru_eligible=0,
                  shrink_stop=False)
    n = max(1, int(np.prod(np.broadcast_shapes(*(np.shape(v) for v in values.values())), dtype=np.int64)))
    step = max(1, CHUNK_CALL_POINTS // n)
    if calls <= step:
        result, total = evaluate(spec, values, calls=calls)
    else:
        result, total = _chunked(spec, values, calls, step)
    return (result.delta, result.total_scan, result.scanned, total,
            result.next_deferred, result.small_scan)


def _chunked(spec, values, calls: int, step: int):
    """``evaluate(spec, values, calls)`` in chunks of ``step`` calls, interruptible in between."""
    state = dict(values)
    total = None
    done = 0
    while done < calls:
        k = min(step, calls - done)
        try:
            result, scanned = evaluate(spec, state, calls=k)
        except ValueError:
            if done == 0:
                raise                       # a bad input: the first chunk checks them all
            # The carried state left the range the input check accepts (an int
            # accumulator that wrapped): one uninterrupted run gives the exact answer.
            return evaluate(spec, values, calls=calls)
        total = scanned if total is None else total + scanned
        state["nr_deferred"], state["small_scan"] = result.next_deferred, result.small_scan
        done += k
    return result, total


def sweep(
    formulas: str | Sequence[str],
    freeable,
    priority,
    *,
    batch=128,
    seeks=2,
    calls: int = 1,
    nr_deferred=0,
    small_scan=0,
) -> xr.Dataset:
    """Evaluate formulas over a grid of cache sizes, priorities, batches and seeks.

    Every swept input (a 1-D sequence, or a DataArray, possibly dask-backed)
    becomes a dimension named after it; a scalar stays a scalar coordinate.
    ``calls`` repeats the call, carrying ``nr_deferred`` and ``small_scan``
    from one call to the next, as repeated reclaim at a fixed priority would.

    Parameters
    ----------
    formulas : str or sequence of str
        Formula names or aliases; a sequence becomes the ``formula`` dim (the
        names are kept as passed).
    freeable, priority, batch, seeks : int, 1-D sequence or xarray.DataArray
        Inputs of :func:`reclaimlab.formulas.scan`.
    calls : int
        Number of successive calls (>= 1). ``calls`` times the number of
        points (the product of the swept sizes, times the number of formulas)
        may be at most :data:`MAX_CALL_POINTS` (10**10); long runs are
        evaluated in chunks of calls and stop on Ctrl-C (KeyboardInterrupt).
    nr_deferred, small_scan : int or xarray.DataArray
        Starting values of the carried state.

    Returns
    -------
    xarray.Dataset
        ``delta``, ``total_scan``, ``scanned`` (last call), ``scanned_total``
        (all calls), ``next_deferred``, ``small_scan`` and ``pressure`` =
        scanned_total / (calls * freeable) (NaN where freeable is 0), each with
        ``units`` and ``long_name``.

    Examples
    --------
    >>> import reclaimlab as rl
    >>> ds = rl.sweep(["v4.19", "v5.0"], freeable=[1_000, 1_000_000], priority=12,
    ...               batch=1024, calls=100)
    >>> ds.pressure.sel(formula="v4.19", freeable=1_000).item()
    1.0
    >>> round(ds.pressure.sel(formula="v5.0", freeable=1_000_000).item(), 6)
    0.000481
    """
    single = isinstance(formulas, str)
    names = [formulas] if single else list(formulas)
    if not names:
        raise ValueError("formulas=[] is empty; allowed: a formula name or a non-empty list of names")
    specs = [REGISTRY.resolve(n) for n in names]
    if not isinstance(calls, (int, np.integer)) or isinstance(calls, bool) or calls < 1:
        raise ValueError(f"calls={calls!r} is not allowed; calls must be an integer >= 1")
    args = [_as_input(k, v) for k, v in zip(_SWEPT, (freeable, priority, batch, seeks))]
    args += [_as_input("nr_deferred", nr_deferred), _as_input("small_scan", small_scan)]
    sizes: dict = {}
    for a in args:
        if isinstance(a, xr.DataArray):
            sizes.update(a.sizes)
    points = len(specs) * int(np.prod([int(v) for v in sizes.values()], dtype=object))
    if int(calls) * points > MAX_CALL_POINTS:
        raise ValueError(
            f"calls={int(calls)} over {points} points is {int(calls) * points} call-points; "
            f"allowed: calls x points <= {MAX_CALL_POINTS} (MAX_CALL_POINTS)"
        )
    out_names = ("delta", "total_scan", "scanned", "scanned_total", "next_deferred", "small_scan")
    per_formula = []
    for spec in specs:
        outs = xr.apply_ufunc(
            _kernel, *args,
            kwargs={"spec": spec, "calls": int(calls)},
            output_core_dims=[()] * len(out_names),
            dask="parallelized",
            output_dtypes=[np.uint64] + [np.int64] * (len(out_names) - 1),
        )
        per_formula.append(xr.Dataset({k: v for k, v in zip(out_names, outs)}))
    ds = per_formula[0] if single else xr.concat(per_formula, dim="formula", coords="minimal", compat="override", join="override")
    ds = ds.assign_coords(formula=names[0] if single else np.array(names, dtype=object))
    for k, v in zip(_SWEPT, (freeable, priority, batch, seeks)):
        if k not in ds.coords and np.ndim(v) == 0 and not isinstance(v, xr.DataArray):
            ds = ds.assign_coords({k: v})
    F = args[0] if isinstance(args[0], xr.DataArray) else xr.DataArray(freeable)
    ds["pressure"] = (ds.scanned_total / (calls * F.where(F > 0))).astype(np.float64)
    for k, attrs in SWEEP_VARS.items():
        ds[k].attrs = dict(attrs)
    for k, attrs in SWEEP_COORDS.items():
        if k in ds.coords:
            ds[k].attrs = dict(attrs)
    ds.attrs = {
        "title": "shrinker scan counts (reclaimlab.sweep)",
        "calls": int(calls),
        "formulas": ", ".join(s.name for s in specs),
        "reclaimlab_version": __version__,
    }
    return ds
