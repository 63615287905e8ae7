"""The pool of output blocks (reclaimlab/native/outbuf.c) behind rl.formulas.scan's large outputs."""
import gc

import numpy as np
import pytest

import reclaimlab as rl
from reclaimlab import _native
from reclaimlab.kernel import arith


def test_a_freed_block_is_reused_with_its_pages():
    a = arith.empty((2_000_000,), np.int64)
    addr = a.ctypes.data
    a[:] = 7
    del a
    gc.collect()
    b = arith.empty((2_000_000,), np.int64)
    assert b.ctypes.data == addr          # the same memory, already mapped
    assert b.flags.writeable and b.flags.c_contiguous and b.shape == (2_000_000,)


def test_a_view_keeps_its_block_out_of_the_pool():
    a = arith.empty((1000, 1000), np.int64)
    view = a[10:20]
    addr = a.ctypes.data
    del a
    gc.collect()
    b = arith.empty((1000, 1000), np.int64)
    assert b.ctypes.data != addr          # still in use through the view
    view[:] = 1
    b[:] = 2
    assert (view == 1).all()


def test_small_outputs_are_plain_numpy_arrays():
    a = arith.empty((10,), np.uint64)
    assert a.flags.owndata and a.dtype == np.uint64


def test_the_pool_is_bounded():
    blocks = [_native.block(100 << 20) for _ in range(8)]
    del blocks
    gc.collect()
    n, nbytes = _native.pool_info()
    assert n <= 8 and nbytes <= 512 << 20


def test_block_rejects_a_negative_size():
    with pytest.raises(ValueError, match="nbytes is -1; allowed: 0 or more"):
        _native.block(-1)


def test_results_do_not_depend_on_reused_memory():
    # The second call's outputs land on the first call's (dirty) pages; every
    # element must still be written by the loop.
    rng = np.random.default_rng(1)
    n = 300_000
    F, p, nr = rng.integers(0, 10**8, n), rng.integers(0, 13, n), rng.integers(0, 10**7, n)
    first = rl.formulas.scan("v4.19", F[::-1].copy(), p, seeks=2, batch=1024, nr_deferred=nr)
    del first
    gc.collect()
    pooled = rl.formulas.scan("v4.19", F, p, seeks=2, batch=1024, nr_deferred=nr)
    pieces = [rl.formulas.scan("v4.19", F[i:i + 1000], p[i:i + 1000], seeks=2, batch=1024,
                               nr_deferred=nr[i:i + 1000]) for i in range(0, n, 1000)]
    for field in ("delta", "total_scan", "scanned", "next_deferred"):
        want = np.concatenate([getattr(r, field) for r in pieces])
        np.testing.assert_array_equal(getattr(pooled, field), want)
