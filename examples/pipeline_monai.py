"""A MONAI pipeline (dictionary transforms on an image and its label), reproducible
per sample.

    python examples/pipeline_monai.py                       # CPU, a few seconds
    python examples/pipeline_monai.py --workers 0 --batch-size 3

MONAI seeds a pipeline once per DataLoader worker (``set_random_state`` in its
``worker_init_fn``), so a sample's augmentation depends on the worker count and on
which worker loads it. ``DPADataset(transform=compose)`` sets the Compose's random
state from each sample's key instead, so each sample gets the same augmentation with
any ``num_workers``, batch size or order, and a new one each epoch. The script loads
each epoch twice -- with ``--workers`` workers, then with none and batches of 3 --
and checks that the digests (of every output, by sample id) agree.
"""

from __future__ import annotations

import argparse
import hashlib
from typing import Any

import torch
from monai.transforms import Compose, RandFlipd, RandGaussianNoised, RandRotated
from torch.utils.data import DataLoader

from dpa.integrations.torch import DPADataset, DPASampler


def make_items(samples: int, size: int) -> list[dict[str, Any]]:
    """Synthetic 2D slices (1 channel) with a bright disc, and its label map."""
    generator = torch.Generator().manual_seed(0)
    ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    items = []
    for index in range(samples):
        cx, cy = (
            int(v) for v in torch.randint(size // 4, 3 * size // 4, (2,), generator=generator)
        )
        disc = ((xs - cx) ** 2 + (ys - cy) ** 2) < (size // 6) ** 2
        image = torch.rand(1, size, size, generator=generator) * 0.2 + 0.7 * disc
        items.append({"image": image, "label": disc[None].float(), "id": index})
    return items


def make_pipeline() -> Compose:
    return Compose(
        [
            RandRotated(
                keys=["image", "label"], range_x=0.4, prob=0.9, mode=("bilinear", "nearest")
            ),
            RandFlipd(keys=["image", "label"], prob=0.5, spatial_axis=1),
            RandGaussianNoised(keys="image", prob=0.5, std=0.05),
        ]
    )


def keep_list(batch: list[Any]) -> list[Any]:
    return batch


def load(data: DPADataset, sampler: DPASampler, workers: int, batch_size: int) -> str:
    loader = DataLoader(
        data, batch_size=batch_size, sampler=sampler, num_workers=workers, collate_fn=keep_list
    )
    # a training step would take each batch here; the outputs are digested by sample id
    outputs = {out["id"]: out for batch in loader for out in batch}
    total = hashlib.sha256()
    for index in sorted(outputs):
        for key in ("image", "label"):
            total.update(outputs[index][key].as_subclass(torch.Tensor).numpy().tobytes())
    return total.hexdigest()[:16]


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
    data = DPADataset(make_items(args.samples, args.size), transform=make_pipeline())
    sampler = DPASampler(data, num_replicas=1, rank=0, shuffle=True, seed=0)
    same = True
    for epoch in range(args.epochs):
        data.set_epoch(epoch)
        sampler.set_epoch(epoch)
        first = load(data, sampler, args.workers, args.batch_size)
        again = load(data, sampler, 0, 3)
        same &= first == again
        print(f"epoch {epoch}: digest {first}; with 0 workers, batches of 3: {again}")
    print("identical across workers and batch sizes:", "yes" if same else "NO")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
