"""DPA v0.2's API on dpa's engine: change the import, keep the program.

The way numpy keeps ``RandomState`` beside ``Generator``, this package keeps DPA
v0.2's API, with v0.2's signatures, record shapes, file layout, messages and
exceptions, computed by dpa (the native kernel, atomic writes, no global state)::

    from src.dpa import stream_augmentation_chain          # DPA v0.2
    from dpa.v02 import stream_augmentation_chain          # the same program on dpa

    from src.distributed import DistributedRangeSplitter   # -> dpa.v02.distributed
    from src.batch import BatchConfig                      # -> dpa.v02.batch
    from src.benchmark import BenchmarkRunner              # -> dpa.v02.benchmark

This module is v0.2's ``src.dpa``; ``dpa.v02.distributed``, ``dpa.v02.batch`` and
``dpa.v02.benchmark`` are its other modules. Names are imported on first use, and
``import dpa`` does not import this package. ``docs/migration.md`` says what
differs from v0.2 and how to move on to dpa's own API.

Example:
    >>> from dpa.v02 import gen_augmentation_params, stream_augmentation_chain
    >>> list(stream_augmentation_chain(2)) == [gen_augmentation_params(0),
    ...                                        gen_augmentation_params(1)]
    True
    >>> "sample_id" in gen_augmentation_params(0)
    False
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# What the lazy names resolve to, for type checkers. BenchmarkRunner is left out: its
# module reads the functions it benchmarks from this package when it runs (so that
# patching them here works, as in v0.2), and an import of it here would be a cycle.
if TYPE_CHECKING:
    from ._batched import (
        convert_stream_to_batches as convert_stream_to_batches,
        get_batch_metrics as get_batch_metrics,
        get_batch_processing_metrics as get_batch_processing_metrics,
        process_augmentation_batches as process_augmentation_batches,
        stream_augmentation_chain_with_memory_limit as stream_augmentation_chain_with_memory_limit,
        stream_augmentation_range_batched as stream_augmentation_range_batched,
    )
    from ._bench_core import (
        PerformanceProfiler as PerformanceProfiler,
        benchmark_function as benchmark_function,
        measure_memory as measure_memory,
        measure_time as measure_time,
    )
    from ._context import (
        StreamingContext as StreamingContext,
        safe_cleanup_generator as safe_cleanup_generator,
        safe_close_file as safe_close_file,
        with_streaming_context as with_streaming_context,
    )
    from ._engine import PRESETS as PRESETS, AugmentationConfig as AugmentationConfig
    from ._errors import (
        GeneratorExhaustionError as GeneratorExhaustionError,
        PartialWriteError as PartialWriteError,
        ResourceCleanupError as ResourceCleanupError,
        StreamingError as StreamingError,
        StreamingIOError as StreamingIOError,
    )
    from ._files import (
        load_augmentation_chain as load_augmentation_chain,
        load_augmentation_stream as load_augmentation_stream,
        recover_partial_write as recover_partial_write,
        resume_streaming_save as resume_streaming_save,
        save_augmentation_chain as save_augmentation_chain,
        save_augmentation_stream as save_augmentation_stream,
    )
    from ._performance import (
        benchmark_augmentation_performance as benchmark_augmentation_performance,
        create_performance_profiler as create_performance_profiler,
        get_performance_recommendations as get_performance_recommendations,
        profile_augmentation_generation as profile_augmentation_generation,
    )
    from ._progress import (
        StreamingMetadata as StreamingMetadata,
        StreamingProgress as StreamingProgress,
        create_simple_progress_callback as create_simple_progress_callback,
        create_streaming_metadata as create_streaming_metadata,
        create_streaming_progress as create_streaming_progress,
        estimate_memory_usage as estimate_memory_usage,
        estimate_optimal_batch_size as estimate_optimal_batch_size,
        format_memory_size as format_memory_size,
        format_progress_info as format_progress_info,
        get_current_memory_usage as get_current_memory_usage,
        get_memory_usage_estimate as get_memory_usage_estimate,
        update_streaming_progress as update_streaming_progress,
    )
    from ._rank_streams import (
        stream_distributed_augmentation_chain as stream_distributed_augmentation_chain,
    )
    from ._records import (
        fib as fib,
        gen_augmentation_params as gen_augmentation_params,
        gen_augmentation_seed as gen_augmentation_seed,
        gen_distributed_augmentation_params as gen_distributed_augmentation_params,
        get_preset as get_preset,
    )
    from ._stats import (
        compute_statistics as compute_statistics,
        compute_streaming_statistics as compute_streaming_statistics,
        generator_to_list as generator_to_list,
        list_to_generator as list_to_generator,
    )
    from ._streams import (
        generate_augmentation_chain as generate_augmentation_chain,
        stream_augmentation_chain as stream_augmentation_chain,
        stream_augmentation_chain_batched as stream_augmentation_chain_batched,
        stream_augmentation_range as stream_augmentation_range,
    )
    from .batch import (
        BatchConfig as BatchConfig,
        BatchMetrics as BatchMetrics,
        BatchProcessor as BatchProcessor,
        BatchStrategy as BatchStrategy,
    )
    from .distributed import (
        DistributedRangeSplitter as DistributedRangeSplitter,
        RankAwareSeedGenerator as RankAwareSeedGenerator,
    )

#: The version of DPA's API this package keeps.
__version__ = "0.2.1"

#: Each name of v0.2's ``src.dpa`` and the module of this package that holds it.
_API: dict[str, str] = {
    # configuration (dpa's config, which v0.2's files and numbers share)
    "AugmentationConfig": "._engine",
    "PRESETS": "._engine",
    "get_preset": "._records",
    # generation
    "fib": "._records",
    "gen_augmentation_seed": "._records",
    "gen_augmentation_params": "._records",
    "gen_distributed_augmentation_params": "._records",
    "generate_augmentation_chain": "._streams",
    "stream_augmentation_chain": "._streams",
    "stream_augmentation_range": "._streams",
    "stream_augmentation_chain_batched": "._streams",
    "stream_distributed_augmentation_chain": "._rank_streams",
    # statistics and conversions
    "compute_statistics": "._stats",
    "compute_streaming_statistics": "._stats",
    "generator_to_list": "._stats",
    "list_to_generator": "._stats",
    # files
    "save_augmentation_chain": "._files",
    "load_augmentation_chain": "._files",
    "save_augmentation_stream": "._files",
    "load_augmentation_stream": "._files",
    "recover_partial_write": "._files",
    "resume_streaming_save": "._files",
    # progress and memory
    "StreamingMetadata": "._progress",
    "StreamingProgress": "._progress",
    "create_streaming_metadata": "._progress",
    "create_streaming_progress": "._progress",
    "update_streaming_progress": "._progress",
    "format_progress_info": "._progress",
    "create_simple_progress_callback": "._progress",
    "estimate_memory_usage": "._progress",
    "get_current_memory_usage": "._progress",
    "format_memory_size": "._progress",
    "estimate_optimal_batch_size": "._progress",
    "get_memory_usage_estimate": "._progress",
    # resources
    "StreamingContext": "._context",
    "with_streaming_context": "._context",
    "safe_close_file": "._context",
    "safe_cleanup_generator": "._context",
    # errors
    "StreamingError": "._errors",
    "PartialWriteError": "._errors",
    "StreamingIOError": "._errors",
    "GeneratorExhaustionError": "._errors",
    "ResourceCleanupError": "._errors",
    # batches
    "BatchProcessor": ".batch",
    "BatchStrategy": ".batch",
    "BatchConfig": ".batch",
    "BatchMetrics": ".batch",
    "process_augmentation_batches": "._batched",
    "get_batch_metrics": "._batched",
    "stream_augmentation_range_batched": "._batched",
    "stream_augmentation_chain_with_memory_limit": "._batched",
    "convert_stream_to_batches": "._batched",
    "get_batch_processing_metrics": "._batched",
    # distributed
    "RankAwareSeedGenerator": ".distributed",
    "DistributedRangeSplitter": ".distributed",
    # benchmarks
    "PerformanceProfiler": "._bench_core",
    "benchmark_function": "._bench_core",
    "measure_time": "._bench_core",
    "measure_memory": "._bench_core",
    "BenchmarkRunner": "._runner",
    "profile_augmentation_generation": "._performance",
    "benchmark_augmentation_performance": "._performance",
    "create_performance_profiler": "._performance",
    "get_performance_recommendations": "._performance",
}

__all__ = sorted([*_API, "__version__"])


def __getattr__(name: str) -> Any:
    """Import a name from its module on first use, then keep it here."""
    if name not in _API:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_API[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
