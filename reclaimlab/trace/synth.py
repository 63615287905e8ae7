"""Synthetic ftrace text, arithmetically exact under a chosen formula.

For the benchmark (a trace of a million lines) and for tests: reclaim rounds by
kswapd and direct reclaimers, each calling every shrinker instance once, with
start and end events printed as the kernel would print them if it ran
``formula``, plus reclaim events and unrelated events to skip. Instances are a
few dozen, as on a real machine, and some superblocks have seeks 0 (procfs,
sysfs), so replay has to infer them.
"""
from __future__ import annotations

import numpy as np

from ..kernel import formulas
from ..kernel.spec import ZERO_SEEK_NONE
from ..model.shrinkers import DEFAULT_SEEKS

_TASKS = (("kswapd0", 93), ("kswapd1", 94), ("stress-ng-vm", 2211), ("Web Content", 3120),
          ("<...>", 40117), ("kworker/u8:3", 517), ("cc1", 8812))


def _instances(rng: np.random.Generator, n_superblocks: int):
    """(symbol, module, pointer, seeks, batch, freeable, numa_aware) of each shrinker instance."""
    out = []
    for k in range(n_superblocks):
        seeks = 0 if k % 4 == 1 else 2   # a procfs/sysfs superblock now and then
        out.append(("super_cache_scan+0x0/0x1a0", "", seeks, 1024, int(rng.integers(1, 3_000_000)), True))
    out += [
        ("scan_shadow_nodes+0x0/0x50", "", 0, 128, 40_000, True),
        ("kfree_rcu_shrink_scan+0x0/0x140", "", 2, 128, 300, False),
        ("zs_shrinker_scan+0x0/0x30", "zsmalloc", 2, 128, 2_000, False),
        ("ext4_es_scan+0x0/0x1c0", "ext4", 2, 128, 150_000, False),
        ("mb_cache_scan+0x0/0x20", "mbcache", 2, 128, 900, False),
        ("deferred_split_scan+0x0/0x300", "", 2, 128, 60, True),
    ]
    ptrs = rng.choice(2**32, size=len(out), replace=False)
    return [(s, m, f"00000000{int(p):08x}", *rest) for (s, m, *rest), p in zip(out, ptrs)]


def synthetic_trace(n_lines: int, *, formula: str = "v5.13", seed: int = 0, flags: str = "d..1.",
                    n_superblocks: int = 20) -> str:
    """About ``n_lines`` lines of ftrace text that replay exactly under ``formula``.

    Parameters
    ----------
    n_lines : int
        Target number of lines (the result has within one round of it).
    formula : str
        Formula whose arithmetic the start and end events follow.
    seed : int
        Random seed.
    flags : str
        The flags column ("d..1." for 5-character kernels, "...." for 4.x, ""
        for none as in ``trace-cmd report``).
    n_superblocks : int
        Superblock shrinker instances (one in four has seeks 0).

    Returns
    -------
    str
        The trace, starting with an ftrace-style ``#`` header.

    Examples
    --------
    >>> import reclaimlab as rl
    >>> ds = rl.trace.parse(synthetic_trace(200))
    >>> bool(rl.trace.replay(ds, "v5.13").match.all())
    True
    """
    if not isinstance(n_lines, (int, np.integer)) or n_lines < 1:
        raise ValueError(f"n_lines={n_lines!r} must be a positive int")
    if formulas.spec(formula).uses_lru:
        raise ValueError(f"formula={formula!r} needs LRU inputs; allowed: a priority-based formula (v4.16 or later)")
    rng = np.random.default_rng(seed)
    inst = _instances(rng, n_superblocks)
    n_inst = len(inst)
    seeks = np.array([i[3] for i in inst])
    if formulas.spec(formula).zero_seek == ZERO_SEEK_NONE:
        seeks[seeks == 0] = DEFAULT_SEEKS  # before 4.20 these shrinkers had DEFAULT_SEEKS
    batch = np.array([i[4] for i in inst])
    base = np.array([i[5] for i in inst], np.int64)
    freeable = base.copy()
    syms = [f"{sym} [{mod}] {ptr}" if mod else f"{sym} {ptr}" for sym, mod, ptr, *_ in inst]
    is_super = np.array([sym.startswith("super_") for sym, *_ in inst])
    numa = np.array([i[6] for i in inst])
    small = np.zeros(n_inst, np.int64)  # Rik van Riel's small_scan, one per shrinker
    slots = np.zeros((n_inst, 2), np.int64)  # nr_deferred per (instance, node); node 0 if not NUMA aware
    fl = f"{flags} " if flags else ""
    out = ["# tracer: nop\n", "#\n", f"# synthetic trace, formula {formula}, seed {seed}\n"]
    t = 1000.0
    lines = len(out)
    while lines < n_lines:
        task, pid = _TASKS[int(rng.integers(len(_TASKS)))]
        cpu = int(rng.integers(2))
        nid = int(rng.integers(2))
        kswapd = task.startswith("kswapd")
        prio = int(rng.choice([12, 12, 12, 11, 10, 8, 6, 3, 1, 0]))
        gfp = "GFP_KERNEL" if kswapd else str(rng.choice(["GFP_HIGHUSER_MOVABLE", "GFP_KERNEL", "GFP_NOFS"]))
        head = f"{task:>16}-{pid:<7} [{cpu:03d}] {fl}"
        t += float(rng.exponential(0.01))
        begin = (f"mm_vmscan_kswapd_wake: nid={nid} order=0" if kswapd
                 else f"mm_vmscan_direct_reclaim_begin: order=0 gfp_flags={gfp}")
        out.append(f"{head}{t:.6f}: {begin}\n")
        out.append(f"{head}{t:.6f}: mm_vmscan_lru_shrink_inactive: nid={nid} nr_scanned=32 nr_reclaimed=30 "
                   f"nr_dirty=0 nr_writeback=0 nr_congested=0 nr_immediate=0 nr_activate_anon=0 "
                   f"nr_activate_file=2 nr_ref_keep=0 nr_unmap_fail=0 priority={prio} "
                   f"flags=RECLAIM_WB_FILE|RECLAIM_WB_ASYNC\n")
        step = rng.integers(-(freeable // 40) - 1, freeable // 40 + 2)
        freeable = np.clip(freeable + step, 1, 4 * base)
        col = np.where(numa, nid, 0)
        nr = slots[np.arange(n_inst), col]
        r = formulas.scan(formula, freeable, prio, seeks=seeks, batch=batch, nr_deferred=nr,
                             small_scan=small, shrink_stop=is_super & (gfp == "GFP_NOFS"))
        scanned, new_nr, small = r.scanned, r.next_deferred, r.small_scan
        slots[np.arange(n_inst), col] = new_nr
        cols = zip(syms, nr.tolist(), freeable.tolist(), r.delta.tolist(), r.total_scan.tolist(),
                   new_nr.tolist(), (r.total_scan - scanned).tolist(), (scanned * 9 // 10).tolist())
        for s, n, f, d, tot, new, left, ret in cols:
            t += 2e-6
            out.append(f"{head}{t:.6f}: mm_shrink_slab_start: {s}: nid: {nid} objects to shrink {n} "
                       f"gfp_flags {gfp} cache items {f} delta {d} total_scan {tot} priority {prio}\n")
            t += 3e-6
            out.append(f"{head}{t:.6f}: mm_shrink_slab_end: {s}: nid: {nid} unused scan count {n} "
                       f"new scan count {new} total_scan {left} last shrinker return val {ret}\n")
        end = (f"mm_vmscan_kswapd_sleep: nid={nid}" if kswapd
               else f"mm_vmscan_direct_reclaim_end: nr_reclaimed={int(rng.integers(0, 64))}")
        out.append(f"{head}{t:.6f}: {end}\n")
        out.append(f"          <idle>-0       [{cpu:03d}] {fl}{t:.6f}: sched_switch: prev_comm=swapper/{cpu} "
                   f"prev_pid=0 prev_prio=120 prev_state=R ==> next_comm={task} next_pid={pid} next_prio=120\n")
        lines += 4 + 2 * n_inst
    return "".join(out)
