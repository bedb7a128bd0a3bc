"""This process's memory, read and watched: :class:`MemoryInfo` (a reading of the
process and the machine), :class:`MemoryMonitor` (growth of this process since a
baseline, with a peak and an optional limit) and :func:`memory_monitor` (a monitor
over a ``with`` block, sampled by a background thread).

Readings come from :mod:`dpa._system` (psutil, imported on first use); a monitor takes
any callable returning bytes instead, for tests.

Example:
    >>> readings = iter([100 * MIB, 104 * MIB])
    >>> monitor = MemoryMonitor(rss=lambda: next(readings))
    >>> monitor.sample() // MIB
    4
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .._errors import InvalidBatchConfigError, MemoryLimitExceededError
from .._system import ProcessRSS, machine_memory
from ._checks import check_optional_positive, check_positive

__all__ = ["MIB", "MemoryInfo", "MemoryMonitor", "get_memory_usage", "memory_monitor"]

#: Bytes in a MiB (what the ``_mb`` settings and readings count).
MIB = 1 << 20


@dataclass(frozen=True)
class MemoryInfo:
    """Memory of this process and of the machine, in MiB, at one moment.

    ``rss_mb`` is this process's resident set size; ``available_mb``, ``total_mb`` and
    ``percent_used`` describe the machine (``psutil.virtual_memory()``).

    Example:
        >>> info = MemoryInfo.current()
        >>> 0 < info.rss_mb < info.total_mb
        True
    """

    rss_mb: float
    available_mb: float
    total_mb: float
    percent_used: float

    @property
    def used_mb(self) -> float:
        """Memory of the machine not available to new work: ``total_mb`` less
        ``available_mb``."""
        return self.total_mb - self.available_mb

    @classmethod
    def current(cls) -> MemoryInfo:
        """Read it now."""
        return _reading(ProcessRSS()())


def _reading(rss_bytes: int) -> MemoryInfo:
    """A :class:`MemoryInfo` of ``rss_bytes`` and the machine's memory now."""
    machine = machine_memory()
    return MemoryInfo(
        rss_mb=rss_bytes / MIB,
        available_mb=machine.available / MIB,
        total_mb=machine.total / MIB,
        percent_used=float(machine.percent),
    )


def get_memory_usage() -> MemoryInfo:
    """:meth:`MemoryInfo.current` (DPA v0.2's name).

    Example:
        >>> get_memory_usage().available_mb > 0
        True
    """
    return MemoryInfo.current()


class MemoryMonitor:
    """How far this process's resident memory has grown since a baseline.

    The baseline is the RSS when the monitor is made (or :meth:`reset`); growth is
    never that of the machine. ``rss`` replaces the reading (a callable returning
    bytes), for tests. With ``max_memory_mb``, :meth:`check` raises
    :class:`MemoryLimitExceededError` past it. Safe to share between threads.

    Example:
        >>> monitor = MemoryMonitor()
        >>> growth = monitor.sample()
        >>> monitor.peak_growth_bytes >= max(growth, 0)
        True
    """

    def __init__(
        self,
        max_memory_mb: float | None = None,
        *,
        rss: Callable[[], int] | None = None,
    ) -> None:
        self.max_memory_mb = check_optional_positive(max_memory_mb, "max_memory_mb")
        if rss is not None and not callable(rss):
            raise TypeError(f"rss must be a callable returning bytes, got {rss!r}")
        self._rss = rss if rss is not None else ProcessRSS()
        self._lock = threading.Lock()
        self.baseline_bytes = int(self._rss())
        self._peak = 0

    def rss_bytes(self) -> int:
        """This process's resident set size now."""
        return int(self._rss())

    def sample(self) -> int:
        """Growth in bytes now (negative when below the baseline); updates the peak."""
        growth = self.rss_bytes() - self.baseline_bytes
        with self._lock:
            if growth > self._peak:
                self._peak = growth
        return growth

    @property
    def peak_growth_bytes(self) -> int:
        """The largest growth sampled so far (0 before any growth)."""
        with self._lock:
            return self._peak

    @property
    def peak_growth_mb(self) -> float:
        """:attr:`peak_growth_bytes` in MiB."""
        return self.peak_growth_bytes / MIB

    def reset(self) -> None:
        """Take the RSS now as the baseline and forget the peak."""
        baseline = self.rss_bytes()
        with self._lock:
            self.baseline_bytes = baseline
            self._peak = 0

    def check(self) -> int:
        """Sample; raise :class:`MemoryLimitExceededError` when the growth now is past
        ``max_memory_mb``. Returns the growth in bytes."""
        growth = self.sample()
        if self.max_memory_mb is not None and growth > self.max_memory_mb * MIB:
            raise MemoryLimitExceededError(growth / MIB, self.max_memory_mb)
        return growth

    def info(self) -> MemoryInfo:
        """This process's and the machine's memory now."""
        return _reading(self.rss_bytes())


@contextlib.contextmanager
def memory_monitor(
    max_memory_mb: float,
    *,
    interval_s: float | None = 0.05,
    rss: Callable[[], int] | None = None,
) -> Iterator[MemoryMonitor]:
    """Watch this process's memory growth over a ``with`` block.

    Yields a :class:`MemoryMonitor` whose baseline is the RSS on entry; its
    :meth:`~MemoryMonitor.check` raises at once when called past the limit. A
    background thread samples every ``interval_s`` seconds (None: only on entry, exit
    and ``check``), so that a peak freed before the end still counts. On leaving the
    block normally, :class:`MemoryLimitExceededError` is raised when the peak growth
    went past ``max_memory_mb``; an exception from the block itself goes through as it is.

    Example:
        >>> with memory_monitor(max_memory_mb=1000) as monitor:
        ...     data = bytearray(1 << 20)
        >>> monitor.peak_growth_mb < 1000
        True
    """
    limit = check_positive(max_memory_mb, "max_memory_mb")
    interval = check_optional_positive(interval_s, "interval_s")
    if interval is not None and interval > threading.TIMEOUT_MAX:
        raise InvalidBatchConfigError(f"interval_s must be at most {threading.TIMEOUT_MAX:g}")
    monitor = MemoryMonitor(limit, rss=rss)
    stop = threading.Event()
    sampler = None
    if interval is not None:

        def run() -> None:
            while not stop.wait(interval):
                monitor.sample()

        sampler = threading.Thread(target=run, name="dpa-memory-monitor", daemon=True)
        sampler.start()
    try:
        yield monitor
    finally:
        stop.set()
        if sampler is not None:
            sampler.join()
    monitor.sample()
    if monitor.peak_growth_bytes > limit * MIB:
        raise MemoryLimitExceededError(monitor.peak_growth_mb, limit)
