"""A small mapping that keeps the most recently used entries (the explorers' memory of past settings)."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any


class Recent:
    """Up to ``keep`` entries; reading or writing one makes it the newest, the oldest go first.

    Examples
    --------
    >>> r = Recent(2)
    >>> r.put("a", 1); r.put("b", 2); r.get("a")
    1
    >>> r.put("c", 3)                  # "b" was used least recently
    >>> r.get("b") is None, len(r)
    (True, 2)
    """

    def __init__(self, keep: int) -> None:
        if int(keep) < 1:
            raise ValueError(f"keep={keep!r} is not allowed; it must be >= 1 entry")
        self.keep = int(keep)
        self._d: OrderedDict = OrderedDict()

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The value kept for ``key`` (now the newest), or ``default``."""
        if key not in self._d:
            return default
        self._d.move_to_end(key)
        return self._d[key]

    def put(self, key: Hashable, value: Any) -> None:
        """Keep ``value`` for ``key`` as the newest entry; drop the oldest beyond ``keep``."""
        self._d[key] = value
        self._d.move_to_end(key)
        while len(self._d) > self.keep:
            self._d.popitem(last=False)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._d

    def __len__(self) -> int:
        return len(self._d)
