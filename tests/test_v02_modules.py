"""dpa.v02's other modules: ``batch`` (v0.2's settings and messages on dpa's
strategies), ``benchmark`` (v0.2's result shapes, without its sleeps, and a profiler
safe between threads), ``distributed``, and the batch and performance helpers of
``dpa.v02``."""

from __future__ import annotations

import threading
import time
from collections import namedtuple
from typing import Any
from unittest import mock

import pytest

import dpa
import dpa.v02 as v02
from dpa.v02 import batch, benchmark, distributed

SEQUENTIAL = batch.BatchStrategy.SEQUENTIAL
Machine = namedtuple("Machine", "total available used percent")


def _machine(percent: float) -> Machine:
    gib = 1024**3
    return Machine(
        total=16 * gib,
        available=int(16 * gib * (1 - percent / 100)),
        used=int(16 * gib * percent / 100),
        percent=percent,
    )


# --------------------------------------------------------------------------- batch


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"batch_size": 0}, "batch_size (0) must be positive"),
        (
            {"batch_size": 2, "min_batch_size": 5},
            "batch_size (2) cannot be less than min_batch_size (5)",
        ),
        ({"max_memory_mb": -100}, "max_memory_mb must be positive"),
        ({"min_batch_size": 0}, "min_batch_size must be positive"),
        ({"num_lanes": 0}, "num_lanes must be positive"),
    ],
)
def test_batch_config_messages(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(batch.InvalidBatchConfigError) as caught:
        batch.BatchConfig(SEQUENTIAL, **settings)
    assert str(caught.value) == message


def test_the_processor_takes_only_strategies() -> None:
    config = batch.BatchConfig(SEQUENTIAL, batch_size=5)
    with pytest.raises(
        batch.InvalidBatchConfigError, match="strategy must be a BatchStrategy enum"
    ):
        batch.BatchProcessor("sequential", config)  # type: ignore[arg-type]
    processor = batch.BatchProcessor(SEQUENTIAL, config)
    processor.strategy = "unknown"  # type: ignore[assignment]
    with pytest.raises(batch.BatchProcessingError, match="Unknown batch strategy"):
        list(processor.process_stream(iter(range(3))))


def test_round_robin_of_one_lane_gives_v02s_batches_and_lanes_deal() -> None:
    one = batch.BatchConfig(batch.BatchStrategy.ROUND_ROBIN, batch_size=4)
    processor = batch.BatchProcessor(batch.BatchStrategy.ROUND_ROBIN, one)
    assert list(processor.process_stream(iter(range(10)))) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    lanes = batch.BatchConfig(batch.BatchStrategy.ROUND_ROBIN, batch_size=2, num_lanes=2)
    dealt = list(
        batch.BatchProcessor(batch.BatchStrategy.ROUND_ROBIN, lanes).process_stream(range(8))
    )
    assert dealt == [[0, 2], [1, 3], [4, 6], [5, 7]]


def test_adaptive_batches_keep_their_times() -> None:
    config = batch.BatchConfig(batch.BatchStrategy.ADAPTIVE, batch_size=5)
    processor = batch.BatchProcessor(batch.BatchStrategy.ADAPTIVE, config)
    for _ in range(30):
        items = sum(len(b) for b in processor.process_stream(iter(range(40))))
        assert items == 40
    history = processor._performance_history
    assert 0 < len(history) <= 20
    for entry in history:
        assert entry["batch_size"] > 0 and entry["processing_time"] >= 0
        assert entry["time_per_item"] == entry["processing_time"] / entry["batch_size"]


def test_memory_monitoring_reads_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    config = batch.BatchConfig(SEQUENTIAL, batch_size=3)
    processor = batch.BatchProcessor(SEQUENTIAL, config)
    monkeypatch.setattr(batch, "machine_memory", lambda: _machine(95.0))
    with pytest.raises(
        batch.MemoryLimitExceededError, match=r"Memory usage \(95%\) is critically high"
    ):
        list(processor.process_with_memory_monitoring(iter(range(10))))
    monkeypatch.setattr(batch, "machine_memory", lambda: _machine(85.0))
    batches = list(processor.process_with_memory_monitoring(iter(range(10))))
    assert [len(b) for b in batches] == [2] * 5  # 3 * 0.8: smaller batches from the start
    assert processor._current_batch_size == 1  # and smaller still for the next stream


def test_memory_info_and_monitor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "machine_memory", lambda: _machine(25.0))
    info = batch.MemoryInfo.current()
    assert (info.total_mb, info.used_mb, info.available_mb, info.percent_used) == (
        16384,
        4096,
        12288,
        25.0,
    )
    with batch.memory_monitor(max_memory_mb=5000) as start:
        assert start == info
    too_much = r"\(4096MB\) exceeded limit \(4000MB\)"
    with pytest.raises(batch.MemoryLimitExceededError, match=too_much), batch.memory_monitor(4000):
        pass
    with pytest.raises(KeyError), batch.memory_monitor(max_memory_mb=4000):
        raise KeyError("the block's own error goes through")


def test_memory_aware_batcher(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "machine_memory", lambda: _machine(25.0))
    batcher = batch.MemoryAwareBatcher(max_memory_mb=500, min_batch_size=2)
    assert batcher.calculate_optimal_batch_size(1024 * 1024) == 500
    assert batcher.calculate_optimal_batch_size(0) == 2
    assert batcher.adjust_batch_size(100, {"percent_used": 85, "available_mb": 100}) == 80
    assert batcher.adjust_batch_size(100, {"percent_used": 30, "available_mb": 1200}) == 120
    assert batcher.adjust_batch_size(100, {"percent_used": 60, "available_mb": 250}) == 50
    assert batcher.monitor_memory_usage()["percent_used"] == 25


def test_batch_metrics_and_safe_division() -> None:
    metrics = batch.BatchMetrics(10, 32.5, 256.0, 5.2, 62.5)
    assert metrics.total_samples == 325
    assert batch.safe_division(1.0, 0.0) == 0.0 and benchmark.safe_division(6.0, 3.0) == 2.0


def test_batched_helpers_of_the_main_module() -> None:
    records = v02.generate_augmentation_chain(100)
    settings = batch.BatchConfig(SEQUENTIAL, batch_size=30)
    batches = list(v02.stream_augmentation_chain_batched(100, settings))
    assert [len(b) for b in batches] == [30, 30, 30, 10]
    assert [p for b in batches for p in b] == records
    assert [
        p for b in v02.stream_augmentation_range_batched(40, 100, settings) for p in b
    ] == records[40:]
    assert list(v02.process_augmentation_batches(iter(records), settings, len)) == [30, 30, 30, 10]
    assert v02.get_batch_metrics(iter(records), settings).total_batches == 4
    limited = list(v02.stream_augmentation_chain_with_memory_limit(100, max_memory_mb=10))
    assert [p for b in limited for p in b] == records
    converted = v02.convert_stream_to_batches(iter(records), "round_robin", batch_size=40)
    assert [len(b) for b in converted] == [40, 40, 20]
    with pytest.raises(ValueError, match="Invalid batch_strategy: fast"):
        list(v02.convert_stream_to_batches(iter(records), "fast"))
    metrics = v02.get_batch_processing_metrics(96)
    assert sorted(metrics) == ["adaptive", "memory_optimized", "round_robin", "sequential"]
    assert metrics["sequential"].total_batches == 3  # the stream's batches, counted once


# --------------------------------------------------------------------------- benchmark


def test_measurements_are_v02s_dicts() -> None:
    with benchmark.measure_time() as timer, benchmark.measure_memory() as memory:
        time.sleep(0.01)
    assert sorted(timer) == ["cpu_seconds", "elapsed_seconds", "end_time", "start_time"]
    assert timer["elapsed_seconds"] >= 0.01
    for key in ("rss_mb", "vms_mb", "system_available_mb", "system_used_mb"):
        assert memory[f"initial_{key}"] > 0 and f"final_{key}" in memory
    assert memory["delta_mb"] == memory["delta_rss_mb"]


def test_benchmark_function_and_results() -> None:
    result = benchmark.benchmark_function(lambda: sum(range(100)), iterations=5)
    assert result.iterations == 5 and result.min_time_seconds <= result.max_time_seconds
    assert 0 <= result.cpu_usage_percent <= 100
    with pytest.raises(benchmark.MeasurementError, match="Function failed during benchmarking"):
        benchmark.benchmark_function(lambda: 1 / 0, iterations=2)
    with pytest.raises(ValueError, match="iterations must be positive"):
        benchmark.benchmark_function(lambda: None, iterations=0)


def test_the_profiler_is_safe_between_threads() -> None:
    profiler = benchmark.PerformanceProfiler(enable_memory_tracking=False)

    def work(index: int) -> None:
        for _ in range(50):
            with profiler.profile_context(f"op{index}"):
                pass

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    summary = profiler.get_profile_summary()
    assert {name: result.call_count for name, result in summary.items()} == {
        f"op{i}": 50 for i in range(4)
    }


def test_the_runner_measures_what_dpa_v02_holds_now() -> None:
    runner = benchmark.BenchmarkRunner(benchmark.BenchmarkConfig(iterations=2, warmup_iterations=0))
    replaced = mock.patch("dpa.v02.gen_augmentation_params", side_effect=RuntimeError("replaced"))
    with replaced, pytest.raises(benchmark.MeasurementError, match="replaced"):
        runner.benchmark_generation(num_samples=3)
    metrics = runner.benchmark_batch_processing(50)
    assert metrics.throughput_samples_per_second > 0 and metrics.total_time_seconds > 0


def test_comparisons_and_reports() -> None:
    runner = benchmark.BenchmarkRunner(benchmark.BenchmarkConfig(iterations=2, warmup_iterations=1))
    with pytest.raises(benchmark.MeasurementError, match="missing required key 'type'"):
        runner.compare_configurations([{"name": "a", "num_samples": 5}])
    report = runner.compare_configurations(
        [
            {"name": "base", "type": "generation", "num_samples": 20},
            {"name": "stream", "type": "streaming", "num_samples": 20, "chunk_size": 5},
        ]
    )
    assert report.comparison_configs == ["stream"] and len(runner.get_results_history()) == 2
    assert "Throughput Change:" in runner.generate_performance_report(report, "text")
    assert "## Performance Comparison" in runner.generate_performance_report(report, "markdown")
    assert '"baseline_config": "base"' in runner.generate_performance_report(report, "json")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: benchmark.BenchmarkConfig(iterations=0), "iterations must be positive"),
        (lambda: benchmark.BenchmarkConfig(output_format="xml"), "output_format must be 'json'"),
        (
            lambda: benchmark.PerformanceMetrics(1, 1, 1, 150, 1),
            "cpu_usage_percent must be between",
        ),
        (lambda: benchmark.ProfileResult("x", 1, -1, 1, 0), "call_count must be non-negative"),
    ],
)
def test_benchmark_records_check_their_values(make: Any, message: str) -> None:
    with pytest.raises((ValueError, benchmark.InvalidBenchmarkConfigError), match=message):
        make()


def test_performance_helpers_of_the_main_module() -> None:
    results = v02.benchmark_augmentation_performance(50, iterations=2)
    assert sorted(results) == ["batch_processing", "generation", "streaming", "system_info"]
    assert results["batch_processing"]["best_strategy"] in ("sequential", "memory_optimized")
    advice = v02.get_performance_recommendations(results, target_throughput=1e12)
    assert advice[0].startswith("Current throughput")

    @v02.profile_augmentation_generation(operation_name="chain")
    def chain() -> int:
        return len(v02.generate_augmentation_chain(3))

    assert chain() == 3 and chain.get_profile_results()[0].operation_name == "chain"  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- distributed


def test_the_classes_are_dpas() -> None:
    assert issubclass(distributed.RankAwareSeedGenerator, dpa.RankAwareSeedGenerator)
    assert issubclass(distributed.DistributedRangeSplitter, dpa.DistributedRangeSplitter)
    splitter = distributed.DistributedRangeSplitter(10, 3)
    assert splitter.get_all_ranges() is not splitter.get_all_ranges()
    assert [r.size for r in splitter.get_all_rank_ranges()] == [4, 3, 3]
    assert splitter.get_rank_for_sample(9) == 2


def test_verbose_rank_streams_say_what_they_do(capsys: pytest.CaptureFixture[str]) -> None:
    list(distributed.stream_distributed_augmentation_chain(4, 4, 5, verbose=True))
    assert capsys.readouterr().out.splitlines() == [
        "Rank 4/5: processing samples 0--1 (0 samples)",
        "Rank 4: no samples to process (empty range)",
    ]
    list(distributed.stream_distributed_augmentation_chain(2, 0, 1, verbose=True, chunk_size=1))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Rank 0/1: processing samples 0-1 (2 samples)"
    assert lines[1].startswith("Rank 0 Sample(0) -> rotation=")
    assert lines[-1] == "Rank 0: completed processing 2 samples"
