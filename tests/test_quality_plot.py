"""The picture of a quality report (``dpa._quality.plot``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dpa import AugmentationConfig
from dpa._quality.plot import plot_quality
from dpa._quality.report import QualityReport


def test_plot_writes_a_png_without_pyplot(tmp_path: Path) -> None:
    script = (
        "import sys; from dpa._quality import check_quality, plot_quality;"
        f"plot_quality(check_quality(4000), {str(tmp_path / 'q.png')!r});"
        "print('matplotlib.pyplot' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    from PIL import Image

    with Image.open(tmp_path / "q.png") as image:
        assert image.format == "PNG" and image.size[0] > 600
    assert [p.name for p in tmp_path.iterdir()] == ["q.png"]  # no temporary left


def test_a_report_without_histograms_still_draws(tmp_path: Path) -> None:
    empty = QualityReport(3, 0.01, "nothing", AugmentationConfig(), ())
    assert plot_quality(empty, tmp_path / "e.png") == tmp_path / "e.png"
    partial = QualityReport(2, 0.01, "x", AugmentationConfig(), (), {"rotation": [1, 1]})
    assert plot_quality(partial, str(tmp_path / "p.png")).stat().st_size > 1000


def test_without_matplotlib_the_plot_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    report = QualityReport(3, 0.01, "x", AugmentationConfig(), ())
    with pytest.raises(
        RuntimeError, match=r"plots need matplotlib: pip install 'dpa-augment\[quality\]'"
    ):
        plot_quality(report, tmp_path / "q.png")
    assert list(tmp_path.iterdir()) == []


def test_only_a_report_is_drawn(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="QualityReport"):
        plot_quality("report", tmp_path / "q.png")
