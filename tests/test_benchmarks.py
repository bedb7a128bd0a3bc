"""The benchmark scripts still run and report every contender (no timing asserted:
the figures themselves are for people, measured on a quiet machine), and what they
share (``benchmarks/_common.py``) keeps their exit-status rule: a FAIL only under
``--check``, and then exit status 1."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from dpa import _kernel
from dpa._backends import native_available

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture
def common(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """``benchmarks/_common.py``, imported as the scripts import it."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    yield importlib.import_module("_common")


CRITERIA = [
    {"criterion": "fast enough", "value": 2.0, "passed": True},
    {"criterion": "scales", "value": 0.5, "passed": False},
]


@pytest.mark.parametrize("check", [False, True])
def test_a_criterion_not_met_is_a_fail_only_under_check(
    common: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str], check: bool
) -> None:
    passed = common.print_acceptance("acceptance (best rates)", CRITERIA, str, check)
    out = capsys.readouterr().out
    assert passed is False
    assert ("FAIL" in out) is check and ("PASS" in out) is check
    if not check:
        assert "not met  scales" in out and "met      fast enough" in out
    report = tmp_path / "report.json"
    args = argparse.Namespace(json=str(report), check=check)
    assert common.finish(args, {"figure": 1}, CRITERIA) == (1 if check else 0)
    written = json.loads(report.read_text())
    assert written["acceptance"] == CRITERIA and written["all_passed"] is False
    assert common.finish(argparse.Namespace(json=None, check=True), {}, CRITERIA[:1]) == 0


def test_shared_options(common: ModuleType) -> None:
    parser = argparse.ArgumentParser()
    common.number_option(parser, "--samples", 50_000, "N", "samples timed")
    common.number_option(parser, "--start-id", 0, "ID", "first id", common.non_negative_int)
    common.add_run_options(parser, repeats=5, verify=300)
    args = parser.parse_args(["--samples", "7", "--check"])
    assert (args.samples, args.start_id, args.repeats, args.verify, args.check) == (
        7, 0, 5, 300, True,
    )  # fmt: skip
    assert common.run_settings(args) == {
        "samples": 7, "repeats": 5, "start_id": 0, "ids_verified": 300,
    }  # fmt: skip
    assert "(default: 50000)" in parser.format_help()
    with pytest.raises(SystemExit):
        parser.parse_args(["--start-id", "-1"])


@pytest.mark.slow
def test_bench_core_runs_and_reports_every_contender(tmp_path: Path) -> None:
    report = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_core.py"), "--samples", "300", "--repeats", "1",
         "--verify", "50", "--json", str(report)],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    for contender in ("naive", "per-sample", "batch", "stream"):
        assert contender in done.stdout
    contenders = json.loads(report.read_text())["contenders"]
    assert {"naive", "per-sample", "batch", "stream"} <= set(contenders)
    assert all(entry["best_samples_per_s"] > 0 for entry in contenders.values())


@pytest.mark.slow
def test_bench_core_runs_on_the_native_backend(tmp_path: Path) -> None:
    if not native_available():
        _skip_or_fail_without_native()
    report = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_core.py"), "--samples", "300", "--repeats", "1",
         "--verify", "50", "--backend", "native", "--json", str(report)],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "backend native" in done.stdout
    assert json.loads(report.read_text())["backend"] == "native"


@pytest.mark.slow
def test_bench_kernel_runs_and_reports_every_figure(tmp_path: Path) -> None:
    if not native_available():
        _skip_or_fail_without_native()
    report = tmp_path / "kernel.json"
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_kernel.py"), "--batch-samples", "2000",
         "--samples", "200", "--hash-mib", "1", "--repeats", "1", "--verify", "30",
         "--json", str(report)],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    for contender in KERNEL_CONTENDERS:
        assert contender in done.stdout
    assert "acceptance" in done.stdout and "FAIL" not in done.stdout  # figures, no check
    figures = json.loads(report.read_text())
    assert set(KERNEL_CONTENDERS) <= set(figures["contenders"])
    assert all(entry["best_samples_per_s"] > 0 for entry in figures["contenders"].values())
    assert figures["sha256"]["blocks_per_s"]["best"] > 0
    assert figures["kernel_features"]["sha256"] in ("shani", "portable")
    assert len(figures["acceptance"]) == 4
    assert all(ratio["best"] > 0 for ratio in figures["ratios"].values())


KERNEL_CONTENDERS = (
    "hash-only bound",
    "batch 1 thread",
    "batch 2 threads",
    "per-sample native",
    "per-sample python",
    "naive",
)


def _skip_or_fail_without_native() -> None:
    """Skip a test that needs the native kernel, or fail it where DPA_REQUIRE_NATIVE=1."""
    reason = f"the native kernel is not available ({_kernel.IMPORT_ERROR})"
    if os.environ.get("DPA_REQUIRE_NATIVE") == "1":
        pytest.fail(f"DPA_REQUIRE_NATIVE=1, but {reason}")
    pytest.skip(reason)


@pytest.mark.slow
def test_bench_distributed_runs_and_reports_the_efficiency(tmp_path: Path) -> None:
    if not native_available():
        _skip_or_fail_without_native()
    report = tmp_path / "distributed.json"
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_distributed.py"), "--samples", "3000",
         "--repeats", "1", "--verify", "500", "--write", "--json", str(report)],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    for text in ("agreement", "1 process", "2 processes", "scaling efficiency", "per CPU-second",
                 "acceptance"):  # fmt: skip
        assert text in done.stdout
    assert "FAIL" not in done.stdout  # figures, not a check, without --check
    figures = json.loads(report.read_text())
    assert set(figures["contenders"]) == {"1 process", "2 processes"}
    assert all(c["samples_per_s"]["best"] > 0 for c in figures["contenders"].values())
    assert figures["efficiency"]["best"] > 0 and figures["write"] is True
    assert figures["per_cpu_second_efficiency"]["best"] > 0
    assert all(c["cpu_share"]["best"] > 0 for c in figures["contenders"].values())


@pytest.mark.slow
def test_bench_batch_runs_and_reports_every_strategy(tmp_path: Path) -> None:
    report = tmp_path / "batch.json"
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_batch.py"), "--samples", "20000",
         "--batch-size", "4096", "--max-memory-mb", "2", "--target-ms", "5", "--repeats", "1",
         "--verify", "3000", "--json", str(report)],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    for contender in BATCH_CONTENDERS:
        assert contender in done.stdout
    assert "acceptance" in done.stdout and "exactness" in done.stdout
    assert "FAIL" not in done.stdout  # figures, not a check, without --check
    figures = json.loads(report.read_text())
    assert set(figures["contenders"]) == set(BATCH_CONTENDERS)
    assert all(entry["best_samples_per_s"] > 0 for entry in figures["contenders"].values())
    assert set(figures["overhead"]) == set(BATCH_CONTENDERS) - {"generate_batch"}
    assert len(figures["acceptance"]) == 4
    assert figures["contenders"]["round_robin"]["batches"] >= 4 * 5  # lanes of 1024 ids


BATCH_CONTENDERS = (
    "generate_batch",
    "sequential",
    "round_robin",
    "memory_optimized",
    "adaptive",
)
