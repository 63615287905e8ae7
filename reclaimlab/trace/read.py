"""Read ftrace shrinker traces into an :class:`xarray.Dataset` (KERNEL.md §4).

The text is read in chunks of a few MB (decompressed on the fly for ``.gz``,
``.xz`` and ``.bz2``, recognised by their magic bytes) and each chunk is parsed
by one compiled pass (:mod:`reclaimlab.trace._scan`); only the events kept are
copied out, so memory grows with the events kept, not with the file.
"""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import re
import zlib
from collections import Counter

import numpy as np
import pandas as pd
import xarray as xr

from .. import __version__
from ..model.shrinkers import strip_symbol
from . import _scan as S
from .errors import TraceFormatError
from .events import parse_payload
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

CHUNK_BYTES = 1 << 23
BATCH_LINES = 1 << 15

_MAGIC = ((b"\x1f\x8b", "gzip", gzip.open), (b"\xfd7zXZ\x00", "xz", lzma.open), (b"BZh", "bz2", bz2.open))

# Lines of trace-cmd's report preamble and ftrace's lost-event notes: not events, not errors.
_PREAMBLE = re.compile(
    r"^\s*(cpus=\d+|version = \d+\S*|CPU \d+ is empty|CPU\d+ data recorded at offset=\S+"
    r"|\d+ bytes in size|trace-cmd: .*|buffer: .*)\s*$"
)
_LOST = re.compile(r"^\s*(?:CPU:\s*(\d+)\s+)?\[LOST (\d+) EVENTS?\]\s*$")

# Integer columns kept per event kind: variable name -> scanner column.
_START_INTS = {"pid": S.I_PID, "cpu": S.I_CPU, "nid": S.I_NID, "nr_deferred": S.I_NR,
               "cache_items": S.I_F, "delta": S.I_DELTA, "total_scan": S.I_TOTAL,
               "priority": S.I_PRIO, "pgs_scanned": S.I_PGS, "lru_pgs": S.I_LRU}
_END_INTS = {"pid": S.I_PID, "end_nid": S.I_NID, "unused_scan": S.I_NR, "new_scan": S.I_F,
             "total_scan_left": S.I_DELTA, "retval": S.I_TOTAL}
# String slots kept per event kind, in this order.
_START_STRS = (S.S_TASK, S.S_SYM, S.S_MOD, S.S_PTR, S.S_GFP)
_END_STRS = (S.S_SYM, S.S_PTR)


def read(path: str | os.PathLike, strict: bool = False) -> xr.Dataset:
    """Read an ftrace text trace of vmscan events into a Dataset.

    One entry along ``call`` per do_shrink_slab() call: an
    ``mm_shrink_slab_start`` event joined with its ``mm_shrink_slab_end``
    (same task, same shrinker instance, the end's ``unused scan count`` equal
    to the start's ``nr``; see :mod:`reclaimlab.trace.pairing`). Reclaim events
    (``mm_vmscan_direct_reclaim_begin/end``, ``kswapd_wake/sleep``,
    ``memcg_reclaim_*``, ``lru_shrink_inactive``...) go along ``event``.

    Parameters
    ----------
    path : str or os.PathLike
        Raw ftrace text (``trace``, ``trace_pipe``) or ``trace-cmd report``
        output; plain, gzip, xz or bzip2 compressed. Every format of KERNEL.md
        §4: 4.16-5.1 (``%pF``), 5.2+ (``%pS``), pre-4.16 (``pgs_scanned``,
        ``lru_pgs``, no priority), 4- or 5-character flags columns or none,
        ``<...>`` and blank- or dash-containing task names, ``[module]``
        symbols, ``#`` comments, the optional tgid column.
    strict : bool
        Raise :class:`TraceFormatError` at the first line that does not parse.
        By default such lines are skipped and counted in ``attrs``.

    Returns
    -------
    xarray.Dataset
        Dims ``call`` and ``event``. Along ``call``: ``time``, ``line``,
        ``cpu``, ``pid``, ``task``, ``shrinker`` (symbol without offset),
        ``shrinker_id`` (the printed pointer), ``module``, ``nid``,
        ``gfp_flags``, ``nr_deferred``, ``cache_items``, ``delta``,
        ``total_scan``, ``priority`` (-1 in pre-4.16 traces), ``pgs_scanned``
        and ``lru_pgs`` (-1 unless pre-4.16), ``has_end``, and from the end
        event ``end_time``, ``end_nid``, ``unused_scan``, ``new_scan``,
        ``total_scan_left``, ``retval`` (-1 / NaN without one). Along
        ``event``: ``event_name``, ``event_time``, ``event_line``, ``event_cpu``,
        ``event_pid``, ``event_task`` and ``event_<field>`` for the payload
        fields (-1 / '' where an event lacks one). Every variable has ``units``
        and ``long_name``. ``attrs``: ``source``, ``compression``, ``lines``,
        ``count_<event>`` for every event name seen, ``skipped_events``,
        ``malformed_lines`` and ``malformed_<kind>``, ``comment_lines``,
        ``blank_lines``, ``preamble_lines``, ``lost_events``,
        ``unmatched_starts``, ``orphan_ends``, ``start_formats``,
        ``flags_columns``.

    Raises
    ------
    TraceFormatError
        With ``strict=True``, for the first bad line (line number and text).
    TypeError
        When ``path`` is not a path.
    FileNotFoundError, OSError
        When the file cannot be opened. A corrupt or truncated compressed file
        raises :class:`TraceFormatError` of kind ``"compression"`` when
        ``strict``; otherwise the events before the damage are returned and
        ``attrs["compression_error"]`` says what happened.

    Examples
    --------
    >>> import reclaimlab as rl, pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.txt"
    >>> _ = p.write_text(
    ...     "kswapd0-93 [003] .... 1234.567890: mm_shrink_slab_start: super_cache_scan+0x0/0x1a0 "
    ...     "00000000b5d3f2a1: nid: 0 objects to shrink 0 gfp_flags GFP_KERNEL cache items 312 "
    ...     "delta 312 total_scan 312 priority 12\\n")
    >>> ds = rl.trace.read(p)
    >>> ds.sizes["call"], str(ds.shrinker[0].values), int(ds.cache_items[0])
    (1, 'super_cache_scan', 312)
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path={path!r} must be a str or os.PathLike naming a trace file")
    path = os.fspath(path)
    with open(path, "rb") as raw:
        head = raw.read(8)
        raw.seek(0)
        compression, opener = "none", None
        for magic, name, fn in _MAGIC:
            if head.startswith(magic):
                compression, opener = name, fn
        stream = opener(raw) if opener else raw
        problems: list[str] = []
        try:
            ds = _parse_stream(_chunks(stream, path, problems), strict, path, compression)
        finally:
            if opener:
                stream.close()
    if problems:
        if strict:
            raise TraceFormatError(path, ds.attrs["lines"] + 1, "compression", problems[0])
        ds.attrs["compression_error"] = problems[0]
    return ds


def parse(text: str | bytes, *, strict: bool = False, source: str = "<text>") -> xr.Dataset:
    """Parse trace text already in memory; see :func:`read` for the Dataset.

    Parameters
    ----------
    text : str or bytes
        The trace text.
    strict : bool
        Raise :class:`TraceFormatError` at the first bad line.
    source : str
        Name for ``attrs["source"]`` and error messages.

    Examples
    --------
    >>> import reclaimlab as rl
    >>> ds = rl.trace.parse("# a comment\\nsomething else\\n")
    >>> ds.sizes["call"], ds.attrs["malformed_lines"], ds.attrs["comment_lines"]
    (0, 1, 1)
    """
    if isinstance(text, str):
        data = text.encode("utf-8", "replace")
    elif isinstance(text, (bytes, bytearray, memoryview)):
        data = bytes(text)
    else:
        raise TypeError(f"text={type(text).__name__} must be str or bytes")
    if not isinstance(source, str):
        raise TypeError(f"source={source!r} must be a str")
    return _parse_stream(iter([data]) if data else iter([]), strict, source, "none")


_DECOMPRESS_ERRORS = (EOFError, lzma.LZMAError, zlib.error, gzip.BadGzipFile, OSError)


def _chunks(stream: io.BufferedIOBase, path: str, problems: list[str]):
    """Blocks of whole lines (the last may lack its newline).

    A corrupt or truncated compressed file ends the blocks early; what went
    wrong is appended to ``problems``.
    """
    rest = b""
    while True:
        try:
            data = stream.read(CHUNK_BYTES)
        except _DECOMPRESS_ERRORS as exc:
            if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
                raise
            problems.append(f"{type(exc).__name__}: {exc}")
            data = b""
        if not data:
            if rest:
                yield rest
            return
        if rest:
            data = rest + data
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            rest = data
            continue
        rest = data[cut:]
        yield data if cut == len(data) else data[:cut]


def _parse_stream(chunks, strict: bool, source: str, compression: str) -> xr.Dataset:
    if not isinstance(strict, (bool, np.bool_)):
        raise TypeError(f"strict={strict!r} must be True or False")
    col = _Collector(bool(strict), source)
    out = S.new_outputs(BATCH_LINES)
    for chunk in chunks:
        buf = np.frombuffer(chunk, np.uint8)
        pos = 0
        while pos < len(buf):
            rows, nxt = S.scan_lines(buf, pos, *out, S.LIT_BYTES, S.LIT_OFF)
            col.add(buf, rows, out)
            pos = nxt
    return col.dataset(compression)


class _Collector:
    """Keeps what a batch of scanned lines yields; builds the Dataset at the end."""

    def __init__(self, strict: bool, source: str) -> None:
        self.strict = strict
        self.source = source
        self.lines = 0
        self.strings: dict[int, str] = {0: ""}
        self.kinds: Counter = Counter()      # status code -> lines
        self.events: Counter = Counter()     # event name -> events
        self.malformed: Counter = Counter()  # kind -> lines
        self.preamble = 0
        self.lost = 0
        self.flag_widths: set[int] = set()
        self.starts: list[dict] = []
        self.ends: list[dict] = []
        self.reclaim: list[tuple] = []

    # -- per batch -------------------------------------------------------
    def add(self, buf: np.ndarray, rows: int, out) -> None:
        status, ints, strs, hashes, ts, line_start = (a[:rows] for a in out)
        base = self.lines
        self.lines += rows
        codes, counts = np.unique(status, return_counts=True)
        self.kinds.update(dict(zip(codes.tolist(), counts.tolist())))
        for r in np.flatnonzero(status < 0).tolist():
            self._bad(buf, int(status[r]), base + r + 1, int(line_start[r]), int(ints[r, S.I_EOL]), strs[r])
        event_rows = status >= S.OTHER
        if event_rows.any():
            self.flag_widths.update(np.unique(ints[event_rows, S.I_FLAGSLEN]).tolist())
        for code, store, icols, slots, name in (
                (S.START, self.starts, _START_INTS, _START_STRS, "mm_shrink_slab_start"),
                (S.END, self.ends, _END_INTS, _END_STRS, "mm_shrink_slab_end")):
            sel = np.flatnonzero(status == code)
            if len(sel):
                for k in slots:
                    self._learn(buf, hashes[sel, k], strs[sel, k])
                store.append({"line": base + sel + 1, "time": ts[sel],
                              "ints": ints[np.ix_(sel, list(icols.values()))],
                              "hashes": hashes[np.ix_(sel, list(slots))]})
                self.events[name] += len(sel)
        other = np.flatnonzero(status == S.OTHER)
        if len(other):
            names = hashes[other, S.S_EVENT]
            self._learn(buf, names, strs[other, S.S_EVENT])
            uniq, counts = np.unique(names, return_counts=True)
            for h, n in zip(uniq.tolist(), counts.tolist()):
                self.events[self.strings[h]] += n
            wanted = [h for h in uniq.tolist() if self.strings[h] in RECLAIM_EVENTS]
            if wanted:
                for r in other[np.isin(names, wanted)].tolist():
                    self._reclaim(buf, r, base + r + 1, ints[r], hashes[r], ts[r], strs[r], line_start[r])

    def _learn(self, buf: np.ndarray, h: np.ndarray, spans: np.ndarray) -> None:
        """Decode the strings behind hashes not seen before."""
        s = pd.Series(h)
        first = s[~s.duplicated()]
        for pos, hv in zip(first.index.tolist(), first.tolist()):
            if hv not in self.strings:
                a, n = int(spans[pos, 0]), int(spans[pos, 1])
                self.strings[hv] = bytes(buf[a:a + n]).decode("utf-8", "replace")

    def _line_text(self, buf: np.ndarray, a: int, e: int) -> str:
        return bytes(buf[a:max(a, e)]).decode("utf-8", "replace")

    def _bad(self, buf, code: int, line: int, a: int, e: int, spans) -> None:
        text = self._line_text(buf, a, e)
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
            raise TraceFormatError(self.source, line, kind, text)
        self.malformed[kind] += 1

    def _reclaim(self, buf, r, line, ints, hashes, t, spans, a) -> None:
        name = self.strings[int(hashes[S.S_EVENT])]
        fields = parse_payload(name, self._line_text(buf, int(ints[S.I_PAYLOAD]), int(ints[S.I_EOL])))
        if fields is None:
            self.events[name] -= 1
            self._malformed(name, line, self._line_text(buf, int(a), int(ints[S.I_EOL])))
            return
        a0, n0 = int(spans[S.S_TASK, 0]), int(spans[S.S_TASK, 1])
        task = bytes(buf[a0:a0 + n0]).decode("utf-8", "replace")
        self.reclaim.append((name, float(t), line, int(ints[S.I_CPU]), int(ints[S.I_PID]), task, fields))

    # -- at the end ------------------------------------------------------
    def dataset(self, compression: str) -> xr.Dataset:
        starts = _stack(self.starts, len(_START_INTS), len(_START_STRS))
        ends = _stack(self.ends, len(_END_INTS), len(_END_STRS))
        data_vars = self._call_vars(starts, ends)
        data_vars.update(self._event_vars())
        ds = xr.Dataset(data_vars)
        ds.attrs.update(self._attrs(compression, starts, data_vars))
        return ds

    def _strings(self, h: np.ndarray) -> np.ndarray:
        codes, uniq = pd.factorize(h)
        table = np.array([self.strings[int(u)] for u in uniq] or [""], dtype=str)
        return table[codes] if len(h) else np.array([], dtype=str)

    def _call_vars(self, starts, ends) -> dict:
        line, t, ints, hs = starts
        eline, et, eints, ehs = ends
        si = {name: k for k, name in enumerate(_START_INTS)}
        ei = {name: k for k, name in enumerate(_END_INTS)}
        # Shrinker instance = (symbol, pointer); one code for starts and ends alike.
        mix = np.uint64(0x9E3779B97F4A7C15)
        inst = np.concatenate([hs[:, 1] * mix ^ hs[:, 3], ehs[:, 0] * mix ^ ehs[:, 1]])
        inst_code, _ = pd.factorize(inst)
        ns = len(line)
        end_of = pair_starts_with_ends(line, ints[:, si["pid"]], inst_code[:ns], ints[:, si["nr_deferred"]],
                                       eline, eints[:, ei["pid"]], inst_code[ns:], eints[:, ei["unused_scan"]])
        self.unmatched = int((end_of < 0).sum())
        self.orphans = int(len(eline) - (end_of >= 0).sum())
        has_end = end_of >= 0
        j = np.where(has_end, end_of, 0)
        sym_printed = self._strings(hs[:, 1])
        sym_table = {s: strip_symbol(s)[0] for s in set(sym_printed.tolist())}
        cols = {
            "time": t, "line": line,
            "task": self._strings(hs[:, 0]),
            "shrinker": np.array([sym_table[s] for s in sym_printed.tolist()], dtype=str),
            "shrinker_id": self._strings(hs[:, 3]),
            "module": self._strings(hs[:, 2]),
            "gfp_flags": self._strings(hs[:, 4]),
            "has_end": has_end,
            "end_time": np.where(has_end, et[j] if len(et) else np.nan, np.nan),
        }
        for name, k in si.items():
            cols[name] = ints[:, k]
        for name, k in ei.items():
            if name != "pid":
                cols[name] = np.where(has_end, eints[j, k] if len(eints) else MISSING, MISSING)
        return {name: variable("call", cols[name], *CALL_VARS[name]) for name in CALL_VARS}

    def _event_vars(self) -> dict:
        rows = self.reclaim
        seen = {k for r in rows for k in r[6]}
        int_keys = [k for k in EVENT_INT_FIELDS if k in seen or k in EVENT_BASE_FIELDS]
        str_keys = [k for k in EVENT_STR_FIELDS if k in seen or k in EVENT_BASE_FIELDS]
        cols: dict[str, np.ndarray] = {
            "event_name": np.array([r[0] for r in rows], dtype=str),
            "event_time": np.array([r[1] for r in rows], dtype=np.float64),
            "event_line": np.array([r[2] for r in rows], dtype=np.int64),
            "event_cpu": np.array([r[3] for r in rows], dtype=np.int64),
            "event_pid": np.array([r[4] for r in rows], dtype=np.int64),
            "event_task": np.array([r[5] for r in rows], dtype=str),
        }
        for k in int_keys:
            cols[f"event_{k}"] = np.array([r[6].get(k, MISSING) for r in rows], dtype=np.int64)
        for k in str_keys:
            cols[f"event_{k}"] = np.array([r[6].get(k, "") for r in rows], dtype=str)
        return {name: variable("event", v, *event_var_meta(name)) for name, v in cols.items()}

    def _attrs(self, compression: str, starts, data_vars) -> dict:
        pgs = starts[2][:, list(_START_INTS).index("pgs_scanned")]
        attrs = {
            "source": self.source,
            "compression": compression,
            "reclaimlab_version": __version__,
            "lines": self.lines,
            "comment_lines": self.kinds.get(S.COMMENT, 0),
            "blank_lines": self.kinds.get(S.BLANK, 0),
            "preamble_lines": self.preamble,
            "lost_events": self.lost,
            "skipped_events": sum(n for k, n in self.events.items()
                                  if k not in RECLAIM_EVENTS and not k.startswith("mm_shrink_slab_")),
            "malformed_lines": sum(self.malformed.values()),
            "unmatched_starts": self.unmatched,
            "orphan_ends": self.orphans,
            "start_formats": ",".join(f for f, n in (
                ("4.16+", int((pgs == MISSING).sum())),
                ("pre-4.16", int((pgs != MISSING).sum()))) if n),
            "flags_columns": ",".join(str(w) for w in sorted(self.flag_widths)),
        }
        for name in ("mm_shrink_slab_start", "mm_shrink_slab_end"):
            attrs[f"count_{name}"] = self.events.get(name, 0)
        for name, n in sorted(self.events.items()):
            if n:
                attrs[f"count_{name}"] = n
        for kind, n in sorted(self.malformed.items()):
            attrs[f"malformed_{kind}"] = n
        return attrs


def _stack(parts: list[dict], n_int: int, n_str: int):
    """(line, time, ints, hashes) of all batches of one event kind."""
    if not parts:
        return (np.zeros(0, np.int64), np.zeros(0), np.zeros((0, n_int), np.int64),
                np.zeros((0, n_str), np.uint64))
    return tuple(np.concatenate([p[k] for p in parts]) for k in ("line", "time", "ints", "hashes"))
