"""kswapd in sync XFS inode reclaim (bug 202349: what holds free memory at min).

Kernel rules tested (4.19):

* mm/vmscan.c ``balance_pgdat()`` reclaims with ``.gfp_mask = GFP_KERNEL``, so
  kswapd's shrink_slab() reaches fs/super.c ``super_cache_scan()`` with
  ``__GFP_FS`` and, through ``xfs_fs_free_cached_objects()``,
  fs/xfs/xfs_icache.c ``xfs_reclaim_inodes_nr()`` ->
  ``xfs_reclaim_inodes_ag(SYNC_TRYLOCK | SYNC_WAIT)``: it flushes dirty
  inodes and waits for their writes (``xfs_iflush()``, ``xfs_bwrite()``).
* ``do_shrink_slab()`` takes the whole per-node ``nr_deferred`` with
  ``atomic_long_xchg()`` (per memcg only from 5.13): kswapd pays the work the
  GFP_NOFS callers (XFS page cache, ``xfs_setup_inode()``) deferred.
* ``xfs_reclaim_inodes_ag()`` skips an AG whose ``pag_ici_reclaim_lock``
  another reclaimer holds and, with scan count left, restarts with
  ``mutex_lock()``: kswapd waits behind a direct reclaimer's flushes as a
  direct reclaimer waits behind kswapd's.
* kswapd is one thread: while it is blocked in XFS it reclaims nothing, so
  the engine carries the time it overran its step as a debt and skips it
  until the debt is paid.
"""
import pytest

from reclaimlab.kernel.releases import Rules
from reclaimlab.sim import engine
from reclaimlab.sim.engine import Sim
from reclaimlab.sim.params import FileSet, SimParams
from reclaimlab.sim.reclaim import direct_reclaim, kswapd
from reclaimlab.sim.slab import DENTRY
from reclaimlab.sim.state import ROOT, XFS_RECLAIM_LOCK, XFS_SYNC_RECLAIM

GIB = 262_144


def xfs_sim(dentries: int, dirty: int, ags: int = 4) -> Sim:
    """One 1 GiB node under the 4.19 formula with sync XFS reclaim, free memory under low."""
    params = SimParams(nodes=1, node_pages=GIB, anon_pages=GIB // 2, dt_s=0.05, xfs_ags=ags,
                       filesets=(FileSet("f", pages_per_file=1, creates_per_s=1.0),))
    sim = Sim(params, Rules("v4.19", "v4.18", "sync", "none"), 0)
    sim.st.d_unref[0, ROOT, 0] = dentries
    sim.st.x_dirty[0] = dirty
    # Clean page cache that leaves free memory 100 pages under low: kswapd has work.
    sim.st.p_inact[0, ROOT, 0] = int(sim.free(0) - sim.low) + 100
    sim.clock = sim.now
    return sim


def test_kswapd_pays_the_gfp_nofs_callers_deferred_work_and_blocks_in_sync_xfs_reclaim():
    """A GFP_NOFS direct reclaim winds nr_deferred up (SHRINK_STOP); kswapd's GFP_KERNEL
    pass takes it, scans the dentries, reaches XFS and waits for the dirty inodes' flushes."""
    sim = xfs_sim(dentries=200_000, dirty=400)
    direct_reclaim(sim, 0, nofs=True)
    assert sim.totals.scanned[0, ROOT, DENTRY] == 0
    wound = int(sim.st.nr_deferred[0, 0, 0])
    assert wound > 0
    used = kswapd(sim, 0, sim.params.dt_s)
    assert sim.st.nr_deferred[0, 0, 0] < wound
    assert sim.totals.scanned[0, ROOT, DENTRY] > 0
    flushed = 400 - int(sim.st.x_dirty[0])
    assert flushed > 0
    # Each flushed inode's write is waited for: at least its service time, all of it kswapd's.
    assert sim.waits[XFS_SYNC_RECLAIM] >= flushed * sim.costs.inode_flush_ms * 1e-3 - 1e-12
    assert used >= sim.waits[XFS_SYNC_RECLAIM]
    assert sim.totals.kswapd_busy[0] == pytest.approx(used)


def test_kswapd_waits_for_the_ag_locks_a_direct_reclaimer_holds():
    """A direct reclaimer asleep in XFS past the last step's end still holds every AG:
    kswapd's trylock pass skips them all and its blocking restart waits for the holds."""
    sim = xfs_sim(dentries=100, dirty=128)
    held_until = sim.now + 0.3
    for holds in sim.xfs.ag_holds:
        holds.append((sim.now - 0.01, sim.now - 0.01, held_until, 0))
    used = kswapd(sim, 0, sim.params.dt_s)
    assert sim.waits[XFS_RECLAIM_LOCK] == pytest.approx(0.3)
    assert used >= 0.3
    assert int(sim.st.x_dirty[0]) < 128              # then it flushed them itself


def test_async_xfs_reclaim_never_blocks_kswapd():
    """5.10 (no SYNC_WAIT): kswapd skips dirty inodes and never waits on a lock."""
    sim = xfs_sim(dentries=100, dirty=128)
    sim.rules = Rules("v4.19", "v4.18", "async", "none")
    for holds in sim.xfs.ag_holds:
        holds.append((sim.now - 0.01, sim.now - 0.01, sim.now + 0.3, 0))
    kswapd(sim, 0, sim.params.dt_s)
    assert sim.waits[XFS_RECLAIM_LOCK] == sim.waits[XFS_SYNC_RECLAIM] == 0
    assert int(sim.st.x_dirty[0]) == 128


def _kswapd_blocked_for_3_5_steps(monkeypatch) -> list[tuple[float, float]]:
    """Replace kswapd by a fake that blocks 3.5 steps on its first call and uses its whole
    budget after; returns the list of (time, budget) its calls get."""
    budgets = []

    def fake(sim, n, budget, start=0.0):
        assert start == pytest.approx(sim.params.dt_s - budget)   # its clock starts after the debt
        budgets.append((round(sim.now, 6), round(budget, 6)))
        return 3.5 * sim.params.dt_s if len(budgets) == 1 else budget
    monkeypatch.setattr(engine, "kswapd", fake)
    return budgets


def _one_gib_node() -> SimParams:
    return SimParams(nodes=1, node_pages=GIB, anon_pages=GIB // 2, dt_s=0.05, duration_s=0.25,
                     record_s=0.05, filesets=(FileSet("f", pages_per_file=64, creates_per_s=400.0),))


def test_kswapd_blocked_past_its_step_skips_the_next_steps(monkeypatch):
    """kswapd overran its first step by 2.5 steps: it is not run in the next two, and in
    the third it gets what is left of the step (one thread, blocked in XFS meanwhile)."""
    budgets = _kswapd_blocked_for_3_5_steps(monkeypatch)
    params = _one_gib_node()
    rules = Rules("v4.19", "v4.18", "sync", "none")
    real_populate = engine._populate

    def populate(sim):                         # then free memory stays under low: kswapd wakes each step
        real_populate(sim)
        sim.free = lambda n: float(sim.wmin + 1)
    monkeypatch.setattr(engine, "_populate", populate)
    engine.run(params, rules, seed=0, attrs={})
    assert budgets == [(0.0, 0.05), (0.15, 0.025), (0.2, 0.05)]


def test_kswapd_blocked_time_passes_while_it_is_not_needed(monkeypatch):
    """Blocked for 3.5 steps from step 0; step 1 has plenty of free memory, so nobody wakes
    kswapd, but its 0.05 s of blocking still pass: it skips only step 2 and runs in step 3
    with what is left of that step (before, the debt stood still while kswapd was not needed)."""
    budgets = _kswapd_blocked_for_3_5_steps(monkeypatch)
    params = _one_gib_node()
    real_populate = engine._populate

    def populate(sim):                         # under low, except in step 1 (above high)
        real_populate(sim)
        sim.free = lambda n: float(sim.high + 10_000 if round(sim.now, 6) == 0.05 else sim.wmin + 1)
    monkeypatch.setattr(engine, "_populate", populate)
    engine.run(params, Rules("v4.19", "v4.18", "sync", "none"), seed=0, attrs={})
    assert budgets == [(0.0, 0.05), (0.15, 0.025), (0.2, 0.05)]
