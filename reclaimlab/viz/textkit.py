"""Plain-text building blocks for 72-column figures: numbers, tables, bars, sparklines.

Everything here returns lists of lines (``str`` without newlines) no wider than
the width asked for. ASCII is the default; ``unicode=True`` switches bars and
sparklines to Unicode block characters. Labels that come from data (formula,
cache and scenario names, long names) go through :func:`ascii_safe` in ASCII
mode so that the result is always 7-bit clean.
"""
from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Sequence

import numpy as np

__all__ = [
    "MIN_WIDTH", "fmt", "ascii_safe", "strip_controls", "check_width", "wrap", "table", "log_bars", "heading", "finish",
    "sparkline", "SPARK_ASCII", "SPARK_UNICODE",
]

#: Narrowest text figure we agree to draw.
MIN_WIDTH = 40

#: Sparkline ramps, lowest level first.
SPARK_ASCII = "_.:-=+*#%@"
SPARK_UNICODE = "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"

_BAR_ASCII = "#"
_BAR_FULL = "\u2588"
_BAR_EIGHTHS = ["", "\u258f", "\u258e", "\u258d", "\u258c", "\u258b", "\u258a", "\u2589"]

_TRANSLIT = {
    "\u2192": "->", "\u2190": "<-", "\u00d7": "x", "\u2264": "<=", "\u2265": ">=",
    "\u2212": "-", "\u2013": "-", "\u2014": "--", "\u00b7": ".", "\u2026": "...",
    "\u2248": "~", "\u00b5": "u", "\u03bc": "u", "\u2018": "'", "\u2019": "'",
    "\u201c": '"', "\u201d": '"', "\u00a0": " ",
}


def check_width(width: int) -> int:
    """Validate a text width; return it as an ``int``.

    Examples
    --------
    >>> check_width(72)
    72
    """
    if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < MIN_WIDTH:
        raise ValueError(f"width={width!r} is not allowed; width must be an integer >= {MIN_WIDTH}")
    return int(width)


# C0 controls but newline (tab is handled apart), DEL, C1 controls (U+009B is a
# one-byte CSI to some terminals), and the format characters that reorder or
# hide text (bidirectional overrides and isolates, zero-width marks).
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def strip_controls(s: str) -> str:
    """Replace control characters by ``?`` (tabs by a space), keeping newlines.

    Text from a trace (task and symbol names) could otherwise carry terminal
    escape sequences (``ESC ]``, ``ESC [``, CSI) to whoever prints a figure.

    Examples
    --------
    >>> strip_controls("evil\\x1b[2J\\tname")
    'evil?[2J name'
    """
    return _CONTROLS.sub("?", s.replace("\t", " "))


def ascii_safe(s: object, unicode: bool = False) -> str:
    """``str(s)`` without control characters, transliterated to 7-bit ASCII unless ``unicode``.

    Control characters are replaced in both modes (see :func:`strip_controls`).

    Examples
    --------
    >>> ascii_safe("page cache \u2192 slab")
    'page cache -> slab'
    """
    s = strip_controls(str(s))
    if unicode:
        return s
    for k, v in _TRANSLIT.items():
        s = s.replace(k, v)
    return s.encode("ascii", "replace").decode("ascii")


def heading(title: str, width: int, unicode: bool = False) -> list[str]:
    """A text figure's first two lines: the title, cut to ``width``, and its underline.

    Examples
    --------
    >>> heading("Trace replay", 72)
    ['Trace replay', '============']
    """
    title = ascii_safe(title, unicode)[:width]
    return [title, "=" * len(title)]


def finish(lines: list[str], width: int, unicode: bool = False, footer: Sequence[str] = ()) -> str:
    """Join a text figure's lines: ASCII unless ``unicode``, no trailing blanks, none wider than ``width``.

    ``footer`` paragraphs (a figure's provenance) follow after one blank line,
    each wrapped to ``width``.

    Examples
    --------
    >>> finish(["a  ", "b", "", ""], 72).splitlines()
    ['a', 'b']
    >>> finish(["a", ""], 72, footer=["made by x"]).splitlines()
    ['a', '', 'made by x']
    """
    lines = list(lines)
    while lines and not lines[-1]:
        lines.pop()
    if footer:
        lines.append("")
        for paragraph in footer:
            lines += wrap(paragraph, width, unicode=unicode)
    out = []
    for line in lines:
        line = ascii_safe(line, unicode).rstrip()
        if len(line) > width:               # never happens by construction; keep the promise anyway
            line = line[: width - 1] + "~"
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def fmt(x: object, digits: int = 3) -> str:
    """Compact number for tables: at most about 7 characters.

    Integers below 1e6 print exactly; other values from 1e3 to 1e5 round to
    an integer; the rest keep ``digits`` significant digits (exponent form
    ``4.88e-4`` outside 1e-3 to 1e5). ``float(fmt(x))`` is within half a unit
    of the last digit shown of ``x``. NaN prints ``-``.

    Examples
    --------
    >>> [fmt(v) for v in (0, 123456, 0.000488281, 0.128, 17000.5, 3128320, float("nan"))]
    ['0', '123456', '4.88e-4', '0.128', '17000', '3.13e6', '-']
    """
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(v):
        return "-"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0:
        return "0"
    a = abs(v)
    if v == int(v) and a < 1e6:
        return str(int(v))
    if 1e3 <= a < 1e5:
        return str(int(round(v)))
    if 1e-3 <= a < 1e3:
        s = f"{v:.{digits}g}"
        if "e" not in s:
            return s
    m, e = f"{v:.{digits - 1}e}".split("e")
    m = m.rstrip("0").rstrip(".") if "." in m else m
    return f"{m}e{int(e)}"


def wrap(text: str, width: int, *, indent: str = "", unicode: bool = False) -> list[str]:
    """Wrap a paragraph to ``width`` columns (ASCII-safe unless ``unicode``).

    Examples
    --------
    >>> wrap("a " * 30, 40)[0]
    'a a a a a a a a a a a a a a a a a a a a'
    """
    text = ascii_safe(text, unicode)
    return textwrap.wrap(text, width=width, initial_indent=indent, subsequent_indent=indent,
                         break_long_words=True, break_on_hyphens=False) or [""]


def table(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    width: int = 72,
    align: str | None = None,
    key_cols: int = 1,
    unicode: bool = False,
    sep: str = "  ",
) -> list[str]:
    """An aligned table; columns that do not fit ``width`` go to further blocks.

    Parameters
    ----------
    header : sequence of str
        Column titles.
    rows : sequence of sequences
        Cells; non-strings are formatted with :func:`fmt`.
    width : int
        Maximum line width.
    align : str, optional
        One of ``l``/``r`` per column; default left for the key columns and
        right for the rest.
    key_cols : int
        Leading columns repeated in every block when the table is split.
    unicode : bool
        Keep non-ASCII characters in cells.
    sep : str
        Column separator.

    Returns
    -------
    list of str

    Examples
    --------
    >>> print("\\n".join(table(["name", "n"], [["a", 1], ["bb", 22]])))
    name   n
    ----  --
    a      1
    bb    22
    """
    ncol = len(header)
    if align is None:
        align = "l" * key_cols + "r" * (ncol - key_cols)
    cells = [[ascii_safe(h, unicode) for h in header]]
    for r in rows:
        if len(r) != ncol:
            raise ValueError(f"a row has {len(r)} cells; the header has {ncol}")
        cells.append([c if isinstance(c, str) else fmt(c) for c in r])
        cells[-1] = [ascii_safe(c, unicode) for c in cells[-1]]
    widths = [max(len(row[j]) for row in cells) for j in range(ncol)]
    # Shorten over-long key cells so that at least one value column fits.
    key_w = sum(widths[:key_cols]) + len(sep) * key_cols
    if ncol > key_cols:
        need = key_w + max(widths[key_cols:])
        if need > width:
            cut = need - width
            widths[0] = max(4, widths[0] - cut)
    blocks: list[list[int]] = []
    cur: list[int] = []
    used = sum(widths[:key_cols]) + len(sep) * max(key_cols - 1, 0)
    for j in range(key_cols, ncol):
        add = len(sep) + widths[j]
        if cur and used + add > width:
            blocks.append(cur)
            cur, used = [], sum(widths[:key_cols]) + len(sep) * max(key_cols - 1, 0)
        cur.append(j)
        used += add
    if cur or not blocks:
        blocks.append(cur)
    out: list[str] = []
    for bi, blk in enumerate(blocks):
        cols = list(range(key_cols)) + blk
        if bi:
            out.append("")
        for ri, row in enumerate(cells):
            parts = []
            for j in cols:
                c = row[j]
                w = widths[j]
                if len(c) > w:
                    c = c[: max(w - 1, 1)] + "~"
                parts.append(c.ljust(w) if align[j] == "l" else c.rjust(w))
            out.append(sep.join(parts).rstrip())
            if ri == 0:
                out.append(sep.join("-" * widths[j] for j in cols))
    return [line[:width] for line in out]


def _decades(lo: float, hi: float) -> tuple[int, int]:
    a = math.floor(math.log10(lo))
    b = math.ceil(math.log10(hi))
    if b <= a:
        b = a + 1
    return a, b


def log_bars(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    width: int = 72,
    unicode: bool = False,
    unit: str = "",
) -> list[str]:
    """Horizontal bars on a log scale, one per label, with the value printed.

    Bars start at the decade below the smallest positive value; 0 draws no
    bar, NaN prints ``-``. A scale line under the bars names the decades.

    Examples
    --------
    >>> for line in log_bars(["a", "b"], [1e-3, 1.0], width=40): print(line)
    a  0.001  |#######
    b      1  |#############################
              +----------------------------+
              1e-4                         1
    """
    labels = [ascii_safe(s, unicode) for s in labels]
    vals = np.asarray(values, dtype=float)
    texts = [fmt(v) for v in vals]
    lw = max((len(s) for s in labels), default=0)
    vw = max((len(s) for s in texts), default=1)
    lw = min(lw, max(4, width // 3))
    pos = vals[np.isfinite(vals) & (vals > 0)]
    room = width - lw - vw - 4
    if room < 10:
        raise ValueError(f"width={width} leaves {room} columns for bars; allowed: a width with room >= 10")
    if pos.size:
        a, b = _decades(float(pos.min()) / 1.0000001, float(pos.max()))
        a -= 1 if math.log10(pos.min()) - a < 0.05 else 0
    else:
        a, b = -1, 0
    out = []
    for lab, v, t in zip(labels, vals, texts):
        lab = lab[:lw]
        if np.isfinite(v) and v > 0:
            frac = (math.log10(v) - a) / (b - a)
            cells = max(frac * (room - 1), 1 / 8 if unicode else 1)
            if unicode:
                full, rem = int(cells), int(round((cells - int(cells)) * 8))
                if rem == 8:
                    full, rem = full + 1, 0
                bar = _BAR_FULL * full + _BAR_EIGHTHS[rem]
            else:
                bar = _BAR_ASCII * max(int(round(cells)), 1)
        else:
            bar = ""
        out.append(f"{lab.ljust(lw)}  {t.rjust(vw)}  |{bar}".rstrip())
    pad = " " * (lw + vw + 4)
    out.append(pad + "+" + "-" * (room - 2) + "+")
    left, right = fmt(10.0 ** a), fmt(10.0 ** b)
    scale = left + " " * max(room - len(left) - len(right), 1) + right
    if unit:
        scale += f" {ascii_safe(unit, unicode)}"
    out.append((pad + scale)[:width])
    return [line[:width] for line in out]


def sparkline(values: Sequence[float], *, unicode: bool = False, lo: float | None = None,
              hi: float | None = None, log: bool = False) -> str:
    """One character per value, scaled between ``lo`` and ``hi`` (default min and max).

    NaN prints as a space. With ``log=True`` the scale is logarithmic and
    values <= 0 print the lowest level.

    Examples
    --------
    >>> sparkline([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    '_.:-=+*#%@'
    """
    ramp = SPARK_UNICODE if unicode else SPARK_ASCII
    v = np.asarray(values, dtype=float)
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            pos = v[np.isfinite(v) & (v > 0)]
            floor = pos.min() if pos.size else 1.0
            v = np.where(np.isnan(v), np.nan, np.log10(np.maximum(v, floor)))
            lo = None if lo is None else math.log10(max(lo, floor))
            hi = None if hi is None else math.log10(max(hi, floor))
    fin = v[np.isfinite(v)]
    if lo is None:
        lo = float(fin.min()) if fin.size else 0.0
    if hi is None:
        hi = float(fin.max()) if fin.size else 1.0
    span = hi - lo
    out = []
    for x in v:
        if not np.isfinite(x):
            out.append(" ")
            continue
        k = 0 if span <= 0 else int(round((x - lo) / span * (len(ramp) - 1)))
        out.append(ramp[min(max(k, 0), len(ramp) - 1)])
    return "".join(out)
