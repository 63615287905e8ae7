"""A list_lru kept in order, as segments of one owner's objects (docs/kernel.md §5.1).

The services' parent cgroup holds the objects its dead children left behind,
and the order of that list decides which dying memcg is released first:
memcg_drain_all_list_lrus() splices a dying memcg's list onto the *front* of
its parent's (list_splice_init), list_lru_walk_one() walks from the front,
referenced objects are rotated to the tail (list_move_tail) with the bit
cleared, and unreferenced ones are freed. Each segment is
``[owner, referenced, unreferenced]``; owner -1 means objects that pin nobody.
"""
from __future__ import annotations

from collections import deque

import numpy as np

from .draw import take

NOBODY = -1


class SegmentList:
    """One (node, cache) list of the parent cgroup, in walk order."""

    def __init__(self) -> None:
        self.segments: deque[list[int]] = deque()

    def splice_front(self, owner: int, ref: int, unref: int) -> None:
        """memcg_drain_list_lru_node(): a child's whole list goes to the front."""
        if ref + unref:
            self.segments.appendleft([owner, int(ref), int(unref)])

    def totals(self) -> tuple[int, int]:
        """(referenced, unreferenced) objects on the list."""
        ref = sum(s[1] for s in self.segments)
        return ref, sum(s[2] for s in self.segments)

    def owned(self, owner: int) -> tuple[int, int]:
        """(referenced, unreferenced) objects of ``owner``."""
        mine = [s for s in self.segments if s[0] == owner]
        return sum(s[1] for s in mine), sum(s[2] for s in mine)

    def walk(self, rng: np.random.Generator, k: int) -> dict[int, int]:
        """Walk ``k`` objects from the front; returns objects freed per owner."""
        freed: dict[int, int] = {}
        rotated: list[list[int]] = []
        while k > 0 and (self.segments or rotated):
            if not self.segments:            # the walk comes back round to rotated objects
                self.segments.extend(rotated)
                rotated = []
            owner, ref, unref = self.segments[0]
            n = ref + unref
            step = min(k, n)
            got = take(rng, np.array([ref, unref]), step)
            k -= step
            freed[owner] = freed.get(owner, 0) + int(got[1])
            if got[0]:
                rotated.append([owner, 0, int(got[0])])
            left = [owner, ref - int(got[0]), unref - int(got[1])]
            if left[1] + left[2]:
                self.segments[0] = left
            else:
                self.segments.popleft()
        self.segments.extend(rotated)
        return freed

    def remove(self, owner: int, count: int, referenced_first: bool = False) -> None:
        """Take ``count`` of ``owner``'s objects off the list (freed elsewhere)."""
        for seg in list(self.segments):
            if count == 0:
                break
            if seg[0] != owner:
                continue
            order = (1, 2) if referenced_first else (2, 1)
            for i in order:
                got = min(seg[i], count)
                seg[i] -= got
                count -= got
        self.segments = deque(s for s in self.segments if s[1] + s[2])
