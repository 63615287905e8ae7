"""What the bug-grid scripts share: their command line, and running, timing and writing a grid.

``scripts/grid-202441.py`` and ``scripts/desktop-202349.py`` import it (a
script's own directory is first on ``sys.path``).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable

import xarray as xr

import reclaimlab as rl
from reclaimlab.grid import grid
from reclaimlab.viz.save import write_text


def parser(doc: str) -> argparse.ArgumentParser:
    """``--out``, ``--table`` and ``--workers``, described by the first paragraph of ``doc``."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="the grid Dataset (.nc or .zarr)")
    ap.add_argument("--table", type=Path, required=True, help="the markdown table (.md)")
    ap.add_argument("--workers", type=int, default=0, help="dask LocalCluster processes (0: run here)")
    return ap


def command(script: str, argv: list[str] | None) -> str:
    """The command line that remakes the run, for the Dataset's attrs and the table."""
    return " ".join(["python", f"scripts/{script}", *(sys.argv[1:] if argv is None else argv)])


def run(scenario: str, kw: dict, args: argparse.Namespace, command: str,
        table: Callable[[xr.Dataset, str, float], str]) -> int:
    """``rl.grid(scenario, **kw)`` here or on ``args.workers`` dask processes (same Dataset).

    Saves the Dataset to ``args.out`` (atomic), with its runtime and command in
    attrs, writes ``table(ds, command, seconds)`` to ``args.table`` (atomic) and
    prints it.
    """
    started = time.monotonic()
    if args.workers:
        from dask.distributed import Client, LocalCluster

        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            ds = grid(scenario, client=client, **kw)
    else:
        ds = grid(scenario, **kw)
    seconds = time.monotonic() - started
    ds.attrs.update(runtime_s=round(seconds, 1), command=command)
    rl.save(ds, args.out)
    text = table(ds, command, seconds)
    write_text(args.table, text)
    sys.stdout.write(text)
    return 0
