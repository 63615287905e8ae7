"""One Dataset with the real kernels and the model side by side (issue 21, deliverable 4).

:func:`comparison` reads the captures (:mod:`.real`), measures the guest and
workload from one of them (:mod:`.workload`), simulates that scenario under
the formula each kernel runs (``v5.13``, ``v5.13+floor``, ``rik-6.1``) and
puts both sides on the same dims. Everything is restricted to the workload's
global rounds, the part the model describes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from .._version import __version__
from ..data import KERNEL_AB
from ..simulate import simulate
from .real import Capture, cache_roles, global_window, load, window_stats
from .workload import DESCRIPTIONS, STREAM_FILE_PAGES, measure, scenario

__all__ = ["comparison", "sensitivity", "real_side", "model_side", "VFS"]

#: The model's caches that stand for the big ext4 superblock's shrinker (``sb#1``).
VFS = ("dentry", "inode")

_PRIORITIES = np.arange(13)
_MIB = 4 / 1024     # MiB per 4 KiB page


def _caches(stats: dict[str, dict[str, dict]]) -> list[str]:
    """Every role seen in any kernel, biggest first (largest count at any call)."""
    roles = {r for s in stats.values() for r in s}
    return sorted(roles, key=lambda r: (-max(s[r]["max_count"] if r in s else 0 for s in stats.values()), r))


def real_side(caps: dict[str, Capture], interval_s: float = 0.25) -> dict:
    """Per variant, over its global rounds: per-cache numbers, kswapd priorities, slab and page cache.

    ``interval_s`` is the model's recording interval: ``lowest`` counts, per interval
    of the window in which any shrinker was called, the lowest priority of those
    calls, which is how the simulator records its ``priority``.

    Returns a dict ``{"stats", "priority", "lowest", "series", "window"}`` (see :func:`comparison`).
    """
    stats, prio, lowest, series, window = {}, {}, {}, {}, {}
    for v, cap in caps.items():
        t0, t1 = global_window(cap)
        window[v] = (t0, t1)
        stats[v] = window_stats(cap, t0, t1)
        ds = cap.calls
        roles = cache_roles(ds)
        big = [inst for inst, r in roles.items() if r == "sb#1"]
        label = np.char.add(np.char.add(ds.shrinker.values.astype(str), " "), ds.shrinker_id.values.astype(str))
        t = ds.time.values
        # kswapd's calls of the big cache's shrinker: one per shrink_node() pass at each priority
        k = (ds.task.values.astype(str) == "kswapd0") & np.isin(label, big) & (t >= t0) & (t < t1)
        prio[v] = np.bincount(ds.priority.values[k], minlength=13)[:13].astype(float)
        inw = (t >= t0) & (t < t1) & (ds.priority.values >= 0)
        bins = np.floor((t[inw] - t0) / interval_s).astype(np.int64)
        low = np.full(int(bins.max()) + 1 if len(bins) else 0, 99)
        np.minimum.at(low, bins, ds.priority.values[inw])
        lowest[v] = np.bincount(low[low <= 12], minlength=13)[:13].astype(float)
        s = cap.samples
        series[v] = (s["uptime"] - t0, s["nr_slab_reclaimable"] * _MIB, s["nr_file_pages"] * _MIB)
    return {"stats": stats, "priority": prio, "lowest": lowest, "series": series, "window": window}


def model_side(runs: dict[str, xr.Dataset], caches: list[str], params, offset_s: float = 0.0) -> dict:
    """Per variant, from simulated Datasets: per-cache numbers, priorities, slab and page cache.

    ``offset_s`` is added to the model's time: it starts where the guest first
    reclaimed (:attr:`reclaimlab.kernel_ab.workload.Measured.reclaim_start_s`).
    """
    per_page = {"dentry": params.dentry_objects_per_page, "inode": params.inode_objects_per_page}
    per_page.update({c.name: c.objects_per_page for c in params.caches})
    stats, prio, series = {}, {}, {}
    for v, ds in runs.items():
        names = [str(c) for c in ds.cache.values]
        scanned = ds.scanned.sum(("time", "node"))
        held = ds.slab.sum("node").mean("time")
        row = {}
        for c in caches:
            members = list(VFS) if c == "sb#1" else ([c] if c in names else [])
            row[c] = {"scanned": float(scanned.sel(cache=members).sum()) if members else 0.0,
                      "held": float(held.sel(cache=members).sum()) if members else 0.0}
        stats[v] = row
        p = ds.priority.values.ravel()
        # the simulator records the lowest priority reached in each interval (-1: no reclaim)
        prio[v] = np.bincount(p[p >= 0].astype(int), minlength=13)[:13].astype(float)
        slab_pages = sum(ds.slab.sel(cache=c).sum("node").values / per_page.get(c, 32.0) for c in names)
        series[v] = (ds.time.values + offset_s, slab_pages * _MIB, ds.page_cache.sum("node").values * _MIB)
    return {"stats": stats, "priority": prio, "lowest": prio, "series": series}


def _ratio(p: np.ndarray, stock: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(stock > 0, p / np.where(stock > 0, stock, 1), np.nan)


def comparison(directory: str | Path | None = None, *, measured_from: str = "stock",
               description: str = "working-set", stream_file_pages: int = STREAM_FILE_PAGES,
               seed: int = 0, reduced: bool = False,
               captures: dict[str, Capture] | None = None) -> xr.Dataset:
    """Real kernels against the model on the kernel A/B workload, as one Dataset.

    Parameters
    ----------
    directory : str or Path, optional
        Where the captures are (default: the ones shipped in ``reclaimlab/data/kernel-ab``).
        It must hold the ``stock``, ``floor`` and ``rik`` captures.
    measured_from : str
        The capture the scenario is measured from (``stock``, ``floor`` or ``rik``).
    description : str
        How the big tree is described (:data:`reclaimlab.kernel_ab.workload.DESCRIPTIONS`).
    stream_file_pages : int
        Pages per file of the modelled stream (:data:`reclaimlab.kernel_ab.workload.STREAM_FILE_PAGES`).
    seed : int
        The simulations' seed.
    reduced : bool
        Simulate at 4x the step (faster, coarser).
    captures : dict, optional
        Already loaded captures (:func:`reclaimlab.kernel_ab.real.load`), to read them once.

    Returns
    -------
    xarray.Dataset
        Dims ``source`` (real, model), ``variant`` (stock, floor, rik), ``cache``
        (``sb#1`` the big ext4 superblock, ``sb#2`` the small one, ...), ``priority``
        (0 to 12) and ``time`` (s since the first global round, 1 s apart). Variables:
        ``scanned``, ``held``, ``pressure`` (scanned / held), ``ratio`` (pressure /
        stock's), ``pressure_rank`` (1 = most pressed; 0 = not scanned), ``kswapd_priority``
        (fraction of reclaim at each priority), ``lowest_priority`` (the same, measured
        alike on both sides: the lowest priority of each interval with reclaim), ``slab`` and ``page_cache`` (MiB);
        real only: ``calls``, ``held_at_calls``. Each variable's ``units`` and
        ``long_name`` are in its attrs; the Dataset's attrs carry the provenance (files,
        formulas, window, measurements, scenario parameters, seed).

    Examples
    --------
    >>> cmp = comparison(reduced=True)
    >>> cmp.source.values.tolist(), cmp.variant.values.tolist()
    (['real', 'model'], ['stock', 'floor', 'rik'])
    >>> cmp.pressure.attrs["units"]
    'objects scanned per object held'
    """
    if measured_from not in KERNEL_AB:
        raise ValueError(f"measured_from={measured_from!r} is unknown; allowed: {', '.join(KERNEL_AB)}")
    if description not in DESCRIPTIONS:
        raise ValueError(f"description={description!r} is unknown; allowed: {', '.join(DESCRIPTIONS)}")
    caps = captures if captures is not None else load(directory)
    missing = [v for v in KERNEL_AB if v not in caps]
    if missing:
        raise ValueError(f"captures lack variant(s) {', '.join(missing)}; the comparison needs "
                         f"{', '.join(KERNEL_AB)}")
    variants = list(KERNEL_AB)
    m = measure(caps[measured_from])
    sc = scenario(m, description, stream_file_pages=stream_file_pages)
    runs = {v: simulate(sc, KERNEL_AB[v], seed=seed, reduced=reduced) for v in variants}
    params = sc.reduced if reduced else sc.params
    real = real_side({v: caps[v] for v in variants}, interval_s=params.record_s)
    caches = _caches(real["stats"])
    model = model_side(runs, caches, params, m.reclaim_start_s)

    def grid(side, key):
        return np.array([[side["stats"][v].get(c, {}).get(key, 0.0) for c in caches] for v in variants])

    scanned = np.stack([grid(real, "scanned"), grid(model, "scanned")])
    held = np.stack([grid(real, "held"), grid(model, "held")])
    with np.errstate(divide="ignore", invalid="ignore"):
        pressure = np.where(held > 0, scanned / np.where(held > 0, held, 1), 0.0)
    ratio = np.stack([_ratio(pressure[s], pressure[s, 0]) for s in range(2)])
    rank = np.zeros_like(pressure, dtype=np.int64)
    for s in range(2):
        for a in range(len(variants)):
            order = [c for c in np.argsort(-pressure[s, a], kind="stable") if pressure[s, a, c] > 0]
            rank[s, a, order] = np.arange(1, len(order) + 1)
    prio = np.stack([[side["priority"][v] / max(side["priority"][v].sum(), 1) for v in variants]
                     for side in (real, model)])
    lowest = np.stack([[side["lowest"][v] / max(side["lowest"][v].sum(), 1) for v in variants]
                       for side in (real, model)])
    span = max(real["window"][v][1] - real["window"][v][0] for v in variants)
    time = np.arange(0.0, np.floor(span) + 1.0)
    slab = np.full((2, len(variants), len(time)), np.nan)
    page = np.full_like(slab, np.nan)
    for s, side in enumerate((real, model)):
        for a, v in enumerate(variants):
            t, sl, pc = side["series"][v]
            end = (real["window"][v][1] - real["window"][v][0]) if s == 0 else t.max()
            ok = (time <= end) & (time >= t.min())
            slab[s, a, ok] = np.interp(time[ok], t, sl)
            page[s, a, ok] = np.interp(time[ok], t, pc)
    C, V, S = ("source", "variant", "cache")
    out = xr.Dataset(
        {
            "scanned": ((C, V, S), scanned, {"units": "objects", "long_name": "objects scanned in the global rounds"}),
            "held": ((C, V, S), held, {"units": "objects", "long_name":
                     "objects held, time average (real: the shrinker's count_objects at its calls, as a "
                     "step function over time; model: the slab Dataset variable)"}),
            "pressure": ((C, V, S), pressure, {"units": "objects scanned per object held",
                                              "long_name": "pressure: scanned / held (0: not scanned)"}),
            "ratio": ((C, V, S), ratio, {"units": "1", "long_name":
                      "pressure relative to stock's (NaN where stock's is 0)"}),
            "pressure_rank": ((C, V, S), rank, {"units": "1", "long_name":
                     "rank by pressure within a kernel (1: most pressed; 0: not scanned)"}),
            "calls": ((V, S), grid(real, "calls").astype(np.int64),
                      {"units": "1", "long_name": "real: shrinker calls in the global rounds"}),
            "held_at_calls": ((V, S), grid(real, "held_at_calls"),
                              {"units": "objects", "long_name": "real: mean count at the shrinker's calls"}),
            "kswapd_priority": ((C, V, "priority"), prio, {"units": "1", "long_name":
                                "fraction of reclaim at each priority (real: kswapd's calls of sb#1's "
                                "shrinker; model: recorded intervals by the lowest priority reached)"}),
            "lowest_priority": ((C, V, "priority"), lowest, {"units": "1", "long_name":
                                "fraction of the intervals with reclaim (record_s long) whose lowest priority "
                                "was this (real: of the shrinker calls; model: the priority variable)"}),
            "slab": ((C, V, "time"), slab, {"units": "MiB", "long_name":
                     "reclaimable slab (real: nr_slab_reclaimable; model: slab objects / objects per page)"}),
            "page_cache": ((C, V, "time"), page, {"units": "MiB", "long_name":
                           "page cache (real: nr_file_pages; model: page_cache)"}),
        },
        coords={"source": ["real", "model"], "variant": variants, "cache": caches, "priority": _PRIORITIES,
                "time": ("time", time, {"units": "s", "long_name": "time since the first global round"}),
                "formula": ("variant", [KERNEL_AB[v] for v in variants])},
        attrs={
            "title": "Linux 6.1 stock / floor / rik against the model, global rounds",
            "captures": "; ".join(f"{v}: {caps[v].files[0].name}, {caps[v].files[1].name}" for v in variants),
            "directory": str(caps[variants[0]].files[0].parent),
            "window_s": "; ".join(f"{v}: {real['window'][v][0]:.2f} to {real['window'][v][1]:.2f}" for v in variants),
            "formulas": ", ".join(f"{v}={KERNEL_AB[v]}" for v in variants),
            "measured_from": measured_from,
            "description": description,
            "stream_file_pages": stream_file_pages,
            "measured": m.to_json(),
            "params": (sc.reduced if reduced else sc.params).to_json(),
            "seed": seed,
            "reduced": int(reduced),
            "reclaimlab_version": __version__,
            "made_by": f"reclaimlab.kernel_ab.comparison(measured_from={measured_from!r}, "
                       f"description={description!r}, stream_file_pages={stream_file_pages}, seed={seed}, "
                       f"reduced={reduced})",
        },
    )
    return out


def sensitivity(directory: str | Path | None = None, *, seed: int = 0, reduced: bool = False,
                measured_from=tuple(KERNEL_AB), descriptions=DESCRIPTIONS,
                stream_file_pages=(STREAM_FILE_PAGES,),
                captures: dict[str, Capture] | None = None) -> xr.Dataset:
    """The model's side of :func:`comparison` under other descriptions of the workload.

    The scenario is measured from each capture in ``measured_from``, the big tree
    described each way in ``descriptions`` and the stream made of files of each
    size in ``stream_file_pages``; the real side does not change.

    Returns
    -------
    xarray.Dataset
        ``pressure`` and ``ratio`` (dims ``measured_from``, ``description``,
        ``stream_file_pages``, ``variant``, ``cache``) of the model, and
        ``real_pressure``, ``real_ratio`` (dims ``variant``, ``cache``).

    Examples
    --------
    >>> s = sensitivity(reduced=True, measured_from=["stock"], descriptions=["used-once"])
    >>> s.pressure.dims
    ('measured_from', 'description', 'stream_file_pages', 'variant', 'cache')
    """
    caps = captures if captures is not None else load(directory)
    real, cube = None, []
    for m in measured_from:
        plane = []
        for d in descriptions:
            row = []
            for pages in stream_file_pages:
                c = comparison(measured_from=m, description=d, stream_file_pages=int(pages), seed=seed,
                               reduced=reduced, captures=caps)
                real = c
                row.append(c[["pressure", "ratio"]].sel(source="model", drop=True))
            plane.append(xr.concat(row, dim=xr.DataArray([int(p) for p in stream_file_pages],
                                                          dims="stream_file_pages", name="stream_file_pages"),
                                   combine_attrs="drop"))
        cube.append(xr.concat(plane, dim=xr.DataArray(list(descriptions), dims="description", name="description"),
                              combine_attrs="drop"))
    out = xr.concat(cube, dim=xr.DataArray(list(measured_from), dims="measured_from", name="measured_from"),
                    combine_attrs="drop")
    out["real_pressure"] = real.pressure.sel(source="real", drop=True)
    out["real_ratio"] = real.ratio.sel(source="real", drop=True)
    out.attrs = {"title": "Kernel A/B: the model under other descriptions of the workload",
                 "captures": real.attrs["captures"], "seed": seed, "reduced": int(reduced),
                 "reclaimlab_version": __version__}
    return out
