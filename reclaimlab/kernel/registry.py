"""The registry of scan-count formulas: built-ins, aliases and users' patches.

A registry is an explicit object; :mod:`reclaimlab.formulas` holds the one the
public API uses, so that a formula registered in a notebook is usable
everywhere a built-in name is.
"""
from __future__ import annotations

import inspect
import re
from typing import Callable

from .spec import ALIASES, BUILTIN, DEFER_5_13, DELTA_CUSTOM, ZERO_SEEK_NONE, FormulaSpec

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


class Registry:
    """Named formulas and aliases.

    Examples
    --------
    >>> reg = Registry()
    >>> reg.resolve("v4.18").name
    'v4.16'
    """

    def __init__(self) -> None:
        self._specs: dict[str, FormulaSpec] = {s.name: s for s in BUILTIN}
        self._aliases: dict[str, str] = dict(ALIASES)
        self._builtin = frozenset(self._specs)

    def names(self) -> tuple[str, ...]:
        """Canonical names, built-ins first, then registered ones in order."""
        return tuple(self._specs)

    def aliases(self) -> dict[str, str]:
        """Alias → canonical name."""
        return dict(self._aliases)

    def resolve(self, name: str) -> FormulaSpec:
        """Return the spec for a canonical name or alias.

        Raises
        ------
        TypeError
            If ``name`` is not a string.
        ValueError
            If the name is unknown; the message lists the known names.
        """
        if not isinstance(name, str):
            raise TypeError(f"formula={name!r} must be a formula name (str); known: {self._known()}")
        spec = self._specs.get(self._aliases.get(name, name))
        if spec is None:
            raise ValueError(f"formula={name!r} is unknown; known formulas: {self._known()}")
        return spec

    def _known(self) -> str:
        alias_txt = ", ".join(f"{a}->{c}" for a, c in self._aliases.items())
        return f"{', '.join(self._specs)} (aliases: {alias_txt})"

    def register(
        self,
        name: str,
        delta_fn: Callable,
        *,
        base: str = "v5.0",
        description: str | None = None,
    ) -> FormulaSpec:
        """Add a user's delta rule on top of a built-in's deferral, caps and scan loop."""
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise ValueError(
                f"name={name!r} is not a valid formula name; allowed: letters, digits "
                f"and . _ + - (starting with a letter or digit)"
            )
        if name in self._builtin or name in self._aliases:
            raise ValueError(
                f"name={name!r} is a built-in formula or alias and cannot be replaced; "
                f"choose another name (built-ins: {', '.join(sorted(self._builtin))})"
            )
        if not callable(delta_fn):
            raise TypeError(f"delta_fn={delta_fn!r} must be callable: delta_fn(freeable, priority, seeks, batch[, state])")
        base_spec = self.resolve(base)
        if base_spec.delta_rule == DELTA_CUSTOM:
            base_spec = self.resolve(base_spec.base)
        era = "5.13+" if base_spec.deferral == DEFER_5_13 else "pre-5.13 (4.16 to 5.12)"
        spec = FormulaSpec(
            name=name,
            delta_rule=DELTA_CUSTOM,
            zero_seek=ZERO_SEEK_NONE,
            deferral=base_spec.deferral,
            kernels=f"user patch on {base_spec.name}",
            commits="registered with reclaimlab.formulas.register",
            description=description or (
                f"A user-defined delta rule ({getattr(delta_fn, '__name__', 'delta_fn')}) "
                f"replacing the whole delta step, with the {era} deferral, caps and "
                f"scan loop of {base_spec.name}."
            ),
            delta_fn=delta_fn,
            base=base_spec.name,
        )
        self._specs[name] = spec
        return spec

    def unregister(self, name: str) -> None:
        """Remove a registered (non built-in) formula."""
        if name in self._builtin or name in self._aliases:
            raise ValueError(f"name={name!r} is built in and cannot be unregistered")
        if name not in self._specs:
            raise ValueError(f"name={name!r} is not registered; registered: {self._registered() or 'none'}")
        del self._specs[name]

    def _registered(self) -> str:
        return ", ".join(n for n in self._specs if n not in self._builtin)


def delta_fn_takes_state(delta_fn: Callable) -> bool:
    """True when ``delta_fn`` accepts a fifth (state) argument."""
    try:
        params = inspect.signature(delta_fn).parameters.values()
    except (TypeError, ValueError):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 5 or any(p.kind == p.VAR_POSITIONAL for p in params)

