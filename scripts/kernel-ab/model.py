#!/usr/bin/env python3
"""model.py - the simulator beside the kernel-ab kernels (issue 21, item 4; a first cut).

Describes the kernel-ab guest and workload as a reclaimlab scenario (512 MiB,
one node, a streaming reader through the page cache, a big VFS tree on the
superblock shrinker and small caches of their own with the seeks and batch the
real ones have), simulates it under the three formulas the kernels run
(``v5.13``, ``v5.13+floor``, ``rik-6.1``) and prints, beside what
``analyze.py`` measured on the real kernels, the pressure per cache (objects
scanned per object held), the floor/stock ratio per cache, and the order of
the caches by pressure.

Usage:
    python scripts/kernel-ab/model.py [DIR] [--nc OUT.nc] [--chart OUT.svg|.png|.html]

``--nc`` writes the comparison as one xarray Dataset (dims source = real/model,
variant, cache); ``--chart`` draws pressure per cache, real beside model, one
row per kernel (log scale; a cache a kernel never scanned has no point).

This is a first cut, not the issue's finished comparison: the scenario's rates
are rough readings of the guest (see docs/kernel-ab.md), not fitted; the
workload's phases (global rounds, then the memcg rounds) are not modelled; the
model's superblock (dentries + inodes) stands for the big ext4 superblock.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

import reclaimlab as rl
from reclaimlab.scenarios import Scenario
from reclaimlab.sim.params import FileSet, SimParams, SlabCache

sys.path.insert(0, str(Path(__file__).resolve().parent))
import analyze  # noqa: E402

FORMULAS = {"stock": "v5.13", "floor": "v5.13+floor", "rik": "rik-6.1"}
#: model cache -> real cache (analyze.py's roles)
SMALL = (  # name, objects, seeks, batch: the real small shrinkers of the guest
    ("sb#2", 300, 2, 1024),      # small ext4 superblock
    ("jbd2#1", 192, 2, 128),     # jbd2 journal shrinker of the big ext4
    ("ext4_es#1", 64, 2, 128),   # ext4 extent status cache
    ("sb#3", 10, 0, 1024),       # a pseudo-filesystem superblock (seeks 0)
    ("kfree_rcu#1", 4, 2, 128),
    ("sb#4", 3, 0, 1024),
    ("sb#5", 1, 2, 1024),
)


def scenario(duration_s: float = 60.0) -> Scenario:
    # guest: MemTotal 503 448 kB = 125 862 pages; ~8 000 pages in use by the kernel and init
    # the guest reclaimed ~291 000 pages in ~65 s, ~4 500 pages (17.5 MiB) a second: a
    # stream of 1 MiB files at 18 a second
    stream = FileSet("stream", pages_per_file=256, creates_per_s=18.0)
    # the big tree: bursts of stat() (2 x 120 000 lookups and 20 000 negative dentries
    # per round, ~6 000 lookups a second, about half of them of names already cached)
    # that leave every dentry and inode unreferenced: 3 000 new names a second
    tree = FileSet("tree", pages_per_file=1, creates_per_s=3000.0)
    caches = tuple(SlabCache(n, o, objects_per_page=32, reads_per_s=0.05, seeks=s, batch=b)
                   for n, o, s, b in SMALL)
    params = SimParams(nodes=1, node_pages=125_862, anon_pages=8_000, duration_s=duration_s,
                       dt_s=0.05, record_s=1.0, filesets=(stream, tree), caches=caches)
    return Scenario("kernel-ab", "the kernel-ab guest workload", "see scripts/kernel-ab/model.py",
                    params, params.replace(dt_s=0.2))


def model_pressure(ds) -> dict[str, float]:
    scanned = ds.scanned.sum(("time", "node")).values
    held = ds.slab.sum("node").mean("time").values
    names = [str(c) for c in ds.cache.values]
    out = {}
    vfs = [i for i, n in enumerate(names) if n in ("dentry", "inode")]
    out["sb#1"] = float(scanned[vfs].sum() / max(held[vfs].sum(), 1))
    for i, n in enumerate(names):
        if n not in ("dentry", "inode", "xfs_inode"):
            out[n] = float(scanned[i] / max(held[i], 1))
    return out


def comparison(real: xr.Dataset, model: dict, model_scanned: dict) -> xr.Dataset:
    """Real and modelled pressure per cache as one Dataset (dims source, variant, cache)."""
    variants = list(FORMULAS)
    caches = [str(c) for c in real.cache.values if str(c) in model["stock"]]
    rp = np.array([[real.pressure.sel(variant=v, cache=c).item() for c in caches] for v in variants])
    mp = np.array([[model[v][c] for c in caches] for v in variants])
    sb1 = real.scanned.sel(cache="sb#1").values
    return xr.Dataset(
        {
            "pressure": (("source", "variant", "cache"), np.stack([rp, mp])),
            "sb1_pressure_time_avg": (("source", "variant"), np.stack([
                sb1 / real.vfs_objects_mean.values, np.array([model[v]["sb#1"] for v in variants])])),
            "sb1_scanned": (("source", "variant"), np.stack([
                sb1.astype(np.int64), np.array([model_scanned[v] for v in variants], np.int64)])),
        },
        coords={"source": ["real", "model"], "variant": variants, "cache": caches,
                "formula": ("variant", [FORMULAS[v] for v in variants])},
        attrs={"real": str(real.attrs.get("source", "")), "model_params": scenario().params.to_json(),
               "pressure": "objects scanned per object held (real: mean count at the shrinker's calls; "
                           "model: time average); sb1_pressure_time_avg uses the time average for both"},
    )


def chart(cmp: xr.Dataset):
    import altair as alt
    rows = [{"source": str(s), "kernel": f"{v} ({cmp.formula.sel(variant=v).item()})", "cache": str(c),
             "pressure": float(cmp.pressure.sel(source=s, variant=v, cache=c))}
            for s in cmp.source.values for v in cmp.variant.values for c in cmp.cache.values]
    df = pd.DataFrame(rows)
    df = df[df.pressure > 0]
    return alt.Chart(df).mark_point(filled=True, size=80).encode(
        x=alt.X("cache:N", title=None, sort=list(cmp.cache.values)),
        y=alt.Y("pressure:Q", scale=alt.Scale(type="log"), title="scanned / held"),
        color=alt.Color("source:N", title=None),
        shape=alt.Shape("source:N", title=None),
        row=alt.Row("kernel:N", title=None, sort=[f"{v} ({f})" for v, f in FORMULAS.items()]),
    ).properties(width=360, height=130,
                 title="kernel-ab: pressure per cache, real kernel against the model")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", nargs="?", default=str(analyze.DEFAULT_DIR))
    ap.add_argument("--nc", help="write the comparison Dataset to this NetCDF file")
    ap.add_argument("--chart", help="write the chart (.svg, .png, .html)")
    args = ap.parse_args(argv)
    directory = Path(args.dir)
    real = analyze.analyze(directory, list(FORMULAS))
    rp = {str(c): real.pressure.values[:, k] for k, c in enumerate(real.cache.values)}
    sc = scenario()
    runs = {v: rl.simulate(sc, f) for v, f in FORMULAS.items()}
    model = {v: model_pressure(ds) for v, ds in runs.items()}
    model_scanned = {v: int(ds.scanned.sel(cache=["dentry", "inode"]).sum()) for v, ds in runs.items()}
    caches = [c for c in rp if c in model["stock"]]
    w = 72
    lines = ["kernel-ab: pressure per cache, real kernel against the model", "=" * w,
             f"{'cache':12}{'stock real/model':>20}{'floor real/model':>20}{'rik real/model':>20}"]
    for c in caches:
        cells = [f"{rp[c][a]:.3g} / {model[v][c]:.3g}" for a, v in enumerate(FORMULAS)]
        lines.append(f"{c:12}" + "".join(f"{x:>20}" for x in cells))
    lines += ["", "floor / stock pressure ratio (real, model; '-' where stock is 0)", "-" * w]

    def ratio(f, s):
        return f"{f / s:.3g}" if s > 0 else "-"

    for c in caches:
        lines.append(f"{c:12}{ratio(rp[c][1], rp[c][0]):>12}{ratio(model['floor'][c], model['stock'][c]):>12}")
    # sb#1 with "held" as the time average, as the model measures it: dentry +
    # ext4_inode_cache objects in /proc/slabinfo, averaged over the samples
    held = real.vfs_objects_mean.values
    sc1 = real.scanned.values[:, list(real.cache.values).index("sb#1")]
    tp = sc1 / held
    lines += ["", "sb#1 with held = time average (slabinfo dentry + ext4_inode_cache)",
              f"{'':12}" + "".join(f"{v:>12}" for v in FORMULAS) + f"{'floor/stock':>14}",
              f"{'real':12}" + "".join(f"{x:>12.3g}" for x in tp) + f"{ratio(tp[1], tp[0]):>14}",
              f"{'model':12}" + "".join(f"{model[v]['sb#1']:>12.3g}" for v in FORMULAS)
              + f"{ratio(model['floor']['sb#1'], model['stock']['sb#1']):>14}",
              f"{'scanned':12}" + "".join(f"{int(x):>12}" for x in sc1)
              + f"{ratio(sc1[1], sc1[0]):>14}",
              f"{'model':12}" + "".join(f"{model_scanned[v]:>12}" for v in FORMULAS)
              + f"{ratio(model_scanned['floor'], model_scanned['stock']):>14}"]
    lines.append("")
    for a, v in enumerate(FORMULAS):
        r = [c for c in sorted(caches, key=lambda c: -rp[c][a]) if rp[c][a] > 0]
        m = [c for c in sorted(caches, key=lambda c: -model[v][c]) if model[v][c] > 0]
        for who, order in (("real ", r), ("model", m)):
            lines += analyze.order_lines(f"order {v} {who}: ", order, w)
    print("\n".join(lines))
    cmp = comparison(real, model, model_scanned)
    if args.nc:
        cmp.to_netcdf(args.nc)
    if args.chart:
        from reclaimlab.viz.save import chart_bytes
        fmt = Path(args.chart).suffix.lstrip(".") or "svg"
        Path(args.chart).write_bytes(chart_bytes(chart(cmp), fmt))
    return 0


if __name__ == "__main__":
    sys.exit(main())
