"""dpa's engine, as the legacy layer uses it: each name imported from the private
module that defines it (as ``dpa._API`` says), so that this file is the one place
to change when those modules move. Every name here is ``dpa.<name>`` itself
(``tests/test_v02_api.py`` checks it).

Example:
    >>> import dpa
    >>> iter_batches is dpa.iter_batches
    True
"""

from __future__ import annotations

from .._batch import BatchConfig, BatchProcessor, BatchStrategy
from .._config import PRESETS, AugmentationConfig, get_preset
from .._core import fib, gen_augmentation_seed
from .._distributed import (
    DistributedRangeSplitter,
    RankAwareSeedGenerator,
    RankRange,
    gen_distributed_augmentation_params,
)
from .._errors import (
    BatchProcessingError,
    DPAError,
    InvalidBatchConfigError,
    MemoryLimitExceededError,
)
from .._generate import gen_augmentation_params, iter_batches
from .._keys import KeyScheme, RankAwareScheme
from .._parambatch import ParamBatch
from .._stats import RunningStatistics, compute_statistics, compute_streaming_statistics

__all__ = [
    "PRESETS",
    "AugmentationConfig",
    "BatchConfig",
    "BatchProcessingError",
    "BatchProcessor",
    "BatchStrategy",
    "DPAError",
    "DistributedRangeSplitter",
    "InvalidBatchConfigError",
    "KeyScheme",
    "MemoryLimitExceededError",
    "ParamBatch",
    "RankAwareScheme",
    "RankAwareSeedGenerator",
    "RankRange",
    "RunningStatistics",
    "compute_statistics",
    "compute_streaming_statistics",
    "fib",
    "gen_augmentation_params",
    "gen_augmentation_seed",
    "gen_distributed_augmentation_params",
    "get_preset",
    "iter_batches",
]
