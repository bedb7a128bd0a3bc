"""What each rank of a sharded run writes: its ids, its keys, its file's name.

A run of ``num_samples`` ids from ``start`` over ``world_size`` ranks gives each
rank the contiguous range :func:`plan_shards` names (DPA v0.2's
:class:`~dpa.DistributedRangeSplitter`), drawn with the key scheme
:func:`shard_scheme` builds for it (rank-aware: each rank its own keys; elastic: the
same keys whatever the rank), into the file :func:`shard_name` names.

Example:
    >>> plan_shards(5, 2), shard_name(1, "jsonl")
    ([(0, 3), (3, 5)], 'part-00001.jsonl')
    >>> shard_scheme("rank_aware", rank=1, world_size=2, base_seed=7).key(3)
    '7:1:3'
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .._distributed import DistributedRangeSplitter
from .._keys import MODES, PLAIN, KeyScheme, check_rank, scheme_for_mode
from .._validate import check_int

__all__ = [
    "SHARD_FORMATS",
    "SHARD_MODES",
    "check_format",
    "is_shard_file",
    "plan_shards",
    "shard_files",
    "shard_name",
    "shard_scheme",
]

#: The file formats a shard is written in (streamable, appendable).
SHARD_FORMATS = ("jsonl", "parquet")

#: The key modes of a sharded run: every mode but plain. A run is keyed by rank (DPA
#: v0.2) or elastically; :func:`shard_scheme` refuses any other.
SHARD_MODES = tuple(mode for mode in MODES if mode != PLAIN.mode)

_SHARD_FILE = re.compile(rf"part-\d{{5,}}\.(?:{'|'.join(SHARD_FORMATS)})\Z")


def shard_name(rank: int, fmt: str) -> str:
    """The file name of ``rank``'s shard.

    Example:
        >>> shard_name(3, "parquet")
        'part-00003.parquet'
    """
    return f"part-{rank:05d}.{fmt}"


def is_shard_file(name: str) -> bool:
    """True when ``name`` is a shard's file name (``part-NNNNN.jsonl|parquet``).

    Example:
        >>> is_shard_file("part-00012.jsonl"), is_shard_file("part-1.jsonl")
        (True, False)
    """
    return _SHARD_FILE.match(name) is not None


def shard_files(folder: Path) -> list[Path]:
    """The shard files in ``folder``, by name (whatever run wrote them)."""
    return sorted(p for p in folder.iterdir() if is_shard_file(p.name) and p.is_file())


def check_format(fmt: Any) -> str:
    """``fmt`` when shards can be written in it; ValueError otherwise.

    Example:
        >>> check_format("jsonl")
        'jsonl'
    """
    if fmt not in SHARD_FORMATS:
        raise ValueError(f"shards are written as {' or '.join(SHARD_FORMATS)}, not {fmt!r}")
    return str(fmt)


def shard_scheme(
    mode: Any, *, rank: int, world_size: int, base_seed: int = 0, epoch: int = 0
) -> KeyScheme:
    """The key scheme of ``rank``'s shard of a run in ``mode`` (one of
    :data:`SHARD_MODES`). ValueError for another mode, or a rank outside the world
    (an elastic scheme holds no rank, so it is checked here).

    Example:
        >>> shard_scheme("elastic", rank=3, world_size=4, base_seed=1, epoch=2)
        ElasticScheme(base_seed=1, epoch=2)
    """
    if mode not in SHARD_MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(SHARD_MODES)}")
    world_size = check_int(world_size, "world_size", 1)
    rank = check_rank(rank, world_size)
    return scheme_for_mode(mode, base_seed=base_seed, rank=rank, world_size=world_size, epoch=epoch)


def plan_shards(num_samples: int, world_size: int, start: int = 0) -> list[tuple[int, int]]:
    """Every rank's ``(start_id, end_id)``: :class:`~dpa.DistributedRangeSplitter`'s
    contiguous split of ``start .. start+num_samples-1``; a rank with no sample gets
    the empty range at the end.

    Example:
        >>> plan_shards(5, 3, start=10)
        [(10, 12), (12, 14), (14, 15)]
        >>> plan_shards(1, 3)
        [(0, 1), (1, 1), (1, 1)]
    """
    splitter = DistributedRangeSplitter(num_samples, world_size)
    start = check_int(start, "start")
    end = start + splitter.total_samples
    return [
        (start + lo, start + hi) if hi > lo else (end, end) for lo, hi in splitter.get_all_ranges()
    ]
