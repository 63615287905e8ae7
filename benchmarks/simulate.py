"""Simulator speed: the default compile-and-copy, how cost grows, and the reduced presets.

Prints (1) the wall time of the default compile-and-copy run (goal: < 10 s on a
2-core machine; median of --repeat runs) with its size (nodes, objects held,
steps), and the same run under the code before the speed work of issue 19
(``--baseline``, a git revision; its ``reclaimlab`` package is extracted to a
temporary directory) timed in fresh processes taking turns with today's code,
CPU and wall medians and their ratio, so a loaded machine slows both alike;
(2) for steps, objects and memcgs, the time at 1x, 2x and 4x of a base
run in the same process, as ratios, and the fitted exponent of
time ~ size**b; (3) each scenario's reduced preset (goal: < 1 s).

Run: .venv/bin/python benchmarks/simulate.py [--repeat 3] [--baseline REV | --baseline none]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile
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


#: The merged state of issue 17's mechanisms, before the simulator speed-ups of issue 19.
BASELINE_REV = "2325fe1"

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Run in a fresh interpreter with the package at sys.path[0]: one default run, warm
# (a reduced run first loads every module), then the CPU and wall seconds of the run.
CHILD = """
import sys, time, json
sys.path.insert(0, sys.argv[1])
import reclaimlab as rl
rl.simulate("compile-and-copy", kernel="4.19.3", reduced=True)
c0, w0 = time.process_time(), time.perf_counter()
rl.simulate("compile-and-copy", kernel="4.19.3")
print(json.dumps({"cpu": time.process_time() - c0, "wall": time.perf_counter() - w0,
                  "file": rl.__file__}))
"""


def extract_baseline(rev: str, into: pathlib.Path) -> pathlib.Path | None:
    """The package at git revision ``rev`` in ``into`` with today's compiled extension, or None."""
    try:
        tar = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "reclaimlab"],
                             check=True, capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"  baseline {rev!r} unavailable (not a git checkout or no such revision): {e}")
        return None
    subprocess.run(["tar", "-x", "-C", str(into)], input=tar, check=True)
    # The extension is built, not tracked; the speed work did not change its C code.
    for so in (ROOT / "reclaimlab").glob("_native*.so"):
        shutil.copy(so, into / "reclaimlab")
    return into


def child_run(path: pathlib.Path) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def against_baseline(rev: str, repeat: int) -> None:
    """Today's default run against revision ``rev``'s, alternating fresh processes."""
    with tempfile.TemporaryDirectory() as tmp:
        base = extract_baseline(rev, pathlib.Path(tmp))
        if base is None:
            return
        runs = {"today": [], rev: []}
        for _ in range(repeat):
            for label, path in (("today", ROOT), (rev, base)):
                r = child_run(path)
                assert pathlib.Path(r["file"]).resolve().is_relative_to(pathlib.Path(path).resolve()), r
                runs[label].append(r)
    med = {k: {m: float(np.median([r[m] for r in v])) for m in ("cpu", "wall")} for k, v in runs.items()}
    for k in runs:
        cpus = ", ".join(f"{r['cpu']:.2f}" for r in runs[k])
        print(f"  {k:<8} CPU {med[k]['cpu']:6.2f} s  wall {med[k]['wall']:6.2f} s  "
              f"(medians of {repeat}; CPU each: {cpus})")
    print(f"  speed-up over {rev}: {med[rev]['cpu'] / med['today']['cpu']:.2f}x CPU, "
          f"{med[rev]['wall'] / med['today']['wall']:.2f}x wall (goal 2x)")


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
    ap.add_argument("--baseline", default=BASELINE_REV,
                    help="git revision to time the default run against ('none' to skip)")
    args = ap.parse_args()
    sc = rl.scenarios.get("compile-and-copy")
    p = sc.params
    t, ds = timed(lambda: rl.simulate("compile-and-copy", "v4.19"), args.repeat)
    objects = int(ds.slab.sum(("node", "cache")).max())
    steps = int(round(p.duration_s / p.dt_s))
    print(f"compile-and-copy default: {p.nodes} nodes, up to {objects} objects, {steps} steps: "
          f"{t:.2f} s (median of {args.repeat}; goal < 10 s)")
    if args.baseline != "none":
        print(f"the default run (kernel 4.19.3) today and at {args.baseline}, fresh processes taking turns:")
        against_baseline(args.baseline, args.repeat)

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
