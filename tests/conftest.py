"""Shared fixtures: the DPA v0.2 known-answer vectors and their configs.

Also registers the Hypothesis profiles ``dev`` (no deadline, reproduction blobs
printed on failure; new random examples each run) and ``ci`` (the same, derandomized,
so a CI run is reproducible). ``ci`` is loaded when the ``CI`` variable is set,
``dev`` otherwise, unless ``HYPOTHESIS_PROFILE`` names one.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from dpa import AugmentationConfig

VECTORS_PATH = Path(__file__).parent / "data" / "dpa-v0.2-known-answers.json"

settings.register_profile("dev", deadline=None, print_blob=True)
settings.register_profile("ci", deadline=None, print_blob=True, derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


#: Inputs tried by the robustness suites (test_hostile.py, test_corruption.py), by kind;
#: printed in the terminal summary.
ROBUSTNESS_COUNTS = pytest.StashKey["Counter[str]"]()


@pytest.fixture(scope="session")
def robustness_counts(pytestconfig: pytest.Config) -> Counter[str]:
    """A counter of tried inputs, reported at the end of the run."""
    return pytestconfig.stash.setdefault(ROBUSTNESS_COUNTS, Counter())


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    counts = config.stash.get(ROBUSTNESS_COUNTS, None)
    if counts:
        terminalreporter.write_sep("-", "robustness inputs tried")
        for kind, count in sorted(counts.items()):
            terminalreporter.write_line(f"{kind}: {count}")


@pytest.fixture(scope="session")
def vectors() -> dict[str, Any]:
    """The known-answer file, parsed (floats round-trip exactly through JSON)."""
    with VECTORS_PATH.open(encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture(scope="session")
def configs(vectors: dict[str, Any]) -> dict[str, AugmentationConfig]:
    """The vectors' named configs as AugmentationConfig objects."""
    return {name: AugmentationConfig.from_dict(data) for name, data in vectors["configs"].items()}
