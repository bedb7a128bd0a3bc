"""dpa._batch._strategy: the strategies and their settings (BatchConfig), checked on
construction."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from dpa import BatchConfig, BatchProcessor, BatchStrategy, InvalidBatchConfigError

# --------------------------------------------------------------------------- BatchStrategy


def test_strategy_values() -> None:
    assert [s.value for s in BatchStrategy] == [
        "sequential",
        "round_robin",
        "memory_optimized",
        "adaptive",
    ]
    assert BatchStrategy.ROUND_ROBIN == "round_robin"


@pytest.mark.parametrize("name", ["round_robin", "ROUND_ROBIN", "Round_Robin"])
def test_strategy_strings_are_accepted(name: str) -> None:
    assert BatchConfig(name).strategy is BatchStrategy.ROUND_ROBIN
    assert BatchProcessor(name).strategy is BatchStrategy.ROUND_ROBIN


def test_unknown_strategy_names_the_choices() -> None:
    with pytest.raises(InvalidBatchConfigError, match=r"'fastest'.*sequential, round_robin"):
        BatchConfig("fastest")
    with pytest.raises(InvalidBatchConfigError, match="unknown batch strategy"):
        BatchProcessor("invalid_strategy")


@pytest.mark.parametrize("value", [3, None, b"sequential", ["sequential"]])
def test_strategy_of_the_wrong_type(value: Any) -> None:
    with pytest.raises(TypeError, match="strategy must be"):
        BatchConfig(value)


# --------------------------------------------------------------------------- BatchConfig


def test_config_defaults_and_v02_fields() -> None:
    config = BatchConfig(
        strategy=BatchStrategy.SEQUENTIAL, batch_size=32, max_memory_mb=1000, min_batch_size=1
    )
    assert config.strategy == BatchStrategy.SEQUENTIAL
    assert (config.batch_size, config.max_memory_mb, config.min_batch_size) == (32, 1000, 1)
    assert (config.max_batch_size, config.num_lanes, config.target_batch_ms) == (None, 1, None)
    assert BatchConfig("sequential").batch_size is None


def test_config_is_frozen_and_replaceable() -> None:
    config = BatchConfig("sequential", batch_size=4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.batch_size = 5  # type: ignore[misc]
    assert dataclasses.replace(config, batch_size=8).batch_size == 8
    assert config == BatchConfig("sequential", batch_size=4)
    assert hash(config) == hash(BatchConfig("sequential", batch_size=4))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"batch_size": 0}, r"batch_size \(0\) must be positive"),
        ({"batch_size": -5}, r"batch_size \(-5\) must be positive"),
        ({"batch_size": 2, "min_batch_size": 5}, r"batch_size \(2\) cannot be less than min_"),
        ({"batch_size": 20, "max_batch_size": 10}, r"batch_size \(20\) cannot be more than max_"),
        ({"min_batch_size": 0}, r"min_batch_size \(0\) must be positive"),
        ({"max_batch_size": 0}, r"max_batch_size \(0\) must be positive"),
        ({"min_batch_size": 8, "max_batch_size": 4}, r"max_batch_size \(4\) cannot be less"),
        ({"max_memory_mb": -100}, "max_memory_mb must be a positive number"),
        ({"max_memory_mb": 0}, "max_memory_mb must be a positive number"),
        ({"max_memory_mb": float("nan")}, "max_memory_mb must be a positive number"),
        ({"max_memory_mb": float("inf")}, "max_memory_mb must be a positive number"),
        ({"max_memory_mb": 10**400}, "max_memory_mb must be a positive number"),
        ({"num_lanes": 4}, "num_lanes=4 applies to the round_robin strategy only"),
        ({"target_batch_ms": 50}, "target_batch_ms=50 applies to the adaptive strategy only"),
    ],
)
def test_invalid_config_values(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidBatchConfigError, match=message) as raised:
        BatchConfig("sequential", **fields)
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize(
    ("strategy", "fields", "message"),
    [
        ("round_robin", {"num_lanes": 0}, r"num_lanes \(0\) must be positive"),
        ("adaptive", {"target_batch_ms": 0}, "target_batch_ms must be a positive number"),
        ("adaptive", {"target_batch_ms": -1.5}, "target_batch_ms must be a positive number"),
    ],
)
def test_invalid_strategy_settings(strategy: str, fields: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidBatchConfigError, match=message):
        BatchConfig(strategy, **fields)


@pytest.mark.parametrize(
    "fields",
    [
        {"batch_size": 2.0},
        {"batch_size": "32"},
        {"batch_size": True},
        {"min_batch_size": None},
        {"max_memory_mb": "1000"},
        {"max_memory_mb": True},
        {"max_batch_size": 1.5},
    ],
)
def test_config_values_of_the_wrong_type(fields: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match=next(iter(fields))):
        BatchConfig("sequential", **fields)


def test_config_accepts_numpy_ints_and_float_memory() -> None:
    config = BatchConfig("round_robin", batch_size=np.int64(8), num_lanes=np.int32(2))
    assert (config.batch_size, config.num_lanes) == (8, 2)
    assert type(config.batch_size) is int
    assert BatchConfig("adaptive", max_memory_mb=0.5, target_batch_ms=2.5).max_memory_mb == 0.5
