"""dpa's Python API inside a torchrun job: each rank gets its own share's parameters.

    python -m torch.distributed.run --standalone --nproc_per_node=2 \\
        examples/torchrun_ddp_params.py            # CPU (gloo), a few seconds

Two ways a rank can draw its samples' augmentation parameters:

* rank-aware (DPA v0.2): ``stream_distributed_augmentation_chain`` streams this rank's
  contiguous share of the ids, each sample keyed by ``(base_seed, rank, sample_id)``;
  the same sample on another rank (or with another world size) gets other values.
* elastic: ``generate_elastic_batch`` over this rank's range from
  ``DistributedRangeSplitter``, keyed by ``(base_seed, epoch, sample_id)`` only, so a
  sample's values never depend on which rank draws it or how many ranks there are; a
  new epoch gives new values.

The ranks all-gather what they drew and rank 0 checks that the shares are disjoint
and complete, and that the elastic values equal what a single process computes.
Everything else a training loop would do (the model, the optimizer, DDP) is left out.
"""

from __future__ import annotations

import argparse
import hashlib
import os

import torch.distributed as dist

import dpa


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000, help="dataset size")
    parser.add_argument("--epochs", type=int, default=2, help="epochs to draw")
    parser.add_argument("--batch-size", type=int, default=4096, help="ids per batch")
    parser.add_argument("--base-seed", type=int, default=42, help="base seed of the keys")
    args = parser.parse_args()
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        parser.exit(
            2,
            f"{parser.prog}: run it under torchrun, which starts the ranks:\n"
            "    python -m torch.distributed.run --standalone --nproc_per_node=2 "
            "examples/torchrun_ddp_params.py\n",
        )

    dist.init_process_group("gloo")  # torchrun's environment: RANK, WORLD_SIZE, MASTER_*
    try:
        context = dpa.detect_distributed_context()  # from the process group
        rank, world_size = context.rank, context.world_size
        config = dpa.get_preset("mild")

        # rank-aware, streamed in chunks (constant memory): DPA v0.2's numbers
        drawn, rotation_sum = 0, 0.0
        for chunk in dpa.stream_distributed_augmentation_chain(
            args.samples, rank, world_size, config, base_seed=args.base_seed,
            chunk_size=args.batch_size,
        ):  # fmt: skip
            drawn += len(chunk)
            rotation_sum += sum(params["rotation"] for params in chunk)
        print(f"rank {rank}/{world_size}: rank-aware, {drawn} samples, mean rotation "
              f"{rotation_sum / max(drawn, 1):+.4f}")  # fmt: skip

        # elastic, per epoch, in batches over this rank's range
        splitter = dpa.DistributedRangeSplitter(args.samples, world_size)
        start, end = splitter.get_rank_range(rank)
        for epoch in range(args.epochs):
            digest = hashlib.sha256()
            for first in range(start, end, args.batch_size):
                ids = range(first, min(first + args.batch_size, end))
                batch = dpa.generate_elastic_batch(
                    ids, config, base_seed=args.base_seed, epoch=epoch
                )
                # ... apply batch.rotation[i], batch.brightness[i], ... to sample ids[i]
                digest.update(batch.hash.tobytes())
            shares: list[tuple[int, int, str] | None] = [None] * world_size
            dist.all_gather_object(shares, (start, end, digest.hexdigest()))
            if rank == 0:
                check(shares, args, config, epoch)
    finally:
        dist.destroy_process_group()


def check(
    shares: list[tuple[int, int, str] | None],
    args: argparse.Namespace,
    config: dpa.AugmentationConfig,
    epoch: int,
) -> None:
    """Rank 0: the shares cover the ids once, and each share's elastic values are the
    ones a single process computes for those ids."""
    covered = 0
    for share in shares:
        assert share is not None
        start, end, digest = share
        if end > start:
            assert start == covered, "the shares are not contiguous"
            covered = end
        alone = dpa.generate_elastic_batch(
            range(start, end), config, base_seed=args.base_seed, epoch=epoch
        )
        assert hashlib.sha256(alone.hash.tobytes()).hexdigest() == digest
    assert covered == args.samples, "the shares do not cover the dataset"
    print(f"epoch {epoch}: {len(shares)} ranks drew {args.samples} samples once each; "
          "the elastic values equal a single process's")  # fmt: skip


if __name__ == "__main__":
    main()
