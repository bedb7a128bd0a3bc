"""dpa: deterministic per-sample data augmentation parameters.

The parameters of a sample are a pure function of its id and an
:class:`AugmentationConfig`, bit-exact with DPA v0.2::

    >>> import dpa
    >>> dpa.gen_augmentation_params(0)["rotation"]
    -0.14542826986576074

``import dpa`` never imports torch, tensorflow or pyarrow; they are optional extras.
"""

import logging
from importlib.metadata import PackageNotFoundError, version

from .backends import backend
from .batch import (
    BatchConfig,
    BatchMetrics,
    BatchProcessor,
    BatchStrategy,
    InvalidBatchConfigError,
    MemoryAwareBatcher,
    MemoryInfo,
    MemoryLimitExceededError,
    MemoryMonitor,
    memory_monitor,
)
from .config import PARAM_NAMES, PRESETS, AugmentationConfig, get_preset
from .core import fib, gen_augmentation_seed
from .distributed import (
    DistributedContext,
    DistributedRangeSplitter,
    RankAwareSeedGenerator,
    RankRange,
    detect_distributed_context,
    gen_distributed_augmentation_params,
    gen_elastic_augmentation_params,
    generate_distributed_batch,
    generate_elastic_batch,
    stream_distributed_augmentation_chain,
    stream_distributed_augmentation_range,
    stream_elastic_augmentation_range,
)
from .formats import DPAFileError, read_augmentation_file
from .generate import (
    ParamBatch,
    StreamingProgress,
    gen_augmentation_params,
    generate_augmentation_chain,
    generate_batch,
    iter_batches,
    stream_augmentation_chain,
    stream_augmentation_range,
)
from .io import (
    AugmentationWriter,
    load_augmentation_chain,
    load_augmentation_stream,
    save_augmentation_chain,
    save_augmentation_stream,
)
from .quality import QualityReport, check_batch_quality, check_file_quality, check_quality
from .stats import RunningStatistics, compute_statistics, compute_streaming_statistics
from .verify import VerifyReport, verify_augmentation_file

logging.getLogger(__name__).addHandler(logging.NullHandler())

try:
    __version__ = version("dpa")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "PARAM_NAMES",
    "PRESETS",
    "AugmentationConfig",
    "AugmentationWriter",
    "BatchConfig",
    "BatchMetrics",
    "BatchProcessor",
    "BatchStrategy",
    "DPAFileError",
    "DistributedContext",
    "DistributedRangeSplitter",
    "InvalidBatchConfigError",
    "MemoryAwareBatcher",
    "MemoryInfo",
    "MemoryLimitExceededError",
    "MemoryMonitor",
    "ParamBatch",
    "QualityReport",
    "RankAwareSeedGenerator",
    "RankRange",
    "RunningStatistics",
    "StreamingProgress",
    "VerifyReport",
    "__version__",
    "backend",
    "check_batch_quality",
    "check_file_quality",
    "check_quality",
    "compute_statistics",
    "compute_streaming_statistics",
    "detect_distributed_context",
    "fib",
    "gen_augmentation_params",
    "gen_augmentation_seed",
    "gen_distributed_augmentation_params",
    "gen_elastic_augmentation_params",
    "generate_augmentation_chain",
    "generate_batch",
    "generate_distributed_batch",
    "generate_elastic_batch",
    "get_preset",
    "iter_batches",
    "load_augmentation_chain",
    "load_augmentation_stream",
    "memory_monitor",
    "read_augmentation_file",
    "save_augmentation_chain",
    "save_augmentation_stream",
    "stream_augmentation_chain",
    "stream_augmentation_range",
    "stream_distributed_augmentation_chain",
    "stream_distributed_augmentation_range",
    "stream_elastic_augmentation_range",
    "verify_augmentation_file",
]
