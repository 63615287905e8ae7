"""The scenario catalogue (see :mod:`reclaimlab.scenarios`)."""
from __future__ import annotations

from dataclasses import dataclass, replace

from ..model import preset
from ..sim.params import FileSet, Services, SimParams, SlabCache

GIB_PAGES = 262_144
MB_PAGES = 256


@dataclass(frozen=True)
class Scenario:
    """A named case: what it reproduces, what to look at, and its parameters.

    Attributes
    ----------
    name : str
        Slug used everywhere (``rl.simulate("compile-and-copy")``).
    title : str
        One line.
    doc : str
        The case it reproduces and what to look at in the result.
    params : SimParams
        The full-size run.
    reduced : SimParams
        A fast preset (about a second or less) of the same case that keeps
        the full run's conclusion: the same order of kernels or formulas on
        the scenario's key measure (tests/test_sim_presets.py checks each).
    knobs : tuple of str
        The key parameters a widget exposes.
    """

    name: str
    title: str
    doc: str
    params: SimParams
    reduced: SimParams
    knobs: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.name}: {self.title}\n\n{self.doc}"


def _small_vs_large() -> Scenario:
    sizes = (10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000)
    caches = tuple(SlabCache(f"cache-{s:.0e}".replace("+0", "").replace("+", ""), s,
                             objects_per_page=32, reads_per_s=0.2) for s in sizes)
    # A file server streaming files it reads once: page cache churn keeps
    # kswapd reclaiming at light pressure all run long.
    stream = FileSet("stream", pages_per_file=64, creates_per_s=40.0)
    params = SimParams(nodes=1, node_pages=4 * GIB_PAGES, anon_pages=GIB_PAGES,
                       duration_s=120.0, dt_s=0.05, record_s=1.0,
                       filesets=(stream,), caches=caches)
    return Scenario(
        "small-vs-large", "steady light pressure on caches from 10 to 10 million objects",
        "Seven slab caches of 10 to 10,000,000 objects sit behind shrinkers of their own "
        "(seeks 2, batch 128) while a file server streams files through the page cache, so "
        "kswapd keeps reclaiming all run long: mostly at priority 9 under v4.18 and v5.0, at "
        "12 under v4.19, whose floor frees enough at each pass. Look at the pressure on each "
        "cache (objects scanned over the run divided by the objects it holds): under v4.19 "
        "the min-scan floor scans the 10-object cache whole on every call, about two "
        "thousand times harder than the 10-million-object one; under v4.18 and v5.0 "
        "(freeable >> 9) * 4 / 2 is 0 for caches under 512 objects, which are not scanned "
        "at all.",
        # The fast preset keeps the full run's two minutes (Rik's accumulator needs that
        # many kswapd calls to reach its first scan) at a coarser step: 0.14-0.18 s of CPU a run.
        params, params.replace(dt_s=0.2, record_s=1.0),
        knobs=("duration_s", "anon_pages"),
    )


def _compile_and_copy() -> Scenario:
    # make -j4 of a kernel tree: ~25,000 .c files compiled in 210 s (120 a second),
    # each including a few hundred of ~25,000 headers: ~2 reads per header a second.
    # a76cf1a474d7 (4.19.3-4.20) judges each inode by its own page count (fs/inode.c,
    # inode_lru_isolate(): nrpages > 1 rotates it, a single page is stripped), so the
    # tree's files are split by size: the model's sets hold files of one size each.
    # Sizes from the linux 6.1 source tree (its tarball's listing): the 6,325 headers
    # under include/ and arch/x86/include/ have a median of 2.2 KiB; 66% are one page,
    # the others 4.4 pages on average. Of the 25,390 .c files (tools, samples, scripts
    # and other arches left out) 19% are one page. The tree keeps its 25,000 headers of
    # 2 pages on average (16,500 of one page, 8,500 of 4) and 50,000 sources of about
    # 4 pages (9,500 of one page, 40,500 of 5: 4.24 on average, the .c files' 5.9 with
    # the smaller other tree files).
    headers_small = FileSet("headers-small", pages_per_file=1, working_set=16_500, reads_per_s=2.0,
                            job=True)
    headers = FileSet("headers", pages_per_file=4, working_set=8_500, reads_per_s=2.0, job=True)
    sources_small = FileSet("sources-small", pages_per_file=1, working_set=9_500, reads_per_s=1 / 210,
                            job=True)
    sources = FileSet("sources", pages_per_file=5, working_set=40_500, reads_per_s=1 / 210, job=True)
    # Each compiled file replaces its previous object file (kbuild writes then renames).
    objects = FileSet("objects", pages_per_file=8, creates_per_s=120.0, writes=True, job=True,
                      replaces=True)
    # The copy comes over NFS at 10 MB/s, 25 MB files, into XFS (GFP_NOFS writes).
    # Not faster: at 40 MB/s its writeback takes a third of the disk and 4.18's
    # compile takes 276 s (this machine, seed 0; 271-289 s over the 16 GiB cells of
    # docs/grid-202441.md; 291 s before the tree was split by file size), against the
    # report's 3m30s with the copy running.
    copy = FileSet("copy", pages_per_file=25 * MB_PAGES, creates_per_s=0.4, writes=True, nofs=True)
    # XFS's buffers of the inode clusters holding the ~25,000 object files' inodes,
    # behind the xfs_buftarg shrinker; unlinks and inode flushes need them. A v5 (CRC)
    # filesystem, mkfs.xfs's default since 2015, has 512-byte inodes and scales the
    # 8 KiB cluster with the inode size (xfs_mountfs(): m_inode_cluster_size *=
    # sb_inodesize / XFS_DINODE_MIN_SIZE), so 32 inodes to a 16 KiB buffer of four
    # pages. xfs_imap_to_bp() gives each buffer it looks up b_lru_ref = XFS_INO_REF
    # (2, fs/xfs/libxfs/xfs_shared.h): the shrinker rotates it twice before freeing it.
    buftarg = preset("xfs_buftarg")
    buffers = SlabCache("xfs_buf", objects=25_000 // 32, objects_per_page=0.25,
                        seeks=buftarg.seeks, batch=buftarg.batch, inode_clusters=True, lru_ref=2)
    # A 16 GiB workstation, two 8 GiB nodes. Bug 202441 does not give the machine's
    # size (docs/kernel.md §7); 16 GiB is where 4.18's compile runs in the reported 3m30s
    # with the copy running (218 s, seed 0). With 2 GiB
    # nodes the page cache cannot keep the tree while the copy streams through it and
    # 4.18's compile takes 287 s (docs/validation.md; 296 s before the split).
    # The compilers' anonymous memory, the job's __GFP_FS allocations (its page cache
    # is GFP_NOFS, XFS): a cc1 compiling a kernel file that includes a few hundred
    # headers grows to ~100 MB (its GC heap and the parsed headers), faulted in over
    # its life and freed at exit. Per object make forks sh, the gcc driver, cc1 and as;
    # cc1 is the large one. 30 a second over the 4 tasks (one every 133 ms of a task's
    # work, "tens a second" for make -j4) faults 750 MB/s per task, ~190,000 pages/s,
    # about a tenth of a core at ~0.5 us a fault. Not the objects' 120 a second: 120
    # compilers of 100 MB would take most of the tasks' CPU just to fault in.
    # A systemd workstation: ~30 service, scope and session cgroups, each holding a few
    # dentries and inodes of the filesystem (issue 17, mechanism 5; sim/memcgs.py). Bug
    # 202441 does not say; the grid sweeps cgroups {0, 30} (scripts/grid-202441.py).
    cgroups = 30
    params = SimParams(nodes=2, node_pages=8 * GIB_PAGES, anon_pages=GIB_PAGES // 2,
                       duration_s=500.0, dt_s=0.05, record_s=1.0,
                       filesets=(headers_small, headers, sources_small, sources, objects, copy),
                       caches=(buffers,),
                       job_seconds=210.0, job_tasks=4,
                       job_processes_per_s=30.0, job_process_pages=100 * MB_PAGES, cgroups=cgroups)
    return Scenario(
        "compile-and-copy", "bug 202441: a kernel compile on XFS while a big copy streams in",
        "On a 16 GiB machine, a make -j4 kernel compile (3.5 minutes when nothing blocks it) reads 25,000 headers "
        "over and over and 50,000 sources and other tree files once, and writes object files on XFS on a SATA "
        "disk, while a large copy streams 10 MB/s of new files onto the same filesystem "
        "(GFP_NOFS page-cache allocations). Look at page_cache over time (the sawtooth when "
        "inode reclaim strips page cache), refaults of dentries and inodes (the compile's "
        "tree being trashed), stall, and workload_time, the compile's completion time: bug "
        "202441 reported 3m30s becoming more than an hour on 4.19.3.",
        # Fast preset (a second or two a run): one 8 GiB node, a one-minute compile of
        # the same tree beside the same copy, at the full run's step. It keeps the order
        # of the full run in compile time (4.18 = 5.0 < 4.19 < 4.19.3: 65 / 78 / 84 s
        # against 219 / 242 / 275 s, seed 0; 4.19.3/4.18 1.18x-1.41x over seeds 0-3
        # against 1.26x-1.60x) but not the size of the stall: its one node drives 4.18
        # into sync XFS reclaim too. The coarser step of 0.1 s, which the full run's
        # convergence puts outside the converged range (docs/validation.md), gave 4.19
        # 81 s against 4.19.3's 78 s in seed 0 (before the XFS buffer rules). A smaller machine or tree does not keep
        # the order: with a 512 MiB node nothing reclaims.
        params, params.replace(nodes=1, duration_s=150.0, dt_s=0.05, job_seconds=60.0),
        knobs=("duration_s", "job_tasks", "anon_pages"),
    )


def _desktop_copy() -> Scenario:
    desktop = FileSet("desktop", pages_per_file=8, working_set=30_000, reads_per_s=0.01)
    # A photo/music library: files of 2 MB on average, 50 a second (100 MB/s).
    copy = FileSet("copy", pages_per_file=2 * MB_PAGES, creates_per_s=50.0, writes=True, nofs=True)
    # A systemd desktop: ~30 service, scope and session cgroups, each holding a few
    # dentries and inodes of the filesystem (issue 17, mechanism 5; sim/memcgs.py).
    cgroups = 30
    params = SimParams(nodes=1, node_pages=4 * GIB_PAGES, anon_pages=GIB_PAGES,
                       duration_s=120.0, dt_s=0.05, record_s=1.0,
                       filesets=(desktop, copy), interactive_allocs_per_s=200.0, cgroups=cgroups)
    return Scenario(
        "desktop-copy", "bug 202349: desktop freezes while copying a lot of data to XFS",
        "A desktop session (30,000 recently used files) runs an interactive task, say the "
        "GPU driver, making 200 small GFP_KERNEL allocations a second, while a library of 2 MB files is copied to "
        "XFS at 100 MB/s. Look at alloc_latency_p50, _p99 and _p999, the "
        "per-allocation direct-reclaim latency of the interactive task, and at stall: when "
        "reclaim enters the superblock shrinker and XFS inode reclaim waits on writeback, "
        "allocations stall for the length of disk writes. The allocations are single pages; "
        "interactive_order=4 makes them 64 KiB kvmalloc()s, which reclaim whenever no free "
        "block of that size is left (a what-if: the model keeps no page layout).",
        # Fast preset: the full run's first 60 s (same machine, same step). Since a
        # stream's unused inodes have pages only at the inode LRU's tail (sim/slab.py),
        # the earlier 1 GiB machine for 30 s at a 0.1 s step lost 4.19.3's stall in 2 of
        # 3 seeds (a 1 GiB or 2 GiB machine at 0.1 s too); the first 60 s keeps it in
        # seeds 0-3 (0.01-0.23 s against 0.001-0.002 s under 4.18 and 5.0).
        params, params.replace(duration_s=60.0),
        knobs=("duration_s", "interactive_allocs_per_s", "interactive_order"),
    )


def _dying_memcgs() -> Scenario:
    leftovers = SlabCache("service-objects", objects=150, objects_per_page=21, reads_per_s=0.5,
                          memcg="service")
    stream = FileSet("stream", pages_per_file=64, creates_per_s=80.0)
    params = SimParams(nodes=1, node_pages=2 * GIB_PAGES, anon_pages=GIB_PAGES // 2,
                       duration_s=600.0, dt_s=0.1, record_s=5.0, filesets=(stream,),
                       caches=(leftovers,), services=Services(count=4, lifetime_s=60.0, max_memcgs=64))
    return Scenario(
        "dying-memcgs", "services restarted over time leave slab objects behind",
        "Four services run in cgroups of their own and systemd restarts each every 60 "
        "seconds in a new cgroup; each leaves ~150 slab objects behind, which move to the "
        "parent cgroup's lists but keep the dead cgroup pinned (4.19 semantics) until they "
        "are freed, while a file server streams 20 MB/s of files read once, keeping light global pressure on. Look at "
        "dying_memcgs over time: without the floor (v5.0) the parent's small lists are "
        "not scanned at priority 12 and dying cgroups pile up; the floor (v4.19), a "
        "background collector or reparenting (5.3+) keep the count low.",
        # The fast preset is the first two minutes (two restarts of each service) of
        # the full run: shorter service lifetimes pile cgroups up faster than the
        # floor frees them and lose the full run's order (v4.19 then ends level with v5.0).
        params, params.replace(duration_s=120.0, record_s=2.0),
        knobs=("duration_s",),
    )


def _recursive_grep() -> Scenario:
    grep = FileSet("tree", pages_per_file=4, creates_per_s=2_000.0)
    desktop = FileSet("desktop", pages_per_file=8, working_set=20_000, reads_per_s=0.01)
    params = SimParams(nodes=1, node_pages=2 * GIB_PAGES, anon_pages=GIB_PAGES // 2,
                       duration_s=120.0, dt_s=0.05, record_s=1.0, filesets=(grep, desktop))
    return Scenario(
        "recursive-grep", "a grep -r reads every file of a big tree once",
        "grep -r walks a tree of small files (16 KiB each), 2,000 files a second, each "
        "read once: every file leaves a dentry, an inode and four page-cache pages that "
        "nobody needs again, next to a desktop's working set. Look at page_cache versus "
        "the inode cache (slab of 'inode') under each inode_rule: v4.18 strips the page "
        "cache of unused inodes, a76cf1a474d7 keeps rotating inodes with pages so both "
        "caches grow, v5.16 keeps inodes with pages off the LRU until page reclaim has "
        "taken their pages.",
        # Fast preset: a 1 GiB machine that the grep fills within seconds, a smaller
        # desktop, one minute at a coarser step (about 0.07 s of CPU a run). It keeps the
        # full run's order: v4.18's page refaults 1.72-2.06x the other rules' (seeds 0-2),
        # against 1.75x and 1.92x in the full run (seed 0).
        params, params.replace(duration_s=60.0, dt_s=0.1, node_pages=GIB_PAGES, anon_pages=GIB_PAGES // 4,
                               filesets=(grep, replace(desktop, working_set=5_000))),
        knobs=("duration_s",),
    )


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    _small_vs_large(), _compile_and_copy(), _desktop_copy(), _dying_memcgs(), _recursive_grep())}


def names() -> tuple[str, ...]:
    """Scenario names."""
    return tuple(SCENARIOS)


def get(name: str) -> Scenario:
    """The scenario called ``name``.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the known ones.
    TypeError
        For anything but a name or a Scenario (say, a SimParams).
    """
    if isinstance(name, Scenario):
        return name
    if not isinstance(name, str):
        raise TypeError(
            f"scenario must be a scenario name ({', '.join(SCENARIOS)}) or a Scenario, not "
            f"{type(name).__name__}; to change a scenario's parameters pass them as keyword "
            f"overrides, e.g. rl.simulate('compile-and-copy', node_pages=...)")
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ValueError(f"scenario={name!r} is unknown; known scenarios: {', '.join(SCENARIOS)}") from None
