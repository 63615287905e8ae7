"""``rl.grid``: a pre-registered grid of simulations, one Dataset with a dim per swept input.

:func:`grid` runs the cross product of kernels (or formulas) x seeds x every
listed parameter through :func:`reclaimlab.simulate.simulate`, locally or on a
dask cluster, and returns one :class:`xarray.Dataset` whose dims are the swept
inputs: ``kernel`` (or ``formula``), ``seed``, then one per parameter in the
order given.

What a cell keeps
-----------------
Cells of a grid need not share a time axis (``duration_s``, ``dt_s`` or
``record_s`` may be swept) nor a node axis (``nodes`` may be), so the grid
does not stack time series. Each run is reduced by :func:`summarize` to
per-run numbers, machine-wide (summed over nodes and memcgs) and over the
whole simulated duration (not only the job's):

* the run's own scalars, as they are: ``workload_time`` (with
  ``workload_finished``: 0 when it was extrapolated from the job's progress
  rate because the run ended first), ``alloc_latency_p50/_p99/_p999`` and
  ``allocations`` where the scenario has them;
* totals over the run: ``stall_total``, ``direct_reclaims_total``,
  ``kswapd_busy_total``, ``disk_busy_total`` (and ``disk_utilisation``, the
  total over the simulated time), ``page_refaults_total``, per cache
  ``scanned_total``, ``freed_total``, ``refaults_total``, and per ``cause``
  ``stall_by_cause_total`` (sums to ``stall_total``) and
  ``blocked_by_cause_total`` (docs/simulator.md, "Stall by cause");
* extremes and means: ``page_cache_mean``, ``page_cache_min``,
  ``free_min_node`` (the lowest free memory of any node at the end of an
  interval), ``priority_min`` (-1: no reclaim ever), ``dirty_max``,
  ``slab_mean`` and ``nr_deferred_max`` per cache, ``dying_memcgs_max``,
  ``dying_memcgs_end``, ``pinned_objects_max``, ``job_progress_end``;
* ``page_cache_drops``: recording intervals in which the machine's page cache
  fell by 5% or more from the previous record (the 4.19 sawtooth; one-second
  drops at every scenario's ``record_s`` of 1 s);
* the run's set-up: ``simulated_s``, ``watermark_min/_low/_high`` (pages per
  node) and ``params``, the cell's :class:`~reclaimlab.sim.params.SimParams`
  as JSON (``SimParams.from_json(ds.params.sel(...).item())`` rebuilds it).

Need a time series? ``rl.simulate`` the cell: ``ds.params`` and the coords
say exactly which call reproduces it (same seed, same Dataset).

Pseudo-parameters
-----------------
Besides every :class:`~reclaimlab.sim.params.SimParams` field, every cost
and the rules ``inode_rule``, ``xfs_reclaim`` and ``memcg_remedy``, a grid
takes facts about the machine or the workload that the scenario expresses
through other fields (:data:`PSEUDO_PARAMETERS`):

* ``machine_gib``: memory per machine, in GiB; ``node_pages`` =
  machine pages // ``nodes`` (so nodes {1, 2} x machine_gib {4, 16} compares
  machines of the same size split differently);
* ``machine_anon_gib``: anonymous memory in use per machine, in GiB;
  ``anon_pages`` = its pages // ``nodes``;
* ``copy_mb_per_s``: the rate of the scenario's ``copy`` file set in MB/s
  (MiB/s, 256 pages: the catalogue's MB); its ``creates_per_s`` =
  MB/s x 256 / ``pages_per_file`` (compile-and-copy's 25 MB files at 10 MB/s:
  0.4 files a second).

``nodes`` is the cell's (swept, fixed, or the scenario's). A pseudo-parameter
and the field it sets cannot both be given.
"""
from __future__ import annotations

import dataclasses
import itertools
import json
import numbers
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import xarray as xr

from ._version import __version__
from .kernel import formulas as _formulas
from .kernel.releases import rules as _rules
from .scenarios import Scenario, get
from .sim import params as _params
from .sim.params import Costs, SimParams
from .sim.watermarks import watermarks
from .simulate import simulate

__all__ = ["grid", "summarize", "pseudo_overrides", "PSEUDO_PARAMETERS", "RULE_ARGS"]

GIB_PAGES = 262_144
MB_PAGES = 256

#: Rule arguments of :func:`~reclaimlab.simulate.simulate` a grid can fix or sweep.
RULE_ARGS = ("inode_rule", "xfs_reclaim", "memcg_remedy")

#: Pseudo-parameters: name -> what it sets, and how.
PSEUDO_PARAMETERS: dict[str, str] = {
    "machine_gib": "memory per machine in GiB: node_pages = machine_gib * 262144 // nodes",
    "machine_anon_gib": "anonymous memory per machine in GiB: anon_pages = machine_anon_gib * 262144 // nodes",
    "copy_mb_per_s": "rate of the 'copy' file set in MB/s (256 pages a MB): "
                     "creates_per_s = copy_mb_per_s * 256 / pages_per_file",
}
_PSEUDO_SETS = {"machine_gib": "node_pages", "machine_anon_gib": "anon_pages", "copy_mb_per_s": "filesets"}

#: Relative fall of the machine's page cache between two records counted as a drop.
DROP_FRACTION = 0.05

_PARAM_TYPES: dict[str, str] = {f.name: str(f.type) for f in dataclasses.fields(SimParams)}
_PARAM_TYPES.update({f.name: str(f.type) for f in dataclasses.fields(Costs)})
_PARAM_TYPES.pop("costs")
_STRUCTURED = ("filesets", "caches", "services")     # not scalars: change them in a Scenario
_KEPT = ("Per-run numbers of reclaimlab.grid.summarize, machine-wide (summed over nodes and memcgs) "
         "over the whole simulated duration: the run's scalars (workload_time, workload_finished, "
         "alloc_latency_*, allocations), totals (stall, direct reclaims, kswapd, disk, refaults, "
         "scanned and freed per cache, stall and blocked time per cause), extremes and means (page cache, free, priority, dirty, slab, "
         "nr_deferred, dying memcgs), page_cache_drops (intervals where the page cache fell >= 5%), "
         "simulated_s, watermarks and params (JSON). Time series are not kept: rl.simulate a cell.")


# --------------------------------------------------------------------------- summary


def _machine(da: xr.DataArray) -> xr.DataArray:
    """Sum over node and memcg: the machine's value."""
    return da.sum([d for d in ("node", "memcg") if d in da.dims])


def summarize(run: xr.Dataset) -> xr.Dataset:
    """Reduce one :func:`~reclaimlab.simulate.simulate` Dataset to the numbers a grid keeps.

    Parameters
    ----------
    run : xarray.Dataset
        A run of ``rl.simulate`` (dims ``time``, ``node``, ``cache``, maybe ``memcg``).

    Returns
    -------
    xarray.Dataset
        Scalars and per-``cache`` variables (the module docstring lists them),
        each with ``units`` and ``long_name``.

    Examples
    --------
    >>> import reclaimlab as rl
    >>> from reclaimlab.grid import summarize
    >>> run = rl.simulate("compile-and-copy", kernel="4.18", reduced=True, duration_s=10.0)
    >>> s = summarize(run)
    >>> float(s.stall_total) == float(run.stall.sum("node").sum("time"))
    True
    """
    out: dict[str, tuple] = {}

    def put(name, data, units, long_name, dims=()):
        out[name] = (dims, np.asarray(data), {"units": units, "long_name": long_name})

    for name in ("workload_time", "alloc_latency_p50", "alloc_latency_p99", "alloc_latency_p999",
                 "alloc_stalls_per_min", "allocations"):
        if name in run:
            attrs = {k: v for k, v in run[name].attrs.items() if k in ("units", "long_name")}
            out[name] = ((), run[name].values, attrs)
    if "workload_time" in run:
        put("workload_finished", np.int8(run.workload_time.attrs.get("finished", 1)), "1",
            "1 if the job finished within the run, 0 if workload_time is extrapolated")
    duration = float(run.time.values[-1])
    put("simulated_s", duration, "s", "simulated time of the run")
    totals = (("stall", "s", "time tasks spent in direct reclaim, summed over the run"),
              ("direct_reclaims", "1", "direct reclaim calls over the run"),
              ("kswapd_busy", "s", "time kswapd spent reclaiming, summed over the run and nodes"),
              ("disk_busy", "s", "time the disk served IO over the run"),
              ("page_refaults", "pages", "page-cache pages reclaimed and read again over the run"))
    for name, units, long_name in totals:
        put(f"{name}_total", _machine(run[name]).sum("time").values, units, long_name)
    put("disk_utilisation", float(run.disk_busy.sum()) / duration, "1",
        "share of the simulated time the disk served IO")
    pc = _machine(run.page_cache).values.astype(float)
    put("page_cache_mean", pc.mean(), "pages", "machine's page cache, mean over the records")
    put("page_cache_min", pc.min(), "pages", "machine's page cache, least over the records")
    drops = int(np.count_nonzero(pc[1:] <= (1 - DROP_FRACTION) * pc[:-1])) if pc.size > 1 else 0
    put("page_cache_drops", np.int64(drops), "1",
        f"recording intervals in which the machine's page cache fell by >= {DROP_FRACTION:.0%}")
    put("free_min_node", run.free.min().values, "pages",
        "least free memory of any node at the end of an interval")
    prio = run.priority.values
    put("priority_min", np.int64(prio[prio >= 0].min() if (prio >= 0).any() else -1), "1",
        "lowest reclaim priority reached in the run (-1 = no reclaim)")
    put("dirty_max", _machine(run.dirty).max().values, "pages", "machine's dirty pages, most over the records")
    put("dying_memcgs_max", run.dying_memcgs.max().values, "1", "dying memcgs, most over the records")
    put("dying_memcgs_end", run.dying_memcgs.values[-1], "1", "dying memcgs at the end of the run")
    put("pinned_objects_max", run.pinned_objects.max().values, "objects",
        "objects pinning dying memcgs, most over the records")
    put("job_progress_end", run.job_progress.values[-1], "1", "fraction of the job done at the end of the run")
    per_cache = (("scanned", "scanned_total", lambda d: d.sum("time"), "objects scanned by shrinkers over the run"),
                 ("freed", "freed_total", lambda d: d.sum("time"), "objects freed by shrinkers over the run"),
                 ("refaults", "refaults_total", lambda d: d.sum("time"),
                  "objects reclaimed and needed again over the run"),
                 ("slab", "slab_mean", lambda d: d.mean("time"), "objects held in the cache, mean over the records"),
                 ("nr_deferred", "nr_deferred_max", lambda d: d.max("time"),
                  "nr_deferred of the cache's shrinker summed over nodes and memcgs, most over the records"))
    for src, name, reduce, long_name in per_cache:
        put(name, reduce(_machine(run[src])).values, run[src].attrs.get("units", "objects"), long_name,
            dims=("cache",))
    for src in ("stall_by_cause", "blocked_by_cause"):
        if src in run:
            put(f"{src}_total", _machine(run[src]).sum("time").values, "s",
                run[src].attrs.get("long_name", src) + ", summed over the run", dims=("cause",))
    wm = json.loads(run.attrs["watermarks"])
    for k in ("min", "low", "high"):
        put(f"watermark_{k}", np.int64(wm[k]), "pages", f"{k} watermark of each node")
    out["params"] = ((), np.array(run.attrs["params"], dtype=str),
                     {"long_name": "the run's SimParams as JSON (SimParams.from_json)"})
    coords = {k: run[k] for k in ("cache", "seeks", "batch", "shrinker", "cause", "cause_long_name")
              if k in run.coords}
    return xr.Dataset(out, coords=coords)


# --------------------------------------------------------------------------- validation


def _allowed_names() -> list[str]:
    return sorted(set(_PARAM_TYPES) - set(_STRUCTURED)) + list(RULE_ARGS) + list(PSEUDO_PARAMETERS)


def _is_scalar(v) -> bool:
    return isinstance(v, (str, bool, numbers.Number, np.generic)) and not isinstance(v, complex)


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


def _check_value(name: str, v) -> None:
    """Type of one value of parameter ``name``; ranges are SimParams.validate's."""
    kind = _PARAM_TYPES.get(name, "float")
    if name in RULE_ARGS:
        if not isinstance(v, str):
            raise ValueError(f"{name}={v!r} is not allowed; allowed: a rule name (str)")
        return
    if isinstance(v, str) and name in getattr(_params, "SIZE_FIELDS", ()):
        return                  # a size with a unit ("8GiB"): SimParams.replace parses and checks it
    if "bool" in kind:
        if not isinstance(v, (bool, np.bool_)):
            raise ValueError(f"{name}={v!r} is not allowed; allowed: True or False")
        return
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise ValueError(f"{name}={v!r} is not allowed; allowed: a number")
    if kind.startswith("int") and not isinstance(v, numbers.Integral):
        raise ValueError(f"{name}={v!r} is not allowed; allowed: an integer")
    if not np.isfinite(float(v)):
        raise ValueError(f"{name}={v!r} is not allowed; allowed: a finite number")


def _axis_values(name: str, values) -> list:
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray, range)):
        raise ValueError(f"{name}={values!r} is not allowed; allowed: a non-empty list of values "
                         f"(or one value to fix it)")
    vals = [_plain(v) for v in np.asarray(values, dtype=object).ravel()] if isinstance(values, np.ndarray) \
        else [_plain(v) for v in values]
    if not vals:
        raise ValueError(f"{name}=[] is empty; allowed: a non-empty list of values")
    for v in vals:
        if not _is_scalar(v):
            raise ValueError(f"{name} value {v!r} is not allowed; allowed: numbers, strings or booleans "
                             f"(change structured fields such as filesets in a Scenario)")
    if len(set(vals)) != len(vals):
        dup = sorted({repr(v) for v in vals if vals.count(v) > 1})
        raise ValueError(f"{name}={vals!r} repeats {', '.join(dup)}; allowed: distinct values")
    return vals


def pseudo_overrides(base: SimParams, pseudo: Mapping[str, Any], *, nodes: int | None = None) -> dict:
    """The :class:`SimParams` overrides that a cell's pseudo-parameters stand for.

    Parameters
    ----------
    base : SimParams
        The scenario's parameters (``rl.scenarios.get(name).params``).
    pseudo : mapping
        Pseudo-parameters (:data:`PSEUDO_PARAMETERS`: ``machine_gib``,
        ``machine_anon_gib``, ``copy_mb_per_s``) and their values.
    nodes : int, optional
        The cell's number of NUMA nodes (default: ``base.nodes``); memory
        per machine is split over them.

    Returns
    -------
    dict
        Field name -> value, to pass to ``rl.simulate`` or ``SimParams.replace``.

    Raises
    ------
    ValueError
        For an unknown pseudo-parameter, fewer than one page per node, a
        negative copy rate, or a copy rate for a scenario without a ``copy``
        file set; the message names the parameter, its value and what is allowed.

    Examples
    --------
    >>> from reclaimlab.scenarios import get
    >>> o = pseudo_overrides(get("compile-and-copy").params, {"machine_gib": 16}, nodes=2)
    >>> o["node_pages"]
    2097152
    """
    unknown = sorted(set(pseudo) - set(PSEUDO_PARAMETERS))
    if unknown:
        raise ValueError(f"pseudo={unknown[0]!r} is not allowed; allowed: {', '.join(PSEUDO_PARAMETERS)}")
    out = {}
    nodes = base.nodes if nodes is None else nodes
    if "machine_gib" in pseudo:
        g = pseudo["machine_gib"]
        out["node_pages"] = int(round(g * GIB_PAGES)) // nodes
        if out["node_pages"] <= 0:
            raise ValueError(f"machine_gib={g!r} is not allowed: {out['node_pages']} pages per node on "
                             f"{nodes} nodes; allowed: at least one page per node")
    if "machine_anon_gib" in pseudo:
        out["anon_pages"] = int(round(pseudo["machine_anon_gib"] * GIB_PAGES)) // nodes
    if "copy_mb_per_s" in pseudo:
        rate = pseudo["copy_mb_per_s"]
        sets = base.filesets
        if not any(f.name == "copy" for f in sets):
            raise ValueError(f"copy_mb_per_s={rate!r} is not allowed: this scenario has no 'copy' file set "
                             f"(file sets: {', '.join(f.name for f in sets) or 'none'})")
        if rate < 0:
            raise ValueError(f"copy_mb_per_s={rate!r} is not allowed; allowed: >= 0")
        out["filesets"] = tuple(replace(f, creates_per_s=rate * MB_PAGES / f.pages_per_file)
                                if f.name == "copy" else f for f in sets)
    return out


def _progress_bar() -> Callable[[int, int, Mapping[str, Any]], None]:
    """A progress bar on stderr: a line per cell (one line rewritten on a terminal)."""
    started = time.monotonic()

    def bar(done: int, total: int, cell: Mapping[str, Any]) -> None:
        where = ", ".join(f"{k}={v}" for k, v in cell.items())
        end = "\r" if sys.stderr.isatty() and done < total else "\n"
        sys.stderr.write(f"grid {done}/{total} [{'#' * (20 * done // total):<20}] "
                         f"{time.monotonic() - started:6.0f} s  {where}{end}")
        sys.stderr.flush()

    return bar


def _cell(scenario, axis: str, name: str, seed: int, reduced: bool, kwargs: dict) -> xr.Dataset:
    """One cell: simulate, then summarize (what a dask worker runs)."""
    run = simulate(scenario, **{axis: name}, seed=seed, reduced=reduced, **kwargs)
    return summarize(run)


# --------------------------------------------------------------------------- grid


def grid(
    scenario: str | Scenario,
    kernels: Sequence[str] | None = None,
    formulas: Sequence[str] | None = None,
    seeds: Sequence[int] = (0,),
    reduced: bool = False,
    client: Any = None,
    progress: bool | Callable[[int, int, dict], None] | None = None,
    **param_lists: Any,
) -> xr.Dataset:
    """Simulate the cross product of kernels (or formulas) x seeds x parameter lists.

    Parameters
    ----------
    scenario : str or Scenario
        As for :func:`~reclaimlab.simulate.simulate`.
    kernels : sequence of str, optional
        Releases (``"4.18"``, ``"4.19.3"``, ...): the ``kernel`` dim. Give
        this or ``formulas``, not both.
    formulas : sequence of str, optional
        Formula names or aliases: the ``formula`` dim.
    seeds : sequence of int
        Seeds (>= 0): the ``seed`` dim. A cell's run is ``rl.simulate`` with
        that seed, so the grid is deterministic.
    reduced : bool
        Use the scenario's fast preset.
    client : dask.distributed.Client, optional
        Run the cells on this cluster; the result is identical to a local run.
    progress : bool or callable, optional
        ``True``: a progress bar on stderr. A callable is called after each
        cell as ``progress(done, total, cell)``, ``cell`` a dict of the cell's
        coordinates. Default: silent.
    **param_lists
        Any :class:`~reclaimlab.sim.params.SimParams` field, cost, rule
        (``inode_rule``, ``xfs_reclaim``, ``memcg_remedy``) or
        pseudo-parameter (:data:`PSEUDO_PARAMETERS`: ``machine_gib``,
        ``machine_anon_gib``, ``copy_mb_per_s``). A list is swept (a dim of
        that name, in the order given); a single value is fixed for every
        cell (no dim; listed in ``attrs["fixed"]``).

    Returns
    -------
    xarray.Dataset
        Dims ``kernel`` (or ``formula``), ``seed``, one per swept parameter,
        and ``cache``; per-run numbers only (see :func:`summarize` and the
        module docstring). Along ``kernel`` (or ``formula``), coordinates
        ``formula``, ``inode_rule``, ``xfs_reclaim``, ``memcg_remedy`` give
        the rules each ran (those not swept). ``attrs``: ``reclaimlab_version``,
        ``scenario``, ``preset`` (``full`` or ``reduced``), ``axes`` (JSON:
        dim -> values), ``fixed`` (JSON), ``pseudo_parameters`` (JSON: the
        translations used) and ``kept``.

    Raises
    ------
    ValueError
        An unknown parameter, kernel, formula or rule, a value of the wrong
        type or range, an empty or repeated list, or ``kernels`` with
        ``formulas``; the message names the parameter, the value and what
        is allowed. Every cell's parameters are checked before any runs;
        what only a run finds (working sets that do not fit a node) is
        raised when that cell runs, naming the cell.

    Examples
    --------
    >>> import reclaimlab as rl
    >>> from reclaimlab.grid import grid
    >>> ds = grid("compile-and-copy", kernels=["4.18", "4.19.3"], seeds=[0, 1], reduced=True,
    ...           nodes=[1, 2], machine_gib=[2], machine_anon_gib=0.5, duration_s=5.0)
    >>> dict(ds.workload_time.sizes)
    {'kernel': 2, 'seed': 2, 'nodes': 2, 'machine_gib': 1}
    >>> ratio = ds.workload_time.sel(kernel="4.19.3") / ds.workload_time.sel(kernel="4.18")
    >>> ratio.median().item() > 0
    True
    """
    sc = get(scenario)
    base = sc.reduced if reduced else sc.params
    if not isinstance(reduced, (bool, np.bool_)):
        raise ValueError(f"reduced={reduced!r} is not allowed; allowed: True or False")
    if (kernels is None) == (formulas is None):
        raise ValueError("give kernels=[...] or formulas=[...], not both and not neither "
                         f"(kernels={kernels!r}, formulas={formulas!r})")
    axis = "kernel" if kernels is not None else "formula"
    names = _axis_values(f"{axis}s", kernels if kernels is not None else formulas)
    for n in names:
        if not isinstance(n, str):
            example = "'4.19.3'" if axis == "kernel" else "'v4.19'"
            raise ValueError(f"{axis}s value {n!r} is not allowed; allowed: a {axis} name as a string, "
                             f"e.g. {example}")
    seed_list = _axis_values("seeds", seeds)
    for s in seed_list:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0:
            raise ValueError(f"seeds value {s!r} is not allowed; allowed: integers >= 0")
    if progress is not None and not isinstance(progress, bool) and not callable(progress):
        raise ValueError(f"progress={progress!r} is not allowed; allowed: True, False, None or a callable")
    if client is not None and not (hasattr(client, "submit") and hasattr(client, "gather")):
        raise ValueError(f"client={client!r} is not allowed; allowed: a dask.distributed.Client or None")

    allowed = _allowed_names()
    swept: dict[str, list] = {}
    fixed: dict[str, Any] = {}
    for name, value in param_lists.items():
        if name in ("kernel", "formula", "seed"):
            raise ValueError(f"{name}={value!r} is not allowed here; allowed: {name}s=[...]")
        if name not in allowed:
            raise ValueError(f"unknown parameter {name!r}; allowed: {', '.join(allowed)}")
        if _is_scalar(value):
            _check_value(name, _plain(value))
            fixed[name] = _plain(value)
        else:
            swept[name] = _axis_values(name, value)
            for v in swept[name]:
                _check_value(name, v)
    given = set(swept) | set(fixed)
    for p, field in _PSEUDO_SETS.items():
        if p in given and field in given:
            raise ValueError(f"{p} and {field} are both given; allowed: one of them ({p} sets {field})")

    # The rules each kernel or formula runs (the swept ones vary by their own dim).
    fixed_rules = {k: v for k, v in fixed.items() if k in RULE_ARGS}
    rule_coords: dict[str, list[str]] = {k: [] for k in ("formula", *RULE_ARGS) if k not in swept}
    if axis == "formula":
        rule_coords.pop("formula")
    for n in names:
        if axis == "formula":
            _formulas.spec(n)          # unknown formula: ValueError naming it and the known ones
        r = _rules(**{axis: n}, **fixed_rules)
        for rule_name in swept.get("inode_rule", ()):
            _rules(**{axis: n}, inode_rule=rule_name)
        for rule_name in swept.get("xfs_reclaim", ()):
            _rules(**{axis: n}, xfs_reclaim=rule_name)
        for rule_name in swept.get("memcg_remedy", ()):
            _rules(**{axis: n}, memcg_remedy=rule_name)
        for k in rule_coords:
            rule_coords[k].append(getattr(r, k))

    # Every cell's parameters, checked before anything runs.
    dims = [axis, "seed", *swept]
    axes = {axis: names, "seed": seed_list, **swept}
    shape = tuple(len(v) for v in axes.values())
    cells: list[tuple[dict, str, int, dict]] = []
    checked: dict[tuple, None] = {}
    for combo in itertools.product(*axes.values()):
        coord = dict(zip(dims, combo))
        setting = {**fixed, **{k: coord[k] for k in swept}}
        rule_kw = {k: setting.pop(k) for k in list(setting) if k in RULE_ARGS}
        pseudo = {k: setting.pop(k) for k in list(setting) if k in PSEUDO_PARAMETERS}
        key = tuple(sorted((k, repr(v)) for k, v in {**setting, **pseudo}.items()))
        try:
            overrides = {**setting, **pseudo_overrides(base, pseudo, nodes=setting.get("nodes"))}
            if key not in checked:
                params = base.replace(**overrides)
                watermarks(params.node_pages, params.nodes, params.min_free_kbytes,
                           params.watermark_scale_factor)
                checked[key] = None
        except ValueError as e:
            where = ", ".join(f"{k}={v!r}" for k, v in coord.items() if k not in (axis, "seed"))
            raise ValueError(f"{e} (grid cell {where or 'with the fixed parameters'})") from None
        cells.append((coord, coord[axis], coord["seed"], {**rule_kw, **overrides}))

    total = len(cells)
    report = _progress_bar() if progress is True else (progress if callable(progress) else None)
    run_scenario = scenario if isinstance(scenario, str) else sc
    if client is not None:
        from dask.distributed import as_completed

        futures = [client.submit(_cell, run_scenario, axis, n, s, bool(reduced), kw, pure=False)
                   for _, n, s, kw in cells]
        index = {f.key: i for i, f in enumerate(futures)}
        for done, fut in enumerate(as_completed(futures), 1):
            if report is not None:
                report(done, total, dict(cells[index[fut.key]][0]))
        results = client.gather(futures)
    else:
        results = []
        for done, (coord, n, s, kw) in enumerate(cells, 1):
            try:
                results.append(_cell(run_scenario, axis, n, s, bool(reduced), kw))
            except ValueError as e:     # what only a run finds (e.g. working sets that do not fit)
                where = ", ".join(f"{k}={v!r}" for k, v in coord.items())
                raise ValueError(f"{e} (grid cell {where})") from e
            if report is not None:
                report(done, total, dict(coord))
    return _assemble(results, dims, axes, shape, rule_coords, axis, sc, reduced, fixed, given)


def _assemble(results: list[xr.Dataset], dims: list[str], axes: dict, shape: tuple, rule_coords: dict,
              axis: str, sc: Scenario, reduced: bool, fixed: dict, given: set) -> xr.Dataset:
    """Stack the cells' summaries (in C order of ``axes``) into one Dataset."""
    first = results[0]
    for r in results[1:]:
        if "cache" in first.dims and not np.array_equal(r.cache.values, first.cache.values):
            raise ValueError(f"cells have different caches ({list(first.cache.values)} and "
                             f"{list(r.cache.values)}); per-cache variables need the same caches in every cell")
    names = list(dict.fromkeys(v for r in results for v in r.data_vars))
    data = {}
    for name in names:
        template = next(r[name] for r in results if name in r)
        arrays = []
        for r in results:
            if name in r:
                arrays.append(r[name].values)
            else:
                fill = "" if template.dtype.kind == "U" else np.nan
                arrays.append(np.full(template.shape, fill, dtype=template.dtype if fill == "" else float))
        stacked = np.stack(arrays).reshape(shape + template.shape)
        data[name] = ((*dims, *template.dims), stacked, dict(template.attrs))
    coords: dict[str, Any] = {}
    for d in dims:
        coords[d] = (d, np.array(axes[d]))
    coords[axis] = (axis, np.array(axes[axis], dtype=str),
                    {"long_name": "kernel release" if axis == "kernel" else "scan-count formula (as passed)"})
    coords["seed"] = ("seed", np.array(axes["seed"], dtype=np.int64), {"long_name": "seed of the run's draws"})
    for k, vals in rule_coords.items():
        coords[k] = (axis, np.array(vals, dtype=str))
    for k in ("cache", "seeks", "batch", "shrinker", "cause", "cause_long_name"):
        if k in first.coords:
            coords[k] = first[k].variable
    ds = xr.Dataset(data, coords=coords)
    for d in dims[2:]:
        note = PSEUDO_PARAMETERS.get(d)
        ds[d].attrs = {"long_name": f"swept parameter {d}" + (f" ({note})" if note else "")}
    ds.attrs = {
        "reclaimlab_version": __version__,
        "scenario": sc.name,
        "preset": "reduced" if reduced else "full",
        "axes": json.dumps({d: axes[d] for d in dims}),
        "fixed": json.dumps(fixed),
        "pseudo_parameters": json.dumps({k: v for k, v in PSEUDO_PARAMETERS.items() if k in given}),
        "kept": _KEPT,
    }
    return ds
