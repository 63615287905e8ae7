"""Lines per second of rl.trace.read, against the machine's limit and against other parsers.

A synthetic ftrace trace (rl.trace.synthetic_trace: shrink start/end pairs of a few
dozen shrinker instances, reclaim events, unrelated events to skip; about 220 bytes
a line, like a real capture) is written to a temporary directory. In the same run:

* rl.trace.read on it: median of --repeat runs, lines per second (goal: >= 5 M/s);
* where its time goes, each stage alone on the same text in one thread: the C
  lexer writing one record per line (``_scan.scan_lines``), the reader's own
  pass (``Collector.scan``: the lexer putting the events kept straight into
  columns, their strings interned, and the reclaim events' payloads), and the
  Dataset build after the last line (``Collector.dataset``: ordering, pairing,
  string columns);
* the machine's limit on the same file: ``grep -c mm_shrink_slab_start`` and
  ``wc -l`` (medians), and the ratio of rl.trace.read to them. Every rate is
  given by wall clock and by CPU time (of all threads; of the child for grep and
  wc): on a machine shared with other work the CPU-time ratio is the steadier one;
* the first rl.trace.read of each shipped trace (reclaimlab/data/traces) in a fresh process:
  import and read, nothing compiled (goal: < 1 s);
* peak memory (ru_maxrss of a fresh process): reading the synthetic file, reading
  a file of 5 million skipped lines (goal: <= 0.3 GB; memory follows the events
  kept), and importing reclaimlab.trace alone;
* a plain-Python line-by-line regex parser building the same columns (the
  baseline of earlier versions of this benchmark);
* peers: the Python trace tools a kernel developer would otherwise reach for
  (trappy, lisa-linux, ftrace), each installed from PyPI into a throwaway venv
  under --peer-dir and run on the shipped traces; events per second side by
  side, or why a tool could not be installed or run. Never fails the benchmark.

Run: .venv/bin/python benchmarks/trace.py [--lines N] [--repeat R] [--skipped N] [--no-peers] [--no-python]
"""
from __future__ import annotations

import argparse
import importlib
import json
import lzma
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import reclaimlab.trace as T
from reclaimlab.trace import _scan
from reclaimlab.trace.collect import Collector

ROOT = Path(__file__).resolve().parents[1]
_read = importlib.import_module("reclaimlab.trace.read")  # the module (T.read is the function)
SHIPPED = sorted((ROOT / "reclaimlab" / "data" / "traces").glob("*.trace.xz"))

HEAD = re.compile(r"\s*(.*)-(\d+)\s+(?:\([\s\d-]*\)\s+)?\[(\d+)\]\s+(?:\S+\s+)?(\d+(?:\.\d+)?)$")
START = re.compile(r"(\S+)(?: \[([^\]]+)\])? (\S+): nid: (-?\d+) objects to shrink (-?\d+) gfp_flags (\S*)"
                   r"(?: pgs_scanned (-?\d+) lru_pgs (-?\d+))? cache items (-?\d+) delta (-?\d+) "
                   r"total_scan (-?\d+)(?: priority (-?\d+))?\s*$")
END = re.compile(r"(\S+)(?: \[([^\]]+)\])? (\S+): nid: (-?\d+) unused scan count (-?\d+) "
                 r"new scan count (-?\d+) total_scan (-?\d+) last shrinker return val (-?\d+)\s*$")
RECLAIM = {"mm_vmscan_direct_reclaim_begin", "mm_vmscan_direct_reclaim_end", "mm_vmscan_kswapd_wake",
           "mm_vmscan_kswapd_sleep", "mm_vmscan_lru_shrink_inactive", "mm_vmscan_memcg_reclaim_begin",
           "mm_vmscan_memcg_reclaim_end"}
SKIPPED_LINE = ("          <idle>-0       [001] d..2. 1234.567890: sched_switch: prev_comm=swapper/1 prev_pid=0 "
                "prev_prio=120 ==> next_comm=rcu_sched next_pid=16\n")


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


def run_py(code: str, *args: str, python: str = sys.executable, timeout: float = 600) -> str:
    """stdout of ``python -c code args`` in a fresh process."""
    res = subprocess.run([python, "-c", code, *args], capture_output=True, text=True, timeout=timeout)
    if res.returncode:
        raise RuntimeError(res.stderr.strip().splitlines()[-1] if res.stderr.strip() else f"exit {res.returncode}")
    return res.stdout


# Peak memory: VmHWM of the process's own address space. (ru_maxrss of RUSAGE_SELF is kept
# across fork and exec on Linux, so a child started by a big parent reports the parent's size.)
PEAK = ("import re, resource, sys, time\n"
        "t0 = time.perf_counter()\n"
        "import reclaimlab.trace as T\n"
        "t1 = time.perf_counter()\n"
        "ds = T.read(sys.argv[1]) if len(sys.argv) > 1 else None\n"
        "t2 = time.perf_counter()\n"
        "try:\n"
        "    mb = int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)) / 1024\n"
        "except OSError:\n"
        "    mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(mb, t1 - t0, t2 - t1, ds.sizes['call'] if ds is not None else 0)\n")


def fresh(path: Path | None) -> tuple[float, float, float, int]:
    """(peak RSS MB, import s, read s, calls) of a fresh process reading ``path``."""
    mb, imp, rd, calls = run_py(PEAK, *([str(path)] if path else [])).split()
    return float(mb), float(imp), float(rd), int(calls)


def timed(cmd: list[str], repeat: int) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of a command."""
    ts, cpu = [], []
    for _ in range(repeat):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        # Into a pipe: GNU grep stops at the first match when its output is /dev/null.
        subprocess.run(cmd, check=False, stdout=subprocess.PIPE)
        ts.append(time.perf_counter() - t0)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
    return float(np.median(ts)), float(np.median(cpu))


def stages(path: Path, repeat: int) -> dict[str, tuple[float, float]]:
    """(wall s, CPU s) medians of each stage of rl.trace.read alone, in this thread."""
    data = path.read_bytes()
    buf = np.frombuffer(data, np.uint8)
    rows = _read.SCAN_ROWS

    def lexer():
        out, nxt = _scan.new_outputs(rows), 0
        while nxt < len(buf):
            nxt = _scan.scan_lines(buf, nxt, out)[1]

    def lexer_copy():
        out, nxt = _scan.new_event_outputs(rows), 0
        while nxt < len(buf):
            nxt = Collector.scan(buf, nxt, out).next_start

    build: list[tuple[float, float]] = []
    real = Collector.dataset

    def timed_dataset(self, *args):
        t0, c0 = time.perf_counter(), time.thread_time()
        ds = real(self, *args)
        build.append((time.perf_counter() - t0, time.thread_time() - c0))
        return ds

    out = {}
    for name, fn in (("lexer", lexer), ("lexer to columns", lexer_copy)):
        w, c = [], []
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.thread_time()
            fn()
            w.append(time.perf_counter() - t0)
            c.append(time.thread_time() - c0)
        out[name] = (float(np.median(w)), float(np.median(c)))
    Collector.dataset = timed_dataset
    try:
        for _ in range(repeat):
            T.read(path)
    finally:
        Collector.dataset = real
    out["Dataset build"] = (float(np.median([b[0] for b in build])), float(np.median([b[1] for b in build])))
    return out


# -- peers ---------------------------------------------------------------------------------

PEERS = {
    # name: (pip requirement, script run in its venv with argv = trace files; prints JSON)
    # (lisa-linux is given the trace-cmd report layout: see PEER_LAYOUT)
    "trappy": ("trappy", r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import trappy
trappy.FTrace.disable_cache = True  # time the parse, not trappy's cache of an earlier parse
trappy.register_dynamic_ftrace("ShrinkStart", "mm_shrink_slab_start")
trappy.register_dynamic_ftrace("ShrinkEnd", "mm_shrink_slab_end")
out = []
for path in sys.argv[1:]:
    t0 = time.perf_counter()
    tr = trappy.FTrace(path, events=["mm_shrink_slab_start", "mm_shrink_slab_end"], normalize_time=False)
    t = time.perf_counter() - t0
    out.append({"file": path, "seconds": t, "events": len(tr.shrink_start.data_frame) + len(tr.shrink_end.data_frame)})
print(json.dumps(out))
"""),
    "lisa-linux": ("lisa-linux nest_asyncio numpy<2 pyarrow<16 pandas<2.2", r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
from lisa.trace import Trace, TxtTraceParser
out = []
for path in sys.argv[1:]:
    t0 = time.perf_counter()
    trace = Trace(path, parser=TxtTraceParser.from_txt_file, events=["mm_shrink_slab_start", "mm_shrink_slab_end"])
    n = sum(len(trace.df_event(e)) for e in ("mm_shrink_slab_start", "mm_shrink_slab_end"))
    out.append({"file": path, "seconds": time.perf_counter() - t0, "events": n})
print(json.dumps(out))
"""),
}


#: Peers whose parser reads only ``trace-cmd report`` output, and what they are given instead of the raw
#: ftrace text: the same lines without the flags column (LISA's TxtTraceParser matches
#: ``] <timestamp>: <event>:``, so a raw ftrace line, with its flags between the CPU and the
#: timestamp, is not an event line to it: "No lines containing events have been found").
PEER_LAYOUT = {"lisa-linux": "trace-cmd report layout (flags column removed before timing)"}
_FLAGS = re.compile(r"^(.*?-\d+\s+(?:\([\s\d-]*\)\s+)?\[\d+\])\s+\S+\s+(\d+(?:\.\d+)?:)", re.M)


#: Why a peer finds no shrinker event in the shipped traces (checked by hand on both).
ZERO = {"trappy": "its line pattern admits a flags column of 4 characters, these kernels print 5; given "
                  "the report layout it raises TrappyParseError: the shrinker payloads are not key=value"}


def report_layout(path: Path) -> Path:
    """A copy of ``path`` in trace-cmd report's layout (no flags column), next to it."""
    out = path.with_name(path.stem + ".report.txt")
    out.write_text(_FLAGS.sub(r"\1 \2", path.read_text(errors="replace")))
    return out


#: Tried and left out, with the reason.
NOT_PEERS = {
    "ftrace 0.0.1": "installs, but only drives a live /sys/kernel/debug/tracing (needs root); no trace-file parser",
    "perfetto": "its TraceProcessor downloads a trace_processor_shell binary at run time (not from PyPI)",
    "trace-cmd python bindings": "not on PyPI (built with trace-cmd from source)",
}


def peer_python(peer_dir: Path, name: str, requirement: str) -> Path:
    """The python of a throwaway venv with ``requirement`` installed (made once, kept in peer_dir)."""
    venv = peer_dir / name
    py = venv / "bin" / "python"
    stamp = venv / ".installed"
    if stamp.exists():
        return py
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    res = subprocess.run([str(py), "-m", "pip", "install", "--quiet", *requirement.split()], capture_output=True,
                         text=True, timeout=900)
    if res.returncode:
        lines = [ln for ln in res.stderr.splitlines() if ln.strip() and not ln.startswith("WARNING")]
        raise RuntimeError("pip install failed: " + (lines[-1] if lines else f"exit {res.returncode}"))
    stamp.touch()
    return py


def peers(peer_dir: Path, texts: list[Path], ours: dict[str, tuple[float, int]]) -> None:
    print(f"\npeers on the shipped traces (decompressed; throwaway venvs in {peer_dir}):")
    print(f"  {'tool':<12} {'trace':<40} {'s':>7} {'shrink events':>14} {'events/s':>10}")
    for path in texts:
        t, n = ours[path.name]
        print(f"  {'reclaimlab':<12} {path.name:<40} {t:7.3f} {n:14d} {n / t:10.0f}")
    for name, (req, script) in PEERS.items():
        try:
            py = peer_python(peer_dir, name, req)
            version = run_py(f"import importlib.metadata as m; print(m.version({req.split()[0]!r}))",
                             python=str(py)).strip()
            files = [report_layout(t) for t in texts] if name in PEER_LAYOUT else texts
            if name in PEER_LAYOUT:
                print(f"  ({name} reads {PEER_LAYOUT[name]})")
            rows = json.loads(run_py(script, *map(str, files), python=str(py)).strip().splitlines()[-1])
        except Exception as exc:  # noqa: BLE001 - a peer that fails is reported, not fatal
            print(f"  {name:<12} not run: {type(exc).__name__}: {str(exc)[:160]}")
            continue
        for row in rows:
            n, t = row["events"], row["seconds"]
            note = "" if n else f"  (0: {ZERO.get(name, 'no shrinker event found')})"
            print(f"  {name + ' ' + version:<12} {Path(row['file']).name:<40} {t:7.3f} {n:14d} "
                  f"{n / t if t else 0:10.0f}{note}")
    for name, why in NOT_PEERS.items():
        print(f"  {name:<12} not run: {why}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skipped", type=int, default=5_000_000, help="lines of the skipped-lines memory test")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--no-python", action="store_true", help="skip the plain-Python baseline")
    ap.add_argument("--peer-dir", type=Path, default=Path(tempfile.gettempdir()) / "reclaimlab-bench-peers")
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

        # First read in a fresh process: nothing to compile.
        print("first rl.trace.read in a fresh process (median of 3; import, then read):")
        for shipped in SHIPPED:
            runs = [fresh(shipped) for _ in range(3)]
            imp, rd = (float(np.median([r[k] for r in runs])) for k in (1, 2))
            print(f"  {shipped.name:<45} import {imp:5.2f} s  read {rd:5.2f} s  total {imp + rd:5.2f} s "
                  f"({'meets' if imp + rd < 1 else 'misses'} the 1 s goal; {runs[0][3]} calls)")

        T.read(path)  # page cache warm
        ts, cpu = [], []
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            ds = T.read(path)
            ts.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        best = float(np.median(ts))
        fast = n_lines / best
        print(f"rl.trace.read:        {best:7.3f} s  {fast / 1e6:6.2f} M lines/s  (median of {args.repeat}; "
              f"CPU {np.median(cpu):.2f} s in all threads; {ds.sizes['call']} calls, {ds.sizes['event']} "
              f"reclaim events) - {'meets' if fast >= 5e6 else 'misses'} the 5 M lines/s goal")
        cpu_read = float(np.median(cpu))
        # Parallelism: the lexer runs in worker threads (the C code releases the GIL) while the
        # main thread collects; the Dataset must not depend on it.
        workers = _read.WORKERS
        _read.WORKERS = 0
        try:
            same = ds.identical(T.read(path))
        finally:
            _read.WORKERS = workers
        print(f"  threads:            the lexer in {workers} worker thread(s) beside the main thread, which "
              f"collects and builds the Dataset; same Dataset without threads: {same}")
        (t_grep, c_grep), (t_wc, c_wc) = (timed(["grep", "-c", "mm_shrink_slab_start", str(path)], args.repeat),
                                          timed(["wc", "-l", str(path)], args.repeat))
        print(f"  by CPU time:        {cpu_read:7.3f} s  {n_lines / cpu_read / 1e6:6.2f} M lines per CPU second")
        print(f"grep -c (the limit):  {t_grep:7.3f} s  {n_lines / t_grep / 1e6:6.2f} M lines/s  -> rl.trace.read "
              f"runs at {t_grep / best:.2f}x its rate ({best / t_grep:.1f}x its time); by CPU time "
              f"{c_grep:.3f} s -> {c_grep / cpu_read:.2f}x its rate")
        print(f"wc -l:                {t_wc:7.3f} s  {n_lines / t_wc / 1e6:6.2f} M lines/s  -> rl.trace.read "
              f"runs at {t_wc / best:.2f}x its rate; by CPU time {c_wc:.3f} s -> {c_wc / cpu_read:.2f}x its rate")
        print(f"where the time goes (each stage alone, one thread, median of {args.repeat}; wall / CPU):")
        for name, (w, c) in stages(path, args.repeat).items():
            rate = "" if name == "Dataset build" else (f"  {n_lines / w / 1e6:6.2f} / {n_lines / c / 1e6:6.2f} "
                                                       f"M lines/s; grep's CPU rate {c_grep / c:.2f}x")
            print(f"  {name:<18} {w:7.3f} / {c:7.3f} s{rate}")

        # Memory: fresh processes.
        nbytes = ds.nbytes
        del ds
        skipped = Path(tmp) / "skipped.trace"
        with open(skipped, "w") as f:
            f.write(T.synthetic_trace(10, seed=4).split("\n", 3)[3])  # a few shrinker events first
            block = SKIPPED_LINE * 10_000
            for _ in range(args.skipped // 10_000):
                f.write(block)
        rss_big, _, t_big, _ = fresh(path)
        rss_skip, _, t_skip, calls_skip = fresh(skipped)
        rss_import = fresh(None)[0]
        print(f"memory (peak RSS of a fresh process): import only {rss_import:.0f} MB; reading the "
              f"{size / 1e6:.0f} MB synthetic file {rss_big:.0f} MB (its Dataset holds {nbytes / 1e6:.0f} MB); "
              f"reading {args.skipped / 1e6:.1f} M skipped lines ({skipped.stat().st_size / 1e6:.0f} MB, "
              f"{calls_skip} calls kept, {t_skip:.2f} s) {rss_skip:.0f} MB (+{rss_skip - rss_import:.0f} MB over "
              f"the import) - {'meets' if rss_skip <= 300 else 'misses'} the 0.3 GB goal")
        skipped.unlink()

        if not args.no_python:
            t0, c0 = time.perf_counter(), time.process_time()
            ref = baseline(path)
            slow_t, slow_cpu = time.perf_counter() - t0, time.process_time() - c0
            slow = n_lines / slow_t
            print(f"Python line loop:     {slow_t:7.2f} s  {slow / 1e6:6.2f} M lines/s  (CPU {slow_cpu:.2f} s; "
                  f"{len(ref['nr'])} calls, {ref['events']} reclaim events) -> rl.trace.read is "
                  f"{fast / slow:.1f}x faster")

        if not args.no_peers:
            texts, ours = [], {}
            for shipped in SHIPPED:
                txt = Path(tmp) / shipped.name.removesuffix(".xz").replace(".trace", ".txt")
                txt.write_bytes(lzma.decompress(shipped.read_bytes()))
                T.read(txt)
                t = []
                for _ in range(3):
                    t0 = time.perf_counter()
                    d = T.read(txt)
                    t.append(time.perf_counter() - t0)
                ours[txt.name] = (float(np.median(t)), int(d.attrs["count_mm_shrink_slab_start"]
                                                           + d.attrs["count_mm_shrink_slab_end"]))
                texts.append(txt)
            os.makedirs(args.peer_dir, exist_ok=True)
            peers(args.peer_dir, texts, ours)


if __name__ == "__main__":
    main()
