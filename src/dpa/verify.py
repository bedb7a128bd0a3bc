"""Verification: recompute every record of a file from its own metadata."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .config import PARAM_NAMES
from .formats import DPAFileError, PathLike, read_augmentation_file
from .generate import ParamBatch, _generate
from .keys import scheme_of
from .stats import RunningStatistics

__all__ = ["Mismatch", "VerifyReport", "verify_augmentation_file"]


@dataclass(frozen=True)
class Mismatch:
    """A stored value that differs from the recomputed one."""

    position: int
    sample_id: int
    field: str
    stored: Any
    expected: Any


@dataclass
class VerifyReport:
    """What :func:`verify_augmentation_file` found."""

    path: str
    format: str
    checked: int = 0
    mismatched_samples: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every record matched and nothing else was wrong."""
        return self.mismatched_samples == 0 and not self.problems


def verify_augmentation_file(
    path: PathLike,
    *,
    max_mismatches: int = 10,
    batch_size: int = 65536,
    progress: Any = None,
    workers: int = 1,
) -> VerifyReport:
    """Recompute every record of a file from its own metadata and compare.

    Every field is compared bit for bit. The report keeps the first
    ``max_mismatches`` mismatches and counts them all; a stored statistics block
    that disagrees with the records is a problem too. ``progress(n)`` is called
    with the number of records checked after each batch; ``workers`` threads share
    the recomputation (native backend).

    Raises :class:`DPAFileError` when the file cannot be read at all.
    """
    file = read_augmentation_file(path)
    report = VerifyReport(str(file.path), file.format)
    config = file.config
    if config is None:
        raise DPAFileError(file.path, "no config in the metadata: cannot recompute the values")
    prefix, seed_words = scheme_of(file.metadata)
    running = RunningStatistics()
    position = 0
    for stored in file.iter_batches(batch_size):
        ids = stored.sample_id
        expected = _generate(ids, ids, config, prefix, workers=workers, seed_words=seed_words)
        _compare(report, stored, expected, position, max_mismatches)
        running.update_batch(stored)
        position += len(stored)
        report.checked = position
        if progress is not None:
            progress(len(stored))
    if file.statistics is not None and running.count:
        problem = _statistics_problem(file.statistics, running.result())
        if problem:
            report.problems.append(problem)
    return report


def _compare(
    report: VerifyReport, stored: ParamBatch, expected: ParamBatch, position: int, limit: int
) -> None:
    bad = stored.hash != expected.hash
    for name in PARAM_NAMES:
        bad |= getattr(stored, name).view(np.uint64) != getattr(expected, name).view(np.uint64)
    rows = np.flatnonzero(bad)
    report.mismatched_samples += len(rows)
    for row in rows:
        for name in (*PARAM_NAMES, "hash"):
            if len(report.mismatches) >= limit:
                return
            ours, theirs = getattr(stored, name)[row], getattr(expected, name)[row]
            if name == "hash":
                ours, theirs = ours.decode(), theirs.decode()
                different = ours != theirs
            else:
                ours, theirs = float(ours), float(theirs)
                different = ours.hex() != theirs.hex()
            if different:
                sample = int(stored.sample_id[row])
                report.mismatches.append(Mismatch(position + int(row), sample, name, ours, theirs))


def _statistics_problem(stored: Any, actual: dict[str, Any]) -> str | None:
    if not isinstance(stored, dict):
        return "the statistics block is malformed"
    for name in PARAM_NAMES:
        entry = stored.get(name)
        if not isinstance(entry, dict):
            return f"the statistics block lacks {name!r}"
        for key in ("mean", "stdev", "min", "max", "count"):
            ours, theirs = entry.get(key), actual[name][key]
            if isinstance(ours, bool) or not isinstance(ours, int | float):
                return f"statistics {name}.{key} is not a number: {ours!r}"
            if not math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-12):
                return f"statistics {name}.{key} = {ours!r} but the records give {theirs!r}"
    return None
