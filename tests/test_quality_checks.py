"""The checks of one sample (``dpa._quality.checks``): which values each statistic is
computed from, which rows are paired, where a verdict turns, and the seeds."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from dpa import AugmentationConfig, generate_batch
from dpa._config import PARAM_NAMES
from dpa._quality.checks import BINS, COVERAGE_GAP, assess, seeds_of
from dpa._quality.report import QualityReport

CONFIG = AugmentationConfig()
FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def _uniform(n: int, seed: int = 0, config: AugmentationConfig = CONFIG) -> dict[str, FloatArray]:
    """Columns of values uniform on each range of ``config`` (numpy's generator)."""
    rng = np.random.default_rng(seed)
    return {
        name: lo + (hi - lo) * rng.random(n)
        for name, (lo, hi) in zip(PARAM_NAMES, config.ranges, strict=True)
    }


def _assess(columns: dict[str, FloatArray], ids: Any = None, **options: Any) -> QualityReport:
    n = len(columns["rotation"])
    ids = np.arange(n) if ids is None else ids
    return assess(columns, ids, options.pop("seeds", None), CONFIG, options.pop("alpha", 0.001),
                  "test", **options)  # fmt: skip


def _check(report: QualityReport, name: str) -> Any:
    (found,) = [check for check in report.checks if check.name == name]
    return found


def _unit(name: str, values: FloatArray) -> FloatArray:
    lo, hi = CONFIG.ranges[PARAM_NAMES.index(name)]
    return (values - lo) / (hi - lo)


def test_uniformity_is_judged_on_the_values_mapped_onto_their_range() -> None:
    columns = _uniform(5000)
    report = _assess(columns)
    for name in PARAM_NAMES:
        u = np.sort(_unit(name, columns[name]))
        ranks = np.arange(1, len(u) + 1) / len(u)
        d = max(np.max(ranks - u), np.max(u - (ranks - 1 / len(u))))
        assert _check(report, f"{name}: Kolmogorov-Smirnov").statistic == pytest.approx(d)
        counts, _ = np.histogram(u, bins=BINS, range=(0, 1))
        assert report.histograms[name] == tuple(counts)
        expected = len(u) / BINS
        chi2 = float(np.sum((counts - expected) ** 2) / expected)
        assert _check(report, f"{name}: chi-square").statistic == pytest.approx(chi2)
    # the same values against ranges twice as wide crowd into half of them
    wide = AugmentationConfig(rotation_range=(-30, 90))
    judged = assess(columns, np.arange(5000), None, wide, 0.001, "test")
    assert {c.name for c in judged.failures()} == {
        "rotation: Kolmogorov-Smirnov",
        "rotation: chi-square",
        "rotation: upper gap",
    }


def test_every_pair_of_parameters_is_correlated() -> None:
    columns = _uniform(3000)
    report = _assess(columns)
    pairs = [c for c in report.group("independence") if " ~ " in c.name and ":" not in c.name]
    assert [c.name for c in pairs] == [
        f"{a} ~ {b}" for i, a in enumerate(PARAM_NAMES) for b in PARAM_NAMES[i + 1 :]
    ]
    for check in pairs:
        a, b = check.name.split(" ~ ")
        assert check.statistic == pytest.approx(np.corrcoef(columns[a], columns[b])[0, 1])


@pytest.mark.parametrize("huge", [False, True])
def test_neighbours_are_the_ids_that_differ_by_one(huge: bool) -> None:
    rng = np.random.default_rng(4)
    base = 2**70 if huge else 0
    kept = np.sort(rng.choice(6000, size=4000, replace=False))  # gaps between runs
    order = rng.permutation(len(kept))  # rows in no particular order
    ids = (np.array([base + int(i) for i in kept], dtype=object) if huge else kept)[order]
    columns = _uniform(len(ids), seed=5)
    row_of = {int(i): row for row, i in enumerate(ids)}
    pairs = [(row_of[i], row_of[i + 1]) for i in row_of if i + 1 in row_of]
    assert 1000 < len(pairs) < len(ids) - 1
    report = _assess(columns, ids)
    for name in PARAM_NAMES:
        x = [columns[name][a] for a, _ in pairs]
        y = [columns[name][b] for _, b in pairs]
        found = _check(report, f"{name}: id ~ id+1").statistic
        assert found == pytest.approx(np.corrcoef(x, y)[0, 1])


def test_comparisons_pair_the_rows_of_two_samples() -> None:
    first, second = _uniform(2000, seed=1), _uniform(2000, seed=2)
    second["scale"] = 0.8 + 0.9 * (first["scale"] - 0.8) + 0.04 * (second["scale"] - 0.8)
    report = _assess(_uniform(2000), comparisons=[("run 1 ~ run 2", first, second)])
    checks = [c for c in report.group("independence") if c.name.endswith("run 1 ~ run 2")]
    assert [c.name.split(":")[0] for c in checks] == list(PARAM_NAMES)
    for check in checks:
        name = check.name.split(":")[0]
        assert check.statistic == pytest.approx(np.corrcoef(first[name], second[name])[0, 1])
    assert [c.name for c in report.failures()] == ["scale: run 1 ~ run 2"]


def test_a_check_passes_when_its_p_is_at_least_alpha() -> None:
    columns = _uniform(4000, seed=8)
    p = _check(_assess(columns), "noise: Kolmogorov-Smirnov").p_value
    assert _check(_assess(columns, alpha=p), "noise: Kolmogorov-Smirnov").passed is True
    above = math.nextafter(p, 1)
    assert _check(_assess(columns, alpha=above), "noise: Kolmogorov-Smirnov").passed is False


def test_a_small_sample_may_stop_short_of_its_bounds_as_a_uniform_one_would() -> None:
    n = 1000
    limit = -math.expm1(math.log(0.001) / n)  # (1 - limit) ** n == 0.001
    columns = _uniform(n, seed=3)
    for gap, passed in ((limit * 0.999, True), (limit * 1.001, False)):
        u = gap + (1 - gap) * np.random.default_rng(6).random(n)
        u[[0, 1]] = [gap, 1.0]
        columns["brightness"] = 0.8 + 0.4 * u
        check = _check(_assess(columns), "brightness: lower gap")
        assert check.statistic == pytest.approx(gap)
        assert check.p_value == pytest.approx((1 - gap) ** n)
        assert check.passed is passed
        assert check.note == f"limit {limit:.3g} for {n} samples"
    # from about 69,000 samples on, the limit is the promised 0.01% of the width
    assert _check(_assess(_uniform(70_000)), "noise: lower gap").note == ""
    assert COVERAGE_GAP == 1e-4


def test_values_outside_the_range_fail_every_check_that_sees_them() -> None:
    columns = _uniform(2000)
    columns["contrast"][[5, 50]] = [1.3 + 1e-9, math.nan]
    report = _assess(columns)
    failed = {c.name for c in report.failures()}
    assert failed == {
        "contrast: Kolmogorov-Smirnov",  # the NaN
        "contrast: chi-square",
        "contrast: outside range",
    }
    assert _check(report, "contrast: chi-square").statistic == math.inf
    assert _check(report, "contrast: outside range").note == "2 value(s) outside the range"
    # fewer than 5 samples a bin: no chi-square, but the range is still checked
    small = _assess({name: values[:300] for name, values in columns.items()})
    assert _check(small, "contrast: chi-square").passed is None
    assert _check(small, "contrast: outside range").passed is False


def test_a_constant_parameter_has_no_correlation_and_misses_its_range() -> None:
    columns = _uniform(1000)
    columns["noise"] = np.full(1000, 0.05)
    report = _assess(columns)
    check = _check(report, "rotation ~ noise")
    assert check.passed is None and check.p_value is None
    assert check.note == "a constant or non-finite sample"
    assert {"noise: lower gap", "noise: upper gap"} <= {c.name for c in report.failures()}


def test_the_seed_bytes_are_counted_lowest_first() -> None:
    seeds = np.arange(256 * 8, dtype=np.uint32) * np.uint32(0x01010101 + 0x01000000)
    report = _assess(_uniform(len(seeds)), seeds=seeds)
    assert [c.name for c in report.group("seeds")] == [
        f"seed byte {i} (bits {8 * i}-{8 * i + 7})" for i in range(4)
    ]
    assert report.histograms["seed byte 0"] == (8,) * 256
    assert sum(report.histograms["seed byte 3"]) == len(seeds)
    assert _check(report, "seed byte 0 (bits 0-7)").statistic == 0.0
    too_few = _assess(_uniform(1000), seeds=seeds[:1000])
    assert [c.passed for c in too_few.group("seeds")] == [None] * 4


def test_seeds_are_the_digests_last_32_bits() -> None:
    batch = generate_batch(range(5000))
    expected = [int(h[-8:], 16) for h in batch.hash.tolist()]
    assert seeds_of(batch.hash).tolist() == expected
    assert seeds_of(np.array([b"F" * 64], dtype="S64")).tolist() == [0xFFFFFFFF]
    with pytest.raises(ValueError, match="hexadecimal"):
        seeds_of(np.array([b"g" * 64], dtype="S64"))


def test_no_samples_no_report() -> None:
    with pytest.raises(ValueError, match="no samples"):
        _assess(_uniform(0))
