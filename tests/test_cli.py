"""The ``reclaimlab`` command end to end (subprocess), and its argument errors."""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xarray as xr

import reclaimlab as rl
from reclaimlab import cli
from reclaimlab import figures as catalog
from reclaimlab.viz.save import load

from conftest import ROOT, SHIPPED
SCRIPT = ROOT / ".venv" / "bin" / "reclaimlab"


def run(*args: str, cwd: Path | None = None, script: bool = False) -> subprocess.CompletedProcess:
    cmd = [str(SCRIPT)] if script else [sys.executable, "-m", "reclaimlab"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(cmd + list(args), capture_output=True, text=True, cwd=cwd or ROOT, env=env,
                          timeout=300)


def check_text(out: str, width: int = 72) -> list[str]:
    assert out.isascii()
    lines = out.splitlines()
    assert lines and max(len(line) for line in lines) <= width
    return lines


def one_line_error(p: subprocess.CompletedProcess, *words: str) -> None:
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    err = p.stderr.strip().splitlines()
    assert len(err) == 1, p.stderr
    assert err[0].startswith("reclaimlab")
    for w in words:
        assert w in err[0], (w, err[0])


# --------------------------------------------------------------------------- subprocess

def test_formulas_table():
    p = run("formulas", script=SCRIPT.exists())
    assert p.returncode == 0, p.stderr
    lines = check_text(p.stdout)
    text = p.stdout
    for name in rl.formulas.names():
        assert any(line.startswith(name + " ") for line in lines), name
    assert "4.16 to 4.18" in text and "v4.17 v4.18" in text and "5.13 to 6.12" in text


def test_sweep_prints_numbers_of_rl_sweep_and_writes_nc(tmp_path):
    p = run("sweep", "--formulas", "v4.19,v5.0", "--freeable", "10,1000,1e6", "--calls", "100")
    assert p.returncode == 0, p.stderr
    lines = check_text(p.stdout)
    ds = rl.sweep(["v4.19", "v5.0"], freeable=[10, 1000, 10**6], priority=12, calls=100)
    i = next(k for k, line in enumerate(lines) if line.split()[:1] == ["objects"])
    for line in lines[i + 2:i + 5]:
        F, a, b = line.split()
        for f, cell in (("v4.19", a), ("v5.0", b)):
            want = float(ds.pressure.sel(formula=f, freeable=int(F)))
            assert abs(float(cell) - want) <= 0.005 * want + 1e-12
    out = tmp_path / "sweep.nc"
    p = run("sweep", "--formulas", "v4.19,v5.0", "--freeable", "10,1000,1e6", "--calls", "100", "--out", str(out))
    assert p.returncode == 0, p.stderr
    xr.testing.assert_identical(load(out), ds)


def test_figure_list_and_text_to_stdout():
    p = run("figure", "--list")
    assert p.returncode == 0, p.stderr
    names = p.stdout.split()
    assert names == list(catalog.names())
    assert all(re.fullmatch(r"[a-z0-9-]+", n) for n in names)
    assert {"pressure-172b06c32b94", "priority-heatmap"} <= set(names)
    assert p.stderr == ""
    p = run("figure", "pressure-172b06c32b94")
    assert p.returncode == 0, p.stderr
    check_text(p.stdout)
    assert p.stdout.rstrip("\n") == catalog.text("pressure-172b06c32b94")
    assert p.stderr == ""                               # no progress bar when stderr is not a tty


def test_figure_svg(tmp_path):
    out = tmp_path / "heat.svg"
    p = run("figure", "priority-heatmap", "--format", "svg", "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    root = ET.parse(out).getroot()
    texts = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "Scan pressure by reclaim priority and cache size" in texts


def test_figure_all_writes_the_catalogue(tmp_path, capsys):
    # in process: the catalogue's data are shared with the chart tests (built once per process)
    d = tmp_path / "figs"
    assert cli.main(["figure", "--all", "--out-dir", str(d), "--format", "txt", "--format", "svg"]) == 0
    want = sorted(f"{n}.{f}" for n in catalog.names() for f in ("txt", "svg"))
    assert sorted(os.listdir(d)) == want
    assert capsys.readouterr().out.split() == [str(d / w) for n in catalog.names() for w in
                                               (f"{n}.txt", f"{n}.svg")]
    for n in catalog.names():
        check_text((d / f"{n}.txt").read_text())
        assert ET.parse(d / f"{n}.svg").getroot().tag.endswith("svg")


def test_bad_arguments_exit_2_with_one_line():
    one_line_error(run("sweep", "--freeable", "abc"), "--freeable", "'abc'")
    one_line_error(run("figure", "no-such-figure"), "no-such-figure")
    one_line_error(run("bogus"), "bogus")


def test_simulate_and_compare(tmp_path):
    out = tmp_path / "run.nc"
    p = run("simulate", "compile-and-copy", "--formula", "v4.19", "--reduced", "--out", str(out))
    assert p.returncode == 0, p.stderr
    ds = load(out)
    assert {"time", "node", "cache"} <= set(ds.dims)
    assert ds.attrs["formula"] == "v4.19" and float(ds.workload_time) > 0
    p = run("compare", "compile-and-copy", "--formulas", "v4.19,v5.0", "--reduced")
    assert p.returncode == 0, p.stderr
    lines = check_text(p.stdout)
    assert lines[0].startswith("Scorecard") and "compile-and-copy:" in lines
    one_line_error(run("simulate", "no-such-scenario"), "no-such-scenario", "allowed")


# --------------------------------------------------------------------------- in process (fast)

@pytest.mark.parametrize("argv, words", [
    (["figure", "priority-heatmap", "--format", "bmp"], ["--format", "bmp"]),
    (["figure", "priority-heatmap", "--out", "x.bmp"], [".bmp", "allowed"]),
    (["figure", "priority-heatmap", "--format", "svg", "--out", "x.png"], ["x.png", ".svg"]),
    (["figure", "priority-heatmap", "--out", "/no/such/dir/x.svg"], ["/no/such/dir", "does not exist"]),
    (["figure"], ["name a figure"]),
    (["figure", "--list", "priority-heatmap"], ["--list"]),
    (["figure", "--all", "priority-heatmap"], ["--all"]),
    (["figure", "priority-heatmap", "--width", "10"], ["--width", "too narrow"]),
    (["figure", "priority-heatmap", "--scale", "-1"], ["--scale"]),
    (["sweep", "--priority", "0..x"], ["--priority", "'x'"]),
    (["sweep", "--freeable", "100..10"], ["--freeable", "backwards"]),
    (["sweep", "--calls", "0"], ["calls=0"]),
    (["sweep", "--formulas", "v9.9"], ["v9.9"]),
    (["sweep", "--figure", "pie"], ["--figure", "pie"]),
    (["formulas", "v9.9"], ["v9.9"]),
    (["trace", "read", "/no/such/trace"], ["/no/such/trace", "does not exist"]),
    (["trace", "replay", __file__], ["--formula"]),
    (["trace", "explode", __file__], ["explode"]),
    (["compare", "x", "--set", "novalue"], ["novalue", "KEY=VALUE"]),
])
def test_bad_arguments_in_process(argv, words, capsys):
    try:
        code = cli.main(argv)
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1, err
    for w in words:
        assert w in err[0], (w, err[0])
    assert err[0].isascii()


@pytest.mark.parametrize("sub", [[], ["formulas"], ["sweep"], ["simulate"], ["compare"], ["figure"], ["trace"]])
def test_help_everywhere(sub, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(sub + ["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: reclaimlab")


def test_no_command_prints_help_and_exits_2(capsys):
    assert cli.main([]) == 2
    assert "usage: reclaimlab" in capsys.readouterr().err


def test_progress_bar_only_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True
    quiet, tty = io.StringIO(), Tty()
    for stream in (quiet, tty):
        p = cli.Progress(stream)
        p("scorecard", 2, 5)
        p.close()
    assert quiet.getvalue() == ""
    assert "[" in tty.getvalue() and "2/5 scorecard" in tty.getvalue()


def test_sweep_ranges_and_unicode(capsys, tmp_path):
    assert cli.main(["sweep", "--formulas", "v4.19", "--freeable", "10..1e4", "--points", "4",
                     "--priority", "0..12", "--figure", "heatmap", "--unicode"]) == 0
    out = capsys.readouterr().out
    assert "10k" in out and "\n12 " in out
    assert cli.main(["sweep", "--formulas", "v4.19,v5.0", "--freeable", "1e3,1e6", "--priority", "0..12",
                     "--figure", "ratio", "--out", str(tmp_path / "r.txt")]) == 0
    assert (tmp_path / "r.txt").read_text().startswith("Small-cache vs large-cache pressure")


def test_python_dash_m_entry_point():
    import runpy
    assert "main" in runpy.run_module("reclaimlab.__main__", run_name="not_main")


TRACE = SHIPPED["6.12"]


def test_trace_read_replay_whatif(tmp_path, capsys):
    for argv in (["trace", "read", str(TRACE)], ["trace", "replay", str(TRACE), "--formula", "v5.13"],
                 ["trace", "whatif", str(TRACE), "--formula", "v4.19"]):
        assert cli.main(argv) == 0, argv
        check_text(capsys.readouterr().out)
    out = tmp_path / "replay.svg"
    assert cli.main(["trace", "replay", str(TRACE), "--formula", "v5.13", "--out", str(out)]) == 0
    texts = ["".join(t.itertext()) for t in ET.parse(out).getroot().iter("{http://www.w3.org/2000/svg}text")]
    assert "Trace replay: observed vs modelled" in texts
    assert cli.main(["trace", "whatif", str(TRACE), "--formula", "v4.19", "--out", str(tmp_path / "w.svg")]) == 2
    assert "has no chart" in capsys.readouterr().err
    assert not (tmp_path / "w.svg").exists()


# --------------------------------------------------------------------------- issue 20: bad input, exit 2, one line

def main_exit(argv) -> tuple[int, list[str], str]:
    """cli.main in process: (exit status, stderr lines, stdout)."""
    import contextlib
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as e:
            code = e.code
    return code, err.getvalue().strip().splitlines(), out.getvalue()


def assert_one_line(argv, *words):
    code, err, _ = main_exit(argv)
    assert code == 2, (code, err)
    assert len(err) == 1, err
    assert err[0].startswith("reclaimlab") and err[0].isascii(), err
    for w in words:
        assert w in err[0], (w, err[0])
    return err[0]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1..inf", "nan..10", "1e400"])
def test_sweep_non_finite_freeable_is_one_line(value):
    assert_one_line(["sweep", f"--freeable={value}"], "--freeable", "finite")


def test_sweep_huge_points_calls_and_sizes_are_refused_before_any_work():
    assert_one_line(["sweep", "--points", str(10**11)], "--points", "1000")
    assert_one_line(["sweep", "--calls", str(10**13)], "calls=10000000000000", "MAX_CALL_POINTS")
    assert_one_line(["sweep", "--freeable", "1e30"], "freeable", "9223372036854775807")


def test_output_errors_of_the_os_are_one_line(tmp_path):
    (tmp_path / "dir.txt").mkdir()
    assert_one_line(["sweep", "--formulas", "v5.0", "--freeable", "10", "--out", str(tmp_path / "dir.txt")],
                    str(tmp_path / "dir.txt"), "directory")
    (tmp_path / "file").write_text("x")
    assert_one_line(["figure", "priority-heatmap", "--format", "txt", "--out-dir", str(tmp_path / "file" / "d")],
                    str(tmp_path / "file"))
    assert_one_line(["sweep", "--freeable", "10", "--out", str(tmp_path / "file" / "x.txt")],
                    str(tmp_path / "file"), "is not a directory")
    assert_one_line(["figure", "--all", "--format", "txt", "--out-dir", str(tmp_path / "file" / "d")],
                    str(tmp_path / "file"), "Not a directory")
    assert sorted(os.listdir(tmp_path)) == ["dir.txt", "file"]


def test_an_unwritable_output_directory_is_one_line(tmp_path, monkeypatch):
    # root writes anywhere, so the refusal of a read-only directory is simulated at os.open
    import errno
    from reclaimlab.viz import save as save_mod

    def denied(path, *a, **k):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))
    monkeypatch.setattr(save_mod.os, "open", denied)
    line = assert_one_line(["sweep", "--formulas", "v5.0", "--freeable", "10", "--out", str(tmp_path / "s.txt")],
                           "--out", str(tmp_path / "s.txt"), "Permission denied")
    assert ".tmp" not in line                                   # the target is named, not the temporary
    assert os.listdir(tmp_path) == []


def test_trace_files_that_cannot_be_read_are_one_line(tmp_path, monkeypatch):
    import errno
    import importlib
    assert_one_line(["trace", "read", str(tmp_path)], str(tmp_path), "is a directory")
    assert_one_line(["trace", "read", str(ROOT / "README.md")], "README.md", "no mm_shrink_slab_start/end events")
    assert_one_line(["trace", "read", str(tmp_path / "gone.txt")], "gone.txt", "does not exist")
    locked = tmp_path / "locked.txt"
    locked.write_text("x\n")
    read_mod = importlib.import_module("reclaimlab.trace.read")

    def denied(path, *a, **k):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))
    monkeypatch.setattr(read_mod, "open", denied, raising=False)
    assert_one_line(["trace", "read", str(locked)], "locked.txt", "Permission denied")


# --------------------------------------------------------------------------- hostile and damaged traces

HOSTILE_LINE = ("\x1b]0;pwned\x07ev\x1b[2Jil-93 [003] .... 1.0: mm_shrink_slab_start: "
                "x\x1b[31m_scan+0x0/0x1a0 00000000b5d3f2a1: nid: 0 objects to shrink 0 gfp_flags "
                "GFP_KERNEL cache items 312 delta 312 total_scan 312 priority 12\n")


@pytest.mark.parametrize("unicode", [False, True])
@pytest.mark.parametrize("action", ["read", "replay", "whatif"])
def test_terminal_escapes_from_a_trace_never_reach_the_terminal(tmp_path, action, unicode):
    p = tmp_path / "t.txt"
    p.write_text(HOSTILE_LINE * 3)
    argv = ["trace", action, str(p)] + (["--formula", "v4.19"] if action != "read" else [])
    code, err, out = main_exit(argv + (["--unicode"] if unicode else []))
    assert code == 0, err
    assert out.strip()
    bad = [c for c in out if (ord(c) < 32 and c != "\n") or 0x7F <= ord(c) < 0xA0]
    assert bad == []
    if action != "whatif":
        assert "_scan" in out                                    # the name is still shown, defused


def test_text_helpers_strip_control_characters():
    from reclaimlab.viz.textkit import ascii_safe, finish, strip_controls
    s = "a\x1b[31mb\x07c\x9bd\u202ee\tf\r\x00g"
    assert strip_controls(s) == "a?[31mb?c?d?e f??g"
    for unicode in (False, True):
        out = ascii_safe(s, unicode)
        assert not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 or c == "\u202e" for c in out), repr(out)
    assert finish(["x\x1b[0m", "\x1bq"], 40) == "x?[0m\n?q"
    assert strip_controls("line 1\nline 2") == "line 1\nline 2"


def damaged_trace(tmp_path) -> Path:
    """The shipped 6.12 capture cut short: the .xz stream ends in the middle."""
    p = tmp_path / "cut.trace.xz"
    p.write_bytes(TRACE.read_bytes()[:20_000])
    return p


@pytest.mark.parametrize("action", ["replay", "whatif"])
def test_replay_and_whatif_of_a_damaged_trace_say_so(tmp_path, action):
    p = damaged_trace(tmp_path)
    code, err, out = main_exit(["trace", action, str(p), "--formula", "v5.13"])
    assert code == 0, err
    lines = check_text(out)
    text = " ".join(out.split())
    assert "damaged" in text and "only the events before the damage" in text, out
    assert lines[0].startswith("Trace")                          # the report's title stays first
    # ... and to a file: the text says it, and a Dataset keeps it in its attrs
    assert cli.main(["trace", action, str(p), "--formula", "v5.13", "--out", str(tmp_path / "r.txt")]) == 0
    assert "damaged" in (tmp_path / "r.txt").read_text()
    assert cli.main(["trace", action, str(p), "--formula", "v5.13", "--out", str(tmp_path / "r.nc")]) == 0
    assert "damaged" in load(tmp_path / "r.nc").attrs["trace_damage"]


def test_replay_of_an_undamaged_trace_has_no_warning(capsys):
    assert cli.main(["trace", "replay", str(TRACE), "--formula", "v5.13"]) == 0
    assert "damaged" not in capsys.readouterr().out


# --------------------------------------------------------------------------- issue 20: simulation parameters

@pytest.mark.parametrize("setting, words", [
    ("duration_s=1e9", ["duration_s=1000000000.0", "MAX_STEPS"]),
    ("dt_s=1e-9", ["dt_s=1e-09", "MAX_STEPS"]),
    ("disk_read_ms=Infinity", ["disk_read_ms=inf", "finite"]),
    ("disk_read_ms=NaN", ["disk_read_ms=nan", "finite"]),
    ('node_pages="lots"', ["node_pages='lots'", "B, KiB, MiB, GiB"]),
    ("duration_s=5GiB", ["duration_s='5GiB'", "node_pages"]),
    ("node_pages=6KiB", ["node_pages='6KiB'", "whole number of 4 KiB pages"]),
    ("kswapd=1", ["kswapd=1", "True or False"]),
    ("nodes=2.5", ["nodes=2.5", "integer"]),
    ("nodes=100000", ["nodes=100000", "<= 1024"]),
])
def test_bad_simulation_settings_are_one_line(setting, words):
    assert_one_line(["simulate", "desktop-copy", "--reduced", "--set", setting], *words)


def test_unit_strings_set_sizes_in_pages(tmp_path):
    out = tmp_path / "run.nc"
    code, err, _ = main_exit(["simulate", "desktop-copy", "--reduced", "--set", "node_pages=2GiB",
                              "--set", "anon_pages=512 MiB", "--set", "min_free_kbytes=16MiB",
                              "--set", "duration_s=2", "--out", str(out)])
    assert code == 0, err
    params = json.loads(load(out).attrs["params"])
    assert (params["node_pages"], params["anon_pages"], params["min_free_kbytes"]) == (524288, 131072, 16384)


# --------------------------------------------------------------------------- issue 18 item 3: kernels

def test_simulate_under_a_kernel_prints_the_kernel_and_the_completion_time():
    """simulate prints rl.text.summary: the kernel, its formula and rules, the job's time."""
    from reclaimlab.viz.textkit import fmt

    code, err, out = main_exit(["simulate", "compile-and-copy", "--kernel", "4.19.3", "--reduced",
                                "--set", "duration_s=20"])
    assert code == 0, err
    lines = check_text(out)
    head = " ".join(" ".join(lines[:4]).split())
    assert "kernel 4.19.3" in head and "formula v4.19" in head
    text = " ".join(out.split())
    assert "v4.19: inode rule a76cf1a474d7" in text
    ds = rl.simulate("compile-and-copy", kernel="4.19.3", reduced=True, duration_s=20.0)
    assert f"workload time (s) {fmt(float(ds.workload_time))}" in text
    assert ("not finished within the run, extrapolated" in text) == (not ds.workload_time.attrs["finished"])
    assert out.startswith(rl.text.summary(ds, provenance=False))
    assert out.count("reclaimlab simulate compile-and-copy") == 1   # one provenance line, the figure's


def test_simulate_without_a_timed_workload_says_so(tmp_path):
    code, err, out = main_exit(["simulate", "desktop-copy", "--formula", "v5.0", "--reduced",
                                "--set", "duration_s=2", "--out", str(tmp_path / "r.nc")])
    assert code == 0, err
    text = " ".join(out.split())
    assert "formula v5.0" in text and "no timed workload" in text


def test_a_kernel_and_a_formula_that_disagree_are_one_line():
    assert_one_line(["simulate", "compile-and-copy", "--kernel", "4.19.3", "--formula", "v5.0"],
                    "disagrees", "4.19.3", "v4.19")
    assert_one_line(["simulate", "compile-and-copy", "--kernel", "2.6"], "kernel='2.6'", "known kernels")
    assert_one_line(["compare", "compile-and-copy", "--kernel", "4.19", "--formulas", "v5.0"],
                    "--kernel", "--formulas")


def test_compare_kernels_makes_the_headline_table():
    code, err, out = main_exit(["compare", "compile-and-copy", "--kernel", "4.18", "4.19", "4.19.3", "5.0",
                                "--reduced", "--set", "duration_s=20"])
    assert code == 0, err
    lines = check_text(out)
    start = lines.index("compile-and-copy:") + 3                # the scenario, the header, the rule
    rows = lines[start:lines.index("", start)]
    assert [r.split()[0] for r in rows] == ["4.18", "4.19", "4.19.3", "5.0"]
    assert all(len(r.split()) == 7 for r in rows)                # every measure filled in


def test_compare_kernels_through_the_api():
    ds = rl.compare("desktop-copy", kernels=["4.19", "4.19.3"], reduced=True, duration_s=2.0)
    assert ds.formula.values.tolist() == ["4.19", "4.19.3"]
    assert ds.kernel.values.tolist() == ["4.19", "4.19.3"]
    assert ds.kernel_formula.values.tolist() == ["v4.19", "v4.19"]
    assert ds.inode_rule.values.tolist() == ["v4.18", "a76cf1a474d7"]


@pytest.mark.parametrize("width", [72, 50])
def test_formulas_name_keeps_to_the_width(width):
    for name in rl.formulas.names():
        code, err, out = main_exit(["formulas", name, "--width", str(width)])
        assert code == 0, err
        check_text(out, width)
        words = " ".join(rl.formulas.describe(name).split())
        assert " ".join(out.split()) == words                   # rewrapped, nothing lost


def test_figure_kernel_rebuilds_a_simulation_figure_under_those_kernels(capsys):
    assert cli.main(["figure", "compile-and-copy-timeline", "--kernel", "4.18", "4.19.3"]) == 0
    out = capsys.readouterr().out
    check_text(out)
    assert "formula 4.19.3" in out and "reclaimlab compare compile-and-copy --kernel 4.18" in " ".join(out.split())
    one_line_error(run("figure", "priority-heatmap", "--kernel", "4.18"), "priority-heatmap", "formula sweep")
    one_line_error(run("figure", "scorecard", "--kernel", "9.9"), "kernel='9.9' is unknown")
    one_line_error(run("figure", "--all", "--kernel", "4.18"), "--kernel rebuilds one figure")
