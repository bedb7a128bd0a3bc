"""Throughput of dpa._batch's four strategies against the batch API alone.

One run, one process, measures samples per second over ids ``0 .. N-1`` (default
10,000,000) of

* ``generate_batch``: ``dpa.generate_batch(range(a, a + B), config)`` over consecutive
  ranges of ``B`` ids: the batch API with no strategy layer, the baseline;
* ``sequential``: ``BatchProcessor("sequential", batch_size=B).process_range(0, N)``;
* ``round_robin``: ``num_lanes=L``, ``batch_size=B // L`` (blocks of about ``B`` ids dealt
  to ``L`` lanes);
* ``memory_optimized``: ``max_memory_mb=M`` (batch sizes measured and chosen by it);
* ``adaptive``: ``target_batch_ms=T`` (sizes chosen from the measured time per batch);

each consumer only counting the samples it gets. All use the same ``workers``.

Before timing, the script checks on a smaller range that every strategy yields every id
exactly once, with values equal to ``generate_batch``'s to the last bit, and exits with
status 2 if not. The contenders run interleaved (generate_batch, sequential,
round_robin, memory_optimized, adaptive, generate_batch, ...) for several repetitions
(:func:`dpa.benchmark.benchmark_interleaved`: each call timed with the garbage collector
off, as :mod:`timeit` does), so that a noisy machine hurts them alike (``--clock cpu``
times this process's CPU time instead of wall time, for a machine shared with other
work); the best and the median rate of the repetitions are reported, and each
strategy's rate is divided by generate_batch's measured in the same run, best to best
(median to median alongside). The strategy layer's overhead is ``1 - that ratio``.

Run it from the repository root::

    .venv/bin/python benchmarks/bench_batch.py
    .venv/bin/python benchmarks/bench_batch.py --samples 1000000 --repeats 5 --json batch.json
    .venv/bin/python benchmarks/bench_batch.py --check   # exit 1 if a criterion is not met

The acceptance criterion, on best rates: every strategy's overhead against
generate_batch alone is at most 10%. It is printed as a figure (met or not met);
``--check`` makes it a check (PASS or FAIL, exit status 1 on a FAIL).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

import _common as common
import dpa
from dpa import AugmentationConfig, BatchConfig, BatchMetrics, BatchProcessor, ParamBatch
from dpa._tables import text_table
from dpa.benchmark import BenchmarkResult, benchmark_interleaved, get_system_info

MAX_OVERHEAD = 0.10
STRATEGIES = ("sequential", "round_robin", "memory_optimized", "adaptive")


class Job:
    """What one timed run works on: ids ``0 .. n-1`` and the settings of the contenders."""

    def __init__(self, n: int, args: argparse.Namespace, config: AugmentationConfig) -> None:
        self.n = n
        self.batch_size = args.batch_size
        self.lanes = args.lanes
        self.max_memory_mb = args.max_memory_mb
        self.target_ms = args.target_ms
        self.workers = args.workers
        self.config = config
        #: The last run's metrics (None for generate_batch).
        self.metrics: BatchMetrics | None = None


def batch_configs(job: Job) -> dict[str, BatchConfig]:
    return {
        "sequential": BatchConfig("sequential", batch_size=job.batch_size),
        "round_robin": BatchConfig(
            "round_robin", batch_size=max(1, job.batch_size // job.lanes), num_lanes=job.lanes
        ),
        "memory_optimized": BatchConfig("memory_optimized", max_memory_mb=job.max_memory_mb),
        "adaptive": BatchConfig("adaptive", target_batch_ms=job.target_ms),
    }


def run_generate_batch(job: Job) -> int:
    count = 0
    for start in range(0, job.n, job.batch_size):
        ids = range(start, min(start + job.batch_size, job.n))
        count += len(dpa.generate_batch(ids, job.config, workers=job.workers))
    job.metrics = None
    return count


def strategy_runner(name: str) -> Callable[[Job], int]:
    def run(job: Job) -> int:
        processor = BatchProcessor(name, batch_configs(job)[name])
        count = 0
        for batch in processor.process_range(0, job.n, job.config, workers=job.workers):
            count += len(batch)
        job.metrics = processor.metrics
        return count

    run.__name__ = f"run_{name}"
    return run


Runner = Callable[[Job], int]

#: Timing order within one repetition.
CONTENDERS: tuple[tuple[str, Runner], ...] = (
    ("generate_batch", run_generate_batch),
    *((name, strategy_runner(name)) for name in STRATEGIES),
)


#: ``--clock``: wall time, or the CPU time of this process (all its threads), which a
#: machine shared with other work disturbs less.
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}


def counted(runner: Runner, job: Job) -> Callable[[], None]:
    """``runner(job)`` as a function to time, which checks that every id came back."""

    def run() -> None:
        count = runner(job)
        if count != job.n:
            raise RuntimeError(f"{runner.__name__}: {count} samples for {job.n} ids")

    return run


# --------------------------------------------------------------------------- exactness


def check_exactness(n: int, job: Job) -> list[str]:
    """Every strategy on ids 0 .. n-1: each id once, values equal to generate_batch's."""
    expected = dpa.generate_batch(range(n), job.config)
    configs = batch_configs(job)
    problems = []
    for name in STRATEGIES:
        # Small batches here, so that every strategy makes many of them.
        small = {
            "sequential": {"batch_size": 1000},
            "round_robin": {"batch_size": 250, "num_lanes": job.lanes},
            "memory_optimized": {"max_memory_mb": 1},
            "adaptive": {"target_batch_ms": 1},
        }[name]
        for config in (configs[name], BatchConfig(name, **small)):
            # Copied as they come: memory_optimized reuses its buffers batch after batch.
            batches = [
                ParamBatch.concat([batch])
                for batch in BatchProcessor(name, config).process_range(
                    0, n, job.config, workers=job.workers
                )
            ]
            if not batches:
                problems.append(f"{name}: no batches for {n} ids")
                continue
            merged = ParamBatch.concat(batches)
            order = merged.sample_id.argsort(kind="stable")
            merged = ParamBatch(**{k: v[order] for k, v in merged.columns().items()})
            if not merged.equals(expected):
                problems.append(f"{name} ({config}): differs from generate_batch on ids 0..{n - 1}")
    return problems


# --------------------------------------------------------------------------- report


def summarize(
    results: dict[str, BenchmarkResult], batches: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Rates (samples/s), each strategy's ratio to generate_batch and its overhead."""
    contenders = {name: common.rates_of(result) for name, result in results.items()}
    ratios = {
        name: common.ratio(contenders[name], contenders["generate_batch"]) for name in STRATEGIES
    }
    return {
        "contenders": {
            name: {
                "samples": results[name].samples_per_iteration,
                "best_samples_per_s": rates["best"],
                "median_samples_per_s": rates["median"],
                "samples_per_s": rates["all"],
                "seconds": list(results[name].times),
                **batches.get(name, {}),
            }
            for name, rates in contenders.items()
        },
        "ratios": ratios,
        "overhead": {
            name: {"best": 1 - r["best"], "median": 1 - r["median"]} for name, r in ratios.items()
        },
    }


def batch_figures(metrics: BatchMetrics | None) -> dict[str, Any]:
    if metrics is None:
        return {}
    return {
        "batches": metrics.total_batches,
        "avg_batch_size": metrics.avg_batch_size,
        "max_batch_size": max(metrics.batch_sizes, default=0),
        "peak_memory_growth_mb": metrics.peak_memory_growth_mb,
    }


def print_table(summary: dict[str, Any], baseline_batches: int) -> None:
    contenders = summary["contenders"]
    ratios = summary["ratios"]
    headers = ("contender", "best/s", "median/s", "best ×base", "overhead", "batches", "avg size")
    rows = []
    for name, c in contenders.items():
        ratio = ratios.get(name, {"best": 1.0})["best"]
        batches = c.get("batches", baseline_batches)
        average = c.get("avg_batch_size", c["samples"] / max(1, baseline_batches))
        rows.append(
            (
                name,
                *common.rate_cells(c["best_samples_per_s"], c["median_samples_per_s"]),
                f"{ratio:.3f}",
                "-" if name == "generate_batch" else f"{100 * (1 - ratio):+.1f}%",
                f"{batches:,}",
                f"{average:,.0f}",
            )
        )
    print(text_table(headers, rows, left=[0]))


def acceptance(summary: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "criterion": f"{name} overhead <= {100 * MAX_OVERHEAD:.0f}% of generate_batch",
            "strategy": name,
            "threshold": MAX_OVERHEAD,
            "value": summary["overhead"][name]["best"],
            "passed": summary["overhead"][name]["best"] <= MAX_OVERHEAD,
        }
        for name in STRATEGIES
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.number_option(parser, "--samples", 10_000_000, "N", "ids per measurement")
    common.number_option(
        parser,
        "--batch-size",
        65536,
        "B",
        "ids per batch of generate_batch and sequential, per block of round_robin",
    )
    common.number_option(parser, "--lanes", 4, "L", "round_robin lanes")
    common.number_option(
        parser,
        "--max-memory-mb",
        64.0,
        "M",
        "memory_optimized's max_memory_mb",
        common.positive_float,
    )
    common.number_option(
        parser, "--target-ms", 100.0, "T", "adaptive's target_batch_ms", common.positive_float
    )
    common.number_option(parser, "--workers", 1, "W", "threads")
    depth = AugmentationConfig().augmentation_depth
    common.number_option(parser, "--depth", depth, "D", "augmentation_depth of the config timed")
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="wall",
        help="wall time, or this process's CPU time (less disturbed by other work on a "
        "shared machine) (default: wall)",
    )
    common.add_run_options(
        parser, repeats=3, verify=20_000, verify_help="ids checked for exactness before timing"
    )
    args = parser.parse_args(argv)

    config = AugmentationConfig(augmentation_depth=args.depth)
    job = Job(args.samples, args, config)

    # Exactness first: a fast wrong answer is no answer.
    problems = check_exactness(args.verify, job)
    if common.report_mismatch("MISMATCH between the strategies and generate_batch:", problems):
        return 2
    print(
        f"exactness: every strategy yields ids 0..{args.verify - 1} once each, equal to "
        "generate_batch bit for bit (with the timed settings and with small batches)"
    )

    # Warm-up: imports, caches, first allocations; not recorded.
    warm = Job(min(args.samples, 50_000), args, config)
    for _name, runner in CONTENDERS:
        counted(runner, warm)()

    batches: dict[str, dict[str, Any]] = {}

    def measured(name: str, runner: Runner) -> Callable[[], None]:
        """The contender, keeping its batch figures after each run."""
        run = counted(runner, job)

        def run_and_keep() -> None:
            run()
            figures = batch_figures(job.metrics)
            if figures:
                batches[name] = figures

        return run_and_keep

    results = benchmark_interleaved(
        {name: measured(name, runner) for name, runner in CONTENDERS},
        iterations=args.repeats,
        warmup=0,
        samples_per_iteration=args.samples,
        clock=CLOCKS[args.clock],
    )

    summary = summarize(results, batches)
    system = get_system_info()
    print(common.machine_line(system))
    print(
        f"{args.samples:,} ids, depth {args.depth}, workers {args.workers}, "
        f"{args.repeats} repeats, {args.clock} clock; batch {args.batch_size:,}, "
        f"round_robin {args.lanes} lanes of {max(1, args.batch_size // args.lanes):,}, "
        f"memory_optimized {args.max_memory_mb:g} MB, adaptive {args.target_ms:g} ms"
    )
    print()
    baseline_batches = -(-args.samples // args.batch_size)
    print_table(summary, baseline_batches)

    criteria = acceptance(summary)
    common.print_acceptance(
        "acceptance (best rates, against generate_batch in this run)",
        criteria,
        lambda r: f"{100 * r['value']:+.1f}%",
        args.check,
    )

    report = {
        **system,
        **common.run_settings(args),
        "batch_size": args.batch_size,
        "lanes": args.lanes,
        "max_memory_mb": args.max_memory_mb,
        "target_batch_ms": args.target_ms,
        "workers": args.workers,
        "clock": args.clock,
        **summary,
    }
    return common.finish(args, report, criteria)


if __name__ == "__main__":
    sys.exit(main())
