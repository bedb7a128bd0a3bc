"""``dpa preview [IMAGE] -o grid.png``: a contact sheet of IMAGE (default: a test
pattern) augmented for N consecutive sample ids, each tile labelled with its id and
parameters (needs Pillow: ``pip install 'dpa-augment[preview]'``).

Example:
    >>> import os, tempfile
    >>> from dpa._cli import main
    >>> sheet = os.path.join(tempfile.mkdtemp(), "grid.png")
    >>> main(["preview", "-n", "2", "--tile", "32", "-o", sheet])
    0
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .errors import fail, one_line
from .files import make_folder
from .options import build_config, config_options, start_option

__all__ = ["preview"]


def _at_most_max_tiles(ctx: click.Context, param: click.Parameter, num: int) -> int:
    """``-n`` within the most tiles a sheet holds (known once the preview module,
    imported only when this command runs, is)."""
    from .._preview import MAX_TILES

    return int(click.IntRange(1, MAX_TILES).convert(num, param, ctx))


@click.command(short_help="Draw an image augmented for consecutive ids (PNG).")
@click.argument(
    "image", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@config_options
@click.option(
    "-n",
    "--num",
    "num",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    callback=_at_most_max_tiles,
    help="Tiles.",
)
@start_option
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="PNG file.")
@click.option(
    "--tile",
    type=click.IntRange(16, 2048),
    default=192,
    show_default=True,
    help="Tile size (pixels).",
)
@click.option(
    "--columns", type=click.IntRange(min=1), help="Tiles per row (default: about square)."
)
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
    config = build_config(**config_options)
    if output.suffix.lower() != ".png":
        fail(f"{output}: the preview is a PNG; give a .png file name")
    if output.is_dir():
        fail(f"{output}: is a folder; give a file name")
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        fail("dpa preview needs Pillow: pip install 'dpa-augment[preview]'")
    from .._preview import write_preview

    make_folder(output)
    try:
        width, height = write_preview(
            output, config, image_path=image, num=num, start=start, tile=tile, columns=columns
        )
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        fail(f"{image}: cannot read the image: {one_line(exc)}")
    click.echo(f"wrote {num} tiles to {output} ({width}x{height})", err=True)
