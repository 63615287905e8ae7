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
kernel_ab
    Real Linux 6.1 kernels (stock, floor, Rik's accumulator) against the model
    on one workload (docs/kernel-ab.md).
plot, text
    Altair charts and 72-column text figures of any of these Datasets.
save, load
    Atomic writes of Datasets (.nc, .zarr), charts (.svg, .png, ...) and text.

Everything loads on first use (PEP 562), so ``import reclaimlab`` costs no
more than its version string; ``rl.sweep`` then brings in numpy and xarray,
``rl.plot`` Altair.
"""
from __future__ import annotations

import importlib
import sys
import types

from ._version import __version__

# Loaded on first attribute access: name -> (module, attribute or None for the module).
_LAZY = {
    "sweep": ("reclaimlab.sweep", "sweep"),
    "simulate": ("reclaimlab.simulate", "simulate"),
    "compare": ("reclaimlab.simulate", "compare"),
    "grid": ("reclaimlab.grid", "grid"),
    "formulas": ("reclaimlab.formulas", None),
    "scenarios": ("reclaimlab.scenarios", None),
    "trace": ("reclaimlab.trace", None),
    "plot": ("reclaimlab.plot", None),
    "text": ("reclaimlab.text", None),
    "testing": ("reclaimlab.testing", None),
    "figures": ("reclaimlab.figures", None),
    "kernel_ab": ("reclaimlab.kernel_ab", None),
    "load": ("reclaimlab.viz.save", "load"),
    "save": ("reclaimlab.viz.save", "save"),
}

__all__ = ["__version__", *sorted(_LAZY)]


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


class _Facade(types.ModuleType):
    """The package module. Three functions share their name with the submodule that
    defines them (``rl.sweep`` in ``reclaimlab/sweep.py``); loading such a submodule
    must not replace the function by the module on the package."""

    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, types.ModuleType) and _LAZY.get(name, (None, None))[1] is not None:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Facade
