"""Reclaim priority loops: kswapd and direct reclaim (docs/kernel.md §2.2, §2.4).

* A **pass** at priority p shrinks one node: for each memcg (root first), the
  file LRU scan then shrink_slab() at the same priority (§2.2). Global
  reclaim walks every memcg (shrink_node()'s mem_cgroup_iter() loop stops
  early only for limit reclaim), so each memcg whose superblock shrinker bit
  is set gets its own shrink_slab_memcg() call and, under the 4.19 floor, at
  least ``min(freeable, batch)`` of scan. Offline memcgs' slab is skipped
  (shrink_slab_memcg), their LRUs are still scanned. A memcg with no
  page cache and no shrinker work is passed over: its calls would change
  nothing.
* **kswapd** wakes when a node's free memory is below the low watermark and
  reclaims until it is above high: priority 12 down to 1 (never 0), each pass
  aiming at ``nr_to_reclaim = max(high, 32)``; the priority is lowered only
  when a pass scanned less than that, or reclaimed nothing. Time kswapd
  spends blocked (XFS sync reclaim) delays its next passes.
* **Direct reclaim** in an allocating task: ``nr_to_reclaim = 32``, priority
  12 down to 0, every node of the zonelist per priority, stopping as soon as
  32 pages are back; at priority 12 each node's LRU pass is finished (the
  "scan_adjusted" exception of global direct reclaim). Its time is stall,
  split by cause (``sim.waits``: the CPU of the scans, and XFS's waits,
  :mod:`reclaimlab.sim.xfs`) into ``stall_by_cause``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .lru import DEF_PRIORITY, SWAP_CLUSTER_MAX, shrink_lruvec
from .slab import may_shrink, shrink_slab
from .state import FREE, ONLINE, RECLAIM_CPU, ROOT

if TYPE_CHECKING:                      # the engine imports this module
    from .engine import Sim


def reclaim_pass(sim: Sim, n: int, priority: int, nr_to_reclaim: int, nofs: bool,
                 finish_lru: bool) -> tuple[int, float, float]:
    """One shrink_node() pass; returns (pages scanned, pages reclaimed, seconds)."""
    st, tot = sim.st, sim.totals
    scanned, reclaimed, seconds = 0, 0.0, 0.0
    alive = np.flatnonzero(st.memcg_state != FREE).tolist()
    many = len(alive) > 1
    # Per memcg, as Python values: its pages on node n, whether shrink_slab() has work, its state.
    lru = np.add.reduce(st.lists[:4, n], axis=(0, 2)).tolist() if many else None   # .sum(), no wrapper
    slab = may_shrink(sim, n).tolist() if many else None
    online = (st.memcg_state == ONLINE).tolist()
    for m in alive:
        if m != ROOT and not lru[m] and not slab[m]:
            continue                    # nothing on its LRU and no shrinker to call
        need = None if finish_lru else max(nr_to_reclaim - int(reclaimed), 0)
        if need == 0 or (m != ROOT and not lru[m]):
            s = r = 0
        else:
            s, r = shrink_lruvec(st, sim.rng, n, m, priority, need)
        scanned += s
        reclaimed += r
        seconds += s * sim.costs.page_scan_us * 1e-6
        sim.waits[RECLAIM_CPU] += s * sim.costs.page_scan_us * 1e-6
        if online[m] and (slab is None or slab[m]):
            pages, t = shrink_slab(sim, n, m, priority, nofs)
            reclaimed += pages
            seconds += t
    tot.pages_scanned[n] += scanned
    tot.pages_reclaimed[n] += int(reclaimed)
    tot.priority[n] = min(tot.priority[n], priority)
    return scanned, reclaimed, seconds


def kswapd(sim: Sim, n: int, budget: float, start: float = 0.0) -> float:
    """Run node ``n``'s kswapd for up to ``budget`` seconds; returns time used.

    ``start``: seconds into the step kswapd starts, after the time it was still
    blocked from earlier steps (its clock, against which XFS's per-AG reclaim
    locks are held, starts then: it never waits for a hold of its own that
    ended before it could run again).
    """
    st = sim.st
    used = 0.0
    sim.clock = sim.now + start
    sim.waits[:] = [0.0] * len(sim.waits)
    while used < budget:
        if sim.free(n) - sim.pending >= sim.high:
            st.kswapd_priority[n] = -1          # balanced: back to sleep
            st.workingset.snapshot_node(n)      # balance_pgdat() ends: snapshot_refaults()
            break
        if st.kswapd_priority[n] < 1:
            st.kswapd_priority[n] = DEF_PRIORITY
        p = int(st.kswapd_priority[n])
        target = max(sim.high, SWAP_CLUSTER_MAX)
        scanned, reclaimed, seconds = reclaim_pass(sim, n, p, target, nofs=False, finish_lru=False)
        used += max(seconds, 1e-6)
        if scanned < target or reclaimed == 0:
            st.kswapd_priority[n] = p - 1
            if p - 1 < 1:                        # gave up this round (never priority 0)
                st.kswapd_priority[n] = -1
                st.workingset.snapshot_node(n)
                break
    sim.totals.kswapd_busy[n] += used
    return used


def direct_reclaim(sim: Sim, home: int, nofs: bool, start: float = 0.0) -> tuple[float, float]:
    """One try_to_free_pages() call from node ``home``; returns (pages, seconds).

    ``start``: seconds into the step the call begins. A task that calls again
    in the same step does so after its earlier calls returned, so it passes
    the time they took: its clock (``sim.clock``, against which XFS's
    per-AG reclaim locks are held, :mod:`reclaimlab.sim.xfs`) starts after
    them, and it never waits for a lock it held itself (in
    xfs_reclaim_inodes_ag() each AG's pag_ici_reclaim_lock is released
    before the walk moves on, fs/xfs/xfs_icache.c, 4.19).
    """
    order = [home] + [n for n in range(sim.params.nodes) if n != home]
    reclaimed, seconds = 0.0, 0.0
    sim.clock = sim.now + start
    sim.waits[:] = [0.0] * len(sim.waits)
    for priority in range(DEF_PRIORITY, -1, -1):
        for n in order:
            _, r, t = reclaim_pass(sim, n, priority, SWAP_CLUSTER_MAX - int(reclaimed), nofs,
                                   finish_lru=priority == DEF_PRIORITY)
            reclaimed += r
            seconds += t
        if reclaimed >= SWAP_CLUSTER_MAX:
            break
    for n in order:                              # do_try_to_free_pages() ends: snapshot_refaults()
        sim.st.workingset.snapshot_node(n)
    sim.totals.direct[home] += 1
    sim.totals.stall[home] += seconds
    sim.totals.stall_by_cause[home] += sim.waits
    sim.totals.blocked_by_cause[home] += sim.waits
    return reclaimed, seconds
