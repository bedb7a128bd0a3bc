"""What JSON and JSON Lines share: a record as one line of text, a header whose
count is written in place once the file is complete, and the checks of the
records read back.

Example:
    >>> from dpa._generate import generate_batch
    >>> line = record_lines(generate_batch([7]))[0]
    >>> line[:28]
    '{"sample_id": 7, "rotation":'
    >>> parse_record_line(line.encode() + b"\\n")["sample_id"]
    7
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .._config import PARAM_NAMES
from .._core import decimal, parse_decimal
from .._errors import DPAFileError
from .._parambatch import ParamBatch
from .common import count_problem, open_binary, record_problem
from .interface import OpenedFile

__all__ = [
    "TextSink",
    "count_offset",
    "open_text",
    "parse_record_line",
    "record_batches",
    "record_lines",
]

_COUNT_WIDTH = 21  # room for any count a file can hold, written in place at the end
_COUNT_PLACEHOLDER = "__DPA_NUM_SAMPLES__"
_COUNT_FIELD = re.compile(rb'"num_samples": ( *[0-9]+)[,}]')


def record_lines(batch: ParamBatch) -> list[str]:
    """Each record of ``batch`` as one line of JSON (no newline): the ids in
    decimal, the floats as ``repr`` writes them, ``rank`` after the id if present."""
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


def parse_record_line(line: bytes) -> dict[str, Any] | None:
    """The record on a whole line (ending in a newline) with a ``sample_id``, or None
    for anything else: an incomplete, damaged or end line."""
    if not line.endswith(b"\n"):
        return None
    try:
        record = json.loads(line, parse_int=parse_decimal)
    except (ValueError, RecursionError):
        return None
    if record_problem(record) is not None or "sample_id" not in record:
        return None
    return record  # type: ignore[no-any-return]


def count_offset(header: bytes) -> int | None:
    """Where the count that :class:`TextSink` writes in place starts in ``header``
    (the file's first bytes), or None when ``header`` has no count of that width
    there (not a header dpa wrote, or one edited since).

    Example:
        >>> count_offset(b'{"metadata": {"num_samples": ' + b"0".rjust(21) + b'}}')
        29
        >>> count_offset(b'{"metadata": {"num_samples": 0}}') is None
        True
    """
    found = _COUNT_FIELD.search(header)
    return found.start(1) if found and len(found.group(1)) == _COUNT_WIDTH else None


class TextSink:
    """The writer's side of a text format: the header, then records, then the end;
    the count in the header (a placeholder, spaces) written in place by
    :meth:`finish`. Subclasses lay out the records and the end.

    Writes ASCII bytes to a binary ``handle`` that belongs to the caller, so offsets
    are byte offsets. ``metadata`` None: the header is already there (a resumed file).
    """

    def __init__(self, handle: IO[bytes], path: Path, metadata: dict[str, Any] | None) -> None:
        self.handle = handle
        self.path = path
        self.first = True
        self.count_offset = 0
        if metadata is not None:
            self._write_header(metadata)

    def _write_header(self, metadata: dict[str, Any]) -> None:
        header = json.dumps({"metadata": dict(metadata, num_samples=_COUNT_PLACEHOLDER)})
        self.count_offset = self.handle.tell() + header.index(f'"{_COUNT_PLACEHOLDER}"')
        header = header.replace(f'"{_COUNT_PLACEHOLDER}"', "0".rjust(_COUNT_WIDTH))
        self.handle.write(self.header_text(header).encode("ascii"))

    def header_text(self, header: str) -> str:
        """The text that starts the file, from ``{"metadata": {...}}``."""
        raise NotImplementedError

    def records_text(self, lines: list[str]) -> str:
        """The text that adds the records of ``lines`` (not empty) to the file."""
        raise NotImplementedError

    def end_text(self, count: int, statistics: dict[str, Any] | None) -> str:
        """The text that ends the file."""
        raise NotImplementedError

    def write(self, batch: ParamBatch) -> None:
        lines = record_lines(batch)
        if not lines:
            return
        self.handle.write(self.records_text(lines).encode("ascii"))
        self.first = False

    def finish(self, count: int, statistics: dict[str, Any] | None) -> Path:
        self.handle.write(self.end_text(count, statistics).encode("ascii"))
        self.handle.flush()
        self.handle.seek(self.count_offset)
        self.handle.write(str(count).rjust(_COUNT_WIDTH).encode("ascii"))
        self.handle.flush()
        return self.path

    def close(self) -> None:
        """Nothing to let go of: the handle is the caller's."""

    def reserve_ids(self, last_id: int) -> None:
        """Nothing to do: text holds ids of any size."""


def open_text(path: Path) -> IO[str]:
    """``path`` open for reading text; a missing file or a folder said in one line.

    Bytes that are not UTF-8 become U+FFFD and then fail validation by name, rather
    than escaping as a UnicodeDecodeError.
    """
    return io.TextIOWrapper(open_binary(path), encoding="utf-8", errors="replace")


def record_batches(
    file: OpenedFile, records: Iterator[Any], batch_size: int
) -> Iterator[ParamBatch]:
    """The records read from a text file as checked batches of ``batch_size``;
    DPAFileError at the first bad record, and when their number is not the count
    the file declares."""
    ranked = file.per_record_rank
    pending: list[dict[str, Any]] = []
    position = 0
    for record in records:
        problem = record_problem(record)
        if problem:
            raise DPAFileError(file.path, f"record {position}: {problem}")
        if ranked and "rank" not in record:
            raise DPAFileError(
                file.path, f"record {position}: no 'rank' (the metadata says per_record_rank)"
            )
        pending.append(record)
        position += 1
        if len(pending) >= batch_size:
            yield ParamBatch.from_dicts(pending, position - len(pending), rank=ranked)
            pending = []
    if pending:
        yield ParamBatch.from_dicts(pending, position - len(pending), rank=ranked)
    declared = file.num_samples
    if declared is not None and declared != position:
        raise DPAFileError(file.path, f"{count_problem(declared, position)} (truncated?)")
