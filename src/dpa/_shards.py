"""Sharded output of a distributed run: one file per rank, a manifest, checks, merge.

``dpa generate --distributed`` (under ``torchrun``) has each rank write its own range
of ids (:class:`~dpa.DistributedRangeSplitter` over ``start .. start+total``) to a
shard of one folder::

    OUT/part-00000.parquet    rank 0's samples (or part-00000.jsonl)
    OUT/part-00001.parquet    rank 1's samples
    ...
    OUT/_manifest.json        written by rank 0 once every shard is complete

Each shard is an ordinary dpa file (written atomically, resumable) whose metadata
says its mode: ``distributed_info`` (``rank``, ``world_size``, ``base_seed``) for DPA
v0.2's rank-aware keys, ``elastic_info`` (``key_version``, ``base_seed``, ``epoch``)
for the elastic mode; and ``start_id`` and ``shard`` (``rank``, ``world_size``,
``start``, ``total``). The manifest records the run (mode, config, world size, base
seed, epoch, start, total) and, for every shard, its file, rank, id range, count and
the SHA-256 of the file. It is written last, atomically: a folder without one is an
unfinished run.

:func:`verify_shards` checks that the shards cover the range once (no gap, no
overlap, no missing, extra or changed shard) and recomputes every value;
:func:`merge_shards` joins the shards in sample order into one file. A merged
elastic folder is a plain elastic file, the same whatever the world size that made
it. A rank-aware run of several ranks cannot be one single-rank file, since each rank
draws with its own key: its merge keeps each record's ``rank`` (a ``rank`` column in
Parquet, a ``"rank"`` key in JSON) and says so in its metadata,
``distributed_info = {"per_record_rank": true, "world_size", "base_seed"}``;
:func:`dpa.verify_augmentation_file` recomputes each record with its own rank's key.

The processes meet through a :class:`Group`: :func:`open_group` joins torchrun's
process group on the gloo backend (importing torch only then), or is a single
process when the world size is 1.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ._config import AugmentationConfig
from ._distributed import DistributedContext, DistributedRangeSplitter, detect_distributed_context
from ._errors import ShardError
from ._formats import DPAFileError, PathLike, detect_format, read_augmentation_file
from ._io import AugmentationWriter, _fsync_dir, _package_version, _utc_now, write_range
from ._keys import ELASTIC_KEY_VERSION
from ._verify import VerifyReport, verify_augmentation_file

__all__ = [
    "MANIFEST_NAME",
    "MODES",
    "SHARD_FORMATS",
    "Group",
    "ShardError",
    "ShardsReport",
    "SingleProcess",
    "TorchGroup",
    "check_shards",
    "generate_shards",
    "is_shard_folder",
    "merge_shards",
    "open_group",
    "plan_shards",
    "read_manifest",
    "shard_name",
    "verify_shards",
    "write_manifest",
    "write_shard",
]

MANIFEST_NAME = "_manifest.json"
MANIFEST_VERSION = 1
MODES = ("rank_aware", "elastic")
SHARD_FORMATS = ("jsonl", "parquet")
_SHARD_FILE = re.compile(r"part-(\d{5,})\.(jsonl|parquet)\Z")
_READ_CHUNK = 1 << 20
#: How long a rank waits for the others (joining, and at the end of the run).
DEFAULT_TIMEOUT_S = 1800.0


# --------------------------------------------------------------------------- groups


class Group(Protocol):
    """The processes of a run: who this one is, and how they exchange small objects."""

    @property
    def rank(self) -> int: ...

    @property
    def world_size(self) -> int: ...

    def all_gather(self, obj: Any) -> list[Any]:
        """Every rank's ``obj``, in rank order, on every rank."""
        ...

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank."""
        ...


class SingleProcess:
    """The group of one process (world size 1): nothing to wait for."""

    rank = 0
    world_size = 1

    def all_gather(self, obj: Any) -> list[Any]:
        return [obj]

    def broadcast(self, obj: Any) -> Any:
        return obj


class TorchGroup:
    """torch.distributed's process group on the gloo backend (CPU): joined from
    torchrun's environment (``MASTER_ADDR``, ``MASTER_PORT``; rank and world size
    from ``context``), or the one the program already initialized. :meth:`close`
    leaves a group that this object joined."""

    def __init__(self, context: DistributedContext, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        try:
            import torch.distributed as dist
        except ImportError:
            raise RuntimeError(
                f"a distributed run of {context.world_size} processes needs torch "
                "(torch.distributed): pip install 'dpa[torch]'"
            ) from None
        if not dist.is_available():
            raise RuntimeError("this torch build has no torch.distributed")
        self._dist = dist
        self._owned = not dist.is_initialized()
        if self._owned:
            try:
                dist.init_process_group(
                    "gloo",
                    init_method="env://",
                    rank=context.rank,
                    world_size=context.world_size,
                    timeout=_dt.timedelta(seconds=timeout_s),
                )
            except Exception as exc:
                raise RuntimeError(
                    f"cannot join the process group of {context.world_size} processes "
                    "(gloo, env://: MASTER_ADDR and MASTER_PORT, as torchrun sets them): "
                    f"{_one_line(exc)}"
                ) from None
        self._rank = int(dist.get_rank())
        self._world_size = int(dist.get_world_size())
        if (self._rank, self._world_size) != (context.rank, context.world_size):
            raise RuntimeError(
                f"the process group says rank {self._rank} of {self._world_size}, "
                f"the environment rank {context.rank} of {context.world_size}"
            )

    @property
    def rank(self) -> int:
        return self._rank

    @property
    def world_size(self) -> int:
        return self._world_size

    def all_gather(self, obj: Any) -> list[Any]:
        out: list[Any] = [None] * self._world_size
        self._dist.all_gather_object(out, obj)
        return out

    def broadcast(self, obj: Any) -> Any:
        box = [obj]
        self._dist.broadcast_object_list(box, src=0)
        return box[0]

    def close(self) -> None:
        if self._owned and self._dist.is_initialized():
            self._dist.destroy_process_group()
            self._owned = False


@contextlib.contextmanager
def open_group(
    context: DistributedContext | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
) -> Iterator[Group]:
    """The processes of this run: a :class:`SingleProcess` when the world size is 1,
    else a :class:`TorchGroup` (gloo), left again at the end of the ``with`` block.

    ``context`` defaults to :func:`dpa.detect_distributed_context`.
    """
    if context is None:
        context = detect_distributed_context()
    if context.world_size == 1:
        yield SingleProcess()
        return
    group = TorchGroup(context, timeout_s)
    try:
        yield group
    finally:
        group.close()


# --------------------------------------------------------------------------- planning


def shard_name(rank: int, fmt: str) -> str:
    """The file name of ``rank``'s shard.

    Example:
        >>> shard_name(3, "parquet")
        'part-00003.parquet'
    """
    return f"part-{rank:05d}.{fmt}"


def plan_shards(num_samples: int, world_size: int, start: int = 0) -> list[tuple[int, int]]:
    """Every rank's ``(start_id, end_id)``: :class:`~dpa.DistributedRangeSplitter`'s
    contiguous split of ``start .. start+num_samples-1``; a rank with no sample gets
    the empty range at the end.

    Example:
        >>> plan_shards(5, 3, start=10)
        [(10, 12), (12, 14), (14, 15)]
        >>> plan_shards(1, 3)
        [(0, 1), (1, 1), (1, 1)]
    """
    splitter = DistributedRangeSplitter(num_samples, world_size)
    end = start + splitter.total_samples
    plan = []
    for lo, hi in splitter.get_all_ranges():
        plan.append((start + lo, start + hi) if hi > lo else (end, end))
    return plan


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    return mode


def _check_format(fmt: str) -> str:
    if fmt not in SHARD_FORMATS:
        raise ValueError(f"shards are written as {' or '.join(SHARD_FORMATS)}, not {fmt!r}")
    return fmt


def _key_metadata(
    mode: str, rank: int, world_size: int, base_seed: int, epoch: int
) -> dict[str, Any]:
    if _check_mode(mode) == "rank_aware":
        info = {"rank": rank, "world_size": world_size, "base_seed": base_seed}
        return {"distributed_info": info}
    elastic = {"key_version": ELASTIC_KEY_VERSION, "base_seed": base_seed, "epoch": epoch}
    return {"elastic_info": elastic}


def file_sha256(path: PathLike) -> str:
    """The SHA-256 of a file's bytes, read in chunks (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- writing


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
    entry: ``file``, ``rank``, ``start_id``, ``end_id``, ``count``, ``sha256``.

    Example:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> entry = write_shard(folder, 1, 2, 10, format="jsonl")
        >>> entry["file"], entry["start_id"], entry["end_id"], entry["count"]
        ('part-00001.jsonl', 5, 10, 5)
    """
    _check_format(format)
    plan = plan_shards(num_samples, world_size, start)
    if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank < world_size:
        raise ValueError(f"rank must be an int in 0 .. {world_size - 1}, got {rank!r}")
    lo, hi = plan[rank]
    target = Path(folder) / shard_name(rank, format)
    writer = write_range(
        target,
        lo,
        hi,
        config,
        format=format,
        include_stats=include_stats,
        batch_size=batch_size,
        progress=progress,
        resumable=True,
        resume=resume,
        workers=workers,
        extra_metadata={
            "shard": {"rank": rank, "world_size": world_size, "start": start, "total": num_samples}
        },
        **_key_metadata(mode, rank, world_size, base_seed, epoch),
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


def write_manifest(
    folder: PathLike,
    shards: Sequence[dict[str, Any]],
    config: AugmentationConfig | None,
    *,
    num_samples: int,
    start: int = 0,
    mode: str = "rank_aware",
    base_seed: int = 0,
    epoch: int = 0,
    format: str = "parquet",
) -> dict[str, Any]:
    """Write ``folder/_manifest.json`` (atomically) for the shards' entries (as
    :func:`write_shard` returns them) and return it."""
    config = config if config is not None else AugmentationConfig()
    manifest: dict[str, Any] = {
        "dpa_manifest": MANIFEST_VERSION,
        "version": _package_version(),
        "generation_time": _utc_now(),
        "mode": _check_mode(mode),
        "world_size": len(shards),
        "base_seed": base_seed,
    }
    if mode == "elastic":
        manifest["epoch"] = epoch
        manifest["key_version"] = ELASTIC_KEY_VERSION
    manifest.update(
        {
            "format": format,
            "config": config.to_dict(),
            "start": start,
            "total": num_samples,
            "shards": [
                {
                    key: entry[key]
                    for key in ("file", "rank", "start_id", "end_id", "count", "sha256")
                }
                for entry in sorted(shards, key=lambda e: int(e["rank"]))
            ],
        }
    )
    path = Path(folder) / MANIFEST_NAME
    _write_json_atomic(path, manifest)
    return manifest


def _write_json_atomic(path: Path, data: Any) -> None:
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(scratch, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(scratch, path)
    finally:
        scratch.unlink(missing_ok=True)
    _fsync_dir(path.parent)


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

    Rank 0 first removes an earlier run's manifest, so the folder never looks
    complete while shards change, and at the end removes shards of an earlier run
    that this one did not write (``part-NNNNN.*`` of other ranks or formats). When a
    rank fails, every rank raises (:class:`ShardError` naming the failures, or the
    rank's own exception) and no manifest is written.

    Example:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> result = generate_shards(folder, 100, mode="elastic", format="jsonl")
        >>> [s["file"] for s in result.manifest["shards"]]
        ['part-00000.jsonl']
        >>> verify_shards(folder).ok
        True
    """
    group = group if group is not None else SingleProcess()
    rank, world_size = group.rank, group.world_size
    _check_mode(mode)
    _check_format(format)
    target = Path(folder)
    status = group.broadcast(_prepare_folder(target) if rank == 0 else None)
    if status:
        raise ShardError(status)

    entry: dict[str, Any]
    failure: BaseException | None = None
    try:
        entry = write_shard(
            target,
            rank,
            world_size,
            num_samples,
            config,
            start=start,
            mode=mode,
            base_seed=base_seed,
            epoch=epoch,
            format=format,
            include_stats=include_stats,
            batch_size=batch_size,
            workers=workers,
            progress=progress,
            resume=resume,
        )
    except Exception as exc:
        failure = exc
        entry = {"error": f"rank {rank}: {_one_line(exc)}"}
    entries = group.all_gather(entry)
    errors = [e["error"] for e in entries if "error" in e]
    if failure is not None:
        raise failure
    if errors:
        raise ShardError("; ".join(errors))

    manifest = None
    status = ""
    if rank == 0:
        try:
            _remove_stale_shards(target, {e["file"] for e in entries})
            manifest = write_manifest(
                target,
                entries,
                config,
                num_samples=num_samples,
                start=start,
                mode=mode,
                base_seed=base_seed,
                epoch=epoch,
                format=format,
            )
        except Exception as exc:
            status = f"rank 0 could not write the manifest: {_one_line(exc)}"
            group.broadcast(status)
            raise
    status = group.broadcast(status)
    if status:
        raise ShardError(status)
    return GenerateResult(rank, world_size, entry, manifest)


def _prepare_folder(folder: Path) -> str:
    """Make the folder and drop an earlier manifest; a problem as text, or ''."""
    try:
        if folder.exists() and not folder.is_dir():
            return f"{folder}: is a file; --distributed writes a folder of shards"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / MANIFEST_NAME).unlink(missing_ok=True)
    except OSError as exc:
        return f"{folder}: cannot prepare the output folder: {_one_line(exc)}"
    return ""


def _remove_stale_shards(folder: Path, keep: set[str]) -> None:
    for path in _shard_files(folder):
        if path.name not in keep:
            path.unlink(missing_ok=True)


def _shard_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if _SHARD_FILE.match(p.name) and p.is_file())


# --------------------------------------------------------------------------- reading


def is_shard_folder(path: PathLike) -> bool:
    """True when ``path`` is a folder holding a manifest or shard files."""
    folder = Path(path)
    if not folder.is_dir():
        return False
    return (folder / MANIFEST_NAME).exists() or bool(_shard_files(folder))


def read_manifest(folder: PathLike) -> dict[str, Any]:
    """The manifest of a sharded output, checked for shape; raises
    :class:`~dpa.DPAFileError` when it is missing or malformed."""
    path = Path(folder) / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DPAFileError(
            path, "no manifest: the run did not finish, or this is not a dpa shard folder"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DPAFileError(path, f"unreadable manifest: {_one_line(exc)}") from None
    problem = _manifest_problem(data)
    if problem:
        raise DPAFileError(path, f"malformed manifest: {problem}")
    return data  # type: ignore[no-any-return]


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _manifest_problem(data: Any) -> str | None:
    if not isinstance(data, dict):
        return "not a JSON object"
    if data.get("dpa_manifest") != MANIFEST_VERSION:
        return f"unknown manifest version {data.get('dpa_manifest')!r}"
    if data.get("mode") not in MODES:
        return f"unknown mode {data.get('mode')!r}"
    if data.get("format") not in SHARD_FORMATS:
        return f"unknown shard format {data.get('format')!r}"
    keys = ["world_size", "base_seed", "start", "total"]
    if data["mode"] == "elastic":
        keys.append("epoch")
    for key in keys:
        if not _is_count(data.get(key)):
            return f"{key!r} must be an int >= 0, got {data.get(key)!r}"
    if data["world_size"] < 1:
        return "'world_size' must be >= 1"
    try:
        AugmentationConfig.from_dict(data.get("config"))  # type: ignore[arg-type]
    except (TypeError, ValueError, AttributeError) as exc:
        return f"invalid config: {_one_line(exc)}"
    shards = data.get("shards")
    if not isinstance(shards, list):
        return "'shards' must be a list"
    for index, entry in enumerate(shards):
        if not isinstance(entry, dict):
            return f"shard {index} is not an object"
        for key in ("rank", "start_id", "end_id", "count"):
            if not _is_count(entry.get(key)):
                return f"shard {index}: {key!r} must be an int >= 0, got {entry.get(key)!r}"
        name = entry.get("file")
        if not isinstance(name, str) or not _SHARD_FILE.match(name):
            return f"shard {index}: 'file' must be a shard file name, got {name!r}"
        digest = entry.get("sha256")
        if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
            return f"shard {index}: 'sha256' must be 64 hex digits"
        if entry["end_id"] < entry["start_id"]:
            return f"shard {index}: end_id < start_id"
    return None


def _in_id_order(shards: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(shards, key=lambda e: (e["start_id"], e["rank"]))


def _ids(entry: dict[str, Any]) -> str:
    lo, hi = entry["start_id"], entry["end_id"]
    return "no ids" if hi == lo else f"ids {lo}..{hi - 1}"


def check_shards(
    folder: PathLike, manifest: dict[str, Any] | None = None, *, checksums: bool = True
) -> list[str]:
    """What keeps a sharded output from being complete, as sentences (``[]`` when
    nothing does): ranks and id ranges against the manifest (every rank once, the
    ranges covering ``start .. start+total-1`` once), shard files missing, extra
    (duplicates named), or changed (SHA-256, with ``checksums=True``), and each
    shard's metadata against the manifest. Values are not recomputed here (see
    :func:`verify_shards`)."""
    folder = Path(folder)
    if manifest is None:
        manifest = read_manifest(folder)
    shards: list[dict[str, Any]] = manifest["shards"]
    problems: list[str] = []
    world_size = manifest["world_size"]

    # ranks: each of 0 .. world_size-1 once
    by_rank: dict[int, list[dict[str, Any]]] = {}
    for entry in shards:
        by_rank.setdefault(entry["rank"], []).append(entry)
    for rank in sorted(by_rank):
        names = [e["file"] for e in by_rank[rank]]
        if rank >= world_size:
            problems.append(f"shard {names[0]}: rank {rank} is not below world size {world_size}")
        if len(names) > 1:
            problems.append(f"duplicated shard: rank {rank} has {len(names)} ({', '.join(names)})")
    missing_ranks = [r for r in range(world_size) if r not in by_rank]
    if missing_ranks:
        problems.append(f"the manifest lists no shard for rank(s) {_short_list(missing_ranks)}")
    files = [e["file"] for e in shards]
    for name in sorted({n for n in files if files.count(n) > 1}):
        problems.append(f"duplicated shard: {name} is listed {files.count(name)} times")

    # id ranges: start .. start+total-1, each once
    problems.extend(_coverage_problems(shards, manifest["start"], manifest["total"]))
    counted = sum(e["count"] for e in shards)
    for entry in shards:
        if entry["count"] != entry["end_id"] - entry["start_id"]:
            problems.append(
                f"shard {entry['file']}: count {entry['count']} but {_ids(entry)} in the manifest"
            )
    if counted != manifest["total"] and not problems:
        problems.append(f"the shards hold {counted} samples, the run {manifest['total']}")

    # files on disk
    listed = {e["file"]: e for e in shards}
    on_disk = {p.name: p for p in _shard_files(folder)}
    digests: dict[str, str] = {}
    for name, entry in listed.items():
        path = folder / name
        if name not in on_disk:
            problems.append(f"missing shard {name} (rank {entry['rank']}, {_ids(entry)})")
            continue
        if checksums:
            digests[name] = file_sha256(path)
            if digests[name] != entry["sha256"]:
                problems.append(
                    f"checksum mismatch: {name} is not the file the run wrote "
                    "(changed or replaced after the run)"
                )
        problems.extend(_shard_metadata_problems(path, entry, manifest))
    by_digest = {entry["sha256"]: name for name, entry in listed.items()}
    for name in sorted(set(on_disk) - set(listed)):
        copy = by_digest.get(file_sha256(on_disk[name])) if checksums else None
        what = f"a copy of {copy}" if copy else "not in the manifest"
        problems.append(f"extra shard {name}: {what} (duplicated or left from another run)")
    return problems


def _short_list(values: Sequence[int], limit: int = 8) -> str:
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def _coverage_problems(shards: Sequence[dict[str, Any]], start: int, total: int) -> list[str]:
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


def _shard_metadata_problems(
    path: Path, entry: dict[str, Any], manifest: dict[str, Any]
) -> list[str]:
    try:
        file = read_augmentation_file(path)
    except (DPAFileError, OSError) as exc:
        return [f"unreadable shard: {_one_line(exc)}"]
    meta = file.metadata
    expected = _key_metadata(
        manifest["mode"],
        entry["rank"],
        manifest["world_size"],
        manifest["base_seed"],
        manifest.get("epoch", 0),
    )
    problems = []
    for key, value in expected.items():
        if meta.get(key) != value:
            problems.append(
                f"shard {path.name}: its {key} {meta.get(key)!r} is not the run's {value!r}"
            )
    if manifest["mode"] == "elastic" and meta.get("distributed_info"):
        problems.append(f"shard {path.name}: rank-aware, but the run is elastic")
    if meta.get("config") != manifest["config"]:
        problems.append(f"shard {path.name}: another config than the manifest's")
    if file.num_samples is not None and file.num_samples != entry["count"]:
        problems.append(
            f"shard {path.name}: holds {file.num_samples} samples, "
            f"the manifest says {entry['count']}"
        )
    if entry["count"] and meta.get("start_id") != entry["start_id"]:
        problems.append(
            f"shard {path.name}: starts at id {meta.get('start_id')!r}, "
            f"the manifest says {entry['start_id']}"
        )
    return problems


@dataclass
class ShardsReport:
    """What :func:`verify_shards` found: completeness problems, and each shard's
    :class:`~dpa.VerifyReport` (values)."""

    path: str
    manifest: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)
    shards: list[VerifyReport] = field(default_factory=list)

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
    folder = Path(folder)
    manifest = read_manifest(folder)
    report = ShardsReport(str(folder), manifest)
    report.problems.extend(check_shards(folder, manifest))
    for entry in _in_id_order(manifest["shards"]):
        path = folder / entry["file"]
        if not path.is_file():
            continue
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
            report.problems.append(f"cannot verify {entry['file']}: {_one_line(exc)}")
            continue
        report.shards.append(shard_report)
    return report


# --------------------------------------------------------------------------- merging


def merge_shards(
    folder: PathLike,
    target: PathLike,
    *,
    format: str | None = None,
    include_stats: bool = True,
    batch_size: int = 65536,
    progress: Callable[[int], Any] | None = None,
) -> AugmentationWriter:
    """Join a complete sharded output into one file, in sample order (streaming,
    constant memory, atomic); return the closed writer (``count``, ``metadata``).

    The merged file keeps the run's mode: an elastic run gives a plain elastic file
    (``elastic_info``; the same records whatever the world size); a rank-aware run
    of one rank a plain rank-aware file; a rank-aware run of several ranks a file
    whose records each keep their ``rank``, with ``distributed_info =
    {"per_record_rank": true, "world_size", "base_seed"}``. Each verifies with
    :func:`dpa.verify_augmentation_file`.

    Raises :class:`ShardError` when the folder is not complete (see
    :func:`check_shards`).
    """
    folder = Path(folder)
    target = Path(target)
    fmt = detect_format(target, format)
    manifest = read_manifest(folder)
    problems = check_shards(folder, manifest)
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise ShardError(f"{folder}: {problems[0]}{more}; `dpa verify {folder}` names them all")
    world_size, base_seed = manifest["world_size"], manifest["base_seed"]
    per_record = manifest["mode"] == "rank_aware" and world_size > 1
    if manifest["mode"] == "elastic":
        keys = _key_metadata("elastic", 0, world_size, base_seed, manifest["epoch"])
    elif per_record:
        info = {"per_record_rank": True, "world_size": world_size, "base_seed": base_seed}
        keys = {"distributed_info": info}
    else:
        keys = _key_metadata("rank_aware", 0, 1, base_seed, 0)
    config = AugmentationConfig.from_dict(manifest["config"])
    with AugmentationWriter(
        target,
        config,
        format=fmt,
        include_stats=include_stats,
        extra_metadata={"start_id": manifest["start"]},
        **keys,
    ) as writer:
        for entry in _in_id_order(manifest["shards"]):
            if entry["count"] == 0:
                continue
            path = folder / entry["file"]
            expected = entry["start_id"]
            for batch in read_augmentation_file(path).iter_batches(batch_size):
                if batch.sample_id.tolist() != list(range(expected, expected + len(batch))):
                    raise ShardError(f"{path}: the sample ids are not {_ids(entry)} in order")
                expected += len(batch)
                writer.write(batch.with_rank(entry["rank"]) if per_record else batch)
                if progress is not None:
                    progress(len(batch))
            if expected != entry["end_id"]:
                raise ShardError(
                    f"{path}: ends at id {expected - 1}, expected {entry['end_id'] - 1}"
                )
    return writer


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())
