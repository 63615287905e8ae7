"""The file LRU of one (node, memcg): page-cache reclaim (docs/kernel.md §2.3).

* Scan target per priority pass: ``inactive >> priority``, taken in chunks of
  SWAP_CLUSTER_MAX (32) pages; reclaim stops once ``nr_to_reclaim`` pages are
  back, except in global direct reclaim at DEF_PRIORITY, which finishes the
  whole priority-12 pass.
* An unmapped clean file page on the inactive list is reclaimed when scanned,
  PG_referenced or not (page_check_references returns RECLAIM_CLEAN for it);
  what protects a page is activation: a second reference (mark_page_accessed)
  moves it to the active list. Dirty pages are passed over until writeback
  has cleaned them.
* The active list is aged (deactivated ``active >> priority``) when the
  inactive list is low: ``inactive * ratio < active`` with
  ``ratio = int_sqrt(10 * GiB)`` (inactive_list_is_low).
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
    n_inact, n_act = sum(p_inact) + sum(p_ref) + sum(p_dirty), sum(p_act)
    if n_act and n_inact * inactive_ratio(n_inact + n_act) < n_act:
        moved = take_values(rng, p_act, n_act >> priority)
        p_act = [a - x for a, x in zip(p_act, moved)]
        p_inact = [a + x for a, x in zip(p_inact, moved)]
        st.p_act[n, m] = p_act
        st.p_inact[n, m] = p_inact
        n_inact += sum(moved)
    target = n_inact >> priority
    if target == 0:
        return 0, 0
    clean = sum(p_inact) + sum(p_ref)
    if need is not None and clean:
        # Chunks of 32 until enough clean pages have come back.
        expect = need * n_inact / clean
        target = min(target, SWAP_CLUSTER_MAX * math.ceil(expect / SWAP_CLUSTER_MAX))
    K = len(p_inact)
    taken = take_values(rng, p_inact + p_ref + p_dirty, target)   # classes: inactive, referenced, dirty
    st.p_inact[n, m] = [a - x for a, x in zip(p_inact, taken[:K])]
    st.p_ref[n, m] = [a - x for a, x in zip(p_ref, taken[K:2 * K])]
    # Dirty pages stay on the list (rotated) until written back.
    return sum(taken), sum(taken[:2 * K])


def writeback(st: State, budget_pages: int, rng: np.random.Generator) -> int:
    """Clean up to ``budget_pages`` dirty pages (flusher threads); returns pages cleaned."""
    # Only the cells with dirty pages: take_values draws nothing for an empty class,
    # so drawing over them alone is the same draw as over the whole array.
    dirty = st.lists[3].reshape(-1)             # p_dirty: a view of the contiguous block
    where = np.flatnonzero(dirty)
    values = dirty[where].tolist()
    total = sum(values)
    if total == 0 or budget_pages <= 0:
        return 0
    cleaned = take_values(rng, values, budget_pages)
    dirty[where] -= cleaned
    st.lists[1].reshape(-1)[where] += cleaned   # p_ref: written pages were referenced once (generic_perform_write)
    return sum(cleaned)


def access_pages(st: State, rng: np.random.Generator, n: int, m: int, k: int, pages: int) -> None:
    """mark_page_accessed() on ``pages`` present pages of file set ``k``.

    Inactive unreferenced pages get PG_referenced; inactive referenced pages
    are activated (the second reference promotes); active pages stay.
    """
    # Scalar counts of one cell (a hot path): take_values avoids building arrays.
    st.lists[:3, n, m, k] = accessed(rng, st.lists[:3, n, m, k].tolist(), pages)   # p_inact, p_ref, p_act


def accessed(rng: np.random.Generator, counts: list[int], pages: int) -> list[int]:
    """:func:`access_pages` on one cell's ``[p_inact, p_ref, p_act]``: the counts after it."""
    hit = take_values(rng, counts, pages)
    return [counts[0] - hit[0], counts[1] + hit[0] - hit[1], counts[2] + hit[1]]
