"""The compiled draws (reclaimlab/native/draws.c) are numpy's, number for number.

The simulator's scalar draws go through ``reclaimlab._native`` (issue 19's
speed work), which links numpy's own distribution routines (libnpyrandom) and
draws from the Generator's bit generator. Every run must stay bit-identical
to the plain ``Generator`` calls, so each function is compared here with the
numpy calls it replaces over many arguments, every branch of numpy's
algorithms included (binomial inversion and BTPE, each for p above and below
1/2; hypergeometric by sampling and by HRUA; Poisson by multiplication and
PTRS), and the two streams must end at the same position. A numpy whose
algorithms changed fails here, not silently in the simulator's results.
"""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from reclaimlab import _native
from reclaimlab.sim import draw

pytestmark = pytest.mark.skipif(getattr(_native, "DRAWS_NUMPY", None) is None,
                                reason="reclaimlab._native built without numpy's libnpyrandom "
                                       "(the simulator draws through numpy's Python API)")


def _pair(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    return np.random.default_rng(seed), np.random.default_rng(seed)


def _same_position(a: np.random.Generator, b: np.random.Generator) -> bool:
    return a.bit_generator.state == b.bit_generator.state


def test_built_for_the_numpy_in_use():
    """Rebuild the extension after changing numpy: the simulator otherwise takes the slow path."""
    assert _native.DRAWS_NUMPY == np.__version__, (
        f"reclaimlab._native was built against numpy {_native.DRAWS_NUMPY}, numpy {np.__version__} "
        "runs: rebuild it (pip install -e .) so that its draws are this numpy's")
    assert draw._c_binomial is _native.binomial


# ---------------------------------------------------------------------------- binomial

BINOMIAL_CASES = [
    (0, 0.3), (1, 0.0), (7, 0.0), (7, 1.0), (5, 0.5), (1, 0.999999),
    (30, 0.999), (60, 0.5), (61, 0.5),            # n*p around 30: inversion | BTPE
    (100, 0.3), (100, 0.7), (101, 0.29999),
    (1000, 0.03), (1000, 0.031), (1000, 0.97), (10**6, 1e-7), (10**6, 0.5),
    (10**9, 0.25), (2**40, 1e-9), (2**62, 0.5), (2**62, 1e-18),
]


@pytest.mark.parametrize("n,p", BINOMIAL_CASES)
def test_binomial_edges(n, p):
    a, b = _pair(n % 1000 + 1)
    for _ in range(50):
        assert _native.binomial(a, n, p) == b.binomial(n, p)
    assert _same_position(a, b)


def test_binomial_random_arguments():
    g = np.random.default_rng(11)
    a, b = _pair(12)
    for i in range(20000):
        n = int(g.integers(0, 60)) if i % 2 else int(g.integers(0, 10**6))
        p = float(g.random()) ** (1 + i % 5)
        p = 1.0 - p if i % 3 == 0 else p
        got = _native.binomial(a, n, p)
        assert got == b.binomial(n, p), (n, p)
        assert type(got) is int
    assert _same_position(a, b)


@pytest.mark.parametrize("p", [0.2, "list"])
def test_binomial_each(p):
    g = np.random.default_rng(3)
    a, b = _pair(4)
    for size in (0, 1, 3, 64, 65, 500):      # 65, 500: past the stack buffer
        counts = (g.integers(0, 300, size) * (g.random(size) < 0.6)).tolist()
        shares = g.random(size).tolist() if p == "list" else p
        want = [b.binomial(c, q) if c else 0
                for c, q in zip(counts, shares if p == "list" else [p] * size)]
        assert _native.binomial_each(a, counts, shares) == want
    assert _same_position(a, b)


# ---------------------------------------------------------------------- hypergeometric

#: take_values' chain through the public Generator calls: the reference.
_chain = draw.take_values_numpy


@pytest.mark.parametrize("good,bad,sample", [
    (1, 1, 1), (5, 5, 9), (10, 10, 9), (10, 10, 10), (10, 10, 11), (15, 5, 10),   # sample | HRUA
    (1, 10**6, 500), (10**6, 1, 999_999), (500_000_000, 499_999_999, 3),
    (500_000_000, 499_999_999, 400_000_000), (999_999_998, 1, 999_999_990),
])
def test_hypergeometric_edges(good, bad, sample):
    a, b = _pair(good % 97)
    for _ in range(50):
        want = int(b.hypergeometric(good, bad, sample))
        assert _native.hypergeometric_chain(a, [good, bad], sample) == [want, sample - want]
    assert _same_position(a, b)


def test_hypergeometric_pair_is_one_draw():
    """A chain over two classes is one Generator.hypergeometric(good, bad, sample) call."""
    g = np.random.default_rng(21)
    a, b = _pair(22)
    for i in range(20000):
        good, bad = int(g.integers(1, 50 if i % 2 else 10**5)), int(g.integers(1, 10**5))
        sample = int(g.integers(1, good + bad))
        got = _native.hypergeometric_chain(a, [good, bad], sample)
        want = int(b.hypergeometric(good, bad, sample))
        assert got == [want, sample - want], (good, bad, sample)
    assert _same_position(a, b)


def test_hypergeometric_chains():
    g = np.random.default_rng(5)
    a, b = _pair(6)
    for i in range(5000):
        size = int(g.integers(1, 10))
        values = (g.integers(0, 2000 if i % 2 else 30, size) * (g.random(size) < 0.7)).tolist()
        k = int(g.integers(-2, sum(values) + 3))
        assert _native.hypergeometric_chain(a, values, k) == _chain(b, values, k)
    assert _same_position(a, b)


# ----------------------------------------------------------------- multinomial, poisson

@pytest.mark.parametrize("pvals", [
    [1.0], [0.2, 0.3, 0.5], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [1.0, 0.5, 0.0],
    [0.5, 0.5, 0.0], [0.7, 0.3, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.999, 0.001, 0.2],
    [0.1, 0.2, 0.3, 0.4], [1e-300, 0.5, 0.5], [0.6, 0.4 + 1e-13, 0.0],
])
@pytest.mark.parametrize("n", [0, 1, 17, 1000, 10**7])
def test_multinomial(pvals, n):
    a, b = _pair(n + len(pvals))
    for _ in range(20):
        got = _native.multinomial(a, n, pvals)
        if got is None:      # the caller then calls numpy itself
            return
        assert got == b.multinomial(n, pvals).tolist()
    assert _same_position(a, b)


def test_multinomial_random_shares():
    g = np.random.default_rng(8)
    a, b = _pair(9)
    taken = 0
    for i in range(5000):
        pd = min(float(g.random()) * 1.3, 1.0)
        pu = min(float(g.random()), 1.0 - pd)
        pvals = [pd, pu, max(1.0 - pd - pu, 0.0)]          # as fileplan.plan_fileset builds them
        n = int(g.integers(0, 40 if i % 2 else 10**5))
        got = _native.multinomial(a, n, pvals)
        if got is not None:
            taken += 1
            assert got == b.multinomial(n, pvals).tolist(), (n, pvals)
    assert taken == 5000
    assert _same_position(a, b)


@pytest.mark.parametrize("lam", [0.0, 1e-300, 0.5, 3.0, 9.999999, 10.0, 10.5, 1e3, 1e6, 1e12, 1e15])
def test_poisson(lam):
    a, b = _pair(int(lam) % 101)
    for _ in range(50):
        got = _native.poisson(a, lam)
        assert got == b.poisson(lam) and type(got) is int
    assert _same_position(a, b)


# ---------------------------------------------------------------------------- refusals

@pytest.mark.parametrize("call", [
    lambda r: _native.binomial(r, -1, 0.5),
    lambda r: _native.binomial(r, 5, float("nan")),
    lambda r: _native.binomial(r, 5, 1.0000001),
    lambda r: _native.binomial(r, 5, -0.1),
    lambda r: _native.binomial(r, 5.0, 0.5),
    lambda r: _native.binomial(r, np.int64(5), 0.5),
    lambda r: _native.binomial(r, 2**63, 0.5),
    lambda r: _native.binomial(r, 5, 1),
    lambda r: _native.binomial_each(r, [3, -1], 0.5),
    lambda r: _native.binomial_each(r, [3, 4], [0.5]),
    lambda r: _native.binomial_each(r, [3, 4], [0.5, float("nan")]),
    lambda r: _native.binomial_each(r, (3, 4), 0.5),
    lambda r: _native.hypergeometric_chain(r, [10**9, 5], 3),
    lambda r: _native.hypergeometric_chain(r, [600_000_000, 400_000_000], 3),
    lambda r: _native.hypergeometric_chain(r, [5, -1], 3),
    lambda r: _native.hypergeometric_chain(r, [5, 3], 2.0),
    lambda r: _native.hypergeometric_chain(r, [1] * 65, 3),
    lambda r: _native.multinomial(r, 5, [0.6, 0.6, 0.0]),
    lambda r: _native.multinomial(r, 5, [0.5, float("nan"), 0.5]),
    lambda r: _native.multinomial(r, 5, []),
    lambda r: _native.multinomial(r, -1, [0.5, 0.5]),
    lambda r: _native.poisson(r, -1.0),
    lambda r: _native.poisson(r, float("nan")),
    lambda r: _native.poisson(r, 3),
    lambda r: _native.poisson(r, 1e16),
])
def test_refused_arguments_draw_nothing(call):
    """Arguments numpy refuses or converts its own way: None, and the stream untouched."""
    a, b = _pair(1)
    assert call(a) is None
    assert _same_position(a, b)


class _MyGenerator(np.random.Generator):
    def binomial(self, n, p, size=None):
        return 0


@pytest.mark.parametrize("make", [np.random.RandomState, lambda s: _MyGenerator(np.random.PCG64(s))])
def test_only_numpy_generators(make):
    """RandomState's legacy algorithms differ and a subclass may override: those get None."""
    a, b = make(1), make(1)
    assert _native.binomial(a, 10, 0.5) is None
    assert _native.poisson(a, 3.0) is None
    assert draw.binomial(a, 10, 0.5) == int(b.binomial(10, 0.5))
    assert a.random() == b.random()


@pytest.mark.parametrize("bitgen", [np.random.PCG64, np.random.MT19937, np.random.Philox,
                                    np.random.SFC64, np.random.PCG64DXSM])
def test_any_bit_generator(bitgen):
    a, b = np.random.Generator(bitgen(7)), np.random.Generator(bitgen(7))
    for n in (3, 300, 10**5):
        assert _native.binomial(a, n, 0.4) == b.binomial(n, 0.4)
        want = int(b.hypergeometric(n, 50, 20))
        assert _native.hypergeometric_chain(a, [n, 50], 20) == [want, 20 - want]
    assert _native.poisson(a, 42.0) == b.poisson(42.0)
    assert a.random() == b.random()


def test_interleaved_generators():
    """The one-Generator cache follows the Generator passed, each keeping its own stream."""
    a1, b1 = _pair(1)
    a2, b2 = _pair(2)
    for _ in range(100):
        assert _native.binomial(a1, 100, 0.4) == b1.binomial(100, 0.4)
        assert _native.binomial(a2, 100, 0.4) == b2.binomial(100, 0.4)
    assert _same_position(a1, b1) and _same_position(a2, b2)


def test_follows_a_restored_state():
    """Setting the bit generator's state (a rerun from a saved point) moves the C draws with it."""
    a, b = _pair(6)
    saved = a.bit_generator.state
    first = [_native.binomial(a, 1000, 0.3) for _ in range(10)]
    a.bit_generator.state = saved
    assert [_native.binomial(a, 1000, 0.3) for _ in range(10)] == first == \
        [b.binomial(1000, 0.3) for _ in range(10)]


def test_waits_for_the_generators_lock():
    """With other threads about, a draw takes the bit generator's lock, as numpy's calls do."""
    rng = np.random.default_rng(3)
    got = []
    worker = threading.Thread(target=lambda: got.append(_native.binomial(rng, 100, 0.4)))
    with rng.bit_generator.lock:
        worker.start()
        time.sleep(0.2)
        assert not got            # blocked on the lock this thread holds
    worker.join(10)
    assert got == [np.random.default_rng(3).binomial(100, 0.4)]
    lock = rng.bit_generator.lock
    assert lock.acquire(blocking=False)      # released again (from this thread's view too)
    lock.release()


def test_threads_draw_one_stream():
    """Threads drawing from one Generator through both paths take numbers from one stream."""
    rng = np.random.default_rng(4)
    out: list[list[int]] = [[], []]

    def work(j: int) -> None:
        for _ in range(2000):
            out[j].append(_native.binomial(rng, 50, 0.5) if j else int(rng.binomial(50, 0.5)))

    threads = [threading.Thread(target=work, args=(j,)) for j in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    # 4000 draws in all: the stream moved by exactly that many.
    ref = np.random.default_rng(4)
    for _ in range(4000):
        ref.binomial(50, 0.5)
    assert _same_position(rng, ref)
    assert sorted(out[0] + out[1]) == sorted(np.random.default_rng(4).binomial(50, 0.5, 4000).tolist())


def test_draw_module_paths_match_numpy():
    """reclaimlab.sim.draw's entry points through the C draws give the plain calls' numbers."""
    a, b = _pair(31)
    g = np.random.default_rng(32)
    for _ in range(500):
        counts = g.integers(0, 40, 4).tolist()
        k = int(g.integers(0, 100))
        assert draw.take_values(a, counts, k) == _chain(b, counts, k)
        fr = g.random(4).tolist()
        assert draw.thin_values(a, counts, fr) == [b.binomial(c, q) if c else 0 for c, q in zip(counts, fr)]
        assert draw.thin(a, counts[0], fr[0]) == b.binomial(counts[0], fr[0])
        assert draw.poisson(a, fr[1] * 20) == b.poisson(fr[1] * 20)
        assert draw.multinomial_values(a, counts[1], [0.25, 0.25, 0.5]) == \
            b.multinomial(counts[1], [0.25, 0.25, 0.5]).tolist()
    assert _same_position(a, b)


def test_numpy_path_draws_the_same(monkeypatch):
    """Without the C draws (another numpy, or no libnpyrandom at build) draw.py's functions give the same."""
    g = np.random.default_rng(40)
    cases = []
    for _ in range(300):
        counts = (g.integers(0, 60, 5) * (g.random(5) < 0.7)).tolist()
        cases.append((counts, int(g.integers(-1, 150)), g.random(5).tolist(), float(g.random() * 30)))

    def run(rng):
        out = []
        for counts, k, fr, lam in cases:
            out.append(draw.take_values(rng, counts, k))
            out.append(draw.thin_values(rng, counts, fr))
            out.append(draw.thin(rng, np.array(counts), fr[0]).tolist())
            out.append(draw.thin(rng, counts[0], fr[1]))
            out.append(draw.thin_sparse(rng, np.array([counts, counts]), fr[2]).tolist())
            out.append(draw.binomial(rng, counts[1], fr[3]))
            out.append(draw.poisson(rng, lam))
            out.append(draw.multinomial_values(rng, counts[2], [fr[4] / 2, fr[4] / 2, 1 - fr[4]]))
        return out, rng.random()

    fast = run(np.random.default_rng(41))
    for name in ("_c_chain", "_c_binomial", "_c_binomial_each", "_c_multinomial", "_c_poisson"):
        monkeypatch.setattr(draw, name, None)
    assert run(np.random.default_rng(41)) == fast


def _plan_sim(nodes: int, seed: int, creates: float, working_set: int, nofs: bool):
    from reclaimlab.kernel.releases import Rules
    from reclaimlab.sim.engine import Sim
    from reclaimlab.sim.params import FileSet, SimParams

    fs = FileSet("f", 3, working_set=working_set, reads_per_s=2.0, creates_per_s=creates, nofs=nofs)
    return Sim(SimParams(nodes=nodes, filesets=(fs, FileSet("g", 1, working_set=10, reads_per_s=1.0))),
               Rules("v4.19", "v4.18", "sync", "none"), seed)


@pytest.mark.parametrize("nodes", [1, 2, 3])
@pytest.mark.parametrize("creates,working_set,nofs", [(0.0, 4000, False), (50.0, 0, False), (50.0, 4000, True),
                                                      (0.0, 1, False)])
def test_fileset_draws_are_the_python_plans(nodes, creates, working_set, nofs):
    """fileplan's one compiled call (fileset_draws) gives plan_fileset_numpy's draws, floats and stream."""
    from reclaimlab.sim import fileplan
    from reclaimlab.sim.state import ROOT

    a, b = _plan_sim(nodes, 4, creates, working_set, nofs), _plan_sim(nodes, 4, creates, working_set, nofs)
    g = np.random.default_rng(nodes)
    spec = fileplan.draw_spec(a.params, 0)
    for i in range(300):
        # Any state the lists can hold: each count from 0 to beyond the working set.
        cells = g.integers(0, max(working_set, 2) * (1 + i % 3), size=(9, nodes))
        xcs = g.integers(0, max(working_set, 2), size=nodes) * (i % 2)
        for sim in (a, b):
            sim.st.lists[:, :, ROOT, 0] = cells
            sim.st.x_clean_set[:, 0] = xcs
        seconds = float(g.choice([0.0, 1e-3, 0.05, 0.2, 3.0]))
        got = fileplan.plan_filesets(a, (spec,), seconds)[0]
        want = fileplan.plan_fileset_numpy(b, 0, seconds)
        assert (got.k, got.pages, got.fs_pages) == (want.k, want.pages, want.fs_pages)
        assert got.nodes == want.nodes               # NodeDraw and ReadDraw are tuples: compared item by item
    assert _same_position(a.rng, b.rng)


def test_fileset_draws_leave_what_numpy_refuses_to_python():
    """A count numpy's draws would refuse (a negative list) draws nothing in C: the Python draws then raise."""
    from reclaimlab.sim import fileplan
    from reclaimlab.sim.state import ROOT

    sim = _plan_sim(2, 1, 0.0, 4000, False)
    sim.st.lists[5, 1, ROOT, 0] = -5           # d_unref on node 1
    before = sim.rng.bit_generator.state
    specs = (fileplan.draw_spec(sim.params, 1), fileplan.draw_spec(sim.params, 0))    # the bad one second
    assert _native.fileset_draws(sim.rng, sim.st.lists, sim.st.x_clean_set, specs, 0.05) is None
    assert sim.rng.bit_generator.state == before
    with pytest.raises(ValueError):
        fileplan.plan_fileset(sim, 0, 0.05)


def test_fileset_draws_of_an_actors_sets_follow_one_another():
    """One call for all of an actor's sets draws them in turn, as plan_fileset_numpy set after set."""
    from reclaimlab.sim import fileplan
    from reclaimlab.sim.state import ROOT

    a, b = _plan_sim(2, 6, 30.0, 4000, False), _plan_sim(2, 6, 30.0, 4000, False)
    specs = (fileplan.draw_spec(a.params, 0), fileplan.draw_spec(a.params, 1))
    g = np.random.default_rng(2)
    for _ in range(200):
        cells = g.integers(0, 3000, size=(9, 2, 2))
        for sim in (a, b):
            sim.st.lists[:, :, ROOT, :] = cells
        got = fileplan.plan_filesets(a, specs, 0.5)
        want = [fileplan.plan_fileset_numpy(b, 0, 0.5), fileplan.plan_fileset_numpy(b, 1, 0.5)]
        assert [(p.k, p.pages, p.fs_pages, p.nodes) for p in got] == [(p.k, p.pages, p.fs_pages, p.nodes) for p in want]
    assert _same_position(a.rng, b.rng)
