"""reclaimlab: models of how the Linux kernel reclaims memory from its caches.

Public API
----------
formulas
    Exact do_shrink_slab() scan-count arithmetic for every kernel version
    that matters (:mod:`reclaimlab.formulas`).
sweep
    Formulas over grids of inputs, as an :class:`xarray.Dataset`.
"""
from ._version import __version__

from . import formulas
from .sweep import sweep

__all__ = ["__version__", "formulas", "sweep"]

from . import scenarios
from .simulate import compare, simulate

__all__ += ["compare", "scenarios", "simulate"]

from . import plot, text, trace
from .viz.save import load, save

__all__ += ["load", "plot", "save", "text", "trace"]
