"""What the tests of the file formats share: reading a file through both public
readers, expecting a DPAFileError that names the file, writing small files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dpa import (
    DPAFileError,
    generate_batch,
    load_augmentation_chain,
    load_augmentation_stream,
    save_augmentation_chain,
)

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


def text_file(path: Path, fmt: str, records: list[Any], metadata: dict[str, Any]) -> Path:
    """A JSON or JSON Lines file of ``records`` under ``metadata``, written by hand."""
    if fmt == "json":
        path.write_text(json.dumps({"metadata": metadata, "augmentations": records}))
    else:
        lines = [json.dumps({"metadata": metadata})] + [json.dumps(r) for r in records]
        lines.append(json.dumps({"end": {"num_samples": len(records)}}))
        path.write_text("\n".join(lines) + "\n")
    return path
