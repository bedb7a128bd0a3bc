"""Progress, stream metadata and memory estimates, as DPA v0.2 reported them.

A progress callback receives ``(progress, metadata)``: a :class:`StreamingProgress`
(how far a stream got) and a :class:`StreamingMetadata` (what it was asked to do).

Example:
    >>> progress = create_streaming_progress(estimated_total=200)
    >>> update_streaming_progress(progress, 50, 49)
    >>> progress.progress_percentage()
    25.0
    >>> format_memory_size(1536)
    '1.5 KB'
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._checks import check_chunk_size, check_non_negative, check_positive
from ._engine import AugmentationConfig
from ._memory import machine_memory, process_memory

__all__ = [
    "ProgressCallback",
    "StreamingMetadata",
    "StreamingProgress",
    "create_simple_progress_callback",
    "create_streaming_metadata",
    "create_streaming_progress",
    "estimate_memory_usage",
    "estimate_optimal_batch_size",
    "format_memory_size",
    "format_progress_info",
    "get_current_memory_usage",
    "get_memory_usage_estimate",
    "update_streaming_progress",
]


@dataclass
class StreamingMetadata:
    """What a stream was asked for: its size (None: unknown), config, first id,
    chunk size and write buffer."""

    total_samples: int | None = None
    config: AugmentationConfig | None = None
    start_id: int = 0
    chunk_size: int | None = None
    buffer_size: int = 1000


@dataclass
class StreamingProgress:
    """How far a stream got: samples done, the current id, the expected total
    (None: unknown) and when it started (``time.time()``)."""

    samples_processed: int = 0
    current_sample_id: int = 0
    estimated_total: int | None = None
    start_time: float = 0.0

    def progress_percentage(self) -> float | None:
        """Percent done, or None when the total is unknown."""
        if self.estimated_total is None:
            return None
        return self.samples_processed / self.estimated_total * 100

    def elapsed_time(self) -> float:
        """Seconds since the start."""
        return time.time() - self.start_time

    def estimated_time_remaining(self) -> float | None:
        """Seconds left at the rate so far, or None before there is a rate."""
        if self.estimated_total is None or self.samples_processed == 0:
            return None
        elapsed = self.elapsed_time()
        if elapsed <= 0:
            return None
        rate = self.samples_processed / elapsed
        return (self.estimated_total - self.samples_processed) / rate


#: What the streaming functions call after each record (or chunk, or buffer).
ProgressCallback = Callable[[StreamingProgress, StreamingMetadata], None]


def create_streaming_metadata(
    total_samples: int | None = None,
    config: AugmentationConfig | None = None,
    start_id: int = 0,
    chunk_size: int | None = None,
    buffer_size: int = 1000,
) -> StreamingMetadata:
    """A validated :class:`StreamingMetadata`.

    Example:
        >>> create_streaming_metadata(total_samples=10, chunk_size=4).chunk_size
        4
    """
    check_non_negative(start_id, "start_id")
    if total_samples is not None:
        check_non_negative(total_samples, "total_samples")
    check_chunk_size(chunk_size)
    check_positive(buffer_size, "buffer_size")
    return StreamingMetadata(total_samples, config, start_id, chunk_size, buffer_size)


def create_streaming_progress(
    estimated_total: int | None = None, start_id: int = 0
) -> StreamingProgress:
    """A :class:`StreamingProgress` at zero, started now.

    Example:
        >>> create_streaming_progress(estimated_total=5, start_id=3).current_sample_id
        3
    """
    if estimated_total is not None:
        check_non_negative(estimated_total, "estimated_total")
    check_non_negative(start_id, "start_id")
    return StreamingProgress(0, start_id, estimated_total, time.time())


def update_streaming_progress(
    progress: StreamingProgress, samples_processed: int, current_sample_id: int
) -> None:
    """Record that ``samples_processed`` samples are done, the last being
    ``current_sample_id``.

    Example:
        >>> progress = create_streaming_progress()
        >>> update_streaming_progress(progress, 3, 2)
        >>> progress.samples_processed
        3
    """
    check_non_negative(samples_processed, "samples_processed")
    check_non_negative(current_sample_id, "current_sample_id")
    progress.samples_processed = samples_processed
    progress.current_sample_id = current_sample_id


def format_progress_info(progress: StreamingProgress) -> str:
    """``"25/100 (25.0%) elapsed: 0.1s ETA: 0.3s"``: count, percent and ETA where
    the total is known.

    Example:
        >>> format_progress_info(create_streaming_progress()).startswith("0 elapsed:")
        True
    """
    if progress.estimated_total is None:
        parts = [f"{progress.samples_processed}"]
    else:
        parts = [f"{progress.samples_processed}/{progress.estimated_total}"]
    percentage = progress.progress_percentage()
    if percentage is not None:
        parts.append(f"({percentage:.1f}%)")
    parts.append(f"elapsed: {progress.elapsed_time():.1f}s")
    eta = progress.estimated_time_remaining()
    if eta is not None:
        parts.append(f"ETA: {eta:.1f}s")
    return " ".join(parts)


def create_simple_progress_callback(verbose: bool = True) -> ProgressCallback:
    """A callback that writes ``[operation] progress`` lines to stdout (when verbose).

    Example:
        >>> callback = create_simple_progress_callback(verbose=False)
        >>> callback(create_streaming_progress(), create_streaming_metadata())
    """

    def progress_callback(progress: StreamingProgress, metadata: StreamingMetadata) -> None:
        if not verbose:
            return
        operation = "streaming"
        if metadata.total_samples is not None:
            operation = f"processing {metadata.total_samples} samples"
        sys.stdout.write(f"[{operation}] {format_progress_info(progress)}\n")

    return progress_callback


def format_memory_size(bytes_size: float) -> str:
    """A size in B, KB, MB or GB (powers of 1024), one decimal above bytes.

    Example:
        >>> format_memory_size(512), format_memory_size(3 * 1024**3)
        ('512 B', '3.0 GB')
    """
    if bytes_size < 1024:
        return f"{bytes_size} B"
    for unit, power in (("KB", 1), ("MB", 2)):
        if bytes_size < 1024 ** (power + 1):
            return f"{bytes_size / 1024**power:.1f} {unit}"
    return f"{bytes_size / 1024**3:.1f} GB"


def estimate_memory_usage(
    num_samples: int, include_statistics: bool = True, bytes_per_param: int = 200
) -> dict[str, int]:
    """Bytes needed for ``num_samples`` parameter dicts, their statistics (a fixed
    1 KiB) and their JSON text (20% above the dicts).

    Example:
        >>> estimate_memory_usage(1000)["parameters"]
        200000
    """
    check_non_negative(num_samples, "num_samples")
    parameters = num_samples * bytes_per_param
    statistics = 1024 if include_statistics else 0
    json_serialization = int(parameters * 1.2)
    return {
        "parameters": parameters,
        "statistics": statistics,
        "json_serialization": json_serialization,
        "total": parameters + statistics + json_serialization,
    }


def estimate_optimal_batch_size(
    sample_size_bytes: int = 200, max_memory_mb: int = 1000, safety_margin: float = 0.1
) -> int:
    """How many samples of ``sample_size_bytes`` fit in ``max_memory_mb`` less the
    safety margin (at least 1).

    Example:
        >>> estimate_optimal_batch_size(1024 * 1024, max_memory_mb=10, safety_margin=0.5)
        5
    """
    check_positive(sample_size_bytes, "sample_size_bytes")
    check_positive(max_memory_mb, "max_memory_mb")
    if not 0 <= safety_margin < 1:
        raise ValueError("safety_margin must be between 0 and 1")
    available = max_memory_mb * 1024 * 1024 * (1 - safety_margin)
    return max(1, int(available / sample_size_bytes))


def get_memory_usage_estimate(
    num_samples: int, include_statistics: bool = True, bytes_per_param: int = 200
) -> dict[str, Any]:
    """:func:`estimate_memory_usage` in words (``"1.5 MB"``) and MB (``total_mb``),
    with a recommendation for the size.

    Example:
        >>> get_memory_usage_estimate(100)["recommendation"]
        'Standard processing should work fine'
    """
    raw = estimate_memory_usage(num_samples, include_statistics, bytes_per_param)
    formatted: dict[str, Any] = {}
    for key, value in raw.items():
        formatted[key] = format_memory_size(value)
        formatted[f"{key}_mb"] = value / (1024 * 1024)
    total_mb = raw["total"] / (1024 * 1024)
    if total_mb > 1000:
        formatted["recommendation"] = "Use streaming with memory-optimized batching"
        formatted["suggested_batch_size"] = estimate_optimal_batch_size(bytes_per_param, 500)
    elif total_mb > 100:
        formatted["recommendation"] = "Consider using chunked streaming"
        formatted["suggested_chunk_size"] = min(1000, num_samples // 10)
    else:
        formatted["recommendation"] = "Standard processing should work fine"
    return formatted


def get_current_memory_usage() -> dict[str, int]:
    """This process's memory: ``rss`` and ``vms`` (bytes) and ``percent`` (of the
    machine's memory, as an int).

    Example:
        >>> sorted(get_current_memory_usage())
        ['percent', 'rss', 'vms']
    """
    rss, vms = process_memory()
    return {"rss": rss, "vms": vms, "percent": int(100 * rss / machine_memory().total)}
