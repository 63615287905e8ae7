"""The ``reclaimlab`` command: formulas, sweeps, simulations, figures and traces.

Examples
--------
::

    reclaimlab formulas
    reclaimlab sweep --formulas v4.18,v4.19,v5.0 --freeable 10..1e7 --priority 12 --calls 100
    reclaimlab simulate compile-and-copy --formula v4.19 --out run.nc
    reclaimlab compare dying-memcgs --formulas v4.19,v5.0
    reclaimlab figure --list
    reclaimlab figure pressure-172b06c32b94 --format svg --out pressure.svg
    reclaimlab figure --all --out-dir figures
    reclaimlab trace replay reclaimlab/data/traces/debian-6.12-6.12.117-512M-2cpu.trace.xz --formula v5.13

Text goes to stdout as 7-bit ASCII unless ``--unicode``, and never with
control characters (a trace's task names cannot send escape sequences to the
terminal). Bad arguments, and files that cannot be read or written, exit with
status 2 and one line on stderr naming the problem; a progress bar is drawn on
stderr for long runs only when stderr is a terminal.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main", "UsageError"]

PROG = "reclaimlab"
#: The formulas ``compare`` runs without --formulas or --kernel.
DEFAULT_COMPARE = ("v4.18", "v4.19", "v5.0")
CHART_FORMATS = ("svg", "png", "pdf", "html", "json")
#: Most sizes ``--points`` may ask of a ``lo..hi`` range (each is a column of work).
MAX_POINTS = 1000
FIGURE_FORMATS = CHART_FORMATS + ("txt",)
DATA_FORMATS = ("nc", "zarr")


class UsageError(Exception):
    """A bad argument: reported on one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are one line (no usage dump) and exit with status 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {_one_line(message)} (see --help)\n")


def _one_line(msg: object) -> str:
    from .viz.textkit import ascii_safe
    text = " ".join(str(msg).split())
    return ascii_safe(text)


# --------------------------------------------------------------------------- progress

class Progress:
    """A one-line progress bar on stderr, silent unless stderr is a terminal.

    Call it as ``progress(what, done, total)``; :meth:`close` clears the line.

    Examples
    --------
    >>> import io
    >>> p = Progress(io.StringIO())      # not a terminal: draws nothing
    >>> p("scorecard", 1, 5); p.close(); p.stream.getvalue()
    ''
    """

    def __init__(self, stream=None, enabled: bool | None = None, width: int = 24) -> None:
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", lambda: False)
        self.enabled = bool(isatty()) if enabled is None else enabled
        self.width = width
        self.t0 = time.monotonic()
        self._shown = False

    def __call__(self, what: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        total = max(total, 1)
        n = int(round(self.width * min(done, total) / total))
        bar = "#" * n + "." * (self.width - n)
        line = f"\r[{bar}] {done}/{total} {what[:30]:<30} {time.monotonic() - self.t0:5.1f}s"
        self.stream.write(line)
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        if self.enabled and self._shown:
            self.stream.write("\r" + " " * 79 + "\r")
            self.stream.flush()


# --------------------------------------------------------------------------- argument types

def _number(text: str) -> int:
    """An integer, also written as 1e7, 10k, 4M or 1G."""
    t = text.strip().lower().replace("_", "")
    mult = 1
    if t and t[-1] in "kmg":
        mult = {"k": 10**3, "m": 10**6, "g": 10**9}[t[-1]]
        t = t[:-1]
    try:
        v = float(t) * mult
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    if v != int(v) or v < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a non-negative integer")
    return int(v)


def _int_list(text: str, *, log_points: int | None = None) -> list[int]:
    """``a,b,c`` or a range ``lo..hi`` (log-spaced with ``log_points``, else every integer)."""
    import numpy as np
    if ".." in text:
        lo_s, _, hi_s = text.partition("..")
        lo, hi = _number(lo_s), _number(hi_s)
        if hi < lo:
            raise argparse.ArgumentTypeError(f"range {text!r} runs backwards; write lo..hi")
        if log_points is None:
            return list(range(lo, hi + 1))
        if lo == 0:
            raise argparse.ArgumentTypeError(f"range {text!r} starts at 0; a log range needs lo >= 1")
        return [int(v) for v in np.unique(np.round(np.logspace(np.log10(lo), np.log10(hi), log_points)))]
    parts = [p for p in text.split(",") if p.strip()]
    if not parts:
        raise argparse.ArgumentTypeError(f"{text!r} is empty")
    return [_number(p) for p in parts]


def _names(text: str) -> list[str]:
    out = [p.strip() for p in text.split(",") if p.strip()]
    if not out:
        raise argparse.ArgumentTypeError(f"{text!r} names no formula")
    return out


def _setting(text: str) -> tuple[str, object]:
    key, eq, value = text.partition("=")
    if not eq or not key.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    try:
        v = json.loads(value)
    except ValueError:
        v = value
    return key.strip(), v


def _suffix_format(path: str | None, fmt: str | None, allowed: Sequence[str], what: str) -> str | None:
    """The output format from ``--format`` and/or the suffix of ``--out``."""
    if path is None:
        return fmt
    suffix = Path(path).suffix.lower().lstrip(".")
    if fmt is None:
        if suffix not in allowed:
            raise UsageError(f"--out {path!r}: suffix {('.' + suffix) if suffix else '(none)'} is not allowed "
                             f"for {what}; allowed: {', '.join('.' + a for a in allowed)}")
        return suffix
    if suffix != fmt:
        raise UsageError(f"--out {path!r} does not end in .{fmt} as --format {fmt} asks")
    return fmt


def _check_out_dir(path: str | None) -> None:
    if path is None:
        return
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        what = "is not a directory" if parent.exists() else "does not exist"
        raise UsageError(f"--out {path!r}: directory {str(parent)!r} {what}")


def _emit(text: str, unicode: bool) -> None:
    from .viz.textkit import ascii_safe
    out = ascii_safe(text, unicode)         # control characters go in either mode
    sys.stdout.write(out if out.endswith("\n") else out + "\n")


def _os_error(e: OSError) -> str:
    """What the OS said, and about which path: ``'x.txt': Permission denied``."""
    reason = e.strerror or str(e)
    names = [repr(str(f)) for f in (e.filename, e.filename2) if f is not None]
    return f"{' -> '.join(names)}: {reason}" if names else reason


# --------------------------------------------------------------------------- commands

def _cmd_formulas(args) -> int:
    from .kernel import formulas
    from .viz.textkit import ascii_safe
    if args.name:
        try:
            text = formulas.describe(args.name)
        except (KeyError, ValueError) as e:
            raise UsageError(f"formula {args.name!r}: {e}") from None
        _emit(_rewrap(text, args.width, args.unicode), args.unicode)
        return 0
    width = args.width
    aliases: dict[str, list[str]] = {}
    for a, canon in formulas.aliases().items():
        aliases.setdefault(canon, []).append(a)
    rows = [(n, formulas.spec(n).kernels, " ".join(aliases.get(n, []))) for n in formulas.names()]
    nw = max(len("name"), *(len(r[0]) for r in rows))
    aw = min(max(len("aliases"), *(len(r[2]) for r in rows)), 18)
    kw = width - nw - aw - 4
    import textwrap
    lines = [f"{'name':<{nw}}  {'kernels':<{kw}}  aliases", f"{'-' * nw}  {'-' * kw}  {'-' * aw}"]
    for n, k, a in rows:
        kl = textwrap.wrap(ascii_safe(k, args.unicode), kw) or [""]
        al = textwrap.wrap(a, aw) or [""]
        for i in range(max(len(kl), len(al))):
            lines.append(f"{n if i == 0 else '':<{nw}}  {kl[i] if i < len(kl) else '':<{kw}}  "
                         f"{al[i] if i < len(al) else ''}".rstrip())
    lines += ["", "reclaimlab formulas NAME describes one formula."]
    _emit("\n".join(lines), args.unicode)
    return 0


def _rewrap(text: str, width: int, unicode: bool) -> str:
    """Each line or paragraph of ``text`` wrapped to ``width`` (continuation lines indented)."""
    from .viz.textkit import wrap
    out: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            out.append("")
            continue
        first = wrap(line, width, unicode=unicode)
        out.append(first[0])
        if len(first) > 1:
            out += wrap(" ".join(first[1:]), width, indent="  " if ": " in line[:12] else "", unicode=unicode)
    return "\n".join(out)


_SWEEP_FIGURES = {"pressure": "pressure_curve", "heatmap": "priority_heatmap", "ratio": "small_large_ratio"}


def _cmd_sweep(args) -> int:
    from .sweep import sweep
    fmt = _suffix_format(args.out, None, FIGURE_FORMATS + DATA_FORMATS, "sweep") if args.out else None
    _check_out_dir(args.out)
    ds = sweep(args.formulas, freeable=args.freeable, priority=args.priority, batch=args.batch,
               seeks=args.seeks, calls=args.calls)
    fig = _SWEEP_FIGURES[args.figure]
    if fmt in DATA_FORMATS:
        rl_save(ds, args.out)
    elif fmt in CHART_FORMATS:
        from .viz import charts
        rl_save(getattr(charts, fig)(ds), args.out, scale=args.scale)
    else:
        from .viz import text as textfig
        txt = getattr(textfig, fig)(ds, width=args.width, unicode=args.unicode)
        if fmt == "txt":
            rl_save(txt, args.out)
        else:
            _emit(txt, args.unicode)
    return 0


def rl_save(obj, path, **kw):
    """rl.save, with what the OS refuses (permissions, a directory in the way) as a UsageError."""
    from .viz.save import save
    try:
        return save(obj, path, **kw)
    except OSError as e:
        raise UsageError(f"--out {str(path)!r} cannot be written: {e.strerror or e}") from None


def _check_scenario(name: str) -> None:
    from .scenarios import names
    if name not in names():
        raise UsageError(f"scenario {name!r} is unknown; allowed: {', '.join(names())}")


def _run_kwargs(args) -> dict:
    kw = dict(args.set or [])
    if args.reduced:
        kw["reduced"] = True
    return kw


def _run_output(ds, args, figure: str) -> int:
    from .viz import text as textfig
    if args.out:
        fmt = _suffix_format(args.out, None, FIGURE_FORMATS + DATA_FORMATS, args.command)
        if fmt in DATA_FORMATS:
            rl_save(ds, args.out)
        elif fmt in CHART_FORMATS:
            from .viz import charts
            rl_save(getattr(charts, figure)(ds), args.out, scale=args.scale)
        else:
            rl_save(getattr(textfig, figure)(ds, width=args.width, unicode=args.unicode), args.out)
        print(args.out, file=sys.stderr)
        return 0
    _emit(getattr(textfig, figure)(ds, width=args.width, unicode=args.unicode), args.unicode)
    return 0


def _cmd_simulate(args) -> int:
    from .simulate import simulate
    return _run_scenario(args, "simulate", "timeline", lambda kw: simulate(
        args.scenario, formula=args.formula, kernel=args.kernel, **kw))


def _cmd_compare(args) -> int:
    from .simulate import compare
    if args.kernel and args.formulas:
        raise UsageError("give --formulas or --kernel, not both (a kernel runs its own formula)")
    if args.kernel:
        return _run_scenario(args, "compare", args.figure, lambda kw: compare(
            args.scenario, kernels=args.kernel, **kw))
    return _run_scenario(args, "compare", args.figure, lambda kw: compare(
        args.scenario, formulas=args.formulas or list(DEFAULT_COMPARE), **kw))


def _run_scenario(args, command: str, figure: str, run) -> int:
    """Check the output path and scenario, run, then write or print the result."""
    if args.out:
        _suffix_format(args.out, None, FIGURE_FORMATS + DATA_FORMATS, command)
        _check_out_dir(args.out)
    _check_scenario(args.scenario)
    ds = run(dict(seed=args.seed, **_run_kwargs(args)))
    if command == "simulate":
        from .viz.text import summary
        # Printed alone (--out) it ends with the provenance line; printed above the
        # timeline figure, the figure's own footer carries it.
        text = summary(ds, width=args.width, unicode=args.unicode, provenance=bool(args.out))
        _emit(text + ("" if args.out else "\n"), args.unicode)
    return _run_output(ds, args, figure)


def _cmd_figure(args) -> int:
    from . import figures as catalog
    if args.list:
        if args.name or args.all:
            raise UsageError("--list takes no figure name and no --all")
        for n in catalog.names():
            print(n)
        return 0
    progress = Progress()
    try:
        if args.all:
            if args.name:
                raise UsageError(f"--all draws every figure; drop the name {args.name!r} or --all")
            if args.out:
                raise UsageError("--all writes several files; use --out-dir DIR instead of --out")
            if args.kernel:
                raise UsageError("--kernel rebuilds one figure; name it instead of --all")
            formats = args.format or ["svg", "png", "txt"]
            written = catalog.write_all(args.out_dir or "figures", formats, progress=progress,
                                        scale=args.scale, unicode=args.unicode)
            progress.close()
            for p in written:
                print(p)
            return 0
        if not args.name:
            raise UsageError("name a figure (reclaimlab figure --list), or use --list or --all")
        if args.name not in catalog.names():
            raise UsageError(f"figure {args.name!r} is not in the catalogue; see reclaimlab figure --list")
        if args.format and len(args.format) > 1:
            raise UsageError("give one --format for a single figure (several only with --all)")
        fmt = _suffix_format(args.out, args.format[0] if args.format else None, FIGURE_FORMATS, "a figure")
        if args.out_dir and not args.out:
            args.out = str(Path(args.out_dir) / f"{args.name}.{fmt or 'txt'}")
            Path(args.out_dir).mkdir(parents=True, exist_ok=True)
        fmt = fmt or "txt"
        _check_out_dir(args.out)
        try:
            ds = catalog.data(args.name, progress, kernels=args.kernel)
        except ValueError as e:
            raise UsageError(f"--kernel: {_one_line(e)}") from None
        progress.close()
        if fmt == "txt" and not args.out:
            _emit(catalog.text(args.name, ds, width=args.width, unicode=args.unicode), args.unicode)
            return 0
        out = args.out or f"{args.name}.{fmt}"
        p = catalog.write(args.name, out, ds, scale=args.scale, width=args.width, unicode=args.unicode)
        print(p)
        return 0
    finally:
        progress.close()


def _cmd_trace(args) -> int:
    from . import trace as tr
    from .kernel import formulas
    from .viz import trace_text
    if Path(args.path).is_dir():
        raise UsageError(f"trace file {args.path!r} is a directory, not a trace file")
    if not Path(args.path).exists():
        raise UsageError(f"trace file {args.path!r} does not exist")
    if args.action in ("replay", "whatif") and not args.formula:
        raise UsageError(f"trace {args.action} needs --formula F (see reclaimlab formulas)")
    fmt = None
    if args.out:
        fmt = _suffix_format(args.out, None, FIGURE_FORMATS + DATA_FORMATS, f"trace {args.action}")
        _check_out_dir(args.out)
        if fmt in CHART_FORMATS and args.action != "replay":
            raise UsageError(f"trace {args.action} has no chart; --out takes .nc, .zarr or .txt "
                             "(charts: trace replay)")
    if args.formula:
        try:
            formulas.spec(args.formula)
        except (KeyError, ValueError) as e:
            raise UsageError(f"--formula {args.formula!r}: {_one_line(e)}") from None
    progress = Progress()
    progress(f"reading {Path(args.path).name}", 0, 2)
    try:
        ds = tr.read(args.path)
    except tr.TraceFormatError as e:
        raise UsageError(f"trace file {_one_line(e)}") from None
    except OSError as e:
        raise UsageError(f"trace file {args.path!r} cannot be read: {e.strerror or e}") from None
    damage = _trace_damage(ds.attrs) if args.action != "read" else None
    if args.action != "read":
        progress(args.action, 1, 2)
        ds = getattr(tr, args.action)(ds, args.formula)
        if damage:
            ds.attrs["trace_damage"] = damage
    progress.close()
    if fmt in DATA_FORMATS or fmt in CHART_FORMATS:
        if damage:
            print(f"{PROG} trace: warning: {_one_line(damage)}", file=sys.stderr)
        if fmt in DATA_FORMATS:
            rl_save(ds, args.out)
        else:
            from .viz import charts
            rl_save(charts.trace_replay(ds), args.out, scale=args.scale)
        return 0
    report = {"read": trace_text.trace_summary, "replay": trace_text.trace_replay,
              "whatif": trace_text.trace_whatif}[args.action]
    txt = report(ds, width=args.width, unicode=args.unicode)
    if damage:
        txt = _with_warning(txt, damage, args.width, args.unicode)
    if fmt == "txt":
        rl_save(txt if args.unicode else _ascii(txt), args.out)
    else:
        _emit(txt, args.unicode)
    return 0


def _trace_damage(attrs: dict) -> str | None:
    """One sentence on what the reader could not use (a damaged file, bad lines), or None."""
    parts = []
    if attrs.get("compression_error"):
        parts.append(f"the compressed file is damaged ({attrs['compression_error']}); only the events "
                     "before the damage were read")
    if attrs.get("malformed_lines"):
        parts.append(f"{attrs['malformed_lines']} malformed lines were skipped")
    if attrs.get("lost_events"):
        parts.append(f"the kernel's trace buffer lost {attrs['lost_events']} events")
    return ("Warning: " + "; ".join(parts) + ".") if parts else None


def _with_warning(report: str, warning: str, width: int, unicode: bool) -> str:
    """The report with ``warning`` as a paragraph right under its title."""
    from .viz.textkit import wrap
    lines = report.splitlines()
    return "\n".join(lines[:2] + wrap(warning, width, unicode=unicode) + lines[2:])


def _ascii(text: str) -> str:
    from .viz.textkit import ascii_safe
    return ascii_safe(text)


# --------------------------------------------------------------------------- parser

def _int_arg(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def _width(text: str) -> int:
    w = _int_arg(text)
    if w < 40:
        raise argparse.ArgumentTypeError(f"{w} is too narrow; allowed: 40 or more")
    return w


def _points(text: str) -> int:
    n = _int_arg(text)
    if not 2 <= n <= MAX_POINTS:
        raise argparse.ArgumentTypeError(f"{n} is out of range; allowed: 2 to {MAX_POINTS}")
    return n


def _scale(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not v > 0 or v > 20:
        raise argparse.ArgumentTypeError(f"{text!r} is out of range; allowed: 0 < scale <= 20")
    return v


def _common_text(p: argparse.ArgumentParser) -> None:
    p.add_argument("--width", type=_width, default=72, metavar="N", help="text width in columns (default 72)")
    p.add_argument("--unicode", action="store_true", help="allow Unicode block characters in text output")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``reclaimlab`` command.

    Examples
    --------
    >>> build_parser().parse_args(["figure", "--list"]).list
    True
    """
    from ._version import __version__
    p = _Parser(prog=PROG, description="Models of Linux kernel slab-shrinker reclaim: formulas, "
                "sweeps, simulations, LKML-ready figures and trace replay.",
                epilog="Run 'reclaimlab COMMAND --help' for the options of a command.")
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    f = sub.add_parser("formulas", help="table of scan-count formulas and their kernels",
                       description="List the do_shrink_slab() formulas with the kernels that run them; "
                       "with NAME, describe one.")
    f.add_argument("name", nargs="?", help="a formula name or alias to describe")
    _common_text(f)
    f.set_defaults(func=_cmd_formulas)

    s = sub.add_parser("sweep", help="evaluate formulas over cache sizes and priorities",
                       description="Run rl.sweep and print the pressure table (or write --out).")
    s.add_argument("--formulas", type=_names, default=["v4.18", "v4.19", "v5.0", "rik-2019", "dave-2019", "v5.13"],
                   metavar="F,F", help="comma-separated formula names (default: the six of 172b06c32b94)")
    s.add_argument("--freeable", default="1..1e7", metavar="RANGE",
                   help="cache sizes: lo..hi (log-spaced, see --points) or a,b,c (default 1..1e7)")
    s.add_argument("--points", type=_points, default=22, metavar="N",
                   help=f"sizes in a lo..hi range, 2 to {MAX_POINTS} (default 22)")
    s.add_argument("--priority", default="12", metavar="P",
                   help="priorities: p, a,b,c or lo..hi (default 12)")
    s.add_argument("--batch", default="128", metavar="B", help="batch sizes: b or a,b (default 128)")
    s.add_argument("--seeks", default="2", metavar="S", help="seeks: s or a,b (default 2)")
    s.add_argument("--calls", type=int, default=1, metavar="N", help="successive calls (default 1)")
    s.add_argument("--figure", choices=sorted(_SWEEP_FIGURES), default="pressure",
                   help="which figure to print or save (default pressure)")
    s.add_argument("--out", metavar="PATH", help="write .nc/.zarr (Dataset), .svg/.png/.pdf/.html/.json "
                   "(chart) or .txt instead of printing")
    s.add_argument("--scale", type=_scale, default=2.0, help="PNG scale factor (default 2)")
    _common_text(s)
    s.set_defaults(func=_cmd_sweep)

    for name, helptext in (("simulate", "run one scenario under one formula"),
                           ("compare", "run one scenario under several formulas")):
        c = sub.add_parser(name, help=helptext, description=helptext.capitalize() + " (rl." + name + ").")
        c.add_argument("scenario", help="scenario name (small-vs-large, compile-and-copy, desktop-copy, "
                       "dying-memcgs, recursive-grep)")
        if name == "simulate":
            c.add_argument("--formula", default=None, help="formula name (default v5.0, or the kernel's)")
            c.add_argument("--kernel", metavar="K", help="a kernel release, e.g. 4.19.3: its formula and "
                           "rules (see reclaimlab.kernel.releases.RELEASES)")
        else:
            c.add_argument("--formulas", type=_names, default=None, metavar="F,F",
                           help=f"comma-separated formula names (default {','.join(DEFAULT_COMPARE)})")
            c.add_argument("--kernel", nargs="+", metavar="K", help="kernel releases instead of formulas, "
                           "e.g. --kernel 4.18 4.19 4.19.3 5.0: each with its formula and rules")
            c.add_argument("--figure", choices=["scorecard", "timeline", "dying_memcgs", "pressure_curve"],
                           default="scorecard", help="figure to print or save (default scorecard)")
        c.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
        c.add_argument("--reduced", action="store_true", help="use the scenario's fast preset")
        c.add_argument("--set", type=_setting, action="append", metavar="KEY=VALUE",
                       help="override a scenario parameter (repeatable; VALUE is JSON or a string; "
                       "node_pages, anon_pages and min_free_kbytes also take sizes such as 8GiB)")
        c.add_argument("--out", metavar="PATH", help="write .nc/.zarr (Dataset), a chart or .txt")
        c.add_argument("--scale", type=_scale, default=2.0, help="PNG scale factor (default 2)")
        _common_text(c)
        c.set_defaults(func=_cmd_simulate if name == "simulate" else _cmd_compare)

    g = sub.add_parser("figure", help="draw a figure of the catalogue",
                       description="Draw a named figure from its defaults. Text goes to stdout unless "
                       "--out; other formats are written to --out or NAME.FORMAT.")
    g.add_argument("name", nargs="?", help="figure name (see --list)")
    g.add_argument("--list", action="store_true", help="print the figure names, one per line")
    g.add_argument("--all", action="store_true", help="write every figure into --out-dir")
    g.add_argument("--format", choices=FIGURE_FORMATS, action="append",
                   help="output format (repeatable with --all; default txt, or the --out suffix)")
    g.add_argument("--out", metavar="PATH", help="output file")
    g.add_argument("--out-dir", metavar="DIR", help="output directory (default figures/ with --all)")
    g.add_argument("--scale", type=_scale, default=2.0, help="PNG scale factor (default 2)")
    g.add_argument("--kernel", nargs="+", metavar="K", help="rebuild a simulation figure (compile-and-copy-"
                   "timeline, dying-memcgs, scorecard) under these kernel releases, e.g. --kernel 4.18 "
                   "4.19.3 5.0")
    _common_text(g)
    g.set_defaults(func=_cmd_figure)

    t = sub.add_parser("trace", help="read, replay or re-run a kernel trace",
                       description="Read an ftrace shrinker trace (plain, .gz, .xz, .bz2) and summarise it, "
                       "replay it through a formula, or ask what another formula would have done.")
    t.add_argument("action", choices=["read", "replay", "whatif"], help="what to do")
    t.add_argument("path", help="trace file")
    t.add_argument("--formula", help="formula for replay / whatif")
    t.add_argument("--out", metavar="PATH", help="write .nc/.zarr (Dataset), a chart (replay) or .txt")
    t.add_argument("--scale", type=_scale, default=2.0, help="PNG scale factor (default 2)")
    _common_text(t)
    t.set_defaults(func=_cmd_trace)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``reclaimlab`` command; returns the exit status.

    Examples
    --------
    >>> main(["figure", "--list"]) == 0   # doctest: +ELLIPSIS
    pressure-172b06c32b94
    ...
    True
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    if args.command == "sweep":
        for opt in ("freeable", "priority", "batch", "seeks"):
            try:
                setattr(args, opt, _int_list(getattr(args, opt), log_points=args.points if opt == "freeable" else None))
            except argparse.ArgumentTypeError as e:
                parser.exit(2, f"{PROG} sweep: error: argument --{opt}: {_one_line(e)} (see --help)\n")
        for k in ("priority", "batch", "seeks"):
            v = getattr(args, k)
            setattr(args, k, v[0] if len(v) == 1 else v)
    try:
        return args.func(args) or 0
    except UsageError as e:
        print(f"{PROG} {args.command}: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, KeyError) as e:
        # the library's argument errors name the parameter, the value and what is allowed
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"{PROG} {args.command}: error: {_one_line(msg)}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as e:
        # a file the OS refuses (permissions, a directory in the way, a full disk)
        print(f"{PROG} {args.command}: error: {_one_line(_os_error(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
