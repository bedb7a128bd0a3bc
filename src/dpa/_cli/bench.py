"""``dpa bench``: benchmark dpa on this machine and compare with a saved run; the
work is :func:`dpa.benchmark.command.run_bench`'s, this command only passes its
options.

Example:
    >>> from dpa._cli import main
    >>> main(["bench", "--iterations", "1"])
    2
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .errors import fail, one_line

__all__ = ["bench"]


@click.command(short_help="Benchmark dpa here; compare with a saved run.")
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
        fail(one_line(exc))
    if status:
        raise click.exceptions.Exit(status)
