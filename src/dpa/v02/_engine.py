"""dpa's engine, as the legacy layer uses it: each name imported from the private
module that defines it (as ``dpa._API`` says), so that this file is the one place
to change when those modules move. Every name of ``__all__`` is ``dpa.<name>`` itself
(``tests/test_v02.py`` checks it); besides them, ``atomic_file``, the file lifecycle
every dpa writer goes through, so v0.2's saves are atomic the same way.

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
from .._lifecycle import atomic_file as atomic_file
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
