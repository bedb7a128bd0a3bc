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
run did. Memory is read through :mod:`dpa._system` (psutil, imported on first use):
this process's resident set size (RSS), and the machine's available memory for
:class:`MemoryInfo`.

The modules, one job each: ``_strategy`` (the strategies, their settings),
``_processor`` (the batch loops), ``_sizing`` (the next size of the memory-aware
strategies), ``_metrics`` (what a run did), ``_memory`` (this process's memory, read
and watched), ``_footprint`` (what batches weigh, how many fit a budget) and
``_checks`` (the checks of the settings).

Example:
    >>> processor = BatchProcessor("sequential", BatchConfig("sequential", batch_size=4))
    >>> [len(batch) for batch in processor.process_range(0, 10)]
    [4, 4, 2]
    >>> processor.metrics.total_samples
    10
"""

from __future__ import annotations

from .._errors import BatchProcessingError, InvalidBatchConfigError, MemoryLimitExceededError
from ._footprint import MemoryAwareBatcher, batch_nbytes
from ._memory import MemoryInfo, MemoryMonitor, get_memory_usage, memory_monitor
from ._metrics import BatchMetrics
from ._processor import BatchProcessor
from ._strategy import (
    DEFAULT_RANGE_BATCH_SIZE,
    DEFAULT_STREAM_BATCH_SIZE,
    DEFAULT_TARGET_BATCH_MS,
    BatchConfig,
    BatchStrategy,
)

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
