"""The benchmarks themselves: dpa's APIs on fixed workloads, and the suites.

Every benchmark generates the parameters of consecutive ids from
``config.start_id`` with ``config.augmentation`` on the default backend (or
``config.backend``), and keeps each iteration's time (see
:func:`~dpa.benchmark.benchmark_function`).

The distributed benchmark starts ``max_processes`` worker processes once
(``spawn``), waits until they are ready, then for each process count ``p``
times rounds in which ranks ``0 .. p-1`` each generate their share of the
workload (:func:`dpa.generate_distributed_batch` over their
:class:`~dpa.DistributedRangeSplitter` range). A round's time runs from sending
the work to the last answer; its coordination overhead is that time less the
slowest rank's own generation time. Efficiency is throughput with ``p``
processes over ``p`` times that with one.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import _backends
from .._config import AugmentationConfig
from .._distributed import DistributedRangeSplitter, generate_distributed_batch
from .._generate import (
    gen_augmentation_params,
    generate_batch,
    iter_batches,
    stream_augmentation_chain as _stream,
)
from .compare import ComparisonReport, build_comparison
from .measure import get_system_info, measure_memory
from .results import (
    BenchmarkConfig,
    BenchmarkResult,
    BenchmarkRun,
    benchmark_function,
)

__all__ = [
    "SUITES",
    "WORKLOADS",
    "BenchmarkRunner",
    "ComparisonReport",
    "suite_items",
]

#: Samples per iteration of each workload at ``scale=1`` on the native backend.
WORKLOADS: dict[str, int] = {
    "per-sample": 50_000,
    "batch": 262_144,
    "batch-processing": 262_144,
    "stream": 131_072,
    "write-json": 32_768,
    "write-jsonl": 32_768,
    "write-parquet": 131_072,
    "distributed": 262_144,
    "backends": 65_536,
}

FILE_FORMATS = ("json", "jsonl", "parquet")

#: Named suites: the benchmark names they run (``{W}``: ``config.workers``,
#: ``{P}``: ``config.max_processes``).
SUITES: dict[str, tuple[str, ...]] = {
    "standard": (
        "per-sample",
        "batch-1t",
        "batch-{W}t",
        "stream",
        "write-json",
        "write-jsonl",
        "write-parquet",
        "distributed-1p",
        "distributed-{P}p",
    ),
    "generation": ("per-sample", "batch-1t", "batch-{W}t"),
    "batch": ("batch-1t", "batch-{W}t", "batch-processing"),
    "streaming": ("stream",),
    "io": ("write-json", "write-jsonl", "write-parquet"),
    "distributed": ("distributed-1p", "distributed-{P}p"),
    "backends": ("backend-native", "backend-python"),
}

_PATTERNS = (
    "per-sample",
    "batch-Nt",
    "batch-processing",
    "stream",
    "write-json",
    "write-jsonl",
    "write-parquet",
    "distributed-Np",
    "backend-native",
    "backend-python",
)


def suite_items(suite: str, config: BenchmarkConfig | None = None) -> list[str]:
    """The benchmark names a suite runs: a suite name, or benchmark names separated
    by commas (``"per-sample,batch-1t"``). ValueError names what is unknown.

    Example:
        >>> suite_items("generation")
        ['per-sample', 'batch-1t', 'batch-2t']
        >>> suite_items("stream,batch-4t")
        ['stream', 'batch-4t']
    """
    config = config or BenchmarkConfig()
    names: list[str] = []
    for part in (p.strip() for p in suite.split(",")):
        if not part:
            continue
        if part in SUITES:
            expanded = [
                n.replace("{W}", str(config.workers)).replace("{P}", str(config.max_processes))
                for n in SUITES[part]
            ]
        elif _parse_item(part) is not None:
            expanded = [part]
        else:
            raise ValueError(
                f"unknown benchmark suite or benchmark {part!r}; suites: "
                f"{', '.join(SUITES)}; benchmarks: {', '.join(_PATTERNS)} (N: a count)"
            )
        names.extend(n for n in expanded if n not in names)
    if not names:
        raise ValueError("no benchmark selected: the suite is empty")
    return names


def _parse_item(name: str) -> tuple[str, int] | None:
    """(kind, count) of a benchmark name, or None when it is not one."""
    if name in ("per-sample", "stream", "batch-processing", "backend-native", "backend-python"):
        return (name, 1)
    if name.startswith("write-") and name[6:] in FILE_FORMATS:
        return (name, 1)
    for prefix, suffix in (("batch-", "t"), ("distributed-", "p")):
        middle = name[len(prefix) : -len(suffix)]
        if name.startswith(prefix) and name.endswith(suffix) and middle.isdigit():
            count = int(middle)
            return (prefix.rstrip("-"), count) if count >= 1 else None
    return None


# --------------------------------------------------------------------------- the runner


Progress = Callable[[int, int, str, "list[BenchmarkResult] | None"], None]


class BenchmarkRunner:
    """Runs dpa's benchmarks under one :class:`BenchmarkConfig`.

    Example:
        >>> runner = BenchmarkRunner(BenchmarkConfig(iterations=3, warmup=0, scale=0.01))
        >>> result = runner.benchmark_generation(api="batch")
        >>> result.iterations, result.samples_per_iteration
        (3, 2621)
    """

    def __init__(self, config: BenchmarkConfig | None = None) -> None:
        self.config = config or BenchmarkConfig()
        self.backend = _backends.resolve(self.config.backend)

    # ----------------------------------------------------------------- sizes

    def samples(self, workload: str, backend: str | None = None) -> int:
        """Samples per iteration of ``workload`` (a key of :data:`WORKLOADS`)."""
        base = WORKLOADS[workload] * self.config.scale
        if (backend or self.backend) == "python":
            base *= self.config.python_fraction
        return max(64, round(base))

    @property
    def _ids_start(self) -> int:
        return self.config.start_id

    def _time(
        self,
        name: str,
        func: Callable[[], Any],
        samples: int,
        calls: int,
        description: str,
        extra: Mapping[str, Any] | None = None,
    ) -> BenchmarkResult:
        result = benchmark_function(
            func,
            iterations=self.config.iterations,
            warmup=self.config.warmup,
            name=name,
            samples_per_iteration=samples,
            calls_per_iteration=calls,
            memory=self.config.measure_memory,
            description=description,
        )
        if extra:
            result = replace(result, extra={**result.extra, **extra})
        return result

    # ----------------------------------------------------------------- benchmarks

    def benchmark_generation(
        self,
        api: str = "batch",
        workers: int = 1,
        num_samples: int | None = None,
        name: str | None = None,
    ) -> BenchmarkResult:
        """``api="per-sample"``: one :func:`dpa.gen_augmentation_params` call per id;
        ``api="batch"``: one :func:`dpa.generate_batch` call on ``workers`` threads."""
        config, first = self.config.augmentation, self._ids_start
        backend = self.config.backend
        if api == "per-sample":
            n = num_samples or self.samples("per-sample")
            ids = range(first, first + n)

            def per_sample() -> None:
                gen = gen_augmentation_params
                for i in ids:
                    gen(i, config, backend=backend)

            description = "gen_augmentation_params, one call per sample"
            return self._time(name or "per-sample", per_sample, n, n, description)
        if api != "batch":
            raise ValueError(f"api must be 'per-sample' or 'batch', got {api!r}")
        n = num_samples or self.samples("batch")
        ids = range(first, first + n)

        def batch() -> None:
            generate_batch(ids, config, workers=workers, backend=backend)

        threads = "thread" if workers == 1 else "threads"
        description = f"generate_batch, {workers} {threads}"
        return self._time(
            name or f"batch-{workers}t", batch, n, 1, description, {"workers": workers}
        )

    def benchmark_streaming(
        self, num_samples: int | None = None, chunk_size: int | None = None
    ) -> BenchmarkResult:
        """:func:`dpa.stream_augmentation_chain` consumed whole: one dict per sample
        (``chunk_size=None``) or lists of ``chunk_size`` dicts."""
        n = num_samples or self.samples("stream")
        config, first = self.config.augmentation, self._ids_start

        def stream() -> None:
            for _ in _stream(n, config, chunk_size=chunk_size, start_id=first):
                pass

        calls = n if chunk_size is None else -(-n // chunk_size)
        what = "one dict per sample" if chunk_size is None else f"chunks of {chunk_size}"
        description = f"stream_augmentation_chain, {what}"
        return self._time("stream", stream, n, calls, description)

    def benchmark_batch_processing(
        self,
        num_samples: int | None = None,
        batch_size: int | None = None,
        workers: int = 1,
        strategy: str = "sequential",
    ) -> BenchmarkResult:
        """Batches of ``batch_size`` over a range: :class:`dpa._batch.BatchProcessor`'s
        ``process_range`` where that module is installed, else :func:`dpa.iter_batches`."""
        n = num_samples or self.samples("batch-processing")
        size = batch_size or self.config.batch_size
        config, first, backend = self.config.augmentation, self._ids_start, self.config.backend
        processor = _batch_processor(strategy, size)
        if processor is not None:

            def run() -> None:
                for _ in processor.process_range(
                    first, first + n, config, workers=workers, backend=backend
                ):
                    pass

            via = f"BatchProcessor({strategy}).process_range"
        else:

            def run() -> None:
                for _ in iter_batches(
                    first, first + n, config, size, workers=workers, backend=backend
                ):
                    pass

            via = "iter_batches"
        description = f"{via}, batches of {size}, {workers} thread(s)"
        calls = -(-n // size)
        extra = {"via": via, "batch_size": size, "workers": workers}
        return self._time("batch-processing", run, n, calls, description, extra)

    def benchmark_io(self, fmt: str, num_samples: int | None = None) -> BenchmarkResult | None:
        """:func:`dpa._io.write_range` of the workload to a ``fmt`` file (None for
        parquet without pyarrow)."""
        from .._io import write_range

        if fmt not in FILE_FORMATS:
            raise ValueError(f"unknown file format {fmt!r}; choose one of {FILE_FORMATS}")
        if fmt == "parquet":
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                return None
        n = num_samples or self.samples(f"write-{fmt}")
        config, first, size = self.config.augmentation, self._ids_start, self.config.batch_size
        folder = Path(tempfile.mkdtemp(prefix="dpa-bench-", dir=self.config.scratch_dir))
        target = folder / f"bench.{fmt}"

        def write() -> None:
            write_range(target, first, first + n, config, format=fmt, batch_size=size)

        try:
            result = self._time(
                f"write-{fmt}", write, n, 1, f"write_range to a .{fmt} file (statistics on)"
            )
            return replace(result, extra={**result.extra, "file_bytes": target.stat().st_size})
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def benchmark_backends(self, num_samples: int | None = None) -> dict[str, BenchmarkResult]:
        """:func:`dpa.generate_batch` on one thread, native backend then python, on the
        same ids (the python backend's workload size); native only where built."""
        n = num_samples or self.samples("backends", "python")
        config, ids = self.config.augmentation, range(self._ids_start, self._ids_start + n)
        results: dict[str, BenchmarkResult] = {}
        for name in ("native", "python"):
            if name == "native" and not _backends.native_available():
                continue

            def run(backend: str = name) -> None:
                generate_batch(ids, config, backend=backend)

            description = f"generate_batch, 1 thread, {name} backend"
            results[f"backend-{name}"] = self._time(
                f"backend-{name}", run, n, 1, description, {"backend": name}
            )
        if len(results) == 2:
            native, python = results["backend-native"], results["backend-python"]
            if native.throughput and python.throughput:
                speedup = native.throughput / python.throughput
                results["backend-native"] = replace(
                    native, extra={**native.extra, "speedup_vs_python": speedup}
                )
        return results

    def benchmark_distributed(
        self,
        max_processes: int | None = None,
        num_samples: int | None = None,
        process_counts: Sequence[int] | None = None,
    ) -> dict[str, BenchmarkResult]:
        """``distributed-{p}p`` for ``p`` in ``process_counts`` (default 1 ..
        ``max_processes``): worker processes each generating their rank's share."""
        if process_counts is None:
            process_counts = range(1, (max_processes or self.config.max_processes) + 1)
        counts = sorted(set(process_counts))
        if not counts or counts[0] < 1:
            raise ValueError(f"process counts must be >= 1, got {counts}")
        n = num_samples or self.samples("distributed")
        measure_one = 1 not in counts
        with _RankPool(max(counts)) as pool:
            results: dict[str, BenchmarkResult] = {}
            for p in ([1] if measure_one else []) + counts:
                results[f"distributed-{p}p"] = self._distributed_round(pool, p, n)
        base = results["distributed-1p"].throughput
        out: dict[str, BenchmarkResult] = {}
        for p in counts:
            result = results[f"distributed-{p}p"]
            rate = result.throughput
            efficiency = rate / (p * base) if rate and base else None
            out[result.name] = replace(
                result, extra={**result.extra, "distributed_efficiency": efficiency}
            )
        return out

    def _distributed_round(self, pool: _RankPool, processes: int, n: int) -> BenchmarkResult:
        ranges = DistributedRangeSplitter(n, processes).get_all_ranges()
        first = self._ids_start
        work = [
            (first + start, first + end, rank, processes)
            for rank, (start, end) in enumerate(ranges)
        ]
        job = (self.config.augmentation.to_dict(), self.backend)
        for _ in range(self.config.warmup):
            pool.round(work, job, memory=False)
        times, cpu, overhead = [], [], []
        for _ in range(self.config.iterations):
            wall, replies = pool.round(work, job, memory=False)
            times.append(wall)
            cpu.append(math.fsum(r[1] for r in replies))
            overhead.append(max(0.0, wall - max(r[0] for r in replies)))
        peak = None
        if self.config.measure_memory:
            _, replies = pool.round(work, job, memory=True)
            peaks = [r[2] for r in replies if r[2] is not None]
            peak = max(peaks) if peaks else None
        procs = "process" if processes == 1 else "processes"
        return BenchmarkResult(
            name=f"distributed-{processes}p",
            times=tuple(times),
            samples_per_iteration=n,
            calls_per_iteration=1,
            cpu_times=tuple(cpu),
            memory_peak_mb=peak,
            description=f"generate_distributed_batch, {processes} {procs}, one rank each",
            extra={
                "processes": processes,
                "rank_coordination_overhead_ms": 1000 * math.fsum(overhead) / len(overhead),
                "coordination_overhead_seconds": overhead,
            },
        )

    # ----------------------------------------------------------------- suites

    def run_item(self, name: str) -> list[BenchmarkResult]:
        """Run one benchmark by name (see :func:`suite_items`)."""
        parsed = _parse_item(name)
        if parsed is None:
            raise ValueError(f"unknown benchmark {name!r}")
        kind, count = parsed
        if kind == "per-sample":
            return [self.benchmark_generation(api="per-sample")]
        if kind == "batch":
            return [self.benchmark_generation(api="batch", workers=count)]
        if kind == "batch-processing":
            return [self.benchmark_batch_processing()]
        if kind == "stream":
            return [self.benchmark_streaming()]
        if kind.startswith("write-"):
            result = self.benchmark_io(kind[6:])
            return [] if result is None else [result]
        if kind == "distributed":
            return list(self.benchmark_distributed(process_counts=[count]).values())
        results = self.benchmark_backends()
        return [results[kind]] if kind in results else []

    def run_suite(self, suite: str = "standard", progress: Progress | None = None) -> BenchmarkRun:
        """Run a suite (see :data:`SUITES`, or names separated by commas); the
        distributed benchmarks of a suite share one pool of processes, and
        ``backend-native`` / ``backend-python`` one measurement."""
        items = suite_items(suite, self.config)
        steps: list[tuple[str, Callable[[], list[BenchmarkResult]]]] = []
        distributed = [n for n in items if n.startswith("distributed-")]
        backends = [n for n in items if n.startswith("backend-")]
        for name in items:
            if name in distributed:
                if name == distributed[0]:
                    counts = [int(n[len("distributed-") : -1]) for n in distributed]
                    steps.append((", ".join(distributed), self._distributed_step(counts)))
            elif name in backends:
                if name == backends[0]:
                    steps.append((", ".join(backends), self._backends_step(backends)))
            else:
                steps.append((name, lambda name=name: self.run_item(name)))  # type: ignore[misc]
        results: list[BenchmarkResult] = []
        for index, (label, step) in enumerate(steps):
            if progress is not None:
                progress(index, len(steps), label, None)
            done = step()
            results.extend(done)
            if progress is not None:
                progress(index, len(steps), label, done)
        return BenchmarkRun.of(
            results,
            system=get_system_info(),
            config=self.config.to_dict(),
            suite=suite,
        )

    def _distributed_step(self, counts: list[int]) -> Callable[[], list[BenchmarkResult]]:
        return lambda: list(self.benchmark_distributed(process_counts=counts).values())

    def _backends_step(self, names: list[str]) -> Callable[[], list[BenchmarkResult]]:
        def step() -> list[BenchmarkResult]:
            results = self.benchmark_backends()
            return [results[n] for n in names if n in results]

        return step

    # ----------------------------------------------------------------- configurations

    def compare_configurations(
        self,
        configurations: Mapping[str, BenchmarkConfig | AugmentationConfig],
        workload: str = "batch-1t",
        *,
        threshold: float = 0.05,
        confidence: float = 0.95,
    ) -> ComparisonReport:
        """Run ``workload`` (a benchmark name) under each configuration; the first is
        the baseline. An :class:`AugmentationConfig` stands for this runner's
        config with that augmentation. Per-metric changes against the baseline,
        a significance verdict for throughput (:func:`detect_regressions`) and
        recommendations."""
        if not configurations:
            raise ValueError("compare_configurations needs at least one configuration")
        results: dict[str, BenchmarkResult] = {}
        for label, cfg in configurations.items():
            if isinstance(cfg, AugmentationConfig):
                cfg = self.config.with_(augmentation=cfg)
            measured = BenchmarkRunner(cfg).run_item(workload)
            if not measured:
                raise ValueError(f"{workload!r} cannot run under {label!r} (a missing extra?)")
            results[label] = replace(measured[0], name=label)
        return build_comparison(workload, results, threshold, confidence)


# --------------------------------------------------------------------------- helpers


def _batch_processor(strategy: str, batch_size: int) -> Any:
    """dpa._batch's BatchProcessor where that module is there (it is optional here)."""
    try:
        from .. import _batch as batch_module

        processor_class = batch_module.BatchProcessor
        config_class = batch_module.BatchConfig
    except (ImportError, AttributeError):
        return None
    return processor_class(strategy, config_class(strategy, batch_size=batch_size))


def _rank_worker(conn: Any) -> None:
    """A distributed benchmark's worker process: generate what it is sent."""
    from .._config import AugmentationConfig as Config

    configs: dict[str, Config] = {}
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        if message == "ping":
            conn.send("ready")
            continue
        (start, end, rank, world), (config_dict, backend), memory = message
        key = repr(config_dict)
        config = configs.get(key)
        if config is None:
            config = configs[key] = Config.from_dict(config_dict)
        ids = range(start, end)
        peak = None
        if memory:
            with measure_memory() as usage:
                generate_distributed_batch(ids, rank, world, config, backend=backend)
            peak = usage.traced_peak_mb
            conn.send((0.0, 0.0, peak))
            continue
        c0 = time.process_time()
        t0 = time.perf_counter()
        generate_distributed_batch(ids, rank, world, config, backend=backend)
        t1 = time.perf_counter()
        c1 = time.process_time()
        conn.send((t1 - t0, c1 - c0, peak))


class _RankPool:
    """``size`` worker processes (spawn), one pipe each; closed on exit."""

    #: Seconds to wait for a worker's answer before giving up.
    TIMEOUT = 600.0

    def __init__(self, size: int) -> None:
        self.size = size
        self.pipes: list[Any] = []
        self.processes: list[Any] = []

    def __enter__(self) -> _RankPool:
        context = multiprocessing.get_context("spawn")
        try:
            for _ in range(self.size):
                ours, theirs = context.Pipe()
                process = context.Process(target=_rank_worker, args=(theirs,), daemon=True)
                process.start()
                theirs.close()
                self.pipes.append(ours)
                self.processes.append(process)
            for pipe in self.pipes:  # wait until every worker has imported dpa
                pipe.send("ping")
            for pipe in self.pipes:
                self._receive(pipe)
        except BaseException:
            self.__exit__()
            raise
        return self

    def _receive(self, pipe: Any) -> Any:
        if not pipe.poll(self.TIMEOUT):
            raise RuntimeError("distributed benchmark: a worker process did not answer")
        try:
            return pipe.recv()
        except (EOFError, OSError):
            raise RuntimeError(
                "distributed benchmark: a worker process exited (a script that runs it needs "
                "the `if __name__ == '__main__':` guard, as for any multiprocessing spawn)"
            ) from None

    def round(
        self, work: Iterable[tuple[int, int, int, int]], job: tuple[Any, str], memory: bool
    ) -> tuple[float, list[tuple[float, float, float | None]]]:
        """Send each rank its ids, wait for all; the wall time and the answers."""
        work = list(work)
        pipes = self.pipes[: len(work)]
        t0 = time.perf_counter()
        for pipe, item in zip(pipes, work, strict=True):
            pipe.send((item, job, memory))
        replies = [self._receive(pipe) for pipe in pipes]
        return time.perf_counter() - t0, replies

    def __exit__(self, *exc: object) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError, ValueError):
                pipe.send(None)
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
        for pipe in self.pipes:
            pipe.close()
        self.pipes, self.processes = [], []
