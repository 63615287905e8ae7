"""The kernel's integer arithmetic, version by version (pure numpy + numba; no xarray)."""
from .evaluate import ScanResult, evaluate
from .registry import Registry
from .spec import FormulaSpec

__all__ = ["FormulaSpec", "Registry", "ScanResult", "evaluate"]
