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
ordinary case (no nesting, nothing lost) this is first-in first-out. It is one
pass in time order with a stack per key, in C (``reclaimlab/native/pairing.c``).
"""
from __future__ import annotations

import numpy as np

from .._native import pair as _c_pair


def _i64(a) -> np.ndarray:
    return np.ascontiguousarray(a, np.int64)


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
        Position of each event in time order (orders the events; distinct): the
        line number when the file is in time order, else the rank of the event
        in the (timestamp, line) order (see :func:`reclaimlab.trace.read`).
    start_pid, end_pid : numpy.ndarray of int
        Task ids.
    start_key, end_key : numpy.ndarray of int
        Shrinker-instance codes (equal codes = same symbol and pointer).
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
    end_of = np.empty(len(start_line), np.int64)
    zs, ze = np.zeros(len(start_line), np.int64), np.zeros(len(end_line), np.int64)
    _c_pair(_i64(start_line), _i64(start_pid), _i64(start_key), zs, _i64(start_nr),
            _i64(end_line), _i64(end_pid), _i64(end_key), ze, _i64(end_unused), end_of)
    return end_of


def pair_calls(start_pos, start_pid, start_sym, start_ptr, start_nr,
               end_pos, end_pid, end_sym, end_ptr, end_unused) -> np.ndarray:
    """:func:`pair_starts_with_ends` with the shrinker instance given as two id
    arrays (symbol, pointer), as the reader has them: no instance codes to build."""
    end_of = np.empty(len(start_pos), np.int64)
    _c_pair(_i64(start_pos), _i64(start_pid), _i64(start_sym), _i64(start_ptr), _i64(start_nr),
            _i64(end_pos), _i64(end_pid), _i64(end_sym), _i64(end_ptr), _i64(end_unused), end_of)
    return end_of
