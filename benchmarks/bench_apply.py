"""apply_params against torchvision, kornia and OpenCV at the same operations.

One run, one process: ``--samples`` images 3x224x224 (distinct random images) and
their parameters (``--preset``, the moderate one by default), and for each of float32
and uint8 input, on 1 and on 2 threads (``torch.set_num_threads``,
``cv2.setNumThreads``), images per second of

* ``dpa``: :func:`dpa.integrations.torch.apply_params` on batches of ``--batch``
  (the parameters as :class:`dpa.ParamBatch` slices, made before the clock starts);
* ``torchvision``: the v2 functionals image by image: ``F.affine`` (bilinear, zero
  fill), ``adjust_brightness``, ``adjust_contrast``, ``gaussian_noise`` (uint8 images
  first go through ``F.to_dtype(float32, scale=True)``);
* ``kornia``: batches of ``--batch``: ``get_rotation_matrix2d`` and ``warp_affine``
  (bilinear, zero fill), then tensor ops: brightness, the grayscale mean
  (``rgb_to_grayscale``), the contrast blend, ``torch.randn`` noise, each clamped
  (uint8 images first divided by 255);
* ``opencv``: image by image, channels last: ``warpAffine`` (bilinear, zero fill; a
  uint8 image is warped as uint8, its fast path, then made float32), then numpy ops in
  place: brightness, the grayscale mean (``cvtColor``), the contrast blend,
  ``standard_normal`` noise, each clamped.

Every contender gives float32 images in ``[0, 1]``, as dpa does (dpa reads uint8 as
``x / 255``). The sixteen runs (4 contenders x 2 dtypes x 2 thread counts) are timed
interleaved, ``--repeats`` rounds after one to warm up
(:func:`dpa.benchmark.benchmark_interleaved`: each call timed with the garbage
collector off), each run setting its thread count first, so that a busy machine slows
them alike; the table gives the best and the median rate of the rounds and each
one's best over the best peer of its dtype and thread count.

dpa's 2-thread scaling is given in wall time, and in CPU time per image (what the
second thread costs beyond the work); next to it, timed in the same rounds, the
scaling the machine itself gives perfectly parallel work at that time (``sha256`` of
16 MiB in halves on 2 threads): on a machine shared with other work, that bounds
every 2-thread figure.

Before timing, dpa's result is checked bit for bit against the numpy reference of
the definition (:func:`dpa.integrations.numpy.reference`) on one batch of each dtype,
on 1 and 2 threads; a mismatch exits with status 2. Where CUDA is available, dpa and
kornia are also timed on the GPU (float32, batches), and dpa's GPU result compared
with its CPU result.

    .venv/bin/python benchmarks/bench_apply.py
    .venv/bin/python benchmarks/bench_apply.py --samples 128 --repeats 3 --json apply.json
    .venv/bin/python benchmarks/bench_apply.py --check   # exit 1 if a target is missed

The targets, on best rates: float32 and uint8 on 1 thread, dpa >= 1.5x the fastest
peer; float32 on 2 threads, dpa >= 1.7x dpa on 1 thread. They are printed as figures
(met or not met); ``--check`` makes them a check (PASS or FAIL, exit status 1).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

import cv2
import kornia
import numpy as np
import torch
import torchvision.transforms.v2.functional as TF
from torchvision.transforms import InterpolationMode

import _common as common
import dpa
from dpa._tables import text_table
from dpa.benchmark import BenchmarkResult, benchmark_interleaved, get_system_info
from dpa.integrations import numpy as dpa_numpy
from dpa.integrations._params import normalize
from dpa.integrations.torch import apply_params

SIZE = 224
#: Bytes hashed by the machine-scaling reference.
SHA_BYTES = 16 << 20
PEERS = ("torchvision", "kornia", "opencv")
CONTENDERS = ("dpa", *PEERS)
DTYPES = ("float32", "uint8")
THREADS = (1, 2)


class Workload:
    """The images of one dtype on one device (NCHW tensors; on the CPU also NHWC
    arrays, for OpenCV) and the parameters, per batch and per image (on that device
    where a contender takes tensors)."""

    def __init__(
        self, images: torch.Tensor, params: dpa.ParamBatch, batch: int, device: str = "cpu"
    ) -> None:
        self.device = device
        self.images = images.to(device)
        self.channels_last = (
            [np.ascontiguousarray(i.permute(1, 2, 0).numpy()) for i in images]
            if device == "cpu"
            else []
        )
        self.params = params
        self.slices = [slice(s, s + batch) for s in range(0, len(images), batch)]
        self.batches = [params[s] for s in self.slices]
        self.records = params.to_dicts()
        self.float_columns = {
            name: torch.from_numpy(getattr(params, name)).to(device, torch.float32)
            for name in ("rotation", "brightness", "noise", "scale", "contrast")
        }


def run_dpa(work: Workload) -> None:
    for part, params in zip(work.slices, work.batches, strict=True):
        apply_params(work.images[part], params)
    if work.device != "cpu":
        torch.cuda.synchronize()


def run_torchvision(work: Workload) -> None:
    for image, p in zip(work.images, work.records, strict=True):
        x = image if image.is_floating_point() else TF.to_dtype(image, torch.float32, scale=True)
        x = TF.affine(
            x, angle=p["rotation"], translate=[0, 0], scale=p["scale"], shear=[0.0, 0.0],
            interpolation=InterpolationMode.BILINEAR, fill=0.0,
        )  # fmt: skip
        x = TF.adjust_brightness(x, p["brightness"])
        x = TF.adjust_contrast(x, p["contrast"])
        TF.gaussian_noise(x, sigma=p["noise"], clip=True)


def run_kornia(work: Workload) -> None:
    columns = work.float_columns
    centre = torch.tensor([[(SIZE - 1) / 2, (SIZE - 1) / 2]], device=work.device)
    for part in work.slices:
        x = work.images[part]
        x = x.float() / 255.0 if x.dtype == torch.uint8 else x
        scale = columns["scale"][part][:, None].expand(-1, 2)
        matrix = kornia.geometry.transform.get_rotation_matrix2d(
            centre.expand(len(x), 2), columns["rotation"][part], scale
        )
        x = kornia.geometry.transform.warp_affine(
            x, matrix, (SIZE, SIZE), mode="bilinear", padding_mode="zeros", align_corners=False
        )
        x = (x * columns["brightness"][part][:, None, None, None]).clamp_(0, 1)
        contrast = columns["contrast"][part][:, None, None, None]
        mean = kornia.color.rgb_to_grayscale(x).mean(dim=(1, 2, 3), keepdim=True)
        x = (contrast * x + (1 - contrast) * mean).clamp_(0, 1)
        noise = columns["noise"][part][:, None, None, None]
        x.add_(noise * torch.randn_like(x)).clamp_(0, 1)
    if work.device != "cpu":
        torch.cuda.synchronize()


def run_opencv(work: Workload, rng: np.random.Generator) -> None:
    centre = ((SIZE - 1) / 2, (SIZE - 1) / 2)
    for image, p in zip(work.channels_last, work.records, strict=True):
        matrix = cv2.getRotationMatrix2D(centre, p["rotation"], p["scale"])
        x = cv2.warpAffine(
            image, matrix, (SIZE, SIZE), flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT, borderValue=0,
        )  # fmt: skip
        if x.dtype == np.uint8:
            x = x.astype(np.float32) * np.float32(1 / 255)
        np.multiply(x, np.float32(p["brightness"]), out=x)
        np.clip(x, 0, 1, out=x)
        mean = np.float32(cv2.cvtColor(x, cv2.COLOR_RGB2GRAY).mean())
        contrast = np.float32(p["contrast"])
        np.multiply(x, contrast, out=x)
        np.add(x, (1 - contrast) * mean, out=x)
        np.clip(x, 0, 1, out=x)
        x += np.float32(p["noise"]) * rng.standard_normal(x.shape, dtype=np.float32)
        np.clip(x, 0, 1, out=x)


def run_sha256(buffer: bytes, threads: int) -> None:
    """The machine's own scaling: ``buffer`` hashed in ``threads`` parts at once
    (hashlib releases the GIL), perfectly parallel work."""
    view = memoryview(buffer)
    step = -(-len(view) // threads)
    helpers = [
        threading.Thread(target=lambda part=view[i : i + step]: hashlib.sha256(part).digest())
        for i in range(step, len(view), step)
    ]
    for helper in helpers:
        helper.start()
    hashlib.sha256(view[:step]).digest()
    for helper in helpers:
        helper.join()


def runner(contender: str, work: Workload, threads: int) -> Callable[[], None]:
    """One pass over the workload, on ``threads`` threads (set at each call)."""
    run: Callable[[], None] = {
        "dpa": functools.partial(run_dpa, work),
        "torchvision": functools.partial(run_torchvision, work),
        "kornia": functools.partial(run_kornia, work),
        "opencv": functools.partial(run_opencv, work, np.random.default_rng(0)),
    }[contender]

    def call() -> None:
        torch.set_num_threads(threads)
        cv2.setNumThreads(threads)
        run()

    return call


# --------------------------------------------------------------------------- agreement


def agreement_problems(workloads: dict[str, Workload], batch: int) -> list[str]:
    """dpa's first batch of each dtype, on 1 and 2 threads, against the numpy reference."""
    problems = []
    for dtype, work in workloads.items():
        images, params = work.images[:batch], work.params[0:batch]
        expected = dpa_numpy.reference(images.numpy(), normalize(params, len(images)))
        for threads in THREADS:
            torch.set_num_threads(threads)
            got = apply_params(images, params).numpy()
            if got.dtype != np.float32 or not np.array_equal(got, expected):
                wrong = int((got != expected).sum())
                problems.append(f"{dtype}, {threads} thread(s): {wrong} values differ")
    return problems


# --------------------------------------------------------------------------- report


def key(contender: str, dtype: str, threads: int) -> str:
    return f"{contender} {dtype} {threads}t"


def summarize(
    rates: dict[str, dict[str, Any]], results: dict[str, BenchmarkResult]
) -> dict[str, Any]:
    """Per dtype and thread count: the fastest peer, and dpa over it; dpa's 2 threads
    over 1 thread, in wall time and in CPU time per image (what the threads cost
    beyond the work itself), and the machine's own 2-thread scaling (sha256)."""
    groups: dict[str, Any] = {}
    for dtype in DTYPES:
        for threads in THREADS:
            peers = {peer: rates[key(peer, dtype, threads)] for peer in PEERS}
            fastest = max(peers, key=lambda name: peers[name]["best"])
            dpa_rate = rates[key("dpa", dtype, threads)]
            groups[f"{dtype} {threads}t"] = {
                "fastest_peer": fastest,
                "dpa_vs_fastest_peer": common.ratio(dpa_rate, peers[fastest]),
            }
    scaling = {
        dtype: common.ratio(rates[key("dpa", dtype, 2)], rates[key("dpa", dtype, 1)])
        for dtype in DTYPES
    }
    cpu = {
        dtype: min(results[key("dpa", dtype, 2)].cpu_times)
        / min(results[key("dpa", dtype, 1)].cpu_times)
        for dtype in DTYPES
    }
    machine = common.ratio(rates["sha256 2t"], rates["sha256 1t"])
    return {
        "groups": groups,
        "dpa_2_threads_vs_1": scaling,
        "dpa_2_threads_cpu_time_vs_1": cpu,
        "machine_2_threads_vs_1": machine,
    }


def print_table(rates: dict[str, dict[str, Any]], summary: dict[str, Any]) -> None:
    rows = []
    for dtype in DTYPES:
        for threads in THREADS:
            group = summary["groups"][f"{dtype} {threads}t"]
            best_peer = rates[key(group["fastest_peer"], dtype, threads)]["best"]
            for contender in CONTENDERS:
                rate = rates[key(contender, dtype, threads)]
                rows.append(
                    (
                        contender, dtype, str(threads),
                        *common.rate_cells(rate["best"], rate["median"]),
                        f"{rate['best'] / best_peer:.2f}x",
                    )
                )  # fmt: skip
    header = ("contender", "input", "threads", "best img/s", "median img/s", "best / best peer")
    print(text_table(header, rows, left=[0, 1]))


def acceptance(summary: dict[str, Any]) -> list[dict[str, Any]]:
    groups, scaling = summary["groups"], summary["dpa_2_threads_vs_1"]
    targets = [
        ("float32, 1 thread: dpa >= 1.5x the fastest peer", groups["float32 1t"], 1.5),
        ("uint8, 1 thread: dpa >= 1.5x the fastest peer", groups["uint8 1t"], 1.5),
    ]
    criteria = [
        {
            "criterion": text,
            "threshold": threshold,
            "value": group["dpa_vs_fastest_peer"]["best"],
            "passed": group["dpa_vs_fastest_peer"]["best"] >= threshold,
        }
        for text, group, threshold in targets
    ]
    criteria.append(
        {
            "criterion": "float32: dpa on 2 threads >= 1.7x dpa on 1 thread",
            "threshold": 1.7,
            "value": scaling["float32"]["best"],
            "passed": scaling["float32"]["best"] >= 1.7,
        }
    )
    return criteria


def gpu_figures(
    floats: torch.Tensor, params: dpa.ParamBatch, batch: int, repeats: int, device: str = "cuda"
) -> dict[str, Any]:
    """dpa and kornia on ``device``, the GPU (float32 batches, the images already
    there), and dpa's result there against its CPU one."""
    work = Workload(floats, params, batch, device=device)
    first = work.slices[0]
    cpu = apply_params(floats[first], work.batches[0])
    gpu = apply_params(work.images[first], work.batches[0]).cpu()
    results = benchmark_interleaved(
        {
            "dpa": functools.partial(run_dpa, work),
            "kornia": functools.partial(run_kornia, work),
        },
        iterations=repeats,
        warmup=1,
        samples_per_iteration=len(work.images),
    )
    rates = {name: common.rates_of(result) for name, result in results.items()}
    return {
        "rates": rates,
        "dpa_vs_kornia": common.ratio(rates["dpa"], rates["kornia"]),
        "max_abs_cpu_gpu_difference": float((gpu - cpu).abs().max()),
        "device": torch.cuda.get_device_name() if device == "cuda" else device,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.number_option(parser, "--samples", 256, "N", "images per run")
    common.number_option(parser, "--batch", 32, "B", "images per batch (dpa, kornia)")
    parser.add_argument("--preset", default="moderate", help="the parameters' preset")
    common.number_option(parser, "--repeats", 5, "R", "timed rounds, interleaved")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON to FILE")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)
    if common.native_missing():
        return 2

    generator = torch.Generator().manual_seed(0)
    floats = torch.rand(args.samples, 3, SIZE, SIZE, generator=generator)
    params = dpa.generate_batch(range(args.samples), dpa.get_preset(args.preset))
    workloads = {
        "float32": Workload(floats, params, args.batch),
        "uint8": Workload((floats * 255).round().to(torch.uint8), params, args.batch),
    }
    problems = agreement_problems(workloads, args.batch)
    if common.report_mismatch("MISMATCH between dpa and the numpy reference:", problems):
        return 2
    print(
        f"agreement: dpa (kernel {dpa.backend()}) equals the numpy reference bit for bit on "
        f"{min(args.batch, args.samples)} images of each input dtype, on 1 and 2 threads"
    )

    functions = {
        key(contender, dtype, threads): runner(contender, workloads[dtype], threads)
        for threads in THREADS
        for dtype in DTYPES
        for contender in CONTENDERS
    }
    buffer = os.urandom(SHA_BYTES)
    for threads in THREADS:
        functions[f"sha256 {threads}t"] = functools.partial(run_sha256, buffer, threads)
    results = benchmark_interleaved(
        functions, iterations=args.repeats, warmup=1, samples_per_iteration=args.samples
    )
    rates = {name: common.rates_of(result) for name, result in results.items()}
    summary = summarize(rates, results)

    system = get_system_info()
    print(common.machine_line(system))
    print(
        f"{args.samples} images 3x{SIZE}x{SIZE}, {args.preset} preset, batches of {args.batch} "
        f"(dpa, kornia), best and median of {args.repeats} interleaved rounds"
    )
    print()
    print_table(rates, summary)
    print()
    for dtype, ratio in summary["dpa_2_threads_vs_1"].items():
        cpu = summary["dpa_2_threads_cpu_time_vs_1"][dtype]
        print(f"dpa {dtype}, 2 threads / 1 thread: {ratio['best']:.2f}x best, "
              f"{ratio['median']:.2f}x median; CPU time per image {cpu:.2f}x")  # fmt: skip
    machine = summary["machine_2_threads_vs_1"]
    print(f"the machine meanwhile, perfectly parallel work (sha256 halves on 2 threads): "
          f"{machine['best']:.2f}x best, {machine['median']:.2f}x median")  # fmt: skip
    report: dict[str, Any] = {
        **system,
        "samples": args.samples,
        "batch": args.batch,
        "preset": args.preset,
        "repeats": args.repeats,
        "rates": rates,
        **summary,
    }
    if torch.cuda.is_available():
        gpu = gpu_figures(floats, params, args.batch, args.repeats)
        report["gpu"] = gpu
        print(
            f"GPU ({gpu['device']}), float32: dpa {gpu['rates']['dpa']['best']:,.0f} img/s, "
            f"kornia {gpu['rates']['kornia']['best']:,.0f} img/s best "
            f"({gpu['dpa_vs_kornia']['best']:.2f}x); dpa GPU vs CPU max |difference| "
            f"{gpu['max_abs_cpu_gpu_difference']:.2e}"
        )
    criteria = acceptance(summary)
    common.print_acceptance(
        "targets (best rates)", criteria, lambda r: f"{r['value']:.2f}x", args.check
    )
    return common.finish(args, report, criteria)


if __name__ == "__main__":
    sys.exit(main())
