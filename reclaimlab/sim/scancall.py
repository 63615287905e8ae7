"""The scan arithmetic of one shrink_slab() call, on buffers allocated once per run.

:func:`reclaimlab.kernel.formulas.scan` coerces, checks and broadcasts its
inputs and allocates its outputs on every call (about 85 us), which was most
of a per-memcg shrink_slab() in runs with many cgroups. The simulator's
inputs are Python ints of a fixed shape (one per shrinker), so
:class:`ShrinkerScan` hands them to the same C loop
(:func:`reclaimlab.kernel.arith.run`, which still range-checks every input)
through buffers made once. The result is the same integers: the same loop on
the same values. On an error code the call is repeated through
``formulas.scan``, which raises its usual error; a registered formula with its
own delta rule (numpy code) always goes through ``formulas.scan``.
"""
from __future__ import annotations

import numpy as np

from ..kernel import arith, formulas
from ..kernel.spec import DELTA_CUSTOM


class ShrinkerScan:
    """do_shrink_slab()'s arithmetic for every shrinker of one (node, memcg), formula ``formula``.

    Parameters
    ----------
    formula : str
        The run's formula (any name :func:`reclaimlab.kernel.formulas.scan` takes).
    seeks, batch : numpy.ndarray
        Per shrinker (:class:`~.layout.Layout`).
    fs_shrinker : numpy.ndarray of bool
        Per shrinker: SHRINK_STOP when called without ``__GFP_FS``.
    numa_aware : numpy.ndarray of bool, optional
        Per shrinker: NUMA-aware (its deferred count is per node); default all.

    Examples
    --------
    The superblock (batch 1024, a filesystem shrinker, called without
    ``__GFP_FS``: SHRINK_STOP) and a cache of batch 128, as ``formulas.scan`` gives them:

    >>> from reclaimlab.kernel import formulas
    >>> s = ShrinkerScan("v4.19", np.array([2, 2]), np.array([1024, 128]), np.array([True, False]))
    >>> delta, total, scanned, nxt, _ = s([312, 5000], 12, np.array([0, 700]), np.zeros(2, np.int64), nofs=True)
    >>> delta, total, scanned, nxt.tolist()
    ([312, 128], [312, 828], [0, 768], [312, 60])
    >>> r = formulas.scan("v4.19", np.array([312, 5000]), 12, seeks=2, batch=np.array([1024, 128]),
    ...                   nr_deferred=np.array([0, 700]), shrink_stop=np.array([True, False]))
    >>> r.delta.tolist(), r.total_scan.tolist(), r.scanned.tolist(), r.next_deferred.tolist()
    ([312, 128], [312, 828], [0, 768], [312, 60])
    >>> s([-1, 0], 12, np.zeros(2, np.int64), np.zeros(2, np.int64), nofs=False)
    Traceback (most recent call last):
    ...
    ValueError: freeable=-1 (at flat index 0) is not allowed; freeable must be a non-negative object count (0 is valid and scans nothing)
    """

    def __init__(self, formula: str, seeks: np.ndarray, batch: np.ndarray, fs_shrinker: np.ndarray,
                 numa_aware: np.ndarray | None = None) -> None:
        spec = formulas.spec(formula)
        self.formula = formula
        self.checked = spec.delta_rule == DELTA_CUSTOM
        self.rules = (spec.delta_rule, spec.zero_seek, spec.deferral, spec.floor, spec.accumulator)
        s = len(seeks)
        self.seeks = np.ascontiguousarray(seeks, np.int64)
        self.batch = np.ascontiguousarray(batch, np.int64)
        self.fs_shrinker = np.asarray(fs_shrinker, bool)
        #: Every shrinker NUMA-aware: a (node, memcg) call's deferred counts are one column.
        self.all_numa = numa_aware is None or bool(np.all(numa_aware))
        self.freeable = np.zeros(s, np.int64)
        self.priority = np.zeros(1, np.int64)
        self.nr = np.zeros(s, np.int64)
        zero = np.zeros(1, np.int64)
        # shrink_stop = fs_shrinker & nofs, as 0/1 (what formulas.scan's flag coercion gives).
        self.stop = {False: np.zeros(s, np.int64), True: self.fs_shrinker.astype(np.int64)}
        # The C loop's inputs in arith.INPUT_ORDER; small_scan and stop are set per call.
        self.inputs = [self.freeable, self.priority, self.seeks, self.batch, self.nr, zero, zero, zero, zero, zero]
        assert arith.INPUT_ORDER[5] == "small_scan" and arith.INPUT_ORDER[9] == "stop"
        self.out = (np.empty(s, np.uint64),) + tuple(np.empty(s, np.int64) for _ in range(5))
        self.rule_codes = tuple(int(r) for r in self.rules)
        #: Whether the call changes small_scan (Rik van Riel's accumulator): otherwise it is passed through.
        self.changes_small = bool(spec.accumulator) or self.checked

    def __call__(self, freeable: list[int], priority: int, nr_deferred: np.ndarray,
                 small_scan: np.ndarray, nofs: bool) -> tuple[list[int], list[int], list[int], np.ndarray, np.ndarray]:
        """One call: (delta, total_scan, scanned) per shrinker as ints, next_deferred, small_scan.

        ``nr_deferred`` and ``small_scan`` (int64, one per shrinker) are read, not changed;
        the two arrays returned are owned by this object and overwritten by the next call.
        The small_scan returned equals the one given unless :attr:`changes_small`.
        """
        if self.checked:
            return self._checked(freeable, priority, nr_deferred, small_scan, nofs)
        self.freeable[:] = freeable
        self.priority[0] = priority
        self.nr[:] = nr_deferred
        inputs = self.inputs
        inputs[5] = small_scan if small_scan.flags.c_contiguous else np.ascontiguousarray(small_scan)
        inputs[9] = self.stop[bool(nofs)]
        out = self.out
        # The loop arith.run() wraps, called directly (arith.run builds this list on every call).
        code, _ = arith._scan(self.rule_codes, 1, inputs, out)
        if code:
            self._checked(freeable, priority, nr_deferred, small_scan, nofs)   # raises the error
            raise RuntimeError(f"the C scan loop reported error {code} that formulas.scan did not")
        return out[0].tolist(), out[1].tolist(), out[2].tolist(), out[3], out[4]

    def _checked(self, freeable, priority, nr_deferred, small_scan, nofs):
        res = formulas.scan(self.formula, np.array(freeable, np.int64), priority, seeks=self.seeks,
                            batch=self.batch, nr_deferred=np.array(nr_deferred, np.int64),
                            small_scan=small_scan, shrink_stop=self.fs_shrinker & bool(nofs))
        return (res.delta.tolist(), res.total_scan.tolist(), res.scanned.tolist(), res.next_deferred,
                np.array(res.small_scan, np.int64))
