"""Argument checks worded as DPA v0.2 worded them (``sample_id must be non-negative``,
``rank (4) must be < world_size (4)``), so that code matching v0.2's messages keeps
matching. Each raises ValueError and returns nothing.

Example:
    >>> check_rank(4, 4)
    Traceback (most recent call last):
    ...
    ValueError: rank (4) must be < world_size (4)
"""

from __future__ import annotations

__all__ = [
    "check_chunk_size",
    "check_id_range",
    "check_non_negative",
    "check_positive",
    "check_rank",
    "check_world_size",
]


def check_non_negative(value: int, name: str) -> None:
    """``name must be non-negative`` unless ``value >= 0``.

    Example:
        >>> check_non_negative(0, "num_samples")
    """
    if value < 0:
        raise ValueError(f"{name} must be non-negative")


def check_positive(value: float, name: str) -> None:
    """``name must be positive`` unless ``value > 0``.

    Example:
        >>> check_positive(1, "buffer_size")
    """
    if value <= 0:
        raise ValueError(f"{name} must be positive")


def check_chunk_size(chunk_size: int | None) -> None:
    """A chunk size is None (one record at a time) or positive.

    Example:
        >>> check_chunk_size(None)
    """
    if chunk_size is not None:
        check_positive(chunk_size, "chunk_size")


def check_world_size(world_size: int) -> None:
    """``world_size must be >= 1`` unless it is.

    Example:
        >>> check_world_size(1)
    """
    if world_size < 1:
        raise ValueError("world_size must be >= 1")


def check_rank(rank: int, world_size: int) -> None:
    """A rank of ``world_size`` ranks: ``0 <= rank < world_size``, checked in v0.2's
    order (the rank's sign, the world size, then the bound).

    Example:
        >>> check_rank(3, 4)
    """
    check_non_negative(rank, "rank")
    check_world_size(world_size)
    if rank >= world_size:
        raise ValueError(f"rank ({rank}) must be < world_size ({world_size})")


def check_id_range(start_id: int, end_id: int) -> None:
    """The ids ``start_id .. end_id - 1``: a non-negative start, an end not before it.

    Example:
        >>> check_id_range(5, 5)
    """
    check_non_negative(start_id, "start_id")
    if end_id < start_id:
        raise ValueError("end_id must be >= start_id")
