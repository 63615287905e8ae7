"""Simulation parameters: physical quantities with their sources, and validation.

Every number here is a documented physical quantity (sizes, rates, latencies),
never a knob tuned to reach a result. Scenarios (:mod:`reclaimlab.scenarios`)
build a :class:`SimParams`; users override any field by name.

Units: pages are 4 KiB, times are seconds unless a name says otherwise.
"""
from __future__ import annotations

import dataclasses
import json
import math
import numbers
import re
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

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
        One random IO on the disk: 8 ms for a 7200 rpm SATA disk (4.2 ms
        half rotation at 7200 rpm + ~4 ms average seek, the figure disk
        makers give for such drives). Looking an inode up again after XFS
        reclaimed it costs one when its cluster buffer is not cached
        (xfs_iread(); one XFS still holds is recycled without IO,
        :mod:`reclaimlab.sim.xfs`); it is also the service time of one request ahead of another
        synchronous request (:mod:`reclaimlab.sim.disk`).
    disk_mb_per_s : float
        Sequential bandwidth of the disk: 120 MB/s, the middle of the
        100-150 MB/s a 7200 rpm SATA disk sustains (outer to inner tracks).
        Refaulted page-cache pages and writeback of dirty pages are charged
        at this rate; a data writeback request (1280 KiB, BLK_DEF_MAX_SECTORS)
        takes 10.4 ms of it.
    inode_flush_ms : float
        Time XFS reclaim blocks on one dirty inode when it must wait for its
        writeback (SYNC_WAIT, 4.19/5.0): one random write (8 ms) per cluster
        flush, with about 4 dirty inodes of a cluster written together: 2 ms.
        Reading back a cluster buffer the buffer cache freed (before a flush
        or an unlink) is the same random IO, shared the same way.

        All these are service times on one disk that every IO shares: a
        synchronous IO also waits for the work ahead of it, the
        asynchronous writes wbt lets in flight and the requests of other
        synchronous issuers, never its own issuer's earlier IO
        (:mod:`reclaimlab.sim.disk`).
    dirty_expire_s : float
        How long written file data and inodes stay dirty before writeback
        cleans them (vm.dirty_expire_centisecs = 3000).
    log_force_ms : float
        One XFS log force: the checkpoint of the transactions committed since
        the last one is written to the log, a seek and a short write: 8 ms,
        the disk's random IO. Sync inode reclaim waits for one before it can
        flush an inode whose last transaction is not on disk yet (pinned).
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
        reclaimed buffer is not recreated otherwise. A lookup that reads a
        read file's inode (xfs_iread) finds its buffer with the share of
        these clusters the cache holds, and leaves the cache unchanged.
    lru_ref : int
        Shrinker passes a looked-up object survives before it is freed: 1
        for a referenced bit (rotated once, freed the next time), 2 for an
        XFS buffer with ``b_lru_ref`` = XFS_INO_REF, as xfs_imap_to_bp()
        sets for inode cluster buffers (xfs_buftarg_isolate() rotates a
        buffer while it can decrement ``b_lru_ref``, fs/xfs/xfs_buf.c).
        Above 1 only for a cache in the root memcg.
    """

    name: str
    objects: int
    objects_per_page: float = 32
    reads_per_s: float = 0.05
    seeks: int = 2
    batch: int = 128
    memcg: str = "root"
    inode_clusters: bool = False
    lru_ref: int = 1


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
    cgroups : int
        (Memcgs of a systemd machine, :mod:`reclaimlab.sim.memcgs`.)
        Memory cgroups that live the whole run and hold dentries and inodes
        of the simulated filesystem: a systemd machine's services, scopes
        and user sessions (``systemd-cgls`` on a desktop lists about 30; the
        slices between them hold no objects of their own and are not
        counted). 0 by default (root only); the bug scenarios set 30. A
        global reclaim pass calls the memcg-aware superblock shrinker once
        for each of them (shrink_node() -> mem_cgroup_iter() ->
        shrink_slab()). Not allowed with ``services``.
    cgroup_files : int
        Unused dentries (each pinning its inode) each of those cgroups holds
        on the filesystem at the start: the configuration, state and log
        files a service or session opens and closes. 20 is an estimate; the
        4.19 floor scans all of them (fewer than the superblock's batch of
        1024) on every call, so results depend on it mainly through whether
        it is 0. Spread evenly over the nodes; no page cache.
    cgroup_touch_per_s : float
        Files each of those cgroups opens and closes again per second (its
        service or session going on with its work: reading a configuration
        file, writing a log). 0 by default: no report of bug 202441 or
        202349 recorded it, so the grid leaves the cgroups idle and the
        sensitivity to it is reported instead (docs/validation.md). A
        reopened file whose dentry is gone gets a new unused dentry on the
        cgroup's list (list_lru_add() sets the memcg's shrinker bit again);
        one whose dentry is still cached is marked referenced (dput() sets
        DCACHE_REFERENCED on a dentry already on the LRU).
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

    Allocation context and volume (:mod:`reclaimlab.sim.workload`):

    filesystem : str
        ``"xfs"`` (the bugs' filesystem): the superblock's
        ``nr_cached_objects()``/``free_cached_objects()`` are XFS's, evicted
        inodes wait in XFS until XFS reclaim frees them, an unlink dirties
        and pins its inode (:mod:`reclaimlab.sim.xfs`). ``"ext4"``: no
        ``nr_cached_objects`` in ``ext4_sops`` (fs/ext4/super.c), so the
        superblock counts and scans only dentries and inodes, and an evicted
        inode is freed by ``evict()`` at once (its metadata is in the
        journal); the kernel A/B guest's filesystem.
    mapping_nofs : bool
        Every page-cache allocation of the filesystem's files is GFP_NOFS
        (True: XFS, whose ``xfs_setup_inode()`` clears ``__GFP_FS`` from every
        inode's mapping with ``mapping_set_gfp_mask()``, so reads, readahead
        and writes all allocate without it). Direct reclaim such an
        allocation enters gets SHRINK_STOP from the superblock shrinker
        (``super_cache_scan()``) and defers its share. False: a filesystem
        that keeps ``__GFP_FS`` on its mappings, where only ``FileSet.nofs``
        sets allocate GFP_NOFS.
    job_processes_per_s : float
        Processes the job starts a second (fork and exec of compilers), over
        all its tasks; 0 = the job allocates no anonymous memory of its own.
        Each process faults in ``job_process_pages`` of anonymous memory
        (GFP_HIGHUSER_MOVABLE, with ``__GFP_FS``) over its life and frees it
        when it exits; a task runs one process at a time, so a process lives
        ``job_tasks / job_processes_per_s`` seconds of its task's work.
    job_process_pages : int
        Anonymous memory one job process faults in before it exits, in pages
        (page tables and the other kernel allocations of fork and exec,
        GFP_KERNEL, counted with it).
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
    # --- memcgs of a systemd machine (issue 17, mechanism 5: sim/memcgs.py) ---
    cgroups: int = 0
    cgroup_files: int = 20
    cgroup_touch_per_s: float = 0.0
    # --- end of the memcg block ---
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
    # --- allocation context and volume (sim/workload.py; issue 17 items 3 and 4) ---
    filesystem: str = "xfs"
    mapping_nofs: bool = True
    job_processes_per_s: float = 0.0
    job_process_pages: int = 0

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
        """A copy with fields replaced, validated (unknown names raise ``ValueError``).

        Sizes in pages (``node_pages``, ``anon_pages``) and in KiB
        (``min_free_kbytes``) may also be given as strings with a binary unit,
        ``"8GiB"``, ``"512 MiB"``, ``"4096B"`` (see :func:`parse_size`).
        """
        valid = {f.name for f in dataclasses.fields(self)}
        cost_fields = {f.name for f in dataclasses.fields(Costs)}
        unknown = sorted(set(changes) - valid - cost_fields)
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {', '.join(unknown)}; allowed: "
                f"{', '.join(sorted(valid | cost_fields))}"
            )
        changes = {k: parse_size(k, v) if k in SIZE_FIELDS and isinstance(v, str) else v
                   for k, v in changes.items()}
        cost_changes = {k: changes.pop(k) for k in list(changes) if k in cost_fields}
        out = dataclasses.replace(self, **changes)
        if cost_changes:
            out = dataclasses.replace(out, costs=dataclasses.replace(out.costs, **cost_changes))
        out.validate()
        return out

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first impossible setting, its value and what is allowed.

        Every field is checked for its type (an int where the kernel counts,
        a finite real number where a time or rate is meant, a bool for a
        switch) and its range (:data:`LIMITS`); then the settings are checked
        against each other. A run of more than :data:`MAX_STEPS` steps or
        :data:`MAX_RECORDS` recorded samples is refused, naming the limit.
        """
        _check_fields(self, "")
        _check_fields(self.costs, "")
        for fs in self.filesets:
            _check_fields(fs, f"filesets[{fs.name}].")
        for c in self.caches:
            _check_fields(c, f"caches[{c.name}].")
        if self.services is not None:
            _check_fields(self.services, "services.")
        self._check_relations()

    def _check_relations(self) -> None:
        """The checks between fields, after each field passed its own."""
        if self.record_s < self.dt_s:
            raise ValueError(f"record_s={self.record_s} is not allowed; it must be >= dt_s={self.dt_s}")
        _check_run_length(self.duration_s, self.dt_s, self.record_s)
        if self.anon_pages >= self.node_pages:
            raise ValueError(
                f"anon_pages={self.anon_pages} is not allowed: more memory in use than "
                f"exists (node_pages={self.node_pages}); it must be < node_pages"
            )
        if not 0 <= self.costs.writeback_min_share <= 1:
            raise ValueError(f"writeback_min_share={self.costs.writeback_min_share!r} is not allowed; "
                             f"it must be between 0 and 1")
        names = [f.name for f in self.filesets] + [c.name for c in self.caches]
        if len(set(names)) != len(names):
            raise ValueError(f"filesets/caches names {names} are not unique")
        for fs in self.filesets:
            if fs.memcg == "service" and self.services is None:
                raise ValueError(f"filesets[{fs.name}].memcg='service' needs services=Services(...)")
        for c in self.caches:
            if c.inode_clusters and c.memcg != "root":
                raise ValueError(f"caches[{c.name}].memcg={c.memcg!r} is not allowed with "
                                 f"inode_clusters=True; allowed: 'root' (XFS buffers are not "
                                 f"charged to memcgs)")
            if c.lru_ref > 1 and c.memcg != "root":
                raise ValueError(f"caches[{c.name}].lru_ref={c.lru_ref} is not allowed with "
                                 f"memcg={c.memcg!r}; allowed: lru_ref=1, or memcg='root'")
        clusters = [c.name for c in self.caches if c.inode_clusters]
        if len(clusters) > 1:
            raise ValueError(f"caches {clusters} all have inode_clusters=True; allowed: at most one "
                             f"(the filesystem's one buffer cache)")
        if self.services is not None and self.services.max_memcgs < self.services.count + 2:
            raise ValueError(f"services.max_memcgs={self.services.max_memcgs} is not allowed; "
                             f"it must be >= services.count + 2")
        # memcgs of a systemd machine (sim/memcgs.py)
        if self.cgroups and self.services is not None:
            raise ValueError(f"cgroups={self.cgroups} is not allowed with services=Services(...) (the "
                             f"dying-memcgs case's own cgroups); allowed: cgroups=0 with services")
        if self.cgroups and not self.filesets:
            raise ValueError(f"cgroups={self.cgroups} is not allowed without filesets: the cgroups hold "
                             f"dentries of the workload's filesystem; allowed: cgroups=0")


# --------------------------------------------------------------------------- field checks

#: Most simulation steps (``duration_s / dt_s``) one run may take: about 4
#: minutes of CPU at the engine's pace of ~0.25 ms a step (the default
#: compile-and-copy, 10,000 steps, takes 2.5 s). The full presets take 10,000 at
#: most; a finer step or a longer run than this is refused before anything runs,
#: naming the limit.
MAX_STEPS = 1_000_000

#: Most recorded samples (``duration_s / record_s``) of one run: the Dataset's
#: ``time`` dim, kept in memory.
MAX_RECORDS = 1_000_000

#: Largest count of pages or objects: 2**48 (1 EiB of 4 KiB pages). Counts
#: go through float64 arithmetic in the engine, exact below 2**53.
MAX_COUNT = 2**48

_C_INT_MAX = 2**31 - 1
_KINDS = {"int": "an integer", "real": "a finite real number", "bool": "True or False",
          "str": "a non-empty string"}

#: ``field: (kind, low, high)`` for every scalar field of the parameter
#: classes; ``low`` and ``high`` are inclusive (None: unbounded), and a
#: ``(value, "strict")`` low bound excludes the value.
LIMITS: dict[str, tuple] = {
    # SimParams
    "nodes": ("int", 1, 1024),                       # MAX_NUMNODES (CONFIG_NODES_SHIFT=10)
    "node_pages": ("int", 1, MAX_COUNT),
    "anon_pages": ("int", 0, MAX_COUNT),
    "min_free_kbytes": ("int", 1, _C_INT_MAX),        # a C int sysctl; None = kernel default
    "watermark_scale_factor": ("int", 1, 3000),      # the sysctl's range (mm/page_alloc.c)
    "duration_s": ("real", (0, "strict"), None),
    "dt_s": ("real", (0, "strict"), None),
    "record_s": ("real", (0, "strict"), None),
    "vfs_cache_pressure": ("int", 0, _C_INT_MAX),
    "dentry_objects_per_page": ("int", 1, 4096),
    "inode_objects_per_page": ("int", 1, 4096),
    "job_seconds": ("real", 0, None),
    "job_tasks": ("int", 1, 1_000_000),
    "xfs_ags": ("int", 1, 1_000_000),
    "interactive_allocs_per_s": ("real", 0, None),
    "interactive_order": ("int", 0, None),           # the upper bound is MAX_ORDER, checked later
    "kswapd": ("bool", None, None),
    # allocation context and volume (sim/workload.py)
    "mapping_nofs": ("bool", None, None), "filesystem": ("str", None, None),
    "job_processes_per_s": ("real", 0, None),
    "job_process_pages": ("int", 0, MAX_COUNT),
    # Costs
    "page_scan_us": ("real", 0, None), "object_scan_us": ("real", 0, None),
    "object_free_us": ("real", 0, None), "disk_read_ms": ("real", 0, None),
    "disk_mb_per_s": ("real", (0, "strict"), None),  # a bandwidth of 0 would divide by zero
    "inode_flush_ms": ("real", 0, None), "dirty_expire_s": ("real", 0, None),
    "log_force_ms": ("real", 0, None),
    "writeback_min_share": ("real", 0, None),
    # FileSet
    "name": ("str", None, None),
    "pages_per_file": ("int", 1, MAX_COUNT), "working_set": ("int", 0, MAX_COUNT),
    "reads_per_s": ("real", 0, None), "creates_per_s": ("real", 0, None),
    "writes": ("bool", None, None), "nofs": ("bool", None, None), "job": ("bool", None, None),
    "replaces": ("bool", None, None), "memcg": ("str", None, None),
    # SlabCache
    "objects": ("int", 0, MAX_COUNT), "objects_per_page": ("real", (0, "strict"), None),
    "seeks": ("int", 0, _C_INT_MAX), "batch": ("int", 0, _C_INT_MAX),
    "inode_clusters": ("bool", None, None), "lru_ref": ("int", 1, 2),
    # Services
    "count": ("int", 1, 10_000), "lifetime_s": ("real", (0, "strict"), None),
    "max_memcgs": ("int", 3, 65_535),                # MEM_CGROUP_ID_MAX
    # SimParams: memcgs of a systemd machine (sim/memcgs.py)
    "cgroups": ("int", 0, 65_534),                   # + the root: MEM_CGROUP_ID_MAX
    "cgroup_files": ("int", 0, MAX_COUNT),
    "cgroup_touch_per_s": ("real", 0, None),
}

_NESTED = {"filesets", "caches", "services", "costs"}
_MEMCGS = ("root", "service")
#: The filesystems whose superblock behaviour the simulator has (``SimParams.filesystem``).
FILESYSTEMS = ("xfs", "ext4")


def _bad(name: str, value, allowed: str) -> ValueError:
    return ValueError(f"{name}={value!r} is not allowed; allowed: {allowed}")


def _type_ok(kind: str, value) -> bool:
    if kind == "bool":
        return isinstance(value, (bool, np.bool_))
    if kind == "str":
        return isinstance(value, str) and value != ""
    if isinstance(value, (bool, np.bool_)):
        return False                                 # True is an int to Python, never a count here
    if kind == "int":
        return isinstance(value, numbers.Integral)
    return isinstance(value, numbers.Real) and math.isfinite(value)


def _check_range(name: str, value, low, high) -> None:
    strict = isinstance(low, tuple)
    lo = low[0] if strict else low
    too_low = lo is not None and (value <= lo if strict else value < lo)
    if too_low or (high is not None and value > high):
        lo_text = None if lo is None else (f"> {lo}" if strict else f">= {lo}")
        parts = [p for p in (lo_text, None if high is None else f"<= {high}") if p]
        raise _bad(name, value, " and ".join(parts))


def _check_fields(obj, prefix: str) -> None:
    """Type and range of every scalar field of one parameter object."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        name = prefix + f.name
        if f.name in _NESTED:
            _check_nested(name, value)
            continue
        if f.name == "min_free_kbytes" and value is None:
            continue
        kind, low, high = LIMITS[f.name]
        if f.name == "interactive_order":
            _check_order(value)
        if not _type_ok(kind, value):
            hint = ""
            if isinstance(value, str) and kind in ("int", "real"):
                hint = f" (sizes with a unit, such as '8GiB', are taken by {', '.join(SIZE_FIELDS)})"
            raise _bad(name, value, _KINDS[kind] + hint)
        if kind in ("int", "real"):
            _check_range(name, value, low, high)
        if f.name == "memcg" and value not in _MEMCGS:
            raise _bad(name, value, "'root', 'service'")
        if f.name == "filesystem" and value not in FILESYSTEMS:
            raise _bad(name, value, "'xfs', 'ext4'")


def _check_order(order) -> None:
    if not (isinstance(order, numbers.Integral) and not isinstance(order, (bool, np.bool_))
            and 0 <= order < MAX_ORDER):
        raise ValueError(f"interactive_order={order!r} is not allowed; it must be "
                         f"an int from 0 to {MAX_ORDER - 1} (MAX_ORDER - 1)")


def _check_nested(name: str, value) -> None:
    if name == "costs":
        if not isinstance(value, Costs):
            raise ValueError(f"costs={value!r:.80} is not allowed; allowed: a Costs")
    elif name == "services":
        if value is not None and not isinstance(value, Services):
            raise ValueError(f"services={value!r:.80} is not allowed; allowed: None or a Services")
    else:
        want = FileSet if name == "filesets" else SlabCache
        if not isinstance(value, tuple) or not all(isinstance(v, want) for v in value):
            raise ValueError(f"{name}={value!r:.80} is not allowed; allowed: a tuple of {want.__name__}")


def _check_run_length(duration_s: float, dt_s: float, record_s: float) -> None:
    steps = duration_s / dt_s
    if steps > MAX_STEPS:
        raise ValueError(
            f"duration_s={duration_s!r} at dt_s={dt_s!r} is {steps:.3g} steps; allowed: at most "
            f"{MAX_STEPS} (MAX_STEPS, about 4 minutes of CPU): shorten the run or lengthen the step")
    if duration_s / record_s > MAX_RECORDS:
        raise ValueError(
            f"duration_s={duration_s!r} at record_s={record_s!r} is {duration_s / record_s:.3g} "
            f"recorded samples; allowed: at most {MAX_RECORDS} (MAX_RECORDS)")


# --------------------------------------------------------------------------- sizes with units

#: Fields that take a size: in 4 KiB pages, or in KiB.
PAGE_FIELDS = ("node_pages", "anon_pages")
KIB_FIELDS = ("min_free_kbytes",)
SIZE_FIELDS = PAGE_FIELDS + KIB_FIELDS

_UNITS = {"b": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z]+)\s*")


def parse_size(name: str, text: str) -> int:
    """A size with a binary unit (``"8GiB"``) in the unit of field ``name``: pages or KiB.

    Units are B, KiB, MiB, GiB and TiB (case-insensitive); a plain number
    string is in the field's own unit. The size must be a whole number of
    the field's unit (4 KiB pages, or KiB).

    Examples
    --------
    >>> parse_size("node_pages", "8GiB")
    2097152
    >>> parse_size("min_free_kbytes", "64 MiB")
    65536
    """
    unit_bytes = PAGE_KIB * 1024 if name in PAGE_FIELDS else 1024
    what = "4 KiB pages" if name in PAGE_FIELDS else "KiB"
    if name not in SIZE_FIELDS:
        raise _bad(name, text, f"a number; unit strings are taken only by {', '.join(SIZE_FIELDS)}")
    t = text.strip().replace("_", "")
    if t.isdigit():
        return int(t)
    m = _SIZE.fullmatch(t)
    if not m or m.group(2).lower() not in _UNITS:
        raise _bad(name, text, f"a size in {what}, or a number with a unit B, KiB, MiB, GiB, TiB "
                               "(e.g. '8GiB')")
    num = Fraction(m.group(1)) * _UNITS[m.group(2).lower()]
    if num % unit_bytes:
        raise _bad(name, text, f"a whole number of {what} ({unit_bytes} bytes each)")
    return int(num // unit_bytes)
