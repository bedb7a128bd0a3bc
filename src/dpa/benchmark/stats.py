"""The statistics of dpa.benchmark, all through :mod:`scipy.stats` (imported when
first used: ``pip install 'dpa-augment[bench]'``).

* :func:`mean_interval`: Student-t confidence interval of a mean;
* :func:`shift_p_value`: two-sided Mann-Whitney U test of two samples;
* :func:`median_ratio_interval`: seeded percentile bootstrap interval of the ratio
  of two samples' medians.

Example:
    >>> lo, hi = mean_interval([0.10, 0.12, 0.08, 0.11, 0.09], 0.95)
    >>> round(lo, 4), round(hi, 4)
    (0.0804, 0.1196)
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "RESAMPLES",
    "mean_interval",
    "median_ratio_interval",
    "shift_p_value",
    "t_quantile",
]

#: Bootstrap resamples of each interval.
RESAMPLES = 4000

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def _scipy_stats() -> Any:
    try:
        from scipy import stats
    except ImportError as exc:
        raise ImportError(
            "dpa.benchmark's statistics need scipy: pip install 'dpa-augment[bench]'"
        ) from exc
    return stats


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t distribution with ``df`` degrees of freedom
    (``scipy.stats.t.ppf``).

    Example:
        >>> round(t_quantile(0.975, 9), 3)
        2.262
    """
    if not 0 < p < 1 or df < 1:
        raise ValueError(f"need 0 < p < 1 and df >= 1, got p={p}, df={df}")
    return float(_scipy_stats().t.ppf(p, df))


def mean_interval(values: Sequence[float], level: float) -> tuple[float, float]:
    """Student-t interval of the mean of ``values`` at confidence ``level``: the mean
    itself, twice, for fewer than two values or no spread.

    Example:
        >>> mean_interval([2.0], 0.95), mean_interval([1.0, 1.0, 1.0], 0.95)
        ((2.0, 2.0), (1.0, 1.0))
    """
    if not 0 < level < 1:
        raise ValueError(f"the confidence level must be in (0, 1), got {level}")
    count = len(values)
    mean = math.fsum(values) / count
    if count < 2:
        return (mean, mean)
    half = t_quantile(0.5 + level / 2, count - 1) * statistics.stdev(values) / math.sqrt(count)
    return (mean - half, mean + half)


def shift_p_value(baseline: FloatArray, current: FloatArray) -> float:
    """Two-sided p-value of the Mann-Whitney U test: is one sample shifted against
    the other? 1.0 for samples holding the same values.

    Example:
        >>> shift_p_value(np.arange(10.0), np.arange(10.0) + 20) < 0.001
        True
    """
    if np.array_equal(np.sort(baseline), np.sort(current)):
        return 1.0
    test = _scipy_stats().mannwhitneyu(current, baseline, alternative="two-sided")
    p = float(test.pvalue)
    return 1.0 if math.isnan(p) else p


def _median_ratio(numerator: FloatArray, denominator: FloatArray, axis: int = -1) -> Any:
    """median(numerator) / median(denominator) along ``axis``: +inf where only the
    denominator's median is zero, 1 where both are."""
    top = np.median(numerator, axis=axis)
    bottom = np.median(denominator, axis=axis)
    safe_bottom = np.where(bottom > 0, bottom, 1.0)
    return np.where(bottom > 0, top / safe_bottom, np.where(top > 0, np.inf, 1.0))


def median_ratio_interval(
    numerator: FloatArray, denominator: FloatArray, confidence: float, seed: int
) -> tuple[float | None, float | None]:
    """Percentile bootstrap interval of median(numerator) / median(denominator),
    each sample resampled on its own (``scipy.stats.bootstrap``, :data:`RESAMPLES`
    resamples, a generator seeded with ``seed``: the same inputs give the same
    interval). An end that is not finite is None. With a single value in a sample
    there is nothing to resample: the interval is the ratio itself.

    Example:
        >>> lo, hi = median_ratio_interval(
        ...     np.array([1.0, 1.1, 0.9, 1.0]), np.array([2.0, 2.1, 1.9, 2.0]), 0.95, seed=1
        ... )
        >>> 0.4 < lo <= 0.5 <= hi < 0.6
        True
    """
    if min(numerator.size, denominator.size) < 2:
        ratio = float(_median_ratio(numerator, denominator))
        return (ratio, ratio) if math.isfinite(ratio) else (None, None)
    result = _scipy_stats().bootstrap(
        (numerator, denominator),
        _median_ratio,
        n_resamples=RESAMPLES,
        confidence_level=confidence,
        method="percentile",
        vectorized=True,
        random_state=np.random.default_rng(seed),
    )
    low, high = (float(end) for end in result.confidence_interval)
    return (low if math.isfinite(low) else None, high if math.isfinite(high) else None)
