"""Hypothesis strategies shared by the test modules."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st

from dpa import AugmentationConfig

#: A range bound: an int a float represents exactly, or any finite float.
bounds = st.one_of(
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
)

#: Sample ids, well past 64 bits.
sample_ids = st.integers(min_value=0, max_value=2**130)


@st.composite
def valid_ranges(draw: st.DrawFn) -> tuple[Any, Any]:
    """A valid ``(lo, hi)``: lo < hi, both finite, the width finite too."""
    lo, hi = sorted(draw(st.lists(bounds, min_size=2, max_size=2, unique=True)))
    if lo == hi or not math.isfinite(hi - lo):  # 0 == 0.0 or a width that overflows
        hi = lo + 1
        if not hi > lo:  # lo so large that adding 1 changes nothing
            hi = math.nextafter(lo, math.inf)
    return (lo, hi)


def valid_configs(max_depth: int = 50) -> st.SearchStrategy[AugmentationConfig]:
    """Configs with arbitrary valid ranges and depths 1 .. max_depth."""
    return st.builds(
        AugmentationConfig,
        rotation_range=valid_ranges(),
        brightness_range=valid_ranges(),
        noise_range=valid_ranges(),
        scale_range=valid_ranges(),
        contrast_range=valid_ranges(),
        augmentation_depth=st.integers(min_value=1, max_value=max_depth),
    )
