"""How long ``import reclaimlab`` takes in a fresh interpreter (issue goal: under 0.5 s).

Baselines measured in the same run: ``import xarray`` (the facade's one big
eager dependency) and an empty interpreter. Prints seconds (median of
``--repeat`` fresh processes) and the ratios; the facade loads the trace reader,
Altair and dask only on first use, which the last line checks.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def fresh(code: str, repeat: int) -> float:
    """Median wall time of ``python -c code`` in fresh processes."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=7)
    args = p.parse_args()
    empty = fresh("pass", args.repeat)
    xarray = fresh("import xarray", args.repeat)
    facade = fresh("import reclaimlab", args.repeat)
    print(f"empty interpreter   {empty:6.3f} s")
    print(f"import xarray       {xarray:6.3f} s")
    print(f"import reclaimlab   {facade:6.3f} s  ({facade / xarray:4.2f}x import xarray; "
          f"{facade - empty:5.3f} s above an empty interpreter; goal < 0.5 s)")
    lazy = subprocess.run(
        [sys.executable, "-c", "import sys, reclaimlab; print(sorted(m for m in ('altair', 'dask', "
         "'reclaimlab.trace', 'reclaimlab.viz.charts') if m in sys.modules))"],
        check=True, capture_output=True, text=True).stdout.strip()
    print(f"loaded by the import (want []): {lazy}")


if __name__ == "__main__":
    main()
