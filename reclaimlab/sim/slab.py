"""shrink_slab() for one (node, memcg) at one priority (docs/kernel.md §2.1, §2.6, §3).

The scan count of every shrinker comes from :func:`reclaimlab.formulas.scan`'s
arithmetic (built-in or registered formulas alike, through the run's
:class:`~reclaimlab.sim.scancall.ShrinkerScan`); this module only applies what the
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
  objects and frees them. The dentry and inode LRUs are walked in order, from
  the head, rotated objects going to the tail (:mod:`reclaimlab.sim.slaborder`,
  :func:`_walk_dentries`, :func:`_prune_icache`); the other caches' lists are
  a mean field (:func:`isolate_referenced`: the scanned objects drawn
  uniformly from the classes).
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

import math

import numpy as np

from . import xfs
from .draw import binomial, take, take_values, thin_values
from .slaborder import BARE, REF, UNREF, sync_dentries, sync_inodes
from .state import PARENT, RECLAIM_CPU, ROOT

if TYPE_CHECKING:                      # the engine imports this module
    from .engine import Sim

SB = 0   # shrinker index of the superblock
DENTRY, INODE, XFS_INODE = 0, 1, 2   # cache indices of the superblock's caches


def mult_frac(x: int, numer: int, denom: int) -> int:
    """The kernel's mult_frac(): x * numer / denom without overflow."""
    return (x // denom) * numer + ((x % denom) * numer) // denom


def _rows(sim: Sim, n: int, m: int) -> list[list[int]]:
    """The state's (n, m, k) lists of one (node, memcg), as Python ints: ``rows[i][k]``, ``state.LISTS`` order.

    One numpy call for the whole cell: the per-memcg shrinker calls work on a
    handful of file sets, where element-wise Python beats numpy's per-call cost.
    The float arithmetic below is the same IEEE operations numpy does element-wise.
    """
    return sim.st.lists[:, n, m].tolist()


def _fractions(rows: list[list[int]], counts: list[int], ppf: list[int]) -> list[float]:
    """Per file set: ``min(inodes, ceil(counts / pages_per_file)) / inodes`` (0 with no inodes)."""
    out = []
    for d_ref, d_unref, i_ref, i_unref, c, p in zip(rows[4], rows[5], rows[6], rows[7], counts, ppf):
        inodes = d_ref + d_unref + i_ref + i_unref
        out.append(min(inodes, -(-c // p)) / inodes if inodes > 0 else 0.0)
    return out


def _with_pages_values(sim: Sim, rows: list[list[int]]) -> list[float]:
    """:func:`with_pages_fraction` of a cell's rows, as a list."""
    pages = [a + b + c + d for a, b, c, d in zip(rows[0], rows[1], rows[2], rows[3])]
    return _fractions(rows, pages, sim.layout.pages_per_file.tolist())


def _dirty_values(sim: Sim, rows: list[list[int]]) -> list[float]:
    """:func:`dirty_pages_fraction` of a cell's rows, as a list."""
    return _fractions(rows, rows[3], sim.layout.pages_per_file.tolist())


def with_pages_fraction(sim: Sim, n: int, m: int) -> np.ndarray:
    """Per file set: share of its inodes that still have page cache (mean field)."""
    return np.array(_with_pages_values(sim, _rows(sim, n, m)), float)


def dirty_pages_fraction(sim: Sim, n: int, m: int) -> np.ndarray:
    """Per file set: share of its inodes with dirty pages (I_DIRTY_PAGES), mean field.

    The dirty pages are taken to fill whole files (a file is written, then
    written back, as a whole), ``ceil(dirty / pages_per_file)`` of them, spread
    over the set's inodes like the pages of :func:`with_pages_fraction`.
    """
    return np.array(_dirty_values(sim, _rows(sim, n, m)), float)


def _lru_inode_values(sim: Sim, rows: list[list[int]]) -> tuple[list[int], list[int]]:
    """:func:`lru_inodes` of a cell's rows, as lists."""
    ref, unref = rows[6], rows[7]
    if sim.rules.inode_rule == "v5.16":
        off = _with_pages_values(sim, rows)
    elif any(rows[3]):
        off = _dirty_values(sim, rows)
    else:
        return ref, unref
    if not any(off):
        return ref, unref
    keep = [1.0 - o for o in off]
    return [math.floor(r * k) for r, k in zip(ref, keep)], [math.floor(u * k) for u, k in zip(unref, keep)]


def lru_inodes(sim: Sim, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """(referenced, unreferenced) inodes on the inode LRU per file set.

    An inode with dirty pages is never on the LRU: inode_add_lru() (fs/inode.c)
    refuses one with I_DIRTY_ALL set, inode_lru_isolate() takes one that became
    dirty off it, and inode_sync_complete() (fs/fs-writeback.c) puts it on once
    writeback has cleaned it. Under ``v5.16`` an inode with any pages is off it.
    """
    ref, unref = _lru_inode_values(sim, _rows(sim, n, m))
    return np.array(ref, np.int64), np.array(unref, np.int64)


def superblock_parts(sim: Sim, n: int, m: int) -> tuple[int, int, int]:
    """(dentries, inodes, fs objects) the superblock shrinker counts on (n, m).

    The fs objects are xfs_fs_nr_cached_objects(), the whole file system's
    count, on every node and for every memcg
    (:func:`reclaimlab.sim.xfs.nr_cached_objects`): super_cache_count() adds
    it whatever ``sc->memcg`` is, so a memcg whose own lists are empty still
    counts the file system's reclaimable inodes. Whether a memcg other than
    the root is asked at all is its shrinker bit's business
    (:func:`superblock_bit`), not this count's. ext4 has no
    nr_cached_objects: its fs objects are 0 (``SimParams.filesystem``).
    """
    rows = _rows(sim, n, m)
    ref, unref = _lru_inode_values(sim, rows)
    dentries, inodes = sum(rows[4]) + sum(rows[5]), sum(ref) + sum(unref)
    return dentries, inodes, xfs.nr_cached_objects(sim) if sim.xfs_fs else 0


def count_objects(sim: Sim, n: int, m: int) -> np.ndarray:
    """What each shrinker's count_objects() returns on (n, m)."""
    return np.array(_count_values(sim, n, m)[0], np.int64)


def _count_values(sim: Sim, n: int, m: int) -> tuple[list[int], tuple[int, int, int] | None]:
    """:func:`count_objects` as a list, and the :func:`superblock_parts` it used (None without file sets)."""
    g_ref, g_unref, g_ref2 = sim.st.generic_lists[:, n, m].tolist()
    F = [0] + [r + u + r2 for r, u, r2 in zip(g_ref, g_unref, g_ref2)]
    parts = None
    if sim.params.filesets:
        parts = superblock_parts(sim, n, m)
        F[SB] = mult_frac(sum(parts), sim.params.vfs_cache_pressure, 100)
    return F, parts


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
    # d_ref, d_unref, i_ref, i_unref (count_nonzero: the cheapest numpy test of a small block)
    if np.count_nonzero(st.lists[4:8, n, m]):
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
    own = np.add.reduce(st.lists[4:8, n], axis=(0, 2)) + np.add.reduce(st.generic_lists[:, n], axis=(0, 2))
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
    st, lay = sim.st, sim.layout
    F, parts = _count_values(sim, n, m)
    if m != ROOT and sim.params.filesets and not superblock_bit(sim, n, m, F[SB]):
        F[SB] = 0
    if not any(F):
        return 0.0, 0.0      # do_shrink_slab() returns at a count of 0: nothing changes
    mi = m if sim.per_memcg_deferred else 0
    scanner = sim.scanner
    if scanner.all_numa:
        slot = (slice(None), n, mi)
    else:
        slot = (np.arange(lay.n_shrinkers), np.where(lay.numa_aware, n, 0), mi)
    delta, total_scan, scanned, next_deferred, small_scan = scanner(
        F, priority, st.nr_deferred[slot], st.small_scan, nofs)
    st.nr_deferred[slot] = next_deferred
    if scanner.changes_small:
        st.small_scan = small_scan.copy()
    tot = sim.totals
    pages, seconds = 0.0, 0.0
    if sim.params.filesets and F[SB]:
        p, s = _scan_superblock(sim, n, m, scanned[SB], delta[SB], total_scan[SB], parts)
        pages, seconds = pages + p, seconds + s
    for g in range(lay.n_generic):
        k = scanned[1 + g]
        c = lay.generic_cache_index + g
        if delta[1 + g]:
            tot.delta[n, m, c] += delta[1 + g]
        if total_scan[1 + g]:
            tot.total_scan[n, m, c] += total_scan[1 + g]
        if k == 0:
            continue
        if m == PARENT and sim.parent_lists is not None:
            freed = _walk_parent(sim, n, g, k)
        elif lay.generic_lru_ref[g] > 1:
            levels = [int(st.g_unref[n, m, g]), int(st.g_ref[n, m, g]), int(st.g_ref2[n, m, g])]
            freed, levels = isolate_lru_ref(sim.rng, levels, k)
            st.g_unref[n, m, g], st.g_ref[n, m, g], st.g_ref2[n, m, g] = levels
        else:
            freed, ref, unref = _isolate_values(sim.rng, [int(st.g_ref[n, m, g])], [int(st.g_unref[n, m, g])], k)
            freed = freed[0]
            st.g_ref[n, m, g], st.g_unref[n, m, g] = ref[0], unref[0]
        tot.scanned[n, m, c] += k
        tot.freed[n, m, c] += int(freed)
        pages += freed / float(lay.generic_objects_per_page[g])
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


def _isolate_values(rng, ref: list[int], unref: list[int], k: int) -> tuple[list[int], list[int], list[int]]:
    """:func:`isolate_referenced` on lists of classes (the same draws in the same order)."""
    first = take_values(rng, ref + unref, k)
    K = len(ref)
    rotated, freed = first[:K], first[K:]
    again = take_values(rng, rotated, k - sum(first))   # the walk comes back round
    return ([f + a for f, a in zip(freed, again)], [r - x for r, x in zip(ref, rotated)],
            [u - f + x - a for u, f, x, a in zip(unref, freed, rotated, again)])


def isolate_lru_ref(rng, levels: list[int], k: int) -> tuple[int, list[int]]:
    """A walk of ``k`` objects of an LRU whose objects have passes left: (freed, levels after).

    ``levels[j]`` objects can be rotated ``j`` more times: xfs_buftarg_isolate()
    (fs/xfs/xfs_buf.c, 4.17+) returns LRU_ROTATE while it can decrement the
    buffer's ``b_lru_ref`` (to the tail, one pass less) and frees it once that
    is 0. The walk meets a uniform draw of the objects (mean field), then, if
    ``k`` is larger than the list, the rotated ones again in the order they went
    to the tail (a uniform draw of them), and so on.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> isolate_lru_ref(rng, [0, 0, 10], 10)      # all at 2: each rotated once
    (0, [0, 10, 0])
    >>> isolate_lru_ref(rng, [0, 0, 10], 30)      # three laps: freed on the third
    (10, [0, 0, 0])
    """
    left, freed = int(k), 0
    levels = list(levels)
    pool = levels                   # the objects the walk meets next, by passes left
    while left > 0 and sum(pool):
        met = take_values(rng, pool, left)
        left -= sum(met)
        freed += met[0]
        rotated = [0] * len(levels)
        for j in range(1, len(levels)):
            rotated[j - 1] = met[j]
        levels = [x - m + r for x, m, r in zip(levels, met, rotated)]
        pool = rotated              # at the tail, met again only after every other object
    return freed, levels


def _split_calls(nr: int, parts: tuple[int, int, int], batch: int) -> list[tuple[np.ndarray, int]]:
    """super_cache_scan() calls for ``nr`` scanned objects: [(per-cache counts, times)].

    Each call gets ``min(batch, what is left)`` objects, split with
    ``mult_frac(size, part, total + 1)``; dentries and inodes get one more,
    fs objects one more only when their share is not nil (``if (fs_objects)``).
    """
    return [(np.array(split), times) for split, times in _split_values(nr, parts, int(batch))]


def _split_values(nr: int, parts: tuple[int, int, int], batch: int) -> list[tuple[list[int], int]]:
    """:func:`_split_calls` with each split as a list of ints."""
    d, i, f = parts
    total = d + i + f + 1
    calls = []
    full, rest = divmod(nr, batch)
    for size, times in ((batch, full), (rest, 1 if rest else 0)):
        if times:
            fs = mult_frac(size, f, total)
            calls.append(([mult_frac(size, d, total) + 1, mult_frac(size, i, total) + 1,
                           fs + 1 if fs else 0], times))
    return calls


def _floor_shares(value: int, share: list[float]) -> list[int] | None:
    """``np.floor(value * share).astype(np.int64)`` as ints; None when a product is out of int64's range."""
    if 0 <= value < 2**62 and min(share) >= 0.0 and max(share) <= 1.0:   # the products fit int64
        return [math.floor(value * s) for s in share]
    return None


def _scan_superblock(sim: Sim, n, m, nr, delta, total_scan, parts=None) -> tuple[float, float]:
    """Apply one super_cache_scan() call sequence of ``nr`` objects.

    ``parts``: :func:`superblock_parts` of (n, m) when the caller has them.
    """
    st, tot, costs = sim.st, sim.totals, sim.costs
    if parts is None:
        parts = superblock_parts(sim, n, m)
    # The sum of three counts, exact as a float (< 2**53): numpy's sum of the float array.
    weight = float(sum(parts))
    if weight:
        share = [float(x) / weight for x in parts]
        for out, value in ((tot.delta, delta), (tot.total_scan, total_scan)):
            if not value:
                continue                      # floor(0 * share) adds nothing
            floors = _floor_shares(value, share)
            if floors is None:
                out[n, m, :3] += np.floor(value * np.array(share)).astype(np.int64)
            else:
                out[n, m, :3] += floors
    if nr == 0:
        return 0.0, 0.0
    calls = _split_values(nr, parts, int(sim.layout.batch[SB]))
    want = [sum(split[c] * times for split, times in calls) for c in range(3)]
    pages = 0.0
    # Dentries: freeing one drops the last reference to its inode.
    freed_d = _walk_dentries(sim, n, m, want[DENTRY])
    if any(freed_d):
        # iput_final() -> inode_add_lru(): the inode joins the inode LRU's tail, I_REFERENCED clear.
        inodes = st.slab_order.inodes(n, m)
        sync_inodes(inodes, st.i_ref[n, m].tolist(), st.i_unref[n, m].tolist())
        for k, f in enumerate(freed_d):
            inodes.put(UNREF, k, f, st.order.now)
        st.i_unref[n, m] += freed_d
    pages += sum(freed_d) / sim.params.dentry_objects_per_page
    freed_i, stripped = _prune_icache(sim, n, m, want[INODE])
    pages += stripped
    if not sim.xfs_fs:
        # ext4: the evicted inodes' slab is freed now (XFS frees it when XFS reclaims them).
        pages += freed_i / sim.params.inode_objects_per_page
    seconds = 0.0
    walked_x = freed_x = 0
    for split, times in calls:
        for _ in range(times if split[XFS_INODE] else 0):
            # One free_cached_objects() call per super_cache_scan() call.
            walked, freed, wait = xfs.reclaim_inodes_nr(sim, n, split[XFS_INODE])
            # A call that found nothing to grab may still have waited for another's AG lock.
            walked_x, freed_x, seconds = walked_x + walked, freed_x + freed, seconds + wait
            if walked == 0:
                break
    pages += freed_x / sim.params.inode_objects_per_page
    for c, k, f in ((DENTRY, want[DENTRY], sum(freed_d)), (INODE, want[INODE], freed_i),
                    (XFS_INODE, walked_x, freed_x)):
        tot.scanned[n, m, c] += int(k)
        tot.freed[n, m, c] += int(f)
    objects = int(want[DENTRY] + want[INODE]) + walked_x
    freed = int(sum(freed_d)) + freed_i + freed_x
    cpu = objects * costs.object_scan_us * 1e-6 + freed * costs.object_free_us * 1e-6
    seconds += cpu
    sim.waits[RECLAIM_CPU] += cpu
    return pages, seconds


def _walk_dentries(sim: Sim, n: int, m: int, k: int) -> list[int]:
    """dentry_lru_isolate() over ``k`` steps of list_lru_walk_one(), from the head; dentries freed per set.

    fs/dcache.c, v4.19: a dentry with DCACHE_REFERENCED has it cleared and is
    moved to the tail (LRU_ROTATE); one without is freed (LRU_REMOVED, then
    shrink_dentry_list()). A walk longer than the list comes back to the
    rotated dentries, now unreferenced, and frees them
    (:mod:`reclaimlab.sim.slaborder`).
    """
    st = sim.st
    d_ref, d_unref = st.lists[4:6, n, m].tolist()
    order = st.slab_order.dentries(n, m)
    sync_dentries(order, d_ref, d_unref)
    K = len(d_ref)
    freed = [0] * K
    left, now = int(k), st.order.now
    while left > 0:
        got = order.take_oldest(sim.rng, left)
        met = sum(got)
        if met == 0:
            break
        left -= met
        for j in range(K):
            if got[j]:
                order.put(UNREF, j, got[j], now)      # LRU_ROTATE: the bit cleared, to the tail
            freed[j] += got[K + j]
    st.d_ref[n, m] = order.held(REF)
    st.d_unref[n, m] = order.held(UNREF)
    return freed


def _prune_icache(sim: Sim, n, m, k) -> tuple[int, float]:
    """inode_lru_isolate() over ``k`` steps of list_lru_walk_one(), from the head; returns (inodes freed, pages stripped).

    fs/inode.c, v4.19, in the order the kernel tests them, for each inode the
    walk meets (:mod:`reclaimlab.sim.slaborder` keeps the list's order):

    * an inode off the LRU in the kernel (dirty pages: inode_add_lru() refused
      it, or inode_lru_isolate() takes it off, LRU_REMOVED; under v5.16 any
      pages) is taken out of the order, without a step (the count leaves
      these inodes out too, :func:`lru_inodes`): of the set's unpinned inodes
      not known to be bare, the mean-field share off the LRU is kept off, and
      those beyond it (written back, or their pages reclaimed, since the last
      walk) rejoin the tail first;
    * I_REFERENCED: cleared, LRU_ROTATE to the tail (one step);
    * unused with pages (a mean-field share of the set's inodes not known to
      be bare): under a76cf1a474d7 with more than one page (the set's file
      size), LRU_ROTATE to the tail, pages kept; otherwise its pages are
      stripped (invalidate_mapping_pages()) and LRU_RETRY restarts the walk,
      which meets it again at the head: iput() found it still on the list and
      set I_REFERENCED (inode_lru_list_add()), so it is rotated to the tail,
      bare (two steps), to be freed when a walk next comes round to it;
    * otherwise freed (LRU_REMOVED, one step).

    Which unused inodes have pages: a mean-field share of the set's inodes,
    except for a set whose files are never looked up again (no working set:
    a copy's, a grep's or a build's output), whose files leave both lists
    oldest first: page reclaim isolates the oldest pages from the inactive
    tail (isolate_lru_pages(), mm/vmscan.c) and the dentry and inode walks
    free from the head. Its cached pages are then its youngest files', and
    on the inode LRU only its youngest inodes still have them (as many as
    its files with pages beyond those whose dentries or dirty pages keep
    them off the list), behind the bare ones the walk meets first.
    inode_lru_isolate() strips only the pages an inode still has
    (invalidate_mapping_pages()); a bare inode is freed.

    The walk is taken in chunks of the objects its remaining steps are
    expected to meet, until the steps are spent (the last chunk may overrun
    by its strips' second steps).
    """
    st = sim.st
    rows = _rows(sim, n, m)
    order = st.slab_order.inodes(n, m)
    sync_inodes(order, rows[6], rows[7])
    ref, unref = _lru_inode_values(sim, rows)
    if k == 0 or sum(ref) + sum(unref) == 0:
        return 0, 0.0
    K = len(ref)
    ppf = sim.layout.pages_per_file.tolist()
    bare = order.held(BARE)
    off, strip_share = [], []
    # A set never looked up again loses its files oldest first from the page LRU and the
    # dentry and inode LRUs alike: of its unreferenced inodes on the LRU only the youngest
    # `tail` still have pages (its files with pages beyond the youngest, whose dentries or
    # dirty pages keep them off the list), at the tail, behind its bare ones. None: the
    # set's mean-field share.
    tail = [None] * K
    for j, fs in enumerate(sim.params.filesets):
        inodes = rows[4][j] + rows[5][j] + rows[6][j] + rows[7][j]
        others = inodes - bare[j]             # inodes not known to have no pages
        pages = rows[0][j] + rows[1][j] + rows[2][j] + rows[3][j]
        files_with_pages = -(-pages // ppf[j])
        files_dirty = -(-rows[3][j] // ppf[j])
        w = _clip01(min(inodes, files_with_pages) / others) if others > 0 else 0.0
        d = _clip01(min(inodes, files_dirty) / others) if others > 0 else 0.0
        if sim.rules.inode_rule == "v5.16":
            off.append(w)
            strip_share.append(0.0)
        else:
            off.append(d)
            strip_share.append(_clip01((w - d) / (1.0 - d)) if d < 1.0 else 0.0)
        if not fs.working_set:
            tail[j] = max(files_with_pages - max(rows[4][j] + rows[5][j], files_dirty), 0)
    rotate = [sim.rules.inode_rule == "a76cf1a474d7" and p > 1 for p in ppf]
    rng, now = sim.rng, st.order.now
    # How many of each set's unpinned inodes not known to be bare are off the LRU.
    held = order.known
    target = [math.floor((held[j] + held[K + j] + order.off[j]) * off[j]) for j in range(K)]
    for j in range(K):
        if order.off[j] > target[j]:
            # Written back (or, under v5.16, pages reclaimed): back on the LRU, at the tail.
            order.put(UNREF, j, order.off[j] - target[j], now)
            order.off[j] = target[j]
    freed, stripped = [0] * K, [0] * K
    left = int(k)
    cap = sum(order.known) + left             # objects met: a bound on the loop
    met_total = 0
    while left > 0 and met_total < cap:
        held = order.known
        # The chance a met referenced or unreferenced inode of set j is off the LRU: the
        # share of those not yet taken off.
        p_off = [_clip01((target[j] - order.off[j]) / (held[j] + held[K + j]))
                 if held[j] + held[K + j] else 0.0 for j in range(K)]
        # Steps a met object is expected to take, for the chunk's size.
        steps = sum((held[j] + held[K + j] * (1.0 + (0.0 if rotate[j] else strip_share[j]))) * (1.0 - p_off[j])
                    + held[2 * K + j] for j in range(K))
        objects = sum(held)
        if steps <= 0.0 or objects == 0:
            break
        got = order.take_oldest(rng, max(int(left * objects / steps), 1))
        met = sum(got)
        if met == 0:
            break
        met_total += met
        used = 0
        for j in range(K):
            r, u, b = got[j], got[K + j], got[2 * K + j]
            if p_off[j] > 0.0:
                r_off = binomial(rng, r, p_off[j]) if r else 0
                u_off = binomial(rng, u, p_off[j]) if u else 0
                order.off[j] += r_off + u_off                   # taken off the LRU, no step
                r, u = r - r_off, u - u_off
            order.put(UNREF, j, r, now)                       # I_REFERENCED: LRU_ROTATE
            if tail[j] is not None:
                # The walk takes the oldest first: of the set's held[K + j] unreferenced inodes
                # before this chunk, the met ones among the youngest tail[j] have pages.
                have = max(u - max(held[K + j] - tail[j], 0), 0) if strip_share[j] > 0.0 else 0
                if not rotate[j]:
                    tail[j] -= have                          # stripped: bare from now on
            else:
                have = binomial(rng, u, strip_share[j]) if u and strip_share[j] > 0.0 else 0
            if rotate[j]:
                order.put(UNREF, j, have, now)                # a76cf1a474d7: nrpages > 1, LRU_ROTATE
                used += have
            else:
                order.put(BARE, j, have, now)                 # stripped, LRU_RETRY, then LRU_ROTATE
                stripped[j] += have
                used += 2 * have
            freed[j] += u - have + b
            used += r + u - have + b
        left -= used
    i_ref = order.held(REF)
    i_unref = [u + b + o for u, b, o in zip(order.held(UNREF), order.held(BARE), order.off)]
    st.i_ref[n, m] = i_ref
    st.i_unref[n, m] = i_unref
    pages = _strip_pages(sim, n, m, stripped)
    _forget_shadows(sim, n, m, rows, freed)
    i_dirty = rows[8]
    inodes = [a + b + c + d for a, b, c, d in zip(rows[4], rows[5], i_ref, i_unref)]
    share = [_clip01(x / max(i + f, 1)) for x, i, f in zip(i_dirty, inodes, freed)]
    dirty = [min(d, x) for d, x in zip(thin_values(sim.rng, freed, share), i_dirty)]
    st.i_dirty[n, m] = [x - d for x, d in zip(i_dirty, dirty)]
    if not sim.xfs_fs:
        return sum(freed), pages     # ext4: evict() frees the inode at once
    st.x_dirty[n] += sum(dirty)
    st.x_clean[n] += sum(f - d for f, d in zip(freed, dirty))
    if m == ROOT:
        # Still in XFS's inode cache (XFS_IRECLAIMABLE) until XFS reclaims it: a lookup of
        # its file meanwhile recycles it without IO (xfs_iget_cache_hit(), xfs.py). The
        # working sets' files are in the root memcg; a cgroup's files are not read again.
        st.x_clean_set[n] += [f - d for f, d in zip(freed, dirty)]
    return sum(freed), pages


def _forget_shadows(sim: Sim, n: int, m: int, rows: list[list[int]], freed: list[int]) -> None:
    """Freed inodes take their files' shadow entries with them (workingset.Shadows.forget).

    evict() -> truncate_inode_pages_final() empties the mapping, shadows
    included (mm/truncate.c, v4.19). The freed inodes had no pages; a set's
    shadows are held by its cached inodes that miss pages (``rows``, the
    counts before the walk), evenly. A stripped inode's shadows go too
    (invalidate_mapping_pages() clears them), but the model's files with pages
    are whole, so it holds none.
    """
    shadows = sim.st.workingset.lruvecs.get((n, m))
    if shadows is None:
        return
    ppf = sim.layout.pages_per_file.tolist()
    for j, f in enumerate(freed):
        if not f:
            continue
        inodes = rows[4][j] + rows[5][j] + rows[6][j] + rows[7][j]
        pages = rows[0][j] + rows[1][j] + rows[2][j] + rows[3][j]
        holders = inodes - min(inodes, -(-pages // ppf[j]))
        shadows.forget(j, f, max(holders, f))


def _clip01(x: float) -> float:
    """``np.clip(x, 0.0, 1.0)`` of one float (NaN stays NaN)."""
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


def _strip_pages(sim: Sim, n, m, files) -> float:
    """invalidate_mapping_pages() on ``files`` inodes per file set; returns pages freed."""
    st = sim.st
    files = files.tolist() if isinstance(files, np.ndarray) else list(files)
    if not any(files):
        return 0.0
    # The cell's counts before any stripping (each file set takes from its own).
    p_inact, p_ref, p_act, p_dirty = st.lists[:4, n, m].tolist()
    ppf = sim.layout.pages_per_file.tolist()
    total = 0.0
    for k, f in enumerate(files):
        if not f:
            continue
        pages = p_inact[k] + p_ref[k] + p_act[k] + p_dirty[k]
        per_file = pages / max(-(-pages // ppf[k]), 1)
        gone = take_values(sim.rng, [p_inact[k], p_ref[k], p_act[k]], int(round(f * per_file)))
        st.p_inact[n, m, k] -= gone[0]
        st.p_ref[n, m, k] -= gone[1]
        st.p_act[n, m, k] -= gone[2]
        if gone[2]:             # the active pages gone: those with PG_referenced among them
            a_ref = int(st.p_act_ref[n, m, k])
            st.p_act_ref[n, m, k] -= take_values(sim.rng, [a_ref, p_act[k] - a_ref], gone[2])[0]
        total += sum(gone)
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
