"""The Dataset schema: every variable's name, dims, units and long name, in one place.

Four kinds of Dataset flow between the layers:

==============  ==================================  =====================================
kind            made by                             recognised by
==============  ==================================  =====================================
``sweep``       ``rl.sweep``                        dim ``freeable``, ``pressure``
``simulation``  ``rl.simulate``, ``rl.compare``     dims ``time``, ``node``, ``cache``
``trace``       ``rl.trace.read``                   dim ``call``, ``cache_items``
``replay``      ``rl.trace.replay``/``whatif``      dim ``call``, ``delta_model``
==============  ==================================  =====================================

:func:`kind` tells which one a Dataset is; :func:`validate` checks that a
Dataset has what a consumer needs and says which variables are missing
(a figure asks for exactly the variables it draws).

Examples
--------
>>> import reclaimlab as rl
>>> from reclaimlab.model.schema import kind, validate
>>> ds = rl.sweep("v5.0", [10, 100], 12)
>>> kind(ds)
'sweep'
>>> validate(ds, "simulation", needs=("stall",))
Traceback (most recent call last):
...
ValueError: ds is a sweep Dataset; this needs a simulation Dataset (rl.simulate or rl.compare: dims time, node, cache): missing dims time, node, cache and variables slab, stall
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import xarray as xr

OBJ = "objects"

#: Integer sentinel for "not in this trace" (pre-4.16 priority, end fields of
#: a call whose end event is absent, reclaim-event fields an event lacks).
MISSING = -1

# --------------------------------------------------------------------------- sweep

#: Coordinates of ``rl.sweep``: name -> attrs.
SWEEP_COORDS: dict[str, dict[str, str]] = {
    "freeable": {"units": OBJ, "long_name": "cache size (freeable objects)"},
    "priority": {"units": "1", "long_name": "reclaim priority"},
    "batch": {"units": OBJ, "long_name": "shrinker batch size"},
    "seeks": {"units": "1", "long_name": "shrinker seeks"},
    "formula": {"long_name": "scan-count formula"},
}

#: Variables of ``rl.sweep``: name -> attrs.
SWEEP_VARS: dict[str, dict[str, str]] = {
    "delta": {"units": OBJ, "long_name": "delta of the last call"},
    "total_scan": {"units": OBJ, "long_name": "total_scan after the caps, last call"},
    "scanned": {"units": OBJ, "long_name": "objects scanned by the last call"},
    "scanned_total": {"units": OBJ, "long_name": "objects scanned over all calls"},
    "next_deferred": {"units": OBJ, "long_name": "nr_deferred after the last call"},
    "small_scan": {"units": OBJ, "long_name": "small_scan accumulator after the last call"},
    "pressure": {"units": "1", "long_name": "fraction of the cache scanned per call"},
}

# --------------------------------------------------------------------------- simulation

#: Variables of a simulation recorded per interval: name -> (units, long_name).
SIMULATION_VARS: dict[str, tuple[str, str]] = {
    "page_cache": ("pages", "page-cache pages"),
    "slab": (OBJ, "objects held in the cache"),
    "free": ("pages", "free pages at the end of the interval"),
    "priority": ("1", "lowest reclaim priority reached (-1 = no reclaim)"),
    "scanned": (OBJ, "objects scanned by shrinkers"),
    "freed": (OBJ, "objects freed by shrinkers"),
    "delta": (OBJ, "delta of the shrinker calls (superblock: split by cache share)"),
    "total_scan": (OBJ, "total_scan of the shrinker calls (superblock: split by cache share)"),
    "nr_deferred": (OBJ, "nr_deferred of the cache's shrinker at the end of the interval"),
    "refaults": (OBJ, "objects reclaimed and needed again (recreated)"),
    "page_refaults": ("pages", "page-cache pages reclaimed and read again"),
    "stall": ("s", "time tasks spent in direct reclaim"),
    "stall_by_cause": ("s", "time tasks spent in direct reclaim, by cause (sums to stall over cause)"),
    "blocked_by_cause": ("s", "time tasks were blocked, by cause: direct reclaim (as stall_by_cause), "
                              "their own IO waits, dirty throttling and waiting for memory"),
    "direct_reclaims": ("1", "direct reclaim calls"),
    "kswapd_busy": ("s", "time kswapd spent reclaiming"),
    "disk_busy": ("s", "time the disk served IO (writeback, reads, inode and log writes)"),
    "dirty": ("pages", "dirty page-cache pages"),
    "dying_memcgs": ("1", "memory cgroups offline but still pinned"),
    "pinned_objects": (OBJ, "objects pinning dying memcgs"),
    "job_progress": ("1", "fraction of the job done"),
}

#: Causes of blocked time (the ``cause`` coordinate of ``stall_by_cause`` and
#: ``blocked_by_cause``), in coordinate order: name -> long name. Every second
#: the model charges to a task's blocked time is attributed to exactly one
#: (docs/simulator.md, "Stall by cause"). The first five occur inside direct
#: reclaim and split ``stall``; the others occur only outside it (in
#: ``stall_by_cause`` they are 0: the model's reclaim reads nothing back and
#: never waits on writeback or throttles).
STALL_CAUSES: dict[str, str] = {
    "reclaim_cpu": "CPU of reclaim itself: LRU pages and slab objects scanned, objects freed",
    "xfs_sync_reclaim": "sync XFS inode reclaim (SYNC_WAIT): flushing dirty inodes and waiting for the writes",
    "xfs_reclaim_lock": "sync XFS inode reclaim: waiting for another reclaimer's per-AG reclaim lock",
    "xfs_log_force": "XFS log force before a pinned inode is flushed (xfs_iunpin_wait)",
    "xfs_cluster_read": "inode-cluster buffer read back before a flush or an unlink (xfs_imap_to_bp)",
    "refault_read": "reading back reclaimed dentries, inodes and page cache (refaults)",
    "file_read": "reading new files (first reads, not refaults)",
    "dirty_throttle": "writer over vm.dirty_ratio asleep until writeback catches up (balance_dirty_pages)",
    "memory_wait": "no memory above min after direct reclaim: the work is retried next step (throttled)",
}

#: Coordinates of a simulation: name -> attrs.
SIMULATION_COORDS: dict[str, dict[str, str]] = {
    "time": {"units": "s", "long_name": "simulated time"},
    "node": {"long_name": "NUMA node"},
    "cache": {"long_name": "slab cache"},
    "cause": {"long_name": "cause of blocked time"},
    "cause_long_name": {"long_name": "what each cause of blocked time is"},
}

#: Scalars of a simulation with a job to finish: name -> (units, long_name).
WORKLOAD_TIME = ("s", "time the job takes (extrapolated from its progress rate if unfinished)")
#: Interactive-allocation scalars: percentile name -> (percentile, long_name).
ALLOC_LATENCY = {name: (q, f"{q}th percentile latency of the interactive task's allocations "
                        "(direct reclaim time)") for name, q in (("p50", 50), ("p99", 99), ("p999", 99.9))}

# --------------------------------------------------------------------------- trace

#: Variables along ``call``: name -> (units, long_name).
CALL_VARS: dict[str, tuple[str, str]] = {
    "time": ("s", "timestamp of mm_shrink_slab_start"),
    "line": ("1", "line number of the start event in the source file"),
    "cpu": ("1", "CPU that logged the start event"),
    "pid": ("1", "task id"),
    "task": ("1", "task name (comm; '<...>' when ftrace did not cache it)"),
    "shrinker": ("1", "shrinker scan function (symbol without +offset/size)"),
    "shrinker_id": ("1", "shrinker instance: the struct shrinker pointer as printed (%p)"),
    "module": ("1", "module of the scan function ('' when built in)"),
    "nid": ("1", "NUMA node of the call (sc->nid)"),
    "gfp_flags": ("1", "allocation flags of the reclaim, as printed"),
    "nr_deferred": (OBJ, "deferred work taken from nr_deferred (objects to shrink)"),
    "cache_items": (OBJ, "freeable objects reported by count_objects (F)"),
    "delta": (OBJ, "new scan work of this call (delta)"),
    "total_scan": (OBJ, "scan target after the caps (start total_scan)"),
    "priority": ("1", "reclaim priority (-1: the format has none, before 4.16)"),
    "pgs_scanned": ("pages", "LRU pages just scanned (pre-4.16 format; else -1)"),
    "lru_pgs": ("pages", "eligible LRU pages (pre-4.16 format; else -1)"),
    "has_end": ("1", "the matching mm_shrink_slab_end event was found"),
    "end_time": ("s", "timestamp of mm_shrink_slab_end (NaN without one)"),
    "end_nid": ("1", "nid printed by the end event (-1 without one)"),
    "unused_scan": (OBJ, "end: unused scan count, the nr taken at start (-1 without end)"),
    "new_scan": (OBJ, "end: new scan count, nr_deferred after the add (-1 without end)"),
    "total_scan_left": (OBJ, "end: total_scan left unscanned (-1 without end)"),
    "retval": (OBJ, "end: last shrinker return val, freed as a C int (-1 without end)"),
}

#: Fixed variables along ``event`` (reclaim events): name -> (units, long_name).
EVENT_VARS: dict[str, tuple[str, str]] = {
    "event_name": ("1", "tracepoint name (mm_vmscan_*)"),
    "event_time": ("s", "timestamp of the event"),
    "event_line": ("1", "line number in the source file"),
    "event_cpu": ("1", "CPU that logged the event"),
    "event_pid": ("1", "task id"),
    "event_task": ("1", "task name"),
}

#: Integer fields of reclaim events (``key=value`` in the payload), stored as
#: ``event_<key>`` with -1 where an event lacks the key.
EVENT_INT_FIELDS: dict[str, tuple[str, str]] = {
    "nid": ("1", "NUMA node"),
    "zid": ("1", "zone index (4.x formats)"),
    "order": ("1", "allocation order"),
    "may_writepage": ("1", "reclaim may write pages (4.x direct_reclaim_begin)"),
    "classzone_idx": ("1", "classzone index (4.x direct_reclaim_begin)"),
    "nr_reclaimed": ("pages", "pages reclaimed"),
    "nr_scanned": ("pages", "LRU pages scanned"),
    "nr_dirty": ("pages", "dirty pages met"),
    "nr_writeback": ("pages", "pages under writeback met"),
    "nr_congested": ("pages", "pages on congested devices"),
    "nr_immediate": ("pages", "pages needing immediate reclaim"),
    "nr_activate": ("pages", "pages activated (4.x)"),
    "nr_activate_anon": ("pages", "anon pages activated"),
    "nr_activate_file": ("pages", "file pages activated"),
    "nr_ref_keep": ("pages", "pages kept because referenced"),
    "nr_unmap_fail": ("pages", "pages that failed to unmap"),
    "nr_taken": ("pages", "pages taken off the active list"),
    "nr_active": ("pages", "pages kept active"),
    "nr_deactivated": ("pages", "pages deactivated"),
    "nr_referenced": ("pages", "referenced pages"),
    "priority": ("1", "reclaim priority"),
    "reclaim_idx": ("1", "highest zone index eligible"),
}

#: String fields of reclaim events, stored as ``event_<key>`` ('' where absent).
EVENT_STR_FIELDS: dict[str, tuple[str, str]] = {
    "gfp_flags": ("1", "allocation flags, as printed"),
    "flags": ("1", "reclaim flags, as printed (lru_shrink_*)"),
}

#: Fields every Dataset has along ``event``, present in the data or not.
EVENT_BASE_FIELDS = ("nid", "order", "nr_reclaimed", "nr_scanned", "priority", "gfp_flags")

#: Reclaim events kept along ``event``, with the keys each must carry.
RECLAIM_EVENTS: dict[str, tuple[str, ...]] = {
    "mm_vmscan_direct_reclaim_begin": ("order",),
    "mm_vmscan_direct_reclaim_end": ("nr_reclaimed",),
    "mm_vmscan_memcg_reclaim_begin": ("order",),
    "mm_vmscan_memcg_reclaim_end": ("nr_reclaimed",),
    "mm_vmscan_memcg_softlimit_reclaim_begin": ("order",),
    "mm_vmscan_memcg_softlimit_reclaim_end": ("nr_reclaimed",),
    "mm_vmscan_node_reclaim_begin": ("nid", "order"),
    "mm_vmscan_node_reclaim_end": ("nr_reclaimed",),
    "mm_vmscan_kswapd_wake": ("nid", "order"),
    "mm_vmscan_kswapd_sleep": ("nid",),
    "mm_vmscan_wakeup_kswapd": ("nid", "order"),
    "mm_vmscan_lru_shrink_inactive": ("nid", "nr_scanned", "nr_reclaimed", "priority"),
    "mm_vmscan_lru_shrink_active": ("nid", "priority"),
}


def event_var_meta(name: str) -> tuple[str, str]:
    """(units, long_name) of an ``event_*`` variable."""
    if name in EVENT_VARS:
        return EVENT_VARS[name]
    key = name[len("event_"):]
    return EVENT_INT_FIELDS.get(key) or EVENT_STR_FIELDS[key]


# --------------------------------------------------------------------------- kinds


@dataclass(frozen=True)
class Kind:
    """What a kind of Dataset always has: dims and variables, and who makes it."""

    name: str
    dims: tuple[str, ...]
    variables: tuple[str, ...]
    made_by: str

    def describe(self) -> str:
        return f"a {self.name} Dataset ({self.made_by}: dims {', '.join(self.dims)})"


KINDS: dict[str, Kind] = {
    "sweep": Kind("sweep", ("freeable",), ("pressure", "scanned"), "rl.sweep"),
    "simulation": Kind("simulation", ("time", "node", "cache"), ("slab", "scanned"),
                       "rl.simulate or rl.compare"),
    "replay": Kind("replay", ("call",), ("delta_model",), "rl.trace.replay or rl.trace.whatif"),
    "trace": Kind("trace", ("call",), ("cache_items", "delta", "total_scan"), "rl.trace.read"),
}


def kind(ds: xr.Dataset) -> str | None:
    """The kind of a Dataset (``sweep``, ``simulation``, ``replay``, ``trace``), or None.

    A replay is also a trace (it keeps the observed fields); ``replay`` is named then.

    Raises
    ------
    TypeError
        When ``ds`` is not an :class:`xarray.Dataset`.

    Examples
    --------
    >>> import reclaimlab as rl
    >>> kind(rl.trace.parse(rl.trace.synthetic_trace(10)))
    'trace'
    """
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds is a {type(ds).__name__}; allowed: an xarray.Dataset")
    for k in KINDS.values():
        if set(k.dims) <= set(ds.dims) and all(v in ds for v in k.variables):
            return k.name
    return None


def validate(ds: xr.Dataset, kind_name: str, *, needs: Iterable[str] = (), figure: str = "this") -> xr.Dataset:
    """Check that ``ds`` is of kind ``kind_name`` and holds the variables ``needs``.

    Parameters
    ----------
    ds : xarray.Dataset
        The Dataset to check.
    kind_name : str
        One of :data:`KINDS`.
    needs : iterable of str
        Variables the consumer uses beyond the kind's own.
    figure : str
        The consumer's name, for the message.

    Returns
    -------
    xarray.Dataset
        ``ds`` itself, so calls chain.

    Raises
    ------
    TypeError
        ``ds`` is not a Dataset.
    ValueError
        Dims or variables are missing; the message lists them.
    """
    if kind_name not in KINDS:
        raise ValueError(f"kind={kind_name!r} is unknown; allowed: {', '.join(KINDS)}")
    want = KINDS[kind_name]
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds is a {type(ds).__name__}; {figure} needs {want.describe()}")
    missing_dims = [d for d in want.dims if d not in ds.dims]
    missing_vars = [v for v in dict.fromkeys((*want.variables, *needs)) if v not in ds.variables]
    if missing_dims or missing_vars:
        found = kind(ds)
        what = f"a {found} Dataset" if found else f"a Dataset with dims {dict(ds.sizes)}"
        parts = []
        if missing_dims:
            parts.append(f"dims {', '.join(missing_dims)}")
        if missing_vars:
            parts.append(f"variables {', '.join(missing_vars)}")
        raise ValueError(f"ds is {what}; {figure} needs {want.describe()}: missing {' and '.join(parts)}")
    return ds


def with_attrs(ds: xr.Dataset, table: dict[str, tuple[str, str]]) -> xr.Dataset:
    """Set ``units`` and ``long_name`` of the variables of ``ds`` that ``table`` names."""
    for key, (units, name) in table.items():
        if key in ds.variables:
            ds[key].attrs = {"units": units, "long_name": name}
    return ds


def variable(dim: str, values, units: str, long_name: str, **extra) -> xr.Variable:
    """A 1-d Variable with ``units`` and ``long_name`` (and any ``extra``) attrs.

    Plain numpy arrays (int, float, bool, str objects) skip xarray's checks of
    other array types: for object arrays the conversion check looks at every
    element through pandas (about a second per million), and the first numeric
    Variable of a process otherwise imports dask to look for dask arrays (0.3 s
    or more, most of a first trace read). Datetimes keep xarray's conversion.
    """
    data = np.asarray(values)
    return xr.Variable(dim, data, attrs={"units": units, "long_name": long_name, **extra},
                       fastpath=data.ndim > 0 and data.dtype.kind not in "mM")
