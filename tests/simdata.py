"""Small synthetic simulation Datasets that follow DESIGN.md "Contract: the state model".

Used by the viz and CLI tests so that charts and text figures can be checked
without the simulator. Values are deterministic and easy to verify by hand:
nothing here pretends to model the kernel.
"""
from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import xarray as xr

CACHES = ("dentry", "inode", "xfs_inode", "small_a", "small_b")
SIZES = (400_000, 200_000, 50_000, 300, 40)
SEEKS = (2, 2, 2, 2, 0)
BATCH = (1024, 1024, 1024, 128, 128)


def make_sim_dataset(
    steps: int = 120,
    *,
    formulas: Sequence[str] | None = None,
    nodes: int = 2,
    memcgs: int = 3,
    caches: Sequence[str] = CACHES,
    dt: float = 0.5,
    scenario: str = "compile-and-copy",
    seed: int = 0,
) -> xr.Dataset:
    """A Dataset shaped like ``rl.simulate`` (or ``rl.compare`` when ``formulas`` is given).

    Parameters
    ----------
    steps : int
        Length of the ``time`` dim (``dt`` seconds apart, starting at 0).
    formulas : sequence of str, optional
        With a list, every variable gains a leading ``formula`` dim (compare).
    nodes, memcgs : int
        Sizes of ``node`` and ``memcg`` (0 memcgs: no ``memcg`` dim).
    caches : sequence of str
        Cache names, a prefix of :data:`CACHES` or any names (sizes cycle).
    """
    rng = np.random.default_rng(seed)
    t = np.arange(steps) * dt
    nc = len(caches)
    sizes = np.array([SIZES[i % len(SIZES)] for i in range(nc)], dtype=float)
    seeks = np.array([SEEKS[i % len(SEEKS)] for i in range(nc)])
    batch = np.array([BATCH[i % len(BATCH)] for i in range(nc)])
    flist = list(formulas) if formulas is not None else ["v5.0"]
    nf = len(flist)
    phase = (np.arange(steps) % 20) / 20.0                      # the sawtooth
    node_w = 1.0 + 0.25 * np.arange(nodes)

    page = np.empty((nf, steps, nodes))
    slab = np.empty((nf, steps, nodes, max(memcgs, 1), nc))
    scan = np.empty_like(slab)
    prio = np.empty((nf, steps, nodes), dtype=np.int64)
    stall = np.empty((nf, steps, nodes))
    dying = np.empty((nf, steps), dtype=np.int64)
    work = np.empty(nf)
    for i, f in enumerate(flist):
        k = i + 1
        page[i] = (400_000 + 300_000 * phase[:, None] * node_w / k).round()
        grow = 1.0 + 0.2 * np.sin(t / (3.0 * k))[:, None, None, None]
        slab[i] = np.maximum((sizes / (nodes * max(memcgs, 1)) * grow
                              * np.ones((steps, nodes, max(memcgs, 1), nc))).round(), 0)
        # small caches are scanned only by every second formula
        frac = np.where(sizes < 1000, 0.02 * (i % 2), 0.001 * k)
        scan[i] = np.floor(slab[i] * frac)
        p = 12 - np.floor(phase * 6 * k).astype(np.int64)
        p = np.where(phase < 0.25, -1, np.clip(p, 0, 12))
        prio[i] = p[:, None] + 0 * np.arange(nodes)[None, :]
        stall[i] = np.where(prio[i] >= 0, 0.001 * k * (12 - prio[i]), 0.0)
        dying[i] = (np.arange(steps) * (5 if i % 2 else 1)) // max(steps // 4, 1)
        work[i] = 100.0 + 10 * k
    slab = slab.astype(np.int64)
    scan = scan.astype(np.int64)
    nr_def = (scan * 3) // 2 + rng.integers(0, 2, size=scan.shape)

    mdims = ("memcg",) if memcgs else ()
    if not memcgs:
        slab, scan, nr_def = slab[:, :, :, 0], scan[:, :, :, 0], nr_def[:, :, :, 0]
    sdims = ("time", "node", *mdims, "cache")
    obj = {"units": "objects"}
    data = {
        "page_cache": (("time", "node"), page.astype(np.int64), {"units": "pages", "long_name": "page cache"}),
        "slab": (sdims, slab, {**obj, "long_name": "slab objects"}),
        "priority": (("time", "node"), prio, {"units": "1", "long_name": "lowest reclaim priority in the step"}),
        "scanned": (sdims, scan, {**obj, "long_name": "objects scanned"}),
        "freed": (sdims, scan // 2, {**obj, "long_name": "objects freed"}),
        "delta": (sdims, scan, {**obj, "long_name": "delta"}),
        "total_scan": (sdims, scan + 1, {**obj, "long_name": "total_scan"}),
        "nr_deferred": (sdims, nr_def, {**obj, "long_name": "nr_deferred at step end"}),
        "refaults": (("time", "node"), (scan.sum(axis=tuple(range(3, scan.ndim))) // 10),
                     {**obj, "long_name": "refaults"}),
        "stall": (("time", "node"), stall, {"units": "s", "long_name": "reclaim stall"}),
        "dying_memcgs": (("time",), dying, {"units": "1", "long_name": "dying memcgs"}),
        "workload_time": ((), work, {"units": "s", "long_name": "workload time"}),
    }
    coords = {
        "time": ("time", t, {"units": "s", "long_name": "time"}),
        "node": ("node", np.arange(nodes)),
        "cache": ("cache", np.asarray(list(caches), dtype=object)),
        "seeks": ("cache", seeks, {"units": "1"}),
        "batch": ("cache", batch, {"units": "objects"}),
    }
    if memcgs:
        coords["memcg"] = ("memcg", np.asarray(["root"] + [f"job{i}" for i in range(1, memcgs)], dtype=object))
    if formulas is not None:
        vars_ = {k: (("formula", *d), v, a) for k, (d, v, a) in data.items()}
        coords["formula"] = ("formula", np.asarray(flist, dtype=object))
    else:
        vars_ = {k: (d, v[0], a) for k, (d, v, a) in data.items()}
    ds = xr.Dataset({k: xr.Variable(d, v, a) for k, (d, v, a) in vars_.items()},
                    coords={k: xr.Variable(*c) for k, c in coords.items()})
    ds.attrs = {
        "formula": flist[0] if formulas is None else ", ".join(flist),
        "scenario": json.dumps({"name": scenario, "steps": steps, "dt": dt}, sort_keys=True),
        "seed": seed,
        "reclaimlab_version": "0.1.0",
    }
    return ds
