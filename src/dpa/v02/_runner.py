"""DPA v0.2's :class:`BenchmarkRunner`: benchmarks of generation, streams and batch
processing, compared with a baseline, reported as text, JSON or Markdown.

Example:
    >>> runner = BenchmarkRunner(BenchmarkConfig(iterations=2, warmup_iterations=0))
    >>> runner.benchmark_generation(num_samples=10).throughput_samples_per_second > 0
    True
"""

from __future__ import annotations

import contextlib
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from ._bench_core import (
    BenchmarkConfig,
    ComparisonReport,
    PerformanceMetrics,
    PerformanceProfiler,
    cpu_percent,
    get_system_info,
    measure_memory,
    measure_time,
    safe_percentage_change,
)
from ._errors import MeasurementError
from .batch import BatchConfig, BatchProcessor, BatchStrategy

__all__ = ["BenchmarkRunner"]

_REQUIRED_KEYS = ("name", "type", "num_samples")
_FIGURES = (
    ("throughput_change_percent", "Throughput Change"),
    ("latency_change_percent", "Latency Change"),
    ("memory_change_percent", "Memory Change"),
    ("cpu_change_percent", "CPU Change"),
)


def _legacy() -> Any:
    """The ``dpa.v02`` package, read when a benchmark runs, so that a name replaced
    on it (``unittest.mock.patch("dpa.v02.gen_augmentation_params")``) is the one
    measured, as with v0.2's ``src.dpa``."""
    import dpa.v02

    return dpa.v02


class BenchmarkRunner:
    """Runs benchmarks by ``config`` and keeps those of :meth:`compare_configurations`
    in a history."""

    def __init__(self, config: BenchmarkConfig) -> None:
        self.config = config
        self.profiler = PerformanceProfiler(enable_memory_tracking=config.measure_memory)
        self._results_history: list[dict[str, Any]] = []

    def _measure(
        self, num_samples: int, warmup: Callable[[], Any], work: Callable[[], Any]
    ) -> PerformanceMetrics:
        """``warmup()`` ``warmup_iterations`` times (failures ignored), then ``work()``
        over ``num_samples`` samples ``iterations`` times."""
        for _ in range(self.config.warmup_iterations):
            with contextlib.suppress(Exception):  # v0.2 ignored a failing warm-up
                warmup()
        times, memory, cpu = [], [], []
        for _ in range(self.config.iterations):
            # the timer holds the work alone (v0.2 timed its memory readings too)
            readings: contextlib.AbstractContextManager[dict[str, float]] = (
                measure_memory() if self.config.measure_memory else contextlib.nullcontext({})
            )
            with readings as reading, measure_time() as timer:
                work()
            times.append(timer["elapsed_seconds"])
            if reading:
                memory.append(reading["delta_mb"])
            if self.config.measure_cpu:
                cpu.append(cpu_percent(timer["cpu_seconds"], timer["elapsed_seconds"]))
        # per-sample figures from the median run: one run slowed by another process
        # on the machine does not move them (v0.2: from the mean)
        typical = statistics.median(times)
        return PerformanceMetrics(
            throughput_samples_per_second=num_samples / typical if typical > 0 else 0.0,
            avg_latency_ms=typical / num_samples * 1000 if num_samples > 0 else 0.0,
            # growth of the resident set: a block that freed memory grew by 0
            memory_usage_mb=max(0.0, statistics.mean(memory)) if memory else 0.0,
            cpu_usage_percent=statistics.mean(cpu) if cpu else 0.0,
            total_time_seconds=sum(times),
        )

    def benchmark_generation(self, num_samples: int, config: Any = None) -> PerformanceMetrics:
        """Throughput of ``gen_augmentation_params`` over ``num_samples`` samples.
        Raises :class:`~dpa.v02.benchmark.MeasurementError` when it fails."""
        try:
            legacy = _legacy()
            aug_config = config if config is not None else legacy.AugmentationConfig()

            def work() -> None:
                for sample_id in range(num_samples):
                    legacy.gen_augmentation_params(sample_id, aug_config)

            return self._measure(
                num_samples, lambda: legacy.gen_augmentation_params(0, aug_config), work
            )
        except Exception as exc:
            raise MeasurementError(f"Failed to benchmark parameter generation: {exc}") from exc

    def benchmark_streaming(self, num_samples: int, chunk_size: int = 1000) -> PerformanceMetrics:
        """Throughput of ``stream_augmentation_chain`` in chunks of ``chunk_size``."""
        try:
            legacy = _legacy()
            aug_config = legacy.AugmentationConfig()

            def stream(count: int) -> None:
                for _ in legacy.stream_augmentation_chain(count, aug_config, chunk_size=chunk_size):
                    pass

            return self._measure(
                num_samples, lambda: stream(min(100, num_samples)), lambda: stream(num_samples)
            )
        except Exception as exc:
            raise MeasurementError(f"Failed to benchmark streaming operations: {exc}") from exc

    def benchmark_batch_processing(
        self, num_samples: int, batch_config: BatchConfig | None = None
    ) -> PerformanceMetrics:
        """Throughput of a stream cut by a :class:`~dpa.v02.batch.BatchProcessor`
        (default: sequential batches of 100)."""
        try:
            legacy = _legacy()
            if batch_config is None:
                batch_config = BatchConfig(
                    BatchStrategy.SEQUENTIAL, batch_size=100, max_memory_mb=500
                )
            aug_config = legacy.AugmentationConfig()
            settings = batch_config

            def batches(count: int) -> None:
                processor = BatchProcessor(settings.strategy, settings)
                stream = legacy.stream_augmentation_chain(count, aug_config)
                for _ in processor.process_stream(stream):
                    pass

            return self._measure(
                num_samples, lambda: batches(min(100, num_samples)), lambda: batches(num_samples)
            )
        except Exception as exc:
            raise MeasurementError(f"Failed to benchmark batch processing: {exc}") from exc

    def compare_configurations(self, configs: list[dict[str, Any]]) -> ComparisonReport:
        """Benchmark each configuration (a dict with ``name``, ``type``:
        ``generation``, ``streaming`` or ``batch_processing``, ``num_samples``, and
        ``aug_config``, ``chunk_size`` or ``batch_config``) and compare each with
        the first. Raises :class:`~dpa.v02.benchmark.MeasurementError` on failure."""
        if not configs:
            raise ValueError("At least one configuration must be provided")
        try:
            for index, config in enumerate(configs):
                for key in _REQUIRED_KEYS:
                    if key not in config:
                        raise ValueError(f"Configuration {index} is missing required key '{key}'")
            results = {config["name"]: self._run(config) for config in configs}
            baseline = configs[0]["name"]
            comparison: dict[str, dict[str, Any]] = {}
            improvements: dict[str, float] = {}
            for name, metrics in results.items():
                if name != baseline:
                    comparison[name] = _compare(metrics, results[baseline])
                    changes = comparison[name]
                    improvements[name] = (
                        changes["throughput_change_percent"]
                        - changes["latency_change_percent"]
                        - changes["memory_change_percent"]
                        - changes["cpu_change_percent"]
                    ) / 4
            return ComparisonReport(
                baseline_config=baseline,
                comparison_configs=[config["name"] for config in configs[1:]],
                metrics_comparison=comparison,
                performance_improvements=improvements,
                recommendations=_recommendations(results[baseline], comparison, improvements),
            )
        except Exception as exc:
            raise MeasurementError(f"Failed to compare configurations: {exc}") from exc

    def _run(self, config: dict[str, Any]) -> PerformanceMetrics:
        kind = config.get("type", "generation")
        num_samples = config.get("num_samples", 1000)
        if kind == "generation":
            metrics = self.benchmark_generation(num_samples, config.get("aug_config"))
        elif kind == "streaming":
            metrics = self.benchmark_streaming(num_samples, config.get("chunk_size", 1000))
        elif kind == "batch_processing":
            metrics = self.benchmark_batch_processing(num_samples, config.get("batch_config"))
        else:
            raise ValueError(f"Unknown configuration type: {kind}")
        self._results_history.append(
            {
                "config_name": config["name"],
                "config": config,
                "metrics": metrics,
                "timestamp": time.time(),
            }
        )
        return metrics

    def generate_performance_report(
        self, comparison_report: ComparisonReport, format_type: str = "text"
    ) -> str:
        """``comparison_report`` as ``"text"``, ``"json"`` or ``"markdown"``."""
        report = comparison_report
        if format_type == "json":
            return json.dumps(
                {
                    "baseline_config": report.baseline_config,
                    "comparison_configs": report.comparison_configs,
                    "metrics_comparison": report.metrics_comparison,
                    "performance_improvements": report.performance_improvements,
                    "recommendations": report.recommendations,
                    "system_info": get_system_info(),
                    "benchmark_config": {
                        "iterations": self.config.iterations,
                        "warmup_iterations": self.config.warmup_iterations,
                        "measure_memory": self.config.measure_memory,
                        "measure_cpu": self.config.measure_cpu,
                    },
                },
                indent=2,
            )
        markdown = format_type == "markdown"
        lines = (
            [
                "# Performance Benchmark Report",
                "",
                f"**Baseline Configuration:** {report.baseline_config}",
                f"**Comparison Configurations:** {', '.join(report.comparison_configs)}",
                "",
                "## Performance Comparison",
                "",
            ]
            if markdown
            else [
                "Performance Benchmark Report",
                "=" * 50,
                f"Baseline Configuration: {report.baseline_config}",
                f"Comparison Configurations: {', '.join(report.comparison_configs)}",
                "",
                "Performance Comparison:",
                "-" * 30,
            ]
        )
        for name, changes in report.metrics_comparison.items():
            lines += _report_section(name, changes, report.performance_improvements[name], markdown)
        if report.recommendations:
            lines += ["## Recommendations", ""] if markdown else ["", "Recommendations:", "-" * 20]
            lines += [f"{i}. {text}" for i, text in enumerate(report.recommendations, 1)]
            if markdown:
                lines.append("")
        return "\n".join(lines)

    def get_results_history(self) -> list[dict[str, Any]]:
        """The benchmarks run by :meth:`compare_configurations` (a copy)."""
        return self._results_history.copy()

    def clear_results_history(self) -> None:
        """Forget the history."""
        self._results_history.clear()


def _compare(metrics: PerformanceMetrics, baseline: PerformanceMetrics) -> dict[str, Any]:
    return {
        "throughput_change_percent": safe_percentage_change(
            metrics.throughput_samples_per_second, baseline.throughput_samples_per_second
        ),
        "latency_change_percent": safe_percentage_change(
            metrics.avg_latency_ms, baseline.avg_latency_ms
        ),
        "memory_change_percent": safe_percentage_change(
            metrics.memory_usage_mb, baseline.memory_usage_mb
        ),
        "cpu_change_percent": safe_percentage_change(
            metrics.cpu_usage_percent, baseline.cpu_usage_percent
        ),
        "absolute_metrics": {
            "throughput_samples_per_second": metrics.throughput_samples_per_second,
            "avg_latency_ms": metrics.avg_latency_ms,
            "memory_usage_mb": metrics.memory_usage_mb,
            "cpu_usage_percent": metrics.cpu_usage_percent,
            "total_time_seconds": metrics.total_time_seconds,
        },
    }


def _report_section(
    name: str, changes: dict[str, Any], improvement: float, markdown: bool
) -> list[str]:
    absolute = changes["absolute_metrics"]
    figures = [(label, changes[key]) for key, label in _FIGURES]
    figures.append(("Overall Improvement", improvement))
    values = [
        ("Throughput", f"{absolute['throughput_samples_per_second']:.2f} samples/sec"),
        ("Latency", f"{absolute['avg_latency_ms']:.2f}ms"),
        ("Memory", f"{absolute['memory_usage_mb']:.2f}MB"),
        ("CPU", f"{absolute['cpu_usage_percent']:.2f}%"),
    ]
    if markdown:
        return [
            f"### {name}",
            "",
            *[f"- **{label}:** {value:+.1f}%" for label, value in figures],
            "",
            "**Absolute Metrics:**",
            *[f"- {label}: {value}" for label, value in values],
            "",
        ]
    return [
        f"\n{name}:",
        *[f"  {label}: {value:+.1f}%" for label, value in figures],
        "",
        "  Absolute Metrics:",
        *[f"    {label}: {value}" for label, value in values],
    ]


def _recommendations(
    baseline: PerformanceMetrics,
    comparison: dict[str, dict[str, Any]],
    improvements: dict[str, float],
) -> list[str]:
    """v0.2's advice: the best configuration, large changes, and a slow baseline."""
    advice = []
    if improvements:
        best = max(improvements, key=improvements.__getitem__)
        score = improvements[best]
        if score > 0:
            size = "significant" if score > 10 else "modest"
            advice.append(
                f"Configuration '{best}' shows {size} performance improvement "
                f"({score:.1f}% overall)"
            )
    for name, changes in comparison.items():
        throughput = changes["throughput_change_percent"]
        latency = changes["latency_change_percent"]
        memory = changes["memory_change_percent"]
        cpu = changes["cpu_change_percent"]
        if throughput > 20:
            advice.append(
                f"Configuration '{name}' significantly improves throughput by {throughput:.1f}%"
            )
        elif throughput < -20:
            advice.append(
                f"Configuration '{name}' significantly reduces throughput by "
                f"{abs(throughput):.1f}% - consider alternatives"
            )
        if latency < -20:
            advice.append(
                f"Configuration '{name}' significantly reduces latency by {abs(latency):.1f}%"
            )
        elif latency > 20:
            advice.append(
                f"Configuration '{name}' increases latency by {latency:.1f}% "
                "- may impact responsiveness"
            )
        if memory < -20:
            advice.append(
                f"Configuration '{name}' significantly reduces memory usage by {abs(memory):.1f}%"
            )
        elif memory > 50:
            advice.append(
                f"Configuration '{name}' increases memory usage by {memory:.1f}% "
                "- monitor for memory constraints"
            )
        if cpu < -20:
            advice.append(
                f"Configuration '{name}' significantly reduces CPU usage by {abs(cpu):.1f}%"
            )
        elif cpu > 50:
            advice.append(
                f"Configuration '{name}' increases CPU usage by {cpu:.1f}% "
                "- may impact system performance"
            )
    if baseline.memory_usage_mb > 1000:
        advice.append(
            "High memory usage detected - consider using batch processing with memory limits"
        )
    if baseline.avg_latency_ms > 100:
        advice.append(
            "High latency detected - consider optimizing augmentation parameters or using streaming"
        )
    if baseline.throughput_samples_per_second < 100:
        advice.append(
            "Low throughput detected - consider batch processing or parameter optimization"
        )
    return list(dict.fromkeys(advice))[:10]
