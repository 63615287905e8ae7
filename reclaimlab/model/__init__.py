"""Dataset schema and the shrinker presets shared by the simulator and trace replay."""
from .shrinkers import ShrinkerPreset, preset, preset_for_symbol, presets, strip_symbol

__all__ = ["ShrinkerPreset", "preset", "preset_for_symbol", "presets", "strip_symbol"]
