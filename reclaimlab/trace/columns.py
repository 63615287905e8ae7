"""Columns of the events kept by the trace reader, appended pass by pass in file order.

Each pass of the scanner (:meth:`reclaimlab.trace.collect.Collector.scan`) leaves
the start or end events of a few thousand lines in reused output arrays;
:class:`Columns` copies them once into arrays that grow geometrically, so that
no list of pieces has to be concatenated at the end and the Dataset is built
from views of these arrays. When the size of the text is known, the capacity is
reserved from the first pass's events per byte (with a margin): the reserved
memory that is never written is never touched, so it costs address space, not
memory, and the arrays are rarely copied to grow.
"""
from __future__ import annotations

import numpy as np

from .._native import take_matched

#: Reserve this many times the capacity the first pass predicts for the whole text.
_MARGIN = 1.25
#: Smallest capacity (events).
_MIN_CAP = 1024
#: The ``fill`` of take_matched, which no id uses (they are all >= 0).
_UNUSED = np.zeros(1, np.int64)


class Columns:
    """Growing columns of one kind of event: ``line``, ``time``, ``ints[c]``, ``ids[q]``.

    Parameters
    ----------
    n_int, n_str : int
        Integer columns and string-id columns.
    size_hint : int or None
        Bytes of text to be read, when known (used to reserve capacity).
    """

    def __init__(self, n_int: int, n_str: int, size_hint: int | None = None) -> None:
        self.n = 0
        self.size_hint = size_hint
        self.line = np.empty(0, np.int64)
        self.time = np.empty(0)
        self.ints = np.empty((n_int, 0), np.int64)
        self.ids = np.empty((n_str, 0), np.int64)

    def _reserve(self, need: int, done: int) -> None:
        """Capacity for ``need`` events, the events so far being from ``done`` bytes of text."""
        cap = self.line.shape[0]
        if need <= cap:
            return
        new = max(_MIN_CAP, 2 * cap, need)
        if self.size_hint and done and self.size_hint > done:
            guess = int(need * self.size_hint / done * _MARGIN)
            if guess > new:
                try:
                    self._grow(guess)
                    return
                except (MemoryError, ValueError):  # address space refused (a dense head, a huge file)
                    pass  # grow by doubling
        self._grow(new)

    def _grow(self, new: int) -> None:
        """Move the columns to arrays of capacity ``new`` (all allocated before any is
        replaced, so that a MemoryError leaves the columns as they were)."""
        n = self.n
        grown = {name: np.empty((*getattr(self, name).shape[:-1], new), getattr(self, name).dtype)
                 for name in ("line", "time", "ints", "ids")}
        for name, a in grown.items():
            a[..., :n] = getattr(self, name)[..., :n]
            setattr(self, name, a)

    def append(self, base: int, row: np.ndarray, time: np.ndarray, ints: np.ndarray, ids: np.ndarray,
               gmap: np.ndarray, done: int) -> None:
        """Append events: their 0-based line within a pass (``row``; lines are numbered from
        1, the pass starting after line ``base``), ``time``, ``ints`` (column, event) and
        ``ids`` (string slot, event) in an interner of the pass, mapped through ``gmap``.
        ``done``: bytes of text read so far (for the reservation)."""
        m = len(row)
        n = self.n
        self._reserve(n + m, done)
        np.add(row, base + 1, out=self.line[n:n + m])
        self.time[n:n + m] = time
        self.ints[:, n:n + m] = ints
        # gmap[ids], row by row in C (bounds checked): numpy's take into this 2-D slice,
        # not contiguous, went through a temporary array, fresh pages at every pass,
        # and was half the time of this method.
        for q in range(len(ids)):
            take_matched(gmap, ids[q], _UNUSED, self.ids[q, n:n + m])
        self.n = n + m

    def arrays(self) -> dict:
        """``{"line", "time", "ints", "ids"}``: views of the first ``n`` events."""
        n = self.n
        return {"line": self.line[:n], "time": self.time[:n], "ints": self.ints[:, :n], "ids": self.ids[:, :n]}
