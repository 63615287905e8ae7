"""The ``reclaimlab`` command end to end (subprocess), and its argument errors."""
from __future__ import annotations

import io
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
