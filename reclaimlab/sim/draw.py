"""Seeded mean-field draws: which objects a scan of k takes from a list.

A list holds objects of several classes (referenced or not, of one file set
or another). The kernel walks it from the tail; the model takes the k objects
as a uniform sample without replacement (multivariate hypergeometric), the
mean-field picture of an LRU whose classes are mixed along it.
"""
from __future__ import annotations

import numpy as np


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
    return np.array(out, np.int64).reshape(counts.shape)


def thin(rng: np.random.Generator, counts: np.ndarray, fraction) -> np.ndarray:
    """Binomial thinning: each object kept with probability ``fraction``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> thin(rng, np.array([0, 10]), 1.0).tolist()
    [0, 10]
    """
    p = np.clip(np.asarray(fraction, dtype=float), 0.0, 1.0)
    return rng.binomial(np.asarray(counts, np.int64), p)


def poisson(rng: np.random.Generator, mean) -> np.ndarray:
    """Event counts for an expected number ``mean`` (rates times a step)."""
    return rng.poisson(np.maximum(np.asarray(mean, dtype=float), 0.0))
