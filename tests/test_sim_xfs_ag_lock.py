"""The per-AG reclaim lock and counts of xfs_reclaim_inodes_ag() (fs/xfs/xfs_icache.c, 4.19).

Kernel rules tested:

* Each AG has its own ``pag_ici_reclaimable`` count and radix tree; every
  call walks from AG 0 (``restart: ag = 0``), so the first tagged AG gives a
  walk its whole nr_to_scan and the others one batch each: AG 0 drains first,
  and an AG with no reclaimable inode is not visited (xfs_perag_get_tag()).
* The walk grabs its inodes (radix_tree_gang_lookup_tag(),
  xfs_reclaim_inode_grab()) only once it holds pag_ici_reclaim_lock: a
  reclaimer that waited for the lock walks what the AG has when it gets it.
* mutex_lock() queues sleepers first come, first served
  (kernel/locking/mutex.c: __mutex_add_waiter() at the wait list's tail,
  the unlocker hands the lock to the first waiter).
"""
import pytest

from reclaimlab.kernel.releases import Rules
from reclaimlab.sim import xfs
from reclaimlab.sim.engine import Sim
from reclaimlab.sim.params import FileSet, SimParams
from reclaimlab.sim.state import XFS_RECLAIM_LOCK

GIB = 262_144


def xfs_sim(dirty=0, clean=0, ags=4):
    params = SimParams(nodes=1, node_pages=GIB, xfs_ags=ags,
                       filesets=(FileSet("f", pages_per_file=1, creates_per_s=1.0),))
    sim = Sim(params, Rules("v4.16", "v4.18", "sync", "none"), 0)
    sim.st.x_dirty[0], sim.st.x_clean[0] = dirty, clean
    sim.clock = sim.now
    return sim


def test_inodes_added_are_dealt_round_robin_over_the_ags():
    sim = xfs_sim(clean=10)
    assert xfs.sync_ags(sim) == [3, 3, 2, 2]
    sim.st.x_clean[0] += 3                      # three more: the rotor goes on from AG 2
    assert xfs.sync_ags(sim) == [4, 3, 3, 3]


def test_inodes_that_leave_outside_a_walk_leave_every_ag_in_proportion():
    sim = xfs_sim(clean=4000)
    xfs.sync_ags(sim)
    sim.xfs.ag_inodes[:] = [0, 2000, 1000, 1000]     # AG 0 drained by walks
    sim.st.x_clean[0] = 2000                         # the background worker freed half
    counts = xfs.sync_ags(sim)
    assert sum(counts) == 2000 and counts[0] == 0
    assert 800 < counts[1] < 1200                    # a uniform draw: about half of each


def test_every_walk_starts_at_ag_0_so_ag_0_drains_first():
    """nr_to_scan 256 (8 batches) against 100 clean inodes per AG: AG 0 gives all of its
    100 (4 batches, nr_to_scan 128 left), AG 1 the next 100, AG 2 its do-while batch of
    32 with nr_to_scan already used up, AG 3 another 32. The next call finds AG 0 and
    AG 1 untagged and starts its 8 batches at AG 2."""
    sim = xfs_sim(clean=400)
    walked, freed, wait = xfs.reclaim_inodes_nr(sim, 0, 256)
    assert walked == freed == 100 + 100 + 32 + 32 and wait == 0
    assert sim.xfs.ag_inodes == [0, 0, 68, 68]
    walked, _, _ = xfs.reclaim_inodes_nr(sim, 0, 256)
    assert walked == 68 + 68 and sim.xfs.ag_inodes == [0, 0, 0, 0]


def test_a_waiter_walks_what_the_ag_has_when_it_gets_the_lock():
    """Two reclaimers at the same moment, one AG of 40 dirty inodes. The first holds the
    lock while it flushes its batch of 32; the second's trylock fails, nr_to_scan is
    left, and its blocking pass waits for the lock, then grabs the 8 the first left:
    its hold is 8 flushes long, not a batch of 32 drawn when it asked."""
    sim = xfs_sim(dirty=40, ags=1)
    flush = sim.costs.inode_flush_ms * 1e-3
    walked, _, first = xfs.reclaim_inodes_nr(sim, 0, 1)
    assert walked == 32 and first == pytest.approx(32 * flush)
    sim.clock = sim.now
    sim.waits[:] = [0.0] * len(sim.waits)
    walked, freed, second = xfs.reclaim_inodes_nr(sim, 0, 1)
    assert walked == freed == 8
    assert sim.waits[XFS_RECLAIM_LOCK] == pytest.approx(32 * flush)
    assert second == pytest.approx(40 * flush)
    (_, b1, e1, n1), (_, b2, e2, n2) = sim.xfs.ag_holds[0]
    assert [b1, e1, b2, e2] == pytest.approx([0, 32 * flush, 32 * flush, 40 * flush])
    assert (n1, n2) == (32, 8)


def test_a_waiter_that_finds_the_ag_drained_holds_the_lock_for_nothing():
    """The first reclaimer flushes all 32: the AG stays tagged while it does (reclaiming()),
    so the second waits for the lock and then finds nothing to grab (!nr_found)."""
    sim = xfs_sim(dirty=32, ags=1)
    xfs.reclaim_inodes_nr(sim, 0, 1)
    sim.clock = sim.now
    walked, freed, wait = xfs.reclaim_inodes_nr(sim, 0, 1)
    assert walked == freed == 0
    assert wait == pytest.approx(32 * sim.costs.inode_flush_ms * 1e-3)
    assert len(sim.xfs.ag_holds[0]) == 1                  # no hold of its own


def test_waiters_get_the_lock_first_come_first_served():
    """A holder until 1 s, a waiter that asked at 0.1 s and holds 1-2 s: a caller asking at
    0.5 s gets the lock at 2 s, after both. One asking at 0.05 s came before that waiter
    only if it asked before it: it did, but the model ran the waiter first, so it waits
    for the holder alone (1 s). Holds asked for after the caller are not waited for."""
    holds = [(0.0, 0.0, 1.0, 32), (0.1, 1.0, 2.0, 32), (0.7, 2.0, 3.0, 32)]
    assert xfs.lock_free_at(holds, 0.5) == 2.0
    assert xfs.lock_free_at(holds, 0.05) == 1.0
    assert xfs.lock_free_at(holds, 3.0) is None
    assert xfs.lock_held_at(holds, 0.5) and not xfs.lock_held_at(holds, 3.0)
    assert not xfs.lock_held_at([(0.2, 0.2, 1.0, 32)], 0.1)      # asked after the caller


def test_the_per_ag_counts_match_the_nodes_reclaimable_inodes_through_a_run(monkeypatch):
    """Every walk takes from its AG what it takes from the nodes: after each
    free_cached_objects() call the AGs sum to x_clean + x_dirty, none below 0."""
    import reclaimlab as rl
    calls = []
    walk = xfs.reclaim_inodes_nr

    def checked(sim, n, k):
        out = walk(sim, n, k)
        calls.append(1)
        assert sum(sim.xfs.ag_inodes) == int(sim.st.x_clean.sum() + sim.st.x_dirty.sum())
        assert min(sim.xfs.ag_inodes) >= 0
        return out

    monkeypatch.setattr(xfs, "reclaim_inodes_nr", checked)
    rl.simulate("compile-and-copy", kernel="4.19.3", reduced=True, duration_s=20.0)
    assert len(calls) > 50
