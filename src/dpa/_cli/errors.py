"""How the ``dpa`` command fails: its exit statuses, the one-line errors, and what a
run says when it is interrupted or cannot write its output.

Every failure the user can act on is one line on stderr (``dpa: error: ...``) with
exit status 2; ``dpa verify``, ``dpa stats --quality`` and ``dpa bench --compare``
exit 1 when what they check fails; Ctrl-C exits 130. SIGTERM (what ``timeout``,
Slurm and ``docker stop`` send) while an output is written is handled as Ctrl-C is
(the temporary file removed, a resumable run's progress kept) and exits 143, the
status a shell reports for a process SIGTERM ended (128 + 15).

Example:
    >>> one_line(FileNotFoundError(2, "No such file or directory", "a.json"))
    'a.json: No such file or directory'
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import NoReturn

import click

from .._lifecycle import UnsafePathError

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "PROG",
    "Terminated",
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
#: SIGTERM while an output was written (128 + SIGTERM, as a shell reports it).
EXIT_TERMINATED = 143
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


def interrupted(what: str, *, how: str = "interrupted", status: int = EXIT_INTERRUPTED) -> NoReturn:
    """Say on stderr that the run was interrupted (``what`` follows) and exit 130
    (``how`` and ``status``: another stop, as SIGTERM's "terminated", 143)."""
    click.echo(f"{PROG}: {how}, {what}", err=True)
    raise click.exceptions.Exit(status) from None


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: unwound as Ctrl-C is (every cleanup that runs on Ctrl-C runs)."""


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated`; once: a second one while
    the run cleans up is ignored. Outside the main thread (where Python cannot set
    a handler) nothing changes.

    Example:
        >>> with sigterm_as_interrupt():
        ...     signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
        True
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


@contextlib.contextmanager
def guard_writing(
    what: str, output: Path, partial: Path | None, *, name_failed_file: bool = False
) -> Iterator[None]:
    """Turn Ctrl-C, SIGTERM and OS errors while ``output`` is written into dpa's exits.

    Ctrl-C: ``dpa: interrupted, WHAT not written`` and exit 130; SIGTERM: ``dpa:
    terminated, ...`` and exit 143. An OSError: ``OUTPUT not written: REASON``, exit
    2 (with ``name_failed_file``, the file the error names stands for ``output``).
    They say where the progress is kept when ``partial`` (a resumable run's) exists;
    a path dpa refused to touch (:class:`~dpa._lifecycle.UnsafePathError`) is named
    with what to do instead.
    """
    try:
        with sigterm_as_interrupt():
            yield
    except KeyboardInterrupt as stop:
        kept = f"; progress kept: {RESUME_HINT}" if partial is not None else ""
        if isinstance(stop, Terminated):
            interrupted(f"{what} not written{kept}", how="terminated", status=EXIT_TERMINATED)
        interrupted(f"{what} not written{kept}")
    except UnsafePathError as exc:
        raise WriteFailure(f"{output} not written: {one_line(exc)}") from None
    except OSError as exc:
        failed = Path(exc.filename) if name_failed_file and exc.filename else output
        reason = os.strerror(exc.errno) if exc.errno else one_line(exc)
        kept = ""
        if partial is not None and partial.exists():
            kept = f"; progress kept in {partial}: {RESUME_HINT}"
        raise WriteFailure(f"{failed} not written: {reason}{kept}") from None
