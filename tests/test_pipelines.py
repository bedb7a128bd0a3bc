"""Your pipeline, reproducible: ``DPADataset(transform=...)`` with real torchvision v2,
albumentations and MONAI pipelines gives each sample the same output with any
``num_workers``, batch size, order, world size and after a resume; a new one after
``set_epoch``; non-degenerate draws; and leaves the process's generators alone. Also
runs each example of examples/ on a tiny input.

The DataLoader runs (the slow part: workers are processes) share one module-scoped
reference per library, computed by direct indexing.
"""

from __future__ import annotations

import importlib.util
import pickle
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch.utils.data import DataLoader  # noqa: E402

from dpa.integrations.torch import DPADataset, DPASampler  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = 24
SIZE = 16


# --------------------------------------------------------------------------- the cases


def torchvision_case() -> tuple[list[Any], Any]:
    """Detection-style items (image, boxes, mask, keypoints, label) and a v2 pipeline
    with dpa's own parameters in it."""
    pytest.importorskip("torchvision")
    from torchvision import tv_tensors
    from torchvision.transforms import v2

    import dpa
    from dpa.integrations.torchvision import DPAAugment

    generator = torch.Generator().manual_seed(0)
    items = []
    for index in range(SAMPLES):
        mask = torch.zeros(SIZE, SIZE, dtype=torch.uint8)
        mask[3:9, 2:11] = 1
        items.append(
            {
                "image": tv_tensors.Image(torch.rand(3, SIZE, SIZE, generator=generator)),
                "boxes": tv_tensors.BoundingBoxes(
                    [[2, 3, 11, 9]], format="XYXY", canvas_size=(SIZE, SIZE)
                ),
                "mask": tv_tensors.Mask(mask),
                "keypoints": tv_tensors.KeyPoints([[4.0, 5.0]], canvas_size=(SIZE, SIZE)),
                "label": index % 3,
            }
        )
    pipeline = v2.Compose(
        [
            v2.RandomResizedCrop(SIZE, scale=(0.5, 1.0), antialias=True),
            v2.RandomHorizontalFlip(),
            v2.RandomRotation(30),
            v2.ColorJitter(0.4, 0.4, 0.4, 0.1),
            v2.GaussianNoise(sigma=0.05),
            DPAAugment(dpa.get_preset("mild")),
        ]
    )
    return items, pipeline


def albumentations_case() -> tuple[list[Any], Any]:
    """Dict items (uint8 image, mask, bboxes, labels) and a Compose with a seed of its
    own (which dpa replaces per sample)."""
    albumentations = pytest.importorskip("albumentations")
    import cv2

    cv2.setNumThreads(0)  # OpenCV's thread pool hangs forked workers (see the docs)
    rng = np.random.default_rng(0)
    items = [
        {
            "image": rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8),
            "mask": (rng.random((SIZE, SIZE)) > 0.5).astype(np.uint8),
            "bboxes": np.array([[2.0, 3.0, 11.0, 9.0]]),
            "labels": [index % 3],
        }
        for index in range(SAMPLES)
    ]
    A = albumentations
    pipeline = A.Compose(
        [
            A.Affine(rotate=(-30, 30), scale=(0.8, 1.2), p=1.0),
            A.HorizontalFlip(),
            A.RandomBrightnessContrast(p=1.0),
            A.GaussNoise(p=1.0),
        ],
        bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"]),
        seed=137,
    )
    return items, pipeline


def monai_case() -> tuple[list[Any], Any]:
    """One-channel images and a MONAI Compose."""
    pytest.importorskip("monai")
    from monai.transforms import Compose, RandFlip, RandGaussianNoise, RandRotate

    generator = torch.Generator().manual_seed(0)
    items = [torch.rand(1, SIZE, SIZE, generator=generator) for _ in range(SAMPLES)]
    pipeline = Compose(
        [
            RandRotate(range_x=0.5, prob=1.0, padding_mode="zeros"),
            RandGaussianNoise(prob=0.5),
            RandFlip(prob=0.5, spatial_axis=1),
        ]
    )
    return items, pipeline


CASES: dict[str, Callable[[], tuple[list[Any], Any]]] = {
    "torchvision": torchvision_case,
    "albumentations": albumentations_case,
    "monai": monai_case,
}


def fingerprint(value: Any) -> Any:
    """A pipeline's output as comparable bytes: tensors and arrays bit for bit (with
    their type, dtype and shape), containers recursively."""
    if isinstance(value, dict):
        return tuple((key, fingerprint(value[key])) for key in sorted(value))
    if isinstance(value, list | tuple):
        return tuple(fingerprint(v) for v in value)
    if isinstance(value, torch.Tensor):
        tensor = value.as_subclass(torch.Tensor).detach().cpu().contiguous()
        return (type(value).__name__, str(tensor.dtype), tuple(tensor.shape),
                tensor.numpy().tobytes())  # fmt: skip
    if isinstance(value, np.ndarray):
        return ("ndarray", value.dtype.str, value.shape, value.tobytes())
    return ("value", repr(value))


def as_list(batch: list[Any]) -> list[Any]:
    """The collate function: the batch's items as they are."""
    return batch


def load(data: Any, workers: int, batch_size: int, sampler: Any = None) -> list[Any]:
    loader = DataLoader(
        data, batch_size=batch_size, num_workers=workers, sampler=sampler, collate_fn=as_list
    )
    return [fingerprint(item) for batch in loader for item in batch]


@dataclass
class Case:
    name: str
    items: list[Any]
    pipeline: Any
    reference: list[Any]  # fingerprints of data[i], epoch 0, by direct indexing

    def data(self, **kwargs: Any) -> DPADataset:
        return DPADataset(self.items, transform=self.pipeline, base_seed=7, **kwargs)


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> Case:
    items, pipeline = CASES[request.param]()
    data = DPADataset(items, transform=pipeline, base_seed=7)
    reference = [fingerprint(data[i]) for i in range(SAMPLES)]
    return Case(request.param, items, pipeline, reference)


# --------------------------------------------------------------------------- identical


def test_direct_indexing_repeats_in_any_order(case: Case) -> None:
    data = case.data()
    order = list(range(SAMPLES))
    random.Random(3).shuffle(order)
    assert {i: fingerprint(data[i]) for i in order} == dict(enumerate(case.reference))


@pytest.mark.parametrize(
    ("workers", "batch_size", "shuffle"), [(0, 1, False), (1, 3, True), (2, 5, False), (2, 7, True)]
)
def test_dataloader_is_bit_identical_for_any_workers_batch_size_and_order(
    case: Case, workers: int, batch_size: int, shuffle: bool
) -> None:
    data = case.data()
    sampler = DPASampler(data, num_replicas=1, rank=0, shuffle=shuffle, seed=3)
    ids = list(sampler)
    assert load(data, workers, batch_size, sampler) == [case.reference[i] for i in ids]


def test_dataloader_resumes_mid_epoch(case: Case) -> None:
    data = case.data()
    whole = DPASampler(data, num_replicas=1, rank=0, shuffle=True, seed=5)
    resumed = DPASampler(data, num_replicas=1, rank=0, shuffle=True, seed=5, start=10)
    ids = list(whole)[10:]
    assert list(resumed) == ids
    assert load(data, 2, 4, resumed) == [case.reference[i] for i in ids]


@pytest.mark.parametrize("world_size", [2, 3])
def test_ranks_together_give_the_one_process_outputs(case: Case, world_size: int) -> None:
    """Elastic mode: each simulated rank loads its share; every sample's output is the
    one a single process gives."""
    data = case.data()
    seen = []
    for rank in range(world_size):
        sampler = DPASampler(data, num_replicas=world_size, rank=rank, shuffle=True, seed=1)
        ids = list(sampler)
        assert load(data, 0, 3, sampler) == [case.reference[i] for i in ids]
        seen += ids
    assert sorted(seen) == list(range(SAMPLES))


def test_set_epoch_draws_anew_and_epoch_zero_comes_back(case: Case) -> None:
    data = case.data()
    data.set_epoch(1)
    epoch1 = [fingerprint(data[i]) for i in range(SAMPLES)]
    differ = sum(a != b for a, b in zip(epoch1, case.reference, strict=True))
    assert differ >= 0.9 * SAMPLES
    assert load(data, 1, 6) == epoch1  # the worker's copy has the epoch
    data.set_epoch(0)
    assert [fingerprint(data[i]) for i in range(SAMPLES)] == case.reference


def test_threads_sharing_one_dataset_get_each_samples_output(case: Case) -> None:
    """The pipeline object and the global generators are shared: the lock keeps each
    item's draws its own."""
    data = case.data()
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda i: fingerprint(data[i]), [*range(SAMPLES)] * 2))
    assert got == case.reference * 2


def test_the_dataset_pickles_for_spawned_workers(case: Case) -> None:
    copy = pickle.loads(pickle.dumps(case.data()))
    assert [fingerprint(copy[i]) for i in range(SAMPLES)] == case.reference


def test_items_leave_the_global_generators_alone(case: Case) -> None:
    data = case.data()
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    legacy = np.random.get_state()
    before = (random.getstate(), legacy[1].tobytes(), legacy[2:], torch.get_rng_state())
    for index in (0, 5, 5):
        data[index]
    legacy = np.random.get_state()
    after = (random.getstate(), legacy[1].tobytes(), legacy[2:], torch.get_rng_state())
    assert after[:3] == before[:3] and torch.equal(after[3], before[3])


# --------------------------------------------------------------------------- not degenerate


def torchvision_flip() -> tuple[Any, Any, Callable[[Any], bool]]:
    pytest.importorskip("torchvision")
    from torchvision.transforms import v2

    return torch.tensor([[[0.0, 1.0]]]), v2.RandomHorizontalFlip(), lambda out: out[0, 0, 0] == 1


def albumentations_flip() -> tuple[Any, Any, Callable[[Any], bool]]:
    A = pytest.importorskip("albumentations")
    image = np.array([[[0], [255]]], dtype=np.uint8)
    return {"image": image}, A.HorizontalFlip(), lambda out: out["image"][0, 0, 0] == 255


def monai_flip() -> tuple[Any, Any, Callable[[Any], bool]]:
    pytest.importorskip("monai")
    from monai.transforms import RandFlip

    flip = RandFlip(prob=0.5, spatial_axis=1)
    return torch.tensor([[[0.0, 1.0]]]), flip, lambda out: out[0, 0, 0] == 1


@pytest.mark.parametrize("make", [torchvision_flip, albumentations_flip, monai_flip])
def test_a_half_probability_flip_flips_about_half(make: Any) -> None:
    item, flip, flipped = make()
    data = DPADataset([item] * 400, transform=flip)
    count = sum(bool(flipped(data[i])) for i in range(400))
    assert 160 <= count <= 240, count


def test_albumentations_items_must_be_dicts() -> None:
    A = pytest.importorskip("albumentations")
    data = DPADataset([np.zeros((2, 2, 3), np.uint8)], transform=A.HorizontalFlip())
    with pytest.raises(TypeError, match="dict items"):
        data[0]


# --------------------------------------------------------------------------- examples


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("pipeline_torchvision", "torchvision"),
        ("pipeline_albumentations", "albumentations"),
        ("pipeline_kornia", "kornia"),
        ("pipeline_monai", "monai"),
    ],
)
def test_example_runs(name: str, module: str, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip(module)
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    args = ["--samples", "6", "--size", "16", "--epochs", "1", "--batch-size", "4"]
    if name != "pipeline_kornia":
        args += ["--workers", "1"]
    assert example.main(args) == 0
    out = capsys.readouterr().out
    assert "identical" in out and ": yes" in out, out
