"""torch's apply_params: the native path and torch's own operations give the same
bits as the numpy reference, for every input dtype, layout and thread count."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import dpa  # noqa: E402
from dpa.integrations import _native, numpy as dpa_numpy  # noqa: E402
from dpa.integrations._params import normalize  # noqa: E402
from dpa.integrations.torch import apply_params  # noqa: E402
from test_apply import random_images, random_params  # noqa: E402

#: torch's grid_sample is the definition's sampling where its CPU kernel is vectorized
#: with fused multiply-adds (x86 with AVX2); elsewhere it agrees within float tolerance.
EXACT_GRID_SAMPLE = torch.backends.cpu.get_cpu_capability() in ("AVX2", "AVX512")


@pytest.fixture(params=["native", "python"])
def default_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """apply_params on one backend, chosen as DPA_BACKEND chooses it."""
    if request.param == "native" and not dpa._backends.native_available():
        pytest.skip("native kernel not built")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DPA_BACKEND", request.param)
        dpa._backends.forget_default()
        try:
            yield request.param
        finally:
            patch.undo()
            dpa._backends.forget_default()


def assert_reference(got: Any, images: np.ndarray, params: dict[str, Any], exact: bool) -> None:
    expected = dpa_numpy.reference(images, normalize(params, len(images)))
    got = got.float().numpy()
    expected = expected.astype(got.dtype)
    if exact:
        assert np.array_equal(got, expected), f"{int((got != expected).sum())} values differ"
    else:
        assert np.abs(got - expected).max() < 1e-5


@pytest.mark.parametrize(
    "shape", [(6, 3, 1, 1), (4, 3, 7, 13), (3, 1, 20, 21), (3, 4, 12, 9), (2, 3, 64, 48)]
)
@pytest.mark.parametrize("dtype", ["float32", "uint8"])
def test_apply_params_is_the_reference(
    default_backend: str, shape: tuple[int, ...], dtype: str
) -> None:
    images = random_images(shape, np.dtype(dtype), seed=shape[2])
    params = random_params(shape[0], seed=shape[3])
    out = apply_params(torch.from_numpy(images), params)
    assert out.dtype == torch.float32
    exact = default_backend == "native" or EXACT_GRID_SAMPLE
    assert_reference(out, images, params, exact)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_other_float_dtypes_are_kept(default_backend: str, dtype: Any) -> None:
    images = torch.from_numpy(random_images((3, 3, 15, 17), np.float32, 4)).to(dtype)
    params = random_params(3, 8)
    out = apply_params(images, params)
    assert out.dtype == dtype
    source = images.double() if dtype == torch.float64 else images.float()
    expected = dpa_numpy.reference(source.numpy(), normalize(params, 3))
    if dtype == torch.float64:  # the fused multiply-adds are not emulated in float64
        assert np.abs(out.numpy() - expected).max() < 1e-12
    elif default_backend == "native" or EXACT_GRID_SAMPLE:
        assert torch.equal(out, torch.from_numpy(expected).to(dtype))
    else:
        assert float((out.float() - torch.from_numpy(expected)).abs().max()) < 1e-2


def test_backends_threads_and_layouts_agree() -> None:
    images = torch.from_numpy(random_images((8, 3, 33, 29), np.float32, 5))
    params = random_params(8, 13)
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        reference = apply_params(images, params)
        torch.set_num_threads(2)
        assert torch.equal(apply_params(images, params), reference)
        channels_last = images.contiguous(memory_format=torch.channels_last)
        assert torch.equal(apply_params(channels_last, params), reference)
        assert torch.equal(apply_params(images[:, :, ::1, :], params), reference)
    finally:
        torch.set_num_threads(previous)
    one = apply_params(images[3], {k: v[3] for k, v in params.items()})
    assert torch.equal(one, reference[3])


def test_gradients_flow_through_torch_operations() -> None:
    images = torch.from_numpy(random_images((2, 3, 9, 9), np.float32, 6)).requires_grad_()
    params = random_params(2, 1, neutral_share=0.0)
    out = apply_params(images, params)
    out.sum().backward()
    assert images.grad is not None and images.grad.shape == images.shape
    assert torch.equal(out.detach(), apply_params(images.detach(), params))


def test_native_path_is_taken_where_it_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    if not _native.available():
        pytest.skip("native kernel not in use")
    calls: list[tuple[int, ...]] = []
    real = _native.apply_into

    def spy(src: Any, *args: Any) -> None:
        calls.append(src.shape)
        real(src, *args)

    monkeypatch.setattr(_native, "apply_into", spy)
    image = torch.rand(3, 8, 8)
    for dtype in (torch.float32, torch.uint8, torch.float16, torch.bfloat16):
        apply_params(image.to(dtype), {"rotation": 5.0})
    assert len(calls) == 4
    apply_params(image.double(), {"rotation": 5.0})
    apply_params(image.clone().requires_grad_(), {"rotation": 5.0})
    assert len(calls) == 4
