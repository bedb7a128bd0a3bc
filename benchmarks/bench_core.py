"""Throughput of dpa's generation APIs against a naive inline DPA v0.2.

Measures samples per second of

* ``per-sample``: ``dpa.gen_augmentation_params(i, config)`` in a loop over ids;
* ``batch``: ``dpa.generate_batch(range(...), config)`` (columnar arrays);
* ``stream``: ``dpa.stream_augmentation_chain(n, config)``, consuming every dict;
* ``stream chunked``: the same with ``chunk_size``, consuming every dict of every chunk;

next to ``naive``, the algorithm as DPA v0.2 wrote it, inline in this script: one
``hashlib.sha256(...)`` call per chain step on ``str`` concatenations, ``fib(i)``
recomputed by a plain loop at each step, the global ``random.seed(seed)`` and five
``random.uniform`` calls. Each API's rate is printed with its ratio to the naive
rate measured in the same run.

Before timing, the script checks that the naive version and every API agree to the
last bit on a few hundred ids, and exits with status 2 if they do not. The
contenders run interleaved (naive, per-sample, batch, stream, stream chunked,
naive, ...) for several repetitions, each timed with the garbage collector off as
:mod:`timeit` does, so that a noisy machine hurts them alike; the best and the
median rate of the repetitions are reported. The global :mod:`random` state is
saved before and restored after each use of the naive version.

Run it from the repository root::

    .venv/bin/python benchmarks/bench_core.py
    .venv/bin/python benchmarks/bench_core.py --samples 20000 --repeats 7 --json bench.json
    .venv/bin/python benchmarks/bench_core.py --check   # exit 1 if per-sample < naive
    .venv/bin/python benchmarks/bench_core.py --backend native

The APIs run on the backend ``--backend`` names: ``python`` (the default, the pure-Python
path the acceptance criterion is about) or ``native`` (the C kernel, where it is built;
exit status 2 where it is not). It is passed as ``backend=`` to
``gen_augmentation_params`` and ``generate_batch``, and set as ``DPA_BACKEND`` for the
streams, which take no ``backend=`` argument.

``--check`` is the acceptance criterion: the best rate of the per-sample API must be
at least the best rate of the naive version.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
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
    other_config,
    positive_int,
    print_aligned,
    report_mismatch,
    saved_random_state,
    timed,
    write_json,
)
from dpa import AugmentationConfig

# --------------------------------------------------------------------------- contenders


#: The backend the APIs are timed on (``--backend``); main() also makes it the default
#: (``DPA_BACKEND``), which the streams, taking no ``backend=``, use.
BACKEND = "python"


def run_naive(start: int, n: int, config: AugmentationConfig, chunk_size: int) -> None:
    with saved_random_state():
        for i in range(start, start + n):
            naive_params(i, config)


def run_per_sample(start: int, n: int, config: AugmentationConfig, chunk_size: int) -> None:
    gen, backend = dpa.gen_augmentation_params, BACKEND
    for i in range(start, start + n):
        gen(i, config, backend=backend)


def run_batch(start: int, n: int, config: AugmentationConfig, chunk_size: int) -> None:
    dpa.generate_batch(range(start, start + n), config, backend=BACKEND)


def run_stream(start: int, n: int, config: AugmentationConfig, chunk_size: int) -> None:
    for _record in dpa.stream_augmentation_chain(n, config, start_id=start):
        pass


def run_stream_chunked(start: int, n: int, config: AugmentationConfig, chunk_size: int) -> None:
    for chunk in dpa.stream_augmentation_chain(n, config, chunk_size=chunk_size, start_id=start):
        for _record in chunk:
            pass


Runner = Callable[[int, int, AugmentationConfig, int], None]

#: Timing order within one repetition; the naive baseline comes first.
CONTENDERS: tuple[tuple[str, Runner], ...] = (
    ("naive", run_naive),
    ("per-sample", run_per_sample),
    ("batch", run_batch),
    ("stream", run_stream),
    ("stream chunked", run_stream_chunked),
)


def time_once(runner: Runner, start: int, n: int, config: AugmentationConfig, chunk: int) -> float:
    """Seconds for one run of ``runner``, garbage collector off (as :mod:`timeit`)."""
    return timed(lambda: runner(start, n, config, chunk))[0]


# --------------------------------------------------------------------------- agreement


def check_agreement(ids: list[int], config: AugmentationConfig, chunk_size: int) -> list[str]:
    """Compare the naive version with every API on ``ids`` (on :data:`BACKEND`); return
    the mismatches."""
    expected = naive_expected(ids, config)

    contiguous = ids == list(range(ids[0], ids[0] + len(ids))) if ids else True
    results: dict[str, list[dict[str, Any]]] = {
        "per-sample": [dpa.gen_augmentation_params(i, config, backend=BACKEND) for i in ids],
        "batch": dpa.generate_batch(ids, config, backend=BACKEND).to_dicts(),
    }
    if contiguous:
        start = ids[0] if ids else 0
        results["stream"] = list(dpa.stream_augmentation_chain(len(ids), config, start_id=start))
        chunks = dpa.stream_augmentation_chain(
            len(ids), config, chunk_size=chunk_size, start_id=start
        )
        results["stream chunked"] = [record for chunk in chunks for record in chunk]

    return compare_records(ids, expected, results)


# --------------------------------------------------------------------------- report


def summarize(times: dict[str, list[float]], n: int) -> dict[str, dict[str, float | list[float]]]:
    rates = {name: [n / t for t in ts] for name, ts in times.items()}
    naive_best = max(rates["naive"])
    naive_median = statistics.median(rates["naive"])
    out: dict[str, dict[str, float | list[float]]] = {}
    for name, rs in rates.items():
        best, median = max(rs), statistics.median(rs)
        out[name] = {
            "best_samples_per_s": best,
            "median_samples_per_s": median,
            "ratio_best_vs_naive": best / naive_best,
            "ratio_median_vs_naive": median / naive_median,
            "seconds": times[name],
            "samples_per_s": rs,
        }
    return out


def print_table(summary: dict[str, dict[str, Any]]) -> None:
    headers = ("contender", "best/s", "median/s", "best ×naive", "median ×naive")
    rows = [
        (
            name,
            f"{s['best_samples_per_s']:,.0f}",
            f"{s['median_samples_per_s']:,.0f}",
            f"{s['ratio_best_vs_naive']:.3f}",
            f"{s['ratio_median_vs_naive']:.3f}",
        )
        for name, s in summary.items()
    ]
    print_aligned(headers, rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--samples",
        type=positive_int,
        default=50_000,
        metavar="N",
        help="samples per contender per repetition (default: 50000)",
    )
    parser.add_argument(
        "--repeats",
        type=positive_int,
        default=5,
        metavar="R",
        help="repetitions of each contender, interleaved (default: 5)",
    )
    parser.add_argument(
        "--chunk-size",
        type=positive_int,
        default=1000,
        metavar="K",
        help="chunk_size of the chunked stream (default: 1000)",
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
    parser.add_argument(
        "--backend",
        choices=dpa._backends.BACKENDS,
        default="python",
        help="backend the APIs run on (default: python, the pure-Python per-sample path "
        "that --check is about)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON to FILE")
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if the per-sample API's best rate is below the naive best",
    )
    args = parser.parse_args(argv)
    if args.start_id < 0:
        parser.error("--start-id must be >= 0")

    try:
        dpa._backends.resolve(args.backend)
    except RuntimeError as exc:  # native asked for where it is not built
        print(f"error: --{exc}", file=sys.stderr)
        return 2
    global BACKEND
    BACKEND = args.backend
    # The streams take no backend argument: make it the default as well.
    os.environ["DPA_BACKEND"] = args.backend
    dpa._backends.forget_default()

    config = AugmentationConfig()
    initial_random_state = random.getstate()

    # Exactness first: a fast wrong answer is no answer. The timed ids, a few large
    # ones, and a config with int ranges and another depth.
    timed_ids = list(range(args.start_id, args.start_id + args.verify))
    odd_ids = list(ODD_IDS)
    other = other_config()
    problems = (
        check_agreement(timed_ids, config, args.chunk_size)
        + check_agreement(odd_ids, config, args.chunk_size)
        + check_agreement(list(range(50)), other, 7)
    )
    if report_mismatch("MISMATCH between the naive v0.2 version and dpa:", problems):
        return 2
    checked = len(timed_ids) + len(odd_ids) + 50
    apis = f"per-sample, batch and stream APIs ({args.backend} backend)"
    print(f"agreement: naive v0.2 and the {apis} match bit for bit on {checked} ids")

    # Warm-up: imports, caches, branch predictors; not recorded.
    for _name, runner in CONTENDERS:
        time_once(runner, args.start_id, min(args.samples, 2_000), config, args.chunk_size)

    runners = dict(CONTENDERS)
    times = interleaved(
        runners,
        args.repeats,
        lambda name: time_once(runners[name], args.start_id, args.samples, config, args.chunk_size),
    )

    if random.getstate() != initial_random_state:
        print("error: the global random state changed during the benchmark", file=sys.stderr)
        return 2

    summary = summarize(times, args.samples)
    print(
        f"python {platform.python_version()} ({platform.python_implementation()}), "
        f"dpa {dpa.__version__}, backend {args.backend}, {os.cpu_count()} CPUs, "
        f"{args.samples:,} samples x {args.repeats} repeats, depth {config.augmentation_depth}, "
        f"chunk_size {args.chunk_size}"
    )
    print()
    print_table(summary)

    per_sample_best = summary["per-sample"]["best_samples_per_s"]
    naive_best = summary["naive"]["best_samples_per_s"]
    passed = per_sample_best >= naive_best
    print()
    print(
        f"acceptance (per-sample best >= naive best): {'PASS' if passed else 'FAIL'} "
        f"({per_sample_best:,.0f}/s vs {naive_best:,.0f}/s)"
    )

    if args.json:
        report = {
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "dpa_version": dpa.__version__,
            "backend": args.backend,
            "samples": args.samples,
            "repeats": args.repeats,
            "chunk_size": args.chunk_size,
            "start_id": args.start_id,
            "augmentation_depth": config.augmentation_depth,
            "ids_verified": checked,
            "contenders": summary,
            "per_sample_at_least_naive": passed,
        }
        write_json(args.json, report)

    if args.check and not passed:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
