"""The Parquet format (dpa._formats.parquet): columns checked whole, the dpa
metadata and summary, plain pyarrow files, and the id column's type (int64,
uint64 or decimal strings) on the way in and out."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dpa import (
    generate_batch,
    load_augmentation_chain,
    load_augmentation_stream,
    read_augmentation_file,
    save_augmentation_chain,
    save_augmentation_stream,
    verify_augmentation_file,
)
from file_checks import (
    assert_rejected,
    canon,
    load_all,
    parquet_kv,
    rewrite_parquet,
    with_positions,
    write_file,
)


@pytest.fixture
def parquet_source(tmp_path: Path) -> tuple[Path, pa.Table]:
    path = write_file(tmp_path, "parquet", n=6)
    return path, pq.read_table(path)


@pytest.mark.parametrize("column", ["noise", "rotation", "contrast", "hash"])
@pytest.mark.parametrize("keep_dpa", [True, False])
def test_parquet_missing_column(
    tmp_path: Path, parquet_source: tuple[Path, pa.Table], column: str, keep_dpa: bool
) -> None:
    source, table = parquet_source
    path = rewrite_parquet(source, tmp_path / "x.parquet", table.drop_columns([column]), keep_dpa)
    assert_rejected(path, f"missing column {column!r}")


def _set(table: pa.Table, name: str, array: pa.Array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, array)


_BAD_COLUMNS = {
    "rotation as string": ("rotation", lambda t: t.column("rotation").cast(pa.string()), "type"),
    "rotation as int": ("rotation", lambda t: pa.array(range(6), pa.int64()), "type"),
    "rotation with null": (
        "rotation",
        lambda t: pa.array([None, 1.0, 2.0, 3.0, 4.0, 5.0], pa.float64()),
        "missing values",
    ),
    "noise with nan": (
        "noise",
        lambda t: pa.array([0.0, float("nan"), 0.0, 0.0, 0.0, 0.0], pa.float64()),
        "not finite",
    ),
    "scale as float32": (
        "scale",
        lambda t: t.column("scale").cast(pa.float32()),
        "expected double",
    ),
    "hash as binary": ("hash", lambda t: t.column("hash").cast(pa.binary()), "type"),
    "hash not hex": ("hash", lambda t: pa.array(["zz" * 32] * 6), "not 64 lower-case hex"),
    "sample_id as double": (
        "sample_id",
        lambda t: t.column("sample_id").cast(pa.float64()),
        "type",
    ),
    "sample_id as words": ("sample_id", lambda t: pa.array(list("abcdef")), "not an id"),
    "sample_id negative": ("sample_id", lambda t: pa.array([0, 1, 2, -3, 4, 5]), "negative"),
    "sample_id null": ("sample_id", lambda t: pa.array([0, 1, None, 3, 4, 5]), "missing values"),
}


@pytest.mark.parametrize("case", sorted(_BAD_COLUMNS))
def test_parquet_wrong_column(
    tmp_path: Path, parquet_source: tuple[Path, pa.Table], case: str
) -> None:
    source, table = parquet_source
    name, make, fragment = _BAD_COLUMNS[case]
    bad = _set(table, name, make(table))
    path = rewrite_parquet(source, tmp_path / "x.parquet", bad)
    assert_rejected(path, fragment)


def test_parquet_row_count_disagrees(tmp_path: Path, parquet_source: tuple[Path, pa.Table]) -> None:
    source, table = parquet_source
    path = rewrite_parquet(source, tmp_path / "x.parquet", table.slice(0, 5))
    assert_rejected(path, "declares 6 samples but holds 5")


def test_parquet_without_summary_is_incomplete(
    tmp_path: Path, parquet_source: tuple[Path, pa.Table]
) -> None:
    source, table = parquet_source
    metadata = {b"dpa.metadata": parquet_kv(source)[b"dpa.metadata"]}
    path = tmp_path / "x.parquet"
    pq.write_table(table.replace_schema_metadata(metadata), path)
    assert_rejected(path, "did not finish")


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        (b"dpa.metadata", b"{not json", "malformed dpa metadata"),
        (b"dpa.summary", b"[1, 2]", "malformed dpa summary"),
        (b"dpa.summary", b'{"num_samples": -2}', "invalid num_samples"),
    ],
)
def test_parquet_malformed_dpa_metadata(
    tmp_path: Path, parquet_source: tuple[Path, pa.Table], key: bytes, value: bytes, fragment: str
) -> None:
    source, table = parquet_source
    metadata = {**parquet_kv(source), key: value}
    path = tmp_path / "x.parquet"
    pq.write_table(table.replace_schema_metadata(metadata), path)
    assert_rejected(path, fragment)


def test_parquet_rewritten_with_dpa_metadata_still_loads(
    tmp_path: Path, parquet_source: tuple[Path, pa.Table]
) -> None:
    source, table = parquet_source
    path = rewrite_parquet(source, tmp_path / "x.parquet", table)
    assert canon(load_all(path)) == canon(load_all(source))
    assert read_augmentation_file(path).num_samples == 6


def test_plain_pyarrow_parquet_loads(tmp_path: Path) -> None:
    """A Parquet file written by plain pyarrow, without dpa metadata: ids from the
    sample_id column, or positions (across row groups) when there is none."""
    batch = generate_batch([7, 3, 11, 2**40, 5, 0, 9, 1, 2, 4])
    table = batch.to_arrow().replace_schema_metadata(None)
    path = tmp_path / "plain.parquet"
    pq.write_table(table, path, row_group_size=3)
    file = read_augmentation_file(path)
    assert (file.format, file.num_samples, file.config, file.statistics) == (
        "parquet",
        None,
        None,
        None,
    )
    assert canon(load_all(path)) == canon(batch.to_dicts())

    pq.write_table(table.drop_columns(["sample_id"]), path, row_group_size=3)
    records = load_all(path)
    assert [r["sample_id"] for r in records] == list(range(10))
    assert canon(records) == canon(with_positions(batch.to_dicts()))
    chunks = list(load_augmentation_stream(path, chunk_size=4))
    assert [len(c) for c in chunks] == [4, 4, 2]
    assert [r["sample_id"] for c in chunks for r in c] == list(range(10))


def test_plain_parquet_with_decimal_string_ids(tmp_path: Path) -> None:
    batch = generate_batch(range(3))
    table = batch.to_arrow().replace_schema_metadata(None)
    table = _set(table, "sample_id", pa.array(["0", "1", "2"]))
    path = tmp_path / "s.parquet"
    pq.write_table(table, path)
    assert canon(load_all(path)) == canon(batch.to_dicts())


# --- Parquet id columns ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("ids", "arrow_type"),
    [
        (range(5), pa.int64()),
        (range(2**63 - 2, 2**63 + 2), pa.uint64()),
        (range(2**64 - 3, 2**64), pa.uint64()),
        (range(2**64 - 2, 2**64 + 2), pa.string()),
        (range(2**100, 2**100 + 3), pa.string()),
    ],
)
def test_parquet_id_column_type(tmp_path: Path, ids: range, arrow_type: pa.DataType) -> None:
    batch = generate_batch(ids)
    path = tmp_path / "ids.parquet"
    save_augmentation_chain(batch, path)
    assert pq.read_schema(path).field("sample_id").type == arrow_type
    records = load_all(path)
    assert [r["sample_id"] for r in records] == list(ids)
    assert all(type(r["sample_id"]) is int for r in records)
    assert canon(records) == canon(batch.to_dicts())


def test_parquet_id_types_across_batches(tmp_path: Path) -> None:
    """int64 ids then uint64 or string ids (or uint64 then string) cannot share a
    file; the other way round they can."""
    path = tmp_path / "ids.parquet"
    small, big, huge = range(0, 3), range(2**63, 2**63 + 3), range(2**64, 2**64 + 2)
    for first, second in [(small, big), (small, huge), (big, huge)]:
        stream = [generate_batch(first), generate_batch(second)]
        with pytest.raises(ValueError, match=r"do not fit the file's u?int64 id column"):
            save_augmentation_stream(stream, path)
        assert list(tmp_path.iterdir()) == []
    for first, second in [(big, small), (huge, big), (huge, small)]:
        save_augmentation_stream([generate_batch(first), generate_batch(second)], path)
        ids = [r["sample_id"] for r in load_augmentation_chain(path)]
        assert ids == [*first, *second]
        assert verify_augmentation_file(path).ok
    # one batch that crosses 2**63 or 2**64 is fine
    for ids in (range(2**63 - 2, 2**63 + 2), range(2**64 - 2, 2**64 + 2)):
        save_augmentation_chain(generate_batch(ids), path)
        assert [r["sample_id"] for r in load_augmentation_chain(path)] == list(ids)
