"""Parameters in any of the accepted forms, as per-image float64 numpy arrays.

Accepted: a :class:`dpa.ParamBatch`; a dict whose values are numbers, sequences,
numpy arrays or tensors (one per image, or one for all) -- what a sample's params
dict is, and what a DataLoader's default collate makes of a batch of them; a
sequence of such dicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .._config import PARAM_NAMES
from .._parambatch import ParamBatch
from .noise import hash_keys

#: torchvision's ``rgb_to_grayscale`` weights.
GRAY_WEIGHTS = (0.2989, 0.587, 0.114)

#: The value of each parameter that leaves an image unchanged.
NEUTRAL = {"rotation": 0.0, "brightness": 1.0, "noise": 0.0, "scale": 1.0, "contrast": 1.0}

FloatArray = npt.NDArray[np.float64]

#: The smallest scale the warp uses. Below it (a config may allow scales down to
#: 1e-300) every pixel but an odd-sized image's centre already maps outside the image
#: (zero fill), so the result is the limit of ever smaller scales; dividing by the
#: scale itself would give inf and NaN instead.
MIN_WARP_SCALE = 1e-6


@dataclass(frozen=True)
class Params:
    """Per-image parameters (float64, shape ``[B]``) and noise key words (``[B, 2]``,
    or None where no image has noise)."""

    rotation: FloatArray
    brightness: FloatArray
    noise: FloatArray
    scale: FloatArray
    contrast: FloatArray
    keys: npt.NDArray[np.int64] | None


def theta_matrices(
    rotation: FloatArray, scale: FloatArray, height: int, width: int
) -> npt.NDArray[np.float64]:
    """``affine_grid``'s ``theta`` (without the zero translation column), float64.

    In pixel units the inverse map is ``R(-rotation) / scale`` with y pointing down:
    ``[[cos, -sin], [sin, cos]] / scale``; normalized coordinates scale x by ``2/W``
    and y by ``2/H``, hence the aspect factors off the diagonal.
    """
    radians = np.deg2rad(rotation)
    scale = np.maximum(scale, MIN_WARP_SCALE)
    cos = np.cos(radians) / scale
    sin = np.sin(radians) / scale
    theta = np.empty((len(rotation), 2, 2), dtype=np.float64)
    theta[:, 0, 0] = cos
    theta[:, 0, 1] = -sin * (height / width)
    theta[:, 1, 0] = sin * (width / height)
    theta[:, 1, 1] = cos
    return theta


def pixel_centres(size: int) -> npt.NDArray[np.float64]:
    """Pixel centres in normalized coordinates (``align_corners=False``), float64:
    ``(2 i + 1) / size - 1``; each framework rounds them to its dtype.

    Example:
        >>> pixel_centres(4).tolist()
        [-0.75, -0.25, 0.25, 0.75]
    """
    return (2.0 * np.arange(size, dtype=np.float64) + 1.0) / size - 1.0


def check_image_size(shape: tuple[int, ...]) -> None:
    """ValueError unless images of ``shape`` (``[..., C, H, W]``) have a pixel."""
    if min(shape[-3:]) < 1:
        raise ValueError(f"images must have at least one channel, row and column, got {shape}")


def to_numpy(value: Any) -> Any:
    """A tensor (torch, TF) or anything array-like as a numpy array (CPU)."""
    if hasattr(value, "detach"):  # torch
        value = value.detach().cpu().numpy()
    elif hasattr(value, "numpy") and not isinstance(value, np.ndarray):  # TF eager
        value = value.numpy()
    return np.asarray(value)


def normalize(params: Any, batch: int) -> Params:
    """``params`` for ``batch`` images (a single value is used for every image)."""
    if isinstance(params, ParamBatch):
        columns: Mapping[str, Any] = params.columns()
    elif isinstance(params, Mapping):
        columns = params
    elif isinstance(params, Sequence) and params and all(isinstance(p, Mapping) for p in params):
        columns = {
            key: [p[key] for p in params]
            for key in (*PARAM_NAMES, "hash")
            if any(key in p for p in params)
        }
    else:
        raise TypeError(
            f"params must be a dict, a list of dicts or a ParamBatch, got {type(params).__name__}"
        )
    values: dict[str, FloatArray] = {}
    for name in PARAM_NAMES:
        raw = columns.get(name)
        if raw is None:
            values[name] = np.full(batch, NEUTRAL[name], dtype=np.float64)
            continue
        array = to_numpy(raw)
        if array.dtype.kind not in "iuf":
            raise TypeError(f"params[{name!r}] must be numbers, got {array.dtype}")
        values[name] = _per_image(array.astype(np.float64).reshape(-1), batch, name)
        if not np.isfinite(values[name]).all():
            raise ValueError(f"params[{name!r}] must be finite, got {values[name].tolist()}")
    if (values["scale"] <= 0).any():
        raise ValueError(f"params['scale'] must be > 0, got {values['scale'].tolist()}")
    keys = None
    if (values["noise"] != 0).any():
        raw_hash = columns.get("hash")
        if raw_hash is None:
            raise ValueError("params with noise need the sample's 'hash' (it keys the noise)")
        if hasattr(raw_hash, "numpy") or hasattr(raw_hash, "detach"):
            raw_hash = to_numpy(raw_hash)
        key_rows = hash_keys(raw_hash)
        if len(key_rows) == 1 and batch != 1:
            key_rows = np.repeat(key_rows, batch, axis=0)
        if len(key_rows) != batch:
            raise ValueError(f"params['hash'] has {len(key_rows)} values for {batch} images")
        keys = key_rows
    return Params(keys=keys, **values)


def _per_image(array: FloatArray, batch: int, name: str) -> FloatArray:
    if array.size == batch:
        return array
    if array.size == 1:
        return np.repeat(array, batch)
    raise ValueError(f"params[{name!r}] has {array.size} values for {batch} images")
