"""``dpa preview``: a PNG contact sheet of one image augmented for consecutive ids."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

Image = pytest.importorskip("PIL.Image")

import dpa  # noqa: E402
from dpa._cli import main  # noqa: E402
from dpa._preview import builtin_pattern, layout  # noqa: E402
from dpa.integrations.numpy import apply_params  # noqa: E402


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def sheet_layout(sheet: Path, count: int, width: int, height: int, columns: int | None = None):
    """The layout the sheet was drawn with: its size must be the layout's, with labels
    of four lines (two parameters a line) or six (one a line, for narrow tiles)."""
    with Image.open(sheet) as opened:
        assert opened.format == "PNG"
        size = opened.size
    for lines in (4, 6):
        grid = layout(count, width, height, columns, label_lines=lines)
        if grid.size == size:
            return grid
    raise AssertionError(f"sheet size {size} fits no layout of {count} {width}x{height} tiles")


def tiles(sheet: Path, count: int, width: int, height: int, columns: int | None = None) -> list:
    """The tiles' pixels, cut out of the sheet where the layout put them."""
    grid = sheet_layout(sheet, count, width, height, columns)
    pixels = np.asarray(Image.open(sheet).convert("RGB"))
    cut = []
    for index in range(count):
        left, top = grid.origin(index)
        cut.append(pixels[top : top + height, left : left + width])
    return cut


def test_preview_of_the_test_pattern(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "grid.png"
    code, _, err = run(capsys, "preview", "-n", "6", "--tile", "64", "-o", str(target))
    assert code == 0, err
    assert f"wrote 6 tiles to {target}" in err
    grid = sheet_layout(target, 6, 64, 64)
    assert (grid.columns, grid.rows) == (3, 2)
    assert grid.size == (6 + 3 * (64 + 6), 22 + 6 + 2 * (64 + grid.label_height + 6))
    cut = tiles(target, 6, 64, 64)
    for i in range(6):
        for j in range(i):
            assert not np.array_equal(cut[i], cut[j]), (i, j)
    # tile 2 is the pattern augmented by sample 2's plain parameters
    expected = apply_params(builtin_pattern(64), dpa.gen_augmentation_params(2))
    expected = np.rint(np.clip(expected, 0, 1) * 255).astype(np.uint8).transpose(1, 2, 0)
    assert np.array_equal(cut[2], expected)


def test_preview_of_an_image_with_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "photo.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (50, 100, 3), dtype=np.uint8)).save(source)
    target = tmp_path / "out" / "sheet.png"
    code, _, err = run(
        capsys, "preview", str(source), "--preset", "mild", "--rotation", "-5", "5", "-n", "4",
        "--start", "100", "--tile", "80", "--columns", "4", "-o", str(target),
    )  # fmt: skip
    assert code == 0, err
    grid = sheet_layout(target, 4, 80, 40, columns=4)  # 100x50 -> 80x40 tiles
    assert (grid.columns, grid.rows) == (4, 1)
    cut = tiles(target, 4, 80, 40, columns=4)
    assert not np.array_equal(cut[0], cut[3])


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["-n", "0"], ["-n"]),
        (["--start", "-1"], ["--start"]),
        (["--tile", "4"], ["--tile"]),
        (["--columns", "0"], ["--columns"]),
        (["--rotation", "5", "1"], ["invalid config"]),
    ],
)
def test_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], words: list[str]
) -> None:
    code, out, err = run(capsys, "preview", *args, "-o", str(tmp_path / "x.png"))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("dpa: error: ")
    for word in words:
        assert word in err
    assert not (tmp_path / "x.png").exists()


def test_bad_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("hello")
    for argv, word in [
        (["preview", "-o", str(tmp_path / "x.jpg")], ".png"),
        (
            ["preview", str(tmp_path / "missing.png"), "-o", str(tmp_path / "x.png")],
            "does not exist",
        ),
        (["preview", str(not_an_image), "-o", str(tmp_path / "x.png")], "cannot read"),
        (["preview", "-o", str(tmp_path)], ".png"),
    ]:
        code, _, err = run(capsys, *argv)
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert word in err


def test_pattern_has_no_symmetry() -> None:
    pattern = builtin_pattern(48)
    assert pattern.shape == (3, 48, 48) and pattern.dtype == np.float32
    for k in (1, 2, 3):
        assert not np.array_equal(np.rot90(pattern, k, axes=(1, 2)), pattern)
    assert not np.array_equal(pattern[:, ::-1], pattern)
    assert not np.array_equal(pattern[:, :, ::-1], pattern)


def test_a_16_bit_image_keeps_its_tones(tmp_path: Path) -> None:
    """A 16-bit grayscale PNG is scaled by 65535, not clipped to white at 255."""
    from dpa._preview import load_image

    ramp = (np.linspace(0, 65535, 64 * 64).reshape(64, 64)).astype(np.uint16)
    path = tmp_path / "ramp16.png"
    Image.fromarray(ramp).save(path)
    loaded = load_image(path, 64)
    assert loaded.shape == (3, 64, 64)
    assert 0.45 < float(loaded.mean()) < 0.55  # a ramp, not pure white
    assert float(loaded.min()) < 0.01 and float(loaded.max()) > 0.99
    eight = tmp_path / "ramp8.png"
    Image.fromarray((ramp // 257).astype(np.uint8)).save(eight)
    assert np.abs(load_image(eight, 64) - loaded).max() < 2 / 255


def test_the_sheet_is_drawn_in_bounded_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiles are augmented a group at a time (400 tiles of 2048 pixels once needed
    19 GB); the groups give the same pixels as one pass."""
    import dpa._preview as preview

    image = builtin_pattern(32)
    batch = dpa.generate_batch(range(10))
    whole = preview._augmented_pixels(image, batch)
    sizes: list[int] = []
    real = preview.apply_params
    monkeypatch.setattr(preview, "_CHUNK_ELEMENTS", 3 * 32 * 32 * 3)  # three tiles a group
    monkeypatch.setattr(preview, "apply_params", lambda x, p: sizes.append(len(x)) or real(x, p))
    assert np.array_equal(preview._augmented_pixels(image, batch), whole)
    assert sizes == [3, 3, 3, 1]


def test_the_title_names_the_config(tmp_path: Path) -> None:
    from dpa._config import config_name

    assert config_name(dpa.get_preset("mild")) == "preset 'mild'"
    assert config_name(dpa.AugmentationConfig()) == "preset 'moderate'"
    custom = config_name(dpa.AugmentationConfig(noise_range=(0, 0.5)))
    assert custom.startswith("config rotation -30..30") and "noise 0..0.5" in custom


def test_write_preview_checks_its_arguments(tmp_path: Path) -> None:
    config = dpa.get_preset("mild")
    target = tmp_path / "p.png"
    cases = [
        ({"image_path": 5}, TypeError, "image_path"),
        ({"title": 7}, TypeError, "title"),
        ({"tile": float("inf")}, TypeError, "tile"),
        ({"tile": 8}, ValueError, "tile"),
        ({"tile": 4096}, ValueError, "tile"),
        ({"num": 10**30}, ValueError, "num"),
        ({"num": 0}, ValueError, "num"),
        ({"columns": 0}, ValueError, "columns"),
        ({"start": -1}, ValueError, "start"),
    ]
    for kwargs, error, name in cases:
        with pytest.raises(error, match=name):
            dpa.write_preview(target, config, **kwargs)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        dpa.write_preview(tmp_path / "missing" / "p.png", config, num=1, tile=16)
    assert not (tmp_path / "missing").exists() and not target.exists()
