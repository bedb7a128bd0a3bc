"""``dpa generate --distributed``: under torchrun (or SLURM, Open MPI, or alone) each
rank writes its shard of the ids into the folder OUTPUT, then rank 0 writes the
manifest (:mod:`dpa._shards`); torch is imported only for a world size above 1.

Example:
    >>> import os, tempfile
    >>> from dpa._cli import main
    >>> folder = os.path.join(tempfile.mkdtemp(), "shards")
    >>> main(["generate", "-n", "20", "--distributed", "--format", "jsonl", "-q", "-o", folder])
    0
    >>> sorted(os.listdir(folder))
    ['_manifest.json', 'part-00000.jsonl']
"""

from __future__ import annotations

import os
from typing import Any

import click

from .._keys import KeyScheme
from .._system import usable_cpus
from .errors import fail, guard_writing, note
from .files import check_free_space, require_pyarrow
from .generate_run import GenerateRun, finishing
from .progress import progress_bar

__all__ = ["write_shards"]

#: The shard format when neither ``--format`` nor the folder's suffix names one.
DEFAULT_SHARD_FORMAT = "parquet"


def write_shards(run: GenerateRun) -> None:
    """This rank's shard of ``run`` into the folder ``run.output``; then (rank 0) the
    manifest."""
    from .._distributed import detect_distributed_context
    from .._io import partial_path
    from .._shards import (
        MANIFEST_NAME,
        SHARD_FORMATS,
        generate_shards,
        open_group,
        plan_shards,
        shard_name,
    )

    output = run.output
    if output.exists() and not output.is_dir():
        fail(f"{output}: is a file; --distributed writes a folder of shards")
    suffix = output.suffix.lower().lstrip(".")  # out.jsonl/: a folder of jsonl shards
    fmt = run.fmt or (suffix if suffix in SHARD_FORMATS else DEFAULT_SHARD_FORMAT)
    if fmt not in SHARD_FORMATS:
        fail(f"--distributed writes {' or '.join(SHARD_FORMATS)} shards, not {fmt}")
    if fmt == "parquet":
        require_pyarrow()
    try:
        context = detect_distributed_context()
    except ValueError as exc:
        fail(str(exc))
    rank, world_size = context.rank, context.world_size
    batch_size = run.batch_size_for(fmt)
    shard = output / shard_name(rank, fmt)
    partial = partial_path(shard)
    interrupted_before = not run.resume and os.path.lexists(partial)
    lo, hi = plan_shards(run.num_samples, world_size, run.start)[rank]
    check_free_space(shard, fmt, hi - lo, partial)
    label = f"generate (rank 0 of {world_size})"  # only rank 0 draws a bar
    with (
        guard_writing(f"rank {rank}'s shard", shard, partial, name_failed_file=True),
        progress_bar(hi - lo, run.quiet or rank != 0, label, finishing(shard, fmt)) as progress,
        open_group(context) as group,
    ):
        result = generate_shards(
            output,
            run.num_samples,
            run.config,
            group=group,
            start=run.start,
            **_key_arguments(run.scheme),
            format=fmt,
            include_stats=run.include_stats,
            batch_size=batch_size,
            workers=_workers_per_rank(run.workers),
            progress=progress,
            resume=run.resume,
        )
    if run.quiet:
        return
    if interrupted_before:
        note(f"rank {rank} started its shard over: the interrupted {partial} was discarded")
    entry = result.shard
    resumed = f" ({entry['resumed']} resumed)" if entry["resumed"] else ""
    ids = f"ids {lo}..{hi - 1}" if hi > lo else "no ids"
    click.echo(
        f"rank {rank} of {world_size}: wrote {entry['count']} samples{resumed} ({ids}) to {shard}",
        err=True,
    )
    if result.manifest is not None:
        click.echo(
            f"wrote {run.num_samples} samples in {world_size} shard(s) to {output} "
            f"({fmt}, {run.scheme.mode}); manifest {output / MANIFEST_NAME}",
            err=True,
        )


def _key_arguments(scheme: KeyScheme) -> dict[str, Any]:
    """The key arguments of :func:`dpa._shards.generate_shards` for ``scheme``: its
    mode, base seed and (elastic) epoch."""
    return {
        "mode": scheme.mode,
        "base_seed": getattr(scheme, "base_seed", 0),
        "epoch": getattr(scheme, "epoch", 0),
    }


def _workers_per_rank(workers: int | None) -> int:
    """``--workers``, else this machine's CPUs shared among the ranks it runs
    (``LOCAL_WORLD_SIZE``)."""
    if workers is not None:
        return workers
    local = os.environ.get("LOCAL_WORLD_SIZE", "1").strip()
    ranks_here = int(local) if local.isdigit() and int(local) else 1
    return max(1, usable_cpus() // ranks_here)
