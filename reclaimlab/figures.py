"""The figure catalogue: named figures that build their own data from defaults.

Each entry has a slug name (``[a-z0-9-]``), says which ``rl.plot`` / ``rl.text``
figure it draws, and builds its Dataset with no argument: from ``rl.sweep``,
from the simulator's standard scenarios at reduced presets, or from the traces
shipped in ``data/``. Every entry renders in well under a minute.

``reclaimlab figure --list`` prints :func:`names`; ``reclaimlab figure
--all --out-dir figures`` (``make figures``) writes every available figure.

Examples
--------
>>> from reclaimlab import figures
>>> "pressure-172b06c32b94" in figures.names()
True
>>> figures.get("priority-heatmap").figure
'priority_heatmap'
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from . import kernel_ab, trace
from .data import shipped_trace
from .kernel.releases import MEMCG_REMEDIES
from .simulate import compare
from .sweep import sweep
from .viz import charts as _charts
from .viz import text as _textfig
from .viz.save import save
from .viz.tables import scores

__all__ = ["Entry", "names", "get", "data", "chart", "text", "write", "write_all", "FORMATS",
           "PRESSURE_FORMULAS"]

#: Output formats of the catalogue (by file suffix).
FORMATS = ("svg", "png", "pdf", "html", "json", "txt")

#: The formulas of the 172b06c32b94 discussion, in kernel order.
PRESSURE_FORMULAS = ("v4.18", "v4.19", "v5.0", "rik-2019", "dave-2019", "v5.13")

#: Successive calls in the pressure sweeps: the long-run rate (docs/kernel.md §1.9). At 100
#: calls Rik van Riel's accumulator has not yet scanned a small cache and looks like v5.0.
LONG_RUN_CALLS = 20_000

#: The five standard scenarios.
SCENARIOS = ("small-vs-large", "compile-and-copy", "desktop-copy", "dying-memcgs", "recursive-grep")

Progress = Callable[[str, int, int], None]
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Entry:
    """One catalogue figure.

    Attributes
    ----------
    name : str
        Slug, ``[a-z0-9-]``.
    title : str
        One line.
    description : str
        What the figure shows and how its data are made.
    figure : str
        The ``rl.plot`` / ``rl.text`` function that draws it.
    build : callable
        ``build(progress) -> Dataset``; simulation figures also take ``kernels=``.
    options : dict
        Keyword arguments for the figure functions.
    chart_fn, text_fn : callable, optional
        The chart and text functions when they are not ``rl.plot`` / ``rl.text``
        figures (a subpackage's own, e.g. :mod:`reclaimlab.kernel_ab`).
    """

    name: str
    title: str
    description: str
    figure: str
    build: Callable[[Progress | None], object]
    options: dict = field(default_factory=dict)
    chart_fn: Callable | None = None
    text_fn: Callable | None = None

    def __post_init__(self) -> None:
        if not _SLUG.match(self.name):
            raise ValueError(f"name={self.name!r} is not a slug; allowed: [a-z0-9] words joined by '-'")


# --------------------------------------------------------------------------- runs

def _compare(scenario: str, formulas: Sequence[str], kernels: Sequence[str] | None = None,
             **overrides) -> xr.Dataset:
    """``rl.compare`` of a scenario at its reduced (fast) preset, seed 0: ``kernels`` instead of formulas if given."""
    if kernels:
        return compare(scenario, kernels=list(kernels), seed=0, reduced=True, **overrides)
    return compare(scenario, formulas=list(formulas), seed=0, reduced=True, **overrides)


def _tick(progress: Progress | None, what: str, i: int, n: int) -> None:
    if progress is not None:
        progress(what, i, n)


# --------------------------------------------------------------------------- builders

def _log_sizes(lo: float, hi: float, n: int) -> np.ndarray:
    return np.unique(np.round(np.logspace(np.log10(lo), np.log10(hi), n)).astype(np.int64))


def _build_pressure(progress=None):
    _tick(progress, "sweep", 0, 1)
    ds = sweep(list(PRESSURE_FORMULAS), freeable=_log_sizes(1, 1e7, 29), priority=12,
               batch=[128, 1024], calls=LONG_RUN_CALLS)
    _tick(progress, "sweep", 1, 1)
    return ds


def _build_heatmap(progress=None):
    _tick(progress, "sweep", 0, 1)
    ds = sweep(list(PRESSURE_FORMULAS), freeable=_log_sizes(1, 1e7, 22), priority=list(range(13)),
               batch=128, calls=LONG_RUN_CALLS)
    _tick(progress, "sweep", 1, 1)
    return ds


def _build_ratio(progress=None):
    _tick(progress, "sweep", 0, 1)
    ds = sweep(list(PRESSURE_FORMULAS), freeable=[1000, 1_000_000], priority=list(range(13)),
               batch=128, calls=LONG_RUN_CALLS)
    _tick(progress, "sweep", 1, 1)
    return ds


def _build_timeline(progress=None, kernels=None):
    _tick(progress, "compile-and-copy", 0, 1)
    ds = _compare("compile-and-copy", ["v4.18", "v4.19", "v5.0"], kernels)
    _tick(progress, "compile-and-copy", 1, 1)
    return ds


def _build_dying(progress=None, kernels=None):
    remedies = MEMCG_REMEDIES
    formulas = ["v4.19", "v5.0", "rik-2019", "v5.13"]    # v4.18 scans like v5.0 at seeks 2
    parts = []
    for i, r in enumerate(remedies):
        _tick(progress, f"dying-memcgs ({r})", i, len(remedies))
        parts.append(_compare("dying-memcgs", formulas, kernels, memcg_remedy=r)[["dying_memcgs"]])
    _tick(progress, "dying-memcgs", len(remedies), len(remedies))
    out = xr.concat(parts, dim=xr.DataArray(list(remedies), dims="remedy", name="remedy"),
                    combine_attrs="override")
    return out


def _build_scorecard(progress=None, kernels=None):
    runs = {}
    for i, s in enumerate(SCENARIOS):
        _tick(progress, s, i, len(SCENARIOS))
        runs[s] = _compare(s, list(PRESSURE_FORMULAS), kernels)
    _tick(progress, "scorecard", len(SCENARIOS), len(SCENARIOS))
    return scores(runs)


def _build_replay(progress=None):
    _tick(progress, "read trace", 0, 2)
    ds = trace.read(shipped_trace("6.12"))
    _tick(progress, "replay", 1, 2)
    out = trace.replay(ds, "v5.13")
    _tick(progress, "replay", 2, 2)
    return out


def _build_kernel_ab(progress=None):
    _tick(progress, "kernel A/B captures and model", 0, 1)
    ds = kernel_ab.comparison()
    _tick(progress, "kernel A/B captures and model", 1, 1)
    return ds


_ENTRIES: tuple[Entry, ...] = (
    Entry("pressure-172b06c32b94",
          "Fraction of a cache scanned per call vs cache size, 4.18 to 6.x",
          "rl.sweep of v4.18, v4.19 (172b06c32b94's min-scan floor), v5.0 (the revert), "
          "rik-2019, dave-2019 and v5.13 over cache sizes 1 to 10^7 objects at priority 12, "
          "batch 128 and 1024, mean of 20,000 successive calls (deferred work carried).",
          "pressure_curve", _build_pressure),
    Entry("priority-heatmap",
          "Scan pressure by reclaim priority and cache size, per formula",
          "rl.sweep of the six formulas over priority 0 to 12 and cache sizes 1 to 10^7, "
          "batch 128, seeks 2, mean of 20,000 calls.",
          "priority_heatmap", _build_heatmap),
    Entry("small-large-ratio",
          "Pressure on a 1000-object cache relative to a 10^6-object cache",
          "rl.sweep of the six formulas at priority 0 to 12, 20,000 calls: 1 means both caches "
          "lose the same fraction, 0 that the small one is never scanned.",
          "small_large_ratio", _build_ratio),
    Entry("compile-and-copy-timeline",
          "Compile while copying (bug 202441): page cache, slab, priority and stall",
          "rl.compare('compile-and-copy') under v4.18, v4.19 and v5.0 at the reduced preset.",
          "timeline", _build_timeline),
    Entry("dying-memcgs",
          "Dying memory cgroups over time by formula and remedy",
          "rl.compare('dying-memcgs') under v4.19, v5.0, rik-2019 and v5.13 (v4.18 scans like "
          "v5.0 here), once per memcg remedy (none, reparent, collector), at the reduced preset.",
          "dying_memcgs", _build_dying),
    Entry("scorecard",
          "Formulas side by side on the five standard scenarios",
          "rl.compare of the six formulas on each standard scenario at its reduced preset; "
          "metrics from reclaimlab.viz.tables.scores.",
          "scorecard", _build_scorecard),
    Entry("trace-replay",
          "A real 6.12 kernel trace replayed through the v5.13 formula",
          "rl.trace.read of the shipped 6.12 trace (reclaimlab/data/traces), replayed under v5.13: "
          "observed vs modelled delta and total_scan per call.",
          "trace_replay", _build_replay),
    Entry("kernel-ab",
          "Linux 6.1 stock / floor / rik against the model on one workload",
          "The shipped kernel A/B captures (reclaimlab/data/kernel-ab) over the workload's global "
          "rounds beside the simulator under v5.13, v5.13+floor and rik-6.1, its scenario measured "
          "from the stock capture: pressure per cache, kswapd priorities, slab and page cache "
          "(reclaimlab.kernel_ab.comparison).",
          "kernel_ab", _build_kernel_ab, chart_fn=kernel_ab.chart, text_fn=kernel_ab.text),
)
_BY_NAME = {e.name: e for e in _ENTRIES}


# --------------------------------------------------------------------------- API

def names() -> tuple[str, ...]:
    """Every catalogue slug, available or not.

    Examples
    --------
    >>> names()[0]
    'pressure-172b06c32b94'
    """
    return tuple(_BY_NAME)


def get(name: str) -> Entry:
    """The :class:`Entry` called ``name``.

    Examples
    --------
    >>> get("scorecard").figure
    'scorecard'
    """
    if name not in _BY_NAME:
        raise ValueError(f"figure {name!r} is not in the catalogue; allowed: {', '.join(_BY_NAME)}")
    return _BY_NAME[name]


_CACHE: dict[str, object] = {}


#: Figures built from simulations: ``kernels=`` runs them under those releases instead.
KERNEL_FIGURES = ("compile-and-copy-timeline", "dying-memcgs", "scorecard")


def data(name: str, progress: Progress | None = None, *, kernels: Sequence[str] | None = None,
         cache: bool = True):
    """Build the Dataset of figure ``name`` from its defaults.

    The result is kept for the life of the process (the inputs are fixed
    defaults and the builds are deterministic); ``cache=False`` rebuilds.
    A shallow copy is returned, so callers may change attrs freely.
    ``kernels`` (releases, e.g. ``["4.18", "4.19.3", "5.0"]``) rebuilds a
    simulation figure (:data:`KERNEL_FIGURES`) under those kernels instead of
    its formulas; that result is not kept.

    Examples
    --------
    >>> data("small-large-ratio").sizes["priority"]
    13
    """
    entry = get(name)
    if kernels:
        if name not in KERNEL_FIGURES:
            raise ValueError(f"figure {name!r} is a formula sweep or a trace, not a simulation; "
                             f"kernels= applies to {', '.join(KERNEL_FIGURES)}")
        return entry.build(progress, kernels=list(kernels))
    if not cache or name not in _CACHE:
        _CACHE[name] = entry.build(progress)
    ds = _CACHE[name]
    return ds.copy(deep=False) if hasattr(ds, "copy") else ds


def chart(name: str, ds=None):
    """The Altair chart of figure ``name`` (``ds`` defaults to :func:`data`).

    Examples
    --------
    >>> type(chart("small-large-ratio")).__name__
    'LayerChart'
    """
    e = get(name)
    fn = e.chart_fn or getattr(_charts, e.figure)
    return fn(data(name) if ds is None else ds, **e.options)


def text(name: str, ds=None, *, width: int = 72, unicode: bool = False) -> str:
    """The text figure of ``name`` (``ds`` defaults to :func:`data`).

    Examples
    --------
    >>> text("small-large-ratio").splitlines()[0]
    'Small-cache vs large-cache pressure'
    """
    e = get(name)
    fn = e.text_fn or getattr(_textfig, e.figure)
    return fn(data(name) if ds is None else ds, width=width, unicode=unicode, **e.options)


def write(name: str, path: str | Path, ds=None, *, scale: float = 2.0, width: int = 72,
          unicode: bool = False) -> Path:
    """Render figure ``name`` to ``path`` (format by suffix; ``.txt`` is the text figure).

    Examples
    --------
    >>> import tempfile, os
    >>> write("small-large-ratio", os.path.join(tempfile.mkdtemp(), "r.txt")).name
    'r.txt'
    """
    p = Path(path)
    ds = data(name) if ds is None else ds
    if p.suffix.lower() == ".txt":
        return save(text(name, ds, width=width, unicode=unicode), p)
    return save(chart(name, ds), p, scale=scale)


def write_all(out_dir: str | Path, formats: Sequence[str] = ("svg", "png", "txt"), *,
              names_: Sequence[str] | None = None, progress: Progress | None = None,
              scale: float = 2.0, unicode: bool = False) -> list[Path]:
    """Write every figure (or ``names_``) into ``out_dir`` as ``<name>.<format>``.

    The directory is created if needed. Returns the paths written.

    Examples
    --------
    >>> import tempfile
    >>> [p.name for p in write_all(tempfile.mkdtemp(), ["txt"], names_=["small-large-ratio"])]
    ['small-large-ratio.txt']
    """
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ValueError(f"formats={list(formats)!r} is not allowed; allowed: {', '.join(FORMATS)}")
    todo = list(names() if names_ is None else names_)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for i, n in enumerate(todo):
        _tick(progress, n, i, len(todo))
        ds = data(n)   # built once, drawn in every format
        for f in formats:
            written.append(write(n, out / f"{n}.{f}", ds, scale=scale, unicode=unicode))
    _tick(progress, "done", len(todo), len(todo))
    return written
