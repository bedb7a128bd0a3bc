"""Write a sharded run: each rank its shard (:func:`write_shard`), then rank 0 the
manifest (:func:`generate_shards`, called on every rank of a :class:`Group`).

Each shard is an ordinary dpa file (written atomically, resumable) holding its
rank's ids (:func:`plan_shards`), drawn with its rank's key scheme
(:func:`shard_scheme`, recorded in its metadata), and ``shard`` (``rank``,
``world_size``, ``start``, ``total``) in its metadata.

Example:
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> result = generate_shards(folder, 10, format="jsonl", base_seed=3)
    >>> result.shard["file"], result.manifest["base_seed"]
    ('part-00000.jsonl', 3)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._config import AugmentationConfig
from .._errors import ShardError
from .._formats import DPAFileError, PathLike, read_augmentation_file
from .._io import write_range
from .._keys import check_rank
from .._validate import check_int, check_path
from .group import Group, check_group
from .manifest import MANIFEST_NAME, file_sha256, read_manifest, write_manifest
from .messages import one_line, short_list
from .plan import check_format, plan_shards, shard_files, shard_name, shard_scheme

__all__ = ["GenerateResult", "generate_shards", "replaceable_shards", "write_shard"]


def write_shard(
    folder: PathLike,
    rank: int,
    world_size: int,
    num_samples: int,
    config: AugmentationConfig | None = None,
    *,
    start: int = 0,
    mode: str = "rank_aware",
    base_seed: int = 0,
    epoch: int = 0,
    format: str = "parquet",
    include_stats: bool = True,
    batch_size: int = 65536,
    workers: int = 1,
    progress: Callable[[int], Any] | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """Write ``rank``'s shard of a run of ``num_samples`` ids from ``start`` into
    ``folder`` (atomically; resumable with ``resume=True``); return its manifest
    entry: ``file``, ``rank``, ``start_id``, ``end_id``, ``count``, ``sha256``, and
    how many records were ``resumed``.

    Example:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> entry = write_shard(folder, 1, 2, 10, format="jsonl")
        >>> entry["file"], entry["start_id"], entry["end_id"], entry["count"]
        ('part-00001.jsonl', 5, 10, 5)
    """
    fmt = check_format(format)
    num_samples = check_int(num_samples, "num_samples")
    start = check_int(start, "start")
    plan = plan_shards(num_samples, world_size, start)
    rank = check_rank(rank, len(plan))
    scheme = shard_scheme(mode, rank=rank, world_size=len(plan), base_seed=base_seed, epoch=epoch)
    lo, hi = plan[rank]
    target = check_path(folder, "folder") / shard_name(rank, fmt)
    shard = {"rank": rank, "world_size": len(plan), "start": start, "total": num_samples}
    writer = write_range(
        target,
        lo,
        hi,
        config,
        format=fmt,
        include_stats=include_stats,
        batch_size=batch_size,
        progress=progress,
        resumable=True,
        resume=resume,
        workers=workers,
        extra_metadata={"shard": shard},
        scheme=scheme,
    )
    return {
        "file": target.name,
        "rank": rank,
        "start_id": lo,
        "end_id": hi,
        "count": writer.count,
        "sha256": file_sha256(target),
        "resumed": writer.resumed_count,
    }


@dataclass
class GenerateResult:
    """What :func:`generate_shards` did on this rank: its own shard's entry, and
    (on rank 0) the manifest written."""

    rank: int
    world_size: int
    shard: dict[str, Any]
    manifest: dict[str, Any] | None = None


def generate_shards(
    folder: PathLike,
    num_samples: int,
    config: AugmentationConfig | None = None,
    *,
    group: Group | None = None,
    start: int = 0,
    mode: str = "rank_aware",
    base_seed: int = 0,
    epoch: int = 0,
    format: str = "parquet",
    include_stats: bool = True,
    batch_size: int = 65536,
    workers: int = 1,
    progress: Callable[[int], Any] | None = None,
    resume: bool = False,
) -> GenerateResult:
    """Every rank of ``group`` writes its shard into ``folder``; then rank 0 writes
    the manifest. Call it on every rank (``group`` defaults to one process).

    Rank 0 first checks that every shard file already in the folder
    (``part-NNNNN.jsonl|parquet``) is an earlier dpa run's (:func:`replaceable_shards`),
    else raises :class:`~dpa.ShardError` naming the others before anything is
    written; then it removes the earlier manifest, so the folder never looks
    complete while shards change, and at the end removes the earlier shards that
    this run did not write (of other ranks or formats). When a rank fails, every
    rank raises (:class:`~dpa.ShardError` naming the failures, or the rank's own
    exception) and no manifest is written.

    Example:
        >>> import tempfile
        >>> from dpa._shards import verify_shards
        >>> folder = tempfile.mkdtemp()
        >>> result = generate_shards(folder, 100, mode="elastic", format="jsonl")
        >>> [s["file"] for s in result.manifest["shards"]]
        ['part-00000.jsonl']
        >>> verify_shards(folder).ok
        True
    """
    group = check_group(group)
    rank, world_size = group.rank, group.world_size
    # every rank refuses bad arguments alike, before it waits for the others
    shard_scheme(mode, rank=rank, world_size=world_size, base_seed=base_seed, epoch=epoch)
    plan_shards(num_samples, world_size, start)
    check_format(format)
    target = check_path(folder, "folder")
    run: dict[str, Any] = {
        "start": start,
        "mode": mode,
        "base_seed": base_seed,
        "epoch": epoch,
        "format": format,
    }

    def write_own_shard() -> dict[str, Any]:
        return write_shard(
            target,
            rank,
            world_size,
            num_samples,
            config,
            include_stats=include_stats,
            batch_size=batch_size,
            workers=workers,
            progress=progress,
            resume=resume,
            **run,
        )

    def finish() -> dict[str, Any]:
        return _finish(target, entries, earlier, config, num_samples, run)

    earlier = _together(group, "{error}", lambda: _prepare_folder(target), rank == 0)[0]
    entries = _together(group, "rank {rank}: {error}", write_own_shard)
    manifest = _together(
        group, "rank {rank} could not write the manifest: {error}", finish, rank == 0
    )
    return GenerateResult(rank, world_size, entries[rank], manifest[rank])


def _together(group: Group, failed: str, action: Callable[[], Any], here: bool = True) -> list[Any]:
    """Run ``action`` on the ranks where ``here`` is true, then gather every rank's
    result (None where it did not run), in rank order.

    When it failed anywhere, every rank raises: the failed rank its own exception,
    the others a :class:`~dpa.ShardError` with a sentence for each failure, from the
    template ``failed`` (``{rank}``, ``{error}``)."""
    failure: Exception | None = None
    outcome: dict[str, Any]
    try:
        outcome = {"result": action() if here else None}
    except Exception as exc:
        failure = exc
        outcome = {"error": failed.format(rank=group.rank, error=one_line(exc))}
    outcomes = group.all_gather(outcome)
    if failure is not None:
        raise failure
    errors = [outcome["error"] for outcome in outcomes if "error" in outcome]
    if errors:
        raise ShardError("; ".join(errors))
    return [outcome["result"] for outcome in outcomes]


def _finish(
    folder: Path,
    entries: list[dict[str, Any]],
    earlier: set[str],
    config: AugmentationConfig | None,
    num_samples: int,
    run: dict[str, Any],
) -> dict[str, Any]:
    """Rank 0's last step: remove the earlier run's shards that this one did not
    write (``earlier``, found before the run), then write the manifest (and return
    it). A shard file that appeared meanwhile stops it (ShardError naming it)."""
    written = {entry["file"] for entry in entries}
    strangers = [path.name for path in shard_files(folder) if path.name not in written | earlier]
    if strangers:
        raise ShardError(
            f"{folder}: {_names(strangers)} appeared during the run (another run writing "
            "into this folder?); no manifest written"
        )
    for name in sorted(earlier - written):
        (folder / name).unlink(missing_ok=True)
    return write_manifest(folder, entries, config, num_samples=num_samples, **run)


def _prepare_folder(folder: Path) -> set[str]:
    """Make the folder, check that the shard files already in it are an earlier dpa
    run's (:func:`replaceable_shards`), drop the earlier manifest; return the names of
    those shards. ShardError when the folder cannot be prepared, or holds a shard file
    (or a ``_manifest.json``) that dpa did not write."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # as a file
        raise ShardError(f"{folder}: is a file; --distributed writes a folder of shards") from None
    except OSError as exc:
        raise ShardError(f"{folder}: cannot prepare the output folder: {one_line(exc)}") from None
    earlier, foreign = replaceable_shards(folder)
    if foreign:
        raise ShardError(
            f"{folder}: holds {_names(foreign)}, which no dpa run of this folder wrote "
            "(not listed by its manifest, not a dpa shard); a sharded run would replace "
            "or remove them: move them away, or write into another folder"
        )
    try:
        (folder / MANIFEST_NAME).unlink(missing_ok=True)
    except OSError as exc:
        raise ShardError(f"{folder}: cannot prepare the output folder: {one_line(exc)}") from None
    return earlier


def replaceable_shards(folder: Path) -> tuple[set[str], list[str]]:
    """The shard files in ``folder`` that a new run may replace or remove (those its
    manifest lists, and dpa shards of an unfinished run: files whose metadata names
    the shard their name says), and the names of the others (any other file named
    ``part-NNNNN.jsonl|parquet``; a ``_manifest.json`` that is not a dpa manifest).

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "part-00000.jsonl").write_text("my own notes")
        >>> replaceable_shards(folder)
        (set(), ['part-00000.jsonl'])
    """
    listed: set[str] = set()
    foreign: list[str] = []
    if (folder / MANIFEST_NAME).exists():
        try:
            listed = {entry["file"] for entry in read_manifest(folder)["shards"]}
        except DPAFileError:
            foreign.append(MANIFEST_NAME)
    earlier: set[str] = set()
    for path in shard_files(folder):
        if path.name in listed or _is_dpa_shard(path):
            earlier.add(path.name)
        else:
            foreign.append(path.name)
    return earlier, foreign


def _is_dpa_shard(path: Path) -> bool:
    """True when ``path`` is a dpa file whose metadata names it as the shard its
    name says (rank and format): a shard of a run that did not finish."""
    try:
        opened = read_augmentation_file(path)
    except (DPAFileError, OSError, ImportError):  # ImportError: parquet without pyarrow
        return False
    shard = opened.metadata.get("shard")
    if not isinstance(shard, dict) or type(shard.get("rank")) is not int or shard["rank"] < 0:
        return False
    return shard_name(shard["rank"], opened.format) == path.name


def _names(names: list[str]) -> str:
    """File names for a message: the first eight, by name, and how many more."""
    shown = sorted(names)[:8]
    return short_list(shown, more=len(names) - len(shown))
