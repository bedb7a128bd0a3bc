"""Saving and loading parameter files: atomic, streaming, resumable writes.

The formats themselves are described in :mod:`dpa._formats`, how a file gets into
place in :mod:`dpa._lifecycle`. Every writer here streams (constant memory,
statistics online) into a temporary file in the target's folder and renames it into
place only when complete, so the target never holds a half-written file. Resumable
writers keep an interrupted run's progress beside the target (see
:func:`partial_path`) for a later run to continue, which recomputes the records it
finds there and keeps only those that match.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from ._config import PARAM_NAMES, AugmentationConfig
from ._formats.common import (
    READ_BLOCK,
    PathLike,
    brief,
    checked_records,
    detect_format,
    new_metadata,
    utc_now,
)
from ._formats.files import FILE_FORMATS, AugmentationFile, read_augmentation_file
from ._formats.interface import Resume
from ._generate import _check_bounds, generate_batch, iter_batches, regroup
from ._keys import KeyScheme, PerRecordRankScheme, check_scheme, scheme_from_metadata
from ._lifecycle import PendingFile, partial_path, raise_naming, write_atomic
from ._parambatch import ParamBatch
from ._stats import RunningStatistics
from ._validate import check_path

__all__ = [
    "AugmentationWriter",
    "load_augmentation_chain",
    "load_augmentation_stream",
    "partial_path",
    "save_augmentation_chain",
    "save_augmentation_stream",
    "write_atomic",
    "write_range",
]

logger = logging.getLogger(__name__)

#: Metadata entries that must match for a partial output to be continued (and the
#: key scheme, compared as a scheme).
_RESUME_KEYS = ("format", "config", "start_id", "shard")


class AugmentationWriter:
    """Write parameters to ``path`` in chunks, atomically.

    Data goes to a temporary file in the same folder; :meth:`close` completes it
    and renames it into place. Leaving the ``with`` block through an exception
    discards it, so ``path`` never holds a half-written file.

    With ``resumable=True`` (JSON Lines and Parquet) the progress is kept in
    :func:`partial_path` and survives an interruption; a later writer with
    ``resume=True`` and the same metadata continues it, and :attr:`resumed_count`
    says how many records were already there. Those are recomputed first: the
    partial output is cut at the first that differs (edited or damaged), and the
    run writes it again from there.

    Example:
        >>> import tempfile, os, dpa
        >>> target = os.path.join(tempfile.mkdtemp(), "p.jsonl")
        >>> with AugmentationWriter(target) as writer:
        ...     writer.write(dpa.generate_batch(range(10)))
        >>> dpa.read_augmentation_file(target).num_samples
        10
    """

    def __init__(
        self,
        path: PathLike,
        config: AugmentationConfig | None = None,
        *,
        format: str | None = None,
        include_stats: bool = True,
        distributed_info: dict[str, int] | None = None,
        elastic_info: dict[str, int] | None = None,
        extra_metadata: dict[str, Any] | None = None,
        resumable: bool = False,
        resume: bool = False,
        scheme: KeyScheme | None = None,
    ) -> None:
        self.path = check_path(path)
        self.format = detect_format(self.path, format)
        file_format = FILE_FORMATS[self.format]
        if config is None:
            config = AugmentationConfig()
        if not isinstance(config, AugmentationConfig):
            raise TypeError(f"config must be an AugmentationConfig, got {type(config).__name__}")
        self.config = config
        self.include_stats = bool(include_stats)
        self.resumable = bool(resumable or resume)
        if self.resumable and not file_format.resumable:
            can = " or ".join(name for name, fmt in FILE_FORMATS.items() if fmt.resumable)
            raise ValueError(f"resumable output needs the {can} format, not {self.format}")
        #: The key scheme of the records, recorded in the metadata.
        self.scheme = _writer_scheme(scheme, distributed_info, elastic_info)
        self.metadata = new_metadata(self.format, config, self.scheme, extra_metadata)
        #: Each record carries its rank (a merged rank-aware file).
        self.per_record_rank = isinstance(self.scheme, PerRecordRankScheme)
        self.count = 0
        #: Records found in a continued partial output (0 for a fresh start).
        self.resumed_count = 0
        self.statistics = RunningStatistics()
        self._closed = False
        folder = self.path.parent
        if not folder.is_dir():
            raise FileNotFoundError(f"{self.path}: folder {str(folder)!r} does not exist")
        if self.path.is_dir():
            raise IsADirectoryError(f"{self.path}: is a folder, not a file")
        self._pending = PendingFile(
            self.path,
            resumable=self.resumable,
            folder=file_format.partial_is_folder,
            start_over=not resume,
        )
        #: An interrupted run's partial output was there and this writer started it
        #: over (``resume`` not asked for).
        self.started_over = self._pending.existed and not resume
        try:
            taken = Resume(self._check_resumable, self._take_resumed) if resume else None
            self._sink, self.resumed_count = file_format.open_sink(
                self._pending, self.metadata, taken
            )
        except BaseException as exc:
            self._release(discard=not self.resumable)
            raise_naming(exc, self.path)
        self.count = self.resumed_count
        if self.resumed_count:
            logger.info("resuming %s after %d records", self.path, self.resumed_count)

    @property
    def tmp_path(self) -> Path:
        """Where the output is written until complete (the partial path when resumable)."""
        return self._pending.path

    def _check_resumable(self, found: dict[str, Any]) -> None:
        for key in _RESUME_KEYS:
            if found.get(key) != self.metadata.get(key):
                self._refuse_resume(key, found.get(key), self.metadata.get(key))
        try:
            theirs: KeyScheme | None = scheme_from_metadata(found)
        except (TypeError, ValueError):
            theirs = None
        if theirs != self.scheme:
            self._refuse_resume("key scheme", theirs, self.scheme)
        self.metadata["generation_time"] = found.get("generation_time", utc_now())

    def _refuse_resume(self, what: str, theirs: Any, ours: Any) -> NoReturn:
        raise ValueError(
            f"{self.tmp_path}: the interrupted output was made with another {what} "
            f"({brief(theirs)}, now {brief(ours)}); run without resuming to start over"
        )

    def _take_resumed(self, block: ParamBatch | list[dict[str, Any]]) -> int:
        """How many of the first records of ``block`` (consecutive ids of a partial
        output) equal their recomputation; those are kept (and counted in the
        statistics), the rest written again."""
        if self.per_record_rank:  # a rank per record: not resumed (write_range refuses)
            return 0
        found = block if isinstance(block, ParamBatch) else ParamBatch.from_dicts(block)
        if not len(found):
            return 0
        first = int(found.sample_id[0])
        expected = generate_batch(range(first, first + len(found)), self.config, scheme=self.scheme)
        kept = _matching(found, expected)
        self.statistics.update_batch(found[:kept])
        return kept

    def _reserve_ids(self, last_id: int) -> None:
        """Say that ids up to ``last_id`` will be written (a Parquet id column is
        then wide enough for all of them from the first batch on)."""
        self._sink.reserve_ids(last_id)

    def write(self, batch: ParamBatch | Sequence[dict[str, Any]]) -> None:
        """Append a :class:`ParamBatch` or a list of parameter dicts."""
        if self._closed:
            raise ValueError(f"{self.path}: writer is closed")
        if not isinstance(batch, ParamBatch):
            batch = _records_to_batch(batch, self.count, rank=self.per_record_rank)
        if isinstance(self.scheme, PerRecordRankScheme):
            self._check_ranks(batch, self.scheme.world_size)
        elif batch.rank is not None:
            batch = batch.with_rank(None)  # a rank column only where the metadata says so
        try:
            self._sink.write(batch)
        except OSError as exc:
            raise_naming(exc, self.path)
        if self.include_stats:
            self.statistics.update_batch(batch)
        self.count += len(batch)

    def _check_ranks(self, batch: ParamBatch, world_size: int) -> None:
        if batch.rank is None:
            raise ValueError(
                f"{self.path}: this file keeps a rank per record (per_record_rank); "
                "write batches with a rank column or dicts with 'rank'"
            )
        if len(batch) and not (batch.rank.min() >= 0 and batch.rank.max() < world_size):
            raise ValueError(f"{self.path}: a record's rank is not in 0 .. {world_size - 1}")

    def close(self) -> None:
        """Finish the file and rename it into place."""
        if self._closed:
            return
        try:
            stats = self.statistics.result() if self.include_stats else None
            self._pending.commit(self._sink.finish(self.count, stats))
        except BaseException as exc:
            self._release(discard=not self.resumable)
            raise_naming(exc, self.path)
        self._release(discard=True)
        logger.info("wrote %d samples to %s", self.count, self.path)

    def abort(self) -> None:
        """Stop without writing ``path``. A resumable writer keeps its progress for a
        later ``resume=True``; any other discards its temporary file."""
        self._release(discard=not self.resumable)

    def _release(self, discard: bool) -> None:
        self._closed = True
        sink = getattr(self, "_sink", None)
        if sink is not None:
            sink.close()
        self._pending.release(discard=discard)

    def __enter__(self) -> AugmentationWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _matching(found: ParamBatch, expected: ParamBatch) -> int:
    """How many of the first records of ``found`` equal those of ``expected`` (ids,
    the five parameters bit for bit, hashes)."""
    differs = np.asarray(found.sample_id != expected.sample_id, dtype=bool)
    for name in PARAM_NAMES:
        differs |= getattr(found, name).view(np.uint64) != getattr(expected, name).view(np.uint64)
    differs |= found.hash != expected.hash
    return int(np.argmax(differs)) if differs.any() else len(found)


def _writer_scheme(scheme: Any, distributed_info: Any, elastic_info: Any) -> KeyScheme:
    """The writer's scheme: ``scheme``, or the one its metadata entries describe."""
    if distributed_info is None and elastic_info is None:
        return check_scheme(scheme)
    if scheme is not None:
        raise ValueError("give scheme= or distributed_info=/elastic_info=, not both")
    for name, entry in (("distributed_info", distributed_info), ("elastic_info", elastic_info)):
        if entry is not None and not isinstance(entry, dict):
            raise TypeError(f"{name} must be a dict, got {type(entry).__name__}")
    entries = {"distributed_info": distributed_info, "elastic_info": elastic_info}
    return scheme_from_metadata({k: v for k, v in entries.items() if v is not None})


def _records_to_batch(records: Any, start_position: int, *, rank: bool = False) -> ParamBatch:
    if isinstance(records, dict) or not isinstance(records, Sequence):
        raise TypeError(f"expected a ParamBatch or a list of parameter dicts, got {records!r:.80}")
    try:
        return ParamBatch.from_dicts(checked_records(records), start_position, rank=rank)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"not a list of parameter dicts: {exc}") from None


def save_augmentation_stream(
    stream: Iterable[Any],
    path: PathLike,
    config: AugmentationConfig | None = None,
    include_stats: bool = True,
    *,
    format: str | None = None,
    distributed_info: dict[str, int] | None = None,
    elastic_info: dict[str, int] | None = None,
    scheme: KeyScheme | None = None,
) -> int:
    """Write a stream of parameters to ``path`` in constant memory; return the count.

    ``stream`` yields dicts, lists of dicts (``chunk_size`` streams) or
    :class:`ParamBatch` objects. The format follows the suffix unless ``format``
    is given. ``scheme`` names the key scheme the records were made with, for the
    metadata (``distributed_info``/``elastic_info`` are its older spelling).

    Example:
        >>> import tempfile, os, dpa
        >>> target = os.path.join(tempfile.mkdtemp(), "p.json")
        >>> save_augmentation_stream(dpa.stream_augmentation_chain(100), target)
        100
    """
    blocks = regroup(stream, READ_BLOCK)
    with AugmentationWriter(
        path,
        config,
        scheme=scheme,
        format=format,
        include_stats=include_stats,
        distributed_info=distributed_info,
        elastic_info=elastic_info,
    ) as writer:
        for block in blocks:
            writer.write(block)
    return writer.count


def save_augmentation_chain(
    params: Sequence[dict[str, Any]] | ParamBatch,
    path: PathLike,
    config: AugmentationConfig | None = None,
    include_stats: bool = True,
    *,
    scheme: KeyScheme | None = None,
    format: str | None = None,
    distributed_info: dict[str, int] | None = None,
    elastic_info: dict[str, int] | None = None,
) -> None:
    """Write a list of parameter dicts (or a :class:`ParamBatch`) to ``path``, as
    :func:`save_augmentation_stream` writes a stream (the same options).

    Example:
        >>> import tempfile, os, dpa
        >>> target = os.path.join(tempfile.mkdtemp(), "chain.json")
        >>> save_augmentation_chain(dpa.generate_augmentation_chain(5), target)
        >>> len(load_augmentation_chain(target))
        5
    """
    if isinstance(params, ParamBatch):
        chunks: Iterable[Any] = [params]
    elif isinstance(params, Sequence) and not isinstance(params, str | bytes):
        chunks = [params[i : i + READ_BLOCK] for i in range(0, len(params), READ_BLOCK)]
    else:
        raise TypeError(f"params must be a list of parameter dicts, got {type(params).__name__}")
    save_augmentation_stream(
        chunks,
        path,
        config,
        include_stats,
        scheme=scheme,
        format=format,
        distributed_info=distributed_info,
        elastic_info=elastic_info,
    )


def load_augmentation_chain(path: PathLike) -> list[dict[str, Any]]:
    """Every record of a parameter file, as a list of dicts (with ``sample_id``).

    Example:
        >>> import tempfile, os, dpa
        >>> target = os.path.join(tempfile.mkdtemp(), "c.parquet")
        >>> dpa.save_augmentation_chain(dpa.generate_batch(range(4)), target)
        >>> [r["sample_id"] for r in load_augmentation_chain(target)]
        [0, 1, 2, 3]
    """
    return list(read_augmentation_file(path).iter_records())


def load_augmentation_stream(path: PathLike, chunk_size: int | None = None) -> Iterator[Any]:
    """Read a parameter file incrementally: dicts, or lists of ``chunk_size`` dicts.

    The file is never read into memory whole; problems raise :class:`DPAFileError`
    when reached.
    """
    if chunk_size is not None and (
        isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1
    ):
        raise ValueError(f"chunk_size must be an int >= 1, got {chunk_size!r}")
    file = read_augmentation_file(path)
    return _load_stream(file, chunk_size)


def _load_stream(file: AugmentationFile, chunk_size: int | None) -> Iterator[Any]:
    if chunk_size is None:
        yield from file.iter_records()
    else:
        for batch in file.iter_batches(chunk_size):
            yield batch.to_dicts()


def write_range(
    path: PathLike,
    start_id: int,
    end_id: int,
    config: AugmentationConfig | None = None,
    *,
    format: str | None = None,
    include_stats: bool = True,
    batch_size: int = 65536,
    progress: Callable[[int], object] | None = None,
    resumable: bool = False,
    resume: bool = False,
    workers: int = 1,
    distributed_info: dict[str, int] | None = None,
    elastic_info: dict[str, int] | None = None,
    extra_metadata: dict[str, Any] | None = None,
    scheme: KeyScheme | None = None,
) -> AugmentationWriter:
    """Generate ids ``start_id .. end_id-1`` straight into a file (columnar, atomic).

    With ``resume=True`` an interrupted resumable run of the same output, config
    and start is continued where it stopped. ``progress(n)`` is called with the
    number of records done after each batch (first with those resumed); ``workers``
    threads share each batch (native backend). Returns
    the closed writer (``count``, ``resumed_count``, ``statistics``).

    ``scheme`` picks the keys and is recorded in the metadata, as
    :func:`dpa.verify_augmentation_file` reads it back (``distributed_info`` /
    ``elastic_info``, the metadata's own spelling of a scheme, are accepted too).
    ``extra_metadata`` goes into the file's metadata as well.
    """
    start_id, end_id = _check_bounds(start_id, end_id)
    writer = AugmentationWriter(
        path,
        config,
        format=format,
        include_stats=include_stats,
        distributed_info=distributed_info,
        elastic_info=elastic_info,
        extra_metadata={**(extra_metadata or {}), "start_id": start_id},
        resumable=resumable,
        resume=resume,
        scheme=scheme,
    )
    with writer:
        if end_id > start_id:
            writer._reserve_ids(end_id - 1)
        first = start_id + writer.resumed_count
        if writer.resumed_count > end_id - start_id:
            raise ValueError(
                f"{writer.tmp_path}: the interrupted output already holds "
                f"{writer.resumed_count} samples, more than the {end_id - start_id} asked for"
            )
        if progress is not None and writer.resumed_count:
            progress(writer.resumed_count)
        if writer.per_record_rank:
            raise ValueError("write_range writes one rank's samples: give that rank")
        batches = iter_batches(
            first, end_id, writer.config, batch_size, workers=workers, scheme=writer.scheme
        )
        for batch in batches:
            writer.write(batch)
            if progress is not None:
                progress(len(batch))
    return writer
