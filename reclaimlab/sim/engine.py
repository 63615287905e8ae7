"""The time-stepped engine: one run of a scenario under one formula.

Each step of ``dt_s`` seconds: writeback and dirty aging, xfsaild and XFS
background reclaim, memcg restarts, the workload's tasks (each doing direct reclaim when
it must), the interactive task's allocations, then each node's kswapd with one
step of CPU time. The hot loop works on plain numpy arrays
(:mod:`reclaimlab.sim.state`); the Dataset is built once at the end.
"""
from __future__ import annotations

import json

import numpy as np
import xarray as xr

from .._version import __version__
from ..kernel import formulas
from ..kernel.spec import DEFER_5_13
from ..model import preset
from . import memcgs, xfs
from .draw import poisson
from .lrulist import SegmentList
from .params import SimParams
from .reclaim import kswapd
from .state import DYING, ONLINE, PARENT, ROOT, State, StepTotals
from .watermarks import watermarks
from .workload import age_dirty, make_actors, plan, run_tasks, touch_slab_caches

MAX_INTERACTIVE_PER_STEP = 64


class Sim:
    """Everything one run shares: parameters, rules, state, generator, totals."""

    def __init__(self, params: SimParams, formula: str, seed: int, inode_rule: str,
                 xfs_reclaim: str, memcg_remedy: str) -> None:
        params.validate()
        self.params, self.costs = params, params.costs
        self.formula = formula
        self.inode_rule, self.xfs_reclaim, self.memcg_remedy = inode_rule, xfs_reclaim, memcg_remedy
        self.rng = np.random.default_rng(seed)
        self.per_memcg_deferred = formulas.spec(formula).deferral == DEFER_5_13
        sb = preset("superblock")
        caches = params.caches
        self.n_generic = len(caches)
        self.n_shrinkers = 1 + self.n_generic
        self.seeks = np.array([sb.seeks] + [c.seeks for c in caches], np.int64)
        self.batch = np.array([sb.batch] + [c.batch for c in caches], np.int64)
        self.numa_aware = np.ones(self.n_shrinkers, bool)
        self.fs_shrinker = np.array([sb.fs] + [False] * self.n_generic)
        self.generic_objects_per_page = np.array([c.objects_per_page for c in caches], float)
        self.pages_per_file = np.array([f.pages_per_file for f in params.filesets], np.int64)
        self.generic_cache_index = 3 if params.filesets else 0
        self.cache_names = (["dentry", "inode", "xfs_inode"] if params.filesets else []) + [c.name for c in caches]
        self.cache_shrinker = ([0, 0, 0] if params.filesets else []) + list(range(1, self.n_shrinkers))
        memcg_slots = params.services.max_memcgs if params.services else 1
        self.st = State(params.nodes, memcg_slots, len(params.filesets), self.n_generic, self.n_shrinkers)
        self.totals = StepTotals((params.nodes, memcg_slots, len(self.cache_names)))
        self.wmin, self.low, self.high = watermarks(params.node_pages, params.nodes,
                                                    params.min_free_kbytes, params.watermark_scale_factor)
        self.dirty_limit = 0.2 * params.nodes * (params.node_pages - params.anon_pages)
        self.disk_slowdown = 1.0          # queueing factor of this step's IO (disk.py)
        self.disk_io_s = 0.0              # synchronous IO booked on the disk this step, s
        self.disk_io_last_s = 0.0         # and in the last step
        self.disk_backlog_s = 0.0         # disk time booked beyond the steps so far, s
        self.memcg_deadline = np.full(memcg_slots, np.inf)
        self.collector_next = 0.0
        self.latencies: list[float] = []   # interactive allocations, seconds each
        self.pending = 0.0                 # pages the tasks will allocate this step, per node
        self.reserved = 0.0                # pages tasks got this step and have yet to fill, per node
        self.now = 0.0                     # start of the current step, seconds
        self.clock = 0.0                   # the current reclaimer's time (now + its waits so far)
        # XFS sync reclaim: per AG, the (begin, end) times its reclaim lock is held.
        self.xfs_ag_holds: list[list[tuple[float, float]]] = [[] for _ in range(params.xfs_ags)]
        self.ail_credit = 0.0              # xfsaild's inode writes carried to the next step
        self.xfs_worker_due = xfs.XFS_RECLAIM_WORKER_S   # next xfs_reclaim_worker() run, s
        self.xfs_log_due = xfs.XFS_LOG_WORKER_S          # next xfs_log_worker() run, s
        self._service_caches = np.array([c.memcg == "service" for c in caches], bool)
        # XFS's inode cluster buffers, if the scenario has them (xfs.cluster_misses).
        self.cluster_cache = next((g for g, c in enumerate(caches) if c.inode_clusters), None)
        self.clusters_per_node = (max(caches[self.cluster_cache].objects // params.nodes, 1)
                                  if self.cluster_cache is not None else 0)
        # The services' parent cgroup keeps its lists in order (lrulist.py).
        self.parent_lists = ([[SegmentList() for _ in caches] for _ in range(params.nodes)]
                             if params.services else None)

    # Memory --------------------------------------------------------------
    def slab_pages(self, n: int) -> float:
        """Slab pages on node ``n``: dentries, VFS and XFS inodes, the other caches."""
        st, p = self.st, self.params
        dentries = st.d_ref[n].sum() + st.d_unref[n].sum()
        # Every dentry pins an inode: inodes = dentries + unpinned + XFS-only.
        inodes = dentries + st.i_ref[n].sum() + st.i_unref[n].sum() + st.x_clean[n] + st.x_dirty[n]
        pages = dentries / p.dentry_objects_per_page + inodes / p.inode_objects_per_page
        if self.n_generic:
            pages += ((st.g_ref[n] + st.g_unref[n]).sum(axis=0) / self.generic_objects_per_page).sum()
        return float(pages)

    def free(self, n: int) -> float:
        """Free pages on node ``n`` (less what tasks got this step and have yet to fill)."""
        st = self.st
        cache = st.p_inact[n].sum() + st.p_ref[n].sum() + st.p_act[n].sum() + st.p_dirty[n].sum()
        used = self.params.anon_pages + cache + self.slab_pages(n) + self.reserved
        return float(self.params.node_pages - used)

    def cache_users(self, g: int) -> np.ndarray:
        """Memcg slots whose tasks use slab cache ``g``."""
        if self._service_caches[g]:
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
    for n in range(p.nodes):
        if sim.free(n) < sim.high:
            raise ValueError(
                f"the warm working sets do not fit node {n}: free would be {sim.free(n):.0f} "
                f"pages, below the high watermark {sim.high}; allowed: working sets and "
                f"anon_pages that fit node_pages={p.node_pages}"
            )


class Recorder:
    """Per-interval snapshots and sums, turned into a Dataset at the end."""

    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self.rows: dict[str, list] = {}

    def add(self, t: float, job_fraction: float) -> None:
        sim, st, tot = self.sim, self.sim.st, self.sim.totals
        fsum = lambda a: a.sum(axis=2)   # noqa: E731 - over file sets
        slab = np.zeros(tot.shape)
        if sim.params.filesets:
            slab[:, :, 0] = fsum(st.dentries())
            slab[:, :, 1] = fsum(st.inodes())
            slab[:, ROOT, 2] = st.x_clean + st.x_dirty
        if sim.n_generic:
            slab[:, :, sim.generic_cache_index:] = st.generic()
        shrinker = np.array(sim.cache_shrinker, np.int64)
        mi = np.arange(tot.shape[1]) if sim.per_memcg_deferred else np.zeros(tot.shape[1], np.int64)
        deferred = st.nr_deferred[shrinker][:, :, mi].transpose(1, 2, 0)
        prio = np.where(tot.priority == 99, -1, tot.priority)
        row = dict(
            time=t, page_cache=fsum(st.pages()).sum(axis=1), slab=slab,
            free=np.array([sim.free(n) for n in range(sim.params.nodes)]),
            priority=prio, scanned=tot.scanned.copy(), freed=tot.freed.copy(),
            delta=tot.delta.copy(), total_scan=tot.total_scan.copy(), nr_deferred=deferred,
            refaults=tot.refaults.copy(), page_refaults=tot.page_refaults.copy(),
            stall=tot.stall.copy(), direct_reclaims=tot.direct.copy(),
            kswapd_busy=tot.kswapd_busy.copy(), disk_busy=tot.disk_busy,
            dirty=fsum(st.p_dirty).sum(axis=1),
            dying_memcgs=int((st.memcg_state == DYING).sum()),
            pinned_objects=int(st.pinned_by.sum()), job_progress=job_fraction,
        )
        for key, value in row.items():
            self.rows.setdefault(key, []).append(value)
        tot.reset()


_UNITS = {
    "page_cache": ("pages", "page-cache pages"),
    "slab": ("objects", "objects held in the cache"),
    "free": ("pages", "free pages at the end of the interval"),
    "priority": ("1", "lowest reclaim priority reached (-1 = no reclaim)"),
    "scanned": ("objects", "objects scanned by shrinkers"),
    "freed": ("objects", "objects freed by shrinkers"),
    "delta": ("objects", "delta of the shrinker calls (superblock: split by cache share)"),
    "total_scan": ("objects", "total_scan of the shrinker calls (superblock: split by cache share)"),
    "nr_deferred": ("objects", "nr_deferred of the cache's shrinker at the end of the interval"),
    "refaults": ("objects", "objects reclaimed and needed again (recreated)"),
    "page_refaults": ("pages", "page-cache pages reclaimed and read again"),
    "stall": ("s", "time tasks spent in direct reclaim"),
    "direct_reclaims": ("1", "direct reclaim calls"),
    "kswapd_busy": ("s", "time kswapd spent reclaiming"),
    "disk_busy": ("s", "time the disk served IO (writeback, reads, inode and log writes)"),
    "dirty": ("pages", "dirty page-cache pages"),
    "dying_memcgs": ("1", "memory cgroups offline but still pinned"),
    "pinned_objects": ("objects", "objects pinning dying memcgs"),
    "job_progress": ("1", "fraction of the job done"),
}


def run(params: SimParams, formula: str, *, seed: int, inode_rule: str, xfs_reclaim: str,
        memcg_remedy: str, attrs: dict) -> xr.Dataset:
    """Simulate ``params`` under ``formula``; return the state over time as a Dataset."""
    sim = Sim(params, formula, seed, inode_rule, xfs_reclaim, memcg_remedy)
    _populate(sim)
    dt = params.dt_s
    steps = int(round(params.duration_s / dt))
    every = max(int(round(params.record_s / dt)), 1)
    memcgs.start(sim, 0.0)
    actors = make_actors(params)
    job = next((a for a in actors if a.job), None)
    total_work = params.job_seconds * params.job_tasks
    kswapd_debt = np.zeros(params.nodes)
    rec = Recorder(sim)
    done_at = None
    for step in range(steps):
        t = step * dt
        sim.now = t
        age_dirty(sim)
        xfs.step(sim)
        memcgs.step(sim, t)
        touch_slab_caches(sim)
        todo = [plan(sim, actor) for actor in actors]
        # kswapd runs alongside the tasks: it sees this step's allocations coming.
        sim.pending = sum(t["need"].sum() for t in todo if t) / params.nodes
        if params.kswapd:
            for n in range(params.nodes):
                if sim.free(n) - sim.pending >= sim.low and sim.st.kswapd_priority[n] < 0:
                    continue
                if kswapd_debt[n] >= dt:
                    kswapd_debt[n] -= dt
                    continue
                budget = dt - kswapd_debt[n]
                kswapd_debt[n] = max(kswapd(sim, n, budget) - budget, 0.0)
        sim.pending = 0.0
        run_tasks(sim, actors, todo, interactive_allocations(sim))
        progress = job.progress.sum() if job else 0.0
        fraction = min(progress / total_work, 1.0) if job and total_work else 0.0
        if done_at is None and job and total_work and progress >= total_work:
            done_at = t + dt
        if (step + 1) % every == 0:
            rec.add(t + dt, fraction)
    return _dataset(sim, rec, job, total_work, done_at, steps * dt, attrs)


def interactive_allocations(sim: Sim) -> list[int]:
    """This step's GFP_KERNEL allocations of the interactive task: a node each."""
    rate = sim.params.interactive_allocs_per_s
    if not rate:
        return []
    count = min(int(poisson(sim.rng, rate * sim.params.dt_s)), MAX_INTERACTIVE_PER_STEP)
    return [int(n) for n in sim.rng.integers(sim.params.nodes, size=count)]


def _dataset(sim: Sim, rec: Recorder, job, total_work, done_at, duration, attrs) -> xr.Dataset:
    p = sim.params
    rows = {k: np.array(v) for k, v in rec.rows.items()}
    time = rows.pop("time")
    has_memcg = p.services is not None
    dims_nmc = ("time", "node", "memcg", "cache") if has_memcg else ("time", "node", "cache")
    data = {}
    for key, value in rows.items():
        if value.ndim == 4:
            data[key] = (dims_nmc, value if has_memcg else value[:, :, ROOT, :])
        elif value.ndim == 2:
            data[key] = (("time", "node"), value)
        else:
            data[key] = (("time",), value)
    coords = {"time": time, "node": np.arange(p.nodes), "cache": np.array(sim.cache_names, dtype=str),
              "seeks": ("cache", sim.seeks[sim.cache_shrinker]),
              "batch": ("cache", sim.batch[sim.cache_shrinker]),
              "shrinker": ("cache", np.array(["superblock" if s == 0 else sim.cache_names[
                  sim.generic_cache_index + s - 1] for s in sim.cache_shrinker], dtype=str))}
    if has_memcg:
        coords["memcg"] = np.arange(sim.st.memcgs)
    ds = xr.Dataset(data, coords=coords)
    for key, (units, name) in _UNITS.items():
        ds[key].attrs = {"units": units, "long_name": name}
    ds.time.attrs = {"units": "s", "long_name": "simulated time"}
    ds.node.attrs = {"long_name": "NUMA node"}
    ds.cache.attrs = {"long_name": "slab cache"}
    if job is not None and total_work:
        value = done_at if done_at is not None else duration * total_work / max(job.progress.sum(), 1e-9)
        ds["workload_time"] = ((), float(value), {
            "units": "s", "long_name": "time the job takes (extrapolated from its progress rate if unfinished)",
            "finished": int(done_at is not None)})
    lat = np.array(sim.latencies)
    if p.interactive_allocs_per_s:
        for name, q in (("p50", 50), ("p99", 99), ("p999", 99.9)):
            ds[f"alloc_latency_{name}"] = ((), float(np.percentile(lat, q)) if lat.size else 0.0,
                                           {"units": "s", "long_name": f"{q}th percentile latency of the "
                                            "interactive task's allocations (direct reclaim time)"})
        ds["allocations"] = ((), int(lat.size), {"units": "1", "long_name": "interactive allocations"})
    ds.attrs = dict(attrs, formula=sim.formula, seed=int(attrs.get("seed", 0)),
                    inode_rule=sim.inode_rule, xfs_reclaim=sim.xfs_reclaim,
                    memcg_remedy=sim.memcg_remedy, reclaimlab_version=__version__,
                    params=p.to_json(),
                    watermarks=json.dumps({"min": sim.wmin, "low": sim.low, "high": sim.high}))
    return ds
