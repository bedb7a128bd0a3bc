"""Key schemes: how a sample id becomes the string hashed in step 1 of the chain,
and how the generator is seeded from the final digest. The only place the modes
differ; everything else (generation, streams, files, verify, shards, batches,
quality, the torch and TF pipelines) takes a scheme object and asks it.

==================  ===============================================  ==================
scheme              key string hashed first                          generator seed
==================  ===============================================  ==================
``PlainScheme``     ``str(sample_id)`` (DPA v0.2)                    last 32 bits
``RankAwareScheme`` ``f"{base_seed}:{rank}:{sample_id}"`` (v0.2)     last 32 bits
``ElasticScheme``   ``f"dpa-elastic-v1:{base_seed}:{epoch}:{id}"``   the whole digest
==================  ===============================================  ==================

A rank-aware sample gets other values on each rank; an elastic one gets the same
values whatever the rank, world size or worker count, and new ones each epoch.
:class:`PerRecordRankScheme` describes a merged rank-aware file, whose records each
carry the rank that drew them.

The key forms are versioned contracts: they never change. Each scheme writes and
reads its own part of a file's metadata (:meth:`KeyScheme.to_metadata`,
:func:`scheme_from_metadata`).

Example:
    >>> ElasticScheme(base_seed=42, epoch=3).key(7)
    'dpa-elastic-v1:42:3:7'
    >>> scheme_from_metadata(RankAwareScheme(1, rank=2, world_size=4).to_metadata())
    RankAwareScheme(base_seed=1, rank=2, world_size=4)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from ._core import decimal
from ._validate import check_int, check_sample_id

__all__ = [
    "ELASTIC_KEY_VERSION",
    "MODES",
    "ElasticScheme",
    "KeyScheme",
    "PerRecordRankScheme",
    "PlainScheme",
    "RankAwareScheme",
    "scheme_for_mode",
    "scheme_from_metadata",
]

#: The elastic mode's key version, the first field of its key string.
ELASTIC_KEY_VERSION = "dpa-elastic-v1"

#: The modes a run can be asked for by name (the CLI's ``--mode``, shards, torch).
MODES = ("plain", "rank_aware", "elastic")


class KeyScheme:
    """The base of the schemes: a frozen value naming a mode and its parameters.

    ``key_prefix`` is prepended to ``decimal(sample_id)`` to form the key string;
    ``seed_words`` is how many 32-bit words of the digest seed the generator (1: the
    last 32 bits, as DPA v0.2; 8: the whole digest). ``record_fields`` are added to
    each record a stream yields (the rank, for rank-aware records).
    """

    mode: ClassVar[str]
    seed_words: ClassVar[int] = 1

    @property
    def key_prefix(self) -> bytes:
        raise NotImplementedError

    @property
    def record_fields(self) -> dict[str, int]:
        return {}

    def key(self, sample_id: int) -> str:
        """The key string hashed first for ``sample_id``."""

        sample_id = check_sample_id(sample_id, "sample_id")
        return (self.key_prefix + decimal(sample_id)).decode("ascii")

    def to_metadata(self) -> dict[str, Any]:
        """This scheme's entries in a file's metadata (none for the plain one)."""
        return {}


@dataclass(frozen=True)
class PlainScheme(KeyScheme):
    """DPA v0.2's plain key: ``str(sample_id)``; seed = the digest's last 32 bits.

    Example:
        >>> PlainScheme().key(123456)
        '123456'
    """

    mode: ClassVar[str] = "plain"

    @property
    def key_prefix(self) -> bytes:
        return b""


@dataclass(frozen=True)
class RankAwareScheme(KeyScheme):
    """DPA v0.2's rank-aware key: ``f"{base_seed}:{rank}:{sample_id}"``, seeded from
    the digest's last 32 bits. ``world_size`` is validated (``rank < world_size``)
    and recorded in file metadata, but is not part of the key.

    Example:
        >>> RankAwareScheme(base_seed=12345, rank=3, world_size=4).key(7)
        '12345:3:7'
    """

    mode: ClassVar[str] = "rank_aware"
    base_seed: int = 0
    rank: int = 0
    world_size: int = 1

    def __post_init__(self) -> None:
        _check_fields(self, base_seed=0, world_size=1)
        object.__setattr__(self, "rank", check_rank(self.rank, self.world_size))

    @property
    def key_prefix(self) -> bytes:
        return b"%s:%s:" % (decimal(self.base_seed), decimal(self.rank))

    @property
    def record_fields(self) -> dict[str, int]:
        return {"rank": self.rank}

    def to_metadata(self) -> dict[str, Any]:
        info = {"rank": self.rank, "world_size": self.world_size, "base_seed": self.base_seed}
        return {"distributed_info": info}


@dataclass(frozen=True)
class PerRecordRankScheme(KeyScheme):
    """A merged rank-aware file: several ranks' records in one file, each keyed by
    its own ``rank`` field (:meth:`for_rank` gives that rank's scheme).

    Example:
        >>> PerRecordRankScheme(base_seed=5, world_size=2).for_rank(1).key(9)
        '5:1:9'
    """

    mode: ClassVar[str] = "rank_aware"
    base_seed: int = 0
    world_size: int = 1

    def __post_init__(self) -> None:
        _check_fields(self, base_seed=0, world_size=1)

    @property
    def key_prefix(self) -> bytes:
        raise ValueError("a merged rank-aware file keys each record by its own rank")

    def for_rank(self, rank: int) -> RankAwareScheme:
        """The scheme of the records that ``rank`` drew."""
        return RankAwareScheme(self.base_seed, rank, self.world_size)

    def to_metadata(self) -> dict[str, Any]:
        info = {"per_record_rank": True, "world_size": self.world_size, "base_seed": self.base_seed}
        return {"distributed_info": info}


@dataclass(frozen=True)
class ElasticScheme(KeyScheme):
    """dpa's elastic key: ``f"dpa-elastic-v1:{base_seed}:{epoch}:{sample_id}"``,
    seeded from the whole 256-bit digest. A sample's values depend on
    ``(base_seed, epoch, sample_id)`` alone.

    Example:
        >>> ElasticScheme(base_seed=0, epoch=2).key_prefix
        b'dpa-elastic-v1:0:2:'
    """

    mode: ClassVar[str] = "elastic"
    seed_words: ClassVar[int] = 8
    base_seed: int = 0
    epoch: int = 0

    def __post_init__(self) -> None:
        _check_fields(self, base_seed=0, epoch=0)

    @property
    def key_prefix(self) -> bytes:
        version = ELASTIC_KEY_VERSION.encode()
        return b"%s:%s:%s:" % (version, decimal(self.base_seed), decimal(self.epoch))

    def to_metadata(self) -> dict[str, Any]:
        info = {
            "key_version": ELASTIC_KEY_VERSION,
            "base_seed": self.base_seed,
            "epoch": self.epoch,
        }
        return {"elastic_info": info}


def _check_fields(scheme: KeyScheme, **minimums: int) -> None:
    """Check each named int field of a frozen scheme (``name=minimum``), in place."""
    for name, minimum in minimums.items():
        object.__setattr__(scheme, name, check_int(getattr(scheme, name), name, minimum))


#: The plain scheme (it has no parameters).
PLAIN = PlainScheme()


def check_rank(rank: Any, world_size: int) -> int:
    """``rank`` as an int in ``0 .. world_size-1`` (ValueError naming both otherwise).

    Example:
        >>> check_rank(3, 4)
        3
    """
    number = check_int(rank, "rank", 0)
    if number >= world_size:
        raise ValueError(f"rank must be < world_size, got rank={number}, world_size={world_size}")
    return number


def check_scheme(scheme: Any) -> KeyScheme:
    """``scheme`` itself, or :data:`PLAIN` for None; TypeError for anything else."""
    if scheme is None:
        return PLAIN
    if not isinstance(scheme, KeyScheme):
        raise TypeError(f"scheme must be a dpa KeyScheme, got {type(scheme).__name__}")
    return scheme


def scheme_for_mode(
    mode: str, *, base_seed: int = 0, rank: int = 0, world_size: int = 1, epoch: int = 0
) -> KeyScheme:
    """The scheme a mode's name and its parameters give: ``"plain"``,
    ``"rank_aware"`` (``base_seed``, ``rank``, ``world_size``) or ``"elastic"``
    (``base_seed``, ``epoch``).

    Example:
        >>> scheme_for_mode("elastic", base_seed=1, epoch=2)
        ElasticScheme(base_seed=1, epoch=2)
    """
    if mode == "plain":
        return PLAIN
    if mode == "rank_aware":
        return RankAwareScheme(base_seed, rank, world_size)
    if mode == "elastic":
        return ElasticScheme(base_seed, epoch)
    raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")


def _entry(metadata: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    entry = metadata.get(name)
    if entry is None:
        return None
    if not isinstance(entry, Mapping):
        raise TypeError(f"{name} must be a mapping, got {type(entry).__name__}")
    return entry


def _field(entry: Mapping[str, Any], section: str, name: str) -> int:
    value = entry.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{section}[{name!r}] must be an int >= 0, got {value!r}")
    return value


def scheme_from_metadata(metadata: Mapping[str, Any]) -> KeyScheme:
    """The key scheme a file's metadata declares: ``distributed_info`` for
    rank-aware files (``per_record_rank`` for merged ones), ``elastic_info`` for
    elastic ones, neither for plain ones.

    TypeError when the metadata or an entry is not a mapping; ValueError when an
    entry lacks a field or holds a bad one, or when both entries are present.

    Example:
        >>> scheme_from_metadata({"elastic_info": {"base_seed": 1, "epoch": 0}})
        ElasticScheme(base_seed=1, epoch=0)
    """
    if not isinstance(metadata, Mapping):
        raise TypeError(f"metadata must be a mapping, got {type(metadata).__name__}")
    elastic = _entry(metadata, "elastic_info")
    info = _entry(metadata, "distributed_info")
    if elastic is not None and info is not None:
        raise ValueError("give distributed_info (rank-aware) or elastic_info, not both")
    if elastic is not None:
        # As the writer has always done: a missing key_version means the first one.
        version = elastic.get("key_version", ELASTIC_KEY_VERSION)
        if version != ELASTIC_KEY_VERSION:
            raise ValueError(f"elastic_info: unknown key_version {version!r}")
        return ElasticScheme(
            _field(elastic, "elastic_info", "base_seed"), _field(elastic, "elastic_info", "epoch")
        )
    if info is not None:
        base_seed = _field(info, "distributed_info", "base_seed")
        world_size = _field(info, "distributed_info", "world_size")
        if world_size < 1:
            raise ValueError("distributed_info: world_size must be >= 1")
        if "per_record_rank" in info:
            if info["per_record_rank"] is not True:
                raise ValueError(
                    "distributed_info['per_record_rank'] must be true, "
                    f"got {info['per_record_rank']!r}"
                )
            if "rank" in info:
                raise ValueError("distributed_info: give a rank or per_record_rank, not both")
            return PerRecordRankScheme(base_seed, world_size)
        rank = _field(info, "distributed_info", "rank")
        if rank >= world_size:
            raise ValueError(f"distributed_info: rank {rank} >= world_size {world_size}")
        return RankAwareScheme(base_seed, rank, world_size)
    return PLAIN
