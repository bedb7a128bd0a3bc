"""Load: 8 threads and 2 processes generate at once, through every API and both
backends, with plain, rank-aware and elastic keys, for ``DPA_LOAD_SECONDS`` (default
60); every result must equal the serial result of the Python reference backend.

The work is a fixed pool of jobs (an id range, a config, a key scheme), whose serial
results are computed first; each worker takes jobs and APIs in its own order, so many
calls of every kind run side by side. The duration only sets how long the load lasts:
nothing here depends on timing.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import multiprocessing
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import dpa
from dpa._keys import scheme_for_mode

THREADS = 8
PROCESSES = 2
FIELDS = ("rotation", "brightness", "noise", "scale", "contrast")
CONFIGS = {
    "default": dpa.AugmentationConfig(),
    "mild": dpa.get_preset("mild"),
    "aggressive": dpa.get_preset("aggressive"),
    "deep": dpa.AugmentationConfig(rotation_range=(-5, 5), augmentation_depth=17),
    "shallow": dpa.AugmentationConfig(noise_range=(0, 1), augmentation_depth=1),
}
Result = tuple[int, str, str, int]  # job index, API, digest, samples


@dataclass(frozen=True)
class Job:
    """Ids ``start .. start+count-1`` under a config and a key ``mode``. A rank-aware
    job is rank ``rank``'s share of a run of ``total`` ids over ``world_size`` ranks."""

    mode: str  # plain, rank_aware or elastic
    config: str
    start: int
    count: int
    rank: int = 0
    world_size: int = 1
    total: int = 0
    base_seed: int = 0
    epoch: int = 0

    @property
    def ids(self) -> range:
        return range(self.start, self.start + self.count)


def make_jobs() -> list[Job]:
    """The pool: every mode and config, small and huge ids, several ranks and epochs."""
    rng = random.Random(20240601)
    jobs: list[Job] = []
    for index in range(48):
        mode = ("plain", "rank_aware", "elastic")[index % 3]
        config = sorted(CONFIGS)[index % len(CONFIGS)]
        count = rng.randrange(500, 4000)
        if mode == "rank_aware":
            world_size = rng.choice([1, 2, 3, 8])
            rank = rng.randrange(world_size)
            total = count * world_size + rng.randrange(world_size)
            lo, hi = dpa.DistributedRangeSplitter(total, world_size).get_rank_range(rank)
            seed = rng.choice([0, 42, 2**40 + 7])
            jobs.append(Job(mode, config, lo, hi - lo, rank, world_size, total, seed))
            continue
        start = rng.choice([0, rng.randrange(10**6), 2**63 - 1000, 10**20 + rng.randrange(10**6)])
        seed, epoch = (rng.choice([0, 7, 2**33]), rng.randrange(5)) if mode == "elastic" else (0, 0)
        jobs.append(Job(mode, config, start, count, base_seed=seed, epoch=epoch))
    return jobs


# --------------------------------------------------------------------------- the APIs


def per_sample(job: Job, backend: str | None = None) -> Iterator[dict[str, Any]]:
    config = CONFIGS[job.config]
    for sample_id in job.ids:
        if job.mode == "plain":
            params = dpa.gen_augmentation_params(sample_id, config, backend=backend)
        elif job.mode == "rank_aware":
            params = dpa.gen_distributed_augmentation_params(
                sample_id, job.rank, config, job.base_seed, job.world_size, backend=backend
            )
        else:
            params = dpa.gen_elastic_augmentation_params(
                sample_id, config, job.base_seed, job.epoch, backend=backend
            )
        yield {**params, "sample_id": sample_id}


def batch(job: Job, workers: int = 1, backend: str | None = None) -> list[dict[str, Any]]:
    config = CONFIGS[job.config]
    if job.mode == "plain":
        made = dpa.generate_batch(job.ids, config, workers=workers, backend=backend)
    elif job.mode == "rank_aware":
        made = dpa.generate_distributed_batch(
            job.ids, job.rank, job.world_size, config, job.base_seed, workers=workers,
            backend=backend,
        )  # fmt: skip
    else:
        made = dpa.generate_elastic_batch(
            job.ids, config, job.base_seed, job.epoch, workers=workers, backend=backend
        )
    return made.to_dicts()


def stream(job: Job, chunk_size: int | None) -> Iterator[dict[str, Any]]:
    config = CONFIGS[job.config]
    if job.mode == "plain":
        items = dpa.stream_augmentation_chain(job.count, config, chunk_size, start_id=job.start)
    elif job.mode == "rank_aware":  # this rank's share, found by the stream itself
        items = dpa.stream_distributed_augmentation_chain(
            job.total, job.rank, job.world_size, config, job.base_seed, chunk_size
        )
    else:
        items = dpa.stream_elastic_augmentation_range(
            job.start, job.start + job.count, config, job.base_seed, job.epoch, chunk_size
        )
    for item in items:
        yield from (item if chunk_size else [item])


def batches(job: Job) -> Iterator[dict[str, Any]]:
    scheme = scheme_for_mode(
        job.mode, base_seed=job.base_seed, rank=job.rank, world_size=job.rank + 1, epoch=job.epoch
    )
    end = job.start + job.count
    config = CONFIGS[job.config]
    for made in dpa.iter_batches(job.start, end, config, 777, scheme=scheme, workers=2):
        yield from made.to_dicts()


APIS: dict[str, Callable[[Job], Iterable[dict[str, Any]]]] = {
    "per_sample": per_sample,
    "per_sample_python": lambda job: per_sample(job, backend="python"),
    "batch": batch,
    "batch_2_workers": lambda job: batch(job, workers=2),
    "batch_python": lambda job: batch(job, backend="python"),
    "stream": lambda job: stream(job, None),
    "stream_chunks": lambda job: stream(job, 256),
    "iter_batches_2_workers": batches,
}


def digest(records: Iterable[dict[str, Any]]) -> str:
    """SHA-256 of the records' ids, exact values (float.hex) and hashes, in order."""
    h = hashlib.sha256()
    for r in records:
        values = "|".join(float(r[name]).hex() for name in FIELDS)
        h.update(f"{r['sample_id']}|{values}|{r['hash']}\n".encode())
    return h.hexdigest()


def work(worker: int, seconds: float) -> list[Result]:
    """Run jobs for ``seconds`` (every API at least once), in this worker's own order."""
    jobs = make_jobs()
    names = sorted(APIS)
    rng = random.Random(worker)
    deadline = time.monotonic() + seconds
    results: list[Result] = []
    step = 0
    while step < len(names) or time.monotonic() < deadline:
        index = rng.randrange(len(jobs))
        name = names[(worker + step) % len(names)]
        results.append((index, name, digest(APIS[name](jobs[index])), jobs[index].count))
        step += 1
    return results


@pytest.mark.slow
def test_concurrent_generation_matches_serial(record_property: Any) -> None:
    seconds = float(os.environ.get("DPA_LOAD_SECONDS", "60"))
    jobs = make_jobs()
    expected = [digest(batch(job, backend="python")) for job in jobs]  # serial reference

    spawn = multiprocessing.get_context("spawn")  # not fork: this process has threads
    with (
        concurrent.futures.ProcessPoolExecutor(PROCESSES, mp_context=spawn) as processes,
        concurrent.futures.ThreadPoolExecutor(THREADS) as threads,
    ):
        futures = [processes.submit(work, 1000 + p, seconds) for p in range(PROCESSES)]
        futures += [threads.submit(work, t, seconds) for t in range(THREADS)]
        results = [r for future in futures for r in future.result()]

    wrong = [(jobs[i], api) for i, api, found, _ in results if found != expected[i]]
    assert not wrong, f"{len(wrong)} of {len(results)} results differ: {wrong[:5]}"
    assert {api for _, api, _, _ in results} == set(APIS)
    assert {jobs[i].mode for i, _, _, _ in results} == {"plain", "rank_aware", "elastic"}
    checked = sum(count for *_, count in results)
    record_property("samples_checked", checked)
    print(
        f"\nload: {checked:,} samples checked in {len(results):,} results from "
        f"{THREADS} threads and {PROCESSES} processes over {seconds:g} s "
        f"(backend {dpa.backend()})"
    )
