"""A lookup after the VFS evicted an XFS inode: recycled from XFS's cache, or read (issue 17).

Kernel rules (v4.19, fs/xfs/xfs_icache.c and fs/xfs/libxfs/xfs_inode_buf.c):

* evicting an XFS inode (evict() -> xfs_fs_destroy_inode()) leaves the
  xfs_inode in its AG's radix tree, tagged XFS_IRECLAIMABLE, until XFS
  reclaim frees it (xfs_reclaim_inodes_ag(): the background worker, or the
  superblock shrinker's xfs_reclaim_inodes_nr());
* xfs_iget() that finds it there takes xfs_iget_cache_hit()'s
  XFS_IRECLAIMABLE path: xfs_reinit_inode(), the reclaim tag cleared (it
  leaves the reclaimable count), no IO;
* xfs_iget() that does not find it takes xfs_iget_cache_miss() -> xfs_iread()
  -> xfs_imap_to_bp(): the inode is read through its cluster buffer
  (xfs_trans_read_buf()), a disk read only when the buffer cache no longer
  holds that buffer.
"""
import numpy as np
import pytest

from reclaimlab.kernel.releases import Rules
from reclaimlab.sim import fileplan, workload, xfs
from reclaimlab.sim.engine import Sim
from reclaimlab.sim.params import FileSet, SimParams, SlabCache
from reclaimlab.sim.slab import DENTRY, INODE, XFS_INODE, shrink_slab
from reclaimlab.sim.state import ROOT

GIB = 262_144
FILES = 1000


def tree_sim(clusters=None, nodes=1):
    """A tree of ``FILES`` one-page files per node, all evicted from the VFS, none cached."""
    caches = ((SlabCache("xfs_buf", objects=clusters * nodes, objects_per_page=0.5, inode_clusters=True),)
              if clusters is not None else ())
    params = SimParams(nodes=nodes, node_pages=GIB,
                       filesets=(FileSet("tree", pages_per_file=1, working_set=FILES * nodes, reads_per_s=2.0),),
                       caches=caches)
    sim = Sim(params, Rules("v4.19", "v4.18", "sync", "none"), 0)
    sim.clock = sim.now
    st = sim.st
    st.lists[:] = 0                 # nothing of the tree in the VFS or the page cache
    st.generic_lists[:] = 0         # no cluster buffer cached
    st.x_clean[:] = 0
    st.x_clean_set[:] = 0
    return sim


def lookups(sim, misses, recycled, n=0):
    """A plan of ``misses`` lookups of evicted files on node ``n``, ``recycled`` of them found in XFS."""
    plan = workload.FilesetPlan(0)
    plan.nodes.append(workload.NodeDraw(n, reads=workload.ReadDraw(0, 0, misses, 0, 0, recycled)))
    return plan


def test_a_lookup_recycles_the_inode_xfs_still_holds_without_io():
    """xfs_iget_cache_hit(), XFS_IRECLAIMABLE: xfs_reinit_inode(), no read; the inode
    leaves XFS's reclaimable inodes (xfs_inode_clear_reclaim_tag) and is the VFS's again."""
    sim = tree_sim()
    sim.st.x_clean[0] = sim.st.x_clean_set[0, 0] = FILES        # every evicted inode still in XFS
    assert xfs.recycle_share(sim, 0, 0, FILES) == 1.0
    io = workload._apply(sim, lookups(sim, 50, 50), 1.0)
    assert io == 0.0 and sim.disk.io_s == 0.0
    assert sim.st.x_clean[0] == sim.st.x_clean_set[0, 0] == FILES - 50
    # New dentries pin the recycled inodes (unused after the read: on the LRU without DCACHE_REFERENCED).
    assert sim.st.d_unref[0, ROOT, 0] == 50 and sim.st.d_ref[0, ROOT, 0] == 0
    assert sim.totals.refaults[0, ROOT, DENTRY] == sim.totals.refaults[0, ROOT, INODE] == 50
    assert sim.totals.refaults[0, ROOT, XFS_INODE] == 0         # no xfs_inode was reclaimed


def test_the_share_recycled_is_what_xfs_still_holds_of_the_evicted_files():
    """A lookup is of a file drawn among the set's evicted ones; XFS holds 250 of 1000."""
    sim = tree_sim()
    sim.st.x_clean[0] = 400                                     # 150 other reclaimable inodes
    sim.st.x_clean_set[0, 0] = 250
    assert xfs.recycle_share(sim, 0, 0, FILES) == 0.25
    plan = fileplan.plan_fileset(sim, 0, 10.0)                         # ~20,000 reads, every one a miss
    r = fileplan.ReadDraw(*fileplan.NodeDraw(*plan.nodes[0]).reads)   # plain tuples from the C draws
    assert r.misses > 10_000 and r.recycled == pytest.approx(0.25 * r.misses, rel=0.05)
    sim.st.x_clean_set[0, 0] = 0
    assert fileplan.plan_fileset(sim, 0, 10.0).nodes[0][2][5] == 0     # NodeDraw.reads, ReadDraw.recycled


def booked(sim) -> float:
    """Disk time booked for the synchronous IO charged so far: this step's, and what the
    issuers' streams book in the next steps (one request at a time, disk.DiskState.streams)."""
    return sim.disk.io_s + sum(left for left, _ in sim.disk.streams.values())


def test_after_xfs_reclaim_the_lookup_reads_the_inode():
    """The background worker (xfs_reclaim_worker(), every clean reclaimable inode) freed
    them: xfs_iget_cache_miss() -> xfs_iread(). A run without a cluster cache models no
    buffer cache, so each read is one random IO (disk_read_ms)."""
    sim = tree_sim()
    sim.st.x_clean[0] = sim.st.x_clean_set[0, 0] = FILES
    xfs.background_reclaim(sim)
    assert sim.st.x_clean[0] == sim.st.x_clean_set[0, 0] == 0
    assert xfs.recycle_share(sim, 0, 0, FILES) == 0.0
    workload._apply(sim, lookups(sim, 50, 50), 1.0)             # planned before the worker ran
    assert booked(sim) == pytest.approx(50 * sim.costs.disk_read_ms * 1e-3)
    assert sim.totals.refaults[0, ROOT, XFS_INODE] == 50


@pytest.mark.parametrize("cached, reads", [(1.0, 0), (0.0, 50)])
def test_a_miss_reads_only_when_the_cluster_buffer_is_gone(cached, reads):
    """xfs_iread() -> xfs_imap_to_bp() -> xfs_trans_read_buf(): a buffer the cache holds
    costs no IO; one the xfs_buftarg shrinker freed is read (one random IO)."""
    sim = tree_sim(clusters=100)
    sim.st.g_unref[0, ROOT, 0] = int(cached * 100)
    assert xfs.lookup_cluster_reads(sim, 0, 50) == reads
    before = sim.st.generic_lists.copy()
    workload._apply(sim, lookups(sim, 50, 0), 1.0)
    assert booked(sim) == pytest.approx(reads * sim.costs.disk_read_ms * 1e-3)
    # The run's cluster cache holds the unlinked and flushed inodes' clusters, not these.
    assert (sim.st.generic_lists == before).all()


def test_the_inode_lru_hands_clean_inodes_to_xfs_and_xfs_reclaim_takes_them_back():
    """inode_lru_isolate() frees an unused inode without pages: evict() leaves it to XFS
    as reclaimable (counted in x_clean and, as the set's, in x_clean_set). An
    xfs_reclaim_inodes_nr() walk frees the set's and the other reclaimable inodes in
    proportion; a walk of everything frees them all."""
    sim = tree_sim()
    sim.st.i_unref[0, ROOT, 0] = FILES
    shrink_slab(sim, 0, ROOT, 0, nofs=False)                    # priority 0: the whole list
    freed = FILES - int(sim.st.i_unref[0, ROOT, 0])
    assert freed > 0
    assert sim.st.x_clean_set[0, 0] == freed
    sim.st.x_clean[0] += 3 * sim.st.x_clean[0]                  # others: three times as many
    total = int(sim.st.x_clean[0])
    walked, gone, _ = xfs.reclaim_inodes_nr(sim, 0, total // 2)
    assert 0 < gone < total
    left = int(sim.st.x_clean_set[0, 0])
    assert left == pytest.approx(freed * (1 - gone / total), abs=0.1 * freed)
    assert left <= sim.st.x_clean[0]
    xfs.reclaim_inodes_nr(sim, 0, 10 * total)
    assert sim.st.x_clean[0] == sim.st.x_clean_set[0, 0] == 0


def test_a_cgroups_evicted_inodes_are_not_the_working_sets():
    """The working sets' reads are the root memcg's; files a cgroup evicted are not
    read again, so XFS holds them but no lookup recycles them."""
    params = SimParams(nodes=1, node_pages=GIB, cgroups=1,
                       filesets=(FileSet("tree", pages_per_file=1, working_set=FILES, reads_per_s=2.0),))
    sim = Sim(params, Rules("v4.19", "v4.18", "sync", "none"), 0)
    sim.st.lists[:] = 0
    sim.st.x_clean[:] = 0
    sim.st.i_unref[0, 1, 0] = 100
    shrink_slab(sim, 0, 1, 0, nofs=False)
    assert sim.st.x_clean[0] > 0 and sim.st.x_clean_set[0, 0] == 0


def test_xfs_holds_every_inode_counted_recyclable_all_run(monkeypatch):
    """The sets' recyclable inodes are part of XFS's clean reclaimable inodes at every
    step of a run (the inode LRU adds to both, XFS reclaim and recycling take from both)."""
    import reclaimlab as rl

    held = []
    step = xfs.step

    def checked(sim):
        step(sim)
        st = sim.st
        assert (st.x_clean_set >= 0).all() and (st.x_clean_set.sum(axis=1) <= st.x_clean).all()
        held.append(int(st.x_clean_set.sum()))

    monkeypatch.setattr(xfs, "step", checked)
    rl.simulate("compile-and-copy", kernel="4.19.3", reduced=True, duration_s=30.0)
    assert max(held) > 0
