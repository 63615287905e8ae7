"""Data shipped inside the package: real kernel traces with their provenance.

Found with :mod:`importlib.resources`, so a wheel install finds them too.

Examples
--------
>>> from reclaimlab.data import shipped_trace, shipped_traces
>>> shipped_trace("6.12").name
'debian-6.12-6.12.117-512M-2cpu.trace.xz'
>>> len(shipped_traces()) >= 2
True
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path


def _traces_dir() -> Path:
    return Path(str(resources.files(__package__) / "traces"))


def shipped_traces() -> tuple[Path, ...]:
    """The real kernel traces shipped with reclaimlab (``*.trace.xz``), sorted by name."""
    return tuple(sorted(_traces_dir().glob("*.trace*")))


def shipped_trace(kernel: str) -> Path:
    """The shipped trace of a Debian kernel flavour (``"6.1"`` or ``"6.12"``).

    Raises
    ------
    ValueError
        When no shipped trace is of that flavour; the message lists them.
    """
    found = [p for p in shipped_traces() if p.name.startswith(f"debian-{kernel}-")]
    if not found:
        names = ", ".join(p.name for p in shipped_traces())
        raise ValueError(f"kernel={kernel!r} has no shipped trace; shipped: {names}")
    return found[0]
