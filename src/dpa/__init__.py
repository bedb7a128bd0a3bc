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
    )
    from ._batch import (
        BatchMetrics as BatchMetrics,
    )
    from ._batch import (
        BatchProcessor as BatchProcessor,
    )
    from ._batch import (
        BatchStrategy as BatchStrategy,
    )
    from ._batch import (
        MemoryAwareBatcher as MemoryAwareBatcher,
    )
    from ._batch import (
        MemoryInfo as MemoryInfo,
    )
    from ._batch import (
        MemoryMonitor as MemoryMonitor,
    )
    from ._batch import (
        get_memory_usage as get_memory_usage,
    )
    from ._batch import (
        memory_monitor as memory_monitor,
    )
    from ._config import (
        PARAM_NAMES as PARAM_NAMES,
    )
    from ._config import (
        PRESETS as PRESETS,
    )
    from ._config import (
        AugmentationConfig as AugmentationConfig,
    )
    from ._config import (
        get_preset as get_preset,
    )
    from ._core import (
        fib as fib,
    )
    from ._core import (
        gen_augmentation_seed as gen_augmentation_seed,
    )
    from ._distributed import (
        DistributedContext as DistributedContext,
    )
    from ._distributed import (
        DistributedRangeSplitter as DistributedRangeSplitter,
    )
    from ._distributed import (
        RankAwareSeedGenerator as RankAwareSeedGenerator,
    )
    from ._distributed import (
        RankRange as RankRange,
    )
    from ._distributed import (
        detect_distributed_context as detect_distributed_context,
    )
    from ._distributed import (
        gen_distributed_augmentation_params as gen_distributed_augmentation_params,
    )
    from ._distributed import (
        gen_elastic_augmentation_params as gen_elastic_augmentation_params,
    )
    from ._distributed import (
        generate_distributed_batch as generate_distributed_batch,
    )
    from ._distributed import (
        generate_elastic_batch as generate_elastic_batch,
    )
    from ._distributed import (
        stream_distributed_augmentation_chain as stream_distributed_augmentation_chain,
    )
    from ._distributed import (
        stream_distributed_augmentation_range as stream_distributed_augmentation_range,
    )
    from ._distributed import (
        stream_elastic_augmentation_range as stream_elastic_augmentation_range,
    )
    from ._errors import (
        BatchProcessingError as BatchProcessingError,
    )
    from ._errors import (
        DPAError as DPAError,
    )
    from ._errors import (
        DPAFileError as DPAFileError,
    )
    from ._errors import (
        InvalidBatchConfigError as InvalidBatchConfigError,
    )
    from ._errors import (
        MemoryLimitExceededError as MemoryLimitExceededError,
    )
    from ._errors import (
        ShardError as ShardError,
    )
    from ._formats import (
        AugmentationFile as AugmentationFile,
    )
    from ._formats import (
        read_augmentation_file as read_augmentation_file,
    )
    from ._generate import (
        StreamingProgress as StreamingProgress,
    )
    from ._generate import (
        gen_augmentation_params as gen_augmentation_params,
    )
    from ._generate import (
        generate_augmentation_chain as generate_augmentation_chain,
    )
    from ._generate import (
        generate_batch as generate_batch,
    )
    from ._generate import (
        iter_batches as iter_batches,
    )
    from ._generate import (
        stream_augmentation_chain as stream_augmentation_chain,
    )
    from ._generate import (
        stream_augmentation_range as stream_augmentation_range,
    )
    from ._io import (
        AugmentationWriter as AugmentationWriter,
    )
    from ._io import (
        load_augmentation_chain as load_augmentation_chain,
    )
    from ._io import (
        load_augmentation_stream as load_augmentation_stream,
    )
    from ._io import (
        partial_path as partial_path,
    )
    from ._io import (
        save_augmentation_chain as save_augmentation_chain,
    )
    from ._io import (
        save_augmentation_stream as save_augmentation_stream,
    )
    from ._io import (
        write_range as write_range,
    )
    from ._keys import (
        ElasticScheme as ElasticScheme,
    )
    from ._keys import (
        KeyScheme as KeyScheme,
    )
    from ._keys import (
        PerRecordRankScheme as PerRecordRankScheme,
    )
    from ._keys import (
        PlainScheme as PlainScheme,
    )
    from ._keys import (
        RankAwareScheme as RankAwareScheme,
    )
    from ._keys import (
        scheme_for_mode as scheme_for_mode,
    )
    from ._keys import (
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
    )
    from ._quality import (
        QualityReport as QualityReport,
    )
    from ._quality import (
        check_batch_quality as check_batch_quality,
    )
    from ._quality import (
        check_file_quality as check_file_quality,
    )
    from ._quality import (
        check_quality as check_quality,
    )
    from ._quality import (
        plot_quality as plot_quality,
    )
    from ._shards import (
        ShardsReport as ShardsReport,
    )
    from ._shards import (
        check_shards as check_shards,
    )
    from ._shards import (
        generate_shards as generate_shards,
    )
    from ._shards import (
        merge_shards as merge_shards,
    )
    from ._shards import (
        read_manifest as read_manifest,
    )
    from ._shards import (
        verify_shards as verify_shards,
    )
    from ._stats import (
        RunningStatistics as RunningStatistics,
    )
    from ._stats import (
        compute_statistics as compute_statistics,
    )
    from ._stats import (
        compute_streaming_statistics as compute_streaming_statistics,
    )
    from ._verify import (
        Mismatch as Mismatch,
    )
    from ._verify import (
        VerifyReport as VerifyReport,
    )
    from ._verify import (
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
    "generate_augmentation_chain": "_generate",
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
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dpa")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0.0.0+unknown"
