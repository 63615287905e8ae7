"""ipywidgets explorers for notebooks (thin: they compose formulas, simulate and plot).

Imported on demand (``from reclaimlab.widgets import FormulaExplorer``) so that
``import reclaimlab`` does not load ipywidgets and Altair.
"""
from .formula_explorer import FormulaExplorer, explorer_dataset, floor_formula
from .scenario_explorer import ScenarioExplorer

__all__ = ["FormulaExplorer", "ScenarioExplorer", "explorer_dataset", "floor_formula"]
