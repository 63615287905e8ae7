"""When an allocation enters direct reclaim: the page allocator's watermark rules (docs/kernel.md §2.4).

The model keeps counts of free pages per node, not a physical page layout,
so it follows the 4.19 allocator (mm/page_alloc.c, mm/vmscan.c) as far as
counts allow and states what counts cannot tell:

* **Order 0.** ``__zone_watermark_ok()`` fails when free memory is at or
  below the min watermark (the slowpath's ``ALLOC_WMARK_MIN``): only then
  does the allocation reclaim.
* **Order > 0**, as kvmalloc() asks for it: GFP_KERNEL | __GFP_NORETRY, one
  direct reclaim pass and then the vmalloc fallback. The fast path also needs
  a free block of the order. Page cache fills memory and LRU reclaim frees it
  page by page, so the free pages are scattered; the model **assumes** no
  free block of the order exists and that async compaction does not make one
  (bug 202349's GPU allocations were "stuck in shrinkers": past the fast
  path and compaction). For a costly order (above ``PAGE_ALLOC_COSTLY_ORDER``
  = 3) ``shrink_zones()`` skips a node ``compaction_ready()`` finds above
  ``high + compact_gap(order)`` (``2 << order`` pages; this assumes a
  fragmentation index above vm.extfrag_threshold, as no free block implies),
  so such an allocation reclaims only at or below that level; a lower order
  always reclaims. The assumption is weakest for orders 1-3, whose blocks a
  real node seldom runs out of.

Not modelled, each of which would send fewer allocations to reclaim:

* compaction deferral: after kcompactd or sync compaction fails, a costly
  __GFP_NORETRY allocation that finds compaction deferred fails at once,
  with no reclaim (``COMPACT_DEFERRED`` → ``nopage``);
* ``wake_all_kswapds(order)``: kswapd woken for the order reclaims above
  the low watermark when no block of the order is free, then wakes kcompactd;
* for a costly order, reclaim continues until ``compact_gap(order)`` pages
  are free (``should_continue_reclaim()``); the model's pass stops at 32;
* on more than one node, only the allocating node is checked.

How many allocations of a costly order reclaim depends on how close to the
high watermark free memory sits. Free memory saws between the low and high
watermarks as kswapd sleeps and wakes, and the engine resolves that only
per step, so use a fine step: in desktop-copy under 4.19.3 (seed 0) the
share that reclaims is 3% at ``dt_s`` 0.1, 13% at 0.05, 35% at 0.0125 and
44% at 0.003, and p99 is 0.3, 12, 65 and 75 ms (before issue 17's fixes the
shares were 8%, 19%, 40% and 48%, and p99 settled at 80 ms from 0.0125 down).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:                      # the engine imports this module
    from .engine import Sim

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


def enters_direct_reclaim(sim: Sim, n: int, order: int) -> bool:
    """Whether an allocation of ``order`` on node ``n`` makes a direct reclaim pass now.

    Order 0 is a GFP_KERNEL allocation, a higher order kvmalloc()'s
    GFP_KERNEL | __GFP_NORETRY attempt (module docstring).
    """
    free = sim.free(n)
    if order == 0:
        return free <= sim.wmin
    if order > PAGE_ALLOC_COSTLY_ORDER:
        return free <= sim.high + compact_gap(order)
    return True
