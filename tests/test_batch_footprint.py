"""dpa._batch._footprint: what batches weigh (batch_nbytes) and how many fit a memory
budget (MemoryAwareBatcher)."""

from __future__ import annotations

import pytest

from batch_helpers import MIB, SAMPLE_BYTES
from dpa import InvalidBatchConfigError, MemoryAwareBatcher, generate_batch
from dpa._batch import batch_nbytes

# --------------------------------------------------------------------------- footprint


def test_memory_aware_batcher() -> None:
    batcher = MemoryAwareBatcher(max_memory_mb=500, min_batch_size=1)
    assert (batcher.max_memory_mb, batcher.min_batch_size) == (500, 1)
    assert batcher.calculate_optimal_batch_size(MIB) == 500
    assert batcher.calculate_optimal_batch_size(MIB, live_batches=2) == 250
    assert batcher.calculate_optimal_batch_size(MIB, used_bytes=100 * MIB) == 400
    assert batcher.calculate_optimal_batch_size(MIB, used_bytes=600 * MIB) == 1
    assert batcher.calculate_optimal_batch_size(0.5) == 1000 * MIB
    assert MemoryAwareBatcher(min_batch_size=10).calculate_optimal_batch_size(10**12) == 10
    assert MemoryAwareBatcher(max_batch_size=64).calculate_optimal_batch_size(1) == 64


@pytest.mark.parametrize("size", [0, -100, float("nan")])
def test_memory_aware_batcher_rejects_sizes_that_are_not_sizes(size: float) -> None:
    with pytest.raises(InvalidBatchConfigError, match="sample_size_bytes"):
        MemoryAwareBatcher().calculate_optimal_batch_size(size)
    with pytest.raises(TypeError, match="sample_size_bytes"):
        MemoryAwareBatcher().calculate_optimal_batch_size("1k")  # type: ignore[arg-type]
    with pytest.raises(InvalidBatchConfigError, match="max_batch_size"):
        MemoryAwareBatcher(min_batch_size=8, max_batch_size=4)


def test_batch_nbytes() -> None:
    assert batch_nbytes(generate_batch(range(100))) == 100 * SAMPLE_BYTES
    big = generate_batch([2**70, 2**70 + 1])
    assert batch_nbytes(big) > 2 * SAMPLE_BYTES  # the ints of an object column count
