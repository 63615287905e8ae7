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

from .kernel.releases import rules
from .scenarios import Scenario, get
from .sim.engine import run

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
        A release of :data:`reclaimlab.kernel.releases.RELEASES` (e.g.
        ``"4.19.3"``) setting the formula and the rules at once; explicit
        rules win, and a ``formula`` that is not the kernel's is an error.
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
        The state over time (variables, units and dims: :mod:`reclaimlab.model.schema`).

    Examples
    --------
    >>> import reclaimlab as rl
    >>> ds = rl.simulate("small-vs-large", "v4.19", reduced=True)
    >>> sorted(ds.sizes)
    ['cache', 'node', 'time']
    """
    sc = get(scenario)
    run_rules = rules(formula, kernel, inode_rule=inode_rule, xfs_reclaim=xfs_reclaim,
                      memcg_remedy=memcg_remedy)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed={seed!r} must be an integer")
    params = (sc.reduced if reduced else sc.params)
    if overrides:
        params = params.replace(**overrides)
    attrs = {"scenario": json.dumps({"name": sc.name, "reduced": bool(reduced),
                                     "overrides": {k: repr(v) for k, v in overrides.items()}}),
             "seed": int(seed), "kernel": kernel or ""}
    return run(params, run_rules, seed=int(seed), attrs=attrs)


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
