"""The kernel A/B comparison in the package (issue 21, deliverable 4): reclaimlab.kernel_ab.

The real side is checked against numbers that can be worked out by hand from
the shipped captures (reclaimlab/data/kernel-ab; ``xzcat`` and ``grep`` are
enough): the step marks, the /proc/vmstat counters of the samples, and the
``mm_shrink_slab_start/end`` pairs that do_shrink_slab() (mm/vmscan.c) traces.
The model side is checked for structure only: the simulator's numbers move
as the simulator changes, and the comparison computes them live.
"""
from __future__ import annotations

import json
import math
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from reclaimlab import kernel_ab as kab
from reclaimlab.kernel_ab import real as R
from reclaimlab.sim.params import SimParams

REPO = Path(__file__).resolve().parents[1]
VARIANTS = ["stock", "floor", "rik"]


@pytest.fixture(scope="module")
def caps():
    return kab.load()


@pytest.fixture(scope="module")
def cmp(caps):
    return kab.comparison(captures=caps, reduced=True)


# --------------------------------------------------------------------------- structure

def test_comparison_dims_coords_and_variables(cmp):
    assert list(cmp.source.values) == ["real", "model"]
    assert list(cmp.variant.values) == VARIANTS
    assert list(cmp.formula.values) == ["v5.13", "v5.13+floor", "rik-6.1"]
    assert list(cmp.priority.values) == list(range(13))
    caches = [str(c) for c in cmp.cache.values]
    assert caches[:2] == ["sb#1", "sb#2"] and {"ext4_es#1", "sb#3"} <= set(caches)
    for name in ("scanned", "held", "pressure", "ratio", "pressure_rank"):
        assert cmp[name].dims == ("source", "variant", "cache"), name
    assert cmp.kswapd_priority.dims == cmp.lowest_priority.dims == ("source", "variant", "priority")
    assert cmp.slab.dims == cmp.page_cache.dims == ("source", "variant", "time")
    assert cmp.calls.dims == cmp.held_at_calls.dims == ("variant", "cache")
    for name in cmp.data_vars:
        assert "units" in cmp[name].attrs and "long_name" in cmp[name].attrs, name
    assert cmp.pressure.attrs["units"] == "objects scanned per object held"
    assert cmp.slab.attrs["units"] == cmp.page_cache.attrs["units"] == "MiB"
    assert cmp.time.attrs["units"] == "s"


def test_comparison_provenance(cmp):
    a = cmp.attrs
    for v in VARIANTS:
        assert f"kernel-ab-6.1.176-{v}-512M-1cpu.trace.xz" in a["captures"]
        assert f"kernel-ab-6.1.176-{v}-512M-1cpu.samples.xz" in a["captures"]
    assert a["formulas"] == "stock=v5.13, floor=v5.13+floor, rik=rik-6.1"
    assert a["measured_from"] == "stock" and a["description"] == "working-set"
    assert json.loads(a["measured"])["variant"] == "stock"
    p = SimParams.from_json(a["params"])                 # the scenario that ran, rebuildable
    assert p.node_pages == 125_862 and [f.name for f in p.filesets] == ["stream", "tree"]
    assert "comparison(" in a["made_by"] and a["reclaimlab_version"]


def test_model_side_is_filled_and_consistent(cmp):
    m = cmp.sel(source="model")
    assert (m.scanned >= 0).all() and (m.held >= 0).all()
    assert (m.scanned.sel(cache="sb#1") > 0).all()        # every kernel's model reclaims the big cache
    assert np.allclose(m.kswapd_priority.sum("priority"), 1.0)
    # pressure is scanned / held, the ratio is pressure / stock's, rank orders pressure
    for s in ("real", "model"):
        x = cmp.sel(source=s)
        want = np.where(x.held > 0, x.scanned / np.maximum(x.held, 1e-300), 0.0)
        assert np.allclose(x.pressure, want)
        stock = x.pressure.sel(variant="stock")
        r = x.ratio.sel(variant="floor").values
        ok = stock.values > 0
        assert np.allclose(r[ok], (x.pressure.sel(variant="floor") / stock).values[ok])
        assert np.isnan(r[~ok]).all()
        for v in VARIANTS:
            p, k = x.pressure.sel(variant=v).values, x.pressure_rank.sel(variant=v).values
            assert set(k[p > 0]) == set(range(1, int((p > 0).sum()) + 1)) and (k[p == 0] == 0).all()
            ranked = p[np.argsort(np.where(k > 0, k, 99))][: int((p > 0).sum())]
            assert list(ranked) == sorted(ranked, reverse=True)


def test_bad_arguments_name_what_is_allowed(caps):
    with pytest.raises(ValueError, match="measured_from='nope'.*stock, floor, rik"):
        kab.comparison(captures=caps, measured_from="nope")
    with pytest.raises(ValueError, match="description='x'.*working-set, used-once"):
        kab.comparison(captures=caps, description="x")
    with pytest.raises(ValueError, match="captures lack variant"):
        kab.comparison(captures={"stock": caps["stock"]})


# --------------------------------------------------------------------------- real side, by hand

def test_global_window_from_the_step_marks(caps):
    # grep 'tracing_mark_write: ab: ' in the stock trace: 'global round 1/2' at 3.491515,
    # 'memcg round 1/2' at 44.089973
    assert R.global_window(caps["stock"]) == (3.491515, 44.089973)
    assert caps["stock"].mem_total_kib == 503_448


def test_measured_scenario_from_the_stock_samples(caps):
    m = kab.measure(caps["stock"])
    assert m.mem_total_pages == 503_448 // 4 == 125_862
    # kswapd's first wake: 17.188348 - 3.491515
    assert m.reclaim_start_s == pytest.approx(13.696833)
    # samples inside the window: the first at uptime 4.24 (nr_file_pages 7195, nr_shmem 675,
    # pgsteal 0), the last at 43.44 (96381, 675, pgsteal_kswapd 241653 + pgsteal_direct 21458):
    # ((96381 - 675) - (7195 - 675) + 263111) / (43.44 - 4.24) = 352297 / 39.2
    assert m.page_inflow_per_s == pytest.approx(352_297 / 39.2)
    # ext4_inode_cache: 29 objects at 3.09 (before the window), at most 60378 in it
    assert m.tree_files == 60_378 - 29
    # slabs_scanned is still 0 at 18.53 (ext4_inode_cache 55129), 1024 at 19.76
    assert m.lookups_per_s == pytest.approx((55_129 - 29) / (18.53 - 3.09))
    # /proc/slabinfo: ext4_inode_cache 29 objects per 8-page slab, dentry 21 per page
    assert (m.inode_objects_per_page, m.dentry_objects_per_page) == (29 / 8, 21.0)
    assert 5_000 < m.unreclaimable_pages < 9_000           # MemTotal - free - file - slab: ~27 MiB
    sizes = {role: (objects, seeks, batch) for role, objects, seeks, batch in m.small_caches}
    # jbd2, kfree_rcu and sb#4 were counted only in the memcg rounds: not in the scenario
    assert set(sizes) == {"sb#2", "ext4_es#1", "sb#3", "sb#5"}
    # the small ext4 superblock: 300 files; ext4_es: 64 objects, batch 128; a zero-seek pseudo fs
    assert sizes["sb#2"] == (300, 2, 1024) and sizes["ext4_es#1"] == (64, 2, 128)
    assert sizes["sb#3"] == (10, 0, 1024)


def test_scenario_is_the_measurement(caps):
    m = kab.measure(caps["stock"])
    for description in kab.DESCRIPTIONS:
        p = kab.scenario(m, description).params
        assert p.node_pages == m.mem_total_pages and p.anon_pages == m.unreclaimable_pages
        assert p.duration_s == pytest.approx(m.window_s - m.reclaim_start_s, abs=0.05)
        stream, tree = p.filesets
        assert stream.pages_per_file * stream.creates_per_s == pytest.approx(m.page_inflow_per_s)
        if description == "working-set":
            assert tree.working_set == m.tree_files
            assert tree.working_set * tree.reads_per_s == pytest.approx(m.lookups_per_s)
        else:
            assert tree.creates_per_s == pytest.approx(m.lookups_per_s)
        assert [c.name for c in p.caches] == [r for r, *_ in m.small_caches]
    with pytest.raises(ValueError, match="description='tree'"):
        kab.scenario(m, "tree")


def test_real_side_of_the_comparison_by_hand(caps, cmp):
    r = cmp.sel(source="real")
    # Stock scans the big superblock only, in whole batches of 1024 (86 of them in the
    # global rounds); every other cache has 0 objects scanned.
    assert r.scanned.sel(variant="stock", cache="sb#1") == 86 * 1024
    assert (r.scanned.sel(variant="stock").drop_sel(cache="sb#1") == 0).all()
    # The floor scans every small cache that was counted in the window.
    floor = r.sel(variant="floor")
    assert ((floor.scanned > 0) | (floor.calls == 0)).all()
    # held is a time average of the counts the calls saw: between their extremes.
    ds = caps["stock"].calls
    t0, t1 = R.global_window(caps["stock"])
    big = [i for i, role in R.cache_roles(ds).items() if role == "sb#1"][0]
    k = (ds.shrinker_id.values.astype(str) == big.split()[1]) & (ds.time.values >= t0) & (ds.time.values < t1)
    F = ds.cache_items.values[k]
    assert F.min() <= float(r.held.sel(variant="stock", cache="sb#1")) <= F.max()
    assert int(r.calls.sel(variant="stock", cache="sb#1")) == int(k.sum())
    assert float(r.held_at_calls.sel(variant="stock", cache="sb#1")) == pytest.approx(F.mean())
    # kswapd priorities: a bincount of kswapd's calls of sb#1 in the window
    kk = k & (ds.task.values.astype(str) == "kswapd0")
    want = np.bincount(ds.priority.values[kk], minlength=13) / kk.sum()
    assert np.allclose(r.kswapd_priority.sel(variant="stock"), want)
    assert math.isclose(float(r.kswapd_priority.sel(variant="stock").sum()), 1.0)
    # lowest priority per recorded interval (record_s of the model), any task's calls
    rec = json.loads(cmp.attrs["params"])["record_s"]
    kw = (ds.time.values >= t0) & (ds.time.values < t1)
    bins = np.floor((ds.time.values[kw] - t0) / rec).astype(int)
    low = {b: min(p for bb, p in zip(bins, ds.priority.values[kw]) if bb == b) for b in set(bins)}
    want = np.bincount(list(low.values()), minlength=13) / len(low)
    assert np.allclose(r.lowest_priority.sel(variant="stock"), want)


def test_real_slab_and_page_cache_follow_the_samples(caps, cmp):
    s = caps["stock"].samples
    t0, t1 = R.global_window(caps["stock"])
    inside = (s["uptime"] >= t0) & (s["uptime"] <= t1)
    slab = cmp.slab.sel(source="real", variant="stock").dropna("time")
    mib = s["nr_slab_reclaimable"][inside] * 4 / 1024
    # 1-s interpolation of the ~1.2 s samples stays within their range
    assert mib.min() - 1 < float(slab.sel(time=slice(1, None)).min()) and float(slab.max()) <= mib.max() + 1e-9
    # the stock run's window is 40.6 s long: no real value past it
    assert cmp.slab.sel(source="real", variant="stock").dropna("time").time.max() == 40


def test_summary_matches_the_kernels_own_counter(caps):
    # do_shrink_slab() adds what it scanned to SLABS_SCANNED (/proc/vmstat slabs_scanned):
    # the traced calls add up to the counter over the run, for every kernel.
    ds = kab.summary(captures=caps)
    assert list(ds.slabs_scanned.values) == [91_136, 549_166, 171_009]
    assert list(ds.scanned.sum("cache").values) == list(ds.slabs_scanned.values)
    assert list(ds.shrinker_calls.values) == [36_499, 10_235, 32_184]


# --------------------------------------------------------------------------- figures and scripts

def test_text_figure_fits_72_columns(cmp):
    out = kab.text(cmp)
    lines = out.splitlines()
    assert out.isascii() and max(len(line) for line in lines) <= 72
    assert lines[0] == "Kernel A/B: Linux 6.1 against the model, global rounds"
    for c in cmp.cache.values:
        assert any(line.startswith(str(c) + " ") for line in lines), c
    sb1 = next(line for line in lines if line.startswith("sb#1 "))
    assert sb1.split()[1] == "1.23"                      # stock real: 88064 / 71885
    assert "order floor real : " in out and "order floor model: " in out


def test_chart_smoke(cmp):
    spec = kab.chart(cmp).to_dict()
    assert len(spec["vconcat"]) == 3 and "title" in spec
    sizes = [len(v) for v in spec.get("datasets", {}).values()]
    assert sizes and max(sizes) <= 5000


def test_sensitivity_structure(caps):
    s = kab.sensitivity(captures=caps, reduced=True, measured_from=["stock"], descriptions=["used-once"])
    assert s.pressure.dims == ("measured_from", "description", "stream_file_pages", "variant", "cache")
    assert s.real_ratio.dims == ("variant", "cache")
    assert float(s.real_ratio.sel(variant="floor", cache="sb#1")) > 50


def test_analyze_script_is_the_package_summary(caps, capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["analyze.py", "--variants", "stock"])
    with pytest.raises(SystemExit) as e:
        runpy.run_path(str(REPO / "scripts" / "kernel-ab" / "analyze.py"), run_name="__main__")
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.rstrip("\n") == kab.summary_text(kab.summary(variants=["stock"], captures=caps))
    assert all(len(line) <= 72 for line in out.splitlines())
