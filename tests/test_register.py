"""rl.formulas.register: users' delta rules on a built-in's deferral and scan loop."""
import numpy as np
import pytest

import reclaimlab as rl


@pytest.fixture
def registered():
    names = []

    def add(name, fn, **kw):
        names.append(rl.formulas.register(name, fn, **kw))
        return names[-1]

    yield add
    for n in names:
        if n in rl.formulas.names():
            rl.formulas.unregister(n)


def v50_delta(F, p, S, B):
    return np.where(S == 0, F // 2, ((F >> p) * 4) // np.maximum(S, 1))


def test_rule_equal_to_v50_delta_reproduces_v50(registered):
    registered("same-as-5.0", v50_delta, base="v5.0")
    F = np.array([0, 1, 10, 999, 4096, 123_457, 10**8])
    for p in (0, 5, 12):
        for S in (0, 1, 2, 7):
            a = rl.formulas.scan("same-as-5.0", F, p, seeks=S, batch=64, nr_deferred=77)
            b = rl.formulas.scan("v5.0", F, p, seeks=S, batch=64, nr_deferred=77)
            for k in ("delta", "total_scan", "scanned", "next_deferred"):
                np.testing.assert_array_equal(getattr(a, k), getattr(b, k))


def test_floor_32_is_a_custom_min_scan_floor(registered):
    def floor32(F, p, S, B):
        return np.maximum(v50_delta(F, p, S, B), np.minimum(F, 32))

    registered("floor-32", floor32)
    r = rl.formulas.scan("floor-32", [10, 1000, 10**6], 12, batch=1024)
    np.testing.assert_array_equal(r.delta, [10, 32, 488])
    # A floor equal to the batch size is exactly 4.20's floor.
    registered("floor-batch", lambda F, p, S, B: np.maximum(v50_delta(F, p, S, B), np.minimum(F, B)),
               base="v4.20")
    ds = rl.sweep(["floor-batch", "v4.20"], freeable=[1, 50, 5000, 10**6], priority=[12, 3],
                  seeks=[0, 2], batch=[0, 1024], calls=25)
    np.testing.assert_array_equal(ds.scanned_total.sel(formula="floor-batch"),
                                  ds.scanned_total.sel(formula="v4.20"))


def test_state_is_carried_like_small_scan(registered):
    """Rik's accumulator written by a user matches the built-in rik-2019 over many calls."""
    def rik(F, p, S, B, state):
        d = np.where(S == 0, (F + 1) // 2, ((F >> p) * 4) // np.maximum(S, 1))
        take = (d == 0) & (S != 0)
        acc = np.where(take, state + F, state)
        considered = acc >> p
        extra = (4 * considered) // np.maximum(S, 1)
        d = np.where(take, extra, d)
        acc = np.where(take & (extra != 0), acc - (considered << p), acc)
        return d, acc

    registered("my-rik", rik, base="v4.20")
    ds = rl.sweep(["my-rik", "rik-2019"], freeable=[1, 300, 3000, 40_000], priority=12,
                  batch=128, calls=5000)
    np.testing.assert_array_equal(ds.scanned_total.sel(formula="my-rik"),
                                  ds.scanned_total.sel(formula="rik-2019"))
    np.testing.assert_array_equal(ds.small_scan.sel(formula="my-rik"),
                                  ds.small_scan.sel(formula="rik-2019"))


def test_base_v513_supplies_5_13_deferral(registered):
    registered("513-clone", v50_delta, base="v6.1")
    assert rl.formulas.spec("513-clone").base == "v5.13"
    a = rl.formulas.scan("513-clone", 10**6, 4, nr_deferred=5 * 10**6, batch=1024)
    b = rl.formulas.scan("v5.13", 10**6, 4, nr_deferred=5 * 10**6, batch=1024)
    assert (a.total_scan, a.next_deferred) == (b.total_scan, b.next_deferred)
    assert "513-clone" in rl.formulas.names() and "v5.13" in rl.formulas.describe("513-clone")


def test_register_errors(registered):
    with pytest.raises(ValueError, match="name='v4.19'.*built-in"):
        rl.formulas.register("v4.19", v50_delta)
    with pytest.raises(ValueError, match="name='v6.1'.*built-in"):
        rl.formulas.register("v6.1", v50_delta)
    with pytest.raises(ValueError, match="name='bad name'"):
        rl.formulas.register("bad name", v50_delta)
    with pytest.raises(TypeError, match="delta_fn"):
        rl.formulas.register("x", 42)
    with pytest.raises(ValueError, match="formula='nope'.*known"):
        rl.formulas.register("x", v50_delta, base="nope")
    registered("neg", lambda F, p, S, B: F * 0 - 1)
    with pytest.raises(ValueError, match="delta returned by delta_fn of 'neg' contains -1"):
        rl.formulas.scan("neg", 10, 12)
    registered("flt", lambda F, p, S, B: F / 2)
    with pytest.raises(TypeError, match="delta returned by delta_fn of 'flt'"):
        rl.formulas.scan("flt", 10, 12)
    with pytest.raises(ValueError, match="name='never' is not registered"):
        rl.formulas.unregister("never")


def test_reregistering_replaces(registered):
    registered("again", lambda F, p, S, B: F * 0 + 1)
    registered("again", lambda F, p, S, B: F * 0 + 2)
    assert int(rl.formulas.scan("again", 10, 12).delta) == 2
    assert rl.formulas.names().count("again") == 1


def test_stateless_rule_over_many_calls_equals_one_call_at_a_time(registered):
    """A rule without state is evaluated once and the C loop runs the calls: same as chaining."""
    from reclaimlab.kernel.evaluate import evaluate
    from reclaimlab.kernel.formulas import REGISTRY

    seen = []

    def v50_counted(F, p, S, B):
        seen.append(1)
        return v50_delta(F, p, S, B)

    spec = REGISTRY.resolve(registered("counted", v50_counted, base="v5.0"))
    F, nr = np.array([0, 7, 300, 5000, 10**6]), np.array([0, 5, 900, 0, 12345])
    values = dict(freeable=F, priority=12, seeks=2, batch=128, nr_deferred=nr, small_scan=0,
                  lru_scanned=0, lru_eligible=0)
    many, many_total = evaluate(spec, values, calls=40)
    assert len(seen) == 1
    total = np.zeros_like(F)
    for _ in range(40):
        one, scanned = evaluate(spec, values, calls=1)
        values["nr_deferred"], total = one.next_deferred, total + scanned
    np.testing.assert_array_equal(many.next_deferred, one.next_deferred)
    np.testing.assert_array_equal(many_total, total)
    assert len(seen) == 41
