"""The time-stepped engine: one run of a scenario under one formula.

Each step of ``dt_s`` seconds: writeback and dirty aging, xfsaild and XFS
background reclaim, memcg restarts, the workload's tasks (each doing direct reclaim when
it must, and when another's reclaim holds free memory at min), the interactive
task's allocations, then each node's kswapd with one step of CPU time. The job's
processes hold anonymous memory that they free when they exit. The hot loop works on plain numpy arrays
(:mod:`reclaimlab.sim.state`); the Dataset is built once at the end.
"""
from __future__ import annotations


import numpy as np
import xarray as xr

from ..kernel import formulas
from ..kernel.releases import Rules
from ..kernel.spec import DEFER_5_13
from . import disk, memcgs, xfs
from .draw import poisson
from .layout import Layout
from .lrulist import SegmentList
from .params import Costs, SimParams
from .reclaim import kswapd
from .recorder import Recorder, dataset
from .scancall import ShrinkerScan
from .state import CAUSES, ONLINE, PARENT, ROOT, State, StepTotals, block_sums
from .watermarks import watermarks
from .workload import age_dirty, job_anon_pages, make_actors, plan, run_tasks, small_sum, touch_slab_caches

MAX_INTERACTIVE_PER_STEP = 64


class Sim:
    """What one run shares: parameters, rules, layout, state, the generator and the clocks.

    Each mechanism's own state lives in an object of the module that changes
    it: :class:`~.disk.DiskState`, :class:`~.xfs.XfsState`,
    :class:`~.memcgs.MemcgClock`; the arrays in :class:`~.state.State`.
    """

    def __init__(self, params: SimParams, rules: Rules, seed: int) -> None:
        params.validate()
        self.params: SimParams = params
        self.costs: Costs = params.costs
        self.rules: Rules = rules
        self.per_memcg_deferred: bool = formulas.spec(rules.formula).deferral == DEFER_5_13
        self.layout: Layout = Layout.from_params(params)
        # do_shrink_slab()'s arithmetic for shrink_slab(), on buffers made once (scancall.py)
        self.scanner = ShrinkerScan(rules.formula, self.layout.seeks, self.layout.batch, self.layout.fs_shrinker,
                                    self.layout.numa_aware)
        self.rng: np.random.Generator = np.random.default_rng(seed)
        lay = self.layout
        self.st = State(params.nodes, lay.memcg_slots, len(params.filesets), lay.n_generic, lay.n_shrinkers)
        self.totals = StepTotals((params.nodes, lay.memcg_slots, len(lay.cache_names)))
        self.wmin, self.low, self.high = watermarks(params.node_pages, params.nodes,
                                                    params.min_free_kbytes, params.watermark_scale_factor)
        self.dirty_limit: float = 0.2 * params.nodes * (params.node_pages - params.anon_pages)
        self.disk = disk.DiskState()
        self.xfs = xfs.XfsState(params.xfs_ags)
        #: The filesystem is XFS (``SimParams.filesystem``): its inode reclaim and unlink rules apply.
        self.xfs_fs = params.filesystem == "xfs"
        self.memcg_clock = memcgs.MemcgClock(lay.memcg_slots)
        self.latencies: list[float] = []   # interactive allocations, seconds each
        self.pending = 0.0                 # pages the tasks will allocate this step, per node
        self.reserved = 0.0                # pages tasks got this step and have yet to fill, per node
        self.job_anon = 0.0                # anonymous pages the job's processes hold, all nodes
        # Free pages per node as the kswapd check saw them, when nothing changed before the
        # tasks' turn (no kswapd ran): run_tasks takes them instead of recomputing (None: stale).
        self.step_free: list[float] | None = None
        self.now = 0.0                     # start of the current step, seconds
        self.clock = 0.0                   # the current reclaimer's time (now + its waits so far)
        # The current reclaim call's time by cause (state.CAUSES), reset when kswapd or a
        # direct reclaim call starts; the mechanisms add each second they charge to one cause.
        self.waits: list[float] = [0.0] * len(CAUSES)
        # The services' parent cgroup keeps its lists in order (lrulist.py).
        self.parent_lists = ([[SegmentList() for _ in params.caches] for _ in range(params.nodes)]
                             if params.services else None)

    # Memory --------------------------------------------------------------
    def slab_pages(self, n: int, totals: list[int] | None = None) -> float:
        """Slab pages on node ``n``: dentries, VFS and XFS inodes, the other caches.

        ``totals``: the node's :meth:`~.state.State.node_totals` when the caller has them.
        """
        st, p = self.st, self.params
        t = st.node_totals(n) if totals is None else totals
        dentries = t[4] + t[5]
        # Every dentry pins an inode: inodes = dentries + unpinned + XFS-only.
        inodes = dentries + t[6] + t[7] + int(st.x_clean[n]) + int(st.x_dirty[n])
        pages = dentries / p.dentry_objects_per_page + inodes / p.inode_objects_per_page
        if self.layout.n_generic == 1:
            # One cache (compile-and-copy's xfs_buf): the sum of its one term, as a scalar.
            held = (sum(block_sums(st.generic_lists, n, 3)) if block_sums is not None
                    else int(np.add.reduce(st.generic_lists[:, n], axis=None)))     # every class, as ints
            pages += held / self.layout.generic_objects_per_page[0]
        elif self.layout.n_generic:
            # Objects per cache (every class and memcg), then pages per cache.
            pages += (st.generic_lists[:, n].sum(axis=(0, 1)) / self.layout.generic_objects_per_page).sum()
        return float(pages)

    def free(self, n: int) -> float:
        """Free pages on node ``n`` (less what tasks got this step and have yet to fill)."""
        t = self.st.node_totals(n)
        cache = t[0] + t[1] + t[2] + t[3]
        # The job's processes run on every node: their memory is spread evenly.
        used = (self.params.anon_pages + self.job_anon / self.params.nodes + cache + self.slab_pages(n, t)
                + self.reserved)
        return float(self.params.node_pages - used)

    def cache_users(self, g: int) -> np.ndarray:
        """Memcg slots whose tasks use slab cache ``g``."""
        if self.layout.service_caches[g]:
            online = np.flatnonzero(self.st.memcg_state == ONLINE)
            return online[online > PARENT]
        return np.array([ROOT])


def _populate(sim: Sim) -> None:
    """Start warm: working sets cached, as far as memory allows."""
    st, p = sim.st, sim.params
    for k, fs in enumerate(p.filesets):
        if fs.working_set:
            per_node = fs.working_set // p.nodes
            st.d_unref[:, ROOT, k] = per_node
            st.p_act[:, ROOT, k] = per_node * fs.pages_per_file // 2
            st.p_ref[:, ROOT, k] = per_node * fs.pages_per_file - st.p_act[:, ROOT, k]
            # A working set read all along: its active pages were referenced since their
            # activation (PG_referenced), as its inactive ones are.
            st.p_act_ref[:, ROOT, k] = st.p_act[:, ROOT, k]
    for g, c in enumerate(p.caches):
        if c.memcg == "root":
            st.g_unref[:, ROOT, g] = c.objects // p.nodes
    # The machine has been up a while: memory above the high watermark is page
    # cache of files the streams used earlier (clean, inactive, their dentries
    # and inodes unused), so reclaim starts as soon as the streams allocate.
    streams = [k for k, fs in enumerate(p.filesets) if fs.creates_per_s]
    for n in range(p.nodes):
        room = sim.free(n) - 2 * sim.high
        for k in streams:
            ppf = p.filesets[k].pages_per_file
            files = int(room / len(streams) / (ppf + 1 / p.dentry_objects_per_page
                                                + 1 / p.inode_objects_per_page))
            if files > 0:
                st.p_inact[n, ROOT, k] += files * ppf
                st.d_unref[n, ROOT, k] += files
    # A shadow older than the node's pages can activate nothing (the active list is smaller).
    st.workingset.horizon = p.node_pages
    # The inactive pages of the warm start, each file set spread evenly along the list
    # (its order is not known; lruorder.INITIAL_COHORTS).
    for n in range(p.nodes):
        for m in range(st.memcgs):
            inactive = (st.p_inact[n, m] + st.p_ref[n, m] + st.p_dirty[n, m] - st.p_dirty_act[n, m]).tolist()
            if any(inactive):
                st.order.at(n, m).spread(inactive)
    for n in range(p.nodes):
        if sim.free(n) < sim.high:
            raise ValueError(
                f"the warm working sets do not fit node {n}: free would be {sim.free(n):.0f} "
                f"pages, below the high watermark {sim.high}; allowed: working sets and "
                f"anon_pages that fit node_pages={p.node_pages}"
            )


def run(params: SimParams, rules: Rules, *, seed: int, attrs: dict) -> xr.Dataset:
    """Simulate ``params`` under ``rules``; return the state over time as a Dataset."""
    sim = Sim(params, rules, seed)
    actors = make_actors(params)
    sim.job_anon = job_anon_pages(sim, actors)     # the compilers running at the start
    _populate(sim)
    dt = params.dt_s
    steps = int(round(params.duration_s / dt))
    every = max(int(round(params.record_s / dt)), 1)
    memcgs.start(sim, 0.0)
    # The warm start's dentries and inodes, spread along their LRUs (slaborder.py).
    sim.st.slab_order.warm_start(sim.st)
    job = next((a for a in actors if a.job), None)
    total_work = params.job_seconds * params.job_tasks
    kswapd_debt = np.zeros(params.nodes)
    rec = Recorder(sim)
    done_at = None
    for step in range(steps):
        t = step * dt
        sim.now = t
        sim.st.order.now = t          # pages entering an inactive list now join this step's cohort
        age_dirty(sim)
        xfs.step(sim)
        memcgs.step(sim, t)
        touch_slab_caches(sim)
        todo = [plan(sim, actor) for actor in actors]
        # kswapd runs alongside the tasks: it sees this step's allocations coming.
        sim.pending = sum(small_sum(t.need) for t in todo if t) / params.nodes
        if params.kswapd:
            free, woke = [], False
            for n in range(params.nodes):
                free.append(sim.free(n))      # after any kswapd run on the nodes before
                if free[n] - sim.pending >= sim.low and sim.st.kswapd_priority[n] < 0:
                    # Not needed this step; time it is still blocked (in XFS) passes all the same.
                    kswapd_debt[n] = max(kswapd_debt[n] - dt, 0.0)
                    continue
                woke = True
                if kswapd_debt[n] >= dt:
                    kswapd_debt[n] -= dt
                    continue
                budget = dt - kswapd_debt[n]
                disk.issue_as(sim, "kswapd", n)
                kswapd_debt[n] = max(kswapd(sim, n, budget, start=dt - budget) - budget, 0.0)
        sim.pending = 0.0
        # kswapd changed nothing if it never woke (its debt alone): the tasks see the same free.
        sim.step_free = free if params.kswapd and not woke else None
        run_tasks(sim, actors, todo, interactive_allocations(sim))
        sim.job_anon = job_anon_pages(sim, actors)
        progress = small_sum(job.progress) if job else 0.0
        fraction = min(progress / total_work, 1.0) if job and total_work else 0.0
        if done_at is None and job and total_work and progress >= total_work:
            done_at = t + dt
        if (step + 1) % every == 0:
            rec.add(t + dt, fraction)
    return dataset(sim, rec, job, total_work, done_at, steps * dt, attrs)


def interactive_allocations(sim: Sim) -> list[int]:
    """This step's GFP_KERNEL allocations of the interactive task: a node each."""
    rate = sim.params.interactive_allocs_per_s
    if not rate:
        return []
    count = min(int(poisson(sim.rng, rate * sim.params.dt_s)), MAX_INTERACTIVE_PER_STEP)
    return [int(n) for n in sim.rng.integers(sim.params.nodes, size=count)]


