"""Distributed data-parallel training with dpa augmentation, on CPU (gloo).

    torchrun --standalone --nproc_per_node=2 examples/ddp_torchrun.py

Each rank takes its share of every epoch's shuffled order (``DPASampler``, the
range-splitting rule) and augments its samples in elastic mode: a sample's
augmentation depends on its id and the epoch only, so it is the same at any world
size. At the end of each epoch the ranks gather which samples they saw and a digest
of each sample's augmented tensor: every sample is seen exactly once, and the
tensors are bit-identical to those a single process computes for the same ids
(checked on rank 0). Runs in well under a minute.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset

import dpa
from dpa.integrations.torch import DPADataset, DPASampler, DPATransform


class Bars(Dataset[tuple[torch.Tensor, int]]):
    """Synthetic 3x32x32 images: a bright bar, horizontal (class 0) or vertical (1)."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        label = index % 2
        image = torch.full((3, 32, 32), 0.2)
        offset = 8 + (index * 7) % 16
        if label == 0:
            image[:, offset : offset + 4, 4:28] = 0.9
        else:
            image[:, 4:28, offset : offset + 4] = 0.9
        return image, label


def digest(image: torch.Tensor) -> str:
    """The SHA-256 of a tensor's bytes: equal digests, bit-identical tensors."""
    return hashlib.sha256(image.contiguous().numpy().tobytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=256, help="dataset size (ids 0 .. N-1)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs to run")
    parser.add_argument("--batch-size", type=int, default=16, help="samples per batch, per rank")
    parser.add_argument("--workers", type=int, default=1, help="DataLoader workers per rank")
    args = parser.parse_args()
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        parser.exit(
            2,
            f"{parser.prog}: run it under torchrun, which starts the ranks:\n"
            f"    torchrun --standalone --nproc_per_node=2 examples/ddp_torchrun.py\n",
        )

    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(0)  # the same initial weights on every rank
    config = dpa.get_preset("moderate")
    base = Bars(args.samples)
    data = DPADataset(base, config, mode="elastic", base_seed=42)
    sampler = DPASampler(data, shuffle=True, seed=0)  # rank and world size from torch.distributed
    loader = DataLoader(data, batch_size=args.batch_size, sampler=sampler, num_workers=args.workers)
    model = DistributedDataParallel(
        nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
            nn.Linear(128, 2),
        )
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()
    started = time.perf_counter()
    for epoch in range(args.epochs):
        data.set_epoch(epoch)
        sampler.set_epoch(epoch)
        seen: dict[int, str] = {}
        total_loss = 0.0
        for images, targets, params in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(images), targets)
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(targets)
            for sample_id, image in zip(params["sample_id"].tolist(), images, strict=True):
                seen[sample_id] = digest(image)
        gathered: list[dict[int, str] | None] = [None] * world
        dist.all_gather_object(gathered, seen)
        if rank == 0:
            merged: dict[int, str] = {}
            for part in gathered:
                assert part is not None
                assert not merged.keys() & part.keys(), "a sample was seen twice"
                merged.update(part)
            assert sorted(merged) == list(range(args.samples)), "a sample was missed"
            # one process, no DataLoader: the same augmentation of every sample
            transform = DPATransform(config, mode="elastic", epoch=epoch, base_seed=42)
            for sample_id in range(args.samples):
                image = transform(base[sample_id][0], sample_id)
                assert digest(image) == merged[sample_id], sample_id
            print(
                f"epoch {epoch}: {world} ranks saw each of {len(merged)} samples once; "
                f"rank 0 loss {total_loss / len(seen):.4f}; augmentations match one process",
                flush=True,
            )
    if rank == 0:
        print(f"{args.epochs} epochs in {time.perf_counter() - started:.1f} s", flush=True)
    dist.barrier()  # no rank tears the group down while another still uses it
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
