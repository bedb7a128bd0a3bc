"""How the ``dpa`` command fails: its exit statuses, the one-line errors, and what a
run says when it is interrupted or cannot write its output.

Every failure the user can act on is one line on stderr (``dpa: error: ...``) with
exit status 2; ``dpa verify``, ``dpa stats --quality`` and ``dpa bench --compare``
exit 1 when what they check fails; Ctrl-C exits 130.

Example:
    >>> one_line(FileNotFoundError(2, "No such file or directory", "a.json"))
    'a.json: No such file or directory'
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import click

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "PROG",
    "UsageFailure",
    "WriteFailure",
    "fail",
    "guard_writing",
    "interrupted",
    "note",
    "one_line",
]

PROG = "dpa"
#: A check failed: ``dpa verify`` found a difference, a quality test or a benchmark
#: comparison failed.
EXIT_FAILED = 1
#: A bad value, a file that cannot be read or written: any error the user can fix.
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
#: What an interrupted or failed resumable run adds to its message.
RESUME_HINT = "run again with --resume to continue"


class UsageFailure(click.UsageError):
    """A bad value the user gave: one line, exit 2."""


class WriteFailure(click.ClickException):
    """Writing the output failed (a full disk, a file too large, an I/O error): one
    line, exit 2, as every other OS error."""

    exit_code = EXIT_USAGE


def fail(message: str) -> NoReturn:
    """Stop the command with a usage error: ``dpa: error: MESSAGE``, exit 2."""
    raise UsageFailure(message)


def note(message: str) -> None:
    """Tell the user something on stderr that does not stop the run."""
    click.echo(f"{PROG}: note: {message}", err=True)


def one_line(exc: BaseException) -> str:
    """``exc`` as one line of text: an OS error as ``FILE: REASON``.

    Example:
        >>> one_line(ValueError("two\\n  lines"))
        'two lines'
    """
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}"
    return " ".join(text.split())


def interrupted(what: str) -> NoReturn:
    """Say on stderr that the run was interrupted (``what`` follows) and exit 130."""
    click.echo(f"{PROG}: interrupted, {what}", err=True)
    raise click.exceptions.Exit(EXIT_INTERRUPTED) from None


@contextlib.contextmanager
def guard_writing(
    what: str, output: Path, partial: Path | None, *, name_failed_file: bool = False
) -> Iterator[None]:
    """Turn Ctrl-C and OS errors while ``output`` is written into dpa's exits.

    Ctrl-C: ``dpa: interrupted, WHAT not written`` and exit 130. An OSError: ``OUTPUT
    not written: REASON``, exit 2 (with ``name_failed_file``, the file the error names
    stands for ``output``). Both say where the progress is kept when ``partial`` (a
    resumable run's) exists.
    """
    try:
        yield
    except KeyboardInterrupt:
        kept = f"; progress kept: {RESUME_HINT}" if partial is not None else ""
        interrupted(f"{what} not written{kept}")
    except OSError as exc:
        failed = Path(exc.filename) if name_failed_file and exc.filename else output
        reason = os.strerror(exc.errno) if exc.errno else one_line(exc)
        kept = ""
        if partial is not None and partial.exists():
            kept = f"; progress kept in {partial}: {RESUME_HINT}"
        raise WriteFailure(f"{failed} not written: {reason}{kept}") from None
