"""The TensorFlow integration: params_dataset (exactly the batch API, sharded by an
InputContext) and apply_params_tf (eagerly, the numpy reference's bits, noise
included). Kept small: importing TensorFlow is slow."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")

import dpa  # noqa: E402
from dpa.integrations import numpy as dpa_numpy  # noqa: E402
from dpa.integrations.noise import hash_keys, noise_words  # noqa: E402
from dpa.integrations.tf import apply_params_tf, noise_words_tf, params_dataset  # noqa: E402

CONFIG = dpa.get_preset("aggressive")


def as_batch(dataset: Any) -> dpa.ParamBatch:
    records = [
        {
            **{k: v.item() for k, v in element.items() if k != "hash"},
            "hash": element["hash"].decode(),
        }
        for element in dataset.as_numpy_iterator()
    ]
    return dpa.ParamBatch.from_dicts(records)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("plain", lambda ids: dpa.generate_batch(ids, CONFIG)),
        ("elastic", lambda ids: dpa.generate_elastic_batch(ids, CONFIG, base_seed=3, epoch=2)),
        ("rank_aware", lambda ids: dpa.generate_distributed_batch(ids, 1, 2, CONFIG, base_seed=3)),
    ],
)
def test_params_dataset_yields_the_batch_api_values(mode: str, expected: Any) -> None:
    dataset = params_dataset(
        50, CONFIG, mode=mode, start_id=7, base_seed=3, epoch=2, rank=1, world_size=2,
        chunk_size=16,
    )  # fmt: skip
    assert as_batch(dataset).equals(expected(range(7, 57)))
    element = next(iter(dataset))
    assert element["sample_id"].dtype == tf.int64 and element["rotation"].dtype == tf.float64


def test_input_context_sharding_covers_each_sample_once() -> None:
    seen: list[int] = []
    for pipeline in range(3):
        context = tf.distribute.InputContext(num_input_pipelines=3, input_pipeline_id=pipeline)
        shard = as_batch(params_dataset(100, CONFIG, input_context=context, chunk_size=8))
        start, end = dpa.DistributedRangeSplitter(100, 3).get_rank_range(pipeline)
        assert shard.equals(dpa.generate_elastic_batch(range(start, end), CONFIG))
        seen += shard.sample_id.tolist()
    assert sorted(seen) == list(range(100))


def test_words_are_the_specified_ones() -> None:
    keys = hash_keys(dpa.generate_batch(range(3)).hash)
    words = noise_words_tf(tf.constant(keys), 501).numpy()
    assert np.array_equal(words, noise_words(keys, 501).astype(np.int64))


def images_and_params() -> tuple[Any, dpa.ParamBatch]:
    images = np.random.default_rng(3).random((5, 3, 37, 40), dtype=np.float32)
    images[:, :, 2:6, 3:11] = 1.0
    return images, dpa.generate_batch(range(5), CONFIG)


def test_agrees_with_torch_noise_included() -> None:
    torch = pytest.importorskip("torch")
    from dpa.integrations.torch import apply_params

    images, params = images_and_params()
    expected = apply_params(torch.from_numpy(images), params).numpy()
    last = apply_params_tf(tf.constant(images.transpose(0, 2, 3, 1)), params).numpy()
    assert np.abs(last.transpose(0, 3, 1, 2) - expected).max() < 1e-4
    first = apply_params_tf(tf.constant(images), params, data_format="channels_first").numpy()
    assert np.abs(first - expected).max() < 1e-4
    one = apply_params_tf(tf.constant(images[2].transpose(1, 2, 0)), params[2]).numpy()
    assert np.abs(one.transpose(2, 0, 1) - expected[2]).max() < 1e-4
    # the noise alone: the same z in both (bit for bit, at a flat gray)
    gray = np.full((3, 16, 16), 0.5, np.float32)
    noisy = {"noise": 0.1, "hash": params[0]["hash"]}
    assert np.array_equal(
        apply_params_tf(tf.constant(gray), noisy, data_format="channels_first").numpy(),
        apply_params(torch.from_numpy(gray), noisy).numpy(),
    )


@pytest.mark.parametrize("shape", [(5, 3, 37, 40), (4, 1, 1, 1), (3, 4, 7, 13), (2, 5, 9, 10)])
@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
def test_eager_is_the_numpy_reference_bit_for_bit(shape: tuple[int, ...], dtype: Any) -> None:
    rng = np.random.default_rng(shape[2])
    images = rng.random(shape, dtype=np.float32)
    if dtype == np.uint8:
        images = (images * 255).astype(np.uint8)
    params = dpa.generate_batch(range(shape[0]), CONFIG)
    expected = dpa_numpy.apply_params(images, params)
    out = apply_params_tf(tf.constant(images), params, data_format="channels_first")
    assert out.dtype == tf.float32
    assert np.array_equal(out.numpy(), expected)
    # in a tf.function the graph optimizer may reorder float operations
    traced = tf.function(lambda x: apply_params_tf(x, params, data_format="channels_first"))
    assert np.abs(traced(tf.constant(images)).numpy() - expected).max() < 1e-5


def test_rotation_and_identity() -> None:
    images, _ = images_and_params()
    image = tf.constant(images[0].transpose(1, 2, 0)[:36, :36])
    out = apply_params_tf(image, {"rotation": 90.0}).numpy()
    expected = tf.image.rot90(image, k=1).numpy()  # counter-clockwise
    assert np.abs(out - expected)[1:-1, 1:-1].max() < 1e-5
    assert np.array_equal(apply_params_tf(image, {}).numpy(), image.numpy())
    with pytest.raises(ValueError, match="hash"):
        apply_params_tf(image, {"noise": 0.2})


def test_graph_mode_in_dataset_map() -> None:
    images, params = images_and_params()
    pixels = tf.data.Dataset.from_tensor_slices(images.transpose(0, 2, 3, 1))
    dataset = tf.data.Dataset.zip((pixels, params_dataset(5, CONFIG, mode="plain")))
    mapped = dataset.map(lambda x, p: apply_params_tf(x, p)).batch(5)
    out = next(iter(mapped)).numpy().transpose(0, 3, 1, 2)
    reference = dpa_numpy.apply_params(images, params)
    assert np.abs(out - reference).max() < 1e-4


def test_a_tiny_scale_and_an_empty_image() -> None:
    image = np.random.default_rng(1).random((9, 9, 3), dtype=np.float32)
    p = {"rotation": 5.0, "brightness": 1.0, "noise": 0.0, "scale": 1e-300, "contrast": 1.0}
    out = apply_params_tf(image, p).numpy()
    assert np.isfinite(out).all() and (out[:4].sum() == 0)
    with pytest.raises(ValueError, match="at least one channel, row and column"):
        apply_params_tf(np.zeros((0, 16, 3), np.float32), p)
