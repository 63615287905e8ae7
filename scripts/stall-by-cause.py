#!/usr/bin/env python3
"""Bug 202441's stall and blocked time by cause, full compile-and-copy, seed 0.

Prints the markdown table of docs/simulator.md ("stall by cause"): seconds
summed over the run, the nodes and the tasks, per cause, under 4.18, 4.19 and
4.19.3, with 4.19.3's extra over 4.18 and each cause's share of it, and the
share of the extra blocked time that sync XFS reclaim accounts for.

Usage::

    nice .venv/bin/python scripts/stall-by-cause.py [--seed N]
"""
from __future__ import annotations

import argparse
import sys

import reclaimlab as rl

KERNELS = ("4.18", "4.19", "4.19.3", "5.0", "5.10")
#: What sync XFS reclaim blocks on inside direct reclaim: its flushes, the waits for
#: other reclaimers' AG locks (held while they flush) and its log forces.
SYNC_XFS = ("xfs_sync_reclaim", "xfs_reclaim_lock", "xfs_log_force")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    runs = rl.compare("compile-and-copy", kernels=list(KERNELS), seed=args.seed)
    stall = runs.stall_by_cause.sum(("time", "node"))
    blocked = runs.blocked_by_cause.sum(("time", "node"))
    extra = stall.sel(formula="4.19.3") - stall.sel(formula="4.18")
    extra_blocked = blocked.sel(formula="4.19.3") - blocked.sel(formula="4.18")
    out = ["| cause | stall 4.18 | stall 4.19 | stall 4.19.3 | 4.19.3 − 4.18 | share of the extra "
           "| blocked 4.18 | blocked 4.19.3 |", "|---|---|---|---|---|---|---|---|"]
    for cause in runs.cause.values:
        c = dict(cause=cause)
        vals = [float(stall.sel(formula=k, **c)) for k in ("4.18", "4.19", "4.19.3")]
        share = float(extra.sel(**c)) / float(extra.sum()) if float(extra.sum()) else 0.0
        out.append(f"| `{cause}` | " + " | ".join(f"{v:.1f}" for v in vals)
                   + f" | {float(extra.sel(**c)):.1f} | {share:.0%} | {float(blocked.sel(formula='4.18', **c)):.1f}"
                   f" | {float(blocked.sel(formula='4.19.3', **c)):.1f} |")
    tot = [float(stall.sel(formula=k).sum()) for k in ("4.18", "4.19", "4.19.3")]
    out.append("| total | " + " | ".join(f"{v:.1f}" for v in tot) + f" | {float(extra.sum()):.1f} | 100% | "
               f"{float(blocked.sel(formula='4.18').sum()):.1f} | {float(blocked.sel(formula='4.19.3').sum()):.1f} |")
    sync_stall = float(extra.sel(cause=list(SYNC_XFS)).sum()) / float(extra.sum())
    sync_blocked = float(extra_blocked.sel(cause=list(SYNC_XFS)).sum()) / float(extra_blocked.sum())
    with_reads = float(extra_blocked.sel(cause=list(SYNC_XFS) + ["xfs_cluster_read"]).sum()) / float(extra_blocked.sum())
    times = ", ".join(f"{k} {float(runs.workload_time.sel(formula=k)):.1f} s" for k in KERNELS)
    out += ["", f"workload_time: {times}.",
            f"Sync XFS reclaim ({', '.join(SYNC_XFS)}) is {sync_stall:.0%} of 4.19.3's extra stall and "
            f"{sync_blocked:.0%} of its extra blocked time ({float(extra_blocked.sum()):.1f} s; "
            f"{with_reads:.0%} with cluster reads, which include unlinks' reads outside reclaim)."]
    sys.stdout.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
