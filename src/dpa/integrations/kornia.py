"""kornia on batches: each sample's augmentation parameters drawn under its own key.

Needs ``pip install 'dpa[kornia]'``. kornia draws a batch's parameters from torch's
global generator in one go, so a sample's augmentation depends on the batch it is
in and its position there; it takes no generator, but replays exactly what
``aug(x, params=...)`` is given. :func:`forward_parameters` makes those parameters
from the samples' keys:

- **per sample**: what each augmentation draws for one sample (angles, factors,
  whether it applies at all: ``batch_prob``) is drawn for a batch of one, from a
  torch stream of the sample's own -- seeded with :func:`dpa.sample_seed` and
  carried from one augmentation of the pipeline to the next. So a sample's
  parameters, and its output, are the same alone, in any batch, at any position;
  for a single augmentation they are what ``aug.forward_parameters((1, C, H, W))``
  draws inside ``dpa.seeded(sample_id, base_seed=..., epoch=...)``.
- **batch-wide**: what kornia draws once for a whole batch -- ``ColorJiggle``'s
  order of operations, the members ``random_apply`` picks, the parameters of an
  augmentation with ``same_on_batch=True`` -- comes from ``(base_seed, epoch)``
  alone (the ``dpa-epoch-seed-v1`` stream of :mod:`dpa._seeding`): the same for
  every batch of the epoch, new each epoch.

Which of an augmentation's parameters are per sample is read from kornia itself:
those whose first dimension follows the batch size. ``p_batch`` draws one gate per
sample here (each sample's draw is a batch of one). Mix augmentations
(``RandomMixUpV2``, ``RandomCutMixV2``, ...) combine the samples of a batch, so
their result depends on the batch by definition: they are refused, as are
containers that call their members with another batch size (``PatchSequential``,
``VideoSequential``). Parameters are drawn on the augmentation's generator device
(the CPU unless ``set_rng_device_and_dtype`` says otherwise), whatever device the
images are on; the global generators are left as they were.

Example:
    >>> import torch, kornia.augmentation as K
    >>> aug = K.AugmentationSequential(K.RandomAffine(30.0), K.ColorJiggle(0.2, 0.2, 0.2, 0.1))
    >>> images = torch.rand(4, 3, 16, 16)
    >>> out = aug(images, params=forward_parameters(aug, [7, 8, 9, 10], images.shape))
    >>> alone = aug(images[2:3], params=forward_parameters(aug, [9], (1, 3, 16, 16)))
    >>> torch.equal(out[2:3], alone)
    True
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from kornia.augmentation import MixAugmentationBaseV2
from kornia.augmentation.base import _AugmentationBase
from kornia.augmentation.container.base import ImageSequentialBase

from .._seeding import epoch_seed, sample_seed, seeded_with, torch_generators
from .._validate import check_sample_id

__all__ = ["forward_parameters"]

Draw = dict[str, torch.Tensor]

#: Per augmentation and per sample shape (without the batch), the names of the
#: parameters that have one row per sample.
_PER_SAMPLE: weakref.WeakKeyDictionary[Any, dict[tuple[int, ...], frozenset[str]]] = (
    weakref.WeakKeyDictionary()
)


class _SampleStreams:
    """One torch stream per sample (the CPU generator's state, and each CUDA
    generator's where CUDA is initialized), carried between draws."""

    def __init__(self, seeds: Sequence[int]) -> None:
        self.seeds = list(seeds)
        self.generators = torch_generators()
        self.states: list[list[torch.Tensor] | None] = [None] * len(self.seeds)

    def draw(self, index: int, make: Callable[[], Draw]) -> Draw:
        """``make()`` on sample ``index``'s stream; the outer stream is kept."""
        outer = [generator.get_state() for generator in self.generators]
        saved = self.states[index]
        for position, generator in enumerate(self.generators):
            if saved is None:
                generator.manual_seed(self.seeds[index])
            else:
                generator.set_state(saved[position])
        try:
            return make()
        finally:
            self.states[index] = [generator.get_state() for generator in self.generators]
            for generator, state in zip(self.generators, outer, strict=True):
                generator.set_state(state)


def _draw(augmentation: _AugmentationBase, batch_shape: Sequence[int]) -> Draw:
    """What the augmentation's own ``forward_parameters`` draws for ``batch_shape``."""
    params: Draw = type(augmentation).forward_parameters(augmentation, tuple(batch_shape))
    return params


def _per_sample_names(
    augmentation: _AugmentationBase, sample_shape: tuple[int, ...]
) -> frozenset[str]:
    """The parameters with one row per sample: those whose first dimension is 2 for
    a batch of 2 and 3 for a batch of 3 (drawn on a scratch stream)."""
    known = _PER_SAMPLE.setdefault(augmentation, {})
    if sample_shape not in known:
        with seeded_with(0):
            two, three = (_draw(augmentation, (n, *sample_shape)) for n in (2, 3))
        known[sample_shape] = frozenset(
            name for name, value in two.items() if _rows(value) == 2 and _rows(three.get(name)) == 3
        )
    return known[sample_shape]


def _rows(value: Any) -> int | None:
    return value.shape[0] if isinstance(value, torch.Tensor) and value.dim() else None


def _augmentation_params(
    augmentation: _AugmentationBase, streams: _SampleStreams, batch_shape: Sequence[int]
) -> Draw:
    """The parameters of one augmentation for the batch: per-sample rows from each
    sample's stream, the rest from the batch-wide stream (the current one)."""
    count, sample_shape = int(batch_shape[0]), tuple(int(d) for d in batch_shape[1:])
    if count != len(streams.seeds):
        raise ValueError(
            f"kornia asked {type(augmentation).__name__} for a batch of {count}, not one of the "
            f"{len(streams.seeds)} samples: containers that change the batch size "
            "(PatchSequential, VideoSequential) are not supported"
        )
    one = (1, *sample_shape)
    batch_wide = _draw(augmentation, one)
    per_sample = _per_sample_names(augmentation, sample_shape)
    if augmentation.same_on_batch:
        draws = [batch_wide] * count
    else:
        draws = [
            streams.draw(index, functools.partial(_draw, augmentation, one))
            for index in range(count)
        ]
    params: Draw = {}
    for name, value in batch_wide.items():
        if name == "forward_input_shape":
            params[name] = torch.tensor(tuple(batch_shape), dtype=value.dtype, device=value.device)
        elif name in per_sample:
            params[name] = torch.cat([draw[name] for draw in draws])
        else:
            params[name] = value
    return params


def _on_gpu(device: Any) -> bool:
    return isinstance(device, torch.device) and device.type == "cuda"


def _ids(sample_ids: Iterable[int] | torch.Tensor) -> list[int]:
    values = sample_ids.tolist() if isinstance(sample_ids, torch.Tensor) else list(sample_ids)
    return [check_sample_id(value, "sample_id") for value in values]


def forward_parameters(
    aug: Any,
    sample_ids: Iterable[int] | torch.Tensor,
    batch_shape: Sequence[int],
    *,
    base_seed: int = 0,
    epoch: int = 0,
) -> Any:
    """The parameters that ``aug(x, params=...)`` takes for a batch ``x`` of shape
    ``batch_shape`` whose rows are the samples ``sample_ids``, each drawn under the
    sample's own key (see the module docstring): a dict for a single augmentation, a
    list of ``ParamItem`` for an ``AugmentationSequential`` or ``ImageSequential``.

    Example:
        >>> import kornia.augmentation as K
        >>> flip = K.RandomHorizontalFlip()
        >>> params = forward_parameters(flip, [3, 4], (2, 1, 4, 4), epoch=1)
        >>> params["batch_prob"].shape
        torch.Size([2])
    """
    ids = _ids(sample_ids)
    shape = tuple(int(d) for d in batch_shape)
    if not shape or shape[0] != len(ids):
        raise ValueError(f"batch_shape {shape} must start with the {len(ids)} samples' count")
    members = list(aug.modules()) if isinstance(aug, torch.nn.Module) else []
    mixes = [type(m).__name__ for m in members if isinstance(m, MixAugmentationBaseV2)]
    if mixes:
        raise ValueError(
            f"{', '.join(mixes)} mix the samples of a batch: their result depends on the "
            "batch by definition, so no key can make it the sample's own"
        )
    if not isinstance(aug, _AugmentationBase | ImageSequentialBase):
        raise TypeError(
            "aug must be a kornia augmentation, AugmentationSequential or ImageSequential, "
            f"got {type(aug).__name__}"
        )
    seeds = [sample_seed(i, base_seed=base_seed, epoch=epoch) for i in ids]
    if any(_on_gpu(getattr(m, "device", None)) for m in members):
        torch.cuda.current_device()  # CUDA initialized: its generators are in the streams
    augmentations = [m for m in members if isinstance(m, _AugmentationBase)]
    with seeded_with(epoch_seed(base_seed, epoch)):  # the batch-wide stream
        streams = _SampleStreams(seeds)
        if isinstance(aug, _AugmentationBase):
            return _augmentation_params(aug, streams, shape)
        # kornia's container asks each member for its draw: it gets the samples' draws
        for member in augmentations:
            vars(member)["forward_parameters"] = functools.partial(
                _augmentation_params, member, streams
            )
        try:
            return aug.forward_parameters(torch.Size(shape))
        finally:
            for member in augmentations:
                vars(member).pop("forward_parameters", None)
