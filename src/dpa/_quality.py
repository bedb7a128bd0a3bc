"""Statistical quality of the parameters: uniformity, independence, coverage, seeds.

DPA promises parameters spread uniformly over their ranges, independent of each
other, of the neighbouring sample ids, of the rank (rank-aware mode) and of the
epoch (elastic mode), reaching both ends of every range, from 32-bit seeds whose
bytes are balanced. This module measures each promise as a statistical test at a
significance level (0.1% by default):

- uniformity: Kolmogorov-Smirnov and chi-square (64 equal bins) of each parameter
  against the uniform law on its range;
- independence: Pearson's r between every pair of parameters, between consecutive
  sample ids, and (for a generator run) between the same ids on ranks 0 and 1 and
  in epochs 0 and 1, each tested with Student's t;
- coverage: every value inside its range, and the smallest and largest values within
  0.01% of the range's width from its bounds (or, for fewer samples than that can
  promise, no farther than a uniform sample would be with probability 99.9%);
- seeds: chi-square of each of the four bytes of the 32-bit seed (the digest's last
  32 bits) against 256 equally likely values.

The sample ids are fixed, so each verdict is deterministic: a run that passes today
passes on every machine. The tests need numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ._config import PARAM_NAMES, AugmentationConfig
from ._generate import generate_batch
from ._parambatch import ParamBatch
from ._validate import check_int

__all__ = [
    "ALPHA",
    "BINS",
    "COVERAGE_GAP",
    "QualityCheck",
    "QualityReport",
    "check_batch_quality",
    "check_file_quality",
    "check_quality",
    "chi_square_uniform",
    "kolmogorov_smirnov_uniform",
    "pearson",
    "plot_quality",
    "seeds_of",
]

#: Default significance level of every test: 0.1%.
ALPHA = 0.001
#: Chi-square bins per parameter.
BINS = 64
#: Largest accepted distance of the extreme values from each bound, as a fraction of
#: the range's width: 0.01%.
COVERAGE_GAP = 1e-4
_SEED_BINS = 256
_CHUNK = 1 << 20

FloatArray = npt.NDArray[np.float64]


# --------------------------------------------------------------------------- distributions


def _gamma_q(a: float, x: float) -> float:
    """The regularized upper incomplete gamma function Q(a, x)."""
    if x <= 0:
        return 1.0
    log_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:  # the series of P(a, x) converges quickly here
        term = total = 1.0 / a
        denominator = a
        for _ in range(100_000):
            denominator += 1
            term *= x / denominator
            total += term
            if abs(term) < abs(total) * 1e-16:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    # Q's continued fraction, evaluated by the modified Lentz method.
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 100_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-16:
            break
    return min(1.0, math.exp(log_front) * h)


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c = 1.0
    d = 1 - (a + b) * x / (a + 1)
    d = 1 / (tiny if abs(d) < tiny else d)
    h = d
    for m in range(1, 100_000):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 + numerator * d
            d = 1 / (tiny if abs(d) < tiny else d)
            c = 1 + numerator / c
            c = tiny if abs(c) < tiny else c
            h *= d * c
        if abs(d * c - 1) < 1e-16:
            break
    return h


def _beta_i(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1 - math.exp(log_front) * _beta_fraction(b, a, 1 - x) / b


def chi2_sf(statistic: float, df: int) -> float:
    """P(X >= statistic) for X chi-square distributed with ``df`` degrees of freedom."""
    return _gamma_q(df / 2, statistic / 2)


def student_t_two_sided(t: float, df: int) -> float:
    """P(|T| >= |t|) for T Student-t distributed with ``df`` degrees of freedom."""
    if not math.isfinite(t):
        return 0.0
    return min(1.0, _beta_i(df / 2, 0.5, df / (df + t * t)))


def kolmogorov_sf(statistic: float, n: int) -> float:
    """P(D >= statistic) for the Kolmogorov-Smirnov D of ``n`` uniform values, from
    Kolmogorov's limit law with Stephens' small-sample correction (within 3% of the
    exact value from n = 1000, within 0.5% from n = 100,000)."""
    lam = (math.sqrt(n) + 0.12 + 0.11 / math.sqrt(n)) * statistic
    if lam <= 0.2:
        return 1.0
    if lam < 1.18:  # the theta-function form of the limit law converges fast here
        y = math.exp(-(math.pi**2) / (8 * lam * lam))
        cdf = math.sqrt(2 * math.pi) / lam * sum(y ** ((2 * k - 1) ** 2) for k in range(1, 8))
        return min(1.0, max(0.0, 1 - cdf))
    total = math.fsum(
        (1.0 if k % 2 else -1.0) * math.exp(-2 * k * k * lam * lam) for k in range(1, 101)
    )
    return min(1.0, max(0.0, 2 * total))


# --------------------------------------------------------------------------- the tests


def _floats(values: npt.ArrayLike, name: str) -> FloatArray:
    """``values`` as a flat float64 array; ValueError/TypeError for what is not numbers."""
    try:
        array: FloatArray = np.asarray(values, dtype=np.float64).ravel()
    except OverflowError:
        raise ValueError(f"{name}: a value beyond the float range") from None
    return array


def kolmogorov_smirnov_uniform(u: npt.ArrayLike) -> tuple[float, float]:
    """Kolmogorov-Smirnov D and p-value of ``u`` against the uniform law on [0, 1].

    Example:
        >>> d, p = kolmogorov_smirnov_uniform([0.1, 0.35, 0.6, 0.85])
        >>> round(d, 2), p > 0.5
        (0.15, True)
    """
    values = np.sort(_floats(u, "u"))
    n = len(values)
    if n == 0:
        raise ValueError("the Kolmogorov-Smirnov test needs at least one value")
    if np.isnan(values).any():
        return 1.0, 0.0
    ranks = np.arange(1, n + 1, dtype=np.float64)
    above = float(np.max(ranks / n - values))
    below = float(np.max(values - (ranks - 1) / n))
    statistic = min(1.0, max(above, below, 0.0))
    return statistic, kolmogorov_sf(statistic, n)


def chi_square_uniform(counts: npt.ArrayLike) -> tuple[float, float]:
    """Chi-square statistic and p-value of bin ``counts`` against equal expectations.

    Example:
        >>> stat, p = chi_square_uniform([25, 25, 25, 25])
        >>> stat, p
        (0.0, 1.0)
    """
    observed = _floats(counts, "counts")
    if len(observed) < 2 or observed.sum() <= 0:
        raise ValueError("the chi-square test needs at least two bins and one count")
    expected = observed.sum() / len(observed)
    statistic = float(np.sum((observed - expected) ** 2) / expected)
    return statistic, chi2_sf(statistic, len(observed) - 1)


def pearson(x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[float, float]:
    """Pearson's r of two equally long samples and the two-sided p-value of r = 0
    (Student's t with n - 2 degrees of freedom). NaN and 1.0 for a constant sample.

    Example:
        >>> r, p = pearson([1, 2, 3, 4], [2, 4, 6, 8.5])
        >>> round(r, 3), p < 0.01
        (0.998, True)
    """
    a = _floats(x, "x")
    b = _floats(y, "y")
    if len(a) != len(b):
        raise ValueError(f"pearson needs samples of one length, got {len(a)} and {len(b)}")
    n = len(a)
    if n < 3:
        raise ValueError(f"pearson needs at least 3 pairs, got {n}")
    da = a - a.mean()
    db = b - b.mean()
    norm = math.sqrt(float(np.dot(da, da)) * float(np.dot(db, db)))
    if norm == 0 or not math.isfinite(norm):
        return math.nan, 1.0
    r = max(-1.0, min(1.0, float(np.dot(da, db)) / norm))
    if abs(r) == 1:
        return r, 0.0
    t = r * math.sqrt((n - 2) / (1 - r * r))
    return r, student_t_two_sided(t, n - 2)


# --------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class QualityCheck:
    """One test: its group, name, statistic, p-value and verdict.

    ``passed`` is None when the check could not be made (a note says why).
    """

    group: str
    name: str
    statistic: float
    p_value: float | None
    passed: bool | None
    note: str = ""

    def __post_init__(self) -> None:
        for label in ("group", "name", "note"):
            if not isinstance(getattr(self, label), str):
                raise TypeError(f"{label} must be a str, got {type(getattr(self, label)).__name__}")
        object.__setattr__(self, "statistic", _float(self.statistic, "statistic"))
        if self.p_value is not None:
            object.__setattr__(self, "p_value", _float(self.p_value, "p_value"))
        if self.passed is not None and not isinstance(self.passed, bool):
            raise TypeError(f"passed must be a bool or None, got {type(self.passed).__name__}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the fields."""
        return {
            "group": self.group,
            "name": self.name,
            "statistic": _json_number(self.statistic),
            "p_value": _json_number(self.p_value),
            "passed": self.passed,
            "note": self.note,
        }


def _float(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{name} is beyond the float range: {value}") from None


def _json_number(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


@dataclass(frozen=True)
class QualityReport:
    """The checks of one sample of parameters and the counts behind them.

    ``histograms`` holds the 64 bin counts of each parameter and the 256 counts of
    each seed byte (``"seed byte 0"`` is the lowest), for plotting.

    Example:
        >>> report = check_quality(2000)
        >>> report.passed, report.samples
        (True, 2000)
    """

    samples: int
    alpha: float
    source: str
    config: AugmentationConfig
    checks: tuple[QualityCheck, ...]
    histograms: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "samples", check_int(self.samples, "samples", 0))
        object.__setattr__(self, "alpha", _check_alpha(self.alpha))
        if not isinstance(self.source, str):
            raise TypeError(f"source must be a str, got {type(self.source).__name__}")
        if not isinstance(self.config, AugmentationConfig):
            raise TypeError(
                f"config must be an AugmentationConfig, got {type(self.config).__name__}"
            )
        if isinstance(self.checks, str | bytes) or not isinstance(self.checks, Iterable):
            raise TypeError(
                f"checks must be QualityCheck objects, got {type(self.checks).__name__}"
            )
        checks = tuple(self.checks)
        if not all(isinstance(check, QualityCheck) for check in checks):
            raise TypeError("checks must be QualityCheck objects")
        object.__setattr__(self, "checks", checks)
        if not isinstance(self.histograms, Mapping):
            raise TypeError(f"histograms must be a mapping, got {type(self.histograms).__name__}")
        histograms: dict[str, tuple[int, ...]] = {}
        for key, counts in self.histograms.items():
            if not isinstance(key, str) or isinstance(counts, str | bytes):
                raise TypeError("histograms must map names to sequences of counts")
            try:
                histograms[key] = tuple(check_int(c, "a histogram count", 0) for c in counts)
            except TypeError:
                raise TypeError("histograms must map names to sequences of counts") from None
        object.__setattr__(self, "histograms", histograms)

    @property
    def passed(self) -> bool:
        """Whether no check failed (skipped checks do not fail)."""
        return all(check.passed is not False for check in self.checks)

    def failures(self) -> list[QualityCheck]:
        """The checks that failed."""
        return [check for check in self.checks if check.passed is False]

    def group(self, name: str) -> list[QualityCheck]:
        """The checks of one group: uniformity, independence, coverage or seeds."""
        return [check for check in self.checks if check.group == name]

    def summary(self) -> dict[str, Any]:
        """The headline figures: the largest KS D and smallest KS and chi-square p,
        the largest |r| and its smallest p, the largest coverage gap, the smallest
        seed-byte p, and the counts of checks."""

        def values(group: str, prefix: str, attribute: str) -> list[float]:
            found = [
                getattr(c, attribute)
                for c in self.group(group)
                if c.name.endswith(prefix) and c.passed is not None
            ]
            return [abs(v) for v in found if v is not None and math.isfinite(v)]

        def extreme(numbers: list[float], pick: Callable[[list[float]], float]) -> float | None:
            return pick(numbers) if numbers else None

        return {
            "samples": self.samples,
            "alpha": self.alpha,
            "max_ks_d": extreme(values("uniformity", "Kolmogorov-Smirnov", "statistic"), max),
            "min_ks_p": extreme(values("uniformity", "Kolmogorov-Smirnov", "p_value"), min),
            "min_chi_square_p": extreme(values("uniformity", "chi-square", "p_value"), min),
            "max_abs_r": extreme(values("independence", "", "statistic"), max),
            "min_r_p": extreme(values("independence", "", "p_value"), min),
            "max_coverage_gap": extreme(values("coverage", "gap", "statistic"), max),
            "min_seed_byte_p": extreme(values("seeds", "", "p_value"), min),
            "checks": len(self.checks),
            "failed": len(self.failures()),
            "skipped": sum(check.passed is None for check in self.checks),
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: source, config, summary, checks and histograms."""
        return {
            "source": self.source,
            "config": self.config.to_dict(),
            "passed": self.passed,
            "summary": self.summary(),
            "checks": [check.to_dict() for check in self.checks],
            "histograms": {name: list(counts) for name, counts in self.histograms.items()},
        }

    def format(self) -> str:
        """The report as plain text: one line per check, grouped, then a verdict."""
        level = f"{self.alpha:.4g}".rstrip("0")
        lines = [
            f"quality of {self.samples:,} samples ({self.source}); "
            f"each test at the {self.alpha * 100:g}% level (p >= {level} passes)"
        ]
        width = max(len(check.name) for check in self.checks) if self.checks else 10
        for group in ("uniformity", "independence", "coverage", "seeds"):
            checks = self.group(group)
            if not checks:
                continue
            lines += ["", f"{group}:"]
            for check in checks:
                verdict = {True: "ok", False: "FAIL", None: "skipped"}[check.passed]
                p = "-" if check.p_value is None else f"{check.p_value:.4f}"
                note = f"  ({check.note})" if check.note else ""
                lines.append(
                    f"  {check.name.ljust(width)}  {check.statistic:>12.6g}  p={p:>6}  "
                    f"{verdict}{note}"
                )
        summary = self.summary()
        lines.append("")
        headline = [
            f"max KS D {summary['max_ks_d']:.3g}" if summary["max_ks_d"] is not None else "",
            f"min chi-square p {summary['min_chi_square_p']:.3g}"
            if summary["min_chi_square_p"] is not None
            else "",
            f"max |r| {summary['max_abs_r']:.3g}" if summary["max_abs_r"] is not None else "",
            f"max coverage gap {summary['max_coverage_gap']:.3g}"
            if summary["max_coverage_gap"] is not None
            else "",
        ]
        lines.append("; ".join(part for part in headline if part))
        if self.passed:
            skipped = f" ({summary['skipped']} skipped)" if summary["skipped"] else ""
            lines.append(f"PASS: {summary['checks'] - summary['skipped']} checks{skipped}")
        else:
            names = ", ".join(check.name for check in self.failures())
            lines.append(f"FAIL: {summary['failed']} of {summary['checks']} checks: {names}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- the checks


def _unit(values: FloatArray, lo: float, width: float) -> FloatArray:
    """Values mapped onto [0, 1] by their range (halved first, so no overflow)."""
    with np.errstate(over="ignore", invalid="ignore"):
        unit: FloatArray = (values / 2 - lo / 2) / (width / 2)
    return unit


def _uniformity(name: str, unit: FloatArray, alpha: float) -> tuple[list[QualityCheck], Any]:
    n = len(unit)
    d, p = kolmogorov_smirnov_uniform(unit)
    checks = [QualityCheck("uniformity", f"{name}: Kolmogorov-Smirnov", d, p, p >= alpha)]
    inside = unit[(unit >= 0) & (unit <= 1)]
    counts = np.bincount(np.minimum((inside * BINS).astype(np.int64), BINS - 1), minlength=BINS)
    if n < 5 * BINS:
        checks.append(
            QualityCheck(
                "uniformity",
                f"{name}: chi-square",
                math.nan,
                None,
                None,
                f"needs >= {5 * BINS} samples",
            )
        )
    else:
        # Values outside the range count in a bin of their own that expects none.
        stat, p = chi_square_uniform(counts)
        outside = n - len(inside)
        if outside:
            stat, p = math.inf, 0.0
        checks.append(QualityCheck("uniformity", f"{name}: chi-square", stat, p, p >= alpha))
    return checks, tuple(int(c) for c in counts)


def _correlation(name: str, x: FloatArray, y: FloatArray, alpha: float) -> QualityCheck:
    if len(x) < 3:
        return QualityCheck("independence", name, math.nan, None, None, "needs >= 3 pairs")
    r, p = pearson(x, y)
    if math.isnan(r):
        return QualityCheck("independence", name, r, None, None, "a constant sample")
    return QualityCheck("independence", name, r, p, p >= alpha)


def _coverage(name: str, unit: FloatArray, alpha: float) -> list[QualityCheck]:
    n = len(unit)
    outside = int(np.count_nonzero(~((unit >= 0) & (unit <= 1))))
    checks = [
        QualityCheck(
            "coverage",
            f"{name}: outside range",
            float(outside),
            None,
            outside == 0,
            "" if not outside else f"{outside} value(s) outside the range",
        )
    ]
    # A uniform sample leaves a gap >= g at one end with probability (1 - g)**n; the
    # limit is 0.01% of the width, or the gap a uniform sample exceeds with
    # probability alpha when there are too few samples for 0.01%.
    critical = -math.expm1(math.log(alpha) / n)
    limit = max(COVERAGE_GAP, critical)
    note = "" if limit == COVERAGE_GAP else f"limit {limit:.3g} for {n} samples"
    with np.errstate(invalid="ignore"):
        low = float(np.nanmin(unit)) if n else math.nan
        high = float(np.nanmax(unit)) if n else math.nan
    for end, gap in (("lower", low), ("upper", 1 - high)):
        gap = max(gap, 0.0)
        p = math.exp(n * math.log1p(-gap)) if gap < 1 else 0.0
        checks.append(QualityCheck("coverage", f"{name}: {end} gap", gap, p, gap <= limit, note))
    return checks


def _seed_bytes(seeds: npt.NDArray[np.uint32], alpha: float) -> tuple[list[QualityCheck], Any]:
    checks: list[QualityCheck] = []
    histograms: dict[str, tuple[int, ...]] = {}
    for position in range(4):
        values = (seeds >> np.uint32(8 * position)) & np.uint32(0xFF)
        counts = np.bincount(values.astype(np.int64), minlength=_SEED_BINS)
        name = f"seed byte {position} (bits {8 * position}-{8 * position + 7})"
        histograms[f"seed byte {position}"] = tuple(int(c) for c in counts)
        if len(seeds) < 5 * _SEED_BINS:
            checks.append(
                QualityCheck("seeds", name, math.nan, None, None, f"needs >= {5 * _SEED_BINS}")
            )
            continue
        stat, p = chi_square_uniform(counts)
        checks.append(QualityCheck("seeds", name, stat, p, p >= alpha))
    return checks, histograms


def seeds_of(hashes: npt.NDArray[np.bytes_]) -> npt.NDArray[np.uint32]:
    """The 32-bit seeds (each digest's last 32 bits) of a column of hex digests.

    Example:
        >>> seeds_of(np.array([b"0" * 56 + b"0000012f"], dtype="S64")).tolist()
        [303]
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


def _check_alpha(alpha: Any) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, int | float):
        raise TypeError(f"alpha must be a number, got {type(alpha).__name__}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}")
    return float(alpha)


def _assess(
    columns: Mapping[str, FloatArray],
    ids: npt.NDArray[Any],
    seeds: npt.NDArray[np.uint32] | None,
    config: AugmentationConfig,
    alpha: float,
    source: str,
    pairs: Iterable[tuple[str, Mapping[str, FloatArray], Mapping[str, FloatArray]]] = (),
) -> QualityReport:
    n = len(ids)
    if n == 0:
        raise ValueError("no samples to check")
    checks: list[QualityCheck] = []
    histograms: dict[str, tuple[int, ...]] = {}
    units = {}
    for name, (lo, width) in zip(PARAM_NAMES, config._lo_width, strict=True):
        units[name] = _unit(columns[name], float(lo), float(width))
        found, histograms[name] = _uniformity(name, units[name], alpha)
        checks += found
    for a, b in combinations(PARAM_NAMES, 2):
        checks.append(_correlation(f"{a} ~ {b}", columns[a], columns[b], alpha))
    # Consecutive ids: neighbours in id order whose ids differ by one.
    order = np.argsort(ids, kind="stable") if n > 1 else np.arange(n)
    sorted_ids = ids[order]
    try:
        follows = np.flatnonzero(np.diff(sorted_ids) == 1)
    except TypeError:  # Python ints beyond int64: compare one by one
        follows = np.array(
            [i for i in range(n - 1) if sorted_ids[i + 1] - sorted_ids[i] == 1], dtype=np.int64
        )
    for name in PARAM_NAMES:
        column = columns[name][order]
        checks.append(
            _correlation(f"{name}: id ~ id+1", column[follows], column[follows + 1], alpha)
        )
    for label, first, second in pairs:
        for name in PARAM_NAMES:
            checks.append(_correlation(f"{name}: {label}", first[name], second[name], alpha))
    for name in PARAM_NAMES:
        checks += _coverage(name, units[name], alpha)
    if seeds is not None:
        found, seed_histograms = _seed_bytes(seeds, alpha)
        checks += found
        histograms.update(seed_histograms)
    return QualityReport(n, alpha, source, config, tuple(checks), histograms)


def _float_columns(
    batches: Iterable[ParamBatch], *, with_seeds: bool = True
) -> tuple[dict[str, FloatArray], Any, Any]:
    """The five parameter columns, the ids and (``with_seeds``) the seeds of batches,
    concatenated; None for the seeds otherwise."""
    wanted = (*PARAM_NAMES, "sample_id", *(("seed",) if with_seeds else ()))
    parts: dict[str, list[Any]] = {name: [] for name in wanted}
    for batch in batches:
        for name in PARAM_NAMES:
            parts[name].append(np.asarray(getattr(batch, name), dtype=np.float64))
        parts["sample_id"].append(batch.sample_id)
        if with_seeds:
            parts["seed"].append(seeds_of(batch.hash))
    joined = {
        name: np.concatenate(chunks) if chunks else np.zeros(0) for name, chunks in parts.items()
    }
    ids = joined.pop("sample_id")
    seeds = joined.pop("seed").astype(np.uint32) if with_seeds else None
    return joined, ids, seeds


def check_batch_quality(
    batch: ParamBatch, config: AugmentationConfig | None = None, *, alpha: float = ALPHA
) -> QualityReport:
    """The quality checks (uniformity, independence of parameters and of consecutive
    ids, coverage, seed bytes) of a batch drawn with ``config`` (default: the
    default config).

    Example:
        >>> from dpa import generate_batch
        >>> check_batch_quality(generate_batch(range(5000))).passed
        True
    """
    if not isinstance(batch, ParamBatch):
        raise TypeError(f"batch must be a ParamBatch, got {type(batch).__name__}")
    config = _config(config)
    alpha = _check_alpha(alpha)
    columns, ids, seeds = _float_columns([batch])
    return _assess(columns, ids, seeds, config, alpha, f"a batch of {len(batch)}")


def _config(config: Any) -> AugmentationConfig:
    if config is None:
        return AugmentationConfig()
    if not isinstance(config, AugmentationConfig):
        raise TypeError(f"config must be an AugmentationConfig, got {type(config).__name__}")
    return config


def check_quality(
    n: int = 1_000_000,
    config: AugmentationConfig | None = None,
    *,
    start: int = 0,
    base_seed: int = 0,
    alpha: float = ALPHA,
    workers: int = 1,
    backend: str | None = None,
) -> QualityReport:
    """Generate ids ``start .. start+n-1`` and run every check on them, with the
    rank and epoch comparisons: the same ids on ranks 0 and 1 (rank-aware keys with
    ``base_seed``) and in epochs 0 and 1 (elastic keys).

    Example:
        >>> check_quality(2000).summary()["failed"]
        0
    """
    from ._distributed import generate_distributed_batch, generate_elastic_batch

    n = check_int(n, "n", 1)
    start = check_int(start, "start", 0)
    config = _config(config)
    alpha = _check_alpha(alpha)
    ids = range(start, start + n)

    def chunks(make: Callable[[range], ParamBatch]) -> Iterable[ParamBatch]:
        for first in range(start, start + n, _CHUNK):
            yield make(range(first, min(first + _CHUNK, start + n)))

    def floats(make: Callable[[range], ParamBatch]) -> dict[str, FloatArray]:
        return _float_columns(chunks(make), with_seeds=False)[0]

    options: dict[str, Any] = {"workers": workers, "backend": backend}
    columns, id_array, seeds = _float_columns(
        chunks(lambda r: generate_batch(r, config, **options))
    )
    pairs = [
        (
            "rank 0 ~ rank 1",
            floats(lambda r: generate_distributed_batch(r, 0, 2, config, base_seed, **options)),
            floats(lambda r: generate_distributed_batch(r, 1, 2, config, base_seed, **options)),
        ),
        (
            "epoch 0 ~ epoch 1",
            floats(lambda r: generate_elastic_batch(r, config, base_seed, 0, **options)),
            floats(lambda r: generate_elastic_batch(r, config, base_seed, 1, **options)),
        ),
    ]
    last = ids[-1]
    source = f"ids {start:,}..{last:,}, base seed {base_seed}"
    return _assess(columns, id_array, seeds, config, alpha, source, pairs)


def check_file_quality(
    path: str | Path,
    config: AugmentationConfig | None = None,
    *,
    alpha: float = ALPHA,
    batch_size: int = 65536,
) -> QualityReport:
    """The quality checks of the parameters in a dpa file (JSON, JSON Lines or
    Parquet), against the config in its metadata (or ``config`` when it has none).

    Consecutive ids are the file's ids that differ by one; a file holds one rank or
    epoch, so there are no rank or epoch comparisons.
    """
    from ._formats import DPAFileError, read_augmentation_file

    alpha = _check_alpha(alpha)
    opened = read_augmentation_file(path)
    stored = opened.config
    if stored is None and config is None:
        raise DPAFileError(
            opened.path, "no config in the metadata: give the config the file was made with"
        )
    used = stored if stored is not None else _config(config)
    columns, ids, seeds = _float_columns(opened.iter_batches(batch_size))
    if len(ids) == 0:
        raise DPAFileError(opened.path, "holds no samples")
    return _assess(columns, ids, seeds, used, alpha, f"{opened.path}, {opened.format}")


# --------------------------------------------------------------------------- the picture


def plot_quality(report: QualityReport, path: str | Path) -> Path:
    """Write a PNG of the report: each parameter's 64-bin histogram against the
    uniform expectation and its 99.9% band, and the counts of each seed byte.

    The figure is drawn without pyplot (no global matplotlib state) and written to a
    temporary name, then renamed to ``path``.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise RuntimeError("plots need matplotlib: pip install 'dpa[bench]'") from exc
    import io

    from ._io import write_atomic

    if not isinstance(report, QualityReport):
        raise TypeError(f"report must be a QualityReport, got {type(report).__name__}")
    target = Path(path)
    figure = Figure(figsize=(12, 7), layout="constrained")
    axes = figure.subplots(2, 3)
    z = 3.2905  # two-sided 99.9% normal quantile
    panels = [name for name in PARAM_NAMES if name in report.histograms]
    for ax, name in zip(axes.flat, panels, strict=False):
        counts = np.asarray(report.histograms[name], dtype=np.float64)
        total = counts.sum()
        lo, hi = report.config.ranges[PARAM_NAMES.index(name)]
        edges = np.linspace(float(lo), float(hi), len(counts) + 1)
        ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color="#5d8aa8")
        expected = total / len(counts)
        spread = z * math.sqrt(expected * (1 - 1 / len(counts))) if total else 0.0
        ax.axhline(expected, color="#c0392b", linewidth=1)
        ax.axhspan(expected - spread, expected + spread, color="#c0392b", alpha=0.15)
        if total:  # zoomed on the expectation, so departures from it show
            ax.set_ylim(
                max(0.0, min(counts.min(), expected - spread) - spread / 2),
                max(counts.max(), expected + spread) + spread / 2,
            )
        short = {"Kolmogorov-Smirnov": "KS", "chi-square": "chi2"}
        ps = ", ".join(
            f"{short[c.name.split(': ')[1]]} p={c.p_value:.3f}"
            for c in report.group("uniformity")
            if c.name.startswith(f"{name}:") and c.p_value is not None
        )
        ax.set_title(f"{name}  ({ps})", fontsize=9)
        ax.tick_params(labelsize=7)
    seed_ax = axes.flat[5]
    seed_keys = [f"seed byte {i}" for i in range(4) if f"seed byte {i}" in report.histograms]
    for key in seed_keys:
        counts = np.asarray(report.histograms[key], dtype=np.float64)
        seed_ax.step(range(len(counts)), counts, linewidth=0.6, where="mid", label=key[5:])
    if seed_keys:
        expected = sum(report.histograms[seed_keys[0]]) / _SEED_BINS
        spread = z * math.sqrt(expected * (1 - 1 / _SEED_BINS))
        seed_ax.axhline(expected, color="#c0392b", linewidth=1)
        seed_ax.axhspan(expected - spread, expected + spread, color="#c0392b", alpha=0.15)
        seed_ax.set_title("32-bit seeds: count of each byte value", fontsize=9)
        seed_ax.legend(fontsize=7, ncols=4, loc="upper center")
        seed_ax.tick_params(labelsize=7)
    else:
        seed_ax.set_axis_off()
    verdict = "PASS" if report.passed else f"FAIL ({len(report.failures())} checks)"
    figure.suptitle(f"dpa quality: {report.samples:,} samples, {report.source}: {verdict}")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    write_atomic(target, buffer.getvalue())
    return target
