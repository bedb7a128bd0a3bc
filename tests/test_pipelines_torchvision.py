"""dpa's five parameters on tv_tensors (dpa.integrations.torchvision): the meaning of
apply_params, boxes, masks and keypoints moving with the image, any pytree, and
DPAAugment drawing the sample's own parameters inside a pipeline."""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

from torchvision import tv_tensors  # noqa: E402
from torchvision.transforms import v2  # noqa: E402

import dpa  # noqa: E402
from dpa._keys import ElasticScheme, RankAwareScheme  # noqa: E402
from dpa.integrations import torch as dpa_torch  # noqa: E402
from dpa.integrations.torch import DPADataset  # noqa: E402
from dpa.integrations.torchvision import DPAAugment, apply_params  # noqa: E402

NEUTRAL = {"rotation": 0.0, "brightness": 1.0, "noise": 0.0, "scale": 1.0, "contrast": 1.0}


def image(channels: int = 3, height: int = 20, width: int = 24) -> Any:
    generator = torch.Generator().manual_seed(height * width + channels)
    return torch.rand(channels, height, width, generator=generator)


@pytest.mark.parametrize(("channels", "height", "width"), [(3, 20, 24), (1, 17, 17)])
def test_the_meaning_of_apply_params(channels: int, height: int, width: int) -> None:
    x = image(channels, height, width)
    for sample_id in range(6):
        params = dpa.gen_augmentation_params(sample_id, dpa.get_preset("aggressive"))
        ours, reference = apply_params(x, params), dpa_torch.apply_params(x, params)
        assert float((ours - reference).abs().max()) < 1e-5
        without_geometry = {**params, "rotation": 0.0, "scale": 1.0}
        assert torch.equal(  # brightness, contrast and noise are bit-identical
            apply_params(x, without_geometry), dpa_torch.apply_params(x, without_geometry)
        )


def test_identity_is_exact_and_dtypes_are_kept() -> None:
    x = image()
    assert torch.equal(apply_params(x, NEUTRAL), x)
    assert torch.equal(apply_params(x, {}), x)
    params = dpa.gen_augmentation_params(3)
    for dtype in (torch.float64, torch.float16):
        assert apply_params(x.to(dtype), params).dtype == dtype


def test_positive_rotation_is_counter_clockwise_and_scale_zooms_in() -> None:
    x = torch.zeros(1, 31, 31)
    x[0, 2:6, 13:18] = 1.0  # a block straight above the centre
    ys, xs = torch.nonzero(apply_params(x, {"rotation": 30.0})[0] > 0.5, as_tuple=True)
    assert xs.float().mean() < 14 and ys.float().mean() < 15  # moved left: counter-clockwise
    square = torch.zeros(1, 64, 64)
    square[0, 24:40, 24:40] = 1.0
    area = float((square > 0.5).sum())
    assert float((apply_params(square, {"scale": 2.0}) > 0.5).sum()) == pytest.approx(
        4 * area, rel=0.05
    )


def test_boxes_masks_and_keypoints_move_with_the_image() -> None:
    size = 16
    picture = tv_tensors.Image(image(3, size, size))
    mask = torch.zeros(size, size, dtype=torch.uint8)
    mask[2:6, 1:9] = 1
    sample = {
        "image": picture,
        "targets": [
            tv_tensors.BoundingBoxes([[1, 2, 9, 6]], format="XYXY", canvas_size=(size, size)),
            tv_tensors.Mask(mask),
            tv_tensors.KeyPoints([[3.0, 4.0]], canvas_size=(size, size)),
        ],
        "label": "cat",
    }
    out = apply_params(sample, {"rotation": 90.0})
    boxes, moved_mask, keypoints = out["targets"]
    assert type(out["image"]) is tv_tensors.Image and out["label"] == "cat"
    assert isinstance(boxes, tv_tensors.BoundingBoxes) and isinstance(moved_mask, tv_tensors.Mask)
    # a quarter turn counter-clockwise: what torch.rot90 does
    assert torch.equal(moved_mask.as_subclass(torch.Tensor), torch.rot90(mask, 1))
    torch.testing.assert_close(
        out["image"].as_subclass(torch.Tensor), torch.rot90(picture.as_subclass(torch.Tensor),
        1, dims=(1, 2)), atol=1e-5, rtol=0,
    )  # fmt: skip
    assert boxes.tolist() == [[2, 7, 6, 15]]  # (x, y) -> (y, size - x)
    assert keypoints.tolist() == [[4.0, 13.0]]
    ys, xs = torch.nonzero(moved_mask, as_tuple=True)  # the box still encloses the mask
    assert (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) == (2, 7, 6, 15)


def test_a_videos_frames_get_the_same_parameters() -> None:
    frame = image(3, 12, 12)
    video = tv_tensors.Video(torch.stack([frame, frame]))
    params = dpa.gen_augmentation_params(4, dpa.get_preset("aggressive"))
    out = apply_params(video, params)
    assert isinstance(out, tv_tensors.Video)
    assert torch.equal(out[0], out[1])
    assert torch.equal(out[0].as_subclass(torch.Tensor), apply_params(frame, params))


@pytest.mark.parametrize(
    ("inputs", "error", "match"),
    [
        (torch.zeros(3, 4, 4, dtype=torch.uint8), TypeError, "float"),
        (torch.zeros(4, 4), ValueError, r"\[\.\.\., C, H, W\]"),
        (torch.zeros(4, 5, 5), TypeError, "channel"),
    ],
)
def test_bad_input(inputs: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        apply_params(inputs, {"brightness": 1.1})


def test_pil_images_are_refused() -> None:
    pil = pytest.importorskip("PIL.Image")
    with pytest.raises(TypeError, match="ToImage"):
        apply_params(pil.new("RGB", (4, 4)), {"brightness": 1.1})


def test_dpa_augment_draws_the_samples_own_parameters() -> None:
    config = dpa.get_preset("aggressive")
    base = [image(3, 12, 12) for _ in range(4)]
    for kwargs, scheme in (
        ({"base_seed": 2, "epoch": 3}, ElasticScheme(2, 3)),
        ({"mode": "rank_aware", "rank": 1, "world_size": 2}, RankAwareScheme(0, 1, 2)),
    ):
        data = DPADataset(base, transform=v2.Compose([DPAAugment(config)]), **kwargs)
        pairs = [(x, 0) for x in base]
        own = DPADataset(pairs, config, **kwargs)  # dpa's own augmentation, the same key
        for index in range(4):
            params = dpa.gen_augmentation_params(index, config, scheme=scheme)
            assert own[index][2]["hash"] == params["hash"]
            assert torch.equal(data[index], apply_params(base[index], params))
            assert float((data[index] - own[index][0]).abs().max()) < 1e-5


def test_dpa_augment_needs_a_sample() -> None:
    with pytest.raises(RuntimeError, match=r"dpa\.seeded"):
        DPAAugment()(image())
    with dpa.seeded(2, epoch=1):
        inside = DPAAugment()(image())
    expected = apply_params(image(), dpa.gen_elastic_augmentation_params(2, epoch=1))
    assert torch.equal(inside, expected)
