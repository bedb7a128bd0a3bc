"""The three file formats: how records and metadata are laid out and read back.

Formats (chosen from the file name's suffix, or ``format=``):

``json``
    ``{"metadata": {...}, "augmentations": [record, ...], "statistics": {...}}``.
    ``metadata`` holds ``version``, ``format_version``, ``config``, ``num_samples``,
    ``generation_time`` (ISO-8601 UTC) and, for rank-aware output,
    ``distributed_info`` (``rank``, ``world_size``, ``base_seed``). A merged
    rank-aware file (several ranks in one, see :mod:`dpa._shards`) has
    ``distributed_info`` ``{"per_record_rank": true, "world_size", "base_seed"}`` and
    a ``rank`` in every record (a ``rank`` column in Parquet).
``jsonl``
    A first line ``{"metadata": {...}}``, one record per line, and a last line
    ``{"end": {"num_samples": N, "statistics": {...}}}`` that marks the file complete.
``parquet``
    Columns ``sample_id``, the five parameters (float64) and ``hash``; the metadata
    (as JSON) in the file's key-value metadata under ``dpa.metadata`` and the count
    and statistics under ``dpa.summary``.

A record is ``{"sample_id", "rotation", "brightness", "noise", "scale", "contrast",
"hash"}``. Readers validate as they go and raise :class:`DPAFileError` naming the
file and the problem. File lifecycles (temporary files, renames, resuming) live
in :mod:`dpa._io`.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from ._config import PARAM_NAMES, AugmentationConfig
from ._core import decimal, parse_decimal
from ._errors import DPAFileError
from ._keys import KeyScheme, PerRecordRankScheme, scheme_from_metadata
from ._parambatch import ParamBatch, _id_array
from ._validate import check_int, check_path

__all__ = [
    "FORMATS",
    "AugmentationFile",
    "DPAFileError",
    "detect_format",
    "read_augmentation_file",
]

FORMATS = ("json", "jsonl", "parquet")
FORMAT_VERSION = 1
_SUFFIXES = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
_COUNT_WIDTH = 21  # room for any count a file can hold, rewritten in place at the end
_COUNT_PLACEHOLDER = "__DPA_NUM_SAMPLES__"
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
READ_BLOCK = 4096
_ROW_GROUP = 1 << 20  # rows per Parquet row group at most
#: How dpa writes Parquet: no dictionaries (every value is distinct, so building
#: them only costs time) and zstd, which packs the hex hashes to about half.
PARQUET_OPTIONS: dict[str, Any] = {"use_dictionary": False, "compression": "zstd"}
PathLike = str | os.PathLike[str]


def detect_format(path: PathLike, format: str | None = None) -> str:
    """The format to write ``path`` in: ``format`` if given, else from its suffix.

    Example:
        >>> detect_format("out/params.parquet")
        'parquet'
    """
    if format is not None:
        if format not in FORMATS:
            raise ValueError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
        return format
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIXES:
        raise ValueError(
            f"cannot tell the format of {str(path)!r} from its suffix; "
            f"use .json, .jsonl or .parquet, or pass format="
        )
    return _SUFFIXES[suffix]


def _record_lines(batch: ParamBatch) -> list[str]:
    ids = batch.sample_id.tolist()
    columns = [getattr(batch, name).tolist() for name in PARAM_NAMES]
    hashes = [digest.decode("ascii") for digest in batch.hash.tolist()]
    id_texts = [decimal(int(i)).decode("ascii") for i in ids]
    if batch.rank is not None:  # '"sample_id": N, "rank": R, ...'
        ranks = batch.rank.tolist()
        id_texts = [f'{i}, "rank": {r}' for i, r in zip(id_texts, ranks, strict=True)]
    return [
        f'{{"sample_id": {i}, "rotation": {r!r}, "brightness": {b!r}, "noise": {n!r}, '
        f'"scale": {s!r}, "contrast": {c!r}, "hash": "{h}"}}'
        for i, r, b, n, s, c, h in zip(id_texts, *columns, hashes, strict=True)
    ]


class _TextSink:
    """JSON and JSON Lines: header, records, trailer; the count patched in place.

    Writes ASCII bytes to a binary handle, so offsets are byte offsets.
    """

    def __init__(self, handle: IO[bytes], fmt: str, metadata: dict[str, Any] | None) -> None:
        self.handle = handle
        self.fmt = fmt
        self.first = True
        self.count_offset = 0
        if metadata is not None:
            self._write_header(metadata)

    def _write_header(self, metadata: dict[str, Any]) -> None:
        header_meta = dict(metadata, num_samples=_COUNT_PLACEHOLDER)
        header = json.dumps({"metadata": header_meta})
        self.count_offset = self.handle.tell() + header.index(f'"{_COUNT_PLACEHOLDER}"')
        header = header.replace(f'"{_COUNT_PLACEHOLDER}"', "0".rjust(_COUNT_WIDTH))
        if self.fmt == "json":
            header = header[:-1] + ',\n"augmentations": ['
        else:
            header += "\n"
        self.handle.write(header.encode("ascii"))

    @classmethod
    def reopen(cls, handle: IO[bytes], header_line: bytes, has_records: bool) -> _TextSink:
        """Continue a JSON Lines file whose records end where ``handle`` stands."""
        sink = cls(handle, "jsonl", None)
        sink.count_offset = header_line.index(b'"num_samples": ') + len(b'"num_samples": ')
        sink.first = not has_records
        return sink

    def write(self, batch: ParamBatch) -> None:
        lines = _record_lines(batch)
        if not lines:
            return
        if self.fmt == "json":
            separator = "\n" if self.first else ",\n"
            text = separator + ",\n".join(lines)
        else:
            text = "\n".join(lines) + "\n"
        self.handle.write(text.encode("ascii"))
        self.first = False

    def finish(self, count: int, statistics: dict[str, Any] | None) -> None:
        if self.fmt == "json":
            tail = "\n]" if not self.first else "]"
            if statistics is not None:
                tail += ',\n"statistics": ' + json.dumps(statistics)
            tail += "}\n"
        else:
            end: dict[str, Any] = {"num_samples": count}
            if statistics is not None:
                end["statistics"] = statistics
            tail = json.dumps({"end": end}) + "\n"
        self.handle.write(tail.encode("ascii"))
        self.handle.flush()
        self.handle.seek(self.count_offset)
        self.handle.write(str(count).rjust(_COUNT_WIDTH).encode("ascii"))
        self.handle.flush()


class _ParquetSink:
    def __init__(self, path: Path, metadata: dict[str, Any]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.pa, self.pq = pa, pq
        self.path = path
        self.metadata = metadata
        self.writer: Any = None

    def write(self, batch: ParamBatch) -> None:
        for start in range(0, len(batch), _ROW_GROUP):
            self.write_table(batch[start : start + _ROW_GROUP].to_arrow())

    def write_table(self, table: Any) -> None:
        """Append an Arrow table of dpa's columns (one row group at most per call)."""
        if table.num_rows == 0:
            return
        if self.writer is None:
            schema = table.schema.with_metadata({"dpa.metadata": json.dumps(self.metadata)})
            self.writer = self.pq.ParquetWriter(self.path, schema, **PARQUET_OPTIONS)
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

    def finish(self, count: int, statistics: dict[str, Any] | None) -> None:
        if self.writer is None:  # no rows: still a valid, typed, empty file
            self.write_empty()
        summary = {"num_samples": count, "statistics": statistics}
        self.writer.add_key_value_metadata({"dpa.summary": json.dumps(summary)})
        self.writer.close()

    def write_empty(self) -> None:
        pa = self.pa
        rank = (
            [("rank", pa.int64())]
            if isinstance(scheme_from_metadata(self.metadata), PerRecordRankScheme)
            else []
        )
        schema = pa.schema(
            [("sample_id", pa.int64())]
            + [(name, pa.float64()) for name in PARAM_NAMES]
            + [("hash", pa.string())]
            + rank,
            metadata={"dpa.metadata": json.dumps(self.metadata)},
        )
        self.writer = self.pq.ParquetWriter(self.path, schema, **PARQUET_OPTIONS)


def _checked_records(records: Sequence[Any]) -> Sequence[dict[str, Any]]:
    for position, record in enumerate(records):
        problem = _record_problem(record)
        if problem:
            raise ValueError(f"record {position}: {problem}")
    return records


def _record_problem(record: Any) -> str | None:
    """What is wrong with one record, or None."""
    if not isinstance(record, dict):
        return f"expected an object, got {type(record).__name__}"
    for name in PARAM_NAMES:
        value = record.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{name!r} missing or not a number: {value!r:.80}"
        try:
            finite = math.isfinite(value)
        except OverflowError:  # an int no float holds
            finite = False
        if not finite:
            return f"{name!r} is not finite: {_brief(value)}"
    digest = record.get("hash")
    if not isinstance(digest, str) or not _HEX64.match(digest):
        return f"'hash' missing or not 64 lower-case hex digits: {digest!r:.80}"
    if "sample_id" in record:
        sid = record["sample_id"]
        if isinstance(sid, bool) or not isinstance(sid, int) or sid < 0:
            return f"'sample_id' is not a non-negative int: {_brief(sid)}"
    if "rank" in record:
        rank = record["rank"]
        if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank < 2**63:
            return f"'rank' is not a non-negative int: {_brief(rank)}"
    return None


def _brief(value: Any) -> str:
    """``repr(value)``, cut to 80 characters (an int too long to print: its size)."""
    if isinstance(value, int) and value.bit_length() > 256:
        return f"<an int of {value.bit_length()} bits>"
    return f"{value!r:.80}"


class _JsonScanner:
    """Incremental reader of one JSON document: top-level keys one at a time, and
    the ``augmentations`` array element by element, without loading the file."""

    def __init__(self, handle: IO[str], path: Path) -> None:
        self.handle = handle
        self.path = path
        self.buffer = ""
        self.pos = 0
        self.eof = False
        self.decoder = json.JSONDecoder(parse_int=parse_decimal)

    def _fill(self) -> bool:
        if self.eof:
            return False
        chunk = self.handle.read(1 << 20)
        if not chunk:
            self.eof = True
            return False
        self.buffer = self.buffer[self.pos :] + chunk
        self.pos = 0
        return True

    def _skip_ws(self) -> str:
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self._fill():
                raise DPAFileError(self.path, "truncated: the file ends before the JSON does")

    def expect(self, char: str) -> None:
        found = self._skip_ws()
        if found != char:
            raise DPAFileError(
                self.path,
                f"malformed JSON: expected {char!r} at offset ~{self.pos}, found {found!r}",
            )
        self.pos += 1

    def peek(self) -> str:
        return self._skip_ws()

    def next_char(self) -> str:
        """The character at the current position, white space included ('' at the end)."""
        if self.pos >= len(self.buffer):
            self._fill()
        return self.buffer[self.pos : self.pos + 1]

    def peek_end(self) -> bool:
        """True when anything but white space follows the document."""
        try:
            self._skip_ws()
        except DPAFileError:
            return False
        return True

    def value(self) -> Any:
        self._skip_ws()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as exc:
                if self._fill():
                    continue
                near_end = exc.pos >= len(self.buffer.rstrip()) - 200
                cut = near_end or exc.msg.startswith("Unterminated")
                problem = "truncated" if cut else "malformed JSON"
                raise DPAFileError(self.path, f"{problem}: {exc.msg} (offset ~{exc.pos})") from None
            except ValueError as exc:  # a number int() refuses (too many digits)
                raise DPAFileError(self.path, f"malformed JSON: {exc}") from None
            if end >= len(self.buffer) and not self.eof and self._fill():
                continue  # a number may go on in the next block: parse again
            self.pos = end
            return value


def _open_text(path: Path) -> IO[str]:
    # Bytes that are not UTF-8 become U+FFFD and then fail validation by name,
    # rather than escaping as a UnicodeDecodeError.
    try:
        return open(path, encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"{path}: is a folder, not a file") from None


def _sniff(path: Path) -> str:
    """The format of an existing file, from its content."""
    with _open_binary(path) as handle:
        head = handle.read(4)
    if head == b"PAR1":
        return "parquet"
    with _open_text(path) as handle:
        scanner = _JsonScanner(handle, path)
        try:
            first = scanner.peek()
        except DPAFileError:
            raise DPAFileError(path, "empty file") from None
        if first != "{":
            raise DPAFileError(path, "not a dpa file: neither JSON, JSON Lines nor Parquet")
        try:
            # JSON Lines: the whole first line is {"metadata": {...}}; JSON goes on
            # after the metadata with a comma. The header is parsed, whatever its size.
            scanner.pos += 1
            if scanner.peek() != '"' or scanner.value() != "metadata":
                return "json"
            scanner.expect(":")
            metadata = scanner.value()
            declared = metadata.get("format") if isinstance(metadata, dict) else None
            if declared in ("json", "jsonl"):
                return str(declared)  # what the writer said it wrote
            if scanner.peek() != "}":
                return "json"
            scanner.pos += 1  # a JSON Lines header is a whole line with more after it
            return "jsonl" if scanner.next_char() in ("\n", "\r") else "json"
        except DPAFileError:
            return "json"  # the JSON reader names the problem


def _open_binary(path: Path) -> IO[bytes]:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"{path}: is a folder, not a file") from None


def _check_metadata(path: Path, metadata: Any) -> dict[str, Any]:
    if not isinstance(metadata, dict):
        raise DPAFileError(path, f"'metadata' must be an object, got {type(metadata).__name__}")
    config = metadata.get("config")
    if config is not None:
        try:
            AugmentationConfig.from_dict(config)
        except (TypeError, ValueError) as exc:
            raise DPAFileError(path, f"invalid config in metadata: {exc}") from None
    count = metadata.get("num_samples")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
        raise DPAFileError(path, f"invalid num_samples in metadata: {count!r}")
    if metadata.get("distributed_info") is not None and metadata.get("elastic_info") is not None:
        raise DPAFileError(path, "metadata declares both distributed_info and elastic_info")
    try:
        scheme_from_metadata(metadata)
    except (TypeError, ValueError) as exc:
        raise DPAFileError(path, f"invalid key scheme in metadata: {exc}") from None
    return metadata


@dataclass
class AugmentationFile:
    """A parameter file opened for reading: its format and metadata, and its
    records as columnar batches (read incrementally).

    Example:
        >>> import tempfile, os, dpa
        >>> target = os.path.join(tempfile.mkdtemp(), "p.jsonl")
        >>> dpa.save_augmentation_chain(dpa.generate_batch(range(3)), target)
        >>> f = read_augmentation_file(target)
        >>> f.format, f.num_samples, f.config.augmentation_depth
        ('jsonl', 3, 10)
    """

    path: Path
    format: str
    metadata: dict[str, Any]
    statistics: dict[str, Any] | None = None
    _parquet: Any = field(default=None, repr=False)
    #: Keys the reader does not know where dpa's own keys go (the top level of a JSON
    #: file, a JSON Lines end line, a Parquet summary): a damaged key, perhaps.
    unknown_keys: list[str] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        self.path = check_path(self.path)
        if self.format not in FORMATS:
            raise ValueError(f"unknown format {self.format!r}; choose one of {', '.join(FORMATS)}")
        if not isinstance(self.metadata, dict):
            raise TypeError(f"metadata must be a dict, got {type(self.metadata).__name__}")
        if self.format == "parquet" and self._parquet is None:
            raise ValueError(
                "a parquet AugmentationFile reads through its ParquetFile: open it "
                "with read_augmentation_file"
            )

    @property
    def num_samples(self) -> int | None:
        """The count the file declares (``None`` when it declares none)."""
        count = self.metadata.get("num_samples")
        return count if isinstance(count, int) else None

    @property
    def per_record_rank(self) -> bool:
        """True when each record carries the rank that drew it (a merged
        rank-aware file); its batches then have a ``rank`` column."""
        return isinstance(self.scheme, PerRecordRankScheme)

    @property
    def scheme(self) -> KeyScheme:
        """The key scheme the metadata declares (plain, rank-aware, elastic)."""
        return scheme_from_metadata(self.metadata)

    @property
    def config(self) -> AugmentationConfig | None:
        """The config the file was generated with (``None`` when it names none)."""
        raw = self.metadata.get("config")
        return None if raw is None else AugmentationConfig.from_dict(raw)

    def iter_batches(self, batch_size: int = READ_BLOCK) -> Iterator[ParamBatch]:
        """Every record, in file order, as validated :class:`ParamBatch` objects.

        Raises :class:`DPAFileError` at the first truncated or malformed part, and
        when the number of records differs from the declared count.
        """
        batch_size = check_int(batch_size, "batch_size", 1)
        if self.format == "parquet":
            return self._parquet_batches(batch_size)
        return self._text_batches(batch_size)

    def iter_records(self) -> Iterator[dict[str, Any]]:
        """Every record as a dict (with ``sample_id``), in file order."""
        for batch in self.iter_batches():
            yield from batch.to_dicts()

    # JSON / JSONL
    def _text_batches(self, batch_size: int) -> Iterator[ParamBatch]:
        records = self._json_records() if self.format == "json" else self._jsonl_records()
        ranked = self.per_record_rank
        pending: list[dict[str, Any]] = []
        position = 0
        for record in records:
            problem = _record_problem(record)
            if problem:
                raise DPAFileError(self.path, f"record {position}: {problem}")
            if ranked and "rank" not in record:
                raise DPAFileError(
                    self.path, f"record {position}: no 'rank' (the metadata says per_record_rank)"
                )
            pending.append(record)
            position += 1
            if len(pending) >= batch_size:
                yield ParamBatch.from_dicts(pending, position - len(pending), rank=ranked)
                pending = []
        if pending:
            yield ParamBatch.from_dicts(pending, position - len(pending), rank=ranked)
        declared = self.num_samples
        if declared is not None and declared != position:
            raise DPAFileError(
                self.path, f"declares {_brief(declared)} samples but holds {position} (truncated?)"
            )

    def _json_records(self) -> Iterator[Any]:
        with _open_text(self.path) as handle:
            scanner = _JsonScanner(handle, self.path)
            scanner.expect("{")
            seen_records = False
            if scanner.peek() == "}":
                raise DPAFileError(self.path, "no 'augmentations' in the file")
            while True:
                key = scanner.value()
                scanner.expect(":")
                if key == "augmentations":
                    seen_records = True
                    scanner.expect("[")
                    if scanner.peek() == "]":
                        scanner.pos += 1
                    else:
                        while True:
                            yield scanner.value()
                            if scanner.peek() == ",":
                                scanner.pos += 1
                                continue
                            scanner.expect("]")
                            break
                elif key == "statistics":
                    self.statistics = scanner.value()
                else:
                    if key != "metadata":
                        self.unknown_keys.append(_brief(key))
                    scanner.value()
                if scanner.peek() == ",":
                    scanner.pos += 1
                    continue
                scanner.expect("}")
                break
            if not seen_records:
                raise DPAFileError(self.path, "no 'augmentations' in the file")
            if scanner.peek_end():
                raise DPAFileError(self.path, "malformed JSON: data after the end of the document")

    def _jsonl_records(self) -> Iterator[Any]:
        with _open_text(self.path) as handle:
            handle.readline()  # the metadata line, already read
            line_number = 1
            for line in handle:
                line_number += 1
                if not line.endswith("\n"):
                    raise DPAFileError(self.path, f"truncated: line {line_number} is incomplete")
                try:
                    item = json.loads(line, parse_int=parse_decimal)
                except ValueError as exc:
                    raise DPAFileError(
                        self.path, f"line {line_number}: malformed JSON: {exc}"
                    ) from None
                if isinstance(item, dict) and set(item) == {"end"}:
                    self._read_end(item["end"], line_number)
                    if handle.readline():
                        raise DPAFileError(self.path, f"data after the end line {line_number}")
                    return
                yield item
            raise DPAFileError(self.path, "truncated: no end line (the writer did not finish)")

    def _read_end(self, end: Any, line_number: int) -> None:
        if not isinstance(end, dict) or not isinstance(end.get("num_samples"), int):
            raise DPAFileError(self.path, f"line {line_number}: malformed end line")
        if self.num_samples is not None and end["num_samples"] != self.num_samples:
            raise DPAFileError(self.path, "the end line and the metadata disagree on the count")
        self.metadata["num_samples"] = end["num_samples"]
        self.statistics = end.get("statistics")
        self.unknown_keys.extend(sorted(_brief(key) for key in set(end) - _SUMMARY_KEYS))

    # Parquet
    def _parquet_batches(self, batch_size: int) -> Iterator[ParamBatch]:
        position = 0
        ranked = self.per_record_rank
        try:
            for record_batch in self._parquet.iter_batches(batch_size=min(batch_size, 1 << 30)):
                batch = _arrow_to_batch(self.path, record_batch, position, rank=ranked)
                position += len(batch)
                yield batch
        except DPAFileError:
            raise
        except Exception as exc:  # pyarrow raises OSError / ArrowInvalid for damaged data
            raise DPAFileError(self.path, f"damaged Parquet data: {exc}") from None
        declared = self.num_samples
        if declared is not None and declared != position:
            raise DPAFileError(
                self.path, f"declares {_brief(declared)} samples but holds {position}"
            )


def _arrow_to_batch(
    path: Path, record_batch: Any, position: int, *, rank: bool = False
) -> ParamBatch:
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


def read_augmentation_file(path: PathLike) -> AugmentationFile:
    """Open a parameter file of any of the three formats and read its metadata.

    The records are read later, incrementally, by :meth:`AugmentationFile.iter_batches`.
    """
    path = check_path(path)
    fmt = _sniff(path)
    if fmt == "parquet":
        return _read_parquet_file(path)
    with _open_text(path) as handle:
        if fmt == "jsonl":
            try:
                metadata = json.loads(handle.readline())["metadata"]
            except (ValueError, KeyError):
                raise DPAFileError(path, "malformed metadata line") from None
            return AugmentationFile(path, "jsonl", _check_metadata(path, metadata))
        scanner = _JsonScanner(handle, path)
        scanner.expect("{")
        metadata, statistics = {}, None
        # Our files (and v0.2's) put metadata first; otherwise no metadata is read.
        if scanner.peek() == '"':
            key = scanner.value()
            if key == "metadata":
                scanner.expect(":")
                metadata = scanner.value()
        file = AugmentationFile(path, "json", _check_metadata(path, metadata), statistics)
    return file


def _read_parquet_file(path: Path) -> AugmentationFile:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover
        raise ImportError("reading Parquet needs pyarrow: pip install 'dpa[parquet]'") from exc
    try:
        parquet = pq.ParquetFile(path, pre_buffer=False)  # read row group by row group
    except Exception as exc:
        raise DPAFileError(path, f"not a readable Parquet file (truncated?): {exc}") from None
    raw = parquet.metadata.metadata or {}
    try:
        metadata = json.loads(raw[b"dpa.metadata"]) if b"dpa.metadata" in raw else {}
        summary = json.loads(raw[b"dpa.summary"]) if b"dpa.summary" in raw else {}
    except ValueError:
        raise DPAFileError(path, "malformed dpa metadata in the Parquet file") from None
    if not isinstance(summary, dict):
        raise DPAFileError(path, "malformed dpa summary in the Parquet file")
    metadata = _check_metadata(path, metadata)
    if b"dpa.metadata" in raw and "num_samples" not in summary:
        raise DPAFileError(path, "incomplete: the writer did not finish (no dpa.summary)")
    if "num_samples" in summary:
        metadata["num_samples"] = summary["num_samples"]
    metadata = _check_metadata(path, metadata)
    names = parquet.schema_arrow.names
    for name in (
        *PARAM_NAMES,
        "hash",
        *(["rank"] if isinstance(scheme_from_metadata(metadata), PerRecordRankScheme) else []),
    ):
        if name not in names:
            raise DPAFileError(path, f"missing column {name!r}")
    if (
        metadata.get("num_samples") is not None
        and parquet.metadata.num_rows != metadata["num_samples"]
    ):
        raise DPAFileError(
            path,
            f"declares {_brief(metadata['num_samples'])} samples "
            f"but holds {parquet.metadata.num_rows}",
        )
    file = AugmentationFile(path, "parquet", metadata, summary.get("statistics"), parquet)
    file.unknown_keys.extend(sorted(_brief(key) for key in set(summary) - _SUMMARY_KEYS))
    return file


#: The keys of a JSON Lines end line and of a Parquet file's dpa.summary.
_SUMMARY_KEYS = {"num_samples", "statistics"}
