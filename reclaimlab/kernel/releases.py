"""Kernel releases and the reclaim rules each one runs: the project's one table of versions.

A release is more than its scan-count formula. Three other rules decide what
the simulator does, and each changed at its own release (docs/kernel.md §3,
§2.6, §5):

* ``inode_rule``: which inodes the inode shrinker may free. ``v4.18``: any
  unused inode, its page cache dropped with it; ``a76cf1a474d7`` (4.19.3 to
  4.20): not one with more than one page-cache page; ``v5.16``: one with
  pages is kept off the LRU while it has them (5.16+).
* ``xfs_reclaim``: ``sync`` (XFS's superblock shrinker writes dirty inodes
  and waits, up to 5.8) or ``async`` (background reclaim only, 5.9+).
* ``memcg_remedy``: what happens to the slab objects of a deleted cgroup.
  ``none`` (they pin it until reclaimed), ``reparent`` (moved to the parent's
  lists) or ``collector`` (Dave Chinner's 2019 proposal: a background
  collector drains dying cgroups).

:class:`Rules` holds the four together and is passed as one object. The
table :data:`RELEASES` names the releases; :func:`rules` fills in what a
caller leaves out from the formula's era. This module is the single source of
the version facts that the formula aliases (``v6.1`` → ``v5.13``), trace
kernel detection and the simulator's ``kernel=`` presets are derived from.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

INODE_RULES = ("v4.18", "a76cf1a474d7", "v5.16")
XFS_RECLAIM_MODES = ("sync", "async")
MEMCG_REMEDIES = ("none", "reparent", "collector")


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name}={value!r} is unknown; allowed: {', '.join(allowed)}")
    return value


@dataclass(frozen=True)
class Rules:
    """The reclaim rules of one run: formula, inode rule, XFS reclaim mode, memcg remedy.

    Parameters
    ----------
    formula : str
        A scan-count formula name or alias (:func:`reclaimlab.formulas.names`).
    inode_rule : str
        One of :data:`INODE_RULES`.
    xfs_reclaim : str
        One of :data:`XFS_RECLAIM_MODES`.
    memcg_remedy : str
        One of :data:`MEMCG_REMEDIES`.

    Examples
    --------
    >>> from reclaimlab.kernel.releases import RELEASES
    >>> RELEASES["4.19.3"]
    Rules(formula='v4.19', inode_rule='a76cf1a474d7', xfs_reclaim='sync', memcg_remedy='none')
    """

    formula: str
    inode_rule: str = "v4.18"
    xfs_reclaim: str = "sync"
    memcg_remedy: str = "none"

    def __post_init__(self) -> None:
        if not isinstance(self.formula, str) or not self.formula:
            raise ValueError(f"formula={self.formula!r} must be a formula name")
        _choice("inode_rule", self.inode_rule, INODE_RULES)
        _choice("xfs_reclaim", self.xfs_reclaim, XFS_RECLAIM_MODES)
        _choice("memcg_remedy", self.memcg_remedy, MEMCG_REMEDIES)

    def as_attrs(self) -> dict[str, str]:
        """The four rules as Dataset attrs."""
        return {"formula": self.formula, "inode_rule": self.inode_rule,
                "xfs_reclaim": self.xfs_reclaim, "memcg_remedy": self.memcg_remedy}


_PRE_5_13 = ("v4.18", "sync", "none")
#: Releases by name, oldest first: the rules each one runs.
RELEASES: dict[str, Rules] = {
    "4.15": Rules("v4.15", *_PRE_5_13),
    "4.16": Rules("v4.16", *_PRE_5_13),
    "4.17": Rules("v4.16", *_PRE_5_13),
    "4.18": Rules("v4.16", *_PRE_5_13),
    "4.19": Rules("v4.19", *_PRE_5_13),
    "4.19.3": Rules("v4.19", "a76cf1a474d7", "sync", "none"),
    "4.20": Rules("v4.20", "a76cf1a474d7", "sync", "none"),
    "5.0": Rules("v5.0", *_PRE_5_13),
    "5.1": Rules("v5.0", *_PRE_5_13),
    "5.4": Rules("v5.0", "v4.18", "sync", "reparent"),
    "5.10": Rules("v5.0", "v4.18", "async", "reparent"),
    "5.13": Rules("v5.13", "v4.18", "async", "reparent"),
    "5.15": Rules("v5.13", "v4.18", "async", "reparent"),
    "6.1": Rules("v5.13", "v5.16", "async", "reparent"),
    "6.6": Rules("v5.13", "v5.16", "async", "reparent"),
    "6.12": Rules("v5.13", "v5.16", "async", "reparent"),
}

#: Rules of a formula's era, by its deferral: pre-5.13 formulas and proposals, then 5.13+.
ERA_RULES = {False: Rules("v5.0", *_PRE_5_13), True: RELEASES["6.1"]}


def version_tuple(text: str) -> tuple[int, ...]:
    """``"v4.19.13"`` -> ``(4, 19, 13)``.

    Raises
    ------
    ValueError
        When ``text`` does not start with a dotted version number.

    Examples
    --------
    >>> version_tuple("v5.13")
    (5, 13)
    """
    m = re.match(r"^v?(\d+(?:\.\d+)*)", str(text))
    if not m:
        raise ValueError(f"kernel={text!r} is not a kernel version; expected e.g. '4.19' or 'v6.1'")
    return tuple(int(x) for x in m.group(1).split("."))


def formula_aliases(formula_names) -> dict[str, str]:
    """``v<release>`` → the release's formula, for releases not named after a formula.

    Examples
    --------
    >>> formula_aliases(["v4.16", "v5.0", "v5.13"])["v6.1"]
    'v5.13'
    """
    names = set(formula_names)
    return {f"v{name}": r.formula for name, r in RELEASES.items()
            if f"v{name}" not in names and r.formula in names}


def detectable_formulas() -> tuple[str, ...]:
    """The released formulas, newest first: the candidates for telling a trace's kernel.

    Examples
    --------
    >>> detectable_formulas()
    ('v5.13', 'v5.0', 'v4.20', 'v4.19', 'v4.16', 'v4.15')
    """
    seen: list[str] = []
    for name in sorted(RELEASES, key=version_tuple, reverse=True):
        if RELEASES[name].formula not in seen:
            seen.append(RELEASES[name].formula)
    return tuple(seen)


def release(kernel: str) -> Rules:
    """The rules of a named release (``"4.19.3"``; a leading ``v`` is allowed).

    Raises
    ------
    ValueError
        For a release not in :data:`RELEASES`, listing the known ones.
    """
    key = str(kernel)[1:] if str(kernel).startswith("v") else str(kernel)
    if key not in RELEASES:
        raise ValueError(f"kernel={kernel!r} is unknown; known kernels: {', '.join(RELEASES)}")
    return RELEASES[key]


def rules(formula: str | None = None, kernel: str | None = None, *, inode_rule: str | None = None,
          xfs_reclaim: str | None = None, memcg_remedy: str | None = None) -> Rules:
    """The rules of a run: a release's, a formula's era, and explicit choices on top.

    Parameters
    ----------
    formula : str, optional
        Scan-count formula. With ``kernel`` it must be the release's formula
        (or an alias of it): a formula and a kernel that disagree are an error.
    kernel : str, optional
        A release of :data:`RELEASES`.
    inode_rule, xfs_reclaim, memcg_remedy : str, optional
        Explicit rules; they win over the release's and the era's.

    Returns
    -------
    Rules
        Without ``kernel``, the rules not given follow the formula's era
        (:data:`ERA_RULES`); the formula defaults to ``v5.0``.

    Examples
    --------
    >>> rules(kernel="4.19.3").inode_rule
    'a76cf1a474d7'
    >>> rules("v6.1").xfs_reclaim
    'async'
    """
    from .formulas import spec      # the registry sits above this table in the kernel layer
    from .spec import DEFER_5_13

    if kernel is not None:
        base = release(kernel)
        if formula is not None and spec(formula).name != spec(base.formula).name:
            raise ValueError(
                f"formula={formula!r} disagrees with kernel={kernel!r}, which runs "
                f"{base.formula!r}; allowed: give one of them, or the kernel's formula")
        formula = base.formula
    else:
        formula = formula or "v5.0"
        base = ERA_RULES[spec(formula).deferral == DEFER_5_13]
    return Rules(formula, inode_rule or base.inode_rule, xfs_reclaim or base.xfs_reclaim,
                 memcg_remedy or base.memcg_remedy)
