"""Exposure of other allocations to free memory at min (issue 17 item 4).

Kernel rule tested: while a task is in direct reclaim because memory ran
short, free memory sits at the min watermark, so a concurrent allocation's
get_page_from_freelist() fails ALLOC_WMARK_MIN and __alloc_pages_slowpath()
sends it into __alloc_pages_direct_reclaim() too; a GFP_KERNEL allocation
that reclaims runs the superblock shrinker and, in do_shrink_slab(), takes
on the nr_deferred work GFP_NOFS callers wound up (mm/page_alloc.c,
mm/vmscan.c).
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
DT = 0.05


def make_sim(formula="v5.0", **kw):
    params = SimParams(nodes=1, node_pages=GIB, anon_pages=GIB // 2, dt_s=DT,
                       filesets=(FileSet("f", pages_per_file=4, creates_per_s=400.0),), **kw)
    return Sim(params, Rules(formula, "v4.18", "sync", "none"), 0)


def free_above_min_by(sim, pages):
    """Page cache that leaves free memory ``pages`` above min."""
    sim.st.p_inact[0, ROOT, 0] = int(sim.free(0) - sim.wmin) - pages


def fake_reclaim(monkeypatch, seconds):
    calls = []

    def fake(sim, n, nofs, start=0.0):
        calls.append(nofs)
        return 32.0, seconds
    monkeypatch.setattr(workload, "direct_reclaim", fake)
    return calls


def test_exposure_is_the_chance_of_meeting_any_reclaimer():
    assert workload.exposure(np.array([1.0])) == 1.0
    assert workload.exposure(np.array([0.2, 0.5])) == pytest.approx(1 - 0.8 * 0.5)
    assert workload.exposure(np.array([0.0, 0.0])) == 0.0


def test_an_allocation_above_min_reclaims_while_a_task_sleeps_in_reclaim(monkeypatch):
    """The writer's demand does not fit above min: it reclaims for the whole step, so every
    interactive allocation, though it found free memory above min in its turn, meets free
    memory at min (ALLOC_WMARK_MIN) and makes a GFP_KERNEL pass."""
    sim = make_sim()
    free_above_min_by(sim, 5)                  # above min, below the writer's demand
    calls = fake_reclaim(monkeypatch, DT)      # each pass takes the whole step
    actor = workload.Actor("writer", (0,))
    todo = workload.plan(sim, actor)
    assert todo.demand[0] > 5
    workload.run_tasks(sim, [actor], [todo], interactive=[0, 0, 0])
    assert todo.asleep[0]
    assert sim.latencies == [DT] * 3
    assert calls[1:] == [False] * 3            # the interactive passes have __GFP_FS


def test_no_reclaimer_no_exposure(monkeypatch):
    """Memory short but no time in reclaim (reclaim costs nothing): above min, no pass."""
    sim = make_sim()
    free_above_min_by(sim, 5)
    fake_reclaim(monkeypatch, 0.0)
    actor = workload.Actor("writer", (0,))
    todo = workload.plan(sim, actor)
    workload.run_tasks(sim, [actor], [todo], interactive=[0, 0])
    assert sim.latencies == [0.0, 0.0]


def test_plenty_of_memory_exposes_nobody(monkeypatch):
    """A task still asleep in reclaim from the last step does not hold free memory at min
    when the step's demand fits: no one else reclaims."""
    sim = make_sim()
    calls = fake_reclaim(monkeypatch, DT)
    actor = workload.Actor("writer", (0,), tasks=2)
    actor.in_reclaim[0] = actor.debt[0] = 1.0
    todo = workload.plan(sim, actor)
    workload.run_tasks(sim, [actor], [todo], interactive=[0, 0])
    assert sim.latencies == [0.0, 0.0] and calls == []


def test_a_task_asleep_in_reclaim_from_the_last_step_exposes_the_others(monkeypatch):
    """Task 0 is asleep in direct reclaim through this step; task 1's allocations meet free
    memory at min and it reclaims for them, though its own demand would fit."""
    sim = make_sim()
    actor = workload.Actor("writer", (0,), tasks=2)
    actor.in_reclaim[0] = actor.debt[0] = 1.0
    todo = workload.plan(sim, actor)
    assert todo.reclaiming[0] == DT and todo.work[0] == 0
    # Task 1's demand fits, but an interactive allocation brings the node short of min.
    free_above_min_by(sim, int(np.ceil(todo.demand[1])))
    calls = fake_reclaim(monkeypatch, 0.001)
    workload.run_tasks(sim, [actor], [todo], interactive=[0])
    assert sim.latencies == [0.001]            # exposed: task 0 reclaims all step long
    # Task 1: one pass per 32 of the pages it allocated while exposed, at most its step.
    assert len(calls) - 1 == int(np.ceil(todo.gross[1] / 32))
    assert actor.debt[1] >= 0.001 * (len(calls) - 1)      # the task owes its reclaim time


def test_the_exposed_gfp_kernel_allocation_inherits_the_deferred_work(monkeypatch):
    """A GFP_NOFS writer reclaims all step (its superblock scans deferred); the exposed
    interactive allocation is GFP_KERNEL and scans the dentries the writer could not."""
    from reclaimlab.sim import reclaim
    sim = make_sim("v4.16")
    sim.st.d_unref[0, ROOT, 0] = 200_000
    # Memory filled with dirty pages (passed over) and 10 clean ones: both passes go
    # down the priorities, where the writer winds up deferred work.
    sim.st.p_inact[0, ROOT, 0] = 10
    sim.st.p_dirty[0, ROOT, 0] = int(sim.free(0) - sim.wmin) - 5
    real = reclaim.direct_reclaim

    def slow(sim, n, nofs, start=0.0):         # the writer's pass blocks for the whole step
        pages, seconds = real(sim, n, nofs, start)
        return pages, seconds + (DT if nofs else 0.0)
    monkeypatch.setattr(workload, "direct_reclaim", slow)
    actor = workload.Actor("writer", (0,))
    todo = workload.plan(sim, actor)
    assert todo.fs_share(0) == 0.0             # an XFS file's pages: GFP_NOFS
    workload.admit(sim, actor, todo, 0)
    assert sim.totals.scanned[0, ROOT, DENTRY] == 0
    wound = int(sim.st.nr_deferred[0, 0, 0])
    assert wound > 0
    workload.expose(sim, [actor], [todo], waiting=[0])
    assert sim.latencies[-1] > 0
    assert sim.totals.scanned[0, ROOT, DENTRY] > 0
    assert sim.st.nr_deferred[0, 0, 0] < wound


def test_a_tasks_exposed_reclaim_comes_after_its_own_earlier_reclaim(monkeypatch):
    """One task's direct reclaim calls come one after another (try_to_free_pages() returns
    before its next allocation): the calls it makes for its exposed allocations start after
    the moment it asked for memory (``todo.asked``, admit()) and the reclaim it made then
    (``actor.debt``), so it never queues for the XFS AG locks its own earlier calls hold.
    Started at the step's beginning they met those holds, an error that grew as the step
    shrank (compile-and-copy, 4.19, seed 0: AG-lock waits in exposed reclaim 21 s at
    dt_s 0.05 and 99 s at 0.025)."""
    sim = make_sim()
    actor = workload.Actor("writer", (0,), tasks=2)
    actor.in_reclaim[0] = actor.debt[0] = 1.0      # task 0 asleep in reclaim: exposes task 1
    actor.debt[1] = 0.01                           # task 1 wakes 0.01 s into the step
    todo = workload.plan(sim, actor)
    assert todo.work[1] == pytest.approx(DT - 0.01)
    todo.asked[1] = 0.01                           # it asked for memory as it woke
    actor.debt[1] = 0.015                          # and its own reclaim this step took 0.015 s
    todo.done[1] = todo.work[1]
    starts = []

    def fake(sim, n, nofs, start=0.0):
        starts.append(start)
        return 1.0, 0.002
    monkeypatch.setattr(workload, "direct_reclaim", fake)
    workload.expose(sim, [actor], [todo], [])
    assert starts[0] == pytest.approx(0.01 + 0.015)
    assert starts[1] == pytest.approx(0.01 + 0.015 + 0.002)     # each call after the last
