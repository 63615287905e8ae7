"""Text figures: at most ``width`` columns, 7-bit ASCII by default, numbers that match the Dataset."""
from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

import reclaimlab as rl
import reclaimlab.text as rtext
from reclaimlab.viz import tables
from reclaimlab.viz.textkit import SPARK_UNICODE, fmt, log_bars, sparkline, table
from reclaimlab.testing import example_simulation

FORMULAS = ["v4.18", "v4.19", "v5.0", "rik-2019", "dave-2019", "v5.13"]


def close(text: str, want: float, digits: int = 3) -> bool:
    """``text`` is ``want`` as printed by fmt (exact integers, else ``digits`` significant)."""
    if text == "-":
        return math.isnan(want)
    got = float(text)
    if want == 0 or got == 0:
        return got == want
    return abs(got - want) <= 0.5 * 10 ** (1 - digits) * abs(want) * 1.0001 + 0.5 * (abs(want) >= 1000)


def table_after(text: str, first_word: str) -> list[list[str]]:
    """Rows of the first table whose header starts with ``first_word``."""
    lines = text.splitlines()
    i = next(k for k, line in enumerate(lines) if line.split()[:1] == [first_word])
    out = []
    for line in lines[i + 2:]:
        if not line.strip():
            break
        out.append(line.split())
    return out


@pytest.fixture(scope="module")
def sweep_ds():
    return rl.sweep(FORMULAS, freeable=[1, 10, 100, 1000, 10**4, 10**5, 10**6, 10**7], priority=12,
                    batch=[128, 1024], calls=100)


@pytest.fixture(scope="module")
def grid_ds():
    return rl.sweep(FORMULAS, freeable=[10, 300, 1000, 10**5, 10**7], priority=list(range(13)), calls=10)


@pytest.fixture(scope="module")
def sim_ds():
    return example_simulation(formulas=["v4.19", "v5.0", "rik-2019"])


@pytest.fixture(scope="module")
def all_figures(sweep_ds, grid_ds, sim_ds, replay_ds):
    return [
        ("pressure_curve", sweep_ds), ("pressure_curve", sim_ds), ("priority_heatmap", grid_ds),
        ("small_large_ratio", grid_ds), ("timeline", sim_ds), ("dying_memcgs", sim_ds),
        ("scorecard", sim_ds), ("trace_replay", replay_ds),
    ]


# --------------------------------------------------------------------------- width and ASCII

@pytest.mark.parametrize("width", [72, 50])
def test_every_figure_fits_and_is_ascii(all_figures, width):
    for name, ds in all_figures:
        s = getattr(rtext, name)(ds, width=width)
        lines = s.splitlines()
        assert lines, name
        assert max(len(line) for line in lines) <= width, (name, max(lines, key=len))
        assert s.isascii(), name
        assert not s.endswith("\n")
        assert lines[1] == "=" * len(lines[0])        # title underlined
        assert not any(line.endswith("~") for line in lines), name   # nothing cut to fit


def test_unicode_option_uses_blocks(sim_ds, grid_ds):
    s = rtext.timeline(sim_ds, unicode=True)
    assert any(c in s for c in SPARK_UNICODE)
    assert max(len(line) for line in s.splitlines()) <= 72
    r = rtext.small_large_ratio(grid_ds, unicode=True)
    assert "\u2588" in r
    assert rtext.small_large_ratio(grid_ds).isascii()


def test_non_ascii_names_are_transliterated():
    ds = example_simulation(caches=["dentry\u2192x", "inode"], formulas=["v5.0"])
    s = rtext.timeline(ds)
    assert s.isascii() and "dentry->x" in s


def test_too_narrow_width_is_refused(sweep_ds):
    with pytest.raises(ValueError, match="width=30 is not allowed; width must be an integer >= 40"):
        rtext.pressure_curve(sweep_ds, width=30)


# --------------------------------------------------------------------------- numbers

def test_pressure_table_matches_dataset(sweep_ds):
    s = rtext.pressure_curve(sweep_ds)
    assert "batch 128:" in s and "batch 1024:" in s
    blocks = s.split("batch 1024:")
    for text, batch in ((blocks[0], 128), (blocks[1], 1024)):
        rows = table_after(text, "objects")
        assert [int(r[0]) for r in rows] == [1, 10, 100, 1000, 10**4, 10**5, 10**6, 10**7]
        header = next(line for line in text.splitlines() if line.split()[:1] == ["objects"]).split()[1:]
        assert header == FORMULAS
        for r in rows:
            for f, cell in zip(FORMULAS, r[1:]):
                want = float(sweep_ds.pressure.sel(formula=f, freeable=int(r[0]), batch=batch))
                assert close(cell, want), (f, r[0], cell, want)


def test_pressure_table_from_simulation(sim_ds):
    s = rtext.pressure_curve(sim_ds)
    size, p = tables._sim_pressure(sim_ds)
    rows = table_after(s, "cache")
    assert len(rows) == size.sizes["instance"]
    for r in rows:
        assert close(r[1], float(size.sel(instance=r[0]).mean()))
        for f, cell in zip(["v4.19", "v5.0", "rik-2019"], r[2:]):
            assert close(cell, float(p.sel(formula=f, instance=r[0])))


def test_heatmap_grid_matches_dataset(grid_ds):
    s = rtext.priority_heatmap(grid_ds)
    sections = s.split("rows = priority")
    assert len(sections) == len(FORMULAS) + 1
    sizes = [10, 300, 1000, 10**5, 10**7]
    for f, sec in zip(FORMULAS, sections[1:]):
        rows = table_after(sec, "prio")
        assert [int(r[0]) for r in rows] == list(range(12, -1, -1))
        for r in rows:
            for F, cell in zip(sizes, r[1:]):
                want = float(grid_ds.pressure.sel(formula=f, priority=int(r[0]), freeable=F))
                assert close(cell, want, digits=2), (f, r[0], F, cell, want)


def test_ratio_table_and_bars_match_dataset(grid_ds):
    s = rtext.small_large_ratio(grid_ds)
    rows = table_after(s, "prio")
    for r in rows:
        for f, cell in zip(FORMULAS, r[1:]):
            ps = float(grid_ds.pressure.sel(formula=f, priority=int(r[0]), freeable=10))
            pl = float(grid_ds.pressure.sel(formula=f, priority=int(r[0]), freeable=10**7))
            assert close(cell, ps / pl if pl > 0 else math.nan)
    bars = [line for line in s.splitlines() if "|" in line and line.split()[0] in FORMULAS]
    assert [b.split()[0] for b in bars] == FORMULAS
    for b in bars:
        f, val = b.split()[:2]
        ps = float(grid_ds.pressure.sel(formula=f, priority=12, freeable=10))
        pl = float(grid_ds.pressure.sel(formula=f, priority=12, freeable=10**7))
        assert close(val, ps / pl)
        assert ("#" in b) == (ps > 0)


def test_timeline_min_max_match_dataset(sim_ds):
    s = rtext.timeline(sim_ds)
    sec = s.split("formula v5.0")[1].split("formula rik-2019")[0]
    lines = sec.splitlines()
    i = lines.index("page cache (pages)")
    for node in (0, 1):
        row = lines[i + 2 + node].split()
        assert row[:2] == ["node", str(node)]
        v = sim_ds.page_cache.sel(formula="v5.0", node=node)
        assert close(row[-2], float(v.min())) and close(row[-1], float(v.max()))
    j = next(k for k, line in enumerate(lines) if line.startswith("slab objects"))
    row = lines[j + 2].split()
    assert row[0] == "dentry"
    v = sim_ds.slab.sel(formula="v5.0", cache="dentry").sum(["node", "memcg"])
    assert close(row[-2], float(v.min())) and close(row[-1], float(v.max()))
    k = next(k for k, line in enumerate(lines) if line.startswith("reclaim stall"))
    row = lines[k + 2].split()
    st = sim_ds.stall.sel(formula="v5.0", node=0)
    assert close(row[-2], float(st.sum())) and close(row[-1], float(st.max()))
    m = next(k for k, line in enumerate(lines) if line.startswith("lowest reclaim priority"))
    row = lines[m + 2].split()
    pr = sim_ds.priority.sel(formula="v5.0", node=0).values
    assert int(row[-2]) == pr[pr >= 0].min() and int(row[-1]) == pr[pr >= 0].max()


def test_dying_memcgs_numbers_match_dataset(sim_ds):
    s = rtext.dying_memcgs(sim_ds)
    rows = table_after(s, "formula")
    assert [r[0] for r in rows] == ["v4.19", "v5.0", "rik-2019"]
    for r in rows:
        d = sim_ds.dying_memcgs.sel(formula=r[0])
        assert int(r[1]) == int(d.isel(time=-1)) and int(r[2]) == int(d.max())
        assert len(r[3]) >= 20                      # the sparkline


def test_scorecard_numbers_match_scores(sim_ds):
    s = rtext.scorecard(sim_ds)
    sc = tables.scores(sim_ds).isel(scenario=0)
    assert "small = small-cache pressure (1/s)" in " ".join(s.splitlines())
    lines = s.splitlines()
    header = lines[lines.index("compile-and-copy:") + 1].split()
    assert header == ["formula", "small", "large", "refaults", "stall", "dying", "job"]
    rows = table_after(s, "formula")
    assert [r[0] for r in rows] == ["v4.19", "v5.0", "rik-2019"]
    for r in rows:
        for var, cell in zip(tables.SCORE_VARS, r[1:]):
            assert close(cell, float(sc[var].sel(formula=r[0]))), (var, r[0], cell)


def test_trace_replay_counts_match(replay_ds):
    s = rtext.trace_replay(replay_ds)
    rows = table_after(s, "shrinker")
    shrinkers = np.asarray(replay_ds.shrinker.values).astype(str)
    match = replay_ds.match.values
    assert [r[0] for r in rows] == list(replay_ds.symbol.values)
    for name, inst, calls, matched, rate, *_ in rows:
        sel = shrinkers == name
        assert int(calls) == sel.sum() and int(matched) == match[sel].sum()
        assert rate == f"{100 * match[sel].mean():.2f}%"
    n = replay_ds.sizes["call"]
    assert f"matched {int(match.sum())} ({100 * match.mean():.2f}%)" in " ".join(s.splitlines())
    assert f"Mismatches, observed/model (first 10 of {int((~match).sum())})" in " ".join(s.splitlines())
    assert 0 < int(match.sum()) < n


# --------------------------------------------------------------------------- primitives

def test_fmt_round_trips_within_its_precision():
    rng = np.random.default_rng(0)
    for v in np.concatenate([10 ** rng.uniform(-9, 12, 500), -(10 ** rng.uniform(-3, 6, 50)),
                             rng.integers(0, 10**6, 50).astype(float)]):
        s = fmt(v)
        assert len(s) <= 8, s
        assert close(s, float(v)), (v, s)
    assert fmt(float("nan")) == "-" and fmt(0) == "0" and fmt(float("inf")) == "inf"


def test_table_splits_columns_that_do_not_fit():
    lines = table(["key"] + [f"column{i}" for i in range(12)], [["k"] + list(range(12))], width=40)
    assert max(len(line) for line in lines) <= 40
    assert sum(line.startswith("key") for line in lines) > 1


def test_log_bars_and_sparkline():
    lines = log_bars(["a", "b", "c"], [1e-4, 1e-2, 0.0], width=50)
    assert all(len(line) <= 50 for line in lines)
    na, nb, nc = (line.count("#") for line in lines[:3])
    assert 0 < na < nb and nc == 0
    assert sparkline([1, 1, 1]) == "___"
    assert sparkline([0, float("nan"), 9]) == "_ @"


def test_summary_quotes_the_scores_and_the_rules():
    ds = rl.compare("dying-memcgs", ["v4.19", "v5.0"], reduced=True)
    s = rtext.summary(ds)
    assert max(map(len, s.splitlines())) <= 72 and s.isascii()
    rows = {r[0]: r[1:] for r in (line.rsplit(None, 2) for line in s.splitlines())
            if r and r[0].startswith("dying memcgs")}
    final = ds.dying_memcgs.isel(time=-1)
    assert [int(v) for v in rows["dying memcgs at end (count)"]] == final.values.tolist()
    assert "v5.0: inode rule v4.18, XFS inode reclaim sync, memcg remedy none" in s
    with pytest.raises(ValueError, match="summary needs a simulation Dataset"):
        rtext.summary(rl.sweep("v5.0", [10, 100], 12))
