"""The argument checks every module shares: one wording for one mistake.

Each check returns the value in the form the library uses, or raises TypeError (the
wrong kind of value) or ValueError (the right kind, out of range) naming the
argument.

Example:
    >>> check_int(3, "depth", 1)
    3
"""

from __future__ import annotations

import numbers
import os
from pathlib import Path
from typing import Any

__all__ = [
    "MAX_ID_DIGITS",
    "check_callable",
    "check_int",
    "check_path",
    "check_sample_id",
]

#: The most decimal digits a sample id may have. Ids of any practical size work; past
#: this, converting one between int and text (CPython's conversion is quadratic in
#: the digits) would make a single record cost seconds: a 1,000,000-digit id took 7 s
#: to verify.
MAX_ID_DIGITS = 10_000
_ID_LIMIT = 10**MAX_ID_DIGITS
_ID_LIMIT_BITS = _ID_LIMIT.bit_length() - 1


def check_int(value: Any, name: str, minimum: int = 0) -> int:
    """``value`` as an int; TypeError unless it is an integer (bools are not),
    ValueError when it is below ``minimum``.

    Example:
        >>> check_int(3, "depth", 1)
        3
    """
    if type(value) is int and value >= minimum:  # the common case, without the ABC check
        return value
    wanted = "a non-negative int" if minimum == 0 else f"an int >= {minimum}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be {wanted}, got {value!r}")
    number = int(value)
    if number < minimum:
        raise ValueError(f"{name} must be {wanted}, got {number}")
    return number


def check_sample_id(seed_id: Any, name: str = "seed_id") -> int:
    """``seed_id`` as an int; TypeError/ValueError unless it is a non-negative integer.

    Example:
        >>> check_sample_id(7)
        7
    """
    number = check_int(seed_id, name, 0)
    if number.bit_length() > _ID_LIMIT_BITS and number >= _ID_LIMIT:
        raise ValueError(
            f"{name} must have at most {MAX_ID_DIGITS} digits, "
            f"got about {int(number.bit_length() * 0.30103) + 1}"
        )
    return number


def check_path(path: Any, name: str = "path") -> Path:
    """``path`` as a Path; TypeError unless it is a non-empty str or os.PathLike.

    Example:
        >>> check_path("out.json").name
        'out.json'
    """
    if not isinstance(path, str | os.PathLike) or str(path) == "":
        raise TypeError(f"{name} must be a non-empty str or os.PathLike, got {path!r}")
    return Path(path)


def check_callable(value: Any, name: str) -> Any:
    """``value`` when it is callable or None; TypeError naming ``name`` otherwise."""
    if value is not None and not callable(value):
        raise TypeError(f"{name} must be callable")
    return value
