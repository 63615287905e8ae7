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
import itertools
import lzma
import os
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
        ``flags_columns``, ``reclaimlab_version`` (and ``compression_error``
        when a compressed file is damaged).

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
        head = raw.peek(8)[:8]  # not read: pipes (trace_pipe, /dev/stdin) cannot seek back
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
    return _parse_stream(_split(data), strict, source, "none")


_DECOMPRESS_ERRORS = (EOFError, lzma.LZMAError, zlib.error, gzip.BadGzipFile, OSError)


def _chunks(stream: io.BufferedIOBase, path: str, problems: list[str]):
    """Blocks of whole lines (the last may lack its newline), without copying the text.

    A line cut by the end of one read is completed with the head of the next
    and given as a block of its own. A corrupt or truncated compressed file ends
    the blocks early, after the whole lines decompressed so far; what went wrong
    is appended to ``problems``.
    """
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
            rest += data
            continue
        if rest:
            yield rest + data[:head]
        cut = data.rfind(b"\n") + 1
        if cut > head:
            yield memoryview(data)[head:cut]
        rest = data[max(cut, head):]


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


def _split(data: bytes):
    """Blocks of whole lines of ``data``, about CHUNK_BYTES each, without copying."""
    view, n, pos = memoryview(data), len(data), 0
    while pos < n:
        end = n
        if pos + CHUNK_BYTES < n:
            cut = data.rfind(b"\n", pos, pos + CHUNK_BYTES)
            if cut < 0:  # a line longer than a block
                cut = data.find(b"\n", pos + CHUNK_BYTES)
            end = n if cut < 0 else cut + 1
        yield view[pos:end]
        pos = end


class _Scanner:
    """Runs the compiled scanner on blocks in worker threads (it releases the GIL),
    so that the next blocks are scanned while the Collector works on this one."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.free: list[tuple] = []

    def _scan(self, block, out):
        buf = np.frombuffer(block, np.uint8)
        rows, _ = S.scan_lines(buf, *S.word_view(buf), 0, *out, S.LIT_BYTES, S.LIT_OFF, S.PROG)  # room for every line
        return buf, rows, out

    def _outputs(self, block) -> tuple:
        need = int(S.count_lines(np.frombuffer(block, np.uint8)))
        while self.free:
            out = self.free.pop()
            if len(out[0]) >= need:
                return out
        return S.new_outputs(max(need, 1024))

    def run(self, blocks):
        """Yield ``(buf, rows, outputs)`` per block, in order."""
        blocks = iter(blocks)
        head = list(itertools.islice(blocks, 2))
        if self.workers < 1 or len(head) < 2:  # a single block: no threads
            for block in itertools.chain(head, blocks):
                yield self._scan(block, self._outputs(block))
            return
        pending: deque = deque()
        with ThreadPoolExecutor(self.workers) as pool:
            try:
                for block in itertools.chain(head, blocks):
                    pending.append(pool.submit(self._scan, block, self._outputs(block)))
                    if len(pending) > self.workers:
                        yield pending.popleft().result()
                while pending:
                    yield pending.popleft().result()
            finally:
                for f in pending:
                    f.cancel()

    def release(self, out) -> None:
        self.free.append(out)


def _parse_stream(blocks, strict: bool, source: str, compression: str) -> xr.Dataset:
    if not isinstance(strict, (bool, np.bool_)):
        raise TypeError(f"strict={strict!r} must be True or False")
    col = Collector(bool(strict), source)
    scanner = _Scanner(WORKERS)
    for buf, rows, out in scanner.run(blocks):
        col.add(buf, rows, out)
        scanner.release(out)
    return col.dataset(compression)
