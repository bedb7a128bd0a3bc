"""dpa._batch._memory: this process's memory, read (MemoryInfo) and watched (MemoryMonitor,
memory_monitor), on fake RSS readings and on real memory."""

from __future__ import annotations

import time

import numpy as np
import pytest

from batch_helpers import MIB, FakeRSS
from dpa import (
    InvalidBatchConfigError,
    MemoryInfo,
    MemoryLimitExceededError,
    MemoryMonitor,
    memory_monitor,
)
from dpa._batch import get_memory_usage

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
