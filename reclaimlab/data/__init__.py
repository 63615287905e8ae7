"""Data shipped inside the package: real kernel traces with their provenance.

Found with :mod:`importlib.resources`, so a wheel install finds them too.

Examples
--------
>>> from reclaimlab.data import shipped_trace, shipped_traces
>>> shipped_trace("6.12").name
'debian-6.12-6.12.117-512M-2cpu.trace.xz'
>>> len(shipped_traces()) >= 2
True
>>> kernel_ab_trace("floor").name
'kernel-ab-6.1.176-floor-512M-1cpu.trace.xz'
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path


def _folder(name: str) -> Path:
    """A data folder shipped inside the package (``traces``, ``kernel-ab``)."""
    return Path(str(resources.files(__package__) / name))


def _shipped(folder: str, pattern: str) -> tuple[Path, ...]:
    """The files of a shipped data folder that match a glob ``pattern``, sorted by name."""
    return tuple(sorted(_folder(folder).glob(pattern)))


def shipped_traces() -> tuple[Path, ...]:
    """The real kernel traces shipped with reclaimlab (``*.trace.xz``), sorted by name."""
    return _shipped("traces", "*.trace*")


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


#: The variants of the kernel A/B captures (docs/kernel-ab.md) and the formula each replays under.
KERNEL_AB = {"stock": "v5.13", "floor": "v5.13+floor", "rik": "rik-6.1"}


def kernel_ab_trace(variant: str) -> Path:
    """The shipped kernel A/B capture of one 6.1 variant: ``"stock"``, ``"floor"`` or ``"rik"``.

    Raises
    ------
    ValueError
        For another variant, naming the allowed ones.
    """
    if variant not in KERNEL_AB:
        raise ValueError(f"variant={variant!r} is unknown; allowed: {', '.join(KERNEL_AB)}")
    found = _shipped("kernel-ab", f"kernel-ab-*-{variant}-*.trace.xz")
    if len(found) != 1:
        raise FileNotFoundError(f"want one {variant} capture in {_folder('kernel-ab')}, found {len(found)}")
    return found[0]
