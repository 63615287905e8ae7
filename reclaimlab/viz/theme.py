"""Looks shared by every chart, and the pinned font that makes exports reproducible.

vl-convert measures text with the fonts it can see when it lays a chart out,
so the same spec gives different SVG on machines with different fonts. It
ships Liberation Sans (Regular, Bold, Italic, Bold Italic) inside its binary;
naming that font in the chart config makes text measurement, and so the SVG
bytes, the same on any machine. :func:`pin_fonts` is applied by
:func:`reclaimlab.viz.save.save` to every exported chart.
"""
from __future__ import annotations

import copy

__all__ = ["FONT", "WIDTH", "HEIGHT", "ZERO_COLOR", "COLORS", "color_of", "color_range", "pin_fonts",
           "vl_version"]

#: The font every exported figure uses (bundled with vl-convert).
FONT = "Liberation Sans"

#: Default size of one chart panel, in pixels.
WIDTH = 360
HEIGHT = 220

#: Fill for cells and points whose value is zero or undefined.
ZERO_COLOR = "#d9d9d9"

#: One colour per formula and kernel, the same in every chart: the releases
#: before the floor in blues, the floor in reds (4.19.3, floor plus the inode
#: rule, darker), the revert in green, the proposals in orange and purple, the
#: 5.13+ deferral in teal. Aliases and kernels take their formula's colour.
COLORS = {
    "v4.15": "#9d755d", "v4.16": "#4c78a8", "v4.19": "#e45756", "v4.20": "#ff9da6",
    "v5.0": "#54a24b", "v5.13": "#72b7b2", "rik-2019": "#f58518", "dave-2019": "#b279a2",
    "4.19.3": "#9e0d2b", "4.20": "#9e0d2b", "5.10": "#88d27a",
}

# For names without a colour of their own (a user's registered formula):
# picked by a stable hash, so a name keeps its colour from chart to chart.
_SPARE = ("#bab0ac", "#eeca3b", "#79706e", "#d67195", "#439894", "#83bcb6", "#ffbf79", "#8f6d31")


def color_of(name: str) -> str:
    """The colour of a formula or kernel name in every chart.

    Examples
    --------
    >>> color_of("v4.19"), color_of("4.19"), color_of("v4.18") == color_of("v4.16")
    ('#e45756', '#e45756', True)
    """
    name = str(name)
    if name in COLORS:
        return COLORS[name]
    from ..kernel.formulas import spec
    from ..kernel.releases import RELEASES
    key = name[1:] if name.startswith("v") else name
    try:
        canonical = RELEASES[key].formula if key in RELEASES else spec(name).name
    except (KeyError, ValueError):
        canonical = None
    if canonical is not None and spec(canonical).name in COLORS:
        return COLORS[spec(canonical).name]
    digest = sum((i + 1) * ord(c) for i, c in enumerate(name))
    return _SPARE[digest % len(_SPARE)]


def color_range(names) -> list[str]:
    """Colours for a scale's domain ``names``, in order (``alt.Scale(domain=names, range=...)``)."""
    return [color_of(n) for n in names]


_FONT_KEYS = {
    "font": FONT,
    "axis": {"labelFont": FONT, "titleFont": FONT},
    "legend": {"labelFont": FONT, "titleFont": FONT},
    "header": {"labelFont": FONT, "titleFont": FONT},
    "title": {"font": FONT, "subtitleFont": FONT},
    "text": {"font": FONT},
}


def pin_fonts(spec: dict) -> dict:
    """A copy of a Vega-Lite spec whose every text element uses :data:`FONT`.

    Examples
    --------
    >>> pin_fonts({"mark": "point"})["config"]["font"]
    'Liberation Sans'
    """
    out = copy.deepcopy(spec)
    cfg = out.setdefault("config", {})
    for k, v in _FONT_KEYS.items():
        if isinstance(v, dict):
            cfg.setdefault(k, {}).update(v)
        else:
            cfg[k] = v
    return out


def vl_version() -> str:
    """The Vega-Lite version Altair writes (``"6.4"`` for Altair 6.3), for vl-convert.

    Examples
    --------
    >>> vl_version().count(".")
    1
    """
    import altair as alt
    return ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
