"""rl.trace.replay / whatif / text reports, the shrinker table, and the shipped real traces."""
from __future__ import annotations

import lzma
import re
from pathlib import Path

import numpy as np
import pytest

import reclaimlab as rl
import reclaimlab.trace as T
from reclaimlab.model import preset, preset_for_symbol, presets, strip_symbol

from conftest import FIXTURES as FIX
from conftest import SHIPPED as REAL


@pytest.fixture(scope="module")
def synth():
    return T.parse(T.synthetic_trace(4000, seed=11))


# -- the shrinker table ----------------------------------------------------

def test_presets_table():
    sb = preset_for_symbol("super_cache_scan+0x0/0x1a0")
    assert (sb.name, sb.batch, sb.seeks, sb.seeks_known, sb.fs) == ("superblock", 1024, 2, False, True)
    shadow = preset("shadow_nodes")
    assert (shadow.seeks_for("4.19"), shadow.seeks_for("v4.20"), shadow.seeks_for("6.12"), shadow.batch) == (2, 0, 0, 128)
    assert preset_for_symbol("xfs_inodegc_shrinker_scan+0x0/0x90 [xfs]").batch == 2049
    assert preset_for_symbol("xfs_inodegc_shrinker_scan").seeks == 0
    assert preset_for_symbol("zs_shrinker_scan+0x0/0x30 [zsmalloc]").module == "zsmalloc"
    for sym in ("xfs_buftarg_shrink_scan", "xfs_qm_shrink_scan", "mb_cache_scan", "ext4_es_scan",
                "kfree_rcu_shrink_scan", "deferred_split_scan", "shrink_huge_zero_folio_scan"):
        p = preset_for_symbol(sym + "+0x0/0x10")
        assert p is not None and p.seeks == 2 and p.batch == 128 and p.source
    assert preset_for_symbol("jbd2_journal_shrink_scan").batch_known is False
    assert preset_for_symbol("my_driver_scan+0x0/0x10 [mine]") is None
    assert strip_symbol("super_cache_scan+0x0") == ("super_cache_scan", "")
    assert len({p.name for p in presets()}) == len(presets())
    with pytest.raises(ValueError, match="superblock"):
        preset("superblocks")


# -- replay ----------------------------------------------------------------

def test_real_4x_line_replays_under_416_and_419_only():
    ds = T.read(FIX / "v4.16-real-yang-shi.txt")
    for formula in ("v4.16", "v4.18", "v4.19"):
        rep = T.replay(ds, formula)
        assert bool(rep.match[0]) and int(rep.seeks[0]) == 2 and int(rep.batch[0]) == 1024
        assert int(rep.scanned[0]) == 46844928
        assert str(rep.new_scan_check.values[0]) == "ok"
        assert int(rep.new_scan_model[0]) == 4947576838
    assert not bool(T.replay(ds, "v5.13").match[0])


def test_pre_416_line_needs_v415():
    ds = T.read(FIX / "pre-4.16-yang-shi.txt")
    rep = T.replay(ds, "v4.15")
    assert bool(rep.match[0]) and int(rep.batch[0]) == 1024
    assert str(rep.new_scan_check.values[0]) == "no_end"
    with pytest.raises(ValueError, match="priority"):
        T.replay(ds, "v5.13")
    with pytest.raises(ValueError, match="pgs_scanned"):
        T.replay(T.read(FIX / "v4.16-real-yang-shi.txt"), "v4.15")


def test_419_floor_constructed_pair():
    ds = T.read(FIX / "v4.19-constructed.txt")
    assert bool(T.replay(ds, "v4.19").match[0])
    assert bool(T.replay(ds, "v4.20").match[0])
    for formula in ("v4.18", "v5.0", "v5.13"):
        assert not bool(T.replay(ds, formula).match[0])


def test_synthetic_replays_exactly_with_inferred_seeks(synth):
    rep = T.replay(synth, "v5.13")
    assert rep.attrs["match_rate"] == 1.0 and rep.match.all()
    assert (rep.new_scan_check == "ok").all()
    sb = rep.instance_shrinker.values == "super_cache_scan"
    assert set(rep.instance_seeks.values[sb]) == {0, 2}
    assert set(rep.instance_seeks_source.values[sb]) == {"inferred"}
    shadow = list(rep.instance_shrinker.values).index("scan_shadow_nodes")
    assert int(rep.instance_seeks[shadow]) == 0 and rep.instance_seeks_source.values[shadow] == "table"
    assert rep.sizes["mismatch"] == 0
    assert (rep.symbol_match_rate == 1.0).all()
    for v in rep.variables.values():
        assert v.attrs.get("units") and v.attrs.get("long_name")


@pytest.mark.parametrize("formula", ["v4.16", "v4.19", "v4.20", "v5.0", "dave-2019"])
def test_synthetic_traces_of_other_kernels(formula):
    ds = T.parse(T.synthetic_trace(1500, formula=formula, seed=2))
    assert T.replay(ds, formula).attrs["match_rate"] == 1.0
    assert T.replay(ds, "v5.13").attrs["match_rate"] < 1.0


def test_overrides(synth):
    rep = T.replay(synth, "v5.13", seeks={"super_cache_scan": 2})
    sb = rep.instance_shrinker.values == "super_cache_scan"
    assert set(rep.instance_seeks_source.values[sb]) <= {"override", "no-fit"}
    assert "no-fit" in set(rep.instance_seeks_source.values[sb])  # the seeks-0 superblocks
    assert rep.attrs["match_rate"] < 1.0
    one = str(synth.shrinker_id.values[0])
    rep = T.replay(synth, "v5.13", seeks={one: 2}, batch={"superblock": 1024})
    assert rep.instance_seeks_source.values[list(rep.instance_id.values).index(one)] == "override"
    assert T.replay(synth, "v5.13", batch=1024).attrs["match_rate"] == 1.0
    with pytest.raises(ValueError, match="match no shrinker"):
        T.replay(synth, "v5.13", seeks={"no_such_scan": 2})
    with pytest.raises(ValueError, match="seeks"):
        T.replay(synth, "v5.13", seeks={"super_cache_scan": -1})
    with pytest.raises(TypeError, match="seeks"):
        T.replay(synth, "v5.13", seeks=[2])
    with pytest.raises(ValueError, match="zero-seek"):
        T.replay(synth, "v4.16", seeks=0)


def test_inferred_value_overrides_a_table_default_that_does_not_fit():
    # The table says ext4_es_scan has seeks 2 (delta 2000 here); this kernel's has F/2.
    line = ("k-1 [000] .... 1.0: mm_shrink_slab_start: ext4_es_scan+0x0/0x50 p: nid: 0 objects to shrink 0 "
            "gfp_flags GFP_KERNEL cache items 1000 delta 500 total_scan 500 priority 0\n")
    rep = T.replay(T.parse(line), "v5.13")
    assert bool(rep.match[0]) and int(rep.seeks[0]) == 0
    assert rep.instance_seeks_source.values[0] == "inferred"
    assert rep.instance_seeks_fits.values[0] == "0,8"


def test_ambiguous_seeks_are_reported():
    line = ("k-1 [000] .... 1.0: mm_shrink_slab_start: mystery_scan+0x0/0x50 p: nid: 0 objects to shrink 0 "
            "gfp_flags GFP_KERNEL cache items 10 delta 0 total_scan 0 priority 12\n")
    rep = T.replay(T.parse(line), "v5.13")
    assert bool(rep.match[0]) and int(rep.seeks[0]) == 2
    assert "," in rep.instance_seeks_fits.values[0]
    assert rep.instance_batch_source.values[0] == "default"


def test_new_scan_check_concurrent_and_mismatch():
    s = ("k-{pid} [000] .... 1.{i}: mm_shrink_slab_start: kfree_rcu_shrink_scan+0x0/0x1 p: nid: 0 objects to "
         "shrink 100 gfp_flags GFP_KERNEL cache items 1000 delta 0 total_scan 0 priority 12\n")
    e = ("k-{pid} [000] .... 2.{i}: mm_shrink_slab_end: kfree_rcu_shrink_scan+0x0/0x1 p: nid: 0 unused scan "
         "count 100 new scan count {new} total_scan 0 last shrinker return val 0\n")
    text = "".join(s.format(pid=k, i=k) + e.format(pid=k, i=k, new=new) for k, new in enumerate((100, 150, 60)))
    rep = T.replay(T.parse(text), "v5.13")
    assert rep.match.all()
    assert list(rep.new_scan_check.values) == ["ok", "concurrent", "mismatch"]
    assert (rep.attrs["concurrent"], rep.attrs["new_scan_mismatch"]) == (1, 1)


def test_invalid_inputs_are_not_evaluated():
    line = ("k-1 [000] .... 1.0: mm_shrink_slab_start: s+0x0/0x1 p: nid: 0 objects to shrink -4 "
            "gfp_flags GFP_KERNEL cache items 10 delta 0 total_scan 0 priority 12\n")
    rep = T.replay(T.parse(line * 2), "v5.13")
    assert not rep.evaluated.any() and rep.attrs["evaluated"] == 0
    assert np.isnan(rep.attrs["match_rate"])
    with pytest.raises(ValueError, match="formula"):
        T.replay(T.parse(line), "v9.99")
    with pytest.raises(TypeError):
        T.replay({"call": []}, "v5.13")


def test_empty_trace_replays():
    rep = T.replay(T.parse(""), "v5.13")
    assert rep.sizes["call"] == 0 and rep.attrs["calls"] == 0
    w = T.whatif(T.parse(""), "v4.19", kernel="v5.13")
    assert w.attrs["scanned_model"] == 0
    assert rl.text.trace_whatif(w).isascii()


# -- what-if ---------------------------------------------------------------

def test_whatif_same_formula_reproduces_the_kernel(synth):
    w = T.whatif(synth, "v5.13")
    assert w.attrs["kernel"] == "v5.13"
    assert w.attrs["scanned_model_with_end"] == w.attrs["scanned_kernel"]
    np.testing.assert_array_equal(w.scanned_model.values, w.scanned.values)
    np.testing.assert_array_equal(w.nr_deferred_model.values, synth.nr_deferred.values)
    assert (w.symbol_scanned_model_with_end == w.symbol_scanned_kernel).all()


def test_whatif_other_formulas(synth):
    base = T.whatif(synth, "v5.13", kernel="v5.13")
    floor = T.whatif(synth, "v4.19", kernel="v5.13")
    assert floor.attrs["scanned_model"] > base.attrs["scanned_model"]
    assert (floor.seeks.values > 0).all()  # no zero-seek branch before 4.20: seeks 0 becomes 2
    zero = T.whatif(synth, "v5.0", kernel="v5.13", initial="zero")
    assert zero.attrs["initial"] == "zero"
    assert int(zero.nr_deferred_model.values[0]) == 0
    with pytest.raises(ValueError, match="initial"):
        T.whatif(synth, "v5.0", initial="last")
    for v in floor.variables.values():
        assert v.attrs.get("units") and v.attrs.get("long_name")


def test_whatif_carries_rik_accumulator():
    # A trace of the rik-2019 arithmetic: its small_scan is not traced, so replay (which
    # takes it as 0) misses some calls, while the what-if, which carries it, reproduces all.
    ds = T.parse(T.synthetic_trace(3000, formula="rik-2019", seed=4))
    assert T.replay(ds, "rik-2019").attrs["match_rate"] < 1.0
    w = T.whatif(ds, "rik-2019", kernel="rik-2019", initial="zero")
    np.testing.assert_array_equal(w.delta_model.values, ds.delta.values)
    np.testing.assert_array_equal(w.scanned_model.values, w.scanned.values)


def test_whatif_superblock_nofs_scans_nothing():
    ds = T.read(FIX / "v6.1-real-5flags.txt")
    w = T.whatif(ds, "v4.19", kernel="v5.13")
    nofs = w.nofs.values
    assert nofs.any() and (w.scanned_model.values[nofs] == 0).all()


# -- text ------------------------------------------------------------------

def _check_text(txt: str):
    assert txt.isascii()
    assert max(map(len, txt.splitlines())) <= 72


def test_texts_fit_72_ascii_columns(synth):
    rep = T.replay(synth, "v5.0")
    for txt in (rl.text.trace_summary(synth), rl.text.trace_replay(rep), rl.text.trace_replay(T.replay(synth, "v5.13")),
                rl.text.trace_whatif(T.whatif(synth, "v4.19", kernel="v5.13"))):
        _check_text(txt)
    assert "Mismatches" in rl.text.trace_replay(rep)
    narrow = rl.text.trace_replay(rep, width=50)
    assert max(map(len, narrow.splitlines())) <= 50
    with pytest.raises(ValueError, match="width"):
        rl.text.trace_summary(synth, width=10)


# -- the shipped real traces (reclaimlab/data/traces, captured from Debian 6.1 and 6.12) --

@pytest.mark.parametrize("kernel", sorted(REAL))
def test_real_trace_replays_100_percent(kernel):
    path = REAL[kernel]
    ds = T.read(path, strict=True)
    assert ds.sizes["call"] > 1000 and ds.has_end.all()
    assert ds.attrs["malformed_lines"] == 0 and ds.attrs["lost_events"] == 0
    rep = T.replay(ds, "v5.13")
    assert rep.attrs["match_rate"] == 1.0, rl.text.trace_replay(rep)
    # End events: new scan count = the deferral given what was scanned, or more when
    # another task added to the slot meanwhile; never less.
    assert rep.attrs["new_scan_mismatch"] == 0
    assert set(rep.new_scan_check.values) <= {"ok", "concurrent"}
    assert (rep.unused_scan.values == rep.nr_deferred.values).all()
    # seeks: 0 for some superblocks (procfs, sysfs) and scan_shadow_nodes, 2 for the rest
    sb = rep.instance_shrinker.values == "super_cache_scan"
    assert 0 in rep.instance_seeks.values[sb] and 2 in rep.instance_seeks.values[sb]
    assert set(rep.instance_seeks.values[rep.instance_shrinker.values == "scan_shadow_nodes"]) == {0}
    # What the trace says was scanned adds up to the guest's /proc/vmstat slabs_scanned.
    m = re.search(r"slabs_scanned (\d+)", _comments(path))
    assert m, "the capture header records the guest's /proc/vmstat"
    assert int(rep.scanned.values.sum()) == int(m.group(1))
    _check_text(rl.text.trace_replay(rep))
    _check_text(rl.text.trace_summary(ds))


def _comments(path: Path) -> str:
    """The '#' lines at the top of a capture (its provenance header)."""
    out = []
    with lzma.open(path, "rt") as f:
        for line in f:
            if not line.startswith("#"):
                break
            out.append(line)
    return "".join(out)


def test_whatif_refuses_calls_out_of_time_order():
    lines = T.synthetic_trace(300).splitlines()
    head = [ln for ln in lines if ln.startswith("#")]
    body = [ln for ln in lines if not ln.startswith("#")]
    backwards = T.parse("\n".join(head + body[::-1]))
    assert backwards.attrs["out_of_order_events"] > 0
    with pytest.raises(ValueError, match=r"calls earlier than the call before them.*sortby\('time'\)"):
        T.whatif(backwards, "v4.19", kernel="v5.13")
    in_order = T.whatif(backwards.sortby("time"), "v4.19", kernel="v5.13")
    forwards = T.whatif(T.parse("\n".join(lines)), "v4.19", kernel="v5.13")
    assert in_order.attrs["scanned_model"] == forwards.attrs["scanned_model"]
