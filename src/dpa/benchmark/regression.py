"""Regression detection: did a benchmark get slower, beyond noise?

For each benchmark both runs have, the per-iteration times (per sample, so runs
of different sizes compare) go through two checks:

* a two-sided Mann-Whitney U test (scipy): is one run's distribution shifted
  against the other's? No normality assumed; robust to outliers;
* a bootstrap confidence interval of the throughput ratio (current over
  baseline, ratio of the median times per sample; resampling each run's
  iterations, percentile interval, a fixed seed so the answer is repeatable).

Both come from :mod:`scipy.stats` (:mod:`dpa.benchmark.stats`).

A benchmark is a ``regression`` when the test is significant at
``1 - confidence``, the interval excludes "no change", and throughput fell by
more than ``threshold``; an ``improvement`` likewise the other way; otherwise
``no significant change``. A benchmark only in the current run is ``no
baseline``, one only in the baseline ``missing``. Where a median time is zero
(a clock too coarse for the workload) the change cannot be expressed as a ratio:
it is ``None``, never infinite, and the verdict rests on the test alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._tables import format_change, format_rate, markdown_table, text_table
from .results import BenchmarkResult, BenchmarkRun, json_safe
from .stats import median_ratio_interval, shift_p_value

__all__ = [
    "IMPROVEMENT",
    "MISSING",
    "NO_BASELINE",
    "NO_CHANGE",
    "REGRESSION",
    "RegressionReport",
    "RegressionResult",
    "detect_regressions",
]

REGRESSION = "regression"
IMPROVEMENT = "improvement"
NO_CHANGE = "no significant change"
NO_BASELINE = "no baseline"
MISSING = "missing"

#: The bootstrap's seed (plus the benchmark's index in the report).
_SEED = 20240611


@dataclass(frozen=True)
class RegressionResult:
    """One benchmark's comparison.

    ``change`` is the relative change of throughput, current against baseline
    (-0.10: 10% fewer samples per second); ``interval`` its confidence interval
    (an end is ``None`` where it is unbounded). The throughputs are medians of
    the per-iteration rates, in samples per second.
    """

    name: str
    verdict: str
    change: float | None
    interval: tuple[float | None, float | None] | None
    p_value: float | None
    baseline_throughput: float | None
    current_throughput: float | None
    n_baseline: int
    n_current: int
    note: str = ""

    @property
    def is_regression(self) -> bool:
        """Whether the verdict is a regression."""
        return self.verdict == REGRESSION

    def to_dict(self) -> dict[str, Any]:
        """The fields, JSON-ready (``None`` for what is not finite)."""
        safe: dict[str, Any] = json_safe(asdict(self))
        return safe


@dataclass
class RegressionReport:
    """Every benchmark's :class:`RegressionResult`, and how they were judged."""

    results: list[RegressionResult]
    threshold: float
    confidence: float
    baseline_label: str = "baseline"
    current_label: str = "current"
    notes: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> list[RegressionResult]:
        return [r for r in self.results if r.verdict == REGRESSION]

    @property
    def improvements(self) -> list[RegressionResult]:
        return [r for r in self.results if r.verdict == IMPROVEMENT]

    @property
    def has_regressions(self) -> bool:
        return bool(self.regressions)

    def __getitem__(self, name: str) -> RegressionResult:
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(name)

    def summary(self, short: bool = False) -> str:
        """One line: the regressions, or that nothing changed significantly
        (``short``: without the names)."""
        compared = [r for r in self.results if r.verdict in (REGRESSION, IMPROVEMENT, NO_CHANGE)]
        if self.regressions:
            text = f"REGRESSION in {len(self.regressions)} of {len(compared)} benchmarks"
            names = ", ".join(f"{r.name} {format_change(r.change)}" for r in self.regressions)
            return text if short else f"{text}: {names}"
        if self.improvements:
            text = f"no regression; improvement in {len(self.improvements)} of {len(compared)}"
            names = ", ".join(f"{r.name} {format_change(r.change)}" for r in self.improvements)
            return text if short else f"{text}: {names}"
        return f"no significant change in {len(compared)} benchmarks"

    def rows(self) -> list[list[str]]:
        """One row of table cells per benchmark (see :meth:`header`)."""
        return [
            [
                r.name,
                format_rate(r.baseline_throughput),
                format_rate(r.current_throughput),
                format_change(r.change),
                _interval(r.interval),
                _p(r.p_value),
                r.verdict,
            ]
            for r in self.results
        ]

    def header(self) -> list[str]:
        """The column names of :meth:`rows`."""
        level = f"{100 * self.confidence:g}%"
        return [
            "benchmark",
            "baseline median (samples/s)",
            "current median (samples/s)",
            "change",
            f"{level} interval",
            "p-value",
            "verdict",
        ]

    def title(self) -> str:
        """What was compared with what, and how: the line above the table."""
        return (
            f"{self.current_label} against {self.baseline_label}: throughput change, "
            f"Mann-Whitney U and bootstrap {100 * self.confidence:g}% interval; "
            f"threshold {100 * self.threshold:g}%"
        )

    def all_notes(self) -> list[str]:
        """The report's notes, each benchmark's, and which benchmarks one run lacks."""
        notes = list(self.notes)
        notes += [f"{r.name}: {r.note}" for r in self.results if r.note and r.verdict not in
                  (MISSING, NO_BASELINE)]  # fmt: skip
        for verdict, where in ((MISSING, "this run"), (NO_BASELINE, "the baseline")):
            names = [r.name for r in self.results if r.verdict == verdict]
            if names:
                notes.append(f"not in {where}: {', '.join(names)}")
        return notes

    def to_table(self) -> str:
        """The report as plain text: title, table, notes, summary."""
        lines = [self.title(), text_table(self.header(), self.rows())]
        lines.extend(f"note: {note}" for note in self.all_notes())
        lines.append(self.summary())
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """The report as Markdown: title, table, notes, summary."""
        lines = [f"**{self.title()}**", "", markdown_table(self.header(), self.rows()), ""]
        lines.extend(f"- {note}" for note in self.all_notes())
        lines.append(f"\n{self.summary()}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The report, JSON-ready: the runs compared, how they were judged, the
        summary line, the notes and every benchmark's result."""
        judged = ("threshold", "confidence", "has_regressions")
        return {
            "baseline": self.baseline_label,
            "current": self.current_label,
            **{name: getattr(self, name) for name in judged},
            "summary": self.summary(),
            "notes": list(self.notes),
            "results": [r.to_dict() for r in self.results],
        }


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if value >= 0.01 else f"{value:.1e}"


def _interval(interval: tuple[float | None, float | None] | None) -> str:
    if interval is None:
        return "-"
    lo, hi = interval
    return f"[{format_change(lo, '-inf')}, {format_change(hi, '+inf')}]"


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class _Series:
    per_sample: np.ndarray[Any, np.dtype[np.float64]]
    samples_per_iteration: int


RunLike = BenchmarkRun | Mapping[str, Any] | str | Path


def _series(run: RunLike, role: str) -> tuple[dict[str, _Series], str, dict[str, Any]]:
    """Per-sample times by benchmark, a label, and the system info of a run given
    as a :class:`BenchmarkRun`, a saved run (path or parsed JSON), a mapping of
    names to :class:`BenchmarkResult`, or a mapping of names to per-iteration times."""
    label = role
    system: dict[str, Any] = {}
    if isinstance(run, str | Path):
        run = BenchmarkRun.load(run)
    if isinstance(run, Mapping) and "format" in run:
        run = BenchmarkRun.from_dict(run, role)
    if isinstance(run, BenchmarkRun):
        label = run.label or role
        system = run.system
        run = run.results
    if not isinstance(run, Mapping):
        raise TypeError(f"{role}: expected a benchmark run, got {type(run).__name__}")
    out: dict[str, _Series] = {}
    for name, value in run.items():
        if isinstance(value, BenchmarkResult):
            times, size = value.per_sample_times, value.samples_per_iteration
        elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
            times, size = tuple(float(v) for v in value), 1
        else:
            raise TypeError(
                f"{role}: benchmark {name!r} must be a BenchmarkResult or a list of times"
            )
        array = np.asarray(times, dtype=np.float64)
        if array.size and (not np.all(np.isfinite(array)) or np.any(array < 0)):
            raise ValueError(f"{role}: benchmark {name!r} has negative or non-finite times")
        out[str(name)] = _Series(array, size)
    return out, label, system


# --------------------------------------------------------------------------- the test


def _compare_one(
    name: str, base: _Series, cur: _Series, threshold: float, confidence: float, seed: int
) -> RegressionResult:
    b, c = base.per_sample, cur.per_sample
    med_b, med_c = float(np.median(b)), float(np.median(c))
    p = shift_p_value(b, c)
    notes = []
    if min(b.size, c.size) < 3:
        notes.append("fewer than 3 iterations in a run: too few to test")
    change: float | None = None
    interval: tuple[float | None, float | None] | None = None
    if med_b > 0 and med_c > 0:
        change = med_b / med_c - 1
        lo, hi = median_ratio_interval(b, c, confidence, seed)
        interval = (None if lo is None else lo - 1, None if hi is None else hi - 1)
    else:
        notes.append("a median time of zero: the change is not a finite ratio")
    significant = p < 1 - confidence and min(b.size, c.size) >= 3
    if interval is not None:
        lo_change, hi_change = interval
        excludes_zero = (lo_change is not None and lo_change > 0) or (
            hi_change is not None and hi_change < 0
        )
        significant = significant and excludes_zero
    verdict = NO_CHANGE
    if significant:
        slower = med_c > med_b
        if change is None:  # zero median: the direction alone
            verdict = REGRESSION if slower else IMPROVEMENT
        elif change < -threshold:
            verdict = REGRESSION
        elif change > threshold:
            verdict = IMPROVEMENT
        else:
            notes.append(f"significant, but within the {100 * threshold:g}% threshold")
    return RegressionResult(
        name=name,
        verdict=verdict,
        change=change,
        interval=interval,
        p_value=p,
        baseline_throughput=1 / med_b if med_b > 0 else None,
        current_throughput=1 / med_c if med_c > 0 else None,
        n_baseline=int(b.size),
        n_current=int(c.size),
        note="; ".join(notes),
    )


def detect_regressions(
    baseline: RunLike,
    current: RunLike,
    threshold: float = 0.05,
    confidence: float = 0.95,
) -> RegressionReport:
    """Compare two runs benchmark by benchmark (see the module docstring).

    ``baseline`` and ``current`` are :class:`BenchmarkRun` objects, saved runs
    (paths or parsed JSON), or mappings of benchmark names to
    :class:`BenchmarkResult` or to per-iteration times in seconds.

    Example:
        >>> base = {"work": [1.00, 1.01, 0.99, 1.00, 1.02, 0.98, 1.00, 1.01]}
        >>> slow = {"work": [t * 1.10 for t in base["work"]]}
        >>> detect_regressions(base, slow)["work"].verdict
        'regression'
        >>> detect_regressions(base, base)["work"].verdict
        'no significant change'
    """
    if not 0 <= threshold < 1:
        raise ValueError(f"threshold must be in [0, 1), got {threshold}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    base, base_label, base_system = _series(baseline, "baseline")
    cur, cur_label, cur_system = _series(current, "this run")
    results = []
    for index, name in enumerate([*base, *(n for n in cur if n not in base)]):
        b, c = base.get(name), cur.get(name)
        if c is None or c.per_sample.size == 0:
            results.append(_absent(name, MISSING, b, None, "not in the current run"))
        elif b is None or b.per_sample.size == 0:
            results.append(_absent(name, NO_BASELINE, None, c, "not in the baseline"))
        else:
            results.append(_compare_one(name, b, c, threshold, confidence, _SEED + index))
    notes = []
    resized = [
        f"{name} ({base[name].samples_per_iteration:,} then {cur[name].samples_per_iteration:,})"
        for name in base
        if name in cur and base[name].samples_per_iteration != cur[name].samples_per_iteration
    ]
    if resized:
        notes.append(
            "samples per iteration differ, so runs compare per sample: " + ", ".join(resized)
        )
    for key in ("backend", "cpu_model", "usable_cpus", "dpa_version"):
        if base_system.get(key) != cur_system.get(key) and base_system and cur_system:
            notes.append(f"{key} differs: {base_system.get(key)} then {cur_system.get(key)}")
    return RegressionReport(results, threshold, confidence, base_label, cur_label, notes)


def _absent(
    name: str, verdict: str, base: _Series | None, cur: _Series | None, note: str
) -> RegressionResult:
    def rate(series: _Series | None) -> float | None:
        if series is None or series.per_sample.size == 0:
            return None
        median = float(np.median(series.per_sample))
        return 1 / median if median > 0 else None

    return RegressionResult(
        name=name,
        verdict=verdict,
        change=None,
        interval=None,
        p_value=None,
        baseline_throughput=rate(base),
        current_throughput=rate(cur),
        n_baseline=0 if base is None else int(base.per_sample.size),
        n_current=0 if cur is None else int(cur.per_sample.size),
        note=note,
    )
