"""Verification: recompute every record of a file from its own metadata."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._config import PARAM_NAMES, AugmentationConfig, check_config
from ._distributed import misowned_rank_problem
from ._formats.common import PathLike, brief
from ._formats.files import read_augmentation_file
from ._generate import _generate
from ._keys import PerRecordRankScheme, RankAwareScheme
from ._parambatch import ParamBatch
from ._stats import RunningStatistics

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
    progress: Callable[[int], object] | None = None,
    workers: int = 1,
    expected_ids: range | None = None,
    config: AugmentationConfig | None = None,
) -> VerifyReport:
    """Recompute every record of a file from its own metadata and compare.

    Every field is compared bit for bit. The report keeps the first
    ``max_mismatches`` mismatches and counts them all; a stored statistics block
    that disagrees with the records is a problem too (count, min and max exactly,
    mean and stdev to 1e-9 relative: their last bits depend on the batching), and so
    are keys unknown where dpa keeps its own (the top level of a JSON file, a JSON
    Lines end line, a Parquet summary: a damaged ``statistics`` key, say) and a dpa
    file whose metadata declares no ``num_samples``.
    ``progress(n)`` is called with the number of records checked after each batch;
    ``workers`` threads share the recomputation (native backend). With
    ``expected_ids``, the file must hold exactly those sample ids, in that order (a
    problem names the first that differs).

    The config is the file's own. A file that names none (DPA v0.2 saved one so
    unless it was given a config) is checked against ``config``, or against the
    default config, which v0.2 generated with when given none; a failure then says
    which config was assumed. ``config`` may not contradict a config the file names.

    The keys come from the metadata: plain ids, rank-aware (``distributed_info``),
    elastic (``elastic_info``), or, in a merged rank-aware file
    (``distributed_info.per_record_rank``), each record's own ``rank``.

    Raises :class:`DPAFileError` when the file cannot be read at all.
    """
    if expected_ids is not None and not isinstance(expected_ids, range):
        raise TypeError(f"expected_ids must be a range or None, got {type(expected_ids).__name__}")
    file = read_augmentation_file(path)
    report = VerifyReport(str(file.path), file.format)
    given = None if config is None else check_config(config)
    assumed = file.config is None
    if file.config is not None and given is not None and given != file.config:
        raise ValueError(f"{file.path}: names its own config, which differs from the one given")
    config = file.config or given or check_config(None)
    scheme = file.scheme
    ids_problem = _IdsCheck(expected_ids)
    rank_problem: str | None = None
    running = RunningStatistics()
    position = 0
    for stored in file.iter_batches(batch_size):
        ids = stored.sample_id
        ids_problem.check(report, ids, position)
        if isinstance(scheme, PerRecordRankScheme):
            assert stored.rank is not None  # the reader gives a rank column here
            if rank_problem is None:
                rank_problem = _rank_problem(
                    stored, scheme.world_size, position
                ) or misowned_rank_problem(
                    stored.sample_id,
                    stored.rank,
                    start=file.metadata.get("start_id"),
                    total=file.num_samples,
                    world_size=scheme.world_size,
                    position=position,
                )
                if rank_problem is not None:
                    report.problems.append(rank_problem)
            expected = _generate_per_rank(stored, config, scheme, workers)
        else:
            expected = _generate(ids, ids, config, scheme, workers=workers)
        _compare(report, stored, expected, position, max_mismatches)
        running.update_batch(stored)
        position += len(stored)
        report.checked = position
        if progress is not None:
            progress(len(stored))
    ids_problem.finish(report, position)
    if assumed and not report.ok:
        which = "the config given" if given is not None else "the default config"
        report.problems.append(
            f"the file names no config: it was checked against {which}; give the config it "
            "was made with (verify_augmentation_file(path, config=...))"
        )
    if file.unknown_keys:
        report.problems.append(f"unknown key(s) {', '.join(file.unknown_keys)} (damaged?)")
    if "format_version" in file.metadata and file.num_samples is None:
        report.problems.append("the metadata declares no num_samples (damaged?)")
    if file.statistics is not None and running.count:
        ours = "format_version" in file.metadata  # v0.2's blocks have no count
        problem = _statistics_problem(file.statistics, running.result(), require_count=ours)
        if problem:
            report.problems.append(problem)
    return report


class _IdsCheck:
    """Checks that the stored ids are exactly ``expected`` (when given), in order."""

    def __init__(self, expected: range | None) -> None:
        self.expected = expected
        self.failed = False

    def check(self, report: VerifyReport, ids: Any, position: int) -> None:
        if self.expected is None or self.failed:
            return
        want = self.expected[position : position + len(ids)]
        n = min(len(want), len(ids))
        first: int | None = None
        if n and ids.dtype != object and max(want[0], want[n - 1]) < 2**63:
            wanted = np.arange(want.start, want.start + n * want.step, want.step, dtype=np.int64)
            bad = np.flatnonzero(ids[:n] != wanted)
            first = int(bad[0]) if len(bad) else None
        elif n:
            first = next((i for i in range(n) if int(ids[i]) != want[i]), None)
        if first is not None:
            self._fail(
                report,
                f"record {position + first} is sample {int(ids[first])}, "
                f"expected sample {want[first]}",
            )
        elif len(ids) > len(want):
            self._fail(report, f"holds more than the {len(self.expected)} samples expected")

    def finish(self, report: VerifyReport, count: int) -> None:
        if self.expected is not None and not self.failed and count < len(self.expected):
            self._fail(report, f"holds {count} samples, expected {len(self.expected)}")

    def _fail(self, report: VerifyReport, problem: str) -> None:
        self.failed = True
        report.problems.append(problem)


def _rank_problem(stored: ParamBatch, world_size: int, position: int) -> str | None:
    """The first record of ``stored`` whose rank is not below the world size, or None."""
    assert stored.rank is not None
    outside = np.flatnonzero(stored.rank >= world_size)
    if not len(outside):
        return None
    row = int(outside[0])
    return (
        f"record {position + row}: rank {int(stored.rank[row])} is not below "
        f"the world size {world_size}"
    )


def _generate_per_rank(
    stored: ParamBatch, config: Any, scheme: PerRecordRankScheme, workers: int
) -> ParamBatch:
    """The expected values of a batch whose records each name their rank: each
    rank's records recomputed with that rank's key."""
    assert stored.rank is not None
    ranks = stored.rank
    columns = {name: np.empty(len(stored), dtype=np.float64) for name in PARAM_NAMES}
    hashes = np.empty(len(stored), dtype="S64")
    for rank in np.unique(ranks).tolist():
        rows = np.flatnonzero(ranks == rank)
        ids = stored.sample_id[rows]
        part = _generate(ids, ids, config, _any_rank(scheme, rank), workers=workers)
        for name in PARAM_NAMES:
            columns[name][rows] = getattr(part, name)
        hashes[rows] = part.hash
    return ParamBatch(sample_id=stored.sample_id, hash=hashes, rank=ranks, **columns)


def _any_rank(scheme: PerRecordRankScheme, rank: int) -> RankAwareScheme:
    """The key of ``rank``'s records; a rank past the world size (a damaged record,
    reported apart) is recomputed as if the world were large enough."""
    return RankAwareScheme(scheme.base_seed, rank, max(scheme.world_size, rank + 1))


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


def _statistics_problem(
    stored: Any, actual: dict[str, Any], *, require_count: bool = True
) -> str | None:
    if not isinstance(stored, dict):
        return "the statistics block is malformed"
    for name in PARAM_NAMES:
        entry = stored.get(name)
        if not isinstance(entry, dict):
            return f"the statistics block lacks {name!r}"
        for key in ("mean", "stdev", "min", "max", "count"):
            if key == "count" and not require_count and key not in entry:
                continue
            ours, theirs = entry.get(key), actual[name][key]
            if isinstance(ours, bool) or not isinstance(ours, int | float):
                return f"statistics {name}.{key} is not a number: {brief(ours)}"
            if key in _EXACT:
                differs = ours != theirs
            else:
                try:
                    differs = not math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-12)
                except OverflowError:  # an int beyond the float range
                    differs = True
            if differs:
                return f"statistics {name}.{key} = {brief(ours)} but the records give {theirs!r}"
    return None


#: Statistics that do not depend on how the records were batched: compared exactly.
#: The mean's and stdev's last bits do, so they are compared to 1e-9 relative.
_EXACT = ("count", "min", "max")
