"""Plain-text reports of a trace, a replay and a what-if (72 columns, 7-bit ASCII by default).

The one text rendering of the Datasets of :mod:`reclaimlab.trace`, reached as
``rl.text.trace_summary``, ``rl.text.trace_replay`` and ``rl.text.trace_whatif``.
Meant for a terminal (``reclaimlab trace read|replay|whatif``) and for mail to
LKML. Built on :mod:`reclaimlab.viz.textkit`, like the other text figures:
strings from the trace (task and symbol names) are cut to fit and, unless
``unicode``, made ASCII. Counts of objects are printed exactly.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from .provenance import provenance
from .textkit import check_width, finish, heading, table, wrap


def _pct(x: float) -> str:
    return "-" if not np.isfinite(x) else f"{100 * x:.2f}%"


def _para(lines: list[str], text: str, width: int, unicode: bool, indent: str = "") -> None:
    lines.extend(wrap(text, width, indent=indent, unicode=unicode))


def trace_summary(ds: xr.Dataset, *, width: int = 72, unicode: bool = False) -> str:
    """What a trace holds: counts, shrinkers, reclaim events.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`reclaimlab.trace.read`.
    width : int
        Maximum line width (at least 40).
    unicode : bool
        Keep non-ASCII characters of task and symbol names.

    Examples
    --------
    >>> import reclaimlab as rl
    >>> ds = rl.trace.parse(rl.trace.synthetic_trace(400))
    >>> txt = rl.text.trace_summary(ds)
    >>> max(map(len, txt.splitlines())) <= 72 and txt.isascii()
    True
    """
    width = check_width(width)
    a = ds.attrs
    n = ds.sizes.get("call", 0)
    out: list[str] = heading("Trace summary", width, unicode)
    for text in (
        f"Trace {a.get('source', '?')} ({a.get('compression', 'none')}).",
        f"Lines {a.get('lines', 0)}: {a.get('count_mm_shrink_slab_start', 0)} shrink starts, "
        f"{a.get('count_mm_shrink_slab_end', 0)} ends, {ds.sizes.get('event', 0)} reclaim events, "
        f"{a.get('skipped_events', 0)} other events skipped; {a.get('comment_lines', 0)} comments, "
        f"{a.get('blank_lines', 0)} blank, {a.get('preamble_lines', 0)} preamble, "
        f"{a.get('malformed_lines', 0)} malformed; {a.get('lost_events', 0)} events lost.",
        f"Calls {n}: {int(ds.has_end.sum()) if n else 0} with end event, "
        f"{a.get('unmatched_starts', 0)} without, {a.get('orphan_ends', 0)} ends without start.",
    ):
        _para(out, text, width, unicode)
    if n:
        t = ds.time.values
        _para(out, f"Time {t.min():.6f} to {t.max():.6f} s; format {a.get('start_formats', '?')}; "
              f"flags columns {a.get('flags_columns') or 'none'}.", width, unicode)
    malformed = [f"{k[len('malformed_'):]} {v}" for k, v in a.items()
                 if k.startswith("malformed_") and k != "malformed_lines"]
    if malformed:
        _para(out, "Malformed lines by kind: " + ", ".join(malformed) + ".", width, unicode)
    if a.get("compression_error"):
        _para(out, f"Compression error: {a['compression_error']}", width, unicode)
    if n:
        df = pd.DataFrame({"shrinker": ds.shrinker.values, "id": ds.shrinker_id.values,
                           "F": ds.cache_items.values, "p": ds.priority.values,
                           "scanned": np.where(ds.has_end.values,
                                               ds.total_scan.values - ds.total_scan_left.values, 0)})
        rows = [[name, str(g.id.nunique()), str(len(g)), f"{g.p.min()}-{g.p.max()}", str(g.F.max()),
                 str(g.scanned.sum())] for name, g in df.groupby("shrinker", sort=False)]
        out += [""] + table(["shrinker", "inst", "calls", "prio", "max items", "scanned"], rows,
                            width=width, unicode=unicode)
    if ds.sizes.get("event", 0):
        counts = pd.Series(ds.event_name.values).value_counts(sort=False)
        out += [""] + table(["reclaim event", "count"], [[k, str(v)] for k, v in counts.items()],
                            width=width, unicode=unicode)
    return finish(out, width, unicode, footer=[provenance(ds)])


def trace_replay(rep: xr.Dataset, *, width: int = 72, unicode: bool = False, max_mismatches: int = 10,
                max_notes: int = 12) -> str:
    """Match rates per shrinker, seeks found, and the first mismatches.

    Instances are listed when their seeks or batch is not simply the table's:
    inferred other than 2, ambiguous (several values fit), no value fits.

    Parameters
    ----------
    rep : xarray.Dataset
        From :func:`reclaimlab.trace.replay`.
    width, unicode
        As for :func:`trace_summary`.
    max_mismatches, max_notes : int
        How many mismatching calls and instance notes to list.

    Examples
    --------
    >>> import reclaimlab as rl
    >>> ds = rl.trace.parse(rl.trace.synthetic_trace(400))
    >>> print(rl.text.trace_replay(rl.trace.replay(ds, "v5.13")).splitlines()[3])
    Calls 208, evaluated 208, matched 208 (100.00%).
    """
    width = check_width(width)
    a = rep.attrs
    check = rep.new_scan_check.values
    out: list[str] = heading("Trace replay", width, unicode)
    name = a["formula"] + (f" (= {a['formula_canonical']})" if a["formula"] != a["formula_canonical"] else "")
    for text in (
        f"Replay of {a.get('source', '?')} under {name}.",
        f"Calls {a['calls']}, evaluated {a['evaluated']}, matched {a['matched']} ({_pct(a['match_rate'])}).",
        f"End events: {int(np.isin(check, ('ok', 'concurrent', 'mismatch')).sum())} checked, "
        f"{a['concurrent']} show a concurrent add, {a['new_scan_mismatch']} below the model.",
    ):
        _para(out, text, width, unicode)
    if rep.sizes.get("symbol", 0):
        rows = []
        for k in range(rep.sizes["symbol"]):
            sel = rep.instance_shrinker.values == rep.symbol.values[k]
            rows.append([rep.symbol.values[k], str(int(rep.symbol_instances[k])), str(int(rep.symbol_calls[k])),
                         str(int(rep.symbol_matched[k])), _pct(float(rep.symbol_match_rate[k])),
                         ",".join(sorted({str(s) for s in rep.instance_seeks.values[sel]})),
                         ",".join(sorted({str(b) for b in rep.instance_batch.values[sel]}))])
        out += [""] + table(["shrinker", "inst", "calls", "matched", "rate", "seeks", "batch"], rows,
                            width=width, unicode=unicode)
    notes = []
    for k in range(rep.sizes.get("instance", 0)):
        src, fits = rep.instance_seeks_source.values[k], rep.instance_seeks_fits.values[k]
        bsrc = rep.instance_batch_source.values[k]
        seeks = int(rep.instance_seeks[k])
        if "," not in fits and bsrc in ("table", "override") and (
                src in ("table", "override") or (src == "inferred" and seeks == 2)):
            continue  # the table's value, or the default 2 confirmed: nothing to say
        notes.append(f"{rep.instance.values[k]}: seeks {seeks} {src}"
                     + (f" (fit {fits})" if "," in fits else "")
                     + ("" if bsrc in ("table", "override") else f", batch {int(rep.instance_batch[k])} {bsrc}"))
    if notes:
        sources = pd.Series(rep.instance_seeks_source.values).value_counts()
        out.append("")
        _para(out, "Seeks per instance: " + ", ".join(f"{v} {k}" for k, v in sources.items()) + ".",
              width, unicode)
        for note in notes[:max_notes]:
            _para(out, note, width, unicode, indent="  ")
        if len(notes) > max_notes:
            out.append(f"  ... and {len(notes) - max_notes} more")
    mism = rep.mismatch_call.values
    if len(mism):
        out.append("")
        _para(out, f"Mismatches, observed/model (first {min(len(mism), max_mismatches)} of {len(mism)}):",
              width, unicode)
        for c in mism[:max_mismatches].tolist():
            r = rep.isel(call=c)
            _para(out, f"call {c} line {int(r.line)} {r.shrinker_instance.values}", width, unicode, "  ")
            _para(out, f"F {int(r.cache_items)} p {int(r.priority)} nr {int(r.nr_deferred)}: "
                  f"delta {int(r.delta)}/{int(r.delta_model)} "
                  f"total {int(r.total_scan)}/{int(r.total_scan_model)}", width, unicode, "    ")
    return finish(out, width, unicode, footer=[provenance(rep)])


def trace_whatif(w: xr.Dataset, *, width: int = 72, unicode: bool = False) -> str:
    """Per shrinker, what the kernel scanned and what the formula would have.

    Parameters
    ----------
    w : xarray.Dataset
        From :func:`reclaimlab.trace.whatif`.
    width, unicode
        As for :func:`trace_summary`.

    Examples
    --------
    >>> import reclaimlab as rl
    >>> ds = rl.trace.parse(rl.trace.synthetic_trace(400))
    >>> print(rl.text.trace_whatif(rl.trace.whatif(ds, "v4.19", kernel="v5.13")).splitlines()[2])
    What-if: <text> under v4.19 (traced kernel's arithmetic: v5.13).
    """
    width = check_width(width)
    a = w.attrs
    out: list[str] = heading("Trace what-if", width, unicode)
    start = "the first observed value per slot" if a["initial"] == "observed" else "zero"
    for text in (
        f"What-if: {a.get('source', '?')} under {a['formula']} (traced kernel's arithmetic: {a['kernel']}).",
        f"{a['calls']} calls in trace order; deferred work carried by the model from {start}. "
        "Kernel: objects scanned per the end events; model: the same calls (those with an end "
        "event) under the formula.",
    ):
        _para(out, text, width, unicode)
    rows = []
    for k in range(w.sizes.get("symbol", 0)):
        ratio = float(w.symbol_scan_ratio[k])
        rows.append([w.symbol.values[k], str(int(w.symbol_calls[k])), str(int(w.symbol_scanned_kernel[k])),
                     str(int(w.symbol_scanned_model_with_end[k])), f"{ratio:.2f}" if np.isfinite(ratio) else "-"])
    tk, tm = a["scanned_kernel"], a["scanned_model_with_end"]
    rows.append(["total", str(a["calls"]), str(tk), str(tm), f"{tm / tk:.2f}" if tk else "-"])
    out += [""] + table(["shrinker", "calls", "kernel scanned", "model scanned", "ratio"], rows,
                        width=width, unicode=unicode)
    if w.sizes.get("symbol", 0):
        out.append("")
        _para(out, f"Calls that scan anything: kernel {int(w.symbol_scanning_calls_kernel.sum())}, "
              f"model {int(w.symbol_scanning_calls_model.sum())}.", width, unicode)
    return finish(out, width, unicode, footer=[provenance(w)])
