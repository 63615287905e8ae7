"""Pairing of mm_shrink_slab_start with mm_shrink_slab_end in C (reclaimlab/native/pairing.c).

do_shrink_slab() (mm/vmscan.c) logs its start and its end from one task, the
end printing the start's nr as "unused scan count". Within one (task,
shrinker) group the events in time order are bracket matching: an end closes
the most recent open start with the same nr, and the starts opened after that
one lost their end. The C pass must give exactly what this rule gives, written
here the plain way, whatever the order the positions come in; and the
time-order check (``descents``) must count what numpy counts.
"""
from __future__ import annotations

import numpy as np
import pytest

from reclaimlab._native import descents
from reclaimlab.trace.pairing import pair_calls, pair_starts_with_ends


def reference(start_pos, start_pid, start_key, start_nr, end_pos, end_pid, end_key, end_unused):
    """Bracket matching per (key, pid), events in position order, one stack per group."""
    ns = len(start_pos)
    events = sorted([(int(p), k) for k, p in enumerate(start_pos)] + [(int(p), ns + k) for k, p in enumerate(end_pos)])
    end_of = [-1] * ns
    stacks: dict[tuple[int, int], list[int]] = {}
    for _, ev in events:
        if ev < ns:
            stacks.setdefault((int(start_key[ev]), int(start_pid[ev])), []).append(ev)
            continue
        e = ev - ns
        stack = stacks.get((int(end_key[e]), int(end_pid[e])), [])
        for depth in range(len(stack) - 1, -1, -1):
            if start_nr[stack[depth]] == end_unused[e]:
                end_of[stack[depth]] = e
                del stack[depth:]
                break
    return end_of


def random_case(rng, n, m, in_order):
    pos = rng.permutation(n + m) * int(rng.integers(1, 4))
    sp, ep = pos[:n], pos[n:]
    if in_order:
        sp, ep = np.sort(sp), np.sort(ep)
    small = lambda k: rng.integers(0, 3, k)  # few groups and values: nesting, lost and orphan events
    return sp, small(n), small(n), small(n), ep, small(m), small(m), small(m)


@pytest.mark.parametrize("in_order", [True, False])
def test_c_pairing_is_bracket_matching_per_task_and_shrinker(in_order):
    rng = np.random.default_rng(19)
    for _ in range(1500):
        case = random_case(rng, int(rng.integers(0, 30)), int(rng.integers(0, 30)), in_order)
        assert pair_starts_with_ends(*case).tolist() == reference(*case)


def test_pair_calls_groups_by_symbol_pointer_and_pid():
    rng = np.random.default_rng(5)
    for _ in range(500):
        sp, spid, skey, snr, ep, epid, ekey, eun = random_case(rng, 25, 25, True)
        # Instance = (symbol id, pointer id); the same pointer under two symbols is two instances.
        ssym, sptr, esym, eptr = skey // 2, skey % 2, ekey // 2, ekey % 2
        got = pair_calls(sp, spid, ssym, sptr, snr, ep, epid, esym, eptr, eun)
        assert got.tolist() == reference(sp, spid, ssym * 2 + sptr, snr, ep, epid, esym * 2 + eptr, eun)


def test_a_nested_call_and_a_lost_end():
    # Task 7, one shrinker: start nr 5, start nr 9 (its end lost), end unused 5.
    a = np.array
    assert pair_starts_with_ends(a([1, 2]), a([7, 7]), a([0, 0]), a([5, 9]),
                                 a([3]), a([7]), a([0]), a([5])).tolist() == [0, -1]
    # Another task's end does not close it.
    assert pair_starts_with_ends(a([1]), a([7]), a([0]), a([5]), a([2]), a([8]), a([0]), a([5])).tolist() == [-1]


def test_descents_counts_what_numpy_counts():
    rng = np.random.default_rng(3)
    for _ in range(300):
        lines = np.sort(rng.choice(1000, size=int(rng.integers(0, 60)), replace=False))
        parts = np.array_split(rng.permutation(lines), 3)
        runs = [np.sort(p).astype(np.int64) for p in parts]
        times = [rng.integers(0, 20, len(r)).astype(np.float64) for r in runs]
        line = np.concatenate(runs)
        t = np.concatenate(times)[np.argsort(line, kind="stable")]
        assert descents(runs, times) == int(np.count_nonzero(t[1:] < t[:-1]))
    # A run not in line order: -1 (the caller sorts instead).
    assert descents([np.array([2, 1])], [np.zeros(2)]) == -1
