"""The feedback that chooses the next batch size of a ``MEMORY_OPTIMIZED`` or
``ADAPTIVE`` run (:class:`BatchSizer`): from the memory each batch was measured to take
and this process's growth, and (adaptive) from the time a batch took to make and to
consume.

Example:
    >>> sizer = BatchSizer(BatchConfig("adaptive", target_batch_ms=10), first=100)
    >>> sizer.produced(100, item_bytes=112, seconds=0.0, growth=None)
    >>> sizer.consumed(100, seconds=0.02)  # 0.2 ms an item: 50 make 10 ms
    >>> sizer.next_size()
    50
"""

from __future__ import annotations

import logging
import math

from ._footprint import MemoryAwareBatcher
from ._memory import MIB
from ._strategy import DEFAULT_TARGET_BATCH_MS, BatchConfig, BatchStrategy

__all__ = ["BatchSizer"]

logger = logging.getLogger(__name__)

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


class BatchSizer:
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
        """The size of the next batch to make."""
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
                    growth / MIB,
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
