"""Every figure says where its data came from, and that line remakes the data."""
from __future__ import annotations

import shlex

import pytest
import xarray as xr

import reclaimlab as rl
from reclaimlab import cli
from reclaimlab.testing import example_replay, example_simulation
from reclaimlab.viz.provenance import command, provenance


def rerun(cmd: str, tmp_path) -> xr.Dataset:
    """Run a provenance command in process, writing its Dataset to a file."""
    argv = shlex.split(cmd)
    assert argv[0] == "reclaimlab"
    out = tmp_path / "again.nc"
    assert cli.main(argv[1:] + ["--out", str(out)]) == 0
    return rl.load(out)


@pytest.mark.parametrize("make", [
    lambda: rl.simulate("desktop-copy", "v4.19", reduced=True, seed=3),
    lambda: rl.simulate("recursive-grep", "v5.0", inode_rule="a76cf1a474d7", reduced=True),
    lambda: rl.simulate("small-vs-large", "v4.19", reduced=True, duration_s=5.0),
    lambda: rl.compare("dying-memcgs", ["v4.19", "v5.0"], reduced=True, seed=1),
    lambda: rl.sweep(["v4.19", "v5.0"], freeable=[10, 1000, 10**6], priority=[12, 6], calls=50),
], ids=["simulate", "rules", "override", "compare", "sweep"])
def test_the_command_remakes_the_dataset(make, tmp_path):
    ds = make()
    line = provenance(ds)
    assert line.startswith(f"reclaimlab {rl.__version__}: reclaimlab ")
    again = rerun(command(ds), tmp_path)
    for name in ds.data_vars:
        xr.testing.assert_equal(again[name], ds[name])


def test_kernel_runs_name_the_kernel_not_the_formula():
    ds = rl.simulate("desktop-copy", kernel="4.19.3", reduced=True)
    assert command(ds) == "reclaimlab simulate desktop-copy --kernel 4.19.3 --reduced --seed 0"


def test_every_figure_ends_with_its_provenance():
    sim = rl.compare("dying-memcgs", ["v4.19", "v5.0"], reduced=True)
    sweep = rl.sweep(["v4.19", "v5.0"], freeable=[10, 1000, 10**6], priority=[12, 6, 0], calls=10)
    rep = example_replay()
    figures = [("pressure_curve", sweep), ("priority_heatmap", sweep), ("small_large_ratio", sweep),
               ("timeline", sim), ("dying_memcgs", sim), ("scorecard", sim), ("trace_replay", rep)]
    for name, ds in figures:
        want = provenance(ds)
        text = getattr(rl.text, name)(ds)
        tail = " ".join(text.rsplit("\n\n", 1)[1].splitlines())
        assert tail.replace(" ", "") == want.replace(" ", ""), name
        subtitle = getattr(rl.plot, name)(ds).to_dict()
        title = subtitle.get("title") or subtitle["vconcat"][0].get("title")
        assert title["subtitle"][-1] == want, name


def test_synthetic_data_names_the_call_that_makes_it():
    ds = example_simulation(steps=10, formulas=["v4.19"], seed=2)
    assert command(ds).startswith("reclaimlab.testing.example_simulation(10, formulas=['v4.19']")
    assert command(xr.Dataset({"x": ("t", [1])})) is None
    assert provenance(xr.Dataset()).endswith("data not made by a reclaimlab command")


def test_compare_with_a_shared_rule_says_so():
    ds = rl.compare("recursive-grep", ["v4.19", "v5.0"], inode_rule="v5.16", reduced=True)
    assert command(ds).endswith("--formulas v4.19,v5.0 --set inode_rule=v5.16 --reduced --seed 0")
