"""shrink_slab() for one (node, memcg) at one priority (docs/kernel.md §2.1, §2.6, §3).

The scan count of every shrinker comes from :func:`reclaimlab.formulas.scan`
(built-in or registered formulas alike); this module only applies what the
shrinkers do with the objects they are asked to scan:

* **superblock shrinker** (batch 1024, NUMA- and memcg-aware, SHRINK_STOP
  without ``__GFP_FS``): count = (dentries + inodes on the LRU + XFS inodes
  awaiting reclaim) x vfs_cache_pressure / 100; each batch is split with
  ``mult_frac(nr, part, total + 1)`` and dentries, inodes (and fs objects
  when their share is not nil) get one more ("always scan at least one
  object"). The split uses the counts at the start of the call; each batch
  is one super_cache_scan() call, and so one XFS free_cached_objects() call.
* **dentries and other slab objects**: referenced -> clear the bit and rotate,
  unreferenced -> free. A walk longer than the list comes back to the rotated
  objects and frees them.
* **inodes** (inode_lru_isolate, §3) by ``inode_rule``: ``"v4.18"`` strips an
  unused inode's page cache (LRU_RETRY; iput() re-adds the inode with
  I_REFERENCED, so the restarted walk rotates it) and frees it on a later
  pass; ``"a76cf1a474d7"`` rotates inodes
  with more than one page; ``"v5.16"`` keeps inodes with pages off the LRU
  (not counted, not scanned). Under every rule an inode with dirty pages is
  off the LRU (inode_add_lru() refuses I_DIRTY_ALL, :func:`lru_inodes`).
  A freed VFS inode becomes an XFS inode awaiting reclaim; its slab memory
  is freed only by XFS reclaim, and a lookup of its file before then
  recycles it (``State.x_clean_set``, :func:`reclaimlab.sim.xfs.recycle`).
* **XFS inode reclaim** (free_cached_objects) is :mod:`reclaimlab.sim.xfs`:
  one call per super_cache_scan() call that gives fs objects a share.
* **Memcgs other than the root** (shrink_slab_memcg(), 4.19+): the
  superblock shrinker is called for memcg m on node n only while its bit is
  set in m's shrinker_map (``State.sb_bit``): list_lru_add() sets it when a
  dentry or inode goes onto m's list on n, and a call whose
  super_cache_count() is SHRINK_EMPTY (no dentry, inode or fs object
  counted) clears it. The count includes what nr_cached_objects() returns
  for that memcg, so while it counts fs objects the bit stays set after the
  memcg's own lists are empty (:func:`superblock_bit`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..kernel import formulas
from . import xfs
from .draw import take, thin
from .state import PARENT, RECLAIM_CPU, ROOT

if TYPE_CHECKING:                      # the engine imports this module
    from .engine import Sim

SB = 0   # shrinker index of the superblock
DENTRY, INODE, XFS_INODE = 0, 1, 2   # cache indices of the superblock's caches


def mult_frac(x: int, numer: int, denom: int) -> int:
    """The kernel's mult_frac(): x * numer / denom without overflow."""
    return (x // denom) * numer + ((x % denom) * numer) // denom


def with_pages_fraction(sim: Sim, n: int, m: int) -> np.ndarray:
    """Per file set: share of its inodes that still have page cache (mean field)."""
    st = sim.st
    inodes = st.inodes_at(n, m)
    files_with_pages = np.minimum(inodes, -(-st.pages_at(n, m) // sim.layout.pages_per_file))
    return np.divide(files_with_pages, inodes, out=np.zeros(len(inodes)), where=inodes > 0)


def dirty_pages_fraction(sim: Sim, n: int, m: int) -> np.ndarray:
    """Per file set: share of its inodes with dirty pages (I_DIRTY_PAGES), mean field.

    The dirty pages are taken to fill whole files (a file is written, then
    written back, as a whole), ``ceil(dirty / pages_per_file)`` of them, spread
    over the set's inodes like the pages of :func:`with_pages_fraction`.
    """
    st = sim.st
    inodes = st.inodes_at(n, m)
    files = np.minimum(inodes, -(-st.p_dirty[n, m] // sim.layout.pages_per_file))
    return np.divide(files, inodes, out=np.zeros(len(inodes)), where=inodes > 0)


def lru_inodes(sim: Sim, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """(referenced, unreferenced) inodes on the inode LRU per file set.

    An inode with dirty pages is never on the LRU: inode_add_lru() (fs/inode.c)
    refuses one with I_DIRTY_ALL set, inode_lru_isolate() takes one that became
    dirty off it, and inode_sync_complete() (fs/fs-writeback.c) puts it on once
    writeback has cleaned it. Under ``v5.16`` an inode with any pages is off it.
    """
    st = sim.st
    ref, unref = st.i_ref[n, m], st.i_unref[n, m]
    if sim.rules.inode_rule == "v5.16":
        off = with_pages_fraction(sim, n, m)
    elif st.p_dirty[n, m].any():
        off = dirty_pages_fraction(sim, n, m)
    else:
        return ref, unref
    if not off.any():
        return ref, unref
    keep = 1.0 - off
    return np.floor(ref * keep).astype(np.int64), np.floor(unref * keep).astype(np.int64)


def superblock_parts(sim: Sim, n: int, m: int) -> tuple[int, int, int]:
    """(dentries, inodes, fs objects) the superblock shrinker counts on (n, m).

    The fs objects are xfs_fs_nr_cached_objects(), the whole file system's
    count, on every node (:func:`reclaimlab.sim.xfs.nr_cached_objects`). A
    memcg other than the root is asked only while its shrinker bit is set
    (shrink_slab_memcg(): set by list_lru_add() on its lists); the model
    takes that as while it has dentries or inodes on this node's lists.
    """
    st = sim.st
    ref, unref = lru_inodes(sim, n, m)
    dentries, inodes = int(st.dentries_at(n, m).sum()), int(ref.sum() + unref.sum())
    fs = xfs.nr_cached_objects(sim) if m == ROOT or dentries + inodes else 0
    return dentries, inodes, fs


def count_objects(sim: Sim, n: int, m: int) -> np.ndarray:
    """What each shrinker's count_objects() returns on (n, m)."""
    F = np.zeros(sim.layout.n_shrinkers, np.int64)
    if sim.params.filesets:
        F[SB] = mult_frac(sum(superblock_parts(sim, n, m)), sim.params.vfs_cache_pressure, 100)
    F[1:] = sim.st.g_ref[n, m] + sim.st.g_unref[n, m]
    return F


def superblock_bit(sim: Sim, n: int, m: int, count: int) -> bool:
    """Whether shrink_slab_memcg() calls the superblock shrinker for memcg ``m`` on node ``n``.

    ``count`` is the shrinker's count_objects() for (n, m). Updates
    ``State.sb_bit[n, m]`` as the kernel does: the memcg's own dentries and
    unpinned inodes mean list_lru_add() set the bit (memcg_set_shrinker_bit());
    a count of nothing is SHRINK_EMPTY, on which shrink_slab_memcg() clears it
    (with vfs_cache_pressure 0 the kernel's count is 0, not SHRINK_EMPTY, and
    the bit stays; the call scans nothing either way). The root memcg is not
    gated (shrink_slab() walks the whole shrinker list for it).
    """
    if m == ROOT:
        return True
    st = sim.st
    if st.d_ref[n, m].any() or st.d_unref[n, m].any() or st.i_ref[n, m].any() or st.i_unref[n, m].any():
        st.sb_bit[n, m] = True
    elif count == 0:
        st.sb_bit[n, m] = False
    return bool(st.sb_bit[n, m])


def may_shrink(sim: Sim, n: int) -> np.ndarray:
    """Per memcg slot: whether shrink_slab() on node ``n`` could find any shrinker work.

    The root always; another memcg when it holds objects or its superblock
    bit is set. A shrinker called with a count of 0 changes nothing
    (do_shrink_slab() returns at once), so skipping the others is exact.
    """
    st = sim.st
    # Per memcg: dentries and unpinned inodes, then the other caches' objects.
    own = st.lists[4:8, n].sum(axis=(0, 2)) + st.generic_lists[:, n].sum(axis=(0, 2))
    out = (own > 0) | st.sb_bit[n]
    out[ROOT] = True
    return out


def shrink_slab(sim: Sim, n: int, m: int, priority: int, nofs: bool) -> tuple[float, float]:
    """Call every shrinker for node ``n``, memcg ``m``.

    For a memcg other than the root, the superblock shrinker only when its
    shrinker_map bit is set (:func:`superblock_bit`).

    Returns
    -------
    (pages freed, seconds spent): slab pages freed plus page cache stripped
    with inodes (both count as reclaimed, §3), and the CPU and IO wait time.
    """
    st = sim.st
    F = count_objects(sim, n, m)
    if m != ROOT and sim.params.filesets and not superblock_bit(sim, n, m, int(F[SB])):
        F[SB] = 0
    if not F.any():
        return 0.0, 0.0      # do_shrink_slab() returns at a count of 0: nothing changes
    ni = np.where(sim.layout.numa_aware, n, 0)
    mi = m if sim.per_memcg_deferred else 0
    slot = (np.arange(sim.layout.n_shrinkers), ni, mi)
    res = formulas.scan(sim.rules.formula, F, priority, seeks=sim.layout.seeks, batch=sim.layout.batch,
                        nr_deferred=st.nr_deferred[slot], small_scan=st.small_scan,
                        shrink_stop=sim.layout.fs_shrinker & nofs)
    st.nr_deferred[slot] = res.next_deferred
    st.small_scan = np.array(res.small_scan, np.int64)
    tot = sim.totals
    pages, seconds = 0.0, 0.0
    if sim.params.filesets and F[SB]:
        p, s = _scan_superblock(sim, n, m, int(res.scanned[SB]), int(res.delta[SB]),
                                int(res.total_scan[SB]))
        pages, seconds = pages + p, seconds + s
    for g in range(sim.layout.n_generic):
        k = int(res.scanned[1 + g])
        c = sim.layout.generic_cache_index + g
        tot.delta[n, m, c] += int(res.delta[1 + g])
        tot.total_scan[n, m, c] += int(res.total_scan[1 + g])
        if k == 0:
            continue
        if m == PARENT and sim.parent_lists is not None:
            freed = _walk_parent(sim, n, g, k)
        else:
            freed, ref, unref = isolate_referenced(sim.rng, st.g_ref[n, m, g], st.g_unref[n, m, g], k)
            st.g_ref[n, m, g], st.g_unref[n, m, g] = ref, unref
        tot.scanned[n, m, c] += k
        tot.freed[n, m, c] += int(freed)
        pages += freed / sim.layout.generic_objects_per_page[g]
        cpu = k * sim.costs.object_scan_us * 1e-6 + freed * sim.costs.object_free_us * 1e-6
        seconds += cpu
        sim.waits[RECLAIM_CPU] += cpu
    return pages, seconds


def isolate_referenced(rng, ref, unref, k: int):
    """Walk ``k`` objects of a list: referenced rotate (bit cleared), others are freed.

    Works on scalars or arrays of classes; returns (freed, ref, unref).
    """
    ref, unref = np.asarray(ref, np.int64), np.asarray(unref, np.int64)
    first = take(rng, np.stack([ref, unref]), k)
    rotated, freed = first[0], first[1]
    again = take(rng, rotated, k - int(first.sum()))   # the walk comes back round
    return freed + again, ref - rotated, unref - first[1] + rotated - again


def _split_calls(nr: int, parts: tuple[int, int, int], batch: int) -> list[tuple[np.ndarray, int]]:
    """super_cache_scan() calls for ``nr`` scanned objects: [(per-cache counts, times)].

    Each call gets ``min(batch, what is left)`` objects, split with
    ``mult_frac(size, part, total + 1)``; dentries and inodes get one more,
    fs objects one more only when their share is not nil (``if (fs_objects)``).
    """
    d, i, f = parts
    total = d + i + f + 1
    calls = []
    full, rest = divmod(nr, batch)
    for size, times in ((batch, full), (rest, 1 if rest else 0)):
        if times:
            fs = mult_frac(size, f, total)
            calls.append((np.array([mult_frac(size, d, total) + 1, mult_frac(size, i, total) + 1,
                                    fs + 1 if fs else 0]), times))
    return calls


def _scan_superblock(sim: Sim, n, m, nr, delta, total_scan) -> tuple[float, float]:
    """Apply one super_cache_scan() call sequence of ``nr`` objects."""
    st, tot, costs = sim.st, sim.totals, sim.costs
    parts = superblock_parts(sim, n, m)
    weights = np.array(parts, float)
    if weights.sum():
        share = weights / weights.sum()
        tot.delta[n, m, :3] += np.floor(delta * share).astype(np.int64)
        tot.total_scan[n, m, :3] += np.floor(total_scan * share).astype(np.int64)
    if nr == 0:
        return 0.0, 0.0
    calls = _split_calls(nr, parts, sim.layout.batch[SB])
    want = sum(split * times for split, times in calls)
    pages = 0.0
    # Dentries: freeing one drops the last reference to its inode.
    freed_d, st.d_ref[n, m], st.d_unref[n, m] = isolate_referenced(
        sim.rng, st.d_ref[n, m], st.d_unref[n, m], int(want[DENTRY]))
    st.i_unref[n, m] += freed_d
    pages += freed_d.sum() / sim.params.dentry_objects_per_page
    freed_i, stripped = _prune_icache(sim, n, m, int(want[INODE]))
    pages += stripped
    seconds = 0.0
    walked_x = freed_x = 0
    for split, times in calls:
        for _ in range(times if split[XFS_INODE] else 0):
            # One free_cached_objects() call per super_cache_scan() call.
            walked, freed, wait = xfs.reclaim_inodes_nr(sim, n, int(split[XFS_INODE]))
            # A call that found nothing to grab may still have waited for another's AG lock.
            walked_x, freed_x, seconds = walked_x + walked, freed_x + freed, seconds + wait
            if walked == 0:
                break
    pages += freed_x / sim.params.inode_objects_per_page
    for c, k, f in ((DENTRY, want[DENTRY], freed_d.sum()), (INODE, want[INODE], freed_i),
                    (XFS_INODE, walked_x, freed_x)):
        tot.scanned[n, m, c] += int(k)
        tot.freed[n, m, c] += int(f)
    objects = int(want[DENTRY] + want[INODE]) + walked_x
    freed = int(freed_d.sum()) + freed_i + freed_x
    cpu = objects * costs.object_scan_us * 1e-6 + freed * costs.object_free_us * 1e-6
    seconds += cpu
    sim.waits[RECLAIM_CPU] += cpu
    return pages, seconds


def _prune_icache(sim: Sim, n, m, k) -> tuple[int, float]:
    """inode_lru_isolate() over ``k`` steps of the walk; returns (inodes freed, pages stripped).

    Referenced inodes rotate (the bit cleared); unused ones without pages are
    freed; unused ones with pages are rotated under a76cf1a474d7 (more than one
    page), otherwise their pages are stripped: LRU_RETRY restarts the walk,
    and since iput() re-added the inode with I_REFERENCED, it is met again
    and rotated (two steps), to be freed when a walk next comes round to it.
    """
    st = sim.st
    ref, unref = lru_inodes(sim, n, m)
    if k == 0 or ref.sum() + unref.sum() == 0:
        return 0, 0.0
    # Under v5.16 only inodes without pages are on the LRU; otherwise those with
    # dirty pages are off it, and the share with pages is among the others.
    if sim.rules.inode_rule == "v5.16":
        with_pages = np.zeros(len(ref))
    else:
        dirty = dirty_pages_fraction(sim, n, m)
        with_pages = np.clip(np.divide(with_pages_fraction(sim, n, m) - dirty, 1.0 - dirty,
                                       out=np.zeros(len(ref)), where=dirty < 1.0), 0.0, 1.0)
    rotate = (sim.layout.pages_per_file > 1) if sim.rules.inode_rule == "a76cf1a474d7" else np.zeros(len(ref), bool)
    lru = ref + unref
    steps_per_inode = (lru + unref * with_pages * ~rotate).sum() / lru.sum()
    k = int(k / steps_per_inode)
    first = take(sim.rng, np.stack([ref, unref]), k)
    rotated = first[0]
    freed, kept, stripped = _visit_unused(sim, first[1], with_pages, rotate)
    # Back round the list: the rotated inodes are unreferenced now and the
    # stripped ones have no pages left.
    again = take(sim.rng, np.stack([rotated, kept, stripped]), k - int(first.sum()))
    freed_again, _, stripped_again = _visit_unused(sim, again[0], with_pages, rotate)
    freed = freed + freed_again + again[2]
    st.i_ref[n, m] -= rotated
    st.i_unref[n, m] += rotated - freed
    pages = _strip_pages(sim, n, m, stripped + stripped_again)
    dirty = thin(sim.rng, freed, np.divide(st.i_dirty[n, m], np.maximum(st.inodes_at(n, m) + freed, 1)))
    dirty = np.minimum(dirty, st.i_dirty[n, m])
    st.i_dirty[n, m] -= dirty
    st.x_dirty[n] += int(dirty.sum())
    st.x_clean[n] += int((freed - dirty).sum())
    if m == ROOT:
        # Still in XFS's inode cache (XFS_IRECLAIMABLE) until XFS reclaims it: a lookup of
        # its file meanwhile recycles it without IO (xfs_iget_cache_hit(), xfs.py). The
        # working sets' files are in the root memcg; a cgroup's files are not read again.
        st.x_clean_set[n] += freed - dirty
    return int(freed.sum()), pages


def _visit_unused(sim: Sim, unused, with_pages, rotate):
    """Unused inodes met by the walk, per file set: (freed, rotated with pages, stripped)."""
    have = thin(sim.rng, unused, with_pages)
    return unused - have, np.where(rotate, have, 0), np.where(rotate, 0, have)


def _strip_pages(sim: Sim, n, m, files) -> float:
    """invalidate_mapping_pages() on ``files`` inodes per file set; returns pages freed."""
    st = sim.st
    if not files.any():
        return 0.0
    clean = np.stack([st.p_inact[n, m], st.p_ref[n, m], st.p_act[n, m]])
    pages = st.pages_at(n, m)
    have = -(-pages // sim.layout.pages_per_file)
    per_file = np.divide(pages, np.maximum(have, 1))
    total = 0.0
    for k in np.flatnonzero(files):
        gone = take(sim.rng, clean[:, k], int(round(files[k] * per_file[k])))
        st.p_inact[n, m, k] -= gone[0]
        st.p_ref[n, m, k] -= gone[1]
        st.p_act[n, m, k] -= gone[2]
        total += gone.sum()
    return float(total)


def _walk_parent(sim: Sim, n: int, g: int, k: int) -> int:
    """Walk the parent cgroup's ordered list; freed objects release their dying memcgs."""
    st = sim.st
    lst = sim.parent_lists[n][g]
    by_owner = lst.walk(sim.rng, k)
    for owner, count in by_owner.items():
        if owner >= 0:
            st.pinned_by[owner, n, g] -= count
    st.g_ref[n, PARENT, g], st.g_unref[n, PARENT, g] = lst.totals()
    return sum(by_owner.values())
