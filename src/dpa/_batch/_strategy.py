"""What a batch run is asked to do: the four strategies (:class:`BatchStrategy`), their
settings (:class:`BatchConfig`, checked on construction) and the default sizes.

Example:
    >>> config = BatchConfig("adaptive", batch_size=64, target_batch_ms=20)
    >>> config.strategy, first_batch_size(config, DEFAULT_RANGE_BATCH_SIZE)
    (<BatchStrategy.ADAPTIVE: 'adaptive'>, 64)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .._errors import InvalidBatchConfigError
from ._checks import (
    check_bounds,
    check_optional_positive,
    check_optional_size,
    check_positive,
    check_size,
)

__all__ = [
    "DEFAULT_RANGE_BATCH_SIZE",
    "DEFAULT_STREAM_BATCH_SIZE",
    "DEFAULT_TARGET_BATCH_MS",
    "BatchConfig",
    "BatchStrategy",
    "check_strategy",
    "first_batch_size",
]

#: Items per batch of :meth:`BatchProcessor.process_stream` when ``batch_size`` is None (v0.2's).
DEFAULT_STREAM_BATCH_SIZE = 32
#: Ids per batch of :meth:`BatchProcessor.process_range` when ``batch_size`` is None.
DEFAULT_RANGE_BATCH_SIZE = 4096
#: The adaptive strategy's target time per batch when ``target_batch_ms`` is None.
DEFAULT_TARGET_BATCH_MS = 100.0


class BatchStrategy(StrEnum):
    """How a :class:`BatchProcessor` cuts work into batches (see :mod:`dpa._batch`).

    Example:
        >>> BatchStrategy("round_robin") is BatchStrategy.ROUND_ROBIN
        True
    """

    SEQUENTIAL = "sequential"
    ROUND_ROBIN = "round_robin"
    MEMORY_OPTIMIZED = "memory_optimized"
    ADAPTIVE = "adaptive"


_STRATEGY_NAMES = ", ".join(s.value for s in BatchStrategy)


def check_strategy(value: Any) -> BatchStrategy:
    """``value`` as a :class:`BatchStrategy`: the member itself or its value in any case.

    Example:
        >>> check_strategy("MEMORY_OPTIMIZED")
        <BatchStrategy.MEMORY_OPTIMIZED: 'memory_optimized'>
    """
    if isinstance(value, BatchStrategy):
        return value
    if not isinstance(value, str):
        raise TypeError(
            f"strategy must be a BatchStrategy or one of {_STRATEGY_NAMES}, got {value!r}"
        )
    try:
        return BatchStrategy(value.lower())
    except ValueError:
        raise InvalidBatchConfigError(
            f"unknown batch strategy {value!r}; choose one of {_STRATEGY_NAMES}"
        ) from None


@dataclass(frozen=True, init=False)
class BatchConfig:
    """Settings of a :class:`BatchProcessor`, validated on construction.

    * ``strategy``: a :class:`BatchStrategy` or its value (``"sequential"``, ...).
    * ``batch_size``: items per batch for ``SEQUENTIAL``, per lane batch for
      ``ROUND_ROBIN``, the first batch for ``MEMORY_OPTIMIZED`` and ``ADAPTIVE`` (which
      then choose their own). None: :data:`DEFAULT_STREAM_BATCH_SIZE` (32, as DPA v0.2)
      for ``process_stream``, :data:`DEFAULT_RANGE_BATCH_SIZE` for ``process_range``.
    * ``max_memory_mb``: how far (MiB) the memory-aware strategies may let this
      process's resident memory grow during a run.
    * ``min_batch_size``, ``max_batch_size``: bounds of the sizes the memory-aware
      strategies choose (a stream's last batch may be shorter).
    * ``num_lanes``: the lanes of ``ROUND_ROBIN`` (only).
    * ``target_batch_ms``: the time per batch ``ADAPTIVE`` aims at (only);
      None: :data:`DEFAULT_TARGET_BATCH_MS`.

    Raises :class:`InvalidBatchConfigError` (a ``ValueError``) for a value out of range
    or a setting the strategy does not use, ``TypeError`` for a value of the wrong type.

    Example:
        >>> BatchConfig("round_robin", batch_size=8, num_lanes=4).strategy
        <BatchStrategy.ROUND_ROBIN: 'round_robin'>
    """

    strategy: BatchStrategy
    batch_size: int | None
    max_memory_mb: float
    min_batch_size: int
    max_batch_size: int | None
    num_lanes: int
    target_batch_ms: float | None

    def __init__(
        self,
        strategy: BatchStrategy | str,
        batch_size: int | None = None,
        max_memory_mb: float = 1000,
        min_batch_size: int = 1,
        max_batch_size: int | None = None,
        num_lanes: int = 1,
        target_batch_ms: float | None = None,
    ) -> None:
        chosen = check_strategy(strategy)
        size = check_optional_size(batch_size, "batch_size")
        smallest = check_size(min_batch_size, "min_batch_size")
        largest = check_optional_size(max_batch_size, "max_batch_size")
        lanes = check_size(num_lanes, "num_lanes")
        memory = check_positive(max_memory_mb, "max_memory_mb")
        target = check_optional_positive(target_batch_ms, "target_batch_ms")
        if size is not None and size < smallest:
            raise InvalidBatchConfigError(
                f"batch_size ({size}) cannot be less than min_batch_size ({smallest})"
            )
        check_bounds(smallest, largest)
        if size is not None and largest is not None and size > largest:
            raise InvalidBatchConfigError(
                f"batch_size ({size}) cannot be more than max_batch_size ({largest})"
            )
        if lanes != 1 and chosen is not BatchStrategy.ROUND_ROBIN:
            raise InvalidBatchConfigError(
                f"num_lanes={lanes} applies to the round_robin strategy only, not {chosen.value}"
            )
        if target is not None and chosen is not BatchStrategy.ADAPTIVE:
            raise InvalidBatchConfigError(
                f"target_batch_ms={target} applies to the adaptive strategy only, "
                f"not {chosen.value}"
            )
        for name, value in (
            ("strategy", chosen),
            ("batch_size", size),
            ("max_memory_mb", memory),
            ("min_batch_size", smallest),
            ("max_batch_size", largest),
            ("num_lanes", lanes),
            ("target_batch_ms", target),
        ):
            object.__setattr__(self, name, value)


def first_batch_size(config: BatchConfig, default: int) -> int:
    """``config.batch_size``, or ``default`` brought within ``min_batch_size ..
    max_batch_size``.

    Example:
        >>> first_batch_size(BatchConfig("sequential", max_batch_size=100), 4096)
        100
    """
    if config.batch_size is not None:
        return config.batch_size
    largest = config.max_batch_size if config.max_batch_size is not None else default
    return max(config.min_batch_size, min(default, largest))
