"""DPA v0.2's ``src.batch``: batch strategies, memory-aware sizing and monitoring.

:class:`BatchProcessor` cuts a stream into lists by a :class:`BatchStrategy`; the
batches are cut by dpa's :class:`dpa.BatchProcessor`, so the strategies are dpa's:

* ``SEQUENTIAL``: consecutive batches of ``batch_size`` (default 32);
* ``ROUND_ROBIN``: item ``i`` goes to lane ``i % num_lanes``, and the lanes' batches
  come in rotation. ``num_lanes`` (dpa's, not in v0.2) is 1 by default, which gives
  v0.2's batches: v0.2's round robin cut consecutive batches;
* ``MEMORY_OPTIMIZED``: batches sized from their measured footprint to keep this
  process's memory growth within ``max_memory_mb`` (v0.2 looked at the whole
  machine's memory);
* ``ADAPTIVE``: the size follows the measured time per batch, the consumer's work
  included (v0.2 timed one list append). The times are kept in
  ``_performance_history`` as v0.2 kept them.

:meth:`BatchProcessor.process_with_memory_monitoring`, :class:`MemoryInfo`,
:func:`get_memory_usage` and :func:`memory_monitor` look at the machine's memory,
as v0.2 did.

Example:
    >>> config = BatchConfig(strategy=BatchStrategy.SEQUENTIAL, batch_size=3)
    >>> processor = BatchProcessor(BatchStrategy.SEQUENTIAL, config)
    >>> [len(batch) for batch in processor.process_stream(iter(range(10)))]
    [3, 3, 3, 1]
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from . import _engine as engine
from ._engine import BatchProcessingError, BatchStrategy, InvalidBatchConfigError
from ._memory import MIB, machine_memory

__all__ = [
    "BatchConfig",
    "BatchMetrics",
    "BatchProcessingError",
    "BatchProcessor",
    "BatchStrategy",
    "InvalidBatchConfigError",
    "MemoryAwareBatcher",
    "MemoryInfo",
    "MemoryLimitExceededError",
    "get_memory_usage",
    "memory_monitor",
    "safe_division",
]

#: How many adaptive batches ``_performance_history`` remembers.
HISTORY_LENGTH = 20


def safe_division(numerator: float, denominator: float, fallback: float = 0.0) -> float:
    """``numerator / denominator``, or ``fallback`` for a zero denominator.

    Example:
        >>> safe_division(1.0, 0.0, fallback=-1.0)
        -1.0
    """
    return fallback if denominator == 0 else numerator / denominator


class MemoryLimitExceededError(engine.MemoryLimitExceededError):
    """Memory went past a limit; raised with v0.2's message (a
    :class:`dpa.MemoryLimitExceededError` whose figures are not known: NaN)."""

    def __init__(self, message: str) -> None:
        RuntimeError.__init__(self, message)
        self.growth_mb = self.limit_mb = math.nan


@dataclass
class BatchConfig:
    """Settings of a :class:`BatchProcessor`, checked on construction
    (:class:`InvalidBatchConfigError`, with v0.2's messages).

    ``adaptive_sizing`` is kept for v0.2's signature: the strategies adapt as dpa's
    do. ``num_lanes`` (dpa's) is the number of lanes of ``ROUND_ROBIN``.
    """

    strategy: BatchStrategy
    batch_size: int | None = None
    max_memory_mb: int = 1000
    min_batch_size: int = 1
    adaptive_sizing: bool = True
    num_lanes: int = 1

    def __post_init__(self) -> None:
        if self.batch_size is not None and self.batch_size <= 0:
            raise InvalidBatchConfigError(f"batch_size ({self.batch_size}) must be positive")
        if self.batch_size is not None and self.batch_size < self.min_batch_size:
            raise InvalidBatchConfigError(
                f"batch_size ({self.batch_size}) cannot be less than "
                f"min_batch_size ({self.min_batch_size})"
            )
        if self.max_memory_mb <= 0:
            raise InvalidBatchConfigError("max_memory_mb must be positive")
        if self.min_batch_size <= 0:
            raise InvalidBatchConfigError("min_batch_size must be positive")
        if self.num_lanes <= 0:
            raise InvalidBatchConfigError("num_lanes must be positive")


@dataclass
class BatchMetrics:
    """What a batched run did."""

    total_batches: int
    avg_batch_size: float
    memory_usage_mb: float
    processing_time_seconds: float
    throughput_samples_per_second: float

    @property
    def total_samples(self) -> int:
        """``total_batches * avg_batch_size``, rounded down."""
        return int(self.total_batches * self.avg_batch_size)


@dataclass
class MemoryInfo:
    """The machine's memory at one moment, in MiB (``psutil.virtual_memory()``)."""

    available_mb: int
    used_mb: int
    total_mb: int
    percent_used: float

    @classmethod
    def current(cls) -> MemoryInfo:
        """Read it now."""
        memory = machine_memory()
        return cls(
            available_mb=int(memory.available / MIB),
            used_mb=int(memory.used / MIB),
            total_mb=int(memory.total / MIB),
            percent_used=memory.percent,
        )


class MemoryAwareBatcher:
    """Batch sizes from the memory available: at most ``max_memory_mb`` worth of
    samples and at most 90% of the machine's available memory, at least
    ``min_batch_size``."""

    def __init__(
        self, max_memory_mb: int = 1000, min_batch_size: int = 1, adjustment_factor: float = 0.8
    ) -> None:
        self.max_memory_mb = max_memory_mb
        self.min_batch_size = min_batch_size
        self._safety_margin = 0.1
        self._adjustment_factor = adjustment_factor

    def calculate_optimal_batch_size(self, sample_size_bytes: int) -> int:
        """How many samples of ``sample_size_bytes`` fit.

        Example:
            >>> MemoryAwareBatcher(max_memory_mb=1).calculate_optimal_batch_size(1024)
            1024
        """
        if sample_size_bytes <= 0:
            return self.min_batch_size
        available = MemoryInfo.current().available_mb * (1 - self._safety_margin) * MIB
        by_machine = int(available / sample_size_bytes)
        by_limit = int(self.max_memory_mb * MIB / sample_size_bytes)
        return max(self.min_batch_size, min(by_machine, by_limit))

    def monitor_memory_usage(self) -> dict[str, int]:
        """The machine's memory now: ``available_mb``, ``used_mb``, ``total_mb``,
        ``percent_used``."""
        info = MemoryInfo.current()
        return {
            "available_mb": info.available_mb,
            "used_mb": info.used_mb,
            "total_mb": info.total_mb,
            "percent_used": int(info.percent_used),
        }

    def adjust_batch_size(self, current_size: int, memory_usage: dict[str, int]) -> int:
        """A new size for the memory reading ``memory_usage``: 20% smaller above 80%
        used, smaller in proportion when less than ``max_memory_mb`` is available,
        20% larger below 50% used with twice ``max_memory_mb`` available.

        Example:
            >>> MemoryAwareBatcher().adjust_batch_size(100, {"percent_used": 85})
            80
        """
        percent_used = memory_usage.get("percent_used", 0)
        available_mb = memory_usage.get("available_mb", 0)
        if percent_used > 80:
            return max(self.min_batch_size, int(current_size * self._adjustment_factor))
        if available_mb < self.max_memory_mb:
            return max(self.min_batch_size, int(current_size * available_mb / self.max_memory_mb))
        if percent_used < 50 and available_mb > self.max_memory_mb * 2:
            return int(current_size * 1.2)
        return current_size


class BatchProcessor:
    """Cuts streams into batches by ``strategy`` (a :class:`BatchStrategy`)."""

    def __init__(self, strategy: BatchStrategy, config: BatchConfig) -> None:
        if not isinstance(strategy, BatchStrategy):
            raise InvalidBatchConfigError(
                f"strategy must be a BatchStrategy enum, got {type(strategy).__name__}"
            )
        self.strategy = strategy
        self.config = config
        self._memory_batcher = MemoryAwareBatcher(config.max_memory_mb, config.min_batch_size)
        self._performance_history: list[dict[str, float]] = []
        self._current_batch_size = config.batch_size or 32

    def process_stream(self, param_generator: Iterable[Any]) -> Iterator[list[Any]]:
        """The stream's items in lists.

        Raises :class:`BatchProcessingError` for a strategy that is not a
        :class:`BatchStrategy`.
        """
        if not isinstance(self.strategy, BatchStrategy):
            raise BatchProcessingError(f"Unknown batch strategy: {self.strategy}")
        cutter = engine.BatchProcessor(
            self.strategy,
            engine.BatchConfig(
                self.strategy,
                batch_size=self._current_batch_size,
                max_memory_mb=self.config.max_memory_mb,
                min_batch_size=min(self.config.min_batch_size, self._current_batch_size),
                num_lanes=self.config.num_lanes,
            ),
        )
        batches: Iterator[list[Any]] = cutter.process_stream(param_generator)
        if self.strategy is BatchStrategy.ADAPTIVE:
            return self._timed(batches)
        return batches

    def _timed(self, batches: Iterator[list[Any]]) -> Iterator[list[Any]]:
        """The batches, each one's time (making it, and the consumer's work on the one
        before) kept in ``_performance_history``."""
        last = time.perf_counter()
        for batch in batches:
            now = time.perf_counter()
            seconds = now - last
            self._performance_history.append(
                {
                    "batch_size": len(batch),
                    "processing_time": seconds,
                    "time_per_item": seconds / len(batch),
                }
            )
            del self._performance_history[:-HISTORY_LENGTH]
            last = now
            yield batch

    def process_with_memory_monitoring(self, param_generator: Iterable[Any]) -> Iterator[list[Any]]:
        """:meth:`process_stream`, reading the machine's memory before the first batch,
        after each and after the last: above 90% used raises
        :class:`MemoryLimitExceededError`; above 80%, later streams get smaller batches.
        """
        self._check_memory()
        for batch in self.process_stream(param_generator):
            self._check_memory()
            yield batch
        self._check_memory()

    def _check_memory(self) -> None:
        usage = self._memory_batcher.monitor_memory_usage()
        percent = usage.get("percent_used", 0)
        if percent > 90:
            raise MemoryLimitExceededError(f"Memory usage ({percent}%) is critically high")
        if percent > 80:
            self._current_batch_size = self._memory_batcher.adjust_batch_size(
                self._current_batch_size, usage
            )


def get_memory_usage() -> MemoryInfo:
    """:meth:`MemoryInfo.current`.

    Example:
        >>> get_memory_usage().total_mb > 0
        True
    """
    return MemoryInfo.current()


@contextmanager
def memory_monitor(max_memory_mb: int) -> Iterator[MemoryInfo]:
    """Yields the machine's memory on entry; on leaving the block normally, raises
    :class:`MemoryLimitExceededError` when the machine's used memory is above
    ``max_memory_mb``. An exception from the block goes through as it is.

    Example:
        >>> with memory_monitor(max_memory_mb=10**9) as start:
        ...     pass
        >>> start.total_mb > 0
        True
    """
    yield get_memory_usage()
    final = get_memory_usage()
    if final.used_mb > max_memory_mb:
        raise MemoryLimitExceededError(
            f"Memory usage ({final.used_mb}MB) exceeded limit ({max_memory_mb}MB)"
        )
