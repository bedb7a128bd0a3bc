"""Summary statistics of parameters: in one pass over a list, or online over a stream.

Both report, per parameter, ``mean``, ``stdev`` (sample standard deviation, 0.0 for a
single value), ``min``, ``max`` and ``count``. An empty input gives ``count`` 0 and
``None`` for the others.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ._config import PARAM_NAMES
from ._generate import regroup
from ._parambatch import ParamBatch

__all__ = ["RunningStatistics", "compute_statistics", "compute_streaming_statistics"]

Statistics = dict[str, dict[str, Any]]


def _empty() -> dict[str, Any]:
    return {"mean": None, "stdev": None, "min": None, "max": None, "count": 0}


def _check_records(params: Any) -> None:
    if isinstance(params, str | bytes | dict) or not isinstance(params, Iterable):
        raise TypeError(f"params must be a list of parameter dicts, got {type(params).__name__}")


def _power_of_two_above(magnitude: float) -> float:
    """The power of two just above ``magnitude`` (1.0 for 0), at most 2**1023."""
    if magnitude == 0:
        return 1.0
    return math.ldexp(1.0, min(math.frexp(magnitude)[1], 1023))


def compute_statistics(params: Sequence[dict[str, Any]]) -> Statistics:
    """Mean, stdev, min, max and count of each parameter over a list of dicts.

    Example:
        >>> from dpa import generate_augmentation_chain
        >>> compute_statistics(generate_augmentation_chain(10))["noise"]["count"]
        10
    """
    if isinstance(params, ParamBatch):
        params = params.to_dicts()
    _check_records(params)
    records = list(params)
    out: Statistics = {}
    for name in PARAM_NAMES:
        try:
            values = [float(record[name]) for record in records]
        except (KeyError, TypeError, IndexError, OverflowError) as exc:
            raise ValueError(f"every record needs a numeric {name!r}: {exc}") from None
        if not values:
            out[name] = _empty()
            continue
        count = len(values)
        # Computed on values / 2**k, at most 1 in size, so squares and sums of
        # values near the float limit do not overflow; the scaling is exact.
        scale = _power_of_two_above(max(abs(v) for v in values))
        scaled = [v / scale for v in values]
        mean = math.fsum(scaled) / count
        # Two passes with the correction term for the rounding of the mean.
        deviations = [v - mean for v in scaled]
        correction = math.fsum(deviations) ** 2 / count
        sum_squares = math.fsum(d * d for d in deviations) - correction
        variance = max(sum_squares, 0.0) / (count - 1) if count > 1 else 0.0
        out[name] = {
            "mean": mean * scale,
            "stdev": math.sqrt(variance) * scale,
            "min": min(values),
            "max": max(values),
            "count": count,
        }
    return out


class RunningStatistics:
    """Online statistics: Welford's update, merged per batch as Chan et al. do,
    with a compensated running sum for the mean.

    Memory is constant whatever the number of samples. Feed it dicts, lists of
    dicts or :class:`ParamBatch` objects, then call :meth:`result`.

    Example:
        >>> from dpa import generate_batch
        >>> running = RunningStatistics()
        >>> running.update_batch(generate_batch(range(100)))
        >>> running.result()["scale"]["count"]
        100
    """

    def __init__(self) -> None:
        self.count = 0
        n = len(PARAM_NAMES)
        self._mean = np.zeros(n)
        self._m2 = np.zeros(n)
        self._min = np.full(n, np.inf)
        self._max = np.full(n, -np.inf)
        self._shift = np.zeros(n)
        self._scale = np.ones(n)
        # Each sum as an unevaluated pair hi + lo (hi = the rounded sum, lo = what
        # rounding dropped), so the reported mean is the correctly rounded mean.
        self._sum_hi = [0.0] * n
        self._sum_lo = [0.0] * n

    def update_batch(self, batch: ParamBatch) -> None:
        """Add every sample of a columnar batch."""
        if not isinstance(batch, ParamBatch):
            raise TypeError(f"expected a ParamBatch, got {type(batch).__name__}")
        if len(batch) == 0:
            return
        values = np.stack([getattr(batch, name) for name in PARAM_NAMES])
        self._merge(values)

    def update_records(self, records: Sequence[dict[str, Any]]) -> None:
        """Add parameter dicts."""
        if not records:
            return
        try:
            values = np.array(
                [[record[name] for record in records] for name in PARAM_NAMES], dtype=np.float64
            )
        except (KeyError, TypeError, ValueError, IndexError, OverflowError) as exc:
            raise ValueError(f"every record needs the five numeric parameters: {exc}") from None
        self._merge(values)

    def _merge(self, raw: np.ndarray) -> None:
        # Moments are kept of values / scale, scale a power of two at least the
        # largest magnitude seen (so nothing overflows; growing it is exact), and
        # about the first values seen (so a spread that is small next to the mean
        # keeps its precision in the merges).
        _, exponents = np.frexp(np.abs(raw).max(axis=1))
        needed = np.ldexp(1.0, np.minimum(exponents, 1023))
        if self.count == 0:
            self._scale = needed
        elif (needed > self._scale).any():
            factor = np.where(needed > self._scale, self._scale / needed, 1.0)
            self._scale = self._scale / factor
            self._mean, self._m2, self._shift = (
                self._mean * factor,
                self._m2 * factor**2,
                self._shift * factor,
            )
            self._sum_hi = [hi * f for hi, f in zip(self._sum_hi, factor.tolist(), strict=True)]
            self._sum_lo = [lo * f for lo, f in zip(self._sum_lo, factor.tolist(), strict=True)]
        values = raw / self._scale[:, None]
        if self.count == 0:
            self._shift = values[:, 0].copy()
        shifted = values - self._shift[:, None]
        n_b = values.shape[1]
        mean_b = shifted.mean(axis=1)
        m2_b = ((shifted - mean_b[:, None]) ** 2).sum(axis=1)
        n_a, total = self.count, self.count + n_b
        delta = mean_b - self._mean
        self._mean = self._mean + delta * (n_b / total)
        self._m2 = self._m2 + m2_b + delta**2 * (n_a * n_b / total)
        self.count = total
        for i, row in enumerate(values.tolist()):
            terms = [self._sum_hi[i], self._sum_lo[i], *row]
            self._sum_hi[i] = hi = math.fsum(terms)
            terms.append(-hi)
            self._sum_lo[i] = math.fsum(terms)
        np.minimum(self._min, raw.min(axis=1), out=self._min)
        np.maximum(self._max, raw.max(axis=1), out=self._max)

    def update(self, item: Any) -> None:
        """Add one item of a stream: a dict, a list of dicts or a ParamBatch."""
        if isinstance(item, ParamBatch):
            self.update_batch(item)
        elif isinstance(item, dict):
            self.update_records([item])
        elif isinstance(item, list | tuple):
            self.update_records(item)
        else:
            raise TypeError(
                "expected a parameter dict, a list of them or a ParamBatch, "
                f"got {type(item).__name__}"
            )

    def result(self) -> Statistics:
        """The statistics so far, in the layout of :func:`compute_statistics`."""
        if self.count == 0:
            return {name: _empty() for name in PARAM_NAMES}
        stdev = (
            np.sqrt(self._m2 / (self.count - 1)) if self.count > 1 else np.zeros(len(PARAM_NAMES))
        )
        return {
            name: {
                "mean": self._sum_hi[i] / self.count * float(self._scale[i]),
                "stdev": float(stdev[i] * self._scale[i]),
                "min": float(self._min[i]),
                "max": float(self._max[i]),
                "count": self.count,
            }
            for i, name in enumerate(PARAM_NAMES)
        }


def compute_streaming_statistics(stream: Iterable[Any]) -> Statistics:
    """Statistics of a stream in constant memory, consuming it.

    Accepts what the streams yield (dicts, or lists of dicts with ``chunk_size``)
    and :class:`ParamBatch` objects. Equals :func:`compute_statistics` to within
    1e-12 relative.

    Example:
        >>> from dpa import stream_augmentation_chain
        >>> compute_streaming_statistics(stream_augmentation_chain(50))["rotation"]["count"]
        50
    """
    running = RunningStatistics()
    for block in regroup(stream):
        running.update(block)
    return running.result()
