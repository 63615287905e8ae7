/*
 * draws.c: the simulator's scalar draws, from a numpy Generator's own stream, by numpy's own code.
 *
 * Why: a run makes over half a million scalar draws (a hypergeometric chain per list a
 * scan walks, binomial thinning, multinomial splits, Poisson counts). Each Generator call
 * costs about 1 us of argument handling around a draw of a few dozen ns. These functions
 * take the Generator, draw whole chains in one call and return Python ints.
 *
 * Bit-identity: the numbers must be the ones the numpy calls they replace would give,
 * from the same position of the same stream. So the draws go through the Generator's own
 * bit generator (its `capsule`, a bitgen_t*, under its lock), and the distribution code is
 * numpy's: random_binomial, random_hypergeometric and random_poisson of libnpyrandom, the
 * static library numpy ships for this purpose (numpy/random/lib, "Extending via C" in
 * numpy's documentation), linked in at build time (numpy's BSD licence covers that code).
 * A newer numpy could change an algorithm: the module records the numpy version it was
 * built against (DRAWS_NUMPY) and reclaimlab.sim.draw uses these functions only when numpy
 * at run time is that version; tests/test_native_draws.py compares them draw for draw.
 *
 * Each function first checks that numpy would accept every argument it would see, without
 * drawing; when it would not (a negative count, a share outside [0, 1], NaN, a value past
 * numpy's limits, a type numpy converts in its own way) the function returns None and the
 * caller makes the plain numpy calls, which then raise or draw exactly as before.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

#include "numpy/random/distributions.h"

#include "native.h"

/* Generator.hypergeometric refuses ngood or nbad of 10**9 or more (HYPERGEOM_MAX). */
#define HYPERGEOM_MAX 1000000000LL
/* Generator.poisson refuses lam above POISSON_LAM_MAX (about 9.2e18); far below it here. */
#define POISSON_FAST_MAX 1e15
/* Longest list a chain takes on the C stack (the simulator's have 2 to 9 entries). */
#define MAX_CHAIN 64

/* ---- the Generator's bit generator ------------------------------------------------------- */

/* The last Generator seen, its bitgen_t and its lock. The reference keeps the Generator
 * (and so its bit generator and the bitgen_t inside it) alive, so an identity check is a
 * safe cache test: a run draws from one Generator hundreds of thousands of times. The three
 * are set together with no Python code in between (other threads may run during a lookup). */
static PyObject *cached_rng, *cached_lock, *generator_type;
static bitgen_t *cached_bitgen;
static PyObject *s_bit_generator, *s_capsule, *s_lock, *s_acquire, *s_release;

/* A Generator's bit generator in use: its bitgen_t, and its lock when it was acquired. */
typedef struct {
    bitgen_t *bitgen;
    PyObject *lock;     /* a reference to the acquired lock, or NULL when none was needed */
} held_t;

/* The bitgen_t and lock of Generator `rng` (a new reference to the lock) into *bitgen, *lock.
 * Returns 1, or 0 when rng is not a numpy.random.Generator (a RandomState draws by other
 * algorithms, a subclass may override them), or -1 on error. */
static int find_bitgen(PyObject *rng, bitgen_t **bitgen, PyObject **lock)
{
    if (rng == cached_rng) {
        *bitgen = cached_bitgen;
        *lock = Py_NewRef(cached_lock);
        return 1;
    }
    if (!generator_type) {
        PyObject *mod = PyImport_ImportModule("numpy.random");
        PyObject *type = mod ? PyObject_GetAttrString(mod, "Generator") : NULL;
        Py_XDECREF(mod);
        if (!type)
            return -1;
        Py_XSETREF(generator_type, type);
    }
    if ((PyObject *)Py_TYPE(rng) != generator_type)
        return 0;
    PyObject *bg = PyObject_GetAttr(rng, s_bit_generator);
    if (!bg)
        return -1;
    PyObject *capsule = PyObject_GetAttr(bg, s_capsule);
    PyObject *lk = capsule ? PyObject_GetAttr(bg, s_lock) : NULL;
    Py_DECREF(bg);
    bitgen_t *p = lk ? PyCapsule_GetPointer(capsule, "BitGenerator") : NULL;
    Py_XDECREF(capsule);
    if (!p) {
        Py_XDECREF(lk);
        return -1;
    }
    PyObject *old_rng = cached_rng, *old_lock = cached_lock;
    cached_rng = Py_NewRef(rng);
    cached_lock = Py_NewRef(lk);
    cached_bitgen = p;
    Py_XDECREF(old_rng);
    Py_XDECREF(old_lock);
    *bitgen = p;
    *lock = lk;
    return 1;
}

/* Take Generator `rng`'s bit generator into *h (give it back with release()): 1, 0 (not a
 * Generator: nothing taken) or -1 (error). */
static int hold(PyObject *rng, held_t *h)
{
    PyObject *lock;
    int ok = find_bitgen(rng, &h->bitgen, &lock);
    if (ok <= 0)
        return ok;
    /* numpy draws under the bit generator's lock (`with self.lock`), so that no thread
     * drawing with the GIL released interleaves; so do we. Only a thread of this
     * interpreter can hold it: when ours is the only one (and we keep the GIL until
     * release()), taking it would change nothing and cost two Python calls, a good share
     * of a short draw. A blocking acquire() lets other threads run while it waits. */
    PyThreadState *me = PyThreadState_Get();
    PyThreadState *head = PyInterpreterState_ThreadHead(PyThreadState_GetInterpreter(me));
    if (head == me && PyThreadState_Next(head) == NULL) {
        Py_DECREF(lock);
        h->lock = NULL;
        return 1;
    }
    PyObject *r = PyObject_CallMethodNoArgs(lock, s_acquire);
    if (!r) {
        Py_DECREF(lock);
        return -1;
    }
    Py_DECREF(r);
    h->lock = lock;
    return 1;
}

/* Give back what hold() took. 0, or -1 on error. */
static int release(held_t *h)
{
    if (!h->lock)
        return 0;
    PyObject *r = PyObject_CallMethodNoArgs(h->lock, s_release);
    Py_CLEAR(h->lock);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

/* Hold rng's bit generator in `h`, or return None (not a Generator) / NULL (error). */
#define HOLD_OR_RETURN(rng, h)                      \
    do {                                            \
        int ok_ = hold((rng), &(h));                \
        if (ok_ < 0)                                \
            return NULL;                            \
        if (ok_ == 0)                               \
            Py_RETURN_NONE;                         \
    } while (0)

/* ---- argument checks (no draws) ---------------------------------------------------------- */

/* A Python int in [0, limit) into *out; 0 if it is not one (no exception left set). */
static int get_count(PyObject *o, s64 limit, s64 *out)
{
    if (!PyLong_Check(o))
        return 0;
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow || (v == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return 0;
    }
    if (v < 0 || v >= limit)
        return 0;
    *out = v;
    return 1;
}

/* A Python float in [0, 1] (not NaN) into *out; 0 if it is not one. Generator.binomial's
 * check of p (CONS_BOUNDED_0_1). Only floats: numpy converts other types its own way. */
static int get_share(PyObject *o, double *out)
{
    if (!PyFloat_Check(o))
        return 0;
    double p = PyFloat_AS_DOUBLE(o);
    if (!(p >= 0.0 && p <= 1.0))
        return 0;
    *out = p;
    return 1;
}

/* A list of at most MAX_CHAIN items, its items borrowed into *items and its length in *n. */
static int get_list(PyObject *o, PyObject ***items, Py_ssize_t *n)
{
    if (!PyList_Check(o) || PyList_GET_SIZE(o) > MAX_CHAIN)
        return 0;
    *items = PySequence_Fast_ITEMS(o);
    *n = PyList_GET_SIZE(o);
    return 1;
}

static PyObject *list_of(const s64 *v, Py_ssize_t n)
{
    PyObject *out = PyList_New(n);
    if (!out)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *x = PyLong_FromLongLong(v[i]);
        if (!x) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, x);
    }
    return out;
}

/* Python's min(a, b) and max(a, b) on floats: a unless b is smaller (larger); NaN-safe as Python. */
static inline double fmin_py(double a, double b) { return b < a ? b : a; }
static inline double fmax_py(double a, double b) { return b > a ? b : a; }

/* The binomial set-up numpy caches between calls (Generator._binomial): a pure function of
 * (n, p), recomputed whenever they change, so a cache of our own gives the same numbers. */
static binomial_t binomial_cache;

/* ---- entry points ------------------------------------------------------------------------ */

const char rl_hypergeometric_chain_doc[] =
    "hypergeometric_chain(rng, values, k) -> list of ints, or None\n\n"
    "reclaimlab.sim.draw.take_values in C: how many of each class a uniform sample of k\n"
    "objects without replacement takes, by chained rng.hypergeometric(c, rest, left) calls\n"
    "over the nonzero classes in order (none when k <= 0, k >= the total or one class is\n"
    "left). None, with nothing drawn, when numpy would refuse a call the chain could make\n"
    "(a negative count, a total of 10**9 or more) or an argument is not a list of ints.";

PyObject *rl_hypergeometric_chain(PyObject *self, PyObject *args)
{
    PyObject *rng, *list, *k_obj, **items;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "OOO", &rng, &list, &k_obj))
        return NULL;
    s64 v[MAX_CHAIN], out[MAX_CHAIN], k, total = 0;
    if (!get_list(list, &items, &n))
        Py_RETURN_NONE;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!get_count(items[i], HYPERGEOM_MAX, &v[i]))
            Py_RETURN_NONE;
        total += v[i];
        out[i] = 0;
    }
    /* A total under HYPERGEOM_MAX keeps every ngood and nbad of the chain under it. */
    if (total >= HYPERGEOM_MAX || !PyLong_Check(k_obj))
        Py_RETURN_NONE;
    int overflow;
    k = PyLong_AsLongLongAndOverflow(k_obj, &overflow);
    if (overflow || (k == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    if (k <= 0 || total == 0)
        return list_of(out, n);
    if (k >= total)
        return list_of(v, n);
    held_t h;
    HOLD_OR_RETURN(rng, h);
    s64 left = k, rest = total;
    for (Py_ssize_t i = 0; i < n && left > 0; i++) {
        if (v[i] == 0)
            continue;
        rest -= v[i];
        s64 got = rest == 0 ? left : random_hypergeometric(h.bitgen, v[i], rest, left);
        out[i] = got;
        left -= got;
    }
    if (release(&h) < 0)
        return NULL;
    return list_of(out, n);
}

const char rl_binomial_doc[] =
    "binomial(rng, n, p) -> int, or None\n\n"
    "rng.binomial(n, p) for a Python int n and a Python float p. None, with nothing drawn,\n"
    "when numpy would refuse them (n < 0, p outside [0, 1] or NaN) or they are other types.";

PyObject *rl_binomial(PyObject *self, PyObject *args)
{
    PyObject *rng, *n_obj, *p_obj;
    if (!PyArg_ParseTuple(args, "OOO", &rng, &n_obj, &p_obj))
        return NULL;
    s64 n;
    double p;
    if (!get_count(n_obj, INT64_MAX, &n) || !get_share(p_obj, &p))
        Py_RETURN_NONE;
    held_t h;
    HOLD_OR_RETURN(rng, h);
    s64 got = random_binomial(h.bitgen, p, n, &binomial_cache);
    if (release(&h) < 0)
        return NULL;
    return PyLong_FromLongLong(got);
}

const char rl_binomial_each_doc[] =
    "binomial_each(rng, counts, p) -> list of ints, or None\n\n"
    "[rng.binomial(c, q) if c else 0 for each count c] with q = p (a float) or the matching\n"
    "item of the list p: a count of 0 draws nothing. None, with nothing drawn, when numpy\n"
    "would refuse any pair (as binomial()) or the lengths differ.";

PyObject *rl_binomial_each(PyObject *self, PyObject *args)
{
    PyObject *rng, *counts, *p_obj, *out = NULL;
    if (!PyArg_ParseTuple(args, "OOO", &rng, &counts, &p_obj))
        return NULL;
    if (!PyList_Check(counts))
        Py_RETURN_NONE;
    int scalar = !PyList_Check(p_obj);
    Py_ssize_t n = PyList_GET_SIZE(counts);
    double p0 = 0.0;
    if (scalar ? !get_share(p_obj, &p0) : PyList_GET_SIZE(p_obj) != n)
        Py_RETURN_NONE;
    /* The counts and shares, checked and copied before anything is drawn (acquiring the lock
     * may let other threads run, and change the lists). */
    s64 small_c[MAX_CHAIN];
    double small_p[MAX_CHAIN];
    s64 *c = small_c;
    double *p = small_p;
    if (n > MAX_CHAIN) {
        c = PyMem_Malloc(n * sizeof *c);
        p = PyMem_Malloc(n * sizeof *p);
        if (!c || !p) {
            PyErr_NoMemory();
            goto done;
        }
    }
    int any = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        p[i] = p0;
        /* Only a count that draws needs a share numpy accepts (a 0 is never passed to it). */
        if (!get_count(PyList_GET_ITEM(counts, i), INT64_MAX, &c[i])
            || (c[i] && !scalar && !get_share(PyList_GET_ITEM(p_obj, i), &p[i]))) {
            out = Py_NewRef(Py_None);
            goto done;
        }
        any |= c[i] != 0;
    }
    if (any) {
        held_t h;
        int ok = hold(rng, &h);
        if (ok <= 0) {
            out = ok < 0 ? NULL : Py_NewRef(Py_None);
            goto done;
        }
        for (Py_ssize_t i = 0; i < n; i++)
            c[i] = c[i] ? random_binomial(h.bitgen, p[i], c[i], &binomial_cache) : 0;
        if (release(&h) < 0)
            goto done;
    }
    out = list_of(c, n);
done:
    if (c != small_c) {
        PyMem_Free(c);
        PyMem_Free(p);
    }
    return out;
}

const char rl_multinomial_doc[] =
    "multinomial(rng, n, pvals) -> list of ints, or None\n\n"
    "rng.multinomial(n, pvals).tolist() for a Python int n and a list of floats: numpy's\n"
    "random_multinomial() steps, binomial(left, pvals[j] / remaining) class after class,\n"
    "stopping when nothing is left, the last class taking the rest. None, with nothing drawn,\n"
    "when numpy would refuse the arguments or a conditional share the steps could reach\n"
    "leaves [0, 1] (shares after one of exactly 1.0 are never reached: it takes all).";

/* numpy's multinomial shares for pvals[0..d): share[j] = pvals[j] / remaining, remaining -= pvals[j],
 * up to a share of exactly 1.0 (it takes all; later shares are never reached). 1 when numpy would
 * accept pvals and every share it reaches is in [0, 1], else 0. */
static int multinomial_shares(const double *pv, Py_ssize_t d, double *share)
{
    double sum = 0.0;
    for (Py_ssize_t j = 0; j < d; j++) {
        if (!(pv[j] >= 0.0 && pv[j] <= 1.0))
            return 0;
        if (j < d - 1)
            sum += pv[j];
    }
    /* numpy refuses a Kahan sum of pvals[:-1] above 1 + 1e-12: one at most 1.0 is accepted. */
    if (sum > 1.0)
        return 0;
    double remaining = 1.0;
    for (Py_ssize_t j = 0; j < d - 1; j++) {
        share[j] = pv[j] / remaining;
        if (!(share[j] >= 0.0 && share[j] <= 1.0))
            return 0;
        if (share[j] == 1.0)
            break;
        remaining -= pv[j];
    }
    return 1;
}

/* random_multinomial()'s steps on shares from multinomial_shares(): out[0..d) (n >= 0). */
static void multinomial_draw(bitgen_t *bitgen, s64 n, const double *share, Py_ssize_t d, s64 *out)
{
    for (Py_ssize_t j = 0; j < d; j++)
        out[j] = 0;
    s64 left = n;
    for (Py_ssize_t j = 0; j < d - 1 && left > 0; j++) {
        out[j] = random_binomial(bitgen, share[j], left, &binomial_cache);
        left -= out[j];
    }
    if (left > 0)
        out[d - 1] = left;
}

PyObject *rl_multinomial(PyObject *self, PyObject *args)
{
    PyObject *rng, *n_obj, *list, **items;
    Py_ssize_t d;
    if (!PyArg_ParseTuple(args, "OOO", &rng, &n_obj, &list))
        return NULL;
    s64 n, out[MAX_CHAIN];
    double pv[MAX_CHAIN], share[MAX_CHAIN];
    if (!get_count(n_obj, INT64_MAX, &n) || !get_list(list, &items, &d) || d == 0)
        Py_RETURN_NONE;
    for (Py_ssize_t j = 0; j < d; j++)
        if (!get_share(items[j], &pv[j]))
            Py_RETURN_NONE;
    if (!multinomial_shares(pv, d, share))
        Py_RETURN_NONE;
    if (n == 0) {
        for (Py_ssize_t j = 0; j < d; j++)
            out[j] = 0;
        return list_of(out, d);    /* a binomial of 0 draws nothing */
    }
    held_t h;
    HOLD_OR_RETURN(rng, h);
    multinomial_draw(h.bitgen, n, share, d, out);
    if (release(&h) < 0)
        return NULL;
    return list_of(out, d);
}

const char rl_poisson_doc[] =
    "poisson(rng, lam) -> int, or None\n\n"
    "rng.poisson(lam) for a Python float lam. None, with nothing drawn, when numpy would\n"
    "refuse it (negative or NaN), it is very large (numpy's limit is near 9.2e18) or not a float.";

PyObject *rl_poisson(PyObject *self, PyObject *args)
{
    PyObject *rng, *lam_obj;
    if (!PyArg_ParseTuple(args, "OO", &rng, &lam_obj))
        return NULL;
    if (!PyFloat_Check(lam_obj))
        Py_RETURN_NONE;
    double lam = PyFloat_AS_DOUBLE(lam_obj);
    if (!(lam >= 0.0 && lam <= POISSON_FAST_MAX))
        Py_RETURN_NONE;
    held_t h;
    HOLD_OR_RETURN(rng, h);
    s64 got = random_poisson(h.bitgen, lam);
    if (release(&h) < 0)
        return NULL;
    return PyLong_FromLongLong(got);
}

/* ---- a file set's step on every node (reclaimlab.sim.fileplan) -------------------------------- */

/* The rows of State.lists the plan reads: p_inact .. p_dirty, d_ref, d_unref, i_ref, i_unref. */
enum { P_INACT, P_REF, P_ACT, P_DIRTY, D_REF, D_UNREF, I_REF, I_UNREF, LIST_ROWS = 9 };

/* A C-contiguous int64 buffer of `ndim` dimensions into *v (released by the caller), or 0. */
static int get_counts(PyObject *o, int ndim, Py_buffer *v)
{
    if (PyObject_GetBuffer(o, v, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        PyErr_Clear();
        return 0;
    }
    if (v->ndim == ndim && v->itemsize == 8 && v->format && (v->format[0] == 'l' || v->format[0] == 'q')
        && v->format[1] == '\0')
        return 1;
    PyBuffer_Release(v);
    return 0;
}

/* What the draws of one node's working-set reads need, read from the state before any draw. */
typedef struct {
    double lam;              /* mean reads (the same on every node) */
    double pv[3], share[3];  /* dentry hit, inode hit, miss: shares of the multinomial */
    double recycle;          /* xfs.recycle_share(), clipped as thin() clips it */
    int thin;                /* whether a miss may recycle (XFS still holds some of the set) */
    double cached;           /* with_pages / W: share of the set's files with pages cached */
} reads_in;

/* One file set's step as its spec (fileplan.DrawSpec) gives it, and each node's read inputs. */
typedef struct {
    Py_ssize_t k, m;
    long long W, ppf;
    double creates_per_s, reads_per_s, per_created, dopp, iopp, creates_lam;
    int nofs;
    reads_in in[MAX_CHAIN];
} fileset_t;

/* Parse spec into *f and read its inputs from the state; 1 when every draw's argument is one the
 * Python draws (draw.poisson, draw.thin, draw.binomial, draw.multinomial_values) would pass to
 * the C draws, 0 when not, -1 on error. Nothing is drawn. */
static int fileset_prepare(fileset_t *f, PyObject *spec, const Py_buffer *lv, const Py_buffer *xv, double seconds)
{
    if (!PyArg_ParseTuple(spec, "nndLdLdddp:DrawSpec", &f->k, &f->m, &f->creates_per_s, &f->W, &f->reads_per_s,
                          &f->ppf, &f->per_created, &f->dopp, &f->iopp, &f->nofs))
        return -1;
    const Py_ssize_t N = lv->shape[1], M = lv->shape[2], K = lv->shape[3];
    if (!(lv->shape[0] >= LIST_ROWS && xv->shape[0] == N && xv->shape[1] == K && f->k >= 0 && f->k < K
          && f->m >= 0 && f->m < M && N <= MAX_CHAIN))
        return 0;
    f->creates_lam = f->creates_per_s * seconds / (double)N;
    if (f->creates_lam < 0.0)
        f->creates_lam = 0.0;           /* max(mean, 0.0) */
    if (f->creates_per_s != 0.0 && !(f->creates_lam >= 0.0 && f->creates_lam <= POISSON_FAST_MAX))
        return 0;
    const s64 *cells = lv->buf, *xcs = xv->buf;
    const long long W = f->W, ppf = f->ppf;
    for (Py_ssize_t n = 0; W && n < N; n++) {
        s64 c[LIST_ROWS];
        for (int i = 0; i < LIST_ROWS; i++)
            c[i] = cells[((i * N + n) * M + f->m) * K + f->k];
        reads_in *r = &f->in[n];
        r->lam = (double)W * f->reads_per_s * seconds;
        if (r->lam < 0.0)
            r->lam = 0.0;
        s64 D = c[D_REF] + c[D_UNREF], U = c[I_REF] + c[I_UNREF];
        s64 pages = c[P_INACT] + c[P_REF] + c[P_ACT] + c[P_DIRTY];
        if (!(r->lam >= 0.0 && r->lam <= POISSON_FAST_MAX) || D < 0 || U < 0 || pages < 0 || W < 1 || ppf < 1)
            return 0;
        double pd = fmin_py((double)D / (double)W, 1.0);
        double pu = fmin_py((double)U / (double)W, 1.0 - pd);
        r->pv[0] = pd;
        r->pv[1] = pu;
        r->pv[2] = fmax_py(1.0 - pd - pu, 0.0);
        s64 x = xcs[n * K + f->k];
        s64 evicted = W - D - U;
        double share = evicted <= 0 ? 0.0 : fmin_py((double)x / (double)evicted, 1.0);
        r->recycle = share < 0.0 ? 0.0 : share > 1.0 ? 1.0 : share;
        r->thin = x != 0;
        s64 with_pages = (pages + ppf - 1) / ppf;      /* -(-pages // ppf), pages >= 0 */
        if (with_pages > W)
            with_pages = W;
        r->cached = (double)with_pages / (double)W;
        if (!multinomial_shares(r->pv, 3, r->share) || !(r->cached >= 0.0 && r->cached <= 1.0))
            return 0;
    }
    return 1;
}

/* The draws of a prepared file set on each of N nodes, in plan_fileset_numpy's order, as
 * (pages, fs_pages, [(n, creates or None, (dentry_hits, ..., recycled) or None), ...]). */
static PyObject *fileset_draw(const fileset_t *f, bitgen_t *bitgen, Py_ssize_t N)
{
    PyObject *nodes = PyList_New(N);
    if (!nodes)
        return NULL;
    double plan_pages = 0.0, plan_fs = 0.0;
    for (Py_ssize_t n = 0; n < N; n++) {
        PyObject *creates = Py_NewRef(Py_None), *reads = Py_NewRef(Py_None);
        if (f->creates_per_s != 0.0) {
            s64 made = random_poisson(bitgen, f->creates_lam);
            double pages = (double)made * f->per_created;
            plan_pages += pages;
            plan_fs += f->nofs ? 0.0 : pages;
            Py_SETREF(creates, PyLong_FromLongLong(made));
        }
        if (f->W) {
            const reads_in *r = &f->in[n];
            s64 count = random_poisson(bitgen, r->lam), hit[3], recycled = 0;
            multinomial_draw(bitgen, count, r->share, 3, hit);
            if (hit[2] && r->thin)
                recycled = random_binomial(bitgen, r->recycle, hit[2], &binomial_cache);
            s64 page_hits = random_binomial(bitgen, r->cached, count, &binomial_cache);
            s64 page_misses = count - page_hits;
            s64 cache = page_misses * f->ppf;
            double slab = (double)hit[2] / f->dopp + (double)(hit[2] - recycled) / f->iopp;
            plan_pages += (double)cache + slab;
            plan_fs += slab + (f->nofs ? 0.0 : (double)cache);
            Py_SETREF(reads, Py_BuildValue("(LLLLLL)", hit[0], hit[1], hit[2], page_hits, page_misses, recycled));
        }
        PyObject *node = creates && reads ? Py_BuildValue("(nOO)", n, creates, reads) : NULL;
        Py_XDECREF(creates);
        Py_XDECREF(reads);
        if (!node) {
            Py_DECREF(nodes);
            return NULL;
        }
        PyList_SET_ITEM(nodes, n, node);
    }
    return Py_BuildValue("(ddN)", plan_pages, plan_fs, nodes);
}

const char rl_fileset_draws_doc[] =
    "fileset_draws(rng, lists, x_clean_set, specs, seconds) -> [(pages, fs_pages, nodes), ...], or None\n\n"
    "reclaimlab.sim.fileplan.plan_fileset_numpy in C for each spec in turn: a file set's draws on each\n"
    "node for `seconds` of its task's time, in the same order from the same stream. lists is\n"
    "State.lists (int64, (9, nodes, memcgs, sets)), x_clean_set State.x_clean_set (int64,\n"
    "(nodes, sets)); each spec is a fileplan.DrawSpec (k, m, creates_per_s, W, reads_per_s,\n"
    "pages_per_file, per_created, dentry_objects_per_page, inode_objects_per_page, nofs).\n"
    "nodes[n] is (n, creates or None, (dentry_hits, inode_hits, misses, page_hits, page_misses,\n"
    "recycled) or None). None, with nothing drawn, when a draw's argument is one numpy would\n"
    "refuse (or the C draws treat otherwise): the caller then makes the Python draws, which\n"
    "raise or draw as before.";

PyObject *rl_fileset_draws(PyObject *self, PyObject *args)
{
    PyObject *rng, *lists_obj, *xcs_obj, *specs_obj;
    double seconds;
    if (!PyArg_ParseTuple(args, "OOOOd:fileset_draws", &rng, &lists_obj, &xcs_obj, &specs_obj, &seconds))
        return NULL;
    PyObject *specs = PySequence_Fast(specs_obj, "specs must be a sequence of DrawSpec");
    if (!specs)
        return NULL;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(specs);
    PyObject *result = NULL;
    fileset_t *f = PyMem_Malloc((count ? count : 1) * sizeof *f);
    Py_buffer lv = {0}, xv = {0};
    int have_l = 0, have_x = 0;
    if (!f) {
        PyErr_NoMemory();
        goto done;
    }
    have_l = get_counts(lists_obj, 4, &lv);
    have_x = have_l && get_counts(xcs_obj, 2, &xv);
    int ok = have_x;
    /* Every file set's inputs first: nothing is drawn unless the C draws can make all of them. */
    for (Py_ssize_t j = 0; ok && j < count; j++) {
        ok = fileset_prepare(&f[j], PySequence_Fast_GET_ITEM(specs, j), &lv, &xv, seconds);
        if (ok < 0)
            goto done;
    }
    if (!ok) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    held_t h;
    int held = hold(rng, &h);
    if (held <= 0) {
        result = held < 0 ? NULL : Py_NewRef(Py_None);
        goto done;
    }
    PyObject *out = PyList_New(count);
    for (Py_ssize_t j = 0; out && j < count; j++) {
        PyObject *plan = fileset_draw(&f[j], h.bitgen, lv.shape[1]);
        if (!plan)
            Py_CLEAR(out);
        else
            PyList_SET_ITEM(out, j, plan);
    }
    if (release(&h) < 0)
        Py_CLEAR(out);
    result = out;
done:
    if (have_l)
        PyBuffer_Release(&lv);
    if (have_x)
        PyBuffer_Release(&xv);
    PyMem_Free(f);
    Py_DECREF(specs);
    return result;
}

int rl_draws_init(void)
{
    s_bit_generator = PyUnicode_InternFromString("bit_generator");
    s_capsule = PyUnicode_InternFromString("capsule");
    s_lock = PyUnicode_InternFromString("lock");
    s_acquire = PyUnicode_InternFromString("acquire");
    s_release = PyUnicode_InternFromString("release");
    return s_bit_generator && s_capsule && s_lock && s_acquire && s_release ? 0 : -1;
}
