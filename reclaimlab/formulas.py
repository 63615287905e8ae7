"""do_shrink_slab() scan-count formulas: the public face of :mod:`reclaimlab.kernel.formulas`.

The registry lives in the kernel layer so that every layer above it (the
simulator, trace replay, sweeps) can use it without importing this facade.
"""
from .kernel.formulas import (REGISTRY, ScanResult, aliases, describe, names, register, scan, spec,
                              unregister)

__all__ = ["ScanResult", "names", "aliases", "describe", "scan", "register", "unregister", "spec"]
