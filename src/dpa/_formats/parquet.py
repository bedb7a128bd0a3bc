"""The Parquet format: columns, checked whole, read row group by row group.

Columns ``sample_id``, the five parameters (float64) and ``hash`` (and ``rank`` in
a merged rank-aware file); the metadata (as JSON) in the file's key-value metadata
under ``dpa.metadata``, the count and statistics under ``dpa.summary``, written last.
A resumable output is a folder of complete Parquet parts (:class:`ParquetPartsSink`)
joined into one file at the end. Plain Parquet files of the same columns (no dpa
metadata, string or unsigned ids) read as well. pyarrow is imported on first use.

Example:
    >>> PARQUET.name, PARQUET.partial_is_folder
    ('parquet', True)
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from .._config import PARAM_NAMES
from .._core import parse_decimal
from .._errors import DPAFileError
from .._keys import PerRecordRankScheme, scheme_from_metadata
from .._lifecycle import PendingFile, open_new, write_atomic
from .._parambatch import ParamBatch, _id_array
from .common import NESTED_TOO_DEEPLY, SUMMARY_KEYS, brief, check_metadata, count_problem
from .interface import FileFormat, Header, OpenedFile, RecordSink, Resume

__all__ = [
    "PARQUET",
    "PARQUET_OPTIONS",
    "ParquetPartsSink",
    "ParquetSink",
    "arrow_to_batch",
    "open_sink",
    "read_batches",
    "read_header",
]

_ROW_GROUP = 1 << 20  # rows per Parquet row group at most
#: How dpa writes Parquet: no dictionaries (every value is distinct, so building
#: them only costs time) and zstd, which packs the hex hashes to about half.
PARQUET_OPTIONS: dict[str, Any] = {"use_dictionary": False, "compression": "zstd"}


def _ranked(metadata: dict[str, Any]) -> bool:
    """Whether the records of a file with this metadata carry their rank."""
    return isinstance(scheme_from_metadata(metadata), PerRecordRankScheme)


def _id_type(last_id: int) -> Any:
    """The Arrow type of an id column holding ids up to ``last_id``: int64, uint64
    beyond it, decimal strings beyond that (as :meth:`ParamBatch.to_arrow`)."""
    import pyarrow as pa

    if last_id < 2**63:
        return pa.int64()
    return pa.uint64() if last_id < 2**64 else pa.string()


def _wider(first: Any, second: Any) -> Any:
    """The id column type that holds the ids of both types."""
    import pyarrow as pa

    order = [pa.int64(), pa.uint64(), pa.string()]
    rank = {kind: place for place, kind in enumerate(order)}
    return max(first, second, key=lambda kind: rank.get(kind, len(order)))


def _widened(id_type: Any, last_id: int) -> Any:
    """``id_type`` (None: none yet) widened to hold ids up to ``last_id``."""
    wanted = _id_type(last_id)
    return wanted if id_type is None else _wider(id_type, wanted)


class ParquetSink:
    """Writes one Parquet file through ``handle`` (open at ``path``) with a pyarrow
    ParquetWriter, opened with the first rows; its id column's type is theirs, or
    wider if :meth:`reserve_ids` (or ``id_type``) asks for it."""

    def __init__(
        self, path: Path, metadata: dict[str, Any], handle: IO[bytes], id_type: Any = None
    ) -> None:
        import pyarrow.parquet as pq

        self.pq = pq
        self.path = path
        self.handle = handle
        self.metadata = metadata
        self.id_type = id_type
        self.writer: Any = None

    def reserve_ids(self, last_id: int) -> None:
        self.id_type = _widened(self.id_type, last_id)

    def write(self, batch: ParamBatch) -> None:
        for start in range(0, len(batch), _ROW_GROUP):
            self.write_table(batch[start : start + _ROW_GROUP].to_arrow())

    def write_table(self, table: Any) -> None:
        """Append an Arrow table of dpa's columns (one row group at most per call)."""
        if table.num_rows == 0:
            return
        if self.writer is None:
            kind = table.schema.field("sample_id").type
            if self.id_type is not None and _wider(kind, self.id_type) != kind:
                table = table.set_column(0, "sample_id", table.column(0).cast(self.id_type))
            schema = table.schema.with_metadata({"dpa.metadata": json.dumps(self.metadata)})
            self.writer = self.pq.ParquetWriter(self.handle, schema, **PARQUET_OPTIONS)
        elif table.schema.field("sample_id").type != self.writer.schema.field("sample_id").type:
            wanted = self.writer.schema.field("sample_id").type
            try:
                ids = table.column("sample_id").cast(wanted)
            except Exception:
                raise ValueError(
                    f"sample ids of this batch do not fit the file's {wanted} id column "
                    "(set by its first batch); write ids that large in a file of their own"
                ) from None
            table = table.set_column(0, "sample_id", ids)
        self.writer.write_table(table.replace_schema_metadata(self.writer.schema.metadata))

    def finish(self, count: int, statistics: dict[str, Any] | None) -> Path:
        if self.writer is None:  # no rows: still a valid, typed, empty file
            self._open_empty()
        summary = {"num_samples": count, "statistics": statistics}
        self.writer.add_key_value_metadata({"dpa.summary": json.dumps(summary)})
        self.writer.close()
        return self.path

    def _open_empty(self) -> None:
        import pyarrow as pa

        rank = [("rank", pa.int64())] if _ranked(self.metadata) else []
        schema = pa.schema(
            [("sample_id", self.id_type or pa.int64())]
            + [(name, pa.float64()) for name in PARAM_NAMES]
            + [("hash", pa.string())]
            + rank,
            metadata={"dpa.metadata": json.dumps(self.metadata)},
        )
        self.writer = self.pq.ParquetWriter(self.handle, schema, **PARQUET_OPTIONS)

    def close(self) -> None:
        if self.writer is not None:
            with contextlib.suppress(Exception):  # already failing: the file goes anyway
                self.writer.close()


class ParquetPartsSink:
    """Resumable Parquet: each batch a complete Parquet file in the partial
    ``folder`` (beside ``metadata.json``), joined by :meth:`finish` into a new file
    from ``scratch``."""

    def __init__(
        self,
        folder: Path,
        metadata: dict[str, Any],
        scratch: Callable[[], tuple[Path, IO[bytes]]],
    ) -> None:
        self.folder = folder
        self.metadata = metadata
        self.scratch = scratch
        self.next_index = 0
        self.id_type: Any = None
        self._assembly: ParquetSink | None = None

    def _part(self, index: int) -> Path:
        return self.folder / f"part-{index:06d}.parquet"

    def _parts(self) -> list[Path]:
        return sorted(self.folder.glob("part-*.parquet"))

    def start_over(self) -> None:
        """Empty the folder (but its lock) and write the metadata."""
        for leftover in self.folder.iterdir():
            if leftover.name != "lock":
                leftover.unlink()
        write_atomic(self.folder / "metadata.json", json.dumps(self.metadata).encode())

    def resume(self, resume: Resume) -> int:
        """Keep the parts that continue one another from the start id and equal their
        recomputation (dropping the rest), and return their count; start over when
        there is no metadata yet."""
        header = self.folder / "metadata.json"
        if not header.exists():  # stopped before writing anything
            self.start_over()
            return 0
        try:
            found = json.loads(header.read_bytes(), parse_int=parse_decimal)
        except (OSError, ValueError, RecursionError):
            found = None
        resume.check_header(self.folder, found)
        import pyarrow.parquet as pq

        count, expected = 0, self.metadata.get("start_id", 0)
        for index, part in enumerate(self._parts()):
            try:
                batch = arrow_to_batch(part, pq.read_table(part), 0)
            except Exception:
                batch = ParamBatch.empty()
            good = part == self._part(index) and len(batch) and batch.sample_id[0] == expected
            kept = resume.take(batch) if good else 0
            if kept:
                if kept < len(batch):  # the records that match, and no more
                    self._write_part(index, batch[:kept])
                count += kept
                expected += kept
                self.next_index = index + 1
            if kept < len(batch):
                for stale in self._parts()[self.next_index :]:
                    stale.unlink()
                break
        return count

    def reserve_ids(self, last_id: int) -> None:
        self.id_type = _widened(self.id_type, last_id)

    def write(self, batch: ParamBatch) -> None:
        if len(batch) == 0:
            return
        self._write_part(self.next_index, batch)
        self.next_index += 1

    def _write_part(self, index: int, batch: ParamBatch) -> None:
        """``batch`` as the part ``index``, whole or not at all."""
        import pyarrow.parquet as pq

        part = self._part(index)
        scratch = part.with_suffix(".writing")
        with contextlib.suppress(FileNotFoundError):
            scratch.unlink()  # a run stopped while writing it
        # Scratch data, read once more at the end: no compression, no dictionaries.
        with open_new(scratch) as handle:
            pq.write_table(batch.to_arrow(), handle, use_dictionary=False, compression="none")
        os.replace(scratch, part)

    def finish(self, count: int, statistics: dict[str, Any] | None) -> Path:
        import pyarrow.parquet as pq

        parts = self._parts()
        id_type = self.id_type
        for part in parts:  # the widest ids of any part set the column's type
            kind = pq.read_schema(part).field("sample_id").type
            id_type = kind if id_type is None else _wider(id_type, kind)
        path, handle = self.scratch()
        self._assembly = ParquetSink(path, self.metadata, handle, id_type)
        for part in parts:  # our own files: copied as they are
            self._assembly.write_table(pq.read_table(part))
        return self._assembly.finish(count, statistics)

    def close(self) -> None:
        if self._assembly is not None:
            self._assembly.close()


def arrow_to_batch(
    path: Path, record_batch: Any, position: int, *, rank: bool = False
) -> ParamBatch:
    """An Arrow record batch (or table) of dpa's columns as a checked ParamBatch;
    DPAFileError naming ``path`` and the column (or the record, from ``position``)."""
    import pyarrow as pa

    names = record_batch.schema.names
    columns: dict[str, Any] = {}
    for name in PARAM_NAMES:
        if name not in names:
            raise DPAFileError(path, f"missing column {name!r}")
        column = record_batch.column(name)
        if not pa.types.is_float64(column.type):
            raise DPAFileError(path, f"column {name!r} has type {column.type}, expected double")
        if column.null_count:
            raise DPAFileError(path, f"column {name!r} has missing values")
        values = column.to_numpy(zero_copy_only=False).astype(np.float64)
        if not np.isfinite(values).all():
            raise DPAFileError(path, f"column {name!r} has values that are not finite")
        columns[name] = values
    if "hash" not in names:
        raise DPAFileError(path, "missing column 'hash'")
    hashes = _hash_column(path, record_batch.column("hash"), position)
    if "sample_id" in names:
        ids = _id_column(path, record_batch.column("sample_id"))
    else:
        ids = np.arange(position, position + record_batch.num_rows, dtype=np.int64)
    ranks = _rank_column(path, record_batch, position) if rank else None
    return ParamBatch(sample_id=ids, hash=hashes, rank=ranks, **columns)


def _rank_column(path: Path, record_batch: Any, position: int) -> np.ndarray:
    import pyarrow as pa

    if "rank" not in record_batch.schema.names:
        raise DPAFileError(path, "missing column 'rank' (the metadata says per_record_rank)")
    column = record_batch.column("rank")
    if not pa.types.is_integer(column.type):
        raise DPAFileError(path, f"column 'rank' has type {column.type}, expected an integer")
    if column.null_count:
        raise DPAFileError(path, "column 'rank' has missing values")
    ranks: np.ndarray = column.to_numpy()
    if len(ranks) and (ranks.min() < 0 or ranks.max() >= 2**63):
        bad = int(np.flatnonzero((ranks < 0) | (ranks >= 2**63))[0])
        raise DPAFileError(path, f"record {position + bad}: 'rank' is not a non-negative int")
    return ranks.astype(np.int64)


#: Which bytes may stand in a hash: lower-case hex digits.
_HEX_BYTES = np.zeros(256, dtype=bool)
_HEX_BYTES[np.frombuffer(b"0123456789abcdef", dtype=np.uint8)] = True


def _hash_column(path: Path, column: Any, position: int) -> np.ndarray:
    """A string column of 64-digit hex hashes as an S64 array, checked whole."""
    import pyarrow as pa

    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        raise DPAFileError(path, f"column 'hash' has type {column.type}, expected string")
    if column.null_count:
        raise DPAFileError(path, "column 'hash' has missing values")
    if isinstance(column, pa.ChunkedArray):
        column = pa.concat_arrays(column.chunks) if column.num_chunks else pa.array([], pa.string())
    column = column.cast(pa.large_string())
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int64)[
        column.offset : column.offset + len(column) + 1
    ]
    short = np.flatnonzero(np.diff(offsets) != 64)
    data = np.frombuffer(column.buffers()[2] or b"", dtype=np.uint8)[offsets[0] : offsets[-1]]
    bad = short if len(short) else np.flatnonzero(~_HEX_BYTES[data]) // 64
    if len(bad):
        raise DPAFileError(
            path, f"record {position + int(bad[0])}: 'hash' is not 64 lower-case hex digits"
        )
    return data.copy().view("S64")


def _id_column(path: Path, column: Any) -> np.ndarray:
    import pyarrow as pa

    if column.null_count:
        raise DPAFileError(path, "column 'sample_id' has missing values")
    if pa.types.is_integer(column.type):
        ids: np.ndarray = column.to_numpy()
        if len(ids) and pa.types.is_signed_integer(column.type) and ids.min() < 0:
            raise DPAFileError(path, "column 'sample_id' has negative ids")
        if ids.dtype == np.uint64 and len(ids) and ids.max() >= 2**63:
            return _id_array(ids.tolist())
        return ids.astype(np.int64)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        try:
            return _id_array(parse_decimal(text) for text in column.to_pylist())
        except (ValueError, TypeError):
            raise DPAFileError(path, "column 'sample_id' holds text that is not an id") from None
    raise DPAFileError(path, f"column 'sample_id' has type {column.type}")


def open_sink(
    pending: PendingFile, metadata: dict[str, Any], resume: Resume | None
) -> tuple[RecordSink, int]:
    """A :class:`ParquetSink` writing ``pending``; a resumable one is a
    :class:`ParquetPartsSink`, continued with ``resume``, else started over."""
    if not pending.resumable:
        return ParquetSink(pending.path, metadata, pending.open()), 0
    parts = ParquetPartsSink(pending.path, metadata, pending.scratch)
    if resume is not None:
        return parts, parts.resume(resume)
    parts.start_over()
    return parts, 0


def read_header(path: Path) -> Header:
    """Everything but the rows: the metadata, the summary (count, statistics), the
    columns there must be; the ParquetFile stays open as the handle."""
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover
        raise ImportError(
            "reading Parquet needs pyarrow: pip install 'dpa-augment[parquet]'"
        ) from exc
    try:
        parquet = pq.ParquetFile(path, pre_buffer=False)  # read row group by row group
    except Exception as exc:
        raise DPAFileError(path, f"not a readable Parquet file (truncated?): {exc}") from None
    raw = parquet.metadata.metadata or {}
    try:
        metadata = (
            json.loads(raw[b"dpa.metadata"], parse_int=parse_decimal)
            if b"dpa.metadata" in raw
            else {}
        )
        summary = (
            json.loads(raw[b"dpa.summary"], parse_int=parse_decimal)
            if b"dpa.summary" in raw
            else {}
        )
    except RecursionError:
        raise DPAFileError(path, f"dpa metadata: {NESTED_TOO_DEEPLY}") from None
    except ValueError:
        raise DPAFileError(path, "malformed dpa metadata in the Parquet file") from None
    if not isinstance(summary, dict):
        raise DPAFileError(path, "malformed dpa summary in the Parquet file")
    metadata = check_metadata(path, metadata)
    if b"dpa.metadata" in raw and "num_samples" not in summary:
        raise DPAFileError(path, "incomplete: the writer did not finish (no dpa.summary)")
    if "num_samples" in summary:
        metadata["num_samples"] = summary["num_samples"]
    metadata = check_metadata(path, metadata)
    names = parquet.schema_arrow.names
    for name in (*PARAM_NAMES, "hash", *(["rank"] if _ranked(metadata) else [])):
        if name not in names:
            raise DPAFileError(path, f"missing column {name!r}")
    declared = metadata.get("num_samples")
    if declared is not None and parquet.metadata.num_rows != declared:
        raise DPAFileError(path, count_problem(declared, parquet.metadata.num_rows))
    unknown = tuple(sorted(brief(key) for key in set(summary) - SUMMARY_KEYS))
    return Header(metadata, summary.get("statistics"), parquet, unknown)


def read_batches(file: OpenedFile, batch_size: int) -> Iterator[ParamBatch]:
    """The rows, row group by row group, each batch's columns checked whole."""
    position = 0
    ranked = file.per_record_rank
    try:
        for record_batch in file._parquet.iter_batches(batch_size=min(batch_size, 1 << 30)):
            batch = arrow_to_batch(file.path, record_batch, position, rank=ranked)
            position += len(batch)
            yield batch
    except DPAFileError:
        raise
    except Exception as exc:  # pyarrow raises OSError / ArrowInvalid for damaged data
        raise DPAFileError(file.path, f"damaged Parquet data: {exc}") from None
    declared = file.num_samples
    if declared is not None and declared != position:
        raise DPAFileError(file.path, count_problem(declared, position))


#: The Parquet format (resumable; the partial output is a folder of parts).
PARQUET = FileFormat(
    "parquet", open_sink, read_header, read_batches, resumable=True, partial_is_folder=True
)
