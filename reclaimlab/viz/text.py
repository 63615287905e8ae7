"""Text figures for plain-text mail: the chart figures as aligned tables,
log-scale bars and sparklines, no wider than ``width`` columns (72 by default).

Output is 7-bit ASCII unless ``unicode=True`` (then bars and sparklines use
block characters). The numbers come from the same tidy tables as the charts
(:mod:`reclaimlab.viz.tables`) and are printed with
:func:`reclaimlab.viz.textkit.fmt`: exact integers below 100000, otherwise
three significant digits (two in the heatmap grid).
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from . import tables as T
from ..model.schema import validate
from .provenance import provenance_lines
from .textkit import ascii_safe, check_width, finish, fmt, heading, log_bars, sparkline, table, wrap
from .trace_text import trace_replay, trace_summary, trace_whatif

__all__ = ["pressure_curve", "priority_heatmap", "small_large_ratio", "timeline",
           "dying_memcgs", "scorecard", "summary", "trace_summary", "trace_replay", "trace_whatif", "si"]


def si(x: float) -> str:
    """Short cache-size label: ``1``, ``100``, ``10k``, ``3.2M``.

    Examples
    --------
    >>> [si(v) for v in (7, 1000, 31623, 10**7)]
    ['7', '1k', '31.6k', '10M']
    """
    x = float(x)
    for div, suf in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            v = x / div
            s = f"{v:.3g}"
            return s + suf
    return f"{x:.3g}"


def _header(fd: T.FigureData, width: int, unicode: bool) -> list[str]:
    out = heading(fd.title, width, unicode)
    for line in fd.subtitle:
        out += wrap(line, width, unicode=unicode)
    out.append("")
    return out


def _facet_label(keys: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in keys.items())


# --------------------------------------------------------------------------- pressure

def pressure_curve(ds: xr.Dataset, *, width: int = 72, unicode: bool = False, priority=None,
                   batch=None, seeks=None, max_rows: int = 24) -> str:
    """The pressure curve as a table: cache size down, one column per formula.

    Parameters
    ----------
    ds : xarray.Dataset
        ``rl.sweep`` output or a simulation (see :func:`reclaimlab.plot.pressure_curve`).
    width : int
        Maximum line width (>= 40).
    unicode : bool
        Allow non-ASCII characters.
    priority, batch, seeks : int, optional
        Pick one value of a swept input.
    max_rows : int
        Cache sizes shown per table at most (evenly spread on a log scale).

    Returns
    -------
    str

    Examples
    --------
    >>> import reclaimlab as rl
    >>> ds = rl.sweep(["v4.19", "v5.0"], freeable=[10, 1000, 10**6], priority=12, calls=100)
    >>> print(rl.text.pressure_curve(ds))
    Shrinker pressure vs cache size
    ===============================
    fraction of the cache scanned per call, mean of 100 calls
    priority 12, batch 128, seeks 2
    <BLANKLINE>
    objects    v4.19     v5.0
    -------  -------  -------
         10        1        0
       1000    0.128        0
    1000000  4.88e-4  4.88e-4
    <BLANKLINE>
    0 = nothing scanned
    <BLANKLINE>
    reclaimlab 0.1.0: reclaimlab sweep --formulas v4.19,v5.0 --freeable
    10,1000,1000000 --priority 12 --batch 128 --seeks 2 --calls 100
    """
    width = check_width(width)
    fd = T.pressure(ds, priority=priority, batch=batch, seeks=seeks)
    df = fd.df
    lines = _header(fd, width, unicode)
    formulas = list(dict.fromkeys(df["formula"]))
    if fd.meta["kind"] == "simulation":
        piv = df.pivot_table(index=["cache"], columns="formula", values="pressure", sort=False)
        size = df.groupby("cache", sort=False)["freeable"].mean()
        order = size.sort_values().index
        rows = [[c, fmt(size[c])] + [fmt(piv.loc[c, f]) if f in piv.columns else "-" for f in formulas]
                for c in order]
        lines += table(["cache", "mean size"] + formulas, rows, width=width, key_cols=2, unicode=unicode)
        lines.append("")
        lines += wrap("values: fraction of the cache scanned per second (1/s); 0 = nothing scanned",
                      width, unicode=unicode)
        return finish(lines, width, unicode, footer=fd.provenance)
    facets = fd.meta["facets"]
    groups = df.groupby(facets, sort=False) if facets else [((), df)]
    for gi, (key, g) in enumerate(groups):
        key = key if isinstance(key, tuple) else (key,)
        if facets:
            if gi:
                lines.append("")
            lines.append(_facet_label(dict(zip(facets, key))) + ":")
        piv = g.pivot_table(index="freeable", columns="formula", values="pressure", sort=False)
        sizes = np.sort(piv.index.to_numpy())
        sizes = sizes[T._thin_index(len(sizes), max_rows)]
        rows = [[str(int(F))] + [fmt(piv.loc[F, f]) for f in formulas] for F in sizes]
        lines += table(["objects"] + formulas, rows, width=width, align="r" * (1 + len(formulas)),
                       unicode=unicode)
    lines += ["", "0 = nothing scanned"]
    return finish(lines, width, unicode, footer=fd.provenance)


# --------------------------------------------------------------------------- heatmap

def priority_heatmap(ds: xr.Dataset, *, width: int = 72, unicode: bool = False, batch=None,
                     seeks=None) -> str:
    """The priority heatmap as one number grid per formula (priority down, size across).

    Cells print the fraction of the cache scanned per call with two
    significant digits; as many cache sizes as fit the width are shown.

    Examples
    --------
    >>> import reclaimlab as rl
    >>> ds = rl.sweep("v5.0", freeable=[100, 10**6], priority=[12, 6, 0])
    >>> print("\\n".join(rl.text.priority_heatmap(ds).splitlines()[6:11]))
    prio  100      1M
    ----  ---  ------
    12      0  3.8e-4
    6       0   0.031
    0     1.3       2
    """
    width = check_width(width)
    fd = T.priority_grid(ds, batch=batch, seeks=seeks)
    df = fd.df
    lines = _header(fd, width, unicode)
    cell = 7
    ncols = max(1, (width - 5) // (cell + 1))
    for fi, (f, g) in enumerate(df.groupby("formula", sort=False)):
        sizes = np.sort(g["freeable"].unique())
        sizes = sizes[T._thin_index(len(sizes), ncols)]
        piv = g.pivot_table(index="priority", columns="freeable", values="pressure")
        prios = sorted(piv.index, reverse=True)
        rows = [[str(int(p))] + [fmt(piv.loc[p, s], 2) for s in sizes] for p in prios]
        if fi:
            lines.append("")
        lines += wrap(f"{f}: rows = priority, columns = cache size (objects)", width, unicode=unicode)
        lines += table(["prio"] + [si(s) for s in sizes], rows, width=width, unicode=unicode)
    lines += ["", "0 = nothing scanned"]
    return finish(lines, width, unicode, footer=fd.provenance)


# --------------------------------------------------------------------------- ratio

def small_large_ratio(ds: xr.Dataset, *, width: int = 72, unicode: bool = False, small=None,
                      large=None, batch=None, seeks=None) -> str:
    """Small-cache / large-cache pressure: a table by priority, then log bars at one priority.

    Examples
    --------
    >>> import reclaimlab as rl
    >>> ds = rl.sweep(["v4.19", "v5.0"], freeable=[1000, 10**6], priority=[12, 0], calls=10)
    >>> print("\\n".join(rl.text.small_large_ratio(ds).splitlines()[6:10]))
    prio  v4.19  v5.0
    ----  -----  ----
    12      263     0
    0      0.96  0.96
    """
    width = check_width(width)
    fd = T.small_large_ratio(ds, small=small, large=large, batch=batch, seeks=seeks)
    df = fd.df
    lines = _header(fd, width, unicode)
    formulas = list(dict.fromkeys(df["formula"]))
    piv = df.pivot_table(index="priority", columns="formula", values="ratio", dropna=False)
    prios = sorted(piv.index, reverse=True)
    rows = [[str(int(p))] + [fmt(piv.loc[p, f]) for f in formulas] for p in prios]
    lines += table(["prio"] + formulas, rows, width=width, unicode=unicode)
    p0 = prios[0]
    lines.append("")
    lines += wrap(f"at priority {int(p0)} (log scale; 1 = proportional, 0 = small cache not scanned):",
                  width, unicode=unicode)
    lines += log_bars(formulas, [piv.loc[p0, f] for f in formulas], width=width, unicode=unicode)
    if df["ratio"].isna().any():
        lines += ["", "- = the large cache is not scanned"]
    return finish(lines, width, unicode, footer=fd.provenance)


# --------------------------------------------------------------------------- timeline

def _timeline_sections(fd: T.FigureData, f: str) -> list[tuple[str, tuple[str, str], list]]:
    """(title, stat names, rows of (label, binned values, stat a, stat b)) per panel of formula ``f``."""
    panels, raw = fd.meta["panels"], fd.meta["raw"]
    out = []
    for name, df in panels.items():
        d = df[df["formula"] == f]
        r = raw[name].sel(formula=f)
        rows = []
        if name == "slab":
            d = d.groupby(["cache", "time"], sort=False)["value"].sum().reset_index()
            rr = r.sum("node")
            for c in dict.fromkeys(d["cache"]):
                v = rr.sel(cache=c).values
                rows.append((f"  {c}", d[d["cache"] == c]["value"].to_numpy(), float(v.min()), float(v.max())))
            out.append((fd.labels["slab"] + ", all nodes", ("min", "max"), rows))
            continue
        node_of = {str(x): x for x in r.node.values}
        for n in dict.fromkeys(d["node"]):
            vals = d[d["node"] == n]["value"].to_numpy()
            v = r.sel(node=node_of[n]).values.astype(float)
            if name == "priority":
                ok = v[v >= 0]
                lo, hi = (float(ok.min()), float(ok.max())) if ok.size else (np.nan, np.nan)
                rows.append((f"  node {n}", 12 - vals, lo, hi))
            elif name == "stall":
                rows.append((f"  node {n}", vals, float(v.sum()), float(v.max())))
            else:
                rows.append((f"  node {n}", vals, float(v.min()), float(v.max())))
        title = fd.labels[name]
        if name == "priority":
            title += " (tall = harder; blank = no reclaim)"
        out.append((title, ("total", "peak") if name == "stall" else ("min", "max"), rows))
    return out


def timeline(ds: xr.Dataset, *, width: int = 72, unicode: bool = False, formula=None,
             caches=None) -> str:
    """Sparklines of page cache, slab per cache, priority and stall, with exact min/max.

    One section per formula. Sparklines are bin means over time (slab summed
    over nodes); the numbers beside them are the minimum and maximum of the
    unbinned series (for stall: the total and the largest step; for
    priority: over the steps that reclaimed).

    Examples
    --------
    >>> from reclaimlab.testing import example_simulation
    >>> import reclaimlab as rl
    >>> print(rl.text.timeline(example_simulation(nodes=1, memcgs=0)).splitlines()[0])
    Reclaim over time: compile-and-copy
    """
    width = check_width(width)
    probe = T.timeline(ds, formula=formula, caches=caches, max_points=8)
    formulas = probe.meta["formulas"]
    labels, stats = [], []
    for f in formulas:
        for _, names, rows in _timeline_sections(probe, f):
            stats += list(names)
            for lab, _, a, b in rows:
                labels.append(ascii_safe(lab, unicode))
                stats += [fmt(a), fmt(b)]
    lw = min(max(len(x) for x in labels), width // 3)
    vw = max(len(x) for x in stats)
    sw = width - lw - 2 * (vw + 2) - 2
    if sw < 8:
        raise ValueError(f"width={width} leaves {sw} columns for sparklines; allowed: a wider width")
    fd = T.timeline(ds, formula=formula, caches=caches, max_points=sw)
    lines = _header(fd, width, unicode)
    for fi, f in enumerate(formulas):
        if len(formulas) > 1:
            if fi:
                lines.append("")
            lines += [f"formula {f}", "-" * len(f"formula {f}")]
        for title, names, rows in _timeline_sections(fd, f):
            lines += wrap(title, width, unicode=unicode)
            lines.append(" " * (lw + 2 + sw) + f"  {names[0]:>{vw}}  {names[1]:>{vw}}")
            for lab, vals, a, b in rows:
                sp = sparkline(vals, unicode=unicode)
                lab = ascii_safe(lab, unicode)[:lw]
                lines.append(f"{lab:<{lw}}  {sp:<{sw}}  {fmt(a):>{vw}}  {fmt(b):>{vw}}")
    return finish(lines, width, unicode, footer=fd.provenance)


# --------------------------------------------------------------------------- dying memcgs

def dying_memcgs(ds: xr.Dataset, *, width: int = 72, unicode: bool = False) -> str:
    """Dying memcgs per formula (and remedy): value at the end, peak, and a sparkline.

    All sparklines share one scale (0 to the largest peak), so they compare.

    Examples
    --------
    >>> from reclaimlab.testing import example_simulation
    >>> import reclaimlab as rl
    >>> print("\\n".join(rl.text.dying_memcgs(example_simulation(formulas=["v4.19", "v5.0"])).rsplit("\\n\\n", 1)[0].splitlines()[4:]))
    formula  at end    peak  over time (0 to 19)
    -------  ------  ------  -----------------------------------------------
    v4.19         3       3  _______________________........................
    v5.0         19      19  _____....:::::-----=====++++*****#####%%%%%@@@@
    """
    width = check_width(width)
    fd0 = T.dying_memcgs(ds, max_points=8)
    series = fd0.meta["series"]
    final, peak = fd0.meta["final"], fd0.meta["peak"]
    keys = [tuple(str(x) for x in row) for row in final[series].itertuples(index=False)]
    labels = [" / ".join(k) for k in keys]
    head = " / ".join(series)
    lw = max([len(head)] + [len(ascii_safe(s, unicode)) for s in labels])
    lw = min(lw, width // 3)
    vw = max([6] + [len(fmt(v)) for v in final["dying_memcgs"]] + [len(fmt(v)) for v in peak["dying_memcgs"]])
    sw = width - lw - 2 * (vw + 2) - 2
    fd = T.dying_memcgs(ds, max_points=sw)
    df = fd.df
    hi = float(peak["dying_memcgs"].max()) if len(peak) else 1.0
    lines = _header(T.FigureData(df, fd.title, fd.subtitle), width, unicode)
    lines.append(f"{head:<{lw}}  {'at end':>{vw}}  {'peak':>{vw}}  over time (0 to {fmt(hi)})"[:width])
    lines.append("-" * lw + "  " + "-" * vw + "  " + "-" * vw + "  " + "-" * sw)
    for k, lab, fv, pv in zip(keys, labels, final["dying_memcgs"], peak["dying_memcgs"]):
        m = np.ones(len(df), dtype=bool)
        for d, x in zip(series, k):
            m &= (df[d] == x).to_numpy()
        sp = sparkline(df.loc[m, "dying_memcgs"].to_numpy(), unicode=unicode, lo=0.0, hi=hi)
        lab = ascii_safe(lab, unicode)[:lw]
        lines.append(f"{lab:<{lw}}  {fmt(fv):>{vw}}  {fmt(pv):>{vw}}  {sp}")
    return finish(lines, width, unicode, footer=fd.provenance)


# --------------------------------------------------------------------------- scorecard

def scorecard(ds, *, width: int = 72, unicode: bool = False) -> str:
    """The scorecard as one table per scenario: formulas down, metrics across.

    Column keys are explained under the title; ``-`` marks a metric the
    scenario does not measure. Values are those of
    :func:`reclaimlab.viz.tables.scores`.

    Examples
    --------
    >>> from reclaimlab.testing import example_simulation
    >>> import reclaimlab as rl
    >>> txt = rl.text.scorecard(example_simulation(formulas=["v4.19", "v5.0"]))
    >>> print(txt.rsplit("\\n\\n", 1)[0].splitlines()[-1])    # the last line before the provenance
    v5.0     0.0125  0.00394     15982   2.45     19  120
    """
    width = check_width(width)
    fd = T.scorecard(ds)
    df = fd.df
    sc = fd.meta["scores"]
    short = {k: T.SCORE_SHORT[k] for k in sc.data_vars}
    key = "; ".join(f"{short[k]} = {sc[k].attrs.get('long_name', k)}"
                    + (f" ({sc[k].attrs['units']})" if sc[k].attrs.get("units", "1") != "1" else "")
                    for k in sc.data_vars)
    lines = _header(T.FigureData(df, fd.title, [key + "; - = not measured"]), width, unicode)
    formulas = list(dict.fromkeys(df["formula"]))
    # rl.compare(kernels=[...]) labels its runs by kernel along the formula dim.
    runs = [ds] if isinstance(ds, xr.Dataset) else list(ds.values()) if isinstance(ds, dict) else list(ds)
    label = "kernel" if runs and all("kernel_formula" in getattr(r, "coords", {}) for r in runs) else "formula"
    for si_, (s, g) in enumerate(df.groupby("scenario", sort=False)):
        if si_:
            lines.append("")
        lines.append(f"{s}:")
        cell = {(f, v): t for f, v, t in g[["formula", "variable", "text"]].itertuples(index=False)}
        rows = [[f] + [cell.get((f, v), "-") for v in sc.data_vars] for f in formulas]
        lines += table([label] + [short[v] for v in sc.data_vars], rows, width=width, unicode=unicode)
    return finish(lines, width, unicode, footer=fd.provenance)


# --------------------------------------------------------------------------- run summary

#: The interactive task's rows: (variable, label, factor from the variable's units).
_INTERACTIVE = (("alloc_latency_p50", "allocation latency p50 (ms)", 1e3),
                ("alloc_latency_p99", "allocation latency p99 (ms)", 1e3),
                ("alloc_latency_p999", "allocation latency p99.9 (ms)", 1e3),
                ("alloc_stalls_per_min", "allocations > 100 ms per min", 1.0))


def _rules_line(ds: xr.Dataset, formula: str) -> str:
    a = ds.attrs
    def pick(k: str) -> str:
        if "formula" in ds.dims and k in ds.coords:
            return str(ds[k].sel(formula=formula).item())
        return str(a.get(k, "?"))
    runs = f"formula {pick('kernel_formula')}, " if "kernel_formula" in ds.coords else ""
    return (f"{formula}: {runs}inode rule {pick('inode_rule')}, XFS inode reclaim {pick('xfs_reclaim')}, "
            f"memcg remedy {pick('memcg_remedy')}")


def summary(ds: xr.Dataset, *, width: int = 72, unicode: bool = False,
            provenance: bool = True) -> str:
    """What a simulation run measured, one column per formula: the numbers a mail quotes.

    The scorecard's measures (:func:`reclaimlab.viz.tables.scores`), the
    interactive allocations' latencies where the scenario has them, the rules
    each run followed, and the provenance line.

    Parameters
    ----------
    ds : xarray.Dataset
        ``rl.simulate`` or ``rl.compare`` output.
    width : int
        Maximum line width (>= 40).
    unicode : bool
        Allow non-ASCII characters.
    provenance : bool
        End with the provenance line (False when a figure that carries the
        same line follows, as in ``reclaimlab simulate``).

    Examples
    --------
    >>> import reclaimlab as rl
    >>> txt = rl.text.summary(rl.simulate("desktop-copy", kernel="4.19.3", reduced=True))
    >>> txt.splitlines()[0]
    'Run summary: desktop-copy'
    """
    width = check_width(width)
    validate(ds, "simulation", figure="summary")
    sc = T.scores(ds).isel(scenario=0)
    formulas = [str(f) for f in sc.formula.values]
    preset = "the fast preset" if '"reduced": true' in str(ds.attrs.get("scenario", "")) else "the full preset"
    kernel = ds.attrs.get("kernel")
    # One run under a kernel: name the formula that kernel runs (a comparison of
    # kernels names it per column in the rules lines below).
    ran = f" (formula {ds.attrs['formula']})" if kernel and ds.attrs.get("formula") else ""
    head = (f"kernel {kernel}{ran}, " if kernel else "") + f"{preset}, seed {ds.attrs.get('seed', '?')}"
    fd = T.FigureData(sc.to_dataframe(), f"Run summary: {T._scenario_name(ds)}", [head],
                      provenance=provenance_lines(ds))
    lines = _header(fd, width, unicode)
    rows = []
    for var, (label, units) in T.SCORE_VARS.items():
        values = sc[var].values
        if np.isnan(values).all():
            continue
        rows.append([f"{label} ({sc[var].attrs.get('units', units)})"] + [fmt(v) for v in values])
    for var, label, factor in _INTERACTIVE:
        if var in ds:
            da = ds[var] if "formula" in ds[var].dims else ds[var].expand_dims(formula=formulas)
            rows.append([label] + [fmt(factor * float(v)) for v in da.values])
    lines += table(["measure"] + formulas, rows, width=width, key_cols=1, unicode=unicode)
    note = _workload_note(ds)
    if note:
        lines += wrap(note, width, unicode=unicode)
    lines.append("")
    for f in formulas:
        lines += wrap(_rules_line(ds, f), width, unicode=unicode)
    return finish(lines, width, unicode, footer=fd.provenance if provenance else ())


def _workload_note(ds: xr.Dataset) -> str | None:
    """What the workload time row cannot say: no timed workload, or a time extrapolated."""
    if "workload_time" not in ds:
        return "workload time: - (this scenario has no timed workload)"
    # ``finished`` is recorded per run; a comparison keeps the first run's only, so
    # the note is given for a single run.
    if "formula" not in ds.workload_time.dims and not ds.workload_time.attrs.get("finished", 1):
        return "workload time: not finished within the run, extrapolated from its progress rate"
    return None
