"""Build of the optional native kernel; everything else is in pyproject.toml.

The extension is optional: where it cannot be compiled, dpa installs without it and
uses the pure-Python reference (``dpa.backend()`` says which is active).
"""

import os

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class BuildFromSources(build_ext):
    """Compile the kernel from its C source every time: an extension left by an
    earlier build (in ``build/`` or, with ``--inplace``, in the source tree) is removed
    first, so a build whose compiler fails ships no kernel rather than a stale one."""

    def build_extension(self, ext: Extension) -> None:
        target = self.get_ext_fullpath(ext.name)
        if os.path.exists(target):
            os.remove(target)
        super().build_extension(ext)


setup(
    cmdclass={"build_ext": BuildFromSources},
    ext_modules=[
        Extension(
            "dpa._kernel._dpa_kernel",
            sources=["src/dpa/_kernel/dpa_kernel.c", "src/dpa/_kernel/dpa_images.c"],
            # No FMA contraction: lo + (hi - lo) * r must round exactly as Python does, and
            # an image operation as the reference does (its two FMAs are written as fmaf).
            extra_compile_args=["-O3", "-ffp-contract=off", "-fno-strict-aliasing", "-std=c11"],
            optional=True,
        )
    ],
)
