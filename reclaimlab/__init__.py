"""reclaimlab: models of how the Linux kernel reclaims memory from its caches.

Public API
----------
formulas
    Exact do_shrink_slab() scan-count arithmetic for every kernel version
    that matters (:mod:`reclaimlab.formulas`).
sweep
    Formulas over grids of inputs, as an :class:`xarray.Dataset`.
simulate, compare, grid, scenarios
    The reclaim simulator: one run, several formulas or kernels, a cross product
    of kernels, seeds and parameters, the standard scenarios.
trace
    Real ftrace captures: read, replay under any formula, what-if.
plot, text
    Altair charts and 72-column text figures of any of these Datasets.
save, load
    Atomic writes of Datasets (.nc, .zarr), charts (.svg, .png, ...) and text.

The facade imports the arithmetic and the simulator at once; the trace
reader, the figures and the file formats load on first use, so ``import
reclaimlab`` stays quick.
"""
from __future__ import annotations

import importlib

from ._version import __version__
from .grid import grid
from .simulate import compare, simulate
from .sweep import sweep

# Loaded on first attribute access (PEP 562): name -> (module, attribute or None for the module).
_LAZY = {
    "formulas": ("reclaimlab.formulas", None),
    "scenarios": ("reclaimlab.scenarios", None),
    "trace": ("reclaimlab.trace", None),
    "plot": ("reclaimlab.plot", None),
    "text": ("reclaimlab.text", None),
    "testing": ("reclaimlab.testing", None),
    "figures": ("reclaimlab.figures", None),
    "load": ("reclaimlab.viz.save", "load"),
    "save": ("reclaimlab.viz.save", "save"),
}

__all__ = ["__version__", "compare", "grid", "simulate", "sweep", *sorted(_LAZY)]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'reclaimlab' has no attribute {name!r}")
    module, attr = _LAZY[name]
    value = importlib.import_module(module)
    if attr is not None:
        value = getattr(value, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
