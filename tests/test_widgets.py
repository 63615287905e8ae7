"""FormulaExplorer in-process: moving each control changes the charts' spec or data."""
import json

import pytest

pytest.importorskip("ipywidgets")
from reclaimlab import formulas  # noqa: E402
from reclaimlab.widgets import FormulaExplorer, explorer_dataset, floor_formula  # noqa: E402
from reclaimlab.widgets.formula_explorer import CALLS, split_zero_seek  # noqa: E402


def spec(jc):
    return json.dumps(jc.chart.to_dict(), sort_keys=True, default=str)


@pytest.fixture(scope="module")
def ex():
    return FormulaExplorer(formulas=("v4.19", "v5.0"), calls=20)


@pytest.mark.parametrize("control,value", [
    ("batch", 128), ("seeks", 4), ("priority", 6), ("calls", 50), ("sizes", (2, 6)),
    ("formulas", ("v4.19", "v5.0", "v5.13")), ("floor", "kernel"),
])
def test_each_control_redraws(ex, control, value):
    before_curve, before_heat = spec(ex.curve), spec(ex.heatmap)
    getattr(ex, control).value = value
    assert ex.status.value == ""
    assert spec(ex.curve) != before_curve or spec(ex.heatmap) != before_heat


def test_controls_reach_the_dataset(ex):
    ex.batch.value = 256
    ex.seeks.value = 1
    assert ex.dataset.batch.item() == 256 and ex.dataset.seeks.item() == 1
    ex.floor.value = "custom"
    ex.floor_value.value = 48
    assert "v5.0+floor48" in list(ex.dataset.formula.values)
    assert "v5.0+floor48" in formulas.names()
    ex.floor.value = "off"
    assert "v5.0+floor48" not in list(ex.dataset.formula.values)


def test_describe_text_follows_the_first_formula(ex):
    ex.formulas.value = ("v5.13",)
    assert "v5.13" in ex.about.value and "5.13 to 6.12" in ex.about.value


def test_seeks_zero_draws_the_formulas_that_have_a_zero_seek_branch(ex):
    ex.formulas.value = ("v4.16", "v4.19", "v5.0", "rik-2019")
    ex.seeks.value = 0                     # 4b85afbdacd2 (4.20): delta = F / 2; nothing before it
    assert list(ex.dataset.formula.values) == ["v5.0", "rik-2019"] and ex.dataset.seeks.item() == 0
    assert "v4.16, v4.19 not drawn" in ex.status.value and "cannot draw" not in ex.status.value
    # v5.0 at seeks 0: delta = F / 2 at any priority, so a 1000-object cache is scanned at p = 12.
    big = ex.dataset.freeable[ex.dataset.freeable >= 1000][0]
    assert ex.dataset.scanned_total.sel(formula="v5.0", priority=12, freeable=big) > 0
    ex.priority.value = 3                  # a priority move keeps the note
    assert "not drawn" in ex.status.value
    ex.seeks.value = 2
    assert ex.status.value == "" and "v4.19" in list(ex.dataset.formula.values)
    ex.priority.value = 12


def test_seeks_zero_with_nothing_to_draw_is_shown_not_raised(ex):
    ex.formulas.value = ("v4.19",)
    ex.seeks.value = 0                     # v4.19 has no zero-seek branch
    assert "cannot draw" in ex.status.value and "seeks=0" in ex.status.value
    ex.floor.value = "kernel"              # v5.0 + the floor has one: drawn alone
    assert list(ex.dataset.formula.values) == ["v5.0+floor"] and "v4.19 not drawn" in ex.status.value
    ex.floor.value = "off"
    ex.seeks.value = 2
    assert ex.status.value == ""


def test_zero_seek_split():
    assert split_zero_seek(["v4.15", "v4.20", "v5.13", "dave-2019"], 0) == (["v4.20", "v5.13", "dave-2019"],
                                                                             ["v4.15"])
    assert split_zero_seek(["v4.15"], 1) == (["v4.15"], [])


def test_default_is_the_long_run_rate():
    """By default enough calls that Rik van Riel's accumulator scans small caches (docs/kernel.md §1.6)."""
    ds = explorer_dataset(["v5.0", "rik-2019"], batch=128, seeks=2, priority=12)
    assert ds.attrs["calls"] == CALLS
    small = ds.sel(freeable=(ds.freeable > 300) & (ds.freeable < 3000), priority=12)
    assert (small.pressure.sel(formula="v5.0") == 0).all()
    assert (small.pressure.sel(formula="rik-2019") > 0).all()


def test_floor_formula_matches_the_kernel_floor():
    name = floor_formula("kernel", 0)
    ds = explorer_dataset(["v4.20", name], batch=128, seeks=2, priority=12, calls=30)
    assert (ds.scanned_total.sel(formula="v4.20") == ds.scanned_total.sel(formula=name)).all()
    with pytest.raises(ValueError, match="floor='sometimes' is unknown"):
        floor_formula("sometimes", 1)


def test_export_for_lkml_writes_svg_png_and_shows_text(ex, tmp_path):
    ex.export.out_dir.value = str(tmp_path / "lkml")
    ex.export.button.click()
    files = sorted(p.name for p in (tmp_path / "lkml").iterdir())
    assert [f.rsplit(".", 1)[1] for f in files] == ["png", "svg"]
    assert "<svg" in (tmp_path / "lkml" / files[1]).read_text()[:500]
    lines = ex.export.text.value.splitlines()
    assert lines and max(map(len, lines)) <= 72 and ex.export.text.value.isascii()


# --------------------------------------------------------------------------- redraw speed-ups

def test_kept_sweeps_are_the_sweep_itself():
    """Per-formula sweeps kept and mixed give explorer_dataset's Dataset, attributes included."""
    import xarray as xr
    from reclaimlab.widgets.series import KERNEL_FLOOR_BUILTIN, SweepCache

    cache = SweepCache()
    kernel = floor_formula("kernel", 0)
    for names, seeks in [(["v4.19", "v5.0"], 2), (["rik-2019", "v5.0", "v4.19"], 2), (["v5.0"], 2),
                         (["v5.13", "v5.0"], 0), (["dave-2019", "v4.19", "v5.13"], 1)]:
        for floor in ("off", "kernel"):
            ref = explorer_dataset(names, batch=64, seeks=seeks, priority=12, floor=floor,
                                   sizes=(0, 6), calls=40, points=9)
            got = cache.dataset(names + ([kernel] if floor == "kernel" else []), batch=64, seeks=seeks,
                                sizes=(0, 6), calls=40, points=9, same_as={kernel: KERNEL_FLOOR_BUILTIN})
            xr.testing.assert_identical(got, ref)
            assert got.attrs == ref.attrs
    # Each formula once per setting: seeks 2: v4.19, v5.0, floor, rik-2019; seeks 0: v5.13, v5.0,
    # floor; seeks 1: dave-2019, v4.19, v5.13, floor.
    assert cache.computed == 11


def test_the_kernel_floor_on_v5_0_is_v4_20_everywhere():
    """172b06c32b94's floor on v5.0 = 4.20 (5.0 only reverted the floor): every output, seeks 0 included."""
    import xarray as xr

    name = floor_formula("kernel", 0)
    for seeks in (0, 1, 2, 8):
        ds = explorer_dataset(["v4.20"], batch=16, seeks=seeks, priority=12, floor="kernel",
                              sizes=(0, 5), calls=300, points=11)
        a = ds.sel(formula="v4.20", drop=True)
        b = ds.sel(formula=name, drop=True)
        xr.testing.assert_identical(a, b)


def test_a_setting_seen_before_is_redrawn_from_memory():
    ex = FormulaExplorer(formulas=("v4.19", "v5.0"), calls=20)
    first = spec(ex.curve), spec(ex.heatmap), ex.dataset
    computed = ex._sweeps.computed
    ex.batch.value = 128
    ex.batch.value = 1024
    assert ex._sweeps.computed == computed + 2
    assert (spec(ex.curve), spec(ex.heatmap)) == first[:2]
    assert ex.curve.spec == ex.curve.chart.to_dict() and ex.heatmap.spec == ex.heatmap.chart.to_dict()
    ex.floor.value = "kernel"           # one formula more: only it is computed
    assert ex._sweeps.computed == computed + 3


def test_chart_view_validates_each_kind_of_chart_once():
    import altair as alt
    import pandas as pd
    from reclaimlab.widgets.chartview import ChartView

    df = pd.DataFrame({"a": [1, 2], "b": [3, 4]})
    view = ChartView(alt.Chart(df).mark_line().encode(x="a:Q", y="b:Q"))
    assert view._checked == {("Chart", "line", ("x", "y"), ())}
    other = alt.Chart(df.assign(b=[5, 6])).mark_line().encode(x="a:Q", y="b:Q")
    view.chart = other                  # same kind: sent unvalidated, the same spec
    assert view.spec == other.to_dict()
    with pytest.raises(Exception, match="interpolate|valid"):
        view.chart = alt.Chart(df).mark_line(interpolate="sometimes").encode(x="a:Q", y="b:Q", color="a:Q")
