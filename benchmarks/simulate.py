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

``--identical REV`` instead checks that the speed work changed no result:
a fixed set of configurations (every scenario's reduced preset under
several kernels, seeds, nodes 1/2 and cgroups 0/30, other formulas and
rules; with ``--identical-set full`` also full presets and cells of the
202441 grid) is run under revision REV and under today's code, each in a
fresh process, and every pair of Datasets must be identical
(``xarray.testing.assert_identical``, attrs and dtypes included).

Run: .venv/bin/python benchmarks/simulate.py [--repeat 3] [--baseline REV | --baseline none]
     .venv/bin/python benchmarks/simulate.py --identical 69e23c1 [--identical-set full]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import pickle
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
    # The extension is built, not tracked; the speed work only added to its C code (the
    # simulator's draws, draws.c), which the baseline's Python does not call.
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


# ---------------------------------------------------------------- identical results

# Run configurations (a JSON list of [scenario, keywords, grid cell or null]) in a fresh
# interpreter with the package at sys.path[0]; pickle the Datasets to the output path.
# A grid cell [nodes, machine GiB, cgroups, copy MB/s] becomes the overrides of
# scripts/grid-202441.py (1 GiB of anonymous memory per machine), as rl.grid makes them.
IDENTICAL_CHILD = """
import sys, json, pickle, dataclasses
sys.path.insert(0, sys.argv[1])
import reclaimlab as rl
GIB_PAGES, MB_PAGES = 262144, 256
out = []
for scenario, kw, cell in json.loads(sys.argv[2]):
    if cell:
        nodes, gib, cgroups, mb = cell
        base = rl.scenarios.get(scenario).params
        kw = dict(kw, nodes=nodes, cgroups=cgroups, node_pages=gib * GIB_PAGES // nodes,
                  anon_pages=GIB_PAGES // nodes,
                  filesets=tuple(dataclasses.replace(f, creates_per_s=mb * MB_PAGES / f.pages_per_file)
                                 if f.name == "copy" else f for f in base.filesets))
    out.append(rl.simulate(scenario, **kw))
with open(sys.argv[3], "wb") as f:
    pickle.dump((rl.__file__, out), f)
"""


def identical_configs(which: str) -> list[tuple[str, dict, list | None]]:
    """The configurations of ``--identical``: (scenario, simulate keywords, grid cell or None)."""
    out = []
    kernels = ["4.18", "4.19", "4.19.3", "5.0", "5.10", "6.1"]
    for sc in rl.scenarios.names():
        out += [(sc, {"kernel": k, "reduced": True}, None) for k in kernels]
        out.append((sc, {"kernel": "4.19.3", "reduced": True, "seed": 1}, None))
        for nodes in (1, 2):
            for cgroups in (0, 30):
                if rl.scenarios.get(sc).params.services is not None and cgroups:
                    continue           # the services' memcg slots and systemd cgroups do not mix
                out.append((sc, {"kernel": "4.19.3", "reduced": True, "nodes": nodes, "cgroups": cgroups,
                                 "seed": 2}, None))
                out.append((sc, {"kernel": "5.10", "reduced": True, "nodes": nodes, "cgroups": cgroups,
                                 "seed": 3}, None))
    for f in ("v4.15", "rik-2019", "dave-2019", "v5.13+floor", "rik-6.1", "v4.20"):
        out.append(("compile-and-copy", {"formula": f, "reduced": True}, None))
    out.append(("small-vs-large", {"formula": "v4.19", "inode_rule": "v5.16", "reduced": True}, None))
    out.append(("small-vs-large", {"formula": "v4.19", "inode_rule": "a76cf1a474d7", "xfs_reclaim": "async",
                                   "reduced": True}, None))
    for remedy in ("none", "reparent", "collector"):
        out.append(("dying-memcgs", {"formula": "v4.19", "memcg_remedy": remedy, "reduced": True}, None))
        out.append(("dying-memcgs", {"formula": "v5.13", "memcg_remedy": remedy, "reduced": True, "nodes": 2},
                    None))
    for order, nodes in ((4, 1), (2, 2)):
        out.append(("desktop-copy", {"kernel": "4.19.3", "reduced": True, "interactive_order": order,
                                     "nodes": nodes}, None))
    if which == "full":
        out += [("compile-and-copy", {"kernel": k}, None) for k in ("4.18", "4.19", "4.19.3", "5.0", "5.10")]
        out += [("compile-and-copy", {"kernel": "4.19.3", "seed": 1}, None),
                ("desktop-copy", {"kernel": "4.19.3"}, None), ("desktop-copy", {"kernel": "4.18"}, None),
                ("dying-memcgs", {"kernel": "4.19"}, None), ("recursive-grep", {"kernel": "4.19.3"}, None),
                ("small-vs-large", {"kernel": "4.19.3"}, None)]
        for cell, k in (((2, 16, 30, 40), "4.19.3"), ((1, 4, 30, 40), "4.19.3"), ((1, 4, 30, 40), "4.18"),
                        ((1, 4, 0, 10), "4.18"), ((2, 4, 30, 40), "5.10"), ((1, 16, 0, 40), "5.0"),
                        ((2, 16, 0, 10), "4.19")):
            out.append(("compile-and-copy", {"kernel": k}, list(cell)))
    return out


def check_identical(rev: str, which: str) -> bool:
    """Run :func:`identical_configs` under ``rev`` and today's code; report any Dataset that differs."""
    import xarray as xr

    configs = identical_configs(which)
    with tempfile.TemporaryDirectory() as tmp:
        (pathlib.Path(tmp) / "base").mkdir()
        base = extract_baseline(rev, pathlib.Path(tmp) / "base")
        if base is None:
            return False
        results = {}
        for label, path in (("today", ROOT), (rev, base)):
            out = pathlib.Path(tmp) / f"{label}.pkl"
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", IDENTICAL_CHILD, str(path), json.dumps(configs), str(out)],
                           check=True)
            with open(out, "rb") as f:
                where, results[label] = pickle.load(f)
            assert pathlib.Path(where).resolve().is_relative_to(pathlib.Path(path).resolve()), where
            print(f"  {label}: {len(configs)} runs ({time.perf_counter() - t0:.0f} s wall)")
    bad = 0
    for (sc, kw, cell), a, b in zip(configs, results["today"], results[rev]):
        try:
            xr.testing.assert_identical(a, b)
            assert a.attrs == b.attrs, "attrs differ"
            for v in a.variables:
                assert a[v].dtype == b[v].dtype, f"{v}: dtype {a[v].dtype} != {b[v].dtype}"
        except AssertionError as e:
            bad += 1
            print(f"  DIFFERENT: {sc} {kw} cell={cell}: {str(e)[:1000]}")
    print(f"  {len(configs) - bad} of {len(configs)} Datasets identical to {rev}'s")
    return bad == 0


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
    ap.add_argument("--identical", metavar="REV",
                    help="only check that today's results are identical to those of git revision REV")
    ap.add_argument("--identical-set", choices=("quick", "full"), default="quick",
                    help="quick: reduced presets (about 90 runs); full: also full presets and grid cells")
    args = ap.parse_args()
    if args.identical:
        print(f"results today and at {args.identical} ({args.identical_set} set), fresh processes:")
        sys.exit(0 if check_identical(args.identical, args.identical_set) else 1)
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
        # A slot for every generation the run can start (duration / lifetime, plus the
        # live ones): under v5.0 nothing is sure to free a dying memcg's slot in time.
        generations = int(rl.scenarios.get("dying-memcgs").reduced.duration_s / 10.0) + 2
        rl.simulate("dying-memcgs", "v5.0", reduced=True,
                    services=Services(count=4 * f, lifetime_s=10.0, max_memcgs=4 * f * generations))
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
