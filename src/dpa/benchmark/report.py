"""Reports of a benchmark run: a text table, JSON, Markdown, CSV and PNG plots (the
formatting and the tables themselves are :mod:`dpa._tables`).

The plots need matplotlib (``pip install 'dpa-augment[bench]'``), imported when a plot
is drawn, with the Agg backend (no display needed).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._tables import format_rate, format_seconds, markdown_table, text_table
from .regression import IMPROVEMENT, REGRESSION, RegressionReport
from .results import BenchmarkResult, BenchmarkRun, PerformanceMetrics, json_safe

__all__ = [
    "format_rate",
    "format_seconds",
    "markdown_table",
    "metrics_json",
    "plot_report",
    "plot_throughput",
    "plot_trend",
    "results_table",
    "text_table",
    "to_csv",
    "to_markdown",
]


# --------------------------------------------------------------------------- tables


def _ci_percent(result: BenchmarkResult) -> str:
    lo, hi = result.throughput_interval()
    rate = result.throughput
    if lo is None or hi is None or not rate:
        return "-"
    return f"±{100 * (hi - lo) / 2 / rate:.1f}%"


def _notes(result: BenchmarkResult) -> str:
    extra = result.extra
    notes = []
    if extra.get("distributed_efficiency") is not None:
        notes.append(f"efficiency {extra['distributed_efficiency']:.2f}")
    if extra.get("rank_coordination_overhead_ms") is not None:
        notes.append(f"coordination {extra['rank_coordination_overhead_ms']:.2f} ms/round")
    if extra.get("speedup_vs_python") is not None:
        notes.append(f"{extra['speedup_vs_python']:.1f}x python")
    if extra.get("file_bytes") is not None:
        notes.append(f"file {extra['file_bytes'] / result.samples_per_iteration:.0f} B/sample")
    return ", ".join(notes)


RESULT_HEADER = (
    "benchmark",
    "samples",
    "iters",
    "throughput (samples/s)",
    "95% CI",
    "latency/call",
    "CPU %",
    "memory MB",
    "notes",
)


def result_rows(run: BenchmarkRun) -> list[list[str]]:
    """One row of :data:`RESULT_HEADER` cells per benchmark of ``run``."""
    rows = []
    for name, r in run.results.items():
        cpu = r.cpu_percent
        rows.append(
            [
                name,
                f"{r.samples_per_iteration:,}",
                str(r.iterations),
                format_rate(r.throughput),
                _ci_percent(r),
                format_seconds(r.avg_latency_ms / 1000),
                "-" if cpu is None else f"{cpu:.0f}",
                "-" if r.memory_peak_mb is None else f"{r.memory_peak_mb:.1f}",
                _notes(r),
            ]
        )
    return rows


def run_heading(run: BenchmarkRun) -> str:
    """One line: the suite, backend, CPUs, versions and time of ``run``."""
    s = run.system
    parts = [
        f"suite {run.suite or '-'}",
        f"{s.get('backend', '?')} backend",
        f"{s.get('usable_cpus', '?')} CPUs ({s.get('cpu_model') or s.get('machine', '?')})",
        f"python {s.get('python', '?')}",
        f"dpa {s.get('dpa_version', '?')}",
        run.created,
    ]
    return "dpa bench: " + ", ".join(parts)


def results_table(run: BenchmarkRun) -> str:
    """The run as a plain-text table: throughput (mean over iterations, and the
    half-width of its 95% interval), mean time of one API call, CPU and memory."""
    return "\n".join([run_heading(run), text_table(RESULT_HEADER, result_rows(run))])


def to_markdown(run: BenchmarkRun, comparison: RegressionReport | None = None) -> str:
    """The run as a Markdown table (and the comparison below it, when given)."""
    lines = [f"### {run_heading(run)}", "", markdown_table(RESULT_HEADER, result_rows(run))]
    if comparison is not None:
        lines += ["", comparison.to_markdown()]
    return "\n".join(lines) + "\n"


CSV_FIELDS = (
    "benchmark",
    "description",
    "iterations",
    "samples_per_iteration",
    "calls_per_iteration",
    *PerformanceMetrics.__dataclass_fields__,
    "throughput_ci95_low",
    "throughput_ci95_high",
    "mean_seconds",
    "median_seconds",
    "stdev_seconds",
    "min_seconds",
    "max_seconds",
)


def to_csv(run: BenchmarkRun) -> str:
    """One row per benchmark: the :class:`PerformanceMetrics` fields and the timing
    statistics (empty cells for unknown values)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for name, r in run.results.items():
        lo, hi = r.throughput_interval()
        row: dict[str, Any] = {
            "benchmark": name,
            "description": r.description,
            "iterations": r.iterations,
            "samples_per_iteration": r.samples_per_iteration,
            "calls_per_iteration": r.calls_per_iteration,
            **r.to_metrics().to_dict(),
            "throughput_ci95_low": lo,
            "throughput_ci95_high": hi,
            "mean_seconds": r.mean,
            "median_seconds": r.median,
            "stdev_seconds": r.stdev,
            "min_seconds": r.min,
            "max_seconds": r.max,
        }
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()


def metrics_json(run: BenchmarkRun, comparison: RegressionReport | None = None) -> dict[str, Any]:
    """The run's :class:`PerformanceMetrics` by benchmark (with the 95% interval of
    throughput), the system, and the comparison when there is one."""
    benchmarks = {}
    for name, r in run.results.items():
        lo, hi = r.throughput_interval()
        benchmarks[name] = {
            **r.to_metrics().to_dict(),
            "throughput_ci95": [lo, hi],
            "iterations": r.iterations,
            "samples_per_iteration": r.samples_per_iteration,
            "description": r.description,
        }
    data: dict[str, Any] = {
        "format": "dpa-bench-metrics",
        "created": run.created,
        "suite": run.suite,
        "system": run.system,
        "benchmarks": benchmarks,
    }
    if comparison is not None:
        data["comparison"] = comparison.to_dict()
    return data


def dumps(data: Any) -> str:
    """``data`` as indented JSON, ``None`` for every float that is not finite."""
    return json.dumps(json_safe(data), indent=2, allow_nan=False)


# --------------------------------------------------------------------------- plots

_VERDICT_COLOURS = {REGRESSION: "#c0392b", IMPROVEMENT: "#27ae60"}
_CURRENT = "#2e86c1"
_BASELINE = "#aab7b8"


def _figure_class() -> Any:
    """matplotlib's Figure: drawn and saved without pyplot, so neither its global
    figure registry nor the user's chosen backend is touched."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise RuntimeError("plots need matplotlib: pip install 'dpa-augment[bench]'") from exc
    return Figure


def _errors(result: BenchmarkResult) -> tuple[float, float, float]:
    """Throughput and its distance to each end of the 95% interval (0 where unknown)."""
    rate = result.throughput or 0.0
    lo, hi = result.throughput_interval()
    return (
        rate,
        max(0.0, rate - lo) if lo is not None else 0.0,
        (max(0.0, hi - rate) if hi is not None else 0.0),
    )


def plot_throughput(
    ax: Any,
    run: BenchmarkRun,
    baseline: BenchmarkRun | None = None,
    comparison: RegressionReport | None = None,
) -> None:
    """Horizontal bars of throughput per benchmark with 95% intervals, on ``ax``;
    the baseline's beside them, and each current bar coloured by its verdict."""
    names = list(run.results)
    positions = list(range(len(names)))[::-1]  # the first benchmark on top
    height = 0.38 if baseline is not None else 0.6
    verdicts = {r.name: r for r in comparison.results} if comparison is not None else {}
    top = 0.0
    for y, name in zip(positions, names, strict=True):
        offset = height / 2 if baseline is not None else 0.0
        current = run.results.get(name)
        if current is not None:
            rate, low, high = _errors(current)
            verdict = verdicts.get(name)
            colour = _VERDICT_COLOURS.get(verdict.verdict if verdict else "", _CURRENT)
            ax.barh(y + offset, rate, height, xerr=[[low], [high]], color=colour,
                    ecolor="#1b2631", capsize=3, label=None)  # fmt: skip
            _iteration_dots(ax, current, y + offset, height)
            top = max([top, *(r for r in current.rates if r is not None)])
            label = f"{format_rate(rate)}/s"
            if verdict is not None and verdict.change is not None:
                label += f"  ({100 * verdict.change:+.1f}%)"
            right = max([rate + high, *(r for r in current.rates if r is not None)])
            ax.text(right, y + offset, "  " + label, va="center", fontsize=8)
            top = max(top, rate + high)
        if baseline is not None and name in baseline.results:
            rate, low, high = _errors(baseline.results[name])
            ax.barh(y - height / 2, rate, height, xerr=[[low], [high]], color=_BASELINE,
                    ecolor="#566573", capsize=3)  # fmt: skip
            ax.text(rate + high, y - height / 2, f"  {format_rate(rate)}/s", va="center",
                    fontsize=7, color="#566573")  # fmt: skip
            top = max(top, rate + high)
    ax.set_yticks(positions)
    ax.set_yticklabels(names)
    ax.set_xlim(0, top * 1.25 if top > 0 else 1)
    ax.xaxis.set_major_formatter(_rate_formatter())
    ax.set_xlabel(
        "throughput (samples/s); bar: mean over iterations, whiskers: its 95% CI, "
        "dots: single iterations"
    )
    ax.set_ylabel("benchmark")
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    this_run = run.label or "this run"
    if comparison is not None:
        this_run += ": no significant change"
    handles = [_patch(_CURRENT, this_run)]
    if baseline is not None:
        handles.append(_patch(_BASELINE, f"baseline: {baseline.label or baseline.created}"))
    if comparison is not None:
        handles += [
            _patch(_VERDICT_COLOURS[REGRESSION], "regression"),
            _patch(_VERDICT_COLOURS[IMPROVEMENT], "improvement"),
        ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)


def _iteration_dots(ax: Any, result: BenchmarkResult, y: float, height: float) -> None:
    """Each iteration's rate as a small dot across the bar: the spread behind the mean."""
    rates = [r for r in result.rates if r is not None]
    if len(rates) < 2:
        return
    jitter = [y + height * 0.3 * ((i % 5) - 2) / 2 for i in range(len(rates))]
    ax.scatter(rates, jitter, s=6, color="white", edgecolors="#1b2631", linewidths=0.5,
               zorder=3)  # fmt: skip


def _rate_formatter() -> Any:
    from matplotlib.ticker import FuncFormatter

    def tick(value: float, _: Any) -> str:
        return "0" if value == 0 else format_rate(value).replace(".0 ", " ")

    return FuncFormatter(tick)


def _patch(colour: str, label: str) -> Any:
    from matplotlib.patches import Patch

    return Patch(color=colour, label=label)


def _run_label(run: BenchmarkRun, index: int) -> str:
    return run.label or run.created[:16] or f"run {index + 1}"


def plot_trend(ax: Any, runs: Sequence[BenchmarkRun]) -> None:
    """Throughput of each benchmark across ``runs`` (in the order given), with 95%
    intervals, on ``ax``."""
    names: list[str] = []
    for run in runs:
        names += [n for n in run.results if n not in names]
    xs = list(range(len(runs)))
    for name in names:
        points = [(x, run.results[name]) for x, run in zip(xs, runs, strict=True)
                  if name in run.results]  # fmt: skip
        rates = [_errors(r) for _, r in points]
        ax.errorbar(
            [x for x, _ in points],
            [rate for rate, _, _ in rates],
            yerr=[[low for _, low, _ in rates], [high for _, _, high in rates]],
            marker="o",
            capsize=3,
            label=name,
        )
    ax.set_xticks(xs)
    ax.set_xticklabels([_run_label(r, i) for i, r in enumerate(runs)], rotation=20, ha="right",
                       fontsize=8)  # fmt: skip
    from matplotlib.ticker import LogLocator, NullFormatter

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(_rate_formatter())
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("run (oldest first)")
    ax.set_ylabel("throughput (samples/s, log scale)")
    ax.set_title("trend across runs (mean, 95% CI)", fontsize=10)
    ax.grid(which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))


def plot_report(
    path: str | Path,
    run: BenchmarkRun,
    baseline: BenchmarkRun | None = None,
    comparison: RegressionReport | None = None,
    history: Sequence[BenchmarkRun] | None = None,
) -> Path:
    """Write a PNG: throughput per benchmark (against the baseline when given) and,
    with ``history``, the trend across those runs and this one. Returns the path."""
    from .._io import write_atomic

    figure_class = _figure_class()
    trend = list(history or [])
    if trend:
        trend = [*sorted(trend, key=lambda r: r.created), run]
    panels = 2 if trend else 1
    bars = len(run.results) + (len(baseline.results) if baseline is not None else 0)
    first_height = max(3.0, 0.35 * bars + 1.5)
    heights = [first_height] + ([4.5] if trend else [])
    figure = figure_class(figsize=(11, sum(heights) + 1.0))
    axes = figure.subplots(panels, 1, gridspec_kw={"height_ratios": heights}, squeeze=False)
    plot_throughput(axes[0][0], run, baseline, comparison)
    title = "dpa bench: throughput per benchmark"
    if comparison is not None:
        title += f" — {comparison.summary(short=True)}"
    axes[0][0].set_title(title, fontsize=11)
    if trend:
        plot_trend(axes[1][0], trend)
    figure.suptitle(run_heading(run), fontsize=8, color="#566573", y=0.995)
    figure.tight_layout()
    target = Path(path)
    buffer = io.BytesIO()
    figure.savefig(buffer, dpi=120, format="png")
    write_atomic(target, buffer.getvalue())
    return target
