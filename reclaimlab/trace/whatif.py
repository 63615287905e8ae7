"""What would another formula have done on exactly this sequence of calls?

The traced calls keep their cache size (``cache_items``), priority, GFP flags
and order; the deferred work is the model's own, carried from call to call in
one slot per (shrinker instance, node), and Rik van Riel's ``small_scan`` in
one per instance. Each call scans what the formula asks for, every batch in
full, except that the superblock shrinker scans nothing without ``__GFP_FS``
(SHRINK_STOP, docs/kernel.md §2.6) and defers it all.

Known approximations: since 5.13 memcg-aware shrinkers have one deferred slot
per memcg and node, which a trace does not show, so calls from different
memcgs share the modelled slot; concurrent callers are serialised in trace
order; a shrinker that frees less than asked (``nr_scanned`` lowered) is
modelled as scanning in full.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..kernel import formulas
from ..kernel.releases import detectable_formulas
from ..kernel.spec import ZERO_SEEK_NONE
from ..model.shrinkers import DEFAULT_SEEKS, preset_for_symbol

from .replay import check_calls, evaluable, instance_labels, model, replay
from ..model.schema import MISSING, variable

#: Formulas tried, in order, to find the traced kernel's arithmetic (and so its seeks).
KERNEL_CANDIDATES = detectable_formulas()

# Composite and single GFP flag names that include __GFP_FS (include/linux/gfp.h).
_FS_FLAGS = {"GFP_KERNEL", "GFP_KERNEL_ACCOUNT", "GFP_USER", "GFP_HIGHUSER", "GFP_HIGHUSER_MOVABLE",
             "GFP_TRANSHUGE", "GFP_TRANSHUGE_LIGHT", "__GFP_FS"}


def allows_fs(gfp_flags: str) -> bool:
    """Whether printed GFP flags include ``__GFP_FS`` (unknown text: assumed yes).

    Examples
    --------
    >>> allows_fs("GFP_NOFS"), allows_fs("GFP_KERNEL|__GFP_NOWARN"), allows_fs("GFP_NOIO")
    (False, True, False)
    """
    names = set(str(gfp_flags).split("|"))
    if names & _FS_FLAGS:
        return True
    return not (names & {"GFP_NOFS", "GFP_NOIO", "GFP_NOWAIT", "GFP_ATOMIC"})


def detect_kernel(ds: xr.Dataset) -> str:
    """The built-in formula that matches most calls of a trace (its kernel's arithmetic).

    Candidates are tried newest first (:data:`KERNEL_CANDIDATES`) and the first
    that matches every call wins. Some are indistinguishable on some traces:
    without zero-seek shrinkers, v4.16 and v5.0 compute the same, and so do
    v4.19 and v4.20; the newer is named then.

    Examples
    --------
    >>> import reclaimlab as rl
    >>> detect_kernel(rl.trace.parse(rl.trace.synthetic_trace(300)))
    'v5.13'
    >>> detect_kernel(rl.trace.parse(rl.trace.synthetic_trace(300, formula="v4.19")))
    'v4.20'
    """
    return _best_replay(ds, None, None)[0]


def _best_replay(ds: xr.Dataset, seeks, batch) -> tuple[str, xr.Dataset]:
    """(formula, replay) of the kernel candidate matching most calls; the first that matches all."""
    best = None
    for name in KERNEL_CANDIDATES:
        try:
            rep = replay(ds, name, seeks=seeks, batch=batch)
        except ValueError:  # the trace format cannot feed this formula
            continue
        rate = rep.attrs["match_rate"]
        if best is None or rate > best[1].attrs["match_rate"] or np.isnan(best[1].attrs["match_rate"]):
            best = (name, rep)
        if rate == 1.0:
            break
    if best is None:
        raise ValueError("no built-in formula can be fed by this trace's format")
    return best


def whatif(ds: xr.Dataset, formula: str, *, kernel: str | None = None, seeks=None, batch=None,
           initial: str = "observed") -> xr.Dataset:
    """Replay the call sequence of a trace under ``formula`` and total what it scans.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`reclaimlab.trace.read`.
    formula : str
        The formula to try (any name of ``formulas.names()`` or alias).
    kernel : str, optional
        Formula of the traced kernel, used to find each instance's seeks and
        batch by replay; detected (:func:`detect_kernel`) when omitted.
    seeks, batch : int or dict, optional
        Overrides, as for :func:`reclaimlab.trace.replay`. Where ``formula``
        has no zero-seek branch (before 4.20), seeks 0 becomes 2, as those
        shrinkers were registered then.
    initial : {"observed", "zero"}
        Deferred work in each slot before its first call: what the trace shows
        that call took, or nothing.

    Returns
    -------
    xarray.Dataset
        Along ``call``: ``shrinker``, ``shrinker_instance``, ``seeks``, ``batch``,
        ``nofs`` (SHRINK_STOP modelled), ``nr_deferred_model``,
        ``delta_model``, ``total_scan_model``, ``scanned_model``,
        ``next_deferred_model``, ``scanned`` (what the kernel scanned; -1
        without end event). Along ``symbol``: ``symbol_calls``,
        ``symbol_calls_with_end``, ``symbol_scanned_kernel`` (observed, calls
        with an end event), ``symbol_scanned_model`` (all calls),
        ``symbol_scanned_model_with_end`` (the same calls as
        ``symbol_scanned_kernel``), ``symbol_delta_kernel``,
        ``symbol_delta_model``, ``symbol_scanning_calls_kernel``,
        ``symbol_scanning_calls_model``, ``symbol_scan_ratio`` (model / kernel
        on the calls with an end event). ``attrs``: ``formula``, ``kernel``, ``initial``,
        totals ``scanned_kernel``, ``scanned_model``, ``scanned_model_with_end``.

    Raises
    ------
    ValueError
        When the calls are not in time order (``parse`` keeps the order of
        its text): the deferred work carried from call to call needs it.

    Examples
    --------
    >>> import reclaimlab as rl
    >>> ds = rl.trace.parse(rl.trace.synthetic_trace(2000, formula="v5.13"))
    >>> w = rl.trace.whatif(ds, "v5.13", kernel="v5.13")
    >>> int(w.attrs["scanned_model_with_end"]) == int(w.attrs["scanned_kernel"])
    True
    >>> w19 = rl.trace.whatif(ds, "v4.19", kernel="v5.13")
    >>> int(w19.attrs["scanned_model"]) > int(w.attrs["scanned_model"])
    True
    """
    check_calls(ds)
    if ds.sizes.get("call", 0) > 1 and (np.diff(ds.time.values) < 0).any():
        late = int((np.diff(ds.time.values) < 0).sum())
        raise ValueError(f"ds has {late} calls earlier than the call before them; whatif carries "
                         "deferred work from call to call and needs time order: "
                         "pass ds.sortby('time') or read the file with rl.trace.read, which sorts")
    spec = formulas.spec(formula)
    if initial not in ("observed", "zero"):
        raise ValueError(f"initial={initial!r} is not allowed; allowed: 'observed', 'zero'")
    if kernel is None:
        kernel, rep = _best_replay(ds, seeks, batch)
    else:
        kernel = formulas.spec(kernel).name
        rep = replay(ds, kernel, seeks=seeks, batch=batch)
    n = ds.sizes.get("call", 0)
    inst, labels, symbols, _ = instance_labels(ds)
    seeks_i = rep.instance_seeks.values.copy()
    if spec.zero_seek == ZERO_SEEK_NONE:
        seeks_i[seeks_i == 0] = DEFAULT_SEEKS
    batch_i = rep.instance_batch.values
    presets = [preset_for_symbol(s) for s in symbols]
    ok = evaluable(ds, formula)

    # One deferred slot per (instance, node); nid 0 for shrinkers known not to be NUMA aware.
    numa = np.array([p is None or p.numa_aware for p in presets], bool)
    nid = np.where(numa[inst], ds.nid.values, 0) if n else np.zeros(0, np.int64)
    slot, _ = pd.factorize(pd.MultiIndex.from_arrays([inst, nid])) if n else (np.zeros(0, np.int64), None)
    slot = np.asarray(slot, np.int64)
    fs = np.array([p is not None and p.fs for p in presets], bool)
    gfp = ds.gfp_flags.values
    fs_ok = {g: allows_fs(g) for g in pd.unique(gfp)} if n else {}
    nofs = fs[inst] & ~np.array([fs_ok[g] for g in gfp], bool) if n else np.zeros(0, bool)

    out = _run(formula, ds, ok, inst, slot, seeks_i, batch_i, nofs, initial)
    has_end = ds.has_end.values
    scanned_obs = np.where(has_end, ds.total_scan.values - ds.total_scan_left.values, MISSING)
    obj = "objects"
    data = {
        "shrinker": ds.shrinker.variable,
        "shrinker_instance": variable("call", labels[inst] if n else np.empty(0, object), "1",
                                      "shrinker instance: symbol and shrinker_id"),
        "seeks": variable("call", seeks_i[inst], "1", "seeks used"),
        "batch": variable("call", batch_i[inst], obj, "batch used"),
        "nofs": variable("call", nofs, "1", "superblock call without __GFP_FS: SHRINK_STOP, nothing scanned"),
        "evaluated": variable("call", ok, "1", "inputs valid for the formula"),
        "nr_deferred_model": variable("call", out["nr"], obj, "deferred work taken, carried by the model"),
        "delta_model": variable("call", out["delta"], obj, "modelled delta"),
        "total_scan_model": variable("call", out["total"], obj, "modelled total_scan after the caps"),
        "scanned_model": variable("call", out["scanned"], obj, "modelled objects scanned"),
        "next_deferred_model": variable("call", out["next"], obj, "modelled nr_deferred after the call"),
        "scanned": variable("call", scanned_obs, obj, "objects the kernel scanned (-1: no end event)"),
    }
    data.update(_symbol_totals(ds, ok, has_end, scanned_obs, out))
    w = xr.Dataset(data)
    with_end = ok & has_end
    w.attrs.update({
        "formula": formula, "formula_canonical": spec.name, "kernel": kernel, "initial": initial,
        "source": ds.attrs.get("source", ""), "calls": int(n), "evaluated": int(ok.sum()),
        "kernel_match_rate": rep.attrs["match_rate"],
        "scanned_kernel": int(scanned_obs[with_end].sum()),
        "scanned_model": int(out["scanned"][ok].sum()),
        "scanned_model_with_end": int(out["scanned"][with_end].sum()),
    })
    return w


def _run(formula, ds, ok, inst, slot, seeks_i, batch_i, nofs, initial) -> dict:
    """The carried replay: the k-th call of every instance at once, for k = 0, 1, ..."""
    n = len(inst)
    res = {k: np.full(n, MISSING, np.int64) for k in ("nr", "delta", "total", "scanned", "next")}
    idx = np.flatnonzero(ok)
    if not len(idx):
        return res
    nr_obs = ds.nr_deferred.values
    n_slots = int(slot.max()) + 1
    slot_val = np.zeros(n_slots, np.int64)
    if initial == "observed":
        first = pd.Series(idx).groupby(slot[idx]).first()
        slot_val[first.index.to_numpy()] = nr_obs[first.to_numpy()]
    acc = np.zeros(len(seeks_i), np.int64)  # small_scan per instance
    rank = pd.Series(inst[idx]).groupby(inst[idx]).cumcount().to_numpy()
    order = np.argsort(rank, kind="stable")
    bounds = np.searchsorted(rank[order], np.arange(rank.max() + 2))
    for k in range(len(bounds) - 1):
        c = idx[order[bounds[k]:bounds[k + 1]]]
        i, s = inst[c], slot[c]
        nr = slot_val[s]
        r = model(ds, formula, c, seeks_i[i], batch_i[i], nr=nr, small_scan=acc[i], shrink_stop=nofs[c])
        slot_val[s] = r.next_deferred
        acc[i] = r.small_scan
        res["nr"][c], res["delta"][c], res["total"][c] = nr, r.delta.astype(np.int64), r.total_scan
        res["scanned"][c], res["next"][c] = r.scanned, r.next_deferred
    return res


def _symbol_totals(ds, ok, has_end, scanned_obs, out) -> dict:
    codes, uniq = pd.factorize(ds.shrinker.values.astype(object))
    m = len(uniq)

    def total(values, mask):
        acc = np.zeros(m, np.int64)  # exact integer sums (float weights would round above 2**53)
        np.add.at(acc, codes[mask], np.asarray(values, np.int64)[mask])
        return acc

    ones = np.ones(len(codes), np.int64)
    with_end = ok & has_end
    kernel = total(scanned_obs, with_end)
    model_end = total(out["scanned"], with_end)
    v = {
        "symbol_calls": (total(ones, np.ones(len(codes), bool)), "1", "calls"),
        "symbol_calls_with_end": (total(ones, with_end), "1", "evaluated calls with an end event"),
        "symbol_scanned_kernel": (kernel, "objects", "objects the kernel scanned (calls with an end event)"),
        "symbol_scanned_model": (total(out["scanned"], ok), "objects", "objects the model scans (all calls)"),
        "symbol_scanned_model_with_end": (model_end, "objects",
                                          "objects the model scans (calls with an end event)"),
        "symbol_delta_kernel": (total(ds.delta.values, ok), "objects", "sum of the traced delta"),
        "symbol_delta_model": (total(out["delta"], ok), "objects", "sum of the modelled delta"),
        "symbol_scanning_calls_kernel": (total(ones, with_end & (scanned_obs > 0)), "1", "calls that scanned"),
        "symbol_scanning_calls_model": (total(ones, ok & (out["scanned"] > 0)), "1", "modelled calls that scan"),
        "symbol_scan_ratio": (np.where(kernel > 0, model_end / np.maximum(kernel, 1), np.nan), "1",
                              "symbol_scanned_model_with_end / symbol_scanned_kernel"),
    }
    res = {k: variable("symbol", a, u, ln) for k, (a, u, ln) in v.items()}
    res["symbol"] = variable("symbol", np.asarray(uniq, dtype=object), "1", "scan function")
    return res
