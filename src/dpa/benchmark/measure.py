"""Measuring: the one timer of dpa.benchmark (wall and CPU time of a call or a block),
the garbage collector paused while timing, memory, and the machine.

Nothing here sleeps: CPU use is process (or thread) CPU time over wall time, read
from the clocks before and after.

Example:
    >>> timing, value = time_call(lambda: sum(range(1000)))
    >>> value, timing.wall_seconds >= 0
    (499500, True)
"""

from __future__ import annotations

import gc
import importlib
import os
import platform
import sys
import threading
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from .._system import ProcessRSS, machine_memory, usable_cpus

__all__ = [
    "Clock",
    "MemoryUsage",
    "Timing",
    "current_rss_mb",
    "get_system_info",
    "measure_memory",
    "measure_time",
    "paused_gc",
    "peak_rss_mb",
    "time_call",
]

MB = 1024 * 1024
Clock = Callable[[], float]
T = TypeVar("T")

#: Names that lived here before 0.4, and the module that has them now.
_MOVED = {"PerformanceProfiler": "profiler", "ProfileResult": "profiler"}


def __getattr__(name: str) -> Any:
    """The profiler's names, read from their module now, with a DeprecationWarning
    (``dpa.benchmark.PerformanceProfiler`` is the path that stays)."""
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        f"{__name__}.{name} moved to dpa.benchmark.{_MOVED[name]}: import it from "
        f"dpa.benchmark ({name}); this path goes in dpa 0.5",
        DeprecationWarning,
        stacklevel=2,
    )
    module = importlib.import_module(f"{__package__}.{_MOVED[name]}")
    return getattr(module, name)


# --------------------------------------------------------------------------- time


@dataclass
class Timing:
    """What :func:`measure_time` or :func:`time_call` measured: ``started`` is the
    wall clock's reading when the timing began (so that timings taken in several
    processes on one system-wide clock, such as :func:`time.monotonic`, line up)."""

    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    started: float = 0.0

    @property
    def ended(self) -> float:
        """The wall clock's reading when the timing ended."""
        return self.started + self.wall_seconds

    @property
    def cpu_percent(self) -> float:
        """CPU time over wall time, in percent (above 100 with several busy threads)."""
        return 100.0 * self.cpu_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0


class _TimedBlock:
    """The context manager of :func:`measure_time`: clocks read on entry and exit, the
    CPU clock outside the wall clock."""

    __slots__ = ("_clock", "_cpu_clock", "_cpu_start", "timing")

    def __init__(self, clock: Clock, cpu_clock: Clock) -> None:
        self._clock, self._cpu_clock = clock, cpu_clock
        self._cpu_start = 0.0
        self.timing = Timing()

    def __enter__(self) -> Timing:
        self._cpu_start = self._cpu_clock()
        self.timing.started = self._clock()
        return self.timing

    def __exit__(self, *exc: object) -> None:
        ended = self._clock()
        cpu_ended = self._cpu_clock()
        self.timing.wall_seconds = ended - self.timing.started
        self.timing.cpu_seconds = cpu_ended - self._cpu_start


def measure_time(
    clock: Clock = time.perf_counter, cpu_clock: Clock = time.process_time
) -> _TimedBlock:
    """Wall time (``clock``) and CPU time of this process (``cpu_clock``) of a block;
    the :class:`Timing` is filled in when the block ends (also when it raises).

    Example:
        >>> with measure_time() as t:
        ...     _ = sum(range(1000))
        >>> t.wall_seconds >= 0 and t.cpu_seconds >= 0
        True
    """
    return _TimedBlock(clock, cpu_clock)


def time_call(
    func: Callable[[], T], clock: Clock = time.perf_counter, cpu_clock: Clock = time.process_time
) -> tuple[Timing, T]:
    """One call of ``func()`` under :func:`measure_time`: its timing and what it returned."""
    with measure_time(clock, cpu_clock) as timing:
        value = func()
    return timing, value


@contextmanager
def paused_gc(pause: bool = True) -> Iterator[None]:
    """Collect garbage, then keep the collector off during the block, as :mod:`timeit`
    does while it times (on again after it, where it was on); nothing with
    ``pause=False``.

    Example:
        >>> with paused_gc():
        ...     gc.isenabled()
        False
    """
    if not pause:
        yield
        return
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# --------------------------------------------------------------------------- memory

_process_rss = ProcessRSS()


def current_rss_mb() -> float:
    """This process's resident set size now, in MiB (:class:`dpa._system.ProcessRSS`).

    Example:
        >>> current_rss_mb() > 0
        True
    """
    return _process_rss() / MB


def peak_rss_mb() -> float | None:
    """The largest resident set size this process has had, in MiB (``None`` where the
    system does not say: :mod:`resource` is not on Windows)."""
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


def get_system_info() -> dict[str, Any]:
    """The machine and software a benchmark ran on (saved with every run).

    Example:
        >>> info = get_system_info()
        >>> {"python", "dpa_version", "backend", "cpu_count"} <= set(info)
        True
    """
    import numpy

    from .. import _kernel as kernel
    from .._backends import backend
    from .._system import package_version

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
        "memory_total_mb": machine_memory().total / MB,
        "dpa_version": package_version(),
        "numpy": numpy.__version__,
        "backend": backend(),
        "kernel_features": features,
    }
