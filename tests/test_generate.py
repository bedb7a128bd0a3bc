"""Batches and streams: ParamBatch, generate_batch, iter_batches, the streams and
generate_augmentation_chain. Everything equals gen_augmentation_params per id."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, strategies as st

import dpa
from dpa import (
    PARAM_NAMES,
    AugmentationConfig,
    ParamBatch,
    StreamingProgress,
    gen_augmentation_params,
    generate_augmentation_chain,
    generate_batch,
    get_preset,
    iter_batches,
    stream_augmentation_chain,
    stream_augmentation_range,
)
from dpa._generate import DEFAULT_BLOCK
from dpa._keys import ElasticScheme, RankAwareScheme

COLUMNS = ["sample_id", *PARAM_NAMES, "hash"]


def expected_records(ids: Any, config: AugmentationConfig | None = None) -> list[dict[str, Any]]:
    return [{**gen_augmentation_params(int(i), config), "sample_id": int(i)} for i in ids]


def without_ids(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in record.items() if k != "sample_id"} for record in records]


def flatten(chunks: Any) -> list[dict[str, Any]]:
    return [record for chunk in chunks for record in chunk]


# --- generate_batch: inputs -----------------------------------------------------------


@pytest.mark.parametrize(
    "ids",
    [
        range(25),
        range(7, 40, 3),
        range(30, -1, -4),
        [5, 3, 5, 0, 2**40],
        (1, 2, 3),
        np.arange(12, dtype=np.int64),
        np.array([9, 1, 4], dtype=np.int32),
        np.array([200, 7], dtype=np.uint8),
        np.array([0, 2**40, 2**63 - 1], dtype=np.uint64),
        np.array([3, 2**80], dtype=object),
    ],
    ids=[
        "range",
        "range-step",
        "range-descending",
        "list",
        "tuple",
        "int64",
        "int32",
        "uint8",
        "uint64",
        "object-array",
    ],
)
def test_batch_equals_per_sample(ids: Any) -> None:
    config = get_preset("mild")
    batch = generate_batch(ids, config)
    id_values = [int(i) for i in ids]
    assert batch.to_dicts() == expected_records(id_values, config)
    assert batch.sample_id.tolist() == id_values
    assert len(batch) == len(id_values)


def test_generator_ids() -> None:
    batch = generate_batch(i * i for i in range(6))
    assert batch.to_dicts() == expected_records([i * i for i in range(6)])


def test_batch_default_config_is_the_default() -> None:
    assert generate_batch(range(10)).equals(generate_batch(range(10), AugmentationConfig()))
    assert not generate_batch(range(10)).equals(generate_batch(range(10), get_preset("mild")))


@pytest.mark.parametrize(
    "ids", [[], (), range(0), range(5, 5), range(2**64, 2**64), np.array([], dtype=np.int64)]
)
def test_empty_batch(ids: Any) -> None:
    batch = generate_batch(ids)
    assert len(batch) == 0
    assert batch.to_dicts() == []
    for name, column in batch.columns().items():
        assert column.shape == (0,), name
    assert batch.equals(generate_batch([]))


def test_column_dtypes() -> None:
    batch = generate_batch(range(4))
    assert list(batch.columns()) == COLUMNS
    assert batch.sample_id.dtype == np.int64
    for name in PARAM_NAMES:
        assert getattr(batch, name).dtype == np.float64
    assert batch.hash.dtype == np.dtype("S64")
    # any integer input dtype gives int64 ids
    assert generate_batch(np.array([1, 2], dtype=np.uint16)).sample_id.dtype == np.int64


@pytest.mark.parametrize(
    "ids",
    [
        [2**63],
        [1, 2**63 + 5, 2**64, 2**130],
        range(2**63 - 2, 2**63 + 2),
        np.array([2**63, 2**64 - 1], dtype=np.uint64),
    ],
    ids=["2**63", "mixed", "range", "uint64"],
)
def test_ids_beyond_int64(ids: Any) -> None:
    batch = generate_batch(ids)
    values = [int(i) for i in ids]
    assert batch.sample_id.dtype == object
    assert batch.sample_id.tolist() == values
    assert all(type(i) is int for i in batch.sample_id.tolist())
    assert batch.to_dicts() == expected_records(values)
    assert batch[len(values) - 1] == expected_records(values[-1:])[0]


# --- generate_batch: bad input --------------------------------------------------------


@pytest.mark.parametrize(
    "ids",
    [
        [0, -1],
        [-(2**70)],
        np.array([3, -2], dtype=np.int64),
        np.array([-1], dtype=np.int8),
        np.array([0, -5], dtype=object),
        range(-3, 3),
        range(3, -2, -1),
    ],
    ids=repr,
)
def test_negative_ids_are_value_errors(ids: Any) -> None:
    with pytest.raises(ValueError, match="non-negative"):
        generate_batch(ids)


@pytest.mark.parametrize(
    "ids",
    [
        np.array([1.0, 2.0]),
        np.array([], dtype=np.float64),
        np.array([True, False]),
        np.array(["1"]),
        [1.0],
        [1, 2.5],
        [True],
        [np.bool_(True)],
        [np.float64(1)],
        ["1"],
        [None],
        "123",
        b"123",
        5,
        None,
        np.array([1.0], dtype=object),
    ],
    ids=repr,
)
def test_non_integer_ids_are_type_errors(ids: Any) -> None:
    with pytest.raises(TypeError):
        generate_batch(ids)


@pytest.mark.parametrize("ids", [np.zeros((2, 2), dtype=np.int64), np.array(5)], ids=repr)
def test_non_1d_arrays_are_value_errors(ids: Any) -> None:
    with pytest.raises(ValueError, match="1-D"):
        generate_batch(ids)


@pytest.mark.parametrize("config", [{}, "mild", AugmentationConfig().to_dict()], ids=repr)
def test_batch_bad_config(config: Any) -> None:
    with pytest.raises(TypeError):
        generate_batch(range(3), config)


# --- ParamBatch -----------------------------------------------------------------------


def test_to_dicts_and_getitem() -> None:
    config = get_preset("aggressive")
    batch = generate_batch(range(100, 110), config)
    records = batch.to_dicts()
    assert records == expected_records(range(100, 110), config)
    assert all(list(record) == [*PARAM_NAMES, "hash", "sample_id"] for record in records)
    for index in (0, 3, 9, -1, -10, np.int64(4)):
        record = batch[index]
        assert record == records[index]
        assert type(record["sample_id"]) is int
        assert all(type(record[name]) is float for name in PARAM_NAMES)
        assert type(record["hash"]) is str
    with pytest.raises(IndexError):
        batch[10]


def test_slices() -> None:
    batch = generate_batch(range(20))
    for piece, ids in [
        (batch[3:8], range(3, 8)),
        (batch[::3], range(0, 20, 3)),
        (batch[::-1], range(19, -1, -1)),
        (batch[15:100], range(15, 20)),
        (batch[5:5], range(0)),
    ]:
        assert isinstance(piece, ParamBatch)
        assert piece.equals(generate_batch(ids))
        assert piece.to_dicts() == expected_records(ids)


def test_columns_match_records() -> None:
    batch = generate_batch([4, 8, 15, 16, 23, 42])
    records = batch.to_dicts()
    columns = batch.columns()
    assert list(columns) == COLUMNS
    for name in PARAM_NAMES:
        assert columns[name].tolist() == [record[name] for record in records]
    assert [h.decode() for h in columns["hash"].tolist()] == [r["hash"] for r in records]
    assert columns["sample_id"].tolist() == [4, 8, 15, 16, 23, 42]


def test_equals() -> None:
    batch = generate_batch(range(6))
    assert batch.equals(generate_batch(range(6)))
    assert batch.equals(generate_batch(np.arange(6)))
    assert not batch.equals(generate_batch(range(5)))
    assert not batch.equals(generate_batch(range(1, 7)))
    assert not batch.equals(generate_batch(range(6), get_preset("mild")))
    assert not batch.equals(batch.to_dicts())  # type: ignore[arg-type]
    # one bit of one value differs
    columns = {name: column.copy() for name, column in batch.columns().items()}
    columns["noise"][2] = np.nextafter(columns["noise"][2], np.inf)
    assert not batch.equals(ParamBatch(**columns))
    # one hash differs
    columns = {name: column.copy() for name, column in batch.columns().items()}
    columns["hash"][0] = b"0" * 64
    assert not batch.equals(ParamBatch(**columns))


def test_from_dicts() -> None:
    batch = generate_batch(range(50, 60))
    assert ParamBatch.from_dicts(batch.to_dicts()).equals(batch)
    # v0.2 records have no sample_id: they are numbered from start_id
    v02 = without_ids(batch.to_dicts())
    assert ParamBatch.from_dicts(v02, start_id=50).equals(batch)
    assert ParamBatch.from_dicts(v02).sample_id.tolist() == list(range(10))
    huge = generate_batch([2**64, 2**70])
    rebuilt = ParamBatch.from_dicts(huge.to_dicts())
    assert rebuilt.equals(huge) and rebuilt.sample_id.dtype == object
    assert len(ParamBatch.from_dicts([])) == 0


def test_concat() -> None:
    whole = generate_batch(range(30))
    parts = [whole[0:7], whole[7:7], whole[7:20], whole[20:]]
    merged = ParamBatch.concat(parts)
    assert merged.equals(whole)
    assert merged.sample_id.dtype == np.int64
    assert len(ParamBatch.concat([])) == 0
    assert ParamBatch.concat([whole]).equals(whole)
    mixed = ParamBatch.concat([generate_batch([1, 2]), generate_batch([2**64])])
    assert mixed.sample_id.dtype == object
    assert mixed.equals(generate_batch([1, 2, 2**64]))


def test_to_arrow() -> None:
    pa = pytest.importorskip("pyarrow")
    batch = generate_batch(range(5, 12), get_preset("mild"))
    table = batch.to_arrow()
    assert table.column_names == COLUMNS
    assert table.schema.field("sample_id").type == pa.int64()
    for name in PARAM_NAMES:
        assert table.schema.field(name).type == pa.float64()
    assert table.schema.field("hash").type == pa.string()
    assert table.to_pylist() == batch.to_dicts()
    assert generate_batch([]).to_arrow().num_rows == 0


def test_to_arrow_large_ids() -> None:
    pa = pytest.importorskip("pyarrow")
    table = generate_batch([2**63, 1]).to_arrow()
    assert table.schema.field("sample_id").type == pa.uint64()
    assert table.column("sample_id").to_pylist() == [2**63, 1]
    table = generate_batch([2**64, 1]).to_arrow()
    assert table.schema.field("sample_id").type == pa.string()
    assert table.column("sample_id").to_pylist() == [str(2**64), "1"]
    assert table.column("hash").to_pylist() == [
        gen_augmentation_params(2**64)["hash"],
        gen_augmentation_params(1)["hash"],
    ]


def test_to_arrow_of_an_empty_slice_of_large_ids() -> None:
    pytest.importorskip("pyarrow")
    assert generate_batch([2**64])[0:0].to_arrow().num_rows == 0


def test_to_arrow_of_ids_beyond_the_str_digit_limit() -> None:
    pytest.importorskip("pyarrow")
    table = generate_batch([10**5000]).to_arrow()
    assert table.column("sample_id").to_pylist() == ["1" + "0" * 5000]


# --- iter_batches ---------------------------------------------------------------------


def test_iter_batches() -> None:
    config = get_preset("aggressive")
    batches = list(iter_batches(3, 20, config, batch_size=5))
    assert [len(b) for b in batches] == [5, 5, 5, 2]
    assert ParamBatch.concat(batches).equals(generate_batch(range(3, 20), config))
    assert list(iter_batches(4, 4)) == []


def test_iter_batches_with_a_rank_scheme_matches_distributed_vectors(
    vectors: dict[str, Any], configs: dict[str, AugmentationConfig]
) -> None:
    for vector in vectors["distributed"]:
        scheme = RankAwareScheme(vector["base_seed"], vector["rank"], vector["rank"] + 1)
        sample_id = vector["sample_id"]
        config = configs[vector["config"]]
        (batch,) = iter_batches(sample_id, sample_id + 1, config, scheme=scheme)
        record = batch[0]
        assert record.pop("sample_id") == sample_id
        expected = dict(vector["params"])
        del expected["rank"]
        assert record == expected


def test_iter_batches_raw_key_arguments_are_deprecated_but_give_the_same_numbers() -> None:
    scheme = RankAwareScheme(42, 1, 2)
    with pytest.warns(DeprecationWarning, match="scheme="):
        (old,) = iter_batches(0, 5, key_prefix=b"42:1:")
    (new,) = iter_batches(0, 5, scheme=scheme)
    assert old.equals(new)
    with pytest.raises(ValueError, match="not both"), pytest.warns(DeprecationWarning):
        iter_batches(0, 5, scheme=scheme, seed_words=8)


@pytest.mark.parametrize("backend", ["native", "python"])
def test_one_entry_point_for_every_scheme(backend: str) -> None:
    if backend == "native" and dpa.backend() != "native":
        pytest.skip("native kernel not built")
    ids = [0, 5, 2**64 + 3]
    for scheme in (None, RankAwareScheme(3, 1, 2), ElasticScheme(4, 5)):
        batch = generate_batch(ids, scheme=scheme, backend=backend)
        fields = {} if scheme is None else scheme.record_fields
        for row, sample_id in enumerate(ids):
            one = gen_augmentation_params(sample_id, scheme=scheme, backend=backend)
            row_values = {k: v for k, v in batch[row].items() if k != "sample_id"}
            assert one == {**row_values, **fields}
        streamed = list(dpa.stream_augmentation_range(0, 3, scheme=scheme))
        assert [r.get("rank") for r in streamed] == [fields.get("rank")] * 3
    with pytest.raises(TypeError, match="KeyScheme"):
        generate_batch(ids, scheme="elastic")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"batch_size": 0}, ValueError),
        ({"batch_size": -3}, ValueError),
        ({"batch_size": 2.0}, TypeError),
        ({"batch_size": True}, TypeError),
        ({"start_id": 5, "end_id": 4}, ValueError),
        ({"start_id": -1}, ValueError),
        ({"end_id": 3.0}, TypeError),
        ({"config": {}}, TypeError),
        ({"progress_callback": 3}, TypeError),
    ],
    ids=repr,
)
def test_iter_batches_checks_arguments_at_call_time(
    kwargs: dict[str, Any], error: type[Exception]
) -> None:
    arguments: dict[str, Any] = {"start_id": 0, "end_id": 10, **kwargs}
    with pytest.raises(error):
        iter_batches(**arguments)  # raising without iterating


# --- streams --------------------------------------------------------------------------


def test_stream_chain_yields_records() -> None:
    config = get_preset("mild")
    records = list(stream_augmentation_chain(25, config))
    assert records == expected_records(range(25), config)
    assert list(stream_augmentation_chain(0)) == []


def test_stream_chain_start_id() -> None:
    records = list(stream_augmentation_chain(10, start_id=1000))
    assert records == expected_records(range(1000, 1010))
    huge = list(stream_augmentation_chain(3, start_id=2**64 - 1))
    assert huge == expected_records(range(2**64 - 1, 2**64 + 2))


@pytest.mark.parametrize(("n", "chunk_size"), [(10, 3), (9, 3), (5, 1), (5, 5), (5, 100), (0, 4)])
def test_stream_chain_chunks(n: int, chunk_size: int) -> None:
    chunks = list(stream_augmentation_chain(n, chunk_size=chunk_size, start_id=7))
    sizes = [chunk_size] * (n // chunk_size) + ([n % chunk_size] if n % chunk_size else [])
    assert [len(chunk) for chunk in chunks] == sizes
    assert all(isinstance(chunk, list) for chunk in chunks)
    assert flatten(chunks) == expected_records(range(7, 7 + n))


def test_stream_crosses_the_default_block() -> None:
    n = DEFAULT_BLOCK + 10
    records = list(stream_augmentation_range(3, 3 + n))
    assert len(records) == n
    assert [r["sample_id"] for r in records] == list(range(3, 3 + n))
    seam = slice(DEFAULT_BLOCK - 2, DEFAULT_BLOCK + 2)
    assert records[seam] == expected_records(range(3, 3 + n)[seam])


def test_stream_range() -> None:
    config = get_preset("aggressive")
    assert list(stream_augmentation_range(40, 52, config)) == expected_records(
        range(40, 52), config
    )
    chunks = list(stream_augmentation_range(40, 52, config, chunk_size=5))
    assert [len(c) for c in chunks] == [5, 5, 2]
    assert flatten(chunks) == expected_records(range(40, 52), config)
    assert list(stream_augmentation_range(8, 8)) == []
    assert list(stream_augmentation_range(8, 8, chunk_size=2)) == []


def test_stream_range_equals_chain() -> None:
    assert list(stream_augmentation_range(5, 30, chunk_size=4)) == list(
        stream_augmentation_chain(25, chunk_size=4, start_id=5)
    )


def test_streams_are_lazy_and_independent() -> None:
    stream = stream_augmentation_chain(10**12)  # would never fit in memory
    first = [next(stream) for _ in range(3)]
    assert first == expected_records(range(3))
    again = stream_augmentation_chain(10**12)
    assert next(again) == first[0]


BAD_CHUNK_SIZES = [
    (0, ValueError),
    (-1, ValueError),
    (2.0, TypeError),
    (2.5, TypeError),
    (True, TypeError),
    ("3", TypeError),
]


@pytest.mark.parametrize(("chunk_size", "error"), BAD_CHUNK_SIZES, ids=repr)
def test_bad_chunk_size_raises_at_call_time(chunk_size: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="chunk_size"):
        stream_augmentation_chain(10, chunk_size=chunk_size)
    with pytest.raises(error, match="chunk_size"):
        stream_augmentation_range(0, 10, chunk_size=chunk_size)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: stream_augmentation_range(5, 4), ValueError),
        (lambda: stream_augmentation_range(-1, 4), ValueError),
        (lambda: stream_augmentation_range(0, -1), ValueError),
        (lambda: stream_augmentation_range(0.0, 4), TypeError),
        (lambda: stream_augmentation_range(0, 4, config={}), TypeError),
        (lambda: stream_augmentation_range(0, 4, progress_callback="x"), TypeError),
        (lambda: stream_augmentation_chain(-1), ValueError),
        (lambda: stream_augmentation_chain(3.0), TypeError),
        (lambda: stream_augmentation_chain(True), TypeError),
        (lambda: stream_augmentation_chain(3, start_id=-1), ValueError),
        (lambda: stream_augmentation_chain(3, start_id=1.5), TypeError),
        (lambda: stream_augmentation_chain(3, config="mild"), TypeError),
    ],
    ids=[
        "start>end",
        "negative-start",
        "negative-end",
        "float-start",
        "bad-config",
        "bad-callback",
        "negative-n",
        "float-n",
        "bool-n",
        "negative-start_id",
        "float-start_id",
        "config-name",
    ],
)
def test_stream_arguments_raise_at_call_time(call: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        call()  # the error comes before any iteration


def test_start_after_end_names_both() -> None:
    with pytest.raises(ValueError, match="start_id") as info:
        stream_augmentation_range(5, 4)
    assert "end_id" in str(info.value)


def test_progress_callback() -> None:
    calls: list[tuple[StreamingProgress, dict[str, Any]]] = []
    config = get_preset("mild")
    records = list(
        stream_augmentation_range(
            10, 20, config, chunk_size=3, progress_callback=lambda p, m: calls.append((p, m))
        )
    )
    assert len(records) == 4  # chunks
    assert [p.processed for p, _ in calls] == [3, 6, 9, 10]
    assert all(p.total == 10 for p, _ in calls)
    assert [p.percentage for p, _ in calls] == [30.0, 60.0, 90.0, 100.0]
    assert calls[-1][0].percentage == 100.0
    elapsed = [p.elapsed_seconds for p, _ in calls]
    assert elapsed == sorted(elapsed) and elapsed[0] >= 0
    for progress, metadata in calls:
        assert isinstance(progress, StreamingProgress)
        assert progress.elapsed == progress.elapsed_seconds
        assert progress.eta == progress.eta_seconds
        assert progress.samples_per_second >= 0
        assert progress.eta is None or progress.eta >= 0
        assert isinstance(metadata, dict)
        assert metadata["start_id"] == 10 and metadata["end_id"] == 20
        assert metadata["config"] == config
    assert calls[-1][0].eta in (0.0, None)  # nothing left
    assert [(m["chunk_start"], m["chunk_end"]) for _, m in calls] == [
        (10, 13),
        (13, 16),
        (16, 19),
        (19, 20),
    ]


def test_progress_callback_unchunked_and_chain() -> None:
    seen: list[StreamingProgress] = []
    records = list(stream_augmentation_chain(12, progress_callback=lambda p, m: seen.append(p)))
    assert len(records) == 12
    assert seen[-1].processed == 12 and seen[-1].percentage == 100.0


def test_progress_percentage_property() -> None:
    assert StreamingProgress(0, 0, 0.0, 0.0, None).percentage == 100.0
    assert StreamingProgress(1, 4, 1.0, 1.0, 3.0).percentage == 25.0


def test_progress_callback_does_not_change_results() -> None:
    plain = list(stream_augmentation_range(0, 9, chunk_size=2))
    tracked = list(stream_augmentation_range(0, 9, chunk_size=2, progress_callback=lambda p, m: 0))
    assert plain == tracked


# --- generate_augmentation_chain ------------------------------------------------------


def test_generate_augmentation_chain_returns_v02_records(capsys: Any) -> None:
    config = get_preset("aggressive")
    records = generate_augmentation_chain(15, config)
    assert records == [gen_augmentation_params(i, config) for i in range(15)]
    assert all("sample_id" not in record for record in records)
    assert generate_augmentation_chain(0) == []
    assert generate_augmentation_chain(3) == [gen_augmentation_params(i) for i in range(3)]
    assert capsys.readouterr().out == ""


def test_generate_augmentation_chain_verbose(capsys: Any) -> None:
    records = generate_augmentation_chain(4, verbose=True)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    for i, (line, record) in enumerate(zip(lines, records, strict=True)):
        assert line.startswith(f"Sample({i}) -> rotation={record['rotation']:.2f}")
        assert f"noise={record['noise']:.3f}" in line
    assert records == generate_augmentation_chain(4)


def test_generate_augmentation_chain_vectors(
    vectors: dict[str, Any], configs: dict[str, AugmentationConfig]
) -> None:
    for name, config in configs.items():
        chain = generate_augmentation_chain(10, config)
        for vector in vectors["core"]:
            if vector["config"] == name and vector["seed_id"] < 10:
                assert chain[vector["seed_id"]] == vector["params"]


@pytest.mark.parametrize(
    ("n", "error"), [(-1, ValueError), (2.0, TypeError), (True, TypeError), ("3", TypeError)]
)
def test_generate_augmentation_chain_bad_count(n: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        generate_augmentation_chain(n)


# --- vectors through batch and stream -------------------------------------------------


def test_vectors_through_batch_and_stream(
    vectors: dict[str, Any], configs: dict[str, AugmentationConfig]
) -> None:
    for name, config in configs.items():
        chosen = [v for v in vectors["core"] if v["config"] == name]
        ids = [v["seed_id"] for v in chosen]
        expected = [{**v["params"], "sample_id": v["seed_id"]} for v in chosen]
        assert generate_batch(ids, config).to_dicts() == expected
        assert generate_batch(np.array(ids, dtype=np.uint64), config).to_dicts() == expected
        for vector in chosen:
            sid = vector["seed_id"]
            (streamed,) = stream_augmentation_range(sid, sid + 1, config)
            assert streamed == {**vector["params"], "sample_id": sid}
            (chunk,) = stream_augmentation_chain(1, config, chunk_size=4, start_id=sid)
            assert chunk == [{**vector["params"], "sample_id": sid}]


# --- properties -----------------------------------------------------------------------

small_configs = st.builds(
    AugmentationConfig,
    rotation_range=st.sampled_from([(-30, 30), (-1.5, 2.25), (0, 360)]),
    noise_range=st.sampled_from([(0, 0.1), (1e-9, 2e-9), (-1e6, 1e6)]),
    augmentation_depth=st.integers(min_value=1, max_value=20),
)
ids_strategy = st.one_of(
    st.integers(min_value=0, max_value=2**20),
    st.integers(min_value=0, max_value=2**130),
)


@given(st.lists(ids_strategy, max_size=12), small_configs)
def test_per_sample_equals_batch(ids: list[int], config: AugmentationConfig) -> None:
    expected = expected_records(ids, config)
    assert generate_batch(ids, config).to_dicts() == expected
    if all(i < 2**63 for i in ids):
        array = np.array(ids, dtype=np.int64)
        assert generate_batch(array, config).to_dicts() == expected


@given(
    ids_strategy,
    st.integers(min_value=0, max_value=40),
    st.one_of(st.none(), st.integers(min_value=1, max_value=50)),
    small_configs,
)
def test_per_sample_equals_batch_equals_stream(
    start: int, n: int, chunk_size: int | None, config: AugmentationConfig
) -> None:
    ids = range(start, start + n)
    expected = expected_records(ids, config)
    assert generate_batch(ids, config).to_dicts() == expected
    streamed = list(stream_augmentation_chain(n, config, chunk_size=chunk_size, start_id=start))
    if chunk_size is not None:
        assert all(len(chunk) <= chunk_size for chunk in streamed)
        streamed = flatten(streamed)
    assert streamed == expected
    ranged = flatten(stream_augmentation_range(start, start + n, config, chunk_size=n or 1))
    assert ranged == expected
    batches = list(iter_batches(start, start + n, config, batch_size=chunk_size or 7))
    assert ParamBatch.concat(batches).to_dicts() == expected
    for record in expected:
        for name, (lo, hi) in zip(PARAM_NAMES, config.ranges, strict=True):
            assert lo <= record[name] <= hi and math.isfinite(record[name])


def test_progress_reports_empty_streams_and_the_last_chunk_without_more_requests() -> None:
    reports: list[tuple[int, int, float]] = []

    def record(progress: StreamingProgress, metadata: dict) -> None:  # type: ignore[type-arg]
        reports.append((progress.processed, progress.total, progress.percentage))

    assert list(stream_augmentation_range(5, 5, progress_callback=record)) == []
    assert reports == [(0, 0, 100.0)]
    reports.clear()
    stream = stream_augmentation_chain(10, chunk_size=5, progress_callback=record)
    next(stream)
    next(stream)  # the consumer stops after the last chunk: 100% was still reported
    assert reports == [(5, 10, 50.0), (10, 10, 100.0)]
