"""What a batch run did: :class:`BatchMetrics` (the figures, frozen) and
:class:`RunRecorder` (one run's counts, clock and memory growth as it goes, readable
from any thread).

Example:
    >>> from dpa._batch._memory import MemoryMonitor
    >>> recorder = RunRecorder(BatchStrategy.SEQUENTIAL, lambda: 0.0, MemoryMonitor())
    >>> for size in (4, 4, 2):
    ...     _ = recorder.add(size)
    >>> recorder.metrics().batch_size_runs
    ((4, 2), (2, 1))
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from ._memory import MIB, MemoryMonitor
from ._strategy import BatchStrategy

__all__ = ["BatchMetrics", "RunRecorder"]

#: The fixed-size strategies read the RSS (for the metrics) at a batch boundary once
#: this many items (or bytes) went by since the last reading: a reading costs tens of
#: microseconds. The memory-aware ones read it after every batch.
_RSS_EVERY_ITEMS = 1 << 16
_RSS_EVERY_BYTES = MIB


@dataclass(frozen=True)
class BatchMetrics:
    """What a run of a :class:`BatchProcessor` did (see :attr:`BatchProcessor.metrics`).

    ``total_samples`` is counted item by item. ``batch_size_runs`` is the history of
    batch sizes as runs ``(size, how many batches in a row)``; :attr:`batch_sizes`
    spells it out. ``peak_memory_growth_mb`` is the most this process's RSS grew above
    its level at the start (sampled at batch boundaries). ``processing_time_seconds``
    runs from the first batch asked for to the end of the run (or now, while it runs),
    on the processor's clock.

    Example:
        >>> metrics = BatchMetrics(BatchStrategy.SEQUENTIAL, 3, 10, ((4, 2), (2, 1)))
        >>> metrics.batch_sizes, metrics.avg_batch_size
        ([4, 4, 2], 3.3333333333333335)
    """

    strategy: BatchStrategy
    total_batches: int = 0
    total_samples: int = 0
    batch_size_runs: tuple[tuple[int, int], ...] = ()
    peak_memory_growth_mb: float = 0.0
    processing_time_seconds: float = 0.0

    @property
    def avg_batch_size(self) -> float:
        """Mean items per batch (0.0 before any batch)."""
        return self.total_samples / self.total_batches if self.total_batches else 0.0

    @property
    def batch_sizes(self) -> list[int]:
        """Every batch's size, in order."""
        return [size for size, count in self.batch_size_runs for _ in range(count)]

    @property
    def throughput_samples_per_second(self) -> float:
        """Samples per second over the run (0.0 when no time has passed)."""
        seconds = self.processing_time_seconds
        return self.total_samples / seconds if seconds > 0 else 0.0

    @property
    def memory_usage_mb(self) -> float:
        """:attr:`peak_memory_growth_mb` (DPA v0.2's name)."""
        return self.peak_memory_growth_mb


class RunRecorder:
    """One run's bookkeeping, read by :attr:`BatchProcessor.metrics` from any thread.

    The run starts when the recorder is made (``clock()`` then) and ends at
    :meth:`finish`; ``monitor`` gives the memory growth, its baseline taken at the start.
    """

    def __init__(
        self, strategy: BatchStrategy, clock: Callable[[], float], monitor: MemoryMonitor
    ) -> None:
        self._lock = threading.Lock()
        self.strategy = strategy
        self.clock = clock
        self.monitor = monitor
        self.started = float(clock())
        self.ended: float | None = None
        self.batches = 0
        self.samples = 0
        self.runs: list[list[int]] = []
        self._items_since = 0
        self._bytes_since = 0.0

    def add(self, size: int, item_bytes: float = 0.0, *, read: bool = False) -> int | None:
        """Count a batch; return the memory growth when it was read now (else None):
        with ``read``, always; otherwise once enough items or bytes went by."""
        with self._lock:
            self.batches += 1
            self.samples += size
            if self.runs and self.runs[-1][0] == size:
                self.runs[-1][1] += 1
            else:
                self.runs.append([size, 1])
            self._items_since += size
            self._bytes_since += size * item_bytes
            due = (
                read
                or self.batches == 1
                or self._items_since >= _RSS_EVERY_ITEMS
                or self._bytes_since >= _RSS_EVERY_BYTES
            )
            if due:
                self._items_since, self._bytes_since = 0, 0.0
        return self.monitor.sample() if due else None

    def finish(self) -> None:
        """End the run now (a second call changes nothing but the memory peak)."""
        self.monitor.sample()
        now = float(self.clock())
        with self._lock:
            if self.ended is None:
                self.ended = now

    def metrics(self) -> BatchMetrics:
        """The run's figures: final once it ended, up to now while it runs."""
        now = None if self.ended is not None else float(self.clock())
        with self._lock:
            end = self.ended if self.ended is not None else now
            assert end is not None
            return BatchMetrics(
                strategy=self.strategy,
                total_batches=self.batches,
                total_samples=self.samples,
                batch_size_runs=tuple((size, count) for size, count in self.runs),
                peak_memory_growth_mb=self.monitor.peak_growth_mb,
                processing_time_seconds=max(0.0, end - self.started),
            )
