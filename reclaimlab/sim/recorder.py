"""What a run records: per-interval snapshots and sums, and the Dataset built from them at the end."""
from __future__ import annotations

from typing import TYPE_CHECKING

import json

import numpy as np
import xarray as xr

from .._version import __version__
from ..model.schema import (ALLOC_LATENCY, SIMULATION_COORDS, SIMULATION_VARS, STALL_CAUSES, WORKLOAD_TIME,
                             with_attrs)
from .state import DYING, ROOT

if TYPE_CHECKING:                      # the engine imports this module
    from .engine import Sim


class Recorder:
    """Per-interval snapshots and sums, turned into a Dataset at the end."""

    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self.rows: dict[str, list] = {}

    def add(self, t: float, job_fraction: float) -> None:
        sim, st, tot = self.sim, self.sim.st, self.sim.totals
        fsum = lambda a: np.add.reduce(a, axis=2)   # noqa: E731 - over file sets (.sum(axis=2))
        slab = np.zeros(tot.shape)
        if sim.params.filesets:
            slab[:, :, 0] = fsum(st.dentries())
            slab[:, :, 1] = fsum(st.inodes())
            slab[:, ROOT, 2] = st.x_clean + st.x_dirty
        if sim.layout.n_generic:
            slab[:, :, sim.layout.generic_cache_index:] = st.generic()
        shrinker = np.array(sim.layout.cache_shrinker, np.int64)
        mi = np.arange(tot.shape[1]) if sim.per_memcg_deferred else np.zeros(tot.shape[1], np.int64)
        deferred = st.nr_deferred[shrinker][:, :, mi].transpose(1, 2, 0)
        prio = np.where(tot.priority == 99, -1, tot.priority)
        row = dict(
            time=t, page_cache=np.add.reduce(fsum(st.pages()), axis=1), slab=slab,
            free=np.array([sim.free(n) for n in range(sim.params.nodes)]),
            priority=prio, scanned=tot.scanned.copy(), freed=tot.freed.copy(),
            delta=tot.delta.copy(), total_scan=tot.total_scan.copy(), nr_deferred=deferred,
            refaults=tot.refaults.copy(), page_refaults=tot.page_refaults.copy(),
            stall=tot.stall.copy(), stall_by_cause=tot.stall_by_cause.copy(),
            blocked_by_cause=tot.blocked_by_cause.copy(), direct_reclaims=tot.direct.copy(),
            kswapd_busy=tot.kswapd_busy.copy(), disk_busy=tot.disk_busy,
            dirty=np.add.reduce(fsum(st.p_dirty), axis=1),
            dying_memcgs=int(np.count_nonzero(st.memcg_state == DYING)),
            pinned_objects=int(np.add.reduce(st.pinned_by, axis=None)), job_progress=job_fraction,
        )
        for key, value in row.items():
            self.rows.setdefault(key, []).append(value)
        tot.reset()


#: Variables with a ``cause`` dim (schema.STALL_CAUSES), recorded per (node, cause).
BY_CAUSE = ("stall_by_cause", "blocked_by_cause")
#: An interactive allocation waiting longer than this counts as a stall a user sees.
LONG_STALL_S = 0.1


def _machine_memcgs(sim: Sim, key: str, value: np.ndarray) -> np.ndarray:
    """A (time, node, memcg, cache) record without the memcg dim: summed over memcgs.

    Only the services of the dying-memcgs case give a Dataset a ``memcg``
    dim; a run's systemd cgroups (``SimParams.cgroups``) are summed into the
    node's values, so runs with and without them have the same variables.
    Deferred work shared by every memcg (before 5.13) is the root's slot,
    not a sum.
    """
    if key == "nr_deferred" and not sim.per_memcg_deferred:
        return value[:, :, ROOT, :]
    return value.sum(axis=2)


def dataset(sim: Sim, rec: Recorder, job, total_work, done_at, duration, attrs) -> xr.Dataset:
    """The run as a Dataset (the simulation schema of :mod:`reclaimlab.model.schema`)."""
    p = sim.params
    rows = {k: np.array(v) for k, v in rec.rows.items()}
    time = rows.pop("time")
    has_memcg = p.services is not None
    dims_nmc = ("time", "node", "memcg", "cache") if has_memcg else ("time", "node", "cache")
    data = {}
    for key, value in rows.items():
        if key in BY_CAUSE:
            data[key] = (("time", "node", "cause"), value)
        elif value.ndim == 4:
            data[key] = (dims_nmc, value if has_memcg else _machine_memcgs(sim, key, value))
        elif value.ndim == 2:
            data[key] = (("time", "node"), value)
        else:
            data[key] = (("time",), value)
    coords = {"time": time, "node": np.arange(p.nodes), "cache": np.array(sim.layout.cache_names, dtype=str),
              "seeks": ("cache", sim.layout.seeks[list(sim.layout.cache_shrinker)]),
              "batch": ("cache", sim.layout.batch[list(sim.layout.cache_shrinker)]),
              "shrinker": ("cache", np.array(["superblock" if s == 0 else sim.layout.cache_names[
                  sim.layout.generic_cache_index + s - 1] for s in sim.layout.cache_shrinker], dtype=str))}
    if has_memcg:
        coords["memcg"] = np.arange(sim.st.memcgs)
    coords["cause"] = np.array(list(STALL_CAUSES), dtype=str)
    coords["cause_long_name"] = ("cause", np.array(list(STALL_CAUSES.values()), dtype=str))
    ds = xr.Dataset(data, coords=coords)
    with_attrs(ds, SIMULATION_VARS)
    for key, coord_attrs in SIMULATION_COORDS.items():
        ds[key].attrs = dict(coord_attrs)
    if job is not None and total_work:
        value = done_at if done_at is not None else duration * total_work / max(job.progress.sum(), 1e-9)
        ds["workload_time"] = ((), float(value), {
            "units": WORKLOAD_TIME[0], "long_name": WORKLOAD_TIME[1], "finished": int(done_at is not None)})
    lat = np.array(sim.latencies)
    if p.interactive_allocs_per_s:
        for name, (q, long_name) in ALLOC_LATENCY.items():
            ds[f"alloc_latency_{name}"] = ((), float(np.percentile(lat, q)) if lat.size else 0.0,
                                           {"units": "s", "long_name": long_name})
        ds["allocations"] = ((), int(lat.size), {"units": "1", "long_name": "interactive allocations"})
        # Bug 202349's symptom is a frozen desktop: count the long waits, not a percentile
        # (a handful of waits in ~24,000 allocations never reaches p99.9).
        minutes = float(time[-1]) / 60.0 if time.size and time[-1] > 0 else 0.0
        long_waits = int(np.count_nonzero(lat > LONG_STALL_S))
        ds["alloc_stalls_per_min"] = ((), long_waits / minutes if minutes else 0.0, {
            "units": "1/min", "long_name": f"interactive allocations that waited over "
                                          f"{LONG_STALL_S * 1e3:.0f} ms, per simulated minute"})
    ds.attrs = dict(attrs, **sim.rules.as_attrs(), seed=int(attrs.get("seed", 0)),
                    reclaimlab_version=__version__,
                    params=p.to_json(),
                    watermarks=json.dumps({"min": sim.wmin, "low": sim.low, "high": sim.high}))
    return ds
