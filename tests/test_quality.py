"""The statistical quality suite: its tests are right (against scipy), they catch
the flaws they are meant to catch, and dpa's parameters pass them all.

The big run checks 1,000,000 ids on the native kernel (100,000 where the pure-Python
reference is forced); the ids are fixed, so the verdicts are deterministic.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats as scipy_stats

import dpa
from dpa import AugmentationConfig, ParamBatch, generate_batch, get_preset
from dpa._cli import cli
from dpa._io import save_augmentation_chain
from dpa._quality import (
    ALPHA,
    BINS,
    COVERAGE_GAP,
    QualityReport,
    check_batch_quality,
    check_file_quality,
    check_quality,
    chi2_sf,
    chi_square_uniform,
    kolmogorov_sf,
    kolmogorov_smirnov_uniform,
    pearson,
    plot_quality,
    seeds_of,
    student_t_two_sided,
)

N = 1_000_000 if dpa.backend() == "native" else 100_000
PARAMS = ("rotation", "brightness", "noise", "scale", "contrast")


@pytest.fixture(scope="module")
def report() -> QualityReport:
    return check_quality(N, workers=2)


# --------------------------------------------------------------------------- dpa passes


def test_every_check_passes_on_the_default_config(report: QualityReport) -> None:
    assert report.samples == N
    assert report.failures() == []
    assert report.passed
    summary = report.summary()
    assert summary["skipped"] == 0
    # 10 uniformity, 10 pairs + 5 consecutive + 5 rank + 5 epoch, 15 coverage, 4 seeds.
    assert summary["checks"] == 54
    assert len(report.group("independence")) == 25
    assert {c.name for c in report.group("independence")} >= {
        "rotation ~ contrast",
        "noise: id ~ id+1",
        "scale: rank 0 ~ rank 1",
        "contrast: epoch 0 ~ epoch 1",
    }


def test_the_headline_figures_meet_the_promises(report: QualityReport) -> None:
    summary = report.summary()
    # |r| small enough to pass at 0.1%: below t(0.9995) / sqrt(n) ~ 3.29 / sqrt(n).
    assert summary["max_abs_r"] < 3.2905 / math.sqrt(N - 2)
    assert summary["min_ks_p"] >= ALPHA
    assert summary["min_chi_square_p"] >= ALPHA
    assert summary["min_seed_byte_p"] >= ALPHA
    # Within 0.01% of both bounds of every range.
    assert summary["max_coverage_gap"] <= COVERAGE_GAP
    for name in PARAMS:
        assert sum(report.histograms[name]) == N
        assert len(report.histograms[name]) == BINS
    for position in range(4):
        assert sum(report.histograms[f"seed byte {position}"]) == N


@pytest.mark.parametrize("preset", ["mild", "aggressive"])
def test_presets_and_other_keys_pass(preset: str) -> None:
    n = N // 5
    result = check_quality(n, get_preset(preset), start=10**12, base_seed=7, workers=2)
    assert result.failures() == []


def test_integer_ranges_and_a_deep_chain_pass() -> None:
    config = AugmentationConfig(
        rotation_range=(-180, 180), noise_range=(0, 1), augmentation_depth=40
    )
    assert check_quality(N // 10, config, workers=2).failures() == []


def test_the_report_reads_and_serialises(report: QualityReport) -> None:
    text = report.format()
    assert text.splitlines()[-1] == "PASS: 54 checks"
    assert "rotation: Kolmogorov-Smirnov" in text and "seed byte 3 (bits 24-31)" in text
    data = json.loads(json.dumps(report.to_dict()))
    assert data["passed"] is True
    assert data["summary"]["checks"] == 54
    assert len(data["checks"]) == 54
    assert data["config"] == AugmentationConfig().to_dict()


# --------------------------------------------------------------------------- the tests are right


@pytest.mark.parametrize("df", [1, 2, 5, 63, 255, 1000])
def test_chi2_sf_matches_scipy(df: int) -> None:
    for quantile in (1e-6, 0.01, 0.3, 0.5, 0.9, 0.999, 1 - 1e-9):
        x = float(scipy_stats.chi2.ppf(quantile, df))
        assert chi2_sf(x, df) == pytest.approx(scipy_stats.chi2.sf(x, df), rel=1e-9, abs=1e-14)


@pytest.mark.parametrize("df", [1, 3, 30, 998, 999_998])
def test_student_t_matches_scipy(df: int) -> None:
    for t in (0.0, 0.01, 0.5, 1.0, 2.0, 3.29, 5.0, 12.0):
        expected = 2 * scipy_stats.t.sf(t, df)
        assert student_t_two_sided(t, df) == pytest.approx(expected, rel=1e-7, abs=1e-14)


@pytest.mark.parametrize("n", [1000, 100_000, 1_000_000])
def test_kolmogorov_sf_matches_scipy(n: int) -> None:
    for p in (0.9, 0.5, 0.1, 0.01, 0.001, 1e-5):
        d = float(scipy_stats.kstwo.isf(p, n))
        assert kolmogorov_sf(d, n) == pytest.approx(p, rel=0.03 if n < 10_000 else 0.005)


def test_ks_and_pearson_match_scipy() -> None:
    rng = np.random.default_rng(5)
    u = rng.random(20_000)
    d, p = kolmogorov_smirnov_uniform(u)
    expected = scipy_stats.kstest(u, "uniform", method="exact")
    assert d == pytest.approx(expected.statistic, rel=1e-12)
    assert p == pytest.approx(expected.pvalue, rel=0.01)
    x, y = rng.random(50_000), rng.random(50_000)
    y = y + 0.02 * x
    r, p = pearson(x, y)
    expected_r = scipy_stats.pearsonr(x, y)
    assert r == pytest.approx(expected_r.statistic, rel=1e-10)
    assert p == pytest.approx(expected_r.pvalue, rel=1e-6)


def test_chi_square_matches_scipy() -> None:
    counts = np.random.default_rng(1).integers(80, 120, size=64)
    stat, p = chi_square_uniform(counts)
    expected = scipy_stats.chisquare(counts)
    assert stat == pytest.approx(expected.statistic, rel=1e-12)
    assert p == pytest.approx(expected.pvalue, rel=1e-9)


def test_seeds_are_the_digests_last_32_bits() -> None:
    batch = generate_batch(range(5000))
    expected = [int(h[-8:], 16) for h in batch.hash.tolist()]
    assert seeds_of(batch.hash).tolist() == expected
    assert seeds_of(np.array([b"F" * 64], dtype="S64")).tolist() == [0xFFFFFFFF]
    with pytest.raises(ValueError, match="hexadecimal"):
        seeds_of(np.array([b"g" * 64], dtype="S64"))


# --------------------------------------------------------------------------- the tests can fail


def _uniform_batch(n: int, seed: int = 0, config: AugmentationConfig | None = None) -> ParamBatch:
    """A batch of truly uniform values (numpy's own generator) with random hashes."""
    config = config or AugmentationConfig()
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    for name, (lo, hi) in zip(PARAMS, config.ranges, strict=True):
        columns[name] = lo + (hi - lo) * rng.random(n)
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[rng.integers(0, 16, (n, 64))]
    hashes = np.ascontiguousarray(digits).view("S64").ravel()
    return ParamBatch(sample_id=np.arange(n, dtype=np.int64), hash=hashes, **columns)


def _replace(batch: ParamBatch, **columns: Any) -> ParamBatch:
    return ParamBatch(**{**batch.columns(), **columns})


def _failed(report: QualityReport) -> set[str]:
    return {check.name for check in report.failures()}


def test_a_truly_uniform_sample_passes() -> None:
    assert check_batch_quality(_uniform_batch(100_000)).failures() == []


def test_uniformity_catches_a_skewed_parameter() -> None:
    batch = _uniform_batch(50_000)
    u = (batch.noise - 0.0) / 0.1
    skewed = _replace(batch, noise=0.1 * u**1.05)
    assert _failed(check_batch_quality(skewed)) >= {
        "noise: Kolmogorov-Smirnov",
        "noise: chi-square",
    }


def test_independence_catches_correlated_parameters_and_neighbours() -> None:
    batch = _uniform_batch(50_000)
    rng = np.random.default_rng(9)
    # brightness follows rotation a little: r ~ 0.03, far beyond 3.29/sqrt(n) ~ 0.015
    mixed = 0.97 * (batch.brightness - 1) + 0.03 * batch.rotation / 75
    leaky = _replace(batch, brightness=1 + mixed)
    assert "rotation ~ brightness" in _failed(check_batch_quality(leaky))
    # contrast of id i+1 close to contrast of id i: a random walk folded into range
    steps = np.cumsum(rng.normal(0, 0.01, len(batch)))
    walk = 0.7 + 0.6 * np.abs((steps % 2) - 1)
    assert "contrast: id ~ id+1" in _failed(check_batch_quality(_replace(batch, contrast=walk)))


def test_coverage_catches_a_range_not_reached_and_values_outside() -> None:
    batch = _uniform_batch(50_000)
    short = _replace(batch, rotation=np.minimum(batch.rotation, 29.9))  # top 0.17% never drawn
    assert _failed(check_batch_quality(short)) == {"rotation: upper gap"}
    outside = batch.scale.copy()
    outside[123] = 1.2000001
    failed = _failed(check_batch_quality(_replace(batch, scale=outside)))
    assert {"scale: outside range", "scale: chi-square"} <= failed


def test_seed_check_catches_a_biased_byte() -> None:
    batch = _uniform_batch(20_000)
    hashes = batch.hash.copy()
    # every tenth seed gets a low byte of 00
    for i in range(0, len(hashes), 10):
        hashes[i] = hashes[i][:62] + b"00"
    failed = _failed(check_batch_quality(_replace(batch, hash=hashes)))
    assert failed == {"seed byte 0 (bits 0-7)"}


def test_a_file_checked_against_its_own_config(tmp_path: Path) -> None:
    batch = generate_batch(range(3000, 13_000), get_preset("mild"))
    reference = check_batch_quality(batch, get_preset("mild"))
    for suffix in (".json", ".jsonl", ".parquet"):
        path = tmp_path / f"p{suffix}"
        save_augmentation_chain(batch.to_dicts(), path, config=get_preset("mild"))
        from_file = check_file_quality(path)
        assert from_file.failures() == []
        assert [c.statistic for c in from_file.checks] == [c.statistic for c in reference.checks]
    # the same values judged against the default ranges do not fit them
    wrong = check_batch_quality(batch, AugmentationConfig())
    assert "rotation: lower gap" in _failed(wrong)


def test_small_samples_skip_what_they_cannot_test() -> None:
    report = check_quality(300)
    skipped = {c.name for c in report.checks if c.passed is None}
    assert skipped == {f"{p}: chi-square" for p in PARAMS} | {
        f"seed byte {i} (bits {8 * i}-{8 * i + 7})" for i in range(4)
    }
    assert report.passed
    # the coverage limit grows for small n: a uniform sample meets it 99.9% of the time
    gaps = [c for c in report.group("coverage") if c.name.endswith("gap")]
    assert all("limit" in c.note for c in gaps)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: check_quality(0), ValueError),
        (lambda: check_quality("10"), TypeError),
        (lambda: check_quality(10, start=-1), ValueError),
        (lambda: check_quality(10, alpha=0), ValueError),
        (lambda: check_quality(10, alpha="0.1"), TypeError),
        (lambda: check_quality(10, config={"rotation_range": (0, 1)}), TypeError),
        (lambda: check_batch_quality([1, 2, 3]), TypeError),
        (lambda: pearson([1, 2], [1, 2]), ValueError),
        (lambda: pearson([1, 2, 3], [1, 2]), ValueError),
        (lambda: chi_square_uniform([5]), ValueError),
        (lambda: kolmogorov_smirnov_uniform([]), ValueError),
        (lambda: plot_quality("report", "x.png"), TypeError),
    ],
)
def test_bad_arguments_are_refused(call: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        call()


def test_a_file_without_a_config_needs_one(tmp_path: Path) -> None:
    path = tmp_path / "bare.json"
    records = generate_batch(range(500)).to_dicts()
    path.write_text(json.dumps({"augmentations": records}))
    with pytest.raises(dpa.DPAFileError, match="no config"):
        check_file_quality(path)
    assert check_file_quality(path, AugmentationConfig()).samples == 500


# --------------------------------------------------------------------------- picture and CLI


def test_plot_writes_a_png_without_pyplot(tmp_path: Path) -> None:
    script = (
        "import sys; from dpa._quality import check_quality, plot_quality;"
        f"plot_quality(check_quality(4000), {str(tmp_path / 'q.png')!r});"
        "print('matplotlib.pyplot' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    from PIL import Image

    with Image.open(tmp_path / "q.png") as image:
        assert image.format == "PNG" and image.size[0] > 600
    assert [p.name for p in tmp_path.iterdir()] == ["q.png"]  # no temporary left


def test_cli_quality_of_generated_samples(tmp_path: Path) -> None:
    runner = CliRunner()
    plot = tmp_path / "plots" / "q.png"
    result = runner.invoke(cli, ["stats", "--quality", "--n", "20000", "--preset", "mild",
                                 "--plot", str(plot)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "PASS: 54 checks" in result.output
    assert plot.stat().st_size > 10_000
    result = runner.invoke(cli, ["stats", "--quality", "-n", "5000", "--json", "--start", "99"])
    data = json.loads(result.output)
    assert data["passed"] is True and data["source"].startswith("ids 99..5,098")


def test_cli_quality_of_a_file_and_of_a_damaged_one(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    batch = generate_batch(range(20_000))
    save_augmentation_chain(batch.to_dicts(), path)
    runner = CliRunner()
    result = runner.invoke(cli, ["stats", "--quality", str(path)])
    assert result.exit_code == 0, result.output
    assert "PASS: 44 checks" in result.output  # no rank or epoch pairs in a file
    damaged = batch.to_dicts()
    for record in damaged[::2]:
        record["noise"] = record["noise"] * 0.5  # half the values squeezed to the bottom
    save_augmentation_chain(damaged, tmp_path / "bad.jsonl")
    result = runner.invoke(cli, ["stats", "--quality", str(tmp_path / "bad.jsonl")])
    assert result.exit_code == 1
    assert "FAIL:" in result.output and "noise: Kolmogorov-Smirnov" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["stats"], "give a FILE"),
        (["stats", "x.jsonl", "--n", "5"], "--n: only with --quality"),
        (["stats", "x.jsonl", "--plot", "a.png"], "--plot: only with --quality"),
        (["stats", "--quality", "--n", "0"], "--n must be >= 1"),
        (["stats", "--quality", "--n", "10", "--alpha", "1.5"], "--alpha must be between"),
        (["stats", "--quality", "--n", "10", "--plot", "a.jpg"], "give a .png"),
        (["stats", "--quality", "--n", "10", "--start", "-3"], "--start must be >= 0"),
        (["stats", "--quality", "missing.jsonl"], "no such file"),
        (["stats", "--quality", "--n", "10", "--rotation", "5", "1"], "invalid config"),
    ],
)
def test_cli_quality_errors_are_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from dpa._cli import main

    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_cli_refuses_config_options_for_a_file_with_a_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dpa._cli import main

    path = tmp_path / "p.json"
    save_augmentation_chain(generate_batch(range(400)).to_dicts(), path)
    assert main(["stats", "--quality", str(path), "--preset", "mild"]) == 2
    assert "has its own config" in capsys.readouterr().err
    assert main(["stats", "--quality", str(path), "--n", "5"]) == 2
