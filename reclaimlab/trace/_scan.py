"""The hot loop of the trace reader: one pass over a block of ftrace text, in C.

The scanner lives in the extension module :mod:`reclaimlab._native`
(``reclaimlab/native/lexer.c``); this module gives its codes and columns names
and allocates its outputs. Every line of a block is classified and, for
``mm_shrink_slab_start`` and ``mm_shrink_slab_end`` events, taken apart into
integers and string spans (offset, length and a 64-bit hash). The hash is only
a bucket hint for :class:`Interner`, which gives every distinct string a dense
id by comparing the bytes, so two strings never share an id. Nothing here
raises: a line that does not parse gets a negative status and the caller
decides what to do with it (docs/kernel.md §4).

The grammar accepted (``[...]`` optional, ``|`` alternatives)::

    line    = [spaces] task "-" pid [spaces "(" tgid ")"] spaces "[" cpu "]"
              spaces [flags spaces] ts ":" spaces event ":" [" " payload]
    task    = any text, even with spaces, dashes or brackets ("<...>" included)
    flags   = 1 to 8 non-blank characters (4 in 4.x, 5 in newer kernels)
    ts      = digits ["." digits]
    event   = [system ":"] name            ("vmscan:mm_shrink_slab_start" too)
    payload = what follows "event:" and any blanks (trace-cmd pads event names)
    start   = sym [" [" module "]"] " " ptr ": nid: " int " objects to shrink " int
              " gfp_flags " word [" pgs_scanned " int " lru_pgs " int]
              " cache items " int " delta " int " total_scan " int [" priority " int]
    end     = sym [" [" module "]"] " " ptr ": nid: " int " unused scan count " int
              " new scan count " int " total_scan " int " last shrinker return val " int

Lines may end in ``\\r\\n``; trailing blanks are ignored. The work per line is
linear in its length, and a line longer than :data:`MAX_LINE` bytes is not
parsed at all (status :data:`LONG_LINE`).
"""
from __future__ import annotations

import numpy as np

# The C lexer (reclaimlab/native/lexer.c). MAX_LINE: lines longer than this many bytes
# are not parsed (ftrace prints lines of at most a page). Interner: distinct byte
# strings -> dense ids, equal ids exactly when the bytes are equal. str_hash: the
# scanner's 64-bit hash of a bytes-like object. count_lines: newlines plus one.
from .._native import MAX_LINE, Interner, count_lines, str_hash
from .._native import scan_events as _c_scan_events
from .._native import scan_kv as _c_scan_kv
from .._native import scan_lines as _c_scan_lines
from .._native import N_INT as _C_N_INT
from .._native import N_STR as _C_N_STR

# Line status codes (lexer.c).
BLANK = 0
COMMENT = 1
OTHER = 2          # a well-formed event line of another event (payload not parsed here)
START = 3          # mm_shrink_slab_start, fully parsed
END = 4            # mm_shrink_slab_end, fully parsed
BAD_LINE = -1      # not an event line at all
LONG_LINE = -2     # longer than MAX_LINE bytes: not parsed
BAD_START = -3     # an mm_shrink_slab_start line whose payload does not parse
BAD_END = -4       # an mm_shrink_slab_end line whose payload does not parse

# Integer columns.
I_PID = 0
I_CPU = 1
I_NID = 2
I_NR = 3           # start: objects to shrink; end: unused scan count
I_F = 4            # start: cache items;       end: new scan count
I_DELTA = 5        # start: delta;             end: total_scan (left)
I_TOTAL = 6        # start: total_scan;        end: last shrinker return val
I_PRIO = 7         # start: priority (-1 when the format has none)
I_PGS = 8          # start: pgs_scanned (pre-4.16; -1 otherwise)
I_LRU = 9          # start: lru_pgs (pre-4.16; -1 otherwise)
I_PAYLOAD = 10     # offset of the payload (after "event:" and its blanks)
I_EOL = 11         # offset of the end of the line (trailing blanks and \r removed)
I_FLAGSLEN = 12    # width of the flags column, 0 when absent
I_TGID = 13        # tgid column, -1 when absent (or printed as dashes)
N_INT = 14

# String slots.
S_TASK = 0
S_EVENT = 1        # the event name without a "system:" prefix
S_SYM = 2          # symbol as printed, with its +0xoff/0xlen
S_MOD = 3          # module name, empty when built in
S_PTR = 4          # the shrinker pointer as printed
S_GFP = 5
N_STR = 6
assert (N_INT, N_STR) == (_C_N_INT, _C_N_STR), "reclaimlab/native/native.h disagrees with _scan.py"

# String slots hashed per line status: what the Collector keeps.
# START: task, sym, mod, ptr, gfp; END: sym, ptr; OTHER: task, event.


def new_outputs(capacity: int):
    """Output arrays for :func:`scan_lines` (the line is the first axis), reusable.

    ``(status, ints, strs, hashes, ts, line_start)``: ``status[line]``,
    ``ints[line, I_*]``, ``strs[line, S_*, 0 or 1]`` (offset, length),
    ``hashes[line, S_*]``, ``ts[line]`` (seconds), ``line_start[line]`` (offset).
    The span of a hashed string is that of its first copy within the same
    :func:`scan_lines` call (the same bytes, possibly on an earlier line), so
    that the interner reads text still in cache and knows a repeat by its span.
    """
    return (np.zeros(capacity, np.int8), np.full((capacity, N_INT), -1, np.int64),
            np.zeros((capacity, N_STR, 2), np.int64), np.zeros((capacity, N_STR), np.uint64),
            np.zeros(capacity, np.float64), np.zeros(capacity, np.int64))


def scan_lines(buf, start: int, out) -> tuple[int, int]:
    """Classify and parse the lines of ``buf[start:]`` until the outputs are full.

    Parameters
    ----------
    buf : bytes-like
        Text; the last line need not end with a newline.
    start : int
        Offset of the first line to parse.
    out : tuple
        Outputs from :func:`new_outputs`, one entry per line. Only the fields
        that a line's status implies are written (see
        :mod:`reclaimlab.trace.collect`), so they can be reused without clearing.

    Returns
    -------
    rows, next_start
        ``rows`` lines were parsed; the next unparsed line starts at ``next_start``
        (``len(buf)`` when the text is exhausted).

    Examples
    --------
    >>> out = new_outputs(4)
    >>> scan_lines(b"# c\\n\\nx\\n", 0, out), out[0][:3].tolist()
    ((3, 7), [1, 0, -1])
    """
    return _c_scan_lines(buf, start, *out)


#: Kinds of event lines that :func:`scan_events` puts in columns, in the order of its outputs.
KINDS = (START, END, OTHER)


def event_spec(kinds: dict[int, tuple[list[int], list[int]]]) -> np.ndarray:
    """The ``spec`` of :func:`scan_events`: per kind of :data:`KINDS` (status code ->
    ``(integer columns I_*, string slots S_*)``), what goes in its columns."""
    spec = np.zeros((len(KINDS), 2 + N_INT + N_STR), np.int64)
    for k, code in enumerate(KINDS):
        cols, slots = kinds.get(code, ((), ()))
        spec[k, :2] = len(cols), len(slots)
        spec[k, 2:2 + len(cols) + len(slots)] = [*cols, *slots]
    return spec


def new_event_outputs(capacity: int) -> tuple:
    """Output arrays for :func:`scan_events` (at most ``capacity`` lines per call), reusable.

    ``(row, time, ints, ids, bad, counts)``: for kind ``k`` of :data:`KINDS` and its
    ``n`` lines, ``row[k, :n]`` (line index within the call), ``time[k, :n]``,
    ``ints[k, c, :n]`` (its integer column ``c``), ``ids[k, q, :n]`` (the id of its
    string slot ``q``); ``bad[:, :nbad]``: line index, status, offset and end of
    text of each line of negative status; ``counts``: lines per status code -4..4
    (``[0:9]``), event lines per width of the flags column 0..8 (``[9:18]``), ``n``
    per kind (``[18:21]``) and ``nbad`` (``[21]``). Memory is only touched where
    written, so the unused columns cost nothing.
    """
    k = len(KINDS)
    return (np.empty((k, capacity), np.int64), np.empty((k, capacity)), np.empty((k, N_INT, capacity), np.int64),
            np.empty((k, N_STR, capacity), np.int64), np.empty((4, capacity), np.int64), np.zeros(22, np.int64))


def scan_events(interner: Interner, buf, start: int, spec: np.ndarray, out: tuple) -> tuple[int, int]:
    """Scan the lines of ``buf[start:]`` as :func:`scan_lines` does, but put each event
    line straight into the columns of its kind and intern its strings on the way.

    Parameters
    ----------
    interner : Interner
        Receives the strings of the kept lines; the ids in ``out`` are its ids.
        It must not be used by another thread during the call (the GIL is released).
    buf : bytes-like
        Text; the last line need not end with a newline.
    start : int
        Offset of the first line to scan.
    spec : numpy.ndarray
        From :func:`event_spec`: the columns and string slots kept per kind.
    out : tuple
        From :func:`new_event_outputs`; at most its capacity lines are scanned.

    Returns
    -------
    rows, next_start
        As :func:`scan_lines`.

    Examples
    --------
    >>> spec = event_spec({OTHER: ([I_PID], [S_EVENT])})
    >>> it, out = Interner(), new_event_outputs(4)
    >>> scan_events(it, b"# c\\nx-1 [0] 1.0: foo: a=1\\n", 0, spec, out), out[2][2, 0, :1].tolist()
    ((2, 26), [1])
    >>> it.strings(), out[5][[5, 6, 9, 20]].tolist()
    ([b'foo'], [1, 1, 1, 1])
    """
    return _c_scan_events(interner, buf, start, spec, *out)


def scan_kv(buf, payload: np.ndarray, eol: np.ndarray, keys: tuple[bytes, ...], n_int: int,
            ints: np.ndarray, spans: np.ndarray, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parse ``key=value`` payloads (the reclaim events of docs/kernel.md §4.3).

    Parameters
    ----------
    buf : bytes-like
        The text.
    payload, eol : numpy.ndarray of int64
        Start and end offsets of each payload.
    keys : tuple of bytes
        The known keys, compared byte for byte: the first ``n_int`` have
        integer values, the rest string values.
    n_int : int
        Number of integer keys.
    ints, spans, hashes : numpy.ndarray
        Outputs, one column per payload: ``ints[k, r]`` the value of integer
        key ``k`` (left alone when absent); ``spans[k, :, r]``/``hashes[k, r]``
        offset, length and hash of string key ``n_int + k`` (left alone when absent).

    Returns
    -------
    ok, present
        ``ok[r]``: every token is ``key=value`` and integer keys hold integers;
        ``present[r]``: bit ``k`` set when key ``k`` was found.
    """
    m = len(payload)
    ok = np.empty(m, np.bool_)
    present = np.empty(m, np.int64)
    _c_scan_kv(buf, np.ascontiguousarray(payload, np.int64), np.ascontiguousarray(eol, np.int64), keys,
                    n_int, ints, spans, hashes, ok, present)
    return ok, present
