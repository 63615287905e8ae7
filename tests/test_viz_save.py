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


# --------------------------------------------------------------------------- hostile text in exports

HOSTILE = "</script><script>alert(1)</script><!--<script>"


def hostile_chart(title: str = HOSTILE):
    """A chart whose title and data carry markup and terminal control characters, as a trace could."""
    import altair as alt
    import pandas as pd
    df = pd.DataFrame({"x": [1, 2], "task": [HOSTILE, "\x1b[31mred\x07\x00"]})
    return alt.Chart(df).mark_point().encode(x="x:Q", color="task:N").properties(title=title)


class _Scripts:
    """Every <script> element of a page, with its text (html.parser: what a browser tokenizer sees)."""

    def __init__(self, html: str):
        from html.parser import HTMLParser
        self.bodies: list[str] = []
        outer = self

        class P(HTMLParser):
            inside = False

            def handle_starttag(self, tag, attrs):
                if tag == "script":
                    outer.bodies.append("")
                    self.inside = True

            def handle_endtag(self, tag):
                if tag == "script":
                    self.inside = False

            def handle_data(self, data):
                if self.inside:
                    outer.bodies[-1] += data
        P().feed(html)


def test_html_export_cannot_be_scripted_by_chart_text(tmp_path):
    import json
    import re as _re
    plain = _Scripts(save(hostile_chart("plain title"), tmp_path / "plain.html").read_text())
    page = save(hostile_chart(), tmp_path / "x.html").read_text()
    scripts = _Scripts(page)
    # The hostile text opens and closes no element: as many scripts as a harmless page, none alert.
    assert len(scripts.bodies) == len(plain.bodies)
    assert not any(b.strip().startswith("alert") for b in scripts.bodies)
    assert "</script><script>" not in page and "<!--<script>" not in page
    # ... and it is still the chart's title, once the JavaScript string is decoded.
    spec = json.loads(_re.search(r"const spec = (\{.*\});", page).group(1))
    assert spec["title"] == HOSTILE


def test_svg_export_holds_hostile_text_as_text(tmp_path):
    root = ET.parse(save(hostile_chart(), tmp_path / "x.svg")).getroot()
    tags = {el.tag.rsplit("}", 1)[-1].lower() for el in root.iter()}
    assert "script" not in tags and "foreignobject" not in tags
    texts = svg_texts(root)
    assert HOSTILE in texts                                     # escaped by the writer, kept as text
    # C0 controls XML cannot hold (vl-convert aborted on them) become U+FFFD.
    assert any(t.startswith("\ufffd[31mred\ufffd") for t in texts)
    assert not any(ch in "".join(texts) for ch in "\x00\x07\x1b")


def test_svg_with_active_content_is_refused():
    with pytest.raises(ValueError, match="<script> element"):
        save_mod._check_svg('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    with pytest.raises(ValueError, match="active attribute onload"):
        save_mod._check_svg('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>')
    with pytest.raises(ValueError, match="active attribute href"):
        save_mod._check_svg('<svg xmlns="http://www.w3.org/2000/svg"><a href=" javascript:x()"/></svg>')
    with pytest.raises(ValueError, match="not well-formed"):
        save_mod._check_svg("<svg><g></svg>")


# --------------------------------------------------------------------------- bounded work

@pytest.mark.parametrize("scale", [1e6, 20.5, 0, -1, float("nan"), float("inf"), True, "2", 10**400])
def test_png_scale_is_bounded_like_the_cli(chart, tmp_path, scale):
    # scale=1e6 made vl-convert allocate a raster that aborted the interpreter (a Jupyter kernel)
    with pytest.raises(ValueError, match=r"scale=.* is not allowed; allowed: a number with 0 < scale <= 20"):
        save(chart, tmp_path / "x.png", scale=scale)
    with pytest.raises(ValueError, match="scale="):
        save_mod.chart_bytes(chart, "png", scale=scale)
    assert os.listdir(tmp_path) == []


def test_png_scale_at_the_bound_is_accepted(tmp_path):
    import altair as alt
    import pandas as pd
    tiny = alt.Chart(pd.DataFrame({"x": [1]})).mark_point().encode(x="x:Q").properties(width=5, height=5)
    w1 = int.from_bytes(save(tiny, tmp_path / "a.png", scale=1).read_bytes()[16:20], "big")
    w20 = int.from_bytes(save(tiny, tmp_path / "b.png", scale=save_mod.MAX_SCALE).read_bytes()[16:20], "big")
    assert save_mod.MAX_SCALE == 20 and w20 == 20 * w1


# --------------------------------------------------------------------------- saves: atomic, synced, modes

def _dead_pid() -> int:
    """The pid of a process that has exited (reaped)."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _store_files(store: Path) -> set[str]:
    return {str(p.relative_to(store)) for p in store.rglob("*") if p.is_file()}


def test_zarr_store_is_swapped_so_the_path_never_goes_missing(tmp_path, monkeypatch):
    old, new = example_simulation(steps=10), example_simulation(steps=6)
    p = save(old, tmp_path / "run.zarr")
    seen = []
    real_rename, real_replace = os.rename, os.replace

    def watch(real):
        def fn(a, b):
            real(a, b)
            seen.append((os.path.basename(a), os.path.exists(p) and (p / "zarr.json").exists()))
        return fn
    monkeypatch.setattr(save_mod.os, "rename", watch(real_rename))
    monkeypatch.setattr(save_mod.os, "replace", watch(real_replace))
    swaps = []
    real_exchange = save_mod._exchange

    def exchange(a, b):
        swaps.append(real_exchange(a, b))
        seen.append(("exchange", (p / "zarr.json").exists()))
        return swaps[-1]
    monkeypatch.setattr(save_mod, "_exchange", exchange)
    save(new, p)
    xr.testing.assert_identical(load(p), new)
    # renameat2(RENAME_EXCHANGE) swaps the stores in one step (tmpfs, ext4, xfs, btrfs have it):
    # after every rename or swap the path names a complete store.
    assert swaps == [True]
    assert seen and all(ok for _, ok in seen), seen
    assert os.listdir(tmp_path) == ["run.zarr"]


def test_zarr_fallback_swap_killed_between_renames_loses_nothing(tmp_path):
    """kill -9 between the fallback's two renames: the old store is recovered, leftovers removed."""
    old = example_simulation(steps=10)
    p = save(old, tmp_path / "run.zarr")
    code = textwrap.dedent(f"""
        import os
        from reclaimlab.viz import save as m
        from reclaimlab.testing import example_simulation
        m._exchange = lambda a, b: False            # a file system without RENAME_EXCHANGE
        m._between_renames = lambda: os._exit(9)    # killed between the two renames
        m.save(example_simulation(steps=6), {str(p)!r})
    """)
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=120)
    assert r.returncode == 9
    assert not p.exists()                                     # the kill left the path empty...
    names = os.listdir(tmp_path)
    assert any(n.endswith(".old") for n in names) and any(n.endswith(".tmp") for n in names)
    xr.testing.assert_identical(load(p), old)                 # ...and load() renames the old store back
    assert sorted(os.listdir(tmp_path)) == sorted([n for n in names if not n.endswith(".old")] + ["run.zarr"])
    new = example_simulation(steps=4)
    save(new, p)                                               # the next save removes the dead temporaries
    assert os.listdir(tmp_path) == ["run.zarr"]
    xr.testing.assert_identical(load(p), new)


def test_zarr_fallback_swap_interrupted_in_process_restores_the_old_store(tmp_path, monkeypatch):
    old = example_simulation(steps=10)
    p = save(old, tmp_path / "run.zarr")
    monkeypatch.setattr(save_mod, "_exchange", lambda a, b: False)

    def interrupted():
        raise KeyboardInterrupt
    monkeypatch.setattr(save_mod, "_between_renames", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save(example_simulation(steps=6), p)
    assert os.listdir(tmp_path) == ["run.zarr"]
    xr.testing.assert_identical(load(p), old)


@pytest.mark.parametrize("name, kind", [("t.txt", "file"), ("r.nc", "file"), ("r.zarr", "dir")])
def test_temporaries_of_killed_saves_are_removed_by_the_next_save(tmp_path, name, kind):
    dead, alive = _dead_pid(), os.getppid()
    stale = [tmp_path / f".{name}.{dead}.0123abcd.tmp", tmp_path / f".{name}.{dead}.89abcdef.tmp"]
    live = tmp_path / f".{name}.{alive}.0123abcd.tmp"           # a save still running elsewhere
    other = tmp_path / f".other{Path(name).suffix}.{dead}.0123abcd.tmp"   # another target's
    for t in stale + [live, other]:
        if kind == "dir":
            (t / "sub").mkdir(parents=True)
            (t / "sub" / "c.0").write_bytes(b"x" * 1000)
        else:
            t.write_bytes(b"partial")
    obj = "text" if name.endswith(".txt") else example_simulation(steps=5)
    save(obj, tmp_path / name)
    assert sorted(os.listdir(tmp_path)) == sorted([name, live.name, other.name])


def _fsynced(monkeypatch) -> list[str]:
    """Record the path of every fd save_mod fsyncs."""
    seen: list[str] = []
    real = os.fsync

    def spy(fd):
        seen.append(os.readlink(f"/proc/self/fd/{fd}"))
        return real(fd)
    monkeypatch.setattr(save_mod.os, "fsync", spy)
    return seen


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to name synced fds")
@pytest.mark.parametrize("suffix", [".txt", ".nc", ".zarr"])
def test_every_file_and_directory_is_synced_before_and_after_the_rename(tmp_path, monkeypatch, suffix):
    obj = "text" if suffix == ".txt" else example_simulation(steps=5)
    seen = _fsynced(monkeypatch)
    p = save(obj, tmp_path / f"x{suffix}")
    tmp_parts = [s for s in seen if os.path.basename(os.path.dirname(s)).startswith(".x") or ".tmp" in s]
    assert str(tmp_path) in seen                                   # the directory, after the rename
    if suffix == ".zarr":
        files = _store_files(p)
        synced = {s.split(f"/x{suffix}/", 1)[1] for s in seen if f"/x{suffix}/" in s}
        assert files <= synced                                     # every chunk and metadata file
        assert any(s.endswith(f"/x{suffix}") for s in tmp_parts)   # the store's own directory
    else:
        assert tmp_parts                                           # the file's data, before the rename
    assert seen.index(str(tmp_path)) > 0


@pytest.mark.parametrize("suffix", [".txt", ".svg", ".nc", ".zarr"])
def test_an_existing_target_keeps_its_mode(tmp_path, chart, suffix):
    obj = {".txt": "text", ".svg": chart}.get(suffix) or example_simulation(steps=5)
    p = save(obj, tmp_path / f"x{suffix}")
    want = 0o700 if suffix == ".zarr" else 0o600
    os.chmod(p, want)
    save(obj, p)
    assert (os.stat(p).st_mode & 0o777) == want


@pytest.mark.parametrize("suffix", [".txt", ".nc", ".zarr"])
def test_a_new_target_follows_the_umask(tmp_path, suffix):
    obj = "text" if suffix == ".txt" else example_simulation(steps=5)
    old = os.umask(0o027)
    try:
        p = save(obj, tmp_path / f"x{suffix}")
    finally:
        os.umask(old)
    assert (os.stat(p).st_mode & 0o777) == (0o750 if suffix == ".zarr" else 0o640)


def test_a_directory_in_the_way_of_a_file_target_is_named(tmp_path):
    (tmp_path / "x.txt").mkdir()
    with pytest.raises(IsADirectoryError, match=r"x\.txt.* is a directory"):
        save("text", tmp_path / "x.txt")
