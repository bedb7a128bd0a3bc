"""The quality report (``dpa._quality.report``): verdicts, headline figures, text and
JSON, and the fields it refuses."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from dpa import AugmentationConfig
from dpa._quality.report import ALPHA, GROUPS, QualityCheck, QualityReport, check_alpha

CHECKS = (
    QualityCheck("uniformity", "rotation: Kolmogorov-Smirnov", 0.002, 0.3, True),
    QualityCheck("uniformity", "noise: Kolmogorov-Smirnov", 0.004, 0.02, True),
    QualityCheck("uniformity", "rotation: chi-square", 70.0, 0.25, True),
    QualityCheck("uniformity", "noise: chi-square", math.nan, None, None, "needs >= 320 samples"),
    QualityCheck("independence", "rotation ~ noise", -0.03, 0.004, True),
    QualityCheck("independence", "noise: id ~ id+1", 0.01, 0.5, True),
    QualityCheck("independence", "scale ~ contrast", math.nan, None, None, "a constant sample"),
    QualityCheck("coverage", "rotation: outside range", 0.0, None, True),
    QualityCheck("coverage", "rotation: lower gap", 2e-5, 0.8, True),
    QualityCheck("coverage", "rotation: upper gap", 7e-5, 0.5, True),
    QualityCheck("seeds", "seed byte 0 (bits 0-7)", 260.0, 0.4, True),
)


def _report(*checks: QualityCheck, alpha: float = ALPHA) -> QualityReport:
    return QualityReport(10_000, alpha, "a test", AugmentationConfig(), checks or CHECKS)


def test_the_summary_picks_the_extremes_of_the_checks_made() -> None:
    summary = _report().summary()
    assert summary == {
        "samples": 10_000,
        "alpha": ALPHA,
        "max_ks_d": 0.004,
        "min_ks_p": 0.02,
        "min_chi_square_p": 0.25,
        "max_abs_r": 0.03,  # |r|: the negative one
        "min_r_p": 0.004,
        "max_coverage_gap": 7e-5,
        "min_seed_byte_p": 0.4,
        "checks": 11,
        "failed": 0,
        "skipped": 2,
    }


def test_a_report_passes_unless_a_check_failed() -> None:
    report = _report()
    assert report.passed and report.failures() == []
    failed = QualityCheck("seeds", "seed byte 1 (bits 8-15)", 400.0, 1e-9, False)
    report = _report(*CHECKS, failed)
    assert not report.passed and report.failures() == [failed]
    assert report.group("seeds") == [CHECKS[-1], failed]
    assert report.summary()["failed"] == 1


def test_the_text_lists_the_groups_in_order_then_the_verdict() -> None:
    lines = _report().format().splitlines()
    assert lines[0] == (
        "quality of 10,000 samples (a test) of preset 'moderate'; "
        "each test at the 0.1% level (p >= 0.001 passes)"
    )
    headers = [line for line in lines if line.endswith(":") and not line.startswith(" ")]
    assert headers == [f"{group}:" for group in GROUPS]
    row = next(line for line in lines if "rotation ~ noise" in line)
    assert row.split()[-3:] == ["-0.03", "p=0.0040", "ok"]
    skipped = next(line for line in lines if "noise: chi-square" in line)
    assert skipped.endswith("p=     -  skipped  (needs >= 320 samples)")
    assert lines[-2] == (
        "max KS D 0.004; min chi-square p 0.25; max |r| 0.03; max coverage gap 7e-05"
    )
    assert lines[-1] == "PASS: 9 checks (2 skipped)"
    failed = QualityCheck("uniformity", "scale: chi-square", 200.0, 1e-12, False)
    assert _report(failed).format().splitlines()[-1] == "FAIL: 1 of 1 checks: scale: chi-square"


def test_the_json_has_no_nan_or_infinity() -> None:
    outside = QualityCheck("uniformity", "scale: chi-square", math.inf, 0.0, False)
    report = QualityReport(
        10_000, 0.01, "a test", AugmentationConfig(), (*CHECKS, outside), {"noise": [1, 2]}
    )
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["passed"] is False and data["source"] == "a test"
    assert data["config"] == AugmentationConfig().to_dict()
    assert data["summary"] == json.loads(json.dumps(report.summary()))
    assert data["checks"][3] == {
        "group": "uniformity",
        "name": "noise: chi-square",
        "statistic": None,
        "p_value": None,
        "passed": None,
        "note": "needs >= 320 samples",
    }
    assert data["checks"][-1]["statistic"] is None
    assert data["histograms"] == {"noise": [1, 2]}


def test_numbers_of_any_kind_are_stored_as_floats() -> None:
    check = QualityCheck("seeds", "a", np.int64(3), np.float32(0.5), True)
    assert type(check.statistic) is float and type(check.p_value) is float
    report = QualityReport(np.int64(4), 0.01, "x", AugmentationConfig(), [], {"a": (np.int8(1),)})
    assert report.samples == 4 and report.histograms == {"a": (1,)}
    assert report.summary()["max_ks_d"] is None
    assert report.format().splitlines()[-1] == "PASS: 0 checks"


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: QualityCheck(1, "a", 1.0, 0.5, True), TypeError),
        (lambda: QualityCheck("seeds", "a", "1", 0.5, True), TypeError),
        (lambda: QualityCheck("seeds", "a", True, 0.5, True), TypeError),
        (lambda: QualityCheck("seeds", "a", 10**400, 0.5, True), ValueError),
        (lambda: QualityCheck("seeds", "a", 1.0, 0.5, 1), TypeError),
        (lambda: _report(alpha=0), ValueError),
        (lambda: _report(alpha=True), TypeError),
        (lambda: QualityReport(-1, 0.01, "x", AugmentationConfig(), ()), ValueError),
        (lambda: QualityReport(1, 0.01, b"x", AugmentationConfig(), ()), TypeError),
        (lambda: QualityReport(1, 0.01, "x", {}, ()), TypeError),
        (lambda: QualityReport(1, 0.01, "x", AugmentationConfig(), "checks"), TypeError),
        (lambda: QualityReport(1, 0.01, "x", AugmentationConfig(), [1]), TypeError),
        (lambda: QualityReport(1, 0.01, "x", AugmentationConfig(), (), []), TypeError),
        (lambda: QualityReport(1, 0.01, "x", AugmentationConfig(), (), {"a": "12"}), TypeError),
        (lambda: QualityReport(1, 0.01, "x", AugmentationConfig(), (), {"a": [-1]}), ValueError),
    ],
)
def test_bad_fields_are_refused(make: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        make()


def test_alpha_is_a_number_strictly_between_0_and_1() -> None:
    assert check_alpha(0.05) == 0.05
    for alpha in (0, 1.0, -0.5, math.nan, math.inf):
        with pytest.raises(ValueError, match="between 0 and 1"):
            check_alpha(alpha)
    for alpha in ("0.1", None, True, np.int8(0)):
        with pytest.raises(TypeError, match="alpha must be a number"):
            check_alpha(alpha)
