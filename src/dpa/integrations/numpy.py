"""Apply the parameters to numpy images: the readable reference of the operations.

Needs numpy only (``dpa preview`` uses it). The operations are defined in
:mod:`dpa.integrations`; the torch and TensorFlow versions compute the same thing
(within float tolerance) and are the ones to use in a pipeline.

Example:
    >>> import numpy as np
    >>> image = np.random.default_rng(0).random((3, 8, 8), dtype=np.float32)
    >>> identity = {"rotation": 0.0, "brightness": 1.0, "contrast": 1.0, "scale": 1.0, "noise": 0.0}
    >>> bool((apply_params(image, identity) == image).all())
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ._params import check_image_size, normalize, theta_matrices
from .noise import MAX_ELEMENTS, gaussian_noise_from_keys

__all__ = ["apply_params", "base_grid", "grayscale_mean"]

FloatImage = npt.NDArray[np.floating[Any]]

#: torchvision's ``rgb_to_grayscale`` weights.
GRAY_WEIGHTS = (0.2989, 0.587, 0.114)


def apply_params(images: FloatImage, params: Any) -> FloatImage:
    """``images`` (``[C, H, W]`` or ``[B, C, H, W]``, float, values in ``[0, 1]``)
    augmented by ``params`` (a dict, a list of dicts or a :class:`dpa.ParamBatch`);
    see :mod:`dpa.integrations` for what each parameter does."""
    images = np.asarray(images)
    if images.dtype.kind != "f":
        raise TypeError(f"images must be float arrays in [0, 1], got {images.dtype}")
    if images.ndim not in (3, 4):
        raise ValueError(f"images must be [C, H, W] or [B, C, H, W], got shape {images.shape}")
    single = images.ndim == 3
    work = np.float64 if images.dtype == np.float64 else np.float32
    x: Any = (images[None] if single else images).astype(work)
    batch, channels, height, width = x.shape
    check_image_size(x.shape)
    p = normalize(params, batch)
    if channels * height * width > MAX_ELEMENTS:
        raise ValueError(f"images of more than 2**31 elements are not supported, got {x.shape}")

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
    out: FloatImage = x.astype(images.dtype)
    return out[0] if single else out


def base_grid(size: int, dtype: Any) -> Any:
    """Pixel centres in normalized coordinates (``align_corners=False``):
    ``(2 i + 1) / size - 1``, computed in float64, then rounded to ``dtype``."""
    return ((2.0 * np.arange(size, dtype=np.float64) + 1.0) / size - 1.0).astype(dtype)


def _grid(theta: Any, height: int, width: int, dtype: Any) -> tuple[Any, Any]:
    xs = base_grid(width, dtype)[None, None, :]
    ys = base_grid(height, dtype)[None, :, None]
    t = theta[:, :, :, None, None]
    return t[:, 0, 0] * xs + t[:, 0, 1] * ys, t[:, 1, 0] * xs + t[:, 1, 1] * ys


def _grid_sample(x: Any, grid: tuple[Any, Any]) -> Any:
    """``grid_sample(x, grid, "bilinear", "zeros", align_corners=False)``."""
    batch, channels, height, width = x.shape
    gx, gy = grid
    ix = ((gx + 1) * width - 1) / 2
    iy = ((gy + 1) * height - 1) / 2
    x0 = np.floor(ix)
    y0 = np.floor(iy)
    x1 = x0 + 1
    y1 = y0 + 1
    corners = (
        (x0, y0, (x1 - ix) * (y1 - iy)),
        (x1, y0, (ix - x0) * (y1 - iy)),
        (x0, y1, (x1 - ix) * (iy - y0)),
        (x1, y1, (ix - x0) * (iy - y0)),
    )
    flat = x.reshape(batch, channels, height * width)
    out = np.zeros_like(x)
    for cx, cy, weight in corners:
        inside = (cx >= 0) & (cx <= width - 1) & (cy >= 0) & (cy <= height - 1)
        index = (np.clip(cy, 0, height - 1) * width + np.clip(cx, 0, width - 1)).astype(np.int64)
        values = np.take_along_axis(flat, index.reshape(batch, 1, -1), axis=2)
        values = values.reshape(batch, channels, height, width)
        out = out + values * np.where(inside, weight, 0)[:, None]
    return out


def grayscale_mean(x: Any) -> npt.NDArray[np.float64]:
    """Each image's grayscale mean, summed exactly (see :mod:`dpa.integrations`)."""
    channels = x.shape[1]
    if channels == 3:
        w0, w1, w2 = (np.asarray(w, dtype=x.dtype) for w in GRAY_WEIGHTS)
        gray = w0 * x[:, 0] + w1 * x[:, 1] + w2 * x[:, 2]
    elif channels == 1:
        gray = x[:, 0]
    else:
        gray = x.sum(axis=1) / np.asarray(channels, dtype=x.dtype)
    fixed = np.floor(gray * np.asarray(2.0**32, dtype=x.dtype)).astype(np.int64)
    total = fixed.reshape(len(x), -1).sum(axis=1)
    mean: npt.NDArray[np.float64] = total.astype(np.float64) / (
        gray.shape[1] * gray.shape[2] * 2.0**32
    )
    return mean
