"""The progress bar of long runs: a tqdm bar on stderr, fed by dpa's progress
callbacks.

dpa's writers, verifiers and mergers call ``progress(n)`` with the records done since
the last call, just as ``tqdm.update(n)`` takes them, so the callback handed down is
the bar's own ``update``. There is no bar when stderr is not a terminal or with
``--quiet``; tqdm is imported only when a bar is drawn.

Example:
    >>> with progress_bar(100, quiet=True, label="generate") as progress:
    ...     progress is None
    True
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["Progress", "progress_bar"]

#: What dpa's long runs call after each piece of work: ``progress(records_done)``.
Progress = Callable[[int], Any]


@contextlib.contextmanager
def progress_bar(
    total: int, quiet: bool, label: str, finishing: str | None = None
) -> Iterator[Progress | None]:
    """The ``update`` of a bar counting ``total`` samples (None when ``quiet`` or
    stderr is not a terminal), closed when the block ends. With ``finishing``, the
    bar says it (``label: finishing``) once every sample is counted: the step that
    follows, which the count does not show (joining a Parquet run's parts)."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(total=total, unit=" samples", unit_scale=True, desc=label, file=sys.stderr)

    def update(done: int) -> None:
        bar.update(done)
        if finishing and bar.n >= total:
            bar.set_description(f"{label}: {finishing}")

    try:
        yield update if finishing else bar.update
    finally:
        bar.close()
