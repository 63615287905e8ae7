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

/* numpy's floor division and remainder of int64 by a positive divisor. */
static inline s64 floor_div(s64 a, s64 b)
{
    s64 q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* Up to this many extra items are placed by insertion into a short sorted list; more by qsort. */
#define TOP_INSERT 64

typedef struct {
    s64 frac;
    s64 i;
} rem_t;

/* Larger remainder first, then the earlier entry: a total order, so qsort's result is unique. */
static int by_remainder(const void *a, const void *b)
{
    const rem_t *x = a, *y = b;
    if (x->frac != y->frac)
        return x->frac > y->frac ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

int rl_remove_proportionally(s64 *col, s64 stride, s64 n, s64 total, s64 gone)
{
    if (total <= 0)
        return 0;
    s64 small_q[256];
    rem_t small_r[256];
    s64 *q = n <= 256 ? small_q : malloc(n * sizeof *q);
    rem_t *r = n <= 256 ? small_r : malloc(n * sizeof *r);
    int ok = q && r;
    if (ok) {
        s64 sum = 0;
        s64 with = 0;
        for (s64 i = 0; i < n; i++) {
            if (col[i * stride] == 0) {      /* most cohorts hold nothing of a given set */
                q[i] = 0;
                continue;
            }
            s64 share = (s64)((u64)col[i * stride] * (u64)gone);     /* wraps as numpy's int64 */
            q[i] = floor_div(share, total);
            sum += q[i];
            s64 frac = share - (s64)((u64)q[i] * (u64)total);
            if (frac) {
                r[with].frac = frac;
                r[with].i = i;
                with++;
            }
        }
        s64 rem = gone - sum;
        if (rem < 0) {
            ok = 0;     /* not a proportional split (total is not the column's sum): numpy's way */
        } else if (rem > 0) {
            if (rem <= TOP_INSERT) {
                /* The rem best, kept sorted in top[] as the entries come in index order: one
                 * joins only with a larger remainder than the last kept (an earlier entry wins a
                 * tie), after every kept one with a remainder at least its own. */
                rem_t top[TOP_INSERT];
                s64 kept = 0;
                for (s64 j = 0; j < with; j++) {
                    if (kept == rem && r[j].frac <= top[kept - 1].frac)
                        continue;
                    s64 at = kept < rem ? kept++ : kept - 1;
                    while (at > 0 && top[at - 1].frac < r[j].frac) {
                        top[at] = top[at - 1];
                        at--;
                    }
                    top[at] = r[j];
                }
                for (s64 j = 0; j < kept; j++)
                    q[top[j].i] += 1;
            } else {
                qsort(r, with, sizeof *r, by_remainder);
                for (s64 j = 0; j < with && j < rem; j++)
                    q[r[j].i] += 1;
            }
        }
        if (ok)
            for (s64 i = 0; i < n; i++)
                col[i * stride] -= q[i];
    }
    if (q != small_q)
        free(q);
    if (r != small_r)
        free(r);
    return ok;
}
