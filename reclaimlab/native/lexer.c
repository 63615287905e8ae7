/*
 * The ftrace line scanner of the trace reader: one pass over a block of text.
 *
 * Every line is classified and, for mm_shrink_slab_start and mm_shrink_slab_end
 * events, taken apart into integers and string spans (offset, length and a
 * 64-bit hash that the caller uses as a bucket hint when it interns the
 * string; the interner compares the bytes). Nothing here fails: a line that
 * does not parse gets a negative status and the caller decides (docs/kernel.md §4).
 * The grammar is documented in reclaimlab/trace/_scan.py.
 *
 * Work per line is linear in its length: every candidate "[cpu]" bracket is
 * tried with forward and backward walks that stop at the next blank or
 * bracket, and a line longer than RL_MAX_LINE bytes is not parsed at all
 * (status ST_LONG_LINE). Pure C, no Python: module.c calls it with the GIL
 * released.
 *
 * Speed (a synthetic line of ~220 bytes: ~1450 instructions, ~150 ns on a 2.6 GHz
 * EPYC): the code runs at ~4 instructions a cycle on identical lines, so what costs
 * is instructions and, on real lines, branches whose outcome moves with the data
 * (each missed one ~15 cycles). Hence SSE2 (part of every x86-64; byte-wise
 * fallbacks elsewhere) where a search has no fixed length, integers read 8 bytes at
 * a time even at the end of a line, and no byte loop whose exit depends on a
 * field's width. Tried and left out, being slower: the blanks of a payload found
 * all at once to parse its fields independently, and the newlines of a window
 * listed ahead instead of memchr per line. Results are checked unchanged with
 * benchmarks/trace_reference.py.
 */
#include <string.h>

#include "native.h"

#define INLINE static inline __attribute__((always_inline))
#define INT64_MAX_U ((u64)INT64_MAX)
#define EXACT ((s64)1 << 53)   /* integers up to here are exact in a double */

static const char L_START[] = "mm_shrink_slab_start";
static const char L_END[] = "mm_shrink_slab_end";
static const char L_NID[] = "nid: ";
static const char L_OBJ[] = " objects to shrink ";
static const char L_GFP[] = " gfp_flags ";
static const char L_PGS[] = " pgs_scanned ";
static const char L_LRU[] = " lru_pgs ";
static const char L_ITEMS[] = " cache items ";
static const char L_DELTA[] = " delta ";
static const char L_TOTAL[] = " total_scan ";
static const char L_PRIO[] = " priority ";
static const char L_UNUSED[] = " unused scan count ";
static const char L_NEW[] = " new scan count ";
static const char L_RET[] = " last shrinker return val ";

typedef struct { const char *lit; s64 len; int col; } field;
#define F(l, c) { l, sizeof(l) - 1, c }
/* Field programs: each a literal then an integer. */
static const field PROG[] = {
    F(L_OBJ, I_NR),                                             /* 0: start, before gfp_flags */
    F(L_PGS, I_PGS), F(L_LRU, I_LRU),                           /* 1: start, pre-4.16 only */
    F(L_ITEMS, I_F), F(L_DELTA, I_DELTA), F(L_TOTAL, I_TOTAL),  /* 3: start */
    F(L_PRIO, I_PRIO),                                          /* 6: start, 4.16+ only */
    F(L_UNUSED, I_NR), F(L_NEW, I_F), F(L_TOTAL, I_DELTA), F(L_RET, I_TOTAL),  /* 7: end */
};
enum { P_OBJ = 0, P_PGS = 1, P_ITEMS = 3, P_PRIO = 6, P_END = 7, P_STOP = 11 };

#define HASHED_START ((1 << S_TASK) | (1 << S_SYM) | (1 << S_MOD) | (1 << S_PTR) | (1 << S_GFP))
#define HASHED_END ((1 << S_SYM) | (1 << S_PTR))
#define HASHED_OTHER ((1 << S_TASK) | (1 << S_EVENT))

#define HASH_SEED 14695981039346656037ULL
#define HASH_MUL 0x9E3779B97F4A7C15ULL

/* 64-bit hash of p[0:n]: 8 bytes at a time, multiply-xorshift mixing. */
static inline u64 hash_bytes(const uint8_t *p, s64 n)
{
    u64 h = HASH_SEED ^ (u64)n, w = 0;
    s64 k = 0;
    for (; k + 8 <= n; k += 8) {
        h = (h ^ load8(p + k)) * HASH_MUL;
        h ^= h >> 29;
    }
    if (k < n && n >= 8)  /* the tail: the last 8 bytes, shifted down to the new ones */
        w = load8(p + n - 8) >> (8 * (8 - (n - k)));
    else
        for (int j = 0; k < n; k++, j++)
            w |= (u64)p[k] << (8 * j);
    h = (h ^ w) * HASH_MUL;
    h ^= h >> 32;
    return h;
}

u64 rl_hash(const uint8_t *p, s64 n) { return hash_bytes(p, n); }

INLINE int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
INLINE int is_blank(uint8_t c) { return c == ' ' || c == '\t'; }
/* [0-9A-Za-z_], one table lookup. */
static const uint8_t NAME_CHAR[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1,
    ['9'] = 1, ['_'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1,
    ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
    ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,
    ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
    ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};
INLINE int is_name_char(uint8_t c) { return NAME_CHAR[c]; }

/* Index after literal lit if buf[i:] starts with it (before e), else -1. */
INLINE s64 expect(const uint8_t *buf, s64 i, s64 e, const char *lit, s64 n)
{
    if (i < 0 || i + n > e)
        return -1;
    return eq_bytes(buf + i, (const uint8_t *)lit, n) ? i + n : -1;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* The run of decimal digits at buf[i:e], 8 bytes at once: its length when it is 0 to 7
   digits followed by a non-digit or e within 8 bytes (value in *val), else -1 (i >= e, fewer
   than 8 bytes readable below lim (the end of the block, >= e), or 8 digits or more: the
   caller reads them one by one). Bytes from e to lim may be loaded, never used. t holds
   c - '0' per byte; a byte is flagged when it is not a digit (c - '0' borrows, or
   c + 0x46 passes 0x7F); borrows and carries only start at non-digits, so the lowest
   flagged byte is exactly the first non-digit. Little-endian only. */
INLINE int swar_digits(const uint8_t *buf, s64 i, s64 e, s64 lim, u64 *val)
{
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (i < e && i + 8 <= lim) {
        u64 w = load8(buf + i);
        u64 t = w - ONES * '0';
        u64 flag = (t | (w + ONES * (0x7F - '9'))) & HIGHS;
        if (e - i < 8)  /* the bytes from e on are past the field: not digits */
            flag |= HIGHS << (8 * (e - i));
        if (flag) {
            int low = __builtin_ctzll(flag);   /* bit 7 of the first non-digit: 8 * nd + 7 */
            int nd = low >> 3;
            if (nd == 0) {
                *val = 0;
                return 0;
            }
            /* The digits in the top bytes, zeros below. No mask needed: below the first
               non-digit nothing borrowed, so those bytes of t are exactly 0..9. */
            u64 x = t << (71 - low);
            x = x * 2561 >> 8;
            x = (x & 0x00FF00FF00FF00FFULL) * 6553601 >> 16;
            x = (x & 0x0000FFFF0000FFFFULL) * 42949672960001ULL >> 32;
            *val = x;
            return nd;
        }
    }
#else
    (void)buf; (void)i; (void)e; (void)val;
#endif
    return -1;
}

static const s64 POW10[8] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000};

/* A signed decimal int64 at buf[i:e] into *out; index after it or -1. */
INLINE s64 read_int(const uint8_t *buf, s64 i, s64 e, s64 lim, s64 *out)
{
    if (i < 0 || i >= e)
        return -1;
    int neg = buf[i] == '-';
    if (neg)
        i++;
    s64 start = i;
    u64 v = 0;
    u64 x;
    int nd = swar_digits(buf, i, e, lim, &x);
    if (nd == 0)
        return -1;
    if (nd > 0) {  /* up to 7 digits at once (the usual case) */
        *out = neg ? -(s64)x : (s64)x;
        return i + nd;
    }
    while (i < e && is_digit(buf[i])) {
        v = v * 10 + (u64)(buf[i] - '0');
        i++;
    }
    /* 19 digits cannot wrap a uint64; more are refused, and so is anything past INT64_MAX. */
    if (i == start || i - start > 19 || v > INT64_MAX_U)
        return -1;
    *out = neg ? -(s64)v : (s64)v;
    return i;
}

/* Bit 7 of each byte of w set where that byte is zero (exact: no false positives below the first). */
INLINE u64 zero_bytes(u64 w) { return (w - ONES) & ~w & HIGHS; }

/* Bit i of the result set where byte i of buf[i:i+16] is a blank (SSE2, part of every x86-64). */
#if RL_SSE2
INLINE unsigned blanks16(const uint8_t *p)
{
    __m128i v = _mm_loadu_si128((const __m128i *)p);
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')),
                                                    _mm_cmpeq_epi8(v, _mm_set1_epi8('\t'))));
}
#endif

/* Index of the first blank at or after i (or e): 16 bytes a step, then 8. */
INLINE s64 read_word(const uint8_t *buf, s64 i, s64 e)
{
#if RL_SSE2
    while (i + 16 <= e) {
        unsigned m = blanks16(buf + i);
        if (m)
            return i + __builtin_ctz(m);
        i += 16;
    }
#endif
    while (i + 8 <= e) {
        u64 w = load8(buf + i);
        u64 m = zero_bytes(w ^ (ONES * ' ')) | zero_bytes(w ^ (ONES * '\t'));
        if (m)
            return i + (__builtin_ctzll(m) >> 3);
        i += 8;
    }
    while (i < e && !is_blank(buf[i]))
        i++;
    return i;
}

/* Bit 7 of each byte of w set where that byte is zero, exactly (for every byte). */
INLINE u64 zero_bytes_exact(u64 w) { return ~(((w & ~HIGHS) + ~HIGHS) | w) & HIGHS; }

/* Index of the first non-blank at or after i (or e): 8 bytes a step (ftrace right-aligns
   task names in 16 columns, so lines often start with many blanks). */
INLINE s64 skip_blanks(const uint8_t *buf, s64 i, s64 e)
{
#if RL_SSE2
    while (i + 16 <= e) {
        unsigned m = ~blanks16(buf + i) & 0xFFFFu;
        if (m)
            return i + __builtin_ctz(m);
        i += 16;
    }
#endif
    while (i + 8 <= e) {
        u64 w = load8(buf + i);
        u64 m = ~(zero_bytes_exact(w ^ (ONES * ' ')) | zero_bytes_exact(w ^ (ONES * '\t'))) & HIGHS;
        if (m)
            return i + (__builtin_ctzll(m) >> 3);
        i += 8;
    }
    while (i < e && is_blank(buf[i]))
        i++;
    return i;
}

/* The line being parsed: its row of each output (row-major: ints[row * N_INT + col] ...). */
typedef struct {
    const uint8_t *buf;
    s64 n;          /* bytes readable at buf (the block): loads may pass a line's end up to here */
    int shrink;     /* set by parse_header: 1 or 2 when it found mm_shrink_slab_start or _end
                       the quick way, 0 when the caller must compare the name */
    s64 *ints;      /* N_INT of this row */
    s64 *strs;      /* N_STR * 2 of this row */
    double *ts;     /* this row */
} ctx;

#define INTS(c, col) ((c)->ints[col])
#define STR(c, slot, k) ((c)->strs[(slot) * 2 + (k)])

INLINE void span(ctx *c, int slot, s64 a, s64 b)
{
    STR(c, slot, 0) = a;
    STR(c, slot, 1) = b - a;
}

/* Parse digits[.digits]: at i; return the index after ':' (and *t) or -1.
   Correctly rounded whenever all the digits fit in 53 bits: one integer divided by a power of ten. */
INLINE s64 parse_timestamp(const uint8_t *buf, s64 i, s64 e, s64 lim, double *t)
{
    s64 start = i, ip = 0, frac = 0, scale = 1;
    u64 v;
    int nd = swar_digits(buf, i, e, lim, &v);
    if (nd >= 1) {  /* up to 7 digits at once (the usual case); else one by one */
        ip = (s64)v;
        i += nd;
    } else {
        while (i < e && is_digit(buf[i])) {
            if (i - start >= 18)
                return -1;
            ip = ip * 10 + (buf[i] - '0');
            i++;
        }
        if (i == start)
            return -1;
    }
    if (i < e && buf[i] == '.') {
        i++;
        s64 fs = i;
        nd = swar_digits(buf, i, e, lim, &v);
        if (nd >= 1) {
            frac = (s64)v;
            scale = POW10[nd];
            i += nd;
        } else {
            while (i < e && is_digit(buf[i])) {
                if (i - fs < 15) {
                    frac = frac * 10 + (buf[i] - '0');
                    scale *= 10;
                }
                i++;
            }
            if (i == fs)
                return -1;
        }
    }
    if (i >= e || buf[i] != ':')
        return -1;
    /* ip * scale + frac <= EXACT, without a division (ip <= (EXACT - frac) / scale). */
    s64 scaled;
    if (!__builtin_mul_overflow(ip, scale, &scaled) && scaled <= EXACT - frac)
        *t = (double)(scaled + frac) / (double)scale;
    else
        *t = (double)ip + (double)frac / (double)scale;
    return i + 1;
}

/* The first non-blank at or below q, walking down to s (s - 1 when all are blanks): 8 bytes
   a step (ftrace left-aligns the pid in a padded column, so several blanks come before "["). */
INLINE s64 back_blanks(const uint8_t *buf, s64 q, s64 s)
{
    while (q - 7 >= s) {
        u64 w = load8(buf + q - 7);  /* byte 7 is buf[q] */
        u64 m = ~(zero_bytes_exact(w ^ (ONES * ' ')) | zero_bytes_exact(w ^ (ONES * '\t'))) & HIGHS;
        if (m)
            return q - 7 + ((63 - __builtin_clzll(m)) >> 3);
        q -= 8;
    }
    while (q >= s && is_blank(buf[q]))
        q--;
    return q;
}

/* Offset of the first byte ch in buf[i:e], or e. The bracket is a few dozen bytes into the
   line: 16 bytes a step costs less than a call to memchr for that. */
INLINE s64 find_byte(const uint8_t *buf, s64 i, s64 e, uint8_t ch)
{
#if RL_SSE2
    const __m128i needle = _mm_set1_epi8((char)ch);
    for (; i + 16 <= e; i += 16) {
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(buf + i)), needle));
        if (m)
            return i + __builtin_ctz(m);
    }
#endif
    const uint8_t *hit = i < e ? memchr(buf + i, ch, (size_t)(e - i)) : NULL;
    return hit ? hit - buf : e;
}

/* Parse "task-pid [cpu] flags ts: event:"; return the payload offset or -1. */
INLINE s64 parse_header(ctx *c, s64 s, s64 e)
{
    const uint8_t *buf = c->buf;
    /* Candidate "[cpu]" brackets, leftmost first; the task may itself contain brackets. */
    for (s64 j = s; j < e; j++) {
        j = find_byte(buf, j, e, '[');
        if (j == e)
            break;
        s64 k = j + 1, cpu = 0;
        while (k < e && is_digit(buf[k])) {
            cpu = cpu * 10 + (buf[k] - '0');  /* (wraps harmlessly past 9 digits: refused below) */
            k++;
        }
        if (k == j + 1 || k >= e || buf[k] != ']' || k - j - 1 > 9)
            continue;
        /* Walk back from the bracket: blanks, optional "(tgid)", blanks, pid digits, '-'. */
        s64 q = back_blanks(buf, j - 1, s), nb = j - 1 - q;
        if (nb == 0)
            continue;
        s64 tgid = -1;
        if (q >= s && buf[q] == ')') {
            s64 r = q - 1;
            while (r >= s && r > q - 16 && buf[r] != '(')
                r--;
            if (r < s || buf[r] != '(')
                continue;
            s64 tv = 0, td = 0;
            int bad = 0;
            for (s64 t = r + 1; t < q; t++) {
                uint8_t ch = buf[t];
                if (is_digit(ch)) {
                    tv = tv * 10 + (ch - '0');
                    td++;
                } else if (!(is_blank(ch) || ch == '-')) {
                    bad = 1;
                }
            }
            if (bad)
                continue;
            if (td > 0)
                tgid = tv;
            q = r - 1;
            nb = 0;
            while (q >= s && is_blank(buf[q])) {
                q--;
                nb++;
            }
            if (nb == 0)
                continue;
        }
        s64 pe = q + 1;
        while (q >= s && is_digit(buf[q]))
            q--;
        s64 nd = pe - (q + 1);
        if (nd == 0 || nd > 10 || q < s || buf[q] != '-')
            continue;
        /* Timestamp, with or without a flags column in front of it. */
        s64 i = k + 1;
        while (i < e && is_blank(buf[i]))
            i++;
        double t_val = 0.0;
        /* A timestamp starts with a digit; anything else here is the flags column (what
           parse_timestamp would say, without trying it). */
        s64 after = i < e && is_digit(buf[i]) ? parse_timestamp(buf, i, e, c->n, &t_val) : -1;
        s64 flen = 0;
        if (after < 0) {
            s64 w = read_word(buf, i, e);
            flen = w - i;
            if (flen == 0 || flen > 8)
                continue;
            i = w;
            while (i < e && is_blank(buf[i]))
                i++;
            after = parse_timestamp(buf, i, e, c->n, &t_val);
            if (after < 0)
                continue;
        }
        /* Event name: [system:]name followed by ':' and a blank or the end of line. */
        i = after;
        while (i < e && is_blank(buf[i]))
            i++;
        s64 n0 = i, n1 = i, k0 = -1;
        /* The usual names first: "mm_shrink_slab_start" or "_end", then ':' and a blank or the
           end of line (what the loop below finds for them, without a table lookup a byte). */
        if (i + 19 <= e && eq_bytes(buf + i, (const uint8_t *)L_START, 15)) {
            if (i + 21 <= e && eq_bytes(buf + i + 15, (const uint8_t *)"start:", 6))
                k0 = i + 20;
            else if (eq_bytes(buf + i + 15, (const uint8_t *)"end:", 4))
                k0 = i + 18;
            if (k0 >= 0 && !(k0 + 1 >= e || is_blank(buf[k0 + 1])))
                k0 = -1;
        }
        if (k0 >= 0) {
            i = k0;
        } else {
            for (;;) {
                n1 = i;
                while (i < e && is_name_char(buf[i]))
                    i++;
                if (i == n1 || i >= e || buf[i] != ':') {
                    n0 = -1;
                    break;
                }
                if (i + 1 >= e || is_blank(buf[i + 1]))
                    break;
                i++;  /* a "system:" prefix; the name follows */
            }
        }
        if (n0 < 0 || i - n1 > 64)
            continue;
        /* Success: fill the header fields. */
        s64 pid = 0;
        u64 pv = 0;
        if (swar_digits(buf, q + 1, e, c->n, &pv) == nd)  /* the pid's digits at once, when they fit */
            pid = (s64)pv;
        else
            for (s64 t = q + 1; t < pe; t++)
                pid = pid * 10 + (buf[t] - '0');
        c->shrink = k0 < 0 ? 0 : k0 - n1 == 20 ? 1 : 2;
        INTS(c, I_PID) = pid;
        INTS(c, I_CPU) = cpu;
        INTS(c, I_FLAGSLEN) = flen;
        INTS(c, I_TGID) = tgid;
        *c->ts = t_val;
        span(c, S_TASK, s, q);
        span(c, S_EVENT, n1, i);
        s64 p = i + 1;
        while (p < e && is_blank(buf[p]))  /* trace-cmd pads event names with blanks */
            p++;
        INTS(c, I_PAYLOAD) = p;
        return p;
    }
    return -1;
}

/* Run field program rows a:b: each a literal then an int. */
INLINE s64 fields(ctx *c, s64 i, s64 e, int a, int b)
{
    for (int k = a; k < b; k++)
        i = read_int(c->buf, expect(c->buf, i, e, PROG[k].lit, PROG[k].len), e, c->n, &INTS(c, PROG[k].col));
    return i;
}

#define EXPECT(i, lit) expect(buf, (i), e, lit, (s64)sizeof(lit) - 1)

/* Parse an mm_shrink_slab_start (start) or _end payload; 1 when the whole line parsed. */
INLINE int parse_payload(ctx *c, s64 i, s64 e, int start)
{
    const uint8_t *buf = c->buf;
    s64 a = i;
    i = read_word(buf, i, e);
    if (i == a || i >= e)
        return 0;
    span(c, S_SYM, a, i);
    i++;
    if (i < e && buf[i] == '[') {  /* '[' module ']' */
        s64 m = i + 1;
        while (i < e && buf[i] != ']')
            i++;
        if (i >= e || i == m)
            return 0;
        span(c, S_MOD, m, i);
        i++;
        if (i >= e || buf[i] != ' ')
            return 0;
        i++;
    } else {
        span(c, S_MOD, i, i);
    }
    a = i;
    i = read_word(buf, i, e);
    if (i - a < 2 || buf[i - 1] != ':')  /* pointer then ':' */
        return 0;
    span(c, S_PTR, a, i - 1);
    i = EXPECT(i < e ? i + 1 : e + 1, L_NID);
    i = read_int(buf, i, e, c->n, &INTS(c, I_NID));
    if (!start)
        return fields(c, i, e, P_END, P_STOP) == e;
    i = EXPECT(fields(c, i, e, P_OBJ, P_PGS), L_GFP);
    if (i < 0)
        return 0;
    a = i;
    i = read_word(buf, i, e);
    span(c, S_GFP, a, i);
    INTS(c, I_PGS) = -1;
    INTS(c, I_LRU) = -1;
    INTS(c, I_PRIO) = -1;
    if (EXPECT(i, L_PGS) >= 0)
        i = fields(c, i, e, P_PGS, P_ITEMS);
    i = fields(c, i, e, P_ITEMS, P_PRIO);
    if (0 <= i && i < e)
        i = fields(c, i, e, P_PRIO, P_END);
    return i == e;
}

/*
 * Canonical copies of the strings hashed in one call. A string equal to one seen
 * earlier in the same call gets that earlier copy's offset as its span: compared
 * here, while both copies are in cache, it spares an interner (module.c)
 * a read of text scanned megabytes ago, and lets it recognise a repeat by its
 * offset alone. A small open-addressing table; when it is full, or after a few
 * probes, a string simply keeps its own offset.
 */
#define CANON_SIZE 512
#define CANON_PROBES 8
typedef struct { u64 h; s64 off, len; } canon_entry;

INLINE s64 canonical(canon_entry *t, const uint8_t *buf, s64 a, s64 n, u64 h)
{
    u64 k = h & (CANON_SIZE - 1);
    for (int probe = 0; probe < CANON_PROBES; probe++, k = (k + 1) & (CANON_SIZE - 1)) {
        canon_entry *c = &t[k];
        if (c->len < 0) {
            c->h = h;
            c->off = a;
            c->len = n;
            return a;
        }
        if (c->h == h && c->len == n && eq_bytes(buf + c->off, buf + a, n))
            return c->off;
    }
    return a;
}

INLINE int name_is(const uint8_t *buf, s64 a, s64 n, const char *lit, s64 len)
{
    return n == len && eq_bytes(buf + a, (const uint8_t *)lit, n);
}

/* Whether the event of a parsed header is mm_shrink_slab_start or _end: what parse_header
   found, or (a "system:" prefix, say) a comparison of the name. */
INLINE void shrink_kind(const ctx *c, int *is_start, int *is_end)
{
    if (c->shrink) {
        *is_start = c->shrink == 1;
        *is_end = c->shrink == 2;
        return;
    }
    s64 na = c->strs[S_EVENT * 2], nn = c->strs[S_EVENT * 2 + 1];
    *is_start = name_is(c->buf, na, nn, L_START, sizeof(L_START) - 1);
    *is_end = !*is_start && name_is(c->buf, na, nn, L_END, sizeof(L_END) - 1);
}

/*
 * Classify and parse the lines of buf[start:n] until the outputs are full.
 * Returns the number of lines parsed; *next_start is the offset of the first
 * line not parsed (n when the text is exhausted). The last line need not end
 * with a newline. Only the fields that a line's status implies are written.
 * The span of a hashed string is that of its first copy in this call (see canonical()).
 */
s64 rl_scan_lines(const uint8_t *buf, s64 n, s64 start, rl_lines *out, s64 *next_start)
{
    int8_t *const status = out->status;
    s64 *const line_start = out->line_start;
    u64 *const hashes = out->hashes;
    const s64 cap = out->cap;
    s64 s = start, row = 0;
    canon_entry canon[CANON_SIZE];
    for (int k = 0; k < CANON_SIZE; k++)
        canon[k].off = canon[k].len = -1;
    for (; s < n && row < cap; row++) {
        ctx c = { buf, n, 0, out->ints + row * N_INT, out->strs + row * N_STR * 2, out->ts + row };
        const uint8_t *nl = memchr(buf + s, '\n', (size_t)(n - s));
        s64 e = nl ? nl - buf : n;
        s64 nxt = e + 1;
        line_start[row] = s;
        if (e - s > RL_MAX_LINE) {
            INTS(&c, I_EOL) = e;
            status[row] = ST_LONG_LINE;
            s = nxt;
            continue;
        }
        /* Trim trailing blanks and \r; skip leading blanks. */
        while (e > s && (is_blank(buf[e - 1]) || buf[e - 1] == '\r'))
            e--;
        s64 i = skip_blanks(buf, s, e);
        INTS(&c, I_EOL) = e;
        if (i == e) {
            status[row] = ST_BLANK;
        } else if (buf[i] == '#') {
            status[row] = ST_COMMENT;
        } else {
            s64 p = parse_header(&c, i, e);
            if (p < 0) {
                status[row] = ST_BAD_LINE;
            } else {
                int is_start, is_end, code, mask;
                shrink_kind(&c, &is_start, &is_end);
                if (is_start || is_end) {
                    int ok = parse_payload(&c, p, e, is_start);
                    code = is_start ? (ok ? ST_START : ST_BAD_START) : (ok ? ST_END : ST_BAD_END);
                } else {
                    code = ST_OTHER;
                }
                status[row] = (int8_t)code;
                /* Hash the strings the Collector keeps for this kind of line. */
                mask = code == ST_START ? HASHED_START : code == ST_END ? HASHED_END
                     : code == ST_OTHER ? HASHED_OTHER : 0;
                for (int slot = 0; slot < N_STR; slot++)
                    if ((mask >> slot) & 1) {
                        s64 a = STR(&c, slot, 0), len = STR(&c, slot, 1);
                        u64 h = hash_bytes(buf + a, len);
                        hashes[row * N_STR + slot] = h;
                        if (len > 0)
                            STR(&c, slot, 0) = canonical(canon, buf, a, len, h);
                    }
            }
        }
        s = nxt;
    }
    *next_start = s < n ? s : n;
    return row;
}

/*
 * Ids of recent strings of 8 to 16 bytes, looked up by their bytes: such a string is
 * exactly two 8-byte words (the second holding bytes 8..len, zero-padded) and its
 * length, so equal words mean equal strings and no byte comparison nor hash is needed.
 * The shrinker pointers (16 hex digits), GFP flag names and most task names are of that
 * size; a pointer changes from one start event to the next, so the `last` test below
 * rarely catches it. A direct-mapped table of ICACHE entries, reset at every call.
 */
#define ICACHE 256
typedef struct { u64 w0, w1; s64 len, id; } icache_entry;

/* The id of buf[a:a+len] in t; *last (the id this column had on its previous line) is
   tried first: a byte comparison with a string in cache costs less than a hash. */
INLINE s64 intern_span(rl_strtab *t, icache_entry *ic, const uint8_t *buf, s64 a, s64 len, s64 *last)
{
    s64 id = *last;
    if (id >= 0 && t->len[id] == len && eq_bytes(t->arena + t->off[id], buf + a, len))
        return id;
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (len >= 8 && len <= 16) {
        u64 w0 = load8(buf + a), w1 = len == 8 ? 0 : load8(buf + a + len - 8) >> (8 * (16 - len));
        icache_entry *c = &ic[((w0 ^ (w1 * HASH_MUL) ^ (u64)len) * HASH_MUL) >> 56];
        if (c->w0 == w0 && c->w1 == w1 && c->len == len) {
            *last = c->id;
            return c->id;
        }
        id = rl_strtab_get(t, buf + a, len, hash_bytes(buf + a, len));
        if (id >= 0)
            *c = (icache_entry){w0, w1, len, id};
        *last = id;
        return id;
    }
#else
    (void)ic;
#endif
    id = rl_strtab_get(t, buf + a, len, hash_bytes(buf + a, len));
    *last = id;
    return id;
}

/*
 * The lines of buf[start:n], up to ev->cap of them, classified and parsed as by
 * rl_scan_lines, but nothing is written per line: a start, end or other event
 * line appends its row, time, the integer columns and the string ids of its
 * kind (ev->kind[0..2]) to that kind's columns, with its strings interned in
 * `strings` while they are in cache; a line of negative status is listed in
 * the bad_* columns; every line is counted by status, and an event line by the
 * width of its flags column. Returns the number of lines scanned (-1 on memory
 * error); *next_start is the offset of the first line not scanned.
 */
s64 rl_scan_events(const uint8_t *buf, s64 n, s64 start, rl_events *ev, rl_strtab *strings, s64 *next_start)
{
    const s64 cap = ev->cap;
    s64 s = start, row = 0;
    s64 last[RL_KINDS][N_STR];
    icache_entry icache[ICACHE];
    for (int k = 0; k < ICACHE; k++)
        icache[k].len = -1;  /* no string has that length: empty */
    for (int k = 0; k < RL_KINDS; k++) {
        ev->kind[k].n = 0;
        for (int q = 0; q < N_STR; q++)
            last[k][q] = -1;
    }
    /* Each kind's columns as plain pointers, and the counts in locals, for the loop: written
       through the struct, every store of an integer would make the compiler load them again. */
    s64 *col[RL_KINDS][N_INT], *idcol[RL_KINDS][N_STR], *rowcol[RL_KINDS];
    double *timecol[RL_KINDS];
    int src[RL_KINDS][N_INT], slot_of[RL_KINDS][N_STR], nc[RL_KINDS], ns[RL_KINDS];
    s64 kn[RL_KINDS] = {0}, nbad = 0, counts[9] = {0}, widths[9] = {0};
    for (int k = 0; k < RL_KINDS; k++) {
        rl_kind *K = &ev->kind[k];
        nc[k] = K->nc;
        ns[k] = K->ns;
        rowcol[k] = K->row;
        timecol[k] = K->time;
        for (int q = 0; q < K->nc; q++) {
            col[k][q] = K->ints + q * cap;
            src[k][q] = K->cols[q];
        }
        for (int q = 0; q < K->ns; q++) {
            idcol[k][q] = K->ids + q * cap;
            slot_of[k][q] = K->slots[q];
        }
    }
    s64 ret = -1;
    for (; s < n && row < cap; row++) {
        s64 ints[N_INT], strs[N_STR * 2];
        double ts = 0.0;
        ctx c = { buf, n, 0, ints, strs, &ts };
        const uint8_t *nl = memchr(buf + s, '\n', (size_t)(n - s));
        s64 e = nl ? nl - buf : n;
        s64 nxt = e + 1;
        int code;
        if (e - s > RL_MAX_LINE) {
            code = ST_LONG_LINE;
        } else {
            while (e > s && (is_blank(buf[e - 1]) || buf[e - 1] == '\r'))
                e--;
            s64 i = skip_blanks(buf, s, e);
            if (i == e) {
                code = ST_BLANK;
            } else if (buf[i] == '#') {
                code = ST_COMMENT;
            } else {
                s64 p = parse_header(&c, i, e);
                if (p < 0) {
                    code = ST_BAD_LINE;
                } else {
                    int is_start, is_end;
                    shrink_kind(&c, &is_start, &is_end);
                    if (is_start || is_end) {
                        int ok = parse_payload(&c, p, e, is_start);
                        code = is_start ? (ok ? ST_START : ST_BAD_START) : (ok ? ST_END : ST_BAD_END);
                    } else {
                        code = ST_OTHER;
                    }
                }
            }
        }
        counts[code + 4]++;
        if (code < 0) {
            s64 b = nbad++;
            ev->bad_row[b] = row;
            ev->bad_status[b] = code;
            ev->bad_start[b] = s;
            ev->bad_eol[b] = e;
        } else if (code >= ST_OTHER) {
            int kk = code == ST_START ? 0 : code == ST_END ? 1 : 2;
            s64 m = kn[kk]++;
            INTS(&c, I_EOL) = e;
            rowcol[kk][m] = row;
            timecol[kk][m] = ts;
            for (int q = 0; q < nc[kk]; q++)
                col[kk][q][m] = ints[src[kk][q]];
            for (int q = 0; q < ns[kk]; q++) {
                int slot = slot_of[kk][q];
                s64 id = intern_span(strings, icache, buf, STR(&c, slot, 0), STR(&c, slot, 1), &last[kk][q]);
                if (id < 0) {
                    *next_start = s;
                    goto out;  /* memory error: ret stays -1 */
                }
                idcol[kk][q][m] = id;
            }
            widths[ints[I_FLAGSLEN]]++;
        }
        s = nxt;
    }
    *next_start = s < n ? s : n;
    ret = row;
out:
    for (int k = 0; k < RL_KINDS; k++)
        ev->kind[k].n = kn[k];
    ev->nbad = nbad;
    for (int k = 0; k < 9; k++) {
        ev->status_counts[k] = counts[k];
        ev->flag_widths[k] = widths[k];
    }
    return ret;
}

/* Index of the first '=' or blank at or after i (or e): the end of a key. 16 bytes a step:
   keys are of many lengths, and a byte loop ended at a place the branch predictor missed. */
INLINE s64 key_end(const uint8_t *buf, s64 i, s64 e)
{
#if RL_SSE2
    for (; i + 16 <= e; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(buf + i));
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(
            _mm_cmpeq_epi8(v, _mm_set1_epi8('=')),
            _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\t')))));
        if (m)
            return i + __builtin_ctz(m);
    }
#endif
    while (i < e && buf[i] != '=' && !is_blank(buf[i]))
        i++;
    return i;
}

/*
 * Parse key=value payloads (the reclaim events of docs/kernel.md §4.3), row r from
 * payload[r] to eol[r]. Keys are compared byte for byte with keys[0:nk]; the
 * first n_int have integer values (ints[k * m + r], left alone when absent),
 * the rest string values (spans[(k' * 2 + 0/1) * m + r] offset/length and
 * hashes[k' * m + r], k' = k - n_int). n: bytes readable at buf (integers are read 8
 * bytes at a time up to there, never past their token). ok[r]: every token is key=value and
 * integer keys hold integers; present[r]: bit k set when key k was found.
 */
void rl_scan_kv(const uint8_t *buf, s64 n, const s64 *payload, const s64 *eol, s64 m,
                const uint8_t *const *keys, const s64 *key_len, s64 nk, s64 n_int,
                s64 *ints, s64 *spans, u64 *hashes, uint8_t *ok, s64 *present)
{
    /* The keys by length (the last bucket: that length or more), in key order: a token is
       compared with the keys of its length only, and the first equal key is the one, as
       when all are tried in order. nk <= 63 (module.c). */
    enum { KV_LENS = 64, KV_AHEAD = 8 };
    uint8_t n_of_len[KV_LENS] = {0}, of_len[KV_LENS][KV_LENS];
    for (s64 k = 0; k < nk && k < KV_LENS; k++) {
        int b = key_len[k] < KV_LENS - 1 ? (int)key_len[k] : KV_LENS - 1;
        of_len[b][n_of_len[b]++] = (uint8_t)k;
    }
    for (s64 r = 0; r < m; r++) {
        s64 i = payload[r], e = eol[r];
        /* The payloads are lines scanned a whole pass ago (megabytes of text): out of the
           caches. Their text is asked for a few rows ahead, so that it arrives while these
           rows are parsed (a payload is up to ~250 bytes: its first four cache lines). */
        if (r + KV_AHEAD < m) {
            const uint8_t *q = buf + payload[r + KV_AHEAD];
            __builtin_prefetch(q);
            __builtin_prefetch(q + 64);
            __builtin_prefetch(q + 128);
            __builtin_prefetch(q + 192);
        }
        ok[r] = 1;
        present[r] = 0;
        while (i < e) {
            while (i < e && is_blank(buf[i]))
                i++;
            if (i >= e)
                break;
            s64 k0 = i;
            i = key_end(buf, i, e);
            if (i >= e || buf[i] != '=' || i == k0) {
                ok[r] = 0;
                break;
            }
            s64 klen = i - k0;
            i++;
            s64 v0 = i;
            i = read_word(buf, i, e);
            int b = klen < KV_LENS - 1 ? (int)klen : KV_LENS - 1;
            for (int c = 0; c < n_of_len[b]; c++) {
                s64 k = of_len[b][c];
                if (key_len[k] != klen || !eq_bytes(buf + k0, keys[k], klen))
                    continue;
                present[r] |= (s64)1 << k;
                if (k < n_int) {
                    if (read_int(buf, v0, i, n, &ints[k * m + r]) != i)
                        ok[r] = 0;
                } else {
                    s64 ks = k - n_int;
                    spans[(ks * 2) * m + r] = v0;
                    spans[(ks * 2 + 1) * m + r] = i - v0;
                    hashes[ks * m + r] = hash_bytes(buf + v0, i - v0);
                }
                break;
            }
            if (!ok[r])
                break;
        }
    }
}

/* Newlines in buf plus one: an upper bound on its lines. */
s64 rl_count_lines(const uint8_t *buf, s64 n)
{
    s64 count = 1;
    const uint8_t *p = buf, *end = buf + n;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        count++;
        p++;
    }
    return count;
}
