"""Reading parameter files (dpa._formats): format detection, v0.2 compatibility,
Parquet id columns, and rejection of every kind of damaged file with a
DPAFileError that names the file and the problem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dpa import (
    AugmentationConfig,
    AugmentationWriter,
    DPAFileError,
    compute_statistics,
    generate_augmentation_chain,
    generate_batch,
    load_augmentation_chain,
    load_augmentation_stream,
    read_augmentation_file,
    save_augmentation_chain,
)
from dpa._formats import FORMATS, detect_format

N = 40


def canon(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records with floats as float.hex(), so == compares bits."""
    return [{k: v.hex() if isinstance(v, float) else v for k, v in r.items()} for r in records]


def with_positions(records: list[dict[str, Any]], start: int = 0) -> list[dict[str, Any]]:
    return [dict(r, sample_id=start + i) for i, r in enumerate(records)]


def write_file(folder: Path, fmt: str, n: int = N, **kwargs: Any) -> Path:
    path = folder / f"params.{fmt}"
    save_augmentation_chain(generate_batch(range(n)), path, **kwargs)
    return path


def load_all(path: Path) -> list[dict[str, Any]]:
    """Read through both public readers; both must agree."""
    records = load_augmentation_chain(path)
    chunks = list(load_augmentation_stream(path, chunk_size=7))
    assert [r for chunk in chunks for r in chunk] == records
    return records


def assert_rejected(path: Path, *fragments: str) -> DPAFileError:
    with pytest.raises(DPAFileError) as info:
        load_all(path)
    error = info.value
    assert error.path == str(path)
    assert str(path) in str(error)
    for fragment in fragments:
        assert fragment in error.problem, error.problem
    return error


def parquet_kv(path: Path) -> dict[bytes, bytes]:
    raw = pq.ParquetFile(path).metadata.metadata
    return {k: v for k, v in raw.items() if k != b"ARROW:schema"}


def rewrite_parquet(source: Path, target: Path, table: pa.Table, keep_dpa: bool = True) -> Path:
    """Write ``table`` to ``target`` with (or without) the dpa key-value metadata of
    ``source``."""
    metadata = parquet_kv(source) if keep_dpa else None
    pq.write_table(table.replace_schema_metadata(metadata), target)
    return target


# --- format detection -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.json", "json"),
        ("a.JSON", "json"),
        ("a.jsonl", "jsonl"),
        ("a.ndjson", "jsonl"),
        ("dir.x/a.parquet", "parquet"),
    ],
)
def test_detect_format_from_suffix(name: str, fmt: str) -> None:
    assert detect_format(name) == fmt


def test_detect_format_explicit_and_unknown() -> None:
    assert detect_format("a.txt", "parquet") == "parquet"
    with pytest.raises(ValueError, match="suffix"):
        detect_format("a.txt")
    with pytest.raises(ValueError, match="unknown format"):
        detect_format("a.json", "csv")


@pytest.mark.parametrize("fmt", FORMATS)
def test_reader_sniffs_content_not_suffix(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "params.dat"
    batch = generate_batch(range(5))
    save_augmentation_chain(batch, path, format=fmt)
    file = read_augmentation_file(path)
    assert file.format == fmt
    assert file.num_samples == 5
    assert file.config == AugmentationConfig()
    assert canon(load_all(path)) == canon(batch.to_dicts())


def test_dpa_file_error_is_value_error_with_path_and_problem() -> None:
    error = DPAFileError("some/file.json", "broken")
    assert isinstance(error, ValueError)
    assert (error.path, error.problem, str(error)) == (
        "some/file.json",
        "broken",
        "some/file.json: broken",
    )


# --- missing, empty, garbage ----------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(FileNotFoundError, match=r"nope\.json"):
        read_augmentation_file(path)
    with pytest.raises(FileNotFoundError):
        load_augmentation_chain(path)
    with pytest.raises(FileNotFoundError):
        load_augmentation_stream(path)  # raised at the call, not at the first next()


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError, match="folder"):
        load_augmentation_chain(tmp_path)


@pytest.mark.parametrize("bad", ["", None, 3])
def test_bad_path_argument(bad: Any) -> None:
    with pytest.raises(TypeError):
        read_augmentation_file(bad)


@pytest.mark.parametrize("name", ["empty.json", "empty.jsonl", "empty.parquet"])
@pytest.mark.parametrize("content", [b"", b"  \n\n  "])
def test_empty_file(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert_rejected(path, "empty")


@pytest.mark.parametrize(
    "content",
    [b"hello world", b"\x00\x01\x02binary", b"PAR", b"# comment\n", b"<xml/>"],
)
def test_garbage(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "garbage.json"
    path.write_bytes(content)
    assert_rejected(path)


@pytest.mark.parametrize("content", ["[1, 2, 3]", "42", '"text"', "null"])
def test_json_that_is_not_an_object(tmp_path: Path, content: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(content)
    assert_rejected(path)


def test_fake_parquet_magic(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    path.write_bytes(b"PAR1" + b"\x00" * 100 + b"PAR1")
    assert_rejected(path, "Parquet")


# --- truncation -----------------------------------------------------------------------

_STATISTICS_MARKERS = [b'"statistics"', b'"contrast": {"mean"']
_MARKERS = {
    "json": [
        b'"version"',
        b'"num_samples"',
        b'"generation_time"',
        b'"augmentations"',
        b"\n]",
        *_STATISTICS_MARKERS,
    ],
    "jsonl": [
        b'"version"',
        b'"num_samples"',
        b'\n{"sample_id"',
        b'"hash"',
        b'\n{"end"',
        *_STATISTICS_MARKERS,
    ],
    "parquet": [b"dpa.metadata", b"dpa.summary", b"sample_id", b'"statistics"'],
}


def cut_points(data: bytes, fmt: str) -> list[int]:
    """~20+ cut positions spread over the file, including inside the header /
    metadata and right before the end line / footer. Every cut leaves an
    incomplete file (for JSON the trailing newline alone may go)."""
    limit = len(data.rstrip()) if fmt == "json" else len(data)
    points = {int(x) for x in np.linspace(0, limit - 1, 12)}
    for marker in _MARKERS[fmt]:
        at = data.rfind(marker) if fmt == "parquet" else data.find(marker)
        if at >= 0:  # the statistics markers are absent with include_stats=False
            points |= {at, at + 1, at + len(marker) // 2}
    points |= {limit - 1, limit - 2, limit - 4, limit - 8, limit - 12}
    return sorted(p for p in points if 0 <= p < limit)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("include_stats", [True, False])
def test_every_truncation_raises_dpa_file_error(
    tmp_path: Path, fmt: str, include_stats: bool
) -> None:
    source = write_file(tmp_path, fmt, include_stats=include_stats)
    data = source.read_bytes()
    assert len(load_all(source)) == N
    points = cut_points(data, fmt)
    assert len(points) >= 20
    for cut in points:
        path = tmp_path / f"cut-{cut}.{fmt}"
        path.write_bytes(data[:cut])
        # never fewer records silently, never another exception type
        with pytest.raises(DPAFileError) as info:
            load_all(path)
        assert info.value.path == str(path), cut
        with pytest.raises(DPAFileError):
            list(load_augmentation_stream(path))
        path.unlink()


def test_truncated_json_across_read_blocks(tmp_path: Path) -> None:
    """A JSON file over the reader's 1 MiB block, cut in the second block."""
    batch = generate_batch(range(200))
    big = type(batch).concat([batch] * 25)  # 5000 records, ids repeat; ~1.3 MB
    path = tmp_path / "big.json"
    save_augmentation_chain(big, path)
    data = path.read_bytes()
    assert len(data) > 1 << 20
    assert len(load_all(path)) == 5000
    for cut in [(1 << 20) - 1, 1 << 20, (1 << 20) + 77, len(data) - 300]:
        path.write_bytes(data[:cut])
        assert_rejected(path)


# --- records with wrong types ---------------------------------------------------------


def _text_file(path: Path, fmt: str, records: list[Any], metadata: dict[str, Any]) -> Path:
    if fmt == "json":
        path.write_text(json.dumps({"metadata": metadata, "augmentations": records}))
    else:
        lines = [json.dumps({"metadata": metadata})] + [json.dumps(r) for r in records]
        lines.append(json.dumps({"end": {"num_samples": len(records)}}))
        path.write_text("\n".join(lines) + "\n")
    return path


def _edit(field: str, value: Any) -> Any:
    def change(record: dict[str, Any]) -> Any:
        if value is _DELETE:
            del record[field]
        else:
            record[field] = value
        return record

    return change


_DELETE = object()

_BAD_RECORDS = {
    "rotation as string": (_edit("rotation", "1.5"), "'rotation'"),
    "rotation as bool": (_edit("rotation", True), "'rotation'"),
    "rotation null": (_edit("rotation", None), "'rotation'"),
    "missing noise": (_edit("noise", _DELETE), "'noise'"),
    "missing hash": (_edit("hash", _DELETE), "'hash'"),
    "short hash": (_edit("hash", "abc123"), "'hash'"),
    "upper-case hash": (_edit("hash", "F" * 64), "'hash'"),
    "hash as number": (_edit("hash", 12), "'hash'"),
    "negative sample_id": (_edit("sample_id", -1), "'sample_id'"),
    "float sample_id": (_edit("sample_id", 2.0), "'sample_id'"),
    "string sample_id": (_edit("sample_id", "2"), "'sample_id'"),
    "bool sample_id": (_edit("sample_id", True), "'sample_id'"),
    "not an object": (lambda record: [1, 2], "expected an object"),
}


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
@pytest.mark.parametrize("case", sorted(_BAD_RECORDS))
def test_record_with_wrong_type(tmp_path: Path, fmt: str, case: str) -> None:
    change, fragment = _BAD_RECORDS[case]
    records = generate_batch(range(5)).to_dicts()
    records[3] = change(records[3])
    path = _text_file(tmp_path / f"bad.{fmt}", fmt, records, {"num_samples": 5})
    error = assert_rejected(path, "record 3", fragment)
    assert "record 3" in str(error)


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_non_finite_value(tmp_path: Path, fmt: str) -> None:
    records = generate_batch(range(3)).to_dicts()
    records[1]["scale"] = float("inf")  # json.dumps writes Infinity, json.loads reads it
    path = _text_file(tmp_path / f"bad.{fmt}", fmt, records, {})
    assert_rejected(path, "record 1", "'scale'", "finite")


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
@pytest.mark.parametrize("declared", [4, 6, 0])
def test_num_samples_disagrees_with_records(tmp_path: Path, fmt: str, declared: int) -> None:
    records = generate_batch(range(5)).to_dicts()
    path = tmp_path / f"bad.{fmt}"
    if fmt == "json":
        path.write_text(
            json.dumps({"metadata": {"num_samples": declared}, "augmentations": records})
        )
    else:
        lines = [json.dumps({"metadata": {"num_samples": declared}})]
        lines += [json.dumps(r) for r in records]
        lines.append(json.dumps({"end": {"num_samples": declared}}))
        path.write_text("\n".join(lines) + "\n")
    assert_rejected(path, f"declares {declared} samples but holds 5")


@pytest.mark.parametrize(
    ("metadata", "fragment"),
    [
        ([], "'metadata' must be an object"),
        ({"config": {"bogus_range": [0, 1]}}, "invalid config"),
        ({"config": {"rotation_range": [3, 1]}}, "invalid config"),
        ({"config": "moderate"}, "invalid config"),
        ({"num_samples": -1}, "invalid num_samples"),
        ({"num_samples": "5"}, "invalid num_samples"),
        ({"num_samples": True}, "invalid num_samples"),
        ({"distributed_info": {"rank": 2, "world_size": 2, "base_seed": 0}}, "distributed_info"),
        ({"distributed_info": {"rank": 0, "world_size": 1}}, "distributed_info"),
        ({"distributed_info": [0, 1, 2]}, "distributed_info"),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_bad_metadata(tmp_path: Path, fmt: str, metadata: Any, fragment: str) -> None:
    path = _text_file(tmp_path / f"bad.{fmt}", fmt, generate_batch(range(2)).to_dicts(), {})
    text = path.read_text().replace('{"metadata": {}', '{"metadata": ' + json.dumps(metadata), 1)
    path.write_text(text)
    with pytest.raises(DPAFileError, match=fragment) as info:
        read_augmentation_file(path)  # metadata problems show at open
    assert info.value.path == str(path)


def test_json_structure_problems(tmp_path: Path) -> None:
    records = generate_batch(range(2)).to_dicts()
    cases = {
        "no-records.json": ({"metadata": {}}, "no 'augmentations'"),
        "empty-object.json": ({}, "no 'augmentations'"),
        "records-object.json": ({"metadata": {}, "augmentations": {}}, "expected '['"),
    }
    for name, (document, fragment) in cases.items():
        path = tmp_path / name
        path.write_text(json.dumps(document))
        assert_rejected(path, fragment)
    path = tmp_path / "trailing.json"
    path.write_text(json.dumps({"metadata": {}, "augmentations": records}) + "\n{}\n")
    assert_rejected(path, "after the end")
    path = tmp_path / "missing-comma.json"
    path.write_text(json.dumps({"metadata": {}, "augmentations": records}).replace("}, {", "} {"))
    assert_rejected(path, "malformed")


def test_json_without_metadata_loads_with_positions(tmp_path: Path) -> None:
    records = generate_augmentation_chain(4)
    path = tmp_path / "bare.json"
    path.write_text(json.dumps({"augmentations": records}))
    file = read_augmentation_file(path)
    assert (file.num_samples, file.config) == (None, None)
    assert canon(load_all(path)) == canon(with_positions(records))


# --- JSON Lines structure -------------------------------------------------------------


def _jsonl_lines(tmp_path: Path) -> list[str]:
    return write_file(tmp_path, "jsonl", n=5).read_text().splitlines(keepends=True)


def test_jsonl_without_end_line(tmp_path: Path) -> None:
    lines = _jsonl_lines(tmp_path)
    path = tmp_path / "noend.jsonl"
    path.write_text("".join(lines[:-1]))
    assert_rejected(path, "no end line")


@pytest.mark.parametrize("extra", ["record", "blank", "end"])
def test_jsonl_data_after_end_line(tmp_path: Path, extra: str) -> None:
    lines = _jsonl_lines(tmp_path)
    tail = {"record": lines[1], "blank": "\n", "end": lines[-1]}[extra]
    path = tmp_path / "after.jsonl"
    path.write_text("".join(lines) + tail)
    assert_rejected(path, "after the end line")


def test_jsonl_end_line_disagrees_with_header(tmp_path: Path) -> None:
    lines = _jsonl_lines(tmp_path)
    end = json.loads(lines[-1])
    end["end"]["num_samples"] = 4
    path = tmp_path / "end.jsonl"
    path.write_text("".join(lines[:-1]) + json.dumps(end) + "\n")
    assert_rejected(path, "disagree")


@pytest.mark.parametrize("end", ['{"end": 5}', '{"end": {"num_samples": "5"}}', '{"end": {}}'])
def test_jsonl_malformed_end_line(tmp_path: Path, end: str) -> None:
    lines = _jsonl_lines(tmp_path)
    path = tmp_path / "end.jsonl"
    path.write_text("".join(lines[:-1]) + end + "\n")
    assert_rejected(path, "malformed end line")


def test_jsonl_blank_or_broken_line_inside(tmp_path: Path) -> None:
    lines = _jsonl_lines(tmp_path)
    path = tmp_path / "blank.jsonl"
    path.write_text("".join(lines[:3]) + "\n" + "".join(lines[3:]))
    assert_rejected(path, "line 4", "malformed JSON")
    path.write_text("".join(lines[:3]) + lines[3][:40] + "\n" + "".join(lines[4:]))
    assert_rejected(path, "line 4")


def test_jsonl_with_a_long_header_line(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    with AugmentationWriter(path, extra_metadata={"note": "x" * 5000}) as writer:
        writer.write(generate_batch(range(3)))
    assert read_augmentation_file(path).format == "jsonl"
    assert len(load_all(path)) == 3


def test_jsonl_bad_metadata_line(tmp_path: Path) -> None:
    lines = _jsonl_lines(tmp_path)
    path = tmp_path / "meta.jsonl"
    path.write_text('{"metadata": {"num_samples": 5}, "x": 1\n' + "".join(lines[1:]))
    assert_rejected(path)


# --- Parquet schema -------------------------------------------------------------------


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


# --- v0.2 compatibility ---------------------------------------------------------------


def v02_document(n: int, config: AugmentationConfig) -> dict[str, Any]:
    records = generate_augmentation_chain(n, config)
    return {
        "metadata": {"num_samples": n, "config": config.to_dict()},
        "augmentations": records,
        "statistics": compute_statistics(records),
    }


@pytest.mark.parametrize("n", [0, 1, 25])
def test_v02_json_file_loads(tmp_path: Path, n: int) -> None:
    config = AugmentationConfig(rotation_range=(-5, 5), augmentation_depth=3)
    document = v02_document(n, config)
    path = tmp_path / "v02.json"
    path.write_text(json.dumps(document, indent=2))
    file = read_augmentation_file(path)
    assert (file.format, file.num_samples, file.config) == ("json", n, config)
    assert canon(load_all(path)) == canon(with_positions(document["augmentations"]))


def test_v02_records_with_extra_keys_and_int_values(tmp_path: Path) -> None:
    """v0.2 distributed records carry a 'rank' key; integral values are numbers too."""
    records = generate_augmentation_chain(3)
    for record in records:
        record["rank"] = 1
    records[0]["noise"] = 0
    path = tmp_path / "v02.jsonl"
    _text_file(path, "jsonl", records, {"num_samples": 3})
    loaded = load_all(path)
    assert [r["sample_id"] for r in loaded] == [0, 1, 2]
    assert "rank" not in loaded[0]
    assert loaded[0]["noise"] == 0.0 and type(loaded[0]["noise"]) is float


def test_positions_continue_across_read_chunks(tmp_path: Path) -> None:
    records = generate_augmentation_chain(10)
    for fmt in ("json", "jsonl"):
        path = _text_file(tmp_path / f"p.{fmt}", fmt, records, {})
        chunks = list(load_augmentation_stream(path, chunk_size=3))
        assert [[r["sample_id"] for r in c] for c in chunks] == [
            [0, 1, 2],
            [3, 4, 5],
            [6, 7, 8],
            [9],
        ]
