"""The engine's state: plain integer numpy arrays (docs/kernel.md §2, §3, §5).

Axes: ``n`` node, ``m`` memcg slot (0 = root, 1 = the services' parent
cgroup, 2.. = service cgroups), ``k`` file set, ``g`` other slab cache.

Object counts are integers, as the kernel's counters are; splits of a scan
over object classes are drawn with the run's seeded generator (a mean-field
LRU: a scan takes objects from each class in proportion to its share of the
list), so a run is exactly reproducible from its seed.

Per (n, m, k), for the files of file set k:

* page cache (§2.3): ``p_inact`` inactive clean pages without PG_referenced,
  ``p_ref`` inactive clean pages with it, ``p_act`` active pages, ``p_dirty``
  inactive dirty pages (written back before they can be freed);
  ``p_act_ref``, of ``p_act``, the pages with PG_referenced (referenced again
  since their activation: mark_page_accessed() sets it on an active page, and
  shrink_active_list() leaves it set, so a deactivated one is activated by
  its next reference; not part of ``lists``);
  ``p_dirty_act``, of ``p_dirty``, the dirty pages reclaim met and activated
  with PageReclaim set (shrink_page_list()), on the active list until
  written back, when they go to the inactive tail (rotate_reclaimable_page());
  not part of ``lists``;
* ``d_ref``/``d_unref``: dentries on the dcache LRU with and without
  DCACHE_REFERENCED; each dentry pins its inode (i_count > 0);
* ``i_ref``/``i_unref``: inodes whose dentry is gone (on the inode LRU, or
  kept off it under the v5.16 rule while they have pages, §3);
* ``i_dirty``: dirty inodes among all inodes of the set (written files,
  until writeback cleans them).

Per node: ``x_clean``/``x_dirty``, XFS inodes evicted from the VFS and
awaiting XFS reclaim (the superblock's fs objects, §2.6); ``x_pushed``, the
dirty ones the last AIL push queued for xfsaild; ``x_pinned``, the dirty ones
whose last transaction is not on disk yet (pinned until a log force).
Per (n, k): ``x_clean_set``, of ``x_clean``, the inodes of file set k's files
that the root memcg's inode LRU evicted clean: still in XFS's inode cache
(XFS_IRECLAIMABLE), so a lookup of one of those files recycles it without IO
(xfs_iget_cache_hit(), :mod:`reclaimlab.sim.xfs`).

Per (n, m, g): ``g_ref``/``g_unref`` objects of the other slab caches, and
``g_ref2`` those with two shrinker passes left (``SlabCache.lru_ref = 2``).
Per shrinker: ``nr_deferred[s, n, m]`` and ``small_scan[s]`` (one C int per
shrinker, shared by every node and memcg, §1.6).
Per (n, m): ``order``, the inactive file list's age order, oldest first
(:mod:`reclaimlab.sim.lruorder`; its pages per file set always match
``p_inact + p_ref + p_dirty - p_dirty_act`` once synced); ``slab_order``, the dentry and
inode LRUs' walk order (:mod:`reclaimlab.sim.slaborder`; its objects per file
set match ``d_ref``/``d_unref`` and ``i_ref``/``i_unref`` once synced); ``workingset``, its shadow
entries and refault counters (:mod:`reclaimlab.sim.workingset`);
``sb_bit``, the superblock shrinker's bit in memcg m's shrinker_map for
node n (memcg_set_shrinker_bit(), 4.19+): set when an object goes onto one
of the memcg's superblock lists, cleared when
super_cache_count() returns SHRINK_EMPTY; shrink_slab_memcg() calls only the
shrinkers whose bit is set (:mod:`reclaimlab.sim.slab`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..model.schema import STALL_CAUSES
from .lruorder import Orders
from .slaborder import SlabOrders
from .workingset import Workingset

try:
    # A node's totals of each list in C (reclaimlab/native/module.c), the same integers as numpy's.
    from .._native import block_sums
except ImportError:            # an extension built before block_sums: numpy's reduction
    block_sums = None

# memcg slot states
FREE, ONLINE, DYING = 0, 1, 2
ROOT, PARENT = 0, 1

# Causes of blocked time, indices into the ``cause`` coordinate (schema.STALL_CAUSES).
CAUSES = tuple(STALL_CAUSES)
(RECLAIM_CPU, XFS_SYNC_RECLAIM, XFS_RECLAIM_LOCK, XFS_LOG_FORCE, XFS_CLUSTER_READ,
 REFAULT_READ, FILE_READ, DIRTY_THROTTLE, MEMORY_WAIT) = range(len(CAUSES))
assert CAUSES[MEMORY_WAIT] == "memory_wait" and CAUSES[XFS_SYNC_RECLAIM] == "xfs_sync_reclaim"


#: The (n, m, k) arrays in the order of ``State.lists``: the first eight are on a node's lists.
LISTS = ("p_inact", "p_ref", "p_act", "p_dirty", "d_ref", "d_unref", "i_ref", "i_unref", "i_dirty")


@dataclass
class State:
    """Mutable arrays of one run (see the module docstring)."""

    nodes: int
    memcgs: int
    filesets: int
    caches: int
    shrinkers: int

    def __post_init__(self) -> None:
        nmk = (self.nodes, self.memcgs, self.filesets)
        # The (n, m, k) arrays are views of one block, and g_ref/g_unref/g_ref2 of another,
        # so a node's totals of all lists take one numpy reduction (Sim.free runs
        # tens of thousands of times a run). The arrays are only ever changed in place.
        self.lists = np.zeros((len(LISTS),) + nmk, np.int64)
        for i, name in enumerate(LISTS):
            setattr(self, name, self.lists[i])
        # Of p_act, the pages with PG_referenced (a subset, so outside the block of lists).
        self.p_act_ref = np.zeros(nmk, np.int64)
        # Of p_dirty, the pages reclaim activated (PageReclaim): on the active list until written.
        self.p_dirty_act = np.zeros(nmk, np.int64)
        # p_dirty as one row of one block: the shape block_sums sums in a call (dirty_pages()).
        self._dirty_block = self.p_dirty.reshape(1, 1, -1)
        nmg = (self.nodes, self.memcgs, self.caches)
        # g_ref2: objects that survive two more shrinker passes (SlabCache.lru_ref = 2).
        self.generic_lists = np.zeros((3,) + nmg, np.int64)
        self.g_ref, self.g_unref, self.g_ref2 = self.generic_lists
        self.x_clean = np.zeros(self.nodes, np.int64)
        self.x_dirty = np.zeros(self.nodes, np.int64)
        self.x_pushed = np.zeros(self.nodes, np.int64)
        self.x_pinned = np.zeros(self.nodes, np.int64)
        self.x_clean_set = np.zeros((self.nodes, self.filesets), np.int64)
        self.nr_deferred = np.zeros((self.shrinkers, self.nodes, self.memcgs), np.int64)
        self.small_scan = np.zeros(self.shrinkers, np.int64)
        self.sb_bit = np.zeros((self.nodes, self.memcgs), bool)
        self.memcg_state = np.full(self.memcgs, FREE, np.int8)
        self.memcg_state[ROOT] = ONLINE
        self.memcg_born = np.zeros(self.memcgs)
        self.memcg_died = np.full(self.memcgs, np.nan)
        # Objects charged to a dying memcg that sit on its parent's lists (§5.1).
        self.pinned_by = np.zeros((self.memcgs, self.nodes, self.caches), np.int64)
        self.kswapd_priority = np.full(self.nodes, -1, np.int64)   # -1: asleep
        # The inactive file lists' age order (lruorder.py): cohorts of pages per file set.
        self.order = Orders(self.filesets)
        # The superblock's dentry and inode LRUs' walk order (slaborder.py): cohorts per set and class.
        self.slab_order = SlabOrders(self.filesets)
        # Shadow entries and inactive_age per lruvec (workingset.py).
        self.workingset = Workingset(self.filesets)

    # Derived counts -------------------------------------------------------
    def node_totals(self, n: int) -> list[int]:
        """Node ``n``'s totals of p_inact, p_ref, p_act, p_dirty, d_ref, d_unref, i_ref, i_unref."""
        # The same integers as np.add.reduce(self.lists[:8, n], axis=(1, 2)).tolist(), summed in C
        # without numpy's reduction set-up: Sim.free() runs this about three times a step.
        if block_sums is not None:
            return block_sums(self.lists, n, 8)
        return np.add.reduce(self.lists[:8, n], axis=(1, 2)).tolist()

    def dirty_pages(self) -> int:
        """Dirty page-cache pages of the machine (``p_dirty.sum()``: the writers' and flushers' test each step)."""
        if block_sums is not None:
            return block_sums(self._dirty_block, 0, 1)[0]           # the same integer, summed in C
        return int(np.add.reduce(self.p_dirty, axis=None))

    # One (node, memcg) row of the derived counts: the shrinkers' per-memcg calls want
    # these, and summing whole arrays to index one row cost more than the call's work.
    def pages_at(self, n: int, m: int) -> np.ndarray:
        """Page-cache pages per file set on (n, m): ``pages()[n, m]``."""
        return self.lists[:4, n, m].sum(axis=0)

    def dentries_at(self, n: int, m: int) -> np.ndarray:
        """``dentries()[n, m]``."""
        return self.lists[4:6, n, m].sum(axis=0)

    def inodes_at(self, n: int, m: int) -> np.ndarray:
        """``inodes()[n, m]``."""
        return self.lists[4:8, n, m].sum(axis=0)

    def pages(self) -> np.ndarray:
        """Page-cache pages per (n, m, k)."""
        return self.p_inact + self.p_ref + self.p_act + self.p_dirty

    def dentries(self) -> np.ndarray:
        return self.d_ref + self.d_unref

    def unpinned_inodes(self) -> np.ndarray:
        return self.i_ref + self.i_unref

    def inodes(self) -> np.ndarray:
        """All VFS inodes of a file set: pinned by a dentry or not."""
        return self.dentries() + self.unpinned_inodes()

    def generic(self) -> np.ndarray:
        return self.g_ref + self.g_unref + self.g_ref2


@dataclass
class StepTotals:
    """What one recording interval adds up (reset after each record)."""

    shape: tuple[int, int, int]          # (nodes, memcgs, caches of the Dataset)
    scanned: np.ndarray = field(init=False)
    freed: np.ndarray = field(init=False)
    delta: np.ndarray = field(init=False)
    total_scan: np.ndarray = field(init=False)
    refaults: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        for name in ("scanned", "freed", "delta", "total_scan", "refaults"):
            setattr(self, name, np.zeros(self.shape, np.int64))
        n = self.shape[0]
        self.page_refaults = np.zeros(n, np.int64)
        self.pages_scanned = np.zeros(n, np.int64)
        self.pages_reclaimed = np.zeros(n, np.int64)
        self.stall = np.zeros(n)
        # stall split by cause; blocked_by_cause adds the tasks' waits outside direct reclaim.
        self.stall_by_cause = np.zeros((n, len(CAUSES)))
        self.blocked_by_cause = np.zeros((n, len(CAUSES)))
        self.kswapd_busy = np.zeros(n)
        self.disk_busy = 0.0           # seconds the one disk served IO (disk.py)
        self.priority = np.full(n, 99, np.int64)
        self.direct = np.zeros(n, np.int64)
