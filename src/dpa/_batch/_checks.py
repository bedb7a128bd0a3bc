"""The checks of the batch settings: sizes (positive ints), amounts (positive finite
numbers) and the ``min_batch_size .. max_batch_size`` bounds, shared by the
configuration and the memory tools so that one mistake has one wording.

Each raises ``TypeError`` for a value of the wrong kind and
:class:`~dpa.InvalidBatchConfigError` (a ``ValueError``) for one out of range.

Example:
    >>> check_size(8, "batch_size"), check_positive(0.5, "max_memory_mb")
    (8, 0.5)
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from .._errors import InvalidBatchConfigError

__all__ = [
    "check_bounds",
    "check_optional_positive",
    "check_optional_size",
    "check_positive",
    "check_size",
]


def _size(value: Any, name: str, wanted: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be {wanted}, got {value!r}")
    if value < 1:
        raise InvalidBatchConfigError(f"{name} ({value}) must be positive")
    return int(value)


def check_size(value: Any, name: str) -> int:
    """``value`` as a positive int (numpy ints too, bools not).

    Example:
        >>> check_size(0, "num_lanes")
        Traceback (most recent call last):
        ...
        dpa.InvalidBatchConfigError: num_lanes (0) must be positive
    """
    return _size(value, name, "an int")


def check_optional_size(value: Any, name: str) -> int | None:
    """:func:`check_size`, or None for None.

    Example:
        >>> check_optional_size(None, "max_batch_size") is None
        True
    """
    return None if value is None else _size(value, name, "an int or None")


def check_positive(value: Any, name: str) -> float:
    """``value`` when it is a positive finite number: an int stays an int, any other
    real becomes a float.

    Example:
        >>> check_positive(1000, "max_memory_mb"), check_positive(2.5, "target_batch_ms")
        (1000, 2.5)
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        number = math.inf
    if not (math.isfinite(number) and number > 0):
        raise InvalidBatchConfigError(f"{name} must be a positive number, got {value!r}")
    return int(value) if isinstance(value, numbers.Integral) else number


def check_optional_positive(value: Any, name: str) -> float | None:
    """:func:`check_positive`, or None for None.

    Example:
        >>> check_optional_positive(None, "interval_s") is None
        True
    """
    return None if value is None else check_positive(value, name)


def check_bounds(min_batch_size: int, max_batch_size: int | None) -> None:
    """Raise unless ``max_batch_size`` (None: no bound) is at least ``min_batch_size``
    (both already checked by :func:`check_size`).

    Example:
        >>> check_bounds(8, 4)
        Traceback (most recent call last):
        ...
        dpa.InvalidBatchConfigError: max_batch_size (4) cannot be less than min_batch_size (8)
    """
    if max_batch_size is not None and max_batch_size < min_batch_size:
        raise InvalidBatchConfigError(
            f"max_batch_size ({max_batch_size}) cannot be less than "
            f"min_batch_size ({min_batch_size})"
        )
