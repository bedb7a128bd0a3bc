"""The ``dpa`` command: generate, show, verify, stats, presets.

Usage errors print one line on stderr and exit with status 2; ``dpa verify``
exits 1 when a file does not match. A progress bar goes to stderr for long runs
when stderr is a terminal (``--quiet`` turns it off).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from .config import PARAM_NAMES, PRESETS, AugmentationConfig, get_preset
from .core import gen_augmentation_params
from .formats import FORMATS, DPAFileError, detect_format, read_augmentation_file
from .stats import RunningStatistics

PROG = "dpa"
EXIT_MISMATCH = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageFailure(click.UsageError):
    """A bad value the user gave: one line, exit 2."""


def _fail(message: str) -> NoReturn:
    raise UsageFailure(message)


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


# --------------------------------------------------------------------------- progress


def _progress(total: int, quiet: bool, label: str) -> Any:
    """A tqdm bar on stderr, or None when quiet or stderr is not a terminal."""
    if quiet or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit=" samples", unit_scale=True, desc=label, file=sys.stderr)


# --------------------------------------------------------------------------- commands


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dpa", prog_name=PROG)
def cli() -> None:
    """Deterministic per-sample augmentation parameters (DPA v0.2, bit-exact)."""


@cli.command()
@click.option("-n", "--num-samples", "num_samples", type=int, required=True, help="How many.")
@click.option("--start", type=int, default=0, show_default=True, help="First sample id.")
@_config_options
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="Output.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="File format (default: from the output's suffix).",
)
@click.option("--resume", is_flag=True, help="Continue an interrupted run of this output.")
@click.option("--no-stats", is_flag=True, help="Do not store statistics in the file.")
@click.option("--batch-size", type=int, default=65536, show_default=True, help="Ids per batch.")
@_workers_option
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
def generate(
    num_samples: int,
    start: int,
    output: Path,
    fmt: str | None,
    resume: bool,
    no_stats: bool,
    batch_size: int,
    workers: int | None,
    quiet: bool,
    **config_options: Any,
) -> None:
    """Generate parameters of samples START .. START+N-1 into OUTPUT."""
    from .io import partial_path, write_range

    config = _build_config(**config_options)
    if num_samples < 0:
        _fail(f"-n must be >= 0, got {num_samples}")
    if start < 0:
        _fail(f"--start must be >= 0, got {start}")
    if batch_size < 1:
        _fail(f"--batch-size must be >= 1, got {batch_size}")
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
    bar = _progress(num_samples, quiet, "generate")
    try:
        writer = write_range(
            output,
            start,
            start + num_samples,
            config,
            format=fmt,
            include_stats=not no_stats,
            batch_size=batch_size,
            progress=bar.update if bar is not None else None,
            resumable=resumable,
            resume=resume,
            workers=_workers(workers),
        )
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        kept = "; progress kept: run again with --resume to continue" if resumable else ""
        click.echo(f"{PROG}: interrupted, {output} not written{kept}", err=True)
        raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
    finally:
        if bar is not None:
            bar.close()
    if not quiet:
        resumed = f" ({writer.resumed_count} resumed)" if writer.resumed_count else ""
        click.echo(f"wrote {writer.count} samples{resumed} to {output} ({fmt})", err=True)


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
    from .verify import verify_augmentation_file

    if max_mismatches < 0:
        _fail(f"--max-mismatches must be >= 0, got {max_mismatches}")
    opened = _open_data_file(file)
    bar = _progress(opened.num_samples or 0, quiet, "verify")
    try:
        report = verify_augmentation_file(
            file,
            max_mismatches=max_mismatches,
            progress=bar.update if bar is not None else None,
            workers=_workers(workers),
        )
    except DPAFileError as exc:
        _report_failure(f"{exc}")
    finally:
        if bar is not None:
            bar.close()
    if report.ok:
        if not quiet:
            click.echo(f"OK: all {report.checked} records of {file} match ({report.format})")
        return
    lines = [f"FAILED: {file}"]
    if report.mismatched_samples:
        lines[0] += f": {report.mismatched_samples} of {report.checked} records differ"
    for m in report.mismatches:
        lines.append(
            f"  record {m.position} (sample {m.sample_id}): {m.field} is {m.stored!r}, "
            f"expected {m.expected!r}"
        )
    lines.extend(f"  {problem}" for problem in report.problems)
    click.echo("\n".join(lines))
    raise click.exceptions.Exit(EXIT_MISMATCH)


def _report_failure(message: str) -> NoReturn:
    click.echo(f"FAILED: {message}")
    raise click.exceptions.Exit(EXIT_MISMATCH)


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
def stats(file: Path, as_json: bool) -> None:
    """Print mean, stdev, min, max and count of each parameter in FILE."""
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
