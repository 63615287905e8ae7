"""ipywidgets explorers for notebooks (thin: they compose formulas, sweep and plot).

Imported on demand (``from reclaimlab.widgets import FormulaExplorer``) so that
``import reclaimlab`` does not load ipywidgets and Altair.
"""
from .formula_explorer import FormulaExplorer, explorer_dataset, floor_formula

__all__ = ["FormulaExplorer", "explorer_dataset", "floor_formula"]
