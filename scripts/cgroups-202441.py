"""Bug 202441 (compile-and-copy): how the slowdown depends on the number of cgroups and on how busy they are.

Issue 17 asks whether the 4.19.3/4.18 slowdown grows with the number of
cgroups. In the kernel a cgroup's superblock shrinker is called on a node only
while its shrinker bit is set there: list_lru_add() sets it when a dentry or
inode of the cgroup goes onto the superblock's lists, and shrink_slab_memcg()
clears it when super_cache_count() is SHRINK_EMPTY. super_cache_count() adds
XFS's whole-filesystem count of reclaimable inodes for every memcg, so a set
bit stays set while XFS has inodes to reclaim, and every such call with the
172b06c32b94 floor scans min(freeable, 1024) objects, most of them given to
XFS's sync inode reclaim. Whether the bits are set depends on whether the
cgroups' services keep putting dentries on their lists, which no report of the
bug recorded: this script sweeps it (``cgroup_touch_per_s``, files each cgroup
opens again per second; 0 is the grid's idle cgroups) with the number of
cgroups, on the full preset's cell (2 nodes, 16 GiB, 10 MB/s copy), so the
dependence is a reported sensitivity, not a tuned number.

Run: .venv/bin/python scripts/cgroups-202441.py --out /tmp/cg.nc --table /tmp/cg.md [--workers 2]
"""
from __future__ import annotations

import sys

import xarray as xr

import gridrun

KERNELS = ["4.18", "4.19", "4.19.3"]
CGROUPS = [0, 10, 30, 100]
TOUCH_PER_S = [0.0, 0.1, 1.0]
SEEDS = [0, 1]


def table(ds: xr.Dataset, command: str, seconds: float) -> str:
    """workload_time per kernel and the 4.19.3/4.18 ratio, seed means, by cgroups x touch rate."""
    wt = ds.workload_time
    seeds, cgroups, rates = (ds[d].values.tolist() for d in ("seed", "cgroups", "cgroup_touch_per_s"))
    mean = wt.mean("seed")
    ratio = (wt.sel(kernel="4.19.3") / wt.sel(kernel="4.18"))
    lines = [
        f"Command: `{command}` ({seconds / 60:.1f} minutes); reclaimlab {ds.attrs['reclaimlab_version']}.",
        "",
        "workload_time in seconds, mean of seeds " + ", ".join(map(str, seeds)) +
        "; ratio 4.19.3/4.18 per seed (min-max) and of the means. `*`: a run that had not "
        "finished (extrapolated).",
        "",
        "| cgroups | opens/s per cgroup | " + " | ".join(KERNELS) + " | 4.19.3/4.18 seeds | 4.19.3/4.18 means |",
        "|---|---|" + "---|" * (len(KERNELS) + 2),
    ]
    finished = ds.workload_finished
    for c in cgroups:
        for r in rates:
            cells = []
            for k in KERNELS:
                cell = f"{float(mean.sel(kernel=k, cgroups=c, cgroup_touch_per_s=r)):,.0f}"
                if not bool(finished.sel(kernel=k, cgroups=c, cgroup_touch_per_s=r).all()):
                    cell += "*"
                cells.append(cell)
            per_seed = ratio.sel(cgroups=c, cgroup_touch_per_s=r)
            of_means = float(mean.sel(kernel="4.19.3", cgroups=c, cgroup_touch_per_s=r)
                             / mean.sel(kernel="4.18", cgroups=c, cgroup_touch_per_s=r))
            lines.append(f"| {c} | {r:g} | " + " | ".join(cells) +
                         f" | {float(per_seed.min()):.2f}-{float(per_seed.max()):.2f} | {of_means:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = gridrun.parser(__doc__)
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: the reduced preset, seed 0, cgroups 0 and 10, rates 0 and 1")
    args = ap.parse_args(argv)
    kw = dict(kernels=KERNELS, seeds=SEEDS, cgroups=CGROUPS, cgroup_touch_per_s=TOUCH_PER_S, progress=True)
    if args.quick:
        kw.update(reduced=True, seeds=[0], cgroups=[0, 10], cgroup_touch_per_s=[0.0, 1.0], progress=False)
    return gridrun.run("compile-and-copy", kw, args, gridrun.command("cgroups-202441.py", argv), table)


if __name__ == "__main__":
    sys.exit(main())
