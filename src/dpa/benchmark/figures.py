"""What a benchmark result may hold: the checks of its counts, times and figures.

A result read from a saved run is checked as it is built, so that no rate or
latency computed from it overflows, and a value of the wrong kind is named (its
benchmark and field) rather than failing later in a report: counts are ints in
1 .. :data:`MAX_COUNT` (exact as floats), times and figures finite numbers in
0 .. :data:`MAX_FIGURE`.

Example:
    >>> check_times([0.5, 2], "times"), check_count(64, "samples_per_iteration")
    ((0.5, 2.0), 64)
    >>> check_figure(10**400, "memory_peak_mb")
    Traceback (most recent call last):
    ...
    ValueError: memory_peak_mb must be a finite number in 0 .. 1e300, got an int of 1329 bits
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "MAX_COUNT",
    "MAX_FIGURE",
    "NUMERIC_EXTRA",
    "brief",
    "check_count",
    "check_figure",
    "check_times",
]

#: The largest sample or call count per iteration: every count below is exact as a
#: float, so rates and latencies are computed without overflow or rounding.
MAX_COUNT = 2**53
#: The largest time or figure a result holds: ratios of two stay finite.
MAX_FIGURE = 1e300
#: The ``extra`` figures the reports compute with: each a finite number or None.
NUMERIC_EXTRA = (
    "cpu_seconds",
    "distributed_efficiency",
    "rank_coordination_overhead_ms",
    "speedup_vs_python",
    "file_bytes",
    "rss_mb",
)


def brief(value: Any) -> str:
    """``repr(value)`` cut to 60 characters (an int too long to print: its size).

    Example:
        >>> brief(2**300)
        'an int of 301 bits'
    """
    if isinstance(value, int) and value.bit_length() > 200:
        return f"an int of {value.bit_length()} bits"
    return f"{value!r:.60}"


def check_count(value: Any, what: str) -> int:
    """``value`` as an int in 1 .. :data:`MAX_COUNT` (ValueError naming ``what``
    otherwise; bools are not counts)."""
    integral = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not integral or not 1 <= value <= MAX_COUNT:
        raise ValueError(f"{what} must be an int in 1 .. 2**53, got {brief(value)}")
    return int(value)


def check_figure(value: Any, what: str) -> float:
    """``value`` as a finite float in 0 .. :data:`MAX_FIGURE` (ValueError naming
    ``what`` otherwise; bools are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number, got {brief(value)}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number) or number < 0 or number > MAX_FIGURE:
        raise ValueError(f"{what} must be a finite number in 0 .. 1e300, got {brief(value)}")
    return number


def check_times(values: Any, what: str) -> tuple[float, ...]:
    """``values`` (a list of numbers) as a tuple of figures (:func:`check_figure`)."""
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        raise ValueError(f"{what} must be a list of numbers, got {brief(values)}")
    return tuple(check_figure(value, what) for value in values)
