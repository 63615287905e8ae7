"""Which unused inodes still have pages, for files never looked up again (bug 202441's copy).

v4.19 sources: fs/inode.c inode_lru_isolate() (an unused inode with pages has
them invalidated, invalidate_mapping_pages(mapping, 0, -1), LRU_RETRY; one
without is freed, LRU_REMOVED), iput_final() -> inode_add_lru() (an inode
joins the inode LRU's tail when its last dentry goes); mm/list_lru.c
list_lru_walk_one() (the walk starts at the head); mm/vmscan.c
isolate_lru_pages() (page reclaim takes the inactive list's oldest pages, at
its tail); fs/dcache.c dentry_lru_isolate().

A stream's files (a copy's, a grep's, a build's output) are never looked up
again, so they leave the page LRU and the dentry and inode LRUs oldest first:
its cached pages are its youngest files', and on the inode LRU only its
youngest inodes still have them, at the tail. The walk meets the bare ones
first and frees them; inode_lru_isolate() strips only the pages an inode
still has. (The mean field gave every met inode the set's share of pages, so
the slow walks of 4.18 stripped old files whose pages page reclaim had taken.)
"""
from reclaimlab.kernel.releases import Rules
from reclaimlab.sim.engine import Sim
from reclaimlab.sim.params import FileSet, SimParams
from reclaimlab.sim.slab import _prune_icache
from reclaimlab.sim.slaborder import UNREF
from reclaimlab.sim.state import ROOT

GIB = 262_144


def stream_sim(old, young, files_with_pages, dentries=0, pages_per_file=4, working_set=0):
    """``old`` then ``young`` unused inodes on the inode LRU; the pages of ``files_with_pages`` files."""
    fs = FileSet("copy", pages_per_file=pages_per_file, creates_per_s=1.0, working_set=working_set)
    sim = Sim(SimParams(nodes=1, node_pages=GIB, filesets=(fs,), caches=()),
              Rules("v4.19", "v4.18", "sync", "none"), 0)
    st = sim.st
    order = st.slab_order.inodes(0, ROOT)
    for count, stamp in ((old, 0.0), (young, 1.0)):     # inode_add_lru(): at the tail, oldest first
        st.i_unref[0, ROOT, 0] += count
        order.put(UNREF, 0, count, stamp)
    st.d_unref[0, ROOT, 0] = dentries                   # the youngest files' dentries still cached
    st.p_inact[0, ROOT, 0] = files_with_pages * pages_per_file
    st.order.now = 2.0
    return sim


def test_the_walk_frees_a_streams_old_bare_inodes_and_strips_its_young_ones():
    """1,000 old inodes whose pages page reclaim took, then 200 young ones with 4 pages each.

    The first 1,000 steps of the walk meet the old ones: freed, nothing stripped (the mean
    field stripped about a sixth of them). The young ones are stripped when the walk reaches
    them: LRU_RETRY, then rotated bare (two steps each).
    """
    sim = stream_sim(old=1000, young=200, files_with_pages=200)
    assert _prune_icache(sim, 0, ROOT, 1000) == (1000, 0.0)
    assert sim.st.pages()[0, ROOT, 0] == 800
    assert _prune_icache(sim, 0, ROOT, 400) == (0, 800.0)
    assert sim.st.pages()[0, ROOT, 0] == 0


def test_files_whose_dentries_are_cached_are_the_youngest_with_pages():
    """Pages of 300 files, the youngest 100 still pinned by their dentries: 200 inodes on the LRU have pages."""
    sim = stream_sim(old=1000, young=200, files_with_pages=300, dentries=100)
    assert _prune_icache(sim, 0, ROOT, 1000) == (1000, 0.0)
    assert _prune_icache(sim, 0, ROOT, 400) == (0, 800.0)
    assert sim.st.pages()[0, ROOT, 0] == 400               # the dentry-pinned files keep theirs


def test_a_working_set_keeps_the_mean_field():
    """Files read again are not in age order on either list: a met inode has the set's share of pages."""
    sim = stream_sim(old=1000, young=200, files_with_pages=200, working_set=1200)
    _, stripped = _prune_icache(sim, 0, ROOT, 1000)
    assert 100 * 4 <= stripped <= 200 * 4                  # about a sixth of the inodes met
