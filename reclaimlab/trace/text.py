"""Plain-text reports of a trace, a replay and a what-if: 72 columns, 7-bit ASCII.

Meant for a terminal (``reclaimlab trace read|replay|whatif``) and for mail to
LKML. Strings that come from the trace (task and symbol names) are cut to fit
and anything outside printable ASCII becomes ``?``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

WIDTH = 72


def _ascii(text) -> str:
    return "".join(c if " " <= c <= "~" else "?" for c in str(text))


def _cut(text, width: int) -> str:
    s = _ascii(text)
    return s if len(s) <= width else s[:max(width - 1, 0)] + "~"


def _num(v, width: int) -> str:
    """An integer right-aligned in ``width`` (scientific when it does not fit)."""
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "-".rjust(width)
    s = f"{int(v)}"
    if len(s) > width:
        s = f"{float(v):.{max(width - 6, 1)}e}"
    return s.rjust(width)


def _pct(x) -> str:
    return "     -" if not np.isfinite(x) else f"{100 * x:6.2f}%"


def _table(head: list[tuple[str, int]], rows: list[list[str]]) -> list[str]:
    """Rows of cells; the first column is left-aligned, the rest right-aligned."""
    def line(cells):
        parts = [_cut(cells[0], head[0][1]).ljust(head[0][1])]
        parts += [_cut(c, w).rjust(w) for c, (_, w) in zip(cells[1:], head[1:])]
        return " ".join(parts).rstrip()
    return [line([h for h, _ in head])] + [line(r) for r in rows]


def _finish(lines: list[str]) -> str:
    out = []
    for ln in lines:
        ln = _ascii(ln)
        while len(ln) > WIDTH:  # wrap at a blank where possible
            cut = ln.rfind(" ", 0, WIDTH + 1)
            cut = cut if cut > 8 else WIDTH
            out.append(ln[:cut].rstrip())
            ln = "    " + ln[cut:].lstrip()
        out.append(ln)
    return "\n".join(out) + "\n"


def summary_text(ds: xr.Dataset) -> str:
    """What a trace holds: counts, shrinkers, reclaim events.

    Examples
    --------
    >>> import reclaimlab as rl
    >>> ds = rl.trace.parse(rl.trace.synthetic_trace(400))
    >>> txt = rl.trace.summary_text(ds)
    >>> max(map(len, txt.splitlines())) <= 72 and txt.isascii()
    True
    """
    a = ds.attrs
    n = ds.sizes.get("call", 0)
    lines = [
        f"Trace {a.get('source', '?')} ({a.get('compression', 'none')})",
        f"Lines {a.get('lines', 0)}: {a.get('count_mm_shrink_slab_start', 0)} shrink starts, "
        f"{a.get('count_mm_shrink_slab_end', 0)} ends, {ds.sizes.get('event', 0)} reclaim events",
        f"Other events skipped {a.get('skipped_events', 0)}",
        f"Comments {a.get('comment_lines', 0)}, blank {a.get('blank_lines', 0)}, "
        f"preamble {a.get('preamble_lines', 0)}, malformed {a.get('malformed_lines', 0)}, "
        f"lost events {a.get('lost_events', 0)}",
        f"Calls {n}: {int(ds.has_end.sum()) if n else 0} with end event, "
        f"{a.get('unmatched_starts', 0)} without, {a.get('orphan_ends', 0)} ends without start",
    ]
    if n:
        t = ds.time.values
        lines.append(f"Time {t.min():.6f} to {t.max():.6f} s; format {a.get('start_formats', '?')}; "
                     f"flags columns {a.get('flags_columns', '?') or 'none'}")
    malformed = [f"{k[len('malformed_'):]} {v}" for k, v in a.items()
                 if k.startswith("malformed_") and k != "malformed_lines"]
    if malformed:
        lines.append("Malformed lines by kind: " + ", ".join(malformed))
    if a.get("compression_error"):
        lines.append(f"Compression error: {a['compression_error']}")
    if n:
        df = pd.DataFrame({"shrinker": ds.shrinker.values, "id": ds.shrinker_id.values,
                           "F": ds.cache_items.values, "p": ds.priority.values,
                           "scanned": np.where(ds.has_end.values,
                                               ds.total_scan.values - ds.total_scan_left.values, 0)})
        g = df.groupby("shrinker", sort=False)
        rows = [[name, str(gr.id.nunique()), str(len(gr)), f"{gr.p.min()}-{gr.p.max()}",
                 _num(gr.F.max(), 12), _num(gr.scanned.sum(), 14)] for name, gr in g]
        lines += ["", *_table([("Shrinker", 24), ("inst", 4), ("calls", 8), ("prio", 5),
                               ("max items", 12), ("scanned", 14)], rows)]
    if ds.sizes.get("event", 0):
        counts = pd.Series(ds.event_name.values).value_counts(sort=False)
        lines += ["", *_table([("Reclaim event", 50), ("count", 10)],
                              [[k, str(v)] for k, v in counts.items()])]
    return _finish(lines)


def replay_text(rep: xr.Dataset, *, max_mismatches: int = 10, max_notes: int = 12) -> str:
    """Match rates per shrinker, seeks found, and the first mismatches.

    Instances are listed when their seeks or batch is not simply the table's:
    inferred other than 2, ambiguous (several values fit), no value fits.

    Examples
    --------
    >>> import reclaimlab as rl
    >>> ds = rl.trace.parse(rl.trace.synthetic_trace(400))
    >>> print(rl.trace.replay_text(rl.trace.replay(ds, "v5.13")).splitlines()[1])
    Calls 182, evaluated 182, matched 182 (100.00%)
    """
    a = rep.attrs
    lines = [
        f"Replay of {a.get('source', '?')} under {a['formula']}"
        + (f" (= {a['formula_canonical']})" if a["formula"] != a["formula_canonical"] else ""),
        f"Calls {a['calls']}, evaluated {a['evaluated']}, matched {a['matched']} ({_pct(a['match_rate']).strip()})",
        f"End events: {int((rep.new_scan_check != 'no_end').sum() - (rep.new_scan_check == 'not_evaluated').sum())}"
        f" checked, {a['concurrent']} show a concurrent add, {a['new_scan_mismatch']} below the model",
    ]
    if rep.sizes.get("symbol", 0):
        rows = []
        for k in range(rep.sizes["symbol"]):
            sym = rep.symbol.values[k]
            sel = rep.instance_shrinker.values == sym
            seeks = ",".join(sorted({str(s) for s in rep.instance_seeks.values[sel]}))
            batch = ",".join(sorted({str(b) for b in rep.instance_batch.values[sel]}))
            rows.append([sym, str(int(rep.symbol_instances[k])), str(int(rep.symbol_calls[k])),
                         str(int(rep.symbol_matched[k])), _pct(float(rep.symbol_match_rate[k])), seeks, batch])
        lines += ["", *_table([("Shrinker", 22), ("inst", 4), ("calls", 8), ("matched", 8), ("rate", 7),
                               ("seeks", 8), ("batch", 8)], rows)]
    notes = []
    for k in range(rep.sizes.get("instance", 0)):
        src, fits = rep.instance_seeks_source.values[k], rep.instance_seeks_fits.values[k]
        bsrc = rep.instance_batch_source.values[k]
        if src in ("override", "table") and bsrc in ("override", "table") and "," not in fits:
            continue
        if src == "inferred" and "," not in fits and int(rep.instance_seeks[k]) == 2 and bsrc != "no-fit":
            continue  # inferred and equal to DEFAULT_SEEKS: nothing to say
        notes.append(f"  {_cut(rep.instance.values[k], 40)} seeks {int(rep.instance_seeks[k])} {src}"
                     + (f" (fit {fits})" if "," in fits else "")
                     + ("" if bsrc in ("table", "override") else f", batch {int(rep.instance_batch[k])} {bsrc}"))
    if notes:
        sources = pd.Series(rep.instance_seeks_source.values).value_counts()
        lines += ["", "Seeks per instance: " + ", ".join(f"{v} {k}" for k, v in sources.items()),
                  *notes[:max_notes]]
        if len(notes) > max_notes:
            lines.append(f"  ... and {len(notes) - max_notes} more")
    mism = rep.mismatch_call.values
    if len(mism):
        lines += ["", f"Mismatches, observed/model (first {min(len(mism), max_mismatches)} of {len(mism)}):"]
        for c in mism[:max_mismatches].tolist():
            r = rep.isel(call=c)
            lines.append(f"  call {c} line {int(r.line)} {_cut(r.shrinker_instance.values, 48)}")
            lines.append(f"    F {int(r.cache_items)} p {int(r.priority)} nr {int(r.nr_deferred)}: "
                         f"delta {int(r.delta)}/{int(r.delta_model)} "
                         f"total {int(r.total_scan)}/{int(r.total_scan_model)}")
    return _finish(lines)


def whatif_text(w: xr.Dataset) -> str:
    """Per shrinker, what the kernel scanned and what the formula would have.

    Examples
    --------
    >>> import reclaimlab as rl
    >>> ds = rl.trace.parse(rl.trace.synthetic_trace(400))
    >>> print(rl.trace.whatif_text(rl.trace.whatif(ds, "v4.19", kernel="v5.13")).splitlines()[0])
    What-if: <text> under v4.19 (traced kernel's arithmetic: v5.13)
    """
    a = w.attrs
    lines = [
        f"What-if: {a.get('source', '?')} under {a['formula']} (traced kernel's arithmetic: {a['kernel']})",
        f"{a['calls']} calls in trace order, deferred work carried by the model",
        "from " + ("the first observed value per slot." if a["initial"] == "observed" else "zero."),
        "Kernel: objects scanned per the end events; model: the same calls",
        "(those with an end event) under the formula.",
    ]
    rows = []
    for k in range(w.sizes.get("symbol", 0)):
        ratio = float(w.symbol_scan_ratio[k])
        rows.append([w.symbol.values[k], str(int(w.symbol_calls[k])), _num(int(w.symbol_scanned_kernel[k]), 15),
                     _num(int(w.symbol_scanned_model_with_end[k]), 15), "-" if not np.isfinite(ratio) else f"{ratio:.2f}"])
    tk, tm = a["scanned_kernel"], a["scanned_model_with_end"]
    rows.append(["Total", str(a["calls"]), _num(tk, 15), _num(tm, 15), f"{tm / tk:.2f}" if tk else "-"])
    lines += ["", *_table([("Shrinker", 22), ("calls", 8), ("kernel scanned", 15), ("model scanned", 15),
                           ("ratio", 7)], rows)]
    scan_k = int(w.symbol_scanning_calls_kernel.sum()) if w.sizes.get("symbol", 0) else 0
    scan_m = int(w.symbol_scanning_calls_model.sum()) if w.sizes.get("symbol", 0) else 0
    lines += ["", f"Calls that scan anything: kernel {scan_k}, model {scan_m}."]
    return _finish(lines)
