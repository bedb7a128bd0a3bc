"""The key strings of each mode (dpa.keys): versioned contracts, checked against a
plain inline implementation of their definitions, and the mode a file declares."""

from __future__ import annotations

import hashlib
import os
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dpa import (
    PARAM_NAMES,
    AugmentationConfig,
    gen_augmentation_params,
    gen_distributed_augmentation_params,
    gen_elastic_augmentation_params,
)
from dpa.backends import native_available
from dpa.keys import ELASTIC_KEY_VERSION, PLAIN, elastic_scheme, rank_scheme, scheme_of
from strategies import sample_ids, valid_configs

REQUIRED = os.environ.get("DPA_REQUIRE_NATIVE") == "1"
BACKENDS = [
    pytest.param(
        "native",
        marks=pytest.mark.skipif(
            not native_available() and not REQUIRED, reason="native kernel not built"
        ),
    ),
    "python",
]
seeds = st.integers(min_value=0, max_value=2**70)


def fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def reference(key: str, config: AugmentationConfig, *, whole_digest: bool) -> dict[str, Any]:
    """The chain written out from its definition: hash the key, then ``depth`` times
    ``sha256(h + str(fib(i)))``; seed with the last 32 bits or the whole digest."""
    h = hashlib.sha256(key.encode()).hexdigest()
    for i in range(config.augmentation_depth):
        h = hashlib.sha256((h + str(fib(i))).encode()).hexdigest()
    seed = int(h, 16) if whole_digest else int(h, 16) % 2**32
    generator = random.Random(seed)
    out: dict[str, Any] = {
        name: generator.uniform(*getattr(config, f"{name}_range")) for name in PARAM_NAMES
    }
    out["hash"] = h
    return out


# --- the key strings ------------------------------------------------------------------


def test_elastic_key_version_is_the_first_one() -> None:
    assert ELASTIC_KEY_VERSION == "dpa-elastic-v1"


def test_plain_scheme_is_dpa_v02() -> None:
    assert PLAIN == (b"", 1)


@given(base_seed=seeds, rank=st.integers(min_value=0, max_value=2**40))
def test_rank_scheme_is_the_v02_prefix(base_seed: int, rank: int) -> None:
    assert rank_scheme(base_seed, rank) == (f"{base_seed}:{rank}:".encode(), 1)


@given(base_seed=seeds, epoch=seeds)
def test_elastic_scheme_is_versioned_and_seeds_from_the_whole_digest(
    base_seed: int, epoch: int
) -> None:
    assert elastic_scheme(base_seed, epoch) == (f"dpa-elastic-v1:{base_seed}:{epoch}:".encode(), 8)


@given(sample_id=sample_ids, config=valid_configs(max_depth=12))
def test_plain_values_are_the_chain_of_the_decimal_id(
    sample_id: int, config: AugmentationConfig
) -> None:
    assert gen_augmentation_params(sample_id, config) == reference(
        str(sample_id), config, whole_digest=False
    )


@pytest.mark.parametrize("backend", BACKENDS)
@given(
    sample_id=sample_ids,
    rank=st.integers(min_value=0, max_value=63),
    base_seed=seeds,
    config=valid_configs(max_depth=12),
)
def test_rank_aware_values_are_the_chain_of_the_v02_key(
    backend: str, sample_id: int, rank: int, base_seed: int, config: AugmentationConfig
) -> None:
    got = gen_distributed_augmentation_params(
        sample_id, rank, config, base_seed, world_size=64, backend=backend
    )
    want = reference(f"{base_seed}:{rank}:{sample_id}", config, whole_digest=False)
    assert got == {**want, "rank": rank}


@pytest.mark.parametrize("backend", BACKENDS)
@given(sample_id=sample_ids, base_seed=seeds, epoch=seeds, config=valid_configs(max_depth=12))
def test_elastic_values_are_the_chain_of_the_elastic_key(
    backend: str, sample_id: int, base_seed: int, epoch: int, config: AugmentationConfig
) -> None:
    got = gen_elastic_augmentation_params(sample_id, config, base_seed, epoch, backend=backend)
    want = reference(f"dpa-elastic-v1:{base_seed}:{epoch}:{sample_id}", config, whole_digest=True)
    assert got == want


@pytest.mark.parametrize(
    ("value", "error"),
    [(-1, ValueError), (True, TypeError), (1.0, TypeError), ("1", TypeError), (None, TypeError)],
)
@pytest.mark.parametrize("name", ["base_seed", "rank"])
def test_rank_scheme_rejects_bad_numbers(name: str, value: Any, error: type[Exception]) -> None:
    args = {"base_seed": 0, "rank": 0, name: value}
    with pytest.raises(error, match=name):
        rank_scheme(**args)


@pytest.mark.parametrize(
    ("value", "error"),
    [(-1, ValueError), (False, TypeError), (2.5, TypeError), ("0", TypeError), (None, TypeError)],
)
@pytest.mark.parametrize("name", ["base_seed", "epoch"])
def test_elastic_scheme_rejects_bad_numbers(name: str, value: Any, error: type[Exception]) -> None:
    args = {"base_seed": 0, "epoch": 0, name: value}
    with pytest.raises(error, match=name):
        elastic_scheme(**args)


# --- the mode a file's metadata declares ----------------------------------------------


@pytest.mark.parametrize(
    ("metadata", "scheme"),
    [
        ({}, (b"", 1)),
        ({"distributed_info": None, "elastic_info": None}, (b"", 1)),
        ({"distributed_info": {"rank": 2, "world_size": 4, "base_seed": 9}}, (b"9:2:", 1)),
        (
            {"elastic_info": {"key_version": "dpa-elastic-v1", "base_seed": 9, "epoch": 3}},
            (b"dpa-elastic-v1:9:3:", 8),
        ),
        # A missing key_version is the first one, as the writer and the reader take it.
        ({"elastic_info": {"base_seed": 0, "epoch": 1}}, (b"dpa-elastic-v1:0:1:", 8)),
    ],
)
def test_scheme_of(metadata: dict[str, Any], scheme: tuple[bytes, int]) -> None:
    assert scheme_of(metadata) == scheme


def test_scheme_of_rejects_an_unknown_elastic_key_version() -> None:
    info = {"key_version": "dpa-elastic-v2", "base_seed": 0, "epoch": 0}
    with pytest.raises(ValueError, match="dpa-elastic-v2"):
        scheme_of({"elastic_info": info})
