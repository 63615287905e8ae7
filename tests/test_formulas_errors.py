"""Every error ``rl.formulas.scan`` raises: parameter name, offending value, what is allowed.

The project's habit: errors are ValueError/TypeError naming the parameter, the
value and what is allowed.  Each test matches the parameter name and the value
with ``pytest.raises(..., match=...)`` and then checks the "allowed" part.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import kernel_reference as kr

rl = pytest.importorskip("reclaimlab")
pytest.importorskip("reclaimlab.formulas")

CANONICAL = tuple(kr.REFERENCE)
ALL_NAMES = CANONICAL + tuple(kr.ALIASES)
V415_KW = dict(lru_scanned=32, lru_eligible=999)

# "what is allowed" for a non-negative integer parameter
NONNEG = re.compile(r"(>=\s*0|≥\s*0|non-?negative|at least 0|not be negative|"
                    r"must not be negative|cannot be negative|0\s*(\.\.|to|-|–)|\[0,)", re.I)


def kw_for(name, **kw):
    base = dict(V415_KW) if kr.ALIASES.get(name, name) == "v4.15" else {}
    base.update(kw)
    return base


def both(param, value):
    """Regex: the message names ``param`` and contains ``value`` (either order)."""
    p, v = re.escape(param), re.escape(str(value))
    return rf"(?s)(?=.*\b{p}\b)(?=.*(?<![\d.]){v}(?![\d]))"


# ---------------------------------------------------------------------------
# priority
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ALL_NAMES)
@pytest.mark.parametrize("bad", [-1, 13, 100, -(2**40)])
def test_priority_out_of_range(name, bad):
    with pytest.raises(ValueError, match=both("priority", bad)) as ei:
        rl.formulas.scan(name, 1000, bad, **kw_for(name))
    msg = str(ei.value)
    assert "0" in msg and "12" in msg, f"allowed range 0..12 not stated: {msg!r}"


@pytest.mark.parametrize("name", CANONICAL)
def test_priority_array_with_one_bad_element(name):
    with pytest.raises(ValueError, match=both("priority", 13)) as ei:
        rl.formulas.scan(name, 1000, np.array([0, 12, 13]), **kw_for(name))
    assert "12" in str(ei.value)


def outcome(res):
    """(delta, total_scan, scanned, next_deferred, small_scan) of a scalar result, as ints."""
    return tuple(int(np.asarray(getattr(res, k))) for k in
                 ("delta", "total_scan", "scanned", "next_deferred", "small_scan"))


# Worked by hand from the kernel source (docs/kernel.md), F = 1000, batch 128, seeks 2,
# nothing deferred. Priority 0: delta = (1000 >> 0) * 4 / 2 = 2000, not under
# F/4 = 250, not over 2F = 2000; the loop takes 15 batches of 128 = 1920 (the
# 80 left are < F), 2000 - 1920 = 80 is deferred. Priority 12: 1000 >> 12 = 0.
PRIORITY_BOUNDS = {
    # v4.15 ignores priority: 4*32/2 = 64, * 1000 = 64000, do_div by 999+1 = 64;
    # 64 < 128 and < F: nothing scanned, 64 deferred.
    ("v4.15", 0): (64, 64, 0, 64, 0),
    ("v4.15", 12): (64, 64, 0, 64, 0),
    ("v4.16", 0): (2000, 2000, 1920, 80, 0),
    ("v4.16", 12): (0, 0, 0, 0, 0),
    # the floor: max(0, min(F, batch)) = 128, one batch scanned
    ("v4.19", 0): (2000, 2000, 1920, 80, 0),
    ("v4.19", 12): (128, 128, 128, 0, 0),
    ("v4.20", 0): (2000, 2000, 1920, 80, 0),
    ("v4.20", 12): (128, 128, 128, 0, 0),
    ("v5.0", 0): (2000, 2000, 1920, 80, 0),
    ("v5.0", 12): (0, 0, 0, 0, 0),
    # total = (0 >> p) + delta, capped at 2F; next = nr + delta - scanned
    ("v5.13", 0): (2000, 2000, 1920, 80, 0),
    ("v5.13", 12): (0, 0, 0, 0, 0),
    # delta 0: small_scan += 1000; 1000 >> 12 = 0 considered, so delta stays 0
    ("rik-2019", 0): (2000, 2000, 1920, 80, 0),
    ("rik-2019", 12): (0, 0, 0, 0, 1000),
    # (ilog2(1000) = 9 + 1000) * 4 / 2 = 2018, capped at 2F = 2000, 2018 - 1920 = 98 deferred
    ("dave-2019", 0): (2018, 2000, 1920, 98, 0),
    # (9 + 0) * 4 / 2 = 18 < 128 and < F: deferred
    ("dave-2019", 12): (18, 18, 0, 18, 0),
}


@pytest.mark.parametrize("name", CANONICAL)
@pytest.mark.parametrize("good", [0, 12])
def test_priority_bounds_are_valid(name, good):
    res = rl.formulas.scan(name, 1000, good, **kw_for(name))
    assert outcome(res) == PRIORITY_BOUNDS[name, good]


# ---------------------------------------------------------------------------
# negative integers
# ---------------------------------------------------------------------------

NONNEG_PARAMS = ["freeable", "nr_deferred", "batch", "seeks", "small_scan",
                 "lru_scanned", "lru_eligible"]


def _call_with(name, param, value):
    args = dict(freeable=1000, priority=12)
    kw = kw_for(name)
    if param in args:
        args[param] = value
    else:
        kw[param] = value
    return rl.formulas.scan(name, args["freeable"], args["priority"], **kw)


@pytest.mark.parametrize("name", CANONICAL)
@pytest.mark.parametrize("param", NONNEG_PARAMS)
@pytest.mark.parametrize("bad", [-1, -12345])
def test_negative_inputs(name, param, bad):
    with pytest.raises(ValueError, match=both(param, bad)) as ei:
        _call_with(name, param, bad)
    assert NONNEG.search(str(ei.value)), f"allowed values not stated: {str(ei.value)!r}"


@pytest.mark.parametrize("name", CANONICAL)
@pytest.mark.parametrize("param", NONNEG_PARAMS)
def test_negative_element_in_array(name, param):
    with pytest.raises(ValueError, match=both(param, -7)):
        _call_with(name, param, np.array([3, -7, 5], dtype=np.int64))


@pytest.mark.parametrize("name", CANONICAL)
def test_freeable_zero_is_valid(name):
    res = rl.formulas.scan(name, 0, 12, nr_deferred=9, **kw_for(name))
    assert int(np.asarray(res.scanned)) == 0
    assert int(np.asarray(res.next_deferred)) == 9
    res = rl.formulas.scan(name, np.array([0, 0]), 12, **kw_for(name))
    assert np.asarray(res.delta).tolist() == [0, 0]


# ---------------------------------------------------------------------------
# non-integer inputs
# ---------------------------------------------------------------------------

FLOAT_PARAMS = ["freeable", "priority", "nr_deferred", "batch", "seeks", "small_scan",
                "lru_scanned", "lru_eligible"]


@pytest.mark.parametrize("name", ["v4.16", "v5.13", "rik-2019", "v4.15"])
@pytest.mark.parametrize("param", FLOAT_PARAMS)
def test_float_array_is_type_error(name, param):
    with pytest.raises(TypeError, match=rf"\b{param}\b") as ei:
        _call_with(name, param, np.array([2.0, 4.0]))
    assert re.search(r"int", str(ei.value), re.I), f"allowed type not stated: {str(ei.value)!r}"


@pytest.mark.parametrize("param", FLOAT_PARAMS)
def test_float_scalar_is_type_error(param):
    with pytest.raises(TypeError, match=rf"\b{param}\b"):
        _call_with("v5.0", param, 1.5)


# ---------------------------------------------------------------------------
# formula names
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["v4.17.1", "linux", "V4.16", "", "rik-2020"])
def test_unknown_formula_lists_known_names(bad):
    with pytest.raises(ValueError, match=re.escape(repr(bad)) + "|" + re.escape(bad or "''")) as ei:
        rl.formulas.scan(bad, 1000, 12)
    msg = str(ei.value)
    missing = [n for n in CANONICAL if n not in msg]
    assert not missing, f"known names missing from the message: {missing}: {msg!r}"


def test_unknown_formula_in_sweep():
    with pytest.raises(ValueError, match="nope"):
        rl.sweep(["v5.0", "nope"], [100], 12)


def test_describe_unknown():
    with pytest.raises(ValueError, match="nope"):
        rl.formulas.describe("nope")


# ---------------------------------------------------------------------------
# seeks
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["v4.15", "v4.16", "v4.18", "v4.19"])
def test_zero_seeks_not_allowed_before_zero_seek_patch(name):
    with pytest.raises(ValueError, match=both("seeks", 0)) as ei:
        rl.formulas.scan(name, 1000, 12, seeks=0, **kw_for(name))
    msg = str(ei.value)
    assert re.search(r"(>=\s*1|≥\s*1|positive|non-?zero|zero-seek|\b1\s*(\.\.|to)|v4\.20)", msg, re.I), (
        f"allowed values not stated: {msg!r}")


@pytest.mark.parametrize("name", ["v4.16", "v4.19"])
def test_zero_seeks_in_array_not_allowed(name):
    with pytest.raises(ValueError, match=both("seeks", 0)):
        rl.formulas.scan(name, 1000, 12, seeks=np.array([2, 0]))


@pytest.mark.parametrize("name", ["v4.20", "v5.0", "v5.13", "v6.1", "rik-2019", "dave-2019"])
def test_zero_seeks_allowed_after_zero_seek_patch(name):
    # seeks 0: delta = F / 2 = 500 (Rik: (F + 1) / 2 = 500 too; v4.20's floor
    # max(500, 128) keeps 500). 500 is not under F/4 = 250; the loop takes
    # 3 batches = 384, the 116 left are < F and < 128, so 116 are deferred.
    res = rl.formulas.scan(name, 1000, 12, seeks=0)
    assert outcome(res) == (500, 500, 384, 116, 0)


@pytest.mark.parametrize("name", CANONICAL)
@pytest.mark.parametrize("bad", [2**31, 2**32 + 2, 2**62])
def test_seeks_must_fit_c_int(name, bad):
    with pytest.raises(ValueError, match=both("seeks", bad)) as ei:
        rl.formulas.scan(name, 1000, 12, seeks=bad, **kw_for(name))
    msg = str(ei.value)
    assert "2147483647" in msg or re.search(r"2\s*\*\*\s*31|2\^31|int", msg), msg


# seeks = INT_MAX: every delta step divides a small number by 2**31 - 1: 0.
SEEKS_INT_MAX = {
    "v4.15": (0, 0, 0, 0, 0),          # 4 * 32 / (2**31 - 1) = 0, * 1000, / 1000 = 0
    "v4.16": (0, 0, 0, 0, 0),
    "v4.19": (128, 128, 128, 0, 0),    # the floor min(F, batch) = 128: one batch
    "v4.20": (128, 128, 128, 0, 0),
    "v5.0": (0, 0, 0, 0, 0),
    "v5.13": (0, 0, 0, 0, 0),
    "rik-2019": (0, 0, 0, 0, 1000),    # small_scan += 1000; 1000 >> 12 = 0 considered
    "dave-2019": (0, 0, 0, 0, 0),      # (9 + 0) * 4 / (2**31 - 1) = 0
}


@pytest.mark.parametrize("name", CANONICAL)
def test_seeks_int_max_is_valid(name):
    res = rl.formulas.scan(name, 1000, 12, seeks=2**31 - 1, **kw_for(name))
    assert outcome(res) == SEEKS_INT_MAX[name]


# ---------------------------------------------------------------------------
# v4.15: do_div's 32-bit divisor
# ---------------------------------------------------------------------------

def c_uint32(x: int) -> int:
    """``(uint32_t)x`` as the C conversion does it, through numpy's wrapping cast."""
    return int(np.array([x], dtype=np.uint64).astype(np.uint32)[0])


@pytest.mark.parametrize("k", [1, 2, 256])
def test_v415_divisor_truncates_to_zero(k):
    # do_div(delta, nr_eligible + 1) passes the divisor as uint32_t. Around each
    # multiple of 2**32, only the value whose divisor converts to 0 is refused;
    # the neighbours divide 4 * 32 / 2 * 1000 = 64000 by the truncated divisor.
    refused = 0
    for eligible in (k * 2**32 - 2, k * 2**32 - 1, k * 2**32):
        divisor = c_uint32(eligible + 1)
        if divisor == 0:
            refused += 1
            with pytest.raises(ValueError, match=both("lru_eligible", eligible)):
                rl.formulas.scan("v4.15", 1000, 12, lru_scanned=32, lru_eligible=eligible)
            with pytest.raises(ValueError, match=r"\blru_eligible\b"):
                rl.formulas.scan("v4.15", 1000, 12, lru_scanned=32,
                                 lru_eligible=np.array([5, eligible]))
        else:
            res = rl.formulas.scan("v4.15", 1000, 12, lru_scanned=32, lru_eligible=eligible)
            assert int(res.delta) == 64000 // divisor
    assert refused == 1


def test_v415_truncated_divisor_nonzero_is_valid():
    # 2**32 + 1 truncates to 1: delta = 64000; over 2F, total_scan = 2000; the
    # loop scans 15 * 128 = 1920; 64000 - 1920 = 62080 deferred.
    res = rl.formulas.scan("v4.15", 1000, 12, lru_scanned=32, lru_eligible=2**32)
    assert outcome(res) == (64000, 2000, 1920, 62080, 0)
    # 2**32 - 1 stays 4294967295: 64000 / 4294967295 = 0, nothing to do.
    res = rl.formulas.scan("v4.15", 1000, 12, lru_scanned=32, lru_eligible=2**32 - 2)
    assert outcome(res) == (0, 0, 0, 0, 0)


@pytest.mark.parametrize("bad", [2**64, 10**30, -(2**63) - 1])
def test_int_beyond_int64_in_a_list_is_a_range_error(bad):
    # a Python int numpy cannot hold makes an object array; this recursed until RecursionError
    with pytest.raises(ValueError, match=both("freeable", bad)) as ei:
        rl.formulas.scan("v4.19", [bad], 12)
    assert "9223372036854775807" in str(ei.value)
    with pytest.raises(ValueError, match=both("freeable", bad)):
        rl.formulas.scan("v4.19", [5, bad], 12)
    with pytest.raises(ValueError, match=both("nr_deferred", bad)):
        rl.formulas.scan("v5.0", 1000, 12, nr_deferred=[bad])
    with pytest.raises(ValueError, match=both("freeable", bad)):
        rl.sweep(["v4.19", "v5.0"], freeable=[10, bad], priority=12)


def test_int64_max_in_a_list_is_valid():
    # (2**63 - 1) >> 12 = 2**51 - 1, * 4 / 2 = 2**52 - 2: a list of Python ints still works
    res = rl.formulas.scan("v4.19", [2**63 - 1, 1000], 12)
    assert np.asarray(res.delta).tolist() == [2**52 - 2, 128]
