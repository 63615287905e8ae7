"""Issue 17: the superblock's dentry and inode LRUs are walked in order (reclaimlab/sim/slaborder.py).

Kernel rules (v4.19): list_lru_add() adds at the tail (list_add_tail(),
mm/list_lru.c); list_lru_walk_one() walks from the head; dentry_lru_isolate()
(fs/dcache.c) and inode_lru_isolate() (fs/inode.c) rotate a referenced object
to the tail with its bit cleared (LRU_ROTATE) and free an unreferenced one
(LRU_REMOVED). So a walk meets the oldest objects first and each object once a
lap, and a lookup sets the bit without moving the object.
"""
import numpy as np

from reclaimlab.kernel.releases import Rules
from reclaimlab.sim.engine import Sim
from reclaimlab.sim.params import FileSet, SimParams
from reclaimlab.sim.slab import INODE, _prune_icache, _walk_dentries, shrink_slab
from reclaimlab.sim.slaborder import BARE, UNREF, ObjectOrder, as_array, sync_dentries
from reclaimlab.sim.state import ROOT

GIB = 262_144


def make_sim(rule="v4.18", ppf=(1, 1), seed=0, **kw):
    sets = tuple(FileSet(f"s{i}", pages_per_file=p, creates_per_s=1.0) for i, p in enumerate(ppf))
    params = SimParams(nodes=1, node_pages=GIB, filesets=sets, **kw)
    return Sim(params, Rules("v4.19", rule, "sync", "none"), seed)


def put_dentries(sim, k, count, stamp, referenced=False, m=ROOT):
    """``count`` dentries of set k enter (n=0, m)'s dentry LRU at ``stamp`` (d_lru_add())."""
    st = sim.st
    (st.d_ref if referenced else st.d_unref)[0, m, k] += count
    st.slab_order.add_dentries(0, m, k, count, stamp, referenced)


def put_inodes(sim, k, count, stamp, m=ROOT):
    """``count`` unused inodes of set k enter (0, m)'s inode LRU at ``stamp`` (inode_add_lru())."""
    st = sim.st
    st.i_unref[0, m, k] += count
    order = st.slab_order.inodes(0, m)
    order.put(UNREF, k, count, stamp)


def test_the_walk_frees_the_oldest_dentries_first():
    """list_lru_walk_one() from the head: set 0's dentries, added first, go before set 1's."""
    sim = make_sim()
    put_dentries(sim, 0, 300, 0.0)
    put_dentries(sim, 1, 300, 1.0)
    assert _walk_dentries(sim, 0, ROOT, 300) == [300, 0]
    assert sim.st.d_unref[0, ROOT].tolist() == [0, 300]
    assert _walk_dentries(sim, 0, ROOT, 100) == [0, 100]


def test_a_referenced_dentry_rotates_to_the_tail_and_survives_the_lap():
    """dentry_lru_isolate(): DCACHE_REFERENCED cleared, LRU_ROTATE; the unreferenced behind it go first."""
    sim = make_sim()
    put_dentries(sim, 0, 100, 0.0, referenced=True)     # oldest, but referenced
    put_dentries(sim, 1, 100, 1.0)
    sim.st.order.now = 2.0
    assert _walk_dentries(sim, 0, ROOT, 100) == [0, 0]     # set 0 rotated: bit cleared, at the tail
    assert sim.st.d_ref[0, ROOT].tolist() == [0, 0] and sim.st.d_unref[0, ROOT].tolist() == [100, 100]
    assert _walk_dentries(sim, 0, ROOT, 100) == [0, 100]   # set 1 is now at the head
    assert _walk_dentries(sim, 0, ROOT, 100) == [100, 0]


def test_a_walk_longer_than_the_list_comes_back_to_the_rotated_dentries():
    """list_lru_walk_one() goes on while nr_to_walk lasts: the rotated objects are met again, unreferenced."""
    sim = make_sim()
    put_dentries(sim, 0, 50, 0.0, referenced=True)
    put_dentries(sim, 1, 50, 0.0)
    assert _walk_dentries(sim, 0, ROOT, 100) == [0, 50]
    sim = make_sim()
    put_dentries(sim, 0, 50, 0.0, referenced=True)
    put_dentries(sim, 1, 50, 0.0)
    assert _walk_dentries(sim, 0, ROOT, 150) == [50, 50]


def test_a_lookup_sets_the_bit_in_place_and_saves_the_dentry_for_a_lap():
    """dput() of a dentry on the LRU sets DCACHE_REFERENCED without moving it (fs/dcache.c retain_dentry())."""
    sim = make_sim()
    put_dentries(sim, 0, 100, 0.0)
    put_dentries(sim, 1, 100, 1.0)
    order = sim.st.slab_order.dentries(0, ROOT)
    sync_dentries(order, sim.st.d_ref[0, ROOT].tolist(), sim.st.d_unref[0, ROOT].tolist())
    # A lookup of 40 of set 0's (old) dentries: the state's counts move between classes...
    sim.st.d_unref[0, ROOT, 0] -= 40
    sim.st.d_ref[0, ROOT, 0] += 40
    sim.st.order.now = 2.0
    # ... and the walk of the 100 oldest frees the 60 not looked up and rotates the 40.
    assert _walk_dentries(sim, 0, ROOT, 100) == [60, 0]
    cohorts = as_array(order)
    assert cohorts[-1, UNREF, 0] == 40                     # rotated to the tail


def test_lookup_within_a_lap_survives_for_sure_unlike_the_mean_field():
    """The clock: an object looked up once a lap is never freed (exp(-lambda T) ~ 0, not 1/(1 + lambda T))."""
    sim = make_sim()
    put_dentries(sim, 0, 1000, 0.0)     # hot: looked up every lap
    put_dentries(sim, 1, 1000, 0.0)     # cold
    for lap in range(5):
        sim.st.order.now = float(lap + 1)
        hot = int(sim.st.d_unref[0, ROOT, 0])
        sim.st.d_unref[0, ROOT, 0] -= hot             # every hot dentry looked up before the walk
        sim.st.d_ref[0, ROOT, 0] += hot
        _walk_dentries(sim, 0, ROOT, 400)
    assert sim.st.d_ref[0, ROOT, 0] + sim.st.d_unref[0, ROOT, 0] == 1000
    assert sim.st.d_ref[0, ROOT, 1] + sim.st.d_unref[0, ROOT, 1] < 1000


def test_a_freed_dentrys_inode_joins_the_inode_lru_at_the_tail():
    """iput_final() -> inode_add_lru(): the inode goes to the tail without I_REFERENCED."""
    sim = make_sim()
    put_inodes(sim, 1, 100, 0.0)        # older inodes of set 1
    put_dentries(sim, 0, 100, 0.0)
    sim.st.order.now = 1.0
    shrink_slab(sim, 0, ROOT, 12, nofs=False)         # the floor: one batch, split over both lists
    freed_d = sim.totals.freed[0, ROOT, 0]
    assert freed_d > 0
    freed_i = sim.totals.freed[0, ROOT, INODE]
    assert 0 < freed_i <= 100
    # The inode walk met set 1's older inodes first: set 0's, at the tail, are all still there.
    assert sim.st.i_unref[0, ROOT].tolist() == [freed_d, 100 - freed_i]
    cohorts = as_array(sim.st.slab_order.inodes(0, ROOT))
    assert cohorts[-1, UNREF, 0] == freed_d and cohorts[:-1, UNREF, 0].sum() == 0


def test_v418_strips_then_frees_the_bare_inode_on_the_next_lap():
    """inode_lru_isolate(): strip (LRU_RETRY), rotate (iput() set I_REFERENCED), free on the next lap, no second strip."""
    sim = make_sim("v4.18", ppf=(4, 1))
    put_inodes(sim, 0, 100, 0.0)
    sim.st.p_inact[0, ROOT, 0] = 400                  # every inode of set 0 has its 4 pages
    sim.st.order.now = 1.0
    freed, pages = _prune_icache(sim, 0, ROOT, 200)    # two steps per inode with pages
    assert freed == 0 and pages == 400
    order = sim.st.slab_order.inodes(0, ROOT)
    assert order.held(BARE) == [100, 0]
    freed, pages = _prune_icache(sim, 0, ROOT, 100)    # one step each: freed, nothing left to strip
    assert freed == 100 and pages == 0


def test_a76cf1a474d7_rotates_inodes_with_more_than_one_page_to_the_tail():
    """inode_lru_isolate() with a76cf1a474d7: nrpages > 1 is LRU_ROTATE, the one-page inodes behind go."""
    sim = make_sim("a76cf1a474d7", ppf=(4, 1))
    put_inodes(sim, 0, 100, 0.0)
    put_inodes(sim, 1, 100, 1.0)
    sim.st.p_inact[0, ROOT, 0] = 400
    sim.st.order.now = 2.0
    freed, pages = _prune_icache(sim, 0, ROOT, 200)
    assert freed == 100 and pages == 0                 # set 1 (no pages) freed, set 0 rotated
    assert sim.st.i_unref[0, ROOT].tolist() == [100, 0]
    assert as_array(sim.st.slab_order.inodes(0, ROOT))[:, UNREF, 0].sum() == 100


def test_dirty_inodes_are_passed_over_and_rejoin_at_the_tail_once_clean():
    """inode_add_lru() refuses I_DIRTY_ALL; inode_sync_complete() puts a cleaned inode on the LRU, at the tail."""
    sim = make_sim("v4.18", ppf=(4, 1))
    put_inodes(sim, 0, 100, 0.0)
    sim.st.p_dirty[0, ROOT, 0] = 400                   # all 100 files dirty
    put_inodes(sim, 1, 50, 1.0)
    sim.st.order.now = 2.0
    freed, _ = _prune_icache(sim, 0, ROOT, 1000)
    assert freed == 50                                  # only set 1: the dirty ones are off the LRU
    order = sim.st.slab_order.inodes(0, ROOT)
    assert order.off == [100, 0] and sim.st.i_unref[0, ROOT, 0] == 100
    sim.st.p_dirty[0, ROOT, 0] = 0                      # written back, and their pages reclaimed
    put_inodes(sim, 1, 50, 3.0)                         # newer inodes of set 1 ...
    sim.st.order.now = 4.0
    freed, _ = _prune_icache(sim, 0, ROOT, 50)          # ... are met first: the clean ones rejoined behind them
    assert freed == 50 and sim.st.i_unref[0, ROOT].tolist() == [100, 0]


def test_each_memcg_has_its_own_ordered_lists():
    """list_lru per memcg (memcg_lrus): a walk for one memcg leaves another's order alone."""
    sim = make_sim(cgroups=2)
    put_dentries(sim, 0, 100, 0.0, m=2)
    put_dentries(sim, 0, 100, 0.0, m=ROOT)
    assert _walk_dentries(sim, 0, 2, 60) == [60, 0]
    assert sim.st.d_unref[0, 2, 0] == 40 and sim.st.d_unref[0, ROOT, 0] == 100
    assert sim.st.slab_order.dentries(0, ROOT).held(UNREF) == [100, 0]


def test_objects_leaving_outside_the_walk_go_in_proportion_per_cohort():
    """An unlink or a lookup takes objects whatever their place: in proportion to the set's in each cohort."""
    order = ObjectOrder(1, 2)
    order.fresh = False
    order.put(UNREF, 0, 30, 0.0)
    order.put(UNREF, 0, 10, 1.0)
    sync_dentries(order, [0], [20])
    assert as_array(order)[:, UNREF, 0].tolist() == [15, 5]


def test_an_ordered_run_is_deterministic_for_a_seed():
    import reclaimlab as rl

    a = rl.simulate("compile-and-copy", kernel="4.19.3", reduced=True, duration_s=20.0, seed=3)
    b = rl.simulate("compile-and-copy", kernel="4.19.3", reduced=True, duration_s=20.0, seed=3)
    assert np.array_equal(a.slab.values, b.slab.values)
    assert np.array_equal(a.scanned.values, b.scanned.values)


def test_the_warm_start_spreads_each_set_evenly_along_the_list():
    """The order of a run's first objects is not known: each set and class spread over INITIAL_COHORTS."""
    from reclaimlab.sim.lruorder import INITIAL_COHORTS

    sim = make_sim()
    sim.st.d_unref[0, ROOT] = [512, 256]
    sim.st.i_unref[0, ROOT] = [0, 1000]
    sim.st.slab_order.warm_start(sim.st)
    d = as_array(sim.st.slab_order.dentries(0, ROOT))
    assert d.shape[0] == INITIAL_COHORTS
    assert set(d[:, UNREF, 0].tolist()) == {2} and set(d[:, UNREF, 1].tolist()) == {1}
    i = as_array(sim.st.slab_order.inodes(0, ROOT))
    assert i[:, UNREF, 1].sum() == 1000 and i[:, UNREF, 1].max() - i[:, UNREF, 1].min() <= 1


def test_a_created_files_dentry_enters_the_tail_unreferenced():
    """dput() -> retain_dentry() -> d_lru_add(): a new dentry is on the LRU without DCACHE_REFERENCED."""
    from reclaimlab.sim import workload

    sim = make_sim()
    put_dentries(sim, 1, 100, 0.0)                    # older dentries
    sim.st.order.now = 1.0
    plan = workload.FilesetPlan(0)
    plan.nodes.append(workload.NodeDraw(0, creates=50))
    workload._apply(sim, plan, 1.0)
    assert sim.st.d_ref[0, ROOT, 0] == 0 and sim.st.d_unref[0, ROOT, 0] == 50
    # A walk of 100 frees the older set first; 50 more reach the new ones, unreferenced: freed.
    assert _walk_dentries(sim, 0, ROOT, 150) == [50, 100]
