"""The JSON Lines format: a header line, one record a line, an end line.

``{"metadata": {...}}`` first (the count written in place at the end), then the
records, then ``{"end": {"num_samples": N, "statistics": {...}}}``, which marks the
file complete. Being a file of whole lines, it can be resumed: a partial output
keeps its whole lines, and :func:`open_sink` continues after the
last good one.

Example:
    >>> JSON_LINES.name, JSON_LINES.resumable
    ('jsonl', True)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .._core import parse_decimal
from .._errors import DPAFileError
from .._lifecycle import PendingFile
from .._parambatch import ParamBatch
from .common import NESTED_TOO_DEEPLY, READ_BLOCK, SUMMARY_KEYS, brief, check_metadata
from .interface import FileFormat, Header, OpenedFile, RecordSink, Resume
from .text import TextSink, count_offset, open_text, parse_record_line, record_batches

__all__ = ["JSON_LINES", "JsonLinesSink", "open_sink", "read_batches", "read_header"]


class JsonLinesSink(TextSink):
    """Writes JSON Lines; with ``flush`` each batch reaches the file at once, so that
    what a killed run leaves is whole lines, for a later run to continue."""

    def __init__(
        self,
        handle: IO[bytes],
        path: Path,
        metadata: dict[str, Any] | None,
        *,
        flush: bool = False,
    ) -> None:
        super().__init__(handle, path, metadata)
        self.flush = flush

    @classmethod
    def reopen(cls, handle: IO[bytes], path: Path, offset: int, count: int) -> JsonLinesSink:
        """Continue a file whose ``count`` records end where ``handle`` stands, its
        count to be written in place at ``offset``."""
        sink = cls(handle, path, None, flush=True)
        sink.count_offset = offset
        sink.first = count == 0
        return sink

    def header_text(self, header: str) -> str:
        return header + "\n"

    def records_text(self, lines: list[str]) -> str:
        return "\n".join(lines) + "\n"

    def end_text(self, count: int, statistics: dict[str, Any] | None) -> str:
        end: dict[str, Any] = {"num_samples": count}
        if statistics is not None:
            end["statistics"] = statistics
        return json.dumps({"end": end}) + "\n"

    def write(self, batch: ParamBatch) -> None:
        super().write(batch)
        if self.flush:
            self.handle.flush()


def _continue(
    handle: IO[bytes], path: Path, metadata: dict[str, Any], resume: Resume
) -> tuple[JsonLinesSink, int] | None:
    """Continue the partial JSON Lines file open in ``handle`` after its last good
    record (consecutive ids from the start id, each on a whole, valid line, and
    equal to its recomputation: ``resume.take``); None when it holds no whole
    header (the run was stopped before writing anything)."""
    handle.seek(0)
    header = handle.readline()
    if not header.endswith(b"\n"):
        return None
    offset = count_offset(header)
    try:
        found = json.loads(header, parse_int=parse_decimal)["metadata"]
    except (ValueError, KeyError, TypeError, RecursionError):
        found = None
    resume.check_header(path, found if offset is not None else None)
    assert offset is not None  # (check_header refuses a header without its count)
    good_end = handle.tell()
    count = 0
    for block, ends in _record_blocks(handle, good_end, metadata.get("start_id", 0)):
        kept = resume.take(block)
        count += kept
        if kept:
            good_end = ends[kept - 1]
        if kept < len(block):
            break
    handle.seek(good_end)
    handle.truncate()
    return JsonLinesSink.reopen(handle, path, offset, count), count


def _record_blocks(
    handle: IO[bytes], offset: int, expected: int
) -> Iterator[tuple[list[dict[str, Any]], list[int]]]:
    """The records of the lines from ``offset`` on, in blocks, with the offset where
    each one's line ends; up to the cut: an incomplete, damaged or end line, or an
    id that does not follow ``expected`` on."""
    block: list[dict[str, Any]] = []
    ends: list[int] = []
    for line in handle:
        record = parse_record_line(line)
        if record is None or record.get("sample_id") != expected:
            break
        offset += len(line)
        expected += 1
        block.append(record)
        ends.append(offset)
        if len(block) >= READ_BLOCK:
            yield block, ends
            block, ends = [], []
    if block:
        yield block, ends


def open_sink(
    pending: PendingFile, metadata: dict[str, Any], resume: Resume | None
) -> tuple[RecordSink, int]:
    """A :class:`JsonLinesSink` writing ``pending``; a resumable one continued after
    its last good record with ``resume``, else started over."""
    handle = pending.open()
    if not pending.resumable:
        return JsonLinesSink(handle, pending.path, metadata), 0
    continued = _continue(handle, pending.path, metadata, resume) if resume else None
    if continued is not None:
        return continued
    handle.seek(0)
    handle.truncate()
    return JsonLinesSink(handle, pending.path, metadata, flush=True), 0


def read_header(path: Path) -> Header:
    """The metadata of a JSON Lines file: its first line's."""
    with open_text(path) as handle:
        try:
            metadata = json.loads(handle.readline(), parse_int=parse_decimal)["metadata"]
        except RecursionError:
            raise DPAFileError(path, f"metadata line: {NESTED_TOO_DEEPLY}") from None
        except (ValueError, KeyError, TypeError):
            raise DPAFileError(path, "malformed metadata line") from None
    return Header(check_metadata(path, metadata))


def read_batches(file: OpenedFile, batch_size: int) -> Iterator[ParamBatch]:
    """The records, one a line, up to the end line (whose count and statistics are
    taken: a file without one is truncated)."""
    return record_batches(file, _records(file), batch_size)


def _records(file: OpenedFile) -> Iterator[Any]:
    with open_text(file.path) as handle:
        handle.readline()  # the metadata line, already read
        line_number = 1
        for line in handle:
            line_number += 1
            if not line.endswith("\n"):
                raise DPAFileError(file.path, f"truncated: line {line_number} is incomplete")
            try:
                item = json.loads(line, parse_int=parse_decimal)
            except RecursionError:
                raise DPAFileError(file.path, f"line {line_number}: {NESTED_TOO_DEEPLY}") from None
            except ValueError as exc:
                raise DPAFileError(
                    file.path, f"line {line_number}: malformed JSON: {exc}"
                ) from None
            if isinstance(item, dict) and set(item) == {"end"}:
                _read_end(file, item["end"], line_number)
                if handle.readline():
                    raise DPAFileError(file.path, f"data after the end line {line_number}")
                return
            yield item
        raise DPAFileError(file.path, "truncated: no end line (the writer did not finish)")


def _read_end(file: OpenedFile, end: Any, line_number: int) -> None:
    """Take the count and statistics of the end line (checked against the header)."""
    if not isinstance(end, dict) or not isinstance(end.get("num_samples"), int):
        raise DPAFileError(file.path, f"line {line_number}: malformed end line")
    if file.num_samples is not None and end["num_samples"] != file.num_samples:
        raise DPAFileError(file.path, "the end line and the metadata disagree on the count")
    file.metadata["num_samples"] = end["num_samples"]
    file.statistics = end.get("statistics")
    file.unknown_keys.extend(sorted(brief(key) for key in set(end) - SUMMARY_KEYS))


#: The JSON Lines format (resumable; the partial output is a file).
JSON_LINES = FileFormat("jsonl", open_sink, read_header, read_batches, resumable=True)


#: How much of a file's end is read to find its end line.
_TAIL = 1 << 16


def read_end_line(path: Path) -> dict[str, Any] | None:
    """The ``end`` block of a JSON Lines file (its count and statistics), read from
    the file's last bytes without reading its records; None when the last line is not
    a readable end line (an unfinished file: read the records instead).

    Example:
        >>> import tempfile, dpa
        >>> target = Path(tempfile.mkdtemp()) / "p.jsonl"
        >>> dpa.save_augmentation_chain(dpa.generate_batch(range(5)), target)
        >>> read_end_line(target)["num_samples"]
        5
    """
    with open(path, "rb") as handle:
        size = handle.seek(0, 2)
        handle.seek(max(0, size - _TAIL))
        tail = handle.read()
    lines = tail.rstrip(b"\n").rsplit(b"\n", 1)
    if len(lines) < 2 and size > _TAIL:
        return None  # an end line longer than the tail is no end line dpa wrote
    try:
        item = json.loads(lines[-1])
    except (ValueError, RecursionError):
        return None
    if not isinstance(item, dict) or set(item) != {"end"} or not isinstance(item["end"], dict):
        return None
    return item["end"]
