"""What each rank of a sharded run writes: its ids, its keys, its file's name.

A run of ``num_samples`` ids from ``start`` over ``world_size`` ranks gives each
rank the contiguous range :func:`plan_shards` names (DPA v0.2's
:class:`~dpa.DistributedRangeSplitter`), drawn with the key scheme
:func:`shard_scheme` builds for it (rank-aware: each rank its own keys; elastic: the
same keys whatever the rank), into the file :func:`shard_name` names.

A run has at most :data:`MAX_WORLD_SIZE` ranks: its manifest lists every rank's
shard, and every rank gathers the others' entries at the end. A rank's range is
computed alone, in constant time, whatever the world size.

Example:
    >>> plan_shards(5, 2)[1], shard_name(1, "jsonl")
    ((3, 5), 'part-00001.jsonl')
    >>> shard_scheme("rank_aware", rank=1, world_size=2, base_seed=7).key(3)
    '7:1:3'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, overload

from .._distributed import DistributedRangeSplitter
from .._formats.common import brief
from .._keys import MODES, PLAIN, KeyScheme, check_rank, scheme_for_mode
from .._validate import check_int

__all__ = [
    "MAX_WORLD_SIZE",
    "SHARD_FORMATS",
    "SHARD_MODES",
    "ShardPlan",
    "check_format",
    "check_world_size",
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

#: The most ranks a sharded run may have (2**20): its manifest holds an entry for
#: each (about 200 bytes), and the ranks exchange their entries at the end.
MAX_WORLD_SIZE = 1 << 20

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
    world_size = check_world_size(world_size)
    rank = check_rank(rank, world_size)
    return scheme_for_mode(mode, base_seed=base_seed, rank=rank, world_size=world_size, epoch=epoch)


def check_world_size(world_size: Any) -> int:
    """``world_size`` as an int in ``1 .. MAX_WORLD_SIZE`` (TypeError or ValueError
    saying why otherwise).

    Example:
        >>> check_world_size(8)
        8
        >>> check_world_size(10**21)
        Traceback (most recent call last):
        ...
        ValueError: world_size must be at most 1048576 (2**20) for sharded output, got 10...
    """
    number = check_int(world_size, "world_size", 1)
    if number > MAX_WORLD_SIZE:
        raise ValueError(
            f"world_size must be at most {MAX_WORLD_SIZE} (2**20) for sharded output, "
            f"got {brief(number)}"
        )
    return number


class ShardPlan(Sequence[tuple[int, int]]):
    """Every rank's ``(start_id, end_id)`` (:func:`plan_shards`), each computed when
    asked for, in constant time: ``plan[rank]`` never walks the other ranks.

    Example:
        >>> plan = ShardPlan(5, 3, start=10)
        >>> plan[2], len(plan), list(plan)
        ((14, 15), 3, [(10, 12), (12, 14), (14, 15)])
    """

    def __init__(self, num_samples: int, world_size: int, start: int = 0) -> None:
        self._splitter = DistributedRangeSplitter(num_samples, check_world_size(world_size))
        self.start = check_int(start, "start")
        self.num_samples = self._splitter.total_samples

    def __len__(self) -> int:
        return self._splitter.world_size

    @overload
    def __getitem__(self, index: int) -> tuple[int, int]: ...

    @overload
    def __getitem__(self, index: slice) -> list[tuple[int, int]]: ...

    def __getitem__(self, index: int | slice) -> tuple[int, int] | list[tuple[int, int]]:
        if isinstance(index, slice):
            return [self[rank] for rank in range(len(self))[index]]
        rank = range(len(self))[index]  # IndexError outside, negative from the end
        lo, hi = self._splitter.get_rank_range(rank)
        if hi == lo:  # no sample: the empty range at the end
            end = self.start + self.num_samples
            return (end, end)
        return (self.start + lo, self.start + hi)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=False))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ShardPlan({self.num_samples}, {len(self)}, start={self.start})"


def plan_shards(num_samples: int, world_size: int, start: int = 0) -> ShardPlan:
    """Every rank's ``(start_id, end_id)``: :class:`~dpa.DistributedRangeSplitter`'s
    contiguous split of ``start .. start+num_samples-1``; a rank with no sample gets
    the empty range at the end. ``plan[rank]`` takes constant time; ValueError for a
    world size above :data:`MAX_WORLD_SIZE`.

    Example:
        >>> list(plan_shards(5, 3, start=10))
        [(10, 12), (12, 14), (14, 15)]
        >>> list(plan_shards(1, 3))
        [(0, 1), (1, 1), (1, 1)]
        >>> plan_shards(10, 10**6)[999_999]
        (10, 10)
    """
    return ShardPlan(num_samples, world_size, start)
