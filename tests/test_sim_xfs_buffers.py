"""XFS's inode cluster buffers behind the xfs_buftarg shrinker.

Kernel rules tested:

* xfs_imap_to_bp() calls xfs_buf_set_ref(bp, XFS_INO_REF) on every inode
  cluster buffer it returns, found or read (fs/xfs/libxfs/xfs_inode_buf.c);
  XFS_INO_REF is 2 (fs/xfs/libxfs/xfs_shared.h).
* xfs_buftarg_isolate() (fs/xfs/xfs_buf.c, from 4.17 with 19957a181608,
  "xfs: Correctly invert xfs_buftarg LRU isolation logic") returns LRU_ROTATE
  while atomic_add_unless(&bp->b_lru_ref, -1, 0) succeeds and frees the
  buffer once b_lru_ref is 0: a buffer just looked up is rotated twice and
  freed on the third visit. ``SlabCache.lru_ref`` = 2.
* A v5 filesystem's inode cluster is 32 inodes, 16 KiB with 512-byte inodes
  (xfs_mountfs(): the 8 KiB XFS_INODE_BIG_CLUSTER_SIZE scaled by
  sb_inodesize / XFS_DINODE_MIN_SIZE).
"""
import numpy as np
import pytest

import reclaimlab as rl
from reclaimlab.kernel.releases import Rules
from reclaimlab.sim import xfs
from reclaimlab.sim.engine import Sim
from reclaimlab.sim.params import FileSet, SimParams, SlabCache
from reclaimlab.sim.slab import isolate_lru_ref, shrink_slab
from reclaimlab.sim.state import ROOT

GIB = 262_144


def buffer_sim(objects=100, lru_ref=2, formula="v4.19"):
    cache = SlabCache("xfs_buf", objects=objects, objects_per_page=0.25, batch=128,
                      inode_clusters=True, lru_ref=lru_ref)
    params = SimParams(nodes=1, node_pages=GIB, caches=(cache,),
                       filesets=(FileSet("f", pages_per_file=1, creates_per_s=1.0),))
    sim = Sim(params, Rules(formula, "v4.18", "sync", "none"), 0)
    sim.st.g_unref[0, ROOT, 0] = 0
    return sim


def shrink_buffers(sim):
    """One xfs_buftarg shrinker call at priority 12 under the 4.19 floor: the whole cache (< batch)."""
    shrink_slab(sim, 0, ROOT, 12, nofs=False)
    st = sim.st
    return int(st.g_ref2[0, ROOT, 0]), int(st.g_ref[0, ROOT, 0]), int(st.g_unref[0, ROOT, 0])


def test_a_looked_up_inode_buffer_survives_two_shrinker_visits():
    sim = buffer_sim()
    xfs.cache_clusters(sim, 0, lookups=100, missed=100)     # 100 buffers read: b_lru_ref 2
    assert shrink_buffers(sim) == (0, 100, 0)                # rotated, b_lru_ref 1
    assert shrink_buffers(sim) == (0, 0, 100)                # rotated, b_lru_ref 0
    assert shrink_buffers(sim) == (0, 0, 0)                  # freed
    assert sim.totals.freed[0, ROOT, sim.layout.generic_cache_index] == 100


def test_a_referenced_object_of_an_ordinary_cache_survives_one():
    sim = buffer_sim(lru_ref=1)
    xfs.cache_clusters(sim, 0, lookups=100, missed=100)
    assert shrink_buffers(sim) == (0, 0, 100)
    assert shrink_buffers(sim) == (0, 0, 0)


def test_a_lookup_sets_b_lru_ref_back_to_2_whatever_it_had():
    sim = buffer_sim(objects=100)
    st = sim.st
    st.g_unref[0, ROOT, 0], st.g_ref[0, ROOT, 0], st.g_ref2[0, ROOT, 0] = 40, 40, 20
    xfs.cache_clusters(sim, 0, lookups=10_000, missed=0)     # every buffer found many times
    assert (int(st.g_unref[0, ROOT, 0]), int(st.g_ref[0, ROOT, 0]), int(st.g_ref2[0, ROOT, 0])) == (0, 0, 100)


def test_the_walk_meets_rotated_buffers_again_only_after_the_others():
    rng = np.random.default_rng(0)
    # 10 at b_lru_ref 0, 10 at 2: a walk of 25 frees the 10, rotates the 10 (to 1), then
    # meets 5 of those again and rotates them to 0.
    freed, levels = isolate_lru_ref(rng, [10, 0, 10], 25)
    assert freed == 10 and levels == [5, 5, 0]


@pytest.mark.parametrize("kw,match", [
    (dict(lru_ref=3), "lru_ref"),
    (dict(lru_ref=0), "lru_ref"),
    (dict(lru_ref=2, memcg="service"), "lru_ref=2 is not allowed with memcg='service'"),
])
def test_lru_ref_is_checked(kw, match):
    from reclaimlab.sim.params import Services
    with pytest.raises(ValueError, match=match):
        SimParams(caches=(SlabCache("c", objects=10, **kw),), services=Services()).validate()


def test_compile_and_copy_has_v5_inode_clusters_with_xfs_ino_ref():
    (buffers,) = rl.scenarios.get("compile-and-copy").params.caches
    assert buffers.objects == 25_000 // 32 and buffers.objects_per_page == 0.25
    assert buffers.lru_ref == 2 and buffers.inode_clusters
