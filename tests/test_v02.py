"""dpa.v02, DPA v0.2's API on dpa's engine: its names and signatures (as v0.2.1 has
them, recorded in data/v02/api.json), record shapes, numbers (the known answers),
messages, exceptions and statistics; and what it keeps of dpa's fixes."""

from __future__ import annotations

import inspect
import json
import random
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import dpa
import dpa.v02 as v02
from dpa.v02 import _engine, batch, benchmark, distributed

API = json.loads((Path(__file__).parent / "data" / "v02" / "api.json").read_text())
MODULES = {"dpa.v02": v02, "dpa.v02.distributed": distributed}
MODULES |= {"dpa.v02.batch": batch, "dpa.v02.benchmark": benchmark}
PARAMS = ("rotation", "brightness", "noise", "scale", "contrast")


# --------------------------------------------------------------------------- names


def _run(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_import_dpa_does_not_import_the_legacy_layer() -> None:
    code = "import sys, dpa; dpa.gen_augmentation_params(0); print('dpa.v02' in sys.modules)"
    assert _run(code) == "False"


def test_importing_the_layer_loads_no_submodule_until_a_name_is_used() -> None:
    code = "import sys, dpa.v02; print([m for m in sys.modules if m.startswith('dpa.v02.')])"
    assert _run(code) == "[]"


@pytest.mark.parametrize("module", sorted(API))
def test_every_v02_name_is_there(module: str) -> None:
    assert sorted(API[module]) == sorted(n for n in MODULES[module].__all__ if n != "__version__")


def _parameters(value: Any) -> list[list[Any]]:
    return [
        [p.name, p.kind.name, None if p.default is p.empty else repr(p.default)]
        for p in inspect.signature(value).parameters.values()
    ]


@pytest.mark.parametrize(
    ("module", "name"),
    [(m, n) for m, names in sorted(API.items()) for n, p in sorted(names.items()) if p],
)
def test_signatures_are_v02s(module: str, name: str) -> None:
    value = getattr(MODULES[module], name)
    expected = API[module][name]
    if name == "BatchStrategy":  # an enum: its members are what matter
        assert [s.name for s in value] == [
            "SEQUENTIAL",
            "ROUND_ROBIN",
            "MEMORY_OPTIMIZED",
            "ADAPTIVE",
        ]
    elif name == "BatchConfig":  # v0.2's fields, then dpa's round-robin lanes
        assert _parameters(value) == [*expected, ["num_lanes", "POSITIONAL_OR_KEYWORD", "1"]]
    else:
        assert _parameters(value) == expected


def test_dir_and_unknown_names() -> None:
    assert "stream_augmentation_chain" in dir(v02)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = v02.nothing
    assert v02.__version__ == "0.2.1"


def test_the_engine_is_dpas_public_api() -> None:
    for name in _engine.__all__:
        assert getattr(_engine, name) is getattr(dpa, name), name


def test_v02s_modules_share_their_names() -> None:
    assert v02.BatchProcessor is batch.BatchProcessor
    assert v02.DistributedRangeSplitter is distributed.DistributedRangeSplitter
    assert v02.PerformanceProfiler is benchmark.PerformanceProfiler
    assert v02.BenchmarkRunner is benchmark.BenchmarkRunner
    assert v02.AugmentationConfig is dpa.AugmentationConfig is distributed.AugmentationConfig
    assert v02.BatchStrategy is dpa.BatchStrategy


# --------------------------------------------------------------------------- numbers


def test_known_answers(vectors: dict[str, Any], configs: dict[str, dpa.AugmentationConfig]) -> None:
    for case in vectors["core"]:
        config = configs[case["config"]]
        assert v02.gen_augmentation_params(case["seed_id"], config) == case["params"]
        digest = v02.gen_augmentation_seed(case["seed_id"], config.augmentation_depth)
        assert digest == case["params"]["hash"]
        streamed = next(v02.stream_augmentation_range(case["seed_id"], case["seed_id"] + 1, config))
        assert streamed == case["params"]
    assert [v02.fib(n) for n in range(len(vectors["fib"]))] == vectors["fib"]


def test_known_answers_rank_aware(
    vectors: dict[str, Any], configs: dict[str, dpa.AugmentationConfig]
) -> None:
    for case in vectors["distributed"]:
        config = configs[case["config"]]
        sample, rank, world_size = case["sample_id"], case["rank"], case["world_size"]
        keys = {"config": config, "base_seed": case["base_seed"]}
        params = distributed.gen_distributed_augmentation_params(
            sample, rank, world_size=world_size, **keys
        )
        assert params == case["params"]
        streamed = distributed.stream_distributed_augmentation_range(
            sample, sample + 1, rank, world_size, **keys
        )
        assert list(streamed) == [case["params"]]
        seeds = distributed.RankAwareSeedGenerator(case["base_seed"], world_size)
        digest = seeds.generate_seed(sample, rank, config.augmentation_depth)
        assert digest == case["params"]["hash"]


def test_known_splits(vectors: dict[str, Any]) -> None:
    for case in vectors["splits"]:
        splitter = distributed.DistributedRangeSplitter(case["total"], case["world_size"])
        assert splitter.get_all_ranges() == [tuple(r) for r in case["ranges"]]
        assert splitter.validate_ranges()


def test_every_entry_point_gives_the_same_records() -> None:
    config = v02.get_preset("aggressive")
    listed = v02.generate_augmentation_chain(300, config)
    assert list(v02.stream_augmentation_chain(300, config)) == listed
    chunks = v02.stream_augmentation_chain(300, config, chunk_size=7)
    assert [p for chunk in chunks for p in chunk] == listed
    assert list(v02.stream_augmentation_range(100, 300, config)) == listed[100:]
    assert [v02.gen_augmentation_params(i, config) for i in range(300)] == listed
    settings = v02.BatchConfig(v02.BatchStrategy.SEQUENTIAL, batch_size=64)
    batched = v02.stream_augmentation_chain(300, config, batch_config=settings)
    assert [p for b in batched for p in b] == listed


# --------------------------------------------------------------------------- records


def test_records_have_v02s_keys_in_v02s_order() -> None:
    keys = [*PARAMS, "hash"]
    assert list(v02.gen_augmentation_params(5)) == keys
    assert list(next(v02.stream_augmentation_chain(3))) == keys
    assert list(next(v02.stream_augmentation_chain(3, chunk_size=2))[1]) == keys
    ranked = next(distributed.stream_distributed_augmentation_chain(10, 1, 2, base_seed=3))
    assert list(ranked) == [*keys, "rank"]
    assert list(v02.gen_augmentation_params(5, rank=0)) == [*keys, "rank"]


def test_a_rank_stream_of_stream_augmentation_chain_uses_start_id_as_base_seed() -> None:
    stream = v02.stream_augmentation_chain(10, start_id=7, rank=1, world_size=2)
    expected = distributed.stream_distributed_augmentation_chain(10, 1, 2, base_seed=7)
    assert list(stream) == list(expected)


def test_rank_with_gen_augmentation_params_is_rank_aware_at_world_size_one() -> None:
    assert v02.gen_augmentation_params(4, rank=0) == (
        distributed.gen_distributed_augmentation_params(4, 0, base_seed=0, world_size=1)
    )
    with pytest.raises(ValueError, match=r"rank \(1\) must be < world_size \(1\)"):
        v02.gen_augmentation_params(4, rank=1)


# --------------------------------------------------------------------------- messages

MESSAGES = [
    (lambda: v02.gen_augmentation_params(-1), "seed_id must be non-negative"),
    (lambda: v02.gen_augmentation_seed(-1), "seed_id must be non-negative"),
    (lambda: v02.gen_augmentation_seed(0, 0), "augmentation_depth must be >= 1"),
    (lambda: v02.fib(-1), "n must be non-negative"),
    (lambda: v02.get_preset("wild"), "Unknown preset 'wild'. Available: ['mild', 'moderate', "),
    (lambda: v02.generate_augmentation_chain(-1), "num_samples must be non-negative"),
    (lambda: next(v02.stream_augmentation_chain(-1)), "num_samples must be non-negative"),
    (lambda: next(v02.stream_augmentation_chain(5, start_id=-1)), "start_id must be non-negative"),
    (lambda: next(v02.stream_augmentation_chain(5, chunk_size=0)), "chunk_size must be positive"),
    (lambda: next(v02.stream_augmentation_chain(5, rank=0)), "Both rank and world_size must be"),
    (lambda: next(v02.stream_augmentation_chain(5, rank=4, world_size=4)), "rank (4) must be < "),
    (
        lambda: next(v02.stream_augmentation_chain(5, chunk_size=2, batch_config=_sequential())),
        "chunk_size and batch_config are mutually exclusive",
    ),
    (lambda: next(v02.stream_augmentation_range(5, 3)), "end_id must be >= start_id"),
    (lambda: next(v02.stream_augmentation_range(-1, 3)), "start_id must be non-negative"),
    (lambda: v02.generator_to_list(iter([]), max_items=-1), "max_items must be non-negative"),
    (lambda: v02.create_streaming_metadata(buffer_size=0), "buffer_size must be positive"),
    (lambda: v02.create_streaming_progress(estimated_total=-1), "estimated_total must be non-"),
    (lambda: v02.estimate_memory_usage(-1), "num_samples must be non-negative"),
    (lambda: v02.estimate_optimal_batch_size(safety_margin=1), "safety_margin must be between"),
    (lambda: distributed.RankAwareSeedGenerator(base_seed=-1), "base_seed must be non-negative"),
    (lambda: distributed.RankAwareSeedGenerator(world_size=0), "world_size must be >= 1"),
    (lambda: distributed.RankAwareSeedGenerator(0, 4).generate_seed(0, 4), "rank (4) must be < "),
    (lambda: distributed.RankAwareSeedGenerator().generate_seed(-1, 0), "sample_id must be non-"),
    (lambda: distributed.gen_distributed_augmentation_params(0, -1), "rank must be non-negative"),
    (lambda: distributed.DistributedRangeSplitter(-1, 4), "total_samples must be non-negative"),
    (lambda: distributed.DistributedRangeSplitter(9, 4).get_rank_range(4), "rank (4) must be < "),
    (
        lambda: distributed.DistributedRangeSplitter(100, 4).get_rank_for_sample(100),
        "sample_id (100) must be < total_samples (100)",
    ),
    (
        lambda: next(distributed.stream_distributed_augmentation_range(0, 9, 0, 1, chunk_size=-1)),
        "chunk_size must be positive",
    ),
]


def _sequential() -> batch.BatchConfig:
    return batch.BatchConfig(batch.BatchStrategy.SEQUENTIAL, batch_size=2)


@pytest.mark.parametrize(("call", "message"), MESSAGES)
def test_v02s_messages(call: Any, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        call()
    assert str(caught.value).startswith(message)


def test_streams_check_their_arguments_when_first_asked_as_v02s_generators_did() -> None:
    stream = v02.stream_augmentation_chain(-1)  # no error yet
    with pytest.raises(ValueError):
        next(stream)


# --------------------------------------------------------------------------- errors


def test_the_exception_hierarchy() -> None:
    for error in (
        v02.PartialWriteError,
        v02.StreamingIOError,
        v02.GeneratorExhaustionError,
        v02.ResourceCleanupError,
    ):
        assert issubclass(error, v02.StreamingError)
    for error in (
        distributed.InvalidRankError,
        distributed.RangeSplittingError,
        distributed.SeedGenerationError,
    ):
        assert issubclass(error, distributed.DistributedError)
    for error in (
        benchmark.ProfilingError,
        benchmark.InvalidBenchmarkConfigError,
        benchmark.MeasurementError,
    ):
        assert issubclass(error, benchmark.BenchmarkError)
    for base in (v02.StreamingError, distributed.DistributedError, benchmark.BenchmarkError):
        assert issubclass(base, dpa.DPAError)
    assert issubclass(batch.MemoryLimitExceededError, dpa.MemoryLimitExceededError)
    assert batch.InvalidBatchConfigError is dpa.InvalidBatchConfigError
    assert v02.StreamingIOError.__module__ == "dpa.v02"
    assert benchmark.MeasurementError.__module__ == "dpa.v02.benchmark"
    error = v02.PartialWriteError("Test error", 42)
    assert (str(error), error.samples_written) == ("Test error", 42)


# --------------------------------------------------------------------------- statistics


def test_statistics_match_in_both_forms() -> None:
    records = v02.generate_augmentation_chain(200)
    listed = v02.compute_statistics(records)
    streamed = v02.compute_streaming_statistics(v02.list_to_generator(records))
    for name in PARAMS:
        for figure in ("mean", "stdev"):
            assert listed[name][figure] == pytest.approx(streamed[name][figure], abs=1e-12)
        assert listed[name]["count"] == streamed[name]["count"] == 200
        assert listed[name]["min"] == min(r[name] for r in records)


def test_statistics_of_nothing_are_zeros() -> None:
    zeros = {"mean": 0.0, "stdev": 0.0, "min": 0.0, "max": 0.0, "count": 0}
    assert v02.compute_streaming_statistics(iter([])) == dict.fromkeys(PARAMS, zeros)
    assert v02.compute_statistics([]) == dict.fromkeys(PARAMS, zeros)


def test_generator_to_list_takes_no_more_than_it_keeps() -> None:
    source = iter(range(10))
    assert v02.generator_to_list(source, max_items=3) == [0, 1, 2]
    assert next(source) == 3


# --------------------------------------------------------------------------- dpa's fixes


def test_the_global_random_state_is_left_alone() -> None:
    random.seed(1234)
    state = random.getstate()
    v02.generate_augmentation_chain(20)
    list(v02.stream_augmentation_chain(20, chunk_size=3))
    distributed.gen_distributed_augmentation_params(3, 1, world_size=2)
    assert random.getstate() == state


def test_threads_get_the_same_records() -> None:
    expected = v02.generate_augmentation_chain(500)
    results: list[list[dict[str, Any]]] = []

    def work() -> None:
        results.append(list(v02.stream_augmentation_chain(500)))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 4
