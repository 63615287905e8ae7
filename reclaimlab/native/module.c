/*
 * reclaimlab._native: the one compiled module of reclaimlab.
 *
 *   scan(rules, calls, inputs, outputs)       do_shrink_slab() arithmetic (scan.c)
 *   scan_lines(buf, start, status, ints, strs, hashes, ts, line_start)
 *                                             the ftrace line scanner (lexer.c)
 *   scan_kv(buf, payload, eol, keys, n_int, ints, spans, hashes, ok, present)
 *   count_lines(buf), str_hash(buf)
 *   Interner()                                collision-safe string interning
 *   scan_events(interner, buf, start, spec, row, time, ints, ids, bad, counts)
 *                                             the scanner putting event lines in columns (lexer.c)
 *   pair(...), descents(lines, times)         joining starts with ends (pairing.c)
 *   take_matched(src, index, fill, out)       the end's value of each start
 *   take_objects(table, ids, out)             object arrays of strings by id
 *   block(nbytes), pool_info()                pooled memory for large outputs (outbuf.c)
 *   hypergeometric_chain, binomial, binomial_each, multinomial, poisson
 *                                             the simulator's draws from a numpy Generator's
 *                                             stream (draws.c; only when built with numpy's
 *                                             libnpyrandom: DRAWS_NUMPY is then its version)
 *   fileset_draws(rng, lists, x_clean_set, specs, seconds)
 *                                             an actor's file sets' draws of a step (draws.c)
 *   remove_proportionally(col, total, gone)   a proportional removal from a cohort column (cohorts.c)
 *   block_sums(a, n, rows)                    a node's totals of each state list
 *
 * Arrays come in through the buffer protocol (numpy arrays, bytes, memoryview):
 * no numpy headers are needed to build this file (draws.c alone uses numpy's random
 * headers). The loops run with the GIL released.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#include "native.h"

/* ---- buffers -------------------------------------------------------------------------- */

enum { K_ANY = 0, K_INT = 1, K_FLOAT = 2, K_BOOL = 3 };

/* Acquire a C-contiguous buffer of items of `itemsize` bytes and kind `kind`. */
static int get_buf(PyObject *obj, Py_buffer *view, int writable, Py_ssize_t itemsize, int kind,
                   const char *what)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "%s must be a C-contiguous%s buffer of %zd-byte items, not %.100s",
                     what, writable ? " writable" : "", itemsize, Py_TYPE(obj)->tp_name);
        return -1;
    }
    const char *f = view->format ? view->format : "B";
    if (*f == '@' || *f == '=' || *f == '<' || *f == '!' || *f == '>')
        f++;
    int ok = view->itemsize == itemsize && f[0] && !f[1];
    if (ok && kind == K_INT)
        ok = strchr("bBhHiIlLqQ", f[0]) != NULL;
    else if (ok && kind == K_FLOAT)
        ok = f[0] == 'd';
    else if (ok && kind == K_BOOL)
        ok = f[0] == '?' || f[0] == 'B' || f[0] == 'b';
    if (!ok) {
        PyErr_Format(PyExc_TypeError, "%s has item format %s (%zd bytes); expected %s of %zd bytes",
                     what, view->format ? view->format : "B", view->itemsize,
                     kind == K_INT ? "integers" : kind == K_FLOAT ? "doubles" : kind == K_BOOL ? "bools" : "items",
                     itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static inline Py_ssize_t nitems(const Py_buffer *v) { return v->len / v->itemsize; }

static void release_all(Py_buffer *views, int n)
{
    for (int k = 0; k < n; k++)
        if (views[k].obj)
            PyBuffer_Release(&views[k]);
}

/* ---- scan: the arithmetic ---------------------------------------------------------------- */

#define N_IN 10
#define N_OUT 6

PyDoc_STRVAR(scan_doc,
"scan(rules, calls, inputs, outputs) -> (code, index)\n\n"
"Evaluate `calls` successive do_shrink_slab() calls at every point.\n"
"rules: (delta_rule, zero_seek, deferral, floor, accumulator); inputs: 10 int64\n"
"buffers (freeable, priority, seeks, batch, nr_deferred, small_scan, lru_scanned,\n"
"lru_eligible, custom, stop), each of length n or 1; outputs: delta (uint64),\n"
"total, scanned, next (length n), small and sum (length n, or 1 when not wanted).\n"
"Returns (0, -1), or an error code and the flat index of the first bad point.");

static PyObject *py_scan(PyObject *self, PyObject *args)
{
    long long r[5], calls;
    PyObject *inputs, *outputs;
    if (!PyArg_ParseTuple(args, "(LLLLL)LOO:scan", &r[0], &r[1], &r[2], &r[3], &r[4], &calls, &inputs, &outputs))
        return NULL;
    PyObject *fin = PySequence_Fast(inputs, "inputs must be a sequence of 10 buffers");
    if (!fin)
        return NULL;
    PyObject *fout = PySequence_Fast(outputs, "outputs must be a sequence of 6 buffers");
    if (!fout) {
        Py_DECREF(fin);
        return NULL;
    }
    Py_buffer v[N_IN + N_OUT];
    memset(v, 0, sizeof v);
    PyObject *result = NULL;
    if (PySequence_Fast_GET_SIZE(fin) != N_IN || PySequence_Fast_GET_SIZE(fout) != N_OUT) {
        PyErr_SetString(PyExc_ValueError, "scan takes 10 input and 6 output buffers");
        goto done;
    }
    for (int k = 0; k < N_OUT; k++)
        if (get_buf(PySequence_Fast_GET_ITEM(fout, k), &v[N_IN + k], 1, 8, K_INT, "an output") < 0)
            goto done;
    Py_ssize_t n = nitems(&v[N_IN]);
    for (int k = 0; k < N_IN; k++) {
        if (get_buf(PySequence_Fast_GET_ITEM(fin, k), &v[k], 0, 8, K_INT, "an input") < 0)
            goto done;
        Py_ssize_t m = nitems(&v[k]);
        if (n > 0 && m != n && m != 1) {
            PyErr_Format(PyExc_ValueError, "input %d has %zd items; expected %zd or 1", k, m, n);
            goto done;
        }
    }
    for (int k = 1; k < N_OUT; k++) {
        Py_ssize_t m = nitems(&v[N_IN + k]);
        if (k < 4 ? m != n : (m != n && m < 1)) {
            PyErr_Format(PyExc_ValueError, "output %d has %zd items; expected %zd", k, m, n);
            goto done;
        }
    }
    if (calls < 1) {
        PyErr_SetString(PyExc_ValueError, "calls must be >= 1");
        goto done;
    }
    s64 code = 0, index = -1;
    if (n > 0) {
#define IN(k) (const s64 *)v[k].buf, (s64)nitems(&v[k])
#define OUT(k) (s64 *)v[N_IN + (k)].buf
        Py_BEGIN_ALLOW_THREADS
        code = rl_scan(r[0], r[1], r[2], r[3], r[4], calls, n,
                       IN(0), IN(1), IN(2), IN(3), IN(4), IN(5), IN(6), IN(7), IN(8), IN(9),
                       (u64 *)v[N_IN].buf, OUT(1), OUT(2), OUT(3),
                       OUT(4), (s64)nitems(&v[N_IN + 4]), OUT(5), (s64)nitems(&v[N_IN + 5]));
        Py_END_ALLOW_THREADS
        if (code)
            index = ((s64 *)v[N_IN + 5].buf)[0];
#undef IN
#undef OUT
    }
    result = Py_BuildValue("(LL)", (long long)code, (long long)index);
done:
    release_all(v, N_IN + N_OUT);
    Py_DECREF(fin);
    Py_DECREF(fout);
    return result;
}

/* ---- the ftrace scanner ------------------------------------------------------------------ */

PyDoc_STRVAR(scan_lines_doc,
"scan_lines(buf, start, status, ints, strs, hashes, ts, line_start) -> (rows, next_start)\n\n"
"Classify and parse the lines of buf[start:] until the outputs are full; see\n"
"reclaimlab.trace._scan.scan_lines.");

static PyObject *py_scan_lines(PyObject *self, PyObject *args)
{
    PyObject *o[7];
    Py_ssize_t start;
    if (!PyArg_ParseTuple(args, "OnOOOOOO:scan_lines", &o[0], &start, &o[1], &o[2], &o[3], &o[4], &o[5], &o[6]))
        return NULL;
    Py_buffer v[7];
    memset(v, 0, sizeof v);
    PyObject *result = NULL;
    static const char *names[7] = {"buf", "status", "ints", "strs", "hashes", "ts", "line_start"};
    static const Py_ssize_t size[7] = {1, 1, 8, 8, 8, 8, 8};
    static const int kind[7] = {K_ANY, K_INT, K_INT, K_INT, K_INT, K_FLOAT, K_INT};
    for (int k = 0; k < 7; k++)
        if (get_buf(o[k], &v[k], k > 0, size[k], kind[k], names[k]) < 0)
            goto done;
    Py_ssize_t n = v[0].len, cap = nitems(&v[1]);
    if (nitems(&v[2]) != N_INT * cap || nitems(&v[3]) != N_STR * 2 * cap || nitems(&v[4]) != N_STR * cap
        || nitems(&v[5]) != cap || nitems(&v[6]) != cap) {
        PyErr_SetString(PyExc_ValueError, "scan_lines: output arrays of inconsistent capacity");
        goto done;
    }
    if (start < 0 || start > n) {
        PyErr_SetString(PyExc_ValueError, "scan_lines: start out of range");
        goto done;
    }
    rl_lines out = {v[1].buf, v[2].buf, v[3].buf, v[4].buf, v[5].buf, v[6].buf, cap};
    s64 rows, next;
    Py_BEGIN_ALLOW_THREADS
    rows = rl_scan_lines(v[0].buf, n, start, &out, &next);
    Py_END_ALLOW_THREADS
    result = Py_BuildValue("(LL)", (long long)rows, (long long)next);
done:
    release_all(v, 7);
    return result;
}

PyDoc_STRVAR(scan_kv_doc,
"scan_kv(buf, payload, eol, keys, n_int, ints, spans, hashes, ok, present) -> None\n\n"
"Parse key=value payloads; keys is a sequence of bytes compared byte for byte;\n"
"see reclaimlab.trace._scan.scan_kv.");

static PyObject *py_scan_kv(PyObject *self, PyObject *args)
{
    PyObject *o[9], *keys;
    Py_ssize_t n_int;
    if (!PyArg_ParseTuple(args, "OOOOnOOOOO:scan_kv", &o[0], &o[1], &o[2], &keys, &n_int, &o[3], &o[4], &o[5],
                          &o[6], &o[7]))
        return NULL;
    PyObject *fk = PySequence_Fast(keys, "keys must be a sequence of bytes");
    if (!fk)
        return NULL;
    Py_ssize_t nk = PySequence_Fast_GET_SIZE(fk);
    Py_buffer v[8];
    memset(v, 0, sizeof v);
    PyObject *result = NULL;
    const uint8_t *kp[63];
    s64 kl[63];
    static const char *names[8] = {"buf", "payload", "eol", "ints", "spans", "hashes", "ok", "present"};
    static const Py_ssize_t size[8] = {1, 8, 8, 8, 8, 8, 1, 8};
    static const int kind[8] = {K_ANY, K_INT, K_INT, K_INT, K_INT, K_INT, K_BOOL, K_INT};
    if (nk > 63 || n_int < 0 || n_int > nk) {
        PyErr_SetString(PyExc_ValueError, "scan_kv: at most 63 keys, 0 <= n_int <= len(keys)");
        goto done;
    }
    for (Py_ssize_t k = 0; k < nk; k++) {
        PyObject *b = PySequence_Fast_GET_ITEM(fk, k);
        if (!PyBytes_Check(b)) {
            PyErr_SetString(PyExc_TypeError, "scan_kv: keys must be bytes");
            goto done;
        }
        kp[k] = (const uint8_t *)PyBytes_AS_STRING(b);
        kl[k] = PyBytes_GET_SIZE(b);
    }
    for (int k = 0; k < 8; k++)
        if (get_buf(o[k], &v[k], k >= 3, size[k], kind[k], names[k]) < 0)
            goto done;
    Py_ssize_t m = nitems(&v[1]), ns = nk - n_int;
    if (nitems(&v[2]) != m || nitems(&v[3]) != n_int * m || nitems(&v[4]) != ns * 2 * m || nitems(&v[5]) != ns * m
        || nitems(&v[6]) != m || nitems(&v[7]) != m) {
        PyErr_SetString(PyExc_ValueError, "scan_kv: arrays of inconsistent sizes");
        goto done;
    }
    const s64 *pay = v[1].buf, *eol = v[2].buf;
    for (Py_ssize_t r = 0; r < m; r++)
        if (pay[r] < 0 || eol[r] > v[0].len || pay[r] > eol[r] + 1) {
            PyErr_SetString(PyExc_ValueError, "scan_kv: payload span out of range");
            goto done;
        }
    Py_BEGIN_ALLOW_THREADS
    rl_scan_kv(v[0].buf, v[0].len, pay, eol, m, kp, kl, nk, n_int, v[3].buf, v[4].buf, v[5].buf, v[6].buf, v[7].buf);
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    release_all(v, 8);
    Py_DECREF(fk);
    return result;
}

static PyObject *py_count_lines(PyObject *self, PyObject *arg)
{
    Py_buffer v;
    if (get_buf(arg, &v, 0, 1, K_ANY, "buf") < 0)
        return NULL;
    s64 n;
    Py_BEGIN_ALLOW_THREADS
    n = rl_count_lines(v.buf, v.len);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&v);
    return PyLong_FromLongLong(n);
}

static PyObject *py_str_hash(PyObject *self, PyObject *arg)
{
    Py_buffer v;
    if (get_buf(arg, &v, 0, 1, K_ANY, "buf") < 0)
        return NULL;
    u64 h = rl_hash(v.buf, v.len);
    PyBuffer_Release(&v);
    return PyLong_FromUnsignedLongLong(h);
}

/* ---- Interner: distinct strings -> dense ids, comparing bytes ------------------------------ */

typedef struct {
    PyObject_HEAD
    rl_strtab t;
} Interner;

static PyTypeObject InternerType;

static int strtab_grow_table(rl_strtab *t)
{
    s64 size = (t->mask + 1) * 2;
    s64 *tab = PyMem_RawCalloc((size_t)size, sizeof(s64));
    if (!tab)
        return -1;
    for (s64 id = 0; id < t->n; id++) {
        s64 k = (s64)(t->hash[id] & (u64)(size - 1));
        while (tab[k])
            k = (k + 1) & (size - 1);
        tab[k] = id + 1;
    }
    PyMem_RawFree(t->table);
    t->table = tab;
    t->mask = size - 1;
    return 0;
}

s64 rl_strtab_insert(rl_strtab *t, const uint8_t *p, s64 len, u64 h, s64 k)
{
    if (t->n == t->cap) {
        s64 cap = t->cap * 2;
        s64 *off = PyMem_RawRealloc(t->off, (size_t)cap * sizeof(s64));
        if (!off) return -1;
        t->off = off;
        s64 *ln = PyMem_RawRealloc(t->len, (size_t)cap * sizeof(s64));
        if (!ln) return -1;
        t->len = ln;
        u64 *hs = PyMem_RawRealloc(t->hash, (size_t)cap * sizeof(u64));
        if (!hs) return -1;
        t->hash = hs;
        t->cap = cap;
    }
    if (t->arena_len + len > t->arena_cap) {
        s64 cap = t->arena_cap * 2;
        while (cap < t->arena_len + len)
            cap *= 2;
        uint8_t *a = PyMem_RawRealloc(t->arena, (size_t)cap);
        if (!a) return -1;
        t->arena = a;
        t->arena_cap = cap;
    }
    s64 id = t->n++;
    memcpy(t->arena + t->arena_len, p, (size_t)len);
    t->off[id] = t->arena_len;
    t->len[id] = len;
    t->hash[id] = h;
    t->arena_len += len;
    t->table[k] = id + 1;
    if (2 * t->n > t->mask + 1 && strtab_grow_table(t) < 0)
        return -1;
    return id;
}

/* The id of p[0:len] (hash h), adding it when new (*added set); -1 on memory error. */
static s64 interner_get(Interner *it, const uint8_t *p, s64 len, u64 h, int *added)
{
    s64 before = it->t.n, id = rl_strtab_get(&it->t, p, len, h);
    if (it->t.n != before)
        *added = 1;
    return id;
}

static PyObject *Interner_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    if ((kw && PyDict_GET_SIZE(kw)) || !PyArg_ParseTuple(args, ":Interner")) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "Interner() takes no arguments");
        return NULL;
    }
    Interner *it = (Interner *)type->tp_alloc(type, 0);
    if (!it)
        return NULL;
    it->t.cap = 64;
    it->t.arena_cap = 4096;
    it->t.mask = 127;
    it->t.off = PyMem_RawMalloc(64 * sizeof(s64));
    it->t.len = PyMem_RawMalloc(64 * sizeof(s64));
    it->t.hash = PyMem_RawMalloc(64 * sizeof(u64));
    it->t.arena = PyMem_RawMalloc(4096);
    it->t.table = PyMem_RawCalloc(128, sizeof(s64));
    if (!it->t.off || !it->t.len || !it->t.hash || !it->t.arena || !it->t.table) {
        Py_DECREF(it);
        return PyErr_NoMemory();
    }
    return (PyObject *)it;
}

static void Interner_dealloc(Interner *it)
{
    PyMem_RawFree(it->t.arena);
    PyMem_RawFree(it->t.off);
    PyMem_RawFree(it->t.len);
    PyMem_RawFree(it->t.hash);
    PyMem_RawFree(it->t.table);
    Py_TYPE(it)->tp_free((PyObject *)it);
}

static PyObject *Interner_add(Interner *it, PyObject *arg)
{
    Py_buffer v;
    if (get_buf(arg, &v, 0, 1, K_ANY, "string") < 0)
        return NULL;
    int added = 0;
    s64 id = interner_get(it, v.buf, v.len, rl_hash(v.buf, v.len), &added);
    PyBuffer_Release(&v);
    if (id < 0)
        return PyErr_NoMemory();
    return PyLong_FromLongLong(id);
}

static PyObject *Interner_intern(Interner *it, PyObject *args)
{
    PyObject *o[5];
    if (!PyArg_ParseTuple(args, "OOOOO:intern", &o[0], &o[1], &o[2], &o[3], &o[4]))
        return NULL;
    Py_buffer v[5];
    memset(v, 0, sizeof v);
    PyObject *result = NULL;
    static const char *names[5] = {"buf", "offsets", "lengths", "hashes", "ids"};
    for (int k = 0; k < 5; k++)
        if (get_buf(o[k], &v[k], k == 4, k ? 8 : 1, k ? K_INT : K_ANY, names[k]) < 0)
            goto done;
    Py_ssize_t m = nitems(&v[1]);
    if (nitems(&v[2]) != m || nitems(&v[3]) != m || nitems(&v[4]) != m) {
        PyErr_SetString(PyExc_ValueError, "intern: arrays of different lengths");
        goto done;
    }
    const s64 *off = v[1].buf, *len = v[2].buf;
    const u64 *hs = v[3].buf;
    s64 *ids = v[4].buf, before = it->t.n;
    const uint8_t *buf = v[0].buf;
    for (Py_ssize_t r = 0; r < m; r++)
        if (off[r] < 0 || len[r] < 0 || off[r] + len[r] > v[0].len) {
            PyErr_SetString(PyExc_ValueError, "intern: span out of range");
            goto done;
        }
    int added = 0, failed = 0;
    const u64 empty = rl_hash(buf, 0);
    /* The last id found is tried first: runs of one string are common. */
    s64 last = -1;
    for (Py_ssize_t r = 0; r < m; r++) {
        u64 h = len[r] ? hs[r] : empty;   /* an absent string may come with hash 0 */
        if (last >= 0 && it->t.hash[last] == h && it->t.len[last] == len[r]
            && eq_bytes(it->t.arena + it->t.off[last], buf + off[r], len[r])) {
            ids[r] = last;
            continue;
        }
        s64 id = interner_get(it, buf + off[r], len[r], h, &added);
        if (id < 0) {
            failed = 1;
            break;
        }
        ids[r] = last = id;
    }
    if (failed)
        PyErr_NoMemory();
    else
        result = PyLong_FromLongLong(it->t.n - before);
done:
    release_all(v, 5);
    return result;
}

static PyObject *Interner_strings(Interner *it, PyObject *args)
{
    Py_ssize_t start = 0;
    if (!PyArg_ParseTuple(args, "|n:strings", &start))
        return NULL;
    if (start < 0)
        start = 0;
    Py_ssize_t n = start < it->t.n ? it->t.n - start : 0;
    PyObject *list = PyList_New(n);
    if (!list)
        return NULL;
    for (Py_ssize_t k = 0; k < n; k++) {
        s64 id = start + k;
        PyObject *b = PyBytes_FromStringAndSize((const char *)it->t.arena + it->t.off[id], it->t.len[id]);
        if (!b) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, k, b);
    }
    return list;
}

static Py_ssize_t Interner_len(Interner *it) { return (Py_ssize_t)it->t.n; }

PyDoc_STRVAR(scan_events_doc,
"scan_events(interner, buf, start, spec, row, time, ints, ids, bad, counts) -> (rows, next_start)\n\n"
"Scan the lines of buf[start:], at most row.shape[1] of them, and append the start,\n"
"end and other event lines (kinds 0, 1, 2) straight to their columns, their strings\n"
"interned in `interner`; see reclaimlab.trace._scan.scan_events. Runs without the\n"
"GIL: `interner` must not be used by another thread meanwhile.");

static PyObject *py_scan_events(PyObject *self, PyObject *args)
{
    PyObject *o[8], *iobj;
    Py_ssize_t start;
    if (!PyArg_ParseTuple(args, "O!OnOOOOOOO:scan_events", &InternerType, &iobj, &o[0], &start, &o[1], &o[2], &o[3],
                          &o[4], &o[5], &o[6], &o[7]))
        return NULL;
    Interner *it = (Interner *)iobj;
    Py_buffer v[8];
    memset(v, 0, sizeof v);
    PyObject *result = NULL;
    static const char *names[8] = {"buf", "spec", "row", "time", "ints", "ids", "bad", "counts"};
    static const Py_ssize_t size[8] = {1, 8, 8, 8, 8, 8, 8, 8};
    static const int kind[8] = {K_ANY, K_INT, K_INT, K_FLOAT, K_INT, K_INT, K_INT, K_INT};
    for (int k = 0; k < 8; k++)
        if (get_buf(o[k], &v[k], k >= 2, size[k], kind[k], names[k]) < 0)
            goto done;
    enum { SPEC = 2 + N_INT + N_STR, N_COUNTS = 9 + 9 + RL_KINDS + 1 };
    Py_ssize_t n = v[0].len, cap = nitems(&v[2]) / RL_KINDS;
    if (nitems(&v[1]) != RL_KINDS * SPEC || nitems(&v[2]) != RL_KINDS * cap || nitems(&v[3]) != RL_KINDS * cap
        || nitems(&v[4]) != RL_KINDS * N_INT * cap || nitems(&v[5]) != RL_KINDS * N_STR * cap
        || nitems(&v[6]) != 4 * cap || nitems(&v[7]) != N_COUNTS) {
        PyErr_SetString(PyExc_ValueError, "scan_events: arrays of inconsistent sizes");
        goto done;
    }
    if (start < 0 || start > n) {
        PyErr_SetString(PyExc_ValueError, "scan_events: start out of range");
        goto done;
    }
    rl_events ev;
    memset(&ev, 0, sizeof ev);
    ev.cap = cap;
    const s64 *spec = v[1].buf;
    for (int k = 0; k < RL_KINDS; k++) {
        rl_kind *K = &ev.kind[k];
        const s64 *sp = spec + k * SPEC;
        if (sp[0] < 0 || sp[0] > N_INT || sp[1] < 0 || sp[1] > N_STR) {
            PyErr_SetString(PyExc_ValueError, "scan_events: spec out of range");
            goto done;
        }
        K->nc = (int)sp[0];
        K->ns = (int)sp[1];
        for (int q = 0; q < K->nc + K->ns; q++) {
            s64 x = sp[2 + q];
            if (x < 0 || x >= (q < K->nc ? N_INT : N_STR)) {
                PyErr_SetString(PyExc_ValueError, "scan_events: spec out of range");
                goto done;
            }
            if (q < K->nc)
                K->cols[q] = (int)x;
            else
                K->slots[q - K->nc] = (int)x;
        }
        K->row = (s64 *)v[2].buf + k * cap;
        K->time = (double *)v[3].buf + k * cap;
        K->ints = (s64 *)v[4].buf + k * N_INT * cap;
        K->ids = (s64 *)v[5].buf + k * N_STR * cap;
    }
    s64 *bad = v[6].buf;
    ev.bad_row = bad;
    ev.bad_status = bad + cap;
    ev.bad_start = bad + 2 * cap;
    ev.bad_eol = bad + 3 * cap;
    s64 rows, next;
    Py_BEGIN_ALLOW_THREADS
    rows = rl_scan_events(v[0].buf, n, start, &ev, &it->t, &next);
    Py_END_ALLOW_THREADS
    if (rows < 0) {
        PyErr_NoMemory();
        goto done;
    }
    s64 *counts = v[7].buf;
    for (int k = 0; k < 9; k++) {
        counts[k] = ev.status_counts[k];
        counts[9 + k] = ev.flag_widths[k];
    }
    for (int k = 0; k < RL_KINDS; k++)
        counts[18 + k] = ev.kind[k].n;
    counts[18 + RL_KINDS] = ev.nbad;
    result = Py_BuildValue("(LL)", (long long)rows, (long long)next);
done:
    release_all(v, 8);
    return result;
}

static PyMethodDef Interner_methods[] = {
    {"add", (PyCFunction)Interner_add, METH_O, "add(bytes) -> id of the string (added when new)."},
    {"intern", (PyCFunction)Interner_intern, METH_VARARGS,
     "intern(buf, offsets, lengths, hashes, ids) -> number of new strings.\n\n"
     "ids[r] = the id of buf[offsets[r]:offsets[r] + lengths[r]]; hashes[r] must be\n"
     "str_hash of those bytes (a bucket hint: strings are compared byte for byte)."},
    {"strings", (PyCFunction)Interner_strings, METH_VARARGS, "strings(start=0) -> list of bytes of ids start..."},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods Interner_as_sequence = {.sq_length = (lenfunc)Interner_len};

static PyTypeObject InternerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "reclaimlab._native.Interner",
    .tp_basicsize = sizeof(Interner),
    .tp_dealloc = (destructor)Interner_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Distinct byte strings -> dense ids 0, 1, ... (equal ids exactly when the bytes are equal).",
    .tp_methods = Interner_methods,
    .tp_as_sequence = &Interner_as_sequence,
    .tp_new = Interner_new,
};

/* ---- pairing ----------------------------------------------------------------------------- */

PyDoc_STRVAR(pair_doc,
"pair(start_pos, start_pid, start_sym, start_ptr, start_nr, end_pos, end_pid, end_sym, end_ptr, end_unused,\n"
"     end_of) -> None\n\n"
"end_of[i] = the end event matched with start i, or -1 (int64 buffers; see\n"
"reclaimlab.trace.pairing.pair_starts_with_ends).");

static PyObject *py_pair(PyObject *self, PyObject *args)
{
    PyObject *o[11];
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOO:pair", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &o[7], &o[8],
                          &o[9], &o[10]))
        return NULL;
    Py_buffer v[11];
    memset(v, 0, sizeof v);
    PyObject *result = NULL;
    static const char *names[11] = {"start_pos", "start_pid", "start_sym", "start_ptr", "start_nr",
                                    "end_pos", "end_pid", "end_sym", "end_ptr", "end_unused", "end_of"};
    for (int k = 0; k < 11; k++)
        if (get_buf(o[k], &v[k], k == 10, 8, K_INT, names[k]) < 0)
            goto done;
    Py_ssize_t ns = nitems(&v[0]), ne = nitems(&v[5]);
    for (int k = 0; k < 11; k++)
        if (nitems(&v[k]) != (k < 5 || k == 10 ? ns : ne)) {
            PyErr_SetString(PyExc_ValueError, "pair: arrays of inconsistent sizes");
            goto done;
        }
#define B(k) ((const s64 *)v[k].buf)
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = rl_pair(ns, B(0), B(1), B(2), B(3), B(4), ne, B(5), B(6), B(7), B(8), B(9), (s64 *)v[10].buf);
    Py_END_ALLOW_THREADS
#undef B
    if (rc < 0)
        PyErr_NoMemory();
    else
        result = Py_NewRef(Py_None);
done:
    release_all(v, 11);
    return result;
}

PyDoc_STRVAR(take_matched_doc,
"take_matched(src, index, fill, out) -> None\n\n"
"out[i] = src[index[i]] where index[i] >= 0, else fill[0]: the end event's value of\n"
"each start (index: pair's end_of). src, fill and out hold 8-byte items of one kind\n"
"(int64 or float64); index is int64 and every index[i] < len(src).");

static PyObject *py_take_matched(PyObject *self, PyObject *args)
{
    PyObject *o[4];
    if (!PyArg_ParseTuple(args, "OOOO:take_matched", &o[0], &o[1], &o[2], &o[3]))
        return NULL;
    Py_buffer v[4];
    memset(v, 0, sizeof v);
    PyObject *result = NULL;
    static const char *names[4] = {"src", "index", "fill", "out"};
    static const int kind[4] = {K_ANY, K_INT, K_ANY, K_ANY};
    for (int k = 0; k < 4; k++)
        if (get_buf(o[k], &v[k], k == 3, 8, kind[k], names[k]) < 0)
            goto done;
    if (strcmp(v[0].format ? v[0].format : "B", v[2].format ? v[2].format : "B")
        || strcmp(v[0].format ? v[0].format : "B", v[3].format ? v[3].format : "B")) {
        PyErr_SetString(PyExc_TypeError, "take_matched: src, fill and out must have the same item format");
        goto done;
    }
    Py_ssize_t n = nitems(&v[1]), ns = nitems(&v[0]);
    if (nitems(&v[3]) != n || nitems(&v[2]) != 1) {
        PyErr_SetString(PyExc_ValueError, "take_matched: out must be as long as index, fill hold one item");
        goto done;
    }
    const s64 *idx = v[1].buf;
    for (Py_ssize_t i = 0; i < n; i++)
        if (idx[i] >= ns) {
            PyErr_SetString(PyExc_IndexError, "take_matched: index out of range");
            goto done;
        }
    Py_BEGIN_ALLOW_THREADS
    const u64 *src = v[0].buf, fill = *(const u64 *)v[2].buf;
    u64 *out = v[3].buf;
    for (Py_ssize_t i = 0; i < n; i++)
        out[i] = idx[i] >= 0 ? src[idx[i]] : fill;
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    release_all(v, 4);
    return result;
}

PyDoc_STRVAR(take_objects_doc,
"take_objects(table, ids, out) -> None\n\n"
"out[i] = table[ids[i]] for a list `table` and an object array `out` as long as the\n"
"int64 `ids` (every id in range): numpy's take for strings, with the references\n"
"counted per distinct item instead of one at a time.");

static PyObject *py_take_objects(PyObject *self, PyObject *args)
{
    PyObject *table, *oids, *oout;
    if (!PyArg_ParseTuple(args, "O!OO:take_objects", &PyList_Type, &table, &oids, &oout))
        return NULL;
    Py_buffer vi, vo;
    if (get_buf(oids, &vi, 0, 8, K_INT, "ids") < 0)
        return NULL;
    if (PyObject_GetBuffer(oout, &vo, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&vi);
        return NULL;
    }
    PyObject *result = NULL;
    Py_ssize_t *counts = NULL;
    Py_ssize_t n = nitems(&vi), nt = PyList_GET_SIZE(table);
    if (!vo.format || strcmp(vo.format, "O") || vo.itemsize != (Py_ssize_t)sizeof(PyObject *)
        || vo.len / vo.itemsize != n) {
        PyErr_SetString(PyExc_TypeError, "take_objects: out must be an object array as long as ids");
        goto done;
    }
    const s64 *ids = vi.buf;
    for (Py_ssize_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= nt) {
            PyErr_SetString(PyExc_IndexError, "take_objects: id out of range");
            goto done;
        }
    counts = PyMem_Calloc(nt ? (size_t)nt : 1, sizeof(Py_ssize_t));
    if (!counts) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        counts[ids[i]]++;
    /* The new references first, all of one item at once (so none of them can go away
       below); then the old items of out (None from numpy.empty) are let go one by one. */
    for (Py_ssize_t k = 0; k < nt; k++)
        if (counts[k]) {
            PyObject *item = PyList_GET_ITEM(table, k);
            Py_SET_REFCNT(item, Py_REFCNT(item) + counts[k]);
        }
    PyObject **o = vo.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *old = o[i];
        o[i] = PyList_GET_ITEM(table, ids[i]);
        Py_XDECREF(old);
    }
    result = Py_NewRef(Py_None);
done:
    PyMem_Free(counts);
    PyBuffer_Release(&vi);
    PyBuffer_Release(&vo);
    return result;
}

PyDoc_STRVAR(descents_doc,
"descents(lines, times) -> int\n\n"
"Runs of events, each in file order (lines[r] int64 ascending, times[r] float64):\n"
"merged by line, how many events have an earlier time than the one before them;\n"
"-1 when a run's lines are not ascending.");

static PyObject *py_descents(PyObject *self, PyObject *args)
{
    PyObject *lines, *times;
    if (!PyArg_ParseTuple(args, "OO:descents", &lines, &times))
        return NULL;
    PyObject *fl = PySequence_Fast(lines, "lines must be a sequence of buffers");
    if (!fl)
        return NULL;
    PyObject *ft = PySequence_Fast(times, "times must be a sequence of buffers");
    if (!ft) {
        Py_DECREF(fl);
        return NULL;
    }
    Py_buffer v[16];
    memset(v, 0, sizeof v);
    PyObject *result = NULL;
    Py_ssize_t runs = PySequence_Fast_GET_SIZE(fl);
    const s64 *lp[8];
    const double *tp[8];
    s64 len[8];
    if (runs > 8 || PySequence_Fast_GET_SIZE(ft) != runs) {
        PyErr_SetString(PyExc_ValueError, "descents: at most 8 runs, as many times as lines");
        goto done;
    }
    for (Py_ssize_t r = 0; r < runs; r++) {
        if (get_buf(PySequence_Fast_GET_ITEM(fl, r), &v[2 * r], 0, 8, K_INT, "a line run") < 0
            || get_buf(PySequence_Fast_GET_ITEM(ft, r), &v[2 * r + 1], 0, 8, K_FLOAT, "a time run") < 0)
            goto done;
        if (nitems(&v[2 * r]) != nitems(&v[2 * r + 1])) {
            PyErr_SetString(PyExc_ValueError, "descents: a run's lines and times differ in length");
            goto done;
        }
        lp[r] = v[2 * r].buf;
        tp[r] = v[2 * r + 1].buf;
        len[r] = nitems(&v[2 * r]);
    }
    s64 n;
    Py_BEGIN_ALLOW_THREADS
    n = rl_descents((int)runs, lp, tp, len);
    Py_END_ALLOW_THREADS
    result = PyLong_FromLongLong(n);
done:
    release_all(v, 16);
    Py_DECREF(fl);
    Py_DECREF(ft);
    return result;
}

/* ---- module -------------------------------------------------------------------------------- */

/* ---- block sums ---------------------------------------------------------------------------- */

PyDoc_STRVAR(block_sums_doc,
"block_sums(a, n, rows) -> list of ints\n\n"
"[int(a[r, n].sum()) for r in range(rows)] for a C-contiguous int64 array a of two or more\n"
"dims (the simulator's state blocks: a node's totals of each list). The same integers as\n"
"numpy's sums (int64 addition, wrapping as numpy's does), without numpy's reduction set-up,\n"
"which cost several times the additions on these small blocks.");

static PyObject *py_block_sums(PyObject *self, PyObject *args)
{
    PyObject *obj;
    Py_ssize_t n, rows;
    if (!PyArg_ParseTuple(args, "Onn:block_sums", &obj, &n, &rows))
        return NULL;
    Py_buffer v;
    if (get_buf(obj, &v, 0, 8, K_INT, "a") < 0)
        return NULL;
    const char *f = v.format ? v.format : "B";
    if (*f == '@' || *f == '=' || *f == '<')
        f++;
    PyObject *out = NULL;
    if (v.ndim < 2 || (*f != 'l' && *f != 'q')) {
        PyErr_Format(PyExc_TypeError, "a must be an int64 array of 2 or more dims, not %d dims of format %s",
                     v.ndim, v.format ? v.format : "B");
        goto done;
    }
    if (n < 0 || n >= v.shape[1] || rows < 0 || rows > v.shape[0]) {
        PyErr_Format(PyExc_IndexError, "n=%zd, rows=%zd outside a's first two dims (%zd, %zd)", n, rows,
                     v.shape[0], v.shape[1]);
        goto done;
    }
    Py_ssize_t inner = 1;
    for (int d = 2; d < v.ndim; d++)
        inner *= v.shape[d];
    const s64 *a = v.buf;
    out = PyList_New(rows);
    for (Py_ssize_t r = 0; out && r < rows; r++) {
        const s64 *block = a + (r * v.shape[1] + n) * inner;
        u64 sum = 0;
        for (Py_ssize_t i = 0; i < inner; i++)
            sum += (u64)block[i];
        PyObject *x = PyLong_FromLongLong((s64)sum);
        if (!x)
            Py_CLEAR(out);
        else
            PyList_SET_ITEM(out, r, x);
    }
done:
    PyBuffer_Release(&v);
    return out;
}

/* ---- cohorts ------------------------------------------------------------------------------ */

PyDoc_STRVAR(remove_proportionally_doc,
"remove_proportionally(col, total, gone) -> bool\n\n"
"reclaimlab.sim.lruorder.remove_proportionally in C on a 1-d writable int64 buffer (any stride,\n"
"a column of a cohort block), for 0 < gone < total. False, with col unchanged, when the caller\n"
"must make the numpy calls (another item type, total not the column's sum).");

static PyObject *py_remove_proportionally(PyObject *self, PyObject *args)
{
    PyObject *obj;
    long long total, gone;
    if (!PyArg_ParseTuple(args, "OLL:remove_proportionally", &obj, &total, &gone))
        return NULL;
    Py_buffer v;
    if (PyObject_GetBuffer(obj, &v, PyBUF_STRIDES | PyBUF_WRITABLE | PyBUF_FORMAT) < 0) {
        PyErr_Clear();
        Py_RETURN_FALSE;
    }
    const char *f = v.format ? v.format : "B";
    int ok = v.ndim == 1 && v.itemsize == 8 && (f[0] == 'l' || f[0] == 'q') && !f[1] && v.strides[0] % 8 == 0
             && gone > 0 && gone < total
             && rl_remove_proportionally(v.buf, v.strides[0] / 8, v.shape[0], total, gone);
    PyBuffer_Release(&v);
    return PyBool_FromLong(ok);
}

static PyMethodDef methods[] = {
    {"scan", py_scan, METH_VARARGS, scan_doc},
    {"scan_lines", py_scan_lines, METH_VARARGS, scan_lines_doc},
    {"scan_kv", py_scan_kv, METH_VARARGS, scan_kv_doc},
    {"count_lines", py_count_lines, METH_O, "count_lines(buf) -> newlines in buf plus one."},
    {"str_hash", py_str_hash, METH_O, "str_hash(buf) -> the scanner's 64-bit hash of the bytes."},
    {"scan_events", py_scan_events, METH_VARARGS, scan_events_doc},
    {"pair", py_pair, METH_VARARGS, pair_doc},
    {"descents", py_descents, METH_VARARGS, descents_doc},
    {"take_matched", py_take_matched, METH_VARARGS, take_matched_doc},
    {"take_objects", py_take_objects, METH_VARARGS, take_objects_doc},
    {"block", rl_block, METH_O,
     "block(nbytes) -> writable buffer of nbytes (np.frombuffer it); its memory goes back to a\n"
     "small pool when the last reference is dropped, so the next large output reuses mapped pages."},
    {"remove_proportionally", py_remove_proportionally, METH_VARARGS, remove_proportionally_doc},
    {"block_sums", py_block_sums, METH_VARARGS, block_sums_doc},
    {"pool_info", rl_pool_info, METH_NOARGS, "pool_info() -> (blocks, bytes) held by the pool of free blocks."},
#ifdef RL_DRAWS_NUMPY
    {"hypergeometric_chain", rl_hypergeometric_chain, METH_VARARGS, rl_hypergeometric_chain_doc},
    {"binomial", rl_binomial, METH_VARARGS, rl_binomial_doc},
    {"binomial_each", rl_binomial_each, METH_VARARGS, rl_binomial_each_doc},
    {"multinomial", rl_multinomial, METH_VARARGS, rl_multinomial_doc},
    {"poisson", rl_poisson, METH_VARARGS, rl_poisson_doc},
    {"fileset_draws", rl_fileset_draws, METH_VARARGS, rl_fileset_draws_doc},
#endif
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_native",
    "reclaimlab's compiled core: do_shrink_slab() arithmetic, the ftrace scanner, the\n"
    "simulator's draws from a numpy Generator's stream and its cohort and state sums.", -1, methods,
};

PyMODINIT_FUNC PyInit__native(void)
{
    if (PyType_Ready(&InternerType) < 0 || PyType_Ready(&rl_BlockType) < 0)
        return NULL;
#ifdef RL_DRAWS_NUMPY
    if (rl_draws_init() < 0)
        return NULL;
#endif
    PyObject *m = PyModule_Create(&module);
    if (!m)
        return NULL;
    if (PyModule_AddObjectRef(m, "Interner", (PyObject *)&InternerType) < 0
        || PyModule_AddIntConstant(m, "MAX_LINE", RL_MAX_LINE) < 0
        || PyModule_AddIntConstant(m, "N_INT", N_INT) < 0
        || PyModule_AddIntConstant(m, "N_STR", N_STR) < 0
#ifdef RL_DRAWS_NUMPY
        || PyModule_AddStringConstant(m, "DRAWS_NUMPY", RL_DRAWS_NUMPY) < 0
#else
        || PyModule_AddObjectRef(m, "DRAWS_NUMPY", Py_None) < 0
#endif
        ) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
