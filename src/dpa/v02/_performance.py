"""DPA v0.2's performance helpers of ``src.dpa``: a profiling decorator, a whole
benchmark of generation, streaming and batching, and advice from its results.

Example:
    >>> @profile_augmentation_generation
    ... def make(n):
    ...     return generate_augmentation_chain(n)
    >>> len(make(3)), len(make.get_profile_results())
    (3, 1)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ._batched import convert_stream_to_batches
from ._bench_core import PerformanceProfiler, benchmark_function
from ._engine import AugmentationConfig
from ._memory import MIB
from ._progress import get_current_memory_usage
from ._streams import generate_augmentation_chain, stream_augmentation_chain

__all__ = [
    "benchmark_augmentation_performance",
    "create_performance_profiler",
    "get_performance_recommendations",
    "profile_augmentation_generation",
]


def profile_augmentation_generation(
    func: Callable[..., Any] | None = None,
    *,
    enable_memory_tracking: bool = True,
    operation_name: str | None = None,
) -> Any:
    """Profile each call of a function (``@profile_augmentation_generation`` or
    ``@profile_augmentation_generation(operation_name=...)``). The wrapper's
    ``get_profile_results()`` lists each call's
    :class:`~dpa.v02.benchmark.ProfileResult`; ``_profiler`` is its profiler."""

    def decorator(function: Callable[..., Any]) -> Callable[..., Any]:
        profiler = PerformanceProfiler(enable_memory_tracking=enable_memory_tracking)
        name = operation_name or function.__name__
        results: list[Any] = []

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            profiler.start_profiling(name)
            try:
                return function(*args, **kwargs)
            finally:
                results.append(profiler.end_profiling(name))

        wrapper._profile_results = results  # type: ignore[attr-defined]
        wrapper.get_profile_results = lambda: results  # type: ignore[attr-defined]
        wrapper._profiler = profiler  # type: ignore[attr-defined]
        return wrapper

    return decorator if func is None else decorator(func)


def create_performance_profiler(
    enable_memory_tracking: bool = True, auto_report: bool = False
) -> PerformanceProfiler:
    """A new :class:`~dpa.v02.benchmark.PerformanceProfiler` (``auto_report`` is
    accepted and, as in v0.2, does nothing).

    Example:
        >>> create_performance_profiler().enable_memory_tracking
        True
    """
    return PerformanceProfiler(enable_memory_tracking=enable_memory_tracking)


def benchmark_augmentation_performance(
    num_samples: int,
    config: AugmentationConfig | None = None,
    iterations: int = 10,
    warmup_iterations: int = 2,
    include_streaming: bool = True,
    include_batch_processing: bool = True,
    verbose: bool = False,
) -> dict[str, Any]:
    """Benchmark generating ``num_samples`` samples as a list, as a stream and in
    batches (sequential and memory-optimized). ``warmup_iterations`` is accepted
    and, as in v0.2, unused (each benchmark warms up once).

    Returns ``{"generation": {...}, "streaming": {...}, "batch_processing":
    {"strategies", "best_strategy", "best_throughput"}, "system_info": {...}}``.
    """
    config = config or AugmentationConfig()

    def say(line: str) -> None:
        if verbose:
            print(line)

    say("Benchmarking parameter generation...")
    generation = benchmark_function(
        lambda: generate_augmentation_chain(num_samples, config=config), iterations=iterations
    )
    results: dict[str, Any] = {
        "generation": {
            "avg_time_seconds": generation.avg_time_seconds,
            "avg_time_ms": generation.avg_time_ms,
            "throughput_samples_per_second": num_samples / generation.avg_time_seconds,
            "min_time_ms": generation.min_time_ms,
            "max_time_ms": generation.max_time_ms,
            "std_dev_ms": generation.std_dev_seconds * 1000,
        }
    }
    if include_streaming:
        say("Benchmarking streaming operations...")
        streaming = benchmark_function(
            lambda: list(stream_augmentation_chain(num_samples, config=config)),
            iterations=iterations,
        )
        results["streaming"] = {
            "avg_time_seconds": streaming.avg_time_seconds,
            "avg_time_ms": streaming.avg_time_ms,
            "throughput_samples_per_second": num_samples / streaming.avg_time_seconds,
            "overhead_vs_generation_percent": (
                streaming.avg_time_seconds / generation.avg_time_seconds - 1
            )
            * 100,
        }
    if include_batch_processing:
        say("Benchmarking batch processing strategies...")
        strategies = {}
        for strategy in ("sequential", "memory_optimized"):

            def batches(name: str = strategy) -> list[Any]:
                stream = stream_augmentation_chain(num_samples, config=config)
                return list(convert_stream_to_batches(stream, batch_strategy=name))

            try:
                timing = benchmark_function(batches, iterations=max(1, iterations // 2))
            except Exception as exc:
                say(f"  {strategy}: failed with error: {exc}")
                continue
            strategies[strategy] = {
                "avg_time_seconds": timing.avg_time_seconds,
                "throughput_samples_per_second": num_samples / timing.avg_time_seconds,
            }
            rate = strategies[strategy]["throughput_samples_per_second"]
            say(f"  {strategy}: {rate:.1f} samples/sec")
        if strategies:
            best = max(strategies, key=lambda s: strategies[s]["throughput_samples_per_second"])
            results["batch_processing"] = {
                "strategies": strategies,
                "best_strategy": best,
                "best_throughput": strategies[best]["throughput_samples_per_second"],
            }
    results["system_info"] = {
        "num_samples": num_samples,
        "iterations": iterations,
        "config": config.to_dict(),
        "memory_usage_mb": get_current_memory_usage()["rss"] / MIB,
    }
    say("Benchmarking completed!")
    say(f"Generation: {results['generation']['throughput_samples_per_second']:.1f} samples/sec")
    if "streaming" in results:
        say(f"Streaming: {results['streaming']['throughput_samples_per_second']:.1f} samples/sec")
    if "batch_processing" in results:
        batching = results["batch_processing"]
        say(
            f"Best batch strategy: {batching['best_strategy']} "
            f"({batching['best_throughput']:.1f} samples/sec)"
        )
    return results


def get_performance_recommendations(
    benchmark_results: dict[str, Any],
    target_throughput: float | None = None,
    memory_limit_mb: int | None = None,
) -> list[str]:
    """Advice from the results of :func:`benchmark_augmentation_performance`.

    Example:
        >>> get_performance_recommendations({})
        ['Run benchmark_augmentation_performance() to get baseline metrics']
    """
    if "generation" not in benchmark_results:
        return ["Run benchmark_augmentation_performance() to get baseline metrics"]
    advice = []
    throughput = benchmark_results["generation"]["throughput_samples_per_second"]
    if target_throughput and throughput < target_throughput:
        advice.append(
            f"Current throughput ({throughput:.1f} samples/sec) is below target "
            f"({target_throughput:.1f} samples/sec) by "
            f"{target_throughput - throughput:.1f} samples/sec"
        )
        batching = benchmark_results.get("batch_processing")
        if batching and batching["best_throughput"] > throughput:
            gain = (batching["best_throughput"] - throughput) / throughput * 100
            advice.append(
                f"Use {batching['best_strategy']} batch processing "
                f"for {gain:.1f}% performance improvement"
            )
        advice.append("Consider using streaming with chunking for large datasets")
        advice.append("Profile individual augmentation operations to identify bottlenecks")
    system = benchmark_results.get("system_info", {})
    memory = system.get("memory_usage_mb", 0)
    if memory_limit_mb and memory > memory_limit_mb:
        advice.append(f"Current memory usage ({memory:.1f}MB) exceeds limit ({memory_limit_mb}MB)")
        advice.append(
            "Use stream_augmentation_chain_with_memory_limit() for memory-constrained processing"
        )
        advice.append("Consider memory-optimized batch processing strategy")
    if "streaming" in benchmark_results:
        overhead = benchmark_results["streaming"].get("overhead_vs_generation_percent", 0)
        if overhead > 10:
            advice.append(
                f"Streaming has {overhead:.1f}% overhead "
                "- consider batch processing for better performance"
            )
        elif overhead < 5:
            advice.append("Streaming has low overhead - good for memory-efficient processing")
    if system.get("config", {}).get("augmentation_depth", 10) > 15:
        advice.append("Consider reducing augmentation_depth for faster parameter generation")
    return advice or ["Performance looks good! No specific optimizations needed."]
