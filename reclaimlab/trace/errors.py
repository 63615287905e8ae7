"""The one error the trace reader raises for bad input."""
from __future__ import annotations

from .._native import MAX_LINE

#: What each kind of error says, for the kinds that are not an event name.
_WHAT = {
    "line": "not an ftrace event line",
    "long_line": f"line too long to be an ftrace event line (over {MAX_LINE} bytes)",
}


class TraceFormatError(ValueError):
    """A trace that does not parse, raised by ``read(..., strict=True)`` for a bad
    line, and by ``read`` in any mode for a file without a shrinker event.

    Attributes
    ----------
    source : str
        The file (or ``"<text>"``).
    line : int
        1-based line number (for ``"no_shrink_events"``: the number of lines).
    kind : str
        What was wrong: ``"line"`` (not an ftrace event line at all),
        ``"long_line"`` (a line too long to parse), ``"compression"`` (a
        damaged compressed file), ``"no_shrink_events"`` (no
        ``mm_shrink_slab_start``/``_end`` event in the whole file), or the name
        of the event whose payload did not parse (for example
        ``"mm_shrink_slab_start"``).
    text : str
        The offending line (cut to 300 characters), or what was found.

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
        if kind == "no_shrink_events":
            msg = (f"{source}: no mm_shrink_slab_start/end events were found ({self.text}); "
                   f"is this an ftrace text trace with the vmscan shrink_slab events enabled?")
        else:
            what = _WHAT.get(kind, f"malformed {kind} event")
            msg = f"{source}:{line}: {what}: {self.text!r}"
        super().__init__(msg)

    def __reduce__(self):
        return (type(self), (self.source, self.line, self.kind, self.text))
