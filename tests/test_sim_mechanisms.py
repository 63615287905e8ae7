"""Each mechanism of the simulator against its kernel rule (docs/kernel.md §2, §3, §5)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reclaimlab.kernel.releases import Rules
from reclaimlab.sim.engine import Sim
from reclaimlab.sim.params import Costs, FileSet, Services, SimParams, SlabCache
from reclaimlab.sim.reclaim import direct_reclaim, kswapd
from reclaimlab.sim.slab import DENTRY, INODE, count_objects, shrink_slab
from reclaimlab.sim.state import ROOT, XFS_RECLAIM_LOCK
from reclaimlab.sim.xfs import reclaim_inodes_nr, xfsaild

GIB = 262_144


def make_sim(formula="v5.0", inode_rule="v4.18", xfs="sync", caches=(), filesets=(), **kw):
    params = SimParams(nodes=1, node_pages=GIB, filesets=tuple(filesets), caches=tuple(caches), **kw)
    return Sim(params, Rules(formula, inode_rule, xfs, "none"), 0)


def fill_page_cache(sim, pages, k=0):
    sim.st.p_inact[0, ROOT, k] = pages


@pytest.mark.parametrize("size,batch", [(1, 128), (10, 128), (128, 128), (1000, 1024), (1024, 1024)])
def test_v419_scans_a_small_cache_whole_at_priority_12(size, batch):
    """The floor min(F, B) is the whole cache when it is no bigger than a batch."""
    sim = make_sim("v4.19", caches=[SlabCache("small", size, batch=batch)])
    sim.st.g_unref[0, ROOT, 0] = size
    shrink_slab(sim, 0, ROOT, 12, nofs=False)
    assert sim.totals.scanned[0, ROOT, 0] == size
    assert sim.totals.freed[0, ROOT, 0] == size          # all unreferenced: all freed
    assert sim.st.generic()[0, ROOT, 0] == 0


@pytest.mark.parametrize("seeks", [1, 2, 3, 4])
@pytest.mark.parametrize("size", [1, 50, 127, 1000, 4095])
def test_v50_leaves_caches_under_4096_alone_at_priority_12(seeks, size):
    sim = make_sim("v5.0", caches=[SlabCache("small", size, seeks=seeks)])
    sim.st.g_unref[0, ROOT, 0] = size
    for _ in range(50):
        shrink_slab(sim, 0, ROOT, 12, nofs=False)
    assert sim.totals.scanned.sum() == 0
    assert sim.st.generic()[0, ROOT, 0] == size


def test_referenced_objects_rotate_then_go():
    sim = make_sim("v4.19", caches=[SlabCache("c", 100)])
    sim.st.g_ref[0, ROOT, 0] = 60
    sim.st.g_unref[0, ROOT, 0] = 40
    shrink_slab(sim, 0, ROOT, 12, nofs=False)      # floor: total_scan = 100
    assert sim.totals.freed[0, ROOT, 0] == 40
    assert sim.st.g_ref[0, ROOT, 0] == 0 and sim.st.g_unref[0, ROOT, 0] == 60


def sb_sim(rule, pages_per_file=4, files=2000, **kw):
    fs = FileSet("f", pages_per_file=pages_per_file, creates_per_s=1.0)
    sim = make_sim("v4.19", inode_rule=rule, filesets=[fs], **kw)
    st = sim.st
    st.i_unref[0, ROOT, 0] = files          # unused inodes, dentries gone
    st.p_inact[0, ROOT, 0] = files * pages_per_file
    return sim


def test_a76cf1a474d7_never_frees_an_unused_inode_with_two_or_more_pages():
    sim = sb_sim("a76cf1a474d7")
    for _ in range(200):
        shrink_slab(sim, 0, ROOT, 0, nofs=False)
    assert sim.totals.scanned[0, ROOT, INODE] > 0
    assert sim.totals.freed[0, ROOT, INODE] == 0
    assert sim.st.unpinned_inodes()[0, ROOT, 0] == 2000
    assert sim.st.pages()[0, ROOT, 0] == 8000


def test_a76cf1a474d7_frees_single_page_inodes():
    sim = sb_sim("a76cf1a474d7", pages_per_file=1)
    shrink_slab(sim, 0, ROOT, 0, nofs=False)          # strips the one page, rotates
    assert sim.st.pages()[0, ROOT, 0] < 2000
    shrink_slab(sim, 0, ROOT, 0, nofs=False)          # frees on the next pass
    assert sim.totals.freed[0, ROOT, INODE] > 0


def test_v418_rule_strips_page_cache_and_frees_the_inode():
    sim = sb_sim("v4.18")
    shrink_slab(sim, 0, ROOT, 0, nofs=False)
    # Priority 0: three batches of 1024; each inode met has its four pages stripped
    # (LRU_RETRY) and is rotated (re-added with I_REFERENCED): nothing is freed yet.
    stripped = (8000 - sim.st.pages()[0, ROOT, 0]) // 4
    assert 1500 <= stripped <= 1540 and sim.totals.freed[0, ROOT, INODE] == 0
    shrink_slab(sim, 0, ROOT, 0, nofs=False)
    freed = sim.totals.freed[0, ROOT, INODE]
    assert freed >= stripped                          # the next pass frees them
    # and they became XFS inodes awaiting reclaim (or were reclaimed by XFS already).
    assert sim.st.x_clean[0] + sim.st.x_dirty[0] + sim.totals.freed[0, ROOT, 2] == freed


def test_v418_rule_takes_two_walk_steps_per_inode_with_pages():
    """inode_lru_isolate(): strip, LRU_RETRY, then LRU_ROTATE (iput() set I_REFERENCED)."""
    from reclaimlab.sim.slab import _prune_icache
    sim = sb_sim("v4.18", files=2000)
    freed, stripped = _prune_icache(sim, 0, ROOT, 200)
    assert freed == 0 and stripped == 100 * 4
    assert sim.st.unpinned_inodes()[0, ROOT, 0] == 2000
    sim = sb_sim("v4.18", pages_per_file=4, files=2000)
    sim.st.p_inact[0, ROOT, 0] = 0                     # no pages: one step each
    assert _prune_icache(sim, 0, ROOT, 200) == (200, 0.0)


def test_v516_keeps_inodes_with_pages_off_the_lru():
    sim = sb_sim("v5.16")
    assert count_objects(sim, 0, ROOT)[0] == 0
    shrink_slab(sim, 0, ROOT, 0, nofs=False)
    assert sim.totals.scanned[0, ROOT, INODE] == 0
    sim.st.p_inact[0, ROOT, 0] = 0                   # page reclaim took the pages
    assert count_objects(sim, 0, ROOT)[0] == 2000


def test_superblock_count_and_split():
    fs = FileSet("f", pages_per_file=1, creates_per_s=1.0)
    sim = make_sim("v4.19", filesets=[fs])
    sim.st.d_unref[0, ROOT, 0] = 3000
    sim.st.i_unref[0, ROOT, 0] = 1000
    assert count_objects(sim, 0, ROOT)[0] == 4000
    sim2 = make_sim("v4.19", filesets=[fs], vfs_cache_pressure=50)
    sim2.st.d_unref[0, ROOT, 0] = 3000
    sim2.st.i_unref[0, ROOT, 0] = 1000
    assert count_objects(sim2, 0, ROOT)[0] == 2000
    shrink_slab(sim, 0, ROOT, 12, nofs=False)        # floor: one batch of 1024
    # mult_frac(1024, 3000, 4001) + 1 dentries, mult_frac(1024, 1000, 4001) + 1 inodes
    assert sim.totals.scanned[0, ROOT, DENTRY] == 767 + 1
    assert sim.totals.scanned[0, ROOT, INODE] == 255 + 1


def test_superblock_split_calls_fs_objects_only_when_their_share_is_not_nil():
    from reclaimlab.sim.slab import _split_calls
    # super_cache_scan(): fs_objects = mult_frac(nr, fs, total); if (fs_objects) ... + 1
    (split, times), = _split_calls(1024, (100_000, 100_000, 50), 1024)
    assert times == 1 and split.tolist() == [511 + 1, 511 + 1, 0]      # mult_frac(1024, 50, 200051) == 0
    calls = _split_calls(2 * 1024 + 10, (3000, 1000, 1000), 1024)
    assert [(s.tolist(), t) for s, t in calls] == [([614 + 1, 204 + 1, 204 + 1], 2), ([5 + 1, 1 + 1, 1 + 1], 1)]


def test_every_superblock_call_is_an_xfs_reclaim_call():
    """Each batch is a free_cached_objects() call walking 32-inode batches in every AG."""
    fs = FileSet("f", pages_per_file=1, creates_per_s=1.0)
    sim = make_sim("v4.16", filesets=[fs], xfs_ags=4)
    sim.st.d_unref[0, ROOT, 0] = 120_000
    sim.st.x_clean[0] = 40_000
    sim.st.nr_deferred[0, 0, 0] = 20 * 1024
    shrink_slab(sim, 0, ROOT, 12, nofs=False)
    # total_scan = 20480 + (160000 >> 12) * 4 / 2 = 20558: 20 calls of 1024 (the 78 left
    # are deferred); each gives XFS mult_frac(1024, 40000, 160001) + 1 = 256 inodes to
    # scan: 8 batches of 32 in AG 0 (10,000 inodes, never drained here), then one batch
    # in each of the 3 other AGs.
    assert sim.totals.freed[0, ROOT, 2] == 20 * (8 * 32 + 3 * 32)


def test_gfp_nofs_returns_shrink_stop_and_winds_up_deferred_work():
    fs = FileSet("f", pages_per_file=1, creates_per_s=1.0)
    sim = make_sim("v4.16", filesets=[fs])
    sim.st.d_unref[0, ROOT, 0] = 200_000
    for _ in range(10):
        shrink_slab(sim, 0, ROOT, 6, nofs=True)
    assert sim.totals.scanned.sum() == 0
    wound = sim.st.nr_deferred[0, 0, 0]
    assert wound == 10 * ((200_000 >> 6) * 4 // 2)
    shrink_slab(sim, 0, ROOT, 6, nofs=False)          # a GFP_KERNEL caller pays it off
    assert sim.totals.scanned[0, ROOT, DENTRY] > 10 * ((200_000 >> 6) * 2) // 2


def test_kswapd_never_uses_priority_0():
    sim = make_sim("v5.0", filesets=[FileSet("f", pages_per_file=1, creates_per_s=1.0)])
    fill_page_cache(sim, 2)                          # nothing to reclaim: priority falls
    sim.st.p_dirty[0, ROOT, 0] = GIB - 1000          # dirty pages cannot be reclaimed
    kswapd(sim, 0, budget=10.0)
    assert sim.totals.priority[0] == 1


def test_direct_reclaim_stops_once_32_pages_are_back():
    sim = make_sim("v5.0", filesets=[FileSet("f", pages_per_file=1, creates_per_s=1.0)])
    fill_page_cache(sim, 200_000)
    pages, _ = direct_reclaim(sim, 0, nofs=False)
    assert pages >= 32
    assert sim.totals.priority[0] == 12              # enough at the first priority
    assert sim.totals.direct[0] == 1


def test_direct_reclaim_goes_down_to_priority_0_when_it_must():
    sim = make_sim("v5.0", filesets=[FileSet("f", pages_per_file=1, creates_per_s=1.0)])
    fill_page_cache(sim, 10)
    sim.st.p_dirty[0, ROOT, 0] = 100_000
    direct_reclaim(sim, 0, nofs=False)
    assert sim.totals.priority[0] == 0


def test_xfs_sync_reclaim_blocks_on_dirty_inodes_and_async_skips_them():
    fs = FileSet("f", pages_per_file=1, creates_per_s=1.0)
    waits = {}
    for mode in ("sync", "async"):
        sim = make_sim("v4.19", xfs=mode, filesets=[fs])
        sim.st.x_dirty[0] = 5000
        _, waits[mode] = shrink_slab(sim, 0, ROOT, 12, nofs=False)
        freed = sim.totals.freed[0, ROOT, 2]
        assert (freed > 0) == (mode == "sync")
    assert waits["sync"] > 1.0 and waits["async"] < 0.01


def xfs_sim(ags=4, dirty=10_000):
    sim = make_sim("v4.16", filesets=[FileSet("f", pages_per_file=1, creates_per_s=1.0)], xfs_ags=ags)
    sim.st.x_dirty[0] = dirty
    sim.clock = sim.now
    return sim


def test_xfs_sync_reclaim_waits_for_its_own_flushes_once():
    """Several free_cached_objects() calls by one reclaimer: its own earlier holds are behind it."""
    sim = xfs_sim()
    own = 128 * sim.costs.inode_flush_ms * 1e-3     # a batch of 32 in each of 4 AGs
    waits = [reclaim_inodes_nr(sim, 0, 1)[2] for _ in range(3)]
    assert waits == pytest.approx([own] * 3)
    assert sim.st.x_dirty[0] == 10_000 - 3 * 128


def test_xfs_sync_reclaim_skips_an_ag_another_reclaimer_holds():
    """SYNC_TRYLOCK: a locked AG is skipped, and with nr_to_scan used up there is no
    blocking restart, so the reclaimer waits only for its own flushes."""
    sim = xfs_sim()
    batch = 32 * sim.costs.inode_flush_ms * 1e-3
    sim.xfs.ag_holds[0].append((sim.now, sim.now, sim.now + 10.0, 0))   # someone flushes in AG 0
    walked, freed, wait = reclaim_inodes_nr(sim, 0, 1)
    assert walked == freed == 96                               # AGs 1-3 only
    assert wait == pytest.approx(3 * batch)
    assert sim.st.x_dirty[0] == 10_000 - 96                    # AG 0 was not touched
    assert sim.xfs.ag_inodes == [2500, 2500 - 32, 2500 - 32, 2500 - 32]


def test_xfs_trylock_does_not_fail_on_a_hold_asked_for_later():
    """mutex_trylock() at t fails only if the lock is held at t. A hold that begins
    later (a reclaimer the model ran earlier in the step, later in time) asked after
    this one, in the trylock pass as in the blocking one (lock_free_at)."""
    sim = xfs_sim()
    batch = 32 * sim.costs.inode_flush_ms * 1e-3
    sim.xfs.ag_holds[0].append((sim.now + 0.01, sim.now + 0.01, sim.now + 10.0, 0))
    walked, freed, wait = reclaim_inodes_nr(sim, 0, 1)
    assert walked == freed == 128
    assert wait == pytest.approx(4 * batch)
    assert sim.waits[XFS_RECLAIM_LOCK] == 0


def test_xfs_sync_reclaim_blocks_when_every_ag_is_locked():
    """Every AG skipped and nr_to_scan still positive: the restart waits on the locks."""
    sim = xfs_sim()
    batch = 32 * sim.costs.inode_flush_ms * 1e-3
    for holds in sim.xfs.ag_holds:
        holds.append((sim.now, sim.now, sim.now + 1.0, 0))
    walked, _, wait = reclaim_inodes_nr(sim, 0, 1)
    assert walked == 128
    assert wait == pytest.approx(1.0 + 4 * batch)


def test_xfs_async_reclaim_neither_waits_nor_frees_dirty_inodes():
    sim = make_sim("v5.0", xfs="async", filesets=[FileSet("f", pages_per_file=1, creates_per_s=1.0)])
    sim.st.x_dirty[0], sim.st.x_clean[0] = 1000, 1000
    for holds in sim.xfs.ag_holds:
        holds.append((sim.now, sim.now, sim.now + 1.0, 0))
    walked, freed, wait = reclaim_inodes_nr(sim, 0, 1)
    assert wait == 0 and walked == 128 and freed < walked
    assert sim.st.x_dirty[0] + sim.st.x_clean[0] == 2000 - freed


def test_xfs_reclaim_pushes_the_ail_and_xfsaild_writes_only_what_was_pushed():
    """xfs_ail_push_all() queues the inodes dirty at the call; xfsaild writes them at
    the disk's inode-write rate; inodes dirtied later wait for the next push."""
    sim = xfs_sim(ags=1, dirty=1000)
    xfsaild(sim)
    assert sim.st.x_dirty[0] == 1000                         # nothing pushed yet
    reclaim_inodes_nr(sim, 0, 1)                             # flushes one batch of 32 itself
    assert sim.st.x_pushed[0] == 1000 - 32                  # all dirty then, less its own flushes
    sim.st.x_dirty[0] += 500                                 # unlinked after the push
    per_step = sim.params.dt_s / (sim.costs.inode_flush_ms * 1e-3)
    xfsaild(sim)
    assert sim.st.x_dirty[0] == 1000 - 32 + 500 - int(per_step)
    assert sim.st.x_clean[0] == int(per_step)
    for _ in range(200):
        xfsaild(sim)
    assert sim.st.x_dirty[0] == 500 and sim.st.x_pushed[0] == 0
    sim.st.x_dirty[0], sim.st.x_pushed[0] = 503, 3           # a short queue, step after step:
    for _ in range(50):                                      # idle disk time is not saved up
        xfsaild(sim)
        sim.st.x_pushed[0] = 3
    sim.st.x_dirty[0] = 500
    # Data writeback in flight: three random IOs ahead of each write, four times its service.
    sim.disk.ahead_async_s = 3 * sim.costs.disk_read_ms * 1e-3
    reclaim_inodes_nr(sim, 0, 0)
    left = int(sim.st.x_dirty[0])
    xfsaild(sim)
    assert left - sim.st.x_dirty[0] == int(per_step / 4)


def cluster_sim(held, clusters=1000, formula="v4.16", **kw):
    """One node with XFS inode cluster buffers: ``held`` of ``clusters`` cached."""
    buffers = SlabCache("xfs_buf", objects=clusters, objects_per_page=0.5, inode_clusters=True)
    sim = make_sim(formula, filesets=[FileSet("f", pages_per_file=1, creates_per_s=1.0)],
                   caches=[buffers], xfs_ags=1, **kw)
    sim.st.g_unref[0, ROOT, 0] = held
    sim.clock = sim.now
    return sim


def test_a_flush_whose_cluster_buffer_is_gone_reads_it_first():
    """xfs_iflush() needs the inode's cluster buffer: with none cached, each flush is a
    read and a write (twice the wait); with all cached, the write alone. Buffers read
    come back into the cache, referenced."""
    flush = 32 * Costs().inode_flush_ms * 1e-3
    waits = {}
    for held in (1000, 0):
        sim = cluster_sim(held)
        sim.st.x_dirty[0] = 32
        walked, freed, waits[held] = reclaim_inodes_nr(sim, 0, 1)
        assert walked == freed == 32
        if held == 0:
            assert sim.st.g_ref[0, ROOT, 0] == 32 and sim.totals.refaults[0, ROOT, 3] == 32
        else:
            assert sim.st.g_ref[0, ROOT, 0] + sim.st.g_unref[0, ROOT, 0] == 1000
            assert sim.st.g_ref[0, ROOT, 0] == 32 and sim.totals.refaults.sum() == 0
    assert waits[1000] == pytest.approx(flush)
    assert waits[0] == pytest.approx(2 * flush)


def test_xfsaild_slows_down_when_it_must_read_cluster_buffers():
    rates = {}
    for held in (1000, 0):
        sim = cluster_sim(held)
        sim.st.x_dirty[0] = sim.st.x_pushed[0] = 10_000
        xfsaild(sim)
        rates[held] = 10_000 - int(sim.st.x_dirty[0])
    per_step = int(make_sim().params.dt_s / (Costs().inode_flush_ms * 1e-3))
    assert rates == {1000: per_step, 0: per_step // 2}


def test_an_unlink_reads_a_missing_cluster_buffer_in_the_task():
    """xfs_iunlink() goes through the inode's on-disk copy: a task unlinking files whose
    cluster buffers were reclaimed waits for each read (one IO shared like a flush's)."""
    from reclaimlab.sim.workload import _unlink
    waits = {}
    for held in (1000, 0):
        sim = cluster_sim(held)
        sim.st.d_unref[0, ROOT, 0] = 100
        waits[held] = _unlink(sim, 0, 0, 10)
        assert sim.st.x_dirty[0] == 10
    assert waits[1000] == 0.0
    assert waits[0] == pytest.approx(10 * Costs().inode_flush_ms * 1e-3)


def test_the_floor_turns_over_a_small_buffer_cache_that_v50_leaves_alone():
    """Dave Chinner's point: the buffer cache is much smaller than the inode cache, and
    the min-scan floor scans it on every call; at priority 12 v5.0 does not touch it."""
    left = {}
    for formula in ("v4.19", "v5.0"):
        sim = cluster_sim(1000, formula=formula)
        for _ in range(20):
            shrink_slab(sim, 0, ROOT, 12, nofs=False)
        left[formula] = int(sim.st.g_ref[0, ROOT, 0] + sim.st.g_unref[0, ROOT, 0])
    assert left == {"v4.19": 0, "v5.0": 1000}


def test_inode_cluster_caches_are_checked():
    buffers = SlabCache("b", objects=10, inode_clusters=True)
    with pytest.raises(ValueError, match="at most one"):
        SimParams(caches=(buffers, SlabCache("c", objects=10, inode_clusters=True))).validate()
    with pytest.raises(ValueError, match=r"caches\[s\]\.memcg='service' is not allowed with inode_clusters"):
        SimParams(caches=(SlabCache("s", objects=10, memcg="service", inode_clusters=True),),
                  services=Services(count=1)).validate()


def test_parent_list_walks_spliced_children_first_and_rotates_referenced():
    from reclaimlab.sim.lrulist import NOBODY, SegmentList
    rng = np.random.default_rng(0)
    lst = SegmentList()
    lst.splice_front(NOBODY, 0, 100)      # the parent's own objects
    lst.splice_front(7, 0, 30)            # memcg 7 dies: its list goes to the front
    lst.splice_front(9, 20, 0)            # then memcg 9, all referenced
    freed = lst.walk(rng, 50)             # 20 of 9 rotated, 30 of 7 freed
    assert freed == {9: 0, 7: 30}
    assert lst.owned(9) == (0, 20) and lst.segments[-1][0] == 9   # rotated to the tail
    freed = lst.walk(rng, 120)            # the parent's 100, then 9's rotated 20
    assert freed == {NOBODY: 100, 9: 20}
    assert lst.totals() == (0, 0)


def reference_xfs_reclaim(nr_to_scan, per_ag):
    """xfs_reclaim_inodes_ag() (4.19) transcribed: the walk over AGs and batches."""
    walked = 0
    for inodes in per_ag:
        if not inodes:                    # xfs_perag_get_tag(): only AGs with the tag
            continue
        while True:                       # do { ... } while (nr_found && !done && *nr_to_scan > 0)
            nr_found = min(32, inodes)
            inodes -= nr_found
            walked += nr_found
            nr_to_scan -= 32
            if not (inodes and nr_to_scan > 0):
                break
    return walked


@settings(max_examples=500, deadline=None)
@given(st.integers(1, 5000), st.integers(0, 5000), st.integers(1, 16))
def test_xfs_reclaim_goes_through_32_inode_batches_in_every_ag(nr, reclaimable, ags):
    """With no AG locked, one call walks what the 4.19 loop walks."""
    sim = xfs_sim(ags=ags, dirty=0)
    sim.st.x_clean[0] = reclaimable
    per_ag = [reclaimable // ags + (a < reclaimable % ags) for a in range(ags)]
    walked, freed, wait = reclaim_inodes_nr(sim, 0, nr)
    assert walked == freed == reference_xfs_reclaim(nr, per_ag)
    assert wait == 0
    assert walked <= reclaimable
    assert walked >= min(reclaimable, nr, 32)


def test_a_task_asleep_in_direct_reclaim_allocates_nothing(monkeypatch):
    """Blocked past the end of the step: no allocation, the rest of the block is debt."""
    from reclaimlab.sim import workload
    fs = FileSet("f", pages_per_file=4, creates_per_s=400.0)
    sim = make_sim("v5.0", filesets=[fs], anon_pages=GIB // 2, dt_s=0.05)
    cached = int(sim.free(0) - sim.wmin) + 10        # free memory just under min
    fill_page_cache(sim, cached)
    actor = workload.Actor("writer", (0,), tasks=2)
    todo = workload.plan(sim, actor)
    assert todo.need.sum() > 0
    monkeypatch.setattr(workload, "direct_reclaim", lambda sim, n, nofs, start=0.0: (32.0, 0.3))
    before = sim.free(0)
    workload.admit(sim, actor, todo, 0)
    assert todo.done[0] == 0 and actor.debt[0] == pytest.approx(0.3 - 0.05)
    assert sim.reserved == 0 and sim.free(0) == before
    workload.finish(sim, actor, todo)
    assert sim.st.pages()[0, ROOT, 0] == cached       # nothing was created
    assert todo.asleep.tolist() == [True, False]


def test_an_awake_task_that_got_no_memory_tries_again(monkeypatch):
    """Reclaim found nothing and there is no room: the step's work is owed, not lost."""
    from reclaimlab.sim import workload
    fs = FileSet("f", pages_per_file=4, creates_per_s=400.0)
    sim = make_sim("v5.0", filesets=[fs], anon_pages=GIB // 2, dt_s=0.05)
    fill_page_cache(sim, int(sim.free(0) - sim.wmin) + 10)      # free just under min
    monkeypatch.setattr(workload, "direct_reclaim", lambda sim, n, nofs, start=0.0: (0.0, 0.0))
    actor = workload.Actor("writer", (0,))
    todo = workload.plan(sim, actor)
    workload.admit(sim, actor, todo, 0)
    assert todo.done[0] == 0 and not todo.asleep[0]
    workload.finish(sim, actor, todo)
    assert actor.debt[0] == pytest.approx(0.05)


def test_job_tasks_block_on_their_own():
    """make -jN: one task stuck in reclaim does not stop the others' progress."""
    from reclaimlab.sim import workload
    params = SimParams(nodes=1, node_pages=GIB, job_seconds=10.0, job_tasks=4,
                       filesets=(FileSet("src", pages_per_file=1, working_set=100, reads_per_s=0.1, job=True),))
    sim = Sim(params, Rules("v5.0", "v4.18", "sync", "none"), 0)
    (job,) = workload.make_actors(params)
    assert job.tasks == 4
    job.debt[2] = 1.0
    todo = workload.plan(sim, job)
    assert list(np.flatnonzero(todo.work)) == [0, 1, 3]
    for i in (0, 1, 3):
        workload.admit(sim, job, todo, i)
    workload.finish(sim, job, todo)
    assert job.progress[2] == 0 and (job.progress[[0, 1, 3]] > 0).all()


def test_an_interactive_allocation_below_min_reclaims_in_its_turn(monkeypatch):
    """The interactive task's allocations take turns among the tasks': one that finds
    free memory at or below min pays a direct reclaim; with plenty, none does."""
    from reclaimlab.sim import workload
    fs = FileSet("f", pages_per_file=4, creates_per_s=400.0)
    sim = make_sim("v5.0", filesets=[fs], anon_pages=GIB // 2, dt_s=0.05)
    monkeypatch.setattr(workload, "direct_reclaim", lambda sim, n, nofs, start=0.0: (32.0, 0.3))
    workload.run_tasks(sim, [], [], interactive=[0, 0])
    assert sim.latencies == [0.0, 0.0]
    fill_page_cache(sim, int(sim.free(0) - sim.wmin) + 10)      # free just under min
    workload.run_tasks(sim, [], [], interactive=[0])
    assert sim.latencies[-1] == pytest.approx(0.3)


def test_xfs_blocking_reclaim_queues_only_behind_holds_begun_before_it_asked():
    """mutex_lock(&pag->pag_ici_reclaim_lock) in xfs_reclaim_inodes_ag()'s blocking pass:
    the caller waits for the holder it finds (and those queued before it), then holds
    the lock. A hold that begins after it asked (a reclaimer the model ran earlier in
    the step but later in time) came after it, so it does not wait for that hold: here
    0.5 s in AG 0, not until 5 s. Waiting for a free gap as long as its own flushes made one
    waiter jump a chain of later holds, and the chains grew as the step shrank."""
    sim = xfs_sim()
    batch = 32 * sim.costs.inode_flush_ms * 1e-3
    for holds in sim.xfs.ag_holds:
        holds.append((sim.now, sim.now, sim.now + 0.5, 0))             # held now: trylock skips every AG
    sim.xfs.ag_holds[0].append((sim.now + 0.1, sim.now + 0.1, sim.now + 5.0, 0))   # someone who asked after it
    walked, _, wait = reclaim_inodes_nr(sim, 0, 1)
    assert walked == 128
    assert wait == pytest.approx(0.5 + 4 * batch)
