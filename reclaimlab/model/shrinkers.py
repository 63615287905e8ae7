"""The one table of known shrinkers: seeks, batch and flags (docs/kernel.md §2.6).

Used by trace replay (a trace prints the scan function, never seeks or batch)
and by the simulator. Every entry says where its numbers come from. Values are
those of ``struct shrinker`` as registered; ``batch`` is the effective batch
(``shrinker->batch``, or SHRINK_BATCH = 128 where it is 0).

Sources (labels of docs/kernel.md §0): T4.19.1, T5.0.1, T6.1 and T6.12 kernel trees,
and the shrinker registrations quoted in mailing-list patches that convert them
to ``shrinker_alloc()`` (6.7), which show the old initialisers verbatim.

Two things a table cannot settle:

* the **superblock** shrinker has seeks 2 for most filesystems but 0 for the
  procfs and sysfs/kernfs superblocks since 4.20 (4b85afbdacd2), and a trace
  does not say which superblock an instance is: ``seeks_known`` is False and
  replay infers seeks per instance;
* the **jbd2** checkpoint shrinker's batch is the journal's
  ``j_max_transaction_buffers``: ``batch_known`` is False.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..kernel.releases import version_tuple

DEFAULT_SEEKS = 2
SHRINK_BATCH = 128


@dataclass(frozen=True)
class ShrinkerPreset:
    """What the kernel registers for one shrinker.

    Attributes
    ----------
    name : str
        Short name used in reclaimlab (``"superblock"``, ``"shadow_nodes"``...).
    scan_symbol : str
        The ``scan_objects`` function, as the shrink_slab tracepoints print it
        (without ``+0xoff/0xlen``).
    count_symbol : str
        The ``count_objects`` function.
    seeks : int
        ``shrinker->seeks`` in current kernels (see :meth:`seeks_for`).
    batch : int
        Effective batch size (128 where the kernel leaves ``batch`` at 0).
    numa_aware, memcg_aware : bool
        SHRINKER_NUMA_AWARE / SHRINKER_MEMCG_AWARE: per-node and per-memcg
        deferred counts and lists.
    fs : bool
        The scan returns SHRINK_STOP (scans nothing, defers everything) when the
        allocation may not recurse into the filesystem (no ``__GFP_FS``).
    nonslab : bool
        SHRINKER_NONSLAB: called for memcgs even when kmem accounting is off.
    seeks_known : bool
        False when instances of this shrinker differ in seeks, so that seeks
        must be inferred per instance from a trace.
    batch_known : bool
        False when the batch is set per instance at run time.
    seeks_by_kernel : tuple of (str, int)
        ``(first kernel, seeks)`` in ascending order, for shrinkers whose seeks
        changed; empty when it never did.
    module : str
        Module the scan function usually lives in ('' when built in); the
        tracepoint prints it as ``[module]`` after the symbol.
    aliases : tuple of str
        Other names the scan function has had.
    description, source : str
        What the shrinker frees; where the numbers were read.

    Examples
    --------
    >>> from reclaimlab.model import preset_for_symbol
    >>> p = preset_for_symbol("scan_shadow_nodes+0x0/0x50")
    >>> p.name, p.seeks, p.seeks_for("4.19"), p.batch
    ('shadow_nodes', 0, 2, 128)
    """

    name: str
    scan_symbol: str
    count_symbol: str
    seeks: int = DEFAULT_SEEKS
    batch: int = SHRINK_BATCH
    numa_aware: bool = False
    memcg_aware: bool = False
    fs: bool = False
    nonslab: bool = False
    seeks_known: bool = True
    batch_known: bool = True
    seeks_by_kernel: tuple[tuple[str, int], ...] = ()
    module: str = ""
    aliases: tuple[str, ...] = ()
    description: str = ""
    source: str = ""

    def seeks_for(self, kernel: str | None = None) -> int:
        """``seeks`` as registered by kernel ``kernel`` ("4.19", "v6.1"; None = current).

        Examples
        --------
        >>> from reclaimlab.model import preset
        >>> preset("shadow_nodes").seeks_for("v4.20")
        0
        """
        if kernel is None or not self.seeks_by_kernel:
            return self.seeks
        want = version_tuple(kernel)
        value = self.seeks_by_kernel[0][1]
        for first, seeks in self.seeks_by_kernel:
            if want >= version_tuple(first):
                value = seeks
        return value


PRESETS: tuple[ShrinkerPreset, ...] = (
    ShrinkerPreset(
        "superblock", "super_cache_scan", "super_cache_count",
        seeks=DEFAULT_SEEKS, batch=1024, numa_aware=True, memcg_aware=True, fs=True,
        seeks_known=False,
        description=(
            "Per-superblock dentry and inode caches plus the filesystem's own "
            "objects (XFS inodes awaiting reclaim). seeks is 2, but 0 for the "
            "procfs and sysfs/kernfs superblocks since 4.20; returns SHRINK_STOP "
            "without __GFP_FS or when trylock_super fails."
        ),
        source="fs/super.c (T4.19.1, T6.1, T6.12): s_shrink.seeks = DEFAULT_SEEKS, "
               "batch = 1024; fs/proc/root.c and fs/kernfs/mount.c set seeks = 0 "
               "(4b85afbdacd2, 4.20); docs/kernel.md §2.6, §1.4",
    ),
    ShrinkerPreset(
        "shadow_nodes", "scan_shadow_nodes", "count_shadow_nodes",
        seeks=0, numa_aware=True, memcg_aware=True,
        seeks_by_kernel=(("2.6", DEFAULT_SEEKS), ("4.20", 0)),
        description=(
            "Workingset shadow entries (xarray nodes holding only eviction "
            "records). count reports nodes beyond pages/8, which are fully "
            "expendable, hence zero seeks from 4.20."
        ),
        source="mm/workingset.c (T4.19.1: DEFAULT_SEEKS; T5.0.1, T6.1: seeks 0, batch 0); "
               "4b85afbdacd2; docs/kernel.md §2.6",
    ),
    ShrinkerPreset(
        "xfs_buftarg", "xfs_buftarg_shrink_scan", "xfs_buftarg_shrink_count",
        numa_aware=True, module="xfs",
        description="XFS metadata buffer cache (per buffer target).",
        source="fs/xfs/xfs_buf.c (T4.19.1, T6.1): DEFAULT_SEEKS, SHRINKER_NUMA_AWARE; "
               "T6.12 shrinker_alloc() defaults seeks to 2; docs/kernel.md §2.6",
    ),
    ShrinkerPreset(
        "xfs_qm", "xfs_qm_shrink_scan", "xfs_qm_shrink_count",
        numa_aware=True, module="xfs",
        description="XFS quota (dquot) cache.",
        source="fs/xfs/xfs_qm.c: qi_shrinker.seeks = DEFAULT_SEEKS, SHRINKER_NUMA_AWARE; "
               "docs/kernel.md §2.6",
    ),
    ShrinkerPreset(
        "xfs_inodegc", "xfs_inodegc_shrinker_scan", "xfs_inodegc_shrinker_count",
        seeks=0, batch=2049, nonslab=True, module="xfs",
        description=(
            "Kicks XFS background inode inactivation; count returns 4096 "
            "(1 << DEF_PRIORITY) while any per-CPU queue is non-empty, else 0. "
            "Added around 5.15 (version unconfirmed)."
        ),
        source="fs/xfs/xfs_icache.c (T6.1, T6.12): seeks 0, "
               "batch XFS_INODEGC_SHRINKER_BATCH = 4096/2 + 1, SHRINKER_NONSLAB; docs/kernel.md §2.6",
    ),
    ShrinkerPreset(
        "mbcache", "mb_cache_scan", "mb_cache_count", module="mbcache",
        description="ext2/ext4 extended-attribute block cache (one per filesystem).",
        source="fs/mbcache.c (T4.19.1, T6.1): c_shrink.seeks = DEFAULT_SEEKS, no flags; "
               "docs/kernel.md §2.6",
    ),
    ShrinkerPreset(
        "ext4_es", "ext4_es_scan", "ext4_es_count", module="ext4",
        description="ext4 extent-status tree (one per filesystem).",
        source="fs/ext4/extents_status.c (T4.19.1, T6.1): s_es_shrinker.seeks = "
               "DEFAULT_SEEKS, no flags; docs/kernel.md §2.6",
    ),
    ShrinkerPreset(
        "jbd2", "jbd2_journal_shrink_scan", "jbd2_journal_shrink_count",
        batch_known=False, module="jbd2",
        description=(
            "jbd2 checkpoint list (5.13+, one per journal). batch is the "
            "journal's j_max_transaction_buffers, unknown from a trace; 128 "
            "here is a placeholder."
        ),
        source="fs/jbd2/journal.c: j_shrinker.seeks = DEFAULT_SEEKS, "
               "j_shrinker.batch = journal->j_max_transaction_buffers",
    ),
    ShrinkerPreset(
        "kfree_rcu", "kfree_rcu_shrink_scan", "kfree_rcu_shrink_count",
        description="Objects queued by kfree_rcu() awaiting a grace period.",
        source="kernel/rcu/tree.c: kfree_rcu_shrinker = {.batch = 0, .seeks = DEFAULT_SEEKS}; "
               "seen in 6.1 and 6.12 traces (docs/kernel.md §8.2)",
    ),
    ShrinkerPreset(
        "zsmalloc", "zs_shrinker_scan", "zs_shrinker_count", module="zsmalloc",
        description="zsmalloc pool compaction (zram, zswap); one per pool.",
        source="mm/zsmalloc.c: shrinker.batch = 0, shrinker.seeks = DEFAULT_SEEKS; "
               "seen in 6.1 and 6.12 traces (docs/kernel.md §8.2)",
    ),
    ShrinkerPreset(
        "deferred_split", "deferred_split_scan", "deferred_split_count",
        numa_aware=True, memcg_aware=True, nonslab=True,
        description="THPs queued for splitting (partially unmapped huge pages).",
        source="mm/huge_memory.c: seeks DEFAULT_SEEKS, SHRINKER_NUMA_AWARE | "
               "SHRINKER_MEMCG_AWARE | SHRINKER_NONSLAB (memcg-aware since 5.4)",
    ),
    ShrinkerPreset(
        "huge_zero_page", "shrink_huge_zero_page_scan", "shrink_huge_zero_page_count",
        aliases=("shrink_huge_zero_folio_scan",),
        description="The huge zero page, freed when unused (count is HPAGE_PMD_NR or 0).",
        source="mm/huge_memory.c: huge_zero_page_shrinker seeks DEFAULT_SEEKS "
               "(renamed shrink_huge_zero_folio_* later)",
    ),
)

_BY_NAME = {p.name: p for p in PRESETS}
_BY_SYMBOL = {s: p for p in PRESETS for s in (p.scan_symbol, *p.aliases)}
_SYMBOL_RE = re.compile(
    r"^\s*(?P<sym>[^\s+\[\]]+)(?:\+0x[0-9a-fA-F]+(?:/0x[0-9a-fA-F]+)?)?(?:\s+\[(?P<mod>[^\]]*)\])?\s*$"
)


def presets() -> tuple[ShrinkerPreset, ...]:
    """Every known shrinker preset.

    Examples
    --------
    >>> from reclaimlab.model import presets
    >>> presets()[0].scan_symbol
    'super_cache_scan'
    """
    return PRESETS


def preset(name: str) -> ShrinkerPreset:
    """The preset called ``name`` (see :func:`presets`).

    Raises
    ------
    ValueError
        For an unknown name; the message lists the known ones.

    Examples
    --------
    >>> from reclaimlab.model import preset
    >>> preset("superblock").batch
    1024
    """
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise ValueError(f"name={name!r} is not a known shrinker preset; known: {', '.join(_BY_NAME)}") from None


def strip_symbol(text: str) -> tuple[str, str]:
    """Split a printed ``%pS`` symbol into (function, module).

    ``"zs_shrinker_scan+0x0/0x30 [zsmalloc]"`` -> ``("zs_shrinker_scan", "zsmalloc")``.
    Text that does not look like a symbol comes back stripped, with module ''.

    Examples
    --------
    >>> strip_symbol("super_cache_scan+0x0/0x1a0")
    ('super_cache_scan', '')
    >>> strip_symbol("zs_shrinker_scan+0x0/0x30 [zsmalloc]")
    ('zs_shrinker_scan', 'zsmalloc')
    """
    if not isinstance(text, str):
        raise TypeError(f"symbol={text!r} must be a str")
    m = _SYMBOL_RE.match(text)
    if not m:
        return text.strip(), ""
    return m.group("sym"), m.group("mod") or ""


def preset_for_symbol(symbol: str) -> ShrinkerPreset | None:
    """The preset whose scan function is ``symbol`` (offsets and ``[module]`` ignored), or None.

    Examples
    --------
    >>> from reclaimlab.model import preset_for_symbol
    >>> preset_for_symbol("super_cache_scan+0x0/0x1a0").name
    'superblock'
    >>> preset_for_symbol("zs_shrinker_scan+0x0/0x30 [zsmalloc]").batch
    128
    >>> preset_for_symbol("my_driver_scan") is None
    True
    """
    return _BY_SYMBOL.get(strip_symbol(symbol)[0])
