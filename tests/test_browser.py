"""Real browser: notebooks in JupyterLab and Voila, driven in Debian's chromium.

Starts its own server on 127.0.0.1 (a free port, no token: a throwaway server on
loopback only), runs the notebooks, and checks: in 01's FormulaExplorer, moving the
batch-size slider redraws the chart, and seeks 0 draws the formulas that have a
zero-seek branch and names those left out; in 04's ScenarioExplorer, switching the
formula from v5.0 to v4.19 changes the dying-memcg count shown, and a brush dragged
on the timeline makes the kernel recompute the summary for that window. Also that
the console has no errors and that no request left 127.0.0.1. Screenshots go to the
test's tmp dir.
Skips with a reason when chromium or playwright is missing (``.ci/run`` installs
chromium, so CI runs it).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed "
                       "(apt-get install chromium; .ci/run does it)"),
]
from conftest import NOTEBOOKS
from reclaimlab.scenarios import get as scenario  # noqa: E402

#: Length of the dying-memcgs fast preset the ScenarioExplorer runs (the brush must fall inside it).
REDUCED_S = scenario("dying-memcgs").reduced.duration_s
BIN = Path(sys.executable).parent
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# A fingerprint of every rendered chart: it changes when any chart redraws.
CHARTS = ("() => Array.from(document.querySelectorAll('.vega-embed svg.marks'))"
          ".map(e => e.innerHTML.length + ':' + e.innerHTML.slice(-300)).join('|')")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc, timeout: float = 90) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.25)
    raise TimeoutError(f"no server on port {port}")


@pytest.fixture
def workdir(tmp_path):
    """Copies of the notebooks and a private Jupyter home, so the repo stays untouched."""
    nb = tmp_path / "notebooks"
    nb.mkdir()
    for name in ("01-scan-count-formula.ipynb", "04-dying-memcgs.ipynb"):
        shutil.copy(NOTEBOOKS / name, nb / name)
    home = tmp_path / "home"
    settings = home / "settings/@jupyterlab/apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(home / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(home / "ws"),
               JUPYTER_DATA_DIR=str(home / "data"))
    return nb, home, env


def serve(cmd, cwd, env, port, log):
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_port(port, proc)
    except Exception:
        proc.terminate()
        raise
    return proc


class Browser:
    """A headless chromium page that records console errors and off-host requests."""

    def __init__(self, p, profile: Path):
        self.ctx = p.chromium.launch_persistent_context(str(profile), executable_path=CHROMIUM, headless=True,
                                                        args=ARGS, viewport={"width": 1400, "height": 1600})
        self.page = self.ctx.pages[0] if self.ctx.pages else self.ctx.new_page()
        self.offhost, self.errors = [], []
        self.page.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1", "data:", "blob:"))
                     else self.offhost.append(r.url))
        self.page.on("console", lambda m: self.errors.append(m.text[:300]) if m.type == "error" else None)

    def close(self):
        self.ctx.close()


def wait_charts(page, count: int, timeout_ms: int = 240_000) -> None:
    page.wait_for_function(f"document.querySelectorAll('.vega-embed svg.marks').length >= {count}",
                           timeout=timeout_ms)
    page.wait_for_timeout(500)


def move_batch_slider_and_check(page) -> None:
    """Move the first slider labelled "batch" three steps down (keyboard); a chart redraws."""
    slider = page.locator(".widget-slider", has_text="batch").first
    slider.wait_for(timeout=120_000)
    before, readout = page.evaluate(CHARTS), slider.locator(".widget-readout").inner_text()
    handle = slider.locator(".noUi-handle")
    handle.scroll_into_view_if_needed()
    handle.focus()
    for _ in range(3):
        page.keyboard.press("ArrowLeft")
    page.wait_for_function(f"({CHARTS})() !== {json.dumps(before)}", timeout=120_000)
    assert slider.locator(".widget-readout").inner_text() != readout


# The status bar's kernel item, e.g. "Python 3 (ipykernel) | Idle". The toolbar's execution
# indicator is no use to wait for the kernel: it says idle while the status bar still says
# "No Kernel | Initializing", and a Run All clicked then runs nothing.
KERNEL_IDLE = ("() => Array.from(document.querySelectorAll('.jp-StatusBar-TextItem'))"
               ".some(e => /^(?!No Kernel).+ \\| Idle$/.test(e.textContent.trim()))")


def wait_settled(page, quiet_s: float = 3.0, timeout_s: float = 180.0) -> None:
    """Wait until the kernel is idle and no chart has changed for ``quiet_s`` seconds."""
    end, last, since = time.time() + timeout_s, None, time.time()
    while time.time() < end:
        now = page.evaluate(CHARTS)
        idle = page.evaluate(KERNEL_IDLE)
        if now != last or not idle:
            last, since = now, time.time()
        elif time.time() - since >= quiet_s:
            return
        page.wait_for_timeout(500)
    raise TimeoutError(f"the page did not settle in {timeout_s} s")


SUMMARY = "Array.from(document.querySelectorAll('.widget-html')).map(e => e.textContent).join('\\n')"
WINDOW = r"(\d+\.\d)-(\d+\.\d) s"
# Text of every rendered chart (titles, subtitles, legends, axis labels).
CHART_TEXT = ("() => Array.from(document.querySelectorAll('.vega-embed svg.marks'))"
              ".map(e => e.textContent).join('\\n')")


def set_seeks_zero_and_check(page, tmp_path: Path) -> None:
    """Move the FormulaExplorer's seeks slider to 0: the charts redraw at seeks 0, and the status
    line names the formulas left out (no zero-seek branch before 4.20) instead of refusing."""
    slider = page.locator(".widget-slider", has_text="seeks").first
    slider.wait_for(timeout=120_000)
    readout = slider.locator(".widget-readout")
    assert readout.inner_text().strip() != "0"
    handle = slider.locator(".noUi-handle")
    handle.scroll_into_view_if_needed()
    handle.focus()
    for _ in range(8):                    # the slider runs 0-8; the explorer starts at 2
        if readout.inner_text().strip() == "0":
            break
        page.keyboard.press("ArrowLeft")
        page.wait_for_timeout(200)
    assert readout.inner_text().strip() == "0"
    # The chart subtitles say "seeks 0" once the charts were redrawn from a seeks-0 sweep.
    page.wait_for_function(f"() => ({CHART_TEXT})().includes('seeks 0')", timeout=120_000)
    page.wait_for_function(f"() => ({SUMMARY}).includes('not drawn')", timeout=120_000)
    text = page.evaluate(f"() => {SUMMARY}")
    assert "cannot draw" not in text, text[-600:]
    assert re.search(r"seeks 0: v4\.16, v4\.19 not drawn", text), text[-600:]
    slider.screenshot(path=str(tmp_path / "lab-01-seeks0-slider.png"))


def shown_dying(text: str, formula: str) -> str:
    """The ``dying`` column of ``formula``'s row in the scorecard text the ScenarioExplorer shows."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        cols = line.split()
        if cols[:1] == ["formula"] and "dying" in cols:
            k = cols.index("dying")
            for row in lines[i + 1:]:
                vals = row.split()
                if vals[:1] == [formula]:
                    return vals[k]
    raise AssertionError(f"no scorecard row for {formula} in: {text[-800:]}")


def switch_formula_and_check_dying(page, tmp_path: Path) -> tuple[str, str]:
    """Pick v4.19 instead of v5.0 in the ScenarioExplorer: the run is redone, and the number of
    dying memcgs at the end that the scorecard shows changes (the floor frees the dead cgroups'
    leftovers that 5.0 leaves on the parent's short list)."""
    page.wait_for_function(f"() => /^v5\\.0 /m.test({SUMMARY})", timeout=120_000)
    before = shown_dying(page.evaluate(f"() => {SUMMARY}"), "v5.0")
    picker = page.locator(".widget-dropdown").filter(has=page.locator("label", has_text=re.compile(r"^formula$")))
    assert picker.count() == 1, picker.count()
    select = picker.locator("select")
    select.scroll_into_view_if_needed()
    select.select_option("v4.19")
    page.wait_for_function(f"() => /^v4\\.19 /m.test({SUMMARY})", timeout=120_000)
    text = page.evaluate(f"() => {SUMMARY}")
    after = shown_dying(text, "v4.19")
    picker.screenshot(path=str(tmp_path / "lab-04-formula.png"))
    assert after != before, f"dying memcgs shown: v5.0 {before}, v4.19 {after}"
    return before, after


def brush_timeline_and_check(page, tmp_path: Path) -> tuple[float, float]:
    """Drag across the ScenarioExplorer timeline's first panel; the kernel summarises that window.

    Checks the brush went browser -> JupyterChart selection -> Python ``select_window`` ->
    the summary HTML widget: its heading turns from "whole run" into "a-b s".
    """
    page.wait_for_function(f"() => ({SUMMARY}).includes('whole run')", timeout=120_000)
    timeline = page.locator(".vega-embed:has(g.window_brush)").first       # the brush lives there
    panel = timeline.locator("g.role-scope").first.locator("path.background").first
    panel.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    timeline.screenshot(path=str(tmp_path / "timeline-before-brush.png"))
    box = panel.bounding_box()
    assert box and box["width"] > 100, f"first timeline panel not found: {box}"
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.25, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.65, y, steps=12)
    page.mouse.up()
    page.wait_for_function(f"() => new RegExp({json.dumps(WINDOW)}).test({SUMMARY})", timeout=120_000)
    text = page.evaluate(f"() => {SUMMARY}")
    assert "whole run" not in text
    start, stop = map(float, re.search(WINDOW, text).groups())
    timeline.screenshot(path=str(tmp_path / "timeline-brushed.png"))
    return start, stop


STARTED = ("() => Array.from(document.querySelectorAll('.jp-InputPrompt'))"
           ".some(e => /\\[(\\*|\\d+)\\]/.test(e.textContent))")


def lab_run_all(page, url: str) -> None:
    """Open a notebook and run all cells; click again if the first click did not take."""
    page.goto(url, timeout=120_000)
    page.wait_for_function(KERNEL_IDLE, timeout=180_000)
    for attempt in range(3):
        try:        # on a loaded machine a click can time out too (menu not open yet): retry it
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click(timeout=60_000)
            page.locator("li.lm-Menu-item[data-command='runmenu:run-all']").click(timeout=60_000)
            page.wait_for_function(STARTED, timeout=60_000)
            return
        except playwright.TimeoutError as err:
            print(f"Run All, attempt {attempt + 1}: {str(err).splitlines()[0]}")
            page.keyboard.press("Escape")
    raise AssertionError("Run > Run All Cells never started the notebook")


def test_notebooks_in_jupyterlab(workdir, tmp_path):
    nb, home, env = workdir
    port = free_port()
    t = {"start": time.perf_counter()}
    with open(home / "lab.log", "w") as log:
        proc = serve([str(BIN / "jupyter"), "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
                      "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={nb}",
                      "--allow-root", "--LabApp.news_url=None",
                      "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"], nb, env, port, log)
        try:
            with playwright.sync_playwright() as p:
                b = Browser(p, home / "chrome")
                page = b.page
                try:
                    lab_run_all(page, f"http://127.0.0.1:{port}/lab/tree/01-scan-count-formula.ipynb?reset")
                    wait_charts(page, 3)
                    page.screenshot(path=str(tmp_path / "lab-01-before.png"), full_page=True)
                    move_batch_slider_and_check(page)
                    page.screenshot(path=str(tmp_path / "lab-01-after.png"), full_page=True)
                    set_seeks_zero_and_check(page, tmp_path)
                    page.screenshot(path=str(tmp_path / "lab-01-seeks0.png"), full_page=True)
                    t["01"] = time.perf_counter()

                    lab_run_all(page, f"http://127.0.0.1:{port}/lab/tree/04-dying-memcgs.ipynb?reset")
                    wait_charts(page, 3, timeout_ms=400_000)      # dying-memcgs figure, timeline, scorecard
                    wait_settled(page, timeout_s=400)
                    page.screenshot(path=str(tmp_path / "lab-04-before.png"), full_page=True)
                    t["04 run"] = time.perf_counter()
                    dying = switch_formula_and_check_dying(page, tmp_path)
                    print("dying memcgs shown (v5.0, v4.19):", dying)
                    wait_settled(page)
                    page.screenshot(path=str(tmp_path / "lab-04-v4.19.png"), full_page=True)
                    t["04 formula"] = time.perf_counter()
                    move_batch_slider_and_check(page)             # the ScenarioExplorer's shrinker batch
                    wait_settled(page)                            # every rerun done, or it resets the window
                    page.screenshot(path=str(tmp_path / "lab-04-batch.png"), full_page=True)
                    t["04 batch"] = time.perf_counter()
                    start, stop = brush_timeline_and_check(page, tmp_path)
                    assert 0 <= start < stop <= REDUCED_S, (start, stop)
                    page.screenshot(path=str(tmp_path / "lab-04-brushed.png"), full_page=True)
                    t["04 brush"] = time.perf_counter()
                except Exception:
                    page.screenshot(path=str(tmp_path / "lab-failure.png"), full_page=True)
                    raise
                finally:
                    b.close()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print("timings (s):", {k: round(v - t["start"], 1) for k, v in t.items() if k != "start"})
    assert not b.offhost, f"requests left 127.0.0.1: {b.offhost[:5]}"
    assert not b.errors, f"console errors: {b.errors[:5]}"


def test_notebook_as_a_voila_app(workdir, tmp_path):
    nb, home, env = workdir
    port = free_port()
    with open(home / "voila.log", "w") as log:
        proc = serve([str(BIN / "voila"), "01-scan-count-formula.ipynb", "--no-browser", f"--port={port}",
                      "--Voila.ip=127.0.0.1", "--VoilaConfiguration.extension_denylist=jupyterlab-jupytext"],
                     nb, env, port, log)
        try:
            with playwright.sync_playwright() as p:
                b = Browser(p, home / "chrome-voila")
                try:
                    b.page.goto(f"http://127.0.0.1:{port}/", timeout=240_000)
                    wait_charts(b.page, 3)
                    move_batch_slider_and_check(b.page)
                    b.page.screenshot(path=str(tmp_path / "voila-01.png"), full_page=True)
                finally:
                    b.close()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    # Voila's lab template links Font Awesome from a CDN; that request fails offline and
    # is harmless (the icons come from its bundle too). Anything else is a failure.
    offhost = [u for u in b.offhost if "font-awesome" not in u and "fontawesome" not in u]
    assert not offhost, f"requests left 127.0.0.1: {offhost[:5]}"
    errors = [e for e in b.errors if "font-awesome" not in e.lower() and "fontawesome" not in e.lower()
              and "ERR_NAME_NOT_RESOLVED" not in e and "ERR_INTERNET_DISCONNECTED" not in e]
    assert not errors, f"console errors: {errors[:5]}"
