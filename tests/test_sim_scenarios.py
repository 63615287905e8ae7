"""Each scenario against the result the LKML thread reported (default settings, seed 0).

These follow from the mechanisms when they are right; parameters are not tuned
to reach them. Where the model does not reproduce a reported result yet, the
test is a strict xfail that says what is missing, so it turns red the day the
mechanism is fixed.
"""
import pytest

import reclaimlab as rl
from conftest import simulated

pytestmark = pytest.mark.slow


def pressure(ds):
    """Objects scanned over the run divided by the mean objects held, per cache."""
    held = ds.slab.mean("time").sum("node")
    return ds.scanned.sum(("time", "node")) / held


@pytest.fixture(scope="module")
def small_vs_large():
    return rl.compare("small-vs-large", ["v4.18", "v4.19", "v5.0"])


def test_small_vs_large_floor_hammers_the_smallest_cache(small_vs_large):
    pr = pressure(small_vs_large)
    small, large = pr.sel(cache="cache-1e1"), pr.sel(cache="cache-1e7")
    assert float(small.sel(formula="v4.19") / large.sel(formula="v4.19")) >= 50
    for f in ("v4.18", "v5.0"):
        assert float(small.sel(formula=f)) <= 2 * float(large.sel(formula=f)), f


def test_small_vs_large_caches_keep_objects(small_vs_large):
    """Workloads re-create what they use: no cache stays empty."""
    held = small_vs_large.slab.sel(cache=[c for c in small_vs_large.cache.values if c.startswith("cache")])
    assert (held.mean("time") > 0).all()


def test_compile_slowdown_grows_with_the_cost_of_a_dirty_inode():
    # Sync reclaim's waits on dirty inodes are what make 4.19.3 slow: doubling their
    # disk time must slow 4.19.3 down far more than 4.18, which meets few of them.
    # The 2 ms side is the preset's default, the runs the session shares.
    assert rl.scenarios.get("compile-and-copy").params.costs.inode_flush_ms == 2.0

    def compile_time(kernel, ms):
        if ms == 2.0:
            return simulated("compile-and-copy", kernel=kernel, reduced=False).workload_time.item()
        return rl.simulate("compile-and-copy", kernel=kernel, inode_flush_ms=ms).workload_time.item()
    t = {(k, ms): compile_time(k, ms) for k in ("4.18", "4.19.3") for ms in (2.0, 4.0)}
    slowdown = {ms: t["4.19.3", ms] / t["4.18", ms] for ms in (2.0, 4.0)}
    assert slowdown[4.0] >= slowdown[2.0] + 0.5
    assert t["4.19.3", 4.0] - t["4.19.3", 2.0] >= 5 * (t["4.18", 4.0] - t["4.18", 2.0])


def test_compile_slowdown_does_not_depend_on_the_step():
    # 4.19.3 against 4.18 is 1.28x at dt_s 0.1, 1.26x at 0.05 (default), 1.47x at 0.025 and
    # 1.63x at 0.0125, seed 0 (means over seeds 0-5: 1.35, 1.46, 1.45, 1.51, and 1.48 at
    # 0.00625: docs/validation.md, "Convergence in the step"): from the default step down
    # the ratio stays within the seeds' spread. The test holds the coarse and the default
    # step together, which the runs the session shares allow; it would fail if a rule went
    # back to once a step.
    coarse = {k: rl.simulate("compile-and-copy", kernel=k, dt_s=0.1).workload_time.item()
              for k in ("4.18", "4.19.3")}
    default = {k: simulated("compile-and-copy", kernel=k, reduced=False).workload_time.item()
               for k in ("4.18", "4.19.3")}
    assert coarse["4.19.3"] / coarse["4.18"] == pytest.approx(default["4.19.3"] / default["4.18"], rel=0.1)


@pytest.fixture(scope="module")
def dying():
    runs = {("v5.0", "none"): None, ("v4.19", "none"): None, ("v5.0", "collector"): None,
            ("v5.0", "reparent"): None}
    return {key: simulated("dying-memcgs", formula=key[0], memcg_remedy=key[1], reduced=False).dying_memcgs.values
            for key in runs}


def test_dying_memcgs_pile_up_without_a_remedy(dying):
    # Seed 0: 9 dying a quarter of the way in, 17 at most, 13 at the end (4 services alive,
    # each restarted every 60 s; the floor and the remedies keep it at 0-3).
    d = dying[("v5.0", "none")]
    assert d[-1] >= 10
    assert d.max() >= 1.5 * d[len(d) // 4]


@pytest.mark.parametrize("key", [("v5.0", "collector"), ("v5.0", "reparent")])
def test_dying_memcgs_remedies_keep_the_count_low(dying, key):
    assert dying[key][-1] <= dying[("v5.0", "none")][-1] / 4


def test_dying_memcgs_floor_keeps_the_count_low(dying):
    assert dying[("v4.19", "none")][-1] <= dying[("v5.0", "none")][-1] / 4


def test_dying_memcgs_floor_without_the_sawtooth_keeps_the_count_low(dying):
    """4.19.3 (floor + a76cf1a474d7): kswapd keeps calling the parent's shrinker."""
    d = rl.simulate("dying-memcgs", kernel="4.19.3").dying_memcgs.values
    assert d[-1] <= dying[("v5.0", "none")][-1] / 4


def test_recursive_grep_floor_with_v418_rule_strips_the_working_set():
    """a76cf1a474d7's reason (docs/kernel.md §3): with the floor, steady pressure on the
    inode cache stripped the page cache of unused inodes. The grep's single-use
    inodes lose theirs, and so do the idle desktop files: the desktop reads back
    far more pages than under a76cf1a474d7 or v5.16."""
    runs = {rule: simulated("recursive-grep", formula="v4.19", inode_rule=rule, reduced=False)
            for rule in ("v4.18", "a76cf1a474d7", "v5.16")}
    page_refaults = {r: int(ds.page_refaults.sum()) for r, ds in runs.items()}
    # Seed 0 measured 6472 / 3864 / 3504 (1.67x, 1.85x) with the page LRU's kernel rules
    # (2026-12-07: PG_referenced kept on deactivation, shadows dying with their inode);
    # 2552 / 1848 / 1576 (1.38x, 1.62x) before them (issue 17).
    for rule in ("a76cf1a474d7", "v5.16"):
        assert page_refaults["v4.18"] >= 1.3 * page_refaults[rule], page_refaults


def test_desktop_copy_interactive_stalls_over_100ms_only_under_4193():
    """Bug 202349 (issue 17): the desktop freezes under 4.19.3 alone. The interactive task's
    single pages wait over 100 ms only when another reclaimer holds free memory at min and
    its GFP_KERNEL pass follows kswapd round the XFS AG locks (xfs_reclaim_inodes_ag's
    blocking restart), which needs the floor's deferred work reaching XFS."""
    # A handful of waits a run: over seeds 0-2 and steps 0.05/0.1 s, 4.19.3 has 0.5 a
    # minute in 2 of the 6 cells (seed 1; 4 to 6 of 6 with earlier models; 0 with either of
    # two of the 2026-12-07 rule fixes alone: a knife edge) and the others none
    # (scripts/desktop-202349.py, docs/validation.md). So the test takes all three seeds
    # at the preset's step: waits under 4.19.3 in some seed, under the others in none.
    per_min = {k: [simulated("desktop-copy", kernel=k, reduced=False, seed=s).alloc_stalls_per_min.item()
                   for s in (0, 1, 2)]
               for k in ("4.18", "5.0", "5.10", "4.19.3")}
    units = simulated("desktop-copy", kernel="4.19.3", reduced=False, seed=0).alloc_stalls_per_min.attrs["units"]
    assert units == "1/min"
    assert sum(per_min["4.19.3"]) > 0, per_min
    assert sum(per_min["4.18"]) == sum(per_min["5.0"]) == sum(per_min["5.10"]) == 0, per_min


@pytest.mark.xfail(strict=True, reason=(
    "model gap: desktop-copy's interactive p99.9 is 0 under every kernel (seeds 0-2, steps "
    "0.05 and 0.1 s): its single pages reclaim only when exposed to another's reclaim, under "
    "0.1% of the ~24,000 allocations a run; under 4.19.3 0 or 1 of them a run (0-0.5 a "
    "minute) wait over 100 ms behind another reclaimer's XFS AG locks; docs/validation.md"))
def test_desktop_copy_interactive_tail_only_under_4193():
    """Bug 202349 (issue 17): the interactive task's p99.9 latency is above 0 under 4.19.3 and
    0 under 4.18, 5.0 and 5.10. A reclaimer holds free memory at min while the GPU driver
    allocates; its GFP_KERNEL pass inherits the superblock work the copy's GFP_NOFS calls
    deferred, and with the floor that work reaches XFS's sync inode reclaim."""
    p999 = {k: simulated("desktop-copy", kernel=k, reduced=False, seed=2).alloc_latency_p999.item()
            for k in ("4.18", "5.0", "5.10", "4.19.3")}
    assert p999["4.19.3"] > 1e-3, p999
    assert p999["4.18"] == p999["5.0"] == p999["5.10"] == 0, p999
