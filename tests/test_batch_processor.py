"""dpa._batch._processor: the batch loops of the four strategies over streams and ranges,
every item exactly once, in the order each strategy promises, with the key scheme asked for."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import dpa
from batch_helpers import STRATEGIES, flatten, ids_of, processor
from dpa import (
    AugmentationConfig,
    BatchConfig,
    BatchProcessor,
    BatchStrategy,
    InvalidBatchConfigError,
    ParamBatch,
    generate_batch,
    iter_batches,
)
from dpa._batch import DEFAULT_RANGE_BATCH_SIZE, DEFAULT_STREAM_BATCH_SIZE

# --------------------------------------------------------------------------- BatchProcessor


def test_processor_checks_its_arguments() -> None:
    with pytest.raises(InvalidBatchConfigError, match=r"'adaptive' differs from config\.strategy"):
        BatchProcessor(BatchStrategy.ADAPTIVE, BatchConfig("sequential"))
    with pytest.raises(TypeError, match="config must be a BatchConfig"):
        BatchProcessor("sequential", {"batch_size": 3})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="clock must be a callable"):
        BatchProcessor("sequential", clock=1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="rss must be a callable"):
        BatchProcessor("sequential", rss=5)  # type: ignore[arg-type]
    assert BatchProcessor("adaptive").config == BatchConfig("adaptive")
    assert "sequential" in repr(BatchProcessor("sequential"))


@pytest.mark.parametrize("stream", ["abc", b"abc", {"a": 1}, 42, None])
def test_process_stream_rejects_non_streams_at_once(stream: Any) -> None:
    with pytest.raises(TypeError, match="iterable of items"):
        BatchProcessor("sequential").process_stream(stream)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        ((5, 2), {}, ValueError, "start_id must be <= end_id"),
        ((-1, 2), {}, ValueError, "start_id"),
        ((0, 2.5), {}, TypeError, "end_id"),
        ((0, 2, {"augmentation_depth": 3}), {}, TypeError, "AugmentationConfig"),
        ((0, 2), {"workers": 0}, ValueError, "workers"),
        ((0, 2), {"backend": "gpu"}, ValueError, "unknown backend"),
        ((0, 2), {"rank": 0}, ValueError, "rank needs world_size"),
        ((0, 2), {"world_size": 2}, ValueError, "world_size needs rank"),
        ((0, 2), {"rank": 2, "world_size": 2}, ValueError, "rank must be < world_size"),
        ((0, 2), {"rank": -1, "world_size": 2}, ValueError, "rank"),
        ((0, 2), {"rank": 0, "world_size": 0}, ValueError, "world_size"),
        ((0, 2), {"rank": True, "world_size": 2}, TypeError, "rank"),
        ((0, 2), {"rank": 0, "world_size": 2, "base_seed": -3}, ValueError, "base_seed"),
        ((0, 2), {"base_seed": 7}, ValueError, "base_seed=7 needs rank and world_size"),
    ],
)
def test_process_range_checks_its_arguments_at_once(
    args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    for strategy in STRATEGIES:
        with pytest.raises(error, match=message):
            BatchProcessor(strategy).process_range(*args, **kwargs)  # no next(): eager


# --------------------------------------------------------------------------- every item once


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("n", [0, 1, 7, 100, 1001])
def test_stream_yields_every_item_exactly_once(strategy: BatchStrategy, n: int) -> None:
    fields: dict[str, Any] = {"batch_size": 8}
    if strategy is BatchStrategy.ROUND_ROBIN:
        fields["num_lanes"] = 3
    batches = list(processor(strategy, **fields).process_stream(iter(range(n))))
    assert all(batches), "no empty batch"
    items = flatten(batches)
    assert sorted(items) == list(range(n))
    if strategy is not BatchStrategy.ROUND_ROBIN:
        assert items == list(range(n))  # in order


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize(("start", "end"), [(0, 0), (5, 6), (10, 1010), (2**40, 2**40 + 300)])
def test_range_yields_every_id_exactly_once_with_the_batch_values(
    strategy: BatchStrategy, start: int, end: int
) -> None:
    fields: dict[str, Any] = {"batch_size": 64}
    if strategy is BatchStrategy.ROUND_ROBIN:
        fields["num_lanes"] = 4
    batches = list(processor(strategy, **fields).process_range(start, end))
    assert all(isinstance(b, ParamBatch) and len(b) for b in batches)
    ids = ids_of(batches)
    assert sorted(ids) == list(range(start, end))
    if strategy is not BatchStrategy.ROUND_ROBIN:
        assert ids == list(range(start, end))
    if batches:
        merged = ParamBatch.concat(batches)
        order = np.argsort(merged.sample_id, kind="stable")
        merged = ParamBatch(**{k: v[order] for k, v in merged.columns().items()})
        assert merged.equals(generate_batch(range(start, end)))


def test_sequential_sizes_fixed_and_last_short() -> None:
    stream = processor("sequential", batch_size=3).process_stream(range(10))
    assert [len(b) for b in stream] == [3, 3, 3, 1]
    ranged = processor("sequential", batch_size=4).process_range(0, 12)
    assert [len(b) for b in ranged] == [4, 4, 4]


def test_default_batch_sizes() -> None:
    assert {len(b) for b in BatchProcessor("sequential").process_stream(range(64))} == {
        DEFAULT_STREAM_BATCH_SIZE
    }
    batches = list(BatchProcessor("sequential").process_range(0, DEFAULT_RANGE_BATCH_SIZE + 1))
    assert [len(b) for b in batches] == [DEFAULT_RANGE_BATCH_SIZE, 1]


def test_default_sizes_respect_the_bounds() -> None:
    assert {
        len(b) for b in processor("sequential", min_batch_size=50).process_stream(range(100))
    } == {50}
    ranged = processor("round_robin", max_batch_size=100, num_lanes=2).process_range(0, 400)
    assert {len(b) for b in ranged} == {100}


def test_dict_records_stream_like_v02() -> None:
    records = ({"sample_id": i, "param": f"value_{i}"} for i in range(10))
    config = BatchConfig(strategy=BatchStrategy.SEQUENTIAL, batch_size=3)
    batches = list(BatchProcessor(BatchStrategy.SEQUENTIAL, config).process_stream(records))
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert batches[0][0] == {"sample_id": 0, "param": "value_0"}


def test_stream_reads_lazily() -> None:
    pulled: list[int] = []

    def source() -> Iterator[int]:
        for i in range(100):
            pulled.append(i)
            yield i

    batches = processor("sequential", batch_size=10).process_stream(source())
    assert pulled == []  # nothing read before the first batch is asked for
    next(batches)
    assert len(pulled) == 10


def test_memory_optimized_reuses_its_column_buffers() -> None:
    proc = processor("memory_optimized", batch_size=1000, min_batch_size=1000, max_batch_size=1000)
    seen = []
    for batch in proc.process_range(0, 3000):
        # Valid until the next batch is asked for: equal to a fresh batch now...
        assert batch.equals(generate_batch(batch.sample_id.copy()))
        seen.append(batch)
    # ...and written over afterwards: all three share one set of buffers.
    assert np.shares_memory(seen[0].rotation, seen[2].rotation)
    assert np.shares_memory(seen[0].hash, seen[1].hash)
    assert seen[0].sample_id.tolist() == list(range(2000, 3000))


# --------------------------------------------------------------------------- round robin


def check_round_robin(batches: list[list[int]], n: int, lanes: int, size: int) -> None:
    """Batch b belongs to lane b % lanes; a lane's batches hold its items in order."""
    per_lane: list[list[int]] = [[] for _ in range(lanes)]
    for b, batch in enumerate(batches):
        assert 0 < len(batch) <= size
        lane = b % lanes
        assert all(item % lanes == lane for item in batch), (b, batch)
        per_lane[lane].extend(batch)
    for lane in range(lanes):
        assert per_lane[lane] == list(range(lane, n, lanes))
    counts = [len(items) for items in per_lane]
    assert max(counts) - min(counts) <= (1 if n else 0)  # balanced to within one item


@settings(max_examples=200)
@given(
    n=st.integers(0, 300),
    lanes=st.integers(1, 9),
    size=st.integers(1, 12),
)
def test_round_robin_stream_deals_items_to_lanes_in_turn(n: int, lanes: int, size: int) -> None:
    config = BatchConfig("round_robin", batch_size=size, num_lanes=lanes)
    batches = list(BatchProcessor("round_robin", config).process_stream(range(n)))
    check_round_robin(batches, n, lanes, size)


@settings(max_examples=40)
@given(n=st.integers(0, 200), lanes=st.integers(1, 6), size=st.integers(1, 10))
def test_round_robin_range_deals_ids_to_lanes_in_turn(n: int, lanes: int, size: int) -> None:
    config = BatchConfig("round_robin", batch_size=size, num_lanes=lanes)
    batches = BatchProcessor("round_robin", config).process_range(0, n)
    check_round_robin([b.sample_id.tolist() for b in batches], n, lanes, size)


def test_round_robin_example_in_full() -> None:
    config = BatchConfig("round_robin", batch_size=2, num_lanes=3)
    batches = list(BatchProcessor("round_robin", config).process_stream(range(10)))
    assert batches == [[0, 3], [1, 4], [2, 5], [6, 9], [7], [8]]


def test_round_robin_lanes_carry_their_values() -> None:
    config = BatchConfig("round_robin", batch_size=5, num_lanes=4)
    for batch in BatchProcessor("round_robin", config).process_range(100, 160):
        assert batch.equals(generate_batch(batch.sample_id.tolist()))


def test_round_robin_with_one_lane_is_sequential() -> None:
    config = BatchConfig("round_robin", batch_size=4)
    assert list(BatchProcessor("round_robin", config).process_stream(range(10))) == [
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [8, 9],
    ]


# --------------------------------------------------------------------------- key schemes


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_rank_aware_keys(strategy: BatchStrategy) -> None:
    fields: dict[str, Any] = {"batch_size": 16}
    if strategy is BatchStrategy.ROUND_ROBIN:
        fields["num_lanes"] = 2
    config = AugmentationConfig(augmentation_depth=3)
    batches = processor(strategy, **fields).process_range(
        10, 90, config, rank=1, world_size=4, base_seed=42
    )
    merged = ParamBatch.concat(list(batches))
    order = np.argsort(merged.sample_id, kind="stable")
    merged = ParamBatch(**{k: v[order] for k, v in merged.columns().items()})
    expected = ParamBatch.concat(
        list(iter_batches(10, 90, config, 1000, scheme=dpa.RankAwareScheme(42, 1, 2)))
    )
    assert merged.equals(expected)
    assert merged.sample_id.tolist() == list(range(10, 90))
    assert not np.array_equal(merged.rotation, generate_batch(range(10, 90), config).rotation)


def test_rank_aware_keys_differ_by_rank_and_seed() -> None:
    def first(rank: int, seed: int) -> float:
        batches = BatchProcessor("sequential").process_range(
            0, 1, rank=rank, world_size=2, base_seed=seed
        )
        return float(next(batches).rotation[0])

    assert len({first(0, 0), first(1, 0), first(0, 1)}) == 3


def test_process_range_in_elastic_mode() -> None:
    from dpa import generate_elastic_batch

    for strategy in ("sequential", "memory_optimized", "adaptive"):
        proc = processor(strategy, batch_size=300)
        got = [r for b in proc.process_range(5, 1005, base_seed=3, epoch=2) for r in b.to_dicts()]
        assert got == generate_elastic_batch(range(5, 1005), None, 3, 2).to_dicts()
    with pytest.raises(ValueError, match="not both"):
        processor("sequential").process_range(0, 5, rank=0, world_size=1, epoch=1)


def test_python_backend_and_workers_give_the_same_batches() -> None:
    config = BatchConfig("sequential", batch_size=5000)
    native = list(BatchProcessor("sequential", config).process_range(0, 9000, workers=2))
    python = list(BatchProcessor("sequential", config).process_range(0, 300, backend="python"))
    assert ParamBatch.concat(native)[:300].equals(python[0])


def test_process_range_takes_a_scheme_object() -> None:
    scheme = dpa.ElasticScheme(3, 2)
    for strategy in ("sequential", "round_robin", "memory_optimized"):
        proc = processor(strategy, batch_size=100)
        ids = ids_of(proc.process_range(0, 250, scheme=scheme))
        assert sorted(ids) == list(range(250))
    got = ParamBatch.concat(list(processor("sequential").process_range(0, 250, scheme=scheme)))
    assert got.equals(ParamBatch.concat(list(iter_batches(0, 250, None, 1000, scheme=scheme))))
    for extra in ({"rank": 0, "world_size": 1}, {"epoch": 2}, {"base_seed": 3}):
        with pytest.raises(ValueError, match="give scheme= or rank/world_size/base_seed/epoch"):
            processor("sequential").process_range(0, 5, scheme=scheme, **extra)
    with pytest.raises(TypeError, match="KeyScheme"):
        processor("sequential").process_range(0, 5, scheme="elastic")  # type: ignore[arg-type]
