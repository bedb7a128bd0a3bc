"""``dpa verify FILE``: recompute every record of a dpa output file (or of a folder of
shards, and check the shards cover the run's ids once) from its metadata.

Exit status: 0 when everything matches; 1 when the file or folder is damaged or does
not match (a value, a missing or extra record, ids out of order, a truncated or
malformed file of any format, an incomplete shard folder); 2 when the command could
not run (a usage error, a path that does not exist or cannot be read, a folder that
holds no dpa shards at all).

Example:
    >>> import dpa, pathlib, tempfile
    >>> from dpa._cli import main
    >>> saved = pathlib.Path(tempfile.mkdtemp()) / "params.json"
    >>> dpa.save_augmentation_chain(dpa.generate_batch(range(4)), saved)
    >>> main(["verify", str(saved)])  # doctest: +ELLIPSIS
    OK: all 4 records of .../params.json match (json)
    0
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from .._errors import DPAFileError
from .errors import EXIT_FAILED, fail
from .files import open_data_file, require_pyarrow
from .options import resolve_workers, workers_option
from .progress import progress_bar

if TYPE_CHECKING:
    from .._verify import Mismatch, VerifyReport

__all__ = ["check_input_file", "verify"]


@click.command(short_help="Recompute a file or shard folder; exit 0, 1 or 2.")
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@click.option("--max-mismatches", type=click.IntRange(min=0), default=10, show_default=True)
@workers_option
@click.option("-q", "--quiet", is_flag=True, help="No progress bar; only failures.")
def verify(file: Path, max_mismatches: int, workers: int | None, quiet: bool) -> None:
    """Recompute every record of FILE (or shard FOLDER) from its metadata.

    Exit status 0: all match; 1: damaged or different; 2: could not run."""
    checking = _Checking(max_mismatches, resolve_workers(workers), quiet)
    if file.is_dir():
        _verify_folder(file, checking)
    else:
        _verify_file(file, checking)


@dataclass(frozen=True)
class _Checking:
    """How to run a verify: the mismatches to list, the threads, whether quietly."""

    max_mismatches: int
    workers: int
    quiet: bool

    def run(self, check: Callable[..., Any], target: Path, total: int, **options: Any) -> Any:
        """``check(target, ...)`` (a file's or a folder's verify) under a progress bar
        counting ``total`` records; a :class:`DPAFileError` fails the run (exit 1)."""
        with progress_bar(total, self.quiet, "verify") as progress:
            try:
                return check(
                    target,
                    max_mismatches=self.max_mismatches,
                    progress=progress,
                    workers=self.workers,
                    **options,
                )
            except DPAFileError as exc:
                _failed([str(exc)])

    def ok(self, message: str) -> None:
        """Say ``OK: MESSAGE`` (unless quiet)."""
        if not self.quiet:
            click.echo(f"OK: {message}")


def _verify_file(file: Path, checking: _Checking) -> None:
    from .._verify import verify_augmentation_file

    check_input_file(file)
    try:  # a file that cannot be opened as dpa output is damaged: exit 1, any format
        opened = open_data_file(file)
    except DPAFileError as exc:
        _failed([str(exc)])
    expected = _expected_ids(opened.metadata)
    report = checking.run(
        verify_augmentation_file, file, opened.num_samples or 0, expected_ids=expected
    )
    if report.ok:
        checking.ok(f"all {report.checked} records of {file} match ({report.format})")
        return
    head = f"{file}: {_differ(report)}" if report.mismatched_samples else f"{file}"
    _failed([head, *_indented(_details(report), "  ")])


def _verify_folder(folder: Path, checking: _Checking) -> None:
    """A sharded output: complete, and every value matches."""
    from .._shards import is_shard_folder, read_manifest, verify_shards

    if not is_shard_folder(folder):
        fail(f"{folder}: not a dpa shard folder (no _manifest.json and no part-NNNNN files)")
    try:
        manifest = read_manifest(folder)
    except DPAFileError as exc:  # shards without a manifest: an unfinished run
        _failed([str(exc)])
    if manifest["format"] == "parquet":
        require_pyarrow()
    total = sum(entry["count"] for entry in manifest["shards"])
    report = checking.run(verify_shards, folder, total)
    what = f"{_count(len(manifest['shards']), 'shard')}, {manifest['mode']}"
    if report.ok:
        first = manifest["start"]
        checking.ok(
            f"all {report.checked} records of {folder} match ({what}); "
            f"the shards cover ids {first}..{first + total - 1} once"
            if total
            else f"{folder} is complete and holds no records ({what})"
        )
        return
    bad = [shard for shard in report.shards if not shard.ok]
    lines = [f"{folder}: {_count(len(report.problems) + len(bad), 'problem')} ({what})"]
    lines += _indented(report.problems, "  ")
    for shard in bad:
        name = Path(shard.path).name
        if shard.mismatched_samples:
            lines.append(f"  {name}: {_differ(shard)}")
        lines += _indented((_mismatch(m) for m in shard.mismatches), "    ")
        lines += _indented(shard.problems, f"  {name}: ")
    _failed(lines)


def check_input_file(path: Path) -> None:
    """A usage error (exit 2) unless ``path`` is a regular file this process can
    read: a FIFO or a device would block, or never end (nothing is opened to tell).

    Example:
        >>> check_input_file(Path("/dev/null"))
        Traceback (most recent call last):
        ...
        dpa._cli.errors.UsageFailure: /dev/null: not a regular file (a character device)
    """
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        fail(f"{path}: cannot be read: {exc.strerror or exc}")
    if not stat.S_ISREG(mode):
        kinds = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device",
                 stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket"}  # fmt: skip
        fail(f"{path}: not a regular file ({kinds.get(stat.S_IFMT(mode), 'a folder')})")
    if not os.access(path, os.R_OK):
        fail(f"{path}: cannot be read (permission denied)")


def _expected_ids(metadata: dict[str, Any]) -> range | None:
    """The ids a file must hold, in order, once: ``start_id .. start_id +
    num_samples - 1`` where its metadata names both (what ``dpa generate`` and
    ``dpa merge`` write); None where it names no start (a saved stream's ids are its
    own)."""
    start, count = metadata.get("start_id"), metadata.get("num_samples")
    if type(start) is not int or type(count) is not int or min(start, count) < 0:
        return None
    return range(start, start + count)


def _details(report: VerifyReport) -> list[str]:
    """A file's mismatches, then its other problems, a line each."""
    return [*map(_mismatch, report.mismatches), *report.problems]


def _mismatch(m: Mismatch) -> str:
    return (
        f"record {m.position} (sample {m.sample_id}): {m.field} is {m.stored!r}, "
        f"expected {m.expected!r}"
    )


def _differ(report: Any) -> str:
    """How many of a file's (or the shards') records differ."""
    return f"{report.mismatched_samples} of {report.checked} records differ"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def _indented(lines: Iterable[str], prefix: str) -> list[str]:
    return [f"{prefix}{line}" for line in lines]


def _failed(lines: list[str]) -> NoReturn:
    """Print ``FAILED: `` and ``lines`` on stdout; exit 1."""
    click.echo("FAILED: " + "\n".join(lines))
    raise click.exceptions.Exit(EXIT_FAILED)
