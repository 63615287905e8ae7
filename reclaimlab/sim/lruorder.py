"""The age order of the inactive file list: pages per file set, oldest first (docs/simulator.md).

The kernel's inactive file list is a FIFO: a page enters at the head
(``lru_cache_add()`` -> ``__pagevec_lru_add_fn()`` -> ``add_page_to_lru_list()``,
a ``list_add()``; pages deactivated by ``shrink_active_list()`` go to the head
too, ``move_active_pages_to_lru()``) and reclaim isolates from the tail
(``isolate_lru_pages()`` takes ``lru_to_page(src)``, ``src->prev``), mm/vmscan.c
and mm/swap.c, v4.18. A reference does not move an inactive page
(``mark_page_accessed()`` only sets PG_referenced); a second one moves it to
the active list (``activate_page()``). So every page stays on the inactive
list for a whole lap (the inactive pages ahead of it divided by the rate
reclaim takes them) before reclaim can reach it, and a page referenced again
within that lap is activated for sure: a page referenced at rate lambda on a
lap of T seconds is reclaimed with chance ``exp(-lambda T)``. Drawing each
scan uniformly from the list instead (the mean-field picture of
:mod:`reclaimlab.sim.draw`) reclaims it with chance ``1 / (1 + lambda T)``:
a header read twice a second on a 40-second lap is then reclaimed before
its next read once in 81 reads, not once in 10^35.

The order is kept as **cohorts**: the pages of each file set that entered
the list in one step of the run, oldest first. Within a cohort the classes
(PG_referenced or not, dirty) are mixed, as the state's counts are: the
model's time resolution is the step. Only the number of pages per
(cohort, file set) is kept; the class of a page taken from a cohort is drawn
from its set's counts, except that a set's dirty pages are its youngest
(:func:`reclaimlab.sim.lru.shrink_lruvec`).

A dirty page reclaim meets leaves the list for the active one
(``shrink_page_list()``: ``SetPageReclaim()``, ``activate_locked``) and comes
back at the **tail** once written (:meth:`InactiveOrder.add_tail`,
``rotate_reclaimable_page()``).

Pages leave the list other than through the tail: a second reference
activates them, an unlink or the inode shrinker (``invalidate_mapping_pages()``)
drops a file's pages. Which pages of a set those are does not depend on their
age (a file is read, unlinked or stripped whatever its pages' place on the
list), so they are taken from the set's cohorts in proportion to the set's
pages in each (:meth:`InactiveOrder.sync`, which finds them as the difference
between the state's counts and the order's, before each scan).

Every addition must be told with :meth:`Orders.add` when it happens (a read
back, a new file, a deactivation), so that it is placed at the head when it
entered and is not netted against removals of the same set in the same step.
"""
from __future__ import annotations

import numpy as np

from .draw import take_values

try:
    # The same removal in C (reclaimlab/native/cohorts.c): about ten thousand a run on columns
    # of hundreds of cohorts, where numpy's set-up of its eight operations was most of the cost.
    from .._native import remove_proportionally as _c_remove_proportionally
except ImportError:            # an extension built before cohorts.c: the numpy calls below
    _c_remove_proportionally = None

#: Cohorts the warm start's inactive pages are spread over, each file set evenly along the list.
#: The order of a run's first pages is not known (the machine has been up a while, engine._populate);
#: spreading each set evenly is the neutral choice. 256 cohorts put about 1,600 pages in each of
#: compile-and-copy's 4 GiB node, less than a second of its reclaim.
INITIAL_COHORTS = 256


def remove_proportionally(col: np.ndarray, total: int, gone: int) -> None:
    """Take ``gone`` of ``total`` items from ``col`` (in place) in proportion to each entry.

    Largest remainders first, the earlier entry first on a tie; ``total`` is
    ``col.sum()``, given by the caller who keeps it.

    Examples
    --------
    >>> col = np.array([10, 0, 30])
    >>> remove_proportionally(col, 40, 20)
    >>> col.tolist()
    [5, 0, 15]
    """
    if gone >= total:
        col[:] = 0
        return
    if gone <= 0:
        return
    if _c_remove_proportionally is not None and _c_remove_proportionally(col, total, gone):
        return
    share = col * gone
    q = share // total
    rem = gone - int(q.sum())
    if rem:
        frac = share - q * total
        # Only entries with a remainder can get one more (rem < their count: each is under
        # total, they sum to rem * total). Sorting just those, in index order, keeps the
        # stable order of the whole column: the same entries at a fraction of the cost.
        idx = frac.nonzero()[0]     # np.flatnonzero without its Python wrappers (frac is 1-d)
        if rem == 1:
            q[idx[int(np.argmax(frac[idx]))]] += 1    # argmax: the first of the largest
        else:
            q[idx[np.argsort(-frac[idx], kind="stable")[:rem]]] += 1
    col -= q


class InactiveOrder:
    """The inactive file list of one (node, memcg) as cohorts of pages per file set.

    Parameters
    ----------
    sets : int
        File sets (the state's ``k`` axis).
    """

    def __init__(self, sets: int) -> None:
        self.sets = sets
        # Cohorts (rows), oldest at self.start. Stored column by column (Fortran order): the
        # removals of a set's pages (sync, remove_proportionally) walk one column of thousands
        # of cohorts, and a column in one block is a fraction of the memory traffic of one
        # spread over every row; the per-cohort work (add, take_oldest) touches a few sets.
        self.rows = np.zeros((64, sets), np.int64, order="F")
        # The same memory as a memoryview: add() changes one count, which a memoryview's
        # item access does without numpy's scalar boxing (kept in step with self.rows).
        self._items = memoryview(self.rows)
        self.stamps = np.full(64, -np.inf)
        self.start = 0          # the oldest cohort still holding pages (or self.end)
        self.end = 0            # one past the newest cohort
        self.known = [0] * sets  # pages per set in the cohorts (== the state's inactive pages after sync)
        self.head_stamp = -np.inf  # stamps[end - 1] as a Python float: add()'s test without a numpy read
        self.tail_made: tuple[int, float] | None = None   # (index, stamp) of the cohort add_tail() made last

    # cohorts -------------------------------------------------------------
    def _append(self, stamp: float) -> int:
        if self.end == len(self.rows):
            live = self.end - self.start
            if live * 2 > len(self.rows):      # grow
                rows = np.zeros((len(self.rows) * 2, self.sets), np.int64, order="F")
                stamps = np.full(len(rows), -np.inf)
            else:                              # compact: move the live cohorts down
                rows, stamps = self.rows, self.stamps
            rows[:live] = self.rows[self.start:self.end]
            stamps[:live] = self.stamps[self.start:self.end]
            rows[live:] = 0
            stamps[live:] = -np.inf
            self.rows, self.stamps = rows, stamps
            self._items = memoryview(rows)
            self.start, self.end = 0, live
            self.tail_made = None
        i = self.end
        self.rows[i] = 0
        self.stamps[i] = stamp
        self.head_stamp = stamp
        self.end += 1
        return i

    def add(self, k: int, pages: int, stamp: float) -> None:
        """``pages`` pages of set ``k`` enter at the head (the newest cohort, made if ``stamp`` is new)."""
        if pages <= 0:
            return
        i = self.end - 1
        if i < self.start or self.head_stamp != stamp:
            i = self._append(stamp)
        pages = int(pages)
        self._items[i, k] += pages
        self.known[k] += pages

    def add_tail(self, k: int, pages: int, stamp: float) -> None:
        """``pages`` pages of set ``k`` enter at the tail: the next isolation takes them first.

        ``rotate_reclaimable_page()`` -> ``pagevec_move_tail_fn()`` (mm/swap.c,
        v4.19): a page reclaim marked PageReclaim moves to the inactive tail
        when its writeback ends. The pages of one step's calls share one
        cohort, older than every other.
        """
        if pages <= 0:
            return
        if self.start == self.end:                 # an empty list: tail and head are one
            self.add(k, pages, stamp)
            return
        if self.tail_made != (self.start, stamp):
            if self.start == 0:                    # room below the oldest cohort
                live, room = self.end, 64
                rows = np.zeros((len(self.rows) + room, self.sets), np.int64, order="F")
                stamps = np.full(len(rows), -np.inf)
                rows[room:room + live] = self.rows[:live]
                stamps[room:room + live] = self.stamps[:live]
                self.rows, self.stamps = rows, stamps
                self._items = memoryview(rows)     # add() writes through it: the new rows
                self.start, self.end = room, room + live
            self.start -= 1
            self.rows[self.start] = 0
            self.stamps[self.start] = self.stamps[self.start + 1]
            self.tail_made = (self.start, stamp)
        self.rows[self.start, k] += pages
        self.known[k] += int(pages)

    def spread(self, counts: list[int], cohorts: int = INITIAL_COHORTS, stamp: float = -1.0) -> None:
        """Put ``counts`` pages per set on the list, each set evenly over ``cohorts`` cohorts (a warm start)."""
        base = np.array([np.full(cohorts, c // cohorts, np.int64) for c in counts]).T   # (cohorts, sets)
        for k, c in enumerate(counts):
            base[:c % cohorts, k] += 1         # the remainder one each, oldest first
        for row in base:
            i = self._append(stamp)
            self.rows[i] = row
        self.known = [a + int(c) for a, c in zip(self.known, counts)]

    def cohorts(self) -> np.ndarray:
        """The live cohorts, oldest first: an array (cohorts, sets) of pages (a view)."""
        return self.rows[self.start:self.end]

    # reconciling with the state's counts ---------------------------------
    def sync(self, inactive: list[int], stamp: float) -> None:
        """Make the order hold ``inactive`` pages per set (the state's p_inact + p_ref + p_dirty - p_dirty_act).

        Pages the state lost since the order last saw it (activated, unlinked,
        stripped with their inode) are taken from the set's cohorts in
        proportion to its pages in each: largest remainders first, the older
        cohort first on a tie. Pages it gained without :meth:`add` (none in
        the model's paths) enter at the head.
        """
        for k, (want, have) in enumerate(zip(inactive, self.known)):
            if want == have:
                continue
            if want > have:
                self.add(k, want - have, stamp)
                continue
            remove_proportionally(self.rows[self.start:self.end, k], have, have - want)
            self.known[k] = want
        self._trim()

    def _trim(self) -> None:
        rows = self.rows
        while self.start < self.end and not rows[self.start].any():
            self.start += 1

    # reclaim --------------------------------------------------------------
    def take_oldest(self, rng: np.random.Generator, pages: int) -> list[int]:
        """Isolate ``pages`` pages from the tail: pages per set taken, oldest cohorts first.

        Whole cohorts go first; the last one is split over its sets by a
        seeded draw (its pages are mixed within the step they entered in).
        """
        taken = [0] * self.sets
        left = int(pages)
        rows = self.rows
        while left > 0 and self.start < self.end:
            row = rows[self.start]
            counts = row.tolist()          # a few sets: Python ints beat numpy's reductions
            total = sum(counts)
            if total == 0:
                self.start += 1
                continue
            if total <= left:
                got = counts
                row[:] = 0
                self.start += 1
            else:
                got = take_values(rng, counts, left)
                row -= np.array(got, np.int64)
            left -= sum(got)
            taken = [a + b for a, b in zip(taken, got)]
        self.known = [a - b for a, b in zip(self.known, taken)]
        return taken


class Orders:
    """The inactive lists' orders of a run: one :class:`InactiveOrder` per (node, memcg), made when first used.

    ``now`` is the start of the current step (the engine sets it): the stamp
    of the cohort pages entering now join.
    """

    def __init__(self, sets: int) -> None:
        self.sets = sets
        self.now = 0.0
        self.lists: dict[tuple[int, int], InactiveOrder] = {}

    def at(self, n: int, m: int) -> InactiveOrder:
        """The order of (node ``n``, memcg ``m``)."""
        order = self.lists.get((n, m))
        if order is None:
            order = self.lists[(n, m)] = InactiveOrder(self.sets)
        return order

    def add(self, n: int, m: int, k: int, pages: int) -> None:
        """``pages`` pages of set ``k`` enter the inactive list of (n, m) at its head, now."""
        if pages > 0:
            order = self.lists.get((n, m))     # self.at(n, m), one call fewer on a hot path
            if order is None:
                order = self.at(n, m)
            order.add(k, pages, self.now)
