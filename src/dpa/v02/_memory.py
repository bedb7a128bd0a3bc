"""Memory readings in DPA v0.2's terms: this process's resident and virtual size,
and the machine's memory (``psutil.virtual_memory()``, read through dpa's one psutil
reader, :mod:`dpa._system`).

Example:
    >>> rss, vms = process_memory()
    >>> 0 < rss and 0 <= vms
    True
"""

from __future__ import annotations

import os

from .._system import ProcessRSS, machine_memory

__all__ = ["MIB", "machine_memory", "process_memory", "rss_mb"]

#: Bytes in a MiB, the "MB" of v0.2's figures.
MIB = 1024 * 1024


def process_memory() -> tuple[int, int]:
    """This process's ``(rss, vms)`` in bytes: resident set and virtual size.

    Read from ``/proc/self/statm`` where the system has it; elsewhere the resident
    set alone, with a virtual size of 0.

    Example:
        >>> process_memory()[0] > 0
        True
    """
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            size_pages, resident_pages = (int(word) for word in handle.read().split()[:2])
        page = os.sysconf("SC_PAGE_SIZE")
        return resident_pages * page, size_pages * page
    except (OSError, ValueError, AttributeError):
        return ProcessRSS()(), 0


def rss_mb() -> float:
    """This process's resident set size now, in MiB.

    Example:
        >>> rss_mb() > 0
        True
    """
    return process_memory()[0] / MIB
