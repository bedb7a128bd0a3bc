"""Comparing configurations: one workload under several :class:`BenchmarkConfig`
objects, per-metric changes against the first, a significance verdict for
throughput, and recommendations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .._tables import format_change, format_rate, markdown_table
from .regression import IMPROVEMENT, REGRESSION, detect_regressions
from .results import BenchmarkResult, PerformanceMetrics

__all__ = ["ComparisonReport", "build_comparison"]


_METRIC_NAMES = (
    "throughput_samples_per_second",
    "avg_latency_ms",
    "memory_usage_mb",
    "cpu_usage_percent",
    "total_time_seconds",
)


@dataclass
class ComparisonReport:
    """One workload measured under several configurations, against the first.

    ``changes[name][metric]`` is ``value / baseline_value - 1`` (``None`` where
    either is missing or the baseline is zero).
    """

    workload: str
    baseline: str
    results: dict[str, BenchmarkResult]
    metrics: dict[str, PerformanceMetrics]
    changes: dict[str, dict[str, float | None]]
    recommendations: list[str] = field(default_factory=list)
    verdicts: dict[str, str] = field(default_factory=dict)

    def best(self, metric: str = "throughput_samples_per_second") -> str | None:
        """The configuration with the best value of ``metric`` (highest throughput,
        lowest of the others)."""
        values = {n: getattr(m, metric) for n, m in self.metrics.items()}
        known = {n: v for n, v in values.items() if v is not None}
        if not known:
            return None
        pick = max if metric == "throughput_samples_per_second" else min
        return pick(known, key=lambda n: known[n])

    def to_dict(self) -> dict[str, Any]:
        """The comparison, JSON-ready (without the per-iteration times)."""
        return {
            "workload": self.workload,
            "baseline": self.baseline,
            "metrics": {n: m.to_dict() for n, m in self.metrics.items()},
            "changes": self.changes,
            "verdicts": self.verdicts,
            "recommendations": list(self.recommendations),
        }

    def to_markdown(self) -> str:
        """A Markdown table of the configurations, then the recommendations."""
        header = ["configuration", "throughput (samples/s)", "change", "latency (ms)", "memory MB"]
        header += ["CPU %", "verdict"]
        rows = []
        for name, m in self.metrics.items():
            change = self.changes[name]["throughput_samples_per_second"]
            rows.append(
                [
                    name + (" (baseline)" if name == self.baseline else ""),
                    format_rate(m.throughput_samples_per_second),
                    format_change(change, "-"),
                    _num(m.avg_latency_ms, ".4g"),
                    _num(m.memory_usage_mb, ".1f"),
                    _num(m.cpu_usage_percent, ".0f"),
                    self.verdicts.get(name, "-"),
                ]
            )
        lines = [f"**{self.workload}** under {len(rows)} configurations", ""]
        lines.append(markdown_table(header, rows))
        lines.append("")
        lines.extend(f"- {r}" for r in self.recommendations)
        return "\n".join(lines)


def _num(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _change(value: float | None, base: float | None) -> float | None:
    if value is None or base is None or base == 0:
        return None
    return value / base - 1


def build_comparison(
    workload: str,
    results: Mapping[str, BenchmarkResult],
    threshold: float = 0.05,
    confidence: float = 0.95,
) -> ComparisonReport:
    """A :class:`ComparisonReport` of results of one workload (the first is the baseline)."""
    names = list(results)
    baseline = names[0]
    metrics = {n: r.to_metrics() for n, r in results.items()}
    changes = {
        n: {k: _change(getattr(m, k), getattr(metrics[baseline], k)) for k in _METRIC_NAMES}
        for n, m in metrics.items()
    }
    verdicts = {baseline: "baseline"}
    for name in names[1:]:
        report = detect_regressions(
            {workload: results[baseline]}, {workload: results[name]}, threshold, confidence
        )
        verdict = report.results[0].verdict
        verdicts[name] = {REGRESSION: "slower", IMPROVEMENT: "faster"}.get(verdict, verdict)
    comparison = ComparisonReport(workload, baseline, dict(results), metrics, changes, [], verdicts)
    comparison.recommendations = _recommend(comparison)
    return comparison


def _recommend(report: ComparisonReport) -> list[str]:
    out: list[str] = []
    base = report.baseline
    faster = [n for n, v in report.verdicts.items() if v == "faster"]
    if faster:
        best = max(faster, key=lambda n: report.metrics[n].throughput_samples_per_second or 0)
        rate = report.metrics[best].throughput_samples_per_second
        change = report.changes[best]["throughput_samples_per_second"]
        gain = "" if change is None else f", {change + 1:.2f}x {base!r}"
        out.append(
            f"for throughput use {best!r}: {format_rate(rate)} samples/s{gain} "
            "(significantly faster)"
        )
    else:
        out.append(
            f"no configuration is significantly faster than {base!r}; keep it "
            "(or the one that uses the least CPU or memory)"
        )
    slower = [n for n, v in report.verdicts.items() if v == "slower"]
    if slower:
        names = ", ".join(repr(n) for n in slower)
        out.append(f"avoid {names}: significantly slower than {base!r}")
    per_cpu = {
        n: m.throughput_samples_per_second / (m.cpu_usage_percent / 100)
        for n, m in report.metrics.items()
        if m.throughput_samples_per_second and m.cpu_usage_percent
    }
    if len(per_cpu) > 1:
        frugal = max(per_cpu, key=lambda n: per_cpu[n])
        out.append(
            f"most samples per CPU-second: {frugal!r} ({format_rate(per_cpu[frugal])}); "
            "prefer it where CPUs are shared"
        )
    memory = {
        n: m.memory_usage_mb for n, m in report.metrics.items() if m.memory_usage_mb is not None
    }
    if len(memory) > 1:
        low, high = min(memory, key=lambda n: memory[n]), max(memory, key=lambda n: memory[n])
        if memory[high] > 1.1 * memory[low] and memory[high] - memory[low] > 1:
            out.append(
                f"least memory: {low!r} ({memory[low]:.1f} MB per iteration, "
                f"against {memory[high]:.1f} MB for {high!r})"
            )
    return out
