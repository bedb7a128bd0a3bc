"""The tensor kernels of the torch pipelines: the sampling grid, the exact grayscale
mean, the noise generator (:mod:`dpa.integrations.noise` on tensors) and the
brightness, contrast and noise steps, shared by :mod:`dpa.integrations.torch` and
:mod:`dpa.integrations.torchvision` so that both compute each step the same way.

Each value is computed elementwise or summed exactly, so it is the same whatever the
device, thread count or batch it is computed in.

Example:
    >>> float(grayscale_mean(torch.full((1, 1, 4, 4), 0.25))[0])
    0.25
"""

from __future__ import annotations

import functools

import torch

from ._params import GRAY_WEIGHTS
from .noise import MIX_MULTIPLIERS, box_muller_tables

__all__ = [
    "add_noise_",
    "base_grid",
    "blend_contrast",
    "gaussian_noise",
    "grayscale_mean",
    "mix32_",
    "noise_words",
    "sampling_grid",
]

_MASK = 0xFFFFFFFF


@functools.lru_cache(maxsize=32)
def _centres(size: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    centres = torch.arange(size, dtype=torch.float64, device=device)
    return ((2.0 * centres + 1.0) / size - 1.0).to(dtype)


def _counter(count: int, device: torch.device) -> torch.Tensor:
    """``0 .. count-1`` (int64), kept for the image sizes in use (up to 32 MiB each)."""
    if count > 1 << 22:
        return torch.arange(count, dtype=torch.int64, device=device)
    return _small_counter(count, device)


@functools.lru_cache(maxsize=8)
def _small_counter(count: int, device: torch.device) -> torch.Tensor:
    return torch.arange(count, dtype=torch.int64, device=device)


def base_grid(size: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Pixel centres in normalized coordinates, ``(2 i + 1) / size - 1`` (float64,
    then rounded to ``dtype``)."""
    return _centres(size, dtype, torch.device(device))


def sampling_grid(theta: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """The ``[B, H, W, 2]`` grid of ``affine_grid(theta, align_corners=False)`` for
    ``theta`` of shape ``[B, 2, 2]`` (no translation), computed elementwise so that
    each value is the same whatever the device, thread count or framework."""
    xs = base_grid(width, theta.dtype, theta.device)[None, None, :]
    ys = base_grid(height, theta.dtype, theta.device)[None, :, None]
    t = theta[:, :, :, None, None]
    gx = t[:, 0, 0] * xs + t[:, 0, 1] * ys
    gy = t[:, 1, 0] * xs + t[:, 1, 1] * ys
    return torch.stack([gx, gy], dim=-1)


def grayscale_mean(x: torch.Tensor) -> torch.Tensor:
    """Each image's grayscale mean (float64, shape ``[B]``), summed exactly: each
    gray value floored to a multiple of ``2**-32`` and summed as an integer."""
    channels, height, width = x.shape[1:]
    if channels == 3:
        w0, w1, w2 = (torch.tensor(w, dtype=x.dtype, device=x.device) for w in GRAY_WEIGHTS)
        gray = w0 * x[:, 0] + w1 * x[:, 1] + w2 * x[:, 2]
    elif channels == 1:
        gray = x[:, 0]
    else:  # the channels added in order (a sum's own order depends on the device)
        gray = x[:, 0]
        for channel in range(1, channels):
            gray = gray + x[:, channel]
        gray = gray / torch.tensor(float(channels), dtype=x.dtype, device=x.device)
    fixed = torch.floor(gray * torch.tensor(2.0**32, dtype=x.dtype, device=x.device))
    total = fixed.to(torch.int64).sum(dim=(1, 2))
    return total.to(torch.float64) / (height * width * 2.0**32)


def _signed(multiplier: int) -> int:
    """``multiplier`` or ``multiplier - 2**32``, whichever is below ``2**31`` in size:
    the same product modulo ``2**32``, and never an int64 overflow."""
    return multiplier - 2**32 if multiplier >= 2**31 else multiplier


_M1, _M2 = (_signed(m) for m in MIX_MULTIPLIERS)


def mix32_(x: torch.Tensor, scratch: torch.Tensor) -> torch.Tensor:
    """``lowbias32``, in place, of an int64 tensor holding 32-bit words
    (``scratch``: a tensor of the same shape and dtype to work in)."""
    x.bitwise_xor_(torch.bitwise_right_shift(x, 16, out=scratch))
    x.mul_(_M1).bitwise_and_(_MASK)
    x.bitwise_xor_(torch.bitwise_right_shift(x, 15, out=scratch))
    x.mul_(_M2).bitwise_and_(_MASK)
    return x.bitwise_xor_(torch.bitwise_right_shift(x, 16, out=scratch))


def noise_words(keys: torch.Tensor, count: int) -> torch.Tensor:
    """``word(j)`` for ``j < count``, per key row ``[k0, k1]``: int64, ``[B, count]``."""
    x = _counter(count, keys.device)[None, :] ^ keys[:, :1]
    scratch = torch.empty_like(x)
    mix32_(x, scratch).bitwise_xor_(keys[:, 1:])
    return mix32_(x, scratch)


def gaussian_noise(keys: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """Standard normal noise ``[B, C, H, W]`` (float32) for the key rows ``keys``."""
    count = shape[0] * shape[1] * shape[2]
    pairs = (count + 1) // 2
    radius, cos, sin = _tables(keys.device)
    words = noise_words(keys, pairs).view(-1)
    r = radius.index_select(0, words >> 16)
    b = words.bitwise_and_(0xFFFF)
    # float32(RAD[a] * COS[b]), float32(RAD[a] * SIN[b]): the products in float64, each
    # rounded once to float32 as it is written, interleaved (z[2j], z[2j + 1])
    z = torch.empty(len(keys), pairs, 2, dtype=torch.float32, device=keys.device)
    torch.mul(
        r.view(len(keys), pairs), cos.index_select(0, b).view(len(keys), pairs), out=z[..., 0]
    )
    torch.mul(
        r.view(len(keys), pairs), sin.index_select(0, b).view(len(keys), pairs), out=z[..., 1]
    )
    return z.view(len(keys), 2 * pairs)[:, :count].reshape(len(keys), *shape)


@functools.lru_cache(maxsize=4)
def _tables(device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`dpa.integrations.noise.box_muller_tables` on ``device``."""
    radius, cos, sin = (torch.from_numpy(t.copy()).to(device) for t in box_muller_tables())
    return radius, cos, sin


def blend_contrast(x: torch.Tensor, contrast: torch.Tensor, rest: torch.Tensor) -> torch.Tensor:
    """``contrast * x + rest * m``, clamped to ``[0, 1]``, with ``m`` each image's
    exact :func:`grayscale_mean` (``x``: ``[B, C, H, W]``; ``contrast`` and ``rest =
    1 - contrast``: tensors of ``x``'s dtype that broadcast against it)."""
    mean = grayscale_mean(x).to(x.dtype)[:, None, None, None]
    return (contrast * x).add_(rest * mean).clamp_(0, 1)


def add_noise_(x: torch.Tensor, keys: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """``x + noise * z``, clamped to ``[0, 1]``, in place: ``z`` the noise of the key
    rows ``keys`` (int64 ``[B, 2]``, on ``x``'s device), ``x`` of shape ``[B, C, H, W]``."""
    channels, height, width = x.shape[1:]
    z = gaussian_noise(keys, (channels, height, width)).to(x.dtype)
    return x.add_(noise * z).clamp_(0, 1)
