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


def test_brush_reaches_python(ex):
    """JupyterChart registers the brush, and a brush sent the way its JS sends it sets the window.

    The JS only listens to selections that Python registered in ``_vl_selections``; Altair
    registers only params on the top-level chart object (not on a vconcat panel).
    """
    assert ex.timeline._selection_types == {"window": "interval"}
    assert "window" in ex.timeline._vl_selections and "window" in ex.timeline.selections.trait_names()
    ex.timeline._vl_selections = {"window": {"value": {"time": [6.0, 20.0]}, "store": []}}
    assert ex.window == (6.0, 20.0) and "6.0-20.0 s" in ex.summary.value
    ex.timeline._vl_selections = {"window": {"value": {}, "store": []}}    # brush cleared
    assert ex.window is None and "whole run" in ex.summary.value
    ex.formula.value = "v5.0"            # a rerun replaces the chart: the brush still reaches Python
    ex.timeline._vl_selections = {"window": {"value": {"time": [2.0, 8.0]}, "store": []}}
    assert "2.0-8.0 s" in ex.summary.value
    ex.select_window(None, None)


def test_shrinker_batch_slider_reruns_with_the_caches_batch():
    ex = ScenarioExplorer("dying-memcgs", "v4.19")
    assert "batch" in ex.batch.description and ex.batch in ex.controls
    assert ex.batch.value == 128 and min(ex.batch.options) == 1 and max(ex.batch.options) == 1024
    own = ex.dataset.batch.sel(cache="service-objects").item()
    vfs = ex.dataset.batch.sel(cache=["dentry", "inode"]).values.tolist()
    before_chart, before_freed = spec(ex.timeline), ex.dataset.freed.sel(cache="service-objects").sum().item()
    ex.batch.value = 1024
    assert (own, ex.dataset.batch.sel(cache="service-objects").item()) == (128, 1024)
    assert ex.dataset.batch.sel(cache=["dentry", "inode"]).values.tolist() == vfs     # VFS caches keep theirs
    assert "caches" in ex.dataset.attrs["scenario"]
    # Under v4.19 the floor is min(freeable, batch): a bigger batch frees the leftovers sooner.
    assert ex.dataset.freed.sel(cache="service-objects").sum().item() > before_freed
    assert spec(ex.timeline) != before_chart
    ex.batch.value = 1
    assert ex.dataset.batch.sel(cache="service-objects").item() == 1


def test_no_batch_slider_without_generic_caches():
    ex = ScenarioExplorer("recursive-grep", "v5.0")
    assert ex.batch is None and not any("batch" in c.description for c in ex.controls)


def test_a_whole_number_knob_takes_whole_numbers():
    desk = ScenarioExplorer("desktop-copy", "v4.19")
    order = desk.knobs["interactive_order"]
    assert type(order).__name__ == "IntText" and order.value == 0
    order.value = 4
    assert desk.dataset.attrs["params"].count('"interactive_order": 4') == 1
    order.value = 11
    assert "interactive_order=11 is not allowed" in desk.status.value
