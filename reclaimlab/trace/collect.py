"""Turn scanned batches of trace lines into the trace Dataset.

:func:`reclaimlab.trace._scan.scan_events` puts the event lines of a batch
straight into columns per kind of event, every string interned
(:class:`~reclaimlab.trace._scan.Interner`: a dense id per distinct byte
string, the bytes compared, so a crafted string that collides with another's
hash still gets its own id); :class:`Collector` copies the events that matter
once into growing :class:`~reclaimlab.trace.columns.Columns` (so memory follows
the events kept), maps the batch's string ids to its own, decodes each
distinct string once, deals with the bad lines (strict: raise; lenient: count)
and at the end puts the events in timestamp order, pairs starts with ends and
builds the Dataset.
Strings are object arrays that share one Python ``str`` per distinct value.
"""
from __future__ import annotations

import functools
import re
import threading
from collections import Counter
from typing import NamedTuple

import numpy as np
import xarray as xr

from .._native import descents, take_matched, take_objects
from .._version import __version__
from ..model.shrinkers import strip_symbol
from . import _scan as S
from .columns import Columns
from .errors import TraceFormatError
from .pairing import pair_calls
from ..model.schema import (
    CALL_VARS,
    EVENT_BASE_FIELDS,
    EVENT_INT_FIELDS,
    EVENT_STR_FIELDS,
    MISSING,
    RECLAIM_EVENTS,
    event_var_meta,
    variable,
)

# Lines of trace-cmd's report preamble: not events, not errors.
_PREAMBLE = re.compile(
    r"^\s*(cpus=\d+|version = \d+\S*|CPU \d+ is empty|CPU\d+ data recorded at offset=\S+"
    r"|\d+ bytes in size|trace-cmd: .*|buffer: .*)\s*$"
)
# ftrace's note that the ring buffer overflowed.
_LOST = re.compile(r"^\s*(?:CPU:\s*(\d+)\s+)?\[LOST (\d+) EVENTS?\]\s*$")

# Integer columns kept per event kind: variable name -> scanner column.
_START_INTS = {"pid": S.I_PID, "cpu": S.I_CPU, "nid": S.I_NID, "nr_deferred": S.I_NR,
               "cache_items": S.I_F, "delta": S.I_DELTA, "total_scan": S.I_TOTAL,
               "priority": S.I_PRIO, "pgs_scanned": S.I_PGS, "lru_pgs": S.I_LRU}
_END_INTS = {"pid": S.I_PID, "end_nid": S.I_NID, "unused_scan": S.I_NR, "new_scan": S.I_F,
             "total_scan_left": S.I_DELTA, "retval": S.I_TOTAL}
_START_STRS = {"task": S.S_TASK, "symbol": S.S_SYM, "module": S.S_MOD, "shrinker_id": S.S_PTR,
               "gfp_flags": S.S_GFP}
_END_STRS = {"symbol": S.S_SYM, "shrinker_id": S.S_PTR}

_SHRINK_EVENTS = ("mm_shrink_slab_start", "mm_shrink_slab_end")
_KV_INT = tuple(EVENT_INT_FIELDS)
_KV_STR = tuple(EVENT_STR_FIELDS)
_KV_KEYS = _KV_INT + _KV_STR
_KV_KEY_BYTES = tuple(k.encode() for k in _KV_KEYS)
# Reclaim events by name, in the order their names are interned (ids 1, 2, ...; id 0 is "").
_RECLAIM_NAMES = tuple(sorted(RECLAIM_EVENTS))
_RECLAIM_BYTES = frozenset(name.encode() for name in _RECLAIM_NAMES)
#: Text kept of a bad line for its error message (TraceFormatError keeps 300 characters).
_TEXT_BYTES = 1200
# What the scanner puts in columns per kind of line (in the order of S.KINDS): name, integer
# columns, string slots.
_PIECES = (
    ("start", list(_START_INTS.values()), list(_START_STRS.values())),
    ("end", list(_END_INTS.values()), list(_END_STRS.values())),
    ("other", [S.I_PID, S.I_CPU, S.I_PAYLOAD, S.I_EOL], [S.S_EVENT, S.S_TASK]),
)
_SPEC = S.event_spec({code: (cols, slots) for code, (_, cols, slots) in zip(S.KINDS, _PIECES)})


def _line_start(buf: np.ndarray, pos: int) -> int:
    """Offset of the line that holds offset ``pos`` (blocks start at a line; lines
    kept as events are at most MAX_LINE bytes long)."""
    lo = max(0, pos - S.MAX_LINE - 1)
    nl = np.flatnonzero(buf[lo:pos] == 10)
    return lo + int(nl[-1]) + 1 if len(nl) else lo


def _take_matched(src: np.ndarray, end_of: np.ndarray, fill, out: np.ndarray | None = None) -> np.ndarray:
    """``src[end_of]`` where a start has an end (``end_of >= 0``), else ``fill``: one pass, in C
    (into ``out`` when given: contiguous, of ``src``'s dtype)."""
    if out is None:
        out = np.empty(len(end_of), src.dtype)
    take_matched(np.ascontiguousarray(src), end_of, np.array([fill], src.dtype), out)
    return out


#: Calls from which the Dataset build pairs starts with ends in a thread of its own.
_THREAD_MIN = 1 << 15


def _in_thread(fn, *args):
    """Start ``fn(*args)`` in a new thread; returns a function that waits for it and gives
    its result (or raises its exception)."""
    box: list = []

    def run() -> None:
        try:
            box.append((True, fn(*args)))
        except BaseException as exc:  # handed to the caller
            box.append((False, exc))

    t = threading.Thread(target=run, name="reclaimlab-pair", daemon=True)
    t.start()

    def result():
        t.join()
        ok, value = box[0]
        if not ok:
            raise value
        return value
    return result


def _rows(k: int, n: int, dtype) -> np.ndarray:
    """``k`` contiguous rows of ``n`` items in one allocation, for columns of the Dataset.

    Why one allocation: numpy asks the kernel for transparent huge pages
    (``madvise(MADV_HUGEPAGE)``) only for an allocation of 4 MB or more, and a
    column of a million-line trace is just under that (464k calls x 8 bytes =
    3.7 MB), so allocated one by one each column cost ~900 page faults of 4 kB
    when first written: the 11 columns built at the end of a read made 11k
    faults, a third of the Dataset build's time. Rows of one block fault in
    2 MB at a time.
    """
    return np.empty((k, n), dtype)


@functools.lru_cache(maxsize=1)
def _required() -> np.ndarray:
    """Bit mask of the payload keys each reclaim event must carry, indexed by its id
    (0: the empty string, then :data:`_RECLAIM_NAMES`)."""
    return np.array([0] + [sum(1 << _KV_KEYS.index(k) for k in RECLAIM_EVENTS[name]) for name in _RECLAIM_NAMES],
                    np.int64)


def _time_order(starts: dict, ends: dict, rec: dict, sort: bool) -> tuple[np.ndarray, np.ndarray, int]:
    """Timestamp order of the events, for pairing and (``sort``) for the Dataset.

    ftrace prints the per-CPU buffers merged by time, but a trace concatenated
    per CPU (``per_cpu/cpu*/trace`` one after the other) is not in time order.
    Starts and ends are paired in (timestamp, line) order whatever the file
    order; with ``sort``, each of ``starts``, ``ends``, ``rec`` (in file order)
    is also sorted in place by timestamp, stably (equal timestamps keep file
    order). A file already in time order is left as it is. Returns the
    positions of the starts and of the ends in that order, and how many events
    have an earlier timestamp than the event before them in the file (0: in order).
    """
    parts = (starts, ends, rec)
    # Three runs sorted by line, merged in C; -1 if a run were not (then merge by sorting).
    n_desc = descents([p["line"] for p in parts], [p["time"] for p in parts])
    if n_desc < 0:
        line = np.concatenate([p["line"] for p in parts])
        tl = np.concatenate([p["time"] for p in parts])[np.argsort(line, kind="stable")]
        n_desc = int(np.count_nonzero(tl[1:] < tl[:-1]))
    if not n_desc:
        return starts["line"], ends["line"], 0
    ns, ne = len(starts["line"]), len(ends["line"])
    rank = np.empty(ns + ne, np.int64)
    rank[np.lexsort((np.concatenate([starts["line"], ends["line"]]),
                     np.concatenate([starts["time"], ends["time"]])))] = np.arange(ns + ne)
    start_pos, end_pos = rank[:ns], rank[ns:]
    if sort:
        for p, pos in ((starts, start_pos), (ends, end_pos), (rec, None)):
            order = np.argsort(p["time"], kind="stable")
            for k, v in p.items():
                p[k] = v[..., order]
            if pos is not None:
                pos[:] = pos[order]
    return start_pos, end_pos, n_desc


def _reclaim_payloads(buf, local, other):
    """The ``key=value`` payloads of the reclaim events among ``other`` (a piece of
    :meth:`Collector.scan`), their strings interned in ``local``; None when there are none.

    Returns ``(row, time, pid_cpu, payload, eol, ids, kv, ok, present)``: ``ids`` holds
    the event name, the task and the string keys (local ids), ``kv`` the integer
    keys; ``ok`` and ``present`` as :func:`~reclaimlab.trace._scan.scan_kv`.
    """
    row, time, ints, ids = other
    reclaim_ids = [k for k, b in enumerate(local.strings()) if b in _RECLAIM_BYTES]
    if not reclaim_ids:
        return None
    is_reclaim = np.zeros(len(local), np.bool_)  # by local id: one lookup per event (np.isin sorts)
    is_reclaim[reclaim_ids] = True
    reclaim = np.flatnonzero(is_reclaim[ids[0]])  # positions, found once for every column below
    if not len(reclaim):
        return None
    payload, eol = ints[2, reclaim], ints[3, reclaim]
    m = len(eol)
    kv = np.full((len(_KV_INT), m), MISSING, np.int64)
    spans = np.zeros((len(_KV_STR), 2, m), np.int64)
    shash = np.zeros((len(_KV_STR), m), np.uint64)
    ok, present = S.scan_kv(buf, payload, eol, _KV_KEY_BYTES, len(_KV_INT), kv, spans, shash)
    kv_ids = np.empty((len(_KV_STR), m), np.int64)
    local.intern(buf, np.ascontiguousarray(spans[:, 0]).reshape(-1), np.ascontiguousarray(spans[:, 1]).reshape(-1),
                 shash.reshape(-1), kv_ids.reshape(-1))
    return (row[reclaim], time[reclaim], np.ascontiguousarray(ints[:2, reclaim]), payload, eol,
            np.vstack([ids[:, reclaim], kv_ids]), kv, ok, present)


class Pass(NamedTuple):
    """What :meth:`Collector.scan` found in one pass of the scanner."""

    buf: np.ndarray          #: the text
    rows: int                #: lines scanned
    nbytes: int              #: bytes scanned
    next_start: int          #: offset of the next line not scanned
    out: tuple               #: the scanner outputs (reused after Collector.add)
    counts: np.ndarray       #: lines per status code -4..4
    widths: np.ndarray       #: event lines per width of the flags column 0..8
    bad: np.ndarray          #: (line index, status, offset, end of text) of each bad line
    local: S.Interner        #: the strings of this pass
    pieces: dict             #: kind -> (row, time, ints, ids) of its lines (ids in ``local``;
                             #: views of ``out``, valid until it is reused)


class Collector:
    """Accumulates batches from :func:`~reclaimlab.trace._scan.scan_lines`.

    Parameters
    ----------
    strict : bool
        Raise :class:`TraceFormatError` at the first bad line instead of counting it.
    source : str
        Name used in attrs and errors.
    sort : bool
        Put the Dataset in timestamp order (stable) when the text is not;
        otherwise keep text order (pairing is in timestamp order either way).
    size_hint : int or None
        Bytes of text to come, when known: the event columns reserve their
        capacity from it (see :class:`~reclaimlab.trace.columns.Columns`).
    threads : bool
        May use a thread beside the caller's while building the Dataset (the
        result is the same either way).
    """

    def __init__(self, strict: bool, source: str, sort: bool = True, size_hint: int | None = None,
                 threads: bool = False) -> None:
        self.strict = strict
        self.threads = threads
        self.source = source
        self.sort = sort
        self.lines = 0
        self.bytes = 0
        # Interned strings: id 0 is "" (also a string field that is absent), then the reclaim event names.
        self.interner = S.Interner()
        for text in ("",) + _RECLAIM_NAMES:
            self.interner.add(text.encode())
        self.strings: list[str] = ["", *_RECLAIM_NAMES]
        self.n_reclaim = len(_RECLAIM_NAMES)
        self.required_mask = _required()
        self.status_counts = np.zeros(9, np.int64)   # status code + 4
        self.flag_widths = np.zeros(9, np.int64)
        self.events: Counter = Counter()     # event name -> well-formed events
        self.malformed: Counter = Counter()  # kind -> lines
        self.preamble = 0
        self.lost = 0
        self.errors: list[TraceFormatError] = []   # strict mode: raised at the end of the block
        self.columns = {"start": Columns(len(_START_INTS), len(_START_STRS), size_hint),
                        "end": Columns(len(_END_INTS), len(_END_STRS), size_hint)}
        self.parts: dict[str, list[dict]] = {"reclaim": []}

    # -- per batch -------------------------------------------------------
    @staticmethod
    def scan(buf: np.ndarray, start: int, out) -> "Pass":
        """Scan the lines of ``buf[start:]`` that fit in the outputs ``out``
        (:func:`~reclaimlab.trace._scan.new_event_outputs`): the events go straight
        into columns, with their strings interned in an interner of their own.

        Runs in the reader's worker threads (the C code releases the GIL): it
        touches no state of the Collector; :meth:`add` takes the result, in order.
        """
        local = S.Interner()
        rows, nxt = S.scan_events(local, buf, start, _SPEC, out)
        row, time, ints, ids, bad, counts = out
        pieces = {}
        for k, (kind, cols, slots) in enumerate(_PIECES):
            n = int(counts[18 + k])
            if n:
                pieces[kind] = (row[k, :n], time[k, :n], ints[k, :len(cols), :n], ids[k, :len(slots), :n])
        if "other" in pieces:
            pieces["reclaim"] = _reclaim_payloads(buf, local, pieces["other"])
        return Pass(buf, rows, nxt - start, nxt, out, counts[:9].copy(), counts[9:18].copy(), bad[:, :counts[21]], local,
                    pieces)

    def add(self, p: "Pass") -> None:
        """Take the lines of one :meth:`scan` pass (passes in file order)."""
        base = self.lines
        self.lines += p.rows
        self.bytes += p.nbytes
        self.status_counts += p.counts
        self.flag_widths += p.widths
        for r, code, a, e in p.bad.T.tolist():  # bad lines
            self._bad(p.buf, code, base + r + 1, a, e)
        if p.pieces:
            self._pieces(p, base)
        if self.errors:  # strict: the first bad line of the block, in file order
            raise min(self.errors, key=lambda err: err.line)

    def _pieces(self, p: "Pass", base: int) -> None:
        # Local string ids -> ids of this Collector.
        gmap = np.array([self.interner.add(b) for b in p.local.strings()], np.int64)
        if len(self.strings) < len(self.interner):
            self.strings += [b.decode("utf-8", "replace") for b in self.interner.strings(len(self.strings))]
        for kind in ("start", "end"):
            if kind in p.pieces:
                row, time, ints, ids = p.pieces[kind]  # views of the scanner's outputs: copied
                self.columns[kind].append(base, row, time, ints, ids, gmap, self.bytes)
                self.events[f"mm_shrink_slab_{kind}"] += len(row)
        if "other" in p.pieces:
            self._other(p, base, gmap)

    def _other(self, p: "Pass", base: int, gmap: np.ndarray) -> None:
        buf = p.buf
        row, time, ints, ids = p.pieces["other"]
        counts = np.bincount(np.take(gmap, ids[0]))  # events per name id (ids are dense)
        for i in np.flatnonzero(counts).tolist():
            self.events[self.strings[i]] += int(counts[i])
        rec = p.pieces["reclaim"]
        if rec is None:
            return
        sel, time, pid_cpu, payload, eol, ids, kv, ok, present = rec
        ids = np.take(gmap, ids)
        name_id = ids[0]
        req = self.required_mask[name_id]
        ok &= (present & req) == req
        for r in np.flatnonzero(~ok).tolist():
            name = self.strings[int(name_id[r])]
            self.events[name] -= 1
            self._malformed(name, base + int(sel[r]) + 1, self._text(buf, _line_start(buf, int(payload[r])),
                                                                     int(eol[r])))
        if not ok.all():
            sel, time, pid_cpu, ids, kv, present = sel[ok], time[ok], pid_cpu[:, ok], ids[:, ok], kv[:, ok], present[ok]
        if not len(sel):
            return
        self.parts["reclaim"].append({"line": base + sel + 1, "time": time, "ints": pid_cpu, "ids": ids, "kv": kv,
                                      "present": present})

    @staticmethod
    def _text(buf, a: int, e: int) -> str:
        return bytes(buf[a:max(a, e)]).decode("utf-8", "replace")

    def _bad(self, buf, code: int, line: int, a: int, e: int) -> None:
        if code == S.LONG_LINE:  # only its head, for the message
            self._malformed("long_line", line, self._text(buf, a, min(e, a + _TEXT_BYTES)))
            return
        text = self._text(buf, a, e)
        if code == S.BAD_LINE:
            lost = _LOST.match(text)
            if lost:
                self.lost += int(lost.group(2))
                return
            if _PREAMBLE.match(text):
                self.preamble += 1
                return
            kind = "line"
        else:
            kind = "mm_shrink_slab_start" if code == S.BAD_START else "mm_shrink_slab_end"
        self._malformed(kind, line, text)

    def _malformed(self, kind: str, line: int, text: str) -> None:
        if self.strict:
            self.errors.append(TraceFormatError(self.source, line, kind, text))
        else:
            self.malformed[kind] += 1

    # -- at the end ------------------------------------------------------
    def dataset(self, compression: str) -> xr.Dataset:
        """The Dataset of everything collected (see :func:`reclaimlab.trace.read`)."""
        starts = self.columns["start"].arrays()
        ends = self.columns["end"].arrays()
        rec = self._stack_reclaim()
        start_pos, end_pos, n_desc = _time_order(starts, ends, rec, self.sort)
        data_vars, pairing = self._call_vars(starts, ends, start_pos, end_pos)
        data_vars.update(self._event_vars(rec))
        ds = xr.Dataset(data_vars)
        ds.attrs.update(self._attrs(compression, starts, pairing))
        if n_desc:
            ds.attrs["out_of_order_events"] = n_desc
        return ds

    def _strings(self, ids: np.ndarray, fn=None, out: np.ndarray | None = None) -> np.ndarray:
        """Object array of the strings behind ``ids`` (``fn`` applied to each distinct one;
        into ``out`` when given: a contiguous object array as long as ``ids``)."""
        if not len(ids):
            return np.empty(0, dtype=object) if out is None else out
        table = self.strings
        if fn is not None:
            seen = np.zeros(len(self.strings), np.bool_)
            seen[ids] = True
            table = [None] * len(self.strings)
            for u in np.flatnonzero(seen).tolist():
                table[u] = fn(self.strings[u])
        if out is None:
            out = np.empty(len(ids), dtype=object)
        take_objects(table, np.ascontiguousarray(ids, np.int64), out)
        return out

    def _call_vars(self, starts: dict, ends: dict, start_pos: np.ndarray, end_pos: np.ndarray) -> tuple[dict, dict]:
        si = {name: k for k, name in enumerate(_START_INTS)}
        ei = {name: k for k, name in enumerate(_END_INTS)}
        ss = {name: k for k, name in enumerate(_START_STRS)}
        es = {name: k for k, name in enumerate(_END_STRS)}
        sh, eh, sv, ev = starts["ids"], ends["ids"], starts["ints"], ends["ints"]
        # Shrinker instance = (symbol, pointer), as interned ids.
        ns = len(starts["line"])
        pair_args = (start_pos, sv[si["pid"]], sh[ss["symbol"]], sh[ss["shrinker_id"]], sv[si["nr_deferred"]],
                     end_pos, ev[ei["pid"]], eh[es["symbol"]], eh[es["shrinker_id"]], ev[ei["unused_scan"]])
        # The pairing (C, GIL released) runs in a thread of its own while this one builds the
        # string columns, which do not depend on it (both a few ms a million lines; the
        # scanner's threads are idle by now).
        pairing_done = _in_thread(pair_calls, *pair_args) if self.threads and ns >= _THREAD_MIN else None
        # The new columns, in two blocks (see _rows): the strings, the end event's values.
        str_names = ("task", "module", "shrinker_id", "gfp_flags")
        end_names = [name for name in ei if name != "pid"]
        objs = _rows(1 + len(str_names), ns, object)
        vals = _rows(1 + len(end_names), ns, np.int64)
        cols = {"time": starts["time"], "line": starts["line"],
                "shrinker": self._strings(sh[ss["symbol"]], lambda s: strip_symbol(s)[0], out=objs[0])}
        for r, name in enumerate(str_names, 1):
            cols[name] = self._strings(sh[ss[name]], out=objs[r])
        end_of = pairing_done() if pairing_done is not None else pair_calls(*pair_args)
        has_end = end_of >= 0
        cols["has_end"] = has_end
        cols["end_time"] = _take_matched(np.asarray(ends["time"], np.float64), end_of, np.nan,
                                         out=vals[0].view(np.float64))
        for name, k in si.items():
            cols[name] = sv[k]
        for r, name in enumerate(end_names, 1):
            cols[name] = _take_matched(ev[ei[name]], end_of, MISSING, out=vals[r])
        pairing = {"unmatched_starts": int(ns - has_end.sum()),
                   "orphan_ends": int(len(ends["line"]) - has_end.sum())}
        return {name: variable("call", cols[name], *CALL_VARS[name]) for name in CALL_VARS}, pairing

    def _stack_reclaim(self) -> dict:
        parts = self.parts["reclaim"]
        n_str = 2 + len(_KV_STR)
        if parts:
            rec = {k: np.concatenate([p[k] for p in parts], axis=-1) for k in parts[0]}
            parts.clear()
        else:
            rec = {"line": np.zeros(0, np.int64), "time": np.zeros(0), "ints": np.zeros((2, 0), np.int64),
                   "ids": np.zeros((n_str, 0), np.int64), "kv": np.zeros((len(_KV_INT), 0), np.int64),
                   "present": np.zeros(0, np.int64)}
        return rec

    def _event_vars(self, rec: dict) -> dict:
        seen = int(np.bitwise_or.reduce(rec["present"])) if len(rec["present"]) else 0
        cols = {"event_name": self._strings(rec["ids"][0]), "event_time": rec["time"],
                "event_line": rec["line"], "event_cpu": rec["ints"][1], "event_pid": rec["ints"][0],
                "event_task": self._strings(rec["ids"][1])}
        for k, key in enumerate(_KV_KEYS):
            if not (seen >> k) & 1 and key not in EVENT_BASE_FIELDS:
                continue
            if k < len(_KV_INT):
                cols[f"event_{key}"] = rec["kv"][k]
            else:
                cols[f"event_{key}"] = self._strings(rec["ids"][2 + k - len(_KV_INT)])
        return {name: variable("event", v, *event_var_meta(name)) for name, v in cols.items()}

    def _attrs(self, compression: str, starts: dict, pairing: dict) -> dict:
        pgs = starts["ints"][list(_START_INTS).index("pgs_scanned")]
        old = int((pgs != MISSING).sum())
        attrs = {
            "source": self.source,
            "compression": compression,
            "reclaimlab_version": __version__,
            "lines": self.lines,
            "comment_lines": int(self.status_counts[S.COMMENT + 4]),
            "blank_lines": int(self.status_counts[S.BLANK + 4]),
            "preamble_lines": self.preamble,
            "lost_events": self.lost,
            "skipped_events": sum(n for k, n in self.events.items()
                                  if k not in RECLAIM_EVENTS and k not in _SHRINK_EVENTS),
            "malformed_lines": sum(self.malformed.values()),
            **pairing,
            "start_formats": ",".join(f for f, n in (("4.16+", len(pgs) - old), ("pre-4.16", old)) if n),
            "flags_columns": ",".join(str(w) for w in np.flatnonzero(self.flag_widths)),
            "count_mm_shrink_slab_start": 0,
            "count_mm_shrink_slab_end": 0,
        }
        for name, n in sorted(self.events.items()):
            if n:
                attrs[f"count_{name}"] = n
        for kind, n in sorted(self.malformed.items()):
            attrs[f"malformed_{kind}"] = n
        return attrs
