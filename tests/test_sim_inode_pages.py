"""Issue 17, item 6: a76cf1a474d7 judges each inode from its own page count.

Kernel rule (fs/inode.c, inode_lru_isolate(), 4.19.3 to 4.20): an unused,
unreferenced inode on the inode LRU is rotated (LRU_ROTATE) when
``inode->i_data.nrpages > 1``; one with a single page has it stripped by
invalidate_mapping_pages() (LRU_RETRY; iput() re-adds it with I_REFERENCED,
so the restarted walk rotates it) and is freed when a later walk meets it
without pages. Under the v4.18 rule (4.18, 4.19, 5.0) every inode with pages
is stripped, whatever its size.

The model's file sets hold files of one size each (the mean field fills
whole files with a set's pages), so a tree whose files differ in size is
given as one set per size class: compile-and-copy's headers and sources are
split into their one-page files and the rest, from the linux source tree's
file sizes (reclaimlab/scenarios/catalog.py).
"""
import pytest

import reclaimlab as rl
from reclaimlab.kernel.releases import Rules
from reclaimlab.sim.engine import Sim
from reclaimlab.sim.params import FileSet, SimParams
from reclaimlab.sim.slab import INODE, shrink_slab
from reclaimlab.sim.state import ROOT

GIB = 262_144


def two_sizes(rule, files=2000):
    """``files`` unused one-page inodes and as many four-page ones, all pages cached."""
    sets = (FileSet("small", pages_per_file=1, working_set=files),
            FileSet("large", pages_per_file=4, working_set=files))
    sim = Sim(SimParams(nodes=1, node_pages=GIB, filesets=sets), Rules("v4.19", rule, "sync", "none"), 0)
    for k, ppf in enumerate((1, 4)):
        sim.st.i_unref[0, ROOT, k] = files            # dentries gone: on the inode LRU
        sim.st.p_inact[0, ROOT, k] = files * ppf
    return sim


def test_a76cf1a474d7_strips_and_frees_one_page_inodes_and_keeps_the_others():
    """nrpages > 1 rotates; nrpages == 1 is stripped (LRU_RETRY), then freed."""
    sim = two_sizes("a76cf1a474d7")
    for _ in range(50):
        shrink_slab(sim, 0, ROOT, 0, nofs=False)
    unpinned = sim.st.unpinned_inodes()[0, ROOT]
    pages = sim.st.pages()[0, ROOT]
    assert unpinned[0] == 0 and pages[0] == 0          # every one-page inode went, page and all
    assert unpinned[1] == 2000 and pages[1] == 8000    # no four-page inode lost anything
    assert sim.totals.freed[0, ROOT, INODE] == 2000


def test_v418_rule_strips_inodes_whatever_their_size():
    """Before a76cf1a474d7 inode_lru_isolate() has no page count test."""
    sim = two_sizes("v4.18")
    for _ in range(50):
        shrink_slab(sim, 0, ROOT, 0, nofs=False)
    assert sim.st.unpinned_inodes()[0, ROOT].tolist() == [0, 0]
    # Every inode was stripped before it was freed (the mean field leaves a few
    # pages of its last partly counted file, under 1%).
    assert sim.st.pages()[0, ROOT, 0] == 0 and sim.st.pages()[0, ROOT, 1] <= 80


def test_compile_and_copy_tree_is_split_by_the_measured_one_page_shares():
    """linux 6.1: 66% of include/ and arch/x86/include/ headers, 19% of .c files are one page."""
    sets = {f.name: f for f in rl.scenarios.get("compile-and-copy").params.filesets}
    for name, files, share, mean_pages in (("headers", 25_000, 0.66, 2.0), ("sources", 50_000, 0.19, 4.0)):
        small, large = sets[f"{name}-small"], sets[name]
        assert small.pages_per_file == 1 and large.pages_per_file > 1
        assert small.working_set + large.working_set == files
        assert small.working_set / files == pytest.approx(share)
        # The tree's size is the one the scenario had with one size per set (within 6%).
        pages = small.working_set + large.working_set * large.pages_per_file
        assert pages / files == pytest.approx(mean_pages, rel=0.065)
        # Each file is read as often as before the split.
        assert small.reads_per_s == large.reads_per_s and small.job and large.job
