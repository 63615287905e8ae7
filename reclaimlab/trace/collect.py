"""Turn scanned batches of trace lines into the trace Dataset.

:mod:`reclaimlab.trace._scan` parses a batch of lines into integer columns and
string spans with hashes; :class:`Collector` keeps the rows of the events that
matter (copied out of the batch, so memory follows the events kept), interns
every string it keeps (:class:`~reclaimlab.trace._scan.Interner`: a dense id per
distinct byte string, the bytes compared, so a crafted string that collides
with another's hash still gets its own id), decodes each distinct string once,
deals with the bad lines (strict: raise; lenient: count) and at the end puts
the events in timestamp order, pairs starts with ends and builds the Dataset.
Strings are object arrays that share one Python ``str`` per distinct value.
"""
from __future__ import annotations

import functools
import re
from collections import Counter
from typing import NamedTuple

import numpy as np
import pandas as pd
import xarray as xr

from .._native import compact, descents
from .._version import __version__
from ..model.shrinkers import strip_symbol
from . import _scan as S
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
# What Collector.scan copies out per kind of line: status code, integer columns (the flags
# width last), string slots.
_PIECES = (
    ("start", S.START, np.array([*_START_INTS.values(), S.I_FLAGSLEN]), np.array(list(_START_STRS.values()))),
    ("end", S.END, np.array([*_END_INTS.values(), S.I_FLAGSLEN]), np.array(list(_END_STRS.values()))),
    ("other", S.OTHER, np.array([S.I_PID, S.I_CPU, S.I_PAYLOAD, S.I_EOL, S.I_FLAGSLEN]),
     np.array([S.S_EVENT, S.S_TASK])),
)
# Status codes -4..4 as bytes (int8 viewed as uint8), in the order of Collector.status_counts.
_STATUS_BINS = np.arange(-4, 5) % 256


def _gather(a: np.ndarray, sel: np.ndarray, cols: list[int]) -> np.ndarray:
    """``a[sel][:, cols]`` transposed, as one contiguous array (column, line)."""
    return np.ascontiguousarray(a[sel][:, cols].T)


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

    Returns ``(row, time, pid_cpu, eol, ids, kv, ok, present)``: ``ids`` holds
    the event name, the task and the string keys (local ids), ``kv`` the integer
    keys; ``ok`` and ``present`` as :func:`~reclaimlab.trace._scan.scan_kv`.
    """
    row, time, ints, ids = other
    reclaim_ids = [k for k, b in enumerate(local.strings()) if b in _RECLAIM_BYTES]
    if not reclaim_ids:
        return None
    reclaim = np.isin(ids[0], reclaim_ids)
    if not reclaim.any():
        return None
    eol = ints[3, reclaim]
    m = len(eol)
    kv = np.full((len(_KV_INT), m), MISSING, np.int64)
    spans = np.zeros((len(_KV_STR), 2, m), np.int64)
    shash = np.zeros((len(_KV_STR), m), np.uint64)
    ok, present = S.scan_kv(buf, ints[2, reclaim], eol, _KV_KEY_BYTES, len(_KV_INT), kv, spans, shash)
    kv_ids = np.empty((len(_KV_STR), m), np.int64)
    local.intern(buf, np.ascontiguousarray(spans[:, 0]).reshape(-1), np.ascontiguousarray(spans[:, 1]).reshape(-1),
                 shash.reshape(-1), kv_ids.reshape(-1))
    return (row[reclaim], time[reclaim], np.ascontiguousarray(ints[:2, reclaim]), eol,
            np.vstack([ids[:, reclaim], kv_ids]), kv, ok, present)


class Pass(NamedTuple):
    """What :meth:`Collector.scan` found in one pass of the scanner."""

    buf: np.ndarray          #: the text
    rows: int                #: lines scanned
    next_start: int          #: offset of the next line not scanned
    out: tuple               #: the scanner outputs (reused after Collector.add)
    counts: np.ndarray       #: lines per status code -4..4
    local: S.Interner        #: the strings of this pass
    pieces: dict             #: kind -> (row, time, ints, ids) of its lines (ids in ``local``)


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
    """

    def __init__(self, strict: bool, source: str, sort: bool = True) -> None:
        self.strict = strict
        self.source = source
        self.sort = sort
        self.lines = 0
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
        self.parts: dict[str, list[dict]] = {"start": [], "end": [], "reclaim": []}

    # -- per batch -------------------------------------------------------
    @staticmethod
    def scan(buf: np.ndarray, start: int, out) -> "Pass":
        """Scan the lines of ``buf[start:]`` that fit in the outputs ``out`` and copy out
        the events, with their strings interned in an interner of their own.

        Runs in the reader's worker threads (the C code releases the GIL): it
        touches no state of the Collector; :meth:`add` takes the result, in order.
        """
        rows, nxt = S.scan_lines(buf, start, out)
        status = out[0][:rows]
        counts = np.bincount(status.view(np.uint8), minlength=256)
        local = S.Interner()
        pieces = {}
        for kind, code, cols, slots in _PIECES:
            n = int(counts[code])
            if n:
                piece = (np.empty(n, np.int64), np.empty(n), np.empty((len(cols), n), np.int64),
                         np.empty((len(slots), n), np.int64))
                compact(local, buf, code, status, out[1], out[2], out[3], out[4], cols, slots, *piece)
                pieces[kind] = piece
        if "other" in pieces:
            pieces["reclaim"] = _reclaim_payloads(buf, local, pieces["other"])
        return Pass(buf, rows, nxt, out, counts[_STATUS_BINS], local, pieces)

    def add(self, p: "Pass") -> None:
        """Take the lines of one :meth:`scan` pass (passes in file order)."""
        buf, rows, out = p.buf, p.rows, p.out
        base = self.lines
        self.lines += rows
        self.status_counts += p.counts
        if p.counts[:4].any():  # bad lines
            status = out[0][:rows]
            for r in np.flatnonzero(status < 0).tolist():
                self._bad(buf, int(status[r]), base + r + 1, int(out[5][r]), int(out[1][r, S.I_EOL]))
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
                row, time, ints, ids = p.pieces[kind]
                self._count_flags(ints[-1])
                self.parts[kind].append({"line": base + row + 1, "time": time, "ints": ints[:-1],
                                         "ids": np.take(gmap, ids)})
                self.events[f"mm_shrink_slab_{kind}"] += len(row)
        if "other" in p.pieces:
            self._other(p, base, gmap)

    def _other(self, p: "Pass", base: int, gmap: np.ndarray) -> None:
        buf, out = p.buf, p.out
        row, time, ints, ids = p.pieces["other"]
        self._count_flags(ints[-1])
        names = np.take(gmap, ids[0])
        uniq, counts = np.unique(names, return_counts=True)
        for i, n in zip(uniq.tolist(), counts.tolist()):
            self.events[self.strings[i]] += n
        rec = p.pieces["reclaim"]
        if rec is None:
            return
        sel, time, pid_cpu, eol, ids, kv, ok, present = rec
        ids = np.take(gmap, ids)
        name_id = ids[0]
        req = self.required_mask[name_id]
        ok &= (present & req) == req
        for r in np.flatnonzero(~ok).tolist():
            name = self.strings[int(name_id[r])]
            self.events[name] -= 1
            self._malformed(name, base + int(sel[r]) + 1, self._text(buf, int(out[5][sel[r]]), int(eol[r])))
        if not ok.all():
            sel, time, pid_cpu, ids, kv, present = sel[ok], time[ok], pid_cpu[:, ok], ids[:, ok], kv[:, ok], present[ok]
        if not len(sel):
            return
        self.parts["reclaim"].append({"line": base + sel + 1, "time": time, "ints": pid_cpu, "ids": ids, "kv": kv,
                                      "present": present})

    def _count_flags(self, widths: np.ndarray) -> None:
        """Count lines per flags-column width. The lexer gives widths 0 to 8 only
        (lexer.c, parse_header), so no clipping is needed; [:9] keeps the shape anyway."""
        self.flag_widths += np.bincount(widths, minlength=9)[:9]

    def _intern(self, buf, h: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
        """Ids of the strings at spans ``start``, ``length`` (hashes ``h``); new ones are decoded."""
        ids = np.empty(h.shape, np.int64)
        if self.interner.intern(buf, np.ascontiguousarray(start).reshape(-1),
                                np.ascontiguousarray(length).reshape(-1),
                                np.ascontiguousarray(h).reshape(-1), ids.reshape(-1)):
            self.strings += [b.decode("utf-8", "replace") for b in self.interner.strings(len(self.strings))]
        return ids

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
        starts = self._stack("start", len(_START_INTS), len(_START_STRS))
        ends = self._stack("end", len(_END_INTS), len(_END_STRS))
        rec = self._stack_reclaim()
        start_pos, end_pos, n_desc = _time_order(starts, ends, rec, self.sort)
        data_vars, pairing = self._call_vars(starts, ends, start_pos, end_pos)
        data_vars.update(self._event_vars(rec))
        ds = xr.Dataset(data_vars)
        ds.attrs.update(self._attrs(compression, starts, pairing))
        if n_desc:
            ds.attrs["out_of_order_events"] = n_desc
        return ds

    def _stack(self, kind: str, n_int: int, n_str: int) -> dict:
        parts = self.parts[kind]
        if not parts:
            return {"line": np.zeros(0, np.int64), "time": np.zeros(0),
                    "ints": np.zeros((n_int, 0), np.int64), "ids": np.zeros((n_str, 0), np.int64)}
        out = {k: np.concatenate([p[k] for p in parts], axis=-1) for k in parts[0]}
        parts.clear()  # the pieces are copied: let them go
        return out

    def _strings(self, ids: np.ndarray, fn=None) -> np.ndarray:
        """Object array of the strings behind ``ids`` (``fn`` applied to each distinct one)."""
        if not len(ids):
            return np.empty(0, dtype=object)
        table = np.empty(len(self.strings), dtype=object)
        if fn is None:
            table[:] = self.strings
        else:
            uniq = pd.unique(ids)
            table[uniq] = [fn(self.strings[u]) for u in uniq.tolist()]
        return table[ids]

    def _call_vars(self, starts: dict, ends: dict, start_pos: np.ndarray, end_pos: np.ndarray) -> tuple[dict, dict]:
        si = {name: k for k, name in enumerate(_START_INTS)}
        ei = {name: k for k, name in enumerate(_END_INTS)}
        ss = {name: k for k, name in enumerate(_START_STRS)}
        es = {name: k for k, name in enumerate(_END_STRS)}
        sh, eh, sv, ev = starts["ids"], ends["ids"], starts["ints"], ends["ints"]
        # Shrinker instance = (symbol, pointer), as interned ids.
        ns = len(starts["line"])
        end_of = pair_calls(
            start_pos, sv[si["pid"]], sh[ss["symbol"]], sh[ss["shrinker_id"]], sv[si["nr_deferred"]],
            end_pos, ev[ei["pid"]], eh[es["symbol"]], eh[es["shrinker_id"]], ev[ei["unused_scan"]])
        has_end = end_of >= 0
        j = np.where(has_end, end_of, 0)
        cols = {"time": starts["time"], "line": starts["line"], "has_end": has_end,
                "shrinker": self._strings(sh[ss["symbol"]], lambda s: strip_symbol(s)[0]),
                "end_time": np.where(has_end, ends["time"][j], np.nan) if len(ends["time"])
                else np.full(ns, np.nan)}
        for name in ("task", "module", "shrinker_id", "gfp_flags"):
            cols[name] = self._strings(sh[ss[name]])
        for name, k in si.items():
            cols[name] = sv[k]
        for name, k in ei.items():
            if name != "pid":
                cols[name] = (np.where(has_end, ev[k][j], MISSING) if ev.shape[1]
                              else np.full(ns, MISSING, np.int64))
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
