"""Sharded output of a distributed run: one file per rank, a manifest, checks, merge.

``dpa generate --distributed`` (under ``torchrun``) has each rank write its own range
of ids (:class:`~dpa.DistributedRangeSplitter` over ``start .. start+total``) to a
shard of one folder::

    OUT/part-00000.parquet    rank 0's samples (or part-00000.jsonl)
    OUT/part-00001.parquet    rank 1's samples
    ...
    OUT/_manifest.json        written by rank 0 once every shard is complete

=============  ==============================================================
module         its job
=============  ==============================================================
``plan``       which ids and keys each rank writes, and the shards' names
``group``      the processes of a run (:func:`open_group`)
``manifest``   ``_manifest.json``: written atomically, read back checked
``generate``   writing the shards and the manifest (:func:`generate_shards`)
``check``      completeness and values (:func:`check_shards`, :func:`verify_shards`)
``merge``      one file of a complete run (:func:`merge_shards`)
``messages``   how their sentences name errors and ids
=============  ==============================================================

Each shard is an ordinary dpa file whose metadata holds its key scheme (rank-aware:
``distributed_info``; elastic: ``elastic_info``), ``start_id`` and ``shard``
(``rank``, ``world_size``, ``start``, ``total``). A folder without a manifest is an
unfinished run.

What they promise under hostile input: a run has at most
:data:`~dpa._shards.plan.MAX_WORLD_SIZE` (2**20) ranks and computes a rank's range
alone; it replaces or removes only shard files an earlier dpa run of the folder
wrote (anything else named ``part-NNNNN.*`` stops it before any work); a merge never
writes over the folder it reads, and recomputes every record it copies; a manifest
is read only from a regular file of at most 512 MB.

Example:
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> result = generate_shards(folder, 40, mode="elastic", epoch=1, format="jsonl")
    >>> read_manifest(folder)["mode"], verify_shards(folder).ok
    ('elastic', True)
"""

from __future__ import annotations

from .._errors import ShardError
from .check import ShardsReport, check_shards, verify_shards
from .generate import GenerateResult, generate_shards, write_shard
from .group import DEFAULT_TIMEOUT_S, Group, SingleProcess, TorchGroup, open_group
from .manifest import (
    MANIFEST_NAME,
    MANIFEST_VERSION,
    file_sha256,
    is_shard_folder,
    read_manifest,
    write_manifest,
)
from .merge import merge_shards
from .plan import SHARD_FORMATS, SHARD_MODES, plan_shards, shard_name

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "MANIFEST_NAME",
    "MANIFEST_VERSION",
    "MODES",
    "SHARD_FORMATS",
    "SHARD_MODES",
    "GenerateResult",
    "Group",
    "ShardError",
    "ShardsReport",
    "SingleProcess",
    "TorchGroup",
    "check_shards",
    "file_sha256",
    "generate_shards",
    "is_shard_folder",
    "merge_shards",
    "open_group",
    "plan_shards",
    "read_manifest",
    "shard_name",
    "verify_shards",
    "write_manifest",
    "write_shard",
]

#: The earlier name of :data:`SHARD_MODES` (``dpa.shards.MODES``), the same tuple.
MODES = SHARD_MODES
