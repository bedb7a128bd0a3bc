"""Worker processes for benchmarks that span processes: each worker runs the calls it
is sent and times them on one system-wide clock (:func:`time.monotonic`), so that
the ranks of a round line up against each other.

A call is a function and its arguments, sent with pickle: the function must be
importable by name in a ``spawn``-ed process (a module-level function; a script that
uses the pool needs the ``if __name__ == "__main__":`` guard, as for any spawn).

Example:
    >>> with WorkerPool(1) as pool:
    ...     done = pool.round([(abs, (-3,))])
    >>> done.replies[0].value, done.wall_seconds > 0
    (3, True)
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .measure import Timing, measure_time, time_call

__all__ = ["Call", "Reply", "Round", "WorkerPool"]

#: A function and its positional arguments.
Call = tuple[Callable[..., Any], tuple[Any, ...]]

_READY = "ready"


@dataclass(frozen=True)
class Reply:
    """What one worker answered: the timing of its call (``started`` on
    :func:`time.monotonic`, CPU time of the worker process) and what it returned."""

    timing: Timing
    value: Any


@dataclass(frozen=True)
class Round:
    """One call per worker, all sent at once: ``wall_seconds`` from sending the first
    to receiving the last answer (in this process), and each worker's reply."""

    wall_seconds: float
    replies: list[Reply]

    @property
    def span_seconds(self) -> float:
        """From the first worker starting its call to the last one ending it."""
        return max(r.timing.ended for r in self.replies) - min(
            r.timing.started for r in self.replies
        )


@dataclass(frozen=True)
class _Failure:
    text: str


def _serve(conn: Any) -> None:
    """A worker process: run each call it is sent, answer with a :class:`Reply`."""
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        except Exception as exc:  # a call that cannot be unpickled here
            conn.send(_Failure(f"{type(exc).__name__}: {exc}"))
            continue
        if message is None:
            return
        if message == _READY:
            conn.send(_READY)
            continue
        func, args = message
        try:
            timing, value = time_call(functools.partial(func, *args), clock=time.monotonic)
        except Exception as exc:
            conn.send(_Failure(f"{type(exc).__name__}: {exc}"))
            continue
        conn.send(Reply(timing, value))


class WorkerPool:
    """``size`` worker processes (``spawn``), one pipe each; started, and waited for
    until each has imported what it needs, on entering; stopped on exit."""

    #: Seconds to wait for a worker's answer before giving up.
    TIMEOUT = 600.0

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"a worker pool needs at least one process, got {size}")
        self.size = size
        self._pipes: list[Any] = []
        self._processes: list[Any] = []

    def __enter__(self) -> WorkerPool:
        context = multiprocessing.get_context("spawn")
        try:
            for _ in range(self.size):
                ours, theirs = context.Pipe()
                process = context.Process(target=_serve, args=(theirs,), daemon=True)
                process.start()
                theirs.close()
                self._pipes.append(ours)
                self._processes.append(process)
            for pipe in self._pipes:
                pipe.send(_READY)
            for pipe in self._pipes:
                self._receive(pipe)
        except BaseException:
            self.__exit__()
            raise
        return self

    def _receive(self, pipe: Any) -> Any:
        if not pipe.poll(self.TIMEOUT):
            raise RuntimeError("benchmark worker pool: a worker process did not answer")
        try:
            answer = pipe.recv()
        except (EOFError, OSError):
            raise RuntimeError(
                "benchmark worker pool: a worker process exited (a script that uses it needs "
                "the `if __name__ == '__main__':` guard, as for any multiprocessing spawn)"
            ) from None
        return answer

    def round(self, calls: Sequence[Call]) -> Round:
        """Send call ``i`` to worker ``i`` (at most one per worker), all at once; wait
        for every answer. RuntimeError if a call raised."""
        if len(calls) > len(self._pipes):
            raise ValueError(f"{len(calls)} calls for {len(self._pipes)} worker processes")
        pipes = self._pipes[: len(calls)]
        with measure_time() as timing:
            for pipe, call in zip(pipes, calls, strict=True):
                pipe.send(call)
            answers = [self._receive(pipe) for pipe in pipes]
        failures = [a.text for a in answers if isinstance(a, _Failure)]
        if failures:
            raise RuntimeError(f"benchmark worker pool: a call failed: {'; '.join(failures)}")
        return Round(timing.wall_seconds, answers)

    def __exit__(self, *exc: object) -> None:
        for pipe in self._pipes:
            with contextlib.suppress(OSError, ValueError):
                pipe.send(None)
        for process in self._processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
        for pipe in self._pipes:
            pipe.close()
        self._pipes, self._processes = [], []
