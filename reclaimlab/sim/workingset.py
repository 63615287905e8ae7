"""Workingset refault detection, v4.18 rules (mm/workingset.c, mm/vmscan.c; docs/simulator.md).

* **Shadows**: a page the LRU reclaims leaves a shadow entry in its mapping
  holding the lruvec's ``inactive_age`` at its eviction
  (``__remove_mapping(..., reclaimed=true)`` -> ``workingset_eviction()``,
  which also advances ``inactive_age``). Pages dropped with their inode
  (``invalidate_mapping_pages()``: ``remove_mapping()``, ``reclaimed=false``)
  or unlinked leave none.
* **inactive_age** counts the lruvec's evictions and activations
  (``workingset_activation()``, called by ``mark_page_accessed()`` when it
  activates a file page and by ``add_to_page_cache_lru()`` for an activated
  refault).
* **Refault**: a read that finds a shadow computes the refault distance,
  ``inactive_age`` now minus at eviction; if it is at most the lruvec's active
  file pages the page goes straight to the active list
  (``workingset_refault()`` -> ``SetPageActive()`` in
  ``add_to_page_cache_lru()``) and WORKINGSET_ACTIVATE is counted.
* **Active list aging** (2a2e48854d70, 4.12): while WORKINGSET_ACTIVATE has
  moved since the lruvec's last snapshot (``snapshot_refaults()``, at the end
  of ``do_try_to_free_pages()`` and of kswapd's ``balance_pgdat()``),
  ``inactive_list_is_low()`` uses ``inactive_ratio = 0``: the active list is
  aged on every pass, so a new working set can displace a stale one.

The model keeps counts, not pages: per (node, memcg) the shadows are pages
per file set per step of eviction, stamped with ``inactive_age``. A read of a
missed file of set k finds a shadow with the chance that the set's missing
pages have one (shadows / missing pages), and that shadow is recent (within
the active list) with the share of the set's shadows that are.

* **Shadows die with their inode**: evicting an inode truncates its mapping,
  shadow entries included (``evict()`` -> ``xfs_fs_evict_inode()`` ->
  ``truncate_inode_pages_final()`` -> ``truncate_exceptional_pvec_entries()``,
  mm/truncate.c, v4.19), and the inode shrinker's ``invalidate_mapping_pages()``
  clears a mapping's shadows as it drops its pages
  (``invalidate_exceptional_entry()`` -> ``clear_shadow_entry()``). So a file
  whose inode left the inode cache is read back with no shadow: not a
  detected refault. The model holds a set's shadows in the mappings of its
  cached inodes that miss pages, evenly (:meth:`Shadows.forget`, called when
  the inode shrinker frees such inodes and when files are unlinked).

Shadows are also dropped once they could no longer activate anything (older
than the node's pages) or outnumber the set's missing pages. The
shadow-node shrinker (``count_shadow_nodes()``, ``scan_shadow_nodes()``) is
not modelled: it only frees radix-tree nodes holding nothing but shadows
beyond ``file LRU pages >> 3`` of them (4.19), a bound the shadows of these
workloads stay under (docs/simulator.md).
"""
from __future__ import annotations

import numpy as np

from .draw import binomial
from .lruorder import remove_proportionally


class Shadows:
    """The shadow entries of one lruvec: pages per file set per eviction step, oldest first."""

    def __init__(self, sets: int) -> None:
        self.sets = sets
        self.rows = np.zeros((64, sets), np.int64)
        self.stamps = np.zeros(64, np.int64)      # inactive_age at the row's first eviction
        self.steps = np.full(64, -np.inf)         # the step (its start time) the row was made in
        self.start = 0
        self.end = 0
        self.age = 0                              # lruvec->inactive_age
        self.activate = 0                         # WORKINGSET_ACTIVATE
        self.snapshot = 0                         # lruvec->refaults
        # Per set, the share of its shadows forget() left to drop (1.0: none); applied
        # before anything reads or adds to the set's shadows (_settle), so dropping them
        # one unlink at a time costs no array work.
        self.keep = [1.0] * sets

    def _append(self, now: float) -> int:
        if self.end == len(self.rows):
            live = self.end - self.start
            size = len(self.rows) * (2 if live * 2 > len(self.rows) else 1)
            rows = np.zeros((size, self.sets), np.int64)
            stamps = np.zeros(size, np.int64)
            steps = np.full(size, -np.inf)
            rows[:live] = self.rows[self.start:self.end]
            stamps[:live] = self.stamps[self.start:self.end]
            steps[:live] = self.steps[self.start:self.end]
            self.rows, self.stamps, self.steps = rows, stamps, steps
            self.start, self.end = 0, live
        i = self.end
        self.rows[i] = 0
        self.stamps[i] = self.age
        self.steps[i] = now
        self.end += 1
        return i

    def evicted(self, per_set: list[int], now: float, horizon: int) -> None:
        """``workingset_eviction()`` for ``per_set`` pages reclaimed by the LRU.

        ``horizon``: a shadow older than this many ages can activate nothing
        (the active list is never larger than the node) and is dropped.
        """
        pages = sum(per_set)
        if not pages:
            return
        self._settle_all()
        i = self.end - 1
        if i < self.start or self.steps[i] != now:
            i = self._append(now)
        self.rows[i] += np.array(per_set, np.int64)
        self.age += pages
        while self.start < self.end and self.age - self.stamps[self.start] > horizon:
            self.start += 1

    def activated(self, pages: int) -> None:
        """``workingset_activation()``: ``pages`` file pages were activated."""
        self.age += int(pages)

    def refault(self, rng: np.random.Generator, k: int, files: int, pages_per_file: int,
                missing_pages: int, active_file: int) -> int:
        """Files of the ``files`` read back of set ``k`` that ``workingset_refault()`` activates.

        Each read file is one of the set's ``missing_pages / pages_per_file``
        missing files; it has a shadow with the chance that a missing page
        has one, and is activated when that shadow's refault distance is at
        most ``active_file``. The shadows found are consumed (the page is
        back in the mapping); activations advance ``inactive_age`` and count
        WORKINGSET_ACTIVATE.
        """
        if files <= 0 or self.start == self.end:
            return 0
        if self.keep[k] != 1.0:
            self._settle(k)
        rows = self.rows[self.start:self.end]
        col = rows[:, k]
        shadows = int(np.add.reduce(col))          # col.sum() without its Python wrapper
        if shadows == 0:
            return 0
        missing = max(int(missing_pages), 0)
        if shadows > missing:
            # more shadows than missing pages: the oldest belong to files gone since
            remove_oldest(col, shadows - missing)
            shadows = missing
            if shadows == 0:
                return 0
        found = binomial(rng, files, shadows / missing)
        if not found:
            return 0        # no shadow met: nothing consumed, nothing activated
        # refault_distance = age - stamp <= active_file: the rows stamped at or after age - active_file
        first = int(np.searchsorted(self.stamps[self.start:self.end], self.age - active_file, side="left"))
        recent = int(np.add.reduce(col[first:]))
        hot = binomial(rng, found, recent / shadows)
        # the found shadows are consumed: recent ones from the recent rows, the rest from the older
        take_recent = min(hot * pages_per_file, recent)
        take_old = min((found - hot) * pages_per_file, shadows - recent)
        remove_proportionally(col[first:], recent, take_recent)
        remove_proportionally(col[:first], shadows - recent, take_old)
        if hot:
            self.age += hot * pages_per_file
            self.activate += hot * pages_per_file
        return hot

    def forget(self, k: int, inodes: int, holders: int) -> None:
        """Drop the shadows of ``inodes`` evicted inodes of set ``k``.

        ``truncate_inode_pages_final()`` (evict) and ``invalidate_mapping_pages()``
        (the inode shrinker) clear a mapping's shadow entries (mm/truncate.c,
        v4.19). The set's shadows are held by ``holders`` cached inodes (those
        missing pages), evenly: the evicted ones take ``inodes / holders`` of
        them, from every eviction step in proportion (which files go does not
        depend on when their pages were reclaimed). Applied before the set's
        shadows are next read or added to (:meth:`shadows_of`).
        """
        if inodes <= 0 or self.start == self.end:
            return
        self.keep[k] *= 0.0 if inodes >= holders else 1.0 - inodes / holders

    def _settle(self, k: int) -> None:
        """Apply set ``k``'s pending :meth:`forget` (rounded to the nearest page)."""
        keep, self.keep[k] = self.keep[k], 1.0
        if self.start == self.end:
            return
        col = self.rows[self.start:self.end, k]
        shadows = int(col.sum())
        remove_proportionally(col, shadows, shadows - int(shadows * keep + 0.5))

    def _settle_all(self) -> None:
        for k, keep in enumerate(self.keep):
            if keep != 1.0:
                self._settle(k)

    def shadows_of(self, k: int) -> np.ndarray:
        """Set ``k``'s shadow pages per eviction step, oldest first (pending forgets applied; a view)."""
        if self.keep[k] != 1.0:
            self._settle(k)
        return self.rows[self.start:self.end, k]

    def refaults_seen(self) -> bool:
        """Whether WORKINGSET_ACTIVATE moved since the last ``snapshot_refaults()``."""
        return self.activate != self.snapshot

    def take_snapshot(self) -> None:
        """``snapshot_refaults()``: the end of a reclaim cycle."""
        self.snapshot = self.activate


def remove_oldest(col: np.ndarray, gone: int) -> None:
    """Take ``gone`` items from ``col`` (in place), first entries first."""
    if gone <= 0:
        return
    cum = np.cumsum(col)
    full = int(np.searchsorted(cum, gone, side="left"))   # entries [0, full) go whole
    col[:full] = 0
    if full < len(col):
        col[full] = cum[full] - gone


class Workingset:
    """The shadows and counters of every lruvec of a run, made when first used."""

    def __init__(self, sets: int) -> None:
        self.sets = sets
        self.lruvecs: dict[tuple[int, int], Shadows] = {}
        #: ages after which a shadow can activate nothing: the node's pages (the engine sets it)
        self.horizon: int = 2 ** 62

    def at(self, n: int, m: int) -> Shadows:
        """The lruvec of node ``n``, memcg ``m``."""
        s = self.lruvecs.get((n, m))
        if s is None:
            s = self.lruvecs[(n, m)] = Shadows(self.sets)
        return s

    def snapshot_node(self, n: int) -> None:
        """``snapshot_refaults()`` for every lruvec of node ``n`` (a reclaim cycle on it ended)."""
        for (node, _), s in self.lruvecs.items():
            if node == n:
                s.take_snapshot()
