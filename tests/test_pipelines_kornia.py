"""kornia on batches: ``forward_parameters`` draws each sample's parameters under its
own key, so its output is the same alone, in any batch, at any position; what kornia
draws once per batch comes from ``(base_seed, epoch)``."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
K = pytest.importorskip("kornia.augmentation")

import dpa  # noqa: E402
from dpa.integrations.kornia import forward_parameters  # noqa: E402

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU available")
IDS = [11, 3, 25, 7, 19, 2]


def pipeline() -> Any:
    return K.AugmentationSequential(
        K.RandomAffine(30.0, translate=(0.1, 0.1), scale=(0.8, 1.2)),
        K.ColorJiggle(0.3, 0.3, 0.3, 0.1, p=0.8),
        K.RandomHorizontalFlip(),
        data_keys=["input", "mask"],
    )


def scenes(count: int, device: str = "cpu") -> tuple[Any, Any]:
    generator = torch.Generator().manual_seed(1)
    images = torch.rand(count, 3, 16, 16, generator=generator)
    masks = (torch.rand(count, 1, 16, 16, generator=generator) > 0.5).float()
    return images.to(device), masks.to(device)


def augment(aug: Any, ids: list[int], images: Any, masks: Any, epoch: int = 0) -> Any:
    return aug(images, masks, params=forward_parameters(aug, ids, images.shape, epoch=epoch))


def check_alone_in_batch_and_at_another_position(device: str) -> None:
    """Bit for bit on the CPU; on a GPU, where kornia's kernels could depend on the
    batch size (untested: no GPU here), to float rounding."""
    same: Any = torch.equal
    if device != "cpu":

        def same(a: Any, b: Any) -> bool:
            return bool(torch.allclose(a, b, rtol=0.0, atol=1e-6))

    aug = pipeline()
    images, masks = scenes(len(IDS), device)
    out, out_masks = augment(aug, IDS, images, masks)
    assert out.device.type == device
    for row, sample_id in enumerate(IDS):
        alone, alone_mask = augment(aug, [sample_id], images[row : row + 1], masks[row : row + 1])
        assert same(alone, out[row : row + 1]), sample_id
        assert same(alone_mask, out_masks[row : row + 1]), sample_id
    order = [4, 0, 5, 2]  # another batch: other size, other positions
    moved, moved_masks = augment(aug, [IDS[i] for i in order], images[order], masks[order])
    assert same(moved, out[order]) and same(moved_masks, out_masks[order])


def test_a_samples_output_is_the_same_alone_in_a_batch_and_at_another_position() -> None:
    check_alone_in_batch_and_at_another_position("cpu")


@cuda
def test_on_cuda_too() -> None:
    check_alone_in_batch_and_at_another_position("cuda")
    aug = pipeline()
    images, masks = scenes(len(IDS))
    params = forward_parameters(aug, IDS, images.shape)
    again = forward_parameters(aug, IDS, images.shape)  # CUDA initialized by now
    for first, second in zip(params, again, strict=True):
        assert all(torch.equal(first.data[k], second.data[k]) for k in first.data)
    cpu, _ = aug(images, masks, params=params)
    gpu, _ = aug(images.cuda(), masks.cuda(), params=params)
    assert float((gpu.cpu() - cpu).abs().max()) < 1e-4  # the same draws on either device


def test_a_single_augmentations_draw_is_the_samples_seeded_draw() -> None:
    affine = K.RandomAffine(30.0, p=0.7)
    params = forward_parameters(affine, IDS, (len(IDS), 3, 16, 16), base_seed=4, epoch=2)
    assert params["forward_input_shape"].tolist() == [len(IDS), 3, 16, 16]
    for row, sample_id in enumerate(IDS):
        with dpa.seeded(sample_id, base_seed=4, epoch=2):
            own = affine.forward_parameters((1, 3, 16, 16))
        for name in ("angle", "scale", "translations", "batch_prob"):
            assert torch.equal(params[name][row : row + 1], own[name]), name


def test_batch_wide_draws_come_from_the_epoch_alone() -> None:
    jiggle = K.ColorJiggle(0.2, 0.2, 0.2, 0.1)
    orders = set()
    for epoch in range(6):
        first = forward_parameters(jiggle, [1, 2, 3], (3, 3, 8, 8), epoch=epoch)["order"]
        other = forward_parameters(jiggle, [40], (1, 3, 8, 8), epoch=epoch)["order"]
        assert torch.equal(first, other)  # every batch of the epoch
        orders.add(tuple(first.tolist()))
    assert len(orders) > 1  # and new epochs draw anew

    chooser = K.ImageSequential(
        K.RandomAffine(10.0), K.ColorJiggle(0.1), K.RandomHorizontalFlip(), random_apply=1
    )
    picks = set()
    for epoch in range(8):
        names = [p.name for p in forward_parameters(chooser, [1, 2], (2, 3, 8, 8), epoch=epoch)]
        again = [p.name for p in forward_parameters(chooser, [9], (1, 3, 8, 8), epoch=epoch)]
        assert names == again
        picks.add(tuple(names))
    assert len(picks) > 1


def test_same_on_batch_is_the_same_for_the_whole_epoch() -> None:
    affine = K.RandomAffine(30.0, same_on_batch=True, p=1.0)
    params = forward_parameters(affine, [1, 2, 3], (3, 1, 8, 8), epoch=1)
    assert torch.equal(params["angle"], params["angle"][:1].expand(3))
    alone = forward_parameters(affine, [8], (1, 1, 8, 8), epoch=1)
    assert torch.equal(alone["angle"], params["angle"][:1])


def test_set_epoch_equivalent_draws_anew() -> None:
    affine = K.RandomAffine(30.0, p=1.0)
    ids = list(range(50))
    angles = [forward_parameters(affine, ids, (50, 1, 8, 8), epoch=e)["angle"] for e in (0, 1)]
    assert float((angles[0] != angles[1]).float().mean()) >= 0.9
    again = forward_parameters(affine, ids, (50, 1, 8, 8), epoch=0)["angle"]
    assert torch.equal(again, angles[0])


def test_a_half_probability_flip_flips_about_half() -> None:
    params = forward_parameters(K.RandomHorizontalFlip(), range(400), (400, 1, 1, 2))
    assert 160 <= int(params["batch_prob"].sum()) <= 240


def test_global_generators_are_left_alone() -> None:
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    before = (random.getstate(), np.random.get_state()[1].tobytes(), torch.get_rng_state())
    forward_parameters(pipeline(), IDS, (len(IDS), 3, 16, 16))
    after = (random.getstate(), np.random.get_state()[1].tobytes(), torch.get_rng_state())
    assert after[:2] == before[:2] and torch.equal(after[2], before[2])


@pytest.mark.parametrize(
    ("aug", "ids", "shape", "error", "match"),
    [
        (lambda: K.RandomMixUpV2(), [1, 2], (2, 3, 8, 8), ValueError, "mix the samples"),
        (lambda: K.RandomAffine(5.0), [1, 2], (3, 3, 8, 8), ValueError, "2 samples"),
        (lambda: torch.nn.Identity(), [1], (1, 3, 8, 8), TypeError, "kornia augmentation"),
        (lambda: K.RandomAffine(5.0), [-1], (1, 3, 8, 8), ValueError, "sample_id"),
    ],
)
def test_bad_input(
    aug: Any, ids: list[int], shape: tuple[int, ...], error: Any, match: str
) -> None:
    with pytest.raises(error, match=match):
        forward_parameters(aug(), ids, shape)


def test_containers_are_left_as_they_were() -> None:
    aug = pipeline()
    forward_parameters(aug, [1, 2], (2, 3, 8, 8))
    assert not [m for m in aug.modules() if "forward_parameters" in vars(m)]
    # kornia's own draws still work afterwards
    assert len(aug.forward_parameters(torch.Size((2, 3, 8, 8)))) == 3
