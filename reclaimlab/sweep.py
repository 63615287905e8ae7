"""``rl.sweep``: scan-count formulas over grids of inputs, as an xarray Dataset."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from ._version import __version__
from .kernel.formulas import REGISTRY
from .kernel import evaluate

_SWEPT = ("freeable", "priority", "batch", "seeks")

_COORD_ATTRS = {
    "freeable": {"units": "objects", "long_name": "cache size (freeable objects)"},
    "priority": {"units": "1", "long_name": "reclaim priority"},
    "batch": {"units": "objects", "long_name": "shrinker batch size"},
    "seeks": {"units": "1", "long_name": "shrinker seeks"},
    "formula": {"long_name": "scan-count formula"},
}

_VAR_ATTRS = {
    "delta": {"units": "objects", "long_name": "delta of the last call"},
    "total_scan": {"units": "objects", "long_name": "total_scan after the caps, last call"},
    "scanned": {"units": "objects", "long_name": "objects scanned by the last call"},
    "scanned_total": {"units": "objects", "long_name": "objects scanned over all calls"},
    "next_deferred": {"units": "objects", "long_name": "nr_deferred after the last call"},
    "small_scan": {"units": "objects", "long_name": "small_scan accumulator after the last call"},
    "pressure": {"units": "1", "long_name": "fraction of the cache scanned per call"},
}


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


def _kernel(freeable, priority, batch, seeks, nr_deferred, small_scan, *, spec, calls):
    """apply_ufunc core: plain arrays in, tuple of arrays out."""
    result, total = evaluate(spec, dict(
        freeable=freeable, priority=priority, seeks=seeks, batch=batch,
        nr_deferred=nr_deferred, small_scan=small_scan, lru_scanned=0, lru_eligible=0,
        shrink_stop=False,
    ), calls=calls)
    return (result.delta, result.total_scan, result.scanned, total,
            result.next_deferred, result.small_scan)


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
        Number of successive calls (>= 1).
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
    for k, attrs in _VAR_ATTRS.items():
        ds[k].attrs = dict(attrs)
    for k, attrs in _COORD_ATTRS.items():
        if k in ds.coords:
            ds[k].attrs = dict(attrs)
    ds.attrs = {
        "title": "shrinker scan counts (reclaimlab.sweep)",
        "calls": int(calls),
        "formulas": ", ".join(s.name for s in specs),
        "reclaimlab_version": __version__,
    }
    return ds
