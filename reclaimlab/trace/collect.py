"""Turn scanned batches of trace lines into the trace Dataset.

:mod:`reclaimlab.trace._scan` parses a batch of lines into integer columns and
string spans with hashes; :class:`Collector` keeps the rows of the events that
matter (copied out of the batch, so memory follows the events kept), decodes
each distinct string once, deals with the bad lines (strict: raise; lenient:
count) and at the end pairs starts with ends and builds the Dataset. Strings are
object arrays that share one Python ``str`` per distinct value.
"""
from __future__ import annotations

import functools
import re
from collections import Counter

import numpy as np
import pandas as pd
import xarray as xr

from .._version import __version__
from ..model.shrinkers import strip_symbol
from . import _scan as S
from .errors import TraceFormatError
from .pairing import pair_starts_with_ends
from .schema import (
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


def _gather(a: np.ndarray, rows: list[int], sel: np.ndarray) -> np.ndarray:
    """``a[rows][:, sel]`` as one contiguous array, gathering row by row."""
    out = np.empty((len(rows), len(sel)), a.dtype)
    for j, r in enumerate(rows):
        np.take(a[r], sel, out=out[j])
    return out


def _hash(text: str) -> int:
    raw = np.frombuffer(text.encode(), np.uint8)
    return int(S.str_hash(raw, np.zeros(0, np.uint64), -1, 0, len(raw)))


@functools.lru_cache(maxsize=1)
def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hashes of the known payload keys; reclaim-event name hashes (sorted) and the
    bit mask of the keys each must carry."""
    key_hashes = np.array([_hash(k) for k in _KV_KEYS], np.uint64)
    required = {_hash(name): sum(1 << _KV_KEYS.index(k) for k in keys) for name, keys in RECLAIM_EVENTS.items()}
    names = np.array(sorted(required), np.uint64)
    return key_hashes, names, np.array([required[int(h)] for h in names], np.int64)


class Collector:
    """Accumulates batches from :func:`~reclaimlab.trace._scan.scan_lines`.

    Parameters
    ----------
    strict : bool
        Raise :class:`TraceFormatError` at the first bad line instead of counting it.
    source : str
        Name used in attrs and errors.
    """

    def __init__(self, strict: bool, source: str) -> None:
        self.strict = strict
        self.source = source
        self.lines = 0
        self.strings: dict[int, str] = {0: ""}   # hash 0: a string field that is absent
        self.status_counts = np.zeros(9, np.int64)   # status code + 4
        self.flag_widths = np.zeros(9, np.int64)
        self.events: Counter = Counter()     # event name -> well-formed events
        self.malformed: Counter = Counter()  # kind -> lines
        self.preamble = 0
        self.lost = 0
        self.errors: list[TraceFormatError] = []   # strict mode: raised at the end of the block
        self.parts: dict[str, list[dict]] = {"start": [], "end": [], "reclaim": []}
        self.key_hashes, self.reclaim_hashes, self.required_mask = _tables()

    # -- per batch -------------------------------------------------------
    def add(self, buf: np.ndarray, rows: int, out) -> None:
        """Take the first ``rows`` lines of the scanner outputs ``out`` for text ``buf``."""
        status, ts, line_start = out[0][:rows], out[4][:rows], out[5][:rows]
        ints, strs, hashes = out[1][:, :rows], out[2][:, :, :rows], out[3][:, :rows]
        base = self.lines
        self.lines += rows
        self.status_counts += np.bincount(status.astype(np.int64) + 4, minlength=9)
        for r in np.flatnonzero(status < 0).tolist():
            self._bad(buf, int(status[r]), base + r + 1, int(line_start[r]), int(ints[S.I_EOL, r]))
        events = status >= S.OTHER
        if events.any():
            self.flag_widths += np.bincount(np.clip(ints[S.I_FLAGSLEN, events], 0, 8), minlength=9)
        for kind, code, icols, scols in (("start", S.START, _START_INTS, _START_STRS),
                                         ("end", S.END, _END_INTS, _END_STRS)):
            sel = np.flatnonzero(status == code)
            if len(sel):
                slots = list(scols.values())
                h = _gather(hashes, slots, sel)
                self._learn(buf, h, _gather(strs[:, 0], slots, sel), _gather(strs[:, 1], slots, sel))
                self.parts[kind].append({"line": base + sel + 1, "time": ts[sel],
                                         "ints": _gather(ints, list(icols.values()), sel), "hashes": h})
                self.events[f"mm_shrink_slab_{kind}"] += len(sel)
        other = np.flatnonzero(status == S.OTHER)
        if len(other):
            self._other(buf, other, base, ints, strs, hashes, ts, line_start)
        if self.errors:  # strict: the first bad line of the block, in file order
            raise min(self.errors, key=lambda err: err.line)

    def _other(self, buf, other, base, ints, strs, hashes, ts, line_start) -> None:
        names = hashes[S.S_EVENT, other]
        self._learn(buf, names[None], strs[S.S_EVENT, 0, other][None], strs[S.S_EVENT, 1, other][None])
        uniq, counts = np.unique(names, return_counts=True)
        for h, n in zip(uniq.tolist(), counts.tolist()):
            self.events[self.strings[h]] += n
        sel = other[np.isin(names, self.reclaim_hashes)]
        if not len(sel):
            return
        m = len(sel)
        kv = np.full((len(_KV_INT), m), MISSING, np.int64)
        spans = np.zeros((len(_KV_STR), 2, m), np.int64)
        shash = np.zeros((len(_KV_STR), m), np.uint64)
        words, woff = S.word_view(buf)
        ok, present = S.scan_kv(buf, words, woff, ints[S.I_PAYLOAD, sel], ints[S.I_EOL, sel], self.key_hashes,
                                len(_KV_INT), kv, spans, shash)
        name_h = hashes[S.S_EVENT, sel]
        req = self.required_mask[np.searchsorted(self.reclaim_hashes, name_h)]
        ok &= (present & req) == req
        for r in np.flatnonzero(~ok).tolist():
            row = int(sel[r])
            name = self.strings[int(name_h[r])]
            self.events[name] -= 1
            self._malformed(name, base + row + 1,
                            self._text(buf, int(line_start[row]), int(ints[S.I_EOL, row])))
        sel, name_h, kv, spans, shash, present = sel[ok], name_h[ok], kv[:, ok], spans[:, :, ok], shash[:, ok], \
            present[ok]
        if not len(sel):
            return
        h = np.vstack([hashes[S.S_TASK, sel][None], shash])
        self._learn(buf, h, np.vstack([strs[S.S_TASK, 0, sel][None], spans[:, 0]]),
                    np.vstack([strs[S.S_TASK, 1, sel][None], spans[:, 1]]))
        self.parts["reclaim"].append({
            "line": base + sel + 1, "time": ts[sel], "ints": np.vstack([ints[S.I_PID, sel], ints[S.I_CPU, sel]]),
            "hashes": np.vstack([name_h[None], h]), "kv": kv, "present": present})

    def _learn(self, buf: np.ndarray, h: np.ndarray, start: np.ndarray, length: np.ndarray) -> None:
        """Decode the strings behind hashes ``h`` not seen before (spans ``start``, ``length``)."""
        flat = h.ravel()
        new = [u for u in pd.unique(flat).tolist() if u not in self.strings]
        if not new:
            return
        if len(new) > 8:
            uniq, first = np.unique(flat, return_index=True)
            where = dict(zip(uniq.tolist(), first.tolist()))
        else:
            where = {u: int(np.argmax(flat == np.uint64(u))) for u in new}
        a, n = start.ravel(), length.ravel()
        for u in new:
            k = where[u]
            self.strings[u] = bytes(buf[a[k]:a[k] + n[k]]).decode("utf-8", "replace")

    @staticmethod
    def _text(buf: np.ndarray, a: int, e: int) -> str:
        return bytes(buf[a:max(a, e)]).decode("utf-8", "replace")

    def _bad(self, buf, code: int, line: int, a: int, e: int) -> None:
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
        data_vars, pairing = self._call_vars(starts, ends)
        data_vars.update(self._event_vars())
        ds = xr.Dataset(data_vars)
        ds.attrs.update(self._attrs(compression, starts, pairing))
        return ds

    def _stack(self, kind: str, n_int: int, n_str: int) -> dict:
        parts = self.parts[kind]
        if not parts:
            return {"line": np.zeros(0, np.int64), "time": np.zeros(0),
                    "ints": np.zeros((n_int, 0), np.int64), "hashes": np.zeros((n_str, 0), np.uint64)}
        out = {k: np.concatenate([p[k] for p in parts], axis=-1) for k in parts[0]}
        parts.clear()  # the pieces are copied: let them go
        return out

    def _strings(self, h: np.ndarray, fn=None) -> np.ndarray:
        """Object array of the strings behind hashes ``h`` (``fn`` applied to each distinct one)."""
        codes, uniq = pd.factorize(h)
        table = np.empty(len(uniq), dtype=object)
        table[:] = [fn(self.strings[u]) if fn else self.strings[u] for u in uniq.tolist()]
        return table[codes] if len(h) else np.empty(0, dtype=object)

    def _call_vars(self, starts: dict, ends: dict) -> tuple[dict, dict]:
        si = {name: k for k, name in enumerate(_START_INTS)}
        ei = {name: k for k, name in enumerate(_END_INTS)}
        ss = {name: k for k, name in enumerate(_START_STRS)}
        es = {name: k for k, name in enumerate(_END_STRS)}
        sh, eh, sv, ev = starts["hashes"], ends["hashes"], starts["ints"], ends["ints"]
        # Shrinker instance = (symbol, pointer); one code for starts and ends alike.
        mix = np.uint64(0x9E3779B97F4A7C15)
        inst = np.concatenate([sh[ss["symbol"]] * mix ^ sh[ss["shrinker_id"]],
                               eh[es["symbol"]] * mix ^ eh[es["shrinker_id"]]])
        inst_code, _ = pd.factorize(inst)
        ns = len(starts["line"])
        end_of = pair_starts_with_ends(
            starts["line"], sv[si["pid"]], inst_code[:ns], sv[si["nr_deferred"]],
            ends["line"], ev[ei["pid"]], inst_code[ns:], ev[ei["unused_scan"]])
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

    def _event_vars(self) -> dict:
        parts = self.parts["reclaim"]
        n_str = 2 + len(_KV_STR)
        if parts:
            rec = {k: np.concatenate([p[k] for p in parts], axis=-1) for k in parts[0]}
            parts.clear()
        else:
            rec = {"line": np.zeros(0, np.int64), "time": np.zeros(0), "ints": np.zeros((2, 0), np.int64),
                   "hashes": np.zeros((n_str, 0), np.uint64), "kv": np.zeros((len(_KV_INT), 0), np.int64),
                   "present": np.zeros(0, np.int64)}
        seen = int(np.bitwise_or.reduce(rec["present"])) if len(rec["present"]) else 0
        cols = {"event_name": self._strings(rec["hashes"][0]), "event_time": rec["time"],
                "event_line": rec["line"], "event_cpu": rec["ints"][1], "event_pid": rec["ints"][0],
                "event_task": self._strings(rec["hashes"][1])}
        for k, key in enumerate(_KV_KEYS):
            if not (seen >> k) & 1 and key not in EVENT_BASE_FIELDS:
                continue
            if k < len(_KV_INT):
                cols[f"event_{key}"] = rec["kv"][k]
            else:
                h = rec["hashes"][2 + k - len(_KV_INT)]
                cols[f"event_{key}"] = self._strings(h)
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
