"""Fuzzing the trace reader: it fails only with TraceFormatError, and lenient mode never fails.

Also a round trip: lines printed in any accepted layout from random field values
parse back to exactly those values.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reclaimlab.trace as T

from conftest import FIXTURES as FIX
POOL = [line for name in ("v4.16-real-yang-shi.txt", "pre-4.16-yang-shi.txt", "v4.19-constructed.txt",
                          "v6.1-real-5flags.txt", "trace-cmd-report.txt", "tasks-and-columns.txt")
        for line in (FIX / name).read_text().splitlines()]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Characters that matter to the grammar, so mutations hit its edges.
STRUCTURAL = "-[]():. #=\t\r\n|<>+x0123456789abcdefnidpriority_"


def check_reader(text):
    """Lenient never raises; strict raises only TraceFormatError and otherwise agrees."""
    lenient = T.parse(text)
    assert lenient.sizes["call"] <= lenient.attrs["count_mm_shrink_slab_start"]
    try:
        strict = T.parse(text, strict=True)
    except T.TraceFormatError as err:
        assert err.line >= 1 and err.kind
        assert lenient.attrs["malformed_lines"] >= 1
        check_blame(text, err)
        return
    assert lenient.attrs["malformed_lines"] == 0
    assert strict.identical(lenient)


def check_blame(text, err):
    """Strict mode blames the first bad line: the lines before it parse, that line alone does not."""
    data = text.encode("utf-8", "replace") if isinstance(text, str) else text
    lines = data.split(b"\n")
    assert 1 <= err.line <= len(lines)
    before = b"\n".join(lines[:err.line - 1])
    ok = T.parse(before + b"\n" if before else b"", strict=True)
    assert ok.attrs["malformed_lines"] == 0
    with pytest.raises(T.TraceFormatError) as alone:
        T.parse(lines[err.line - 1] + b"\n", strict=True)
    assert (alone.value.line, alone.value.kind) == (1, err.kind)
    assert alone.value.text == err.text


@FUZZ
@given(st.text(max_size=400))
def test_any_text(text):
    check_reader(text)


@FUZZ
@given(st.binary(max_size=400))
def test_any_bytes(data):
    check_reader(data)


@st.composite
def mutated_lines(draw):
    lines = draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=6))
    out = []
    for line in lines:
        for _ in range(draw(st.integers(0, 3))):
            op = draw(st.sampled_from(["delete", "insert", "replace", "truncate", "repeat"]))
            n = len(line)
            i = draw(st.integers(0, n))
            j = draw(st.integers(i, min(n, i + 12)))
            if op == "delete":
                line = line[:i] + line[j:]
            elif op == "insert":
                line = line[:i] + draw(st.text(STRUCTURAL, max_size=6)) + line[i:]
            elif op == "replace":
                line = line[:i] + draw(st.text(STRUCTURAL, min_size=1, max_size=3)) + line[j:]
            elif op == "truncate":
                line = line[:i]
            else:
                line = line[:j] + line[i:j] + line[j:]
        out.append(line)
    return "\n".join(out) + draw(st.sampled_from(["", "\n", "\r\n"]))


@FUZZ
@given(mutated_lines())
def test_mutated_real_lines(text):
    check_reader(text)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(POOL), max_size=30))
def test_unmutated_pool_lines_are_all_accepted(lines):
    ds = T.parse("\n".join(lines), strict=True)
    assert ds.attrs["malformed_lines"] == 0


TASK = st.text("abcXYZ019 -_/:.<>", min_size=1, max_size=15).map(str.strip).filter(bool)
I64 = st.integers(-2**63 + 1, 2**63 - 1)
U = st.integers(0, 2**40)


@st.composite
def start_line(draw):
    v = {
        "task": draw(TASK), "pid": draw(st.integers(0, 4194304)), "cpu": draw(st.integers(0, 4095)),
        "flags": draw(st.sampled_from(["", "....", ".....", "d..1.", "dNs2", ".N..."])),
        "sec": draw(st.integers(0, 10**8)), "usec": draw(st.integers(0, 999999)),
        "sym": draw(st.sampled_from(["super_cache_scan+0x0/0x1a0", "x_scan+0x10", "0xffffffffc0001000"])),
        "mod": draw(st.sampled_from(["", "zsmalloc", "jbd2"])),
        "ptr": draw(st.sampled_from(["0000000024acf00c", "ffff9a83046f3458", "0xffff8b7c40ad2e40"])),
        "nid": draw(st.integers(-1, 63)), "nr": draw(I64), "gfp": draw(st.sampled_from(
            ["GFP_KERNEL", "GFP_NOFS|__GFP_NOWARN", "none"])),
        "F": draw(U), "delta": draw(I64), "total": draw(U), "prio": draw(st.integers(0, 12)),
        "old": draw(st.booleans()), "pgs": draw(U), "lru": draw(U),
        "tgid": draw(st.sampled_from([None, "(-------)", "(   42)"])),
        "pad": draw(st.integers(0, 6)),
    }
    tg = f" {v['tgid']}" if v["tgid"] else ""
    fl = f" {v['flags']}" if v["flags"] else ""
    sym = f"{v['sym']} [{v['mod']}]" if v["mod"] else v["sym"]
    mid = (f" pgs_scanned {v['pgs']} lru_pgs {v['lru']}" if v["old"] else "")
    tail = "" if v["old"] else f" priority {v['prio']}"
    line = (f"{' ' * v['pad']}{v['task']}-{v['pid']}{tg} [{v['cpu']:03d}]{fl} {v['sec']}.{v['usec']:06d}: "
            f"mm_shrink_slab_start: {sym} {v['ptr']}: nid: {v['nid']} objects to shrink {v['nr']} "
            f"gfp_flags {v['gfp']}{mid} cache items {v['F']} delta {v['delta']} total_scan {v['total']}{tail}")
    return line, v


@settings(max_examples=200, deadline=None)
@given(st.lists(start_line(), min_size=1, max_size=5))
def test_round_trip_of_start_events(items):
    text = "\n".join(line for line, _ in items) + "\n"
    ds = T.parse(text, strict=True)
    assert ds.sizes["call"] == len(items)
    for k, (_, v) in enumerate(items):
        c = ds.isel(call=k)
        assert str(c.task.values) == v["task"]
        assert (int(c.pid), int(c.cpu), int(c.nid)) == (v["pid"], v["cpu"], v["nid"])
        assert float(c.time) == float(f"{v['sec']}.{v['usec']:06d}")
        assert str(c.module.values) == v["mod"]
        assert str(c.shrinker_id.values) == v["ptr"]
        assert str(c.gfp_flags.values) == v["gfp"]
        assert (int(c.nr_deferred), int(c.cache_items)) == (v["nr"], v["F"])
        assert (int(c.delta), int(c.total_scan)) == (v["delta"], v["total"])
        if v["old"]:
            assert (int(c.priority), int(c.pgs_scanned), int(c.lru_pgs)) == (-1, v["pgs"], v["lru"])
        else:
            assert (int(c.priority), int(c.pgs_scanned)) == (v["prio"], -1)
    assert np.all(~ds.has_end.values)
