"""Each scenario's fast preset keeps its full run's conclusion: the same order on the key measure.

Widgets, the figure catalogue, scorecards and notebook 06 show the fast presets,
so a preset that changes the order would show users the wrong answer. Each test
runs the full size too (a few seconds to half a minute each).
"""
from __future__ import annotations

import numpy as np
import pytest

from conftest import simulated

pytestmark = pytest.mark.slow


def small_large_ratio(ds) -> float:
    """Pressure (objects scanned per object held) on the 10-object cache over the 10M-object one."""
    held = ds.slab.mean("time").sum("node")
    p = ds.scanned.sum(("time", "node")) / np.maximum(held, 1)
    return float(p.sel(cache="cache-1e1")) / max(float(p.sel(cache="cache-1e7")), 1e-12)


def order(values: dict) -> list:
    """Keys from largest to smallest value, ties (within 0.1%) grouped."""
    keys = sorted(values, key=lambda k: -values[k])
    groups: list[list] = []
    for k in keys:
        if groups and abs(values[groups[-1][0]] - values[k]) <= 1e-3 * max(abs(values[k]), 1e-12):
            groups[-1].append(k)
        else:
            groups.append([k])
    return [sorted(g) for g in groups]


@pytest.mark.parametrize("reduced", [True, False], ids=["fast", "full"])
def test_small_vs_large_order_of_formulas(reduced):
    r = {f: small_large_ratio(simulated("small-vs-large", formula=f, reduced=reduced))
         for f in ("v4.18", "v4.19", "v5.0", "rik-2019")}
    assert order(r) == [["v4.19"], ["rik-2019"], ["v4.18", "v5.0"]], r
    # Seed 0: v4.19 ~1,900x (the 10-object cache scanned ~14 times its size over the run,
    # the 10 M one 0.7%), rik-2019 ~2x (the small cache scanned twice), v4.18 = v5.0 0.
    assert r["v4.19"] > 100 * r["rik-2019"] > 0


@pytest.mark.parametrize("reduced", [True, False], ids=["fast", "full"])
def test_dying_memcgs_floor_and_remedies_below_v5_0(reduced):
    end = {name: int(simulated("dying-memcgs", reduced=reduced, **kw).dying_memcgs.isel(time=-1))
           for name, kw in {"v4.19": dict(formula="v4.19", memcg_remedy="none"),
                            "v5.0": dict(formula="v5.0", memcg_remedy="none"),
                            "collector": dict(formula="v5.0", memcg_remedy="collector"),
                            "reparent": dict(formula="v5.0", memcg_remedy="reparent")}.items()}
    assert all(end[k] < end["v5.0"] for k in ("v4.19", "collector", "reparent")), end


@pytest.mark.parametrize("reduced", [True, False], ids=["fast", "full"])
def test_compile_and_copy_4193_slowest(reduced):
    runs = {k: simulated("compile-and-copy", kernel=k, reduced=reduced) for k in ("4.18", "4.19.3", "5.0")}
    t = {k: ds.workload_time.item() for k, ds in runs.items()}
    stall = {k: float(ds.stall.sum()) for k, ds in runs.items()}
    assert t["4.19.3"] > 1.2 * max(t["4.18"], t["5.0"]), t
    # Seed 0: 4.19.3 stalls 13.5x as long as 4.18 in the full run (166 s against 12 s) and
    # 6.6x in the fast preset (58 s against 8.8 s), whose single 8 GiB node makes 4.18
    # wait in sync XFS reclaim too.
    factor = 2 if reduced else 5
    assert stall["4.19.3"] > factor * max(stall["4.18"], stall["5.0"]), stall


@pytest.mark.parametrize("reduced", [True, False], ids=["fast", "full"])
def test_desktop_copy_stall_under_4193_only(reduced):
    stall = {k: float(simulated("desktop-copy", kernel=k, reduced=reduced).stall.sum())
             for k in ("4.18", "4.19.3", "5.0")}
    # 4.18 and 5.0 reclaim a little (their LRU-only passes cost 0.4-5 ms over the run);
    # 4.19.3's passes reach sync XFS inode reclaim: 9-195 ms (fast) and 29-214 ms (full),
    # 20-200x and 8-66x 4.18's over seeds 0-2 (22x fast, 10x full in seed 0, tested here).
    assert stall["4.19.3"] > 5 * stall["4.18"] and stall["4.18"] == stall["5.0"], stall


@pytest.mark.parametrize("reduced", [True, False], ids=["fast", "full"])
def test_recursive_grep_refaults_by_inode_rule(reduced):
    refaults = {r: int(simulated("recursive-grep", formula="v4.19", inode_rule=r, reduced=reduced).page_refaults.sum())
                for r in ("v4.18", "a76cf1a474d7", "v5.16")}
    # v4.18 strips the page cache of unused inodes: the most page refaults, by 1.75x and
    # 1.92x in the full run (seed 0: 7,136 / 4,072 / 3,720) and 1.76x and 2.06x in the fast
    # one (seed 0: 1,040 / 592 / 504).
    assert all(refaults["v4.18"] >= 1.3 * refaults[r] > 0 for r in ("a76cf1a474d7", "v5.16")), refaults
