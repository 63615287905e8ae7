"""Export for LKML: save the explorer's current figure as SVG and PNG, show its text form."""
from __future__ import annotations

from pathlib import Path
from typing import Callable


class ExportPanel:
    """A button that writes ``<out_dir>/<name>.svg`` and ``.png`` and shows the 72-column text.

    Parameters
    ----------
    figure : callable
        Returns ``(name, chart, text)`` for the figure on screen now.
    out_dir : str or Path
        Where the files go (created if missing).

    Examples
    --------
    >>> import tempfile, altair as alt
    >>> panel = ExportPanel(lambda: ("demo", alt.Chart().mark_point(), "a text figure"),
    ...                     out_dir=tempfile.mkdtemp())
    >>> sorted(p.suffix for p in panel.export())
    ['.png', '.svg']
    >>> panel.text.value
    'a text figure'
    """

    def __init__(self, figure: Callable, out_dir: str | Path = "lkml-figures") -> None:
        import ipywidgets as W

        self.figure = figure
        self.out_dir = W.Text(value=str(out_dir), description="save to")
        self.button = W.Button(description="Export for LKML", icon="download")
        self.saved = W.HTML()
        self.text = W.Textarea(layout=W.Layout(width="44em", height="16em"))
        self.button.on_click(lambda _b: self.export())
        self.box = W.VBox([W.HBox([self.button, self.out_dir]), self.saved, self.text])

    def export(self) -> list[Path]:
        """Write the files (atomically, via rl.save) and show the text; returns the paths."""
        from ..viz.save import save

        name, chart, text = self.figure()
        out = Path(self.out_dir.value)
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / f"{name}.svg", out / f"{name}.png"]
        for path in paths:
            save(chart, path)
        self.text.value = text
        self.saved.value = "saved " + ", ".join(f"<code>{p}</code>" for p in paths)
        return paths
