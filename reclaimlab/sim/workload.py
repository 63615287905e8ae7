"""Workloads: tasks that read and write files, use slab objects and allocate memory.

An *actor* is one or more tasks doing the same work (the job's make -jN
tasks, a copy, a grep); each task has a time budget per step. What a task
cannot do because it was blocked (IO for a refault, a stall in direct
reclaim, dirty throttling) is carried as a debt into the next steps, so a
blocked task makes no progress.

The tasks run concurrently, so in each step they get memory one by one in
a random order. Before a task creates pages or objects it makes sure free
memory stays above the min watermark, doing direct reclaim itself if not
(docs/kernel.md §2.4). A task whose direct reclaim blocks it past the end of the
step is asleep in reclaim: it allocates nothing that step, and the pages it
freed go to whoever comes next. A task that cannot get memory after 64
direct reclaim calls in one step is throttled and tries again next step.

**Exposure** (get_page_from_freelist() failing ALLOC_WMARK_MIN in
__alloc_pages_slowpath()): while a task is in direct reclaim because memory
ran short, free memory sits at the min watermark, so the other tasks'
allocations that arrive meanwhile fail the watermark too and enter direct
reclaim themselves. In a step where memory is short, an allocation arrives
during someone else's reclaim with probability ``1 - prod(1 - r_j)`` over
the other reclaimers, ``r_j`` the share of the step task ``j`` spent in
direct reclaim (a task asleep in reclaim from an earlier step counts too).
An exposed interactive allocation makes one pass; an exposed task reclaims
for its exposed share of the step's allocations, until it has reclaimed
those pages or spent its exposed share of the step in reclaim (64 calls at
most). Exposed reclaim frees memory above min, so it does not expose others.

**Allocation context** (:func:`gfp_fs`): a direct reclaim call is made
for one allocation, the one that found free memory at min, so it has that
allocation's GFP flags. Page-cache allocations of XFS files are GFP_NOFS
(``xfs_setup_inode()`` clears ``__GFP_FS`` from every mapping:
``SimParams.mapping_nofs``), and so are the slab objects of files created in
a transaction (xfs_create, PF_MEMALLOC_NOFS); lookups' dentries and inodes
(d_alloc, xfs_iget) and the job's anonymous memory are GFP_KERNEL /
GFP_HIGHUSER_MOVABLE with ``__GFP_FS``. Each call is ``__GFP_FS`` with the
share of the task's step allocations that are, a seeded draw.

**The job's anonymous memory** (``job_processes_per_s``,
``job_process_pages``): each task runs one compiler process at a time, which
faults in its memory at an even rate over its life and frees it all when it
exits; the tasks' processes start staggered over one lifetime.

Working-set reads (mean field over the set's files; drawn per node by
:mod:`reclaimlab.sim.fileplan` before memory is granted, carried out by :func:`_apply`):

* a read finds the file's dentry (sets DCACHE_REFERENCED), or its inode on
  the LRU (a new dentry pins it again), or neither: a **refault**, which
  recreates the dentry and looks the inode up in XFS (xfs_iget()): one
  still awaiting XFS reclaim is recycled without IO, else the inode is read
  through its cluster buffer, a random disk read when the buffer is not
  cached (:func:`reclaimlab.sim.xfs.recycle`,
  :func:`reclaimlab.sim.xfs.lookup_cluster_reads`);
* the file's pages are there (mark_page_accessed: the second reference
  activates) or are read back from disk (a page-cache refault, one seek plus
  the file's size at disk bandwidth), at the head of the inactive list, or
  on the active list when a recent shadow entry says so (workingset_refault,
  :mod:`reclaimlab.sim.workingset`).

New files (a copy, a compile's output, a grep) get a dentry, an inode and
their pages; written files have dirty pages and a dirty inode until writeback.

Blocked time by cause (``blocked_by_cause``, :mod:`reclaimlab.sim.state`):
direct reclaim's causes (:mod:`reclaimlab.sim.reclaim`), then the tasks' own
IO waits per node of the file (refault reads, reads of new files, unlinks'
cluster reads), a writer's lost step over the dirty limit, and work an
awake task got no memory for; the last two are spread evenly over the nodes.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from dataclasses import dataclass, field

import math

import numpy as np

from . import alloc, disk, xfs
from .draw import take_values, thin, thin_nonzero
from .fileplan import DrawSpec, FilesetPlan, NodeDraw, ReadDraw, draw_spec, plan_filesets  # noqa: F401 (re-exported)
from .lru import accessed, writeback
from .params import PAGE_KIB
from .reclaim import direct_reclaim
from .slab import DENTRY, INODE, XFS_INODE
from .state import DIRTY_THROTTLE, FILE_READ, MEMORY_WAIT, REFAULT_READ, ROOT, XFS_CLUSTER_READ

if TYPE_CHECKING:                      # the engine imports this module
    from .engine import Sim

MAX_DIRECT_PER_STEP = 64


@dataclass
class Actor:
    """Tasks doing the same work (``tasks`` of them), each blocking on its own.

    The file sets' rates are the actor's total; each task does an equal share.
    ``debt`` and ``progress`` are per task, in seconds.
    """

    name: str
    filesets: tuple[int, ...]
    tasks: int = 1
    job: bool = False
    writes: bool = False
    debt: np.ndarray = field(init=False)
    progress: np.ndarray = field(init=False)
    #: seconds of work each task's current process has run (the job's anonymous memory)
    age: np.ndarray = field(init=False)
    #: seconds each task's direct reclaim runs on past the end of the last step
    in_reclaim: np.ndarray = field(init=False)
    #: :func:`draw_spec` of each file set, made at the first step (the run's parameters are fixed)
    specs: tuple = field(init=False, default=())

    def __post_init__(self) -> None:
        self.debt = np.zeros(self.tasks)
        self.progress = np.zeros(self.tasks)
        self.age = np.zeros(self.tasks)
        self.in_reclaim = np.zeros(self.tasks)


@dataclass
class InteractiveTask:
    """The interactive task within one step.

    Its allocations come at their own moments of the step (drawn uniformly:
    the task does not wait for the step's start), and one after another:
    one that reclaims starts at its moment, or after the direct reclaim of
    its earlier ones in the step has returned if that is later
    (:meth:`start`), and never waits for XFS AG locks it held itself.
    """

    free_at: float = 0.0  #: seconds into the step its last direct reclaim returned

    def start(self, moment: float) -> float:
        """When an allocation of the task at ``moment`` (seconds into the step) can begin."""
        return max(moment, self.free_at)

    def reclaim(self, sim: Sim, n: int, moment: float) -> float:
        """A GFP_KERNEL direct reclaim call on node ``n`` by the allocation at ``moment``; its seconds."""
        disk.issue_as(sim, "interactive")
        start = self.start(moment)
        seconds = direct_reclaim(sim, n, nofs=False, start=start)[1]
        self.free_at = start + seconds
        return seconds


@dataclass
class StepPlan:
    """One actor's step: per task, the time awake, the pages needed, what got done."""

    work: np.ndarray          # seconds each task is awake this step
    plans: list[FilesetPlan]
    need: np.ndarray          # pages each task allocates
    demand: np.ndarray        # pages each task must see above min (job tasks: at least one)
    done: np.ndarray          # seconds of work each task got memory for
    asleep: np.ndarray        # tasks asleep in direct reclaim past the step's end
    fs: np.ndarray            # of ``demand``, pages each task allocates with __GFP_FS
    gross: np.ndarray         # pages each task allocates this step, counting those an exit frees
    reclaiming: np.ndarray    # seconds of the step each task spends in direct reclaim
    #: Per task admitted (index), seconds into the step it first asked for memory (:func:`admit`).
    asked: dict[int, float] = field(default_factory=dict)

    def fs_share(self, i: int) -> float:
        """Share of task ``i``'s allocations this step that have ``__GFP_FS`` (0 to 1)."""
        d = float(self.demand[i])
        return min(float(self.fs[i]) / d, 1.0) if d > 0 else 0.0


def small_sum(a: np.ndarray) -> np.float64:
    """``a.sum()`` of a 1-d float array, the same float, cheaper for a few elements.

    numpy adds fewer than 8 elements one after the other from 0.0 (its pairwise
    summation splits only longer runs), as Python's ``sum`` does; longer arrays
    go to numpy. A task array (one float per task) is summed several times a step.
    """
    if a.ndim == 1 and len(a) < 8:
        return np.float64(sum(a.tolist()))
    return a.sum()


def read_service_s(costs, pages: int, files: int) -> float:
    """Disk time to read ``pages`` pages of ``files`` files: a seek each, then bandwidth."""
    return files * costs.disk_read_ms * 1e-3 + pages * PAGE_KIB / 1024 / costs.disk_mb_per_s


def make_actors(params) -> list[Actor]:
    """Group the file sets into actors: the job's tasks, the writers/readers of new files, the rest.

    The job (make -jN) is ``job_tasks`` tasks: each allocates, reclaims and
    blocks on its own.
    """
    actors = []
    job = tuple(k for k, f in enumerate(params.filesets) if f.job)
    if job or params.job_seconds:
        actor = Actor("job", job, params.job_tasks, job=True)
        # The processes of make -jN start staggered over one lifetime.
        if params.job_processes_per_s:
            actor.age = process_life_s(params) * np.arange(actor.tasks) / actor.tasks
        actors.append(actor)
    for k, f in enumerate(params.filesets):
        if not f.job and f.creates_per_s:
            actors.append(Actor(f"stream:{f.name}", (k,), writes=f.writes))
    rest = tuple(k for k, f in enumerate(params.filesets) if not f.job and not f.creates_per_s)
    if rest:
        actors.append(Actor("background", rest))
    return actors


def process_life_s(params) -> float:
    """Seconds of its task's work one job process lives (inf: the job starts none).

    Examples
    --------
    >>> from reclaimlab.sim.params import SimParams
    >>> process_life_s(SimParams(job_tasks=4, job_processes_per_s=20.0))
    0.2
    """
    if not params.job_processes_per_s:
        return float("inf")
    return params.job_tasks / params.job_processes_per_s


def process_pages(params, age: np.ndarray) -> np.ndarray:
    """Anonymous pages the current processes hold after ``age`` seconds of work."""
    life = process_life_s(params)
    if not params.job_process_pages or life == float("inf"):
        return np.zeros_like(age)
    return params.job_process_pages * np.mod(age, life) / life


def anon_need(params, age: np.ndarray, work: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(pages above what it holds a task's process needs at its peak this step, pages faulted).

    A process faults in its memory at an even rate; one that exits during
    the step has faulted everything it still lacked just before it frees
    it all, so that is the step's peak (what must fit above min).
    """
    life = process_life_s(params)
    P = params.job_process_pages
    if not P or life == float("inf"):
        return np.zeros_like(work), np.zeros_like(work)
    peak, faulted = _anon_need_values(params, age.tolist(), work.tolist())
    return np.array(peak, float).reshape(work.shape), np.array(faulted, float).reshape(work.shape)


def _anon_need_values(params, age: list[float], work: list[float]) -> tuple[list[float], list[float]]:
    """:func:`anon_need` on lists of Python floats, for a job that runs processes (the same floats).

    Per task in Python floats (a handful of tasks): the same IEEE operations
    as numpy's element-wise ones, without a dozen array calls a step.
    """
    life = process_life_s(params)
    P = params.job_process_pages
    peak, faulted = [], []
    for a, w in zip(age, work):
        lives0, lives1 = a / life, (a + w) / life
        whole0, whole1 = math.floor(lives0), math.floor(lives1)
        held = P * (lives0 - whole0)
        top = P - held if whole1 > whole0 else P * (lives1 - whole1) - held
        peak.append(top if w > 0 else 0.0)
        faulted.append(P * (lives1 - lives0))
    return peak, faulted


def job_anon_pages(sim: Sim, actors: list[Actor]) -> float:
    """Anonymous pages the job's processes hold now, over all nodes."""
    return float(sum(_process_pages_sum(sim.params, a.age) for a in actors if a.job))


def _process_pages_sum(params, age: np.ndarray) -> np.float64:
    """``small_sum(process_pages(params, age))``: the same float, on Python floats for a few tasks.

    Per task, Python's ``%`` is np.mod's float remainder (fmod, then the
    divisor's sign), and ``P * m / life`` the same two IEEE operations as on
    the arrays; small_sum adds fewer than 8 one after the other. Runs every step.
    """
    life = process_life_s(params)
    P = params.job_process_pages
    if age.ndim != 1 or len(age) >= 8 or not P or life == float("inf"):
        return small_sum(process_pages(params, age))
    return np.float64(sum([P * (a % life) / life for a in age.tolist()]))


def plan(sim: Sim, actor: Actor) -> StepPlan | None:
    """Pay the tasks' debts and draw what the awake ones do this step (None: all blocked)."""
    dt = sim.params.dt_s
    tasks = actor.tasks
    # A task asleep in direct reclaim past the last step's end is still in it (exposure).
    if np.count_nonzero(actor.in_reclaim):     # .any() of a few floats, cheaper
        reclaiming = np.minimum(actor.in_reclaim, dt)
        actor.in_reclaim -= reclaiming
    else:
        reclaiming = np.zeros(tasks)
    if actor.writes and sim.st.dirty_pages() >= sim.dirty_limit:
        # balance_dirty_pages(): the writer sleeps until writeback catches up (its debt waits too)
        sim.totals.blocked_by_cause[:, DIRTY_THROTTLE] += dt * tasks / sim.params.nodes
        return None
    if tasks < 8:
        return _plan_few(sim, actor, reclaiming)
    work = np.maximum(dt - actor.debt, 0.0)
    actor.debt = np.maximum(actor.debt - dt, 0.0)
    total = small_sum(work)
    if not total:
        if reclaiming.any():
            z = np.zeros(tasks)
            return StepPlan(work, [], z, z, z.copy(), np.zeros(tasks, bool), z, z, reclaiming)
        return None
    # Rates are the actor's total: the awake tasks do work.sum() / tasks of it.
    if len(actor.specs) != len(actor.filesets):
        actor.specs = tuple(draw_spec(sim.params, k) for k in actor.filesets)
    plans = plan_filesets(sim, actor.specs, total / tasks)
    share = work / total
    need = sum(p.pages for p in plans) * share
    fs = sum(p.fs_pages for p in plans) * share
    gross = need
    if actor.job:
        if sim.params.job_processes_per_s:
            peak, faulted = anon_need(sim.params, actor.age, work)
            need, fs, gross = need + peak, fs + peak, need + faulted
        else:
            # No anonymous memory modelled: job tasks still meet the watermark (a page each),
            # a page that stands for anonymous memory: __GFP_FS.
            demand = np.where(work > 0, np.maximum(need, 1.0), 0.0)
            return StepPlan(work, plans, need, demand, np.zeros(tasks), np.zeros(tasks, bool),
                            fs + (demand - need), gross, reclaiming)
    return StepPlan(work, plans, need, need, np.zeros(tasks), np.zeros(tasks, bool), fs, gross,
                    reclaiming)


def _plan_few(sim: Sim, actor: Actor, reclaiming: np.ndarray) -> StepPlan | None:
    """The rest of :func:`plan` for fewer than 8 tasks, per task in Python floats.

    The same IEEE operations as the array expressions of :func:`plan` (Python's
    ``max(x, 0.0)`` is ``np.maximum``'s value, NaN and -0.0 included; fewer than
    8 floats are summed one after the other by numpy too, :func:`small_sum`),
    without a dozen numpy calls on arrays of a few elements per actor and step.
    The plan's per-task arrays are made once, at the end.
    """
    dt = sim.params.dt_s
    tasks = actor.tasks
    debt = actor.debt.tolist()
    work = [max(dt - d, 0.0) for d in debt]
    actor.debt = np.array([max(d - dt, 0.0) for d in debt])
    total = np.float64(sum(work))          # small_sum(work)'s float
    if not total:
        if reclaiming.any():
            z = np.zeros(tasks)
            return StepPlan(np.array(work), [], z, z, z.copy(), np.zeros(tasks, bool), z, z, reclaiming)
        return None
    # Rates are the actor's total: the awake tasks do work.sum() / tasks of it.
    if len(actor.specs) != len(actor.filesets):
        actor.specs = tuple(draw_spec(sim.params, k) for k in actor.filesets)
    plans = plan_filesets(sim, actor.specs, total / tasks)
    share = [w / total for w in work]
    pages = sum(p.pages for p in plans)
    fs_pages = sum(p.fs_pages for p in plans)
    need = [pages * x for x in share]
    fs = [fs_pages * x for x in share]
    work_a = np.array(work)
    if actor.job:
        if sim.params.job_processes_per_s:
            if sim.params.job_process_pages:
                peak, faulted = _anon_need_values(sim.params, actor.age.tolist(), work)
            else:
                peak = faulted = [0.0] * tasks         # anon_need's zeros: no process memory
            need_a = np.array([a + b for a, b in zip(need, peak)])
            return StepPlan(work_a, plans, need_a, need_a, np.zeros(tasks), np.zeros(tasks, bool),
                            np.array([a + b for a, b in zip(fs, peak)]),
                            np.array([a + b for a, b in zip(need, faulted)]), reclaiming)
        # No anonymous memory modelled: job tasks still meet the watermark (a page each),
        # a page that stands for anonymous memory: __GFP_FS.
        need_a = np.array(need)
        demand = np.where(work_a > 0, np.maximum(need_a, 1.0), 0.0)
        return StepPlan(work_a, plans, need_a, demand, np.zeros(tasks), np.zeros(tasks, bool),
                        np.array(fs) + (demand - need_a), need_a, reclaiming)
    need_a = np.array(need)
    return StepPlan(work_a, plans, need_a, need_a, np.zeros(tasks), np.zeros(tasks, bool), np.array(fs), need_a,
                    reclaiming)


def gfp_fs(sim: Sim, fs_share: float) -> bool:
    """Whether the allocation a direct reclaim call is made for has ``__GFP_FS`` (a seeded draw).

    The call is made for the one allocation that found free memory at min;
    it is ``__GFP_FS`` with the share of the task's allocations that are
    (no draw when all or none are).
    """
    if fs_share >= 1.0:
        return True
    if fs_share <= 0.0:
        return False
    return bool(sim.rng.random() < fs_share)


def run_tasks(sim: Sim, actors: list[Actor], todo: list[StepPlan | None], interactive=()) -> None:
    """Every awake task gets memory for its planned step, then does the work.

    The tasks run concurrently: which one meets the watermark first is
    chance, so they take turns in a random order, each reserving what it got.
    The interactive task's allocations (``interactive``: a node each) take
    turns among them: one that comes before the others have reclaimed may
    find free memory below min and reclaim itself. When memory is plenty for
    all, every order gives the same for the tasks: no draw; an interactive
    allocation of a higher order is then judged at a random moment of the
    step (:mod:`reclaimlab.sim.alloc`). When memory is short, the
    allocations that arrive while another task is in direct reclaim find
    free memory at min and reclaim too (:func:`expose`).
    """
    nodes = sim.params.nodes
    tasks_asked = sum(small_sum(t.demand) for t in todo if t) / nodes
    gpu = InteractiveTask()
    # An interactive allocation holds its memory only briefly: counted as a page.
    # Free per node before any task's turn: the engine's from the kswapd check when still valid.
    free = sim.step_free
    sim.step_free = None
    if free is None:
        free = [sim.free(n) for n in range(nodes)]
    if all(free[n] - tasks_asked - len(interactive) / nodes >= sim.wmin for n in range(nodes)):
        for t in todo:
            if t:
                t.done[:] = t.work
        if sim.params.interactive_order:
            # A larger allocation may still reclaim (alloc.py). It comes at a random
            # moment of the step, when the tasks have taken a random share of their memory.
            for n in interactive:
                moment = sim.rng.random()
                sim.reserved = moment * tasks_asked
                if not interactive_allocation(sim, n, gpu, moment * sim.params.dt_s):
                    sim.latencies.append(0.0)
            sim.reserved = 0.0
        else:
            sim.latencies.extend([0.0] * len(interactive))    # plenty: none is at min
    else:
        turns = [(a, i) for a, t in enumerate(todo) if t for i in np.flatnonzero(t.work)]
        turns += [(None, n) for n in interactive]
        waiting = []          # interactive allocations that found free memory above min
        for j in sim.rng.permutation(len(turns)):
            a, i = turns[j]
            if a is None:
                if not interactive_allocation(sim, i, gpu, sim.rng.random() * sim.params.dt_s):
                    waiting.append(i)
            else:
                admit(sim, actors[a], todo[a], i)
        expose(sim, actors, todo, waiting, gpu)
        sim.reserved = 0.0
    for actor, t in zip(actors, todo):
        finish(sim, actor, t)


def exposure(r: np.ndarray) -> float:
    """Chance that a moment of the step falls in someone's direct reclaim.

    ``r`` is each reclaimer's share of the step in direct reclaim (0 to 1);
    the reclaimers' times are independent of one another.

    Examples
    --------
    >>> exposure(np.array([0.5, 0.5]))
    0.75
    >>> exposure(np.array([]))
    0.0
    """
    return float(1.0 - np.prod(1.0 - np.clip(r, 0.0, 1.0)))


def expose(sim: Sim, actors: list[Actor], todo: list[StepPlan | None], waiting: list[int],
           gpu: InteractiveTask | None = None) -> None:
    """Allocations that arrive while another task is in direct reclaim reclaim themselves.

    While a task reclaims because memory ran short, free memory sits at the
    min watermark: another allocation fails ALLOC_WMARK_MIN in
    get_page_from_freelist() and __alloc_pages_slowpath() sends it to
    __alloc_pages_direct_reclaim() too. ``waiting`` are the interactive
    allocations (a node each) that found free memory above min in their
    turn; each is exposed with the chance that its moment falls in a
    reclaimer's time (:func:`exposure`) and then makes one GFP_KERNEL pass.
    A task is exposed for that share of its step's allocations, less its
    own reclaim time (:func:`_reclaim_exposed`). ``gpu``: the interactive
    task's step so far (its passes come one after another, :class:`InteractiveTask`).
    """
    dt = sim.params.dt_s
    shares = [(a, i, t.reclaiming[i] / dt) for a, t in enumerate(todo) if t
              for i in np.flatnonzero(t.reclaiming)]
    if not shares:
        sim.latencies.extend([0.0] * len(waiting))
        return
    r = np.array([x for _, _, x in shares])
    everyone = exposure(r)
    gpu = gpu or InteractiveTask()
    for n in waiting:
        hit = sim.rng.random() < everyone
        if hit:
            seconds = gpu.reclaim(sim, n, sim.rng.random() * dt)
        sim.latencies.append(seconds if hit else 0.0)
    for a, t in enumerate(todo):
        if not t:
            continue
        for i in np.flatnonzero(t.done):
            others = exposure(np.array([x for b, j, x in shares if (b, j) != (a, i)]))
            if others > 0:
                _reclaim_exposed(sim, actors[a], t, int(i), others)


def _reclaim_exposed(sim: Sim, actor: Actor, todo: StepPlan, i: int, share: float) -> None:
    """Task ``i`` reclaims for the ``share`` of its step's allocations that found free at min.

    Each exposed allocation fails the watermark and makes a direct reclaim
    pass, which frees about 32 pages for the ones after it: the task calls
    until it has reclaimed its exposed pages, or has spent the exposed share
    of its step in reclaim (the others' reclaim is then over), or after 64
    calls. The time is owed by the task like any reclaim.
    """
    disk.issue_as(sim, actor.name, i)
    want = share * todo.gross[i]
    window = share * todo.work[i]
    got = spent = 0.0
    calls = 0
    # After the reclaim it made to get its memory (from when it asked, admit(), for its debt
    # now): these calls come after it, never beside its own earlier ones.
    begin = todo.asked[i] + float(actor.debt[i])
    while got < want and spent < window and calls < MAX_DIRECT_PER_STEP:
        n = calls % sim.params.nodes
        # One call after another: each starts when the last returned (reclaim.direct_reclaim).
        pages, seconds = direct_reclaim(sim, n, not gfp_fs(sim, todo.fs_share(i)), start=begin + spent)
        calls += 1
        got += pages
        spent += seconds
        if pages <= 0 and seconds <= 0:
            break
    actor.debt[i] += spent


def interactive_allocation(sim: Sim, n: int, gpu: InteractiveTask | None = None,
                           moment: float = 0.0) -> bool:
    """One GFP_KERNEL allocation on node ``n``; a direct reclaim pass when the allocator needs one.

    Which allocation reclaims (order 0: free at or below min; higher orders:
    no free block of the order) is :func:`reclaimlab.sim.alloc.enters_direct_reclaim`.
    One that reclaims has its latency recorded; one that does not is
    recorded by the caller (it may still find a reclaimer holding free
    memory at min, :func:`expose`). Returns whether it reclaimed. ``gpu``:
    the interactive task's step so far (:class:`InteractiveTask`);
    ``moment``: seconds into the step the allocation comes.
    """
    if alloc.enters_direct_reclaim(sim, n, sim.params.interactive_order):
        gpu = gpu or InteractiveTask()
        sim.latencies.append(gpu.reclaim(sim, n, moment))
        return True
    return False


def admit(sim: Sim, actor: Actor, todo: StepPlan, i: int) -> None:
    """Task ``i`` gets memory for its part of the step (direct reclaim if need be).

    A task whose direct reclaim blocks it past the end of the step is asleep
    in reclaim: it allocates nothing now, the pages it freed stay free for
    other tasks, and it checks the watermarks again when it wakes up (the
    retry in __alloc_pages_slowpath). Job tasks allocate all the time
    (compiler processes fault in memory and free it when they exit), so
    they meet the watermark even when their page-cache need is nil.
    """
    work = todo.work[i]
    dt = sim.params.dt_s
    disk.issue_as(sim, actor.name, i)
    # A task asleep in direct reclaim into this step retries its allocation as soon as it
    # wakes (__alloc_pages_slowpath() loops back to get_page_from_freelist()), after its
    # debt. Any other works on the memory it got last and needs more at a moment of its
    # own, drawn over its awake time: its IO waits (debt too) were spread over the last
    # step, and the step's start is no moment of the kernel's, where every such task would
    # meet the others and the XFS AG locks at once.
    awake_from = dt - float(work)
    asked = awake_from if todo.reclaiming[i] > 0 else awake_from + sim.rng.random() * float(work)
    todo.asked[i] = asked
    granted, spent = _get_memory(sim, todo.demand[i], work, todo.fs_share(i), start=asked)
    todo.reclaiming[i] = min(todo.reclaiming[i] + spent, sim.params.dt_s)
    if spent >= work:
        actor.debt[i] += spent - work
        actor.in_reclaim[i] += spent - work
        todo.asleep[i] = True
        return
    actor.debt[i] += spent
    todo.done[i] = work * granted
    sim.reserved += todo.need[i] * granted / sim.params.nodes


def finish(sim: Sim, actor: Actor, todo: StepPlan | None) -> None:
    """Do the work the admitted tasks got memory for; charge their IO."""
    if todo is None:
        return
    work, done = todo.work, todo.done
    # Python values first (a few tasks): the checks below on them cost less than numpy's.
    work_l, done_l = work.tolist(), done.tolist()
    few = len(work_l) < 8 and work.ndim == 1
    if any(done_l):                              # np.count_nonzero(done), NaN counting as nonzero
        disk.issue_as(sim, actor.name, "io")
        # small_sum's floats: fewer than 8 are added one after the other
        done_s = np.float64(sum(done_l)) if few else small_sum(done)
        granted = done_s / (np.float64(sum(work_l)) if few else small_sum(work))
        io = 0                                   # sum()'s start: the same float after the plans' io
        for p in todo.plans:
            io += _apply(sim, p, granted)
        actor.debt += io * done / done_s
    # Whether any awake task got less than its work: most steps none did, and the masks
    # below then cost more than the whole check.
    if any(w > 0 and not a and d < w for w, a, d in zip(work_l, todo.asleep.tolist(), done_l)):
        short = (work > 0) & ~todo.asleep & (done < work)
        lost = (work[short] - done[short]).sum()
        sim.totals.blocked_by_cause[:, MEMORY_WAIT] += lost / sim.params.nodes
    else:
        short = None
    if actor.job:
        actor.progress += done
        if sim.params.job_processes_per_s:
            actor.age += done            # processes exit and free their memory (process_pages)
    else:
        # What an awake task could not allocate it does again later.
        if short is not None:
            actor.debt[short] += work[short] - done[short]


def _get_memory(sim: Sim, need: float, awake: float, fs_share: float,
                start: float = 0.0) -> tuple[float, float]:
    """Direct reclaim until ``need`` pages fit above min, or the task has slept ``awake`` seconds.

    Each call has ``__GFP_FS`` with chance ``fs_share`` (:func:`gfp_fs`).
    ``start``: seconds into the step the task asks for memory (:func:`admit`).
    Returns (share of ``need`` granted, seconds spent in direct reclaim).
    """
    if need <= 0:
        return 1.0, 0.0
    nodes = sim.params.nodes
    calls = 0
    spent = 0.0
    while True:
        free = [sim.free(n) for n in range(nodes)]
        short = [n for n in range(nodes) if free[n] - need / nodes < sim.wmin]
        if not short or spent >= awake or calls >= MAX_DIRECT_PER_STEP:
            break
        # One call after another: each starts when the last returned (reclaim.direct_reclaim).
        pages, seconds = direct_reclaim(sim, short[0], not gfp_fs(sim, fs_share), start=start + spent)
        calls += 1
        spent += seconds
        if pages <= 0 and seconds <= 0:
            break
    room = sum(max(f - sim.wmin, 0.0) for f in free)
    return float(min(1.0, room / need)), spent


def _apply(sim: Sim, plan: FilesetPlan, granted: float) -> float:
    """Carry out ``granted`` of a plan; returns seconds of IO the task waited.

    Every step below that has a count of 0 to apply is skipped: it would draw
    nothing (a binomial or hypergeometric draw of 0 takes nothing from the
    stream), change no count and charge no IO. Most of a step's counts are 0
    (no file created this step on a node, every read a hit), so the skips are
    most of this function's speed, not a change of what it does.
    """
    st, costs, tot = sim.st, sim.costs, sim.totals
    k = plan.k
    fs = sim.params.filesets[k]
    ppf = fs.pages_per_file
    io = 0.0
    rng = sim.rng
    full = not granted < 1.0          # as the share was always tested (NaN: full)
    for n, creates, reads in plan.nodes:       # NodeDraw layout (plain tuples from the C draws)
        if creates:
            c = creates if full else int(thin(rng, creates, granted))
            if c:
                io += _create(sim, n, k, c)
        if reads is not None:
            dentry_hits, inode_hits, r_misses, page_hits, page_misses, r_recycled = reads   # ReadDraw
            # The cell as Python ints, changed in order and written back once (nothing
            # in between reads it): p_inact, p_ref, p_act, p_dirty, d_ref, d_unref, i_ref, i_unref, i_dirty.
            c = st.lists[:, n, ROOT, k].tolist()
            changed = False
            # Each count is thinned to the granted share just before it is used (the draws' order).
            if not full:
                dentry_hits = _scaled(rng, dentry_hits, granted)
            if dentry_hits:
                fresh = take_values(rng, [c[5], c[4]], dentry_hits)[0]
                c[5] -= fresh
                c[4] += fresh
                changed = True
            found = 0
            if not full:
                inode_hits = _scaled(rng, inode_hits, granted)
            if inode_hits:
                back = take_values(rng, [c[6], c[7]], inode_hits)
                c[6] -= back[0]
                c[7] -= back[1]
                found = back[0] + back[1]
                changed = True
            misses = r_misses if full else _scaled(rng, r_misses, granted)
            if misses:
                recycled = r_recycled
                if recycled and misses < r_misses:
                    recycled = int(thin(rng, recycled, misses / r_misses))
                # xfs_iget_cache_hit(): XFS_IRECLAIMABLE inodes come back without IO (as many as
                # XFS still holds now); the others are read, through their cluster buffer.
                recycled = xfs.recycle(sim, n, k, min(recycled, misses))
            # New dentries (an inode found again, or a miss), unused after the read: d_lru_add()
            # puts them at the dentry LRU's tail without DCACHE_REFERENCED; the next lookup sets it.
            if found + misses:
                c[5] += found + misses
                st.slab_order.add_dentries(n, ROOT, k, found + misses, st.order.now, referenced=False)
                changed = True
            if misses:
                tot.refaults[n, ROOT, DENTRY] += misses
                tot.refaults[n, ROOT, INODE] += misses
                tot.refaults[n, ROOT, XFS_INODE] += misses - recycled
                reads_io = xfs.lookup_cluster_reads(sim, n, misses - recycled)
                if reads_io:
                    wait = disk.charge(sim, reads_io * costs.disk_read_ms * 1e-3)
                    io += wait
                    if wait:
                        tot.blocked_by_cause[n, REFAULT_READ] += wait
            shadows = st.workingset.at(n, ROOT)
            hits = page_hits if full else _scaled(rng, page_hits, granted)
            a_ref = int(st.p_act_ref[n, ROOT, k])     # of c[2], the active pages with PG_referenced
            if hits:
                was_active = c[2]
                c[0], c[1], c[2], a_ref = accessed(rng, c[0:3] + [a_ref], hits * ppf)   # access_pages()
                if c[2] != was_active:
                    shadows.activated(c[2] - was_active)     # mark_page_accessed(): workingset_activation()
                changed = True
            refetch = page_misses if full else _scaled(rng, page_misses, granted)
            if refetch:
                # add_to_page_cache_lru(): a shadow within the active list's size activates
                # the page read back (workingset_refault()); the others enter the inactive head.
                missing = max(fs.working_set // sim.params.nodes, 1) * ppf - sum(c[0:4])   # as fileplan's W
                act = st.p_act[n, ROOT].tolist()       # Python ints: cheaper than numpy's sum and index
                active_file = sum(act) - act[k] + c[2]
                hot = shadows.refault(rng, k, refetch, ppf, missing, active_file)
                c[2] += hot * ppf
                a_ref += hot * ppf      # the read's own mark_page_accessed() on the active page
                c[1] += (refetch - hot) * ppf
                st.order.add(n, ROOT, k, (refetch - hot) * ppf)   # read back: at the head
                changed = True
            if changed:
                st.lists[:, n, ROOT, k] = c
                st.p_act_ref[n, ROOT, k] = a_ref
            if refetch:
                tot.page_refaults[n] += refetch * ppf
                wait = disk.charge(sim, read_service_s(costs, refetch * ppf, refetch))
                io += wait
                if wait:
                    tot.blocked_by_cause[n, REFAULT_READ] += wait
    return io


def _scaled(rng: np.random.Generator, count: int, granted: float) -> int:
    """``count`` thinned to the ``granted`` share (a draw only when there is something to thin)."""
    return int(thin(rng, count, granted)) if count else 0


def _create(sim: Sim, n: int, k: int, c: int) -> float:
    """``c`` new files of set ``k`` on node ``n`` (replacing as many old ones if the set does); the IO wait."""
    st, tot = sim.st, sim.totals
    fs = sim.params.filesets[k]
    pages = c * fs.pages_per_file
    io = 0.0
    if fs.replaces:
        wait = _unlink(sim, n, k, c)
        io += wait
        if wait:                     # adding 0.0 changes nothing: skip numpy's scalar update
            tot.blocked_by_cause[n, XFS_CLUSTER_READ] += wait
    # The created file's dentry, unused after the close: dput() -> retain_dentry() ->
    # d_lru_add(), at the dentry LRU's tail without DCACHE_REFERENCED (fs/dcache.c).
    st.d_unref[n, ROOT, k] += c
    st.slab_order.add_dentries(n, ROOT, k, c, st.order.now, referenced=False)
    st.order.add(n, ROOT, k, pages)         # new pages enter the inactive list's head
    if fs.writes:
        st.p_dirty[n, ROOT, k] += pages
        st.i_dirty[n, ROOT, k] += c
    else:
        st.p_ref[n, ROOT, k] += pages
        wait = disk.charge(sim, read_service_s(sim.costs, pages, c))
        io += wait
        tot.blocked_by_cause[n, FILE_READ] += wait
    return io


def _cell(st, first: int, last: int, n: int, m: int, k: int) -> list[int]:
    """Counts ``state.LISTS[first:last]`` of one (node, memcg, file set) cell, as Python ints.

    One slice of the state's block: faster than a numpy read per count, and
    what the scalar draws (:func:`~.draw.take_values`) take.
    """
    return st.lists[first:last, n, m, k].tolist()


def _unlink(sim: Sim, n: int, k: int, files: int) -> float:
    """Unlink ``files`` old files of set ``k``: page cache, shadows, dentry and inode go at once.

    Returns the seconds the task waits to read inode cluster buffers the
    buffer cache no longer holds (xfs_iunlink puts the inode on the AGI's
    unlinked list through its on-disk copy): one cluster read, shared by
    the inodes of a cluster unlinked together as flushes share a write, so
    ``inode_flush_ms`` per inode, queued on the disk (:mod:`reclaimlab.sim.disk`).
    """
    st = sim.st
    c = st.lists[:, n, ROOT, k].tolist()
    page_counts = c[0:4]       # p_inact, p_ref, p_act, p_dirty
    object_counts = c[4:8]     # d_ref, d_unref, i_ref, i_unref
    pages = sum(page_counts)
    have = sum(object_counts)
    files = min(files, have)
    if files == 0:
        return 0.0
    d = take_values(sim.rng, object_counts, files)
    gone = take_values(sim.rng, page_counts, pages * files // have)
    dirty = min(c[8], files)
    st.lists[:, n, ROOT, k] = [x - y for x, y in zip(c, gone + d + [dirty])]
    if gone[2]:                 # the active pages gone: those with PG_referenced among them
        a_ref = int(st.p_act_ref[n, ROOT, k])
        st.p_act_ref[n, ROOT, k] -= take_values(sim.rng, [a_ref, c[2] - a_ref], gone[2])[0]
    if gone[3]:                 # the dirty pages gone: those reclaim activated among them
        d_act = int(st.p_dirty_act[n, ROOT, k])
        st.p_dirty_act[n, ROOT, k] -= take_values(sim.rng, [d_act, c[3] - d_act], gone[3])[0]
    # The unlinked inodes are evicted: truncate_inode_pages_final() drops their shadows
    # (workingset.Shadows.forget), on average the set's shadows per cached inode.
    shadows = st.workingset.lruvecs.get((n, ROOT))
    if shadows is not None:
        shadows.forget(k, files, have)
    if not sim.xfs_fs:
        return 0.0                  # ext4: the unlink and the inode's freeing go to the journal
    st.x_dirty[n] += files          # xfs_inactive(): a transaction dirties the inode
    st.x_pinned[n] += files         # and pins it until the log is forced
    return disk.charge(sim, xfs.use_clusters(sim, n, files) * xfs.inode_service_s(sim))


def touch_slab_caches(sim: Sim) -> None:
    """Workloads reference their slab objects and recreate those reclaimed (refaults)."""
    st, dt = sim.st, sim.params.dt_s
    for g, cache in enumerate(sim.params.caches):
        if cache.inode_clusters:
            continue    # used, and read back, only by unlinks and flushes (xfs.py)
        p = 1.0 - np.exp(-cache.reads_per_s * dt)
        users = sim.cache_users(g)
        if not len(users):
            continue
        unref = st.g_unref[:, users, g]
        hit = thin(sim.rng, unref, p)
        st.g_unref[:, users, g] -= hit
        st.g_ref[:, users, g] += hit
        want = max(cache.objects // sim.params.nodes, 1) if cache.objects else 0
        missing = np.maximum(want - st.generic()[:, users, g], 0)
        back = thin(sim.rng, missing, p)
        st.g_unref[:, users, g] += back
        sim.totals.refaults[:, users, sim.layout.generic_cache_index + g] += back


def age_dirty(sim: Sim) -> None:
    """Writeback: dirty pages at the disk bandwidth left to it, cached dirty inodes after dirty_expire."""
    st, costs, dt = sim.st, sim.costs, sim.params.dt_s
    disk.next_step(sim)
    # The flushers get the disk time the last step's reads and inode IO left.
    bandwidth_pages = int(costs.disk_mb_per_s * 1024 / PAGE_KIB * dt * disk.writeback_share(sim))
    cleaned = writeback(st, bandwidth_pages, sim.rng)
    disk.settle(sim, cleaned * PAGE_KIB / 1024 / costs.disk_mb_per_s)
    # A cached file's dirty inode is written about dirty_expire after it was
    # dirtied (in XFS: a log worker push, then xfsaild; written here directly,
    # at the disk's cost); evicted dirty ones wait in XFS (xfs.py).
    # Only the cells with dirty inodes: a flat view of i_dirty (a contiguous block of the state).
    flat = st.i_dirty.reshape(-1)
    where, written = thin_nonzero(sim.rng, flat, min(dt / costs.dirty_expire_s, 1.0))
    if not written:
        return
    flat[where] -= written
    cells = flat.size // sim.params.nodes        # (memcg, file set) cells of a node
    per_node = [0] * sim.params.nodes
    for i, w in zip(where.tolist(), written):
        per_node[i // cells] += w
    for n, inodes in enumerate(per_node):
        if inodes:
            xfs.write_inodes(sim, n, inodes)
