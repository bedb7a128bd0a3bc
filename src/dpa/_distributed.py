"""Distributed training: rank-aware keys, the elastic mode, range splitting, and
finding out which rank this process is.

Two modes (see :mod:`dpa._keys` for the key strings):

``rank_aware`` (DPA v0.2, bit-exact)
    A sample's parameters depend on the rank that draws them. Use it to reproduce
    DPA v0.2 runs, or when each rank should see its own augmentation of a sample.
``elastic``
    A sample's parameters depend only on ``(base_seed, epoch, sample_id)``: the
    same whatever the world size, the worker count or a mid-epoch resume, and new
    each epoch. Seeded from the whole 256-bit digest, so samples do not share
    parameters the way 32-bit seeds make them (v0.2: about 116 pairs in 10**6).

Nothing here imports torch: :func:`detect_distributed_context` only looks at a
process group when torch is already imported.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ._config import AugmentationConfig
from ._core import hash_chain
from ._generate import gen_augmentation_params, generate_batch, stream_augmentation_range
from ._keys import ElasticScheme, RankAwareScheme, check_rank
from ._parambatch import ParamBatch
from ._validate import check_int, check_sample_id

__all__ = [
    "DistributedContext",
    "DistributedRangeSplitter",
    "RankAwareSeedGenerator",
    "RankRange",
    "detect_distributed_context",
    "gen_distributed_augmentation_params",
    "gen_elastic_augmentation_params",
    "generate_distributed_batch",
    "generate_elastic_batch",
    "stream_distributed_augmentation_chain",
    "stream_distributed_augmentation_range",
    "stream_elastic_augmentation_range",
]


def _check_world(rank: Any, world_size: Any) -> tuple[int, int]:
    world_size = check_int(world_size, "world_size", 1)
    return check_rank(rank, world_size), world_size


# --------------------------------------------------------------------------- rank-aware


class RankAwareSeedGenerator:
    """DPA v0.2's rank-aware chain: the key ``f"{base_seed}:{rank}:{sample_id}"``.

    ``world_size`` is validated (``0 <= rank < world_size``) but is not part of
    the key.

    Example:
        >>> RankAwareSeedGenerator(base_seed=12345, world_size=4).key(7, 3)
        '12345:3:7'
    """

    def __init__(self, base_seed: int = 0, world_size: int = 1) -> None:
        self.base_seed = check_int(base_seed, "base_seed", 0)
        self.world_size = check_int(world_size, "world_size", 1)

    def key(self, sample_id: int, rank: int) -> str:
        """The key string hashed first for ``sample_id`` on ``rank``."""
        sample_id = check_sample_id(sample_id, "sample_id")
        rank, _ = _check_world(rank, self.world_size)
        return f"{self.base_seed}:{rank}:{sample_id}"

    def generate_seed(self, sample_id: int, rank: int, augmentation_depth: int = 10) -> str:
        """The chain's final hash (hex) for ``sample_id`` on ``rank``."""
        key = self.key(sample_id, rank)
        depth = AugmentationConfig(augmentation_depth=augmentation_depth).augmentation_depth
        return hash_chain(key.encode("ascii"), depth)


def gen_distributed_augmentation_params(
    sample_id: int,
    rank: int,
    config: AugmentationConfig | None = None,
    base_seed: int = 0,
    world_size: int = 1,
    *,
    backend: str | None = None,
) -> dict[str, Any]:
    """Rank-aware parameters of one sample (DPA v0.2), with ``"rank"`` added.

    Example:
        >>> round(gen_distributed_augmentation_params(0, 0)["rotation"], 6)
        -15.015642
    """
    sample_id = check_sample_id(sample_id, "sample_id")
    scheme = RankAwareScheme(base_seed, rank, world_size)
    return gen_augmentation_params(sample_id, config, scheme=scheme, backend=backend)


def generate_distributed_batch(
    ids: range | Sequence[int] | npt.NDArray[np.integer[Any]],
    rank: int,
    world_size: int,
    config: AugmentationConfig | None = None,
    base_seed: int = 0,
    *,
    workers: int = 1,
    backend: str | None = None,
) -> ParamBatch:
    """Rank-aware parameters of many samples, as columns (the rank is the batch's).

    Example:
        >>> generate_distributed_batch(range(4), rank=1, world_size=2).sample_id.tolist()
        [0, 1, 2, 3]
    """
    scheme = RankAwareScheme(base_seed, rank, world_size)
    return generate_batch(ids, config, scheme=scheme, workers=workers, backend=backend)


def stream_distributed_augmentation_range(
    start_id: int,
    end_id: int,
    rank: int,
    world_size: int,
    config: AugmentationConfig | None = None,
    base_seed: int = 0,
    chunk_size: int | None = None,
) -> Iterator[Any]:
    """Rank-aware parameters of ids ``start_id .. end_id-1``, streamed in constant
    memory: dicts with ``sample_id`` and ``rank``, or lists of ``chunk_size`` of them.

    Example:
        >>> [p["rank"] for p in stream_distributed_augmentation_range(0, 2, 1, 2)]
        [1, 1]
    """
    scheme = RankAwareScheme(base_seed, rank, world_size)
    return stream_augmentation_range(start_id, end_id, config, chunk_size, scheme=scheme)


def stream_distributed_augmentation_chain(
    num_samples: int,
    rank: int,
    world_size: int,
    config: AugmentationConfig | None = None,
    base_seed: int = 0,
    chunk_size: int | None = None,
) -> Iterator[Any]:
    """This rank's share of ``num_samples`` (see :class:`DistributedRangeSplitter`),
    streamed with rank-aware keys.

    Example:
        >>> [p["sample_id"] for p in stream_distributed_augmentation_chain(5, 1, 2)]
        [3, 4]
    """
    rank, world_size = _check_world(rank, world_size)
    start, end = DistributedRangeSplitter(num_samples, world_size).get_rank_range(rank)
    return stream_distributed_augmentation_range(
        start, end, rank, world_size, config, base_seed, chunk_size
    )


# --------------------------------------------------------------------------- elastic


def gen_elastic_augmentation_params(
    sample_id: int,
    config: AugmentationConfig | None = None,
    base_seed: int = 0,
    epoch: int = 0,
    *,
    backend: str | None = None,
) -> dict[str, Any]:
    """Elastic-mode parameters of one sample: a function of ``(base_seed, epoch,
    sample_id)`` alone, the same on every rank and worker.

    Example:
        >>> a = gen_elastic_augmentation_params(7, epoch=1)
        >>> a == gen_elastic_augmentation_params(7, epoch=1) != gen_elastic_augmentation_params(7)
        True
    """
    sample_id = check_sample_id(sample_id, "sample_id")
    scheme = ElasticScheme(base_seed, epoch)
    return gen_augmentation_params(sample_id, config, scheme=scheme, backend=backend)


def generate_elastic_batch(
    ids: range | Sequence[int] | npt.NDArray[np.integer[Any]],
    config: AugmentationConfig | None = None,
    base_seed: int = 0,
    epoch: int = 0,
    *,
    workers: int = 1,
    backend: str | None = None,
) -> ParamBatch:
    """Elastic-mode parameters of many samples, as columns.

    Example:
        >>> batch = generate_elastic_batch(range(3), epoch=2)
        >>> batch[1] == {**gen_elastic_augmentation_params(1, epoch=2), "sample_id": 1}
        True
    """
    scheme = ElasticScheme(base_seed, epoch)
    return generate_batch(ids, config, scheme=scheme, workers=workers, backend=backend)


def stream_elastic_augmentation_range(
    start_id: int,
    end_id: int,
    config: AugmentationConfig | None = None,
    base_seed: int = 0,
    epoch: int = 0,
    chunk_size: int | None = None,
) -> Iterator[Any]:
    """Elastic-mode parameters of ids ``start_id .. end_id-1``, streamed: dicts
    with ``sample_id``, or lists of ``chunk_size`` of them."""
    scheme = ElasticScheme(base_seed, epoch)
    return stream_augmentation_range(start_id, end_id, config, chunk_size, scheme=scheme)


# --------------------------------------------------------------------------- ranges


@dataclass(frozen=True)
class RankRange:
    """The ids ``start_id .. end_id-1`` that ``rank`` owns out of ``total_samples``."""

    start_id: int
    end_id: int
    rank: int
    total_samples: int

    @property
    def size(self) -> int:
        """How many samples the rank owns."""
        return self.end_id - self.start_id

    def ids(self) -> range:
        """The rank's ids as a range."""
        return range(self.start_id, self.end_id)


class DistributedRangeSplitter:
    """Contiguous split of ``total_samples`` over ``world_size`` ranks (DPA v0.2).

    The first ``total % world_size`` ranks get ``total // world_size + 1`` samples,
    the others ``total // world_size``; a rank with no sample has ``(0, 0)``.

    Example:
        >>> DistributedRangeSplitter(10, 4).get_all_ranges()
        [(0, 3), (3, 6), (6, 8), (8, 10)]
    """

    def __init__(self, total_samples: int, world_size: int) -> None:
        self.total_samples = check_int(total_samples, "total_samples", 0)
        self.world_size = check_int(world_size, "world_size", 1)
        self._base, self._rem = divmod(self.total_samples, self.world_size)

    def get_rank_range(self, rank: int) -> tuple[int, int]:
        """``(start_id, end_id)`` of ``rank``."""
        rank, _ = _check_world(rank, self.world_size)
        size = self._base + (1 if rank < self._rem else 0)
        if size == 0:
            return (0, 0)
        start = rank * self._base + min(rank, self._rem)
        return (start, start + size)

    def get_all_ranges(self) -> list[tuple[int, int]]:
        """Every rank's ``(start_id, end_id)``, in rank order."""
        return [self.get_rank_range(rank) for rank in range(self.world_size)]

    def get_all_rank_ranges(self) -> list[RankRange]:
        """Every rank's range as a :class:`RankRange`."""
        return [
            RankRange(start, end, rank, self.total_samples)
            for rank, (start, end) in enumerate(self.get_all_ranges())
        ]

    def validate_ranges(self) -> bool:
        """True when the ranges cover ``0 .. total-1`` once each, in rank order."""
        covered = 0
        for start, end in self.get_all_ranges():
            if end == start:
                continue
            if start != covered or end < start:
                return False
            covered = end
        return covered == self.total_samples

    def get_rank_for_sample(self, sample_id: int) -> int:
        """The rank that owns ``sample_id`` (in constant time).

        Example:
            >>> DistributedRangeSplitter(10, 4).get_rank_for_sample(7)
            2
        """
        sample_id = check_sample_id(sample_id, "sample_id")
        if sample_id >= self.total_samples:
            raise ValueError(
                f"sample_id must be < total_samples ({self.total_samples}), got {sample_id}"
            )
        big = self._rem * (self._base + 1)  # ids held by the ranks with one extra
        if sample_id < big:
            return sample_id // (self._base + 1)
        return self._rem + (sample_id - big) // self._base


def misowned_rank_problem(
    sample_ids: npt.NDArray[Any],
    ranks: npt.NDArray[np.integer[Any]],
    *,
    start: Any,
    total: Any,
    world_size: int,
    position: int = 0,
) -> str | None:
    """The first record whose rank does not own its id, as a sentence (None when
    every rank does): a merged rank-aware file of a run of ``total`` ids from
    ``start`` over ``world_size`` ranks holds each id with the rank that
    :class:`DistributedRangeSplitter` gives it (``start`` and ``total`` are the
    file's ``start_id`` and ``num_samples``). ``position`` is the first record's
    place in the file. Nothing is checked where ``start`` or ``total`` is not a
    count (a file that names no start), and ids outside the run are left to the
    id checks. Constant work per record, whatever the world size.

    Example:
        >>> ids, ranks = np.arange(10, 14), np.array([0, 0, 1, 0])
        >>> misowned_rank_problem(ids, ranks, start=10, total=4, world_size=2)
        'record 3: sample 13 belongs to rank 1 (ids 12..13 of the run), not rank 0'
    """
    if type(start) is not int or type(total) is not int or min(start, total) < 0 or total == 0:
        return None
    offsets = np.asarray(sample_ids) - start
    if total >= 2**62:  # past int64 arithmetic: Python ints
        offsets = offsets.astype(object)
    inside = (offsets >= 0) & (offsets < total)
    base, rem = divmod(total, world_size)
    big = rem * (base + 1)  # ids held by the ranks with one extra
    safe = np.where(inside, offsets, 0)
    owners = np.where(safe < big, safe // (base + 1), rem + (safe - big) // max(base, 1))
    wrong = np.flatnonzero(inside & (owners != np.asarray(ranks)))
    if not len(wrong):
        return None
    row = int(wrong[0])
    owner = int(owners[row])
    lo, hi = DistributedRangeSplitter(total, world_size).get_rank_range(owner)
    return (
        f"record {position + row}: sample {int(sample_ids[row])} belongs to rank {owner} "
        f"(ids {start + lo}..{start + hi - 1} of the run), not rank {int(ranks[row])}"
    )


# --------------------------------------------------------------------------- context


@dataclass(frozen=True)
class DistributedContext:
    """Which rank this process is, and where that was read from (``source``:
    ``torch.distributed``, ``torchrun``, ``slurm``, ``openmpi`` or ``single``)."""

    rank: int
    world_size: int
    local_rank: int
    source: str

    @property
    def is_distributed(self) -> bool:
        """True when more than one process takes part."""
        return self.world_size > 1


_ENVIRONMENTS = (
    ("torchrun", "RANK", "WORLD_SIZE", "LOCAL_RANK"),
    ("slurm", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"),
    ("openmpi", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"),
)


def detect_distributed_context(environ: Mapping[str, str] | None = None) -> DistributedContext:
    """This process's rank and world size: from an initialized ``torch.distributed``
    process group, else torchrun's, SLURM's or Open MPI's environment variables,
    else a single process. Inconsistent values raise ValueError naming them.

    Example:
        >>> detect_distributed_context({"RANK": "1", "WORLD_SIZE": "4", "LOCAL_RANK": "1"})
        DistributedContext(rank=1, world_size=4, local_rank=1, source='torchrun')
    """
    env = os.environ if environ is None else environ
    group = _torch_process_group(env) if environ is None else None
    if group is not None:
        return group
    for source, rank_var, size_var, local_var in _ENVIRONMENTS:
        if rank_var in env or size_var in env:
            rank = _env_int(env, rank_var, source)
            size = _env_int(env, size_var, source)
            local = _env_int(env, local_var, source) if local_var in env else rank
            if size < 1 or not 0 <= rank < size:
                raise ValueError(
                    f"inconsistent {source} environment: {rank_var}={rank}, {size_var}={size} "
                    "(need 0 <= rank < world size)"
                )
            if not 0 <= local < size:
                raise ValueError(
                    f"inconsistent {source} environment: {local_var}={local}, {size_var}={size} "
                    "(need 0 <= local rank < world size)"
                )
            return DistributedContext(rank, size, local, source)
    return DistributedContext(0, 1, 0, "single")


def _env_int(env: Mapping[str, str], name: str, source: str) -> int:
    text = env.get(name)
    if text is None:
        raise ValueError(f"incomplete {source} environment: {name} is not set")
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f"{source} environment: {name}={text!r} is not a number") from None


def _torch_process_group(env: Mapping[str, str]) -> DistributedContext | None:
    torch = sys.modules.get("torch")  # only when the program already uses torch
    if torch is None:
        return None
    dist = getattr(torch, "distributed", None)
    if dist is None or not dist.is_available() or not dist.is_initialized():
        return None
    rank, size = int(dist.get_rank()), int(dist.get_world_size())
    local = int(env["LOCAL_RANK"]) if env.get("LOCAL_RANK", "").strip().isdigit() else rank
    return DistributedContext(rank, size, local, "torch.distributed")
