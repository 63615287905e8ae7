"""The real side of the kernel A/B comparison: what the captured kernels did.

Reads the captures that ``scripts/kernel-ab/run.sh`` writes (by default the
ones shipped in ``reclaimlab/data/kernel-ab``): the ftrace trace of each
kernel (``*.trace.xz``: ``mm_shrink_slab_start/end`` per call of
``do_shrink_slab()`` in mm/vmscan.c, the reclaim events and the workload's
``ab: ...`` step marks) and its per-second ``/proc/vmstat`` + ``/proc/slabinfo``
frames (``*.samples.xz``).

Shrinker instances ("caches") are matched across kernels by scan function and
rank of the largest count seen at their calls: ``sb#1`` is the
``super_cache_scan`` instance with the biggest cache (the big ext4), ``sb#2``
the next (the small ext4), and so on. Pointers change from boot to boot, and
seeks cannot be read off a floor kernel's trace (the floor makes delta = F for
every cache under a batch, whatever its seeks), so neither can key them.
"""
from __future__ import annotations

import lzma
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from .. import trace
from ..data import KERNEL_AB

__all__ = ["Capture", "load", "find", "read_samples", "read_marks", "cache_roles", "window_stats",
           "global_window", "SHORT"]

#: Short names of scan functions for cache roles (``sb#1``, ``jbd2#1``, ...).
SHORT = {"super_cache_scan": "sb", "ext4_es_scan": "ext4_es", "kfree_rcu_shrink_scan": "kfree_rcu",
         "jbd2_journal_shrink_scan": "jbd2", "scan_shadow_nodes": "shadow", "zs_shrinker_scan": "zs"}

#: The /proc/vmstat counters kept per sample.
VMSTAT_KEYS = ("nr_free_pages", "nr_file_pages", "nr_shmem", "nr_slab_reclaimable", "pgscan_kswapd",
               "pgscan_direct", "pgsteal_kswapd", "pgsteal_direct", "slabs_scanned", "pgpgin")

#: The /proc/slabinfo caches kept per sample (active objects): the big superblock's
#: dentries and inodes (all filesystems' dentries share the one ``dentry`` cache).
SLABINFO_KEYS = ("dentry", "ext4_inode_cache")

_MARK = re.compile(r"^\s*\S.*?\s(\d+\.\d+): tracing_mark_write: ab: (.*)$")


@dataclass
class Capture:
    """One kernel's capture: its trace Dataset, samples, step marks and the files read.

    Attributes
    ----------
    variant : str
        ``stock``, ``floor``, ``rik`` or a user patch's name.
    formula : str
        The registered formula its calls replay under (``v5.13`` for an unknown variant).
    calls : xarray.Dataset
        ``reclaimlab.trace.read`` of the trace.
    samples : dict
        ``uptime`` (s) and the :data:`VMSTAT_KEYS` / :data:`SLABINFO_KEYS` per sample.
    marks : list of (float, str)
        The workload's ``ab: ...`` step marks: (trace time in s, text).
    mem_total_kib : int
        The guest's MemTotal (``# guest: MemTotal:`` header line).
    files : tuple of Path
        The trace and samples files.
    """

    variant: str
    formula: str
    calls: xr.Dataset
    samples: dict[str, np.ndarray]
    marks: list[tuple[float, str]]
    mem_total_kib: int
    files: tuple[Path, Path]


def find(directory: str | Path, variant: str, kind: str) -> Path:
    """The one ``kernel-ab-6.1.*-<variant>-*cpu.<kind>.xz`` file in ``directory``.

    Raises
    ------
    FileNotFoundError
        When there is not exactly one, naming what was found.
    """
    d = Path(directory)
    found = sorted(d.glob(f"kernel-ab-6.1.*-{variant}-*cpu.{kind}.xz"))
    if len(found) != 1:
        raise FileNotFoundError(f"want one {variant} .{kind}.xz in {d}, found {[p.name for p in found]}")
    return found[0]


def read_samples(path: str | Path) -> dict[str, np.ndarray]:
    """``uptime`` and the :data:`VMSTAT_KEYS` / :data:`SLABINFO_KEYS` of each ``@@ sample`` frame.

    A counter missing from a frame is -1.
    """
    rows, cur, section = [], None, None
    for line in lzma.decompress(Path(path).read_bytes()).decode().splitlines():
        if line.startswith("@@ sample "):
            cur = {"uptime": float(line.split()[3])}
        elif line.startswith("@@ end ") and cur is not None:
            rows.append(cur)
            cur = None
        elif line.startswith("@@ "):
            section = line[3:]
        elif cur is not None and section == "vmstat":
            k, _, v = line.partition(" ")
            if k in VMSTAT_KEYS:
                cur[k] = int(v)
        elif cur is not None and section == "slabinfo":
            f = line.split()
            if f and f[0] in SLABINFO_KEYS:
                cur[f[0]] = int(f[1])
    keys = ("uptime",) + VMSTAT_KEYS + SLABINFO_KEYS
    return {k: np.array([r.get(k, -1) for r in rows]) for k in keys}


def read_marks(path: str | Path) -> tuple[list[tuple[float, str]], int]:
    """The ``ab: ...`` step marks of a trace and the guest's MemTotal in KiB (0 if absent)."""
    marks, mem = [], 0
    with lzma.open(path, "rt", errors="replace") as f:
        for line in f:
            if line.startswith("# guest: MemTotal:"):
                mem = int(line.split()[3])
            elif "tracing_mark_write: ab: " in line:
                m = _MARK.match(line)
                if m:
                    marks.append((float(m.group(1)), m.group(2).strip()))
    return marks, mem


def load(directory: str | Path | None = None, variants=tuple(KERNEL_AB)) -> dict[str, Capture]:
    """Read the captures of ``variants`` from ``directory`` (default: the shipped ones).

    Examples
    --------
    >>> caps = load(variants=["floor"])
    >>> caps["floor"].formula, caps["floor"].mem_total_kib
    ('v5.13+floor', 503448)
    """
    if directory is None:
        from ..data import kernel_ab_trace
        directory = kernel_ab_trace("stock").parent
    out = {}
    for v in variants:
        tpath, spath = find(directory, v, "trace"), find(directory, v, "samples")
        marks, mem = read_marks(tpath)
        out[v] = Capture(v, KERNEL_AB.get(v, "v5.13"), trace.read(tpath), read_samples(spath), marks, mem,
                         (tpath, spath))
    return out


def global_window(cap: Capture) -> tuple[float, float]:
    """Start and end (trace seconds) of the workload's global rounds.

    From the mark ``global round 1/..`` to the first ``memcg round`` mark (or the
    ``end of workload`` mark): the part of the workload with no memory cgroup
    limit, which is what the model describes.

    Raises
    ------
    ValueError
        When the marks are missing.
    """
    start = next((t for t, m in cap.marks if m.startswith("global round 1/")), None)
    end = next((t for t, m in cap.marks if m.startswith("memcg round") or m.startswith("end of workload")), None)
    if start is None or end is None:
        raise ValueError(f"{cap.files[0].name}: no 'ab: global round 1/' and 'ab: memcg round' / "
                         f"'ab: end of workload' marks; marks: {[m for _, m in cap.marks]}")
    return start, end


def cache_roles(calls: xr.Dataset) -> dict[str, str]:
    """Shrinker instance label (``"<symbol> <pointer>"``) -> role (``"sb#1"``, ...).

    Within each scan function, instances are ranked by the largest count seen at
    their calls (ties: more calls first).
    """
    label = np.char.add(np.char.add(calls.shrinker.values.astype(str), " "), calls.shrinker_id.values.astype(str))
    F = calls.cache_items.values
    stats = {}
    for inst in np.unique(label):
        k = label == inst
        stats[str(inst)] = (int(F[k].max()), int(k.sum()))
    out = {}
    for sym in sorted({s.split(" ")[0] for s in stats}):
        mine = sorted((i for i in stats if i.split(" ")[0] == sym), key=lambda i: (-stats[i][0], -stats[i][1]))
        for rank, inst in enumerate(mine, 1):
            out[inst] = f"{SHORT.get(sym, sym)}#{rank}"
    return out


def window_stats(cap: Capture, t0: float, t1: float) -> dict[str, dict[str, float]]:
    """Per cache role, over trace time ``[t0, t1)``: calls, objects scanned and objects held.

    * ``scanned``: sum of ``total_scan - total_scan_left`` of the calls that have
      their end event (what ``do_shrink_slab()`` handed to ``scan_objects``);
    * ``held``: the time average of the cache's count (``cache_items``, what
      ``count_objects`` returned), as a step function from call to call, over the
      part of the window after the first call (the count is not known before);
    * ``held_at_calls``: the mean count at the calls;
    * ``seeks``, ``batch``: from ``reclaimlab.trace.replay`` (-1 where it cannot tell);
    * ``max_count``: the largest count at any call of the capture, ``max_count_window``
      at a call in the window (0 without one).
    """
    ds = cap.calls
    roles = cache_roles(ds)
    rep = trace.replay(ds, cap.formula)
    seeks = dict(zip(rep.instance.values.astype(str), rep.instance_seeks.values))
    batch = dict(zip(rep.instance.values.astype(str), rep.instance_batch.values)) \
        if "instance_batch" in rep else {}
    label = np.char.add(np.char.add(ds.shrinker.values.astype(str), " "), ds.shrinker_id.values.astype(str))
    t = ds.time.values
    F = ds.cache_items.values.astype(float)
    scanned = np.where(ds.has_end.values, ds.total_scan.values - ds.total_scan_left.values, 0)
    out = {}
    for inst, role in roles.items():
        k = label == inst
        tk, Fk = t[k], F[k]
        win = (tk >= t0) & (tk < t1)
        row = {"calls": int(win.sum()), "scanned": float(scanned[k][win].sum()),
               "held_at_calls": float(Fk[win].mean()) if win.any() else 0.0,
               "seeks": int(seeks.get(inst, -1)), "batch": int(batch.get(inst, -1)),
               "max_count": int(Fk.max()), "max_count_window": int(Fk[win].max()) if win.any() else 0}
        # time average of the step function F(t), over [first call, t1) within the window
        before = tk < t0
        edges = np.concatenate([[t0] if before.any() else [], tk[win], [t1]])
        values = np.concatenate([[Fk[before][-1]] if before.any() else [], Fk[win]])
        if len(values):
            dt = np.diff(edges)
            row["held"] = float((values * dt).sum() / dt.sum()) if dt.sum() > 0 else float(values.mean())
        else:
            row["held"] = 0.0
        out[role] = row
    return out
