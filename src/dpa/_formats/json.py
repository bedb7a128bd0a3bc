"""The JSON format: one document, read back incrementally.

``{"metadata": {...},\\n"augmentations": [record,\\nrecord, ...\\n],\\n"statistics": {...}}``
with the count in the metadata written in place once the records are all there.
DPA v0.2's files (no metadata, or records without ``sample_id``) read as well.
The reader never loads the document whole: :class:`JsonScanner` walks its keys
and the ``augmentations`` array element by element.

Example:
    >>> import io
    >>> scanner = JsonScanner(io.StringIO('{"a": [1, 2]}'), Path("x.json"))
    >>> scanner.expect("{"); scanner.value(); scanner.expect(":"); scanner.value()
    'a'
    [1, 2]
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .._core import parse_decimal
from .._errors import DPAFileError
from .._lifecycle import PendingFile
from .._parambatch import ParamBatch
from .common import NESTED_TOO_DEEPLY, brief, check_metadata
from .interface import FileFormat, Header, OpenedFile, RecordSink, Resume
from .text import TextSink, open_text, record_batches

__all__ = ["JSON", "JsonScanner", "JsonSink", "open_sink", "read_batches", "read_header"]

_BLOCK = 1 << 20  # characters read at a time
_SPACE = re.compile(r"[ \t\r\n]*")  # JSON's white space (always matches)


class JsonSink(TextSink):
    """Writes a JSON document: the header opens the ``augmentations`` array, each
    batch adds its records one a line, the end closes it and adds ``statistics``."""

    def header_text(self, header: str) -> str:
        return header[:-1] + ',\n"augmentations": ['

    def records_text(self, lines: list[str]) -> str:
        return ("\n" if self.first else ",\n") + ",\n".join(lines)

    def end_text(self, count: int, statistics: dict[str, Any] | None) -> str:
        tail = "]" if self.first else "\n]"
        if statistics is not None:
            tail += ',\n"statistics": ' + json.dumps(statistics)
        return tail + "}\n"


class JsonScanner:
    """Incremental reader of one JSON document: top-level keys one at a time, and
    the ``augmentations`` array element by element, without loading the file."""

    def __init__(self, handle: IO[str], path: Path) -> None:
        self.handle = handle
        self.path = path
        self.buffer = ""
        self.pos = 0
        self.eof = False
        self.decoder = json.JSONDecoder(parse_int=parse_decimal)

    def _fill(self, size: int = _BLOCK) -> bool:
        """Read ``size`` more characters after what is left to parse; False at the end."""
        if self.eof:
            return False
        chunk = self.handle.read(size)
        if not chunk:
            self.eof = True
            return False
        self.buffer = self.buffer[self.pos :] + chunk
        self.pos = 0
        return True

    def _more(self) -> bool:
        """Read at least as much again as is left to parse (a value that goes on past
        the buffer): a value of n characters is parsed O(log n) times over a buffer
        that doubles, O(n) in all, however long it is."""
        return self._fill(max(_BLOCK, len(self.buffer) - self.pos))

    def peek(self) -> str:
        """The next character that is not white space (DPAFileError at the end)."""
        while True:
            self.pos = _SPACE.match(self.buffer, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self._fill():
                raise DPAFileError(self.path, "truncated: the file ends before the JSON does")

    def advance(self) -> None:
        """Step over the character :meth:`peek` returned."""
        self.pos += 1

    def expect(self, char: str) -> None:
        """Step over ``char``, the next character that is not white space."""
        found = self.peek()
        if found != char:
            raise DPAFileError(
                self.path,
                f"malformed JSON: expected {char!r} at offset ~{self.pos}, found {found!r}",
            )
        self.pos += 1

    def next_char(self) -> str:
        """The character at the current position, white space included ('' at the end)."""
        if self.pos >= len(self.buffer):
            self._fill()
        return self.buffer[self.pos : self.pos + 1]

    def peek_end(self) -> bool:
        """True when anything but white space follows the document."""
        try:
            self.peek()
        except DPAFileError:
            return False
        return True

    def value(self) -> Any:
        """The next JSON value, decoded (ints of any size, as :func:`parse_decimal`)."""
        self.peek()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as exc:
                if self._cut_short(exc) and self._more():
                    continue
                raise DPAFileError(self.path, self._problem(exc)) from None
            except RecursionError:
                raise DPAFileError(self.path, f"{NESTED_TOO_DEEPLY} (offset ~{self.pos})") from None
            except ValueError as exc:  # a number int() refuses (too many digits)
                raise DPAFileError(self.path, f"malformed JSON: {exc}") from None
            if end >= len(self.buffer) and not self.eof and self._more():
                continue  # a number may go on in the next block: parse again
            self.pos = end
            return value

    def _cut_short(self, exc: json.JSONDecodeError) -> bool:
        """Whether the parse failed where the buffer ends (the value may go on in the
        file) rather than on malformed text within it."""
        return exc.msg.startswith("Unterminated") or exc.pos >= len(self.buffer) - 16

    def _problem(self, exc: json.JSONDecodeError) -> str:
        near_end = exc.pos >= len(self.buffer.rstrip()) - 200
        cut = self.eof and (near_end or exc.msg.startswith("Unterminated"))
        return f"{'truncated' if cut else 'malformed JSON'}: {exc.msg} (offset ~{exc.pos})"

    def items(self, array_key: str) -> Iterator[tuple[Any, Any]]:
        """The object's ``(key, value)`` pairs after its ``{``; the value of
        ``array_key`` is not decoded but iterated (yielded as an iterator that must be
        consumed before the next pair)."""
        if self.peek() == "}":
            self.advance()
            return
        while True:
            key = self.value()
            self.expect(":")
            yield key, (self._elements() if key == array_key else self.value())
            if self.peek() == ",":
                self.advance()
                continue
            self.expect("}")
            return

    def _elements(self) -> Iterator[Any]:
        self.expect("[")
        if self.peek() == "]":
            self.advance()
            return
        while True:
            yield self.value()
            if self.peek() == ",":
                self.advance()
                continue
            self.expect("]")
            return


def open_sink(
    pending: PendingFile, metadata: dict[str, Any], resume: Resume | None
) -> tuple[RecordSink, int]:
    """A :class:`JsonSink` writing ``pending`` (never resumed: JSON is not resumable)."""
    return JsonSink(pending.open(), pending.path, metadata), 0


def read_header(path: Path) -> Header:
    """The metadata of a JSON file: its first key's value (none in other files)."""
    # Our files (and v0.2's) put metadata first; otherwise no metadata is read.
    metadata: Any = {}
    with open_text(path) as handle:
        scanner = JsonScanner(handle, path)
        scanner.expect("{")
        first = scanner.peek()
        if first not in ('"', "}"):
            raise DPAFileError(
                path, f"malformed JSON: expected a key at offset ~{scanner.pos}, found {first!r}"
            )
        if first == '"' and scanner.value() == "metadata":
            scanner.expect(":")
            metadata = scanner.value()
    return Header(check_metadata(path, metadata))


def read_batches(file: OpenedFile, batch_size: int) -> Iterator[ParamBatch]:
    """The records of ``augmentations``; ``statistics`` and unknown keys noted."""
    return record_batches(file, _records(file), batch_size)


def _records(file: OpenedFile) -> Iterator[Any]:
    with open_text(file.path) as handle:
        scanner = JsonScanner(handle, file.path)
        scanner.expect("{")
        seen_records = False
        for key, value in scanner.items("augmentations"):
            if key == "augmentations":
                seen_records = True
                yield from value
            elif key == "statistics":
                file.statistics = value
            elif key != "metadata":
                file.unknown_keys.append(brief(key))
        if not seen_records:
            raise DPAFileError(file.path, "no 'augmentations' in the file")
        if scanner.peek_end():
            raise DPAFileError(file.path, "malformed JSON: data after the end of the document")


#: The JSON format (not resumable).
JSON = FileFormat("json", open_sink, read_header, read_batches)
