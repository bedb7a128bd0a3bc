"""A detection-style torchvision v2 pipeline, reproducible per sample.

    python examples/pipeline_torchvision.py                 # CPU, a few seconds
    python examples/pipeline_torchvision.py --workers 0 --batch-size 3

Each item is an image with its boxes, instance masks and labels (tv_tensors). The
pipeline -- random crop, flip, rotation, colour jitter, and dpa's own five parameters
(``DPAAugment``) -- runs under the sample's key (``DPADataset(transform=...)``), so
boxes and masks move with the image, and every sample gets the same augmentation
with any ``num_workers``, batch size or order. The digest printed per epoch (of
every output, by sample id) shows it: run with other ``--workers``/``--batch-size``
and compare; the script also reloads each epoch with no workers and batches of 3
and checks that the digest is the same.
"""

from __future__ import annotations

import argparse
import hashlib
from typing import Any

import torch
from torch.utils.data import DataLoader
from torchvision import tv_tensors
from torchvision.transforms import v2

import dpa
from dpa.integrations.torch import DPADataset, DPASampler
from dpa.integrations.torchvision import DPAAugment


def make_items(samples: int, size: int) -> list[dict[str, Any]]:
    """Synthetic scenes: two bright rectangles, their boxes, masks and labels."""
    generator = torch.Generator().manual_seed(0)
    items = []
    for index in range(samples):
        image = torch.rand(3, size, size, generator=generator) * 0.3
        corners = torch.randint(0, size // 2, (2, 2), generator=generator).tolist()
        boxes, masks = [], torch.zeros(2, size, size, dtype=torch.uint8)
        for number, (x, y) in enumerate(corners):
            x1, y1 = x + size // 4, y + size // 4
            image[:, y:y1, x:x1] = 0.9
            masks[number, y:y1, x:x1] = 1
            boxes.append([x, y, x1, y1])
        items.append(
            {
                "image": tv_tensors.Image(image),
                "boxes": tv_tensors.BoundingBoxes(boxes, format="XYXY", canvas_size=(size, size)),
                "masks": tv_tensors.Mask(masks),
                "labels": torch.tensor([1, 2]),
                "image_id": index,
            }
        )
    return items


def make_pipeline(size: int) -> v2.Compose:
    return v2.Compose(
        [
            v2.RandomResizedCrop(size, scale=(0.6, 1.0), antialias=True),
            v2.RandomHorizontalFlip(),
            v2.RandomRotation(15),
            v2.ColorJitter(0.3, 0.3, 0.3, 0.05),
            DPAAugment(dpa.get_preset("mild")),
            v2.SanitizeBoundingBoxes(),  # drops boxes (and their labels, masks) cropped away
        ]
    )


def keep_list(batch: list[Any]) -> list[Any]:
    """Detection batches stay lists of dicts (the boxes differ in number)."""
    return batch


def digest(outputs: dict[int, dict[str, Any]]) -> str:
    """One digest of every output, by sample id (so independent of order and batching)."""
    total = hashlib.sha256()
    for image_id in sorted(outputs):
        for key in ("image", "boxes", "masks", "labels"):
            total.update(outputs[image_id][key].as_subclass(torch.Tensor).numpy().tobytes())
    return total.hexdigest()[:16]


def load(data: DPADataset, sampler: DPASampler, workers: int, batch_size: int) -> str:
    loader = DataLoader(
        data, batch_size=batch_size, sampler=sampler, num_workers=workers, collate_fn=keep_list
    )
    outputs = {}
    for batch in loader:
        for target in batch:  # a detection model's training step would take the batch here
            outputs[target["image_id"]] = target
    return digest(outputs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--samples", type=int, default=48, help="dataset size (sample ids 0 .. N-1)"
    )
    parser.add_argument("--size", type=int, default=64, help="image side in pixels")
    parser.add_argument("--epochs", type=int, default=2, help="epochs to run")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader worker processes")
    parser.add_argument("--batch-size", type=int, default=8, help="samples per batch")
    args = parser.parse_args(argv)
    data = DPADataset(make_items(args.samples, args.size), transform=make_pipeline(args.size))
    sampler = DPASampler(data, num_replicas=1, rank=0, shuffle=True, seed=0)
    same = True
    for epoch in range(args.epochs):
        data.set_epoch(epoch)  # before the loader starts its workers (see the docs)
        sampler.set_epoch(epoch)
        first = load(data, sampler, args.workers, args.batch_size)
        again = load(data, sampler, 0, 3)
        same &= first == again
        print(f"epoch {epoch}: digest {first}; with 0 workers, batches of 3: {again}")
    print("identical across workers and batch sizes:", "yes" if same else "NO")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
