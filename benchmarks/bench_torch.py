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
best of ``--repeats`` epochs (contenders interleaved by
:func:`dpa.benchmark.benchmark_interleaved`, so a noisy machine hurts them alike). Then
``apply_params`` throughput on batches, on the CPU and, where CUDA is available, on the
GPU (images per second, :func:`dpa.benchmark.benchmark_function`; the GPU timed with
synchronisation). Nothing here is a check: the script exits 0 whatever the figures.

    .venv/bin/python benchmarks/bench_torch.py
    .venv/bin/python benchmarks/bench_torch.py --samples 512 --workers 0 2 4 --json torch.json
    .venv/bin/python benchmarks/bench_torch.py --threads 1   # the main process on one thread

(DataLoader workers run torch on one thread each; the main process uses torch's default,
which on a busy machine can cost more than it gains for per-image work.)
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

import dpa
from dpa._io import write_atomic
from dpa._tables import text_table
from dpa.benchmark import benchmark_function, benchmark_interleaved, get_system_info
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


def epoch(data: Any, batch_apply: bool, batch_size: int, workers: int) -> None:
    """One pass over a fresh DataLoader (worker start-up included)."""
    for batch in DataLoader(data, batch_size=batch_size, num_workers=workers):
        if batch_apply:
            images, _, params = batch
            apply_params(images, params)


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
        epochs = {
            name: functools.partial(epoch, data, batch_apply, args.batch_size, workers)
            for name, (data, batch_apply) in datasets.items()
        }
        # The collector stays on, as a training loop has it: a collection just before
        # an epoch slows torch's first batches (here 1 ms became 140 ms a baseline epoch).
        timed = benchmark_interleaved(epochs, iterations=args.repeats, warmup=1, disable_gc=False)
        best_base = timed["baseline"].min
        rows = {
            name: {
                "best_s": result.min,
                "median_s": result.median,
                "per_sample_ms": 1e3 * result.min / args.samples,
                "overhead_per_sample_ms": 1e3 * (result.min - best_base) / args.samples,
            }
            for name, result in timed.items()
        }
        results[str(workers)] = rows
        print(f"\nnum_workers={workers}: {args.samples} samples, batch {args.batch_size}")
        table = text_table(
            ("contender", "epoch s", "ms/sample", "overhead ms/sample"),
            [
                (
                    name,
                    f"{row['best_s']:.3f}",
                    f"{row['per_sample_ms']:.3f}",
                    f"{row['overhead_per_sample_ms']:.3f}",
                )
                for name, row in rows.items()
            ],
            left=[0],
        )
        print("\n".join(f"  {line}" for line in table.splitlines()))
    return results


def bench_apply(device: str, batch: int, repeats: int) -> dict[str, float]:
    """``apply_params`` throughput on ``[batch, 3, 224, 224]`` on ``device``."""
    images = torch.rand(batch, 3, SIZE, SIZE, device=device)
    params = dpa.generate_elastic_batch(range(batch), dpa.get_preset("moderate"))

    def apply() -> None:
        apply_params(images, params)
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    timed = benchmark_function(
        apply, iterations=repeats, warmup=1, samples_per_iteration=batch, disable_gc=False
    )
    best, median = timed.best_rate or 0.0, timed.median_rate or 0.0
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

    system = get_system_info()
    print(
        f"dpa {system['dpa_version']} ({system['backend']} backend), torch {torch.__version__}, "
        f"{system['usable_cpus']} usable of {system['cpu_count']} CPUs, "
        f"{torch.get_num_threads()} torch threads, python {system['python']}"
    )
    report: dict[str, Any] = {
        **system,
        "torch": torch.__version__,
        "cpus": system["usable_cpus"],
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
        write_atomic(args.json, (json.dumps(report, indent=2) + "\n").encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
