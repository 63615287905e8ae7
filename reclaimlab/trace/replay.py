"""Replay every traced do_shrink_slab() call through a formula and compare.

Each call is evaluated from its own observed inputs (``nr_deferred``,
``cache_items``, ``priority``; ``pgs_scanned``/``lru_pgs`` for ``v4.15``),
never from the observed ``delta`` or ``total_scan``, with one seeks and batch
per shrinker instance (:mod:`reclaimlab.trace.params`). Rik van Riel's
``small_scan`` accumulator is not in any tracepoint; replay takes it as 0. A call matches when the
model's ``delta`` and ``total_scan`` equal what the start event printed.

The end event is checked too: its ``new scan count`` must be the model's
deferral given what the call really scanned (``start.total_scan -
end.total_scan``), or more when another task added to the same deferred slot
meanwhile ("concurrent").
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..kernel import formulas

from . import params
from .deferral import deferred_after
from ..model.schema import CALL_VARS, MISSING, variable

#: Outcomes of the end-event check, in ``new_scan_check``.
NEW_SCAN_CHECKS = ("ok", "concurrent", "mismatch", "no_end", "not_evaluated")

_NEEDED = ("shrinker", "shrinker_id", "nr_deferred", "cache_items", "delta", "total_scan",
           "priority", "pgs_scanned", "lru_pgs", "has_end", "new_scan", "total_scan_left")


def check_calls(ds: xr.Dataset, name: str = "ds") -> None:
    """Raise unless ``ds`` looks like the output of :func:`reclaimlab.trace.read`."""
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"{name}={type(ds).__name__} must be an xarray.Dataset from rl.trace.read")
    missing = [v for v in _NEEDED if v not in ds]
    if missing:
        raise ValueError(f"{name} lacks {missing}; expected the Dataset of rl.trace.read (dim 'call')")


def instance_labels(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """(code per call, labels, symbols, ids) of the shrinker instances of ``ds``."""
    sym = ds.shrinker.values.astype(object)
    sid = ds.shrinker_id.values.astype(object)
    labels = (pd.Series(sym, dtype=object) + " " + pd.Series(sid, dtype=object)).to_numpy()
    codes, uniq = pd.factorize(labels)
    first = pd.Series(np.arange(len(codes))).groupby(codes).first().to_numpy() if len(codes) else []
    return (codes.astype(np.int64), np.asarray(uniq, dtype=object),
            [str(sym[i]) for i in first], [str(sid[i]) for i in first])


def evaluable(ds: xr.Dataset, formula: str) -> np.ndarray:
    """Calls the formula can be run on: valid inputs (and, for v4.15, LRU counts).

    Raises
    ------
    ValueError
        When the formula needs an input the trace format lacks (the priority
        in a pre-4.16 trace, ``pgs_scanned``/``lru_pgs`` in a 4.16+ one).
    """
    spec = formulas.spec(formula)
    F, nr, p = ds.cache_items.values, ds.nr_deferred.values, ds.priority.values
    ok = (F >= 0) & (nr >= 0)
    if spec.uses_lru:
        has = (ds.pgs_scanned.values >= 0) & (ds.lru_pgs.values >= 0)
        what = "pgs_scanned/lru_pgs (pre-4.16 format)"
    else:
        has = (p >= 0) & (p <= 12)
        what = "a priority from 0 to 12 (4.16+ format)"
    if len(F) and not has.any():
        raise ValueError(f"formula={formula!r} needs {what}, which no call of this trace has; "
                         f"allowed: {'a pre-4.16 trace' if spec.uses_lru else 'v4.15 for pre-4.16 traces'}")
    return ok & has


def model(ds: xr.Dataset, formula: str, idx: np.ndarray, seeks, batch, nr=None, small_scan=0,
          shrink_stop=False):
    """``formulas.scan`` on calls ``idx`` with the given seeks and batch (per call).

    ``nr`` defaults to the traced ``nr_deferred``; ``v4.15`` gets the LRU counts
    of pre-4.16 traces instead of the priority.
    """
    uses_lru = formulas.spec(formula).uses_lru
    return formulas.scan(
        formula, ds.cache_items.values[idx], 12 if uses_lru else ds.priority.values[idx], seeks=seeks,
        batch=batch, nr_deferred=ds.nr_deferred.values[idx] if nr is None else nr, small_scan=small_scan,
        shrink_stop=shrink_stop,
        lru_scanned=ds.pgs_scanned.values[idx] if uses_lru else 0,
        lru_eligible=ds.lru_pgs.values[idx] if uses_lru else 0)


def replay(ds: xr.Dataset, formula: str, *, seeks=None, batch=None) -> xr.Dataset:
    """Model vs observed for every call of a trace.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`reclaimlab.trace.read`.
    formula : str
        Formula name or alias (``formulas.names()``); ``v4.15`` for pre-4.16
        traces.
    seeks, batch : int or dict, optional
        Overrides: one value for all, or a dict keyed by shrinker_id, symbol
        (``"super_cache_scan"``) or preset name (``"superblock"``). Otherwise
        from the shrinker table, checked against the trace, and inferred per
        instance where the table cannot tell.

    Returns
    -------
    xarray.Dataset
        Along ``call``: the observed variables of ``ds`` plus ``shrinker_instance``,
        ``seeks``, ``batch``, ``evaluated``, ``delta_model``,
        ``total_scan_model``, ``scanned_model`` (every batch fully scanned),
        ``next_deferred_model``, ``scanned`` (observed, -1 without end),
        ``new_scan_model`` (the deferral given the observed scan; -1 without
        end), ``delta_match``, ``total_scan_match``, ``match`` and
        ``new_scan_check`` (one of :data:`NEW_SCAN_CHECKS`). Along
        ``instance`` (labelled "symbol shrinker_id"): ``instance_shrinker``, ``instance_id``,
        ``instance_seeks``, ``instance_seeks_source``, ``instance_seeks_fits``,
        ``instance_batch``, ``instance_batch_source``, ``instance_calls``,
        ``instance_matched``. Along ``symbol`` (one per scan function):
        ``symbol_calls``, ``symbol_evaluated``, ``symbol_matched``,
        ``symbol_match_rate``, ``symbol_concurrent``,
        ``symbol_new_scan_mismatch``, ``symbol_instances``. Along ``mismatch``:
        ``mismatch_call``, the indices of calls that do not match.
        ``attrs``: ``formula``, ``formula_canonical``, ``calls``,
        ``evaluated``, ``matched``, ``match_rate``, ``concurrent``,
        ``new_scan_mismatch``, ``source``.

    Raises
    ------
    ValueError
        Unknown formula, a formula the trace format cannot feed, or bad overrides.
    TypeError
        ``ds`` is not a Dataset.

    Examples
    --------
    >>> import reclaimlab as rl
    >>> ds = rl.trace.parse(
    ...     "kswapd0-475 [028] .... 305968.252561: mm_shrink_slab_start: super_cache_scan+0x0/0x190 "
    ...     "0000000024acf00c: nid: 0 objects to shrink 4994376020 gfp_flags GFP_KERNEL "
    ...     "cache items 93689873 delta 45746 total_scan 46844936 priority 12\\n")
    >>> rep = rl.trace.replay(ds, "v4.16")
    >>> bool(rep.match[0]), int(rep.seeks[0]), int(rep.batch[0])
    (True, 2, 1024)
    >>> bool(rl.trace.replay(ds, "v5.13").match[0])
    False
    """
    check_calls(ds)
    spec = formulas.spec(formula)
    n = ds.sizes.get("call", 0)
    inst, labels, symbols, ids = instance_labels(ds)
    ok = evaluable(ds, formula)
    ev = np.flatnonzero(ok)
    d_obs = ds.delta.values.astype(np.int64).astype(np.uint64)
    t_obs = ds.total_scan.values

    def matches(idx, s, b):
        calls = ev[idx]
        r = model(ds, formula, calls, s, b)
        return (r.delta == d_obs[calls]) & (r.total_scan == t_obs[calls])

    prm = params.resolve(spec.name, symbols, ids, inst[ev], matches, seeks=seeks, batch=batch)
    seeks_c, batch_c = prm.seeks[inst], prm.batch[inst]

    delta_m = np.full(n, MISSING, np.int64)
    total_m, scanned_m, next_m = delta_m.copy(), delta_m.copy(), delta_m.copy()
    if len(ev):
        r = model(ds, formula, ev, seeks_c[ev], batch_c[ev])
        delta_m[ev] = r.delta.astype(np.int64)
        total_m[ev], scanned_m[ev], next_m[ev] = r.total_scan, r.scanned, r.next_deferred
    d_match = ok & (delta_m.astype(np.uint64) == d_obs)
    t_match = ok & (total_m == t_obs)
    match = d_match & t_match

    has_end = ds.has_end.values
    scanned = np.where(has_end, t_obs - ds.total_scan_left.values, MISSING)
    new_model = np.where(has_end & ok, deferred_after(spec.name, ds.nr_deferred.values, delta_m, scanned,
                                                      ds.cache_items.values), MISSING)
    new_obs = ds.new_scan.values
    check = np.full(n, "not_evaluated", dtype=object)
    check[ok & ~has_end] = "no_end"
    both = ok & has_end
    check[both & (new_obs == new_model)] = "ok"
    check[both & (new_obs > new_model)] = "concurrent"
    check[both & (new_obs < new_model)] = "mismatch"

    obj = "objects"
    out = {name: ds[name].variable for name in CALL_VARS if name in ds}
    out.update({
        "shrinker_instance": variable("call", labels[inst] if n else np.empty(0, object), "1",
                                      "shrinker instance: symbol and shrinker_id"),
        "seeks": variable("call", seeks_c, "1", "shrinker->seeks used"),
        "batch": variable("call", batch_c, obj, "batch size used (shrinker->batch, 0 -> 128)"),
        "evaluated": variable("call", ok, "1", "inputs valid for the formula"),
        "delta_model": variable("call", delta_m, obj, "modelled delta (-1: not evaluated)"),
        "total_scan_model": variable("call", total_m, obj, "modelled total_scan after the caps"),
        "scanned_model": variable("call", scanned_m, obj, "modelled objects scanned, every batch full"),
        "next_deferred_model": variable("call", next_m, obj, "modelled nr_deferred after the call"),
        "scanned": variable("call", scanned, obj, "observed objects scanned: start minus end total_scan"),
        "new_scan_model": variable("call", new_model, obj,
                                   "modelled new scan count given the observed scan (-1: no end)"),
        "delta_match": variable("call", d_match, "1", "delta_model equals the observed delta"),
        "total_scan_match": variable("call", t_match, "1", "total_scan_model equals the observed total_scan"),
        "match": variable("call", match, "1", "delta and total_scan both equal the observed"),
        "new_scan_check": variable("call", check, "1", "end-event check: " + ", ".join(NEW_SCAN_CHECKS)),
    })
    out.update(_instance_vars(labels, symbols, ids, prm, inst, match))
    out.update(_symbol_vars(ds, inst, match, ok, check))
    out["mismatch_call"] = variable("mismatch", np.flatnonzero(ok & ~match), "1",
                                    "index along call of each evaluated call that does not match")
    rep = xr.Dataset(out)
    n_ok = int(ok.sum())
    rep.attrs.update({
        "formula": formula, "formula_canonical": spec.name, "source": ds.attrs.get("source", ""),
        "calls": int(n), "evaluated": n_ok, "matched": int(match.sum()),
        "match_rate": float(match.sum() / n_ok) if n_ok else float("nan"),
        "concurrent": int((check == "concurrent").sum()),
        "new_scan_mismatch": int((check == "mismatch").sum()),
        "seeks_candidates": ",".join(map(str, params.SEEKS_CANDIDATES)),
    })
    return rep


def _instance_vars(labels, symbols, ids, prm, inst, match) -> dict:
    n_inst = len(labels)
    calls = np.bincount(inst, minlength=n_inst)
    matched = np.bincount(inst[match], minlength=n_inst) if len(inst) else calls
    v = {
        "instance_shrinker": (np.array(symbols, dtype=object), "1", "scan function"),
        "instance_id": (np.array(ids, dtype=object), "1", "shrinker pointer as printed"),
        "instance_seeks": (prm.seeks, "1", "seeks used"),
        "instance_seeks_source": (prm.seeks_source, "1", "override, table, inferred, default or no-fit"),
        "instance_seeks_fits": (prm.seeks_fits, "1", "seeks candidates that fit every call"),
        "instance_batch": (prm.batch, "objects", "batch used"),
        "instance_batch_source": (prm.batch_source, "1", "override, table, inferred, default or no-fit"),
        "instance_calls": (calls, "1", "calls of the instance"),
        "instance_matched": (matched, "1", "calls that match"),
    }
    out = {k: variable("instance", a, u, ln) for k, (a, u, ln) in v.items()}
    out["instance"] = variable("instance", np.asarray(labels, dtype=object), "1",
                               "shrinker instance: symbol and shrinker_id")
    return out


def _symbol_vars(ds, inst, match, ok, check) -> dict:
    sym = ds.shrinker.values.astype(object)
    codes, uniq = pd.factorize(sym)
    m = len(uniq)

    def count(mask):
        return np.bincount(codes[mask], minlength=m) if len(codes) else np.zeros(m, np.int64)

    calls = count(np.ones(len(codes), bool))
    evaluated = count(ok)
    matched = count(match)
    inst_per = (pd.Series(inst).groupby(codes).nunique().reindex(range(m), fill_value=0).to_numpy()
                if len(codes) else np.zeros(m, np.int64))
    rate = np.where(evaluated > 0, matched / np.maximum(evaluated, 1), np.nan)
    v = {
        "symbol_calls": (calls, "1", "calls of this scan function"),
        "symbol_evaluated": (evaluated, "1", "calls the formula could be run on"),
        "symbol_matched": (matched, "1", "calls whose delta and total_scan match"),
        "symbol_match_rate": (rate, "1", "matched / evaluated"),
        "symbol_concurrent": (count(check == "concurrent"), "1", "end events showing a concurrent add"),
        "symbol_new_scan_mismatch": (count(check == "mismatch"), "1", "end events below the model"),
        "symbol_instances": (inst_per, "1", "shrinker instances"),
    }
    out = {k: variable("symbol", a, u, ln) for k, (a, u, ln) in v.items()}
    out["symbol"] = variable("symbol", np.asarray(uniq, dtype=object), "1", "scan function")
    return out
