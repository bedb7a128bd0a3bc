"""A contact sheet: one image augmented for consecutive sample ids (``dpa preview``).

Needs Pillow (``pip install 'dpa-augment[preview]'``), imported when a sheet is drawn. The
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

from ._config import AugmentationConfig, check_config, config_name
from ._generate import generate_batch
from ._io import write_atomic
from ._parambatch import ParamBatch
from ._validate import check_int, check_path, check_sample_id
from .integrations.numpy import apply_params

__all__ = [
    "MAX_TILE",
    "MAX_TILES",
    "MIN_TILE",
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
#: Smallest and largest tile (the longer side, in pixels).
MIN_TILE, MAX_TILE = 16, 2048
#: Image elements augmented at once: tiles are drawn in groups of at most this many
#: elements, so a sheet of 400 tiles of 2048 pixels needs a few hundred MB, not the
#: 19 GB of augmenting them all at once.
_CHUNK_ELEMENTS = 1 << 24

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
    that its longer side is ``tile`` pixels. Values are scaled by the image's own bit
    depth: a 16-bit PNG's 65535 is white, not 255 (Pillow's ``convert("RGB")`` would
    clip every value above 255 to white)."""
    from PIL import Image

    with Image.open(path) as opened:
        opened.load()
        planes = _float_planes(opened)
    height, width = planes[0].shape
    scale = tile / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = [
        np.asarray(Image.fromarray(plane, "F").resize(size, Image.Resampling.BILINEAR))
        for plane in planes
    ]
    image: FloatImage = np.clip(np.stack(resized), 0.0, 1.0).astype(np.float32)
    return image


def _float_planes(image: Any) -> list[npt.NDArray[np.float32]]:
    """The R, G and B planes of a PIL image as float32 in ``[0, 1]``."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):  # 16/32-bit grayscale
        values = np.asarray(image, dtype=np.float64)
        # 16-bit PNGs open as "I;16" or, in older Pillow, as "I" with values <= 65535.
        wide = image.mode == "I" and values.size > 0 and values.max() > 65535
        full = float(2**32 - 1) if wide else 65535.0
        gray = np.clip(values / full, 0.0, 1.0).astype(np.float32)
        return [gray, gray, gray]
    if image.mode == "F":
        gray = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
        return [gray, gray, gray]
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return [np.ascontiguousarray(rgb[:, :, channel]) for channel in range(3)]


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


def _augmented_pixels(image: FloatImage, batch: ParamBatch) -> npt.NDArray[np.uint8]:
    """``image`` augmented by each sample of ``batch`` as ``[N, H, W, 3]`` uint8, in
    groups of at most :data:`_CHUNK_ELEMENTS` elements (bounded memory)."""
    channels, height, width = image.shape
    per_group = max(1, _CHUNK_ELEMENTS // (channels * height * width))
    out = np.empty((len(batch), height, width, channels), dtype=np.uint8)
    for first in range(0, len(batch), per_group):
        part = batch[first : first + per_group]
        tiles = apply_params(np.broadcast_to(image, (len(part), channels, height, width)), part)
        scaled = np.rint(np.clip(tiles, 0.0, 1.0) * 255.0).astype(np.uint8)
        out[first : first + len(part)] = scaled.transpose(0, 2, 3, 1)
    return out


def contact_sheet(
    image: FloatImage, batch: ParamBatch, columns: int | None = None, title: str = ""
) -> Any:
    """A ``PIL.Image`` (RGB) of ``image`` (``[3, H, W]`` float) augmented by each
    sample of ``batch``, one labelled tile per sample."""
    from PIL import Image, ImageDraw

    if len(batch) == 0:
        raise ValueError("a contact sheet needs at least one sample")
    _, height, width = image.shape
    pixels = _augmented_pixels(image, batch)
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
    ``output`` (whose folder must exist); return its ``(width, height)``.

    ``image_path`` None: the test pattern. ``num`` is 1 .. :data:`MAX_TILES`, ``tile``
    :data:`MIN_TILE` .. :data:`MAX_TILE` pixels; the default title names the image,
    the ids and the config (its preset's name where it is one).
    """
    target = check_path(output, "output")
    config = check_config(config)
    source = None if image_path is None else check_path(image_path, "image_path")
    num = check_int(num, "num", 1)
    if num > MAX_TILES:
        raise ValueError(f"num must be <= {MAX_TILES}, got {num}")
    start = check_sample_id(start, "start")
    tile = check_int(tile, "tile", MIN_TILE)
    if tile > MAX_TILE:
        raise ValueError(f"tile must be <= {MAX_TILE}, got {tile}")
    if columns is not None:
        columns = check_int(columns, "columns", 1)
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a str or None, got {type(title).__name__}")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"{target}: the folder {target.parent} does not exist")
    image = builtin_pattern(tile) if source is None else load_image(source, tile)
    batch = generate_batch(range(start, start + num), config)
    if title is None:
        name = "test pattern" if source is None else source.name
        title = f"dpa preview: {name}, ids {start}..{start + num - 1}, {config_name(config)}"
    sheet = contact_sheet(image, batch, columns, title)
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    write_atomic(target, buffer.getvalue())
    return (int(sheet.width), int(sheet.height))
