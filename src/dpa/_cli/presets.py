"""``dpa presets``: the presets and their ranges, as a table or JSON.

Example:
    >>> from dpa._cli import main
    >>> main(["presets"])
    preset       rotation  brightness      noise       scale      contrast  depth
    ----------  ---------  ----------  ---------  ----------  ------------  -----
    mild        -15 .. 15  0.9 .. 1.1  0 .. 0.05  0.9 .. 1.1  0.85 .. 1.15     10
    moderate    -30 .. 30  0.8 .. 1.2   0 .. 0.1  0.8 .. 1.2    0.7 .. 1.3     10
    aggressive  -45 .. 45  0.7 .. 1.3  0 .. 0.15  0.7 .. 1.3    0.6 .. 1.4     10
    0
"""

from __future__ import annotations

import json

import click

from .._config import PARAM_NAMES, PRESETS
from .._tables import text_table

__all__ = ["presets"]


@click.command(short_help="List the presets and their ranges.")
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
    click.echo(text_table(["preset", *PARAM_NAMES, "depth"], rows, left=[0]))
