"""Figures: Altair charts, 72-column text figures, export, and the figure catalogue.

The layer knows Datasets only (it imports the schema and nothing that makes data). Public faces:
:mod:`reclaimlab.plot` (charts), :mod:`reclaimlab.text` (text figures) and
:func:`reclaimlab.viz.save.save` (``rl.save``). ``altair`` is imported only
when a chart is built or saved.
"""
FIGURES = ("pressure_curve", "priority_heatmap", "small_large_ratio", "timeline",
           "dying_memcgs", "scorecard", "trace_replay")

__all__ = ["FIGURES"]
