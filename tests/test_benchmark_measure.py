"""dpa.benchmark.measure, .profiler and .processes: the timer on fake clocks, memory
blocks that nest, the profiler under threads, and timed calls in worker processes.
No test asserts a wall-clock figure."""

from __future__ import annotations

import gc
import json
import math
import threading

import numpy as np
import pytest

from benchmark_fakes import FakeClock
from dpa.benchmark import PerformanceProfiler, get_system_info, measure_memory, measure_time
from dpa.benchmark.measure import paused_gc, time_call
from dpa.benchmark.processes import WorkerPool


def test_measure_time_on_fake_clocks() -> None:
    clock, cpu = FakeClock(), FakeClock()
    with measure_time(clock, cpu) as timing:
        clock.advance(2.0)
        cpu.advance(3.0)  # two threads busy part of the time
    assert timing.wall_seconds == 2.0 and timing.cpu_seconds == 3.0
    assert timing.cpu_percent == pytest.approx(150.0)


def test_time_call_and_paused_gc() -> None:
    clock = FakeClock(7.0)

    def work() -> str:
        clock.advance(2.0)
        return "done"

    timing, value = time_call(work, clock=clock, cpu_clock=FakeClock())
    assert value == "done"
    assert (timing.started, timing.wall_seconds, timing.ended) == (7.0, 2.0, 9.0)
    was_enabled = gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled() == was_enabled
    with paused_gc(False):
        assert gc.isenabled() == was_enabled


def test_measure_memory_nests() -> None:
    with measure_memory() as outer:
        with measure_memory() as inner:
            small = np.ones(1 << 17)  # 1 MiB
        del small
        big = np.ones(1 << 20)  # 8 MiB
        del big
    assert 0.9 <= inner.traced_peak_mb < 4
    assert outer.traced_peak_mb >= 7.9
    assert outer.rss_start_mb is not None and outer.rss_delta_mb is not None


def test_system_info_is_json() -> None:
    info = get_system_info()
    json.dumps(info)
    assert info["usable_cpus"] >= 1


def test_the_profilers_old_path_warns() -> None:
    from dpa.benchmark import measure

    with pytest.warns(DeprecationWarning, match=r"import it from dpa\.benchmark"):
        assert measure.PerformanceProfiler is PerformanceProfiler
    with pytest.raises(AttributeError):
        _ = measure.no_such_name


def test_profiler_counts_are_exact_under_8_threads() -> None:
    profiler = PerformanceProfiler()

    @profiler.profile_function
    def leaf(n: int) -> int:
        return n + 1

    @profiler.profile_function(name="recursive")
    def recursive(depth: int) -> int:
        return 0 if depth == 0 else 1 + recursive(depth - 1)

    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            for i in range(500):
                with profiler.profile_context("block"):
                    leaf(i)
                    token = profiler.start("manual")
                    profiler.end("manual", token)
                recursive(3)  # 4 nested calls of one name
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    summary = profiler.get_profile_summary()
    counts = {name: result.count for name, result in summary.items()}
    assert counts == {"block": 4000, "leaf": 4000, "manual": 4000, "recursive": 16000}
    assert profiler.open_timings() == 0
    block = summary["block"]
    assert block.min_seconds <= block.mean_seconds <= block.max_seconds
    assert block.total_seconds == pytest.approx(block.mean_seconds * 4000)
    profiler.reset()
    assert profiler.get_profile_summary() == {}


def test_profiler_on_a_fake_clock() -> None:
    clock, cpu = FakeClock(), FakeClock()
    profiler = PerformanceProfiler(clock=clock, cpu_clock=cpu)
    for seconds in (1.0, 3.0):
        profiler.start("step")
        clock.advance(seconds)
        cpu.advance(seconds / 4)
        assert profiler.end("step") == seconds
    # nested timings of one name end innermost first
    profiler.start("outer")
    clock.advance(1.0)
    profiler.start("outer")
    clock.advance(2.0)
    assert profiler.end("outer") == 2.0
    assert profiler.end("outer") == 3.0
    step = profiler.get_profile_summary()["step"]
    assert (step.count, step.total_seconds, step.min_seconds, step.max_seconds) == (2, 4, 1, 3)
    assert step.stdev_seconds == pytest.approx(math.sqrt(2))
    assert step.cpu_seconds == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no open profile timing"):
        profiler.end("never started")
    with profiler.profile_context("raises"), pytest.raises(KeyError):
        raise KeyError("x")
    assert profiler.get_profile_summary()["raises"].count == 1


def test_profiler_token_can_end_in_another_thread() -> None:
    profiler = PerformanceProfiler()
    token = profiler.start("handoff")
    ended: list[float] = []
    thread = threading.Thread(target=lambda: ended.append(profiler.end("handoff", token)))
    thread.start()
    thread.join()
    assert len(ended) == 1 and profiler.get_profile_summary()["handoff"].count == 1
    assert profiler.get_profile_summary()["handoff"].cpu_seconds == 0.0  # other thread


def test_worker_pool_times_calls_and_reports_failures() -> None:
    with WorkerPool(2) as pool:
        done = pool.round([(abs, (-3,)), (max, (1, 5))])
        assert [r.value for r in done.replies] == [3, 5]
        assert all(r.timing.wall_seconds >= 0 for r in done.replies)
        assert done.wall_seconds >= 0 and done.span_seconds >= 0
        with pytest.raises(RuntimeError, match="ValueError"):
            pool.round([(int, ("not a number",)), (abs, (-1,))])
        assert pool.round([(abs, (-2,))]).replies[0].value == 2  # still answering
        with pytest.raises(ValueError, match="3 calls for 2"):
            pool.round([(abs, (1,))] * 3)
