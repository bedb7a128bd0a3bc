"""The key strings hashed in step 1 of the chain, one per mode, and how a file's
metadata names its mode.

- ``plain`` (DPA v0.2): ``str(sample_id)``; seed = the digest's last 32 bits.
- ``rank_aware`` (DPA v0.2 distributed): ``f"{base_seed}:{rank}:{sample_id}"``;
  seed = the digest's last 32 bits. A sample gets other values on each rank.
- ``elastic`` (dpa): ``f"dpa-elastic-v1:{base_seed}:{epoch}:{sample_id}"``; seed =
  the whole 256-bit digest. A sample gets the same values whatever the rank,
  world size or worker count, and new ones each epoch.

The key forms are versioned contracts: they never change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .config import check_int

__all__ = ["ELASTIC_KEY_VERSION", "KeyScheme", "elastic_scheme", "rank_scheme", "scheme_of"]

#: The elastic mode's key version, the first field of its key string.
ELASTIC_KEY_VERSION = "dpa-elastic-v1"

#: (key prefix, seed words): the key is ``prefix + decimal(sample_id)``; the seed is
#: the digest's last 32 bits (1 word) or the whole digest (8 words).
KeyScheme = tuple[bytes, int]
PLAIN: KeyScheme = (b"", 1)


def rank_scheme(base_seed: int, rank: int) -> KeyScheme:
    """DPA v0.2's rank-aware key: ``f"{base_seed}:{rank}:{sample_id}"``.

    Example:
        >>> rank_scheme(12345, 3)
        (b'12345:3:', 1)
    """
    base_seed = check_int(base_seed, "base_seed", 0)
    rank = check_int(rank, "rank", 0)
    return (b"%d:%d:" % (base_seed, rank), 1)


def elastic_scheme(base_seed: int, epoch: int) -> KeyScheme:
    """The elastic key: ``f"dpa-elastic-v1:{base_seed}:{epoch}:{sample_id}"``,
    seeded from the whole digest.

    Example:
        >>> elastic_scheme(0, 2)
        (b'dpa-elastic-v1:0:2:', 8)
    """
    base_seed = check_int(base_seed, "base_seed", 0)
    epoch = check_int(epoch, "epoch", 0)
    return (b"%s:%d:%d:" % (ELASTIC_KEY_VERSION.encode(), base_seed, epoch), 8)


def scheme_of(metadata: dict[str, Any]) -> KeyScheme:
    """The key scheme a file's metadata declares (``distributed_info`` for
    rank-aware files, ``elastic_info`` for elastic ones, else plain).

    TypeError when the metadata or a mode's entry is not a mapping, ValueError when
    an entry lacks a field.
    """
    if not isinstance(metadata, Mapping):
        raise TypeError(f"metadata must be a mapping, got {type(metadata).__name__}")
    elastic = metadata.get("elastic_info")
    info = metadata.get("distributed_info")
    for name, entry in (("elastic_info", elastic), ("distributed_info", info)):
        if entry and not isinstance(entry, Mapping):
            raise TypeError(f"{name} must be a mapping, got {type(entry).__name__}")
    try:
        if elastic:
            # As the writer and the reader do: a missing key_version means the first one.
            version = elastic.get("key_version", ELASTIC_KEY_VERSION)
            if version != ELASTIC_KEY_VERSION:
                raise ValueError(f"unknown elastic key version {version!r}")
            return elastic_scheme(elastic["base_seed"], elastic["epoch"])
        if info:
            return rank_scheme(info["base_seed"], info["rank"])
    except KeyError as exc:
        raise ValueError(f"the metadata's key scheme lacks {exc}") from None
    return PLAIN
