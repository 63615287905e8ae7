"""rl.grid: the cross product of kernels x seeds x parameters, one Dataset with a dim per input."""
from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

import reclaimlab as rl
from reclaimlab.grid import MB_PAGES, grid, summarize
from reclaimlab.sim import params as sim_params
from reclaimlab.sim.params import SimParams

GIB = 262_144
CC = "compile-and-copy"
#: Pinned for every small grid here, so the tests do not hang on the reduced preset's values:
#: a short run at a coarse step with 256 MiB of anonymous memory per machine.
SHORT = dict(duration_s=10.0, dt_s=0.1, machine_anon_gib=0.25)


@pytest.fixture(scope="module")
def small():
    """2 kernels x 2 seeds x nodes {1, 2} on a 2 GiB machine, a short reduced compile-and-copy."""
    return grid(CC, kernels=["4.18", "4.19.3"], seeds=[0, 1], reduced=True,
                nodes=[1, 2], machine_gib=[2], copy_mb_per_s=[2.5], **SHORT)


def test_dims_coords_and_attrs(small):
    assert dict(small.workload_time.sizes) == {"kernel": 2, "seed": 2, "nodes": 2, "machine_gib": 1,
                                               "copy_mb_per_s": 1}
    assert small.workload_time.dims == ("kernel", "seed", "nodes", "machine_gib", "copy_mb_per_s")
    assert small.scanned_total.dims[-1] == "cache"
    assert list(small.kernel.values) == ["4.18", "4.19.3"]
    assert list(small.seed.values) == [0, 1]
    assert list(small.nodes.values) == [1, 2]
    # the rules each kernel ran, along kernel
    assert list(small.formula.values) == ["v4.16", "v4.19"]
    assert list(small.inode_rule.values) == ["v4.18", "a76cf1a474d7"]
    assert list(small.xfs_reclaim.values) == ["sync", "sync"]
    assert list(small.cache.values) == ["dentry", "inode", "xfs_inode", "xfs_buf"]
    a = small.attrs
    assert a["scenario"] == CC and a["preset"] == "reduced" and a["reclaimlab_version"] == rl.__version__
    assert json.loads(a["axes"]) == {"kernel": ["4.18", "4.19.3"], "seed": [0, 1], "nodes": [1, 2],
                                     "machine_gib": [2], "copy_mb_per_s": [2.5]}
    assert set(json.loads(a["pseudo_parameters"])) == {"machine_gib", "copy_mb_per_s", "machine_anon_gib"}
    assert json.loads(a["fixed"]) == {"duration_s": 10.0, "dt_s": 0.1, "machine_anon_gib": 0.25}
    for name in ("workload_time", "stall_total", "page_cache_drops", "scanned_total"):
        assert small[name].attrs["units"] and small[name].attrs["long_name"]
    assert int(small.workload_finished.min()) in (0, 1)


def test_stall_and_blocked_time_per_cause(small):
    """Totals per cause (docs/simulator.md, "Stall by cause"): stall's split sums to stall_total."""
    from reclaimlab.model.schema import STALL_CAUSES
    assert small.stall_by_cause_total.dims == (*small.workload_time.dims, "cause")
    assert list(small.cause.values) == list(STALL_CAUSES)
    assert list(small.cause_long_name.values) == list(STALL_CAUSES.values())
    np.testing.assert_allclose(small.stall_by_cause_total.sum("cause"), small.stall_total, rtol=1e-9, atol=1e-12)
    assert (small.blocked_by_cause_total >= small.stall_by_cause_total - 1e-12).all()
    for name in ("stall_by_cause_total", "blocked_by_cause_total"):
        assert small[name].attrs["units"] == "s" and small[name].attrs["long_name"]


def test_machine_memory_and_copy_rate_translate_to_params(small):
    for nodes in (1, 2):
        p = SimParams.from_json(small.params.sel(kernel="4.18", seed=0, nodes=nodes, machine_gib=2,
                                                 copy_mb_per_s=2.5).item())
        assert p.nodes == nodes and p.node_pages * nodes == 2 * GIB and p.anon_pages * nodes == GIB // 4
        copy = next(f for f in p.filesets if f.name == "copy")
        assert copy.creates_per_s * copy.pages_per_file / MB_PAGES == pytest.approx(2.5)
    # the full preset's own copy is 10 MB/s: 25 MB files, 0.4 a second
    full = rl.scenarios.get(CC).params
    copy = next(f for f in full.filesets if f.name == "copy")
    assert copy.creates_per_s * copy.pages_per_file / MB_PAGES == pytest.approx(10.0)


def test_a_cell_is_the_same_as_rl_simulate(small):
    p = SimParams.from_json(small.params.sel(kernel="4.19.3", seed=1, nodes=2).squeeze().item())
    run = rl.simulate(CC, kernel="4.19.3", seed=1, reduced=True, nodes=2, node_pages=GIB,
                      anon_pages=GIB // 8, filesets=p.filesets, duration_s=10.0, dt_s=0.1)
    cell = small.sel(kernel="4.19.3", seed=1, nodes=2, machine_gib=2, copy_mb_per_s=2.5, drop=True)
    cell.attrs = {}
    xr.testing.assert_identical(cell, summarize(run))
    assert float(cell.workload_time) == float(run.workload_time)
    assert float(cell.stall_total) == float(run.stall.sum("node").sum("time"))
    np.testing.assert_array_equal(cell.scanned_total.values, run.scanned.sum(["time", "node"]).values)
    assert cell.params.item() == run.attrs["params"]


def test_formula_axis_fixed_values_and_deterministic():
    kw = dict(formulas=["v4.18", "v4.19"], reduced=True, seeds=[3], duration_s=[5.0, 8.0],
              dt_s=0.1, inode_flush_ms=4.0, xfs_reclaim="async")
    ds = grid(CC, **kw)
    assert dict(ds.workload_time.sizes) == {"formula": 2, "seed": 1, "duration_s": 2}
    assert "inode_flush_ms" not in ds.dims and json.loads(ds.attrs["fixed"]) == {
        "dt_s": 0.1, "inode_flush_ms": 4.0, "xfs_reclaim": "async"}
    assert list(ds.xfs_reclaim.values) == ["async", "async"]
    # runs of different lengths are kept as per-run numbers
    assert ds.simulated_s.sel(formula="v4.18", seed=3).values.tolist() == [5.0, 8.0]
    one = rl.simulate(CC, "v4.19", seed=3, reduced=True, duration_s=8.0, dt_s=0.1, inode_flush_ms=4.0,
                      xfs_reclaim="async")
    assert float(ds.stall_total.sel(formula="v4.19", seed=3, duration_s=8.0)) == float(
        one.stall.sum("node").sum("time"))
    xr.testing.assert_identical(ds, grid(CC, **kw))


def test_sizes_with_units_are_accepted_where_simulate_takes_them():
    if "node_pages" not in getattr(sim_params, "SIZE_FIELDS", ()):
        pytest.skip("this SimParams takes no sizes with units")
    ds = grid(CC, kernels=["5.0"], reduced=True, node_pages=["8GiB"], duration_s=1.0)
    assert SimParams.from_json(ds.params.item()).node_pages == 8 * GIB
    assert ds.node_pages.values.tolist() == ["8GiB"]


def test_memcg_scenario_sums_over_memcgs():
    ds = grid("dying-memcgs", kernels=["4.19", "5.0"], reduced=True, duration_s=30.0)
    run = rl.simulate("dying-memcgs", kernel="5.0", reduced=True, duration_s=30.0)
    assert int(ds.dying_memcgs_max.sel(kernel="5.0", seed=0)) == int(run.dying_memcgs.max())
    np.testing.assert_array_equal(ds.freed_total.sel(kernel="5.0", seed=0).values,
                                  run.freed.sum(["time", "node", "memcg"]).values)


def test_progress_callback_and_bar(capsys):
    seen = []
    grid(CC, kernels=["5.0"], seeds=[0, 1], reduced=True, duration_s=2.0,
         progress=lambda d, t, c: seen.append((d, t, c)))
    assert seen == [(1, 2, {"kernel": "5.0", "seed": 0}), (2, 2, {"kernel": "5.0", "seed": 1})]
    grid(CC, kernels=["5.0"], reduced=True, duration_s=2.0, progress=True)
    assert "grid 1/1" in capsys.readouterr().err


def test_save_and_load_round_trip(small, tmp_path):
    path = tmp_path / "grid.nc"
    rl.save(small, path)
    xr.testing.assert_identical(rl.load(path), small)


def test_dask_client_gives_the_identical_dataset():
    distributed = pytest.importorskip("dask.distributed")
    kw = dict(kernels=["4.18", "4.19.3"], reduced=True, nodes=[2], machine_gib=[2], **SHORT)
    seen = []
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        remote = grid(CC, client=client, progress=lambda d, t, c: seen.append(d), **kw)
    xr.testing.assert_identical(remote, grid(CC, **kw))
    assert sorted(seen) == [1, 2]


@pytest.mark.parametrize("kwargs,match", [
    (dict(), r"give kernels=\[...\] or formulas=\[...\], not both and not neither"),
    (dict(kernels=["4.18"], formulas=["v4.19"]), r"not both"),
    (dict(kernels=["2.6"]), r"kernel='2.6' is unknown; known kernels: 4.15"),
    (dict(kernels=[4.18]), r"kernels value 4.18 is not allowed; allowed: a kernel name as a string"),
    (dict(kernels="4.18"), r"kernels='4.18' is not allowed; allowed: a non-empty list"),
    (dict(kernels=[]), r"kernels=\[\] is empty"),
    (dict(kernels=["4.18", "4.18"]), r"kernels=\['4.18', '4.18'\] repeats '4.18'; allowed: distinct"),
    (dict(formulas=["v9"]), r"formula='v9' is unknown; known formulas"),
    (dict(kernels=["5.0"], seeds=[-1]), r"seeds value -1 is not allowed; allowed: integers >= 0"),
    (dict(kernels=["5.0"], seeds=[0.5]), r"seeds value 0.5 is not allowed"),
    (dict(kernels=["5.0"], bogus=[1]), r"unknown parameter 'bogus'; allowed: .*anon_pages.*machine_gib"),
    (dict(kernels=["5.0"], nodes=[1, 1.5]), r"nodes=1.5 is not allowed; allowed: an integer"),
    (dict(kernels=["5.0"], nodes=[0]), r"nodes=0 is not allowed.* \(grid cell nodes=0\)"),
    (dict(kernels=["5.0"], nodes=["2"]), r"nodes='2' is not allowed; allowed: a number"),
    (dict(kernels=["5.0"], dt_s=[float("nan")]), r"dt_s=nan is not allowed; allowed: a finite number"),
    (dict(kernels=["5.0"], kswapd=[1]), r"kswapd=1 is not allowed; allowed: True or False"),
    (dict(kernels=["5.0"], node_pages=[]), r"node_pages=\[\] is empty"),
    (dict(kernels=["5.0"], filesets=[()]), r"unknown parameter 'filesets'"),
    (dict(kernels=["5.0"], machine_gib=[1], node_pages=[GIB]),
     r"machine_gib and node_pages are both given; allowed: one of them"),
    (dict(kernels=["5.0"], machine_gib=[0.1], machine_anon_gib=0.5),
     r"anon_pages=131072 is not allowed: more memory in use than exists \(node_pages=26214\).* "
     r"\(grid cell machine_gib=0.1\)"),
    (dict(kernels=["5.0"], inode_rule=["v9"]), r"inode_rule='v9' is unknown; allowed: v4.18"),
    (dict(kernels=["5.0"], machine_gib=1, min_free_kbytes=[10**6]), r"min_free_kbytes=1000000 gives watermarks"),
    (dict(kernels=["5.0"], seed=[1]), r"seed=\[1\] is not allowed here; allowed: seeds=\[...\]"),
    (dict(formulas=["v5.0"], kernel="5.0"), r"kernel='5.0' is not allowed here; allowed: kernels=\[...\]"),
    (dict(kernels=["5.0"], progress="yes"), r"progress='yes' is not allowed"),
    (dict(kernels=["5.0"], client=object()), r"client=<object object .*> is not allowed"),
])
def test_bad_input_names_parameter_value_and_what_is_allowed(kwargs, match):
    with pytest.raises(ValueError, match=match):
        grid(CC, reduced=True, **kwargs)


def test_a_cell_that_cannot_run_is_named():
    with pytest.raises(ValueError, match=r"the warm working sets do not fit node 0.* \(grid cell kernel='5.0', "
                                         r"seed=0, machine_gib=0.5\)"):
        # the full preset's tree (about 1 GiB of headers and sources) on a 512 MiB machine
        grid(CC, kernels=["5.0"], machine_gib=[0.5], machine_anon_gib=0.125, duration_s=1.0)


def test_copy_rate_needs_a_copy_file_set():
    with pytest.raises(ValueError, match=r"copy_mb_per_s=10 is not allowed: this scenario has no 'copy' "
                                         r"file set \(file sets: stream\)"):
        grid("small-vs-large", kernels=["5.0"], reduced=True, copy_mb_per_s=[10])


def test_pseudo_overrides_is_the_grids_own_translation(small):
    """The public translation gives the parameters the grid ran (scripts build cells with it)."""
    from reclaimlab.grid import pseudo_overrides
    base = rl.scenarios.get(CC).params
    for nodes in (1, 2):
        o = pseudo_overrides(base, {"machine_gib": 2, "copy_mb_per_s": 2.5}, nodes=nodes)
        p = SimParams.from_json(small.params.sel(kernel="4.18", seed=0, nodes=nodes, machine_gib=2,
                                                 copy_mb_per_s=2.5).item())
        assert o["node_pages"] == p.node_pages
        copy = next(f for f in o["filesets"] if f.name == "copy")
        assert copy.creates_per_s == next(f for f in p.filesets if f.name == "copy").creates_per_s
    assert pseudo_overrides(base, {}) == {}
    with pytest.raises(ValueError, match=r"pseudo='machine_tib' is not allowed; allowed: machine_gib"):
        pseudo_overrides(base, {"machine_tib": 1})
