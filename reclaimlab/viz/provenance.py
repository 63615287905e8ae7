"""Where a figure's data came from, as one line a reader can rerun.

Every chart (last subtitle line), every text figure (last line) and the
Datasets behind them carry it: the reclaimlab version and the ``reclaimlab``
command that makes the same Dataset (scenario, preset, formula or kernel,
seed, the overrides that differ from the preset). The line is built from the
Dataset's ``attrs`` and coordinates only, so it is as true as the Dataset.

Examples
--------
>>> import reclaimlab as rl
>>> print(provenance(rl.simulate("desktop-copy", kernel="4.19.3", reduced=True, seed=3)))
reclaimlab 0.1.0: reclaimlab simulate desktop-copy --kernel 4.19.3 --reduced --seed 3
"""
from __future__ import annotations

import json
import shlex
from pathlib import PurePath

import numpy as np
import xarray as xr

from .._version import __version__
from ..kernel.releases import RELEASES, rules

__all__ = ["provenance", "provenance_lines", "command"]

_RULES = ("inode_rule", "xfs_reclaim", "memcg_remedy")


def _values(da) -> str:
    vals = np.atleast_1d(np.asarray(da.values)).tolist()
    return ",".join(str(int(v)) if float(v).is_integer() else str(v) for v in vals)


def _sweep_command(ds: xr.Dataset) -> str:
    formulas = ds.formula.values.tolist() if "formula" in ds.coords else str(ds.attrs.get("formulas", "")).split(", ")
    parts = ["reclaimlab sweep", "--formulas", ",".join(map(str, np.atleast_1d(formulas)))]
    for name in ("freeable", "priority", "batch", "seeks"):
        if name in ds.coords:
            parts += [f"--{name}", _values(ds[name])]
    parts += ["--calls", str(ds.attrs.get("calls", 1))]
    return " ".join(parts)


def _rule_settings(ds: xr.Dataset, formula: str | None, kernel: str | None) -> list[str]:
    """``--set`` options for the rules that differ from what the kernel or formula implies."""
    if not all(k in ds.attrs for k in _RULES):
        return []
    try:
        implied = RELEASES[kernel] if kernel else rules(formula)
    except (KeyError, ValueError):
        return []
    return [f"--set {k}={ds.attrs[k]}" for k in _RULES if ds.attrs[k] != getattr(implied, k)]


def _shared_rule_settings(ds: xr.Dataset, names: list[str]) -> list[str]:
    """``--set`` for a rule a comparison gave every formula, where some formula's era differs."""
    out = []
    for k in _RULES:
        if k not in ds.coords:
            continue
        values = set(map(str, np.atleast_1d(ds[k].values)))
        try:
            implied = {getattr(rules(f), k) for f in names}
        except (KeyError, ValueError):
            continue
        if len(values) == 1 and implied != values:
            out.append(f"--set {k}={values.pop()}")
    return out


def _override_settings(overrides: dict) -> list[str]:
    out = []
    for key, text in overrides.items():
        try:
            value = json.loads(text)
        except ValueError:
            return [f"(and overrides of {', '.join(overrides)}: see attrs['params'])"]
        out.append(f"--set {key}={json.dumps(value)}")
    return out


def _simulation_command(ds: xr.Dataset) -> str:
    sc = json.loads(ds.attrs["scenario"])
    kernel = ds.attrs.get("kernel") or None
    parts = []
    if "formula" in ds.dims and "kernel_formula" in ds.coords:     # rl.compare(kernels=[...])
        parts += ["reclaimlab compare", shlex.quote(sc["name"]), "--kernel",
                  " ".join(map(str, ds.formula.values.tolist()))]
    elif "formula" in ds.dims:
        names = [str(f) for f in ds.formula.values.tolist()]
        parts += ["reclaimlab compare", shlex.quote(sc["name"]), "--formulas", ",".join(names)]
        if kernel:
            parts += ["--kernel", kernel]
        parts += _shared_rule_settings(ds, names)
    else:
        parts += ["reclaimlab simulate", shlex.quote(sc["name"])]
        parts += ["--kernel", kernel] if kernel else ["--formula", str(ds.attrs.get("formula", "v5.0"))]
        parts += _rule_settings(ds, ds.attrs.get("formula"), kernel)
    if sc.get("reduced"):
        parts.append("--reduced")
    parts += ["--seed", str(ds.attrs.get("seed", 0))]
    parts += _override_settings(sc.get("overrides", {}))
    return " ".join(parts)


def command(ds: xr.Dataset) -> str | None:
    """The ``reclaimlab`` command that makes ``ds`` again, or None when its attrs do not say.

    Examples
    --------
    >>> import reclaimlab as rl
    >>> command(rl.sweep(["v4.19", "v5.0"], [10, 1000], 12, calls=100))
    'reclaimlab sweep --formulas v4.19,v5.0 --freeable 10,1000 --priority 12 --batch 128 --seeks 2 --calls 100'
    """
    if not isinstance(ds, xr.Dataset):
        return None
    a = ds.attrs
    try:
        if str(a.get("source", "")).startswith("reclaimlab.testing."):
            return str(a["source"])
        if "scenario" in a:
            return _simulation_command(ds)
        if "freeable" in ds.dims:
            return _sweep_command(ds)
        if "call" in ds.dims and a.get("source"):
            # The file's name, not its path: the path is the writer's, and a shipped
            # trace is found by name (reclaimlab.data.shipped_trace).
            name = shlex.quote(PurePath(str(a["source"])).name)
            if a.get("formula"):
                action = "whatif" if "initial" in a else "replay"
                return f"reclaimlab trace {action} {name} --formula {a['formula']}"
            return f"reclaimlab trace read {name}"
    except (ValueError, KeyError, TypeError):
        return None
    return None


def provenance(ds: xr.Dataset) -> str:
    """One line: the reclaimlab version and the command that makes ``ds`` again.

    Datasets that do not come from reclaimlab (built by hand) get the version
    and "data not made by a reclaimlab command".
    """
    version = ds.attrs.get("reclaimlab_version") if isinstance(ds, xr.Dataset) else None
    cmd = command(ds)
    if version is None:
        version = __version__
    return f"reclaimlab {version}: {cmd}" if cmd else f"reclaimlab {version}: data not made by a reclaimlab command"


def provenance_lines(data) -> list[str]:
    """:func:`provenance` of a Dataset, or of each Dataset of a sequence (distinct lines, in order)."""
    runs = [data] if isinstance(data, xr.Dataset) else list(data) if isinstance(data, (list, tuple)) else [data]
    return list(dict.fromkeys(provenance(r) for r in runs if isinstance(r, xr.Dataset)))
