"""FormulaExplorer: how batch size, the formula and a min-scan floor move shrinker pressure.

A thin widget: it owns no model logic. Controls feed :func:`reclaimlab.sweep`
(a custom floor becomes a formula made with :func:`reclaimlab.formulas.register`),
and the charts come from :mod:`reclaimlab.plot`. The charts are offline
``alt.JupyterChart`` widgets, so they draw in JupyterLab and Voila without a
network.
"""
from __future__ import annotations

import numpy as np

from ..kernel import formulas
from ..sweep import sweep
from .recent import Recent
from .series import KERNEL_FLOOR_BUILTIN, SweepCache, freeable_grid

BATCHES = (16, 32, 64, 128, 256, 512, 1024, 2048)
FLOOR_MODES = ("off", "kernel", "custom")
#: Calls per point by default. Rik van Riel's accumulator needs hundreds of calls before
#: a small cache is scanned at all (about 260 for 1,000 objects at batch 128, 700 for
#: 3,000 at batch 1024), so at 100 calls rik-2019 looks like v5.0; 2,000 shows its
#: proportional pressure at about 40 ms a sweep. The slider goes to MAX_CALLS, the
#: 20,000 calls over which docs/kernel.md §1.9 takes its long-run means.
CALLS = 2_000
MAX_CALLS = 20_000
#: Settings whose dataset and charts are kept (about 60 KB of chart data each).
KEEP_DRAWN = 32


def floor_rule(floor: int | None):
    """A delta rule: v5.0's delta with a min-scan floor ``max(delta, min(F, floor or B))``.

    ``floor=None`` is the kernel's 172b06c32b94 floor (the batch size).

    Examples
    --------
    >>> import numpy as np
    >>> rule = floor_rule(32)
    >>> int(rule(np.array(1000), np.array(12), np.array(2), np.array(1024)))
    32
    """
    def rule(F, p, S, B):
        delta = np.where(S == 0, F // 2, (F >> p) * 4 // np.maximum(S, 1))
        return np.maximum(delta, np.minimum(F, B if floor is None else floor))
    rule.__name__ = f"floor_{floor or 'batch'}"
    return rule


def floor_formula(mode: str, value: int) -> str | None:
    """Register (or reuse) the formula for a floor setting; None when the floor is off."""
    if mode not in FLOOR_MODES:
        raise ValueError(f"floor={mode!r} is unknown; allowed: {', '.join(FLOOR_MODES)}")
    if mode == "off":
        return None
    if mode == "kernel":
        name, rule = "v5.0+floor", floor_rule(None)
    else:
        if int(value) < 1:
            raise ValueError(f"floor value={value!r} is not allowed; it must be >= 1 object")
        name, rule = f"v5.0+floor{int(value)}", floor_rule(int(value))
    if name not in formulas.names():
        formulas.register(name, rule, base="v5.0",
                          description=f"v5.0 with a min-scan floor of "
                                      f"{'one batch' if mode == 'kernel' else f'{int(value)} objects'}.")
    return name


def has_zero_seek_branch(name: str) -> bool:
    """Whether ``name`` computes anything for ``seeks == 0``.

    Built-ins before 4.20 have no zero-seek branch: no shrinker had seeks 0
    then, and the kernel would divide by zero. 4b85afbdacd2 (4.20) added
    ``delta = F / 2`` for them. A registered rule is asked, with one call.

    Examples
    --------
    >>> has_zero_seek_branch("v4.19"), has_zero_seek_branch("v5.0")
    (False, True)
    """
    try:
        formulas.scan(name, freeable=1, priority=12, seeks=0)
    except ValueError:
        return False
    return True


def split_zero_seek(names, seeks: int) -> tuple[list[str], list[str]]:
    """(formulas that can be drawn at ``seeks``, formulas left out): only seeks 0 leaves any out.

    Examples
    --------
    >>> split_zero_seek(["v4.19", "v5.0"], 0)
    (['v5.0'], ['v4.19'])
    >>> split_zero_seek(["v4.19", "v5.0"], 2)
    (['v4.19', 'v5.0'], [])
    """
    names = list(names)
    if int(seeks) != 0:
        return names, []
    keep = [n for n in names if has_zero_seek_branch(n)]
    return keep, [n for n in names if n not in keep]


def explorer_dataset(selected, *, batch: int, seeks: int, priority: int, floor: str = "off",
                     floor_value: int = 32, sizes=(1, 8), calls: int = CALLS, points: int = 25):
    """The sweep behind the explorer's charts (all priorities, log-spaced cache sizes).

    Examples
    --------
    >>> ds = explorer_dataset(["v4.19", "v5.0"], batch=1024, seeks=2, priority=12, calls=10)
    >>> sorted(ds.sizes)
    ['formula', 'freeable', 'priority']
    """
    names = list(selected)
    extra = floor_formula(floor, floor_value)
    if extra and extra not in names:
        names.append(extra)
    if not names:
        raise ValueError("formulas=() is empty; select at least one formula")
    return sweep(names, freeable=freeable_grid(sizes, points), priority=list(range(13)), batch=int(batch),
                 seeks=int(seeks), calls=int(calls))


class FormulaExplorer:
    """Formulas, batch size, seeks, priority, a min-scan floor, cache sizes, calls.

    The pressure curve (at the chosen priority) and the priority heatmap
    redraw on every change; the description of the first selected formula is
    shown beside them. Display it as the last expression of a cell.

    At seeks 0 the formulas without a zero-seek branch (before 4.20) are left
    out of the charts, and the status line says which and why.

    Examples
    --------
    >>> ex = FormulaExplorer(formulas=["v4.19", "v5.0"])
    >>> ex.batch.value = 128            # the charts are redrawn
    >>> ex.dataset.batch.item()
    128
    """

    def __init__(self, formulas=("v4.16", "v4.19", "v5.0", "rik-2019", "dave-2019", "v5.13"),
                 *, batch: int = 1024, seeks: int = 2, priority: int = 12, calls: int = CALLS) -> None:
        import altair as alt
        import ipywidgets as W

        from .. import plot

        self._alt, self._plot, self._W = alt, plot, W
        alt.JupyterChart.enable_offline()
        from .. import formulas as registry
        self.formulas = W.SelectMultiple(options=registry.names(), value=tuple(formulas),
                                         description="formulas", rows=8)
        self.batch = W.SelectionSlider(options=BATCHES, value=batch, description="batch")
        self.seeks = W.IntSlider(value=seeks, min=0, max=8, description="seeks")
        self.priority = W.IntSlider(value=priority, min=0, max=12, description="priority")
        self.floor = W.ToggleButtons(options=FLOOR_MODES, value="off", description="floor")
        self.floor_value = W.BoundedIntText(value=32, min=1, max=1 << 20, description="floor objs")
        self.sizes = W.IntRangeSlider(value=(1, 8), min=0, max=9, description="log10 size")
        self.calls = W.IntSlider(value=calls, min=1, max=max(MAX_CALLS, int(calls)), description="calls")
        self.about = W.HTML()
        self.status = W.HTML()
        self.dataset = None
        self._key = None
        self._note = ""
        from .chartview import ChartView
        self.curve = ChartView(alt.Chart().mark_point(), embed_options={"renderer": "svg"})
        self.heatmap = ChartView(alt.Chart().mark_point(), embed_options={"renderer": "svg"})
        # What was computed and drawn per setting, so moving a control back redraws
        # from memory: the sweeps per formula, the heatmap per setting, the curve
        # per setting and priority (the charts are pure functions of these keys).
        self._sweeps = SweepCache()
        self._drawn, self._curves = Recent(KEEP_DRAWN), Recent(KEEP_DRAWN)
        from .export import ExportPanel
        self.export = ExportPanel(self._figure)
        self.controls = (self.formulas, self.batch, self.seeks, self.priority, self.floor,
                         self.floor_value, self.sizes, self.calls)
        for c in self.controls:
            c.observe(self._changed, names="value")
        self.redraw()

    def _changed(self, _change=None) -> None:
        self.redraw()

    def redraw(self) -> None:
        """Recompute what changed and replace the charts.

        The sweep covers every priority, so moving the priority slider only
        redraws the pressure curve; anything else recomputes the sweep (only
        the formulas not computed at this setting before) and both charts. A
        setting seen before is redrawn from the charts kept for it.
        """
        key = (self.formulas.value, self.batch.value, self.seeks.value, self.floor.value,
               self.floor_value.value, self.sizes.value, self.calls.value)
        if key != self._key:
            drawn, left_out = split_zero_seek(self.formulas.value, self.seeks.value)
            note = ""
            if left_out:
                note = (f"seeks 0: {', '.join(left_out)} not drawn: no zero-seek branch before 4.20 "
                        f"(4b85afbdacd2 added delta = freeable / 2; before it the kernel would divide by zero)")
            try:
                if left_out and not drawn and self.floor.value == "off":
                    raise ValueError(f"seeks=0 leaves no formula to draw; {note}")
                ds, heatmap = self._drawn.get(key) or self._draw(key, drawn)
            except ValueError as err:   # e.g. no formula selected
                self.status.value = f"<b>cannot draw:</b> {err}"
                return
            self.dataset, self._key, self._note = ds, key, note
            self.heatmap.chart = heatmap
            first = (self.formulas.value or ("v5.0",))[0]
            text = formulas.describe(first).replace("\n", "<br>")
            self.about.value = f"<div style='max-width:28em'>{text}</div>"
        self.status.value = f"<i>{self._note}</i>" if self._note else ""
        at = (self._key, self.priority.value)
        curve = self._curves.get(at)
        if curve is None:
            curve = self._plot.pressure_curve(self.dataset, priority=self.priority.value)
            self._curves.put(at, curve)
        self.curve.chart = curve

    def _draw(self, key, drawn):
        """(dataset, heatmap) of a setting not drawn before (kept for when it comes back)."""
        ds = self._dataset(drawn)
        drawn = (ds, self._plot.priority_heatmap(ds))
        self._drawn.put(key, drawn)
        return drawn

    def _dataset(self, drawn):
        """:func:`explorer_dataset` of the controls, from the sweeps computed before where it can."""
        names = list(drawn)
        extra = floor_formula(self.floor.value, self.floor_value.value)
        if extra and extra not in names:
            names.append(extra)
        # The kernel floor on v5.0 is 4.20's arithmetic: run it as that built-in in
        # the C loop (same numbers, tests/test_widgets.py), not call by call in numpy.
        same_as = {extra: KERNEL_FLOOR_BUILTIN} if self.floor.value == "kernel" else {}
        return self._sweeps.dataset(names, batch=self.batch.value, seeks=self.seeks.value,
                                    sizes=self.sizes.value, calls=self.calls.value, same_as=same_as)

    def _figure(self):
        """(name, chart, 72-column text) of the pressure curve on screen."""
        from .. import text
        p = self.priority.value
        return (f"pressure-p{p}-batch{self.batch.value}", self.curve.chart,
                text.pressure_curve(self.dataset, priority=p))

    def widget(self):
        """The whole explorer as one ipywidgets box."""
        W = self._W
        left = W.VBox(list(self.controls) + [self.status])
        return W.VBox([W.HBox([left, self.about]), self.curve, self.heatmap, self.export.box])

    def _ipython_display_(self):
        from IPython.display import display
        display(self.widget())
