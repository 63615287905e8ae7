"""A file set's step drawn per node before memory is granted: new files and working-set reads.

Each step an actor's tasks first draw what they will do (:func:`plan_filesets`),
so that they know the pages to ask for; what memory they get then decides
how much of it is carried out (:func:`reclaimlab.sim.workload._apply`).
Per node of a file set (mean field over the set's files, docs/simulator.md):

* new files: a Poisson count at ``creates_per_s``;
* working-set reads: a Poisson count, split into lookups that find the
  file's dentry, its inode on the LRU, or neither (a refault: d_alloc and
  xfs_iget, where an inode XFS still holds is recycled, :func:`~.xfs.recycle_share`),
  and into reads whose pages are cached or read back.

The draws of a step are a dozen scalar draws per file set. They are made
in one compiled call per actor (:func:`~.draw.fileset_draws`) when the
extension has it; :func:`plan_fileset_numpy` makes the same draws, in the
same order from the same stream, through :mod:`~.draw`'s scalar functions,
and is what runs otherwise (and the reference the C code follows).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from . import xfs
from .draw import binomial, fileset_draws, multinomial_values, poisson, thin
from .state import ROOT

if TYPE_CHECKING:                      # the engine imports the workload, which imports this module
    from .engine import Sim


class ReadDraw(NamedTuple):
    """A file set's working-set reads on one node this step, drawn before memory is granted.

    A tuple, so that the compiled draws (:func:`plan_filesets`) give the same layout
    as plain tuples without building an object per node and step.
    """

    dentry_hits: int
    inode_hits: int
    misses: int
    page_hits: int
    page_misses: int
    #: of ``misses``, lookups whose inode XFS still holds (XFS_IRECLAIMABLE): recycled without IO
    recycled: int = 0


class NodeDraw(NamedTuple):
    """What a file set does on one node this step: new files, working-set reads (a tuple, as ReadDraw)."""

    n: int
    creates: int | None = None
    reads: ReadDraw | tuple | None = None


@dataclass
class FilesetPlan:
    """File set ``k``'s draws per node, and the pages they need."""

    k: int
    pages: float = 0.0
    fs_pages: float = 0.0     # of ``pages``, those allocated with __GFP_FS
    nodes: list[NodeDraw] = field(default_factory=list)


class DrawSpec(NamedTuple):
    """What :func:`plan_filesets` draws from for file set ``k``, fixed for a run (made once per actor).

    ``W`` is the set's files per node (0: it reads no working set);
    ``per_created`` the pages one created file needs (its pages, a dentry's
    and an inode's share of a slab page), as the expressions always evaluated it.
    """

    k: int
    m: int
    creates_per_s: float
    W: int
    reads_per_s: float
    pages_per_file: int
    per_created: float
    dentry_objects_per_page: float
    inode_objects_per_page: float
    nofs: bool


def draw_spec(params, k: int) -> DrawSpec:
    """File set ``k``'s :class:`DrawSpec` under ``params``."""
    fs = params.filesets[k]
    return DrawSpec(
        k, ROOT, fs.creates_per_s, max(fs.working_set // params.nodes, 1) if fs.working_set else 0,
        fs.reads_per_s, fs.pages_per_file,
        fs.pages_per_file + 1 / params.dentry_objects_per_page + 1 / params.inode_objects_per_page,
        params.dentry_objects_per_page, params.inode_objects_per_page,
        # Page-cache allocations use the mapping's gfp mask (page_cache_alloc(), readahead_gfp_mask()).
        bool(params.mapping_nofs or fs.nofs))


def plan_fileset(sim: Sim, k: int, seconds: float) -> FilesetPlan:
    """Draw what file set ``k`` does in ``seconds`` of its task's time, per node (:func:`plan_filesets`)."""
    return plan_filesets(sim, (draw_spec(sim.params, k),), seconds)[0]


def plan_filesets(sim: Sim, specs: tuple[DrawSpec, ...], seconds: float) -> list[FilesetPlan]:
    """Draw what each file set of ``specs`` does in ``seconds`` of its task's time, per node, in turn.

    The draws are made in one compiled call when the extension has it
    (:func:`~.draw.fileset_draws`: the same numbers, floats and order as
    :func:`plan_fileset_numpy` on each set, which it runs a dozen times a step);
    ``specs`` are :func:`draw_spec` of the sets, made once by the caller.
    """
    st = sim.st
    if all(type(s.W) is int and type(s.pages_per_file) is int for s in specs):
        out = fileset_draws(sim.rng, st.lists, st.x_clean_set, specs, seconds)
        if out is not None:
            return [FilesetPlan(spec.k, *drawn) for spec, drawn in zip(specs, out)]
    return [plan_fileset_numpy(sim, spec.k, seconds) for spec in specs]


def plan_fileset_numpy(sim: Sim, k: int, seconds: float) -> FilesetPlan:
    """:func:`plan_fileset` through the scalar draws of :mod:`~.draw`: the reference the compiled call follows."""
    params = sim.params
    fs = params.filesets[k]
    N = params.nodes
    st, rng = sim.st, sim.rng
    plan = FilesetPlan(k)
    # Page-cache allocations use the mapping's gfp mask (page_cache_alloc(), readahead_gfp_mask()).
    nofs = params.mapping_nofs or fs.nofs
    # Pages per object, as the expressions below always evaluated them (the same floats).
    per_created = fs.pages_per_file + 1 / params.dentry_objects_per_page + 1 / params.inode_objects_per_page
    for n in range(N):
        creates = reads_drawn = None
        if fs.creates_per_s:
            creates = int(poisson(rng, fs.creates_per_s * seconds / N))
            pages = creates * per_created
            plan.pages += pages
            # Read (or written) through the mapping; a created file's slab objects in
            # xfs_create's transaction (PF_MEMALLOC_NOFS): no __GFP_FS on XFS.
            plan.fs_pages += 0.0 if nofs else pages
        if fs.working_set:
            W = max(fs.working_set // N, 1)
            reads = int(poisson(rng, W * fs.reads_per_s * seconds))
            # One cell of the state: its counts as Python ints, not whole-array sums (a hot path).
            p_inact, p_ref, p_act, p_dirty, d_ref, d_unref, i_ref, i_unref, _ = st.lists[:, n, ROOT, k].tolist()
            D, U = d_ref + d_unref, i_ref + i_unref
            pd, pu = min(D / W, 1.0), min(U / W, 1.0 - min(D / W, 1.0))
            dentry_hits, inode_hits, misses = multinomial_values(rng, reads, [pd, pu, max(1.0 - pd - pu, 0.0)])
            # xfs_iget() of a missed file: its inode may still be in XFS's cache (xfs.py).
            recycled = (int(thin(rng, misses, xfs.recycle_share(sim, n, k, W - D - U)))
                        if misses and st.x_clean_set[n, k] else 0)
            with_pages = min(-(-(p_inact + p_ref + p_act + p_dirty) // fs.pages_per_file), W)
            page_hits = binomial(rng, reads, with_pages / W)
            reads_drawn = ReadDraw(dentry_hits, inode_hits, misses, page_hits, reads - page_hits, recycled)
            cache = reads_drawn.page_misses * fs.pages_per_file
            # A lookup's dentry and inode (d_alloc, xfs_iget outside a transaction) are GFP_KERNEL;
            # a recycled inode reuses its xfs_inode (the VFS inode is inside it): no new object.
            slab = (misses / params.dentry_objects_per_page
                    + (misses - recycled) / params.inode_objects_per_page)
            plan.pages += cache + slab
            plan.fs_pages += slab + (0.0 if nofs else cache)
        plan.nodes.append(NodeDraw(n, creates, reads_drawn))
    return plan
