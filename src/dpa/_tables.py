"""Figures as text: rates, durations and changes formatted for people, and tables
(plain text and Markdown). It imports nothing from dpa, so any report can use it.

Example:
    >>> print(text_table(["name", "rate"], [["batch", format_rate(1_426_000)]], left=[0]))
    name     rate
    -----  ------
    batch  1.43 M
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

__all__ = [
    "format_change",
    "format_rate",
    "format_seconds",
    "markdown_table",
    "text_table",
]


def format_rate(value: float | None) -> str:
    """A rate with a k / M suffix: ``1.43 M``, ``178.4 k``, ``950``.

    Example:
        >>> format_rate(1_426_000), format_rate(178_400), format_rate(950.4), format_rate(None)
        ('1.43 M', '178.4 k', '950', '-')
    """
    if value is None or not math.isfinite(value):
        return "-"
    if abs(value) >= 1e6:
        return f"{value / 1e6:.2f} M"
    if abs(value) >= 1e3:
        return f"{value / 1e3:.1f} k"
    return f"{value:.0f}"


def format_seconds(value: float | None) -> str:
    """Seconds in µs, ms or s, three significant digits.

    Example:
        >>> format_seconds(5.61e-6), format_seconds(0.0851), format_seconds(2.5)
        ('5.61 µs', '85.1 ms', '2.50 s')
    """
    if value is None or not math.isfinite(value):
        return "-"
    if value < 1e-3:
        return f"{value * 1e6:.3g} µs"
    if value < 1:
        return f"{value * 1e3:.3g} ms"
    return f"{value:.2f} s"


def format_change(change: float | None, missing: str = "n/a") -> str:
    """A relative change as a signed percentage (``missing`` for an unknown one).

    Example:
        >>> format_change(-0.0954), format_change(0.25), format_change(None)
        ('-9.5%', '+25.0%', 'n/a')
    """
    return missing if change is None else f"{100 * change:+.1f}%"


def text_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    left: Collection[int] = (0, -1),
) -> str:
    """A plain-text table, columns two spaces apart, a line of dashes under the
    header: the columns numbered in ``left`` (negative: from the end) left-aligned,
    the others right-aligned; no trailing spaces.

    Example:
        >>> print(text_table(["what", "n"], [["a", "10"], ["bb", "2"]], left=[0]))
        what   n
        ----  --
        a     10
        bb     2
    """
    count = len(header)
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(count)]
    flush_left = {i % count for i in left} if count else set()

    def line(cells: Sequence[str]) -> str:
        parts = []
        for i, (cell, width) in enumerate(zip(cells, widths, strict=True)):
            text = str(cell)
            parts.append(text.ljust(width) if i in flush_left else text.rjust(width))
        return "  ".join(parts).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table: the first and last columns left-aligned,
    the others (numbers) right-aligned.

    Example:
        >>> print(markdown_table(["a", "n", "note"], [["x|y", "1", "-"]]))
        | a | n | note |
        | :-- | --: | :-- |
        | x\\|y | 1 | - |
    """

    def escape(cell: str) -> str:
        return str(cell).replace("|", "\\|")

    align = [":--" if i in (0, len(header) - 1) else "--:" for i in range(len(header))]
    lines = ["| " + " | ".join(escape(h) for h in header) + " |", "| " + " | ".join(align) + " |"]
    lines.extend("| " + " | ".join(escape(c) for c in row) + " |" for row in rows)
    return "\n".join(lines)
