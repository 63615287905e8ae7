"""The kernel's integer arithmetic, version by version (numpy and a small C extension; no xarray)."""
from .evaluate import ScanResult, evaluate
from .registry import Registry
from .spec import FormulaSpec

__all__ = ["FormulaSpec", "Registry", "ScanResult", "evaluate"]
