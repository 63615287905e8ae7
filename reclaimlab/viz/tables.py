"""Tidy, aggregated tables behind every figure (shared by charts and text).

Each function takes a Dataset, checks that it has what the figure needs, picks
or aggregates what does not fit a flat figure and returns a :class:`FigureData`:
a tidy :class:`pandas.DataFrame` with at most ``max_rows`` rows plus the title,
subtitle lines and axis labels (with units) of the figure. The Altair charts
(:mod:`reclaimlab.viz.charts`) and the text figures (:mod:`reclaimlab.viz.text`)
both draw from these tables, so their numbers agree.

Only the Dataset schemas are assumed (:mod:`reclaimlab.model.schema`): each
figure checks the kind it draws with ``validate`` and names what is missing.
"""
from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from ..model.schema import kind, validate
from .provenance import provenance_lines

__all__ = [
    "FigureData", "LogAxis", "MAX_ROWS", "log_axis", "pressure", "priority_grid",
    "small_large_ratio", "timeline", "dying_memcgs", "scores", "scorecard", "trace_replay",
    "SCORE_VARS", "SCORE_SHORT",
]

#: Row budget per chart data set (Altair refuses more than 5000 by default).
MAX_ROWS = 4000

#: Preferred values of swept inputs when a figure has to pick one.
_PREFERRED = {"batch": 128, "seeks": 2, "priority": 12}

_SWEEP_INPUTS = ("freeable", "priority", "batch", "seeks")


@dataclass
class FigureData:
    """A figure's tidy table and its words.

    Attributes
    ----------
    df : pandas.DataFrame
        Tidy rows (one mark each), at most :data:`MAX_ROWS` unless stated.
    title : str
        Figure title.
    subtitle : list of str
        What was selected or aggregated, one short line each.
    labels : dict
        Column name -> axis title with units.
    meta : dict
        Anything else the renderers need (facets, units, extra tables).
    provenance : list of str
        Where the data came from: version and the command that remakes it
        (:func:`reclaimlab.viz.provenance.provenance`), one line per Dataset.
    """

    df: pd.DataFrame
    title: str
    subtitle: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    provenance: list[str] = field(default_factory=list)


@dataclass
class LogAxis:
    """A log scale that can still show zeros.

    Zeros are drawn at ``floor``, a decade below the smallest positive value,
    and labelled ``0``. ``floor`` is None when there are no zeros.
    """

    domain: tuple[float, float]
    ticks: list[float]
    floor: float | None

    def plot(self, values) -> np.ndarray:
        """Values to plot: zeros moved to the floor, NaN kept.

        Examples
        --------
        >>> log_axis([0, 0.5]).plot([0, 0.5]).tolist()
        [0.01, 0.5]
        """
        v = np.asarray(values, dtype=float)
        if self.floor is None:
            return np.where(v > 0, v, np.nan)
        return np.where(v > 0, v, np.where(v == 0, self.floor, np.nan))


def log_axis(values) -> LogAxis:
    """The :class:`LogAxis` for ``values`` (decade-aligned domain).

    Examples
    --------
    >>> ax = log_axis([0, 0.002, 0.5])
    >>> ax.floor, ax.domain
    (0.0001, (0.0001, 1.0))
    """
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    pos = v[v > 0]
    has_zero = bool((v == 0).any())
    if pos.size:
        lo = math.floor(math.log10(pos.min()) + 1e-9)
        hi = math.ceil(math.log10(pos.max()) - 1e-9)
        hi = max(hi, lo + 1)
    else:
        lo, hi = -3, 0
    floor = 10.0 ** (lo - 1) if has_zero else None
    start = lo - 1 if has_zero else lo
    ticks = [10.0 ** k for k in range(start, hi + 1)]
    return LogAxis(domain=(10.0 ** start, 10.0 ** hi), ticks=ticks, floor=floor)


# --------------------------------------------------------------------------- helpers

def units(da: xr.DataArray, default: str = "") -> str:
    """The ``units`` attribute of ``da`` (``default`` when missing).

    Examples
    --------
    >>> import xarray as xr
    >>> units(xr.DataArray(1, attrs={"units": "pages"}))
    'pages'
    """
    return str(da.attrs.get("units", default))


def label(da: xr.DataArray, name: str | None = None, unit: str | None = None) -> str:
    """Axis title: long name and units, e.g. ``cache size (objects)``.

    Examples
    --------
    >>> import xarray as xr
    >>> label(xr.DataArray(1, attrs={"units": "s", "long_name": "reclaim stall"}))
    'reclaim stall (s)'
    """
    text = str(da.attrs.get("long_name", name or da.name))
    u = units(da) if unit is None else unit
    return f"{text} ({u})" if u and u != "1" else text


def _with_formula(ds: xr.Dataset) -> xr.Dataset:
    """Give ``ds`` a ``formula`` dim (from a scalar coordinate or the attrs)."""
    if "formula" in ds.dims:
        return ds
    name = ds.coords["formula"].item() if "formula" in ds.coords else ds.attrs.get("formula", "model")
    if "formula" in ds.coords:
        ds = ds.drop_vars("formula")
    return ds.expand_dims(formula=[str(name)])


def _scalar_note(ds: xr.Dataset, name: str) -> str | None:
    if name in ds.coords and ds.coords[name].ndim == 0:
        return f"{name} {ds.coords[name].item()}"
    return None


def _select(ds: xr.Dataset, keep: Iterable[str], choices: Mapping[str, object]) -> tuple[xr.Dataset, list[str]]:
    """Select one value along every dim not kept; return the notes saying which."""
    keep = set(keep)
    notes: list[str] = []
    for dim in list(ds.dims):
        if dim in keep:
            continue
        values = list(ds.coords[dim].values) if dim in ds.coords else list(range(ds.sizes[dim]))
        want = choices.get(dim)
        if want is None:
            pref = _PREFERRED.get(dim)
            want = pref if pref in values else values[0]
        elif want not in values:
            raise ValueError(f"{dim}={want!r} is not in the Dataset; allowed: {', '.join(map(str, values))}")
        ds = ds.sel({dim: want}) if dim in ds.coords else ds.isel({dim: values.index(want)})
        notes.append(f"{dim} {want}")
    return ds, notes


def _thin_index(n: int, k: int) -> np.ndarray:
    """At most ``k`` indices out of ``n``, evenly spread, first and last kept."""
    if n <= k:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, max(k, 2))).astype(int))


def _seconds(time: xr.DataArray) -> np.ndarray:
    """Time coordinate in seconds (numeric, timedelta64 or datetime64)."""
    t = np.asarray(time.values)
    if np.issubdtype(t.dtype, np.timedelta64):
        return t / np.timedelta64(1, "s")
    if np.issubdtype(t.dtype, np.datetime64):
        return (t - t[0]) / np.timedelta64(1, "s")
    return t.astype(float)


def _steps(t: np.ndarray) -> np.ndarray:
    """Duration of each step, the first taken equal to the second."""
    if t.size < 2:
        return np.ones_like(t, dtype=float)
    d = np.diff(t)
    return np.concatenate([[d[0]], d]).astype(float)


def _scenario_name(ds: xr.Dataset) -> str:
    raw = ds.attrs.get("scenario")
    if isinstance(raw, str):
        try:
            obj = json.loads(raw)
        except ValueError:
            return raw
        if isinstance(obj, dict):
            return str(obj.get("name", "scenario"))
        return str(obj)
    return "scenario"


def _sum_except(da: xr.DataArray, keep: Sequence[str]) -> xr.DataArray:
    extra = [d for d in da.dims if d not in keep]
    return da.sum(extra) if extra else da


def _bins(n: int, k: int) -> np.ndarray:
    """Start indices of ``min(n, k)`` contiguous bins over ``n`` steps."""
    k = max(1, min(n, k))
    return np.unique((np.arange(k) * n) // k)


def _reduce_time(a: np.ndarray, starts: np.ndarray, how: str, dt: np.ndarray | None = None) -> np.ndarray:
    """Reduce axis 0 of ``a`` over bins starting at ``starts``."""
    a = np.asarray(a, dtype=float)
    if how == "mean":
        s = np.add.reduceat(np.nan_to_num(a), starts, axis=0)
        n = np.add.reduceat(np.isfinite(a).astype(float), starts, axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, s / np.where(n > 0, n, 1), np.nan)
    if how == "rate":
        s = np.add.reduceat(np.nan_to_num(a), starts, axis=0)
        d = np.add.reduceat(dt, starts)
        return s / d.reshape((-1,) + (1,) * (a.ndim - 1))
    if how == "minprio":   # lowest priority reached; -1 (no reclaim) only if nothing else
        b = np.where(a < 0, np.inf, a)
        m = np.minimum.reduceat(b, starts, axis=0)
        return np.where(np.isinf(m), -1.0, m)
    if how == "max":
        return np.maximum.reduceat(a, starts, axis=0)
    raise ValueError(f"how={how!r}")


def _same_curves(df: pd.DataFrame, value: str) -> str | None:
    """A note naming formulas whose values are identical everywhere (their lines coincide)."""
    groups: dict[tuple, list[str]] = {}
    for f, g in df.groupby("formula", sort=False):
        key = tuple(np.round(g[value].to_numpy(dtype=float), 12).tolist())
        groups.setdefault(key, []).append(str(f))
    same = [" = ".join(v) for v in groups.values() if len(v) > 1]
    return ("same curve: " + "; ".join(same)) if same else None


def _tidy(arr: xr.DataArray, value: str) -> pd.DataFrame:
    df = arr.to_dataframe(name=value).reset_index()
    return df[[*arr.dims, value]]


# --------------------------------------------------------------------------- pressure

def _sourced(build):
    """Give a table builder's FigureData the provenance of the Dataset(s) it was built from."""
    @functools.wraps(build)
    def with_provenance(ds, *args, **kwargs) -> FigureData:
        fd = build(ds, *args, **kwargs)
        fd.provenance = provenance_lines(ds)
        return fd
    return with_provenance


@_sourced
def pressure(ds: xr.Dataset, *, priority=None, batch=None, seeks=None,
             max_rows: int = MAX_ROWS) -> FigureData:
    """Table of the pressure curve: fraction of a cache scanned vs its size.

    From ``rl.sweep`` output: one row per formula, cache size and facet
    (``batch`` columns; ``priority`` rows when up to four priorities are
    swept and none is chosen). From a simulation: one row per formula and
    cache, size = mean objects over the run, pressure = objects scanned per
    second / size.

    Examples
    --------
    >>> import reclaimlab as rl
    >>> fd = pressure(rl.sweep(["v4.19", "v5.0"], [10, 10_000], 12, calls=10))
    >>> fd.df[["formula", "freeable", "pressure"]].values.tolist()
    [['v4.19', 10, 1.0], ['v4.19', 10000, 0.0128], ['v5.0', 10, 0.0], ['v5.0', 10000, 0.0]]
    """
    if isinstance(ds, xr.Dataset) and kind(ds) == "simulation":
        return _pressure_sim(ds)
    validate(ds, "sweep", figure="pressure_curve")
    ds = _with_formula(ds)
    keep = ["formula", "freeable"]
    facets: list[str] = []
    if "batch" in ds.dims and batch is None and ds.sizes["batch"] > 1:
        keep.append("batch")
        facets.append("batch")
    if "priority" in ds.dims and priority is None and 1 < ds.sizes["priority"] <= 4:
        keep.append("priority")
        facets.append("priority")
    sel, notes = _select(ds[["pressure", "scanned_total"] if "scanned_total" in ds else ["pressure"]],
                         keep, {"priority": priority, "batch": batch, "seeks": seeks})
    for k in _SWEEP_INPUTS:
        n = _scalar_note(sel, k) if k not in sel.dims else None
        if n and not any(x.startswith(k + " ") for x in notes):
            notes.append(n)
    per_f = int(np.prod([sel.sizes[d] for d in keep if d != "freeable"]))
    idx = _thin_index(sel.sizes["freeable"], max(2, max_rows // max(per_f, 1)))
    thinned = len(idx) < sel.sizes["freeable"]
    sel = sel.isel(freeable=idx)
    sel = sel.sel(freeable=sel.freeable > 0)
    df = _tidy(sel.pressure.transpose(*keep), "pressure")
    df["formula"] = df["formula"].astype(str)
    calls = ds.attrs.get("calls")
    sub = ["fraction of the cache scanned per call"
           + (f", mean of {calls} calls" if calls and int(calls) > 1 else "")]
    if notes:
        sub.append(", ".join(notes))
    if thinned:
        sub.append(f"{len(idx)} of {ds.sizes['freeable']} cache sizes shown")
    same = _same_curves(df, "pressure")
    if same:
        sub.append(same)
    return FigureData(
        df=df, title="Shrinker pressure vs cache size", subtitle=sub,
        labels={"freeable": "cache size (objects)",
                "pressure": "fraction of the cache scanned per call",
                "batch": "batch (objects)", "priority": "priority", "formula": "formula"},
        meta={"kind": "sweep", "facets": facets, "per": "call", "unit": "1 per call"},
    )


def _cache_instances(ds: xr.Dataset, var: str) -> xr.DataArray:
    """``var`` summed over node, with (memcg, cache) pairs stacked into ``instance``."""
    da = ds[var].sum("node")
    if "memcg" in da.dims:
        da = da.stack(instance=("memcg", "cache"))
        labels = [f"{m}/{c}" for m, c in da.indexes["instance"]]
        da = da.drop_vars(["instance", "memcg", "cache"]).assign_coords(instance=labels)
    else:
        da = da.rename(cache="instance")
    return da


def _sim_pressure(ds: xr.Dataset) -> tuple[xr.DataArray, xr.DataArray]:
    """(mean size, fraction scanned per second) per formula and cache instance."""
    ds = _with_formula(ds)
    t = _seconds(ds.time)
    dt = xr.DataArray(_steps(t), dims="time")
    duration = float(dt.sum())
    size = (_cache_instances(ds, "slab") * dt).sum("time") / duration
    scanned = _cache_instances(ds, "scanned").sum("time")
    with np.errstate(invalid="ignore", divide="ignore"):
        p = scanned / duration / size.where(size > 0)
    return size, p


def _pressure_sim(ds: xr.Dataset) -> FigureData:
    validate(ds, "simulation", figure="pressure_curve")
    size, p = _sim_pressure(ds)
    df = pd.DataFrame({
        "formula": np.repeat(size.formula.values.astype(str), size.sizes["instance"]),
        "cache": np.tile(size.instance.values.astype(str), size.sizes["formula"]),
        "freeable": size.transpose("formula", "instance").values.ravel(),
        "pressure": p.transpose("formula", "instance").values.ravel(),
    })
    order = {f: i for i, f in enumerate(size.formula.values.astype(str))}
    df = df[np.isfinite(df.pressure)].assign(_o=df["formula"].map(order))
    df = df.sort_values(["_o", "freeable"], kind="stable").drop(columns="_o").reset_index(drop=True)
    return FigureData(
        df=df, title="Shrinker pressure vs cache size",
        subtitle=[f"{_scenario_name(ds)}: fraction of each cache scanned per second, "
                  "size = mean objects over the run"],
        labels={"freeable": "mean cache size (objects)",
                "pressure": "fraction of the cache scanned per second (1/s)",
                "formula": "formula", "cache": "cache"},
        meta={"kind": "simulation", "facets": [], "per": "second", "unit": "1/s"},
    )


# --------------------------------------------------------------------------- heatmap

def _edges(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Geometric cell edges around sorted positive values."""
    lf = np.log10(f.astype(float))
    if lf.size == 1:
        return 10 ** (lf - 0.5), 10 ** (lf + 0.5)
    mid = (lf[1:] + lf[:-1]) / 2
    lo = np.concatenate([[lf[0] - (mid[0] - lf[0])], mid])
    hi = np.concatenate([mid, [lf[-1] + (lf[-1] - mid[-1])]])
    return 10 ** lo, 10 ** hi


@_sourced
def priority_grid(ds: xr.Dataset, *, batch=None, seeks=None, max_rows: int = MAX_ROWS) -> FigureData:
    """Table of the priority heatmap: formula x priority x cache size -> pressure.

    Examples
    --------
    >>> import reclaimlab as rl
    >>> fd = priority_grid(rl.sweep("v5.0", [100, 10**6], [12, 0]))
    >>> fd.df[["priority", "freeable", "pressure"]].values.tolist()
    [[12.0, 100.0, 0.0], [12.0, 1000000.0, 0.000384], [0.0, 100.0, 1.28], [0.0, 1000000.0, 2.0]]
    """
    validate(ds, "sweep", needs=("priority",), figure="priority_heatmap")
    ds = _with_formula(ds)
    if "priority" not in ds.dims:
        ds = ds.expand_dims(priority=[int(ds.priority)])
    keep = ["formula", "priority", "freeable"]
    sel, notes = _select(ds[["pressure"]], keep, {"batch": batch, "seeks": seeks})
    for k in ("batch", "seeks"):
        n = _scalar_note(sel, k)
        if n and not any(x.startswith(k + " ") for x in notes):
            notes.append(n)
    per_f = sel.sizes["formula"] * sel.sizes["priority"]
    sel = sel.sel(freeable=sel.freeable > 0).sortby("freeable")
    nf = sel.sizes["freeable"]
    idx = _thin_index(nf, max(2, max_rows // per_f))
    sel = sel.isel(freeable=idx)
    lo, hi = _edges(sel.freeable.values)
    df = _tidy(sel.pressure.transpose(*keep), "pressure")
    df["formula"] = df["formula"].astype(str)
    pos = {f: i for i, f in enumerate(sel.freeable.values.tolist())}
    k = df["freeable"].map(pos).to_numpy()
    df["freeable_lo"] = lo[k]
    df["freeable_hi"] = hi[k]
    calls = ds.attrs.get("calls")
    sub = ["fraction of the cache scanned per call"
           + (f", mean of {calls} calls" if calls and int(calls) > 1 else "") + "; grey: nothing scanned"]
    if notes:
        sub.append(", ".join(notes))
    if len(idx) < nf:
        sub.append(f"{len(idx)} of {nf} cache sizes shown")
    return FigureData(
        df=df, title="Scan pressure by reclaim priority and cache size", subtitle=sub,
        labels={"freeable": "cache size (objects)", "priority": "reclaim priority (12 = gentlest)",
                "pressure": "fraction scanned per call", "formula": "formula"},
        meta={"kind": "sweep"},
    )


# --------------------------------------------------------------------------- ratio

@_sourced
def small_large_ratio(ds: xr.Dataset, *, small=None, large=None, batch=None, seeks=None) -> FigureData:
    """Table of small-cache pressure relative to large-cache pressure.

    ``ratio`` = pressure(small) / pressure(large) per formula and priority:
    1 means both are scanned in proportion to their size; above 1 the small
    cache is scanned harder, 0 means it is not scanned at all. NaN where the
    large cache is not scanned.

    Examples
    --------
    >>> import reclaimlab as rl
    >>> fd = small_large_ratio(rl.sweep(["v4.19", "v5.0"], [1000, 10**6], 12, calls=10))
    >>> [(f, round(r, 1)) for f, r in fd.df[["formula", "ratio"]].values]
    [('v4.19', 263.2), ('v5.0', 0.0)]
    """
    validate(ds, "sweep", figure="small_large_ratio")
    if ds.sizes["freeable"] < 2:
        raise ValueError(f"ds has {ds.sizes['freeable']} cache size (freeable); small_large_ratio "
                         "needs at least two")
    ds = _with_formula(ds)
    if "priority" not in ds.dims:
        ds = ds.expand_dims(priority=[int(ds.priority)] if "priority" in ds.coords else [12])
    sel, notes = _select(ds[["pressure"]], ["formula", "priority", "freeable"], {"batch": batch, "seeks": seeks})
    fvals = [int(v) for v in sel.freeable.values if v > 0]
    for name, v in (("small", small), ("large", large)):
        if v is not None and v not in fvals:
            raise ValueError(f"{name}={v!r} is not a cache size of the Dataset; allowed: "
                             + ", ".join(map(str, fvals)))
    small = min(fvals) if small is None else small
    large = max(fvals) if large is None else large
    if small >= large:
        raise ValueError(f"small={small} must be smaller than large={large}")
    ps = sel.pressure.sel(freeable=small, drop=True)
    pl = sel.pressure.sel(freeable=large, drop=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (ps / pl.where(pl > 0))
    df = pd.DataFrame({
        "formula": np.repeat(r.formula.values.astype(str), r.sizes["priority"]),
        "priority": np.tile(r.priority.values, r.sizes["formula"]),
        "small_pressure": ps.transpose("formula", "priority").values.ravel(),
        "large_pressure": pl.transpose("formula", "priority").values.ravel(),
        "ratio": r.transpose("formula", "priority").values.ravel(),
    })
    for k in ("batch", "seeks"):
        n = _scalar_note(sel, k)
        if n and not any(x.startswith(k + " ") for x in notes):
            notes.append(n)
    sub = [f"pressure on a {small:,}-object cache / pressure on a {large:,}-object cache; "
           "1 = proportional"]
    if notes:
        sub.append(", ".join(notes))
    same = _same_curves(df, "ratio")
    if same:
        sub.append(same)
    return FigureData(
        df=df, title="Small-cache vs large-cache pressure", subtitle=sub,
        labels={"priority": "reclaim priority", "ratio": "pressure ratio small / large",
                "formula": "formula"},
        meta={"small": small, "large": large},
    )


# --------------------------------------------------------------------------- timeline

_TIMELINE_PANELS = (
    # name, variable, how, y title
    ("page_cache", "page_cache", "mean", "page cache"),
    ("slab", "slab", "mean", "slab objects per cache"),
    ("priority", "priority", "minprio", "lowest reclaim priority"),
    ("stall", "stall", "rate", "reclaim stall"),
)


@_sourced
def timeline(ds: xr.Dataset, *, formula=None, caches: Sequence[str] | None = None,
             max_points: int = 400, max_rows: int = MAX_ROWS) -> FigureData:
    """Tables of the timeline: page cache, slab per cache, priority and stall over time.

    Time is cut into at most ``max_points`` contiguous bins (fewer when a
    panel has many series, so that no panel exceeds ``max_rows`` rows). States
    (page cache, slab) are bin means, priority the lowest reached in the bin
    (-1 kept only when no reclaim ran), stall a rate: seconds stalled per
    second. ``meta["panels"]`` maps panel name -> DataFrame with columns
    ``time``, ``value`` and the series columns (``formula``, ``node``, ``cache``).

    Examples
    --------
    >>> from reclaimlab.testing import example_simulation
    >>> fd = timeline(example_simulation(steps=50))
    >>> sorted(fd.meta["panels"])
    ['page_cache', 'priority', 'slab', 'stall']
    """
    validate(ds, "simulation", figure="timeline")
    ds = _with_formula(ds)
    notes: list[str] = []
    if formula is not None:
        names = [str(f) for f in ds.formula.values]
        if str(formula) not in names:
            raise ValueError(f"formula={formula!r} is not in the Dataset; allowed: {', '.join(names)}")
        ds = ds.sel(formula=[formula])
    if caches is not None:
        have = [str(c) for c in ds.cache.values]
        bad = [c for c in caches if c not in have]
        if bad:
            raise ValueError(f"caches={list(caches)!r}: {bad} not in the Dataset; allowed: {', '.join(have)}")
        ds = ds.sel(cache=list(caches))
    t = _seconds(ds.time)
    dt = _steps(t)
    nser = ds.sizes["formula"] * ds.sizes["node"] * max(ds.sizes["cache"], 1)
    k = min(max_points, ds.sizes["time"], max(2, max_rows // max(nser, 1)))
    starts = _bins(ds.sizes["time"], k)
    tb = _reduce_time(t, starts, "mean")
    panels: dict[str, pd.DataFrame] = {}
    labels: dict[str, str] = {"time": f"time ({units(ds.time, 's') or 's'})"}
    raw: dict[str, xr.DataArray] = {}
    for name, var, how, ytitle in _TIMELINE_PANELS:
        if var not in ds:
            continue
        keep = ["time", "formula", "node"] + (["cache"] if name == "slab" else [])
        da = _sum_except(ds[var], keep)
        if "node" not in da.dims:
            da = da.expand_dims(node=["all"])
        da = da.transpose("time", *[d for d in keep if d != "time"])
        raw[name] = da
        red = _reduce_time(da.values, starts, how, dt)
        coords = {d: da[d].values for d in da.dims if d != "time"}
        grid = xr.DataArray(red, dims=da.dims, coords={"time": tb, **coords})
        df = grid.to_dataframe(name="value").reset_index()
        if name == "priority":
            df["value"] = df["value"].where(df["value"] >= 0)
        df["formula"] = df["formula"].astype(str)
        df["node"] = df["node"].astype(str)
        if "cache" in df:
            df["cache"] = df["cache"].astype(str)
        panels[name] = df
        u = units(ds[var])
        if how == "rate":
            u = f"{u}/s" if u else "1/s"
            ytitle = f"{ytitle} ({'s per s' if units(ds[var]) == 's' else u})"
        elif u and u != "1":
            ytitle = f"{ytitle} ({u})"
        labels[name] = ytitle
    if not panels:
        raise ValueError("ds has none of page_cache, slab, priority, stall; timeline needs at least one")
    if len(starts) < ds.sizes["time"]:
        notes.append(f"{ds.sizes['time']} steps in {len(starts)} bins (means; stall as a rate)")
    return FigureData(
        df=panels.get("page_cache", next(iter(panels.values()))),
        title=f"Reclaim over time: {_scenario_name(ds)}",
        subtitle=notes, labels=labels,
        meta={"panels": panels, "raw": raw, "formulas": [str(f) for f in ds.formula.values],
              "nodes": [str(n) for n in ds.node.values]},
    )


# --------------------------------------------------------------------------- dying memcgs

@_sourced
def dying_memcgs(ds: xr.Dataset, *, max_points: int = 400, max_rows: int = MAX_ROWS) -> FigureData:
    """Table of dying memcgs over time, one series per formula (and remedy, ...).

    Every dim of ``dying_memcgs`` other than ``time`` (``formula``,
    ``remedy``, ...) names a series. Time is binned as in :func:`timeline`
    (bin means). ``meta["final"]`` holds the value at the last step and
    ``meta["peak"]`` the maximum, per series, unbinned.

    Examples
    --------
    >>> from reclaimlab.testing import example_simulation
    >>> fd = dying_memcgs(example_simulation(steps=40, formulas=["v4.19", "v5.0"]))
    >>> fd.meta["final"]["dying_memcgs"].tolist()
    [3, 19]
    """
    if not (isinstance(ds, xr.Dataset) and "dying_memcgs" in ds and "time" in ds["dying_memcgs"].dims):
        # A simulation, or just its dying_memcgs along time (with any other dims, e.g. remedy).
        validate(ds, "simulation", needs=("dying_memcgs",), figure="dying_memcgs")
    if "formula" not in ds["dying_memcgs"].dims:
        ds = _with_formula(ds)
    da = ds["dying_memcgs"]
    series = [d for d in da.dims if d != "time"]
    series.sort(key=lambda d: d != "formula")           # formula first (colour), then remedy, ...
    da = da.transpose("time", *series)
    t = _seconds(ds.time)
    nser = int(np.prod([da.sizes[d] for d in series])) if series else 1
    starts = _bins(da.sizes["time"], min(max_points, max(2, max_rows // nser)))
    red = _reduce_time(da.values, starts, "mean")
    grid = xr.DataArray(red, dims=da.dims,
                        coords={"time": _reduce_time(t, starts, "mean"), **{d: da[d].values for d in series}})
    df = grid.to_dataframe(name="dying_memcgs").reset_index()
    for d in series:
        df[d] = df[d].astype(str)
    final = da.isel(time=-1).to_dataframe(name="dying_memcgs").reset_index()
    peak = da.max("time").to_dataframe(name="dying_memcgs").reset_index()
    final, peak = ((frame.astype({d: str for d in series})[series + ["dying_memcgs"]])
                   for frame in (final, peak))
    notes = []
    if len(starts) < da.sizes["time"]:
        notes.append(f"{da.sizes['time']} steps in {len(starts)} bins (means)")
    u = units(ds["dying_memcgs"], "1")
    return FigureData(
        df=df, title=f"Dying memory cgroups: {_scenario_name(ds)}", subtitle=notes,
        labels={"time": f"time ({units(ds.time, 's') or 's'})",
                "dying_memcgs": "dying memcgs" + (f" ({u})" if u not in ("", "1") else " (count)")},
        meta={"series": series, "final": final, "peak": peak},
    )


# --------------------------------------------------------------------------- scorecard

#: Scorecard metrics: variable -> (label, units).
SCORE_VARS: dict[str, tuple[str, str]] = {
    "small_pressure": ("small-cache pressure", "1/s"),
    "large_pressure": ("large-cache pressure", "1/s"),
    "refaults": ("refaults", "objects"),
    "stall": ("reclaim stall", "s"),
    "dying_memcgs": ("dying memcgs at end", "count"),
    "workload_time": ("workload time", "s"),
}


#: Short column keys of the scorecard's text form.
SCORE_SHORT: dict[str, str] = {
    "small_pressure": "small", "large_pressure": "large", "refaults": "refaults",
    "stall": "stall", "dying_memcgs": "dying", "workload_time": "job",
}


def _scores_one(ds: xr.Dataset) -> xr.Dataset:
    ds = _with_formula(ds)
    out = {}
    formulas = ds.formula.values
    nan = xr.DataArray(np.full(len(formulas), np.nan), dims="formula", coords={"formula": formulas})
    if "slab" in ds and "scanned" in ds:
        size, p = _sim_pressure(ds)
        msize = size.mean("formula")
        pos = msize.values[msize.values > 0]
        if pos.size >= 2 and pos.max() > pos.min():
            cut = math.sqrt(pos.min() * pos.max())
            small = msize.values < cut
            out["small_pressure"] = p.isel(instance=np.flatnonzero(small & (msize.values > 0))).mean("instance")
            out["large_pressure"] = p.isel(instance=np.flatnonzero(~small)).mean("instance")
        else:
            out["small_pressure"] = nan
            out["large_pressure"] = p.mean("instance")
    units_of = {}
    if "refaults" in ds:
        out["refaults"] = _sum_except(ds["refaults"], ["formula"])
        units_of["refaults"] = units(ds["refaults"], "objects")
    if "stall" in ds:
        out["stall"] = _sum_except(ds["stall"], ["formula"])
    if "dying_memcgs" in ds:
        out["dying_memcgs"] = _sum_except(ds["dying_memcgs"].isel(time=-1), ["formula"])
    if "workload_time" in ds:
        out["workload_time"] = _sum_except(ds["workload_time"], ["formula"]) if ds["workload_time"].ndim else \
            ds["workload_time"].broadcast_like(nan)
    res = xr.Dataset({k: v.astype(float).reset_coords(drop=True) for k, v in out.items()})
    for k in SCORE_VARS:
        if k not in res:
            res[k] = nan
        lab, u = SCORE_VARS[k]
        res[k].attrs = {"long_name": lab, "units": units_of.get(k, u)}
    res = res[list(SCORE_VARS)]
    res = res.assign_coords(formula=np.asarray([str(f) for f in formulas], dtype=object))
    return res.expand_dims(scenario=[_scenario_name(ds)])


def scores(runs) -> xr.Dataset:
    """Scorecard metrics per scenario and formula.

    Parameters
    ----------
    runs : xarray.Dataset, mapping of name -> Dataset, or sequence of Datasets
        Simulation results (``rl.simulate`` or ``rl.compare``). A Dataset that
        already holds the metrics (dims ``scenario``, ``formula``) is returned
        unchanged.

    Returns
    -------
    xarray.Dataset
        Dims ``scenario``, ``formula``; variables ``small_pressure``,
        ``large_pressure`` (mean fraction of a small / large cache scanned per
        second; small = mean size below the geometric midpoint of the smallest
        and largest cache, sizes averaged over the formulas compared, so that
        every formula is judged on the same caches: one run's pressures can
        differ in a comparison from its own), ``refaults`` (total), ``stall`` (total seconds),
        ``dying_memcgs`` (at the last step), ``workload_time`` (s). NaN where a
        scenario lacks the quantity.

    Examples
    --------
    >>> from reclaimlab.testing import example_simulation
    >>> sc = scores(example_simulation(formulas=["v4.19", "v5.0"]))
    >>> dict(sc.sizes)
    {'scenario': 1, 'formula': 2}
    """
    if isinstance(runs, xr.Dataset):
        if "scenario" in runs.dims and "small_pressure" in runs:
            return runs
        return _scores_one(runs)
    if isinstance(runs, Mapping):
        parts = [_scores_one(d).assign_coords(scenario=[str(n)]) for n, d in runs.items()]
    elif isinstance(runs, Sequence) and not isinstance(runs, str):
        parts = [_scores_one(d) for d in runs]
    else:
        raise TypeError(f"runs is a {type(runs).__name__}; allowed: a Dataset, a mapping of "
                        "scenario name -> Dataset, or a list of Datasets")
    if not parts:
        raise ValueError("runs is empty; allowed: at least one simulation Dataset")
    out = xr.concat(parts, dim="scenario", join="outer")
    for k, (lab, u) in SCORE_VARS.items():
        out[k].attrs = dict(parts[0][k].attrs)
    out.attrs = {"title": "reclaimlab scorecard"}
    return out


@_sourced
def scorecard(ds) -> FigureData:
    """Table of the scorecard: one row per scenario, metric and formula.

    Columns ``scenario``, ``metric`` (label with units), ``formula``,
    ``value``, ``text`` (the value as printed) and ``relative`` (value / the
    median of the positive values of that scenario and metric; 0 for zeros,
    NaN where not measured).

    Examples
    --------
    >>> from reclaimlab.testing import example_simulation
    >>> fd = scorecard(example_simulation(formulas=["v4.19", "v5.0"]))
    >>> sorted(set(fd.df.formula))
    ['v4.19', 'v5.0']
    """
    from .textkit import fmt
    sc = scores(ds)
    rows = []
    for s in sc.scenario.values:
        for var in sc.data_vars:
            da = sc[var].sel(scenario=s)
            vals = da.values.astype(float)
            pos = vals[np.isfinite(vals) & (vals > 0)]
            med = float(np.median(pos)) if pos.size else np.nan
            u = units(sc[var])
            metric = f"{sc[var].attrs.get('long_name', var)}" + (f" ({u})" if u and u != "1" else "")
            for f, v in zip(sc.formula.values, vals):
                rel = v / med if np.isfinite(v) and v > 0 else (0.0 if v == 0 else np.nan)
                rows.append({"scenario": str(s), "metric": metric, "variable": str(var),
                             "formula": str(f), "value": v, "text": fmt(v), "relative": rel})
    df = pd.DataFrame(rows)
    return FigureData(
        df=df, title="Scorecard: formulas on the standard scenarios",
        subtitle=["colour: value / median of the non-zero values in the row (1 = typical); "
                  "grey: zero or not measured"],
        labels={"formula": "formula", "metric": "metric", "scenario": "scenario"},
        meta={"scores": sc, "metrics": list(dict.fromkeys(df.metric)) if len(df) else []},
    )


# --------------------------------------------------------------------------- trace replay

@_sourced
def trace_replay(ds: xr.Dataset, *, max_rows: int = MAX_ROWS) -> FigureData:
    """Tables of a trace replay: observed vs modelled values, and match rate per shrinker.

    ``df`` has one row per distinct (quantity, observed, model) with the
    number of calls; when there are more than ``max_rows`` distinct pairs the
    values are rounded to 1/50 of a decade. ``meta["shrinkers"]`` holds, per
    shrinker, the number of calls and the fraction that matched.

    Examples
    --------
    >>> import xarray as xr, numpy as np
    >>> ds = xr.Dataset({"delta": ("call", [10, 20]), "delta_model": ("call", [10, 21]),
    ...                  "total_scan": ("call", [10, 20]), "total_scan_model": ("call", [10, 21]),
    ...                  "match": ("call", [True, False]), "shrinker": ("call", ["a", "a"])})
    >>> trace_replay(ds).meta["shrinkers"].values.tolist()
    [['a', 2, 1, 0.5]]
    """
    validate(ds, "replay", figure="trace_replay")
    quantities = [q for q in ("delta", "total_scan") if q in ds and f"{q}_model" in ds]
    parts = []
    for q in quantities:
        obs = np.asarray(ds[q].values, dtype=float)
        mod = np.asarray(ds[f"{q}_model"].values, dtype=float)
        parts.append(pd.DataFrame({"quantity": q, "observed": obs, "model": mod, "match": obs == mod}))
    calls = pd.concat(parts, ignore_index=True)
    calls = calls[np.isfinite(calls.observed) & np.isfinite(calls.model) & (calls.observed >= 0)]
    df = calls.groupby(["quantity", "observed", "model", "match"], as_index=False).size()
    rounded = False
    if len(df) > max_rows:
        rounded = True
        def r(v):
            with np.errstate(divide="ignore"):
                return np.where(v > 0, 10 ** (np.round(np.log10(np.maximum(v, 1e-300)) * 50) / 50), 0.0)
        calls = calls.assign(observed=r(calls.observed.values), model=r(calls.model.values))
        df = calls.groupby(["quantity", "observed", "model", "match"], as_index=False)["match"].size()
        df = df.sort_values("size", ascending=False).head(max_rows)
    df = df.rename(columns={"size": "calls"}).reset_index(drop=True)
    n = ds.sizes["call"]
    if "match" in ds:
        m = np.asarray(ds["match"].values, dtype=bool)
    else:
        m = np.all([np.asarray(ds[q].values) == np.asarray(ds[f"{q}_model"].values) for q in quantities], axis=0)
    names = np.asarray(ds["shrinker"].values).astype(str) if "shrinker" in ds else np.full(n, "all")
    per = pd.DataFrame({"shrinker": names, "match": m}).groupby("shrinker", as_index=False).agg(
        calls=("match", "size"), matched=("match", "sum"))
    per["matched"] = per["matched"].astype(int)
    per["fraction"] = per["matched"] / per["calls"]
    per = per.sort_values(["calls", "shrinker"], ascending=[False, True]).reset_index(drop=True)
    formula = ds.attrs.get("formula", "")
    sub = [f"{n} calls" + (f" replayed under {formula}" if formula else "")
           + f"; {int(m.sum())} match ({100 * m.mean() if n else 0:.1f}%)"]
    if rounded:
        sub.append("values rounded to 1/50 decade to stay within the row budget")
    return FigureData(
        df=df, title="Trace replay: observed vs modelled", subtitle=sub,
        labels={"observed": "observed in the trace (objects)", "model": "modelled (objects)",
                "calls": "calls", "fraction": "calls matched (fraction)", "shrinker": "shrinker"},
        meta={"shrinkers": per, "quantities": quantities, "n_calls": n, "n_match": int(m.sum())},
    )
