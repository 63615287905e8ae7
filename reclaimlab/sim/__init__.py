"""The time-stepped reclaim engine (docs/kernel.md §2, §3, §5).

Modules, one job each: :mod:`.params` (physical parameters and validation),
:mod:`.watermarks`, :mod:`.state` (the arrays), :mod:`.draw` (seeded draws),
:mod:`.lru` (page cache), :mod:`.slab` (shrinkers), :mod:`.lrulist` (ordered
parent lists), :mod:`.reclaim` (kswapd and direct reclaim), :mod:`.workload`,
:mod:`.memcgs`, :mod:`.engine` (the loop and the Dataset). The public entry
points are :func:`reclaimlab.simulate` and :func:`reclaimlab.compare`.
"""
