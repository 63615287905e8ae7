"""XFS's superblock count and its inode reclaim walk are global (issue 17, item 2).

xfs_fs_nr_cached_objects() (fs/xfs/xfs_super.c) returns
xfs_reclaim_inodes_count(mp), the reclaimable inodes of every AG, whatever
node and memcg super_cache_count() (fs/super.c) asks for; and
xfs_reclaim_inodes_nr() walks every AG, whose inodes live on any node.
"""
import numpy as np
import pytest

from reclaimlab.kernel.releases import Rules
from reclaimlab.sim import memcgs, xfs
from reclaimlab.sim.engine import Sim
from reclaimlab.sim.params import FileSet, Services, SimParams
from reclaimlab.sim.slab import SB, XFS_INODE, count_objects, shrink_slab, superblock_bit, superblock_parts
from reclaimlab.sim.state import ONLINE, PARENT, ROOT
from reclaimlab.sim.xfs import nr_cached_objects, reclaim_inodes_nr

GIB = 262_144


def two_node_sim(formula="v4.19", services=None, ags=4):
    files = [FileSet("f", pages_per_file=1, creates_per_s=1.0)]
    if services:
        files.append(FileSet("svc", pages_per_file=1, creates_per_s=1.0, memcg="service"))
    params = SimParams(nodes=2, node_pages=GIB, filesets=tuple(files), xfs_ags=ags, services=services)
    sim = Sim(params, Rules(formula, "v4.18", "sync", "none"), 0)
    sim.clock = sim.now
    return sim


def test_nr_cached_objects_is_the_whole_file_systems_count_on_every_node():
    """xfs_reclaim_inodes_count(): one count, the same for node 0 and node 1."""
    sim = two_node_sim()
    sim.st.x_clean[:] = [0, 700]
    sim.st.x_dirty[:] = [0, 300]
    assert nr_cached_objects(sim) == 1000
    assert superblock_parts(sim, 0, ROOT) == (0, 0, 1000)
    assert superblock_parts(sim, 1, ROOT) == (0, 0, 1000)
    # vfs_cache_pressure = 100: count_objects() passes it through on both nodes.
    assert count_objects(sim, 0, ROOT)[SB] == count_objects(sim, 1, ROOT)[SB] == 1000


def test_every_memcg_counts_the_whole_file_system_and_the_bit_decides_who_is_asked():
    """super_cache_count() adds xfs_fs_nr_cached_objects() for every memcg (it ignores
    sc->memcg and sc->nid), so each memcg's count includes every XFS inode awaiting
    reclaim, its own lists empty or not. Whether shrink_slab_memcg() asks a memcg is
    its shrinker_map bit: set by list_lru_add() on that node, so a memcg that never
    had an object on the superblock's lists of a node is not asked there."""
    sim = two_node_sim(services=Services(count=2))
    memcgs.start(sim, 0.0)
    online = np.flatnonzero(sim.st.memcg_state == ONLINE)
    services = [int(m) for m in online if m > PARENT]
    assert len(services) == 2
    sim.st.x_dirty[:] = [500, 500]
    with_lists, without = services
    sim.st.d_unref[0, with_lists, 1] = 10
    assert superblock_parts(sim, 0, with_lists) == (10, 0, 1000)
    assert superblock_parts(sim, 0, without) == (0, 0, 1000)
    assert superblock_parts(sim, 1, with_lists) == (0, 0, 1000)
    count = int(count_objects(sim, 0, with_lists)[SB])
    assert superblock_bit(sim, 0, with_lists, count)
    assert not superblock_bit(sim, 0, without, int(count_objects(sim, 0, without)[SB]))
    assert not superblock_bit(sim, 1, with_lists, int(count_objects(sim, 1, with_lists)[SB]))
    # The memcg's own objects gone: the count is the file system's, not SHRINK_EMPTY,
    # so the bit stays (shrink_slab_memcg() clears it only on SHRINK_EMPTY).
    sim.st.d_unref[0, with_lists, 1] = 0
    assert superblock_bit(sim, 0, with_lists, int(count_objects(sim, 0, with_lists)[SB]))
    sim.st.x_dirty[:] = 0
    assert not superblock_bit(sim, 0, with_lists, int(count_objects(sim, 0, with_lists)[SB]))


def test_the_reclaim_walk_frees_inodes_of_every_node():
    """Called for node 0, which holds none: xfs_reclaim_inodes_nr() walks the AGs and
    frees node 1's inodes (a batch of 32 in each of 4 AGs)."""
    sim = two_node_sim()
    sim.st.x_clean[:] = [0, 1000]
    walked, freed, wait = reclaim_inodes_nr(sim, 0, 1)
    assert walked == freed == 128
    assert sim.st.x_clean.tolist() == [0, 1000 - 128]
    assert wait == 0.0


def test_the_walk_takes_inodes_from_the_nodes_in_proportion():
    """The AGs mix the nodes' inodes: a walk of the whole file system takes everything,
    a partial one draws from both nodes."""
    sim = two_node_sim(ags=1)
    sim.st.x_clean[:] = [3000, 1000]
    walked, freed, _ = reclaim_inodes_nr(sim, 1, 2000)
    assert walked == freed == 2016                       # 63 batches of 32
    taken = np.array([3000, 1000]) - sim.st.x_clean
    assert taken.sum() == 2016
    assert abs(taken[0] / 2016 - 0.75) < 0.05
    reclaim_inodes_nr(sim, 1, 10 ** 6)
    assert sim.st.x_clean.tolist() == [0, 0]


def test_sync_reclaim_called_for_one_node_flushes_the_others_dirty_inodes():
    """SYNC_WAIT on another node's dirty inodes: the caller waits for their flushes."""
    sim = two_node_sim()
    sim.st.x_dirty[:] = [0, 1000]
    _, freed, wait = reclaim_inodes_nr(sim, 0, 1)
    assert freed == 128 and sim.st.x_dirty.tolist() == [0, 1000 - 128]
    assert wait == pytest.approx(128 * sim.costs.inode_flush_ms * 1e-3)


def test_a_node_without_vfs_objects_still_reclaims_xfs_inodes_of_the_other():
    """shrink_slab() on node 0 with nothing of its own on the lists: the count is
    global, so v4.19's floor scans it and free_cached_objects() runs."""
    sim = two_node_sim("v4.19")
    sim.st.x_clean[:] = [0, 5000]
    pages, _ = shrink_slab(sim, 0, ROOT, 12, nofs=False)
    assert sim.totals.freed[0, ROOT, XFS_INODE] > 0
    assert sim.st.x_clean[1] < 5000
    # All its slab pages are credited to the caller (reclaim_state->reclaimed_slab).
    assert pages == pytest.approx(sim.totals.freed[0, ROOT, XFS_INODE] / sim.params.inode_objects_per_page)


def test_background_xfs_state_stays_consistent():
    """Pushed and pinned never exceed dirty after a global walk."""
    sim = two_node_sim()
    sim.st.x_dirty[:] = [400, 600]
    sim.st.x_pinned[:] = [400, 600]
    reclaim_inodes_nr(sim, 0, 1)
    assert (sim.st.x_pinned <= sim.st.x_dirty).all()
    assert (sim.st.x_pushed <= sim.st.x_dirty).all()
    assert xfs.pinned_share(sim, 1) == 0.0                 # the force unpinned everything
