"""What a do_shrink_slab() call puts back into ``nr_deferred``, given what it really scanned.

:func:`reclaimlab.formulas.scan` assumes every batch is fully scanned. A real
call may scan less (``super_cache_scan`` without ``__GFP_FS`` returns
SHRINK_STOP and scans nothing), and the end tracepoint shows how much was left
(``total_scan``), so checking the end event needs the deferral rule applied to
the observed ``scanned`` (docs/kernel.md §1.2, §1.8):

* before 5.13: ``max(nr + delta - scanned, 0)`` (deferral taken before the caps);
* 5.13 and later: ``min(max(nr + delta - scanned, 0), 2F)``.

The end event prints the slot value after adding this (``new scan count``),
which is larger when another task added to the same slot meanwhile.
"""
from __future__ import annotations

import numpy as np

from ..kernel import formulas
from ..kernel.spec import DEFER_5_13


def caps_at_2f(formula: str) -> bool:
    """True when ``formula`` defers with the 5.13 rule (capped at 2F).

    Examples
    --------
    >>> caps_at_2f("v6.1"), caps_at_2f("v4.19")
    (True, False)
    """
    return formulas.spec(formula).deferral == DEFER_5_13


def deferred_after(formula: str, nr, delta, scanned, freeable) -> np.ndarray:
    """``next_deferred`` of calls that scanned ``scanned`` objects, as int64.

    Parameters
    ----------
    formula : str
        Formula name or alias (decides the rule).
    nr, delta, scanned, freeable : array_like of int
        Deferred work taken, the call's delta, objects scanned, ``F``.

    Examples
    --------
    >>> int(deferred_after("v6.1", 10, 5, 0, 6))
    12
    >>> int(deferred_after("v5.0", 10, 5, 0, 6))
    15
    """
    nr = np.asarray(nr, np.int64)
    total = nr + np.asarray(delta).astype(np.int64)
    nxt = np.maximum(total - np.asarray(scanned, np.int64), 0)
    if caps_at_2f(formula):
        nxt = np.minimum(nxt, 2 * np.asarray(freeable, np.int64))
    return nxt
