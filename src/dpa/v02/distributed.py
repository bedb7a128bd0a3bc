"""DPA v0.2's ``src.distributed``: rank-aware keys and range splitting.

A rank-aware sample is keyed by ``f"{base_seed}:{rank}:{sample_id}"``, so each rank
gets its own parameters for a sample, reproducibly. The classes are dpa's
(:class:`dpa.RankAwareSeedGenerator`, :class:`dpa.DistributedRangeSplitter`) with
v0.2's argument checks and messages; the numbers are v0.2's to the last bit.

Example:
    >>> DistributedRangeSplitter(10, 3).get_all_ranges()
    [(0, 4), (4, 7), (7, 10)]
    >>> gen_distributed_augmentation_params(0, 1, base_seed=42, world_size=4)["rank"]
    1
"""

from __future__ import annotations

import logging

from . import _engine as engine
from ._checks import check_non_negative, check_rank, check_world_size
from ._engine import AugmentationConfig, RankRange
from ._errors import DistributedError, InvalidRankError, RangeSplittingError, SeedGenerationError
from ._rank_streams import (
    stream_distributed_augmentation_chain,
    stream_distributed_augmentation_range,
)
from ._records import gen_distributed_augmentation_params

__all__ = [
    "AugmentationConfig",
    "DistributedError",
    "DistributedRangeSplitter",
    "InvalidRankError",
    "RangeSplittingError",
    "RankAwareSeedGenerator",
    "RankRange",
    "SeedGenerationError",
    "gen_distributed_augmentation_params",
    "stream_distributed_augmentation_chain",
    "stream_distributed_augmentation_range",
]

logger = logging.getLogger(__name__)


class RankAwareSeedGenerator(engine.RankAwareSeedGenerator):
    """The rank-aware hash chain of ``base_seed`` for ``world_size`` ranks.

    Example:
        >>> RankAwareSeedGenerator(base_seed=42, world_size=4).generate_seed(0, 4)
        Traceback (most recent call last):
        ...
        ValueError: rank (4) must be < world_size (4)
    """

    def __init__(self, base_seed: int = 0, world_size: int = 1) -> None:
        check_non_negative(base_seed, "base_seed")
        check_world_size(world_size)
        super().__init__(base_seed, world_size)

    def generate_seed(self, sample_id: int, rank: int, augmentation_depth: int = 10) -> str:
        """The chain's final hex digest for ``sample_id`` on ``rank``."""
        check_non_negative(sample_id, "sample_id")
        check_rank(rank, self.world_size)
        if augmentation_depth < 1:
            raise ValueError("augmentation_depth must be >= 1")
        return super().generate_seed(sample_id, rank, augmentation_depth)


class DistributedRangeSplitter(engine.DistributedRangeSplitter):
    """Contiguous split of ``total_samples`` over ``world_size`` ranks: the first
    ``total % world_size`` ranks get one sample more; a rank with none gets ``(0, 0)``.

    Example:
        >>> DistributedRangeSplitter(3, 5).get_rank_range(4)
        (0, 0)
    """

    def __init__(self, total_samples: int, world_size: int) -> None:
        check_non_negative(total_samples, "total_samples")
        check_world_size(world_size)
        super().__init__(total_samples, world_size)

    def get_rank_range(self, rank: int) -> tuple[int, int]:
        """``(start_id, end_id)`` of ``rank`` (``end_id`` excluded)."""
        check_rank(rank, self.world_size)
        return super().get_rank_range(rank)

    def validate_ranges(self) -> bool:
        """True when the ranges cover every sample once, in rank order; logs the
        ranges as an error when they do not."""
        valid = super().validate_ranges()
        if not valid:
            logger.error(
                "Range validation failed: ranges %s do not cover %d samples",
                self.get_all_ranges(),
                self.total_samples,
            )
        return valid

    def get_rank_for_sample(self, sample_id: int) -> int:
        """The rank whose range holds ``sample_id``."""
        check_non_negative(sample_id, "sample_id")
        if sample_id >= self.total_samples:
            raise ValueError(
                f"sample_id ({sample_id}) must be < total_samples ({self.total_samples})"
            )
        return super().get_rank_for_sample(sample_id)
