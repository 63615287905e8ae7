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

Working-set reads (mean field over the set's files):

* a read finds the file's dentry (sets DCACHE_REFERENCED), or its inode on
  the LRU (a new dentry pins it again), or neither: a **refault** costing one
  random disk read, which recreates the inode and dentry;
* the file's pages are there (mark_page_accessed: the second reference
  activates) or are read back from disk (a page-cache refault, one seek plus
  the file's size at disk bandwidth).

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

import numpy as np

from . import alloc, disk, xfs
from .draw import poisson, take, thin
from .lru import access_pages
from .params import PAGE_KIB
from .reclaim import direct_reclaim
from .slab import DENTRY, INODE
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
    nofs: bool = False
    job: bool = False
    writes: bool = False
    debt: np.ndarray = field(init=False)
    progress: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.debt = np.zeros(self.tasks)
        self.progress = np.zeros(self.tasks)


@dataclass
class ReadDraw:
    """A file set's working-set reads on one node this step, drawn before memory is granted."""

    dentry_hits: int
    inode_hits: int
    misses: int
    page_hits: int
    page_misses: int


@dataclass
class NodeDraw:
    """What a file set does on one node this step: new files, working-set reads."""

    n: int
    creates: int | None = None
    reads: ReadDraw | None = None


@dataclass
class FilesetPlan:
    """File set ``k``'s draws per node, and the pages they need."""

    k: int
    pages: float = 0.0
    nodes: list[NodeDraw] = field(default_factory=list)


@dataclass
class StepPlan:
    """One actor's step: per task, the time awake, the pages needed, what got done."""

    work: np.ndarray          # seconds each task is awake this step
    plans: list[FilesetPlan]
    need: np.ndarray          # pages each task allocates
    demand: np.ndarray        # pages each task must see above min (job tasks: at least one)
    done: np.ndarray          # seconds of work each task got memory for
    asleep: np.ndarray        # tasks asleep in direct reclaim past the step's end


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
        actors.append(Actor("job", job, params.job_tasks, job=True))
    for k, f in enumerate(params.filesets):
        if not f.job and f.creates_per_s:
            actors.append(Actor(f"stream:{f.name}", (k,), nofs=f.nofs, writes=f.writes))
    rest = tuple(k for k, f in enumerate(params.filesets) if not f.job and not f.creates_per_s)
    if rest:
        actors.append(Actor("background", rest))
    return actors


def plan(sim: Sim, actor: Actor) -> StepPlan | None:
    """Pay the tasks' debts and draw what the awake ones do this step (None: all blocked)."""
    dt = sim.params.dt_s
    if actor.writes and sim.st.p_dirty.sum() >= sim.dirty_limit:
        # balance_dirty_pages(): the writer sleeps until writeback catches up (its debt waits too)
        sim.totals.blocked_by_cause[:, DIRTY_THROTTLE] += dt * actor.tasks / sim.params.nodes
        return None
    work = np.maximum(dt - actor.debt, 0.0)
    actor.debt = np.maximum(actor.debt - dt, 0.0)
    if not work.any():
        return None
    # Rates are the actor's total: the awake tasks do work.sum() / tasks of it.
    plans = [_plan(sim, k, work.sum() / actor.tasks) for k in actor.filesets]
    need = sum(p.pages for p in plans) * work / work.sum()
    # Job tasks meet the watermark even with no page cache to allocate (see admit()).
    demand = np.where(work > 0, np.maximum(need, 1.0), 0.0) if actor.job else need
    return StepPlan(work, plans, need, demand, np.zeros(actor.tasks), np.zeros(actor.tasks, bool))


def run_tasks(sim: Sim, actors: list[Actor], todo: list[StepPlan | None], interactive=()) -> None:
    """Every awake task gets memory for its planned step, then does the work.

    The tasks run concurrently: which one meets the watermark first is
    chance, so they take turns in a random order, each reserving what it got.
    The interactive task's allocations (``interactive``: a node each) take
    turns among them: one that comes before the others have reclaimed may
    find free memory below min and reclaim itself. When memory is plenty for
    all, every order gives the same for the tasks: no draw; an interactive
    allocation of a higher order is then judged at a random moment of the
    step (:mod:`reclaimlab.sim.alloc`).
    """
    nodes = sim.params.nodes
    tasks_asked = sum(t.demand.sum() for t in todo if t) / nodes
    # An interactive allocation holds its memory only briefly: counted as a page.
    if all(sim.free(n) - tasks_asked - len(interactive) / nodes >= sim.wmin for n in range(nodes)):
        for t in todo:
            if t:
                t.done[:] = t.work
        if sim.params.interactive_order:
            # A larger allocation may still reclaim (alloc.py). It comes at a random
            # moment of the step, when the tasks have taken a random share of their memory.
            for n in interactive:
                sim.reserved = sim.rng.random() * tasks_asked
                interactive_allocation(sim, n)
            sim.reserved = 0.0
        else:
            sim.latencies.extend([0.0] * len(interactive))    # plenty: none is at min
    else:
        turns = [(a, i) for a, t in enumerate(todo) if t for i in np.flatnonzero(t.work)]
        turns += [(None, n) for n in interactive]
        for j in sim.rng.permutation(len(turns)):
            a, i = turns[j]
            if a is None:
                interactive_allocation(sim, i)
            else:
                admit(sim, actors[a], todo[a], i)
        sim.reserved = 0.0
    for actor, t in zip(actors, todo):
        finish(sim, actor, t)


def interactive_allocation(sim: Sim, n: int) -> None:
    """One GFP_KERNEL allocation on node ``n``; a direct reclaim pass when the allocator needs one.

    Which allocation reclaims (order 0: free at or below min; higher orders:
    no free block of the order) is :func:`reclaimlab.sim.alloc.enters_direct_reclaim`.
    """
    reclaims = alloc.enters_direct_reclaim(sim, n, sim.params.interactive_order)
    disk.issue_as(sim, "interactive")
    sim.latencies.append(direct_reclaim(sim, n, nofs=False)[1] if reclaims else 0.0)


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
    disk.issue_as(sim, actor.name, i)
    granted, spent = _get_memory(sim, actor, todo.demand[i], work)
    if spent >= work:
        actor.debt[i] += spent - work
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
    if done.any():
        disk.issue_as(sim, actor.name, "io")
        io = sum(_apply(sim, p, done.sum() / work.sum()) for p in todo.plans)
        actor.debt += io * done / done.sum()
    short = (work > 0) & ~todo.asleep & (done < work)
    if short.any():
        lost = (work[short] - done[short]).sum()
        sim.totals.blocked_by_cause[:, MEMORY_WAIT] += lost / sim.params.nodes
    if actor.job:
        actor.progress += done
    else:
        # What an awake task could not allocate it does again later.
        actor.debt[short] += work[short] - done[short]


def _get_memory(sim: Sim, actor: Actor, need: float, awake: float) -> tuple[float, float]:
    """Direct reclaim until ``need`` pages fit above min, or the task has slept ``awake`` seconds.

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
        pages, seconds = direct_reclaim(sim, short[0], actor.nofs)
        calls += 1
        spent += seconds
        if pages <= 0 and seconds <= 0:
            break
    room = sum(max(f - sim.wmin, 0.0) for f in free)
    return float(min(1.0, room / need)), spent


def _plan(sim: Sim, k: int, seconds: float) -> FilesetPlan:
    """Draw what file set ``k`` does in ``seconds`` of its task's time, per node."""
    fs = sim.params.filesets[k]
    N = sim.params.nodes
    st = sim.st
    plan = FilesetPlan(k)
    for n in range(N):
        node = NodeDraw(n)
        if fs.creates_per_s:
            node.creates = int(poisson(sim.rng, fs.creates_per_s * seconds / N))
            plan.pages += node.creates * (fs.pages_per_file + 1 / sim.params.dentry_objects_per_page
                                          + 1 / sim.params.inode_objects_per_page)
        if fs.working_set:
            W = max(fs.working_set // N, 1)
            reads = int(poisson(sim.rng, W * fs.reads_per_s * seconds))
            D = int(st.dentries()[n, ROOT, k])
            U = int(st.unpinned_inodes()[n, ROOT, k])
            pd, pu = min(D / W, 1.0), min(U / W, 1.0 - min(D / W, 1.0))
            dentry_hits, inode_hits, misses = (
                int(x) for x in sim.rng.multinomial(reads, [pd, pu, max(1.0 - pd - pu, 0.0)]))
            with_pages = min(-(-int(st.pages()[n, ROOT, k]) // fs.pages_per_file), W)
            page_hits = int(sim.rng.binomial(reads, with_pages / W))
            node.reads = ReadDraw(dentry_hits, inode_hits, misses, page_hits, reads - page_hits)
            plan.pages += node.reads.page_misses * fs.pages_per_file + misses * (
                1 / sim.params.dentry_objects_per_page + 1 / sim.params.inode_objects_per_page)
        plan.nodes.append(node)
    return plan


def _apply(sim: Sim, plan: FilesetPlan, granted: float) -> float:
    """Carry out ``granted`` of a plan; returns seconds of IO the task waited."""
    st, costs, tot = sim.st, sim.costs, sim.totals
    k = plan.k
    fs = sim.params.filesets[k]
    io = 0.0
    for node in plan.nodes:
        n = node.n
        scale = (lambda x: int(thin(sim.rng, x, granted))) if granted < 1.0 else int
        if node.creates is not None:
            c = scale(node.creates)
            pages = c * fs.pages_per_file
            if fs.replaces:
                wait = _unlink(sim, n, k, c)
                io += wait
                tot.blocked_by_cause[n, XFS_CLUSTER_READ] += wait
            st.d_ref[n, ROOT, k] += c
            if fs.writes:
                st.p_dirty[n, ROOT, k] += pages
                st.i_dirty[n, ROOT, k] += c
            else:
                st.p_ref[n, ROOT, k] += pages
                wait = disk.charge(sim, read_service_s(costs, pages, c))
                io += wait
                tot.blocked_by_cause[n, FILE_READ] += wait
        if node.reads is not None:
            r = node.reads
            hits = scale(r.dentry_hits)
            fresh = take(sim.rng, np.array([st.d_unref[n, ROOT, k], st.d_ref[n, ROOT, k]]), hits)[0]
            st.d_unref[n, ROOT, k] -= fresh
            st.d_ref[n, ROOT, k] += fresh
            back = take(sim.rng, np.array([st.i_ref[n, ROOT, k], st.i_unref[n, ROOT, k]]),
                        scale(r.inode_hits))
            st.i_ref[n, ROOT, k] -= back[0]
            st.i_unref[n, ROOT, k] -= back[1]
            misses = scale(r.misses)
            st.d_ref[n, ROOT, k] += int(back.sum()) + misses
            tot.refaults[n, ROOT, DENTRY] += misses
            tot.refaults[n, ROOT, INODE] += misses
            wait = disk.charge(sim, misses * costs.disk_read_ms * 1e-3)
            io += wait
            tot.blocked_by_cause[n, REFAULT_READ] += wait
            access_pages(st, sim.rng, n, ROOT, k, scale(r.page_hits) * fs.pages_per_file)
            refetch = scale(r.page_misses)
            st.p_ref[n, ROOT, k] += refetch * fs.pages_per_file
            tot.page_refaults[n] += refetch * fs.pages_per_file
            wait = disk.charge(sim, read_service_s(costs, refetch * fs.pages_per_file, refetch))
            io += wait
            tot.blocked_by_cause[n, REFAULT_READ] += wait
    return io


def _unlink(sim: Sim, n: int, k: int, files: int) -> float:
    """Unlink ``files`` old files of set ``k``: page cache, dentry and inode go at once.

    Returns the seconds the task waits to read inode cluster buffers the
    buffer cache no longer holds (xfs_iunlink puts the inode on the AGI's
    unlinked list through its on-disk copy): one cluster read, shared by
    the inodes of a cluster unlinked together as flushes share a write, so
    ``inode_flush_ms`` per inode, queued on the disk (:mod:`reclaimlab.sim.disk`).
    """
    st = sim.st
    pages = st.pages()[n, ROOT, k]
    have = int(st.inodes()[n, ROOT, k])
    files = min(files, have)
    if files == 0:
        return 0.0
    d = take(sim.rng, np.array([st.d_ref[n, ROOT, k], st.d_unref[n, ROOT, k],
                                st.i_ref[n, ROOT, k], st.i_unref[n, ROOT, k]]), files)
    st.d_ref[n, ROOT, k] -= d[0]
    st.d_unref[n, ROOT, k] -= d[1]
    st.i_ref[n, ROOT, k] -= d[2]
    st.i_unref[n, ROOT, k] -= d[3]
    gone = take(sim.rng, np.array([st.p_inact[n, ROOT, k], st.p_ref[n, ROOT, k], st.p_act[n, ROOT, k],
                                   st.p_dirty[n, ROOT, k]]), int(pages * files // have))
    st.p_inact[n, ROOT, k] -= gone[0]
    st.p_ref[n, ROOT, k] -= gone[1]
    st.p_act[n, ROOT, k] -= gone[2]
    st.p_dirty[n, ROOT, k] -= gone[3]
    dirty = min(int(st.i_dirty[n, ROOT, k]), files)
    st.i_dirty[n, ROOT, k] -= dirty
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
    from .lru import writeback

    st, costs, dt = sim.st, sim.costs, sim.params.dt_s
    disk.next_step(sim)
    # The flushers get the disk time the last step's reads and inode IO left.
    bandwidth_pages = int(costs.disk_mb_per_s * 1024 / PAGE_KIB * dt * disk.writeback_share(sim))
    cleaned = writeback(st, bandwidth_pages, sim.rng)
    disk.settle(sim, cleaned * PAGE_KIB / 1024 / costs.disk_mb_per_s)
    # A cached file's dirty inode is written about dirty_expire after it was
    # dirtied (in XFS: a log worker push, then xfsaild; written here directly,
    # at the disk's cost); evicted dirty ones wait in XFS (xfs.py).
    written = thin(sim.rng, st.i_dirty, min(dt / costs.dirty_expire_s, 1.0))
    st.i_dirty -= written
    for n, inodes in enumerate(written.sum(axis=(1, 2))):
        if inodes:
            xfs.write_inodes(sim, n, int(inodes))
