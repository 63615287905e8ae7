"""The reader's column path: the lexer putting event lines straight into columns
(``_scan.scan_events``, reclaimlab/native/lexer.c), the Collector's growing
:class:`~reclaimlab.trace.columns.Columns` and the C gather of the end events'
columns (``take_matched``).

``scan_events`` must see every line as ``scan_lines`` (the lexer writing one
record per line) does: same status, same integers, same strings, on the shipped
fixtures and on mutated lines.
"""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

import reclaimlab.trace as T
from reclaimlab import _native
from reclaimlab.trace import _scan as S
from reclaimlab.trace.collect import _PIECES, _SPEC
from reclaimlab.trace.columns import Columns

FIXTURES = Path(__file__).parent / "fixtures" / "traces"
TEXTS = ("v4.16-real-yang-shi.txt", "pre-4.16-yang-shi.txt", "v4.19-constructed.txt", "v6.1-real-5flags.txt",
         "trace-cmd-report.txt", "tasks-and-columns.txt")


def _mutated(seed: int, n: int) -> bytes:
    """Fixture lines with bytes deleted, inserted, replaced and repeated."""
    pool = [ln for name in TEXTS for ln in (FIXTURES / name).read_text().splitlines()]
    rng = random.Random(seed)
    chars = "-[]():. #=\t\r|<>+x0123456789abcdefnidpriority_"
    out = []
    for line in rng.choices(pool, k=n):
        for _ in range(rng.randint(0, 2)):
            i = rng.randint(0, len(line))
            j = rng.randint(i, min(len(line), i + 8))
            s = "".join(rng.choices(chars, k=rng.randint(0, 4)))
            line = rng.choice([line[:i] + line[j:], line[:i] + s + line[i:], line[:i] + s + line[j:],
                               line[:j] + line[i:j] + line[j:]])
        out.append(line)
    return ("\n".join(out) + "\n").encode()


def _texts():
    yield from ((name, (FIXTURES / name).read_bytes()) for name in TEXTS)
    yield "synthetic", T.synthetic_trace(3000, seed=2).encode()
    yield from ((f"mutated{k}", _mutated(k, 400)) for k in range(4))


@pytest.mark.parametrize("cap", [7, 4096])
@pytest.mark.parametrize("name,text", list(_texts()), ids=[t[0] for t in _texts()])
def test_scan_events_sees_every_line_as_scan_lines(name, text, cap):
    buf = np.frombuffer(text, np.uint8)
    lines, events = S.new_outputs(cap), S.new_event_outputs(cap)
    start = 0
    while start < len(buf):
        rows, nxt = S.scan_lines(buf, start, lines)
        it = S.Interner()
        assert S.scan_events(it, buf, start, _SPEC, events) == (rows, nxt)
        status, ints, strs, _, ts, line_start = (a[:rows] for a in lines)
        row, time, eints, ids, bad, counts = events
        strings = it.strings()
        assert counts[:9].tolist() == [int((status == c).sum()) for c in range(-4, 5)]
        nbad = counts[21]
        neg = np.flatnonzero(status < 0)
        assert bad[0, :nbad].tolist() == neg.tolist()
        assert bad[1, :nbad].tolist() == status[neg].tolist()
        assert bad[2, :nbad].tolist() == line_start[neg].tolist()
        assert bad[3, :nbad].tolist() == ints[neg, S.I_EOL].tolist()
        kept = np.flatnonzero(status >= S.OTHER)
        widths = np.bincount(ints[kept, S.I_FLAGSLEN], minlength=9)
        assert counts[9:18].tolist() == widths.tolist()
        for k, (code, (_, cols, slots)) in enumerate(zip(S.KINDS, _PIECES)):
            sel = np.flatnonzero(status == code)
            n = counts[18 + k]
            assert n == len(sel)
            assert row[k, :n].tolist() == sel.tolist()
            assert time[k, :n].tolist() == ts[sel].tolist()
            for c, col in enumerate(cols):
                assert eints[k, c, :n].tolist() == ints[sel, col].tolist()
            for q, slot in enumerate(slots):
                want = [bytes(buf[a:a + ln]) for a, ln in strs[sel, slot]]
                assert [strings[i] for i in ids[k, q, :n]] == want
        start = nxt


def test_scan_events_checks_its_arrays():
    it, out = S.Interner(), S.new_event_outputs(4)
    with pytest.raises(ValueError, match="inconsistent sizes"):
        S.scan_events(it, b"x\n", 0, _SPEC, (np.empty((3, 3), np.int64), *out[1:]))
    with pytest.raises(ValueError, match="start out of range"):
        S.scan_events(it, b"x\n", 5, _SPEC, out)
    bad_spec = _SPEC.copy()
    bad_spec[0, 2] = S.N_INT
    with pytest.raises(ValueError, match="spec out of range"):
        S.scan_events(it, b"x\n", 0, bad_spec, out)


@pytest.mark.parametrize("size_hint", [None, 1, 10_000, 10**9, 10**18])  # 10**18: reservation refused
def test_columns_grow_to_what_was_appended(size_hint):
    rng = np.random.default_rng(0)
    col = Columns(3, 2, size_hint)
    gmap = np.arange(100, 110)
    parts, base, done = [], 0, 0
    for m in (0, 5, 1000, 1, 3000, 17):
        row = np.sort(rng.choice(5000, m, replace=False)).astype(np.int64)
        time, ints = rng.random(m), rng.integers(-9, 9, (3, m))
        ids = rng.integers(0, 10, (2, m))
        done += 1000
        col.append(base, row, time, ints, ids, gmap, done)
        parts.append((base + row + 1, time, ints, gmap[ids]))
        base += 5000
    got = col.arrays()
    np.testing.assert_array_equal(got["line"], np.concatenate([p[0] for p in parts]))
    np.testing.assert_array_equal(got["time"], np.concatenate([p[1] for p in parts]))
    np.testing.assert_array_equal(got["ints"], np.concatenate([p[2] for p in parts], axis=1))
    np.testing.assert_array_equal(got["ids"], np.concatenate([p[3] for p in parts], axis=1))
    assert got["ints"].dtype == got["ids"].dtype == got["line"].dtype == np.int64


def test_columns_reserve_from_the_size_of_the_text():
    col = Columns(1, 1, size_hint=1_000_000)
    one = np.zeros(100, np.int64)
    col.append(0, one, one.astype(float), one[None], one[None], np.zeros(1, np.int64), done=10_000)
    assert col.line.shape[0] >= 100 * 100  # 100 events in the first 1% of the text
    cap = col.line.shape[0]
    for k in range(50):
        col.append(0, one, one.astype(float), one[None], one[None], np.zeros(1, np.int64), done=20_000 * (k + 1))
    assert col.line.shape[0] == cap  # no copy to grow while the estimate holds


def test_take_matched_gathers_or_fills():
    src = np.array([10, 20, 30], np.int64)
    idx = np.array([2, -1, 0, 0, -1], np.int64)
    out = np.empty(5, np.int64)
    _native.take_matched(src, idx, np.array([-1], np.int64), out)
    assert out.tolist() == [30, -1, 10, 10, -1]
    fout = np.empty(2)
    _native.take_matched(np.array([1.5]), np.array([-1, 0]), np.array([np.nan]), fout)
    assert np.isnan(fout[0]) and fout[1] == 1.5
    with pytest.raises(IndexError, match="out of range"):
        _native.take_matched(src, np.array([3]), np.array([0], np.int64), np.empty(1, np.int64))
    with pytest.raises(TypeError, match="same item format"):
        _native.take_matched(src, idx, np.array([0.0]), out)


def test_take_objects_counts_references():
    import sys

    table = [f"s{k}" for k in range(5)] + [None]
    ids = np.array([0, 3, 3, 4, 0, 0], np.int64)
    before = [sys.getrefcount(x) for x in table[:5]]
    out = np.empty(len(ids), dtype=object)
    _native.take_objects(table, ids, out)
    assert out.tolist() == ["s0", "s3", "s3", "s4", "s0", "s0"]
    during = [sys.getrefcount(x) for x in table[:5]]
    assert [d - b for d, b in zip(during, before)] == [3, 0, 0, 2, 1]
    del out
    assert [sys.getrefcount(x) for x in table[:5]] == before
    with pytest.raises(IndexError, match="out of range"):
        _native.take_objects(table, np.array([6]), np.empty(1, dtype=object))
    with pytest.raises(TypeError, match="object array"):
        _native.take_objects(table, ids, np.empty(len(ids), np.int64))
    with pytest.raises(TypeError, match="object array"):
        _native.take_objects(table, ids, np.empty(2, dtype=object))


def test_scan_kv_finds_keys_of_any_length():
    """scan_kv looks a token's key up among the keys of its length (lexer.c); keys of 63
    bytes or more share one bucket and still need their exact length."""
    long_a, long_b = b"k" * 70, b"k" * 63
    keys = (b"nid", b"order", long_a, long_b, b"flags")
    text = b"nid=1 " + long_a + b"=7 " + long_b + b"=8 order=3 flags=GFP_X " + b"k" * 64 + b"=9"
    buf = np.frombuffer(text, np.uint8)
    ints = np.full((4, 1), -1, np.int64)
    spans, hashes = np.zeros((1, 2, 1), np.int64), np.zeros((1, 1), np.uint64)
    ok, present = S.scan_kv(buf, np.array([0]), np.array([len(text)]), keys, 4, ints, spans, hashes)
    assert ok.tolist() == [True] and present.tolist() == [0b11111]
    assert ints[:, 0].tolist() == [1, 3, 7, 8]
    a, n = spans[0, :, 0]
    assert bytes(buf[a:a + n]) == b"GFP_X"
