"""ns per evaluated point of rl.formulas.scan, against the tight C loop of the same arithmetic.

What each side does (both in the same process, on the same inputs: ~4 million
points, seeks 2, batch 1024, random freeable, priority and nr_deferred; runs
interleaved, medians of --repeat runs):

* **tight loop** (the baseline of the goal): the loop of reclaimlab._native
  (reclaimlab/native/scan.c) called directly on inputs already flat int64 and
  on four output arrays allocated *once, before timing*, and reused by every
  run. Their pages were faulted in and zeroed by the kernel on the first run,
  so a timed run only writes into memory the process already has: the
  arithmetic alone, no allocation.
* **rl.formulas.scan**: as a user calls it, input checks and output
  allocation included. It allocates four new n-element outputs per call
  (128 MB at 4 M points). Outputs of 1 MiB and more come from the
  extension's pool of freed output blocks (reclaimlab/native/outbuf.c): when
  the previous result has been dropped, a call reuses its pages, already
  mapped. Without the pool, glibc hands such sizes back to the kernel, and
  every call pays a page fault and the kernel's zeroing per page.
* **first call**: one rl.formulas.scan call in a fresh process (pool empty),
  thread CPU: what a single call costs when all its output pages are new.
* **loop, fresh outputs**: the tight loop plus exactly that allocation
  (``np.empty`` of the four outputs inside the timed region): the cost of new
  memory without any of rl's Python. rl / this ratio is rl's own overhead.
* **gcc-native**: an independent reference, the same arithmetic as a plain C
  loop compiled here with gcc -O3 -march=native, called through ctypes on
  reused outputs (when gcc is there).

Times are printed as wall clock and as CPU time of the calling thread (the
loops run on it with the GIL released; CPU time includes the kernel's page
faults but not the time the thread waited for a core, so it is the steadier
measure on a loaded machine). Also printed: minor page faults per
rl.formulas.scan call. The goal (<= 1.25x the tight loop) is judged on both.

Run: .venv/bin/python benchmarks/formulas.py [--points N] [--repeat R]
"""
from __future__ import annotations

import argparse
import ctypes
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import reclaimlab as rl
from reclaimlab import _native
from reclaimlab.kernel import formulas as kformulas

C_SOURCE = r"""
#include <stdint.h>
typedef unsigned long long u64;
/* One do_shrink_slab() call per point, the kernel's integer semantics.
   rule: 0 = v4.19 (floor, pre-5.13), 1 = v5.0 (zero-seek, pre-5.13), 2 = v5.13. */
void scan(int rule, long n, const long *F_, const long *p_, const long *nr_, long S, long B,
          u64 *delta_out, long *total_out, long *scanned_out, long *next_out)
{
    for (long i = 0; i < n; i++) {
        long F = F_[i], p = p_[i], nr = nr_[i], total, next, scanned;
        u64 delta;
        if (F == 0) { delta_out[i] = 0; total_out[i] = 0; scanned_out[i] = 0; next_out[i] = nr; continue; }
        if (S) { delta = (u64)(F >> p) * 4; delta /= (uint32_t)S; } else delta = F / 2;
        if (rule == 0) { long m = F < B ? F : B; if ((u64)m > delta) delta = m; }
        if (rule == 2) {
            total = (nr >> p) + (long)delta;
            if (total > 2 * F) total = 2 * F;
        } else {
            total = nr + (long)delta;
            if (total < 0) { total = F; next = nr; } else next = total;
            if (delta < (u64)(F / 4) && total > F / 2) total = F / 2;
            if (total > F * 2) total = F * 2;
        }
        if (total < 0) scanned = 0;
        else { long full = total / B * B, rest = total - full; scanned = rest >= F ? total : full; }
        if (rule == 2) {
            next = (long)((u64)nr + delta - (u64)scanned);
            if (next < 0) next = 0;
            if (next > 2 * F) next = 2 * F;
        } else next = next >= scanned ? next - scanned : 0;
        delta_out[i] = delta; total_out[i] = total; scanned_out[i] = scanned; next_out[i] = next;
    }
}
"""

RULES = {"v4.19": 0, "v5.0": 1, "v5.13": 2}


def build_c(workdir: Path):
    """Compile the independent C reference; return the ctypes function (None without gcc)."""
    gcc = shutil.which("gcc")
    if gcc is None:
        return None
    src, lib = workdir / "scan.c", workdir / "libscan.so"
    src.write_text(C_SOURCE)
    subprocess.run([gcc, "-O3", "-march=native", "-shared", "-fPIC", "-fno-strict-overflow",
                    str(src), "-o", str(lib)], check=True)
    fn = ctypes.CDLL(str(lib)).scan
    ptr = ctypes.c_void_p
    fn.argtypes = [ctypes.c_int, ctypes.c_long, ptr, ptr, ptr, ctypes.c_long, ctypes.c_long, ptr, ptr, ptr, ptr]
    fn.restype = None
    return fn


def median_times(fns, repeat: int) -> tuple[list[float], list[float]]:
    """Median wall time and median thread CPU time of each function, runs interleaved
    so that load hits all alike."""
    wall = [[] for _ in fns]
    cpu = [[] for _ in fns]
    for _ in range(repeat):
        for fn, w, c in zip(fns, wall, cpu):
            t0, c0 = time.perf_counter(), time.thread_time()
            fn()
            c.append(time.thread_time() - c0)
            w.append(time.perf_counter() - t0)
    return [float(np.median(t)) for t in wall], [float(np.median(t)) for t in cpu]


def minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def tight_loop(name: str, F, p, nr, outs):
    """The extension's loop on ready inputs and outputs: the arithmetic alone."""
    spec = kformulas.spec(name)
    rules = (spec.delta_rule, spec.zero_seek, spec.deferral, int(spec.floor), int(spec.accumulator))
    one = lambda v: np.array([v], np.int64)  # noqa: E731
    ins = [F, p, one(2), one(1024), nr, one(0), one(0), one(0), one(0), one(0)]
    extra = [np.empty(1, np.int64), np.empty(1, np.int64)]

    def run():
        code, _ = _native.scan(rules, 1, ins, (*outs, *extra))
        assert code == 0
    return run


COLD_CALL = """
import resource, sys, time
import numpy as np
import reclaimlab as rl
name, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
F, p, nr = rng.integers(0, 10**8, n), rng.integers(0, 13, n), rng.integers(0, 10**7, n)
t0 = time.thread_time()
rl.formulas.scan(name, F, p, seeks=2, batch=1024, nr_deferred=nr)
print(time.thread_time() - t0)
"""


def first_call_cpu(name: str, n: int) -> float:
    """Thread CPU seconds of one rl.formulas.scan call in a fresh process (median of 3)."""
    times = [float(subprocess.run([sys.executable, "-c", COLD_CALL, name, str(n)], check=True,
                                  capture_output=True, text=True).stdout) for _ in range(3)]
    return float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=4_000_000)
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    n = args.points
    F = rng.integers(0, 10**8, n)
    p = rng.integers(0, 13, n)
    nr = rng.integers(0, 10**7, n)
    with tempfile.TemporaryDirectory() as tmp:
        cscan = build_c(Path(tmp))
        print(f"{n} points, seeks 2, batch 1024; median of {args.repeat} interleaved runs; ns per point,"
              f" wall clock / thread CPU")
        print(f"{'formula':<8} {'tight loop':>13} {'rl.scan':>13} {'rl/loop':>13} {'loop, fresh out':>15} "
              f"{'rl/fresh':>11} {'gcc-native':>13} {'rl faults/call':>15} {'first call':>11}")
        worst_wall = worst_cpu = worst_first = 0.0
        for name, rule in RULES.items():
            outs = [np.empty(n, np.uint64)] + [np.empty(n, np.int64) for _ in range(3)]
            run_loop = tight_loop(name, F, p, nr, outs)
            couts = [np.empty(n, np.uint64)] + [np.empty(n, np.int64) for _ in range(3)]

            def run_c():
                cscan(rule, n, F.ctypes.data, p.ctypes.data, nr.ctypes.data, 2, 1024,
                      *(o.ctypes.data for o in couts))

            faults: list[int] = []

            def run_rl():
                f0 = minor_faults()
                res = rl.formulas.scan(name, F, p, seeks=2, batch=1024, nr_deferred=nr)
                faults.append(minor_faults() - f0)
                return res

            def run_fresh():
                fresh = [np.empty(n, np.uint64)] + [np.empty(n, np.int64) for _ in range(3)]
                tight_loop(name, F, p, nr, fresh)()
                return fresh

            run_loop()
            res = run_rl()
            checks = [outs, run_fresh()] + ([couts] if cscan else [])
            if cscan:
                run_c()
            for want_set in checks:
                for got, want in zip((res.delta, res.total_scan, res.scanned, res.next_deferred), want_set):
                    if not np.array_equal(got, want):
                        raise SystemExit(f"{name}: the loops and rl.formulas.scan disagree")
            del res, checks
            faults.clear()
            fns = [run_loop, run_rl, run_fresh] + ([run_c] if cscan else [])
            wall, cpu = median_times(fns, args.repeat)
            w = [t / n * 1e9 for t in wall]
            c = [t / n * 1e9 for t in cpu]
            worst_wall = max(worst_wall, w[1] / w[0])
            worst_cpu = max(worst_cpu, c[1] / c[0])
            gcc_txt = f"{w[3]:6.2f}/{c[3]:<6.2f}" if cscan else "(no gcc)"
            first = first_call_cpu(name, n) / n * 1e9
            worst_first = max(worst_first, first / c[0])
            print(f"{name:<8} {w[0]:6.2f}/{c[0]:<6.2f} {w[1]:6.2f}/{c[1]:<6.2f} {w[1] / w[0]:5.2f}x/{c[1] / c[0]:.2f}x "
                  f"{w[2]:7.2f}/{c[2]:<7.2f} {w[1] / w[2]:4.2f}/{c[1] / c[2]:.2f} {gcc_txt:>13} "
                  f"{int(np.median(faults)):15d} {first:7.2f} CPU")
        verdict = "met" if max(worst_wall, worst_cpu) <= 1.25 else "missed"
        print(f"worst ratio rl.formulas.scan / tight loop: {worst_wall:.2f}x wall clock, {worst_cpu:.2f}x thread CPU "
              f"(goal <= 1.25x: {verdict})")
        print(f"a first call in a fresh process (its outputs on new pages) costs up to {worst_first:.2f}x the "
              f"tight loop by thread CPU: page faults and the kernel's zeroing; later calls reuse the pool's pages")

if __name__ == "__main__":
    main()
