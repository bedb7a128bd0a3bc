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

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .._config import AugmentationConfig
from .._errors import ShardError
from .._formats import PathLike, detect_format, read_augmentation_file
from .._io import AugmentationWriter
from .._keys import KeyScheme, PerRecordRankScheme
from .._validate import check_path
from .check import check_shards, in_id_order
from .manifest import manifest_scheme, read_manifest
from .messages import id_range

__all__ = ["merge_shards", "merged_scheme"]


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

    Raises :class:`~dpa.ShardError` when the folder is not complete (see
    :func:`~dpa.check_shards`), :class:`~dpa.DPAFileError` when its manifest is
    missing or malformed.
    """
    folder = check_path(folder, "folder")
    target = check_path(target, "target")
    fmt = detect_format(target, format)
    manifest = read_manifest(folder)
    problems = check_shards(folder, manifest)
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise ShardError(f"{folder}: {problems[0]}{more}; `dpa verify {folder}` names them all")
    with AugmentationWriter(
        target,
        AugmentationConfig.from_dict(manifest["config"]),
        format=fmt,
        include_stats=include_stats,
        extra_metadata={"start_id": manifest["start"]},
        scheme=merged_scheme(manifest),
    ) as writer:
        for entry in in_id_order(manifest["shards"]):
            if entry["count"]:
                _copy_shard(writer, folder / entry["file"], entry, batch_size, progress)
    return writer


def _copy_shard(
    writer: AugmentationWriter,
    path: Path,
    entry: Mapping[str, Any],
    batch_size: int,
    progress: Callable[[int], Any] | None,
) -> None:
    """Append a shard's records to ``writer``, checking that its ids are the
    entry's, in order (ShardError otherwise); each keeps its rank where the merged
    file keys records by rank."""
    expected = entry["start_id"]
    for batch in read_augmentation_file(path).iter_batches(batch_size):
        if batch.sample_id.tolist() != list(range(expected, expected + len(batch))):
            raise ShardError(f"{path}: the sample ids are not {id_range(entry)} in order")
        expected += len(batch)
        writer.write(batch.with_rank(entry["rank"]) if writer.per_record_rank else batch)
        if progress is not None:
            progress(len(batch))
    if expected != entry["end_id"]:
        raise ShardError(f"{path}: ends at id {expected - 1}, expected {entry['end_id'] - 1}")
