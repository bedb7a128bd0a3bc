"""The key strings of each mode (dpa._keys): versioned contracts, checked against a
plain inline implementation of their definitions, and the mode a file declares."""

from __future__ import annotations

import hashlib
import os
import random
from typing import Any

import pytest
from hypothesis import given, strategies as st

from dpa import (
    PARAM_NAMES,
    AugmentationConfig,
    ElasticScheme,
    PerRecordRankScheme,
    PlainScheme,
    RankAwareScheme,
    gen_augmentation_params,
    gen_distributed_augmentation_params,
    gen_elastic_augmentation_params,
    scheme_from_metadata,
)
from dpa._backends import native_available
from dpa._keys import ELASTIC_KEY_VERSION, PLAIN, scheme_for_mode
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
    assert (PLAIN.key_prefix, PLAIN.seed_words, PLAIN.mode) == (b"", 1, "plain")
    assert PlainScheme() == PLAIN and PLAIN.key(123) == "123"
    assert PLAIN.to_metadata() == {} and PLAIN.record_fields == {}


@given(base_seed=seeds, rank=st.integers(min_value=0, max_value=2**40))
def test_rank_scheme_is_the_v02_prefix(base_seed: int, rank: int) -> None:
    scheme = RankAwareScheme(base_seed, rank, world_size=rank + 1)
    assert (scheme.key_prefix, scheme.seed_words) == (f"{base_seed}:{rank}:".encode(), 1)
    assert scheme.key(7) == f"{base_seed}:{rank}:7" and scheme.record_fields == {"rank": rank}


@given(base_seed=seeds, epoch=seeds)
def test_elastic_scheme_is_versioned_and_seeds_from_the_whole_digest(
    base_seed: int, epoch: int
) -> None:
    scheme = ElasticScheme(base_seed, epoch)
    assert (scheme.key_prefix, scheme.seed_words) == (
        f"dpa-elastic-v1:{base_seed}:{epoch}:".encode(),
        8,
    )


def test_schemes_are_frozen_hashable_values() -> None:
    a, b = ElasticScheme(1, 2), ElasticScheme(base_seed=1, epoch=2)
    assert a == b and hash(a) == hash(b) and a != ElasticScheme(1, 3)
    assert RankAwareScheme(1, 0, 2) != RankAwareScheme(1, 0, 3)  # the world size is recorded
    with pytest.raises(AttributeError):
        a.epoch = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    "scheme",
    [PLAIN, RankAwareScheme(3, 1, 4), ElasticScheme(5, 6), PerRecordRankScheme(7, 2)],
)
def test_schemes_round_trip_through_metadata(scheme: Any) -> None:
    assert scheme_from_metadata(scheme.to_metadata()) == scheme


def test_scheme_for_mode_names_each_mode() -> None:
    assert scheme_for_mode("plain") is PLAIN
    assert scheme_for_mode("rank_aware", base_seed=1, rank=2, world_size=3) == RankAwareScheme(
        1, 2, 3
    )
    assert scheme_for_mode("elastic", base_seed=1, epoch=2) == ElasticScheme(1, 2)
    with pytest.raises(ValueError, match="unknown mode 'other'"):
        scheme_for_mode("other")


def test_a_rank_must_be_below_the_world_size() -> None:
    with pytest.raises(ValueError, match=r"rank must be < world_size, got rank=4, world_size=4"):
        RankAwareScheme(0, 4, 4)
    with pytest.raises(ValueError, match="its own rank"):
        PerRecordRankScheme(0, 2).key_prefix  # noqa: B018
    assert PerRecordRankScheme(0, 2).for_rank(1) == RankAwareScheme(0, 1, 2)


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
    args = {"base_seed": 0, "rank": 0, "world_size": 2**80, name: value}
    with pytest.raises(error, match=name):
        RankAwareScheme(**args)


@pytest.mark.parametrize(
    ("value", "error"),
    [(-1, ValueError), (False, TypeError), (2.5, TypeError), ("0", TypeError), (None, TypeError)],
)
@pytest.mark.parametrize("name", ["base_seed", "epoch"])
def test_elastic_scheme_rejects_bad_numbers(name: str, value: Any, error: type[Exception]) -> None:
    args = {"base_seed": 0, "epoch": 0, name: value}
    with pytest.raises(error, match=name):
        ElasticScheme(**args)


# --- the mode a file's metadata declares ----------------------------------------------


@pytest.mark.parametrize(
    ("metadata", "scheme"),
    [
        ({}, PLAIN),
        ({"distributed_info": None, "elastic_info": None}, PLAIN),
        (
            {"distributed_info": {"rank": 2, "world_size": 4, "base_seed": 9}},
            RankAwareScheme(9, 2, 4),
        ),
        (
            {"elastic_info": {"key_version": "dpa-elastic-v1", "base_seed": 9, "epoch": 3}},
            ElasticScheme(9, 3),
        ),
        # A missing key_version is the first one, as the writer and the reader take it.
        ({"elastic_info": {"base_seed": 0, "epoch": 1}}, ElasticScheme(0, 1)),
        (
            {"distributed_info": {"per_record_rank": True, "world_size": 3, "base_seed": 1}},
            PerRecordRankScheme(1, 3),
        ),
    ],
)
def test_scheme_from_metadata(metadata: dict[str, Any], scheme: Any) -> None:
    assert scheme_from_metadata(metadata) == scheme


@pytest.mark.parametrize(
    ("metadata", "error", "match"),
    [
        (
            {"elastic_info": {"key_version": "dpa-elastic-v2", "base_seed": 0, "epoch": 0}},
            ValueError,
            "dpa-elastic-v2",
        ),
        ({"elastic_info": 5}, TypeError, "elastic_info must be a mapping"),
        ({"distributed_info": {"rank": 0}}, ValueError, "base_seed"),
        ({"distributed_info": {"rank": 2, "world_size": 2, "base_seed": 0}}, ValueError, ">="),
        (
            {
                "distributed_info": {"rank": 0, "world_size": 1, "base_seed": 0},
                "elastic_info": {"base_seed": 0, "epoch": 0},
            },
            ValueError,
            "not both",
        ),
        ([], TypeError, "mapping"),
    ],
)
def test_scheme_from_metadata_rejects_bad_entries(
    metadata: Any, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        scheme_from_metadata(metadata)


def test_keys_of_numbers_past_pythons_int_to_str_limit() -> None:
    """A 5000-digit base seed or epoch works as sample ids of any size do (Python's
    str(int) refuses past 4300 digits)."""
    huge = 10**5000 + 7
    scheme = ElasticScheme(base_seed=huge, epoch=huge)
    assert scheme.key_prefix.count(b":") == 3 and len(scheme.key_prefix) > 10_000
    assert RankAwareScheme(huge, 0, 1).key(huge).endswith("7:0:1" + "0" * 4999 + "7")
    a = gen_elastic_augmentation_params(1, base_seed=huge)
    assert a == gen_augmentation_params(1, scheme=ElasticScheme(huge, 0))
    assert a != gen_elastic_augmentation_params(1, base_seed=huge + 1)
