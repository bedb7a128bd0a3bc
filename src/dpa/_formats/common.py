"""What the three formats share: names and suffixes, metadata, record checks.

Example:
    >>> detect_format("out/params.ndjson")
    'jsonl'
    >>> record_problem({"rotation": 1.0})
    "'brightness' missing or not a number: None"
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from .._config import PARAM_NAMES, AugmentationConfig
from .._errors import DPAFileError
from .._keys import KeyScheme, scheme_from_metadata
from .._lifecycle import open_regular
from .._system import package_version

__all__ = [
    "FORMATS",
    "FORMAT_VERSION",
    "NESTED_TOO_DEEPLY",
    "READ_BLOCK",
    "SUMMARY_KEYS",
    "PathLike",
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
#: What a reader says of JSON nested deeper than Python's parser can follow.
NESTED_TOO_DEEPLY = "malformed JSON: nested too deeply to read"

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
        >>> from dpa._keys import ElasticScheme
        >>> new_metadata("jsonl", AugmentationConfig(), ElasticScheme(1, 2))["elastic_info"]
        {'key_version': 'dpa-elastic-v1', 'base_seed': 1, 'epoch': 2}
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
    try:
        return _checked_metadata(path, metadata)
    except RecursionError:  # a value nested deeper than the checks can follow
        raise DPAFileError(path, f"metadata: {NESTED_TOO_DEEPLY}") from None


def _checked_metadata(path: Path, metadata: dict[str, Any]) -> dict[str, Any]:
    config = metadata.get("config")
    if config is not None:
        try:
            AugmentationConfig.from_dict(config)
        except (TypeError, ValueError) as exc:
            raise DPAFileError(path, f"invalid config in metadata: {_cut(exc)}") from None
    count = metadata.get("num_samples")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
        raise DPAFileError(path, f"invalid num_samples in metadata: {brief(count)}")
    if metadata.get("distributed_info") is not None and metadata.get("elastic_info") is not None:
        raise DPAFileError(path, "metadata declares both distributed_info and elastic_info")
    try:
        scheme_from_metadata(metadata)
    except (TypeError, ValueError) as exc:
        raise DPAFileError(path, f"invalid key scheme in metadata: {_cut(exc)}") from None
    return metadata


def _cut(exc: Exception) -> str:
    """An error's message, cut to 300 characters (it may quote a value of any size).

    Example:
        >>> _cut(ValueError("x" * 1000))[-12:]
        'xxxxxxxxx...'
    """
    text = str(exc)
    return text if len(text) <= 300 else text[:297] + "..."


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
            return f"{name!r} missing or not a number: {brief(value)}"
        try:
            finite = math.isfinite(value)
        except OverflowError:  # an int no float holds
            finite = False
        if not finite:
            return f"{name!r} is not finite: {brief(value)}"
    digest = record.get("hash")
    if not isinstance(digest, str) or not _HEX64.match(digest):
        return f"'hash' missing or not 64 lower-case hex digits: {brief(digest)}"
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
    try:
        return f"{value!r:.80}"
    except RecursionError:
        return f"<a {type(value).__name__} nested too deeply to show>"


def open_binary(path: Path) -> IO[bytes]:
    """``path`` open for reading bytes; a missing file, a folder or anything but a
    regular file (a FIFO, a device: :func:`~dpa._lifecycle.open_regular`) said in
    one line."""
    try:
        return open_regular(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
