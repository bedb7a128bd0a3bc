"""Join the shards of a complete run into one file, in sample order.

The merged file keeps the run's keys. When every rank draws with the same keys (an
elastic run, or a run of one rank) it is an ordinary file of that scheme, the same
whatever the world size that made it. A rank-aware run of several ranks cannot be
one single-rank file, since each rank draws with its own key: each record keeps its
``rank`` (a ``rank`` column in Parquet, a ``"rank"`` key in JSON) and the metadata
says so, ``distributed_info = {"per_record_rank": true, "world_size", "base_seed"}``
(:class:`~dpa._keys.PerRecordRankScheme`); :func:`dpa.verify_augmentation_file`
recomputes each record with its own rank's key.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from dpa._shards import generate_shards
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = generate_shards(folder / "run", 30, format="jsonl")
    >>> merge_shards(folder / "run", folder / "all.parquet").count
    30
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._config import AugmentationConfig
from .._errors import ShardError
from .._formats import PathLike, detect_format, read_augmentation_file
from .._generate import generate_batch
from .._io import AugmentationWriter
from .._keys import KeyScheme, PerRecordRankScheme
from .._lifecycle import partial_path
from .._parambatch import ParamBatch
from .._validate import check_path
from .check import check_shards, in_id_order
from .manifest import MANIFEST_NAME, manifest_scheme, read_manifest
from .messages import id_range
from .plan import is_shard_file

__all__ = ["check_merge_target", "merge_shards", "merged_scheme"]


def merged_scheme(manifest: Mapping[str, Any]) -> KeyScheme:
    """The key scheme of the merged file of a run: the ranks' one scheme when they
    all draw alike, else each record keyed by its own rank. (A scheme keys by the
    rank or not at all, so the first and last rank tell.)

    Example:
        >>> merged_scheme({"mode": "rank_aware", "world_size": 3, "base_seed": 1})
        PerRecordRankScheme(base_seed=1, world_size=3)
        >>> merged_scheme({"mode": "elastic", "world_size": 3, "base_seed": 1, "epoch": 2})
        ElasticScheme(base_seed=1, epoch=2)
    """
    world_size = manifest["world_size"]
    first, last = (manifest_scheme(manifest, rank) for rank in (0, world_size - 1))
    if first == last:
        return first
    return PerRecordRankScheme(manifest["base_seed"], world_size)


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

    The merged file keeps the run's keys (:func:`merged_scheme`): an elastic run
    gives a plain elastic file (``elastic_info``; the same records whatever the world
    size); a rank-aware run of one rank a plain rank-aware file; a rank-aware run of
    several ranks a file whose records each keep their ``rank``. Each verifies with
    :func:`dpa.verify_augmentation_file`.

    Every record is recomputed from its shard's keys as it is copied: a shard whose
    values were changed after the run (even with its manifest checksum updated)
    stops the merge, and nothing is written.

    Raises :class:`~dpa.ShardError` when the folder is not complete (see
    :func:`~dpa.check_shards`) or a value differs from its recomputation,
    :class:`~dpa.DPAFileError` when its manifest is missing or malformed, ValueError
    when ``target`` is one of the folder's own files (:func:`check_merge_target`).
    """
    folder = check_path(folder, "folder")
    target = check_path(target, "target")
    fmt = detect_format(target, format)
    manifest = read_manifest(folder)
    check_merge_target(folder, target, manifest)
    problems = check_shards(folder, manifest)
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise ShardError(f"{folder}: {problems[0]}{more}; `dpa verify {folder}` names them all")
    config = AugmentationConfig.from_dict(manifest["config"])
    with AugmentationWriter(
        target,
        config,
        format=fmt,
        include_stats=include_stats,
        extra_metadata={"start_id": manifest["start"]},
        scheme=merged_scheme(manifest),
    ) as writer:
        for entry in in_id_order(manifest["shards"]):
            if entry["count"]:
                scheme = manifest_scheme(manifest, entry["rank"])
                shard = _Shard(folder / entry["file"], entry, scheme, config)
                _copy_shard(writer, shard, batch_size, progress)
    return writer


def check_merge_target(folder: Path, target: Path, manifest: Mapping[str, Any]) -> None:
    """ValueError when writing ``target`` would change the shard folder being merged:
    when it is, or is a link to, the folder's manifest, one of its shard files
    (``part-NNNNN.*``, listed or not) or a shard's partial file; or the same file
    (inode) as the manifest or a listed shard. Paths are compared resolved
    (symbolic links, ``..``).

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> check_merge_target(folder, folder / "all.jsonl", {"shards": []})
        >>> check_merge_target(folder, folder / "x" / ".." / "part-00000.jsonl", {"shards": []})
        Traceback (most recent call last):
        ...
        ValueError: ...: merge into a file outside it
    """
    where = Path(os.path.realpath(target))
    if where.parent == Path(os.path.realpath(folder)) and _is_folder_file(where.name):
        raise ValueError(
            f"{target} is the shard folder's own file {where.name}: merge into a file outside it"
        )
    own = [folder / MANIFEST_NAME, *(folder / entry["file"] for entry in manifest["shards"])]
    for path in own:
        with contextlib.suppress(OSError):  # a file that is missing is not the target
            if os.path.samefile(target, path):
                raise ValueError(
                    f"{target} is the same file as {path}: merge into a file outside {folder}"
                )


def _is_folder_file(name: str) -> bool:
    """True for the names of a shard folder's own files: its manifest, its shards,
    and their partial files.

    Example:
        >>> _is_folder_file(".part-00002.parquet.dpa-partial"), _is_folder_file("all.jsonl")
        (True, False)
    """
    inner = name[1:].rsplit(".", 1)[0]  # .part-00002.parquet.dpa-partial: part-00002.parquet
    partial = is_shard_file(inner) and partial_path(inner).name == name
    return name == MANIFEST_NAME or is_shard_file(name) or partial


def _copy_shard(
    writer: AugmentationWriter,
    shard: _Shard,
    batch_size: int,
    progress: Callable[[int], Any] | None,
) -> None:
    """Append a shard's records to ``writer``, checking that its ids are the
    entry's, in order, and that each record is its recomputation (ShardError
    otherwise); each keeps its rank where the merged file keys records by rank."""
    path, entry = shard.path, shard.entry
    expected = entry["start_id"]
    for batch in read_augmentation_file(path).iter_batches(batch_size):
        ids = range(expected, expected + len(batch))
        if batch.sample_id.tolist() != list(ids):
            raise ShardError(f"{path}: the sample ids are not {id_range(entry)} in order")
        shard.check_values(batch, ids)
        expected += len(batch)
        writer.write(batch.with_rank(entry["rank"]) if writer.per_record_rank else batch)
        if progress is not None:
            progress(len(batch))
    if expected != entry["end_id"]:
        raise ShardError(f"{path}: ends at id {expected - 1}, expected {entry['end_id'] - 1}")


@dataclass(frozen=True)
class _Shard:
    """A shard being merged: its file, its manifest entry, the keys it was drawn with."""

    path: Path
    entry: Mapping[str, Any]
    scheme: KeyScheme
    config: AugmentationConfig

    def check_values(self, batch: ParamBatch, ids: range) -> None:
        """ShardError naming the first record of ``batch`` (ids ``ids``) whose values
        are not their recomputation with the shard's keys."""
        stored = batch.with_rank(None)
        fresh = generate_batch(ids, self.config, scheme=self.scheme)
        if stored.equals(fresh):
            return
        row = next(i for i in range(len(ids)) if not stored[i : i + 1].equals(fresh[i : i + 1]))
        raise ShardError(
            f"{self.path}: sample {ids[row]} is not what its keys give (changed after the "
            f"run?); nothing merged: `dpa verify {self.path.parent}` names every difference"
        )
