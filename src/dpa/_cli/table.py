"""Plain-text tables, as ``dpa presets`` and ``dpa stats`` print them.

Example:
    >>> print(table(["name", "n"], [["a", "1"], ["bb", "22"]]))
    name   n
    ----  --
    a      1
    bb    22
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["table"]


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """``header`` over a rule and ``rows``: the first column left-aligned, the others
    right-aligned, two spaces apart."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first, *rest = cells
        aligned = [first.ljust(widths[0])]
        aligned += [cell.rjust(width) for cell, width in zip(rest, widths[1:], strict=True)]
        return "  ".join(aligned).rstrip()

    return "\n".join([line(header), line(["-" * width for width in widths]), *map(line, rows)])
