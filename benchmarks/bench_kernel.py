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
per-sample native, per-sample python, naive, sha256, ...) for several repetitions, each
timed with the garbage collector off as :mod:`timeit` does, so that a noisy machine
hurts them alike; the best and the median rate of the repetitions are reported, and the
ratios are taken best to best (median to median alongside). The global :mod:`random`
state is saved before and restored after each use of the naive version.

Run it from the repository root::

    .venv/bin/python benchmarks/bench_kernel.py
    .venv/bin/python benchmarks/bench_kernel.py --repeats 11 --json kernel.json
    .venv/bin/python benchmarks/bench_kernel.py --check   # exit 1 if a criterion fails

``--check`` applies the acceptance criteria, on best rates: batch 1 thread >= 10x naive;
batch 1 thread >= 50% of the hash-only bound; batch 2 threads >= 1.8x batch 1 thread;
per-sample native >= 4x naive.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import random
import statistics
import sys
import threading
from collections.abc import Callable
from typing import Any

import dpa
import dpa._backends
from _common import (
    ODD_IDS,
    compare_records,
    interleaved,
    naive_expected,
    naive_params,
    native_missing,
    other_config,
    positive_int,
    print_acceptance,
    print_aligned,
    report_mismatch,
    saved_random_state,
    stats,
    timed,
    usable_cpus,
    write_json,
)
from dpa import AugmentationConfig

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
    with saved_random_state():
        for i in range(job.start, job.start + job.n):
            naive_params(i, job.config)


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


def time_once(runner: Runner, job: Job) -> float:
    """Seconds for one run of ``runner``, garbage collector off (as :mod:`timeit`)."""
    return timed(lambda: runner(job))[0]


# --------------------------------------------------------------------------- agreement


def check_agreement(ids: list[int], config: AugmentationConfig) -> list[str]:
    """Compare the naive version with both backends' per-sample and batch APIs."""
    expected = naive_expected(ids, config)
    gen, batch = dpa.gen_augmentation_params, dpa.generate_batch
    results: dict[str, list[dict[str, Any]]] = {
        "per-sample native": [gen(i, config, backend="native") for i in ids],
        "per-sample python": [gen(i, config, backend="python") for i in ids],
        "batch native": batch(ids, config, backend="native").to_dicts(),
        "batch python": batch(ids, config, backend="python").to_dicts(),
    }
    return compare_records(ids, expected, results)


def check_threads(start: int, n: int, config: AugmentationConfig) -> list[str]:
    """The native batch on two threads against the python backend, bit for bit."""
    ids = range(start, start + n)
    two = dpa.generate_batch(ids, config, workers=2, backend="native")
    reference = dpa.generate_batch(ids, config, backend="python")
    if two.equals(reference):
        return []
    return [f"batch native workers=2: differs from the python backend on ids {ids}"]


# --------------------------------------------------------------------------- report


def summarize(
    times: dict[str, list[float]], sizes: dict[str, int], depth: int, hash_bytes: int
) -> dict[str, Any]:
    """Rates (samples/s; the sha256 row as its hash-only bound), and the ratios."""
    compressions = 1 + 2 * depth
    blocks = hash_bytes // BLOCK
    block_rates = [blocks / t for t in times["sha256 bulk"]]
    block_rates_2 = [blocks / t for t in times["sha256 bulk 2 threads"]]
    rates: dict[str, list[float]] = {"hash-only bound": [r / compressions for r in block_rates]}
    for name, ts in times.items():
        if not name.startswith("sha256"):
            rates[name] = [sizes[name] / t for t in ts]
    contenders = {name: stats(rs) for name, rs in rates.items()}

    def ratio(num: str, den: str) -> dict[str, float]:
        a, b = contenders[num], contenders[den]
        return {"best": a["best"] / b["best"], "median": a["median"] / b["median"]}

    return {
        "sha256": {
            "bytes": hash_bytes,
            "blocks": blocks,
            "compressions_per_sample": compressions,
            "blocks_per_s": stats(block_rates),
            "bytes_per_s": stats([r * BLOCK for r in block_rates]),
            "seconds": times["sha256 bulk"],
            "two_threads": {
                "blocks_per_s": stats(block_rates_2),
                "seconds": times["sha256 bulk 2 threads"],
            },
        },
        "contenders": {
            name: {
                "samples": sizes.get(name),
                "best_samples_per_s": s["best"],
                "median_samples_per_s": s["median"],
                "samples_per_s": s["all"],
                "seconds": times.get(name, times["sha256 bulk"]),
            }
            for name, s in contenders.items()
        },
        "ratios": {
            "batch_1_thread_vs_naive": ratio("batch 1 thread", "naive"),
            "batch_1_thread_vs_hash_bound": ratio("batch 1 thread", "hash-only bound"),
            "batch_2_threads_vs_1_thread": ratio("batch 2 threads", "batch 1 thread"),
            "per_sample_native_vs_naive": ratio("per-sample native", "naive"),
            "per_sample_python_vs_naive": ratio("per-sample python", "naive"),
            "sha256_2_threads_vs_1_thread": {
                "best": max(block_rates_2) / max(block_rates),
                "median": statistics.median(block_rates_2) / statistics.median(block_rates),
            },
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
            f"{c['best_samples_per_s']:,.0f}",
            f"{c['median_samples_per_s']:,.0f}",
            f"{c['best_samples_per_s'] / naive['best_samples_per_s']:.2f}",
            f"{100 * c['best_samples_per_s'] / bound['best_samples_per_s']:.1f}%",
        )
        for name, c in contenders.items()
    ]
    print_aligned(headers, rows)


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
    width = max(len(label) for label in RATIO_LABELS.values())
    print(f"{'ratio'.ljust(width)}    best  median")
    print(f"{'-' * width}  ------  ------")
    for key, label in RATIO_LABELS.items():
        r = ratios[key]
        print(f"{label.ljust(width)}  {r['best']:6.3f}  {r['median']:6.3f}")


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
    parser.add_argument(
        "--batch-samples",
        type=positive_int,
        default=1_000_000,
        metavar="N",
        help="samples per batch measurement, 1 and 2 threads (default: 1000000)",
    )
    parser.add_argument(
        "--samples",
        type=positive_int,
        default=50_000,
        metavar="N",
        help="samples per per-sample and naive measurement (default: 50000)",
    )
    parser.add_argument(
        "--hash-mib",
        type=positive_int,
        default=64,
        metavar="MIB",
        help="size of the buffer hashed for the bulk SHA-256 rate, in MiB (default: 64)",
    )
    parser.add_argument(
        "--repeats",
        type=positive_int,
        default=7,
        metavar="R",
        help="repetitions of each contender, interleaved (default: 7)",
    )
    parser.add_argument(
        "--depth",
        type=positive_int,
        default=AugmentationConfig().augmentation_depth,
        metavar="D",
        help="augmentation_depth of the config timed (default: the config's default)",
    )
    parser.add_argument(
        "--start-id", type=int, default=0, metavar="ID", help="first sample id timed (default: 0)"
    )
    parser.add_argument(
        "--verify",
        type=positive_int,
        default=300,
        metavar="M",
        help="ids checked for exact agreement before timing (default: 300)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON to FILE")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if an acceptance criterion fails"
    )
    args = parser.parse_args(argv)
    if args.start_id < 0:
        parser.error("--start-id must be >= 0")

    if native_missing():
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
    timed_ids = list(range(args.start_id, args.start_id + args.verify))
    odd_ids = list(ODD_IDS)
    other = other_config()
    split = 2 * getattr(dpa._backends, "_MIN_PER_WORKER", 4096) + 37
    problems = (
        check_agreement(timed_ids, config)
        + check_agreement(odd_ids, config)
        + check_agreement(list(range(50)), other)
        + check_threads(args.start_id, split, config)
    )
    if report_mismatch("MISMATCH between the naive v0.2 version and dpa:", problems):
        return 2
    checked = len(timed_ids) + len(odd_ids) + 50
    print(
        f"agreement: naive v0.2, and the native and python backends (per-sample and batch), "
        f"match bit for bit on {checked} ids; the native batch on 2 threads matches the "
        f"python backend on {split:,} ids"
    )

    hash_bytes = args.hash_mib * MIB
    buffer = os.urandom(hash_bytes)
    size_of = {"hash": 0, "batch": args.batch_samples, "single": args.samples}
    sizes = {name: size_of[kind] for name, _, kind in CONTENDERS if kind != "hash"}
    jobs = {name: Job(args.start_id, size_of[kind], config, buffer) for name, _, kind in CONTENDERS}

    # Warm-up: imports, caches, thread start, branch predictors; not recorded.
    warm = {kind: min(n, 20_000) for kind, n in size_of.items()}
    small = buffer[: min(hash_bytes, 4 * MIB)]
    for _name, runner, kind in CONTENDERS:
        time_once(runner, Job(args.start_id, warm[kind], config, small))

    runners = {name: runner for name, runner, _kind in CONTENDERS}
    times = interleaved(runners, args.repeats, lambda name: time_once(runners[name], jobs[name]))

    if random.getstate() != initial_random_state:
        print("error: the global random state changed during the benchmark", file=sys.stderr)
        return 2

    summary = summarize(times, sizes, args.depth, hash_bytes)
    sha = summary["sha256"]
    feature_text = ", ".join(f"{k}={v}" for k, v in features.items())
    usable = usable_cpus()
    print(
        f"python {platform.python_version()} ({platform.python_implementation()}), "
        f"dpa {dpa.__version__}, os.cpu_count() {os.cpu_count()}"
        + ("" if usable is None else f" ({usable} usable)")
        + f", kernel features: {feature_text}"
    )
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

    results = acceptance(summary["ratios"])
    passed = print_acceptance(
        "acceptance (best rates):",
        results,
        lambda r: f"{100 * r['value']:.1f}%" if r["threshold"] < 1 else f"{r['value']:.2f}x",
    )

    if args.json:
        report = {
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "usable_cpus": usable,
            "kernel_features": features,
            "dpa_version": dpa.__version__,
            "augmentation_depth": args.depth,
            "batch_samples": args.batch_samples,
            "samples": args.samples,
            "hash_mib": args.hash_mib,
            "repeats": args.repeats,
            "start_id": args.start_id,
            "ids_verified": checked,
            "ids_verified_two_threads": split,
            **summary,
            "acceptance": results,
            "all_passed": passed,
        }
        write_json(args.json, report)

    if args.check and not passed:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
