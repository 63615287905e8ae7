/*
 * The integer arithmetic of do_shrink_slab(), one loop for every formula.
 *
 * Built with -fwrapv so that signed overflow wraps in two's complement, as in
 * a kernel built with -fno-strict-overflow. The C types follow docs/kernel.md §1.0:
 * delta is u64, everything else is a signed 64-bit long; comparisons use C's
 * usual conversions exactly as the kernel source writes them. do_div()
 * truncates its divisor to 32 bits (asm-generic/div64.h). Rik van Riel's
 * small_scan is a C int. The scan loop
 *     while (total_scan >= batch || total_scan >= freeable)
 * with every batch fully scanned is evaluated in closed form; a shrinker that
 * returns SHRINK_STOP (a filesystem shrinker called without __GFP_FS) scans
 * nothing, so the whole target is deferred.
 *
 * Part of the reclaimlab._native extension: module.c checks the buffers handed
 * in from Python (reclaimlab/kernel/arith.py) and calls rl_scan() with the GIL
 * released. Rule codes mirror reclaimlab/kernel/spec.py.
 */
#include "native.h"

enum { DELTA_LRU = 0, DELTA_SHIFT = 1, DELTA_ILOG2 = 2, DELTA_CUSTOM = 3 };
enum { ZERO_SEEK_NONE = 0, ZERO_SEEK_HALF = 1, ZERO_SEEK_HALF_UP = 2 };
enum { DEFER_PRE_5_13 = 0, DEFER_5_13 = 1 };
enum {
    ERR_FREEABLE = 1, ERR_PRIORITY, ERR_SEEKS_NEGATIVE, ERR_SEEKS_ZERO, ERR_SEEKS_TOO_BIG,
    ERR_BATCH, ERR_NR_DEFERRED, ERR_SMALL_SCAN, ERR_LRU_SCANNED, ERR_LRU_ELIGIBLE,
    ERR_LRU_DIVISOR
};

#define SHRINK_BATCH 128
#define DEF_PRIORITY 12
#define INLINE static inline __attribute__((always_inline))

/* Assignment of a 64-bit value to a C int: keep the low 32 bits (GCC semantics). */
INLINE s64 to_int(u64 x) { return (s64)(int32_t)(uint32_t)x; }

/* do_div(n, base): n /= (uint32_t)base. */
INLINE u64 do_div(u64 n, u64 base) { return n / (uint32_t)base; }

INLINE int ilog2_(s64 v) { return 63 - __builtin_clzll((u64)v); }

INLINE s64 scan_loop(s64 total_scan, s64 batch, s64 freeable)
{
    if (total_scan < 0)
        return 0;
    s64 full = total_scan / batch * batch, rest = total_scan - full;
    return rest >= freeable ? total_scan : full;
}

INLINE int check(int delta_rule, int zero_seek, s64 F, s64 p, s64 S, s64 B, s64 nr, s64 small,
                 s64 lru_s, s64 lru_e)
{
    if (F < 0) return ERR_FREEABLE;
    if (p < 0 || p > DEF_PRIORITY) return ERR_PRIORITY;
    if (S < 0) return ERR_SEEKS_NEGATIVE;
    if (S > INT32_MAX) return ERR_SEEKS_TOO_BIG;
    if (S == 0 && zero_seek == ZERO_SEEK_NONE && delta_rule != DELTA_CUSTOM) return ERR_SEEKS_ZERO;
    if (B < 0) return ERR_BATCH;
    if (nr < 0) return ERR_NR_DEFERRED;
    if (delta_rule != DELTA_CUSTOM && (small < 0 || small > INT32_MAX)) return ERR_SMALL_SCAN;
    if (lru_s < 0) return ERR_LRU_SCANNED;
    if (lru_e < 0) return ERR_LRU_ELIGIBLE;
    if (delta_rule == DELTA_LRU && (uint32_t)((u64)lru_e + 1) == 0) return ERR_LRU_DIVISOR;
    return 0;
}

/* One call. Returns delta; updates *total, *scanned, *nr (the slot) and *small. */
INLINE u64 one_call(int delta_rule, int zero_seek, int deferral, int floor_, int accumulator,
                    s64 F, s64 p, s64 S, s64 B, s64 lru_s, s64 lru_e, u64 custom, s64 stop,
                    s64 *total_out, s64 *scanned_out, s64 *nr_io, s64 *small_io)
{
    s64 nr = *nr_io, total, scanned, next;
    u64 delta;

    if (F == 0) {               /* count_objects() == 0: return before the xchg */
        *total_out = 0;
        *scanned_out = 0;
        return 0;
    }
    /* The delta step. */
    if (delta_rule == DELTA_CUSTOM) {
        delta = custom;
    } else if (delta_rule == DELTA_LRU) {
        delta = (4 * (u64)lru_s) / (u64)S;
        delta *= (u64)F;
        delta = do_div(delta, (u64)lru_e + 1);
    } else if (S == 0 && zero_seek != ZERO_SEEK_NONE) {
        delta = zero_seek == ZERO_SEEK_HALF_UP ? (u64)((F + 1) / 2) : (u64)(F / 2);
    } else {
        delta = (u64)(F >> p);
        if (delta_rule == DELTA_ILOG2)
            delta += (u64)ilog2_(F);
        delta *= 4;
        delta = do_div(delta, (u64)S);
    }
    if (floor_) {
        s64 m = F < B ? F : B;
        if ((u64)m > delta)
            delta = (u64)m;
    }
    if (accumulator && delta == 0 && S != 0) {
        s64 small = to_int((u64)(*small_io + F));
        u64 considered = (u64)(small >> p);     /* int >> int, then to unsigned long */
        delta = do_div(4 * considered, (u64)S);
        if (delta)
            small = to_int((u64)small - (considered << p));
        *small_io = small;
    }
    /* Deferral, caps and the scan loop. */
    if (deferral == DEFER_5_13) {
        total = (nr >> p) + (s64)delta;
        if (total > 2 * F)
            total = 2 * F;
        scanned = stop ? 0 : scan_loop(total, B, F);
        next = (s64)((u64)nr + delta - (u64)scanned);
        if (next < 0)
            next = 0;
        if (next > 2 * F)
            next = 2 * F;
    } else {
        total = nr + (s64)delta;
        if (total < 0) {
            total = F;
            next = nr;
        } else {
            next = total;
        }
        if (delta < (u64)(F / 4) && total > F / 2)
            total = F / 2;
        if (total > F * 2)
            total = F * 2;
        scanned = stop ? 0 : scan_loop(total, B, F);
        next = next >= scanned ? next - scanned : 0;
    }
    *total_out = total;
    *scanned_out = scanned;
    *nr_io = next;
    return delta;
}

/* Inputs are flat arrays of length n or 1 (read at i & mask, mask 0 or ~0). */
INLINE s64 loop(int delta_rule, int zero_seek, int deferral, int floor_, int accumulator, RL_SCAN_ARRAYS)
{
    const u64 mF = nF > 1 ? ~0ULL : 0, mp = np_ > 1 ? ~0ULL : 0, mS = nS > 1 ? ~0ULL : 0;
    const u64 mB = nB > 1 ? ~0ULL : 0, mN = nN > 1 ? ~0ULL : 0, mA = nA > 1 ? ~0ULL : 0;
    const u64 mLs = nLs > 1 ? ~0ULL : 0, mLe = nLe > 1 ? ~0ULL : 0, mC = nC > 1 ? ~0ULL : 0;
    const u64 mT = nT > 1 ? ~0ULL : 0;
    const int want_small = n_small == n, want_sum = n_sum == n;

    for (u64 i = 0; i < (u64)n; i++) {
        s64 F = F_[i & mF], p = p_[i & mp], S = S_[i & mS], B = B_[i & mB];
        s64 nr = nr_[i & mN], small = small_[i & mA];
        s64 lru_s = lru_s_[i & mLs], lru_e = lru_e_[i & mLe];
        u64 custom = (u64)custom_[i & mC];
        s64 stop = stop_[i & mT];
        int code = check(delta_rule, zero_seek, F, p, S, B, nr, small, lru_s, lru_e);
        if (code) {
            out_sum[0] = (s64)i;        /* the caller reads the bad index here */
            return code;
        }
        if (B == 0)
            B = SHRINK_BATCH;
        s64 total = 0, scanned = 0, sum = 0;
        u64 delta = 0;
        for (s64 c = 0; c < calls; c++) {
            delta = one_call(delta_rule, zero_seek, deferral, floor_, accumulator, F, p, S, B,
                             lru_s, lru_e, custom, stop, &total, &scanned, &nr, &small);
            sum += scanned;
        }
        out_delta[i] = delta;
        out_total[i] = total;
        out_scanned[i] = scanned;
        out_next[i] = nr;
        if (want_small)
            out_small[i] = small;
        if (want_sum)
            out_sum[i] = sum;
    }
    return 0;
}

#define LOOP_ARGS calls, n, F_, nF, p_, np_, S_, nS, B_, nB, nr_, nN, small_, nA, lru_s_, nLs, \
                  lru_e_, nLe, custom_, nC, stop_, nT, out_delta, out_total, out_scanned, out_next, \
                  out_small, n_small, out_sum, n_sum

/*
 * Entry point. Returns 0 or an error code; on error out_sum[0] holds the flat
 * index of the first bad point (out_sum has at least one element).
 * The built-in rule combinations call loop() with constants, so the compiler
 * folds the other rules' branches away; anything else runs the generic copy.
 */
s64 rl_scan(s64 delta_rule, s64 zero_seek, s64 deferral, s64 floor_, s64 accumulator, RL_SCAN_ARRAYS)
{
    if (delta_rule == DELTA_SHIFT && !accumulator) {
        if (deferral == DEFER_5_13 && zero_seek == ZERO_SEEK_HALF && !floor_)
            return loop(DELTA_SHIFT, ZERO_SEEK_HALF, DEFER_5_13, 0, 0, LOOP_ARGS);       /* v5.13 */
        if (deferral == DEFER_PRE_5_13 && zero_seek == ZERO_SEEK_NONE && floor_)
            return loop(DELTA_SHIFT, ZERO_SEEK_NONE, DEFER_PRE_5_13, 1, 0, LOOP_ARGS);   /* v4.19 */
        if (deferral == DEFER_PRE_5_13 && zero_seek == ZERO_SEEK_HALF && !floor_)
            return loop(DELTA_SHIFT, ZERO_SEEK_HALF, DEFER_PRE_5_13, 0, 0, LOOP_ARGS);   /* v5.0 */
    }
    return loop((int)delta_rule, (int)zero_seek, (int)deferral, (int)floor_, (int)accumulator,
                LOOP_ARGS);
}
