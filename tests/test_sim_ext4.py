"""``SimParams.filesystem="ext4"``: the superblock shrinker without XFS's inode reclaim.

Kernel rules tested: ext4_sops (fs/ext4/super.c) has no ``nr_cached_objects``
or ``free_cached_objects``, so super_cache_count() counts dentries and inodes
only and super_cache_scan() never calls into the filesystem; evict() ->
ext4_evict_inode() frees the inode at once (its metadata changes are already
in the journal), so an evicted inode's slab is freed by the inode walk itself.
"""
import pytest

from reclaimlab.kernel.releases import Rules
from reclaimlab.sim import xfs
from reclaimlab.sim.engine import Sim
from reclaimlab.sim.params import FileSet, SimParams
from reclaimlab.sim.slab import INODE, XFS_INODE, shrink_slab, superblock_parts
from reclaimlab.sim.state import ROOT

GIB = 262_144


def sim_on(filesystem):
    params = SimParams(nodes=1, node_pages=GIB, filesystem=filesystem,
                       filesets=(FileSet("f", pages_per_file=1, creates_per_s=1.0),))
    sim = Sim(params, Rules("v4.19", "v4.18", "sync", "none"), 0)
    sim.st.i_unref[0, ROOT, 0] = 5_000          # unused inodes, no pages, no dentries
    sim.st.x_clean[0] = 0
    return sim


def test_ext4_counts_no_fs_objects_and_frees_evicted_inodes_at_once():
    sim = sim_on("ext4")
    assert superblock_parts(sim, 0, ROOT)[2] == 0
    before = sim.slab_pages(0)
    shrink_slab(sim, 0, ROOT, 12, nofs=False)          # the floor: a batch of 1,024
    freed = int(sim.totals.freed[0, ROOT, INODE])
    assert freed > 0
    assert int(sim.st.x_clean.sum() + sim.st.x_dirty.sum()) == 0      # nothing waits in XFS
    assert sim.totals.scanned[0, ROOT, XFS_INODE] == 0
    assert sim.slab_pages(0) == pytest.approx(before - freed / sim.params.inode_objects_per_page)


def test_xfs_keeps_evicted_inodes_until_xfs_reclaims_them():
    sim = sim_on("xfs")
    shrink_slab(sim, 0, ROOT, 12, nofs=False)
    freed = int(sim.totals.freed[0, ROOT, INODE])
    # The same call's free_cached_objects() walk reclaims some of them; the rest wait.
    waiting = int(sim.st.x_clean.sum() + sim.st.x_dirty.sum())
    assert waiting + int(sim.totals.freed[0, ROOT, XFS_INODE]) == freed
    assert xfs.nr_cached_objects(sim) == waiting


def test_filesystem_is_checked():
    with pytest.raises(ValueError, match="filesystem"):
        SimParams(filesystem="btrfs").validate()
