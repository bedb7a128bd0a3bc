"""A complete (tiny) training loop with dpa augmentation in a multi-worker DataLoader.

    python examples/train_dataloader.py            # CPU, well under a minute

The dataset is synthetic (bars: horizontal = class 0, vertical = class 1). Each
sample's augmentation is a function of its id and the epoch (elastic mode), so the
tensors a DataLoader gives are the same with any ``num_workers`` or batch size, and
after a resume; the digest printed per epoch (of every augmented tensor, by sample
id) shows it: run with ``--workers 0 --batch-size 7`` and compare. ``set_epoch``
gives a new draw each epoch.
"""

from __future__ import annotations

import argparse
import hashlib
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

import dpa
from dpa.integrations.torch import DPADataset, DPASampler


class Bars(Dataset[tuple[torch.Tensor, int]]):
    """``size`` images 3x32x32: a bright bar on a dark background, its direction the class."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        label = index % 2
        image = torch.full((3, 32, 32), 0.2)
        offset = 8 + (index * 7) % 16  # where the bar is
        if label == 0:
            image[:, offset : offset + 4, 4:28] = 0.9
        else:
            image[:, 4:28, offset : offset + 4] = 0.9
        return image, label


def epoch_digest(digests: dict[int, bytes]) -> str:
    """One digest of every sample's augmented tensor, in id order (so independent of
    the order and batching they came in)."""
    return hashlib.sha256(b"".join(digests[i] for i in sorted(digests))).hexdigest()[:16]


def make_model() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 2),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--samples", type=int, default=512, help="dataset size (sample ids 0 .. N-1)"
    )
    parser.add_argument("--epochs", type=int, default=3, help="epochs to run")
    parser.add_argument("--batch-size", type=int, default=32, help="samples per batch")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader worker processes")
    parser.add_argument(
        "--preset", default="moderate", help="dpa preset: mild, moderate or aggressive"
    )
    args = parser.parse_args()

    torch.manual_seed(0)
    data = DPADataset(Bars(args.samples), dpa.get_preset(args.preset), mode="elastic", base_seed=0)
    sampler = DPASampler(data, num_replicas=1, rank=0, shuffle=True, seed=0)
    loader = DataLoader(data, batch_size=args.batch_size, sampler=sampler, num_workers=args.workers)
    model = make_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    started = time.perf_counter()
    for epoch in range(args.epochs):
        data.set_epoch(epoch)  # a new draw each epoch; the same epoch gives the same draw
        sampler.set_epoch(epoch)  # a new order each epoch
        model.train()
        total_loss, correct, seen = 0.0, 0, 0
        digests: dict[int, bytes] = {}
        for images, targets, params in loader:
            optimizer.zero_grad()
            logits = model(images)
            loss = loss_fn(logits, targets)
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(targets)
            correct += int((logits.argmax(dim=1) == targets).sum())
            seen += len(targets)
            for sample_id, image in zip(params["sample_id"].tolist(), images, strict=True):
                digests[sample_id] = hashlib.sha256(image.numpy().tobytes()).digest()
        print(
            f"epoch {epoch}: loss {total_loss / seen:.4f}  accuracy {correct / seen:.3f}  "
            f"digest {epoch_digest(digests)}"
        )
    print(
        f"{args.epochs} epochs of {args.samples} samples in {time.perf_counter() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
