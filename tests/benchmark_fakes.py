"""What the dpa.benchmark tests fake: a clock that moves only when told to, and
seeded noisy timings (so that every statistic the tests check is deterministic)."""

from __future__ import annotations

import numpy as np


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = 100.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def noisy(center: float, relative_sd: float, n: int, seed: int) -> list[float]:
    """``n`` times around ``center`` with a relative standard deviation, from a seeded
    generator."""
    rng = np.random.default_rng(seed)
    return [float(v) for v in center * (1 + relative_sd * rng.standard_normal(n))]
