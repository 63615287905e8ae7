"""``rl.simulate`` and ``rl.compare``: run scenarios under scan-count formulas.

Rules that are not part of the scan-count formula follow the formula's era
unless given (or set by a ``kernel=`` preset):

=====================  ===========  =============  ==============
formula era            inode_rule   xfs_reclaim    memcg_remedy
=====================  ===========  =============  ==============
v4.15 ... v5.0, 2019   ``v4.18``    ``sync``       ``none``
v5.13 (5.13+)          ``v5.16``    ``async``      ``reparent``
=====================  ===========  =============  ==============
"""
from __future__ import annotations

import json
from typing import Sequence

import numpy as np
import xarray as xr

from .kernel import formulas
from .kernel.spec import DEFER_5_13
from .scenarios import Scenario, get
from .sim.engine import run
from .sim.params import INODE_RULES, MEMCG_REMEDIES, XFS_RECLAIM_MODES

#: Kernel releases by name: (formula, inode_rule, xfs_reclaim, memcg_remedy).
KERNELS: dict[str, tuple[str, str, str, str]] = {
    "4.18": ("v4.16", "v4.18", "sync", "none"),
    "4.19": ("v4.19", "v4.18", "sync", "none"),
    "4.19.3": ("v4.19", "a76cf1a474d7", "sync", "none"),
    "4.20": ("v4.20", "a76cf1a474d7", "sync", "none"),
    "5.0": ("v5.0", "v4.18", "sync", "none"),
    "5.4": ("v5.0", "v4.18", "sync", "reparent"),
    "5.10": ("v5.0", "v4.18", "async", "reparent"),
    "5.15": ("v5.13", "v4.18", "async", "reparent"),
    "6.1": ("v5.13", "v5.16", "async", "reparent"),
    "6.12": ("v5.13", "v5.16", "async", "reparent"),
}


def era_rules(formula: str) -> tuple[str, str, str]:
    """(inode_rule, xfs_reclaim, memcg_remedy) of a formula's era."""
    if formulas.spec(formula).deferral == DEFER_5_13:
        return "v5.16", "async", "reparent"
    return "v4.18", "sync", "none"


def _choice(name: str, value: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is unknown; allowed: {', '.join(allowed)}")
    return value


def resolve(formula: str | None, kernel: str | None, inode_rule, xfs_reclaim, memcg_remedy):
    """The formula and rules a run uses, with the era defaults filled in."""
    if kernel is not None:
        if kernel not in KERNELS:
            raise ValueError(f"kernel={kernel!r} is unknown; known kernels: {', '.join(KERNELS)}")
        k_formula, k_inode, k_xfs, k_memcg = KERNELS[kernel]
        formula = formula or k_formula
        inode_rule, xfs_reclaim, memcg_remedy = (inode_rule or k_inode, xfs_reclaim or k_xfs,
                                                 memcg_remedy or k_memcg)
    formula = formula or "v5.0"
    formulas.spec(formula)    # unknown names raise, listing the known ones
    era = era_rules(formula)
    return (formula,
            _choice("inode_rule", inode_rule or era[0], INODE_RULES),
            _choice("xfs_reclaim", xfs_reclaim or era[1], XFS_RECLAIM_MODES),
            _choice("memcg_remedy", memcg_remedy or era[2], MEMCG_REMEDIES))


def simulate(
    scenario: str | Scenario,
    formula: str | None = None,
    *,
    seed: int = 0,
    kernel: str | None = None,
    inode_rule: str | None = None,
    xfs_reclaim: str | None = None,
    memcg_remedy: str | None = None,
    reduced: bool = False,
    **overrides,
) -> xr.Dataset:
    """Simulate a scenario under a scan-count formula.

    Parameters
    ----------
    scenario : str or Scenario
        A name from :func:`reclaimlab.scenarios.names` or a Scenario.
    formula : str, optional
        Any formula name, alias or registered formula (default ``v5.0``, or
        the kernel preset's).
    seed : int
        Seed of the run's random draws: the same seed gives the same Dataset.
    kernel : str, optional
        A release from :data:`KERNELS` (e.g. ``"4.19.3"``) setting the formula
        and the rules at once; explicit arguments win.
    inode_rule, xfs_reclaim, memcg_remedy : str, optional
        ``"v4.18" | "a76cf1a474d7" | "v5.16"``, ``"sync" | "async"``,
        ``"none" | "reparent" | "collector"``; default: the formula's era.
    reduced : bool
        Use the scenario's fast preset.
    **overrides
        Any :class:`~reclaimlab.sim.params.SimParams` or cost field.

    Returns
    -------
    xarray.Dataset
        The state over time (see DESIGN.md, "Contract: the state model").

    Examples
    --------
    >>> import reclaimlab as rl
    >>> ds = rl.simulate("small-vs-large", "v4.19", reduced=True)
    >>> sorted(ds.sizes)
    ['cache', 'node', 'time']
    """
    sc = get(scenario)
    formula, inode_rule, xfs_reclaim, memcg_remedy = resolve(formula, kernel, inode_rule,
                                                             xfs_reclaim, memcg_remedy)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed={seed!r} must be an integer")
    params = (sc.reduced if reduced else sc.params)
    if overrides:
        params = params.replace(**overrides)
    attrs = {"scenario": json.dumps({"name": sc.name, "reduced": bool(reduced),
                                     "overrides": {k: repr(v) for k, v in overrides.items()}}),
             "seed": int(seed), "kernel": kernel or ""}
    return run(params, formula, seed=int(seed), inode_rule=inode_rule, xfs_reclaim=xfs_reclaim,
               memcg_remedy=memcg_remedy, attrs=attrs)


def compare(
    scenario: str | Scenario,
    formulas: Sequence[str],
    *,
    seed: int = 0,
    client=None,
    **kwargs,
) -> xr.Dataset:
    """Simulate one scenario under several formulas; stack them along ``formula``.

    Parameters
    ----------
    scenario : str or Scenario
        As for :func:`simulate`.
    formulas : sequence of str
        Formula names, kept exactly as passed in the ``formula`` coordinate
        (aliases are not resolved there).
    seed : int
        The same seed for every run, so runs differ only by formula.
    client : dask.distributed.Client, optional
        Run the grid on a dask cluster; the result is the same Dataset as a
        local run.
    **kwargs
        Passed to :func:`simulate` (``kernel``, rules, ``reduced``, overrides).

    Examples
    --------
    >>> import reclaimlab as rl
    >>> ds = rl.compare("small-vs-large", ["v4.18", "v4.19"], reduced=True)
    >>> ds.formula.values.tolist()
    ['v4.18', 'v4.19']
    """
    names = list(formulas) if not isinstance(formulas, str) else [formulas]
    if not names:
        raise ValueError("formulas=[] is empty; allowed: a non-empty list of formula names")
    if client is not None:
        futures = [client.submit(simulate, scenario, f, seed=seed, pure=False, **kwargs) for f in names]
        runs = client.gather(futures)
    else:
        runs = [simulate(scenario, f, seed=seed, **kwargs) for f in names]
    per_run = ("formula", "inode_rule", "xfs_reclaim", "memcg_remedy")
    rules = {k: [r.attrs.get(k, "") for r in runs] for k in per_run}
    for r in runs:
        r.attrs = {k: v for k, v in r.attrs.items() if k not in per_run}
    ds = xr.concat(runs, dim="formula", combine_attrs="override")
    ds = ds.assign_coords(formula=("formula", np.array(names, dtype=str)))
    for k in per_run[1:]:
        ds = ds.assign_coords({k: ("formula", np.array(rules[k], dtype=str))})
    ds.formula.attrs = {"long_name": "scan-count formula (as passed)"}
    return ds
