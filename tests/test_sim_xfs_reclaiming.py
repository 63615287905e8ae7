"""Sync XFS inode reclaim as other reclaimers meet it (bug 202349's stacks: GFP_KERNEL
allocations waiting in xfs_reclaim_inodes_ag() on another reclaimer's AG lock).

Kernel rules tested (fs/xfs/xfs_icache.c, 4.19):

* xfs_reclaim_inode() drops an inode's reclaim tag, and so
  ``pag_ici_reclaimable`` (what xfs_reclaim_inodes_count() sums for
  xfs_fs_nr_cached_objects()), only at its ``reclaim:`` label: for a dirty
  inode after xfs_iflush() and the xfs_bwrite() it waits for. While one
  reclaimer holds an AG's ``pag_ici_reclaim_lock`` and flushes, the inodes of
  its batch still count, and the AG stays tagged for xfs_perag_get_tag().
* xfs_reclaim_inodes_ag(SYNC_TRYLOCK | SYNC_WAIT) skips a locked AG and,
  with nr_to_scan left, restarts with mutex_lock(): it waits for the holder.
* Each AG's lock is released before the walk moves on, so a task's next
  direct reclaim call never waits for a lock it held itself.
"""
import pytest

from reclaimlab.kernel.releases import Rules
from reclaimlab.sim import xfs
from reclaimlab.sim.engine import Sim
from reclaimlab.sim.params import Costs, FileSet, SimParams
from reclaimlab.sim.reclaim import direct_reclaim
from reclaimlab.sim.state import ROOT, XFS_RECLAIM_LOCK

GIB = 262_144


def xfs_sim(dirty=128, ags=4, formula="v4.16"):
    params = SimParams(nodes=1, node_pages=GIB, xfs_ags=ags,
                       filesets=(FileSet("f", pages_per_file=1, creates_per_s=1.0),))
    sim = Sim(params, Rules(formula, "v4.18", "sync", "none"), 0)
    sim.st.x_dirty[0] = dirty
    sim.clock = sim.now
    return sim


def test_inodes_another_walk_is_flushing_still_count_as_reclaimable():
    """xfs_reclaim_inodes_count() while a walk holds the AGs: its batches' inodes count
    until each is reclaimed (evenly over the hold in the model), then they are gone."""
    sim = xfs_sim()
    flush = 32 * sim.costs.inode_flush_ms * 1e-3      # one AG's batch of 32 dirty inodes
    walked, freed, wait = xfs.reclaim_inodes_nr(sim, 0, 1)     # kswapd: all 128, 4 holds
    assert walked == freed == 128 and wait == pytest.approx(4 * flush)
    assert int(sim.st.x_dirty.sum()) == 0
    sim.clock = sim.now                                 # another reclaimer, at the same moment
    assert xfs.nr_cached_objects(sim) == 128
    sim.clock = sim.now + flush / 2                     # half-way through AG 0's batch
    assert xfs.reclaiming(sim) == [16, 32, 32, 32]
    sim.clock = sim.now + 4 * flush                     # every hold over
    assert xfs.nr_cached_objects(sim) == 0


def test_a_second_reclaimer_waits_for_the_ag_locks_of_the_one_flushing():
    """The AGs stay tagged while the first walk flushes them: the second reclaimer's
    SYNC_TRYLOCK pass skips AG 0, finds nothing it can grab elsewhere, so nr_to_scan is
    left and it restarts with mutex_lock(), following the first walk round the AGs."""
    sim = xfs_sim()
    flush = 32 * sim.costs.inode_flush_ms * 1e-3
    xfs.reclaim_inodes_nr(sim, 0, 1)
    sim.clock = sim.now
    sim.waits[:] = [0.0] * len(sim.waits)
    walked, freed, wait = xfs.reclaim_inodes_nr(sim, 0, 1)
    assert walked == freed == 0
    assert wait == pytest.approx(4 * flush)
    assert sim.waits[XFS_RECLAIM_LOCK] == pytest.approx(4 * flush)


def test_the_superblock_shrinker_reaches_xfs_while_another_walk_flushes():
    """The first GFP_KERNEL pass (the 4.19 floor: min(F, 1024) of scan) flushes every
    reclaimable inode. super_cache_scan() gives fs objects their share from
    xfs_fs_nr_cached_objects(), which still counts them while they are flushed: a
    second pass at the same moment calls free_cached_objects() and waits on the locks
    for as long as the first flushes, though nothing is left for it to reclaim."""
    sim = xfs_sim(dirty=1000, formula="v4.19")
    first = direct_reclaim(sim, 0, nofs=False)[1]
    assert int(sim.st.x_dirty.sum()) == 0 and first > 1.0
    second = direct_reclaim(sim, 0, nofs=False)[1]
    assert sim.waits[XFS_RECLAIM_LOCK] == pytest.approx(1000 * sim.costs.inode_flush_ms * 1e-3)
    assert second == pytest.approx(first, rel=0.01)


def test_a_tasks_next_call_does_not_wait_for_its_own_locks():
    """A task's second direct reclaim call in a step starts when its first returned:
    every lock the first took is free again, so it waits only for its own flushes."""
    sim = xfs_sim(dirty=4096)
    first = direct_reclaim(sim, 0, nofs=False)[1]
    second = direct_reclaim(sim, 0, nofs=False, start=first)[1]
    assert sim.waits[XFS_RECLAIM_LOCK] == 0
    assert second == pytest.approx(first, rel=0.2)


def test_the_interactive_tasks_allocations_come_one_after_another():
    """The interactive task is one task: its second allocation that reclaims in a step
    starts after its first returned, so the first's AG locks are free again and the
    inodes it flushed are gone. Two allocations of different tasks at the same moment:
    the second waits behind the first's flushes."""
    from reclaimlab.sim import workload

    def two_allocations(same_task):
        sim = xfs_sim(dirty=1000, formula="v4.19")
        gpu = workload.InteractiveTask()
        for _ in range(2):
            # Free memory at min, filled with dirty pages that reclaim passes over.
            sim.st.p_dirty[0, ROOT, 0] += int(sim.free(0) - sim.wmin)
            assert workload.interactive_allocation(sim, 0, gpu if same_task else None)
        return sim.latencies, sim.waits[XFS_RECLAIM_LOCK]    # the second's lock wait

    flush_all = 1000 * Costs().inode_flush_ms * 1e-3
    (one, two), lock = two_allocations(same_task=True)
    assert one > flush_all and two < one / 10 and lock == 0
    (one, two), lock = two_allocations(same_task=False)
    assert lock == pytest.approx(flush_all) and two > flush_all
