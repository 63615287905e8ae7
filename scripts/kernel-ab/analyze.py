#!/usr/bin/env python3
"""analyze.py - what the kernel-ab kernels did with the same workload (the real side of issue 21).

A thin wrapper over :func:`reclaimlab.kernel_ab.summary`: reads the captures
written by scripts/kernel-ab/run.sh (by default the ones shipped in
reclaimlab/data/kernel-ab) and prints, in 72 columns, per kernel the shrinker
calls, reclaim entries, objects and pages scanned; per cache the mean objects
held at its calls, objects scanned, the pressure and the order of the caches
by pressure; kswapd's priorities; slab against page cache per sample.

Usage:
    python scripts/kernel-ab/analyze.py [DIR] [--variants stock,floor,rik] [--nc OUT.nc]

``--variants`` may name a user patch (``stock,my-shrink``: run.sh --patch);
``--nc`` also writes the numbers as one xarray Dataset. The model beside the
real kernels is scripts/kernel-ab/model.py.
"""
from __future__ import annotations

import argparse
import sys

from reclaimlab.kernel_ab import summary, summary_text


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", nargs="?", default=None, help="captures (default: the shipped ones)")
    ap.add_argument("--variants", default="stock,floor,rik")
    ap.add_argument("--nc", help="also write the Dataset to this NetCDF file")
    args = ap.parse_args(argv)
    try:
        ds = summary(args.dir, [v for v in args.variants.split(",") if v])
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f"analyze.py: {e}")
    print(summary_text(ds))
    if args.nc:
        ds.to_netcdf(args.nc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
