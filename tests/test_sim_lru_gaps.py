"""The page LRU's kernel rules that the earlier model left out (docs/simulator.md, "The page LRU").

v4.19 sources: mm/swap.c mark_page_accessed(), pagevec_move_tail_fn(),
rotate_reclaimable_page(); mm/vmscan.c shrink_active_list(),
page_check_references(), shrink_page_list(); mm/truncate.c
truncate_inode_pages_final(), invalidate_mapping_pages(); fs/inode.c
inode_lru_isolate(), evict().
"""
import numpy as np

from reclaimlab.kernel.releases import Rules
from reclaimlab.sim.engine import Sim
from reclaimlab.sim.params import FileSet, SimParams
from reclaimlab.sim.slab import _prune_icache
from reclaimlab.sim.state import ROOT
from reclaimlab.sim.workingset import Shadows

GIB = 262_144


def inode_sim(files=2000, pages_per_file=4, pages=0):
    fs = FileSet("f", pages_per_file=pages_per_file, creates_per_s=1.0)
    params = SimParams(nodes=1, node_pages=GIB, filesets=(fs,), caches=())
    sim = Sim(params, Rules("v4.19", "v4.18", "sync", "none"), 0)
    sim.st.i_unref[0, ROOT, 0] = files          # unused inodes, their dentries gone
    sim.st.p_inact[0, ROOT, 0] = pages
    return sim


# --- shadows die with their inode -------------------------------------------------

def test_forget_takes_the_evicted_inodes_share_of_every_eviction_step():
    """truncate_inode_pages_final(): an evicted inode's shadows go, whatever their age."""
    s = Shadows(2)
    s.evicted([600, 0], now=0.0, horizon=10**9)
    s.evicted([400, 50], now=1.0, horizon=10**9)
    s.forget(0, inodes=100, holders=1000)                         # a tenth of set 0's 1,000
    assert s.shadows_of(0).tolist() == [540, 360]
    assert s.shadows_of(1).tolist() == [0, 50]                     # the other set keeps its own
    s.forget(0, inodes=50, holders=900)
    s.forget(0, inodes=50, holders=850)                            # one at a time, as 100 of 900
    assert s.shadows_of(0).sum() == 800
    s.forget(0, inodes=5, holders=5)                               # the last holders: all of them
    assert s.shadows_of(0).sum() == 0


def test_inode_lru_isolate_frees_page_less_inodes_with_their_shadows():
    """inode_lru_isolate() frees an unused inode without pages: evict() truncates its shadows.

    2,000 page-less inodes hold 8,000 shadows; freeing 200 of them takes a tenth.
    """
    sim = inode_sim(files=2000, pages=0)
    shadows = sim.st.workingset.at(0, ROOT)
    shadows.evicted([8000], now=0.0, horizon=10**9)
    assert _prune_icache(sim, 0, ROOT, 200) == (200, 0.0)
    assert int(shadows.shadows_of(0).sum()) == 7200


def test_a_refault_of_a_file_whose_inode_was_evicted_is_not_detected():
    """No shadow left: workingset_refault() has nothing to find, the page comes back inactive."""
    sim = inode_sim(files=1000, pages=0)
    shadows = sim.st.workingset.at(0, ROOT)
    shadows.evicted([4000], now=0.0, horizon=10**9)
    _prune_icache(sim, 0, ROOT, 1000)                # every inode freed
    rng = np.random.default_rng(0)
    assert shadows.refault(rng, 0, files=100, pages_per_file=4, missing_pages=4000, active_file=10**6) == 0


# --- a deactivated page keeps PG_referenced -----------------------------------------

def low_inactive_state(active_referenced):
    from reclaimlab.sim.state import State
    st = State(1, 1, 2, 0, 1)
    st.p_act[0, ROOT, 0] = 400_000                  # inactive * ratio < active: the list is low
    st.p_act_ref[0, ROOT, 0] = active_referenced
    st.p_inact[0, ROOT, 1] = 40_000
    st.order.at(0, ROOT).spread([0, 40_000])
    st.order.now = 1.0
    return st


def test_shrink_active_list_leaves_pg_referenced_set():
    """shrink_active_list(): ClearPageActive() only, so pages referenced while active stay referenced.

    Priority 4 deactivates 400,000 >> 4 = 25,000 pages; all of the set's
    active pages were referenced since their activation, so all 25,000 enter
    the inactive list with PG_referenced; with none referenced, none do.
    """
    from reclaimlab.sim.lru import shrink_lruvec
    st = low_inactive_state(active_referenced=400_000)
    shrink_lruvec(st, np.random.default_rng(2), 0, ROOT, 4, None)
    assert st.p_ref[0, ROOT, 0] == 25_000 and st.p_inact[0, ROOT, 0] == 0
    assert st.p_act_ref[0, ROOT, 0] == st.p_act[0, ROOT, 0] == 375_000
    st = low_inactive_state(active_referenced=0)
    shrink_lruvec(st, np.random.default_rng(2), 0, ROOT, 4, None)
    assert st.p_inact[0, ROOT, 0] == 25_000 and st.p_ref[0, ROOT, 0] == 0


def test_mark_page_accessed_on_an_active_page_sets_pg_referenced_and_one_more_activates_it_once_deactivated():
    """mark_page_accessed(): active,unreferenced -> active,referenced; inactive,referenced -> active.

    A page referenced while active needs one reference, not two, to come back
    after a deactivation.
    """
    from reclaimlab.sim.lru import accessed
    rng = np.random.default_rng(0)
    assert accessed(rng, [0, 0, 100, 0], 100) == [0, 0, 100, 100]       # SetPageReferenced()
    assert accessed(rng, [0, 0, 100, 100], 100) == [0, 0, 100, 100]     # stays
    # deactivated with PG_referenced (p_ref): one reference activates, ClearPageReferenced()
    assert accessed(rng, [0, 100, 0, 0], 100) == [0, 0, 100, 0]
    # deactivated without it: the first reference only sets it
    assert accessed(rng, [100, 0, 0, 0], 100) == [0, 100, 0, 0]


# --- a dirty page reclaim meets is activated, then rotated to the tail once written ---

def dirty_state():
    from reclaimlab.sim.state import State
    st = State(1, 1, 2, 0, 1)
    st.p_dirty[0, ROOT, 1] = 2_000                  # a copy's written pages
    st.p_inact[0, ROOT, 0] = 8_000
    st.order.at(0, ROOT).spread([8_000, 2_000])
    st.order.now = 1.0
    return st


def test_shrink_page_list_activates_the_dirty_pages_it_meets():
    """shrink_page_list(), v4.18/v4.19: a dirty file page gets SetPageReclaim() and activate_locked.

    It leaves the inactive list (it is not put back at the head to be met
    again a lap later) and is still dirty: scanned, not reclaimed.
    """
    from reclaimlab.sim.lru import shrink_lruvec
    st = dirty_state()
    scanned, reclaimed = shrink_lruvec(st, np.random.default_rng(0), 0, ROOT, 0, None)   # the whole list
    assert (scanned, reclaimed) == (10_000, 8_000)
    assert st.p_dirty[0, ROOT, 1] == st.p_dirty_act[0, ROOT, 1] == 2_000
    assert st.order.at(0, ROOT).known == [0, 0]       # nothing left on the inactive list
    # The marked pages count as active: the inactive list is now empty.
    assert shrink_lruvec(st, np.random.default_rng(1), 0, ROOT, 0, None) == (0, 0)


def test_a_marked_page_goes_to_the_inactive_tail_clean_and_unreferenced_once_written():
    """end_page_writeback() -> rotate_reclaimable_page() -> pagevec_move_tail_fn() (mm/swap.c, v4.19).

    The flushers write the marked (oldest) pages first; each goes to the
    tail, PG_active cleared and PG_referenced already cleared by
    page_check_references(): the next isolation takes them before any other.
    """
    from reclaimlab.sim.lru import shrink_lruvec, writeback
    st = dirty_state()
    rng = np.random.default_rng(0)
    shrink_lruvec(st, rng, 0, ROOT, 2, None)          # 10,000 >> 2 = 2,500 of the oldest
    marked = int(st.p_dirty_act[0, ROOT, 1])
    assert 0 < marked < 2_000
    st.order.now = 2.0
    assert writeback(st, marked, rng) == marked
    assert st.p_dirty_act[0, ROOT, 1] == 0 and st.p_dirty[0, ROOT, 1] == 2_000 - marked
    assert st.p_inact[0, ROOT, 1] == marked and st.p_ref[0, ROOT, 1] == 0
    assert st.order.at(0, ROOT).cohorts()[0].tolist() == [0, marked]   # the tail
    st.order.now = 3.0
    other = int(st.p_inact[0, ROOT, 0])
    scanned, reclaimed = shrink_lruvec(st, rng, 0, ROOT, 5, None)    # about 8,000 >> 5 = 250 < marked
    assert 0 < reclaimed == scanned <= marked
    assert st.p_inact[0, ROOT, 1] == marked - reclaimed    # all of them from the tail
    assert st.p_inact[0, ROOT, 0] == other


def test_unmarked_dirty_pages_written_back_stay_in_place_referenced():
    """Pages the flushers write before reclaim met them: generic_perform_write() referenced them once."""
    from reclaimlab.sim.lru import writeback
    st = dirty_state()
    assert writeback(st, 500, np.random.default_rng(0)) == 500
    assert st.p_ref[0, ROOT, 1] == 500 and st.p_inact[0, ROOT, 1] == 0
    assert st.order.at(0, ROOT).known == [8_000, 2_000]


def test_reclaim_meets_a_sets_dirty_pages_only_past_its_clean_ones():
    """A write puts pages at the head and the flushers write the oldest first (queue_io()):
    a written set's clean pages are older than its dirty ones, so the tail reaches them first."""
    from reclaimlab.sim.lru import shrink_lruvec
    from reclaimlab.sim.state import State
    st = State(1, 1, 1, 0, 1)
    st.p_ref[0, ROOT, 0] = 6_000
    st.p_dirty[0, ROOT, 0] = 2_000
    st.order.at(0, ROOT).spread([8_000])
    assert shrink_lruvec(st, np.random.default_rng(0), 0, ROOT, 1, None) == (4_000, 4_000)
    assert st.p_dirty_act[0, ROOT, 0] == 0
    assert shrink_lruvec(st, np.random.default_rng(0), 0, ROOT, 0, None) == (4_000, 2_000)
    assert st.p_dirty_act[0, ROOT, 0] == 2_000


def test_pages_added_after_a_tail_cohort_grew_the_list_are_kept():
    """add_tail() makes room below the oldest cohort by growing the rows; later head adds
    (which write through a view of the rows) must land in the grown list, not the old one."""
    from reclaimlab.sim.lruorder import InactiveOrder
    order = InactiveOrder(2)
    order.add(0, 100, 0.0)                 # the oldest cohort at index 0: no room below it
    order.add_tail(1, 7, 0.05)             # rotate_reclaimable_page(): a new tail cohort
    order.add(0, 5, 0.05)                  # the head cohort of the same step
    order.add(1, 3, 0.10)                  # a new head cohort
    assert order.cohorts().tolist() == [[0, 7], [100, 0], [5, 0], [0, 3]]
    assert order.known == [105, 10]
    assert order.take_oldest(np.random.default_rng(0), 7) == [0, 7]
