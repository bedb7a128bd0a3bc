"""DPA v0.2's benchmark building blocks: result records, time and memory
measurements, a profiler, and :func:`benchmark_function`.

Kept from dpa rather than v0.2: CPU use is this process's CPU time over wall time
(as a share of the CPUs it may use), read from the clocks, where v0.2 slept 0.2 s
per measurement to sample the whole machine; the profiler is safe to share between
threads.

Example:
    >>> with measure_time() as timer:
    ...     _ = sum(range(1000))
    >>> timer["end_time"] >= timer["start_time"]
    True
"""

from __future__ import annotations

import functools
import json
import logging
import os
import platform
import statistics
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from .._system import usable_cpus
from ._errors import InvalidBenchmarkConfigError, MeasurementError, ProfilingError
from ._memory import MIB, machine_memory, process_memory

__all__ = [
    "BenchmarkConfig",
    "BenchmarkResult",
    "ComparisonReport",
    "PerformanceMetrics",
    "PerformanceProfiler",
    "ProfileResult",
    "benchmark_function",
    "cpu_percent",
    "format_benchmark_result",
    "get_system_info",
    "measure_memory",
    "measure_time",
    "safe_percentage_change",
]

P = ParamSpec("P")
T = TypeVar("T")
logger = logging.getLogger(__name__)


def safe_percentage_change(new_value: float, old_value: float) -> float:
    """The change from ``old_value`` to ``new_value`` in percent; from 0, ``inf``
    for a rise and 0.0 otherwise.

    Example:
        >>> safe_percentage_change(110.0, 100.0), safe_percentage_change(1.0, 0.0)
        (10.0, inf)
    """
    if old_value == 0:
        return float("inf") if new_value > 0 else 0.0
    return (new_value - old_value) / old_value * 100


def _check_non_negative(owner: object, *names: str) -> None:
    for name in names:
        if getattr(owner, name) < 0:
            raise ValueError(f"{name} must be non-negative")


@dataclass
class PerformanceMetrics:
    """Throughput, latency, memory and CPU of a benchmark (checked: none negative,
    CPU at most 100)."""

    throughput_samples_per_second: float
    avg_latency_ms: float
    memory_usage_mb: float
    cpu_usage_percent: float
    total_time_seconds: float

    def __post_init__(self) -> None:
        _check_non_negative(
            self, "throughput_samples_per_second", "avg_latency_ms", "memory_usage_mb"
        )
        if not 0 <= self.cpu_usage_percent <= 100:
            raise ValueError("cpu_usage_percent must be between 0 and 100")
        _check_non_negative(self, "total_time_seconds")


@dataclass
class ProfileResult:
    """The time and memory change of a profiled operation over ``call_count`` calls."""

    operation_name: str
    total_time_seconds: float
    call_count: int
    avg_time_per_call_ms: float
    memory_delta_mb: float

    def __post_init__(self) -> None:
        _check_non_negative(self, "total_time_seconds", "call_count", "avg_time_per_call_ms")


@dataclass
class BenchmarkConfig:
    """How to run benchmarks (checked: :class:`~dpa.v02.benchmark.InvalidBenchmarkConfigError`)."""

    iterations: int = 100
    warmup_iterations: int = 10
    measure_memory: bool = True
    measure_cpu: bool = True
    output_format: str = "json"

    def __post_init__(self) -> None:
        if self.iterations <= 0:
            raise InvalidBenchmarkConfigError("iterations must be positive")
        if self.warmup_iterations < 0:
            raise InvalidBenchmarkConfigError("warmup_iterations must be non-negative")
        if self.output_format not in ("json", "csv", "text"):
            raise InvalidBenchmarkConfigError("output_format must be 'json', 'csv', or 'text'")


@dataclass
class BenchmarkResult:
    """The times of ``iterations`` calls of a function."""

    function_name: str
    iterations: int
    total_time_seconds: float
    avg_time_seconds: float
    min_time_seconds: float
    max_time_seconds: float
    std_dev_seconds: float
    throughput_ops_per_second: float
    memory_usage_mb: float = 0.0
    cpu_usage_percent: float = 0.0

    @property
    def avg_time_ms(self) -> float:
        """The mean time in milliseconds."""
        return self.avg_time_seconds * 1000

    @property
    def min_time_ms(self) -> float:
        """The shortest time in milliseconds."""
        return self.min_time_seconds * 1000

    @property
    def max_time_ms(self) -> float:
        """The longest time in milliseconds."""
        return self.max_time_seconds * 1000


@dataclass
class ComparisonReport:
    """Configurations compared with the first (the baseline)."""

    baseline_config: str
    comparison_configs: list[str]
    metrics_comparison: dict[str, dict[str, Any]]
    performance_improvements: dict[str, float]
    recommendations: list[str] = field(default_factory=list)


def cpu_percent(cpu_seconds: float, wall_seconds: float) -> float:
    """Process CPU time over wall time, as a percent of the CPUs this process may use
    (0 to 100).

    Example:
        >>> cpu_percent(0.0, 1.0)
        0.0
    """
    if wall_seconds <= 0:
        return 0.0
    return min(100.0, max(0.0, 100.0 * cpu_seconds / (wall_seconds * usable_cpus())))


@contextmanager
def measure_time() -> Iterator[dict[str, float]]:
    """Yields a dict filled when the block ends: ``elapsed_seconds``, ``cpu_seconds``
    (this process), ``start_time`` and ``end_time`` (``time.perf_counter``)."""
    result: dict[str, float] = {}
    start, cpu_start = time.perf_counter(), time.process_time()
    try:
        yield result
    finally:
        end = time.perf_counter()
        result.update(
            elapsed_seconds=end - start,
            cpu_seconds=time.process_time() - cpu_start,
            start_time=start,
            end_time=end,
        )


def _memory_reading(prefix: str) -> dict[str, float]:
    rss, vms = process_memory()
    machine = machine_memory()
    return {
        f"{prefix}_rss_mb": rss / MIB,
        f"{prefix}_vms_mb": vms / MIB,
        f"{prefix}_system_available_mb": machine.available / MIB,
        f"{prefix}_system_used_mb": machine.used / MIB,
    }


@contextmanager
def measure_memory() -> Iterator[dict[str, float]]:
    """Yields a dict of this process's and the machine's memory (MiB) on entry
    (``initial_rss_mb``, ``initial_vms_mb``, ``initial_system_available_mb``,
    ``initial_system_used_mb``), completed when the block ends with the ``final_``
    readings and the changes (``delta_rss_mb``, ``delta_vms_mb``,
    ``delta_system_mb``, and ``delta_mb``: the resident set's)."""
    result = _memory_reading("initial")
    try:
        yield result
    finally:
        result.update(_memory_reading("final"))
        result["delta_rss_mb"] = result["final_rss_mb"] - result["initial_rss_mb"]
        result["delta_vms_mb"] = result["final_vms_mb"] - result["initial_vms_mb"]
        result["delta_system_mb"] = (
            result["final_system_used_mb"] - result["initial_system_used_mb"]
        )
        result["delta_mb"] = result["delta_rss_mb"]


def benchmark_function(func: Callable[[], Any], iterations: int = 100) -> BenchmarkResult:
    """Time ``iterations`` calls of ``func`` (after one warm-up call whose failure is
    ignored). Raises :class:`~dpa.v02.benchmark.MeasurementError` when a call fails."""
    if iterations <= 0:
        raise ValueError("iterations must be positive")
    try:
        func()
    except Exception as exc:  # v0.2 ignored a failing warm-up
        logger.debug("Warmup run failed (expected): %s", exc)
    times: list[float] = []
    memory_deltas: list[float] = []
    cpu = 0.0
    for i in range(iterations):
        with measure_memory() as memory, measure_time() as timer:  # time the call alone
            try:
                func()
            except Exception as exc:
                raise MeasurementError(
                    f"Function failed during benchmarking iteration {i}: {exc}"
                ) from exc
        times.append(timer["elapsed_seconds"])
        memory_deltas.append(memory["delta_mb"])
        cpu += timer["cpu_seconds"]
    total = sum(times)
    return BenchmarkResult(
        function_name=getattr(func, "__name__", str(func)),
        iterations=iterations,
        total_time_seconds=total,
        avg_time_seconds=statistics.mean(times),
        min_time_seconds=min(times),
        max_time_seconds=max(times),
        std_dev_seconds=statistics.stdev(times) if iterations > 1 else 0.0,
        throughput_ops_per_second=iterations / total if total > 0 else 0.0,
        memory_usage_mb=statistics.mean(memory_deltas),
        cpu_usage_percent=cpu_percent(cpu, total),
    )


class PerformanceProfiler:
    """Times named operations (and their resident memory change); one operation of a
    name at a time. Safe to share between threads."""

    def __init__(self, enable_memory_tracking: bool = True) -> None:
        self.enable_memory_tracking = enable_memory_tracking
        self._active_operations: dict[str, dict[str, float]] = {}
        self._completed_operations: defaultdict[str, list[ProfileResult]] = defaultdict(list)
        self._operation_counts: defaultdict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def _rss_mb(self) -> float | None:
        if not self.enable_memory_tracking:
            return None
        try:
            return process_memory()[0] / MIB
        except Exception as exc:  # memory is optional: time the operation anyway
            logger.debug("Memory tracking unavailable: %s", exc)
            return None

    def start_profiling(self, operation_name: str) -> None:
        """Start timing ``operation_name``."""
        start = {"start_time": time.perf_counter()}
        rss = self._rss_mb()
        if rss is not None:
            start["start_memory_mb"] = rss
        with self._lock:
            if operation_name in self._active_operations:
                raise ProfilingError(f"Operation '{operation_name}' is already being profiled")
            self._active_operations[operation_name] = start

    def end_profiling(self, operation_name: str) -> ProfileResult:
        """Stop timing ``operation_name`` and return this call's result."""
        end = time.perf_counter()
        with self._lock:
            start = self._active_operations.pop(operation_name, None)
        if start is None:
            raise ProfilingError(f"Operation '{operation_name}' is not being profiled")
        rss = self._rss_mb() if "start_memory_mb" in start else None
        seconds = end - start["start_time"]
        with self._lock:
            self._operation_counts[operation_name] += 1
            result = ProfileResult(
                operation_name=operation_name,
                total_time_seconds=seconds,
                call_count=self._operation_counts[operation_name],
                avg_time_per_call_ms=seconds * 1000,
                memory_delta_mb=0.0 if rss is None else rss - start["start_memory_mb"],
            )
            self._completed_operations[operation_name].append(result)
        return result

    def profile_function(self, func: Callable[P, T]) -> Callable[P, T]:
        """A decorator: each call of ``func`` is profiled as ``module.name``."""
        name = f"{func.__module__}.{func.__name__}"

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            with self.profile_context(name):
                return func(*args, **kwargs)

        return wrapper

    def get_profile_summary(self) -> dict[str, ProfileResult]:
        """Each operation's results added up: total time, number of calls, mean time
        per call, mean memory change."""
        with self._lock:
            completed = {
                name: list(results) for name, results in self._completed_operations.items()
            }
        summary = {}
        for name, results in completed.items():
            total = sum(r.total_time_seconds for r in results)
            calls = len(results)  # v0.2 added up each call's running count
            summary[name] = ProfileResult(
                operation_name=name,
                total_time_seconds=total,
                call_count=calls,
                avg_time_per_call_ms=total / calls * 1000 if calls else 0.0,
                memory_delta_mb=statistics.mean(r.memory_delta_mb for r in results),
            )
        return summary

    def reset(self) -> None:
        """Forget every operation."""
        with self._lock:
            self._active_operations.clear()
            self._completed_operations.clear()
            self._operation_counts.clear()

    @contextmanager
    def profile_context(self, operation_name: str) -> Iterator[None]:
        """Profile the ``with`` block as ``operation_name``."""
        self.start_profiling(operation_name)
        try:
            yield
        finally:
            self.end_profiling(operation_name)


def get_system_info() -> dict[str, Any]:
    """The machine: ``cpu`` (counts), ``memory`` (``psutil.virtual_memory()`` as a
    dict) and ``platform`` (Python version, platform)."""
    try:
        return {
            "cpu": {
                "cpu_count": os.cpu_count(),
                "cpu_count_logical": os.cpu_count(),
                "cpu_count_usable": usable_cpus(),
            },
            "memory": machine_memory()._asdict(),
            "platform": {"python_version": sys.version, "platform": platform.platform()},
        }
    except Exception as exc:
        return {"error": f"Failed to get system info: {exc}"}


def format_benchmark_result(result: BenchmarkResult, format_type: str = "text") -> str:
    """``result`` as ``"text"`` (one figure a line), ``"json"`` or ``"csv"`` (one line).

    Example:
        >>> result = benchmark_function(lambda: None, iterations=2)
        >>> format_benchmark_result(result, "csv").split(",")[:2]
        ['<lambda>', '2']
    """
    figures: dict[str, Any] = {
        "function_name": result.function_name,
        "iterations": result.iterations,
        "avg_time_ms": result.avg_time_ms,
        "min_time_ms": result.min_time_ms,
        "max_time_ms": result.max_time_ms,
        "std_dev_ms": result.std_dev_seconds * 1000,
        "throughput_ops_per_second": result.throughput_ops_per_second,
        "memory_usage_mb": result.memory_usage_mb,
        "cpu_usage_percent": result.cpu_usage_percent,
    }
    if format_type == "json":
        return json.dumps(figures, indent=2)
    values = [f"{figures[key]:{spec}}" for key, _, spec, _ in _RESULT_LINES]
    if format_type == "csv":
        return ",".join(values)
    return "\n".join(
        f"{label}: {value}{unit}"
        for (_, label, _, unit), value in zip(_RESULT_LINES, values, strict=True)
    )


#: The figures of a formatted result: key, label, format, unit.
_RESULT_LINES = (
    ("function_name", "Function", "", ""),
    ("iterations", "Iterations", "", ""),
    ("avg_time_ms", "Average time", ".3f", "ms"),
    ("min_time_ms", "Min time", ".3f", "ms"),
    ("max_time_ms", "Max time", ".3f", "ms"),
    ("std_dev_ms", "Std deviation", ".3f", "ms"),
    ("throughput_ops_per_second", "Throughput", ".2f", " ops/sec"),
    ("memory_usage_mb", "Memory usage", ".2f", "MB"),
    ("cpu_usage_percent", "CPU usage", ".2f", "%"),
)
