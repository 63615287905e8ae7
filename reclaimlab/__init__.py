"""reclaimlab: models of how the Linux kernel reclaims memory from its caches."""
__version__ = "0.1.0"
