"""Statistics of parameter records, and lists to and from generators, as DPA v0.2.

The statistics are dpa's (:func:`dpa.compute_statistics`, and Welford's online
update in :func:`dpa.compute_streaming_statistics`), in v0.2's layout: ``mean``,
``stdev``, ``min``, ``max`` and ``count`` per parameter. Where no record was
seen, v0.2's streaming statistics reported 0.0 for each figure and so does this
layer, for lists too (v0.2 raised ``statistics.StatisticsError`` on an empty list).

Example:
    >>> compute_streaming_statistics(iter([]))["rotation"]
    {'mean': 0.0, 'stdev': 0.0, 'min': 0.0, 'max': 0.0, 'count': 0}
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from . import _engine as engine

__all__ = [
    "Statistics",
    "compute_statistics",
    "compute_streaming_statistics",
    "fill_empty",
    "generator_to_list",
    "list_to_generator",
]

Statistics = dict[str, dict[str, Any]]


def fill_empty(stats: Statistics) -> Statistics:
    """v0.2's figures for a parameter with no record: 0.0 for each (dpa: None).

    Example:
        >>> fill_empty({"noise": dict(mean=None, stdev=None, min=None, max=None, count=0)})
        {'noise': {'mean': 0.0, 'stdev': 0.0, 'min': 0.0, 'max': 0.0, 'count': 0}}
    """
    for figures in stats.values():
        if figures["count"] == 0:
            figures.update(mean=0.0, stdev=0.0, min=0.0, max=0.0)
    return stats


def compute_statistics(params_list: list[dict[str, Any]]) -> Statistics:
    """Mean, sample stdev (0.0 for one record), min, max and count per parameter.

    Example:
        >>> compute_statistics([{"rotation": 5, "brightness": 1, "noise": 0,
        ...                      "scale": 1, "contrast": 1}])["rotation"]["mean"]
        5.0
    """
    return fill_empty(engine.compute_statistics(params_list))


def compute_streaming_statistics(param_generator: Iterable[dict[str, Any]]) -> Statistics:
    """The statistics of :func:`compute_statistics`, in constant memory, consuming
    the generator.

    Example:
        >>> from dpa.v02 import stream_augmentation_chain
        >>> compute_streaming_statistics(stream_augmentation_chain(20))["noise"]["count"]
        20
    """
    return fill_empty(engine.compute_streaming_statistics(param_generator))


def generator_to_list(
    param_generator: Iterable[dict[str, Any]], max_items: int | None = None
) -> list[dict[str, Any]]:
    """The generator's items in a list, at most ``max_items`` of them (None: all).

    Example:
        >>> generator_to_list(iter(range(10)), max_items=3)
        [0, 1, 2]
    """
    if max_items is not None and max_items < 0:
        raise ValueError("max_items must be non-negative")
    items = iter(param_generator)
    if max_items is None:
        return list(items)
    return [item for _, item in zip(range(max_items), items, strict=False)]


def list_to_generator(params_list: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """A generator over the list's items.

    Example:
        >>> list(list_to_generator([{"a": 1}]))
        [{'a': 1}]
    """
    yield from params_list
