"""Apply the parameters to numpy images: the readable reference of the operations.

Needs numpy only (``dpa preview`` uses it). The operations are defined in
:mod:`dpa.integrations`; this module is that definition in numpy, and the native
kernel (:mod:`dpa.integrations._native`) computes the same values, bit for bit,
much faster: :func:`apply_params` uses it for float32, float16 and uint8 images where
it is built (``DPA_BACKEND=python`` keeps to the code here). torch on the CPU and
TensorFlow run eagerly give the same values; on a GPU and in a ``tf.function`` the
warp agrees within float tolerance, everything else exactly.

Example:
    >>> import numpy as np
    >>> image = np.random.default_rng(0).random((3, 8, 8), dtype=np.float32)
    >>> identity = {"rotation": 0.0, "brightness": 1.0, "contrast": 1.0, "scale": 1.0, "noise": 0.0}
    >>> bool((apply_params(image, identity) == image).all())
    True
    >>> apply_params((image * 255).astype(np.uint8), {"brightness": 1.1}).dtype
    dtype('float32')
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .._validate import check_int
from . import _native
from ._params import (
    GRAY_WEIGHTS as GRAY_WEIGHTS,
    Params,
    check_image_size,
    normalize,
    pixel_centres,
    theta_matrices,
)
from .noise import MAX_ELEMENTS, gaussian_noise_from_keys

__all__ = ["apply_params", "base_grid", "fma", "grayscale_mean", "reference"]

FloatImage = npt.NDArray[np.floating[Any]]


def apply_params(images: npt.NDArray[Any], params: Any, *, threads: int = 1) -> FloatImage:
    """``images`` (``[C, H, W]`` or ``[B, C, H, W]``) augmented by ``params`` (a dict,
    a list of dicts or a :class:`dpa.ParamBatch`); see :mod:`dpa.integrations` for
    what each parameter does.

    Float images (values in ``[0, 1]``) come back in their dtype; ``uint8`` images
    (``0 .. 255``, what decoders give) are read as ``x / 255`` (in float32) and come
    back as float32. ``threads``: how many threads share a batch (the native kernel
    releases the GIL; the results are the same for any number).
    """
    images = np.asarray(images)
    if images.dtype.kind != "f" and images.dtype != np.uint8:
        raise TypeError(f"images must be float arrays in [0, 1] or uint8, got {images.dtype}")
    if images.ndim not in (3, 4):
        raise ValueError(f"images must be [C, H, W] or [B, C, H, W], got shape {images.shape}")
    threads = check_int(threads, "threads", 1)
    single = images.ndim == 3
    x: Any = images[None] if single else images
    batch, channels, height, width = x.shape
    check_image_size(x.shape)
    p = normalize(params, batch)
    if channels * height * width > MAX_ELEMENTS:
        raise ValueError(f"images of more than 2**31 elements are not supported, got {x.shape}")
    out_dtype = np.float32 if images.dtype == np.uint8 else images.dtype
    if images.dtype != np.float64 and _native.available():
        src = x if x.dtype in (np.float32, np.uint8) else x.astype(np.float32)
        out: Any = np.empty(x.shape, dtype=np.float32)
        _native.apply_into(np.ascontiguousarray(src), out, p, threads)
    else:
        out = reference(x, p)
    out = out.astype(out_dtype, copy=False)
    return out[0] if single else out  # type: ignore[no-any-return]


def reference(x: npt.NDArray[Any], p: Params) -> FloatImage:
    """The definition, step by step, on ``[B, C, H, W]`` images (``uint8`` read as
    ``x / 255``), in float32 (float64 for float64 images)."""
    work = np.float64 if x.dtype == np.float64 else np.float32
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / np.float32(255)
    x = x.astype(work)
    channels, height, width = x.shape[1:]

    warp = ~((p.rotation == 0) & (p.scale == 1))
    if warp.any():
        theta = theta_matrices(p.rotation, p.scale, height, width).astype(work)
        warped = _grid_sample(x, _grid(theta, height, width, work))
        x = np.where(warp[:, None, None, None], warped, x)

    x = np.clip(x * p.brightness.astype(work)[:, None, None, None], 0, 1)

    mean: Any = grayscale_mean(x).astype(work)[:, None, None, None]
    contrast: Any = p.contrast.astype(work)[:, None, None, None]
    rest: Any = (1.0 - p.contrast).astype(work)[:, None, None, None]
    x = np.clip(contrast * x + rest * mean, 0, 1)

    if p.keys is not None:
        z: Any = gaussian_noise_from_keys(p.keys, (channels, height, width)).astype(work)
        noise: Any = p.noise.astype(work)[:, None, None, None]
        x = np.clip(x + noise * z, 0, 1)
    return x


def base_grid(size: int, dtype: Any) -> Any:
    """Pixel centres in normalized coordinates (``align_corners=False``):
    ``(2 i + 1) / size - 1``, computed in float64, then rounded to ``dtype``."""
    return pixel_centres(size).astype(dtype)


def _grid(theta: Any, height: int, width: int, dtype: Any) -> tuple[Any, Any]:
    xs = base_grid(width, dtype)[None, None, :]
    ys = base_grid(height, dtype)[None, :, None]
    t = theta[:, :, :, None, None]
    return t[:, 0, 0] * xs + t[:, 0, 1] * ys, t[:, 1, 0] * xs + t[:, 1, 1] * ys


def _grid_sample(x: Any, grid: tuple[Any, Any]) -> Any:
    """``grid_sample(x, grid, "bilinear", "zeros", align_corners=False)``, computed as
    torch's vectorized CPU kernel computes it: the position ``(g + 1) * size / 2 - 0.5``
    and the weighted sum of the four neighbours as fused multiply-adds (:func:`fma`)."""
    batch, channels, height, width = x.shape
    gx, gy = grid
    dtype = x.dtype.type
    ix = fma(gx + dtype(1), dtype(width / 2), dtype(-0.5))
    iy = fma(gy + dtype(1), dtype(height / 2), dtype(-0.5))
    x0 = np.floor(ix)
    y0 = np.floor(iy)
    east = ix - x0
    west = dtype(1) - east
    south = iy - y0
    north = dtype(1) - south
    corners = (
        (x0, y0, north * west),
        (x0 + 1, y0, north * east),
        (x0, y0 + 1, south * west),
        (x0 + 1, y0 + 1, south * east),
    )
    flat = x.reshape(batch, channels, height * width)
    terms = []
    for cx, cy, weight in corners:
        inside = (cx >= 0) & (cx <= width - 1) & (cy >= 0) & (cy <= height - 1)
        index = (np.clip(cy, 0, height - 1) * width + np.clip(cx, 0, width - 1)).astype(np.int64)
        values = np.take_along_axis(flat, index.reshape(batch, 1, -1), axis=2)
        values = values.reshape(batch, channels, height, width)
        terms.append((np.where(inside[:, None], values, dtype(0)), weight[:, None]))
    (v_nw, w_nw), (v_ne, w_ne), (v_sw, w_sw), (v_se, w_se) = terms
    return fma(v_se, w_se, fma(v_sw, w_sw, fma(v_ne, w_ne, v_nw * w_nw)))


def fma(a: Any, b: Any, c: Any) -> Any:
    """``a * b + c`` rounded once (a fused multiply-add), for float32 arrays; for
    float64 ``a * b + c`` (rounded twice).

    In float32 the product is exact in float64; the sum is rounded to odd (the
    nearest float64 with an odd last bit unless exact), which then rounds to float32
    exactly as the exact sum would (Boldo and Melquiond, 2008).

    Example:
        >>> a = np.float32(1 + 2**-12)
        >>> float(fma(a, a, np.float32(-1))) == 2**-11 + 2**-24 != float(a * a - 1)
        True
    """
    a, b, c = np.asarray(a), np.asarray(b), np.asarray(c)
    if a.dtype != np.float32:
        return a * b + c
    product = a.astype(np.float64) * b.astype(np.float64)
    wide = c.astype(np.float64)
    total = product + wide
    # the sum's rounding error, exactly (TwoSum)
    back = total - product
    error = (product - (total - back)) + (wide - back)
    even = (total.view(np.int64) & 1) == 0
    odd = np.nextafter(total, np.where(error > 0, np.inf, -np.inf))
    return np.where((error != 0) & even, odd, total).astype(np.float32)


def grayscale_mean(x: Any) -> npt.NDArray[np.float64]:
    """Each image's grayscale mean, summed exactly (see :mod:`dpa.integrations`)."""
    channels = x.shape[1]
    if channels == 3:
        w0, w1, w2 = (np.asarray(w, dtype=x.dtype) for w in GRAY_WEIGHTS)
        gray = w0 * x[:, 0] + w1 * x[:, 1] + w2 * x[:, 2]
    elif channels == 1:
        gray = x[:, 0]
    else:  # the channels added in order
        gray = x[:, 0]
        for channel in range(1, channels):
            gray = gray + x[:, channel]
        gray = gray / np.asarray(channels, dtype=x.dtype)
    fixed = np.floor(gray * np.asarray(2.0**32, dtype=x.dtype)).astype(np.int64)
    total = fixed.sum(axis=(1, 2))
    mean: npt.NDArray[np.float64] = total.astype(np.float64) / (
        gray.shape[1] * gray.shape[2] * 2.0**32
    )
    return mean
