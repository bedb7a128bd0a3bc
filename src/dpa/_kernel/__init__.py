"""The optional native kernel: loading it and preparing its inputs.

``KERNEL`` is the compiled module, or ``None`` where it was not built; then
``IMPORT_ERROR`` says why. It has two parts: the parameters' hash chain and draws
(``dpa_kernel.c``: ``Chain``), which :mod:`dpa._generate` uses, and the image
operations of ``apply_params`` (``dpa_images.c``: ``apply_images``), which
:mod:`dpa.integrations._native` uses; each caller picks this kernel or its Python
reference. Nothing here runs either itself.
"""

from __future__ import annotations

import importlib.machinery
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

from .._config import AugmentationConfig
from .._core import fib_salts

KERNEL: ModuleType | None
IMPORT_ERROR: str | None
try:
    from . import _dpa_kernel as KERNEL

    IMPORT_ERROR = None
except ImportError as exc:  # not built (no compiler at install time, or another platform)
    KERNEL = None
    IMPORT_ERROR = str(exc)
    _built = [
        path
        for suffix in importlib.machinery.EXTENSION_SUFFIXES
        for path in Path(__file__).parent.glob(f"_dpa_kernel{suffix}")
    ]
    if not _built:  # Python's own words would speak of a circular import
        IMPORT_ERROR = (
            "it was not built: no compiled _dpa_kernel extension beside "
            f"{Path(__file__).parent}; dpa was installed without a working C compiler"
        )


@lru_cache(maxsize=64)
def chain(depth: int) -> Any:
    """The kernel's prepared chain for ``depth`` steps (immutable, shared by threads)."""
    assert KERNEL is not None
    return KERNEL.Chain(fib_salts(depth))


def packed_ranges(config: AugmentationConfig) -> bytes:
    """``(lo, hi - lo)`` of each parameter as the ten float64 the kernel takes.

    Each is what Python's ``lo + (hi - lo) * r`` turns an int bound into: the int
    difference, then one rounding to float.
    """
    return config._packed_ranges
