"""End-to-end test of scripts/capture-kernel-trace.sh (opt-in).

The capture downloads a Debian kernel package, boots it under qemu (TCG) and runs a
memory-pressure workload: several minutes of two CPU cores, root for apt-get, and the
Debian archive.  So it only runs when asked for:

    RECLAIMLAB_CAPTURE=1 python -m pytest -m capture tests/test_capture_script.py

It works in a fresh temporary directory, so the kernel is downloaded again (~110 MB);
set RECLAIMLAB_CAPTURE_WORKDIR=/tmp/rl-capture to reuse an existing download cache.
"""

from __future__ import annotations

import lzma
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT as REPO
SCRIPT = REPO / "scripts" / "capture-kernel-trace.sh"

pytestmark = [
    pytest.mark.capture,
    pytest.mark.skipif(
        os.environ.get("RECLAIMLAB_CAPTURE") != "1",
        reason="boots a real Debian kernel under qemu for several minutes (needs root, apt "
        "and the Debian archive); set RECLAIMLAB_CAPTURE=1 to run it",
    ),
]

XZ_MAGIC = b"\xfd7zXZ\x00"
START = re.compile(
    r"^\s*.+-\d+\s+\[\d+\]\s+\S+\s+\d+\.\d+: mm_shrink_slab_start: \S+( \[\w+\])? [0-9a-f]+: "
    r"nid: \d+ objects to shrink -?\d+ gfp_flags \S+ cache items \d+ delta \d+ "
    r"total_scan \d+ priority \d+$"
)
END = re.compile(
    r"^\s*.+-\d+\s+\[\d+\]\s+\S+\s+\d+\.\d+: mm_shrink_slab_end: \S+( \[\w+\])? [0-9a-f]+: "
    r"nid: \d+ unused scan count -?\d+ new scan count -?\d+ total_scan -?\d+ "
    r"last shrinker return val -?\d+$"
)


def test_capture_6_12_end_to_end(tmp_path: Path) -> None:
    if shutil.which("apt-get") is None:
        pytest.skip("needs a Debian host with apt-get")
    out = tmp_path / "out" / "capture.trace.xz"
    work = os.environ.get("RECLAIMLAB_CAPTURE_WORKDIR") or str(tmp_path / "work")

    proc = subprocess.run(
        ["bash", str(SCRIPT), "--kernel", "6.12", "--output", str(out), "--workdir", work],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert proc.returncode == 0, f"capture failed:\n{proc.stderr[-4000:]}"

    # written atomically: only the final file is left in the output directory
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]
    data = out.read_bytes()
    assert data.startswith(XZ_MAGIC), "output is not an xz file"
    text = lzma.decompress(data).decode("utf-8")
    lines = text.splitlines()

    header = [ln for ln in lines if ln.startswith("#")]
    events = [ln for ln in lines if not ln.startswith("#")]
    assert lines[: len(header)] == header, "'#' lines must all come first"
    assert any("Debian package linux-image-6.12." in ln for ln in header)
    assert any("memory 512M, cpus 2" in ln for ln in header)

    starts = [ln for ln in events if " mm_shrink_slab_start: " in ln]
    ends = [ln for ln in events if " mm_shrink_slab_end: " in ln]
    assert starts and ends
    assert len(starts) == len(ends)
    bad = [ln for ln in starts if not START.match(ln)] + [ln for ln in ends if not END.match(ln)]
    assert not bad, f"unexpected line format: {bad[:3]}"
    # the workload ends with drop_caches, which shrinks at priority 0
    assert any(ln.endswith(" priority 0") for ln in starts)
