"""The noise generator's definition and the numpy reference of the operations
(framework-free: numpy only)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import dpa
from dpa.integrations.noise import (
    box_muller_tables,
    gaussian_noise,
    gaussian_noise_from_keys,
    hash_keys,
    noise_words,
)
from dpa.integrations.numpy import apply_params, grayscale_mean

MASK = 0xFFFFFFFF


def scalar_lowbias32(v: int) -> int:
    """The spec's ``mix``, written out on Python ints, independently of the module."""
    v ^= v >> 16
    v = (v * 0x7FEB352D) & MASK
    v ^= v >> 15
    v = (v * 0x846CA68B) & MASK
    return v ^ (v >> 16)


def scalar_z(digest: str, e: int) -> float:
    """The spec's ``z[e]`` for one element, on Python ints and ``math``."""
    k0, k1 = int(digest[0:8], 16), int(digest[8:16], 16)
    word = scalar_lowbias32(scalar_lowbias32((e // 2) ^ k0) ^ k1)
    u1 = ((word >> 16) + 1) / 2**16
    u2 = ((word & 0xFFFF) + 1) / 2**16
    r = math.sqrt(-2 * math.log(u1))
    angle = 2 * math.pi * u2
    return r * (math.cos(angle) if e % 2 == 0 else math.sin(angle))


def test_key_words_are_the_first_eight_bytes_big_endian() -> None:
    digest = dpa.gen_augmentation_params(5)["hash"]
    assert hash_keys(digest).tolist() == [[int(digest[:8], 16), int(digest[8:16], 16)]]
    batch = dpa.generate_batch(range(20))
    as_bytes = hash_keys(batch.hash)
    as_str = hash_keys([h.decode() for h in batch.hash.tolist()])
    assert np.array_equal(as_bytes, as_str)
    assert np.array_equal(hash_keys(digest.upper()), hash_keys(digest))


@pytest.mark.parametrize("bad", ["abc", "g" * 64, "0x" + "0" * 62, "0" * 65, " " + "0" * 63])
def test_bad_hashes_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="64 hex digits"):
        hash_keys([bad])
    with pytest.raises(ValueError, match="64 hex digits"):
        hash_keys(np.array([bad.encode()], dtype="S70"))


def test_words_follow_the_spec() -> None:
    digests = [dpa.gen_augmentation_params(i)["hash"] for i in range(3)]
    words = noise_words(hash_keys(digests), 300)
    for row, digest in zip(words.tolist(), digests, strict=True):
        k0, k1 = int(digest[:8], 16), int(digest[8:16], 16)
        assert row == [scalar_lowbias32(scalar_lowbias32(j ^ k0) ^ k1) for j in range(300)]


def test_known_answers() -> None:
    """Pinned values: the generator is a contract, like the hash chain."""
    assert noise_words(hash_keys(["0" * 64]), 4).tolist() == [
        [0, 1492470133, 911671261, 1736833618]
    ]
    z = gaussian_noise([dpa.gen_augmentation_params(0)["hash"]], (1, 2, 3))
    expected = [scalar_z(dpa.gen_augmentation_params(0)["hash"], e) for e in range(6)]
    assert np.array_equal(z.reshape(-1), np.array(expected, dtype=np.float32))


def test_gaussian_follows_the_spec_and_counts_elements_c_y_x() -> None:
    digest = dpa.gen_elastic_augmentation_params(9, epoch=3)["hash"]
    shape = (3, 5, 7)  # odd count: the last pair's sine is dropped
    z = gaussian_noise([digest], shape)[0]
    for c, y, x in [(0, 0, 0), (0, 0, 1), (1, 2, 3), (2, 4, 6)]:
        e = (c * shape[1] + y) * shape[2] + x
        assert z[c, y, x] == np.float32(scalar_z(digest, e))


def test_gaussian_statistics() -> None:
    z = gaussian_noise(dpa.generate_batch(range(4)).hash, (3, 128, 128))
    assert z.dtype == np.float32
    assert abs(float(z.mean())) < 0.01
    assert abs(float(z.std()) - 1) < 0.01
    assert float(np.abs(z).max()) <= math.sqrt(32 * math.log(2)) + 1e-6
    assert not np.array_equal(z[0], z[1])
    # neighbouring elements are not correlated
    flat = z.reshape(4, -1)
    assert abs(float(np.corrcoef(flat[0, :-1], flat[0, 1:])[0, 1])) < 0.02


def test_tables() -> None:
    radius, cos, sin = box_muller_tables()
    assert radius.shape == cos.shape == sin.shape == (65536,)
    assert radius[-1] == 0.0 and not np.signbit(radius[-1])
    assert cos[-1] == 1.0
    with pytest.raises(ValueError):
        radius[0] = 1.0


def test_too_many_elements() -> None:
    with pytest.raises(ValueError, match="2\\*\\*31"):
        gaussian_noise_from_keys(np.zeros((1, 2), np.int64), (2, 2**15, 2**15 + 1))


# --------------------------------------------------------------------------- numpy reference


def pattern(channels: int = 3, size: int = 24) -> np.ndarray:
    return np.random.default_rng(1).random((channels, size, size), dtype=np.float32)


def test_numpy_rot90_matches_np_rot90() -> None:
    image = pattern()
    for degrees, k in [(90, 1), (-90, -1), (180, 2)]:
        out = apply_params(image, {"rotation": float(degrees)})
        expected = np.rot90(image, k, axes=(1, 2))
        assert np.allclose(out[:, 1:-1, 1:-1], expected[:, 1:-1, 1:-1], atol=1e-5)


def test_numpy_identity_is_exact() -> None:
    image = pattern()
    neutral = {"rotation": 0.0, "brightness": 1.0, "noise": 0.0, "scale": 1.0, "contrast": 1.0}
    assert np.array_equal(apply_params(image, neutral), image)
    assert np.array_equal(apply_params(image, {}), image)


def test_numpy_contrast_is_torchvision_blend() -> None:
    image = pattern()
    out = apply_params(image, {"contrast": 0.5})
    gray = 0.2989 * image[0] + 0.587 * image[1] + 0.114 * image[2]
    expected = np.clip(0.5 * image + 0.5 * gray.mean(), 0, 1)
    assert np.allclose(out, expected, atol=1e-6)
    assert abs(grayscale_mean(image[None])[0] - gray.mean()) < 1e-6


def test_numpy_noise_needs_a_hash() -> None:
    with pytest.raises(ValueError, match="hash"):
        apply_params(pattern(), {"noise": 0.1})
    with pytest.raises(ValueError, match="scale"):
        apply_params(pattern(), {"scale": 0.0})
    with pytest.raises(TypeError, match="uint8"):
        apply_params(pattern().astype(np.int16), {})
