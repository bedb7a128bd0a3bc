"""Benchmarking dpa: measure, profile, compare, and catch regressions.

Import from here (``import dpa`` does not load this package)::

    from dpa.benchmark import BenchmarkConfig, BenchmarkRunner, detect_regressions

    run = BenchmarkRunner(BenchmarkConfig.quick()).run_suite("generation")
    run.save("base.json")
    ...
    report = detect_regressions("base.json", BenchmarkRunner().run_suite("generation"))
    print(report.to_table())

* :func:`measure_time` / :func:`time_call` (the one timer), :func:`measure_memory`,
  :class:`PerformanceProfiler`: building blocks; :func:`benchmark_function` times
  any callable and keeps every iteration, :func:`benchmark_interleaved` several in
  turns; :class:`WorkerPool` runs timed calls in worker processes.
* :class:`BenchmarkRunner`: dpa's own benchmarks (per-sample, batch, streams,
  file formats, distributed processes, backends) and
  :meth:`~BenchmarkRunner.compare_configurations`.
* :func:`detect_regressions`: Mann-Whitney U and a bootstrap interval of the
  throughput ratio, per benchmark (:mod:`dpa.benchmark.stats`: scipy.stats).
* :mod:`dpa.benchmark.report`: text, JSON, Markdown, CSV and PNG
  (:mod:`dpa._tables`: the formatting and the tables).
* The ``dpa bench`` command (:mod:`dpa.benchmark.command`).

scipy (the intervals and the regression test) and matplotlib (the plots) are
imported only when needed: ``pip install 'dpa-augment[bench]'``.
"""

from .compare import ComparisonReport
from .measure import (
    MemoryUsage,
    Timing,
    get_system_info,
    measure_memory,
    measure_time,
    time_call,
)
from .processes import WorkerPool
from .profiler import PerformanceProfiler, ProfileResult
from .regression import RegressionReport, RegressionResult, detect_regressions
from .report import metrics_json, plot_report, results_table, to_csv, to_markdown
from .results import (
    BenchmarkConfig,
    BenchmarkResult,
    BenchmarkRun,
    PerformanceMetrics,
    benchmark_function,
    benchmark_interleaved,
)
from .runner import SUITES, BenchmarkRunner, suite_items

__all__ = [
    "SUITES",
    "BenchmarkConfig",
    "BenchmarkResult",
    "BenchmarkRun",
    "BenchmarkRunner",
    "ComparisonReport",
    "MemoryUsage",
    "PerformanceMetrics",
    "PerformanceProfiler",
    "ProfileResult",
    "RegressionReport",
    "RegressionResult",
    "Timing",
    "WorkerPool",
    "benchmark_function",
    "benchmark_interleaved",
    "detect_regressions",
    "get_system_info",
    "measure_memory",
    "measure_time",
    "metrics_json",
    "plot_report",
    "results_table",
    "suite_items",
    "time_call",
    "to_csv",
    "to_markdown",
]
