"""Zone watermarks as the kernel computes them (mm/page_alloc.c).

``min_free_kbytes`` defaults to ``int_sqrt(lowmem_kbytes * 16)`` clamped to
[128, 262144]; each node gets a share in proportion to its size. The gap
between watermarks is ``max(min / 4, managed * watermark_scale_factor / 10000)``:
``low = min + gap`` and ``high = min + 2 * gap``.
"""
from __future__ import annotations

import math

from .params import PAGE_KIB


def default_min_free_kbytes(total_pages: int) -> int:
    """The kernel's default vm.min_free_kbytes for ``total_pages`` of lowmem.

    Examples
    --------
    >>> default_min_free_kbytes(1 << 20)   # 4 GiB
    8192
    """
    kbytes = total_pages * PAGE_KIB
    return min(max(math.isqrt(kbytes * 16), 128), 262_144)


def watermarks(node_pages: int, nodes: int, min_free_kbytes: int | None,
               scale_factor: int = 10) -> tuple[int, int, int]:
    """``(min, low, high)`` in pages for one node of ``node_pages``.

    Raises
    ------
    ValueError
        If the watermarks would not fit in the node (min_free_kbytes too large).

    Examples
    --------
    >>> watermarks(524_288, 2, None)
    (1024, 1548, 2072)
    """
    mfk = default_min_free_kbytes(node_pages * nodes) if min_free_kbytes is None else min_free_kbytes
    wmin = (mfk // PAGE_KIB) * node_pages // (node_pages * nodes)
    gap = max(wmin // 4, node_pages * scale_factor // 10_000)
    low, high = wmin + gap, wmin + 2 * gap
    if not wmin < low < high < node_pages:
        raise ValueError(
            f"min_free_kbytes={mfk} gives watermarks min={wmin} low={low} high={high} pages, "
            f"which are out of order or exceed node_pages={node_pages}; allowed: "
            f"min < low < high < node_pages"
        )
    return wmin, low, high
