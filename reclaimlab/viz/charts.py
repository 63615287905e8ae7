"""Altair charts: pure functions, Dataset in, chart out.

Every chart draws from the tidy table of the same name in
:mod:`reclaimlab.viz.tables`, so no chart carries more than
:data:`~reclaimlab.viz.tables.MAX_ROWS` rows per data set, and the numbers
agree with the text figures. Titles say what is shown; every axis names its
units; cache sizes are on log axes. Zeros, which a log axis cannot show, are
drawn one decade below the smallest positive value and labelled ``0``.

The return type is an Altair top-level chart (``alt.Chart``, or a layered,
faceted or concatenated chart where the figure needs panels). Nothing is
configured at the top level, so charts can be combined; fonts are pinned when
exporting (:func:`reclaimlab.viz.save.save`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

import altair as alt

from . import tables as T
from .theme import HEIGHT, WIDTH, ZERO_COLOR, color_range

__all__ = ["pressure_curve", "priority_heatmap", "small_large_ratio", "timeline",
           "dying_memcgs", "scorecard", "trace_replay"]

Chart = alt.TopLevelMixin


def _title(fd: T.FigureData) -> alt.Title:
    # The provenance line comes last: what the data are, then where they came from.
    subtitle = [*fd.subtitle, *fd.provenance]
    return alt.Title(fd.title, subtitle=subtitle or alt.Undefined, anchor="start")


def _rule_colors(names) -> alt.Scale:
    """The fixed colours of formulas and kernels (:data:`reclaimlab.viz.theme.COLORS`)."""
    names = [str(n) for n in names]
    return alt.Scale(domain=names, range=color_range(names))


def _log_label_expr(floor: float | None) -> str:
    zero = f"datum.value <= {floor * 1.001!r} ? '0' : " if floor else ""
    return (zero + "(datum.value >= 0.001 && datum.value < 100000 ? format(datum.value, '~g') "
            ": format(datum.value, '.0e'))")


def _log_y(field: str, title: str, ax: T.LogAxis, channel=alt.Y) -> alt.PositionFieldDef:
    return channel(f"{field}:Q", title=title,
                   scale=alt.Scale(type="log", domain=list(ax.domain), nice=False, clamp=True),
                   axis=alt.Axis(values=ax.ticks, labelExpr=_log_label_expr(ax.floor)))


def _size_x(field: str, title: str, values, channel=alt.X, *, exact: bool = False):
    """Log axis for cache sizes; ``exact`` uses the data range instead of whole decades."""
    ax = T.log_axis(values)
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    domain = [float(v.min()), float(v.max())] if exact and v.size else list(ax.domain)
    ticks = [t for t in ax.ticks if domain[0] <= t * 1.0000001 and t <= domain[1] * 1.0000001]
    return channel(f"{field}:Q", title=title,
                   scale=alt.Scale(type="log", domain=domain, nice=False),
                   axis=alt.Axis(values=ticks, format="~s"))


def _order(df: pd.DataFrame, col: str) -> list[str]:
    return list(dict.fromkeys(df[col].tolist()))


# --------------------------------------------------------------------------- pressure curve

def pressure_curve(ds: xr.Dataset, *, priority=None, batch=None, seeks=None,
                   width: int = WIDTH, height: int = HEIGHT) -> Chart:
    """Fraction of a cache scanned vs cache size, one line per formula.

    Parameters
    ----------
    ds : xarray.Dataset
        ``rl.sweep`` output (pressure per call; faceted by ``batch`` and, up to
        four values, ``priority``) or a simulation (per second, one point per
        cache).
    priority, batch, seeks : int, optional
        Pick one value of a swept input instead of faceting or the default
        (priority 12, batch 128, seeks 2 when present).
    width, height : int
        Size of one panel in pixels.

    Returns
    -------
    altair.Chart

    Examples
    --------
    >>> import reclaimlab as rl
    >>> ds = rl.sweep(["v4.18", "v4.19", "v5.0"], freeable=[10, 1000, 10**6], priority=12,
    ...               batch=[128, 1024], calls=100)
    >>> chart = rl.plot.pressure_curve(ds)
    >>> chart.to_dict()["encoding"]["x"]["scale"]["type"]
    'log'
    """
    fd = T.pressure(ds, priority=priority, batch=batch, seeks=seeks)
    df = fd.df.copy()
    ax = T.log_axis(df["pressure"])
    df["pressure_plot"] = ax.plot(df["pressure"])
    formulas = _order(df, "formula")
    pick = alt.selection_point(fields=["formula"], bind="legend", name="formula_pick")
    tooltip = [alt.Tooltip("formula:N"), alt.Tooltip("freeable:Q", title=fd.labels["freeable"], format=",.0f"),
               alt.Tooltip("pressure:Q", title=fd.labels["pressure"], format=".3~g")]
    enc = dict(
        x=_size_x("freeable", fd.labels["freeable"], df["freeable"]),
        y=_log_y("pressure_plot", fd.labels["pressure"], ax),
        color=alt.Color("formula:N", title="formula", sort=formulas, scale=_rule_colors(formulas)),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.15)),
    )
    if "cache" in df:
        tooltip.insert(1, alt.Tooltip("cache:N"))
    facets = fd.meta.get("facets", [])
    if "batch" in facets:
        enc["column"] = alt.Column("batch:O", title=fd.labels["batch"])
        tooltip.append(alt.Tooltip("batch:Q"))
    if "priority" in facets:
        enc["row"] = alt.Row("priority:O", title="reclaim priority", sort="descending")
        tooltip.append(alt.Tooltip("priority:Q"))
    return (alt.Chart(df, title=_title(fd))
            .mark_line(point=True, strokeWidth=1.5)
            .encode(**enc, tooltip=tooltip)
            .add_params(pick)
            .properties(width=width, height=height))


# --------------------------------------------------------------------------- priority heatmap

def priority_heatmap(ds: xr.Dataset, *, batch=None, seeks=None, columns: int = 3,
                     width: int = 220, height: int = 150) -> Chart:
    """Priority x cache size -> fraction scanned, one panel per formula.

    Parameters
    ----------
    ds : xarray.Dataset
        ``rl.sweep`` output with ``priority`` and ``freeable`` (best: priority
        0 to 12 and a log-spaced range of sizes).
    batch, seeks : int, optional
        Pick one value when swept (default 128 and 2 when present).
    columns : int
        Panels per row.

    Returns
    -------
    altair.Chart

    Examples
    --------
    >>> import numpy as np, reclaimlab as rl
    >>> ds = rl.sweep(["v4.19", "v5.0"], freeable=np.logspace(1, 6, 6).astype(int),
    ...               priority=range(13), calls=10)
    >>> rl.plot.priority_heatmap(ds).to_dict()["mark"]["type"]
    'rect'
    """
    fd = T.priority_grid(ds, batch=batch, seeks=seeks)
    df = fd.df
    pos = df["pressure"][df["pressure"] > 0]
    lo = float(pos.min()) if len(pos) else 1e-6
    hi = float(pos.max()) if len(pos) else 1.0
    hi = max(hi, lo * 10)
    color = alt.condition(
        "datum.pressure > 0",
        alt.Color("pressure:Q", title=fd.labels["pressure"],
                  scale=alt.Scale(type="log", domain=[lo, hi], scheme="viridis", clamp=True),
                  legend=alt.Legend(labelExpr=_log_label_expr(None), gradientLength=180)),
        alt.value(ZERO_COLOR),
    )
    return (alt.Chart(df, title=_title(fd))
            .mark_rect()
            .encode(
                x=_size_x("freeable_lo", fd.labels["freeable"], np.r_[df["freeable_lo"], df["freeable_hi"]],
                          exact=True),
                x2="freeable_hi:Q",
                y=alt.Y("priority:O", title=fd.labels["priority"], sort="descending"),
                color=color,
                facet=alt.Facet("formula:N", title=None, columns=columns, sort=_order(df, "formula")),
                tooltip=[alt.Tooltip("formula:N"), alt.Tooltip("priority:Q"),
                         alt.Tooltip("freeable:Q", title="cache size (objects)", format=",.0f"),
                         alt.Tooltip("pressure:Q", title=fd.labels["pressure"], format=".3~g")])
            .properties(width=width, height=height))


# --------------------------------------------------------------------------- small/large ratio

def small_large_ratio(ds: xr.Dataset, *, small=None, large=None, batch=None, seeks=None,
                      width: int = WIDTH, height: int = HEIGHT) -> Chart:
    """Pressure on a small cache relative to a large one, by formula and priority.

    Parameters
    ----------
    ds : xarray.Dataset
        ``rl.sweep`` output with at least two cache sizes.
    small, large : int, optional
        Cache sizes to compare (default: the smallest and largest in ``ds``).
    batch, seeks : int, optional
        Pick one value when swept.

    Returns
    -------
    altair.LayerChart
        Lines per formula and a dashed rule at 1 (proportional scanning).

    Examples
    --------
    >>> import reclaimlab as rl
    >>> ds = rl.sweep(["v4.19", "v5.0"], freeable=[100, 10**6], priority=range(13), calls=10)
    >>> len(rl.plot.small_large_ratio(ds).to_dict()["layer"])
    2
    """
    fd = T.small_large_ratio(ds, small=small, large=large, batch=batch, seeks=seeks)
    df = fd.df.copy()
    ax = T.log_axis(np.r_[df["ratio"].to_numpy(dtype=float), 1.0])
    df["ratio_plot"] = ax.plot(df["ratio"])
    undefined = int(df["ratio"].isna().sum())
    title = fd
    if undefined:
        title = T.FigureData(df, fd.title, fd.subtitle + [f"{undefined} points not drawn: the large "
                                                          "cache is not scanned there"],
                             provenance=fd.provenance)
    df = df[df["ratio_plot"].notna()]
    ytitle = fd.labels["ratio"]
    lines = alt.Chart(df).mark_line(point=True).encode(
        x=alt.X("priority:O", title="reclaim priority (12 = gentlest)", sort="descending"),
        y=_log_y("ratio_plot", ytitle, ax),
        color=alt.Color("formula:N", title="formula", sort=_order(fd.df, "formula"),
                        scale=_rule_colors(_order(fd.df, "formula"))),
        tooltip=[alt.Tooltip("formula:N"), alt.Tooltip("priority:Q"),
                 alt.Tooltip("ratio:Q", title=ytitle, format=".3~g"),
                 alt.Tooltip("small_pressure:Q", title=f"pressure on {fd.meta['small']:,} objects", format=".3~g"),
                 alt.Tooltip("large_pressure:Q", title=f"pressure on {fd.meta['large']:,} objects", format=".3~g")],
    )
    rule = alt.Chart(pd.DataFrame({"ratio_plot": [1.0], "what": ["proportional"]})).mark_rule(
        strokeDash=[4, 4], color="#666").encode(y=alt.Y("ratio_plot:Q", title=ytitle),
                                                  tooltip=[alt.Tooltip("what:N")])
    return alt.layer(lines, rule, title=_title(title)).properties(width=width, height=height)


# --------------------------------------------------------------------------- timeline

def timeline(ds: xr.Dataset, *, formula=None, caches=None, max_points: int = 400,
             width: int = 420, height: int = 110) -> Chart:
    """Page cache, slab per cache, priority and stall over time, per node.

    Parameters
    ----------
    ds : xarray.Dataset
        A simulation (``rl.simulate``) or comparison (``rl.compare``: one
        column of panels per formula).
    formula : str, optional
        Show one formula of a comparison.
    caches : list of str, optional
        Show only these caches in the slab panel.
    max_points : int
        Time bins at most (see :func:`reclaimlab.viz.tables.timeline`).

    Returns
    -------
    altair.VConcatChart
        One panel per quantity, sharing the time axis.

    Examples
    --------
    >>> from reclaimlab.testing import example_simulation
    >>> import reclaimlab as rl
    >>> len(rl.plot.timeline(example_simulation()).to_dict()["vconcat"])
    4
    """
    fd = T.timeline(ds, formula=formula, caches=caches, max_points=max_points)
    panels = fd.meta["panels"]
    many_nodes = len(fd.meta["nodes"]) > 1
    many_formulas = len(fd.meta["formulas"]) > 1
    xt = fd.labels["time"]
    charts = []
    for name, df in panels.items():
        enc: dict = {"x": alt.X("time:Q", title=xt)}
        tip = [alt.Tooltip("time:Q", title=xt, format=".4~g")]
        ytitle = fd.labels[name]
        mark = alt.Chart(df).mark_line(strokeWidth=1.2, interpolate="step-after" if name == "priority" else "linear")
        if name == "slab":
            ax = T.log_axis(df["value"])
            df = df.assign(value_plot=ax.plot(df["value"]))
            mark = alt.Chart(df).mark_line(strokeWidth=1.2)
            enc["y"] = _log_y("value_plot", ytitle, ax)
            enc["color"] = alt.Color("cache:N", title="cache", sort=_order(df, "cache"))
            tip.append(alt.Tooltip("cache:N"))
            if many_nodes:
                enc["strokeDash"] = alt.StrokeDash("node:N", title="node")
        elif name == "priority":
            enc["y"] = alt.Y("value:Q", title=ytitle + " (up = harder)",
                             scale=alt.Scale(domain=[12, 0]), axis=alt.Axis(values=[0, 3, 6, 9, 12]))
        else:
            enc["y"] = alt.Y("value:Q", title=ytitle)
        if name != "slab" and many_nodes:
            enc["color"] = alt.Color("node:N", title="node")
        if many_nodes:
            tip.append(alt.Tooltip("node:N"))
        if many_formulas:
            enc["column"] = alt.Column("formula:N", title=None, sort=fd.meta["formulas"])
            tip.insert(0, alt.Tooltip("formula:N"))
        tip.append(alt.Tooltip("value:Q", title=ytitle, format=",.4~g"))
        charts.append(mark.encode(**enc, tooltip=tip).properties(width=width, height=height))
    return (alt.vconcat(*charts, title=_title(fd))
            .resolve_scale(color="independent", strokeDash="independent"))


# --------------------------------------------------------------------------- dying memcgs

def dying_memcgs(ds: xr.Dataset, *, max_points: int = 400, width: int = WIDTH,
                 height: int = HEIGHT) -> Chart:
    """Dying memory cgroups over time, by formula (colour) and remedy (one panel each).

    Parameters
    ----------
    ds : xarray.Dataset
        A Dataset with ``dying_memcgs(time, ...)``: a simulation, a comparison,
        or comparisons concatenated along a ``remedy`` dim. Further dims
        beyond two go to facet rows, then line dashes.

    Returns
    -------
    altair.Chart

    Examples
    --------
    >>> from reclaimlab.testing import example_simulation
    >>> import reclaimlab as rl
    >>> rl.plot.dying_memcgs(example_simulation(formulas=["v4.19", "v5.0"])).to_dict()["mark"]["type"]
    'line'
    """
    fd = T.dying_memcgs(ds, max_points=max_points)
    df = fd.df
    series = fd.meta["series"]
    enc: dict = {
        "x": alt.X("time:Q", title=fd.labels["time"]),
        "y": alt.Y("dying_memcgs:Q", title=fd.labels["dying_memcgs"]),
    }
    tip = [alt.Tooltip("time:Q", format=".4~g"), alt.Tooltip("dying_memcgs:Q", format=",.4~g")]
    channels = [("color", alt.Color), ("column", alt.Column), ("row", alt.Row), ("strokeDash", alt.StrokeDash)]
    for (ch, cls), dim in zip(channels, series):
        enc[ch] = cls(f"{dim}:N", title=dim, sort=_order(df, dim))
        if ch == "color" and dim in ("formula", "kernel"):
            enc[ch] = cls(f"{dim}:N", title=dim, sort=_order(df, dim), scale=_rule_colors(_order(df, dim)))
        tip.insert(0, alt.Tooltip(f"{dim}:N"))
    if len(series) > len(channels):
        raise ValueError(f"dying_memcgs has {len(series)} dims besides time ({series}); allowed: at most 4")
    return (alt.Chart(df, title=_title(fd)).mark_line(strokeWidth=1.5)
            .encode(**enc, tooltip=tip).properties(width=width, height=height))


# --------------------------------------------------------------------------- scorecard

def scorecard(ds, *, width: int | None = None, cell: int = 22) -> Chart:
    """Formulas side by side on the standard scenarios, one row of cells per metric.

    Each cell prints the metric's value; its colour is the value relative to
    the median of the formulas in that row (log scale, 1 = white), so the
    outliers stand out whatever the units. Grey: undefined or zero.

    Parameters
    ----------
    ds : xarray.Dataset, mapping or list of Datasets
        Metrics from :func:`reclaimlab.viz.tables.scores`, or simulation
        results to compute them from.

    Returns
    -------
    altair.FacetChart
        One facet row per scenario.

    Examples
    --------
    >>> from reclaimlab.testing import example_simulation
    >>> import reclaimlab as rl
    >>> spec = rl.plot.scorecard(example_simulation(formulas=["v4.19", "v5.0"])).to_dict()
    >>> [layer["mark"]["type"] for layer in spec["spec"]["layer"]]
    ['rect', 'rect', 'text']
    """
    fd = T.scorecard(ds)
    df = fd.df
    formulas = _order(df, "formula")
    rel = df["relative"].to_numpy(dtype=float)
    rel = rel[np.isfinite(rel) & (rel > 0)]
    r = float(np.max(np.maximum(rel, 1 / rel))) if rel.size else 2.0
    r = max(r, 2.0)
    color = alt.Color("relative:Q", title="value / median",
                      scale=alt.Scale(type="log", domain=[1 / r, r], scheme="blueorange", domainMid=1, clamp=True),
                      legend=alt.Legend(format=".2~g"))
    x = alt.X("formula:N", title="formula", sort=formulas, axis=alt.Axis(orient="top", labelAngle=0))
    y = alt.Y("metric:N", title=None, sort=fd.meta["metrics"])
    tip = [alt.Tooltip("scenario:N"), alt.Tooltip("metric:N"), alt.Tooltip("formula:N"),
           alt.Tooltip("text:N", title="value"), alt.Tooltip("relative:Q", title="value / median", format=".3~g")]
    base = alt.Chart().encode(x=x, y=y)
    # grey under every cell; coloured where the value relative to the median is defined and > 0
    grey = base.mark_rect(stroke="white", color=ZERO_COLOR).encode(tooltip=tip)
    shade = base.mark_rect(stroke="white").encode(color=color, tooltip=tip).transform_filter(
        "isValid(datum.relative) && isFinite(datum.relative) && datum.relative > 0")
    text = base.mark_text(fontSize=11).encode(text="text:N")
    w = width or max(60 * len(formulas), 240)
    return (alt.layer(grey, shade, text, data=df)
            .properties(width=w, height=cell * len(fd.meta["metrics"]))
            .facet(row=alt.Row("scenario:N", title=None, sort=_order(df, "scenario"),
                               header=alt.Header(labelAngle=0, labelAlign="left", labelFontWeight="bold")),
                   title=_title(fd)))


# --------------------------------------------------------------------------- trace replay

def trace_replay(ds: xr.Dataset, *, width: int = 260, height: int = 260) -> Chart:
    """Observed vs modelled ``delta`` and ``total_scan`` per call, and matches per shrinker.

    Parameters
    ----------
    ds : xarray.Dataset
        ``rl.trace.replay`` output: dim ``call``; ``delta``, ``total_scan``,
        ``delta_model``, ``total_scan_model``, ``match``, ``shrinker``.

    Returns
    -------
    altair.VConcatChart
        Scatter panels (one point per distinct pair, sized by the number of
        calls, the diagonal is exact agreement) above a bar chart of the
        fraction of calls that matched, per shrinker.

    Examples
    --------
    >>> import xarray as xr, reclaimlab as rl
    >>> ds = xr.Dataset({"delta": ("call", [10, 20]), "delta_model": ("call", [10, 21]),
    ...                  "total_scan": ("call", [10, 20]), "total_scan_model": ("call", [10, 21]),
    ...                  "match": ("call", [True, False]), "shrinker": ("call", ["a", "a"])})
    >>> len(rl.plot.trace_replay(ds).to_dict()["vconcat"])
    2
    """
    fd = T.trace_replay(ds)
    df = fd.df.copy()
    ax = T.log_axis(np.r_[df["observed"].to_numpy(dtype=float), df["model"].to_numpy(dtype=float)])
    df["observed_plot"] = ax.plot(df["observed"])
    df["model_plot"] = ax.plot(df["model"])
    df["kind"] = "call"
    df["match"] = np.where(df["match"], "match", "differs")
    diag = pd.DataFrame([{"quantity": q, "observed_plot": v, "model_plot": v, "kind": "diagonal"}
                         for q in fd.meta["quantities"] for v in ax.domain])
    data = pd.concat([df, diag], ignore_index=True)
    points = alt.Chart().mark_circle(opacity=0.7).encode(
        x=_log_y("observed_plot", fd.labels["observed"], ax, channel=alt.X),
        y=_log_y("model_plot", fd.labels["model"], ax),
        size=alt.Size("calls:Q", title="calls", scale=alt.Scale(range=[12, 300])),
        color=alt.Color("match:N", title=None, scale=alt.Scale(domain=["match", "differs"],
                                                              range=["#4c78a8", "#e45756"])),
        tooltip=[alt.Tooltip("quantity:N"), alt.Tooltip("observed:Q", format=",.0f"),
                 alt.Tooltip("model:Q", format=",.0f"), alt.Tooltip("calls:Q")],
    ).transform_filter("datum.kind == 'call'")
    line = alt.Chart().mark_line(color="#888", strokeDash=[4, 4]).encode(
        x=alt.X("observed_plot:Q"), y=alt.Y("model_plot:Q")).transform_filter("datum.kind == 'diagonal'")
    scatter = alt.layer(line, points, data=data).properties(width=width, height=height).facet(
        column=alt.Column("quantity:N", title=None, sort=fd.meta["quantities"]))
    per = fd.meta["shrinkers"]
    bars = alt.Chart(per).mark_bar().encode(
        x=alt.X("fraction:Q", title=fd.labels["fraction"], scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("shrinker:N", title=None, sort=per["shrinker"].tolist()),
        color=alt.value("#4c78a8"),
        tooltip=[alt.Tooltip("shrinker:N"), alt.Tooltip("calls:Q"), alt.Tooltip("matched:Q"),
                 alt.Tooltip("fraction:Q", format=".1%")],
    ).properties(width=2 * width, height=max(14 * len(per), 40))
    return alt.vconcat(scatter, bars, title=_title(fd))
