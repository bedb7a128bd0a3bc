"""Throughput of dpa's native kernel against SHA-256 itself and a naive inline DPA v0.2.

One run, one process, measures samples per second of

* ``batch 1 thread``: ``dpa.generate_batch(range(...), config, workers=1, backend="native")``;
* ``batch 2 threads``: the same with ``workers=2``;
* ``per-sample native``: ``dpa.gen_augmentation_params(i, config)`` in a loop over ids,
  the default backend pinned to ``native`` (``DPA_BACKEND=native`` in this process), so
  the call takes the path a user of the built kernel gets;
* ``per-sample python``: the same loop with ``backend="python"``;
* ``naive``: the algorithm as DPA v0.2 wrote it, inline in this script (one
  ``hashlib.sha256(...)`` call per chain step on ``str`` concatenations, the global
  ``random.seed(seed)`` and five ``random.uniform`` calls);

and the bulk SHA-256 rate: ``hashlib.sha256`` over one large buffer, in 64-byte
compression blocks per second. A sample costs ``1 + 2 * depth`` compressions (21 at
depth 10), so ``blocks/s / (1 + 2 * depth)`` is the hash-only bound: the rate no
implementation can beat on one core with this SHA-256 (OpenSSL's, behind hashlib).
The same buffer is also hashed as two halves on two threads, for reference: how far
the machine itself lets SHA-256 scale to two threads (shared or SMT cores may not).

Before timing, the script checks that the native and python backends (per-sample and
batch, one thread and two) and the naive version agree to the last bit on a few hundred
ids, and exits with status 2 if they do not, or if the native kernel is not built. The
contenders run interleaved (sha256 on 1 then 2 threads, batch 1 thread, batch 2 threads,
per-sample native, per-sample python, naive, sha256, ...) for several repetitions
(:func:`dpa.benchmark.benchmark_interleaved`: each call timed with the garbage
collector off, as :mod:`timeit` does), so that a noisy machine hurts them alike; the
best and the median rate of the repetitions are reported, and the ratios are taken
best to best (median to median alongside). The global :mod:`random`
state is saved before and restored after each use of the naive version.

Run it from the repository root::

    .venv/bin/python benchmarks/bench_kernel.py
    .venv/bin/python benchmarks/bench_kernel.py --repeats 11 --json kernel.json
    .venv/bin/python benchmarks/bench_kernel.py --check   # exit 1 if a criterion is not met

The acceptance criteria, on best rates: batch 1 thread >= 10x naive; batch 1 thread
>= 50% of the hash-only bound; batch 2 threads >= 1.8x batch 1 thread; per-sample
native >= 4x naive. They are printed as figures (met or not met); ``--check`` makes
them a check (PASS or FAIL, exit status 1 on a FAIL).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import random
import sys
import threading
from collections.abc import Callable
from typing import Any

import _common as common
import dpa
import dpa._backends
from dpa import AugmentationConfig
from dpa._tables import text_table
from dpa.benchmark import BenchmarkResult, benchmark_interleaved, get_system_info

BLOCK = 64  # bytes per SHA-256 compression
MIB = 1 << 20


# --------------------------------------------------------------------------- contenders


class Job:
    """What one timed run works on: ids ``start .. start + n - 1``, or ``buffer``."""

    def __init__(self, start: int, n: int, config: AugmentationConfig, buffer: bytes) -> None:
        self.start, self.n, self.config, self.buffer = start, n, config, buffer


def run_sha256(job: Job) -> None:
    hashlib.sha256(job.buffer).digest()


def run_sha256_2(job: Job) -> None:
    """The same bytes, each half hashed on its own thread (hashlib releases the GIL)."""
    view = memoryview(job.buffer)
    half = len(view) // 2
    other = threading.Thread(target=lambda: hashlib.sha256(view[half:]).digest())
    other.start()
    hashlib.sha256(view[:half]).digest()
    other.join()


def run_batch_1(job: Job) -> None:
    dpa.generate_batch(range(job.start, job.start + job.n), job.config, workers=1, backend="native")


def run_batch_2(job: Job) -> None:
    dpa.generate_batch(range(job.start, job.start + job.n), job.config, workers=2, backend="native")


def run_per_sample_native(job: Job) -> None:
    # The default backend, pinned to native in main(): the call as users write it.
    gen, config = dpa.gen_augmentation_params, job.config
    for i in range(job.start, job.start + job.n):
        gen(i, config)


def run_per_sample_python(job: Job) -> None:
    gen, config = dpa.gen_augmentation_params, job.config
    for i in range(job.start, job.start + job.n):
        gen(i, config, backend="python")


def run_naive(job: Job) -> None:
    with common.saved_random_state():
        for i in range(job.start, job.start + job.n):
            common.naive_params(i, job.config)


Runner = Callable[[Job], None]

#: Timing order within one repetition, and what each one's size is (see main()).
CONTENDERS: tuple[tuple[str, Runner, str], ...] = (
    ("sha256 bulk", run_sha256, "hash"),
    ("sha256 bulk 2 threads", run_sha256_2, "hash"),
    ("batch 1 thread", run_batch_1, "batch"),
    ("batch 2 threads", run_batch_2, "batch"),
    ("per-sample native", run_per_sample_native, "single"),
    ("per-sample python", run_per_sample_python, "single"),
    ("naive", run_naive, "single"),
)


# --------------------------------------------------------------------------- agreement


def check_agreement(ids: list[int], config: AugmentationConfig) -> list[str]:
    """Compare the naive version with both backends' per-sample and batch APIs."""
    expected = common.naive_expected(ids, config)
    gen, batch = dpa.gen_augmentation_params, dpa.generate_batch
    results: dict[str, list[dict[str, Any]]] = {
        "per-sample native": [gen(i, config, backend="native") for i in ids],
        "per-sample python": [gen(i, config, backend="python") for i in ids],
        "batch native": batch(ids, config, backend="native").to_dicts(),
        "batch python": batch(ids, config, backend="python").to_dicts(),
    }
    return common.compare_records(ids, expected, results)


def check_threads(start: int, n: int, config: AugmentationConfig) -> list[str]:
    """The native batch on two threads against the python backend, bit for bit."""
    ids = range(start, start + n)
    two = dpa.generate_batch(ids, config, workers=2, backend="native")
    reference = dpa.generate_batch(ids, config, backend="python")
    if two.equals(reference):
        return []
    return [f"batch native workers=2: differs from the python backend on ids {ids}"]


# --------------------------------------------------------------------------- report


def summarize(results: dict[str, BenchmarkResult], depth: int, hash_bytes: int) -> dict[str, Any]:
    """Rates (samples/s; the sha256 rows as blocks/s, and the hash-only bound they
    give), and the ratios."""
    compressions = 1 + 2 * depth
    sha, sha_2 = results["sha256 bulk"], results["sha256 bulk 2 threads"]
    block_rates, block_rates_2 = common.rates_of(sha), common.rates_of(sha_2)
    rates = {"hash-only bound": common.spread([r / compressions for r in block_rates["all"]])}
    for name, result in results.items():
        if not name.startswith("sha256"):
            rates[name] = common.rates_of(result)

    def against(num: str, den: str) -> dict[str, float]:
        return common.ratio(rates[num], rates[den])

    return {
        "sha256": {
            "bytes": hash_bytes,
            "blocks": sha.samples_per_iteration,
            "compressions_per_sample": compressions,
            "blocks_per_s": block_rates,
            "bytes_per_s": common.spread([r * BLOCK for r in block_rates["all"]]),
            "seconds": list(sha.times),
            "two_threads": {"blocks_per_s": block_rates_2, "seconds": list(sha_2.times)},
        },
        "contenders": {
            name: {
                "samples": results[name].samples_per_iteration if name in results else None,
                "best_samples_per_s": r["best"],
                "median_samples_per_s": r["median"],
                "samples_per_s": r["all"],
                "seconds": list(results.get(name, sha).times),
            }
            for name, r in rates.items()
        },
        "ratios": {
            "batch_1_thread_vs_naive": against("batch 1 thread", "naive"),
            "batch_1_thread_vs_hash_bound": against("batch 1 thread", "hash-only bound"),
            "batch_2_threads_vs_1_thread": against("batch 2 threads", "batch 1 thread"),
            "per_sample_native_vs_naive": against("per-sample native", "naive"),
            "per_sample_python_vs_naive": against("per-sample python", "naive"),
            "sha256_2_threads_vs_1_thread": common.ratio(block_rates_2, block_rates),
        },
    }


def print_table(summary: dict[str, Any]) -> None:
    contenders = summary["contenders"]
    naive, bound = contenders["naive"], contenders["hash-only bound"]
    headers = ("contender", "samples", "best/s", "median/s", "best ×naive", "best % bound")
    rows = [
        (
            name,
            "-" if c["samples"] is None else f"{c['samples']:,}",
            *common.rate_cells(c["best_samples_per_s"], c["median_samples_per_s"]),
            f"{c['best_samples_per_s'] / naive['best_samples_per_s']:.2f}",
            f"{100 * c['best_samples_per_s'] / bound['best_samples_per_s']:.1f}%",
        )
        for name, c in contenders.items()
    ]
    print(text_table(headers, rows, left=[0]))


RATIO_LABELS = {
    "batch_1_thread_vs_naive": "batch 1 thread / naive",
    "batch_1_thread_vs_hash_bound": "batch 1 thread / hash-only bound",
    "batch_2_threads_vs_1_thread": "batch 2 threads / batch 1 thread",
    "per_sample_native_vs_naive": "per-sample native / naive",
    "per_sample_python_vs_naive": "per-sample python / naive",
    "sha256_2_threads_vs_1_thread": "sha256 bulk 2 threads / 1 thread",
}

#: (ratio key, threshold, description): each passes when the best-to-best ratio reaches it.
CRITERIA: tuple[tuple[str, float, str], ...] = (
    ("batch_1_thread_vs_naive", 10.0, "batch 1 thread >= 10x naive"),
    ("batch_1_thread_vs_hash_bound", 0.5, "batch 1 thread >= 50% of the hash-only bound"),
    ("batch_2_threads_vs_1_thread", 1.8, "batch 2 threads >= 1.8x batch 1 thread"),
    ("per_sample_native_vs_naive", 4.0, "per-sample native >= 4x naive"),
)


def print_ratios(ratios: dict[str, dict[str, float]]) -> None:
    rows = [
        (label, f"{ratios[key]['best']:.3f}", f"{ratios[key]['median']:.3f}")
        for key, label in RATIO_LABELS.items()
    ]
    print(text_table(("ratio", "best", "median"), rows, left=[0]))


def acceptance(ratios: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    return [
        {
            "criterion": text,
            "ratio": key,
            "threshold": threshold,
            "value": ratios[key]["best"],
            "passed": ratios[key]["best"] >= threshold,
        }
        for key, threshold, text in CRITERIA
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.number_option(
        parser, "--batch-samples", 1_000_000, "N", "samples per batch measurement, 1 and 2 threads"
    )
    common.number_option(
        parser, "--samples", 50_000, "N", "samples per per-sample and naive measurement"
    )
    common.number_option(
        parser,
        "--hash-mib",
        64,
        "MIB",
        "size of the buffer hashed for the bulk SHA-256 rate, in MiB",
    )
    depth = AugmentationConfig().augmentation_depth
    common.number_option(parser, "--depth", depth, "D", "augmentation_depth of the config timed")
    common.number_option(
        parser, "--start-id", 0, "ID", "first sample id timed", common.non_negative_int
    )
    common.add_run_options(parser, repeats=7, verify=300)
    args = parser.parse_args(argv)

    if common.native_missing():
        return 2
    from dpa._kernel import _dpa_kernel

    features = dict(_dpa_kernel.features())
    # The per-sample native contender calls the API without backend=, as users do.
    os.environ["DPA_BACKEND"] = "native"
    dpa._backends.forget_default()

    config = AugmentationConfig(augmentation_depth=args.depth)
    initial_random_state = random.getstate()

    # Exactness first: a fast wrong answer is no answer. The timed ids, a few large
    # ones, a config with int ranges and another depth, and a batch long enough to be
    # split across two threads.
    problems, checked = common.agreement_problems(
        check_agreement, args.start_id, args.verify, config
    )
    split = 2 * getattr(dpa._backends, "_MIN_PER_WORKER", 4096) + 37
    problems += check_threads(args.start_id, split, config)
    if common.report_mismatch("MISMATCH between the naive v0.2 version and dpa:", problems):
        return 2
    print(
        f"agreement: naive v0.2, and the native and python backends (per-sample and batch), "
        f"match bit for bit on {checked} ids; the native batch on 2 threads matches the "
        f"python backend on {split:,} ids"
    )

    hash_bytes = args.hash_mib * MIB
    buffer = os.urandom(hash_bytes)
    size_of = {"hash": hash_bytes // BLOCK, "batch": args.batch_samples, "single": args.samples}
    jobs = {name: Job(args.start_id, size_of[kind], config, buffer) for name, _, kind in CONTENDERS}

    # Warm-up: imports, caches, thread start, branch predictors; not recorded.
    small = buffer[: min(hash_bytes, 4 * MIB)]
    for _name, runner, kind in CONTENDERS:
        runner(Job(args.start_id, min(size_of[kind], 20_000), config, small))

    functions = {name: functools.partial(runner, jobs[name]) for name, runner, _ in CONTENDERS}
    samples = {name: size_of[kind] for name, _, kind in CONTENDERS}
    results = benchmark_interleaved(
        functions, iterations=args.repeats, warmup=0, samples_per_iteration=samples
    )

    if random.getstate() != initial_random_state:
        print("error: the global random state changed during the benchmark", file=sys.stderr)
        return 2

    summary = summarize(results, args.depth, hash_bytes)
    sha = summary["sha256"]
    system = get_system_info()
    feature_text = ", ".join(f"{k}={v}" for k, v in features.items())
    print(f"{common.machine_line(system)}, kernel features: {feature_text}")
    print(
        f"depth {args.depth} ({sha['compressions_per_sample']} compressions/sample), "
        f"{args.repeats} repeats; batch {args.batch_samples:,} samples, per-sample and naive "
        f"{args.samples:,} samples, sha256 over {args.hash_mib} MiB"
    )
    if args.batch_samples < split - 37:
        print(
            f"note: batches under {split - 37:,} samples run on one thread whatever workers= "
            "says; the 2-thread figure means nothing at this size"
        )
    blocks = sha["blocks_per_s"]
    print(
        f"sha256 bulk (hashlib): {blocks['best']:,.0f} blocks/s best, "
        f"{blocks['median']:,.0f} median ({sha['bytes_per_s']['best'] / 1e6:,.0f} MB/s best) "
        f"-> hash-only bound = blocks/s / {sha['compressions_per_sample']}"
    )
    blocks_2 = sha["two_threads"]["blocks_per_s"]
    print(
        f"sha256 bulk on 2 threads (each half of the buffer): {blocks_2['best']:,.0f} blocks/s "
        f"best, {blocks_2['median']:,.0f} median (how far this machine scales to 2 threads)"
    )
    print()
    print_table(summary)
    print()
    print_ratios(summary["ratios"])

    criteria = acceptance(summary["ratios"])
    common.print_acceptance(
        "acceptance (best rates)",
        criteria,
        lambda r: f"{100 * r['value']:.1f}%" if r["threshold"] < 1 else f"{r['value']:.2f}x",
        args.check,
    )

    report = {
        **system,
        **common.run_settings(args),
        "kernel_features": features,
        "batch_samples": args.batch_samples,
        "hash_mib": args.hash_mib,
        "ids_verified": checked,
        "ids_verified_two_threads": split,
        **summary,
    }
    return common.finish(args, report, criteria)


if __name__ == "__main__":
    sys.exit(main())
