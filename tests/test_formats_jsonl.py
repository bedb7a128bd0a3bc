"""The JSON Lines format (dpa._formats.jsonl): the end line that marks a file
complete, and the lines around it checked as they are read. (Resuming a partial
JSON Lines output is tested with the writer, in test_io.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dpa import AugmentationWriter, generate_batch, read_augmentation_file
from file_checks import assert_rejected, load_all, write_file


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
