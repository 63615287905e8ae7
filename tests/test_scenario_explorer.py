"""ScenarioExplorer in-process: pickers rerun the simulation; the window drives the summary."""
import json

import pytest

pytest.importorskip("ipywidgets")
from reclaimlab.widgets import ScenarioExplorer  # noqa: E402


def spec(jc):
    return json.dumps(jc.chart.to_dict(), sort_keys=True, default=str)


@pytest.fixture(scope="module")
def ex():
    return ScenarioExplorer("dying-memcgs", "v5.0")


def test_pickers_rerun_and_redraw(ex):
    before = spec(ex.timeline)
    ex.memcg_remedy.value = "collector"
    assert ex.dataset.attrs["memcg_remedy"] == "collector" and ex.progress.value == 1
    assert spec(ex.timeline) != before
    ex.formula.value = "v4.19"
    assert ex.dataset.attrs["formula"] == "v4.19"


def test_kernel_preset_sets_formula_and_rules(ex):
    ex.memcg_remedy.value = "(formula's era)"
    ex.kernel.value = "4.19.3"
    assert ex.formula.value == "v4.19"
    assert (ex.dataset.attrs["formula"], ex.dataset.attrs["inode_rule"]) == ("v4.19", "a76cf1a474d7")
    ex.kernel.value = "none"


def test_knob_is_a_scenario_parameter(ex):
    ex.knobs["duration_s"].value = 30.0
    assert float(ex.dataset.time[-1]) == pytest.approx(30.0)


def test_window_summary_and_brush(ex):
    ex.select_window(4.0, 16.0)
    assert "4.0-16.0 s" in ex.summary.value
    window = spec(ex.scorecard)
    ex.select_window(None, None)
    assert "whole run" in ex.summary.value and spec(ex.scorecard) != window
    assert "window" in json.dumps(ex.timeline.chart.to_dict())      # the brush is on the timeline


def test_bad_knob_is_shown_not_raised(ex):
    ex.knobs["duration_s"].value = -1.0
    assert "duration_s=-1.0 is not allowed" in ex.status.value
    ex.knobs["duration_s"].value = 30.0
    assert ex.status.value == ""


def test_export_for_lkml(ex, tmp_path):
    ex.export.out_dir.value = str(tmp_path)
    paths = ex.export.export()
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
    assert max(map(len, ex.export.text.value.splitlines())) <= 72
