"""What the tests of dpa._batch share: fake clocks and RSS readings, a processor maker,
and the size of a sample."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dpa import BatchConfig, BatchProcessor, BatchStrategy, ParamBatch

MIB = 1 << 20
STRATEGIES = list(BatchStrategy)
#: Bytes a sample takes in a ParamBatch with int64 ids: id, five float64, 64-byte hash.
SAMPLE_BYTES = 8 + 5 * 8 + 64


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeRSS:
    """A resident set size that changes only when told to."""

    def __init__(self, value: int = 100 * MIB) -> None:
        self.value = value
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        return self.value


def processor(strategy: BatchStrategy | str, **kwargs: Any) -> BatchProcessor:
    """A processor of ``strategy`` with config fields and processor options mixed."""
    options = {k: kwargs.pop(k) for k in ("clock", "rss") if k in kwargs}
    return BatchProcessor(strategy, BatchConfig(strategy, **kwargs), **options)


def flatten(batches: Iterable[Any]) -> list[Any]:
    return [item for batch in batches for item in batch]


def ids_of(batches: Iterable[ParamBatch]) -> list[int]:
    return [i for batch in batches for i in batch.sample_id.tolist()]
