"""The JSON format (dpa._formats.json): its structure checked as it is read, files
over the reader's block size, v0.2's files without metadata, the scanner."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from dpa import (
    DPAFileError,
    generate_augmentation_chain,
    generate_batch,
    read_augmentation_file,
    save_augmentation_chain,
)
from dpa._formats.json import JsonScanner
from file_checks import assert_rejected, canon, load_all, with_positions


@pytest.mark.parametrize("content", ["[1, 2, 3]", "42", '"text"', "null"])
def test_json_that_is_not_an_object(tmp_path: Path, content: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(content)
    assert_rejected(path)


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


def test_scanner_walks_the_keys_and_the_records_array() -> None:
    text = '{"metadata": {"n": 2}, "augmentations": [1, 2, 3], "x": 4}'
    scanner = JsonScanner(io.StringIO(text), Path("x.json"))
    scanner.expect("{")
    seen = [
        (key, list(value) if key == "augmentations" else value)
        for key, value in scanner.items("augmentations")
    ]
    assert seen == [("metadata", {"n": 2}), ("augmentations", [1, 2, 3]), ("x", 4)]
    assert not scanner.peek_end()


def test_scanner_reads_a_number_cut_by_its_block() -> None:
    """A number that the reader's 1 MiB block cuts in two is read whole."""
    text = "[" + " " * ((1 << 20) - 5) + "123456789]"
    scanner = JsonScanner(io.StringIO(text), Path("x.json"))
    scanner.expect("[")
    assert scanner.value() == 123456789
    scanner.expect("]")


def test_scanner_names_the_file_of_a_cut_document() -> None:
    with pytest.raises(DPAFileError, match="truncated") as info:
        JsonScanner(io.StringIO('{"a": [1, '), Path("x.json")).value()
    assert info.value.path == "x.json"
