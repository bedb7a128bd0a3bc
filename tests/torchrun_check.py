"""Run under torchrun (gloo, CPU) by tests/test_shards.py: the ranks of a real process
group take their shares of a range, all-gather their sample ids and hashes, and check
that the shares are disjoint and complete, and that each rank's values (native
backend, through the streaming API) equal the Python reference for that rank.

    python -m torch.distributed.run --nproc_per_node=2 tests/torchrun_check.py \\
        TOTAL BASE_SEED REPORT.json [SHARDS]

Rank 0 writes every rank's records to REPORT.json for the parent to recompute. With
SHARDS, the ranks then write an elastic sharded run of the same range into that
folder through the process group this script joined (:func:`dpa.generate_shards`
over :func:`dpa._shards.open_group`, which finds the group already there and leaves
it open). Exits non-zero (an AssertionError) when a check fails.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import dpa
from dpa._shards import open_group


def main(argv: list[str]) -> int:
    import torch.distributed as dist  # here, not at import: pytest imports this file

    total, base_seed, report = int(argv[0]), int(argv[1]), argv[2]
    dist.init_process_group("gloo")
    try:
        context = dpa.detect_distributed_context()
        assert context.source == "torch.distributed", context
        rank, world_size = context.rank, context.world_size
        assert (rank, world_size) == (dist.get_rank(), dist.get_world_size())

        # rank-aware: this rank's share, streamed with the native backend (the default)
        records = list(
            dpa.stream_distributed_augmentation_chain(
                total, rank, world_size, base_seed=base_seed, chunk_size=None
            )
        )
        for record in records:
            reference = dpa.gen_distributed_augmentation_params(
                record["sample_id"], rank, base_seed=base_seed, world_size=world_size,
                backend="python",
            )  # fmt: skip
            assert {**reference, "sample_id": record["sample_id"]} == record, record
        # elastic: the same share, by range, against the reference
        start, end = dpa.DistributedRangeSplitter(total, world_size).get_rank_range(rank)
        elastic = dpa.generate_elastic_batch(range(start, end), base_seed=base_seed, epoch=2)
        for record in elastic.to_dicts():
            reference = dpa.gen_elastic_augmentation_params(
                record["sample_id"], base_seed=base_seed, epoch=2, backend="python"
            )
            assert {**reference, "sample_id": record["sample_id"]} == record, record

        mine: dict[str, Any] = {
            "rank": rank,
            "ids": [r["sample_id"] for r in records],
            "records": records,
            "elastic": [r["hash"] for r in elastic.to_dicts()],
        }
        everyone: list[Any] = [None] * world_size
        dist.all_gather_object(everyone, mine)
        seen: list[int] = []
        for position, share in enumerate(everyone):
            assert share["rank"] == position
            seen.extend(share["ids"])
        assert len(seen) == len(set(seen)), "two ranks drew the same sample"
        assert sorted(seen) == list(range(total)), "the ranks' shares do not cover the range"
        assert seen == list(range(total)), "the shares are not contiguous in rank order"
        if rank == 0:
            with open(report, "w", encoding="utf-8") as handle:
                json.dump({"world_size": world_size, "shares": everyone}, handle)
        if len(argv) > 3:
            with open_group(context) as group:
                result = dpa.generate_shards(
                    argv[3], total, group=group, mode="elastic", base_seed=base_seed, epoch=2,
                    format="jsonl",
                )  # fmt: skip
            assert dist.is_initialized(), "open_group left a group it did not join"
            assert result.shard["file"] == f"part-{rank:05d}.jsonl", result
            assert (result.manifest is not None) == (rank == 0), result
        dist.barrier()
    finally:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
