"""The explorer's sweeps, computed once per formula and setting and kept for reuse.

A redraw of :class:`~reclaimlab.widgets.FormulaExplorer` needs the sweep of
every selected formula over all priorities and the chosen cache sizes. Most
control moves change one input for all formulas (batch, seeks, sizes, calls),
but some add or remove one formula (the floor, the formula list), and users
move sliders back and forth. So each formula's sweep is kept, keyed by the
inputs that decide it, and a redraw computes only the formulas it lacks.

The result is the same Dataset :func:`~reclaimlab.widgets.explorer_dataset`
returns (``xarray.testing.assert_identical``, tests/test_widgets.py).
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from ..kernel import formulas
from ..sweep import sweep
from .recent import Recent

#: The built-in formula whose arithmetic is v5.0 plus the kernel's min-scan
#: floor ``max(delta, min(F, B))``: 4.20 (172b06c32b94's floor on top of
#: 4b85afbdacd2's zero-seek branch; 5.0 = a9a238e83fbb reverted the floor and
#: kept the branch). The explorer's "kernel" floor is computed as this built-in
#: in the C loop rather than as a registered numpy rule, which the evaluator
#: calls once per call (2,000 Python round trips at the default: about 0.4 s).
KERNEL_FLOOR_BUILTIN = "v4.20"

#: Formula sweeps kept (one per formula and setting): a few slider positions of
#: six formulas; each holds 6 int64 arrays of 13 x 25 points, about 16 KB.
KEEP = 128


def freeable_grid(sizes, points: int) -> np.ndarray:
    """The explorer's cache sizes: ``points`` log-spaced values over ``10**lo .. 10**hi``, deduplicated.

    Examples
    --------
    >>> freeable_grid((0, 2), 5).tolist()
    [1, 3, 10, 31, 100]
    """
    lo, hi = sizes
    return np.unique(np.logspace(lo, hi, points).astype(np.int64))


class SweepCache:
    """Per-formula sweeps over all priorities, least recently used dropped after :data:`KEEP`.

    Parameters
    ----------
    keep : int
        How many (formula, setting) sweeps to keep.

    Examples
    --------
    >>> cache = SweepCache()
    >>> ds = cache.dataset(["v4.19", "v5.0"], batch=128, seeks=2, sizes=(1, 4), calls=10)
    >>> list(ds.formula.values), cache.computed
    (['v4.19', 'v5.0'], 2)
    >>> _ = cache.dataset(["v5.0"], batch=128, seeks=2, sizes=(1, 4), calls=10)
    >>> cache.computed                       # v5.0 at this setting was kept
    2
    """

    def __init__(self, keep: int = KEEP) -> None:
        self._parts = Recent(keep)
        #: Formula sweeps computed so far (not taken from the cache).
        self.computed = 0

    def dataset(self, names, *, batch: int, seeks: int, sizes, calls: int, points: int = 25,
                same_as: dict | None = None) -> xr.Dataset:
        """The sweep of ``names`` (in that order) as :func:`reclaimlab.sweep` returns it.

        ``same_as`` maps a formula name to a built-in with the same arithmetic
        (computed as that built-in, labelled with the name).
        """
        names = list(names)
        if not names:
            raise ValueError("formulas=() is empty; select at least one formula")
        same_as = same_as or {}
        setting = (int(batch), int(seeks), tuple(sizes), int(calls), int(points))
        # A registered rule is part of the key: a name registered again with
        # another rule is computed again (the key holds the rule, so its id stays unique).
        keys = {n: (n, formulas.spec(n).delta_fn, setting) for n in names}
        found = {n: self._parts.get(k) for n, k in keys.items()}
        missing = [n for n, part in found.items() if part is None]
        if missing:
            computed = sweep([same_as.get(n, n) for n in missing], freeable=freeable_grid(sizes, points),
                             priority=list(range(13)), batch=int(batch), seeks=int(seeks),
                             calls=int(calls))
            if any(n in same_as for n in missing):
                attrs = computed.formula.attrs
                computed = computed.assign_coords(formula=np.array(missing, dtype=object))
                computed.formula.attrs = dict(attrs)
                computed.attrs["formulas"] = ", ".join(formulas.spec(n).name for n in missing)
            self.computed += len(missing)
            # Kept as (sweep, index): a formula is cut out of its sweep only when a
            # later redraw mixes it with formulas computed at another time.
            for i, n in enumerate(missing):
                found[n] = (computed, i)
                self._parts.put(keys[n], found[n])
            if missing == names:
                return computed.copy()
        parts = [self._part(*found[n]) for n in names]
        if len(parts) == 1:
            return parts[0]
        ds = xr.concat(parts, dim="formula", coords="minimal", compat="override", join="override")
        # What sweep() records: the formulas of this Dataset, not of the first part.
        ds.attrs = dict(parts[0].attrs, formulas=", ".join(p.attrs["formulas"] for p in parts))
        return ds

    @staticmethod
    def _part(computed: xr.Dataset, i: int) -> xr.Dataset:
        """Formula ``i`` of a sweep, as its own one-formula sweep (a copy)."""
        if computed.sizes["formula"] == 1:
            return computed.copy(deep=True)
        part = computed.isel(formula=[i]).copy(deep=True)
        part.attrs["formulas"] = computed.attrs["formulas"].split(", ")[i]
        return part
