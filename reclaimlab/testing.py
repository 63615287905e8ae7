"""Example Datasets and schema assertions for tests, doctests and notebooks.

Every example is built locally from a seed, in well under a second, so
downstream code (a figure, a notebook cell, a user's own analysis) can be
tested without running the simulator or shipping a file:

:func:`example_simulation`
    Shaped like ``rl.simulate`` / ``rl.compare`` output; values are smooth
    synthetic curves that are easy to check by hand, not a model of the kernel.
:func:`example_sweep`
    A real ``rl.sweep`` over a small grid.
:func:`example_trace`, :func:`example_replay`
    A synthetic ftrace capture read by ``rl.trace.parse``, and its replay
    under a formula (under another formula than the trace's, some calls miss).
:func:`assert_kind`
    An ``AssertionError`` naming the missing dims and variables when a
    Dataset is not of the kind a consumer needs.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import numpy as np
import xarray as xr

from ._version import __version__
from .model.schema import validate
from .sweep import sweep
from .trace import parse, replay, synthetic_trace

__all__ = ["CACHES", "example_simulation", "example_sweep", "example_trace", "example_replay",
           "assert_kind"]

CACHES = ("dentry", "inode", "xfs_inode", "small_a", "small_b")
SIZES = (400_000, 200_000, 50_000, 300, 40)
SEEKS = (2, 2, 2, 2, 0)
BATCH = (1024, 1024, 1024, 128, 128)


def example_simulation(
    steps: int = 120,
    *,
    formulas: Sequence[str] | None = None,
    nodes: int = 2,
    memcgs: int = 3,
    caches: Sequence[str] = CACHES,
    dt: float = 0.5,
    scenario: str = "compile-and-copy",
    seed: int = 0,
) -> xr.Dataset:
    """A Dataset shaped like ``rl.simulate`` (or ``rl.compare`` when ``formulas`` is given).

    Parameters
    ----------
    steps : int
        Length of the ``time`` dim (``dt`` seconds apart, starting at 0).
    formulas : sequence of str, optional
        With a list, every variable gains a leading ``formula`` dim (compare).
    nodes, memcgs : int
        Sizes of ``node`` and ``memcg`` (0 memcgs: no ``memcg`` dim).
    caches : sequence of str
        Cache names, a prefix of :data:`CACHES` or any names (sizes cycle).
    dt : float
        Seconds between samples.
    scenario : str
        Scenario name recorded in ``attrs["scenario"]``.
    seed : int
        Seed of the little noise in ``nr_deferred``.

    Returns
    -------
    xarray.Dataset
        Of kind ``simulation`` (:func:`reclaimlab.model.schema.kind`).

    Examples
    --------
    >>> from reclaimlab.testing import example_simulation
    >>> ds = example_simulation(steps=10, formulas=["v4.19", "v5.0"])
    >>> dict(ds.sizes)
    {'formula': 2, 'time': 10, 'node': 2, 'memcg': 3, 'cache': 5}
    """
    rng = np.random.default_rng(seed)
    t = np.arange(steps) * dt
    nc = len(caches)
    sizes = np.array([SIZES[i % len(SIZES)] for i in range(nc)], dtype=float)
    seeks = np.array([SEEKS[i % len(SEEKS)] for i in range(nc)])
    batch = np.array([BATCH[i % len(BATCH)] for i in range(nc)])
    flist = list(formulas) if formulas is not None else ["v5.0"]
    nf = len(flist)
    phase = (np.arange(steps) % 20) / 20.0                      # the sawtooth
    node_w = 1.0 + 0.25 * np.arange(nodes)

    page = np.empty((nf, steps, nodes))
    slab = np.empty((nf, steps, nodes, max(memcgs, 1), nc))
    scan = np.empty_like(slab)
    prio = np.empty((nf, steps, nodes), dtype=np.int64)
    stall = np.empty((nf, steps, nodes))
    dying = np.empty((nf, steps), dtype=np.int64)
    work = np.empty(nf)
    for i, f in enumerate(flist):
        k = i + 1
        page[i] = (400_000 + 300_000 * phase[:, None] * node_w / k).round()
        grow = 1.0 + 0.2 * np.sin(t / (3.0 * k))[:, None, None, None]
        slab[i] = np.maximum((sizes / (nodes * max(memcgs, 1)) * grow
                              * np.ones((steps, nodes, max(memcgs, 1), nc))).round(), 0)
        # small caches are scanned only by every second formula
        frac = np.where(sizes < 1000, 0.02 * (i % 2), 0.001 * k)
        scan[i] = np.floor(slab[i] * frac)
        p = 12 - np.floor(phase * 6 * k).astype(np.int64)
        p = np.where(phase < 0.25, -1, np.clip(p, 0, 12))
        prio[i] = p[:, None] + 0 * np.arange(nodes)[None, :]
        stall[i] = np.where(prio[i] >= 0, 0.001 * k * (12 - prio[i]), 0.0)
        dying[i] = (np.arange(steps) * (5 if i % 2 else 1)) // max(steps // 4, 1)
        work[i] = 100.0 + 10 * k
    slab = slab.astype(np.int64)
    scan = scan.astype(np.int64)
    nr_def = (scan * 3) // 2 + rng.integers(0, 2, size=scan.shape)

    mdims = ("memcg",) if memcgs else ()
    if not memcgs:
        slab, scan, nr_def = slab[:, :, :, 0], scan[:, :, :, 0], nr_def[:, :, :, 0]
    sdims = ("time", "node", *mdims, "cache")
    obj = {"units": "objects"}
    data = {
        "page_cache": (("time", "node"), page.astype(np.int64), {"units": "pages", "long_name": "page cache"}),
        "slab": (sdims, slab, {**obj, "long_name": "slab objects"}),
        "priority": (("time", "node"), prio, {"units": "1", "long_name": "lowest reclaim priority in the step"}),
        "scanned": (sdims, scan, {**obj, "long_name": "objects scanned"}),
        "freed": (sdims, scan // 2, {**obj, "long_name": "objects freed"}),
        "delta": (sdims, scan, {**obj, "long_name": "delta"}),
        "total_scan": (sdims, scan + 1, {**obj, "long_name": "total_scan"}),
        "nr_deferred": (sdims, nr_def, {**obj, "long_name": "nr_deferred at step end"}),
        "refaults": (("time", "node"), (scan.sum(axis=tuple(range(3, scan.ndim))) // 10),
                     {**obj, "long_name": "refaults"}),
        "stall": (("time", "node"), stall, {"units": "s", "long_name": "reclaim stall"}),
        "dying_memcgs": (("time",), dying, {"units": "1", "long_name": "dying memcgs"}),
        "workload_time": ((), work, {"units": "s", "long_name": "workload time"}),
    }
    coords = {
        "time": ("time", t, {"units": "s", "long_name": "time"}),
        "node": ("node", np.arange(nodes)),
        "cache": ("cache", np.asarray(list(caches), dtype=object)),
        "seeks": ("cache", seeks, {"units": "1"}),
        "batch": ("cache", batch, {"units": "objects"}),
    }
    if memcgs:
        coords["memcg"] = ("memcg", np.asarray(["root"] + [f"job{i}" for i in range(1, memcgs)], dtype=object))
    if formulas is not None:
        vars_ = {k: (("formula", *d), v, a) for k, (d, v, a) in data.items()}
        coords["formula"] = ("formula", np.asarray(flist, dtype=object))
    else:
        vars_ = {k: (d, v[0], a) for k, (d, v, a) in data.items()}
    ds = xr.Dataset({k: xr.Variable(d, v, a) for k, (d, v, a) in vars_.items()},
                    coords={k: xr.Variable(*c) for k, c in coords.items()})
    ds.attrs = {
        "formula": flist[0] if formulas is None else ", ".join(flist),
        "scenario": json.dumps({"name": scenario, "steps": steps, "dt": dt}, sort_keys=True),
        "seed": seed,
        "reclaimlab_version": __version__,
        # Synthetic, not a model run: provenance names the call that makes it again.
        "source": (f"reclaimlab.testing.example_simulation({steps}, formulas={formulas!r}, nodes={nodes}, "
                   f"memcgs={memcgs}, "
                   + (f"caches={tuple(caches)!r}, " if tuple(caches) != CACHES else "")
                   + f"dt={dt}, scenario={scenario!r}, seed={seed})"),
    }
    return ds


def example_sweep(formulas: Sequence[str] = ("v4.19", "v5.0"), *, calls: int = 10) -> xr.Dataset:
    """``rl.sweep`` of ``formulas`` over six cache sizes (10 to 10**7) and priorities 12, 6 and 0.

    Examples
    --------
    >>> example_sweep().pressure.dims
    ('formula', 'freeable', 'priority')
    """
    return sweep(list(formulas), freeable=np.logspace(1, 7, 6).astype(np.int64), priority=[12, 6, 0],
                 calls=calls)


def example_trace(lines: int = 400, *, formula: str = "v5.13", seed: int = 0) -> xr.Dataset:
    """A synthetic ftrace capture of about ``lines`` lines whose calls follow ``formula``, parsed.

    Examples
    --------
    >>> example_trace().sizes["call"] > 100
    True
    """
    return parse(synthetic_trace(lines, formula=formula, seed=seed))


def example_replay(lines: int = 400, *, formula: str = "v4.19", traced: str = "v5.13",
                   seed: int = 0) -> xr.Dataset:
    """:func:`example_trace` (traced under ``traced``) replayed under ``formula``.

    With the default formulas some calls match and some do not, so reports
    and charts of a replay have both to show.

    Examples
    --------
    >>> rep = example_replay()
    >>> 0 < int(rep.match.sum()) < rep.sizes["call"]
    True
    """
    return replay(example_trace(lines, formula=traced, seed=seed), formula)


def assert_kind(ds: xr.Dataset, kind: str, needs: Iterable[str] = ()) -> None:
    """Assert that ``ds`` is of ``kind`` (``sweep``, ``simulation``, ``trace``, ``replay``) with ``needs``.

    Raises
    ------
    AssertionError
        With the message of :func:`reclaimlab.model.schema.validate`.

    Examples
    --------
    >>> assert_kind(example_sweep(), "simulation")
    Traceback (most recent call last):
    ...
    AssertionError: ds is a sweep Dataset; this needs a simulation Dataset (rl.simulate or rl.compare: dims time, node, cache): missing dims time, node, cache and variables slab
    """
    try:
        validate(ds, kind, needs=tuple(needs))
    except (TypeError, ValueError) as err:
        raise AssertionError(str(err)) from None
