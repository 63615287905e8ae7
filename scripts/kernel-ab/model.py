#!/usr/bin/env python3
"""model.py - the simulator beside the kernel-ab kernels (issue 21, deliverable 4).

A thin wrapper over :func:`reclaimlab.kernel_ab.comparison`: measures the
guest and workload from a capture (memory, page-cache inflow, the big tree's
files and lookup rate, the small shrinkers' sizes, seeks and batch), simulates
that scenario under v5.13, v5.13+floor and rik-6.1, and prints it beside the
real kernels over the workload's global rounds: pressure per cache, the
ratio to stock, the order of the caches, kswapd's priorities, slab and page
cache over time (72 columns).

Usage:
    python scripts/kernel-ab/model.py [DIR] [--measured-from stock] [--description working-set]
                                      [--nc OUT.nc] [--chart OUT.svg|.png|.html] [--sensitivity]

``--sensitivity`` also prints the big cache's floor/stock ratio for the
scenario measured from each capture and each description of the big tree,
and for streams of smaller and bigger files (about a minute).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reclaimlab.kernel_ab import DESCRIPTIONS, chart, comparison, load, sensitivity, text


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", nargs="?", default=None, help="captures (default: the shipped ones)")
    ap.add_argument("--measured-from", default="stock", choices=("stock", "floor", "rik"))
    ap.add_argument("--description", default="working-set", choices=DESCRIPTIONS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--nc", help="write the comparison Dataset to this NetCDF file")
    ap.add_argument("--chart", help="write the chart (.svg, .png, .html)")
    ap.add_argument("--sensitivity", action="store_true",
                    help="also print the floor/stock ratio under every workload description")
    args = ap.parse_args(argv)
    caps = load(args.dir)
    cmp = comparison(measured_from=args.measured_from, description=args.description, seed=args.seed,
                     captures=caps)
    print(text(cmp))
    if args.sensitivity:
        s = sensitivity(seed=args.seed, captures=caps)
        real = float(s.real_ratio.sel(variant="floor", cache="sb#1"))
        print("\nfloor / stock pressure on sb#1 under other descriptions of the workload")
        print("-" * 62)
        print(f"{'measured from':16}" + "".join(f"{d:>14}" for d in s.description.values) + f"{'real':>10}")
        floor = s.ratio.sel(variant="floor", cache="sb#1").isel(stream_file_pages=0)
        for m in s.measured_from.values:
            cells = "".join(f"{float(floor.sel(measured_from=m, description=d)):>13.3g}x"
                            for d in s.description.values)
            print(f"{str(m):16}{cells}{real:>9.3g}x")
        sizes = (16, 256, 4096, 16384)
        f = sensitivity(seed=args.seed, captures=caps, measured_from=[args.measured_from],
                        descriptions=[args.description], stream_file_pages=sizes)
        print(f"\nstream file size (pages), {args.measured_from} / {args.description}: "
              "sb#1 pressure and floor/stock")
        for pages in sizes:
            x = f.sel(measured_from=args.measured_from, description=args.description, stream_file_pages=pages,
                      cache="sb#1")
            print(f"{pages:>8}  stock {float(x.pressure.sel(variant='stock')):8.3g}  floor "
                  f"{float(x.pressure.sel(variant='floor')):8.3g}  ratio {float(x.ratio.sel(variant='floor')):6.3g}x")
    if args.nc:
        cmp.to_netcdf(args.nc)
    if args.chart:
        from reclaimlab.viz.save import save
        save(chart(cmp), Path(args.chart))
    return 0


if __name__ == "__main__":
    sys.exit(main())
