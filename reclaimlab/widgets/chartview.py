"""A JupyterChart that checks each kind of chart against the Vega-Lite schema once.

``alt.JupyterChart`` turns every chart it is given into a spec with
``chart.to_dict()``, which validates the whole spec, data included, against the
Vega-Lite JSON schema: 10-45 ms per redraw of the explorer's charts, more than
building the spec. An explorer redraws the same figure with new data, so
:class:`ChartView` validates the first chart of each kind (type, mark,
channels, params) and sends later ones of that kind unvalidated; a chart shown
again (the explorer keeps its charts per setting) reuses the spec made for it.
The spec sent is the same dict either way; only the work is skipped.
"""
from __future__ import annotations

import altair as alt
import traitlets

from .recent import Recent


def chart_kind(chart) -> tuple:
    """What a chart is made of, apart from its data and values: type, mark, channels, params.

    Examples
    --------
    >>> import altair as alt
    >>> chart_kind(alt.Chart().mark_line().encode(x="a:Q"))
    ('Chart', 'line', ('x',), ())
    """
    if chart is None:
        return ()
    mark = getattr(chart, "mark", alt.Undefined)
    mark = getattr(mark, "type", mark) if not isinstance(mark, str) else mark
    enc = getattr(chart, "encoding", alt.Undefined)
    channels = () if enc is alt.Undefined else tuple(
        sorted(k for k, v in enc._kwds.items() if v is not alt.Undefined))
    params = getattr(chart, "params", alt.Undefined)
    names = () if params is alt.Undefined else tuple(str(getattr(p, "name", p)) for p in params)
    return (type(chart).__name__, str(mark), channels, names)


#: Specs kept per view, for charts shown again (a slider moved back): the chart
#: objects are kept with them, so an id is never reused while its spec is.
KEEP = 32


class _Unvalidated:
    """The chart, whose ``to_dict`` skips schema validation (the rest is passed through)."""

    def __init__(self, chart, spec=None) -> None:
        self._chart, self._spec = chart, spec

    def __getattr__(self, name):
        return getattr(self._chart, name)

    def to_dict(self, *args, **kwargs):
        if self._spec is not None and not args and not kwargs:
            return self._spec
        kwargs["validate"] = False
        return self._chart.to_dict(*args, **kwargs)


class ChartView(alt.JupyterChart):
    """``alt.JupyterChart`` that validates the first chart of each :func:`chart_kind` only.

    Selections and params are set up from every chart, as the parent does.
    """

    def __init__(self, *args, **kwargs) -> None:
        self._checked: set = set()
        self._specs = Recent(KEEP)
        super().__init__(*args, **kwargs)

    @traitlets.observe("chart")
    def _on_change_chart(self, change):
        chart = change.new
        kind = chart_kind(chart)
        if chart is None or kind not in self._checked:
            super()._on_change_chart(change)       # validates, raises on a bad spec
            if chart is not None:
                self._checked.add(kind)
                self._remember(chart, self.spec)
            return
        kept = self._specs.get(id(chart))
        proxy = _Unvalidated(chart, kept[1] if kept and kept[0] is chart else None)
        super()._on_change_chart(traitlets.Bunch(change, new=proxy))
        self._remember(chart, self.spec)

    def _remember(self, chart, spec) -> None:
        self._specs.put(id(chart), (chart, spec))
