"""dpa._batch._metrics: what a run did (BatchMetrics), on a fake clock."""

from __future__ import annotations

import threading

import pytest

from batch_helpers import MIB, FakeClock, FakeRSS, ids_of, processor
from dpa import BatchMetrics, BatchStrategy

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
