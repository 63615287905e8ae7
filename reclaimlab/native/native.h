/* Shared declarations of the reclaimlab._native extension (module.c, scan.c, lexer.c). */
#ifndef RECLAIMLAB_NATIVE_H
#define RECLAIMLAB_NATIVE_H

#include <stddef.h>
#include <stdint.h>

typedef int64_t s64;
typedef uint64_t u64;


/* ---- small helpers shared by the C files ---- */
#include <string.h>
/* SSE2 is part of every x86-64 CPU: 16 bytes a step where the lexer searches and compares. */
#if defined(__SSE2__) && (!defined(__BYTE_ORDER__) || __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
#include <emmintrin.h>
#define RL_SSE2 1
#else
#define RL_SSE2 0
#endif
#define RL_INLINE static inline __attribute__((always_inline))
RL_INLINE u64 load8(const uint8_t *p)
{
    u64 w;
    memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}

/* a[0:n] == b[0:n], for short n (literals, names): 8 bytes at a time, the last 8 (or 4)
   overlapping the ones before, no byte loop and no call into libc. */
RL_INLINE int eq_bytes(const uint8_t *a, const uint8_t *b, s64 n)
{
#if RL_SSE2
    if (n >= 16 && n <= 32) {  /* the first 16 and the last 16, overlapping */
        __m128i x = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)a), _mm_loadu_si128((const __m128i *)b));
        __m128i y = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(a + n - 16)),
                                   _mm_loadu_si128((const __m128i *)(b + n - 16)));
        return _mm_movemask_epi8(_mm_and_si128(x, y)) == 0xFFFF;
    }
#endif
    if (n >= 8) {
        for (s64 k = 0; k + 8 < n; k += 8)
            if (load8(a + k) != load8(b + k))
                return 0;
        return load8(a + n - 8) == load8(b + n - 8);
    }
    if (n >= 4) {
        uint32_t x, y, u, v;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        memcpy(&u, a + n - 4, 4);
        memcpy(&v, b + n - 4, 4);
        return x == y && u == v;
    }
    for (s64 k = 0; k < n; k++)
        if (a[k] != b[k])
            return 0;
    return 1;
}


/* ---- scan.c: the arithmetic of do_shrink_slab() ---------------------------------------- */
/* The arrays of one scan (inputs of length n or 1, outputs of length n), shared by
 * rl_scan() and the loop it specialises. */
#define RL_SCAN_ARRAYS                                                                          \
    s64 calls, s64 n,                                                                           \
    const s64 *F_, s64 nF, const s64 *p_, s64 np_, const s64 *S_, s64 nS,                      \
    const s64 *B_, s64 nB, const s64 *nr_, s64 nN, const s64 *small_, s64 nA,                  \
    const s64 *lru_s_, s64 nLs, const s64 *lru_e_, s64 nLe, const s64 *custom_, s64 nC,        \
    const s64 *stop_, s64 nT, u64 *out_delta, s64 *out_total, s64 *out_scanned, s64 *out_next, \
    s64 *out_small, s64 n_small, s64 *out_sum, s64 n_sum

s64 rl_scan(s64 delta_rule, s64 zero_seek, s64 deferral, s64 floor_, s64 accumulator, RL_SCAN_ARRAYS);

/* ---- lexer.c: the ftrace line scanner ---------------------------------------------------- */
/* Line status codes (mirrored in reclaimlab/trace/_scan.py). */
enum {
    ST_BLANK = 0, ST_COMMENT = 1, ST_OTHER = 2, ST_START = 3, ST_END = 4,
    ST_BAD_LINE = -1, ST_LONG_LINE = -2, ST_BAD_START = -3, ST_BAD_END = -4
};
/* Integer columns. */
enum {
    I_PID, I_CPU, I_NID, I_NR, I_F, I_DELTA, I_TOTAL, I_PRIO, I_PGS, I_LRU, I_PAYLOAD, I_EOL,
    I_FLAGSLEN, I_TGID, N_INT
};
/* String slots. */
enum { S_TASK, S_EVENT, S_SYM, S_MOD, S_PTR, S_GFP, N_STR };

/* Lines longer than this (bytes, before trimming) are not parsed: status ST_LONG_LINE. */
#define RL_MAX_LINE 65536

/* Outputs of rl_scan_lines, one entry per line; arrays are row-major with capacity cap:
   ints[row * N_INT + col], strs[(row * N_STR + slot) * 2 + k] (k 0: offset, 1: length),
   hashes[row * N_STR + slot]. */
typedef struct {
    int8_t *status;
    s64 *ints;
    s64 *strs;
    u64 *hashes;
    double *ts;
    s64 *line_start;
    s64 cap;
} rl_lines;

u64 rl_hash(const uint8_t *p, s64 n);
s64 rl_scan_lines(const uint8_t *buf, s64 n, s64 start, rl_lines *out, s64 *next_start);
void rl_scan_kv(const uint8_t *buf, s64 n, const s64 *payload, const s64 *eol, s64 m,
                const uint8_t *const *keys, const s64 *key_len, s64 nk, s64 n_int,
                s64 *ints, s64 *spans, u64 *hashes, uint8_t *ok, s64 *present);
s64 rl_count_lines(const uint8_t *buf, s64 n);

/* ---- string table: distinct strings -> dense ids, comparing bytes (module.c Interner) ---- */
typedef struct {
    uint8_t *arena;          /* the bytes of every string, back to back */
    s64 arena_len, arena_cap;
    s64 *off, *len;          /* per id */
    u64 *hash;               /* per id */
    s64 n, cap;              /* ids */
    s64 *table;              /* open addressing: id + 1, 0 = empty */
    s64 mask;
} rl_strtab;

/* Add p[0:len] (hash h, not yet in t) at empty table slot k; its id, or -1 on memory error.
   In module.c; allocates with PyMem_Raw*, so it may run without the GIL. */
s64 rl_strtab_insert(rl_strtab *t, const uint8_t *p, s64 len, u64 h, s64 k);

/* The id of p[0:len] (hash h), added when new; -1 on memory error. */
RL_INLINE s64 rl_strtab_get(rl_strtab *t, const uint8_t *p, s64 len, u64 h)
{
    s64 k = (s64)(h & (u64)t->mask);
    for (;;) {
        s64 slot = t->table[k];
        if (!slot)
            return rl_strtab_insert(t, p, len, h, k);
        s64 id = slot - 1;
        if (t->hash[id] == h && t->len[id] == len && eq_bytes(t->arena + t->off[id], p, len))
            return id;
        k = (k + 1) & t->mask;
    }
}

/* ---- lexer.c: kept lines straight into columns -------------------------------------------- */
/* Kinds of kept lines, in this order: ST_START, ST_END, ST_OTHER. */
enum { RL_KINDS = 3 };
/* The lines of one kind: n of them, columns of capacity cap (row k of column c at [c * cap + k]). */
typedef struct {
    int nc, ns;              /* integer columns, string slots */
    int cols[N_INT];         /* I_* of each integer column */
    int slots[N_STR];        /* S_* of each string slot */
    s64 *row;                /* line index within the call */
    double *time;
    s64 *ints;               /* nc columns */
    s64 *ids;                /* ns columns: ids in the string table */
    s64 n;
} rl_kind;
typedef struct {
    rl_kind kind[RL_KINDS];
    s64 cap;                 /* lines per call at most, and the capacity of every column */
    /* Lines of negative status: line index, status, offset of the line, end of its text. */
    s64 *bad_row, *bad_status, *bad_start, *bad_eol;
    s64 nbad;
    s64 status_counts[9];    /* lines per status + 4 */
    s64 flag_widths[9];      /* start, end and other lines per width of the flags column */
} rl_events;

/* As rl_scan_lines, but the lines of each kind go straight into its columns and
   their strings into `strings`; returns the lines scanned, or -1 on memory error. */
s64 rl_scan_events(const uint8_t *buf, s64 n, s64 start, rl_events *ev, rl_strtab *strings, s64 *next_start);

/* ---- pairing.c: joining starts with ends ------------------------------------------------ */
int rl_pair(s64 ns, const s64 *start_pos, const s64 *start_pid, const s64 *start_sym, const s64 *start_ptr,
            const s64 *start_nr, s64 ne, const s64 *end_pos, const s64 *end_pid, const s64 *end_sym,
            const s64 *end_ptr, const s64 *end_unused, s64 *end_of);
s64 rl_descents(int runs, const s64 *const *line, const double *const *time, const s64 *len);

/* ---- outbuf.c: pooled memory for large output arrays ------------------------------------ */
/* ---- cohorts.c: removals in proportion from a column of cohorts ---- */
/* col[i * stride], i < n, less its share of `gone` of `total` (lruorder.remove_proportionally);
 * 1, or 0 with col unchanged when the caller must do it (no memory, total not the column's sum). */
int rl_remove_proportionally(s64 *col, s64 stride, s64 n, s64 total, s64 gone);

#ifdef Py_PYTHON_H
extern PyTypeObject rl_BlockType;
PyObject *rl_block(PyObject *module, PyObject *nbytes);
PyObject *rl_pool_info(PyObject *module, PyObject *unused);
#endif

/* ---- draws.c: scalar draws from a numpy Generator's stream (built when numpy's libnpyrandom is
 * found at build time: RL_DRAWS_NUMPY is then the numpy version it came from) ---- */
#ifdef RL_DRAWS_NUMPY
#include <Python.h>
int rl_draws_init(void);
extern const char rl_hypergeometric_chain_doc[], rl_binomial_doc[], rl_binomial_each_doc[],
    rl_multinomial_doc[], rl_poisson_doc[], rl_fileset_draws_doc[];
PyObject *rl_hypergeometric_chain(PyObject *self, PyObject *args);
PyObject *rl_binomial(PyObject *self, PyObject *args);
PyObject *rl_binomial_each(PyObject *self, PyObject *args);
PyObject *rl_multinomial(PyObject *self, PyObject *args);
PyObject *rl_poisson(PyObject *self, PyObject *args);
PyObject *rl_fileset_draws(PyObject *self, PyObject *args);
#endif

#endif
