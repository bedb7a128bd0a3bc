"""dpa._distributed: the rank-aware mode (bit-exact with DPA v0.2), the elastic mode,
range splitting, rank detection, and the files each mode writes.

The rank-aware mode keys a sample by ``(base_seed, rank, sample_id)``; the elastic
mode by ``(base_seed, epoch, sample_id)`` alone, so it gives a sample the same
values whatever the world size. Both are checked against known answers on both
backends and through every entry point.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings, strategies as st

from dpa import (
    PARAM_NAMES,
    AugmentationConfig,
    DistributedContext,
    DistributedRangeSplitter,
    DPAFileError,
    ParamBatch,
    RankAwareSeedGenerator,
    RankRange,
    detect_distributed_context,
    gen_distributed_augmentation_params,
    gen_elastic_augmentation_params,
    generate_batch,
    generate_distributed_batch,
    generate_elastic_batch,
    get_preset,
    read_augmentation_file,
    save_augmentation_chain,
    save_augmentation_stream,
    stream_distributed_augmentation_chain,
    stream_distributed_augmentation_range,
    stream_elastic_augmentation_range,
    verify_augmentation_file,
)
from dpa._backends import native_available
from dpa._formats import FORMATS

ELASTIC_PATH = Path(__file__).parent / "data" / "elastic-known-answers.json"
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
CONFIG = get_preset("mild")

#: Every variable detect_distributed_context reads.
CONTEXT_VARIABLES = (
    "RANK",
    "WORLD_SIZE",
    "LOCAL_RANK",
    "SLURM_PROCID",
    "SLURM_NTASKS",
    "SLURM_LOCALID",
    "OMPI_COMM_WORLD_RANK",
    "OMPI_COMM_WORLD_SIZE",
    "OMPI_COMM_WORLD_LOCAL_RANK",
)


@pytest.fixture(scope="session")
def elastic() -> dict[str, Any]:
    """The elastic known answers, parsed (made by tests/data/make_elastic_vectors.py)."""
    with ELASTIC_PATH.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


@pytest.fixture(scope="session")
def elastic_configs(elastic: dict[str, Any]) -> dict[str, AugmentationConfig]:
    return {name: AugmentationConfig.from_dict(data) for name, data in elastic["configs"].items()}


def exact(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with its floats as hex strings: equal only when bit-identical."""
    return {k: v.hex() if isinstance(v, float) else v for k, v in record.items()}


def grouped(cases: list[dict[str, Any]], *keys: str) -> dict[tuple[Any, ...], list[Any]]:
    """The cases by the values of ``keys``."""
    groups: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
    for case in cases:
        groups[tuple(case[key] for key in keys)].append(case)
    return groups


def without_rank(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k != "rank"}


def count_distinct(values: np.ndarray) -> int:
    """``len(np.unique(values))``, by a sort (numpy 2.4's unique is slow on 10**6 ints)."""
    ordered = np.sort(values)
    return int(ordered.size > 0) + int(np.count_nonzero(ordered[1:] != ordered[:-1]))


def distinct_rows(batch: ParamBatch) -> int:
    """How many distinct (rotation, brightness, noise, scale, contrast) tuples, bit for bit:
    each row of the five float64 columns as one 40-byte void value."""
    stacked = np.ascontiguousarray(np.stack([getattr(batch, n) for n in PARAM_NAMES], axis=1))
    return count_distinct(stacked.view(np.dtype((np.void, stacked.itemsize * 5))).ravel())


def distinct_hashes(batch: ParamBatch) -> int:
    return count_distinct(batch.hash.view(np.dtype((np.void, 64))))


def distinct_seeds(batch: ParamBatch) -> int:
    """How many distinct 32-bit seeds, as v0.2 takes them: the digests' last 8 hex
    digits (their 8 ASCII bytes read as one uint64, which keeps them apart)."""
    digits = batch.hash.view(np.uint8).reshape(len(batch), 64)[:, -8:]
    return count_distinct(np.ascontiguousarray(digits).view(np.uint64).ravel())


# --- rank-aware mode: DPA v0.2's known answers ----------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_rank_aware_known_answers_per_sample(
    vectors: dict[str, Any], configs: dict[str, AugmentationConfig], backend: str
) -> None:
    for case in vectors["distributed"]:
        got = gen_distributed_augmentation_params(
            case["sample_id"],
            case["rank"],
            configs[case["config"]],
            base_seed=case["base_seed"],
            world_size=case["world_size"],
            backend=backend,
        )
        assert exact(got) == exact(case["params"]), case


@pytest.mark.parametrize("backend", BACKENDS)
def test_rank_aware_known_answers_in_batches(
    vectors: dict[str, Any], configs: dict[str, AugmentationConfig], backend: str
) -> None:
    groups = grouped(vectors["distributed"], "config", "rank", "world_size", "base_seed")
    for (config, rank, world_size, base_seed), cases in groups.items():
        ids = [case["sample_id"] for case in cases]
        batch = generate_distributed_batch(
            ids, rank, world_size, configs[config], base_seed, backend=backend
        )
        assert batch.sample_id.tolist() == ids
        for row, case in enumerate(cases):
            want = {**without_rank(case["params"]), "sample_id": case["sample_id"]}
            assert exact(batch[row]) == exact(want), case


@pytest.mark.parametrize("chunk_size", [None, 1, 64])
def test_rank_aware_known_answers_in_streams(
    vectors: dict[str, Any], configs: dict[str, AugmentationConfig], chunk_size: int | None
) -> None:
    groups = grouped(vectors["distributed"], "config", "rank", "world_size", "base_seed")
    for (config, rank, world_size, base_seed), cases in groups.items():
        stream = stream_distributed_augmentation_range(
            0, 1000, rank, world_size, configs[config], base_seed, chunk_size
        )
        if chunk_size is not None:
            chunks = list(stream)
            assert all(len(chunk) == chunk_size for chunk in chunks[:-1])
            stream = (record for chunk in chunks for record in chunk)
        by_id = {record["sample_id"]: record for record in stream}
        assert list(by_id) == list(range(1000))
        for case in cases:
            want = {**case["params"], "sample_id": case["sample_id"]}
            assert exact(by_id[case["sample_id"]]) == exact(want), case


def test_rank_aware_known_answers_of_the_seed_generator(
    vectors: dict[str, Any], configs: dict[str, AugmentationConfig]
) -> None:
    for case in vectors["distributed"]:
        generator = RankAwareSeedGenerator(case["base_seed"], case["world_size"])
        sample_id, rank = case["sample_id"], case["rank"]
        assert generator.key(sample_id, rank) == f"{case['base_seed']}:{rank}:{sample_id}"
        depth = configs[case["config"]].augmentation_depth
        assert generator.generate_seed(sample_id, rank, depth) == case["params"]["hash"]


def test_seed_generator_defaults() -> None:
    generator = RankAwareSeedGenerator()
    assert (generator.base_seed, generator.world_size) == (0, 1)
    assert generator.generate_seed(5, 0) == gen_distributed_augmentation_params(5, 0)["hash"]
    with pytest.raises(ValueError, match="rank must be < world_size"):
        generator.generate_seed(5, 1)


@pytest.mark.parametrize("backend", BACKENDS)
@given(
    ids=st.lists(st.integers(min_value=0, max_value=2**70), max_size=40),
    rank=st.integers(min_value=0, max_value=7),
    base_seed=st.integers(min_value=0, max_value=2**64),
)
@settings(max_examples=40)
def test_rank_aware_batch_equals_per_sample(
    backend: str, ids: list[int], rank: int, base_seed: int
) -> None:
    batch = generate_distributed_batch(ids, rank, 8, CONFIG, base_seed, backend=backend)
    want = [
        {
            **without_rank(gen_distributed_augmentation_params(i, rank, CONFIG, base_seed, 8)),
            "sample_id": i,
        }
        for i in ids
    ]
    assert [exact(r) for r in batch.to_dicts()] == [exact(r) for r in want]


def test_rank_aware_values_depend_on_the_rank_not_on_the_world_size() -> None:
    ranks = [generate_distributed_batch(range(500), rank, 4, CONFIG, 7) for rank in range(4)]
    hashes = np.stack([batch.hash for batch in ranks])
    assert all(len(set(column)) == 4 for column in hashes.T)  # every sample, 4 values
    # world_size is checked, not hashed: rank 1 of 2 and rank 1 of 64 agree.
    assert generate_distributed_batch(range(500), 1, 2, CONFIG, 7).equals(ranks[1])
    assert generate_distributed_batch(range(500), 1, 64, CONFIG, 7).equals(ranks[1])
    # ... and rank-aware is not the plain v0.2 chain, even on rank 0 with base_seed 0.
    plain = generate_batch(range(500), CONFIG)
    assert not np.any(plain.hash == generate_distributed_batch(range(500), 0, 1, CONFIG).hash)


def test_numpy_integers_are_accepted() -> None:
    i64, i32, i16, u8 = np.int64, np.int32, np.int16, np.uint8
    got = cast(Any, gen_distributed_augmentation_params)(i64(5), i32(1), CONFIG, u8(3), i64(4))
    assert got == gen_distributed_augmentation_params(5, 1, CONFIG, 3, 4)
    elastic = cast(Any, gen_elastic_augmentation_params)(i64(5), CONFIG, i16(3), u8(2))
    assert elastic == gen_elastic_augmentation_params(5, CONFIG, 3, 2)


@given(
    total=st.integers(min_value=0, max_value=300),
    world_size=st.integers(min_value=1, max_value=40),
    data=st.data(),
)
@settings(max_examples=30)
def test_rank_aware_chain_streams_the_ranks_share(
    total: int, world_size: int, data: st.DataObject
) -> None:
    rank = data.draw(st.integers(min_value=0, max_value=world_size - 1))
    start, end = DistributedRangeSplitter(total, world_size).get_rank_range(rank)
    records = list(stream_distributed_augmentation_chain(total, rank, world_size, CONFIG, 11))
    assert [r["sample_id"] for r in records] == list(range(start, end))
    assert records == list(
        stream_distributed_augmentation_range(start, end, rank, world_size, CONFIG, 11)
    )
    assert all(r["rank"] == rank for r in records)


def test_fewer_samples_than_ranks_leaves_ranks_empty() -> None:
    shares = [list(stream_distributed_augmentation_chain(2, rank, 7)) for rank in range(7)]
    assert [[r["sample_id"] for r in share] for share in shares] == [[0], [1]] + [[]] * 5
    assert shares[1][0] == {
        **gen_distributed_augmentation_params(1, 1, world_size=7),
        "sample_id": 1,
    }
    assert len(generate_distributed_batch(range(0, 0), 6, 7)) == 0
    assert list(stream_distributed_augmentation_chain(0, 0, 3, chunk_size=4)) == []


# --- elastic mode: known answers --------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_elastic_known_answers_per_sample(
    elastic: dict[str, Any], elastic_configs: dict[str, AugmentationConfig], backend: str
) -> None:
    assert len(elastic["elastic"]) == 40
    for case in elastic["elastic"]:
        got = gen_elastic_augmentation_params(
            case["sample_id"],
            elastic_configs[case["config"]],
            base_seed=case["base_seed"],
            epoch=case["epoch"],
            backend=backend,
        )
        assert exact(got) == exact(case["params"]), case


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("workers", [1, 2])
def test_elastic_known_answers_in_batches(
    elastic: dict[str, Any],
    elastic_configs: dict[str, AugmentationConfig],
    backend: str,
    workers: int,
) -> None:
    for (config, base_seed, epoch), cases in grouped(
        elastic["elastic"], "config", "base_seed", "epoch"
    ).items():
        ids = [case["sample_id"] for case in cases]  # 2**64 + 1 among them
        batch = generate_elastic_batch(
            ids, elastic_configs[config], base_seed, epoch, workers=workers, backend=backend
        )
        assert batch.sample_id.tolist() == ids
        for row, case in enumerate(cases):
            want = {**case["params"], "sample_id": case["sample_id"]}
            assert exact(batch[row]) == exact(want), case


@pytest.mark.parametrize("chunk_size", [None, 3])
def test_elastic_known_answers_in_streams(
    elastic: dict[str, Any],
    elastic_configs: dict[str, AugmentationConfig],
    chunk_size: int | None,
) -> None:
    for case in elastic["elastic"]:
        sample_id = case["sample_id"]
        start = max(0, sample_id - 2)  # the id in the middle of a short range
        stream = stream_elastic_augmentation_range(
            start,
            sample_id + 3,
            elastic_configs[case["config"]],
            case["base_seed"],
            case["epoch"],
            chunk_size,
        )
        if chunk_size is not None:
            stream = (record for chunk in stream for record in chunk)
        by_id = {record["sample_id"]: record for record in stream}
        assert list(by_id) == list(range(start, sample_id + 3))
        assert exact(by_id[sample_id]) == exact({**case["params"], "sample_id": sample_id})


# --- elastic mode: the same values at any world size, new ones each epoch ---------------


def rank_parts(total: int, world_size: int, make: Callable[[RankRange], ParamBatch]) -> ParamBatch:
    """Each rank's share of ``0 .. total-1``, made by ``make`` and concatenated in rank order."""
    ranges = DistributedRangeSplitter(total, world_size).get_all_rank_ranges()
    return ParamBatch.concat([make(r) for r in ranges])


@pytest.mark.parametrize("world_size", [1, 2, 3, 7, 1001])
def test_elastic_values_are_the_same_at_any_world_size(world_size: int) -> None:
    whole = generate_elastic_batch(range(1000), CONFIG, base_seed=5, epoch=3)
    parts = rank_parts(
        1000, world_size, lambda r: generate_elastic_batch(r.ids(), CONFIG, base_seed=5, epoch=3)
    )
    assert parts.equals(whole)
    streamed = [
        record
        for r in DistributedRangeSplitter(1000, world_size).get_all_rank_ranges()
        for record in stream_elastic_augmentation_range(r.start_id, r.end_id, CONFIG, 5, 3)
    ]
    assert streamed == whole.to_dicts()


def test_rank_aware_values_change_with_the_world_size() -> None:
    """Why the elastic mode exists: the same 1000 samples split over 1 and 2 ranks get
    the same values on rank 0 and other values for every sample rank 1 now owns."""

    def rank_aware(world_size: int) -> ParamBatch:
        return rank_parts(
            1000,
            world_size,
            lambda r: generate_distributed_batch(r.ids(), r.rank, world_size, CONFIG, 5),
        )

    one, two = rank_aware(1), rank_aware(2)
    same = one.hash == two.hash
    assert same[:500].all() and not same[500:].any()


@given(
    total=st.integers(min_value=0, max_value=400),
    world_size=st.integers(min_value=1, max_value=50),
    base_seed=st.integers(min_value=0, max_value=2**64),
    epoch=st.integers(min_value=0, max_value=10**6),
)
@settings(max_examples=25)
def test_elastic_split_property(total: int, world_size: int, base_seed: int, epoch: int) -> None:
    whole = generate_elastic_batch(range(total), CONFIG, base_seed, epoch)
    parts = rank_parts(
        total, world_size, lambda r: generate_elastic_batch(r.ids(), CONFIG, base_seed, epoch)
    )
    assert parts.equals(whole)


def test_elastic_values_do_not_depend_on_workers_order_or_resume_point() -> None:
    n = 20_000  # enough for two worker threads to split the batch
    whole = generate_elastic_batch(range(n), CONFIG, 9, 4)
    assert generate_elastic_batch(range(n), CONFIG, 9, 4, workers=2).equals(whole)
    assert generate_elastic_batch(range(300), CONFIG, 9, 4, backend="python").equals(whole[:300])
    # a shuffled sampler's order: each id keeps its values
    order = np.random.default_rng(0).permutation(n)
    shuffled = generate_elastic_batch(order, CONFIG, 9, 4)
    assert np.array_equal(shuffled.hash, whole.hash[order])
    assert np.array_equal(shuffled.rotation.view(np.uint64), whole.rotation[order].view(np.uint64))
    # a resume in the middle of the epoch
    resumed = list(stream_elastic_augmentation_range(12_345, n, CONFIG, 9, 4, chunk_size=1000))
    assert [r for chunk in resumed for r in chunk] == whole[12_345:].to_dicts()


def test_epoch_changes_every_sample_and_the_same_epoch_reproduces_it() -> None:
    """set_epoch(e) as a sampler would call it: a new draw each epoch, the same on a rerun."""
    ids = range(2000)
    epochs = [generate_elastic_batch(ids, CONFIG, base_seed=1, epoch=e) for e in range(3)]
    for epoch, batch in enumerate(epochs):
        assert generate_elastic_batch(ids, CONFIG, base_seed=1, epoch=epoch).equals(batch)
    for a, b in [(0, 1), (1, 2), (0, 2)]:
        assert not np.any(epochs[a].hash == epochs[b].hash)
        for name in PARAM_NAMES:
            assert not np.any(getattr(epochs[a], name) == getattr(epochs[b], name)), name
    other_seed = generate_elastic_batch(ids, CONFIG, base_seed=2, epoch=0)
    assert not np.any(other_seed.hash == epochs[0].hash)
    one = gen_elastic_augmentation_params(7, CONFIG, 1, 1)
    assert one == gen_elastic_augmentation_params(7, CONFIG, 1, 1)
    assert one != gen_elastic_augmentation_params(7, CONFIG, 1, 2)


def test_elastic_differs_from_plain_and_rank_aware() -> None:
    elastic = generate_elastic_batch(range(1000), CONFIG)
    assert not np.any(elastic.hash == generate_batch(range(1000), CONFIG).hash)
    assert not np.any(elastic.hash == generate_distributed_batch(range(1000), 0, 1, CONFIG).hash)


# --- distinct tuples: the whole-digest seed against the 32-bit seed ---------------------

MILLION = 1_000_000


@pytest.mark.slow
def test_elastic_mode_gives_a_million_ids_a_million_distinct_tuples() -> None:
    batch = generate_elastic_batch(range(MILLION), workers=2)
    assert distinct_rows(batch) == MILLION
    assert distinct_hashes(batch) == MILLION


#: Duplicated tuples among ids 0 .. 10**6 - 1 (default config), measured: v0.2 seeds the
#: generator with 32 bits, so about n**2 / 2**33 ~ 116 pairs of samples share a seed
#: and with it all five parameters. Deterministic, so asserted exactly.
V02_DUPLICATES = {"plain": 111, "rank_aware": 103}


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["plain", "rank_aware"])
def test_v02_32_bit_seeds_give_samples_shared_tuples(mode: str) -> None:
    if mode == "plain":
        batch = generate_batch(range(MILLION), workers=2)
    else:
        batch = generate_distributed_batch(range(MILLION), rank=0, world_size=1, workers=2)
    duplicates = MILLION - distinct_rows(batch)
    assert duplicates > 0  # the weakness the elastic mode removes
    assert duplicates == V02_DUPLICATES[mode]
    # the cause: the digests all differ, but their last 32 bits (the seed) do not
    assert distinct_hashes(batch) == MILLION
    assert MILLION - distinct_seeds(batch) == duplicates


# --- range splitting --------------------------------------------------------------------


def test_split_known_answers(vectors: dict[str, Any]) -> None:
    for case in vectors["splits"]:
        splitter = DistributedRangeSplitter(case["total"], case["world_size"])
        want = [tuple(r) for r in case["ranges"]]
        assert splitter.get_all_ranges() == want, case
        assert [splitter.get_rank_range(rank) for rank in range(case["world_size"])] == want
        assert splitter.validate_ranges()


def test_split_example() -> None:
    splitter = DistributedRangeSplitter(10, 4)
    assert splitter.get_all_ranges() == [(0, 3), (3, 6), (6, 8), (8, 10)]
    assert splitter.get_all_rank_ranges()[2] == RankRange(6, 8, 2, 10)
    assert [splitter.get_rank_for_sample(i) for i in range(10)] == [0, 0, 0, 1, 1, 1, 2, 2, 3, 3]


totals = st.one_of(
    st.integers(min_value=0, max_value=64),
    st.integers(min_value=0, max_value=10**7),
    st.integers(min_value=0, max_value=2**70),
)
world_sizes = st.one_of(
    st.integers(min_value=1, max_value=16), st.integers(min_value=1, max_value=300)
)


@given(total=totals, world_size=world_sizes)
def test_split_rule(total: int, world_size: int) -> None:
    splitter = DistributedRangeSplitter(total, world_size)
    ranges = splitter.get_all_ranges()
    base, rem = total // world_size, total % world_size
    assert len(ranges) == world_size
    covered = 0
    for rank, (start, end) in enumerate(ranges):
        size = base + 1 if rank < rem else base
        if size == 0:
            assert (start, end) == (0, 0)
        else:
            assert (start, end) == (covered, covered + size)  # contiguous, in rank order
            covered = end
        assert splitter.get_rank_range(rank) == (start, end)
    assert covered == total
    assert splitter.validate_ranges()
    rank_ranges = splitter.get_all_rank_ranges()
    assert [(r.start_id, r.end_id) for r in rank_ranges] == ranges
    assert [r.rank for r in rank_ranges] == list(range(world_size))
    assert {r.total_samples for r in rank_ranges} == {total}
    assert sum(r.size for r in rank_ranges) == total
    assert all(r.ids() == range(r.start_id, r.end_id) for r in rank_ranges)


def linear_owner(ranges: list[tuple[int, int]], sample_id: int) -> int:
    owners = [rank for rank, (start, end) in enumerate(ranges) if start <= sample_id < end]
    assert len(owners) == 1
    return owners[0]


@given(total=totals, world_size=world_sizes, data=st.data())
def test_rank_for_sample_agrees_with_a_linear_search(
    total: int, world_size: int, data: st.DataObject
) -> None:
    splitter = DistributedRangeSplitter(total, world_size)
    with pytest.raises(ValueError, match="total_samples"):
        splitter.get_rank_for_sample(total)
    if total == 0:
        return
    ranges = splitter.get_all_ranges()
    edges = [i for start, end in ranges if end > start for i in (start, end - 1)]
    drawn = data.draw(st.lists(st.integers(min_value=0, max_value=total - 1), max_size=20))
    for sample_id in [*edges, *drawn]:
        assert splitter.get_rank_for_sample(sample_id) == linear_owner(ranges, sample_id)


def test_rank_for_sample_of_every_id_of_small_splits() -> None:
    for total in range(40):
        for world_size in range(1, 13):
            splitter = DistributedRangeSplitter(total, world_size)
            ranges = splitter.get_all_ranges()
            for sample_id in range(total):
                assert splitter.get_rank_for_sample(sample_id) == linear_owner(ranges, sample_id)


class ListedRanges(DistributedRangeSplitter):
    """A splitter that reports the ranges it is given (to test validate_ranges)."""

    def __init__(self, total: int, ranges: list[tuple[int, int]]) -> None:
        super().__init__(total, len(ranges))
        self.ranges = ranges

    def get_all_ranges(self) -> list[tuple[int, int]]:
        return self.ranges


@pytest.mark.parametrize(
    ("total", "ranges", "valid"),
    [
        (10, [(0, 3), (3, 10)], True),
        (10, [(0, 3), (0, 0), (3, 10)], True),
        (10, [(0, 3), (4, 10)], False),  # a gap
        (10, [(0, 5), (3, 10)], False),  # an overlap
        (10, [(0, 3), (3, 9)], False),  # too short
        (10, [(0, 3), (3, 11)], False),  # too long
        (10, [(3, 10), (0, 3)], False),  # out of rank order
        (10, [(0, 6), (6, 4), (4, 10)], False),  # backwards
    ],
)
def test_validate_ranges_finds_bad_covers(
    total: int, ranges: list[tuple[int, int]], valid: bool
) -> None:
    assert ListedRanges(total, ranges).validate_ranges() is valid


@pytest.mark.parametrize(
    ("args", "error", "name"),
    [
        ((10, 0), ValueError, "world_size"),
        ((10, -2), ValueError, "world_size"),
        ((-1, 2), ValueError, "total_samples"),
        ((10, True), TypeError, "world_size"),
        ((10, 2.0), TypeError, "world_size"),
        ((10.0, 2), TypeError, "total_samples"),
        (("10", 2), TypeError, "total_samples"),
        ((None, 2), TypeError, "total_samples"),
    ],
)
def test_splitter_rejects_bad_arguments(
    args: tuple[Any, Any], error: type[Exception], name: str
) -> None:
    with pytest.raises(error, match=name):
        DistributedRangeSplitter(*args)


@pytest.mark.parametrize(
    ("call", "error", "name"),
    [
        (lambda s: s.get_rank_range(4), ValueError, "rank"),
        (lambda s: s.get_rank_range(-1), ValueError, "rank"),
        (lambda s: s.get_rank_range(True), TypeError, "rank"),
        (lambda s: s.get_rank_range(1.0), TypeError, "rank"),
        (lambda s: s.get_rank_for_sample(10), ValueError, "total_samples"),
        (lambda s: s.get_rank_for_sample(-1), ValueError, "sample_id"),
        (lambda s: s.get_rank_for_sample(False), TypeError, "sample_id"),
        (lambda s: s.get_rank_for_sample("3"), TypeError, "sample_id"),
    ],
)
def test_splitter_rejects_bad_ranks_and_ids(
    call: Callable[[DistributedRangeSplitter], Any], error: type[Exception], name: str
) -> None:
    with pytest.raises(error, match=name):
        call(DistributedRangeSplitter(10, 4))


# --- bad inputs to the generating functions ---------------------------------------------

RANK_AWARE_CALLS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "gen_distributed_augmentation_params": lambda kw: gen_distributed_augmentation_params(
        0, kw["rank"], None, kw["base_seed"], kw["world_size"]
    ),
    "generate_distributed_batch": lambda kw: generate_distributed_batch(
        range(3), kw["rank"], kw["world_size"], None, kw["base_seed"]
    ),
    "stream_distributed_augmentation_range": lambda kw: stream_distributed_augmentation_range(
        0, 3, kw["rank"], kw["world_size"], None, kw["base_seed"]
    ),
    "stream_distributed_augmentation_chain": lambda kw: stream_distributed_augmentation_chain(
        3, kw["rank"], kw["world_size"], None, kw["base_seed"]
    ),
    "RankAwareSeedGenerator": lambda kw: RankAwareSeedGenerator(
        kw["base_seed"], kw["world_size"]
    ).generate_seed(0, kw["rank"]),
}


@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        ({"rank": 2, "world_size": 2}, ValueError, "rank must be < world_size"),
        ({"rank": 9, "world_size": 4}, ValueError, "rank must be < world_size"),
        ({"rank": -1}, ValueError, "rank"),
        ({"rank": True}, TypeError, "rank"),
        ({"rank": 1.0}, TypeError, "rank"),
        ({"rank": "0"}, TypeError, "rank"),
        ({"world_size": 0, "rank": 0}, ValueError, "world_size"),
        ({"world_size": 2.0}, TypeError, "world_size"),
        ({"world_size": False}, TypeError, "world_size"),
        ({"base_seed": -1}, ValueError, "base_seed"),
        ({"base_seed": 1.5}, TypeError, "base_seed"),
        ({"base_seed": True}, TypeError, "base_seed"),
        ({"base_seed": "42"}, TypeError, "base_seed"),
    ],
)
@pytest.mark.parametrize("function", list(RANK_AWARE_CALLS))
def test_rank_aware_functions_reject_bad_arguments(
    function: str, bad: dict[str, Any], error: type[Exception], message: str
) -> None:
    kwargs = {"rank": 1, "world_size": 2, "base_seed": 0, **bad}
    with pytest.raises(error, match=message):
        RANK_AWARE_CALLS[function](kwargs)  # streams fail when called, not when iterated


ELASTIC_CALLS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "gen_elastic_augmentation_params": lambda kw: gen_elastic_augmentation_params(
        kw["sample_id"], None, kw["base_seed"], kw["epoch"]
    ),
    "generate_elastic_batch": lambda kw: generate_elastic_batch(
        [kw["sample_id"]], None, kw["base_seed"], kw["epoch"]
    ),
    "stream_elastic_augmentation_range": lambda kw: stream_elastic_augmentation_range(
        kw["sample_id"], 5, None, kw["base_seed"], kw["epoch"]
    ),
}


@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        ({"epoch": -1}, ValueError, "epoch"),
        ({"epoch": True}, TypeError, "epoch"),
        ({"epoch": 1.0}, TypeError, "epoch"),
        ({"epoch": "1"}, TypeError, "epoch"),
        ({"base_seed": -5}, ValueError, "base_seed"),
        ({"base_seed": 0.0}, TypeError, "base_seed"),
        ({"base_seed": None}, TypeError, "base_seed"),
        ({"sample_id": -1}, ValueError, "id"),
        ({"sample_id": True}, TypeError, "id"),
        ({"sample_id": 2.0}, TypeError, "id"),
    ],
)
@pytest.mark.parametrize("function", list(ELASTIC_CALLS))
def test_elastic_functions_reject_bad_arguments(
    function: str, bad: dict[str, Any], error: type[Exception], message: str
) -> None:
    kwargs = {"sample_id": 0, "base_seed": 0, "epoch": 0, **bad}
    with pytest.raises(error, match=message):
        ELASTIC_CALLS[function](kwargs)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: gen_distributed_augmentation_params(-1, 0), ValueError),
        (lambda: gen_distributed_augmentation_params(True, 0), TypeError),
        (lambda: generate_distributed_batch([3, -1], 0, 1), ValueError),
        (lambda: generate_distributed_batch("012", 0, 1), TypeError),  # type: ignore[arg-type]
        (lambda: generate_elastic_batch(np.array([1.0, 2.0])), TypeError),
        (lambda: stream_distributed_augmentation_range(5, 3, 0, 1), ValueError),
        (lambda: stream_elastic_augmentation_range(0, 5, chunk_size=0), ValueError),
        (lambda: gen_elastic_augmentation_params(0, {"augmentation_depth": 3}), TypeError),  # type: ignore[arg-type]
        (lambda: generate_distributed_batch(range(3), 0, 1, workers=0), ValueError),
        (
            lambda: RankAwareSeedGenerator(0, 1).generate_seed(0, 0, augmentation_depth=0),
            ValueError,
        ),
    ],
)
def test_other_bad_inputs(call: Callable[[], Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        call()


# --- files ------------------------------------------------------------------------------

RANK_INFO = {"rank": 1, "world_size": 3, "base_seed": 7}
ELASTIC_INFO = {"base_seed": 7, "epoch": 2}


def rank_aware_records() -> list[dict[str, Any]]:
    start, end = DistributedRangeSplitter(100, 3).get_rank_range(1)
    return list(stream_distributed_augmentation_range(start, end, 1, 3, CONFIG, 7))


def elastic_records() -> list[dict[str, Any]]:
    start, end = DistributedRangeSplitter(100, 3).get_rank_range(1)
    return list(stream_elastic_augmentation_range(start, end, CONFIG, 7, 2))


def edit_metadata(path: Path, fmt: str, edit: Callable[[dict[str, Any]], None]) -> None:
    """Apply ``edit`` to the dpa metadata stored in the file at ``path``."""
    if fmt == "json":
        data = json.loads(path.read_text())
        edit(data["metadata"])
        path.write_text(json.dumps(data))
    elif fmt == "jsonl":
        first, rest = path.read_text().split("\n", 1)
        header = json.loads(first)
        edit(header["metadata"])
        path.write_text(json.dumps(header) + "\n" + rest)
    else:
        raw = pq.ParquetFile(path).metadata.metadata
        kv = {k: v for k, v in raw.items() if k != b"ARROW:schema"}
        metadata = json.loads(kv[b"dpa.metadata"])
        edit(metadata)
        kv[b"dpa.metadata"] = json.dumps(metadata).encode()
        pq.write_table(pq.read_table(path).replace_schema_metadata(kv), path)


@pytest.mark.parametrize("fmt", FORMATS)
def test_rank_aware_file_verifies(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"rank1.{fmt}"
    start, end = DistributedRangeSplitter(100, 3).get_rank_range(1)
    stream = stream_distributed_augmentation_range(start, end, 1, 3, CONFIG, 7, chunk_size=8)
    count = save_augmentation_stream(stream, path, CONFIG, distributed_info=RANK_INFO)
    assert count == end - start == 33
    report = verify_augmentation_file(path)
    assert report.ok and report.checked == count
    file = read_augmentation_file(path)
    assert file.metadata["distributed_info"] == RANK_INFO
    assert "elastic_info" not in file.metadata


@pytest.mark.parametrize("fmt", FORMATS)
def test_elastic_file_verifies(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"elastic.{fmt}"
    stream = stream_elastic_augmentation_range(0, 100, CONFIG, 7, 2, chunk_size=16)
    count = save_augmentation_stream(stream, path, CONFIG, elastic_info=ELASTIC_INFO)
    report = verify_augmentation_file(path)
    assert report.ok and report.checked == count == 100
    file = read_augmentation_file(path)
    assert file.metadata["elastic_info"] == {"key_version": "dpa-elastic-v1", **ELASTIC_INFO}
    assert "distributed_info" not in file.metadata


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("records", "metadata"),
    [
        (rank_aware_records, {"distributed_info": {**RANK_INFO, "rank": 0}}),
        (rank_aware_records, {"distributed_info": {**RANK_INFO, "base_seed": 8}}),
        (rank_aware_records, {"elastic_info": ELASTIC_INFO}),
        (rank_aware_records, {}),
        (elastic_records, {"elastic_info": {**ELASTIC_INFO, "epoch": 3}}),
        (elastic_records, {"elastic_info": {**ELASTIC_INFO, "base_seed": 6}}),
        (elastic_records, {"distributed_info": RANK_INFO}),
        (elastic_records, {}),
    ],
    ids=[
        "rank-aware-as-rank0",
        "rank-aware-as-seed8",
        "rank-aware-as-elastic",
        "rank-aware-as-plain",
        "elastic-as-epoch3",
        "elastic-as-seed6",
        "elastic-as-rank-aware",
        "elastic-as-plain",
    ],
)
def test_records_under_the_wrong_metadata_fail(
    tmp_path: Path,
    fmt: str,
    records: Callable[[], list[dict[str, Any]]],
    metadata: dict[str, Any],
) -> None:
    path = tmp_path / f"wrong.{fmt}"
    chain = records()
    save_augmentation_chain(chain, path, CONFIG, **metadata)
    report = verify_augmentation_file(path)
    assert not report.ok
    assert (report.checked, report.mismatched_samples) == (len(chain), len(chain))


@pytest.mark.parametrize("fmt", FORMATS)
def test_rank_aware_file_verifies_under_another_world_size(tmp_path: Path, fmt: str) -> None:
    """The world size is checked, not hashed (as in v0.2): rank 1 of 4 has rank 1 of 3's values."""
    path = tmp_path / f"ws.{fmt}"
    info = {**RANK_INFO, "world_size": 4}
    save_augmentation_chain(rank_aware_records(), path, CONFIG, distributed_info=info)
    assert verify_augmentation_file(path).ok


def test_writer_refuses_both_modes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not both"):
        save_augmentation_stream(
            elastic_records(),
            tmp_path / "both.jsonl",
            CONFIG,
            distributed_info=RANK_INFO,
            elastic_info=ELASTIC_INFO,
        )
    assert not (tmp_path / "both.jsonl").exists()


@pytest.mark.parametrize("fmt", FORMATS)
def test_file_declaring_both_modes_is_rejected(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"both.{fmt}"
    save_augmentation_chain(elastic_records(), path, CONFIG, elastic_info=ELASTIC_INFO)
    edit_metadata(path, fmt, lambda m: m.update(distributed_info=RANK_INFO))
    with pytest.raises(DPAFileError, match="both distributed_info and elastic_info"):
        verify_augmentation_file(path)
    with pytest.raises(DPAFileError, match="both"):
        read_augmentation_file(path)


@pytest.mark.parametrize("fmt", FORMATS)
def test_file_with_an_unknown_elastic_key_version_is_rejected(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"v2.{fmt}"
    save_augmentation_chain(elastic_records(), path, CONFIG, elastic_info=ELASTIC_INFO)
    edit_metadata(path, fmt, lambda m: m["elastic_info"].update(key_version="dpa-elastic-v2"))
    with pytest.raises(DPAFileError, match="dpa-elastic-v2"):
        verify_augmentation_file(path)


def test_file_without_an_elastic_key_version_is_the_first_version(tmp_path: Path) -> None:
    path = tmp_path / "noversion.json"
    save_augmentation_chain(elastic_records(), path, CONFIG, elastic_info=ELASTIC_INFO)
    edit_metadata(path, "json", lambda m: m["elastic_info"].pop("key_version"))
    assert verify_augmentation_file(path).ok


@pytest.mark.parametrize(
    ("info", "message"),
    [
        ({"rank": 3, "world_size": 3, "base_seed": 0}, "rank 3 >= world_size 3"),
        ({"rank": 0, "world_size": 0, "base_seed": 0}, "world_size"),
        ({"rank": -1, "world_size": 2, "base_seed": 0}, "rank"),
        ({"rank": 0, "world_size": 2}, "base_seed"),
        ({"rank": True, "world_size": 2, "base_seed": 0}, "rank"),
    ],
)
def test_writer_rejects_bad_distributed_info(
    tmp_path: Path, info: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        save_augmentation_stream([], tmp_path / "bad.json", distributed_info=info)


@pytest.mark.parametrize(
    ("info", "message"),
    [
        ({"base_seed": 0, "epoch": -1}, "epoch"),
        ({"base_seed": 0}, "epoch"),
        ({"base_seed": 1.0, "epoch": 0}, "base_seed"),
        ({"base_seed": 0, "epoch": 0, "key_version": "dpa-elastic-v9"}, "key_version"),
    ],
)
def test_writer_rejects_bad_elastic_info(
    tmp_path: Path, info: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        save_augmentation_stream([], tmp_path / "bad.json", elastic_info=info)


# --- detect_distributed_context ---------------------------------------------------------

TORCHRUN = {"RANK": "3", "WORLD_SIZE": "8", "LOCAL_RANK": "1"}
SLURM = {"SLURM_PROCID": "5", "SLURM_NTASKS": "6", "SLURM_LOCALID": "2"}
OPENMPI = {
    "OMPI_COMM_WORLD_RANK": "1",
    "OMPI_COMM_WORLD_SIZE": "2",
    "OMPI_COMM_WORLD_LOCAL_RANK": "0",
}


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, (0, 1, 0, "single")),
        ({"PATH": "/usr/bin", "LOCAL_RANK": "0"}, (0, 1, 0, "single")),
        (TORCHRUN, (3, 8, 1, "torchrun")),
        (SLURM, (5, 6, 2, "slurm")),
        (OPENMPI, (1, 2, 0, "openmpi")),
        ({"RANK": "2", "WORLD_SIZE": "4"}, (2, 4, 2, "torchrun")),  # local rank: the rank
        ({"SLURM_PROCID": "0", "SLURM_NTASKS": "1"}, (0, 1, 0, "slurm")),
        ({"RANK": " 1 ", "WORLD_SIZE": "2\n", "LOCAL_RANK": "1"}, (1, 2, 1, "torchrun")),
        # precedence: torchrun over SLURM over Open MPI
        ({**OPENMPI, **SLURM, **TORCHRUN}, (3, 8, 1, "torchrun")),
        ({**SLURM, **TORCHRUN}, (3, 8, 1, "torchrun")),
        ({**OPENMPI, **SLURM}, (5, 6, 2, "slurm")),
        ({**OPENMPI, **TORCHRUN}, (3, 8, 1, "torchrun")),
    ],
)
def test_detect_from_environment(environ: dict[str, str], expected: tuple[Any, ...]) -> None:
    context = detect_distributed_context(environ)
    assert context == DistributedContext(*expected)
    assert context.is_distributed == (expected[1] > 1)


@given(
    size=st.integers(min_value=1, max_value=10**6),
    data=st.data(),
    source=st.sampled_from(
        [
            ("torchrun", "RANK", "WORLD_SIZE", "LOCAL_RANK"),
            ("slurm", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"),
            ("openmpi", *(f"OMPI_COMM_WORLD_{v}" for v in ("RANK", "SIZE", "LOCAL_RANK"))),
        ]
    ),
)
def test_detect_any_consistent_environment(
    size: int, data: st.DataObject, source: tuple[str, str, str, str]
) -> None:
    rank = data.draw(st.integers(min_value=0, max_value=size - 1))
    local = data.draw(st.integers(min_value=0, max_value=size - 1))
    name, rank_var, size_var, local_var = source
    environ = {rank_var: str(rank), size_var: str(size), local_var: str(local)}
    assert detect_distributed_context(environ) == DistributedContext(rank, size, local, name)


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"RANK": "4", "WORLD_SIZE": "4"}, "RANK"),
        ({"RANK": "-1", "WORLD_SIZE": "4"}, "RANK"),
        ({"RANK": "0", "WORLD_SIZE": "0"}, "WORLD_SIZE"),
        ({"RANK": "0", "WORLD_SIZE": "-2"}, "WORLD_SIZE"),
        ({"RANK": "one", "WORLD_SIZE": "2"}, "RANK"),
        ({"RANK": "", "WORLD_SIZE": "2"}, "RANK"),
        ({"RANK": "0", "WORLD_SIZE": "2.0"}, "WORLD_SIZE"),
        ({"RANK": "0"}, "WORLD_SIZE"),
        ({"WORLD_SIZE": "2"}, "RANK"),
        ({"RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "x"}, "LOCAL_RANK"),
        ({"RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "-1"}, "LOCAL_RANK"),
        ({"RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "2"}, "LOCAL_RANK"),
        ({"SLURM_PROCID": "6", "SLURM_NTASKS": "6"}, "SLURM_PROCID"),
        ({"SLURM_PROCID": "0", "SLURM_NTASKS": "0"}, "SLURM_NTASKS"),
        ({"SLURM_NTASKS": "4"}, "SLURM_PROCID"),
        ({"SLURM_PROCID": "1", "SLURM_NTASKS": "4", "SLURM_LOCALID": "a"}, "SLURM_LOCALID"),
        ({"OMPI_COMM_WORLD_RANK": "0"}, "OMPI_COMM_WORLD_SIZE"),
        ({"OMPI_COMM_WORLD_RANK": "r", "OMPI_COMM_WORLD_SIZE": "2"}, "OMPI_COMM_WORLD_RANK"),
        ({"OMPI_COMM_WORLD_RANK": "2", "OMPI_COMM_WORLD_SIZE": "2"}, "OMPI_COMM_WORLD_RANK"),
        # a broken torchrun environment is an error, not a reason to try SLURM
        ({**SLURM, "RANK": "9", "WORLD_SIZE": "8"}, "RANK"),
    ],
)
def test_detect_rejects_inconsistent_environments(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(ValueError, match=rf"(?<![A-Z_]){variable}\b"):
        detect_distributed_context(environ)


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in CONTEXT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_detect_reads_the_process_environment(clean_environment: pytest.MonkeyPatch) -> None:
    assert detect_distributed_context() == DistributedContext(0, 1, 0, "single")
    for name, value in SLURM.items():
        clean_environment.setenv(name, value)
    assert detect_distributed_context() == DistributedContext(5, 6, 2, "slurm")
    assert detect_distributed_context({}) == DistributedContext(0, 1, 0, "single")


def test_detect_an_initialized_torch_process_group(
    tmp_path: Path, clean_environment: pytest.MonkeyPatch
) -> None:
    torch = pytest.importorskip("torch")
    dist = torch.distributed
    if not dist.is_available():
        pytest.skip("torch.distributed is not available")
    for name, value in SLURM.items():  # the process group comes first
        clean_environment.setenv(name, value)
    store = (tmp_path / "store").as_uri()
    dist.init_process_group("gloo", init_method=store, rank=0, world_size=1)
    try:
        context = detect_distributed_context()
        assert context == DistributedContext(0, 1, 0, "torch.distributed")
        assert not context.is_distributed
        assert detect_distributed_context(SLURM).source == "slurm"  # an environ is read as given
    finally:
        dist.destroy_process_group()
    assert detect_distributed_context().source == "slurm"


def test_import_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "import dpa._distributed as d\n"
        "d.detect_distributed_context()\n"
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in CONTEXT_VARIABLES}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("script", ["ddp_torchrun.py", "torchrun_ddp_params.py"])
def test_torchrun_examples_say_how_to_launch_them(script: str) -> None:
    """Run as a plain script (no torchrun), an example says how to launch it: exit 2,
    no traceback (torch's own 'RANK expected, but not set' came 20 lines deep)."""
    path = Path(__file__).parents[1] / "examples" / script
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE")}
    done = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "run it under torchrun" in done.stderr and f"examples/{script}" in done.stderr
    helped = subprocess.run([sys.executable, str(path), "--help"], capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    options = [line for line in helped.stdout.splitlines() if line.strip().startswith("--")]
    assert options and all(len(line.split(None, 1)) == 2 for line in options), helped.stdout


def test_every_example_option_has_help() -> None:
    """Each example script's options say what they are (argparse help text)."""
    import ast

    for path in sorted((Path(__file__).parents[1] / "examples").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument":
                assert any(k.arg == "help" for k in node.keywords), (path.name, node.lineno)
