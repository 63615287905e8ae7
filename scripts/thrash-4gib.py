#!/usr/bin/env python3
"""Why a 4 GiB machine slows 4.18's compile (docs/simulator.md, "Why 4 GiB thrashes").

Runs compile-and-copy on one node with 1 GiB of anonymous memory and no
cgroups (a cell of the 202441 grid) for each machine size and copy rate, and
prints, per run: the inactive and active file pages (mean over 60-300 s),
the pages the LRU reclaimed a second and the lap of the inactive list
(inactive pages over that rate), the files each file set read back from disk
and how many a refault activated, the pages the LRU reclaimed and the inode
shrinker stripped per set, and the tasks' refault_read time; then the
markdown table of that section for one compile: counts up to the compile's
end, or, when it had not finished at 500 s, the run's counts over the share
of it done. The per-run lines count the whole 500 s (the job goes on
working after its compile is done).

It counts by wrapping three internal functions of the simulator
(``reclaim.shrink_lruvec``, ``slab._strip_pages``,
``workingset.Shadows.refault``) and the recorder, without changing what
they do: the runs are the same Datasets as ``rl.simulate`` gives.

Usage::

    nice .venv/bin/python scripts/thrash-4gib.py [--kernel 4.18] [--seed 0]
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

import reclaimlab as rl
from reclaimlab.grid import pseudo_overrides
from reclaimlab.scenarios import get
from reclaimlab.sim import reclaim, recorder, slab, workingset

CELLS = ((4, 40), (4, 10), (16, 40), (16, 10))   # (GiB, copy MB/s)


class Counts:
    """Per file set page flows of one run, gathered by wrapping the simulator's functions."""

    def __init__(self, sets: int) -> None:
        self.evicted = np.zeros(sets)
        self.stripped = np.zeros(sets)
        self.read_back = np.zeros(sets)       # files
        self.activated = np.zeros(sets)       # files a refault activated
        self.lists: list[np.ndarray] = []     # per record: (4, sets) p_inact, p_ref, p_act, p_dirty
        self.read_back_by_record: list[np.ndarray] = []   # per record: files read back so far, per set


def _wrap(counts: Counts):
    """Install the counting wrappers; returns a function that removes them."""
    saved = (reclaim.shrink_lruvec, slab._strip_pages, workingset.Shadows.refault, recorder.Recorder.add)

    def shrink(st, rng, n, m, priority, need):
        before = st.lists[:4, n, m].sum(axis=0)
        out = saved[0](st, rng, n, m, priority, need)
        counts.evicted += before - st.lists[:4, n, m].sum(axis=0)
        return out

    def strip(sim, n, m, files):
        before = sim.st.lists[:4, n, m].sum(axis=0)
        out = saved[1](sim, n, m, files)
        counts.stripped += before - sim.st.lists[:4, n, m].sum(axis=0)
        return out

    def refault(self, rng, k, files, *args):
        hot = saved[2](self, rng, k, files, *args)
        counts.read_back[k] += files
        counts.activated[k] += hot
        return hot

    def add(self, t, job_fraction):
        counts.lists.append(self.sim.st.lists[:4].sum(axis=(1, 2)))
        counts.read_back_by_record.append(counts.read_back.copy())
        return saved[3](self, t, job_fraction)

    reclaim.shrink_lruvec, slab._strip_pages = shrink, strip
    workingset.Shadows.refault, recorder.Recorder.add = refault, add

    def undo():
        reclaim.shrink_lruvec, slab._strip_pages, workingset.Shadows.refault, recorder.Recorder.add = saved
    return undo


def run(kernel: str, gib: int, copy: float, seed: int):
    """One grid cell (one node, 1 GiB anon, no cgroups) with its counts."""
    # The grid's own translation of machine size, anonymous memory and copy rate into overrides.
    cell = pseudo_overrides(get("compile-and-copy").params,
                            {"machine_gib": gib, "machine_anon_gib": 1, "copy_mb_per_s": copy}, nodes=1)
    sets = cell["filesets"]
    counts = Counts(len(sets))
    undo = _wrap(counts)
    try:
        ds = rl.simulate("compile-and-copy", kernel=kernel, seed=seed, nodes=1, cgroups=0, **cell)
    finally:
        undo()
    return ds, counts, [f.name for f in sets], [f.pages_per_file for f in sets]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kernel", default="4.18")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rows = []
    for gib, copy in CELLS:
        ds, c, names, ppf = run(args.kernel, gib, copy, args.seed)
        L = np.array(c.lists)                                  # (records, 4, sets)
        inactive = (L[:, 0] + L[:, 1] + L[:, 3]).sum(axis=1)
        active = L[:, 2].sum(axis=1)
        seconds = float(ds.time[-1])
        evict_rate = c.evicted.sum() / seconds
        lap = inactive[60:300].mean() / evict_rate
        blocked_t = ds.blocked_by_cause.sum("node")
        blocked = blocked_t.sum("time")
        refault_read = float(blocked.sel(cause="refault_read"))
        files_back = float(c.read_back.sum())
        # One compile's worth: up to its end when it finished (the job goes on working after),
        # else the run's counts over the share of the compile done.
        finished = bool(ds.workload_time.attrs.get("finished", 1))
        end = int(np.searchsorted(ds.time.values, float(ds.workload_time))) if finished else len(ds.time) - 1
        share = 1.0 if finished else float(ds.job_progress[-1])
        src = [i for i, n in enumerate(names) if n.startswith("sources")]
        src_files = float(c.read_back_by_record[end][src].sum()) / share
        refault_compile = float(blocked_t.isel(time=slice(0, end + 1)).sel(cause="refault_read").sum()) / share
        print(f"== {args.kernel}, {gib} GiB, {copy:g} MB/s, seed {args.seed}: workload_time "
              f"{float(ds.workload_time):.0f} s{'' if ds.workload_time.attrs.get('finished', 1) else ' (extrapolated)'}, "
              f"{float(ds.job_progress[-1]):.2f} of the compile done at {seconds:.0f} s")
        print(f"   inactive {inactive[60:300].mean():,.0f} pages, active {active[60:300].mean():,.0f} (60-300 s); "
              f"LRU reclaim {evict_rate:,.0f} pages/s, lap {lap:,.0f} s; stripped {c.stripped.sum() / seconds:,.0f} pages/s")
        for i, n in enumerate(names):
            print(f"   {n:14s} read back {c.read_back[i]:8,.0f} files ({c.activated[i]:6,.0f} activated), "
                  f"LRU-reclaimed {c.evicted[i]:10,.0f} pages, stripped {c.stripped[i]:10,.0f}")
        print(f"   refault_read {refault_read:,.0f} task-s, {refault_read / files_back * 1e3:.0f} ms a file read back")
        rows.append((gib, copy, src_files, refault_read / files_back, refault_compile / 4,
                     float(ds.workload_time), finished))
    print("\n| machine, copy | source files read from disk per compile (of 50,000) | wait per file "
          "| refault_read per task per compile | compile |\n|---|---|---|---|---|")
    for gib, copy, files, wait, per_task, wt, fin in rows:
        print(f"| {gib} GiB, {copy:g} MB/s | {files:,.0f} | {wait * 1e3:.0f} ms | {per_task:.0f} s | "
              f"{wt:.0f} s{'' if fin else ' (extrapolated)'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
