/*
 * cohorts.c: removing items from a column of cohorts in proportion (reclaimlab.sim.lruorder).
 *
 * Why: the simulator keeps the age order of the inactive list, the dentry and inode LRUs and
 * the shadow entries as cohorts (rows) of counts per file set (columns). Pages that leave a
 * list other than through its tail are taken from a set's cohorts in proportion to its count
 * in each, largest remainders first, ten thousand times a run on columns of hundreds of
 * cohorts; numpy spent more time setting up its eight array operations than computing them.
 *
 * The result must be the numpy function's (lruorder.remove_proportionally), item for item:
 * q = col * gone // total (floor division, int64 arithmetic wrapping as numpy's does), then
 * the rem = gone - sum(q) entries with the largest remainders get one more, the earlier
 * entry first on a tie (numpy's stable argsort of -frac over the entries with a remainder).
 */
#include <stdlib.h>

#include "native.h"

/* numpy's floor division of int64 by a positive divisor. Shares and totals of counts are far
 * below 2**53, where a double quotient is within one of the exact one: corrected here, it saves
 * the 64-bit integer division, most of this function's time. */
static inline s64 floor_div(s64 a, s64 b)
{
    if (a >= 0 && a < ((s64)1 << 53) && b < ((s64)1 << 53)) {
        s64 q = (s64)((double)a / (double)b);
        if (q * b > a)
            q--;
        else if ((q + 1) * b <= a)
            q++;
        return q;
    }
    s64 q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* Up to this many extra items are placed by insertion into a short sorted list (a few dozen
 * comparisons an entry at most, most entries one); more through kth_largest(). */
#define TOP_INSERT 64

/* A nonzero entry of the column: its index, its share q and the remainder of its division. */
typedef struct {
    s64 frac;
    s64 i;
    s64 q;
} rem_t;

/* The k-th largest of v[0..m) (0 < k <= m), reordering v: Hoare's selection, linear on average.
 * (A full sort of thousands of remainders to find a few dozen cost more than the rest.) */
static s64 kth_largest(s64 *v, s64 m, s64 k)
{
    s64 lo = 0, hi = m - 1, want = k - 1;
    while (lo < hi) {
        s64 a = v[lo], b = v[lo + (hi - lo) / 2], c = v[hi];
        s64 pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));   /* median */
        s64 i = lo, j = hi;
        while (i <= j) {                 /* larger first: [lo, i) >= pivot, (j, hi] <= pivot */
            while (v[i] > pivot)
                i++;
            while (v[j] < pivot)
                j--;
            if (i <= j) {
                s64 t = v[i];
                v[i++] = v[j];
                v[j--] = t;
            }
        }
        if (want <= j)
            hi = j;
        else if (want >= i)
            lo = i;
        else
            return pivot;                /* (j, i): equal to the pivot */
    }
    return v[lo];
}

/* Buffers of n entries and n remainders kept between calls (callers hold the GIL: one call at a
 * time); 0 when they cannot grow to n. */
static rem_t *entry_buf;
static s64 *frac_buf;
static s64 buf_cap;

static int buffers(s64 n)
{
    if (n <= buf_cap)
        return 1;
    s64 want = n > 2 * buf_cap ? n : 2 * buf_cap;
    rem_t *e = realloc(entry_buf, want * sizeof *e);
    if (!e)
        return 0;
    entry_buf = e;
    s64 *f = realloc(frac_buf, want * sizeof *f);
    if (!f)
        return 0;
    frac_buf = f;
    buf_cap = want;
    return 1;
}

int rl_remove_proportionally(s64 *col, s64 stride, s64 n, s64 total, s64 gone)
{
    if (total <= 0 || !buffers(n > 0 ? n : 1))
        return 0;
    rem_t *r = entry_buf;
    /* The nonzero entries (most cohorts hold nothing of a given set), in index order. */
    s64 sum = 0, m = 0, with = 0;
    for (s64 i = 0; i < n; i++) {
        s64 c = col[i * stride];
        if (c == 0)
            continue;
        s64 share = (s64)((u64)c * (u64)gone);     /* wraps as numpy's int64 */
        s64 q = floor_div(share, total);
        r[m].q = q;
        r[m].frac = share - (s64)((u64)q * (u64)total);
        r[m].i = i;
        if (r[m].frac)
            frac_buf[with++] = r[m].frac;
        sum += q;
        m++;
    }
    s64 rem = gone - sum;
    if (rem < 0)
        return 0;       /* not a proportional split (total is not the column's sum): numpy's way */
    for (s64 j = 0; j < m; j++)
        col[r[j].i * stride] -= r[j].q;
    if (rem == 0 || with == 0)
        return 1;
    if (rem <= TOP_INSERT) {
        /* The rem best, kept sorted in top[] as the entries come in index order: one joins only
         * with a larger remainder than the last kept (an earlier entry wins a tie), after every
         * kept one with a remainder at least its own. */
        rem_t top[TOP_INSERT];
        s64 kept = 0;
        for (s64 j = 0; j < m; j++) {
            if (r[j].frac == 0 || (kept == rem && r[j].frac <= top[kept - 1].frac))
                continue;
            s64 at = kept < rem ? kept++ : kept - 1;
            while (at > 0 && top[at - 1].frac < r[j].frac) {
                top[at] = top[at - 1];
                at--;
            }
            top[at] = r[j];
        }
        for (s64 j = 0; j < kept; j++)
            col[top[j].i * stride] -= 1;
        return 1;
    }
    /* More: every remainder above the rem-th largest, then those equal to it in index order
     * (numpy's stable sort of -frac) until rem are placed. */
    s64 k = rem < with ? rem : with;
    s64 cut = kth_largest(frac_buf, with, k), above = 0;
    for (s64 j = 0; j < m; j++)
        above += r[j].frac > cut;
    s64 ties = k - above;
    for (s64 j = 0; j < m; j++) {
        if (r[j].frac > cut || (r[j].frac == cut && ties-- > 0))
            col[r[j].i * stride] -= 1;
    }
    return 1;
}
