/*
 * Pairing of mm_shrink_slab_start with mm_shrink_slab_end events, and the
 * time-order check that comes before it (reclaimlab/trace/pairing.py,
 * reclaimlab/trace/collect.py).
 *
 * A do_shrink_slab() call (mm/vmscan.c) logs its start and its end from one
 * task, and the end prints the start's nr as its "unused scan count". Within
 * one (task, shrinker instance) group the events in time order are bracket
 * matching: an end closes the most recent open start with the same nr, and the
 * starts opened after that one lost their end. One pass in time order with a
 * stack per group (a linked list through the starts), groups found in a hash
 * table: linear in the events, except that an end that matches nothing walks
 * its whole group's stack, as the Python version does. Pure C, no Python:
 * module.c calls it with the GIL released.
 */
#include <stdlib.h>

#include "native.h"

typedef struct { s64 sym, ptr, pid, top; } group;

static u64 mix3(s64 a, s64 b, s64 c)
{
    u64 h = (u64)a * 0x9E3779B97F4A7C15ULL;
    h ^= (u64)b + 0x632BE59BD9B4E019ULL + (h << 6) + (h >> 2);
    h *= 0xBF58476D1CE4E5B9ULL;
    h ^= (u64)c + 0x94D049BB133111EBULL + (h << 6) + (h >> 2);
    h *= 0x94D049BB133111EBULL;
    return h ^ (h >> 31);
}

typedef struct { group *slot; s64 mask, n; } group_table;

static int table_init(group_table *t, s64 size)
{
    t->slot = malloc((size_t)size * sizeof(group));
    if (!t->slot)
        return -1;
    for (s64 k = 0; k < size; k++)
        t->slot[k].top = -2;   /* -2: empty slot; -1: a group with no open start */
    t->mask = size - 1;
    t->n = 0;
    return 0;
}

static group *table_find(group_table *t, s64 sym, s64 ptr, s64 pid)
{
    s64 k = (s64)(mix3(sym, ptr, pid) & (u64)t->mask);
    for (;;) {
        group *g = &t->slot[k];
        if (g->top == -2 || (g->sym == sym && g->ptr == ptr && g->pid == pid))
            return g;
        k = (k + 1) & t->mask;
    }
}

/* The group of (sym, ptr, pid), added when new; NULL on memory error. */
static group *table_get(group_table *t, s64 sym, s64 ptr, s64 pid)
{
    group *g = table_find(t, sym, ptr, pid);
    if (g->top != -2)
        return g;
    if (2 * (t->n + 1) > t->mask + 1) {
        group_table bigger;
        if (table_init(&bigger, 2 * (t->mask + 1)) < 0)
            return NULL;
        for (s64 k = 0; k <= t->mask; k++)
            if (t->slot[k].top != -2)
                *table_find(&bigger, t->slot[k].sym, t->slot[k].ptr, t->slot[k].pid) = t->slot[k];
        bigger.n = t->n;
        free(t->slot);
        *t = bigger;
        g = table_find(t, sym, ptr, pid);
    }
    g->sym = sym;
    g->ptr = ptr;
    g->pid = pid;
    g->top = -1;
    t->n++;
    return g;
}

/* An event and its position, sorted by position (no global state: callers run in parallel). */
typedef struct { s64 pos, ev; } keyed;
static int by_pos(const void *a, const void *b)
{
    s64 x = ((const keyed *)a)->pos, y = ((const keyed *)b)->pos;
    return x < y ? -1 : x > y;
}

static int ascending(const s64 *a, s64 n)
{
    for (s64 k = 1; k < n; k++)
        if (a[k] <= a[k - 1])
            return 0;
    return 1;
}

/*
 * end_of[i] = the end matched with start i, or -1. Events are ordered by their
 * position (start_pos, end_pos: distinct integers, e.g. line numbers or ranks
 * in time order). Returns 0, or -1 on memory error.
 */
int rl_pair(s64 ns, const s64 *start_pos, const s64 *start_pid, const s64 *start_sym, const s64 *start_ptr,
            const s64 *start_nr, s64 ne, const s64 *end_pos, const s64 *end_pid, const s64 *end_sym,
            const s64 *end_ptr, const s64 *end_unused, s64 *end_of)
{
    for (s64 i = 0; i < ns; i++)
        end_of[i] = -1;
    if (ns == 0 || ne == 0)
        return 0;
    s64 *prev = malloc((size_t)ns * sizeof(s64));
    keyed *order = NULL;
    group_table t = {0};
    int rc = -1;
    if (!prev || table_init(&t, 1024) < 0)
        goto done;
    int merged = ascending(start_pos, ns) && ascending(end_pos, ne);
    if (!merged) {
        /* Positions not in order (text parsed in file order): sort the events by position. */
        order = malloc((size_t)(ns + ne) * sizeof(keyed));
        if (!order)
            goto done;
        for (s64 k = 0; k < ns; k++)
            order[k] = (keyed){start_pos[k], k};
        for (s64 k = 0; k < ne; k++)
            order[ns + k] = (keyed){end_pos[k], ns + k};
        qsort(order, (size_t)(ns + ne), sizeof(keyed), by_pos);
    }
    s64 a = 0, b = 0;
    /* The group of the previous start: an end usually follows its start, so its group is
       found without hashing. Reset by every table_get (a table that grows moves its groups). */
    group *last = NULL;
    for (s64 k = 0; k < ns + ne; k++) {
        s64 ev;
        if (merged)
            ev = b >= ne || (a < ns && start_pos[a] < end_pos[b]) ? a++ : ns + b++;
        else
            ev = order[k].ev;
        if (ev < ns) {
            group *g = last;
            if (!g || g->sym != start_sym[ev] || g->ptr != start_ptr[ev] || g->pid != start_pid[ev]) {
                g = table_get(&t, start_sym[ev], start_ptr[ev], start_pid[ev]);
                if (!g)
                    goto done;
                last = g;
            }
            prev[ev] = g->top;
            g->top = ev;
        } else {
            s64 e = ev - ns;
            group *g = last;
            if (!g || g->sym != end_sym[e] || g->ptr != end_ptr[e] || g->pid != end_pid[e])
                g = table_find(&t, end_sym[e], end_ptr[e], end_pid[e]);
            /* The most recent open start with the same nr; it and the starts above it close. */
            for (s64 s = g->top; s >= 0; s = prev[s])
                if (start_nr[s] == end_unused[e]) {
                    end_of[s] = e;
                    g->top = prev[s];
                    break;
                }
        }
    }
    rc = 0;
done:
    free(prev);
    free(order);
    free(t.slot);
    return rc;
}

/*
 * Events in runs (each in file order: line ascending) merged by line: how many
 * have an earlier time than the event before them. -1 when a run's lines are
 * not ascending (the caller then merges by sorting).
 */
s64 rl_descents(int runs, const s64 *const *line, const double *const *time, const s64 *len)
{
    s64 at[8] = {0}, count = 0;
    double last = 0;
    int first = 1;
    if (runs > 8)
        return -1;
    for (int r = 0; r < runs; r++)
        if (!ascending(line[r], len[r]))
            return -1;
    for (;;) {
        int best = -1;
        for (int r = 0; r < runs; r++)
            if (at[r] < len[r] && (best < 0 || line[r][at[r]] < line[best][at[best]]))
                best = r;
        if (best < 0)
            break;
        double t = time[best][at[best]++];
        if (!first && t < last)
            count++;
        last = t;
        first = 0;
    }
    return count;
}
