"""The kernel A/B guest and workload as a simulator scenario, measured from a capture.

Every parameter is computed from one kernel's capture (by default the stock
kernel's: what the workload does on an unmodified 6.1), over the workload's
global rounds (:func:`reclaimlab.kernel_ab.real.global_window`); nothing is
fitted to the other kernels or to the comparison:

=========================  ==================================================================
parameter                  measured as
=========================  ==================================================================
``node_pages``             the guest's MemTotal (trace header) / 4 KiB
``anon_pages``             median over the window of MemTotal - free - (file - shmem) -
                           slab_reclaimable: memory reclaim cannot free (no swap; shmem
                           included)
``duration_s``             the part of the window under reclaim: from kswapd's first wake
                           to the first ``memcg round`` mark (the model starts with
                           memory full; the guest spends the first seconds filling it)
stream ``creates_per_s``   page-cache inflow (d nr_file_pages - d nr_shmem + d pgsteal_kswapd
                           + d pgsteal_direct) / dt over the window, in 1 MiB files
tree ``working_set``       distinct inodes the tree brought in: the largest
                           ``ext4_inode_cache`` count in the window minus the count at its start
tree ``reads_per_s``       lookups per second per file: the growth rate of ``ext4_inode_cache``
                           from the window's start to the first sample with ``slabs_scanned``
                           > 0 (before any slab reclaim each stat() of an uncached file makes
                           one inode), over ``working_set``
``inode_objects_per_page`` ``ext4_inode_cache``'s objects per slab / pages per slab (29 / 8),
``dentry_objects_per_page`` rounded; ``dentry``'s likewise (21 / 1)
small caches               one :class:`~reclaimlab.sim.params.SlabCache` per shrinker instance
                           other than ``sb#1`` called in the window: ``objects`` = the largest
                           count at its calls there, ``seeks`` and ``batch`` as
                           ``reclaimlab.trace.replay`` infers them
=========================  ==================================================================

Not measured (the captures do not show them) and so left at the simulator's
documented defaults: the small caches' reference rate (``reads_per_s`` 0.05)
and slab density (32 objects a page), the disk's costs, vm.min_free_kbytes
(the kernel's default from memory size). Two descriptions of the big tree are
offered (:data:`DESCRIPTIONS`); the comparison reports both.

Known gaps: the model's files have at least one page (the tree's files are
empty in the guest); the 20 000 negative dentries a round have no inode and
no counterpart in the model; the memcg rounds are not modelled (the
comparison's real side is restricted to the global rounds).
"""
from __future__ import annotations

import json
import lzma
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..scenarios import Scenario
from ..sim.params import FileSet, SimParams, SlabCache
from .real import Capture, global_window, window_stats

__all__ = ["Measured", "measure", "scenario", "DESCRIPTIONS", "STREAM_FILE_PAGES"]

#: Pages per file of the modelled stream (1 MiB), a modelling choice the captures cannot
#: settle. The guest streams two big files a round: a steady page inflow that brings
#: almost no dentries or inodes. The model's stream is files arriving at random (Poisson)
#: in whole: a small file brings a dentry and an inode per few pages, a big one arrives
#: as one lump of page cache. At 1 MiB the stream arrives about two files per 50-ms step
#: (no lump bigger than a few MiB) and brings about 35 inodes a second against the tree's
#: 3 600 lookups. The result is sensitive to it (docs/validation.md, "Real kernels
#: against the model"): ``comparison(stream_file_pages=...)`` changes it.
STREAM_FILE_PAGES = 256

#: How the big tree is described: ``"working-set"`` (the measured files, re-looked-up at
#: the measured rate: the guest stat()s the same 60 000 files four times) or
#: ``"used-once"`` (new names at the measured lookup rate, never used again: every
#: dentry and inode unreferenced once made).
DESCRIPTIONS = ("working-set", "used-once")


@dataclass(frozen=True)
class Measured:
    """What one capture says about the guest and its workload (see the module table).

    Attributes
    ----------
    variant : str
        The capture measured.
    window_s : float
        Length of the global rounds, s.
    reclaim_start_s : float
        Seconds from the first global round to kswapd's first wake in it.
    mem_total_pages, unreclaimable_pages : int
        Pages of memory, and pages reclaim cannot free.
    page_inflow_per_s : float
        Pages entering the page cache per second.
    tree_files : int
        Distinct big-tree inodes brought in.
    lookups_per_s : float
        Inodes made per second before any slab reclaim (the stat() rate).
    dentry_objects_per_page, inode_objects_per_page : float
        Slab densities from /proc/slabinfo.
    small_caches : tuple of (role, objects, seeks, batch)
        The other shrinker instances.
    """

    variant: str
    window_s: float
    reclaim_start_s: float
    mem_total_pages: int
    unreclaimable_pages: int
    page_inflow_per_s: float
    tree_files: int
    lookups_per_s: float
    dentry_objects_per_page: float
    inode_objects_per_page: float
    small_caches: tuple[tuple[str, int, int, int], ...]

    def to_json(self) -> str:
        """The measurements as JSON (kept in the comparison's attrs)."""
        return json.dumps(asdict(self))


def _slab_density(path: Path) -> dict[str, float]:
    """objects per page of the ``dentry`` and ``ext4_inode_cache`` slabs (first frame of /proc/slabinfo)."""
    out: dict[str, float] = {}
    for line in lzma.decompress(Path(path).read_bytes()).decode().splitlines():
        f = line.split()
        if len(f) > 5 and f[0] in ("dentry", "ext4_inode_cache") and f[4].isdigit():
            out.setdefault(f[0], int(f[4]) / int(f[5]))
        if len(out) == 2:
            break
    return out


def measure(cap: Capture) -> Measured:
    """Measure the guest and workload from one capture (see the module docstring).

    Examples
    --------
    >>> from reclaimlab.kernel_ab.real import load
    >>> m = measure(load(variants=["stock"])["stock"])
    >>> m.mem_total_pages, m.tree_files
    (125862, 60349)
    """
    t0, t1 = global_window(cap)
    s = cap.samples
    up = s["uptime"]
    inside = np.flatnonzero((up >= t0) & (up <= t1))
    if len(inside) < 3:
        raise ValueError(f"{cap.files[1].name}: {len(inside)} samples in the global rounds "
                         f"[{t0:.1f}, {t1:.1f}] s; at least 3 are needed")
    a, b = inside[0], inside[-1]
    mem = cap.mem_total_kib // 4
    reclaimable_file = s["nr_file_pages"] - s["nr_shmem"]
    unreclaimable = mem - s["nr_free_pages"] - reclaimable_file - s["nr_slab_reclaimable"]
    stolen = s["pgsteal_kswapd"] + s["pgsteal_direct"]
    inflow = ((reclaimable_file[b] - reclaimable_file[a]) + (stolen[b] - stolen[a])) / (up[b] - up[a])
    # the first sample of the window is taken before the tree is touched: its inodes are not the tree's
    base = s["ext4_inode_cache"][max(a - 1, 0)]
    tree = int(s["ext4_inode_cache"][inside].max() - base)
    before = inside[s["slabs_scanned"][inside] == s["slabs_scanned"][max(a - 1, 0)]]
    c = before[-1] if len(before) > 1 else b
    lookups = (s["ext4_inode_cache"][c] - base) / (up[c] - up[max(a - 1, 0)])
    dens = _slab_density(cap.files[1])
    ev = cap.calls
    wakes = ev.event_time.values[(ev.event_name.values.astype(str) == "mm_vmscan_kswapd_wake")
                                 & (ev.event_time.values >= t0) & (ev.event_time.values < t1)]
    if not len(wakes):
        raise ValueError(f"{cap.files[0].name}: kswapd never woke in the global rounds; nothing to compare")
    stats = window_stats(cap, t0, t1)
    # the caches reclaim met in the window (a shrinker whose count is 0 is skipped, so
    # a cache with no call there held nothing when reclaim ran)
    small = tuple((role, int(r["max_count_window"]), max(int(r["seeks"]), 0), max(int(r["batch"]), 0))
                  for role, r in sorted(stats.items(), key=lambda x: (-x[1]["max_count_window"], x[0]))
                  if role != "sb#1" and r["max_count_window"] > 0)
    return Measured(cap.variant, float(t1 - t0), float(wakes.min() - t0), int(mem),
                    int(np.median(unreclaimable[inside])), float(inflow), tree, float(lookups), float(dens.get("dentry", 21.0)),
                    float(dens.get("ext4_inode_cache", 4.0)), small)


def scenario(m: Measured, description: str = "working-set", *, stream_file_pages: int = STREAM_FILE_PAGES,
             dt_s: float = 0.05, record_s: float = 0.25) -> Scenario:
    """The measured guest and workload as a :class:`~reclaimlab.scenarios.Scenario`.

    Parameters
    ----------
    m : Measured
        From :func:`measure`.
    description : str
        How the big tree is described: one of :data:`DESCRIPTIONS`.
    stream_file_pages : int
        Pages per file of the stream (:data:`STREAM_FILE_PAGES`).
    dt_s, record_s : float
        Simulation step and recording interval (s); the reduced preset uses 4x the step.

    Examples
    --------
    >>> from reclaimlab.kernel_ab.real import load
    >>> sc = scenario(measure(load(variants=["stock"])["stock"]))
    >>> [f.name for f in sc.params.filesets], sc.params.nodes
    (['stream', 'tree'], 1)
    """
    if description not in DESCRIPTIONS:
        raise ValueError(f"description={description!r} is unknown; allowed: {', '.join(DESCRIPTIONS)}")
    if not isinstance(stream_file_pages, int) or stream_file_pages < 1:
        raise ValueError(f"stream_file_pages={stream_file_pages!r} is not allowed; allowed: an integer >= 1")
    stream = FileSet("stream", pages_per_file=stream_file_pages,
                     creates_per_s=m.page_inflow_per_s / stream_file_pages)
    if description == "working-set":
        tree = FileSet("tree", pages_per_file=1, working_set=m.tree_files,
                       reads_per_s=m.lookups_per_s / m.tree_files)
    else:
        tree = FileSet("tree", pages_per_file=1, creates_per_s=m.lookups_per_s)
    caches = tuple(SlabCache(role, objects, seeks=seeks, batch=batch) for role, objects, seeks, batch
                   in m.small_caches)
    params = SimParams(nodes=1, node_pages=m.mem_total_pages, anon_pages=m.unreclaimable_pages,
                       duration_s=round(m.window_s - m.reclaim_start_s, 1), dt_s=dt_s, record_s=record_s,
                       filesets=(stream, tree), caches=caches,
                       # The guest's files are on ext4, which keeps __GFP_FS on its
                       # mappings (only XFS clears it, in xfs_setup_inode()): the
                       # stream's page-cache allocations reclaim with __GFP_FS. And
                       # ext4 has no nr_cached_objects: evict() frees an inode at once.
                       filesystem="ext4", mapping_nofs=False,
                       dentry_objects_per_page=max(int(round(m.dentry_objects_per_page)), 1),
                       inode_objects_per_page=max(int(round(m.inode_objects_per_page)), 1))
    return Scenario("kernel-ab", f"the kernel A/B guest's global rounds, measured from the {m.variant} "
                    f"capture; big tree: {description}", "reclaimlab.kernel_ab.scenario",
                    params, params.replace(dt_s=dt_s * 4, record_s=max(record_s, dt_s * 4)))
