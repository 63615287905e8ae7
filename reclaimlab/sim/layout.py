"""The fixed shape of one run: which caches, behind which shrinkers, with which seeks and batch.

Built once from the parameters and never changed during a run (a frozen
dataclass), so every module can read it without owning it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model import preset
from .params import SimParams

#: Caches of the superblock shrinker, first in the ``cache`` dim when the run has file sets.
SUPERBLOCK_CACHES = ("dentry", "inode", "xfs_inode")


@dataclass(frozen=True)
class Layout:
    """Shrinkers and caches of a run (shrinker 0 is the superblock, then one per other cache).

    Attributes
    ----------
    n_generic, n_shrinkers : int
        Other slab caches (each behind its own shrinker), and all shrinkers.
    seeks, batch : numpy.ndarray
        Per shrinker.
    numa_aware, fs_shrinker : numpy.ndarray of bool
        Per shrinker: NUMA-aware (per-node lists), a filesystem shrinker
        (SHRINK_STOP without ``__GFP_FS``).
    generic_objects_per_page : numpy.ndarray
        Per other cache.
    generic_lru_ref : tuple of int
        Per other cache, ``SlabCache.lru_ref``.
    pages_per_file : numpy.ndarray
        Per file set.
    generic_cache_index : int
        Index of the first other cache in the ``cache`` dim.
    cache_names : tuple of str
        The ``cache`` dim.
    cache_shrinker : tuple of int
        The shrinker of each cache of the ``cache`` dim.
    service_caches : numpy.ndarray of bool
        Per other cache: charged to the service cgroups rather than root.
    cluster_cache : int or None
        The other cache holding XFS inode cluster buffers, if any.
    clusters_per_node : int
        Inode cluster buffers per node (0 without a cluster cache).
    memcg_slots : int
        Memcg slots of the state arrays (1: root only): the services' slots
        (``Services.max_memcgs``), or the root and ``cgroups`` systemd cgroups.
    """

    n_generic: int
    n_shrinkers: int
    seeks: np.ndarray
    batch: np.ndarray
    numa_aware: np.ndarray
    fs_shrinker: np.ndarray
    generic_objects_per_page: np.ndarray
    generic_lru_ref: tuple[int, ...]
    pages_per_file: np.ndarray
    generic_cache_index: int
    cache_names: tuple[str, ...]
    cache_shrinker: tuple[int, ...]
    service_caches: np.ndarray
    cluster_cache: int | None
    clusters_per_node: int
    memcg_slots: int

    @classmethod
    def from_params(cls, params: SimParams) -> "Layout":
        """The layout of a run of ``params``."""
        sb = preset("superblock")
        caches = params.caches
        n_generic = len(caches)
        has_files = bool(params.filesets)
        cluster_cache = next((g for g, c in enumerate(caches) if c.inode_clusters), None)
        return cls(
            n_generic=n_generic,
            n_shrinkers=1 + n_generic,
            seeks=np.array([sb.seeks] + [c.seeks for c in caches], np.int64),
            batch=np.array([sb.batch] + [c.batch for c in caches], np.int64),
            numa_aware=np.ones(1 + n_generic, bool),
            fs_shrinker=np.array([sb.fs] + [False] * n_generic),
            generic_objects_per_page=np.array([c.objects_per_page for c in caches], float),
            generic_lru_ref=tuple(c.lru_ref for c in caches),
            pages_per_file=np.array([f.pages_per_file for f in params.filesets], np.int64),
            generic_cache_index=len(SUPERBLOCK_CACHES) if has_files else 0,
            cache_names=(SUPERBLOCK_CACHES if has_files else ()) + tuple(c.name for c in caches),
            cache_shrinker=((0,) * len(SUPERBLOCK_CACHES) if has_files else ())
            + tuple(range(1, 1 + n_generic)),
            service_caches=np.array([c.memcg == "service" for c in caches], bool),
            cluster_cache=cluster_cache,
            clusters_per_node=(max(caches[cluster_cache].objects // params.nodes, 1)
                               if cluster_cache is not None else 0),
            memcg_slots=params.services.max_memcgs if params.services else 1 + params.cgroups,
        )
