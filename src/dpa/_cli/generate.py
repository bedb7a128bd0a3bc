"""``dpa generate -n N -o OUT``: the parameters of ids ``START .. START+N-1`` written
to a file (JSON, JSON Lines or Parquet); with ``--distributed``, a folder of one shard
per rank and a manifest (:mod:`dpa._cli.generate_shards`).

A JSON Lines or Parquet run keeps its progress next to the output while it runs, so
``--resume`` continues an interrupted one; the output appears whole or not at all.

Example:
    >>> import os, tempfile
    >>> from dpa._cli import main
    >>> main(["generate", "-n", "5", "-q", "-o", os.path.join(tempfile.mkdtemp(), "p.jsonl")])
    0
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .errors import fail, guard_writing, note
from .files import check_free_space, make_folder, output_format
from .generate_run import GenerateRun, finishing, key_scheme
from .generate_shards import write_shards
from .options import (
    FiniteFloatRange,
    build_config,
    config_options,
    distributed_options,
    output_options,
    quiet_option,
    resolve_workers,
    start_option,
    workers_option,
)
from .progress import progress_bar

__all__ = ["generate", "write_file"]


@click.command(short_help="Write the parameters of a range of ids to a file.")
@click.option(
    "-n",
    "--num-samples",
    "num_samples",
    type=click.IntRange(min=0),
    required=True,
    help="How many.",
)
@start_option
@config_options
@output_options
@click.option("--resume", is_flag=True, help="Continue an interrupted run of this output.")
@click.option("--no-stats", is_flag=True, help="Do not store statistics in the file.")
@click.option(
    "--max-memory-mb",
    type=FiniteFloatRange(min=0, min_open=True),
    default=256,
    show_default=True,
    help="Memory (MiB) the batches in flight may take; sets the batch size.",
)
@click.option(
    "--batch-size", type=click.IntRange(min=1), help="Ids per batch (overrides --max-memory-mb)."
)
@workers_option
@quiet_option
@distributed_options
def generate(
    num_samples: int,
    start: int,
    output: Path,
    fmt: str | None,
    resume: bool,
    no_stats: bool,
    max_memory_mb: float,
    batch_size: int | None,
    workers: int | None,
    quiet: bool,
    distributed: bool,
    mode: str | None,
    base_seed: int | None,
    epoch: int | None,
    **config_options: Any,
) -> None:
    """Generate parameters of samples START .. START+N-1 into OUTPUT (with
    --distributed: a folder of one shard per rank and a manifest)."""
    run = GenerateRun(
        output=output,
        start=start,
        num_samples=num_samples,
        config=build_config(**config_options),
        scheme=key_scheme(distributed, mode, base_seed, epoch),
        fmt=fmt,
        resume=resume,
        include_stats=not no_stats,
        batch_size=batch_size,
        max_memory_mb=max_memory_mb,
        workers=workers,
        quiet=quiet,
    )
    if distributed:
        write_shards(run)
    else:
        write_file(run)


def write_file(run: GenerateRun) -> None:
    """Write ``run`` to its output file, atomically; JSON Lines and Parquet resumably."""
    from .._io import partial_path, write_range

    fmt = output_format(run.output, run.fmt)
    resumable = fmt != "json"
    if run.resume and not resumable:
        fail("--resume needs the jsonl or parquet format (json cannot be continued)")
    partial = partial_path(run.output) if resumable else None
    make_folder(run.output)
    check_free_space(run.output, fmt, run.num_samples, partial)
    batch_size = run.batch_size_for(fmt)
    with (
        guard_writing(str(run.output), run.output, partial),
        progress_bar(
            run.num_samples, run.quiet, "generate", finishing(run.output, fmt)
        ) as progress,
    ):
        writer = write_range(
            run.output,
            run.start,
            run.end,
            run.config,
            format=fmt,
            include_stats=run.include_stats,
            batch_size=batch_size,
            progress=progress,
            resumable=resumable,
            resume=run.resume,
            workers=resolve_workers(run.workers),
            scheme=run.scheme,
        )
    if run.quiet:
        return
    if writer.started_over:
        note(f"started over: the interrupted {partial} was discarded (--resume continues one)")
    resumed = f" ({writer.resumed_count} resumed)" if writer.resumed_count else ""
    click.echo(f"wrote {writer.count} samples{resumed} to {run.output} ({fmt})", err=True)
