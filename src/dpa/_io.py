"""Saving and loading parameter files: atomic, streaming, resumable writes.

The formats themselves are described in :mod:`dpa._formats`. Every writer here
streams (constant memory, statistics online) into a temporary file in the target's
folder and renames it into place only when complete, so the target never holds a
half-written file. Resumable writers keep an interrupted run's progress beside the
target (see :func:`partial_path`) for a later run to continue.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import json
import logging
import os
import secrets
import shutil
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, NoReturn

from ._config import AugmentationConfig
from ._core import parse_decimal
from ._formats import (
    FORMAT_VERSION,
    READ_BLOCK,
    AugmentationFile,
    PathLike,
    _arrow_to_batch,
    _checked_records,
    _ParquetSink,
    _record_problem,
    _TextSink,
    detect_format,
    read_augmentation_file,
)
from ._generate import _check_bounds, iter_batches, regroup
from ._keys import KeyScheme, PerRecordRankScheme, check_scheme, scheme_from_metadata
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


def _package_version() -> str:
    from . import __version__

    return __version__


def _utc_now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a folder be opened
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


_PARTIAL_SUFFIX = ".dpa-partial"
#: Metadata fields that must match for a partial output to be continued.
_RESUME_KEYS = ("format", "config", "distributed_info", "elastic_info", "start_id", "shard")


def partial_path(path: PathLike) -> Path:
    """Where an interrupted resumable write of ``path`` keeps its progress."""
    target = Path(path)
    return target.with_name(f".{target.name}{_PARTIAL_SUFFIX}")


class AugmentationWriter:
    """Write parameters to ``path`` in chunks, atomically.

    Data goes to a temporary file in the same folder; :meth:`close` completes it
    and renames it into place. Leaving the ``with`` block through an exception
    discards it, so ``path`` never holds a half-written file.

    With ``resumable=True`` (JSON Lines and Parquet) the progress is kept in
    :func:`partial_path` and survives an interruption; a later writer with
    ``resume=True`` and the same metadata continues it, and :attr:`resumed_count`
    says how many records were already there.

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
        if config is None:
            config = AugmentationConfig()
        if not isinstance(config, AugmentationConfig):
            raise TypeError(f"config must be an AugmentationConfig, got {type(config).__name__}")
        self.config = config
        self.include_stats = bool(include_stats)
        self.resumable = bool(resumable or resume)
        if self.resumable and self.format == "json":
            raise ValueError("resumable output needs the jsonl or parquet format, not json")
        self.metadata: dict[str, Any] = {
            "version": _package_version(),
            "format_version": FORMAT_VERSION,
            "format": self.format,
            "config": config.to_dict(),
            "num_samples": None,
            "generation_time": _utc_now(),
        }
        #: The key scheme of the records, recorded in the metadata.
        self.scheme = _writer_scheme(scheme, distributed_info, elastic_info)
        self.metadata.update(self.scheme.to_metadata())
        if extra_metadata:
            self.metadata.update(extra_metadata)
        #: Each record carries its rank (a merged rank-aware file).
        self.per_record_rank = isinstance(self.scheme, PerRecordRankScheme)
        self.count = 0
        #: Records found in a continued partial output (0 for a fresh start).
        self.resumed_count = 0
        self.statistics = RunningStatistics()
        self._closed = False
        self._handle: IO[bytes] | None = None
        self._lock: IO[bytes] | None = None
        folder = self.path.parent
        if not folder.is_dir():
            raise FileNotFoundError(f"{self.path}: folder {str(folder)!r} does not exist")
        if self.path.is_dir():
            raise IsADirectoryError(f"{self.path}: is a folder, not a file")
        self.tmp_path = partial_path(self.path) if self.resumable else self._new_tmp()
        try:
            self._sink = self._open_sink(resume)
        except BaseException as exc:
            self._release(discard=not self.resumable)
            _raise_naming(exc, self.path)

    def _new_tmp(self) -> Path:
        return _unique_tmp(self.path)

    def _open_sink(self, resume: bool) -> _TextSink | _ParquetSink | _PartsSink:
        if self.format == "parquet" and not self.resumable:
            return _ParquetSink(self.tmp_path, self.metadata)
        if self.format == "parquet":
            self.tmp_path.mkdir(exist_ok=True)
            self._lock = _locked(self.tmp_path / "lock", self.tmp_path)
            parts = _PartsSink(self.tmp_path, self.metadata)
            if resume:
                self.resumed_count = parts.resume(self._check_resumable, self.statistics)
            else:
                parts.start_over()
            self.count = self.resumed_count
            return parts
        if not self.resumable:
            self._handle = open(self.tmp_path, "wb")  # noqa: SIM115 - closed by close()/abort()
            return _TextSink(self._handle, self.format, self.metadata)
        self._handle = _locked(self.tmp_path, self.tmp_path)
        resumed = self._resume_jsonl(self._handle) if resume else None
        if resumed is not None:
            sink = resumed
        else:
            self._handle.seek(0)
            self._handle.truncate()
            sink = _TextSink(self._handle, self.format, self.metadata)
        self.count = self.resumed_count
        return sink

    def _check_resumable(self, found: dict[str, Any]) -> None:
        for key in _RESUME_KEYS:
            if found.get(key) != self.metadata.get(key):
                raise ValueError(
                    f"{self.tmp_path}: the interrupted output was made with another {key} "
                    f"({found.get(key)!r}, now {self.metadata.get(key)!r}); "
                    "run without resuming to start over"
                )
        self.metadata["generation_time"] = found.get("generation_time", _utc_now())

    def _resume_jsonl(self, handle: IO[bytes]) -> _TextSink | None:
        """Continue the partial JSON Lines file; None when it holds no whole header
        (the run was stopped before writing anything), so it starts over."""
        handle.seek(0)
        header = handle.readline()
        if not header.endswith(b"\n"):
            return None
        try:
            found = json.loads(header)["metadata"]
        except (ValueError, KeyError, TypeError):
            raise ValueError(
                f"{self.tmp_path}: the interrupted output has no readable header; "
                "run without resuming to start over"
            ) from None
        self._check_resumable(found)
        good_end = handle.tell()
        expected = self.metadata.get("start_id", 0)
        pending: list[dict[str, Any]] = []
        for line in handle:
            record = _parse_record_line(line)
            if record is None or record.get("sample_id") != expected:
                break  # the cut: an incomplete, damaged or end line
            pending.append(record)
            expected += 1
            good_end += len(line)
            if len(pending) >= READ_BLOCK:
                self._count_resumed(pending)
                pending = []
        self._count_resumed(pending)
        handle.seek(good_end)
        handle.truncate()
        logger.info("resuming %s after %d records", self.path, self.resumed_count)
        return _TextSink.reopen(handle, header, has_records=self.resumed_count > 0)

    def _count_resumed(self, records: list[dict[str, Any]]) -> None:
        if records:
            self.statistics.update_records(records)
            self.resumed_count += len(records)

    def write(self, batch: ParamBatch | Sequence[dict[str, Any]]) -> None:
        """Append a :class:`ParamBatch` or a list of parameter dicts."""
        if self._closed:
            raise ValueError(f"{self.path}: writer is closed")
        if not isinstance(batch, ParamBatch):
            batch = _records_to_batch(batch, self.count, rank=self.per_record_rank)
        if self.per_record_rank:
            self._check_ranks(batch)
        elif batch.rank is not None:
            batch = batch.with_rank(None)  # a rank column only where the metadata says so
        try:
            self._sink.write(batch)
            if self._handle is not None and self.resumable:
                self._handle.flush()  # what a kill leaves behind is then whole lines
        except OSError as exc:
            _raise_naming(exc, self.path)
        if self.include_stats:
            self.statistics.update_batch(batch)
        self.count += len(batch)

    def _check_ranks(self, batch: ParamBatch) -> None:
        if batch.rank is None:
            raise ValueError(
                f"{self.path}: this file keeps a rank per record (per_record_rank); "
                "write batches with a rank column or dicts with 'rank'"
            )
        world_size = self.scheme.world_size  # type: ignore[attr-defined]
        if len(batch) and not (batch.rank.min() >= 0 and batch.rank.max() < world_size):
            raise ValueError(f"{self.path}: a record's rank is not in 0 .. {world_size - 1}")

    def close(self) -> None:
        """Finish the file and rename it into place."""
        if self._closed:
            return
        try:
            stats = self.statistics.result() if self.include_stats else None
            if isinstance(self._sink, _PartsSink):
                final_tmp = self._new_tmp()
                try:
                    self._sink.assemble(final_tmp, self.count, stats)
                    _fsync_file(final_tmp)
                    os.replace(final_tmp, self.path)
                finally:
                    final_tmp.unlink(missing_ok=True)
            else:
                self._sink.finish(self.count, stats)
                if self._handle is not None:
                    os.fsync(self._handle.fileno())
                else:
                    _fsync_file(self.tmp_path)
                os.replace(self.tmp_path, self.path)
            _fsync_dir(self.path.parent)
        except BaseException as exc:
            self._release(discard=not self.resumable)
            _raise_naming(exc, self.path)
        self._release(discard=True)
        logger.info("wrote %d samples to %s", self.count, self.path)

    def abort(self) -> None:
        """Stop without writing ``path``. A resumable writer keeps its progress for a
        later ``resume=True``; any other discards its temporary file."""
        self._release(discard=not self.resumable)

    def _release(self, discard: bool) -> None:
        self._closed = True
        for handle in (self._handle, self._lock):
            if handle is not None:
                with contextlib.suppress(OSError):
                    handle.close()
        self._handle = self._lock = None
        sink = getattr(self, "_sink", None)
        if isinstance(sink, _ParquetSink) and sink.writer is not None:
            with contextlib.suppress(Exception):
                sink.writer.close()
        if discard:
            if self.tmp_path.is_dir():
                shutil.rmtree(self.tmp_path, ignore_errors=True)
            else:
                self.tmp_path.unlink(missing_ok=True)

    def __enter__(self) -> AugmentationWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


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


def _raise_naming(exc: BaseException, path: Path) -> NoReturn:
    """Raise ``exc`` again; an OSError that names no file (a failed write or fsync of an
    open file: ENOSPC, EFBIG, EIO) as one of the same errno that names ``path``."""
    if isinstance(exc, OSError) and exc.filename is None:
        if exc.errno is not None:
            raise OSError(exc.errno, os.strerror(exc.errno), str(path)) from exc
        raise OSError(f"{path}: {exc}") from exc
    raise exc


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _locked(path: Path, what: Path) -> IO[bytes]:
    """Open ``path`` for update (creating it) and hold an exclusive lock on it."""
    # Read-write without O_APPEND: the count in the header is rewritten in place.
    handle = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o666), "r+b")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise RuntimeError(f"{what}: another process is writing this output") from None
    return handle


def _parse_record_line(line: bytes) -> dict[str, Any] | None:
    if not line.endswith(b"\n"):
        return None
    try:
        record = json.loads(line, parse_int=parse_decimal)
    except ValueError:
        return None
    if _record_problem(record) is not None or "sample_id" not in record:
        return None
    return record  # type: ignore[no-any-return]


class _PartsSink:
    """Resumable Parquet: each chunk a complete Parquet file in a partial folder,
    joined into one file at the end."""

    def __init__(self, folder: Path, metadata: dict[str, Any]) -> None:
        self.folder = folder
        self.metadata = metadata
        self.next_index = 0

    def _part(self, index: int) -> Path:
        return self.folder / f"part-{index:06d}.parquet"

    def _parts(self) -> list[Path]:
        return sorted(self.folder.glob("part-*.parquet"))

    def start_over(self) -> None:
        for leftover in self.folder.iterdir():
            if leftover.name != "lock":
                leftover.unlink()
        write_atomic(self.folder / "metadata.json", json.dumps(self.metadata).encode())

    def resume(self, check: Any, statistics: RunningStatistics) -> int:
        header = self.folder / "metadata.json"
        if not header.exists():  # stopped before writing anything
            self.start_over()
            return 0
        try:
            found = json.loads(header.read_bytes())
        except (OSError, ValueError):
            raise ValueError(
                f"{self.folder}: the interrupted output has no readable header; "
                "run without resuming to start over"
            ) from None
        check(found)
        import pyarrow.parquet as pq

        count, expected = 0, self.metadata.get("start_id", 0)
        for index, part in enumerate(self._parts()):
            try:
                batch = _arrow_to_batch(part, pq.read_table(part), 0)
            except Exception:
                batch = None
            if part != self._part(index) or not batch or batch.sample_id[0] != expected:
                for stale in self._parts()[index:]:
                    stale.unlink()
                break
            statistics.update_batch(batch)
            count += len(batch)
            expected += len(batch)
            self.next_index = index + 1
        return count

    def write(self, batch: ParamBatch) -> None:
        if len(batch) == 0:
            return
        import pyarrow.parquet as pq

        part = self._part(self.next_index)
        scratch = part.with_suffix(".writing")
        # Scratch data, read once more at the end: no compression, no dictionaries.
        pq.write_table(batch.to_arrow(), scratch, use_dictionary=False, compression="none")
        os.replace(scratch, part)
        self.next_index += 1

    def assemble(self, target: Path, count: int, statistics: dict[str, Any] | None) -> None:
        import pyarrow.parquet as pq

        sink = _ParquetSink(target, self.metadata)
        try:
            for part in self._parts():  # our own files: copied as they are
                sink.write_table(pq.read_table(part))
            sink.finish(count, statistics)
        except BaseException:
            if sink.writer is not None:
                with contextlib.suppress(Exception):
                    sink.writer.close()
            raise


def _unique_tmp(path: Path) -> Path:
    """A new empty file beside ``path`` with a unique hidden name, created like any
    new file (mode 0o666 less the umask, unlike mkstemp's 0o600)."""
    while True:
        candidate = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        except BaseException:  # Ctrl-C just after the file was made: no stray file
            candidate.unlink(missing_ok=True)
            raise
        return candidate


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` all or nothing: to a temporary file in the same
    folder, flushed to disk, then renamed over ``path``. On any failure the temporary
    file is removed and ``path`` is left as it was.

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "note.txt"
        >>> write_atomic(target, b"done")
        >>> target.read_bytes()
        b'done'
    """
    target = Path(path)
    scratch = _unique_tmp(target)
    try:
        with open(scratch, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(scratch, target)
    except BaseException:
        with contextlib.suppress(OSError):
            scratch.unlink()
        raise
    _fsync_dir(target.parent)


def _records_to_batch(records: Any, start_position: int, *, rank: bool = False) -> ParamBatch:
    if isinstance(records, dict) or not isinstance(records, Sequence):
        raise TypeError(f"expected a ParamBatch or a list of parameter dicts, got {records!r:.80}")
    try:
        return ParamBatch.from_dicts(_checked_records(records), start_position, rank=rank)
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
        format=format,
        include_stats=include_stats,
        distributed_info=distributed_info,
        elastic_info=elastic_info,
        scheme=scheme,
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
    format: str | None = None,
    distributed_info: dict[str, int] | None = None,
    elastic_info: dict[str, int] | None = None,
    scheme: KeyScheme | None = None,
) -> None:
    """Write a list of parameter dicts (or a :class:`ParamBatch`) to ``path``.

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
        format=format,
        distributed_info=distributed_info,
        elastic_info=elastic_info,
        scheme=scheme,
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
    progress: Any = None,
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
