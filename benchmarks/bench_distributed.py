"""Scaling of distributed generation: 1 process against 2 on the same total.

Each process takes its share of ``--samples`` ids (:class:`dpa.DistributedRangeSplitter`,
as ``dpa generate --distributed`` does under torchrun) and generates it with the native
kernel on one thread (``workers=1``), rank-aware keys by default (``--mode elastic`` for
the elastic ones). With ``--write`` each process also writes its share as a Parquet
shard (:func:`dpa._shards.write_shard`: the file, its SHA-256), into a temporary folder.

The processes are started once (:class:`dpa.benchmark.WorkerPool`, spawn), import dpa
and warm up, then wait for work; a run sends every process its range at once and its
time is the wall time from the first process starting to the last one finishing (one
system-wide monotonic clock). The contenders run interleaved (1 process, 2 processes, 1, 2, ...)
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

The acceptance criterion, on best rates: efficiency >= 90%. It is printed as a figure
(met or not met); ``--check`` makes it a check (PASS or FAIL, exit status 1 on FAIL).

Run it from the repository root::

    .venv/bin/python benchmarks/bench_distributed.py
    .venv/bin/python benchmarks/bench_distributed.py --samples 8000000 --repeats 5 --json d.json
    .venv/bin/python benchmarks/bench_distributed.py --check   # exit 1 below 90% efficiency
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from typing import Any

import _common as common
import dpa
from dpa._tables import text_table
from dpa.benchmark import WorkerPool, get_system_info
from dpa.benchmark.processes import Round

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
    if job.get("folder"):
        from dpa._shards import write_shard

        entry = write_shard(
            job["folder"], rank, world_size, total, mode=mode, base_seed=BASE_SEED,
            epoch=EPOCH, format="parquet", batch_size=job["batch_size"], workers=1,
        )  # fmt: skip
        return {"count": entry["count"], "hashes": None}
    scheme = _scheme(mode, rank, world_size)
    count, kept = 0, []
    for batch in dpa.iter_batches(
        lo, hi, batch_size=job["batch_size"], scheme=scheme, workers=1, backend="native",
    ):  # fmt: skip
        count += len(batch)
        if job.get("keep"):
            kept.append(batch.hash.tobytes())
    return {"count": count, "hashes": b"".join(kept) if job.get("keep") else None}


def run_shares(pool: WorkerPool, **job: Any) -> tuple[Round, list[dict[str, Any]]]:
    """Every process of ``pool`` runs its rank's share of ``job``: the round (its
    ``span_seconds`` is the run's time; each reply's timing has the process's CPU
    time) and each rank's result."""
    shares = [{**job, "rank": rank, "world_size": pool.size} for rank in range(pool.size)]
    done = pool.round([(_generate, (share,)) for share in shares])
    return done, [reply.value for reply in done.replies]


def check_agreement(pools: dict[int, WorkerPool], samples: int) -> list[str]:
    """2 processes give exactly 1 process's values (both modes), and the native
    values match the Python reference on a few ids."""
    problems = []
    for mode in MODES:
        hashes = {}
        for size, pool in pools.items():
            _, results = run_shares(pool, total=samples, mode=mode, batch_size=4096, keep=True)
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
            *common.rate_cells(row["samples_per_s"]["best"], row["samples_per_s"]["median"]),
            f"{row['cpu_share']['median']:.0%}",
        )
        for name, row in rows.items()
    ]
    print(text_table(headers, lines, left=[0]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.number_option(
        parser, "--samples", 4_000_000, "N", "samples per run, shared by the processes"
    )
    parser.add_argument("--mode", choices=MODES, default="rank_aware", help="keys timed")
    common.number_option(parser, "--batch-size", 65536, "B", "ids per batch")
    parser.add_argument(
        "--write", action="store_true", help="also write each share as a Parquet shard"
    )
    common.add_run_options(
        parser,
        repeats=5,
        verify=20_000,
        check=f"exit 1 if the scaling efficiency is under {TARGET:.0%}",
    )
    args = parser.parse_args(argv)

    if common.native_missing():
        return 2

    folder = tempfile.mkdtemp(prefix="dpa-bench-distributed-") if args.write else None
    try:
        with WorkerPool(1) as one, WorkerPool(2) as two:
            timed = measure(args, {1: one, 2: two}, folder)
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    if timed is None:
        return 2
    seconds, cpu_seconds = timed

    what = "generate + write a Parquet shard" if args.write else "generate"
    rows = {
        f"{size} process{'es' if size > 1 else ''}": {
            "processes": size,
            "samples": args.samples,
            "seconds": times,
            "samples_per_s": common.spread([args.samples / t for t in times]),
            "cpu_seconds": cpu_seconds[size],
            "samples_per_cpu_s": common.spread([args.samples / t for t in cpu_seconds[size]]),
            # the share of its processes' time that they spent on a CPU (1: a core each)
            "cpu_share": common.spread(
                [c / (size * t) for c, t in zip(cpu_seconds[size], times, strict=True)]
            ),
        }
        for size, times in seconds.items()
    }
    one_row, two_row = rows["1 process"], rows["2 processes"]
    scaling = common.ratio(two_row["samples_per_s"], one_row["samples_per_s"])
    efficiency = {"best": scaling["best"] / 2, "median": scaling["median"] / 2}
    cpu_efficiency = common.ratio(two_row["samples_per_cpu_s"], one_row["samples_per_cpu_s"])
    system = get_system_info()
    print(common.machine_line(system))
    print(
        f"{what}, {args.mode} keys, native kernel, workers=1 per process, batch "
        f"{args.batch_size:,}; {args.samples:,} samples per run, {args.repeats} repeats"
    )
    if system["usable_cpus"] < 2:
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
    share = two_row["cpu_share"]["median"]
    if share < 0.9:
        print(
            f"note: the 2 processes were on a CPU {share:.0%} of the time (median), not all "
            "of it: other load on the machine (or, with --write, waiting for the disk) "
            "lowers the wall-clock efficiency"
        )
    criterion = {
        "criterion": f"efficiency >= {TARGET:.0%}",
        "value": efficiency["best"],
        "passed": efficiency["best"] >= TARGET,
    }
    passed = common.print_acceptance(
        "acceptance (best rates)", [criterion], lambda r: f"{r['value']:.1%}", args.check
    )

    report = {
        **system,
        "what": what,
        "mode": args.mode,
        "write": args.write,
        "batch_size": args.batch_size,
        **common.run_settings(args),
        "contenders": rows,
        "efficiency": efficiency,
        "per_cpu_second_efficiency": cpu_efficiency,
        "target": TARGET,
        "passed": passed,
    }
    return common.finish(args, report, [criterion])


def measure(
    args: argparse.Namespace, pools: dict[int, WorkerPool], folder: str | None
) -> tuple[dict[int, list[float]], dict[int, list[float]]] | None:
    """Check agreement, warm up, then time the runs, 1 and 2 processes in turns: the
    seconds and CPU-seconds of each run by process count (None after a mismatch,
    reported on stderr)."""
    problems = check_agreement(pools, args.verify)
    if common.report_mismatch("MISMATCH:", problems):
        return None
    print(
        f"agreement: 2 processes give 1 process's values on {args.verify:,} ids "
        "(elastic: all; rank-aware: rank 0's share), and the python reference on 3 ids"
    )
    job = {"total": args.samples, "mode": args.mode, "batch_size": args.batch_size}
    if folder is not None:
        job["folder"] = folder
    warm = {**job, "total": min(args.samples, 100_000)}
    for pool in pools.values():  # warm-up: caches, page faults, the first batches
        run_shares(pool, **warm)
    seconds: dict[int, list[float]] = {1: [], 2: []}
    cpu_seconds: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(args.repeats):
        for size, pool in pools.items():
            done, results = run_shares(pool, **job)
            if sum(r["count"] for r in results) != args.samples:
                print("error: the processes did not generate every sample", file=sys.stderr)
                return None
            seconds[size].append(done.span_seconds)
            cpu_seconds[size].append(sum(r.timing.cpu_seconds for r in done.replies))
    return seconds, cpu_seconds


if __name__ == "__main__":
    sys.exit(main())
