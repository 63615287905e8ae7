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
    assert set(run.dims) == {"time", "node", "cache", "cause"}
    assert run.stall_by_cause.dims[-1] == "cause" and run.blocked_by_cause.dims[-1] == "cause"
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
    (dict(min_free_kbytes=10**7), r"min_free_kbytes=10000000 gives watermarks .* out of order"),
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


# --------------------------------------------------------------------------- issue 20: every parameter checked

@pytest.mark.parametrize("reduced", ["no", "yes", 0, 1, None, 0.0])
def test_reduced_must_be_a_bool(reduced):
    # "no" was taken as True by a truth test
    with pytest.raises(TypeError, match=rf"reduced={reduced!r} is not allowed; allowed: True or False"):
        rl.simulate("desktop-copy", reduced=reduced)


@pytest.mark.parametrize("kwargs, match", [
    (dict(disk_read_ms=float("inf")), r"disk_read_ms=inf is not allowed; allowed: a finite real number"),
    (dict(disk_read_ms=float("nan")), r"disk_read_ms=nan is not allowed"),
    (dict(disk_mb_per_s=0.0), r"disk_mb_per_s=0.0 is not allowed; allowed: > 0"),
    (dict(duration_s=1e9), r"duration_s=1000000000.0 at dt_s=0.05 is 2e\+10 steps; allowed: at most 1000000 "
                           r"\(MAX_STEPS"),
    (dict(dt_s=1e-9, record_s=1.0), r"duration_s=60.0 at dt_s=1e-09 is 6e\+10 steps; allowed: at most"),
    (dict(duration_s=2e6, dt_s=1.0, record_s=1.0), r"duration_s=2000000.0 at dt_s=1.0 is 2e\+06 steps; allowed"),
    (dict(kswapd="no"), r"kswapd='no' is not allowed; allowed: True or False"),
    (dict(nodes=True), r"nodes=True is not allowed; allowed: an integer"),
    (dict(nodes=2.0), r"nodes=2.0 is not allowed; allowed: an integer"),
    (dict(nodes=2000), r"nodes=2000 is not allowed; allowed: >= 1 and <= 1024"),
    (dict(job_tasks="4"), r"job_tasks='4' is not allowed; allowed: an integer \(sizes with a unit"),
    (dict(watermark_scale_factor=0), r"watermark_scale_factor=0 is not allowed; allowed: >= 1 and <= 3000"),
    (dict(node_pages=2**60), r"node_pages=1152921504606846976 is not allowed; allowed: >= 1 and <= 2814"),
    (dict(filesets=[]), r"filesets=\[\] is not allowed; allowed: a tuple of FileSet"),
    (dict(services="x"), r"services='x' is not allowed; allowed: None or a Services"),
    (dict(node_pages="1.5 GB"), r"node_pages='1.5 GB' is not allowed; allowed: a size in 4 KiB pages, "
                                r"or a number with a unit B, KiB"),
    (dict(min_free_kbytes="1000B"), r"min_free_kbytes='1000B' is not allowed; allowed: a whole number of KiB"),
])
def test_every_simulation_parameter_is_type_and_range_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        rl.simulate("desktop-copy", reduced=True, **kwargs)


def test_nested_parameters_are_checked_with_their_path():
    from reclaimlab.sim.params import FileSet, Services, SimParams, SlabCache
    with pytest.raises(ValueError, match=r"filesets\[f\]\.reads_per_s=inf is not allowed"):
        SimParams(filesets=(FileSet("f", 4, reads_per_s=float("inf")),)).validate()
    with pytest.raises(ValueError, match=r"filesets\[f\]\.writes='yes' is not allowed; allowed: True or False"):
        SimParams(filesets=(FileSet("f", 4, writes="yes"),)).validate()
    with pytest.raises(ValueError, match=r"caches\[c\]\.seeks=2.5 is not allowed; allowed: an integer"):
        SimParams(caches=(SlabCache("c", 10, seeks=2.5),)).validate()
    with pytest.raises(ValueError, match=r"caches\[c\]\.memcg='other' is not allowed; allowed: 'root', 'service'"):
        SimParams(caches=(SlabCache("c", 10, memcg="other"),)).validate()
    with pytest.raises(ValueError, match=r"services\.max_memcgs=100000 is not allowed; allowed: >= 3 and <= 65535"):
        SimParams(services=Services(max_memcgs=100_000)).validate()


def test_every_preset_passes_the_checks_and_numpy_numbers_are_accepted():
    import numpy as np
    from reclaimlab.sim.params import LIMITS, SimParams
    for name in rl.scenarios.names():
        sc = rl.scenarios.get(name)
        sc.params.validate()
        sc.reduced.validate()
    p = SimParams().replace(nodes=np.int64(2), duration_s=np.float32(5.0), kswapd=np.bool_(True))
    assert p.nodes == 2
    # every field of every parameter class has its limits
    from reclaimlab.sim.params import Costs, FileSet, Services, SlabCache
    import dataclasses
    fields = {f.name for cls in (SimParams, Costs, FileSet, Services, SlabCache) for f in dataclasses.fields(cls)}
    assert fields - set(LIMITS) == {"filesets", "caches", "services", "costs"}


def test_sizes_with_units_in_the_api():
    from reclaimlab.sim.params import SimParams, parse_size
    p = SimParams().replace(node_pages="8GiB", anon_pages="1 GiB", min_free_kbytes="65536KiB")
    assert (p.node_pages, p.anon_pages, p.min_free_kbytes) == (2 * 2**20, 2**18, 65536)
    assert parse_size("node_pages", "4096B") == 1 and parse_size("node_pages", "1.5GiB") == 393216
    assert parse_size("node_pages", "1000") == 1000                  # a plain number: the field's unit


# --------------------------------------------------------------------------- issue 18: compare by kernel

@pytest.mark.parametrize("call, match", [
    (lambda: rl.compare("desktop-copy"), r"compare needs formulas=\[...\] or kernels=\[...\], not neither"),
    (lambda: rl.compare("desktop-copy", ["v5.0"], kernels=["5.0"]), r"not both"),
    (lambda: rl.compare("desktop-copy", kernels=[]), r"kernels=\[\] is empty"),
    (lambda: rl.compare("desktop-copy", kernels=["4.19"], formula="v5.0"), r"formula='v5.0' clashes with kernels="),
    (lambda: rl.compare("desktop-copy", kernels=["4.19"], kernel="5.0"), r"kernel='5.0' clashes with kernels="),
    (lambda: rl.compare("desktop-copy", kernels=["9.9"], reduced=True), r"kernel='9.9' is unknown"),
])
def test_compare_by_kernel_argument_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_compare_by_kernel_runs_each_kernel_as_simulate_does():
    ds = rl.compare("desktop-copy", kernels=["4.19.3", "5.10"], reduced=True, duration_s=2.0)
    one = rl.simulate("desktop-copy", kernel="5.10", reduced=True, duration_s=2.0)
    assert ds.formula.values.tolist() == ["4.19.3", "5.10"] and ds.kernel.values.tolist() == ["4.19.3", "5.10"]
    assert ds.kernel_formula.values.tolist() == ["v4.19", "v5.0"]
    assert ds.xfs_reclaim.values.tolist() == ["sync", "async"]
    assert ds.memcg_remedy.values.tolist() == ["none", "reparent"]
    np.testing.assert_array_equal(ds.sel(formula="5.10").free.values, one.free.values)
    assert "kernel" not in ds.attrs
