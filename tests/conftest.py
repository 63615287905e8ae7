"""Shared paths and fixtures of the test suite."""
from __future__ import annotations

import functools
from pathlib import Path

import pytest

import reclaimlab as rl

from reclaimlab.data import shipped_trace
from reclaimlab.testing import example_replay

#: The repository's root, the notebooks and the trace fixtures (short excerpts of real captures).
ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
FIXTURES = ROOT / "tests" / "fixtures" / "traces"

#: The real Debian captures shipped inside the package, by kernel flavour.
SHIPPED = {kernel: shipped_trace(kernel) for kernel in ("6.1", "6.12")}


@pytest.fixture(scope="session")
def replay_ds():
    """A replay with matching and missing calls (:func:`reclaimlab.testing.example_replay`)."""
    return example_replay(1500)


@functools.lru_cache(maxsize=None)
def _simulated(scenario: str, kwargs: tuple) -> object:
    return rl.simulate(scenario, **dict(kwargs))


def simulated(scenario: str, **kwargs):
    """``rl.simulate`` run once per test session for the same arguments (full runs take seconds).

    The Dataset is shared between tests: read it, do not change it.
    """
    return _simulated(scenario, tuple(sorted(kwargs.items())))
