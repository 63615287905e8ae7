"""The hot loop of the trace reader: one pass over a chunk of ftrace text, compiled with numba.

Every line of the chunk is classified and, for ``mm_shrink_slab_start`` and
``mm_shrink_slab_end`` events, taken apart into integers and string spans
(offset, length and a 64-bit hash, so that Python only decodes each
distinct string once). Nothing here raises: a line that does not parse gets a
negative status and the caller decides what to do with it (KERNEL.md §4).

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

Lines may end in ``\\r\\n``; trailing blanks are ignored.
"""
from __future__ import annotations

import sys

import numpy as np
from numba import njit

# Line status codes.
BLANK = 0
COMMENT = 1
OTHER = 2          # a well-formed event line of another event (payload not parsed here)
START = 3          # mm_shrink_slab_start, fully parsed
END = 4            # mm_shrink_slab_end, fully parsed
BAD_LINE = -1      # not an event line at all
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

# String slots hashed per line status (bit per slot): what the Collector keeps.
HASHED_START = (1 << S_TASK) | (1 << S_SYM) | (1 << S_MOD) | (1 << S_PTR) | (1 << S_GFP)
HASHED_END = (1 << S_SYM) | (1 << S_PTR)
HASHED_OTHER = (1 << S_TASK) | (1 << S_EVENT)

# Literals, concatenated: LIT_BYTES[LIT_OFF[k]:LIT_OFF[k+1]] is literal k.
_LITERALS = (
    b"mm_shrink_slab_start",        # 0
    b"mm_shrink_slab_end",          # 1
    b"nid: ",                       # 2
    b" objects to shrink ",         # 3
    b" gfp_flags ",                 # 4
    b" pgs_scanned ",               # 5
    b" lru_pgs ",                   # 6
    b" cache items ",               # 7
    b" delta ",                     # 8
    b" total_scan ",                # 9
    b" priority ",                  # 10
    b" unused scan count ",         # 11
    b" new scan count ",            # 12
    b" last shrinker return val ",  # 13
)
L_START, L_END, L_NID, L_OBJ, L_GFP, L_PGS, L_LRU, L_ITEMS, L_DELTA, L_TOTAL, L_PRIO, \
    L_UNUSED, L_NEW, L_RET = range(len(_LITERALS))
LIT_BYTES = np.frombuffer(b"".join(_LITERALS), dtype=np.uint8).copy()

# Field programs for _fields: (literal, integer column) rows; P_* delimit the pieces.
PROG = np.array([
    (L_OBJ, I_NR),                                                  # start, before gfp_flags
    (L_PGS, I_PGS), (L_LRU, I_LRU),                                 # start, pre-4.16 only
    (L_ITEMS, I_F), (L_DELTA, I_DELTA), (L_TOTAL, I_TOTAL),         # start
    (L_PRIO, I_PRIO),                                               # start, 4.16+ only
    (L_UNUSED, I_NR), (L_NEW, I_F), (L_TOTAL, I_DELTA), (L_RET, I_TOTAL),  # end
], dtype=np.int64)
P_OBJ, P_PGS, P_ITEMS, P_PRIO, P_END, P_STOP = 0, 1, 3, 6, 7, 11
LIT_OFF = np.cumsum([0] + [len(x) for x in _LITERALS]).astype(np.int64)

_HASH_SEED = np.uint64(14695981039346656037)
_NL8 = np.uint64(0x0A0A0A0A0A0A0A0A)
_ONES8 = np.uint64(0x0101010101010101)
_HIGH8 = np.uint64(0x8080808080808080)
_HASH_MUL = np.uint64(0x9E3779B97F4A7C15)
_INT64_MAX = 2**63 - 1
_EXACT = 2**53  # integers up to here are exact in a float64


@njit(cache=True, nogil=True, inline="always")
def _U(i):
    """An index as uint64: numba then skips the negative-index wraparound check
    (every index used here is known to be in range)."""
    return np.uint64(i)


@njit(cache=True, nogil=True, inline="always")
def _word(buf, words, woff, k):
    """The 8 bytes ``buf[k:k+8]`` as a little-endian uint64 (``k + 8 <= len(buf)``).

    ``words`` is an aligned uint64 view of ``buf`` starting at byte ``woff``
    (``woff < 0``: no view, assemble byte by byte); two aligned loads and two
    shifts replace eight loads.
    """
    if woff >= 0 and k >= woff:
        d = k - woff
        q = d >> 3
        r = d & 7
        if r == 0:
            if q < words.shape[0]:
                return words[_U(q)]
        elif q + 1 < words.shape[0]:
            return (words[_U(q)] >> np.uint64(8 * r)) | (words[_U(q + 1)] << np.uint64(64 - 8 * r))
    w = np.uint64(0)
    for j in range(8):
        w |= np.uint64(buf[_U(k + j)]) << np.uint64(8 * j)
    return w


@njit(cache=True, nogil=True)
def str_hash(buf, words, woff, a, b):
    """64-bit hash of ``buf[a:b]``: 8 bytes at a time, multiply-xorshift mixing.

    The value depends only on the bytes (not on where they lie in ``buf``).
    """
    h = _HASH_SEED ^ np.uint64(b - a)
    k = a
    while k + 8 <= b:
        h = (h ^ _word(buf, words, woff, k)) * _HASH_MUL
        h ^= h >> np.uint64(29)
        k += 8
    w = np.uint64(0)
    j = 0
    while k < b:
        w |= np.uint64(buf[_U(k)]) << np.uint64(8 * j)
        k += 1
        j += 1
    h = (h ^ w) * _HASH_MUL
    h ^= h >> np.uint64(32)
    return h


@njit(cache=True, nogil=True)
def _find_newline(buf, words, woff, s, n):
    """Index of the first newline at or after ``s`` (``n`` if none), 8 bytes a step."""
    k = s
    if woff >= 0:
        while k < n and (k < woff or ((k - woff) & 7) != 0):
            if buf[_U(k)] == 10:
                return k
            k += 1
        if k >= n:
            return n
        q = (k - woff) >> 3
        nw = words.shape[0]
        while q < nw:
            v = words[_U(q)] ^ _NL8
            if ((v - _ONES8) & ~v & _HIGH8) != 0:
                break
            q += 1
        k = max(k, woff + 8 * q)
    while k < n and buf[_U(k)] != 10:
        k += 1
    return k


@njit(cache=True, nogil=True, inline="always")
def _is_digit(c):
    return 48 <= c <= 57


@njit(cache=True, nogil=True, inline="always")
def _is_blank(c):
    return c == 32 or c == 9


@njit(cache=True, nogil=True, inline="always")
def _is_name_char(c):
    return (48 <= c <= 57) or (65 <= c <= 90) or (97 <= c <= 122) or c == 95


@njit(cache=True, nogil=True)
def _expect(buf, i, e, lits, off, k):
    """Index after literal ``k`` if ``buf[i:]`` starts with it (before ``e``), else -1."""
    a = off[_U(k)]
    n = off[_U(k + 1)] - a
    if i < 0 or i + n > e:
        return -1
    for j in range(n):
        if buf[_U(i + j)] != lits[_U(a + j)]:
            return -1
    return i + n


@njit(cache=True, nogil=True)
def _read_int(buf, i, e, out, col, row):
    """Parse a signed decimal int64 at ``buf[i:e]`` into ``out[col, row]``; index after it or -1."""
    if i < 0 or i >= e:
        return -1
    neg = buf[_U(i)] == 45  # '-'
    if neg:
        i += 1
    start = i
    v = np.uint64(0)
    while i < e and _is_digit(buf[_U(i)]):
        v = v * np.uint64(10) + np.uint64(buf[_U(i)] - 48)
        i += 1
    # 19 digits cannot wrap a uint64; more are refused, and so is anything past INT64_MAX.
    if i == start or i - start > 19 or v > np.uint64(_INT64_MAX):
        return -1
    out[col, row] = -np.int64(v) if neg else np.int64(v)
    return i


@njit(cache=True, nogil=True)
def _read_word(buf, i, e):
    """Index of the first blank at or after ``i`` (or ``e``)."""
    while i < e and not _is_blank(buf[_U(i)]):
        i += 1
    return i


@njit(cache=True, nogil=True, inline="always")
def _span(strs, row, slot, a, b):
    strs[slot, 0, row] = a
    strs[slot, 1, row] = b - a


@njit(cache=True, nogil=True)
def _parse_timestamp(buf, i, e):
    """Parse ``digits[.digits]:`` at ``i``; return (seconds, index after ':') or (0, -1).

    Correctly rounded whenever all the digits fit in 53 bits (``%5lu.%06lu`` up
    to a billion seconds): one integer divided by a power of ten.
    """
    start = i
    ip = 0
    while i < e and _is_digit(buf[_U(i)]):
        if i - start >= 18:
            return 0.0, -1
        ip = ip * 10 + (buf[_U(i)] - 48)
        i += 1
    if i == start:
        return 0.0, -1
    frac = 0
    scale = 1
    if i < e and buf[_U(i)] == 46:  # '.'
        i += 1
        fs = i
        while i < e and _is_digit(buf[_U(i)]):
            if i - fs < 15:
                frac = frac * 10 + (buf[_U(i)] - 48)
                scale *= 10
            i += 1
        if i == fs:
            return 0.0, -1
    if i >= e or buf[_U(i)] != 58:  # ':'
        return 0.0, -1
    if ip <= (_EXACT - frac) // scale:
        return (ip * scale + frac) / scale, i + 1
    return ip + frac / scale, i + 1


@njit(cache=True, nogil=True)
def _parse_header(buf, s, e, ints, strs, ts, row):
    """Parse ``task-pid [cpu] flags ts: event:``; return the payload offset or -1."""
    # Candidate "[cpu]" brackets, leftmost first; the task may itself contain brackets.
    j = s
    while j < e:
        if buf[_U(j)] != 91:  # '['
            j += 1
            continue
        k = j + 1
        while k < e and _is_digit(buf[_U(k)]):
            k += 1
        if k == j + 1 or k >= e or buf[_U(k)] != 93 or k - j - 1 > 9:  # ']'
            j += 1
            continue
        # Walk back from the bracket: blanks, optional "(tgid)", blanks, pid digits, '-'.
        q = j - 1
        nb = 0
        while q >= s and _is_blank(buf[_U(q)]):
            q -= 1
            nb += 1
        if nb == 0:
            j += 1
            continue
        tgid = -1
        if q >= s and buf[_U(q)] == 41:  # ')'
            r = q - 1
            while r >= s and r > q - 16 and buf[_U(r)] != 40:  # '('
                r -= 1
            if r < s or buf[_U(r)] != 40:
                j += 1
                continue
            tv = 0
            td = 0
            bad = False
            for t in range(r + 1, q):
                c = buf[_U(t)]
                if _is_digit(c):
                    tv = tv * 10 + (c - 48)
                    td += 1
                elif not (_is_blank(c) or c == 45):
                    bad = True
            if bad:
                j += 1
                continue
            if td > 0:
                tgid = tv
            q = r - 1
            nb = 0
            while q >= s and _is_blank(buf[_U(q)]):
                q -= 1
                nb += 1
            if nb == 0:
                j += 1
                continue
        pe = q + 1
        while q >= s and _is_digit(buf[_U(q)]):
            q -= 1
        nd = pe - (q + 1)
        if nd == 0 or nd > 10 or q < s or buf[_U(q)] != 45:  # '-'
            j += 1
            continue
        # Timestamp, with or without a flags column in front of it.
        i = k + 1
        while i < e and _is_blank(buf[_U(i)]):
            i += 1
        t_val, after = _parse_timestamp(buf, i, e)
        flen = 0
        if after < 0:
            w = _read_word(buf, i, e)
            flen = w - i
            if flen == 0 or flen > 8:
                j += 1
                continue
            i = w
            while i < e and _is_blank(buf[_U(i)]):
                i += 1
            t_val, after = _parse_timestamp(buf, i, e)
            if after < 0:
                j += 1
                continue
        # Event name: [system:]name followed by ':' and a blank or the end of line.
        i = after
        while i < e and _is_blank(buf[_U(i)]):
            i += 1
        n0 = i
        while True:
            n1 = i
            while i < e and _is_name_char(buf[_U(i)]):
                i += 1
            if i == n1 or i >= e or buf[_U(i)] != 58:
                n0 = -1
                break
            if i + 1 >= e or _is_blank(buf[_U(i + 1)]):
                break
            i += 1  # a "system:" prefix; the name follows
        if n0 < 0 or i - n1 > 64:
            j += 1
            continue
        # Success: fill the header fields.
        pid = 0
        for t in range(q + 1, pe):
            pid = pid * 10 + (buf[_U(t)] - 48)
        cpu = 0
        for t in range(j + 1, k):
            cpu = cpu * 10 + (buf[_U(t)] - 48)
        ints[I_PID, row] = pid
        ints[I_CPU, row] = cpu
        ints[I_FLAGSLEN, row] = flen
        ints[I_TGID, row] = tgid
        ts[row] = t_val
        _span(strs, row, S_TASK, s, q)
        _span(strs, row, S_EVENT, n1, i)
        p = i + 1
        while p < e and _is_blank(buf[_U(p)]):  # trace-cmd pads event names with blanks
            p += 1
        ints[I_PAYLOAD, row] = p
        return p
    return -1


@njit(cache=True, nogil=True)
def _fields(buf, i, e, ints, row, lits, off, prog, a, b):
    """Run field program rows ``a:b`` of ``prog`` (literal, column): each a literal then an int."""
    for k in range(a, b):
        i = _read_int(buf, _expect(buf, i, e, lits, off, prog[k, 0]), e, ints, prog[k, 1], row)
    return i


@njit(cache=True, nogil=True)
def _parse_payload(buf, i, e, ints, strs, row, lits, off, prog, start):
    """Parse an mm_shrink_slab_start (``start``) or _end payload; True when the whole line parsed.

    Both begin with ``sym [module] ptr: nid: N``; the rest is a field program
    (:data:`PROG`), with the start's gfp_flags word, optional pgs_scanned and
    lru_pgs (pre-4.16) and optional priority (4.16+) in between.
    """
    a = i
    i = _read_word(buf, i, e)
    if i == a or i >= e:
        return False
    _span(strs, row, S_SYM, a, i)
    i += 1
    if i < e and buf[_U(i)] == 91:  # '[' module ']'
        m = i + 1
        while i < e and buf[_U(i)] != 93:
            i += 1
        if i >= e or i == m:
            return False
        _span(strs, row, S_MOD, m, i)
        i += 1
        if i >= e or buf[_U(i)] != 32:
            return False
        i += 1
    else:
        _span(strs, row, S_MOD, i, i)
    a = i
    i = _read_word(buf, i, e)
    if i - a < 2 or buf[_U(i - 1)] != 58:  # pointer then ':'
        return False
    _span(strs, row, S_PTR, a, i - 1)
    i = _expect(buf, i + 1 if i < e else e + 1, e, lits, off, L_NID)
    i = _read_int(buf, i, e, ints, I_NID, row)
    if not start:
        return _fields(buf, i, e, ints, row, lits, off, prog, P_END, P_STOP) == e
    i = _expect(buf, _fields(buf, i, e, ints, row, lits, off, prog, P_OBJ, P_PGS), e, lits, off, L_GFP)
    if i < 0:
        return False
    a = i
    i = _read_word(buf, i, e)
    _span(strs, row, S_GFP, a, i)
    ints[I_PGS, row] = -1
    ints[I_LRU, row] = -1
    ints[I_PRIO, row] = -1
    if _expect(buf, i, e, lits, off, L_PGS) >= 0:
        i = _fields(buf, i, e, ints, row, lits, off, prog, P_PGS, P_ITEMS)
    i = _fields(buf, i, e, ints, row, lits, off, prog, P_ITEMS, P_PRIO)
    if 0 <= i < e:
        i = _fields(buf, i, e, ints, row, lits, off, prog, P_PRIO, P_END)
    return i == e


@njit(cache=True, nogil=True)
def _name_is(buf, a, n, lits, off, k):
    return off[_U(k + 1)] - off[_U(k)] == n and _expect(buf, a, a + n, lits, off, k) == a + n


def word_view(buf: np.ndarray) -> tuple[np.ndarray, int]:
    """An aligned uint64 view of ``buf`` and the byte where it starts (-1: none)."""
    if sys.byteorder != "little" or len(buf) < 16:
        return np.zeros(0, np.uint64), -1
    woff = -buf.ctypes.data % 8
    m = (len(buf) - woff) // 8 * 8
    return buf[woff:woff + m].view(np.uint64), woff


def new_outputs(capacity: int):
    """Output arrays for :func:`scan_lines` (the line is the last axis), reusable."""
    return (np.zeros(capacity, np.int8), np.full((N_INT, capacity), -1, np.int64),
            np.zeros((N_STR, 2, capacity), np.int64), np.zeros((N_STR, capacity), np.uint64),
            np.zeros(capacity, np.float64), np.zeros(capacity, np.int64))


@njit(cache=True, nogil=True)
def scan_lines(buf, words, woff, start, status, ints, strs, hashes, ts, line_start, lits, off, prog):
    """Classify and parse the lines of ``buf[start:]`` until the output arrays are full.

    Parameters
    ----------
    buf : numpy.ndarray of uint8
        Text; the last line need not end with a newline.
    words, woff : numpy.ndarray of uint64, int
        :func:`word_view` of ``buf``.
    start : int
        Offset of the first line to parse.
    status, ints, strs, hashes, ts, line_start : numpy.ndarray
        Outputs from :func:`new_outputs`, one entry per line (the last axis);
        ``ints[I_*, line]``, ``strs[S_*, 0 or 1, line]`` (offset, length),
        ``hashes[S_*, line]``. Only the fields that a line's status implies
        are written (see :mod:`reclaimlab.trace.collect`), so the arrays can be
        reused without clearing.
    lits, off, prog : numpy.ndarray
        :data:`LIT_BYTES`, :data:`LIT_OFF` and :data:`PROG`.

    Returns
    -------
    rows, next_start
        ``rows`` lines were parsed; the next unparsed line starts at ``next_start``
        (``len(buf)`` when the text is exhausted).
    """
    n = buf.shape[0]
    cap = status.shape[0]
    row = 0
    s = start
    while s < n and row < cap:
        e = _find_newline(buf, words, woff, s, n)
        nxt = e + 1
        line_start[row] = s
        # Trim trailing blanks and \r; skip leading blanks.
        while e > s and (_is_blank(buf[_U(e - 1)]) or buf[_U(e - 1)] == 13):
            e -= 1
        i = s
        while i < e and _is_blank(buf[_U(i)]):
            i += 1
        ints[I_EOL, row] = e
        if i == e:
            status[row] = BLANK
        elif buf[_U(i)] == 35:  # '#'
            status[row] = COMMENT
        else:
            p = _parse_header(buf, i, e, ints, strs, ts, row)
            if p < 0:
                status[row] = BAD_LINE
            else:
                na = strs[S_EVENT, 0, row]
                nn = strs[S_EVENT, 1, row]
                is_start = _name_is(buf, na, nn, lits, off, L_START)
                if is_start or _name_is(buf, na, nn, lits, off, L_END):
                    ok = _parse_payload(buf, p, e, ints, strs, row, lits, off, prog, is_start)
                    code = (START if ok else BAD_START) if is_start else (END if ok else BAD_END)
                else:
                    code = OTHER
                status[row] = code
                # Hash the strings the Collector keeps for this kind of line.
                mask = HASHED_START if code == START else HASHED_END if code == END else \
                    HASHED_OTHER if code == OTHER else 0
                for slot in range(N_STR):
                    if (mask >> slot) & 1:
                        a = strs[slot, 0, row]
                        hashes[slot, row] = str_hash(buf, words, woff, a, a + strs[slot, 1, row])
        row += 1
        s = nxt
    return row, min(s, n)


@njit(cache=True, nogil=True)
def scan_kv(buf, words, woff, payload, eol, key_hashes, n_int, ints, spans, hashes):
    """Parse ``key=value`` payloads (the reclaim events of KERNEL.md §4.3).

    Parameters
    ----------
    buf : numpy.ndarray of uint8
        The text.
    words, woff : numpy.ndarray of uint64, int
        :func:`word_view` of ``buf``.
    payload, eol : numpy.ndarray of int64
        Start and end offsets of each payload.
    key_hashes : numpy.ndarray of uint64
        :func:`str_hash` of the known keys: the first ``n_int`` have integer
        values, the rest string values.
    n_int : int
        Number of integer keys.
    ints, spans, hashes : numpy.ndarray
        Outputs, one column per payload: ``ints[k, r]`` the value of integer
        key ``k`` (left alone when absent); ``spans[k, :, r]``/``hashes[k, r]``
        offset, length and hash of string key ``n_int + k``.

    Returns
    -------
    ok, present
        ``ok[r]``: every token is ``key=value`` and integer keys hold integers;
        ``present[r]``: bit ``k`` set when key ``k`` was found.
    """
    m = payload.shape[0]
    nk = key_hashes.shape[0]
    ok = np.ones(m, np.bool_)
    present = np.zeros(m, np.int64)
    for r in range(m):
        i = payload[r]
        e = eol[r]
        while i < e:
            while i < e and _is_blank(buf[_U(i)]):
                i += 1
            if i >= e:
                break
            k0 = i
            while i < e and buf[_U(i)] != 61 and not _is_blank(buf[_U(i)]):  # '='
                i += 1
            if i >= e or buf[_U(i)] != 61 or i == k0:
                ok[r] = False
                break
            h = str_hash(buf, words, woff, k0, i)
            i += 1
            v0 = i
            i = _read_word(buf, i, e)
            for k in range(nk):
                if key_hashes[k] != h:
                    continue
                present[r] |= np.int64(1) << np.int64(k)
                if k < n_int:
                    if _read_int(buf, v0, i, ints, k, r) != i:
                        ok[r] = False
                else:
                    spans[k - n_int, 0, r] = v0
                    spans[k - n_int, 1, r] = i - v0
                    hashes[k - n_int, r] = str_hash(buf, words, woff, v0, i)
                break
            if not ok[r]:
                break
    return ok, present


@njit(cache=True, nogil=True)
def count_lines(buf):
    """Newlines in ``buf`` plus one: an upper bound on its lines."""
    n = 1
    for k in range(buf.shape[0]):
        if buf[_U(k)] == 10:
            n += 1
    return n
