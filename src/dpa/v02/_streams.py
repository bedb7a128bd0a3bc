"""DPA v0.2's generation entry points: lists, streams, ranges and batched streams.

Streams yield v0.2's records (no ``sample_id``) one at a time, in lists of
``chunk_size``, or in batches of a :class:`~dpa.v02.batch.BatchConfig`; with
``rank`` and ``world_size`` they yield that rank's rank-aware share. They are
generators, as v0.2's: arguments are checked, with v0.2's messages, when the first
record is asked for.

Example:
    >>> [len(chunk) for chunk in stream_augmentation_chain(5, start_id=7, chunk_size=2)]
    [2, 2, 1]
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Any

from ._checks import check_id_range, check_non_negative, check_positive, check_rank
from ._engine import AugmentationConfig
from ._files import save_augmentation_chain
from ._progress import (
    ProgressCallback,
    create_streaming_metadata,
    create_streaming_progress,
    format_progress_info,
    update_streaming_progress,
)
from ._rank_streams import stream_distributed_augmentation_chain
from ._records import BLOCK, sample_line, stream_chunks, stream_records
from .batch import (
    BatchConfig,
    BatchProcessingError,
    BatchProcessor,
    BatchStrategy,
)

__all__ = [
    "batches_of",
    "generate_augmentation_chain",
    "stream_augmentation_chain",
    "stream_augmentation_chain_batched",
    "stream_augmentation_range",
]

Record = dict[str, Any]


def generate_augmentation_chain(
    num_samples: int,
    config: AugmentationConfig | None = None,
    verbose: bool = False,
    save_path: str | None = None,
) -> list[Record]:
    """The records of samples ``0 .. num_samples - 1`` in a list; ``verbose`` writes
    one line per sample to stdout, ``save_path`` saves them with statistics.

    Example:
        >>> len(generate_augmentation_chain(4))
        4
    """
    check_non_negative(num_samples, "num_samples")
    if config is None:
        config = AugmentationConfig()
    results = list(stream_records(0, num_samples, config))
    if verbose:
        sys.stdout.write("".join(sample_line(i, p) for i, p in enumerate(results)))
    if save_path:
        save_augmentation_chain(results, save_path, config, include_stats=True)
    return results


def stream_augmentation_chain(
    num_samples: int,
    config: AugmentationConfig | None = None,
    start_id: int = 0,
    chunk_size: int | None = None,
    batch_config: BatchConfig | None = None,
    rank: int | None = None,
    world_size: int | None = None,
    verbose: bool = False,
    progress_callback: ProgressCallback | None = None,
) -> Iterator[Any]:
    """The records of samples ``start_id .. start_id + num_samples - 1``: one at a
    time, lists of ``chunk_size``, or batches of ``batch_config``.

    With ``rank`` and ``world_size`` (both or neither), the rank's share of ids
    ``0 .. num_samples - 1`` with rank-aware keys, ``start_id`` serving as the base
    seed (as v0.2 did). ``progress_callback(progress, metadata)`` is called after
    each record, chunk or batch.

    Example:
        >>> [len(chunk) for chunk in stream_augmentation_chain(10, chunk_size=4)]
        [4, 4, 2]
    """
    check_non_negative(num_samples, "num_samples")
    check_non_negative(start_id, "start_id")
    if rank is not None or world_size is not None:
        if rank is None or world_size is None:
            raise ValueError("Both rank and world_size must be specified together")
        check_rank(rank, world_size)
    if chunk_size is not None and batch_config is not None:
        raise ValueError("chunk_size and batch_config are mutually exclusive")
    if rank is not None and world_size is not None:
        if batch_config is not None:
            raise ValueError("batch_config is not yet supported with distributed streaming")
        if progress_callback is not None:
            raise ValueError("progress_callback is not yet supported with distributed streaming")
        yield from stream_distributed_augmentation_chain(
            num_samples, rank, world_size, config, start_id, chunk_size, verbose
        )
        return
    if batch_config is not None:
        yield from stream_augmentation_chain_batched(
            num_samples, batch_config, config, start_id, verbose, progress_callback
        )
        return
    if chunk_size is not None:
        check_positive(chunk_size, "chunk_size")
    if config is None:
        config = AugmentationConfig()
    progress = create_streaming_progress(num_samples, start_id)
    metadata = create_streaming_metadata(num_samples, config, start_id, chunk_size)
    end_id = start_id + num_samples
    report_every = max(1, num_samples // 20)  # progress lines at every 5% of large streams

    def report(done: int) -> None:
        update_streaming_progress(progress, done, start_id + done - 1)
        if verbose and num_samples > 100 and done % report_every == 0:
            sys.stdout.write(f"Progress: {format_progress_info(progress)}\n")
        if progress_callback:
            progress_callback(progress, metadata)

    if verbose and num_samples > 0:
        sys.stdout.write(f"Starting stream generation: {num_samples} samples from ID {start_id}\n")
    show_samples = verbose and num_samples <= 100
    done = 0
    chunks = stream_chunks(start_id, end_id, config, chunk_size or BLOCK)
    for chunk in chunks:
        if show_samples:
            sys.stdout.write(
                "".join(sample_line(done + i, p) for i, p in enumerate(chunk, start_id))
            )
        if chunk_size is not None:
            done += len(chunk)
            report(done)
            yield chunk
            continue
        for params in chunk:
            done += 1
            report(done)
            yield params
    if verbose and num_samples > 0:
        sys.stdout.write(f"Stream generation completed: {format_progress_info(progress)}\n")


def stream_augmentation_range(
    start_id: int,
    end_id: int,
    config: AugmentationConfig | None = None,
    chunk_size: int | None = None,
    batch_config: BatchConfig | None = None,
    rank: int | None = None,
    world_size: int | None = None,
) -> Iterator[Any]:
    """:func:`stream_augmentation_chain` over the ids ``start_id .. end_id - 1``.

    Example:
        >>> len(list(stream_augmentation_range(2, 7)))
        5
    """
    check_id_range(start_id, end_id)
    yield from stream_augmentation_chain(
        end_id - start_id, config, start_id, chunk_size, batch_config, rank, world_size
    )


def batches_of(processor: BatchProcessor, stream: Iterable[Any]) -> Iterator[list[Any]]:
    """The stream cut by ``processor``, with the memory watched for the memory-aware
    strategies (``MEMORY_OPTIMIZED``, ``ADAPTIVE``), as v0.2 did.

    Example:
        >>> sequential = BatchStrategy.SEQUENTIAL
        >>> processor = BatchProcessor(sequential, BatchConfig(sequential, batch_size=2))
        >>> list(batches_of(processor, range(3)))
        [[0, 1], [2]]
    """
    if processor.strategy in (BatchStrategy.MEMORY_OPTIMIZED, BatchStrategy.ADAPTIVE):
        return processor.process_with_memory_monitoring(stream)
    return processor.process_stream(stream)


def stream_augmentation_chain_batched(
    num_samples: int,
    batch_config: BatchConfig | None = None,
    config: AugmentationConfig | None = None,
    start_id: int = 0,
    verbose: bool = False,
    progress_callback: ProgressCallback | None = None,
) -> Iterator[list[Record]]:
    """The records of :func:`stream_augmentation_chain` in batches cut by
    ``batch_config`` (default: sequential batches of 32). A failure is raised as
    :class:`~dpa.v02.batch.BatchProcessingError`.

    Example:
        >>> config = BatchConfig(BatchStrategy.SEQUENTIAL, batch_size=4)
        >>> [len(batch) for batch in stream_augmentation_chain_batched(10, config)]
        [4, 4, 2]
    """
    check_non_negative(num_samples, "num_samples")
    check_non_negative(start_id, "start_id")
    if batch_config is None:
        batch_config = BatchConfig(strategy=BatchStrategy.SEQUENTIAL, batch_size=32)
    if config is None:
        config = AugmentationConfig()
    progress = create_streaming_progress(num_samples, start_id)
    metadata = create_streaming_metadata(num_samples, config, start_id, batch_config.batch_size)
    records = stream_records(start_id, start_id + num_samples, config)
    processor = BatchProcessor(batch_config.strategy, batch_config)
    if verbose:
        sys.stdout.write(
            f"Starting batched stream generation: {num_samples} samples from ID {start_id} "
            f"using {batch_config.strategy.value} strategy\n"
        )
    # progress lines at about every 5% of the batches of large streams
    report_every = max(1, (num_samples // (batch_config.batch_size or 32)) // 20)
    batch_count = done = 0
    try:
        for batch in batches_of(processor, records):
            batch_count += 1
            done += len(batch)
            update_streaming_progress(progress, done, start_id + done - 1)
            if verbose and num_samples > 100 and batch_count % report_every == 0:
                sys.stdout.write(
                    f"Batch progress: {format_progress_info(progress)} "
                    f"(batch #{batch_count}, size: {len(batch)})\n"
                )
            elif verbose and num_samples <= 100:
                sys.stdout.write(f"Batch #{batch_count}: {len(batch)} samples\n")
            if progress_callback:
                progress_callback(progress, metadata)
            yield batch
    except Exception as exc:
        raise BatchProcessingError(f"Batch processing failed: {exc}") from exc
    if verbose:
        average = done / batch_count if batch_count else 0.0
        sys.stdout.write(
            f"Batched stream generation completed: {format_progress_info(progress)} "
            f"({batch_count} batches, avg size: {average:.1f})\n"
        )
