"""The quality report: each check's verdict, the headline figures, text and JSON.

A :class:`QualityCheck` is one test (its group, name, statistic, p-value and
verdict); a :class:`QualityReport` holds the checks of one sample with the counts
behind them, and says whether they passed (:attr:`QualityReport.passed`), which
failed, the headline figures (:meth:`QualityReport.summary`), the report as text
(:meth:`QualityReport.format`) and as JSON (:meth:`QualityReport.to_dict`).

Example:
    >>> check = QualityCheck("seeds", "seed byte 0 (bits 0-7)", 250.0, 0.5, True)
    >>> report = QualityReport(2000, ALPHA, "ids 0..1,999", AugmentationConfig(), [check])
    >>> report.passed, report.summary()["min_seed_byte_p"]
    (True, 0.5)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._config import AugmentationConfig, config_name
from .._validate import check_int

__all__ = ["ALPHA", "GROUPS", "QualityCheck", "QualityReport", "check_alpha"]

#: Default significance level of every test: 0.1%.
ALPHA = 0.001
#: The groups of checks, in the order a report lists them.
GROUPS = ("uniformity", "independence", "coverage", "seeds")
#: The figures of a report's headline line: label and key of the summary.
_HEADLINE = (
    ("max KS D", "max_ks_d"),
    ("min chi-square p", "min_chi_square_p"),
    ("max |r|", "max_abs_r"),
    ("max coverage gap", "max_coverage_gap"),
)


@dataclass(frozen=True)
class QualityCheck:
    """One test: its group, name, statistic, p-value and verdict.

    ``passed`` is None when the check could not be made (a note says why).

    Example:
        >>> QualityCheck("seeds", "seed byte 1 (bits 8-15)", 262.0, 0.38, True).to_dict()["p_value"]
        0.38
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
    """``value`` as a float; TypeError unless it is a number (bools are not)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{name} is beyond the float range: {value}") from None


def _json_number(value: float | None) -> float | None:
    """``value``, or None where JSON has no number for it (None, NaN, infinities)."""
    return None if value is None or not math.isfinite(value) else value


@dataclass(frozen=True)
class QualityReport:
    """The checks of one sample of parameters and the counts behind them.

    ``histograms`` holds the 64 bin counts of each parameter and the 256 counts of
    each seed byte (``"seed byte 0"`` is the lowest), for plotting.

    Example:
        >>> failed = QualityCheck("uniformity", "noise: chi-square", 120.5, 1e-5, False)
        >>> report = QualityReport(5000, ALPHA, "a batch", AugmentationConfig(), [failed])
        >>> report.passed, [check.name for check in report.failures()]
        (False, ['noise: chi-square'])
    """

    samples: int
    alpha: float
    source: str
    config: AugmentationConfig
    checks: tuple[QualityCheck, ...]
    histograms: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "samples", check_int(self.samples, "samples", 0))
        object.__setattr__(self, "alpha", check_alpha(self.alpha))
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

        def values(group: str, suffix: str, attribute: str) -> list[float]:
            found = [
                getattr(c, attribute)
                for c in self.group(group)
                if c.name.endswith(suffix) and c.passed is not None
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
            f"quality of {self.samples:,} samples ({self.source}) of "
            f"{config_name(self.config)}; "
            f"each test at the {self.alpha * 100:g}% level (p >= {level} passes)"
        ]
        width = max(len(check.name) for check in self.checks) if self.checks else 10
        for group in GROUPS:
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
        lines.append(
            "; ".join(
                f"{label} {summary[key]:.3g}"
                for label, key in _HEADLINE
                if summary[key] is not None
            )
        )
        if self.passed:
            skipped = f" ({summary['skipped']} skipped)" if summary["skipped"] else ""
            lines.append(f"PASS: {summary['checks'] - summary['skipped']} checks{skipped}")
        else:
            names = ", ".join(check.name for check in self.failures())
            lines.append(f"FAIL: {summary['failed']} of {summary['checks']} checks: {names}")
        return "\n".join(lines)


def check_alpha(alpha: Any) -> float:
    """``alpha`` as a float; TypeError unless it is a number, ValueError unless it is
    strictly between 0 and 1.

    Example:
        >>> check_alpha(0.01)
        0.01
    """
    if isinstance(alpha, bool) or not isinstance(alpha, int | float):
        raise TypeError(f"alpha must be a number, got {type(alpha).__name__}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}")
    return float(alpha)
