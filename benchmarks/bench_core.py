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
naive, ...) for several repetitions (:func:`dpa.benchmark.benchmark_interleaved`:
each call timed with the garbage collector off, as :mod:`timeit` does), so that a
noisy machine hurts them alike; the best and the median rate of the repetitions are
reported. The global :mod:`random` state is saved before and restored after each
use of the naive version.

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

The acceptance criterion, on best rates: the per-sample API at least as fast as the
naive version. It is printed as a figure (met or not met); ``--check`` makes it a
check (PASS or FAIL, exit status 1 on FAIL).
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import sys
from collections.abc import Callable
from typing import Any

import _common as common
import dpa
import dpa._backends
from dpa import AugmentationConfig
from dpa._tables import text_table
from dpa.benchmark import BenchmarkResult, benchmark_interleaved, get_system_info

# --------------------------------------------------------------------------- contenders


#: The backend the APIs are timed on (``--backend``); main() also makes it the default
#: (``DPA_BACKEND``), which the streams, taking no ``backend=``, use.
BACKEND = "python"


def run_naive(start: int, n: int, config: AugmentationConfig, chunk_size: int) -> None:
    with common.saved_random_state():
        for i in range(start, start + n):
            common.naive_params(i, config)


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


# --------------------------------------------------------------------------- agreement


def check_agreement(ids: list[int], config: AugmentationConfig, chunk_size: int) -> list[str]:
    """Compare the naive version with every API on ``ids`` (on :data:`BACKEND`); return
    the mismatches."""
    expected = common.naive_expected(ids, config)

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

    return common.compare_records(ids, expected, results)


# --------------------------------------------------------------------------- report


def summarize(results: dict[str, BenchmarkResult]) -> dict[str, dict[str, Any]]:
    """Each contender's rates (samples/s) and their ratios to the naive version's."""
    naive = common.rates_of(results["naive"])
    out: dict[str, dict[str, Any]] = {}
    for name, result in results.items():
        rates, against_naive = common.rates_of(result), common.ratio(common.rates_of(result), naive)
        out[name] = {
            "best_samples_per_s": rates["best"],
            "median_samples_per_s": rates["median"],
            "ratio_best_vs_naive": against_naive["best"],
            "ratio_median_vs_naive": against_naive["median"],
            "seconds": list(result.times),
            "samples_per_s": rates["all"],
        }
    return out


def print_table(summary: dict[str, dict[str, Any]]) -> None:
    headers = ("contender", "best/s", "median/s", "best ×naive", "median ×naive")
    rows = [
        (
            name,
            *common.rate_cells(s["best_samples_per_s"], s["median_samples_per_s"]),
            f"{s['ratio_best_vs_naive']:.3f}",
            f"{s['ratio_median_vs_naive']:.3f}",
        )
        for name, s in summary.items()
    ]
    print(text_table(headers, rows, left=[0]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.number_option(parser, "--samples", 50_000, "N", "samples per contender per repetition")
    common.number_option(parser, "--chunk-size", 1000, "K", "chunk_size of the chunked stream")
    common.number_option(
        parser, "--start-id", 0, "ID", "first sample id timed", common.non_negative_int
    )
    parser.add_argument(
        "--backend",
        choices=dpa._backends.BACKENDS,
        default="python",
        help="backend the APIs run on (default: python, the pure-Python per-sample path "
        "that --check is about)",
    )
    common.add_run_options(
        parser,
        repeats=5,
        verify=300,
        check="exit 1 if the per-sample API's best rate is below the naive best",
    )
    args = parser.parse_args(argv)

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
    # ones, and a config with int ranges and another depth (in chunks of 7).
    def check(ids: list[int], checked_config: AugmentationConfig) -> list[str]:
        chunk_size = args.chunk_size if checked_config is config else 7
        return check_agreement(ids, checked_config, chunk_size)

    problems, checked = common.agreement_problems(check, args.start_id, args.verify, config)
    if common.report_mismatch("MISMATCH between the naive v0.2 version and dpa:", problems):
        return 2
    apis = f"per-sample, batch and stream APIs ({args.backend} backend)"
    print(f"agreement: naive v0.2 and the {apis} match bit for bit on {checked} ids")

    # Warm-up: imports, caches, branch predictors; not recorded.
    for _name, runner in CONTENDERS:
        runner(args.start_id, min(args.samples, 2_000), config, args.chunk_size)

    functions = {
        name: functools.partial(runner, args.start_id, args.samples, config, args.chunk_size)
        for name, runner in CONTENDERS
    }
    results = benchmark_interleaved(
        functions, iterations=args.repeats, warmup=0, samples_per_iteration=args.samples
    )

    if random.getstate() != initial_random_state:
        print("error: the global random state changed during the benchmark", file=sys.stderr)
        return 2

    summary = summarize(results)
    system = get_system_info()
    print(
        f"{common.machine_line(system)}, {args.samples:,} samples x {args.repeats} repeats, "
        f"depth {config.augmentation_depth}, chunk_size {args.chunk_size}"
    )
    print()
    print_table(summary)

    per_sample_best = summary["per-sample"]["best_samples_per_s"]
    naive_best = summary["naive"]["best_samples_per_s"]
    criteria = [
        {
            "criterion": "per-sample best >= naive best",
            "value": per_sample_best / naive_best,
            "passed": per_sample_best >= naive_best,
        }
    ]
    passed = common.print_acceptance(
        "acceptance (best rates)",
        criteria,
        lambda _: f"{per_sample_best:,.0f}/s vs {naive_best:,.0f}/s",
        args.check,
    )

    report = {
        **system,
        **common.run_settings(args),
        "chunk_size": args.chunk_size,
        "augmentation_depth": config.augmentation_depth,
        "ids_verified": checked,
        "per_sample_at_least_naive": passed,
        "contenders": summary,
    }
    return common.finish(args, report, criteria)


if __name__ == "__main__":
    sys.exit(main())
