"""PyTorch: apply the parameters to image tensors, or run your own pipeline under
each sample's key, in a Dataset, with a Sampler.

Needs ``pip install 'dpa[torch]'``. A sample's augmentation is a function of its
id (its index in the base dataset) and the mode's key -- never of a worker's seed,
the batch it lands in or the process that loads it -- so a DataLoader gives the
same tensors with any ``num_workers``, any batch size, any world size (elastic
mode) and after a mid-epoch resume.

Modes (see :mod:`dpa._keys`): ``"elastic"`` (the default: ``(base_seed, epoch,
sample_id)``, new each epoch after :meth:`DPADataset.set_epoch`), ``"rank_aware"``
(DPA v0.2's ``(base_seed, rank, sample_id)``; the rank from
:func:`dpa.detect_distributed_context` unless given; the epoch plays no part) and
``"plain"`` (DPA v0.2's single-process ``sample_id``, what ``dpa show`` prints).

Example::

    from torch.utils.data import DataLoader
    from dpa.integrations.torch import DPADataset, DPASampler

    data = DPADataset(base, dpa.get_preset("mild"), mode="elastic", base_seed=0)
    # or your pipeline, under each sample's key: DPADataset(base, transform=pipeline)
    sampler = DPASampler(data, shuffle=True)          # this rank's share
    loader = DataLoader(data, batch_size=64, sampler=sampler, num_workers=4)
    for epoch in range(epochs):
        data.set_epoch(epoch)
        sampler.set_epoch(epoch)
        for images, targets, params in loader:
            ...

With ``apply=False`` the dataset returns the untouched sample and its params, and
``apply_params(images.cuda(), params)`` augments the collated batch on the GPU.
With ``transform=`` (torchvision v2, albumentations, MONAI or any callable) item
``i`` is what the pipeline returns for ``base[i]`` under sample ``i``'s key
(:mod:`dpa.integrations._pipelines`; the guide: "Your pipeline, reproducible").

**``set_epoch`` and ``persistent_workers``.** ``set_epoch`` changes the dataset in
the calling process; DataLoader workers hold copies. With
``persistent_workers=False`` (the default) they are started anew each epoch and copy
the dataset as ``set_epoch`` left it: call it before iterating. With
``persistent_workers=True`` they keep the first epoch's copy, and every epoch repeats
that draw (``worker_init_fn`` runs once per worker and cannot help): leave it off, or
build a new DataLoader each epoch.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence, Sized
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, Sampler

from .._batch import BatchConfig, BatchProcessor, BatchStrategy
from .._config import AugmentationConfig, check_config as _check_config
from .._distributed import DistributedRangeSplitter, detect_distributed_context
from .._generate import gen_augmentation_params, generate_batch
from .._keys import ElasticScheme, KeyScheme, scheme_for_mode
from .._parambatch import ParamBatch
from .._validate import check_int
from . import _native
from ._params import Params, check_image_size, normalize, theta_matrices
from ._pipelines import call_under_key, caller_for
from ._torch_ops import (
    add_noise_,
    base_grid as base_grid,
    blend_contrast,
    gaussian_noise as gaussian_noise,
    grayscale_mean as grayscale_mean,
    mix32_ as mix32_,
    noise_words as noise_words,
    sampling_grid,
)
from .noise import MAX_ELEMENTS

__all__ = ["MODES", "DPADataset", "DPASampler", "DPATransform", "apply_params"]

#: The key modes a transform or dataset can use.
MODES = ("elastic", "rank_aware", "plain")


# --------------------------------------------------------------------------- apply


def apply_params(images: torch.Tensor, params: Any) -> torch.Tensor:
    """``images`` augmented by ``params``, on the images' device.

    ``images``: ``[C, H, W]`` or ``[B, C, H, W]`` tensor on any device: float, values in
    ``[0, 1]`` (the result has their dtype), or ``uint8``, ``0 .. 255`` (what decoders
    give; read as ``x / 255``, the result is float32). ``params``: a params dict
    (numbers, or one value per image: lists, arrays or tensors, as a DataLoader
    collates them), a list of dicts, or a :class:`dpa.ParamBatch`. Rotation (degrees,
    counter-clockwise) and scale (``> 1`` zooms in) are one bilinear warp with zero fill
    (``grid_sample``); brightness multiplies; contrast blends with the grayscale mean;
    noise adds the sample's Gaussian noise (:mod:`dpa.integrations.noise`, keyed by
    ``params["hash"]``, the same on CPU and GPU). The result is clamped to ``[0, 1]``;
    see :mod:`dpa.integrations` for the exact definition.

    On the CPU, float32, float16, bfloat16 and uint8 images go through the native
    kernel where it is built (:mod:`dpa.integrations._native`: the same values, bit
    for bit, a batch shared by ``torch.get_num_threads()`` threads); float64 images,
    images that require grad, other devices and ``DPA_BACKEND=python`` use torch's
    own operations.

    Example:
        >>> image = torch.rand(3, 8, 8)
        >>> torch.equal(apply_params(image, {"rotation": 0.0, "brightness": 1.0}), image)
        True
        >>> apply_params(torch.zeros(3, 8, 8, dtype=torch.uint8), {}).dtype
        torch.float32
    """
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a torch.Tensor, got {type(images).__name__}")
    if not (images.is_floating_point() or images.dtype == torch.uint8):
        raise TypeError(f"images must be a float tensor in [0, 1] or uint8, got {images.dtype}")
    if images.dim() not in (3, 4):
        raise ValueError(f"images must be [C, H, W] or [B, C, H, W], got {tuple(images.shape)}")
    single = images.dim() == 3
    x = images.unsqueeze(0) if single else images
    batch, channels, height, width = x.shape
    check_image_size(tuple(x.shape))
    if channels * height * width > MAX_ELEMENTS:
        raise ValueError(f"images of more than 2**31 elements are not supported: {x.shape}")
    p = normalize(params, batch)
    out = _apply_native(x, p) if _native_input(x) else _apply_reference(x, p)
    out = out.to(torch.float32 if images.dtype == torch.uint8 else images.dtype)
    return out[0] if single else out


def _native_input(x: torch.Tensor) -> bool:
    """Whether the native kernel takes ``x`` (see :func:`apply_params`)."""
    return (
        x.device.type == "cpu"
        and x.dtype in _NATIVE_DTYPES
        and not x.requires_grad
        and _native.available()
    )


_NATIVE_DTYPES = (torch.float32, torch.uint8, torch.float16, torch.bfloat16)


def _apply_native(x: torch.Tensor, p: Params) -> torch.Tensor:
    source = x if x.dtype in (torch.float32, torch.uint8) else x.to(torch.float32)
    source = source.contiguous()
    out = torch.empty(source.shape, dtype=torch.float32)
    _native.apply_into(source.numpy(), out.numpy(), p, torch.get_num_threads())
    return out


def _apply_reference(x: torch.Tensor, p: Params) -> torch.Tensor:
    """The definition in torch operations (float32, float64 for float64 images)."""
    if x.dtype == torch.uint8:
        x = x.to(torch.float32) / 255.0
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    x = x.to(work)
    height, width = x.shape[-2:]
    device = x.device
    # every per-image number in one transfer: brightness, contrast, 1 - contrast, noise
    numbers = np.stack([p.brightness, p.contrast, 1.0 - p.contrast, p.noise], axis=1)
    brightness, contrast, rest, noise = (
        torch.from_numpy(numbers).to(device, work).T[:, :, None, None, None]
    )

    warp = ~((p.rotation == 0) & (p.scale == 1))
    if warp.any():
        theta = torch.from_numpy(theta_matrices(p.rotation, p.scale, height, width))
        grid = sampling_grid(theta.to(device, work), height, width)
        warped = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        if warp.all():
            x = warped
        else:
            keep = torch.from_numpy(~warp).to(device)[:, None, None, None]
            x = torch.where(keep, x, warped)

    x = torch.clamp(x * brightness, 0, 1)

    x = blend_contrast(x, contrast, rest)
    if p.keys is not None:
        x = add_noise_(x, torch.from_numpy(p.keys).to(device), noise)
    return x


# --------------------------------------------------------------------------- transform


def _check_mode(mode: Any) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    return str(mode)


class DPATransform:
    """The augmentation of a sample from its id: ``transform(image, sample_id)``.

    ``mode``: ``"elastic"`` (default), ``"rank_aware"`` or ``"plain"`` (see the module
    docstring). ``rank``/``world_size`` (rank-aware mode) default to
    :func:`dpa.detect_distributed_context`'s, read when the transform is made.
    Also callable on a batch: ``transform(images [B, C, H, W], sample_ids)``.

    Example:
        >>> t = DPATransform(mode="elastic", epoch=1)
        >>> t(torch.zeros(3, 4, 4), 7).shape
        torch.Size([3, 4, 4])
        >>> t.params(7)["hash"] == DPATransform(mode="elastic", epoch=1).params(7)["hash"]
        True
    """

    def __init__(
        self,
        config: AugmentationConfig | None = None,
        mode: str = "elastic",
        epoch: int = 0,
        *,
        base_seed: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
    ) -> None:
        self.config = _check_config(config)
        self.mode = _check_mode(mode)
        if self.mode == "rank_aware" and rank is None:
            context = detect_distributed_context()
            rank = context.rank
            world_size = context.world_size if world_size is None else world_size
        rank = check_int(rank if rank is not None else 0, "rank", 0)
        world_size = world_size if world_size is not None else rank + 1
        #: The key scheme of the mode; :meth:`set_epoch` replaces an elastic one.
        self.scheme: KeyScheme = scheme_for_mode(
            self.mode, base_seed=base_seed, rank=rank, world_size=world_size, epoch=epoch
        )
        self.epoch = check_int(epoch, "epoch", 0)
        self.base_seed = check_int(base_seed, "base_seed", 0)
        self.rank, self.world_size = rank, check_int(world_size, "world_size", 1)

    def set_epoch(self, epoch: int) -> None:
        """Use the draw of ``epoch`` from now on (elastic mode; no effect otherwise)."""
        self.epoch = check_int(epoch, "epoch", 0)
        if isinstance(self.scheme, ElasticScheme):
            self.scheme = ElasticScheme(self.base_seed, self.epoch)

    def params(self, sample_id: int) -> dict[str, Any]:
        """The parameters of ``sample_id`` as a dict (with ``hash`` and ``sample_id``)."""
        sample_id = int(sample_id)
        params = gen_augmentation_params(sample_id, self.config, scheme=self.scheme)
        params["sample_id"] = sample_id
        return params

    def params_batch(self, sample_ids: Sequence[int] | range | np.ndarray[Any, Any]) -> ParamBatch:
        """The parameters of many samples at once, as a :class:`dpa.ParamBatch`."""
        ids = sample_ids.tolist() if isinstance(sample_ids, torch.Tensor) else sample_ids
        return generate_batch(ids, self.config, scheme=self.scheme)

    def __call__(self, image: torch.Tensor, sample_id: Any) -> torch.Tensor:
        image = _as_tensor(image)
        if image.dim() == 4:
            ids = sample_id.tolist() if isinstance(sample_id, torch.Tensor) else sample_id
            return apply_params(image, self.params_batch([int(i) for i in ids]))
        return apply_params(image, self.params(int(sample_id)))

    def __repr__(self) -> str:
        where = f", rank={self.rank}" if self.mode == "rank_aware" else f", epoch={self.epoch}"
        return f"DPATransform(mode={self.mode!r}{where}, base_seed={self.base_seed})"


def _as_tensor(image: Any) -> torch.Tensor:
    """A tensor or array as a tensor (:func:`apply_params` reads ``uint8`` as ``x / 255``)."""
    return image if isinstance(image, torch.Tensor) else torch.as_tensor(np.asarray(image))


# --------------------------------------------------------------------------- dataset


class DPADataset(Dataset[Any]):
    """``base_dataset`` augmented per sample: by your pipeline (``transform=``), or by
    dpa's own parameters.

    **With** ``transform`` (torchvision v2, albumentations, MONAI or any callable):
    item ``i`` is exactly what ``transform`` returns for ``base_dataset[i]`` under
    sample ``i``'s key -- the global generators seeded from its seed
    (:func:`dpa.seeded`), and the pipeline's own generators set from it where the
    library has them (albumentations, MONAI; see
    :mod:`dpa.integrations._pipelines`). ``base_dataset[i]`` is passed as it is
    (albumentations: a dict, as keyword arguments). ``config`` and ``apply`` are not
    used then (``DPAAugment(config)`` of :mod:`dpa.integrations.torchvision` puts
    dpa's own augmentation in a torchvision pipeline).

    **Without**: item ``i`` is ``(sample, target, params)``. ``base_dataset[i]``
    must be a ``(sample, target)`` pair; the sample a ``[C, H, W]`` float tensor in
    ``[0, 1]`` (``uint8`` tensors and arrays are converted). ``params`` is the dict
    of :meth:`DPATransform.params`, and the sample is augmented by it when
    ``apply`` (else returned untouched); a DataLoader collates ``params`` into
    tensors (and a list of hashes) that :func:`apply_params` takes as they are.

    The id of item ``i`` is ``i``; its key is the mode's (``mode``, ``base_seed``,
    ``epoch``, ``rank``: see the module docstring). ``set_epoch`` changes the draw
    of the elastic mode -- in this process: see the module docstring for
    ``persistent_workers``.

    Example:
        >>> import random
        >>> jitter = lambda x: x + random.random()
        >>> data = DPADataset([10, 20, 30], transform=jitter)
        >>> data[1] == data[1] != DPADataset([10, 20, 30], transform=jitter, epoch=1)[1]
        True
    """

    def __init__(
        self,
        base_dataset: Any,
        config: AugmentationConfig | None = None,
        mode: str = "elastic",
        base_seed: int = 0,
        apply: bool = True,
        *,
        epoch: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
        transform: Any = None,
    ) -> None:
        self.base_dataset = base_dataset
        self.apply = bool(apply)
        if transform is not None and (config is not None or not self.apply):
            raise ValueError(
                "config and apply are dpa's own augmentation; with transform= give neither "
                "(DPAAugment(config) of dpa.integrations.torchvision puts it in a pipeline)"
            )
        #: The pipeline given as ``transform`` (None: dpa's own augmentation).
        self.pipeline = transform
        self._caller = None if transform is None else caller_for(transform)
        #: The key of each item (its mode, epoch and seed), and dpa's own parameters.
        self.transform = DPATransform(
            config, mode, epoch, base_seed=base_seed, rank=rank, world_size=world_size
        )

    @property
    def epoch(self) -> int:
        """The epoch whose draw the dataset gives (elastic mode)."""
        return self.transform.epoch

    def set_epoch(self, epoch: int) -> None:
        """Draw epoch ``epoch``'s parameters from now on (elastic mode)."""
        self.transform.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.base_dataset)

    def iter_params(self, batch_config: BatchConfig | None = None) -> Iterator[ParamBatch]:
        """This epoch's parameters of every item, as columnar batches sized by
        :mod:`dpa._batch` (default: ``MEMORY_OPTIMIZED`` within 256 MB of this
        process's growth), to precompute, audit or log a whole epoch's draw. A batch
        stays valid until the next one is asked for.

        Example:
            >>> data = DPADataset([(torch.zeros(1, 2, 2), 0)] * 5, apply=False)
            >>> [len(batch) for batch in data.iter_params()]
            [5]
        """
        if batch_config is None:
            batch_config = BatchConfig(BatchStrategy.MEMORY_OPTIMIZED, max_memory_mb=256)
        t = self.transform
        processor = BatchProcessor(batch_config.strategy, batch_config)
        return processor.process_range(0, len(self), t.config, scheme=t.scheme)

    def __getitem__(self, index: int) -> Any:
        item = self.base_dataset[index]
        if self._caller is not None:
            return call_under_key(
                self.pipeline, self._caller, item, self.transform.scheme, int(index)
            )
        if not isinstance(item, tuple | list) or len(item) != 2:
            raise TypeError(
                f"base_dataset[{index}] must be a (sample, target) pair, got {type(item).__name__}"
            )
        sample, target = item
        params = self.transform.params(int(index))
        if self.apply:
            sample = apply_params(_as_tensor(sample), params)
        return sample, target, params


# --------------------------------------------------------------------------- sampler


class DPASampler(Sampler[int]):
    """This rank's indices of a dataset, per epoch, resumable mid-epoch.

    ``split="range"``: each rank gets its contiguous share of the epoch's order by
    the range-splitting rule (:class:`dpa.DistributedRangeSplitter`: the first
    ``n % world_size`` ranks one more; ``drop_last`` gives every rank
    ``n // world_size``). ``split="stride"``: ``DistributedSampler``'s indices
    exactly (rank ``r`` takes every ``world_size``-th, padded by repeating the first
    ones, or truncated with ``drop_last``). The epoch's order is the ids in order,
    or with ``shuffle`` ``torch.randperm`` seeded by ``seed + epoch``, as
    ``DistributedSampler`` does.

    ``start`` skips the first ``start`` indices of this rank's epoch (to resume after
    ``start`` samples); :meth:`set_epoch` sets the epoch and the start (0 unless
    given). ``num_replicas``/``rank`` default to :func:`dpa.detect_distributed_context`.

    Example:
        >>> list(DPASampler(10, num_replicas=4, rank=1))
        [3, 4, 5]
        >>> list(DPASampler(10, num_replicas=4, rank=1, split="stride"))
        [1, 5, 9]
        >>> list(DPASampler(10, num_replicas=1, rank=0, start=7))
        [7, 8, 9]
    """

    def __init__(
        self,
        data_source: Sized | int,
        num_replicas: int | None = None,
        rank: int | None = None,
        *,
        split: str = "range",
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
        start: int = 0,
    ) -> None:
        super().__init__()
        size = data_source if isinstance(data_source, int) else len(data_source)
        self.size = check_int(size, "dataset size", 0)
        if num_replicas is None or rank is None:
            context = detect_distributed_context()
            num_replicas = context.world_size if num_replicas is None else num_replicas
            rank = context.rank if rank is None else rank
        self.num_replicas = check_int(num_replicas, "num_replicas", 1)
        self.rank = check_int(rank, "rank", 0)
        if self.rank >= self.num_replicas:
            raise ValueError(
                f"rank must be < num_replicas, got rank={self.rank}, "
                f"num_replicas={self.num_replicas}"
            )
        if split not in ("range", "stride"):
            raise ValueError(f"split must be 'range' or 'stride', got {split!r}")
        self.split = split
        self.shuffle = bool(shuffle)
        self.seed = check_int(seed, "seed", 0)
        self.drop_last = bool(drop_last)
        self.epoch = 0
        self.start = check_int(start, "start", 0)

    @property
    def num_samples(self) -> int:
        """How many indices this rank gets in a whole epoch."""
        n, world = self.size, self.num_replicas
        if self.split == "range":
            if self.drop_last:
                return n // world
            return n // world + (1 if self.rank < n % world else 0)
        if self.drop_last and n % world:
            return math.ceil((n - world) / world)
        return math.ceil(n / world)

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Give epoch ``epoch``'s order, starting at position ``start`` of it."""
        self.epoch = check_int(epoch, "epoch", 0)
        self.start = check_int(start, "start", 0)

    def epoch_indices(self) -> list[int]:
        """This rank's indices of the whole current epoch (``start`` not applied)."""
        if self.shuffle:
            generator = torch.Generator()
            generator.manual_seed(self.seed + self.epoch)
            order: list[int] = torch.randperm(self.size, generator=generator).tolist()
        else:
            order = list(range(self.size))
        if self.split == "range":
            begin, end = DistributedRangeSplitter(self.size, self.num_replicas).get_rank_range(
                self.rank
            )
            return order[begin : begin + self.num_samples] if end > begin else []
        total = self.num_samples * self.num_replicas
        if not self.drop_last and order:
            padding = total - len(order)
            order += (order * math.ceil(padding / len(order)))[:padding]
        return order[:total][self.rank : total : self.num_replicas]

    def __iter__(self) -> Iterator[int]:
        return iter(self.epoch_indices()[self.start :])

    def __len__(self) -> int:
        return max(0, self.num_samples - self.start)
