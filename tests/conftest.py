"""Shared paths and fixtures of the test suite."""
from __future__ import annotations

from pathlib import Path

import pytest

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
