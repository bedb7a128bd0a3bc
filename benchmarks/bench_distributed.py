"""Scaling of distributed generation: 1 process against 2 on the same total.

Each process takes its share of ``--samples`` ids (:class:`dpa.DistributedRangeSplitter`,
as ``dpa generate --distributed`` does under torchrun) and generates it with the native
kernel on one thread (``workers=1``), rank-aware keys by default (``--mode elastic`` for
the elastic ones). With ``--write`` each process also writes its share as a Parquet
shard (:func:`dpa._shards.write_shard`: the file, its SHA-256), into a temporary folder.

The processes are started once (``multiprocessing``, spawn), import dpa and warm up, then
wait for work; a run sends every process its range at once and its time is the wall
time from the first process starting to the last one finishing (one system-wide
monotonic clock). The contenders run interleaved (1 process, 2 processes, 1, 2, ...)
for several repetitions so that a noisy machine hurts them alike; best and median
rates are reported, and the scaling efficiency

    efficiency = (rate with 2 processes) / (2 x rate with 1 process)

best to best (median to median alongside): 100% is perfect scaling. The target is
>= 90% on a machine with 2 free cores; with fewer usable CPUs than processes the figure
means nothing (a note says so). Each process also reports its CPU time: the ``cpu
share`` column is the share of the run its processes spent on a CPU (100%: a core
each), and the work done per CPU-second with 2 processes against 1 says how well the
code itself scales when each process does get a core (other load on the machine
lowers the wall-clock figure, not this one; a note says when the processes did not
get their cores).

Before timing, the script checks that 2 processes produce exactly the values of 1
process (all hashes of a range, both modes) and of the Python reference (a few ids),
and exits with status 2 if not, or if the native kernel is not built.

Run it from the repository root::

    .venv/bin/python benchmarks/bench_distributed.py
    .venv/bin/python benchmarks/bench_distributed.py --samples 8000000 --repeats 5 --json d.json
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from typing import Any

import dpa
from _common import (
    native_missing,
    positive_int,
    print_aligned,
    report_mismatch,
    stats,
    usable_cpus,
    write_json,
)

MODES = ("rank_aware", "elastic")
BASE_SEED = 12345
EPOCH = 1
TARGET = 0.90


def _scheme(mode: str, rank: int, world_size: int) -> dpa.KeyScheme:
    return dpa.scheme_for_mode(
        mode, base_seed=BASE_SEED, rank=rank, world_size=world_size, epoch=EPOCH
    )


def _generate(job: dict[str, Any]) -> dict[str, Any]:
    """One process's share: generate (and maybe write) ids ``lo .. hi-1``."""
    rank, world_size, total, mode = job["rank"], job["world_size"], job["total"], job["mode"]
    lo, hi = dpa.DistributedRangeSplitter(total, world_size).get_rank_range(rank)
    began, cpu_began = time.monotonic(), time.process_time()
    if job.get("folder"):
        from dpa._shards import write_shard

        entry = write_shard(
            job["folder"], rank, world_size, total, mode=mode, base_seed=BASE_SEED,
            epoch=EPOCH, format="parquet", batch_size=job["batch_size"], workers=1,
        )  # fmt: skip
        count, hashes = entry["count"], None
    else:
        scheme = _scheme(mode, rank, world_size)
        count, kept = 0, []
        for batch in dpa.iter_batches(
            lo, hi, batch_size=job["batch_size"], scheme=scheme, workers=1, backend="native",
        ):  # fmt: skip
            count += len(batch)
            if job.get("keep"):
                kept.append(batch.hash.tobytes())
        hashes = b"".join(kept) if job.get("keep") else None
    ended, cpu = time.monotonic(), time.process_time() - cpu_began
    return {
        "rank": rank,
        "began": began,
        "ended": ended,
        "cpu": cpu,
        "count": count,
        "hashes": hashes,
    }


def _worker(conn: Connection) -> None:
    """Wait for jobs; answer each with its result (or the error as text)."""
    while True:
        job = conn.recv()
        if job is None:
            return
        try:
            conn.send(_generate(job))
        except Exception as exc:  # reported by the parent
            conn.send({"error": f"{type(exc).__name__}: {exc}"})


class Pool:
    """``size`` spawned processes, each one rank of a run."""

    def __init__(self, context: Any, size: int) -> None:
        self.conns: list[Connection] = []
        self.procs = []
        for _ in range(size):
            parent, child = context.Pipe()
            proc = context.Process(target=_worker, args=(child,), daemon=True)
            proc.start()
            self.conns.append(parent)
            self.procs.append(proc)

    def run(self, **job: Any) -> tuple[float, list[dict[str, Any]]]:
        """Every process runs its rank's share; the wall time and the results (each
        with its CPU time, ``cpu``)."""
        for rank, conn in enumerate(self.conns):
            conn.send({**job, "rank": rank, "world_size": len(self.conns)})
        results = [conn.recv() for conn in self.conns]
        errors = [r["error"] for r in results if "error" in r]
        if errors:
            raise RuntimeError("; ".join(errors))
        wall = max(r["ended"] for r in results) - min(r["began"] for r in results)
        return wall, results

    def close(self) -> None:
        for conn in self.conns:
            conn.send(None)
        for proc in self.procs:
            proc.join(timeout=30)


def check_agreement(pools: dict[int, Pool], samples: int) -> list[str]:
    """2 processes give exactly 1 process's values (both modes), and the native
    values match the Python reference on a few ids."""
    problems = []
    for mode in MODES:
        hashes = {}
        for size, pool in pools.items():
            _, results = pool.run(total=samples, mode=mode, batch_size=4096, keep=True)
            hashes[size] = [r["hashes"] for r in results]
        if mode == "elastic":
            if b"".join(hashes[1]) != b"".join(hashes[2]):
                problems.append("elastic: 2 processes differ from 1 process")
        else:  # rank-aware: each rank's values are its own; rank 0 agrees on its share
            own = len(hashes[2][0])
            if hashes[1][0][:own] != hashes[2][0]:
                problems.append("rank_aware: rank 0 of 2 differs from rank 0 of 1")
        for sample in (0, samples // 2, samples - 1):
            rank = dpa.DistributedRangeSplitter(samples, 2).get_rank_for_sample(sample)
            if mode == "elastic":
                want = dpa.gen_elastic_augmentation_params(
                    sample, base_seed=BASE_SEED, epoch=EPOCH, backend="python"
                )["hash"]
            else:
                want = dpa.gen_distributed_augmentation_params(
                    sample, rank, base_seed=BASE_SEED, world_size=2, backend="python"
                )["hash"]
            share = hashes[2][rank]
            first = dpa.DistributedRangeSplitter(samples, 2).get_rank_range(rank)[0]
            got = share[64 * (sample - first) : 64 * (sample - first + 1)].decode()
            if got != want:
                problems.append(f"{mode}: sample {sample} on rank {rank}: {got} != {want}")
    return problems


def print_table(rows: dict[str, dict[str, Any]]) -> None:
    headers = (
        "contender",
        "processes",
        "samples",
        "best s",
        "median s",
        "best/s",
        "median/s",
        "cpu share",
    )
    lines = [
        (
            name,
            str(row["processes"]),
            f"{row['samples']:,}",
            f"{min(row['seconds']):.3f}",
            f"{statistics.median(row['seconds']):.3f}",
            f"{row['samples_per_s']['best']:,.0f}",
            f"{row['samples_per_s']['median']:,.0f}",
            f"{row['cpu_share']['median']:.0%}",
        )
        for name, row in rows.items()
    ]
    print_aligned(headers, lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--samples",
        type=positive_int,
        default=4_000_000,
        metavar="N",
        help="samples per run, shared by the processes (default: 4000000)",
    )
    parser.add_argument(
        "--repeats",
        type=positive_int,
        default=5,
        metavar="R",
        help="repetitions of each contender, interleaved (default: 5)",
    )
    parser.add_argument("--mode", choices=MODES, default="rank_aware", help="keys timed")
    parser.add_argument(
        "--batch-size", type=positive_int, default=65536, metavar="B", help="ids per batch"
    )
    parser.add_argument(
        "--write", action="store_true", help="also write each share as a Parquet shard"
    )
    parser.add_argument(
        "--verify",
        type=positive_int,
        default=20_000,
        metavar="M",
        help="ids checked for exact agreement before timing (default: 20000)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON to FILE")
    parser.add_argument(
        "--check",
        action="store_true",
        help=f"exit 1 if the scaling efficiency is under {TARGET:.0%}%",
    )
    args = parser.parse_args(argv)

    if native_missing():
        return 2

    context = mp.get_context("spawn")
    pools = {1: Pool(context, 1), 2: Pool(context, 2)}
    folder = tempfile.mkdtemp(prefix="dpa-bench-distributed-") if args.write else None
    try:
        problems = check_agreement(pools, args.verify)
        if report_mismatch("MISMATCH:", problems):
            return 2
        print(
            f"agreement: 2 processes give 1 process's values on {args.verify:,} ids "
            "(elastic: all; rank-aware: rank 0's share), and the python reference on 3 ids"
        )
        job = {"total": args.samples, "mode": args.mode, "batch_size": args.batch_size}
        if folder is not None:
            job["folder"] = folder
        warm = {**job, "total": min(args.samples, 100_000)}
        for pool in pools.values():  # warm-up: caches, page faults, the first batches
            pool.run(**warm)
        seconds: dict[int, list[float]] = {1: [], 2: []}
        cpu_seconds: dict[int, list[float]] = {1: [], 2: []}
        for _ in range(args.repeats):
            for size, pool in pools.items():
                wall, results = pool.run(**job)
                if sum(r["count"] for r in results) != args.samples:
                    print("error: the processes did not generate every sample", file=sys.stderr)
                    return 2
                seconds[size].append(wall)
                cpu_seconds[size].append(sum(r["cpu"] for r in results))
    finally:
        for pool in pools.values():
            pool.close()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    what = "generate + write a Parquet shard" if args.write else "generate"
    rows = {
        f"{size} process{'es' if size > 1 else ''}": {
            "processes": size,
            "samples": args.samples,
            "seconds": times,
            "samples_per_s": stats([args.samples / t for t in times]),
            "cpu_seconds": cpu_seconds[size],
            "samples_per_cpu_s": stats([args.samples / t for t in cpu_seconds[size]]),
            # the share of its processes' time that they spent on a CPU (1: a core each)
            "cpu_share": stats(
                [c / (size * t) for c, t in zip(cpu_seconds[size], times, strict=True)]
            ),
        }
        for size, times in seconds.items()
    }
    one, two = rows["1 process"]["samples_per_s"], rows["2 processes"]["samples_per_s"]
    efficiency = {
        "best": two["best"] / (2 * one["best"]),
        "median": two["median"] / (2 * one["median"]),
    }
    per_cpu_one = rows["1 process"]["samples_per_cpu_s"]
    per_cpu_two = rows["2 processes"]["samples_per_cpu_s"]
    cpu_efficiency = {
        "best": per_cpu_two["best"] / per_cpu_one["best"],
        "median": per_cpu_two["median"] / per_cpu_one["median"],
    }
    passed = efficiency["best"] >= TARGET
    usable = usable_cpus()
    print(
        f"python {platform.python_version()}, dpa {dpa.__version__}, "
        f"os.cpu_count() {os.cpu_count()}" + ("" if usable is None else f" ({usable} usable)")
    )
    print(
        f"{what}, {args.mode} keys, native kernel, workers=1 per process, batch "
        f"{args.batch_size:,}; {args.samples:,} samples per run, {args.repeats} repeats"
    )
    if usable is not None and usable < 2:
        print("note: fewer than 2 usable CPUs; 2 processes cannot run side by side here")
    print()
    print_table(rows)
    print()
    print(
        f"scaling efficiency = rate(2 processes) / (2 x rate(1 process)): "
        f"{efficiency['best']:.1%} best, {efficiency['median']:.1%} median"
    )
    print(
        f"per CPU-second: 2 processes do {cpu_efficiency['best']:.1%} best "
        f"({cpu_efficiency['median']:.1%} median) of 1 process's work per CPU-second"
    )
    share = rows["2 processes"]["cpu_share"]["median"]
    if share < 0.9:
        print(
            f"note: the 2 processes were on a CPU {share:.0%} of the time (median), not all "
            "of it: other load on the machine (or, with --write, waiting for the disk) "
            "lowers the wall-clock efficiency"
        )
    verdict = "PASS" if passed else "FAIL"
    print(
        f"acceptance (best rates): {verdict}  efficiency >= {TARGET:.0%} ({efficiency['best']:.1%})"
    )

    if args.json:
        report = {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "usable_cpus": usable,
            "dpa_version": dpa.__version__,
            "what": what,
            "mode": args.mode,
            "write": args.write,
            "batch_size": args.batch_size,
            "samples": args.samples,
            "repeats": args.repeats,
            "ids_verified": args.verify,
            "contenders": rows,
            "efficiency": efficiency,
            "per_cpu_second_efficiency": cpu_efficiency,
            "target": TARGET,
            "passed": passed,
        }
        write_json(args.json, report)
    if args.check and not passed:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
