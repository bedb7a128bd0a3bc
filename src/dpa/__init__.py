"""dpa: deterministic per-sample data augmentation parameters.

The parameters of a sample are a pure function of its key and an
:class:`AugmentationConfig`, bit-exact with DPA v0.2::

    >>> import dpa
    >>> dpa.gen_augmentation_params(0)["rotation"]
    -0.14542826986576074

This module is dpa's whole public API; the modules behind it (``dpa._generate``,
``dpa._io``, ...) are private. Names are imported on first use, so ``import dpa``
loads numpy and nothing heavier: not click, tqdm, psutil, pyarrow, scipy,
matplotlib, torch, tensorflow or PIL. The public subpackages are
``dpa.integrations`` (torch, TF, numpy pipelines) and ``dpa.benchmark``.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what the lazy names resolve to, for type checkers and IDEs
    from ._backends import (
        backend as backend,
    )
    from ._batch import (
        BatchConfig as BatchConfig,
        BatchMetrics as BatchMetrics,
        BatchProcessor as BatchProcessor,
        BatchStrategy as BatchStrategy,
        MemoryAwareBatcher as MemoryAwareBatcher,
        MemoryInfo as MemoryInfo,
        MemoryMonitor as MemoryMonitor,
        get_memory_usage as get_memory_usage,
        memory_monitor as memory_monitor,
    )
    from ._chain import (
        generate_augmentation_chain as generate_augmentation_chain,
    )
    from ._config import (
        PARAM_NAMES as PARAM_NAMES,
        PRESETS as PRESETS,
        AugmentationConfig as AugmentationConfig,
        get_preset as get_preset,
    )
    from ._core import (
        fib as fib,
        gen_augmentation_seed as gen_augmentation_seed,
    )
    from ._distributed import (
        DistributedContext as DistributedContext,
        DistributedRangeSplitter as DistributedRangeSplitter,
        RankAwareSeedGenerator as RankAwareSeedGenerator,
        RankRange as RankRange,
        detect_distributed_context as detect_distributed_context,
        gen_distributed_augmentation_params as gen_distributed_augmentation_params,
        gen_elastic_augmentation_params as gen_elastic_augmentation_params,
        generate_distributed_batch as generate_distributed_batch,
        generate_elastic_batch as generate_elastic_batch,
        stream_distributed_augmentation_chain as stream_distributed_augmentation_chain,
        stream_distributed_augmentation_range as stream_distributed_augmentation_range,
        stream_elastic_augmentation_range as stream_elastic_augmentation_range,
    )
    from ._errors import (
        BatchProcessingError as BatchProcessingError,
        DPAError as DPAError,
        DPAFileError as DPAFileError,
        InvalidBatchConfigError as InvalidBatchConfigError,
        MemoryLimitExceededError as MemoryLimitExceededError,
        ShardError as ShardError,
    )
    from ._formats import (
        AugmentationFile as AugmentationFile,
        read_augmentation_file as read_augmentation_file,
    )
    from ._generate import (
        StreamingProgress as StreamingProgress,
        gen_augmentation_params as gen_augmentation_params,
        generate_batch as generate_batch,
        iter_batches as iter_batches,
        stream_augmentation_chain as stream_augmentation_chain,
        stream_augmentation_range as stream_augmentation_range,
    )
    from ._io import (
        AugmentationWriter as AugmentationWriter,
        load_augmentation_chain as load_augmentation_chain,
        load_augmentation_stream as load_augmentation_stream,
        partial_path as partial_path,
        save_augmentation_chain as save_augmentation_chain,
        save_augmentation_stream as save_augmentation_stream,
        write_range as write_range,
    )
    from ._keys import (
        ElasticScheme as ElasticScheme,
        KeyScheme as KeyScheme,
        PerRecordRankScheme as PerRecordRankScheme,
        PlainScheme as PlainScheme,
        RankAwareScheme as RankAwareScheme,
        scheme_for_mode as scheme_for_mode,
        scheme_from_metadata as scheme_from_metadata,
    )
    from ._parambatch import (
        ParamBatch as ParamBatch,
    )
    from ._preview import (
        write_preview as write_preview,
    )
    from ._quality import (
        QualityCheck as QualityCheck,
        QualityReport as QualityReport,
        check_batch_quality as check_batch_quality,
        check_file_quality as check_file_quality,
        check_quality as check_quality,
        plot_quality as plot_quality,
    )
    from ._seeding import (
        sample_numpy_generator as sample_numpy_generator,
        sample_python_random as sample_python_random,
        sample_seed as sample_seed,
        sample_torch_generator as sample_torch_generator,
        seeded as seeded,
    )
    from ._shards import (
        ShardsReport as ShardsReport,
        check_shards as check_shards,
        generate_shards as generate_shards,
        merge_shards as merge_shards,
        read_manifest as read_manifest,
        verify_shards as verify_shards,
    )
    from ._stats import (
        RunningStatistics as RunningStatistics,
        compute_statistics as compute_statistics,
        compute_streaming_statistics as compute_streaming_statistics,
    )
    from ._verify import (
        Mismatch as Mismatch,
        VerifyReport as VerifyReport,
        verify_augmentation_file as verify_augmentation_file,
    )

#: Each public name and the private module that defines it, by layer.
_API: dict[str, str] = {
    # config
    "AugmentationConfig": "_config",
    "PARAM_NAMES": "_config",
    "PRESETS": "_config",
    "get_preset": "_config",
    # key schemes
    "KeyScheme": "_keys",
    "PlainScheme": "_keys",
    "RankAwareScheme": "_keys",
    "ElasticScheme": "_keys",
    "PerRecordRankScheme": "_keys",
    "scheme_for_mode": "_keys",
    "scheme_from_metadata": "_keys",
    # the sample key as randomness for any pipeline
    "sample_seed": "_seeding",
    "seeded": "_seeding",
    "sample_numpy_generator": "_seeding",
    "sample_python_random": "_seeding",
    "sample_torch_generator": "_seeding",
    # core and backends
    "fib": "_core",
    "gen_augmentation_seed": "_core",
    "backend": "_backends",
    # generation
    "ParamBatch": "_parambatch",
    "StreamingProgress": "_generate",
    "gen_augmentation_params": "_generate",
    "generate_batch": "_generate",
    "iter_batches": "_generate",
    "stream_augmentation_range": "_generate",
    "stream_augmentation_chain": "_generate",
    "generate_augmentation_chain": "_chain",
    # the modes' own entry points (DPA v0.2 names)
    "gen_distributed_augmentation_params": "_distributed",
    "generate_distributed_batch": "_distributed",
    "stream_distributed_augmentation_range": "_distributed",
    "stream_distributed_augmentation_chain": "_distributed",
    "RankAwareSeedGenerator": "_distributed",
    "gen_elastic_augmentation_params": "_distributed",
    "generate_elastic_batch": "_distributed",
    "stream_elastic_augmentation_range": "_distributed",
    "DistributedRangeSplitter": "_distributed",
    "RankRange": "_distributed",
    "DistributedContext": "_distributed",
    "detect_distributed_context": "_distributed",
    # files
    "AugmentationWriter": "_io",
    "save_augmentation_stream": "_io",
    "save_augmentation_chain": "_io",
    "write_range": "_io",
    "partial_path": "_io",
    "load_augmentation_chain": "_io",
    "load_augmentation_stream": "_io",
    "AugmentationFile": "_formats",
    "read_augmentation_file": "_formats",
    "verify_augmentation_file": "_verify",
    "VerifyReport": "_verify",
    "Mismatch": "_verify",
    "RunningStatistics": "_stats",
    "compute_statistics": "_stats",
    "compute_streaming_statistics": "_stats",
    # sharded runs
    "generate_shards": "_shards",
    "verify_shards": "_shards",
    "merge_shards": "_shards",
    "check_shards": "_shards",
    "read_manifest": "_shards",
    "ShardsReport": "_shards",
    # batches
    "BatchProcessor": "_batch",
    "BatchConfig": "_batch",
    "BatchStrategy": "_batch",
    "BatchMetrics": "_batch",
    "MemoryAwareBatcher": "_batch",
    "MemoryMonitor": "_batch",
    "MemoryInfo": "_batch",
    "memory_monitor": "_batch",
    "get_memory_usage": "_batch",
    # quality and preview
    "check_quality": "_quality",
    "check_file_quality": "_quality",
    "check_batch_quality": "_quality",
    "plot_quality": "_quality",
    "QualityReport": "_quality",
    "QualityCheck": "_quality",
    "write_preview": "_preview",
    # errors
    "DPAError": "_errors",
    "DPAFileError": "_errors",
    "ShardError": "_errors",
    "BatchProcessingError": "_errors",
    "InvalidBatchConfigError": "_errors",
    "MemoryLimitExceededError": "_errors",
}

__all__ = sorted([*_API, "__version__"])

logging.getLogger(__name__).addHandler(logging.NullHandler())


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use, then keep it here."""
    if name == "__version__":
        value: Any = _version()
    elif name in _API:
        # Unlike httpx, the objects keep the __module__ of the file that defines
        # them, so that doctest finds their examples there.
        value = getattr(importlib.import_module(f"{__name__}.{_API[name]}"), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def _version() -> str:
    from ._system import package_version

    return package_version()
