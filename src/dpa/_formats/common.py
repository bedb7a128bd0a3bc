"""What the three formats share: names and suffixes, metadata, record checks, and
the two interfaces each format implements (:class:`RecordSink`, :class:`FileFormat`).

Example:
    >>> detect_format("out/params.ndjson")
    'jsonl'
    >>> record_problem({"rotation": 1.0})
    "'brightness' missing or not a number: None"
"""

from __future__ import annotations

import datetime as _dt
import functools
import math
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO, Any, NamedTuple, Protocol

from .._config import PARAM_NAMES, AugmentationConfig
from .._errors import DPAFileError
from .._keys import KeyScheme, PerRecordRankScheme, scheme_from_metadata
from .._lifecycle import PendingFile
from .._parambatch import ParamBatch

__all__ = [
    "FORMATS",
    "FORMAT_VERSION",
    "READ_BLOCK",
    "FileFormat",
    "Header",
    "OpenedFile",
    "PathLike",
    "RecordSink",
    "Resume",
    "brief",
    "check_metadata",
    "checked_records",
    "count_problem",
    "detect_format",
    "new_metadata",
    "open_binary",
    "package_version",
    "record_problem",
    "utc_now",
]

FORMATS = ("json", "jsonl", "parquet")
#: The layout version written in every file's metadata.
FORMAT_VERSION = 1
#: How many records the readers hand out at a time unless asked otherwise.
READ_BLOCK = 4096
#: The keys of a JSON Lines end line and of a Parquet file's ``dpa.summary``.
SUMMARY_KEYS = frozenset({"num_samples", "statistics"})
PathLike = str | os.PathLike[str]

_SUFFIXES = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")


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


# --- metadata ---------------------------------------------------------------------


@functools.cache
def package_version() -> str:
    """The installed dpa's version, written in each file's metadata."""
    try:
        return version("dpa")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0.0.0+unknown"


def utc_now() -> str:
    """The time now, as each file's metadata records it (ISO 8601, UTC, seconds)."""
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_metadata(
    fmt: str,
    config: AugmentationConfig,
    scheme: KeyScheme,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The metadata of a new file, its count still unknown (``None``).

    Example:
        >>> new_metadata("jsonl", AugmentationConfig(), PerRecordRankScheme(1, 2))["format"]
        'jsonl'
    """
    metadata: dict[str, Any] = {
        "version": package_version(),
        "format_version": FORMAT_VERSION,
        "format": fmt,
        "config": config.to_dict(),
        "num_samples": None,
        "generation_time": utc_now(),
    }
    metadata.update(scheme.to_metadata())
    if extra:
        metadata.update(extra)
    return metadata


def check_metadata(path: Path, metadata: Any) -> dict[str, Any]:
    """``metadata`` as read from ``path``, checked: an object whose config, count and
    key scheme are valid where given (DPAFileError naming the problem otherwise)."""
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


def count_problem(declared: Any, found: int) -> str:
    """How a declared count and the records found disagree."""
    return f"declares {brief(declared)} samples but holds {found}"


# --- records ----------------------------------------------------------------------


def record_problem(record: Any) -> str | None:
    """What is wrong with one record (a dict read from a file), or None."""
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
            return f"{name!r} is not finite: {brief(value)}"
    digest = record.get("hash")
    if not isinstance(digest, str) or not _HEX64.match(digest):
        return f"'hash' missing or not 64 lower-case hex digits: {digest!r:.80}"
    if "sample_id" in record:
        sid = record["sample_id"]
        if isinstance(sid, bool) or not isinstance(sid, int) or sid < 0:
            return f"'sample_id' is not a non-negative int: {brief(sid)}"
    if "rank" in record:
        rank = record["rank"]
        if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank < 2**63:
            return f"'rank' is not a non-negative int: {brief(rank)}"
    return None


def checked_records(records: Sequence[Any]) -> Sequence[dict[str, Any]]:
    """``records`` themselves, once each is a valid record (ValueError naming the
    first that is not, by position)."""
    for position, record in enumerate(records):
        problem = record_problem(record)
        if problem:
            raise ValueError(f"record {position}: {problem}")
    return records


def brief(value: Any) -> str:
    """``repr(value)``, cut to 80 characters (an int too long to print: its size).

    Example:
        >>> brief(2**1000)
        '<an int of 1001 bits>'
    """
    if isinstance(value, int) and value.bit_length() > 256:
        return f"<an int of {value.bit_length()} bits>"
    return f"{value!r:.80}"


def open_binary(path: Path) -> IO[bytes]:
    """``path`` open for reading bytes; a missing file or a folder said in one line."""
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"{path}: is a folder, not a file") from None


# --- the interfaces of a format ---------------------------------------------------


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


@dataclass(frozen=True)
class Resume:
    """How a writer continues a partial output: ``check`` raises ValueError when its
    metadata is not the writer's; ``take`` receives the records already there, in
    blocks (a list of dicts or a :class:`ParamBatch`)."""

    check: Callable[[dict[str, Any]], None]
    take: Callable[[ParamBatch | list[dict[str, Any]]], None]


class Header(NamedTuple):
    """What a reader finds before the records: the checked metadata, the statistics
    if they come first, the format's open handle, unknown summary keys."""

    metadata: dict[str, Any]
    statistics: dict[str, Any] | None = None
    handle: Any = None
    unknown_keys: tuple[str, ...] = ()


@dataclass
class OpenedFile:
    """A parameter file opened for reading, as its format's reader sees it."""

    path: Path
    format: str
    metadata: dict[str, Any]
    statistics: dict[str, Any] | None = None
    _parquet: Any = field(default=None, repr=False)
    #: Keys the reader does not know where dpa's own keys go (the top level of a JSON
    #: file, a JSON Lines end line, a Parquet summary): a damaged key, perhaps.
    unknown_keys: list[str] = field(default_factory=list, init=False, repr=False)

    @property
    def num_samples(self) -> int | None:
        """The count the file declares (``None`` when it declares none)."""
        count = self.metadata.get("num_samples")
        return count if isinstance(count, int) else None

    @property
    def scheme(self) -> KeyScheme:
        """The key scheme the metadata declares (plain, rank-aware, elastic)."""
        return scheme_from_metadata(self.metadata)

    @property
    def per_record_rank(self) -> bool:
        """True when each record carries the rank that drew it (a merged
        rank-aware file); its batches then have a ``rank`` column."""
        return isinstance(self.scheme, PerRecordRankScheme)


class FileFormat(Protocol):
    """One format's sink and reader, as the writer and :class:`AugmentationFile` use
    them."""

    #: The format's name, one of :data:`FORMATS`.
    name: str
    #: Whether its output can be resumed, and whether the partial is a folder.
    resumable: bool
    partial_is_folder: bool

    def open_sink(
        self, pending: PendingFile, metadata: dict[str, Any], resume: Resume | None
    ) -> tuple[RecordSink, int]:
        """A sink writing ``pending`` with ``metadata``, and how many records it
        already holds (with ``resume``, a resumable partial's; else 0)."""
        ...

    def read_header(self, path: Path) -> Header:
        """The metadata (checked) and what else the file says before its records."""
        ...

    def read_batches(self, file: OpenedFile, batch_size: int) -> Iterator[ParamBatch]:
        """The records of ``file`` as validated batches; fills in what the file says
        after them (count, statistics, unknown keys)."""
        ...
