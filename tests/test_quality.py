"""The statistical quality suite (``dpa._quality``): dpa's parameters pass every check,
the checks catch the flaws they are meant to catch, and each source (generated ids with
their rank and epoch comparisons, a batch, a file) gives the checks its sample.

The big run checks 1,000,000 ids on the native kernel (100,000 where the pure-Python
reference is forced); the ids are fixed, so the verdicts are deterministic. The
statistics themselves are tested in test_quality_stats.py and test_quality_checks.py,
the report in test_quality_report.py.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import dpa
from dpa import (
    AugmentationConfig,
    ParamBatch,
    _quality,
    generate_batch,
    get_preset,
)
from dpa._cli import cli
from dpa._io import save_augmentation_chain
from dpa._keys import ElasticScheme, RankAwareScheme
from dpa._quality import (
    ALPHA,
    BINS,
    COVERAGE_GAP,
    QualityReport,
    check_batch_quality,
    check_file_quality,
    check_quality,
    checks as _quality_checks,
    plot as _quality_plot,
    report as _quality_report,
    stats as _quality_stats,
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


# --------------------------------------------------------------------------- the samples


def test_the_parts_of_the_suite_are_importable_from_one_module() -> None:
    parts = (_quality_checks, _quality_plot, _quality_report, _quality_stats)
    homes = {name: part for part in parts for name in part.__all__}
    for name in _quality.__all__:
        if name in homes:
            assert getattr(_quality, name) is getattr(homes[name], name), name
    assert [name for name in _quality.__all__ if name not in homes] == [
        "check_batch_quality",
        "check_file_quality",
        "check_quality",
    ]


def test_ranks_and_epochs_compare_the_same_ids_under_their_keys() -> None:
    ids = range(500, 2500)
    report = check_quality(len(ids), start=500, base_seed=7)
    assert report.source == "ids 500..2,499, base seed 7"
    drawn = {
        label: [generate_batch(ids, scheme=scheme) for scheme in schemes]
        for label, schemes in {
            "rank 0 ~ rank 1": (RankAwareScheme(7, 0, 2), RankAwareScheme(7, 1, 2)),
            "epoch 0 ~ epoch 1": (ElasticScheme(7, 0), ElasticScheme(7, 1)),
        }.items()
    }
    for check in report.group("independence"):
        name, _, label = check.name.partition(": ")
        if label in drawn:
            first, second = (getattr(batch, name) for batch in drawn[label])
            assert check.statistic == pytest.approx(np.corrcoef(first, second)[0, 1])
    plain = check_batch_quality(generate_batch(ids))
    assert [c.statistic for c in plain.checks] == [
        c.statistic for c in report.checks if "rank" not in c.name and "epoch" not in c.name
    ]


def test_without_scipy_nothing_is_generated(monkeypatch: pytest.MonkeyPatch) -> None:
    def generate(*args: Any, **kwargs: Any) -> ParamBatch:
        raise AssertionError("generated before finding scipy missing")

    monkeypatch.setattr("dpa._quality.generate_batch", generate)
    monkeypatch.setitem(sys.modules, "scipy.stats", None)
    with pytest.raises(ImportError, match=r"pip install 'dpa-augment\[quality\]'"):
        check_quality(1000)
    with pytest.raises(ImportError, match="scipy"):
        check_batch_quality(_uniform_batch(400))
    with pytest.raises(ImportError, match="scipy"):
        check_file_quality("no such file.jsonl")  # before the file is read


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
        (lambda: check_batch_quality(generate_batch(range(5)), alpha=1), ValueError),
        (lambda: check_file_quality("x.json", alpha=None), TypeError),
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


def test_a_sample_too_large_to_hold_is_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 10**8 samples would need about 45 GB: refused at once, nothing generated
    monkeypatch.setattr(_quality, "generate_batch", None)  # any generation would fail
    with pytest.raises(ValueError, match=r"100,000,000 samples asked for; .* at most 10,000,000"):
        check_quality(10**8)
    monkeypatch.undo()
    monkeypatch.setattr(_quality, "MAX_SAMPLES", 1000)
    path = tmp_path / "p.jsonl"
    save_augmentation_chain(generate_batch(range(1500)), path)
    with pytest.raises(ValueError, match=r"p\.jsonl holds 1,500 samples; .* at most 1,000"):
        check_file_quality(path)
    # a file that declares fewer than it holds is stopped as soon as it is read past
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps({"augmentations": generate_batch(range(1500)).to_dicts()}))
    with pytest.raises(ValueError, match=r"bare\.json holds more than 1,000 samples"):
        check_file_quality(bare, AugmentationConfig(), batch_size=100)


# --------------------------------------------------------------------------- the command


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
        (["stats", __file__, "--n", "5"], "--n: only with --quality"),
        (["stats", __file__, "--plot", "a.png"], "--plot: only with --quality"),
        (["stats", "--quality", "--n", "0"], "'--n': 0 is not in the range x>=1"),
        (
            ["stats", "--quality", "--n", "10", "--alpha", "1.5"],
            "'--alpha': 1.5 is not in the range 0<x<1",
        ),
        (["stats", "--quality", "--n", "10", "--plot", "a.jpg"], "give a .png"),
        (
            ["stats", "--quality", "--n", "10", "--start", "-3"],
            "'--start': -3 is not in the range x>=0",
        ),
        (["stats", "--quality", "missing.jsonl"], "'missing.jsonl' does not exist"),
        (["stats", "--quality", "--n", "10", "--rotation", "5", "1"], "invalid config"),
        (["stats", "--quality", "--n", str(10**8)], "at most 10,000,000 samples"),
    ],
)
def test_cli_quality_errors_are_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from dpa._cli import main

    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_cli_says_how_to_give_the_config_of_a_file_without_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dpa._cli import main

    path = tmp_path / "bare.json"
    path.write_text(json.dumps({"augmentations": generate_batch(range(500)).to_dicts()}))
    assert main(["stats", "--quality", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"dpa: error: {path}: no config in its metadata: give the one it was made with "
        "(--preset, --config or the range options)\n"
    )
    assert main(["stats", "--quality", str(path), "--preset", "moderate"]) == 0


def test_cli_refuses_config_options_for_a_file_with_a_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dpa._cli import main

    path = tmp_path / "p.json"
    save_augmentation_chain(generate_batch(range(400)).to_dicts(), path)
    assert main(["stats", "--quality", str(path), "--preset", "mild"]) == 2
    assert "has its own config" in capsys.readouterr().err
    assert main(["stats", "--quality", str(path), "--n", "5"]) == 2


def test_cli_without_scipy_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dpa._cli import main

    monkeypatch.setitem(sys.modules, "scipy.stats", None)
    assert main(["stats", "--quality", "--n", "1000"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'dpa-augment[quality]'" in err and err.count("\n") == 1
    assert "Traceback" not in err
