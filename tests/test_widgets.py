"""FormulaExplorer in-process: moving each control changes the charts' spec or data."""
import json

import pytest

pytest.importorskip("ipywidgets")
from reclaimlab import formulas  # noqa: E402
from reclaimlab.widgets import FormulaExplorer, explorer_dataset, floor_formula  # noqa: E402


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


def test_bad_setting_is_shown_not_raised(ex):
    ex.formulas.value = ("v4.19",)
    ex.seeks.value = 0                     # v4.19 has no zero-seek branch
    assert "seeks=0" in ex.status.value
    ex.seeks.value = 2
    assert ex.status.value == ""


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
