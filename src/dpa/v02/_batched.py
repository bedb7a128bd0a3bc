"""DPA v0.2's batch helpers of ``src.dpa``: streams cut into batches, batches run
through a function, and the metrics of batched runs. The streams are generators, as
v0.2's: arguments are checked when the first batch is asked for.

Example:
    >>> stream = iter(range(7))
    >>> [len(batch) for batch in convert_stream_to_batches(stream, "sequential", batch_size=3)]
    [3, 3, 1]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ._checks import check_id_range, check_positive
from ._engine import AugmentationConfig
from ._memory import rss_mb
from ._progress import ProgressCallback
from ._streams import batches_of, stream_augmentation_chain, stream_augmentation_chain_batched
from .batch import BatchConfig, BatchMetrics, BatchProcessingError, BatchProcessor, BatchStrategy

__all__ = [
    "convert_stream_to_batches",
    "get_batch_metrics",
    "get_batch_processing_metrics",
    "process_augmentation_batches",
    "stream_augmentation_chain_with_memory_limit",
    "stream_augmentation_range_batched",
]

_DEFAULT_BATCHES = BatchConfig(strategy=BatchStrategy.SEQUENTIAL, batch_size=32)


def stream_augmentation_range_batched(
    start_id: int,
    end_id: int,
    batch_config: BatchConfig | None = None,
    config: AugmentationConfig | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """The records of ids ``start_id .. end_id - 1`` in batches of ``batch_config``.

    Example:
        >>> [len(b) for b in stream_augmentation_range_batched(0, 40)]
        [32, 8]
    """
    check_id_range(start_id, end_id)
    yield from stream_augmentation_chain_batched(end_id - start_id, batch_config, config, start_id)


def stream_augmentation_chain_with_memory_limit(
    num_samples: int,
    max_memory_mb: int = 1000,
    config: AugmentationConfig | None = None,
    start_id: int = 0,
    verbose: bool = False,
    progress_callback: ProgressCallback | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """The records in memory-optimized batches within ``max_memory_mb``.

    Example:
        >>> sum(len(b) for b in stream_augmentation_chain_with_memory_limit(100, 50))
        100
    """
    check_positive(max_memory_mb, "max_memory_mb")
    batch_config = BatchConfig(
        strategy=BatchStrategy.MEMORY_OPTIMIZED, max_memory_mb=max_memory_mb, min_batch_size=1
    )
    yield from stream_augmentation_chain(
        num_samples,
        config,
        start_id,
        batch_config=batch_config,
        verbose=verbose,
        progress_callback=progress_callback,
    )


def process_augmentation_batches(
    param_generator: Iterable[dict[str, Any]],
    batch_config: BatchConfig | None = None,
    processor_func: Callable[[list[dict[str, Any]]], Any] | None = None,
    verbose: bool = False,
) -> Iterator[Any]:
    """``processor_func(batch)`` for each batch of the stream (the batches
    themselves without a function). A failure is raised as
    :class:`~dpa.v02.batch.BatchProcessingError`.

    Example:
        >>> list(process_augmentation_batches(iter(range(70)), processor_func=len))
        [32, 32, 6]
    """
    config = batch_config or _DEFAULT_BATCHES
    processor = BatchProcessor(config.strategy, config)
    if verbose:
        sys.stdout.write(f"Starting batch processing using {config.strategy.value} strategy\n")
    count = 0
    try:
        for batch in batches_of(processor, param_generator):
            count += 1
            if verbose and count % 10 == 0:
                sys.stdout.write(f"Processed {count} batches (current batch size: {len(batch)})\n")
            yield processor_func(batch) if processor_func is not None else batch
    except Exception as exc:
        raise BatchProcessingError(f"Batch processing failed: {exc}") from exc
    if verbose:
        sys.stdout.write(f"Batch processing completed: {count} batches processed\n")


def _measured(batches: Iterable[list[Any]]) -> BatchMetrics:
    start = time.perf_counter()
    sizes = [len(batch) for batch in batches]
    seconds = time.perf_counter() - start
    return BatchMetrics(
        total_batches=len(sizes),
        avg_batch_size=sum(sizes) / len(sizes) if sizes else 0,
        memory_usage_mb=rss_mb(),
        processing_time_seconds=seconds,
        throughput_samples_per_second=sum(sizes) / seconds if seconds > 0 else 0,
    )


def get_batch_metrics(
    param_generator: Iterable[Any], batch_config: BatchConfig | None = None
) -> BatchMetrics:
    """Cut the stream by ``batch_config`` and say how it went (``memory_usage_mb``:
    this process's resident set afterwards). A failure is raised as
    :class:`~dpa.v02.batch.BatchProcessingError`.

    Example:
        >>> get_batch_metrics(iter(range(70))).total_batches
        3
    """
    config = batch_config or _DEFAULT_BATCHES
    try:
        return _measured(batches_of(BatchProcessor(config.strategy, config), param_generator))
    except Exception as exc:
        raise BatchProcessingError(f"Failed to collect batch metrics: {exc}") from exc


_STRATEGIES = {strategy.value: strategy for strategy in BatchStrategy}


def convert_stream_to_batches(
    param_generator: Iterable[Any],
    batch_strategy: str = "sequential",
    batch_size: int = 32,
    max_memory_mb: int = 1000,
) -> Iterator[list[Any]]:
    """The stream cut by the strategy named ``batch_strategy`` (``"sequential"``,
    ``"round_robin"``, ``"memory_optimized"``, ``"adaptive"``)."""
    if batch_strategy not in _STRATEGIES:
        raise ValueError(
            f"Invalid batch_strategy: {batch_strategy}. Must be one of {list(_STRATEGIES)}"
        )
    strategy = _STRATEGIES[batch_strategy]
    config = BatchConfig(strategy, batch_size, max_memory_mb, min_batch_size=1)
    yield from batches_of(BatchProcessor(strategy, config), param_generator)


def get_batch_processing_metrics(
    num_samples: int,
    config: AugmentationConfig | None = None,
    batch_strategies: list[str] | None = None,
    verbose: bool = False,
) -> dict[str, BatchMetrics]:
    """The metrics of each strategy (default: all four) on a stream of
    ``num_samples``; a strategy that fails is left out.

    Example:
        >>> metrics = get_batch_processing_metrics(64, batch_strategies=["sequential"])
        >>> metrics["sequential"].total_batches
        2
    """
    results = {}
    for strategy in batch_strategies or list(_STRATEGIES):
        if verbose:
            print(f"Benchmarking {strategy} strategy...")
        try:
            stream = stream_augmentation_chain(num_samples, config=config)
            metrics = _measured(convert_stream_to_batches(stream, strategy, 32, 1000))
        except Exception as exc:
            if verbose:
                print(f"  {strategy}: failed with error: {exc}")
            continue
        results[strategy] = metrics
        if verbose:
            print(
                f"  {strategy}: {metrics.throughput_samples_per_second:.1f} samples/sec, "
                f"avg batch size: {metrics.avg_batch_size:.1f}"
            )
    return results
