"""ScenarioExplorer: rerun a scenario under another formula, kernel or rule and watch it.

Thin: pickers feed :func:`reclaimlab.simulate` (the scenario's reduced preset,
well under a second), the timeline and the scorecard come from
:mod:`reclaimlab.plot`. A brush on the timeline's first panel selects the time
window the scorecard summarises.

The brush reaches Python only because its param sits on the *top-level*
``VConcatChart`` object: :class:`altair.JupyterChart` looks for selections in
``chart.params`` of the Python object it is given, not in the spec ``to_dict()``
emits. Adding the param to ``chart.vconcat[0]`` after the concat was built
draws a working brush in the browser, but the widget watches no selection and
nothing is ever sent back. So the concat is rebuilt panel by panel with ``&=``,
which lifts the param to the top (``views=[<first panel>]``).
"""
from __future__ import annotations

import dataclasses

from ..kernel import formulas
from ..scenarios import get
from ..kernel.releases import INODE_RULES, MEMCG_REMEDIES, RELEASES
from ..simulate import simulate

ERA = "(formula's era)"
#: Shrinker batch sizes the "shrinker batch" slider offers (the caches' own is added).
BATCHES = tuple(2 ** k for k in range(11))          # 1 ... 1024


class ScenarioExplorer:
    """Pick formula, kernel preset, inode rule, memcg remedy and the scenario's knobs.

    Parameters
    ----------
    scenario : str
        A scenario name (see :func:`reclaimlab.scenarios.names`).
    formula : str
        Starting formula.

    Scenarios with generic slab caches (``scenario.reduced.caches``) also get a
    "shrinker batch" slider: it reruns with every such cache's ``batch`` set to
    the value (the VFS caches keep theirs).

    Examples
    --------
    >>> ex = ScenarioExplorer("dying-memcgs", "v5.0")
    >>> ex.memcg_remedy.value = "collector"     # reruns and redraws
    >>> ex.dataset.attrs["memcg_remedy"]
    'collector'
    >>> ex.batch.value = 1024
    >>> int(ex.dataset.batch.sel(cache="service-objects"))
    1024
    """

    def __init__(self, scenario: str, formula: str = "v5.0", *, seed: int = 0) -> None:
        import altair as alt
        import ipywidgets as W

        from .. import plot

        self._alt, self._plot, self._W = alt, plot, W
        alt.JupyterChart.enable_offline()
        self.scenario = get(scenario)
        self.seed = seed
        self.formula = W.Dropdown(options=formulas.names(), value=formulas.spec(formula).name,
                                  description="formula")
        self.kernel = W.Dropdown(options=("none",) + tuple(RELEASES), value="none", description="kernel")
        self.inode_rule = W.Dropdown(options=(ERA,) + INODE_RULES, value=ERA, description="inode rule")
        self.memcg_remedy = W.Dropdown(options=(ERA,) + MEMCG_REMEDIES, value=ERA, description="remedy")
        red = self.scenario.reduced
        # Whole-number parameters (tasks, an allocation order) get a whole-number box.
        self.knobs = {name: (W.IntText if isinstance(getattr(red, name), int) else W.FloatText)(
                          value=getattr(red, name), description=name)
                      for name in self.scenario.knobs}
        self.batch = None
        if red.caches:
            own = red.caches[0].batch or 128                 # batch 0 means 128 (SHRINK_BATCH)
            self.batch = W.SelectionSlider(options=sorted(set(BATCHES) | {own}), value=own,
                                           description="shrinker batch", continuous_update=False,
                                           style={"description_width": "initial"})
        self.progress = W.IntProgress(value=0, min=0, max=1, description="run")
        self.status = W.HTML()
        self.summary = W.HTML()
        self.dataset = None
        self.window: tuple[float, float] | None = None
        # Brush updates reach the kernel once the drag has paused for debounce_wait ms,
        # not every 10 ms while it moves (each one recomputes the scorecard).
        self.timeline = alt.JupyterChart(alt.Chart().mark_point(), embed_options={"renderer": "svg"},
                                         debounce_wait=150, max_wait=False)
        self.scorecard = alt.JupyterChart(alt.Chart().mark_point(), embed_options={"renderer": "svg"})
        self._busy = False
        from .export import ExportPanel
        self.export = ExportPanel(self._figure)
        self.controls = (self.formula, self.kernel, self.inode_rule, self.memcg_remedy, *self.knobs.values(),
                         *([self.batch] if self.batch is not None else []))
        for c in self.controls:
            c.observe(self._changed, names="value")
        self.rerun()

    def _changed(self, change=None) -> None:
        if self._busy:
            return
        owner = change["owner"] if change is not None else None
        if owner is self.kernel and self.kernel.value != "none":
            # A kernel preset names its formula: show it, and rerun once.
            self._set(self.formula, RELEASES[self.kernel.value].formula)
        elif (owner is self.formula and self.kernel.value != "none" and
              formulas.spec(self.formula.value).name != formulas.spec(RELEASES[self.kernel.value].formula).name):
            # Another formula is no longer that release: drop the preset rather than refuse to run.
            self._set(self.kernel, "none")
        self.rerun()

    def _set(self, widget, value) -> None:
        self._busy = True
        try:
            widget.value = value
        finally:
            self._busy = False

    def _args(self) -> dict:
        pick = lambda w: None if w.value in (ERA, "none") else w.value   # noqa: E731
        # Only what differs from the preset is an override: the run's provenance line
        # then names exactly what the user changed.
        red = self.scenario.reduced
        overrides = {}
        for name, w in self.knobs.items():
            value = type(getattr(red, name))(w.value)
            if value != getattr(red, name):
                overrides[name] = value
        if self.batch is not None and int(self.batch.value) != (red.caches[0].batch or 128):
            overrides["caches"] = tuple(dataclasses.replace(c, batch=int(self.batch.value)) for c in red.caches)
        return dict(formula=self.formula.value, kernel=pick(self.kernel), inode_rule=pick(self.inode_rule),
                    memcg_remedy=pick(self.memcg_remedy), seed=self.seed, reduced=True, **overrides)

    def rerun(self) -> None:
        """Rerun the simulation and redraw the timeline and the scorecard."""
        self.progress.value, self.progress.bar_style = 0, "info"
        try:
            ds = simulate(self.scenario.name, **self._args())
        except ValueError as err:
            self.status.value = f"<b>cannot run:</b> {err}"
            self.progress.bar_style = "danger"
            return
        self.status.value = ""
        self.dataset = ds
        self.window = None
        self.timeline.chart = self._brushable(self._plot.timeline(ds))
        self.timeline.selections.observe(self._brushed, names=["window"])
        self._summarise()
        self.progress.value, self.progress.bar_style = 1, "success"

    def _brushable(self, chart):
        """``chart`` (a vconcat) with the "window" brush on its first panel, known to JupyterChart."""
        brush = self._alt.selection_interval(name="window", encodings=["x"])
        first, *rest = chart.vconcat
        top = chart.copy()
        top.vconcat = []
        for panel in (first.add_params(brush), *rest):
            top &= panel          # like the constructor, `&=` lifts panel params to the top level
        return top

    def _brushed(self, change) -> None:
        value = getattr(change["new"], "value", None) or {}
        span = value.get("time") if isinstance(value, dict) else None
        if span:
            self.select_window(*span)
        elif self.window is not None:       # a cleared brush; a fresh chart's empty one needs no work
            self.select_window(None, None)

    def select_window(self, start: float | None, stop: float | None) -> None:
        """Summarise the run between ``start`` and ``stop`` seconds (None: all of it)."""
        self.window = None if start is None else (float(min(start, stop)), float(max(start, stop)))
        self._summarise()

    def _summarise(self) -> None:
        ds = self.dataset
        if self.window is not None:
            ds = ds.sel(time=slice(*self.window))
            if ds.sizes["time"] == 0:
                self.summary.value = "<i>no recorded step in the window</i>"
                return
        self.scorecard.chart = self._plot.scorecard(ds)
        from .. import text
        where = "whole run" if self.window is None else f"{self.window[0]:.1f}-{self.window[1]:.1f} s"
        self.summary.value = f"<b>{where}</b><pre>{text.scorecard(ds)}</pre>"

    def _figure(self):
        """(name, chart, 72-column text) of the timeline on screen."""
        from .. import text
        return (f"{self.scenario.name}-{self.dataset.attrs['formula']}-timeline", self.timeline.chart,
                text.timeline(self.dataset))

    def widget(self):
        """The whole explorer as one ipywidgets box."""
        W = self._W
        left = W.VBox(list(self.controls) + [self.progress, self.status])
        return W.VBox([W.HBox([left, self.summary]), self.timeline, self.scorecard, self.export.box])

    def _ipython_display_(self):
        from IPython.display import display
        display(self.widget())
