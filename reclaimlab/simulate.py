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
    ['cache', 'cause', 'node', 'time']
    """
    sc = get(scenario)
    run_rules = rules(formula, kernel, inode_rule=inode_rule, xfs_reclaim=xfs_reclaim,
                      memcg_remedy=memcg_remedy)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, (bool, np.bool_)):
        raise TypeError(f"seed={seed!r} must be an integer")
    if not isinstance(reduced, (bool, np.bool_)):
        # "no" or 0.0 would be taken for True or False by a truth test: refuse, do not guess.
        raise TypeError(f"reduced={reduced!r} is not allowed; allowed: True or False")
    params = (sc.reduced if reduced else sc.params)
    if overrides:
        params = params.replace(**overrides)
    attrs = {"scenario": json.dumps({"name": sc.name, "reduced": bool(reduced),
                                     "overrides": {k: repr(v) for k, v in overrides.items()}}),
             "seed": int(seed), "kernel": kernel or ""}
    return run(params, run_rules, seed=int(seed), attrs=attrs)


def compare(
    scenario: str | Scenario,
    formulas: Sequence[str] | None = None,
    *,
    kernels: Sequence[str] | None = None,
    seed: int = 0,
    client=None,
    **kwargs,
) -> xr.Dataset:
    """Simulate one scenario under several formulas or kernels; stack them along ``formula``.

    Parameters
    ----------
    scenario : str or Scenario
        As for :func:`simulate`.
    formulas : sequence of str, optional
        Formula names, kept exactly as passed in the ``formula`` coordinate
        (aliases are not resolved there).
    kernels : sequence of str, optional
        Instead of ``formulas``: releases of
        :data:`reclaimlab.kernel.releases.RELEASES` (``["4.18", "4.19",
        "4.19.3", "5.0"]``), each run with its formula and rules
        (``simulate(..., kernel=k)``). Along ``formula`` the labels are the
        kernels as passed; the coordinates ``kernel`` (the same labels) and
        ``kernel_formula`` (the formula each runs) say what ran.
    seed : int
        The same seed for every run, so runs differ only by formula or kernel.
    client : dask.distributed.Client, optional
        Run the grid on a dask cluster; the result is the same Dataset as a
        local run.
    **kwargs
        Passed to :func:`simulate` (``kernel`` with ``formulas``, rules,
        ``reduced``, overrides).

    Raises
    ------
    ValueError
        When both or neither of ``formulas`` and ``kernels`` are given, or a
        list is empty; a ``formula`` or ``kernel`` keyword that clashes with the list.

    Examples
    --------
    >>> import reclaimlab as rl
    >>> ds = rl.compare("small-vs-large", ["v4.18", "v4.19"], reduced=True)
    >>> ds.formula.values.tolist()
    ['v4.18', 'v4.19']
    >>> ds = rl.compare("small-vs-large", kernels=["4.19", "4.19.3"], reduced=True)
    >>> ds.kernel_formula.values.tolist(), ds.inode_rule.values.tolist()
    (['v4.19', 'v4.19'], ['v4.18', 'a76cf1a474d7'])
    """
    by_kernel = kernels is not None
    names = _run_names(formulas, kernels, kwargs)
    key = "kernel" if by_kernel else "formula"
    runs = _runs(client, [{key: n} for n in names], scenario, seed, kwargs)
    per_run = ("formula", "inode_rule", "xfs_reclaim", "memcg_remedy") + (("kernel",) if by_kernel else ())
    rules_of = {k: [r.attrs.get(k, "") for r in runs] for k in per_run}
    for r in runs:
        r.attrs = {k: v for k, v in r.attrs.items() if k not in per_run}
    ds = xr.concat(runs, dim="formula", combine_attrs="override")
    ds = ds.assign_coords(formula=("formula", np.array(names, dtype=str)))
    for k in per_run[1:]:
        ds = ds.assign_coords({k: ("formula", np.array(rules_of[k], dtype=str))})
    ds.formula.attrs = {"long_name": "kernel release (as passed)" if by_kernel else "scan-count formula (as passed)"}
    if by_kernel:
        ds = ds.assign_coords(kernel_formula=("formula", np.array(rules_of["formula"], dtype=str)))
        ds.kernel_formula.attrs = {"long_name": "scan-count formula the kernel runs"}
    return ds


def _run_names(formulas, kernels, kwargs) -> list[str]:
    """The labels of a compare: formulas or kernels, exactly one of them, not empty."""
    if (formulas is None) == (kernels is None):
        raise ValueError("compare needs formulas=[...] or kernels=[...], not "
                         + ("both" if formulas is not None else "neither"))
    given, what = (formulas, "formulas") if kernels is None else (kernels, "kernels")
    if kernels is not None and kwargs.get("formula") is not None:
        raise ValueError(f"formula={kwargs['formula']!r} clashes with kernels=; each kernel runs its own formula")
    if kernels is not None and kwargs.get("kernel") is not None:
        raise ValueError(f"kernel={kwargs['kernel']!r} clashes with kernels=; give the list only")
    names = [given] if isinstance(given, str) else list(given)
    if not names:
        raise ValueError(f"{what}=[] is empty; allowed: a non-empty list of {what[:-1]} names")
    return [str(n) for n in names]


def _runs(client, each: list[dict], scenario, seed, kwargs) -> list[xr.Dataset]:
    """simulate() once per entry of ``each`` (extra keywords), locally or on a dask client."""
    if client is not None:
        futures = [client.submit(simulate, scenario, seed=seed, pure=False, **kwargs, **e) for e in each]
        return client.gather(futures)
    return [simulate(scenario, seed=seed, **kwargs, **e) for e in each]
