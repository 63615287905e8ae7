"""The compiled helpers of the simulator's ordered lists and state sums are numpy's, number for number.

``reclaimlab._native.remove_proportionally`` (native/cohorts.c) replaces
``lruorder.remove_proportionally``'s numpy calls (largest remainders first, the
earlier cohort first on a tie) and ``block_sums`` a node's ``np.add.reduce``
totals (``State.node_totals``). Both must give the numpy path's integers, or
every run would change; the numpy path is what an extension built before them
runs, so it is the reference here.
"""
from __future__ import annotations

import numpy as np
import pytest

from reclaimlab import _native
from reclaimlab.sim import lruorder

pytestmark = pytest.mark.skipif(not hasattr(_native, "remove_proportionally"),
                                reason="reclaimlab._native built before cohorts.c: the numpy path runs")


def _numpy_remove(col: np.ndarray, total: int, gone: int) -> None:
    saved = lruorder._c_remove_proportionally
    lruorder._c_remove_proportionally = None
    try:
        lruorder.remove_proportionally(col, total, gone)
    finally:
        lruorder._c_remove_proportionally = saved


@pytest.mark.parametrize("seed", range(4))
def test_remove_proportionally_matches_numpy(seed):
    """Columns of a cohort block (strided), short and long, sparse and dense, few and many extra items."""
    g = np.random.default_rng(seed)
    checked = 0
    for t in range(3000):
        n = int(g.integers(1, 4000 if t % 10 == 0 else 300))
        scale = int(g.choice([3, 50, 5000, 10**9]))       # 10**9 * gone wraps int64, as numpy does
        block = g.integers(0, scale, size=(n, 3)) * (g.random((n, 3)) < g.random())
        c = int(g.integers(0, 3))
        total = int(block[:, c].sum())
        if total < 2:
            continue
        gone = int(g.integers(1, total)) if t % 2 else int(g.integers(1, min(total, 200)))
        a, b = block.copy(), block.copy()
        assert _native.remove_proportionally(a[:, c], total, gone)
        _numpy_remove(b[:, c], total, gone)
        assert (a == b).all(), (n, total, gone)
        checked += 1
    assert checked > 2500


def test_remove_proportionally_declines_what_is_not_a_split():
    """A total that is not the column's sum (rem < 0), or gone outside (0, total): left to the caller."""
    col = np.array([10, 0, 30])
    assert not _native.remove_proportionally(col, 20, 15)        # the shares would take more than 15
    assert not _native.remove_proportionally(col, 40, 0) and not _native.remove_proportionally(col, 40, 40)
    assert not _native.remove_proportionally(col.astype(np.int32), 40, 20)
    assert col.tolist() == [10, 0, 30]
    lruorder.remove_proportionally(col, 40, 20)
    assert col.tolist() == [5, 0, 15]


def test_block_sums_are_numpys_totals():
    """State.node_totals' C sums: np.add.reduce(a[:rows, n], axis=(1, 2)) as Python ints."""
    g = np.random.default_rng(1)
    a = g.integers(-10**6, 10**12, size=(9, 3, 31, 6))
    for n in range(3):
        assert _native.block_sums(a, n, 8) == np.add.reduce(a[:8, n], axis=(1, 2)).tolist()
    gen = g.integers(0, 10**6, size=(2, 2, 5, 1))
    assert sum(_native.block_sums(gen, 1, 2)) == int(np.add.reduce(gen[:, 1], axis=None))
    with pytest.raises(IndexError):
        _native.block_sums(a, 3, 8)
    with pytest.raises(TypeError):
        _native.block_sums(a.astype(np.float64), 0, 8)
