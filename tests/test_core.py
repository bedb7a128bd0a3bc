"""The DPA v0.2 algorithm: known answers, a naive re-implementation, edge cases,
isolation from the global random state, and thread safety."""

from __future__ import annotations

import hashlib
import math
import random
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, strategies as st

from dpa import (
    PARAM_NAMES,
    AugmentationConfig,
    DPAFileError,
    _core as core,
    compute_statistics,
    compute_streaming_statistics,
    fib,
    gen_augmentation_params,
    gen_augmentation_seed,
    generate_augmentation_chain,
    generate_batch,
    get_preset,
    iter_batches,
    save_augmentation_chain,
    stream_augmentation_chain,
    stream_augmentation_range,
    verify_augmentation_file,
)
from dpa._core import params_for_key, seed_from_hash
from strategies import sample_ids, valid_configs as _valid_configs

# --- a naive, independent implementation of DPA v0.2 ----------------------------------


@contextmanager
def unlimited_int_digits() -> Iterator[None]:
    """Lift the int -> str digit limit (for the naive implementation only)."""
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(old)


def naive_fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def naive_hash(text: str, depth: int) -> str:
    h = hashlib.sha256(text.encode()).hexdigest()
    for i in range(depth):
        h = hashlib.sha256((h + str(naive_fib(i))).encode()).hexdigest()
    return h


def naive_params(seed_id: int, config: AugmentationConfig | None = None) -> dict[str, Any]:
    config = config or AugmentationConfig()
    with unlimited_int_digits():
        text = str(seed_id)
    h = naive_hash(text, config.augmentation_depth)
    rng = random.Random(int(h, 16) % 2**32)
    out: dict[str, Any] = {
        name: rng.uniform(lo, hi) for name, (lo, hi) in zip(PARAM_NAMES, config.ranges, strict=True)
    }
    out["hash"] = h
    return out


# Bounds: floats anywhere (finite), or ints small enough to be exact as floats. (Huge
# int bounds are valid but lo + (hi - lo) * r then rounds lo, as v0.2 did.)
valid_configs = _valid_configs(50)


# --- known answers --------------------------------------------------------------------


def test_vectors_cover_every_config(vectors: dict[str, Any]) -> None:
    assert {v["config"] for v in vectors["core"]} == set(vectors["configs"])
    assert len(vectors["core"]) >= 20 and len(vectors["distributed"]) >= 10


def test_core_vectors(vectors: dict[str, Any], configs: dict[str, AugmentationConfig]) -> None:
    for vector in vectors["core"]:
        config = configs[vector["config"]]
        assert gen_augmentation_params(vector["seed_id"], config) == vector["params"], vector
        assert naive_params(vector["seed_id"], config) == vector["params"], vector


def test_core_vectors_default_config_argument(vectors: dict[str, Any]) -> None:
    for vector in vectors["core"]:
        if vector["config"] == "default":
            assert gen_augmentation_params(vector["seed_id"]) == vector["params"]
            assert gen_augmentation_params(vector["seed_id"], None) == vector["params"]


def test_params_layout() -> None:
    params = gen_augmentation_params(0)
    assert list(params) == [*PARAM_NAMES, "hash"]
    assert all(type(params[name]) is float for name in PARAM_NAMES)
    assert type(params["hash"]) is str and len(params["hash"]) == 64
    assert params["hash"] == params["hash"].lower()
    int(params["hash"], 16)


def test_seed_vectors(vectors: dict[str, Any], configs: dict[str, AugmentationConfig]) -> None:
    for vector in vectors["core"]:
        depth = configs[vector["config"]].augmentation_depth
        assert gen_augmentation_seed(vector["seed_id"], depth) == vector["params"]["hash"]
        if depth == 10:
            assert gen_augmentation_seed(vector["seed_id"]) == vector["params"]["hash"]


def test_distributed_vectors(
    vectors: dict[str, Any], configs: dict[str, AugmentationConfig]
) -> None:
    for vector in vectors["distributed"]:
        key = f"{vector['base_seed']}:{vector['rank']}:{vector['sample_id']}".encode()
        params = params_for_key(key, configs[vector["config"]])
        params["rank"] = vector["rank"]
        assert params == vector["params"], vector


def test_params_for_key_of_the_decimal_id_is_the_sample() -> None:
    config = get_preset("aggressive")
    for n in (0, 7, 2**64 + 3):
        assert params_for_key(str(n).encode(), config) == gen_augmentation_params(n, config)


def test_seed_from_hash(vectors: dict[str, Any]) -> None:
    for vector in vectors["core"]:
        digest = vector["params"]["hash"]
        assert seed_from_hash(digest) == int(digest, 16) % 2**32
    assert seed_from_hash("f" * 64) == 2**32 - 1
    assert seed_from_hash("0" * 64) == 0


@given(st.binary(min_size=32, max_size=32))
def test_seed_from_hash_is_the_digest_mod_2_32(raw: bytes) -> None:
    assert seed_from_hash(raw.hex()) == int(raw.hex(), 16) % 2**32


# --- fib ------------------------------------------------------------------------------


def test_fib_vectors(vectors: dict[str, Any]) -> None:
    assert len(vectors["fib"]) == 30
    assert [fib(i) for i in range(len(vectors["fib"]))] == vectors["fib"]


def test_fib_large() -> None:
    assert fib(300) == naive_fib(300)
    assert fib(301) == fib(300) + fib(299)
    assert fib(np.int64(12)) == 144


@pytest.mark.parametrize("n", [-1, -30])
def test_fib_negative_is_a_value_error(n: int) -> None:
    with pytest.raises(ValueError):
        fib(n)


@pytest.mark.parametrize("n", [1.0, 2.5, True, False, "3", None, Fraction(2)])
def test_fib_non_int_is_a_type_error(n: Any) -> None:
    with pytest.raises(TypeError):
        fib(n)


# --- argument checks ------------------------------------------------------------------


@pytest.mark.parametrize("seed_id", [-1, -(2**70), np.int64(-5)], ids=repr)
def test_negative_seed_id_is_a_value_error(seed_id: Any) -> None:
    with pytest.raises(ValueError, match="non-negative"):
        gen_augmentation_params(seed_id)
    with pytest.raises(ValueError):
        gen_augmentation_seed(seed_id)


@pytest.mark.parametrize(
    "seed_id",
    [1.0, 0.0, math.nan, True, False, "1", b"1", None, Decimal(1), Fraction(1), np.float64(1)],
    ids=repr,
)
def test_non_int_seed_id_is_a_type_error(seed_id: Any) -> None:
    with pytest.raises(TypeError):
        gen_augmentation_params(seed_id)
    with pytest.raises(TypeError):
        gen_augmentation_seed(seed_id)


def test_numpy_integer_seed_ids() -> None:
    assert gen_augmentation_params(np.int64(9)) == gen_augmentation_params(9)
    assert gen_augmentation_params(np.uint8(9)) == gen_augmentation_params(9)
    top = np.uint64(2**64 - 1)
    assert gen_augmentation_params(top) == naive_params(2**64 - 1)


@pytest.mark.parametrize("config", [{}, "moderate", 1, AugmentationConfig().to_dict()], ids=repr)
def test_config_must_be_an_augmentation_config(config: Any) -> None:
    with pytest.raises(TypeError):
        gen_augmentation_params(0, config)


def test_seed_depth_is_validated() -> None:
    with pytest.raises(ValueError):
        gen_augmentation_seed(0, 0)
    with pytest.raises(TypeError):
        gen_augmentation_seed(0, 2.0)  # type: ignore[arg-type]
    assert gen_augmentation_seed(0, 1) == naive_hash("0", 1)


# --- huge ids -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "seed_id",
    [2**32, 2**63 - 1, 2**63, 2**64 - 1, 2**64, 2**130, 10**4000 - 1, 10**4000, 10**5000],
    ids=["2**32", "2**63-1", "2**63", "2**64-1", "2**64", "2**130", "1e4000-1", "1e4000", "1e5000"],
)
def test_huge_ids_match_the_naive_implementation(seed_id: int) -> None:
    config = get_preset("mild")
    expected = naive_params(seed_id, config)
    assert gen_augmentation_params(seed_id, config) == expected
    assert gen_augmentation_seed(seed_id, 10) == expected["hash"]


def test_ids_beyond_the_str_digit_limit() -> None:
    # 10**5000 + 10**2499 has 5001 digits, and the inner zeros straddle the split that
    # dpa uses to print ints beyond the limit of int -> str conversion.
    for seed_id in (10**5000 + 10**2499, 7 * 10**4500 + 3, 10**9000 - 1):
        with unlimited_int_digits():
            text = str(seed_id).encode()
        assert core.decimal(seed_id) == text
        assert gen_augmentation_params(seed_id) == naive_params(seed_id)


@given(st.integers(min_value=0, max_value=10**9000))
def test_decimal_is_str(n: int) -> None:
    with unlimited_int_digits():
        assert core.decimal(n) == str(n).encode("ascii")


def test_ids_work_under_a_lowered_str_digit_limit() -> None:
    seed_id = 10**1000
    expected = naive_params(seed_id)
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(640)
    try:
        assert gen_augmentation_params(seed_id) == expected
    finally:
        sys.set_int_max_str_digits(old)


# --- properties -----------------------------------------------------------------------


@given(sample_ids, valid_configs)
def test_equals_the_naive_implementation(seed_id: int, config: AugmentationConfig) -> None:
    assert gen_augmentation_params(seed_id, config) == naive_params(seed_id, config)


@given(sample_ids, valid_configs, st.lists(sample_ids, max_size=3))
def test_deterministic(seed_id: int, config: AugmentationConfig, others: list[int]) -> None:
    first = gen_augmentation_params(seed_id, config)
    for other in others:  # calls in between do not leak into the next one
        gen_augmentation_params(other, config)
        gen_augmentation_params(other)
    assert gen_augmentation_params(seed_id, config) == first
    assert gen_augmentation_params(seed_id, AugmentationConfig.from_dict(config.to_dict())) == first


@given(sample_ids, valid_configs)
def test_values_lie_in_their_ranges(seed_id: int, config: AugmentationConfig) -> None:
    params = gen_augmentation_params(seed_id, config)
    for name, (lo, hi) in zip(PARAM_NAMES, config.ranges, strict=True):
        assert lo <= params[name] <= hi, (name, lo, hi, params[name])


@given(sample_ids, st.integers(min_value=1, max_value=50))
def test_seed_equals_the_naive_chain(seed_id: int, depth: int) -> None:
    expected = naive_hash(str(seed_id), depth)
    assert gen_augmentation_seed(seed_id, depth) == expected
    config = AugmentationConfig(augmentation_depth=depth)
    assert gen_augmentation_params(seed_id, config)["hash"] == expected


# --- the global random state ----------------------------------------------------------


def exercise_everything() -> list[Any]:
    config = get_preset("aggressive")
    results: list[Any] = [
        gen_augmentation_params(3),
        gen_augmentation_params(2**70, config),
        gen_augmentation_seed(5, 4),
        params_for_key(b"1:2:3", config),
        generate_batch(range(40), config).to_dicts(),
        generate_batch(np.arange(5, 25)).to_dicts(),
        list(stream_augmentation_chain(30, config)),
        list(stream_augmentation_chain(30, chunk_size=7, start_id=11)),
        list(stream_augmentation_range(100, 130, config, chunk_size=8)),
        generate_augmentation_chain(25),
        [batch.to_dicts() for batch in iter_batches(0, 30, batch_size=9)],
        compute_statistics(generate_augmentation_chain(20)),
        compute_streaming_statistics(stream_augmentation_chain(20, chunk_size=6)),
    ]
    return results


def numpy_state_equal(a: Any, b: Any) -> bool:
    return a[0] == b[0] and np.array_equal(a[1], b[1]) and tuple(a[2:]) == tuple(b[2:])


def test_global_random_states_untouched() -> None:
    random.seed(98765)
    np.random.seed(4321)
    before, np_before = random.getstate(), np.random.get_state()
    exercise_everything()
    assert random.getstate() == before
    assert numpy_state_equal(np.random.get_state(), np_before)


def test_results_do_not_depend_on_the_global_random_state(vectors: dict[str, Any]) -> None:
    random.seed(123)
    np.random.seed(123)
    first = exercise_everything()
    random.seed(456)
    random.random()
    np.random.seed(7)
    second = exercise_everything()
    assert first == second
    random.seed(123)
    seeded = random.getstate()
    for vector in vectors["core"]:
        if vector["config"] == "default":
            assert gen_augmentation_params(vector["seed_id"]) == vector["params"]
    assert random.getstate() == seeded


# --- threads --------------------------------------------------------------------------

THREADS = 8
PER_THREAD = 10_000


@pytest.mark.slow
def test_threads_match_serial() -> None:
    # Each thread has its own slice and its own config, so a generator shared between
    # threads, or a config leaking from one thread to another, shows up as a mismatch.
    configs = [get_preset(name) for name in ("mild", "moderate", "aggressive")]
    configs.append(AugmentationConfig(augmentation_depth=3))
    jobs = [
        (range(k * PER_THREAD, (k + 1) * PER_THREAD), configs[k % len(configs)])
        for k in range(THREADS)
    ]
    serial = [generate_batch(ids, config) for ids, config in jobs]
    barrier = threading.Barrier(THREADS)

    def work(job: tuple[range, AugmentationConfig]) -> tuple[list[dict[str, Any]], Any]:
        ids, config = job
        barrier.wait()
        half = len(ids) // 2
        singles = [gen_augmentation_params(i, config) for i in ids[:half]]
        batch = generate_batch(ids[half:], config)
        singles += [gen_augmentation_params(i, config) for i in ids[half:]]
        return singles, batch

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, to provoke any race
    try:
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            results = list(pool.map(work, jobs))
    finally:
        sys.setswitchinterval(old_interval)

    for (ids, _config), expected, (singles, batch) in zip(jobs, serial, results, strict=True):
        expected_dicts = expected.to_dicts()
        for record in expected_dicts:
            del record["sample_id"]
        assert singles == expected_dicts
        assert batch.equals(expected[len(ids) // 2 :])


def test_threads_small() -> None:
    # A quick version of the above for every run.
    ids = range(2_000)
    serial = [gen_augmentation_params(i) for i in ids]
    with ThreadPoolExecutor(max_workers=4) as pool:
        chunks = list(pool.map(lambda k: [gen_augmentation_params(i) for i in ids[k::4]], range(4)))
    for k in range(4):
        assert chunks[k] == serial[k::4]


def test_sample_ids_have_at_most_10000_digits() -> None:
    """Ids of any practical size work; past 10,000 digits an id is refused, since
    CPython's int<->text conversion is quadratic (a 1,000,000-digit id took 7 s)."""
    from dpa._validate import MAX_ID_DIGITS

    largest = 10**MAX_ID_DIGITS - 1
    assert gen_augmentation_params(largest)["hash"] == gen_augmentation_params(largest)["hash"]
    assert core.parse_decimal("9" * MAX_ID_DIGITS) == largest
    with pytest.raises(ValueError, match="at most 10000 digits, got about 10001"):
        gen_augmentation_params(largest + 1)
    with pytest.raises(ValueError, match="at most 10000 digits"):
        generate_batch([5, 10**20_000])
    with pytest.raises(ValueError, match="a number of 1000000 digits"):
        core.parse_decimal("1" * 1_000_000)


def test_a_file_with_a_million_digit_id_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    save_augmentation_chain(generate_batch([5, 6]), path)
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace('"sample_id": 5', '"sample_id": 1' + "0" * 1_000_000)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DPAFileError, match="a number of 1000001 digits"):
        verify_augmentation_file(path)
