"""The statistical tests behind the quality checks, computed by :mod:`scipy.stats`.

scipy is the ``quality`` extra (``pip install 'dpa-augment[quality]'``): it is imported when
a test runs, never when dpa is. What this module adds to scipy is the contract of
each test for the quality suite: its arguments checked (a flat float sample, bin
counts, two samples of one length), and an answer where scipy would have none (a
sample holding NaN fails the Kolmogorov-Smirnov test; a constant or non-finite
sample has no correlation).

Example:
    >>> d, p = kolmogorov_smirnov_uniform([0.1, 0.35, 0.6, 0.85])
    >>> round(d, 2), p > 0.5
    (0.15, True)
"""

from __future__ import annotations

import importlib
import math
from types import ModuleType

import numpy as np
import numpy.typing as npt

__all__ = [
    "chi_square_uniform",
    "kolmogorov_smirnov_uniform",
    "pearson",
    "scipy_stats",
]

FloatArray = npt.NDArray[np.float64]

#: What to run when scipy is missing.
INSTALL_HINT = "pip install 'dpa-augment[quality]'"


def scipy_stats() -> ModuleType:
    """:mod:`scipy.stats`, imported on first use.

    Raises ImportError (its message says how to install scipy) when scipy is missing.

    Example:
        >>> scipy_stats().chi2.sf(0.0, 3)
        np.float64(1.0)
    """
    try:
        return importlib.import_module("scipy.stats")
    except ImportError as exc:
        raise ImportError(f"the quality checks need scipy: {INSTALL_HINT}", name="scipy") from exc


def as_floats(values: npt.ArrayLike, name: str) -> FloatArray:
    """``values`` as a flat float64 array; ValueError or TypeError for what is not
    numbers (named ``name`` in the message).

    Example:
        >>> as_floats([[1, 2], [3, 4]], "x").tolist()
        [1.0, 2.0, 3.0, 4.0]
    """
    try:
        array: FloatArray = np.asarray(values, dtype=np.float64).ravel()
    except OverflowError:
        raise ValueError(f"{name}: a value beyond the float range") from None
    return array


def kolmogorov_smirnov_uniform(u: npt.ArrayLike) -> tuple[float, float]:
    """Kolmogorov-Smirnov D of ``u`` against the uniform law on [0, 1], and its exact
    p-value (:func:`scipy.stats.ks_1samp`). A sample holding NaN gets D = 1, p = 0.

    Example:
        >>> d, p = kolmogorov_smirnov_uniform([0.2, 0.7])
        >>> round(d, 2), round(p, 2)
        (0.3, 0.98)
    """
    values = as_floats(u, "u")
    if len(values) == 0:
        raise ValueError("the Kolmogorov-Smirnov test needs at least one value")
    stats = scipy_stats()
    if np.isnan(values).any():
        return 1.0, 0.0
    result = stats.ks_1samp(values, stats.uniform.cdf, method="exact")
    return float(result.statistic), float(result.pvalue)


def chi_square_uniform(counts: npt.ArrayLike) -> tuple[float, float]:
    """Chi-square statistic of bin ``counts`` against equal expectations, and its
    p-value (:func:`scipy.stats.chisquare`). The counts are finite, not negative, at
    least two, and not all zero.

    Example:
        >>> chi_square_uniform([25, 25, 25, 25])
        (0.0, 1.0)
    """
    observed = as_floats(counts, "counts")
    if len(observed) < 2 or not np.isfinite(observed).all() or (observed < 0).any():
        raise ValueError("the chi-square test needs two or more finite counts, none negative")
    if observed.sum() == 0:
        raise ValueError("the chi-square test needs one count or more")
    result = scipy_stats().chisquare(observed)
    return float(result.statistic), float(result.pvalue)


def pearson(x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[float, float]:
    """Pearson's r of two equally long samples and the two-sided p-value of r = 0
    (:func:`scipy.stats.pearsonr`). NaN and 1.0 when a sample is constant or holds a
    value that is not finite: there is no correlation to test.

    Example:
        >>> r, p = pearson([1, 2, 3, 4], [2, 4, 6, 8.5])
        >>> round(r, 3), p < 0.01
        (0.998, True)
    """
    a = as_floats(x, "x")
    b = as_floats(y, "y")
    if len(a) != len(b):
        raise ValueError(f"pearson needs samples of one length, got {len(a)} and {len(b)}")
    if len(a) < 3:
        raise ValueError(f"pearson needs at least 3 pairs, got {len(a)}")
    stats = scipy_stats()
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return math.nan, 1.0
    if a.min() == a.max() or b.min() == b.max():
        return math.nan, 1.0
    with np.errstate(over="ignore", invalid="ignore"):  # a sum beyond the float range
        result = stats.pearsonr(a, b)
    r = float(result.statistic)
    return (math.nan, 1.0) if math.isnan(r) else (r, float(result.pvalue))
