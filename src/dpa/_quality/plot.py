"""The picture of a quality report: each parameter's histogram, and the seed bytes.

matplotlib and scipy (the ``quality`` extra) are imported when a plot is drawn.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from .._config import PARAM_NAMES
from .report import QualityReport
from .stats import INSTALL_HINT, scipy_stats

__all__ = ["plot_quality"]

#: The share of a uniform sample's bin counts that the band drawn around the
#: expectation holds.
BAND = 0.999
_SHORT = {"Kolmogorov-Smirnov": "KS", "chi-square": "chi2"}


def plot_quality(report: QualityReport, path: str | Path) -> Path:
    """Write a PNG of the report: each parameter's histogram against the uniform
    expectation and the band that holds a uniform bin's count with probability 99.9%,
    and the counts of each seed byte.

    The figure is drawn without pyplot (no global matplotlib state) and written to a
    temporary name, then renamed to ``path``.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise RuntimeError(f"plots need matplotlib: {INSTALL_HINT}") from exc
    if not isinstance(report, QualityReport):
        raise TypeError(f"report must be a QualityReport, got {type(report).__name__}")
    from .._io import write_atomic  # the file machinery loads with the first plot

    target = Path(path)
    figure = Figure(figsize=(12, 7), layout="constrained")
    axes = figure.subplots(2, 3)
    panels = [name for name in PARAM_NAMES if name in report.histograms]
    for ax, name in zip(axes.flat, panels, strict=False):
        counts = np.asarray(report.histograms[name], dtype=np.float64)
        lo, hi = report.config.ranges[PARAM_NAMES.index(name)]
        edges = np.linspace(float(lo), float(hi), len(counts) + 1)
        ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color="#5d8aa8")
        low, high = _expected_band(ax, counts)
        if counts.sum():  # zoomed on the expectation, so departures from it show
            margin = (high - low) / 4
            ax.set_ylim(max(0.0, min(counts.min(), low) - margin), max(counts.max(), high) + margin)
        ps = ", ".join(
            f"{_SHORT[check.name.split(': ')[1]]} p={check.p_value:.3f}"
            for check in report.group("uniformity")
            if check.name.startswith(f"{name}:") and check.p_value is not None
        )
        ax.set_title(f"{name}  ({ps})", fontsize=9)
        ax.tick_params(labelsize=7)
    seed_ax = axes.flat[5]
    seed_keys = [f"seed byte {i}" for i in range(4) if f"seed byte {i}" in report.histograms]
    for key in seed_keys:
        counts = np.asarray(report.histograms[key], dtype=np.float64)
        seed_ax.step(range(len(counts)), counts, linewidth=0.6, where="mid", label=key[5:])
    if seed_keys:
        _expected_band(seed_ax, np.asarray(report.histograms[seed_keys[0]], dtype=np.float64))
        seed_ax.set_title("32-bit seeds: count of each byte value", fontsize=9)
        seed_ax.legend(fontsize=7, ncols=4, loc="upper center")
        seed_ax.tick_params(labelsize=7)
    else:
        seed_ax.set_axis_off()
    verdict = "PASS" if report.passed else f"FAIL ({len(report.failures())} checks)"
    figure.suptitle(f"dpa quality: {report.samples:,} samples, {report.source}: {verdict}")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    write_atomic(target, buffer.getvalue())
    return target


def _expected_band(ax: Any, counts: np.ndarray[Any, Any]) -> tuple[float, float]:
    """Draw on ``ax`` the count each bin expects when the sample is uniform, and the
    band (binomial) that holds it with probability :data:`BAND`; return the band."""
    total = int(counts.sum())
    bins = max(len(counts), 1)
    low, high = (float(end) for end in scipy_stats().binom.interval(BAND, total, 1 / bins))
    ax.axhline(total / bins, color="#c0392b", linewidth=1)
    ax.axhspan(low, high, color="#c0392b", alpha=0.15)
    return low, high
