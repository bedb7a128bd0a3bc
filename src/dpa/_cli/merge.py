"""``dpa merge FOLDER -o OUT``: the shards of a ``generate --distributed`` run joined
into one file, in sample order (a rank-aware run of several ranks keeps each
record's rank), every record recomputed on the way (:func:`dpa._shards.merge_shards`).

Example:
    >>> import os, tempfile
    >>> from dpa._cli import main
    >>> folder = tempfile.mkdtemp()
    >>> shards, merged = os.path.join(folder, "shards"), os.path.join(folder, "all.json")
    >>> main(["generate", "-n", "8", "--distributed", "--format", "jsonl", "-q", "-o", shards])
    0
    >>> main(["merge", shards, "-q", "-o", merged])
    0
"""

from __future__ import annotations

from pathlib import Path

import click

from .errors import guard_writing
from .files import make_folder, output_format, require_pyarrow
from .options import output_options, quiet_option
from .progress import progress_bar

__all__ = ["merge"]


@click.command(short_help="Join a shard folder into one file, in id order.")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@output_options
@click.option("--no-stats", is_flag=True, help="Do not store statistics in the file.")
@quiet_option
def merge(folder: Path, output: Path, fmt: str | None, no_stats: bool, quiet: bool) -> None:
    """Join the shards of FOLDER (from generate --distributed) into OUTPUT, in sample
    order. A rank-aware run of several ranks keeps each record's rank. Every record
    is recomputed as it is copied: a value changed after the run stops the merge,
    and OUTPUT is not written. OUTPUT may not be one of FOLDER's own files."""
    from .._shards import merge_shards, read_manifest

    fmt = output_format(output, fmt)
    manifest = read_manifest(folder)
    if manifest["format"] == "parquet":
        require_pyarrow()
    make_folder(output)
    total = sum(entry["count"] for entry in manifest["shards"])
    with guard_writing(str(output), output, None), progress_bar(total, quiet, "merge") as progress:
        writer = merge_shards(
            folder, output, format=fmt, include_stats=not no_stats, progress=progress
        )
    if not quiet:
        ranks = ", a rank per record" if writer.per_record_rank else ""
        click.echo(
            f"merged {writer.count} samples from {len(manifest['shards'])} shard(s) of {folder} "
            f"into {output} ({fmt}, {manifest['mode']}{ranks})",
            err=True,
        )
