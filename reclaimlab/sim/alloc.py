"""When an allocation enters direct reclaim: the page allocator's watermark rules (KERNEL.md §2.4).

The model keeps counts of free pages per node, not a physical page layout,
so it follows the 4.19 allocator (mm/page_alloc.c, mm/vmscan.c) as far as
counts allow and states the one thing counts cannot tell:

* **Order 0.** ``__zone_watermark_ok()`` fails when free memory is at or
  below the min watermark (the slowpath's ``ALLOC_WMARK_MIN``): only then
  does the allocation reclaim.
* **Order > 0.** The fast path also needs a free block of the order. Page
  cache fills memory and LRU reclaim frees it page by page, so the free pages
  are scattered; the model assumes no free block of the order exists and
  that async compaction does not make one. That is what bug 202349 reports
  of its GPU allocations ("stuck in shrinkers": past the fast path and
  compaction, in direct reclaim). Such an allocation makes one direct
  reclaim pass, as a ``__GFP_NORETRY`` one does before it fails (kvmalloc()
  then falls back to vmalloc), except that for a costly order (above
  ``PAGE_ALLOC_COSTLY_ORDER`` = 3) ``shrink_zones()`` skips a node that
  ``compaction_ready()`` finds above ``high + compact_gap(order)``,
  ``compact_gap(order) = 2 << order`` pages: compaction, not reclaim, is
  what such a node needs.
"""
from __future__ import annotations

PAGE_ALLOC_COSTLY_ORDER = 3
MAX_ORDER = 11      # orders 0 to MAX_ORDER - 1 (include/linux/mmzone.h, 4.19)


def compact_gap(order: int) -> int:
    """Free pages compaction needs on top of a watermark for ``order`` (mm/internal.h).

    Examples
    --------
    >>> compact_gap(4)
    32
    """
    return 2 << order


def enters_direct_reclaim(sim, n: int, order: int) -> bool:
    """Whether a GFP_KERNEL allocation of ``order`` on node ``n`` does direct reclaim now."""
    free = sim.free(n)
    if order == 0:
        return free <= sim.wmin
    if order > PAGE_ALLOC_COSTLY_ORDER:
        return free <= sim.high + compact_gap(order)
    return True
