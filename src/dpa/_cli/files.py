"""The files the ``dpa`` commands read and write: checks made before any work, each a
one-line usage error.

Example:
    >>> output_format(Path("out/params.jsonl"), None)
    'jsonl'
"""

from __future__ import annotations

from pathlib import Path

from .._formats import AugmentationFile, detect_format, read_augmentation_file
from .errors import fail

__all__ = ["make_folder", "open_data_file", "output_format", "require_pyarrow"]


def output_format(output: Path, fmt: str | None) -> str:
    """The format to write the file ``output`` in: ``fmt`` (``--format``) if given,
    else its suffix's. A folder, an unknown suffix, or Parquet without pyarrow is a
    usage error."""
    if output.is_dir():
        fail(f"{output}: is a folder; give a file name")
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
