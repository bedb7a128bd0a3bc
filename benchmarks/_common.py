"""What the benchmark scripts share: the naive inline DPA v0.2, exact-agreement helpers,
timing with the garbage collector off, rate statistics, the aligned table, argument
types, and the report's boilerplate (mismatch list, acceptance block, JSON file).

A plain module, not a package: each script runs as ``python benchmarks/bench_x.py``,
which puts this folder first on ``sys.path``, and imports it as ``from _common import ...``.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from dpa import AugmentationConfig

T = TypeVar("T")

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


def report_mismatch(title: str, problems: list[str]) -> bool:
    """Print ``problems`` under ``title`` to stderr; whether there were any."""
    if problems:
        print(title, file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
    return bool(problems)


# --------------------------------------------------------------------------- timing


def timed(call: Callable[[], T], clock: Callable[[], float] = time.perf_counter) -> tuple[float, T]:
    """Seconds for one ``call()`` and what it returned, garbage collector off (as
    :mod:`timeit`)."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = clock()
        result = call()
        return clock() - t0, result
    finally:
        if was_enabled:
            gc.enable()


def interleaved(
    names: Iterable[str], repeats: int, measure: Callable[[str], float]
) -> dict[str, list[float]]:
    """``measure(name)`` for every name in turn, ``repeats`` rounds: each name's times."""
    order = list(names)
    times: dict[str, list[float]] = {name: [] for name in order}
    for _ in range(repeats):
        for name in order:
            times[name].append(measure(name))
    return times


def stats(values: list[float]) -> dict[str, Any]:
    return {"best": max(values), "median": statistics.median(values), "all": values}


# --------------------------------------------------------------------------- report


def print_aligned(headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    """A table: the first column left-aligned, the others right-aligned, two spaces apart."""
    widths = [max(len(r[i]) for r in (headers, *rows)) for i in range(len(headers))]

    def line(cells: tuple[str, ...]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join((first, *rest))

    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


def print_acceptance(
    title: str, results: list[dict[str, Any]], shown: Callable[[dict[str, Any]], str]
) -> bool:
    """The PASS/FAIL lines of ``results`` (``criterion``, ``passed``), each with
    ``shown(result)``; whether all passed."""
    print()
    print(title)
    width = max(len(r["criterion"]) for r in results)
    for r in results:
        verdict = "PASS" if r["passed"] else "FAIL"
        print(f"  {verdict}  {r['criterion'].ljust(width)}  ({shown(r)})")
    return all(r["passed"] for r in results)


def write_json(path: str, report: dict[str, Any]) -> None:
    """Write ``report`` to ``path`` (indented, a final newline) and say so."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=2)
        fh.write("\n")
    print(f"wrote {path}")


# --------------------------------------------------------------------------- options


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def usable_cpus() -> int | None:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        return None


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
