"""Builds reclaimlab._native, the one compiled module; everything else is in pyproject.toml.

It holds the integer arithmetic of do_shrink_slab() (reclaimlab/native/scan.c)
and the ftrace line scanner (reclaimlab/native/lexer.c) behind a CPython entry
point (reclaimlab/native/module.c). Arrays cross over through the buffer
protocol, so no numpy headers are needed to build it.
"""
from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "reclaimlab._native",
            sources=["reclaimlab/native/module.c", "reclaimlab/native/scan.c", "reclaimlab/native/lexer.c",
                     "reclaimlab/native/pairing.c", "reclaimlab/native/outbuf.c"],
            depends=["reclaimlab/native/native.h"],
            # -fwrapv: signed overflow wraps, as in the kernel (-fno-strict-overflow).
            extra_compile_args=["-O3", "-fwrapv", "-std=c11"],
        )
    ]
)
