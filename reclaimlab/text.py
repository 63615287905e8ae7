"""Text figures for LKML mail: ``rl.text.<figure>(ds, width=72) -> str``.

Thin public face of :mod:`reclaimlab.viz.text`: the chart figures as aligned
tables, log-scale bars and sparklines, 7-bit ASCII unless ``unicode=True``.

Examples
--------
>>> import reclaimlab as rl
>>> ds = rl.sweep(["v4.19", "v5.0"], freeable=[10, 1000, 10**6], priority=12, calls=10)
>>> max(len(line) for line in rl.text.pressure_curve(ds).splitlines()) <= 72
True
"""
from __future__ import annotations

from .viz.text import (dying_memcgs, pressure_curve, priority_heatmap, scorecard, small_large_ratio,
                       summary, timeline, trace_replay, trace_summary, trace_whatif)

__all__ = ["pressure_curve", "priority_heatmap", "small_large_ratio", "timeline",
           "dying_memcgs", "scorecard", "summary", "trace_summary", "trace_replay", "trace_whatif"]
