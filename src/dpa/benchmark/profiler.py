"""A profiler: named timings from any number of threads at once, with count, total,
mean, spread and CPU time per name.

Example:
    >>> profiler = PerformanceProfiler()
    >>> with profiler.profile_context("load"):
    ...     _ = sum(range(100))
    >>> profiler.get_profile_summary()["load"].count
    1
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, ParamSpec, TypeVar, overload

__all__ = ["PerformanceProfiler", "ProfileResult"]

P = ParamSpec("P")
R = TypeVar("R")
Clock = Callable[[], float]


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
        """The fields as a dict."""
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
