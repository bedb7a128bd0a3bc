"""Timing functions, and what a benchmark keeps: every iteration's time.

:class:`BenchmarkResult` keeps the seconds of every measured iteration, so the
statistics (mean, median, spread, a confidence interval of the mean) and the
regression test (:mod:`dpa.benchmark.regression`) work on the raw samples.
:class:`BenchmarkRun` is a set of results with the machine they ran on; it saves
to, and loads from, a JSON file.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import statistics
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from .._config import AugmentationConfig
from .figures import NUMERIC_EXTRA, brief, check_count, check_figure, check_times
from .measure import Clock, Timing, current_rss_mb, measure_memory, paused_gc, time_call
from .stats import mean_interval, t_quantile

__all__ = [
    "RUN_FORMAT",
    "BenchmarkConfig",
    "BenchmarkResult",
    "BenchmarkRun",
    "PerformanceMetrics",
    "benchmark_function",
    "benchmark_interleaved",
    "json_safe",
    "t_quantile",
]

#: The ``format`` field of a saved run.
RUN_FORMAT = "dpa-bench-run"
RUN_FORMAT_VERSION = 1


def json_safe(value: Any) -> Any:
    """``value`` with every float that is not finite replaced by ``None``, tuples as
    lists and keys as strings: what :func:`json.dumps` writes with ``allow_nan=False``.

    Example:
        >>> json_safe({"rate": float("inf"), "times": (0.5, float("nan")), 3: 1})
        {'rate': None, 'times': [0.5, None], '3': 1}
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


# --------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class PerformanceMetrics:
    """The headline figures of one benchmark (the JSON report's fields).

    ``avg_latency_ms`` is the mean time of one API call (one
    ``gen_augmentation_params`` call, one ``generate_batch`` call, one stream
    chunk, one file); ``memory_usage_mb`` the most memory one iteration allocated
    (tracemalloc; per process for the distributed benchmarks);
    ``cpu_usage_percent`` process CPU time over wall time (200 = two busy cores).
    The two distributed fields are ``None`` for single-process benchmarks.
    """

    throughput_samples_per_second: float | None
    avg_latency_ms: float | None
    memory_usage_mb: float | None
    cpu_usage_percent: float | None
    total_time_seconds: float
    distributed_efficiency: float | None = None
    rank_coordination_overhead_ms: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The fields, JSON-ready (``None`` for what is not finite)."""
        safe: dict[str, Any] = json_safe(asdict(self))
        return safe


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class BenchmarkResult:
    """Every measured iteration of one benchmark, and statistics over them.

    ``times`` are wall seconds per iteration; ``cpu_times`` the process CPU
    seconds of the same iterations. One iteration processes
    ``samples_per_iteration`` samples in ``calls_per_iteration`` API calls. Every
    figure is checked (ValueError naming it, :mod:`dpa.benchmark.figures`): the
    times, ``memory_peak_mb`` and the extra figures the reports use are finite
    numbers in 0 .. 1e300, the counts ints in 1 .. 2**53, so that no rate or
    latency overflows.

    Example:
        >>> r = BenchmarkResult("demo", (0.10, 0.11, 0.09, 0.10), samples_per_iteration=1000)
        >>> round(r.mean, 3), round(r.median, 3), round(r.throughput)
        (0.1, 0.1, 10000)
    """

    name: str
    times: tuple[float, ...]
    samples_per_iteration: int = 1
    calls_per_iteration: int = 1
    cpu_times: tuple[float, ...] = ()
    memory_peak_mb: float | None = None
    description: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f"benchmark {self.name!r}:"
        object.__setattr__(self, "times", check_times(self.times, f"{where} times"))
        object.__setattr__(self, "cpu_times", check_times(self.cpu_times, f"{where} cpu_times"))
        if not self.times:
            raise ValueError(f"{where} no measured iterations")
        for label in ("samples_per_iteration", "calls_per_iteration"):
            object.__setattr__(self, label, check_count(getattr(self, label), f"{where} {label}"))
        if self.memory_peak_mb is not None:
            object.__setattr__(
                self, "memory_peak_mb", check_figure(self.memory_peak_mb, f"{where} memory_peak_mb")
            )
        if not isinstance(self.extra, Mapping):
            raise ValueError(f"{where} extra must be an object, got {brief(self.extra)}")
        for key in NUMERIC_EXTRA:
            if self.extra.get(key) is not None:
                check_figure(self.extra[key], f"{where} extra {key}")

    @property
    def iterations(self) -> int:
        return len(self.times)

    @property
    def total_time(self) -> float:
        """Seconds of all measured iterations together."""
        return math.fsum(self.times)

    @property
    def mean(self) -> float:
        return math.fsum(self.times) / len(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def stdev(self) -> float:
        """Sample standard deviation (0 for a single iteration)."""
        return statistics.stdev(self.times) if len(self.times) > 1 else 0.0

    @property
    def min(self) -> float:
        return min(self.times)

    @property
    def max(self) -> float:
        return max(self.times)

    def confidence_interval(self, level: float = 0.95) -> tuple[float, float]:
        """Student-t interval of the mean time per iteration (the mean itself, twice,
        for a single iteration); needs scipy (:func:`~dpa.benchmark.stats.mean_interval`)."""
        return mean_interval(self.times, level)

    def _known_interval(self, level: float) -> tuple[float, float] | None:
        """:meth:`confidence_interval`, or ``None`` where scipy is not installed."""
        try:
            return self.confidence_interval(level)
        except ImportError:
            return None

    @property
    def ci95(self) -> tuple[float, float]:
        """95% confidence interval of the mean time per iteration."""
        return self.confidence_interval(0.95)

    @property
    def throughput(self) -> float | None:
        """Samples per second over all iterations (``None`` when they took no time)."""
        total = self.total_time
        return self.samples_per_iteration * len(self.times) / total if total > 0 else None

    def throughput_interval(self, level: float = 0.95) -> tuple[float | None, float | None]:
        """The mean's confidence interval as samples per second (low, high); an end
        is ``None`` where the time interval reaches zero, both without scipy."""
        interval = self._known_interval(level)
        if interval is None:
            return (None, None)
        lo, hi = interval
        n = self.samples_per_iteration
        return (n / hi if hi > 0 else None, n / lo if lo > 0 else None)

    @property
    def rates(self) -> tuple[float | None, ...]:
        """Samples per second of each iteration (``None`` for a zero time)."""
        n = self.samples_per_iteration
        return tuple(n / t if t > 0 else None for t in self.times)

    @property
    def best_rate(self) -> float | None:
        """Samples per second of the fastest iteration (``None`` for a zero time)."""
        return self.rates[self.times.index(self.min)]

    @property
    def median_rate(self) -> float | None:
        """The median of the per-iteration rates (``None`` when an iteration took no
        time)."""
        rates = self.rates
        known = [rate for rate in rates if rate is not None]
        return statistics.median(known) if len(known) == len(rates) else None

    @property
    def per_sample_times(self) -> tuple[float, ...]:
        """Seconds per sample of each iteration."""
        return tuple(t / self.samples_per_iteration for t in self.times)

    @property
    def avg_latency_ms(self) -> float:
        """Mean milliseconds of one API call."""
        return 1000 * self.mean / self.calls_per_iteration

    @property
    def cpu_percent(self) -> float | None:
        """Process CPU time over wall time of the measured iterations, in percent."""
        cpu = self.extra.get("cpu_seconds")
        if cpu is None:
            cpu = math.fsum(self.cpu_times) if self.cpu_times else None
        total = self.total_time
        return None if cpu is None or total <= 0 else 100.0 * cpu / total

    def to_metrics(self) -> PerformanceMetrics:
        """The headline figures of this result."""
        return PerformanceMetrics(
            throughput_samples_per_second=self.throughput,
            avg_latency_ms=self.avg_latency_ms,
            memory_usage_mb=self.memory_peak_mb,
            cpu_usage_percent=self.cpu_percent,
            total_time_seconds=self.total_time,
            distributed_efficiency=self.extra.get("distributed_efficiency"),
            rank_coordination_overhead_ms=self.extra.get("rank_coordination_overhead_ms"),
        )

    def summary(self) -> dict[str, Any]:
        """The statistics of the times (the intervals ``None`` without scipy)."""
        interval = self._known_interval(0.95)
        figures = ("mean", "median", "stdev", "min", "max")
        return {
            "iterations": self.iterations,
            **{f"{figure}_seconds": getattr(self, figure) for figure in figures},
            "ci95_seconds": [None, None] if interval is None else list(interval),
            "throughput_ci95": list(self.throughput_interval()),
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready (the summary and metrics are derived, for readers)."""
        return {
            "name": self.name,
            "description": self.description,
            "samples_per_iteration": self.samples_per_iteration,
            "calls_per_iteration": self.calls_per_iteration,
            "times": list(self.times),
            "cpu_times": list(self.cpu_times),
            "memory_peak_mb": self.memory_peak_mb,
            "extra": dict(self.extra),
            "summary": self.summary(),
            "metrics": self.to_metrics().to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], name: str | None = None) -> BenchmarkResult:
        """The result :meth:`to_dict` wrote (ValueError where ``data`` is not one)."""
        label = name or data.get("name")
        if "times" not in data:
            raise ValueError(f"benchmark {label!r}: bad result: no times")
        return cls(
            name=str(data.get("name") or name or ""),
            times=data["times"],
            samples_per_iteration=data.get("samples_per_iteration", 1),
            calls_per_iteration=data.get("calls_per_iteration", 1),
            cpu_times=data.get("cpu_times") or (),
            memory_peak_mb=data.get("memory_peak_mb"),
            description=str(data.get("description", "")),
            extra=data.get("extra") or {},
        )


def _check_counts(iterations: int, warmup: int) -> None:
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"iterations must be an int >= 1, got {iterations!r}")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be an int >= 0, got {warmup!r}")


def benchmark_function(
    func: Callable[[], Any],
    iterations: int = 100,
    warmup: int = 10,
    *,
    name: str | None = None,
    samples_per_iteration: int = 1,
    calls_per_iteration: int = 1,
    memory: bool = False,
    clock: Clock = time.perf_counter,
    cpu_clock: Clock = time.process_time,
    disable_gc: bool = True,
    description: str = "",
) -> BenchmarkResult:
    """Call ``func()`` ``warmup`` times untimed, then ``iterations`` times timed.

    Each timed call's wall time (``clock``) and process CPU time (``cpu_clock``)
    is kept (:func:`~dpa.benchmark.measure.time_call`). The garbage collector is
    off while timing, as in :mod:`timeit`. With ``memory=True`` one more, untimed,
    call runs under :func:`measure_memory` for ``memory_peak_mb``.

    Example:
        >>> r = benchmark_function(lambda: sum(range(1000)), iterations=5, warmup=1)
        >>> r.iterations, len(r.cpu_times)
        (5, 5)
    """
    _check_counts(iterations, warmup)
    for _ in range(warmup):
        func()
    with paused_gc(disable_gc):
        timings = [time_call(func, clock, cpu_clock)[0] for _ in range(iterations)]
    peak: float | None = None
    extra: dict[str, Any] = {}
    if memory:
        with measure_memory() as usage:
            func()
        peak = usage.traced_peak_mb
        extra["rss_mb"] = current_rss_mb()
    return BenchmarkResult(
        name=name or str(getattr(func, "__name__", "function")),
        times=tuple(t.wall_seconds for t in timings),
        samples_per_iteration=samples_per_iteration,
        calls_per_iteration=calls_per_iteration,
        cpu_times=tuple(t.cpu_seconds for t in timings),
        memory_peak_mb=peak,
        description=description,
        extra=extra,
    )


def benchmark_interleaved(
    functions: Mapping[str, Callable[[], Any]],
    iterations: int = 5,
    warmup: int = 1,
    *,
    samples_per_iteration: Mapping[str, int] | int = 1,
    clock: Clock = time.perf_counter,
    cpu_clock: Clock = time.process_time,
    disable_gc: bool = True,
) -> dict[str, BenchmarkResult]:
    """Time several functions in turns, so that a noisy machine slows them alike:
    ``warmup`` untimed rounds, then ``iterations`` rounds, each calling every
    function once in the order given. Each call is timed as in
    :func:`benchmark_function`, the garbage collected before it and off during it.
    ``samples_per_iteration``: one count for all, or a count per name (1 for a
    name it lacks).

    Example:
        >>> results = benchmark_interleaved(
        ...     {"short": lambda: sum(range(10)), "long": lambda: sum(range(10_000))},
        ...     iterations=3,
        ...     samples_per_iteration={"long": 1000},
        ... )
        >>> [(r.name, r.iterations, r.samples_per_iteration) for r in results.values()]
        [('short', 3, 1), ('long', 3, 1000)]
    """
    _check_counts(iterations, warmup)
    for _ in range(warmup):
        for func in functions.values():
            func()
    timings: dict[str, list[Timing]] = {name: [] for name in functions}
    for _ in range(iterations):
        for name, func in functions.items():
            with paused_gc(disable_gc):
                timings[name].append(time_call(func, clock, cpu_clock)[0])

    def samples(name: str) -> int:
        if isinstance(samples_per_iteration, int):
            return samples_per_iteration
        return samples_per_iteration.get(name, 1)

    return {
        name: BenchmarkResult(
            name,
            times=tuple(t.wall_seconds for t in measured),
            samples_per_iteration=samples(name),
            cpu_times=tuple(t.cpu_seconds for t in measured),
        )
        for name, measured in timings.items()
    }


# --------------------------------------------------------------------------- config


@dataclass(frozen=True)
class BenchmarkConfig:
    """How a :class:`~dpa.benchmark.BenchmarkRunner` measures.

    ``scale`` multiplies every workload's sample count (the standard sizes are
    those of :data:`dpa.benchmark.runner.WORKLOADS`); on the python backend,
    which is about 15 times slower, workloads run ``python_fraction`` of the
    samples so that a run takes about as long (rates are per sample, so runs on
    either backend compare). ``workers`` is the thread count of the multi-thread
    batch benchmark; ``max_processes`` the largest process count of the
    distributed benchmark.
    """

    iterations: int = 30
    warmup: int = 3
    scale: float = 1.0
    python_fraction: float = 1 / 16
    workers: int = 2
    max_processes: int = 2
    batch_size: int = 65536
    chunk_size: int = 4096
    augmentation: AugmentationConfig = field(default_factory=AugmentationConfig)
    backend: str | None = None
    start_id: int = 0
    measure_memory: bool = True
    scratch_dir: str | None = None

    def __post_init__(self) -> None:
        checks = (
            ("iterations", self.iterations, 1),
            ("warmup", self.warmup, 0),
            ("workers", self.workers, 1),
            ("max_processes", self.max_processes, 1),
            ("batch_size", self.batch_size, 1),
            ("chunk_size", self.chunk_size, 1),
            ("start_id", self.start_id, 0),
        )
        for label, value, least in checks:
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"{label} must be an int >= {least}, got {value!r}")
        if not self.scale > 0 or not 0 < self.python_fraction <= 1:
            raise ValueError("scale must be > 0 and python_fraction in (0, 1]")
        if not isinstance(self.augmentation, AugmentationConfig):
            raise TypeError("augmentation must be an AugmentationConfig")

    @classmethod
    def quick(cls, **overrides: Any) -> BenchmarkConfig:
        """Fewer iterations on a quarter of the samples: a suite in well under a minute."""
        settings: dict[str, Any] = {"iterations": 10, "warmup": 2, "scale": 0.25}
        settings.update(overrides)
        return cls(**settings)

    def with_(self, **changes: Any) -> BenchmarkConfig:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The settings, JSON-ready (the augmentation config as its own dict)."""
        data = asdict(self)
        data["augmentation"] = self.augmentation.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BenchmarkConfig:
        """The config :meth:`to_dict` wrote."""
        fields = dict(data)
        if isinstance(fields.get("augmentation"), Mapping):
            fields["augmentation"] = AugmentationConfig.from_dict(dict(fields["augmentation"]))
        return cls(**fields)


# --------------------------------------------------------------------------- runs


@dataclass
class BenchmarkRun:
    """The results of one benchmark run, in order, with where and how it ran."""

    results: dict[str, BenchmarkResult]
    system: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    suite: str = ""
    created: str = field(
        default_factory=lambda: _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    )
    label: str = ""

    @classmethod
    def of(cls, results: Iterable[BenchmarkResult], **fields: Any) -> BenchmarkRun:
        """A run of ``results`` (by name, in order) and the other ``fields``."""
        return cls({r.name: r for r in results}, **fields)

    def to_dict(self) -> dict[str, Any]:
        """The run as saved: format, when, where, how, and every benchmark."""
        data = {
            "format": RUN_FORMAT,
            "format_version": RUN_FORMAT_VERSION,
            "created": self.created,
            "label": self.label,
            "suite": self.suite,
            "system": self.system,
            "config": self.config,
            "benchmarks": {name: result.to_dict() for name, result in self.results.items()},
        }
        safe: dict[str, Any] = json_safe(data)
        return safe

    def save(self, path: str | Path) -> None:
        """Write the run as JSON (every iteration's time included)."""
        from .._io import write_atomic

        text = json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"
        write_atomic(path, text.encode("utf-8"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "run") -> BenchmarkRun:
        """The run :meth:`to_dict` wrote (ValueError naming ``source`` where it is not)."""
        if not isinstance(data, Mapping) or data.get("format") != RUN_FORMAT:
            raise ValueError(f"{source}: not a saved dpa bench run (no format {RUN_FORMAT!r})")
        benchmarks = data.get("benchmarks")
        if not isinstance(benchmarks, Mapping):
            raise ValueError(f"{source}: the run has no benchmarks object")
        results = {}
        for name, entry in benchmarks.items():
            if not isinstance(entry, Mapping):
                raise ValueError(f"{source}: benchmark {name!r} is not an object")
            try:
                results[name] = BenchmarkResult.from_dict({**entry, "name": name}, name)
            except ValueError as exc:
                raise ValueError(f"{source}: {exc}") from None
        for key in ("system", "config"):
            if not isinstance(data.get(key) or {}, Mapping):
                raise ValueError(f"{source}: {key} must be an object, got {brief(data[key])}")
        return cls(
            results,
            system=dict(data.get("system") or {}),
            config=dict(data.get("config") or {}),
            suite=str(data.get("suite", "")),
            created=str(data.get("created", "")),
            label=str(data.get("label", "")),
        )

    @classmethod
    def load(cls, path: str | Path) -> BenchmarkRun:
        """Read a run saved by :meth:`save` (ValueError naming the file if it is not one)."""
        source = Path(path)
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise ValueError(f"{source}: not a text file: {exc}") from None
        except (ValueError, RecursionError) as exc:  # also numbers too long, deep nesting
            reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
            raise ValueError(f"{source}: not valid JSON: {reason}") from None
        run = cls.from_dict(data, str(source))
        run.label = source.name
        return run
