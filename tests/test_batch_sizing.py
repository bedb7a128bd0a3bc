"""dpa._batch._sizing: the sizes the memory-optimized and adaptive strategies choose, from
measured bytes per item, this process's growth and the time per batch. Timing and memory
are driven by fake clocks and fake RSS readings wherever the outcome would otherwise
depend on the machine."""

from __future__ import annotations

import logging
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from typing import Any

import numpy as np
import psutil
import pytest

import dpa
from batch_helpers import MIB, SAMPLE_BYTES, FakeClock, FakeRSS, flatten, ids_of, processor
from dpa import BatchConfig, BatchProcessor

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
    from dpa._batch._footprint import item_bytes

    per_item = item_bytes(records[0])
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
