"""The benchmark scripts still run and report every contender (no timing asserted:
the figures themselves are for people, measured on a quiet machine)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


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
