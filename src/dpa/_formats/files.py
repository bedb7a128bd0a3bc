"""Opening a parameter file of any format: which format it is, from its content, and
:class:`AugmentationFile`, which reads it through that format's reader.

Example:
    >>> import tempfile, os, dpa
    >>> target = os.path.join(tempfile.mkdtemp(), "p.data")
    >>> dpa.save_augmentation_chain(dpa.generate_batch(range(3)), target, format="jsonl")
    >>> sniff_format(Path(target))
    'jsonl'
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._config import AugmentationConfig
from .._errors import DPAFileError
from .._keys import KeyScheme, PerRecordRankScheme, scheme_from_metadata
from .._parambatch import ParamBatch
from .._validate import check_int, check_path
from .common import FORMATS, READ_BLOCK, PathLike, open_binary
from .interface import FileFormat
from .json import JSON, JsonScanner
from .jsonl import JSON_LINES
from .parquet import PARQUET
from .text import open_text

__all__ = ["FILE_FORMATS", "AugmentationFile", "read_augmentation_file", "sniff_format"]

#: Each format's sink and reader, by name.
FILE_FORMATS: dict[str, FileFormat] = {fmt.name: fmt for fmt in (JSON, JSON_LINES, PARQUET)}


def sniff_format(path: Path) -> str:
    """The format of an existing file, from its content (not its name)."""
    with open_binary(path) as handle:
        head = handle.read(4)
    if head == b"PAR1":
        return "parquet"
    with open_text(path) as handle:
        scanner = JsonScanner(handle, path)
        try:
            first = scanner.peek()
        except DPAFileError:
            raise DPAFileError(path, "empty file") from None
        if first != "{":
            raise DPAFileError(path, "not a dpa file: neither JSON, JSON Lines nor Parquet")
        try:
            # JSON Lines: the whole first line is {"metadata": {...}}; JSON goes on
            # after the metadata with a comma. The header is parsed, whatever its size.
            scanner.advance()
            if scanner.peek() != '"' or scanner.value() != "metadata":
                return "json"
            scanner.expect(":")
            metadata = scanner.value()
            declared = metadata.get("format") if isinstance(metadata, dict) else None
            if declared in ("json", "jsonl"):
                return str(declared)  # what the writer said it wrote
            if scanner.peek() != "}":
                return "json"
            scanner.advance()  # a JSON Lines header is a whole line with more after it
            return "jsonl" if scanner.next_char() in ("\n", "\r") else "json"
        except DPAFileError:
            return "json"  # the JSON reader names the problem


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
        return FILE_FORMATS[self.format].read_batches(self, batch_size)

    def iter_records(self) -> Iterator[dict[str, Any]]:
        """Every record as a dict (with ``sample_id``), in file order."""
        for batch in self.iter_batches():
            yield from batch.to_dicts()


def read_augmentation_file(path: PathLike) -> AugmentationFile:
    """Open a parameter file of any of the three formats and read its metadata.

    The records are read later, incrementally, by :meth:`AugmentationFile.iter_batches`.
    """
    path = check_path(path)
    fmt = sniff_format(path)
    header = FILE_FORMATS[fmt].read_header(path)
    file = AugmentationFile(path, fmt, header.metadata, header.statistics, header.handle)
    file.unknown_keys.extend(header.unknown_keys)
    return file
