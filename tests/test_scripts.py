"""The bug scripts run end to end: Dataset and table written, the table from the Dataset.

scripts/cgroups-202441.py has a --quick mode on the reduced preset (a few seconds);
the full grids (minutes) are run by hand and their tables kept in docs/.
"""
import importlib.util
import pathlib
import sys

import xarray as xr

SCRIPTS = pathlib.Path(__file__).resolve().parent.parent / "scripts"


def load(name: str):
    """Import scripts/<name> as a module (its directory first on sys.path, as when run)."""
    sys.path.insert(0, str(SCRIPTS))
    try:
        spec = importlib.util.spec_from_file_location(name.replace("-", "_").removesuffix(".py"), SCRIPTS / name)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(SCRIPTS))


def test_cgroups_sweep_quick(tmp_path, capsys):
    script = load("cgroups-202441.py")
    out, table = tmp_path / "cg.nc", tmp_path / "cg.md"
    assert script.main(["--out", str(out), "--table", str(table), "--quick"]) == 0
    ds = xr.open_dataset(out)
    assert ds.sizes["cgroups"] == 2 and ds.sizes["cgroup_touch_per_s"] == 2
    text = table.read_text()
    assert text == capsys.readouterr().out
    rows = [line for line in text.splitlines() if line.startswith("| 0 |") or line.startswith("| 10 |")]
    assert len(rows) == 4
    # Idle cgroups change nothing: with 10 idle cgroups 4.19.3 runs as with none.
    t = ds.workload_time.sel(kernel="4.19.3", seed=0)
    assert float(t.sel(cgroups=10, cgroup_touch_per_s=0.0)) == float(t.sel(cgroups=0, cgroup_touch_per_s=0.0))


def test_desktop_script_fixes_a_parameter_for_every_cell():
    """scripts/desktop-202349.py --set NAME=VALUE: sensitivity runs (a cost fixed for every cell)."""
    import pytest
    script = load("desktop-202349.py")
    assert script.fixed(["inode_flush_ms=8", "page_scan_us=1.5", "xfs_reclaim=async"]) == {
        "inode_flush_ms": 8, "page_scan_us": 1.5, "xfs_reclaim": "async"}
    with pytest.raises(SystemExit, match="NAME=VALUE"):
        script.fixed(["inode_flush_ms"])
