"""``dpa show ID``: one sample's parameters as JSON.

Example:
    >>> from dpa._cli import main
    >>> main(["show", "7", "--depth", "2"])  # doctest: +ELLIPSIS
    {
      "sample_id": 7,
      "rotation": ...
    }
    0
"""

from __future__ import annotations

import json
from typing import Any

import click

from .options import build_config, config_options

__all__ = ["show"]


@click.command(short_help="Print the parameters of one sample as JSON.")
@click.argument("sample_id", type=click.IntRange(min=0))
@config_options
def show(sample_id: int, **config_options: Any) -> None:
    """Print the parameters of one sample as JSON."""
    from .._generate import gen_augmentation_params

    params = gen_augmentation_params(sample_id, build_config(**config_options))
    click.echo(json.dumps({"sample_id": sample_id, **params}, indent=2))
