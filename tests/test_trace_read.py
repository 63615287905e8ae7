"""rl.trace.read / parse: every format of docs/kernel.md §4, strict and lenient modes."""
from __future__ import annotations

import gzip
import importlib
import lzma
from pathlib import Path

import numpy as np
import pytest

import reclaimlab as rl
import reclaimlab.trace as T
from reclaimlab.model.schema import CALL_VARS

from conftest import FIXTURES as FIX
# the module (the package attribute ``read`` is the function)
read_mod = importlib.import_module("reclaimlab.trace.read")


def fixture(name: str):
    return T.read(FIX / name, strict=True)


def test_real_4x_pair_joined():
    ds = fixture("v4.16-real-yang-shi.txt")
    assert ds.sizes["call"] == 1
    c = ds.isel(call=0)
    assert (str(c.task.values), int(c.pid), int(c.cpu)) == ("kswapd0", 475, 28)
    assert str(c.shrinker.values) == "super_cache_scan"
    assert str(c.shrinker_id.values) == "0000000024acf00c"
    assert str(c.module.values) == ""
    assert str(c.gfp_flags.values) == "GFP_KERNEL"
    assert int(c.nr_deferred) == 4994376020
    assert int(c.cache_items) == 93689873
    assert (int(c.delta), int(c.total_scan), int(c.priority)) == (45746, 46844936, 12)
    assert int(c.pgs_scanned) == -1 and int(c.lru_pgs) == -1
    assert float(c.time) == pytest.approx(305968.252561)
    # The end event is on another CPU and 45 s later: still the same call.
    assert bool(c.has_end)
    assert float(c.end_time) == pytest.approx(306013.099399)
    assert (int(c.unused_scan), int(c.new_scan)) == (4994376020, 4947576838)
    assert (int(c.total_scan_left), int(c.retval), int(c.end_nid)) == (8, 46844928, 0)
    assert ds.attrs["flags_columns"] == "4"
    assert ds.attrs["start_formats"] == "4.16+"
    assert ds.attrs["comment_lines"] == 2


def test_pre_416_line():
    ds = fixture("pre-4.16-yang-shi.txt")
    c = ds.isel(call=0)
    assert str(c.task.values) == "<...>" and int(c.pid) == 409454
    assert int(c.priority) == -1
    assert (int(c.pgs_scanned), int(c.lru_pgs)) == (1, 15721)
    assert str(c.gfp_flags.values) == "GFP_HIGHUSER_MOVABLE|__GFP_ZERO"
    assert str(c.shrinker_id.values) == "ffff9a83046f3458"
    assert (int(c.nid), int(c.nr_deferred), int(c.cache_items)) == (1, 3641681686040, 246404277)
    assert not bool(c.has_end) and np.isnan(float(c.end_time)) and int(c.new_scan) == -1
    assert ds.attrs["start_formats"] == "pre-4.16"
    assert ds.attrs["unmatched_starts"] == 1


def test_419_constructed_and_4x_reclaim_events():
    ds = fixture("v4.19-constructed.txt")
    assert (int(ds.delta[0]), int(ds.total_scan[0]), int(ds.retval[0])) == (312, 312, 290)
    assert list(ds.event_name.values) == ["mm_vmscan_kswapd_wake", "mm_vmscan_direct_reclaim_begin",
                                          "mm_vmscan_direct_reclaim_end"]
    assert list(ds.event_zid.values) == [2, -1, -1]
    assert list(ds.event_may_writepage.values) == [-1, 1, -1]
    assert list(ds.event_classzone_idx.values) == [-1, 2, -1]
    assert list(ds.event_nr_reclaimed.values) == [-1, -1, 32]
    assert list(ds.event_gfp_flags.values) == ["", "GFP_HIGHUSER_MOVABLE", ""]
    assert list(ds.event_task.values) == ["kswapd0", "cc1", "cc1"]
    assert list(ds.event_pid.values) == [93, 4021, 4021]


def test_61_real_lines_modules_and_events():
    ds = fixture("v6.1-real-5flags.txt")
    assert list(ds.shrinker.values) == ["kfree_rcu_shrink_scan", "super_cache_scan", "zs_shrinker_scan",
                                        "scan_shadow_nodes", "super_cache_scan", "jbd2_journal_shrink_scan"]
    assert list(ds.module.values) == ["", "", "zsmalloc", "", "", "jbd2"]
    assert ds.has_end.all()
    assert ds.attrs["flags_columns"] == "5"
    assert ds.attrs["count_tracing_mark_write"] == 1 and ds.attrs["skipped_events"] == 1
    assert ds.attrs["count_mm_vmscan_lru_shrink_inactive"] == 1
    names = list(ds.event_name.values)
    assert "mm_vmscan_memcg_reclaim_begin" in names and "mm_vmscan_kswapd_sleep" in names
    k = names.index("mm_vmscan_lru_shrink_inactive")
    assert (int(ds.event_nr_scanned[k]), int(ds.event_priority[k])) == (14, 12)
    assert int(ds.event_nr_activate_file[k]) == 0
    assert str(ds.event_flags.values[k]) == "RECLAIM_WB_FILE|RECLAIM_WB_ASYNC"
    assert int(ds.event_nr_reclaimed[names.index("mm_vmscan_memcg_reclaim_end")]) == 39
    # '.N...' is a flags column too
    assert float(ds.event_time[names.index("mm_vmscan_memcg_reclaim_begin")]) == pytest.approx(141.251789)


@pytest.mark.parametrize("suffix", [".gz", ".xz"])
def test_compressed_equal_plain(suffix):
    plain = fixture("v6.1-real-5flags.txt")
    packed = fixture("v6.1-real-5flags.txt" + suffix)
    assert packed.attrs["compression"] == {".gz": "gzip", ".xz": "xz"}[suffix]
    packed.attrs["source"] = plain.attrs["source"]
    packed.attrs["compression"] = "none"
    assert packed.identical(plain)


def test_trace_cmd_report_layout():
    ds = fixture("trace-cmd-report.txt")
    assert ds.attrs["preamble_lines"] == 3
    assert list(ds.shrinker.values) == ["kfree_rcu_shrink_scan", "super_cache_scan", "0xffffffffc0a1b2c0"]
    assert list(ds.shrinker_id.values)[:2] == ["0xffff8b7c40ad2e40", "0xffff8b7c4194a8c0"]
    assert list(ds.has_end.values) == [True, True, False]
    assert ds.attrs["flags_columns"] == "0"
    assert ds.attrs["count_sched_switch"] == 1
    assert int(ds.new_scan[1]) == 4


def test_task_names_tgid_crlf_system_prefix():
    ds = fixture("tasks-and-columns.txt")
    assert list(ds.task.values) == ["Web Content", "stress-ng-vm", "kworker/u8:3-12", "<...>"]
    assert list(ds.pid.values) == [3120, 2211, 517, 40117]
    assert ds.has_end.all()
    assert list(ds.cache_items.values) == [8, 9, 1, 3]
    assert ds.attrs["count_mm_shrink_slab_start"] == 4


def test_units_and_long_names_everywhere():
    for name in ("v6.1-real-5flags.txt", "pre-4.16-yang-shi.txt", "trace-cmd-report.txt"):
        ds = fixture(name)
        for v in ds.variables.values():
            assert v.attrs.get("units") and v.attrs.get("long_name")
    assert set(CALL_VARS) <= set(fixture("v4.16-real-yang-shi.txt").data_vars)


BAD = """# header
kswapd0-93 [003] .... 1.0: mm_shrink_slab_start: super_cache_scan+0x0/0x1a0 00000000b5d3f2a1: nid: 0 objects to shrink 0 gfp_flags GFP_KERNEL cache items 312 delta 312 total_scan 312 priority 12
this is not a trace line
kswapd0-93 [003] .... 1.1: mm_shrink_slab_start: super_cache_scan+0x0/0x1a0 00000000b5d3f2a1: nid: 0 objects to shrink zero
kswapd0-93 [003] .... 1.2: mm_shrink_slab_end: super_cache_scan+0x0/0x1a0 00000000b5d3f2a1: nid: 0 unused scan count 0 new scan count
kswapd0-93 [003] .... 1.3: mm_vmscan_kswapd_wake: nid=zero order=0
kswapd0-93 [003] .... 1.4: mm_vmscan_direct_reclaim_end: nr_scanned=3
kswapd0-93 [003] .... 1.5: sched_switch: anything at all
CPU:1 [LOST 12 EVENTS]

"""


def test_lenient_counts_bad_lines_by_kind():
    ds = T.parse(BAD)
    a = ds.attrs
    assert ds.sizes["call"] == 1 and ds.sizes["event"] == 0
    assert a["malformed_lines"] == 5
    assert a["malformed_line"] == 1
    assert a["malformed_mm_shrink_slab_start"] == 1
    assert a["malformed_mm_shrink_slab_end"] == 1
    assert a["malformed_mm_vmscan_kswapd_wake"] == 1
    assert a["malformed_mm_vmscan_direct_reclaim_end"] == 1  # lacks nr_reclaimed
    assert a["skipped_events"] == 1 and a["count_sched_switch"] == 1
    assert a["lost_events"] == 12 and a["blank_lines"] == 1 and a["comment_lines"] == 1
    assert a["lines"] == 10


@pytest.mark.parametrize("line_no,kind", [(3, "line"), (4, "mm_shrink_slab_start"), (5, "mm_shrink_slab_end"),
                                          (6, "mm_vmscan_kswapd_wake")])
def test_strict_raises_with_line_number_and_text(line_no, kind):
    lines = BAD.splitlines(keepends=True)
    # keep the good lines before the bad one under test, drop the other bad ones
    text = "".join(lines[:2]) + "\n" * (line_no - 3) + lines[line_no - 1]
    with pytest.raises(T.TraceFormatError) as info:
        T.parse(text, strict=True, source="x.txt")
    err = info.value
    assert (err.line, err.kind, err.source) == (line_no, kind, "x.txt")
    assert err.text == lines[line_no - 1].rstrip("\n")
    assert f"x.txt:{line_no}:" in str(err) and isinstance(err, ValueError)


def test_pairing_lost_end_nesting_and_orphans():
    head = "t-7 [000] .... {t}: mm_shrink_slab_{kind}: s+0x0/0x1 p: nid: 0 "
    start = head + "objects to shrink {nr} gfp_flags GFP_KERNEL cache items 10 delta 0 total_scan {nr} priority 12\n"
    end = head + "unused scan count {nr} new scan count {new} total_scan 0 last shrinker return val 0\n"
    text = (start.format(t=1, kind="start", nr=5)            # its end was lost
            + start.format(t=2, kind="start", nr=7)
            + end.format(t=3, kind="end", nr=7, new=70)
            + end.format(t=4, kind="end", nr=99, new=0)      # no start
            + start.format(t=5, kind="start", nr=8)
            + start.format(t=6, kind="start", nr=9)          # nested call of the same shrinker
            + end.format(t=7, kind="end", nr=9, new=90)
            + end.format(t=8, kind="end", nr=8, new=80))
    ds = T.parse(text)
    assert list(ds.has_end.values) == [False, True, True, True]
    assert list(ds.new_scan.values) == [-1, 70, 80, 90]
    assert ds.attrs["unmatched_starts"] == 1 and ds.attrs["orphan_ends"] == 1


def test_other_tasks_and_shrinkers_do_not_pair():
    s = ("{task}-{pid} [000] .... 1.{k}: mm_shrink_slab_start: {sym}+0x0/0x1 {ptr}: nid: 0 objects to shrink 0 "
         "gfp_flags GFP_KERNEL cache items 10 delta 0 total_scan 0 priority 12\n")
    e = ("{task}-{pid} [000] .... 2.{k}: mm_shrink_slab_end: {sym}+0x0/0x1 {ptr}: nid: 0 unused scan count 0 "
         "new scan count {k} total_scan 0 last shrinker return val 0\n")
    text = (s.format(task="a", pid=1, sym="x", ptr="p1", k=1) + s.format(task="b", pid=2, sym="x", ptr="p1", k=2)
            + s.format(task="a", pid=1, sym="x", ptr="p2", k=3)
            + e.format(task="a", pid=1, sym="x", ptr="p2", k=3) + e.format(task="b", pid=2, sym="x", ptr="p1", k=2)
            + e.format(task="a", pid=1, sym="x", ptr="p1", k=1))
    ds = T.parse(text)
    assert list(ds.new_scan.values) == [1, 2, 3]


def test_block_boundaries_and_threads_change_nothing(monkeypatch):
    text = T.synthetic_trace(3000, seed=3)
    whole = T.parse(text)
    monkeypatch.setattr(read_mod, "CHUNK_BYTES", 997)
    for workers in (0, 1, 2):
        monkeypatch.setattr(read_mod, "WORKERS", workers)
        assert T.parse(text).identical(whole)


def test_file_read_in_small_blocks_equals_parse(tmp_path, monkeypatch):
    text = T.synthetic_trace(2000, seed=5)
    p = tmp_path / "t.txt.xz"
    p.write_bytes(lzma.compress(text.encode()))
    monkeypatch.setattr(read_mod, "CHUNK_BYTES", 4096)
    ds = T.read(p)
    ref = T.parse(text)
    assert ds.sizes == ref.sizes
    for name in ref.data_vars:
        np.testing.assert_array_equal(ds[name].values, ref[name].values)


def test_truncated_compressed_file(tmp_path):
    data = gzip.compress(T.synthetic_trace(400).encode())
    p = tmp_path / "cut.gz"
    p.write_bytes(data[: len(data) // 2])
    ds = T.read(p)
    assert "compression_error" in ds.attrs and ds.sizes["call"] > 0
    with pytest.raises(T.TraceFormatError) as info:
        T.read(p, strict=True)
    assert info.value.kind == "compression"


def test_empty_and_bad_arguments(tmp_path):
    p = tmp_path / "empty.txt"
    p.write_text("")
    ds = T.read(p)
    assert ds.sizes["call"] == 0 and ds.sizes["event"] == 0 and ds.attrs["lines"] == 0
    assert T.parse(b"").sizes["call"] == 0
    with pytest.raises(TypeError, match="path"):
        T.read(42)
    with pytest.raises(TypeError, match="strict"):
        T.parse("", strict="yes")
    with pytest.raises(TypeError, match="text"):
        T.parse(3.5)
    with pytest.raises(FileNotFoundError):
        T.read(tmp_path / "missing.txt")


def test_numbers_at_the_int64_edges():
    line = ("a-1 [000] .... 1.0: mm_shrink_slab_start: s+0x0/0x1 p: nid: -1 objects to shrink {nr} "
            "gfp_flags GFP_KERNEL cache items 1 delta -5 total_scan 0 priority 12\n")
    ds = T.parse(line.format(nr=2**63 - 1))
    assert int(ds.nr_deferred[0]) == 2**63 - 1 and int(ds.delta[0]) == -5 and int(ds.nid[0]) == -1
    bad = T.parse(line.format(nr=2**63))
    assert bad.sizes["call"] == 0 and bad.attrs["malformed_mm_shrink_slab_start"] == 1


def test_non_ascii_task_names_survive():
    line = ("Wëb Cöntent-5 [000] .... 1.0: mm_shrink_slab_start: s+0x0/0x1 p: nid: 0 objects to shrink 0 "
            "gfp_flags GFP_KERNEL cache items 1 delta 0 total_scan 0 priority 12\n")
    ds = T.parse(line)
    assert str(ds.task.values[0]) == "Wëb Cöntent"
    text = rl.text.trace_summary(ds)
    assert text.isascii() and max(map(len, text.splitlines())) <= 72


# -- reliability of the reader (issue 19) ------------------------------------------------------

_MASK = 2**64 - 1
_MUL = 0x9E3779B97F4A7C15
_SEED = 14695981039346656037


def _state(data: bytes, words: int) -> int:
    """The scanner's string hash (see reclaimlab/native/lexer.c) after ``words`` 8-byte words."""
    h = _SEED ^ len(data)
    for k in range(words):
        h = ((h ^ int.from_bytes(data[8 * k:8 * k + 8], "little")) * _MUL) & _MASK
        h ^= h >> 29
    return h


def _colliding_symbol(target: bytes) -> bytes:
    """A symbol of the same length whose 64-bit hash equals that of ``target``, and that
    the reader takes as one word (no blanks, no line ends)."""
    assert len(target) >= 24
    inv_mul = pow(_MUL, -1, 2**64)
    want = _state(target, 3)
    y = want ^ (want >> 29) ^ (want >> 58)  # undo h ^= h >> 29
    for k in range(1000):
        head = b"crafted_sym%05d" % k
        w3 = (y * inv_mul & _MASK) ^ _state(head + b"\0" * (len(target) - 16), 2)
        word = w3.to_bytes(8, "little")
        if not set(word) & set(b" \t\r\n"):
            return head + word + target[24:]
    raise AssertionError("no colliding symbol found")


def test_strings_that_collide_in_the_hash_stay_apart():
    from reclaimlab import _native

    real = b"super_cache_scan+0x0/0x1a0"
    evil = _colliding_symbol(real)
    assert evil != real and _native.str_hash(evil) == _native.str_hash(real)
    line = (b"t-1 [000] .... 1.%d: mm_shrink_slab_start: %s %s: nid: 0 objects to shrink 0 gfp_flags "
            b"GFP_KERNEL cache items 10 delta 0 total_scan 0 priority 12\n")
    ds = T.parse(line % (1, real, b"p1") + line % (2, evil, b"p2"), strict=True)
    assert str(ds.shrinker.values[0]) == "super_cache_scan"
    assert str(ds.shrinker.values[1]) != "super_cache_scan"
    assert str(ds.shrinker.values[1]) == evil.decode("utf-8", "replace").split("+")[0]
    ds = T.parse(line % (1, evil, b"p1") + line % (2, real, b"p1"), strict=True)  # evil first, same pointer
    assert str(ds.shrinker.values[1]) == "super_cache_scan"
    assert str(ds.shrinker.values[0]) != "super_cache_scan"


def test_interner_compares_bytes():
    from reclaimlab import _native

    it = _native.Interner()
    a, b = b"super_cache_scan+0x0/0x1a0", _colliding_symbol(b"super_cache_scan+0x0/0x1a0")
    buf = np.frombuffer(a + b, np.uint8)
    ids = np.empty(3, np.int64)
    h = np.array([_native.str_hash(a)] * 3, np.uint64)  # the same hash for all three
    assert it.intern(buf, np.array([0, len(a), 0]), np.array([len(a), len(b), len(a)]), h, ids) == 2
    assert ids.tolist() == [0, 1, 0] and it.strings() == [a, b]


GOOD = ("kswapd0-93 [003] .... 1.0: mm_shrink_slab_start: super_cache_scan+0x0/0x1a0 00000000b5d3f2a1: nid: 0 "
        "objects to shrink 0 gfp_flags GFP_KERNEL cache items 312 delta 312 total_scan 312 priority 12\n")


@pytest.mark.parametrize("filler", [b"x", b"a-1 [1] ", b"[", b"a:", b"1", b"\t x"])
def test_overlong_line_is_rejected_in_linear_time(tmp_path, monkeypatch, filler):
    from reclaimlab.trace import _scan

    long_line = (filler * (2 * _scan.MAX_LINE // len(filler) + 1)).rstrip() + b"z"
    text = GOOD.encode() + long_line + b"\n" + GOOD.encode()
    with pytest.raises(T.TraceFormatError) as info:
        T.parse(text, strict=True, source="x.txt")
    assert (info.value.line, info.value.kind) == (2, "long_line")
    assert str(info.value).startswith("x.txt:2: line too long") and len(info.value.text) == 300
    ds = T.parse(text)
    assert ds.sizes["call"] == 2 and ds.attrs["malformed_long_line"] == 1 and ds.attrs["lines"] == 3
    # A file read in small blocks: the line is not accumulated block by block (quadratic before).
    p = tmp_path / "long.txt"
    p.write_bytes(GOOD.encode() + filler * (16 << 20) + b"\n" + GOOD.encode())
    monkeypatch.setattr(read_mod, "CHUNK_BYTES", 4096)
    import time

    t0 = time.perf_counter()
    ds = T.read(p)
    assert time.perf_counter() - t0 < 10
    assert ds.sizes["call"] == 2 and ds.attrs["malformed_long_line"] == 1 and ds.attrs["lines"] == 3
    with pytest.raises(T.TraceFormatError, match="long.txt:2: line too long"):
        T.read(p, strict=True)
    # Compressed: decompressed block by block; the line is cut to what the message needs.
    gz = tmp_path / "long.txt.gz"
    gz.write_bytes(gzip.compress(p.read_bytes(), compresslevel=1))
    t0 = time.perf_counter()
    ds = T.read(gz)
    assert time.perf_counter() - t0 < 10
    assert ds.sizes["call"] == 2 and ds.attrs["malformed_long_line"] == 1 and ds.attrs["lines"] == 3


def test_line_at_the_length_limit_still_parses():
    from reclaimlab.trace import _scan

    line = GOOD.rstrip("\n")
    padded = line + " " * (_scan.MAX_LINE - len(line)) + "\n"  # trailing blanks are ignored
    assert T.parse(padded, strict=True).sizes["call"] == 1
    with pytest.raises(T.TraceFormatError, match="line too long"):
        T.parse(line + " " * (_scan.MAX_LINE - len(line) + 1) + "\n", strict=True)


def test_file_without_shrinker_events_is_an_error(tmp_path):
    readme = FIX / "README.md"
    with pytest.raises(T.TraceFormatError, match="no mm_shrink_slab_start/end events were found") as info:
        T.read(readme)
    assert info.value.kind == "no_shrink_events" and isinstance(info.value, ValueError)
    other = tmp_path / "sched.txt"
    other.write_text("  <idle>-0 [001] d..2. 6.5: sched_switch: prev_comm=swapper/1 ==> next_comm=x\n")
    with pytest.raises(T.TraceFormatError, match="no mm_shrink_slab_start/end events"):
        T.read(other)
    with pytest.raises(T.TraceFormatError, match="no mm_shrink_slab_start/end events"):
        T.read(other, strict=True)
    # Empty, or comments only (an ftrace capture with nothing in it): an empty Dataset.
    (tmp_path / "header.txt").write_text("# tracer: nop\n#\n\n")
    assert T.read(tmp_path / "header.txt").sizes["call"] == 0
    # Malformed shrinker events are shrinker events: counted, not this error.
    (tmp_path / "bad.txt").write_text(BAD.splitlines(keepends=True)[3])
    assert T.read(tmp_path / "bad.txt").attrs["malformed_mm_shrink_slab_start"] == 1


def test_directory_is_named_as_such(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a directory"):
        T.read(tmp_path)


def _per_cpu(text: str) -> str:
    """The lines of ``text`` grouped by CPU (comments first), as ``cat per_cpu/cpu*/trace`` gives."""
    head = [ln for ln in text.splitlines(keepends=True) if ln.startswith("#")]
    body = [ln for ln in text.splitlines(keepends=True) if not ln.startswith("#")]
    cpu = [int(ln.split("[", 1)[1].split("]", 1)[0]) for ln in body]
    return "".join(head + [body[k] for k in np.argsort(cpu, kind="stable")])


def test_trace_concatenated_per_cpu_is_sorted_by_time(tmp_path):
    # The synthetic trace with each task on a CPU of its own (pid % 4).
    lines = []
    for ln in T.synthetic_trace(4000, seed=11).splitlines(keepends=True):
        if not ln.startswith("#"):
            pid = int(ln.split("[", 1)[0].rsplit("-", 1)[1])
            a, b = ln.split("[", 1)
            ln = f"{a}[{pid % 4:03d}{b[3:]}"
        lines.append(ln)
    ordered = "".join(lines)
    concat = _per_cpu(ordered)
    assert concat != ordered
    (tmp_path / "ordered.txt").write_text(ordered)
    (tmp_path / "concat.txt").write_text(concat)
    ref, ds = T.read(tmp_path / "ordered.txt", strict=True), T.read(tmp_path / "concat.txt", strict=True)
    assert "out_of_order_events" not in ref.attrs and ds.attrs["out_of_order_events"] > 0
    assert np.all(np.diff(ds.time.values) >= 0) and np.all(np.diff(ds.event_time.values) >= 0)
    for name in ref.data_vars:
        if name not in ("line", "event_line"):
            np.testing.assert_array_equal(ds[name].values, ref[name].values, err_msg=name)
    # ``line`` still points into the file read.
    text = concat.splitlines()
    assert all("mm_shrink_slab_start" in text[k - 1] for k in ds.line.values[:50])
    a, b = T.replay(ref, "v5.13"), T.replay(ds, "v5.13")
    assert bool(a.match.all()) and bool(b.match.all())
    assert a.attrs["match_rate"] == b.attrs["match_rate"]


def test_start_and_end_on_other_cpus_pair_in_time_order(tmp_path):
    s = ("t-7 [00{cpu}] .... {t}: mm_shrink_slab_start: s+0x0/0x1 p: nid: 0 objects to shrink {nr} "
         "gfp_flags GFP_KERNEL cache items 10 delta 0 total_scan {nr} priority 12\n")
    e = ("t-7 [00{cpu}] .... {t}: mm_shrink_slab_end: s+0x0/0x1 p: nid: 0 unused scan count {nr} "
         "new scan count {new} total_scan 0 last shrinker return val 0\n")
    # The task migrates from CPU 1 to CPU 0 in the middle of each call.
    ordered = (s.format(cpu=1, t="1.0", nr=5) + e.format(cpu=0, t="2.0", nr=5, new=50)
               + s.format(cpu=1, t="3.0", nr=5) + e.format(cpu=0, t="4.0", nr=5, new=51))
    (tmp_path / "c.txt").write_text(_per_cpu(ordered))
    ds = T.read(tmp_path / "c.txt")
    assert list(ds.new_scan.values) == [50, 51] and ds.has_end.all()
    assert list(ds.time.values) == [1.0, 3.0] and list(ds.line.values) == [3, 4]
