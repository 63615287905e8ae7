"""Charts for notebooks and papers: ``rl.plot.<figure>(ds, ...) -> alt.Chart``.

Thin public face of :mod:`reclaimlab.viz.charts`; see there for the figures.
Altair is imported on first use, so ``import reclaimlab`` stays fast.

Examples
--------
>>> import reclaimlab as rl
>>> ds = rl.sweep(["v4.19", "v5.0"], freeable=[10, 1000, 10**6], priority=12, calls=10)
>>> chart = rl.plot.pressure_curve(ds)
>>> type(chart).__name__
'Chart'
"""
from __future__ import annotations

__all__ = ["pressure_curve", "priority_heatmap", "small_large_ratio", "timeline",
           "dying_memcgs", "scorecard", "trace_replay"]


def __getattr__(name: str):
    if name in __all__:
        from .viz import charts
        return getattr(charts, name)
    raise AttributeError(f"module 'reclaimlab.plot' has no attribute {name!r}; figures: {', '.join(__all__)}")


def __dir__() -> list[str]:
    return sorted(__all__)
