"""The package's layers are one-way: the import-linter contract in pyproject.toml holds."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

from conftest import ROOT


def test_import_linter_contract_is_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    p = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "1 kept, 0 broken" in p.stdout


def test_no_module_imports_the_facade():
    # `import reclaimlab` / `from .. import x` (x not a module) inside the package
    # would tie a layer to the facade and bring back the import cycle.
    graph = grimp.build_graph("reclaimlab")
    assert sorted(graph.find_modules_that_directly_import("reclaimlab")) == []
