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

__all__ = ["FONT", "WIDTH", "HEIGHT", "ZERO_COLOR", "pin_fonts", "vl_version"]

#: The font every exported figure uses (bundled with vl-convert).
FONT = "Liberation Sans"

#: Default size of one chart panel, in pixels.
WIDTH = 360
HEIGHT = 220

#: Fill for cells and points whose value is zero or undefined.
ZERO_COLOR = "#d9d9d9"

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
