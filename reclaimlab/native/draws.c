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
    double sum = 0.0;
    for (Py_ssize_t j = 0; j < d; j++) {
        if (!get_share(items[j], &pv[j]))
            Py_RETURN_NONE;
        if (j < d - 1)
            sum += pv[j];
        out[j] = 0;
    }
    /* numpy refuses a Kahan sum of pvals[:-1] above 1 + 1e-12: one at most 1.0 is accepted. */
    if (sum > 1.0)
        Py_RETURN_NONE;
    double remaining = 1.0;
    for (Py_ssize_t j = 0; j < d - 1; j++) {
        share[j] = pv[j] / remaining;
        if (!(share[j] >= 0.0 && share[j] <= 1.0))
            Py_RETURN_NONE;
        if (share[j] == 1.0)
            break;
        remaining -= pv[j];
    }
    if (n == 0)
        return list_of(out, d);    /* a binomial of 0 draws nothing */
    held_t h;
    HOLD_OR_RETURN(rng, h);
    s64 left = n;
    for (Py_ssize_t j = 0; j < d - 1; j++) {
        out[j] = random_binomial(h.bitgen, share[j], left, &binomial_cache);
        left -= out[j];
        if (left <= 0)
            break;
    }
    if (left > 0)
        out[d - 1] = left;
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

int rl_draws_init(void)
{
    s_bit_generator = PyUnicode_InternFromString("bit_generator");
    s_capsule = PyUnicode_InternFromString("capsule");
    s_lock = PyUnicode_InternFromString("lock");
    s_acquire = PyUnicode_InternFromString("acquire");
    s_release = PyUnicode_InternFromString("release");
    return s_bit_generator && s_capsule && s_lock && s_acquire && s_release ? 0 : -1;
}
