"""Scalar, loop-based reference transcription of the kernel's do_shrink_slab().

This module is the *independent* oracle for ``reclaimlab.formulas``.  It was
written only from ``docs/kernel.md`` (sections 1.0 to 1.9 and 4.4) and the
project's conventions for formula inputs; it deliberately does
not look at ``reclaimlab/kernel/`` or ``reclaimlab/formulas.py``.

Everything here uses plain Python ints with the C types emulated explicitly:

* ``u64(x)``  -- ``unsigned long`` / ``unsigned long long`` (wrap mod 2**64)
* ``s64(x)``  -- ``long`` (two's complement wrap; the kernel is built with
  ``-fno-strict-overflow``, so signed overflow wraps)
* ``s32(x)``  -- ``int`` (Rik's ``small_scan``; gcc converts out-of-range values
  by truncation modulo 2**32)
* ``do_div(n, base)`` -- asm-generic/div64.h on 64-bit: ``uint32_t __base = base;
  n = (uint64_t)n / __base``.  The divisor is *truncated to 32 bits*.

Types inside do_shrink_slab (docs/kernel.md §1.0): ``delta`` is ``unsigned long long``;
``total_scan``, ``freeable``, ``nr``, ``batch_size``, ``scanned`` and
``next_deferred`` are ``long``.  Comparisons follow C's usual arithmetic
conversions: ``delta < freeable / 4`` compares as u64, ``total_scan > freeable * 2``
compares as s64 with ``freeable * 2`` wrapping.

Team conventions (one single-threaded call):

* the input ``nr_deferred`` is the value the atomic xchg takes at the start, so
  the slot holds 0 during the call; ``next_deferred`` returned here is the slot
  value *after* the call: pre-5.13 formulas add ``next_deferred`` only when it is
  > 0 (slot = max(next_deferred, 0)); v5.13 always adds its clamped value;
* ``freeable == 0``: the kernel returns before the xchg: delta = total_scan =
  scanned = 0, the slot is untouched (next_deferred = nr_deferred) and
  small_scan is unchanged;
* every scan request is fully scanned (``sc->nr_scanned`` is left at
  ``nr_to_scan``) and ``scan_objects`` never returns SHRINK_STOP;
* ``batch == 0`` means SHRINK_BATCH (128).

The returned ``total_scan`` is the value the ``mm_shrink_slab_start`` tracepoint
prints (after the caps, before the scan loop).
"""

from __future__ import annotations

from dataclasses import dataclass

# docs/kernel.md §1.0 constants
SHRINK_BATCH = 128
DEFAULT_SEEKS = 2
DEF_PRIORITY = 12

# The scan loop is run literally while it needs fewer than this many iterations;
# beyond that the arithmetic shortcut in _scan_loop() is used (see there).
LITERAL_LOOP_LIMIT = 10**6

_M64 = (1 << 64) - 1
_M32 = (1 << 32) - 1


# --------------------------------------------------------------------------
# C integer type emulation
# --------------------------------------------------------------------------

def u64(x: int) -> int:
    """Value of ``x`` converted to ``unsigned long`` (u64, wraps mod 2**64)."""
    return x & _M64


def s64(x: int) -> int:
    """Value of ``x`` converted to ``long`` (s64, two's complement wrap)."""
    x &= _M64
    return x - (1 << 64) if x >> 63 else x


def u32(x: int) -> int:
    """Value of ``x`` converted to ``uint32_t``."""
    return x & _M32


def s32(x: int) -> int:
    """Value of ``x`` converted to ``int`` (gcc: truncation modulo 2**32)."""
    x &= _M32
    return x - (1 << 32) if x >> 31 else x


def c_div(a: int, b: int) -> int:
    """C integer division of two signed values: truncates toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def c_sar(a: int, n: int) -> int:
    """``a >> n`` for a signed C value: gcc does an arithmetic shift (Python's >>)."""
    return a >> n


def do_div(n: int, base: int) -> int:
    """asm-generic do_div() on 64-bit: ``n`` is u64, ``base`` truncated to uint32.

    Returns the quotient (the kernel leaves it in ``n``; the remainder it returns
    is thrown away by do_shrink_slab).  A zero (truncated) divisor is a divide
    trap in the kernel; here it raises ZeroDivisionError.
    """
    b = u32(base)
    if b == 0:
        raise ZeroDivisionError(f"do_div by {base} (truncated to uint32: 0)")
    return u64(n) // b


def ilog2(n: int) -> int:
    """include/linux/log2.h ilog2() of a positive value: floor(log2(n))."""
    assert n > 0
    return n.bit_length() - 1


# --------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Ref:
    delta: int          # u64, as the start tracepoint prints it (%lld of the u64)
    total_scan: int     # s64, after the caps (start tracepoint)
    scanned: int        # s64, what the scan loop scanned
    next_deferred: int  # s64, the nr_deferred slot after the call
    small_scan: int     # the (int) accumulator after the call (unchanged if none)


def _freeable_zero(nr_deferred: int, small_scan: int) -> Ref:
    # "F = count_objects(); if F == 0: return 0" (§1.2; §1.3 adds SHRINK_EMPTY,
    # §1.8 the same).  The return happens before the xchg: slot untouched.
    return Ref(0, 0, 0, nr_deferred, small_scan)


def _batch_size(batch: int) -> int:
    # §1.0: batch_size = shrinker->batch ? shrinker->batch : SHRINK_BATCH  (long)
    return s64(batch) if batch else SHRINK_BATCH


# --------------------------------------------------------------------------
# The scan loop (identical in every version, §1.2 and §1.8)
# --------------------------------------------------------------------------

def _scan_loop(total_scan: int, freeable: int, batch_size: int) -> tuple[int, int]:
    """Run the scan loop; return (total_scan left over, scanned).

    Kernel (§1.2)::

        while total_scan >= B or total_scan >= F:
            n = min(B, total_scan)          # min of two longs
            sc.nr_to_scan = n; sc.nr_scanned = n
            ret = scan_objects()            # never SHRINK_STOP here
            total_scan -= sc.nr_scanned; scanned += sc.nr_scanned

    When the literal loop would need LITERAL_LOOP_LIMIT iterations or more
    (``total_scan // B >= LITERAL_LOOP_LIMIT``) we use the closed form instead.
    Equivalence, for F >= 1, B >= 1 and total_scan = T >= 0:

    * while T >= B the condition holds and n = min(B, T) = B, so exactly
      k = T // B full batches are taken, leaving r = T % B  (0 <= r < B);
    * then r < B, so the loop continues only if r >= F, in which case
      n = min(B, r) = r and T becomes 0; 0 >= B and 0 >= F are both false
      (B, F >= 1), so the loop ends.

    Hence scanned = k*B + (r if r >= F else 0), left over = T - scanned.
    (A negative T never enters the loop because F >= 1 and B >= 1; the shortcut
    is only used for huge positive T anyway.)
    """
    assert freeable >= 1 and batch_size >= 1
    scanned = 0
    if total_scan < 0 or total_scan // batch_size < LITERAL_LOOP_LIMIT:
        # literal transcription
        while total_scan >= batch_size or total_scan >= freeable:
            nr_to_scan = min(batch_size, total_scan)
            total_scan = s64(total_scan - nr_to_scan)
            scanned = s64(scanned + nr_to_scan)
        return total_scan, scanned
    # arithmetic shortcut (see docstring)
    k, r = divmod(total_scan, batch_size)
    scanned = k * batch_size + (r if r >= freeable else 0)
    return total_scan - scanned, scanned


# --------------------------------------------------------------------------
# Tail of the function: deferral, caps, loop, give-back
# --------------------------------------------------------------------------

def _tail_pre513(freeable: int, nr: int, delta: int, batch_size: int,
                 small_scan: int) -> Ref:
    """§1.2 from ``total_scan += delta`` to the end (4.16 .. 5.12, and 4.15)."""
    total_scan = nr                                  # total_scan = nr
    total_scan = s64(total_scan + delta)             # long += u64 (u64 add, back to long)
    if total_scan < 0:                               # overflow / garbage
        total_scan = freeable                        #   pr_err(...); total_scan = F
        next_deferred = nr                           #   next_deferred = nr
    else:
        next_deferred = total_scan                   # before the caps (the "windup")
    # if (delta < freeable / 4): long F/4 converted to u64 for the comparison
    if delta < u64(c_div(freeable, 4)):
        total_scan = min(total_scan, c_div(freeable, 2))   # min(long, long)
    # if (total_scan > freeable * 2): signed, freeable * 2 wraps
    if total_scan > s64(freeable * 2):
        total_scan = s64(freeable * 2)
    start_total_scan = total_scan                    # trace_mm_shrink_slab_start(...)
    total_scan, scanned = _scan_loop(total_scan, freeable, batch_size)
    # if (next_deferred >= scanned) next_deferred -= scanned; else next_deferred = 0;
    if next_deferred >= scanned:
        next_deferred = s64(next_deferred - scanned)
    else:
        next_deferred = 0
    # Slot was zeroed by the xchg.  if (next_deferred > 0) atomic_long_add_return(...)
    slot = 0
    if next_deferred > 0:
        slot = s64(slot + next_deferred)
    return Ref(delta, start_total_scan, scanned, slot, small_scan)


def _tail_v513(freeable: int, nr: int, delta: int, priority: int, batch_size: int,
               small_scan: int) -> Ref:
    """§1.8 from ``total_scan = (nr >> p) + delta`` to the end (5.13 .. 6.12)."""
    total_scan = c_sar(nr, priority)                 # total_scan = nr >> priority (long)
    total_scan = s64(total_scan + delta)             # total_scan += delta (u64 add, back to long)
    total_scan = min(total_scan, s64(2 * freeable))  # min(total_scan, (2 * freeable)), signed
    start_total_scan = total_scan                    # trace_mm_shrink_slab_start(...)
    total_scan, scanned = _scan_loop(total_scan, freeable, batch_size)
    # next_deferred = max_t(long, (nr + delta - scanned), 0):
    #   nr (long) + delta (u64) -> u64; - scanned (long -> u64) -> u64; cast to long
    next_deferred = max(s64(u64(u64(nr + delta) - scanned)), 0)
    # next_deferred = min(next_deferred, (2 * freeable)), signed, 2F wraps
    next_deferred = min(next_deferred, s64(2 * freeable))
    # new_nr = add_nr_deferred(next_deferred): always an atomic add, even of 0
    # or of a negative value; the slot was zeroed by the xchg.
    slot = s64(0 + next_deferred)
    return Ref(delta, start_total_scan, scanned, slot, small_scan)


# --------------------------------------------------------------------------
# One function per formula
# --------------------------------------------------------------------------

def v4_15(freeable, priority, *, seeks=2, batch=128, nr_deferred=0, small_scan=0,
          lru_scanned=0, lru_eligible=0) -> Ref:
    """<= 4.15: LRU-proportional target (docs/kernel.md §1.1; rest of the function §1.2).

    ``priority`` is not used by this formula (no priority field before 4.16).
    """
    batch_size = _batch_size(batch)
    freeable = s64(freeable)                         # long freeable = count_objects()
    if freeable == 0:
        return _freeable_zero(nr_deferred, small_scan)
    nr = s64(nr_deferred)                            # nr = atomic_long_xchg(&nr_deferred[nid], 0)
    # delta = (4 * nr_scanned) / shrinker->seeks;   unsigned long / int -> unsigned long
    if seeks == 0:
        raise ZeroDivisionError("seeks == 0 (divide trap in the kernel)")
    delta = u64(u64(4 * lru_scanned) // u64(seeks))
    # delta *= freeable;                              u64 *= long -> u64
    delta = u64(delta * u64(freeable))
    # do_div(delta, nr_eligible + 1);                 divisor truncated to uint32
    delta = do_div(delta, u64(lru_eligible + 1))
    return _tail_pre513(freeable, nr, delta, batch_size, small_scan)


def v4_16(freeable, priority, *, seeks=2, batch=128, nr_deferred=0, small_scan=0,
          lru_scanned=0, lru_eligible=0) -> Ref:
    """4.16 .. 4.18: priority-based target (docs/kernel.md §1.2)."""
    batch_size = _batch_size(batch)
    freeable = s64(freeable)
    if freeable == 0:
        return _freeable_zero(nr_deferred, small_scan)
    nr = s64(nr_deferred)                            # atomic_long_xchg(..., 0)
    delta = u64(c_sar(freeable, priority))           # delta = freeable >> priority
    delta = u64(delta * 4)                           # delta *= 4
    delta = do_div(delta, seeks)                     # do_div(delta, shrinker->seeks)
    return _tail_pre513(freeable, nr, delta, batch_size, small_scan)


def v4_19(freeable, priority, *, seeks=2, batch=128, nr_deferred=0, small_scan=0,
          lru_scanned=0, lru_eligible=0) -> Ref:
    """4.19.x: 4.16 plus the min-scan floor of 172b06c32b94 (docs/kernel.md §1.3)."""
    batch_size = _batch_size(batch)
    freeable = s64(freeable)
    if freeable == 0:                                # (or F == SHRINK_EMPTY; F <= 2**63-1 here)
        return _freeable_zero(nr_deferred, small_scan)
    nr = s64(nr_deferred)
    delta = u64(c_sar(freeable, priority))
    delta = u64(delta * 4)
    delta = do_div(delta, seeks)
    # delta = max_t(unsigned long long, delta, min(freeable, batch_size));
    delta = max(delta, u64(min(freeable, batch_size)))
    return _tail_pre513(freeable, nr, delta, batch_size, small_scan)


def v4_20(freeable, priority, *, seeks=2, batch=128, nr_deferred=0, small_scan=0,
          lru_scanned=0, lru_eligible=0) -> Ref:
    """4.20 and 5.0-rc: zero-seek branch (§1.4), then the floor (§1.3)."""
    batch_size = _batch_size(batch)
    freeable = s64(freeable)
    if freeable == 0:
        return _freeable_zero(nr_deferred, small_scan)
    nr = s64(nr_deferred)
    if seeks:
        delta = u64(c_sar(freeable, priority))
        delta = u64(delta * 4)
        delta = do_div(delta, seeks)
    else:
        delta = u64(c_div(freeable, 2))              # delta = freeable / 2
    delta = max(delta, u64(min(freeable, batch_size)))   # the floor, after zero-seek
    return _tail_pre513(freeable, nr, delta, batch_size, small_scan)


def v5_0(freeable, priority, *, seeks=2, batch=128, nr_deferred=0, small_scan=0,
         lru_scanned=0, lru_eligible=0) -> Ref:
    """5.0 .. 5.12: zero-seek branch, floor reverted (§1.5)."""
    batch_size = _batch_size(batch)
    freeable = s64(freeable)
    if freeable == 0:
        return _freeable_zero(nr_deferred, small_scan)
    nr = s64(nr_deferred)
    if seeks:
        delta = u64(c_sar(freeable, priority))
        delta = u64(delta * 4)
        delta = do_div(delta, seeks)
    else:
        delta = u64(c_div(freeable, 2))
    return _tail_pre513(freeable, nr, delta, batch_size, small_scan)


def v5_13(freeable, priority, *, seeks=2, batch=128, nr_deferred=0, small_scan=0,
          lru_scanned=0, lru_eligible=0) -> Ref:
    """5.13 .. 6.12: deferred work scaled by priority, 2F caps (§1.8)."""
    batch_size = _batch_size(batch)
    freeable = s64(freeable)
    if freeable == 0:
        return _freeable_zero(nr_deferred, small_scan)
    nr = s64(nr_deferred)                            # nr = xchg_nr_deferred(shrinker, sc)
    if seeks:
        delta = u64(c_sar(freeable, priority))
        delta = u64(delta * 4)
        delta = do_div(delta, seeks)
    else:
        delta = u64(c_div(freeable, 2))
    return _tail_v513(freeable, nr, delta, priority, batch_size, small_scan)


def rik_2019(freeable, priority, *, seeks=2, batch=128, nr_deferred=0, small_scan=0,
             lru_scanned=0, lru_eligible=0) -> Ref:
    """Rik van Riel's final -mm version (§1.6) on the 4.20 base (no floor)."""
    batch_size = _batch_size(batch)
    freeable = s64(freeable)
    if freeable == 0:
        return _freeable_zero(nr_deferred, small_scan)
    small_scan = s32(small_scan)                     # int small_scan in struct shrinker
    nr = s64(nr_deferred)
    if seeks:
        delta = u64(c_sar(freeable, priority))
        delta = u64(delta * 4)
        delta = do_div(delta, seeks)
    else:
        delta = u64(c_div(s64(freeable + 1), 2))     # delta = (freeable + 1) / 2: a long that wraps at LONG_MAX
    if delta == 0 and seeks:
        # shrinker->small_scan += freeable;   int += long: long add, converted to int
        small_scan = s32(small_scan + freeable)
        # nr_considered = shrinker->small_scan >> priority;   int >> int (arithmetic),
        # then int -> unsigned long (sign-extended)
        nr_considered = u64(c_sar(small_scan, priority))
        # delta = 4 * nr_considered; do_div(delta, shrinker->seeks);
        delta = u64(4 * nr_considered)
        delta = do_div(delta, seeks)
        if delta:
            # shrinker->small_scan -= nr_considered << priority;
            #   int - unsigned long -> u64 arithmetic, converted back to int
            small_scan = s32(u64(small_scan - u64(nr_considered << priority)))
    return _tail_pre513(freeable, nr, delta, batch_size, small_scan)


def dave_2019(freeable, priority, *, seeks=2, batch=128, nr_deferred=0, small_scan=0,
              lru_scanned=0, lru_eligible=0) -> Ref:
    """Dave Chinner's counter-proposal (§1.7): v5.0 with an ilog2 term."""
    batch_size = _batch_size(batch)
    freeable = s64(freeable)
    if freeable == 0:
        return _freeable_zero(nr_deferred, small_scan)
    nr = s64(nr_deferred)
    if seeks:
        # delta = (ilog2(F) + (F >> p)) * 4 / S   (u64, do_div)
        delta = u64(ilog2(freeable) + c_sar(freeable, priority))
        delta = u64(delta * 4)
        delta = do_div(delta, seeks)
    else:
        delta = u64(c_div(freeable, 2))              # zero-seek keeps F/2
    return _tail_pre513(freeable, nr, delta, batch_size, small_scan)


REFERENCE = {
    "v4.15": v4_15,
    "v4.16": v4_16,
    "v4.19": v4_19,
    "v4.20": v4_20,
    "v5.0": v5_0,
    "v5.13": v5_13,
    "rik-2019": rik_2019,
    "dave-2019": dave_2019,
}

ALIASES = {"v4.18": "v4.16", "v6.1": "v5.13", "v6.12": "v5.13"}

# formulas that divide by seeks unconditionally (seeks == 0 is an error)
NO_ZERO_SEEKS = ("v4.15", "v4.16", "v4.19")


def scan(name: str, freeable: int, priority: int, **kw) -> Ref:
    """Reference counterpart of ``rl.formulas.scan`` for scalar inputs."""
    return REFERENCE[ALIASES.get(name, name)](freeable, priority, **kw)


def run_calls(name: str, freeable: int, priority: int, calls: int, *, seeks=2,
              batch=128, nr_deferred=0, small_scan=0, stop_at_first_scan=False):
    """Repeat the call ``calls`` times, carrying the slot and the accumulator.

    Returns (scanned_total, last Ref, number of calls made).
    """
    total = 0
    r = None
    for i in range(calls):
        r = scan(name, freeable, priority, seeks=seeks, batch=batch,
                 nr_deferred=nr_deferred, small_scan=small_scan)
        total += r.scanned
        nr_deferred, small_scan = r.next_deferred, r.small_scan
        if stop_at_first_scan and r.scanned > 0:
            return total, r, i + 1
    return total, r, calls
