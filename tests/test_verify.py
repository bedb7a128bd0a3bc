"""verify_augmentation_file: recompute every record from the file's own metadata."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dpa
from dpa import (
    PARAM_NAMES,
    AugmentationConfig,
    DPAFileError,
    ParamBatch,
    VerifyReport,
    generate_batch,
    get_preset,
    iter_batches,
    save_augmentation_chain,
    save_augmentation_stream,
    verify_augmentation_file,
)
from dpa._formats import FORMATS
from dpa._generate import _generate
from dpa._keys import RankAwareScheme
from dpa._parambatch import _id_array

START, N = 100, 30


def write(folder: Path, fmt: str, batch: ParamBatch | None = None, **kwargs: Any) -> Path:
    path = folder / f"params.{fmt}"
    if batch is None:
        batch = generate_batch(range(START, START + N), kwargs.get("config"))
    save_augmentation_chain(batch, path, **kwargs)
    return path


def parquet_kv(path: Path) -> dict[bytes, bytes]:
    raw = pq.ParquetFile(path).metadata.metadata
    return {k: v for k, v in raw.items() if k != b"ARROW:schema"}


def rewrite_parquet(path: Path, table: pa.Table, kv: dict[bytes, bytes] | None = None) -> None:
    """Write ``table`` over ``path`` keeping the file's dpa metadata (or ``kv``)."""
    metadata = parquet_kv(path) if kv is None else kv
    pq.write_table(table.replace_schema_metadata(metadata), path)


def assert_clean(report: VerifyReport, n: int) -> None:
    assert report.ok
    assert (report.checked, report.mismatched_samples) == (n, 0)
    assert report.mismatches == [] and report.problems == []


# --- untouched files ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "config", [AugmentationConfig(), get_preset("mild"), AugmentationConfig(augmentation_depth=1)]
)
def test_untouched_file_verifies(tmp_path: Path, fmt: str, config: AugmentationConfig) -> None:
    path = write(tmp_path, fmt, config=config)
    report = verify_augmentation_file(path)
    assert_clean(report, N)
    assert (report.path, report.format) == (str(path), fmt)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("include_stats", [True, False])
def test_streamed_file_verifies_in_small_batches(
    tmp_path: Path, fmt: str, include_stats: bool
) -> None:
    path = tmp_path / f"s.{fmt}"
    save_augmentation_stream(iter_batches(0, 75, batch_size=8), path, include_stats=include_stats)
    progress: list[int] = []
    report = verify_augmentation_file(path, batch_size=10, progress=progress.append)
    assert_clean(report, 75)
    assert progress == [10] * 7 + [5]


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_big_ids_verify(tmp_path: Path, fmt: str) -> None:
    ids = [0, 2**63, 2**64 + 1, 10**25]
    path = write(tmp_path, fmt, generate_batch(ids))
    assert_clean(verify_augmentation_file(path), 4)


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_file_verifies(tmp_path: Path, fmt: str) -> None:
    path = write(tmp_path, fmt, generate_batch([]))
    assert_clean(verify_augmentation_file(path), 0)


# --- edited values --------------------------------------------------------------------


def edit_text_value(path: Path, sample_id: int, field: str) -> tuple[float, float]:
    """Change one digit of one float in a JSON / JSON Lines file's text; return the
    (original, edited) values."""
    text = path.read_text()
    record = re.search(rf'\{{"sample_id": {sample_id}, [^}}]*\}}', text)
    assert record is not None
    value = re.search(rf'"{field}": (-?[0-9.e+-]+)', record.group())
    assert value is not None and "." in value.group(1)
    token = value.group(1)
    dot = token.index(".")
    digit = int(token[dot + 1])
    edited = token[: dot + 1] + str((digit + 1) % 10) + token[dot + 2 :]
    start = record.start() + value.start(1)
    path.write_text(text[:start] + edited + text[start + len(token) :])
    assert float(edited) != float(token)
    return float(token), float(edited)


def edit_parquet_value(path: Path, row: int, field: str, value: Any) -> Any:
    table = pq.read_table(path)
    column = table.column(field).to_pylist()
    original = column[row]
    column[row] = value
    index = table.schema.get_field_index(field)
    rewrite_parquet(
        path, table.set_column(index, field, pa.array(column, table.schema.field(field).type))
    )
    return original


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
@pytest.mark.parametrize("field", ["rotation", "noise", "contrast"])
def test_one_edited_float_in_text(tmp_path: Path, fmt: str, field: str) -> None:
    path = write(tmp_path, fmt)
    original, edited = edit_text_value(path, START + 17, field)
    report = verify_augmentation_file(path)
    assert not report.ok
    assert (report.checked, report.mismatched_samples) == (N, 1)
    [mismatch] = report.mismatches
    assert (mismatch.position, mismatch.sample_id, mismatch.field) == (17, START + 17, field)
    assert mismatch.stored == edited and mismatch.expected == original


@pytest.mark.parametrize("field", ["rotation", "scale"])
def test_one_edited_float_in_parquet(tmp_path: Path, field: str) -> None:
    path = write(tmp_path, "parquet")
    original = pq.read_table(path).column(field)[5].as_py()
    edited = original + 2**-40
    edit_parquet_value(path, 5, field, edited)
    report = verify_augmentation_file(path)
    assert not report.ok
    assert (report.checked, report.mismatched_samples) == (N, 1)
    [mismatch] = report.mismatches
    assert (mismatch.position, mismatch.sample_id, mismatch.field) == (5, START + 5, field)
    assert (mismatch.stored, mismatch.expected) == (edited, original)


def test_one_ulp_is_a_mismatch(tmp_path: Path) -> None:
    import math

    path = write(tmp_path, "parquet")
    original = pq.read_table(path).column("brightness")[0].as_py()
    edit_parquet_value(path, 0, "brightness", math.nextafter(original, 2.0))
    report = verify_augmentation_file(path)
    assert report.mismatched_samples == 1
    assert report.mismatches[0].field == "brightness"


@pytest.mark.parametrize("fmt", FORMATS)
def test_edited_hash(tmp_path: Path, fmt: str) -> None:
    path = write(tmp_path, fmt)
    batch = generate_batch(range(START, START + N))
    old = batch.hash[3].decode()
    new = ("0" if old[0] != "0" else "1") + old[1:]
    if fmt == "parquet":
        edit_parquet_value(path, 3, "hash", new)
    else:
        path.write_text(path.read_text().replace(old, new))
    report = verify_augmentation_file(path)
    assert not report.ok and report.mismatched_samples == 1
    [mismatch] = report.mismatches
    assert (mismatch.sample_id, mismatch.field) == (START + 3, "hash")
    assert (mismatch.stored, mismatch.expected) == (new, old)


@pytest.mark.parametrize("fmt", FORMATS)
def test_edited_sample_id(tmp_path: Path, fmt: str) -> None:
    """Values that belong to another id are a mismatch of that id."""
    path = write(tmp_path, fmt)
    if fmt == "parquet":
        edit_parquet_value(path, 4, "sample_id", 10**6)
    else:
        path.write_text(
            path.read_text().replace(f'"sample_id": {START + 4},', '"sample_id": 1000000,')
        )
    report = verify_augmentation_file(path)
    assert report.mismatched_samples == 1
    assert {m.field for m in report.mismatches} == {
        "rotation",
        "brightness",
        "noise",
        "scale",
        "contrast",
        "hash",
    }
    assert {m.sample_id for m in report.mismatches} == {10**6}


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_mismatched_sample_is_counted(tmp_path: Path, fmt: str) -> None:
    """Records of another config: every sample mismatches (in its five values; the
    hash does not depend on the ranges)."""
    path = write(tmp_path, fmt, generate_batch(range(START, START + N), get_preset("mild")))
    report = verify_augmentation_file(path, batch_size=7)
    assert not report.ok
    assert report.mismatched_samples == N
    assert report.mismatches[0].position == 0 and report.mismatches[0].sample_id == START
    assert {m.field for m in report.mismatches} == set(PARAM_NAMES)
    report = verify_augmentation_file(path, max_mismatches=0)
    assert (report.mismatched_samples, report.mismatches) == (N, [])


@pytest.mark.parametrize("limit", [1, 4, 7])
def test_max_mismatches_is_a_limit(tmp_path: Path, limit: int) -> None:
    path = write(tmp_path, "jsonl", generate_batch(range(START, START + N), get_preset("mild")))
    report = verify_augmentation_file(path, max_mismatches=limit)
    assert report.mismatched_samples == N
    assert len(report.mismatches) == limit


# --- statistics -----------------------------------------------------------------------


def edit_statistics(path: Path, change: Any) -> None:
    if path.suffix == ".json":
        document = json.loads(path.read_text())
        change(document["statistics"])
        path.write_text(json.dumps(document))
    elif path.suffix == ".jsonl":
        lines = path.read_text().splitlines()
        end = json.loads(lines[-1])
        change(end["end"]["statistics"])
        lines[-1] = json.dumps(end)
        path.write_text("\n".join(lines) + "\n")
    else:
        kv = parquet_kv(path)
        summary = json.loads(kv[b"dpa.summary"])
        change(summary["statistics"])
        kv[b"dpa.summary"] = json.dumps(summary).encode()
        rewrite_parquet(path, pq.read_table(path), kv)


_STATISTICS_EDITS = {
    "mean": (
        lambda s: s["rotation"].__setitem__("mean", s["rotation"]["mean"] + 0.5),
        "rotation.mean",
    ),
    "max": (lambda s: s["noise"].__setitem__("max", 1.0), "noise.max"),
    "count": (lambda s: s["scale"].__setitem__("count", N + 1), "scale.count"),
    "text": (lambda s: s["contrast"].__setitem__("stdev", "0.1"), "not a number"),
    "missing": (lambda s: s.pop("brightness"), "lacks 'brightness'"),
}


def _statistics_cases() -> list[Any]:
    return [
        pytest.param(fmt, edit, id=f"{fmt}-{edit}")
        for fmt, edit in itertools.product(FORMATS, sorted(_STATISTICS_EDITS))
    ]


@pytest.mark.parametrize(("fmt", "edit"), _statistics_cases())
def test_edited_statistics_block(tmp_path: Path, fmt: str, edit: str) -> None:
    change, fragment = _STATISTICS_EDITS[edit]
    path = write(tmp_path, fmt)
    edit_statistics(path, change)
    report = verify_augmentation_file(path)
    assert report.mismatched_samples == 0  # the records themselves are fine
    assert not report.ok
    assert len(report.problems) == 1 and fragment in report.problems[0], report.problems


@pytest.mark.parametrize("fmt", FORMATS)
def test_tiny_statistics_rounding_is_tolerated(tmp_path: Path, fmt: str) -> None:
    path = write(tmp_path, fmt)
    edit_statistics(
        path, lambda s: s["scale"].__setitem__("stdev", s["scale"]["stdev"] * (1 + 1e-13))
    )
    assert verify_augmentation_file(path).ok


@pytest.mark.parametrize("fmt", ["json", "jsonl", "parquet"])
def test_huge_range_file_verifies(tmp_path: Path, fmt: str) -> None:
    config = AugmentationConfig(rotation_range=(-1e300, 1e300))
    path = write(tmp_path, fmt, generate_batch(range(3), config), config=config)
    assert verify_augmentation_file(path).ok


# --- metadata that verification depends on --------------------------------------------


def test_a_file_without_a_config_is_checked_against_the_default_or_the_one_given(
    tmp_path: Path,
) -> None:
    """DPA v0.2 saved files without a config unless given one; it then generated with
    the default config, which verify assumes, saying so when the check fails."""
    path = tmp_path / "noconfig.json"
    records = generate_batch(range(3)).to_dicts()
    path.write_text(json.dumps({"metadata": {"num_samples": 3}, "augmentations": records}))
    assert verify_augmentation_file(path).ok
    mild = dpa.get_preset("mild")
    milder = tmp_path / "mild-noconfig.json"
    records = generate_batch(range(3), mild).to_dicts()
    milder.write_text(json.dumps({"metadata": {"num_samples": 3}, "augmentations": records}))
    report = verify_augmentation_file(milder)
    assert not report.ok
    assert "names no config: it was checked against the default config" in report.problems[-1]
    assert verify_augmentation_file(milder, config=mild).ok
    named = write(tmp_path, "json")  # a file that names its config
    with pytest.raises(ValueError, match="differs from the one given"):
        verify_augmentation_file(named, config=dpa.get_preset("aggressive"))
    with pytest.raises(TypeError, match="config"):
        verify_augmentation_file(path, config="mild")  # type: ignore[arg-type]


def test_unreadable_files(tmp_path: Path) -> None:
    path = write(tmp_path, "jsonl")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DPAFileError, match="truncated"):
        verify_augmentation_file(path)
    with pytest.raises(FileNotFoundError):
        verify_augmentation_file(tmp_path / "missing.json")


@pytest.mark.parametrize("fmt", FORMATS)
def test_config_in_metadata_decides(tmp_path: Path, fmt: str) -> None:
    """Records of the default config under metadata naming another one do not verify."""
    batch = generate_batch(range(5))
    path = tmp_path / f"c.{fmt}"
    save_augmentation_chain(batch, path, config=AugmentationConfig(augmentation_depth=11))
    report = verify_augmentation_file(path)
    assert report.mismatched_samples == 5


# --- rank-aware files -----------------------------------------------------------------


def rank_batch(ids: list[int], config: AugmentationConfig, base_seed: int, rank: int) -> ParamBatch:
    return _generate(ids, _id_array(ids), config, RankAwareScheme(base_seed, rank, rank + 1))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("base_seed", "rank", "world_size"), [(0, 0, 1), (12345, 3, 4), (2**64, 1, 2)]
)
def test_rank_aware_file(
    tmp_path: Path, fmt: str, base_seed: int, rank: int, world_size: int
) -> None:
    config = get_preset("aggressive")
    ids = list(range(40, 60))
    batch = rank_batch(ids, config, base_seed, rank)
    info = {"rank": rank, "world_size": world_size, "base_seed": base_seed}
    path = tmp_path / f"rank.{fmt}"
    save_augmentation_chain(batch, path, config, distributed_info=info)
    assert_clean(verify_augmentation_file(path), 20)

    # the same records under plain metadata: every sample differs
    save_augmentation_chain(batch, path, config)
    report = verify_augmentation_file(path)
    assert report.mismatched_samples == 20

    # and under another rank
    other = {"rank": (rank + 1) % world_size, "world_size": world_size, "base_seed": base_seed + 1}
    save_augmentation_chain(batch, path, config, distributed_info=other)
    assert verify_augmentation_file(path).mismatched_samples == 20


def test_rank_aware_file_from_v02_vectors(
    tmp_path: Path, vectors: dict[str, Any], configs: dict[str, AugmentationConfig]
) -> None:
    """Records taken from the v0.2 known answers verify under their distributed_info."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for vector in vectors["distributed"]:
        key = (vector["config"], vector["rank"], vector["world_size"], vector["base_seed"])
        params = {k: v for k, v in vector["params"].items() if k != "rank"}
        groups.setdefault(key, []).append(dict(params, sample_id=vector["sample_id"]))
    assert groups
    for (name, rank, world_size, base_seed), records in groups.items():
        path = tmp_path / f"v-{name}-{rank}-{base_seed}.jsonl"
        info = {"rank": rank, "world_size": world_size, "base_seed": base_seed}
        save_augmentation_chain(records, path, configs[name], distributed_info=info)
        assert_clean(verify_augmentation_file(path), len(records))
        save_augmentation_chain(records, path, configs[name])
        assert verify_augmentation_file(path).mismatched_samples == len(records)


def test_v02_statistics_block_without_count_verifies(tmp_path: Path) -> None:
    """DPA v0.2 wrote mean, stdev, min and max per parameter (no count): such a
    file verifies; a dpa file (``format_version``) must carry the count."""
    records = dpa.generate_augmentation_chain(40)
    stats = dpa.compute_statistics(records)
    block = {
        name: {k: v for k, v in entry.items() if k != "count"} for name, entry in stats.items()
    }
    metadata = {"version": "0.2.0", "config": dpa.AugmentationConfig().to_dict(), "num_samples": 40}
    path = tmp_path / "v02.json"
    path.write_text(
        json.dumps({"metadata": metadata, "augmentations": records, "statistics": block})
    )
    assert dpa.verify_augmentation_file(path).problems == []
    block["noise"]["max"] = stats["noise"]["max"] * 0.5
    path.write_text(
        json.dumps({"metadata": metadata, "augmentations": records, "statistics": block})
    )
    assert dpa.verify_augmentation_file(path).problems == [
        f"statistics noise.max = {stats['noise']['max'] * 0.5!r} but the records give "
        f"{stats['noise']['max']!r}"
    ]
    ours = tmp_path / "ours.json"
    dpa.save_augmentation_chain(records, ours)
    data = json.loads(ours.read_text())
    del data["statistics"]["scale"]["count"]
    ours.write_text(json.dumps(data))
    assert dpa.verify_augmentation_file(ours).problems == [
        "statistics scale.count is not a number: None"
    ]
