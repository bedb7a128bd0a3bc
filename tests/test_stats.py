"""Summary statistics: compute_statistics (one pass over a list) against the
statistics module, and the streaming statistics against compute_statistics."""

from __future__ import annotations

import math
import statistics
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from dpa import (
    PARAM_NAMES,
    AugmentationConfig,
    ParamBatch,
    RunningStatistics,
    compute_statistics,
    compute_streaming_statistics,
    generate_augmentation_chain,
    generate_batch,
    get_preset,
    stream_augmentation_chain,
)

REL = 1e-12
POOL = 6000
STAT_KEYS = {"mean", "stdev", "min", "max", "count"}


@cache
def pool(name: str) -> ParamBatch:
    """Parameters of ids 0 .. POOL-1 under a preset, generated once."""
    return generate_batch(range(POOL), get_preset(name))


@cache
def pool_records(name: str) -> tuple[dict[str, Any], ...]:
    return tuple(pool(name).to_dicts())


def assert_close(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    assert set(actual) == set(PARAM_NAMES)
    for name in PARAM_NAMES:
        got, want = actual[name], expected[name]
        assert set(got) == STAT_KEYS, name
        assert got["count"] == want["count"], name
        assert got["min"] == want["min"] and got["max"] == want["max"], name
        for key in ("mean", "stdev"):
            if want[key] is None:
                assert got[key] is None, (name, key)
            else:
                assert got[key] == pytest.approx(want[key], rel=REL, abs=0.0), (name, key)


def reference(records: Any) -> dict[str, Any]:
    """The statistics module's answer (exact arithmetic, correctly rounded)."""
    out = {}
    for name in PARAM_NAMES:
        values = [record[name] for record in records]
        if not values:
            out[name] = {"mean": None, "stdev": None, "min": None, "max": None, "count": 0}
            continue
        out[name] = {
            "mean": statistics.mean(values),
            "stdev": statistics.stdev(values) if len(values) > 1 else 0.0,
            "min": min(values),
            "max": max(values),
            "count": len(values),
        }
    return out


# --- compute_statistics ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["mild", "moderate", "aggressive"])
@pytest.mark.parametrize("n", [2, 3, 17, 1000])
def test_against_the_statistics_module(name: str, n: int) -> None:
    records = list(pool_records(name)[:n])
    assert_close(compute_statistics(records), reference(records))


@settings(max_examples=40)
@given(
    st.sampled_from(["mild", "moderate", "aggressive"]),
    st.integers(min_value=0, max_value=POOL),
    st.integers(min_value=0, max_value=1500),
)
def test_against_the_statistics_module_on_slices(name: str, start: int, n: int) -> None:
    records = pool_records(name)[start : start + n]
    assert_close(compute_statistics(list(records)), reference(records))


def test_known_values() -> None:
    records = [dict.fromkeys(PARAM_NAMES, float(v)) for v in (2, 4, 4, 4, 5, 5, 7, 9)]
    result = compute_statistics(records)
    for name in PARAM_NAMES:
        assert result[name]["mean"] == 5.0
        assert result[name]["stdev"] == pytest.approx(math.sqrt(32 / 7), rel=REL)
        assert (result[name]["min"], result[name]["max"], result[name]["count"]) == (2.0, 9.0, 8)


def test_single_value() -> None:
    record = generate_augmentation_chain(1)[0]
    for result in (
        compute_statistics([record]),
        compute_streaming_statistics([record]),
        compute_streaming_statistics([[record]]),
        compute_streaming_statistics([generate_batch([0])]),
    ):
        for name in PARAM_NAMES:
            assert result[name] == {
                "mean": record[name],
                "stdev": 0.0,
                "min": record[name],
                "max": record[name],
                "count": 1,
            }
            assert type(result[name]["stdev"]) is float


EMPTY = {"mean": None, "stdev": None, "min": None, "max": None, "count": 0}


@pytest.mark.parametrize(
    "make",
    [
        lambda: compute_statistics([]),
        lambda: compute_statistics(generate_batch([])),
        lambda: compute_streaming_statistics([]),
        lambda: compute_streaming_statistics(iter([])),
        lambda: compute_streaming_statistics([[], []]),
        lambda: compute_streaming_statistics([generate_batch([])]),
        lambda: compute_streaming_statistics(stream_augmentation_chain(0)),
        lambda: RunningStatistics().result(),
    ],
    ids=["list", "batch", "stream", "iterator", "empty-chunks", "empty-batch", "chain", "running"],
)
def test_empty(make: Any) -> None:
    assert make() == dict.fromkeys(PARAM_NAMES, EMPTY)


def test_accepts_batches_and_iterables() -> None:
    batch = pool("aggressive")[:300]
    records = batch.to_dicts()
    expected = compute_statistics(records)
    assert compute_statistics(batch) == expected
    assert compute_statistics(tuple(records)) == expected
    assert compute_statistics(record for record in records) == expected
    # extra keys (sample_id, hash) are ignored; v0.2 records have none
    assert compute_statistics([{k: r[k] for k in PARAM_NAMES} for r in records]) == expected


def test_ints_are_accepted() -> None:
    records = [dict.fromkeys(PARAM_NAMES, v) for v in (1, 2, 3)]
    result = compute_statistics(records)
    assert result["rotation"]["mean"] == 2.0 and result["rotation"]["stdev"] == 1.0


# --- bad input ------------------------------------------------------------------------

GOOD = dict.fromkeys(PARAM_NAMES, 0.5)


@pytest.mark.parametrize(
    "params",
    ["rotation", b"abc", GOOD, 5, None, 1.5],
    ids=["str", "bytes", "dict", "int", "None", "float"],
)
def test_compute_statistics_rejects_non_lists(params: Any) -> None:
    with pytest.raises(TypeError):
        compute_statistics(params)


@pytest.mark.parametrize(
    "params",
    [
        [{"rotation": 1.0}],
        [GOOD, {k: v for k, v in GOOD.items() if k != "contrast"}],
        [{**GOOD, "noise": None}],
        [{**GOOD, "scale": "big"}],
        [1, 2],
        [GOOD, "rotation"],
    ],
    ids=["one-key", "missing-contrast", "None-value", "str-value", "ints", "str-record"],
)
def test_compute_statistics_rejects_bad_records(params: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        compute_statistics(params)


def test_missing_key_is_a_value_error_naming_it() -> None:
    with pytest.raises(ValueError, match="contrast"):
        compute_statistics([{k: v for k, v in GOOD.items() if k != "contrast"}])


@pytest.mark.parametrize(
    "stream",
    ["rotation", b"abc", GOOD, 5, None],
    ids=["str", "bytes", "dict", "int", "None"],
)
def test_streaming_rejects_non_iterables(stream: Any) -> None:
    with pytest.raises(TypeError):
        compute_streaming_statistics(stream)


@pytest.mark.parametrize(
    ("stream", "error"),
    [
        ([GOOD, 5], TypeError),
        (["rotation"], TypeError),
        ([GOOD, None], TypeError),
        ([{"rotation": 1.0}], ValueError),
        ([[GOOD, {"rotation": 1.0}]], ValueError),
        ([[GOOD], [1, 2]], ValueError),
        ([{**GOOD, "noise": "x"}], ValueError),
    ],
    ids=["int-item", "str-item", "None-item", "missing-keys", "chunk-missing", "chunk-ints", "str"],
)
def test_streaming_rejects_bad_items(stream: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        compute_streaming_statistics(stream)


def test_running_statistics_rejects_bad_items() -> None:
    running = RunningStatistics()
    with pytest.raises(TypeError):
        running.update(5)
    with pytest.raises(TypeError):
        running.update("rotation")
    with pytest.raises(ValueError):
        running.update_records([{"rotation": 1.0}])
    assert running.count == 0


# --- streaming statistics -------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [None, 1, 7, 256, 4096, 5000])
def test_streaming_equals_compute_statistics(chunk_size: int | None) -> None:
    config = get_preset("mild")
    expected = compute_statistics(generate_augmentation_chain(5000, config))
    stream = stream_augmentation_chain(5000, config, chunk_size=chunk_size)
    assert_close(compute_streaming_statistics(stream), expected)


def make_stream(records: list[dict[str, Any]], batch: ParamBatch, mode: str, size: int) -> Any:
    chunks = range(0, len(records), size)
    if mode == "dicts":
        return iter(records)
    if mode == "chunks":
        return (records[i : i + size] for i in chunks)
    if mode == "tuples":
        return (tuple(records[i : i + size]) for i in chunks)
    if mode == "batches":
        return (batch[i : i + size] for i in chunks)
    # mixed: alternate the three kinds of item
    kinds = [
        lambda i: batch[i : i + size],
        lambda i: records[i : i + size],
        lambda i: records[i : i + size],  # the dicts of a chunk one by one, below
    ]
    items: list[Any] = []
    for k, i in enumerate(chunks):
        item = kinds[k % 3](i)
        if k % 3 == 2:
            items.extend(item)
        else:
            items.append(item)
    return iter(items)


@settings(max_examples=60)
@given(
    name=st.sampled_from(["mild", "moderate", "aggressive"]),
    start=st.integers(min_value=0, max_value=POOL - 3000),
    n=st.integers(min_value=0, max_value=3000),
    size=st.one_of(
        st.integers(min_value=1, max_value=16), st.integers(min_value=1, max_value=3000)
    ),
    mode=st.sampled_from(["dicts", "chunks", "tuples", "batches", "mixed"]),
)
def test_streaming_equals_compute_statistics_property(
    name: str, start: int, n: int, size: int, mode: str
) -> None:
    batch = pool(name)[start : start + n]
    records = list(pool_records(name)[start : start + n])
    expected = compute_statistics(records)
    assert_close(compute_streaming_statistics(make_stream(records, batch, mode, size)), expected)


def test_running_statistics() -> None:
    batch = pool("moderate")[:1000]
    records = batch.to_dicts()
    running = RunningStatistics()
    running.update(records[0])  # a dict
    running.update(records[1:100])  # a list
    running.update(tuple(records[100:101]))  # a tuple
    running.update_records(records[101:400])
    running.update([])  # nothing
    running.update_batch(batch[400:400])  # nothing
    assert running.count == 400
    assert_close(running.result(), compute_statistics(records[:400]))
    running.update(batch[400:900])  # a ParamBatch
    running.update_batch(batch[900:])
    assert running.count == 1000
    assert_close(running.result(), compute_statistics(records))
    # result() does not disturb the accumulation
    assert running.result() == running.result()


def test_running_statistics_order_does_not_matter_beyond_rounding() -> None:
    records = list(pool_records("aggressive")[:2000])
    forward, backward = RunningStatistics(), RunningStatistics()
    for i in range(0, 2000, 300):
        forward.update(records[i : i + 300])
    for i in range(0, 2000, 300):
        backward.update(list(reversed(records))[i : i + 300])
    assert_close(forward.result(), backward.result())


# --- precision when the spread is small next to the mean ------------------------------

OFFSET_CONFIG = AugmentationConfig(brightness_range=(1e9, 1e9 + 1e-3))


def test_compute_statistics_with_a_large_offset() -> None:
    records = generate_augmentation_chain(100, OFFSET_CONFIG)
    assert_close(compute_statistics(records), reference(records))


def test_streaming_with_a_large_offset() -> None:
    records = generate_augmentation_chain(100, OFFSET_CONFIG)
    stream = stream_augmentation_chain(100, OFFSET_CONFIG, chunk_size=1)
    assert_close(compute_streaming_statistics(stream), compute_statistics(records))


@pytest.mark.parametrize("offset", [1e6, 1e9, -1e12])
@pytest.mark.parametrize("chunk_size", [None, 1, 7, 100])
def test_offset_data_through_every_path(offset: float, chunk_size: int | None) -> None:
    config = AugmentationConfig(contrast_range=(offset, offset + abs(offset) * 1e-9))
    records = generate_augmentation_chain(300, config)
    expected = compute_statistics(records)
    assert_close(expected, reference(records))
    stream = stream_augmentation_chain(300, config, chunk_size=chunk_size)
    assert_close(compute_streaming_statistics(stream), expected)
    batches = (generate_batch(range(i, min(i + 40, 300)), config) for i in range(0, 300, 40))
    assert_close(compute_streaming_statistics(batches), expected)


def shifted(records: Any, offset: float, scale: float) -> list[dict[str, Any]]:
    return [
        {**record, **{name: offset + scale * record[name] for name in PARAM_NAMES}}
        for record in records
    ]


@settings(max_examples=40)
@given(
    name=st.sampled_from(["mild", "moderate", "aggressive"]),
    start=st.integers(min_value=0, max_value=POOL - 1500),
    n=st.integers(min_value=2, max_value=1500),
    offset=st.floats(min_value=-1e12, max_value=1e12, allow_nan=False),
    ratio=st.integers(min_value=0, max_value=8),  # spread is about |offset| / 10**ratio
    size=st.integers(min_value=1, max_value=200),
    mode=st.sampled_from(["dicts", "chunks", "batches", "mixed"]),
)
def test_offset_data_property(
    name: str, start: int, n: int, offset: float, ratio: int, size: int, mode: str
) -> None:
    scale = max(abs(offset), 1.0) / 10**ratio
    records = shifted(pool_records(name)[start : start + n], offset, scale)
    expected = compute_statistics(records)
    assert_close(expected, reference(records))
    stream = make_stream(records, ParamBatch.from_dicts(records), mode, size)
    assert_close(compute_streaming_statistics(stream), expected)
