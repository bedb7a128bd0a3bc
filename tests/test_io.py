"""Saving and loading parameter files (dpa._io): exact round trips, metadata,
atomic writes, resumable writes, and constant-memory streaming."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import os
import tempfile
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import dpa
from dpa import (
    PARAM_NAMES,
    AugmentationConfig,
    AugmentationWriter,
    ParamBatch,
    compute_statistics,
    generate_augmentation_chain,
    generate_batch,
    get_preset,
    iter_batches,
    load_augmentation_chain,
    load_augmentation_stream,
    read_augmentation_file,
    save_augmentation_chain,
    save_augmentation_stream,
    stream_augmentation_chain,
    verify_augmentation_file,
)
from dpa._formats import FORMATS
from dpa._io import partial_path, write_range

# --- helpers --------------------------------------------------------------------------


def canon(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records with floats as float.hex(), so == compares bits (and types)."""
    out = []
    for record in records:
        assert type(record["sample_id"]) is int
        out.append({k: v.hex() if isinstance(v, float) else v for k, v in record.items()})
    return out


def with_positions(records: list[dict[str, Any]], start: int = 0) -> list[dict[str, Any]]:
    return [dict(r, sample_id=start + i) for i, r in enumerate(records)]


def read_metadata(path: Path) -> dict[str, Any]:
    """The metadata exactly as stored in the file (not as the reader completes it)."""
    if path.suffix == ".json":
        return json.loads(path.read_text())["metadata"]  # type: ignore[no-any-return]
    if path.suffix == ".jsonl":
        with path.open() as handle:
            return json.loads(handle.readline())["metadata"]  # type: ignore[no-any-return]
    return json.loads(pq.ParquetFile(path).metadata.metadata[b"dpa.metadata"])  # type: ignore[no-any-return]


def read_statistics(path: Path) -> Any:
    """The statistics block as stored in the file (raises KeyError when absent)."""
    if path.suffix == ".json":
        return json.loads(path.read_text())["statistics"]
    if path.suffix == ".jsonl":
        return json.loads(path.read_text().splitlines()[-1])["end"]["statistics"]
    return json.loads(pq.ParquetFile(path).metadata.metadata[b"dpa.summary"])["statistics"]


def assert_statistics_close(stored: dict[str, Any], expected: dict[str, Any]) -> None:
    assert set(stored) == set(PARAM_NAMES)
    for name in PARAM_NAMES:
        assert stored[name]["count"] == expected[name]["count"]
        for key in ("mean", "stdev", "min", "max"):
            ours, theirs = stored[name][key], expected[name][key]
            if theirs is None:
                assert ours is None
            else:
                assert math.isclose(ours, theirs, rel_tol=1e-12), (name, key, ours, theirs)


def folder_names(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


class Interrupt(Exception):
    """Raised by test callbacks and streams to cut a write short."""


def stop_after(limit: int) -> Any:
    """A write_range progress callback that raises once ``limit`` records are done."""
    done = [0]

    def progress(n: int) -> None:
        done[0] += n
        if done[0] >= limit:
            raise Interrupt

    return progress


# --- round trips ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("n", [0, 1, 5, 4097])
def test_chain_round_trip(tmp_path: Path, fmt: str, n: int) -> None:
    """save_augmentation_chain(list of stream dicts) -> load == the list, bit for bit
    (4097 crosses the writer's 4096-record blocks)."""
    records = list(stream_augmentation_chain(n))
    path = tmp_path / f"chain.{fmt}"
    assert save_augmentation_chain(records, path) is None
    loaded = load_augmentation_chain(path)
    assert loaded == records
    assert canon(loaded) == canon(records)
    assert read_augmentation_file(path).num_samples == n


@pytest.mark.parametrize("fmt", FORMATS)
def test_chain_of_a_param_batch(tmp_path: Path, fmt: str) -> None:
    batch = generate_batch([5, 0, 2**40, 3], get_preset("aggressive"))
    path = tmp_path / f"batch.{fmt}"
    save_augmentation_chain(batch, path, get_preset("aggressive"))
    assert canon(load_augmentation_chain(path)) == canon(batch.to_dicts())
    assert verify_augmentation_file(path).ok


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("chunk_size", [1, 7, 64, None])
def test_stream_round_trip(tmp_path: Path, fmt: str, chunk_size: int | None) -> None:
    config = get_preset("mild")
    path = tmp_path / f"stream.{fmt}"
    stream = stream_augmentation_chain(100, config, chunk_size=chunk_size, start_id=1000)
    assert save_augmentation_stream(stream, path, config) == 100
    expected = generate_batch(range(1000, 1100), config).to_dicts()
    assert canon(load_augmentation_chain(path)) == canon(expected)
    assert read_augmentation_file(path).config == config


@pytest.mark.parametrize("fmt", FORMATS)
def test_param_batch_stream_round_trip(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"batches.{fmt}"
    batches = list(iter_batches(10, 110, batch_size=33))
    assert save_augmentation_stream(iter(batches), path) == 100
    assert canon(load_augmentation_chain(path)) == canon(ParamBatch.concat(batches).to_dicts())
    # mixed items: dicts, lists of dicts and batches in one stream
    items: list[Any] = [*batches[0].to_dicts(), batches[1], batches[2].to_dicts(), batches[3]]
    assert save_augmentation_stream(items, path) == 100
    assert canon(load_augmentation_chain(path)) == canon(ParamBatch.concat(batches).to_dicts())


@pytest.mark.parametrize("fmt", FORMATS)
def test_load_stream_with_and_without_chunk_size(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"load.{fmt}"
    expected = generate_batch(range(50)).to_dicts()
    save_augmentation_chain(expected, path)
    stream = load_augmentation_stream(path)
    assert isinstance(stream, Iterator)
    assert canon(list(stream)) == canon(expected)
    for size in (1, 7, 50, 51, 1000):
        chunks = list(load_augmentation_stream(path, chunk_size=size))
        assert all(isinstance(c, list) for c in chunks)
        assert [len(c) for c in chunks[:-1]] == [size] * (len(chunks) - 1)
        assert 1 <= len(chunks[-1]) <= size
        assert canon([r for c in chunks for r in c]) == canon(expected)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "4"])
def test_load_stream_rejects_bad_chunk_size(tmp_path: Path, bad: Any) -> None:
    path = tmp_path / "x.jsonl"
    save_augmentation_chain(generate_batch(range(2)), path)
    with pytest.raises(ValueError, match="chunk_size"):
        load_augmentation_stream(path, chunk_size=bad)


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_stream(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"empty.{fmt}"
    assert save_augmentation_stream(iter([]), path) == 0
    assert load_augmentation_chain(path) == []
    assert list(load_augmentation_stream(path, chunk_size=3)) == []
    assert read_augmentation_file(path).num_samples == 0
    assert verify_augmentation_file(path).ok


# Hypothesis: every size, config, format and start id, including ids past 2**63 / 2**64.

_CONFIGS = [
    AugmentationConfig(),
    get_preset("mild"),
    get_preset("aggressive"),
    AugmentationConfig(augmentation_depth=1),
    AugmentationConfig(rotation_range=(-1e-300, 1e100), noise_range=(0.5, 0.5000000000000001)),
    AugmentationConfig(scale_range=(-(2**60), 2**60), augmentation_depth=2),
]
_STARTS = st.one_of(
    st.integers(0, 10**6),
    st.integers(2**63 - 300, 2**63 + 10),
    st.integers(2**64 - 300, 2**64 + 10),
    st.integers(2**64, 2**80),
)


def _id_tier(sample_id: int) -> int:
    """0: fits int64, 1: fits uint64, 2: stored as decimal strings."""
    return 0 if sample_id < 2**63 else 1 if sample_id < 2**64 else 2


def _parquet_mixes_id_types(start: int, n: int, batch: int) -> bool:
    """The Parquet id column type is set by the first batch; a later batch whose ids
    need a wider type cannot be written into it."""
    if n == 0:
        return False
    first_batch_last = start + min(batch, n) - 1
    return _id_tier(start + n - 1) > _id_tier(first_batch_last)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(0, 300),
    config=st.sampled_from(_CONFIGS),
    fmt=st.sampled_from(FORMATS),
    start=_STARTS,
    kind=st.sampled_from(["dicts", "chunks", "batches"]),
    chunk=st.integers(1, 80),
    read_chunk=st.integers(1, 400),
)
def test_round_trip_property(
    n: int, config: AugmentationConfig, fmt: str, start: int, kind: str, chunk: int, read_chunk: int
) -> None:
    if kind == "dicts":
        stream: Any = stream_augmentation_chain(n, config, start_id=start)
        batch = 4096  # single dicts are gathered in blocks of 4096
    elif kind == "chunks":
        stream = stream_augmentation_chain(n, config, chunk_size=chunk, start_id=start)
        batch = chunk
    else:
        stream = iter_batches(start, start + n, config, batch_size=chunk)
        batch = chunk
    expected = generate_batch(range(start, start + n), config).to_dicts()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"p.{fmt}"
        if fmt == "parquet" and _parquet_mixes_id_types(start, n, batch):
            with pytest.raises(ValueError, match="do not fit the file's"):
                save_augmentation_stream(stream, path, config)
            assert os.listdir(folder) == []
            return
        assert save_augmentation_stream(stream, path, config) == n
        assert canon(load_augmentation_chain(path)) == canon(expected)
        chunks = list(load_augmentation_stream(path, chunk_size=read_chunk))
        assert all(len(c) == read_chunk for c in chunks[:-1])
        assert canon([r for c in chunks for r in c]) == canon(expected)
        file = read_augmentation_file(path)
        assert (file.format, file.num_samples, file.config) == (fmt, n, config)
        assert verify_augmentation_file(path).ok
        assert os.listdir(folder) == [path.name]


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_text_formats_hold_any_id(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"ids.{fmt}"
    ids = [0, 2**63 - 1, 2**63, 2**64 - 1, 2**64, 10**30, 5]
    stream = [generate_batch(ids[:2]), generate_batch(ids[2:4]), generate_batch(ids[4:])]
    save_augmentation_stream(stream, path)
    assert [r["sample_id"] for r in load_augmentation_chain(path)] == ids
    assert verify_augmentation_file(path).ok


# --- invalid input to the writers -----------------------------------------------------


@pytest.mark.parametrize("bad", ["records", b"x", {"rotation": 1.0}, 42, None])
def test_save_stream_rejects_non_iterables(tmp_path: Path, bad: Any) -> None:
    with pytest.raises(TypeError):
        save_augmentation_stream(bad, tmp_path / "x.json")
    assert folder_names(tmp_path) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_save_stream_rejects_bad_items(tmp_path: Path, fmt: str) -> None:
    good = generate_batch(range(3))
    with pytest.raises(TypeError, match="stream items"):
        save_augmentation_stream([good, 7], tmp_path / f"x.{fmt}")
    bad_record = dict(good[0], rotation="1.0")
    with pytest.raises(ValueError, match="rotation"):
        save_augmentation_stream([good, [bad_record]], tmp_path / f"x.{fmt}")
    with pytest.raises(ValueError, match="hash"):
        save_augmentation_chain([dict(good[0], hash="nope")], tmp_path / f"x.{fmt}")
    assert folder_names(tmp_path) == []


@pytest.mark.parametrize("bad", ["text", 3, (r for r in [])])
def test_save_chain_rejects_non_sequences(tmp_path: Path, bad: Any) -> None:
    with pytest.raises(TypeError):
        save_augmentation_chain(bad, tmp_path / "x.json")
    assert folder_names(tmp_path) == []


def test_writer_rejects_bad_config_and_writes_after_close(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="config"):
        AugmentationWriter(tmp_path / "x.json", {"augmentation_depth": 3})  # type: ignore[arg-type]
    assert folder_names(tmp_path) == []
    writer = AugmentationWriter(tmp_path / "x.json")
    writer.close()
    writer.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        writer.write(generate_batch(range(1)))


# --- v0.2 compatibility ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_records_without_sample_id_get_their_position(tmp_path: Path, fmt: str) -> None:
    chain = generate_augmentation_chain(30)
    assert "sample_id" not in chain[0]
    path = tmp_path / f"v02.{fmt}"
    save_augmentation_chain(chain, path)
    assert canon(load_augmentation_chain(path)) == canon(with_positions(chain))
    # positions continue across the chunks of a stream
    chunks = [chain[i : i + 7] for i in range(0, 30, 7)]
    assert save_augmentation_stream(iter(chunks), path) == 30
    assert canon(load_augmentation_chain(path)) == canon(with_positions(chain))
    assert verify_augmentation_file(path).ok


@pytest.mark.parametrize("fmt", FORMATS)
def test_generate_augmentation_chain_save_path(tmp_path: Path, fmt: str) -> None:
    config = get_preset("aggressive")
    path = tmp_path / f"chain.{fmt}"
    chain = generate_augmentation_chain(20, config, save_path=str(path))
    report = verify_augmentation_file(path)
    assert report.ok and report.checked == 20
    assert read_augmentation_file(path).config == config
    assert canon(load_augmentation_chain(path)) == canon(with_positions(chain))


def test_v02_style_json_file(tmp_path: Path) -> None:
    config = get_preset("mild")
    records = generate_augmentation_chain(12, config)
    document = {
        "metadata": {"num_samples": 12, "config": config.to_dict()},
        "augmentations": records,
        "statistics": compute_statistics(records),
    }
    path = tmp_path / "v02.json"
    path.write_text(json.dumps(document, indent=2))
    assert canon(load_augmentation_chain(path)) == canon(with_positions(records))
    assert verify_augmentation_file(path).ok


# --- metadata -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_metadata(tmp_path: Path, fmt: str) -> None:
    config = AugmentationConfig(rotation_range=(-7.5, 2), augmentation_depth=4)
    path = tmp_path / f"meta.{fmt}"
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    save_augmentation_stream(stream_augmentation_chain(25, config, chunk_size=10), path, config)
    after = dt.datetime.now(dt.UTC)
    stored = read_metadata(path)
    assert stored["version"] == dpa.__version__
    assert stored["format_version"] == 1
    assert stored["format"] == fmt
    assert stored["config"] == config.to_dict()
    assert "distributed_info" not in stored
    file = read_augmentation_file(path)
    assert file.num_samples == 25
    if fmt != "parquet":  # Parquet keeps the count in dpa.summary
        assert stored["num_samples"] == 25
    stamp = stored["generation_time"]
    assert stamp.endswith("Z")
    parsed = dt.datetime.fromisoformat(stamp)
    assert parsed.utcoffset() == dt.timedelta(0)
    assert before <= parsed <= after
    assert dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")  # exact layout


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("n", [1, 2, 333])
def test_stored_statistics(tmp_path: Path, fmt: str, n: int) -> None:
    path = tmp_path / f"stats.{fmt}"
    save_augmentation_stream(iter_batches(0, n, batch_size=50), path)
    expected = compute_statistics(load_augmentation_chain(path))
    assert_statistics_close(read_statistics(path), expected)
    file = read_augmentation_file(path)
    list(file.iter_batches())
    if fmt != "json":  # the JSON reader does not keep the block (see test_verify)
        assert_statistics_close(file.statistics, expected)


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_file_statistics(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"stats.{fmt}"
    save_augmentation_chain([], path)
    stored = read_statistics(path)
    for name in PARAM_NAMES:
        assert stored[name] == {"mean": None, "stdev": None, "min": None, "max": None, "count": 0}


@pytest.mark.parametrize("fmt", FORMATS)
def test_without_statistics(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"nostats.{fmt}"
    save_augmentation_chain(generate_batch(range(5)), path, include_stats=False)
    if fmt == "parquet":
        assert read_statistics(path) is None
    else:
        with pytest.raises(KeyError):
            read_statistics(path)
    assert len(load_augmentation_chain(path)) == 5
    assert verify_augmentation_file(path).ok


@pytest.mark.parametrize("fmt", FORMATS)
def test_distributed_info_is_stored(tmp_path: Path, fmt: str) -> None:
    info = {"rank": 2, "world_size": 4, "base_seed": 2**70}
    path = tmp_path / f"dist.{fmt}"
    save_augmentation_chain(generate_batch(range(3)), path, distributed_info=dict(info))
    assert read_metadata(path)["distributed_info"] == info
    assert read_augmentation_file(path).metadata["distributed_info"] == info


@pytest.mark.parametrize(
    ("info", "error"),
    [
        ({"rank": 4, "world_size": 4, "base_seed": 0}, ValueError),
        ({"rank": -1, "world_size": 4, "base_seed": 0}, ValueError),
        ({"rank": 0, "world_size": 0, "base_seed": 0}, ValueError),
        ({"rank": 0, "world_size": 2, "base_seed": -5}, ValueError),
        ({"rank": 0, "world_size": 2}, ValueError),
        ({"rank": True, "world_size": 2, "base_seed": 0}, ValueError),
        ({"rank": 0.0, "world_size": 2, "base_seed": 0}, ValueError),
        ({"rank": "0", "world_size": 2, "base_seed": 0}, ValueError),
        ([0, 2, 0], TypeError),
        ("rank=0", TypeError),
    ],
)
@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_distributed_info(tmp_path: Path, fmt: str, info: Any, error: type) -> None:
    with pytest.raises(error, match="distributed_info"):
        save_augmentation_chain(
            generate_batch(range(3)), tmp_path / f"d.{fmt}", distributed_info=info
        )
    assert folder_names(tmp_path) == []


def test_format_argument_overrides_suffix(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    save_augmentation_chain(generate_batch(range(3)), path, format="parquet")
    assert path.read_bytes()[:4] == b"PAR1"
    assert read_metadata_parquet(path)["format"] == "parquet"
    with pytest.raises(ValueError, match="suffix"):
        save_augmentation_chain(generate_batch(range(3)), tmp_path / "p.csv")
    with pytest.raises(ValueError, match="unknown format"):
        save_augmentation_chain(generate_batch(range(3)), tmp_path / "p.json", format="csv")
    assert folder_names(tmp_path) == ["p.json"]


def read_metadata_parquet(path: Path) -> dict[str, Any]:
    return json.loads(pq.ParquetFile(path).metadata.metadata[b"dpa.metadata"])  # type: ignore[no-any-return]


# --- atomic writes --------------------------------------------------------------------


def failing_stream(after: int) -> Iterator[ParamBatch]:
    yield from iter_batches(0, after, batch_size=10)
    raise Interrupt("stream failed")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("error", [Interrupt, KeyboardInterrupt])
def test_failed_write_leaves_nothing(tmp_path: Path, fmt: str, error: type) -> None:
    path = tmp_path / f"out.{fmt}"

    def stream() -> Iterator[ParamBatch]:
        yield from iter_batches(0, 30, batch_size=10)
        raise error

    with pytest.raises(error):
        save_augmentation_stream(stream(), path)
    assert not path.exists()
    assert folder_names(tmp_path) == []  # no temporary file either


@pytest.mark.parametrize("fmt", FORMATS)
def test_failed_write_keeps_previous_file(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"out.{fmt}"
    save_augmentation_chain(generate_batch(range(5)), path)
    old = path.read_bytes()
    with pytest.raises(Interrupt):
        save_augmentation_stream(failing_stream(40), path)
    assert path.read_bytes() == old
    assert folder_names(tmp_path) == [path.name]


@pytest.mark.parametrize("fmt", FORMATS)
def test_overwrite_replaces_only_at_the_end(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"out.{fmt}"
    save_augmentation_chain(generate_batch(range(5)), path)
    old = path.read_bytes()
    seen: list[bool] = []

    def watching_stream() -> Iterator[ParamBatch]:
        for batch in iter_batches(100, 140, batch_size=10):
            seen.append(path.read_bytes() == old)
            yield batch
        seen.append(path.read_bytes() == old)

    assert save_augmentation_stream(watching_stream(), path) == 40
    assert seen == [True] * 5
    assert [r["sample_id"] for r in load_augmentation_chain(path)] == list(range(100, 140))
    assert folder_names(tmp_path) == [path.name]


@pytest.mark.parametrize("fmt", FORMATS)
def test_writer_uses_a_temporary_file(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"out.{fmt}"
    with AugmentationWriter(path) as writer:
        writer.write(generate_batch(range(4)))
        assert not path.exists()
        assert writer.tmp_path.parent == tmp_path
        assert writer.tmp_path.exists()
    assert not writer.tmp_path.exists()
    assert folder_names(tmp_path) == [path.name]
    assert writer.count == 4
    # abort() discards
    writer = AugmentationWriter(path)
    writer.write(generate_batch(range(9)))
    writer.abort()
    assert len(load_augmentation_chain(path)) == 4
    assert folder_names(tmp_path) == [path.name]


def test_missing_parent_folder(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "folder" / "out.json"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_augmentation_chain(generate_batch(range(2)), path)
    assert folder_names(tmp_path) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_target_is_a_directory(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"out.{fmt}"
    path.mkdir()
    with pytest.raises(IsADirectoryError, match="folder"):
        save_augmentation_chain(generate_batch(range(2)), path)
    assert folder_names(tmp_path) == [path.name]


def test_target_becomes_a_directory_before_close(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    writer = AugmentationWriter(path)
    writer.write(generate_batch(range(2)))
    path.mkdir()
    with pytest.raises(OSError):
        writer.close()
    assert folder_names(tmp_path) == [path.name]


def test_path_under_a_regular_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    with pytest.raises(OSError, match=r"file\.txt"):
        save_augmentation_chain(generate_batch(range(2)), blocker / "x.json")
    assert folder_names(tmp_path) == ["file.txt"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through chmod 0o500")
def test_unwritable_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(PermissionError):
            save_augmentation_chain(generate_batch(range(2)), folder / "x.json")
        assert os.listdir(folder) == []
    finally:
        folder.chmod(0o700)


@pytest.mark.parametrize("fmt", FORMATS)
def test_written_file_honours_umask(tmp_path: Path, fmt: str) -> None:
    old = os.umask(0o022)
    try:
        path = tmp_path / f"out.{fmt}"
        save_augmentation_chain(generate_batch(range(2)), path)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


# --- resumable writes -----------------------------------------------------------------

RESUMABLE = ["jsonl", "parquet"]
START, END, BATCH = 10, 130, 16


def interrupted(path: Path, limit: int = 50) -> None:
    """A resumable write_range of START..END cut short after ``limit`` records."""
    existed = path.exists()
    with pytest.raises(Interrupt):
        write_range(path, START, END, batch_size=BATCH, progress=stop_after(limit), resumable=True)
    assert path.exists() == existed  # the target is untouched
    assert partial_path(path).exists()


def partial_records(path: Path) -> int:
    """Records held by an interrupted JSON Lines output."""
    return len(partial_path(path).read_text().splitlines()) - 1


@pytest.fixture
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Uninterrupted outputs of the same range, per format."""
    folder = tmp_path_factory.mktemp("reference")
    out = {}
    for fmt in RESUMABLE:
        out[fmt] = folder / f"ref.{fmt}"
        write_range(out[fmt], START, END, batch_size=BATCH)
    return out


@pytest.mark.parametrize("fmt", RESUMABLE)
def test_interrupt_then_resume(tmp_path: Path, fmt: str, reference: dict[str, Path]) -> None:
    path = tmp_path / f"out.{fmt}"
    interrupted(path)
    assert folder_names(tmp_path) == [partial_path(path).name]  # nothing else left
    partial = partial_path(path)
    assert partial.is_dir() == (fmt == "parquet")
    if fmt == "jsonl":
        assert partial_records(path) == 64  # 4 whole batches of 16
        generation_time = json.loads(partial.read_text().splitlines()[0])["metadata"][
            "generation_time"
        ]
    else:
        generation_time = json.loads((partial / "metadata.json").read_text())["generation_time"]

    progress: list[int] = []
    writer = write_range(path, START, END, batch_size=BATCH, progress=progress.append, resume=True)
    assert writer.resumed_count == 64
    assert writer.count == END - START
    assert progress[0] == 64 and sum(progress) == 64 + (END - START - 64)
    assert folder_names(tmp_path) == [path.name]
    assert canon(load_augmentation_chain(path)) == canon(load_augmentation_chain(reference[fmt]))
    report = verify_augmentation_file(path)
    assert report.ok and report.checked == END - START
    assert read_metadata(path)["generation_time"] == generation_time
    assert read_metadata(path)["start_id"] == START
    expected = compute_statistics(load_augmentation_chain(reference[fmt]))
    assert_statistics_close(writer.statistics.result(), expected)
    assert_statistics_close(read_statistics(path), expected)


@pytest.mark.parametrize("fmt", RESUMABLE)
def test_resume_twice(tmp_path: Path, fmt: str, reference: dict[str, Path]) -> None:
    path = tmp_path / f"out.{fmt}"
    interrupted(path, limit=20)
    with pytest.raises(Interrupt):
        write_range(
            path, START, END, batch_size=10, progress=stop_after(60), resume=True
        )  # other batch size on the way
    writer = write_range(path, START, END, batch_size=BATCH, resume=True)
    assert writer.resumed_count > 32
    assert canon(load_augmentation_chain(path)) == canon(load_augmentation_chain(reference[fmt]))
    assert verify_augmentation_file(path).ok


@pytest.mark.parametrize("fmt", RESUMABLE)
def test_resume_keeps_previous_target_until_done(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"out.{fmt}"
    save_augmentation_chain(generate_batch(range(3)), path)
    old = path.read_bytes()
    with pytest.raises(Interrupt):
        write_range(path, 0, 100, batch_size=BATCH, progress=stop_after(30), resumable=True)
    assert path.read_bytes() == old
    write_range(path, 0, 100, batch_size=BATCH, resume=True)
    assert len(load_augmentation_chain(path)) == 100


@pytest.mark.parametrize("fmt", RESUMABLE)
@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"start_id": START + 1}, "start_id"),
        ({"config": get_preset("mild")}, "config"),
        ({"config": AugmentationConfig(augmentation_depth=9)}, "config"),
    ],
)
def test_resume_with_other_settings_fails(
    tmp_path: Path, fmt: str, change: dict[str, Any], named: str
) -> None:
    path = tmp_path / f"out.{fmt}"
    interrupted(path)
    kwargs: dict[str, Any] = {"start_id": START, "end_id": END, "config": None, **change}
    with pytest.raises(ValueError, match=f"another {named}"):
        write_range(path, resume=True, batch_size=BATCH, **kwargs)
    assert partial_path(path).exists()  # progress is kept
    assert not path.exists()
    # the right settings still resume it
    assert write_range(path, START, END, batch_size=BATCH, resume=True).resumed_count == 64


@pytest.mark.parametrize("fmt", RESUMABLE)
def test_resume_with_another_end_is_allowed(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"out.{fmt}"
    interrupted(path)
    writer = write_range(path, START, END + 40, batch_size=BATCH, resume=True)
    assert (writer.resumed_count, writer.count) == (64, END + 40 - START)
    assert verify_augmentation_file(path).ok
    interrupted(path)
    with pytest.raises(ValueError, match="already holds 64"):
        write_range(path, START, START + 20, resume=True)
    assert partial_path(path).exists()


def test_resume_cuts_a_damaged_jsonl_tail(tmp_path: Path, reference: dict[str, Path]) -> None:
    path = tmp_path / "out.jsonl"
    partial = partial_path(path)
    damaged_tails = [
        lambda line: line[: len(line) // 2],  # half a line, no newline
        lambda line: line[: len(line) // 2] + "\n",  # half a line, newline
        lambda line: line.replace('"sample_id": 74', '"sample_id": 99'),  # wrong id
        lambda line: line.replace('"hash": "', '"hash": "x'),  # damaged record
    ]
    for damage in damaged_tails:
        interrupted(path)
        lines = partial.read_text().splitlines(keepends=True)
        assert len(lines) == 65
        sample = lines[1].replace('"sample_id": 10', '"sample_id": 74')
        with partial.open("a") as handle:
            handle.write(damage(sample))
        writer = write_range(path, START, END, batch_size=BATCH, resume=True)
        assert writer.resumed_count == 64
        assert canon(load_augmentation_chain(path)) == canon(
            load_augmentation_chain(reference["jsonl"])
        )
        assert verify_augmentation_file(path).ok


def test_resume_cuts_a_damaged_record_in_the_middle(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    interrupted(path)
    partial = partial_path(path)
    lines = partial.read_text().splitlines(keepends=True)
    lines[20] = lines[20].replace('"rotation": ', '"rotation": "', 1)
    partial.write_text("".join(lines))
    writer = write_range(path, START, END, batch_size=BATCH, resume=True)
    assert writer.resumed_count == 19
    assert verify_augmentation_file(path).ok


def test_resume_after_a_finished_but_unrenamed_jsonl(tmp_path: Path) -> None:
    """A partial that already has its end line (killed before the rename) is
    continued: the end line is cut and written again."""
    path = tmp_path / "out.jsonl"
    write_range(tmp_path / "done.jsonl", START, END, batch_size=BATCH)
    partial_path(path).write_bytes((tmp_path / "done.jsonl").read_bytes())
    writer = write_range(path, START, END, batch_size=BATCH, resume=True)
    assert writer.resumed_count == END - START
    assert canon(load_augmentation_chain(path)) == canon(
        load_augmentation_chain(tmp_path / "done.jsonl")
    )


def test_resume_drops_a_damaged_parquet_part(tmp_path: Path, reference: dict[str, Path]) -> None:
    path = tmp_path / "out.parquet"
    interrupted(path)
    parts = sorted(partial_path(path).glob("part-*.parquet"))
    assert len(parts) == 4
    parts[-1].write_bytes(parts[-1].read_bytes()[:100])
    (partial_path(path) / "part-000003.writing").write_bytes(b"half")
    writer = write_range(path, START, END, batch_size=BATCH, resume=True)
    assert writer.resumed_count == 48
    assert canon(load_augmentation_chain(path)) == canon(
        load_augmentation_chain(reference["parquet"])
    )
    assert folder_names(tmp_path) == [path.name]


@pytest.mark.parametrize("fmt", RESUMABLE)
def test_resume_without_partial_starts_fresh(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"out.{fmt}"
    writer = write_range(path, START, END, batch_size=BATCH, resume=True)
    assert (writer.resumed_count, writer.count) == (0, END - START)
    assert verify_augmentation_file(path).ok
    assert folder_names(tmp_path) == [path.name]


@pytest.mark.parametrize("fmt", RESUMABLE)
def test_resumable_without_resume_starts_over(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"out.{fmt}"
    interrupted(path)
    writer = write_range(path, START, END, batch_size=BATCH, resumable=True)
    assert writer.resumed_count == 0
    assert verify_augmentation_file(path).ok
    assert folder_names(tmp_path) == [path.name]


@pytest.mark.parametrize("fmt", RESUMABLE)
def test_resume_with_an_unreadable_header_fails(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"out.{fmt}"
    partial = partial_path(path)
    if fmt == "jsonl":
        partial.write_text('{"metadata": garbage}\n')
    else:
        partial.mkdir()
        (partial / "metadata.json").write_text('{"metadata": garb')
    with pytest.raises(ValueError, match="no readable header"):
        write_range(path, START, END, resume=True, format=fmt)
    assert partial.exists() and not path.exists()


def test_resume_of_a_partial_stopped_inside_its_header_starts_over(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    partial_path(path).write_text('{"metadata": {"vers')  # killed while writing line 1
    writer = write_range(path, START, END, resume=True)
    assert writer.resumed_count == 0
    assert load_augmentation_chain(path) == generate_batch(range(START, END)).to_dicts()


@pytest.mark.parametrize("resume", [{"resumable": True}, {"resume": True}])
def test_json_cannot_be_resumable(tmp_path: Path, resume: dict[str, bool]) -> None:
    with pytest.raises(ValueError, match="jsonl or parquet"):
        write_range(tmp_path / "out.json", 0, 10, **resume)
    with pytest.raises(ValueError, match="jsonl or parquet"):
        AugmentationWriter(tmp_path / "out.json", **resume)
    assert folder_names(tmp_path) == []


@pytest.mark.parametrize("fmt", RESUMABLE)
def test_second_writer_on_the_same_partial_is_locked_out(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"out.{fmt}"
    with AugmentationWriter(path, resumable=True, extra_metadata={"start_id": 0}) as first:
        first.write(generate_batch(range(20)))
        for kwargs in ({"resume": True}, {"resumable": True}):
            with pytest.raises(RuntimeError, match="another process"):
                AugmentationWriter(path, extra_metadata={"start_id": 0}, **kwargs)
        with pytest.raises(RuntimeError, match="another process"):
            write_range(path, 0, 50, resume=True)
        first.write(generate_batch(range(20, 30)))
    assert [r["sample_id"] for r in load_augmentation_chain(path)] == list(range(30))
    assert verify_augmentation_file(path).ok
    assert folder_names(tmp_path) == [path.name]
    # once the first is gone, the lock is free again
    with AugmentationWriter(path, resumable=True) as again:
        again.write(generate_batch(range(2)))
    assert len(load_augmentation_chain(path)) == 2


@pytest.mark.parametrize("fmt", RESUMABLE)
def test_writer_abort_keeps_resumable_progress(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"out.{fmt}"
    writer = AugmentationWriter(path, resumable=True)
    writer.write(generate_batch(range(7)))
    writer.abort()
    assert partial_path(path).exists() and not path.exists()
    resumed = AugmentationWriter(path, resume=True)
    assert resumed.resumed_count == 7
    resumed.write(generate_batch(range(7, 9)))
    resumed.close()
    assert [r["sample_id"] for r in load_augmentation_chain(path)] == list(range(9))
    assert verify_augmentation_file(path).ok


# --- constant memory ------------------------------------------------------------------


def fast_batches(n: int, batch_size: int = 4096) -> Iterator[ParamBatch]:
    """n records as ParamBatch objects, quickly: one generated batch, repeated under
    new ids (the values repeat; only the memory use matters here)."""
    template = next(iter_batches(0, batch_size, batch_size=batch_size))
    return _repeat(template, n)


def _repeat(template: ParamBatch, n: int) -> Iterator[ParamBatch]:
    size = len(template)
    for start in range(0, n, size):
        count = min(size, n - start)
        ids = np.arange(start, start + count, dtype=np.int64)
        yield dataclasses.replace(template[:count], sample_id=ids)


def traced_peak(action: Any) -> tuple[Any, int]:
    tracemalloc.start()
    try:
        result = action()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, peak


MB = 1 << 20


@pytest.mark.slow
def test_save_stream_in_constant_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    stream = fast_batches(300_000)  # generated here, outside the traced call
    count, peak = traced_peak(lambda: save_augmentation_stream(stream, path))
    assert count == 300_000
    assert path.stat().st_size > 70 * MB
    assert peak < 20 * MB, f"peak {peak / MB:.1f} MB"


@pytest.fixture(scope="module")
def big_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, int]]:
    """Large files, written once for the module. Reading under tracemalloc is slow
    (~15 us a record), so only JSON, whose incremental parser matters most, gets
    200,000 records; the others get enough that holding their records as dicts
    (~900 bytes each) would break the bound several times over."""
    folder = tmp_path_factory.mktemp("big")
    out = {}
    for fmt, n in (("json", 200_000), ("jsonl", 60_000), ("parquet", 100_000)):
        path = folder / f"big.{fmt}"
        save_augmentation_stream(fast_batches(n), path)
        out[fmt] = (path, n)
    return out


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fmt", "chunk_size"), [("json", None), ("jsonl", 1000), ("parquet", None)]
)
def test_load_stream_in_constant_memory(
    big_files: dict[str, tuple[Path, int]], fmt: str, chunk_size: int | None
) -> None:
    path, n = big_files[fmt]

    def consume() -> int:
        count = 0
        last = -1
        for item in load_augmentation_stream(path, chunk_size=chunk_size):
            for record in item if chunk_size else [item]:
                assert record["sample_id"] == last + 1
                last = record["sample_id"]
                count += 1
        return count

    count, peak = traced_peak(consume)
    assert count == n
    # the records as dicts would take ~900 bytes each (54-180 MB here)
    assert peak < 16 * MB, f"peak {peak / MB:.1f} MB"
