"""The native image kernel behind ``apply_params`` on the CPU (float32 and uint8
images), shared by :mod:`dpa.integrations.torch` and :mod:`dpa.integrations.numpy`.

The kernel (``apply_images`` in ``dpa/_kernel/dpa_images.c``) computes exactly what
the reference computes (:mod:`dpa.integrations.numpy`, the definition in
:mod:`dpa.integrations`), bit for bit, one image at a time, without the GIL: a batch
is split across ``threads`` threads. Everything it is given comes from here, rounded
as the reference rounds it: ``theta`` and the per-image numbers in float32, the pixel
centres, the grayscale weights and the Box-Muller tables.

It is used where the native backend is (:func:`dpa.backend`; ``DPA_BACKEND=python``
turns it off); elsewhere the callers use their reference code, with the same results.

Example:
    >>> import numpy as np
    >>> from dpa.integrations._params import normalize
    >>> images = np.full((2, 3, 4, 4), 0.5, np.float32)
    >>> out = np.empty_like(images)
    >>> if available():
    ...     apply_into(images, out, normalize({"brightness": [1.0, 1.5]}, 2), threads=1)
    ... else:
    ...     out[:] = images * np.array([1.0, 1.5], np.float32)[:, None, None, None]
    >>> out[:, 0, 0, 0].tolist()
    [0.5, 0.75]
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import _backends, _kernel
from ._params import GRAY_WEIGHTS, Params, pixel_centres, theta_matrices
from .noise import box_muller_tables

__all__ = ["apply_into", "available", "image_numbers"]


def available() -> bool:
    """Whether ``apply_params`` uses the native kernel: it is built (with its image
    functions: a kernel built before them has none) and the backend in use
    (:func:`dpa.backend`) is the native one."""
    kernel = _kernel.KERNEL
    return hasattr(kernel, "apply_images") and _backends.backend() == "native"


def image_numbers(
    p: Params, height: int, width: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.uint32], npt.NDArray[np.uint8]]:
    """Each image's numbers as the kernel takes them: float32 ``[B, 8]`` (``theta``'s
    four values, brightness, contrast, ``1 - contrast``, noise, each rounded once from
    float64, as the reference rounds them), the noise keys (uint32 ``[B, 2]``, zeros
    where there is no noise) and whether each image is warped (uint8 ``[B]``)."""
    batch = len(p.rotation)
    numbers = np.empty((batch, 8), dtype=np.float32)
    numbers[:, :4] = theta_matrices(p.rotation, p.scale, height, width).reshape(batch, 4)
    numbers[:, 4] = p.brightness
    numbers[:, 5] = p.contrast
    numbers[:, 6] = 1.0 - p.contrast
    numbers[:, 7] = p.noise
    keys = np.zeros((batch, 2), dtype=np.uint32)
    if p.keys is not None:
        keys[:] = p.keys
    warp = (~((p.rotation == 0) & (p.scale == 1))).astype(np.uint8)
    return numbers, keys, warp


def apply_into(
    src: npt.NDArray[Any], dst: npt.NDArray[np.float32], p: Params, threads: int
) -> None:
    """Write ``src`` (C-contiguous ``[B, C, H, W]``, float32, or uint8 read as
    ``x / 255``) augmented by ``p`` into ``dst`` (C-contiguous float32, the same shape),
    on up to ``threads`` threads, which take the images one at a time."""
    batch, channels, height, width = src.shape
    numbers, keys, warp = image_numbers(p, height, width)
    radius, cossin = _tables()
    xs, ys = _centres(width), _centres(height)
    kernel = _kernel.KERNEL
    assert kernel is not None
    byte_input = src.dtype == np.uint8
    threads = max(1, min(threads, batch))
    cursor = np.zeros(1, dtype=np.int64) if threads > 1 else None

    def fill() -> None:
        kernel.apply_images(
            src, dst, byte_input, (batch, channels, height, width), xs, ys, _GRAY,
            numbers, keys, warp, radius, cossin, 0, batch, cursor,
        )  # fmt: skip

    on_threads(fill, threads)


def on_threads(call: Callable[[], None], threads: int) -> None:
    """``call()`` on ``threads`` threads at once (this one included); the first error
    is raised."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # re-raised below, in the caller's thread
            errors.append(exc)

    helpers = [threading.Thread(target=run, daemon=True) for _ in range(threads - 1)]
    for helper in helpers:
        helper.start()
    run()
    for helper in helpers:
        helper.join()
    if errors:
        raise errors[0]


_GRAY = np.array(GRAY_WEIGHTS, dtype=np.float32)


@functools.lru_cache(maxsize=16)
def _centres(size: int) -> npt.NDArray[np.float32]:
    return pixel_centres(size).astype(np.float32)


@functools.cache
def _tables() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """``RAD``, and ``COS`` and ``SIN`` side by side (``[COS[b], SIN[b]]`` at ``2 b``)."""
    radius, cos, sin = box_muller_tables()
    return radius, np.stack([cos, sin], axis=1).reshape(-1)
