"""Build of the optional native kernel; everything else is in pyproject.toml.

The extension is optional: where it cannot be compiled, dpa installs without it and
uses the pure-Python reference (``dpa.backend()`` says which is active).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "dpa._kernel._dpa_kernel",
            sources=["src/dpa/_kernel/dpa_kernel.c"],
            # No FMA contraction: lo + (hi - lo) * r must round exactly as Python does.
            extra_compile_args=["-O3", "-ffp-contract=off", "-fno-strict-aliasing", "-std=c11"],
            optional=True,
        )
    ]
)
