"""do_shrink_slab() scan-count formulas, exact to the kernel's integer semantics: the registry.

This is the public face of :mod:`reclaimlab.kernel`. Each formula reproduces
one kernel version (or a patch proposed on LKML) as the kernel computes it:
64-bit integers, shift before multiply, truncating division, the deferral and
caps of its era and the batch scan loop (docs/kernel.md §1).

==============  =====================  ==========================================
name            kernels                essence
==============  =====================  ==========================================
``v4.15``       up to 4.15             target proportional to LRU scanning
``v4.16``       4.16 to 4.18           ``(F >> p) * 4 / S``, F/2 windup cap, 2F cap
``v4.19``       4.19.x                 v4.16 + floor ``max(delta, min(F, B))``
``v4.20``       4.20, 5.0-rc           zero-seek branch ``F / 2``, then the floor
``v5.0``        5.0 to 5.12            zero-seek, no floor (the reverts)
``v5.13``       5.13 to 6.12+          deferred work scaled by priority, 2F caps
``rik-2019``    proposed               ``small_scan`` accumulator (final -mm)
``dave-2019``   proposed               ``(ilog2(F) + (F >> p)) * 4 / S``
==============  =====================  ==========================================

Aliases such as ``v4.18``, ``v6.1`` and ``v6.12`` name the same arithmetic.

Two more describe the patched 6.1 kernels of ``scripts/kernel-ab`` (issue 21):
``v5.13+floor`` (v5.13 with the 172b06c32b94 floor re-applied,
``patches/floor.patch``) and ``rik-6.1`` (Rik van Riel's ``small_scan``
accumulator on the 5.13+ deferral, ``patches/rik.patch``).

Wrap-around is reproduced on purpose: the kernel is built with
``-fno-strict-overflow``, so a ``long`` that overflows wraps in two's
complement and ``delta`` wraps modulo 2**64. With inputs near 2**62 this is
what the kernel would compute (for example ``freeable * 2`` turns negative and
nothing is scanned); inputs beyond a 64-bit ``long`` raise ``ValueError``.
"""
from __future__ import annotations

from typing import Callable


from .evaluate import ScanResult, evaluate
from .registry import Registry
from .spec import FormulaSpec

__all__ = ["ScanResult", "names", "aliases", "describe", "scan", "register", "unregister", "spec"]

#: The registry behind the public API. Registering a formula adds it here, so
#: it is usable everywhere a built-in name is (sweep, simulate, plots, widgets).
REGISTRY = Registry()


def names() -> tuple[str, ...]:
    """Canonical formula names: the built-ins, then registered ones.

    Examples
    --------
    >>> import reclaimlab as rl
    >>> rl.formulas.names()[:3]
    ('v4.15', 'v4.16', 'v4.19')
    """
    return REGISTRY.names()


def aliases() -> dict[str, str]:
    """Alias → canonical name (``v4.18`` → ``v4.16``, ``v6.1`` → ``v5.13``, ...).

    Examples
    --------
    >>> import reclaimlab as rl
    >>> rl.formulas.aliases()["v6.1"]
    'v5.13'
    """
    return REGISTRY.aliases()


def spec(name: str) -> FormulaSpec:
    """The :class:`~reclaimlab.kernel.spec.FormulaSpec` behind a name or alias.

    Examples
    --------
    >>> import reclaimlab as rl
    >>> rl.formulas.spec("v4.18").name
    'v4.16'
    """
    return REGISTRY.resolve(name)


def describe(name: str) -> str:
    """Which kernels run a formula, which commits define it, and why it matters.

    Parameters
    ----------
    name : str
        A canonical name or alias.

    Returns
    -------
    str
        A few lines: the name, kernels, commits, then a paragraph.

    Examples
    --------
    >>> import reclaimlab as rl
    >>> print(rl.formulas.describe("v4.19").splitlines()[0])
    v4.19: 4.19 and 4.19.y (and 4.18.15+ until its revert)
    """
    s = REGISTRY.resolve(name)
    head = f"{s.name}: {s.kernels}"
    if name != s.name:
        head += f" (alias {name})"
    return f"{head}\nCommits: {s.commits}\n\n{s.description}"


def scan(
    name: str,
    freeable,
    priority,
    *,
    seeks=2,
    batch=128,
    nr_deferred=0,
    small_scan=0,
    lru_scanned=0,
    lru_eligible=0,
    shrink_stop=False,
) -> ScanResult:
    """One do_shrink_slab() call under formula ``name``, vectorised.

    All inputs are integers or integer arrays and broadcast together.

    Parameters
    ----------
    name : str
        Formula name or alias (see :func:`names`, :func:`aliases`).
    freeable : int or array of int
        ``F``, what ``count_objects()`` returned. 0 is valid: the kernel returns
        at once, scans nothing and leaves ``nr_deferred`` untouched.
    priority : int or array of int
        Reclaim priority, 0 to 12 (DEF_PRIORITY). Unused by ``v4.15``.
    seeks : int or array of int
        ``shrinker->seeks`` (DEFAULT_SEEKS = 2). 0 takes the zero-seek branch
        where the formula has one and is an error where it has none.
    batch : int or array of int
        ``shrinker->batch``; 0 means SHRINK_BATCH (128).
    nr_deferred : int or array of int
        The deferred count taken from the shrinker's slot when the call starts.
    small_scan : int or array of int
        Rik van Riel's per-shrinker accumulator (a C ``int``); other formulas
        pass it through unchanged.
    lru_scanned, lru_eligible : int or array of int
        For ``v4.15`` only: LRU pages just scanned and eligible LRU pages.
        ``lru_scanned`` may exceed ``lru_eligible``, as in the kernel.
    shrink_stop : bool or array of bool
        The shrinker's scan_objects() returns SHRINK_STOP at once, as a
        filesystem shrinker does when called without ``__GFP_FS``: nothing is
        scanned and the whole target goes to ``next_deferred`` (the windup).

    Returns
    -------
    ScanResult
        ``.delta``, ``.total_scan`` (after the caps), ``.scanned`` (the loop),
        ``.next_deferred`` (the slot after the call), ``.small_scan``.

    Raises
    ------
    ValueError
        An input is out of range or the name is unknown; the message names
        the parameter, the value and what is allowed.
    TypeError
        An input is not an integer (floats are refused).

    Examples
    --------
    >>> import reclaimlab as rl
    >>> r = rl.formulas.scan("v4.19", freeable=312, priority=12, batch=1024)
    >>> int(r.delta), int(r.scanned)
    (312, 312)
    >>> int(rl.formulas.scan("v5.0", 312, 12, batch=1024).scanned)
    0
    """
    values = dict(freeable=freeable, priority=priority, seeks=seeks, batch=batch,
                  nr_deferred=nr_deferred, small_scan=small_scan,
                  lru_scanned=lru_scanned, lru_eligible=lru_eligible, shrink_stop=shrink_stop)
    result, _ = evaluate(REGISTRY.resolve(name), values, calls=1)
    return result


def register(name: str, delta_fn: Callable, *, base: str = "v5.0", description: str | None = None) -> str:
    """Register a user's own delta rule as a formula.

    ``delta_fn`` replaces the whole delta step (zero-seek branch, floor,
    accumulator); ``base`` supplies the deferral, caps and scan loop.

    Parameters
    ----------
    name : str
        New formula name (letters, digits, ``. _ + -``). Registering the same
        name again replaces the earlier rule; built-in names are refused.
    delta_fn : callable
        ``delta_fn(freeable, priority, seeks, batch)`` or
        ``delta_fn(freeable, priority, seeks, batch, state)``: vectorised numpy
        code on int64 arrays (``batch`` already has 0 replaced by 128) that
        returns the non-negative integer delta, or ``(delta, new_state)``. The
        state is carried from call to call in the ``small_scan`` slot.
    base : str
        A formula whose deferral rule is used: any pre-5.13 name (e.g. ``v5.0``)
        or ``v5.13``.
    description : str, optional
        Shown by :func:`describe`.

    Returns
    -------
    str
        The registered name.

    Examples
    --------
    A min-scan floor of 32 objects on top of 5.0:

    >>> import numpy as np, reclaimlab as rl
    >>> def floor32(F, p, S, B):
    ...     d = np.where(S == 0, F // 2, (F >> p) * 4 // np.maximum(S, 1))
    ...     return np.maximum(d, np.minimum(F, 32))
    >>> rl.formulas.register("floor-32", floor32, base="v5.0")
    'floor-32'
    >>> int(rl.formulas.scan("floor-32", 1000, 12).delta)
    32
    >>> rl.formulas.unregister("floor-32")
    """
    return REGISTRY.register(name, delta_fn, base=base, description=description).name


def unregister(name: str) -> None:
    """Remove a formula added with :func:`register`.

    Examples
    --------
    >>> import reclaimlab as rl
    >>> rl.formulas.register("tmp", lambda F, p, S, B: F >> p)
    'tmp'
    >>> rl.formulas.unregister("tmp")
    """
    REGISTRY.unregister(name)
