"""A contact sheet: one image augmented for consecutive sample ids (``dpa preview``).

Needs Pillow (``pip install 'dpa[preview]'``), imported when a sheet is drawn. The
augmentation is :mod:`dpa.integrations.numpy`'s, the same as the torch and
TensorFlow pipelines apply; the parameters are the plain ones (what ``dpa show ID``
prints). Each tile is labelled with its id and parameters.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ._config import AugmentationConfig
from ._generate import generate_batch
from ._io import write_atomic
from ._parambatch import ParamBatch
from .integrations.numpy import apply_params

__all__ = [
    "SheetLayout",
    "builtin_pattern",
    "contact_sheet",
    "layout",
    "load_image",
    "write_preview",
]

#: Pixels between tiles and around the sheet.
PAD = 6
#: Height of the title line at the top.
TITLE_HEIGHT = 22
#: Height of a line of a tile's label.
LINE_HEIGHT = 13
#: Largest number of tiles in one sheet.
MAX_TILES = 400

FloatImage = npt.NDArray[np.float32]


def builtin_pattern(size: int = 192) -> FloatImage:
    """A ``[3, size, size]`` float image with no symmetry, so rotation, scale and
    mirroring are easy to see: a colour gradient, a grid, a red arrow pointing up,
    a green bar at the right edge and a blue block at the bottom left.

    Example:
        >>> builtin_pattern(64).shape
        (3, 64, 64)
    """
    if size < 8:
        raise ValueError(f"the test pattern needs a size of at least 8, got {size}")
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) / (size - 1)
    image = np.stack([0.25 + 0.5 * xs, 0.25 + 0.5 * ys, 0.6 - 0.3 * xs * ys]).astype(np.float32)
    step = max(size // 8, 2)
    grid = (np.arange(size) % step == 0).astype(bool)
    image[:, grid, :] = 0.95
    image[:, :, grid] = 0.95
    centre, width = size // 2, max(size // 16, 1)
    top, bottom = size // 6, size * 3 // 4
    image[:, top:bottom, centre - width : centre + width] = np.array([0.9, 0.1, 0.1])[:, None, None]
    for row in range(top, top + size // 5):  # the arrow's head
        half = (row - top) // 2 + width
        image[:, row, centre - half : centre + half] = np.array([0.9, 0.1, 0.1])[:, None]
    image[:, size // 8 : size * 7 // 8, size - size // 10 :] = np.array([0.1, 0.8, 0.2])[
        :, None, None
    ]
    image[:, size - size // 5 :, : size // 4] = np.array([0.1, 0.2, 0.9])[:, None, None]
    return np.clip(image, 0.0, 1.0)


def load_image(path: str | Path, tile: int) -> FloatImage:
    """The image at ``path`` as ``[3, H, W]`` float32 in ``[0, 1]`` (RGB), resized so
    that its longer side is ``tile`` pixels."""
    from PIL import Image

    with Image.open(path) as opened:
        rgb = opened.convert("RGB")
    scale = tile / max(rgb.size)
    size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
    rgb = rgb.resize(size, Image.Resampling.BILINEAR)
    return (np.asarray(rgb, dtype=np.float32) / 255.0).transpose(2, 0, 1).copy()


@dataclass(frozen=True)
class SheetLayout:
    """Where the tiles go: ``columns`` x ``rows`` tiles of ``tile_width`` x
    ``tile_height`` pixels, each with ``label_lines`` lines of label below it, and
    the sheet's size."""

    columns: int
    rows: int
    tile_width: int
    tile_height: int
    label_lines: int = 4

    @property
    def label_height(self) -> int:
        """Pixels of label below each tile."""
        return self.label_lines * LINE_HEIGHT + 6

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the sheet in pixels."""
        width = PAD + self.columns * (self.tile_width + PAD)
        height = TITLE_HEIGHT + PAD + self.rows * (self.tile_height + self.label_height + PAD)
        return width, height

    def origin(self, index: int) -> tuple[int, int]:
        """Top-left corner of tile ``index``."""
        row, col = divmod(index, self.columns)
        return (
            PAD + col * (self.tile_width + PAD),
            TITLE_HEIGHT + PAD + row * (self.tile_height + self.label_height + PAD),
        )


def layout(
    count: int,
    tile_width: int,
    tile_height: int,
    columns: int | None = None,
    label_lines: int = 4,
) -> SheetLayout:
    """The layout of ``count`` tiles: ``columns`` per row (default: about square).

    Example:
        >>> layout(16, 100, 80).size
        (430, 604)
    """
    if columns is None:
        columns = math.ceil(math.sqrt(count))
    columns = max(1, min(columns, count))
    return SheetLayout(columns, math.ceil(count / columns), tile_width, tile_height, label_lines)


def _label(params: dict[str, Any], fits: Any) -> list[str]:
    """The label's lines: two parameters a line where that fits the tile, else one."""
    pairs = [
        (f"rot {params['rotation']:+.1f} deg", f"scale {params['scale']:.3f}"),
        (f"bright {params['brightness']:.3f}", f"contr {params['contrast']:.3f}"),
        (f"noise {params['noise']:.4f}",),
    ]
    lines = [f"#{params['sample_id']}"]
    for pair in pairs:
        joined = "  ".join(pair)
        lines.extend([joined] if fits(joined) else pair)
    return lines


def _font(size: int) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # Pillow < 10.1, or no FreeType
        return ImageFont.load_default()


def contact_sheet(
    image: FloatImage, batch: ParamBatch, columns: int | None = None, title: str = ""
) -> Any:
    """A ``PIL.Image`` (RGB) of ``image`` (``[3, H, W]`` float) augmented by each
    sample of ``batch``, one labelled tile per sample."""
    from PIL import Image, ImageDraw

    if len(batch) == 0:
        raise ValueError("a contact sheet needs at least one sample")
    channels, height, width = image.shape
    tiles = apply_params(np.broadcast_to(image, (len(batch), channels, height, width)), batch)
    pixels = np.rint(np.clip(tiles, 0.0, 1.0) * 255.0).astype(np.uint8).transpose(0, 2, 3, 1)
    font = _font(11)
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))

    def fits(text: str) -> bool:
        return bool(measure.textlength(text, font=font) <= width)

    labels = [_label(params, fits) for params in batch.to_dicts()]
    grid = layout(len(batch), width, height, columns, max(len(lines) for lines in labels))
    sheet = Image.new("RGB", grid.size, (245, 245, 245))
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((PAD, 5), title, fill=(20, 20, 20), font=_font(13))
    for index, lines in enumerate(labels):
        left, top = grid.origin(index)
        sheet.paste(Image.fromarray(pixels[index], "RGB"), (left, top))
        for number, line in enumerate(lines):
            position = (left + 1, top + height + 2 + LINE_HEIGHT * number)
            draw.text(position, line, fill=(20, 20, 20), font=font)
    return sheet


def write_preview(
    output: str | Path,
    config: AugmentationConfig,
    *,
    image_path: str | Path | None = None,
    num: int = 16,
    start: int = 0,
    tile: int = 192,
    columns: int | None = None,
    title: str | None = None,
) -> tuple[int, int]:
    """Draw the contact sheet of ids ``start .. start+num-1`` and save it as PNG at
    ``output``; return its ``(width, height)``. ``image_path`` None: the test pattern."""
    image = builtin_pattern(tile) if image_path is None else load_image(image_path, tile)
    batch = generate_batch(range(start, start + num), config)
    if title is None:
        source = "test pattern" if image_path is None else Path(image_path).name
        title = f"dpa preview: {source}, ids {start}..{start + num - 1}"
    sheet = contact_sheet(image, batch, columns, title)
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    write_atomic(output, buffer.getvalue())
    return (int(sheet.width), int(sheet.height))
