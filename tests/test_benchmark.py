"""dpa.benchmark: results and their statistics on fake clocks and fake samples
(deterministic), regressions, reports and plots, the runner on tiny workloads, and
`dpa bench`. No test asserts a wall-clock figure. (The timer, the profiler and the
worker processes: test_benchmark_measure.py; statistics and tables:
test_benchmark_stats.py.)"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmark_fakes import FakeClock, noisy
from dpa._backends import native_available
from dpa._cli import main
from dpa.benchmark import (
    BenchmarkConfig,
    BenchmarkResult,
    BenchmarkRun,
    BenchmarkRunner,
    PerformanceMetrics,
    benchmark_function,
    detect_regressions,
    metrics_json,
    plot_report,
    results_table,
    suite_items,
    to_csv,
    to_markdown,
)
from dpa.benchmark.regression import IMPROVEMENT, MISSING, NO_BASELINE, NO_CHANGE, REGRESSION
from dpa.benchmark.results import benchmark_interleaved

DPA = [sys.executable, "-m", "dpa"]


# --------------------------------------------------------------------------- results


def test_benchmark_function_keeps_every_iteration_on_a_fake_clock() -> None:
    clock, cpu = FakeClock(), FakeClock(5.0)
    durations = iter([9.0, 9.0, 0.10, 0.12, 0.08, 0.11, 0.09])  # two warm-up calls first
    calls = []

    def work() -> None:
        seconds = next(durations)
        calls.append(seconds)
        clock.advance(seconds)
        cpu.advance(seconds / 2)  # half the wall time on the CPU

    result = benchmark_function(
        work, iterations=5, warmup=2, samples_per_iteration=1000, clock=clock, cpu_clock=cpu
    )
    assert len(calls) == 7
    assert result.times == pytest.approx((0.10, 0.12, 0.08, 0.11, 0.09))
    assert result.iterations == 5
    assert result.mean == pytest.approx(0.10)
    assert result.median == pytest.approx(0.10)
    assert result.min == pytest.approx(0.08) and result.max == pytest.approx(0.12)
    assert result.stdev == pytest.approx(np.std(result.times, ddof=1))
    assert result.total_time == pytest.approx(0.50)
    assert result.throughput == pytest.approx(5000 / 0.50)
    assert result.cpu_percent == pytest.approx(50.0)
    scipy_stats = pytest.importorskip("scipy.stats")
    lo, hi = scipy_stats.t.interval(
        0.95, 4, loc=np.mean(result.times), scale=scipy_stats.sem(result.times)
    )
    assert result.ci95 == pytest.approx((lo, hi))
    t_lo, t_hi = result.throughput_interval()
    assert t_lo == pytest.approx(1000 / hi) and t_hi == pytest.approx(1000 / lo)
    metrics = result.to_metrics()
    assert metrics.throughput_samples_per_second == pytest.approx(10_000)
    assert metrics.avg_latency_ms == pytest.approx(100.0)
    assert metrics.total_time_seconds == pytest.approx(0.5)
    assert metrics.distributed_efficiency is None


def test_benchmark_function_validates_and_measures_memory() -> None:
    with pytest.raises(ValueError, match="iterations"):
        benchmark_function(lambda: None, iterations=0)
    with pytest.raises(ValueError, match="warmup"):
        benchmark_function(lambda: None, warmup=-1)
    result = benchmark_function(lambda: np.ones(1 << 20), iterations=3, warmup=0, memory=True)
    assert result.memory_peak_mb is not None and result.memory_peak_mb >= 7.9  # 8 MiB of float64


def test_zero_times_never_give_infinite_figures() -> None:
    result = BenchmarkResult("coarse clock", (0.0, 0.0, 0.0), samples_per_iteration=10)
    assert result.throughput is None
    assert result.rates == (None, None, None)
    assert result.throughput_interval() == (None, None)
    json.dumps(result.to_dict(), allow_nan=False)
    with pytest.raises(ValueError):
        BenchmarkResult("bad", (math.inf,))
    with pytest.raises(ValueError):
        BenchmarkResult("empty", ())


def test_benchmark_interleaved_takes_turns_on_a_fake_clock() -> None:
    clock, cpu = FakeClock(), FakeClock()
    calls: list[str] = []

    def contender(name: str, seconds: float) -> Any:
        def run() -> None:
            calls.append(name)
            clock.advance(seconds)
            cpu.advance(seconds)

        return run

    results = benchmark_interleaved(
        {"a": contender("a", 0.5), "b": contender("b", 0.25)},
        iterations=3,
        warmup=1,
        samples_per_iteration={"a": 100},
        clock=clock,
        cpu_clock=cpu,
    )
    assert calls == ["a", "b"] * 4  # one warm-up round, then three timed ones
    assert results["a"].times == (0.5, 0.5, 0.5) and results["b"].times == (0.25,) * 3
    assert results["a"].samples_per_iteration == 100 and results["b"].samples_per_iteration == 1
    assert results["a"].best_rate == 200 and results["a"].median_rate == 200
    assert results["b"].cpu_percent == pytest.approx(100.0)
    with pytest.raises(ValueError, match="iterations"):
        benchmark_interleaved({"a": contender("a", 0.1)}, iterations=0)


def test_rates_of_a_result() -> None:
    result = BenchmarkResult("r", (0.5, 0.25, 1.0, 0.5), samples_per_iteration=100)
    assert result.rates == (200, 400, 100, 200)
    assert result.best_rate == 400 and result.median_rate == 200
    assert BenchmarkResult("zero", (0.0, 1.0)).median_rate is None


def test_without_scipy_intervals_are_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "scipy", None)  # `import scipy` raises ImportError
    result = BenchmarkResult("r", (0.10, 0.12, 0.08), samples_per_iteration=10)
    with pytest.raises(ImportError, match=r"dpa-augment\[bench\]"):
        result.confidence_interval()
    assert result.throughput_interval() == (None, None)
    assert result.summary()["ci95_seconds"] == [None, None]
    table = results_table(BenchmarkRun.of([result]))
    assert table.splitlines()[-1].split()[4] == "-"  # the 95% CI column


# --------------------------------------------------------------------------- regressions


def test_a_10_percent_slowdown_with_low_noise_is_flagged() -> None:
    base = noisy(1.0, 0.01, 20, seed=1)
    slow = noisy(1.10, 0.01, 20, seed=2)
    result = detect_regressions({"work": base}, {"work": slow})["work"]
    assert result.verdict == REGRESSION and result.is_regression
    assert result.change == pytest.approx(1 / 1.10 - 1, abs=0.01)
    assert result.interval is not None
    lo, hi = result.interval
    assert lo is not None and hi is not None and lo < result.change < hi < 0
    assert result.p_value is not None and result.p_value < 0.001


def test_a_1_percent_change_within_noise_is_not_flagged() -> None:
    base = noisy(1.0, 0.05, 20, seed=3)
    current = noisy(1.01, 0.05, 20, seed=4)
    report = detect_regressions({"work": base}, {"work": current})
    assert report["work"].verdict == NO_CHANGE
    assert not report.has_regressions
    assert "no significant change" in report.summary()


def test_a_significant_change_below_the_threshold_is_not_a_regression() -> None:
    base = noisy(1.0, 0.001, 30, seed=5)
    current = noisy(1.01, 0.001, 30, seed=6)
    result = detect_regressions({"work": base}, {"work": current}, threshold=0.05)["work"]
    assert result.verdict == NO_CHANGE
    assert result.p_value is not None and result.p_value < 0.05
    assert "within the 5% threshold" in result.note
    strict = detect_regressions({"work": base}, {"work": current}, threshold=0.005)["work"]
    assert strict.verdict == REGRESSION


def test_a_large_change_drowned_in_noise_is_not_flagged() -> None:
    base = noisy(1.0, 0.4, 5, seed=7)
    current = noisy(1.1, 0.4, 5, seed=8)
    assert detect_regressions({"w": base}, {"w": current})["w"].verdict == NO_CHANGE


def test_an_improvement() -> None:
    base = noisy(1.0, 0.01, 15, seed=9)
    fast = noisy(0.8, 0.01, 15, seed=10)
    result = detect_regressions({"w": base}, {"w": fast})["w"]
    assert result.verdict == IMPROVEMENT
    assert result.change == pytest.approx(0.25, abs=0.02)


def test_zero_and_missing_baselines_are_handled() -> None:
    zeros = [0.0] * 10
    report = detect_regressions(
        {"zero": zeros, "both zero": zeros, "gone": [1.0] * 5, "empty": []},
        {"zero": noisy(1.0, 0.01, 10, 11), "both zero": zeros, "new": [1.0] * 5, "empty": [1.0]},
    )
    zero = report["zero"]
    assert zero.change is None and zero.interval is None and zero.baseline_throughput is None
    assert zero.verdict == REGRESSION  # the test still says it got slower
    assert "zero" in zero.note
    assert report["both zero"].verdict == NO_CHANGE
    assert report["gone"].verdict == MISSING
    assert report["new"].verdict == NO_BASELINE
    assert report["empty"].verdict == NO_BASELINE
    text = json.dumps(report.to_dict(), allow_nan=False)  # nothing infinite
    assert "Infinity" not in text and "NaN" not in text
    assert "n/a" in report.to_table()


def test_runs_of_different_sizes_compare_per_sample() -> None:
    base = {"w": BenchmarkResult("w", noisy(1.0, 0.01, 10, 12), samples_per_iteration=1000)}
    current = {"w": BenchmarkResult("w", noisy(2.0, 0.01, 10, 13), samples_per_iteration=2000)}
    report = detect_regressions(base, current)
    assert report["w"].verdict == NO_CHANGE
    assert "samples per iteration differ" in report.to_table()
    assert "w (1,000 then 2,000)" in report.notes[0]


def test_detect_regressions_validates() -> None:
    with pytest.raises(ValueError, match="threshold"):
        detect_regressions({}, {}, threshold=1.5)
    with pytest.raises(ValueError, match="confidence"):
        detect_regressions({}, {}, confidence=1.0)
    with pytest.raises(ValueError, match="negative"):
        detect_regressions({"w": [-1.0]}, {"w": [1.0]})


def fake_run(scale: float = 1.0, seed: int = 0, label: str = "") -> BenchmarkRun:
    """A run of three made-up benchmarks (per-iteration times from a seeded rng)."""
    specs = [
        ("per-sample", 0.070, 12_500, 12_500, 0.0, {}),
        ("batch-1t", 0.085, 65_536, 1, 7.0, {}),
        ("distributed-2p", 0.10, 131_072, 1, 7.0,
         {"distributed_efficiency": 0.93, "rank_coordination_overhead_ms": 0.4}),
    ]  # fmt: skip
    results = [
        BenchmarkResult(
            name,
            noisy(center * scale, 0.02, 12, seed + i),
            samples_per_iteration=samples,
            calls_per_iteration=calls,
            cpu_times=noisy(center * scale, 0.02, 12, seed + 10 + i),
            memory_peak_mb=mb,
            description=f"made-up {name}",
            extra=extra,
        )
        for i, (name, center, samples, calls, mb, extra) in enumerate(specs)
    ]
    system = {"backend": "native", "usable_cpus": 2, "dpa_version": "test", "python": "3.11"}
    return BenchmarkRun.of(results, system=system, suite="fake", label=label)


def test_saved_runs_round_trip_and_compare_with_themselves(tmp_path: Path) -> None:
    run = fake_run()
    path = tmp_path / "base.json"
    run.save(path)
    data = json.loads(path.read_text())
    assert data["format"] == "dpa-bench-run"
    assert data["benchmarks"]["batch-1t"]["times"] == list(run.results["batch-1t"].times)
    loaded = BenchmarkRun.load(path)
    assert loaded.label == "base.json"
    assert loaded.results["batch-1t"].times == run.results["batch-1t"].times
    assert loaded.results["distributed-2p"].extra["distributed_efficiency"] == 0.93
    report = detect_regressions(path, path)
    assert [r.verdict for r in report.results] == [NO_CHANGE] * 3
    assert all(r.change == 0 and r.p_value == 1.0 for r in report.results)
    slower = detect_regressions(run, fake_run(scale=1.10, seed=50))
    assert [r.verdict for r in slower.results] == [REGRESSION] * 3


def saved_leaves(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path of every value of a saved run (the first item of each list)."""
    found = [path] if path else []
    if isinstance(data, dict):
        for key, value in data.items():
            found += saved_leaves(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data[:1]):
            found += saved_leaves(value, (*path, index))
    return found


#: What a hostile saved run holds in place of one value.
HOSTILE_VALUES = [10**400, -1, 5e-324, 2**53 + 1, "x", [], {}, True]


def test_every_value_of_a_saved_run_is_checked_when_loaded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = tmp_path / "base.json"
    fake_run().save(base)
    data = json.loads(base.read_text())
    hostile = tmp_path / "hostile.json"
    for path in saved_leaves(data):
        for value in HOSTILE_VALUES:
            changed = json.loads(base.read_text())
            holder = changed
            for key in path[:-1]:
                holder = holder[key]
            holder[path[-1]] = value
            hostile.write_text(json.dumps(changed))
            for argv in (
                ["--load", hostile, "--format", "json"],
                ["--load", base, "--compare", hostile, "--format", "csv"],
            ):
                code = main(["bench", *map(str, argv)])
                out, err = capsys.readouterr()
                assert code in (0, 1, 2), (path, value, err)
                if code == 2:
                    assert out == "" and len(err.splitlines()) == 1, (path, value, err)
                    assert err.startswith("dpa: error: ") and "hostile.json" in err, err


def test_a_saved_run_with_a_count_beyond_the_float_range_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "run.json"
    fake_run().save(saved)
    data = json.loads(saved.read_text())
    data["benchmarks"]["batch-1t"]["samples_per_iteration"] = 10**400
    saved.write_text(json.dumps(data))
    code, out, err = run_cli(capsys, "bench", "--load", str(saved))
    assert (code, out) == (2, "")
    assert err == (
        f"dpa: error: {saved}: benchmark 'batch-1t': samples_per_iteration must be an int "
        "in 1 .. 2**53, got an int of 1329 bits\n"
    )
    saved.write_text(
        '{"format": "dpa-bench-run", "benchmarks": {"a": {"times": [1' + "0" * 5000 + "]}}}"
    )
    code, out, err = run_cli(capsys, "bench", "--load", str(saved))
    assert code == 2 and "run.json: not valid JSON" in err and len(err.splitlines()) == 1
    saved.write_text("[" * 100_000 + "]" * 100_000)
    code, out, err = run_cli(capsys, "bench", "--load", str(saved))
    assert code == 2 and "run.json: not valid JSON: nested too deeply" in err


def test_loading_a_file_that_is_not_a_run_names_it(tmp_path: Path) -> None:
    bad = tmp_path / "other.json"
    bad.write_text('{"hello": 1}')
    with pytest.raises(ValueError, match=r"other\.json"):
        BenchmarkRun.load(bad)
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        BenchmarkRun.load(bad)


# --------------------------------------------------------------------------- reports


def test_reports_carry_the_metrics() -> None:
    run = fake_run()
    fields = set(PerformanceMetrics.__dataclass_fields__)
    assert fields == {
        "throughput_samples_per_second",
        "avg_latency_ms",
        "memory_usage_mb",
        "cpu_usage_percent",
        "total_time_seconds",
        "distributed_efficiency",
        "rank_coordination_overhead_ms",
    }
    data = metrics_json(run)
    assert set(data["benchmarks"]) == {"per-sample", "batch-1t", "distributed-2p"}
    for entry in data["benchmarks"].values():
        assert fields <= set(entry)
    assert data["benchmarks"]["distributed-2p"]["distributed_efficiency"] == 0.93
    rows = list(csv.DictReader(io.StringIO(to_csv(run))))
    assert [row["benchmark"] for row in rows] == ["per-sample", "batch-1t", "distributed-2p"]
    assert fields <= set(rows[0])
    rate = float(rows[1]["throughput_samples_per_second"])
    assert rate == pytest.approx(run.results["batch-1t"].throughput)
    table = results_table(run)
    assert "throughput (samples/s)" in table and "efficiency 0.93" in table
    markdown = to_markdown(run, detect_regressions(run, run))
    assert "| per-sample |" in markdown and "no significant change" in markdown


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_plot_is_a_real_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    base, current = fake_run(label="base"), fake_run(scale=1.2, seed=30)
    comparison = detect_regressions(base, current)
    target = plot_report(tmp_path / "bench.png", current, base, comparison, history=[base])
    width, height = png_size(target)
    assert width >= 1000 and height >= 500
    assert 20_000 < target.stat().st_size < 2_000_000
    single = plot_report(tmp_path / "one.png", current)
    assert png_size(single)[0] >= 1000


# --------------------------------------------------------------------------- runner


def tiny(**changes: Any) -> BenchmarkConfig:
    return BenchmarkConfig(iterations=3, warmup=1, scale=0.02, **changes)


def test_suite_names() -> None:
    assert suite_items("standard") == [
        "per-sample", "batch-1t", "batch-2t", "stream", "write-json", "write-jsonl",
        "write-parquet", "distributed-1p", "distributed-2p",
    ]  # fmt: skip
    assert suite_items("io,per-sample")[-1] == "per-sample"
    assert suite_items("generation", BenchmarkConfig(workers=4))[-1] == "batch-4t"
    with pytest.raises(ValueError, match="unknown benchmark suite"):
        suite_items("nonsense")
    with pytest.raises(ValueError, match="empty"):
        suite_items(" , ")


def test_runner_runs_each_benchmark(tmp_path: Path) -> None:
    runner = BenchmarkRunner(tiny(scratch_dir=str(tmp_path)))
    run = runner.run_suite("generation,stream,io,batch-processing")
    assert list(run.results) == [
        "per-sample", "batch-1t", "batch-2t", "stream", "write-json", "write-jsonl",
        "write-parquet", "batch-processing",
    ]  # fmt: skip
    for result in run.results.values():
        assert result.iterations == 3 and result.throughput is not None
        assert result.memory_peak_mb is not None
    per_sample = run.results["per-sample"]
    assert per_sample.calls_per_iteration == per_sample.samples_per_iteration
    assert run.results["write-json"].extra["file_bytes"] > 0
    assert run.system["backend"] == runner.backend
    assert list(tmp_path.iterdir()) == []  # scratch files removed


def test_runner_backends_and_configuration_comparison() -> None:
    runner = BenchmarkRunner(tiny())
    backends = runner.benchmark_backends(num_samples=256)
    assert "backend-python" in backends
    if native_available():
        assert backends["backend-native"].extra["speedup_vs_python"] > 0
    report = runner.compare_configurations(
        {"one thread": tiny(), "two threads": tiny(workers=2)}, workload="batch-1t"
    )
    assert report.baseline == "one thread"
    assert set(report.changes["two threads"]) >= {"throughput_samples_per_second"}
    assert report.changes["one thread"]["throughput_samples_per_second"] == 0
    assert report.recommendations and report.best() in ("one thread", "two threads")
    assert "| one thread (baseline) |" in report.to_markdown()


@pytest.mark.slow
def test_distributed_benchmark_with_two_processes() -> None:
    runner = BenchmarkRunner(tiny())
    results = runner.benchmark_distributed(max_processes=2, num_samples=8192)
    assert list(results) == ["distributed-1p", "distributed-2p"]
    one, two = results["distributed-1p"], results["distributed-2p"]
    assert one.extra["distributed_efficiency"] == pytest.approx(1.0)
    assert two.extra["distributed_efficiency"] > 0
    assert two.extra["rank_coordination_overhead_ms"] >= 0
    assert two.to_metrics().distributed_efficiency == two.extra["distributed_efficiency"]
    assert two.cpu_percent is not None and two.cpu_percent > 0


def test_import_dpa_benchmark_stays_light() -> None:
    code = (
        "import json, sys\n"
        "import dpa\n"
        "light = 'dpa.benchmark' not in sys.modules\n"
        "import dpa.benchmark, dpa._cli\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('scipy', 'matplotlib')]\n"
        "print(json.dumps([light, heavy]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=120)  # fmt: skip
    assert json.loads(done.stdout) == [True, []]


# --------------------------------------------------------------------------- the command


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_bench_compares_a_saved_run_with_itself(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "base.json"
    fake_run().save(saved)
    code, out, _ = run_cli(capsys, "bench", "--load", str(saved), "--compare", str(saved))
    assert code == 0
    assert "no significant change in 3 benchmarks" in out
    assert "regression" not in out.lower()


def test_bench_flags_a_regression_from_saved_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, slow = tmp_path / "base.json", tmp_path / "slow.json"
    fake_run().save(base)
    fake_run(scale=1.5, seed=40).save(slow)
    code, out, _ = run_cli(capsys, "bench", "--load", str(slow), "--compare", str(base))
    assert code == 1
    assert "REGRESSION in 3 of 3 benchmarks" in out
    code, out, _ = run_cli(
        capsys, "bench", "--load", str(slow), "--compare", str(base), "--format", "json"
    )
    assert code == 1
    data = json.loads(out)
    assert data["comparison"]["has_regressions"] is True
    assert data["benchmarks"]["batch-1t"]["throughput_samples_per_second"] > 0
    for fmt, marker in (("markdown", "| batch-1t |"), ("csv", "benchmark,description")):
        code, out, _ = run_cli(capsys, "bench", "--load", str(base), "--format", fmt)
        assert code == 0 and marker in out


def test_bench_plot_and_trend(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    history = tmp_path / "runs"
    history.mkdir()
    for i in range(3):
        fake_run(scale=1 + i / 10, seed=i).save(history / f"run{i}.json")
    png = tmp_path / "bench.png"
    code, _, err = run_cli(
        capsys, "bench", "--load", str(history / "run2.json"), "--compare",
        str(history / "run0.json"), "--plot", str(png), "--trend", str(history),
    )  # fmt: skip
    assert code == 1, err
    width, height = png_size(png)
    assert width >= 1000 and height >= 700


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--suite", "nonsense"], ["unknown benchmark suite"]),
        (["--compare", "no/such.json"], ["no/such.json", "no such baseline"]),
        (["--trend", "x.json"], ["--plot"]),
        (["--threshold", "2"], ["--threshold"]),
        (["--iterations", "1"], ["--iterations"]),
        (["--load", "x.json", "--quick"], ["--load"]),
    ],
)
def test_bench_usage_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], words: list[str]
) -> None:
    code, out, err = run_cli(capsys, "bench", *argv)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dpa: error: "), err
    for word in words:
        assert word in lines[0]


def test_bench_makes_the_folders_of_its_outputs_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "base.json"
    fake_run().save(saved)
    target = tmp_path / "new" / "sub" / "again.json"
    code, _, err = run_cli(capsys, "bench", "--load", str(saved), "--save", str(target), "-q")
    assert code == 0, err
    assert BenchmarkRun.load(target).results.keys() == fake_run().results.keys()
    (tmp_path / "file").write_text("")
    code, out, err = run_cli(capsys, "bench", "--save", str(tmp_path / "file" / "x.json"))
    assert (code, out) == (2, "")  # refused before the suite runs (a minute of work)
    blocked = tmp_path / "file" / "x.json"
    assert err == f"dpa: error: {blocked}: cannot create its folder: a file is in the way\n"


def bench(tmp_path: Path, *argv: str, env: dict[str, str] | None = None) -> Any:
    return subprocess.run(
        [*DPA, "bench", *argv],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.integration
def test_bench_quick_save_then_compare_with_itself(tmp_path: Path) -> None:
    saved = tmp_path / "base.json"
    done = bench(tmp_path, "--quick", "--suite", "per-sample,batch-1t,distributed-1p",
                 "--save", str(saved))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "throughput (samples/s)" in done.stdout
    for name in ("per-sample", "batch-1t", "distributed-1p"):
        assert name in done.stdout
    assert "[1/3] per-sample" in done.stderr  # the progress display
    again = bench(tmp_path, "--load", str(saved), "--compare", str(saved))
    assert again.returncode == 0, again.stderr
    assert "no significant change in 3 benchmarks" in again.stdout


@pytest.mark.integration
def test_bench_python_backend_against_a_native_baseline_is_a_regression(tmp_path: Path) -> None:
    if not native_available():
        pytest.skip("the native kernel is not built")
    saved = tmp_path / "native.json"
    suite = "batch-1t"
    native = bench(tmp_path, "--quick", "--suite", suite, "--save", str(saved),
                   env={"DPA_BACKEND": "native"})  # fmt: skip
    assert native.returncode == 0, native.stderr
    python = bench(tmp_path, "--quick", "--suite", suite, "--compare", str(saved),
                   env={"DPA_BACKEND": "python"})  # fmt: skip
    assert python.returncode == 1, python.stderr
    assert "regression" in python.stdout
    assert "REGRESSION in 1 of 1 benchmarks: batch-1t" in python.stdout
    assert "backend differs: native then python" in python.stdout
