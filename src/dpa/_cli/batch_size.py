"""How many ids ``dpa generate`` puts in a batch when ``--batch-size`` is not given:
the most whose batches in flight fit in ``--max-memory-mb``.

Example:
    >>> from dpa._config import AugmentationConfig
    >>> 1 <= memory_batch_size("jsonl", AugmentationConfig(), 64) <= MAX_SIZED_BATCH
    True
"""

from __future__ import annotations

import json
import sys

from .._config import AugmentationConfig

__all__ = ["MAX_SIZED_BATCH", "memory_batch_size"]

#: Ids per batch at most when sized from memory: a Parquet row group, and the most an
#: interrupted run loses.
MAX_SIZED_BATCH = 1 << 20
#: The samples generated to measure a sample's footprint.
PROBE_SAMPLES = 1024
#: How many times over writing Parquet holds a batch's columns: the batch being written
#: and the next one being made, the Arrow table, the dictionary and plain pages, the
#: compressed pages, and the part read back when the parts are joined (measured: about
#: 720 bytes of peak memory per sample of a batch, for 112 bytes of columns).
PARQUET_COPIES = 7
#: How many times over writing a text format holds a batch's columns: the batch being
#: written, the next one, and the statistics' copy.
TEXT_COPIES = 3


def memory_batch_size(fmt: str, config: AugmentationConfig, max_memory_mb: float) -> int:
    """The largest batch whose footprint, measured on a probe batch of ``config``, keeps
    the batches in flight within ``max_memory_mb`` (through :mod:`dpa._batch`).

    A sample's footprint is its columns' bytes (measured) times the copies the writer
    holds; for the text formats, plus what writing its record holds, measured on the
    probe's records: the values as Python objects, the line, and the line again in
    the joined text and in its bytes.
    """
    from .._batch import MemoryAwareBatcher, batch_nbytes
    from .._generate import generate_batch

    probe = generate_batch(range(PROBE_SAMPLES), config)
    columns = batch_nbytes(probe) / len(probe)
    if fmt == "parquet":
        per_sample = PARQUET_COPIES * columns
    else:
        records = probe.to_dicts()
        lines = (json.dumps(record) for record in records)
        text = sum(sys.getsizeof(line) + 8 + 2 * (len(line) + 1) for line in lines)
        values = sum(sys.getsizeof(v) + 8 for record in records for v in record.values())
        per_sample = TEXT_COPIES * columns + (text + values) / len(records)
    batcher = MemoryAwareBatcher(max_memory_mb, max_batch_size=MAX_SIZED_BATCH)
    return batcher.calculate_optimal_batch_size(per_sample)
