"""Builds the C arithmetic of do_shrink_slab(); everything else is in pyproject.toml."""
from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "reclaimlab.kernel._scan",
            sources=["reclaimlab/kernel/_scan.c"],
            # -fwrapv: signed overflow wraps, as in the kernel (-fno-strict-overflow).
            extra_compile_args=["-O3", "-fwrapv", "-std=c11"],
        )
    ]
)
