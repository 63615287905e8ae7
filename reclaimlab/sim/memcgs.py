"""Memory cgroups: a systemd machine's, and services restarted over time that leave dying memcgs (docs/kernel.md §5).

**Systemd cgroups** (``SimParams.cgroups``, issue 17 mechanism 5): slots 1 to
``cgroups`` are cgroups that live the whole run (a desktop's services,
scopes and sessions), each holding ``cgroup_files`` unused dentries, each
pinning its inode, of the simulated filesystem: files it opened and closed.
They are charged to the cgroup (the dentry and inode caches are
SLAB_ACCOUNT) and so sit on the cgroup's own list_lru of the superblock
(alloc_super() makes s_dentry_lru and s_inode_lru memcg-aware). A 4.19
global reclaim pass walks every memcg (shrink_node() -> mem_cgroup_iter())
and calls shrink_slab() for each; for a memcg other than the root that is
shrink_slab_memcg(), which calls the memcg-aware shrinkers whose bit is set
in the memcg's shrinker_map for the node (``State.sb_bit``, set by
list_lru_add(), cleared when the count is SHRINK_EMPTY). With the
172b06c32b94 floor, each call scans ``min(freeable, batch)`` objects at
least. The cgroups' files are kept in the first file set's column of their
memcg row (the workload's own file sets are all the root's); they have no
page cache and are not read again during the run.

Services hierarchy: the root (slot 0), a parent cgroup for the services (slot 1, like
system.slice) and one cgroup per service instance. When a service is
restarted its cgroup goes offline and a new one is created.

``memcg_remedy``:

* ``"none"`` (4.19 semantics, §5.1): the offline memcg's list_lru items move
  to the parent's lists (memcg_drain_all_list_lrus) but the objects still pin
  it: it stays *dying* until every object it left behind is freed.
* ``"reparent"`` (5.3 kmem_cache reparenting, 5.9 obj_cgroup, §5.3): the
  objects move to the parent and stop pinning; the memcg is released at once.
* ``"collector"`` (Dave Chinner's proposal, §5.2): as "none", plus a background
  worker that takes one dying memcg at a time and shrinks its objects at
  priority 0, call after call, until a call frees nothing; rate limited to
  one memcg per ``COLLECTOR_INTERVAL_S``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from dataclasses import dataclass, field

import numpy as np

from ..kernel import formulas
from .draw import poisson, take_values
from .slab import isolate_referenced
from .lrulist import NOBODY
from .state import DYING, FREE, ONLINE, PARENT

if TYPE_CHECKING:                      # the engine imports this module
    from .engine import Sim

COLLECTOR_INTERVAL_S = 1.0

#: The file-set column of a memcg row where a systemd cgroup's files are kept.
CGROUP_FILESET = 0


@dataclass
class MemcgClock:
    """When each service cgroup is deleted and when the collector runs next (this module's)."""

    slots: int
    deadline: np.ndarray = field(init=False)   # per slot: when its service is deleted, s
    collector_next: float = 0.0

    def __post_init__(self) -> None:
        self.deadline = np.full(self.slots, np.inf)


def start(sim: Sim, t: float) -> None:
    """Bring the systemd cgroups, or the services' parent and first service cgroups, online."""
    if sim.params.cgroups:
        start_cgroups(sim, t)
    svc = sim.params.services
    if svc is None:
        return
    st = sim.st
    st.memcg_state[PARENT] = ONLINE
    for _ in range(svc.count):
        _spawn(sim, t)
    # Stagger first restarts so services do not all restart together.
    alive = np.flatnonzero(st.memcg_state == ONLINE)[1:]
    for i, m in enumerate(alive):
        sim.memcg_clock.deadline[m] = t + svc.lifetime_s * (i + 1) / svc.count


def cgroup_files_per_node(files: int, nodes: int, m: int) -> list[int]:
    """Cgroup ``m``'s ``files`` spread evenly over ``nodes``; the remainder starts at node ``m % nodes``.

    Examples
    --------
    >>> cgroup_files_per_node(5, 2, 1)
    [2, 3]
    """
    base, extra = divmod(files, nodes)
    return [base + ((n - m) % nodes < extra) for n in range(nodes)]


def start_cgroups(sim: Sim, t: float) -> None:
    """Slots 1 to ``cgroups`` online, each with ``cgroup_files`` unused dentries on the filesystem.

    A dentry freed by reclaim leaves its inode on the cgroup's inode LRU
    (:mod:`reclaimlab.sim.slab`); the objects are charged to the cgroup and
    stay on its lists.
    """
    p, st = sim.params, sim.st
    for m in range(1, 1 + p.cgroups):
        st.memcg_state[m] = ONLINE
        st.memcg_born[m] = t
        st.d_unref[:, m, CGROUP_FILESET] = cgroup_files_per_node(p.cgroup_files, p.nodes, m)


def _spawn(sim: Sim, t: float) -> None:
    st = sim.st
    free = np.flatnonzero(st.memcg_state[2:] == FREE)
    if not len(free):
        raise RuntimeError(
            f"services.max_memcgs={sim.params.services.max_memcgs} is too small: every memcg "
            f"slot is alive or dying at t={t:.1f}s; raise services.max_memcgs"
        )
    m = int(free[0]) + 2
    st.memcg_state[m] = ONLINE
    st.memcg_born[m] = t
    st.memcg_died[m] = np.nan
    sim.memcg_clock.deadline[m] = t + sim.params.services.lifetime_s
    st.g_ref[:, m] = 0
    st.g_unref[:, m] = 0


def touch_cgroup_files(sim: Sim) -> None:
    """The systemd cgroups open and close their files again (``cgroup_touch_per_s``), this step.

    Per cgroup and node, a Poisson number of opens (the cgroup's rate times
    the node's share of its files) falls on distinct files drawn uniformly
    (:func:`~reclaimlab.sim.draw.take_values`) among those whose dentry is
    cached (unreferenced or referenced), those whose dentry is gone but whose
    inode is still on the inode LRU, and those with neither:

    * a cached dentry is marked referenced (dput() of a dentry already on the
      LRU sets DCACHE_REFERENCED, fs/dcache.c);
    * otherwise the lookup makes a new dentry, unused again after the close
      and so added to the cgroup's dentry LRU without the referenced bit
      (d_lru_add() via list_lru_add(), which sets the memcg's shrinker bit for
      the node, memcg_set_shrinker_bit()); it pins its inode, which the
      lookup takes off the inode LRU if it was there.

    The lookup's own cost (a recycled XFS inode or an inode cluster read, a
    few per second) is not modelled. Draws nothing at a rate of 0.
    """
    p, st, rng = sim.params, sim.st, sim.rng
    g = CGROUP_FILESET
    for m in range(1, 1 + p.cgroups):
        files = cgroup_files_per_node(p.cgroup_files, p.nodes, m)
        for n in range(p.nodes):
            if not files[n]:
                continue
            opens = int(poisson(rng, p.cgroup_touch_per_s * p.dt_s * files[n] / p.cgroup_files))
            if not opens:
                continue
            d_ref, d_unref = int(st.d_ref[n, m, g]), int(st.d_unref[n, m, g])
            i_ref, i_unref = int(st.i_ref[n, m, g]), int(st.i_unref[n, m, g])
            gone = max(files[n] - d_ref - d_unref - i_ref - i_unref, 0)
            _, du, ir, iu, new = take_values(rng, [d_ref, d_unref, i_ref, i_unref, gone], opens)
            st.d_ref[n, m, g] = d_ref + du
            st.d_unref[n, m, g] = d_unref - du + ir + iu + new
            st.i_ref[n, m, g] = i_ref - ir
            st.i_unref[n, m, g] = i_unref - iu
            # The new dentries join the cgroup's dentry LRU at its tail (slaborder.py).
            st.slab_order.add_dentries(n, m, g, ir + iu + new, st.order.now, referenced=False)


def step(sim: Sim, t: float) -> None:
    """Reopen the systemd cgroups' files; restart services whose time is up; release memcgs nothing pins any more."""
    if sim.params.cgroups and sim.params.cgroup_touch_per_s:
        touch_cgroup_files(sim)
    if sim.params.services is None:
        return
    st = sim.st
    for m in np.flatnonzero((st.memcg_state == ONLINE) & (sim.memcg_clock.deadline <= t)):
        if m > PARENT:
            _offline(sim, int(m), t)
            _spawn(sim, t)
    if sim.rules.memcg_remedy == "collector" and t >= sim.memcg_clock.collector_next:
        _collect(sim)
        sim.memcg_clock.collector_next = t + COLLECTOR_INTERVAL_S
    dying = st.memcg_state == DYING
    released = dying & (st.pinned_by.sum(axis=(1, 2)) == 0)
    st.memcg_state[released] = FREE


def _offline(sim: Sim, m: int, t: float) -> None:
    """css offline: lists drained to the parent; objects keep pinning unless reparented."""
    st = sim.st
    moved = st.g_ref[:, m] + st.g_unref[:, m]
    owner = NOBODY if sim.rules.memcg_remedy == "reparent" else m
    for n in range(sim.params.nodes):
        for g in range(sim.layout.n_generic):
            sim.parent_lists[n][g].splice_front(owner, int(st.g_ref[n, m, g]), int(st.g_unref[n, m, g]))
    st.g_ref[:, PARENT] += st.g_ref[:, m]
    st.g_unref[:, PARENT] += st.g_unref[:, m]
    st.g_ref[:, m] = 0
    st.g_unref[:, m] = 0
    st.nr_deferred[:, :, PARENT] += st.nr_deferred[:, :, m]   # reparent_shrinker_deferred (5.13)
    st.nr_deferred[:, :, m] = 0
    st.memcg_died[m] = t
    if sim.rules.memcg_remedy == "reparent":
        st.memcg_state[m] = FREE
        return
    st.pinned_by[m] = moved
    st.memcg_state[m] = DYING


def _collect(sim: Sim) -> None:
    """Shrink the oldest dying memcg's objects at priority 0 until a call frees nothing."""
    st = sim.st
    dying = np.flatnonzero(st.memcg_state == DYING)
    if not len(dying):
        return
    m = int(dying[np.argmin(st.memcg_died[dying])])
    for n in range(sim.params.nodes):
        for g in range(sim.layout.n_generic):
            F = int(st.pinned_by[m, n, g])
            if F == 0:
                continue
            lst = sim.parent_lists[n][g]
            ref, _ = lst.owned(m)
            slot = 0
            while F > 0:
                r = formulas.scan(sim.rules.formula, F, 0, seeks=int(sim.layout.seeks[1 + g]),
                                  batch=int(sim.layout.batch[1 + g]), nr_deferred=slot)
                slot = int(r.next_deferred)
                k = int(r.scanned)   # may exceed F: the walk comes back round
                freed, ref, _ = isolate_referenced(sim.rng, ref, F - ref, k)
                freed, ref = int(freed), int(ref)
                if freed == 0:
                    break
                F -= freed
                st.pinned_by[m, n, g] -= freed
                lst.remove(m, freed)
                st.g_ref[n, PARENT, g], st.g_unref[n, PARENT, g] = lst.totals()
                c = sim.layout.generic_cache_index + g
                sim.totals.scanned[n, PARENT, c] += k
                sim.totals.freed[n, PARENT, c] += freed
