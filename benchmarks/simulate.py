"""Simulator speed: the default compile-and-copy, how cost grows, and the reduced presets.

Prints (1) the wall time of the default compile-and-copy run (goal: < 10 s on a
2-core machine; median of --repeat runs) with its size (nodes, objects held,
steps); (2) for steps, objects and memcgs, the time at 1x, 2x and 4x of a base
run in the same process, as ratios, and the fitted exponent of
time ~ size**b; (3) each scenario's reduced preset (goal: < 1 s).

Run: .venv/bin/python benchmarks/simulate.py [--repeat 3]
"""
from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

import reclaimlab as rl
from reclaimlab.sim.params import Services


def timed(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def scaling(label, make, repeat):
    base = None
    sizes, times = [], []
    for factor in (1, 2, 4):
        t, size = timed(lambda: make(factor), repeat)
        base = base or t
        sizes.append(size)
        times.append(t)
        print(f"  {label:<8} x{factor}: {t:6.2f} s  ratio {t / base:5.2f}")
    b = np.polyfit(np.log([1, 2, 4]), np.log(times), 1)[0]
    print(f"  {label:<8} cost ~ size^{b:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    sc = rl.scenarios.get("compile-and-copy")
    p = sc.params
    t, ds = timed(lambda: rl.simulate("compile-and-copy", "v4.19"), args.repeat)
    objects = int(ds.slab.sum(("node", "cache")).max())
    steps = int(round(p.duration_s / p.dt_s))
    print(f"compile-and-copy default: {p.nodes} nodes, up to {objects} objects, {steps} steps: "
          f"{t:.2f} s (median of {args.repeat}; goal < 10 s)")

    print("how cost grows (reduced presets scaled up; base = x1 in this run):")
    red = sc.reduced

    def by_steps(f):
        rl.simulate("compile-and-copy", "v4.19", reduced=True, duration_s=red.duration_s * 4 * f)
        return f

    def by_objects(f):
        fs = tuple(dataclasses.replace(x, working_set=x.working_set * f) if x.working_set else x
                   for x in red.filesets)
        rl.simulate("compile-and-copy", "v4.19", reduced=True, filesets=fs,
                    node_pages=red.node_pages * f, anon_pages=red.anon_pages * f)
        return f

    def by_memcgs(f):
        rl.simulate("dying-memcgs", "v5.0", reduced=True,
                    services=Services(count=4 * f, lifetime_s=10.0, max_memcgs=40 * f))
        return f

    scaling("steps", by_steps, args.repeat)
    scaling("objects", by_objects, args.repeat)
    scaling("memcgs", by_memcgs, args.repeat)
    print("reduced presets (goal < 1 s each):")
    for name in rl.scenarios.names():
        t, _ = timed(lambda: rl.simulate(name, "v4.19", reduced=True), args.repeat)
        print(f"  {name:<18} {t:5.2f} s")


if __name__ == "__main__":
    main()
