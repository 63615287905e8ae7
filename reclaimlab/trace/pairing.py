"""Join each ``mm_shrink_slab_start`` with its ``mm_shrink_slab_end``.

A do_shrink_slab() call logs its start, runs the scan loop and logs its end,
all in one task; the end prints ``unused scan count`` = the start's ``nr``
(docs/kernel.md §4.2). So a start and an end belong together when they come from
the same task (pid) and the same shrinker instance (symbol and pointer), the
end comes later (in timestamp order: the reader sorts a trace that is not), no other event of that (task, shrinker) lies between them
that could claim it, and ``unused == nr``.

Within one (task, shrinker) key this is bracket matching: an end closes the
most recent open start with the same ``nr``; starts left open below it lost
their end (a dropped event, or a trace cut short) and stay unmatched. In the
ordinary case (no nesting, nothing lost) this is first-in first-out. The
common case is done with numpy (adjacent start/end pairs, repeated while any
are found); only leftovers from lost events go through a Python loop.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

_PID_RANGE = 10**10


def pair_starts_with_ends(
    start_line: np.ndarray,
    start_pid: np.ndarray,
    start_key: np.ndarray,
    start_nr: np.ndarray,
    end_line: np.ndarray,
    end_pid: np.ndarray,
    end_key: np.ndarray,
    end_unused: np.ndarray,
) -> np.ndarray:
    """For every start event, the index of its end event, or -1.

    Parameters
    ----------
    start_line, end_line : numpy.ndarray of int
        Position of each event in time order (orders the events): the line
        number when the file is in time order, else the rank of the event in
        the (timestamp, line) order (see :func:`reclaimlab.trace.read`).
    start_pid, end_pid : numpy.ndarray of int
        Task ids.
    start_key, end_key : numpy.ndarray of int
        Shrinker-instance codes (equal codes = same symbol and pointer), >= 0.
    start_nr, end_unused : numpy.ndarray of int
        ``objects to shrink`` of the start, ``unused scan count`` of the end.

    Returns
    -------
    numpy.ndarray of int64
        ``end_of[i]`` is the end matched with start ``i`` (-1: none).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array
    >>> pair_starts_with_ends(a([1, 3]), a([7, 7]), a([0, 0]), a([5, 9]),
    ...                       a([2, 4]), a([7, 7]), a([0, 0]), a([5, 9])).tolist()
    [0, 1]
    """
    ns, ne = len(start_line), len(end_line)
    end_of = np.full(ns, -1, np.int64)
    if ns == 0 or ne == 0:
        return end_of
    line = np.concatenate([start_line, end_line]).astype(np.int64)
    pid = np.concatenate([start_pid, end_pid]).astype(np.int64)
    key = np.concatenate([start_key, end_key]).astype(np.int64)
    val = np.concatenate([start_nr, end_unused]).astype(np.int64)
    is_end = np.concatenate([np.zeros(ns, bool), np.ones(ne, bool)])
    # One small int per (key, pid): the reader keeps pids to 10 digits, keys < number of events.
    group, _ = pd.factorize(key * _PID_RANGE + pid)
    if len(group) and group.max() < 2**15:
        group = group.astype(np.int16)  # numpy sorts 16-bit keys by radix sort
    by_line = np.argsort(line, kind="stable")  # two sorted runs: a merge
    active = by_line[np.argsort(group[by_line], kind="stable")]
    while len(active) > 1:
        a, b = active[:-1], active[1:]
        hit = (group[a] == group[b]) & ~is_end[a] & is_end[b] & (val[a] == val[b])
        if not hit.any():
            break
        end_of[a[hit]] = b[hit] - ns
        keep = np.ones(len(active), bool)
        pos = np.flatnonzero(hit)
        keep[pos] = False
        keep[pos + 1] = False
        active = active[keep]
    _pair_leftovers(active, group, is_end, val, ns, end_of)
    return end_of


def _pair_leftovers(active, group, is_end, val, ns, end_of) -> None:
    """Bracket matching, by hand, of what adjacent pairing left (lost events)."""
    if not (is_end[active].any() and (~is_end[active]).any()):
        return
    open_starts: dict[int, list[int]] = {}
    for ev in active.tolist():
        g = int(group[ev])
        stack = open_starts.setdefault(g, [])
        if not is_end[ev]:
            stack.append(ev)
            continue
        for depth in range(len(stack) - 1, -1, -1):
            if val[stack[depth]] == val[ev]:
                end_of[stack[depth]] = ev - ns
                del stack[depth:]
                break
