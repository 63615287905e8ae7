"""ns per evaluated point of rl.formulas.scan, against the tight C loop of the same arithmetic.

Baseline: the loop of reclaimlab._native (reclaimlab/native/scan.c) called
directly on inputs already flattened and outputs already allocated (and so
already in memory): the arithmetic alone. rl.formulas.scan is timed as a user
calls it, input checks and output allocation included. Both run in the same
process on the same inputs (~4 million points, seeks 2, batch 1024, random
freeable, priority and nr_deferred), interleaved; medians of --repeat runs.
Prints the ratio (goal: <= 1.25x). A second, independent reference: the same
arithmetic written as a plain C loop, compiled here with gcc -O3 -march=native
and called through ctypes (when gcc is there).

Run: .venv/bin/python benchmarks/formulas.py [--points N] [--repeat R]
"""
from __future__ import annotations

import argparse
import ctypes
import shutil
import subprocess
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


def median_times(fns, repeat: int) -> list[float]:
    """Median wall time of each function, runs interleaved so load hits all alike."""
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, ts in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
    return [float(np.median(ts)) for ts in times]


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
        print(f"{n} points, seeks 2, batch 1024; median of {args.repeat} interleaved runs")
        print(f"{'formula':<8} {'loop ns/pt':>10} {'rl ns/pt':>9} {'rl/loop':>8} {'gcc-native ns/pt':>17}")
        worst = 0.0
        for name, rule in RULES.items():
            outs = [np.empty(n, np.uint64)] + [np.empty(n, np.int64) for _ in range(3)]
            run_loop = tight_loop(name, F, p, nr, outs)
            couts = [np.empty(n, np.uint64)] + [np.empty(n, np.int64) for _ in range(3)]

            def run_c():
                cscan(rule, n, F.ctypes.data, p.ctypes.data, nr.ctypes.data, 2, 1024,
                      *(o.ctypes.data for o in couts))

            def run_rl():
                return rl.formulas.scan(name, F, p, seeks=2, batch=1024, nr_deferred=nr)

            run_loop()
            res = run_rl()
            checks = [outs] + ([couts] if cscan else [])
            if cscan:
                run_c()
            for want_set in checks:
                for got, want in zip((res.delta, res.total_scan, res.scanned, res.next_deferred), want_set):
                    if not np.array_equal(got, want):
                        raise SystemExit(f"{name}: the loops and rl.formulas.scan disagree")
            fns = [run_loop, run_rl] + ([run_c] if cscan else [])
            times = [t / n * 1e9 for t in median_times(fns, args.repeat)]
            tl, tr = times[0], times[1]
            worst = max(worst, tr / tl)
            gcc_txt = f"{times[2]:17.2f}" if cscan else f"{'(no gcc)':>17}"
            print(f"{name:<8} {tl:10.2f} {tr:9.2f} {tr / tl:7.2f}x {gcc_txt}")
        print(f"worst ratio rl.formulas.scan / tight loop: {worst:.2f}x (goal <= 1.25x: "
              f"{'met' if worst <= 1.25 else 'missed'})")


if __name__ == "__main__":
    main()
