"""The manifest of a sharded run, ``_manifest.json``: what the run was, and which
shards it wrote.

Written last, atomically (:func:`dpa._io.write_atomic`), by rank 0 once every shard
is complete: a folder without one is an unfinished run. It records the run (mode,
world size, base seed, for an elastic run its epoch and key version; format,
config, start, total) and, for every shard, its file, rank, id range, count and the
SHA-256 of the file::

    {"dpa_manifest": 1, "version": "...", "generation_time": "...",
     "mode": "elastic", "world_size": 2, "base_seed": 0, "epoch": 3,
     "key_version": "dpa-elastic-v1", "format": "jsonl", "config": {...},
     "start": 0, "total": 10,
     "shards": [{"file": "part-00000.jsonl", "rank": 0, "start_id": 0,
                 "end_id": 5, "count": 5, "sha256": "..."}, ...]}

The run's keys are kept as their scheme's fields (:func:`manifest_scheme` builds
rank ``r``'s scheme back), so the manifest says nothing of its own about the modes.

Example:
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> entry = {"file": "part-00000.jsonl", "rank": 0, "start_id": 0, "end_id": 0,
    ...          "count": 0, "sha256": "0" * 64}
    >>> written = write_manifest(folder, [entry], None, num_samples=0, mode="elastic")
    >>> manifest_scheme(read_manifest(folder), rank=0)
    ElasticScheme(base_seed=0, epoch=0)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .._config import AugmentationConfig
from .._formats import DPAFileError, PathLike
from .._formats.common import utc_now
from .._keys import KeyScheme
from .._lifecycle import write_atomic
from .._system import package_version
from .._validate import check_int, check_path
from .messages import one_line
from .plan import (
    MAX_WORLD_SIZE,
    SHARD_FORMATS,
    check_format,
    is_shard_file,
    shard_files,
    shard_scheme,
)

__all__ = [
    "MANIFEST_NAME",
    "MANIFEST_VERSION",
    "file_sha256",
    "is_shard_folder",
    "manifest_problem",
    "manifest_scheme",
    "read_manifest",
    "write_manifest",
]

MANIFEST_NAME = "_manifest.json"
MANIFEST_VERSION = 1
#: What the manifest keeps of each shard's entry (as :func:`~dpa._shards.write_shard`
#: returns it), in this order.
ENTRY_FIELDS = ("file", "rank", "start_id", "end_id", "count", "sha256")
#: The manifest's fields that :func:`~dpa._shards.plan.shard_scheme` takes.
_SCHEME_ARGUMENTS = ("world_size", "base_seed", "epoch")
_READ_CHUNK = 1 << 20
#: The largest manifest read: one of :data:`MAX_WORLD_SIZE` ranks is about 230 MB.
MAX_MANIFEST_BYTES = 512 << 20
_SHA256 = re.compile("[0-9a-f]{64}")


def file_sha256(path: PathLike) -> str:
    """The SHA-256 of a file's bytes, read in chunks (hex).

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "empty"
        >>> _ = path.write_bytes(b"")
        >>> file_sha256(path)[:16]
        'e3b0c44298fc1c14'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- keys


def manifest_scheme(manifest: Mapping[str, Any], rank: int) -> KeyScheme:
    """The key scheme of ``rank``'s shard of the run a manifest describes.

    ValueError (or TypeError) when the manifest's keys are not a sharded run's, or
    ``rank`` is not in its world.

    Example:
        >>> manifest_scheme({"mode": "rank_aware", "world_size": 2, "base_seed": 4}, 1)
        RankAwareScheme(base_seed=4, rank=1, world_size=2)
    """
    # a field the mode needs and the manifest lacks is None: refused by the scheme
    fields: dict[str, Any] = {key: manifest.get(key) for key in _SCHEME_ARGUMENTS}
    return shard_scheme(manifest.get("mode"), rank=rank, **fields)


def _scheme_fields(scheme: KeyScheme) -> dict[str, Any]:
    """What the manifest records of a run's keys: the scheme's mode, and its metadata
    entry's fields, but the rank (each shard's own), in name order."""
    fields: dict[str, Any] = {"mode": scheme.mode}
    for entry in scheme.to_metadata().values():
        fields.update(sorted((key, value) for key, value in entry.items() if key != "rank"))
    return fields


# --------------------------------------------------------------------------- writing


def write_manifest(
    folder: PathLike,
    shards: Sequence[Mapping[str, Any]],
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
    :func:`~dpa._shards.write_shard` returns them, one per rank) and return it."""
    scheme = shard_scheme(mode, rank=0, world_size=len(shards), base_seed=base_seed, epoch=epoch)
    config = config if config is not None else AugmentationConfig()
    manifest: dict[str, Any] = {
        "dpa_manifest": MANIFEST_VERSION,
        "version": package_version(),
        "generation_time": utc_now(),
        "mode": scheme.mode,  # these three first, where dpa has always written them
        "world_size": len(shards),
        **_scheme_fields(scheme),
        "format": check_format(format),
        "config": config.to_dict(),
        "start": check_int(start, "start"),
        "total": check_int(num_samples, "num_samples"),
        "shards": [
            {key: entry[key] for key in ENTRY_FIELDS}
            for entry in sorted(shards, key=lambda e: int(e["rank"]))
        ],
    }
    text = json.dumps(manifest, indent=2) + "\n"
    write_atomic(check_path(folder, "folder") / MANIFEST_NAME, text.encode("utf-8"))
    return manifest


# --------------------------------------------------------------------------- reading


def is_shard_folder(path: PathLike) -> bool:
    """True when ``path`` is a folder holding a manifest or shard files.

    Example:
        >>> import tempfile
        >>> is_shard_folder(tempfile.mkdtemp())
        False
    """
    folder = Path(path)
    if not folder.is_dir():
        return False
    return (folder / MANIFEST_NAME).exists() or bool(shard_files(folder))


def read_manifest(folder: PathLike) -> dict[str, Any]:
    """The manifest of a sharded output, checked for shape; raises
    :class:`~dpa.DPAFileError` when it is missing or malformed."""
    path = check_path(folder, "folder") / MANIFEST_NAME
    try:
        data = json.loads(_manifest_text(path))
    except FileNotFoundError:
        raise DPAFileError(
            path, "no manifest: the run did not finish, or this is not a dpa shard folder"
        ) from None
    except RecursionError:
        raise DPAFileError(path, "unreadable manifest: JSON nested too deeply") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DPAFileError(path, f"unreadable manifest: {_reason(exc)}") from None
    problem = manifest_problem(data)
    if problem:
        raise DPAFileError(path, f"malformed manifest: {problem}")
    return data  # type: ignore[no-any-return]


def _manifest_text(path: Path) -> str:
    """The manifest's text, read only from a regular file of at most
    :data:`MAX_MANIFEST_BYTES` (a FIFO or a device would block or never end);
    OSError or ValueError saying why not."""
    # O_NONBLOCK: opening a FIFO does not wait for a writer (no effect on a file)
    with os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:
        status = os.fstat(handle.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise ValueError("not a regular file")
        if status.st_size > MAX_MANIFEST_BYTES:
            raise ValueError(
                f"{status.st_size:,} bytes, more than a manifest of {MAX_WORLD_SIZE:,} ranks"
            )
        return handle.read(MAX_MANIFEST_BYTES + 1).decode("utf-8")


def _reason(exc: BaseException) -> str:
    """Why a manifest could not be read, in a user's words (Python's limit on the
    digits of an int advises a Python call: say what is wrong instead)."""
    text = one_line(exc)
    if "integer string conversion" in text:
        return "a number of more than 4300 digits"
    return text


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _count_problem(data: Mapping[str, Any], keys: Sequence[str], where: str = "") -> str | None:
    for key in keys:
        if not _is_count(data.get(key)):
            return f"{where}{key!r} must be an int >= 0, got {data.get(key)!r}"
    return None


def manifest_problem(data: Any) -> str | None:
    """What is wrong with a manifest's shape, or None.

    Example:
        >>> manifest_problem({"dpa_manifest": 1, "format": "csv"})
        "unknown shard format 'csv'"
    """
    if not isinstance(data, dict):
        return "not a JSON object"
    if data.get("dpa_manifest") != MANIFEST_VERSION:
        return f"unknown manifest version {data.get('dpa_manifest')!r}"
    if data.get("format") not in SHARD_FORMATS:
        return f"unknown shard format {data.get('format')!r}"
    problem = _count_problem(data, ("world_size", "base_seed", "start", "total"))
    if problem:
        return problem
    return _keys_problem(data) or _config_problem(data) or _shards_problem(data.get("shards"))


def _keys_problem(data: Mapping[str, Any]) -> str | None:
    try:
        scheme = manifest_scheme(data, rank=0)
    except (TypeError, ValueError) as exc:
        return one_line(exc)
    for key, value in _scheme_fields(scheme).items():
        if key in data and data[key] != value:
            return f"{key!r} is {data[key]!r}, but {scheme.mode} keys have {value!r}"
    return None


def _config_problem(data: Mapping[str, Any]) -> str | None:
    try:
        AugmentationConfig.from_dict(data.get("config"))  # type: ignore[arg-type]
    except (TypeError, ValueError, AttributeError) as exc:
        return f"invalid config: {one_line(exc)}"
    return None


def _shards_problem(shards: Any) -> str | None:
    if not isinstance(shards, list):
        return "'shards' must be a list"
    for index, entry in enumerate(shards):
        where = f"shard {index}: "
        if not isinstance(entry, dict):
            return f"shard {index} is not an object"
        problem = _count_problem(entry, ("rank", "start_id", "end_id", "count"), where)
        if problem:
            return problem
        name = entry.get("file")
        if not isinstance(name, str) or not is_shard_file(name):
            return f"{where}'file' must be a shard file name, got {name!r}"
        digest = entry.get("sha256")
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            return f"{where}'sha256' must be 64 hex digits"
        if entry["end_id"] < entry["start_id"]:
            return f"{where}end_id < start_id"
    return None
