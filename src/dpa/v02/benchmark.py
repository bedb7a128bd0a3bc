"""DPA v0.2's ``src.benchmark``: timing, memory, profiling and comparisons.

The names and result shapes are v0.2's: :func:`measure_time` and
:func:`measure_memory` yield dicts, :class:`BenchmarkRunner` returns
:class:`PerformanceMetrics` and :class:`ComparisonReport` objects. For new work,
:mod:`dpa.benchmark` keeps every iteration's time, gives confidence intervals and
detects regressions.

Example:
    >>> profiler = PerformanceProfiler()
    >>> with profiler.profile_context("sum"):
    ...     _ = sum(range(1000))
    >>> profiler.get_profile_summary()["sum"].call_count
    1
"""

from __future__ import annotations

from ._bench_core import (
    BenchmarkConfig,
    BenchmarkResult,
    ComparisonReport,
    PerformanceMetrics,
    PerformanceProfiler,
    ProfileResult,
    benchmark_function,
    format_benchmark_result,
    get_system_info,
    measure_memory,
    measure_time,
    safe_percentage_change,
)
from ._errors import BenchmarkError, InvalidBenchmarkConfigError, MeasurementError, ProfilingError
from ._runner import BenchmarkRunner
from .batch import safe_division

__all__ = [
    "BenchmarkConfig",
    "BenchmarkError",
    "BenchmarkResult",
    "BenchmarkRunner",
    "ComparisonReport",
    "InvalidBenchmarkConfigError",
    "MeasurementError",
    "PerformanceMetrics",
    "PerformanceProfiler",
    "ProfileResult",
    "ProfilingError",
    "benchmark_function",
    "format_benchmark_result",
    "get_system_info",
    "measure_memory",
    "measure_time",
    "safe_division",
    "safe_percentage_change",
]
