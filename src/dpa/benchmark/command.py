"""What ``dpa bench`` does (the click command in :mod:`dpa._cli` only passes options).

Runs a suite (or loads a saved run), prints it as a table, JSON, Markdown or
CSV, optionally saves it (every iteration's time, for later comparisons),
compares it with a baseline run (exit status 1 on a significant regression) and
draws a PNG.
"""

from __future__ import annotations

import stat
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from .._tables import format_rate
from .regression import RegressionReport, detect_regressions
from .report import (
    dumps,
    metrics_json,
    plot_report,
    results_table,
    to_csv,
    to_markdown as run_markdown,
)
from .results import BenchmarkConfig, BenchmarkResult, BenchmarkRun
from .runner import BenchmarkRunner, suite_items

__all__ = ["FORMATS", "BenchOptions", "run_bench"]

FORMATS = ("table", "json", "markdown", "csv")
EXIT_REGRESSION = 1


@dataclass
class BenchOptions:
    """The options of ``dpa bench`` (see ``dpa bench --help``)."""

    quick: bool = False
    suite: str | None = None
    save: Path | None = None
    compare: Path | None = None
    plot: Path | None = None
    fmt: str = "table"
    trend: tuple[Path, ...] = ()
    load: Path | None = None
    iterations: int | None = None
    threshold: float = 0.05
    confidence: float = 0.95
    quiet: bool = False


def _check(options: BenchOptions) -> None:
    if options.fmt not in FORMATS:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}, got {options.fmt!r}")
    if not 0 <= options.threshold < 1:
        raise ValueError(f"--threshold must be in [0, 1), got {options.threshold}")
    if not 0 < options.confidence < 1:
        raise ValueError(f"--confidence must be in (0, 1), got {options.confidence}")
    if options.iterations is not None and options.iterations < 3:
        raise ValueError(f"--iterations must be >= 3, got {options.iterations}")
    if options.trend and options.plot is None:
        raise ValueError("--trend draws into the --plot file: give --plot too")
    if options.load is not None and (
        options.quick or options.suite is not None or options.iterations is not None
    ):
        raise ValueError("--load uses a saved run: --quick, --suite and --iterations do not apply")
    if options.compare is not None:
        try:
            import scipy.stats  # noqa: F401
        except ImportError:
            raise ValueError("--compare needs scipy: pip install 'dpa-augment[bench]'") from None
    if options.plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise ValueError("--plot needs matplotlib: pip install 'dpa-augment[bench]'") from None
        if options.plot.is_dir():
            raise ValueError(f"{options.plot}: is a folder; give a .png file name")
    if options.save is not None and options.save.is_dir():  # found before the suite runs
        raise ValueError(f"{options.save}: is a folder; give a file name to save the run in")


def _make_folders(*outputs: Path | None) -> None:
    """Create the folders the outputs go in (ValueError naming one that cannot be)."""
    for output in outputs:
        if output is None:
            continue
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise ValueError(f"{output}: cannot create its folder: a file is in the way") from None
        except OSError as exc:
            raise ValueError(f"{output}: cannot create its folder: {exc.strerror or exc}") from None


#: The largest saved run read (a run of the standard suite is about 100 KB).
MAX_RUN_BYTES = 256 << 20


def _load(path: Path, what: str) -> BenchmarkRun:
    if not path.exists():
        raise ValueError(f"{path}: no such {what} file")
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, not a saved run")
    status = path.stat()
    if not stat.S_ISREG(status.st_mode):  # a FIFO would block, a device never end
        raise ValueError(f"{path}: not a regular file, not a saved run")
    if status.st_size > MAX_RUN_BYTES:
        raise ValueError(f"{path}: {status.st_size:,} bytes, too large for a saved run")
    return BenchmarkRun.load(path)


def _history(paths: tuple[Path, ...]) -> list[BenchmarkRun]:
    runs: list[BenchmarkRun] = []
    for path in paths:
        if path.is_dir():
            runs.extend(_load(p, "saved run") for p in sorted(path.glob("*.json")))
        else:
            runs.append(_load(path, "saved run"))
    return runs


class _Progress:
    """``[3/9] batch-2t ... 1.43 M samples/s ±0.4% (1.2 s)`` lines on stderr."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.began = 0.0

    def __call__(
        self, index: int, total: int, label: str, done: list[BenchmarkResult] | None
    ) -> None:
        if done is None:
            self.began = time.perf_counter()
            self.stream.write(f"[{index + 1}/{total}] {label} ... ")
            self.stream.flush()
            return
        spent = time.perf_counter() - self.began
        figures = ", ".join(f"{format_rate(r.throughput)} samples/s" for r in done) or "skipped"
        self.stream.write(f"{figures} ({spent:.1f} s)\n")
        self.stream.flush()


def run_bench(options: BenchOptions, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Do what ``dpa bench`` does; return its exit status (1: a regression).

    Bad options and unreadable files raise ValueError (one line, for the CLI).
    """
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    _check(options)
    _make_folders(options.save, options.plot)  # before the suite runs, not after
    baseline = _load(options.compare, "baseline") if options.compare is not None else None
    history = _history(options.trend)

    if options.load is not None:
        run = _load(options.load, "saved run")
    else:
        config = BenchmarkConfig.quick() if options.quick else BenchmarkConfig()
        if options.iterations is not None:
            config = config.with_(iterations=options.iterations)
        suite = options.suite or "standard"
        suite_items(suite, config)  # an unknown name fails before anything runs
        runner = BenchmarkRunner(config)
        if not options.quiet:
            mode = "quick" if options.quick else "full"
            err.write(
                f"dpa bench: suite {suite} ({mode}: {config.iterations} iterations after "
                f"{config.warmup} warm-up), {runner.backend} backend\n"
            )
        run = runner.run_suite(suite, None if options.quiet else _Progress(err))

    if options.save is not None:
        run.save(options.save)
        if not options.quiet:
            err.write(f"dpa bench: saved {len(run.results)} benchmarks to {options.save}\n")

    comparison: RegressionReport | None = None
    if baseline is not None:
        comparison = detect_regressions(baseline, run, options.threshold, options.confidence)

    out.write(_render(options.fmt, run, comparison))

    if options.plot is not None:
        plot_report(options.plot, run, baseline, comparison, history)
        if not options.quiet:
            err.write(f"dpa bench: wrote the plot to {options.plot}\n")
    return EXIT_REGRESSION if comparison is not None and comparison.has_regressions else 0


def _render(fmt: str, run: BenchmarkRun, comparison: RegressionReport | None) -> str:
    if fmt == "json":
        return dumps(metrics_json(run, comparison)) + "\n"
    if fmt == "markdown":
        return run_markdown(run, comparison)
    if fmt == "csv":
        text = to_csv(run)
        if comparison is not None:
            text += "\n" + _comparison_csv(comparison)
        return text
    text = results_table(run) + "\n"
    if comparison is not None:
        text += "\n" + comparison.to_table() + "\n"
    return text


def _comparison_csv(comparison: RegressionReport) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["benchmark", "verdict", "change", "interval_low", "interval_high",
                     "p_value", "baseline_throughput", "current_throughput"])  # fmt: skip
    for r in comparison.results:
        lo, hi = r.interval if r.interval is not None else (None, None)
        row: list[Any] = [r.name, r.verdict, r.change, lo, hi, r.p_value,
                          r.baseline_throughput, r.current_throughput]  # fmt: skip
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue()
