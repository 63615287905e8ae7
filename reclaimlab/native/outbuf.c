/*
 * Reusable memory for large output arrays (rl.formulas.scan's results).
 *
 * Why: a sweep, an explorer or a replay calls rl.formulas.scan again and again
 * with outputs of tens of megabytes. glibc serves such sizes with fresh mmap()s
 * (or trims them back to the kernel), so every call page-faults its outputs in
 * and the kernel zeroes each page first: for 4 million points that costs a
 * third of the arithmetic itself. Here a freed output block goes back to a
 * small pool instead, and the next call of a similar size takes it with its
 * pages already mapped.
 *
 * A Block is a writable buffer-protocol object (numpy wraps it with
 * np.frombuffer; every view of the array keeps the Block alive). When the last
 * reference goes, its memory returns to the pool. The pool holds at most
 * POOL_SLOTS blocks and POOL_BYTES bytes; anything beyond is unmapped at once.
 * Results never depend on the pool: outputs are written in full by the loop
 * before they are returned, whatever memory they come from.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <sys/mman.h>

#include "native.h"

#define POOL_SLOTS 8
#define POOL_BYTES ((size_t)512 << 20)
#define GRAIN ((size_t)64 << 10)

struct slot {
    void *mem;
    size_t size;
};

/* Guarded by the GIL: blocks are only made and freed while it is held. */
static struct slot pool[POOL_SLOTS];
static int pool_n;
static size_t pool_bytes;

/* A pooled block of at least `size` bytes (its real size in *got), or NULL. */
static void *pool_take(size_t size, size_t *got)
{
    int best = -1;
    for (int i = 0; i < pool_n; i++)   /* best fit, wasting at most a quarter */
        if (pool[i].size >= size && pool[i].size - size <= size / 4
            && (best < 0 || pool[i].size < pool[best].size))
            best = i;
    if (best < 0)
        return NULL;
    void *mem = pool[best].mem;
    *got = pool[best].size;
    pool_bytes -= pool[best].size;
    pool[best] = pool[--pool_n];
    return mem;
}

static void pool_give(void *mem, size_t size)
{
    if (size > POOL_BYTES) {
        munmap(mem, size);
        return;
    }
    /* Evict the oldest blocks (the front) until the new one fits. */
    while (pool_n == POOL_SLOTS || pool_bytes + size > POOL_BYTES) {
        munmap(pool[0].mem, pool[0].size);
        pool_bytes -= pool[0].size;
        memmove(pool, pool + 1, (size_t)(--pool_n) * sizeof pool[0]);
    }
    pool[pool_n++] = (struct slot){mem, size};
    pool_bytes += size;
}

typedef struct {
    PyObject_HEAD
    void *mem;
    size_t size;     /* mapped bytes (a multiple of GRAIN) */
    Py_ssize_t len;  /* bytes asked for: the buffer's length */
} Block;

static void Block_dealloc(Block *self)
{
    if (self->mem)
        pool_give(self->mem, self->size);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int Block_getbuffer(Block *self, Py_buffer *view, int flags)
{
    return PyBuffer_FillInfo(view, (PyObject *)self, self->mem, self->len, 0, flags);
}

static PyBufferProcs Block_as_buffer = {.bf_getbuffer = (getbufferproc)Block_getbuffer};

PyTypeObject rl_BlockType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "reclaimlab._native.Block",
    .tp_basicsize = sizeof(Block),
    .tp_dealloc = (destructor)Block_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Writable memory for an output array, returned to a small pool when freed.",
    .tp_as_buffer = &Block_as_buffer,
};

PyObject *rl_block(PyObject *Py_UNUSED(module), PyObject *arg)
{
    Py_ssize_t len = PyLong_AsSsize_t(arg);
    if (len == -1 && PyErr_Occurred())
        return NULL;
    if (len < 0) {
        PyErr_Format(PyExc_ValueError, "block: nbytes is %zd; allowed: 0 or more", len);
        return NULL;
    }
    size_t size = ((size_t)len + GRAIN - 1) / GRAIN * GRAIN;
    if (size == 0)
        size = GRAIN;
    Block *b = PyObject_New(Block, &rl_BlockType);
    if (!b)
        return NULL;
    b->mem = NULL;
    b->len = len;
    size_t got = size;
    void *mem = pool_take(size, &got);   /* may be up to a quarter larger */
    if (!mem) {
        got = size;
        mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED) {
            Py_DECREF(b);
            return PyErr_NoMemory();
        }
    }
    b->mem = mem;
    b->size = got;
    return (PyObject *)b;
}

PyObject *rl_pool_info(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(arg))
{
    return Py_BuildValue("(in)", pool_n, (Py_ssize_t)pool_bytes);
}
