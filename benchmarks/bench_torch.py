"""What dpa's PyTorch integration costs in a DataLoader, per sample.

One epoch over a synthetic dataset of 3x224x224 float images (a pool of distinct
random images, so the base dataset itself costs next to nothing), for each
``num_workers`` asked, with:

* ``baseline``: the base dataset alone;
* ``dpa params``: ``DPADataset(apply=False)``: each sample's parameters (elastic mode)
  and their collation, no image work;
* ``dpa apply``: ``DPADataset(apply=True)``: the sample augmented in ``__getitem__``
  (in the worker processes);
* ``dpa batch apply``: ``apply=False``, then ``apply_params`` on each collated batch
  in the main process (the path to use on a GPU; here on the CPU).

The overhead per sample is ``(epoch time - baseline epoch time) / samples``, from the
best of ``--repeats`` epochs (contenders interleaved, so a noisy machine hurts them
alike). Then ``apply_params`` throughput on batches, on the CPU and, where CUDA is
available, on the GPU (images per second; the GPU timed with synchronisation).

    .venv/bin/python benchmarks/bench_torch.py
    .venv/bin/python benchmarks/bench_torch.py --samples 512 --workers 0 2 4 --json torch.json
    .venv/bin/python benchmarks/bench_torch.py --threads 1   # the main process on one thread

(DataLoader workers run torch on one thread each; the main process uses torch's default,
which on a busy machine can cost more than it gains for per-image work.)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

import dpa
from dpa.integrations.torch import DPADataset, apply_params

SIZE = 224


class Synthetic(Dataset[tuple[torch.Tensor, int]]):
    """``samples`` items from a pool of ``pool`` random 3x224x224 images."""

    def __init__(self, samples: int, pool: int = 16) -> None:
        generator = torch.Generator().manual_seed(0)
        self.images = torch.rand(pool, 3, SIZE, SIZE, generator=generator)
        self.samples = samples

    def __len__(self) -> int:
        return self.samples

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index % len(self.images)], index % 10


def epoch_time(make_loader: Callable[[], DataLoader[Any]], batch_apply: bool) -> float:
    """Seconds for one pass over a fresh DataLoader (worker start-up included)."""
    started = time.perf_counter()
    for batch in make_loader():
        if batch_apply:
            images, _, params = batch
            apply_params(images, params)
    return time.perf_counter() - started


def bench_loaders(args: argparse.Namespace) -> dict[str, Any]:
    base = Synthetic(args.samples)
    config = dpa.get_preset(args.preset)
    datasets: dict[str, tuple[Any, bool]] = {
        "baseline": (base, False),
        "dpa params": (DPADataset(base, config, apply=False), False),
        "dpa apply": (DPADataset(base, config, apply=True), False),
        "dpa batch apply": (DPADataset(base, config, apply=False), True),
    }
    results: dict[str, Any] = {}
    for workers in args.workers:
        times: dict[str, list[float]] = {name: [] for name in datasets}

        def loader(data: Any, workers: int = workers) -> DataLoader[Any]:
            return DataLoader(data, batch_size=args.batch_size, num_workers=workers)

        for data, batch_apply in datasets.values():  # warm-up
            epoch_time(lambda data=data: loader(data), batch_apply)
        for _ in range(args.repeats):
            for name, (data, batch_apply) in datasets.items():
                times[name].append(epoch_time(lambda data=data: loader(data), batch_apply))
        best_base = min(times["baseline"])
        rows = {}
        for name, measured in times.items():
            best = min(measured)
            rows[name] = {
                "best_s": best,
                "median_s": statistics.median(measured),
                "per_sample_ms": 1e3 * best / args.samples,
                "overhead_per_sample_ms": 1e3 * (best - best_base) / args.samples,
            }
        results[str(workers)] = rows
        print(f"\nnum_workers={workers}: {args.samples} samples, batch {args.batch_size}")
        print(f"  {'contender':<16} {'epoch s':>9} {'ms/sample':>10} {'overhead ms/sample':>19}")
        for name, row in rows.items():
            print(
                f"  {name:<16} {row['best_s']:>9.3f} {row['per_sample_ms']:>10.3f} "
                f"{row['overhead_per_sample_ms']:>19.3f}"
            )
    return results


def bench_apply(device: str, batch: int, repeats: int) -> dict[str, float]:
    """``apply_params`` throughput on ``[batch, 3, 224, 224]`` on ``device``."""
    images = torch.rand(batch, 3, SIZE, SIZE, device=device)
    params = dpa.generate_elastic_batch(range(batch), dpa.get_preset("moderate"))

    def sync() -> None:
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    apply_params(images, params)  # warm-up (kernels, caches)
    sync()
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        apply_params(images, params)
        sync()
        rates.append(batch / (time.perf_counter() - started))
    best, median = max(rates), statistics.median(rates)
    print(f"apply_params on {device}: batch {batch}: {best:,.0f} images/s (median {median:,.0f})")
    return {"batch": batch, "best_images_per_s": best, "median_images_per_s": median}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=256, help="samples per epoch")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2], help="num_workers")
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs per contender")
    parser.add_argument("--preset", default="moderate")
    parser.add_argument("--apply-batch", type=int, default=32, help="batch for apply_params")
    parser.add_argument("--threads", type=int, help="torch threads in this process")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    print(
        f"dpa {dpa.__version__} ({dpa.backend()} backend), torch {torch.__version__}, "
        f"{os.cpu_count()} CPUs, {torch.get_num_threads()} torch threads, "
        f"python {platform.python_version()}"
    )
    report: dict[str, Any] = {
        "torch": torch.__version__,
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "samples": args.samples,
        "image": [3, SIZE, SIZE],
        "loaders": bench_loaders(args),
    }
    print()
    report["apply_cpu"] = bench_apply("cpu", args.apply_batch, args.repeats)
    if torch.cuda.is_available():
        report["gpu"] = torch.cuda.get_device_name(0)
        report["apply_gpu"] = bench_apply("cuda", max(args.apply_batch, 256), args.repeats * 3)
    else:
        print("apply_params on cuda: no GPU available")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
