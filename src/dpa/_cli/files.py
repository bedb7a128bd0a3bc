"""The files the ``dpa`` commands read and write: checks made before any work, each a
one-line usage error.

Example:
    >>> output_format(Path("out/params.jsonl"), None)
    'jsonl'
"""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

from .._formats import AugmentationFile, detect_format, read_augmentation_file
from .._lifecycle import UnsafePathError, check_replaceable
from .errors import fail

__all__ = [
    "check_free_space",
    "make_folder",
    "open_data_file",
    "output_format",
    "require_pyarrow",
]

#: Bytes a record takes at least, per format, as written (JSON Parquet: zstd, ids
#: of a few digits); a Parquet run's parts (uncompressed) take more until joined.
_RECORD_BYTES = {"json": 220, "jsonl": 220, "parquet": 64}
_PART_RECORD_BYTES = 100


def output_format(output: Path, fmt: str | None) -> str:
    """The format to write the file ``output`` in: ``fmt`` (``--format``) if given,
    else its suffix's. A folder, an unknown suffix, or Parquet without pyarrow is a
    usage error."""
    if output.is_dir():
        fail(f"{output}: is a folder; give a file name")
    try:
        check_replaceable(output)
    except UnsafePathError as exc:
        fail(str(exc))
    try:
        fmt = detect_format(output, fmt)
    except ValueError as exc:
        fail(str(exc).replace("pass format=", "pass --format"))
    if fmt == "parquet":
        require_pyarrow()
    return fmt


def require_pyarrow() -> None:
    """A usage error saying how to install pyarrow, when it is missing."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        fail("the parquet format needs pyarrow: pip install 'dpa-augment[parquet]'")


def make_folder(output: Path) -> None:
    """Create the folder ``output`` goes in (a usage error when it cannot be)."""
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"{output}: cannot create its folder: {exc.strerror or exc}")


def open_data_file(path: Path) -> AugmentationFile:
    """The dpa output file at ``path`` (an existing file), opened for reading."""
    if path.suffix == ".parquet":
        require_pyarrow()
    return read_augmentation_file(path)


def check_free_space(output: Path, fmt: str, records: int, partial: Path | None = None) -> None:
    """A usage error when the folder of ``output`` has clearly too little free space
    for ``records`` records in ``fmt``: the file itself, and for a resumable Parquet
    run (``partial``, its folder of parts) the parts too until they are joined,
    about twice the file. What a ``partial`` output already holds counts as written
    (continued, or freed when started over). The estimate is a lower bound (short
    ids, zstd at its best), so that no run that would fit is refused."""
    per_record = _RECORD_BYTES[fmt]
    if fmt == "parquet" and partial is not None:
        per_record += _PART_RECORD_BYTES
    needed = records * per_record - _bytes_in(partial)
    folder = output.parent
    while not folder.is_dir() and folder != folder.parent:  # to be made: where it goes
        folder = folder.parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError:  # cannot tell: the writer reports a full disk if it comes to that
        return
    if needed > free:
        parts = " (its parts, then the joined file)" if fmt == "parquet" else ""
        fail(
            f"{output}: {records:,} records in {fmt} need at least {_size(needed)}{parts}, "
            f"but {folder} has {_size(free)} free; free some space or write elsewhere"
        )


def _bytes_in(partial: Path | None) -> int:
    """The bytes a partial output (a file, or a folder of files) holds; 0 if none."""
    if partial is None:
        return 0
    try:
        found = partial.lstat()
        if stat.S_ISDIR(found.st_mode):
            return sum(entry.lstat().st_size for entry in partial.iterdir())
        return found.st_size if stat.S_ISREG(found.st_mode) else 0
    except OSError:
        return 0


def _size(count: int) -> str:
    """A byte count in words.

    Example:
        >>> _size(3_500_000_000), _size(999)
        ('3.5 GB', '999 bytes')
    """
    for unit, scale in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"
