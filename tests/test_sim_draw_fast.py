"""The simulator's fast paths draw exactly what the plain numpy calls draw.

Speed work (issue 19) must leave every run bit-identical: these check the
scalar and small-array paths of :mod:`reclaimlab.sim.draw` against the numpy
calls they replace, value for value and position in the random stream.
"""
from __future__ import annotations

import numpy as np
import pytest

from reclaimlab.sim.draw import SMALL_ARRAY, poisson, take, take_values, thin


def _same_stream(r1: np.random.Generator, r2: np.random.Generator) -> bool:
    return r1.random() == r2.random()


@pytest.mark.parametrize("seed", range(20))
def test_take_values_is_take(seed):
    g = np.random.default_rng(seed)
    counts = (g.integers(0, 1000, 4) * (g.random(4) < 0.7)).tolist()
    k = int(g.integers(0, 2500))
    r1, r2 = np.random.default_rng(seed + 1), np.random.default_rng(seed + 1)
    assert take(r1, np.array(counts), k).tolist() == take_values(r2, counts, k)
    assert _same_stream(r1, r2)


@pytest.mark.parametrize("shape", [(3,), (2, 4), (2, 32), (2, 31, 4)])
@pytest.mark.parametrize("fraction", ["scalar", "array", "row", "out of range"])
def test_thin_draws_as_binomial(shape, fraction):
    for seed in range(10):
        g = np.random.default_rng(seed)
        counts = g.integers(0, 50, shape) * (g.random(shape) < 0.4)
        p = {"scalar": float(g.random()), "array": g.random(shape), "row": g.random(shape[-1:]),
             "out of range": 1.5}[fraction]
        r1, r2 = np.random.default_rng(seed + 7), np.random.default_rng(seed + 7)
        want = r1.binomial(counts, np.clip(np.asarray(p, float), 0.0, 1.0))
        got = thin(r2, counts, p)
        assert got.dtype == want.dtype and got.shape == want.shape
        assert (got == want).all()
        assert _same_stream(r1, r2)
    assert SMALL_ARRAY >= 3


@pytest.mark.parametrize("mean", [0.0, -0.0, -2.0, 0.3, 7.5, 40.0, np.float64(3.2), 5])
def test_scalar_poisson_and_thin(mean):
    r1, r2 = np.random.default_rng(3), np.random.default_rng(3)
    assert r1.poisson(np.maximum(np.asarray(mean, dtype=float), 0.0)) == poisson(r2, mean)
    assert r1.binomial(np.asarray(17, np.int64), np.clip(np.asarray(mean / 10, float), 0.0, 1.0)) \
        == thin(r2, 17, mean / 10)
    assert _same_stream(r1, r2)


def test_state_block_views_and_row_sums():
    """State's (n, m, k) arrays are views of one block: in-place changes show in the row sums."""
    from reclaimlab.sim.state import LISTS, State

    st = State(2, 3, 4, 1, 2)
    g = np.random.default_rng(0)
    for name in LISTS:
        getattr(st, name)[...] += g.integers(0, 100, (2, 3, 4))
    for n in range(2):
        assert st.node_totals(n) == [int(getattr(st, name)[n].sum()) for name in LISTS[:8]]
        for m in range(3):
            assert (st.pages_at(n, m) == st.pages()[n, m]).all()
            assert (st.inodes_at(n, m) == st.inodes()[n, m]).all()
            assert (st.dentries_at(n, m) == st.dentries()[n, m]).all()
