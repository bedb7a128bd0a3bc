"""The apply path: the native image kernel against the numpy reference of the
definition, bit for bit, on every code path, dtype and edge size; the exact float32
fused multiply-add the reference uses; what the kernel refuses.

Set DPA_REQUIRE_NATIVE=1 (as `make test` does) to make a missing kernel a failure
instead of a skip.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import dpa
from dpa._kernel import KERNEL
from dpa.integrations import _native, numpy as dpa_numpy
from dpa.integrations._params import NEUTRAL, Params, normalize

REQUIRED = os.environ.get("DPA_REQUIRE_NATIVE") == "1"
needs_kernel = pytest.mark.skipif(KERNEL is None and not REQUIRED, reason="native kernel not built")
PATHS = ("portable", "avx2", "avx512")
NAMES = ("rotation", "brightness", "noise", "scale", "contrast")


def random_params(batch: int, seed: int, neutral_share: float = 0.3) -> dict[str, Any]:
    """Aggressive parameters, each value neutral with probability ``neutral_share``
    (so that batches mix warped and unwarped images, noisy and clean ones)."""
    rng = np.random.default_rng(seed)
    drawn = dpa.generate_batch(range(seed, seed + batch), dpa.get_preset("aggressive"))
    columns: dict[str, Any] = {"hash": drawn.hash}
    for name in NAMES:
        values = getattr(drawn, name).copy()
        values[rng.random(batch) < neutral_share] = NEUTRAL[name]
        columns[name] = values
    return columns


def random_images(shape: tuple[int, ...], dtype: Any, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype == np.uint8:
        return rng.integers(0, 256, shape, dtype=np.uint8)
    images = rng.random(shape, dtype=np.float32)
    images[..., :2, :3] = 1.0  # saturated values too, where clamping bites
    return images.astype(dtype)


def kernel_result(images: np.ndarray, params: Params, threads: int = 1) -> np.ndarray:
    out = np.empty(images.shape, dtype=np.float32)
    _native.apply_into(np.ascontiguousarray(images), out, params, threads)
    return out


@pytest.fixture(params=PATHS)
def kernel_path(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each code path of the kernel this CPU can run (the fastest restored after)."""
    if KERNEL is None:
        pytest.fail("native kernel not built") if REQUIRED else pytest.skip("no kernel")
    try:
        chosen = KERNEL.images_select(request.param)
    except ValueError:
        pytest.skip(f"this CPU cannot run the {request.param} path")
    try:
        yield chosen
    finally:
        KERNEL.images_select("best")


@pytest.fixture(params=["native", "python"])
def default_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """apply_params on one backend, chosen as DPA_BACKEND chooses it."""
    if request.param == "native" and not dpa._backends.native_available():
        pytest.fail("native kernel not built") if REQUIRED else pytest.skip("no kernel")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DPA_BACKEND", request.param)
        dpa._backends.forget_default()
        try:
            assert _native.available() == (request.param == "native")
            yield request.param
        finally:
            patch.undo()
            dpa._backends.forget_default()


SHAPES = [
    (6, 3, 1, 1),
    (4, 3, 1, 9),
    (4, 3, 9, 1),
    (5, 3, 7, 13),
    (3, 3, 17, 16),
    (3, 1, 31, 33),
    (3, 4, 12, 18),
    (2, 2, 11, 5),
    (2, 5, 9, 10),
    (2, 3, 64, 48),
]


# --------------------------------------------------------------------------- the kernel


@needs_kernel
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
def test_kernel_is_the_reference_bit_for_bit(
    kernel_path: str, shape: tuple[int, ...], dtype: Any
) -> None:
    images = random_images(shape, dtype, seed=sum(shape))
    params = normalize(random_params(shape[0], seed=shape[2] * 31 + shape[3]), shape[0])
    expected = dpa_numpy.reference(images, params)
    got = kernel_result(images, params)
    assert expected.dtype == got.dtype == np.float32
    assert np.array_equal(got, expected), f"{int((got != expected).sum())} values differ"


@needs_kernel
@settings(max_examples=40)
@given(
    channels=st.integers(1, 5),
    height=st.integers(1, 24),
    width=st.integers(1, 24),
    seed=st.integers(0, 2**20),
    rotation=st.floats(-360, 360) | st.sampled_from([0.0, 90.0, -90.0, 180.0]),
    scale=st.floats(1e-7, 8) | st.just(1.0),
    brightness=st.floats(0, 3),
    contrast=st.floats(0, 3) | st.just(1.0),
    noise=st.floats(0, 1) | st.just(0.0),
)
def test_kernel_is_the_reference_for_any_parameters(
    channels: int,
    height: int,
    width: int,
    seed: int,
    rotation: float,
    scale: float,
    brightness: float,
    contrast: float,
    noise: float,
) -> None:
    images = random_images((2, channels, height, width), np.float32, seed)
    raw = {
        "rotation": rotation, "scale": scale, "brightness": brightness, "contrast": contrast,
        "noise": noise, "hash": dpa.gen_augmentation_params(seed)["hash"],
    }  # fmt: skip
    params = normalize(raw, 2)
    assert np.array_equal(kernel_result(images, params), dpa_numpy.reference(images, params))


@needs_kernel
def test_every_code_path_gives_the_same_bits() -> None:
    assert KERNEL is not None
    images = random_images((4, 3, 45, 37), np.float32, 7)
    params = normalize(random_params(4, 11, neutral_share=0.0), 4)
    results = {}
    for path in PATHS:
        try:
            KERNEL.images_select(path)
        except ValueError:
            continue
        results[path] = kernel_result(images, params)
    KERNEL.images_select("best")
    assert KERNEL.images_path() in results
    first = next(iter(results.values()))
    assert all(np.array_equal(first, other) for other in results.values())


@needs_kernel
@pytest.mark.parametrize("threads", [2, 3, 8])
def test_threads_share_a_batch_without_changing_a_bit(threads: int) -> None:
    images = random_images((7, 3, 20, 30), np.float32, 3)
    params = normalize(random_params(7, 5), 7)
    assert np.array_equal(kernel_result(images, params, threads), kernel_result(images, params))


@needs_kernel
def test_bad_kernel_arguments_are_refused() -> None:
    assert KERNEL is not None
    images = np.zeros((2, 3, 4, 5), np.float32)
    out = np.empty_like(images)
    numbers, keys, warp = _native.image_numbers(normalize({}, 2), 4, 5)
    radius, cossin = _native._tables()
    xs, ys, gray = np.zeros(5, np.float32), np.zeros(4, np.float32), np.zeros(3, np.float32)

    def call(**change: Any) -> None:
        args = {
            "src": images, "dst": out, "byte_input": False, "shape": (2, 3, 4, 5), "xs": xs,
            "ys": ys, "gray": gray, "numbers": numbers, "keys": keys, "warp": warp,
            "radius": radius, "cossin": cossin, "start": 0, "end": 2,
        }  # fmt: skip
        args.update(change)
        KERNEL.apply_images(*args.values())

    call()
    for change, match in [
        ({"dst": np.empty((2, 3, 4, 4), np.float32)}, "dst"),
        ({"src": images.astype(np.float64)}, "src"),
        ({"byte_input": True}, "src"),
        ({"xs": np.zeros(4, np.float32)}, "xs"),
        ({"numbers": numbers[:1]}, "numbers"),
        ({"radius": radius[:-1]}, "radius"),
        ({"end": 3}, "start/end"),
        ({"start": 2, "end": 1}, "start/end"),
        ({"shape": (2, 3, 0, 5)}, "shape"),
        ({"dst": images}, "dst must not be src"),
    ]:
        with pytest.raises(ValueError, match=match):
            call(**change)
    with pytest.raises(TypeError):
        call(dst=bytes(out.nbytes))  # read-only
    with pytest.raises(ValueError, match="cursor"):
        call(cursor=np.zeros(2, np.int64))
    with pytest.raises(BufferError):
        call(cursor=bytes(8))
    with pytest.raises(ValueError, match="expected 'portable'"):
        KERNEL.images_select("sse9")
    assert KERNEL.images_path() in PATHS


@needs_kernel
def test_a_cursor_hands_out_each_image_once() -> None:
    assert KERNEL is not None
    images = random_images((5, 3, 6, 7), np.float32, 2)
    params = normalize(random_params(5, 3), 5)
    expected = kernel_result(images, params)
    numbers, keys, warp = _native.image_numbers(params, 6, 7)
    radius, cossin = _native._tables()
    xs, ys = _native._centres(7), _native._centres(6)
    gray = _native._GRAY
    out = np.full_like(images, np.nan)
    cursor = np.array([1], np.int64)
    for _ in range(3):  # three callers share the cursor: images 1 .. 3, each once
        KERNEL.apply_images(images, out, False, images.shape, xs, ys, gray, numbers, keys,
                            warp, radius, cossin, 1, 4, cursor)  # fmt: skip
    assert int(cursor[0]) >= 4
    assert np.array_equal(out[1:4], expected[1:4])
    assert np.isnan(out[0]).all() and np.isnan(out[4]).all()


# --------------------------------------------------------------------------- the API


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.uint8, np.float64])
def test_numpy_api_is_the_reference_on_either_backend(default_backend: str, dtype: Any) -> None:
    images = random_images((5, 3, 19, 23), dtype, 1)
    params = random_params(5, 2)
    out = dpa_numpy.apply_params(images, params)
    assert out.dtype == (np.float32 if dtype == np.uint8 else dtype)
    expected = dpa_numpy.reference(images, normalize(params, 5)).astype(out.dtype)
    assert np.array_equal(out, expected)
    one = dpa_numpy.apply_params(images[2], {k: v[2] for k, v in params.items()})
    assert np.array_equal(one, out[2])


def test_without_a_built_kernel_the_reference_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    images = random_images((3, 3, 9, 8), np.uint8, 5)
    params = random_params(3, 4)
    with_kernel = dpa_numpy.apply_params(images, params)
    monkeypatch.setattr(dpa._kernel, "KERNEL", None)  # installed without a compiler
    assert not _native.available()
    assert np.array_equal(dpa_numpy.apply_params(images, params), with_kernel)


def test_uint8_is_read_as_x_over_255(default_backend: str) -> None:
    images = random_images((3, 3, 16, 16), np.uint8, 4)
    params = random_params(3, 6, neutral_share=0.0)
    floats = images.astype(np.float32) / np.float32(255)
    out = dpa_numpy.apply_params(images, params)
    assert out.dtype == np.float32
    assert np.array_equal(out, dpa_numpy.apply_params(floats, params))
    assert np.array_equal(dpa_numpy.apply_params(images, {}), floats)


def test_numpy_threads_and_layouts_change_nothing(default_backend: str) -> None:
    images = random_images((6, 3, 14, 15), np.float32, 8)
    params = random_params(6, 9)
    reference = dpa_numpy.apply_params(images, params)
    assert np.array_equal(dpa_numpy.apply_params(images, params, threads=2), reference)
    strided = np.asfortranarray(images)
    copy = strided.copy()
    assert np.array_equal(dpa_numpy.apply_params(strided, params), reference)
    assert np.array_equal(strided, copy)  # the input is not modified
    empty = dpa_numpy.apply_params(np.zeros((0, 3, 4, 4), np.float32), {})
    assert empty.shape == (0, 3, 4, 4)
    with pytest.raises(ValueError, match="threads"):
        dpa_numpy.apply_params(images, params, threads=0)


def test_neutral_parameters_are_the_identity(default_backend: str) -> None:
    images = random_images((3, 3, 10, 11), np.float32, 12)
    neutral = {"rotation": 0.0, "brightness": 1.0, "noise": 0.0, "scale": 1.0, "contrast": 1.0}
    assert np.array_equal(dpa_numpy.apply_params(images, neutral), images)
    mixed = {**neutral, "rotation": [0.0, 30.0, 0.0], "noise": [0.0, 0.0, 0.2]}
    mixed["hash"] = dpa.generate_batch(range(3)).hash
    out = dpa_numpy.apply_params(images, mixed)
    assert np.array_equal(out[0], images[0])
    assert not np.array_equal(out[1], images[1]) and not np.array_equal(out[2], images[2])


# --------------------------------------------------------------------------- fma


def exact_fma32(a: float, b: float, c: float) -> float:
    """``a * b + c`` rounded once to float32 (round half to even), with fractions."""
    exact = Fraction(a) * Fraction(b) + Fraction(c)
    if exact == 0:
        return 0.0
    exponent = max(math.floor(math.log2(abs(exact))), -126)
    while abs(exact) >= Fraction(2) ** (exponent + 1):  # log2 of a fraction may be off by one
        exponent += 1
    while exponent > -126 and abs(exact) < Fraction(2) ** exponent:
        exponent -= 1
    ulp = Fraction(2) ** (exponent - 23)
    return float(round(exact / ulp) * ulp)  # round(): half to even


FLOAT32 = st.floats(
    width=32, allow_nan=False, allow_infinity=False, min_value=-(2.0**50), max_value=2.0**50
)


@settings(max_examples=300)
@given(FLOAT32, FLOAT32, FLOAT32)
def test_fma_is_rounded_once(a: float, b: float, c: float) -> None:
    got = dpa_numpy.fma(np.float32(a), np.float32(b), np.float32(c))
    assert got.dtype == np.float32
    assert float(got) == exact_fma32(a, b, c)


def test_fma_on_hard_cases() -> None:
    # products that land exactly half-way, or a hair off it, after the addition
    cases = [
        (1 + 2**-12, 1 + 2**-12, -1.0),
        (1 + 2**-23, 1 - 2**-23, -(2**-47)),
        (1 + 2**-23, 1 + 2**-23, 2**-70),
        (3.0, 1 + 2**-22, -(2**-25)),
        (2**-70, 2**-70, 1.0),
        (1.5, 2**-24, 1.0),
    ]
    for a, b, c in cases:
        for sign in (1.0, -1.0):
            args = (np.float32(sign * a), np.float32(b), np.float32(sign * c))
            assert float(dpa_numpy.fma(*args)) == exact_fma32(*(float(v) for v in args))
