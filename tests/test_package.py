"""The package surface: what ``import dpa`` exports, and what it must not import."""

from __future__ import annotations

import json
import subprocess
import sys

import dpa

HEAVY = ("torch", "tensorflow", "pyarrow", "PIL")


def test_import_does_not_pull_in_optional_frameworks() -> None:
    code = (
        "import json, sys\n"
        "before = set(sys.modules)\n"
        "import dpa\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert "dpa" in loaded  # the check sees what the import brought in
    for name in HEAVY:
        assert not [m for m in loaded if m == name or m.startswith(name + ".")], name


def test_all_names_exist() -> None:
    assert len(dpa.__all__) == len(set(dpa.__all__))
    missing = [name for name in dpa.__all__ if not hasattr(dpa, name)]
    assert missing == []


def test_public_api_is_exported() -> None:
    for name in (
        "AugmentationConfig",
        "ParamBatch",
        "gen_augmentation_params",
        "gen_augmentation_seed",
        "generate_batch",
        "stream_augmentation_chain",
        "stream_augmentation_range",
        "generate_augmentation_chain",
        "compute_statistics",
        "compute_streaming_statistics",
        "get_preset",
        "fib",
    ):
        assert name in dpa.__all__, name


def test_version_is_a_string() -> None:
    assert isinstance(dpa.__version__, str) and dpa.__version__
