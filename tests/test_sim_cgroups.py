"""Issue 17, mechanism 5: a systemd machine's memcgs and the memcg-aware superblock shrinker.

Kernel rules tested (4.19, mm/vmscan.c, mm/list_lru.c, fs/super.c):

* shrink_node() walks every memcg with mem_cgroup_iter() in global reclaim
  and calls shrink_slab() for each; for a memcg other than the root that is
  shrink_slab_memcg(), which calls the memcg-aware shrinkers whose bit is set
  in the memcg's shrinker_map for the node;
* list_lru_add() sets that bit (memcg_set_shrinker_bit()) when an object goes
  onto the memcg's list on the node; shrink_slab_memcg() clears it when the
  shrinker's count is SHRINK_EMPTY (super_cache_count(): no dentry, inode or
  fs object counted);
* do_shrink_slab() with 172b06c32b94 (v4.19): ``delta = max(delta,
  min(freeable, batch_size))``, so every memcg's superblock shrinker call
  scans at least min(F, 1024) objects; v4.16 (4.18) scans nothing of a small
  list at priority 12.
"""
import numpy as np
import pytest

import reclaimlab as rl
from reclaimlab.kernel.releases import Rules
from reclaimlab.sim import slab
from reclaimlab.sim.engine import Sim
from reclaimlab.sim.memcgs import CGROUP_FILESET, cgroup_files_per_node, start
from reclaimlab.sim.params import FileSet, Services, SimParams
from reclaimlab.sim.reclaim import reclaim_pass
from reclaimlab.sim.slab import DENTRY, INODE, XFS_INODE
from reclaimlab.sim.state import ONLINE, ROOT

GIB = 262_144


def cgroup_sim(formula="v4.19", cgroups=3, files=20, nodes=1):
    fs = FileSet("f", pages_per_file=4, creates_per_s=1.0)
    params = SimParams(nodes=nodes, node_pages=GIB, filesets=(fs,), cgroups=cgroups, cgroup_files=files)
    sim = Sim(params, Rules(formula, "v4.18", "sync", "none"), 0)
    start(sim, 0.0)
    return sim


def test_the_cgroups_come_online_holding_their_files():
    sim = cgroup_sim(cgroups=3, files=20)
    assert sim.layout.memcg_slots == 4
    assert list(sim.st.memcg_state) == [ONLINE] * 4
    assert list(sim.st.dentries()[0, 1:, CGROUP_FILESET]) == [20, 20, 20]
    assert sim.st.dentries()[0, ROOT].sum() == 0


def test_a_cgroups_files_are_spread_over_the_nodes():
    assert cgroup_files_per_node(20, 2, 1) == [10, 10]
    assert sum(cgroup_files_per_node(7, 3, 5)) == 7
    sim = cgroup_sim(cgroups=2, files=1, nodes=2)
    assert sim.st.dentries()[:, 1:, CGROUP_FILESET].sum(axis=0).tolist() == [1, 1]


def test_v419_floor_scans_every_memcgs_superblock_list_in_one_global_pass():
    """shrink_node() -> mem_cgroup_iter() -> shrink_slab_memcg(): min(F, 1024) for each memcg."""
    sim = cgroup_sim("v4.19", cgroups=3, files=20)
    reclaim_pass(sim, 0, 12, 32, nofs=False, finish_lru=False)
    for m in (1, 2, 3):
        # super_cache_scan() splits 20 with mult_frac(20, 20, 21) + 1 = 20 dentries
        assert sim.totals.scanned[0, m, DENTRY] == 20
        assert sim.totals.freed[0, m, DENTRY] == 20        # unused, unreferenced
        # their inodes go onto the memcg's inode LRU; the same call walks one of them
        # (inodes counted 0 at its start: mult_frac(20, 0, 21) + 1 = 1) and frees it
        assert sim.totals.freed[0, m, INODE] == 1
        assert sim.st.unpinned_inodes()[0, m, CGROUP_FILESET] == 19
    reclaim_pass(sim, 0, 12, 32, nofs=False, finish_lru=False)
    assert all(sim.totals.freed[0, m, INODE] == 20 for m in (1, 2, 3))
    # evicted to XFS; XFS reclaim answers every memcg's call for the whole filesystem
    # (xfs_fs_nr_cached_objects is not memcg-aware), so any call of the walk frees them
    assert sim.st.x_clean[0] + sim.totals.freed[0, :, XFS_INODE].sum() == 60


def test_v418_leaves_the_small_memcg_lists_alone_at_priority_12():
    sim = cgroup_sim("v4.16", cgroups=3, files=20)
    for _ in range(10):
        reclaim_pass(sim, 0, 12, 32, nofs=False, finish_lru=False)
    assert sim.totals.scanned[:, 1:].sum() == 0
    assert sim.st.dentries()[0, 1:].sum() == 60


def test_gfp_nofs_memcg_calls_wind_up_the_shared_deferred_work():
    """Before 5.13 nr_deferred is per node, shared by every memcg: each NOFS call adds its floor."""
    sim = cgroup_sim("v4.19", cgroups=3, files=20)
    reclaim_pass(sim, 0, 12, 32, nofs=True, finish_lru=False)
    assert sim.totals.scanned.sum() == 0                     # SHRINK_STOP without __GFP_FS
    assert sim.st.nr_deferred[slab.SB, 0, 0] == 3 * 20       # min(F, 1024) from each memcg


def test_an_empty_memcg_loses_its_shrinker_bit():
    """SHRINK_EMPTY clears the bit: no more calls once the memcg's lists are empty."""
    sim = cgroup_sim("v4.19", cgroups=1, files=20)
    for _ in range(3):
        reclaim_pass(sim, 0, 12, 32, nofs=False, finish_lru=False)
    assert sim.st.dentries()[0, 1].sum() + sim.st.unpinned_inodes()[0, 1].sum() == 0
    assert not sim.st.sb_bit[0, 1]
    assert not slab.may_shrink(sim, 0)[1]


def test_a_memcg_counting_fs_objects_keeps_its_bit_and_is_called_every_pass():
    """nr_cached_objects() answers for every memcg: the count is not SHRINK_EMPTY, the bit stays.

    xfs_fs_nr_cached_objects() returns xfs_reclaim_inodes_count(mp) whatever the
    memcg, and super_cache_count() adds it for every memcg: each memcg call then
    asks XFS for inode reclaim after the memcg's own lists are empty.
    """
    sim = cgroup_sim("v4.19", cgroups=2, files=20)
    sim.st.x_clean[0] = 100_000            # XFS inodes awaiting reclaim all along
    reclaim_pass(sim, 0, 12, 32, nofs=False, finish_lru=False)
    for m in (1, 2):
        # the floor's 1024, split by the counts: mult_frac(1024, 20, 100021) + 1 dentry
        assert sim.totals.scanned[0, m, DENTRY] == 1
        assert sim.totals.scanned[0, m, XFS_INODE] > 0            # free_cached_objects() per memcg
    sim.st.d_unref[0, 1:] = 0                                    # the memcgs' own lists empty
    sim.st.i_unref[0, 1:] = 0
    sim.totals.reset()
    reclaim_pass(sim, 0, 12, 32, nofs=False, finish_lru=False)
    assert sim.st.sb_bit[0, 1:].all()
    for m in (1, 2):
        assert sim.totals.scanned[0, m, XFS_INODE] > 0


def test_a_memcg_is_not_called_on_a_node_where_it_never_had_objects():
    """The bit is per node: list_lru_add() sets it for the object's node only, so the
    file system's XFS count alone does not make shrink_slab_memcg() ask the memcg."""
    sim = cgroup_sim("v4.19", cgroups=1, files=1, nodes=2)
    empty = int(np.flatnonzero(sim.st.dentries()[:, 1, CGROUP_FILESET] == 0)[0])
    sim.st.x_clean[empty] = 5000
    reclaim_pass(sim, empty, 12, 32, nofs=False, finish_lru=False)
    assert not sim.st.sb_bit[empty, 1]
    assert sim.totals.scanned[empty, 1].sum() == 0


@pytest.mark.parametrize("bad,match", [
    (dict(cgroups=2, services=Services(count=2)), "services"),
    (dict(cgroups=2, filesets=()), "filesets"),
    (dict(cgroups=-1), "cgroups"),
    (dict(cgroups=1.5), "cgroups"),
])
def test_cgroups_are_checked(bad, match):
    base = dict(filesets=(FileSet("f", 4),))
    with pytest.raises(ValueError, match=match):
        SimParams(**{**base, **bad}).validate()


def test_the_bug_scenarios_default_to_30_cgroups_and_keep_their_variables():
    for name in ("compile-and-copy", "desktop-copy"):
        assert rl.scenarios.get(name).params.cgroups == 30
    a = rl.simulate("desktop-copy", kernel="4.19", reduced=True, duration_s=2.0, cgroups=0)
    b = rl.simulate("desktop-copy", kernel="4.19", reduced=True, duration_s=2.0)
    assert set(a.data_vars) == set(b.data_vars) and a.slab.dims == b.slab.dims
    assert "memcg" not in b.dims


# --- busy cgroups: their services reopen files (SimParams.cgroup_touch_per_s) ---

def test_reopened_files_of_an_emptied_cgroup_set_its_bit_again():
    """A lookup after reclaim freed the cgroup's dentries makes new unused dentries:
    d_lru_add() -> list_lru_add() -> memcg_set_shrinker_bit(), so the next global pass
    calls the cgroup's superblock shrinker again."""
    from reclaimlab.sim.memcgs import touch_cgroup_files
    sim = cgroup_sim("v4.19", cgroups=1, files=20)
    for _ in range(3):
        reclaim_pass(sim, 0, 12, 32, nofs=False, finish_lru=False)
    assert not sim.st.sb_bit[0, 1]
    sim.params = sim.params.replace(cgroup_touch_per_s=1e6)      # every file, this step
    touch_cgroup_files(sim)
    assert sim.st.d_unref[0, 1, CGROUP_FILESET] == 20             # new dentries, not referenced
    assert sim.st.d_ref[0, 1, CGROUP_FILESET] == 0
    assert slab.may_shrink(sim, 0)[1]
    sim.totals.reset()
    reclaim_pass(sim, 0, 12, 32, nofs=False, finish_lru=False)
    assert sim.st.sb_bit[0, 1]
    assert sim.totals.scanned[0, 1, DENTRY] > 0


def test_reopening_a_cached_file_marks_its_dentry_referenced_and_pins_a_listed_inode():
    """dput() of a dentry already on the LRU sets DCACHE_REFERENCED; a file whose dentry
    is gone but whose inode is on the inode LRU gets a new dentry pinning that inode."""
    from reclaimlab.sim.memcgs import touch_cgroup_files
    sim = cgroup_sim("v4.19", cgroups=1, files=20)
    g = CGROUP_FILESET
    sim.st.d_unref[0, 1, g] = 12
    sim.st.i_unref[0, 1, g] = 8                                   # dentries freed, inodes listed
    sim.params = sim.params.replace(cgroup_touch_per_s=1e6)
    touch_cgroup_files(sim)
    assert sim.st.d_ref[0, 1, g] == 12
    assert sim.st.d_unref[0, 1, g] == 8
    assert sim.st.i_unref[0, 1, g] == 0


def test_idle_cgroups_draw_nothing():
    """At the default rate 0 the run is the one without the mechanism: same stream, same Dataset."""
    kw = dict(kernel="4.19", reduced=True, duration_s=3.0)
    a = rl.simulate("compile-and-copy", **kw)
    b = rl.simulate("compile-and-copy", cgroup_touch_per_s=0.0, **kw)
    c = rl.simulate("compile-and-copy", cgroup_touch_per_s=50.0, **kw)
    assert a.identical(b.assign_attrs(scenario=a.attrs["scenario"]))
    assert any(not a[v].identical(c[v]) for v in a.data_vars)        # and a busy one is not


@pytest.mark.parametrize("bad", [-1.0, float("nan"), "1"])
def test_cgroup_touch_rate_is_checked(bad):
    with pytest.raises((ValueError, TypeError), match="cgroup_touch_per_s"):
        rl.simulate("compile-and-copy", reduced=True, cgroup_touch_per_s=bad)
