"""Names, units and long names of every variable a trace Dataset holds.

One table, so the reader, replay, what-if and their tests agree. Integer
fields that a trace may lack hold the sentinel :data:`MISSING` (-1); the
``has_end`` flag says whether the end-event fields of a call are real.
"""
from __future__ import annotations

import numpy as np
import xarray as xr

#: Integer sentinel for "not in this trace" (pre-4.16 priority, end fields of
#: a call whose end event is absent, reclaim-event fields an event lacks).
MISSING = -1

OBJ = "objects"

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


def variable(dim: str, values, units: str, long_name: str, **extra) -> xr.Variable:
    """A 1-d Variable with ``units`` and ``long_name`` (and any ``extra``) attrs.

    Object arrays (of ``str``) skip xarray's conversion check, which looks at
    every element through pandas and costs about a second per million.
    """
    data = np.asarray(values)
    return xr.Variable(dim, data, attrs={"units": units, "long_name": long_name, **extra},
                       fastpath=data.dtype == object)
