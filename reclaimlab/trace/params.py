"""seeks and batch for each shrinker instance of a trace.

A trace prints the scan function and the shrinker pointer, never seeks or
batch. They come, in this order, from the caller's overrides, from the table of
known shrinkers (:mod:`reclaimlab.model.shrinkers`), or from the trace itself:
the one value (among :data:`SEEKS_CANDIDATES`) for which the formula gives the
observed ``delta`` and ``total_scan`` of every call of the instance. A table
value is trusted only if it fits every call; the superblock shrinker's is never
trusted without that check, since procfs and sysfs/kernfs superblocks have
seeks 0 and the rest 2 (docs/kernel.md §8.2).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..kernel import formulas
from ..kernel.spec import ZERO_SEEK_NONE
from ..kernel.releases import version_tuple
from ..model.shrinkers import SHRINK_BATCH, preset_for_symbol

#: seeks values tried, most likely first (DEFAULT_SEEKS, zero-seek, then rarer ones).
SEEKS_CANDIDATES = (2, 0, 1, 4, 3, 8, 16, 32)
#: batch values tried for shrinkers whose batch the table does not know.
BATCH_CANDIDATES = (SHRINK_BATCH, 1024, 2049, 512, 256, 64, 32, 4096)


@dataclass
class InstanceParams:
    """Per shrinker instance (arrays of one entry per instance).

    ``seeks_source``/``batch_source``: "override", "table" (a known value that
    fits every call), "inferred" (the candidate, or the most likely of several,
    that fits every call), "default" (nothing known and nothing tells: 128 for
    batch) or "no-fit" (no candidate fits every call; the one fitting most calls
    is used). ``seeks_fits``: the seeks candidates tried that fit every call,
    comma-separated (more than one: the trace cannot tell them apart).
    """

    seeks: np.ndarray
    batch: np.ndarray
    seeks_source: np.ndarray
    batch_source: np.ndarray
    seeks_fits: np.ndarray


def formula_kernel(formula: str) -> str | None:
    """The kernel a formula stands for, for kernel-dependent table values (None: current).

    Examples
    --------
    >>> formula_kernel("v4.19"), formula_kernel("v6.1"), formula_kernel("rik-2019")
    ('v4.19', 'v6.1', None)
    """
    try:
        version_tuple(formula)
    except ValueError:
        return None
    return formula


def _override(value, name: str, symbols, ids, presets) -> list[int | None]:
    """Per instance, the override of ``value`` (int or dict) or None."""
    n = len(symbols)
    if value is None:
        return [None] * n
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return [_check(name, "all", value)] * n
    if not isinstance(value, dict):
        raise TypeError(f"{name}={value!r} must be an int or a dict keyed by shrinker symbol, "
                        f"shrinker_id or preset name")
    known = set(symbols) | set(ids) | {p for p in presets if p}
    unknown = [k for k in value if k not in known]
    if unknown:
        raise ValueError(f"{name} keys {unknown!r} match no shrinker of this trace; allowed: symbols "
                         f"{sorted(set(symbols))}, shrinker_ids or preset names")
    out = []
    for sym, sid, pre in zip(symbols, ids, presets):
        for key in (sid, sym, pre):
            if key in value:
                out.append(_check(name, key, value[key]))
                break
        else:
            out.append(None)
    return out


def _check(name: str, key, v) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0 or v > 2**31 - 1:
        raise ValueError(f"{name}[{key!r}]={v!r} is not allowed; {name} must be an int from 0 to 2**31-1")
    return int(v)


def resolve(formula: str, symbols, ids, inst, evaluate, *, seeks=None, batch=None) -> InstanceParams:
    """seeks and batch for every instance.

    Parameters
    ----------
    formula : str
        The formula replayed.
    symbols, ids : sequence of str
        Scan function and shrinker_id of each instance.
    inst : numpy.ndarray of int
        Instance code of each evaluable call.
    evaluate : callable
        ``evaluate(idx, seeks, batch) -> bool array``: whether the evaluable
        calls ``idx`` match when run with those seeks and batch (one per call).
    seeks, batch : int or dict, optional
        Overrides, keyed by shrinker_id, symbol or preset name.
    """
    n = len(symbols)
    table = [preset_for_symbol(s) for s in symbols]
    names = [p.name if p else "" for p in table]
    s_over = _override(seeks, "seeks", symbols, ids, names)
    b_over = _override(batch, "batch", symbols, ids, names)
    kernel = formula_kernel(formula)
    zero_ok = formulas.spec(formula).zero_seek != ZERO_SEEK_NONE

    s_cands, b_cands = [], []
    for k in range(n):
        p = table[k]
        if s_over[k] is not None:
            s_cands.append([s_over[k]])
        else:
            first = p.seeks_for(kernel) if p else 2
            s_cands.append(list(dict.fromkeys([first, *SEEKS_CANDIDATES])))
        if b_over[k] is not None:
            b_cands.append([b_over[k]])
        elif p and p.batch_known:
            b_cands.append([p.batch])
        else:
            b_cands.append(list(dict.fromkeys([p.batch if p else SHRINK_BATCH, *BATCH_CANDIDATES])))
        if not zero_ok:  # the kernel would divide by zero
            if s_over[k] == 0:
                raise ValueError(f"seeks=0 (for {symbols[k]} {ids[k]}) is not allowed for formula "
                                 f"{formula!r}: it has no zero-seek branch; allowed: seeks >= 1, or a "
                                 f"formula with one (v4.20 and later)")
            s_cands[k] = [s for s in s_cands[k] if s != 0]

    # Candidate (seeks, batch) pairs, batch-major; all instances are tried at once, pair j
    # of each. An instance is done when its first pair is a trusted table value or an
    # override that fits, or when all seeks of a batch have been tried and one fitted.
    pairs = [[(s, b) for b in bc for s in sc] for sc, bc in zip(s_cands, b_cands)]
    trusted = [(s_over[k] is not None or (table[k] is not None and table[k].seeks_known))
               and (b_over[k] is not None or (table[k] is not None and table[k].batch_known))
               for k in range(n)]
    misses: list[dict] = [{} for _ in range(n)]   # (seeks, batch) -> calls that do not match
    done = np.zeros(n, bool)
    counts = np.bincount(inst, minlength=n) if len(inst) else np.zeros(n, np.int64)
    for j in range(max((len(c) for c in pairs), default=0)):
        active = np.array([not done[k] and j < len(pairs[k]) and counts[k] > 0 for k in range(n)])
        if not active.any():
            break
        s_vec = np.array([pairs[k][j][0] if active[k] else 1 for k in range(n)], np.int64)
        b_vec = np.array([pairs[k][j][1] if active[k] else 0 for k in range(n)], np.int64)
        idx = np.flatnonzero(active[inst])
        ok = evaluate(idx, s_vec[inst[idx]], b_vec[inst[idx]])
        bad = np.bincount(inst[idx][~ok], minlength=n)
        for k in np.flatnonzero(active).tolist():
            misses[k][pairs[k][j]] = int(bad[k])
            last_of_batch = j + 1 == len(pairs[k]) or pairs[k][j + 1][1] != pairs[k][j][1]
            if (j == 0 and bad[k] == 0 and trusted[k]) or (last_of_batch and 0 in misses[k].values()):
                done[k] = True

    out_s, out_b, src_s, src_b, fit_txt = [], [], [], [], []
    for k in range(n):
        p = table[k]
        tried = misses[k]
        good = [pair for pair in tried if tried[pair] == 0]
        s0, b0 = s_cands[k][0], b_cands[k][0]
        if good:
            s, b = (s0, b0) if (s0, b0) in good else good[0]
        elif tried:  # nothing fits every call: the candidate that fits most (first of equals)
            s, b = min(tried, key=lambda pair: tried[pair])
        else:
            s, b = s0, b0
        out_s.append(s)
        out_b.append(b)
        fit_txt.append(",".join(str(x) for x in sorted({g[0] for g in good if g[1] == b})))
        src_s.append(_seeks_source(s_over[k] is not None, p, good, counts[k], s == s0))
        src_b.append(_batch_source(b_over[k] is not None, p, good, counts[k], b == b0))
    return InstanceParams(np.array(out_s, np.int64), np.array(out_b, np.int64),
                          np.array(src_s, dtype=object), np.array(src_b, dtype=object),
                          np.array(fit_txt, dtype=object))


def _seeks_source(override: bool, preset, good, n_calls: int, is_first: bool) -> str:
    if n_calls and not good:
        return "no-fit"
    if override:
        return "override"
    if not n_calls:
        return "table" if preset is not None else "default"
    return "table" if preset is not None and preset.seeks_known and is_first else "inferred"


def _batch_source(override: bool, preset, good, n_calls: int, is_first: bool) -> str:
    if override:
        return "override"
    if preset is not None and preset.batch_known:
        return "table"
    if n_calls and not good:
        return "no-fit"
    return "default" if is_first else "inferred"
