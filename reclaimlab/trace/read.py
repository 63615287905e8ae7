"""Read ftrace shrinker traces into an :class:`xarray.Dataset` (docs/kernel.md §4).

The text is read in chunks of a few MB (decompressed on the fly for ``.gz``,
``.xz`` and ``.bz2``, recognised by their magic bytes; a plain regular file is
mapped with mmap instead of copied, and the pages of the chunks already
collected are dropped again, so a file being truncated while it is read is not
supported) and each chunk is parsed
by one pass of the C scanner (:mod:`reclaimlab.trace._scan`, in the extension
module :mod:`reclaimlab._native`) in worker threads: it puts the event lines
straight into reused columns of a fixed number of lines (no record per line),
their strings interned on the way, and the main thread copies the events kept
once into growing columns (:mod:`reclaimlab.trace.columns`) from which the
Dataset is built, so memory grows with the events kept, not with the file. The work is linear in the size of the
file, whatever its lines: a line longer than :data:`~reclaimlab.trace._scan.MAX_LINE`
bytes is not parsed nor held in memory (an error in strict mode, counted in
``malformed_long_line`` otherwise).
"""
from __future__ import annotations

import bz2
import errno
import gzip
import io
import itertools
import lzma
import mmap
import os
import stat
import zlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import xarray as xr

from . import _scan as S
from .collect import Collector
from .errors import TraceFormatError

#: Text is read and scanned in blocks of about this many bytes.
CHUNK_BYTES = 1 << 23
#: Lines scanned per pass of the scanner (the size of its reusable output arrays).
#: Not a power of two on purpose: it is also the stride between the scanner's output
#: columns, which it writes side by side (a dozen per kind of event); a stride of 2**16
#: items (512 kB) put them all in the same cache sets, and the scanner ran ~3% slower.
SCAN_ROWS = (1 << 16) + 24
#: Threads that run the scanner; the main thread collects meanwhile.
WORKERS = min(2, os.cpu_count() or 1)

_MAGIC = ((b"\x1f\x8b", "gzip", gzip.open), (b"\xfd7zXZ\x00", "xz", lzma.open), (b"BZh", "bz2", bz2.open))


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
        output; plain, gzip, xz or bzip2 compressed. Every format of docs/kernel.md
        §4: 4.16-5.1 (``%pF``), 5.2+ (``%pS``), pre-4.16 (``pgs_scanned``,
        ``lru_pgs``, no priority), 4- or 5-character flags columns or none,
        ``<...>`` and blank- or dash-containing task names, ``[module]``
        symbols, ``#`` comments, the optional tgid column.
    strict : bool
        Raise :class:`TraceFormatError` at the first line that does not parse.
        By default such lines are skipped and counted in ``attrs``.

    A file not in time order (a trace concatenated per CPU) is sorted by
    timestamp, stably, before pairing, so that it is never paired or replayed
    in file order: equal timestamps keep file order, a file in time order
    (what ftrace prints: the per-CPU buffers merged by time) is read as it is,
    ``line`` keeps each event's place in the file and
    ``attrs["out_of_order_events"]`` counts the events with an earlier
    timestamp than the one before them in the file.

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
        ``flags_columns``, ``reclaimlab_version`` (and ``compression_error``
        when a compressed file is damaged, ``out_of_order_events`` when the
        file is not in time order).

    Raises
    ------
    TraceFormatError
        With ``strict=True``, for the first bad line (line number and text).
        In both modes, of kind ``"no_shrink_events"`` when the file has lines
        other than blanks and ``#`` comments but not one
        ``mm_shrink_slab_start`` or ``mm_shrink_slab_end`` event (not a
        shrinker trace: a README, a trace of other events). An empty file, or
        one of comments only, gives an empty Dataset.
    TypeError
        When ``path`` is not a path.
    FileNotFoundError, IsADirectoryError, OSError
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
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "is a directory, not a trace file", path)
    with open(path, "rb") as raw:
        head = raw.peek(8)[:8]  # not read: pipes (trace_pipe, /dev/stdin) cannot seek back
        compression, opener = "none", None
        for magic, name, fn in _MAGIC:
            if head.startswith(magic):
                compression, opener = name, fn
        stream = opener(raw) if opener else raw
        problems: list[str] = []
        mapped = None if opener else _map(raw)
        try:
            blocks = _split(mapped, release=True) if mapped is not None else _chunks(stream, path, problems)
            ds = _parse_stream(blocks, strict, path, compression, sort=True,
                               size_hint=len(mapped) if mapped is not None else None)
        finally:
            if opener:
                stream.close()
    if problems:
        if strict:
            raise TraceFormatError(path, ds.attrs["lines"] + 1, "compression", problems[0])
        ds.attrs["compression_error"] = problems[0]
    a = ds.attrs
    shrink = sum(a.get(f"{k}_mm_shrink_slab_{e}", 0) for k in ("count", "malformed") for e in ("start", "end"))
    if not shrink and a["lines"] > a["blank_lines"] + a["comment_lines"]:
        raise TraceFormatError(path, a["lines"], "no_shrink_events",
                               f"{a['lines']} lines, {a['malformed_lines']} not ftrace event lines")
    return ds


def parse(text: str | bytes, *, strict: bool = False, source: str = "<text>") -> xr.Dataset:
    """Parse trace text already in memory; see :func:`read` for the Dataset.

    Unlike :func:`read`, the Dataset keeps the order of the text even when it
    is not in time order (text composed by hand, as in examples and tests);
    starts and ends are still paired in timestamp order, and
    ``attrs["out_of_order_events"]`` says that the order is not time order.
    A text without any shrinker event gives an empty Dataset, not an error.

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
    return _parse_stream(_split(data), strict, source, "none", sort=False, size_hint=len(data))


_DECOMPRESS_ERRORS = (EOFError, lzma.LZMAError, zlib.error, gzip.BadGzipFile, OSError)


def _chunks(stream: io.BufferedIOBase, path: str, problems: list[str]):
    """Blocks of whole lines (the last may lack its newline), without copying the text.

    A line cut by the end of one read is completed with the head of the next
    and given as a block of its own. Of a line longer than the scanner's
    ``MAX_LINE``, only the first ``MAX_LINE + 1`` bytes are kept (enough for
    the scanner to call it too long, and for the error message): the work stays
    linear and the memory bounded. A corrupt or truncated compressed file ends
    the blocks early, after the whole lines decompressed so far; what went wrong
    is appended to ``problems``.
    """
    keep = S.MAX_LINE + 1
    rest = b""
    while True:
        data = _read_block(stream, CHUNK_BYTES, problems)
        if not data:
            if problems:  # the text after the last newline is cut short by the damage: drop it
                rest = rest[:rest.rfind(b"\n") + 1]
            if rest:
                yield rest
            return
        head = data.find(b"\n") + 1 if rest else 0
        if rest and head == 0:  # still no end of line
            if len(rest) < keep:
                rest += data[:keep - len(rest)]
            continue
        if rest:
            yield rest + data[:head] if len(rest) + head <= keep else rest[:keep] + b"\n"
        cut = data.rfind(b"\n") + 1
        if cut > head:
            yield memoryview(data)[head:cut]
        rest = data[max(cut, head):max(cut, head) + keep]


def _read_block(stream, size: int, problems: list[str]) -> bytes:
    """Up to ``size`` bytes; on a decompression error, what came before it."""
    parts, got = [], 0
    while got < size and not problems:
        try:
            data = stream.read1(size - got)
        except _DECOMPRESS_ERRORS as exc:
            if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
                raise
            problems.append(f"{type(exc).__name__}: {exc}")
            break
        if not data:
            break
        parts.append(data)
        got += len(data)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _map(raw) -> mmap.mmap | None:
    """The file mapped read-only when it is a non-empty regular file (not a pipe), else None."""
    try:
        if not stat.S_ISREG(os.fstat(raw.fileno()).st_mode) or os.fstat(raw.fileno()).st_size == 0:
            return None
        return mmap.mmap(raw.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError, io.UnsupportedOperation):
        return None


def _split(data, release: bool = False):
    """Blocks of whole lines of ``data``, about CHUNK_BYTES each, without copying.

    With ``release`` (``data`` is an mmap of the file), the pages of blocks
    scanned and collected long ago are dropped from the process (they stay in
    the page cache), so that memory does not grow with the file: a block is
    done once WORKERS + 1 later blocks have been asked for (and were it not,
    its pages would simply be mapped again from the file).
    """
    view, n, pos = memoryview(data), len(data), 0
    starts: deque = deque()
    page = mmap.PAGESIZE
    while pos < n:
        end = n
        if pos + CHUNK_BYTES < n:
            cut = data.rfind(b"\n", pos, pos + CHUNK_BYTES)
            if cut < 0:  # a line longer than a block
                cut = data.find(b"\n", pos + CHUNK_BYTES)
            end = n if cut < 0 else cut + 1
        if release:
            starts.append(pos)
            if len(starts) > WORKERS + 2:
                a, b = starts.popleft(), starts[0]
                lo, hi = -(-a // page) * page, b // page * page
                if hi > lo:
                    data.madvise(mmap.MADV_DONTNEED, lo, hi - lo)
        yield view[pos:end]
        pos = end


class _Scanner:
    """Runs the C scanner on blocks in worker threads (it releases the GIL), so
    that the next blocks are scanned while the Collector works on this one.

    Each pass fills one set of output arrays of :data:`SCAN_ROWS` lines; a block
    of more lines takes several passes, one after the other. The output sets
    are reused, so memory does not grow with the number of lines.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.free: list[tuple] = []

    @staticmethod
    def _scan(buf, start: int, out):
        return Collector.scan(buf, start, out)

    def _outputs(self) -> tuple:
        return self.free.pop() if self.free else S.new_event_outputs(SCAN_ROWS)

    def run(self, blocks):
        """Yield a :class:`~reclaimlab.trace.collect.Pass` per pass of the scanner, in file order."""
        blocks = iter(blocks)
        head = list(itertools.islice(blocks, 2))
        if self.workers < 1 or len(head) < 2:  # a single block: no threads
            for block in itertools.chain(head, blocks):
                buf, nxt = np.frombuffer(block, np.uint8), 0
                while nxt < len(buf):
                    p = self._scan(buf, nxt, self._outputs())
                    nxt = p.next_start
                    yield p
            return
        pending: deque = deque()
        with ThreadPoolExecutor(self.workers) as pool:
            try:
                for block in itertools.chain(head, blocks):
                    buf = np.frombuffer(block, np.uint8)
                    if len(buf):
                        pending.append(pool.submit(self._scan, buf, 0, self._outputs()))
                    while len(pending) > self.workers:
                        yield self._next(pool, pending)
                while pending:
                    yield self._next(pool, pending)
            finally:
                for f in pending:
                    f.cancel()

    def _next(self, pool, pending: deque):
        """The oldest pass; the rest of its block, if any, is scanned next."""
        p = pending.popleft().result()
        if p.next_start < len(p.buf):
            pending.appendleft(pool.submit(self._scan, p.buf, p.next_start, self._outputs()))
        return p

    def release(self, out) -> None:
        self.free.append(out)


def _parse_stream(blocks, strict: bool, source: str, compression: str, sort: bool,
                  size_hint: int | None = None) -> xr.Dataset:
    """Scan the blocks, collect what they hold and build the Dataset (``size_hint``:
    bytes of text, when known)."""
    if not isinstance(strict, (bool, np.bool_)):
        raise TypeError(f"strict={strict!r} must be True or False")
    col = Collector(bool(strict), source, sort, size_hint, threads=WORKERS > 0)
    scanner = _Scanner(WORKERS)
    for p in scanner.run(blocks):
        col.add(p)
        scanner.release(p.out)
    return col.dataset(compression)
