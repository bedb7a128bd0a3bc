"""Shared fixtures: the DPA v0.2 known-answer vectors and their configs.

Also registers the Hypothesis profiles ``dev`` (no deadline, reproduction blobs
printed on failure; new random examples each run) and ``ci`` (the same, derandomized,
so a CI run is reproducible). ``ci`` is loaded when the ``CI`` variable is set,
``dev`` otherwise, unless ``HYPOTHESIS_PROFILE`` names one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from dpa import AugmentationConfig

VECTORS_PATH = Path(__file__).parent / "data" / "dpa-v0.2-known-answers.json"

settings.register_profile("dev", deadline=None, print_blob=True)
settings.register_profile("ci", deadline=None, print_blob=True, derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="session")
def vectors() -> dict[str, Any]:
    """The known-answer file, parsed (floats round-trip exactly through JSON)."""
    with VECTORS_PATH.open(encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture(scope="session")
def configs(vectors: dict[str, Any]) -> dict[str, AugmentationConfig]:
    """The vectors' named configs as AugmentationConfig objects."""
    return {name: AugmentationConfig.from_dict(data) for name, data in vectors["configs"].items()}
