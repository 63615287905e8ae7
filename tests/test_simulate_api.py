"""rl.simulate / rl.compare: schema, determinism, presets, dask, bad input."""
import numpy as np
import pytest
import xarray as xr

import reclaimlab as rl
from reclaimlab.kernel.releases import RELEASES


@pytest.fixture(scope="module")
def run():
    return rl.simulate("compile-and-copy", "v4.19", reduced=True)


def test_schema(run):
    assert set(run.dims) == {"time", "node", "cache"}
    assert run.page_cache.dims == ("time", "node")
    assert run.slab.dims == ("time", "node", "cache")
    assert run.priority.dims == ("time", "node")
    for v in ("scanned", "freed", "delta", "total_scan", "nr_deferred", "refaults"):
        assert run[v].dims == ("time", "node", "cache"), v
    assert run.workload_time.dims == () and np.isfinite(run.workload_time.item())
    assert list(run.cache.values) == ["dentry", "inode", "xfs_inode", "xfs_buf"]
    assert list(run.seeks.values) == [2] * 4 and list(run.batch.values) == [1024] * 3 + [128]
    assert list(run.shrinker.values) == ["superblock"] * 3 + ["xfs_buf"]
    for name, var in run.data_vars.items():
        assert "units" in var.attrs, name
    for key in ("formula", "scenario", "seed", "reclaimlab_version"):
        assert key in run.attrs
    assert run.attrs["formula"] == "v4.19" and run.attrs["seed"] == 0
    assert int(run.priority.min()) >= -1 and int(run.priority.max()) <= 12


def test_memcg_dim_where_there_are_cgroups():
    ds = rl.simulate("dying-memcgs", "v5.0", reduced=True)
    assert ds.slab.dims == ("time", "node", "memcg", "cache")
    assert ds.dying_memcgs.dims == ("time",)


def test_same_seed_same_dataset_other_seed_differs():
    a = rl.simulate("desktop-copy", "v4.19", seed=3, reduced=True)
    b = rl.simulate("desktop-copy", "v4.19", seed=3, reduced=True)
    c = rl.simulate("desktop-copy", "v4.19", seed=4, reduced=True)
    xr.testing.assert_identical(a, b)
    assert not a.slab.equals(c.slab) or not a.page_cache.equals(c.page_cache)


def test_rules_follow_the_formula_era_and_kernel_presets():
    assert rl.simulate("recursive-grep", "v4.19", reduced=True).attrs["inode_rule"] == "v4.18"
    new = rl.simulate("recursive-grep", "v6.1", reduced=True)
    assert (new.attrs["inode_rule"], new.attrs["xfs_reclaim"], new.attrs["memcg_remedy"]) == (
        "v5.16", "async", "reparent")
    k = rl.simulate("recursive-grep", kernel="4.19.3", reduced=True)
    assert (k.attrs["formula"], k.attrs["inode_rule"], k.attrs["xfs_reclaim"]) == (
        "v4.19", "a76cf1a474d7", "sync")
    mixed = rl.simulate("recursive-grep", kernel="4.19.3", inode_rule="v5.16", reduced=True)
    assert mixed.attrs["inode_rule"] == "v5.16"
    assert set(RELEASES) >= {"4.18", "4.19", "4.19.3", "5.0", "6.1"}


def test_a_formula_that_disagrees_with_the_kernel_is_refused():
    with pytest.raises(ValueError, match=r"formula='v5.0' disagrees with kernel='4.19.3'"):
        rl.simulate("recursive-grep", "v5.0", kernel="4.19.3", reduced=True)
    ok = rl.simulate("recursive-grep", "v4.19", kernel="4.19.3", reduced=True)
    assert ok.attrs["formula"] == "v4.19"


def test_registered_formula_runs_in_the_simulator():
    rl.formulas.register("sim-floor-8", lambda F, p, S, B: np.maximum((F >> p) * 4 // np.maximum(S, 1),
                                                                     np.minimum(F, 8)), base="v5.0")
    try:
        ds = rl.simulate("small-vs-large", "sim-floor-8", reduced=True)
        assert ds.attrs["formula"] == "sim-floor-8" and ds.attrs["inode_rule"] == "v4.18"
        assert int(ds.scanned.sel(cache="cache-1e1").sum()) > 0
    finally:
        rl.formulas.unregister("sim-floor-8")


def test_compare_stacks_formulas_as_passed():
    ds = rl.compare("small-vs-large", ["v4.18", "v4.19", "v6.1"], reduced=True)
    assert list(ds.formula.values) == ["v4.18", "v4.19", "v6.1"]
    assert list(ds.inode_rule.values) == ["v4.18", "v4.18", "v5.16"]
    single = rl.simulate("small-vs-large", "v4.19", reduced=True)
    xr.testing.assert_equal(ds.scanned.sel(formula="v4.19", drop=True), single.scanned)


def test_compare_on_a_dask_cluster_equals_local():
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        remote = rl.compare("dying-memcgs", ["v4.19", "v5.0"], reduced=True, client=client)
    local = rl.compare("dying-memcgs", ["v4.19", "v5.0"], reduced=True)
    xr.testing.assert_identical(remote, local)


@pytest.mark.parametrize("kwargs,match", [
    (dict(scenario="nope"), r"scenario='nope' is unknown; known scenarios: small-vs-large"),
    (dict(formula="v9"), r"formula='v9' is unknown; known formulas: v4.15"),
    (dict(inode_rule="v9"), r"inode_rule='v9' is unknown; allowed: v4.18, a76cf1a474d7, v5.16"),
    (dict(xfs_reclaim="maybe"), r"xfs_reclaim='maybe' is unknown; allowed: sync, async"),
    (dict(memcg_remedy="magic"), r"memcg_remedy='magic' is unknown; allowed: none, reparent, collector"),
    (dict(kernel="2.6"), r"kernel='2.6' is unknown; known kernels: 4.15, .*4.19.3"),
    (dict(bogus=1), r"unknown parameter\(s\) bogus; allowed: .*anon_pages"),
    (dict(anon_pages=10**9), r"anon_pages=1000000000 is not allowed: more memory in use than exists"),
    (dict(node_pages=-5), r"node_pages=-5 is not allowed"),
    (dict(min_free_kbytes=10**6), r"min_free_kbytes=1000000 gives watermarks .* out of order"),
    (dict(dt_s=0), r"dt_s=0 is not allowed"),
])
def test_bad_input_names_parameter_and_value(kwargs, match):
    args = dict(scenario="desktop-copy", formula="v5.0", reduced=True)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        rl.simulate(args.pop("scenario"), args.pop("formula"), **args)


def test_a_scenario_that_is_not_a_name_or_scenario_is_a_type_error():
    params = rl.scenarios.get("desktop-copy").params
    with pytest.raises(TypeError, match=r"scenario must be a scenario name \(small-vs-large, .*\) "
                                        r"or a Scenario, not SimParams; .*keyword overrides"):
        rl.simulate(params)


@pytest.mark.parametrize("ext", ["nc", "zarr"])
def test_simulation_round_trips_through_netcdf_and_zarr(tmp_path, ext):
    """rl.save / rl.load give back the same Dataset: values, coords, dtypes and attrs."""
    from reclaimlab.sim.params import SimParams

    runs = [rl.simulate("dying-memcgs", "v4.19", reduced=True),            # with a memcg dim
            rl.compare("compile-and-copy", ["v4.18", "v5.0"], reduced=True)]  # formula dim
    for i, ds in enumerate(runs):
        path = tmp_path / f"run{i}.{ext}"
        rl.save(ds, path)
        back = rl.load(path)
        xr.testing.assert_identical(ds, back)
        for name in back.coords:
            assert back[name].dtype == ds[name].dtype, name
    # The run carries its parameters: enough to run it again.
    assert SimParams.from_json(back.attrs["params"]) == rl.scenarios.get("compile-and-copy").reduced
