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
    # Without cgroups the touch rate is a no-op; with 10 cgroups reopening a file a second
    # 4.19.3 is slower than with 10 idle ones (fast preset, seed 0: 110 s against 93 s; 80 s
    # without cgroups, a difference that is partly the runs' random draws diverging).
    t = ds.workload_time.sel(kernel="4.19.3", seed=0)
    assert float(t.sel(cgroups=0, cgroup_touch_per_s=1.0)) == float(t.sel(cgroups=0, cgroup_touch_per_s=0.0))
    assert float(t.sel(cgroups=10, cgroup_touch_per_s=1.0)) > float(t.sel(cgroups=10, cgroup_touch_per_s=0.0))


def test_desktop_script_fixes_a_parameter_for_every_cell():
    """scripts/desktop-202349.py --set NAME=VALUE: sensitivity runs (a cost fixed for every cell)."""
    import pytest
    script = load("desktop-202349.py")
    assert script.fixed(["inode_flush_ms=8", "page_scan_us=1.5", "xfs_reclaim=async"]) == {
        "inode_flush_ms": 8, "page_scan_us": 1.5, "xfs_reclaim": "async"}
    with pytest.raises(SystemExit, match="NAME=VALUE"):
        script.fixed(["inode_flush_ms"])


def test_dt_convergence_prints_times_ratios_and_mechanism_totals(capsys):
    """scripts/dt-convergence.py on the fast preset: a row per (dt_s, seed) with the three
    kernels' times and ratios, a mean row per dt_s, and a table of totals per kernel."""
    script = load("dt-convergence.py")
    assert script.main(["--dt", "0.1", "0.2", "--seeds", "0", "--reduced"]) == 0
    text = capsys.readouterr().out
    rows = [line.strip("| ").split(" | ") for line in text.splitlines()
            if line.startswith(("| 0.1 | 0 |", "| 0.2 | 0 |"))]
    assert len(rows) == 2
    for row in rows:
        t18, t19, t193, r19, r193 = (float(x) for x in row[2:7])
        # the times are printed to 0.1 s, the ratios to 0.01 of the unrounded times
        assert t18 > 0 and abs(t19 / t18 - r19) < 0.01 and abs(t193 / t18 - r193) < 0.01
    for k in script.KERNELS:
        assert f"\n{k}: mean over seeds [0]\n" in text
    assert "| workload_time |" in text and "| stall_by_cause:" in text
