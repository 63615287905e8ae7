"""Simulation parameters: physical quantities with their sources, and validation.

Every number here is a documented physical quantity (sizes, rates, latencies),
never a knob tuned to reach a result. Scenarios (:mod:`reclaimlab.scenarios`)
build a :class:`SimParams`; users override any field by name.

Units: pages are 4 KiB, times are seconds unless a name says otherwise.
"""
from __future__ import annotations

import dataclasses
import json
import numbers
from dataclasses import dataclass, field

from .alloc import MAX_ORDER

PAGE_KIB = 4


def _plain(value):
    """JSON for a numpy scalar given as a parameter (``np.int64(4)``): its Python value."""
    if isinstance(value, numbers.Number) and hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


@dataclass(frozen=True)
class Costs:
    """Time costs of reclaim work and IO.

    Attributes
    ----------
    page_scan_us : float
        CPU time per LRU page isolated and checked by shrink_inactive_list.
        About 0.3 µs: reclaim scans a few million pages per second per core.
    object_scan_us : float
        CPU time per slab object walked by a shrinker (list_lru walk + isolate
        callback), about 0.2 µs.
    object_free_us : float
        CPU time to tear down a freed dentry or inode (dput/evict), ~1 µs.
    disk_read_ms : float
        One random read on the disk: 8 ms for a 7200 rpm SATA disk (4.2 ms
        half rotation + ~4 ms seek). A refaulted inode or dentry costs one.
    disk_mb_per_s : float
        Sequential bandwidth of the disk: 120 MB/s for a SATA disk. Refaulted
        page-cache pages and writeback of dirty pages are charged at this rate.
    inode_flush_ms : float
        Time XFS reclaim blocks on one dirty inode when it must wait for its
        writeback (SYNC_WAIT, 4.19/5.0): one random write (8 ms) per cluster
        flush, with about 4 dirty inodes of a cluster written together: 2 ms.
        Reading back a cluster buffer the buffer cache freed (before a flush
        or an unlink) is the same random IO, shared the same way.

        All these are service times on one disk that every IO shares: an IO
        also waits for the others queued with it (:mod:`reclaimlab.sim.disk`).
    dirty_expire_s : float
        How long written file data and inodes stay dirty before writeback
        cleans them (vm.dirty_expire_centisecs = 3000).
    log_force_ms : float
        One XFS log force: the checkpoint of the transactions committed since
        the last one is written to the log, a seek and a short write: 8 ms,
        the disk's random IO. Sync inode reclaim waits for one before it can
        flush an inode whose last transaction is not on disk yet (pinned).
    disk_max_queueing : float
        At most how many times its service time an IO waits on a busy disk
        (>= 1): 10. The wait is 1/(1 - utilisation), an M/M/1 queue, capped
        because writeback throttling (wbt, 75 ms target read latency on a
        rotational disk) keeps a request from waiting behind an unbounded
        queue of writes (:mod:`reclaimlab.sim.disk`).
    writeback_min_share : float
        The least share of the disk's time data writeback keeps however
        much synchronous IO there is (0 to 1): 1/3, because mq-deadline
        prefers reads over waiting writes only ``writes_starved = 2`` times
        in a row.
    """

    page_scan_us: float = 0.3
    object_scan_us: float = 0.2
    object_free_us: float = 1.0
    disk_read_ms: float = 8.0
    disk_mb_per_s: float = 120.0
    inode_flush_ms: float = 2.0
    dirty_expire_s: float = 30.0
    log_force_ms: float = 8.0
    disk_max_queueing: float = 10.0
    writeback_min_share: float = 1 / 3


@dataclass(frozen=True)
class FileSet:
    """Files a workload uses: each has a dentry, an inode and page-cache pages.

    Attributes
    ----------
    name : str
        Label (also used in the Dataset's ``fileset`` coordinate).
    pages_per_file : int
        File size in pages.
    working_set : int
        Files the workload keeps re-reading (0: every file is used once).
    reads_per_s : float
        Reads per second of each working-set file (the whole file is read).
    creates_per_s : float
        New files per second (a copy, a compile writing objects, a grep
        walking a tree). A new file is read or written once.
    writes : bool
        New files are written (dirty pages and a dirty inode) rather than read.
    nofs : bool
        The page-cache allocations of new files are GFP_NOFS (XFS write path):
        reclaim they enter cannot call into filesystem shrinkers.
    memcg : str
        ``"root"``, or ``"service"`` for files used by each service memcg.
    job : bool
        Reads of this set's files are part of the job whose completion time is
        ``workload_time``.
    replaces : bool
        Each new file replaces an older one of the set (a build writing
        ``foo.o`` over the previous ``foo.o`` by rename): the old file is
        unlinked, its page cache dropped, its dentry and inode freed, and in XFS
        the unlinked inode goes through inactivation, a transaction that leaves
        it dirty until the log is written back.
    """

    name: str
    pages_per_file: int
    working_set: int = 0
    reads_per_s: float = 0.0
    creates_per_s: float = 0.0
    writes: bool = False
    nofs: bool = False
    memcg: str = "root"
    job: bool = False
    replaces: bool = False


@dataclass(frozen=True)
class SlabCache:
    """A slab cache behind a shrinker of its own (not a VFS cache).

    Attributes
    ----------
    name : str
        Cache name (the Dataset's ``cache`` coordinate).
    objects : int
        Objects the workload keeps in use (its working set), over all nodes.
    objects_per_page : float
        Objects in one slab page (below 1 for objects larger than a page).
    reads_per_s : float
        References per second to each object (sets its referenced bit).
    seeks, batch : int
        The shrinker's ``seeks`` and ``batch`` (0 = 128).
    memcg : str
        ``"root"`` or ``"service"``.
    inode_clusters : bool
        The cache is XFS's buffer cache of inode cluster buffers (the
        xfs_buftarg shrinker): ``objects`` is the clusters holding the inodes
        the workload unlinks and flushes. An unlink (xfs_iunlink) and an inode
        flush (xfs_iflush) need their cluster's buffer; one that is not cached
        is read from disk first (xfs_imap_to_bp), and is cached again. A
        reclaimed buffer is not recreated otherwise.
    """

    name: str
    objects: int
    objects_per_page: float = 32
    reads_per_s: float = 0.05
    seeks: int = 2
    batch: int = 128
    memcg: str = "root"
    inode_clusters: bool = False


@dataclass(frozen=True)
class Services:
    """Services restarted over time, each in a memory cgroup of its own.

    Attributes
    ----------
    count : int
        Service cgroups alive at a time.
    lifetime_s : float
        How long one instance runs before systemd restarts it in a new cgroup.
    max_memcgs : int
        Memcg slots the simulation can track (alive + dying); must exceed the
        number created over the run for the result to be exact.
    """

    count: int = 4
    lifetime_s: float = 20.0
    max_memcgs: int = 64


@dataclass(frozen=True)
class SimParams:
    """Everything a simulation run needs apart from the formula and the seed.

    Attributes
    ----------
    nodes : int
        NUMA nodes.
    node_pages : int
        Pages per node.
    anon_pages : int
        Unreclaimable pages in use per node (anonymous memory, no swap).
    min_free_kbytes : int or None
        vm.min_free_kbytes; None = the kernel default sqrt(16 * lowmem_kbytes).
    watermark_scale_factor : int
        vm.watermark_scale_factor (default 10, i.e. 0.1 % of memory).
    duration_s, dt_s : float
        Simulated time and step length.
    record_s : float
        Recording interval (per-step quantities are summed over it).
    filesets, caches : tuple
        The workload's files and other slab caches.
    services : Services or None
        Service cgroups (the ``dying-memcgs`` case).
    vfs_cache_pressure : int
        vm.vfs_cache_pressure (100).
    dentry_objects_per_page, inode_objects_per_page : int
        Slab density: 21 dentries (192 bytes) and 4 XFS inodes (~960 bytes)
        per 4 KiB page.
    job_seconds : float
        Work in the job (CPU seconds when nothing blocks it); 0 = no job.
    job_tasks : int
        Parallel tasks of the job (make -jN); a task blocked in IO or reclaim
        makes no progress.
    xfs_ags : int
        Allocation groups of the XFS filesystem: mkfs.xfs makes 4 on a
        single disk under 4 TiB. XFS inode reclaim walks each AG that holds
        reclaimable inodes.
    interactive_allocs_per_s : float
        Allocations per second by an interactive task; each that the
        allocator sends to direct reclaim (:mod:`reclaimlab.sim.alloc`) makes
        one pass, and its latency is recorded.
    interactive_order : int
        Order of those allocations (0 to 10: 2**order pages each). Order 0 is
        GFP_KERNEL and reclaims only at or below the min watermark. A higher
        order is kvmalloc()'s GFP_KERNEL | __GFP_NORETRY attempt; the model
        keeps no page layout and assumes it finds no free block of its size,
        so it reclaims unless, for an order above 3, free memory is above
        high + 2 << order (a what-if: see :mod:`reclaimlab.sim.alloc`).
    kswapd : bool
        Whether kswapd runs (for tests of direct reclaim alone).
    costs : Costs
        Time costs.
    """

    nodes: int = 1
    node_pages: int = 262_144
    anon_pages: int = 0
    min_free_kbytes: int | None = None
    watermark_scale_factor: int = 10
    duration_s: float = 60.0
    dt_s: float = 0.05
    record_s: float = 0.5
    filesets: tuple[FileSet, ...] = ()
    caches: tuple[SlabCache, ...] = ()
    services: Services | None = None
    vfs_cache_pressure: int = 100
    dentry_objects_per_page: int = 21
    inode_objects_per_page: int = 4
    job_seconds: float = 0.0
    job_tasks: int = 1
    xfs_ags: int = 4
    interactive_allocs_per_s: float = 0.0
    interactive_order: int = 0
    kswapd: bool = True
    costs: Costs = field(default_factory=Costs)

    def to_json(self) -> str:
        """The parameters as JSON (what a simulated Dataset keeps in ``attrs["params"]``)."""
        return json.dumps(dataclasses.asdict(self), default=_plain)

    @classmethod
    def from_json(cls, text: str) -> "SimParams":
        """Rebuild parameters from :meth:`to_json` text, e.g. a saved run's ``attrs["params"]``.

        Examples
        --------
        >>> p = SimParams(filesets=(FileSet("f", 4),), services=Services(count=2))
        >>> SimParams.from_json(p.to_json()) == p
        True
        """
        raw = json.loads(text)
        raw["filesets"] = tuple(FileSet(**f) for f in raw.get("filesets", ()))
        raw["caches"] = tuple(SlabCache(**c) for c in raw.get("caches", ()))
        if raw.get("services") is not None:
            raw["services"] = Services(**raw["services"])
        raw["costs"] = Costs(**raw.get("costs", {}))
        out = cls(**raw)
        out.validate()
        return out

    def replace(self, **changes) -> "SimParams":
        """A copy with fields replaced, validated (unknown names raise ``ValueError``)."""
        valid = {f.name for f in dataclasses.fields(self)}
        cost_fields = {f.name for f in dataclasses.fields(Costs)}
        unknown = sorted(set(changes) - valid - cost_fields)
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {', '.join(unknown)}; allowed: "
                f"{', '.join(sorted(valid | cost_fields))}"
            )
        cost_changes = {k: changes.pop(k) for k in list(changes) if k in cost_fields}
        out = dataclasses.replace(self, **changes)
        if cost_changes:
            out = dataclasses.replace(out, costs=dataclasses.replace(out.costs, **cost_changes))
        out.validate()
        return out

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first impossible setting."""
        def positive(name, value, allow_zero=False):
            if not (value >= 0 if allow_zero else value > 0):
                raise ValueError(f"{name}={value!r} is not allowed; {name} must be "
                                 f"{'>= 0' if allow_zero else '> 0'}")

        positive("nodes", self.nodes)
        positive("node_pages", self.node_pages)
        positive("anon_pages", self.anon_pages, allow_zero=True)
        positive("duration_s", self.duration_s)
        positive("dt_s", self.dt_s)
        positive("record_s", self.record_s)
        positive("vfs_cache_pressure", self.vfs_cache_pressure, allow_zero=True)
        positive("job_seconds", self.job_seconds, allow_zero=True)
        positive("job_tasks", self.job_tasks)
        positive("xfs_ags", self.xfs_ags)
        positive("interactive_allocs_per_s", self.interactive_allocs_per_s, allow_zero=True)
        order = self.interactive_order
        if not (isinstance(order, numbers.Integral) and not isinstance(order, bool)
                and 0 <= order < MAX_ORDER):
            raise ValueError(f"interactive_order={self.interactive_order!r} is not allowed; it must be "
                             f"an int from 0 to {MAX_ORDER - 1} (MAX_ORDER - 1)")
        if self.record_s < self.dt_s:
            raise ValueError(f"record_s={self.record_s} is not allowed; it must be >= dt_s={self.dt_s}")
        if self.anon_pages >= self.node_pages:
            raise ValueError(
                f"anon_pages={self.anon_pages} is not allowed: more memory in use than "
                f"exists (node_pages={self.node_pages}); it must be < node_pages"
            )
        if self.min_free_kbytes is not None:
            positive("min_free_kbytes", self.min_free_kbytes)
        for f in dataclasses.fields(self.costs):
            positive(f.name, getattr(self.costs, f.name), allow_zero=True)
        if self.costs.disk_max_queueing < 1:
            raise ValueError(f"disk_max_queueing={self.costs.disk_max_queueing!r} is not allowed; "
                             f"it must be >= 1 (an IO waits at least its own service time)")
        if not 0 <= self.costs.writeback_min_share <= 1:
            raise ValueError(f"writeback_min_share={self.costs.writeback_min_share!r} is not allowed; "
                             f"it must be between 0 and 1")
        names = [f.name for f in self.filesets] + [c.name for c in self.caches]
        if len(set(names)) != len(names):
            raise ValueError(f"filesets/caches names {names} are not unique")
        for fs in self.filesets:
            positive(f"filesets[{fs.name}].pages_per_file", fs.pages_per_file)
            positive(f"filesets[{fs.name}].working_set", fs.working_set, allow_zero=True)
            positive(f"filesets[{fs.name}].reads_per_s", fs.reads_per_s, allow_zero=True)
            positive(f"filesets[{fs.name}].creates_per_s", fs.creates_per_s, allow_zero=True)
            if fs.memcg not in ("root", "service"):
                raise ValueError(f"filesets[{fs.name}].memcg={fs.memcg!r} is not allowed; "
                                 f"allowed: 'root', 'service'")
            if fs.memcg == "service" and self.services is None:
                raise ValueError(f"filesets[{fs.name}].memcg='service' needs services=Services(...)")
        for c in self.caches:
            positive(f"caches[{c.name}].objects", c.objects, allow_zero=True)
            positive(f"caches[{c.name}].objects_per_page", c.objects_per_page)
            positive(f"caches[{c.name}].seeks", c.seeks, allow_zero=True)
            positive(f"caches[{c.name}].batch", c.batch, allow_zero=True)
            if c.memcg not in ("root", "service"):
                raise ValueError(f"caches[{c.name}].memcg={c.memcg!r} is not allowed; "
                                 f"allowed: 'root', 'service'")
            if c.inode_clusters and c.memcg != "root":
                raise ValueError(f"caches[{c.name}].memcg={c.memcg!r} is not allowed with "
                                 f"inode_clusters=True; allowed: 'root' (XFS buffers are not "
                                 f"charged to memcgs)")
        clusters = [c.name for c in self.caches if c.inode_clusters]
        if len(clusters) > 1:
            raise ValueError(f"caches {clusters} all have inode_clusters=True; allowed: at most one "
                             f"(the filesystem's one buffer cache)")
        if self.services is not None:
            positive("services.count", self.services.count)
            positive("services.lifetime_s", self.services.lifetime_s)
            if self.services.max_memcgs < self.services.count + 2:
                raise ValueError(f"services.max_memcgs={self.services.max_memcgs} is not allowed; "
                                 f"it must be >= services.count + 2")
