"""The one error the trace reader raises for bad input."""
from __future__ import annotations


class TraceFormatError(ValueError):
    """A trace line that does not parse, raised by ``read(..., strict=True)``.

    Attributes
    ----------
    source : str
        The file (or ``"<text>"``).
    line : int
        1-based line number.
    kind : str
        What was wrong: ``"line"`` (not an ftrace event line at all), or the
        name of the event whose payload did not parse (for example
        ``"mm_shrink_slab_start"``).
    text : str
        The offending line (cut to 300 characters).

    Examples
    --------
    >>> import reclaimlab as rl
    >>> try:
    ...     rl.trace.parse("garbage\\n", strict=True)
    ... except rl.trace.TraceFormatError as e:
    ...     print(e.line, e.kind)
    1 line
    """

    def __init__(self, source: str, line: int, kind: str, text: str) -> None:
        self.source = source
        self.line = line
        self.kind = kind
        self.text = text[:300]
        what = "not an ftrace event line" if kind == "line" else f"malformed {kind} event"
        super().__init__(f"{source}:{line}: {what}: {self.text!r}")

    def __reduce__(self):
        return (type(self), (self.source, self.line, self.kind, self.text))
