"""kornia on a batch (on the GPU when there is one), each sample augmented under its
own key.

    python examples/pipeline_kornia.py                      # GPU if present, else CPU
    python examples/pipeline_kornia.py --device cpu --batch-size 5

The DataLoader gives plain images, masks and their sample ids; on the device,
``forward_parameters(aug, ids, images.shape, epoch=epoch)`` draws each sample's
parameters under its own key, and ``aug(images, mask, params=params)`` augments the
whole batch at once. So a sample's augmentation does not depend on the batch it lands
in or its position there: the script augments each epoch in shuffled batches, then
every sample alone, and compares.
"""

from __future__ import annotations

import argparse
from typing import Any

import kornia.augmentation as K
import torch
from torch.utils.data import DataLoader

from dpa.integrations.kornia import forward_parameters
from dpa.integrations.torch import DPASampler


class Scenes(torch.utils.data.Dataset[tuple[int, torch.Tensor, torch.Tensor]]):
    """``(id, image [3, S, S], mask [1, S, S])``: a bright square on noise."""

    def __init__(self, samples: int, size: int) -> None:
        generator = torch.Generator().manual_seed(0)
        self.images = torch.rand(samples, 3, size, size, generator=generator) * 0.3
        self.masks = torch.zeros(samples, 1, size, size)
        for index in range(samples):
            x, y = (int(v) for v in torch.randint(0, size // 2, (2,), generator=generator))
            self.images[index, :, y : y + size // 3, x : x + size // 3] = 0.9
            self.masks[index, :, y : y + size // 3, x : x + size // 3] = 1.0

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[int, torch.Tensor, torch.Tensor]:
        return index, self.images[index], self.masks[index]


def make_augmentation() -> K.AugmentationSequential:
    return K.AugmentationSequential(
        K.RandomAffine(20.0, scale=(0.9, 1.1)),
        K.ColorJiggle(0.2, 0.2, 0.2, 0.05, p=0.8),
        K.RandomHorizontalFlip(),
        data_keys=["input", "mask"],
    )


def augment(
    aug: Any, ids: torch.Tensor, images: torch.Tensor, masks: torch.Tensor, epoch: int
) -> Any:
    params = forward_parameters(aug, ids, images.shape, epoch=epoch)
    return aug(images, masks, params=params)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--samples", type=int, default=32, help="dataset size (sample ids 0 .. N-1)"
    )
    parser.add_argument("--size", type=int, default=64, help="image side in pixels")
    parser.add_argument("--epochs", type=int, default=2, help="epochs to run")
    parser.add_argument("--batch-size", type=int, default=8, help="samples per batch")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    parser.add_argument(
        "--device",
        default="cuda" if torch.cuda.is_available() else "cpu",
        help="torch device of the batch (cuda where present)",
    )
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    data = Scenes(args.samples, args.size)
    aug = make_augmentation()
    sampler = DPASampler(data, num_replicas=1, rank=0, shuffle=True, seed=0)
    worst = 0.0
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        loader = DataLoader(data, args.batch_size, sampler=sampler, num_workers=args.workers)
        for ids, images, masks in loader:
            images, masks = images.to(device), masks.to(device)
            out_images, out_masks = augment(aug, ids, images, masks, epoch)
            # a training step would take (out_images, out_masks) here; the check:
            for row, sample_id in enumerate(ids.tolist()):
                one = torch.tensor([sample_id])
                alone, alone_mask = augment(
                    aug, one, images[row : row + 1], masks[row : row + 1], epoch
                )
                worst = max(worst, float((alone - out_images[row : row + 1]).abs().max()))
                worst = max(worst, float((alone_mask - out_masks[row : row + 1]).abs().max()))
        print(f"epoch {epoch}: {len(data)} samples augmented on {device.type}")
    print(f"a sample alone vs in its batch: largest difference {worst:.3g}")
    # bit for bit on the CPU; a GPU's kernels may round differently for another batch size
    same = worst == 0.0 if device.type == "cpu" else worst <= 1e-5
    print("identical:" if worst == 0.0 else "identical to float rounding:", "yes" if same else "NO")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
