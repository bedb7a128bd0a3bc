"""Batches for training loops and offline jobs: four strategies, memory-aware sizing,
adaptive feedback.

A :class:`BatchProcessor` cuts work into batches by one of four strategies
(:class:`BatchStrategy`):

* ``SEQUENTIAL``: consecutive batches of ``batch_size`` in id order, the last one short;
* ``ROUND_ROBIN``: item ``i`` goes to lane ``i % num_lanes``; batches come lane by lane
  in rotation (batch ``b`` belongs to lane ``b % num_lanes``), each holding every
  ``num_lanes``-th item: balanced work for ``num_lanes`` consumers;
* ``MEMORY_OPTIMIZED``: the largest batches whose measured footprint (bytes per item,
  measured on the batches themselves) keeps this process within ``max_memory_mb`` of
  its own memory growth (resident set size since the run began), whatever the rest of
  the machine is doing. In ``process_range`` its batches reuse one set of column
  buffers: a batch stays valid until the next one is asked for (copy what you keep);
* ``ADAPTIVE``: the batch size follows the measured time per batch (the consumer's
  work on it plus making it) toward ``target_batch_ms``, within ``min_batch_size`` ..
  ``max_batch_size`` and the memory bound.

:meth:`BatchProcessor.process_range` makes :class:`~dpa.ParamBatch` objects straight
from the batch API (the fast path); :meth:`BatchProcessor.process_stream` batches any
iterable into lists (DPA v0.2's interface). :attr:`BatchProcessor.metrics` says what a
run did. Memory is read with psutil: this process's resident set size (RSS), and the
machine's available memory for :class:`MemoryInfo`.

Example:
    >>> processor = BatchProcessor("sequential", BatchConfig("sequential", batch_size=4))
    >>> [len(batch) for batch in processor.process_range(0, 10)]
    [4, 4, 2]
    >>> processor.metrics.total_samples
    10
"""

from __future__ import annotations

import contextlib
import logging
import math
import numbers
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from itertools import islice
from typing import Any

import numpy as np
import psutil  # type: ignore[import-untyped]

from ._backends import Buffers
from ._config import AugmentationConfig, check_config
from ._errors import BatchProcessingError, InvalidBatchConfigError, MemoryLimitExceededError
from ._generate import _generate, iter_batches
from ._keys import PLAIN, ElasticScheme, KeyScheme, RankAwareScheme, check_scheme
from ._parambatch import _INT64_LIMIT, ParamBatch
from ._validate import check_int

__all__ = [
    "DEFAULT_RANGE_BATCH_SIZE",
    "DEFAULT_STREAM_BATCH_SIZE",
    "DEFAULT_TARGET_BATCH_MS",
    "BatchConfig",
    "BatchMetrics",
    "BatchProcessingError",
    "BatchProcessor",
    "BatchStrategy",
    "InvalidBatchConfigError",
    "MemoryAwareBatcher",
    "MemoryInfo",
    "MemoryLimitExceededError",
    "MemoryMonitor",
    "batch_nbytes",
    "get_memory_usage",
    "memory_monitor",
]

logger = logging.getLogger(__name__)

#: Items per batch of :meth:`BatchProcessor.process_stream` when ``batch_size`` is None (v0.2's).
DEFAULT_STREAM_BATCH_SIZE = 32
#: Ids per batch of :meth:`BatchProcessor.process_range` when ``batch_size`` is None.
DEFAULT_RANGE_BATCH_SIZE = 4096
#: The adaptive strategy's target time per batch when ``target_batch_ms`` is None.
DEFAULT_TARGET_BATCH_MS = 100.0

_MIB = 1 << 20
#: Share of ``max_memory_mb`` the batches may fill; the rest is left for the
#: allocator's slack and the interpreter.
_FILL = 0.8
#: Batches alive at once: the one the consumer still holds while the next is made.
_LIVE_BATCHES = 2
#: The memory-aware strategies change the size by at most this factor per batch.
_STEP = 4
#: The adaptive strategy keeps its size while the wanted one is within this share of it.
_DEAD_BAND = 0.1
#: Weight of the newest measurement in the adaptive strategy's running time per item.
_SMOOTHING = 0.5
#: Items sampled per batch to measure the footprint of stream items.
_SIZE_SAMPLES = 32
#: The fixed-size strategies read the RSS (for the metrics) at a batch boundary once
#: this many items (or bytes) went by since the last reading: a reading costs tens of
#: microseconds. The memory-aware ones read it after every batch.
_RSS_EVERY_ITEMS = 1 << 16
_RSS_EVERY_BYTES = _MIB


# --------------------------------------------------------------------------- errors


# --------------------------------------------------------------------------- strategy, config


class BatchStrategy(StrEnum):
    """How a :class:`BatchProcessor` cuts work into batches (see :mod:`dpa._batch`).

    Example:
        >>> BatchStrategy("round_robin") is BatchStrategy.ROUND_ROBIN
        True
    """

    SEQUENTIAL = "sequential"
    ROUND_ROBIN = "round_robin"
    MEMORY_OPTIMIZED = "memory_optimized"
    ADAPTIVE = "adaptive"


_STRATEGY_NAMES = ", ".join(s.value for s in BatchStrategy)


def _check_strategy(value: Any) -> BatchStrategy:
    if isinstance(value, BatchStrategy):
        return value
    if not isinstance(value, str):
        raise TypeError(
            f"strategy must be a BatchStrategy or one of {_STRATEGY_NAMES}, got {value!r}"
        )
    try:
        return BatchStrategy(value.lower())
    except ValueError:
        raise InvalidBatchConfigError(
            f"unknown batch strategy {value!r}; choose one of {_STRATEGY_NAMES}"
        ) from None


def _check_size(value: Any, name: str, *, optional: bool) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        wanted = "an int or None" if optional else "an int"
        raise TypeError(f"{name} must be {wanted}, got {value!r}")
    if value < 1:
        raise InvalidBatchConfigError(f"{name} ({value}) must be positive")
    return int(value)


def _check_positive(value: Any, name: str, *, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        number = math.inf
    if not (math.isfinite(number) and number > 0):
        raise InvalidBatchConfigError(f"{name} must be a positive number, got {value!r}")
    return int(value) if isinstance(value, numbers.Integral) else number


@dataclass(frozen=True, init=False)
class BatchConfig:
    """Settings of a :class:`BatchProcessor`, validated on construction.

    * ``strategy``: a :class:`BatchStrategy` or its value (``"sequential"``, ...).
    * ``batch_size``: items per batch for ``SEQUENTIAL``, per lane batch for
      ``ROUND_ROBIN``, the first batch for ``MEMORY_OPTIMIZED`` and ``ADAPTIVE`` (which
      then choose their own). None: :data:`DEFAULT_STREAM_BATCH_SIZE` (32, as DPA v0.2)
      for ``process_stream``, :data:`DEFAULT_RANGE_BATCH_SIZE` for ``process_range``.
    * ``max_memory_mb``: how far (MiB) the memory-aware strategies may let this
      process's resident memory grow during a run.
    * ``min_batch_size``, ``max_batch_size``: bounds of the sizes the memory-aware
      strategies choose (a stream's last batch may be shorter).
    * ``num_lanes``: the lanes of ``ROUND_ROBIN`` (only).
    * ``target_batch_ms``: the time per batch ``ADAPTIVE`` aims at (only);
      None: :data:`DEFAULT_TARGET_BATCH_MS`.

    Raises :class:`InvalidBatchConfigError` (a ``ValueError``) for a value out of range
    or a setting the strategy does not use, ``TypeError`` for a value of the wrong type.

    Example:
        >>> BatchConfig("round_robin", batch_size=8, num_lanes=4).strategy
        <BatchStrategy.ROUND_ROBIN: 'round_robin'>
    """

    strategy: BatchStrategy
    batch_size: int | None
    max_memory_mb: float
    min_batch_size: int
    max_batch_size: int | None
    num_lanes: int
    target_batch_ms: float | None

    def __init__(
        self,
        strategy: BatchStrategy | str,
        batch_size: int | None = None,
        max_memory_mb: float = 1000,
        min_batch_size: int = 1,
        max_batch_size: int | None = None,
        num_lanes: int = 1,
        target_batch_ms: float | None = None,
    ) -> None:
        chosen = _check_strategy(strategy)
        size = _check_size(batch_size, "batch_size", optional=True)
        smallest = _check_size(min_batch_size, "min_batch_size", optional=False)
        largest = _check_size(max_batch_size, "max_batch_size", optional=True)
        lanes = _check_size(num_lanes, "num_lanes", optional=False)
        memory = _check_positive(max_memory_mb, "max_memory_mb")
        target = _check_positive(target_batch_ms, "target_batch_ms", optional=True)
        assert smallest is not None and lanes is not None and memory is not None
        if size is not None and size < smallest:
            raise InvalidBatchConfigError(
                f"batch_size ({size}) cannot be less than min_batch_size ({smallest})"
            )
        if largest is not None and largest < smallest:
            raise InvalidBatchConfigError(
                f"max_batch_size ({largest}) cannot be less than min_batch_size ({smallest})"
            )
        if size is not None and largest is not None and size > largest:
            raise InvalidBatchConfigError(
                f"batch_size ({size}) cannot be more than max_batch_size ({largest})"
            )
        if lanes != 1 and chosen is not BatchStrategy.ROUND_ROBIN:
            raise InvalidBatchConfigError(
                f"num_lanes={lanes} applies to the round_robin strategy only, not {chosen.value}"
            )
        if target is not None and chosen is not BatchStrategy.ADAPTIVE:
            raise InvalidBatchConfigError(
                f"target_batch_ms={target} applies to the adaptive strategy only, "
                f"not {chosen.value}"
            )
        for name, value in (
            ("strategy", chosen),
            ("batch_size", size),
            ("max_memory_mb", memory),
            ("min_batch_size", smallest),
            ("max_batch_size", largest),
            ("num_lanes", lanes),
            ("target_batch_ms", target),
        ):
            object.__setattr__(self, name, value)


# --------------------------------------------------------------------------- memory


class _ProcessRSS:
    """This process's resident set size in bytes (psutil), also after a fork."""

    def __init__(self) -> None:
        self._pid = -1
        self._process: Any = None

    def __call__(self) -> int:
        pid = os.getpid()
        process = self._process
        if process is None or self._pid != pid:
            process = psutil.Process(pid)
            self._process, self._pid = process, pid
        return int(process.memory_info().rss)


@dataclass(frozen=True)
class MemoryInfo:
    """Memory of this process and of the machine, in MiB, at one moment.

    ``rss_mb`` is this process's resident set size; ``available_mb``, ``total_mb`` and
    ``percent_used`` describe the machine (``psutil.virtual_memory()``).

    Example:
        >>> info = MemoryInfo.current()
        >>> 0 < info.rss_mb < info.total_mb
        True
    """

    rss_mb: float
    available_mb: float
    total_mb: float
    percent_used: float

    @property
    def used_mb(self) -> float:
        """Memory of the machine not available to new work (``total - available``)."""
        return self.total_mb - self.available_mb

    @classmethod
    def current(cls) -> MemoryInfo:
        """Read it now."""
        machine = psutil.virtual_memory()
        return cls(
            rss_mb=_ProcessRSS()() / _MIB,
            available_mb=machine.available / _MIB,
            total_mb=machine.total / _MIB,
            percent_used=float(machine.percent),
        )


def get_memory_usage() -> MemoryInfo:
    """:meth:`MemoryInfo.current` (DPA v0.2's name).

    Example:
        >>> get_memory_usage().available_mb > 0
        True
    """
    return MemoryInfo.current()


class MemoryMonitor:
    """How far this process's resident memory has grown since a baseline.

    The baseline is the RSS when the monitor is made (or :meth:`reset`); growth is
    never that of the machine. ``rss`` replaces the reading (a callable returning
    bytes), for tests. With ``max_memory_mb``, :meth:`check` raises
    :class:`MemoryLimitExceededError` past it. Safe to share between threads.

    Example:
        >>> monitor = MemoryMonitor()
        >>> growth = monitor.sample()
        >>> monitor.peak_growth_bytes >= max(growth, 0)
        True
    """

    def __init__(
        self,
        max_memory_mb: float | None = None,
        *,
        rss: Callable[[], int] | None = None,
    ) -> None:
        self.max_memory_mb = _check_positive(max_memory_mb, "max_memory_mb", optional=True)
        if rss is not None and not callable(rss):
            raise TypeError(f"rss must be a callable returning bytes, got {rss!r}")
        self._rss = rss if rss is not None else _ProcessRSS()
        self._lock = threading.Lock()
        self.baseline_bytes = int(self._rss())
        self._peak = 0

    def rss_bytes(self) -> int:
        """This process's resident set size now."""
        return int(self._rss())

    def sample(self) -> int:
        """Growth in bytes now (negative when below the baseline); updates the peak."""
        growth = self.rss_bytes() - self.baseline_bytes
        with self._lock:
            if growth > self._peak:
                self._peak = growth
        return growth

    @property
    def peak_growth_bytes(self) -> int:
        """The largest growth sampled so far (0 before any growth)."""
        with self._lock:
            return self._peak

    @property
    def peak_growth_mb(self) -> float:
        """:attr:`peak_growth_bytes` in MiB."""
        return self.peak_growth_bytes / _MIB

    def reset(self) -> None:
        """Take the RSS now as the baseline and forget the peak."""
        baseline = self.rss_bytes()
        with self._lock:
            self.baseline_bytes = baseline
            self._peak = 0

    def check(self) -> int:
        """Sample; raise :class:`MemoryLimitExceededError` when the growth now is past
        ``max_memory_mb``. Returns the growth in bytes."""
        growth = self.sample()
        if self.max_memory_mb is not None and growth > self.max_memory_mb * _MIB:
            raise MemoryLimitExceededError(growth / _MIB, self.max_memory_mb)
        return growth

    def info(self) -> MemoryInfo:
        """This process's and the machine's memory now."""
        machine = psutil.virtual_memory()
        return MemoryInfo(
            rss_mb=self.rss_bytes() / _MIB,
            available_mb=machine.available / _MIB,
            total_mb=machine.total / _MIB,
            percent_used=float(machine.percent),
        )


@contextlib.contextmanager
def memory_monitor(
    max_memory_mb: float,
    *,
    interval_s: float | None = 0.05,
    rss: Callable[[], int] | None = None,
) -> Iterator[MemoryMonitor]:
    """Watch this process's memory growth over a ``with`` block.

    Yields a :class:`MemoryMonitor` whose baseline is the RSS on entry; its
    :meth:`~MemoryMonitor.check` raises at once when called past the limit. A
    background thread samples every ``interval_s`` seconds (None: only on entry, exit
    and ``check``), so that a peak freed before the end still counts. On leaving the
    block normally, :class:`MemoryLimitExceededError` is raised when the peak growth
    went past ``max_memory_mb``; an exception from the block itself goes through as it is.

    Example:
        >>> with memory_monitor(max_memory_mb=1000) as monitor:
        ...     data = bytearray(1 << 20)
        >>> monitor.peak_growth_mb < 1000
        True
    """
    limit = _check_positive(max_memory_mb, "max_memory_mb")
    interval = _check_positive(interval_s, "interval_s", optional=True)
    if interval is not None and interval > threading.TIMEOUT_MAX:
        raise InvalidBatchConfigError(f"interval_s must be at most {threading.TIMEOUT_MAX:g}")
    monitor = MemoryMonitor(limit, rss=rss)
    stop = threading.Event()
    sampler = None
    if interval is not None:

        def run() -> None:
            while not stop.wait(interval):
                monitor.sample()

        sampler = threading.Thread(target=run, name="dpa-memory-monitor", daemon=True)
        sampler.start()
    try:
        yield monitor
    finally:
        stop.set()
        if sampler is not None:
            sampler.join()
    monitor.sample()
    assert limit is not None
    if monitor.peak_growth_bytes > limit * _MIB:
        raise MemoryLimitExceededError(monitor.peak_growth_mb, limit)


class MemoryAwareBatcher:
    """Batch sizes from a memory budget: ``max_memory_mb`` of this process's growth.

    :meth:`calculate_optimal_batch_size` is the largest batch of items of a given
    (measured) size that fits what is left of the budget, within ``min_batch_size`` ..
    ``max_batch_size``. The machine's memory plays no part.

    Example:
        >>> MemoryAwareBatcher(max_memory_mb=500).calculate_optimal_batch_size(1 << 20)
        500
    """

    def __init__(
        self,
        max_memory_mb: float = 1000,
        min_batch_size: int = 1,
        max_batch_size: int | None = None,
    ) -> None:
        memory = _check_positive(max_memory_mb, "max_memory_mb")
        smallest = _check_size(min_batch_size, "min_batch_size", optional=False)
        largest = _check_size(max_batch_size, "max_batch_size", optional=True)
        assert memory is not None and smallest is not None
        if largest is not None and largest < smallest:
            raise InvalidBatchConfigError(
                f"max_batch_size ({largest}) cannot be less than min_batch_size ({smallest})"
            )
        self.max_memory_mb = memory
        self.min_batch_size = smallest
        self.max_batch_size = largest

    @property
    def budget_bytes(self) -> int:
        """``max_memory_mb`` in bytes."""
        return int(min(self.max_memory_mb * _MIB, sys.float_info.max))

    def calculate_optimal_batch_size(
        self, sample_size_bytes: float, *, used_bytes: float = 0, live_batches: int = 1
    ) -> int:
        """The largest ``n`` with ``n * sample_size_bytes * live_batches`` within the
        budget less ``used_bytes``, clamped to ``min_batch_size .. max_batch_size``.

        ``sample_size_bytes`` is the measured footprint of one item (> 0);
        ``used_bytes`` what the process has grown by otherwise; ``live_batches`` how
        many batches are alive at once.

        Example:
            >>> batcher = MemoryAwareBatcher(max_memory_mb=1, min_batch_size=10)
            >>> batcher.calculate_optimal_batch_size(1024, used_bytes=512 * 1024)
            512
            >>> batcher.calculate_optimal_batch_size(1024, used_bytes=2 << 20)
            10
        """
        size = _check_positive(sample_size_bytes, "sample_size_bytes")
        if isinstance(used_bytes, bool) or not isinstance(used_bytes, numbers.Real):
            raise TypeError(f"used_bytes must be a number, got {used_bytes!r}")
        live = _check_size(live_batches, "live_batches", optional=False)
        assert size is not None and live is not None
        room = max(0, self.budget_bytes - max(0, used_bytes))
        try:
            return self._clamp(math.floor(room / (size * live)))
        except OverflowError:  # more bytes than a float holds: nothing fits
            return self._clamp(0)

    def _clamp(self, n: float) -> int:
        if self.max_batch_size is not None:
            n = min(n, self.max_batch_size)
        return int(max(self.min_batch_size, n))


def batch_nbytes(batch: ParamBatch) -> int:
    """Bytes a :class:`~dpa.ParamBatch` holds: its columns' buffers, and the Python
    ints of an ``object`` id column (ids of 2**63 and more).

    Example:
        >>> from dpa import generate_batch
        >>> batch_nbytes(generate_batch(range(10)))  # (8 + 5 * 8 + 64) bytes a sample
        1120
    """
    if not isinstance(batch, ParamBatch):
        raise TypeError(f"expected a ParamBatch, got {type(batch).__name__}")
    total = 0
    for column in batch.columns().values():
        total += column.nbytes
        if column.dtype == object:
            total += sum(sys.getsizeof(value) for value in column.tolist())
    return total


def _item_bytes(item: Any) -> int:
    """Measured footprint of a stream item: the object, its list slot, and one level
    of what it holds (dict values, list and tuple items, array buffers). Dict keys are
    taken to be shared between items (as in the dicts dpa makes)."""
    if isinstance(item, ParamBatch):
        return batch_nbytes(item) + 8
    if isinstance(item, np.ndarray):
        return item.nbytes + sys.getsizeof(item) + 8
    size = sys.getsizeof(item) + 8
    if isinstance(item, dict):
        contents: Iterable[Any] = item.values()
    elif isinstance(item, list | tuple):
        contents = item
    else:
        return size
    for value in contents:
        size += value.nbytes if isinstance(value, np.ndarray) else sys.getsizeof(value)
    return size


def _stream_item_bytes(batch: list[Any]) -> float:
    """Mean measured footprint of up to ``_SIZE_SAMPLES`` items spread over ``batch``."""
    step = max(1, len(batch) // _SIZE_SAMPLES)
    sampled = batch[::step]
    return sum(_item_bytes(item) for item in sampled) / len(sampled)


# --------------------------------------------------------------------------- metrics


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


class _Run:
    """One run's bookkeeping, read by :attr:`BatchProcessor.metrics` from any thread."""

    def __init__(self, strategy: BatchStrategy, clock: Callable[[], float], monitor: MemoryMonitor):
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
        self.monitor.sample()
        now = float(self.clock())
        with self._lock:
            if self.ended is None:
                self.ended = now

    def metrics(self) -> BatchMetrics:
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


# --------------------------------------------------------------------------- sizing


class _Sizer:
    """The next batch size of a memory-optimized or adaptive run.

    Memory: after each batch, the bytes per item measured on it and this process's
    growth give the largest size that fits the budget (what grew besides the batches
    in flight counts against it). Adaptive: the time per item, measured as the
    consumer's time on a batch plus the time to make it, smoothed, gives the size that
    takes ``target_batch_ms``. Either moves by at most a factor of ``_STEP`` a batch.
    """

    def __init__(self, config: BatchConfig, first: int) -> None:
        self.config = config
        self.adaptive = config.strategy is BatchStrategy.ADAPTIVE
        self.batcher = MemoryAwareBatcher(
            config.max_memory_mb, config.min_batch_size, config.max_batch_size
        )
        self.size = self.batcher._clamp(first)
        self.cap: int | None = None  # the memory bound, once measured
        self.previous = 0  # size of the batch before the last (the consumer may hold it)
        self.target = (config.target_batch_ms or DEFAULT_TARGET_BATCH_MS) / 1000.0
        self.produce_per_item: float | None = None
        self.consume_per_item: float | None = None
        self.warned = False

    def next_size(self) -> int:
        return self.size

    def produced(self, n: int, item_bytes: float, seconds: float, growth: int | None) -> None:
        """After a batch of ``n`` items is made: its measured bytes per item, the time it
        took, and the memory growth when it was read."""
        if growth is not None and item_bytes > 0:
            in_flight = item_bytes * (n + self.previous)
            other = max(0.0, growth - in_flight)
            reserve = (1 - _FILL) * self.batcher.budget_bytes
            self.cap = self.batcher.calculate_optimal_batch_size(
                item_bytes, used_bytes=other + reserve, live_batches=_LIVE_BATCHES
            )
            budget = self.batcher.budget_bytes
            if growth > budget and self.cap == self.config.min_batch_size and not self.warned:
                self.warned = True
                logger.warning(
                    "this process grew by %.1f MB, past max_memory_mb=%g, with batches "
                    "at min_batch_size=%d",
                    growth / _MIB,
                    self.config.max_memory_mb,
                    self.config.min_batch_size,
                )
        self.previous = n
        if self.adaptive:
            self.produce_per_item = self._smooth(self.produce_per_item, seconds / n)
        else:
            self._resize(math.inf)

    def consumed(self, n: int, seconds: float) -> None:
        """After the consumer gave control back, ``seconds`` after the batch was yielded."""
        if not self.adaptive:
            return
        self.consume_per_item = self._smooth(self.consume_per_item, seconds / n)
        per_item = (self.produce_per_item or 0.0) + self.consume_per_item
        self._resize(self.target / per_item if per_item > 0 else math.inf)

    def _resize(self, wanted: float) -> None:
        wanted = min(max(wanted, self.size / _STEP), self.size * _STEP)
        if self.cap is not None:
            wanted = min(wanted, self.cap)
        if abs(wanted - self.size) <= _DEAD_BAND * self.size:
            # Within the band: keep the size (the budget keeps a reserve for this),
            # so that equal batches reuse the same memory rather than fragment it.
            wanted = self.size
        self.size = self.batcher._clamp(max(1, round(wanted)))

    @staticmethod
    def _smooth(old: float | None, new: float) -> float:
        new = max(0.0, new)
        return new if old is None else _SMOOTHING * new + (1 - _SMOOTHING) * old


# --------------------------------------------------------------------------- processor


class BatchProcessor:
    """Cut a stream, or a range of sample ids, into batches by one strategy.

    ``config`` is a :class:`BatchConfig` of the same strategy (None: its defaults).
    ``clock`` (seconds, default :func:`time.perf_counter`) times the runs and drives
    the adaptive strategy; ``rss`` (bytes, default: psutil) reads this process's
    resident memory. Both are there to be replaced in tests. A processor may run
    several streams, from several threads; :attr:`metrics` describes the latest.

    Example:
        >>> config = BatchConfig("round_robin", batch_size=2, num_lanes=3)
        >>> batches = BatchProcessor("round_robin", config).process_stream(range(10))
        >>> list(batches)
        [[0, 3], [1, 4], [2, 5], [6, 9], [7], [8]]
    """

    def __init__(
        self,
        strategy: BatchStrategy | str,
        config: BatchConfig | None = None,
        *,
        clock: Callable[[], float] = time.perf_counter,
        rss: Callable[[], int] | None = None,
    ) -> None:
        chosen = _check_strategy(strategy)
        if config is None:
            config = BatchConfig(chosen)
        elif not isinstance(config, BatchConfig):
            raise TypeError(f"config must be a BatchConfig, got {type(config).__name__}")
        elif config.strategy is not chosen:
            raise InvalidBatchConfigError(
                f"strategy {chosen.value!r} differs from config.strategy {config.strategy.value!r}"
            )
        if not callable(clock):
            raise TypeError(f"clock must be a callable returning seconds, got {clock!r}")
        if rss is not None and not callable(rss):
            raise TypeError(f"rss must be a callable returning bytes, got {rss!r}")
        self.strategy = chosen
        self.config = config
        self.clock = clock
        self._rss = rss
        self._lock = threading.Lock()
        self._run: _Run | None = None

    def __repr__(self) -> str:
        return f"BatchProcessor({self.strategy.value!r}, {self.config!r})"

    @property
    def metrics(self) -> BatchMetrics:
        """The latest run's :class:`BatchMetrics` (final once it ended; zeros before any)."""
        with self._lock:
            run = self._run
        return BatchMetrics(self.strategy) if run is None else run.metrics()

    def _start(self) -> _Run:
        run = _Run(self.strategy, self.clock, MemoryMonitor(rss=self._rss))
        with self._lock:
            self._run = run
        return run

    # ----------------------------------------------------------------------- streams

    def process_stream(self, iterable: Iterable[Any]) -> Iterator[list[Any]]:
        """Batches (lists) of the items of ``iterable``, every item exactly once.

        ``SEQUENTIAL``, ``MEMORY_OPTIMIZED`` and ``ADAPTIVE`` keep the items' order;
        ``ROUND_ROBIN`` deals item ``i`` to lane ``i % num_lanes`` and yields the lanes'
        batches in rotation. The memory-aware strategies measure the items' footprint
        on a sample of each batch. Items are read lazily, a batch at a time.

        Example:
            >>> processor = BatchProcessor("sequential", BatchConfig("sequential", batch_size=2))
            >>> list(processor.process_stream("abcde"[i] for i in range(5)))
            [['a', 'b'], ['c', 'd'], ['e']]
        """
        if isinstance(iterable, str | bytes | dict) or not isinstance(iterable, Iterable):
            raise TypeError(f"expected an iterable of items, got {type(iterable).__name__}")
        return self._stream(iter(iterable))

    def _stream(self, items: Iterator[Any]) -> Iterator[list[Any]]:
        run = self._start()
        config = self.config
        size = _first_size(config, DEFAULT_STREAM_BATCH_SIZE)
        try:
            if self.strategy is BatchStrategy.SEQUENTIAL:
                while batch := list(islice(items, size)):
                    run.add(len(batch))
                    yield batch
            elif self.strategy is BatchStrategy.ROUND_ROBIN:
                lanes = config.num_lanes
                while block := list(islice(items, lanes * size)):
                    dealt = [block[lane::lanes] for lane in range(lanes)]
                    del block
                    for batch in dealt:
                        if batch:
                            run.add(len(batch))
                            yield batch
            else:
                yield from self._sized(
                    run, size, lambda n: list(islice(items, n)), _stream_item_bytes
                )
        finally:
            run.finish()

    def _sized(
        self,
        run: _Run,
        first: int,
        make: Callable[[int], Any],
        measure: Callable[[Any], float],
    ) -> Iterator[Any]:
        """The memory-optimized and adaptive loop: ``make(n)`` gives a batch of at most
        ``n`` items (empty at the end), ``measure(batch)`` its bytes per item."""
        sizer = _Sizer(self.config, first)
        clock = self.clock
        while True:
            began = clock()
            batch = make(sizer.next_size())
            n = len(batch)
            if n == 0:
                return
            item_bytes = measure(batch)
            growth = run.add(n, item_bytes, read=True)
            made = clock()
            sizer.produced(n, item_bytes, made - began, growth)
            yield batch
            sizer.consumed(n, clock() - made)

    # ----------------------------------------------------------------------- ranges

    def process_range(
        self,
        start_id: int,
        end_id: int,
        config: AugmentationConfig | None = None,
        *,
        rank: int | None = None,
        world_size: int | None = None,
        base_seed: int = 0,
        epoch: int | None = None,
        scheme: KeyScheme | None = None,
        workers: int = 1,
        backend: str | None = None,
    ) -> Iterator[ParamBatch]:
        """:class:`~dpa.ParamBatch` objects of ids ``start_id`` .. ``end_id - 1``, each id
        exactly once, made by the batch API (no per-sample dicts).

        ``SEQUENTIAL``, ``MEMORY_OPTIMIZED`` and ``ADAPTIVE`` yield the ids in order;
        ``ROUND_ROBIN`` yields lane batches in rotation (batch ``b`` belongs to lane
        ``b % num_lanes`` and holds every ``num_lanes``-th id of its block); they are
        views into one block of ``num_lanes * batch_size`` samples. With ``rank`` and
        ``world_size`` the keys are rank-aware (``f"{base_seed}:{rank}:"`` before each
        id's digits), as for distributed output; with ``epoch`` they are elastic;
        ``scheme`` gives any key scheme as an object (:class:`dpa.RankAwareScheme`,
        :class:`dpa.ElasticScheme`) instead. The ids stay ``start_id .. end_id - 1``.
        ``workers`` and ``backend`` are as for :func:`dpa.generate_batch`.

        Example:
            >>> processor = BatchProcessor("sequential", BatchConfig("sequential", batch_size=3))
            >>> [b.sample_id.tolist() for b in processor.process_range(10, 15)]
            [[10, 11, 12], [13, 14]]
        """
        start = check_int(start_id, "start_id", 0)
        end = check_int(end_id, "end_id", 0)
        if start > end:
            raise ValueError(f"start_id must be <= end_id, got start_id={start} > end_id={end}")
        if scheme is None:
            scheme = _key_scheme(rank, world_size, base_seed, epoch)
        elif rank is not None or world_size is not None or epoch is not None or base_seed != 0:
            raise ValueError("give scheme= or rank/world_size/base_seed/epoch, not both")
        scheme = check_scheme(scheme)
        # Checks config, workers and backend now rather than at the first batch.
        iter_batches(start, start, config, 1, workers=workers, backend=backend, scheme=scheme)

        def make(first: int, stop: int, size: int) -> Iterator[ParamBatch]:
            return iter_batches(
                first, stop, config, size, workers=workers, backend=backend, scheme=scheme
            )

        columns = _Columns()
        checked = check_config(config)

        def into(first: int, stop: int) -> ParamBatch:
            """Ids ``first .. stop-1`` generated into the reused columns."""
            if stop > _INT64_LIMIT:  # ids that need Python ints: fresh arrays
                return next(make(first, stop, stop - first))
            ids, out = columns.take(first, stop)
            ids_range = range(first, stop)
            return _generate(
                ids_range, ids, checked, scheme, backend=backend, workers=workers, out=out
            )

        reuse = into if self.strategy is BatchStrategy.MEMORY_OPTIMIZED else None
        return self._range(start, end, make, reuse)

    def _range(
        self,
        start: int,
        end: int,
        make: Callable[[int, int, int], Iterator[ParamBatch]],
        into: Callable[[int, int], ParamBatch] | None = None,
    ) -> Iterator[ParamBatch]:
        run = self._start()
        config = self.config
        size = _first_size(config, DEFAULT_RANGE_BATCH_SIZE)
        try:
            if self.strategy is BatchStrategy.SEQUENTIAL:
                for batch in make(start, end, size):
                    run.add(len(batch), batch_nbytes(batch) / len(batch))
                    yield batch
            elif self.strategy is BatchStrategy.ROUND_ROBIN:
                lanes = config.num_lanes
                for block in make(start, end, lanes * size):
                    item_bytes = batch_nbytes(block) / len(block)
                    for lane in range(min(lanes, len(block))):
                        batch = block[lane::lanes]
                        run.add(len(batch), item_bytes)
                        yield batch
            else:
                cursor = start

                def take(n: int) -> ParamBatch | list[Any]:
                    nonlocal cursor
                    if cursor >= end:
                        return []
                    stop = min(end, cursor + n)
                    batch = into(cursor, stop) if into else next(make(cursor, stop, stop - cursor))
                    cursor = stop
                    return batch

                yield from self._sized(run, size, take, lambda b: batch_nbytes(b) / len(b))
        finally:
            run.finish()


class _Columns:
    """Reused column buffers for MEMORY_OPTIMIZED: grown to the largest batch asked
    for, then written over by each batch."""

    def __init__(self) -> None:
        self.capacity = 0
        self.ids = np.empty(0, dtype=np.int64)
        self.values = np.empty(0, dtype=np.float64)
        self.hashes = np.empty(0, dtype="S64")

    def take(self, first: int, stop: int) -> tuple[np.ndarray, Buffers]:
        n = stop - first
        if n > self.capacity:
            self.capacity = n
            self.ids = np.empty(n, dtype=np.int64)
            self.values = np.empty(5 * n, dtype=np.float64)
            self.hashes = np.empty(n, dtype="S64")
        ids = self.ids[:n]
        ids[:] = np.arange(first, stop, dtype=np.int64)
        return ids, (self.values, self.hashes)


def _first_size(config: BatchConfig, default: int) -> int:
    """``batch_size``, or ``default`` brought within ``min_batch_size .. max_batch_size``."""
    if config.batch_size is not None:
        return config.batch_size
    largest = config.max_batch_size if config.max_batch_size is not None else default
    return max(config.min_batch_size, min(default, largest))


def _key_scheme(rank: Any, world_size: Any, base_seed: Any, epoch: Any) -> KeyScheme:
    """The key scheme of a range: rank-aware with ``rank``/``world_size``, elastic
    with ``epoch``, else plain DPA v0.2 keys."""
    if (rank is None) != (world_size is None):
        given, missing = ("rank", "world_size") if world_size is None else ("world_size", "rank")
        raise ValueError(f"{given} needs {missing}: give both or neither")
    seed = check_int(base_seed, "base_seed", 0)
    if epoch is not None:
        if rank is not None:
            raise ValueError("give rank/world_size (rank-aware) or epoch (elastic), not both")
        return ElasticScheme(seed, epoch)
    if rank is None:
        if seed != 0:
            raise ValueError(f"base_seed={seed} needs rank and world_size, or an epoch")
        return PLAIN
    return RankAwareScheme(seed, rank, world_size)
