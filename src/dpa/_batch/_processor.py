"""The batch loops: :class:`BatchProcessor` cuts a stream (:meth:`~BatchProcessor.
process_stream`) or a range of sample ids (:meth:`~BatchProcessor.process_range`) into
batches by its strategy, records what it did (:attr:`~BatchProcessor.metrics`) and,
for the memory-aware strategies, asks :class:`~dpa._batch._sizing.BatchSizer` for each
next size.

Example:
    >>> config = BatchConfig("memory_optimized", batch_size=100)
    >>> processor = BatchProcessor("memory_optimized", config)
    >>> sum(len(batch) for batch in processor.process_range(0, 1000))
    1000
    >>> processor.metrics.batch_sizes[0]
    100
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

import numpy as np

from .._backends import Buffers
from .._config import AugmentationConfig, check_config
from .._errors import InvalidBatchConfigError
from .._generate import _generate, iter_batches
from .._keys import PLAIN, ElasticScheme, KeyScheme, RankAwareScheme, check_scheme
from .._parambatch import _INT64_LIMIT, ParamBatch
from .._validate import check_int
from ._footprint import batch_nbytes, stream_item_bytes
from ._memory import MemoryMonitor
from ._metrics import BatchMetrics, RunRecorder
from ._sizing import BatchSizer
from ._strategy import (
    DEFAULT_RANGE_BATCH_SIZE,
    DEFAULT_STREAM_BATCH_SIZE,
    BatchConfig,
    BatchStrategy,
    check_strategy,
    first_batch_size,
)

__all__ = ["BatchProcessor", "range_scheme"]


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
        chosen = check_strategy(strategy)
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
        self._run: RunRecorder | None = None

    def __repr__(self) -> str:
        return f"BatchProcessor({self.strategy.value!r}, {self.config!r})"

    @property
    def metrics(self) -> BatchMetrics:
        """The latest run's :class:`BatchMetrics` (final once it ended; zeros before any)."""
        with self._lock:
            run = self._run
        return BatchMetrics(self.strategy) if run is None else run.metrics()

    def _start(self) -> RunRecorder:
        run = RunRecorder(self.strategy, self.clock, MemoryMonitor(rss=self._rss))
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
        size = first_batch_size(config, DEFAULT_STREAM_BATCH_SIZE)
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
                    run, size, lambda n: list(islice(items, n)), stream_item_bytes
                )
        finally:
            run.finish()

    def _sized(
        self,
        run: RunRecorder,
        first: int,
        make: Callable[[int], Any],
        measure: Callable[[Any], float],
    ) -> Iterator[Any]:
        """The memory-optimized and adaptive loop: ``make(n)`` gives a batch of at most
        ``n`` items (empty at the end), ``measure(batch)`` its bytes per item."""
        sizer = BatchSizer(self.config, first)
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
        keys = range_scheme(
            scheme, rank=rank, world_size=world_size, base_seed=base_seed, epoch=epoch
        )
        # Checks config, workers and backend now rather than at the first batch.
        iter_batches(start, start, config, 1, workers=workers, backend=backend, scheme=keys)

        def make(first: int, stop: int, size: int) -> Iterator[ParamBatch]:
            return iter_batches(
                first, stop, config, size, workers=workers, backend=backend, scheme=keys
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
                ids_range, ids, checked, keys, backend=backend, workers=workers, out=out
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
        size = first_batch_size(config, DEFAULT_RANGE_BATCH_SIZE)
        try:
            if self.strategy is BatchStrategy.SEQUENTIAL:
                for batch in make(start, end, size):
                    run.add(len(batch), _bytes_per_item(batch))
                    yield batch
            elif self.strategy is BatchStrategy.ROUND_ROBIN:
                lanes = config.num_lanes
                for block in make(start, end, lanes * size):
                    item_bytes = _bytes_per_item(block)
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

                yield from self._sized(run, size, take, _bytes_per_item)
        finally:
            run.finish()


def _bytes_per_item(batch: ParamBatch) -> float:
    return batch_nbytes(batch) / len(batch)


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


def range_scheme(
    scheme: Any,
    *,
    rank: Any = None,
    world_size: Any = None,
    base_seed: Any = 0,
    epoch: Any = None,
) -> KeyScheme:
    """The key scheme of :meth:`BatchProcessor.process_range`: ``scheme`` when given
    (a :class:`~dpa.KeyScheme`), else the one its older arguments spell: rank-aware
    with ``rank``/``world_size``, elastic with ``epoch``, else plain DPA v0.2 keys.

    Example:
        >>> range_scheme(None, rank=1, world_size=4, base_seed=42)
        RankAwareScheme(base_seed=42, rank=1, world_size=4)
    """
    if scheme is not None:
        if rank is not None or world_size is not None or epoch is not None or base_seed != 0:
            raise ValueError("give scheme= or rank/world_size/base_seed/epoch, not both")
        return check_scheme(scheme)
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
