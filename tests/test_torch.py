"""The PyTorch integration: apply_params, DPATransform, DPADataset, DPASampler, and
determinism through a DataLoader (workers, batch sizes, resume, epochs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch.utils.data import DataLoader, DistributedSampler  # noqa: E402

import dpa  # noqa: E402
from dpa.integrations import numpy as dpa_numpy  # noqa: E402
from dpa.integrations.noise import (  # noqa: E402
    gaussian_noise,
    hash_keys,
    noise_words as numpy_words,
)
from dpa.integrations.torch import (  # noqa: E402  # noqa: E402
    DPADataset,
    DPASampler,
    DPATransform,
    apply_params,
    gaussian_noise as torch_gaussian,
    noise_words,
    sampling_grid,
)

ROOT = Path(__file__).resolve().parent.parent
NEUTRAL = {"rotation": 0.0, "brightness": 1.0, "noise": 0.0, "scale": 1.0, "contrast": 1.0}
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU available")


def asymmetric(channels: int = 3, size: int = 32, batch: int | None = None) -> Any:
    """Random values (no symmetry at all), and a bright block off the centre."""
    generator = torch.Generator().manual_seed(size * 7 + channels)
    shape = (channels, size, size) if batch is None else (batch, channels, size, size)
    image = torch.rand(shape, generator=generator)
    image[..., 2:6, 3:11] = 1.0
    return image


def interior(x: Any) -> Any:
    return x[..., 1:-1, 1:-1]


# --------------------------------------------------------------------------- apply_params


@pytest.mark.parametrize("size", [32, 33])
@pytest.mark.parametrize(("degrees", "k"), [(90, 1), (-90, -1), (180, 2), (270, 3)])
def test_rotation_matches_rot90(size: int, degrees: int, k: int) -> None:
    image = asymmetric(size=size)
    out = apply_params(image, {**NEUTRAL, "rotation": float(degrees)})
    expected = torch.rot90(image, k=k, dims=(-2, -1))
    torch.testing.assert_close(interior(out), interior(expected), atol=1e-5, rtol=0)


def test_positive_rotation_is_counter_clockwise() -> None:
    image = torch.zeros(1, 31, 31)
    image[0, 2:6, 13:18] = 1.0  # a block straight above the centre
    out = apply_params(image, {"rotation": 30.0})[0]
    ys, xs = torch.nonzero(out > 0.5, as_tuple=True)
    assert xs.float().mean() < 14  # moved left: counter-clockwise as displayed
    assert ys.float().mean() < 15  # still above the centre


def test_scale_above_one_zooms_in() -> None:
    image = torch.zeros(1, 64, 64)
    image[0, 24:40, 24:40] = 1.0  # a centred square, 16 pixels wide
    bigger = apply_params(image, {"scale": 2.0})
    smaller = apply_params(image, {"scale": 0.5})
    area = float((image > 0.5).sum())
    assert float((bigger > 0.5).sum()) == pytest.approx(4 * area, rel=0.05)
    assert float((smaller > 0.5).sum()) == pytest.approx(area / 4, rel=0.1)


def test_non_square_rotation_is_not_sheared() -> None:
    image = torch.zeros(1, 40, 80)
    image[0, 18:22, 30:50] = 1.0  # a horizontal bar, 20 x 4, through the centre
    out = apply_params(image, {"rotation": 90.0})[0]
    ys, xs = torch.nonzero(out > 0.5, as_tuple=True)
    assert int(ys.max() - ys.min()) + 1 == 20  # now vertical, the same length
    assert int(xs.max() - xs.min()) + 1 == 4


def test_identity_is_exact() -> None:
    image = asymmetric(batch=3)
    assert torch.equal(apply_params(image, NEUTRAL), image)
    assert torch.equal(apply_params(image[0], {}), image[0])
    # identity rows of a mixed batch stay exact
    params = {**{k: [v, v, v] for k, v in NEUTRAL.items()}, "rotation": [0.0, 10.0, 0.0]}
    out = apply_params(image, params)
    assert torch.equal(out[0], image[0]) and torch.equal(out[2], image[2])
    assert not torch.equal(out[1], image[1])


def test_input_is_not_modified_and_dtype_is_kept() -> None:
    image = asymmetric()
    copy = image.clone()
    params = dpa.gen_augmentation_params(3)
    out = apply_params(image, params)
    assert torch.equal(image, copy)
    assert out.dtype == torch.float32 and out.shape == image.shape
    assert float(out.min()) >= 0 and float(out.max()) <= 1
    out64 = apply_params(image.double(), params)
    assert out64.dtype == torch.float64
    torch.testing.assert_close(out64.float(), out, atol=1e-5, rtol=0)
    half = apply_params(image.half(), params)
    assert half.dtype == torch.float16


def test_brightness_and_contrast_definitions() -> None:
    image = asymmetric() * 0.8
    out = apply_params(image, {"brightness": 1.2})
    torch.testing.assert_close(out, torch.clamp(image * 1.2, 0, 1))
    out = apply_params(image, {"contrast": 0.6})
    gray = 0.2989 * image[0] + 0.587 * image[1] + 0.114 * image[2]
    torch.testing.assert_close(out, torch.clamp(0.6 * image + 0.4 * gray.mean(), 0, 1))
    gray_image = image[:1]
    out = apply_params(gray_image, {"contrast": 1.5})
    torch.testing.assert_close(out, torch.clamp(1.5 * gray_image - 0.5 * gray_image.mean(), 0, 1))


def test_noise_is_the_specified_generator() -> None:
    batch = dpa.generate_batch(range(4))
    keys = hash_keys(batch.hash)
    assert np.array_equal(
        noise_words(torch.from_numpy(keys), 777).numpy(), numpy_words(keys, 777).astype(np.int64)
    )
    z = torch_gaussian(torch.from_numpy(keys), (3, 10, 11)).numpy()
    assert np.array_equal(z, gaussian_noise(batch.hash, (3, 10, 11)))
    # in an image: x + noise * z, clamped
    image = torch.full((3, 10, 11), 0.5)
    params = {**NEUTRAL, "noise": 0.05, "hash": batch[0]["hash"]}
    expected = torch.clamp(image + torch.tensor(0.05) * torch.from_numpy(z[0]), 0, 1)
    assert torch.equal(apply_params(image, params), expected)


def test_noise_is_keyed_by_the_hash() -> None:
    image = torch.full((3, 64, 64), 0.5)
    a, b = dpa.gen_augmentation_params(1), dpa.gen_augmentation_params(2)
    noisy = {**NEUTRAL, "noise": 0.1}
    out_a = apply_params(image, {**noisy, "hash": a["hash"]})
    assert torch.equal(out_a, apply_params(image, {**noisy, "hash": a["hash"]}))
    assert not torch.equal(out_a, apply_params(image, {**noisy, "hash": b["hash"]}))
    assert float((out_a - 0.5).std()) == pytest.approx(0.1, rel=0.05)


def test_batch_equals_one_at_a_time() -> None:
    images = asymmetric(batch=6, size=40)
    params = dpa.generate_elastic_batch(range(100, 106), dpa.get_preset("aggressive"), epoch=2)
    together = apply_params(images, params)
    alone = torch.stack([apply_params(images[i], params[i]) for i in range(6)])
    assert torch.equal(together, alone)


def test_every_params_form_gives_the_same_result() -> None:
    images = asymmetric(batch=4)
    batch = dpa.generate_batch(range(4))
    records = batch.to_dicts()
    collated = torch.utils.data.default_collate(records)  # tensors and a list of hashes
    numpy_columns = {k: v for k, v in batch.columns().items()}
    reference = apply_params(images, batch)
    for form in (records, collated, numpy_columns):
        assert torch.equal(apply_params(images, form), reference)


def test_numpy_reference_agrees() -> None:
    images = asymmetric(batch=5, size=37)
    params = dpa.generate_batch(range(5), dpa.get_preset("aggressive"))
    ours = apply_params(images, params).numpy()
    reference = dpa_numpy.apply_params(images.numpy(), params)
    assert np.abs(ours - reference).max() < 1e-4


def test_grid_is_affine_grids() -> None:
    params = dpa.generate_batch(range(3))
    theta2 = torch.from_numpy(
        dpa.integrations._params.theta_matrices(params.rotation, params.scale, 20, 30)
    ).float()
    theta = torch.cat([theta2, torch.zeros(3, 2, 1)], dim=2)
    expected = torch.nn.functional.affine_grid(theta, [3, 1, 20, 30], align_corners=False)
    torch.testing.assert_close(sampling_grid(theta2, 20, 30), expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize(
    ("images", "params", "error", "match"),
    [
        (torch.zeros(3, 4, 4, dtype=torch.int16), {}, TypeError, "float"),
        (torch.zeros(4, 4), {}, ValueError, r"\[C, H, W\]"),
        (torch.zeros(3, 4, 4), {"noise": 0.1}, ValueError, "hash"),
        (torch.zeros(3, 4, 4), {"scale": -1.0}, ValueError, "scale"),
        (torch.zeros(3, 4, 4), {"rotation": float("nan")}, ValueError, "finite"),
        (torch.zeros(2, 3, 4, 4), {"rotation": [1.0, 2.0, 3.0]}, ValueError, "3 values"),
        (torch.zeros(3, 4, 4), {"noise": 0.1, "hash": "xyz"}, ValueError, "64 hex"),
        (torch.zeros(3, 4, 4), 5, TypeError, "params"),
    ],
)
def test_bad_input(images: Any, params: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        apply_params(images, params)


@cuda
def test_cpu_and_gpu_agree() -> None:
    images = asymmetric(batch=8, size=64)
    params = dpa.generate_batch(range(8), dpa.get_preset("aggressive"))
    cpu = apply_params(images, params)
    gpu = apply_params(images.cuda(), params)
    assert gpu.device.type == "cuda"
    assert float((gpu.cpu() - cpu).abs().max()) < 1e-4
    keys = torch.from_numpy(hash_keys(params.hash))
    assert torch.equal(noise_words(keys.cuda(), 999).cpu(), noise_words(keys, 999))
    assert torch.equal(
        torch_gaussian(keys.cuda(), (3, 9, 9)).cpu(), torch_gaussian(keys, (3, 9, 9))
    )


# --------------------------------------------------------------------------- transform


def test_transform_modes() -> None:
    config = dpa.get_preset("mild")
    elastic = DPATransform(config, mode="elastic", epoch=3, base_seed=5)
    assert elastic.params(9) == {
        **dpa.gen_elastic_augmentation_params(9, config, base_seed=5, epoch=3),
        "sample_id": 9,
    }
    plain = DPATransform(config, mode="plain")
    assert plain.params(9) == {**dpa.gen_augmentation_params(9, config), "sample_id": 9}
    ranked = DPATransform(config, mode="rank_aware", rank=2, world_size=4, base_seed=5)
    assert ranked.params(9) == {
        **dpa.gen_distributed_augmentation_params(9, 2, config, base_seed=5, world_size=4),
        "sample_id": 9,
    }
    assert ranked.params_batch(range(3)).equals(
        dpa.generate_distributed_batch(range(3), 2, 4, config, base_seed=5)
    )
    image = asymmetric()
    assert torch.equal(elastic(image, 9), apply_params(image, elastic.params(9)))
    images = asymmetric(batch=3)
    together = elastic(images, torch.tensor([4, 5, 6]))
    assert torch.equal(together[1], elastic(images[1], 5))
    with pytest.raises(ValueError, match="mode"):
        DPATransform(mode="other")


def test_rank_aware_reads_the_rank(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "3")
    transform = DPATransform(mode="rank_aware")
    assert (transform.rank, transform.world_size) == (1, 3)
    assert transform.params(4)["rank"] == 1


def test_transform_set_epoch() -> None:
    transform = DPATransform(mode="elastic")
    first = transform.params(1)
    transform.set_epoch(1)
    assert transform.params(1) != first
    transform.set_epoch(0)
    assert transform.params(1) == first


# --------------------------------------------------------------------------- sampler


@pytest.mark.parametrize(
    ("size", "world", "drop_last", "shuffle"),
    [(10, 4, False, False), (10, 4, True, True), (7, 3, False, True), (3, 4, False, False),
     (64, 2, False, True)],
)  # fmt: skip
def test_stride_split_is_distributed_sampler(
    size: int, world: int, drop_last: bool, shuffle: bool
) -> None:
    for rank in range(world):
        reference = DistributedSampler(
            range(size), world, rank, shuffle=shuffle, seed=3, drop_last=drop_last
        )
        ours = DPASampler(
            size, world, rank, split="stride", shuffle=shuffle, seed=3, drop_last=drop_last
        )
        for epoch in (0, 5):
            reference.set_epoch(epoch)
            ours.set_epoch(epoch)
            assert list(ours) == list(reference)
            assert len(ours) == len(reference)


@pytest.mark.parametrize(("size", "world"), [(10, 4), (64, 3), (3, 5), (0, 2)])
def test_range_split_follows_the_rule(size: int, world: int) -> None:
    ranges = dpa.DistributedRangeSplitter(size, world).get_all_ranges()
    seen: list[int] = []
    for rank in range(world):
        sampler = DPASampler(size, world, rank)
        start, end = ranges[rank]
        assert list(sampler) == list(range(start, end))
        assert len(sampler) == end - start
        shuffled = DPASampler(size, world, rank, shuffle=True, seed=1)
        shuffled.set_epoch(2)
        seen += list(shuffled)
    assert sorted(seen) == list(range(size))  # each sample once per epoch


def test_range_split_drop_last_evens_the_ranks() -> None:
    lengths = [len(DPASampler(10, 4, rank, drop_last=True)) for rank in range(4)]
    assert lengths == [2, 2, 2, 2]


def test_sampler_epochs_and_resume() -> None:
    sampler = DPASampler(50, 1, 0, shuffle=True, seed=7)
    first = list(sampler)
    sampler.set_epoch(1)
    second = list(sampler)
    assert first != second and sorted(first) == sorted(second)
    sampler.set_epoch(1, start=20)
    assert list(sampler) == second[20:] and len(sampler) == 30
    sampler.set_epoch(0)
    assert list(sampler) == first
    assert list(DPASampler(50, 1, 0, shuffle=True, seed=7, start=45)) == first[45:]


def test_sampler_reads_the_world(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("WORLD_SIZE", "4")
    sampler = DPASampler(10)
    assert (sampler.rank, sampler.num_replicas) == (2, 4)
    assert list(sampler) == [6, 7]
    with pytest.raises(ValueError, match="rank"):
        DPASampler(10, 2, 2)
    with pytest.raises(ValueError, match="split"):
        DPASampler(10, 1, 0, split="blocks")


# --------------------------------------------------------------------------- DataLoader


class Images(torch.utils.data.Dataset):  # type: ignore[type-arg]
    """64 distinct 3x128x128 images (enough elements that torch's CPU ops split
    across threads in the main process), target = index % 10."""

    def __init__(self, size: int = 64) -> None:
        generator = torch.Generator().manual_seed(0)
        self.images = torch.rand(size, 3, 128, 128, generator=generator)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        return self.images[index], index % 10


def load(dataset: Any, workers: int, batch_size: int, sampler: Any = None) -> tuple[Any, Any]:
    """Every (id, augmented image) a DataLoader gives, in order."""
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers, sampler=sampler)
    ids, images = [], []
    for batch, targets, params in loader:
        assert torch.equal(targets, params["sample_id"] % 10)
        ids.append(params["sample_id"])
        images.append(batch)
    return torch.cat(ids), torch.cat(images)


@pytest.fixture(scope="module")
def base() -> Images:
    return Images()


@pytest.fixture(scope="module")
def reference(base: Images) -> Any:
    data = DPADataset(base, dpa.get_preset("aggressive"), mode="elastic", base_seed=11)
    data.set_epoch(1)
    ids, images = load(data, workers=0, batch_size=64)
    assert ids.tolist() == list(range(64))
    return images


@pytest.mark.parametrize(("workers", "batch_size"), [(0, 1), (1, 5), (2, 7), (2, 64)])
def test_dataloader_is_bit_identical_for_any_workers_and_batch_size(
    base: Images, reference: Any, workers: int, batch_size: int
) -> None:
    data = DPADataset(base, dpa.get_preset("aggressive"), mode="elastic", base_seed=11, epoch=1)
    ids, images = load(data, workers, batch_size)
    assert ids.tolist() == list(range(64))
    assert torch.equal(images, reference)


def test_dataloader_resumes_mid_epoch(base: Images, reference: Any) -> None:
    data = DPADataset(base, dpa.get_preset("aggressive"), mode="elastic", base_seed=11, epoch=1)
    sampler = DPASampler(data, num_replicas=1, rank=0, start=32)
    ids, images = load(data, workers=2, batch_size=8, sampler=sampler)
    assert ids.tolist() == list(range(32, 64))
    assert torch.equal(images, reference[32:])


def test_dataloader_ranks_together_give_the_same_tensors(base: Images, reference: Any) -> None:
    """Elastic mode: three ranks, each with its share, give the one-process tensors."""
    data = DPADataset(base, dpa.get_preset("aggressive"), mode="elastic", base_seed=11, epoch=1)
    for rank in range(3):
        sampler = DPASampler(data, num_replicas=3, rank=rank, shuffle=True, seed=4)
        ids, images = load(data, workers=0, batch_size=6, sampler=sampler)
        assert torch.equal(images, reference[ids])


def test_set_epoch_changes_the_draw_and_the_same_epoch_reproduces_it(
    base: Images, reference: Any
) -> None:
    data = DPADataset(base, dpa.get_preset("aggressive"), mode="elastic", base_seed=11)
    _, epoch0 = load(data, workers=2, batch_size=16)
    data.set_epoch(1)
    assert data.epoch == 1
    _, epoch1 = load(data, workers=2, batch_size=16)
    assert torch.equal(epoch1, reference)
    assert not torch.equal(epoch0, epoch1)
    differs = (epoch0 != epoch1).flatten(1).any(dim=1)
    assert bool(differs.all())  # every sample got a new draw


def test_dataset_without_apply_returns_the_sample_and_its_params(
    base: Images, reference: Any
) -> None:
    data = DPADataset(
        base, dpa.get_preset("aggressive"), mode="elastic", base_seed=11, epoch=1, apply=False
    )
    sample, target, params = data[5]
    assert torch.equal(sample, base[5][0]) and target == 5
    assert params == {
        **dpa.gen_elastic_augmentation_params(5, dpa.get_preset("aggressive"), 11, 1),
        "sample_id": 5,
    }
    # the collated batch, augmented at once, equals the per-sample path
    images, _, collated = next(iter(DataLoader(data, batch_size=64)))
    assert torch.equal(apply_params(images, collated), reference)


def test_dataset_converts_uint8_and_checks_items() -> None:
    items = [(torch.full((3, 8, 8), 255, dtype=torch.uint8), 0)]
    data = DPADataset(items, mode="plain")
    sample, _, params = data[0]
    assert sample.dtype == torch.float32
    assert torch.equal(sample, apply_params(torch.ones(3, 8, 8), params))
    with pytest.raises(TypeError, match="pair"):
        DPADataset([torch.zeros(3, 4, 4)])[0]


# --------------------------------------------------------------------------- scripts


@pytest.mark.slow
def test_bench_torch_runs(tmp_path: Path) -> None:
    report = tmp_path / "torch.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_torch.py"), "--samples", "8",
         "--batch-size", "4", "--workers", "0", "--repeats", "1", "--apply-batch", "4",
         "--json", str(report)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "overhead ms/sample" in done.stdout
    import json

    figures = json.loads(report.read_text())
    assert set(figures["loaders"]["0"]) == {
        "baseline",
        "dpa params",
        "dpa apply",
        "dpa batch apply",
    }
    assert figures["apply_cpu"]["best_images_per_s"] > 0


@pytest.mark.slow
def test_training_example_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "train_dataloader.py"), "--samples", "32",
         "--epochs", "2", "--workers", "2"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "epoch 1:" in done.stdout


@pytest.mark.slow
def test_ddp_example_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         str(ROOT / "examples" / "ddp_torchrun.py"), "--samples", "34", "--epochs", "1",
         "--workers", "0"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "epoch 0: 2 ranks saw each of 34 samples once" in done.stdout, done.stdout


@pytest.mark.parametrize("mode", ["elastic", "rank_aware", "plain"])
def test_dataset_iter_params_is_sized_by_dpa_batch_and_equals_items(mode: str) -> None:
    from dpa._batch import BatchConfig

    images = [(torch.zeros(1, 4, 4), i) for i in range(50)]
    kw = {"rank": 1, "world_size": 2} if mode == "rank_aware" else {}
    data = DPADataset(images, mode=mode, apply=False, epoch=3, base_seed=7, **kw)
    config = BatchConfig("sequential", batch_size=16)
    sizes, records = [], []
    for batch in data.iter_params(config):
        sizes.append(len(batch))
        records.extend(batch.to_dicts())
    assert sizes == [16, 16, 16, 2]
    for i in (0, 17, 49):
        expected = data[i][2]
        assert {k: records[i][k] for k in expected if k in records[i]} == {
            k: v for k, v in expected.items() if k in records[i]
        }
    assert [len(b) for b in data.iter_params()] == [50]  # default: memory-optimized


# --------------------------------------------------------------------------- transform=


def jitter(item: Any) -> Any:
    """A pipeline drawing from all three global generators."""
    import random

    return item + torch.rand(2) + float(np.random.random()) + random.random()


def test_dataset_with_a_transform_gives_the_pipelines_output_under_the_key() -> None:
    base = [torch.zeros(2) + i for i in range(6)]
    data = DPADataset(base, transform=jitter, base_seed=3, epoch=2)
    with dpa.seeded(4, base_seed=3, epoch=2):
        expected = jitter(base[4])
    assert torch.equal(data[4], expected)
    assert torch.equal(data[4], data[4])  # direct indexing repeats
    assert data.pipeline is jitter and len(data) == 6
    data.set_epoch(5)
    with dpa.seeded(4, base_seed=3, epoch=5):
        assert torch.equal(data[4], jitter(base[4]))
    data.set_epoch(2)
    assert torch.equal(data[4], expected)


def test_dataset_transform_uses_the_modes_key() -> None:
    from dpa._keys import PLAIN, RankAwareScheme
    from dpa._seeding import key_seeded

    base = [torch.zeros(2)] * 3
    for kwargs, scheme in (
        ({"mode": "rank_aware", "rank": 1, "world_size": 2, "base_seed": 5},
         RankAwareScheme(5, 1, 2)),
        ({"mode": "plain"}, PLAIN),
    ):  # fmt: skip
        data = DPADataset(base, transform=jitter, **kwargs)
        with key_seeded(scheme, 2):
            assert torch.equal(data[2], jitter(base[2]))


def test_dataset_transform_excludes_config_and_apply() -> None:
    with pytest.raises(ValueError, match="transform"):
        DPADataset([1], dpa.get_preset("mild"), transform=jitter)
    with pytest.raises(ValueError, match="transform"):
        DPADataset([1], apply=False, transform=jitter)
    with pytest.raises(TypeError, match="callable"):
        DPADataset([1], transform=5)


def test_a_tiny_scale_and_an_empty_image() -> None:
    """Scales down to 1e-300 give the shrunk-to-nothing limit, not NaN images; an image
    without pixels is refused by name (it raised ZeroDivisionError)."""
    image = torch.rand(3, 9, 9, generator=torch.Generator().manual_seed(0))
    p = {"rotation": 10.0, "brightness": 1.0, "noise": 0.0, "scale": 1e-300, "contrast": 1.0}
    out = apply_params(image, p)
    assert torch.isfinite(out).all()
    assert torch.allclose(out[:, 4, 4], image[:, 4, 4], atol=1e-6)
    out[:, 4, 4] = 0
    assert (out == 0).all()
    with pytest.raises(ValueError, match="at least one channel, row and column"):
        apply_params(torch.zeros(3, 0, 16), p)
