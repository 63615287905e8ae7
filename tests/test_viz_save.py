"""rl.save: exported SVG parsed, other formats written, atomic writes, same bytes twice, exact round trips."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import reclaimlab as rl
import reclaimlab.plot as plot
import reclaimlab.text as rtext
from reclaimlab.viz import save as save_mod
from reclaimlab.viz.save import load, save
from reclaimlab.viz.theme import FONT
from reclaimlab.testing import example_simulation

SVG = "{http://www.w3.org/2000/svg}"
from conftest import ROOT


@pytest.fixture(scope="module")
def sweep_ds():
    return rl.sweep(["v4.18", "v4.19", "v5.0"], freeable=[10, 1000, 10**5, 10**7], priority=12,
                    batch=[128, 1024], calls=100)


@pytest.fixture(scope="module")
def chart(sweep_ds):
    return plot.pressure_curve(sweep_ds)


def svg_texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def classes(root: ET.Element) -> list[str]:
    return [g.get("class", "") for g in root.iter(f"{SVG}g")]


def test_svg_has_marks_titles_and_pinned_font(chart, tmp_path):
    p = save(chart, tmp_path / "pressure.svg")
    assert p == tmp_path / "pressure.svg"
    root = ET.parse(p).getroot()
    texts = svg_texts(root)
    assert "Shrinker pressure vs cache size" in texts
    assert "cache size (objects)" in texts
    assert "fraction of the cache scanned per call" in texts
    assert {"128", "1024"} <= set(texts)                      # facet headers
    assert {"v4.18", "v4.19", "v5.0"} <= set(texts)           # legend
    assert "0" in texts                                       # the zero floor label
    cls = classes(root)
    assert sum("mark-line" in c for c in cls) >= 2            # one line group per facet
    lines = [path for g in root.iter(f"{SVG}g") if "mark-line" in g.get("class", "")
             for path in g.iter(f"{SVG}path")]
    assert len(lines) == 3 * 2                                # 3 formulas x 2 batches
    assert sum("mark-symbol" in c for c in cls) >= 2
    fonts = {t.get("font-family") for t in root.iter(f"{SVG}text")}
    assert fonts == {FONT}


def test_heatmap_svg_counts_cells(tmp_path):
    ds = rl.sweep(["v4.19", "v5.0"], freeable=[10, 1000, 10**5], priority=list(range(13)))
    root = ET.parse(save(plot.priority_heatmap(ds), tmp_path / "h.svg")).getroot()
    rects = [p for g in root.iter(f"{SVG}g") if "mark-rect role-mark" in g.get("class", "")
             for p in g.iter(f"{SVG}path")]
    assert len(rects) == 2 * 13 * 3
    assert {"v4.19", "v5.0"} <= set(svg_texts(root))


def test_svg_is_byte_identical_twice_and_across_processes(chart, tmp_path):
    a = save(chart, tmp_path / "a.svg").read_bytes()
    b = save(chart, tmp_path / "b.svg").read_bytes()
    assert a == b
    code = textwrap.dedent(f"""
        import reclaimlab as rl
        from reclaimlab.viz.save import save
        ds = rl.sweep(["v4.18", "v4.19", "v5.0"], freeable=[10, 1000, 10**5, 10**7], priority=12,
                      batch=[128, 1024], calls=100)
        import reclaimlab.plot
        save(reclaimlab.plot.pressure_curve(ds), {str(tmp_path / 'c.svg')!r})
    """)
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)
    assert (tmp_path / "c.svg").read_bytes() == a


def test_png_pdf_html_json_txt(chart, sweep_ds, tmp_path):
    png1 = save(chart, tmp_path / "x.png", scale=1).read_bytes()
    png2 = save(chart, tmp_path / "y.png", scale=2).read_bytes()
    assert png1[:8] == b"\x89PNG\r\n\x1a\n" and png2[:8] == png1[:8]
    w1 = int.from_bytes(png1[16:20], "big")
    w2 = int.from_bytes(png2[16:20], "big")
    assert w2 == 2 * w1
    assert save(chart, tmp_path / "x.pdf").read_bytes()[:5] == b"%PDF-"
    html = save(chart, tmp_path / "x.html").read_text()
    assert "<html" in html.lower() and "vega" in html.lower()
    assert "https://cdn" not in html and "src=\"http" not in html        # works offline
    assert len(html) > 200_000                                              # Vega inlined
    spec = (tmp_path / "x.json").exists() or save(chart, tmp_path / "x.json")
    assert spec
    import json
    assert json.loads((tmp_path / "x.json").read_text())["config"]["font"] == FONT
    txt = save(rtext.pressure_curve(sweep_ds), tmp_path / "x.txt").read_text()
    assert txt.endswith("\n") and txt.startswith("Shrinker pressure vs cache size")
    assert sorted(os.listdir(tmp_path)) == ["x.html", "x.json", "x.pdf", "x.png", "x.txt", "y.png"]


# --------------------------------------------------------------------------- errors and atomicity

def test_clear_errors(chart, sweep_ds, tmp_path):
    with pytest.raises(ValueError, match=r"suffix '\.bmp'; allowed: \.svg, \.png"):
        save(chart, tmp_path / "x.bmp")
    with pytest.raises(ValueError, match=r"suffix '\(none\)'"):
        save(chart, tmp_path / "x")
    with pytest.raises(TypeError, match=r"obj is a str; \.svg needs an Altair chart"):
        save("text", tmp_path / "x.svg")
    with pytest.raises(TypeError, match=r"obj is a Dataset; \.txt needs a str"):
        save(sweep_ds, tmp_path / "x.txt")
    with pytest.raises(TypeError, match=r"\.nc needs an xarray.Dataset"):
        save(chart, tmp_path / "x.nc")
    with pytest.raises(ValueError, match=r"scale=0 is not allowed"):
        save(chart, tmp_path / "x.png", scale=0)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save(chart, tmp_path / "no" / "x.svg")
    assert os.listdir(tmp_path) == []


def test_failed_chart_export_leaves_nothing(tmp_path, monkeypatch):
    bad = plot.pressure_curve(rl.sweep("v4.19", [10, 100], 12)).encode(x="no_such_field:Q")
    bad = bad.transform_calculate(boom="datum.x(")          # invalid expression: vl-convert fails
    with pytest.raises(Exception):
        save(bad, tmp_path / "bad.svg")
    assert os.listdir(tmp_path) == []
    # an existing file stays as it was when the new export fails
    (tmp_path / "keep.svg").write_text("old")
    with pytest.raises(Exception):
        save(bad, tmp_path / "keep.svg")
    assert (tmp_path / "keep.svg").read_text() == "old"
    assert os.listdir(tmp_path) == ["keep.svg"]


def test_failed_write_midway_leaves_nothing(tmp_path, monkeypatch):
    real = os.replace

    def boom(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(save_mod.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        save("abc", tmp_path / "t.txt")
    monkeypatch.setattr(save_mod.os, "replace", real)
    assert os.listdir(tmp_path) == []

    ds = example_simulation(steps=10)

    def half_then_fail(self, path, *a, **k):
        Path(path).write_bytes(b"partial")
        raise RuntimeError("interrupted")
    monkeypatch.setattr(xr.Dataset, "to_netcdf", half_then_fail)
    with pytest.raises(RuntimeError, match="interrupted"):
        save(ds, tmp_path / "run.nc")
    assert os.listdir(tmp_path) == []
    monkeypatch.setattr(xr.Dataset, "to_zarr", half_then_fail)
    with pytest.raises(RuntimeError, match="interrupted"):
        save(ds, tmp_path / "run.zarr")
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- Dataset round trips

@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_dataset_round_trip_is_exact(sweep_ds, tmp_path, suffix):
    back = load(save(sweep_ds, tmp_path / f"sweep{suffix}"))
    xr.testing.assert_identical(back, sweep_ds)
    assert back.delta.dtype == np.uint64 and back.scanned.dtype == np.int64
    sim = example_simulation(formulas=["v4.19", "v5.0"])
    sim.attrs["config"] = {"caches": [{"name": "dentry", "seeks": 2}], "kswapd": True, "min_free": None}
    sim.attrs["flag"] = False
    sim["slab"].attrs["presets"] = ["a", 1]
    sim["match"] = ("time", np.arange(sim.sizes["time"]) % 2 == 0)
    p = save(sim, tmp_path / f"sim{suffix}")
    back = load(p)
    xr.testing.assert_identical(back, sim)
    assert back.attrs["config"] == sim.attrs["config"] and back.attrs["flag"] is False
    assert back.match.dtype == bool
    # saving again replaces the old store atomically
    sim2 = sim.isel(time=slice(0, 5))
    xr.testing.assert_identical(load(save(sim2, p)), sim2)
    assert sorted(os.listdir(tmp_path)) == sorted([f"sweep{suffix}", f"sim{suffix}"])


def test_netcdf_is_plain_h5netcdf(sweep_ds, tmp_path):
    p = save(sweep_ds, tmp_path / "s.nc")
    assert p.read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"
    with xr.open_dataset(p, engine="h5netcdf") as f:        # readable without reclaimlab
        np.testing.assert_array_equal(f.pressure.values, sweep_ds.pressure.values)
        assert f.attrs["calls"] == 100


def test_dataarray_needs_a_name(tmp_path):
    da = xr.DataArray([1, 2], dims="x")
    with pytest.raises(ValueError, match="DataArray without a name"):
        save(da, tmp_path / "a.nc")
    xr.testing.assert_identical(load(save(da.rename("a"), tmp_path / "a.nc")), da.rename("a").to_dataset())
