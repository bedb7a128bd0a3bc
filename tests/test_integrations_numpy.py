"""dpa.integrations.numpy at its edges: scales far below one, images without pixels."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from dpa.integrations import numpy as dpa_numpy
from dpa.integrations._params import MIN_WARP_SCALE, theta_matrices

IMAGE = np.random.default_rng(0).random((3, 9, 9), dtype=np.float32)


def params(scale: float, rotation: float = 10.0) -> dict[str, Any]:
    return {"rotation": rotation, "brightness": 1.0, "noise": 0.0, "scale": scale, "contrast": 1.0}


@pytest.mark.parametrize("scale", [1e-7, 1e-42, 1e-300, 5e-324])
def test_a_tiny_scale_gives_the_limit_not_nan_or_a_crash(scale: float) -> None:
    out = dpa_numpy.apply_params(IMAGE, params(scale))
    assert np.isfinite(out).all()
    # Shrunk to nothing: every pixel but the centre of an odd-sized image is fill.
    centre = out[:, 4, 4].copy()
    out[:, 4, 4] = 0
    assert (out == 0).all()
    assert np.allclose(centre, IMAGE[:, 4, 4], atol=1e-6)


def test_scales_above_the_floor_keep_their_exact_grid() -> None:
    scale = np.array([0.5, 1e-5, MIN_WARP_SCALE])
    rotation = np.array([30.0, 30.0, 30.0])
    theta = theta_matrices(rotation, scale, 8, 8)
    assert theta[0, 0, 0] == np.cos(np.deg2rad(30.0)) / 0.5  # bit for bit, as before
    assert np.isfinite(theta_matrices(rotation, np.array([1e-300] * 3), 8, 8)).all()


@pytest.mark.parametrize("shape", [(3, 0, 16), (3, 16, 0), (0, 4, 4), (2, 3, 0, 5)])
def test_images_without_pixels_are_refused_by_name(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="at least one channel, row and column"):
        dpa_numpy.apply_params(np.zeros(shape, np.float32), params(0.5))
