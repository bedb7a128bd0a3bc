"""What dpa asks of the machine it runs on: how many CPUs this process may use, and
how much memory it and the machine hold. The only module that imports psutil (on
first use, so ``import dpa`` does not).

Example:
    >>> usable_cpus() >= 1
    True
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

__all__ = ["DISTRIBUTION", "ProcessRSS", "machine_memory", "package_version", "usable_cpus"]

#: dpa's name on the package registry (``pip install dpa-augment``); it imports as ``dpa``.
DISTRIBUTION = "dpa-augment"


@cache
def package_version() -> str:
    """The installed dpa's version ("0.0.0+unknown" in a source tree not installed).

    Example:
        >>> package_version() != ""
        True
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "0.0.0+unknown"


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the system has one,
    else the machine's count).

    Example:
        >>> usable_cpus() <= (os.cpu_count() or 1)
        True
    """
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class ProcessRSS:
    """A callable that reads this process's resident set size in bytes, also after a
    fork (it notices the new pid).

    Example:
        >>> ProcessRSS()() > 0
        True
    """

    def __init__(self) -> None:
        self._pid = -1
        self._process: Any = None

    def __call__(self) -> int:
        import psutil  # type: ignore[import-untyped]

        pid = os.getpid()
        process = self._process
        if process is None or self._pid != pid:
            process = psutil.Process(pid)
            self._process, self._pid = process, pid
        return int(process.memory_info().rss)


def machine_memory() -> Any:
    """The machine's memory now (``psutil.virtual_memory()``: ``total``,
    ``available``, ``percent``; bytes).

    Example:
        >>> machine_memory().total > 0
        True
    """
    import psutil

    return psutil.virtual_memory()
