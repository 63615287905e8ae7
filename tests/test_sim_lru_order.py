"""The inactive file list's order and workingset refault detection against their kernel rules.

v4.18: lru_cache_add() puts a page at the head of the inactive list and
isolate_lru_pages() takes lru_to_page(src), the tail (mm/swap.c, mm/vmscan.c);
workingset_eviction()/workingset_refault()/workingset_activation()
(mm/workingset.c); inactive_list_is_low() with inactive_ratio 0 while refaults
are activated (2a2e48854d70) and snapshot_refaults() (mm/vmscan.c).
"""
import numpy as np
import pytest

from reclaimlab.sim.lru import shrink_lruvec
from reclaimlab.sim.lruorder import InactiveOrder, remove_proportionally
from reclaimlab.sim.state import ROOT, State
from reclaimlab.sim.workingset import Shadows

HOT, COLD = 0, 1


def two_sets(p_act=0):
    st = State(1, 1, 2, 0, 1)
    st.p_act[0, ROOT, HOT] = p_act
    return st


def test_isolate_lru_pages_takes_the_oldest_pages_first():
    """The tail is the oldest cohort: whole cohorts go before any younger page is taken."""
    order = InactiveOrder(2)
    order.add(COLD, 1000, stamp=0.0)
    order.add(HOT, 500, stamp=1.0)
    order.add(COLD, 300, stamp=2.0)
    rng = np.random.default_rng(0)
    assert order.take_oldest(rng, 800) == [0, 800]
    assert order.take_oldest(rng, 600) == [400, 200]      # the rest of the first, then the second
    assert order.known == [100, 300]


def test_a_page_read_back_is_safe_for_a_lap_of_the_list():
    """lru_cache_add() at the head: a scan smaller than the older pages never reaches it.

    The mean-field draw this replaces would take about 10% of the hot set's
    pages in a scan of 10% of the list, whatever their age.
    """
    st = two_sets()
    st.p_inact[0, ROOT, COLD] = 90_000
    st.order.at(0, ROOT).spread([0, 90_000])       # older pages along the list
    st.order.now = 5.0
    st.p_ref[0, ROOT, HOT] = 10_000                # read back now: at the head
    st.order.add(0, ROOT, HOT, 10_000)
    rng = np.random.default_rng(1)
    left = 100_000
    for _ in range(8):                              # 8 passes at priority 3: inactive >> 3 each
        scanned, reclaimed = shrink_lruvec(st, rng, 0, ROOT, 3, None)
        assert scanned == reclaimed == left >> 3
        left -= left >> 3
    assert left < 100_000 - 60_000
    assert st.p_ref[0, ROOT, HOT] == 10_000        # the hot set's pages are all still there
    assert st.p_inact[0, ROOT, COLD] == left - 10_000


def test_deactivated_pages_enter_the_inactive_list_at_its_head():
    """move_active_pages_to_lru(): deactivated pages go behind every older inactive page."""
    st = two_sets(p_act=400_000)                    # inactive * ratio < active: the list is low
    st.p_inact[0, ROOT, COLD] = 40_000
    st.order.at(0, ROOT).spread([0, 40_000])
    st.order.now = 1.0
    rng = np.random.default_rng(2)
    shrink_lruvec(st, rng, 0, ROOT, 4, None)        # deactivates 400,000 >> 4 = 25,000, scans 4,062
    assert st.p_act[0, ROOT, HOT] == 400_000 - 25_000
    assert st.p_inact[0, ROOT, HOT] == 25_000       # none of them reclaimed: they are the newest
    assert st.order.at(0, ROOT).known == [25_000, int(st.p_inact[0, ROOT, COLD])]


def test_pages_leaving_other_than_by_the_tail_leave_every_cohort_in_proportion():
    """Activation, unlink and inode stripping take a set's pages whatever their age."""
    st = two_sets()
    order = st.order.at(0, ROOT)
    order.add(HOT, 300, stamp=0.0)
    order.add(HOT, 100, stamp=1.0)
    st.p_ref[0, ROOT, HOT] = 200                    # half of them activated or stripped
    order.sync([200, 0], stamp=2.0)
    assert order.cohorts()[:, HOT].tolist() == [150, 50]


def test_remove_proportionally_is_exact():
    col = np.array([7, 0, 3, 5])
    remove_proportionally(col, 15, 4)
    assert int(col.sum()) == 11 and (col >= 0).all()


def test_workingset_refault_activates_a_page_within_the_active_list_size():
    """workingset_refault(): refault distance <= active file pages -> SetPageActive()."""
    rng = np.random.default_rng(3)
    s = Shadows(2)
    s.evicted([1000, 0], now=0.0, horizon=10**9)
    s.evicted([0, 5000], now=1.0, horizon=10**9)   # 5,000 evictions since the hot set's
    # every missing page has a shadow: distance 6,000 - 0 = 6,000 at most
    assert s.refault(rng, HOT, files=100, pages_per_file=1, missing_pages=1000, active_file=10_000) == 100
    assert s.activate == 100 and s.refaults_seen()
    # an active list smaller than the distance activates nothing
    assert s.refault(rng, HOT, files=100, pages_per_file=1, missing_pages=900, active_file=1_000) == 0


def test_pages_without_shadows_are_not_activated():
    """Stripped pages (invalidate_mapping_pages(): no shadow) come back inactive."""
    rng = np.random.default_rng(4)
    s = Shadows(1)
    s.evicted([100], now=0.0, horizon=10**9)
    # 100 shadows among 10,000 missing pages: about 1% of reads find one
    hot = s.refault(rng, 0, files=1000, pages_per_file=1, missing_pages=10_000, active_file=10**6)
    assert 0 < hot < 40


def test_evictions_and_activations_advance_inactive_age():
    """workingset_eviction() and workingset_activation() both age the lruvec."""
    s = Shadows(1)
    s.evicted([10], now=0.0, horizon=10**9)
    s.activated(5)
    assert s.age == 15


@pytest.mark.parametrize("seen", [False, True])
def test_refault_activations_age_the_active_list_until_the_snapshot(seen):
    """2a2e48854d70: inactive_ratio = 0 while WORKINGSET_ACTIVATE moved since snapshot_refaults()."""
    st = two_sets(p_act=40_960)
    st.p_inact[0, ROOT, COLD] = 200_000             # far from low: 200,000 * ratio > 40,960
    st.order.at(0, ROOT).spread([0, 200_000])
    if seen:
        st.workingset.at(0, ROOT).activate += 1     # a refault was activated
    rng = np.random.default_rng(5)
    shrink_lruvec(st, rng, 0, ROOT, 12, None)
    assert st.p_act[0, ROOT, HOT] == (40_960 - 10 if seen else 40_960)
    st.workingset.snapshot_node(0)                  # the reclaim cycle ended
    shrink_lruvec(st, rng, 0, ROOT, 12, None)
    assert st.p_act[0, ROOT, HOT] == (40_960 - 10 if seen else 40_960)
