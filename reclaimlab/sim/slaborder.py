"""The superblock's dentry and inode LRUs in walk order (docs/simulator.md, "Slab caches and shrinkers").

The kernel's list_lru is ordered: ``list_lru_add()`` puts an object at the
tail (``list_add_tail()``) and ``list_lru_walk_one()`` walks from the head,
oldest first (mm/list_lru.c, v4.19). The isolate callback decides each
object's fate: ``dentry_lru_isolate()`` (fs/dcache.c) and
``inode_lru_isolate()`` (fs/inode.c) clear DCACHE_REFERENCED / I_REFERENCED
of a referenced object and return LRU_ROTATE, which moves it to the tail
(``list_move_tail()``); an unreferenced one is freed (LRU_REMOVED). A lookup
sets the bit but does not move the object. So an object is met once per lap
of the list, and one looked up again within the lap survives it for sure:
at a lookup rate lambda and a lap of T seconds it is freed with chance
``exp(-lambda T)``, where a uniform draw of the scanned objects (the mean
field of :mod:`reclaimlab.sim.draw`, which the other slab caches still use)
frees it with chance ``1 / (1 + lambda T)``.

Each (node, memcg) has one dentry and one inode order. Both are
:class:`~reclaimlab.sim.lruorder.InactiveOrder` cohorts (the objects that
entered in one step of the run, oldest first; the order's newest end is the
list_lru tail, :meth:`~reclaimlab.sim.lruorder.InactiveOrder.take_oldest`
walks from the head) over ``classes x file sets`` columns:

* dentries: referenced, unreferenced;
* inodes: referenced, unreferenced, and **bare**: unreferenced inodes the
  walk stripped of their page cache (v4.18's LRU_RETRY), known to have no
  pages, so a later lap frees them rather than stripping them again. Inodes
  the walk found off the LRU (dirty pages; any pages under v5.16) leave the
  cohorts for a per-set count (``ObjectOrder.off``) and rejoin the tail
  when the set's share of such inodes falls (written back, or their pages
  reclaimed): inode_sync_complete() -> inode_add_lru() puts a cleaned inode
  at the tail.

Resolution: the step. Within a cohort the objects of a set and class are
mixed; a walk that ends inside a cohort takes its objects with a seeded
uniform draw (:func:`~reclaimlab.sim.draw.take_values`).

The state's counts (``d_ref``, ``d_unref``, ``i_ref``, ``i_unref``) stay the
truth that the rest of the model changes; an order is reconciled with them
before each walk (:func:`sync_dentries`, :func:`sync_inodes`):

* an object that enters the list (a new dentry, a dentry left by a lookup
  after the close, an inode whose dentry was freed) must be told with
  :meth:`SlabOrders.add` when it enters, so that it joins the tail then;
* a lookup that finds a cached dentry sets its bit in place: which dentry a
  lookup hits does not depend on its place on the list, so the dentries a
  set gained in the referenced class and lost in the unreferenced one are
  converted in place, in proportion to the set's unreferenced dentries in
  each cohort;
* objects that leave other than through the walk (a lookup pins an inode,
  an unlink) are taken in proportion to the set's objects in each cohort
  (and, for inodes, in each of the unreferenced and bare classes).

Still mean field: which inode has pages (a share per set, from the set's
pages, among its inodes not known to be bare; for a set never looked up
again, its youngest inodes on the list, :func:`reclaimlab.sim.slab._prune_icache`)
and which has dirty pages;
a lookup takes an inode off the inode LRU at once (the kernel leaves it
there until a walk meets it, LRU_REMOVED, or its dentry goes and
``inode_add_lru()`` finds it still on the list and sets I_REFERENCED).
"""
from __future__ import annotations

import numpy as np

from .lruorder import INITIAL_COHORTS, InactiveOrder, remove_proportionally

#: Column classes of the orders.
REF, UNREF, BARE = 0, 1, 2
DENTRY_CLASSES, INODE_CLASSES = 2, 3


class ObjectOrder(InactiveOrder):
    """One list_lru as cohorts over ``classes x sets`` columns (column ``c * sets + k``).

    Parameters
    ----------
    sets : int
        File sets (the state's ``k`` axis).
    classes : int
        Object classes (:data:`DENTRY_CLASSES` or :data:`INODE_CLASSES`).
    """

    def __init__(self, sets: int, classes: int) -> None:
        super().__init__(sets * classes)
        self.file_sets = sets
        self.classes = classes
        self.fresh = True        # nothing told or synced yet: the first sync spreads the state's objects
        # Per set: inodes the walk took off the LRU (dirty pages; any pages under v5.16), out
        # of the cohorts until they rejoin the tail (inode_sync_complete() -> inode_add_lru()).
        self.off = [0] * sets

    def col(self, c: int, k: int) -> int:
        """The column of class ``c``, file set ``k``."""
        return c * self.file_sets + k

    def held(self, c: int) -> list[int]:
        """Objects of class ``c`` per file set."""
        K = self.file_sets
        return self.known[c * K:(c + 1) * K]

    def put(self, c: int, k: int, count: int, stamp: float) -> None:
        """``count`` objects of class ``c``, set ``k``, enter at the tail (list_lru_add())."""
        if count > 0:
            self.fresh = False
            self.add(c * self.file_sets + k, count, stamp)     # self.col(c, k), without the call

    def start_from(self, per_class: list[list[int]]) -> None:
        """A warm start: each set's objects of each class spread evenly along the list."""
        counts = [x for row in per_class for x in row]
        if any(counts):
            self.spread(counts, INITIAL_COHORTS)
        self.fresh = False

    def convert(self, k: int, src: int, dst: int, count: int) -> None:
        """Move ``count`` objects of set ``k`` from class ``src`` to ``dst`` in place, in proportion per cohort."""
        s, d = self.col(src, k), self.col(dst, k)
        have = self.known[s]
        count = min(count, have)
        if count <= 0:
            return
        col = self.rows[self.start:self.end, s]
        before = col.copy()
        remove_proportionally(col, have, count)
        self.rows[self.start:self.end, d] += before - col
        self.known[s] -= count
        self.known[d] += count

    def remove(self, cols: list[int], count: int) -> None:
        """Take ``count`` objects from the columns ``cols`` together, in proportion per cohort and column."""
        have = sum(self.known[c] for c in cols)
        count = min(count, have)
        if count <= 0:
            return
        if len(cols) == 1:
            # One column: the same draw on a view, in place; remove_proportionally takes
            # exactly count (count <= have), so the known count moves by count.
            c = cols[0]
            remove_proportionally(self.rows[self.start:self.end, c], have, count)
            self.known[c] -= count
            self._trim()
            return
        block = self.rows[self.start:self.end][:, cols]
        flat = block.ravel()
        before = flat.reshape(block.shape).sum(axis=0)
        remove_proportionally(flat, have, count)
        block = flat.reshape(block.shape)
        self.rows[self.start:self.end, cols] = block
        for c, b, a in zip(cols, before.tolist(), block.sum(axis=0).tolist()):
            self.known[c] -= b - a
        self._trim()


def sync_dentries(order: ObjectOrder, ref: list[int], unref: list[int]) -> None:
    """Make the dentry order hold the state's ``ref`` / ``unref`` dentries per set (module docstring)."""
    if order.fresh:
        order.start_from([ref, unref])
        return
    for k, (want_r, want_u) in enumerate(zip(ref, unref)):
        dr = want_r - order.known[order.col(REF, k)]
        du = want_u - order.known[order.col(UNREF, k)]
        if dr > 0 and du < 0:
            # dput() of a dentry on the LRU sets DCACHE_REFERENCED where it is (fs/dcache.c).
            c = min(dr, -du)
            order.convert(k, UNREF, REF, c)
            dr, du = dr - c, du + c
        for cls, d in ((REF, dr), (UNREF, du)):
            if d > 0:
                order.add(order.col(cls, k), d, _stamp(order))
            elif d < 0:
                order.remove([order.col(cls, k)], -d)


def sync_inodes(order: ObjectOrder, ref: list[int], unref: list[int]) -> None:
    """Make the inode order hold the state's ``ref`` / ``unref`` (unreferenced and bare) inodes per set."""
    if order.fresh:
        order.start_from([ref, unref, [0] * len(ref)])
        return
    for k, (want_r, want_u) in enumerate(zip(ref, unref)):
        r, u, b = order.col(REF, k), order.col(UNREF, k), order.col(BARE, k)
        dr = want_r - order.known[r]
        du = want_u - order.known[u] - order.known[b] - order.off[k]
        if dr > 0:
            order.add(r, dr, _stamp(order))
        elif dr < 0:
            order.remove([r], -dr)
        if du > 0:
            order.add(u, du, _stamp(order))
        elif du < 0:
            # Off the LRU or on it: in proportion (a lookup or unlink does not care).
            on = order.known[u] + order.known[b]
            gone_off = min(order.off[k], (-du * order.off[k]) // (on + order.off[k]))
            order.off[k] -= gone_off
            order.remove([u, b], -du - gone_off)


def _stamp(order: ObjectOrder) -> float:
    """The stamp of objects found in the state but never told: the newest cohort's (they join the tail)."""
    return float(order.head_stamp) if order.end > order.start else 0.0


class SlabOrders:
    """The superblock lists' orders of a run: a dentry and an inode :class:`ObjectOrder` per (node, memcg).

    Made when first used; ``now`` is read from the inactive lists' clock
    (:class:`~reclaimlab.sim.lruorder.Orders`, which the engine sets each step).
    """

    def __init__(self, sets: int) -> None:
        self.sets = sets
        self.dentry: dict[tuple[int, int], ObjectOrder] = {}
        self.inode: dict[tuple[int, int], ObjectOrder] = {}

    def dentries(self, n: int, m: int) -> ObjectOrder:
        """The dentry order of (node ``n``, memcg ``m``)."""
        order = self.dentry.get((n, m))
        if order is None:
            order = self.dentry[(n, m)] = ObjectOrder(self.sets, DENTRY_CLASSES)
        return order

    def inodes(self, n: int, m: int) -> ObjectOrder:
        """The inode order of (node ``n``, memcg ``m``)."""
        order = self.inode.get((n, m))
        if order is None:
            order = self.inode[(n, m)] = ObjectOrder(self.sets, INODE_CLASSES)
        return order

    def warm_start(self, st) -> None:
        """Spread every (node, memcg)'s dentries and unpinned inodes evenly along their lists.

        The order of a run's first objects is not known (the machine has
        been up a while); spreading each set and class evenly is the neutral
        choice, as for the inactive list (:data:`~reclaimlab.sim.lruorder.INITIAL_COHORTS`).
        """
        nodes, memcgs = st.d_ref.shape[:2]
        for n in range(nodes):
            for m in range(memcgs):
                d_ref, d_unref, i_ref, i_unref = st.lists[4:8, n, m].tolist()
                if (n, m) not in self.dentry and (any(d_ref) or any(d_unref)):
                    self.dentries(n, m).start_from([d_ref, d_unref])
                if (n, m) not in self.inode and (any(i_ref) or any(i_unref)):
                    self.inodes(n, m).start_from([i_ref, i_unref, [0] * len(i_ref)])

    def add_dentries(self, n: int, m: int, k: int, count: int, now: float, referenced: bool) -> None:
        """``count`` new dentries of set ``k`` join (n, m)'s dentry LRU at the tail (d_lru_add())."""
        if count > 0:
            # put() inlined: one call per read and create in the workload (a hot path).
            order = self.dentry.get((n, m))
            if order is None:
                order = self.dentries(n, m)
            order.fresh = False
            order.add((REF if referenced else UNREF) * order.file_sets + k, int(count), now)


def as_array(order: ObjectOrder) -> np.ndarray:
    """The live cohorts as (cohorts, classes, sets), oldest first (for tests and figures)."""
    return order.cohorts().reshape(-1, order.classes, order.file_sets)
