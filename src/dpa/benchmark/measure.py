"""Measuring: wall and CPU time, memory, a thread-safe profiler, the system.

Nothing here sleeps: CPU use is process (or thread) CPU time over wall time,
read from the clocks before and after.
"""

from __future__ import annotations

import functools
import math
import os
import platform
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, ParamSpec, TypeVar, overload

__all__ = [
    "MemoryUsage",
    "PerformanceProfiler",
    "ProfileResult",
    "Timing",
    "current_rss_mb",
    "get_system_info",
    "measure_memory",
    "measure_time",
    "peak_rss_mb",
]

MB = 1024 * 1024
Clock = Callable[[], float]
P = ParamSpec("P")
R = TypeVar("R")


# --------------------------------------------------------------------------- time


@dataclass
class Timing:
    """What :func:`measure_time` measured; filled in when the block ends."""

    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0

    @property
    def cpu_percent(self) -> float:
        """CPU time over wall time, in percent (above 100 with several busy threads)."""
        return 100.0 * self.cpu_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0


@contextmanager
def measure_time(
    clock: Clock = time.perf_counter, cpu_clock: Clock = time.process_time
) -> Iterator[Timing]:
    """Wall time (``clock``) and CPU time of this process (``cpu_clock``) of a block.

    Example:
        >>> with measure_time() as t:
        ...     _ = sum(range(1000))
        >>> t.wall_seconds >= 0 and t.cpu_seconds >= 0
        True
    """
    timing = Timing()
    cpu0 = cpu_clock()
    t0 = clock()
    try:
        yield timing
    finally:
        timing.wall_seconds = clock() - t0
        timing.cpu_seconds = cpu_clock() - cpu0


# --------------------------------------------------------------------------- memory


def current_rss_mb() -> float | None:
    """This process's resident set size now, in MiB (``None`` where unknown)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            resident_pages = int(handle.read().split()[1])
        return resident_pages * os.sysconf("SC_PAGE_SIZE") / MB
    except (OSError, ValueError, IndexError, AttributeError):
        return peak_rss_mb()


def peak_rss_mb() -> float | None:
    """The largest resident set size this process has had, in MiB (``None`` where unknown)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # kilobytes on Linux, bytes on macOS
    return peak / MB if sys.platform == "darwin" else peak / 1024


@dataclass
class MemoryUsage:
    """What :func:`measure_memory` measured, in MiB; filled in when the block ends.

    ``traced_peak_mb`` is the most memory Python objects and numpy arrays held at
    once during the block, above what they held when it began (:mod:`tracemalloc`);
    the RSS figures are the operating system's view of the whole process.
    """

    rss_start_mb: float | None = None
    rss_end_mb: float | None = None
    peak_rss_mb: float | None = None
    traced_peak_mb: float = 0.0

    @property
    def rss_delta_mb(self) -> float | None:
        """How much the resident set grew during the block."""
        if self.rss_start_mb is None or self.rss_end_mb is None:
            return None
        return self.rss_end_mb - self.rss_start_mb


class _Traced:
    """One open :func:`measure_memory` block: where it started, the peak seen so far."""

    def __init__(self, base: int) -> None:
        self.base = base
        self.peak = base


# tracemalloc is process-wide: the open blocks share one peak counter, so each
# block folds the counter into every open block before resetting it.
_trace_lock = threading.Lock()
_open_blocks: list[_Traced] = []
_we_started_tracing = False


def _fold_peak() -> None:
    _, peak = tracemalloc.get_traced_memory()
    for block in _open_blocks:
        block.peak = max(block.peak, peak)
    tracemalloc.reset_peak()


@contextmanager
def measure_memory() -> Iterator[MemoryUsage]:
    """Peak memory allocated during a block (:mod:`tracemalloc`), and the process's RSS.

    Blocks may nest (each gets its own peak). Tracing slows allocation down: do not
    time code inside this block.

    Example:
        >>> with measure_memory() as m:
        ...     data = bytearray(8 * 1024 * 1024)
        >>> m.traced_peak_mb >= 8
        True
    """
    global _we_started_tracing
    usage = MemoryUsage(rss_start_mb=current_rss_mb())
    with _trace_lock:
        if not tracemalloc.is_tracing():
            tracemalloc.start()
            _we_started_tracing = True
        else:
            _fold_peak()
        block = _Traced(tracemalloc.get_traced_memory()[0])
        _open_blocks.append(block)
    try:
        yield usage
    finally:
        with _trace_lock:
            _fold_peak()
            _open_blocks.remove(block)
            if not _open_blocks and _we_started_tracing:
                tracemalloc.stop()
                _we_started_tracing = False
        usage.traced_peak_mb = max(0, block.peak - block.base) / MB
        usage.rss_end_mb = current_rss_mb()
        usage.peak_rss_mb = peak_rss_mb()


# --------------------------------------------------------------------------- profiler


@dataclass(frozen=True)
class ProfileResult:
    """Timings of one name in a :class:`PerformanceProfiler` (inclusive: a call made
    inside another call of the same name counts in both)."""

    name: str
    count: int
    total_seconds: float
    mean_seconds: float
    min_seconds: float
    max_seconds: float
    stdev_seconds: float
    cpu_seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Accumulator:
    """Count, sum, min, max and (Welford) variance of durations."""

    __slots__ = ("count", "cpu", "m2", "maximum", "mean", "minimum", "total")

    def __init__(self) -> None:
        self.count = 0
        self.total = self.mean = self.m2 = self.cpu = 0.0
        self.minimum, self.maximum = math.inf, -math.inf

    def add(self, seconds: float, cpu: float) -> None:
        self.count += 1
        self.total += seconds
        self.cpu += cpu
        delta = seconds - self.mean
        self.mean += delta / self.count
        self.m2 += delta * (seconds - self.mean)
        self.minimum = min(self.minimum, seconds)
        self.maximum = max(self.maximum, seconds)

    def result(self, name: str) -> ProfileResult:
        stdev = math.sqrt(self.m2 / (self.count - 1)) if self.count > 1 else 0.0
        return ProfileResult(
            name,
            self.count,
            self.total,
            self.total / self.count,
            self.minimum,
            self.maximum,
            stdev,
            self.cpu,
        )


class PerformanceProfiler:
    """Named timings from any number of threads at once.

    ``start(name)`` opens a timing and returns its token; ``end(name)`` closes the
    most recent open timing of ``name`` in the calling thread (or the one whose
    ``token`` is given, from any thread). Timings of a name may nest (recursion) and
    run concurrently. ``clock`` gives wall time; ``cpu_clock`` the calling thread's
    CPU time (counted only when a timing ends in the thread that started it).

    Example:
        >>> profiler = PerformanceProfiler()
        >>> @profiler.profile_function
        ... def work(n):
        ...     return sum(range(n))
        >>> _ = [work(100) for _ in range(3)]
        >>> with profiler.profile_context("block"):
        ...     _ = work(10)
        >>> {name: r.count for name, r in profiler.get_profile_summary().items()}
        {'block': 1, 'work': 4}
    """

    def __init__(self, clock: Clock = time.perf_counter, cpu_clock: Clock = time.thread_time):
        self._clock = clock
        self._cpu_clock = cpu_clock
        self._lock = threading.Lock()
        self._stats: dict[str, _Accumulator] = {}
        # token -> (name, thread id, start, cpu start)
        self._open: dict[int, tuple[str, int, float, float]] = {}
        self._next_token = 0
        self._local = threading.local()

    def _stack(self) -> list[int]:
        stack: list[int] | None = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    def start(self, name: str) -> int:
        """Open a timing of ``name``; return its token."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"a profile name must be a non-empty string, got {name!r}")
        with self._lock:
            token = self._next_token
            self._next_token += 1
        cpu = self._cpu_clock()
        began = self._clock()
        with self._lock:
            self._open[token] = (name, threading.get_ident(), began, cpu)
        stack = self._stack()
        if len(stack) >= 64:  # drop tokens that other threads ended
            with self._lock:
                stack[:] = [t for t in stack if t in self._open]
        stack.append(token)
        return token

    def end(self, name: str, token: int | None = None) -> float:
        """Close a timing of ``name``; return its wall time in seconds.

        Raises ValueError when no such timing is open.
        """
        ended = self._clock()
        cpu_now = self._cpu_clock()
        stack = self._stack()
        with self._lock:
            if token is None:
                token = self._innermost(stack, name)
            opened = self._open.get(token) if token is not None else None
            if token is None or opened is None or opened[0] != name:
                raise ValueError(f"no open profile timing named {name!r} to end")
            del self._open[token]
            _, thread, began, cpu = opened
            same_thread = thread == threading.get_ident()
            seconds = ended - began
            self._stats.setdefault(name, _Accumulator()).add(
                seconds, cpu_now - cpu if same_thread else 0.0
            )
        if token in stack:
            stack.remove(token)
        return seconds

    def _innermost(self, stack: list[int], name: str) -> int | None:
        for token in reversed(stack):
            opened = self._open.get(token)
            if opened is not None and opened[0] == name:
                return token
        return None

    @contextmanager
    def profile_context(self, name: str) -> Iterator[None]:
        """Time the block under ``name`` (recorded even when it raises)."""
        token = self.start(name)
        try:
            yield
        finally:
            self.end(name, token)

    @overload
    def profile_function(
        self, func: Callable[P, R], *, name: str | None = None
    ) -> Callable[P, R]: ...

    @overload
    def profile_function(
        self, func: None = None, *, name: str | None = None
    ) -> Callable[[Callable[P, R]], Callable[P, R]]: ...

    def profile_function(
        self, func: Callable[P, R] | None = None, *, name: str | None = None
    ) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
        """Decorator: time every call under ``name`` (default: the function's
        qualified name, without any enclosing function). Use bare
        (``@p.profile_function``) or with ``name=``."""

        def decorate(f: Callable[P, R]) -> Callable[P, R]:
            qualname = getattr(f, "__qualname__", None) or repr(f)
            label = name or qualname.rsplit("<locals>.", 1)[-1]

            @functools.wraps(f)
            def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
                token = self.start(label)
                try:
                    return f(*args, **kwargs)
                finally:
                    self.end(label, token)

            return wrapper

        return decorate if func is None else decorate(func)

    def get_profile_summary(self) -> dict[str, ProfileResult]:
        """Every name's finished timings, by name (sorted)."""
        with self._lock:
            return {name: self._stats[name].result(name) for name in sorted(self._stats)}

    def open_timings(self) -> int:
        """How many timings are open now (started and not yet ended)."""
        with self._lock:
            return len(self._open)

    def reset(self) -> None:
        """Forget every finished timing (open ones stay open)."""
        with self._lock:
            self._stats.clear()


# --------------------------------------------------------------------------- system


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _memory_total_mb() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / MB
    except (ValueError, OSError, AttributeError):
        return None


def usable_cpus() -> int:
    """CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def get_system_info() -> dict[str, Any]:
    """The machine and software a benchmark ran on (saved with every run).

    Example:
        >>> info = get_system_info()
        >>> {"python", "dpa_version", "backend", "cpu_count"} <= set(info)
        True
    """
    import numpy

    from .. import __version__, _kernel as kernel
    from .._backends import backend

    features: dict[str, Any] | None = None
    if kernel.KERNEL is not None:
        features = dict(kernel.KERNEL.features())
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable_cpus(),
        "memory_total_mb": _memory_total_mb(),
        "dpa_version": __version__,
        "numpy": numpy.__version__,
        "backend": backend(),
        "kernel_features": features,
    }
