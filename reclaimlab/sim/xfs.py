"""XFS inode reclaim: free_cached_objects(), xfsaild and the background worker (docs/kernel.md §2.6).

Inodes the VFS evicted wait in XFS (``x_clean``/``x_dirty`` per node) until
XFS reclaims them; only then is their slab memory free.

* :func:`nr_cached_objects` is xfs_fs_nr_cached_objects(): the whole file
  system's reclaimable inodes (every node, every AG), for every (node, memcg)
  count of the superblock shrinker.
* :func:`reclaim_inodes_nr` is xfs_reclaim_inodes_nr(), the superblock's
  free_cached_objects(): whatever node or memcg it is called for, it kicks the background worker, pushes the AIL
  (xfs_ail_push_all: every inode dirty now is queued for xfsaild) and walks
  the allocation groups from AG 0 (xfs_reclaim_inodes_ag, fs/xfs/xfs_icache.c),
  each with its own count of reclaimable inodes (:func:`sync_ags`) and
  reclaim lock (:func:`lock_held_at`, :func:`lock_free_at`): clean
  inodes are freed, dirty ones are flushed and waited for in
  ``xfs_reclaim="sync"`` (SYNC_WAIT: the presets up to 5.4), skipped in
  ``"async"`` (5.10+).
* :func:`xfsaild` writes back, each step, the dirty inodes an earlier push
  queued, at the disk's rate for inode cluster writes (``inode_flush_ms``
  per inode, queued behind the disk's other IO, :mod:`reclaimlab.sim.disk`);
  a written inode is clean and the next walk or the background worker
  frees it. Inodes dirtied after the last push wait for the next one: a
  reclaim call's, or :func:`log_worker`'s every 30 s.
* :func:`background_reclaim` is xfs_reclaim_worker() every
  ``XFS_RECLAIM_WORKER_S``: xfs_reclaim_inodes(SYNC_TRYLOCK) frees the
  clean reclaimable inodes and leaves dirty ones to the AIL.
* :func:`log_worker` is xfs_log_worker() every ``XFS_LOG_WORKER_S``
  (xfs_syncd_centisecs): a log force, then xfs_ail_push_all(), so every
  inode dirty then is queued for xfsaild.
* **Log pinning**: an unlink's transaction (xfs_inactive) pins the inode
  (``x_pinned``) until the log is forced. Sync reclaim that meets a pinned
  inode forces the log and waits for it (xfs_reclaim_inode, SYNC_WAIT:
  xfs_iunpin_wait) before flushing; a force unpins every inode. xfsaild
  cannot write a pinned inode: it is not in the AIL until a force puts its
  transaction on disk. The log worker forces the log every 30 s; the CIL's
  own push when it fills an eighth of the log is not modelled (at these
  transaction rates the log worker comes first).
* :func:`step` runs the background part each engine step.
* **Inode cluster buffers** (the xfs_buftarg shrinker's cache, when the
  scenario has a cache with ``inode_clusters=True``): flushing a dirty inode
  (xfs_iflush, in reclaim or xfsaild) and unlinking one (xfs_iunlink) need
  the buffer of its inode cluster (32 inodes, 16 KiB on a v5 filesystem with
  512-byte inodes). One that the buffer shrinker has
  freed is read from disk first (xfs_imap_to_bp): a flush then costs a read
  and a write. This is Dave Chinner's explanation of the 4.19 stalls, in
  paraphrase: the buffer cache is much smaller than the inode cache, so
  pressure that turns it over quickly makes dirty-inode flushes read their
  buffers back in (ML 20190131221904.GL4205@dastard).
  :func:`cluster_misses` draws the lookups that miss, :func:`cache_clusters`
  puts their buffers back, :func:`use_clusters` does both.
* **Inode lookups after the VFS evicted the inode** (xfs_iget(),
  fs/xfs/xfs_icache.c): an evicted inode stays in its AG's radix tree,
  tagged XFS_IRECLAIMABLE, until XFS reclaim frees it. A lookup that finds
  it there recycles it without IO (xfs_iget_cache_hit(): xfs_reinit_inode()
  and the reclaim tag cleared, so it leaves the reclaimable count);
  ``State.x_clean_set`` holds, per node and file set, the clean evicted
  inodes XFS still has, and :func:`recycle_share` is the chance that a
  lookup of one of the set's evicted files finds its inode (mean field).
  A lookup that misses (xfs_iget_cache_miss()) reads the inode from its
  cluster buffer (xfs_iread() -> xfs_imap_to_bp() -> xfs_trans_read_buf()),
  which costs a disk read only when the buffer cache no longer holds it:
  :func:`lookup_cluster_reads`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import math
from dataclasses import dataclass, field

import numpy as np

from . import disk
from .draw import binomial, take, take_values, thin, thin_values
from .state import ROOT, XFS_CLUSTER_READ, XFS_LOG_FORCE, XFS_RECLAIM_LOCK, XFS_SYNC_RECLAIM

if TYPE_CHECKING:                      # the engine imports this module
    from .engine import Sim

XFS_LOOKUP_BATCH = 32           # inodes per radix-tree gang lookup in XFS reclaim
XFS_RECLAIM_WORKER_S = 5.0      # xfs_reclaim_work_queue(): xfs_syncd_centisecs / 6
XFS_LOG_WORKER_S = 30.0         # xfs_log_work_queue(): xfs_syncd_centisecs (3000) * 10 ms


@dataclass
class XfsState:
    """XFS's clocks, locks and per-AG counts, changed only by this module's functions."""

    ags: int
    #: Per AG, (asked, begin, end, inodes) of each hold of its reclaim lock by a sync walk:
    #: when the walker asked for the lock, the time it held it (:func:`lock_free_at`), and
    #: the inodes it grabbed, counted as reclaimable until then (:func:`reclaiming`).
    ag_holds: list[list[tuple[float, float, float, int]]] = field(init=False)
    #: Per AG, its reclaimable inodes (``pag_ici_reclaimable``) nobody has grabbed; they sum
    #: to ``x_clean + x_dirty`` over the nodes after :func:`sync_ags`.
    ag_inodes: list[int] = field(init=False)
    ag_rotor: int = 0                       # the AG the next inode added to XFS's count goes to
    ail_credit: float = 0.0                 # xfsaild's inode writes carried to the next step
    worker_due: float = XFS_RECLAIM_WORKER_S   # next xfs_reclaim_worker() run, s
    log_due: float = XFS_LOG_WORKER_S          # next xfs_log_worker() run, s

    def __post_init__(self) -> None:
        self.ag_holds = [[] for _ in range(self.ags)]
        self.ag_inodes = [0] * self.ags


def sync_ags(sim: Sim) -> list[int]:
    """Bring the per-AG counts to the nodes' reclaimable inodes; returns ``sim.xfs.ag_inodes``.

    The VFS evicts inodes into XFS (and unlinks add theirs) in every AG
    alike: inode numbers, and so AGs, are handed out across the file
    system's directories (xfs_ialloc_ag_select() rotors new directories over
    the AGs, and a file goes to its directory's AG), so what was added since
    the last call is dealt out round robin from a rotor. Inodes that left
    other than through a walk of an AG (the background worker's clean
    inodes, lookups that recycle one) left from every AG in proportion to
    what it held: a uniform draw of which ones, the AGs as classes. A walk
    (:func:`reclaim_inodes_nr`) takes its inodes from its own AG, which is
    what makes the AGs' counts differ: every walk starts at AG 0.
    """
    xs = sim.xfs
    counts = xs.ag_inodes
    have = sum(sim.st.x_clean.tolist()) + sum(sim.st.x_dirty.tolist())
    diff = have - sum(counts)
    if diff > 0:
        q, r = divmod(diff, xs.ags)
        for i in range(xs.ags):
            counts[i] += q + ((i - xs.ag_rotor) % xs.ags < r)
        xs.ag_rotor = (xs.ag_rotor + r) % xs.ags
    elif diff < 0:
        gone = take_values(sim.rng, counts, -diff)
        for i, g in enumerate(gone):
            counts[i] -= g
    return counts


def ag_walk(nr_to_scan: int, inodes: int) -> tuple[int, int]:
    """One AG's do-while walk of xfs_reclaim_inodes_ag(): (inodes walked, nr_to_scan left).

    Batches of XFS_LOOKUP_BATCH (32) inodes, ``nr_to_scan`` dropping by 32
    per batch, while the AG has inodes left and ``nr_to_scan > 0``; the
    first batch is taken whatever ``nr_to_scan`` is (do-while), so an AG
    reached after ``nr_to_scan`` has run out still gives a batch.

    Examples
    --------
    >>> ag_walk(1, 1000)       # one object asked for: one batch
    (32, -31)
    >>> ag_walk(100, 1000)     # four batches
    (128, -28)
    >>> ag_walk(100, 10)       # never more than the AG has
    (10, 68)
    """
    walked = 0
    while True:
        got = min(XFS_LOOKUP_BATCH, inodes)
        inodes -= got
        walked += got
        nr_to_scan -= XFS_LOOKUP_BATCH
        if not (inodes and nr_to_scan > 0):
            return walked, nr_to_scan


def cluster_miss_share(sim: Sim) -> np.ndarray:
    """Per node: the share of the workload's inode clusters whose buffer is not cached."""
    if sim.layout.cluster_cache is None:
        return np.zeros(sim.params.nodes)
    g = sim.layout.cluster_cache
    # Per node in Python floats: np.clip's value for these shares (never NaN, never -0.0),
    # at a fraction of np.clip's cost; cluster_misses() does the same for one node.
    per_node = sim.layout.clusters_per_node
    return np.array([min(max(1.0 - held / per_node, 0.0), 1.0) for held in _clusters_held(sim, g)])


def _clusters_held(sim: Sim, g: int) -> list[int]:
    """Per node, the cluster buffers the cache holds (every class)."""
    return np.add.reduce(sim.st.generic_lists[:, :, ROOT, g], axis=0).tolist()


def cluster_misses(sim: Sim, n: int, lookups: int) -> int:
    """How many of ``lookups`` inode-cluster buffer lookups on node ``n`` miss the cache.

    Mean field: a lookup finds its cluster's buffer with probability
    held / clusters (the share of the workload's clusters the cache holds).
    Nothing is changed; :func:`cache_clusters` applies the lookups.
    """
    if sim.layout.cluster_cache is None or lookups <= 0:
        return 0
    # cluster_miss_share(sim)[n] in scalar arithmetic (the same IEEE operations, one node):
    # this runs for every unlink, and the array version's clip dominated it.
    g = sim.layout.cluster_cache
    held = sum(sim.st.generic_lists[:, n, ROOT, g].tolist())       # every class, as ints
    share = min(max(1.0 - held / sim.layout.clusters_per_node, 0.0), 1.0)
    return int(thin(sim.rng, lookups, share))


def cache_clusters(sim: Sim, n: int, lookups: int, missed: int) -> None:
    """Apply ``lookups`` buffer lookups on node ``n``, ``missed`` of them read from disk.

    A buffer found is referenced (xfs_imap_to_bp() calls xfs_buf_set_ref(bp,
    XFS_INO_REF): ``SlabCache.lru_ref`` passes left, whatever it had); one
    read is cached again, referenced so, and counts as a refault of the
    buffer cache. The lookups land on the held buffers uniformly (mean field).
    """
    g = sim.layout.cluster_cache
    if g is None or lookups <= 0:
        return
    st = sim.st
    top = sim.layout.generic_lru_ref[g]                 # 1: g_ref is the top class, 2: g_ref2
    # Python ints: the same shares (counts far below 2**53 divide exactly as numpy's doubles
    # do) without numpy's scalar arithmetic, on every unlink and flush.
    ref, unref, ref2 = st.generic_lists[:, n, ROOT, g].tolist()
    hits = lookups - missed
    # The hits on each class below the top, one after the other; a binomial draw of 0
    # objects, or with share 0, takes nothing from the stream: skipped.
    on_unref = min(binomial(sim.rng, hits, unref / (unref + ref + ref2)), unref) if hits and unref else 0
    left = hits - on_unref
    on_ref = min(binomial(sim.rng, left, ref / (ref + ref2)), ref) if top > 1 and left and ref else 0
    back = min(missed, max(sim.layout.clusters_per_node - (unref + ref + ref2), 0))
    raised = on_unref + on_ref + back
    if raised:
        st.generic_lists[:, n, ROOT, g] = ((ref - on_ref + raised, unref - on_unref, ref2) if top == 1 else
                                           (ref - on_ref, unref - on_unref, ref2 + raised))
    if back:
        sim.totals.refaults[n, ROOT, sim.layout.generic_cache_index + g] += back


def use_clusters(sim: Sim, n: int, lookups: int) -> int:
    """``lookups`` buffer lookups on node ``n`` (draw the misses, then apply them); returns the misses."""
    missed = cluster_misses(sim, n, lookups)
    cache_clusters(sim, n, lookups, missed)
    return missed


def recycle_share(sim: Sim, n: int, k: int, evicted: int) -> float:
    """Chance that a lookup of one of file set ``k``'s ``evicted`` files on node ``n`` recycles its inode.

    ``evicted`` is the set's files on the node with neither a dentry nor a
    VFS inode; of those, ``State.x_clean_set[n, k]`` still have their
    xfs_inode in XFS's cache (XFS_IRECLAIMABLE, not yet reclaimed). A lookup
    is of a file drawn uniformly among the evicted ones (the mean field of
    the working-set reads), so it finds its inode with that share.

    Examples
    --------
    >>> from reclaimlab.kernel.releases import Rules
    >>> from reclaimlab.sim.engine import Sim
    >>> from reclaimlab.sim.params import FileSet, SimParams
    >>> sim = Sim(SimParams(filesets=(FileSet("f", 1, working_set=100, reads_per_s=1.0),)),
    ...           Rules("v4.19", "v4.18", "sync", "none"), 0)
    >>> sim.st.x_clean_set[0, 0] = 30
    >>> recycle_share(sim, 0, 0, 60)
    0.5
    """
    if evicted <= 0:
        return 0.0
    return min(int(sim.st.x_clean_set[n, k]) / evicted, 1.0)


def recycle(sim: Sim, n: int, k: int, inodes: int) -> int:
    """xfs_iget_cache_hit() on ``inodes`` XFS_IRECLAIMABLE inodes of file set ``k`` on node ``n``.

    The inode is reinitialised in place (xfs_reinit_inode()) and its reclaim
    tag cleared (the AG's ``pag_ici_reclaimable`` drops): it leaves XFS's
    reclaimable inodes and is a VFS inode again, with no IO and no new slab
    object. At most what XFS still holds of the set. Returns how many.
    """
    if inodes <= 0:
        return 0        # most lookups recycle nothing: skip reading the count
    st = sim.st
    got = min(int(inodes), int(st.x_clean_set[n, k]))
    if got > 0:
        st.x_clean_set[n, k] -= got
        st.x_clean[n] -= got
    return max(got, 0)


def lookup_cluster_reads(sim: Sim, n: int, inodes: int) -> int:
    """How many of ``inodes`` lookups on node ``n`` that XFS's cache misses read a cluster buffer from disk.

    xfs_iget_cache_miss() -> xfs_iread() -> xfs_imap_to_bp() reads the
    inode through its cluster buffer (xfs_trans_read_buf()): IO only when
    the buffer cache no longer holds that buffer. The run's cluster cache
    (a cache with ``inode_clusters=True``) holds the clusters of the inodes
    the workload unlinks and flushes, not the read files'; all cluster
    buffers are on the one xfs_buftarg LRU under one shrinker, so a read
    file's buffer is taken to be held with the same share
    (:func:`cluster_misses`, mean field; the cache is not changed, as its
    objects are not these clusters). Without a cluster cache the run
    models no buffer cache, and every such lookup reads.
    """
    if inodes <= 0:
        return 0
    if sim.layout.cluster_cache is None:
        return int(inodes)
    return cluster_misses(sim, n, int(inodes))


def _forget_recyclable(sim: Sim, clean_freed: list[int]) -> None:
    """XFS reclaim freed ``clean_freed[n]`` clean inodes per node: drop the file sets' share of them.

    Which of a node's clean reclaimable inodes a walk frees is a uniform
    draw (the AG radix trees are in inode-number order, not in file-set
    order): the file sets' inodes and the others (cgroups' files, inodes
    cleaned by xfsaild) as classes of one draw.
    """
    st = sim.st
    for n in np.flatnonzero(clean_freed):
        held = st.x_clean_set[n]
        if not held.any():
            continue
        values = held.tolist()
        values.append(int(st.x_clean[n]) - sum(values))
        got = take_values(sim.rng, values, int(clean_freed[n]))
        st.x_clean_set[n] -= np.array(got[:-1], np.int64)


def inode_service_s(sim: Sim) -> float:
    """Disk time of one inode's cluster IO (a flush's write or a buffer's read), amortised."""
    return sim.costs.inode_flush_ms * 1e-3


def pinned_share(sim: Sim, n: int) -> float:
    """Share of node ``n``'s dirty reclaimable inodes that are pinned in the log."""
    dirty = sim.st.x_dirty[n]
    return float(sim.st.x_pinned[n] / dirty) if dirty else 0.0


def pinned_shares(sim: Sim) -> np.ndarray:
    """Per node, the share of the dirty reclaimable inodes that are pinned in the log."""
    dirty = sim.st.x_dirty
    return np.divide(sim.st.x_pinned, dirty, out=np.zeros(len(dirty)), where=dirty > 0)


def log_force_service_s(sim: Sim) -> float:
    """Disk time of one log force (``Costs.log_force_ms``)."""
    return sim.costs.log_force_ms * 1e-3


def log_force(sim: Sim, sync: bool = False) -> None:
    """xfs_log_force(): the log checkpoint goes to disk and unpins every inode; disk time booked.

    A synchronous forcer (``sync``: sync inode reclaim) also waits for it, and
    the caller adds that wait; the log worker's force is asynchronous.
    """
    sim.st.x_pinned[:] = 0
    if sync:
        disk.charge(sim, log_force_service_s(sim))
    else:
        disk.book_async(sim, log_force_service_s(sim), log_force_service_s(sim))


def write_inodes(sim: Sim, n: int, inodes: int) -> None:
    """xfsaild writes ``inodes`` dirty inodes of node ``n``: buffer lookups, disk time booked.

    Nobody waits for these writes (asynchronous, :func:`reclaimlab.sim.disk.book_async`);
    they take the disk's time from everyone else. Each request is one cluster
    IO, a random IO of ``disk_read_ms`` shared by the inodes flushed with it.
    """
    reads = use_clusters(sim, n, inodes)
    disk.book_async(sim, (inodes + reads) * inode_service_s(sim), disk.random_io_s(sim.costs))


def inode_write_s(sim: Sim) -> float:
    """Seconds of xfsaild's time one inode's cluster IO takes now, behind the work ahead of it.

    xfsaild submits its buffers in batches (xfs_buf_delwri_submit_nowait), so
    they queue behind the asynchronous writes in flight, its own included,
    and the other issuers' requests (:func:`reclaimlab.sim.disk.stretch`).
    """
    disk.issue_as(sim, "xfsaild")
    return inode_service_s(sim) * disk.stretch(sim)


def lock_held_at(holds: list[tuple[float, float, float, int]], t: float) -> bool:
    """Whether mutex_trylock() of an AG's reclaim lock at ``t`` fails: someone holds it then.

    A hold whose walker asked by ``t`` and had not released the lock by then
    means the lock is taken at ``t`` (by it, or by the holder it queues
    behind). A hold asked for after ``t`` (a reclaimer the model ran earlier
    in the step, later in time) came after this caller and does not count, as
    in the blocking pass (:func:`lock_free_at`).
    """
    return any(a <= t < e for a, _, e, _ in holds)


def lock_free_at(holds: list[tuple[float, float, float, int]], t: float) -> float | None:
    """When mutex_lock() of an AG's reclaim lock asked for at ``t`` returns (None: at once).

    mutex_lock() queues a sleeper at the tail of the lock's wait list and
    the unlocking task hands the lock to the first waiter
    (__mutex_lock_common(), __mutex_unlock_slowpath(), kernel/locking/mutex.c):
    first come, first served. The caller gets the lock when the holder and
    every waiter that asked before it (``asked <= t``) have released it, the
    latest end among them. Whoever asks later comes after it: a hold asked
    for after ``t`` is not waited for.
    """
    end = None
    for a, _, e, _ in holds:
        if a <= t < e and (end is None or e > end):
            end = e
    return end


def reclaiming(sim: Sim) -> list[int]:
    """Per AG: inodes another sync walk has grabbed and not yet reclaimed at ``sim.clock``.

    xfs_reclaim_inode() (fs/xfs/xfs_icache.c, 4.19) clears an inode's reclaim
    tag, and so drops ``pag_ici_reclaimable``, only at its ``reclaim:`` label:
    for a dirty inode after xfs_iflush() and the xfs_bwrite() it waits for.
    While a walk holds an AG's reclaim lock, the inodes of its batches still
    count as reclaimable and keep the AG tagged (XFS_ICI_RECLAIM_TAG). The
    model draws a walk's inodes at the start of its hold, so it keeps them
    here until the hold ends, declining evenly over it (the batch's inodes
    are reclaimed one after another): ``ceil(inodes * (end - clock) / (end -
    begin))`` for a hold with ``begin <= clock < end``, all of them for a hold
    that begins after the clock (a walk run earlier in the model's step that
    reaches this AG later in time).
    """
    return [reclaiming_ag(sim, ag) for ag in range(sim.xfs.ags)]


def reclaiming_ag(sim: Sim, ag: int) -> int:
    """:func:`reclaiming` for one AG."""
    clock = sim.clock
    return sum(math.ceil(inodes * min((e - clock) / (e - b), 1.0))
               for _, b, e, inodes in sim.xfs.ag_holds[ag] if clock < e)


def nr_cached_objects(sim: Sim) -> int:
    """xfs_fs_nr_cached_objects(): the whole file system's reclaimable inodes.

    It returns xfs_reclaim_inodes_count(mp), the sum of every AG's
    ``pag_ici_reclaimable`` (fs/xfs/xfs_icache.c): one count for the whole
    file system, whatever node and memcg super_cache_count() asks for
    (fs/super.c), so every node's and every memcg's call sees all of it.
    It includes the inodes another sync walk is still reclaiming at the
    caller's clock (:func:`reclaiming`).
    """
    # As Python ints: one value per node, and numpy's per-call cost was most of the work.
    return sum(sim.st.x_clean.tolist()) + sum(sim.st.x_dirty.tolist()) + sum(reclaiming(sim))


def reclaim_inodes_nr(sim: Sim, n: int, k: int) -> tuple[int, int, float]:
    """XFS free_cached_objects() called for node ``n``: (inodes walked, inodes freed, seconds blocked).

    xfs_reclaim_inodes_nr() (fs/xfs/xfs_icache.c) ignores the node and memcg
    it is called for: it walks the file system's allocation groups, whose
    reclaimable inodes live on every node, so the walk takes inodes of all
    nodes (in proportion to what each holds) and frees each on its own node.
    The caller credits all of them (the kernel adds every slab page freed
    during reclaim, ``reclaim_state->reclaimed_slab``, whatever its node).

    First xfs_ail_push_all(): every inode dirty now is queued for
    :func:`xfsaild`. Then xfs_reclaim_inodes_ag(SYNC_TRYLOCK | SYNC_WAIT) in
    sync mode (4.19/5.0): each AG with reclaimable inodes is walked
    (:func:`ag_walk`) under its pag_ici_reclaim_lock, taken with mutex_trylock: an AG whose lock another
    reclaimer holds is skipped. Clean inodes are freed; dirty ones are
    flushed and waited for, holding the AG's lock (their writes queue behind
    the disk's other IO and take its time, :mod:`reclaimlab.sim.disk`). Only when an AG was skipped and
    ``nr_to_scan`` is still positive after the pass does it walk again, this
    time waiting on each lock (the kernel's ``goto restart`` without
    SYNC_TRYLOCK). Async mode (5.10+) skips dirty inodes and never waits.

    Each AG has its own count of reclaimable inodes (:func:`sync_ags`); the
    walk grabs inodes only once it holds the AG's lock (``radix_tree_gang_lookup_tag``
    and xfs_reclaim_inode_grab() inside the locked do-while), so what it
    takes, and how long it holds the lock, is drawn at that moment, from
    what the AG has then. Which nodes' and which clean or dirty inodes it
    takes is a draw over the file system's inodes (an AG holds the same mix).

    Holds are time intervals per AG, each with the time its walker asked
    for the lock. The model runs reclaimers one after another within a step,
    so a reclaimer run earlier may have taken a lock at a later time. At the
    time ``t`` a walker asks, the trylock fails if a hold asked for by ``t``
    is not over (:func:`lock_held_at`); the blocking pass waits, first come
    first served, for every hold asked for by ``t`` (:func:`lock_free_at`).
    A hold asked for after ``t`` came after this walker in time: neither
    pass waits for it, and the two holds may then overlap (the model cannot
    move the earlier-run reclaimer behind this one).
    An AG is visited while it has inodes nobody has grabbed or inodes
    another walk is still reclaiming (:func:`reclaiming`: they keep the AG
    tagged until they are reclaimed); the latter cannot be grabbed, so a
    walk of such an AG takes the lock (or is skipped, then waits for it) and
    finds nothing, leaving nr_to_scan as it was (``!nr_found``).

    Each second blocked is also added to one cause of ``sim.waits``
    (:mod:`reclaimlab.sim.state`): the wait for another reclaimer's lock
    (``xfs_reclaim_lock``), the log force (``xfs_log_force``), the flush
    (``xfs_sync_reclaim``) and the cluster buffers read before it
    (``xfs_cluster_read``), the queued IO split between those two in
    proportion to their service time.
    """
    st, holds = sim.st, sim.xfs.ag_holds
    nodes = sim.params.nodes
    sync = sim.rules.xfs_reclaim == "sync"
    st.x_pushed[:] = st.x_dirty      # xfs_ail_push_all(): xfsaild takes what is dirty now
    left = sync_ags(sim)
    start, nr = sim.clock, k
    walked = freed = 0
    for trylock in (True, False):
        skipped = False
        for ag in range(len(left)):
            # xfs_perag_get_tag(): an AG is visited while pag_ici_reclaimable counts any inode,
            # those another walk is still reclaiming included (reclaiming()).
            if not left[ag] and not (sync and reclaiming_ag(sim, ag)):
                continue
            if sync:
                if trylock and lock_held_at(holds[ag], sim.clock):
                    skipped = True                   # mutex_trylock() failed: next AG
                    continue
                asked = sim.clock
                # mutex_lock(): first come, first served behind those that asked before it.
                end = None if trylock else lock_free_at(holds[ag], asked)
                if end is not None:
                    sim.waits[XFS_RECLAIM_LOCK] += end - sim.clock
                    sim.clock = end
            inodes = left[ag]
            # The lookup finds only inodes nobody has grabbed (xfs_reclaim_inode_grab skips
            # XFS_IRECLAIM ones); an AG with none left costs nr_to_scan nothing (!nr_found).
            if not inodes:
                continue
            count, nr_after = ag_walk(nr, inodes)
            # Classes: every node's clean, then every node's dirty inodes (Python ints: few nodes).
            got = take_values(sim.rng, st.x_clean.tolist() + st.x_dirty.tolist(), count)
            got_clean, got_dirty = got[:nodes], got[nodes:]
            dirty = sum(got_dirty)
            gone_dirty = got_dirty if sync else [0] * nodes   # async leaves dirty inodes
            nr, walked = nr_after, walked + count
            freed += sum(got_clean) + sum(gone_dirty)
            left[ag] -= sum(got_clean) + sum(gone_dirty)
            _forget_recyclable(sim, got_clean)
            st.x_clean -= got_clean
            if not (sync and dirty):
                continue                             # nothing to flush: the lock is let go at once
            # Per node, the flushes whose cluster buffer is not cached (cluster_misses).
            reads_by_node = (thin_values(sim.rng, got_dirty, cluster_miss_share(sim).tolist())
                             if sim.layout.cluster_cache is not None else [0] * nodes)
            reads = sum(reads_by_node)
            # A pinned inode waits for a log force first (xfs_iunpin_wait); one
            # force unpins every inode, so a walk forces the log at most once.
            force = any(thin_values(sim.rng, got_dirty, pinned_shares(sim).tolist()))
            force_service = log_force_service_s(sim) if force else 0.0
            # A missing cluster buffer is read before the flush: one more IO of the same size.
            flush_service = (dirty + reads) * inode_service_s(sim)
            # The force, then the flushes, one after the other: one stream of this reclaimer.
            waited = disk.queued(sim, force_service + flush_service)
            force_s = waited * force_service / (force_service + flush_service) if force_service else 0.0
            io_s = waited - force_s
            for m, c in enumerate(got_dirty):
                if c:
                    cache_clusters(sim, m, c, reads_by_node[m])
            st.x_dirty -= got_dirty
            st.x_pushed -= got_dirty            # flushed here, no longer queued for xfsaild
            if force:
                log_force(sim, sync=True)
            np.minimum(st.x_pinned, st.x_dirty, out=st.x_pinned)
            disk.charge(sim, flush_service)
            holds[ag].append((asked, sim.clock, sim.clock + waited, count))
            sim.clock += waited
            read_s = io_s * reads / (dirty + reads) if reads else 0.0
            sim.waits[XFS_SYNC_RECLAIM] += io_s - read_s
            sim.waits[XFS_CLUSTER_READ] += read_s
            sim.waits[XFS_LOG_FORCE] += force_s
        if not (skipped and nr > 0):
            break
    return walked, freed, sim.clock - start


def xfsaild(sim: Sim) -> None:
    """One step of xfsaild: write back dirty inodes queued by the last AIL push.

    Capacity is ``dt_s / inode_write_s(sim)`` inodes a step (less the disk
    time booked beyond the steps so far), less the
    expected share of cluster buffers that must be read first (each such
    read costs as much as the write), the fraction of an inode carried over
    in ``sim.xfs.ail_credit`` while the queue lasts; which nodes' inodes are
    written is drawn in proportion to what each has queued.
    """
    st = sim.st
    # Pinned inodes are not in the AIL yet: only a log force puts them there.
    queued = np.minimum(st.x_pushed, st.x_dirty - st.x_pinned)
    if not np.count_nonzero(queued):
        st.x_pushed[:] = 0
        sim.xfs.ail_credit = 0.0
        return
    # np.add.reduce(x, axis=None) is x.sum() without its Python wrapper (every step)
    queued_sum = np.add.reduce(queued, axis=None)
    reads_per_write = float(np.add.reduce(queued * cluster_miss_share(sim), axis=None) / queued_sum)
    # Disk time booked beyond the steps so far is served before this step's writes.
    free_s = max(sim.params.dt_s - sim.disk.backlog_s, 0.0)
    sim.xfs.ail_credit += free_s / (inode_write_s(sim) * (1.0 + reads_per_write))
    budget = min(int(sim.xfs.ail_credit), int(queued_sum))
    # Only a fraction of an inode carries over: time the disk idles is not saved up.
    sim.xfs.ail_credit = sim.xfs.ail_credit - budget if budget < queued_sum else 0.0
    written = take(sim.rng, queued, budget)
    for n in np.flatnonzero(written):
        write_inodes(sim, int(n), int(written[n]))
    st.x_dirty -= written
    st.x_clean += written
    st.x_pushed = queued - written


def log_worker(sim: Sim) -> None:
    """xfs_log_worker(): force the log and push the AIL, queueing every dirty inode for xfsaild.

    A force with nothing pinned writes nothing (the CIL is empty).
    """
    if sim.st.x_pinned.any():
        log_force(sim)
    sim.st.x_pushed[:] = sim.st.x_dirty


def background_reclaim(sim: Sim) -> None:
    """xfs_reclaim_worker(): free every clean reclaimable inode (SYNC_TRYLOCK, no waiting).

    The AGs' counts take in what was added until now, then lose the clean
    inodes each held (:func:`sync_ags`).
    """
    sync_ags(sim)
    sim.st.x_clean[:] = 0
    sim.st.x_clean_set[:] = 0
    sync_ags(sim)


def step(sim: Sim) -> None:
    """XFS's background work at the start of a step (``sim.now``), after data writeback.

    Lock holds that ended are dropped (every reclaimer's clock starts at
    now), the log worker pushes the AIL when it is due, xfsaild runs, and
    the background reclaim worker when it is due.
    """
    for holds in sim.xfs.ag_holds:
        holds[:] = [h for h in holds if h[2] > sim.now]
    if sim.now >= sim.xfs.log_due:
        log_worker(sim)
        sim.xfs.log_due += XFS_LOG_WORKER_S
    xfsaild(sim)
    if sim.now >= sim.xfs.worker_due:
        background_reclaim(sim)
        sim.xfs.worker_due += XFS_RECLAIM_WORKER_S
