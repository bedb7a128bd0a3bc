"""The interfaces of a format: what the writer calls on its sink (:class:`RecordSink`),
and what :class:`~dpa._formats.files.AugmentationFile` asks of its reader
(:class:`FileFormat`), with the pieces they pass (:class:`Resume`, :class:`Header`,
:class:`OpenedFile`). Each format module defines one :class:`FileFormat`.

Example:
    >>> from dpa._formats.jsonl import JSON_LINES
    >>> JSON_LINES.name, JSON_LINES.resumable, JSON_LINES.partial_is_folder
    ('jsonl', True, False)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from .._lifecycle import PendingFile
from .._parambatch import ParamBatch

__all__ = ["FileFormat", "Header", "OpenedFile", "RecordSink", "Resume"]


class RecordSink(Protocol):
    """What a writer calls on the sink of any format, in this order: :meth:`write`
    any number of times, :meth:`finish` once, :meth:`close` always (also in place of
    :meth:`finish` when the writer gives up)."""

    def write(self, batch: ParamBatch) -> None:
        """Append the records of ``batch``."""

    def finish(self, count: int, statistics: dict[str, Any] | None) -> Path:
        """Complete the file (the ``count`` records written, their ``statistics``)
        and return where it lies, to be renamed into place."""
        ...

    def close(self) -> None:
        """Let go of what the sink itself opened. Safe to call more than once."""

    def reserve_ids(self, last_id: int) -> None:
        """Say that ids up to ``last_id`` will be written (before the first
        :meth:`write`), so that a column of fixed type can hold them all."""


@dataclass(frozen=True)
class Resume:
    """How a writer continues a partial output: ``check`` raises ValueError when its
    metadata is not the writer's; ``take`` receives the records already there, in
    blocks (a list of dicts or a :class:`ParamBatch`), recomputes them, and returns
    how many of the block's first records are right: the partial output is cut
    after them (a record edited or damaged is written again, never kept)."""

    check: Callable[[dict[str, Any]], None]
    take: Callable[[ParamBatch | list[dict[str, Any]]], int]

    def check_header(self, partial: Path, found: Any) -> None:
        """Check the metadata ``found`` in the partial output ``partial`` (None when
        it could not be read): ValueError unless it is an object, and the writer's."""
        if not isinstance(found, dict):
            raise ValueError(
                f"{partial}: the interrupted output has no readable header; "
                "run without resuming to start over"
            )
        self.check(found)


class Header(NamedTuple):
    """What a reader finds before the records: the checked metadata, the statistics
    if they come first, the format's open handle, unknown summary keys."""

    metadata: dict[str, Any]
    statistics: dict[str, Any] | None = None
    handle: Any = None
    unknown_keys: tuple[str, ...] = ()


class OpenedFile(Protocol):
    """A file as its format's reader sees it (an
    :class:`~dpa._formats.files.AugmentationFile`): where it is, what its header
    said, and what the reader fills in from after the records (the count in
    ``metadata``, ``statistics``, ``unknown_keys``)."""

    path: Path
    metadata: dict[str, Any]
    statistics: dict[str, Any] | None
    unknown_keys: list[str]
    #: The format's open handle (a pyarrow ParquetFile; None for text formats).
    _parquet: Any

    @property
    def num_samples(self) -> int | None:
        """The count the file declares (``None`` when it declares none)."""

    @property
    def per_record_rank(self) -> bool:
        """True when each record carries the rank that drew it."""
        ...


@dataclass(frozen=True)
class FileFormat:
    """One format as the writer and :class:`AugmentationFile` use it: its name, its
    sink (``open_sink``) and its reader (``read_header``, then ``read_batches``).

    ``open_sink(pending, metadata, resume)`` gives a :class:`RecordSink` writing the
    :class:`~dpa._lifecycle.PendingFile` ``pending`` with ``metadata``, and how many
    records it already holds (with ``resume``, a resumable partial's; else 0).
    ``read_header(path)`` reads the metadata (checked) and what else the file says
    before its records. ``read_batches(file, batch_size)`` yields the records as
    validated batches and fills in what the file says after them (count,
    statistics, unknown keys). ``resumable``: whether its output can be continued
    after an interruption; ``partial_is_folder``: whether that partial output is a
    folder (of pieces) rather than a file.
    """

    name: str
    open_sink: Callable[[PendingFile, dict[str, Any], Resume | None], tuple[RecordSink, int]]
    read_header: Callable[[Path], Header]
    read_batches: Callable[[OpenedFile, int], Iterator[ParamBatch]]
    resumable: bool = False
    partial_is_folder: bool = False
