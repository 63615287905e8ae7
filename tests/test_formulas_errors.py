"""Every error ``rl.formulas.scan`` raises: parameter name, offending value, what is allowed.

DESIGN.md "Habits": errors are ValueError/TypeError naming the parameter, the
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


@pytest.mark.parametrize("name", CANONICAL)
@pytest.mark.parametrize("good", [0, 12])
def test_priority_bounds_are_valid(name, good):
    rl.formulas.scan(name, 1000, good, **kw_for(name))


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
    rl.formulas.scan(name, 1000, 12, seeks=0)


@pytest.mark.parametrize("name", CANONICAL)
@pytest.mark.parametrize("bad", [2**31, 2**32 + 2, 2**62])
def test_seeks_must_fit_c_int(name, bad):
    with pytest.raises(ValueError, match=both("seeks", bad)) as ei:
        rl.formulas.scan(name, 1000, 12, seeks=bad, **kw_for(name))
    msg = str(ei.value)
    assert "2147483647" in msg or re.search(r"2\s*\*\*\s*31|2\^31|int", msg), msg


@pytest.mark.parametrize("name", CANONICAL)
def test_seeks_int_max_is_valid(name):
    rl.formulas.scan(name, 1000, 12, seeks=2**31 - 1, **kw_for(name))


# ---------------------------------------------------------------------------
# v4.15: do_div's 32-bit divisor
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [2**32 - 1, 2**33 - 1, 2**40 - 1])
def test_v415_divisor_truncates_to_zero(bad):
    # do_div(delta, nr_eligible + 1) truncates the divisor to uint32: 0 here
    assert kr.u32(bad + 1) == 0
    with pytest.raises(ValueError, match=both("lru_eligible", bad)):
        rl.formulas.scan("v4.15", 1000, 12, lru_scanned=32, lru_eligible=bad)
    with pytest.raises(ValueError, match=r"\blru_eligible\b"):
        rl.formulas.scan("v4.15", 1000, 12, lru_scanned=32, lru_eligible=np.array([5, bad]))


def test_v415_truncated_divisor_nonzero_is_valid():
    rl.formulas.scan("v4.15", 1000, 12, lru_scanned=32, lru_eligible=2**32)
    rl.formulas.scan("v4.15", 1000, 12, lru_scanned=32, lru_eligible=2**32 - 2)
