"""Lines per second of rl.trace.read, against a plain-Python line-by-line regex parser.

A synthetic ftrace trace (rl.trace.synthetic_trace: shrink start/end pairs of a few
dozen shrinker instances, reclaim events, unrelated events to skip; about 220 bytes
a line, like a real capture) is written to a temporary directory. Both parsers read
the same file in the same run and build the same columns: the baseline splits each
line at ': ', matches the parts with compiled regular expressions, converts the
fields with int() and pairs ends with starts through a dict, then makes numpy arrays. Prints lines per second of
each and the ratio (goal: >= 1 million lines/s for rl.trace.read).

The first call of rl.trace.read in a process loads (or, once, compiles) its numba
scanner; that one-off cost is timed separately and left out of the rate.

Run: .venv/bin/python benchmarks/trace.py [--lines N] [--repeat R]
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import reclaimlab.trace as T

HEAD = re.compile(r"\s*(.*)-(\d+)\s+(?:\([\s\d-]*\)\s+)?\[(\d+)\]\s+(?:\S+\s+)?(\d+(?:\.\d+)?)$")
START = re.compile(r"(\S+)(?: \[([^\]]+)\])? (\S+): nid: (-?\d+) objects to shrink (-?\d+) gfp_flags (\S*)"
                   r"(?: pgs_scanned (-?\d+) lru_pgs (-?\d+))? cache items (-?\d+) delta (-?\d+) "
                   r"total_scan (-?\d+)(?: priority (-?\d+))?\s*$")
END = re.compile(r"(\S+)(?: \[([^\]]+)\])? (\S+): nid: (-?\d+) unused scan count (-?\d+) "
                 r"new scan count (-?\d+) total_scan (-?\d+) last shrinker return val (-?\d+)\s*$")
RECLAIM = {"mm_vmscan_direct_reclaim_begin", "mm_vmscan_direct_reclaim_end", "mm_vmscan_kswapd_wake",
           "mm_vmscan_kswapd_sleep", "mm_vmscan_lru_shrink_inactive", "mm_vmscan_memcg_reclaim_begin",
           "mm_vmscan_memcg_reclaim_end"}


def baseline(path: Path) -> dict:
    """The straightforward parser: split each line at ': ', one regex per part, Python
    ints, pairing through a dict of open calls."""
    starts, ends, events, open_calls = [], [], [], {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            parts = line.split(": ", 2)
            if len(parts) < 3:
                continue
            h = HEAD.match(parts[0])
            if not h:
                continue
            task, pid, cpu, ts = h.groups()
            event, payload = parts[1], parts[2]
            if event == "mm_shrink_slab_start":
                m = START.match(payload)
                if m:
                    sym, _mod, ptr, nid, nr, gfp, _pgs, _lru, F, delta, total, prio = m.groups()
                    starts.append((float(ts), int(cpu), int(pid), task, sym, ptr, int(nid), int(nr), gfp,
                                   int(F), int(delta), int(total), int(prio or -1)))
                    open_calls.setdefault((pid, sym, ptr), []).append(len(starts) - 1)
            elif event == "mm_shrink_slab_end":
                m = END.match(payload)
                if m:
                    sym, _mod, ptr, nid, unused, new, left, ret = m.groups()
                    stack = open_calls.get((pid, sym, ptr))
                    ends.append((stack.pop() if stack else -1, int(nid), int(unused), int(new), int(left),
                                 int(ret)))
            elif event in RECLAIM:
                events.append((event, float(ts), dict(kv.split("=", 1) for kv in payload.split())))
    cols = list(zip(*starts)) if starts else [[]] * 13
    out = {name: np.array(c) for name, c in zip(
        ("time", "cpu", "pid", "task", "sym", "ptr", "nid", "nr", "gfp", "F", "delta", "total", "prio"), cols)}
    new_scan = np.full(len(starts), -1, np.int64)
    for idx, _nid, _unused, new, _left, _ret in ends:
        if idx >= 0:
            new_scan[idx] = new
    out["new_scan"] = new_scan
    out["events"] = len(events)
    return out


def peak_rss_mb(path: Path) -> float:
    """Peak resident memory (MB) of a fresh process that reads ``path`` (VmHWM, Linux)."""
    code = ("import re, sys, reclaimlab.trace as T; ds = T.read(sys.argv[1]); "
            "print(int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)) / 1024)")
    return float(subprocess.run([sys.executable, "-c", code, str(path)], check=True, capture_output=True,
                                text=True).stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "synthetic.trace"
        t0 = time.perf_counter()
        path.write_text(T.synthetic_trace(args.lines, seed=1))
        gen = time.perf_counter() - t0
        size = path.stat().st_size
        with open(path, "rb") as f:
            n_lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 24), b""))
        print(f"synthetic trace: {n_lines} lines, {size / 1e6:.0f} MB (generated in {gen:.1f} s)")

        small = Path(tmp) / "small.trace"
        small.write_text(T.synthetic_trace(2000, seed=2))
        t0 = time.perf_counter()
        T.read(small)
        print(f"first call (numba scanner load or compile): {time.perf_counter() - t0:.2f} s")

        best, cpu = float("inf"), float("inf")
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            ds = T.read(path)
            best, cpu = min(best, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
        fast = n_lines / best
        print(f"rl.trace.read:      {best:7.2f} s  {fast / 1e6:6.2f} M lines/s  (CPU {cpu:.2f} s in all threads; "
              f"{ds.sizes['call']} calls, {ds.sizes['event']} reclaim events)")
        big_rss, small_rss = peak_rss_mb(path), peak_rss_mb(small)
        print(f"memory: the Dataset holds {ds.nbytes / 1e6:.0f} MB; a process reading the {size / 1e6:.0f} MB file "
              f"peaks at {big_rss:.0f} MB, one reading a 2000-line file at {small_rss:.0f} MB")
        del ds

        t0, c0 = time.perf_counter(), time.process_time()
        ref = baseline(path)
        slow_t, slow_cpu = time.perf_counter() - t0, time.process_time() - c0
        slow = n_lines / slow_t
        print(f"Python line loop:   {slow_t:7.2f} s  {slow / 1e6:6.2f} M lines/s  (CPU {slow_cpu:.2f} s; "
              f"{len(ref['nr'])} calls, {ref['events']} reclaim events)")
        print(f"ratio: rl.trace.read is {fast / slow:.1f}x the line-by-line baseline "
              f"({'meets' if fast >= 1e6 else 'misses'} the 1 M lines/s goal)")


if __name__ == "__main__":
    main()
