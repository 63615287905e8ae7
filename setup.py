"""Builds reclaimlab._native, the one compiled module; everything else is in pyproject.toml.

It holds the integer arithmetic of do_shrink_slab() (reclaimlab/native/scan.c),
the ftrace line scanner (reclaimlab/native/lexer.c), the simulator's
scalar draws (reclaimlab/native/draws.c) and its ordered lists' proportional
removals (reclaimlab/native/cohorts.c) behind a CPython entry point
(reclaimlab/native/module.c). Arrays cross over through the buffer protocol.

The draws must be numpy's own, number for number, so draws.c is linked with
the static library numpy ships for C extensions (numpy/random/lib/libnpyrandom.a
and its headers, numpy's "Extending via C" recipe), taken from the numpy this
build imports (a build requirement in pyproject.toml). The module records that
numpy's version; reclaimlab.sim.draw uses the C draws only under the same numpy
at run time. Without that library the module builds without them and the
simulator makes the same draws through numpy's Python API, more slowly.
"""
import os

from setuptools import Extension, setup

SOURCES = ["reclaimlab/native/module.c", "reclaimlab/native/scan.c", "reclaimlab/native/lexer.c",
           "reclaimlab/native/pairing.c", "reclaimlab/native/outbuf.c", "reclaimlab/native/cohorts.c"]


def numpy_random() -> dict:
    """Extension keywords adding draws.c and numpy's libnpyrandom, or {} when numpy lacks them."""
    try:
        import numpy
    except ImportError:
        return {}
    include = numpy.get_include()
    lib = os.path.join(os.path.dirname(numpy.__file__), "random", "lib")
    if not (os.path.exists(os.path.join(lib, "libnpyrandom.a"))
            and os.path.exists(os.path.join(include, "numpy", "random", "distributions.h"))):
        return {}
    return {
        "sources": ["reclaimlab/native/draws.c"],
        "include_dirs": [include],
        "library_dirs": [lib],
        "libraries": ["npyrandom", "m"],
        "define_macros": [("RL_DRAWS_NUMPY", f'"{numpy.__version__}"')],
    }


draws = numpy_random()
setup(
    ext_modules=[
        Extension(
            "reclaimlab._native",
            sources=SOURCES + draws.pop("sources", []),
            depends=["reclaimlab/native/native.h"],
            # -fwrapv: signed overflow wraps, as in the kernel (-fno-strict-overflow).
            extra_compile_args=["-O3", "-fwrapv", "-std=c11"],
            **draws,
        )
    ]
)
