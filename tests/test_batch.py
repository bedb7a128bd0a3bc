"""dpa._batch: the four strategies, memory-aware sizing, adaptive feedback, metrics,
and the CLI's batch sizing. Timing and memory are driven by fake clocks and fake RSS
readings wherever the outcome would otherwise depend on the machine."""

from __future__ import annotations

import dataclasses
import logging
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dpa
import dpa._io
from dpa import (
    AugmentationConfig,
    BatchConfig,
    BatchMetrics,
    BatchProcessor,
    BatchStrategy,
    InvalidBatchConfigError,
    MemoryAwareBatcher,
    MemoryInfo,
    MemoryLimitExceededError,
    MemoryMonitor,
    ParamBatch,
    generate_batch,
    iter_batches,
    memory_monitor,
)
from dpa._batch import (
    DEFAULT_RANGE_BATCH_SIZE,
    DEFAULT_STREAM_BATCH_SIZE,
    batch_nbytes,
    get_memory_usage,
)
from dpa._cli import main

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


def config_for(strategy: BatchStrategy | str, **fields: Any) -> BatchConfig:
    return BatchConfig(strategy, **fields)


def processor(strategy: BatchStrategy | str, **kwargs: Any) -> BatchProcessor:
    """A processor of ``strategy`` with config fields and processor options mixed."""
    options = {k: kwargs.pop(k) for k in ("clock", "rss") if k in kwargs}
    return BatchProcessor(strategy, BatchConfig(strategy, **kwargs), **options)


def flatten(batches: Iterable[Any]) -> list[Any]:
    return [item for batch in batches for item in batch]


def ids_of(batches: Iterable[ParamBatch]) -> list[int]:
    return [i for batch in batches for i in batch.sample_id.tolist()]


# --------------------------------------------------------------------------- BatchStrategy


def test_strategy_values() -> None:
    assert [s.value for s in BatchStrategy] == [
        "sequential",
        "round_robin",
        "memory_optimized",
        "adaptive",
    ]
    assert BatchStrategy.ROUND_ROBIN == "round_robin"


@pytest.mark.parametrize("name", ["round_robin", "ROUND_ROBIN", "Round_Robin"])
def test_strategy_strings_are_accepted(name: str) -> None:
    assert BatchConfig(name).strategy is BatchStrategy.ROUND_ROBIN
    assert BatchProcessor(name).strategy is BatchStrategy.ROUND_ROBIN


def test_unknown_strategy_names_the_choices() -> None:
    with pytest.raises(InvalidBatchConfigError, match=r"'fastest'.*sequential, round_robin"):
        BatchConfig("fastest")
    with pytest.raises(InvalidBatchConfigError, match="unknown batch strategy"):
        BatchProcessor("invalid_strategy")


@pytest.mark.parametrize("value", [3, None, b"sequential", ["sequential"]])
def test_strategy_of_the_wrong_type(value: Any) -> None:
    with pytest.raises(TypeError, match="strategy must be"):
        BatchConfig(value)


# --------------------------------------------------------------------------- BatchConfig


def test_config_defaults_and_v02_fields() -> None:
    config = BatchConfig(
        strategy=BatchStrategy.SEQUENTIAL, batch_size=32, max_memory_mb=1000, min_batch_size=1
    )
    assert config.strategy == BatchStrategy.SEQUENTIAL
    assert (config.batch_size, config.max_memory_mb, config.min_batch_size) == (32, 1000, 1)
    assert (config.max_batch_size, config.num_lanes, config.target_batch_ms) == (None, 1, None)
    assert BatchConfig("sequential").batch_size is None


def test_config_is_frozen_and_replaceable() -> None:
    config = BatchConfig("sequential", batch_size=4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.batch_size = 5  # type: ignore[misc]
    assert dataclasses.replace(config, batch_size=8).batch_size == 8
    assert config == BatchConfig("sequential", batch_size=4)
    assert hash(config) == hash(BatchConfig("sequential", batch_size=4))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"batch_size": 0}, r"batch_size \(0\) must be positive"),
        ({"batch_size": -5}, r"batch_size \(-5\) must be positive"),
        ({"batch_size": 2, "min_batch_size": 5}, r"batch_size \(2\) cannot be less than min_"),
        ({"batch_size": 20, "max_batch_size": 10}, r"batch_size \(20\) cannot be more than max_"),
        ({"min_batch_size": 0}, r"min_batch_size \(0\) must be positive"),
        ({"max_batch_size": 0}, r"max_batch_size \(0\) must be positive"),
        ({"min_batch_size": 8, "max_batch_size": 4}, r"max_batch_size \(4\) cannot be less"),
        ({"max_memory_mb": -100}, "max_memory_mb must be a positive number"),
        ({"max_memory_mb": 0}, "max_memory_mb must be a positive number"),
        ({"max_memory_mb": float("nan")}, "max_memory_mb must be a positive number"),
        ({"max_memory_mb": float("inf")}, "max_memory_mb must be a positive number"),
        ({"max_memory_mb": 10**400}, "max_memory_mb must be a positive number"),
        ({"num_lanes": 4}, "num_lanes=4 applies to the round_robin strategy only"),
        ({"target_batch_ms": 50}, "target_batch_ms=50 applies to the adaptive strategy only"),
    ],
)
def test_invalid_config_values(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidBatchConfigError, match=message) as raised:
        BatchConfig("sequential", **fields)
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize(
    ("strategy", "fields", "message"),
    [
        ("round_robin", {"num_lanes": 0}, r"num_lanes \(0\) must be positive"),
        ("adaptive", {"target_batch_ms": 0}, "target_batch_ms must be a positive number"),
        ("adaptive", {"target_batch_ms": -1.5}, "target_batch_ms must be a positive number"),
    ],
)
def test_invalid_strategy_settings(strategy: str, fields: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidBatchConfigError, match=message):
        BatchConfig(strategy, **fields)


@pytest.mark.parametrize(
    "fields",
    [
        {"batch_size": 2.0},
        {"batch_size": "32"},
        {"batch_size": True},
        {"min_batch_size": None},
        {"max_memory_mb": "1000"},
        {"max_memory_mb": True},
        {"max_batch_size": 1.5},
    ],
)
def test_config_values_of_the_wrong_type(fields: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match=next(iter(fields))):
        BatchConfig("sequential", **fields)


def test_config_accepts_numpy_ints_and_float_memory() -> None:
    config = BatchConfig("round_robin", batch_size=np.int64(8), num_lanes=np.int32(2))
    assert (config.batch_size, config.num_lanes) == (8, 2)
    assert type(config.batch_size) is int
    assert BatchConfig("adaptive", max_memory_mb=0.5, target_batch_ms=2.5).max_memory_mb == 0.5


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


# --------------------------------------------------------------------------- rank-aware keys


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


def test_python_backend_and_workers_give_the_same_batches() -> None:
    config = BatchConfig("sequential", batch_size=5000)
    native = list(BatchProcessor("sequential", config).process_range(0, 9000, workers=2))
    python = list(BatchProcessor("sequential", config).process_range(0, 300, backend="python"))
    assert ParamBatch.concat(native)[:300].equals(python[0])


# --------------------------------------------------------------------------- memory-optimized


def test_memory_optimized_sizes_from_measured_bytes_per_item() -> None:
    # 10 MiB, a fifth held back: 8 MiB for two batches of 112-byte samples.
    cap = (8 * MIB) // (2 * SAMPLE_BYTES)
    proc = processor("memory_optimized", max_memory_mb=10, rss=FakeRSS())
    sizes = [len(b) for b in proc.process_range(0, 200_000)]
    assert sizes == [4096, 16384, cap, cap, cap, cap, 200_000 - 20480 - 4 * cap]
    assert proc.metrics.batch_size_runs == tuple(
        (s, c) for s, c in [(4096, 1), (16384, 1), (cap, 4), (sizes[-1], 1)]
    )


def test_memory_optimized_counts_what_else_the_process_grew() -> None:
    rss = FakeRSS()
    proc = processor("memory_optimized", max_memory_mb=10, min_batch_size=100, rss=rss)
    sizes = []
    batches = proc.process_range(0, 400_000)
    for batch in batches:
        sizes.append(len(batch))
        if len(sizes) == 5:
            rss.value += 20 * MIB  # the consumer holds 20 MiB: past the whole budget
        if len(sizes) == 12:
            rss.value -= 20 * MIB  # and lets it go
    cap = (8 * MIB) // (2 * SAMPLE_BYTES)
    # Each size is chosen when the batch before it is made, from the growth then.
    assert sizes[:6] == [4096, 16384, cap, cap, cap, cap]
    assert sizes[6:13] == [100] * 7  # the budget is gone: the smallest batches
    assert sizes[13:17] == [400, 1600, 6400, 25600]  # back, 4 times a batch at most
    assert max(sizes) == cap
    assert sum(sizes) == 400_000


def test_memory_optimized_warns_once_when_past_the_budget_at_the_smallest_size(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rss = FakeRSS()
    proc = processor("memory_optimized", max_memory_mb=1, min_batch_size=10, rss=rss)
    with caplog.at_level(logging.WARNING, logger="dpa._batch"):
        for batch in proc.process_range(0, 50_000):
            rss.value = 100 * MIB + 2 * MIB  # the consumer holds 2 MiB from now on
            assert len(batch) > 0
    warnings = [r for r in caplog.records if "past max_memory_mb" in r.getMessage()]
    assert len(warnings) == 1


def test_memory_optimized_never_asks_about_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    def machine() -> Any:
        raise AssertionError("sized from the machine's memory")

    monkeypatch.setattr(psutil, "virtual_memory", machine)
    for strategy in ("memory_optimized", "adaptive"):
        proc = processor(strategy, max_memory_mb=4)
        assert ids_of(proc.process_range(0, 50_000)) == list(range(50_000))
        assert sum(len(b) for b in processor(strategy).process_stream(range(5000))) == 5000


def test_memory_optimized_respects_min_and_max_batch_size() -> None:
    proc = processor("memory_optimized", max_batch_size=5000, rss=FakeRSS())
    sizes = [len(b) for b in proc.process_range(0, 60_000)]
    assert max(sizes) == 5000 and sum(sizes) == 60_000
    proc = processor(
        "memory_optimized", max_memory_mb=0.01, batch_size=300, min_batch_size=300, rss=FakeRSS()
    )
    sizes = [len(b) for b in proc.process_range(0, 3000)]
    assert sizes == [300] * 10  # the budget fits fewer, but not below the minimum


def test_memory_optimized_stream_measures_its_items() -> None:
    records = list(dpa.stream_augmentation_range(0, 60_000))
    from dpa._batch._footprint import item_bytes as _item_bytes

    per_item = _item_bytes(records[0])
    assert per_item > 300  # a dict, five floats, a str, an int, a list slot: measured
    cap = (8 * MIB) // (2 * per_item)
    proc = processor("memory_optimized", max_memory_mb=10, rss=FakeRSS())
    batches = list(proc.process_stream(records))
    assert flatten(batches) == records
    assert [len(b) for b in batches[:4]] == [32, 128, 512, 2048]
    assert {len(b) for b in batches[1:-1]} <= {128, 512, 2048, 8192, cap}
    assert cap in {len(b) for b in batches}


@pytest.mark.slow
def test_memory_optimized_keeps_growth_under_50_mb_over_5m_samples() -> None:
    if dpa.backend() != "native":
        pytest.skip("5,000,000 samples take minutes on the python backend")
    # Memory allocated elsewhere on the machine (another process) changes nothing.
    hog_mb = 256
    hog = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import sys; block = b'x' * ({hog_mb} << 20); print('ready', flush=True); "
            "sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert hog.stdout is not None and hog.stdout.readline().strip() == "ready"
        assert psutil.Process(hog.pid).memory_info().rss > hog_mb * MIB * 0.9
        limit = 50
        config = BatchConfig("memory_optimized", max_memory_mb=limit)
        list(BatchProcessor("memory_optimized", config).process_range(0, 10_000))  # warm up
        rss = psutil.Process()
        proc = BatchProcessor("memory_optimized", config)
        tracemalloc.start()
        try:
            baseline = rss.memory_info().rss
            peak_rss = 0
            expected = 0
            for batch in proc.process_range(0, 5_000_000, workers=2):
                assert batch.sample_id[0] == expected  # every id once, in order
                expected += len(batch)
                assert batch.sample_id[-1] == expected - 1
                peak_rss = max(peak_rss, rss.memory_info().rss - baseline)
            _, peak_traced = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    finally:
        assert hog.stdin is not None
        hog.stdin.close()
        hog.wait(timeout=30)
    assert expected == 5_000_000
    assert peak_rss < limit * MIB, peak_rss / MIB
    assert peak_traced < limit * MIB, peak_traced / MIB
    metrics = proc.metrics
    assert metrics.total_samples == 5_000_000
    assert metrics.peak_memory_growth_mb < limit
    assert max(metrics.batch_sizes) > 100_000  # it used the room: not small batches


# --------------------------------------------------------------------------- adaptive


def run_adaptive(
    n: int,
    per_item: Any,
    *,
    stream: bool = True,
    **fields: Any,
) -> tuple[list[int], BatchProcessor]:
    """Sizes of an adaptive run whose consumer takes ``per_item(batch_index)`` seconds an item."""
    clock = FakeClock()
    fields.setdefault("target_batch_ms", 50)
    proc = processor("adaptive", clock=clock, rss=FakeRSS(), **fields)
    batches = proc.process_stream(range(n)) if stream else proc.process_range(0, n)
    sizes = []
    for index, batch in enumerate(batches):
        sizes.append(len(batch))
        clock.advance(per_item(index) * len(batch))  # the consumer's work
    return sizes, proc


@pytest.mark.parametrize("stream", [True, False])
def test_adaptive_converges_to_the_target(stream: bool) -> None:
    sizes, proc = run_adaptive(100_000, lambda _: 1e-4, stream=stream, batch_size=10)
    assert sizes[:4] == [10, 40, 160, 500]  # 50 ms at 0.1 ms an item: 500 items
    assert set(sizes[3:-1]) == {500}
    assert proc.metrics.processing_time_seconds == pytest.approx(10.0)  # 100,000 x 0.1 ms
    assert proc.metrics.throughput_samples_per_second == pytest.approx(10_000)


def test_adaptive_does_not_oscillate_with_a_noisy_consumer() -> None:
    rng = np.random.default_rng(7)
    jitter = rng.uniform(0.7, 1.3, size=10_000)
    sizes, _ = run_adaptive(300_000, lambda i: 1e-4 * jitter[i], batch_size=10)
    steady = sizes[8:-1]
    assert max(steady) / min(steady) <= 2
    assert 350 <= np.median(steady) <= 700


def test_adaptive_follows_a_change_of_speed() -> None:
    sizes, _ = run_adaptive(60_000, lambda i: 1e-4 if i < 30 else 4e-4, batch_size=500)
    assert set(sizes[:31]) == {500}
    assert sizes[31:34] == [200, 154, 138]  # the time per item is smoothed
    steady = set(sizes[34:-1])  # four times slower: a quarter of the size, within 10%
    assert len(steady) == 1 and abs(steady.pop() - 125) <= 0.1 * 138


def test_adaptive_counts_the_time_to_make_a_batch() -> None:
    clock = FakeClock()

    def slow_source() -> Iterator[int]:
        for i in range(40_000):
            clock.advance(1e-4)  # making an item takes 0.1 ms
            yield i

    proc = processor("adaptive", clock=clock, rss=FakeRSS(), target_batch_ms=60, batch_size=10)
    sizes = []
    for batch in proc.process_stream(slow_source()):
        sizes.append(len(batch))
        clock.advance(2e-4 * len(batch))  # consuming one 0.2 ms
    assert set(sizes[4:-1]) == {200}  # 60 ms / (0.1 + 0.2) ms


def test_adaptive_stays_within_its_bounds() -> None:
    fast, _ = run_adaptive(50_000, lambda _: 0.0, batch_size=10, max_batch_size=3000)
    assert max(fast) == 3000 and fast[:3] == [10, 40, 160]
    slow, _ = run_adaptive(2000, lambda _: 1.0, batch_size=64, min_batch_size=20)
    assert set(slow[1:-1]) == {20}
    # The memory bound: 1 MiB, a fifth held back, for two batches of 112-byte samples.
    capped, _ = run_adaptive(100_000, lambda _: 0.0, stream=False, max_memory_mb=1, batch_size=10)
    assert capped[:5] == [10, 40, 160, 640, 2560]
    assert max(capped) == (MIB * 4 // 5) // (2 * SAMPLE_BYTES)


def test_adaptive_default_target() -> None:
    sizes, _ = run_adaptive(20_000, lambda _: 1e-3, batch_size=10, target_batch_ms=None)
    assert set(sizes[3:-1]) == {100}  # 100 ms at 1 ms an item


# --------------------------------------------------------------------------- metrics


def test_metrics_of_a_run() -> None:
    clock = FakeClock()
    proc = processor("sequential", batch_size=4, clock=clock)
    assert proc.metrics == BatchMetrics(BatchStrategy.SEQUENTIAL)  # before any run
    for batch in proc.process_stream(range(10)):
        clock.advance(0.5 * len(batch))
    metrics = proc.metrics
    assert (metrics.total_batches, metrics.total_samples) == (3, 10)
    assert metrics.batch_sizes == [4, 4, 2]
    assert metrics.batch_size_runs == ((4, 2), (2, 1))
    assert metrics.avg_batch_size == pytest.approx(10 / 3)
    assert metrics.processing_time_seconds == 5.0
    assert metrics.throughput_samples_per_second == 2.0
    assert metrics.peak_memory_growth_mb >= 0
    assert metrics.memory_usage_mb == metrics.peak_memory_growth_mb


def test_metrics_while_running_and_after_an_early_stop() -> None:
    clock = FakeClock()
    proc = processor("sequential", batch_size=10, clock=clock)
    batches = proc.process_range(0, 1000)
    next(batches)
    clock.advance(2.0)
    assert proc.metrics.total_samples == 10
    assert proc.metrics.processing_time_seconds == 2.0
    batches.close()
    clock.advance(5.0)
    assert proc.metrics.processing_time_seconds == 2.0  # the run ended with close()
    assert proc.metrics.total_batches == 1


def test_metrics_record_memory_growth() -> None:
    rss = FakeRSS()
    proc = processor("memory_optimized", rss=rss)
    for _ in proc.process_range(0, 100_000):
        rss.value += 3 * MIB
    assert proc.metrics.peak_memory_growth_mb >= 3 * (proc.metrics.total_batches - 1)


def test_metrics_of_an_empty_run() -> None:
    proc = processor("round_robin", num_lanes=3)
    assert list(proc.process_stream([])) == []
    assert proc.metrics.total_batches == 0
    assert proc.metrics.avg_batch_size == 0.0
    assert proc.metrics.throughput_samples_per_second == 0.0


def test_metrics_count_samples_exactly() -> None:
    proc = processor("adaptive", rss=FakeRSS())
    assert sum(len(b) for b in proc.process_stream(range(12_345))) == 12_345
    metrics = proc.metrics
    assert metrics.total_samples == 12_345 == sum(metrics.batch_sizes)
    assert metrics.total_batches == len(metrics.batch_sizes)


def test_a_processor_runs_streams_from_several_threads() -> None:
    proc = processor("memory_optimized", max_memory_mb=64, batch_size=1000, min_batch_size=500)
    results: dict[int, list[int]] = {}

    def work(index: int) -> None:
        start = index * 20_000
        results[index] = ids_of(proc.process_range(start, start + 20_000))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index in range(4):
        assert results[index] == list(range(index * 20_000, (index + 1) * 20_000))
    assert proc.metrics.total_samples == 20_000


# --------------------------------------------------------------------------- memory tools


def test_memory_info() -> None:
    info = MemoryInfo.current()
    assert 0 < info.rss_mb < info.total_mb
    assert 0 < info.available_mb <= info.total_mb
    assert 0 <= info.percent_used <= 100
    assert info.used_mb == pytest.approx(info.total_mb - info.available_mb)
    assert get_memory_usage().total_mb == pytest.approx(info.total_mb)


def test_memory_monitor_follows_this_process() -> None:
    rss = FakeRSS(50 * MIB)
    monitor = MemoryMonitor(max_memory_mb=10, rss=rss)
    assert monitor.baseline_bytes == 50 * MIB
    rss.value += 4 * MIB
    assert monitor.check() == 4 * MIB
    rss.value -= 6 * MIB
    assert monitor.sample() == -2 * MIB
    assert monitor.peak_growth_bytes == 4 * MIB and monitor.peak_growth_mb == 4.0
    rss.value += 20 * MIB
    with pytest.raises(MemoryLimitExceededError, match=r"grew by 18\.0 MB, past its limit of 10"):
        monitor.check()
    monitor.reset()
    assert monitor.sample() == 0 and monitor.peak_growth_bytes == 0
    assert MemoryMonitor().info().rss_mb > 0


def test_memory_monitor_context_raises_when_this_process_grows_past_the_limit() -> None:
    rss = FakeRSS()
    with pytest.raises(MemoryLimitExceededError) as raised:  # noqa: SIM117
        with memory_monitor(max_memory_mb=100, interval_s=None, rss=rss):
            rss.value += 150 * MIB
    assert raised.value.growth_mb == 150 and raised.value.limit_mb == 100
    with memory_monitor(max_memory_mb=100, interval_s=None, rss=rss) as monitor:
        rss.value += 50 * MIB
    assert monitor.peak_growth_mb == 50


def test_memory_monitor_context_sees_a_peak_freed_before_the_end() -> None:
    readings = [100 * MIB, 300 * MIB]  # the baseline, then a peak the sampler sees

    def rss() -> int:
        return readings.pop(0) if readings else 100 * MIB

    with pytest.raises(MemoryLimitExceededError):  # noqa: SIM117
        with memory_monitor(max_memory_mb=100, interval_s=0.001, rss=rss):
            deadline = time.monotonic() + 30
            while readings and time.monotonic() < deadline:
                time.sleep(0.001)


def test_memory_monitor_context_lets_the_blocks_own_error_through() -> None:
    rss = FakeRSS()
    with pytest.raises(KeyError), memory_monitor(max_memory_mb=1, rss=rss):
        rss.value += 10 * MIB
        raise KeyError("from the block")


def test_memory_monitor_context_on_real_memory() -> None:
    with pytest.raises(MemoryLimitExceededError), memory_monitor(max_memory_mb=16):
        block = np.ones(64 * MIB, dtype=np.uint8)  # touched: resident
        assert block.sum() == 64 * MIB
    with pytest.raises(InvalidBatchConfigError, match="max_memory_mb"):  # noqa: SIM117
        with memory_monitor(max_memory_mb=0):
            pass


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


# --------------------------------------------------------------------------- the CLI


def test_cli_sizes_batches_through_dpa_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dpa._batch

    asked: list[float] = []
    real = dpa._batch.MemoryAwareBatcher.calculate_optimal_batch_size

    def spy(self: MemoryAwareBatcher, sample_size_bytes: float, **kwargs: Any) -> int:
        asked.append(sample_size_bytes)
        return real(self, sample_size_bytes, **kwargs)

    sizes: list[int] = []
    real_iter = dpa._io.iter_batches

    def recording(*args: Any, **kwargs: Any) -> Iterator[ParamBatch]:
        for batch in real_iter(*args, **kwargs):
            sizes.append(len(batch))
            yield batch

    monkeypatch.setattr(dpa._batch.MemoryAwareBatcher, "calculate_optimal_batch_size", spy)
    monkeypatch.setattr(dpa._io, "iter_batches", recording)
    target = tmp_path / "p.jsonl"
    assert main(["generate", "-n", "5000", "-o", str(target), "-q", "--max-memory-mb", "1"]) == 0
    assert len(asked) == 1 and asked[0] > 3 * SAMPLE_BYTES  # measured, text included
    assert sizes and max(sizes) <= MIB // asked[0] and sum(sizes) == 5000
    assert dpa.load_augmentation_chain(target) == generate_batch(range(5000)).to_dicts()

    asked.clear()
    sizes.clear()
    assert main(["generate", "-n", "500", "-o", str(target), "-q", "--batch-size", "128"]) == 0
    assert asked == [] and sizes == [128, 128, 128, 116]  # an explicit size wins


@pytest.mark.parametrize("value", ["0", "-3", "nan", "inf"])
def test_cli_rejects_a_bad_memory_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    code = main(["generate", "-n", "5", "-o", str(tmp_path / "x.json"), "--max-memory-mb", value])
    assert code == 2
    assert "--max-memory-mb" in capsys.readouterr().err


def test_cli_parquet_batches_are_larger_per_megabyte_than_text() -> None:
    from dpa._cli import _memory_batch_size

    config = AugmentationConfig()
    parquet = _memory_batch_size("parquet", config, 64)
    jsonl = _memory_batch_size("jsonl", config, 64)
    assert 1 <= jsonl < parquet <= 1 << 20
    assert _memory_batch_size("jsonl", config, 1e-6) == 1


def test_default_sizes_respect_the_bounds() -> None:
    assert {
        len(b) for b in processor("sequential", min_batch_size=50).process_stream(range(100))
    } == {50}
    ranged = processor("round_robin", max_batch_size=100, num_lanes=2).process_range(0, 400)
    assert {len(b) for b in ranged} == {100}


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


def test_process_range_in_elastic_mode() -> None:
    from dpa import generate_elastic_batch

    for strategy in ("sequential", "memory_optimized", "adaptive"):
        proc = processor(strategy, batch_size=300)
        got = [r for b in proc.process_range(5, 1005, base_seed=3, epoch=2) for r in b.to_dicts()]
        assert got == generate_elastic_batch(range(5, 1005), None, 3, 2).to_dicts()
    with pytest.raises(ValueError, match="not both"):
        processor("sequential").process_range(0, 5, rank=0, world_size=1, epoch=1)
