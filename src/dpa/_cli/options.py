"""The options several ``dpa`` commands share, and the config they build.

- :func:`config_options` (``--preset``, ``--config``, ``--NAME LO HI`` per
  parameter, ``--depth``) and :func:`build_config`, which turns them into an
  :class:`~dpa.AugmentationConfig`;
- :data:`workers_option` and :func:`resolve_workers` (default: the CPUs this
  process may use);
- :func:`output_options` (``-o/--output``, ``--format``) and
  :func:`distributed_options` (``--distributed``, ``--mode``, ``--base-seed``,
  ``--epoch``);
- :class:`FiniteFloatRange`: click's FloatRange that also refuses nan and infinity.

Example:
    >>> build_config(preset="mild", config_file=None, depth=3, rotation=(-5, 5)).rotation_range
    (-5, 5)
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .._config import PARAM_NAMES, PRESETS, AugmentationConfig, get_preset
from .._formats import FORMATS
from .._keys import MODES, PLAIN
from .._system import usable_cpus
from .errors import fail

__all__ = [
    "DISTRIBUTED_MODES",
    "FiniteFloatRange",
    "build_config",
    "config_options",
    "distributed_options",
    "output_options",
    "quiet_option",
    "resolve_workers",
    "start_option",
    "workers_option",
]

Command = TypeVar("Command", bound=Callable[..., Any])
#: The key modes of ``--mode`` (a distributed run's keys are never plain).
DISTRIBUTED_MODES = tuple(mode for mode in MODES if mode != PLAIN.mode)


class FiniteFloatRange(click.FloatRange):
    """click's :class:`~click.FloatRange` that also refuses nan and infinity (a range
    lets nan through: it compares false with every bound).

    Example:
        >>> FiniteFloatRange(min=0, min_open=True).convert("2.5", None, None)
        2.5
    """

    name = "finite float range"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{number} is not a finite number.", param, ctx)
        return number


def _with_options(command: Command, options: list[Callable[[Command], Command]]) -> Command:
    """``command`` decorated with ``options``, listed in ``--help`` in this order."""
    for option in reversed(options):
        command = option(command)
    return command


def config_options(command: Command) -> Command:
    """Add ``--preset``, ``--config``, one ``--NAME LO HI`` per parameter and
    ``--depth`` (the keyword arguments of :func:`build_config`)."""
    return _with_options(
        command,
        [
            click.option(
                "--preset",
                type=click.Choice(sorted(PRESETS)),
                help="Start from a named preset (default: moderate).",
            ),
            click.option(
                "--config",
                "config_file",
                type=click.Path(exists=True, dir_okay=False, path_type=Path),
                help="Start from a JSON file of config fields (or a dpa output file).",
            ),
            *[
                click.option(
                    f"--{name}", type=(float, float), metavar="LO HI", help=f"Range of {name}."
                )
                for name in PARAM_NAMES
            ],
            click.option("--depth", type=int, help="Hash-chain depth (augmentation_depth)."),
        ],
    )


def build_config(
    preset: str | None, config_file: Path | None, depth: int | None, **ranges: Any
) -> AugmentationConfig:
    """The config :func:`config_options` ask for: the preset's or the file's (default:
    the defaults), with the ranges and depth given on top."""
    if preset and config_file:
        fail("--preset and --config cannot be used together")
    if config_file is not None:
        fields = _read_config_file(config_file)
    elif preset:
        fields = get_preset(preset).to_dict()
    else:
        fields = AugmentationConfig().to_dict()
    for name in PARAM_NAMES:
        pair = ranges.get(name)
        if pair is not None:
            fields[f"{name}_range"] = [_json_number(pair[0]), _json_number(pair[1])]
    if depth is not None:
        fields["augmentation_depth"] = depth
    try:
        return AugmentationConfig.from_dict(fields)
    except (TypeError, ValueError) as exc:
        fail(f"invalid config: {exc}")


def _json_number(value: float) -> float:
    """A bound as a config file would hold it: ``5.0`` as ``5``."""
    return int(value) if float(value).is_integer() else value


def _read_config_file(path: Path) -> dict[str, Any]:
    """The config fields of a JSON file: an object of fields, or a dpa ``.json``
    output file (its metadata's config)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{path}: cannot read the config file: {exc}")
    except ValueError as exc:
        fail(f"{path}: the config file is not valid JSON: {exc}")
    if isinstance(data, dict) and isinstance(data.get("metadata"), dict):
        data = data["metadata"].get("config")
    if not isinstance(data, dict):
        fail(f"{path}: expected a JSON object of config fields")
    return dict(data)


start_option = click.option(
    "--start", type=click.IntRange(min=0), default=0, show_default=True, help="First sample id."
)
quiet_option = click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
workers_option = click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Threads that share the work (default: the CPUs available).",
)


def resolve_workers(workers: int | None) -> int:
    """``--workers``, or the CPUs this process may use when it is not given."""
    return usable_cpus() if workers is None else workers


def output_options(command: Command) -> Command:
    """Add ``-o/--output`` (``output``) and ``--format`` (``fmt``)."""
    return _with_options(
        command,
        [
            click.option(
                "-o", "--output", type=click.Path(path_type=Path), required=True, help="Output."
            ),
            click.option(
                "--format",
                "fmt",
                type=click.Choice(FORMATS),
                help="File format (default: from the output's suffix).",
            ),
        ],
    )


def distributed_options(command: Command) -> Command:
    """Add ``--distributed``, ``--mode``, ``--base-seed`` and ``--epoch``."""
    return _with_options(
        command,
        [
            click.option(
                "--distributed",
                is_flag=True,
                help="Under torchrun: each rank writes its shard of OUTPUT (a folder), rank 0 "
                "the manifest.",
            ),
            click.option(
                "--mode",
                type=click.Choice(DISTRIBUTED_MODES),
                help="Keys of a distributed run (default: rank_aware, DPA v0.2).",
            ),
            click.option(
                "--base-seed",
                type=click.IntRange(min=0),
                help="Base seed of a distributed run (default: 0).",
            ),
            click.option(
                "--epoch", type=click.IntRange(min=0), help="Epoch of an elastic run (default: 0)."
            ),
        ],
    )
