#!/usr/bin/env python3
"""Does compile-and-copy's result depend on the engine's step? 4.18, 4.19, 4.19.3 over dt_s x seeds.

The step ``dt_s`` is a modelling choice, so the compile's run time under each
kernel, and the 4.19.3/4.18 ratio, must converge as it shrinks (issue 17).
Prints a markdown table of ``workload_time`` per (dt_s, seed) with the ratios
and their mean over the seeds, then, per kernel, the mean over the seeds of each
mechanism's total over the compile (stall and blocked time by cause, direct
reclaim calls, kswapd's busy time, disk busy time, page and slab refaults,
shrinker scans): a total that drifts with dt_s points at a step-dependent rule.
A run takes seconds at dt_s 0.1 and about a minute at 0.00625.

Usage::

    nice .venv/bin/python scripts/dt-convergence.py [--dt 0.1 0.05 0.025 0.0125] [--seeds 0 1 2] [--reduced]
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
import xarray as xr

import reclaimlab as rl

KERNELS = ("4.18", "4.19", "4.19.3")
#: Per-mechanism totals over the compile, by Dataset variable (summed over time and node).
TOTALS = ("stall", "direct_reclaims", "kswapd_busy", "disk_busy", "page_refaults")
BY_CAUSE = ("stall_by_cause", "blocked_by_cause")
BY_CACHE = ("scanned", "freed", "refaults")


def totals(ds: xr.Dataset) -> dict[str, float]:
    """``workload_time`` and each mechanism's total up to the end of the compile."""
    end = float(ds.workload_time)
    upto = ds.sel(time=ds.time[ds.time <= end + 1e-9])
    out = {"workload_time": end}
    for name in TOTALS:
        out[name] = float(upto[name].sum())
    for name in BY_CAUSE:
        for cause, value in zip(ds.cause.values, upto[name].sum(("time", "node")).values):
            if value:
                out[f"{name}:{cause}"] = float(value)
    for name in BY_CACHE:
        for cache, value in zip(ds.cache.values, upto[name].sum(("time", "node")).values):
            if value:
                out[f"{name}:{cache}"] = float(value)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dt", type=float, nargs="+", default=[0.1, 0.05, 0.025, 0.0125])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--reduced", action="store_true", help="the scenario's fast preset")
    args = ap.parse_args(argv)
    runs = {(k, dt, s): totals(rl.simulate("compile-and-copy", kernel=k, seed=s, dt_s=dt, reduced=args.reduced))
            for dt in args.dt for s in args.seeds for k in KERNELS}
    print("| dt_s | seed | 4.18 s | 4.19 s | 4.19.3 s | 4.19/4.18 | 4.19.3/4.18 |")
    print("|---|---|---|---|---|---|---|")
    for dt in args.dt:
        ratios = []
        for s in args.seeds:
            t = [runs[k, dt, s]["workload_time"] for k in KERNELS]
            ratios.append(t[2] / t[0])
            print(f"| {dt} | {s} | {t[0]:.1f} | {t[1]:.1f} | {t[2]:.1f} | {t[1] / t[0]:.2f} | {t[2] / t[0]:.2f} |")
        print(f"| {dt} | mean | | | | | {np.mean(ratios):.2f} ± {np.std(ratios):.2f} |")
    for k in KERNELS:
        keys = sorted({key for (kk, _, _), r in runs.items() if kk == k for key in r})
        print(f"\n{k}: mean over seeds {args.seeds}\n")
        print("| total | " + " | ".join(f"dt_s {dt}" for dt in args.dt) + " |")
        print("|---|" + "---|" * len(args.dt))
        for key in keys:
            means = [np.mean([runs[k, dt, s].get(key, 0.0) for s in args.seeds]) for dt in args.dt]
            print(f"| {key} | " + " | ".join(f"{m:.4g}" for m in means) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
