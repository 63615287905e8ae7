"""What kernels did with the kernel A/B workload over the whole run: the real side alone.

For any set of captures made by ``scripts/kernel-ab/run.sh``, including a
user's own patch beside stock (``run.sh --patch``): per kernel, shrinker calls,
reclaim entries and objects and pages scanned; per cache, mean objects held at
its calls, objects scanned and the pressure; kswapd's priorities; slab
against page cache per sample. Unlike :func:`reclaimlab.kernel_ab.comparison`
it needs no particular variants and no model, and covers the whole run
(the memcg rounds too).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from .real import Capture, cache_roles, load, window_stats

__all__ = ["summary", "summary_text"]

_EVENTS = ("mm_vmscan_kswapd_wake", "mm_vmscan_direct_reclaim_begin", "mm_vmscan_memcg_reclaim_begin")


def summary(directory: str | Path | None = None, variants=("stock", "floor", "rik"), *,
            captures: dict[str, Capture] | None = None) -> xr.Dataset:
    """The whole-run numbers of each kernel's capture, as one Dataset.

    Parameters
    ----------
    directory : str or Path, optional
        Where the captures are (default: the shipped ones).
    variants : sequence of str
        Which captures (``stock``, ``floor``, ``rik`` or a user patch's name).
    captures : dict, optional
        Already loaded captures (:func:`reclaimlab.kernel_ab.real.load`).

    Returns
    -------
    xarray.Dataset
        Dims ``variant``, ``cache`` (matched across kernels by scan function and
        rank of size: :func:`reclaimlab.kernel_ab.real.cache_roles`), ``priority``
        and ``sample``.

    Examples
    --------
    >>> ds = summary(variants=["stock"])
    >>> int(ds.shrinker_calls.sel(variant="stock"))
    36499
    """
    variants = list(variants)
    caps = captures if captures is not None else load(directory, variants)
    tables = {}
    for v in variants:
        t = caps[v].calls.time.values
        tables[v] = window_stats(caps[v], float(t.min()), float(t.max()) + 1.0)
    caches = sorted({c for t in tables.values() for c in t},
                    key=lambda c: (-max(t[c]["max_count"] if c in t else 0 for t in tables.values()), c))

    def grid(key):
        return np.array([[tables[v].get(c, {}).get(key, 0) for c in caches] for v in variants], dtype=float)

    held, scanned = grid("held_at_calls"), grid("scanned")
    with np.errstate(divide="ignore", invalid="ignore"):
        pressure = np.where(held > 0, scanned / np.maximum(held, 1), 0.0)
    prio = np.zeros((len(variants), 13))
    for a, v in enumerate(variants):
        ds = caps[v].calls
        big = [inst for inst, r in cache_roles(ds).items() if r == caches[0]]
        label = np.char.add(np.char.add(ds.shrinker.values.astype(str), " "), ds.shrinker_id.values.astype(str))
        k = (ds.task.values.astype(str) == "kswapd0") & np.isin(label, big)
        prio[a] = np.bincount(ds.priority.values[k], minlength=13)[:13]
    ns = min(len(caps[v].samples["uptime"]) for v in variants)

    def sampled(key):
        return np.array([caps[v].samples[key][:ns] for v in variants])

    def run_total(*keys):
        return np.array([sum(int(caps[v].samples[k][-1] - caps[v].samples[k][0]) for k in keys) for v in variants])

    events = {e: np.array([int(caps[v].calls.attrs.get(f"count_{e}", 0)) for v in variants]) for e in _EVENTS}
    V, C = "variant", "cache"
    return xr.Dataset(
        {
            "calls": ((V, C), grid("calls").astype(np.int64), {"units": "1", "long_name": "shrinker calls"}),
            "mean_held": ((V, C), held, {"units": "objects", "long_name": "mean count at the calls"}),
            "scanned": ((V, C), scanned.astype(np.int64), {"units": "objects", "long_name": "objects scanned"}),
            "pressure": ((V, C), pressure, {"units": "objects scanned per object held", "long_name":
                         "scanned / mean count at the calls"}),
            "seeks": ((V, C), grid("seeks").astype(np.int64), {"units": "1", "long_name": "seeks (replay)"}),
            "kswapd_priority_calls": ((V, "priority"), prio.astype(np.int64), {"units": "1", "long_name":
                                      "kswapd's calls of the biggest cache's shrinker at each priority"}),
            "shrinker_calls": (V, np.array([caps[v].calls.sizes["call"] for v in variants]), {"units": "1"}),
            "kswapd_wakes": (V, events["mm_vmscan_kswapd_wake"], {"units": "1"}),
            "direct_reclaims": (V, events["mm_vmscan_direct_reclaim_begin"], {"units": "1"}),
            "memcg_reclaims": (V, events["mm_vmscan_memcg_reclaim_begin"], {"units": "1"}),
            "pgscan": (V, run_total("pgscan_kswapd", "pgscan_direct"), {"units": "pages"}),
            "pgsteal": (V, run_total("pgsteal_kswapd", "pgsteal_direct"), {"units": "pages"}),
            "slabs_scanned": (V, run_total("slabs_scanned"), {"units": "objects"}),
            "slab_pages": ((V, "sample"), sampled("nr_slab_reclaimable"), {"units": "pages"}),
            "file_pages": ((V, "sample"), sampled("nr_file_pages"), {"units": "pages"}),
            "vfs_objects": ((V, "sample"), sampled("dentry") + sampled("ext4_inode_cache"), {"units": "objects",
                            "long_name": "dentry + ext4_inode_cache active objects (/proc/slabinfo)"}),
            "uptime": ((V, "sample"), sampled("uptime"), {"units": "s"}),
        },
        coords={V: variants, C: caches, "priority": np.arange(13), "sample": np.arange(ns)},
        attrs={"source": str(caps[variants[0]].files[0].parent),
               "formulas": ", ".join(f"{v}={caps[v].formula}" for v in variants)},
    )


def _order_lines(label: str, caches: list[str], width: int) -> list[str]:
    out, line = [], label + " > ".join(caches)
    while len(line) > width:
        cut = line.rfind(" > ", 0, width)
        out.append(line[:cut + 2])
        line = "    " + line[cut + 3:]
    return out + [line]


def summary_text(ds: xr.Dataset, width: int = 72) -> str:
    """:func:`summary` as text, no wider than ``width`` (at least 72) columns.

    Examples
    --------
    >>> print(summary_text(summary(variants=["stock"])).splitlines()[0])
    kernel-ab: one workload on Linux 6.1 stock
    """
    v = [str(x) for x in ds.variant.values]
    col = max(12, min(20, (width - 12) // max(len(v), 1)))
    L = ["kernel-ab: one workload on Linux 6.1 " + " / ".join(v), "=" * width,
         f"{'':26}" + "".join(f"{x:>15}" for x in v)]
    for key, title in (("shrinker_calls", "shrinker calls"), ("kswapd_wakes", "kswapd wakes"),
                       ("direct_reclaims", "direct reclaims"), ("memcg_reclaims", "memcg reclaims"),
                       ("slabs_scanned", "slab objects scanned"), ("pgscan", "pages scanned"),
                       ("pgsteal", "pages reclaimed")):
        L.append(f"{title:26}" + "".join(f"{int(x):>15,}" for x in ds[key].values))
    st = v.index("stock") if "stock" in v else 0
    L += ["", "Objects held (mean F at the calls) / objects scanned, per cache", "-" * width,
          f"{'cache':12}" + "".join(f"{x:>{col}}" for x in v)]
    for c in range(ds.sizes["cache"]):
        cells = [f"{ds.mean_held.values[a, c]:>9.0f} /{int(ds.scanned.values[a, c]):>9}" for a in range(len(v))]
        L.append(f"{str(ds.cache.values[c]):12}" + "".join(f"{x:>{col}}" for x in cells))
    L += ["", "Pressure: objects scanned per object held; x stock in brackets", "-" * width,
          f"{'cache':12}" + "".join(f"{x:>{col}}" for x in v)]
    for c in range(ds.sizes["cache"]):
        p = ds.pressure.values[:, c]
        cells = []
        for a in range(len(v)):
            if a == st:
                cells.append(f"{p[a]:.3g}")
            elif p[st] > 0:
                cells.append(f"{p[a]:.3g} ({p[a] / p[st]:.3g}x)")
            else:
                cells.append(f"{p[a]:.3g} (stock 0)" if p[a] > 0 else f"{p[a]:.3g}")
        L.append(f"{str(ds.cache.values[c]):12}" + "".join(f"{x:>{col}}" for x in cells))
    L.append("")
    for a, x in enumerate(v):
        order = [str(ds.cache.values[c]) for c in np.argsort(-ds.pressure.values[a], kind="stable")
                 if ds.pressure.values[a, c] > 0]
        L += _order_lines(f"order by pressure, {x}: ", order, width)
    L += ["", f"kswapd priority distribution (% of kswapd's calls of {ds.cache.values[0]})", "-" * width,
          f"{'priority':10}" + "".join(f"{p:>5}" for p in range(12, 0, -1))]
    for a, x in enumerate(v):
        h = ds.kswapd_priority_calls.values[a]
        tot = max(h.sum(), 1)
        L.append(f"{x:10}" + "".join(f"{100 * h[p] / tot:>5.0f}" for p in range(12, 0, -1)))
    L += ["", "Slab (nr_slab_reclaimable) vs page cache (nr_file_pages), MiB", "-" * width]
    ns = ds.sizes["sample"]
    idx = np.unique(np.linspace(0, ns - 1, min(8, ns)).astype(int))
    L.append(f"{'sample':10}" + "".join(f"{i:>7}" for i in idx))
    for a, x in enumerate(v):
        L.append(f"{x + ' slab':10}" + "".join(f"{ds.slab_pages.values[a, i] * 4 / 1024:>7.1f}" for i in idx))
        L.append(f"{x + ' file':10}" + "".join(f"{ds.file_pages.values[a, i] * 4 / 1024:>7.0f}" for i in idx))
    L.append(f"{'mean slab':10}" + "".join(f"{x}={ds.slab_pages.values[a].mean() * 4 / 1024:.1f} "
                                            for a, x in enumerate(v)))
    return "\n".join(line.rstrip() for line in L)
