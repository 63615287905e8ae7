"""Seeded mean-field draws: which objects a scan of k takes from a list.

A list holds objects of several classes (referenced or not, of one file set
or another). The kernel walks it from the tail; the model takes the k objects
as a uniform sample without replacement (multivariate hypergeometric), the
mean-field picture of an LRU whose classes are mixed along it.

Every draw here is the one the plain numpy call would make, from the same
position of the Generator's stream. The scalar ones go through the compiled
module when it was built against the numpy running now (reclaimlab/native/draws.c:
numpy's own routines, without about 1 us of argument handling per call); it
returns None for anything numpy would refuse or convert its own way, and the
numpy calls below then run as before.
"""
from __future__ import annotations

import numpy as np

try:
    from .._native import DRAWS_NUMPY
except ImportError:            # an extension built before draws.c: the numpy calls below
    DRAWS_NUMPY = None

# The C draws, or None: numpy's algorithms are linked in from the numpy of the build,
# so only that numpy's stream is certain to be reproduced.
if DRAWS_NUMPY == np.__version__:
    from .._native import binomial as _c_binomial
    from .._native import binomial_each as _c_binomial_each
    from .._native import hypergeometric_chain as _c_chain
    from .._native import multinomial as _c_multinomial
    from .._native import poisson as _c_poisson
    try:
        from .._native import fileset_draws as _c_fileset_draws
    except ImportError:        # an extension built before fileset_draws: the workload's own draws
        _c_fileset_draws = None
else:
    _c_chain = _c_binomial = _c_binomial_each = _c_multinomial = _c_poisson = _c_fileset_draws = None


def take(rng: np.random.Generator, counts: np.ndarray, k: int) -> np.ndarray:
    """How many of each class a scan of ``k`` objects takes (all when k >= total).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> take(rng, np.array([3, 0, 5]), 100).tolist()
    [3, 0, 5]
    >>> int(take(rng, np.array([30, 70]), 10).sum())
    10
    """
    counts = np.asarray(counts, np.int64)
    # The lists have a handful of classes: plain Python beats numpy calls here.
    values = counts.reshape(-1).tolist()
    total = sum(values)
    if k <= 0 or total == 0:
        return np.zeros_like(counts)
    if k >= total:
        return counts.copy()
    return np.array(take_values(rng, values, k), np.int64).reshape(counts.shape)


def take_values(rng: np.random.Generator, values: list[int], k: int) -> list[int]:
    """:func:`take` on a list of Python ints, returning a list: the same draws in the same order.

    The workload's per-node updates draw over two to four scalar counts many
    thousand times a run; building and unpacking arrays for them cost more
    than the draws.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> take_values(rng, [3, 0, 5], 100)
    [3, 0, 5]
    >>> sum(take_values(rng, [30, 70], 10))
    10
    """
    if _c_chain is not None:
        out = _c_chain(rng, values, k)
        if out is not None:
            return out
    return take_values_numpy(rng, values, k)


def take_values_numpy(rng: np.random.Generator, values: list[int], k: int) -> list[int]:
    """:func:`take_values` through numpy's public Generator calls: the chain the C draws reproduce.

    Examples
    --------
    >>> a, b = np.random.default_rng(3), np.random.default_rng(3)
    >>> take_values_numpy(a, [30, 0, 70], 10) == take_values(b, [30, 0, 70], 10)
    True
    """
    total = sum(values)
    if k <= 0 or total == 0:
        return [0] * len(values)
    if k >= total:
        return list(values)
    # Chained univariate hypergeometric draws: the exact multivariate draw,
    # several times faster than Generator.multivariate_hypergeometric here.
    out = [0] * len(values)
    left, rest = int(k), total
    for i, c in enumerate(values):
        if c == 0:
            continue
        rest -= c
        if left == 0:
            break
        got = left if rest == 0 else int(rng.hypergeometric(c, rest, left))
        out[i] = got
        left -= got
    return out


def thin(rng: np.random.Generator, counts: np.ndarray, fraction) -> np.ndarray:
    """Binomial thinning: each object kept with probability ``fraction``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> thin(rng, np.array([0, 10]), 1.0).tolist()
    [0, 10]
    """
    if isinstance(fraction, (float, int)):
        # A scalar share (most calls): np.clip on a scalar costs more than the draw.
        # The same p as np.clip, NaN included (both comparisons are false).
        p = 0.0 if fraction < 0.0 else 1.0 if fraction > 1.0 else float(fraction)
    else:
        p = np.clip(np.asarray(fraction, dtype=float), 0.0, 1.0)
    # A Python int count draws as the 0-d array did (the same binomial routine).
    n = counts if isinstance(counts, int) else np.asarray(counts, np.int64)
    if isinstance(n, int) and isinstance(p, float):
        return binomial(rng, n, p)
    if 0 < n.size <= SMALL_ARRAY:
        return _binomial_each(rng, n, p)
    return rng.binomial(n, p)


def thin_values(rng: np.random.Generator, counts: list[int], fractions: list[float]) -> list[int]:
    """:func:`thin` of a list of counts by a list of shares: the same draws in the same order.

    ``thin`` on arrays of up to :data:`SMALL_ARRAY` elements draws each nonzero
    count on its own (:func:`_binomial_each`); this does so on Python lists.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> thin_values(rng, [0, 10], [0.5, 1.0])
    [0, 10]
    """
    if len(counts) > SMALL_ARRAY:
        return thin(rng, np.array(counts, np.int64), np.array(fractions, float)).tolist()
    shares = [0.0 if q < 0.0 else 1.0 if q > 1.0 else q for q in fractions]
    if _c_binomial_each is not None:
        out = _c_binomial_each(rng, counts, shares)
        if out is not None:
            return out
    return [int(rng.binomial(c, q)) if c else 0 for c, q in zip(counts, shares)]


def thin_sparse(rng: np.random.Generator, counts: np.ndarray, fraction: float) -> np.ndarray:
    """:func:`thin` of an integer array by one share, drawing for its nonzero counts only.

    A binomial draw of a count of 0 takes nothing from the stream (in a scalar
    call and in an array call alike), so the draws for the nonzero counts in C
    order are the whole draw: the same numbers, without walking a mostly empty
    array (every memcg's cells, few of which hold anything).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> thin_sparse(rng, np.array([[0, 10], [0, 0]]), 1.0).tolist()
    [[0, 10], [0, 0]]
    """
    flat = np.ascontiguousarray(counts, np.int64).reshape(-1)
    where, drawn = thin_nonzero(rng, flat, fraction)
    out = np.zeros(flat.shape, np.int64)
    if drawn:
        out[where] = drawn
    return out.reshape(np.shape(counts))


def thin_nonzero(rng: np.random.Generator, flat: np.ndarray, fraction: float) -> tuple[np.ndarray, list[int]]:
    """:func:`thin_sparse` of a 1-d integer array as (indices of its nonzero counts, their draws).

    The same draws as :func:`thin_sparse`, for a caller that updates only
    those cells (a whole array of mostly zeros costs more to build and
    subtract than the draws).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> where, drawn = thin_nonzero(rng, np.array([0, 10, 0]), 1.0)
    >>> where.tolist(), drawn
    ([1], [10])
    """
    p = 0.0 if fraction < 0.0 else 1.0 if fraction > 1.0 else float(fraction)
    where = flat.nonzero()[0]           # np.flatnonzero without its Python wrappers
    if not len(where):
        return where, []
    return where, _binomial_list(rng, flat[where].tolist(), p)


#: Arrays up to this size are thinned one element at a time (:func:`_binomial_each`).
SMALL_ARRAY = 64


def _binomial_each(rng: np.random.Generator, n: np.ndarray, p) -> np.ndarray:
    """``rng.binomial(n, p)`` for an array ``n``, drawn one element at a time.

    Generator.binomial on an array checks its inputs with several numpy
    calls (about 10 us), then draws each element in C order with the same
    routine as a scalar call, and a count of 0 draws nothing. Scalar calls
    on the nonzero counts in the same order give the same numbers from the
    same stream, faster for the simulator's small arrays.
    """
    if isinstance(p, float):
        drawn = _binomial_list(rng, n.ravel().tolist(), p)
    else:
        n, p = np.broadcast_arrays(n, p)
        drawn = _binomial_list(rng, n.ravel().tolist(), p.ravel().tolist())
    return np.array(drawn, np.int64).reshape(n.shape)


def _binomial_list(rng: np.random.Generator, counts: list[int], p: float | list[float]) -> list[int]:
    """``[rng.binomial(c, q) if c else 0 ...]`` over ``counts`` with ``q = p`` or the matching ``p[i]``."""
    if _c_binomial_each is not None:
        out = _c_binomial_each(rng, counts, p)
        if out is not None:
            return out
    if isinstance(p, float):
        return [rng.binomial(c, p) if c else 0 for c in counts]
    return [rng.binomial(c, q) if c else 0 for c, q in zip(counts, p)]


def binomial(rng: np.random.Generator, n: int, p: float) -> int:
    """``int(rng.binomial(n, p))`` for scalars: the same number from the same stream.

    Examples
    --------
    >>> a, b = np.random.default_rng(5), np.random.default_rng(5)
    >>> binomial(a, 1000, 0.3) == b.binomial(1000, 0.3)
    True
    """
    if _c_binomial is not None:
        out = _c_binomial(rng, n, p)
        if out is not None:
            return out
    return int(rng.binomial(n, p))


def multinomial_values(rng: np.random.Generator, n: int, pvals: list[float]) -> list[int]:
    """``rng.multinomial(n, pvals).tolist()`` for a scalar ``n``: the same numbers from the same stream.

    numpy's random_multinomial() draws the classes one after the other with
    the scalar binomial routine: ``binomial(left, pvals[j] / remaining)``,
    ``remaining -= pvals[j]``, stopping when nothing is left, the last class
    taking the rest. Scalar ``Generator.binomial`` calls run that routine on
    the same shares, without multinomial's array set-up (several times its
    draws' cost for three classes). Shares that numpy would refuse, or that
    make a conditional share leave [0, 1], go to ``rng.multinomial`` itself.

    Examples
    --------
    >>> a, b = np.random.default_rng(5), np.random.default_rng(5)
    >>> multinomial_values(a, 1000, [0.2, 0.3, 0.5]) == b.multinomial(1000, [0.2, 0.3, 0.5]).tolist()
    True
    """
    if _c_multinomial is not None:
        out = _c_multinomial(rng, n, pvals)
        if out is not None:
            return out
    d = len(pvals)
    last = d - 1
    shares, remaining, ok = [], 1.0, type(n) is int and n >= 0 and d > 0
    for j, p in enumerate(pvals):
        if not 0.0 <= p <= 1.0:
            ok = False
            break
        if j < last:
            q = p / remaining if remaining else 2.0     # 2.0: not a share, numpy decides
            if not q <= 1.0:
                ok = False
                break
            shares.append(q)
            remaining -= p
    if not ok or sum(pvals[:-1]) > 1.0:
        return rng.multinomial(n, pvals).tolist()
    out = [0] * d
    if n == 0:
        return out                                      # a binomial of 0 draws nothing
    left = n
    binomial = rng.binomial
    for j, q in enumerate(shares):
        got = binomial(left, q)
        out[j] = got
        left -= got
        if left <= 0:
            break
    if left > 0:
        out[last] = left
    return out


def poisson(rng: np.random.Generator, mean) -> np.ndarray:
    """Event counts for an expected number ``mean`` (rates times a step)."""
    if isinstance(mean, (float, int)):
        # A scalar mean (most calls): Python's max gives np.maximum's value, NaN included.
        lam = max(float(mean), 0.0)
        if _c_poisson is not None:
            out = _c_poisson(rng, lam)
            if out is not None:
                return out
        return rng.poisson(lam)
    return rng.poisson(np.maximum(np.asarray(mean, dtype=float), 0.0))


def fileset_draws(rng: np.random.Generator, lists: np.ndarray, x_clean_set: np.ndarray, specs: tuple,
                  seconds: float) -> list[tuple[float, float, list[tuple]]] | None:
    """File sets' steps on every node drawn in one compiled call, or None (draw them in Python).

    :func:`reclaimlab.sim.fileplan.plan_fileset_numpy` makes a dozen scalar draws per
    file set and step through the functions above, each wrapped in Python
    arithmetic; the compiled module makes the same draws from the same stream
    in the same order (``specs`` one after the other), on the counts read from
    the state's arrays, and the same float arithmetic for the pages they need.
    None when the module lacks it or any argument is one the Python draws
    would not pass to it; then nothing was drawn.
    """
    if _c_fileset_draws is None:
        return None
    return _c_fileset_draws(rng, lists, x_clean_set, specs, seconds)
