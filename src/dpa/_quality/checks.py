"""The checks of one sample of parameters: uniformity, independence, coverage, seeds.

:func:`assess` runs every check on the parameter columns of a sample, its sample ids,
its 32-bit seeds, and the columns of the same ids drawn with other keys (ranks,
epochs), and returns the :class:`~dpa._quality.report.QualityReport`. Each parameter
is first mapped onto [0, 1] by its range; then

- uniformity: Kolmogorov-Smirnov against the uniform law, and chi-square of
  :data:`BINS` equal bins (a value outside the range fails it);
- independence: Pearson's r between every pair of parameters, between ids that
  follow each other, and between each pair of columns drawn with other keys;
- coverage: no value outside the range, and the smallest and largest values within
  :data:`COVERAGE_GAP` of the range's width from the bounds (or, for fewer samples
  than that can promise, no farther than a uniform sample is with probability
  ``1 - alpha``);
- seeds: chi-square of each of the seeds' four bytes against 256 equally likely values.

Example:
    >>> seeds_of(np.array([b"0" * 56 + b"0000012f"], dtype="S64")).tolist()
    [303]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from itertools import combinations
from typing import Any

import numpy as np
import numpy.typing as npt

from .._config import PARAM_NAMES, AugmentationConfig
from .report import QualityCheck, QualityReport
from .stats import chi_square_uniform, kolmogorov_smirnov_uniform, pearson, scipy_stats

__all__ = ["BINS", "COVERAGE_GAP", "SEED_BINS", "Columns", "assess", "seeds_of"]

#: Chi-square bins per parameter.
BINS = 64
#: Largest accepted distance of the extreme values from each bound, as a fraction of
#: the range's width: 0.01%.
COVERAGE_GAP = 1e-4
#: Chi-square bins per seed byte: its 256 values.
SEED_BINS = 256
#: A chi-square test wants at least this many samples per bin.
_PER_BIN = 5

FloatArray = npt.NDArray[np.float64]
#: The parameter columns of a sample, by parameter name.
Columns = Mapping[str, FloatArray]


def seeds_of(hashes: npt.NDArray[np.bytes_]) -> npt.NDArray[np.uint32]:
    """The 32-bit seeds (each digest's last 32 bits) of a column of hex digests.

    Example:
        >>> seeds_of(np.array([b"f" * 64], dtype="S64")).tolist()
        [4294967295]
    """
    text = np.ascontiguousarray(hashes, dtype="S64")
    chars = np.frombuffer(text.tobytes(), dtype=np.uint8).reshape(-1, 64)[:, 56:].astype(np.uint32)
    lower = chars | 0x20  # 'A'-'F' as 'a'-'f'
    digits = np.where(chars <= ord("9"), chars - ord("0"), lower - (ord("a") - 10))
    if digits.size and int(digits.max()) > 15:
        raise ValueError("a hash is not 64 hexadecimal digits")
    shifts = np.arange(28, -1, -4, dtype=np.uint32)
    seeds: npt.NDArray[np.uint32] = np.bitwise_or.reduce(digits << shifts, axis=1, dtype=np.uint32)
    return seeds


def assess(
    columns: Columns,
    ids: npt.NDArray[Any],
    seeds: npt.NDArray[np.uint32] | None,
    config: AugmentationConfig,
    alpha: float,
    source: str,
    comparisons: Iterable[tuple[str, Columns, Columns]] = (),
) -> QualityReport:
    """Every check of a sample drawn with ``config``, each at level ``alpha``.

    ``columns`` holds the five parameter columns, ``ids`` the sample id of each row,
    ``seeds`` their 32-bit seeds (None: no seed checks); each of ``comparisons``
    (label, columns, other columns) adds the correlation of each parameter between
    the two, row by row. ``source`` says where the sample comes from.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> config = AugmentationConfig()
        >>> columns = {name: lo + (hi - lo) * rng.random(1000)
        ...            for name, (lo, hi) in zip(PARAM_NAMES, config.ranges)}
        >>> assess(columns, np.arange(1000), None, config, 0.001, "numpy").passed
        True
    """
    n = len(ids)
    if n == 0:
        raise ValueError("no samples to check")
    units = _units(columns, config)
    checks: list[QualityCheck] = []
    histograms: dict[str, tuple[int, ...]] = {}
    for name in PARAM_NAMES:
        found, histograms[name] = _uniformity(name, units[name], alpha)
        checks += found
    for a, b in combinations(PARAM_NAMES, 2):
        checks.append(_correlation(f"{a} ~ {b}", units[a], units[b], alpha))
    order, follows = _consecutive(ids)
    for name in PARAM_NAMES:
        column = units[name][order]
        checks.append(
            _correlation(f"{name}: id ~ id+1", column[follows], column[follows + 1], alpha)
        )
    for label, first, second in comparisons:
        first_units, second_units = _units(first, config), _units(second, config)
        for name in PARAM_NAMES:
            checks.append(
                _correlation(f"{name}: {label}", first_units[name], second_units[name], alpha)
            )
    for name in PARAM_NAMES:
        checks += _coverage(name, units[name], alpha)
    if seeds is not None:
        found, seed_histograms = _seed_bytes(seeds, alpha)
        checks += found
        histograms.update(seed_histograms)
    return QualityReport(n, alpha, source, config, tuple(checks), histograms)


def _units(columns: Columns, config: AugmentationConfig) -> dict[str, FloatArray]:
    """Each parameter's values mapped onto [0, 1] by its range (halved first, so that
    no range overflows): the checks judge every parameter on one scale."""
    units: dict[str, FloatArray] = {}
    for name, (lo, width) in zip(PARAM_NAMES, config._lo_width, strict=True):
        with np.errstate(over="ignore", invalid="ignore"):
            units[name] = (columns[name] / 2 - float(lo) / 2) / (float(width) / 2)
    return units


def _consecutive(ids: npt.NDArray[Any]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """The rows in id order, and the positions in that order whose next id is one more."""
    n = len(ids)
    order = np.argsort(ids, kind="stable") if n > 1 else np.arange(n)
    sorted_ids = ids[order]
    try:
        follows = np.flatnonzero(np.diff(sorted_ids) == 1)
    except TypeError:  # Python ints beyond int64: compare one by one
        follows = np.array(
            [i for i in range(n - 1) if sorted_ids[i + 1] - sorted_ids[i] == 1], dtype=np.intp
        )
    return order, follows


def _uniformity(
    name: str, unit: FloatArray, alpha: float
) -> tuple[list[QualityCheck], tuple[int, ...]]:
    """The Kolmogorov-Smirnov and chi-square checks of one parameter, and its bin counts."""
    n = len(unit)
    d, p = kolmogorov_smirnov_uniform(unit)
    checks = [QualityCheck("uniformity", f"{name}: Kolmogorov-Smirnov", d, p, p >= alpha)]
    inside = unit[(unit >= 0) & (unit <= 1)]
    counts = np.bincount(np.minimum((inside * BINS).astype(np.int64), BINS - 1), minlength=BINS)
    label = f"{name}: chi-square"
    if n < _PER_BIN * BINS:
        note = f"needs >= {_PER_BIN * BINS} samples"
        checks.append(QualityCheck("uniformity", label, math.nan, None, None, note))
    elif len(inside) < n:  # values outside the range: a bin of their own that expects none
        checks.append(QualityCheck("uniformity", label, math.inf, 0.0, False))
    else:
        stat, p = chi_square_uniform(counts)
        checks.append(QualityCheck("uniformity", label, stat, p, p >= alpha))
    return checks, tuple(int(c) for c in counts)


def _correlation(name: str, x: FloatArray, y: FloatArray, alpha: float) -> QualityCheck:
    """Pearson's r of two columns, row by row, and whether it is compatible with 0."""
    if len(x) < 3:
        return QualityCheck("independence", name, math.nan, None, None, "needs >= 3 pairs")
    r, p = pearson(x, y)
    if math.isnan(r):
        note = "a constant or non-finite sample"
        return QualityCheck("independence", name, r, None, None, note)
    return QualityCheck("independence", name, r, p, p >= alpha)


def _coverage(name: str, unit: FloatArray, alpha: float) -> list[QualityCheck]:
    """The range checks of one parameter: nothing outside it, both ends reached."""
    n = len(unit)
    outside = int(np.count_nonzero(~((unit >= 0) & (unit <= 1))))
    note = f"{outside} value(s) outside the range" if outside else ""
    checks = [
        QualityCheck("coverage", f"{name}: outside range", float(outside), None, not outside, note)
    ]
    # The smallest of n uniform values on [0, 1] (and 1 - the largest) is Beta(1, n):
    # the limit is 0.01% of the width, or the gap that law exceeds with probability
    # alpha when there are too few samples to promise 0.01%.
    gap_law = scipy_stats().beta(1, n)
    limit = max(COVERAGE_GAP, float(gap_law.isf(alpha)))
    note = "" if limit == COVERAGE_GAP else f"limit {limit:.3g} for {n} samples"
    with np.errstate(invalid="ignore"):
        low = float(np.nanmin(unit))
        high = float(np.nanmax(unit))
    for end, gap in (("lower", low), ("upper", 1 - high)):
        gap = max(gap, 0.0)
        p = 0.0 if math.isnan(gap) else float(gap_law.sf(gap))
        checks.append(QualityCheck("coverage", f"{name}: {end} gap", gap, p, gap <= limit, note))
    return checks


def _seed_bytes(
    seeds: npt.NDArray[np.uint32], alpha: float
) -> tuple[list[QualityCheck], dict[str, tuple[int, ...]]]:
    """The chi-square check of each byte of the seeds, and the counts of its values."""
    checks: list[QualityCheck] = []
    histograms: dict[str, tuple[int, ...]] = {}
    for position in range(4):
        values = (seeds >> np.uint32(8 * position)) & np.uint32(0xFF)
        counts = np.bincount(values.astype(np.int64), minlength=SEED_BINS)
        name = f"seed byte {position} (bits {8 * position}-{8 * position + 7})"
        histograms[f"seed byte {position}"] = tuple(int(c) for c in counts)
        if len(seeds) < _PER_BIN * SEED_BINS:
            note = f"needs >= {_PER_BIN * SEED_BINS}"
            checks.append(QualityCheck("seeds", name, math.nan, None, None, note))
            continue
        stat, p = chi_square_uniform(counts)
        checks.append(QualityCheck("seeds", name, stat, p, p >= alpha))
    return checks, histograms
