"""Reading parameter files of any format (dpa._formats: common, files): format
detection, missing and damaged files, record and metadata checks, truncation, v0.2
compatibility; each rejection a DPAFileError that names the file and the problem.
(What belongs to one format: test_formats_json.py, _jsonl.py, _parquet.py.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dpa import (
    AugmentationConfig,
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
from file_checks import (
    N,
    assert_rejected,
    canon,
    load_all,
    text_file,
    with_positions,
    write_file,
)

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


# --- records with wrong types ---------------------------------------------------------


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
    path = text_file(tmp_path / f"bad.{fmt}", fmt, records, {"num_samples": 5})
    error = assert_rejected(path, "record 3", fragment)
    assert "record 3" in str(error)


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_non_finite_value(tmp_path: Path, fmt: str) -> None:
    records = generate_batch(range(3)).to_dicts()
    records[1]["scale"] = float("inf")  # json.dumps writes Infinity, json.loads reads it
    path = text_file(tmp_path / f"bad.{fmt}", fmt, records, {})
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
    path = text_file(tmp_path / f"bad.{fmt}", fmt, generate_batch(range(2)).to_dicts(), {})
    text = path.read_text().replace('{"metadata": {}', '{"metadata": ' + json.dumps(metadata), 1)
    path.write_text(text)
    with pytest.raises(DPAFileError, match=fragment) as info:
        read_augmentation_file(path)  # metadata problems show at open
    assert info.value.path == str(path)


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
    text_file(path, "jsonl", records, {"num_samples": 3})
    loaded = load_all(path)
    assert [r["sample_id"] for r in loaded] == [0, 1, 2]
    assert "rank" not in loaded[0]
    assert loaded[0]["noise"] == 0.0 and type(loaded[0]["noise"]) is float


def test_positions_continue_across_read_chunks(tmp_path: Path) -> None:
    records = generate_augmentation_chain(10)
    for fmt in ("json", "jsonl"):
        path = text_file(tmp_path / f"p.{fmt}", fmt, records, {})
        chunks = list(load_augmentation_stream(path, chunk_size=3))
        assert [[r["sample_id"] for r in c] for c in chunks] == [
            [0, 1, 2],
            [3, 4, 5],
            [6, 7, 8],
            [9],
        ]
