"""The C lexer's integer and timestamp fields (reclaimlab/native/lexer.c), digit by digit.

Integers of up to 7 digits are read 8 bytes at a time, the last field of a line too
when the block goes on for 8 bytes after it (the bytes past the line's end are loaded
but never taken for digits, even when the next line starts with some); longer ones, and
a last field at the very end of the block, one byte at a time. Both paths
must give what Python's ``int`` gives, refuse what the grammar refuses (no
digits, a second sign, 20 digits or more, values past INT64_MAX) and stop at
the same byte, whatever surrounds the number.
"""
from __future__ import annotations

import numpy as np
import pytest

from reclaimlab.trace import _scan as S

INT64_MAX = 2**63 - 1
START = ("kswapd0-93 [003] .... 1234.5: mm_shrink_slab_start: super_cache_scan+0x0/0x1a0 0000ab: nid: 0 "
         "objects to shrink {v} gfp_flags GFP_KERNEL cache items 5 delta 6 total_scan 7{tail}")
END = ("kswapd0-93 [003] .... 1234.5: mm_shrink_slab_end: super_cache_scan+0x0/0x1a0 0000ab: nid: 0 "
       "unused scan count 1 new scan count 2 total_scan 3 last shrinker return val {v}{tail}")


def scan_one(line: str):
    out = S.new_outputs(1)
    rows, _ = S.scan_lines(line.encode(), 0, out)
    assert rows == 1
    return int(out[0][0]), out[1][0]


def expected(text: str) -> int | None:
    """The value the grammar gives ``text`` (an optional '-' then 1 to 19 digits), or None."""
    digits = text[1:] if text.startswith("-") else text
    if not digits.isdigit() or len(digits) > 19 or int(digits) > INT64_MAX:
        return None
    return int(text)


NUMBERS = ["0", "7", "-0", "-7", "12", "1234567", "-1234567", "12345678", "-12345678", "123456789",
           "0000001", "00000001", "9" * 18, "9" * 19, "9" * 20, str(INT64_MAX), str(INT64_MAX + 1),
           "-" + str(INT64_MAX), "-", "--1", "+1", "1-", "", "x1"]


@pytest.mark.parametrize("v", NUMBERS)
@pytest.mark.parametrize("tail", ["", " priority 3", " priority 3 ", "\r"])
def test_start_integer_in_the_middle_of_the_line(v, tail):
    status, ints = scan_one(START.format(v=v, tail=tail))
    want = expected(v)
    if want is None:
        assert status == S.BAD_START
    else:
        assert status == S.START and int(ints[S.I_NR]) == want
        assert int(ints[S.I_PRIO]) == (3 if "priority" in tail else -1)


@pytest.mark.parametrize("v", NUMBERS)
@pytest.mark.parametrize("tail", ["", " ", "\r", "x", "1"])
def test_end_integer_at_the_end_of_the_line(v, tail):
    status, ints = scan_one(END.format(v=v, tail=tail))
    want = expected(v + tail.strip() if tail in ("x", "1") else v)
    if want is None:
        assert status == S.BAD_END
    else:
        assert status == S.END and int(ints[S.I_TOTAL]) == want


@pytest.mark.parametrize("v", NUMBERS)
@pytest.mark.parametrize("after", ["\n", "\r\n", "  \n", "\n12345678901234567890", "\n0000000", "\r\n9",
                                   "\n-1 [0] 1.0: x: y", "\n" + " " * 20])
def test_last_integer_of_a_line_inside_the_block(v, after):
    """The last field with more text after its line: the same value as at the end of the block."""
    out = S.new_outputs(4)
    text = (END.format(v=v, tail="") + after).encode()
    rows, _ = S.scan_lines(text, 0, out)
    status, ints = int(out[0][0]), out[1][0]
    assert (status, int(ints[S.I_TOTAL]) if status == S.END else None) == \
        (lambda r: (r[0], int(r[1][S.I_TOTAL]) if r[0] == S.END else None))(scan_one(END.format(v=v, tail="")))
    want = expected(v)
    assert (status == S.END and int(ints[S.I_TOTAL]) == want) if want is not None else status == S.BAD_END


def test_random_integers_of_every_length():
    rng = np.random.default_rng(7)
    for n_digits in range(1, 22):
        for _ in range(30):
            v = "".join(rng.choice(list("0123456789"), n_digits))
            v = ("-" if rng.random() < 0.3 else "") + v
            status, ints = scan_one(START.format(v=v, tail=" priority 12"))
            want = expected(v)
            assert (status == S.START and int(ints[S.I_NR]) == want) if want is not None else status == S.BAD_START


@pytest.mark.parametrize("ts, want", [("1234.5", 1234.5), ("0.000001", 1e-6), ("1000.011973", 1000.011973),
                                      ("123456789012.123456", 123456789012.123456), ("7", 7.0),
                                      ("99999999999999999.5", 99999999999999999.5)])
def test_timestamps_are_correctly_rounded(ts, want):
    out = S.new_outputs(1)
    S.scan_lines(START.format(v=1, tail="").replace("1234.5", ts).encode(), 0, out)
    assert int(out[0][0]) == S.START and float(out[4][0]) == want
