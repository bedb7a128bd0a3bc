"""The ``dpa`` command: generate, show, verify, merge, stats, presets, preview, bench.

Each command is a module of this package; the group below only gathers them, and a
command imports what its work needs (pyarrow, torch, Pillow, tqdm, ...) when it
runs. Usage errors print one line on stderr and exit with status 2, as do failures
to write (a full disk, a file too large: the output is then not written); ``dpa
verify`` exits 1 when a file does not match. A progress bar goes to stderr for long
runs when stderr is a terminal (``--quiet`` turns it off).

Example:
    >>> main(["show", "0", "--preset", "mild"])  # doctest: +ELLIPSIS
    {
      "sample_id": 0,
      ...
    }
    0
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import click

from .._system import DISTRIBUTION
from .bench import bench
from .errors import EXIT_INTERRUPTED, EXIT_USAGE, PROG, fail, one_line
from .generate import generate
from .merge import merge
from .presets import presets
from .preview import preview
from .show import show
from .stats import stats
from .verify import verify

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name=DISTRIBUTION, prog_name=PROG)
def cli() -> None:
    """Deterministic per-sample augmentation parameters (DPA v0.2, bit-exact)."""
    if os.environ.get("DPA_BACKEND"):  # a bad value fails every command the same way
        from .._backends import resolve

        try:
            resolve(None)
        except (ValueError, RuntimeError) as exc:
            fail(one_line(exc))


for _command in (generate, show, verify, merge, stats, presets, bench, preview):
    cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command ``argv`` (default: the process's arguments); return its exit
    status. Every error the user can act on is one line on stderr, exit 2."""
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None, prog_name=PROG, standalone_mode=False
        )
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.UsageError as exc:
        message = exc.format_message().replace("\n", " ")
        click.echo(f"{PROG}: error: {message}", err=True)
        return EXIT_USAGE
    except click.ClickException as exc:
        click.echo(f"{PROG}: error: {exc.format_message()}", err=True)
        return exc.exit_code
    except click.Abort:
        click.echo(f"{PROG}: interrupted", err=True)
        return EXIT_INTERRUPTED
    except (OSError, ValueError, TypeError, RuntimeError) as exc:
        click.echo(f"{PROG}: error: {one_line(exc)}", err=True)
        return EXIT_USAGE
    return result if isinstance(result, int) else 0
