"""Allocation context and volume (issue 17 item 3): which direct reclaim calls have __GFP_FS.

Kernel rules tested:

* fs/xfs/xfs_iops.c ``xfs_setup_inode()`` clears ``__GFP_FS`` from every XFS
  inode's mapping (``mapping_set_gfp_mask(mapping, gfp & ~__GFP_FS)``), so
  page-cache reads, readahead (``readahead_gfp_mask()``) and writes
  (``grab_cache_page_write_begin()``) of XFS files allocate GFP_NOFS;
* fs/super.c ``super_cache_scan()`` returns SHRINK_STOP without ``__GFP_FS``
  and mm/vmscan.c ``do_shrink_slab()`` then defers the whole scan to
  ``nr_deferred``;
* a compiler's anonymous memory (``do_anonymous_page()``,
  GFP_HIGHUSER_MOVABLE) has ``__GFP_FS``: its direct reclaim runs the
  superblock shrinker and pays the deferred work; the process frees it at
  exit (``exit_mmap()``).
"""
import numpy as np
import pytest

from reclaimlab.kernel.releases import Rules
from reclaimlab.sim import workload
from reclaimlab.sim.engine import Sim
from reclaimlab.sim.params import FileSet, SimParams
from reclaimlab.sim.slab import DENTRY
from reclaimlab.sim.state import ROOT

GIB = 262_144


def make_sim(filesets, formula="v4.16", **kw):
    params = SimParams(nodes=1, node_pages=GIB, anon_pages=GIB // 2, dt_s=0.05,
                       filesets=tuple(filesets), **kw)
    return Sim(params, Rules(formula, "v4.18", "sync", "none"), 0)


def short_of_memory(sim, k=0):
    """Page cache that leaves free memory just under min."""
    sim.st.p_inact[0, ROOT, k] = int(sim.free(0) - sim.wmin) + 10


def contexts(monkeypatch, sim, actor):
    """The nofs argument of every direct reclaim call one task of ``actor`` makes."""
    calls = []

    def fake(sim, n, nofs, start=0.0):
        calls.append(nofs)
        return 32.0, 1e-4
    monkeypatch.setattr(workload, "direct_reclaim", fake)
    todo = workload.plan(sim, actor)
    workload.admit(sim, actor, todo, 0)
    return calls


@pytest.mark.parametrize("writes", [False, True], ids=["reads", "writes"])
def test_xfs_page_cache_allocations_are_gfp_nofs(monkeypatch, writes):
    """xfs_setup_inode(): reads and writes of an XFS file reclaim without __GFP_FS."""
    sim = make_sim([FileSet("f", pages_per_file=64, creates_per_s=400.0, writes=writes)])
    short_of_memory(sim)
    calls = contexts(monkeypatch, sim, workload.Actor("stream", (0,)))
    assert calls and all(calls)


def test_a_filesystem_that_keeps_gfp_fs_reclaims_with_it(monkeypatch):
    """mapping_nofs=False (a mapping with __GFP_FS): the same reads reclaim with __GFP_FS,
    unless the file set itself is GFP_NOFS."""
    for nofs, want in ((False, False), (True, True)):
        sim = make_sim([FileSet("f", pages_per_file=64, creates_per_s=400.0, nofs=nofs)],
                       mapping_nofs=False)
        short_of_memory(sim)
        calls = contexts(monkeypatch, sim, workload.Actor("stream", (0,)))
        assert calls and all(c is want for c in calls)


def test_the_compilers_anonymous_memory_reclaims_with_gfp_fs(monkeypatch):
    """A job whose allocations are almost all anonymous (its files cached) reclaims with __GFP_FS."""
    headers = FileSet("h", pages_per_file=2, working_set=100, reads_per_s=1.0, job=True)
    sim = make_sim([headers], job_seconds=10.0, job_tasks=1, job_processes_per_s=10.0,
                   job_process_pages=25_600)
    sim.st.d_unref[0, ROOT, 0] = 100
    sim.st.p_act[0, ROOT, 0] = 200          # every header cached: no page-cache allocation
    short_of_memory(sim)
    (job,) = workload.make_actors(sim.params)
    calls = contexts(monkeypatch, sim, job)
    assert calls and not any(calls)


def test_a_gfp_nofs_reclaimer_defers_and_the_next_gfp_fs_one_pays():
    """super_cache_scan() returns SHRINK_STOP without __GFP_FS: a stream's direct reclaim
    scans no dentries and winds nr_deferred up; a compiler's reclaim then scans them."""
    from reclaimlab.sim.reclaim import direct_reclaim
    sim = make_sim([FileSet("f", pages_per_file=1, creates_per_s=1.0)])
    sim.st.d_unref[0, ROOT, 0] = 200_000
    sim.st.p_inact[0, ROOT, 0] = 10         # too little page cache for 32 pages: down the priorities
    direct_reclaim(sim, 0, nofs=not workload.gfp_fs(sim, 0.0))
    assert sim.totals.scanned[0, ROOT, DENTRY] == 0
    wound = int(sim.st.nr_deferred[0, 0, 0])
    assert wound > 0
    direct_reclaim(sim, 0, nofs=not workload.gfp_fs(sim, 1.0))
    assert sim.totals.scanned[0, ROOT, DENTRY] > 0
    assert sim.st.nr_deferred[0, 0, 0] < wound


def test_gfp_fs_draw_follows_the_share():
    sim = make_sim([])
    draws = [workload.gfp_fs(sim, 0.25) for _ in range(4000)]
    assert abs(np.mean(draws) - 0.25) < 0.03
    state = sim.rng.bit_generator.state
    assert workload.gfp_fs(sim, 1.0) and not workload.gfp_fs(sim, 0.0)
    assert sim.rng.bit_generator.state == state      # no draw when all or none are __GFP_FS


def test_a_process_faults_its_memory_evenly_and_frees_it_at_exit():
    """Each task runs one process at a time: job_tasks / job_processes_per_s seconds of work."""
    p = SimParams(job_tasks=4, job_processes_per_s=20.0, job_process_pages=1000)
    assert workload.process_life_s(p) == pytest.approx(0.2)
    age = np.array([0.0, 0.1, 0.15, 0.19])
    assert workload.process_pages(p, age) == pytest.approx([0, 500, 750, 950])
    peak, faulted = workload.anon_need(p, age, np.full(4, 0.05))
    # no exit: what it faults; an exit in the step: what it lacked before exiting
    assert peak == pytest.approx([250, 250, 250, 50])
    assert faulted == pytest.approx([250] * 4)
    assert workload.process_pages(p, age + 0.05)[3] == pytest.approx(200)   # after the exit


def test_the_jobs_processes_hold_memory_and_exits_give_it_back():
    headers = FileSet("h", pages_per_file=2, working_set=100, reads_per_s=1.0, job=True)
    sim = make_sim([headers], job_seconds=10.0, job_tasks=2, job_processes_per_s=20.0,
                   job_process_pages=10_000)
    (job,) = workload.make_actors(sim.params)
    assert job.age == pytest.approx([0.0, 0.05])     # staggered over one life (0.1 s)
    sim.job_anon = workload.job_anon_pages(sim, [job])
    assert sim.job_anon == pytest.approx(5_000)
    free = sim.free(0)
    job.age += 0.06                                   # task 1's process exits, a new one starts
    sim.job_anon = workload.job_anon_pages(sim, [job])
    assert sim.job_anon == pytest.approx(6_000 + 1_000)
    assert sim.free(0) == pytest.approx(free - 2_000)


def test_no_processes_no_anonymous_memory():
    p = SimParams(job_tasks=4)
    assert workload.process_life_s(p) == float("inf")
    peak, faulted = workload.anon_need(p, np.zeros(4), np.full(4, 0.05))
    assert not peak.any() and not faulted.any()


@pytest.mark.parametrize("field, bad", [("job_processes_per_s", -1.0), ("job_process_pages", -5),
                                        ("mapping_nofs", 1)])
def test_bad_allocation_parameters_are_refused(field, bad):
    with pytest.raises(ValueError, match=rf"{field}={bad!r} is not allowed"):
        SimParams(**{field: bad}).validate()
