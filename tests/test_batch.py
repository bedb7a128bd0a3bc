"""dpa._batch: the package's names, an import without psutil, and the CLI's batch sizing
through it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import dpa
import dpa._batch
import dpa._io
from batch_helpers import MIB, SAMPLE_BYTES
from dpa import AugmentationConfig, MemoryAwareBatcher, ParamBatch, generate_batch
from dpa._cli import main

#: What ``dpa._batch`` offered as one module, before it became a package.
NAMES = set(
    """
    DEFAULT_RANGE_BATCH_SIZE DEFAULT_STREAM_BATCH_SIZE DEFAULT_TARGET_BATCH_MS BatchConfig
    BatchMetrics BatchProcessingError BatchProcessor BatchStrategy InvalidBatchConfigError
    MemoryAwareBatcher MemoryInfo MemoryLimitExceededError MemoryMonitor batch_nbytes
    get_memory_usage memory_monitor
    """.split()  # noqa: SIM905 (pinned words, not a second copy of __all__)
)


# --------------------------------------------------------------------------- the package


def test_the_package_keeps_every_name_of_the_module_it_was() -> None:
    assert set(dpa._batch.__all__) == NAMES
    for name in NAMES:
        assert getattr(dpa._batch, name) is getattr(dpa, name, getattr(dpa._batch, name))
    from dpa._errors import BatchProcessingError

    assert dpa._batch.BatchProcessingError is BatchProcessingError


def test_importing_it_does_not_import_psutil() -> None:
    code = "import sys, dpa._batch; assert 'psutil' not in sys.modules, 'psutil imported'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# --------------------------------------------------------------------------- the CLI


def test_cli_sizes_batches_through_dpa_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[float] = []
    real = dpa._batch.MemoryAwareBatcher.calculate_optimal_batch_size

    def spy(self: MemoryAwareBatcher, sample_size_bytes: float, **kwargs: Any) -> int:
        asked.append(sample_size_bytes)
        return real(self, sample_size_bytes, **kwargs)

    sizes: list[int] = []
    real_iter = dpa._io.iter_batches

    def recording(*args: Any, **kwargs: Any) -> Iterator[ParamBatch]:
        for batch in real_iter(*args, **kwargs):
            sizes.append(len(batch))
            yield batch

    monkeypatch.setattr(dpa._batch.MemoryAwareBatcher, "calculate_optimal_batch_size", spy)
    monkeypatch.setattr(dpa._io, "iter_batches", recording)
    target = tmp_path / "p.jsonl"
    assert main(["generate", "-n", "5000", "-o", str(target), "-q", "--max-memory-mb", "1"]) == 0
    assert len(asked) == 1 and asked[0] > 3 * SAMPLE_BYTES  # measured, text included
    assert sizes and max(sizes) <= MIB // asked[0] and sum(sizes) == 5000
    assert dpa.load_augmentation_chain(target) == generate_batch(range(5000)).to_dicts()

    asked.clear()
    sizes.clear()
    assert main(["generate", "-n", "500", "-o", str(target), "-q", "--batch-size", "128"]) == 0
    assert asked == [] and sizes == [128, 128, 128, 116]  # an explicit size wins


@pytest.mark.parametrize("value", ["0", "-3", "nan", "inf"])
def test_cli_rejects_a_bad_memory_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    code = main(["generate", "-n", "5", "-o", str(tmp_path / "x.json"), "--max-memory-mb", value])
    assert code == 2
    assert "--max-memory-mb" in capsys.readouterr().err


def test_cli_parquet_batches_are_larger_per_megabyte_than_text() -> None:
    from dpa._cli.batch_size import memory_batch_size as _memory_batch_size

    config = AugmentationConfig()
    parquet = _memory_batch_size("parquet", config, 64)
    jsonl = _memory_batch_size("jsonl", config, 64)
    assert 1 <= jsonl < parquet <= 1 << 20
    assert _memory_batch_size("jsonl", config, 1e-6) == 1
