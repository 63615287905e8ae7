#!/usr/bin/env python3
"""analyze.py - what the kernel-ab kernels did with the same workload (real side of issue 21).

Reads the captures written by scripts/kernel-ab/run.sh (by default the ones
shipped in reclaimlab/data/kernel-ab) and prints, in 72 columns:

* per kernel: shrinker calls, reclaim entries, objects scanned, pages scanned;
* per shrinker instance ("cache"): mean objects held at its calls, objects
  scanned, the pressure (objects scanned per object held) and each variant's
  pressure relative to stock, and the order of the caches by pressure;
* kswapd's priority distribution (its calls of the biggest cache's shrinker);
* slab (nr_slab_reclaimable) against page cache (nr_file_pages) over time,
  from the per-second /proc/vmstat samples; ``--nc`` also keeps the dentry +
  ext4_inode_cache objects of /proc/slabinfo per sample (``vfs_objects``), the
  time-averaged size of the big superblock's caches.

Usage:
    python scripts/kernel-ab/analyze.py [DIR] [--variants stock,floor,rik] [--nc OUT.nc]

``--nc`` also writes the numbers as one xarray Dataset (dims variant, cache,
priority, sample) for a notebook or for the simulator comparison.

Shrinker instances are matched across kernels by scan function and by rank
of the largest cache size seen at their calls (``sb#1`` is the superblock
shrinker with the biggest cache, ...): pointers are not stable from boot to
boot, and seeks cannot be told from a floor kernel's trace (the floor makes
delta = F for every cache under a batch, whatever its seeks).  In the shipped
captures sb#1 is the big ext4 (/dev/vda), sb#2 the small ext4 (/dev/vdb), the
rest are pseudo-filesystem superblocks of at most 10 objects.  An instance
missing from one kernel (never non-empty when reclaim ran) has pressure 0 there.
"""
from __future__ import annotations

import argparse
import lzma
import sys
from pathlib import Path

import numpy as np
import xarray as xr

import reclaimlab as rl

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DIR = REPO / "reclaimlab" / "data" / "kernel-ab"
FORMULA = {"stock": "v5.13", "floor": "v5.13+floor", "rik": "rik-6.1"}
SHORT = {"super_cache_scan": "sb", "ext4_es_scan": "ext4_es", "kfree_rcu_shrink_scan": "kfree_rcu",
         "jbd2_journal_shrink_scan": "jbd2", "scan_shadow_nodes": "shadow", "zs_shrinker_scan": "zs"}



def order_lines(label: str, caches: list[str], width: int) -> list[str]:
    """``label`` and the caches joined by " > ", wrapped at a " > " to ``width`` columns."""
    out, line = [], label + " > ".join(caches)
    while len(line) > width:
        cut = line.rfind(" > ", 0, width)
        out.append(line[:cut + 2])
        line = "    " + line[cut + 3:]
    return out + [line]

def find(directory: Path, variant: str, kind: str) -> Path:
    found = sorted(directory.glob(f"kernel-ab-6.1.*-{variant}-*cpu.{kind}.xz"))
    if len(found) != 1:
        sys.exit(f"analyze.py: want one {variant} .{kind}.xz in {directory}, found {[p.name for p in found]}")
    return found[0]


def read_samples(path: Path) -> dict[str, np.ndarray]:
    """uptime and a few /proc/vmstat counters per sample."""
    keys = ("nr_slab_reclaimable", "nr_file_pages", "nr_free_pages", "pgscan_kswapd", "pgscan_direct",
            "pgsteal_kswapd", "pgsteal_direct", "slabs_scanned")
    rows, cur, section = [], None, None
    for line in lzma.decompress(path.read_bytes()).decode().splitlines():
        if line.startswith("@@ sample "):
            cur = {"uptime": float(line.split()[3])}
        elif line.startswith("@@ end ") and cur is not None:
            rows.append(cur)
            cur = None
        elif line.startswith("@@ "):
            section = line[3:]
        elif cur is not None and section == "vmstat":
            k, _, v = line.partition(" ")
            if k in keys:
                cur[k] = int(v)
        elif cur is not None and section == "slabinfo" and line.split()[:1] in (["dentry"], ["ext4_inode_cache"]):
            cur["vfs_objects"] = cur.get("vfs_objects", 0) + int(line.split()[1])
    return {k: np.array([r.get(k, -1) for r in rows]) for k in ("uptime",) + keys + ("vfs_objects",)}


def instance_table(ds, variant: str) -> dict[str, dict]:
    """Per shrinker instance, keyed by role ("sb#1", "ext4_es#1", ...): calls, held, scanned."""
    rep = rl.trace.replay(ds, FORMULA.get(variant, "v5.13"))
    seeks = dict(zip(rep.instance.values, rep.instance_seeks.values))
    has_end = ds.has_end.values
    scanned = np.where(has_end, ds.total_scan.values - ds.total_scan_left.values, 0)
    label = np.char.add(np.char.add(ds.shrinker.values.astype(str), " "), ds.shrinker_id.values.astype(str))
    rows = []
    for inst in np.unique(label):
        k = label == inst
        sym, sid = inst.split(" ")
        rows.append({"symbol": sym, "id": sid, "seeks": int(seeks.get(inst, -1)), "calls": int(k.sum()),
                     "mean_F": float(ds.cache_items.values[k].mean()), "max_F": int(ds.cache_items.values[k].max()),
                     "scanned": int(scanned[k].sum())})
    out = {}
    for sym in sorted({r["symbol"] for r in rows}):
        mine = sorted((r for r in rows if r["symbol"] == sym), key=lambda r: (-r["max_F"], -r["calls"]))
        for rank, r in enumerate(mine, 1):
            out[f"{SHORT.get(sym, sym)}#{rank}"] = r
    return out


def analyze(directory: Path, variants: list[str]) -> xr.Dataset:
    traces = {v: rl.trace.read(str(find(directory, v, "trace"))) for v in variants}
    samples = {v: read_samples(find(directory, v, "samples")) for v in variants}
    tables = {v: instance_table(traces[v], v) for v in variants}
    # caches: every role seen anywhere, biggest (largest max F anywhere) first
    insts = sorted({i for t in tables.values() for i in t},
                   key=lambda i: (-max(t[i]["max_F"] if i in t else 0 for t in tables.values()), i))
    names = insts
    nv, nc = len(variants), len(insts)
    calls, held, scanned, seeks = (np.zeros((nv, nc)) for _ in range(4))
    for a, v in enumerate(variants):
        for b, i in enumerate(insts):
            row = tables[v].get(i)
            if row:
                calls[a, b], held[a, b], scanned[a, b], seeks[a, b] = (row["calls"], row["mean_F"],
                                                                        row["scanned"], row["seeks"])
    pressure = np.where(held > 0, scanned / np.maximum(held, 1), 0.0)
    # kswapd priority distribution: kswapd's calls of the biggest cache's shrinker
    prio = np.zeros((nv, 13))
    for a, v in enumerate(variants):
        ds = traces[v]
        big_id = tables[v][insts[0]]["id"] if insts[0] in tables[v] else ""
        k = (ds.task.values.astype(str) == "kswapd0") & (ds.shrinker_id.values.astype(str) == big_id)
        prio[a] = np.bincount(ds.priority.values[k], minlength=13)[:13]
    # samples on a common index (the shortest run's length)
    ns = min(len(s["uptime"]) for s in samples.values())
    ev = {}
    for a, v in enumerate(variants):
        ds = traces[v]
        names_ev = ds.event_name.values.astype(str) if "event_name" in ds else np.array([])
        ev[v] = {e: int((names_ev == e).sum()) for e in ("mm_vmscan_kswapd_wake", "mm_vmscan_direct_reclaim_begin",
                                                         "mm_vmscan_memcg_reclaim_begin")}
        for e in ev[v]:
            ev[v][e] = int(ds.attrs.get(f"count_{e}", ev[v][e]))

    def last_minus_first(v, key):
        x = samples[v][key]
        return int(x[-1] - x[0])

    out = xr.Dataset(
        {
            "calls": (("variant", "cache"), calls.astype(np.int64)),
            "mean_held": (("variant", "cache"), held),
            "scanned": (("variant", "cache"), scanned.astype(np.int64)),
            "pressure": (("variant", "cache"), pressure),
            "seeks": (("variant", "cache"), seeks.astype(np.int64)),
            "kswapd_priority_calls": (("variant", "priority"), prio.astype(np.int64)),
            "shrinker_calls": ("variant", np.array([traces[v].sizes["call"] for v in variants])),
            "kswapd_wakes": ("variant", np.array([ev[v]["mm_vmscan_kswapd_wake"] for v in variants])),
            "direct_reclaims": ("variant", np.array([ev[v]["mm_vmscan_direct_reclaim_begin"] for v in variants])),
            "memcg_reclaims": ("variant", np.array([ev[v]["mm_vmscan_memcg_reclaim_begin"] for v in variants])),
            "pgscan": ("variant", np.array([last_minus_first(v, "pgscan_kswapd") + last_minus_first(v, "pgscan_direct")
                                            for v in variants])),
            "pgsteal": ("variant", np.array([last_minus_first(v, "pgsteal_kswapd") + last_minus_first(v, "pgsteal_direct")
                                             for v in variants])),
            "slabs_scanned": ("variant", np.array([last_minus_first(v, "slabs_scanned") for v in variants])),
            "slab_pages": (("variant", "sample"), np.array([samples[v]["nr_slab_reclaimable"][:ns] for v in variants])),
            "file_pages": (("variant", "sample"), np.array([samples[v]["nr_file_pages"][:ns] for v in variants])),
            "vfs_objects": (("variant", "sample"), np.array([samples[v]["vfs_objects"][:ns] for v in variants])),
            "vfs_objects_mean": ("variant", np.array([samples[v]["vfs_objects"].mean() for v in variants])),
            "uptime": (("variant", "sample"), np.array([samples[v]["uptime"][:ns] for v in variants])),
        },
        coords={"variant": variants, "cache": names,
                "priority": np.arange(13), "sample": np.arange(ns)},
        attrs={"source": str(directory), "formulas": ", ".join(f"{v}={FORMULA.get(v, 'v5.13')}" for v in variants)},
    )
    return out


def text(ds: xr.Dataset) -> str:
    v = list(ds.variant.values)
    L = []
    w = 72
    L.append("kernel-ab: one workload on Linux 6.1 " + " / ".join(v))
    L.append("=" * w)
    L.append(f"{'':26}" + "".join(f"{x:>15}" for x in v))
    for key, title in (("shrinker_calls", "shrinker calls"), ("kswapd_wakes", "kswapd wakes"),
                       ("direct_reclaims", "direct reclaims"), ("memcg_reclaims", "memcg reclaims"),
                       ("slabs_scanned", "slab objects scanned"), ("pgscan", "pages scanned"),
                       ("pgsteal", "pages reclaimed")):
        L.append(f"{title:26}" + "".join(f"{int(x):>15,}" for x in ds[key].values))
    L.append("")
    st = v.index("stock") if "stock" in v else 0
    L.append("Objects held (mean F at the calls) / objects scanned, per cache")
    L.append("-" * w)
    L.append(f"{'cache':12}" + "".join(f"{x:>20}" for x in v))
    for c in range(ds.sizes["cache"]):
        cells = [f"{ds.mean_held.values[a, c]:>9.0f} /{int(ds.scanned.values[a, c]):>9}" for a in range(len(v))]
        L.append(f"{str(ds.cache.values[c]):12}" + "".join(f"{x:>20}" for x in cells))
    L.append("")
    L.append("Pressure: objects scanned per object held; x stock in brackets")
    L.append("-" * w)
    L.append(f"{'cache':12}" + "".join(f"{x:>20}" for x in v))
    for c in range(ds.sizes["cache"]):
        p = ds.pressure.values[:, c]
        cells = []
        for a in range(len(v)):
            if a == st:
                cells.append(f"{p[a]:.3g}")
            else:
                if p[st] > 0:
                    cells.append(f"{p[a]:.3g} ({p[a] / p[st]:.3g}x)")
                else:
                    cells.append(f"{p[a]:.3g} (stock 0)" if p[a] > 0 else f"{p[a]:.3g}")
        L.append(f"{str(ds.cache.values[c]):12}" + "".join(f"{x:>20}" for x in cells))
    L.append("")
    for a, x in enumerate(v):
        order = [str(ds.cache.values[c]) for c in np.argsort(-ds.pressure.values[a], kind="stable")
                 if ds.pressure.values[a, c] > 0]
        L += order_lines(f"order by pressure, {x}: ", order, w)
    L.append("")
    L.append(f"kswapd priority distribution (% of kswapd's calls of {ds.cache.values[0]})")
    L.append("-" * w)
    L.append(f"{'priority':10}" + "".join(f"{p:>5}" for p in range(12, 0, -1)))
    for a, x in enumerate(v):
        h = ds.kswapd_priority_calls.values[a]
        tot = max(h.sum(), 1)
        L.append(f"{x:10}" + "".join(f"{100 * h[p] / tot:>5.0f}" for p in range(12, 0, -1)))
    L.append("")
    L.append("Slab (nr_slab_reclaimable) vs page cache (nr_file_pages), MiB")
    L.append("-" * w)
    ns = ds.sizes["sample"]
    idx = np.unique(np.linspace(0, ns - 1, min(8, ns)).astype(int))
    L.append(f"{'sample':10}" + "".join(f"{i:>7}" for i in idx))
    for a, x in enumerate(v):
        L.append(f"{x + ' slab':10}" + "".join(f"{ds.slab_pages.values[a, i] * 4 / 1024:>7.1f}" for i in idx))
        L.append(f"{x + ' file':10}" + "".join(f"{ds.file_pages.values[a, i] * 4 / 1024:>7.0f}" for i in idx))
    L.append(f"{'mean slab':10}" + "".join(f"{x}={ds.slab_pages.values[a].mean() * 4 / 1024:.1f} "
                                            for a, x in enumerate(v)))
    assert all(len(line) <= w for line in L), [line for line in L if len(line) > w]
    return "\n".join(L)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", nargs="?", default=str(DEFAULT_DIR))
    ap.add_argument("--variants", default="stock,floor,rik")
    ap.add_argument("--nc", help="also write the Dataset to this NetCDF file")
    args = ap.parse_args(argv)
    ds = analyze(Path(args.dir), [v for v in args.variants.split(",") if v])
    print(text(ds))
    if args.nc:
        ds.to_netcdf(args.nc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
