"""The ``dpa`` command: generate, show, verify, merge, stats, presets.

Usage errors print one line on stderr and exit with status 2, as do failures to
write (a full disk, a file too large: the output is then not written); ``dpa verify``
exits 1 when a file does not match. A progress bar goes to stderr for long runs
when stderr is a terminal (``--quiet`` turns it off).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from .._config import PARAM_NAMES, PRESETS, AugmentationConfig, get_preset
from .._core import gen_augmentation_params
from .._formats import FORMATS, DPAFileError, detect_format, read_augmentation_file
from .._stats import RunningStatistics

PROG = "dpa"
EXIT_MISMATCH = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageFailure(click.UsageError):
    """A bad value the user gave: one line, exit 2."""


def _fail(message: str) -> NoReturn:
    raise UsageFailure(message)


class WriteFailure(click.ClickException):
    """Writing the output failed (a full disk, a file too large, an I/O error): one
    line, exit 2, as every other OS error."""

    exit_code = EXIT_USAGE


def _write_failed(what: Path, exc: OSError, partial: Path | None) -> NoReturn:
    """Report that ``what`` was not written because of ``exc``, and where a resumable
    run's progress is kept (``partial``, when it exists)."""
    reason = os.strerror(exc.errno) if exc.errno else _one_line(exc)
    kept = ""
    if partial is not None and partial.exists():
        kept = f"; progress kept in {partial}: run again with --resume to continue"
    raise WriteFailure(f"{what} not written: {reason}{kept}") from None


# --------------------------------------------------------------------------- config options


def _config_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add --preset, --config, one --NAME LO HI per parameter and --depth."""
    options = [
        click.option(
            "--preset",
            type=click.Choice(sorted(PRESETS)),
            help="Start from a named preset (default: moderate).",
        ),
        click.option(
            "--config",
            "config_file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Start from a JSON file of config fields (or a dpa output file).",
        ),
        *[
            click.option(
                f"--{name}",
                type=(float, float),
                metavar="LO HI",
                help=f"Range of {name}.",
            )
            for name in PARAM_NAMES
        ],
        click.option("--depth", type=int, help="Hash-chain depth (augmentation_depth)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _number(value: float) -> float:
    return int(value) if float(value).is_integer() else value


def _build_config(
    preset: str | None, config_file: Path | None, depth: int | None, **ranges: Any
) -> AugmentationConfig:
    if preset and config_file:
        _fail("--preset and --config cannot be used together")
    if config_file is not None:
        fields = _read_config_file(config_file)
    elif preset:
        fields = get_preset(preset).to_dict()
    else:
        fields = AugmentationConfig().to_dict()
    for name in PARAM_NAMES:
        pair = ranges.get(name)
        if pair is not None:
            fields[f"{name}_range"] = [_number(pair[0]), _number(pair[1])]
    if depth is not None:
        fields["augmentation_depth"] = depth
    try:
        return AugmentationConfig.from_dict(fields)
    except (TypeError, ValueError) as exc:
        _fail(f"invalid config: {exc}")


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        _fail(f"{path}: no such config file")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"{path}: cannot read the config file: {exc}")
    except ValueError as exc:
        _fail(f"{path}: the config file is not valid JSON: {exc}")
    if isinstance(data, dict) and isinstance(data.get("metadata"), dict):
        data = data["metadata"].get("config")  # a dpa JSON output file
    if not isinstance(data, dict):
        _fail(f"{path}: expected a JSON object of config fields")
    return dict(data)


_workers_option = click.option(
    "--workers",
    type=int,
    default=None,
    help="Threads that share the work (default: the CPUs available).",
)


def _output_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add -o/--output and --format (as ``fmt``)."""
    command = click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        help="File format (default: from the output's suffix).",
    )(command)
    return click.option(
        "-o", "--output", type=click.Path(path_type=Path), required=True, help="Output."
    )(command)


def _workers(workers: int | None) -> int:
    if workers is None:
        return (
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else os.cpu_count() or 1
        )
    if workers < 1:
        _fail(f"--workers must be >= 1, got {workers}")
    return workers


def _distributed_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add --distributed, --mode, --base-seed and --epoch."""
    options = [
        click.option(
            "--distributed",
            is_flag=True,
            help="Under torchrun: each rank writes its shard of OUTPUT (a folder), rank 0 "
            "the manifest.",
        ),
        click.option(
            "--mode",
            type=click.Choice(["rank_aware", "elastic"]),
            help="Keys of a distributed run (default: rank_aware, DPA v0.2).",
        ),
        click.option("--base-seed", type=int, help="Base seed of a distributed run (default: 0)."),
        click.option("--epoch", type=int, help="Epoch of an elastic run (default: 0)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


# --------------------------------------------------------------------------- progress


def _progress(total: int, quiet: bool, label: str) -> Any:
    """A tqdm bar on stderr, or None when quiet or stderr is not a terminal."""
    if quiet or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit=" samples", unit_scale=True, desc=label, file=sys.stderr)


@contextlib.contextmanager
def _progress_bar(total: int, quiet: bool, label: str) -> Iterator[Callable[[int], Any] | None]:
    """A :func:`_progress` bar's update callback (None without a bar), closed at the end."""
    bar = _progress(total, quiet, label)
    try:
        yield bar.update if bar is not None else None
    finally:
        if bar is not None:
            bar.close()


def _interrupted(what: str) -> NoReturn:
    """Say on stderr that the run was interrupted (``what`` follows) and exit."""
    click.echo(f"{PROG}: interrupted, {what}", err=True)
    raise click.exceptions.Exit(EXIT_INTERRUPTED) from None


# --------------------------------------------------------------------------- commands


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dpa", prog_name=PROG)
def cli() -> None:
    """Deterministic per-sample augmentation parameters (DPA v0.2, bit-exact)."""


@cli.command()
@click.option("-n", "--num-samples", "num_samples", type=int, required=True, help="How many.")
@click.option("--start", type=int, default=0, show_default=True, help="First sample id.")
@_config_options
@_output_options
@click.option("--resume", is_flag=True, help="Continue an interrupted run of this output.")
@click.option("--no-stats", is_flag=True, help="Do not store statistics in the file.")
@click.option(
    "--max-memory-mb",
    type=float,
    default=256,
    show_default=True,
    help="Memory (MiB) the batches in flight may take; sets the batch size.",
)
@click.option(
    "--batch-size", type=int, default=None, help="Ids per batch (overrides --max-memory-mb)."
)
@_workers_option
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
@_distributed_options
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
    from .._io import partial_path, write_range

    config = _build_config(**config_options)
    if num_samples < 0:
        _fail(f"-n must be >= 0, got {num_samples}")
    if start < 0:
        _fail(f"--start must be >= 0, got {start}")
    if batch_size is not None and batch_size < 1:
        _fail(f"--batch-size must be >= 1, got {batch_size}")
    if not (math.isfinite(max_memory_mb) and max_memory_mb > 0):
        _fail(f"--max-memory-mb must be a positive number, got {max_memory_mb}")
    if distributed or mode is not None or base_seed is not None or epoch is not None:
        _generate_sharded(
            output, num_samples, start, config, fmt, resume, no_stats, batch_size,
            max_memory_mb, workers, quiet, distributed, mode, base_seed, epoch,
        )  # fmt: skip
        return
    if output.is_dir():
        _fail(f"{output}: is a folder; give a file name")
    try:
        fmt = detect_format(output, fmt)
    except ValueError as exc:
        _fail(str(exc).replace("pass format=", "pass --format"))
    if resume and fmt == "json":
        _fail("--resume needs the jsonl or parquet format (json cannot be continued)")
    if fmt == "parquet":
        _require_pyarrow()
    resumable = fmt != "json"
    partial = partial_path(output)
    if resumable and not resume and partial.exists():
        click.echo(f"{PROG}: note: starting over; discarding the interrupted {partial}", err=True)
    _make_folder(output)
    if batch_size is None:
        batch_size = _memory_batch_size(fmt, config, max_memory_mb)
    try:
        with _progress_bar(num_samples, quiet, "generate") as progress:
            writer = write_range(
                output,
                start,
                start + num_samples,
                config,
                format=fmt,
                include_stats=not no_stats,
                batch_size=batch_size,
                progress=progress,
                resumable=resumable,
                resume=resume,
                workers=_workers(workers),
            )
    except KeyboardInterrupt:
        kept = "; progress kept: run again with --resume to continue" if resumable else ""
        _interrupted(f"{output} not written{kept}")
    except OSError as exc:
        _write_failed(output, exc, partial if resumable else None)
    if not quiet:
        resumed = f" ({writer.resumed_count} resumed)" if writer.resumed_count else ""
        click.echo(f"wrote {writer.count} samples{resumed} to {output} ({fmt})", err=True)


#: Ids per batch at most when sized from memory: a Parquet row group, and the most an
#: interrupted run loses.
_MAX_SIZED_BATCH = 1 << 20
_PROBE_SAMPLES = 1024
#: How many times over writing Parquet holds a batch's columns: the batch being written
#: and the next one being made, the Arrow table, the dictionary and plain pages, the
#: compressed pages, and the part read back when the parts are joined (measured: about
#: 720 bytes of peak memory per sample of a batch, for 112 bytes of columns).
_PARQUET_COPIES = 7


def _memory_batch_size(fmt: str, config: AugmentationConfig, max_memory_mb: float) -> int:
    """The largest batch whose footprint, measured on a probe batch of ``config``, keeps
    the batches in flight within ``max_memory_mb`` (through :mod:`dpa._batch`).

    A sample's footprint is its columns' bytes (measured) times the copies the writer
    holds: for Parquet ``_PARQUET_COPIES``; for the text formats three (the batch being
    written, the next one, the statistics' copy) plus what writing its record holds,
    measured on the probe's records: the values as Python objects, the line, and the
    line again in the joined text and in its bytes.
    """
    from .._batch import MemoryAwareBatcher, batch_nbytes
    from .._generate import generate_batch

    probe = generate_batch(range(_PROBE_SAMPLES), config)
    columns = batch_nbytes(probe) / len(probe)
    per_sample = _PARQUET_COPIES * columns if fmt == "parquet" else 3 * columns
    if fmt != "parquet":
        records = probe.to_dicts()
        text = sum(
            sys.getsizeof(line) + 8 + 2 * (len(line) + 1)
            for line in (json.dumps(record) for record in records)
        )
        values = sum(sys.getsizeof(v) + 8 for record in records for v in record.values())
        per_sample += (text + values) / len(records)
    batcher = MemoryAwareBatcher(max_memory_mb, max_batch_size=_MAX_SIZED_BATCH)
    return batcher.calculate_optimal_batch_size(per_sample)


def _generate_sharded(
    output: Path,
    num_samples: int,
    start: int,
    config: AugmentationConfig,
    fmt: str | None,
    resume: bool,
    no_stats: bool,
    batch_size: int | None,
    max_memory_mb: float,
    workers: int | None,
    quiet: bool,
    distributed: bool,
    mode: str | None,
    base_seed: int | None,
    epoch: int | None,
) -> None:
    """``generate --distributed``: this rank's shard of OUTPUT, then (rank 0) the
    manifest; torch is imported only for a world size above 1."""
    from .._distributed import detect_distributed_context
    from .._io import partial_path
    from .._shards import MANIFEST_NAME, generate_shards, open_group, plan_shards, shard_name

    if not distributed:
        given = [
            name
            for name, value in (("--mode", mode), ("--base-seed", base_seed), ("--epoch", epoch))
            if value is not None
        ]
        _fail(f"{', '.join(given)}: only with --distributed")
    mode = mode or "rank_aware"
    if epoch is not None and mode != "elastic":
        _fail("--epoch needs --mode elastic (rank-aware keys have no epoch)")
    for name, value in (("--base-seed", base_seed), ("--epoch", epoch)):
        if value is not None and value < 0:
            _fail(f"{name} must be >= 0, got {value}")
    if output.exists() and not output.is_dir():
        _fail(f"{output}: is a file; --distributed writes a folder of shards")
    if fmt is None:
        fmt = {".jsonl": "jsonl", ".parquet": "parquet"}.get(output.suffix.lower(), "parquet")
    if fmt not in ("jsonl", "parquet"):
        _fail(f"--distributed writes jsonl or parquet shards, not {fmt}")
    if fmt == "parquet":
        _require_pyarrow()
    try:
        context = detect_distributed_context()
    except ValueError as exc:
        _fail(str(exc))
    if workers is None:  # the CPUs shared among this machine's ranks
        local = os.environ.get("LOCAL_WORLD_SIZE", "1").strip()
        workers = max(1, _workers(None) // (int(local) if local.isdigit() and int(local) else 1))
    if batch_size is None:
        batch_size = _memory_batch_size(fmt, config, max_memory_mb)
    rank, world_size = context.rank, context.world_size
    shard = output / shard_name(rank, fmt)
    if not resume and partial_path(shard).exists():
        click.echo(f"{PROG}: note: rank {rank} starts its shard over", err=True)
    lo, hi = plan_shards(num_samples, world_size, start)[rank]
    label = f"generate (rank 0 of {world_size})"
    try:
        with (
            _progress_bar(hi - lo, quiet or rank != 0, label) as progress,
            open_group(context) as group,
        ):
            result = generate_shards(
                output,
                num_samples,
                config,
                group=group,
                start=start,
                mode=mode,
                base_seed=base_seed or 0,
                epoch=epoch or 0,
                format=fmt,
                include_stats=not no_stats,
                batch_size=batch_size,
                workers=_workers(workers),
                progress=progress,
                resume=resume,
            )
    except KeyboardInterrupt:
        _interrupted(
            f"rank {rank}'s shard not written; progress kept: run again with --resume to continue"
        )
    except OSError as exc:  # this rank's shard, or (rank 0) the manifest
        _write_failed(Path(exc.filename) if exc.filename else shard, exc, partial_path(shard))
    if quiet:
        return
    entry = result.shard
    resumed = f" ({entry['resumed']} resumed)" if entry["resumed"] else ""
    ids = f"ids {lo}..{hi - 1}" if hi > lo else "no ids"
    click.echo(
        f"rank {rank} of {world_size}: wrote {entry['count']} samples{resumed} ({ids}) to {shard}",
        err=True,
    )
    if result.manifest is not None:
        click.echo(
            f"wrote {num_samples} samples in {world_size} shard(s) to {output} ({fmt}, {mode}); "
            f"manifest {output / MANIFEST_NAME}",
            err=True,
        )


def _require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        _fail("the parquet format needs pyarrow: pip install 'dpa[parquet]'")


def _make_folder(output: Path) -> None:
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _fail(f"{output}: cannot create its folder: {exc.strerror or exc}")


@cli.command()
@click.argument("sample_id", type=int)
@_config_options
def show(sample_id: int, **config_options: Any) -> None:
    """Print the parameters of one sample as JSON."""
    config = _build_config(**config_options)
    if sample_id < 0:
        _fail(f"SAMPLE_ID must be >= 0, got {sample_id}")
    params = gen_augmentation_params(sample_id, config)
    click.echo(json.dumps({"sample_id": sample_id, **params}, indent=2))


def _open_data_file(path: Path) -> Any:
    if not path.exists():
        _fail(f"{path}: no such file")
    if path.is_dir():
        _fail(f"{path}: is a folder, not a file")
    if path.suffix == ".parquet":
        _require_pyarrow()
    return read_augmentation_file(path)


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--max-mismatches", type=int, default=10, show_default=True)
@_workers_option
@click.option("-q", "--quiet", is_flag=True, help="No progress bar; only failures.")
def verify(file: Path, max_mismatches: int, workers: int | None, quiet: bool) -> None:
    """Recompute every record of FILE from its metadata; exit 1 on any difference."""
    from .._verify import verify_augmentation_file

    if max_mismatches < 0:
        _fail(f"--max-mismatches must be >= 0, got {max_mismatches}")
    if file.is_dir():
        _verify_folder(file, max_mismatches, workers, quiet)
        return
    opened = _open_data_file(file)
    report = _run_verify(
        verify_augmentation_file, file, opened.num_samples or 0, max_mismatches, workers, quiet
    )
    if report.ok:
        if not quiet:
            click.echo(f"OK: all {report.checked} records of {file} match ({report.format})")
        return
    lines = [f"FAILED: {file}"]
    if report.mismatched_samples:
        lines[0] += f": {report.mismatched_samples} of {report.checked} records differ"
    lines.extend(f"  {_mismatch_line(m)}" for m in report.mismatches)
    lines.extend(f"  {problem}" for problem in report.problems)
    click.echo("\n".join(lines))
    raise click.exceptions.Exit(EXIT_MISMATCH)


def _verify_folder(folder: Path, max_mismatches: int, workers: int | None, quiet: bool) -> None:
    """``dpa verify OUT/`` of a sharded output: complete, and every value matches."""
    from .._shards import read_manifest, verify_shards

    try:
        manifest = read_manifest(folder)
    except DPAFileError as exc:
        _report_failure(f"{exc}")
    if manifest["format"] == "parquet":
        _require_pyarrow()
    total = sum(entry["count"] for entry in manifest["shards"])
    report = _run_verify(verify_shards, folder, total, max_mismatches, workers, quiet)
    shards = len(manifest["shards"])
    what = f"{shards} shard{'s' if shards != 1 else ''}, {manifest['mode']}"
    if report.ok:
        if not quiet:
            click.echo(
                f"OK: all {report.checked} records of {folder} match ({what}); "
                f"the shards cover ids {manifest['start']}..{manifest['start'] + total - 1} once"
                if total
                else f"OK: {folder} is complete and holds no records ({what})"
            )
        return
    bad = [r for r in report.shards if not r.ok]
    count = len(report.problems) + len(bad)
    lines = [f"FAILED: {folder}: {count} problem{'s' if count != 1 else ''} ({what})"]
    lines.extend(f"  {problem}" for problem in report.problems)
    for shard in bad:
        name = Path(shard.path).name
        if shard.mismatched_samples:
            lines.append(f"  {name}: {shard.mismatched_samples} of {shard.checked} records differ")
        lines.extend(f"    {_mismatch_line(m)}" for m in shard.mismatches)
        lines.extend(f"  {name}: {problem}" for problem in shard.problems)
    click.echo("\n".join(lines))
    raise click.exceptions.Exit(EXIT_MISMATCH)


def _run_verify(
    check: Callable[..., Any],
    target: Path,
    total: int,
    max_mismatches: int,
    workers: int | None,
    quiet: bool,
) -> Any:
    """``check(target, ...)`` (a file's or a folder's verify) under a progress bar; a
    :class:`DPAFileError` is reported as a failure (exit 1)."""
    with _progress_bar(total, quiet, "verify") as progress:
        try:
            return check(
                target,
                max_mismatches=max_mismatches,
                progress=progress,
                workers=_workers(workers),
            )
        except DPAFileError as exc:
            _report_failure(f"{exc}")


def _mismatch_line(m: Any) -> str:
    return (
        f"record {m.position} (sample {m.sample_id}): {m.field} is {m.stored!r}, "
        f"expected {m.expected!r}"
    )


def _report_failure(message: str) -> NoReturn:
    click.echo(f"FAILED: {message}")
    raise click.exceptions.Exit(EXIT_MISMATCH)


@cli.command()
@click.argument("folder", type=click.Path(path_type=Path))
@_output_options
@click.option("--no-stats", is_flag=True, help="Do not store statistics in the file.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
def merge(folder: Path, output: Path, fmt: str | None, no_stats: bool, quiet: bool) -> None:
    """Join the shards of FOLDER (from generate --distributed) into OUTPUT, in sample
    order. A rank-aware run of several ranks keeps each record's rank."""
    from .._shards import merge_shards, read_manifest

    if not folder.exists():
        _fail(f"{folder}: no such folder")
    if not folder.is_dir():
        _fail(f"{folder}: is a file; dpa merge joins a folder of shards")
    if output.is_dir():
        _fail(f"{output}: is a folder; give a file name")
    try:
        fmt = detect_format(output, fmt)
    except ValueError as exc:
        _fail(str(exc).replace("pass format=", "pass --format"))
    manifest = read_manifest(folder)
    if fmt == "parquet" or manifest["format"] == "parquet":
        _require_pyarrow()
    _make_folder(output)
    total = sum(entry["count"] for entry in manifest["shards"])
    with _progress_bar(total, quiet, "merge") as progress:
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


@cli.command()
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the statistics (or report) as JSON.")
@click.option(
    "--quality",
    is_flag=True,
    help="Run the statistical quality checks (uniformity, independence, coverage, seeds) "
    "on FILE, or on N freshly generated samples; exit 1 if one fails.",
)
@click.option(
    "-n",
    "--n",
    "num_samples",
    type=int,
    help="With --quality and no FILE: how many samples to generate [default: 1000000].",
)
@click.option("--start", type=int, help="With --n: the first sample id [default: 0].")
@click.option("--base-seed", type=int, help="With --n: base seed of the rank/epoch checks.")
@click.option("--alpha", type=float, help="With --quality: significance level [default: 0.001].")
@click.option("--plot", type=click.Path(path_type=Path), help="With --quality: PNG of histograms.")
@_workers_option
@_config_options
def stats(
    file: Path | None,
    as_json: bool,
    quality: bool,
    num_samples: int | None,
    start: int | None,
    base_seed: int | None,
    alpha: float | None,
    plot: Path | None,
    workers: int | None,
    **config_options: Any,
) -> None:
    """Print mean, stdev, min, max and count of each parameter in FILE; with
    --quality, test their statistical quality (of FILE, or of N generated samples
    with the config given by the options)."""
    generator_options = {"--n": num_samples, "--start": start, "--base-seed": base_seed}
    config_given = [name for name, value in config_options.items() if value is not None]
    if not quality:
        extra = [
            name
            for name, value in {**generator_options, "--alpha": alpha, "--plot": plot}.items()
            if value is not None
        ] + [f"--{name.replace('_file', '')}" for name in config_given]
        if extra:
            _fail(f"{', '.join(extra)}: only with --quality")
        if file is None:
            _fail("give a FILE (or --quality --n N)")
        _print_statistics(file, as_json)
        return
    _run_quality(file, as_json, generator_options, alpha, plot, workers, config_options)


def _print_statistics(file: Path, as_json: bool) -> None:
    opened = _open_data_file(file)
    running = RunningStatistics()
    try:
        for batch in opened.iter_batches(65536):
            running.update_batch(batch)
    except DPAFileError as exc:
        _fail(str(exc))
    result = running.result()
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(f"{file}: {running.count} samples ({opened.format})")
    click.echo(_table(["parameter", "mean", "stdev", "min", "max"], _stat_rows(result)))


def _run_quality(
    file: Path | None,
    as_json: bool,
    generator_options: dict[str, int | None],
    alpha: float | None,
    plot: Path | None,
    workers: int | None,
    config_options: dict[str, Any],
) -> None:
    from .. import _quality as quality

    level = quality.ALPHA if alpha is None else alpha
    if not 0 < level < 1:
        _fail(f"--alpha must be between 0 and 1, got {level}")
    if plot is not None:
        if plot.suffix.lower() != ".png":
            _fail(f"{plot}: the plot is a PNG; give a .png file name")
        if plot.is_dir():
            _fail(f"{plot}: is a folder; give a file name")
    if file is not None:
        given = [name for name, value in generator_options.items() if value is not None]
        if given:
            _fail(f"{', '.join(given)}: not with a FILE (its samples are checked)")
        opened = _open_data_file(file)
        config_given = any(value is not None for value in config_options.values())
        if config_given and opened.config is not None:
            _fail(f"{file}: has its own config; config options apply to files without one")
        config = _build_config(**config_options) if config_given else None
        try:
            report = quality.check_file_quality(file, config, alpha=level)
        except DPAFileError as exc:
            _fail(str(exc))
    else:
        n = generator_options["--n"]
        n = 1_000_000 if n is None else n
        if n < 1:
            _fail(f"--n must be >= 1, got {n}")
        first = generator_options["--start"] or 0
        if first < 0:
            _fail(f"--start must be >= 0, got {first}")
        seed = generator_options["--base-seed"] or 0
        if seed < 0:
            _fail(f"--base-seed must be >= 0, got {seed}")
        report = quality.check_quality(
            n,
            _build_config(**config_options),
            start=first,
            base_seed=seed,
            alpha=level,
            workers=_workers(workers),
        )
    if plot is not None:
        _make_folder(plot)
        try:
            quality.plot_quality(report, plot)
        except RuntimeError as exc:
            _fail(str(exc))
    click.echo(json.dumps(report.to_dict(), indent=2) if as_json else report.format())
    if plot is not None and not as_json:
        click.echo(f"wrote {plot}", err=True)
    if not report.passed:
        raise click.exceptions.Exit(EXIT_MISMATCH)


def _stat_rows(result: dict[str, Any]) -> list[list[str]]:
    def fmt(value: Any) -> str:
        return "-" if value is None else f"{value:.8g}"

    return [
        [name, *(fmt(result[name][key]) for key in ("mean", "stdev", "min", "max"))]
        for name in PARAM_NAMES
    ]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Plain-text table: the first column left-aligned, the others right-aligned."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first, *rest = (str(cell) for cell in cells)
        parts = [first.ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(rest, widths[1:], strict=True)
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the presets as JSON.")
def presets(as_json: bool) -> None:
    """List the presets and their ranges."""
    if as_json:
        click.echo(json.dumps({name: cfg.to_dict() for name, cfg in PRESETS.items()}, indent=2))
        return
    rows = [
        [name, *(f"{lo:g} .. {hi:g}" for lo, hi in cfg.ranges), str(cfg.augmentation_depth)]
        for name, cfg in PRESETS.items()
    ]
    click.echo(_table(["preset", *PARAM_NAMES, "depth"], rows))


@cli.command()
@click.option("--quick", is_flag=True, help="10 iterations on smaller workloads (under a minute).")
@click.option(
    "--suite",
    metavar="NAME",
    help="standard (default), generation, batch, streaming, io, distributed, backends, "
    "or benchmark names separated by commas (per-sample,batch-1t,...).",
)
@click.option("--save", type=click.Path(path_type=Path), help="Save the run (every iteration).")
@click.option(
    "--compare",
    type=click.Path(path_type=Path),
    metavar="BASELINE",
    help="Compare with a saved run; exit 1 on a significant regression.",
)
@click.option("--plot", type=click.Path(path_type=Path), help="Write a PNG of the results.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "markdown", "csv"]),
    default="table",
    show_default=True,
    help="How to print the results.",
)
@click.option(
    "--trend",
    type=click.Path(path_type=Path),
    multiple=True,
    help="Saved runs (files or folders) to plot as a trend with this one (needs --plot).",
)
@click.option(
    "--load",
    type=click.Path(path_type=Path),
    help="Report, compare or plot a saved run instead of running the suite.",
)
@click.option("--iterations", type=int, help="Measured iterations per benchmark.")
@click.option(
    "--threshold",
    type=float,
    default=0.05,
    show_default=True,
    help="Smallest throughput change that counts as a regression.",
)
@click.option(
    "--confidence",
    type=float,
    default=0.95,
    show_default=True,
    help="Confidence level of the test and of the intervals.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress lines.")
def bench(**options: Any) -> None:
    """Benchmark dpa on this machine; compare with a saved run to catch regressions."""
    from ..benchmark.command import BenchOptions, run_bench

    options["trend"] = tuple(options["trend"])
    try:
        status = run_bench(BenchOptions(**options))
    except ValueError as exc:
        _fail(_one_line(exc))
    if status:
        raise click.exceptions.Exit(status)


# --------------------------------------------------------------------------- entry point


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return its exit status (usage errors: 2, one line)."""
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
        click.echo(f"{PROG}: error: {_one_line(exc)}", err=True)
        return EXIT_USAGE
    return result if isinstance(result, int) else 0


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}"
    return " ".join(text.split())


# --------------------------------------------------------------------------- preview


@cli.command()
@click.argument("image", required=False, type=click.Path(path_type=Path))
@_config_options
@click.option("-n", "--num", "num", type=int, default=16, show_default=True, help="Tiles.")
@click.option("--start", type=int, default=0, show_default=True, help="First sample id.")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="PNG file.")
@click.option("--tile", type=int, default=192, show_default=True, help="Tile size (pixels).")
@click.option("--columns", type=int, default=None, help="Tiles per row (default: about square).")
def preview(
    image: Path | None,
    num: int,
    start: int,
    output: Path,
    tile: int,
    columns: int | None,
    **config_options: Any,
) -> None:
    """Write a contact sheet: IMAGE (default: a test pattern) augmented for N
    consecutive sample ids, each tile labelled with its id and parameters."""
    config = _build_config(**config_options)
    from .._preview import MAX_TILES

    if not 1 <= num <= MAX_TILES:
        _fail(f"-n must be between 1 and {MAX_TILES}, got {num}")
    if start < 0:
        _fail(f"--start must be >= 0, got {start}")
    if not 16 <= tile <= 2048:
        _fail(f"--tile must be between 16 and 2048, got {tile}")
    if columns is not None and columns < 1:
        _fail(f"--columns must be >= 1, got {columns}")
    if output.suffix.lower() != ".png":
        _fail(f"{output}: the preview is a PNG; give a .png file name")
    if output.is_dir():
        _fail(f"{output}: is a folder; give a file name")
    if image is not None and not image.is_file():
        _fail(f"{image}: no such image file")
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        _fail("dpa preview needs Pillow: pip install 'dpa[preview]'")
    from .._preview import write_preview

    _make_folder(output)
    try:
        width, height = write_preview(
            output, config, image_path=image, num=num, start=start, tile=tile, columns=columns
        )
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        _fail(f"{image}: cannot read the image: {_one_line(exc)}")
    click.echo(f"wrote {num} tiles to {output} ({width}x{height})", err=True)
