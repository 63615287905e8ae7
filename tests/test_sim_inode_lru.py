"""Issue 17, mechanism 6: an inode with dirty pages is never on the inode LRU.

Kernel rule (fs/inode.c, fs/fs-writeback.c): inode_add_lru() puts an unused
inode on the superblock's inode LRU only when none of I_DIRTY_ALL, I_SYNC,
I_FREEING, I_WILL_FREE is set; inode_lru_isolate() takes an inode whose state
is more than I_REFERENCED off the list (LRU_REMOVED) without freeing it; and
inode_sync_complete() puts the inode on the LRU once writeback has cleaned it.
So neither super_cache_count() counts nor prune_icache_sb() frees an inode
whose pages are dirty, under any inode rule.
"""
import pytest

from reclaimlab.kernel.releases import Rules
from reclaimlab.sim.engine import Sim
from reclaimlab.sim.params import FileSet, SimParams
from reclaimlab.sim.slab import INODE, count_objects, dirty_pages_fraction, lru_inodes, shrink_slab
from reclaimlab.sim.state import ROOT

GIB = 262_144


def dirty_sim(rule, files=1000, dirty_files=400, ppf=4):
    fs = FileSet("f", pages_per_file=ppf, creates_per_s=1.0, writes=True)
    sim = Sim(SimParams(nodes=1, node_pages=GIB, filesets=(fs,)), Rules("v4.19", rule, "sync", "none"), 0)
    sim.st.i_unref[0, ROOT, 0] = files                  # unused inodes, their dentries gone
    sim.st.p_dirty[0, ROOT, 0] = dirty_files * ppf      # dirty_files files full of dirty pages
    return sim


def test_dirty_pages_fill_whole_files():
    sim = dirty_sim("v4.18", files=1000, dirty_files=400)
    assert dirty_pages_fraction(sim, 0, ROOT)[0] == pytest.approx(0.4)
    sim.st.p_dirty[0, ROOT, 0] = 1                      # one dirty page: one file
    assert dirty_pages_fraction(sim, 0, ROOT)[0] == pytest.approx(0.001)


@pytest.mark.parametrize("rule", ["v4.18", "a76cf1a474d7"])
def test_inodes_with_dirty_pages_are_neither_counted_nor_freed(rule):
    """inode_add_lru() refuses I_DIRTY_ALL: only the 600 clean inodes are on the LRU."""
    sim = dirty_sim(rule)
    ref, unref = lru_inodes(sim, 0, ROOT)
    assert int(ref.sum() + unref.sum()) == 600
    assert count_objects(sim, 0, ROOT)[0] == 600
    for _ in range(100):
        shrink_slab(sim, 0, ROOT, 0, nofs=False)
    assert sim.totals.freed[0, ROOT, INODE] == 600
    assert sim.st.unpinned_inodes()[0, ROOT, 0] == 400       # the dirty ones stay


def test_written_back_inodes_go_back_on_the_lru():
    """inode_sync_complete() -> inode_add_lru(): once clean, the inode can be reclaimed."""
    sim = dirty_sim("v4.18")
    sim.st.p_dirty[0, ROOT, 0] = 0
    sim.st.p_ref[0, ROOT, 0] = 400 * 4                  # written back: clean pages
    assert int(sum(x.sum() for x in lru_inodes(sim, 0, ROOT))) == 1000


def test_without_dirty_pages_the_lru_is_every_unused_inode():
    sim = dirty_sim("v4.18", dirty_files=0)
    ref, unref = lru_inodes(sim, 0, ROOT)
    assert ref.tolist() == [0] and unref.tolist() == [1000]
