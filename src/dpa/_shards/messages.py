"""How the sharded-output modules word what they report: an error on one line, a
shard's ids, a long list of ranks cut short.

Every sentence of a shard check, a failed rank or a refused merge ends up on one
line of the ``dpa`` command's output, so they are built here alike.

Example:
    >>> id_range({"start_id": 30, "end_id": 60}), short_list([0, 1, 2], more=7)
    ('ids 30..59', '0, 1, 2 and 7 more')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["id_range", "one_line", "short_list"]


def one_line(exc: BaseException) -> str:
    """An exception's text on one line (its type's name when it has none).

    Example:
        >>> one_line(OSError("disk\\n  full"))
        'disk full'
    """
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def id_range(entry: Mapping[str, Any]) -> str:
    """The ids of a manifest entry (``start_id`` .. ``end_id``-1), as a phrase.

    Example:
        >>> id_range({"start_id": 4, "end_id": 4})
        'no ids'
    """
    lo, hi = entry["start_id"], entry["end_id"]
    return "no ids" if hi == lo else f"ids {lo}..{hi - 1}"


def short_list(values: Sequence[object], more: int = 0) -> str:
    """``values`` joined by commas, and how many ``more`` there are when some.

    Example:
        >>> short_list([3, 5]), short_list([3, 5], more=4)
        ('3, 5', '3, 5 and 4 more')
    """
    shown = ", ".join(str(value) for value in values)
    return shown + (f" and {more} more" if more > 0 else "")
