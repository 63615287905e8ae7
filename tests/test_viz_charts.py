"""Chart specs: right data, fields, encodings and titles; no data set over 5000 rows."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import reclaimlab as rl
import reclaimlab.plot as plot
from reclaimlab import figures as catalog
from reclaimlab.viz import tables
from reclaimlab.testing import example_simulation

alt = pytest.importorskip("altair")

FORMULAS = ["v4.18", "v4.19", "v5.0", "rik-2019", "dave-2019", "v5.13"]


def datasets(spec: dict) -> list[list[dict]]:
    """Every inline data set of a chart spec."""
    return list(spec.get("datasets", {}).values())


def only_data(spec: dict) -> list[dict]:
    ds = datasets(spec)
    assert len(ds) == 1, [len(d) for d in ds]
    return ds[0]


def title_text(spec: dict) -> str:
    t = spec["title"]
    return t["text"] if isinstance(t, dict) else t


def subtitle(spec: dict) -> list[str]:
    s = spec["title"].get("subtitle", [])
    return [s] if isinstance(s, str) else list(s)


def assert_row_budget(spec: dict) -> None:
    for d in datasets(spec):
        assert len(d) <= 5000


@pytest.fixture(scope="module")
def sweep_ds():
    return rl.sweep(FORMULAS, freeable=[1, 10, 100, 1000, 10**4, 10**5, 10**6], priority=12,
                    batch=[128, 1024], calls=100)


@pytest.fixture(scope="module")
def grid_ds():
    return rl.sweep(FORMULAS[:3], freeable=[10, 1000, 10**5, 10**7], priority=list(range(13)), calls=10)


@pytest.fixture(scope="module")
def sim_ds():
    return example_simulation(formulas=["v4.19", "v5.0"])


# --------------------------------------------------------------------------- pressure curve

def test_pressure_curve_spec(sweep_ds):
    spec = plot.pressure_curve(sweep_ds).to_dict()
    assert spec["mark"]["type"] == "line"
    enc = spec["encoding"]
    assert enc["x"]["field"] == "freeable" and enc["x"]["scale"]["type"] == "log"
    assert enc["x"]["title"] == "cache size (objects)"
    assert enc["y"]["field"] == "pressure_plot" and enc["y"]["scale"]["type"] == "log"
    assert "per call" in enc["y"]["title"]
    assert enc["color"]["field"] == "formula" and enc["color"]["sort"] == FORMULAS
    assert enc["column"]["field"] == "batch"
    assert "row" not in enc                       # one priority: no row facet
    assert title_text(spec) == "Shrinker pressure vs cache size"
    assert any("100 calls" in s for s in subtitle(spec))
    assert any("priority 12" in s for s in subtitle(spec))
    rows = only_data(spec)
    assert len(rows) == 6 * 7 * 2
    for r in rows:
        want = float(sweep_ds.pressure.sel(formula=r["formula"], freeable=r["freeable"], batch=r["batch"]))
        assert r["pressure"] == pytest.approx(want)
        if want > 0:
            assert r["pressure_plot"] == pytest.approx(want)
        else:                                     # zeros sit on the floor labelled "0"
            assert r["pressure_plot"] == enc["y"]["scale"]["domain"][0]
    assert "'0'" in enc["y"]["axis"]["labelExpr"]


def test_pressure_curve_priority_facets_and_selection():
    ds = rl.sweep(["v4.19", "v5.0"], freeable=[10, 10**4, 10**6], priority=[12, 6], batch=[128, 1024])
    spec = plot.pressure_curve(ds).to_dict()
    assert spec["encoding"]["row"]["field"] == "priority"
    spec = plot.pressure_curve(ds, priority=6, batch=1024).to_dict()
    assert "row" not in spec["encoding"] and "column" not in spec["encoding"]
    assert {r["formula"] for r in only_data(spec)} == {"v4.19", "v5.0"}
    assert any("priority 6" in s and "batch 1024" in s for s in subtitle(spec))
    with pytest.raises(ValueError, match=r"batch=512 .*allowed: 128, 1024"):
        plot.pressure_curve(ds, batch=512)


def test_pressure_curve_thins_big_sweeps_to_row_budget():
    ds = rl.sweep(FORMULAS, freeable=np.arange(1, 3001) * 1000, priority=12, batch=[128, 1024])
    spec = plot.pressure_curve(ds).to_dict()        # must not raise MaxRowsError
    assert_row_budget(spec)
    rows = only_data(spec)
    assert 1000 < len(rows) <= tables.MAX_ROWS
    assert {r["freeable"] for r in rows} >= {1000, 3_000_000}   # ends kept
    assert any("cache sizes shown" in s for s in subtitle(spec))


def test_pressure_curve_from_simulation(sim_ds):
    spec = plot.pressure_curve(sim_ds).to_dict()
    enc = spec["encoding"]
    assert enc["x"]["scale"]["type"] == "log" and "mean cache size" in enc["x"]["title"]
    assert "per second" in enc["y"]["title"]
    assert "cache" in [t["field"] for t in enc["tooltip"]]
    rows = only_data(spec)
    size, p = tables._sim_pressure(sim_ds)
    for r in rows:
        assert r["pressure"] == pytest.approx(float(p.sel(formula=r["formula"], instance=r["cache"])))


def test_pressure_curve_single_formula_string():
    ds = rl.sweep("v4.19", freeable=[10, 1000], priority=12)
    rows = only_data(plot.pressure_curve(ds).to_dict())
    assert {r["formula"] for r in rows} == {"v4.19"}


# --------------------------------------------------------------------------- heatmap

def test_priority_heatmap_spec(grid_ds):
    spec = plot.priority_heatmap(grid_ds).to_dict()
    assert spec["mark"]["type"] == "rect"
    enc = spec["encoding"]
    assert enc["x"]["field"] == "freeable_lo" and enc["x2"]["field"] == "freeable_hi"
    assert enc["x"]["scale"]["type"] == "log" and enc["x"]["title"] == "cache size (objects)"
    assert enc["y"]["field"] == "priority" and enc["y"]["type"] == "ordinal" and enc["y"]["sort"] == "descending"
    assert enc["color"]["condition"]["field"] == "pressure"
    assert enc["color"]["condition"]["scale"]["type"] == "log"
    assert enc["facet"]["field"] == "formula"
    assert title_text(spec).startswith("Scan pressure by reclaim priority")
    rows = only_data(spec)
    assert len(rows) == 3 * 13 * 4
    for r in rows[::7]:
        want = float(grid_ds.pressure.sel(formula=r["formula"], priority=r["priority"], freeable=r["freeable"]))
        assert r["pressure"] == pytest.approx(want)
        assert r["freeable_lo"] < r["freeable"] < r["freeable_hi"]


def test_priority_heatmap_rejects_simulation(sim_ds):
    with pytest.raises(ValueError, match=r"ds is a simulation Dataset; priority_heatmap needs a sweep Dataset \(rl.sweep: "
                       r"dims freeable\): missing dims freeable and variables pressure"):
        plot.priority_heatmap(sim_ds)
    with pytest.raises(TypeError, match="ds is a str; priority_heatmap needs a sweep Dataset"):
        plot.priority_heatmap("v4.19")


# --------------------------------------------------------------------------- ratio

def test_small_large_ratio_spec(grid_ds):
    spec = plot.small_large_ratio(grid_ds).to_dict()
    marks = [lay["mark"]["type"] if isinstance(lay["mark"], dict) else lay["mark"] for lay in spec["layer"]]
    assert marks == ["line", "rule"]
    line = spec["layer"][0]
    assert line["encoding"]["y"]["scale"]["type"] == "log"
    assert line["encoding"]["x"]["field"] == "priority"
    assert "10,000,000-object" in subtitle(spec)[0] and "10-object" in subtitle(spec)[0]
    assert_row_budget(spec)
    rows = [r for r in max(datasets(spec), key=len)]
    assert len(rows) == 3 * 13
    for r in rows:
        ps = float(grid_ds.pressure.sel(formula=r["formula"], priority=r["priority"], freeable=10))
        pl = float(grid_ds.pressure.sel(formula=r["formula"], priority=r["priority"], freeable=10**7))
        assert r["ratio"] == pytest.approx(ps / pl)
    with pytest.raises(ValueError, match="small=7 is not a cache size"):
        plot.small_large_ratio(grid_ds, small=7)


# --------------------------------------------------------------------------- timeline

def test_timeline_spec(sim_ds):
    spec = plot.timeline(sim_ds).to_dict()
    panels = spec["vconcat"]
    assert len(panels) == 4
    ytitles = [p["encoding"]["y"]["title"] for p in panels]
    assert ytitles[0] == "page cache (pages)"
    assert ytitles[1] == "slab objects per cache (objects)"
    assert ytitles[2].startswith("lowest reclaim priority")
    assert ytitles[3] == "reclaim stall (s per s)"
    assert panels[1]["encoding"]["y"]["scale"]["type"] == "log"
    assert panels[1]["encoding"]["color"]["field"] == "cache"
    assert panels[2]["encoding"]["y"]["scale"]["domain"] == [12, 0]
    for p in panels:
        assert p["encoding"]["x"]["field"] == "time" and p["encoding"]["x"]["title"] == "time (s)"
        assert p["encoding"]["column"]["field"] == "formula"
    assert title_text(spec) == "Reclaim over time: compile-and-copy"
    assert_row_budget(spec)


def test_timeline_bins_long_runs_and_keeps_means():
    ds = example_simulation(steps=6000, formulas=["a", "b", "c"], nodes=2, memcgs=2)
    fd = tables.timeline(ds)
    for name, df in fd.meta["panels"].items():
        assert len(df) <= tables.MAX_ROWS, name
    spec = plot.timeline(ds).to_dict()
    assert_row_budget(spec)
    # equal-size bins: the mean of bin means is the mean of the series
    pc = fd.meta["panels"]["page_cache"]
    got = pc[(pc.formula == "b") & (pc.node == "1")]["value"].mean()
    assert got == pytest.approx(float(ds.page_cache.sel(formula="b", node=1).mean()), rel=1e-3)
    # stall is a rate: seconds stalled / seconds elapsed, preserved by binning
    st = fd.meta["panels"]["stall"]
    rate = st[(st.formula == "a") & (st.node == "0")]["value"].mean()
    assert rate == pytest.approx(float(ds.stall.sel(formula="a", node=0).sum()) / (6000 * 0.5), rel=1e-3)


def test_timeline_one_formula_without_memcg():
    ds = example_simulation(nodes=1, memcgs=0)
    spec = plot.timeline(ds).to_dict()
    for p in spec["vconcat"]:
        assert "column" not in p["encoding"]
    spec = plot.timeline(example_simulation(formulas=["x", "y"]), formula="y", caches=["dentry"]).to_dict()
    slab = [r for d in datasets(spec) for r in d if "cache" in r]
    assert {r["cache"] for r in slab} == {"dentry"} and {r["formula"] for r in slab} == {"y"}
    with pytest.raises(ValueError, match="formula='z' is not in the Dataset"):
        plot.timeline(example_simulation(formulas=["x", "y"]), formula="z")


# --------------------------------------------------------------------------- dying memcgs

def test_dying_memcgs_by_formula_and_remedy():
    parts = [example_simulation(formulas=["v4.19", "v5.0"], seed=i)[["dying_memcgs"]] * (i + 1) for i in range(2)]
    ds = xr.concat(parts, dim=xr.DataArray(["none", "reparent"], dims="remedy", name="remedy"))
    ds["dying_memcgs"].attrs = {"units": "1", "long_name": "dying memcgs"}
    spec = plot.dying_memcgs(ds).to_dict()
    enc = spec["encoding"]
    assert spec["mark"]["type"] == "line"
    assert enc["color"]["field"] == "formula" and enc["column"]["field"] == "remedy"
    assert enc["y"]["title"] == "dying memcgs (count)" and enc["x"]["title"] == "time (s)"
    rows = only_data(spec)
    assert len(rows) == 120 * 2 * 2
    last = [r for r in rows if r["time"] == max(x["time"] for x in rows)]
    for r in last:
        assert r["dying_memcgs"] == float(ds.dying_memcgs.sel(formula=r["formula"], remedy=r["remedy"]).isel(time=-1))


def test_dying_memcgs_needs_the_variable():
    with pytest.raises(ValueError, match="ds is a sweep Dataset; dying_memcgs needs a simulation Dataset .*missing dims time, "
                       "node, cache and variables slab, dying_memcgs"):
        plot.dying_memcgs(rl.sweep("v4.19", [10, 100], 12))


# --------------------------------------------------------------------------- scorecard

def test_scorecard_spec(sim_ds):
    other = example_simulation(formulas=["v4.19", "v5.0"], scenario="dying-memcgs", memcgs=0)
    sc = tables.scores({"compile-and-copy": sim_ds, "dying-memcgs": other})
    spec = plot.scorecard(sc).to_dict()
    assert spec["facet"]["row"]["field"] == "scenario"
    layers = spec["spec"]["layer"]
    assert [lay["mark"]["type"] for lay in layers] == ["rect", "rect", "text"]
    assert layers[1]["encoding"]["color"]["field"] == "relative"
    assert layers[1]["encoding"]["color"]["scale"]["type"] == "log"
    assert layers[2]["encoding"]["text"]["field"] == "text"
    assert all(lay["encoding"]["x"]["field"] == "formula" for lay in layers)
    assert title_text(spec).startswith("Scorecard")
    rows = only_data(spec)
    assert len(rows) == 2 * 6 * 2
    for r in rows:
        v = float(sc[r["variable"]].sel(scenario=r["scenario"], formula=r["formula"]))
        assert (r["value"] is None and np.isnan(v)) or r["value"] == pytest.approx(v)
    metrics = {r["metric"] for r in rows}
    assert "reclaim stall (s)" in metrics and "workload time (s)" in metrics
    # the metrics themselves, by hand
    assert float(sc.stall.sel(scenario="compile-and-copy", formula="v5.0")) == pytest.approx(
        float(sim_ds.stall.sel(formula="v5.0").sum()))
    assert float(sc.dying_memcgs.sel(scenario="compile-and-copy", formula="v4.19")) == float(
        sim_ds.dying_memcgs.sel(formula="v4.19").isel(time=-1))
    assert float(sc.workload_time.sel(scenario="compile-and-copy", formula="v5.0")) == 120.0


def test_scores_small_and_large_caches(sim_ds):
    sc = tables.scores(sim_ds).isel(scenario=0)
    # in the fixture only the second formula scans the small caches
    assert float(sc.small_pressure.sel(formula="v4.19")) == 0.0
    assert float(sc.small_pressure.sel(formula="v5.0")) > 0.0
    assert float(sc.large_pressure.sel(formula="v4.19")) > 0.0
    assert sc.small_pressure.attrs["units"] == "1/s"


# --------------------------------------------------------------------------- trace replay

def test_trace_replay_spec(replay_ds):
    spec = plot.trace_replay(replay_ds).to_dict()
    scatter, bars = spec["vconcat"]
    assert scatter["facet"]["column"]["field"] == "quantity"
    layer_marks = [lay["mark"]["type"] for lay in scatter["spec"]["layer"]]
    assert layer_marks == ["line", "circle"]
    pts = scatter["spec"]["layer"][1]["encoding"]
    assert pts["x"]["scale"]["type"] == "log" and pts["y"]["scale"]["type"] == "log"
    assert pts["x"]["title"] == "observed in the trace (objects)"
    assert bars["mark"]["type"] == "bar" and bars["encoding"]["x"]["field"] == "fraction"
    assert_row_budget(spec)
    data = max(datasets(spec), key=len)
    n = replay_ds.sizes["call"]
    for q in ("delta", "total_scan"):
        assert sum(r["calls"] for r in data if r.get("quantity") == q and r.get("kind") == "call") == n
    per = min(datasets(spec), key=len)
    assert sum(r["calls"] for r in per) == n
    assert sum(r["matched"] for r in per) == int(replay_ds.match.sum())
    assert f"replayed under {replay_ds.attrs['formula']}" in subtitle(spec)[0]


def test_trace_replay_many_calls_stays_in_budget():
    rng = np.random.default_rng(2)
    obs = rng.integers(0, 10**9, 20_000)
    ds = xr.Dataset({"delta": ("call", obs), "delta_model": ("call", obs + 1), "match": ("call", obs < 0)})
    spec = plot.trace_replay(ds).to_dict()
    assert_row_budget(spec)


# --------------------------------------------------------------------------- public face and catalogue

def test_plot_module_face():
    assert set(plot.__all__) == {"pressure_curve", "priority_heatmap", "small_large_ratio", "timeline",
                                 "dying_memcgs", "scorecard", "trace_replay"}
    with pytest.raises(AttributeError, match="figures:"):
        plot.no_such_figure  # noqa: B018


@pytest.mark.parametrize("name", catalog.names())
def test_catalogue_entries_build_and_chart(name):
    spec = catalog.chart(name).to_dict()
    assert_row_budget(spec)
    assert "title" in spec


def test_catalogue_names_are_slugs():
    import re
    for n in catalog.names():
        assert re.fullmatch(r"[a-z0-9-]+", n)
    assert {"pressure-172b06c32b94", "priority-heatmap", "compile-and-copy-timeline", "dying-memcgs",
            "scorecard"} <= set(catalog.names())
    ds = catalog.data("pressure-172b06c32b94")
    assert list(ds.formula.values) == ["v4.18", "v4.19", "v5.0", "rik-2019", "dave-2019", "v5.13"]


def test_a_formula_has_one_colour_in_every_chart(sweep_ds):
    from reclaimlab.viz.theme import color_of
    sim = example_simulation(formulas=["v5.0", "v4.19"])           # another order than the sweep's
    specs = [plot.pressure_curve(sweep_ds).to_dict(), plot.pressure_curve(sim).to_dict(),
             plot.small_large_ratio(rl.sweep(["v4.19", "v5.0"], [10, 10**6], [12, 6])).to_dict(),
             plot.dying_memcgs(sim).to_dict()]
    for spec in specs:
        scales = [enc["color"]["scale"] for enc in _encodings(spec)
                  if "color" in enc and enc["color"].get("field") == "formula"]
        assert scales, spec.get("title")
        for scale in scales:
            assert scale["range"] == [color_of(f) for f in scale["domain"]]
            assert dict(zip(scale["domain"], scale["range"]))["v4.19"] == "#e45756"
    assert color_of("v6.1") == color_of("v5.13") and color_of("4.19.3") != color_of("4.19")


def _encodings(spec):
    if isinstance(spec, dict):
        if "encoding" in spec:
            yield spec["encoding"]
        for v in spec.values():
            yield from _encodings(v)
    elif isinstance(spec, list):
        for v in spec:
            yield from _encodings(v)
