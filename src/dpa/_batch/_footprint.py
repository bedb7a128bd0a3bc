"""What batches weigh and how many items fit a memory budget: :func:`batch_nbytes`
(the bytes of a :class:`~dpa.ParamBatch`), :func:`stream_item_bytes` (the measured
footprint of a stream's items) and :class:`MemoryAwareBatcher` (the largest batch
within ``max_memory_mb`` of this process's growth).

Example:
    >>> from dpa import generate_batch
    >>> per_sample = batch_nbytes(generate_batch(range(4))) // 4
    >>> MemoryAwareBatcher(max_memory_mb=1).calculate_optimal_batch_size(per_sample)
    9362
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Iterable
from typing import Any

import numpy as np

from .._parambatch import ParamBatch
from ._checks import check_bounds, check_optional_size, check_positive, check_size
from ._memory import MIB

__all__ = ["MemoryAwareBatcher", "batch_nbytes", "item_bytes", "stream_item_bytes"]

#: Items sampled per batch to measure the footprint of stream items.
_SIZE_SAMPLES = 32


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
        self.max_memory_mb = check_positive(max_memory_mb, "max_memory_mb")
        self.min_batch_size = check_size(min_batch_size, "min_batch_size")
        self.max_batch_size = check_optional_size(max_batch_size, "max_batch_size")
        check_bounds(self.min_batch_size, self.max_batch_size)

    @property
    def budget_bytes(self) -> int:
        """``max_memory_mb`` in bytes."""
        return int(min(self.max_memory_mb * MIB, sys.float_info.max))

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
        size = check_positive(sample_size_bytes, "sample_size_bytes")
        if isinstance(used_bytes, bool) or not isinstance(used_bytes, numbers.Real):
            raise TypeError(f"used_bytes must be a number, got {used_bytes!r}")
        live = check_size(live_batches, "live_batches")
        room = max(0, self.budget_bytes - max(0, used_bytes))
        try:
            return self._clamp(math.floor(room / (size * live)))
        except OverflowError:  # more bytes than a float holds: nothing fits
            return self._clamp(0)

    def _clamp(self, n: float) -> int:
        """``n`` brought within ``min_batch_size .. max_batch_size``."""
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


def item_bytes(item: Any) -> int:
    """Measured footprint of a stream item: the object, its list slot, and one level
    of what it holds (dict values, list and tuple items, array buffers). Dict keys are
    taken to be shared between items (as in the dicts dpa makes).

    Example:
        >>> item_bytes(np.zeros(100)) > 800
        True
    """
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


def stream_item_bytes(batch: list[Any]) -> float:
    """Mean measured footprint of up to 32 items spread over ``batch`` (not empty).

    Example:
        >>> stream_item_bytes([b"x" * 100] * 1000) == item_bytes(b"x" * 100)
        True
    """
    step = max(1, len(batch) // _SIZE_SAMPLES)
    sampled = batch[::step]
    return sum(item_bytes(item) for item in sampled) / len(sampled)
