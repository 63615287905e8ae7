"""The file LRU of one (node, memcg): page-cache reclaim (docs/kernel.md §2.3).

* Scan target per priority pass: ``inactive >> priority``, taken in chunks of
  SWAP_CLUSTER_MAX (32) pages; reclaim stops once ``nr_to_reclaim`` pages are
  back, except in global direct reclaim at DEF_PRIORITY, which finishes the
  whole priority-12 pass.
* An unmapped clean file page on the inactive list is reclaimed when scanned,
  PG_referenced or not (page_check_references returns RECLAIM_CLEAN for it);
  what protects a page is activation: a second reference (mark_page_accessed)
  moves it to the active list.
* A file set's dirty pages are its youngest inactive pages: a write puts
  them at the head and the flushers write the oldest first, so reclaim, which
  takes the oldest, meets a set's dirty pages only once it has taken all its
  clean ones (the other classes are drawn from the set's counts).
* A dirty file page reclaim meets is marked PageReclaim and activated
  (shrink_page_list(), v4.18/v4.19: ``SetPageReclaim()``, ``goto
  activate_locked``), so it leaves the inactive list (``State.p_dirty_act``);
  when the flushers have written it, end_page_writeback() ->
  rotate_reclaimable_page() moves it, clean and unreferenced
  (page_check_references() cleared PG_referenced), to the inactive **tail**
  (pagevec_move_tail_fn() clears PG_active), the next page reclaim takes. The
  exception, kswapd writing the page itself (a PageReclaim page met again
  while PGDAT_DIRTY is set), cannot arise here: the marked pages are on the
  active list until written, and its head is far from the tail
  shrink_active_list() takes from, so they are not deactivated first.
* The active list is aged (deactivated ``active >> priority``) when the
  inactive list is low: ``inactive * ratio < active`` with
  ``ratio = int_sqrt(10 * GiB)`` (inactive_list_is_low). shrink_active_list()
  clears PG_active but not PG_referenced (an unmapped page's
  page_referenced() is 0 and leaves the flag alone), so a page referenced
  while active (``State.p_act_ref``) enters the inactive list referenced and
  its next reference activates it again (mark_page_accessed()).
* The inactive list is a FIFO: pages enter at the head and reclaim isolates
  the oldest from the tail (isolate_lru_pages), so a page is safe from
  reclaim for a whole lap of the list; the order is kept per step as cohorts
  of pages per file set (:mod:`reclaimlab.sim.lruorder`).
* Reclaimed pages leave shadow entries; the active list is aged on every
  pass while refaults are being activated (:mod:`reclaimlab.sim.workingset`).
"""
from __future__ import annotations

import math

import numpy as np

from .draw import take_values
from .state import State

SWAP_CLUSTER_MAX = 32
DEF_PRIORITY = 12
PAGES_PER_GIB = 262_144


def inactive_ratio(pages: int) -> int:
    """inactive_list_is_low()'s ratio for an LRU of ``pages`` pages."""
    gib = pages // PAGES_PER_GIB
    return math.isqrt(10 * gib) if gib else 1


def shrink_lruvec(st: State, rng: np.random.Generator, n: int, m: int, priority: int,
                  need: int | None) -> tuple[int, int]:
    """Scan the file LRU of node ``n``, memcg ``m`` at ``priority``.

    Parameters
    ----------
    need : int or None
        Pages still wanted by the caller; scanning stops (at a 32-page chunk)
        once they are reclaimed. None scans the whole priority target.

    Returns
    -------
    (scanned, reclaimed) pages.
    """
    # One cell's counts as Python ints (a hot path: numpy's per-call cost dominated it).
    p_inact, p_ref, p_act, p_dirty = st.lists[:4, n, m].tolist()
    K = len(p_inact)
    d_act = st.p_dirty_act[n, m].tolist()          # dirty, activated by reclaim (PageReclaim)
    d_inact = [a - b for a, b in zip(p_dirty, d_act)]
    order = st.order.at(n, m)
    # What left the list since the last scan (activated, unlinked, stripped) leaves its cohorts.
    order.sync([a + b + c for a, b, c in zip(p_inact, p_ref, d_inact)], st.order.now)
    n_inact, n_act = sum(p_inact) + sum(p_ref) + sum(d_inact), sum(p_act) + sum(d_act)
    shadows = st.workingset.at(n, m)
    # inactive_list_is_low(): ratio 0 while refaults are being activated (2a2e48854d70).
    if n_act and (shadows.refaults_seen() or n_inact * inactive_ratio(n_inact + n_act) < n_act):
        # shrink_active_list() takes from the active tail; the dirty pages reclaim just
        # activated are at its head (written back long before the tail reaches them).
        moved = take_values(rng, p_act, min(n_act >> priority, sum(p_act)))
        # shrink_active_list(): ClearPageActive() only; the moved pages referenced while
        # active keep PG_referenced (a draw of the set's active pages with it).
        a_ref = st.p_act_ref[n, m].tolist()
        kept = [take_values(rng, [r, a - r], x)[0] if x and r else 0
                for r, a, x in zip(a_ref, p_act, moved)]
        p_act = [a - x for a, x in zip(p_act, moved)]
        p_inact = [a + x - y for a, x, y in zip(p_inact, moved, kept)]
        p_ref = [a + y for a, y in zip(p_ref, kept)]
        st.p_act[n, m] = p_act
        st.p_act_ref[n, m] = [r - y for r, y in zip(a_ref, kept)]
        st.p_inact[n, m] = p_inact
        st.p_ref[n, m] = p_ref
        n_inact += sum(moved)
        # move_active_pages_to_lru(): deactivated pages enter the inactive list at its head.
        for k, x in enumerate(moved):
            order.add(k, x, st.order.now)
    target = n_inact >> priority
    if target == 0:
        return 0, 0
    clean = sum(p_inact) + sum(p_ref)
    if need is not None and clean:
        # Chunks of 32 until enough clean pages have come back.
        expect = need * n_inact / clean
        target = min(target, SWAP_CLUSTER_MAX * math.ceil(expect / SWAP_CLUSTER_MAX))
    # isolate_lru_pages(): the oldest pages, from the tail (lruorder.py); each set's share
    # split over its classes (PG_referenced or not) as its counts are, its dirty pages last.
    per_set = order.take_oldest(rng, target)
    freed = 0
    activated = 0
    dirty = [0] * K
    for k, t in enumerate(per_set):
        if not t:
            continue
        # A set's dirty pages are its youngest inactive ones: written at the head, and the
        # flushers write the oldest first (writeback()), so the oldest t pages of the set
        # are dirty only past its clean ones.
        met = max(t - p_inact[k] - p_ref[k], 0)
        got = take_values(rng, [p_inact[k], p_ref[k]], t - met) + [met]
        dirty[k] = got[2]
        p_inact[k] -= got[0]
        p_ref[k] -= got[1]
        freed += got[0] + got[1]
        # shrink_page_list(): a dirty file page is marked PageReclaim and activated
        # (activate_locked): off the inactive list until written back (writeback()).
        d_act[k] += got[2]
        activated += got[2]
    st.p_inact[n, m] = p_inact
    st.p_ref[n, m] = p_ref
    st.p_dirty_act[n, m] = d_act
    # workingset_eviction(): the reclaimed pages leave shadows and age the lruvec.
    shadows.evicted([t - d for t, d in zip(per_set, dirty)], st.order.now, st.workingset.horizon)
    return freed + activated, freed


def writeback(st: State, budget_pages: int, rng: np.random.Generator) -> int:
    """Clean up to ``budget_pages`` dirty pages (flusher threads); returns pages cleaned.

    In each (node, memcg, set) cell the pages reclaim activated (PageReclaim,
    ``State.p_dirty_act``) are written first: the flushers write inodes in
    the order they were dirtied (``queue_io()``, oldest ``dirtied_when``
    first), and those pages went round the whole inactive list since. Each
    goes to the inactive tail, unreferenced (end_page_writeback() ->
    rotate_reclaimable_page()); the others stay where they are, referenced
    once by their write (generic_perform_write()).
    """
    # Only the cells with dirty pages: take_values draws nothing for an empty class,
    # so drawing over them alone is the same draw as over the whole array.
    dirty = st.lists[3].reshape(-1)             # p_dirty: a view of the contiguous block
    where = dirty.nonzero()[0]                  # np.flatnonzero without its wrappers (dirty is 1-d)
    values = dirty[where].tolist()
    total = sum(values)
    if total == 0 or budget_pages <= 0:
        return 0
    cleaned = take_values(rng, values, budget_pages)
    dirty[where] -= cleaned
    d_act = st.p_dirty_act.reshape(-1)
    marked = d_act[where].tolist()
    rotated = [min(c, d) for c, d in zip(cleaned, marked)]
    st.lists[1].reshape(-1)[where] += [c - r for c, r in zip(cleaned, rotated)]   # p_ref
    if any(rotated):
        d_act[where] -= rotated
        st.lists[0].reshape(-1)[where] += rotated                                  # p_inact
        _, M, K = st.p_dirty.shape
        for i, r in zip(where.tolist(), rotated):
            if r:
                n, rest = divmod(i, M * K)
                m, k = divmod(rest, K)
                st.order.at(n, m).add_tail(k, r, st.order.now)
    return sum(cleaned)


def access_pages(st: State, rng: np.random.Generator, n: int, m: int, k: int, pages: int) -> None:
    """mark_page_accessed() on ``pages`` present pages of file set ``k``.

    Inactive unreferenced pages get PG_referenced; inactive referenced pages
    are activated, PG_referenced cleared (the second reference promotes);
    active unreferenced pages get PG_referenced; active referenced pages stay
    (mm/swap.c, v4.19).
    """
    # Scalar counts of one cell (a hot path): take_values avoids building arrays.
    c = accessed(rng, st.lists[:3, n, m, k].tolist() + [int(st.p_act_ref[n, m, k])], pages)
    st.lists[:3, n, m, k] = c[:3]      # p_inact, p_ref, p_act
    st.p_act_ref[n, m, k] = c[3]


def accessed(rng: np.random.Generator, counts: list[int], pages: int) -> list[int]:
    """:func:`access_pages` on one cell's ``[p_inact, p_ref, p_act, p_act_ref]``: the counts after it.

    ``p_act_ref`` is the part of ``p_act`` with PG_referenced.
    """
    p_inact, p_ref, p_act, a_ref = counts
    hit = take_values(rng, [p_inact, p_ref, p_act - a_ref, a_ref], pages)
    # mark_page_accessed(): activate_page() + ClearPageReferenced() for an inactive
    # referenced page; SetPageReferenced() for an unreferenced one, active or not.
    return [p_inact - hit[0], p_ref + hit[0] - hit[1], p_act + hit[1], a_ref + hit[2]]
