"""What the benchmark scripts share: the naive inline DPA v0.2 and the exact-agreement
helpers, the options every script takes, rate figures and ratios, and the report's
boilerplate (the machine line, the mismatch list, the acceptance lines, the JSON file).

Timing, tables and the machine's description come from :mod:`dpa.benchmark`
(:func:`~dpa.benchmark.benchmark_interleaved`, :func:`~dpa._tables.text_table`,
:func:`~dpa.benchmark.get_system_info`): one timer and one table for every benchmark.

A plain module, not a package: each script runs as ``python benchmarks/bench_x.py``,
which puts this folder first on ``sys.path``, and imports it as ``import _common as common``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from dpa import AugmentationConfig
from dpa._io import write_atomic
from dpa.benchmark import BenchmarkResult

PARAMS = ("rotation", "brightness", "noise", "scale", "contrast")

#: Large ids checked for exact agreement next to the timed ones.
ODD_IDS = (10**6, 2**31 - 1, 2**32, 2**53 + 1, 2**63 - 1, 2**64 + 7, 10**30)


def other_config() -> AugmentationConfig:
    """A config with int ranges and another depth, checked for agreement on ids 0..49."""
    return AugmentationConfig(rotation_range=(-7, 11), noise_range=(0, 1), augmentation_depth=3)


# --------------------------------------------------------------------------- naive v0.2


def naive_fib(n: int) -> int:
    """Fibonacci as v0.2 computed it: from scratch at every call."""
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def naive_params(n: int, config: AugmentationConfig) -> dict[str, Any]:
    """DPA v0.2, inline: hash chain, global ``random.seed``, five ``random.uniform``."""
    h = hashlib.sha256(str(n).encode()).hexdigest()
    for i in range(config.augmentation_depth):
        h = hashlib.sha256((h + str(naive_fib(i))).encode()).hexdigest()
    seed = int(h, 16) % 2**32
    random.seed(seed)
    return {
        "rotation": random.uniform(*config.rotation_range),
        "brightness": random.uniform(*config.brightness_range),
        "noise": random.uniform(*config.noise_range),
        "scale": random.uniform(*config.scale_range),
        "contrast": random.uniform(*config.contrast_range),
        "hash": h,
    }


class saved_random_state:
    """Context manager: restore the global :mod:`random` state on exit."""

    def __enter__(self) -> None:
        self._state = random.getstate()

    def __exit__(self, *exc: object) -> None:
        random.setstate(self._state)


# --------------------------------------------------------------------------- agreement


def bits(record: dict[str, Any]) -> tuple[Any, ...]:
    """The five floats bit for bit (``float.hex`` tells -0.0 from 0.0), and the hash."""
    return (*(float(record[name]).hex() for name in PARAMS), record["hash"])


def naive_expected(ids: Iterable[int], config: AugmentationConfig) -> list[tuple[Any, ...]]:
    """The naive version's :func:`bits` for ``ids``, the global random state kept."""
    with saved_random_state():
        return [bits(naive_params(i, config)) for i in ids]


def compare_records(
    ids: Sequence[int],
    expected: list[tuple[Any, ...]],
    results: dict[str, list[dict[str, Any]]],
) -> list[str]:
    """Each API's records against the naive :func:`bits`; the mismatches (the first of
    each API)."""
    problems = []
    for name, records in results.items():
        if len(records) != len(expected):
            problems.append(f"{name}: {len(records)} records for {len(expected)} ids")
            continue
        for sample_id, want, record in zip(ids, expected, records, strict=True):
            if "sample_id" in record and record["sample_id"] != sample_id:
                problems.append(f"{name}: id {sample_id} came back as {record['sample_id']}")
                break
            got = bits(record)
            if got != want:
                problems.append(f"{name}: id {sample_id}: got {got}, naive gives {want}")
                break
    return problems


def agreement_problems(
    check: Callable[[list[int], AugmentationConfig], list[str]],
    start: int,
    count: int,
    config: AugmentationConfig,
) -> tuple[list[str], int]:
    """``check(ids, config)`` on the ids to be timed (``count`` from ``start``), on
    :data:`ODD_IDS`, and on ids 0..49 with :func:`other_config`: the mismatches, and
    how many ids were checked."""
    timed_ids = list(range(start, start + count))
    problems = (
        check(timed_ids, config)
        + check(list(ODD_IDS), config)
        + check(list(range(50)), other_config())
    )
    return problems, len(timed_ids) + len(ODD_IDS) + 50


def report_mismatch(title: str, problems: list[str]) -> bool:
    """Print ``problems`` under ``title`` to stderr; whether there were any."""
    if problems:
        print(title, file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
    return bool(problems)


# --------------------------------------------------------------------------- figures


def spread(values: Sequence[float]) -> dict[str, Any]:
    """The best (largest), the median and all of some rates."""
    return {"best": max(values), "median": statistics.median(values), "all": list(values)}


def rates_of(result: BenchmarkResult) -> dict[str, Any]:
    """:func:`spread` of a benchmark's per-iteration rates (samples per second)."""
    return {"best": result.best_rate, "median": result.median_rate, "all": list(result.rates)}


def ratio(numerator: dict[str, Any], denominator: dict[str, Any]) -> dict[str, float]:
    """Best over best and median over median of two :func:`spread` figures."""
    return {
        "best": numerator["best"] / denominator["best"],
        "median": numerator["median"] / denominator["median"],
    }


# --------------------------------------------------------------------------- report


def rate_cells(best: float, median: float) -> tuple[str, str]:
    """The best and the median rate as table cells (whole numbers, thousands marked)."""
    return f"{best:,.0f}", f"{median:,.0f}"


def machine_line(system: dict[str, Any]) -> str:
    """The first line of a report: python, dpa, the backend and the CPUs, from
    :func:`dpa.benchmark.get_system_info`."""
    return (
        f"python {system['python']} ({system['implementation']}), dpa {system['dpa_version']}, "
        f"backend {system['backend']}, {system['usable_cpus']} usable of "
        f"{system['cpu_count']} CPUs"
    )


def print_acceptance(
    title: str,
    results: list[dict[str, Any]],
    shown: Callable[[dict[str, Any]], str],
    check: bool,
) -> bool:
    """The acceptance lines of ``results`` (``criterion``, ``passed``) under ``title``,
    each with ``shown(result)``; whether all passed. With ``check`` (``--check``) they
    are a check, PASS or FAIL, and a FAIL makes the script exit 1 (:func:`finish`);
    without, they are figures against their targets: met or not met."""
    passed_word, failed_word = ("PASS", "FAIL") if check else ("met", "not met")
    print()
    print(f"{title}:" if check else f"{title}, figures (--check makes them a check):")
    width = max(len(r["criterion"]) for r in results)
    word_width = max(len(passed_word), len(failed_word))
    for r in results:
        verdict = (passed_word if r["passed"] else failed_word).ljust(word_width)
        print(f"  {verdict}  {r['criterion'].ljust(width)}  ({shown(r)})")
    return all(r["passed"] for r in results)


def finish(args: argparse.Namespace, report: dict[str, Any], criteria: list[dict[str, Any]]) -> int:
    """Write ``report``, with the acceptance ``criteria`` and whether ``all_passed``,
    to ``--json`` where given; the exit status: 1 where ``--check`` found a criterion
    not met, else 0."""
    passed = all(c["passed"] for c in criteria)
    report = {**report, "acceptance": criteria, "all_passed": passed}
    if args.json:
        text = json.dumps(report, indent=2) + "\n"
        write_atomic(args.json, text.encode("utf-8"))
        print(f"wrote {args.json}")
    return 1 if args.check and not passed else 0


# --------------------------------------------------------------------------- options


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def number_option(
    parser: argparse.ArgumentParser,
    flag: str,
    default: float,
    metavar: str,
    help: str,
    kind: Callable[[str], float] = positive_int,
) -> None:
    """A numeric option (``kind`` reads and checks it), its default named in its help."""
    shown = f"{default:g}" if isinstance(default, float) else str(default)
    parser.add_argument(
        flag, type=kind, default=default, metavar=metavar, help=f"{help} (default: {shown})"
    )


def add_run_options(
    parser: argparse.ArgumentParser,
    *,
    repeats: int,
    verify: int,
    check: str = "exit 1 if an acceptance criterion is not met",
    verify_help: str = "ids checked for exact agreement before timing",
) -> None:
    """The options every script takes: ``--repeats``, ``--verify``, ``--json`` and
    ``--check``."""
    number_option(parser, "--repeats", repeats, "R", "repetitions of each contender, interleaved")
    number_option(parser, "--verify", verify, "M", verify_help)
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON to FILE")
    parser.add_argument("--check", action="store_true", help=check)


def run_settings(args: argparse.Namespace) -> dict[str, Any]:
    """What a report says of how it ran: the options every script shares, where given."""
    names = {
        "samples": "samples",
        "repeats": "repeats",
        "start_id": "start_id",
        "depth": "augmentation_depth",
        "verify": "ids_verified",
    }
    return {key: getattr(args, name) for name, key in names.items() if hasattr(args, name)}


def native_missing() -> bool:
    """Whether the native kernel is not built; if so, say so on stderr."""
    import dpa._backends

    if dpa._backends.native_available():
        return False
    from dpa import _kernel

    print(
        "error: the native kernel is not available, nothing to benchmark "
        f"({_kernel.IMPORT_ERROR}); reinstall dpa with a C compiler",
        file=sys.stderr,
    )
    return True
