"""Is a sharded output complete and exact? :func:`check_shards` says what keeps it
from being complete; :func:`verify_shards` also recomputes every value.

Complete means: every rank of the manifest's world once, the shards' id ranges
covering ``start .. start+total-1`` once (no gap, no overlap), each rank holding
the ids the run's split gives it (:func:`~dpa._shards.plan.plan_shards`), every listed shard on
disk unchanged (SHA-256) with the run's keys, config and ids in its metadata, and
no other shard file beside them.

Example:
    >>> import tempfile
    >>> from dpa._shards import generate_shards
    >>> folder = tempfile.mkdtemp()
    >>> _ = generate_shards(folder, 20, mode="elastic", format="jsonl")
    >>> check_shards(folder)
    []
    >>> report = verify_shards(folder)
    >>> report.ok, report.checked
    (True, 20)
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._formats import DPAFileError, PathLike, read_augmentation_file
from .._keys import check_rank
from .._validate import check_path
from .._verify import VerifyReport, verify_augmentation_file
from .manifest import file_sha256, manifest_problem, manifest_scheme, read_manifest
from .messages import id_range, one_line, short_list
from .plan import ShardPlan, plan_shards, shard_files

__all__ = ["ShardsReport", "check_shards", "in_id_order", "verify_shards"]

Entry = Mapping[str, Any]


def in_id_order(shards: Sequence[Entry]) -> list[Entry]:
    """Manifest entries by first id (then rank): the order their samples go in.

    Example:
        >>> in_id_order([{"start_id": 5, "rank": 1}, {"start_id": 0, "rank": 0}])
        [{'start_id': 0, 'rank': 0}, {'start_id': 5, 'rank': 1}]
    """
    return sorted(shards, key=lambda e: (e["start_id"], e["rank"]))


def check_shards(
    folder: PathLike, manifest: dict[str, Any] | None = None, *, checksums: bool = True
) -> list[str]:
    """What keeps a sharded output from being complete, as sentences (``[]`` when
    nothing does): ranks and id ranges against the manifest (every rank once, the
    ranges covering ``start .. start+total-1`` once, each rank's where the run's
    split puts it), shard files missing, extra
    (duplicates named), or changed (SHA-256, with ``checksums=True``), and each
    shard's metadata against the manifest. Values are not recomputed here (see
    :func:`verify_shards`).

    ``manifest`` defaults to :func:`~dpa.read_manifest`'s (DPAFileError when it is
    missing or malformed); ValueError when one given is malformed."""
    folder = check_path(folder, "folder")
    if manifest is None:
        manifest = read_manifest(folder)
    elif problem := manifest_problem(manifest):
        raise ValueError(f"malformed manifest: {problem}")
    shards: list[Entry] = manifest["shards"]
    problems = _rank_problems(shards, manifest["world_size"])
    problems += _coverage_problems(shards, manifest["start"], manifest["total"])
    problems += _count_problems(shards, manifest["total"], others=bool(problems))
    if not problems:  # the ranges cover the run once: each where the split puts it?
        plan = plan_shards(manifest["total"], manifest["world_size"], manifest["start"])
        problems += _split_problems(shards, plan)
    problems += _file_problems(folder, manifest, checksums)
    return problems


def _rank_problems(shards: Sequence[Entry], world_size: int) -> list[str]:
    """Each of the ranks 0 .. world_size-1 once, each file once."""
    problems = []
    files_of: dict[int, list[str]] = {}
    for entry in shards:
        files_of.setdefault(entry["rank"], []).append(entry["file"])
    for rank, names in sorted(files_of.items()):
        try:
            check_rank(rank, world_size)
        except ValueError:
            problems.append(f"shard {names[0]}: rank {rank} is not below world size {world_size}")
        if len(names) > 1:
            shown = short_list(names[:8], more=len(names) - 8)
            problems.append(f"duplicated shard: rank {rank} has {len(names)} ({shown})")
    missing = world_size - sum(1 for rank in files_of if rank < world_size)
    if missing:  # named without walking a huge world
        first = list(itertools.islice((r for r in range(world_size) if r not in files_of), 8))
        ranks = short_list(first, more=missing - len(first))
        problems.append(f"the manifest lists no shard for rank(s) {ranks}")
    for name, times in sorted(Counter(e["file"] for e in shards).items()):
        if times > 1:
            problems.append(f"duplicated shard: {name} is listed {times} times")
    return problems


def _split_problems(shards: Sequence[Entry], plan: ShardPlan) -> list[str]:
    """Each rank's ids against the run's split (:func:`plan_shards`): rank ``r``
    holds ``plan[r]``, as every rank writes it (a merged rank-aware file keys each
    record by the rank that owns its id)."""
    problems = []
    for entry in shards:
        rank, ids = entry["rank"], (entry["start_id"], entry["end_id"])
        if rank >= len(plan):  # named among the rank problems
            continue
        lo, hi = plan[rank]
        if ids == (lo, hi) or (ids[0] == ids[1] and lo == hi):  # equal, or both empty
            continue
        problems.append(
            f"shard {entry['file']}: rank {rank} holds {id_range(entry)}, but the run's split "
            f"gives it {id_range({'start_id': lo, 'end_id': hi})}"
        )
    return problems


def _coverage_problems(shards: Sequence[Entry], start: int, total: int) -> list[str]:
    """The shards' id ranges against ``start .. start+total-1``: gaps, overlaps,
    ids outside the run."""
    problems = []
    ranges = sorted(
        (e["start_id"], e["end_id"], e["file"]) for e in shards if e["end_id"] > e["start_id"]
    )
    covered, last = start, None
    for lo, hi, name in ranges:
        if lo > covered:
            problems.append(f"gap: ids {covered}..{lo - 1} are in no shard")
        elif lo < covered:
            problems.append(
                f"overlap: ids {lo}..{min(hi, covered) - 1} are in both {last} and {name}"
            )
        if hi > covered:
            covered, last = hi, name
    if covered < start + total:
        problems.append(f"gap: ids {covered}..{start + total - 1} are in no shard")
    elif covered > start + total:
        problems.append(
            f"shard {last} goes past the run's last id {start + total - 1} (to {covered - 1})"
        )
    for lo, _hi, name in ranges[:1]:
        if lo < start:
            problems.append(f"shard {name} starts at id {lo}, before the run's start {start}")
    return problems


def _count_problems(shards: Sequence[Entry], total: int, *, others: bool) -> list[str]:
    """Each entry's count against its ids; the sum against the run's total, unless
    ``others`` (problems found already) explain it."""
    problems = [
        f"shard {entry['file']}: count {entry['count']} but {id_range(entry)} in the manifest"
        for entry in shards
        if entry["count"] != entry["end_id"] - entry["start_id"]
    ]
    counted = sum(entry["count"] for entry in shards)
    if counted != total and not (problems or others):
        problems.append(f"the shards hold {counted} samples, the run {total}")
    return problems


def _file_problems(folder: Path, manifest: Mapping[str, Any], checksums: bool) -> list[str]:
    """The shard files on disk against the manifest's entries."""
    problems = []
    listed = {entry["file"]: entry for entry in manifest["shards"]}
    on_disk = {path.name: path for path in shard_files(folder)}
    for name, entry in listed.items():
        if name not in on_disk:
            problems.append(f"missing shard {name} (rank {entry['rank']}, {id_range(entry)})")
            continue
        if checksums and file_sha256(on_disk[name]) != entry["sha256"]:
            problems.append(
                f"checksum mismatch: {name} is not the file the run wrote "
                "(changed or replaced after the run)"
            )
        problems.extend(_metadata_problems(on_disk[name], entry, manifest))
    copy_of = {entry["sha256"]: name for name, entry in listed.items()}
    for name in sorted(set(on_disk) - set(listed)):
        copy = copy_of.get(file_sha256(on_disk[name])) if checksums else None
        what = f"a copy of {copy}" if copy else "not in the manifest"
        problems.append(f"extra shard {name}: {what} (duplicated or left from another run)")
    return problems


def _metadata_problems(path: Path, entry: Entry, manifest: Mapping[str, Any]) -> list[str]:
    """A shard's metadata against its manifest entry and the run."""
    try:
        file = read_augmentation_file(path)
    except (DPAFileError, OSError) as exc:
        return [f"unreadable shard: {one_line(exc)}"]
    meta = file.metadata
    where = f"shard {path.name}:"
    problems = [
        f"{where} its {key} {meta.get(key)!r} is not the run's {value!r}"
        for key, value in _run_keys(manifest, entry["rank"]).items()
        if meta.get(key) != value
    ]
    if meta.get("config") != manifest["config"]:
        problems.append(f"{where} another config than the manifest's")
    if file.num_samples is not None and file.num_samples != entry["count"]:
        problems.append(
            f"{where} holds {file.num_samples} samples, the manifest says {entry['count']}"
        )
    if entry["count"] and meta.get("start_id") != entry["start_id"]:
        problems.append(
            f"{where} starts at id {meta.get('start_id')!r}, the manifest says {entry['start_id']}"
        )
    return problems


def _run_keys(manifest: Mapping[str, Any], rank: int) -> dict[str, Any]:
    """The key metadata the run gave ``rank``'s shard; none for a rank outside the
    world (named among the rank problems)."""
    try:
        return manifest_scheme(manifest, rank).to_metadata()
    except ValueError:
        return {}


@dataclass
class ShardsReport:
    """What :func:`verify_shards` found: completeness problems, and each shard's
    :class:`~dpa.VerifyReport` (values).

    Example:
        >>> ShardsReport("out", problems=["gap: ids 5..9 are in no shard"]).ok
        False
    """

    path: str
    manifest: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)
    shards: list[VerifyReport] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not isinstance(self.problems, list):
            raise TypeError(f"problems must be a list, got {type(self.problems).__name__}")
        if not isinstance(self.shards, list) or not all(
            isinstance(report, VerifyReport) for report in self.shards
        ):
            raise TypeError("shards must be a list of VerifyReport")

    @property
    def checked(self) -> int:
        """Records recomputed, over every shard."""
        return sum(report.checked for report in self.shards)

    @property
    def mismatched_samples(self) -> int:
        """Records whose stored values differ from the recomputed ones."""
        return sum(report.mismatched_samples for report in self.shards)

    @property
    def ok(self) -> bool:
        """True when the shards are complete and every value matches."""
        return not self.problems and all(report.ok for report in self.shards)


def verify_shards(
    folder: PathLike,
    *,
    max_mismatches: int = 10,
    batch_size: int = 65536,
    progress: Any = None,
    workers: int = 1,
) -> ShardsReport:
    """Check a sharded output: complete (:func:`check_shards`) and every value of
    every shard recomputed from its metadata (:func:`dpa.verify_augmentation_file`,
    each shard holding exactly its manifest range of ids).

    Raises :class:`~dpa.DPAFileError` when the manifest is missing or malformed.
    """
    folder = check_path(folder, "folder")
    manifest = read_manifest(folder)
    report = ShardsReport(str(folder), manifest)
    report.problems.extend(check_shards(folder, manifest))
    verified: set[str] = set()
    for entry in in_id_order(manifest["shards"]):
        path = folder / entry["file"]
        if entry["file"] in verified or not path.is_file():
            continue  # a file listed twice (named among the problems) is read once
        verified.add(entry["file"])
        try:
            shard_report = verify_augmentation_file(
                path,
                max_mismatches=max_mismatches,
                batch_size=batch_size,
                progress=progress,
                workers=workers,
                expected_ids=range(entry["start_id"], entry["end_id"]),
            )
        except (DPAFileError, OSError, ValueError) as exc:
            report.problems.append(f"cannot verify {entry['file']}: {one_line(exc)}")
            continue
        report.shards.append(shard_report)
    return report
