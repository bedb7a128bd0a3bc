"""Corrupted files: every truncation, and deterministic byte flips, insertions and
deletions, of small files of each format.

The readers and ``verify_augmentation_file`` must raise :class:`DPAFileError` or
return. Where a corrupted file loads and verify passes it, what was loaded must be
what was written: every record field bit for bit, the config, the count and the
statistics (count, min and max exactly; mean and stdev as closely as verify checks
them, 1e-9 relative, since their last bits depend on how records were batched).
``dpa verify FILE`` on a sample of them: exit 0, 1 or 2, no traceback, and 0 exactly
when verify passes the file. The files tried are counted in the terminal summary.
"""

from __future__ import annotations

import json
import math
import os
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import dpa
from dpa import PARAM_NAMES, AugmentationConfig, DPAFileError
from dpa._cli import main

N = 20
CONFIG = AugmentationConfig(rotation_range=(-20, 20), noise_range=(0, 0.25), augmentation_depth=3)
#: Byte flips, insertions and deletions per variant.
EDITS = 300
#: One corrupted file in this many also goes through ``dpa verify``.
CLI_EVERY = 15


@dataclass(frozen=True)
class Variant:
    """A small file: its format, ids and key mode."""

    name: str
    fmt: str
    ids: range
    options: dict[str, Any]


VARIANTS = [
    Variant("json", "json", range(N), {}),
    Variant("jsonl", "jsonl", range(N), {}),
    Variant("parquet-zstd", "parquet", range(N), {}),  # the writer compresses with zstd
    Variant(
        "jsonl-rank-aware",
        "jsonl",
        range(100, 100 + N),
        {"distributed_info": {"rank": 1, "world_size": 3, "base_seed": 7}},
    ),
    Variant(
        "parquet-elastic-huge-ids",  # ids past 2**64: a column of decimal strings
        "parquet",
        range(2**70, 2**70 + N),
        {"elastic_info": {"base_seed": 3, "epoch": 2}},
    ),
    Variant("json-no-stats", "json", range(5, 5 + N), {"include_stats": False}),
]


@dataclass
class Loaded:
    """What the readers make of a file."""

    records: list[tuple[Any, ...]]
    metadata: dict[str, Any]
    statistics: Any


def _record_key(record: dict[str, Any]) -> tuple[Any, ...]:
    """A record as a tuple that compares floats bit for bit."""
    values = tuple(float(record[name]).hex() for name in PARAM_NAMES)
    return (record["sample_id"], *values, record["hash"], record.get("rank"))


def load(path: Path, every_reader: bool = True) -> Loaded:
    """Every record, the metadata and the statistics of ``path``; with
    ``every_reader`` also through load_augmentation_chain and the chunked
    load_augmentation_stream, which must agree."""
    opened = dpa.read_augmentation_file(path)
    records = [_record_key(r) for r in opened.iter_records()]  # the statistics come last
    if every_reader:
        assert [_record_key(r) for r in dpa.load_augmentation_chain(path)] == records
        chunks = dpa.load_augmentation_stream(path, 7)
        assert [_record_key(r) for chunk in chunks for r in chunk] == records
    return Loaded(records, opened.metadata, opened.statistics)


def write_original(folder: Path, variant: Variant) -> tuple[Path, Loaded]:
    path = folder / f"original-{variant.name}.{variant.fmt}"
    options = dict(variant.options)
    if "elastic_info" in options:
        info = options["elastic_info"]
        batch = dpa.generate_elastic_batch(variant.ids, CONFIG, info["base_seed"], info["epoch"])
    elif "distributed_info" in options:
        info = options["distributed_info"]
        batch = dpa.generate_distributed_batch(
            variant.ids, info["rank"], info["world_size"], CONFIG, info["base_seed"]
        )
    else:
        batch = dpa.generate_batch(variant.ids, CONFIG)
    dpa.save_augmentation_chain(batch, path, CONFIG, **options)
    assert dpa.verify_augmentation_file(path).ok
    original = load(path)
    assert [r[0] for r in original.records] == list(variant.ids)
    return path, original


def _same_statistics(stored: Any, original: Any) -> bool:
    if original is None or stored is None:
        return stored is original
    for name in PARAM_NAMES:
        for key in ("count", "min", "max"):
            if stored[name][key] != original[name][key]:
                return False
        for key in ("mean", "stdev"):
            if not math.isclose(stored[name][key], original[name][key], rel_tol=1e-9):
                return False
    return True


def examine(path: Path, original: Loaded, every_reader: bool = True) -> bool:
    """Load and verify a corrupted copy; return whether verify passed it. Fails when
    anything but DPAFileError escapes, or when a file verify passes differs from the
    original in a value it vouches for."""
    try:
        loaded: Loaded | None = load(path, every_reader)
    except DPAFileError:
        loaded = None
    try:
        ok = dpa.verify_augmentation_file(path, batch_size=8).ok
    except DPAFileError:
        ok = False
    if not ok:
        return False
    assert loaded is not None, "verify passed a file the readers refuse"
    assert loaded.records == original.records, "verify passed changed records"
    for key in ("config", "num_samples", "distributed_info", "elastic_info"):
        assert loaded.metadata.get(key) == original.metadata.get(key), key
    assert _same_statistics(loaded.statistics, original.statistics), (
        loaded.statistics,
        original.statistics,
    )
    return True


def verify_command(path: Path, ok: bool, counts: Counter[str]) -> None:
    """``dpa verify FILE``: exit 0 exactly when verify passes, else 1 (or 2), no traceback."""
    counts["corrupted files through `dpa verify`"] += 1
    with CliRunner().isolation() as (out, err, _):
        code = main(["verify", "-q", str(path)])
    text = bytes(out.getvalue() + err.getvalue()).decode("utf-8", "replace")
    assert code in (0, 1, 2), (code, text)
    assert "Traceback" not in text, text
    assert (code == 0) == ok, (code, ok, text)
    if code == 1:
        assert text.startswith("FAILED: "), text


def edits(data: bytes, seed: int) -> list[tuple[str, bytes]]:
    """``EDITS`` deterministic corruptions of ``data``: a third byte flips (a byte
    replaced by another), a third insertions, a third deletions."""
    rng = random.Random(seed)
    out = []
    for i in range(EDITS):
        at = rng.randrange(len(data))
        kind = ("flip", "insert", "delete")[i % 3]
        if kind == "flip":
            new = (data[at] + rng.randrange(1, 256)) % 256
            out.append((f"flip@{at}", data[:at] + bytes([new]) + data[at + 1 :]))
        elif kind == "insert":
            byte = rng.choice([rng.randrange(256), *b'0123456789.-e,:"{}[] \n'])
            out.append((f"insert@{at}", data[:at] + bytes([byte]) + data[at:]))
        else:
            out.append((f"delete@{at}", data[:at] + data[at + 1 :]))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS[:3] + VARIANTS[4:5], ids=lambda v: v.name)
def test_every_truncation(
    tmp_path: Path, variant: Variant, robustness_counts: Counter[str]
) -> None:
    source, original = write_original(tmp_path, variant)
    data = source.read_bytes()
    target = tmp_path / f"cut.{variant.fmt}"
    target.write_bytes(data)
    passed = []
    for cut in reversed(range(len(data))):  # each prefix, by cutting the last byte off
        os.truncate(target, cut)
        robustness_counts["corrupted files (truncated)"] += 1
        if examine(target, original, every_reader=False):
            passed.append(cut)
        if cut % (CLI_EVERY * 20) == 0:
            verify_command(target, bool(passed and passed[-1] == cut), robustness_counts)
    # Only the final newline may go (JSON ends with one after the closing brace).
    assert all(data[cut:].strip() == b"" for cut in passed), passed


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_flips_insertions_and_deletions(
    tmp_path: Path, variant: Variant, robustness_counts: Counter[str]
) -> None:
    source, original = write_original(tmp_path, variant)
    data = source.read_bytes()
    target = tmp_path / f"edited.{variant.fmt}"
    outcomes: Counter[str] = Counter()
    for number, (_, corrupted) in enumerate(edits(data, seed=len(data))):
        target.write_bytes(corrupted)
        robustness_counts["corrupted files (flipped, inserted, deleted)"] += 1
        ok = examine(target, original)
        outcomes["passed" if ok else "refused"] += 1
        if number % CLI_EVERY == 0:
            verify_command(target, ok, robustness_counts)
    assert outcomes["refused"] > EDITS // 2, outcomes  # most edits are caught


# --------------------------------------------------------------------------- regressions


def _edit_text(path: Path, old: bytes, new: bytes, where: int = -1) -> None:
    """Replace one occurrence of ``old`` (the last by default) by ``new``, same length."""
    data = path.read_bytes()
    at = data.rfind(old) if where == -1 else data.find(old)
    assert at >= 0 and len(old) == len(new)
    path.write_bytes(data[:at] + new + data[at + len(old) :])


@pytest.mark.parametrize("fmt", ["json", "jsonl", "parquet"])
def test_a_damaged_statistics_key_is_a_problem(tmp_path: Path, fmt: str) -> None:
    """A renamed key dropped the statistics block unnoticed: verify passed the file."""
    path = tmp_path / f"p.{fmt}"
    dpa.save_augmentation_chain(dpa.generate_batch(range(N), CONFIG), path, CONFIG)
    _edit_text(path, b'"statistics"', b'"statistjcs"')
    opened = dpa.read_augmentation_file(path)
    assert len(list(opened.iter_records())) == N and opened.statistics is None
    report = dpa.verify_augmentation_file(path)
    assert report.problems == ["unknown key(s) 'statistjcs' (damaged?)"]
    assert not report.ok and report.mismatched_samples == 0


@pytest.mark.parametrize("key", ["min", "max"])
def test_statistics_min_and_max_are_compared_exactly(tmp_path: Path, key: str) -> None:
    """They were compared to 1e-9 relative, so a changed last digit passed."""
    path = tmp_path / "p.jsonl"
    dpa.save_augmentation_chain(dpa.generate_batch(range(N), CONFIG), path, CONFIG)
    lines = path.read_text().splitlines()
    end = json.loads(lines[-1])
    value = end["end"]["statistics"]["scale"][key]
    end["end"]["statistics"]["scale"][key] = math.nextafter(value, math.inf)
    path.write_text("\n".join([*lines[:-1], json.dumps(end)]) + "\n")
    report = dpa.verify_augmentation_file(path)
    assert not report.ok and f"scale.{key}" in report.problems[0]


def test_a_dpa_json_file_without_its_count_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    dpa.save_augmentation_chain(dpa.generate_batch(range(N), CONFIG), path, CONFIG)
    _edit_text(path, b'"num_samples"', b'"num_samplez"', where=0)
    report = dpa.verify_augmentation_file(path)
    assert not report.ok and "declares no num_samples" in report.problems[0]
