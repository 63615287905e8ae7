"""rl.sweep: dims, carried state, attrs, dask-backed inputs, bounded and interruptible work."""
import importlib

import numpy as np
import pytest
import xarray as xr

import reclaimlab as rl


def test_dims_follow_swept_inputs():
    ds = rl.sweep(["v4.19", "v5.0"], freeable=[10, 10_000], priority=[12, 6],
                  batch=[128, 1024], seeks=[1, 2])
    assert dict(ds.sizes) == {"formula": 2, "freeable": 2, "priority": 2, "batch": 2, "seeks": 2}
    assert list(ds.formula.values) == ["v4.19", "v5.0"]


def test_scalars_stay_scalar_coords():
    ds = rl.sweep("v5.13", freeable=[1, 2, 3], priority=12, batch=1024)
    assert dict(ds.sizes) == {"freeable": 3}
    assert ds.formula.item() == "v5.13" and ds.priority.item() == 12 and ds.batch.item() == 1024


def test_values_match_scan_pointwise():
    F = np.array([1, 100, 5000, 123_456, 10**7])
    ds = rl.sweep(["v5.0", "v5.13", "rik-2019", "dave-2019"], freeable=F,
                  priority=list(range(13)), batch=[0, 1024], seeks=[0, 2, 4]
                  ).sel(formula="v5.13")
    for f in F:
        for p in (0, 7, 12):
            for b in (0, 1024):
                for s in (0, 2, 4):
                    r = rl.formulas.scan("v5.13", f, p, batch=b, seeks=s)
                    cell = ds.sel(freeable=f, priority=p, batch=b, seeks=s)
                    assert cell.delta.item() == r.delta
                    assert cell.total_scan.item() == r.total_scan
                    assert cell.scanned.item() == r.scanned


def test_zero_seek_error_in_sweep_names_formula():
    with pytest.raises(ValueError, match="seeks=0.*v4.19"):
        rl.sweep(["v4.19"], freeable=[10], priority=12, seeks=[0, 2])


@pytest.mark.parametrize("name", ["v4.16", "v4.19", "v5.0", "v5.13", "rik-2019", "dave-2019"])
def test_calls_carry_deferred_state(name):
    """N calls in the sweep equal N scan() calls chaining next_deferred and small_scan."""
    F, p, B, calls = np.array([3, 700, 4000, 50_000, 3_000_000]), 9, 1024, 37
    nr = np.zeros_like(F)
    small = np.zeros_like(F)
    total = np.zeros_like(F)
    for _ in range(calls):
        r = rl.formulas.scan(name, F, p, batch=B, nr_deferred=nr, small_scan=small)
        nr, small, total = r.next_deferred, r.small_scan, total + r.scanned
    ds = rl.sweep(name, freeable=F, priority=p, batch=B, calls=calls)
    np.testing.assert_array_equal(ds.scanned_total.values, total)
    np.testing.assert_array_equal(ds.next_deferred.values, nr)
    np.testing.assert_array_equal(ds.small_scan.values, small)
    np.testing.assert_array_equal(ds.scanned.values, r.scanned)
    np.testing.assert_allclose(ds.pressure.values, total / (calls * F))


def test_pressure_nan_for_empty_cache_and_units():
    ds = rl.sweep("v4.19", freeable=[0, 5], priority=12, calls=3)
    assert np.isnan(ds.pressure.sel(freeable=0).item())
    assert ds.pressure.sel(freeable=5).item() == 1.0
    for v in ("delta", "total_scan", "scanned", "scanned_total", "pressure"):
        assert ds[v].attrs["units"] and ds[v].attrs["long_name"]
    assert ds.freeable.attrs["units"] == "objects"


def test_dask_backed_inputs_give_the_same_dataset():
    dask = pytest.importorskip("dask.array")
    F = np.unique(np.logspace(0, 7, 40).astype(np.int64))
    eager = rl.sweep(["v4.19", "v5.13"], freeable=F, priority=list(range(13)), batch=1024, calls=5)
    lazy_F = xr.DataArray(dask.from_array(F, chunks=7), dims="freeable", coords={"freeable": F})
    lazy = rl.sweep(["v4.19", "v5.13"], freeable=lazy_F, priority=list(range(13)), batch=1024, calls=5)
    assert lazy.scanned_total.chunks is not None
    xr.testing.assert_identical(eager.compute(), lazy.compute())


def test_bad_calls_and_formula_list():
    with pytest.raises(ValueError, match="calls=0"):
        rl.sweep("v5.0", freeable=[1], priority=12, calls=0)
    with pytest.raises(ValueError, match="formulas=\\[\\]"):
        rl.sweep([], freeable=[1], priority=12)
    with pytest.raises(ValueError, match="unknown.*v4.19"):
        rl.sweep(["v9.9"], freeable=[1], priority=12)
    with pytest.raises(ValueError, match="freeable has shape"):
        rl.sweep("v5.0", freeable=[[1, 2]], priority=12)


@pytest.mark.parametrize("name", ["v4.16", "v4.19", "v5.0", "v5.13", "rik-2019"])
def test_shrink_stop_scans_nothing_and_defers_the_target(name):
    """GFP_NOFS calls into a filesystem shrinker: SHRINK_STOP, all work deferred."""
    F, nr = np.array([1, 500, 5000, 10**6]), np.array([0, 7, 123_456, 10**7])
    for p in (12, 6, 0):
        go = rl.formulas.scan(name, F, p, batch=1024, nr_deferred=nr)
        stop = rl.formulas.scan(name, F, p, batch=1024, nr_deferred=nr, shrink_stop=True)
        np.testing.assert_array_equal(stop.scanned, 0)
        np.testing.assert_array_equal(stop.delta, go.delta)
        np.testing.assert_array_equal(stop.total_scan, go.total_scan)
        if name == "v5.13":
            want = np.minimum(nr + go.delta.astype(np.int64), 2 * F)
        else:  # pre-5.13: the total before the caps goes back, minus nothing scanned
            want = nr + go.delta.astype(np.int64)
        np.testing.assert_array_equal(stop.next_deferred, want)
    with pytest.raises(TypeError, match="shrink_stop=2"):
        rl.formulas.scan(name, 10, 12, shrink_stop=2)


# --------------------------------------------------------------------------- bounded, interruptible work

def test_too_many_call_points_are_refused_before_any_work(monkeypatch):
    sweep_mod = importlib.import_module("reclaimlab.sweep")   # the module; rl.sweep is the function

    def never(*a, **k):
        raise AssertionError("evaluated")
    monkeypatch.setattr(sweep_mod, "evaluate", never)
    with pytest.raises(ValueError, match=r"calls=10000000000000 over 1 points is 10000000000000 call-points; "
                                         r"allowed: calls x points <= 10000000000 \(MAX_CALL_POINTS\)"):
        rl.sweep("v4.19", 1000, 12, calls=10**13)
    with pytest.raises(ValueError, match=r"over 6 points"):       # 2 formulas x 3 sizes
        rl.sweep(["v4.19", "v5.0"], [1, 2, 3], 12, calls=sweep_mod.MAX_CALL_POINTS // 6 + 1)


@pytest.mark.parametrize("name", ["v4.15", "v4.19", "v5.0", "v5.13", "rik-2019", "dave-2019"])
def test_chunked_calls_give_the_same_dataset(monkeypatch, name):
    sweep_mod = importlib.import_module("reclaimlab.sweep")   # the module; rl.sweep is the function
    whole = rl.sweep(name, [10, 1000, 10**6], [0, 12], calls=997, batch=[128, 1024])
    monkeypatch.setattr(sweep_mod, "CHUNK_CALL_POINTS", 12 * 50)   # 12 points: 50 calls a chunk
    chunked = rl.sweep(name, [10, 1000, 10**6], [0, 12], calls=997, batch=[128, 1024])
    xr.testing.assert_identical(chunked, whole)


def test_a_long_sweep_stops_on_ctrl_c_between_chunks(monkeypatch):
    sweep_mod = importlib.import_module("reclaimlab.sweep")   # the module; rl.sweep is the function
    seen = []
    real = sweep_mod.evaluate

    def evaluate(spec, values, calls):
        seen.append(calls)
        if len(seen) == 3:
            raise KeyboardInterrupt        # what Python raises at the next bytecode after SIGINT
        return real(spec, values, calls=calls)
    monkeypatch.setattr(sweep_mod, "evaluate", evaluate)
    with pytest.raises(KeyboardInterrupt):
        rl.sweep("v4.19", [10, 1000], 12, calls=10**9)
    step = sweep_mod.CHUNK_CALL_POINTS // 2
    assert seen == [step, step, step]      # the C loop never runs more than a chunk at a time
