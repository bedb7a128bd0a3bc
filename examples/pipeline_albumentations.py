"""An albumentations pipeline with bounding boxes, reproducible per sample.

    python examples/pipeline_albumentations.py               # CPU, a few seconds
    python examples/pipeline_albumentations.py --workers 0 --batch-size 3

Each item is a dict (``image``, ``mask``, ``bboxes``, ``labels``, ``image_id``) that
``DPADataset(transform=compose)`` passes to the ``Compose`` as keyword arguments,
after setting the Compose's generators from the sample's key (``set_random_state``).
So each sample gets the same augmentation with any ``num_workers``, batch size or
order, and a new one each epoch (``set_epoch``). The script loads each epoch twice --
with ``--workers`` workers, then with none and batches of 3 -- and checks that the
digests (of every output, by sample id) agree.

``cv2.setNumThreads(0)``: albumentations runs on OpenCV, whose thread pool does not
survive a fork -- a DataLoader worker forked after the main process used it can hang.
"""

from __future__ import annotations

import argparse
import hashlib
from typing import Any

import albumentations as A
import cv2
import numpy as np
from torch.utils.data import DataLoader

from dpa.integrations.torch import DPADataset, DPASampler


def make_items(samples: int, size: int) -> list[dict[str, Any]]:
    """Synthetic images (uint8, HWC) with one bright rectangle, its box and mask."""
    rng = np.random.default_rng(0)
    items = []
    for index in range(samples):
        image = rng.integers(0, 80, (size, size, 3), dtype=np.uint8)
        x, y = (int(v) for v in rng.integers(0, size // 2, 2))
        x1, y1 = x + size // 3, y + size // 3
        image[y:y1, x:x1] = 230
        mask = np.zeros((size, size), dtype=np.uint8)
        mask[y:y1, x:x1] = 1
        box = np.array([[x, y, x1, y1]], dtype=np.float32)
        items.append(
            {"image": image, "mask": mask, "bboxes": box, "labels": [index % 3], "image_id": index}
        )
    return items


def make_pipeline() -> A.Compose:
    return A.Compose(
        [
            A.Affine(rotate=(-20, 20), scale=(0.85, 1.15), p=1.0),
            A.HorizontalFlip(),
            A.RandomBrightnessContrast(p=0.8),
            A.GaussNoise(p=0.5),
        ],
        bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"]),
    )


def keep_list(batch: list[Any]) -> list[Any]:
    """Batches stay lists of dicts (the boxes differ in number)."""
    return batch


def load(data: DPADataset, sampler: DPASampler, workers: int, batch_size: int) -> str:
    loader = DataLoader(
        data, batch_size=batch_size, sampler=sampler, num_workers=workers, collate_fn=keep_list
    )
    # a training step would take each batch here; the outputs are digested by sample id
    outputs = {out["image_id"]: out for batch in loader for out in batch}
    total = hashlib.sha256()
    for index in sorted(outputs):
        out = outputs[index]
        for value in (out["image"], out["mask"], np.asarray(out["bboxes"], dtype=np.float64)):
            total.update(np.ascontiguousarray(value).tobytes())
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
    # OpenCV's own thread pool and forked DataLoader workers deadlock (a worker started
    # after the main process ran OpenCV in threads waits forever): one thread for OpenCV.
    cv2.setNumThreads(0)
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
