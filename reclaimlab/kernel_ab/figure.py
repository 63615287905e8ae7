"""The kernel A/B comparison as a 72-column text figure and an Altair chart.

Both draw a :func:`reclaimlab.kernel_ab.comparison` Dataset: pressure per
cache (real and model, per kernel), the floor/stock ratio per cache, the order
of the caches by pressure, kswapd's priorities, and slab against page cache
over time.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..viz.textkit import check_width, finish, fmt, heading, wrap

__all__ = ["text", "chart", "order"]


def order(ds: xr.Dataset, source: str, variant: str) -> list[str]:
    """The caches a kernel scanned, most pressed first (``source`` real or model)."""
    r = ds.pressure_rank.sel(source=source, variant=variant).values
    return [str(ds.cache.values[i]) for i in np.argsort(r) if r[i] > 0]


def _order_lines(label: str, caches: list[str], width: int) -> list[str]:
    line = label + (" > ".join(caches) or "(nothing scanned)")
    out = []
    while len(line) > width:
        cut = line.rfind(" > ", 0, width)
        out.append(line[:cut + 2])
        line = "    " + line[cut + 3:]
    return out + [line]


def text(ds: xr.Dataset, *, width: int = 72, unicode: bool = False) -> str:
    """The comparison as plain text no wider than ``width`` columns.

    Examples
    --------
    ``print(text(comparison()))`` prints the comparison (``comparison()`` takes a few
    seconds, so it is not run here; tests/test_kernel_ab_model.py draws it).
    """
    width = check_width(width)
    variants = [str(v) for v in ds.variant.values]
    caches = [str(c) for c in ds.cache.values]
    L = heading("Kernel A/B: Linux 6.1 against the model, global rounds", width, unicode)
    L += wrap(f"Pressure = objects scanned / objects held (time average), real / model. "
              f"Model measured from the {ds.attrs.get('measured_from')} capture, big tree "
              f"'{ds.attrs.get('description')}'.", width, unicode=unicode)
    L.append("")
    col = max(10, min(20, (width - 12) // len(variants)))
    L.append(f"{'cache':12}" + "".join(f"{v + ' real/model':>{col}}" for v in variants))
    for c in caches:
        cells = [f"{fmt(ds.pressure.sel(source='real', variant=v, cache=c).item())} / "
                 f"{fmt(ds.pressure.sel(source='model', variant=v, cache=c).item())}" for v in variants]
        L.append(f"{c:12}" + "".join(f"{x:>{col}}" for x in cells))
    L += ["", "Pressure relative to stock (real, model; '-' where stock is 0)", "-" * min(width, 62)]
    others = [v for v in variants if v != "stock"]
    L.append(f"{'cache':12}" + "".join(f"{v + ' real':>12}{v + ' model':>12}" for v in others))
    for c in caches:
        cells = []
        for v in others:
            for s in ("real", "model"):
                cells.append(f"{fmt(ds.ratio.sel(source=s, variant=v, cache=c).item())}x"
                             if np.isfinite(ds.ratio.sel(source=s, variant=v, cache=c).item()) else "-")
        L.append(f"{c:12}" + "".join(f"{x:>12}" for x in cells))
    L.append("")
    for v in variants:
        for s in ("real", "model"):
            L += _order_lines(f"order {v} {s:5}: ", order(ds, s, v), width)
    pr = list(range(12, 3, -1))
    for var, title in (("kswapd_priority", "Reclaim priority (% of kswapd's sb#1 calls; model: % of intervals)"),
                       ("lowest_priority", "Lowest priority of each interval with reclaim (%), both sides")):
        L += ["", title, "-" * min(width, 62)]
        L.append(f"{'priority':14}" + "".join(f"{p:>5}" for p in pr) + f"{'<4':>5}")
        for v in variants:
            for s in ("real", "model"):
                h = ds[var].sel(source=s, variant=v).values * 100
                L.append(f"{v + ' ' + s:14}" + "".join(f"{h[p]:>5.0f}" for p in pr) + f"{h[:4].sum():>5.0f}")
    L += ["", "Slab (reclaimable) and page cache over time, MiB", "-" * min(width, 62)]
    t = ds.time.values
    idx = np.unique(np.linspace(0, len(t) - 1, min(7, len(t))).astype(int))
    L.append(f"{'t (s)':17}" + "".join(f"{t[i]:>7.0f}" for i in idx))
    for v in variants:
        for s in ("real", "model"):
            for var, tag in (("slab", "slab"), ("page_cache", "file")):
                x = ds[var].sel(source=s, variant=v).values
                L.append(f"{v[:5]:5} {s:5} {tag:5}"
                         + "".join(f"{x[i]:>7.0f}" if np.isfinite(x[i]) else f"{'':>7}" for i in idx))
    footer = [f"Made by {ds.attrs.get('made_by', 'reclaimlab.kernel_ab.comparison')}, reclaimlab "
              f"{ds.attrs.get('reclaimlab_version', '')}; captures: {ds.attrs.get('captures', '')}."]
    return finish(L, width, unicode, footer=footer)


def chart(ds: xr.Dataset):
    """Pressure per cache (log), real beside model, one row per kernel; kswapd priorities; slab over time.

    Examples
    --------
    ``chart(comparison())`` is an ``alt.VConcatChart`` of the three panels; save it with
    :func:`reclaimlab.save` (``.svg``, ``.png``, ``.html``).
    """
    import altair as alt

    rows = [{"source": str(s), "kernel": f"{v} ({ds.formula.sel(variant=v).item()})", "cache": str(c),
             "pressure": float(ds.pressure.sel(source=s, variant=v, cache=c))}
            for s in ds.source.values for v in ds.variant.values for c in ds.cache.values]
    df = pd.DataFrame(rows)
    df = df[df.pressure > 0]
    kernels = [f"{v} ({ds.formula.sel(variant=v).item()})" for v in ds.variant.values]
    sources = alt.Scale(domain=["real", "model"], range=["#4c78a8", "#f58518"])
    source_color = alt.Color("source:N", title=None, scale=sources)
    variants = [str(v) for v in ds.variant.values]
    pressure = alt.Chart(df).mark_point(filled=True, size=70).encode(
        x=alt.X("cache:N", title=None, sort=[str(c) for c in ds.cache.values]),
        y=alt.Y("pressure:Q", scale=alt.Scale(type="log"), title="scanned / held"),
        color=source_color,
        shape=alt.Shape("source:N", title=None, scale=alt.Scale(domain=["real", "model"],
                                                                range=["square", "circle"])),
        row=alt.Row("kernel:N", title=None, sort=kernels),
    ).properties(width=300, height=110,
                 title="Pressure per cache: objects scanned per object held (not scanned: no point)")
    pr = ds.lowest_priority.to_dataframe().reset_index()
    pr = pr[pr.priority >= 4]
    prio = alt.Chart(pr).mark_bar().encode(
        x=alt.X("priority:O", sort="descending", title="reclaim priority"),
        xOffset=alt.XOffset("source:N"),
        y=alt.Y("lowest_priority:Q", title="fraction of intervals", axis=alt.Axis(format="%")),
        color=source_color, column=alt.Column("variant:N", title=None, sort=variants),
    ).properties(width=150, height=110,
                 title="Lowest reclaim priority of each interval with reclaim")
    ts = ds[["slab", "page_cache"]].to_dataframe().reset_index().melt(
        id_vars=["source", "variant", "time"], value_vars=["slab", "page_cache"], var_name="memory",
        value_name="MiB").dropna()
    series = alt.Chart(ts).mark_line().encode(
        x=alt.X("time:Q", title="s since the first global round"),
        y=alt.Y("MiB:Q", title="MiB"),
        color=source_color, strokeDash=alt.StrokeDash("memory:N", title=None),
        column=alt.Column("variant:N", title=None, sort=variants),
    ).properties(width=150, height=110, title="Reclaimable slab and page cache (MiB)")
    return alt.vconcat(pressure, prio, series).properties(
        title=alt.Title("Kernel A/B: Linux 6.1 stock / floor / rik against the model",
                        subtitle=[f"global rounds; model measured from the {ds.attrs.get('measured_from')} "
                                  f"capture, big tree '{ds.attrs.get('description')}'; "
                                  f"{ds.attrs.get('formulas', '')}"], anchor="start"))
