"""What each do_shrink_slab() scan-count formula is made of (docs/kernel.md §1).

Every formula is a combination of a few orthogonal rules, so one arithmetic
kernel (:mod:`reclaimlab.kernel.arith`) serves them all:

* the **delta rule**: how the per-call scan target is derived from the cache
  size (``LRU`` for ≤ 4.15, ``SHIFT`` = ``(F >> p) * 4 / S`` for 4.16+,
  ``ILOG2`` for Dave Chinner's 2019 proposal, ``CUSTOM`` for a user's patch);
* the **zero-seek branch** for ``seeks == 0`` (none before 4.20, ``F / 2``
  from 4.20, ``(F + 1) / 2`` in Rik van Riel's patch);
* the 4.19 **min-scan floor** ``max(delta, min(F, B))`` (172b06c32b94);
* Rik van Riel's **small_scan accumulator** (final -mm version);
* the **deferral** rule: pre-5.13 (deferral taken before the F/2 and 2F caps)
  or 5.13+ (``nr >> priority``, both results capped at 2F).

The integer codes below are shared with the C kernel (_scan.c).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .releases import formula_aliases

# Delta rules.
DELTA_LRU = 0
DELTA_SHIFT = 1
DELTA_ILOG2 = 2
DELTA_CUSTOM = 3

# Zero-seek branches.
ZERO_SEEK_NONE = 0      # seeks == 0 is an error (the kernel would divide by zero)
ZERO_SEEK_HALF = 1      # delta = F / 2            (4b85afbdacd2, 4.20+)
ZERO_SEEK_HALF_UP = 2   # delta = (F + 1) / 2      (Rik van Riel, 2019)

# Deferral and cap rules.
DEFER_PRE_5_13 = 0
DEFER_5_13 = 1


@dataclass(frozen=True)
class FormulaSpec:
    """One scan-count formula: its rules and its story.

    Attributes
    ----------
    name : str
        Canonical name, e.g. ``"v4.19"``.
    delta_rule, zero_seek, deferral : int
        Rule codes (module constants).
    floor : bool
        Apply the 172b06c32b94 min-scan floor after the delta step.
    accumulator : bool
        Rik van Riel's ``small_scan`` accumulator.
    kernels : str
        Kernel releases that run this arithmetic (or "proposed").
    commits : str
        The commits (or mailing-list messages) that define it.
    description : str
        A paragraph a student can follow.
    delta_fn : callable or None
        For registered formulas, the user's vectorised delta rule.
    base : str or None
        For registered formulas, the built-in formula supplying deferral, caps and scan loop.
    """

    name: str
    delta_rule: int
    zero_seek: int
    deferral: int
    floor: bool = False
    accumulator: bool = False
    kernels: str = ""
    commits: str = ""
    description: str = ""
    delta_fn: object = field(default=None, compare=False, repr=False)
    base: str | None = None

    @property
    def uses_lru(self) -> bool:
        """True when the delta comes from LRU scanning (``lru_scanned``/``lru_eligible``)."""
        return self.delta_rule == DELTA_LRU


BUILTIN: tuple[FormulaSpec, ...] = (
    FormulaSpec(
        "v4.15", DELTA_LRU, ZERO_SEEK_NONE, DEFER_PRE_5_13,
        kernels="up to 4.15",
        commits="before 9092c71bb724",
        description=(
            "Slab pressure follows page-cache pressure: each call scans "
            "4*lru_scanned/seeks * freeable / (lru_eligible+1) objects, so a "
            "shrinker sees the same fraction of its cache scanned as the LRU "
            "just had (times 4/seeks). Small caches get small targets, but the "
            "remainder is carried in nr_deferred, so they are scanned now and "
            "then. Deferred work is taken before the F/2 windup cap and the 2F "
            "cap, so skipped work keeps growing. The caller must pass "
            "lru_scanned and lru_eligible; priority is not used."
        ),
    ),
    FormulaSpec(
        "v4.16", DELTA_SHIFT, ZERO_SEEK_NONE, DEFER_PRE_5_13,
        kernels="4.16 to 4.18",
        commits="9092c71bb724 (Josef Bacik, 'mm: use sc->priority for slab shrink targets')",
        description=(
            "The target becomes (freeable >> priority) * 4 / seeks: the shift "
            "comes first, so at the default priority 12 any cache under 4096 "
            "objects gets a delta of 0 and nothing is added to its deferred "
            "count either; small caches are left alone until the priority "
            "drops. A call only scans when total_scan reaches a batch or the "
            "whole cache, and total_scan is capped at F/2 when delta < F/4, so "
            "caches under two batches are scanned only near priority 3."
        ),
    ),
    FormulaSpec(
        "v4.19", DELTA_SHIFT, ZERO_SEEK_NONE, DEFER_PRE_5_13, floor=True,
        kernels="4.19 and 4.19.y (and 4.18.15+ until its revert)",
        commits="172b06c32b94 (Roman Gushchin, 'mm: slowly shrink slabs with a relatively small number of objects')",
        description=(
            "v4.16 plus a min-scan floor: delta = max(delta, min(freeable, "
            "batch)). It was meant to put some pressure on the small caches "
            "that pin dying memory cgroups, but it scans a whole batch (1024 "
            "objects for filesystem caches) on every call even at priority "
            "12, and a cache smaller than a batch is scanned entirely on every "
            "call: about 100x more pressure on VFS caches under light reclaim. "
            "This is the arithmetic behind the 4.19 desktop freezes and "
            "compile slowdowns (bugs 202349 and 202441)."
        ),
    ),
    FormulaSpec(
        "v4.20", DELTA_SHIFT, ZERO_SEEK_HALF, DEFER_PRE_5_13, floor=True,
        kernels="4.20 and 5.0-rc",
        commits="4b85afbdacd2 (Johannes Weiner, 'mm: zero-seek shrinkers') on top of 172b06c32b94",
        description=(
            "Adds the zero-seek branch: shrinkers whose objects cost no IO to "
            "recreate (seeks 0: procfs and sysfs/kernfs superblocks, workingset "
            "shadow nodes) get delta = freeable / 2 under any pressure. The "
            "min-scan floor still follows, so everything else behaves as v4.19."
        ),
    ),
    FormulaSpec(
        "v5.0", DELTA_SHIFT, ZERO_SEEK_HALF, DEFER_PRE_5_13,
        kernels="5.0 to 5.12",
        commits="a9a238e83fbb (revert of 172b06c32b94) and 69056ee6a8a3 (revert of a76cf1a474d7)",
        description=(
            "The reverts: the min-scan floor is gone and the zero-seek branch "
            "stays, so this is v4.16 plus delta = freeable / 2 for seeks 0. "
            "Small caches are again left alone at light pressure, which brings "
            "back the dying-memcg leak the floor tried to fix; a zero-seek "
            "cache of one object is never scanned (1 / 2 = 0)."
        ),
    ),
    FormulaSpec(
        "v5.13", DELTA_SHIFT, ZERO_SEEK_HALF, DEFER_5_13,
        kernels="5.13 to 6.12 and later",
        commits="18bb473e5031 (Yang Shi, 'mm: vmscan: shrink deferred objects proportional to priority') and the per-memcg nr_deferred series",
        description=(
            "Deferred work is no longer added in full: total_scan = (nr >> "
            "priority) + delta, capped at 2F, and what is carried forward is "
            "capped at 2F too; the F/2 windup cap is gone. Windup from GFP_NOFS "
            "callers can no longer empty a cache in one call, but at priority "
            "12 a cache needs about 1024 batches of objects before any call "
            "scans it, so small caches wait for the priority to drop."
        ),
    ),
    FormulaSpec(
        "rik-2019", DELTA_SHIFT, ZERO_SEEK_HALF_UP, DEFER_PRE_5_13, accumulator=True,
        kernels="proposed (in -mm early 2019, never merged)",
        commits="Rik van Riel, 'mm,slab,vmscan: accumulate gradual pressure on small slabs' (final -mm version)",
        description=(
            "Replaces the floor with an accumulator: when delta is 0, the "
            "cache size is added to a per-shrinker int small_scan, and once "
            "small_scan >> priority is large enough to give a non-zero delta "
            "that work is scanned and taken off the accumulator. Small caches "
            "get pressure proportional to their size, spread over many calls, "
            "instead of a full batch every call. The zero-seek branch rounds "
            "up, (freeable + 1) / 2, so a one-object cache can be emptied. The "
            "F/2 windup cap still stops caches under two batches from being "
            "scanned at light pressure."
        ),
    ),
    FormulaSpec(
        "dave-2019", DELTA_ILOG2, ZERO_SEEK_HALF, DEFER_PRE_5_13,
        kernels="proposed (February 2019, never merged)",
        commits="Dave Chinner, 'mm: fix shrinker scan accumulation regression'",
        description=(
            "v5.0 with the seeks != 0 delta replaced by (ilog2(freeable) + "
            "(freeable >> priority)) * 4 / seeks: every cache gets a small, "
            "logarithmic target at any priority, which accumulates in "
            "nr_deferred until it is worth a batch. It restores the gradual "
            "accumulation that small caches had before 4.16 without a floor."
        ),
    ),
    # ---- kernel-ab (issue 21): the two patched 6.1 kernels of scripts/kernel-ab/ ----
    FormulaSpec(
        "v5.13+floor", DELTA_SHIFT, ZERO_SEEK_HALF, DEFER_5_13, floor=True,
        kernels="6.1 + kernel-ab floor.patch",
        commits="172b06c32b94 (Roman Gushchin) re-applied to 6.1's do_shrink_slab() (5.13+ deferral)",
        description=(
            "v5.13 with the 4.19 min-scan floor put back: after the shift or "
            "zero-seek delta, delta = max(delta, min(freeable, batch)), then "
            "the 5.13+ deferral (total_scan = (nr >> priority) + delta, capped "
            "at 2F, and so is what is carried forward). The order is v4.20's: "
            "the floor follows the zero-seek branch. This is the arithmetic of "
            "the kernel-ab 'floor' kernel, whose traces replay exactly under it."
        ),
    ),
    FormulaSpec(
        "rik-6.1", DELTA_SHIFT, ZERO_SEEK_HALF_UP, DEFER_5_13, accumulator=True,
        kernels="6.1 + kernel-ab rik.patch",
        commits="Rik van Riel, 'mm,slab,vmscan: accumulate gradual pressure on small slabs' (final -mm version) adapted to 6.1",
        description=(
            "rik-2019's delta step (zero-seek (freeable + 1) / 2; when delta is "
            "0 and seeks != 0, the per-shrinker int small_scan accumulates "
            "freeable and gives delta = 4 * (small_scan >> priority) / seeks, "
            "taken off the accumulator when non-zero) on 6.1's 5.13+ deferral "
            "instead of the pre-5.13 one: no F/2 windup cap, nr >> priority, "
            "2F caps. The arithmetic of the kernel-ab 'rik' kernel. The "
            "accumulator is in no tracepoint: replaying a trace exactly needs "
            "small_scan carried from call to call per shrinker."
        ),
    ),
    # ---- end kernel-ab ----
)

#: Alias → canonical name: ``v<release>`` from the release table, and short names of the proposals.
ALIASES: dict[str, str] = {
    **formula_aliases(spec.name for spec in BUILTIN),
    "rik": "rik-2019",
    "dave": "dave-2019",
}
