"""Payloads of the reclaim events kept along ``event`` (KERNEL.md §4.3).

Every ``mm_vmscan_*`` event of interest prints ``key=value`` pairs, and the keys
differ between kernels (``zid`` and ``classzone_idx`` in 4.x, ``nr_activate``
split into anon/file later), so the payload is read as pairs and the known keys
kept. These events are a few percent of a shrinker trace; plain Python is fast
enough here.
"""
from __future__ import annotations

import re

from .schema import EVENT_INT_FIELDS, EVENT_STR_FIELDS, RECLAIM_EVENTS

_INT = re.compile(r"-?[0-9]{1,19}")


def parse_payload(name: str, payload: str) -> dict[str, int | str] | None:
    """The known fields of one reclaim event, or None when the payload is malformed.

    Malformed means: a blank-separated token that is not ``key=value``, an
    integer field whose value is not an integer, or a key the event must carry
    (:data:`~reclaimlab.trace.schema.RECLAIM_EVENTS`) missing.

    Examples
    --------
    >>> parse_payload("mm_vmscan_kswapd_wake", "nid=0 zid=2 order=0")
    {'nid': 0, 'zid': 2, 'order': 0}
    >>> parse_payload("mm_vmscan_kswapd_wake", "nid=0 zid order=0") is None
    True
    """
    out: dict[str, int | str] = {}
    for token in payload.split():
        key, eq, value = token.partition("=")
        if not eq or not key:
            return None
        if key in EVENT_INT_FIELDS:
            if not _INT.fullmatch(value):
                return None
            v = int(value)
            if not -2**63 <= v < 2**63:
                return None
            out[key] = v
        elif key in EVENT_STR_FIELDS:
            out[key] = value
    if any(k not in out for k in RECLAIM_EVENTS[name]):
        return None
    return out
