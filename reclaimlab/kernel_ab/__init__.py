"""Real Linux 6.1 kernels against the model on one workload (issue 21; docs/kernel-ab.md).

Three 6.1 kernels (stock, + the 172b06c32b94 floor, + Rik van Riel's
accumulator) ran the same workload under qemu; their captures ship in
``reclaimlab/data/kernel-ab``. This package reads them (:mod:`.real`),
describes the workload as a scenario measured from a capture
(:mod:`.workload`), simulates it under the formula each kernel runs and puts
both sides in one Dataset (:func:`comparison`), drawn by :func:`text` and
:func:`chart` (:mod:`.figure`).

Examples
--------
>>> from reclaimlab.kernel_ab import load, measure
>>> m = measure(load(variants=["stock"])["stock"])
>>> m.mem_total_pages * 4 // 1024, round(m.page_inflow_per_s)
(491, 8987)

``comparison()`` (about 6 s: three simulations) gives the Dataset;
``text(cmp)`` and ``chart(cmp)`` draw it.
"""
from .compare import comparison, sensitivity
from .figure import chart, order, text
from .real import Capture, load
from .report import summary, summary_text
from .workload import DESCRIPTIONS, Measured, measure, scenario

__all__ = ["comparison", "sensitivity", "text", "chart", "order", "load", "Capture", "summary",
           "summary_text", "measure", "Measured", "scenario", "DESCRIPTIONS"]
