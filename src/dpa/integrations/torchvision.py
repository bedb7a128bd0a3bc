"""dpa's five parameters on torchvision's tv_tensors: boxes, masks and keypoints
move with the image.

Needs ``pip install 'dpa[torchvision]'`` (torchvision 0.21 or later: the v2
transform API with ``make_params``/``transform``). :func:`apply_params` applies a sample's
parameters to anything a torchvision v2 transform takes -- one tensor, or any pytree
(tuples, lists, dicts) of ``tv_tensors.Image``, ``Video``, ``Mask``,
``BoundingBoxes`` and ``KeyPoints`` -- and returns the same structure.
:class:`DPAAugment` is the v2 transform that draws the parameters itself, from the
key of the sample being transformed: put it in a ``v2.Compose`` given to
``DPADataset(transform=...)``, or call it inside ``dpa.seeded(sample_id, ...)``.

**What each parameter does** -- the meaning of
:func:`dpa.integrations.torch.apply_params`, step by step:

1. *Geometry*, on every image, video, mask, box and keypoint:
   ``F.affine(angle=-rotation, translate=[0, 0], scale=scale, shear=[0, 0],
   interpolation=BILINEAR, fill=None)`` about the image centre (masks: nearest, as
   torchvision does; boxes: the enclosing box of the rotated one, torchvision's
   ``"soft"`` clamping). torchvision's angle turns clockwise, dpa's rotation
   counter-clockwise: hence the sign. Zero fill outside the image. Nothing is
   resampled when ``rotation == 0`` and ``scale == 1``.
2. *Brightness*: ``F.adjust_brightness`` (``x * brightness``, clamped to ``[0, 1]``).
3. *Contrast*: torchvision's ``adjust_contrast`` formula, ``contrast * x + (1 -
   contrast) * m`` clamped to ``[0, 1]``, with ``m`` the grayscale mean summed
   exactly as :mod:`dpa.integrations` defines it (not ``torch.mean``, whose float32
   sum can change in the last bits with the thread count, which a DataLoader
   worker sets to 1).
4. *Noise*: ``x + noise * z`` clamped to ``[0, 1]``, ``z`` the sample's noise of
   :mod:`dpa.integrations.noise` (keyed by ``params["hash"]``); images only.

Images are float tensors in ``[0, 1]`` of 1 or 3 channels (torchvision's colour
functionals take no other), ``[..., C, H, W]``: leading dimensions (a video's
frames) get the same parameters and the same noise. Plain tensors are images where
torchvision takes them for one (the first plain tensor of a sample without a
``tv_tensors.Image``). Other values (labels, strings) pass through.

**Difference from** ``apply_params``: only the geometry's sampling grid, which
``F.affine`` computes as a float32 matrix product where ``apply_params`` computes
it elementwise; warped pixels differ by float rounding (below ``1e-5``).
Brightness, contrast and noise are bit-identical given the same warped image.

Example:
    >>> import torch
    >>> from torchvision import tv_tensors
    >>> image = tv_tensors.Image(torch.rand(3, 8, 8))
    >>> boxes = tv_tensors.BoundingBoxes([[0, 0, 4, 4]], format="XYXY", canvas_size=(8, 8))
    >>> out = apply_params({"image": image, "boxes": boxes}, {"rotation": 90.0})
    >>> out["boxes"].tolist()
    [[0, 4, 4, 8]]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from .._config import AugmentationConfig, check_config
from .._generate import gen_augmentation_params
from .._seeding import current_sample
from ._params import Params, normalize
from ._torch_ops import add_noise_, blend_contrast
from .noise import MAX_ELEMENTS

__all__ = ["DPAAugment", "apply_params"]

_IMAGES = (tv_tensors.Image, tv_tensors.Video)
#: What moves but keeps its values (``KeyPoints`` from torchvision 0.23 on).
_GEOMETRY_ONLY = tuple(
    kind
    for kind in (tv_tensors.Mask, tv_tensors.BoundingBoxes, getattr(tv_tensors, "KeyPoints", None))
    if kind is not None
)


class _ParamsTransform(v2.Transform):  # type: ignore[misc]  # torchvision is untyped
    """The v2 transform that applies one sample's parameters (its subclasses say
    where they come from)."""

    def sample_params(self) -> Any:
        raise NotImplementedError

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        return {"params": normalize(self.sample_params(), 1)}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        p: Params = params["params"]
        warp = not (p.rotation[0] == 0 and p.scale[0] == 1)
        if isinstance(inpt, _GEOMETRY_ONLY):
            return _affine(inpt, p) if warp else inpt
        if isinstance(inpt, _IMAGES) or type(inpt) is torch.Tensor:
            return _image(inpt, p, warp)
        if isinstance(inpt, torch.Tensor):  # a tv_tensor of another kind
            return inpt
        raise TypeError(
            f"dpa's parameters apply to tensors and tv_tensors, got {type(inpt).__name__} "
            "(convert PIL images with v2.ToImage() first)"
        )


def _affine(inpt: Any, p: Params) -> Any:
    return F.affine(
        inpt,
        angle=-float(p.rotation[0]),
        translate=[0.0, 0.0],
        scale=float(p.scale[0]),
        shear=[0.0, 0.0],
        interpolation=v2.InterpolationMode.BILINEAR,
        fill=None,
    )


def _image(image: torch.Tensor, p: Params, warp: bool) -> Any:
    """Steps 1-4 on an image or video ``[..., C, H, W]`` (see the module docstring)."""
    if not image.is_floating_point():
        raise TypeError(f"images must be float tensors in [0, 1], got {image.dtype}")
    if image.dim() < 3:
        raise ValueError(f"images must be [..., C, H, W], got {tuple(image.shape)}")
    channels, height, width = image.shape[-3:]
    if channels * height * width > MAX_ELEMENTS:
        raise ValueError(f"images of more than 2**31 elements are not supported: {image.shape}")
    work = torch.float64 if image.dtype == torch.float64 else torch.float32
    x = image.as_subclass(torch.Tensor).to(work)
    if warp:
        x = _affine(x, p)
    x = F.adjust_brightness(x, float(p.brightness[0]))
    numbers = torch.from_numpy(np.array([p.contrast[0], 1.0 - p.contrast[0], p.noise[0]]))
    contrast, rest, noise = numbers.to(x.device, work)
    flat = blend_contrast(x.reshape(-1, channels, height, width), contrast, rest)
    if p.keys is not None:
        flat = add_noise_(flat, torch.from_numpy(p.keys).to(x.device), noise)
    out = flat.reshape(image.shape).to(image.dtype)
    return tv_tensors.wrap(out, like=image) if isinstance(image, _IMAGES) else out


class _FixedParams(_ParamsTransform):
    def __init__(self, params: Any) -> None:
        super().__init__()
        self.params = params

    def sample_params(self) -> Any:
        return self.params


def apply_params(inputs: Any, params: Any) -> Any:
    """``inputs`` (a tensor, a tv_tensor or any pytree of them) augmented by one
    sample's ``params`` (a params dict: numbers, and its ``hash`` where ``noise`` is
    not 0; a missing parameter is neutral), boxes, masks and keypoints moving with
    the image. See the module docstring for the exact steps.

    Example:
        >>> image = torch.rand(3, 6, 6)
        >>> torch.equal(apply_params(image, {"brightness": 1.0}), image)
        True
    """
    return _FixedParams(params)(inputs)


class DPAAugment(_ParamsTransform):
    """A torchvision v2 transform applying the parameters that ``config`` draws for
    the sample being transformed: the sample and key of the enclosing
    ``dpa.seeded(...)`` block, or of ``DPADataset(transform=...)``'s item (its mode,
    base seed and epoch). RuntimeError outside such a block.

    Example:
        >>> import dpa
        >>> augment = v2.Compose([v2.RandomHorizontalFlip(), DPAAugment(dpa.get_preset("mild"))])
        >>> with dpa.seeded(5):
        ...     out = augment(torch.rand(3, 8, 8))
        >>> out.shape
        torch.Size([3, 8, 8])
    """

    def __init__(self, config: AugmentationConfig | None = None) -> None:
        super().__init__()
        self.config = check_config(config)

    def sample_params(self) -> Any:
        sample = current_sample()
        if sample is None:
            raise RuntimeError(
                "DPAAugment draws the parameters of the sample being transformed: call it "
                "inside dpa.seeded(sample_id, ...) or through DPADataset(transform=...)"
            )
        scheme, sample_id = sample
        return gen_augmentation_params(sample_id, self.config, scheme=scheme)
