"""Real kernel traces: read ftrace shrinker events, replay them through any formula.

Public API
----------
read(path, strict=False) -> xr.Dataset
    ``mm_shrink_slab_start``/``_end`` pairs along ``call``, reclaim events along ``event``.
parse(text, strict=False) -> xr.Dataset
    The same from text in memory.
replay(ds, formula) -> xr.Dataset
    Model vs observed for every call, with seeks and batch per shrinker instance.
whatif(ds, formula) -> xr.Dataset
    The same call sequence under another formula, deferred work carried by the model.

Their plain-text reports are ``rl.text.trace_summary``, ``rl.text.trace_replay``
and ``rl.text.trace_whatif`` (:mod:`reclaimlab.viz.trace_text`); charts are in
``rl.plot``.
TraceFormatError
    The reader's one error for bad input (a ValueError).
"""
from .errors import TraceFormatError
from .read import parse, read
from .replay import replay
from .synth import synthetic_trace
from .whatif import whatif

__all__ = ["TraceFormatError", "parse", "read", "replay", "synthetic_trace", "whatif"]
