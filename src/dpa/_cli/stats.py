"""``dpa stats FILE``: mean, stdev, min, max and count of each parameter in a dpa
output file; with ``--quality``, the statistical quality checks of :mod:`dpa._quality`
on the file or on N freshly generated samples (exit 1 when one fails).

Example:
    >>> import os, tempfile
    >>> from dpa._cli import main
    >>> path = os.path.join(tempfile.mkdtemp(), "p.jsonl")
    >>> main(["generate", "-n", "100", "-q", "-o", path])
    0
    >>> main(["stats", path])  # doctest: +ELLIPSIS
    /...p.jsonl: 100 samples (jsonl; statistics stored in the file)
    parameter  ...
    0
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from .._config import PARAM_NAMES
from .._errors import DPAFileError
from .._tables import text_table
from .errors import EXIT_FAILED, fail
from .files import make_folder, open_data_file
from .options import (
    FiniteFloatRange,
    build_config,
    config_options,
    resolve_workers,
    workers_option,
)
from .verify import check_input_file

__all__ = ["stats"]

#: How many samples ``--quality`` checks when neither FILE nor ``--n`` is given.
DEFAULT_QUALITY_SAMPLES = 1_000_000


@click.command(short_help="Summarize a file's parameters, or test their quality.")
@click.argument(
    "file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
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
    type=click.IntRange(min=1),
    help="With --quality and no FILE: how many samples to generate "
    f"[default: {DEFAULT_QUALITY_SAMPLES}].",
)
@click.option(
    "--start", type=click.IntRange(min=0), help="With --n: the first sample id [default: 0]."
)
@click.option(
    "--base-seed", type=click.IntRange(min=0), help="With --n: base seed of the rank/epoch checks."
)
@click.option(
    "--alpha",
    type=FiniteFloatRange(0, 1, min_open=True, max_open=True),
    help="With --quality: significance level [default: 0.001].",
)
@click.option("--plot", type=click.Path(path_type=Path), help="With --quality: PNG of histograms.")
@workers_option
@config_options
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
    """Print FILE's sample count and each parameter's mean, stdev, min and max;
    with --quality, test their statistical quality (of FILE, or of N generated
    samples with the config given by the options)."""
    generator_options = {"--n": num_samples, "--start": start, "--base-seed": base_seed}
    if quality:
        _run_quality(file, as_json, generator_options, alpha, plot, workers, config_options)
        return
    quality_options = {**generator_options, "--alpha": alpha, "--plot": plot}
    extra = [name for name, value in quality_options.items() if value is not None]
    extra += [
        f"--{name.removesuffix('_file')}"
        for name, value in config_options.items()
        if value is not None
    ]
    if extra:
        fail(f"{', '.join(extra)}: only with --quality")
    if file is None:
        fail("give a FILE (or --quality --n N)")
    check_input_file(file)
    _print_statistics(file, as_json)


def _print_statistics(file: Path, as_json: bool) -> None:
    opened = open_data_file(file)
    stored = _stored_statistics(opened)
    if stored is not None:  # what the writer computed, without reading the records
        count, result = stored
    else:
        from .._stats import RunningStatistics

        running = RunningStatistics()
        try:
            for batch in opened.iter_batches(65536):
                running.update_batch(batch)
        except DPAFileError as exc:
            fail(str(exc))
        count, result = running.count, running.result()
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    rows = [
        [name, *(_number(result[name][key]) for key in ("mean", "stdev", "min", "max"))]
        for name in PARAM_NAMES
    ]
    samples = "sample" if count == 1 else "samples"
    how = "stored in the file" if stored is not None else "computed from the records"
    click.echo(f"{file}: {count} {samples} ({opened.format}; statistics {how})")
    click.echo(text_table(["parameter", "mean", "stdev", "min", "max"], rows, left=[0]))


def _stored_statistics(opened: Any) -> tuple[int, dict[str, Any]] | None:
    """The count and statistics a file stores where reading them costs nothing (a
    Parquet summary, a JSON Lines end line), when whole and consistent; None
    otherwise (JSON keeps them after its records: those are read instead).
    ``dpa verify`` is the command that recomputes and checks them."""
    statistics: Any = opened.statistics
    count: Any = opened.num_samples
    if opened.format == "jsonl":
        from .._formats.jsonl import read_end_line

        end = read_end_line(opened.path)
        if end is None:
            return None
        statistics, count = end.get("statistics"), end.get("num_samples")
    if type(count) is not int or count != opened.num_samples or not isinstance(statistics, dict):
        return None
    keys = ("mean", "stdev", "min", "max", "count")
    for name in PARAM_NAMES:
        entry = statistics.get(name)
        if not isinstance(entry, dict) or entry.get("count") != count:
            return None
        if any(not isinstance(entry.get(key), int | float | None) for key in keys):
            return None
    return count, {name: statistics[name] for name in PARAM_NAMES}


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.8g}"


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
    if plot is not None:
        if plot.suffix.lower() != ".png":
            fail(f"{plot}: the plot is a PNG; give a .png file name")
        if plot.is_dir():
            fail(f"{plot}: is a folder; give a file name")
    config_given = any(value is not None for value in config_options.values())
    if file is not None:
        given = [name for name, value in generator_options.items() if value is not None]
        if given:
            fail(f"{', '.join(given)}: not with a FILE (its samples are checked)")
        check_input_file(file)
        opened = open_data_file(file)
        if config_given and opened.config is not None:
            fail(f"{file}: has its own config; config options apply to files without one")
        if not config_given and opened.config is None:
            fail(
                f"{file}: no config in its metadata: give the one it was made with "
                "(--preset, --config or the range options)"
            )
        config = build_config(**config_options) if config_given else None
        try:
            report = quality.check_file_quality(file, config, alpha=level)
        except (DPAFileError, ImportError) as exc:  # ImportError: no scipy
            fail(str(exc))
    else:
        n = generator_options["--n"]
        try:
            report = quality.check_quality(
                DEFAULT_QUALITY_SAMPLES if n is None else n,
                build_config(**config_options),
                start=generator_options["--start"] or 0,
                base_seed=generator_options["--base-seed"] or 0,
                alpha=level,
                workers=resolve_workers(workers),
            )
        except ImportError as exc:  # no scipy: the message says what to install
            fail(str(exc))
    if plot is not None:
        make_folder(plot)
        try:
            quality.plot_quality(report, plot)
        except RuntimeError as exc:
            fail(str(exc))
    click.echo(json.dumps(report.to_dict(), indent=2) if as_json else report.format())
    if plot is not None and not as_json:
        click.echo(f"wrote {plot}", err=True)
    if not report.passed:
        raise click.exceptions.Exit(EXIT_FAILED)
