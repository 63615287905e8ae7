"""ScenarioExplorer: rerun a scenario under another formula, kernel or rule and watch it.

Thin: pickers feed :func:`reclaimlab.simulate` (the scenario's reduced preset,
well under a second), the timeline and the scorecard come from
:mod:`reclaimlab.plot`. A brush on the timeline's first panel selects the time
window the scorecard summarises.
"""
from __future__ import annotations

from .. import formulas
from ..scenarios import get
from ..simulate import KERNELS, simulate
from ..sim.params import INODE_RULES, MEMCG_REMEDIES

ERA = "(formula's era)"


class ScenarioExplorer:
    """Pick formula, kernel preset, inode rule, memcg remedy and the scenario's knobs.

    Parameters
    ----------
    scenario : str
        A scenario name (see :func:`reclaimlab.scenarios.names`).
    formula : str
        Starting formula.

    Examples
    --------
    >>> ex = ScenarioExplorer("dying-memcgs", "v5.0")
    >>> ex.memcg_remedy.value = "collector"     # reruns and redraws
    >>> ex.dataset.attrs["memcg_remedy"]
    'collector'
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
        self.kernel = W.Dropdown(options=("none",) + tuple(KERNELS), value="none", description="kernel")
        self.inode_rule = W.Dropdown(options=(ERA,) + INODE_RULES, value=ERA, description="inode rule")
        self.memcg_remedy = W.Dropdown(options=(ERA,) + MEMCG_REMEDIES, value=ERA, description="remedy")
        red = self.scenario.reduced
        self.knobs = {name: W.FloatText(value=float(getattr(red, name)), description=name)
                      for name in self.scenario.knobs}
        self.progress = W.IntProgress(value=0, min=0, max=1, description="run")
        self.status = W.HTML()
        self.summary = W.HTML()
        self.dataset = None
        self.window: tuple[float, float] | None = None
        self.timeline = alt.JupyterChart(alt.Chart().mark_point(), embed_options={"renderer": "svg"})
        self.scorecard = alt.JupyterChart(alt.Chart().mark_point(), embed_options={"renderer": "svg"})
        self._busy = False
        from .export import ExportPanel
        self.export = ExportPanel(self._figure)
        self.controls = (self.formula, self.kernel, self.inode_rule, self.memcg_remedy, *self.knobs.values())
        for c in self.controls:
            c.observe(self._changed, names="value")
        self.rerun()

    def _changed(self, change=None) -> None:
        if self._busy:
            return
        if change is not None and change["owner"] is self.kernel and self.kernel.value != "none":
            # A kernel preset names its formula: show it, and rerun once.
            self._busy = True
            try:
                self.formula.value = KERNELS[self.kernel.value][0]
            finally:
                self._busy = False
        self.rerun()

    def _args(self) -> dict:
        pick = lambda w: None if w.value in (ERA, "none") else w.value   # noqa: E731
        overrides = {}
        for name, w in self.knobs.items():
            kind = type(getattr(self.scenario.reduced, name))
            overrides[name] = kind(w.value)
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
        alt = self._alt
        chart = self._plot.timeline(ds)
        brush = alt.selection_interval(name="window", encodings=["x"])
        chart.vconcat[0] = chart.vconcat[0].add_params(brush)
        self.timeline.chart = chart
        self.timeline.selections.observe(self._brushed, names=["window"])
        self._summarise()
        self.progress.value, self.progress.bar_style = 1, "success"

    def _brushed(self, change) -> None:
        value = getattr(change["new"], "value", None) or {}
        span = value.get("time") if isinstance(value, dict) else None
        self.select_window(*span) if span else self.select_window(None, None)

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
